//! One clock and pacing: the client's gate, backoff and pacing on an injected clock (the mock's
//! virtual time, or a manual one), so that hours of rate-limit windows run in milliseconds and
//! no test sleeps for a window.

use std::time::Duration;

use futures::StreamExt;
use opx::clock::ManualClock;
use opx::mock::{Bucket, MockServer};
use opx::types::{ProxyQuery, ServiceId};
use opx::{ErrorKind, Operation, RateLimitPolicy, RetryPolicy};

use crate::fixtures::{Watched, ipv4_purchase, paced_client};
use crate::scripted::{Reply, Scripted, account_json};

fn status_count(s: &MockServer, status: &str) -> u64 {
    s.records()
        .stats()
        .responses_by_status
        .get(status)
        .copied()
        .unwrap_or(0)
}

fn ids(s: &MockServer, n: usize) -> Vec<ServiceId> {
    s.services().seed(n)
}

/// The fastest the documented buckets allow `n` requests of `op` (fixed windows, starting with
/// the first request): before the last request, `ceil(n / limit) - 1` whole windows of the
/// bucket that needs most.
fn floor(op: Operation, n: u32) -> Duration {
    op.buckets()
        .iter()
        .map(|b| b.window() * (n.div_ceil(b.limit()) - 1))
        .max()
        .unwrap()
}

#[tokio::test]
async fn a_paced_job_of_1500_lists_runs_at_the_rate_limit_floor_with_no_429() {
    let s = MockServer::start().await;
    let ids = ids(&s, 1500);
    let c = s.client();
    let t0 = s.clock().now();
    let lists = c.proxy_lists(futures::stream::iter(ids.clone()), &ProxyQuery::new(), 8);
    let got: Vec<_> = lists.collect().await;
    let took = (s.clock().now() - t0).to_std().unwrap();
    assert_eq!(got.len(), 1500);
    for ((id, list), want) in got.iter().zip(&ids) {
        assert_eq!(id, want, "in the order the ids came");
        assert!(list.as_ref().unwrap().lines().count() >= 1, "{id}");
    }
    assert_eq!(status_count(&s, "429"), 0, "{:?}", s.records().stats());
    let floor = floor(Operation::GetProxies, 1500);
    assert_eq!(
        floor,
        Duration::from_secs(240),
        "4 full minutes before the last 300"
    );
    assert!(took >= floor, "{took:?}: faster than the server allows?");
    assert!(
        took.as_secs_f64() <= floor.as_secs_f64() * 1.03,
        "{took:?} vs the floor {floor:?}"
    );
}

#[tokio::test]
async fn without_pacing_the_same_loop_stops_or_takes_429s() {
    let s = MockServer::start().await;
    let ids = ids(&s, 301);
    // The default: the 301st call is refused locally, never sent.
    let c = s.client();
    let mut refused = None;
    for id in &ids {
        if let Err(e) = c.proxies_text(id, &ProxyQuery::new()).await {
            refused = Some(e);
            break;
        }
    }
    let e = refused.expect("the window is exhausted after 300");
    assert_eq!(e.kind(), ErrorKind::RateLimitedLocally);
    assert_eq!(status_count(&s, "429"), 0);
    // A naive loop without the local gate runs into the server's 429.
    let naive = s
        .client_builder()
        .rate_limit_policy(opx::RateLimitPolicy::ServerDecides)
        .build()
        .unwrap();
    let e = naive
        .proxies_text(&ids[300], &ProxyQuery::new())
        .await
        .unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(status_count(&s, "429"), 1);
}

/// A mock whose minute window allows two calls, and a client that has made both.
async fn a_minute_used_up() -> (MockServer, opx::Client) {
    let s = MockServer::start().await;
    s.accounts().set_limit(Bucket::GlobalMinute, 2);
    let c = s.client();
    c.account().await.unwrap();
    c.account().await.unwrap();
    (s, c)
}

#[tokio::test]
async fn advancing_the_mock_releases_the_clients_gate() {
    let (s, c) = a_minute_used_up().await;
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimitedLocally);
    s.clock().advance(Duration::from_secs(59));
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimitedLocally, "1 s left");
    s.clock().advance(Duration::from_secs(1));
    c.account().await.unwrap();
    assert_eq!(s.records().executions(Operation::GetAccount), 3);
}

#[tokio::test]
async fn paced_purchases_wait_an_hour_of_virtual_time_for_their_bucket() {
    let s = MockServer::start().await;
    s.accounts().set_limit(Bucket::Purchase, 2);
    let c = paced_client(&s);
    let t0 = s.clock().now();
    for _ in 0..3 {
        c.purchase(&ipv4_purchase()).await.unwrap();
    }
    assert_eq!(s.records().executions(Operation::Purchase), 3);
    assert_eq!(status_count(&s, "429"), 0);
    let waited = (s.clock().now() - t0).to_std().unwrap();
    assert!(waited >= Bucket::Purchase.window(), "{waited:?}");
    // Other buckets were not held up meanwhile: the account is read at once.
    let t1 = s.clock().now();
    c.account().await.unwrap();
    assert_eq!(s.clock().now(), t1);
}

