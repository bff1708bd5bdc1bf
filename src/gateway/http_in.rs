//! The HTTP side of the local port: `CONNECT host:port` (a tunnel through a line) and
//! absolute-form requests (`GET http://host/...`), each carried on a new upstream tunnel (or a
//! sticky session's kept one) and sent there in origin form, once.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::done::Done;
use super::establish::{Refused, establish};
use super::shared::Shared;
use super::sticky::Kept;
use super::wish::{COUNTRY_HEADER, SESSION_HEADER, Wish};
use crate::forward_proxy::{Held, basic_credentials, relay_both, serve_http1, strip_hop_by_hop};

type Body = BoxBody<Bytes, hyper::Error>;

/// Serves one client connection (kept alive: each request gets its own upstream tunnel).
pub(crate) async fn serve(g: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    serve_http1(stream, peer, move |req| {
        let g = g.clone();
        async move { handle(&g, peer, req).await }
    })
    .await;
}

async fn handle(g: &Arc<Shared>, peer: SocketAddr, req: Request<Incoming>) -> Response<Body> {
    let Some(wish) = wish_of(g, req.headers()) else {
        return text(
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            None,
            "this gateway needs its local proxy credentials",
        );
    };
    if req.method() == Method::CONNECT {
        connect(g, peer, &wish, req).await
    } else {
        forward(g, peer, &wish, req).await
    }
}

/// The request's wish, or `None` when local credentials are required and not given.
fn wish_of(g: &Shared, headers: &http::HeaderMap) -> Option<Wish> {
    let creds = basic_credentials(headers).and_then(Result::ok);
    if let Some(local) = &g.local_auth {
        let (login, password) = creds.as_ref()?;
        if !local.accepts(login, password) {
            return None;
        }
    }
    let from_user = creds.map_or_else(Wish::default, |(login, _)| Wish::from_username(&login));
    Some(from_user.with_headers(headers))
}

async fn connect(
    g: &Arc<Shared>,
    peer: SocketAddr,
    wish: &Wish,
    mut req: Request<Incoming>,
) -> Response<Body> {
    let Some(target) = req.uri().authority().map(|a| a.to_string()) else {
        return text(StatusCode::BAD_REQUEST, None, "CONNECT needs host:port");
    };
    let done = Done::new(g, peer, "CONNECT", target.clone());
    let est = match establish(g, wish, &target).await {
        Ok(est) => est,
        Err(r) => return refusal(done, &r),
    };
    let upgrade = hyper::upgrade::on(&mut req);
    let done = done.carried(est.lease.line.clone(), est.traffic, 200);
    let (lease, tunnel) = (est.lease, est.tunnel);
    tokio::spawn(async move {
        let _done = done;
        if let Ok(upgraded) = upgrade.await {
            let _ = relay_both(TokioIo::new(upgraded), tunnel).await;
        }
        drop(lease);
    });
    Response::new(empty())
}

/// The `host:port` and origin form of an absolute `http://` request.
fn target_of(uri: &Uri) -> Option<(String, Uri)> {
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let a = uri.authority()?;
    let target = format!("{}:{}", a.host(), a.port_u16().unwrap_or(80));
    let origin = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .ok()?;
    Some((target, origin))
}

async fn forward(
    g: &Arc<Shared>,
    peer: SocketAddr,
    wish: &Wish,
    req: Request<Incoming>,
) -> Response<Body> {
    let Some((target, origin)) = target_of(req.uri()) else {
        let why = "a proxy request needs an absolute http:// URI (use CONNECT for https)";
        return text(StatusCode::BAD_REQUEST, None, why);
    };
    let shown = format!("http://{target}{}", origin.path());
    let done = Done::new(g, peer, req.method().as_str(), shown);
    // A session's requests to a target take turns on its kept connection.
    let mut turn = match &wish.session {
        Some(session) => g.sticky.turn(session, &target, g.upstream_timeout).await,
        None => None,
    };
    let kept = turn.as_mut().and_then(|t| t.take());
    let (mut conn, done, reused) = match connection(g, wish, &target, kept, done).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let req = origin_form(req, origin, &target);
    let (response, mut conn, done) = match conn.sender.try_send_request(req).await {
        Ok(r) => (r, conn, done),
        Err(mut e) => match e.take_message() {
            // The kept connection closed before any byte of the request left (its idle
            // time ran out upstream): a new connection, and the request sent there, once.
            Some(req) if reused => {
                drop(conn);
                let (mut conn, done, _) = match connection(g, wish, &target, None, done).await {
                    Ok(c) => c,
                    Err(response) => return response,
                };
                match conn.sender.send_request(req).await {
                    Ok(r) => (r, conn, done),
                    Err(e) => return upstream_failed(done, e),
                }
            }
            _ => return upstream_failed(done, e.into_error()),
        },
    };
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let done = done.carried(
        conn.line.clone(),
        conn.traffic.clone(),
        parts.status.as_u16(),
    );
    if let Some(turn) = &mut turn {
        conn.until = g.pool.now() + g.pool.session_ttl();
        **turn = Some(conn);
    }
    Response::from_parts(parts, Held::new(body, done).boxed())
}

