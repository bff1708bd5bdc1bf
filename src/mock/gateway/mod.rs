//! The mock's gateways: one HTTP forward proxy per gateway country (nl, de, at), each on its
//! own loopback port, that carries traffic the way the real service's gateways would, and
//! enforces what they would.
//!
//! Built like hyper's `examples/http_proxy.rs`: a plain request in absolute form
//! (`GET http://127.0.0.1:8000/ HTTP/1.1`) is forwarded (in origin form, hop-by-hop headers and
//! `Proxy-Authorization` removed); `CONNECT host:port` answers `200` once the destination is
//! connected, then upgrades and copies bytes both ways (`forward_proxy::relay`: read buffers that grow
//! with the traffic).
//!
//! Every request (each one of a kept-alive connection, and each `CONNECT`) is checked in this
//! order:
//!
//! 1. the request is one a forward proxy understands (`400` otherwise);
//! 2. **who**: `Proxy-Authorization: Basic login:password` must be a service's current
//!    credentials (regenerated ones stop working at once); without the header, the source
//!    address must be in the whitelist of a service (the oldest one that is active and has
//!    this gateway is taken). Otherwise `407` with `Proxy-Authenticate: Basic realm="opx-mock"`.
//!    Credentials that are sent are always checked: a whitelisted address with wrong
//!    credentials is refused;
//! 3. **the service**: it must be active on the mock's clock (`403`, "expired") and this
//!    gateway's country must be one of its gateways (`403`);
//! 4. **the destination** must be on loopback: an IP in `127.0.0.0/8`, `::1` (or the IPv4-mapped
//!    form), or `localhost`. Anything else is refused with `403` before any connection is
//!    made, and no name is ever resolved: the mock never reaches the network;
//! 5. **threads**: at most the service's `threads` requests and tunnels at once, over all
//!    gateways (`429` beyond it). A forwarded request holds its thread until the destination's
//!    answer has been read through, a tunnel until either end closes it (given back before
//!    the other end is told, so a client that saw the end finds the thread free);
//! 6. the connection to the destination (`502` when it fails or takes over 10 s), from a
//!    loopback source address of the gateway's country, rotated as the service's rotation mode
//!    says (`exit.rs`): the destination sees a rotating exit address.
//!
//! Refusals are `text/plain` bodies of one line naming the reason (never a password), with a
//! `Proxy-Status` header (RFC 9209) except on `407`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

mod access;
mod exit;
mod target;

use crate::forward_proxy::{Held, relay, serve_http1, spawn_until, strip_hop_by_hop};
use access::{Refusal, Shared, Thread};
use target::{Target, connect, loopback_addrs, target_of};

use super::state;
use super::{Inner, MockServer};
use crate::operation::GatewayCountry;

/// The `Proxy-Authenticate` challenge of a `407`.
const CHALLENGE: &str = "Basic realm=\"opx-mock\"";

/// How long connecting to a destination may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where each gateway listens.
#[derive(Debug, Clone, Default)]
pub(crate) struct GatewayAddrs(Vec<(GatewayCountry, SocketAddr)>);

impl GatewayAddrs {
    /// The address of a country's gateway (by wire value, `nl`).
    pub(crate) fn get(&self, country: &str) -> Option<SocketAddr> {
        self.0
            .iter()
            .find(|(c, _)| c.as_str() == country)
            .map(|(_, a)| *a)
    }
}

/// The gateways' listeners, bound but not serving yet (the mock's state needs their ports
/// before the gateways need the state).
pub(crate) struct Bound {
    listeners: Vec<(GatewayCountry, TcpListener)>,
    addrs: GatewayAddrs,
}

/// Binds one loopback listener (`127.0.0.1:0`) per gateway country.
pub(crate) async fn bind() -> std::io::Result<Bound> {
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for country in GatewayCountry::KNOWN {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        addrs.push((country.clone(), l.local_addr()?));
        listeners.push((country, l));
    }
    Ok(Bound {
        listeners,
        addrs: GatewayAddrs(addrs),
    })
}

/// Serving gateways: they stop (listeners, connections and tunnels) when this is dropped.
pub(crate) struct Running {
    shared: Arc<Shared>,
    _shutdown: watch::Sender<()>,
}

impl Bound {
    /// The addresses the gateways listen on.
    pub(crate) fn addrs(&self) -> GatewayAddrs {
        self.addrs.clone()
    }

    /// Starts serving on the current runtime.
    pub(crate) fn serve(self, inner: Arc<Inner>) -> Running {
        let (tx, rx) = watch::channel(());
        let shared = Arc::new(Shared {
            inner,
            in_use: Mutex::new(HashMap::new()),
            exits: exit::Exits::default(),
            peak: Mutex::new(HashMap::new()),
            down: Mutex::new(Vec::new()),
        });
        for (country, listener) in self.listeners {
            let gw = Gateway {
                shared: shared.clone(),
                country,
                shutdown: rx.clone(),
            };
            spawn_until(rx.clone(), gw.accept_loop(listener));
        }
        Running {
            shared,
            _shutdown: tx,
        }
    }
}

