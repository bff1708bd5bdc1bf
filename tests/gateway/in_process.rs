//! The pool without a port: leases within the threads, `reqwest::Proxy` values, health.

use std::time::Duration;

use futures::FutureExt;
use opx::gateway::Gateway;
use opx::types::GatewayCountry;

use super::*;
use crate::support::IPV4_PLAN;

#[tokio::test]
async fn leases_keep_to_the_threads_carry_requests_and_report_health() {
    let (s, echo, [id]) = mock_with([IPV4_PLAN]).await;
    assert!(s.services().set_threads(&id, 1));
    let pool = Gateway::builder(s.client())
        .ejection(1, Duration::from_secs(30))
        .pool()
        .await
        .unwrap();

    let lease = pool.checkout(None, None).await.unwrap();
    assert_eq!(lease.service(), id.as_str());
    assert!(!format!("{lease:?}").contains("password"));
    // The only thread is taken: a second checkout waits until the lease is dropped.
    let mut second = Box::pin(pool.checkout(None, None));
    assert!((&mut second).now_or_never().is_none());
    let body = lease
        .client()
        .unwrap()
        .get(echo.url("/"))
        .send()
        .await
        .unwrap();
    let body = body.text().await.unwrap();
    assert_eq!(country_of(exit(&body)), GatewayCountry::Nl);
    lease.succeeded();
    let second = second.await.unwrap();

    // A failure ejects the line (after 1 here): nothing left to hand out until the backoff.
    second.failed();
    let refused = pool.checkout(None, None).await.unwrap_err();
    assert!(refused.to_string().contains("ejected"), "{refused}");
    s.clock().advance(Duration::from_secs(30));
    let again = pool.checkout(None, None).await.unwrap();
    let proxied = reqwest::Client::builder()
        .proxy(again.proxy().unwrap())
        .build()
        .unwrap();
    assert_eq!(
        proxied.get(echo.url("/")).send().await.unwrap().status(),
        200
    );
}
