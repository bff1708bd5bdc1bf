//! A tunnel through one upstream line: a new TCP connection to the line's gateway, `CONNECT
//! target` with the line's credentials, and the upgraded stream once it answers `200`.

use std::time::Duration;

use http::{Method, Request, StatusCode, header};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::counting::{Counting, Meters};
use super::lines::Line;

/// An established tunnel: bytes both ways to the target, counted.
pub(crate) type Tunnel = TokioIo<Upgraded>;

/// Why a tunnel could not be opened.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The line's gateway could not be connected (or closed the connection).
    Connect(String),
    /// The line did not answer in time.
    Timeout,
    /// The line answered `CONNECT` with another status than `200`.
    Status(StatusCode),
}

impl Failure {
    /// The `kind` label of the errors metric.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Failure::Connect(_) => "connect",
            Failure::Timeout => "timeout",
            Failure::Status(StatusCode::PROXY_AUTHENTICATION_REQUIRED) => "auth_407",
            Failure::Status(StatusCode::FORBIDDEN) => "forbidden_403",
            Failure::Status(StatusCode::TOO_MANY_REQUESTS) => "limit_429",
            Failure::Status(s) if is_destination(*s) => "destination",
            Failure::Status(_) => "status",
        }
    }

    /// Whether the line is to blame (not the destination, which any line would reach alike).
    pub(crate) fn blames_line(&self) -> bool {
        !matches!(self, Failure::Status(s) if is_destination(*s))
    }
}

/// The statuses by which a proxy says the destination failed, not itself.
fn is_destination(s: StatusCode) -> bool {
    matches!(s, StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT)
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(e) => write!(f, "cannot connect: {e}"),
            Failure::Timeout => f.write_str("no answer in time"),
            Failure::Status(s) => write!(f, "answered {s}"),
        }
    }
}

/// Opens a tunnel to `target` (`host:port`) through `line`, within `timeout`.
pub(crate) async fn open(
    line: &Line,
    target: &str,
    timeout: Duration,
    meters: Meters,
) -> Result<Tunnel, Failure> {
    tokio::time::timeout(timeout, connect(line, target, meters))
        .await
        .unwrap_or(Err(Failure::Timeout))
}

async fn connect(line: &Line, target: &str, meters: Meters) -> Result<Tunnel, Failure> {
    let tcp = TcpStream::connect(line.address())
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let io = TokioIo::new(Counting::new(tcp, meters));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let mut req = Request::builder()
        .method(Method::CONNECT)
        .uri(target)
        .header(header::HOST, target);
    if let Some(auth) = line.authorization() {
        req = req.header(header::PROXY_AUTHORIZATION, auth);
    }
    let req = req
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| Failure::Connect(e.to_string()))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    if res.status() != StatusCode::OK {
        return Err(Failure::Status(res.status()));
    }
    let upgraded = hyper::upgrade::on(res)
        .await
        .map_err(|e| Failure::Connect(e.to_string()))?;
    Ok(TokioIo::new(upgraded))
}

/// Closes our side of a finished tunnel and waits (at most `timeout`) for the upstream to
/// close its side.
pub(crate) async fn close_and_drain(mut tunnel: Tunnel, timeout: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let drain = async {
        let _ = tunnel.shutdown().await;
        let mut sink = [0u8; 1024];
        while matches!(tunnel.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(timeout, drain).await;
}
