//! Setting up and reading a scenario: what [`MockServer`](super::MockServer)'s methods and the
//! control API (`/_mock/`) both do, implemented once here.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::faults::Fault;
use super::schedule::Schedule;
use super::snapshot::StateFile;
use super::state;
use super::{Inner, MockAccount};
use crate::operation::{Operation, ServiceType};

/// Services to create without charging (`MockServer::seed_services_with`,
/// `POST /_mock/services`). Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServiceSeed {
    /// How many (default 1).
    #[serde(default)]
    pub count: Option<usize>,
    /// Their type (default: the catalog's plans in turn).
    #[serde(default, rename = "type")]
    pub service_type: Option<ServiceType>,
    /// Their country (default `mixed`).
    #[serde(default)]
    pub country: Option<String>,
    /// Seconds until they expire (default: the plan's days; negative: already expired).
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// Their whitelist.
    #[serde(default)]
    pub whitelist: Vec<Ipv4Addr>,
    /// The account they belong to (default: the default account).
    #[serde(default)]
    pub username: Option<String>,
}

impl ServiceSeed {
    /// `n` services of the catalog's plans in turn.
    pub fn count(n: usize) -> Self {
        Self {
            count: Some(n),
            ..Self::default()
        }
    }
}

/// What the mock has answered (`MockServer::stats`, `GET /_mock/stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MockStats {
    /// Requests answered.
    pub requests: u64,
    /// How many answers had each status (`"200"`, `"429"`, ...).
    pub responses_by_status: BTreeMap<String, u64>,
    /// Successful purchases and extensions: the times a balance was charged.
    pub charges: u64,
    /// Requests held by a [`Fault::Delay`](super::Fault::Delay) whose client hung up before
    /// the wait ended: dropped, never run.
    #[serde(default)]
    pub abandoned: u64,
}

impl Inner {
    /// Back to the starting state: accounts, services, logs, faults, overrides, records,
    /// counters and the clock. The default account keeps its token.
    pub(crate) fn reset(&self) {
        let token = self.lock().keys.first().map(|k| k.token.clone());
        let mut start = self.start.clone();
        if start.state.is_none() {
            start.token = token;
        }
        self.clock.reset();
        let (fresh, _) = start.initial_state(&self.clock);
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
    pub(crate) fn seed(&self, seed: &ServiceSeed) -> Result<Vec<String>, String> {
        let account = match &seed.username {
            Some(name) => self.account_named(name)?,
            None => 0,
        };
        let now = self.clock.now();
        let mut st = self.lock();
        let plans: Vec<_> = st
            .plans
            .iter()
            .filter(|p| {
                seed.service_type
                    .as_ref()
                    .is_none_or(|t| t.as_str() == p.service_type)
            })
            .cloned()
            .collect();
        if plans.is_empty() {
            return Err("the catalog has no plan of that type".into());
        }
        let country = seed.country.clone().unwrap_or_else(|| "mixed".into());
        let ids = (0..seed.count.unwrap_or(1))
            .map(|i| {
                let plan = &plans[i % plans.len()];
                let id = st.provision(account, plan, country.clone(), "instant".into(), now);
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
                state::id_hex(id)
            })
            .collect();
        Ok(ids)
    }

    /// Queues a fault for an operation.
    pub(crate) fn inject(&self, op: Operation, fault: Fault, schedule: Schedule) {
        self.lock()
            .faults
            .entry(op)
            .or_default()
            .push(fault, schedule);
    }

    /// What the mock has answered so far.
    pub(crate) fn stats(&self) -> MockStats {
        let st = self.lock();
        let charged = |op| st.executions.get(&op).copied().unwrap_or(0);
        MockStats {
            requests: st.by_status.values().sum(),
            responses_by_status: st
                .by_status
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            charges: charged(Operation::Purchase) + charged(Operation::ExtendService),
            abandoned: st.abandoned,
        }
    }

    /// The state as a file: accounts, keys, services, logs.
    pub(crate) fn export_state(&self) -> StateFile {
        StateFile::from_state(&self.lock())
    }
}
