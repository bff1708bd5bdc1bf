//! Errors: envelopes, non-JSON bodies, unknown codes, validation before sending, outcome-unknown.

use crate::fixtures::{ipv4_plan, ipv4_purchase as purchase_req};
use crate::scripted;
use opx::Operation;

use opx::types::{ErrorCode, PurchaseRequest, ServiceType};
use opx::{ErrorKind, RetryPolicy};
use scripted::{Reply, Scripted, account_json};

/// The error of `GET /account` against a server that always answers `reply`; the server, to
/// count what reached it.
async fn account_error(reply: Reply) -> (Scripted, opx::Error) {
    let s = Scripted::start(reply).await;
    let e = s.client().build().unwrap().account().await.unwrap_err();
    (s, e)
}

#[tokio::test]
async fn a_documented_envelope_gives_status_code_and_message() {
    let s = Scripted::start(Reply::error(404, "not_found")).await;
    let c = s.client().build().unwrap();
    let id: opx::types::ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse().unwrap();
    let e = c.service(&id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(e.code(), Some(&ErrorCode::NotFound));
    assert_eq!(e.message(), "not_found happened");
    assert!(e.is_not_found() && !e.is_transport() && !e.is_outcome_unknown());
    assert_eq!(e.operation(), Some(Operation::GetService));
}

#[tokio::test]
async fn an_unknown_code_maps_to_the_fallback_variant() {
    let (_, e) = account_error(Reply::error(400, "quota_frozen")).await;
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(e.code(), Some(&ErrorCode::Unknown("quota_frozen".into())));
    assert_eq!(e.message(), "quota_frozen happened");
}

#[tokio::test]
async fn an_html_502_keeps_its_status_and_is_described() {
    let html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let s = Scripted::start(Reply::raw(502, "text/html", html)).await;
    let c = s
        .client()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(e.code(), None);
    assert!(e.message().contains("Bad Gateway"), "{e}");
    assert!(!e.is_transport());
}

#[tokio::test]
async fn an_empty_429_is_rate_limited_with_retry_after() {
    let empty_429 = Reply::raw(429, "text/plain", "")
        .header("retry-after", "7")
        .rate(300, 0, 7);
    let (s, e) = account_error(empty_429).await;
    assert!(e.is_rate_limited());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
    assert_eq!(e.rate_limit().and_then(|r| r.remaining()), Some(0));
    assert_eq!(s.count(), 1, "429 is surfaced, not retried");
}

#[tokio::test]
async fn an_undeclared_status_is_an_api_error() {
    let (_, e) = account_error(Reply::error(405, "method_not_allowed")).await;
    assert_eq!(e.status().map(|s| s.as_u16()), Some(405));
    assert_eq!(e.code(), Some(&ErrorCode::MethodNotAllowed));
}

#[tokio::test]
async fn insufficient_balance_is_recognised() {
    let s = Scripted::start(Reply::error(402, "insufficient_balance")).await;
    let c = s.client().build().unwrap();
    let e = c.purchase(&purchase_req()).await.unwrap_err();
    assert!(e.is_insufficient_balance());
    assert!(
        !e.is_outcome_unknown(),
        "a 402 envelope is a definite answer"
    );
}

#[tokio::test]
async fn malformed_json_on_a_get_is_a_decode_error() {
    let cut = r#"{"status":"ok","data":{"username":"#;
    let (_, e) = account_error(Reply::raw(200, "application/json", cut)).await;
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(200));
    assert!(std::error::Error::source(&e).is_some());
}

