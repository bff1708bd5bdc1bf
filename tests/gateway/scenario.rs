//! The "done when": a scraper pointed at the gateway keeps working, never beyond any
//! service's threads, through a credentials regeneration, a line that stops answering and the
//! expiry of one of two services; the metrics show the traffic per service.

use std::time::Duration;

use futures::future::join_all;
use opx::types::GatewayCountry;

use super::*;
use crate::support::{IPV4_PLAN, IPV6_PLAN};

/// `n` GETs at once through the gateway; every status.
async fn round(proxy: &str, url: &str, n: usize) -> Vec<u16> {
    let client = through(proxy);
    let gets = (0..n).map(|_| async { client.get(url).send().await.unwrap().status().as_u16() });
    join_all(gets).await
}

#[tokio::test]
async fn a_scraper_keeps_working_through_regeneration_a_dead_line_and_an_expiry() {
    let (s, echo, [six, four]) = mock_with([IPV6_PLAN, IPV4_PLAN]).await;
    s.client()
        .extend(&opx::types::ServiceId::new(six.as_str()).unwrap())
        .await
        .unwrap();
    assert!(s.services().set_threads(&six, 3) && s.services().set_threads(&four, 2));
    let gw = gateway(&s, |b| b).await;
    let (proxy, url) = (gw.proxy_url(), echo.url("/"));
    let all_ok = |statuses: Vec<u16>| assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    all_ok(round(&proxy, &url, 12).await);
    s.client()
        .regenerate_credentials(&opx::types::ServiceId::new(six.as_str()).unwrap())
        .await
        .unwrap();
    all_ok(round(&proxy, &url, 12).await);
    s.gateways().set_down(&GatewayCountry::De, true);
    all_ok(round(&proxy, &url, 12).await);
    s.clock().advance(Duration::from_secs(31 * 86_400));
    all_ok(round(&proxy, &url, 12).await);

    let left: Vec<String> = gw.services().into_iter().map(|u| u.id).collect();
    assert_eq!(left, [six.to_string()]);
    assert!(s.gateways().threads_peak(&six) <= 3 && s.gateways().threads_peak(&four) <= 2);
    let metrics = gw.metrics_text();
    assert!(!metrics.contains("limit_429"), "{metrics}");
    for id in [&six, &four] {
        let service = format!("opx_gateway_requests_total{{service=\"{id}\"");
        assert!(metrics.contains(&service), "{metrics}");
    }
}
