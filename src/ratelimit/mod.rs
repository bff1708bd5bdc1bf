//! Rate-limit headers (`X-RateLimit-*`, `Retry-After`), and what a client does with them: the
//! [`RateLimitPolicy`] (`policy`), the local gate that stops a call from being sent while its
//! window is known to be exhausted (`gate`, the default `Surface` policy) and the pacer that
//! waits for the window instead (`pace`, the `Pace` policy).

mod gate;
mod pace;
mod policy;

pub(crate) use gate::Gate;
pub(crate) use pace::{InFlight, Pacer, is_paced, paced};
pub use policy::RateLimitPolicy;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};

use crate::operation::{Bucket, Operation};

/// Longest delay taken from a server header; anything larger is treated as this (garbage guard).
const MAX_HEADER_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// What one response said of the rate limits, as the gate and the pacer both take it in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observation<'a> {
    /// The operation the response answered.
    pub(crate) operation: Operation,
    /// Its `X-RateLimit-*` headers, if it had any.
    pub(crate) rate: Option<&'a RateLimit>,
    /// The `Retry-After` of a 429.
    pub(crate) retry_after: Option<Duration>,
    /// When it was received.
    pub(crate) now: Instant,
}

impl<'a> Observation<'a> {
    /// What a response of `operation` received at `now` said.
    pub(crate) fn new(
        operation: Operation,
        rate: Option<&'a RateLimit>,
        retry_after: Option<Duration>,
        now: Instant,
    ) -> Self {
        Self {
            operation,
            rate,
            retry_after,
            now,
        }
    }

    /// The bucket the headers describe (told apart by their limit).
    pub(crate) fn bucket(&self) -> Bucket {
        let limit = self.rate.and_then(RateLimit::limit);
        self.operation.bucket_for_limit(limit)
    }
}

#[cfg(test)]
impl<'a> Observation<'a> {
    /// A response of `operation` with these headers (received when they were observed).
    pub(crate) fn headers(operation: Operation, rate: &'a RateLimit) -> Self {
        Self::new(operation, Some(rate), None, rate.observed_at)
    }

    /// A response of `operation` with only a `Retry-After` of `wait`, received at `now`.
    pub(crate) fn retry_after(operation: Operation, wait: Duration, now: Instant) -> Self {
        Self::new(operation, None, Some(wait), now)
    }
}

