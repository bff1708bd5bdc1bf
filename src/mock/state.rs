//! The mock's data: accounts, API keys, plans, services and logs, plus the bookkeeping tests
//! read (executions, recorded requests, schema violations).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::faults::Fault;
use super::ratelimit::{Limits, Windows};
use super::record::RecordedRequest;
use super::schedule::FaultQueue;
use crate::operation::Operation;

/// How many requests `requests()` keeps (the oldest are dropped first).
pub(crate) const MAX_RECORDED: usize = 10_000;
/// How many log entries an account keeps (the oldest are dropped first).
pub(crate) const MAX_LOGS: usize = 100_000;

/// A purchasable plan of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockPlan {
    /// 24-char hex plan id.
    pub plan_id: String,
    /// `ipv4_rotating` or `ipv6_rotating`.
    pub service_type: String,
    /// Display name.
    pub name: String,
    /// Concurrent connections.
    pub threads: u32,
    /// Days in one period.
    pub days: u32,
    /// Price of one period in RUB.
    pub price: i64,
}

/// The default catalog: two IPv4 and two IPv6 rotating plans, 30 days each.
pub(crate) fn default_plans() -> Vec<MockPlan> {
    let plan = |id: &str, t: &str, name: &str, threads: u32, price: i64| MockPlan {
        plan_id: id.to_string(),
        service_type: t.to_string(),
        name: name.to_string(),
        threads,
        days: 30,
        price,
    };
    vec![
        plan(
            "65a9f0c1b2c3d4e5f6a7b8c9",
            "ipv4_rotating",
            "IPv4 Rotating 100 threads",
            100,
            1500,
        ),
        plan(
            "65a9f0c1b2c3d4e5f6a7b8ca",
            "ipv4_rotating",
            "IPv4 Rotating 50 threads",
            50,
            900,
        ),
        plan(
            "65a9f0c1b2c3d4e5f6a7b8cb",
            "ipv6_rotating",
            "IPv6 Rotating 500 threads",
            500,
            2500,
        ),
        plan(
            "65a9f0c1b2c3d4e5f6a7b8cc",
            "ipv6_rotating",
            "IPv6 Rotating 200 threads",
            200,
            1200,
        ),
    ]
}

/// A provisioned service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) id: u128,
    pub(crate) service_type: String,
    pub(crate) plan_id: String,
    pub(crate) threads: u32,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) country: String,
    pub(crate) rotation: String,
    pub(crate) login: String,
    pub(crate) password: String,
    pub(crate) whitelist: Vec<(String, Option<String>)>,
}

/// One recorded API request of an account.
#[derive(Debug, Clone)]
pub(crate) struct LogEntry {
    pub(crate) id: u128,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) http_status: u16,
    pub(crate) ip: String,
}

impl LogEntry {
    /// An entry for a request (its id is set when it is logged).
    pub(crate) fn new(
        created_at: DateTime<Utc>,
        method: &str,
        path: &str,
        http_status: u16,
        ip: std::net::IpAddr,
    ) -> Self {
        LogEntry {
            id: 0,
            created_at,
            method: method.to_string(),
            path: path.to_string(),
            http_status,
            ip: ip.to_string(),
        }
    }
}

/// A tenant.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) balance: i64,
    pub(crate) services: BTreeMap<u128, Service>,
    pub(crate) logs: BTreeMap<u128, LogEntry>,
}

/// An API key.
#[derive(Debug)]
pub(crate) struct ApiKey {
    pub(crate) token: String,
    pub(crate) account: usize,
    pub(crate) revoked: bool,
    pub(crate) pinned: Option<Vec<IpAddr>>,
    pub(crate) windows: Windows,
}

