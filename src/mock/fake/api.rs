//! [`Fake`]: the typed fake of the API. Its state behind one short-held lock, its clock, where
//! its gateways listen; it answers an operation's validated input with the documented
//! behaviour and knows nothing of HTTP, faults or records (the harness's and the shell's).

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::handlers::{Ctx, Reply, handler_for};
use super::ids::{ct_eq, service_id, service_key};
use super::model::{GatewayAddrs, LogEntry, MockAccount, MockPlan};
use super::seed::ServiceSeed;
use super::snapshot::StateFile;
use super::state::State;
use crate::mock::clock::Clock;
use crate::operation::{Bucket, Operation};
use crate::types::{Country, Rotation, ServiceId, ServiceType};

/// What a fake starts with (and goes back to on reset).
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) balance: i64,
    pub(crate) token: Option<String>,
    pub(crate) limits: Vec<(Bucket, u32)>,
    pub(crate) seed: Option<u64>,
    pub(crate) state: Option<StateFile>,
}

impl Setup {
    /// The state this configuration starts with, and the default token.
    fn initial_state(&self, now: DateTime<Utc>) -> (State, String) {
        let mut state = State::new(now, self.seed);
        let token = match &self.state {
            Some(file) => file.load_into(&mut state),
            None => state.add_account(self.balance, self.token.clone()).1,
        };
        for (bucket, limit) in &self.limits {
            state.limits.set(*bucket, *limit);
        }
        (state, token)
    }
}

/// The typed fake of the API.
pub(crate) struct Fake {
    state: Mutex<State>,
    clock: Clock,
    gateways: GatewayAddrs,
    setup: Setup,
}

/// The path, query and body of a request, as validated against the spec.
pub(crate) struct Input<'a> {
    pub(crate) path: &'a Map<String, Value>,
    pub(crate) query: &'a Map<String, Value>,
    pub(crate) body: Option<&'a Value>,
}

impl Fake {
    /// A fake as `setup` says, on `clock`; its default token.
    pub(crate) fn new(setup: Setup, clock: Clock, gateways: GatewayAddrs) -> (Self, String) {
        let (state, token) = setup.initial_state(clock.now());
        let fake = Fake {
            state: Mutex::new(state),
            clock,
            gateways,
            setup,
        };
        (fake, token)
    }

    /// Locks the state (a poisoned lock is still usable: the state is plain data).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    /// The fake's clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The fake's current time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Where the gateways listen.
    pub(crate) fn gateways(&self) -> &GatewayAddrs {
        &self.gateways
    }

    /// Answers `op` for `account` at `now`.
    pub(crate) fn answer(
        &self,
        op: Operation,
        account: usize,
        now: DateTime<Utc>,
        input: Input<'_>,
    ) -> Reply {
        let mut st = self.lock();
        let mut ctx = Ctx {
            state: &mut st,
            account,
            now,
            path: input.path,
            query: input.query,
            body: input.body,
            gateways: &self.gateways,
        };
        handler_for(op)(&mut ctx)
    }

    /// Appends a request to an account's log.
    pub(crate) fn log(&self, account: usize, entry: LogEntry) {
        self.lock().log(account, entry);
    }

    /// Back to the starting state: accounts, services, logs and the clock. The default account
    /// keeps its token.
    pub(crate) fn reset(&self) {
        let token = self.lock().keys.first().map(|k| k.token.clone());
        let mut start = self.setup.clone();
        if start.state.is_none() {
            start.token = token;
        }
        self.clock.reset();
        let (fresh, _) = start.initial_state(self.clock.now());
        *self.lock() = fresh;
    }

    /// A new tenant with one key.
    pub(crate) fn add_account(&self, balance: i64, token: Option<String>) -> MockAccount {
        let mut st = self.lock();
        let (index, token) = st.add_account(balance, token);
        MockAccount {
            username: st.accounts[index].username.clone(),
            token,
            index,
        }
    }

    /// The index of an account by user name.
    pub(crate) fn account_named(&self, username: &str) -> Result<usize, String> {
        self.lock()
            .accounts
            .iter()
            .position(|a| a.username == username)
            .ok_or_else(|| format!("no account named {username:?}"))
    }

    /// Creates services without charging; their ids, oldest first.
    pub(crate) fn seed(&self, seed: &ServiceSeed) -> Result<Vec<ServiceId>, String> {
        let account = match &seed.username {
            Some(name) => self.account_named(name)?,
            None => 0,
        };
        let now = self.now();
        let mut st = self.lock();
        let plans: Vec<MockPlan> = st
            .plans
            .iter()
            .filter(|p| {
                seed.service_type
                    .as_ref()
                    .is_none_or(|t| *t == p.service_type)
            })
            .cloned()
            .collect();
        if plans.is_empty() {
            return Err("the catalog has no plan of that type".into());
        }
        let country = seed.country.clone().unwrap_or(Country::MIXED);
        let ids = (0..seed.count.unwrap_or(1))
            .map(|i| {
                let plan = &plans[i % plans.len()];
                let id = st.provision(account, plan, country.clone(), Rotation::INSTANT, now);
                let s = st.accounts[account]
                    .services
                    .get_mut(&id)
                    .expect("just provisioned");
                if let Some(secs) = seed.expires_in_seconds {
                    s.expires_at = now + chrono::Duration::seconds(secs);
                }
                s.whitelist = seed
                    .whitelist
                    .iter()
                    .map(|ip| (ip.to_string(), None))
                    .collect();
                service_id(id)
            })
            .collect();
        Ok(ids)
    }

    /// The plan catalog.
    pub(crate) fn plans(&self) -> Vec<MockPlan> {
        self.lock().plans.clone()
    }

    /// The plans of type `t`, in catalog order.
    pub(crate) fn plans_of(&self, t: &ServiceType) -> Vec<MockPlan> {
        let mut plans = self.plans();
        plans.retain(|p| p.service_type == *t);
        plans
    }

    /// Sets the thread count of a service of any account; whether there is one.
    pub(crate) fn set_threads(&self, id: &ServiceId, threads: u32) -> bool {
        let key = service_key(id);
        let mut st = self.lock();
        st.accounts
            .iter_mut()
            .filter_map(|a| a.services.get_mut(&key))
            .map(|s| s.threads = threads)
            .count()
            > 0
    }

    /// Whether these are the current proxy credentials of an active service (any account).
    pub(crate) fn credentials_valid(&self, id: &ServiceId, login: &str, password: &str) -> bool {
        let key = service_key(id);
        let now = self.now();
        let st = self.lock();
        st.accounts
            .iter()
            .filter_map(|a| a.services.get(&key))
            .any(|s| {
                ct_eq(s.login.as_bytes(), login.as_bytes())
                    && ct_eq(s.password.as_bytes(), password.as_bytes())
                    && s.is_active(now)
            })
    }

    /// The state as a file: accounts, keys, services, logs.
    pub(crate) fn export_state(&self) -> StateFile {
        StateFile::from_state(&self.lock())
    }
}
