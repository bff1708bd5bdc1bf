//! The fault matrix: every operation x every way the network or the server can misbehave.
//!
//! For each (operation, fault) the fault is injected twice in a row on a fresh mock:
//! - *transient*: `ATTEMPTS - 1` times, so a client that retries as promised succeeds on its
//!   last attempt, and one that does not retry fails;
//! - *persistent*: `ATTEMPTS` times, so every attempt fails and the typed error is checked.
//!
//! Each case asserts the typed result, how many requests reached the server (read from the
//! global rate-limit counter, which counts even requests the client gave up on), how many
//! times the server executed the operation, that purchase and extend never charged twice
//! (balance and service count), and that every request was valid against the spec.

use crate::contract;

use std::time::Duration;

use crate::slices::Op;
use contract::{ATTEMPTS, Allow, FAULT_DELAY, Fixture, SHORT_TIMEOUT, builder, fixture};
use futures::StreamExt;
use opx::mock::{Fault, MockServer};
use opx::types::ErrorCode;
use opx::{Client, Error, ErrorKind, RetryPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Status500,
    Html502,
    RateLimitedWithRetryAfter,
    RateLimitedWithoutRetryAfter,
    Timeout,
    DropBeforeResponse,
    DropAfterCommit,
    MalformedJson,
    TruncatedBody,
    WrongContentType,
}

const RETRY_AFTER: u64 = 7;

impl F {
    fn fault(self) -> Fault {
        match self {
            F::Status500 => Fault::Status(500),
            F::Html502 => Fault::Html502,
            F::RateLimitedWithRetryAfter => Fault::RateLimited {
                retry_after: Some(RETRY_AFTER),
            },
            F::RateLimitedWithoutRetryAfter => Fault::RateLimited { retry_after: None },
            F::Timeout => Fault::Delay(FAULT_DELAY),
            F::DropBeforeResponse => Fault::DropBeforeResponse,
            F::DropAfterCommit => Fault::DropAfterCommit,
            F::MalformedJson => Fault::MalformedJson,
            F::TruncatedBody => Fault::TruncatedBody,
            F::WrongContentType => Fault::WrongContentType,
        }
    }

    /// Whether the facade retries it on an idempotent call: transport errors and 5xx gateway
    /// statuses, not 429 (surfaced by default) and not a 200 it cannot read.
    fn retried(self) -> bool {
        matches!(
            self,
            F::Status500
                | F::Html502
                | F::Timeout
                | F::DropBeforeResponse
                | F::DropAfterCommit
                | F::TruncatedBody
        )
    }

    /// Whether the server runs the operation despite the fault.
    fn commits(self) -> bool {
        self == F::DropAfterCommit
    }
}

