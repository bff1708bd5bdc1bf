//! Passive health of a line: failures eject it for a backoff that doubles each time (on the
//! client's clock), and it is re-admitted after it; a success clears it.

use std::time::{Duration, Instant};

/// When lines are ejected, and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ejection {
    /// Consecutive failures that eject a line (a re-admitted line is ejected again at its first).
    pub(crate) after: u32,
    /// The first ejection's length; each next one doubles, up to `max`.
    pub(crate) base: Duration,
    pub(crate) max: Duration,
}

impl Default for Ejection {
    fn default() -> Self {
        Ejection {
            after: 2,
            base: Duration::from_secs(30),
            max: Duration::from_secs(600),
        }
    }
}

/// The health of one line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Health {
    failures: u32,
    ejections: u32,
    until: Option<Instant>,
}

impl Health {
    /// Whether the line may be used at `now`.
    pub(crate) fn usable(&self, now: Instant) -> bool {
        self.until.is_none_or(|u| now >= u)
    }

    /// Whether the line is out of use at `now`.
    pub(crate) fn ejected(&self, now: Instant) -> bool {
        !self.usable(now)
    }

    /// A failure at `now`; `true` when it ejects the line.
    pub(crate) fn failed(&mut self, now: Instant, rule: &Ejection) -> bool {
        self.failures += 1;
        let on_probation = self.until.is_some();
        if self.failures < rule.after && !on_probation {
            return false;
        }
        let doubling = 2u32.saturating_pow(self.ejections.min(16));
        self.ejections += 1;
        self.failures = 0;
        self.until = Some(now + rule.base.saturating_mul(doubling).min(rule.max));
        true
    }

    /// A success: the line is healthy again.
    pub(crate) fn succeeded(&mut self) {
        *self = Health::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_eject_with_a_doubling_backoff_and_a_success_clears_it() {
        let rule = Ejection {
            after: 2,
            base: Duration::from_secs(10),
            max: Duration::from_secs(25),
        };
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut h = Health::default();
        assert!(!h.failed(t0, &rule) && h.usable(t0));
        assert!(h.failed(t0, &rule) && h.ejected(t0));
        assert!(h.ejected(t0 + s(9)) && h.usable(t0 + s(10)));
        // Re-admitted on probation: one failure ejects it again, for twice as long.
        assert!(h.failed(t0 + s(10), &rule));
        assert!(h.ejected(t0 + s(29)) && h.usable(t0 + s(30)));
        // Capped at `max`.
        assert!(h.failed(t0 + s(30), &rule));
        assert!(h.ejected(t0 + s(54)) && h.usable(t0 + s(55)));
        h.succeeded();
        assert!(!h.failed(t0 + s(55), &rule) && h.usable(t0 + s(55)));
    }
}