/// Copies a tunnel's bytes both ways. Its thread is given back as soon as either end has
/// closed, before the other end is told: a client that has seen the tunnel end finds the
/// thread free (as with a forwarded answer, see `Held`).
async fn tunnel<C>(client: C, upstream: TcpStream, thread: Thread)
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    use tokio::io::AsyncWriteExt;
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = upstream.into_split();
    let held = Mutex::new(Some(thread));
    let release = || drop(held.lock().unwrap_or_else(|e| e.into_inner()).take());
    let up = async {
        let _ = relay(&mut cr, &mut uw).await;
        release();
        let _ = uw.shutdown().await;
    };
    let down = async {
        let _ = relay(&mut ur, &mut cw).await;
        release();
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

/// What the gateways of one mock share: the mock, and the threads in use per service.
/// One country's gateway.
#[derive(Clone)]
struct Gateway {
    shared: Arc<Shared>,
    country: GatewayCountry,
    shutdown: watch::Receiver<()>,
}

impl Gateway {
    async fn accept_loop(self, listener: TcpListener) {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!("gateway {}: accept failed: {e}", self.country);
                    continue;
                }
            };
            if self.is_down() {
                drop(stream);
                continue;
            }
            let gw = self.clone();
            let serve = serve_http1(stream, peer, move |req| {
                let gw = gw.clone();
                async move { gw.handle(peer, req).await }
            });
            spawn_until(self.shutdown.clone(), serve);
        }
    }

    fn is_down(&self) -> bool {
        let down = self.shared.down.lock().unwrap_or_else(|e| e.into_inner());
        down.iter().any(|c| c == self.country.as_str())
    }

    async fn handle(&self, peer: SocketAddr, req: Request<Incoming>) -> Response<Body> {
        let response = match self.carry(peer, req).await {
            Ok(r) => r,
            Err(refusal) => self.refuse(refusal),
        };
        tracing::debug!("gateway {} for {peer}: {}", self.country, response.status());
        response
    }

    /// The checks, in order, then the request carried.
    async fn carry(
        &self,
        peer: SocketAddr,
        mut req: Request<Incoming>,
    ) -> Result<Response<Body>, Refusal> {
        let target = target_of(&req)?;
        let ticket = self.authorize(peer.ip().to_canonical(), req.headers())?;
        let addrs = loopback_addrs(&target).ok_or_else(|| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                "destination_ip_prohibited",
                format!(
                    "destination {target} is not on loopback: the mock's gateways only connect to \
                     127.0.0.0/8, ::1 and localhost (nothing was connected)"
                ),
            )
        })?;
        let thread = self
            .shared
            .acquire(ticket.id, ticket.threads)
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "connection_limit_reached",
                    format!(
                        "thread limit reached: service {} has {} threads and all are in use",
                        state::id_hex(ticket.id),
                        ticket.threads
                    ),
                )
            })?;
        let now = self.shared.inner.clock.now();
        let source = (self.shared.exits).pick(ticket.id, &self.country, &ticket.rotation, now);
        let upstream = connect(&target, &addrs, source).await?;
        if req.method() == Method::CONNECT {
            let upgrade = hyper::upgrade::on(&mut req);
            spawn_until(self.shutdown.clone(), async move {
                match upgrade.await {
                    Ok(upgraded) => tunnel(TokioIo::new(upgraded), upstream, thread).await,
                    Err(e) => tracing::debug!("gateway tunnel: upgrade failed: {e}"),
                }
            });
            return Ok(Response::new(Body::empty()));
        }
        self.forward(req, &target, upstream, thread).await
    }

    /// Forwards a plain request (origin form, hop-by-hop headers removed).
    async fn forward(
        &self,
        req: Request<Incoming>,
        target: &Target,
        upstream: TcpStream,
        thread: Thread,
    ) -> Result<Response<Body>, Refusal> {
        let failed = |e: hyper::Error| {
            Refusal::new(
                StatusCode::BAD_GATEWAY,
                "connection_terminated",
                format!("the destination {target} failed: {e}"),
            )
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(upstream))
            .await
            .map_err(failed)?;
        spawn_until(self.shutdown.clone(), async move {
            let _ = conn.await;
        });
        let (mut parts, body) = req.into_parts();
        let origin_form = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        parts.uri = origin_form
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        strip_hop_by_hop(&mut parts.headers);
        if !parts.headers.contains_key(header::HOST)
            && let Ok(v) = HeaderValue::from_str(&target.to_string())
        {
            parts.headers.insert(header::HOST, v);
        }
        let response = sender
            .send_request(Request::from_parts(parts, body))
            .await
            .map_err(failed)?;
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let body = Held::new(body, thread);
        Ok(Response::from_parts(parts, Body::new(body)))
    }

    fn refuse(&self, r: Refusal) -> Response<Body> {
        let mut response = Response::new(Body::from(format!(
            "opx-mock gateway {}: {}\n",
            self.country, r.message
        )));
        *response.status_mut() = r.status;
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if r.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            h.insert(
                header::PROXY_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            );
        }
        if let Some(error) = r.proxy_status
            && let Ok(v) = HeaderValue::from_str(&format!("opx-mock; error={error}"))
        {
            h.insert("proxy-status", v);
        }
        response
    }
}

