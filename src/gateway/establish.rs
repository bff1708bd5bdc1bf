//! A tunnel to a target through the pool: a line, a new upstream connection, and on failure
//! another line (a `407` first reads the service's lines again, for new credentials), before
//! the client is answered. Nothing of the client's request has been sent at this point, so
//! trying again never sends anything twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;

use super::counting::Traffic;
use super::pool::{Lease, Refusal};
use super::shared::Shared;
use super::upstream::{self, Failure, Tunnel};
use super::wish::Wish;

/// Lines tried for one tunnel before the client gets an error.
const ATTEMPTS: usize = 3;

/// A tunnel, the lease it holds, and its byte counts.
pub(crate) struct Established {
    pub(crate) tunnel: Tunnel,
    pub(crate) lease: Lease,
    pub(crate) traffic: Arc<Traffic>,
}

/// Why there is no tunnel.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The pool handed out no line.
    Pool(Refusal),
    /// Every line tried failed; the last one's label and failure.
    Upstream(String, Failure),
    /// The destination failed (the line answered `502`/`504`).
    Destination(String, StatusCode),
}

impl Refused {
    /// The status a client of the HTTP proxy gets.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refused::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            Refused::Upstream(..) => StatusCode::BAD_GATEWAY,
            Refused::Destination(_, s) => *s,
        }
    }

    /// The RFC 9209 `Proxy-Status` error type.
    pub(crate) fn proxy_status(&self) -> &'static str {
        match self {
            Refused::Pool(_) => "connection_limit_reached",
            Refused::Upstream(..) => "proxy_internal_error",
            Refused::Destination(..) => "destination_unavailable",
        }
    }

    /// One line for the client (no credentials).
    pub(crate) fn message(&self) -> String {
        match self {
            Refused::Pool(Refusal::QueueFull) => {
                "every thread of the selected services is busy and the queue is full".to_owned()
            }
            Refused::Pool(Refusal::QueueTimeout(d)) => format!(
                "every thread of the selected services stayed busy for {}",
                humanize(*d)
            ),
            Refused::Pool(Refusal::NoLine(why)) => why.clone(),
            Refused::Upstream(line, f) => {
                format!("no line could open the connection (last: {line}: {f})")
            }
            Refused::Destination(line, s) => {
                format!("the destination could not be reached through {line} ({s})")
            }
        }
    }
}

fn humanize(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A tunnel to `target` (`host:port`) for `wish`.
pub(crate) async fn establish(
    g: &Shared,
    wish: &Wish,
    target: &str,
) -> Result<Established, Refused> {
    let mut tried = Vec::new();
    let mut reloaded: Vec<String> = Vec::new();
    let mut last = None;
    while tried.len() < ATTEMPTS {
        let lease = match g.pool.acquire(wish, &tried).await {
            Ok(lease) => lease,
            Err(r) => return Err(refused(g, r, last)),
        };
        let traffic = Arc::new(Traffic::default());
        let meters = g.metrics.meters(&lease.line, traffic.clone());
        let started = Instant::now();
        match upstream::open(&lease.line, target, g.upstream_timeout, meters).await {
            Ok(tunnel) => {
                g.pool.succeeded(&lease.line);
                g.metrics.carried(&lease.line, started.elapsed());
                return Ok(Established {
                    tunnel,
                    lease,
                    traffic,
                });
            }
            Err(f) => {
                let line = lease.line.clone();
                drop(lease);
                g.metrics.error(&line, f.kind());
                if let Failure::Status(s) = f
                    && !f.blames_line()
                {
                    return Err(Refused::Destination(line.label().to_owned(), s));
                }
                let auth = matches!(
                    f,
                    Failure::Status(StatusCode::PROXY_AUTHENTICATION_REQUIRED)
                );
                if auth && !reloaded.contains(&line.service) {
                    reloaded.push(line.service.clone());
                    g.reload(&line).await;
                    continue;
                }
                g.pool.failed(&line);
                tried.push(line.key());
                last = Some((line.label().to_owned(), f));
            }
        }
    }
    let (line, f) = last.expect("a failure per line tried");
    Err(Refused::Upstream(line, f))
}

/// The pool's refusal, or the last line's failure when the pool ran out of lines to try.
fn refused(g: &Shared, r: Refusal, last: Option<(String, Failure)>) -> Refused {
    match (r, last) {
        (Refusal::NoLine(_), Some((line, f))) => Refused::Upstream(line, f),
        (r, _) => {
            g.metrics.refused(match &r {
                Refusal::QueueFull => "queue_full",
                Refusal::QueueTimeout(_) => "queue_timeout",
                Refusal::NoLine(_) => "no_line",
            });
            Refused::Pool(r)
        }
    }
}
