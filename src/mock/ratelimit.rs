//! Per-key rate limits, as documented: fixed windows of 300/min and 5,000/hour overall,
//! POST /purchase 60/hour, POST /services/{id}/credentials 30/hour.

use chrono::{DateTime, Utc};

/// A rate-limit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Bucket {
    /// Every request: 300 per minute.
    GlobalMinute,
    /// Every request: 5,000 per hour.
    GlobalHour,
    /// POST /purchase: 60 per hour.
    Purchase,
    /// POST /services/{id}/credentials: 30 per hour.
    Credentials,
}

impl Bucket {
    /// Every bucket.
    pub const ALL: [Bucket; 4] = [
        Bucket::GlobalMinute,
        Bucket::GlobalHour,
        Bucket::Purchase,
        Bucket::Credentials,
    ];

    fn index(self) -> usize {
        match self {
            Bucket::GlobalMinute => 0,
            Bucket::GlobalHour => 1,
            Bucket::Purchase => 2,
            Bucket::Credentials => 3,
        }
    }

    fn window_secs(self) -> i64 {
        match self {
            Bucket::GlobalMinute => 60,
            _ => 3600,
        }
    }

    /// The buckets that apply to an operation.
    fn applies_to(self, operation_id: Option<&str>) -> bool {
        match self {
            Bucket::GlobalMinute | Bucket::GlobalHour => true,
            Bucket::Purchase => operation_id == Some("purchase"),
            Bucket::Credentials => operation_id == Some("regenerateCredentials"),
        }
    }
}

/// The configured limit of each bucket.
#[derive(Debug, Clone)]
pub(crate) struct Limits([u32; 4]);

impl Default for Limits {
    fn default() -> Self {
        Limits([300, 5_000, 60, 30])
    }
}

impl Limits {
    pub(crate) fn set(&mut self, bucket: Bucket, limit: u32) {
        self.0[bucket.index()] = limit;
    }
}

/// One key's current windows: (start, count) per bucket.
#[derive(Debug, Clone, Default)]
pub(crate) struct Windows([Option<(DateTime<Utc>, u32)>; 4]);

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
        operation_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Verdict {
        let mut state = Vec::with_capacity(4);
        for b in Bucket::ALL
            .into_iter()
            .filter(|b| b.applies_to(operation_id))
        {
            let i = b.index();
            let window = chrono::Duration::seconds(b.window_secs());
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
        let v = w.check(&limits, Some("getAccount"), t(0));
        assert_eq!(
            (v.limit, v.remaining, v.reset_secs, v.retry_after),
            (2, 1, 60, None)
        );
        let v = w.check(&limits, Some("getAccount"), t(10));
        assert_eq!((v.remaining, v.reset_secs), (0, 50));
        let v = w.check(&limits, Some("getAccount"), t(30));
        assert_eq!((v.remaining, v.retry_after), (0, Some(30)));
        let v = w.check(&limits, Some("getAccount"), t(60));
        assert_eq!((v.remaining, v.reset_secs, v.retry_after), (1, 60, None));
    }

    #[test]
    fn the_most_restrictive_bucket_is_reported() {
        let limits = Limits::default();
        let mut w = Windows::default();
        let v = w.check(&limits, Some("regenerateCredentials"), t(0));
        assert_eq!((v.limit, v.remaining), (30, 29));
        let v = w.check(&limits, Some("listPlans"), t(0));
        assert_eq!((v.limit, v.remaining), (300, 298));
    }
}
