//! A spec-driven, stateful mock of the OP-Proxy API (feature `mock`).
//!
//! The route table is read from the vendored spec ([`crate::spec::OPENAPI_JSON`]): every
//! operation of the generated [`Operation`] table has a handler (the match is exhaustive, so an
//! operation the spec adds does not compile without one), every request is validated against the spec and refused
//! with the documented error codes, and every response is validated before it is sent (a
//! mismatch becomes a loud `500 server_error` naming the mismatch, recorded in
//! [`Records::schema_violations`]). `GET /api/v1/openapi.json` serves the document itself.
//!
//! The mock is built in three layers: a typed fake of the API (its state and one handler per
//! operation, speaking [`ServiceType`](crate::types::ServiceType),
//! [`ErrorCode`](crate::types::ErrorCode), [`ServiceId`](crate::types::ServiceId), ...), the
//! harness a test drives (faults, overrides, records, expectations, the control API), and the
//! HTTP shell (router, pipeline, replies). [`MockServer`] is the front door; what a test does
//! with it goes through one handle per area: [`faults()`](MockServer::faults),
//! [`clock()`](MockServer::clock), [`accounts()`](MockServer::accounts),
//! [`services()`](MockServer::services), [`gateways()`](MockServer::gateways),
//! [`records()`](MockServer::records).
//!
//! Request pipeline: route (`404 not_found`, `405 method_not_allowed`) → bearer token
//! (`401 invalid_token`: missing, malformed, unknown, revoked, or source IP outside the key's
//! pins) → per-key rate limits (`429 rate_limited` with `Retry-After`) → injected faults →
//! validation (`400` with `invalid_id`, `invalid_request`, `invalid_type`, ...) → handler →
//! response validation → the request is appended to the account's `GET /logs`.
//!
//! Behaviour worth knowing when writing tests:
//! - Time comes from a mock clock (virtual time) that only moves with [`MockClock::advance`]
//!   and with the sleeps of the clients on it (the wall clock with [`MockBuilder::wall_clock`],
//!   as `opx mock` uses, or the wall clock N times faster with [`MockBuilder::time_scale`]).
//!   Services expire on it and rate-limit windows reset on it, so tests never sleep. Clients
//!   from [`MockServer::client`] and [`MockServer::client_builder`] share it
//!   ([`MockClock::shared`]): `advance` releases their rate-limit gate, and their backoff and
//!   pacing sleeps complete at once, moving it. A client built from `base_url()` and `token()`
//!   runs on the system clock instead and would wait for windows the mock has closed.
//! - Rate limits are fixed windows per key: 300/min and 5,000/hour overall, purchase 60/hour,
//!   credentials 30/hour. The `X-RateLimit-*` headers describe the applicable bucket with the
//!   fewest remaining requests; `401` responses carry none.
//! - Ids are 24 hex characters and increase monotonically; lists are newest first and a cursor
//!   is the id of the last item of the previous page, so pages are stable while items arrive.
//! - Proxy lists point at real gateways: one forward proxy per gateway country (nl, de, at) on
//!   `127.0.0.1:PORT` ([`Gateways::addr`]), the same port for every service. IPv4
//!   services use nl only; IPv6 `mixed` (or an exit region without a gateway, such as `us`)
//!   spans nl, de and at; an IPv6 service moved to nl, de or at has that gateway only.
//! - The gateways carry plain HTTP (absolute-form requests) and `CONNECT` tunnels, and enforce
//!   what the real ones would: the service's current login and password (`407` with
//!   `Proxy-Authenticate: Basic realm="opx-mock"` otherwise; regenerated credentials stop
//!   working at once), or a whitelisted source address without credentials; an active service
//!   (`403` once expired on the mock clock); the line's country (`403` on another gateway);
//!   at most the service's `threads` requests and tunnels at once (`429` beyond it, see
//!   [`Services::set_threads`] and [`Gateways::threads_in_use`]). They connect to
//!   loopback destinations only (`127.0.0.0/8`, `::1`, `localhost`): anything else is refused
//!   with `403` before a connection is tried, and no name is resolved, so tests never reach the
//!   network. Refusals are one line of `text/plain` naming the reason.
//! - They rotate like the real ones: each connection to a destination leaves from a loopback
//!   address of the gateway's country ([`exit_range`]: `127.31.*.*` nl, `127.49.*.*`
//!   de, `127.43.*.*` at), a new one per connection for `instant` rotation, the same one for
//!   the mode's period (`10min`) on the mock's clock otherwise.
//! - The mock keeps the latest 10,000 requests for [`Records::requests`] and the latest
//!   100,000 log entries per account.
//!
//! ```no_run
//! # async fn demo() -> opx::Result<()> {
//! use opx::Operation;
//! use opx::mock::{Expectation, Fault, MockServer};
//! use opx::types::{ProxyQuery, ServiceType};
//!
//! let server = MockServer::start().await;
//! // A client on the mock's clock: `server.clock().advance(..)` moves its windows too.
//! let client = server.client();
//! assert_eq!(client.account().await?.balance, opx::mock::DEFAULT_BALANCE);
//!
//! // The mock's values are the client's types: no parsing between them.
//! let ids = server.services().seed(2);
//! let lines = client.proxies(&ids[0], &ProxyQuery::new()).await?;
//! let plan = server.services().cheapest_plan(ServiceType::Ipv6Rotating).unwrap();
//! assert_eq!(plan.service_type, ServiceType::Ipv6Rotating);
//!
//! // The next purchase happens, but its client never hears back.
//! server.faults().inject(Operation::Purchase, Fault::DropAfterCommit, 1);
//! server.records().expect(Operation::Purchase, Expectation::at_most(1));
//! assert!(server.records().schema_violations().is_empty());
//! # let _ = lines;
//! # Ok(()) }
//! ```

mod builder;
mod clock;
mod fake;
mod gateway;
mod handles;
mod harness;
mod server;
mod shared;
mod shell;

pub use crate::operation::{Bucket, Operation};
pub use builder::MockBuilder;
pub use fake::model::{DEFAULT_BALANCE, MockAccount, MockPlan};
pub use fake::seed::ServiceSeed;
pub use fake::snapshot::{AccountFile, KeyFile, LogFile, ServiceFile, StateFile};
pub use gateway::{GatewayRefusal, exit_range};
pub use handles::{Accounts, Faults, Gateways, MockClock, Records, Services};
pub use harness::expect::Expectation;
pub use harness::fault::{Fault, Schedule};
pub use harness::overrides::{ResponseOverride, Transform};
pub use harness::record::{AuthStatus, MockStats, RecordedRequest, RequestVerdict};
pub use server::MockServer;
