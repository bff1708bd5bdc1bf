//! [`GatewayBuilder`]: the gateway's settings, and `serve`.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::access_log::AccessLog;
use super::health::Ejection;
use super::in_process::ProxyPool;
use super::lines::{self, Selection};
use super::metrics::Metrics;
use super::pool::{Pool, Rules, Strategy};
use super::running::{GatewayError, RunningGateway, spawn_accept};
use super::shared::{LocalAuth, Shared};
use super::{metrics_http, probe};
use crate::Client;
use crate::forward_proxy::spawn_until;
use crate::setters::setters;

/// The local gateway: see the [module docs](super).
#[derive(Debug)]
pub struct Gateway(());

impl Gateway {
    /// A gateway over the services of `client`; nothing happens before
    /// [`serve`](GatewayBuilder::serve).
    pub fn builder(client: Client) -> GatewayBuilder {
        GatewayBuilder::new(client)
    }
}

/// The settings of a gateway; [`serve`](Self::serve) starts it. See the
/// [module docs](super).
pub struct GatewayBuilder {
    client: Client,
    selection: Selection,
    listen: SocketAddr,
    metrics: Option<SocketAddr>,
    rules: Rules,
    upstream_timeout: Duration,
    refresh: Option<Duration>,
    probe: Option<(String, Duration)>,
    access_log: Option<Box<dyn Write + Send>>,
    local: Option<LocalAuth>,
    allow_remote: bool,
}

