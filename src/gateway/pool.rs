//! The pool: the lines of the selected services, how many upstream connections each service
//! has open (never more than its `threads`), which line a request gets, and the queue of
//! requests that wait for a free thread.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::health::{Ejection, Health};
use super::lines::{Line, ServiceLines};
use super::wish::Wish;
use crate::clock::SharedClock;

/// How a line is chosen among those with a free thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// The line of the service with the smallest share of its threads in use (the default).
    #[default]
    LeastBusy,
    /// Each line in turn.
    RoundRobin,
}

/// How the pool behaves.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) strategy: Strategy,
    pub(crate) max_queue: usize,
    pub(crate) queue_timeout: Duration,
    pub(crate) session_ttl: Duration,
    pub(crate) ejection: Ejection,
}

/// Why no line was handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Every thread of the usable services is busy and the queue is full.
    QueueFull,
    /// The wait for a free thread timed out.
    QueueTimeout(Duration),
    /// No line can serve this request (none in the country, all ejected or expired).
    NoLine(String),
}

struct Slot {
    line: Arc<Line>,
    in_use: u32,
    health: Health,
}

struct Svc {
    threads: u32,
    in_use: u32,
    expires_at: chrono::DateTime<chrono::Utc>,
    slots: Vec<Slot>,
}

struct Session {
    key: (String, String),
    until: Instant,
}

#[derive(Default)]
struct State {
    services: HashMap<String, Svc>,
    cursor: usize,
    sessions: HashMap<String, Session>,
}

/// The lines and their use.
pub(crate) struct Pool {
    state: Mutex<State>,
    freed: Notify,
    waiting: AtomicUsize,
    clock: SharedClock,
    rules: Rules,
}

/// One upstream connection's right to exist: a thread of a service on one line. Given back
/// when dropped.
pub(crate) struct Lease {
    pool: Arc<Pool>,
    pub(crate) line: Arc<Line>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        {
            let mut st = self.pool.lock();
            if let Some(svc) = st.services.get_mut(&self.line.service) {
                svc.in_use = svc.in_use.saturating_sub(1);
                let line = &self.line;
                if let Some(slot) = svc.slots.iter_mut().find(|s| s.line.same_as(line)) {
                    slot.in_use = slot.in_use.saturating_sub(1);
                }
            }
        }
        self.pool.freed.notify_waiters();
    }
}

enum Take {
    Got(Lease),
    Busy,
    None(String),
}

impl Pool {
    pub(crate) fn new(clock: SharedClock, rules: Rules) -> Arc<Pool> {
        Arc::new(Pool {
            state: Mutex::new(State::default()),
            freed: Notify::new(),
            waiting: AtomicUsize::new(0),
            clock,
            rules,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }

    /// Adds or updates services (new credentials, threads, expiry); with `complete`, drops
    /// the services not in `list`. Health and use of a line are kept across updates.
    pub(crate) fn sync(&self, list: Vec<ServiceLines>, complete: bool) {
        let mut st = self.lock();
        if complete {
            st.services.retain(|id, _| list.iter().any(|s| &s.id == id));
        }
        for s in list {
            let old = st.services.remove(&s.id);
            let (in_use, mut old_slots) = old.map_or((0, Vec::new()), |o| (o.in_use, o.slots));
            let slots = s
                .lines
                .into_iter()
                .map(|line| {
                    let kept = old_slots
                        .iter()
                        .position(|o| o.line.same_as(&line))
                        .map(|i| old_slots.swap_remove(i));
                    let (in_use, health) =
                        kept.map_or((0, Health::default()), |k| (k.in_use, k.health));
                    Slot {
                        line: Arc::new(line),
                        in_use,
                        health,
                    }
                })
                .collect();
            let svc = Svc {
                threads: s.threads,
                in_use,
                expires_at: s.expires_at,
                slots,
            };
            st.services.insert(s.id, svc);
        }
        drop(st);
        self.freed.notify_waiters();
    }

    /// Drops a service (gone from the account).
    pub(crate) fn remove(&self, id: &str) {
        self.lock().services.remove(id);
        self.freed.notify_waiters();
    }

    /// A line for `wish`, not one of `tried`, waiting in the queue while every thread is busy.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        wish: &Wish,
        tried: &[(String, String)],
    ) -> Result<Lease, Refusal> {
        let started = tokio::time::Instant::now();
        let mut queued: Option<Queued<'_>> = None;
        loop {
            let mut freed = pin!(self.freed.notified());
            freed.as_mut().enable();
            match self.try_take(wish, tried) {
                Take::Got(lease) => return Ok(lease),
                Take::None(why) => return Err(Refusal::NoLine(why)),
                Take::Busy => {}
            }
            if queued.is_none() {
                queued = Some(Queued::join(self).ok_or(Refusal::QueueFull)?);
            }
            let deadline = started + self.rules.queue_timeout;
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return Err(Refusal::QueueTimeout(self.rules.queue_timeout));
            }
        }
    }

