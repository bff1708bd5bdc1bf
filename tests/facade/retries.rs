//! Retries: idempotent calls retry transport errors and 5xx with backoff; POSTs never.

use crate::fixtures::ipv4_purchase;
use crate::scripted;

use std::time::Duration;

use opx::RetryPolicy;
use scripted::{Reply, Scripted, account_json, service_json};

const SID: &str = "65aa1100b2c3d4e5f6a7b8d0";

/// The default policy with `max_attempts` and a 1 ms first delay.
fn quick(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(max_attempts)
        .base_delay(Duration::from_millis(1))
}

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
    let c = s.client().retry_policy(quick(4)).build().unwrap();
    let e = c.account().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(500));
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
    let wl = opx::types::Whitelist::parse(["203.0.113.10"]).unwrap();
    c.replace_whitelist(&id, &wl).await.unwrap();
    assert_eq!(s.count(), 2);
    let seen = s.seen();
    assert_eq!(seen[0].body, seen[1].body, "the same body is re-sent");
    assert_eq!(seen[1].method, "PUT");
}

#[tokio::test]
async fn non_idempotent_posts_are_never_retried() {
    let id: opx::types::ServiceId = SID.parse().unwrap();
    let policy = quick(10);
    let limits = opx::RateLimitPolicy::WaitUpTo(Duration::from_secs(5));
    for which in ["purchase", "extend", "credentials"] {
        for reply in [
            Reply::error(503, "server_error"),
            Reply::Drop,
            Reply::raw(429, "text/plain", "").header("retry-after", "0"),
        ] {
            let s = Scripted::start(reply.clone()).await;
            let c = s
                .client()
                .retry_policy(policy.clone())
                .rate_limit_policy(limits)
                .build()
                .unwrap();
            let r = match which {
                "purchase" => c.purchase(&ipv4_purchase()).await.map(|_| ()),
                "extend" => c.extend(&id).await.map(|_| ()),
                _ => c.regenerate_credentials(&id).await.map(|_| ()),
            };
            assert!(r.is_err());
            assert_eq!(s.count(), 1, "{which} {reply:?} was sent more than once");
        }
    }
}

/// A client of `s` that waits up to 2 s for a rate-limit window (or a 429's `Retry-After`).
async fn waiting_up_to_2_s_after(first: Reply) -> (Scripted, opx::Client) {
    let s = Scripted::start(Reply::ok(account_json())).await;
    s.push(first);
    let limits = opx::RateLimitPolicy::WaitUpTo(Duration::from_secs(2));
    let c = s.client().rate_limit_policy(limits).build().unwrap();
    (s, c)
}

#[tokio::test]
async fn a_429_is_retried_only_when_waiting_up_to_retry_after_and_within_the_cap() {
    let too_many = |secs: &str| Reply::raw(429, "text/plain", "").header("retry-after", secs);
    let (s, c) = waiting_up_to_2_s_after(too_many("0")).await;
    assert_eq!(c.account().await.unwrap().balance, 1500);
    assert_eq!(s.count(), 2);

    let (s, c) = waiting_up_to_2_s_after(too_many("60")).await;
    let e = c.account().await.unwrap_err();
    assert!(e.is_rate_limited());
    assert_eq!(s.count(), 1, "Retry-After above the cap is surfaced");
}

#[tokio::test]
async fn timeouts_are_reported_and_retried_on_gets() {
    let s = Scripted::start(Reply::ok(account_json()).delayed(Duration::from_millis(500))).await;
    let c = s
        .client()
        .timeout(Duration::from_millis(100))
        .retry_policy(quick(2))
        .build()
        .unwrap();
    let e = c.account().await.unwrap_err();
    assert!(e.is_timeout() && e.is_transport(), "{e:?}");
    assert_eq!(s.count(), 2);
}

mod against_the_mock {
    use super::quick;
    use crate::fixtures::sent;
    use opx::mock::{Fault, MockServer};
    use opx::{Operation, RetryPolicy};
    use std::time::Duration;

    #[tokio::test]
    async fn gets_retry_through_injected_faults() {
        let s = MockServer::start().await;
        s.faults().inject(Operation::GetAccount, Fault::Html502, 1);
        s.faults()
            .inject(Operation::GetAccount, Fault::DropBeforeResponse, 1);
        s.faults()
            .inject(Operation::GetAccount, Fault::TruncatedBody, 1);
        let c = s.client_builder().retry_policy(quick(4)).build().unwrap();
        c.account().await.unwrap();
        assert_eq!(sent(&s, Operation::GetAccount), 4);
        assert_eq!(s.records().executions(Operation::GetAccount), 1);
    }

    #[tokio::test]
    async fn puts_retry_and_posts_do_not() {
        let s = MockServer::start().await;
        let id = s.services().seed(1).remove(0);
        let c = s.client_builder().retry_policy(quick(3)).build().unwrap();
        s.faults()
            .inject(Operation::ReplaceWhitelist, Fault::Status(503), 2);
        c.replace_whitelist(&id, &opx::types::Whitelist::parse(["192.0.2.1"]).unwrap())
            .await
            .unwrap();
        assert_eq!(sent(&s, Operation::ReplaceWhitelist), 3);

        s.faults()
            .inject(Operation::ExtendService, Fault::Status(503), 1);
        assert!(c.extend(&id).await.is_err());
        assert_eq!(sent(&s, Operation::ExtendService), 1);
        s.faults()
            .inject(Operation::RegenerateCredentials, Fault::DropAfterCommit, 1);
        let e = c.regenerate_credentials(&id).await.unwrap_err();
        assert!(e.is_outcome_unknown());
        assert_eq!(sent(&s, Operation::RegenerateCredentials), 1);
        assert_eq!(s.records().executions(Operation::RegenerateCredentials), 1);
    }

    /// An attempt whose answer does not come within the timeout is given up and sent again.
    /// The slow answer would take an hour: only a second attempt can answer in time. (The
    /// timeout, 1 s of real time, is reqwest's own; the answer that does come takes
    /// milliseconds.)
    #[tokio::test]
    async fn a_slow_answer_times_out_and_is_retried() {
        let s = MockServer::start().await;
        let slow = || {
            s.faults().inject(
                Operation::GetAccount,
                Fault::Delay(Duration::from_secs(3600)),
                1,
            )
        };
        let impatient = |policy: RetryPolicy| {
            s.client_builder()
                .timeout(Duration::from_secs(1))
                .retry_policy(policy)
                .build()
                .unwrap()
        };
        slow();
        let c = impatient(RetryPolicy::default().base_delay(Duration::from_millis(1)));
        // Two-sided: the first attempt's timeout must have passed (a timer never fires early),
        // and a client waiting for the hour-long answer fails at the guard, far beyond the
        // second or so this takes on a loaded machine.
        let t0 = std::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(120), c.account())
            .await
            .expect("it waited for the slow answer")
            .unwrap();
        assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
        // The first attempt was abandoned (the mock runs a delayed call only if its client is
        // still there): the answer came from the second.
        assert_eq!(s.records().executions(Operation::GetAccount), 1);

        // Without retries the same fault is a timeout error.
        slow();
        let e = impatient(RetryPolicy::none()).account().await.unwrap_err();
        assert!(e.is_timeout() && e.is_transport(), "{e:?}");
        assert_eq!(s.records().executions(Operation::GetAccount), 1);
    }
}