impl std::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("selection", &self.selection)
            .field("listen", &self.listen)
            .field("metrics", &self.metrics)
            .field("rules", &self.rules)
            .field("local_credentials", &self.local.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl GatewayBuilder {
    pub(super) fn new(client: Client) -> Self {
        GatewayBuilder {
            client,
            selection: Selection::new(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8899)),
            metrics: None,
            rules: Rules {
                strategy: Strategy::default(),
                max_queue: 1024,
                queue_timeout: Duration::from_secs(30),
                session_ttl: Duration::from_secs(600),
                ejection: Ejection::default(),
            },
            upstream_timeout: Duration::from_secs(10),
            refresh: None,
            probe: None,
            access_log: None,
            local: None,
            allow_remote: false,
        }
    }

    setters! {
        /// Which services and lines (default: every active service, every line).
        pub fn selection(selection: Selection) => selection = selection;
        /// Where the proxy listens (default `127.0.0.1:8899`; port 0 picks a free one).
        pub fn listen(addr: SocketAddr) => listen = addr;
        /// Serve `/metrics` (Prometheus text) on this address.
        pub fn metrics_listen(addr: SocketAddr) => metrics = Some(addr);
        /// How lines are chosen.
        pub fn strategy(strategy: Strategy) => rules.strategy = strategy;
        /// How many requests may wait for a free thread (default 1024; beyond it, `503` at once).
        pub fn max_queue(n: usize) => rules.max_queue = n;
        /// How long a request waits for a free thread before its `503` (default 30 s).
        pub fn queue_timeout(d: Duration) => rules.queue_timeout = d;
        /// How long a `session-KEY` keeps its line, and for plain HTTP its upstream connection to
        /// each target (the same exit), after its last use (default 10 minutes; on the client's
        /// clock). A kept connection holds one of its service's threads; the session's
        /// requests to that target take turns on it (one waits at most the upstream timeout
        /// for its turn, then goes alone on a new connection).
        pub fn session_ttl(d: Duration) => rules.session_ttl = d;
    }
    /// Consecutive failures that eject a line (default 2), and its first backoff (default
    /// 30 s, doubling up to 10 minutes), on the client's clock.
    pub fn ejection(mut self, after: u32, backoff: Duration) -> Self {
        self.rules.ejection.after = after.max(1);
        self.rules.ejection.base = backoff;
        self.rules.ejection.max = self.rules.ejection.max.max(backoff);
        self
    }
    setters! {
        /// How long a line may take to open a tunnel (default 10 s).
        pub fn upstream_timeout(d: Duration) => upstream_timeout = d;
        /// Read the services again every `period` (new purchases, credentials, expiry).
        pub fn refresh_every(period: Duration) => refresh = Some(period);
    }
    /// Active probes: every `every`, a tunnel to `url`'s host and port through each line with
    /// a free thread (failures count against the line, a success re-admits it early). An
    /// `http://` or `https://` URL; anything else is refused by [`serve`](Self::serve).
    pub fn probe(mut self, url: impl Into<String>, every: Duration) -> Self {
        self.probe = Some((url.into(), every));
        self
    }
    /// Write a JSON-lines access log here.
    pub fn access_log(mut self, out: impl Write + Send + 'static) -> Self {
        self.access_log = Some(Box::new(out));
        self
    }
    /// Require these proxy credentials from clients (the login may carry tags:
    /// `user-country-de`).
    pub fn local_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.local = Some(LocalAuth {
            user: user.into(),
            password: password.into(),
        });
        self
    }
    /// Allow a non-loopback listen address (only with local credentials).
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Reads the services and their lines, and starts serving on the current tokio runtime.
    pub async fn serve(self) -> Result<RunningGateway, GatewayError> {
        let (listen, metrics, refresh) = (self.listen, self.metrics, self.refresh);
        let probe_every = self.probe.as_ref().map(|(_, every)| *every);
        let remote_ok = self.allow_remote && self.local.is_some();
        if !listen.ip().is_loopback() && !remote_ok {
            return Err(GatewayError::Remote(listen));
        }
        self.probe_target()?; // before anything is bound
        let listener = bind(listen).await?;
        let metrics_listener = match metrics {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let shared = self.into_shared().await?;
        let (stop, stopped) = watch::channel(());
        let addr = local_addr(&listener, listen)?;
        spawn_accept(shared.clone(), listener, stopped.clone());
        spawn_until(stopped.clone(), sweep_loop(shared.clone()));
        let metrics_addr = match metrics_listener {
            Some(l) => {
                let a = local_addr(&l, listen)?;
                metrics_http::spawn(shared.clone(), l, stopped.clone());
                Some(a)
            }
            None => None,
        };
        if let Some(period) = refresh {
            spawn_until(stopped.clone(), refresh_loop(shared.clone(), period));
        }
        if let Some(period) = probe_every {
            spawn_until(stopped, probe_loop(shared.clone(), period));
        }
        Ok(RunningGateway {
            addr,
            metrics_addr,
            shared,
            _stop: stop,
        })
    }

    /// Reads the services and their lines into an in-process [`ProxyPool`] instead of a port:
    /// the same thread limits, queue, selection and health, handed out as `reqwest::Proxy`
    /// values (refresh and probes included). `listen`, `metrics_listen`, `access_log` and the
    /// local credentials do not apply.
    pub async fn pool(self) -> Result<ProxyPool, GatewayError> {
        let refresh = self.refresh;
        let probe_every = self.probe.as_ref().map(|(_, every)| *every);
        let shared = self.into_shared().await?;
        let (stop, stopped) = watch::channel(());
        if let Some(period) = refresh {
            spawn_until(stopped.clone(), refresh_loop(shared.clone(), period));
        }
        if let Some(period) = probe_every {
            spawn_until(stopped, probe_loop(shared.clone(), period));
        }
        Ok(ProxyPool::new(shared, stop))
    }

    /// The `host:port` of the probe URL, if one is set.
    fn probe_target(&self) -> Result<Option<String>, GatewayError> {
        let Some((url, _)) = &self.probe else {
            return Ok(None);
        };
        let target = probe::target_of(url).ok_or_else(|| GatewayError::Probe(url.clone()))?;
        Ok(Some(target))
    }

    /// The services read, and what every connection shares.
    async fn into_shared(self) -> Result<Arc<Shared>, GatewayError> {
        let probe = match &self.probe {
            Some((url, _)) => {
                Some(probe::target_of(url).ok_or_else(|| GatewayError::Probe(url.clone()))?)
            }
            None => None,
        };
        let pool = Pool::new(self.client.clock().clone(), self.rules);
        pool.sync(lines::load(&self.client, &self.selection).await?, true);
        Ok(Arc::new(Shared {
            client: self.client,
            selection: self.selection,
            pool,
            metrics: Metrics::new(),
            log: self.access_log.map(AccessLog::new),
            upstream_timeout: self.upstream_timeout,
            local_auth: self.local,
            reloading: tokio::sync::Mutex::new(()),
            probe,
            sticky: Default::default(),
        }))
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, GatewayError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| GatewayError::Bind { addr, source })
}

fn local_addr(l: &TcpListener, asked: SocketAddr) -> Result<SocketAddr, GatewayError> {
    l.local_addr().map_err(|source| GatewayError::Bind {
        addr: asked,
        source,
    })
}

/// Closes the sessions' kept connections whose time has run out or whose line may not be
/// used any more (ejected, new credentials, service gone or expired), every 10 s.
async fn sweep_loop(g: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        g.sticky.sweep(&g.pool);
    }
}

/// Probes every line every `period` (wall time).
async fn probe_loop(g: Arc<Shared>, period: Duration) {
    let Some(target) = g.probe.clone() else {
        return;
    };
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tick.tick().await;
        probe::probe_all(&g, &target).await;
    }
}

/// Reads the services again every `period` (wall time: a refresh is a real API call).
async fn refresh_loop(g: Arc<Shared>, period: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tick.tick().await;
        if let Err(e) = g.refresh().await {
            tracing::warn!("gateway: refreshing the services failed: {e}");
        }
    }
}