/// Everything mutable, behind one short-held lock.
pub(crate) struct State {
    pub(crate) plans: Vec<MockPlan>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) keys: Vec<ApiKey>,
    pub(crate) limits: Limits,
    id_prefix: u32,
    pub(crate) next_seq: u64,
    pub(crate) executions: HashMap<Operation, u64>,
    pub(crate) faults: HashMap<Operation, FaultQueue>,
    pub(crate) overrides: HashMap<Operation, super::overrides::ResponseOverride>,
    pub(crate) requests: VecDeque<RecordedRequest>,
    pub(crate) violations: Vec<String>,
    /// Every request counted, by the status it got (`requests` keeps only the latest).
    pub(crate) by_status: std::collections::BTreeMap<u16, u64>,
    /// Requests a `Delay` fault held whose client hung up before the wait ended (never run).
    pub(crate) abandoned: u64,
    /// Requests routed to each operation, whatever their answer (for expectations).
    pub(crate) calls: HashMap<Operation, u64>,
    /// Ids, credentials, tokens and fault probabilities come from here (seeded: the same run).
    pub(crate) rng: StdRng,
}

/// Formats an id as 24 lower-case hex characters.
pub(crate) fn id_hex(id: u128) -> String {
    format!("{id:024x}")
}

/// Parses a 24-hex id (any case).
pub(crate) fn parse_id(s: &str) -> Option<u128> {
    if s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        u128::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// Constant-time equality of two byte strings (the length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
            by_status: Default::default(),
            abandoned: 0,
            calls: HashMap::new(),
            plans: default_plans(),
            accounts: Vec::new(),
            keys: Vec::new(),
            limits: Limits::default(),
            next_seq: 1,
            executions: HashMap::new(),
            faults: HashMap::new(),
            overrides: HashMap::new(),
            requests: VecDeque::new(),
            violations: Vec::new(),
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

    pub(crate) fn plan(&self, plan_id: &str) -> Option<&MockPlan> {
        self.plans
            .iter()
            .find(|p| p.plan_id.eq_ignore_ascii_case(plan_id))
    }

    /// Provisions a service (without charging).
    pub(crate) fn provision(
        &mut self,
        account: usize,
        plan: &MockPlan,
        country: String,
        rotation: String,
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

    /// Records a request, dropping the oldest past [`MAX_RECORDED`].
    pub(crate) fn record(&mut self, r: RecordedRequest) {
        *self.by_status.entry(r.status).or_insert(0) += 1;
        if let Some(op) = r.operation {
            *self.calls.entry(op).or_insert(0) += 1;
        }
        self.requests.push_back(r);
        while self.requests.len() > MAX_RECORDED {
            self.requests.pop_front();
        }
    }

    /// Takes the next injected fault for an operation, if any.
    pub(crate) fn take_fault(&mut self, op: Operation) -> Option<Fault> {
        let queue = self.faults.get_mut(&op)?;
        queue.take(&mut self.rng)
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
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    #[test]
    fn ct_eq_compares_whole_strings() {
        assert!(ct_eq(b"opx_live_abc", b"opx_live_abc"));
        assert!(ct_eq(b"", b""));
        for other in [
            &b"opx_live_abd"[..],
            b"Opx_live_abc",
            b"opx_live_ab",
            b"opx_live_abcd",
            b"",
        ] {
            assert!(!ct_eq(b"opx_live_abc", other), "{other:?}");
        }
    }

    /// The time taken does not depend on where the first difference is: an early-exit
    /// comparison is ~1,000x faster on a first-byte mismatch of 32 KiB strings than on a
    /// last-byte one; this one is within noise (the bound is loose for loaded machines).
    #[test]
    fn ct_eq_time_does_not_depend_on_the_first_difference() {
        let a = vec![b'a'; 32 * 1024];
        let mut first = a.clone();
        first[0] = b'b';
        let mut last = a.clone();
        *last.last_mut().unwrap() = b'b';
        // Rounds interleaved (first, last, first, ...), so that load on the machine falls on
        // both alike, and the fastest of many kept: load only ever adds time, so the minimum
        // is the comparison's own cost.
        let once = |other: &[u8]| {
            let t = Instant::now();
            for _ in 0..10 {
                black_box(ct_eq(black_box(&a), black_box(other)));
            }
            t.elapsed()
        };
        let (mut t_first, mut t_last) = (Duration::MAX, Duration::MAX);
        for _ in 0..50 {
            t_first = t_first.min(once(&first));
            t_last = t_last.min(once(&last));
        }
        let ratio = t_last.as_secs_f64() / t_first.as_secs_f64().max(1e-9);
        assert!(
            (0.1..10.0).contains(&ratio),
            "first-byte mismatch {t_first:?}, last-byte mismatch {t_last:?}"
        );
    }

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