/// The rate-limit state a response reported: `X-RateLimit-Limit`, `-Remaining` and `-Reset`,
/// as of when it was received.
///
/// `X-RateLimit-Reset` is read as the seconds until the window resets (the spec's reading), but
/// a value that can only be a Unix timestamp (at least 10^9, i.e. after
/// September 2001: no window is that long) is read as the instant it names.
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
    /// Headers saying `remaining` of `limit` are left and the window resets in `reset` seconds,
    /// received `at`.
    #[cfg(test)]
    pub(crate) fn sample(limit: u32, remaining: u32, reset: u64, at: Instant) -> Self {
        Self {
            limit: Some(limit),
            remaining: Some(remaining),
            reset: Some(Duration::from_secs(reset)),
            observed_at: at,
        }
    }

    /// Parses the three headers; `None` if none of them is present and valid.
    #[cfg_attr(not(any(test, feature = "unstable-test-hooks")), allow(dead_code))]
    pub(crate) fn from_headers(headers: &HeaderMap, now: Instant) -> Option<Self> {
        Self::from_headers_at(headers, now, SystemTime::now)
    }

    /// [`from_headers`](Self::from_headers) with the calendar time a Unix-timestamp reset is
    /// compared with (the client's clock).
    pub(crate) fn from_headers_at(
        headers: &HeaderMap,
        now: Instant,
        wall: impl FnOnce() -> SystemTime,
    ) -> Option<Self> {
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
        let reset = reset.flatten().map(|v| reset_delay(v, wall));
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

    /// The same headers with the reset read in units of `unit` seconds (a client on a scaled
    /// clock: see [`crate::clock::header_unit`]).
    pub(crate) fn in_units(mut self, unit: f64) -> Self {
        self.reset = self.reset.map(|r| scale_delay(r, unit));
        self
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
    /// Both describe the same window (same limit, resets within a second of each other) and this
    /// one reports fewer requests left: it was sent later by the server.
    pub(crate) fn is_newer_in_window_than(&self, other: &RateLimit) -> bool {
        let same_window = self.limit == other.limit
            && match (self.resets_at(), other.resets_at()) {
                (Some(a), Some(b)) => a.max(b) - a.min(b) <= Duration::from_secs(1),
                _ => false,
            };
        same_window && matches!((self.remaining, other.remaining), (Some(a), Some(b)) if a < b)
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

/// `d` in units of `unit` seconds (a header's delay on a scaled clock); never panics.
pub(crate) fn scale_delay(d: Duration, unit: f64) -> Duration {
    if unit == 1.0 {
        return d;
    }
    Duration::try_from_secs_f64(d.as_secs_f64() * unit).unwrap_or(d)
}

/// Smallest `X-RateLimit-Reset` read as a Unix timestamp rather than a number of seconds.
pub(crate) const UNIX_TIMESTAMP_FLOOR: u64 = 1_000_000_000;

/// `X-RateLimit-Reset` as a delay: seconds, or a Unix timestamp (relative to `wall`, asked
/// for only then).
fn reset_delay(v: u64, wall: impl FnOnce() -> SystemTime) -> Duration {
    if v < UNIX_TIMESTAMP_FLOOR {
        return secs_capped(v);
    }
    let now = wall()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    secs_capped(v.saturating_sub(now))
}

fn header_u64(value: &HeaderValue) -> Option<u64> {
    value.to_str().ok()?.trim().parse().ok()
}

/// An answer's `Date` (an HTTP date), if it has a valid one.
pub(crate) fn date_of(headers: &HeaderMap) -> Option<SystemTime> {
    http_date(headers.get(http::header::DATE)?.to_str().ok()?)
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`), if `text` is one.
pub(crate) fn http_date(text: &str) -> Option<SystemTime> {
    let date = chrono::DateTime::parse_from_rfc2822(text.trim()).ok()?;
    Some(SystemTime::from(date))
}

/// `Retry-After` as a delay: delta-seconds, or an HTTP date (relative to the system clock).
#[cfg_attr(not(any(test, feature = "unstable-test-hooks")), allow(dead_code))]
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now)
}

/// [`retry_after`] with the calendar time an HTTP date is compared with (the client's clock;
/// asked for only then).
pub(crate) fn retry_after_at(
    headers: &HeaderMap,
    wall: impl FnOnce() -> SystemTime,
) -> Option<Duration> {
    let raw = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(secs_capped(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - chrono::DateTime::<chrono::Utc>::from(wall());
    Some(
        delta
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_HEADER_DELAY),
    )
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
    fn a_dated_retry_after_is_read_against_the_answers_date() {
        // The server's clock is 40 days ahead of this machine's: its `Retry-After` date is 3 s
        // after its `Date`, which is what is waited (not 40 days, capped).
        let h = headers(&[
            ("date", b"Sat, 16 Jan 2027 10:00:00 GMT"),
            ("retry-after", b"Sat, 16 Jan 2027 10:00:03 GMT"),
        ]);
        let date = date_of(&h).unwrap();
        assert_eq!(retry_after_at(&h, || date), Some(Duration::from_secs(3)));
        assert!(date_of(&headers(&[("date", b"yesterday")])).is_none());
        assert!(date_of(&HeaderMap::new()).is_none());
    }

    #[test]
    fn an_older_answer_of_the_same_window_is_recognised() {
        let t0 = Instant::now();
        let at = |remaining, reset| RateLimit {
            limit: Some(20),
            remaining: Some(remaining),
            reset: Some(Duration::from_secs(reset)),
            observed_at: t0,
        };
        assert!(at(0, 30).is_newer_in_window_than(&at(3, 30)));
        assert!(!at(3, 30).is_newer_in_window_than(&at(0, 30)));
        // A fresh window (reset far from the old one) is not compared.
        assert!(!at(0, 30).is_newer_in_window_than(&at(19, 60)));
    }

    #[test]
    fn a_reset_that_can_only_be_a_timestamp_is_read_as_one() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let at = (now + 42).to_string();
        let rl = RateLimit::from_headers(
            &headers(&[("x-ratelimit-reset", at.as_bytes())]),
            Instant::now(),
        )
        .unwrap();
        let d = rl.reset_after().unwrap();
        assert!(
            d <= Duration::from_secs(42) && d >= Duration::from_secs(40),
            "{d:?}"
        );
        let past = headers(&[("x-ratelimit-reset", b"1700000000")]);
        let rl = RateLimit::from_headers(&past, Instant::now()).unwrap();
        assert_eq!(rl.reset_after(), Some(Duration::ZERO));
    }
}
