//! A spec-driven, stateful mock of the OP-Proxy API (feature `mock`).
//!
//! The route table is read from the vendored spec ([`crate::spec::OPENAPI_JSON`]): every
//! operation of the generated [`Operation`] table has a handler (the match is exhaustive, so an
//! operation the spec adds does not compile without one), every request is validated against the spec and refused
//! with the documented error codes, and every response is validated before it is sent (a
//! mismatch becomes a loud `500 server_error` naming the mismatch, recorded in
//! [`MockServer::schema_violations`]). `GET /api/v1/openapi.json` serves the document itself.
//!
//! Request pipeline: route (`404 not_found`, `405 method_not_allowed`) → bearer token
//! (`401 invalid_token`: missing, malformed, unknown, revoked, or source IP outside the key's
//! pins) → per-key rate limits (`429 rate_limited` with `Retry-After`) → injected faults →
//! validation (`400` with `invalid_id`, `invalid_request`, `invalid_type`, ...) → handler →
//! response validation → the request is appended to the account's `GET /logs`.
//!
//! Behaviour worth knowing when writing tests:
//! - Time comes from a mock clock (virtual time) that only moves with [`MockServer::advance`]
//!   and with the sleeps of the clients on it (the wall clock with [`MockBuilder::wall_clock`],
//!   as `opx mock` uses, or the wall clock N times faster with [`MockBuilder::time_scale`]).
//!   Services expire on it and rate-limit windows reset on it, so tests never sleep. Clients
//!   from [`MockServer::client_builder`] share it ([`MockServer::clock`]): `advance` releases
//!   their rate-limit gate, and their backoff and pacing sleeps complete at once, moving it.
//! - Rate limits are fixed windows per key: 300/min and 5,000/hour overall, purchase 60/hour,
//!   credentials 30/hour. The `X-RateLimit-*` headers describe the applicable bucket with the
//!   fewest remaining requests; `401` responses carry none.
//! - Ids are 24 hex characters and increase monotonically; lists are newest first and a cursor
//!   is the id of the last item of the previous page, so pages are stable while items arrive.
//! - Proxy lists point at real gateways: one forward proxy per gateway country (nl, de, at) on
//!   `127.0.0.1:PORT` ([`MockServer::gateway_addr`]), the same port for every service. IPv4
//!   services use nl only; IPv6 `mixed` (or an exit region without a gateway, such as `us`)
//!   spans nl, de and at; an IPv6 service moved to nl, de or at has that gateway only.
//! - The gateways carry plain HTTP (absolute-form requests) and `CONNECT` tunnels, and enforce
//!   what the real ones would: the service's current login and password (`407` with
//!   `Proxy-Authenticate: Basic realm="opx-mock"` otherwise; regenerated credentials stop
//!   working at once), or a whitelisted source address without credentials; an active service
//!   (`403` once expired on the mock clock); the line's country (`403` on another gateway);
//!   at most the service's `threads` requests and tunnels at once (`429` beyond it, see
//!   [`MockServer::set_threads`] and [`MockServer::gateway_threads_in_use`]). They connect to
//!   loopback destinations only (`127.0.0.0/8`, `::1`, `localhost`): anything else is refused
//!   with `403` before a connection is tried, and no name is resolved, so tests never reach the
//!   network. Refusals are one line of `text/plain` naming the reason.
//! - They rotate like the real ones: each connection to a destination leaves from a loopback
//!   address of the gateway's country ([`MockServer::exit_range`]: `127.31.*.*` nl, `127.49.*.*`
//!   de, `127.43.*.*` at), a new one per connection for `instant` rotation, the same one for
//!   the mode's period (`10min`) on the mock's clock otherwise.
//! - The mock keeps the latest 10,000 requests for [`MockServer::requests`] and the latest
//!   100,000 log entries per account.
//!
//! ```no_run
//! # async fn demo() {
//! use opx::mock::{Fault, MockServer};
//! let server = MockServer::start().await;
//! let client = reqwest::Client::new();
//! let account: serde_json::Value = client
//!     .get(format!("{}/account", server.base_url()))
//!     .bearer_auth(server.token())
//!     .send().await.unwrap()
//!     .json().await.unwrap();
//! assert_eq!(account["data"]["balance"], 100_000);
//! // The next purchase happens, but its client never hears back.
//! server.inject(opx::Operation::Purchase, Fault::DropAfterCommit, 1);
//! assert!(server.schema_violations().is_empty());
//! # }
//! ```

mod app;
mod builder;
mod clock;
mod control;
mod expect;
mod faults;
mod gateway;
mod handlers;
mod overrides;
mod pipeline;
mod ratelimit;
mod record;
mod scenario;
mod schedule;
mod server;
mod snapshot;
mod state;

use std::sync::{Arc, Mutex};

pub use crate::operation::{Bucket, Operation};
pub use builder::MockBuilder;
pub use expect::Expectation;
pub use faults::Fault;
pub use overrides::{ResponseOverride, Transform};
pub use record::{AuthStatus, RecordedRequest, RequestVerdict};
pub use scenario::{MockStats, ServiceSeed};
pub use schedule::Schedule;
pub use server::MockServer;
pub use snapshot::{AccountFile, KeyFile, LogFile, ServiceFile, StateFile};
pub use state::MockPlan;

use crate::conformance::RouteTable;
use clock::Clock;
use state::State;

/// The shared server internals.
pub(crate) struct Inner {
    pub(crate) routes: Arc<RouteTable>,
    pub(crate) state: Mutex<State>,
    pub(crate) clock: Clock,
    pub(crate) validate_responses: bool,
    /// What it started with, for `reset`.
    pub(crate) start: MockBuilder,
    /// Where the gateways listen (the proxy lists point there).
    pub(crate) gateways: gateway::GatewayAddrs,
}

impl Inner {
    /// Locks the state (a poisoned lock is still usable: the state is plain data).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The default balance of the default account, in RUB.
pub const DEFAULT_BALANCE: i64 = 100_000;

/// Another tenant, created with [`MockServer::add_account`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockAccount {
    /// Its user name (what `PUT /_mock/accounts/{username}/balance` names).
    pub username: String,
    /// A valid API key of this account.
    pub token: String,
    /// The account's index in the mock (0 is the default account).
    pub index: usize,
}
