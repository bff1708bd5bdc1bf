//! The mock as an axum [`Router`]: one route per [`Operation`] (method and path from the
//! generated table), the layers of [`pipeline`](super::pipeline), the handler of each operation
//! over the typed state, and the answers to everything else (404, 405, the spec itself).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, get};
use http::{HeaderValue, header};
use serde_json::Value;

use super::Inner;
use super::handlers::{self, Ctx};
use super::pipeline::{self, Checked, Incoming, error_response, reply_response};
use super::{control, overrides};
use crate::conformance::validate;
use crate::operation::Operation;

/// The whole app: the API under the spec's base path, `GET {base}/openapi.json`, the control
/// API under `/_mock/`.
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    let base = inner.routes.base_path.clone();
    let mut by_path: BTreeMap<String, MethodRouter<Arc<Inner>>> = BTreeMap::new();
    for op in Operation::ALL {
        let path = format!("{base}{}", op.path());
        let filter = MethodFilter::try_from(op.method()).expect("the spec's methods are routable");
        let handler = move |State(inner): State<Arc<Inner>>, req: Request| dispatch(inner, op, req);
        let entry = by_path.remove(&path).unwrap_or_default();
        by_path.insert(path, entry.on(filter, handler));
    }
    let mut api = Router::new();
    for (path, methods) in by_path {
        api = api.route(&path, methods);
    }
    // `layer` wraps what is there: the last one added runs first.
    let i = || inner.clone();
    let api = api
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(i(), pipeline::faults))
        .layer(from_fn_with_state(i(), pipeline::rate_limit))
        .layer(from_fn_with_state(i(), check_response))
        .layer(from_fn_with_state(i(), overrides::apply))
        .layer(from_fn_with_state(i(), pipeline::authenticate))
        .layer(from_fn_with_state(i(), pipeline::validate));
    Router::new()
        .route(
            &format!("{base}/openapi.json"),
            get(openapi).fallback(openapi_not_allowed),
        )
        .merge(api)
        .layer(from_fn_with_state(i(), pipeline::record))
        // After the record layer: control requests are not the API's (not recorded or logged).
        .nest("/_mock", control::router())
        .with_state(inner)
}

/// The body of a handler's answer, kept for response validation (faults and 429s have none).
#[derive(Clone)]
pub(crate) struct HandlerBody(pub(crate) Arc<Value>, pub(crate) Operation);

/// The handler of every operation: 400 for a refused request, else the operation's behaviour.
async fn dispatch(inner: Arc<Inner>, op: Operation, req: Request) -> Response {
    let inc = req.extensions().get::<Incoming>().cloned();
    let checked = req.extensions().get::<Checked>().cloned();
    let (Some(inc), Some(Checked(checked))) = (inc, checked) else {
        return error_response(500, "server_error", "the pipeline did not run");
    };
    let reply = match checked {
        Err(r) => handlers::error(400, &r.code, r.message),
        Ok(v) => {
            let mut st = inner.lock();
            let account = inc.trace().account.unwrap_or(0);
            let mut ctx = Ctx {
                state: &mut st,
                account,
                now: inc.now,
                path: &v.path_params,
                query: &v.query_params,
                body: v.body.as_ref(),
                gateways: &inner.gateways,
            };
            let reply = handlers::handler_for(op)(&mut ctx);
            if reply.status() == 200 {
                *st.executions.entry(op).or_insert(0) += 1;
            }
            reply
        }
    };
    let body = match &reply {
        handlers::Reply::Json(_, v) => v.clone(),
        handlers::Reply::Text(_, t) => Value::String(t.clone()),
    };
    let mut response = reply_response(reply);
    response
        .extensions_mut()
        .insert(HandlerBody(Arc::new(body), op));
    response
}

/// Checks a handler's answer (status, content type, body, required headers) against the spec;
/// a mismatch becomes a loud 500 naming it, recorded in `schema_violations`.
async fn check_response(State(inner): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let response = next.run(req).await;
    let Some(HandlerBody(body, op)) = response.extensions().get::<HandlerBody>().cloned() else {
        return response;
    };
    if !inner.validate_responses {
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
    let spec = inner.routes.spec(op);
    let status = response.status().as_u16();
    let Err(msg) = validate::response(&spec.responses, status, content_type, &body, &header) else {
        return response;
    };
    let msg = format!("{op} {method} {path}: response does not match the spec: {msg}");
    tracing::error!("{msg}");
    inner.lock().violations.push(msg.clone());
    let mut out = error_response(500, "server_error", msg);
    for (k, v) in response.headers() {
        if k.as_str().starts_with("x-ratelimit-") {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

async fn not_found(req: Request) -> Response {
    error_response(
        404,
        "not_found",
        format!("no such path: {}", req.uri().path()),
    )
}

/// 405 with `Allow`: the methods the table has for this path.
async fn method_not_allowed(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let path = req.uri().path();
    let rel = path
        .strip_prefix(inner.routes.base_path.as_str())
        .unwrap_or(path);
    let allowed: Vec<String> = Operation::ALL
        .into_iter()
        .filter(|op| crate::conformance::routes::path_values(op.path(), rel).is_some())
        .map(|op| op.method().to_string())
        .collect();
    let mut r = error_response(
        405,
        "method_not_allowed",
        format!("{} is not allowed on {path}", req.method()),
    );
    if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

async fn openapi() -> Response {
    let mut r = Response::new(axum::body::Body::from(crate::spec::OPENAPI_JSON));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn openapi_not_allowed(req: Request) -> Response {
    let mut r = error_response(
        405,
        "method_not_allowed",
        format!("{} is not allowed here", req.method()),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    r
}
