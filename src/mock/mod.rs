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
//! - Time comes from a mock clock that only moves with [`MockServer::advance`] (the wall clock
//!   with [`MockBuilder::wall_clock`], as `opx mock` uses). Services expire on it and rate-limit
//!   windows reset on it, so tests never sleep.
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
mod clock;
mod control;
mod faults;
mod gateway;
mod handlers;
mod overrides;
mod pipeline;
mod ratelimit;
mod record;
mod state;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use crate::operation::{Bucket, Operation};
pub use faults::Fault;
pub use overrides::{ResponseOverride, Transform};
pub use record::{AuthStatus, RecordedRequest, RequestVerdict};
pub use state::MockPlan;

use crate::conformance::{RouteTable, route_table};
use clock::Clock;
use state::State;

/// The shared server internals.
pub(crate) struct Inner {
    pub(crate) routes: Arc<RouteTable>,
    pub(crate) state: Mutex<State>,
    pub(crate) clock: Clock,
    pub(crate) validate_responses: bool,
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
    /// A valid API key of this account.
    pub token: String,
    /// The account's index in the mock (0 is the default account).
    pub index: usize,
}

/// Configures a [`MockServer`] before it starts.
#[derive(Debug, Clone)]
pub struct MockBuilder {
    balance: i64,
    token: Option<String>,
    listen: SocketAddr,
    wall_clock: bool,
    validate_responses: bool,
    limits: Vec<(Bucket, u32)>,
}

impl Default for MockBuilder {
    fn default() -> Self {
        MockBuilder {
            balance: DEFAULT_BALANCE,
            token: None,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            wall_clock: false,
            validate_responses: true,
            limits: Vec::new(),
        }
    }
}

impl MockBuilder {
    /// The default account's starting balance in RUB (default 100,000).
    pub fn balance(mut self, rub: i64) -> Self {
        self.balance = rub;
        self
    }

    /// The default account's API key (default: a random `opx_live_` + 32 hex).
    pub fn token(mut self, t: impl Into<String>) -> Self {
        self.token = Some(t.into());
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, an ephemeral loopback port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Use the wall clock instead of the mock clock (which only moves with
    /// [`MockServer::advance`]).
    pub fn wall_clock(mut self) -> Self {
        self.wall_clock = true;
        self
    }

    /// Validate every response against the spec before sending it (default on).
    pub fn validate_responses(mut self, on: bool) -> Self {
        self.validate_responses = on;
        self
    }

    /// Sets a rate limit from the start (see [`MockServer::set_limit`]).
    pub fn limit(mut self, bucket: Bucket, limit: u32) -> Self {
        self.limits.push((bucket, limit));
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<MockServer> {
        let clock = if self.wall_clock {
            Clock::wall()
        } else {
            Clock::mock()
        };
        let mut state = State::new(clock.now());
        let (_, token) = state.add_account(self.balance, self.token);
        for (bucket, limit) in self.limits {
            state.limits.set(bucket, limit);
        }
        let gateways = gateway::bind().await?;
        let inner = Arc::new(Inner {
            routes: route_table(),
            state: Mutex::new(state),
            clock,
            validate_responses: self.validate_responses,
            gateways: gateways.addrs(),
        });
        let gateways = gateways.serve(inner.clone());
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let app = app::router(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!("mock server stopped: {e}");
            }
        });
        let base_url = format!("http://{addr}{}", inner.routes.base_path);
        tracing::debug!("mock listening on {base_url}");
        Ok(MockServer {
            inner,
            addr,
            base_url,
            token,
            shutdown: Some(tx),
            gateways,
        })
    }
}

/// The running mock. Dropping it shuts the server down.
pub struct MockServer {
    inner: Arc<Inner>,
    addr: SocketAddr,
    base_url: String,
    token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The gateways stop when this is dropped.
    gateways: gateway::Running,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl MockServer {
    /// Starts a mock with the default configuration on an ephemeral loopback port.
    ///
    /// # Panics
    ///
    /// When it cannot bind `127.0.0.1:0`.
    pub async fn start() -> MockServer {
        Self::builder()
            .start()
            .await
            .expect("cannot bind a loopback port for the mock")
    }

    /// A builder, to change the defaults.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client builder for this mock: its base URL and the default account's token set, the
    /// rest as [`Client::builder`](crate::Client::builder) has it.
    ///
    /// ```no_run
    /// # async fn demo() -> opx::Result<()> {
    /// let server = opx::mock::MockServer::start().await;
    /// let client = server.client_builder().retry_policy(opx::RetryPolicy::none()).build()?;
    /// assert_eq!(client.account().await?.balance, opx::mock::DEFAULT_BALANCE);
    /// # Ok(()) }
    /// ```
    pub fn client_builder(&self) -> crate::ClientBuilder {
        crate::Client::builder()
            .token(self.token.clone())
            .base_url(self.base_url.clone())
    }

    /// A client for this mock (see [`client_builder`](Self::client_builder)).
    ///
    /// # Panics
    ///
    /// Never for a running mock: its base URL and token are always valid.
    pub fn client(&self) -> crate::Client {
        self.client_builder()
            .build()
            .expect("a client for the mock's own base URL and token")
    }

    /// A valid API key of the default account.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The default account's balance in RUB.
    pub fn balance(&self) -> i64 {
        self.inner.lock().accounts[0].balance
    }

    /// Sets the default account's balance in RUB.
    pub fn set_balance(&self, rub: i64) {
        self.inner.lock().accounts[0].balance = rub;
    }

    /// Sets the default account's user name and e-mail as `GET /account` reports them. (An
    /// e-mail that is not one breaks the spec: a way to watch response validation at work.)
    pub fn set_profile(&self, username: &str, email: &str) {
        let mut st = self.inner.lock();
        st.accounts[0].username = username.to_string();
        st.accounts[0].email = email.to_string();
    }

    /// The balance of the account a token belongs to (`None` for an unknown token).
    pub fn balance_of(&self, token: &str) -> Option<i64> {
        let st = self.inner.lock();
        st.key_index(token)
            .map(|k| st.accounts[st.keys[k].account].balance)
    }

    /// How many services the default account has (active and expired).
    pub fn service_count(&self) -> usize {
        self.inner.lock().accounts[0].services.len()
    }

    /// How many times an operation's handler ran and succeeded (committed its effect).
    pub fn executions(&self, operation: Operation) -> u64 {
        self.inner
            .lock()
            .executions
            .get(&operation)
            .copied()
            .unwrap_or(0)
    }

    /// The requests received so far (the most recent 10,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().requests.iter().cloned().collect()
    }

