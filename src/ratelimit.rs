//! Rate-limit headers (`X-RateLimit-*`, `Retry-After`) and the local gate that stops a call
//! from being sent while its window is known to be exhausted.

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue};

/// Longest delay taken from a server header; anything larger is treated as this (garbage guard).
const MAX_HEADER_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The rate-limit state a response reported: `X-RateLimit-Limit`, `-Remaining` and `-Reset`
/// (seconds until the window resets), as of when it was received.
///
/// Headers that are missing or unparsable are `None`; garbage never panics.
///
/// ```no_run
/// # async fn demo(client: opx::Client) -> opx::Result<()> {
/// let account = client.account().await?;
/// if let Some(rl) = account.rate_limit() {
///     println!("{:?} of {:?} left, resets in {:?}", rl.remaining(), rl.limit(), rl.reset_after());
///     if rl.is_exhausted() {
///         println!("the next call would be refused until {:?}", rl.resets_at());
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    limit: Option<u32>,
    remaining: Option<u32>,
    reset: Option<Duration>,
    observed_at: Instant,
}

impl RateLimit {
    /// Parses the three headers; `None` if none of them is present and valid.
    pub(crate) fn from_headers(headers: &HeaderMap, now: Instant) -> Option<Self> {
        // One pass over the (few) headers instead of three hashed look-ups; as with
        // `HeaderMap::get`, the first value of a repeated header is the one read.
        let (mut limit, mut remaining, mut reset) = (None, None, None);
        for (name, value) in headers {
            let slot = match name.as_str() {
                "x-ratelimit-limit" => &mut limit,
                "x-ratelimit-remaining" => &mut remaining,
                "x-ratelimit-reset" => &mut reset,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(header_u64(value));
            }
        }
        let limit = limit.flatten().map(saturate_u32);
        let remaining = remaining.flatten().map(saturate_u32);
        let reset = reset.flatten().map(secs_capped);
        if limit.is_none() && remaining.is_none() && reset.is_none() {
            return None;
        }
        Some(Self {
            limit,
            remaining,
            reset,
            observed_at: now,
        })
    }

