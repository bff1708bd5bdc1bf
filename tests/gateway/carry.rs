//! What the gateway carries: absolute-form HTTP, CONNECT and SOCKS5 on one port, a new exit per
//! request, a country per request, sticky sessions.

use std::collections::BTreeSet;
use std::time::Duration;

use opx::gateway::Strategy;
use opx::types::GatewayCountry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;
use crate::echo::tcp_echo;
use crate::support::{IPV4_PLAN, IPV6_PLAN};

#[tokio::test]
async fn http_connect_and_socks5_share_one_port_and_need_no_credentials() {
    let (s, echo, [id]) = mock_with([IPV4_PLAN]).await;
    let tcp = tcp_echo().await;
    let gw = gateway(&s, |b| b).await;

    // Absolute-form HTTP, no credentials: the echo saw an nl exit and no proxy credentials.
    let r = through(&gw.proxy_url())
        .get(echo.url("/p?q=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-echo-path"], "/p?q=1");
    assert_eq!(r.headers()["x-echo-proxy-authorization"], "absent");
    let ip = exit(&r.text().await.unwrap());
    assert_eq!(country_of(ip), GatewayCountry::Nl);

    // CONNECT: a tunnel to a TCP echo.
    let (code, mut tunnel) = connect(&gw, &tcp.to_string()).await;
    assert_eq!(code, 200);
    round_trip(&mut tunnel, b"through a tunnel").await;
    drop(tunnel);

    // SOCKS5, no authentication, a domain name sent as is (curl --socks5-hostname).
    let mut socks = TcpStream::connect(gw.addr()).await.unwrap();
    socks.write_all(&[5, 1, 0]).await.unwrap();
    let mut chosen = [0u8; 2];
    socks.read_exact(&mut chosen).await.unwrap();
    assert_eq!(chosen, [5, 0]);
    let host = b"localhost";
    let mut req = vec![5, 1, 0, 3, host.len() as u8];
    req.extend_from_slice(host);
    req.extend_from_slice(&tcp.port().to_be_bytes());
    socks.write_all(&req).await.unwrap();
    let mut reply = [0u8; 10];
    socks.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply[..2], [5, 0], "{reply:?}");
    round_trip(&mut socks, b"through socks5").await;
    drop(socks);

    assert!(s.gateways().threads_peak(&id) >= 1);
}

#[tokio::test]
async fn each_request_leaves_from_a_new_exit_and_a_country_can_be_asked_for() {
    let (s, echo, _) = mock_with([IPV6_PLAN]).await; // mixed: nl, de and at lines
    let gw = gateway(&s, |b| b).await;
    let url = gw.proxy_url();
    // One kept-alive client connection to the gateway, a new upstream connection each time.
    let client = through(&url);
    let mut exits = BTreeSet::new();
    for _ in 0..6 {
        exits.insert(exit(&text_of(client.get(echo.url("/"))).await));
    }
    assert_eq!(exits.len(), 6, "{exits:?}");

    let port = gw.addr().port();
    let de = format!("http://country-de:x@127.0.0.1:{port}");
    for _ in 0..3 {
        let (status, body) = get_through(&de, &echo.url("/")).await;
        assert_eq!((status, country_of(exit(&body))), (200, GatewayCountry::De));
    }
    let at = client
        .get(echo.url("/"))
        .header("x-opx-country", "at")
        .send()
        .await
        .unwrap();
    assert_eq!(
        country_of(exit(&at.text().await.unwrap())),
        GatewayCountry::At
    );

    let us = format!("http://country-us:x@127.0.0.1:{port}");
    let (status, body) = get_through(&us, &echo.url("/")).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("no line of the selected services has a us gateway"),
        "{body}"
    );
}

#[tokio::test]
async fn a_sticky_session_keeps_its_line_while_round_robin_moves_on() {
    let (s, echo, _) = mock_with([IPV6_PLAN]).await;
    let gw = gateway(&s, |b| b.strategy(Strategy::RoundRobin)).await;
    let mut countries = BTreeSet::new();
    for _ in 0..3 {
        let (_, body) = get_through(&gw.proxy_url(), &echo.url("/")).await;
        countries.insert(country_of(exit(&body)).as_str().to_owned());
    }
    assert_eq!(countries.len(), 3, "{countries:?}");

    let port = gw.addr().port();
    let sticky = format!("http://session-a1:x@127.0.0.1:{port}");
    let (_, first) = get_through(&sticky, &echo.url("/")).await;
    for _ in 0..4 {
        let (_, body) = get_through(&sticky, &echo.url("/")).await;
        assert_eq!(country_of(exit(&body)), country_of(exit(&first)));
    }
}

