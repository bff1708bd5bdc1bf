//! A serving gateway: what its connections share, the accept loop that tells SOCKS5 from
//! HTTP by the first byte, the live services (reload after a `407`, refresh), and its handle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::access_log::AccessLog;
use super::lines::{self, Line, Selection};
use super::metrics::Metrics;
use super::pool::{Pool, ServiceUse};
use super::{http_in, socks_in};
use crate::Client;
pub(crate) use crate::forward_proxy::spawn_until;

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// An address could not be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The services or their proxy lists could not be read.
    #[error("cannot read the services: {0}")]
    Services(#[from] crate::Error),
    /// A probe URL that is not `http://` or `https://` with a host.
    #[error("the probe URL must be http:// or https:// with a host, not {0:?}")]
    Probe(String),
    /// A non-loopback address without local credentials and the explicit permission.
    #[error(
        "{0} is not a loopback address: serving it needs local credentials and allow_remote \
         (anyone who reaches it would spend your traffic)"
    )]
    Remote(SocketAddr),
}

/// The proxy password clients of the gateway must send, when one is set.
pub(crate) struct LocalAuth {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl LocalAuth {
    /// Whether a client's credentials are these (the login may carry tags: `user-country-de`).
    pub(crate) fn accepts(&self, login: &str, password: &str) -> bool {
        let user_ok = login == self.user || login.starts_with(&format!("{}-", self.user));
        let same = password.len() == self.password.len()
            && password
                .bytes()
                .zip(self.password.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        user_ok & same
    }
}

/// What every connection of a gateway shares.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) selection: Selection,
    pub(crate) pool: Arc<Pool>,
    pub(crate) metrics: Metrics,
    pub(crate) log: Option<AccessLog>,
    pub(crate) upstream_timeout: Duration,
    pub(crate) local_auth: Option<LocalAuth>,
    pub(crate) reloading: tokio::sync::Mutex<()>,
    /// The `host:port` active probes open a tunnel to.
    pub(crate) probe: Option<String>,
    /// Sessions' kept upstream connections.
    pub(crate) sticky: super::sticky::Sticky,
}

impl Shared {
    /// Reads the services again: new purchases, new credentials, gone or expired services.
    pub(crate) async fn refresh(&self) -> crate::Result<()> {
        let list = lines::load(&self.client, &self.selection).await?;
        self.pool.sync(list, true);
        Ok(())
    }

    /// Reads `line`'s service again after a `407`, unless that was done since `line` was
    /// handed out (many requests may see the same old credentials at once).
    pub(crate) async fn reload(&self, line: &Line) {
        let _one_at_a_time = self.reloading.lock().await;
        if self.pool.current(line).is_some_and(|now| *now != *line) {
            return;
        }
        match lines::reload(&self.client, &line.service, &self.selection).await {
            Ok(Some(s)) => self.pool.sync(vec![s], false),
            Ok(None) => self.pool.remove(&line.service),
            Err(e) => tracing::warn!(
                "gateway: reading service {} again failed: {e}",
                line.service
            ),
        }
    }

    /// The metrics text, with the threads in use as of now.
    pub(crate) fn metrics_text(&self) -> String {
        for s in self.pool.snapshot() {
            self.metrics.set_in_use(&s.id, s.in_use);
        }
        self.metrics.text()
    }
}

/// A serving gateway; it stops (listeners and refresh) when dropped. Tunnels already open run
/// to their end.
pub struct RunningGateway {
    pub(crate) addr: SocketAddr,
    pub(crate) metrics_addr: Option<SocketAddr>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) _stop: watch::Sender<()>,
}

impl std::fmt::Debug for RunningGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningGateway")
            .field("addr", &self.addr)
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

impl RunningGateway {
    /// Where the proxy listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Where `/metrics` is served, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }
    /// `http://ADDR`: the proxy URL for clients (`HTTP_PROXY`, `curl -x`, ...).
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// A `reqwest::Proxy` for every request through this gateway.
    pub fn reqwest_proxy(&self) -> reqwest::Result<reqwest::Proxy> {
        reqwest::Proxy::all(self.proxy_url())
    }
    /// Reads the services again now (what [`refresh_every`] does on its period): new
    /// purchases join, expired and deleted services leave, new credentials are used.
    ///
    /// [`refresh_every`]: super::GatewayBuilder::refresh_every
    pub async fn refresh(&self) -> crate::Result<()> {
        self.shared.refresh().await
    }
    /// Runs the active probes now (what [`probe`] does on its period): a tunnel to the probe
    /// target through every line with a free thread; a failure counts against the line, a
    /// success re-admits an ejected one. How many lines answered (`None`: no probe set).
    ///
    /// [`probe`]: super::GatewayBuilder::probe
    pub async fn probe(&self) -> Option<usize> {
        let target = self.shared.probe.as_deref()?;
        Some(super::probe::probe_all(&self.shared, target).await)
    }
    /// The use of each service now (threads in use, lines, ejected lines).
    pub fn services(&self) -> Vec<ServiceUse> {
        self.shared.pool.snapshot()
    }
    /// The metrics as Prometheus (OpenMetrics) text, as `/metrics` serves them.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics_text()
    }
}

/// Serves `listener` until `stop` is dropped.
pub(crate) fn spawn_accept(g: Arc<Shared>, listener: TcpListener, stop: watch::Receiver<()>) {
    spawn_until(stop, async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(dispatch(g.clone(), stream, peer));
        }
    });
}

/// SOCKS5 when the first byte is `0x05`, HTTP otherwise.
async fn dispatch(g: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) if first[0] == 0x05 => socks_in::serve(g, stream, peer).await,
        Ok(1) => http_in::serve(g, stream, peer).await,
        _ => {}
    }
}
