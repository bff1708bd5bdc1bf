//! Every operation, every outcome: for each operation of the spec, the success path and each
//! documented error code that can occur for it, through the facade against the mock, each
//! asserting the typed result. Codes the client refuses before sending (the docs' own input
//! rules) are asserted as such: the operation is called with the bad input and refuses it with
//! the same code, `ErrorKind::Validation`, nothing on the wire. Where the input type cannot hold
//! the bad value at all (an invalid `Country`, `Rotation`, `PlanId`, `ServiceId`, whitelist),
//! no call of the operation can carry it: those rows show the constructor's refusal and are not
//! counted as the operation's.

use crate::contract;
use crate::slices::{Env, Expect, NOWHERE, Op, specific_cases};

use std::sync::Arc;
use std::time::Duration;

use contract::{Allow, Fixture, builder, fixture};
use opx::Operation;
use opx::mock::{Bucket, Fault, MockServer};
use opx::types::ErrorCode;
use opx::{ErrorKind, RetryPolicy};

/// For each operation: success, 401 (unknown token), 429 (the server's limit), 500, and for
/// each `/services/{id}...` operation 404 on a service that is not the account's.
fn generic_cases() -> Vec<(Op, &'static str, Expect)> {
    Op::all()
        .into_iter()
        .flat_map(|op| {
            let not_mine = op.operation.path().contains("{id}").then_some((
                op,
                NOT_MINE,
                Expect::Api(404, ErrorCode::NotFound),
            ));
            [
                (op, "success", Expect::Ok),
                (
                    op,
                    "unknown token",
                    Expect::Api(401, ErrorCode::InvalidToken),
                ),
                (
                    op,
                    "over the rate limit",
                    Expect::Api(429, ErrorCode::RateLimited),
                ),
                (
                    op,
                    "server error",
                    if op.is_idempotent() {
                        Expect::Api(500, ErrorCode::ServerError)
                    } else {
                        Expect::Unknown(500, ErrorCode::ServerError)
                    },
                ),
            ]
            .into_iter()
            .chain(not_mine)
        })
        .collect()
}

/// The generic case that calls an operation on a service id the account does not have.
const NOT_MINE: &str = "not mine";

fn check(
    what: &str,
    expect: &Expect,
    r: &opx::Result<String>,
    s: &MockServer,
) -> Result<(), String> {
    let fail = |m: String| Err(format!("{what}: {m}"));
    match (expect, r) {
        (Expect::Ok, Ok(_)) => Ok(()),
        (_, Ok(v)) => fail(format!("succeeded ({v}), wanted {expect:?}")),
        (Expect::Ok, Err(e)) => fail(format!("failed: {e:?}")),
        (Expect::Api(status, code), Err(e)) => {
            let ok = e.kind() == ErrorKind::Api
                && e.status().map(|s| s.as_u16()) == Some(*status)
                && e.code() == Some(code)
                && !e.message().is_empty()
                && e.is_rate_limited() == (*status == 429)
                && e.is_not_found() == (*status == 404)
                && e.is_insufficient_balance() == (*status == 402)
                && (*status != 429 || e.retry_after() == Some(Duration::from_secs(60)))
                && !e.is_outcome_unknown()
                && !e.is_transport();
            if ok {
                Ok(())
            } else {
                fail(format!("wanted API error {status} {code}, got {e:?}"))
            }
        }
        (Expect::Unknown(status, code), Err(e)) => {
            let ok = e.is_outcome_unknown()
                && e.status().map(|s| s.as_u16()) == Some(*status)
                && e.code() == Some(code)
                && e.message().contains("check GET /services")
                && !e.is_retryable();
            if ok {
                Ok(())
            } else {
                fail(format!(
                    "wanted outcome unknown after {status} {code}, got {e:?}"
                ))
            }
        }
        (Expect::Local(code) | Expect::Unrepresentable(code), Err(e)) => {
            let ok = e.kind() == ErrorKind::Validation
                && e.is_validation()
                && e.code() == Some(code)
                && e.status().is_none()
                && s.records().requests().is_empty();
            if ok {
                Ok(())
            } else {
                fail(format!(
                    "wanted a local {code} refusal with nothing sent, got {e:?} after {} requests",
                    s.records().requests().len()
                ))
            }
        }
    }
}

async fn env(http: &reqwest::Client, token: Option<&str>) -> Env {
    let s = MockServer::start().await;
    let fx = fixture(&s);
    let mut b = builder(&s)
        .retry_policy(RetryPolicy::none())
        .reqwest_client(http.clone())
        .non_idempotent_reqwest_client(http.clone());
    if let Some(t) = token {
        b = b.token(t);
    }
    Env {
        c: b.build().unwrap(),
        s: Arc::new(s),
        fx,
    }
}