    fn try_take(self: &Arc<Self>, wish: &Wish, tried: &[(String, String)]) -> Take {
        let now = self.clock.now();
        let wall = chrono::DateTime::<chrono::Utc>::from(self.clock.system_now());
        let mut st = self.lock();
        st.services.retain(|_, s| s.expires_at > wall);
        st.sessions.retain(|_, s| s.until > now);
        let candidates = candidates(&st, wish, tried, now);
        if candidates.is_empty() {
            return Take::None(no_line(&st, wish));
        }
        let sticky = wish
            .session
            .as_ref()
            .and_then(|k| st.sessions.get(k))
            .map(|s| s.key.clone())
            .filter(|k| candidates.contains(k));
        let choice = match sticky {
            Some(key) => has_room(&st, &key).then_some(key),
            None => self.choose(&mut st, &candidates),
        };
        let Some(key) = choice else {
            return Take::Busy;
        };
        if let Some(session) = &wish.session {
            let until = now + self.rules.session_ttl;
            let key = key.clone();
            st.sessions.insert(session.clone(), Session { key, until });
        }
        let line = take(&mut st, &key);
        Take::Got(Lease {
            pool: self.clone(),
            line,
        })
    }

    /// Among lines with room, the next of the least busy ones (service load, then line
    /// load), or simply the next one.
    fn choose(&self, st: &mut State, candidates: &[(String, String)]) -> Option<(String, String)> {
        let free: Vec<&(String, String)> = candidates.iter().filter(|k| has_room(st, k)).collect();
        if free.is_empty() {
            return None;
        }
        let free = match self.rules.strategy {
            Strategy::RoundRobin => free,
            Strategy::LeastBusy => {
                let least = free.iter().map(|k| load(st, k)).min()?;
                free.into_iter().filter(|k| load(st, k) == least).collect()
            }
        };
        // Round robin among the lines left (for least-busy: among equally busy ones).
        st.cursor = st.cursor.wrapping_add(1);
        Some(free[st.cursor % free.len()].clone())
    }

    /// The client's clock's now (what sessions and ejections are measured on).
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// A session goes on using `line` (a request on its kept connection): it keeps the line
    /// for another `session_ttl`, for its tunnels too.
    pub(crate) fn keep_session(&self, session: &str, line: &Line) {
        let until = self.clock.now() + self.rules.session_ttl;
        let key = line.key();
        self.lock()
            .sessions
            .insert(session.to_owned(), Session { key, until });
    }

    /// Whether `line` may still carry requests as it is: its service is in the pool and not
    /// expired, the line is not ejected, and its credentials have not changed.
    pub(crate) fn usable(&self, line: &Line) -> bool {
        let now = self.clock.now();
        let wall = chrono::DateTime::<chrono::Utc>::from(self.clock.system_now());
        let st = self.lock();
        let Some(svc) = st.services.get(&line.service) else {
            return false;
        };
        svc.expires_at > wall
            && svc
                .slots
                .iter()
                .any(|s| *s.line == *line && s.health.usable(now))
    }

    /// How long a session keeps its line (and its kept connections).
    pub(crate) fn session_ttl(&self) -> Duration {
        self.rules.session_ttl
    }

    /// Every line now (ejected ones too).
    pub(crate) fn lines(&self) -> Vec<Arc<Line>> {
        let st = self.lock();
        let mut all: Vec<Arc<Line>> = st
            .services
            .values()
            .flat_map(|s| s.slots.iter().map(|l| l.line.clone()))
            .collect();
        all.sort_by_key(|l| l.key());
        all
    }

