//! Turning what a call saw into the facade's [`Error`]: from the call's record (status, body,
//! rate limit) and the generated code's error, which may have lost them.

use crate::charge::{Answer, Charge};
use crate::envelope::{describe_body, parse_envelope};
use crate::error::{Error, ErrorKind};
use crate::operation::Operation;

use super::record::CallRecord;
use super::secrets::Secrets;

/// What the caller of a money call is told when its outcome is unknown.
pub(crate) const UNKNOWN_HINT: &str = "it may or may not have taken effect (the server may still \
     commit it): check GET /services before trying again; sending it again now may charge twice";

/// The generated code's error.
pub(crate) type GeneratedError = progenitor_client::Error<crate::error::AnyBody>;

/// The error of a call of `operation`, from its record and the generated code's error (`None`
/// when the generated code succeeded but the record says otherwise, e.g. a body over the cap).
///
/// For a call that is not idempotent, the kind follows what the answer proves
/// ([`Charge::of`]): [`ErrorKind::Unread`] when it was done (a 2xx), [`ErrorKind::OutcomeUnknown`]
/// when it may have been, the plain kind only when it provably was not.
pub(crate) fn classify(
    operation: Operation,
    rec: &CallRecord,
    err: Option<GeneratedError>,
    max_body: usize,
    secrets: &Secrets,
) -> Error {
    use progenitor_client::Error as G;
    let once = !operation.is_idempotent();
    let error = if rec.too_large {
        too_large(rec, once, max_body)
    } else {
        match err {
            Some(G::CommunicationError(e))
            | Some(G::ResponseBodyError(e))
            | Some(G::InvalidUpgrade(e)) => transport_error(rec, e, once, secrets),
            Some(G::InvalidRequest(m)) => {
                Error::validation(crate::types::ErrorCode::InvalidRequest, m)
            }
            Some(G::Custom(m)) => settled(ErrorKind::Transport, m, once.then_some(Charge::Unknown)),
            Some(G::InvalidResponsePayload(_, e)) => response_error(rec, once, Some(e), secrets),
            Some(G::ErrorResponse(_)) | Some(G::UnexpectedResponse(_)) | None => {
                response_error(rec, once, None, secrets)
            }
        }
    };
    error.with_operation(operation)
}

/// An error of `plain` kind, or, for a money call (`charge` given), of the kind its charge
/// calls for, the message saying so.
fn settled(plain: ErrorKind, message: impl Into<String>, charge: Option<Charge>) -> Error {
    let message = message.into();
    match charge {
        Some(Charge::Done) => Error::new(
            ErrorKind::Unread,
            format!("{message}; the server accepted it (2xx): it was done, do not send it again"),
        ),
        Some(Charge::Unknown) => Error::new(
            ErrorKind::OutcomeUnknown,
            format!("{message}; {UNKNOWN_HINT}"),
        ),
        Some(Charge::NotDone) | None => Error::new(plain, message),
    }
}

/// A money call whose answer came from another URL (a caller's reqwest client followed a
/// redirect): unknown, whatever the answer.
pub(crate) fn redirected(operation: Operation, rec: &CallRecord) -> Error {
    let mut e = settled(
        ErrorKind::Transport,
        "the request was redirected (the reqwest client given to ClientBuilder follows \
         redirects; give it `redirect::Policy::none()`), so the answer is not the API's",
        Some(Charge::Unknown),
    )
    .with_operation(operation);
    if let Some(s) = rec.status {
        e = e.with_status(s);
    }
    e
}

fn too_large(rec: &CallRecord, once: bool, max_body: usize) -> Error {
    // The body was discarded: what is left to judge by is the status alone.
    let charge = match rec.status {
        Some(s) => Charge::of(&Answer::Status(s, b"")),
        None => Charge::Unknown,
    };
    let mut e = settled(
        ErrorKind::BodyTooLarge,
        format!("the response body exceeds the {max_body} byte cap and was discarded"),
        once.then_some(charge),
    )
    .with_rate_limit(rec.rate_limit);
    if let Some(s) = rec.status {
        e = e.with_status(s);
    }
    e
}

fn transport_error(rec: &CallRecord, e: reqwest::Error, once: bool, secrets: &Secrets) -> Error {
    let timeout = e.is_timeout();
    let connect = e.is_connect();
    let host = e
        .url()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)));
    let what = if connect {
        "could not connect"
    } else if timeout {
        "timed out"
    } else if rec.body_failed {
        "the response body was cut off"
    } else {
        "the connection failed before a response arrived"
    };
    // One line: what happened, to which host, and the innermost cause (the TLS, DNS or socket
    // error), the client's secrets cut out of it.
    let what = match (host, root_cause(&e)) {
        (Some(h), Some(c)) if connect => format!("{what} to {h}: {}", secrets.redact_str(&c)),
        (Some(h), None) if connect => format!("{what} to {h}"),
        (Some(h), Some(c)) => format!("{what} ({h}): {}", secrets.redact_str(&c)),
        (Some(h), None) => format!("{what} ({h})"),
        (None, Some(c)) => format!("{what}: {}", secrets.redact_str(&c)),
        (None, None) => what.to_owned(),
    };
    let answer = match rec.status {
        _ if connect => Answer::NotSent,
        Some(s) if rec.body_failed => Answer::Status(s, &rec.body),
        _ => Answer::Lost,
    };
    let mut err = settled(
        ErrorKind::Transport,
        what,
        once.then(|| Charge::of(&answer)),
    )
    .with_source(e.without_url())
    .transport_flags(true, timeout);
    if rec.body_failed
        && let Some(s) = rec.status
    {
        err = err.with_status(s);
    }
    err
}

