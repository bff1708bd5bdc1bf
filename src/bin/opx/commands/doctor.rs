//! `opx doctor`: first a health check of this machine's way to the API (configuration and token
//! source, the proxy in effect, name and TCP connection, TLS and the token, clock skew against
//! the server, rate-limit headroom), then where the server differs from our reading of the
//! docs. Read-only: every GET operation once, each answer checked against the vendored spec.
//! Exit 0 when all is well, the failing check's code when one fails (3: the token is refused,
//! 1: the API cannot be reached), 1 when an answer deviates from the spec.

use std::time::Duration;

use opx::Client;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Table};

/// How long a name lookup or a TCP connection may take.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);
/// A clock further off than this is flagged (rate-limit resets and expiry are read against it).
const SKEW_WARNING: Duration = Duration::from_secs(30);

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// One line of the health check.
#[derive(Debug, serde::Serialize)]
struct Check {
    check: &'static str,
    verdict: Verdict,
    detail: String,
}

impl Check {
    fn new(check: &'static str, verdict: Verdict, detail: impl Into<String>) -> Self {
        Check {
            check,
            verdict,
            detail: detail.into(),
        }
    }
}

/// `opx doctor`.
pub async fn run(ctx: &Ctx) -> Result<(), Failure> {
    let (checks, failure) = health(ctx).await?;
    if let Some(failure) = failure {
        print(ctx, &checks, None)?;
        return Err(failure);
    }
    let report = ctx.client()?.doctor().await?;
    print(ctx, &checks, Some(&report))?;
    if report.is_clean() {
        return Ok(());
    }
    Err(Failure::Exit(
        1,
        format!("{} deviation(s) from the spec", report.deviations.len()),
    ))
}

/// The health checks, in order, and the failure that stopped them (the later checks need what
/// failed).
async fn health(ctx: &Ctx) -> Result<(Vec<Check>, Option<Failure>), Failure> {
    let settings = ctx.settings()?;
    let (base_url, base_url_from) = settings.base_url();
    let base_url_from = base_url_from.to_owned();
    settings.check_base_url()?;
    let (token, token_from) = settings.into_token()?;
    let mut checks = vec![Check::new(
        "configuration",
        Verdict::Ok,
        format!(
            "{base_url} (from {base_url_from}); token {} (from {token_from})",
            token.fingerprint()
        ),
    )];
    let proxy = ctx.proxy_for(&base_url).describe();
    checks.push(Check::new(
        "proxy",
        Verdict::Ok,
        proxy.clone().unwrap_or_else(|| "none: direct".into()),
    ));
    if proxy.is_none() {
        let reach = reach(&base_url).await;
        let failed = reach.verdict == Verdict::Fail;
        checks.push(reach);
        if failed {
            return Ok((
                checks,
                Some(Failure::Exit(1, "the API cannot be reached".into())),
            ));
        }
    }
    let client = ctx.client()?;
    match client.account().await {
        Ok(a) => checks.push(Check::new(
            "TLS and token",
            Verdict::Ok,
            format!("valid: account {}", a.username),
        )),
        Err(e) => {
            let failure = Failure::from(e);
            checks.push(Check::new(
                "TLS and token",
                Verdict::Fail,
                failure.to_string(),
            ));
            return Ok((checks, Some(failure)));
        }
    }
    checks.push(clock(client));
    checks.push(headroom(client));
    Ok((checks, None))
}

