//! The retry policy of idempotent calls: bounded exponential backoff with jitter.

use std::time::Duration;

use crate::setters::setters;

/// When and how idempotent calls (the GETs and the three PUTs) are retried.
///
/// A call is retried on a transport error (connection refused or dropped, timeout, truncated
/// body) and on HTTP 500, 502, 503 and 504, at most `max_attempts` times in all, waiting
/// `min(cap, base * 2^n)` with jitter between attempts. What a 429 does is the
/// [`RateLimitPolicy`](crate::RateLimitPolicy)'s to say (by default it is surfaced).
///
/// `POST /purchase`, `POST /services/{id}/extend` and `POST /services/{id}/credentials` are
/// **never** retried, whatever the policy.
///
/// ```
/// use std::time::Duration;
/// use opx::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .base_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(2));
/// assert_eq!(policy.attempts(), 5);
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base: Duration,
    cap: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms base, 5 s cap, jitter on.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all: every call is sent once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
    setters! {
        /// Total attempts, first included (0 is treated as 1).
        pub fn max_attempts(n: u32) => max_attempts = n.max(1);
        /// Delay before the first retry (doubled for each further retry).
        pub fn base_delay(d: impl Into<Duration>) => base = d.into();
        /// Longest delay between two attempts.
        pub fn max_delay(d: impl Into<Duration>) => cap = d.into();
        /// Randomise each delay within its upper half (on by default).
        pub fn jitter(on: bool) => jitter = on;
    }
    /// Total attempts allowed, first included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The longest delay the policy waits between two attempts (at least 1 s): a `Retry-After`
    /// beyond it is surfaced rather than waited for.
    pub(crate) fn longest_delay(&self) -> Duration {
        self.cap.max(Duration::from_secs(1))
    }

    /// The delay before retry number `retry` (0 = first retry), `unit` in `[0, 1)`.
    pub(crate) fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        let full = self.base.saturating_mul(factor).min(self.cap);
        if !self.jitter {
            return full;
        }
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        full / 2 + (full / 2).mul_f64(unit)
    }
}

/// A small SplitMix64 generator for jitter (no dependency, seedable for tests).
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn seeded(seed: u64) -> Self {
        Self(seed)
    }
    pub(crate) fn from_entropy() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x006f_7078);
        Self(h.finish())
    }
    /// A value in `[0, 1)`.
    pub(crate) fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_without_jitter() {
        let p = RetryPolicy::default()
            .jitter(false)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(500));
        let d: Vec<_> = (0..5).map(|n| p.backoff(n, 0.9).as_millis()).collect();
        assert_eq!(d, [100, 200, 400, 500, 500]);
        assert_eq!(p.backoff(u32::MAX, 0.5), Duration::from_millis(500));
    }

    #[test]
    fn jitter_stays_within_the_upper_half() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1));
        let mut rng = Jitter::seeded(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let d = p.backoff(1, rng.next_unit());
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(200));
            seen.insert(d);
        }
        assert!(seen.len() > 100, "jitter should spread delays");
        assert_eq!(p.backoff(0, f64::NAN), Duration::from_millis(50));
    }

    #[test]
    fn the_generator_is_deterministic_and_in_range() {
        let (mut a, mut b) = (Jitter::seeded(1), Jitter::seeded(1));
        for _ in 0..1000 {
            let x = a.next_unit();
            assert_eq!(x, b.next_unit());
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn none_means_one_attempt_and_zero_is_one() {
        assert_eq!(RetryPolicy::none().attempts(), 1);
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
    }
}