/// The innermost error of `e`'s chain, on one line (`invalid peer certificate: UnknownIssuer`,
/// `Connection refused (os error 111)`), when it says more than reqwest's own summary.
fn root_cause(e: &reqwest::Error) -> Option<String> {
    let mut cause: &dyn std::error::Error = e;
    let mut deepest = None;
    while let Some(next) = cause.source() {
        deepest = Some(next);
        cause = next;
    }
    let text = deepest?.to_string();
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty()).then(|| line.chars().take(300).collect())
}

/// The error of a response: an error status, or a 2xx whose body is not what the spec says.
///
/// For a call that is not idempotent the kind follows [`Charge::of`]: a 2xx that does not
/// decode was done, every 5xx (with the error envelope or without) and any other status without
/// the envelope leave the outcome unknown (the server may have committed the charge before it
/// failed), and only a 4xx with the envelope or a 429 is a plain refusal.
pub(crate) fn response_error(
    rec: &CallRecord,
    once: bool,
    decode: Option<serde_json::Error>,
    secrets: &Secrets,
) -> Error {
    let Some(status) = rec.status else {
        let charge = once.then_some(Charge::Unknown);
        return settled(ErrorKind::Transport, "no response was received", charge);
    };
    // Server-supplied text: the secrets the client knows are cut out before anything is read.
    let body = secrets.redact(&rec.body);
    let charge = once.then(|| Charge::of(&Answer::Status(status, &body)));
    if status.is_success() {
        let what = format!(
            "HTTP {} with a body that is not the documented JSON",
            status.as_u16()
        );
        let mut err = settled(ErrorKind::Decode, what, charge)
            .with_status(status)
            .with_rate_limit(rec.rate_limit)
            .with_body(rec.body.clone());
        if let Some(e) = decode {
            err = err.with_source(e);
        }
        return err;
    }
    let (code, message) = match parse_envelope(&body) {
        Some((code, message)) => (Some(code), message),
        None => (None, describe_body(status.as_u16(), &body)),
    };
    let mut err = settled(ErrorKind::Api, message, charge);
    if let Some(code) = code {
        err = err.with_code(code);
    }
    err.with_status(status)
        .with_retry_after(rec.retry_after)
        .with_rate_limit(rec.rate_limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::StatusCode;

    fn secrets() -> Secrets {
        Secrets::new("opx_live_0123456789abcdef0123456789abcdef")
    }

    fn rec(status: u16, body: &'static [u8]) -> CallRecord {
        CallRecord {
            status: Some(StatusCode::from_u16(status).unwrap()),
            body: Bytes::from_static(body),
            ..CallRecord::default()
        }
    }

    /// What a `GET /account` answer of `status` with `body` is classified as.
    fn classify_read(status: u16, body: &'static [u8]) -> Error {
        classify(
            Operation::GetAccount,
            &rec(status, body),
            None,
            1024,
            &secrets(),
        )
    }

    const SERVER_ERROR: &[u8] =
        br#"{"status":"error","error":{"code":"server_error","message":"Unexpected error. Retry after a short delay."}}"#;

    #[test]
    fn every_5xx_on_a_money_call_is_outcome_unknown() {
        for op in Operation::ALL.into_iter().filter(|o| !o.is_idempotent()) {
            // Every status from 500 to 599, each with the envelope, an HTML page and no body.
            let bodies = [SERVER_ERROR, &b"<html>bad gateway</html>"[..], b""];
            for (status, body) in (500..=599).flat_map(|s| bodies.map(|b| (s, b))) {
                let e = classify(op, &rec(status, body), None, 1024, &secrets());
                assert!(e.is_outcome_unknown(), "{op} {status}: {e}");
                assert!(e.message().contains("check GET /services"), "{e}");
                assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
            }
            let e = classify(op, &rec(402, br#"{"status":"error","error":{"code":"insufficient_balance","message":"low"}}"#), None, 1024, &secrets());
            assert!(
                !e.is_outcome_unknown() && e.is_insufficient_balance(),
                "{e}"
            );
            assert_eq!(e.charged(), Some(false), "{e}");
            let proxy = classify(
                op,
                &rec(403, b"<html>Forbidden</html>"),
                None,
                1024,
                &secrets(),
            );
            assert!(
                proxy.is_outcome_unknown(),
                "a 4xx without the envelope proves nothing: {proxy}"
            );
            assert_eq!(proxy.charged(), None);
        }
    }

    #[test]
    fn a_5xx_on_a_read_is_an_api_error_with_its_code() {
        let e = classify_read(500, SERVER_ERROR);
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.code(), Some(&crate::types::ErrorCode::ServerError));
    }

    #[test]
    fn an_echoed_token_never_reaches_the_error() {
        let body = br#"{"status":"error","error":{"code":"invalid_token","message":"key opx_live_0123456789abcdef0123456789abcdef is revoked"}}"#;
        let e = classify_read(401, body);
        assert_eq!(e.message(), "key <redacted> is revoked");
        let html = b"<html>401: bad key 0123456789abcdef0123456789abcdef</html>";
        let e = classify_read(401, html);
        assert!(!e.to_string().contains("0123456789abcdef"), "{e}");
        assert!(e.message().contains("<redacted>"), "{e}");
    }

    #[test]
    fn an_undecodable_2xx_is_done_for_money_and_a_decode_error_otherwise() {
        let r = rec(201, b"{");
        let money = classify(Operation::ExtendService, &r, None, 9, &secrets());
        assert_eq!(money.kind(), ErrorKind::Unread, "{money}");
        assert_eq!(money.charged(), Some(true));
        assert_eq!(
            classify(Operation::GetService, &r, None, 9, &secrets()).kind(),
            ErrorKind::Decode
        );
    }
}
