//! The one error type of the facade, [`Error`], and the API's error codes, [`ErrorCode`].

use std::{error::Error as StdError, fmt, time::Duration};

use http::StatusCode;

use crate::operation::Operation;
use crate::ratelimit::RateLimit;

/// A `Result` whose error is [`opx::Error`](Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub use crate::operation::ErrorCode;

/// A body the generated client reads without judging it: error bodies are classified by the
/// facade from the raw bytes (see [`parse_envelope`]), so an error envelope in any shape, or no
/// envelope at all, never fails to decode.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnyBody;

impl<'de> serde::Deserialize<'de> for AnyBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| AnyBody)
    }
}

impl serde::Serialize for AnyBody {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client could not be built: missing token, refused base URL, bad option.
    Config,
    /// A value was refused before anything was sent (same [`ErrorCode`] the server would use).
    Validation,
    /// The server answered with an error status.
    Api,
    /// Refused locally: the rate-limit window of this operation is exhausted (nothing was sent).
    RateLimitedLocally,
    /// The request could not be sent, or the response could not be read (includes timeouts).
    Transport,
    /// A non-idempotent request (purchase, extend, credentials) failed in a way that leaves
    /// its outcome unknown (the request may have been processed: a timeout or a dropped
    /// connection after it was written, a 5xx, an answer without the API's error envelope):
    /// check `GET /services` before trying again.
    OutcomeUnknown,
    /// A success response whose body is not what the API documents.
    Decode,
    /// The response body exceeded the configured size cap.
    BodyTooLarge,
    /// The server accepted a change (2xx), but its answer could not be read (and, after a safe
    /// purchase or extension, nothing read after it showed the result): the change **was made**
    /// ([`Error::is_committed`]). Do not send it again.
    Unread,
    /// Refused locally, nothing sent: an earlier money call of the same kind (the same plan, or
    /// the same service) has an unknown outcome in the [journal](crate::safe::Journal). Resolve
    /// it first (`Client::resolve_pending`), or allow it with
    /// [`Journal::allow_over_pending`](crate::safe::Journal::allow_over_pending).
    PendingUnknown,
    /// Refused locally, nothing sent: the charge would exceed the
    /// [spend cap](crate::safe::SpendCap).
    SpendCap,
}

