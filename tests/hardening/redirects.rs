//! Redirects are not followed: a 3xx from the API (or from something pretending to be it) is
//! an error of the call, and the `Location` is never requested, so the token, a purchase or
//! a whitelist cannot be carried to another host.

use crate::fixtures::ipv4_purchase;
use crate::scripted::{self, Reply, Scripted, TOKEN};

use opx::RetryPolicy;
use opx::types::{ProxyQuery, Whitelist};

const SID: &str = "65aa1100b2c3d4e5f6a7b8d0";

#[tokio::test]
async fn redirects_are_returned_as_errors_and_never_followed() {
    // Where a redirect would lead: a server that would answer every call with success.
    let elsewhere = Scripted::start(Reply::ok(scripted::service_json(SID))).await;
    let id = SID.parse().unwrap();
    let purchase = ipv4_purchase();
    let whitelist = Whitelist::new(["203.0.113.10".parse().unwrap()]).unwrap();
    for status in [301u16, 302, 303, 307, 308] {
        // Every request to the origin is redirected to the same path on `elsewhere`.
        let origin = Scripted::start(Reply::Http {
            status,
            headers: vec![("location".into(), format!("{}/account", elsewhere.base_url))],
            body: Vec::new(),
        })
        .await;
        let c = origin
            .client()
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let results = [
            ("account", c.account().await.map(drop)),
            (
                "proxies_text",
                c.proxies_text(&id, &ProxyQuery::new()).await.map(drop),
            ),
            ("purchase", c.purchase(&purchase).await.map(drop)),
            ("extend", c.extend(&id).await.map(drop)),
            (
                "regenerate_credentials",
                c.regenerate_credentials(&id).await.map(drop),
            ),
            (
                "replace_whitelist",
                c.replace_whitelist(&id, &whitelist).await.map(drop),
            ),
        ];
        for (op, r) in &results {
            let e = r.as_ref().expect_err(op);
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{op}: {e:?}");
        }
        assert_eq!(
            origin.count(),
            results.len(),
            "{status}: one request per call"
        );
        assert_eq!(
            elsewhere.count(),
            0,
            "{status}: a redirect was followed: {:?}",
            elsewhere.seen()
        );
    }
    assert!(!format!("{:?}", elsewhere.seen()).contains(TOKEN));
}
