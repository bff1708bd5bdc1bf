//! The local gate of the `Surface` policy: remembers, per bucket, until when calls are known to be
//! refused by the server, so that they fail fast instead of being sent.

use std::time::{Duration, Instant};

use super::Observation;
use crate::operation::{Bucket, Operation};

/// Remembers, per bucket, until when calls are known to be refused by the server.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    blocked_until: [Option<Instant>; Bucket::ALL.len()],
    /// The limit the server last reported for each bucket (`X-RateLimit-Limit`), which a
    /// refusal quotes rather than the documented one.
    reported: [Option<u32>; Bucket::ALL.len()],
}

fn slot(bucket: Bucket) -> usize {
    Bucket::ALL.iter().position(|b| *b == bucket).unwrap_or(0)
}

impl Gate {
    /// The limit of `bucket` as the server last reported it (`X-RateLimit-Limit`), if it did.
    pub(crate) fn reported_limit(&self, bucket: Bucket) -> Option<u32> {
        self.reported[slot(bucket)]
    }

    /// Time left before `operation` may be sent, and the bucket that blocks it, if one does.
    pub(crate) fn check(&self, operation: Operation, now: Instant) -> Option<(Duration, Bucket)> {
        operation
            .buckets()
            .iter()
            .filter_map(|b| {
                let until = self.blocked_until[slot(*b)]?;
                (until > now).then(|| (until - now, *b))
            })
            .max_by_key(|(wait, _)| *wait)
    }

    /// Records what a response of `operation` said: the bucket its headers describe is blocked
    /// until `Retry-After` on a 429 that gives one (the server's word, whatever the window's
    /// reset), else until its reset when `Remaining` is 0, and free again when `Remaining` is
    /// above 0.
    pub(crate) fn observe(&mut self, seen: &Observation<'_>) {
        let bucket = slot(seen.bucket());
        if let Some(limit) = seen.rate.and_then(|rl| rl.limit) {
            self.reported[bucket] = Some(limit);
        }
        let slot = &mut self.blocked_until[bucket];
        let mut until = None;
        if let Some(rl) = seen.rate {
            if rl.is_exhausted() {
                until = rl.resets_at();
            } else if rl.remaining.is_some() {
                *slot = None;
            }
        }
        if let Some(ra) = seen.retry_after {
            until = seen.now.checked_add(ra);
        }
        if until.is_some() {
            *slot = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::RateLimit;

    #[test]
    fn the_limit_quoted_is_the_one_the_server_reported() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        assert_eq!(g.reported_limit(Bucket::GlobalMinute), None);
        let lowered = RateLimit::sample(2, 0, 30, t0);
        g.observe(&Observation::headers(Operation::GetAccount, &lowered));
        let (_, bucket) = g.check(Operation::GetAccount, t0).unwrap();
        assert_eq!(g.reported_limit(bucket), Some(2));
    }

    #[test]
    fn gate_blocks_until_the_reset_passes() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        let exhausted = RateLimit::sample(60, 0, 30, t0);
        g.observe(&Observation::headers(Operation::Purchase, &exhausted));
        assert_eq!(
            g.check(Operation::Purchase, t0),
            Some((Duration::from_secs(30), Bucket::Purchase))
        );
        assert_eq!(
            g.check(Operation::GetAccount, t0),
            None,
            "purchase bucket only"
        );
        assert_eq!(
            g.check(Operation::Purchase, t0 + Duration::from_secs(31)),
            None
        );
    }

    #[test]
    fn global_exhaustion_blocks_everything_and_clears_on_a_fresh_window() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        let mut rl = RateLimit::sample(300, 0, 5, t0);
        g.observe(&Observation::headers(Operation::GetAccount, &rl));
        assert!(g.check(Operation::Purchase, t0).is_some());
        assert!(g.check(Operation::ListLogs, t0).is_some());
        rl.remaining = Some(10);
        g.observe(&Observation::headers(Operation::GetAccount, &rl));
        assert_eq!(g.check(Operation::ListLogs, t0), None);
    }

    #[test]
    fn retry_after_blocks_too() {
        let t0 = Instant::now();
        let (op, three) = (Operation::RegenerateCredentials, Duration::from_secs(3));
        let mut g = Gate::default();
        g.observe(&Observation::retry_after(op, three, t0));
        assert_eq!(g.check(op, t0), Some((three, Bucket::Credentials)));
        assert_eq!(g.check(Operation::GetService, t0), None);
    }

    #[test]
    fn retry_after_is_waited_rather_than_the_windows_reset() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        let rl = RateLimit::sample(300, 0, 57, t0);
        let three = Duration::from_secs(3);
        g.observe(&Observation::new(
            Operation::GetAccount,
            Some(&rl),
            Some(three),
            t0,
        ));
        assert_eq!(
            g.check(Operation::GetAccount, t0),
            Some((three, Bucket::GlobalMinute))
        );
        assert_eq!(g.check(Operation::GetAccount, t0 + three), None);
    }

    #[test]
    fn a_purchase_that_exhausts_the_global_window_blocks_every_operation() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        let rl = RateLimit::sample(Bucket::GlobalMinute.limit(), 0, 9, t0);
        g.observe(&Observation::headers(Operation::Purchase, &rl));
        assert_eq!(
            g.check(Operation::GetAccount, t0).map(|w| w.1),
            Some(Bucket::GlobalMinute)
        );
    }
}