#[tokio::test]
async fn a_paced_call_that_still_gets_a_429_waits_retry_after_and_is_sent_again() {
    // Another program with the same key used the window up.
    let (s, other) = a_minute_used_up().await;
    let paced = paced_client(&s);
    let t0 = s.clock().now();
    paced.account().await.unwrap();
    assert_eq!(status_count(&s, "429"), 1, "one, then it knows");
    assert!(s.clock().now() - t0 >= chrono::Duration::seconds(59));
    // A bare purchase is never sent twice, not even after a 429.
    s.accounts().set_limit(Bucket::Purchase, 1);
    other.purchase(&ipv4_purchase()).await.unwrap();
    let e = paced.purchase(&ipv4_purchase()).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(s.records().executions(Operation::Purchase), 1);
    // A safe call (of a client that has not seen the 429) sends its purchase again after the
    // wait: its own 429 proved it was not processed. Bought once, after the purchase bucket's
    // window (virtual time).
    let refused_purchases = || {
        let requests = s.records().requests();
        let refused = |r: &&opx::mock::RecordedRequest| r.status == 429;
        let purchases = requests
            .iter()
            .filter(|r| r.operation == Some(Operation::Purchase));
        purchases.filter(refused).count()
    };
    let (fresh, t1, refused) = (paced_client(&s), s.clock().now(), refused_purchases());
    let bought = fresh.purchase_safely(&ipv4_purchase()).await.unwrap();
    assert_eq!(
        refused_purchases(),
        refused + 1,
        "its first send was refused"
    );
    assert!(
        matches!(bought, opx::safe::PurchaseOutcome::Purchased(_)),
        "{bought:?}"
    );
    assert_eq!(s.records().executions(Operation::Purchase), 2);
    assert!(s.clock().now() - t1 >= chrono::Duration::minutes(59));
}

#[tokio::test]
async fn on_a_manual_clock_a_paced_call_waits_until_the_clock_is_advanced() {
    let s = Scripted::start(Reply::ok(account_json()).rate(300, 0, 30)).await;
    let clock = ManualClock::new();
    let (watched, mut sleeps) = Watched::new(clock.clone(), false);
    let c = s
        .client()
        .clock(watched)
        .rate_limit_policy(RateLimitPolicy::Pace)
        .build()
        .unwrap();
    c.account().await.unwrap();
    let mut waiting = tokio::spawn({
        let c = c.clone();
        async move { c.account().await }
    });
    // The call goes to sleep until the window resets, 30 s ahead on the clock (other sleeps,
    // such as the call's 60 s deadline, may come before it).
    let window = async {
        while let Some(ahead) = sleeps.recv().await {
            if ahead <= Duration::from_secs(31) {
                return ahead;
            }
        }
        panic!("the clock is gone")
    };
    let ahead = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            ahead = window => ahead,
            ended = &mut waiting => panic!("it did not wait for the window: {ended:?}"),
        }
    })
    .await
    .expect("the paced call neither waited on the clock nor ended");
    assert!(ahead >= Duration::from_secs(29), "{ahead:?}");
    assert_eq!(s.count(), 1, "waiting for the window, not sent");
    assert!(!waiting.is_finished());
    clock.advance(Duration::from_secs(30));
    waiting.await.unwrap().unwrap();
    assert_eq!(s.count(), 2);
}

#[tokio::test]
async fn the_backoff_goes_by_the_clients_clock() {
    // A 10 s backoff costs no real time on an auto-advancing clock.
    let s = Scripted::start(Reply::ok(account_json())).await;
    s.push(Reply::error(503, "server_error"));
    let clock = ManualClock::auto_advancing();
    let policy = RetryPolicy::default()
        .jitter(false)
        .base_delay(Duration::from_secs(10))
        .max_delay(Duration::from_secs(10));
    let c = s
        .client()
        .clock(clock.clone())
        .retry_policy(policy)
        .deadline(Duration::from_secs(60))
        .build()
        .unwrap();
    let real = std::time::Instant::now();
    c.account().await.unwrap();
    assert_eq!(clock.elapsed(), Duration::from_secs(10));
    assert!(real.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn one_list_failing_does_not_stop_the_others() {
    let s = MockServer::start().await;
    let mut ids = ids(&s, 5);
    let missing = ServiceId::new("ffffffffffffffffffffffff").unwrap();
    ids.insert(2, missing.clone());
    let c = s.client();
    let got: Vec<_> = c
        .proxy_lists(futures::stream::iter(ids.clone()), &ProxyQuery::new(), 2)
        .collect()
        .await;
    let order: Vec<_> = got.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(order, ids);
    for (id, list) in &got {
        match list {
            Err(e) if *id == missing => assert!(e.is_not_found(), "{e}"),
            other => assert!(other.is_ok(), "{id}: {other:?}"),
        }
    }
    assert_eq!(s.records().executions(Operation::GetProxies), 5);
}

/// `ClientBuilder::on_pacing_wait` is told once per wait, with the bucket and the wait on the
/// client's clock, however many concurrent calls wait for the same window: 1,500 lists 8 at
/// once wait for 4 minute windows, and it is told 4 times, each about a minute.
#[tokio::test]
async fn the_pacing_hook_is_told_once_per_wait() {
    let s = MockServer::start().await;
    let ids = ids(&s, 1500);
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let c = s
        .client_builder()
        .on_pacing_wait({
            let told = told.clone();
            move |bucket, wait| told.lock().unwrap().push((bucket, wait))
        })
        .build()
        .unwrap();
    let lists = c.proxy_lists(futures::stream::iter(ids), &ProxyQuery::new(), 8);
    assert_eq!(lists.count().await, 1500);
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 4, "{told:?}");
    for (bucket, wait) in told {
        assert_eq!(bucket, Bucket::GlobalMinute);
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(61),
            "{wait:?}"
        );
    }
}