#[tokio::test]
async fn a_sticky_session_keeps_its_connection_and_so_its_exit_until_its_time_runs_out() {
    let (s, echo, _) = mock_with([IPV4_PLAN]).await; // instant: a new exit per connection
    let gw = gateway(&s, |b| b.session_ttl(Duration::from_secs(600))).await;
    let sticky = format!("http://session-s1:x@{}", gw.addr());
    let first = exit(&get_through(&sticky, &echo.url("/")).await.1);
    for _ in 0..3 {
        assert_eq!(exit(&get_through(&sticky, &echo.url("/")).await.1), first);
    }
    // Another session, and no session, get other connections (other exits).
    let other = format!("http://session-s2:x@{}", gw.addr());
    assert_ne!(exit(&get_through(&other, &echo.url("/")).await.1), first);
    assert_ne!(
        exit(&get_through(&gw.proxy_url(), &echo.url("/")).await.1),
        first
    );
    // Its time runs out on the client's (the mock's) clock: a new connection.
    s.clock().advance(Duration::from_secs(600));
    assert_ne!(exit(&get_through(&sticky, &echo.url("/")).await.1), first);
}

/// The echo's answer names the peer's address and port: the same answer is the same upstream
/// connection (the mock's gateway opens one connection to the target per tunnel).
#[tokio::test]
async fn a_sticky_session_sends_its_requests_on_one_upstream_connection() {
    let (s, echo, [id]) = mock_with([IPV4_PLAN]).await; // instant: a new exit per connection
    let gw = gateway(&s, |b| b).await;
    let client = through(&format!("http://session-k1:x@{}", gw.addr())); // kept alive
    let first = text_of(client.get(echo.url("/"))).await;
    for _ in 0..5 {
        assert_eq!(text_of(client.get(echo.url("/"))).await, first);
    }
    // Concurrent requests of the session take turns on its connection (none opens another:
    // another would leave from another exit); the header names the same session.
    let together = futures::future::join_all((0..4).map(|_| text_of(client.get(echo.url("/")))));
    for body in together.await {
        assert_eq!(body, first);
    }
    let by_header = through(&gw.proxy_url())
        .get(echo.url("/"))
        .header("x-opx-session", "k1");
    assert_eq!(text_of(by_header).await, first);
    assert_eq!(s.gateways().threads_peak(&id), 1, "one upstream connection");
    assert_eq!(
        s.gateways().threads_in_use(&id),
        1,
        "kept, holding its thread"
    );

    // Another session: another connection, another exit.
    let other = through(&format!("http://session-k2:x@{}", gw.addr()));
    assert_ne!(exit(&text_of(other.get(echo.url("/"))).await), exit(&first));

    // New credentials (read by a refresh): the connection opened with the old ones is closed
    // and not used again.
    s.client().regenerate_credentials(&id).await.unwrap();
    gw.refresh().await.unwrap();
    let renewed = text_of(client.get(echo.url("/"))).await;
    assert_ne!(exit(&renewed), exit(&first));
    assert_eq!(text_of(client.get(echo.url("/"))).await, renewed);
}

