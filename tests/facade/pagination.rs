//! Pagination: streams of items and pages, lazy, filters on every page, nothing repeated or
//! skipped, optional prefetch.

use opx::Operation;
use std::collections::HashSet;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use opx::mock::{Fault, MockServer};
use opx::types::{LogQuery, ServiceQuery, ServiceType, StatusFilter};

/// Every item of a stream that must not fail.
async fn collect<T>(items: impl Stream<Item = opx::Result<T>>) -> Vec<T> {
    items.try_collect().await.unwrap()
}

/// Makes the second listing request answer `status` once (the first answers normally).
fn fail_the_second_page(s: &MockServer, status: u16) {
    s.faults()
        .inject(Operation::ListServices, Fault::Delay(Duration::ZERO), 1);
    s.faults()
        .inject(Operation::ListServices, Fault::Status(status), 1);
}

fn list_requests(s: &MockServer) -> Vec<String> {
    s.records()
        .requests()
        .iter()
        .filter(|r| r.operation == Some(Operation::ListServices))
        .map(|r| r.query.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn every_service_exactly_once_with_filters_on_every_page() {
    let s = MockServer::start().await;
    let seeded: HashSet<opx::types::ServiceId> = s.services().seed(53).into_iter().collect();
    let c = s.client();
    let q = ServiceQuery::new().status(StatusFilter::All).limit(7);
    let items = collect(c.services_stream(&q)).await;
    let ids: Vec<_> = items.iter().map(|s| s.service_id.clone()).collect();
    let unique: HashSet<_> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), 53, "nothing skipped");
    assert_eq!(unique.len(), 53, "nothing repeated");
    assert_eq!(unique, seeded);
    let queries = list_requests(&s);
    assert_eq!(queries.len(), 8, "ceil(53/7) pages: {queries:?}");
    for (i, q) in queries.iter().enumerate() {
        assert!(q.contains("status=all") && q.contains("limit=7"), "{q}");
        assert_eq!(q.contains("cursor="), i > 0, "{q}");
    }
}

#[tokio::test]
async fn the_type_filter_is_kept_and_pages_are_lazy() {
    let s = MockServer::start().await;
    s.services().seed(40);
    let c = s.client();
    let q = ServiceQuery::new()
        .service_type(ServiceType::Ipv6Rotating)
        .limit(5);
    let mut pages = std::pin::pin!(c.services_page_stream(&q));
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.services.len(), 5);
    assert_eq!(
        list_requests(&s).len(),
        1,
        "only the page asked for was fetched"
    );
    let rest: Vec<_> = pages.try_collect().await.unwrap();
    let all: Vec<_> = std::iter::once(first)
        .chain(rest)
        .flat_map(|p| p.into_inner().services)
        .collect();
    assert!(!all.is_empty());
    assert!(
        all.iter()
            .all(|s| s.service_type == ServiceType::Ipv6Rotating)
    );
    assert!(
        list_requests(&s)
            .iter()
            .all(|q| q.contains("type=ipv6_rotating"))
    );
}

#[tokio::test]
async fn prefetch_gives_the_same_items_and_fetches_ahead() {
    let s = MockServer::start().await;
    s.services().seed(30);
    let c = s.client();
    let plain = collect(
        c.services_stream(&ServiceQuery::new().limit(10))
            .map_ok(|s| s.service_id),
    )
    .await;
    let before = list_requests(&s).len();
    let mut pages =
        std::pin::pin!(c.services_page_stream(&ServiceQuery::new().limit(10).prefetch(true)));
    let first = pages.try_next().await.unwrap().unwrap();
    // The second page is requested while the first is held and the stream is not polled:
    // its arrival at the mock is the event waited for (the guard only turns "never" into a
    // failure, far beyond the milliseconds it takes).
    let prefetched = async {
        while list_requests(&s).len() - before < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), prefetched)
        .await
        .expect("the second page was never requested while the first was consumed");
    assert_eq!(list_requests(&s).len() - before, 2, "one page ahead");
    let mut ids: Vec<_> = first
        .into_inner()
        .services
        .into_iter()
        .map(|s| s.service_id)
        .collect();
    while let Some(p) = pages.try_next().await.unwrap() {
        ids.extend(p.into_inner().services.into_iter().map(|s| s.service_id));
    }
    assert_eq!(ids, plain);
}

