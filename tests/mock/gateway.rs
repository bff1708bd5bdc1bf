//! The mock's gateways: lines of the proxy list carry traffic to loopback destinations through
//! a forward proxy per country, which enforces credentials, the whitelist, expiry, the gateway
//! country and the thread limit, and never connects off loopback.

use crate::echo::{Echo, refusing_port, tcp_echo};
use crate::support::*;

use std::time::Duration;

use base64::Engine;
use opx::mock::{GatewayRefusal, MockServer};
use opx::types::{GatewayCountry, ServiceId};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DAY: Duration = Duration::from_secs(86_400);

/// A mock, and an echo server to fetch through its gateways.
async fn with_an_echo() -> (MockServer, Echo) {
    (MockServer::start().await, Echo::start().await)
}

/// A client that sends everything through `proxy_url`, and nothing else (no system proxy).
fn through(proxy_url: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy_url).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The proxy list of a service, as text, in a layout.
async fn list(s: &MockServer, id: &ServiceId, query: &str) -> String {
    let r = get(s, &format!("/services/{id}/proxies{query}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
}

/// `http://...` proxy URLs of every line of a service's (default layout) list.
async fn proxy_urls(s: &MockServer, id: &ServiceId) -> Vec<String> {
    let text = list(s, id, "").await;
    opx::proxies::ProxyLines::new(&text)
        .map(|e| e.unwrap().proxy_url())
        .collect()
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
    /// The gateway's refusal, as a user's test reads it off the answer.
    refusal: Option<GatewayRefusal>,
}

async fn fetch(proxy_url: &str, url: &str) -> Got {
    let r = through(proxy_url).get(url).send().await.expect("transport");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let proxy_status = headers.get("proxy-status").and_then(|v| v.to_str().ok());
    Got {
        refusal: GatewayRefusal::of(status, proxy_status),
        status,
        body: r.text().await.unwrap(),
        headers,
    }
}

fn id_of(v: &serde_json::Value) -> ServiceId {
    serde_json::from_value(v["service_id"].clone()).unwrap()
}

#[tokio::test]
async fn every_line_of_the_list_fetches_a_page_through_its_countrys_gateway() {
    let (s, echo) = with_an_echo().await;
    let v4 = id_of(&buy(&s, IPV4_PLAN).await);
    let v6 = id_of(&buy(&s, IPV6_PLAN).await);
    let port = |c: GatewayCountry| s.gateways().addr(&c).unwrap().port();
    let ports: Vec<u16> = GatewayCountry::KNOWN.into_iter().map(port).collect();
    assert!(
        ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2],
        "{ports:?}"
    );

    // IPv4: one nl line; IPv6 mixed: nl, de, at, each on its gateway's port.
    let text = list(&s, &v4, "").await;
    let e = opx::proxies::ProxyLines::new(&text)
        .next()
        .unwrap()
        .unwrap();
    assert_eq!((e.host(), e.port()), ("127.0.0.1", ports[0]), "{text}");
    let text = list(&s, &v6, "").await;
    let six: Vec<(String, u16)> = opx::proxies::ProxyLines::new(&text)
        .map(|e| e.map(|e| (e.host().to_owned(), e.port())).unwrap())
        .collect();
    let expected: Vec<(String, u16)> = ports.iter().map(|p| ("127.0.0.1".into(), *p)).collect();
    assert_eq!(six, expected);
    // The JSON form and the URL layout point at the same gateways.
    let servers = get(&s, &format!("/services/{v6}/proxies?format=json"))
        .await
        .data()["servers"]
        .clone();
    for (server, c) in servers
        .as_array()
        .unwrap()
        .iter()
        .zip(GatewayCountry::KNOWN)
    {
        assert_eq!(server["country"], c.as_str());
        assert_eq!(
            (server["host"].as_str(), server["port"].as_u64()),
            (Some("127.0.0.1"), Some(u64::from(port(c))))
        );
    }
    let url_layout = list(&s, &v6, "?layout=user_pass_at_host_port&country=de").await;
    assert!(
        url_layout
            .trim_end()
            .ends_with(&format!("@127.0.0.1:{}", ports[1])),
        "{url_layout}"
    );

    for proxy in proxy_urls(&s, &v4)
        .await
        .iter()
        .chain(&proxy_urls(&s, &v6).await)
    {
        let got = fetch(proxy, &echo.url("/page?q=1")).await;
        assert_eq!(got.status, 200, "{}", got.body);
        // The destination saw a loopback peer, the request in origin form, and no credentials.
        let peer: std::net::SocketAddr = got.body.parse().unwrap();
        assert!(peer.ip().is_loopback(), "{peer}");
        assert_eq!(got.headers["x-echo-path"], "/page?q=1");
        assert_eq!(got.headers["x-echo-host"], echo.addr.to_string().as_str());
        assert_eq!(got.headers["x-echo-proxy-authorization"], "absent");
    }
    assert_clean(&s);
}

#[tokio::test]
async fn regenerated_credentials_stop_working_at_once_and_the_new_ones_work() {
    let (s, echo) = with_an_echo().await;
    let svc = buy(&s, IPV4_PLAN).await;
    let id = id_of(&svc);
    let old = proxy_urls(&s, &id).await.remove(0);
    assert_eq!(fetch(&old, &echo.url("/")).await.status, 200);

    let r = call(
        &s,
        Method::POST,
        &format!("/services/{id}/credentials"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refused = fetch(&old, &echo.url("/")).await;
    assert_eq!(refused.status, 407, "{}", refused.body);
    assert_eq!(
        refused.refusal,
        Some(GatewayRefusal::AuthenticationRequired)
    );
    assert_eq!(
        refused.headers["proxy-authenticate"],
        "Basic realm=\"opx-mock\""
    );
    assert!(
        refused.body.contains("outdated proxy credentials"),
        "{}",
        refused.body
    );
    let old_password = svc["auth"]["password"].as_str().unwrap();
    assert!(!refused.body.contains(old_password));
    assert!(!s.gateways().credentials_valid(
        &id,
        svc["auth"]["login"].as_str().unwrap(),
        old_password
    ));

    let new = proxy_urls(&s, &id).await.remove(0);
    assert_ne!(new, old);
    assert_eq!(fetch(&new, &echo.url("/")).await.status, 200);
    // No credentials at all, from an address in no whitelist: 407 too.
    let gw = s.gateways().addr(&GatewayCountry::Nl).unwrap();
    let bare = fetch(&format!("http://{gw}"), &echo.url("/")).await;
    assert_eq!(bare.status, 407, "{}", bare.body);
    assert!(bare.body.contains("whitelist"), "{}", bare.body);
}

#[tokio::test]
async fn an_expired_service_is_refused_and_extending_it_brings_it_back() {
    let (s, echo) = with_an_echo().await;
    let id = id_of(&buy(&s, IPV4_PLAN).await);
    let line = proxy_urls(&s, &id).await.remove(0);
    s.clock().advance(29 * DAY);
    assert_eq!(fetch(&line, &echo.url("/")).await.status, 200);
    s.clock().advance(DAY + Duration::from_secs(1));
    let refused = fetch(&line, &echo.url("/")).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains(&format!("service {id} expired at")),
        "{}",
        refused.body
    );
    assert_eq!(
        refused.headers["proxy-status"],
        "opx-mock; error=http_request_denied"
    );
    assert_eq!(refused.refusal, Some(GatewayRefusal::ServiceDenied));
    let r = call(&s, Method::POST, &format!("/services/{id}/extend"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(fetch(&line, &echo.url("/")).await.status, 200);
}

/// `PUT path` with `body`, which must answer 200.
async fn put_ok(s: &MockServer, path: &str, body: serde_json::Value) {
    let r = call(s, Method::PUT, path, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn set_whitelist(s: &MockServer, id: &ServiceId, ips: &[&str]) {
    let path = format!("/services/{id}/whitelist");
    put_ok(s, &path, json!({ "whitelisted_ips": ips })).await;
}

#[tokio::test]
async fn a_whitelisted_source_needs_no_credentials_and_others_are_refused() {
    let (s, echo) = with_an_echo().await;
    let id = id_of(&buy(&s, IPV4_PLAN).await);
    let bare = list(&s, &id, "?auth=false").await;
    let bare = format!("http://{}", bare.trim_end());
    assert_eq!(fetch(&bare, &echo.url("/")).await.status, 407);

    set_whitelist(&s, &id, &["198.51.100.4", "127.0.0.1"]).await;
    let got = fetch(&bare, &echo.url("/")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    // Credentials that are sent are checked even from a whitelisted address.
    let gw = s.gateways().addr(&GatewayCountry::Nl).unwrap();
    let wrong = fetch(&format!("http://nobody:nothing@{gw}"), &echo.url("/")).await;
    assert_eq!(wrong.status, 407, "{}", wrong.body);
    // A whitelisted address of an expired service is told so.
    s.clock().advance(31 * DAY);
    let expired = fetch(&bare, &echo.url("/")).await;
    assert_eq!(expired.status, 403, "{}", expired.body);
    assert!(expired.body.contains("expired"), "{}", expired.body);
    let r = call(&s, Method::POST, &format!("/services/{id}/extend"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(fetch(&bare, &echo.url("/")).await.status, 200);

    set_whitelist(&s, &id, &["198.51.100.4"]).await;
    let refused = fetch(&bare, &echo.url("/")).await;
    assert_eq!(refused.status, 407, "{}", refused.body);
    assert!(
        refused.body.contains("127.0.0.1 is in none"),
        "{}",
        refused.body
    );
}

/// Buys an IPv6 service and sets its `country` or `rotation` (`PUT /services/{id}/{setting}`).
async fn ipv6_bought_with(s: &MockServer, setting: &str, value: &str) -> ServiceId {
    let v6 = id_of(&buy(s, IPV6_PLAN).await);
    put_ok(
        s,
        &format!("/services/{v6}/{setting}"),
        json!({ setting: value }),
    )
    .await;
    v6
}

#[tokio::test]
async fn a_line_works_only_on_its_countrys_gateway() {
    let (s, echo) = with_an_echo().await;
    let v6 = ipv6_bought_with(&s, "country", "de").await;
    let text = list(&s, &v6, "").await;
    let lines: Vec<_> = opx::proxies::ProxyLines::new(&text)
        .map(Result::unwrap)
        .collect();
    assert_eq!(lines.len(), 1);
    let de = lines[0];
    assert_eq!(
        de.port(),
        s.gateways().addr(&GatewayCountry::De).unwrap().port()
    );
    assert_eq!(fetch(&de.proxy_url(), &echo.url("/")).await.status, 200);
    // The same credentials on the nl gateway.
    let nl = s.gateways().addr(&GatewayCountry::Nl).unwrap();
    let elsewhere = format!(
        "http://{}:{}@{nl}",
        de.login().unwrap(),
        de.password().unwrap()
    );
    let refused = fetch(&elsewhere, &echo.url("/")).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("has no nl gateway (its gateways: de)"),
        "{}",
        refused.body
    );
    // An IPv4 service has the nl gateway only.
    let v4 = id_of(&buy(&s, IPV4_PLAN).await);
    let v4_line = proxy_urls(&s, &v4).await.remove(0);
    let at = s.gateways().addr(&GatewayCountry::At).unwrap().port();
    let nl_port = format!(":{}", nl.port());
    let on_at = v4_line.replace(&nl_port, &format!(":{at}"));
    assert_ne!(on_at, v4_line);
    assert_eq!(fetch(&on_at, &echo.url("/")).await.status, 403);
}

/// Sends `CONNECT target` with these credentials on a new connection to the gateway; returns
/// the connection and the status line and headers of the answer.
async fn connect(
    gw: std::net::SocketAddr,
    target: &str,
    creds: Option<(&str, &str)>,
) -> (TcpStream, String) {
    let mut c = TcpStream::connect(gw).await.unwrap();
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((l, p)) = creds {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{l}:{p}"));
        head.push_str(&format!("Proxy-Authorization: Basic {b64}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = c.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "closed after {:?}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    (c, String::from_utf8(got).unwrap())
}

/// Writes `msg` into a tunnel and reads it back from the TCP echo behind it.
async fn round_trip(c: &mut TcpStream, msg: &[u8]) {
    c.write_all(msg).await.unwrap();
    let mut back = vec![0u8; msg.len()];
    c.read_exact(&mut back).await.unwrap();
    assert_eq!(back, msg);
}

fn creds(svc: &serde_json::Value) -> (String, String) {
    (
        svc["auth"]["login"].as_str().unwrap().to_owned(),
        svc["auth"]["password"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn connect_opens_a_tunnel_to_a_loopback_destination() {
    let s = MockServer::start().await;
    let tcp = tcp_echo().await;
    let svc = buy(&s, IPV4_PLAN).await;
    let (login, password) = creds(&svc);
    let gw = s.gateways().addr(&GatewayCountry::Nl).unwrap();
    let (mut tunnel, head) = connect(gw, &tcp.to_string(), Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    round_trip(&mut tunnel, b"ping through the nl gateway").await;
    round_trip(&mut tunnel, &[0u8, 255, 13, 10, 13, 10]).await;
    assert_eq!(s.gateways().threads_in_use(&id_of(&svc)), 1);

    // localhost is the one name accepted (never resolved: it is loopback by definition).
    let (mut by_name, head) = connect(
        gw,
        &format!("localhost:{}", tcp.port()),
        Some((&login, &password)),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    round_trip(&mut by_name, b"by name").await;

    let (_, head) = connect(gw, &tcp.to_string(), Some((&login, "wrong"))).await;
    assert!(head.starts_with("HTTP/1.1 407"), "{head}");
    assert!(
        head.contains("proxy-authenticate: Basic realm=\"opx-mock\""),
        "{head}"
    );
    let (_, head) = connect(gw, &tcp.to_string(), None).await;
    assert!(head.starts_with("HTTP/1.1 407"), "{head}");
    // A destination where nothing listens: 502, after the checks passed.
    let (_held, closed) = refusing_port();
    let (_, head) = connect(gw, &closed.to_string(), Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    assert!(
        head.contains("proxy-status: opx-mock; error=connection_refused"),
        "{head}"
    );
    s.clock().advance(31 * DAY);
    let (_, head) = connect(gw, &tcp.to_string(), Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
}

#[tokio::test]
async fn destinations_off_loopback_are_refused_before_any_connection() {
    let s = MockServer::start().await;
    let svc = buy(&s, IPV4_PLAN).await;
    let (login, password) = creds(&svc);
    let line = proxy_urls(&s, &id_of(&svc)).await.remove(0);
    let gw = s.gateways().addr(&GatewayCountry::Nl).unwrap();
    // A listener on every interface: connecting to 0.0.0.0 would reach it (it is the classic
    // way around a loopback check), so whether the gateway tried is visible.
    let any = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = any.local_addr().unwrap().port();
    for url in [
        "http://192.0.2.1/".to_owned(),
        format!("http://0.0.0.0:{port}/"),
        format!("http://[::]:{port}/"),
        format!("http://[::ffff:192.0.2.1]:{port}/"),
        "http://example.com/".to_owned(),
        format!("http://127.0.0.1.nip.io:{port}/"),
    ] {
        let got = fetch(&line, &url).await;
        assert_eq!(got.status, 403, "{url}: {}", got.body);
        assert!(
            got.body.contains("is not on loopback"),
            "{url}: {}",
            got.body
        );
        assert!(
            got.body.contains("nothing was connected"),
            "{url}: {}",
            got.body
        );
        assert_eq!(
            got.headers["proxy-status"],
            "opx-mock; error=destination_ip_prohibited"
        );
        assert_eq!(got.refusal, Some(GatewayRefusal::DestinationNotLoopback));
    }
    let (_, head) = connect(gw, &format!("0.0.0.0:{port}"), Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let (_, head) = connect(gw, "192.0.2.1:443", Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    // The gateway answers after connecting, so a connection it made would be queued by now.
    use futures::FutureExt;
    assert!(
        any.accept().now_or_never().is_none(),
        "the gateway connected off loopback"
    );
    assert_eq!(s.gateways().threads_in_use(&id_of(&svc)), 0);
    // Without credentials the request is refused first for that (nothing is connected either).
    let bare = fetch(&format!("http://{gw}"), "http://192.0.2.1/").await;
    assert_eq!(bare.status, 407);
}

#[tokio::test]
async fn more_concurrent_connections_than_threads_are_refused() {
    let s = MockServer::start().await;
    let mut echo = Echo::start().await;
    let tcp = tcp_echo().await;
    let svc = buy(&s, IPV6_PLAN).await;
    let id = id_of(&svc);
    assert!(s.services().set_threads(&id, 2));
    assert_eq!(
        get(&s, &format!("/services/{id}")).await.data()["threads"],
        2
    );
    let (login, password) = creds(&svc);
    let urls = proxy_urls(&s, &id).await;
    assert_eq!(urls.len(), 3);

    // Two requests held by the destination (through nl and de) use both threads...
    let mut held: Vec<_> = urls[..2]
        .iter()
        .map(|u| {
            let (u, target) = (u.clone(), echo.url("/hold"));
            tokio::spawn(async move { fetch(&u, &target).await.status })
        })
        .collect();
    for _ in 0..2 {
        echo.arrival(futures::future::select_all(held.iter_mut()))
            .await;
    }
    assert_eq!(s.gateways().threads_in_use(&id), 2);
    // ...so a third, on any gateway, a plain request or a tunnel, is refused.
    let third = fetch(&urls[2], &echo.url("/")).await;
    assert_eq!(third.status, 429, "{}", third.body);
    assert!(
        third.body.contains("thread limit reached: service")
            && third.body.contains("has 2 threads"),
        "{}",
        third.body
    );
    assert_eq!(
        third.headers["proxy-status"],
        "opx-mock; error=connection_limit_reached"
    );
    assert_eq!(third.refusal, Some(GatewayRefusal::ThreadLimit));
    let at = s.gateways().addr(&GatewayCountry::At).unwrap();
    let (_, head) = connect(at, &tcp.to_string(), Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");

    // Once answered (read through), the threads are free at once: no waiting.
    echo.release(2);
    for h in held {
        assert_eq!(h.await.unwrap(), 200);
    }
    assert_eq!(s.gateways().threads_in_use(&id), 0);
    let (mut t1, head) = connect(at, &tcp.to_string(), Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (mut t2, head) = connect(at, &tcp.to_string(), Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    round_trip(&mut t1, b"one").await;
    round_trip(&mut t2, b"two").await;
    // Open tunnels hold their threads.
    let refused = fetch(&urls[0], &echo.url("/")).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    // A closed tunnel gives its thread back (when the gateway has seen it close).
    drop(t1);
    let t0 = std::time::Instant::now();
    while s.gateways().threads_in_use(&id) > 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the closed tunnel kept its thread"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(fetch(&urls[0], &echo.url("/")).await.status, 200);
    // The limit is the service's: another service has its own threads.
    let other = id_of(&buy(&s, IPV4_PLAN).await);
    let other_line = proxy_urls(&s, &other).await.remove(0);
    let (_t3, head) = connect(at, &tcp.to_string(), Some((&login, &password))).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(fetch(&other_line, &echo.url("/")).await.status, 200);
    round_trip(&mut t2, b"still open").await;
}

#[tokio::test]
async fn a_single_thread_serves_requests_back_to_back() {
    let (s, echo) = with_an_echo().await;
    let id = id_of(&buy(&s, IPV4_PLAN).await);
    assert!(s.services().set_threads(&id, 1));
    let client = through(&proxy_urls(&s, &id).await.remove(0));
    // The thread is given back before the client has the whole answer, so the next request
    // (on the same kept-alive connection or a new one) never finds it taken.
    for i in 0..100 {
        let r = client.get(echo.url(&format!("/{i}"))).send().await.unwrap();
        assert_eq!(r.status(), 200, "request {i}: {}", r.text().await.unwrap());
        r.text().await.unwrap();
    }
    assert_eq!(s.gateways().threads_in_use(&id), 0);
}

#[tokio::test]
async fn the_gateways_serve_every_account_and_requests_without_a_proxy_are_explained() {
    let (s, echo) = with_an_echo().await;
    let tenant = s.accounts().add(10_000);
    let theirs = buy_as(&s, &tenant.token, IPV4_PLAN).await;
    let (login, password) = creds(&theirs);
    assert!(
        s.gateways()
            .credentials_valid(&id_of(&theirs), &login, &password)
    );
    let gw = s.gateways().addr(&GatewayCountry::Nl).unwrap();
    let got = fetch(&format!("http://{login}:{password}@{gw}"), &echo.url("/")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    // Asked directly (origin form), the gateway says what it is.
    let direct = reqwest::get(format!("http://{gw}/")).await.unwrap();
    assert_eq!(direct.status(), 400);
    assert!(
        direct
            .text()
            .await
            .unwrap()
            .contains("this is a forward proxy")
    );
}

/// The exit address the echo saw for a GET through `proxy`.
async fn exit_of(proxy: &str, echo: &Echo) -> std::net::Ipv4Addr {
    let got = fetch(proxy, &echo.url("/")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    match got.body.parse::<std::net::SocketAddr>().unwrap().ip() {
        std::net::IpAddr::V4(ip) => ip,
        other => panic!("an IPv6 exit: {other}"),
    }
}

#[tokio::test]
async fn connections_leave_from_rotating_loopback_exits_in_the_countrys_range() {
    let (s, echo) = with_an_echo().await;
    // IPv4 is `instant`: every connection leaves from another nl address.
    let v4 = id_of(&buy(&s, IPV4_PLAN).await);
    let nl = proxy_urls(&s, &v4).await.remove(0);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let ip = exit_of(&nl, &echo).await;
        assert!(
            opx::mock::exit_range(&GatewayCountry::Nl).contains(&ip),
            "{ip}"
        );
        seen.insert(ip);
    }
    assert_eq!(seen.len(), 4, "{seen:?}");

    // IPv6 with a 10-minute rotation: the de exit holds for 10 minutes of the mock's clock.
    let v6 = ipv6_bought_with(&s, "rotation", "10min").await;
    let de = proxy_urls(&s, &v6).await.remove(1);
    let first = exit_of(&de, &echo).await;
    assert!(
        opx::mock::exit_range(&GatewayCountry::De).contains(&first),
        "{first}"
    );
    s.clock().advance(Duration::from_secs(599));
    assert_eq!(exit_of(&de, &echo).await, first);
    s.clock().advance(Duration::from_secs(1));
    let next = exit_of(&de, &echo).await;
    assert_ne!(next, first);
    assert_eq!(exit_of(&de, &echo).await, next);
}
