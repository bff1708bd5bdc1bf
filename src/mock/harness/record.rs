//! What the mock saw: every request, for tests to inspect, and the counters kept beside them
//! (answers by status, calls and executions of each operation, schema violations).

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::operation::Operation;
use crate::types::ErrorCode;

/// How many requests `requests()` keeps (the oldest are dropped first).
pub(crate) const MAX_RECORDED: usize = 10_000;

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
        /// The error code sent, e.g. [`ErrorCode::InvalidId`].
        code: ErrorCode,
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

impl RequestVerdict {
    /// The verdict as the control API's `GET /_mock/requests` writes it.
    pub(crate) fn describe(&self) -> String {
        match self {
            RequestVerdict::Valid => "Valid".to_string(),
            RequestVerdict::Invalid { code, message } => {
                format!(
                    "Invalid {{ code: {:?}, message: {message:?} }}",
                    code.as_str()
                )
            }
            RequestVerdict::NotValidated => "NotValidated".to_string(),
        }
    }
}

/// What the mock has answered (`server.records().stats()`, `GET /_mock/stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MockStats {
    /// Requests answered.
    pub requests: u64,
    /// How many answers had each status (`"200"`, `"429"`, ...).
    pub responses_by_status: BTreeMap<String, u64>,
    /// Successful purchases and extensions: the times a balance was charged.
    pub charges: u64,
    /// Requests held by a [`Fault::Delay`](crate::mock::Fault::Delay) whose client hung up
    /// before the wait ended: dropped, never run.
    #[serde(default)]
    pub abandoned: u64,
}

/// The requests and counters of a mock.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    /// The latest [`MAX_RECORDED`] requests.
    pub(crate) requests: VecDeque<RecordedRequest>,
    /// Every request counted, by the status it got (`requests` keeps only the latest).
    pub(crate) by_status: BTreeMap<u16, u64>,
    /// Requests routed to each operation, whatever their answer (for expectations).
    pub(crate) calls: HashMap<Operation, u64>,
    /// Successful (committed) runs of each operation's handler.
    pub(crate) executions: HashMap<Operation, u64>,
    /// Requests a `Delay` fault held whose client hung up before the wait ended (never run).
    pub(crate) abandoned: u64,
    /// Responses that failed spec validation.
    pub(crate) violations: Vec<String>,
}

impl RequestLog {
    /// Records a request, dropping the oldest past [`MAX_RECORDED`].
    pub(crate) fn record(&mut self, r: RecordedRequest) {
        *self.by_status.entry(r.status).or_insert(0) += 1;
        if let Some(op) = r.operation {
            *self.calls.entry(op).or_insert(0) += 1;
        }
        self.requests.push_back(r);
        while self.requests.len() > MAX_RECORDED {
            self.requests.pop_front();
        }
    }

    /// How many times `op`'s handler ran and succeeded.
    pub(crate) fn executions(&self, op: Operation) -> u64 {
        self.executions.get(&op).copied().unwrap_or(0)
    }

    /// How many requests were routed to `op`.
    pub(crate) fn calls(&self, op: Operation) -> u64 {
        self.calls.get(&op).copied().unwrap_or(0)
    }

    /// What the mock has answered so far.
    pub(crate) fn stats(&self) -> MockStats {
        MockStats {
            requests: self.by_status.values().sum(),
            responses_by_status: self
                .by_status
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            charges: self.executions(Operation::Purchase)
                + self.executions(Operation::ExtendService),
            abandoned: self.abandoned,
        }
    }
}
