//! The request pipeline as axum middleware, one concern each, outermost first:
//!
//! 1. [`record`]: buffers the body (bounded), records the request and its verdict, appends it to
//!    the account's `GET /logs`;
//! 2. [`validate`]: checks path, query and body against the spec (the verdict is recorded even
//!    when a 401, 429 or fault answers first);
//! 3. [`authenticate`]: the bearer token (`401 invalid_token`);
//! 4. [`overrides`]: drift simulation, the (checked) answer reshaped as asked;
//! 5. [`check_response`]: the handler's answer checked against the spec;
//! 6. [`rate_limit`]: the per-key windows (`429 rate_limited`), and the `X-RateLimit-*` headers
//!    of every answer to a valid key;
//! 7. [`faults`]: injected failures;
//! 8. the handler (`app::dispatch`): the fake's documented behaviour.
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
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::Value;

use super::reply::{self, NoRateHeaders, error_response};
use crate::clock::TIME_SCALE_HEADER;
use crate::conformance::routes::path_values;
use crate::conformance::validate::{self, Rejection, Validated};
use crate::mock::fake::model::LogEntry;
use crate::mock::fake::ratelimit::Verdict;
use crate::mock::fake::state::State as FakeState;
use crate::mock::harness::fault::Fault;
use crate::mock::harness::record::{AuthStatus, RecordedRequest, RequestVerdict};
use crate::mock::shared::Mock;
use crate::operation::Operation;
use crate::types::ErrorCode;

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
        crate::sync::lock(&self.trace)
    }
}

/// The body of a handler's answer, kept for response validation and overrides (faults and
/// 429s have none).
#[derive(Clone)]
pub(crate) struct HandlerBody(pub(crate) Arc<Value>, pub(crate) Operation);

fn incoming(req: &Request) -> Incoming {
    req.extensions()
        .get::<Incoming>()
        .cloned()
        .expect("the record layer runs first")
}

/// Layer 1: buffer, record, log; the answer dated by the mock's clock.
pub(crate) async fn record(
    State(mock): State<Arc<Mock>>,
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
    let now = mock.fake.now();
    let trace = Arc::new(Mutex::new(Trace::default()));
    let inc = Incoming {
        body: bytes.clone(),
        too_large,
        ip,
        now,
        trace: trace.clone(),
    };
    parts.extensions.insert(inc);
    let clients_scale = parts.headers.get(TIME_SCALE_HEADER).cloned();
    let mut rec = RecordedRequest::new(&parts, bytes);
    let mut response = next.run(Request::from_parts(parts, Body::empty())).await;
    in_clients_seconds(
        response.headers_mut(),
        mock.fake.clock().time_scale(),
        clients_scale,
    );
    // `Date` is the mock's time, not the wall clock's: a client that reads the server's time
    // (what is due, what expires) sees the mock's clock, advanced or scaled.
    if let Ok(date) =
        http::HeaderValue::from_str(&now.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        response.headers_mut().insert(http::header::DATE, date);
    }
    let t = std::mem::take(&mut *crate::sync::lock(&trace));
    rec.operation = t.operation;
    rec.auth = t.auth.unwrap_or(AuthStatus::NotChecked);
    rec.verdict = t.verdict.unwrap_or(RequestVerdict::NotValidated);
    rec.status = response.status().as_u16();
    if let Some(account) = t.account {
        let entry = LogEntry::new(now, &rec.method, &rec.path, rec.status, ip);
        mock.fake.log(account, entry);
    }
    tracing::debug!(method = %rec.method, path = %rec.path, status = rec.status, "mock request");
    mock.harness.log().record(rec);
    response
}

