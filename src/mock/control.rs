//! The control API under `/_mock/` (no API token; loopback peers only): what `MockServer`'s
//! methods do, over HTTP, for tests in any language. A malformed request or an unknown
//! operationId gets a 400 naming the problem: `{"error": "..."}`.
//!
//! | endpoint | does | `MockServer` |
//! |---|---|---|
//! | `POST /_mock/reset` | back to the starting state | `reset` |
//! | `POST /_mock/accounts` `{"balance", "token"}` | a new account: `{"username", "token", "index"}` | `add_account` |
//! | `PUT /_mock/accounts/{username}/balance` `{"balance"}` | sets a balance | `set_balance_of` |
//! | `POST /_mock/services` `{"count", "type", "country", "expires_in_seconds", "whitelist", "username"}` | services, not charged: `{"service_ids": [...]}` | `seed_services_with` |
//! | `GET /_mock/clock`, `POST /_mock/clock/advance` `{"seconds"}` | the mock's time: `{"now"}` | `now`, `advance` |
//! | `POST /_mock/faults` `{"operation", "fault", "times" \| "nth" \| "probability"}`, `GET`, `DELETE` | injected faults | `inject`, `inject_scheduled`, `clear_faults` |
//! | `POST /_mock/overrides` `{"operation", "response"}`, `DELETE` | drift simulation | `override_response`, `clear_overrides` |
//! | `GET /_mock/requests` | the requests received (Authorization redacted) | `requests` |
//! | `GET /_mock/stats` | `{"requests", "responses_by_status", "charges", "abandoned"}` | `stats` |
//! | `GET /_mock/state` | the state as a `--state` file | `export_state` |

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

use super::Inner;
use super::overrides::ResponseOverride;
use super::record::RecordedRequest;
use super::scenario::ServiceSeed;
use super::schedule::{FaultJson, Schedule};
use crate::operation::Operation;

