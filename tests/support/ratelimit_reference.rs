//! The reference reading of the rate-limit headers, and the checks of `rate_limit` against it:
//! shared by the fuzz target `fuzz/fuzz_targets/ratelimit_headers.rs` (long runs) and the
//! property in `tests/hardening/parsers.rs` (short runs in `cargo test`), so that both check
//! exactly the same thing.
//!
//! A value that is a decimal integer (surrounding whitespace allowed) is read, saturated to
//! `u32` / capped at 24 h; anything else is ignored.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue};
use opx::fuzzing::rate_limit;

/// No delay taken from a header may exceed this.
pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// An unsigned decimal integer (an optional `+`, as `u64::from_str` allows), surrounded by
/// optional ASCII whitespace; `None` for anything else, including overflow.
pub fn reference_u64(v: &HeaderValue) -> Option<u64> {
    let t = v
        .to_str()
        .ok()?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// The four headers, each from raw bytes where they make a valid header value.
pub struct Headers {
    pub map: HeaderMap,
    pub limit: Option<HeaderValue>,
    pub remaining: Option<HeaderValue>,
    pub reset: Option<HeaderValue>,
    pub retry_after: Option<HeaderValue>,
}

impl Headers {
    /// Puts each raw value that is a valid header value under its name.
    pub fn from_raw(
        limit: &Option<Vec<u8>>,
        remaining: &Option<Vec<u8>>,
        reset: &Option<Vec<u8>>,
        retry_after: &Option<Vec<u8>>,
    ) -> Self {
        let mut map = HeaderMap::new();
        let mut put = |name: &'static str, raw: &Option<Vec<u8>>| {
            let value = raw.as_deref().and_then(|b| HeaderValue::from_bytes(b).ok());
            if let Some(v) = &value {
                map.insert(name, v.clone());
            }
            value
        };
        let limit = put("x-ratelimit-limit", limit);
        let remaining = put("x-ratelimit-remaining", remaining);
        let reset = put("x-ratelimit-reset", reset);
        let retry_after = put("retry-after", retry_after);
        Headers {
            map,
            limit,
            remaining,
            reset,
            retry_after,
        }
    }
}

/// A count header as the reference reads it: saturated to `u32`.
fn expect_u32(v: &Option<HeaderValue>) -> Option<u32> {
    v.as_ref()
        .and_then(reference_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Checks `rate_limit(&h.map, now)` against the reference: every header read exactly as the
/// reference reads it, or ignored; a `None` only when no header had a value; no reset beyond
/// 24 h. `Err` names the first difference.
pub fn check_rate_limit(h: &Headers, now: Instant) -> Result<(), String> {
    let differ = |what: &str, got: &dyn std::fmt::Debug, want: &dyn std::fmt::Debug| {
        Err(format!("{what}: got {got:?}, the reference reads {want:?}"))
    };
    let (limit, remaining) = (expect_u32(&h.limit), expect_u32(&h.remaining));
    // Seconds, or (from 10^9 on, see spec/README inference 4) a Unix timestamp: the time left
    // until it.
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let reset = h.reset.as_ref().and_then(reference_u64).map(|n| {
        let secs = if n >= 1_000_000_000 {
            n.saturating_sub(unix_now)
        } else {
            n
        };
        Duration::from_secs(secs).min(DAY)
    });
    let Some(rl) = rate_limit(&h.map, now) else {
        if (limit, remaining, reset) != (None, None, None) {
            return differ("no rate limit", &None::<()>, &(limit, remaining, reset));
        }
        return Ok(());
    };
    if rl.limit() != limit {
        return differ("limit", &rl.limit(), &limit);
    }
    if rl.remaining() != remaining {
        return differ("remaining", &rl.remaining(), &remaining);
    }
    // A timestamp is read against the clock: allow the second that may pass.
    let reset_ok = match (rl.reset_after(), reset) {
        (Some(a), Some(b)) => a.abs_diff(b) <= Duration::from_secs(1),
        (a, b) => a == b,
    };
    if !reset_ok {
        return differ("reset", &rl.reset_after(), &reset);
    }
    if rl.observed_at() != now {
        return differ("observed_at", &rl.observed_at(), &now);
    }
    if rl.is_exhausted() != (rl.remaining() == Some(0)) {
        return differ(
            "is_exhausted",
            &rl.is_exhausted(),
            &(rl.remaining() == Some(0)),
        );
    }
    match rl.resets_at() {
        Some(at) if !(at >= now && at - now <= DAY) => differ("resets_at", &at, &now),
        _ => Ok(()),
    }
}