impl MockServer {
    /// The address of a country's gateway (`127.0.0.1:PORT`), the forward proxy that the
    /// proxy lists point at; `None` for a country that has none.
    ///
    /// It carries HTTP (absolute-form requests) and `CONNECT` to loopback destinations only,
    /// for the services whose credentials or whitelisted address it is given, and enforces
    /// expiry, the gateway's country and the service's threads, like the real gateways. See
    /// the [module docs](crate::mock).
    ///
    /// A line of a service's list, used as a program under test would use it:
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = opx::mock::MockServer::start().await;
    /// let nl = server.gateway_addr(&opx::types::GatewayCountry::Nl).unwrap();
    /// assert!(nl.ip().is_loopback());
    /// let id = opx::types::ServiceId::new(server.seed_services(1).remove(0))?;
    /// let lines = server.client().proxies(&id, &opx::types::ProxyQuery::new()).await?.into_inner();
    /// assert_eq!((lines[0].host(), lines[0].port()), ("127.0.0.1", nl.port()));
    /// let through = reqwest::Client::builder()
    ///     .proxy(reqwest::Proxy::all(lines[0].proxy_url())?)
    ///     .build()?;
    /// // Any loopback server of the test, e.g. one on 127.0.0.1:8000:
    /// let page = through.get("http://127.0.0.1:8000/").send().await?;
    /// # let _ = page;
    /// # Ok(()) }
    /// ```
    pub fn gateway_addr(&self, country: &GatewayCountry) -> Option<SocketAddr> {
        self.inner.gateways.get(country.as_str())
    }

    /// The exit addresses of a country's gateway: a connection it makes to a destination
    /// leaves from one of them (`127.31.0.1..=127.31.255.254` for nl, `127.49.*` for de,
    /// `127.43.*` for at), a new one for every connection when the service's rotation is
    /// `instant`, the same one for a period when it is one (`10min`, `30s`, `1h`), and the same
    /// one until the mode changes for any other mode. Periods run on the mock's clock.
    pub fn exit_range(country: &GatewayCountry) -> std::ops::RangeInclusive<Ipv4Addr> {
        exit::range(country)
    }

    /// Sets the thread count of a service (of any account): how many requests and tunnels the
    /// gateways carry for it at once. For tests of the thread limit (the plans have 50 or
    /// more); `false` when there is no such service.
    pub fn set_threads(&self, service_id: &str, threads: u32) -> bool {
        let Some(id) = state::parse_id(service_id) else {
            return false;
        };
        let mut st = self.inner.lock();
        st.accounts
            .iter_mut()
            .filter_map(|a| a.services.get_mut(&id))
            .map(|s| s.threads = threads)
            .count()
            > 0
    }

    /// How many of a service's threads the gateways are using now (forwarded requests not yet
    /// answered through, open tunnels), over all gateways.
    pub fn gateway_threads_in_use(&self, service_id: &str) -> u32 {
        state::parse_id(service_id)
            .and_then(|id| self.gateways.shared.in_use().get(&id).copied())
            .unwrap_or(0)
    }

    /// The most threads of a service the gateways have had in use at once, since the mock
    /// started: a program that keeps to the service's `threads` never makes it exceed them.
    pub fn gateway_threads_peak(&self, service_id: &str) -> u32 {
        let shared = &self.gateways.shared;
        let peak = shared.peak.lock().unwrap_or_else(|e| e.into_inner());
        state::parse_id(service_id)
            .and_then(|id| peak.get(&id).copied())
            .unwrap_or(0)
    }

    /// Takes a country's gateway down (`true`): it closes every new connection at once without
    /// answering, as a dead proxy line does; `false` brings it back. Open tunnels are kept.
    pub fn set_gateway_down(&self, country: &GatewayCountry, down: bool) {
        let shared = &self.gateways.shared;
        let mut list = shared.down.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|c| c != country.as_str());
        if down {
            list.push(country.as_str().to_owned());
        }
    }
}
