//! The facade's internal parsers of untrusted server input, reachable for the fuzz targets in
//! `fuzz/` and the hardening tests. Not part of the public API: hidden from the docs, no
//! stability promise.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderMap;

use crate::error::Error;
use crate::operation::Operation;
use crate::ratelimit::{Gate, Observation, RateLimit};
use crate::transport::{classify::response_error, record::CallRecord};
use crate::types::ErrorCode;

/// The `code` and `message` of an error envelope (`None` if the body is not one).
pub fn parse_envelope(body: &[u8]) -> Option<(ErrorCode, String)> {
    crate::envelope::parse_envelope(body)
}

/// Whether a character of server text is replaced before it is shown: control and format
/// characters (bidi overrides and isolates, zero-width characters), line and paragraph
/// separators. The `opx` tool uses the same predicate for the data it prints.
pub fn is_unprintable(c: char) -> bool {
    crate::text::is_unprintable(c)
}

/// The short description of a body that is not the error envelope.
pub fn describe_body(status: u16, body: &[u8]) -> String {
    crate::envelope::describe_body(status, body)
}

/// The `X-RateLimit-*` headers of a response received at `now`.
pub fn rate_limit(headers: &HeaderMap, now: Instant) -> Option<RateLimit> {
    RateLimit::from_headers(headers, now)
}

/// `Retry-After` as a delay.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    crate::ratelimit::retry_after(headers)
}

/// Feeds one response of `operation` to a fresh local rate-limit gate, as the transport does,
/// and returns how long the gate would then refuse `operation` at `now`.
pub fn gate_wait(
    operation: Operation,
    status: u16,
    headers: &HeaderMap,
    now: Instant,
) -> Option<Duration> {
    let rate = RateLimit::from_headers(headers, now);
    let wait = if status == 429 {
        crate::ratelimit::retry_after(headers)
    } else {
        None
    };
    let mut gate = Gate::default();
    gate.observe(&Observation::new(operation, rate.as_ref(), wait, now));
    gate.check(operation, now).map(|(wait, _)| wait)
}

/// The [`Error`] the facade builds for an error response (`status` outside 2xx) or an
/// undecodable success of `operation`.
pub fn response_error_for(
    operation: Operation,
    status: u16,
    headers: HeaderMap,
    body: &[u8],
) -> Error {
    let now = Instant::now();
    let rate_limit = RateLimit::from_headers(&headers, now);
    let retry_after = if status == 429 || status == 503 {
        crate::ratelimit::retry_after(&headers)
    } else {
        None
    };
    let rec = CallRecord {
        status: http::StatusCode::from_u16(status).ok(),
        body: Bytes::copy_from_slice(body),
        rate_limit,
        retry_after,
        attempts: 1,
        ..CallRecord::default()
    };
    let secrets =
        crate::transport::secrets::Secrets::new("opx_live_0123456789abcdef0123456789abcdef");
    response_error(&rec, !operation.is_idempotent(), None, &secrets).with_operation(operation)
}

/// How many times this process loaded the platform's TLS root certificates (0 without the
/// `rustls` feature): once at most, on the first certificate to verify, however many clients
/// were built (`src/tls.rs`).
pub fn tls_root_loads() -> usize {
    crate::tls::root_loads()
}
