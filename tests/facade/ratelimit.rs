//! Rate limits: headers parsed on every response, latest snapshot, local fail-fast.

use crate::fixtures::ipv4_purchase;
use crate::scripted;

use std::time::Duration;

use opx::ErrorKind;
use scripted::{Reply, Scripted, account_json, service_json};

#[tokio::test]
async fn every_response_carries_its_rate_limit_and_the_client_keeps_the_latest() {
    let s = Scripted::start(Reply::ok(account_json()).rate(300, 299, 60)).await;
    let c = s.client().build().unwrap();
    assert!(c.rate_limit().is_none());
    let a = c.account().await.unwrap();
    let rl = a.rate_limit().unwrap();
    assert_eq!(
        (rl.limit(), rl.remaining(), rl.reset_after()),
        (Some(300), Some(299), Some(Duration::from_secs(60)))
    );
    assert!(!rl.is_exhausted());
    assert_eq!(c.rate_limit().unwrap().remaining(), Some(299));
}

#[tokio::test]
async fn garbage_headers_are_ignored() {
    let s = Scripted::start(
        Reply::ok(account_json())
            .header("x-ratelimit-limit", "lots")
            .header("x-ratelimit-remaining", "-4")
            .header("x-ratelimit-reset", "soon"),
    )
    .await;
    let c = s.client().build().unwrap();
    let a = c.account().await.unwrap();
    assert!(a.rate_limit().is_none());
}

#[tokio::test]
async fn exhausted_window_fails_fast_locally_until_reset() {
    let s = Scripted::start(Reply::ok(account_json()).rate(300, 0, 1)).await;
    // The gate goes by the client's clock: no test sleeps for a window.
    let clock = opx::clock::ManualClock::new();
    let c = s.client().clock(clock.clone()).build().unwrap();
    let a = c.account().await.unwrap();
    assert!(a.rate_limit().unwrap().is_exhausted());
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimitedLocally);
    assert!(e.is_rate_limited());
    assert!(e.retry_after().unwrap() <= Duration::from_secs(1));
    assert_eq!(s.count(), 1, "the refused call was not sent");
    // The global bucket applies to every operation.
    let id: opx::types::ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse().unwrap();
    assert!(c.service(&id).await.unwrap_err().is_rate_limited());
    clock.advance(Duration::from_millis(999));
    assert!(c.account().await.unwrap_err().is_rate_limited(), "not yet");
    clock.advance(Duration::from_millis(1));
    c.account().await.unwrap();
    assert_eq!(s.count(), 2, "sent again once the window reset");
}

#[tokio::test]
async fn a_purchase_bucket_exhaustion_does_not_block_other_calls() {
    let s = Scripted::start(Reply::ok(account_json()).rate(300, 250, 60)).await;
    s.push(Reply::ok(service_json("65aa1100b2c3d4e5f6a7b8d0")).rate(60, 0, 3600));
    let c = s.client().build().unwrap();
    let req = ipv4_purchase();
    c.purchase(&req).await.unwrap();
    let e = c.purchase(&req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimitedLocally);
    c.account().await.unwrap();
    assert_eq!(s.count(), 2);
}

#[tokio::test]
async fn fail_fast_can_be_switched_off() {
    let s = Scripted::start(Reply::ok(account_json()).rate(300, 0, 60)).await;
    let c = s
        .client()
        .rate_limit_policy(opx::RateLimitPolicy::ServerDecides)
        .build()
        .unwrap();
    c.account().await.unwrap();
    c.account().await.unwrap();
    assert_eq!(s.count(), 2);
}

#[tokio::test]
async fn a_429_blocks_for_its_retry_after() {
    let s = Scripted::start(Reply::ok(account_json())).await;
    s.push(Reply::error(429, "rate_limited").header("retry-after", "30"));
    let c = s.client().build().unwrap();
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    assert!(e.is_rate_limited());
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimitedLocally);
    assert!(e.retry_after().unwrap() > Duration::from_secs(25));
    assert_eq!(s.count(), 1);
}

mod against_the_mock {
    use std::time::Duration;

    use crate::fixtures::{ipv4_purchase as req, rate_limit_next, sent};
    use opx::mock::{Bucket, MockServer};
    use opx::{ErrorKind, Operation};

