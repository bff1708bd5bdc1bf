//! A serving gateway: the accept loop that tells SOCKS5 from HTTP by the first byte, and its
//! handle.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::pool::ServiceUse;
use super::shared::Shared;
use super::{http_in, probe, socks_in};
use crate::forward_proxy::spawn_until;

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
        Some(probe::probe_all(&self.shared, target).await)
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
