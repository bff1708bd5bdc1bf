//! The handles a test drives a [`MockServer`](crate::mock::MockServer) through, one per area,
//! in the spirit of wiremock-rs and aws-smithy-mocks: [`Faults`], [`MockClock`],
//! [`Accounts`], [`Services`], [`Gateways`], [`Records`]. Each borrows the server; they are
//! cheap to make (`server.faults().inject(...)`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::clock::Clock;
use super::fake::api::Fake;
use super::fake::model::{LogEntry, MockAccount, MockPlan};
use super::fake::seed::ServiceSeed;
use super::fake::snapshot::StateFile;
use super::gateway::Running;
use super::harness::expect::Expectation;
use super::harness::fault::{Fault, Schedule};
use super::harness::overrides::ResponseOverride;
use super::harness::record::{MockStats, RecordedRequest};
use super::harness::store::Harness;
use crate::clock::SharedClock;
use crate::operation::{Bucket, Operation};
use crate::types::{GatewayCountry, ServiceId, ServiceType};

/// `Debug` for a handle: its name (what it borrows is the server's).
macro_rules! opaque_debug {
    ($($name:ident),*) => {$(
        impl std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    )*};
}

opaque_debug!(Faults, Accounts, Services, Gateways, Records);

/// Injected failures and reshaped answers ([`MockServer::faults`](crate::mock::MockServer::faults)).
///
/// ```no_run
/// # async fn demo() {
/// use opx::Operation;
/// use opx::mock::{Fault, MockServer};
/// let server = MockServer::start().await;
/// // The next purchase happens, but its client never hears back.
/// server.faults().inject(Operation::Purchase, Fault::DropAfterCommit, 1);
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct Faults<'a> {
    pub(crate) harness: &'a Harness,
}

impl<'a> Faults<'a> {
    /// Makes the next `times` calls of an operation fail with `fault`. Faults queue up in the
    /// order they are injected. They apply to requests that passed authentication and rate
    /// limiting; each one is logged.
    pub fn inject(&self, operation: Operation, fault: Fault, times: u32) {
        self.harness
            .inject(operation, fault, Schedule::Times(times));
    }

    /// Queues a fault with another [`Schedule`] (only the n-th call, or each call with a
    /// probability drawn from the mock's seeded generator).
    pub fn inject_scheduled(&self, operation: Operation, fault: Fault, schedule: Schedule) {
        self.harness.inject(operation, fault, schedule);
    }

    /// Removes every queued fault.
    pub fn clear(&self) {
        self.harness.clear_faults();
    }

    /// Reshapes the successful answers of an operation (drift simulation: see
    /// [`ResponseOverride`]); replaces an earlier override of the same operation.
    pub fn override_response(&self, operation: Operation, o: ResponseOverride) {
        self.harness.override_response(operation, o);
    }

    /// Removes every response override.
    pub fn clear_overrides(&self) {
        self.harness.clear_overrides();
    }
}

/// The mock's time ([`MockServer::clock`](crate::mock::MockServer::clock)): virtual time that
/// moves with [`advance`](Self::advance) and with every sleep of a client on it, or with
/// [`MockBuilder::wall_clock`](crate::mock::MockBuilder::wall_clock) /
/// [`MockBuilder::time_scale`](crate::mock::MockBuilder::time_scale) the wall clock (scaled).
///
/// ```no_run
/// # async fn demo() {
/// use std::time::Duration;
/// use opx::clock::Clock;
/// let server = opx::mock::MockServer::start().await;
/// let before = server.clock().now();
/// server.clock().shared().sleep(Duration::from_secs(3600)).await; // at once: virtual time
/// assert_eq!(server.clock().now() - before, chrono::Duration::hours(1));
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct MockClock<'a> {
    pub(crate) clock: &'a Clock,
}

impl std::fmt::Debug for MockClock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockClock")
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

impl<'a> MockClock<'a> {
    /// Moves the clock forward (the wall clock too, as an offset), and with it the clock of
    /// every client on it ([`MockServer::client`](crate::mock::MockServer::client)): their
    /// sleeps it passes complete.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The mock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// How many times faster than the wall clock the mock's time runs (`None`: virtual time;
    /// `Some(1.0)`: the wall clock).
    pub fn time_scale(&self) -> Option<f64> {
        self.clock.time_scale()
    }

    /// The clock itself, for a client (or anything else) to share
    /// ([`ClientBuilder::shared_clock`](crate::ClientBuilder::shared_clock)).
    pub fn shared(&self) -> SharedClock {
        self.clock.shared()
    }
}

/// Accounts, API keys, balances and rate limits
/// ([`MockServer::accounts`](crate::mock::MockServer::accounts)). Without a name, a method is
/// about the default account (the one of [`MockServer::token`](crate::mock::MockServer::token)).
#[derive(Clone, Copy)]
pub struct Accounts<'a> {
    pub(crate) fake: &'a Fake,
}

impl<'a> Accounts<'a> {
    /// The default account's balance in RUB.
    pub fn balance(&self) -> i64 {
        self.fake.lock().accounts[0].balance
    }