/// The typed error expected for `op` when every attempt met `f`.
fn check_error(op: Op, f: F, e: &Error) -> Result<(), String> {
    let mut bad = Vec::new();
    let mut want = |ok: bool, what: &str| {
        if !ok {
            bad.push(what.to_string());
        }
    };
    let unknown = !op.is_idempotent();
    // On a money call, what may have come after the charge leaves the outcome unknown.
    let or_unknown = |kind| {
        if unknown {
            ErrorKind::OutcomeUnknown
        } else {
            kind
        }
    };
    let lost = or_unknown(ErrorKind::Transport);
    // A 2xx is the server saying it was done: on a money call, done but unread.
    let accepted = |kind| if unknown { ErrorKind::Unread } else { kind };
    let undecodable = accepted(ErrorKind::Decode);
    // A 5xx, whatever the body.
    let server = or_unknown(ErrorKind::Api);
    match f {
        F::Status500 => {
            want(e.kind() == server, &format!("kind {server:?}"));
            want(e.status().map(|s| s.as_u16()) == Some(500), "status 500");
            want(
                e.code() == Some(&ErrorCode::ServerError),
                "code server_error",
            );
        }
        F::Html502 => {
            want(e.kind() == server, &format!("kind {server:?}"));
            want(e.status().map(|s| s.as_u16()) == Some(502), "status 502");
            want(e.code().is_none(), "no code (the body is HTML)");
            want(
                e.message().contains("Bad Gateway"),
                "message names Bad Gateway",
            );
        }
        F::RateLimitedWithRetryAfter | F::RateLimitedWithoutRetryAfter => {
            want(e.kind() == ErrorKind::Api, "kind Api");
            want(e.is_rate_limited(), "is_rate_limited");
            want(e.status().map(|s| s.as_u16()) == Some(429), "status 429");
            want(
                e.code() == Some(&ErrorCode::RateLimited),
                "code rate_limited",
            );
            let ra = (f == F::RateLimitedWithRetryAfter).then(|| Duration::from_secs(RETRY_AFTER));
            want(e.retry_after() == ra, &format!("retry_after {ra:?}"));
        }
        F::Timeout => {
            want(e.kind() == lost, &format!("kind {lost:?}"));
            want(
                e.is_timeout() && e.is_transport(),
                "is_timeout and is_transport",
            );
        }
        F::DropBeforeResponse | F::DropAfterCommit => {
            want(e.kind() == lost, &format!("kind {lost:?}"));
            want(
                e.is_transport() && !e.is_timeout(),
                "is_transport, not a timeout",
            );
            want(e.status().is_none(), "no status");
        }
        F::TruncatedBody => {
            let cut = accepted(ErrorKind::Transport);
            want(e.kind() == cut, &format!("kind {cut:?}"));
            want(e.is_transport(), "is_transport");
            want(
                e.status().map(|s| s.as_u16()) == Some(200),
                "status 200 (the head arrived)",
            );
        }
        F::MalformedJson | F::WrongContentType => {
            want(e.kind() == undecodable, &format!("kind {undecodable:?}"));
            want(e.status().map(|s| s.as_u16()) == Some(200), "status 200");
            want(!e.is_transport(), "not a transport error");
        }
    }
    let mut bad2 = Vec::new();
    if e.operation().is_none() {
        bad2.push("no operation named".to_string());
    }
    let answered_2xx = matches!(f, F::TruncatedBody | F::MalformedJson | F::WrongContentType);
    if e.is_outcome_unknown() != (unknown && !f.is_rate_limit() && !answered_2xx) {
        bad2.push(format!(
            "is_outcome_unknown() is {}",
            e.is_outcome_unknown()
        ));
    }
    // Only a 429 proves a money call was not processed; a 2xx proves it was.
    let charged = match (unknown, f.is_rate_limit(), answered_2xx) {
        (false, _, _) | (true, true, _) => Some(false),
        (true, false, true) => Some(true),
        (true, false, false) => None,
    };
    if e.charged() != charged {
        bad2.push(format!("charged() is {:?}, not {charged:?}", e.charged()));
    }
    bad.extend(bad2);
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("wanted {}; got {e:?}", bad.join(", ")))
    }
}

impl F {
    fn is_rate_limit(self) -> bool {
        matches!(
            self,
            F::RateLimitedWithRetryAfter | F::RateLimitedWithoutRetryAfter
        )
    }
}

/// Requests that reached the server so far, read from the global per-minute counter (which
/// counts requests the client abandoned too): a fresh client's call reports the remaining
/// count; it must not be the faulted operation.
async fn requests_so_far(
    s: &MockServer,
    faulted: Op,
    http: &reqwest::Client,
) -> Result<u32, String> {
    let probe = builder(s)
        .retry_policy(RetryPolicy::none())
        .reqwest_client(http.clone())
        .non_idempotent_reqwest_client(http.clone())
        .build()
        .expect("a probe client");
    let rl = if faulted == Op::GET_ACCOUNT {
        probe.plans(None).await.map(|r| r.rate_limit().copied())
    } else {
        probe.account().await.map(|r| r.rate_limit().copied())
    }
    .map_err(|e| format!("probe failed: {e:?}"))?;
    let rl = rl.ok_or("probe carried no rate-limit headers")?;
    let (limit, remaining) = (rl.limit().unwrap_or(0), rl.remaining().unwrap_or(0));
    // The probe itself is one of them.
    Ok(limit - remaining - 1)
}

/// One (operation, fault, times) case on a fresh mock, set up and ready to call.
struct Case {
    op: Op,
    f: F,
    times: u32,
    s: MockServer,
    fx: Fixture,
    c: Client,
    balance0: i64,
    count0: usize,
}

