//! Per-key rate limits with the documented buckets and headers, on the mock clock.

use crate::support;
use opx::Operation;

use std::time::Duration;

use opx::mock::{Bucket, MockServer};
use reqwest::Method;
use serde_json::json;
use support::*;

#[tokio::test]
async fn headers_on_every_response_but_401() {
    let s = MockServer::start().await;
    let r = get(&s, "/account").await;
    assert_eq!(
        (
            r.header_u64("x-ratelimit-limit"),
            r.header_u64("x-ratelimit-remaining"),
            r.header_u64("x-ratelimit-reset")
        ),
        (300, 299, 60)
    );
    let r = get(&s, "/services/xyz").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header_u64("x-ratelimit-remaining"), 298);
    let r = get(&s, "/nope").await;
    assert_eq!(r.header_u64("x-ratelimit-remaining"), 297);
    s.clock().advance(Duration::from_secs(20));
    let r = get(&s, "/account").await;
    assert_eq!(
        r.header_u64("x-ratelimit-reset"),
        40,
        "seconds until the window resets"
    );
    let r = call_as(&s, None, Method::GET, "/account", None).await;
    assert_eq!(r.status, 401);
    assert!(r.header("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn global_minute_limit_then_reset() {
    let s = MockServer::start().await;
    s.accounts().set_limit(Bucket::GlobalMinute, 3);
    for left in [2, 1, 0] {
        let r = get(&s, "/account").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header_u64("x-ratelimit-remaining"), left);
    }
    s.clock().advance(Duration::from_secs(15));
    let r = get(&s, "/account").await;
    assert_eq!((r.status, r.code().as_str()), (429, "rate_limited"));
    assert_eq!(r.header_u64("retry-after"), 45);
    assert_eq!(r.header_u64("x-ratelimit-remaining"), 0);
    assert_eq!(r.header_u64("x-ratelimit-limit"), 3);
    assert_eq!(
        s.records().executions(Operation::GetAccount),
        3,
        "a refused request does not run"
    );
    s.clock().advance(Duration::from_secs(45));
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header_u64("x-ratelimit-remaining"), 2);
    assert_clean(&s);
}

#[tokio::test]
async fn default_minute_limit_is_300() {
    let s = MockServer::start().await;
    let client = reqwest::Client::new();
    for _ in 0..300 {
        let r = raw_get(&client, &s, "/account").await;
        assert_eq!(r.status().as_u16(), 200);
    }
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header_u64("retry-after"), 60);
}

#[tokio::test]
async fn global_hour_limit() {
    let s = MockServer::start().await;
    s.accounts().set_limit(Bucket::GlobalHour, 4);
    for _ in 0..4 {
        assert_eq!(get(&s, "/account").await.status, 200);
        s.clock().advance(Duration::from_secs(61));
    }
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header_u64("x-ratelimit-limit"), 4);
    assert_eq!(r.header_u64("retry-after"), 3600 - 4 * 61);
}

#[tokio::test]
async fn purchase_bucket_is_separate_and_most_restrictive_is_reported() {
    let s = MockServer::start().await;
    let body = json!({"type": "ipv4_rotating", "plan_id": IPV4_PLAN});
    let r = call(&s, Method::POST, "/purchase", Some(body.clone())).await;
    assert_eq!(
        (
            r.header_u64("x-ratelimit-limit"),
            r.header_u64("x-ratelimit-remaining"),
            r.header_u64("x-ratelimit-reset")
        ),
        (60, 59, 3600)
    );
    s.accounts().set_limit(Bucket::Purchase, 2);
    assert_eq!(
        call(&s, Method::POST, "/purchase", Some(body.clone()))
            .await
            .status,
        200
    );
    let r = call(&s, Method::POST, "/purchase", Some(body.clone())).await;
    assert_eq!((r.status, r.code().as_str()), (429, "rate_limited"));
    assert_eq!(r.header_u64("retry-after"), 3600);
    assert_eq!(s.services().count(), 2);
    // Other operations still work.
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header_u64("x-ratelimit-limit"), 300);
    s.clock().advance(Duration::from_secs(3600));
    assert_eq!(
        call(&s, Method::POST, "/purchase", Some(body)).await.status,
        200
    );
    assert_clean(&s);
}

#[tokio::test]
async fn credentials_bucket() {
    let s = MockServer::start().await;
    let path = format!("/services/{}/credentials", buy_id(&s, IPV4_PLAN).await);
    let r = call(&s, Method::POST, &path, None).await;
    assert_eq!(
        (
            r.header_u64("x-ratelimit-limit"),
            r.header_u64("x-ratelimit-remaining")
        ),
        (30, 29)
    );
    for _ in 0..29 {
        assert_eq!(call(&s, Method::POST, &path, None).await.status, 200);
    }
    let r = call(&s, Method::POST, &path, None).await;
    assert_eq!((r.status, r.code().as_str()), (429, "rate_limited"));
    assert!(r.header_u64("retry-after") > 0);
    assert_eq!(s.records().executions(Operation::RegenerateCredentials), 30);
}

#[tokio::test]
async fn limits_are_per_key() {
    let s = MockServer::start().await;
    let bob = s.accounts().add(0);
    s.accounts().set_limit(Bucket::GlobalMinute, 1);
    assert_eq!(get(&s, "/account").await.status, 200);
    assert_eq!(get(&s, "/account").await.status, 429);
    let r = call_as(&s, Some(&bob.token), Method::GET, "/account", None).await;
    assert_eq!(r.status, 200);
}