    /// Sets the default account's balance in RUB.
    pub fn set_balance(&self, rub: i64) {
        self.fake.lock().accounts[0].balance = rub;
    }

    /// The balance of the account a token belongs to (`None` for an unknown token).
    pub fn balance_of(&self, token: &str) -> Option<i64> {
        let st = self.fake.lock();
        st.key_index(token)
            .map(|k| st.accounts[st.keys[k].account].balance)
    }

    /// Sets the balance of the account with this user name.
    pub fn set_balance_of(&self, username: &str, rub: i64) -> Result<(), String> {
        let index = self.fake.account_named(username)?;
        self.fake.lock().accounts[index].balance = rub;
        Ok(())
    }

    /// Sets the default account's user name and e-mail as `GET /account` reports them. (An
    /// e-mail that is not one breaks the spec: a way to watch response validation at work.)
    pub fn set_profile(&self, username: &str, email: &str) {
        let mut st = self.fake.lock();
        st.accounts[0].username = username.to_string();
        st.accounts[0].email = email.to_string();
    }

    /// Adds another tenant with its own key and balance.
    pub fn add(&self, balance: i64) -> MockAccount {
        self.fake.add_account(balance, None)
    }

    /// Revokes an API key: it gets `401 invalid_token` from now on.
    pub fn revoke(&self, token: &str) {
        let mut st = self.fake.lock();
        if let Some(k) = st.key_index(token) {
            st.keys[k].revoked = true;
        }
    }

    /// Pins an API key to source IPs: from any other address it gets `401 invalid_token`.
    pub fn pin(&self, token: &str, ips: Vec<IpAddr>) {
        let mut st = self.fake.lock();
        if let Some(k) = st.key_index(token) {
            st.keys[k].pinned = Some(ips.into_iter().map(|ip| ip.to_canonical()).collect());
        }
    }

    /// Sets a rate limit of every key (per key, per window), e.g. lowers it for a test.
    pub fn set_limit(&self, bucket: Bucket, limit: u32) {
        self.fake.lock().limits.set(bucket, limit);
    }

    /// Adds `n` log entries (`GET /api/v1/account`, 200, now) to the default account.
    pub fn seed_logs(&self, n: usize) {
        let now = self.fake.now();
        let ip = IpAddr::from(Ipv4Addr::LOCALHOST);
        for _ in 0..n {
            let entry = LogEntry::new(now, "GET", "/api/v1/account", 200, ip);
            self.fake.log(0, entry);
        }
    }

    /// The state (accounts, keys, services, logs) as a file that
    /// [`MockBuilder::state`](crate::mock::MockBuilder::state) and `opx mock --state` start
    /// from.
    pub fn export_state(&self) -> StateFile {
        self.fake.export_state()
    }
}

/// Services and the plan catalog ([`MockServer::services`](crate::mock::MockServer::services)).
///
/// ```no_run
/// # async fn demo() -> opx::Result<()> {
/// use opx::types::{ProxyQuery, PurchaseRequest, ServiceType};
/// let server = opx::mock::MockServer::start().await;
/// // Typed as the client types them: no parsing in between.
/// let ids = server.services().seed(2);
/// let lines = server.client().proxies(&ids[0], &ProxyQuery::new()).await?;
/// let plan = server.services().cheapest_plan(ServiceType::Ipv6Rotating).unwrap();
/// let request = PurchaseRequest::new(plan.service_type, plan.plan_id);
/// # let _ = (lines, request);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy)]
pub struct Services<'a> {
    pub(crate) fake: &'a Fake,
}

impl<'a> Services<'a> {
    /// Creates `n` active services for the default account without charging, alternating
    /// between the catalog's plans; returns their ids, oldest first.
    pub fn seed(&self, n: usize) -> Vec<ServiceId> {
        self.seed_with(&ServiceSeed::count(n))
            .expect("the default catalog has plans of every type")
    }

    /// Creates services as `seed` describes (type, country, expiry, whitelist, account);
    /// returns their ids, oldest first.
    pub fn seed_with(&self, seed: &ServiceSeed) -> Result<Vec<ServiceId>, String> {
        self.fake.seed(seed)
    }

    /// How many services the default account has (active and expired).
    pub fn count(&self) -> usize {
        self.fake.lock().accounts[0].services.len()
    }

    /// Sets the thread count of a service (of any account): how many requests and tunnels the
    /// gateways carry for it at once. For tests of the thread limit (the plans have 50 or
    /// more); `false` when there is no such service.
    pub fn set_threads(&self, id: &ServiceId, threads: u32) -> bool {
        self.fake.set_threads(id, threads)
    }

    /// The plan catalog.
    pub fn plans(&self) -> Vec<MockPlan> {
        self.fake.plans()
    }

    /// The catalog's first plan of type `t`, if it sells one.
    pub fn plan(&self, t: ServiceType) -> Option<MockPlan> {
        self.fake.plans_of(&t).into_iter().next()
    }