    /// Requests allowed in the window (`X-RateLimit-Limit`).
    pub fn limit(&self) -> Option<u32> {
        self.limit
    }
    /// Requests left in the window (`X-RateLimit-Remaining`).
    pub fn remaining(&self) -> Option<u32> {
        self.remaining
    }
    /// Time until the window resets, as reported (`X-RateLimit-Reset`).
    pub fn reset_after(&self) -> Option<Duration> {
        self.reset
    }
    /// When the response carrying these headers was received.
    pub fn observed_at(&self) -> Instant {
        self.observed_at
    }
    /// When the window resets, if the server said.
    pub fn resets_at(&self) -> Option<Instant> {
        self.reset.and_then(|r| self.observed_at.checked_add(r))
    }
    /// `X-RateLimit-Remaining` reached 0: further calls get 429 until the window resets.
    pub fn is_exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

fn saturate_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn secs_capped(v: u64) -> Duration {
    Duration::from_secs(v).min(MAX_HEADER_DELAY)
}

fn header_u64(value: &HeaderValue) -> Option<u64> {
    value.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After` as a delay: delta-seconds, or an HTTP date (relative to the system clock).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(secs_capped(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(
        delta
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_HEADER_DELAY),
    )
}

/// Which server-side bucket an operation's headers describe (the most restrictive that applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    Global = 0,
    Purchase = 1,
    Credentials = 2,
}

impl Bucket {
    pub(crate) fn of(operation: &str) -> Self {
        match operation {
            "purchase" => Self::Purchase,
            "regenerate_credentials" => Self::Credentials,
            _ => Self::Global,
        }
    }
}

/// Remembers, per bucket, until when calls are known to be refused by the server.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    blocked_until: [Option<Instant>; 3],
}

impl Gate {
    /// Time left before `operation` may be sent, if it is blocked. The global bucket applies to
    /// every operation.
    pub(crate) fn check(&self, operation: &str, now: Instant) -> Option<Duration> {
        let own = self.blocked_until[Bucket::of(operation) as usize];
        let global = self.blocked_until[Bucket::Global as usize];
        [own, global]
            .into_iter()
            .flatten()
            .filter(|until| *until > now)
            .max()
            .map(|until| until - now)
    }

    /// Records what a response of `operation` said.
    pub(crate) fn observe(
        &mut self,
        operation: &str,
        rate: Option<&RateLimit>,
        retry_after: Option<Duration>,
        now: Instant,
    ) {
        let slot = &mut self.blocked_until[Bucket::of(operation) as usize];
        let mut until = None;
        if let Some(rl) = rate {
            if rl.is_exhausted() {
                until = rl.resets_at();
            } else if rl.remaining.is_some() {
                *slot = None;
            }
        }
        if let Some(ra) = retry_after {
            until = until.max(now.checked_add(ra));
        }
        if until.is_some() {
            *slot = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn the_three_headers_are_read() {
        let now = Instant::now();
        let rl = RateLimit::from_headers(
            &headers(&[
                ("x-ratelimit-limit", b"300"),
                ("x-ratelimit-remaining", b" 0 "),
                ("x-ratelimit-reset", b"42"),
            ]),
            now,
        )
        .unwrap();
        assert_eq!(rl.limit(), Some(300));
        assert_eq!(rl.remaining(), Some(0));
        assert_eq!(rl.reset_after(), Some(Duration::from_secs(42)));
        assert_eq!(rl.resets_at(), Some(now + Duration::from_secs(42)));
        assert!(rl.is_exhausted());
    }

    #[test]
    fn a_repeated_header_is_read_from_its_first_value() {
        let now = Instant::now();
        let mut h = HeaderMap::new();
        h.append("x-ratelimit-remaining", HeaderValue::from_static("5"));
        h.append("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert("X-RateLimit-Limit", HeaderValue::from_static("60"));
        let rl = RateLimit::from_headers(&h, now).unwrap();
        assert_eq!(rl.remaining(), Some(5));
        assert_eq!(rl.limit(), Some(60));
        assert!(!rl.is_exhausted());

        // As `HeaderMap::get` would: an invalid first value is not replaced by a later one.
        let mut h = HeaderMap::new();
        h.append("x-ratelimit-reset", HeaderValue::from_static("soon"));
        h.append("x-ratelimit-reset", HeaderValue::from_static("30"));
        assert!(RateLimit::from_headers(&h, now).is_none());
    }

    #[test]
    fn garbage_headers_never_panic() {
        let now = Instant::now();
        for bad in [
            &b"-1"[..],
            b"abc",
            b"",
            b"1e9",
            b"99999999999999999999999",
            b"\xff\xfe",
        ] {
            let h = headers(&[
                ("x-ratelimit-limit", bad),
                ("x-ratelimit-remaining", bad),
                ("x-ratelimit-reset", bad),
                ("retry-after", bad),
            ]);
            assert!(RateLimit::from_headers(&h, now).is_none());
            assert!(retry_after(&h).is_none());
        }
        let h = headers(&[
            ("x-ratelimit-remaining", b"18446744073709551615"),
            ("x-ratelimit-reset", b"18446744073709551615"),
        ]);
        let rl = RateLimit::from_headers(&h, now).unwrap();
        assert_eq!(rl.remaining(), Some(u32::MAX));
        assert_eq!(rl.reset_after(), Some(MAX_HEADER_DELAY));
        assert!(rl.resets_at().is_some());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", b"7")])),
            Some(Duration::from_secs(7))
        );
        let past = headers(&[("retry-after", b"Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(retry_after(&past), Some(Duration::ZERO));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn gate_blocks_until_the_reset_passes() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        let exhausted = RateLimit {
            limit: Some(60),
            remaining: Some(0),
            reset: Some(Duration::from_secs(30)),
            observed_at: t0,
        };
        g.observe("purchase", Some(&exhausted), None, t0);
        assert_eq!(g.check("purchase", t0), Some(Duration::from_secs(30)));
        assert_eq!(g.check("get_account", t0), None, "purchase bucket only");
        assert_eq!(g.check("purchase", t0 + Duration::from_secs(31)), None);
    }

    #[test]
    fn global_exhaustion_blocks_everything_and_clears_on_a_fresh_window() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        let mut rl = RateLimit {
            limit: Some(300),
            remaining: Some(0),
            reset: Some(Duration::from_secs(5)),
            observed_at: t0,
        };
        g.observe("get_account", Some(&rl), None, t0);
        assert!(g.check("purchase", t0).is_some());
        assert!(g.check("list_logs", t0).is_some());
        rl.remaining = Some(10);
        g.observe("get_account", Some(&rl), None, t0);
        assert_eq!(g.check("list_logs", t0), None);
    }

    #[test]
    fn retry_after_blocks_too() {
        let t0 = Instant::now();
        let mut g = Gate::default();
        g.observe(
            "regenerate_credentials",
            None,
            Some(Duration::from_secs(3)),
            t0,
        );
        assert_eq!(
            g.check("regenerate_credentials", t0),
            Some(Duration::from_secs(3))
        );
        assert_eq!(g.check("get_service", t0), None);
    }
}