    /// Moves the clock forward (the wall clock too, as an offset).
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
    }

    /// The mock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Makes the next `times` calls of an operation fail with `fault`. Faults queue up in the
    /// order they are injected. They apply to requests that passed authentication and rate
    /// limiting, before request validation; each one is logged.
    pub fn inject(&self, operation: Operation, fault: Fault, times: u32) {
        if times == 0 {
            return;
        }
        self.inner
            .lock()
            .faults
            .entry(operation)
            .or_default()
            .push_back((fault, times));
    }

    /// Reshapes the successful answers of an operation (drift simulation: see
    /// [`ResponseOverride`]); replaces an earlier override of the same operation.
    pub fn override_response(&self, operation: Operation, o: ResponseOverride) {
        self.inner.lock().overrides.insert(operation, o);
    }

    /// Removes every response override.
    pub fn clear_overrides(&self) {
        self.inner.lock().overrides.clear();
    }

    /// Sets a rate limit (per key, per window), e.g. lowers it for a test.
    pub fn set_limit(&self, bucket: Bucket, limit: u32) {
        self.inner.lock().limits.set(bucket, limit);
    }

    /// Adds another tenant with its own key and balance.
    pub fn add_account(&self, balance: i64) -> MockAccount {
        let (index, token) = self.inner.lock().add_account(balance, None);
        MockAccount { token, index }
    }

    /// Revokes an API key: it gets `401 invalid_token` from now on.
    pub fn revoke(&self, token: &str) {
        let mut st = self.inner.lock();
        if let Some(k) = st.key_index(token) {
            st.keys[k].revoked = true;
        }
    }

    /// Pins an API key to source IPs: from any other address it gets `401 invalid_token`.
    pub fn pin(&self, token: &str, ips: Vec<IpAddr>) {
        let mut st = self.inner.lock();
        if let Some(k) = st.key_index(token) {
            st.keys[k].pinned = Some(ips.into_iter().map(|ip| ip.to_canonical()).collect());
        }
    }

    /// Responses that failed spec validation (each was replaced by a 500). Should stay empty.
    pub fn schema_violations(&self) -> Vec<String> {
        self.inner.lock().violations.clone()
    }

    /// The plan catalog.
    pub fn plans(&self) -> Vec<MockPlan> {
        self.inner.lock().plans.clone()
    }

    /// Creates `n` active services for the default account without charging, alternating
    /// between the catalog's plans; returns their ids, oldest first.
    pub fn seed_services(&self, n: usize) -> Vec<String> {
        let now = self.now();
        let mut st = self.inner.lock();
        let plans = st.plans.clone();
        (0..n)
            .map(|i| {
                let plan = &plans[i % plans.len()];
                let id = st.provision(0, plan, "mixed".into(), "instant".into(), now);
                state::id_hex(id)
            })
            .collect()
    }

    /// Adds `n` log entries (`GET /api/v1/account`, 200, now) to the default account.
    pub fn seed_logs(&self, n: usize) {
        let now = self.now();
        let mut st = self.inner.lock();
        for _ in 0..n {
            st.log(
                0,
                state::LogEntry {
                    id: 0,
                    created_at: now,
                    method: "GET".into(),
                    path: "/api/v1/account".into(),
                    http_status: 200,
                    ip: "127.0.0.1".into(),
                },
            );
        }
    }

    /// Whether these proxy credentials currently work for the service (any account): they
    /// must be the service's current ones and the service must be active.
    pub fn proxy_credentials_valid(&self, service_id: &str, login: &str, password: &str) -> bool {
        let Some(id) = state::parse_id(service_id) else {
            return false;
        };
        let now = self.now();
        let st = self.inner.lock();
        st.accounts
            .iter()
            .filter_map(|a| a.services.get(&id))
            .any(|s| {
                state::ct_eq(s.login.as_bytes(), login.as_bytes())
                    && state::ct_eq(s.password.as_bytes(), password.as_bytes())
                    && s.expires_at > now
            })
    }
}