    /// A client of the mock (on its clock) that waits up to `secs` for a rate-limit window.
    fn waiting_up_to(s: &MockServer, secs: u64) -> opx::Client {
        let limits = opx::RateLimitPolicy::WaitUpTo(Duration::from_secs(secs));
        s.client_builder()
            .rate_limit_policy(limits)
            .build()
            .unwrap()
    }

    /// `WaitUpTo(max)`: a call whose window is known to be exhausted waits for the reset when
    /// it is at most `max` away (no 429 taken); a client allowed less surfaces the server's
    /// 429 once and then refuses locally.
    #[tokio::test]
    async fn wait_up_to_waits_for_a_window_that_resets_soon_enough() {
        let s = MockServer::start().await;
        s.accounts().set_limit(Bucket::GlobalMinute, 1);
        let patient = waiting_up_to(&s, 120);
        patient.account().await.unwrap();
        let t0 = s.clock().now();
        patient.account().await.unwrap();
        let waited = (s.clock().now() - t0).num_seconds();
        assert!(
            (1..=60).contains(&waited),
            "waited {waited} s on the mock's clock"
        );
        let statuses = s.records().stats().responses_by_status;
        assert_eq!(statuses.get("429"), None, "no 429 was taken: {statuses:?}");

        let hasty = waiting_up_to(&s, 1);
        let first = hasty.account().await.unwrap_err();
        assert_eq!(first.kind(), ErrorKind::Api, "{first:?}");
        assert!(first.is_rate_limited());
        let second = hasty.account().await.unwrap_err();
        assert_eq!(second.kind(), ErrorKind::RateLimitedLocally, "{second:?}");
        assert_eq!(s.records().executions(Operation::GetAccount), 2);
    }

    #[tokio::test]
    async fn the_purchase_bucket_stops_locally_once_exhausted() {
        let s = MockServer::start().await;
        s.accounts().set_limit(Bucket::Purchase, 2);
        let c = s.client();
        let first = c.purchase(&req()).await.unwrap();
        assert_eq!(first.rate_limit().unwrap().remaining(), Some(1));
        let second = c.purchase(&req()).await.unwrap();
        assert!(second.rate_limit().unwrap().is_exhausted());
        assert!(c.rate_limit().unwrap().is_exhausted());
        let e = c.purchase(&req()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimitedLocally);
        assert!(e.is_rate_limited() && e.retry_after().is_some());
        assert_eq!(s.records().executions(Operation::Purchase), 2);
        let purchases = sent(&s, Operation::Purchase);
        assert_eq!(purchases, 2, "the third purchase never reached the server");
        // Other operations still go through.
        c.account().await.unwrap();
    }

    #[tokio::test]
    async fn without_fail_fast_the_server_429_is_surfaced_with_retry_after() {
        let s = MockServer::start().await;
        s.accounts().set_limit(Bucket::GlobalMinute, 1);
        let without_fail_fast = s
            .client_builder()
            .rate_limit_policy(opx::RateLimitPolicy::ServerDecides);
        let c = without_fail_fast.build().unwrap();
        c.account().await.unwrap();
        let e = c.account().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
        assert!(e.is_rate_limited());
        assert!(e.retry_after().is_some());
        assert_eq!(e.rate_limit().and_then(|r| r.remaining()), Some(0));
    }

    #[tokio::test]
    async fn an_injected_429_without_retry_after_is_still_rate_limited() {
        let s = MockServer::start().await;
        rate_limit_next(&s, Operation::GetAccount, None);
        let c = s.client();
        let e = c.account().await.unwrap_err();
        assert!(e.is_rate_limited());
        assert_eq!(e.retry_after(), None);
        assert_eq!(e.code(), Some(&opx::types::ErrorCode::RateLimited));
        // Nothing to wait for: the next call goes out and succeeds.
        c.account().await.unwrap();
    }

    #[tokio::test]
    async fn opt_in_waits_retry_after_then_succeeds() {
        let s = MockServer::start().await;
        rate_limit_next(&s, Operation::GetAccount, Some(1));
        let c = waiting_up_to(&s, 2);
        // The wait is on the mock's clock (virtual time): it passes at once.
        let t0 = s.clock().now();
        c.account().await.unwrap();
        assert_eq!(s.clock().now() - t0, chrono::Duration::seconds(1));
        assert_eq!(s.records().executions(Operation::GetAccount), 1);
    }
}
