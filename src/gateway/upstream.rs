//! A tunnel through one upstream line: a new TCP connection to the line's gateway, `CONNECT
//! target` with the line's credentials, and the connection itself once it answers `200`.
//!
//! The `CONNECT` is written and its answer's head read here, by hand: it is one request and one
//! status line per tunnel, and hyper's client for it cost a connection task, an upgrade and a
//! boxed stream per tunnel (a new tunnel per request is the gateway's hottest path).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::StatusCode;
use http::uri::Authority;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::counting::{Counting, Meters};
use super::lines::Line;

/// The longest `CONNECT` answer head read.
const MAX_HEAD: usize = 16 * 1024;

/// An established tunnel: bytes both ways to the target, counted.
pub(crate) struct Tunnel {
    /// Bytes of the target that came in the same read as the answer's head.
    early: Vec<u8>,
    io: Counting<TcpStream>,
}

impl AsyncRead for Tunnel {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.early.is_empty() {
            let n = self.early.len().min(buf.remaining());
            buf.put_slice(&self.early[..n]);
            self.early.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tunnel {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

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
    let failed = |e: io::Error| Failure::Connect(e.to_string());
    // What goes into the request line: a host:port and nothing else (no CR/LF from a SOCKS5
    // client's name).
    let target = target
        .parse::<Authority>()
        .map_err(|e| Failure::Connect(format!("{target:?} is not host:port: {e}")))?;
    let tcp = TcpStream::connect(line.address()).await.map_err(failed)?;
    let _ = tcp.set_nodelay(true);
    let mut io = Counting::new(tcp, meters);
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = line.authorization() {
        head.push_str("Proxy-Authorization: ");
        head.push_str(auth.to_str().unwrap_or_default());
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    io.write_all(head.as_bytes()).await.map_err(failed)?;
    let mut read = Vec::with_capacity(1024);
    let end = loop {
        if let Some(at) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if read.len() >= MAX_HEAD {
            return Err(Failure::Connect(
                "the CONNECT answer's head is too long".into(),
            ));
        }
        if io.read_buf(&mut read).await.map_err(failed)? == 0 {
            return Err(Failure::Connect(
                "the line closed the connection before answering CONNECT".into(),
            ));
        }
    };
    let status = status_of(&read[..end])
        .ok_or_else(|| Failure::Connect("the CONNECT answer is not HTTP/1".into()))?;
    if status != StatusCode::OK {
        return Err(Failure::Status(status));
    }
    read.drain(..end);
    Ok(Tunnel { early: read, io })
}

/// The status of an HTTP/1 answer's head (`HTTP/1.1 200 Connection established`).
fn status_of(head: &[u8]) -> Option<StatusCode> {
    let rest = head.strip_prefix(b"HTTP/1.")?;
    if rest.get(1) != Some(&b' ') || !matches!(rest.get(5), Some(b' ' | b'\r')) {
        return None;
    }
    StatusCode::from_bytes(rest.get(2..5)?).ok()
}

/// Closes our side of a finished tunnel and waits (at most `timeout`) for the upstream to
/// close its side.
pub(crate) async fn close_and_drain(mut tunnel: Tunnel, timeout: Duration) {
    let drain = async {
        let _ = tunnel.shutdown().await;
        let mut sink = [0u8; 1024];
        while matches!(tunnel.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(timeout, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use tokio::net::TcpListener;

    fn meters() -> Meters {
        Meters {
            sent: Default::default(),
            received: Default::default(),
            traffic: Arc::default(),
        }
    }

    /// A line's gateway that answers one `CONNECT` with `answer` (in one write) and hands
    /// back the request head it read.
    async fn line_answering(answer: &'static [u8]) -> (Line, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(s.read_u8().await.unwrap());
            }
            s.write_all(answer).await.unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest).await;
            String::from_utf8(head).unwrap()
        });
        (Line::on_loopback(port, "alice", "pw"), served)
    }

    #[tokio::test]
    async fn a_tunnel_sends_one_connect_with_the_credentials_and_keeps_early_bytes() {
        let (line, served) =
            line_answering(b"HTTP/1.1 200 Connection established\r\n\r\n220 banner\r\n").await;
        let mut tunnel = open(&line, "127.0.0.1:25", Duration::from_secs(5), meters())
            .await
            .unwrap();
        let mut banner = [0u8; 12];
        tunnel.read_exact(&mut banner).await.unwrap();
        assert_eq!(&banner, b"220 banner\r\n");
        tunnel.shutdown().await.unwrap();
        let head = served.await.unwrap();
        // base64("alice:pw")
        assert_eq!(
            head,
            "CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\
             Proxy-Authorization: Basic YWxpY2U6cHc=\r\n\r\n"
        );
    }

    /// A line that accepts the connection and then never answers: the tunnel fails with
    /// `Timeout` after the upstream timeout on tokio's timer (paused here: no real wait), which
    /// the pool counts against the line like a connect error.
    #[tokio::test(start_paused = true)]
    async fn a_line_that_stops_answering_times_out_without_waiting_in_real_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let line = Line::on_loopback(listener.local_addr().unwrap().port(), "alice", "pw");
        let (accepted, mut was_accepted) = tokio::sync::oneshot::channel();
        let hung = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let _ = accepted.send(());
            std::future::pending::<()>().await;
            drop(s);
        });
        let started = std::time::Instant::now();
        let failed = open(&line, "127.0.0.1:25", Duration::from_secs(600), meters()).await;
        assert!(
            matches!(failed, Err(Failure::Timeout)),
            "{:?}",
            failed.err()
        );
        assert_eq!(failed.err().map(|f| f.kind()), Some("timeout"));
        assert!(started.elapsed() < Duration::from_secs(60));
        assert!(
            was_accepted.try_recv().is_ok(),
            "the line took the connection"
        );
        hung.abort();
    }

    #[tokio::test]
    async fn a_refused_connect_is_its_status_and_a_bad_target_is_never_sent() {
        let (line, _) = line_answering(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await;
        let refused = open(&line, "127.0.0.1:25", Duration::from_secs(5), meters()).await;
        assert!(matches!(refused, Err(Failure::Status(s)) if s.as_u16() == 407));
        let injected = open(&line, "a\r\nX: y:1", Duration::from_secs(5), meters()).await;
        assert!(matches!(injected, Err(Failure::Connect(_))));
    }

    #[test]
    fn the_status_of_a_connect_answer_is_read_from_its_first_line() {
        let ok = b"HTTP/1.1 200 Connection established\r\n\r\n";
        assert_eq!(status_of(ok), Some(StatusCode::OK));
        assert_eq!(
            status_of(b"HTTP/1.0 407\r\n\r\n"),
            Some(StatusCode::from_u16(407).unwrap())
        );
        for bad in [
            &b"HTTP/2 200 OK\r\n"[..],
            b"HTTP/1.1 20 OK\r\n",
            b"SSH-2.0\r\n",
            b"",
        ] {
            assert_eq!(status_of(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
