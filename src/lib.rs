//! # opx: the Rust SDK for the OP-Proxy v1 API
//!
//! A typed client for <https://op-proxy.com/api/v1>: account, plan catalogue, purchases,
//! services, proxy lists and the action log, generated from the vendored OpenAPI spec
//! ([`generated`]) and wrapped in a hand-written facade ([`Client`]) that adds what a
//! production client needs:
//!
//! - **Typed payloads**: every method returns the `data` of the envelope as Rust types
//!   (`Ipv4Addr`, `DateTime<Utc>`, enums with an `Unknown` fallback, integer roubles), wrapped in
//!   a [`Response`] that also carries the HTTP status and the [`RateLimit`] headers.
//! - **Checked requests**: ids, whitelists, countries and rotations are checked before sending,
//!   with the [`ErrorCode`](types::ErrorCode) the server would use.
//! - **One error type**: [`Error`], with the status, code, message, `Retry-After` and
//!   predicates (`is_rate_limited`, `is_not_found`, `is_outcome_unknown`, ...). It works when
//!   the body is not the JSON envelope (an HTML 502, an empty 429).
//! - **Rate limits surfaced**: `X-RateLimit-*` on every response; when `Remaining` reaches 0
//!   the caller is told, and by default further calls of that bucket fail fast locally until
//!   the window resets. Never silently retried.
//! - **Or paced, opt-in**: with [`RateLimitPolicy::Pace`] calls wait for their window instead
//!   (counted against the spec's buckets, corrected from the headers), so a long job runs at
//!   the limit with no 429; [`Client::proxy_lists`] fetches many lists that way, a bounded
//!   number at once.
//! - **One clock** ([`clock`]) for the gate, the pacing, the backoff and the mock: a test on
//!   the mock's clock runs hours of rate-limit windows in milliseconds.
//! - **Safe retries**: idempotent calls retry transport errors and 500/502/503/504 with
//!   bounded, jittered exponential backoff ([`RetryPolicy`]). `purchase`, `extend` and
//!   `regenerate_credentials` are never retried by any layer; when their outcome is unknown,
//!   [`Client::purchase_safely`] / [`Client::extend_safely`] read `GET /services` to find out.
//! - **Pagination** in one scheme for services and logs: `*_page` (one page), `*_page_stream`
//!   (every page), `*_stream` (every item), [`Client::all_services`] (everything at once).
//! - **Tolerant where the docs are silent**: what the docs show is decoded strictly, what our
//!   spec infers is read tolerantly; an item that does not decode is kept as [`Undecoded`](types::Undecoded)
//!   without failing its page, and every [`Response`] keeps the raw `data`
//!   ([`Response::data_json`]).
//! - **One source of truth**: the [`Operation`] table, the rate-limit [`Bucket`](operation::Bucket)s and every
//!   enum are generated from the spec ([`operation`]).
//! - **Proxy lists** as raw text, parsed endpoints ([`ProxyLines`](proxies::ProxyLines), zero allocation per line)
//!   or the JSON `servers`, each endpoint convertible to a proxy URL, the forms curl, Python
//!   `requests`, Playwright and proxychains take ([`ExportFormat`](proxies::ExportFormat)) and a `reqwest::Proxy`.
//! - **Renewal with a budget** ([`renewal`]): the services expiring within a window, what
//!   extending each costs and which of them a cap allows, oldest expiry first; carried out
//!   through `extend_safely`, never past the cap.
//! - **Secrets kept secret**: the token and proxy passwords never appear in `Debug`, errors or
//!   tracing spans.
//!
//! ```no_run
//! # async fn demo() -> opx::Result<()> {
//! use opx::Client;
//! use opx::types::{ProxyQuery, PurchaseRequest, ServiceType};
//!
//! let client = Client::from_env()?; // OPX_TOKEN, optional OPX_BASE_URL
//! let account = client.account().await?;
//! println!("balance: {} {}", account.balance, account.currency);
//!
//! let catalog = client.plans(Some(ServiceType::Ipv4Rotating)).await?.into_inner();
//! let cheapest = catalog.plans.into_iter().min_by_key(|p| p.price).expect("a plan");
//! if account.balance >= cheapest.price {
//!     let req = PurchaseRequest::new(cheapest.service_type, cheapest.plan_id);
//!     let service = client.purchase(&req).await?;
//!     let list = client.proxies_text(&service.service_id, &ProxyQuery::new()).await?;
//!     print!("{}", *list);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Features
//!
//! - `rustls` (default): TLS through rustls.
//! - `mock`: `opx::mock`, a spec-driven, stateful in-process mock server for tests and
//!   examples.
//! - `check`: `opx::check` and `Client::check_proxies`: a request through each proxy of a
//!   list, with its status, latency and exit address.
//! - `gateway`: `opx::gateway`, one local HTTP and SOCKS5 proxy in front of every service.
//! - `doctor`: `Client::doctor`, where the server differs from the vendored spec.
//! - `cli`: the `opx` command-line tool (implies `mock` and `check`).
#![deny(missing_docs)]
// docs.rs (`--cfg docsrs`, nightly): each item gated on a feature says which one.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The raw client generated by progenitor from `spec/openapi.json` at build time.
///
/// Prefer the facade ([`Client`]): this module is reachable for callers who need exactly what
/// the spec says and nothing more (see [`Client::generated`]).
#[allow(missing_docs, clippy::all, clippy::pedantic, unused)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

pub mod clock;
pub mod operation;
pub mod spec;
pub mod transport;

#[cfg(feature = "check")]
pub mod check;
#[cfg(feature = "doctor")]
mod conformance;
#[cfg(feature = "doctor")]
pub mod doctor;
#[cfg(feature = "mock")]
pub mod mock;

mod charge;
mod client;
mod envelope;
mod error;
#[cfg(any(feature = "mock", feature = "gateway"))]
mod forward_proxy;
#[cfg(feature = "unstable-test-hooks")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod proxies;
mod ratelimit;
pub mod renewal;
mod response;
mod retry;
pub mod safe;
mod sync;
pub mod text;
mod tls;
pub mod types;

pub use client::Client;
pub use client::builder::ClientBuilder;
pub use error::{Error, ErrorKind, Result};
pub use operation::Operation;
pub use ratelimit::{RateLimit, RateLimitPolicy};
/// The `reqwest` this crate is built on (0.12): [`proxies::ProxyEndpoint::to_reqwest_proxy`]
/// returns its `Proxy`, and [`ClientBuilder::reqwest_client`] takes its `Client`.
pub use reqwest;
pub use response::Response;
pub use retry::RetryPolicy;

/// The README's Rust examples compile (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
