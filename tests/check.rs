//! `opx::check` (feature `check`): each outcome an endpoint can have, through the mock's
//! gateways and loopback servers (nothing leaves loopback), and no password in any form of the
//! report.

#[path = "support/echo.rs"]
mod echo;
#[path = "support/fixtures.rs"]
mod fixtures;

use std::time::Duration;

#[cfg(feature = "rustls")]
use echo::tcp_echo;
use echo::{Echo, refusing_port};
use opx::check::{CheckStatus, EndpointCheck, ProxyCheck};
use opx::mock::MockServer;
use opx::proxies::ProxyEndpointBuf;
use opx::types::{ProxyQuery, ServiceId, ServiceType};
use tokio::net::TcpListener;

fn endpoint(line: &str) -> ProxyEndpointBuf {
    opx::proxies::ProxyLines::new(line)
        .next()
        .unwrap()
        .unwrap()
        .to_owned()
}

/// What `check` says of the first of `lines`.
async fn first_result(
    check: &ProxyCheck,
    lines: &[ProxyEndpointBuf],
    threads: Option<u32>,
) -> EndpointCheck {
    check.run(lines, threads).await.unwrap().results.remove(0)
}

async fn bought(server: &MockServer) -> opx::types::Service {
    fixtures::bought(server, ServiceType::Ipv4Rotating).await
}

/// A mock with one IPv4 service bought, and an echo server to check its lines against.
async fn bought_with_an_echo() -> (MockServer, Echo, opx::types::Service) {
    let server = MockServer::start().await;
    let echo = Echo::start().await;
    let s = bought(&server).await;
    (server, echo, s)
}

#[tokio::test]
async fn a_service_checked_through_the_client_reports_each_endpoint() {
    let (server, echo, s) = bought_with_an_echo().await;
    let check = ProxyCheck::new().target(echo.url("/"));
    let report = server
        .client()
        .check_proxies(&s.service_id, &check)
        .await
        .unwrap();
    assert!(report.all_ok(), "{report:?}");
    assert_eq!((report.threads, report.concurrency), (Some(100), 1));
    assert_eq!(report.service_id.as_ref(), Some(&s.service_id));
    let r = &report.results[0];
    assert_eq!(
        (r.status.clone(), r.http_status),
        (CheckStatus::Ok, Some(200))
    );
    // The mock's nl gateway left from one of its exit addresses.
    let exit = match r.exit_address {
        Some(std::net::IpAddr::V4(ip)) => ip,
        other => panic!("{other:?}"),
    };
    assert!(opx::mock::exit_range(&opx::types::GatewayCountry::Nl).contains(&exit));
    let nl = server
        .gateways()
        .addr(&opx::types::GatewayCountry::Nl)
        .unwrap();
    assert_eq!(r.endpoint_label(), format!("{}@{nl}", s.auth.login));
    assert!(r.latency < Duration::from_secs(5));
}

#[tokio::test]
async fn nothing_listening_is_connection_refused_and_silence_is_a_timeout() {
    let (_held, closed) = refusing_port();
    // Accepts, then never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (s, _) = silent.accept().await.unwrap();
            held.push(s);
        }
    });
    let endpoints = [
        endpoint(&format!("{closed}:login:secret-one")),
        endpoint(&format!("{silent_addr}:login:secret-two")),
    ];
    let check = ProxyCheck::new()
        .target("http://127.0.0.1:9/")
        .timeout(Duration::from_millis(300));
    let report = check.run(&endpoints, None).await.unwrap();
    assert_eq!(report.concurrency, 2);
    let statuses: Vec<CheckStatus> = report.results.iter().map(|r| r.status.clone()).collect();
    assert_eq!(
        statuses,
        [CheckStatus::ConnectionRefused, CheckStatus::Timeout],
        "{report:?}"
    );
    assert!(report.results[1].latency >= Duration::from_millis(300));
    assert!(
        report
            .results
            .iter()
            .all(|r| r.http_status.is_none() && r.detail.is_some())
    );
    assert!(!report.all_ok() && report.ok_count() == 0);
    holder.abort();
}

/// Needs TLS: without the `rustls` feature an https target is refused up front (next test).
#[cfg(feature = "rustls")]
#[tokio::test]
async fn https_targets_go_through_connect_and_its_refusals_are_told_apart() {
    let server = MockServer::start().await;
    let s = bought(&server).await;
    let tcp = tcp_echo().await;
    let client = server.client();
    let lines = client
        .proxies(&s.service_id, &ProxyQuery::new())
        .await
        .unwrap()
        .into_inner();
    // Current credentials: the tunnel opens, then TLS fails against a TCP echo: not ok, and
    // not a proxy problem.
    let https = ProxyCheck::new().target(format!("https://{tcp}/"));
    let r = first_result(&https, &lines, Some(100)).await;
    assert_eq!(r.status, CheckStatus::Other, "{r:?}");
    // Off loopback: the gateway refuses the CONNECT with a 403, which the HTTP client does not
    // show; the check asks again and says it, with the gateway's reason.
    let off = ProxyCheck::new().target("https://192.0.2.1/");
    let r = first_result(&off, &lines, Some(100)).await;
    assert_eq!(
        (r.status.clone(), r.http_status),
        (CheckStatus::ProxyRefused, Some(403)),
        "{r:?}"
    );
    let detail = r.detail.as_deref().unwrap();
    assert!(
        detail.contains("refused the CONNECT tunnel: HTTP 403 Forbidden")
            && detail.contains("Proxy-Status"),
        "{r:?}"
    );

    client.regenerate_credentials(&s.service_id).await.unwrap();
    let r = first_result(&https, &lines, Some(100)).await;
    assert_eq!(r.status, CheckStatus::AuthRefused, "{r:?}");
    let report = https.run(&lines, Some(100)).await.unwrap();
    let password = s.auth.password();
    assert!(!format!("{report:?}").contains(password));
    assert!(!serde_json::to_string(&report).unwrap().contains(password));
    // An expired service's line (new credentials, read again): the gateway's 403 on the
    // CONNECT, said as such.
    let lines = client
        .proxies(&s.service_id, &ProxyQuery::new())
        .await
        .unwrap()
        .into_inner();
    server
        .clock()
        .advance(s.expires_in(server.clock().now()) + Duration::from_secs(1));
    let r = first_result(&https, &lines, Some(100)).await;
    assert_eq!(r.http_status, Some(403), "{r:?}");
}

