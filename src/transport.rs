//! The per-call context the generated client carries, and the hook that runs every request:
//! the bearer header, retries of idempotent calls, buffering of the body under a size cap,
//! rate-limit capture and a tracing span.
//!
//! The facade builds its generated client once. Each call runs inside `recorded`, which gives
//! the call's task a fresh `CallRecord` (a task-local): what the hook saw (status, body, rate
//! limit) is still available when the generated code has lost it (e.g. an HTML 502 decoded as
//! `InvalidResponsePayload`), without an allocation or a lock per call.

use std::{
    cell::RefCell,
    fmt,
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::ResponseBuilderExt as _;
use tracing::{Instrument, field::Empty};

use crate::error::{Error, ErrorKind, describe_body, parse_envelope};
use crate::generated::types::ErrorEnvelope;
use crate::ratelimit::{Gate, RateLimit, retry_after};
use crate::response::Response;
use crate::retry::{Jitter, RetryPolicy, is_retryable_status};

/// The context the generated client carries as its `inner` value.
///
/// `CallContext::default()` carries nothing: a generated client built with it sends requests
/// as they are (no token, no retries). The facade's [`Client`](crate::Client) builds one that
/// attaches its transport.
#[derive(Default, Clone)]
pub struct CallContext {
    transport: Option<Arc<Transport>>,
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("attached", &self.transport.is_some())
            .finish_non_exhaustive()
    }
}

impl CallContext {
    pub(crate) fn new(transport: Arc<Transport>) -> Self {
        Self {
            transport: Some(transport),
        }
    }
}

/// What the hook saw of the last attempt of one call.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    pub(crate) status: Option<u16>,
    pub(crate) body: Bytes,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) attempts: u32,
    pub(crate) too_large: bool,
    pub(crate) body_failed: bool,
}

tokio::task_local! {
    /// The record of the call running in this task, set by [`recorded`].
    static RECORD: RefCell<CallRecord>;
}

/// Runs `call` with a fresh [`CallRecord`] for the hook to fill in, and returns both. A request
/// sent outside `recorded` (the generated client used directly) is simply not recorded.
///
/// Built from combinators rather than an `async` block or `async fn`: those keep the captured
/// future (several KiB) beside the copy they await, doubling what every call moves around.
pub(crate) fn recorded<F: Future>(call: F) -> impl Future<Output = (F::Output, CallRecord)> {
    use futures::FutureExt as _;
    RECORD.scope(
        RefCell::new(CallRecord::default()),
        call.map(|output| (output, RECORD.with(RefCell::take))),
    )
}

/// Updates the current call's record, if there is one.
fn note(update: impl FnOnce(&mut CallRecord)) {
    let _ = RECORD.try_with(|record| update(&mut record.borrow_mut()));
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `POST /purchase`, `/extend` and `/credentials` are not idempotent: never retried.
pub(crate) fn is_idempotent(operation: &str) -> bool {
    !matches!(
        operation,
        "purchase" | "extend_service" | "regenerate_credentials"
    )
}

/// Everything a [`Client`](crate::Client) shares between calls.
pub(crate) struct Transport {
    pub(crate) base_url: String,
    pub(crate) auth: HeaderValue,
    /// Set per request when the request has none; `None` when the reqwest clients send it as a
    /// default header themselves, or a user-supplied client keeps its own.
    pub(crate) user_agent: Option<HeaderValue>,
    /// For idempotent calls (connection reuse is fine).
    pub(crate) client: reqwest::Client,
    /// For non-idempotent calls: fresh connection each time, no transparent retries.
    pub(crate) once_client: reqwest::Client,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_body: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) fail_fast: bool,
    pub(crate) gate: Mutex<Gate>,
    pub(crate) latest: Mutex<Option<RateLimit>>,
    pub(crate) jitter: Mutex<Jitter>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .field("max_body", &self.max_body)
            .field("fail_fast", &self.fail_fast)
            .finish_non_exhaustive()
    }
}

