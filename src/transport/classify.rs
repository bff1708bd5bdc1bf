//! Turning what a call saw into the facade's [`Error`]: from the call's record (status, body,
//! rate limit) and the generated code's error, which may have lost them.

use crate::error::{Error, ErrorKind, describe_body, parse_envelope};
use crate::operation::Operation;

use super::record::CallRecord;
use super::secrets::Secrets;

/// What the caller of a money call is told when its outcome is unknown.
pub(crate) const UNKNOWN_HINT: &str =
    "it may or may not have taken effect: check GET /services before trying again";

/// The generated code's error.
pub(crate) type GeneratedError = progenitor_client::Error<crate::error::AnyBody>;

/// The error of a call of `operation`, from its record and the generated code's error (`None`
/// when the generated code succeeded but the record says otherwise, e.g. a body over the cap).
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
            | Some(G::InvalidUpgrade(e)) => transport_error(rec, e, once),
            Some(G::InvalidRequest(m)) => Error::validation(crate::ErrorCode::InvalidRequest, m),
            Some(G::Custom(m)) => Error::new(ErrorKind::Transport, m),
            Some(G::InvalidResponsePayload(_, e)) => response_error(rec, once, Some(e), secrets),
            Some(G::ErrorResponse(_)) | Some(G::UnexpectedResponse(_)) | None => {
                response_error(rec, once, None, secrets)
            }
        }
    };
    error.with_operation(operation)
}

fn too_large(rec: &CallRecord, once: bool, max_body: usize) -> Error {
    let status = rec.status;
    let unknown = once && status.is_some_and(|s| s.is_success() || s.is_server_error());
    let kind = if unknown {
        ErrorKind::OutcomeUnknown
    } else {
        ErrorKind::BodyTooLarge
    };
    let mut e = Error::new(
        kind,
        format!("the response body exceeds the {max_body} byte cap and was discarded"),
    )
    .with_rate_limit(rec.rate_limit);
    if let Some(s) = status {
        e = e.with_status(s);
    }
    e
}

fn transport_error(rec: &CallRecord, e: reqwest::Error, once: bool) -> Error {
    let timeout = e.is_timeout();
    let connect = e.is_connect();
    let what = if connect {
        "could not connect"
    } else if timeout {
        "timed out"
    } else if rec.body_failed {
        "the response body was cut off"
    } else {
        "the connection failed before a response arrived"
    };
    let (kind, message) = if once && !connect {
        (ErrorKind::OutcomeUnknown, format!("{what}; {UNKNOWN_HINT}"))
    } else {
        (ErrorKind::Transport, what.to_owned())
    };
    let mut err = Error::new(kind, message)
        .with_source(e.without_url())
        .transport_flags(true, timeout);
    if rec.body_failed
        && let Some(s) = rec.status
    {
        err = err.with_status(s);
    }
    err
}

/// The error of a response: an error status, or a 2xx whose body is not what the spec says.
///
/// For a call that is not idempotent, a 2xx that does not decode and **every** 5xx (with the
/// error envelope or without) leave the outcome unknown: the server may have committed the
/// charge before it failed.
pub(crate) fn response_error(
    rec: &CallRecord,
    once: bool,
    decode: Option<serde_json::Error>,
    secrets: &Secrets,
) -> Error {
    let Some(status) = rec.status else {
        return Error::new(ErrorKind::Transport, "no response was received");
    };
    if status.is_success() {
        let (kind, message) = if once {
            (
                ErrorKind::OutcomeUnknown,
                format!(
                    "HTTP {} with a body that is not the documented JSON; {UNKNOWN_HINT}",
                    status.as_u16()
                ),
            )
        } else {
            (
                ErrorKind::Decode,
                "the body is not the documented JSON".to_owned(),
            )
        };
        let mut err = Error::new(kind, message)
            .with_status(status)
            .with_rate_limit(rec.rate_limit)
            .with_body(rec.body.clone());
        if let Some(e) = decode {
            err = err.with_source(e);
        }
        return err;
    }
    // Server-supplied text: the secrets the client knows are cut out before anything is read.
    let body = secrets.redact(&rec.body);
    let (code, message) = match parse_envelope(&body) {
        Some((code, message)) => (Some(code), message),
        None => (None, describe_body(status.as_u16(), &body)),
    };
    let mut err = if once && status.is_server_error() {
        Error::new(
            ErrorKind::OutcomeUnknown,
            format!("{message}; {UNKNOWN_HINT}"),
        )
    } else {
        Error::new(ErrorKind::Api, message)
    };
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
        }
    }

    #[test]
    fn a_5xx_on_a_read_is_an_api_error_with_its_code() {
        let e = classify_read(500, SERVER_ERROR);
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.code(), Some(&crate::ErrorCode::ServerError));
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
    fn an_undecodable_2xx_is_unknown_for_money_and_a_decode_error_otherwise() {
        let r = rec(201, b"{");
        assert!(classify(Operation::ExtendService, &r, None, 9, &secrets()).is_outcome_unknown());
        assert_eq!(
            classify(Operation::GetService, &r, None, 9, &secrets()).kind(),
            ErrorKind::Decode
        );
    }
}
