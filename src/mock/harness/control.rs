//! The control API under `/_mock/` (no API token; loopback peers only): what `MockServer`'s
//! methods do, over HTTP, for tests in any language. A malformed request or an unknown
//! operationId gets a 400 naming the problem: `{"error": "..."}`.
//!
//! | endpoint | does | `MockServer` |
//! |---|---|---|
//! | `POST /_mock/reset` | back to the starting state | `reset()` |
//! | `POST /_mock/accounts` `{"balance", "token"}` | a new account: `{"username", "token", "index"}` | `accounts().add` |
//! | `PUT /_mock/accounts/{username}/balance` `{"balance"}` | sets a balance | `accounts().set_balance_of` |
//! | `POST /_mock/services` `{"count", "type", "country", "expires_in_seconds", "whitelist", "username"}` | services, not charged: `{"service_ids": [...]}` | `services().seed_with` |
//! | `GET /_mock/clock`, `POST /_mock/clock/advance` `{"seconds"}` | the mock's time: `{"now"}` | `clock().now`, `clock().advance` |
//! | `POST /_mock/faults` `{"operation", "fault", "times" \| "nth" \| "probability"}`, `GET`, `DELETE` | injected faults | `faults().inject`, `faults().inject_scheduled`, `faults().clear` |
//! | `POST /_mock/overrides` `{"operation", "response"}`, `DELETE` | drift simulation | `faults().override_response`, `faults().clear_overrides` |
//! | `GET /_mock/requests` | the requests received (Authorization redacted) | `records().requests` |
//! | `GET /_mock/stats` | `{"requests", "responses_by_status", "charges", "abandoned"}` | `records().stats` |
//! | `GET /_mock/state` | the state as a `--state` file | `accounts().export_state` |

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::fault::{FaultJson, Schedule};
use super::overrides::ResponseOverride;
use super::record::RecordedRequest;
use crate::mock::fake::ids::timestamp;
use crate::mock::fake::seed::ServiceSeed;
use crate::mock::shared::Mock;
use crate::operation::Operation;

/// The control routes, nested under `/_mock`.
pub(crate) fn router() -> Router<Arc<Mock>> {
    Router::new()
        .route("/reset", post(reset))
        .route("/accounts", post(add_account))
        .route("/accounts/{username}/balance", put(set_balance))
        .route("/services", post(seed_services))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route(
            "/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/overrides", post(add_override).delete(clear_overrides))
        .route("/requests", get(requests))
        .route("/stats", get(stats))
        .route("/state", get(state))
        .fallback(|req: Request| async move {
            refuse(
                StatusCode::NOT_FOUND,
                format!("no control endpoint {} {}", req.method(), req.uri().path()),
            )
        })
        .layer(from_fn(loopback_only))
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

fn bad(message: impl Into<String>) -> Response {
    refuse(StatusCode::BAD_REQUEST, message)
}

/// The control API answers loopback peers only, whatever address the mock listens on.
async fn loopback_only(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if peer.ip().to_canonical().is_loopback() {
        next.run(req).await
    } else {
        refuse(
            StatusCode::FORBIDDEN,
            "the control API answers loopback peers only",
        )
    }
}

/// A JSON body, or a 400 naming the field at fault (an empty body reads as `{}`).
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, String> {
    let text: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    let mut de = serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        if at == "." {
            format!("malformed request: {}", e.into_inner())
        } else {
            format!("malformed request at `{at}`: {}", e.into_inner())
        }
    })
}

/// A control request's JSON body, read with [`body`]; a malformed one is refused with a 400
/// before the handler runs.
struct Body<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        body(&bytes).map(Body).map_err(bad)
    }
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

