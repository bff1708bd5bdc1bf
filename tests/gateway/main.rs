//! `opx::gateway`: one local HTTP + SOCKS5 proxy in front of the services of an account, on
//! the mock (whose gateways enforce credentials, threads and expiry, and rotate exits).

#[path = "../support/mod.rs"]
mod support;

#[path = "../support/echo.rs"]
mod echo;

#[path = "../support/capture.rs"]
mod capture;

mod carry;
mod in_process;
mod live;
mod pool;
mod scenario;
mod usage;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use opx::gateway::{Gateway, GatewayBuilder, RunningGateway};
use opx::mock::MockServer;
use opx::types::GatewayCountry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A mock with a service of each plan (their ids, in order), and a loopback echo.
pub async fn mock_with<const N: usize>(
    plans: [&str; N],
) -> (MockServer, echo::Echo, [opx::types::ServiceId; N]) {
    let s = MockServer::start().await;
    let echo = echo::Echo::start().await;
    let mut ids = Vec::new();
    for plan in plans {
        let id = support::buy_id(&s, plan).await;
        ids.push(opx::types::ServiceId::new(id).unwrap());
    }
    let ids = ids
        .try_into()
        .unwrap_or_else(|_| unreachable!("one id per plan"));
    (s, echo, ids)
}

/// The body of a request's answer.
pub async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// A gateway on `127.0.0.1:0` over the mock's account, set up by `f`.
pub async fn gateway(
    s: &MockServer,
    f: impl FnOnce(GatewayBuilder) -> GatewayBuilder,
) -> RunningGateway {
    let b = Gateway::builder(s.client()).listen("127.0.0.1:0".parse().unwrap());
    f(b).serve().await.unwrap()
}

/// A client that sends everything through `proxy_url`.
pub fn through(proxy_url: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy_url).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The status and body of a GET of `url` through `proxy_url`.
pub async fn get_through(proxy_url: &str, url: &str) -> (u16, String) {
    let r = through(proxy_url).get(url).send().await.expect("transport");
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The exit address an echo answer names.
pub fn exit(body: &str) -> Ipv4Addr {
    match body.parse::<SocketAddr>().map(|a| a.ip()) {
        Ok(IpAddr::V4(ip)) => ip,
        other => panic!("not an echo answer: {body:?} ({other:?})"),
    }
}

/// The gateway country whose exit range holds `ip`.
pub fn country_of(ip: Ipv4Addr) -> GatewayCountry {
    GatewayCountry::KNOWN
        .into_iter()
        .find(|c| opx::mock::exit_range(c).contains(&ip))
        .unwrap_or_else(|| panic!("{ip} is in no exit range"))
}

/// The `proxy-status`/first line of a refusal, for messages.
pub async fn round_trip(stream: &mut TcpStream, msg: &[u8]) {
    stream.write_all(msg).await.unwrap();
    let mut back = vec![0u8; msg.len()];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(back, msg);
}

/// `CONNECT target` on a new connection to the gateway: the status line's code and the stream.
pub async fn connect(gw: &RunningGateway, target: &str) -> (u16, TcpStream) {
    let mut s = TcpStream::connect(gw.addr()).await.unwrap();
    let req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        if s.read(&mut b).await.unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, s)
}