#[tokio::test]
async fn every_operation_success_401_429_500() {
    let http = contract::shared_http();
    let mut failures = Vec::new();
    for (op, name, expect) in generic_cases() {
        let bad_token = name == "unknown token";
        let e = env(
            &http,
            bad_token.then_some("opx_live_00000000000000000000000000000000"),
        )
        .await;
        let s = e.s.clone();
        match &expect {
            Expect::Api(429, _) => s.accounts().set_limit(Bucket::GlobalMinute, 0),
            Expect::Api(500, _) | Expect::Unknown(500, _) => {
                s.faults().inject(op.operation, Fault::Status(500), 1)
            }
            _ => {}
        }
        let (balance, count) = (s.accounts().balance(), s.services().count());
        let fx = if name == NOT_MINE {
            let nowhere: opx::types::ServiceId = NOWHERE.parse().unwrap();
            Fixture {
                v4: nowhere.clone(),
                v6: nowhere,
                ..e.fx.clone()
            }
        } else {
            e.fx.clone()
        };
        let r = op.call(&e.c, &fx).await;
        let what = format!("{} / {name}", op.name());
        if let Err(m) = check(&what, &expect, &r, &s) {
            failures.push(m);
        }
        let sent = s.records().requests().len();
        if sent != 1 {
            failures.push(format!("{what}: {sent} requests, wanted 1"));
        }
        let charged = (expect == Expect::Ok) as i64
            * match op {
                Op::PURCHASE => e.fx.price_v4,
                Op::EXTEND_SERVICE => e.fx.extend_price_v4,
                _ => 0,
            };
        if s.accounts().balance() != balance - charged
            || s.services().count()
                != count + usize::from(expect == Expect::Ok && op == Op::PURCHASE)
        {
            failures.push(format!(
                "{what}: balance {} -> {}, services {count} -> {}",
                balance,
                s.accounts().balance(),
                s.services().count()
            ));
        }
        let allow = Allow {
            invalid_auth: bad_token,
        };
        failures.extend(
            contract::wire_problems(&s, allow)
                .into_iter()
                .map(|p| format!("{what}: {p}")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn every_operation_specific_error_codes() {
    let http = contract::shared_http();
    let cases = specific_cases();
    // Every case names a spec operation: its type is the generated table.
    let mut failures = Vec::new();
    for c in cases {
        let e = env(&http, None).await;
        let s = e.s.clone();
        let r = (c.call)(e).await;
        let what = format!("{} / {}", c.op, c.name);
        if let Err(m) = check(&what, &c.expect, &r, &s) {
            failures.push(m);
        }
        // A local refusal names its operation: it came from the call, not from a constructor.
        if let (Expect::Local(_), Err(e)) = (&c.expect, &r)
            && e.operation() != Some(c.op)
        {
            failures.push(format!("{what}: the refusal names {:?}", e.operation()));
        }
        if let Expect::Api(..) = c.expect {
            let ours = s
                .records()
                .requests()
                .iter()
                .filter(|r| r.operation == Some(c.op))
                .count();
            if ours != 1 {
                failures.push(format!("{what}: {ours} requests of {}, wanted 1", c.op));
            }
        }
        failures.extend(
            contract::wire_problems(
                &s,
                Allow {
                    invalid_auth: false,
                },
            )
            .into_iter()
            .map(|p| format!("{what}: {p}")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The documented codes each operation can produce, per the spec's declared statuses and the
/// docs' code table, are all exercised by the two tests above, by calling the operation (except
/// those no well-behaved client can provoke: `method_not_allowed`, which no operation declares,
/// and the codes of values the input types cannot hold, which only their constructors refuse).
#[test]
fn the_tables_cover_every_operation_and_every_reachable_code() {
    let mut covered: Vec<(Operation, String)> = Vec::new();
    let mut unrepresentable: Vec<(Operation, String)> = Vec::new();
    for (op, _, e) in generic_cases() {
        if let Expect::Api(_, code) | Expect::Unknown(_, code) = e {
            covered.push((op.operation, code.to_string()));
        }
    }
    for c in specific_cases() {
        match &c.expect {
            Expect::Api(_, code) | Expect::Local(code) => covered.push((c.op, code.to_string())),
            Expect::Unrepresentable(code) => unrepresentable.push((c.op, code.to_string())),
            Expect::Ok | Expect::Unknown(..) => {}
        }
    }
    let mut want = vec![
        (Operation::Purchase, "insufficient_balance"),
        (Operation::Purchase, "invalid_plan_id"),
        (Operation::Purchase, "invalid_type"),
        (Operation::Purchase, "country_unavailable"),
        (Operation::Purchase, "unsupported_for_type"),
        (Operation::ExtendService, "insufficient_balance"),
        (Operation::ChangeCountry, "unsupported_for_type"),
        (Operation::ChangeCountry, "country_unavailable"),
        (Operation::ChangeRotation, "unsupported_for_type"),
        (Operation::GetProxies, "country_unavailable"),
        (Operation::GetProxies, "invalid_country"),
        (Operation::ListServices, "invalid_request"),
        (Operation::ListServices, "invalid_type"),
        (Operation::ListLogs, "invalid_request"),
        (Operation::ListPlans, "invalid_type"),
    ];
    for op in Operation::ALL {
        want.extend(["invalid_token", "rate_limited", "server_error"].map(|code| (op, code)));
        // Every `/services/{id}...` operation can answer 404 not_found.
        if op.path().contains("{id}") {
            want.push((op, "not_found"));
        }
    }
    let missing = |of: &[(Operation, &str)], table: &[(Operation, String)]| {
        of.iter()
            .filter(|(op, code)| !table.contains(&(*op, code.to_string())))
            .map(|(op, code)| format!("{op} x {code}"))
            .collect::<Vec<_>>()
    };
    let uncalled = missing(&want, &covered);
    assert!(
        uncalled.is_empty(),
        "no call of the operation: {uncalled:?}"
    );
    // Codes no call of the operation can carry, as its input types refuse the values at
    // construction: a row shows each refusal, and none of them counts as the operation's.
    let by_constructor = [
        (Operation::Purchase, "invalid_plan_id"),
        (Operation::Purchase, "invalid_country"),
        (Operation::Purchase, "invalid_rotation"),
        (Operation::GetService, "invalid_id"),
        (Operation::ReplaceWhitelist, "invalid_ip"),
        (Operation::ReplaceWhitelist, "too_many_ips"),
        (Operation::ChangeCountry, "invalid_country"),
        (Operation::ChangeRotation, "invalid_rotation"),
    ];
    let unshown = missing(&by_constructor, &unrepresentable);
    assert!(
        unshown.is_empty(),
        "no row shows the constructor's refusal: {unshown:?}"
    );
}
