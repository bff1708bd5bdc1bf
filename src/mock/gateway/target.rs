//! Where a gateway request goes: the destination (loopback only, never resolved) and the
//! connection to it.

use super::refusal::GatewayRefusal;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http::{Method, Request};
use tokio::net::TcpStream;

use super::access::Refusal;

/// How long connecting to a destination may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Where a request goes.
pub(super) struct Target {
    /// The host as the client wrote it (brackets removed).
    pub(super) host: String,
    pub(super) port: u16,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The destination of a proxy request: `CONNECT host:port`, or an absolute `http://` URI.
pub(super) fn target_of<B>(req: &Request<B>) -> Result<Target, Refusal> {
    let bad = |m: String| Refusal::new(GatewayRefusal::NotAProxyRequest, m);
    let uri = req.uri();
    let authority = uri.authority().ok_or_else(|| {
        bad(format!(
            "this is a forward proxy: send an absolute URI (GET http://host:port/path) or \
             CONNECT host:port, not {} {uri}",
            req.method()
        ))
    })?;
    let port = if req.method() == Method::CONNECT {
        authority
            .port_u16()
            .ok_or_else(|| bad(format!("CONNECT {authority}: a port is required")))?
    } else {
        match uri.scheme_str() {
            Some("http") => authority.port_u16().unwrap_or(80),
            _ => {
                return Err(bad(format!(
                    "only http:// URIs are forwarded ({uri}); use CONNECT for anything else"
                )));
            }
        }
    };
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok(Target {
        host: host.to_owned(),
        port,
    })
}

/// The loopback addresses a destination stands for, or `None` when it is not on loopback.
/// Names are never resolved: `localhost` is the only name accepted.
pub(super) fn loopback_addrs(target: &Target) -> Option<Vec<SocketAddr>> {
    let host = target.host.strip_suffix('.').unwrap_or(&target.host);
    if host.eq_ignore_ascii_case("localhost") {
        return Some(vec![
            SocketAddr::from((Ipv4Addr::LOCALHOST, target.port)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, target.port)),
        ]);
    }
    let ip = target.host.parse::<IpAddr>().ok()?.to_canonical();
    ip.is_loopback()
        .then(|| vec![SocketAddr::from((ip, target.port))])
}

/// Connects to the first address that answers, from `source` when it is an IPv4 one.
pub(super) async fn connect(
    target: &Target,
    addrs: &[SocketAddr],
    source: Ipv4Addr,
) -> Result<TcpStream, Refusal> {
    let mut last = String::from("no address");
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, connect_from(*addr, source)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => {
                return Err(Refusal::new(
                    GatewayRefusal::DestinationTimeout,
                    format!("connecting to {target} timed out"),
                ));
            }
        }
    }
    Err(Refusal::new(
        GatewayRefusal::DestinationRefused,
        format!("cannot connect to {target}: {last}"),
    ))
}

/// A connection to `addr`, bound to `source` first when `addr` is IPv4.
async fn connect_from(addr: SocketAddr, source: Ipv4Addr) -> std::io::Result<TcpStream> {
    if !addr.is_ipv4() {
        return TcpStream::connect(addr).await;
    }
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str) -> Target {
        Target {
            host: host.to_owned(),
            port: 80,
        }
    }

    #[test]
    fn only_loopback_destinations_are_accepted() {
        for ok in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "::ffff:127.0.0.1",
            "localhost",
            "LOCALHOST",
            "localhost.",
        ] {
            assert!(loopback_addrs(&target(ok)).is_some(), "{ok}");
        }
        for refused in [
            "0.0.0.0",
            "::",
            "192.0.2.1",
            "10.0.0.1",
            "::ffff:192.0.2.1",
            "example.com",
            "127.0.0.1.nip.io",
            "foo.localhost",
            "",
        ] {
            assert!(loopback_addrs(&target(refused)).is_none(), "{refused}");
        }
        let all = loopback_addrs(&target("localhost")).unwrap();
        assert!(all.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
    }
}
