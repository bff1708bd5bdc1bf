//! Facts of the mock's default catalog and small helpers that every test binary shares
//! (included with `#[path = "../support/fixtures.rs"] mod fixtures;`; the mock binary gets them
//! through `support`).

#![allow(dead_code)]

use opx::mock::MockServer;
use opx::{PlanId, PurchaseRequest, ServiceType};

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