    /// The catalog's cheapest plan of type `t` (the first of equal price), if it sells one.
    pub fn cheapest_plan(&self, t: ServiceType) -> Option<MockPlan> {
        let plans = self.fake.plans_of(&t);
        plans.iter().min_by_key(|p| p.price).cloned()
    }
}

/// The proxy gateways ([`MockServer::gateways`](crate::mock::MockServer::gateways)): one
/// forward proxy per gateway country on loopback, which the services' proxy lists point at.
/// See the [module docs](crate::mock) for what they carry and enforce.
///
/// A line of a service's list, used as a program under test would use it:
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use opx::types::{GatewayCountry, ProxyQuery};
/// let server = opx::mock::MockServer::start().await;
/// let nl = server.gateways().addr(&GatewayCountry::Nl).unwrap();
/// assert!(nl.ip().is_loopback());
/// let id = server.services().seed(1).remove(0);
/// let lines = server.client().proxies(&id, &ProxyQuery::new()).await?.into_inner();
/// assert_eq!((lines[0].host(), lines[0].port()), ("127.0.0.1", nl.port()));
/// let through = reqwest::Client::builder()
///     .proxy(reqwest::Proxy::all(lines[0].proxy_url())?)
///     .build()?;
/// // Any loopback server of the test, e.g. one on 127.0.0.1:8000:
/// let page = through.get("http://127.0.0.1:8000/").send().await?;
/// # let _ = page;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy)]
pub struct Gateways<'a> {
    pub(crate) fake: &'a Fake,
    pub(crate) running: &'a Running,
}

impl<'a> Gateways<'a> {
    /// The address of a country's gateway (`127.0.0.1:PORT`), the forward proxy that the
    /// proxy lists point at; `None` for a country that has none.
    pub fn addr(&self, country: &GatewayCountry) -> Option<SocketAddr> {
        self.fake.gateways().get(country)
    }

    /// How many of a service's threads the gateways are using now (forwarded requests not yet
    /// answered through, open tunnels), over all gateways.
    pub fn threads_in_use(&self, id: &ServiceId) -> u32 {
        self.running.threads_in_use(id)
    }

    /// The most threads of a service the gateways have had in use at once, since the mock
    /// started: a program that keeps to the service's `threads` never makes it exceed them.
    pub fn threads_peak(&self, id: &ServiceId) -> u32 {
        self.running.threads_peak(id)
    }

    /// Takes a country's gateway down (`true`): it closes every new connection at once without
    /// answering, as a dead proxy line does; `false` brings it back. Open tunnels are kept.
    pub fn set_down(&self, country: &GatewayCountry, down: bool) {
        self.running.set_down(country, down);
    }

    /// Makes a country's gateway hang (`true`): it accepts every new connection and holds it
    /// open without ever answering, as a hung proxy line does; `false` brings it back (for new
    /// connections; the held ones stay until the mock stops). Open tunnels are kept.
    pub fn set_hung(&self, country: &GatewayCountry, hung: bool) {
        self.running.set_hung(country, hung);
    }

    /// Whether these proxy credentials currently work for the service (any account): they
    /// must be the service's current ones and the service must be active.
    pub fn credentials_valid(&self, id: &ServiceId, login: &str, password: &str) -> bool {
        self.fake.credentials_valid(id, login, password)
    }
}

/// What the mock was asked and answered, and expectations on it
/// ([`MockServer::records`](crate::mock::MockServer::records)).
///
/// ```no_run
/// # async fn demo() {
/// use opx::Operation;
/// use opx::mock::{Expectation, MockServer};
/// let server = MockServer::start().await;
/// server.records().expect(Operation::Purchase, Expectation::exactly(1));
/// // ... the code under test ...
/// assert!(server.records().schema_violations().is_empty());
/// // Dropping `server` panics with what was called if an expectation is not met.
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct Records<'a> {
    pub(crate) harness: &'a Harness,
}

impl<'a> Records<'a> {
    /// The requests received so far (the most recent 10,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.harness.log().requests.iter().cloned().collect()
    }

    /// How many times an operation's handler ran and succeeded (committed its effect).
    pub fn executions(&self, operation: Operation) -> u64 {
        self.harness.log().executions(operation)
    }

    /// How many requests were routed to an operation, whatever their answer (what
    /// expectations count).
    pub fn calls(&self, operation: Operation) -> u64 {
        self.harness.log().calls(operation)
    }

    /// What the mock has answered: requests, answers by status, charges.
    pub fn stats(&self) -> MockStats {
        self.harness.log().stats()
    }

    /// Responses that failed spec validation (each was replaced by a 500). Should stay empty.
    pub fn schema_violations(&self) -> Vec<String> {
        self.harness.log().violations.clone()
    }

    /// Expects `operation` to be called as many times as `expectation` says; checked when the
    /// server is dropped (a panic listing what was called) or by [`verify`](Self::verify).
    pub fn expect(&self, operation: Operation, expectation: impl Into<Expectation>) {
        self.harness.expect(operation, expectation.into());
    }

    /// Checks the expectations now: `Err` lists the unmet ones and every operation called.
    pub fn verify(&self) -> Result<(), String> {
        self.harness.verify()
    }
}
