//! Active probes: a tunnel to a probe target through every line (ejected ones too), each on a
//! free thread of its service; a failure counts against the line, a success re-admits it
//! before its backoff ends.

use std::sync::Arc;

use super::counting::Traffic;
use super::shared::Shared;
use super::upstream;

/// The `host:port` a probe URL names (`http://` port 80, `https://` 443 by default).
pub(crate) fn target_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    let port = u.port_or_known_default()?;
    matches!(u.scheme(), "http" | "https").then(|| {
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    })
}

/// Probes every line once; how many answered.
pub(crate) async fn probe_all(g: &Shared, target: &str) -> usize {
    let mut alive = 0;
    for line in g.pool.lines() {
        let Some(lease) = g.pool.try_line(&line) else {
            continue;
        };
        let meters = g.metrics.meters(&line, Arc::new(Traffic::default()));
        match upstream::open(&lease.line, target, g.upstream_timeout, meters).await {
            Ok(tunnel) => {
                // The lease ends once the upstream has closed the tunnel too.
                upstream::close_and_drain(tunnel, g.upstream_timeout).await;
                g.pool.succeeded(&line);
                alive += 1;
            }
            Err(f) => {
                g.metrics.error(&line, f.kind());
                if f.blames_line() {
                    g.pool.failed(&line);
                }
            }
        }
    }
    alive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_urls_name_a_tunnel_target() {
        assert_eq!(
            target_of("https://example.com/").as_deref(),
            Some("example.com:443")
        );
        assert_eq!(
            target_of("http://127.0.0.1:8000/x").as_deref(),
            Some("127.0.0.1:8000")
        );
        assert_eq!(target_of("http://[::1]:80/").as_deref(), Some("[::1]:80"));
        assert_eq!(target_of("ftp://example.com/"), None);
        assert_eq!(target_of("not a url"), None);
    }
}
