//! Live services: regenerated credentials, expiry, a dead line and a hung one, new purchases.

use std::time::Duration;

use opx::gateway::{Gateway, Strategy};
use opx::mock::MockServer;
use opx::types::GatewayCountry;

use super::*;
use crate::support::{IPV4_PLAN, IPV6_PLAN, buy_id};

const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test]
async fn regenerated_credentials_are_read_again_once_and_the_request_goes_through() {
    let (s, echo, [id]) = mock_with([IPV4_PLAN]).await;
    let gw = gateway(&s, |b| b).await;
    assert_eq!(get_through(&gw.proxy_url(), &echo.url("/")).await.0, 200);
    let sid = opx::types::ServiceId::new(id.as_str()).unwrap();
    s.client().regenerate_credentials(&sid).await.unwrap();
    for _ in 0..3 {
        assert_eq!(get_through(&gw.proxy_url(), &echo.url("/")).await.0, 200);
    }
    let metrics = gw.metrics_text();
    // One 407 (the old credentials), then the new ones for every request.
    assert!(metrics.contains("kind=\"auth_407\"} 1\n"), "{metrics}");
    assert_eq!(gw.services()[0].ejected, 0);
}

#[tokio::test]
async fn an_expired_service_is_dropped_at_its_expiry_and_the_other_carries_on() {
    let (s, echo, [short, long]) = mock_with([IPV4_PLAN, IPV4_PLAN]).await;
    s.client().extend(&long).await.unwrap();
    let gw = gateway(&s, |b| b).await;
    assert_eq!(gw.services().len(), 2);
    s.clock().advance(31 * DAY);
    for _ in 0..4 {
        assert_eq!(get_through(&gw.proxy_url(), &echo.url("/")).await.0, 200);
    }
    let left: Vec<String> = gw.services().into_iter().map(|u| u.id).collect();
    assert_eq!(left, [long.to_string()]);
    // The expired service was never tried: no 403 from the mock's gateway.
    let metrics = gw.metrics_text();
    assert!(!metrics.contains(short.as_str()), "{metrics}");
    assert!(!metrics.contains("forbidden_403"), "{metrics}");
}

/// A gateway over one IPv6 service (three lines, nl, de and at), whose de line is then taken
/// out by `out`: six GETs all arrive through the other lines, the de line is ejected once, and
/// the metrics count one failure of `kind` (`connect` for a dead line, `timeout` for a hung
/// one). The mock and the gateway, for what comes next.
async fn the_other_lines_carry_on(
    out: fn(&MockServer),
    kind: &str,
) -> (MockServer, crate::echo::Echo, RunningGateway) {
    let (s, echo, _) = mock_with([IPV6_PLAN]).await;
    let gw = gateway(&s, |b| {
        b.strategy(Strategy::RoundRobin)
            .upstream_timeout(Duration::from_millis(300))
            .ejection(1, Duration::from_secs(30))
    })
    .await;
    out(&s);
    for _ in 0..6 {
        let (status, body) = get_through(&gw.proxy_url(), &echo.url("/")).await;
        assert_eq!(status, 200, "{body}");
        assert_ne!(country_of(exit(&body)), GatewayCountry::De);
    }
    assert_eq!(gw.services()[0].ejected, 1);
    let metrics = gw.metrics_text();
    let kind = format!("kind=\"{kind}\"");
    assert_eq!(
        metrics.lines().filter(|l| l.contains(&kind)).count(),
        1,
        "{metrics}"
    );
    (s, echo, gw)
}

#[tokio::test]
async fn a_dead_line_is_ejected_tunnels_retry_elsewhere_and_it_comes_back() {
    let down = |s: &MockServer| s.gateways().set_down(&GatewayCountry::De, true);
    let (s, echo, gw) = the_other_lines_carry_on(down, "connect").await;

    // Back up; after the backoff (on the mock's clock) the de line is used again.
    s.gateways().set_down(&GatewayCountry::De, false);
    let de = format!("http://country-de:x@{}", gw.addr());
    let (status, _) = get_through(&de, &echo.url("/")).await;
    assert_eq!(status, 503, "still ejected");
    s.clock().advance(Duration::from_secs(30));
    let (status, body) = get_through(&de, &echo.url("/")).await;
    assert_eq!((status, country_of(exit(&body))), (200, GatewayCountry::De));
    assert_eq!(gw.services()[0].ejected, 0);
}

#[tokio::test]
async fn a_hung_line_times_out_is_ejected_and_tunnels_go_elsewhere() {
    // The de line accepts connections and never answers them.
    let hung = |s: &MockServer| s.gateways().set_hung(&GatewayCountry::De, true);
    the_other_lines_carry_on(hung, "timeout").await;
}

#[tokio::test]
async fn a_refresh_picks_up_a_new_purchase() {
    let s = MockServer::start().await;
    buy_id(&s, IPV4_PLAN).await;
    let gw = gateway(&s, |b| b).await;
    assert_eq!(gw.services().len(), 1);
    let new = buy_id(&s, IPV6_PLAN).await;
    gw.refresh().await.unwrap();
    let services = gw.services();
    assert_eq!(services.len(), 2);
    let added = services.iter().find(|u| u.id == new).unwrap();
    assert_eq!((added.lines, added.threads), (3, 500));
}

#[tokio::test]
async fn active_probes_eject_a_dead_line_and_readmit_it_as_soon_as_it_answers() {
    let (s, _echo, _) = mock_with([IPV6_PLAN]).await;
    let target = crate::echo::tcp_echo().await;
    let gw = gateway(&s, |b| {
        b.probe(format!("http://{target}/"), Duration::from_secs(3600))
            .ejection(1, Duration::from_secs(1800))
    })
    .await;
    assert_eq!(gw.probe().await, Some(3));
    s.gateways().set_down(&GatewayCountry::De, true);
    assert_eq!(gw.probe().await, Some(2));
    assert_eq!(gw.services()[0].ejected, 1);
    // Back up: the next probe re-admits it, long before its 30-minute backoff.
    s.gateways().set_down(&GatewayCountry::De, false);
    assert_eq!(gw.probe().await, Some(3));
    assert_eq!(gw.services()[0].ejected, 0);
    let bad = Gateway::builder(s.client())
        .probe("ftp://x/", DAY)
        .serve()
        .await;
    assert!(
        matches!(bad, Err(opx::gateway::GatewayError::Probe(_))),
        "{bad:?}"
    );
}

#[tokio::test]
async fn reading_many_services_waits_for_the_rate_limit_instead_of_failing() {
    let (s, echo, _) = mock_with([IPV4_PLAN, IPV4_PLAN, IPV4_PLAN]).await;
    // A service list and three proxy lists: more calls than the minute's window allows.
    s.accounts().set_limit(opx::mock::Bucket::GlobalMinute, 2);
    let before = s.clock().now();
    let gw = gateway(&s, |b| b).await;
    assert_eq!(gw.services().len(), 3);
    assert!(
        s.clock().now() - before >= chrono::Duration::seconds(60),
        "it waited on the mock's clock"
    );
    assert_eq!(get_through(&gw.proxy_url(), &echo.url("/")).await.0, 200);
}
