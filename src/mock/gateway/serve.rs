//! The gateways' listeners and connections: accept, check (`access.rs`), connect
//! (`target.rs`, from an exit of `exit.rs`), then forward a request or carry a tunnel.

use super::refusal::GatewayRefusal;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::access::{Outage, Refusal, Shared, Thread, authorize};
use super::exit;
use super::target::{Target, connect, loopback_addrs, target_of};
use crate::forward_proxy::{Held, relay, serve_http1, spawn_until, strip_hop_by_hop};
use crate::mock::fake::api::Fake;
use crate::mock::fake::ids::id_hex;
use crate::mock::fake::model::GatewayAddrs;
use crate::types::{GatewayCountry, ServiceId};

/// The `Proxy-Authenticate` challenge of a `407`.
const CHALLENGE: &str = "Basic realm=\"opx-mock\"";

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
        addrs: GatewayAddrs::new(addrs),
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

    /// Starts serving on the current runtime, for the services of `fake`.
    pub(crate) fn serve(self, fake: Arc<Fake>) -> Running {
        let (tx, rx) = watch::channel(());
        let shared = Arc::new(Shared {
            fake,
            in_use: Mutex::new(HashMap::new()),
            exits: exit::Exits::default(),
            peak: Mutex::new(HashMap::new()),
            outages: Mutex::new(HashMap::new()),
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
    let release = || drop(crate::sync::lock(&held).take());
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
            match self.outage() {
                Some(Outage::Down) => {
                    drop(stream);
                    continue;
                }
                Some(Outage::Hung) => {
                    // Held open until the mock stops, never read from nor answered.
                    spawn_until(self.shutdown.clone(), async move {
                        let _held = stream;
                        std::future::pending::<()>().await;
                    });
                    continue;
                }
                None => {}
            }
            let gw = self.clone();
            let serve = serve_http1(stream, peer, move |req| {
                let gw = gw.clone();
                async move { gw.handle(peer, req).await }
            });
            spawn_until(self.shutdown.clone(), serve);
        }
    }

    fn outage(&self) -> Option<Outage> {
        crate::sync::lock(&self.shared.outages)
            .get(&self.country)
            .copied()
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
        let ticket = authorize(
            &self.shared.fake,
            &self.country,
            peer.ip().to_canonical(),
            req.headers(),
        )?;
        let addrs = loopback_addrs(&target).ok_or_else(|| {
            Refusal::new(
                GatewayRefusal::DestinationNotLoopback,
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
                    GatewayRefusal::ThreadLimit,
                    format!(
                        "thread limit reached: service {} has {} threads and all are in use",
                        id_hex(ticket.id),
                        ticket.threads
                    ),
                )
            })?;
        let now = self.shared.fake.now();
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
                GatewayRefusal::DestinationFailed,
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
        *response.status_mut() =
            StatusCode::from_u16(r.kind.status()).unwrap_or(StatusCode::BAD_GATEWAY);
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if r.kind == GatewayRefusal::AuthenticationRequired {
            h.insert(
                header::PROXY_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            );
        }
        if let Some(v) = r.kind.header().and_then(|v| HeaderValue::from_str(&v).ok()) {
            h.insert("proxy-status", v);
        }
        response
    }
}

impl Running {
    /// How many of a service's threads the gateways are using now.
    pub(crate) fn threads_in_use(&self, id: &ServiceId) -> u32 {
        let key = crate::mock::fake::ids::service_key(id);
        self.shared.in_use().get(&key).copied().unwrap_or(0)
    }

    /// The most threads of a service the gateways have had in use at once.
    pub(crate) fn threads_peak(&self, id: &ServiceId) -> u32 {
        let key = crate::mock::fake::ids::service_key(id);
        let peak = crate::sync::lock(&self.shared.peak);
        peak.get(&key).copied().unwrap_or(0)
    }

    /// Takes a country's gateway down (`true`) or brings it back (`false`).
    pub(crate) fn set_down(&self, country: &GatewayCountry, down: bool) {
        self.set_outage(country, down.then_some(Outage::Down));
    }

    /// Makes a country's gateway hang (`true`) or brings it back (`false`).
    pub(crate) fn set_hung(&self, country: &GatewayCountry, hung: bool) {
        self.set_outage(country, hung.then_some(Outage::Hung));
    }

    fn set_outage(&self, country: &GatewayCountry, outage: Option<Outage>) {
        let mut outages = crate::sync::lock(&self.shared.outages);
        match outage {
            Some(o) => outages.insert(country.clone(), o),
            None => outages.remove(country),
        };
    }
}
