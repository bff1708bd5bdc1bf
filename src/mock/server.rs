//! The request pipeline: route, authenticate, rate-limit, inject faults, validate, handle,
//! validate the response, log and record.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State as AxState};
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde_json::{Map, Value};

use super::clock::Clock;
use super::faults::{self, Fault};
use super::handlers::{self, Ctx, Reply};
use super::ratelimit;
use super::record::{AuthStatus, RecordedRequest, RequestVerdict};
use super::routes::{RouteMatch, RouteTable};
use super::state::{LogEntry, State};
use super::validate;

/// Request bodies larger than this are refused with `invalid_request`.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The shared server internals.
pub(crate) struct Inner {
    pub(crate) routes: Arc<RouteTable>,
    pub(crate) state: Mutex<State>,
    pub(crate) clock: Clock,
    pub(crate) validate_responses: bool,
}

impl Inner {
    /// Locks the state (a poisoned lock is still usable: the state is plain data).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The axum entry point (a fallback handler: the route table is the spec's, not axum's).
pub(crate) async fn entry(
    AxState(inner): AxState<Arc<Inner>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    handle(&inner, peer.ip().to_canonical(), req).await
}

/// A response under construction.
struct Out {
    status: u16,
    content_type: &'static str,
    body: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Out {
    fn from_reply(reply: Reply) -> (Self, Value) {
        match reply {
            Reply::Json(status, v) => (
                Out {
                    status,
                    content_type: "application/json",
                    body: v.to_string(),
                    headers: Vec::new(),
                },
                v,
            ),
            Reply::Text(status, t) => (
                Out {
                    status,
                    content_type: "text/plain; charset=utf-8",
                    body: t.clone(),
                    headers: Vec::new(),
                },
                Value::String(t),
            ),
        }
    }

    fn rate_headers(&mut self, v: &ratelimit::Verdict) {
        self.headers.push((
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderValue::from(v.limit),
        ));
        self.headers.push((
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderValue::from(v.remaining),
        ));
        self.headers.push((
            HeaderName::from_static("x-ratelimit-reset"),
            HeaderValue::from(v.reset_secs),
        ));
        if let Some(r) = v.retry_after {
            self.headers
                .push((header::RETRY_AFTER, HeaderValue::from(r)));
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .and_then(|(_, v)| v.to_str().ok())
            .map(str::to_string)
    }

    fn into_response(self) -> Response {
        let mut r = Response::new(Body::from(self.body));
        *r.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        for (k, v) in self.headers {
            r.headers_mut().append(k, v);
        }
        r
    }
}

fn error_out(status: u16, code: &str, message: impl Into<String>) -> Out {
    Out::from_reply(handlers::error(status, code, message)).0
}

/// Authenticates a request: (status, key index when valid).
fn authenticate(state: &State, headers: &HeaderMap, ip: IpAddr) -> (AuthStatus, Option<usize>) {
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

/// Runs one request through the pipeline.
async fn handle(inner: &Inner, ip: IpAddr, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let (bytes, too_large) = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => (b, false),
        Err(_) => (bytes::Bytes::new(), true),
    };
    let mut rec = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if *k == header::AUTHORIZATION {
                    "<redacted>".to_string()
                } else {
                    String::from_utf8_lossy(v.as_bytes()).into_owned()
                };
                (k.as_str().to_string(), v)
            })
            .collect(),
        auth: AuthStatus::NotChecked,
        body: bytes.clone(),
        operation: None,
        verdict: RequestVerdict::NotValidated,
        status: 0,
    };
    let now = inner.clock.now();
    let base = &inner.routes.base_path;

    // The document itself: no authentication.
    if path.strip_prefix(base.as_str()) == Some("/openapi.json") {
        let out = if method == Method::GET {
            Out {
                status: 200,
                content_type: "application/json",
                body: crate::spec::OPENAPI_JSON.to_string(),
                headers: Vec::new(),
            }
        } else {
            let mut o = error_out(
                405,
                "method_not_allowed",
                format!("{method} is not allowed here"),
            );
            o.headers
                .push((header::ALLOW, HeaderValue::from_static("GET")));
            o
        };
        rec.status = out.status;
        inner.lock().record(rec);
        return out.into_response();
    }

    let route = match path.strip_prefix(base.as_str()) {
        Some(rel) => inner.routes.matches(rel, &method),
        None => RouteMatch::NotFound,
    };
    let (op_index, path_values) = match route {
        RouteMatch::Found(i, values) => (Some(i), values),
        _ => (None, Vec::new()),
    };
    let op = op_index.map(|i| &inner.routes.operations[i]);
    rec.operation = op.map(|o| o.op);

    // Authenticate, rate-limit and take a fault, under one short lock.
    let (key, rate, fault, account) = {
        let mut st = inner.lock();
        let (auth, key) = authenticate(&st, &parts.headers, ip);
        rec.auth = auth;
        let rate = key.map(|k| {
            let limits = st.limits.clone();
            st.keys[k].windows.check(&limits, op.map(|o| o.op), now)
        });
        let fault = match (op, key, rate) {
            (Some(o), Some(_), Some(r)) if r.retry_after.is_none() => st.take_fault(o.op),
            _ => None,
        };
        (key, rate, fault, key.map(|k| st.keys[k].account))
    };

    let finish = |rec: RecordedRequest, out: Out| -> Response {
        let mut st = inner.lock();
        if let Some(a) = account {
            st.log(
                a,
                LogEntry {
                    id: 0,
                    created_at: now,
                    method: rec.method.clone(),
                    path: rec.path.clone(),
                    http_status: out.status,
                    ip: ip.to_string(),
                },
            );
        }
        let mut rec = rec;
        rec.status = out.status;
        tracing::debug!(method = %rec.method, path = %rec.path, status = out.status, "mock request");
        st.record(rec);
        drop(st);
        out.into_response()
    };

