//! Unit tests of `error.rs`.

use super::*;
use crate::envelope::*;

#[test]
fn unknown_codes_keep_their_text() {
    let c = ErrorCode::parse("quota_frozen");
    assert_eq!(c, ErrorCode::Unknown("quota_frozen".into()));
    assert_eq!(c.to_string(), "quota_frozen");
    assert_eq!(c.http_status(), None);
    assert_eq!(ErrorCode::InsufficientBalance.http_status(), Some(402));
}

#[test]
fn envelope_with_unknown_code_is_read() {
    let (c, m) =
        parse_envelope(br#"{"status":"error","error":{"code":"new_thing","message":"hi"}}"#)
            .unwrap();
    assert_eq!(c, ErrorCode::Unknown("new_thing".into()));
    assert_eq!(m, "hi");
}

#[test]
fn non_envelopes_are_not_read() {
    assert!(parse_envelope(b"").is_none());
    assert!(parse_envelope(b"<html>502 Bad Gateway</html>").is_none());
    assert!(parse_envelope(br#"{"error":{"code":5}}"#).is_none());
    assert!(parse_envelope(br#"[1,2]"#).is_none());
}

#[test]
fn envelope_text_is_made_printable_and_bounded() {
    let body = serde_json::json!({"status": "error", "error": {
        "code": format!("evil\u{1b}[2J{}", "c".repeat(500)),
        "message": format!("line1\r\nline2\u{1b}]0;title\u{7}{}", "m".repeat(100_000)),
    }});
    let (code, message) = parse_envelope(body.to_string().as_bytes()).unwrap();
    assert!(!code.as_str().chars().any(char::is_control), "{code}");
    assert!(code.as_str().chars().count() <= MAX_SERVER_CODE + 1);
    assert!(!message.chars().any(char::is_control), "{message}");
    assert_eq!(message.chars().count(), MAX_SERVER_MESSAGE + 1);
    assert!(message.starts_with("line1  line2 ]0;title "), "{message}");
    assert!(message.ends_with('…'));
    // Documented codes are untouched.
    let (code, m) = parse_envelope(
        br#"{"status":"error","error":{"code":"not_found","message":"no such service"}}"#,
    )
    .unwrap();
    assert_eq!((code, m.as_str()), (ErrorCode::NotFound, "no such service"));
}

#[test]
fn html_bodies_are_described_briefly() {
    let d = describe_body(
        502,
        b"<html>\r\n<head><title>502 Bad Gateway</title>\r\n</html>",
    );
    assert!(d.starts_with("Bad Gateway"), "{d}");
    assert!(!d.contains('\r') && !d.contains('\n'), "{d}");
    assert_eq!(describe_body(429, b""), "Too Many Requests (empty body)");
    let long = vec![b'x'; 10_000];
    assert!(describe_body(500, &long).len() < 250);
}

#[test]
fn predicates_follow_status_and_code() {
    let status = |s| StatusCode::from_u16(s).unwrap();
    let e = Error::new(ErrorKind::Api, "x").with_status(status(429));
    assert!(e.is_rate_limited() && !e.is_not_found() && e.is_retryable());
    let e = Error::new(ErrorKind::Api, "x")
        .with_status(status(404))
        .with_code(ErrorCode::NotFound);
    assert!(e.is_not_found() && !e.is_rate_limited() && !e.is_retryable());
    let e = Error::new(ErrorKind::Api, "x").with_status(status(402));
    assert!(e.is_insufficient_balance());
    let e = Error::new(ErrorKind::Api, "x").with_status(status(401));
    assert!(e.is_invalid_token() && !e.is_server_error());
    // An envelope's code wins over the status.
    let e = Error::new(ErrorKind::Api, "x")
        .with_status(status(404))
        .with_code(ErrorCode::InvalidId);
    assert!(!e.is_not_found());
    let e = Error::new(ErrorKind::Api, "x")
        .with_status(status(503))
        .with_operation(Operation::GetAccount);
    assert!(e.is_server_error() && e.is_retryable());
    let e = Error::new(ErrorKind::OutcomeUnknown, "x")
        .with_status(status(500))
        .with_operation(Operation::Purchase);
    assert!(e.is_server_error() && !e.is_retryable());
    let e = Error::new(ErrorKind::OutcomeUnknown, "x").transport_flags(true, true);
    assert!(e.is_outcome_unknown() && e.is_transport() && e.is_timeout());
    let e = Error::validation(ErrorCode::InvalidId, "bad");
    assert!(e.is_validation() && !e.is_transport() && e.status().is_none());
    assert_eq!(e.to_string(), "refused before sending: invalid_id: bad");
}

/// Characters `Debug` escapes (a combining accent becomes `\u{300}`, seven characters) do not
/// let a description grow past its bound.
#[test]
fn escaped_characters_do_not_lengthen_a_description_past_its_bound() {
    let body = "\u{300} !".repeat(150);
    let d = describe_body(502, body.as_bytes());
    assert!(
        d.chars().count() < 200,
        "{} characters: {d}",
        d.chars().count()
    );
    assert!(d.contains("bytes: \"\\u{300} !"), "{d}");
}

proptest::proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300), status in 100u16..1000) {
        let _ = parse_envelope(&body);
        let d = describe_body(status, &body);
        proptest::prop_assert!(d.chars().count() < 200);
    }
}