/// Sets a case up. Building a facade client is CPU work that would stall the runtime, so it
/// happens here, before any case starts its clock-sensitive calls.
async fn setup(op: Op, f: F, times: u32, http: &reqwest::Client) -> Case {
    let s = MockServer::start().await;
    let fx: Fixture = fixture(&s);
    // Idempotent calls go through a shared reqwest client (the retry logic is the facade's);
    // the non-idempotent ones through the client the facade builds for them, as in production.
    let mut b = builder(&s).reqwest_client(http.clone());
    if op.is_idempotent() {
        b = b.non_idempotent_reqwest_client(http.clone());
    }
    if f == F::Timeout {
        b = b.timeout(SHORT_TIMEOUT);
    }
    let c = b.build().expect("a client");
    let (balance0, count0) = (s.accounts().balance(), s.services().count());
    Case {
        op,
        f,
        times,
        s,
        fx,
        c,
        balance0,
        count0,
    }
}

/// Runs a case: injects the fault, calls, checks everything.
async fn run(case: Case, http: reqwest::Client) -> Result<(), String> {
    let Case {
        op,
        f,
        times,
        s,
        fx,
        c,
        balance0,
        count0,
    } = case;
    s.faults().inject(op.operation, f.fault(), times);

    let result = op.call(&c, &fx).await;

    let retried = op.is_idempotent() && f.retried();
    let attempts = if retried {
        (times + 1).min(ATTEMPTS)
    } else {
        1
    };
    let succeeds = retried && times < ATTEMPTS;
    let mut problems = Vec::new();
    match (&result, succeeds) {
        (Ok(_), true) => {}
        (Ok(v), false) => problems.push(format!("succeeded ({v}) but should have failed")),
        (Err(e), true) => problems.push(format!("failed but a retry should succeed: {e:?}")),
        (Err(e), false) => {
            if let Err(m) = check_error(op, f, e) {
                problems.push(m);
            }
        }
    }

    let sent = requests_so_far(&s, op, &http).await?;
    if sent != attempts {
        problems.push(format!(
            "{sent} requests reached the server, wanted {attempts}"
        ));
    }
    let executed = s.records().executions(op.operation);
    let want_executed = u64::from(if f.commits() {
        attempts
    } else {
        u32::from(succeeds)
    });
    if executed != want_executed {
        problems.push(format!(
            "the server executed {} {executed} times, wanted {want_executed}",
            op.id()
        ));
    }
    let charged = balance0 - s.accounts().balance();
    let (want_charge, want_count) = match op {
        Op::PURCHASE => (fx.price_v4 * executed as i64, count0 + executed as usize),
        Op::EXTEND_SERVICE => (fx.extend_price_v4 * executed as i64, count0),
        _ => (0, count0),
    };
    if !op.is_idempotent() && executed > 1 {
        problems.push(format!("executed {executed} times: a second charge"));
    }
    if charged != want_charge || s.services().count() != want_count {
        problems.push(format!(
            "charged {charged} RUB with {} services, wanted {want_charge} RUB with {want_count}",
            s.services().count()
        ));
    }
    problems.extend(contract::wire_problems(&s, Allow::default()));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} x {f:?} x{times}:\n    {}",
            op.name(),
            problems.join("\n    ")
        ))
    }
}

/// Runs the fault against every operation (concurrently, one mock each), transient and
/// persistent, and fails with every mismatch named op x fault.
async fn matrix(f: F) {
    let http = contract::shared_http();
    let mut cases = Vec::new();
    for op in Op::all() {
        for times in [ATTEMPTS - 1, ATTEMPTS] {
            cases.push(setup(op, f, times, &http).await);
        }
    }
    let n = cases.len();
    let cases = cases.into_iter().map(|c| run(c, http.clone()));
    // Timeout cases wait on the clock, the others on the CPU: keep fewer of those in flight.
    let width = if f == F::Timeout { 26 } else { 6 };
    let failures: Vec<String> = futures::stream::iter(cases)
        .buffer_unordered(width)
        .filter_map(|r| async move { r.err() })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        n,
        failures.join("\n")
    );
}

/// One test per fault, each over every operation.
macro_rules! fault_tests {
    ($($name:ident: $fault:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            matrix($fault).await;
        }
    )*};
}

fault_tests! {
    fault_500_server_error: F::Status500,
    fault_html_502: F::Html502,
    fault_429_with_retry_after: F::RateLimitedWithRetryAfter,
    fault_429_without_retry_after: F::RateLimitedWithoutRetryAfter,
    fault_timeout: F::Timeout,
    fault_connection_dropped_before_response: F::DropBeforeResponse,
    fault_connection_dropped_after_commit: F::DropAfterCommit,
    fault_malformed_json: F::MalformedJson,
    fault_truncated_body: F::TruncatedBody,
    fault_wrong_content_type: F::WrongContentType,
}
