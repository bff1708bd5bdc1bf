//! The request pipeline as axum middleware, one concern each, outermost first:
//!
//! 1. [`record`]: buffers the body (bounded), records the request and its verdict, appends it to
//!    the account's `GET /logs`;
//! 2. [`validate`]: checks path, query and body against the spec (the verdict is recorded even
//!    when a 401, 429 or fault answers first);
//! 3. [`authenticate`]: the bearer token (`401 invalid_token`);
//! 4. [`rate_limit`]: the per-key windows (`429 rate_limited`), and the `X-RateLimit-*` headers
//!    of every answer to a valid key;
//! 5. [`overrides`](super::overrides::apply): drift simulation, the answer reshaped as asked;
//! 6. [`faults`]: injected failures;
//! 7. the handler ([`super::app::dispatch`]): the documented behaviour, response validation.
//!
//! What a layer learns for the others travels in the request's [`Trace`].

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, header};

use super::Inner;
use super::faults::{self, Fault};
use super::handlers::{self, Reply};
use super::ratelimit::Verdict;
use super::record::{AuthStatus, RecordedRequest, RequestVerdict};
use super::state::{LogEntry, State as MockState};
use crate::conformance::routes::path_values;
use crate::conformance::validate::{self, Rejection, Validated};
use crate::operation::Operation;

/// Request bodies larger than this are refused with `invalid_request`.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What the layers learn about one request.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    pub(crate) operation: Option<Operation>,
    pub(crate) auth: Option<AuthStatus>,
    pub(crate) verdict: Option<RequestVerdict>,
    pub(crate) account: Option<usize>,
    pub(crate) key: Option<usize>,
}

/// The request as the first layer read it.
#[derive(Clone)]
pub(crate) struct Incoming {
    pub(crate) body: Bytes,
    pub(crate) too_large: bool,
    pub(crate) ip: IpAddr,
    pub(crate) now: DateTime<Utc>,
    pub(crate) trace: Arc<Mutex<Trace>>,
}

impl Incoming {
    pub(crate) fn trace(&self) -> std::sync::MutexGuard<'_, Trace> {
        self.trace.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A response of the error envelope.
pub(crate) fn error_response(status: u16, code: &str, message: impl Into<String>) -> Response {
    reply_response(handlers::error(status, code, message))
}

/// A handler's reply as an HTTP response.
pub(crate) fn reply_response(reply: Reply) -> Response {
    let (status, content_type, body) = match reply {
        Reply::Json(s, v) => (s, "application/json", v.to_string()),
        Reply::Text(s, t) => (s, "text/plain; charset=utf-8", t),
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn incoming(req: &Request) -> Incoming {
    req.extensions()
        .get::<Incoming>()
        .cloned()
        .expect("the record layer runs first")
}

/// Layer 1: buffer, record, log.
pub(crate) async fn record(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let (bytes, too_large) = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => (b, false),
        Err(_) => (Bytes::new(), true),
    };
    let ip = peer.ip().to_canonical();
    let now = inner.clock.now();
    let trace = Arc::new(Mutex::new(Trace::default()));
    let inc = Incoming {
        body: bytes.clone(),
        too_large,
        ip,
        now,
        trace: trace.clone(),
    };
    parts.extensions.insert(inc);
    let mut rec = RecordedRequest::new(&parts, bytes);
    let response = next.run(Request::from_parts(parts, Body::empty())).await;
    let t = std::mem::take(&mut *trace.lock().unwrap_or_else(|e| e.into_inner()));
    rec.operation = t.operation;
    rec.auth = t.auth.unwrap_or(AuthStatus::NotChecked);
    rec.verdict = t.verdict.unwrap_or(RequestVerdict::NotValidated);
    rec.status = response.status().as_u16();
    let mut st = inner.lock();
    if let Some(account) = t.account {
        let entry = LogEntry::new(now, &rec.method, &rec.path, rec.status, ip);
        st.log(account, entry);
    }
    tracing::debug!(method = %rec.method, path = %rec.path, status = rec.status, "mock request");
    st.record(rec);
    response
}

/// The operation axum routed the request to, from the matched path and the method.
fn operation_of(req: &Request, base_path: &str) -> Option<(Operation, String)> {
    let matched = req.extensions().get::<MatchedPath>()?.as_str();
    let template = matched.strip_prefix(base_path)?;
    Operation::ALL
        .into_iter()
        .find(|op| op.method() == req.method() && op.path() == template)
        .map(|op| (op, matched.to_owned()))
}

/// Layer 2: the spec's verdict on the request. A refused request carries its [`Rejection`]
/// to the handler, which answers 400 after authentication and rate limiting had their say.
pub(crate) async fn validate(
    State(inner): State<Arc<Inner>>,
    mut req: Request,
    next: Next,
) -> Response {
    let inc = incoming(&req);
    let Some((op, template)) = operation_of(&req, &inner.routes.base_path) else {
        return next.run(req).await;
    };
    let spec = inner.routes.spec(op);
    let path = req.uri().path().to_owned();
    let values = path_values(&template, &path).unwrap_or_default();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let checked = validate::request(
        spec,
        &values,
        req.uri().query(),
        content_type,
        &inc.body,
        inc.too_large.then_some(MAX_BODY),
    );
    {
        let mut t = inc.trace();
        t.operation = Some(op);
        t.verdict = Some(match &checked {
            Err(r) => RequestVerdict::Invalid {
                code: r.code.clone(),
                message: r.message.clone(),
            },
            Ok(_) => RequestVerdict::Valid,
        });
    }
    req.extensions_mut().insert(Checked(checked.map(Arc::new)));
    next.run(req).await
}

/// The request's validated input, or why it is refused.
#[derive(Clone)]
pub(crate) struct Checked(pub(crate) Result<Arc<Validated>, Rejection>);

/// Authenticates a request: (status, key index when valid).
fn authenticate_key(
    state: &MockState,
    headers: &HeaderMap,
    ip: IpAddr,
) -> (AuthStatus, Option<usize>) {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return (AuthStatus::Missing, None);
    };
    let Ok(value) = value.to_str() else {
        return (AuthStatus::Invalid, None);
    };
    let mut parts = value.trim().splitn(2, ' ');
    let (scheme, token) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("").trim(),
    );
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return (AuthStatus::Invalid, None);
    }
    match state.key_index(token) {
        Some(i) => {
            let key = &state.keys[i];
            let pinned_out = key.pinned.as_ref().is_some_and(|ips| !ips.contains(&ip));
            if key.revoked || pinned_out {
                (AuthStatus::Invalid, None)
            } else {
                (AuthStatus::Valid, Some(i))
            }
        }
        None => (AuthStatus::Invalid, None),
    }
}