async fn reset(State(mock): State<Arc<Mock>>) -> Response {
    mock.reset();
    ok(json!({"reset": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    #[serde(default)]
    balance: i64,
    #[serde(default)]
    token: Option<String>,
}

async fn add_account(State(mock): State<Arc<Mock>>, Body(new): Body<NewAccount>) -> Response {
    if let Some(t) = &new.token
        && mock.fake.lock().key_index(t).is_some()
    {
        return bad("that token is already a key");
    }
    let a = mock.fake.add_account(new.balance, new.token);
    ok(json!({"username": a.username, "token": a.token, "index": a.index}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Balance {
    balance: i64,
}

async fn set_balance(
    State(mock): State<Arc<Mock>>,
    Path(username): Path<String>,
    Body(b): Body<Balance>,
) -> Response {
    match mock.fake.account_named(&username) {
        Ok(i) => {
            mock.fake.lock().accounts[i].balance = b.balance;
            ok(json!({"username": username, "balance": b.balance}))
        }
        Err(e) => refuse(StatusCode::NOT_FOUND, e),
    }
}

async fn seed_services(State(mock): State<Arc<Mock>>, Body(seed): Body<ServiceSeed>) -> Response {
    match mock.fake.seed(&seed) {
        Ok(ids) => ok(json!({"service_ids": ids})),
        Err(e) => bad(e),
    }
}

fn now_json(mock: &Mock) -> Response {
    ok(json!({"now": timestamp(mock.fake.now())}))
}

async fn clock(State(mock): State<Arc<Mock>>) -> Response {
    now_json(&mock)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

async fn advance(State(mock): State<Arc<Mock>>, Body(a): Body<Advance>) -> Response {
    mock.fake
        .clock()
        .advance(std::time::Duration::from_secs(a.seconds));
    now_json(&mock)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFault {
    operation: Operation,
    fault: FaultJson,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    nth: Option<u32>,
    #[serde(default)]
    probability: Option<f64>,
}

async fn add_fault(State(mock): State<Arc<Mock>>, Body(f): Body<NewFault>) -> Response {
    let schedule = match (f.times, f.nth, f.probability) {
        (t, None, None) => Schedule::Times(t.unwrap_or(1)),
        (None, Some(n), None) => Schedule::Nth(n),
        (None, None, Some(p)) if (0.0..=1.0).contains(&p) => Schedule::Probability(p),
        (None, None, Some(p)) => return bad(format!("probability {p} is outside 0-1")),
        _ => return bad("give one of times, nth or probability"),
    };
    mock.harness.inject(f.operation, f.fault.into(), schedule);
    ok(json!({"operation": f.operation, "queued": true}))
}

async fn list_faults(State(mock): State<Arc<Mock>>) -> Response {
    let list: Vec<Value> = mock
        .harness
        .list_faults()
        .into_iter()
        .map(|(op, fault, schedule)| {
            json!({"operation": op, "fault": fault, "schedule": format!("{schedule:?}")})
        })
        .collect();
    ok(json!({"faults": list}))
}

async fn clear_faults(State(mock): State<Arc<Mock>>) -> Response {
    mock.harness.clear_faults();
    ok(json!({"cleared": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOverride {
    operation: Operation,
    response: ResponseOverride,
}

async fn add_override(State(mock): State<Arc<Mock>>, Body(o): Body<NewOverride>) -> Response {
    mock.harness.override_response(o.operation, o.response);
    ok(json!({"operation": o.operation, "set": true}))
}

async fn clear_overrides(State(mock): State<Arc<Mock>>) -> Response {
    mock.harness.clear_overrides();
    ok(json!({"cleared": true}))
}

fn request_json(r: &RecordedRequest) -> Value {
    json!({
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "headers": r.headers,
        "auth": format!("{:?}", r.auth),
        "operation": r.operation,
        "verdict": r.verdict.describe(),
        "status": r.status,
        "body": String::from_utf8_lossy(&r.body),
    })
}

async fn requests(State(mock): State<Arc<Mock>>) -> Response {
    let list: Vec<Value> = mock
        .harness
        .log()
        .requests
        .iter()
        .map(request_json)
        .collect();
    ok(json!({"requests": list}))
}

async fn stats(State(mock): State<Arc<Mock>>) -> Response {
    let stats = mock.harness.log().stats();
    ok(serde_json::to_value(stats).unwrap_or(Value::Null))
}

async fn state(State(mock): State<Arc<Mock>>) -> Response {
    ok(serde_json::to_value(mock.fake.export_state()).unwrap_or(Value::Null))
}
