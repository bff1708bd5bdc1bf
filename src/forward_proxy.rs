//! What both forward proxies of this crate share (the mock's gateways and `opx::gateway`):
//! serving a client connection, tasks that stop with their server, the headers that are not
//! forwarded, `Proxy-Authorization: Basic` read, and a forwarded answer's body that holds a
//! guard (a thread, a lease) until it has been read through.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine;
use http::{HeaderMap, Request, Response, header};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Runs `fut` until it ends or `stop`'s sender is dropped (the server shut down).
pub(crate) fn spawn_until<F>(mut stop: watch::Receiver<()>, fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        tokio::select! {
            () = fut => {}
            _ = stop.changed() => {}
        }
    });
}

/// Serves one HTTP/1 client connection (kept alive, upgrades allowed for `CONNECT`): each
/// request is answered by `handle`.
pub(crate) async fn serve_http1<H, Fut, B>(stream: TcpStream, peer: SocketAddr, handle: H)
where
    H: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = hyper::service::service_fn(move |req| {
        let answer = handle(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
    if let Err(e) = served {
        tracing::debug!("proxy connection from {peer}: {e}");
    }
}

/// The first read buffer of a relay: what an idle tunnel holds each way.
const RELAY_FIRST: usize = 8 * 1024;
/// The largest read buffer of a relay.
const RELAY_MAX: usize = 256 * 1024;

/// Copies `from` into `to` until `from` ends (nothing is shut down). The read buffer starts at
/// 8 KiB, so an idle tunnel holds no more, and doubles each time a read fills it, up to
/// 256 KiB: a bulk transfer takes a few system calls per MiB instead of 128 (as hyper's own
/// adaptive reads do; `tokio::io::copy` stays at 8 KiB).
pub(crate) async fn relay<R, W>(from: &mut R, to: &mut W) -> std::io::Result<u64>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
    W: tokio::io::AsyncWrite + Unpin + ?Sized,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; RELAY_FIRST];
    let mut total = 0u64;
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        to.write_all(&buf[..n]).await?;
        to.flush().await?;
        total += n as u64;
        if n == buf.len() && buf.len() < RELAY_MAX {
            buf.resize(buf.len() * 2, 0);
        }
    }
}

/// Relays `a` and `b` both ways (with [`relay`]): when one side ends, the other is told (its
/// write side shut down); it ends when both have, or at the first error.
pub(crate) async fn relay_both<A, B>(a: A, b: B) -> std::io::Result<()>
where
    A: tokio::io::AsyncRead + tokio::io::AsyncWrite,
    B: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    use tokio::io::AsyncWriteExt;
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let up = async {
        relay(&mut ar, &mut bw).await?;
        bw.shutdown().await
    };
    let down = async {
        relay(&mut br, &mut aw).await?;
        aw.shutdown().await
    };
    tokio::try_join!(up, down).map(|_| ())
}

/// Headers that concern one connection only (RFC 9110 7.6.1), and the proxy credentials.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    for name in listed {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// The `Proxy-Authorization: Basic` credentials: none, or (login, password), or why they
/// cannot be read.
pub(crate) fn basic_credentials(
    headers: &HeaderMap,
) -> Option<Result<(String, String), &'static str>> {
    let value = headers.get(header::PROXY_AUTHORIZATION)?;
    let read = || {
        let value = value.to_str().ok()?.trim();
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (login, password) = decoded.split_once(':')?;
        Some((login.to_owned(), password.to_owned()))
    };
    Some(read().ok_or("unreadable Proxy-Authorization (expected Basic base64(login:password))"))
}

/// A forwarded answer's body, holding `guard` until the last frame has been read from the
/// destination (before the client can have it: a client that reads an answer through and
/// sends the next request finds the guard released).
pub(crate) struct Held<G> {
    body: Incoming,
    guard: Option<G>,
}

impl<G> Held<G> {
    pub(crate) fn new(body: Incoming, guard: G) -> Self {
        Held {
            body,
            guard: Some(guard),
        }
    }
}

impl<G: Unpin> hyper::body::Body for Held<G> {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) || self.body.is_end_stream() {
            self.guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[tokio::test]
    async fn a_relay_carries_every_byte_with_a_growing_buffer() {
        let data: Vec<u8> = (0..3 * RELAY_MAX + 7).map(|i| (i % 251) as u8).collect();
        let mut to = Vec::new();
        let n = relay(&mut data.as_slice(), &mut to).await.unwrap();
        assert_eq!(n as usize, data.len());
        assert_eq!(to, data);
    }

    #[test]
    fn hop_by_hop_headers_and_credentials_are_not_forwarded() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("proxy-authorization", "Basic YWxpY2U6cDp3"),
            ("proxy-connection", "keep-alive"),
            ("accept", "*/*"),
        ] {
            h.insert(k, HeaderValue::from_static(v));
        }
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["accept"]);
    }

    #[test]
    fn basic_credentials_are_read_or_refused() {
        let mut h = HeaderMap::new();
        assert!(basic_credentials(&h).is_none());
        // "alice:p:w" -> the password may contain ':'.
        h.insert(
            header::PROXY_AUTHORIZATION,
            HeaderValue::from_static("Basic YWxpY2U6cDp3"),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(Ok(("alice".to_owned(), "p:w".to_owned())))
        );
        for bad in ["Bearer YWxpY2U6cDp3", "Basic !!!", "Basic YWxpY2U="] {
            h.insert(header::PROXY_AUTHORIZATION, HeaderValue::from_static(bad));
            assert!(matches!(basic_credentials(&h), Some(Err(_))), "{bad}");
        }
    }
}
