//! What the mock saw: every request, for tests to inspect.

use bytes::Bytes;

use crate::operation::Operation;

/// Whether a request carried a valid bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthStatus {
    /// No `Authorization` header.
    Missing,
    /// A header that is malformed, unknown, revoked or used from an IP outside the key's pins.
    Invalid,
    /// A valid key.
    Valid,
    /// Not checked (the request did not need authentication, e.g. `GET /openapi.json`).
    NotChecked,
}

/// The spec-validation verdict for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestVerdict {
    /// The request matched an operation and passed validation.
    Valid,
    /// The request was refused with this documented error code and message.
    Invalid {
        /// The error code sent, e.g. `invalid_id`.
        code: String,
        /// The message sent.
        message: String,
    },
    /// Validation did not run (unknown path or method, or a route outside the spec such as
    /// `GET /openapi.json`). Requests refused with 401 or 429, or answered with an injected
    /// fault, are still validated and carry a verdict.
    NotValidated,
}

/// One request received by the mock.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Request headers (lower-case names); the `Authorization` value is replaced by `<redacted>`.
    pub headers: Vec<(String, String)>,
    /// Whether the request was authenticated.
    pub auth: AuthStatus,
    /// The request body.
    pub body: Bytes,
    /// The operation the request was routed to.
    pub operation: Option<Operation>,
    /// The spec-validation verdict for the request.
    pub verdict: RequestVerdict,
    /// The status of the response (or of the response that was dropped).
    pub status: u16,
}

impl RecordedRequest {
    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl RecordedRequest {
    /// A request as it arrived (the `Authorization` value redacted), before any verdict.
    pub(crate) fn new(parts: &http::request::Parts, body: Bytes) -> Self {
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if *k == http::header::AUTHORIZATION {
                    "<redacted>".to_string()
                } else {
                    String::from_utf8_lossy(v.as_bytes()).into_owned()
                };
                (k.as_str().to_string(), v)
            })
            .collect();
        RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            auth: AuthStatus::NotChecked,
            body,
            operation: None,
            verdict: RequestVerdict::NotValidated,
            status: 0,
        }
    }
}
