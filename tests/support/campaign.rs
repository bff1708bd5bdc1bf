//! A seeded fault campaign over the money calls through the facade
//! (`tests/facade/fault_campaign.rs`; the real `opx` binary has its own, `tests/cli_campaign.rs`,
//! which shares [`draw`], [`mock`], [`seed`] and [`rounds`]).
//!
//! Each round buys or extends once, through the driver under test, with one fault injected on
//! that money call, chosen at random from [`FAULTS`]. The mock's own counters are the truth:
//! after each round the charge it made (0 or 1, never 2) must match what the driver reported:
//! done only with a charge, *not done* only without one (never a false "not charged"), and
//! unknown only where the call did not commit (the reads the watch needs are not faulted and
//! the mock commits before it answers, so the watch sees every charge; a commit after the watch
//! is `safe_purchase.rs`'s `a_commit_after_the_watch_is_unknown_then_resolved`).
//! A 2xx that did not commit (a lying server) is left out: a 2xx is the server saying it did. Over the whole run: charges = services created + extensions = outcomes
//! reported as done, and the balance fell by exactly the charges' price.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use opx::Operation;
use opx::mock::{Fault, MockServer};
use opx::operation::Bucket;
use opx::safe::{EntryState, Journal};
use opx::types::ServiceId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a driver made of one money call, as its user would read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// Charged: done, or recovered after a lost answer (the CLI's exit 0). The service id.
    Done(ServiceId),
    /// Not charged, said for certain (the CLI's exit 1, 3 or 4).
    NotDone,
    /// Said to be unknown (the CLI's exit 5).
    Unknown,
}

/// The money call of one round.
#[derive(Debug, Clone)]
pub enum Money {
    /// Buy the campaign's plan.
    Purchase,
    /// Extend this service by one period.
    Extend(ServiceId),
}

impl Money {
    fn operation(&self) -> Operation {
        match self {
            Money::Purchase => Operation::Purchase,
            Money::Extend(_) => Operation::ExtendService,
        }
    }
}

/// The active services the campaign lets the account hold: well below the one page (100) a client
/// reads before a purchase, so that every outcome can be resolved. (Beyond it a purchase that
/// did not happen is honestly unknown: the docs do not say how lists are ordered. That case is
/// `beyond_one_page_the_outcome_is_recovered_or_honestly_unknown` in `safe_purchase.rs`.)
const MAX_ACTIVE: usize = 20;
/// Far enough on the mock's clock for every service to expire.
const RETIRE: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The client's deadline per call in the campaign (a delayed answer outlives it). It is real
/// time (each attempt's timeout is reqwest's), and it bounds the unfaulted calls too, the
/// reads of reconciliation included: a read that misses it leaves an outcome unknown, which
/// the campaign counts as a failure. So it is generous, hundreds of times what an unfaulted
/// loopback call takes, also on a loaded 2-core machine; the price is this much real time
/// for each of the rare delay rounds.
pub const DEADLINE: Duration = Duration::from_secs(1);
/// How long the delay faults hold the answer: past [`DEADLINE`].
const HELD: Duration = Duration::from_millis(1500);
/// How late the late commit lands, on the mock's clock: far past the watch (whose sleeps move
/// that clock by 20 ms), reached when the campaign moves the clock after the round.
const LATE: Duration = Duration::from_secs(60);

/// One fault of the campaign: its name in the figures, whether the mock commits the call under
/// it, its weight in the draw.
pub struct FaultCase {
    /// The name in the figures.
    pub name: &'static str,
    /// The fault (`None`: the call is answered normally).
    pub fault: fn() -> Option<Fault>,
    /// Whether the money call takes effect (is charged) under this fault.
    pub commits: bool,
    /// It takes effect only once the mock's clock passes [`LATE`], after the round.
    pub late: bool,
    /// Relative frequency (the delay cases are rare: each costs the deadline in real time).
    pub weight: u32,
}

/// A row of [`FAULTS`] (or of another campaign's table of faults).
pub const fn case(
    name: &'static str,
    fault: fn() -> Option<Fault>,
    commits: bool,
    weight: u32,
) -> FaultCase {
    FaultCase {
        name,
        fault,
        commits,
        late: false,
        weight,
    }
}

