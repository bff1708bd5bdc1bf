//! Facts of the mock's default catalog and small helpers that every test binary shares
//! (included with `#[path = "../support/fixtures.rs"] mod fixtures;`; the mock binary gets them
//! through `support`).

#![allow(dead_code)]

use std::time::Duration;

use opx::Operation;
use opx::mock::{MockServer, ServiceSeed};
use opx::safe::ReconcilePolicy;
use opx::types::{PlanId, PurchaseRequest, ServiceId, ServiceType};

/// The IPv4 rotating plan of the default catalog (100 threads, [`IPV4_PRICE`]).
pub const IPV4_PLAN: &str = "65a9f0c1b2c3d4e5f6a7b8c9";
/// The other IPv4 rotating plan of the default catalog (50 threads).
pub const IPV4_PLAN_SMALL: &str = "65a9f0c1b2c3d4e5f6a7b8ca";
/// The IPv6 rotating plan of the default catalog (500 threads, [`IPV6_PRICE`]).
pub const IPV6_PLAN: &str = "65a9f0c1b2c3d4e5f6a7b8cb";
/// The price of one period of [`IPV4_PLAN`], in RUB.
pub const IPV4_PRICE: i64 = 1500;
/// The price of one period of [`IPV6_PLAN`], in RUB.
pub const IPV6_PRICE: i64 = 2500;

/// [`IPV4_PLAN`] as the facade's type.
pub fn ipv4_plan() -> PlanId {
    IPV4_PLAN.parse().expect("a well-formed plan id")
}

/// A purchase of [`IPV4_PLAN`] with the defaults (country `mixed`, rotation `instant`).
pub fn ipv4_purchase() -> PurchaseRequest {
    PurchaseRequest::new(ServiceType::Ipv4Rotating, ipv4_plan())
}

/// How long a [`reconciling_client`] watches for an unknown outcome to show (the default is
/// 10 s).
pub const RECONCILE_WINDOW: Duration = Duration::from_millis(30);

/// The default reconciliation (three looks), over [`RECONCILE_WINDOW`].
pub fn quick_reconcile() -> ReconcilePolicy {
    ReconcilePolicy::default().window(RECONCILE_WINDOW)
}

/// A client for `s` that reconciles with [`quick_reconcile`].
pub fn reconciling_client(s: &MockServer) -> opx::Client {
    s.client_builder()
        .reconcile_policy(quick_reconcile())
        .build()
        .expect("a client for the mock")
}

/// A client for `s` that paces its calls ([`RateLimitPolicy::Pace`](opx::RateLimitPolicy::Pace)).
pub fn paced_client(s: &MockServer) -> opx::Client {
    s.client_builder()
        .rate_limit_policy(opx::RateLimitPolicy::Pace)
        .build()
        .expect("a client for the mock")
}

/// A mock whose clock runs `factor` times faster than the wall clock.
pub async fn scaled_mock(factor: f64) -> MockServer {
    MockServer::builder()
        .time_scale(factor)
        .start()
        .await
        .unwrap()
}

