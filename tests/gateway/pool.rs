//! The pool: never more upstream connections to a service than its threads; the queue.

use futures::future::join_all;

use super::*;
use crate::support::IPV4_PLAN;

#[tokio::test]
async fn never_more_upstream_connections_than_threads_and_the_queue_drains() {
    let (s, mut echo, [id]) = mock_with([IPV4_PLAN]).await;
    assert!(s.services().set_threads(&id, 2));
    let gw = gateway(&s, |b| b).await;
    let url = gw.proxy_url();
    let hold = echo.url("/hold");
    let requests = (0..6).map(|_| {
        let (url, hold) = (url.clone(), hold.clone());
        tokio::spawn(async move { get_through(&url, &hold).await })
    });
    let requests: Vec<_> = requests.collect();
    // Two reach the destination; the other four wait in the gateway's queue.
    // (The senders are the spawned requests, which only end once released.)
    echo.arrival(std::future::pending::<()>()).await;
    echo.arrival(std::future::pending::<()>()).await;
    assert_eq!(gw.services()[0].in_use, 2);
    echo.release(6);
    for r in join_all(requests).await {
        let (status, body) = r.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    // The mock's gateway never had more than 2 of the service's threads in use (it refuses
    // with 429 beyond them, which would have failed a request above).
    assert_eq!(s.gateways().threads_peak(&id), 2);
}

#[tokio::test]
async fn a_full_queue_is_a_clear_503_at_once() {
    let (s, mut echo, [id]) = mock_with([IPV4_PLAN]).await;
    assert!(s.services().set_threads(&id, 1));
    let gw = gateway(&s, |b| b.max_queue(0)).await;
    let url = gw.proxy_url();
    let hold = echo.url("/hold");
    let mut held = tokio::spawn(async move { get_through(&url, &hold).await });
    echo.arrival(&mut held).await;
    let (status, body) = get_through(&gw.proxy_url(), &echo.url("/")).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("every thread of the selected services is busy"),
        "{body}"
    );
    echo.release(1);
    assert_eq!(held.await.unwrap().0, 200);
    assert!(
        gw.metrics_text()
            .contains("opx_gateway_refused_total{reason=\"queue_full\"} 1")
    );
}