/// `f`, after the call is committed.
pub fn after(f: Fault) -> Option<Fault> {
    Some(Fault::AfterCommit(Box::new(f)))
}

/// Every fault the issue names, before and after the commit where both exist: name, fault,
/// whether the mock commits the call under it, weight.
#[rustfmt::skip]
pub const FAULTS: &[FaultCase] = &[
    case("none",                                          || None,                                                   true,  8),
    case("drop before commit",                            || Some(Fault::DropBeforeResponse),                        false, 10),
    case("drop after commit",                             || Some(Fault::DropAfterCommit),                           true,  10),
    case("500 envelope, not committed",                   || Some(Fault::Status(500)),                               false, 8),
    case("500 envelope after commit",                     || after(Fault::Status(500)),                              true,  8),
    case("503 envelope after commit",                     || after(Fault::Status(503)),                              true,  4),
    case("502 HTML, not committed",                       || Some(Fault::Html502),                                   false, 8),
    case("502 HTML after commit",                         || after(Fault::Html502),                                  true,  8),
    case("truncated body after commit",                   || after(Fault::TruncatedBody),                            true,  8),
    case("malformed JSON after commit",                   || after(Fault::MalformedJson),                            true,  4),
    case("429 with Retry-After",                          || Some(Fault::RateLimited { retry_after: Some(1) }),      false, 5),
    case("429 without Retry-After",                       || Some(Fault::RateLimited { retry_after: None }),         false, 5),
    case("delay past the deadline, not committed",        || Some(Fault::Delay(HELD)),                               false, 1),
    case("answer delayed past the deadline after commit", || after(Fault::Delay(HELD)),                              true,  1),
    FaultCase { late: true, ..case("commit after the watch",  || Some(Fault::SlowCommit(LATE)),                          true,  1) },
];

/// Per fault: rounds, charges the mock made, and what the driver reported.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Row {
    /// Rounds under this fault.
    pub rounds: u64,
    /// Charges the mock made.
    pub charged: u64,
    /// Reported done or recovered.
    pub done: u64,
    /// Reported not done.
    pub not_done: u64,
    /// Reported unknown.
    pub unknown: u64,
    /// Reported unknown, landed later and found by the journal (`Client::resolve_pending`).
    pub resolved: u64,
}

/// The campaign's figures.
#[derive(Debug, Default)]
pub struct Figures {
    /// By fault name.
    pub by_fault: BTreeMap<&'static str, Row>,
    /// Purchases and extensions attempted.
    pub purchases: u64,
    /// Extensions attempted.
    pub extensions: u64,
    /// Rounds where the outcome reported did not match the mock's charge.
    pub mismatches: Vec<String>,
}

impl Figures {
    /// The totals over every fault.
    pub fn total(&self) -> Row {
        self.by_fault.values().fold(Row::default(), |mut t, r| {
            t.rounds += r.rounds;
            t.charged += r.charged;
            t.done += r.done;
            t.not_done += r.not_done;
            t.unknown += r.unknown;
            t.resolved += r.resolved;
            t
        })
    }

    /// The figures as a Markdown table (for SECURITY.md).
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| fault | rounds | charged | reported done | reported not done | unknown | unknown, landed late, resolved |\n|---|---|---|---|---|---|---|\n",
        );
        let rows = self.by_fault.iter().map(|(n, r)| (*n, r.clone()));
        for (name, r) in rows.chain([("total", self.total())]) {
            out += &format!(
                "| {name} | {} | {} | {} | {} | {} | {} |\n",
                r.rounds, r.charged, r.done, r.not_done, r.unknown, r.resolved
            );
        }
        out
    }
}

