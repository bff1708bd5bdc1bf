//! The fake's state: accounts, API keys, plans, services and logs (what the API holds), and
//! the per-key rate-limit windows. What tests record about requests is the harness's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::ids::ct_eq;
use super::model::{Account, ApiKey, LogEntry, MockPlan, Service, default_plans};
use super::ratelimit::{Limits, Windows};
use crate::types::{Country, PlanId, Rotation};

/// How many log entries an account keeps (the oldest are dropped first).
pub(crate) const MAX_LOGS: usize = 100_000;

/// Everything mutable, behind one short-held lock.
pub(crate) struct State {
    pub(crate) plans: Vec<MockPlan>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) keys: Vec<ApiKey>,
    pub(crate) limits: Limits,
    id_prefix: u32,
    pub(crate) next_seq: u64,
    /// Ids, credentials and tokens come from here (seeded: the same run).
    pub(crate) rng: StdRng,
}

impl State {
    /// An empty state; `seed` makes every random value repeat from run to run.
    pub(crate) fn new(now: DateTime<Utc>, seed: Option<u64>) -> Self {
        let (rng, id_prefix) = match seed {
            // A fixed, ObjectId-like prefix (the docs' ids start 65a9/65aa): the same ids.
            Some(seed) => (
                StdRng::seed_from_u64(seed),
                0x65aa_0000 | (seed as u32 & 0xffff),
            ),
            None => (
                StdRng::from_os_rng(),
                u32::try_from(now.timestamp()).unwrap_or(0x6600_0000),
            ),
        };
        State {
            rng,
            id_prefix,
            plans: default_plans(),
            accounts: Vec::new(),
            keys: Vec::new(),
            limits: Limits::default(),
            next_seq: 1,
        }
    }

    /// A new, monotonic, ObjectId-like id.
    pub(crate) fn next_id(&mut self) -> u128 {
        let seq = self.next_seq;
        self.next_seq += 1;
        (u128::from(self.id_prefix) << 64) | u128::from(seq)
    }

    /// Adds an account with one key; returns (account index, token).
    pub(crate) fn add_account(&mut self, balance: i64, token: Option<String>) -> (usize, String) {
        let n = self.accounts.len();
        let (username, email) = if n == 0 {
            ("alice".to_string(), "alice@example.com".to_string())
        } else {
            (format!("tenant{n}"), format!("tenant{n}@example.com"))
        };
        self.accounts.push(Account {
            username,
            email,
            balance,
            services: BTreeMap::new(),
            logs: BTreeMap::new(),
        });
        let token = token.unwrap_or_else(|| self.random_token());
        self.keys.push(ApiKey {
            token: token.clone(),
            account: n,
            revoked: false,
            pinned: None,
            windows: Windows::default(),
        });
        (n, token)
    }

    /// The key for a bearer token (compared in constant time against every key).
    pub(crate) fn key_index(&self, token: &str) -> Option<usize> {
        let mut found = None;
        for (i, k) in self.keys.iter().enumerate() {
            if ct_eq(k.token.as_bytes(), token.as_bytes()) {
                found = Some(i);
            }
        }
        found
    }

    /// The catalog's plan with this id (any case).
    pub(crate) fn plan(&self, plan_id: &PlanId) -> Option<&MockPlan> {
        let wanted = plan_id.as_str();
        self.plans
            .iter()
            .find(|p| p.plan_id.as_str().eq_ignore_ascii_case(wanted))
    }

    /// Provisions a service (without charging).
    pub(crate) fn provision(
        &mut self,
        account: usize,
        plan: &MockPlan,
        country: Country,
        rotation: Rotation,
        now: DateTime<Utc>,
    ) -> u128 {
        let id = self.next_id();
        let service = Service {
            id,
            service_type: plan.service_type.clone(),
            plan_id: plan.plan_id.clone(),
            threads: plan.threads,
            expires_at: now + chrono::Duration::days(i64::from(plan.days)),
            country,
            rotation,
            login: format!("opx{}", self.random_hex(10)),
            password: self.random_hex(20),
            whitelist: Vec::new(),
        };
        self.accounts[account].services.insert(id, service);
        id
    }

    /// New proxy credentials for a service.
    pub(crate) fn new_credentials(&mut self) -> (String, String) {
        (format!("opx{}", self.random_hex(10)), self.random_hex(20))
    }

    /// A fresh random API key: `opx_live_` + 32 hex.
    pub(crate) fn random_token(&mut self) -> String {
        format!("opx_live_{:032x}", self.rng.random::<u128>())
    }

    fn random_hex(&mut self, len: usize) -> String {
        let s = format!("{:032x}", self.rng.random::<u128>());
        s[..len.min(32)].to_string()
    }

    /// Appends a log entry to an account, dropping the oldest past [`MAX_LOGS`].
    pub(crate) fn log(&mut self, account: usize, mut entry: LogEntry) {
        entry.id = self.next_id();
        let logs = &mut self.accounts[account].logs;
        logs.insert(entry.id, entry);
        while logs.len() > MAX_LOGS {
            logs.pop_first();
        }
    }
}

/// One page of a newest-first collection keyed by monotonic ids: items strictly older than
/// `cursor` that pass `keep`, at most `limit`, and the next cursor when more remain.
pub(crate) fn page<T>(
    items: &BTreeMap<u128, T>,
    cursor: Option<u128>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> (Vec<&T>, Option<u128>) {
    let upper = cursor.unwrap_or(u128::MAX);
    let mut iter = items.range(..upper).rev().filter(|(_, t)| keep(t));
    let mut out = Vec::new();
    let mut last = None;
    for (id, t) in iter.by_ref().take(limit) {
        out.push(t);
        last = Some(*id);
    }
    let more = iter.next().is_some();
    (out, if more { last } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lookup_finds_each_key_and_only_exact_matches() {
        let mut st = State::new(Utc::now(), None);
        let (_, t0) = st.add_account(0, None);
        let (_, t1) = st.add_account(0, Some("opx_live_0123456789abcdef0123456789abcdef".into()));
        assert_eq!(st.key_index(&t0), Some(0));
        assert_eq!(st.key_index(&t1), Some(1));
        assert_eq!(st.key_index(&t1[..t1.len() - 1]), None);
        assert_eq!(st.key_index(&format!("{t1}0")), None);
        assert_eq!(st.key_index(""), None);
    }
}
