//! [`MockServer`]: the running mock and everything a Rust test does with it.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::expect::{self, Expectation};
use super::faults::Fault;
use super::overrides::ResponseOverride;
use super::record::RecordedRequest;
use super::scenario::{MockStats, ServiceSeed};
use super::schedule::Schedule;
use super::snapshot::StateFile;
use super::state::{self, MockPlan};
use super::{Inner, MockAccount, MockBuilder};
use crate::operation::{Bucket, Operation};
use crate::types::ServiceType;

/// The running mock. Dropping it shuts the server down and checks its expectations.
pub struct MockServer {
    pub(crate) inner: Arc<Inner>,
    addr: SocketAddr,
    base_url: String,
    token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    expectations: Mutex<Vec<(Operation, Expectation)>>,
    /// The gateways stop when this is dropped.
    pub(crate) gateways: super::gateway::Running,
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
        if !std::thread::panicking()
            && let Err(unmet) = self.verify()
        {
            panic!("{unmet}");
        }
    }
}

impl MockServer {
    pub(crate) fn new(
        inner: Arc<Inner>,
        addr: SocketAddr,
        base_url: String,
        token: String,
        shutdown: tokio::sync::oneshot::Sender<()>,
        gateways: super::gateway::Running,
    ) -> Self {
        MockServer {
            inner,
            addr,
            base_url,
            token,
            shutdown: Some(shutdown),
            expectations: Mutex::new(Vec::new()),
            gateways,
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

    /// A client builder for this mock: its base URL, the default account's token and the
    /// mock's [`clock`](Self::clock) set, the rest as [`Client::builder`](crate::Client::builder)
    /// has it. On the mock's clock, [`advance`](Self::advance) also releases the client's
    /// rate-limit gate, and the client's sleeps (backoff, pacing) move the mock's virtual time
    /// instead of waiting: no test sleeps for a window.
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
            .shared_clock(self.clock())
    }

    /// The mock's clock, for a client (or anything else) to share: virtual time that moves
    /// with [`advance`](Self::advance) and with every sleep on it, or with
    /// [`MockBuilder::wall_clock`] / [`MockBuilder::time_scale`] the wall clock (scaled).
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use std::time::Duration;
    /// use opx::clock::Clock;
    /// let server = opx::mock::MockServer::start().await;
    /// let before = server.now();
    /// server.clock().sleep(Duration::from_secs(3600)).await; // at once: virtual time
    /// assert_eq!(server.now() - before, chrono::Duration::hours(1));
    /// # }
    /// ```
    pub fn clock(&self) -> crate::clock::SharedClock {
        self.inner.clock.shared()
    }

    /// How many times faster than the wall clock the mock's time runs (`None`: virtual time;
    /// `Some(1.0)`: the wall clock).
    pub fn time_scale(&self) -> Option<f64> {
        self.inner.clock.time_scale()
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

    /// Moves the clock forward (the wall clock too, as an offset), and with it the clock of every
    /// client on it ([`client_builder`](Self::client_builder)): their sleeps it passes complete.
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
    }

    /// The mock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Makes the next `times` calls of an operation fail with `fault`. Faults queue up in the
    /// order they are injected. They apply to requests that passed authentication and rate
    /// limiting; each one is logged.
    pub fn inject(&self, operation: Operation, fault: Fault, times: u32) {
        self.inner.inject(operation, fault, Schedule::Times(times));
    }

    /// Queues a fault with another [`Schedule`] (only the n-th call, or each call with a
    /// probability drawn from the mock's seeded generator).
    pub fn inject_scheduled(&self, operation: Operation, fault: Fault, schedule: Schedule) {
        self.inner.inject(operation, fault, schedule);
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.inner.lock().faults.clear();
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
        self.inner.add_account(balance, None)
    }

    /// Sets the balance of the account with this user name.
    pub fn set_balance_of(&self, username: &str, rub: i64) -> Result<(), String> {
        let index = self.inner.account_named(username)?;
        self.inner.lock().accounts[index].balance = rub;
        Ok(())
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

    /// The catalog's first plan of type `t`, if it sells one.
    pub fn plan(&self, t: &ServiceType) -> Option<MockPlan> {
        let inner = self.inner.lock();
        inner
            .plans
            .iter()
            .find(|p| p.service_type == t.as_str())
            .cloned()
    }

    /// Creates `n` active services for the default account without charging, alternating
    /// between the catalog's plans; returns their ids, oldest first.
    pub fn seed_services(&self, n: usize) -> Vec<String> {
        self.seed_services_with(&ServiceSeed::count(n))
            .expect("the default catalog has plans of every type")
    }

    /// Creates services as `seed` describes (type, country, expiry, whitelist, account).
    pub fn seed_services_with(&self, seed: &ServiceSeed) -> Result<Vec<String>, String> {
        self.inner.seed(seed)
    }

    /// Back to the starting state (accounts, services, logs, faults, overrides, records,
    /// counters, the clock); the default token stays the same.
    pub fn reset(&self) {
        self.inner.reset();
    }

    /// What the mock has answered: requests, answers by status, charges.
    pub fn stats(&self) -> MockStats {
        self.inner.stats()
    }

    /// The state (accounts, keys, services, logs) as a file that
    /// [`MockBuilder::state`](super::MockBuilder::state) and `opx mock --state` start from.
    pub fn export_state(&self) -> StateFile {
        self.inner.export_state()
    }

    /// Expects `operation` to be called as many times as `expectation` says; checked when the
    /// server is dropped (a panic listing what was called) or by [`verify`](Self::verify).
    pub fn expect(&self, operation: Operation, expectation: impl Into<Expectation>) {
        crate::sync::lock(&self.expectations).push((operation, expectation.into()));
    }

    /// Checks the expectations now: `Err` lists the unmet ones and every operation called.
    pub fn verify(&self) -> Result<(), String> {
        let expected = crate::sync::lock(&self.expectations).clone();
        let st = self.inner.lock();
        let calls = |op| st.calls.get(&op).copied().unwrap_or(0);
        expect::report(&expected, &calls)
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