/// Without TLS reqwest would send an https target to the proxy as a plain request (no
/// `CONNECT`), so the check refuses it before probing anything, naming the feature.
#[cfg(not(feature = "rustls"))]
#[tokio::test]
async fn without_rustls_an_https_target_is_refused_naming_the_feature() {
    let server = MockServer::start().await;
    let s = bought(&server).await;
    let lines = server
        .client()
        .proxies(&s.service_id, &ProxyQuery::new())
        .await
        .unwrap()
        .into_inner();
    let e = ProxyCheck::new()
        .target("https://127.0.0.1:1/")
        .run(&lines, Some(100))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`rustls` feature"), "{e}");
    assert!(e.status().is_none(), "refused locally: {e:?}");
}

#[tokio::test]
async fn a_whitelisted_line_without_credentials_works() {
    let (server, echo, s) = bought_with_an_echo().await;
    let client = server.client();
    let id: &ServiceId = &s.service_id;
    let bare = client
        .proxies(id, &ProxyQuery::new().auth(false))
        .await
        .unwrap()
        .into_inner();
    let check = ProxyCheck::new().target(echo.url("/"));
    let r = first_result(&check, &bare, Some(s.threads)).await;
    assert_eq!(r.status, CheckStatus::AuthRefused, "{r:?}");
    let whitelist = opx::types::Whitelist::parse(["127.0.0.1"]).unwrap();
    client.replace_whitelist(id, &whitelist).await.unwrap();
    let r = first_result(&check, &bare, Some(s.threads)).await;
    assert_eq!(r.status, CheckStatus::Ok, "{r:?}");
    let nl = server
        .gateways()
        .addr(&opx::types::GatewayCountry::Nl)
        .unwrap();
    assert_eq!(r.endpoint_label(), nl.to_string());
}

#[tokio::test]
async fn a_proxy_that_echoes_the_password_does_not_get_it_into_the_report() {
    // A "proxy" that answers every request 502 with the Proxy-Authorization it got and the
    // password in clear.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let (mut c, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = c.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let auth = head
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("proxy-authorization"))
                    .unwrap_or("")
                    .to_owned();
                let body = format!("you sent {auth} and p@ss/w0rd, http://u:p%40ss%2Fw0rd@h\n");
                let answer = format!(
                    "HTTP/1.1 502 Bad Gateway\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = c.write_all(answer.as_bytes()).await;
            });
        }
    });
    let e = endpoint(&format!("{addr}:alice:p@ss/w0rd"));
    let report = ProxyCheck::new()
        .target("http://127.0.0.1:9/")
        .run(&[e], None)
        .await
        .unwrap();
    let r = &report.results[0];
    assert_eq!(
        (r.status.clone(), r.http_status),
        (CheckStatus::HttpError, Some(502))
    );
    let detail = r.detail.as_deref().unwrap();
    assert!(detail.contains("<redacted>"), "{detail}");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("alice:p@ss/w0rd");
    for shown in [
        format!("{report:?}"),
        serde_json::to_string(&report).unwrap(),
    ] {
        assert!(
            !shown.contains("p@ss") && !shown.contains("p%40ss"),
            "{shown}"
        );
        assert!(!shown.contains(&basic), "{shown}");
    }
}

#[tokio::test]
async fn more_connections_show_the_rotation_each_endpoint_delivers() {
    let (server, echo, s) = bought_with_an_echo().await;
    let client = server.client();
    let check = ProxyCheck::new().target(echo.url("/")).connections(4);
    let report = client.check_proxies(&s.service_id, &check).await.unwrap();
    let r = &report.results[0];
    // `instant`: a new exit for every connection, all of them nl's.
    assert_eq!((r.connections, r.exits.len()), (4, 4), "{r:?}");
    let nl = opx::mock::exit_range(&opx::types::GatewayCountry::Nl);
    assert!(
        r.exits
            .iter()
            .all(|ip| matches!(ip, std::net::IpAddr::V4(v4) if nl.contains(v4)))
    );

    // A 10-minute rotation: one exit over every connection.
    let v6 = fixtures::bought(&server, ServiceType::Ipv6Rotating).await;
    let rotation = opx::types::Rotation::new("10min").unwrap();
    client
        .change_rotation(&v6.service_id, &rotation)
        .await
        .unwrap();
    let report = client.check_proxies(&v6.service_id, &check).await.unwrap();
    for r in &report.results {
        assert_eq!((r.connections, r.exits.len()), (4, 1), "{r:?}");
    }
}
