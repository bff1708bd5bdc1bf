//! `GET /metrics` on its own (loopback) address: the Prometheus text of the gateway.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::shared::Shared;
use crate::forward_proxy::serve_http1;
use crate::forward_proxy::spawn_until;

/// The OpenMetrics text content type `prometheus-client` writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `/metrics` on `listener` until `stop`'s sender is dropped.
pub(crate) fn spawn(g: Arc<Shared>, listener: TcpListener, stop: watch::Receiver<()>) {
    spawn_until(stop, async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let g = g.clone();
            tokio::spawn(serve_http1(stream, peer, move |req| {
                let answer = answer(&g, &req);
                async move { answer }
            }));
        }
    });
}

fn answer(g: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET || req.uri().path() != "/metrics" {
        let mut r = Response::new(Full::new(Bytes::from_static(b"only GET /metrics here\n")));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    }
    let mut r = Response::new(Full::new(Bytes::from(g.metrics_text())));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}