/// The request as sent through the tunnel: in origin form, without hop-by-hop headers nor the
/// gateway's own, with a `Host`.
fn origin_form(req: Request<Incoming>, origin: Uri, target: &str) -> Request<Incoming> {
    let (mut parts, body) = req.into_parts();
    parts.uri = origin;
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(COUNTRY_HEADER);
    parts.headers.remove(SESSION_HEADER);
    if !parts.headers.contains_key(header::HOST)
        && let Ok(v) = HeaderValue::from_str(target)
    {
        parts.headers.insert(header::HOST, v);
    }
    Request::from_parts(parts, body)
}

/// An upstream HTTP connection to `target`: the session's `kept` one while it may be used
/// (`true`), or a new tunnel (its lease lives until the upstream has closed it).
async fn connection(
    g: &Arc<Shared>,
    wish: &Wish,
    target: &str,
    kept: Option<Kept>,
    done: Done,
) -> Result<(Kept, Done, bool), Response<Body>> {
    if let Some(mut kept) = kept
        && kept.usable(&g.pool)
        && tokio::time::timeout(g.upstream_timeout, kept.sender.ready())
            .await
            .is_ok_and(|r| r.is_ok())
    {
        g.metrics.reused(&kept.line);
        if let Some(session) = &wish.session {
            g.pool.keep_session(session, &kept.line);
        }
        let done = done.since(&kept.traffic);
        return Ok((kept, done, true));
    }
    let est = match establish(g, wish, target).await {
        Ok(est) => est,
        Err(r) => return Err(refusal(done, &r)),
    };
    let (sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(est.tunnel)).await
    {
        Ok(h) => h,
        Err(e) => return Err(upstream_failed(done, e)),
    };
    let (lease, timeout) = (est.lease, g.upstream_timeout);
    let line = lease.line.clone();
    tokio::spawn(async move {
        // The lease ends once the upstream has closed the tunnel too (its thread is free).
        if let Ok(parts) = conn.without_shutdown().await {
            super::upstream::close_and_drain(parts.io.into_inner(), timeout).await;
        }
        drop(lease);
    });
    let until = g.pool.now();
    // All of this connection's traffic is the request's (after a kept one that had closed,
    // too: not counted from that one's totals).
    let done = done.whole_connection();
    Ok((
        Kept {
            sender,
            line,
            traffic: est.traffic,
            until,
        },
        done,
        false,
    ))
}

fn upstream_failed(done: Done, e: hyper::Error) -> Response<Body> {
    let why = format!("the request failed upstream: {e}");
    let r = text(StatusCode::BAD_GATEWAY, Some("connection_terminated"), &why);
    drop(done.failed(502, why));
    r
}

fn refusal(done: Done, r: &Refused) -> Response<Body> {
    let message = r.message();
    let response = text(r.status(), Some(r.proxy_status()), &message);
    drop(done.failed(r.status().as_u16(), message));
    response
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

/// A one-line `text/plain` answer of the gateway itself.
fn text(status: StatusCode, proxy_status: Option<&str>, message: &str) -> Response<Body> {
    let body = Full::new(Bytes::from(format!("opx gateway: {message}\n")));
    let mut r = Response::new(body.map_err(|never| match never {}).boxed());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        let challenge = HeaderValue::from_static("Basic realm=\"opx gateway\"");
        h.insert(header::PROXY_AUTHENTICATE, challenge);
    }
    if let Some(error) = proxy_status
        && let Ok(v) = HeaderValue::from_str(&format!("opx-gateway; error={error}"))
    {
        h.insert("proxy-status", v);
    }
    r
}
