//! The pool without a port: a program that sends its own requests takes a lease (a thread of
//! a service on one line), gets a `reqwest::Proxy` (or a client) for that line, and says how
//! it went; the thread is given back when the lease is dropped.

use std::sync::Arc;

use tokio::sync::watch;

use super::pool::{Lease, Refusal};
use super::shared::Shared;
use super::wish::Wish;
use crate::types::GatewayCountry;

/// The lines of the selected services with the gateway's limits and health, in process (see
/// [`GatewayBuilder::pool`](super::GatewayBuilder::pool)).
///
/// ```no_run
/// # async fn demo(client: opx::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let pool = opx::gateway::Gateway::builder(client).pool().await?;
/// let lease = pool.checkout(None, None).await?; // waits while every thread is busy
/// let http = lease.client()?;                   // one connection, through that line
/// match http.get("https://example.com/").send().await {
///     Ok(_) => lease.succeeded(),
///     Err(_) => lease.failed(), // counts against the line: ejected after repeated failures
/// }
/// # Ok(()) }
/// ```
pub struct ProxyPool {
    shared: Arc<Shared>,
    _stop: watch::Sender<()>,
}

impl std::fmt::Debug for ProxyPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyPool")
            .field("services", &self.services())
            .finish_non_exhaustive()
    }
}

/// Why the pool handed out no line: every thread busy past the queue's limit or timeout, or no
/// line that can serve (none in the country, all ejected or expired).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(String);

impl ProxyPool {
    pub(super) fn new(shared: Arc<Shared>, stop: watch::Sender<()>) -> Self {
        ProxyPool {
            shared,
            _stop: stop,
        }
    }

    /// A line with a free thread (of a gateway `country`, in a sticky `session` if given),
    /// waiting in the queue while every thread is busy.
    pub async fn checkout(
        &self,
        country: Option<GatewayCountry>,
        session: Option<&str>,
    ) -> Result<ProxyLease, Unavailable> {
        let wish = Wish {
            country,
            session: session.map(str::to_owned),
        };
        match self.shared.pool.acquire(&wish, &[]).await {
            Ok(lease) => Ok(ProxyLease {
                lease,
                shared: self.shared.clone(),
            }),
            Err(Refusal::NoLine(why)) => Err(Unavailable(why)),
            Err(Refusal::QueueFull) => Err(Unavailable(
                "every thread is busy and the queue is full".into(),
            )),
            Err(Refusal::QueueTimeout(d)) => Err(Unavailable(format!(
                "every thread stayed busy for {:.1} s",
                d.as_secs_f64()
            ))),
        }
    }

    /// Reads the services again (new purchases, credentials, expiry).
    pub async fn refresh(&self) -> crate::Result<()> {
        self.shared.refresh().await
    }

    /// The use of each service now.
    pub fn services(&self) -> Vec<super::ServiceUse> {
        self.shared.pool.snapshot()
    }
}

/// One thread of a service on one line, until dropped. Its password is in `Debug` never.
pub struct ProxyLease {
    lease: Lease,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ProxyLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyLease")
            .field("service", &self.lease.line.service)
            .field("line", &self.lease.line.label())
            .finish()
    }
}

impl ProxyLease {
    /// The service's id.
    pub fn service(&self) -> &str {
        &self.lease.line.service
    }
    /// The line: `country host:port`.
    pub fn line(&self) -> String {
        self.lease.line.label().to_owned()
    }
    /// A `reqwest::Proxy` for every request through this line, with its credentials.
    pub fn proxy(&self) -> reqwest::Result<reqwest::Proxy> {
        self.lease.line.reqwest_proxy()
    }
    /// A client through this line that keeps no idle connection, so that it holds one
    /// upstream connection at a time, as the lease allows (new exits on rotating services).
    pub fn client(&self) -> reqwest::Result<reqwest::Client> {
        crate::tls::reqwest_builder()
            .proxy(self.proxy()?)
            .pool_max_idle_per_host(0)
            .build()
    }
    /// It worked: the line is healthy.
    pub fn succeeded(self) {
        self.shared.pool.succeeded(&self.lease.line);
    }
    /// It failed through the line (connect error, timeout, 403, 429): counts against it.
    pub fn failed(self) {
        self.shared.pool.failed(&self.lease.line);
    }
    /// The line answered `407`: its service's lines are read again (new credentials), once for
    /// all the leases that saw the old ones; take a new lease after it.
    pub async fn auth_failed(self) {
        let line = self.lease.line.clone();
        drop(self.lease);
        self.shared.reload(&line).await;
    }
}
