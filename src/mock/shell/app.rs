//! The mock as an axum [`Router`]: one route per [`Operation`] (method and path from the
//! generated table), the layers of [`pipeline`](super::pipeline), the fake's answer to each
//! operation, and the answers to everything else (404, 405, the spec itself).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, get};
use http::{HeaderValue, header};
use serde_json::Value;

use super::pipeline::{self, Checked, HandlerBody, Incoming};
use super::reply::{error_response, reply_response};
use crate::mock::fake::api::Input;
use crate::mock::fake::handlers::Reply;
use crate::mock::harness::control;
use crate::mock::shared::Mock;
use crate::operation::Operation;
use crate::types::ErrorCode;

/// The whole app: the API under the spec's base path, `GET {base}/openapi.json`, the control
/// API under `/_mock/`.
pub(crate) fn router(mock: Arc<Mock>) -> Router {
    let base = mock.routes.base_path.clone();
    let mut by_path: BTreeMap<String, MethodRouter<Arc<Mock>>> = BTreeMap::new();
    for op in Operation::ALL {
        let path = format!("{base}{}", op.path());
        let filter = MethodFilter::try_from(op.method()).expect("the spec's methods are routable");
        let handler = move |State(mock): State<Arc<Mock>>, req: Request| dispatch(mock, op, req);
        let entry = by_path.remove(&path).unwrap_or_default();
        by_path.insert(path, entry.on(filter, handler));
    }
    let mut api = Router::new();
    for (path, methods) in by_path {
        api = api.route(&path, methods);
    }
    // `layer` wraps what is there: the last one added runs first.
    let i = || mock.clone();
    let api = api
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(i(), pipeline::faults))
        .layer(from_fn_with_state(i(), pipeline::rate_limit))
        .layer(from_fn_with_state(i(), pipeline::check_response))
        .layer(from_fn_with_state(i(), pipeline::overrides))
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
        .with_state(mock)
}

/// The handler of every operation: 400 for a refused request, else the fake's answer.
async fn dispatch(mock: Arc<Mock>, op: Operation, req: Request) -> Response {
    let inc = req.extensions().get::<Incoming>().cloned();
    let checked = req.extensions().get::<Checked>().cloned();
    let (Some(inc), Some(Checked(checked))) = (inc, checked) else {
        return error_response(ErrorCode::ServerError, "the pipeline did not run");
    };
    let reply = match checked {
        Err(r) => Reply::error_status(400, &ErrorCode::parse(&r.code), r.message),
        Ok(v) => {
            let account = inc.trace().account.unwrap_or(0);
            let input = Input {
                path: &v.path_params,
                query: &v.query_params,
                body: v.body.as_ref(),
            };
            let reply = mock.fake.answer(op, account, inc.now, input);
            if reply.status() == 200 {
                *mock.harness.log().executions.entry(op).or_insert(0) += 1;
            }
            reply
        }
    };
    let body = match &reply {
        Reply::Json(_, v) => v.clone(),
        Reply::Text(_, t) => Value::String(t.clone()),
    };
    let mut response = reply_response(reply);
    response
        .extensions_mut()
        .insert(HandlerBody(Arc::new(body), op));
    response
}

async fn not_found(req: Request) -> Response {
    error_response(
        ErrorCode::NotFound,
        format!("no such path: {}", req.uri().path()),
    )
}

/// 405 with `Allow`: the methods the table has for this path.
async fn method_not_allowed(State(mock): State<Arc<Mock>>, req: Request) -> Response {
    let path = req.uri().path();
    let rel = path
        .strip_prefix(mock.routes.base_path.as_str())
        .unwrap_or(path);
    let allowed: Vec<String> = Operation::ALL
        .into_iter()
        .filter(|op| crate::conformance::routes::path_values(op.path(), rel).is_some())
        .map(|op| op.method().to_string())
        .collect();
    let mut r = error_response(
        ErrorCode::MethodNotAllowed,
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
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed here", req.method()),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    r
}