/// The services [`a_failing_page_is_retried_then_surfaced`] pages through (5 a page).
const SEEDED: usize = 12;

#[tokio::test]
async fn a_failing_page_is_retried_then_surfaced() {
    let s = MockServer::start().await;
    s.services().seed(SEEDED);
    let c = s
        .client_builder()
        .retry_policy(opx::RetryPolicy::none())
        .build()
        .unwrap();
    let q = ServiceQuery::new().limit(5);
    // Page 2 fails once: the stream yields page 1 items, then the error, then ends.
    fail_the_second_page(&s, 500);
    let got: Vec<_> = c.services_stream(&q).collect().await;
    assert_eq!(got.iter().filter(|r| r.is_ok()).count(), 5);
    assert_eq!(
        got.last()
            .unwrap()
            .as_ref()
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(500)
    );
    // With the default policy the same failure is retried transparently.
    fail_the_second_page(&s, 503);
    let all = collect(s.client().services_stream(&q)).await;
    assert_eq!(all.len(), SEEDED);
}

#[tokio::test]
async fn logs_page_through_everything() {
    let s = MockServer::start().await;
    s.accounts().seed_logs(45);
    let c = s.client();
    let logs = collect(c.logs_stream(&LogQuery::new().limit(10))).await;
    assert_eq!(logs.len(), 45);
    let unique: HashSet<_> = logs.iter().map(|l| l.id().map(str::to_owned)).collect();
    assert_eq!(unique.len(), 45);
    let since = s.clock().now() + chrono::Duration::seconds(1);
    let none = collect(c.logs_stream(&LogQuery::new().since(since))).await;
    assert!(none.is_empty(), "{none:?}");
}

/// Under the default policy (`Surface`), a stream over more pages than the rate limit allows per
/// window waits the windows out (on the mock's clock) instead of ending midway: every service
/// arrives, and no request was answered 429. A single call still fails fast.
#[tokio::test]
async fn a_stream_waits_out_the_rate_limit_under_the_default_policy() {
    let s = MockServer::start().await;
    let ids = s.services().seed(12);
    s.accounts().set_limit(opx::mock::Bucket::GlobalMinute, 3);
    let c = s.client();
    let listed = collect(c.services_stream(&ServiceQuery::new().limit(2))).await;
    assert_eq!(
        listed.len(),
        ids.len(),
        "6 pages over 3 windows of 3 requests"
    );
    let refused = s
        .records()
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(refused, 0, "paced: no request was refused");
    // Outside a stream the default policy still surfaces the exhausted window.
    let mut last = Ok(());
    for _ in 0..4 {
        last = c.account().await.map(|_| ());
    }
    let e = last.unwrap_err();
    assert!(e.is_rate_limited(), "{e}");
    assert!(
        e.to_string()
            .contains("3 requests per window, as the server reported"),
        "{e}"
    );
}

/// A stream keeps no borrow of its query or its client: one made from a query that is gone
/// (as here, returned from the function that built it) still reads every item.
#[tokio::test]
async fn a_stream_outlives_its_query() {
    fn every_service(
        c: &opx::Client,
    ) -> impl futures::Stream<Item = opx::Result<opx::types::Service>> + use<> {
        let q = ServiceQuery::new().limit(4);
        c.services_stream(&q)
    }
    let s = MockServer::start().await;
    s.services().seed(9);
    assert_eq!(collect(every_service(&s.client())).await.len(), 9);
}