    // Unknown path or method: 404 / 405 (rate-limit headers when the key is valid).
    let Some(op) = op else {
        let mut out = match route_allowed(&inner.routes, &path, base, &method) {
            Some(allowed) => {
                let mut o = error_out(
                    405,
                    "method_not_allowed",
                    format!("{method} is not allowed on {path}"),
                );
                let allow = allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    o.headers.push((header::ALLOW, v));
                }
                o
            }
            None => error_out(404, "not_found", format!("no such path: {path}")),
        };
        if let Some(r) = &rate {
            out.rate_headers(r);
        }
        return finish(rec, out);
    };

    // Validate the request against the spec. The verdict is recorded even when the response
    // is decided first (401, 429, an injected fault), so every request a client sends is checked.
    let body_too_large = too_large.then_some(MAX_BODY);
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let validated = validate_request(
        op,
        &path_values,
        query.as_deref(),
        content_type,
        &bytes,
        body_too_large,
    );
    rec.verdict = match &validated {
        Err(r) => RequestVerdict::Invalid {
            code: r.code.to_string(),
            message: r.message.clone(),
        },
        Ok(_) => RequestVerdict::Valid,
    };

    let Some(key) = key else {
        let out = error_out(
            401,
            "invalid_token",
            "missing, malformed, unknown or revoked API key, or source IP not allowed",
        );
        return finish(rec, out);
    };
    let _ = key;
    let rate = rate.unwrap_or(ratelimit::Verdict {
        limit: 0,
        remaining: 0,
        reset_secs: 0,
        retry_after: None,
    });
    if rate.retry_after.is_some() {
        let mut out = error_out(429, "rate_limited", "rate limit exceeded; see Retry-After");
        out.rate_headers(&rate);
        return finish(rec, out);
    }

    // Injected faults.
    let mut drop_after = false;
    match &fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::DropAfterCommit) => drop_after = true,
        Some(f) => {
            let mut resp = faults::replacement(f).unwrap_or_else(faults::drop_response);
            if !matches!(f, Fault::Html502 | Fault::DropBeforeResponse) {
                let mut tmp = Out {
                    status: 0,
                    content_type: "",
                    body: String::new(),
                    headers: Vec::new(),
                };
                tmp.rate_headers(&ratelimit::Verdict {
                    retry_after: None,
                    ..rate
                });
                for (k, v) in tmp.headers {
                    resp.headers_mut().entry(k).or_insert(v);
                }
            }
            let mut st = inner.lock();
            if let Some(a) = account {
                st.log(
                    a,
                    LogEntry {
                        id: 0,
                        created_at: now,
                        method: rec.method.clone(),
                        path: rec.path.clone(),
                        http_status: resp.status().as_u16(),
                        ip: ip.to_string(),
                    },
                );
            }
            rec.status = resp.status().as_u16();
            st.record(rec);
            return resp;
        }
        None => {}
    }

    let reply = match validated {
        Err(r) => handlers::error(400, &r.code, r.message),
        Ok(Validated {
            path_params,
            query_params,
            body,
        }) => {
            let mut st = inner.lock();
            let account = account.unwrap_or(0);
            let mut ctx = Ctx {
                state: &mut st,
                account,
                now,
                path: &path_params,
                query: &query_params,
                body: body.as_ref(),
            };
            let reply = (op.handler)(&mut ctx);
            if reply.status() == 200 {
                *st.executions.entry(op.op).or_insert(0) += 1;
            }
            reply
        }
    };

    let (mut out, value) = Out::from_reply(reply);
    out.rate_headers(&rate);
    if inner.validate_responses
        && let Err(msg) =
            validate::response(&op.responses, out.status, out.content_type, &value, &|n| {
                out.header(n)
            })
    {
        let msg = format!(
            "{} {method} {path}: response does not match the spec: {msg}",
            op.op
        );
        tracing::error!("{msg}");
        inner.lock().violations.push(msg.clone());
        let mut o = error_out(500, "server_error", msg);
        o.rate_headers(&rate);
        out = o;
    }
    let resp = finish(rec, out);
    if drop_after {
        return faults::drop_response();
    }
    resp
}

/// For a path under the base path that exists with other methods, the allowed methods.
fn route_allowed(
    routes: &RouteTable,
    path: &str,
    base: &str,
    method: &Method,
) -> Option<Vec<Method>> {
    match path
        .strip_prefix(base)
        .map(|rel| routes.matches(rel, method))
    {
        Some(RouteMatch::MethodNotAllowed(m)) => Some(m),
        _ => None,
    }
}

/// A request's validated input.
struct Validated {
    path_params: Map<String, Value>,
    query_params: Map<String, Value>,
    body: Option<Value>,
}

/// Validates path, query and body of a request routed to `op`.
fn validate_request(
    op: &super::routes::RouteOp,
    path_values: &[&str],
    query: Option<&str>,
    content_type: Option<&str>,
    bytes: &[u8],
    body_too_large: Option<usize>,
) -> Result<Validated, validate::Rejection> {
    let path_params = validate::path_params(&op.path_params, path_values)?;
    let query_params = validate::query_params(&op.query_params, query)?;
    let body = match &op.body {
        Some(_) if body_too_large.is_some() => {
            return Err(validate::Rejection::new(
                "invalid_request",
                format!("request body larger than {MAX_BODY} bytes"),
            ));
        }
        Some(spec) => validate::body(spec, content_type, bytes)?,
        None => None,
    };
    Ok(Validated {
        path_params,
        query_params,
        body,
    })
}