/// The error of every fallible facade call.
///
/// Carries the HTTP status, the API [`ErrorCode`] and message when the server sent them, the
/// `Retry-After` delay and the rate-limit snapshot of the failed response. Never contains the
/// API token. Transport errors are kept as [`source()`](std::error::Error::source).
///
/// ```
/// # async fn demo(client: opx::Client) {
/// match client.account().await {
///     Ok(account) => println!("balance: {} RUB", account.balance),
///     Err(e) if e.is_rate_limited() => println!("slow down, retry in {:?}", e.retry_after()),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    operation: Option<Operation>,
    status: Option<StatusCode>,
    code: Option<ErrorCode>,
    message: String,
    retry_after: Option<Duration>,
    rate_limit: Option<RateLimit>,
    transport: bool,
    timeout: bool,
    body: Option<bytes::Bytes>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                operation: None,
                status: None,
                code: None,
                message: message.into(),
                retry_after: None,
                rate_limit: None,
                transport: false,
                timeout: false,
                body: None,
                source: None,
            }),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn validation(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message).with_code(code)
    }

    pub(crate) fn with_operation(mut self, op: Operation) -> Self {
        self.inner.operation = Some(op);
        self
    }
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.inner.status = Some(status);
        self
    }
    pub(crate) fn with_code(mut self, code: ErrorCode) -> Self {
        self.inner.code = Some(code);
        self
    }
    pub(crate) fn with_retry_after(mut self, d: Option<Duration>) -> Self {
        self.inner.retry_after = d;
        self
    }
    pub(crate) fn with_rate_limit(mut self, rl: Option<RateLimit>) -> Self {
        self.inner.rate_limit = rl;
        self
    }
    pub(crate) fn with_source(mut self, e: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(e));
        self
    }
    pub(crate) fn with_body(mut self, body: bytes::Bytes) -> Self {
        self.inner.body = Some(body);
        self
    }
    pub(crate) fn transport_flags(mut self, transport: bool, timeout: bool) -> Self {
        self.inner.transport = transport;
        self.inner.timeout = timeout;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }
    /// The operation that failed, when known (its `Display` is the spec's operationId, e.g.
    /// `getAccount`, the name the mock's fault injection takes too).
    pub fn operation(&self) -> Option<Operation> {
        self.inner.operation
    }
    /// The HTTP status of the response, if one was received.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }
    /// The API error code: from the server's envelope, or the code the server would have used
    /// for a value refused before sending. `None` when the body was not the error envelope.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.inner.code.as_ref()
    }
    /// The human-readable message (the server's, when it sent one).
    pub fn message(&self) -> &str {
        &self.inner.message
    }
    /// How long to wait before trying again: the `Retry-After` header of a 429, or the time
    /// left in the window for an error refused locally.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }
    /// The rate-limit headers of the failed response, if it carried them.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.inner.rate_limit.as_ref()
    }
    /// The server or this client refused the call because of a rate limit.
    pub fn is_rate_limited(&self) -> bool {
        self.inner.kind == ErrorKind::RateLimitedLocally || self.is_code(&ErrorCode::RateLimited)
    }
    /// The server answered with `code`, or with the HTTP status the docs' error-code table gives
    /// it and no envelope to say otherwise.
    fn is_code(&self, code: &ErrorCode) -> bool {
        match &self.inner.code {
            Some(c) => c == code,
            None => {
                self.inner.kind == ErrorKind::Api
                    && self.inner.status.map(|s| s.as_u16()) == code.http_status()
            }
        }
    }
    /// The service does not exist or does not belong to this account (404 / `not_found`).
    pub fn is_not_found(&self) -> bool {
        self.is_code(&ErrorCode::NotFound)
    }
    /// The balance is too low (402 / `insufficient_balance`).
    pub fn is_insufficient_balance(&self) -> bool {
        self.is_code(&ErrorCode::InsufficientBalance)
    }
    /// The API key was refused (401 / `invalid_token`): missing, malformed, expired or revoked,
    /// or used from a source IP outside its allowlist.
    pub fn is_invalid_token(&self) -> bool {
        self.is_code(&ErrorCode::InvalidToken)
    }
    /// The server failed (any 5xx, or `server_error`), whatever the outcome. For a purchase,
    /// extension or credentials change this is also [`is_outcome_unknown`](Self::is_outcome_unknown).
    pub fn is_server_error(&self) -> bool {
        self.inner.code == Some(ErrorCode::ServerError)
            || self.inner.status.is_some_and(|s| s.is_server_error())
    }
    /// Trying the same call again later may succeed and cannot do harm: a rate limit, a
    /// transport failure or a server error of an idempotent call (the client retries those
    /// itself per its [`RetryPolicy`](crate::RetryPolicy) before giving up). Never true for an
    /// outcome-unknown purchase, extension or credentials change: reconcile those first.
    pub fn is_retryable(&self) -> bool {
        if self.is_outcome_unknown() {
            return false;
        }
        self.is_rate_limited() || self.inner.transport || self.is_server_error()
    }
    /// The request could not be sent or the response could not be read (connection refused or
    /// dropped, timeout, truncated body), including when that left the outcome unknown.
    pub fn is_transport(&self) -> bool {
        self.inner.transport
    }
    /// The failure was a timeout (connect or overall).
    pub fn is_timeout(&self) -> bool {
        self.inner.timeout
    }
    /// A purchase, extension or credentials regeneration may or may not have happened: read
    /// `GET /services` before retrying (see [`Client::purchase_safely`](crate::Client::purchase_safely)).
    pub fn is_outcome_unknown(&self) -> bool {
        self.inner.kind == ErrorKind::OutcomeUnknown
    }
    /// The value was refused before anything was sent.
    pub fn is_validation(&self) -> bool {
        self.inner.kind == ErrorKind::Validation
    }
    /// The server accepted the change although this call failed to read the result
    /// ([`ErrorKind::Unread`]): do not send it again. The same as `charged() == Some(true)`.
    pub fn is_committed(&self) -> bool {
        self.inner.kind == ErrorKind::Unread
    }
    /// The body of a success response that could not be decoded ([`ErrorKind::Decode`],
    /// [`ErrorKind::Unread`]), exactly as received, so that no data is lost: `opx --json` prints
    /// its `data`. It may hold secrets (proxy passwords); it never appears in `Display` or
    /// `Debug`.
    pub fn response_body(&self) -> Option<&[u8]> {
        self.inner.body.as_deref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(op) = self.inner.operation {
            d.field("operation", &op.id());
        }
        if let Some(s) = self.inner.status {
            d.field("status", &s.as_u16());
        }
        if let Some(c) = &self.inner.code {
            d.field("code", c);
        }
        d.field("message", &self.inner.message);
        if let Some(r) = self.inner.retry_after {
            d.field("retry_after", &r);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.inner.operation {
            write!(f, "{op}: ")?;
        }
        match self.inner.kind {
            ErrorKind::Config => f.write_str("configuration error: ")?,
            ErrorKind::Validation => f.write_str("refused before sending: ")?,
            ErrorKind::RateLimitedLocally => f.write_str("rate limit exhausted (not sent): ")?,
            ErrorKind::Transport => f.write_str("transport error: ")?,
            ErrorKind::OutcomeUnknown => f.write_str("outcome unknown: ")?,
            ErrorKind::Decode => f.write_str("unexpected response: ")?,
            ErrorKind::BodyTooLarge => f.write_str("response too large: ")?,
            ErrorKind::Unread => f.write_str("done, but the answer could not be read: ")?,
            ErrorKind::PendingUnknown => f.write_str("refused before sending: ")?,
            ErrorKind::SpendCap => f.write_str("refused before sending (spend cap): ")?,
            ErrorKind::Api => {}
        }
        if let Some(s) = self.inner.status {
            write!(f, "HTTP {} ", s.as_u16())?;
        }
        if let Some(c) = &self.inner.code {
            write!(f, "{c}: ")?;
        }
        // The source is not repeated here: error reporters print `source()` themselves.
        f.write_str(&self.inner.message)
    }
}

impl From<crate::operation::InvalidValue> for Error {
    fn from(refused: crate::operation::InvalidValue) -> Self {
        let error = Self::validation(refused.code().clone(), refused.message());
        match refused.operation() {
            Some(op) => error.with_operation(op),
            None => error,
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