#[tokio::test]
async fn purchase_failures_that_hide_the_outcome_are_outcome_unknown() {
    // 5xx without envelope, a 200 that cannot be read, a dropped connection, a cut-off body.
    for reply in [
        Reply::raw(502, "text/html", "<html>bad gateway</html>"),
        Reply::raw(200, "application/json", "{\"status\":\"ok\""),
        Reply::Drop,
        Reply::Truncated {
            status: 200,
            body: b"{\"status\":\"ok\",".to_vec(),
        },
    ] {
        let s = Scripted::start(reply.clone()).await;
        let c = s
            .client()
            .retry_policy(RetryPolicy::default().max_attempts(5))
            .build()
            .unwrap();
        let e = c.purchase(&purchase_req()).await.unwrap_err();
        let status_2xx = matches!(&reply, Reply::Truncated { .. })
            || matches!(&reply, Reply::Http { status: 200, .. });
        if status_2xx {
            // A 2xx is the server saying it was done: charged, never "unknown" nor "not".
            assert!(
                e.is_committed() && e.charged() == Some(true),
                "{reply:?}: {e:?}"
            );
        } else {
            assert!(
                e.is_outcome_unknown() && e.charged().is_none(),
                "{reply:?}: {e:?}"
            );
            assert!(e.to_string().contains("GET /services"), "{e}");
        }
        assert_eq!(
            s.count(),
            1,
            "{reply:?}: purchase must be sent exactly once"
        );
    }
}

/// The server may fail after it charged: a 5xx on a purchase is an unknown outcome even with
/// the documented envelope, and the message says to check the services, not to retry.
#[tokio::test]
async fn a_purchase_500_with_an_envelope_is_outcome_unknown() {
    let s = Scripted::start(Reply::error(500, "server_error")).await;
    let c = s.client().build().unwrap();
    let e = c.purchase(&purchase_req()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown);
    assert_eq!(e.code(), Some(&ErrorCode::ServerError));
    assert!(e.message().contains("check GET /services"), "{e}");
    assert!(!e.is_retryable());
    assert_eq!(s.count(), 1);
}

#[tokio::test]
async fn connection_refused_on_purchase_is_transport_not_unknown() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = opx::Client::builder()
        .token(scripted::TOKEN)
        .base_url(format!("http://127.0.0.1:{port}/api/v1"))
        .build()
        .unwrap();
    let e = c.purchase(&purchase_req()).await.unwrap_err();
    assert!(e.is_transport());
    assert!(
        !e.is_outcome_unknown(),
        "nothing was sent, so the outcome is known: {e:?}"
    );
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(!e.to_string().contains(scripted::TOKEN));
    // One line naming the host and the socket's own cause.
    let text = e.to_string();
    let head = format!("could not connect to 127.0.0.1:{port}: ");
    assert!(e.message().starts_with(&head), "{text}");
    assert!(
        e.message().len() > head.len() && !text.contains('\n'),
        "{text}"
    );
}

#[tokio::test]
async fn an_explicit_proxy_is_used_and_no_proxy_goes_direct() {
    let s = Scripted::start(Reply::ok(account_json())).await;
    // A proxy nobody listens on: through it the call cannot connect; without it, it works.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let via = s
        .client()
        .proxy(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let e = via.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert_eq!(s.count(), 0);
    let direct = s.client().no_proxy().build().unwrap();
    direct.account().await.unwrap();
    assert_eq!(s.count(), 1);
    let e = s.client().proxy("not a url").build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn documented_rules_are_checked_before_sending() {
    let s = Scripted::start(Reply::ok(account_json())).await;
    let c = s.client().build().unwrap();
    assert_eq!(
        "nope".parse::<opx::types::ServiceId>().unwrap_err().code(),
        Some(&ErrorCode::InvalidId)
    );
    let e = c
        .plans(Some(ServiceType::Unknown("ipv4_static".into())))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidType));
    let id: opx::types::ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse().unwrap();
    let e = c
        .proxies_json(
            &id,
            &opx::types::ProxyQuery::new().country(opx::types::GatewayCountry::parse("us")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidCountry));
    let e = c
        .services_page(&opx::types::ServiceQuery::new().limit(101))
        .await
        .unwrap_err();
    assert!(e.is_validation());
    let e = c
        .purchase(&PurchaseRequest::new(
            ServiceType::Unknown("x".into()),
            ipv4_plan(),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidType));
    assert_eq!(s.count(), 0, "nothing may be sent for refused values");
}