    /// A thread of `line`'s service on that line, healthy or not, if one is free now (for an
    /// active probe: it never waits, and never takes a thread a request is waiting for).
    pub(crate) fn try_line(self: &Arc<Self>, line: &Line) -> Option<Lease> {
        if self.waiting.load(Ordering::Acquire) > 0 {
            return None;
        }
        let key = line.key();
        let mut st = self.lock();
        let known = st
            .services
            .get(&key.0)
            .is_some_and(|s| s.slots.iter().any(|l| l.line.is(&key)));
        if !known || !has_room(&st, &key) {
            return None;
        }
        let line = take(&mut st, &key);
        Some(Lease {
            pool: self.clone(),
            line,
        })
    }

    /// The pool's current version of `line` (its credentials may have changed since).
    pub(crate) fn current(&self, line: &Line) -> Option<Arc<Line>> {
        self.with_slot(line, |s| s.line.clone())
    }

    /// A failure of a line at the client's clock's now; `true` when it ejected the line.
    pub(crate) fn failed(&self, line: &Line) -> bool {
        let now = self.clock.now();
        let rule = self.rules.ejection;
        self.with_slot(line, |s| s.health.failed(now, &rule))
            .unwrap_or(false)
    }

    /// A success of a line.
    pub(crate) fn succeeded(&self, line: &Line) {
        self.with_slot(line, |s| s.health.succeeded());
    }

    fn with_slot<T>(&self, line: &Line, f: impl FnOnce(&mut Slot) -> T) -> Option<T> {
        let mut st = self.lock();
        let svc = st.services.get_mut(&line.service)?;
        svc.slots.iter_mut().find(|s| s.line.same_as(line)).map(f)
    }

    /// Per service: (id, threads, in use, usable lines, ejected lines).
    pub(crate) fn snapshot(&self) -> Vec<ServiceUse> {
        let now = self.clock.now();
        let st = self.lock();
        let mut out: Vec<ServiceUse> = st
            .services
            .iter()
            .map(|(id, s)| ServiceUse {
                id: id.clone(),
                threads: s.threads,
                in_use: s.in_use,
                lines: s.slots.len(),
                ejected: s.slots.iter().filter(|l| l.health.ejected(now)).count(),
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}

/// The use of one service, for status lines and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUse {
    /// The service id.
    pub id: String,
    /// Its thread limit.
    pub threads: u32,
    /// Upstream connections open now.
    pub in_use: u32,
    /// Its lines in the pool.
    pub lines: usize,
    /// Of them, ejected for failures now.
    pub ejected: usize,
}

/// A place in the queue, given back when dropped.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(pool: &'a Pool) -> Option<Self> {
        let max = pool.rules.max_queue;
        pool.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(Queued(&pool.waiting))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The lines that may serve `wish` now (room or not).
fn candidates(
    st: &State,
    wish: &Wish,
    tried: &[(String, String)],
    now: Instant,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for svc in st.services.values() {
        for slot in &svc.slots {
            let country_ok = wish.country.is_none() || slot.line.country == wish.country;
            let key = slot.line.key();
            if country_ok && slot.health.usable(now) && !tried.contains(&key) {
                out.push(key);
            }
        }
    }
    out.sort();
    out
}

fn has_room(st: &State, key: &(String, String)) -> bool {
    st.services
        .get(&key.0)
        .is_some_and(|s| s.in_use < s.threads)
}

/// How busy a line is: its service's share of threads in use, then its own connections.
fn load(st: &State, key: &(String, String)) -> (u64, u32) {
    let Some(svc) = st.services.get(&key.0) else {
        return (u64::MAX, u32::MAX);
    };
    let share = u64::from(svc.in_use) * 1_000_000 / u64::from(svc.threads.max(1));
    let line = svc.slots.iter().find(|s| s.line.is(key));
    (share, line.map_or(0, |s| s.in_use))
}

fn take(st: &mut State, key: &(String, String)) -> Arc<Line> {
    let svc = st.services.get_mut(&key.0).expect("a candidate's service");
    svc.in_use += 1;
    let slot = svc
        .slots
        .iter_mut()
        .find(|s| s.line.is(key))
        .expect("a candidate's line");
    slot.in_use += 1;
    slot.line.clone()
}

/// Why no line can serve `wish`.
fn no_line(st: &State, wish: &Wish) -> String {
    if st.services.is_empty() {
        return "no active service is selected (all expired or none bought)".to_owned();
    }
    match &wish.country {
        Some(c)
            if !st
                .services
                .values()
                .flat_map(|s| &s.slots)
                .any(|l| l.line.country.as_ref() == Some(c)) =>
        {
            format!("no line of the selected services has a {c} gateway")
        }
        _ => "every line that could serve this request is ejected after failures".to_owned(),
    }
}