/// The durations of an answer (`Retry-After`, `X-RateLimit-Reset`) in the client's seconds: on a
/// scaled mock (`mock_scale`, `None` on virtual time) real seconds, so that a client outside
/// the process waits real time that matches the scale, or the seconds of the clock the
/// request's [`TIME_SCALE_HEADER`] names (a client sharing the mock's clock: its own seconds,
/// exactly), which the answer then names too. Rounded up: a client never comes back early. A
/// reset that is a Unix timestamp is left as it is.
fn in_clients_seconds(
    headers: &mut HeaderMap,
    mock_scale: Option<f64>,
    clients_scale: Option<HeaderValue>,
) {
    let Some(mock_scale) = mock_scale else {
        return;
    };
    let asked = clients_scale.filter(|v| {
        v.to_str()
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .is_some_and(|n| n.is_finite() && n > 0.0 && n <= crate::clock::MAX_TIME_SCALE)
    });
    let clients = asked
        .as_ref()
        .and_then(|v| v.to_str().ok()?.trim().parse::<f64>().ok())
        .unwrap_or(1.0);
    if let Some(v) = asked {
        headers.insert(TIME_SCALE_HEADER, v);
    }
    let factor = clients / mock_scale;
    if factor == 1.0 {
        return;
    }
    for name in [header::RETRY_AFTER.as_str(), "x-ratelimit-reset"] {
        let Some(secs) = headers
            .get(name)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .filter(|s| *s < crate::ratelimit::UNIX_TIMESTAMP_FLOOR)
        else {
            continue;
        };
        let theirs = (secs as f64 * factor).ceil().min(u64::MAX as f64) as u64;
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            headers.insert(name, HeaderValue::from(theirs));
        }
    }
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
    State(mock): State<Arc<Mock>>,
    mut req: Request,
    next: Next,
) -> Response {
    let inc = incoming(&req);
    let Some((op, template)) = operation_of(&req, &mock.routes.base_path) else {
        return next.run(req).await;
    };
    let spec = mock.routes.spec(op);
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
                code: ErrorCode::parse(&r.code),
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
    state: &FakeState,
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
    State(mock): State<Arc<Mock>>,
    req: Request,
    next: Next,
) -> Response {
    let inc = incoming(&req);
    let (auth, key) = {
        let st = mock.fake.lock();
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
            ErrorCode::InvalidToken,
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

/// Layer 6: the per-key windows; their headers on every answer to a valid key (but those a
/// reverse proxy would have produced: an HTML 502, a dropped connection).
pub(crate) async fn rate_limit(
    State(mock): State<Arc<Mock>>,
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
        let mut st = mock.fake.lock();
        let limits = st.limits.clone();
        st.keys[key].windows.check(&limits, op, inc.now)
    };
    if let Some(retry) = verdict.retry_after {
        let mut r = error_response(
            ErrorCode::RateLimited,
            "rate limit exceeded; see Retry-After",
        );
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
struct Held(Option<Arc<Mock>>);

impl Held {
    /// The wait is over: nothing to count.
    fn release(mut self) {
        self.0 = None;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take() {
            inner.harness.log().abandoned += 1;
        }
    }
}

/// Layer 7: the next injected fault of the operation, if any.
pub(crate) async fn faults(State(mock): State<Arc<Mock>>, req: Request, next: Next) -> Response {
    let op = incoming(&req).trace().operation;
    let fault = op.and_then(|op| mock.harness.take_fault(op));
    let Some(fault) = fault else {
        return next.run(req).await;
    };
    match fault {
        Fault::Delay(d) => {
            // Dropped with the connection if the client hangs up meanwhile: counted, never run.
            let held = Held(Some(Arc::clone(&mock)));
            mock.fake.clock().wait(d).await;
            held.release();
            next.run(req).await
        }
        Fault::SlowCommit(d) => {
            // Detached: the operation runs (and commits) whether or not the client still waits.
            let waiting = Arc::clone(&mock);
            let task = tokio::spawn(async move {
                waiting.fake.clock().wait(d).await;
                next.run(req).await
            });
            task.await.unwrap_or_else(|_| reply::drop_response())
        }
        Fault::DropAfterCommit => {
            let _committed = next.run(req).await;
            reply::proxy_like(reply::drop_response())
        }
        Fault::AfterCommit(then) => {
            let committed = next.run(req).await;
            match *then {
                // Committed, then answered late (the client may have given up meanwhile).
                Fault::Delay(d) | Fault::SlowCommit(d) => {
                    mock.fake.clock().wait(d).await;
                    committed
                }
                other => reply::replacement(&other),
            }
        }
        other => reply::replacement(&other),
    }
}

/// Layer 5: checks a handler's answer (status, content type, body, required headers) against the spec;
/// a mismatch becomes a loud 500 naming it, recorded in `schema_violations`.
pub(crate) async fn check_response(
    State(mock): State<Arc<Mock>>,
    req: Request,
    next: Next,
) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let response = next.run(req).await;
    let Some(HandlerBody(body, op)) = response.extensions().get::<HandlerBody>().cloned() else {
        return response;
    };
    if !mock.validate_responses {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let header = |n: &str| {
        response
            .headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let spec = mock.routes.spec(op);
    let status = response.status().as_u16();
    let Err(msg) = validate::response(&spec.responses, status, content_type, &body, &header) else {
        return response;
    };
    let msg = format!("{op} {method} {path}: response does not match the spec: {msg}");
    tracing::error!("{msg}");
    mock.harness.log().violations.push(msg.clone());
    let mut out = error_response(ErrorCode::ServerError, msg);
    for (k, v) in response.headers() {
        if k.as_str().starts_with("x-ratelimit-") {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// Layer 4: reshapes a handler's successful answer when its operation has an override.
pub(crate) async fn overrides(State(mock): State<Arc<Mock>>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let Some(HandlerBody(body, op)) = response.extensions().get::<HandlerBody>().cloned() else {
        return response;
    };
    if !response.status().is_success() {
        return response;
    }
    let Some(o) = mock.harness.take_override(op) else {
        return response;
    };
    let (mut parts, old) = response.into_parts();
    let mut json = o.body.clone().unwrap_or_else(|| (*body).clone());
    for t in &o.transforms {
        t.apply(&mut json);
    }
    let new_body = match (&json, o.body.is_none() && o.transforms.is_empty()) {
        (_, true) => old,
        (Value::String(text), false) if body.is_string() => Body::from(text.clone()),
        (other, false) => Body::from(other.to_string()),
    };
    if let Some(s) = o.status.and_then(|s| StatusCode::from_u16(s).ok()) {
        parts.status = s;
    }
    for (name, value) in &o.headers {
        let Ok(name) = HeaderName::try_from(name.as_str()) else {
            continue;
        };
        match value.as_deref().map(HeaderValue::from_str) {
            Some(Ok(v)) => {
                parts.headers.insert(name, v);
            }
            Some(Err(_)) => {}
            None => {
                parts.headers.remove(name);
            }
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, new_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer saying `Retry-After: retry` and `X-RateLimit-Reset: reset`, as a mock at
    /// `mock` scale states it to a client that asked for `client` (`None`: did not ask).
    fn stated(retry: &str, reset: &str, mock: Option<f64>, client: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_str(retry).unwrap());
        h.insert("x-ratelimit-reset", HeaderValue::from_str(reset).unwrap());
        let asked = client.map(|c| HeaderValue::from_str(c).unwrap());
        in_clients_seconds(&mut h, mock, asked);
        h
    }

    fn get<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
        h.get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn a_scaled_mock_states_real_seconds_unless_the_client_shares_its_clock() {
        // 10x: a window of 60 mock seconds lasts 6 real ones; 5 mock seconds round up to 1.
        let h = stated("60", "5", Some(10.0), None);
        assert_eq!(get(&h, "retry-after"), Some("6"));
        assert_eq!(get(&h, "x-ratelimit-reset"), Some("1"));
        assert_eq!(get(&h, TIME_SCALE_HEADER), None);
        // A client on the mock's own clock gets the mock's seconds, and is told so.
        let h = stated("60", "5", Some(10.0), Some("10"));
        assert_eq!(get(&h, "retry-after"), Some("60"));
        assert_eq!(get(&h, "x-ratelimit-reset"), Some("5"));
        assert_eq!(get(&h, TIME_SCALE_HEADER), Some("10"));
        // A client on another scale gets its own seconds.
        let h = stated("60", "5", Some(10.0), Some("20"));
        assert_eq!(get(&h, "retry-after"), Some("120"));
        // Virtual time: nothing to convert; a timestamp or garbage is left alone; a scale
        // that is no scale is not honoured.
        let h = stated("60", "5", None, Some("10"));
        assert_eq!(get(&h, "retry-after"), Some("60"));
        assert_eq!(get(&h, TIME_SCALE_HEADER), None);
        let h = stated("soon", "1900000000", Some(10.0), None);
        assert_eq!(get(&h, "retry-after"), Some("soon"));
        assert_eq!(get(&h, "x-ratelimit-reset"), Some("1900000000"));
        for bad in ["0", "-3", "NaN", "inf", "x"] {
            let h = stated("60", "5", Some(10.0), Some(bad));
            assert_eq!(get(&h, "retry-after"), Some("6"), "{bad}");
            assert_eq!(get(&h, TIME_SCALE_HEADER), None, "{bad}");
        }
    }
}
