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

const OPERATIONS: [&str; 12] = [
    "get_account",
    "list_plans",
    "purchase",
    "list_services",
    "get_service",
    "get_proxies",
    "extend_service",
    "replace_whitelist",
    "regenerate_credentials",
    "change_country",
    "change_rotation",
    "list_logs",
];

/// The password a decoded service or server is given, to look for in `Debug` output.
const MARKER: &str = "pw-MARKER-4242";

fuzz_target!(|data: &[u8]| {
    let [hi, lo, op, body @ ..] = data else {
        return;
    };
    let status = 100 + u16::from_be_bytes([*hi, *lo]) % 500;
    let operation = OPERATIONS[usize::from(*op) % OPERATIONS.len()];

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
    assert_eq!(e.status(), Some(status));
    assert_eq!(e.operation(), Some(operation));
    assert!(!e.message().chars().any(char::is_control));
    let shown = format!("{e} {e:?}");
    assert!(shown.len() < 8 * 1024, "{} bytes", shown.len());
    let _ = (e.is_rate_limited(), e.is_not_found(), e.is_outcome_unknown(), e.retry_after());

    // Success envelopes and their conversion into the facade types.
    if let Ok(v) = serde_json::from_slice::<g::AccountResponse>(body) {
        let a = opx::Account::from(v.data);
        let _ = format!("{a:?} {}", a.currency);
    }
    if let Ok(v) = serde_json::from_slice::<g::PlanListResponse>(body) {
        let plans: Vec<opx::Plan> = v.data.plans.into_iter().map(Into::into).collect();
        let _ = format!("{plans:?}");
    }
    if let Ok(mut v) = serde_json::from_slice::<g::ServiceResponse>(body) {
        let clean = !format!("{:?}", v.data).contains(MARKER);
        v.data.auth.password = MARKER.to_owned();
        let s = opx::Service::from(v.data);
        assert_eq!(s.auth.password(), MARKER);
        if clean {
            assert!(!format!("{s:?}").contains(MARKER), "password in Debug");
        }
    }
    if let Ok(v) = serde_json::from_slice::<g::ServicePageResponse>(body) {
        let p = opx::ServicePage::from(v.data);
        let _ = format!("{p:?}");
    }
    if let Ok(v) = serde_json::from_slice::<g::LogPageResponse>(body) {
        let p = opx::LogPage::from(v.data);
        let _ = format!("{p:?}");
    }
    if let Ok(v) = serde_json::from_slice::<g::ProxyListResponse>(body) {
        for mut server in v.data.servers {
            let clean = !format!("{server:?}").contains(MARKER);
            if server.login.is_some() {
                server.password = Some(MARKER.to_owned());
            }
            match opx::ProxyServer::try_from(server) {
                Ok(s) => {
                    assert_ne!(s.port, 0);
                    let _ = s.endpoint().proxy_url();
                    if clean {
                        assert!(!format!("{s:?}").contains(MARKER), "password in Debug");
                    }
                }
                Err(message) => assert!(!message.is_empty()),
            }
        }
    }
    if let Ok(v) = serde_json::from_slice::<g::ErrorEnvelope>(body) {
        let _ = format!("{v:?}");
    }
});