#[tokio::test]
async fn an_ejected_line_ends_its_sessions_kept_connection() {
    let (s, echo, [id]) = mock_with([IPV6_PLAN]).await; // nl, de and at lines
    let gw = gateway(&s, |b| b.ejection(1, Duration::from_secs(30))).await;
    let session = through(&format!("http://country-de-session-e1:x@{}", gw.addr()));
    let first = text_of(session.get(echo.url("/"))).await;
    assert_eq!(text_of(session.get(echo.url("/"))).await, first);

    // The de line fails a new connection and is ejected; the session's connection, still
    // open upstream, is not used while its line is out.
    s.gateways().set_down(&GatewayCountry::De, true);
    let de = format!("http://country-de:x@{}", gw.addr());
    assert_ne!(get_through(&de, &echo.url("/")).await.0, 200);
    s.gateways().set_down(&GatewayCountry::De, false);
    let r = session.get(echo.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 503, "{}", r.text().await.unwrap());
    // Closed: the mock's gateway sees the connection end (its thread is free again).
    let mut waited = 0;
    while s.gateways().threads_in_use(&id) > 0 && waited < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    assert_eq!(
        s.gateways().threads_in_use(&id),
        0,
        "the kept connection is closed"
    );

    // Re-admitted after the backoff: a new connection.
    s.clock().advance(Duration::from_secs(30));
    let again = text_of(session.get(echo.url("/"))).await;
    assert_eq!(country_of(exit(&again)), GatewayCountry::De);
    assert_ne!(again, first);
}

/// An echo answer's body, asked for inside a tunnel (`stream`) to the echo at `addr`.
async fn echo_in_tunnel(mut stream: TcpStream, addr: &str) -> String {
    let get = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(get.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// A tunnel through the gateway to `target` by `CONNECT`, as `login` (its tags).
async fn connect_as(gw: &RunningGateway, login: &str, target: &str) -> TcpStream {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{login}:x"));
    let mut s = TcpStream::connect(gw.addr()).await.unwrap();
    let req = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: Basic {token}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(s.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
    s
}

/// A tunnel through the gateway to `target` by SOCKS5, as `login` (username/password).
async fn socks5_as(gw: &RunningGateway, login: &str, target: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(gw.addr()).await.unwrap();
    s.write_all(&[5, 1, 2]).await.unwrap();
    let mut chosen = [0u8; 2];
    s.read_exact(&mut chosen).await.unwrap();
    assert_eq!(chosen, [5, 2]);
    let mut auth = vec![1, login.len() as u8];
    auth.extend_from_slice(login.as_bytes());
    auth.extend_from_slice(&[1, b'x']);
    s.write_all(&auth).await.unwrap();
    let mut ok = [0u8; 2];
    s.read_exact(&mut ok).await.unwrap();
    assert_eq!(ok, [1, 0]);
    let std::net::IpAddr::V4(ip) = target.ip() else {
        panic!("an IPv4 echo")
    };
    let mut req = vec![5, 1, 0, 1];
    req.extend_from_slice(&ip.octets());
    req.extend_from_slice(&target.port().to_be_bytes());
    s.write_all(&req).await.unwrap();
    let mut reply = [0u8; 10];
    s.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply[..2], [5, 0], "{reply:?}");
    s
}

#[tokio::test]
async fn a_sticky_session_keeps_its_line_over_connect_and_socks5_too() {
    let (s, echo, _) = mock_with([IPV6_PLAN]).await; // nl, de and at lines
    let gw = gateway(&s, |b| b.strategy(Strategy::RoundRobin)).await;
    let url = reqwest::Url::parse(&echo.url("/")).unwrap();
    let addr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let target: std::net::SocketAddr = addr.parse().unwrap();

    // Without a session, round robin moves from line to line (tunnel after tunnel).
    let mut countries = BTreeSet::new();
    for _ in 0..3 {
        let tunnel = connect_as(&gw, "any", &addr).await;
        countries.insert(country_of(exit(&echo_in_tunnel(tunnel, &addr).await)));
    }
    assert_eq!(countries.len(), 3, "{countries:?}");

    // A session keeps its line: every tunnel of it leaves through the same country's
    // gateway, by CONNECT and by SOCKS5 alike (each tunnel is a new upstream connection).
    let first = country_of(exit(
        &echo_in_tunnel(connect_as(&gw, "session-t1", &addr).await, &addr).await,
    ));
    for _ in 0..3 {
        let by_connect = connect_as(&gw, "session-t1", &addr).await;
        assert_eq!(
            country_of(exit(&echo_in_tunnel(by_connect, &addr).await)),
            first
        );
        let by_socks = socks5_as(&gw, "session-t1", target).await;
        assert_eq!(
            country_of(exit(&echo_in_tunnel(by_socks, &addr).await)),
            first
        );
    }
}
