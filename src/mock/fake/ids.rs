//! The mock's ids and secrets as values: 24-hex ids (monotonic `u128`s inside, the typed
//! [`ServiceId`] outside), timestamps as the docs print them, constant-time comparison.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::types::ServiceId;

/// Formats an id as 24 lower-case hex characters.
pub(crate) fn id_hex(id: u128) -> String {
    format!("{id:024x}")
}

/// Parses a 24-hex id (any case).
pub(crate) fn parse_id(s: &str) -> Option<u128> {
    if s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        u128::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// A service's id as the client types it.
pub(crate) fn service_id(id: u128) -> ServiceId {
    ServiceId::new(id_hex(id)).expect("24 hex characters are a service id")
}

/// The mock's id of a typed service id.
pub(crate) fn service_key(id: &ServiceId) -> u128 {
    parse_id(id.as_str()).expect("a service id is 24 hex characters")
}

/// RFC 3339 with milliseconds and `Z`, as the docs show.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Constant-time equality of two byte strings (the length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    #[test]
    fn ct_eq_compares_whole_strings() {
        assert!(ct_eq(b"opx_live_abc", b"opx_live_abc"));
        assert!(ct_eq(b"", b""));
        for other in [
            &b"opx_live_abd"[..],
            b"Opx_live_abc",
            b"opx_live_ab",
            b"opx_live_abcd",
            b"",
        ] {
            assert!(!ct_eq(b"opx_live_abc", other), "{other:?}");
        }
    }

    /// The time taken does not depend on where the first difference is: an early-exit
    /// comparison is ~1,000x faster on a first-byte mismatch of 32 KiB strings than on a
    /// last-byte one; this one is within noise (the bound is loose for loaded machines).
    #[test]
    fn ct_eq_time_does_not_depend_on_the_first_difference() {
        let a = vec![b'a'; 32 * 1024];
        let mut first = a.clone();
        first[0] = b'b';
        let mut last = a.clone();
        *last.last_mut().unwrap() = b'b';
        // Rounds interleaved (first, last, first, ...), so that load on the machine falls on
        // both alike, and the fastest of many kept: load only ever adds time, so the minimum
        // is the comparison's own cost.
        let once = |other: &[u8]| {
            let t = Instant::now();
            for _ in 0..10 {
                black_box(ct_eq(black_box(&a), black_box(other)));
            }
            t.elapsed()
        };
        let (mut t_first, mut t_last) = (Duration::MAX, Duration::MAX);
        for _ in 0..50 {
            t_first = t_first.min(once(&first));
            t_last = t_last.min(once(&last));
        }
        let ratio = t_last.as_secs_f64() / t_first.as_secs_f64().max(1e-9);
        assert!(
            (0.1..10.0).contains(&ratio),
            "first-byte mismatch {t_first:?}, last-byte mismatch {t_last:?}"
        );
    }

    #[test]
    fn ids_read_back_typed() {
        let id = 0x65aa_0000_u128 << 64 | 7;
        assert_eq!(parse_id(&id_hex(id)), Some(id));
        assert_eq!(service_key(&service_id(id)), id);
        assert_eq!(parse_id("zz"), None);
    }
}
