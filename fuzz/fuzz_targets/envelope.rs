//! Envelope and error decoding: whatever body a server sends, with whatever status.
//!
//! Runs the body through the lenient error-envelope reader, the description of non-envelope
//! bodies, the `Error` the facade builds for that status (for an idempotent and a
//! non-idempotent operation), and every documented success envelope plus its conversion into
//! the facade types. Checks: nothing panics; server text reaching an `Error` is printable and
//! bounded; `Debug` of a decoded service or proxy list never shows a proxy password.
#![no_main]

use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use opx::fuzzing::{describe_body, parse_envelope, response_error_for};
use opx::generated::types as g;


/// The password a decoded service or server is given, to look for in `Debug` output.
const MARKER: &str = "pw-MARKER-4242";

fuzz_target!(|data: &[u8]| {
    let [hi, lo, op, body @ ..] = data else {
        return;
    };
    let status = 100 + u16::from_be_bytes([*hi, *lo]) % 500;
    let operation = opx::Operation::ALL[usize::from(*op) % opx::Operation::ALL.len()];

    if let Some((code, message)) = parse_envelope(body) {
        assert!(!code.as_str().chars().any(char::is_control));
        assert!(code.as_str().chars().count() <= 65);
        assert!(!message.chars().any(char::is_control));
        assert!(message.chars().count() <= 1025);
    }
    let described = describe_body(status, body);
    assert!(!described.chars().any(char::is_control));
    assert!(described.len() < 1024, "{} bytes", described.len());

    let e = response_error_for(operation, status, HeaderMap::new(), body);
    assert_eq!(e.status().map(|s| s.as_u16()), http::StatusCode::from_u16(status).ok().map(|s| s.as_u16()));
    assert_eq!(e.operation(), Some(operation));
    assert!(!e.message().chars().any(char::is_control));
    let shown = format!("{e} {e:?}");
    assert!(shown.len() < 8 * 1024, "{} bytes", shown.len());
    let _ = (e.is_rate_limited(), e.is_not_found(), e.is_outcome_unknown(), e.retry_after());

    // Success envelopes decode straight into the facade types (one type layer); a secret
    // planted in a decoded value never shows in `Debug`.
    if let Ok(v) = serde_json::from_slice::<g::AccountResponse>(body) {
        let _ = format!("{:?} {}", v.data, v.data.currency);
    }
    if let Ok(v) = serde_json::from_slice::<g::PlanListResponse>(body) {
        let _ = format!("{:?}", v.data);
    }
    if let Ok(v) = serde_json::from_slice::<g::ServiceResponse>(body) {
        let mut json = serde_json::to_value(&v.data).unwrap();
        json["auth"]["password"] = MARKER.into();
        let s: opx::types::Service = serde_json::from_value(json).unwrap();
        assert_eq!(s.auth.password(), MARKER);
        if !format!("{:?}", v.data).contains(MARKER) {
            assert!(!format!("{s:?}").contains(MARKER), "password in Debug");
        }
    }
    if let Ok(v) = serde_json::from_slice::<g::ServicePageResponse>(body) {
        let _ = format!("{:?}", v.data);
    }
    if let Ok(v) = serde_json::from_slice::<g::LogPageResponse>(body) {
        let _ = format!("{:?}", v.data);
    }
    if let Ok(v) = serde_json::from_slice::<g::ProxyListResponse>(body) {
        for s in &v.data.servers {
            assert_ne!(s.port, 0);
            let _ = s.endpoint().proxy_url();
            if let Some(pw) = s.password().filter(|p| p.len() > 3) {
                assert!(!format!("{s:?}").contains(pw), "password in Debug");
            }
        }
    }
});