/// Layer 3: the bearer token. Unknown paths are answered (404/405) only to a valid key too.
pub(crate) async fn authenticate(
    State(inner): State<Arc<Inner>>,
    req: Request,
    next: Next,
) -> Response {
    let inc = incoming(&req);
    let (auth, key) = {
        let st = inner.lock();
        let (auth, key) = authenticate_key(&st, req.headers(), inc.ip);
        (auth, key.map(|k| (k, st.keys[k].account)))
    };
    {
        let mut t = inc.trace();
        t.auth = Some(auth);
        t.key = key.map(|k| k.0);
        t.account = key.map(|k| k.1);
    }
    if key.is_none() && inc.trace().operation.is_some() {
        return error_response(
            401,
            "invalid_token",
            "missing, malformed, unknown or revoked API key, or source IP not allowed",
        );
    }
    next.run(req).await
}

fn rate_headers(headers: &mut HeaderMap, v: &Verdict) {
    let pairs = [
        ("x-ratelimit-limit", u64::from(v.limit)),
        ("x-ratelimit-remaining", u64::from(v.remaining)),
        ("x-ratelimit-reset", v.reset_secs),
    ];
    for (name, value) in pairs {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from(value));
    }
}

/// Layer 4: the per-key windows; their headers on every answer to a valid key (but those a
/// reverse proxy would have produced: an HTML 502, a dropped connection).
pub(crate) async fn rate_limit(
    State(inner): State<Arc<Inner>>,
    req: Request,
    next: Next,
) -> Response {
    let inc = incoming(&req);
    let (key, op) = {
        let t = inc.trace();
        (t.key, t.operation)
    };
    let Some(key) = key else {
        return next.run(req).await;
    };
    let verdict = {
        let mut st = inner.lock();
        let limits = st.limits.clone();
        st.keys[key].windows.check(&limits, op, inc.now)
    };
    if let Some(retry) = verdict.retry_after {
        let mut r = error_response(429, "rate_limited", "rate limit exceeded; see Retry-After");
        rate_headers(r.headers_mut(), &verdict);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return r;
    }
    let mut response = next.run(req).await;
    if response.extensions().get::<NoRateHeaders>().is_none() {
        rate_headers(response.headers_mut(), &verdict);
    }
    response
}

/// A request a `Delay` holds: if it is dropped still holding (the client hung up and the
/// server dropped the call), the mock counts it as abandoned.
struct Held(Option<Arc<Inner>>);

impl Held {
    /// The wait is over: nothing to count.
    fn release(mut self) {
        self.0 = None;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take() {
            inner.lock().abandoned += 1;
        }
    }
}

/// Marks a response a reverse proxy would have sent: no rate-limit headers.
#[derive(Clone, Copy)]
pub(crate) struct NoRateHeaders;

/// Layer 6: the next injected fault of the operation, if any.
pub(crate) async fn faults(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    let op = incoming(&req).trace().operation;
    let fault = op.and_then(|op| inner.lock().take_fault(op));
    let Some(fault) = fault else {
        return next.run(req).await;
    };
    match fault {
        Fault::Delay(d) => {
            // Dropped with the connection if the client hangs up meanwhile: counted, never run.
            let held = Held(Some(Arc::clone(&inner)));
            inner.clock.wait(d).await;
            held.release();
            next.run(req).await
        }
        Fault::SlowCommit(d) => {
            // Detached: the operation runs (and commits) whether or not the client still waits.
            let waiting = Arc::clone(&inner);
            let task = tokio::spawn(async move {
                waiting.clock.wait(d).await;
                next.run(req).await
            });
            task.await.unwrap_or_else(|_| faults::drop_response())
        }
        Fault::DropAfterCommit => {
            let _committed = next.run(req).await;
            faults::proxy_like(faults::drop_response())
        }
        Fault::AfterCommit(then) => {
            let committed = next.run(req).await;
            match *then {
                // Committed, then answered late (the client may have given up meanwhile).
                Fault::Delay(d) | Fault::SlowCommit(d) => {
                    inner.clock.wait(d).await;
                    committed
                }
                other => faults::replacement(&other),
            }
        }
        other => faults::replacement(&other),
    }
}
