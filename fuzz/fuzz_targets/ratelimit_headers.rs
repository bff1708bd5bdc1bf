//! Rate-limit header parsing: `X-RateLimit-Limit`, `-Remaining`, `-Reset` and `Retry-After`
//! with any bytes a header value can hold, then the local gate and the error of a 429.
//!
//! Checks against a reference reading: a value that is a decimal integer (surrounding
//! whitespace allowed) is read, saturated to `u32` / capped at 24 h; anything else is ignored.
//! No delay taken from a header ever exceeds 24 h.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use opx::fuzzing::{gate_wait, rate_limit, response_error_for, retry_after};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Arbitrary)]
struct Input {
    limit: Option<Vec<u8>>,
    remaining: Option<Vec<u8>>,
    reset: Option<Vec<u8>>,
    retry_after: Option<Vec<u8>>,
    status: u16,
    operation: u8,
}

/// An unsigned decimal integer (an optional `+`, as `u64::from_str` allows), surrounded by
/// optional ASCII whitespace; `None` for anything else, including overflow.
fn reference_u64(v: &HeaderValue) -> Option<u64> {
    let t = v.to_str().ok()?.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

fuzz_target!(|input: Input| {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, raw: &Option<Vec<u8>>| {
        let value = raw.as_deref().and_then(|b| HeaderValue::from_bytes(b).ok());
        if let Some(v) = &value {
            headers.insert(name, v.clone());
        }
        value
    };
    let limit = put("x-ratelimit-limit", &input.limit);
    let remaining = put("x-ratelimit-remaining", &input.remaining);
    let reset = put("x-ratelimit-reset", &input.reset);
    let retry = put("retry-after", &input.retry_after);

    let now = Instant::now();
    let expect_u32 = |v: &Option<HeaderValue>| {
        v.as_ref()
            .and_then(reference_u64)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    // Seconds, or (from 10^9 on) a Unix timestamp: the time left until it.
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expect_reset = reset.as_ref().and_then(reference_u64).map(|n| {
        let secs = if n >= 1_000_000_000 { n.saturating_sub(unix_now) } else { n };
        Duration::from_secs(secs).min(DAY)
    });
    match rate_limit(&headers, now) {
        Some(rl) => {
            assert_eq!(rl.limit(), expect_u32(&limit));
            assert_eq!(rl.remaining(), expect_u32(&remaining));
            // A timestamp is read against the clock: allow the second that may pass.
            match (rl.reset_after(), expect_reset) {
                (Some(a), Some(b)) => assert!(a.abs_diff(b) <= Duration::from_secs(1)),
                (a, b) => assert_eq!(a, b),
            }
            assert_eq!(rl.observed_at(), now);
            assert_eq!(rl.is_exhausted(), rl.remaining() == Some(0));
            if let Some(at) = rl.resets_at() {
                assert!(at >= now && at - now <= DAY);
            }
        }
        None => {
            assert_eq!(expect_u32(&limit), None);
            assert_eq!(expect_u32(&remaining), None);
            assert_eq!(expect_reset, None);
        }
    }

    let ra = retry_after(&headers);
    if let Some(d) = ra {
        assert!(d <= DAY, "{d:?}");
    }
    if let Some(n) = retry.as_ref().and_then(reference_u64) {
        assert_eq!(ra, Some(Duration::from_secs(n).min(DAY)));
    }
    if retry.is_none() {
        assert_eq!(ra, None);
    }

    let operation = opx::Operation::ALL[usize::from(input.operation) % opx::Operation::ALL.len()];
    let status = 100 + input.status % 500;
    if let Some(w) = gate_wait(operation, status, &headers, now) {
        assert!(w <= DAY && !w.is_zero(), "{w:?}");
    }
    let e = response_error_for(operation, status, headers, b"");
    if status == 429 {
        assert!(e.is_rate_limited());
        assert_eq!(e.retry_after(), ra);
    }
    let _ = format!("{e} {e:?}");
});
