//! Per-key rate limits, as the spec's `x-rate-limits` states them ([`Bucket`]): fixed windows of
//! 300/min and 5,000/hour overall, POST /purchase 60/hour, POST /services/{id}/credentials
//! 30/hour.

use chrono::{DateTime, Utc};

use crate::operation::{Bucket, Operation};

fn slot(bucket: Bucket) -> usize {
    Bucket::ALL.iter().position(|b| *b == bucket).unwrap_or(0)
}

/// The configured limit of each bucket.
#[derive(Debug, Clone)]
pub(crate) struct Limits([u32; Bucket::ALL.len()]);

impl Default for Limits {
    fn default() -> Self {
        Limits(Bucket::ALL.map(Bucket::limit))
    }
}

impl Limits {
    pub(crate) fn set(&mut self, bucket: Bucket, limit: u32) {
        self.0[slot(bucket)] = limit;
    }
}

/// One key's current windows: (start, count) per bucket.
#[derive(Debug, Clone, Default)]
pub(crate) struct Windows([Option<(DateTime<Utc>, u32)>; Bucket::ALL.len()]);

/// The rate-limit headers of a response, or a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset_secs: u64,
    /// `Some(seconds)` when the request is refused (429).
    pub(crate) retry_after: Option<u64>,
}

impl Windows {
    /// Counts a request against every bucket that applies, unless one of them is exhausted.
    pub(crate) fn check(
        &mut self,
        limits: &Limits,
        operation: Option<Operation>,
        now: DateTime<Utc>,
    ) -> Verdict {
        let mut state = Vec::with_capacity(Bucket::ALL.len());
        // A request that matches no operation counts against the buckets every request does.
        let applies = |b: &Bucket| match operation {
            Some(op) => b.applies_to(op),
            None => !b.is_per_operation(),
        };
        for b in Bucket::ALL.into_iter().filter(applies) {
            let i = slot(b);
            let window = chrono::Duration::from_std(b.window()).unwrap_or(chrono::Duration::MAX);
            let (start, count) = match self.0[i] {
                Some((start, count)) if now < start + window => (start, count),
                _ => (now, 0),
            };
            self.0[i] = Some((start, count));
            let reset = (start + window - now).num_milliseconds().max(0);
            let reset_secs = u64::try_from((reset + 999) / 1000).unwrap_or(0);
            state.push((i, limits.0[i], count, reset_secs));
        }
        let exhausted: Vec<_> = state.iter().filter(|(_, l, c, _)| c >= l).collect();
        if !exhausted.is_empty() {
            let retry = exhausted.iter().map(|s| s.3).max().unwrap_or(1).max(1);
            let worst = exhausted.iter().max_by_key(|s| s.3).copied().copied();
            let (_, limit, _, reset_secs) = worst.unwrap_or((0, 0, 0, retry));
            return Verdict {
                limit,
                remaining: 0,
                reset_secs,
                retry_after: Some(retry),
            };
        }
        let mut best: Option<Verdict> = None;
        for (i, limit, count, reset_secs) in state {
            let count = count + 1;
            if let Some(w) = self.0[i].as_mut() {
                w.1 = count;
            }
            let v = Verdict {
                limit,
                remaining: limit - count,
                reset_secs,
                retry_after: None,
            };
            let better = match best {
                None => true,
                Some(b) => (v.remaining, v.limit) < (b.remaining, b.limit),
            };
            if better {
                best = Some(v);
            }
        }
        best.unwrap_or(Verdict {
            limit: 0,
            remaining: 0,
            reset_secs: 0,
            retry_after: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn fixed_window_counts_refuses_and_resets() {
        let mut limits = Limits::default();
        limits.set(Bucket::GlobalMinute, 2);
        let mut w = Windows::default();
        let account = Some(Operation::GetAccount);
        let v = w.check(&limits, account, t(0));
        assert_eq!(
            (v.limit, v.remaining, v.reset_secs, v.retry_after),
            (2, 1, 60, None)
        );
        let v = w.check(&limits, account, t(10));
        assert_eq!((v.remaining, v.reset_secs), (0, 50));
        let v = w.check(&limits, account, t(30));
        assert_eq!((v.remaining, v.retry_after), (0, Some(30)));
        let v = w.check(&limits, account, t(60));
        assert_eq!((v.remaining, v.reset_secs, v.retry_after), (1, 60, None));
    }

    #[test]
    fn the_most_restrictive_bucket_is_reported() {
        let limits = Limits::default();
        let mut w = Windows::default();
        let v = w.check(&limits, Some(Operation::RegenerateCredentials), t(0));
        assert_eq!((v.limit, v.remaining), (30, 29));
        let v = w.check(&limits, Some(Operation::ListPlans), t(0));
        assert_eq!((v.limit, v.remaining), (300, 298));
    }
}
