//! What a proxy answered to a `CONNECT` it refused: reqwest (hyper-util) tells a `407` apart
//! and no other status, so a refused tunnel is asked again by hand, once, for its status line
//! and its `Proxy-Status` header (RFC 9209).

use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proxies::ProxyEndpointBuf;

/// The most of a refusal's head that is read.
const MAX_HEAD: usize = 8 * 1024;

/// A proxy's refusal of a `CONNECT`: its status and, when it sent one, its `Proxy-Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// The status of the answer (`403`, `429`, `502`, ...).
    pub status: u16,
    /// The `Proxy-Status` header as sent (`opx-mock; error=destination_ip_prohibited`).
    pub proxy_status: Option<String>,
}

/// Sends `CONNECT host:port` for `target` through `endpoint` (with its credentials) and reads
/// the answer's head: the refusal, or `None` when the tunnel opens now, or the answer is not
/// HTTP/1 or does not come within `timeout`.
pub(super) async fn refusal(
    endpoint: &ProxyEndpointBuf,
    target: &url::Url,
    timeout: Duration,
) -> Option<Refusal> {
    tokio::time::timeout(timeout, ask(endpoint, target))
        .await
        .ok()
        .flatten()
}

async fn ask(endpoint: &ProxyEndpointBuf, target: &url::Url) -> Option<Refusal> {
    let authority = format!("{}:{}", target.host_str()?, target.port_or_known_default()?);
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(login) = endpoint.login() {
        let pair = format!("{login}:{}", endpoint.password().unwrap_or(""));
        let basic = base64::engine::general_purpose::STANDARD.encode(pair);
        head.push_str(&format!("Proxy-Authorization: Basic {basic}\r\n"));
    }
    head.push_str("\r\n");
    let mut io = TcpStream::connect((endpoint.host(), endpoint.port()))
        .await
        .ok()?;
    io.write_all(head.as_bytes()).await.ok()?;
    let mut read = Vec::with_capacity(1024);
    while !read.windows(4).any(|w| w == b"\r\n\r\n") && read.len() < MAX_HEAD {
        if io.read_buf(&mut read).await.ok()? == 0 {
            break;
        }
    }
    parse(&read)
}

/// The refusal a `CONNECT` answer's head says, `None` for a `2xx` or what is not HTTP/1.
fn parse(head: &[u8]) -> Option<Refusal> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status: u16 = lines
        .next()?
        .strip_prefix("HTTP/1.")?
        .get(2..5)?
        .parse()
        .ok()?;
    if (200..300).contains(&status) {
        return None;
    }
    let proxy_status = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-status"))
        .map(|(_, value)| value.trim().to_owned());
    Some(Refusal {
        status,
        proxy_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_its_status_and_proxy_status() {
        let head = b"HTTP/1.1 403 Forbidden\r\nProxy-Status: opx-mock; error=destination_ip_prohibited\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            parse(head),
            Some(Refusal {
                status: 403,
                proxy_status: Some("opx-mock; error=destination_ip_prohibited".into()),
            })
        );
        assert_eq!(
            parse(b"HTTP/1.0 429 Too Many\r\n\r\n").map(|r| (r.status, r.proxy_status)),
            Some((429, None))
        );
        assert_eq!(parse(b"HTTP/1.1 200 Connection established\r\n\r\n"), None);
        for junk in [&b""[..], b"SSH-2.0\r\n\r\n", b"HTTP/1.1 4x3 No\r\n\r\n"] {
            assert_eq!(parse(junk), None);
        }
    }
}