impl ClientHooks<CallContext> for crate::generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let ctx = self.inner();
        match &ctx.transport {
            Some(t) => t.execute(request, info.operation_id).await,
            None => self.client().execute(request).await,
        }
    }
}

/// What the latest attempt of a call saw of the response, for its tracing span.
#[derive(Default)]
struct Seen {
    status: Option<u16>,
    rate_limit: Option<RateLimit>,
}

/// What one attempt asks the retry loop to do.
enum Step {
    Return(reqwest::Result<reqwest::Response>),
    /// Retry after this delay if attempts are left; otherwise return the result.
    Retry(Duration, reqwest::Result<reqwest::Response>),
}

enum ReadError {
    TooLarge,
    Http(reqwest::Error),
}

impl Transport {
    /// Refuses locally when the operation's rate-limit window is known to be exhausted.
    pub(crate) fn gate_check(&self, operation: &'static str) -> Result<(), Error> {
        if !self.fail_fast {
            return Ok(());
        }
        let wait = lock(&self.gate).check(operation, Instant::now());
        match wait {
            None => Ok(()),
            Some(wait) => Err(Error::new(
                ErrorKind::RateLimitedLocally,
                format!("the window resets in {:.1}s", wait.as_secs_f64()),
            )
            .with_operation(operation)
            .with_retry_after(Some(wait))
            .with_rate_limit(*lock(&self.latest))),
        }
    }

    /// The latest rate-limit snapshot any response carried.
    pub(crate) fn latest(&self) -> Option<RateLimit> {
        *lock(&self.latest)
    }

