//! Usage: `/metrics` per line and service, the access log, and never a password.

use opx::gateway::{Gateway, GatewayError};

use super::*;
use crate::capture::Capture;
use crate::support::IPV4_PLAN;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn metrics_and_the_access_log_show_traffic_per_service_without_a_password() {
    let (s, echo, [id]) = mock_with([IPV4_PLAN]).await;
    let password = s.client().service(&id).await.unwrap();
    let password = password.auth.password().to_owned();
    let (id, password) = (id.as_str(), password.as_str());
    let log = Capture::default();
    let gw = gateway(&s, |b| {
        b.metrics_listen("127.0.0.1:0".parse().unwrap())
            .access_log(log.clone())
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            get_through(&gw.proxy_url(), &echo.url("/a?secret=1"))
                .await
                .0,
            200
        );
    }
    let metrics_url = format!("http://{}/metrics", gw.metrics_addr().unwrap());
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = plain.get(metrics_url).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = r.text().await.unwrap();
    let nl = s.gateways().addr(&opx::types::GatewayCountry::Nl).unwrap();
    let labels = format!("{{service=\"{id}\",line=\"nl {nl}\"}}");
    assert!(
        text.contains(&format!("opx_gateway_requests_total{labels} 2")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "opx_gateway_upstream_latency_seconds_count{labels} 2"
        )),
        "{text}"
    );
    let bytes = |name: &str| -> u64 {
        let prefix = format!("{name}{labels} ");
        let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap();
        line[prefix.len()..].parse().unwrap()
    };
    assert!(bytes("opx_gateway_sent_bytes_total") > 100, "{text}");
    assert!(bytes("opx_gateway_received_bytes_total") > 100, "{text}");
    assert!(
        text.contains(&format!("opx_gateway_threads_in_use{{service=\"{id}\"}} 0")),
        "{text}"
    );
    assert!(!text.contains(password), "a password in the metrics");

    let log = String::from_utf8(log.bytes()).unwrap();
    let entries: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2, "{log}");
    for e in &entries {
        assert_eq!(
            (e["status"].as_u64(), e["service"].as_str()),
            (Some(200), Some(id))
        );
        assert_eq!(e["target"], format!("http://{}/a", echo.addr));
        assert!(e["received_bytes"].as_u64().unwrap() > 0, "{e}");
    }
    assert!(
        !log.contains(password) && !log.contains("secret=1"),
        "{log}"
    );
}

#[tokio::test]
async fn local_credentials_are_required_when_set_and_remote_addresses_need_them() {
    let (s, echo, _) = mock_with([IPV4_PLAN]).await;
    let remote = Gateway::builder(s.client())
        .listen("0.0.0.0:0".parse().unwrap())
        .serve()
        .await;
    assert!(matches!(remote, Err(GatewayError::Remote(_))), "{remote:?}");

    let gw = gateway(&s, |b| b.local_credentials("me", "local-pw")).await;
    let (status, _) = get_through(&gw.proxy_url(), &echo.url("/")).await;
    assert_eq!(status, 407);
    let port = gw.addr().port();
    let wrong = format!("http://me:nope@127.0.0.1:{port}");
    assert_eq!(get_through(&wrong, &echo.url("/")).await.0, 407);
    let tagged = format!("http://me-country-nl:local-pw@127.0.0.1:{port}");
    assert_eq!(get_through(&tagged, &echo.url("/")).await.0, 200);
}

/// A SOCKS5 greeting offering `methods`; the method the gateway chose.
async fn socks_greeting(gw: &opx::gateway::RunningGateway, methods: &[u8]) -> (u8, TcpStream) {
    let mut s = TcpStream::connect(gw.addr()).await.unwrap();
    let mut hello = vec![5, methods.len() as u8];
    hello.extend_from_slice(methods);
    s.write_all(&hello).await.unwrap();
    let mut chosen = [0u8; 2];
    s.read_exact(&mut chosen).await.unwrap();
    (chosen[1], s)
}

/// RFC 1929 username/password; the gateway's status byte (0: accepted).
async fn socks_login(s: &mut TcpStream, user: &str, password: &str) -> u8 {
    let mut m = vec![1, user.len() as u8];
    m.extend_from_slice(user.as_bytes());
    m.push(password.len() as u8);
    m.extend_from_slice(password.as_bytes());
    s.write_all(&m).await.unwrap();
    let mut status = [0u8; 2];
    s.read_exact(&mut status).await.unwrap();
    status[1]
}

#[tokio::test]
async fn socks5_clients_need_the_local_credentials_when_they_are_set() {
    let (s, _echo, _) = mock_with([IPV4_PLAN]).await;
    let gw = gateway(&s, |b| b.local_credentials("me", "local-pw")).await;
    // No authentication offered: no acceptable method (0xFF).
    assert_eq!(socks_greeting(&gw, &[0]).await.0, 0xFF);
    let (method, mut wrong) = socks_greeting(&gw, &[0, 2]).await;
    assert_eq!(method, 2, "username/password chosen");
    assert_ne!(socks_login(&mut wrong, "me", "nope").await, 0);
    let (_, mut right) = socks_greeting(&gw, &[2]).await;
    assert_eq!(
        socks_login(&mut right, "me-country-nl", "local-pw").await,
        0
    );
}
