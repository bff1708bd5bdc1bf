//! # opx: the Rust SDK for the OP-Proxy v1 API
//!
//! A typed client for <https://op-proxy.com/api/v1> (account, plans, purchases, services,
//! proxy lists, the action log), generated from the vendored OpenAPI spec and wrapped in a
//! facade that checks input before sending, surfaces rate limits, never spends money twice and
//! says "unknown" when it cannot prove what the server did.
//!
//! ## Getting started
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
//! The front door is [`Client`] (built by [`ClientBuilder`]), [`Error`] and [`Response`];
//! everything else has one path:
//!
//! | module | what is in it |
//! |---|---|
//! | [`types`] | the payloads (`Service`, `Plan`, `LogEntry`, ...), the checked values a request is built from (`ServiceId`, `PlanId`, `Country::MIXED`, `Rotation::INSTANT`, `Whitelist`) and the spec's enums (`ServiceType`, `ErrorCode`, ...) |
//! | [`safe`] | purchases and extensions that never pay twice: outcomes, the journal, the spend cap |
//! | [`proxies`] | proxy lists as parsed endpoints, and the forms curl, requests, Playwright and proxychains take |
//! | [`renewal`] | renewing what expires within a window, within a budget |
//! | [`operation`] | the spec's operation table and rate-limit buckets |
//! | [`clock`] | the one clock of backoff, pacing, watches and the mock (virtual time in tests) |
//!
//! Every method returns the `data` of the API's envelope as Rust types (`Ipv4Addr`,
//! `DateTime<Utc>`, enums with an `Unknown` fallback, integer roubles) in a [`Response`] that
//! also carries the status and the [`RateLimit`] headers. What the docs show is decoded
//! strictly; what our spec only infers is read tolerantly: an item that does not decode is kept
//! as [`Undecoded`](types::Undecoded) without failing its page. Pages come one at a time
//! (`services_page`), as a stream of pages or items (`services_stream`) or all at once
//! (`all_services`); logs likewise.
//!
//! ## Errors, rate limits and money
//!
//! One error type, [`Error`], with the status, the API's [`ErrorCode`](types::ErrorCode), the
//! message, `Retry-After` and predicates (`is_rate_limited`, `is_not_found`,
//! `is_outcome_unknown`, ...); it works when the body is not the JSON envelope (an HTML 502).
//! Ids, whitelists, countries and rotations are checked before anything is sent, with the code
//! the server would use.
//!
//! Rate limits: `X-RateLimit-*` is read on every response. By default ([`RateLimitPolicy`]) an
//! exhausted window is surfaced and further calls of that bucket fail locally until it resets;
//! with [`RateLimitPolicy::Pace`] calls wait for their window instead, so a long job runs at
//! the limit without a 429. Idempotent calls retry transport errors and 5xx with bounded,
//! jittered backoff ([`RetryPolicy`]).
//!
//! Money: `purchase`, `extend` and `regenerate_credentials` are never retried by any layer.
//! [`Client::purchase_safely`] and [`Client::extend_safely`] say what happened when an answer
//! is lost: an `Err` means not charged (proven); every charged or possibly charged end is an
//! `Ok` outcome, `Unknown` when it cannot be proven either way. With a
//! [`Journal`](safe::Journal) an unknown charge outlives the process and blocks a repeat until
//! [`Client::resolve_pending`] settles it. See [`safe`].
//!
//! ```no_run
//! # async fn demo(client: opx::Client, req: opx::types::PurchaseRequest) -> opx::Result<()> {
//! use opx::safe::PurchaseOutcome;
//! match client.purchase_safely(&req).await {
//!     Ok(PurchaseOutcome::Purchased(s) | PurchaseOutcome::Recovered(s)) => println!("{}", s.service_id),
//!     Ok(other) => eprintln!("charged or maybe charged, look before buying again: {other:?}"),
//!     Err(e) => eprintln!("not charged: {e}"),
//! }
//! # Ok(()) }
//! ```
//!
//! ## Testing with the mock
//!
//! The `mock` feature brings `opx::mock`: a stateful fake of the API driven by the same spec
//! (balances, expiry, rate limits, faults, proxies that carry traffic on loopback), in process
//! or as `opx mock` for tests in any language. Take clients from the server
//! (`server.client()`): they share its clock, so a test runs rate-limit windows and expiries
//! in virtual time.
//!
//! ## Proxies
//!
//! A service's proxy list comes as text ([`Client::proxies_text`]), as parsed endpoints
//! ([`Client::proxies`], no allocation per line) or as JSON servers. Each endpoint converts to
//! a proxy URL, to the forms of [`proxies::ExportFormat`], and to a `reqwest::Proxy` of the
//! re-exported [`reqwest`]. The `check` feature sends a request through each proxy
//! (`Client::check_proxies`); the `gateway` feature runs one local HTTP and SOCKS5 proxy in
//! front of every service (`opx gateway`).
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
//! - `socks`: `socks5://` proxies for the API calls (`ClientBuilder::proxy`, `ALL_PROXY`).
//! - `cli`: the `opx` command-line tool (implies `mock`, `check`, `gateway`, `doctor` and
//!   `socks`).
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
#[doc(hidden)] // The hook's per-call context, which `generated::Client` carries.
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
mod setters;
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