    /// Sends `request` for `operation`, retrying idempotent calls per the policy. The response
    /// returned has its body buffered; the call's record (see [`recorded`]) keeps what the last
    /// attempt saw.
    pub(crate) async fn execute(
        &self,
        mut request: reqwest::Request,
        operation: &'static str,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::info_span!(
            "opx.request",
            operation,
            method = %request.method(),
            path = %request.url().path(),
            status = Empty,
            latency_ms = Empty,
            attempts = Empty,
            ratelimit_remaining = Empty,
        );
        let headers = request.headers_mut();
        headers.insert(http::header::AUTHORIZATION, self.auth.clone());
        if let Some(ua) = &self.user_agent
            && !headers.contains_key(http::header::USER_AGENT)
        {
            headers.insert(http::header::USER_AGENT, ua.clone());
        }
        if request.timeout().is_none() {
            *request.timeout_mut() = self.timeout;
        }
        async move {
            let started = Instant::now();
            let idempotent = is_idempotent(operation);
            let client = if idempotent {
                &self.client
            } else {
                &self.once_client
            };
            let max = if idempotent { self.retry.attempts() } else { 1 };
            let mut pending = Some(request);
            let mut attempt = 0u32;
            let mut seen = Seen::default();
            let result = loop {
                attempt += 1;
                let Some(current) = pending.take() else {
                    unreachable!("a request is kept for every further attempt")
                };
                let req = if attempt < max {
                    match current.try_clone() {
                        Some(copy) => {
                            pending = Some(current);
                            copy
                        }
                        None => current,
                    }
                } else {
                    current
                };
                note(|rec| rec.attempts = attempt);
                match self
                    .attempt(client, req, operation, idempotent, attempt, &mut seen)
                    .await
                {
                    Step::Return(r) => break r,
                    Step::Retry(delay, r) => {
                        if pending.is_none() {
                            break r;
                        }
                        tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                    }
                }
            };
            let span = tracing::Span::current();
            if !span.is_disabled() {
                span.record("latency_ms", started.elapsed().as_millis() as u64);
                span.record("attempts", attempt);
                if let Some(status) = seen.status {
                    span.record("status", status);
                }
                if let Some(remaining) = seen.rate_limit.as_ref().and_then(RateLimit::remaining) {
                    span.record("ratelimit_remaining", remaining);
                }
            }
            match &result {
                Ok(_) => tracing::debug!("done"),
                Err(e) => tracing::debug!(error = %e, "failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        req: reqwest::Request,
        operation: &'static str,
        idempotent: bool,
        attempt: u32,
        seen: &mut Seen,
    ) -> Step {
        let mut resp = match client.execute(req).await {
            Ok(r) => r,
            Err(e) => {
                *seen = Seen::default();
                note(|rec| {
                    rec.status = None;
                    rec.body_failed = false;
                });
                tracing::debug!(attempt, error = %e, "transport error");
                return if idempotent {
                    Step::Retry(self.backoff(attempt), Err(e))
                } else {
                    Step::Return(Err(e))
                };
            }
        };
        let status = resp.status();
        let now = Instant::now();
        let rate = RateLimit::from_headers(resp.headers(), now);
        let wait = if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::SERVICE_UNAVAILABLE
        {
            retry_after(resp.headers())
        } else {
            None
        };
        self.observe(operation, rate.as_ref(), wait, status.as_u16(), now);
        *seen = Seen {
            status: Some(status.as_u16()),
            rate_limit: rate,
        };
        note(|rec| {
            rec.status = Some(status.as_u16());
            rec.rate_limit = rate;
            rec.retry_after = wait;
            rec.body = Bytes::new();
            rec.too_large = false;
            rec.body_failed = false;
        });
        let body = match read_capped(&mut resp, self.max_body).await {
            Ok(b) => b,
            Err(ReadError::TooLarge) => {
                note(|rec| rec.too_large = true);
                tracing::warn!(
                    cap = self.max_body,
                    "response body exceeds the size cap; discarded"
                );
                return Step::Return(Ok(with_body(resp, Bytes::new())));
            }
            Err(ReadError::Http(e)) => {
                note(|rec| rec.body_failed = true);
                tracing::debug!(attempt, error = %e, "response body cut off");
                return if idempotent {
                    Step::Retry(self.backoff(attempt), Err(e))
                } else {
                    Step::Return(Err(e))
                };
            }
        };
        note(|rec| rec.body = body.clone());
        let code = status.as_u16();
        let resp = with_body(resp, body);
        if idempotent && is_retryable_status(code) {
            let backoff = self.backoff(attempt);
            return match wait {
                Some(w) if w > self.retry_cap() => Step::Return(Ok(resp)),
                Some(w) => Step::Retry(backoff.max(w), Ok(resp)),
                None => Step::Retry(backoff, Ok(resp)),
            };
        }
        if let (true, 429, Some(max), Some(w)) =
            (idempotent, code, self.retry.rate_limited_wait(), wait)
            && w <= max
        {
            return Step::Retry(w, Ok(resp));
        }
        Step::Return(Ok(resp))
    }

    fn retry_cap(&self) -> Duration {
        self.retry
            .backoff(u32::MAX, 1.0)
            .max(Duration::from_secs(1))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let unit = lock(&self.jitter).next_unit();
        self.retry.backoff(attempt.saturating_sub(1), unit)
    }

    fn observe(
        &self,
        operation: &'static str,
        rate: Option<&RateLimit>,
        wait: Option<Duration>,
        status: u16,
        now: Instant,
    ) {
        if let Some(rl) = rate {
            *lock(&self.latest) = Some(*rl);
            if rl.is_exhausted() {
                tracing::warn!(
                    operation,
                    limit = rl.limit(),
                    reset_after_s = rl.reset_after().map(|d| d.as_secs()),
                    "rate limit exhausted (X-RateLimit-Remaining: 0): further calls are refused until the window resets"
                );
            }
        }
        let wait = if status == 429 { wait } else { None };
        lock(&self.gate).observe(operation, rate, wait, now);
    }

    /// Turns the generated code's result into the facade's, using what the hook recorded.
    pub(crate) fn finish<T>(
        &self,
        operation: &'static str,
        rec: CallRecord,
        result: Result<ResponseValue<T>, progenitor_client::Error<ErrorEnvelope>>,
    ) -> Result<Response<T>, Error> {
        match result {
            Ok(rv) if !rec.too_large => {
                let status = rv.status().as_u16();
                Ok(Response::new(rv.into_inner(), status, rec.rate_limit).with_body(rec.body))
            }
            Ok(_) => Err(self.classify(operation, &rec, None)),
            Err(e) => Err(self.classify(operation, &rec, Some(e))),
        }
    }

    pub(crate) fn classify(
        &self,
        operation: &'static str,
        rec: &CallRecord,
        err: Option<progenitor_client::Error<ErrorEnvelope>>,
    ) -> Error {
        use progenitor_client::Error as G;
        let once = !is_idempotent(operation);
        let status = rec.status;
        let error = if rec.too_large {
            let s = status.unwrap_or(0);
            let kind = if once && ((200..300).contains(&s) || s >= 500) {
                ErrorKind::OutcomeUnknown
            } else {
                ErrorKind::BodyTooLarge
            };
            Error::new(
                kind,
                format!(
                    "the response body exceeds the {} byte cap and was discarded",
                    self.max_body
                ),
            )
            .with_status(s)
            .with_rate_limit(rec.rate_limit)
        } else {
            match err {
                Some(G::CommunicationError(e))
                | Some(G::ResponseBodyError(e))
                | Some(G::InvalidUpgrade(e)) => transport_error(rec, e, once),
                Some(G::InvalidRequest(m)) => {
                    Error::validation(crate::ErrorCode::InvalidRequest, m)
                }
                Some(G::Custom(m)) => Error::new(ErrorKind::Transport, m),
                Some(G::InvalidResponsePayload(_, e)) => response_error(rec, once, Some(e)),
                Some(G::ErrorResponse(_)) | Some(G::UnexpectedResponse(_)) | None => {
                    response_error(rec, once, None)
                }
            }
        };
        error.with_operation(operation)
    }
}

const UNKNOWN_HINT: &str =
    "it may or may not have taken effect: check GET /services before trying again";

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

pub(crate) fn response_error(
    rec: &CallRecord,
    once: bool,
    decode: Option<serde_json::Error>,
) -> Error {
    let status = rec.status.unwrap_or(0);
    if (200..300).contains(&status) {
        let (kind, message) = if once {
            (
                ErrorKind::OutcomeUnknown,
                format!(
                    "HTTP {status} with a body that is not the documented JSON; {UNKNOWN_HINT}"
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
            .with_rate_limit(rec.rate_limit);
        if let Some(e) = decode {
            err = err.with_source(e);
        }
        return err;
    }
    let (code, message) = match parse_envelope(&rec.body) {
        Some((code, message)) => (Some(code), message),
        None => (None, describe_body(status, &rec.body)),
    };
    let mut err = if once && status >= 500 && code.is_none() {
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

/// Reads the whole body, refusing more than `cap` bytes. A body that arrives in one chunk (the
/// usual case for an API answer) is kept as it is, without a copy.
async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<Bytes, ReadError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge);
    }
    let Some(first) = resp.chunk().await.map_err(ReadError::Http)? else {
        return Ok(Bytes::new());
    };
    if first.len() > cap {
        return Err(ReadError::TooLarge);
    }
    let Some(second) = resp.chunk().await.map_err(ReadError::Http)? else {
        return Ok(first);
    };
    let expected = resp.content_length().map_or(0, |n| n as usize);
    let mut buf = Vec::with_capacity(expected.max(first.len() + second.len()));
    buf.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buf.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
        next = resp.chunk().await.map_err(ReadError::Http)?;
    }
    Ok(Bytes::from(buf))
}

/// `resp`'s status, version, headers and URL with `body`, the body it was read into. The
/// headers are moved, not copied.
fn with_body(mut resp: reqwest::Response, body: Bytes) -> reqwest::Response {
    // reqwest keeps the URL outside the parts: without it, it would parse a placeholder URL.
    let mut rebuilt = http::Response::builder()
        .status(resp.status())
        .version(resp.version())
        .url(resp.url().clone());
    if let Some(headers) = rebuilt.headers_mut() {
        *headers = std::mem::take(resp.headers_mut());
    }
    match rebuilt.body(body) {
        Ok(r) => reqwest::Response::from(r),
        // Unreachable: every part was taken from a valid response.
        Err(_) => resp,
    }
}