/// The docs define a service id as 24 hex characters: a service whose id is in another shape
/// does not decode, but it does not make the page unreadable either (it is kept, with its JSON
/// and the reason), and the rest of the page reads.
#[tokio::test]
async fn a_service_id_in_a_new_shape_is_kept_aside_without_failing_the_page() {
    let page = serde_json::json!({
        "services": [
            scripted::service_json("svc-2027-new-shape"),
            scripted::service_json("65aa1100b2c3d4e5f6a7b8d0"),
        ],
        "next_cursor": null
    });
    let s = Scripted::start(Reply::ok(page)).await;
    let c = s.client().build().unwrap();
    let page = c
        .services_page(&opx::types::ServiceQuery::new())
        .await
        .unwrap();
    assert_eq!(page.services.len(), 1);
    assert_eq!(
        page.services[0].service_id.as_str(),
        "65aa1100b2c3d4e5f6a7b8d0"
    );
    assert_eq!(page.undecoded.len(), 1);
    assert_eq!(
        page.undecoded[0].field("service_id"),
        Some("svc-2027-new-shape")
    );
    assert!(
        page.undecoded[0].reason.contains("service_id"),
        "{}",
        page.undecoded[0].reason
    );
    assert_eq!(s.count(), 1);
    // Such an id cannot be sent back: it is not one.
    let e = opx::types::ServiceId::new("svc-2027-new-shape").unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidId));
}

/// A server that echoes the token (whole, or its bare hex) or a proxy password it sent before in
/// an error message or an HTML page: the error never shows them.
#[tokio::test]
async fn echoed_secrets_are_cut_out_of_server_text() {
    let bare = &scripted::TOKEN["opx_live_".len()..];
    let s = Scripted::start(Reply::ok(scripted::service_json(
        "65aa1100b2c3d4e5f6a7b8d0",
    )))
    .await;
    let c = s
        .client()
        .retry_policy(opx::RetryPolicy::none())
        .build()
        .unwrap();
    let id: opx::types::ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse().unwrap();
    let svc = c.service(&id).await.unwrap();
    let password = svc.auth.password().to_owned();
    assert!(
        password.len() >= 6,
        "the fixture's password is long enough to be cut"
    );
    let message = format!(
        "key {} is revoked ({bare}); proxy password {password}",
        scripted::TOKEN
    );
    s.push(Reply::json(
        401,
        serde_json::json!({"status": "error", "error": {"code": "invalid_token", "message": message}}),
    ));
    s.push(Reply::raw(
        502,
        "text/html",
        format!(
            "<html>upstream said {} / {password}</html>",
            scripted::TOKEN
        ),
    ));
    for _ in 0..2 {
        let e = c.account().await.unwrap_err();
        let shown = format!("{e} {e:?} {}", e.message());
        for secret in [scripted::TOKEN, bare, password.as_str()] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}

/// A caller's reqwest client follows redirects: a purchase redirected (here 303, which turns
/// it into a GET) and then refused with an envelope proves nothing about the POST: unknown,
/// never "not charged", and not sent again by this crate.
#[tokio::test]
async fn a_redirected_purchase_is_unknown_whatever_the_answer() {
    let s = Scripted::start(Reply::error(404, "not_found")).await;
    s.push(Reply::raw(303, "text/plain", "see other").header("location", "/elsewhere"));
    let follows = reqwest::Client::builder().build().unwrap();
    let c = s.client().reqwest_client(follows).build().unwrap();
    let e = c.purchase(&purchase_req()).await.unwrap_err();
    assert!(e.is_outcome_unknown() && e.charged().is_none(), "{e:?}");
    assert!(e.message().contains("redirected"), "{e}");
    let posts = s.seen().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "the purchase was sent once");
}
