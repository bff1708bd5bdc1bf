//! Retries: idempotent calls retry transport errors and 5xx with backoff; POSTs never.

#[path = "support/scripted.rs"]
mod scripted;

use std::time::Duration;

use opx::{PurchaseRequest, RetryPolicy, ServiceType};
use scripted::{Reply, Scripted, account_json, service_json};

const SID: &str = "65aa1100b2c3d4e5f6a7b8d0";

#[tokio::test]
async fn a_get_is_retried_on_503_until_it_succeeds() {
    let s = Scripted::start(Reply::ok(account_json())).await;
    s.push(Reply::error(503, "server_error"))
        .push(Reply::raw(502, "text/html", "<html/>"));
    let c = s.client().build().unwrap();
    let a = c.account().await.unwrap();
    assert_eq!(a.balance, 1500);
    assert_eq!(s.count(), 3);
}

#[tokio::test]
async fn retries_are_bounded_by_max_attempts() {
    let s = Scripted::start(Reply::error(500, "server_error")).await;
    let c = s
        .client()
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(4)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let e = c.account().await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(s.count(), 4);
}

#[tokio::test]
async fn retry_policy_none_sends_once() {
    let s = Scripted::start(Reply::error(503, "server_error")).await;
    let c = s
        .client()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(c.account().await.is_err());
    assert_eq!(s.count(), 1);
}

#[tokio::test]
async fn transport_errors_and_cut_off_bodies_are_retried_on_gets() {
    let s = Scripted::start(Reply::ok(account_json())).await;
    s.push(Reply::Drop).push(Reply::Truncated {
        status: 200,
        body: b"{\"status\":".to_vec(),
    });
    let c = s.client().build().unwrap();
    assert_eq!(c.account().await.unwrap().username, "alice");
    assert_eq!(s.count(), 3);
}

#[tokio::test]
async fn the_puts_are_retried_too() {
    let s = Scripted::start(Reply::ok(service_json(SID))).await;
    s.push(Reply::error(503, "server_error"));
    let c = s.client().build().unwrap();
    let id = SID.parse().unwrap();
    let wl = opx::Whitelist::parse(["203.0.113.10"]).unwrap();
    c.replace_whitelist(&id, &wl).await.unwrap();
    assert_eq!(s.count(), 2);
    let seen = s.seen();
    assert_eq!(seen[0].body, seen[1].body, "the same body is re-sent");
    assert_eq!(seen[1].method, "PUT");
}

#[tokio::test]
async fn non_idempotent_posts_are_never_retried() {
    let id: opx::ServiceId = SID.parse().unwrap();
    let policy = RetryPolicy::default()
        .max_attempts(10)
        .base_delay(Duration::from_millis(1))
        .retry_rate_limited(Duration::from_secs(5));
    for which in ["purchase", "extend", "credentials"] {
        for reply in [
            Reply::error(503, "server_error"),
            Reply::Drop,
            Reply::raw(429, "text/plain", "").header("retry-after", "0"),
        ] {
            let s = Scripted::start(reply.clone()).await;
            let c = s.client().retry_policy(policy.clone()).build().unwrap();
            let r = match which {
                "purchase" => c
                    .purchase(&PurchaseRequest::new(
                        ServiceType::Ipv4Rotating,
                        "65a9f0c1b2c3d4e5f6a7b8c9".parse::<opx::PlanId>().unwrap(),
                    ))
                    .await
                    .map(|_| ()),
                "extend" => c.extend(&id).await.map(|_| ()),
                _ => c.regenerate_credentials(&id).await.map(|_| ()),
            };
            assert!(r.is_err());
            assert_eq!(s.count(), 1, "{which} {reply:?} was sent more than once");
        }
    }
}

#[tokio::test]
async fn a_429_is_retried_only_when_opted_in_and_within_the_cap() {
    let s = Scripted::start(Reply::ok(account_json())).await;
    s.push(Reply::raw(429, "text/plain", "").header("retry-after", "0"));
    let c = s
        .client()
        .retry_policy(RetryPolicy::default().retry_rate_limited(Duration::from_secs(2)))
        .build()
        .unwrap();
    assert_eq!(c.account().await.unwrap().balance, 1500);
    assert_eq!(s.count(), 2);

    let s = Scripted::start(Reply::ok(account_json())).await;
    s.push(Reply::raw(429, "text/plain", "").header("retry-after", "60"));
    let c = s
        .client()
        .retry_policy(RetryPolicy::default().retry_rate_limited(Duration::from_secs(2)))
        .fail_fast_when_rate_limited(false)
        .build()
        .unwrap();
    let e = c.account().await.unwrap_err();
    assert!(e.is_rate_limited());
    assert_eq!(s.count(), 1, "Retry-After above the cap is surfaced");
}

#[tokio::test]
async fn timeouts_are_reported_and_retried_on_gets() {
    let s = Scripted::start(Reply::Delay(
        Duration::from_millis(500),
        Box::new(Reply::ok(account_json())),
    ))
    .await;
    let c = s
        .client()
        .timeout(Duration::from_millis(100))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(2)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let e = c.account().await.unwrap_err();
    assert!(e.is_timeout() && e.is_transport(), "{e:?}");
    assert_eq!(s.count(), 2);
}
