//! [`Harness`]: what tests drive around the fake. Queued faults, response overrides,
//! expectations, and the records and counters of what was asked and answered.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use rand::{SeedableRng, rngs::StdRng};

use super::expect::{self, Expectation};
use super::fault::{Fault, FaultJson, FaultQueue, Schedule};
use super::overrides::ResponseOverride;
use super::record::RequestLog;
use crate::operation::Operation;
use crate::sync::lock;

/// The harness of one mock.
pub(crate) struct Harness {
    faults: Mutex<HashMap<Operation, FaultQueue>>,
    overrides: Mutex<HashMap<Operation, ResponseOverride>>,
    records: Mutex<RequestLog>,
    expectations: Mutex<Vec<(Operation, Expectation)>>,
    /// Fault probabilities are drawn from here (seeded: the same run).
    rng: Mutex<StdRng>,
    seed: Option<u64>,
}

fn rng(seed: Option<u64>) -> StdRng {
    match seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    }
}

impl Harness {
    /// An empty harness; `seed` makes the fault probabilities repeat from run to run.
    pub(crate) fn new(seed: Option<u64>) -> Self {
        Harness {
            faults: Mutex::default(),
            overrides: Mutex::default(),
            records: Mutex::default(),
            expectations: Mutex::default(),
            rng: Mutex::new(rng(seed)),
            seed,
        }
    }

    /// Clears faults, overrides, records and counters (the expectations stay).
    pub(crate) fn reset(&self) {
        lock(&self.faults).clear();
        lock(&self.overrides).clear();
        *lock(&self.records) = RequestLog::default();
        *lock(&self.rng) = rng(self.seed);
    }

    /// Queues a fault for an operation.
    pub(crate) fn inject(&self, op: Operation, fault: Fault, schedule: Schedule) {
        lock(&self.faults)
            .entry(op)
            .or_default()
            .push(fault, schedule);
    }

    /// Takes the next injected fault for an operation, if any.
    pub(crate) fn take_fault(&self, op: Operation) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let queue = faults.get_mut(&op)?;
        queue.take(&mut *lock(&self.rng))
    }

    /// Removes every queued fault.
    pub(crate) fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// The queued faults, for `GET /_mock/faults`.
    pub(crate) fn list_faults(&self) -> Vec<(Operation, FaultJson, Schedule)> {
        lock(&self.faults)
            .iter()
            .flat_map(|(op, q)| q.list().into_iter().map(move |(f, s)| (*op, f, s)))
            .collect()
    }

    /// Sets the response override of an operation (replacing an earlier one).
    pub(crate) fn override_response(&self, op: Operation, o: ResponseOverride) {
        lock(&self.overrides).insert(op, o);
    }

    /// Removes every response override.
    pub(crate) fn clear_overrides(&self) {
        lock(&self.overrides).clear();
    }

    /// The override to apply to this answer of `op`, counting it down.
    pub(crate) fn take_override(&self, op: Operation) -> Option<ResponseOverride> {
        let mut overrides = lock(&self.overrides);
        let o = overrides.get_mut(&op)?;
        let taken = o.clone();
        if let Some(n) = &mut o.times {
            *n = n.saturating_sub(1);
            if *n == 0 {
                overrides.remove(&op);
            }
        }
        Some(taken)
    }

    /// The request log and counters.
    pub(crate) fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.records)
    }

    /// Expects `op` to be called as `e` says.
    pub(crate) fn expect(&self, op: Operation, e: Expectation) {
        lock(&self.expectations).push((op, e));
    }

    /// Checks the expectations: `Err` lists the unmet ones and every operation called.
    pub(crate) fn verify(&self) -> Result<(), String> {
        let expected = lock(&self.expectations).clone();
        let records = self.log();
        expect::report(&expected, &|op| records.calls(op))
    }
}
