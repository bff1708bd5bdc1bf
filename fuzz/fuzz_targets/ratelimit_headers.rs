//! Rate-limit header parsing: `X-RateLimit-Limit`, `-Remaining`, `-Reset` and `Retry-After`
//! with any bytes a header value can hold, then the local gate and the error of a 429.
//!
//! Checks against a reference reading: a value that is a decimal integer (surrounding
//! whitespace allowed) is read, saturated to `u32` / capped at 24 h; anything else is ignored.
//! No delay taken from a header ever exceeds 24 h. The reference and the rate-limit checks are
//! `tests/support/ratelimit_reference.rs`, which the property in `tests/hardening/parsers.rs`
//! runs too.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use opx::fuzzing::{gate_wait, response_error_for, retry_after};

#[path = "../../tests/support/ratelimit_reference.rs"]
mod reference;
use reference::{DAY, Headers, check_rate_limit, reference_u64};

#[derive(Debug, Arbitrary)]
struct Input {
    limit: Option<Vec<u8>>,
    remaining: Option<Vec<u8>>,
    reset: Option<Vec<u8>>,
    retry_after: Option<Vec<u8>>,
    status: u16,
    operation: u8,
}

fuzz_target!(|input: Input| {
    let h = Headers::from_raw(
        &input.limit,
        &input.remaining,
        &input.reset,
        &input.retry_after,
    );
    let now = Instant::now();
    if let Err(m) = check_rate_limit(&h, now) {
        panic!("{m}");
    }
    let (retry, headers) = (h.retry_after, h.map);

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