/// `GET {base}{path}` on `s` with its token, through `http`: the raw answer, for tests that
/// look below the facade (broken bodies, headers, connections).
pub async fn raw_get(http: &reqwest::Client, s: &MockServer, path: &str) -> reqwest::Response {
    try_get(http, s, path)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// [`raw_get`], for a request that may fail (a timeout, a dropped connection).
pub async fn try_get(
    http: &reqwest::Client,
    s: &MockServer,
    path: &str,
) -> reqwest::Result<reqwest::Response> {
    http.get(format!("{}{path}", s.base_url()))
        .bearer_auth(s.token())
        .send()
        .await
}

/// Asserts that `s` still answers `GET /account` with a 200.
pub async fn assert_serves(s: &MockServer) {
    let r = raw_get(&reqwest::Client::new(), s, "/account").await;
    assert_eq!(r.status().as_u16(), 200, "the mock stopped serving");
}

/// The price of one period of `plan`, from the mock's catalog.
pub fn price_of(s: &MockServer, plan: &str) -> i64 {
    s.services()
        .plans()
        .iter()
        .find(|p| p.plan_id.as_str() == plan)
        .unwrap_or_else(|| panic!("no plan {plan} in the catalog"))
        .price
}

/// How many requests of `op` reached the mock (executed or not).
pub fn sent(s: &MockServer, op: Operation) -> usize {
    s.records()
        .requests()
        .iter()
        .filter(|r| r.operation == Some(op))
        .count()
}

/// Asserts that no response broke the spec.
pub fn assert_clean(s: &MockServer) {
    assert!(
        s.records().schema_violations().is_empty(),
        "{:?}",
        s.records().schema_violations()
    );
}

/// A service of `t` bought through the facade (the catalog's first plan of that type).
pub async fn bought(s: &MockServer, t: ServiceType) -> opx::types::Service {
    let plan = s
        .services()
        .plan(t.clone())
        .expect("the default catalog sells every type");
    let req = PurchaseRequest::new(t, plan.plan_id);
    s.client().purchase(&req).await.unwrap().into_inner()
}

/// A day, in seconds (service expiry in the seeds).
pub const DAY: i64 = 86_400;

/// Seeds one service of `t` expiring in `secs`; its id.
pub fn seed_expiring(s: &MockServer, t: ServiceType, secs: i64) -> ServiceId {
    let seed = ServiceSeed::new().service_type(t).expires_in_seconds(secs);
    s.services().seed_with(&seed).unwrap().remove(0)
}

/// Four services, in this order: IPv4 due in 3 days, IPv6 in 2, IPv4 in 1 (all due within a
/// week) and IPv4 in 30 (not); their ids.
pub fn four_due(s: &MockServer) -> Vec<ServiceId> {
    vec![
        seed_expiring(s, ServiceType::Ipv4Rotating, 3 * DAY),
        seed_expiring(s, ServiceType::Ipv6Rotating, 2 * DAY),
        seed_expiring(s, ServiceType::Ipv4Rotating, DAY),
        seed_expiring(s, ServiceType::Ipv4Rotating, 30 * DAY),
    ]
}

/// A manual clock for tests that wait for a call to reach a sleep: it reports every sleep it
/// is asked for (how far ahead its deadline is) and, when made with `hold`, keeps each sleep
/// from starting until the test lets it ([`Watched::release`]). What a test waits on instead
/// of yielding or sleeping and hoping the call got that far.
#[derive(Debug, Clone)]
pub struct Watched {
    clock: opx::clock::ManualClock,
    sleeps: tokio::sync::mpsc::UnboundedSender<Duration>,
    gate: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

impl Watched {
    /// A watched `clock`, and the receiver of the sleeps it is asked for.
    pub fn new(
        clock: opx::clock::ManualClock,
        hold: bool,
    ) -> (Self, tokio::sync::mpsc::UnboundedReceiver<Duration>) {
        let (sleeps, asked) = tokio::sync::mpsc::unbounded_channel();
        let gate = hold.then(|| std::sync::Arc::new(tokio::sync::Semaphore::new(0)));
        (
            Self {
                clock,
                sleeps,
                gate,
            },
            asked,
        )
    }

    /// Lets `n` held sleeps start.
    pub fn release(&self, n: usize) {
        if let Some(gate) = &self.gate {
            gate.add_permits(n);
        }
    }
}

impl opx::clock::Clock for Watched {
    fn now(&self) -> std::time::Instant {
        self.clock.now()
    }
    fn system_now(&self) -> std::time::SystemTime {
        self.clock.system_now()
    }
    fn sleep_until(&self, deadline: std::time::Instant) -> opx::clock::Sleep {
        let _ = self
            .sleeps
            .send(deadline.saturating_duration_since(self.clock.now()));
        let (gate, sleep) = (self.gate.clone(), self.clock.sleep_until(deadline));
        Box::pin(async move {
            if let Some(gate) = gate {
                gate.acquire().await.expect("the gate is open").forget();
            }
            sleep.await;
        })
    }
}

/// Every answer to `op` after the next one is a 500 (the next passes untouched): a watch that
/// reads the account after a lost answer can then tell nothing.
pub fn fail_after_the_next(s: &MockServer, op: Operation) {
    let faults = s.faults();
    faults.inject(op, opx::mock::Fault::Delay(Duration::ZERO), 1);
    faults.inject(op, opx::mock::Fault::Status(500), 100);
}

/// The next answer to `op` is a 429 with this `Retry-After` in seconds (`None`: no header).
pub fn rate_limit_next(s: &MockServer, op: Operation, retry_after: Option<u64>) {
    s.faults()
        .inject(op, opx::mock::Fault::RateLimited { retry_after }, 1);
}
