//! How a call goes over the wire: the hook that runs every request of the generated client.
//!
//! One concern per module: `record` (what a call saw, kept for the facade), `body` (the
//! capped body and the response rebuilt around it), `decide` (the retry decision, a pure
//! function), `classify` (the facade's error from what was seen). This module holds the state
//! a [`Client`](crate::Client) shares between calls and the loop that ties them together.

pub(crate) mod body;
pub(crate) mod classify;
pub(crate) mod clients;
pub(crate) mod config;
pub(crate) mod decide;
mod pacing;
pub(crate) mod record;
pub(crate) mod secrets;

use std::{
    fmt,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant, SystemTime},
};

use http::{HeaderValue, StatusCode};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use tracing::{Instrument, field::Empty};

use crate::clock::{SharedClock, TIME_SCALE_HEADER, header_unit};
use crate::error::{Error, ErrorKind};
use crate::operation::Operation;
use crate::ratelimit::{
    Gate, InFlight, Observation, Pacer, RateLimit, RateLimitPolicy, retry_after_at, scale_delay,
};
use crate::response::Response;
use crate::retry::{Jitter, RetryPolicy};
use crate::sync::lock;
use body::{ReadError, read_capped, with_body};
use classify::GeneratedError;
use decide::{Decision, Outcome, decide};
use record::{CallRecord, note};

pub(crate) use clients::ProxySetting;
pub(crate) use record::recorded;

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

/// Builds the client for the calls that are not idempotent, on first use.
pub(crate) type OnceClientFactory = Box<dyn Fn() -> Result<reqwest::Client, Error> + Send + Sync>;

/// Everything a [`Client`](crate::Client) shares between calls.
pub(crate) struct Transport {
    pub(crate) base_url: String,
    pub(crate) auth: HeaderValue,
    /// Set per request when the request has none; `None` when the reqwest clients send it as a
    /// default header themselves, or a user-supplied client keeps its own.
    user_agent: Option<HeaderValue>,
    /// For idempotent calls (connection reuse is fine).
    pub(crate) client: reqwest::Client,
    /// For calls that are not idempotent: built on first use (most runs never buy anything).
    once_client: OnceLock<reqwest::Client>,
    once_factory: OnceClientFactory,
    retry: RetryPolicy,
    max_body: usize,
    /// One attempt's timeout.
    timeout: Option<Duration>,
    /// The whole call's, attempts and backoff together.
    deadline: Option<Duration>,
    /// The token and the proxy passwords seen, cut out of server-supplied text.
    pub(crate) secrets: secrets::Secrets,
    gate: Mutex<Gate>,
    pub(crate) latest: Mutex<Option<RateLimit>>,
    jitter: Mutex<Jitter>,
    /// Whose time the gate, the pacer, the sleeps and the deadline go by.
    pub(crate) clock: SharedClock,
    policy: RateLimitPolicy,
    /// The windows as counted for pacing (kept up to date whatever the policy).
    pacer: Mutex<Pacer>,
    in_flight: InFlight,
    /// Told before each wait of a paced call.
    on_wait: Option<config::WaitHook>,
    /// The end of the wait last told (concurrent calls waiting for it are told once).
    told: Mutex<Option<Instant>>,
    /// The `Date` of the latest answer, and when it was received on the client's clock.
    server_date: Mutex<Option<(String, Instant)>>,
}

impl ClientHooks<CallContext> for crate::generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let ctx = self.inner();
        match (
            &ctx.transport,
            Operation::from_method_name(info.operation_id),
        ) {
            (Some(t), Some(op)) => t.execute(request, op).await,
            _ => self.client().execute(request).await,
        }
    }
}

/// What the latest attempt of a call saw of the response, for its tracing span.
#[derive(Default)]
struct Seen {
    status: Option<StatusCode>,
    rate_limit: Option<RateLimit>,
}