/// The number of rounds: `OPX_CAMPAIGN_ROUNDS`, else `default`.
pub fn rounds(default: usize) -> usize {
    std::env::var("OPX_CAMPAIGN_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seed: `OPX_CAMPAIGN_SEED`, else a fixed one (the same run every time).
pub fn seed() -> u64 {
    std::env::var("OPX_CAMPAIGN_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x0b5e_55ed)
}

/// A mock for the campaign: a balance that never runs out and limits that never bind (the
/// rate-limit case is the injected 429). Its answers are not validated against the spec (the
/// contract suite does that; here it would be most of the run's time).
pub async fn mock() -> MockServer {
    let s = MockServer::builder()
        .balance(1_000_000_000)
        .validate_responses(false)
        .start()
        .await
        .expect("a loopback mock");
    for bucket in [Bucket::GlobalMinute, Bucket::GlobalHour, Bucket::Purchase] {
        s.accounts().set_limit(bucket, 1_000_000);
    }
    s
}

/// One of `items`, drawn with `weight` as its relative frequency.
pub fn draw<T>(rng: &mut StdRng, items: &'static [T], weight: fn(&T) -> u32) -> &'static T {
    let total: u32 = items.iter().map(weight).sum();
    let mut pick = rng.random_range(0..total);
    for item in items {
        if pick < weight(item) {
            return item;
        }
        pick -= weight(item);
    }
    unreachable!("the draw is below the total weight")
}

/// What the campaign does about a round reported unknown, as an operator would after
/// checking: a late commit is moved to (the mock's clock past [`LATE`]) and must then be found
/// by the journal; an unknown that cannot land is dismissed. Returns the charges it landed and
/// whether the journal settled the call as done.
async fn settle_unknown(s: &MockServer, journal: &Journal, late: bool) -> (u64, bool) {
    let before = s.records().stats().charges;
    if late {
        s.clock().advance(LATE);
        for _ in 0..2000 {
            if s.records().stats().charges > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let landed = s.records().stats().charges - before;
    let resolved = client(s, journal)
        .resolve_pending()
        .await
        .expect("the journal reads");
    let done = resolved.iter().any(|e| e.state == EntryState::Done);
    for e in resolved.iter().filter(|e| e.state == EntryState::Unknown) {
        journal
            .dismiss(e.id, s.clock().now())
            .expect("the journal writes");
    }
    (landed, done)
}

/// Runs `rounds` rounds through `attempt` (given the round's money call; it returns what its
/// user was told) and returns the figures. `fresh` is called after a 429, as the next process
/// of the CLI would start afresh (a client honours the `Retry-After` it was given). The
/// driver's clients keep `journal`, where every unknown is settled after its round.
pub async fn run<F, Fut>(
    s: &MockServer,
    journal: &Journal,
    price: i64,
    rounds: usize,
    mut attempt: F,
) -> Figures
where
    F: FnMut(Money, bool) -> Fut,
    Fut: Future<Output = Reported>,
{
    let mut rng = StdRng::seed_from_u64(seed());
    let mut figures = Figures::default();
    let mut owned: Vec<ServiceId> = Vec::new();
    let balance_at_start = s.accounts().balance();
    let mut fresh = false;
    for round in 0..rounds {
        if owned.len() >= MAX_ACTIVE {
            s.clock().advance(RETIRE);
            owned.clear();
        }
        let money = match owned.len() {
            0 => Money::Purchase,
            n if rng.random_bool(0.5) => Money::Extend(owned[rng.random_range(0..n)].clone()),
            _ => Money::Purchase,
        };
        let case = draw(&mut rng, FAULTS, |f| f.weight);
        if let Some(f) = (case.fault)() {
            s.faults().inject(money.operation(), f, 1);
        }
        let (charges, services) = (s.records().stats().charges, s.services().count());
        let reported = attempt(money.clone(), fresh).await;
        s.faults().clear();
        fresh = case.name.starts_with("429");
        let mut charged = s.records().stats().charges - charges;
        let (mut landed, mut resolved) = (0, false);
        if reported == Reported::Unknown {
            (landed, resolved) = settle_unknown(s, journal, case.late).await;
        }
        let created = (s.services().count() - services) as u64;
        let row = figures.by_fault.entry(case.name).or_default();
        row.rounds += 1;
        row.resolved += u64::from(resolved);
        charged += landed;
        row.charged += charged;
        match &reported {
            Reported::Done(_) => row.done += 1,
            Reported::NotDone => row.not_done += 1,
            Reported::Unknown => row.unknown += 1,
        }
        match &money {
            Money::Purchase => figures.purchases += 1,
            Money::Extend(_) => figures.extensions += 1,
        }
        let consistent = match (&money, &reported) {
            (Money::Purchase, Reported::Done(id)) => {
                owned.push(id.clone());
                charged == 1 && created == 1 && case.commits
            }
            (Money::Extend(target), Reported::Done(id)) => {
                charged == 1 && created == 0 && id == target && case.commits
            }
            // A committing fault may not get to commit: under load the deadline can end the
            // call before the mock runs the handler. Not done is right exactly when nothing
            // was charged; that the committing faults do commit is checked over the run.
            (_, Reported::NotDone) => charged == 0 && created == 0,
            // Unknown is the honest answer to a lost answer that did not commit (the mock
            // commits before it answers, so the watch sees every charge): never with a charge.
            // (A committing fault whose call the deadline ended before the mock ran it is
            // unknown too, and rightly: nothing was charged; over the run the committing faults
            // must still have charged in most of their rounds.)
            // A commit after the watch is unknown at the time, and found once it lands.
            (_, Reported::Unknown) if case.late => landed == 1 && charged == 1 && resolved,
            (_, Reported::Unknown) => charged == 0 && created == 0,
        };
        if !consistent {
            figures.mismatches.push(format!(
                "round {round} ({money:?} under {:?}): reported {reported:?}, the mock charged \
                 {charged} and created {created}",
                case.name
            ));
        }
    }
    let total = figures.total();
    let spent = balance_at_start - s.accounts().balance();
    assert_eq!(
        spent,
        total.charged as i64 * price,
        "the balance fell by the charges' price"
    );
    figures
}

/// The campaign's client for `s`: [`DEADLINE`] per call, a quick reconciliation (two looks
/// over 20 ms), and `journal`.
pub fn client(s: &MockServer, journal: &Journal) -> opx::Client {
    let reconcile = opx::safe::ReconcilePolicy::default()
        .checks(2)
        .window(Duration::from_millis(20));
    s.client_builder()
        .deadline(DEADLINE)
        .reconcile_policy(reconcile)
        .journal(journal.clone())
        .build()
        .expect("a client for the mock")
}

/// Prints the figures of `driver`'s run and asserts they are sound ([`assert_sound`]).
pub fn report(driver: &str, figures: &Figures, rounds: usize) {
    println!(
        "{driver} campaign, seed {:#x}:\n{}",
        seed(),
        figures.table()
    );
    assert_sound(figures, rounds);
}

/// The assertions over a whole run.
pub fn assert_sound(figures: &Figures, rounds: usize) {
    let total = figures.total();
    assert_eq!(total.rounds as usize, rounds);
    assert!(
        figures.mismatches.is_empty(),
        "{} rounds where the report and the charge disagree:\n{}",
        figures.mismatches.len(),
        figures.mismatches.join("\n")
    );
    assert_eq!(
        total.charged,
        total.done + total.resolved,
        "charges = outcomes reported done + unknown ones found done once they landed"
    );
    // Unknown is said only where nothing was charged (checked per round), and the faults that
    // do not commit leave nothing to resolve; a commit after the watch, resolved later, is
    // `a_commit_after_the_watch_is_unknown_then_resolved` (facade) and the binary campaign.
    let unknown_without_fault: u64 = figures.by_fault.get("none").map_or(0, |r| r.unknown);
    assert_eq!(
        unknown_without_fault, 0,
        "an unfaulted call is never unknown"
    );
    for case in FAULTS {
        let row = figures.by_fault.get(case.name);
        assert!(
            row.is_some_and(|r| r.rounds > 0),
            "the campaign never drew {:?}: more rounds or another seed",
            case.name
        );
        // The faults meant to commit did charge in most rounds (not only under load's
        // deadline misses), and the others never did.
        let row = row.unwrap();
        if case.commits {
            assert!(
                row.charged * 2 > row.rounds,
                "{:?} committed in {} of {} rounds",
                case.name,
                row.charged,
                row.rounds
            );
        } else {
            assert_eq!(row.charged, 0, "{:?} charged", case.name);
        }
    }
    assert!(
        figures.purchases > 0 && figures.extensions > 0,
        "{figures:?}"
    );
}
