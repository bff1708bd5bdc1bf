//! Shared helpers of the contract suite (`tests/contract/`): the operations of the spec as a
//! table, a fixture of services to call them on, clients with a fast retry policy, and the
//! wire check every contract test ends with.

#![allow(dead_code)]

use std::time::Duration;

use futures::TryStreamExt;
use opx::Operation;
use opx::mock::{AuthStatus, MockServer, RequestVerdict};
use opx::types::{PlanId, ServiceId, ServiceQuery, ServiceType};
use opx::{Client, ClientBuilder, RetryPolicy};

/// The vendored spec, parsed once.
pub fn spec() -> &'static serde_json::Value {
    static SPEC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(opx::spec::OPENAPI_JSON).expect("the spec is JSON"))
}

/// The spec's `info.version`, which every request carries as `api-version`.
pub fn api_version() -> &'static str {
    spec()["info"]["version"].as_str().expect("info.version")
}

/// Total attempts of the fast policy (first included).
pub const ATTEMPTS: u32 = 3;
/// The per-attempt timeout of contract clients: generous, so a loaded machine never trips it.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// The per-attempt timeout of clients meant to time out on `Fault::Delay(FAULT_DELAY)`.
pub const SHORT_TIMEOUT: Duration = Duration::from_millis(400);
/// The delay injected to provoke a timeout (the mock drops it when the client hangs up).
pub const FAULT_DELAY: Duration = Duration::from_secs(2);

/// A retry policy that keeps the suite fast: `ATTEMPTS` attempts, ~1 ms apart.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(ATTEMPTS)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(4))
}

/// A builder for the mock with its token, the fast policy and the short timeout.
pub fn builder(s: &MockServer) -> ClientBuilder {
    s.client_builder()
        .timeout(TIMEOUT)
        .retry_policy(fast_policy())
}

/// A `reqwest::Client` to share between many facade clients of one test (one runtime): building
/// a facade client builds two TLS-capable `reqwest` clients, ~50 ms each in a debug build. No
/// idle connections are kept, so a case never reuses a connection to a mock that is gone.
pub fn shared_http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client")
}

/// A client for the mock (fast retries, generous timeout).
pub fn client(s: &MockServer) -> Client {
    builder(s).build().expect("a client for the mock")
}

/// A client for the mock that sends every call once.
pub fn client_no_retry(s: &MockServer) -> Client {
    builder(s)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("a client for the mock")
}

/// A fresh mock with the [`fixture`] seeded, and a [`client`] for it.
pub async fn started() -> (MockServer, Fixture, Client) {
    let s = MockServer::start().await;
    let fx = fixture(&s);
    let c = client(&s);
    (s, fx, c)
}

/// Services to call the operations on, seeded without charging.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// An active IPv4 rotating service.
    pub v4: ServiceId,
    /// An active IPv6 rotating service.
    pub v6: ServiceId,
    /// An IPv4 plan, its price.
    pub plan_v4: PlanId,
    pub price_v4: i64,
    /// The price of one period of `v4` (what extend charges).
    pub extend_price_v4: i64,
}

/// Seeds one service per catalog plan and picks an IPv4 and an IPv6 one.
pub fn fixture(s: &MockServer) -> Fixture {
    let plans = s.services().plans();
    let ids = s.services().seed(plans.len());
    let pick = |t: ServiceType| {
        let i = plans
            .iter()
            .position(|p| p.service_type == t)
            .unwrap_or_else(|| panic!("the catalog has no {t} plan"));
        (ids[i].clone(), plans[i].clone())
    };
    let (v4, p4) = pick(ServiceType::Ipv4Rotating);
    let (v6, _) = pick(ServiceType::Ipv6Rotating);
    Fixture {
        v4,
        v6,
        plan_v4: p4.plan_id.clone(),
        price_v4: p4.price,
        extend_price_v4: p4.price,
    }
}

/// Every service of the account, all pages, any status (for "what happened" checks).
pub async fn all_services(c: &Client) -> Vec<opx::types::Service> {
    c.services_stream(&ServiceQuery::new().status(opx::types::StatusFilter::All))
        .try_collect()
        .await
        .expect("listing services")
}

/// What the wire check allows besides a fully valid, authenticated request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allow {
    /// Requests sent on purpose with a bad token (`401`).
    pub invalid_auth: bool,
}

/// The check every contract test ends with: each request the mock recorded was routed to a
/// spec operation, carried a bearer token (valid, unless allowed otherwise), the api-version
/// header, the content type and `Accept` its operation needs, and passed the mock's spec
/// validation (path, query, body); and no response broke the spec.
pub fn assert_wire_clean(s: &MockServer) {
    assert_wire_clean_with(s, Allow::default());
}

/// [`assert_wire_clean`] with exceptions.
pub fn assert_wire_clean_with(s: &MockServer, allow: Allow) {
    let problems = wire_problems(s, allow);
    assert!(
        problems.is_empty(),
        "the wire does not match the spec:\n{}",
        problems.join("\n")
    );
}

/// What [`assert_wire_clean_with`] would complain about, one line each.
pub fn wire_problems(s: &MockServer, allow: Allow) -> Vec<String> {
    let mut problems: Vec<String> = s
        .records()
        .schema_violations()
        .into_iter()
        .map(|v| format!("response broke the spec: {v}"))
        .collect();
    for r in s.records().requests() {
        let what = format!(
            "{} {}{} (op {:?}, status {})",
            r.method,
            r.path,
            r.query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default(),
            r.operation,
            r.status
        );
        let Some(op) = r.operation else {
            problems.push(format!("{what}: matches no spec operation"));
            continue;
        };
        if r.verdict != RequestVerdict::Valid {
            problems.push(format!("{what}: verdict {:?}", r.verdict));
        }
        if r.header("authorization").is_none() {
            problems.push(format!("{what}: no Authorization header"));
        }
        match r.auth {
            AuthStatus::Valid => {}
            AuthStatus::Invalid if allow.invalid_auth => {}
            other => problems.push(format!("{what}: auth {other:?}")),
        }
        if r.header("api-version") != Some(api_version()) {
            problems.push(format!("{what}: api-version {:?}", r.header("api-version")));
        }
        let has_body = has_request_body(op);
        let content_type = r.header("content-type").unwrap_or("");
        if has_body && !content_type.starts_with("application/json") {
            problems.push(format!("{what}: content-type {content_type:?}"));
        }
        if !has_body && !r.body.is_empty() {
            problems.push(format!("{what}: unexpected body {:?}", r.body));
        }
        let txt = op == Operation::GetProxies
            && !r.query.as_deref().unwrap_or("").contains("format=json");
        let accept = r.header("accept").unwrap_or("");
        let wanted = if txt {
            "text/plain"
        } else {
            "application/json"
        };
        if !accept.contains(wanted) {
            problems.push(format!("{what}: Accept {accept:?}, wanted {wanted}"));
        }
    }
    problems
}

/// Whether the spec gives `op` a request body.
pub fn has_request_body(op: Operation) -> bool {
    let method = op.method().as_str().to_ascii_lowercase();
    spec()["paths"][op.path()][method.as_str()]
        .get("requestBody")
        .is_some()
}