impl Transport {
    /// The transport of `config`, with its state (rate-limit gate and pacer, secrets seen,
    /// backoff jitter) fresh.
    pub(crate) fn new(config: config::TransportConfig) -> Result<Self, Error> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token))
            .map_err(|_| Error::config("the API token is not a valid header value"))?;
        auth.set_sensitive(true);
        Ok(Self {
            base_url: config.base_url,
            auth,
            user_agent: config.http.user_agent,
            client: config.http.client,
            once_client: config.http.once_client,
            once_factory: config.http.once_factory,
            retry: config.retry,
            max_body: config.max_body,
            timeout: config.timeout,
            deadline: config.deadline,
            secrets: secrets::Secrets::new(&config.token),
            gate: Mutex::new(Gate::default()),
            latest: Mutex::new(None),
            jitter: Mutex::new(config.jitter),
            clock: config.clock,
            policy: config.policy,
            pacer: Mutex::new(Pacer::default()),
            in_flight: Default::default(),
            on_wait: config.on_wait,
            told: Mutex::new(None),
            server_date: Mutex::new(None),
        })
    }

    /// Whether a call of `operation` may go now, as the rate-limit policy says: `Ok(None)` at
    /// once, `Ok(Some(wait))` after waiting for its window
    /// ([`WaitUpTo`](RateLimitPolicy::WaitUpTo)), `Err` refused locally because a window of the
    /// operation is known to be exhausted.
    pub(crate) fn gate_check(&self, operation: Operation) -> Result<Option<Duration>, Error> {
        let max_wait = match self.rate_limit_policy() {
            RateLimitPolicy::Surface => None,
            RateLimitPolicy::WaitUpTo(max) => Some(max),
            RateLimitPolicy::ServerDecides | RateLimitPolicy::Pace => return Ok(None),
        };
        let (blocked, reported) = {
            let gate = lock(&self.gate);
            let blocked = gate.check(operation, self.clock.now());
            (blocked, blocked.and_then(|(_, b)| gate.reported_limit(b)))
        };
        match blocked {
            None => Ok(None),
            Some((wait, _)) if max_wait.is_some_and(|max| wait <= max) => Ok(Some(wait)),
            Some((wait, bucket)) => Err(Error::new(
                ErrorKind::RateLimitedLocally,
                format!(
                    "the {bucket} rate limit ({}) is exhausted; its window resets in {}",
                    match reported {
                        Some(n) => format!("{n} requests per window, as the server reported"),
                        None => format!(
                            "{} requests per {}, as documented",
                            bucket.limit(),
                            crate::clock::human(bucket.window())
                        ),
                    },
                    crate::clock::human(Duration::from_secs_f64(wait.as_secs_f64().ceil()))
                ),
            )
            .with_operation(operation)
            .with_retry_after(Some(wait))
            .with_rate_limit(*lock(&self.latest))),
        }
    }

    /// [`gate_check`](Self::gate_check), then the wait it asks for.
    pub(crate) async fn gate(&self, operation: Operation) -> Result<(), Error> {
        if let Some(wait) = self.gate_check(operation)? {
            self.clock.sleep(wait).await;
        }
        Ok(())
    }

    /// The latest rate-limit snapshot any response carried.
    pub(crate) fn latest(&self) -> Option<RateLimit> {
        *lock(&self.latest)
    }

    /// The server's time now: the latest `Date` plus the time passed since on the client's
    /// clock (the client's calendar time before any `Date`).
    pub(crate) fn server_now(&self) -> SystemTime {
        let noted = lock(&self.server_date)
            .as_ref()
            .and_then(|(text, at)| Some((crate::ratelimit::http_date(text)?, *at)));
        match noted {
            Some((date, at)) => date
                .checked_add(self.clock.now().saturating_duration_since(at))
                .unwrap_or(date),
            None => self.clock.system_now(),
        }
    }

    /// Keeps an answer's `Date` as sent (read as a date only when asked for: most calls never
    /// need it), reusing the kept text's allocation.
    fn note_date(&self, headers: &http::HeaderMap, now: Instant) {
        let Some(text) = headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
        else {
            return;
        };
        let mut noted = lock(&self.server_date);
        match noted.as_mut() {
            Some((kept, at)) => {
                kept.clear();
                kept.push_str(text);
                *at = now;
            }
            None => *noted = Some((text.to_owned(), now)),
        }
    }

    fn client_for(&self, operation: Operation) -> Result<&reqwest::Client, Error> {
        if operation.is_idempotent() {
            return Ok(&self.client);
        }
        if let Some(c) = self.once_client.get() {
            return Ok(c);
        }
        let built = (self.once_factory)()?;
        Ok(self.once_client.get_or_init(|| built))
    }

    /// Sends `request` for `operation`, retrying idempotent calls per the policy within the
    /// deadline. The response returned has its body buffered; the call's record (see
    /// [`recorded`]) keeps what the last attempt saw.
    pub(crate) async fn execute(
        &self,
        mut request: reqwest::Request,
        operation: Operation,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::info_span!(
            "opx.request",
            operation = operation.id(),
            method = %request.method(),
            path = %request.url().path(),
            status = Empty,
            latency_ms = Empty,
            attempts = Empty,
            ratelimit_remaining = Empty,
        );
        self.prepare(&mut request, operation);
        async move {
            let started = Instant::now();
            let mut seen = Seen::default();
            let (result, attempts) = self.attempts(request, operation, &mut seen).await;
            let span = tracing::Span::current();
            if !span.is_disabled() {
                span.record("latency_ms", started.elapsed().as_millis() as u64);
                span.record("attempts", attempts);
                if let Some(status) = seen.status {
                    span.record("status", status.as_u16());
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

    /// The headers every request carries: the bearer token, the user agent, and `Accept:
    /// text/plain` for the proxy list as text (the generated code asks for JSON only).
    fn prepare(&self, request: &mut reqwest::Request, operation: Operation) {
        let wants_text = operation == Operation::GetProxies
            && request
                .url()
                .query_pairs()
                .any(|(k, v)| k == "format" && v == crate::types::ProxyFormat::Txt.as_str());
        let headers = request.headers_mut();
        headers.insert(http::header::AUTHORIZATION, self.auth.clone());
        if let Some(ua) = &self.user_agent
            && !headers.contains_key(http::header::USER_AGENT)
        {
            headers.insert(http::header::USER_AGENT, ua.clone());
        }
        if wants_text {
            headers.insert(http::header::ACCEPT, HeaderValue::from_static("text/plain"));
        }
        // A client on a scaled clock (the mock's) asks for durations in its seconds.
        let scale = self.clock.scale();
        if scale != 1.0
            && let Ok(v) = HeaderValue::from_str(&scale.to_string())
        {
            headers.insert(TIME_SCALE_HEADER, v);
        }
    }

    /// The retry loop. Returns the last attempt's result and the number of attempts.
    async fn attempts(
        &self,
        request: reqwest::Request,
        operation: Operation,
        seen: &mut Seen,
    ) -> (reqwest::Result<reqwest::Response>, u32) {
        // The deadline's start, on the client's clock; moved by each wait for a permit (pacing
        // waits are not part of the deadline).
        let mut started = self.clock.now();
        let client = match self.client_for(operation) {
            Ok(c) => c,
            // Unreachable in practice (the builder checked the same settings): sent as is.
            Err(_) => &self.client,
        };
        let max = if operation.is_idempotent() {
            self.retry.attempts()
        } else {
            1
        };
        let mut pending = Some(request);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let Some(mut current) = pending.take() else {
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
            current = req;
            if self.pacing() {
                started += self.pace(operation).await;
            }
            *current.timeout_mut() =
                self.attempt_timeout(current.timeout().copied(), started, operation);
            note(|rec| rec.attempts = attempt);
            let (result, outcome) = self.attempt(client, current, operation, seen).await;
            let backoff = self.backoff(attempt);
            let policy = self.rate_limit_policy();
            match decide(policy, operation, outcome, attempt, &self.retry, backoff) {
                Decision::RetryAfter(delay) if pending.is_some() && self.fits(started, delay) => {
                    tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "retrying");
                    self.clock.sleep(delay).await;
                }
                _ => return (result, attempt),
            }
        }
    }

    /// One attempt's timeout: its own (or the client's), cut to what is left of the deadline.
    /// Without either, a call sent once has the whole deadline, and an attempt of a call that
    /// may be retried half of it (so that a retry still fits).
    pub(crate) fn attempt_timeout(
        &self,
        own: Option<Duration>,
        started: Instant,
        operation: Operation,
    ) -> Option<Duration> {
        let derived = self
            .deadline
            .filter(|_| operation.is_idempotent())
            .map(|d| d / 2);
        let own = own.or(self.timeout).or(derived);
        let elapsed = self.clock.now().saturating_duration_since(started);
        let left = self
            .deadline
            .map(|d| d.saturating_sub(elapsed).max(Duration::from_millis(1)));
        match (own, left) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether waiting `delay` still leaves time for another attempt within the deadline.
    fn fits(&self, started: Instant, delay: Duration) -> bool {
        let elapsed = self.clock.now().saturating_duration_since(started);
        self.deadline.is_none_or(|d| elapsed + delay < d)
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        req: reqwest::Request,
        operation: Operation,
        seen: &mut Seen,
    ) -> (reqwest::Result<reqwest::Response>, Outcome) {
        let flight = self.in_flight.start();
        let sent_to = req.url().clone();
        let mut resp = match client.execute(req).await {
            Ok(r) => r,
            Err(e) => {
                *seen = Seen::default();
                note(|rec| {
                    rec.status = None;
                    rec.body_failed = false;
                });
                tracing::debug!(error = %e, "transport error");
                return (Err(e), Outcome::Transport);
            }
        };
        let status = resp.status();
        let now = self.clock.now();
        // An HTTP-date `Retry-After` or a timestamp reset is read against the answer's own
        // `Date` (the server's clock), else the client's.
        self.note_date(resp.headers(), now);
        let wall =
            || crate::ratelimit::date_of(resp.headers()).unwrap_or_else(|| self.clock.system_now());
        // The server's seconds as this client's clock counts them (a scaled clock).
        let unit = header_unit(&*self.clock, resp.headers());
        let rate = RateLimit::from_headers_at(resp.headers(), now, wall).map(|r| r.in_units(unit));
        let wait = match status {
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                retry_after_at(resp.headers(), wall).map(|w| scale_delay(w, unit))
            }
            _ => None,
        };
        self.observe(operation, rate.as_ref(), wait, status, now);
        drop(flight);
        *seen = Seen {
            status: Some(status),
            rate_limit: rate,
        };
        let content_type = resp.headers().get(http::header::CONTENT_TYPE).cloned();
        let redirected = resp.url() != &sent_to;
        note(|rec| {
            *rec = CallRecord {
                status: Some(status),
                content_type,
                rate_limit: rate,
                retry_after: wait,
                attempts: rec.attempts,
                redirected,
                ..CallRecord::default()
            }
        });
        match read_capped(&mut resp, self.max_body).await {
            Ok(body) => {
                if status.is_success() {
                    self.secrets.learn(&body);
                }
                note(|rec| rec.body = body.clone());
                let outcome = Outcome::response(status, wait, rate.as_ref());
                (Ok(with_body(resp, body)), outcome)
            }
            Err(ReadError::TooLarge) => {
                note(|rec| rec.too_large = true);
                tracing::warn!(
                    cap = self.max_body,
                    "response body exceeds the size cap; discarded"
                );
                (Ok(with_body(resp, bytes::Bytes::new())), Outcome::TooLarge)
            }
            Err(ReadError::Http(e)) => {
                note(|rec| rec.body_failed = true);
                tracing::debug!(error = %e, "response body cut off");
                (Err(e), Outcome::Transport)
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let unit = lock(&self.jitter).next_unit();
        self.retry.backoff(attempt.saturating_sub(1), unit)
    }

    fn observe(
        &self,
        operation: Operation,
        rate: Option<&RateLimit>,
        wait: Option<Duration>,
        status: StatusCode,
        now: Instant,
    ) {
        if let Some(rl) = rate {
            let mut latest = lock(&self.latest);
            // Concurrent calls see their answers in any order; within one window the server's
            // count only goes down, so an answer that reports more left is an older one.
            if !latest.is_some_and(|old| old.is_newer_in_window_than(rl)) {
                *latest = Some(*rl);
            }
            drop(latest);
            if rl.is_exhausted() {
                tracing::warn!(
                    operation = operation.id(),
                    limit = rl.limit(),
                    reset_after_s = rl.reset_after().map(|d| d.as_secs()),
                    "rate limit exhausted (X-RateLimit-Remaining: 0): further calls are refused until the window resets"
                );
            }
        }
        let wait = if status == StatusCode::TOO_MANY_REQUESTS {
            wait
        } else {
            None
        };
        let seen = Observation::new(operation, rate, wait, now);
        lock(&self.gate).observe(&seen);
        lock(&self.pacer).observe(&seen);
    }

    /// Turns the generated code's result into the facade's, using what the hook recorded.
    pub(crate) fn finish<T>(
        &self,
        operation: Operation,
        rec: CallRecord,
        result: Result<ResponseValue<T>, GeneratedError>,
    ) -> Result<Response<T>, Error> {
        if rec.redirected && !operation.is_idempotent() {
            // A caller's client followed a redirect: the money call may have been sent twice
            // (307, 308) or turned into a GET (302, 303); whatever came back proves nothing.
            return Err(classify::redirected(operation, &rec));
        }
        match result {
            Ok(rv) if !rec.too_large => {
                let status = rec.status.unwrap_or(rv.status());
                Ok(Response::new(rv.into_inner(), status, rec.rate_limit).with_body(rec.body))
            }
            Ok(_) => Err(self.classify(operation, &rec, None)),
            Err(e) => Err(self.classify(operation, &rec, Some(e))),
        }
    }

    /// The facade's error for what a call saw.
    pub(crate) fn classify(
        &self,
        operation: Operation,
        rec: &CallRecord,
        err: Option<GeneratedError>,
    ) -> Error {
        classify::classify(operation, rec, err, self.max_body, &self.secrets)
    }
}