/// The control routes, nested under `/_mock`.
pub(crate) fn router() -> Router<Arc<Inner>> {
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

async fn reset(State(inner): State<Arc<Inner>>) -> Response {
    inner.reset();
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

async fn add_account(State(inner): State<Arc<Inner>>, Body(new): Body<NewAccount>) -> Response {
    if let Some(t) = &new.token
        && inner.lock().key_index(t).is_some()
    {
        return bad("that token is already a key");
    }
    let a = inner.add_account(new.balance, new.token);
    ok(json!({"username": a.username, "token": a.token, "index": a.index}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Balance {
    balance: i64,
}

async fn set_balance(
    State(inner): State<Arc<Inner>>,
    Path(username): Path<String>,
    Body(b): Body<Balance>,
) -> Response {
    match inner.account_named(&username) {
        Ok(i) => {
            inner.lock().accounts[i].balance = b.balance;
            ok(json!({"username": username, "balance": b.balance}))
        }
        Err(e) => refuse(StatusCode::NOT_FOUND, e),
    }
}

async fn seed_services(State(inner): State<Arc<Inner>>, Body(seed): Body<ServiceSeed>) -> Response {
    match inner.seed(&seed) {
        Ok(ids) => ok(json!({"service_ids": ids})),
        Err(e) => bad(e),
    }
}

fn now_json(inner: &Inner) -> Response {
    ok(json!({"now": super::handlers::timestamp(inner.clock.now())}))
}

async fn clock(State(inner): State<Arc<Inner>>) -> Response {
    now_json(&inner)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

async fn advance(State(inner): State<Arc<Inner>>, Body(a): Body<Advance>) -> Response {
    inner
        .clock
        .advance(std::time::Duration::from_secs(a.seconds));
    now_json(&inner)
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

async fn add_fault(State(inner): State<Arc<Inner>>, Body(f): Body<NewFault>) -> Response {
    let schedule = match (f.times, f.nth, f.probability) {
        (t, None, None) => Schedule::Times(t.unwrap_or(1)),
        (None, Some(n), None) => Schedule::Nth(n),
        (None, None, Some(p)) if (0.0..=1.0).contains(&p) => Schedule::Probability(p),
        (None, None, Some(p)) => return bad(format!("probability {p} is outside 0-1")),
        _ => return bad("give one of times, nth or probability"),
    };
    inner.inject(f.operation, f.fault.into(), schedule);
    ok(json!({"operation": f.operation, "queued": true}))
}

async fn list_faults(State(inner): State<Arc<Inner>>) -> Response {
    let st = inner.lock();
    let list: Vec<Value> = st
        .faults
        .iter()
        .flat_map(|(op, q)| {
            q.list().into_iter().map(move |(fault, schedule)| {
                json!({"operation": op, "fault": fault, "schedule": format!("{schedule:?}")})
            })
        })
        .collect();
    ok(json!({"faults": list}))
}

async fn clear_faults(State(inner): State<Arc<Inner>>) -> Response {
    inner.lock().faults.clear();
    ok(json!({"cleared": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOverride {
    operation: Operation,
    response: ResponseOverride,
}

async fn add_override(State(inner): State<Arc<Inner>>, Body(o): Body<NewOverride>) -> Response {
    inner.lock().overrides.insert(o.operation, o.response);
    ok(json!({"operation": o.operation, "set": true}))
}

async fn clear_overrides(State(inner): State<Arc<Inner>>) -> Response {
    inner.lock().overrides.clear();
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
        "verdict": format!("{:?}", r.verdict),
        "status": r.status,
        "body": String::from_utf8_lossy(&r.body),
    })
}

async fn requests(State(inner): State<Arc<Inner>>) -> Response {
    let st = inner.lock();
    let list: Vec<Value> = st.requests.iter().map(request_json).collect();
    ok(json!({"requests": list}))
}

async fn stats(State(inner): State<Arc<Inner>>) -> Response {
    ok(serde_json::to_value(inner.stats()).unwrap_or(Value::Null))
}

async fn state(State(inner): State<Arc<Inner>>) -> Response {
    ok(serde_json::to_value(inner.export_state()).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::serve::{Listener, ListenerExt};
    use tokio::net::{TcpListener, TcpStream};

    use crate::mock::{MockServer, app};

    /// A loopback listener that reports every connection as coming from `peer`: the mock's
    /// app then sees that peer, while nothing leaves loopback.
    struct Disguised {
        listener: TcpListener,
        peer: SocketAddr,
    }

    impl Listener for Disguised {
        type Io = TcpStream;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (TcpStream, SocketAddr) {
            let (io, _) = self.listener.accept().await.expect("accepts");
            (io, self.peer)
        }

        fn local_addr(&self) -> std::io::Result<SocketAddr> {
            self.listener.local_addr()
        }
    }

    /// The mock's app (as `MockBuilder::start` serves it) on a listener whose connections all
    /// come from `peer`; its address.
    async fn serve_as_if_from(server: &MockServer, peer: &str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = peer.parse().unwrap();
        let app = app::router(server.inner.clone());
        let listener = Disguised { listener, peer }.tap_io(|_| {});
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        addr
    }

    /// The control API refuses every peer off loopback (403, nothing done), also one spelled
    /// as an IPv4-mapped IPv6 address; loopback peers in any spelling are served. The API
    /// itself answers any peer.
    #[tokio::test]
    async fn the_control_api_answers_loopback_peers_only() {
        let server = MockServer::start().await;
        let http = reqwest::Client::new();
        for (peer, served) in [
            ("127.0.0.1:40000", true),
            ("127.9.8.7:40000", true),
            ("[::1]:40000", true),
            ("[::ffff:127.0.0.1]:40000", true),
            ("192.0.2.1:40000", false),
            ("10.0.0.1:40000", false),
            ("[::ffff:192.0.2.1]:40000", false),
            ("[2001:db8::1]:40000", false),
        ] {
            let addr = serve_as_if_from(&server, peer).await;
            let seeded = server.service_count();
            let r = http
                .post(format!("http://{addr}/_mock/services"))
                .json(&serde_json::json!({"count": 1}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            if served {
                assert_eq!(status, 200, "{peer}: {body}");
                assert_eq!(server.service_count(), seeded + 1, "{peer}");
            } else {
                assert_eq!(status, 403, "{peer}: {body}");
                assert!(body.contains("loopback peers only"), "{peer}: {body}");
                assert_eq!(server.service_count(), seeded, "{peer}: nothing seeded");
            }
            let api = http
                .get(format!("http://{addr}/api/v1/account"))
                .bearer_auth(server.token())
                .send()
                .await
                .unwrap();
            assert_eq!(api.status().as_u16(), 200, "{peer}: the API answers anyone");
        }
    }
}