/// The name lookup and a TCP connection to the base URL's host.
async fn reach(base_url: &str) -> Check {
    let Some((host, port)) = url::Url::parse(base_url).ok().and_then(|u| {
        let port = u.port_or_known_default()?;
        Some((u.host_str()?.to_owned(), port))
    }) else {
        return Check::new("reach", Verdict::Fail, "the base URL has no host");
    };
    let lookup = tokio::time::timeout(
        REACH_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    );
    let addr = match lookup.await {
        Ok(Ok(mut addrs)) => addrs.next(),
        Ok(Err(e)) => return Check::new("reach", Verdict::Fail, format!("{host}: {e}")),
        Err(_) => return Check::new("reach", Verdict::Fail, format!("{host}: no answer in 5 s")),
    };
    let Some(addr) = addr else {
        return Check::new("reach", Verdict::Fail, format!("{host}: no address"));
    };
    let started = std::time::Instant::now();
    match tokio::time::timeout(REACH_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Check::new(
            "reach",
            Verdict::Ok,
            format!(
                "{host} is {}; TCP connected in {} ms",
                addr.ip(),
                started.elapsed().as_millis()
            ),
        ),
        Ok(Err(e)) => Check::new("reach", Verdict::Fail, format!("{host} ({addr}): {e}")),
        Err(_) => Check::new(
            "reach",
            Verdict::Fail,
            format!("{host} ({addr}): no connection in 5 s"),
        ),
    }
}

/// This machine's clock against the server's (its last answer's `Date`).
fn clock(client: &Client) -> Check {
    let skew = client.server_now() - chrono::Utc::now();
    let off = skew.abs().to_std().unwrap_or_default();
    let side = if skew > chrono::TimeDelta::zero() {
        "behind"
    } else {
        "ahead of"
    };
    if off < SKEW_WARNING {
        return Check::new("clock", Verdict::Ok, "within 30 s of the server's");
    }
    Check::new(
        "clock",
        Verdict::Warn,
        format!(
            "{} {side} the server's (opx goes by the server's time for expiry and renewal)",
            opx::clock::human(Duration::from_secs(off.as_secs()))
        ),
    )
}

/// What is left of the rate-limit window the last answer reported.
fn headroom(client: &Client) -> Check {
    let Some(rl) = client.rate_limit() else {
        return Check::new(
            "rate limit",
            Verdict::Warn,
            "the answer carried no X-RateLimit-* headers",
        );
    };
    let (left, limit) = (rl.remaining(), rl.limit());
    let detail = match (left, limit) {
        (Some(left), Some(limit)) => format!("{left} of {limit} requests left in this window"),
        (Some(left), None) => format!("{left} requests left in this window"),
        _ => "the window's count is not reported".into(),
    };
    let verdict = if rl.is_exhausted() {
        Verdict::Warn
    } else {
        Verdict::Ok
    };
    Check::new("rate limit", verdict, detail)
}

/// The checks, then the drift report when it ran: a table and a summary on stderr, or one
/// JSON document (the report's fields with `health` beside them).
fn print(
    ctx: &Ctx,
    checks: &[Check],
    report: Option<&opx::doctor::DoctorReport>,
) -> Result<(), Failure> {
    if ctx.json {
        let mut doc = match report {
            Some(r) => serde_json::to_value(r).map_err(|e| Failure::Other(e.to_string()))?,
            None => serde_json::json!({}),
        };
        doc["health"] = serde_json::to_value(checks).map_err(|e| Failure::Other(e.to_string()))?;
        return output::print_json(&doc);
    }
    let mut t = Table::new(&["CHECK", "RESULT", "DETAIL"]);
    for c in checks {
        let verdict = match c.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "warning",
            Verdict::Fail => "FAILED",
        };
        t.row(vec![
            c.check.to_owned(),
            verdict.to_owned(),
            c.detail.clone(),
        ]);
    }
    output::print(&t.render())?;
    let Some(report) = report else {
        return Ok(());
    };
    let mut t = Table::new(&["OPERATION", "POINTER", "EXPECTED", "FOUND"]);
    for d in &report.deviations {
        t.row(vec![
            d.operation.to_string(),
            d.pointer.clone(),
            d.expected.clone(),
            d.found.clone(),
        ]);
    }
    if !report.deviations.is_empty() {
        output::print(&t.render())?;
    }
    eprintln!(
        "{} answers checked against spec/openapi.json: {} deviation(s)",
        report.checked,
        report.deviations.len()
    );
    Ok(())
}
