//! One local proxy in front of every service you own (feature `gateway`; `opx gateway`).
//!
//! [`Gateway::builder`] reads the services of a [`Client`](crate::Client) (all active ones, or those
//! selected), downloads their proxy lines, and serves on one loopback port:
//!
//! - an **HTTP proxy** (absolute-form requests and `CONNECT`) and a **SOCKS5 proxy** (told
//!   apart by the first byte, `0x05`), needing no credentials locally (unless
//!   [`local_credentials`](GatewayBuilder::local_credentials) are set, which a non-loopback
//!   address requires);
//! - each request or tunnel goes through **a new upstream connection** on a line of one of the
//!   services, with that service's credentials, so the provider rotates the exit for each one;
//! - **never more concurrent upstream connections to a service than its `threads`**: a request
//!   that finds every thread busy waits in a bounded queue, and gets a `503` when the queue is
//!   full or its wait times out;
//! - lines are chosen **least-busy** or **round-robin** ([`Strategy`]); a request may ask for a
//!   gateway country and a sticky session, as a username tag (`country-de`, `session-KEY`,
//!   e.g. `http://country-de-session-a1:x@127.0.0.1:8899`) or a header (`X-Opx-Country`,
//!   `X-Opx-Session`, removed before forwarding); a session keeps its line, and for plain
//!   HTTP its upstream connection to each target (so the same exit), for
//!   [`session_ttl`](GatewayBuilder::session_ttl) after its last use: the session's requests
//!   to a target take turns on that one connection (one upstream thread), which is closed
//!   when its time runs out, on an upstream error, or when its line is ejected or gets new
//!   credentials (a request is never sent again: only one that never left goes out on a new
//!   connection);
//! - **health**: a connect error, a timeout, or a `403`/`407`/`429` from a line counts against
//!   it; it is ejected with an exponential backoff (on the client's clock) and re-admitted
//!   after it. Optional active probes ([`probe`](GatewayBuilder::probe)) re-admit a recovered
//!   line at once. A tunnel that could not be established is tried on another line before the
//!   client sees an error; a request is never sent twice: plain HTTP requests are carried
//!   through an upstream `CONNECT` tunnel, opened before any byte of the request leaves;
//! - **live services**: a `407` makes the gateway read that service's lines again (once) and
//!   retry with the new credentials; a service stops being used at its `expires_at` (on the
//!   client's clock); [`RunningGateway::refresh`] (or
//!   [`refresh_every`](GatewayBuilder::refresh_every)) picks up new purchases;
//! - **usage**: requests, bytes each way, errors by kind and a latency histogram, per line and
//!   service, as Prometheus text ([`RunningGateway::metrics_text`], or served at `/metrics`
//!   with [`metrics_listen`](GatewayBuilder::metrics_listen)), and an optional JSON-lines
//!   access log. Never a password.
//!
//! Programs that do not want a local port take the same pool in process:
//! [`GatewayBuilder::pool`] hands out [`ProxyLease`]s (a `reqwest::Proxy` for one line, within
//! the service's threads) and takes their outcome for the lines' health.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = opx::Client::from_env()?;
//! let gateway = opx::gateway::Gateway::builder(client)
//!     .listen("127.0.0.1:8899".parse()?)
//!     .serve()
//!     .await?;
//! let http = reqwest::Client::builder().proxy(gateway.reqwest_proxy()?).build()?;
//! let page = http.get("https://example.com/").send().await?;
//! # let _ = page;
//! # Ok(()) }
//! ```

mod access_log;
mod builder;
mod counting;
mod done;
mod establish;
mod health;
mod http_in;
mod in_process;
mod lines;
mod metrics;
mod metrics_http;
mod pool;
mod probe;
mod running;
mod shared;
mod socks_in;
mod sticky;
mod upstream;
mod wish;

pub use builder::{Gateway, GatewayBuilder};
pub use in_process::{ProxyLease, ProxyPool, Unavailable};
pub use lines::Selection;
pub use pool::{ServiceUse, Strategy};
pub use running::{GatewayError, RunningGateway};
