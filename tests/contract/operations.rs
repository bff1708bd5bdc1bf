//! Every operation, every outcome: for each operation of the spec, the success path and each
//! documented error code that can occur for it, through the facade against the mock, each
//! asserting the typed result. Codes the client refuses before sending (the docs' own input
//! rules) are asserted as such: the operation is called with the bad input and refuses it with
//! the same code, `ErrorKind::Validation`, nothing on the wire. Where the input type cannot hold
//! the bad value at all (an invalid `Country`, `Rotation`, `PlanId`, `ServiceId`, whitelist),
//! no call of the operation can carry it: those rows show the constructor's refusal and are not
//! counted as the operation's.

use crate::contract;

use std::sync::Arc;
use std::time::Duration;

use contract::{Allow, Fixture, Op, builder, fixture};
use futures::future::BoxFuture;
use opx::Operation;
use opx::mock::{Bucket, Fault, MockServer};
use opx::types::{
    Country, ErrorCode, GatewayCountry, LogQuery, PlanId, ProxyQuery, PurchaseRequest, Rotation,
    ServiceId, ServiceQuery, ServiceType, Whitelist,
};
use opx::{Client, ErrorKind, RetryPolicy};

/// A well-formed id that names nothing.
const NOWHERE: &str = "ffffffffffffffffffffffff";

#[derive(Clone)]
struct Env {
    s: Arc<MockServer>,
    c: Client,
    fx: Fixture,
}

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// Success (the call checks its typed result itself).
    Ok,
    /// The server's error envelope: status and code.
    Api(u16, ErrorCode),
    /// The operation, called with the bad input, refuses it before sending, with the code the
    /// server would use.
    Local(ErrorCode),
    /// The input type cannot hold the bad value: its constructor refuses it, with the code the
    /// server would use, so the operation cannot be called with it. Not coverage of the
    /// operation (the server's own check is tested against the mock, `tests/mock/validation.rs`).
    Unrepresentable(ErrorCode),
    /// The server's error envelope on a call that is not idempotent, whose outcome a 5xx leaves
    /// unknown (the charge may have happened before the error).
    Unknown(u16, ErrorCode),
}

type Call = fn(Env) -> BoxFuture<'static, opx::Result<String>>;

struct Case {
    op: Operation,
    name: &'static str,
    expect: Expect,
    call: Call,
    /// The call uses a token the server does not know.
    bad_token: bool,
}

/// `cases! { Operation, "name" => expect, |env| body; ... }`: the cases, each calling `body`
/// (an expression that may `.await`, with the environment bound to `env`); a success is shown
/// by its `Debug` text in failure messages.
macro_rules! cases {
    ($($op:ident, $name:literal => $expect:expr, |$e:pat_param| $body:expr;)*) => {
        vec![$(Case {
            op: Operation::$op,
            name: $name,
            expect: $expect,
            call: |$e| Box::pin(async move { $body.map(|v| format!("{v:?}")) }),
            bad_token: false,
        },)*]
    };
}

fn nowhere() -> ServiceId {
    NOWHERE.parse().unwrap()
}

fn v4_purchase(fx: &Fixture) -> PurchaseRequest {
    PurchaseRequest::new(ServiceType::Ipv4Rotating, fx.plan_v4.clone())
}

/// `PurchaseRequest` of a plan id and a type.
fn purchase_of(t: ServiceType, plan: PlanId) -> PurchaseRequest {
    PurchaseRequest::new(t, plan)
}

/// Proxies in an exit region that has no gateway.
fn not_a_gateway() -> ProxyQuery {
    ProxyQuery::new().country(GatewayCountry::parse("us"))
}

/// A well-formed `Country`, `Rotation` or `PlanId`.
fn valid<T: TryFrom<&'static str, Error = opx::Error>>(v: &'static str) -> T {
    T::try_from(v).expect("well-formed")
}

/// The operation-specific cases (success and the generic 401/429/500 are added per operation).
/// Where the input type cannot hold the bad value, the row is `Unrepresentable` and says why.
fn specific_cases() -> Vec<Case> {
    use ErrorCode::{
        CountryUnavailable, InsufficientBalance, InvalidCountry, InvalidId, InvalidIp,
        InvalidPlanId, InvalidRequest, InvalidRotation, InvalidType, NotFound, TooManyIps,
        UnsupportedForType,
    };
    use Expect::{Api, Local, Unrepresentable};
    cases! {
        ListPlans, "unknown type" => Local(InvalidType),
            |e| e.c.plans(Some(ServiceType::parse("ipv4_static"))).await;

        Purchase, "balance too low" => Api(402, InsufficientBalance), |e| {
            e.s.accounts().set_balance(e.fx.price_v4 - 1);
            let r = e.c.purchase(&v4_purchase(&e.fx)).await;
            assert_eq!(e.s.accounts().balance(), e.fx.price_v4 - 1, "a refused purchase charged");
            r
        };
        Purchase, "plan that does not exist" => Api(400, InvalidPlanId),
            |e| e.c.purchase(&purchase_of(ServiceType::Ipv4Rotating, valid(NOWHERE))).await;
        Purchase, "plan of the other type" => Api(400, InvalidPlanId),
            |e| e.c.purchase(&purchase_of(ServiceType::Ipv6Rotating, e.fx.plan_v4.clone())).await;
        Purchase, "IPv4 outside nl" => Api(400, CountryUnavailable),
            |e| e.c.purchase(&v4_purchase(&e.fx).country(valid::<Country>("de"))).await;
        Purchase, "IPv4 rotation other than instant" => Api(400, UnsupportedForType),
            |e| e.c.purchase(&v4_purchase(&e.fx).rotation(valid::<Rotation>("sticky"))).await;
        Purchase, "unknown type" => Local(InvalidType),
            |e| {
                let t = ServiceType::parse("ipv4_static");
                e.c.purchase(&purchase_of(t, e.fx.plan_v4.clone())).await
            };
        // A `PurchaseRequest` holds a `PlanId`, a `Country` and a `Rotation`, none of which can
        // be malformed: `purchase` cannot be called with these values.
        Purchase, "malformed plan id" => Unrepresentable(InvalidPlanId),
            |_| PlanId::new("65a9f0c1");
        Purchase, "malformed country" => Unrepresentable(InvalidCountry), |_| Country::new("n");
        Purchase, "malformed rotation" => Unrepresentable(InvalidRotation),
            |_| Rotation::new("in stant");

        ListServices, "unknown cursor" => Api(400, InvalidRequest),
            |e| e.c.services_page(&ServiceQuery::new().cursor(NOWHERE)).await;
        ListServices, "page size over 100" => Local(InvalidRequest),
            |e| e.c.services_page(&ServiceQuery::new().limit(101)).await;
        ListServices, "unknown type" => Local(InvalidType),
            |e| e.c.services_page(&ServiceQuery::new().service_type(ServiceType::parse("x"))).await;

        GetService, "not mine" => Api(404, NotFound), |e| e.c.service(&nowhere()).await;
        // Every `/services/{id}` operation takes a `ServiceId`, which cannot be malformed.
        GetService, "malformed id" => Unrepresentable(InvalidId), |_| ServiceId::new("../account");

        GetProxies, "not mine (txt)" => Api(404, NotFound),
            |e| e.c.proxies_text(&nowhere(), &ProxyQuery::new()).await;
        GetProxies, "not mine (json)" => Api(404, NotFound),
            |e| e.c.proxies_json(&nowhere(), &ProxyQuery::new()).await;
        GetProxies, "IPv4 has no de gateway" => Api(400, CountryUnavailable),
            |e| e.c.proxies_text(&e.fx.v4, &ProxyQuery::new().country(GatewayCountry::De)).await;
        GetProxies, "not a gateway country (txt)" => Local(InvalidCountry),
            |e| e.c.proxies_text(&e.fx.v6, &not_a_gateway()).await;
        GetProxies, "not a gateway country (json)" => Local(InvalidCountry),
            |e| e.c.proxies_json(&e.fx.v6, &not_a_gateway()).await;

        ExtendService, "balance too low" => Api(402, InsufficientBalance), |e| {
            e.s.accounts().set_balance(0);
            let before = e.c.service(&e.fx.v4).await?.expires_at;
            let r = e.c.extend(&e.fx.v4).await;
            let after = e.c.service(&e.fx.v4).await?.expires_at;
            assert_eq!(after, before, "a refused extend extended");
            assert_eq!(e.s.accounts().balance(), 0);
            r
        };
        ExtendService, "not mine" => Api(404, NotFound), |e| e.c.extend(&nowhere()).await;

        ReplaceWhitelist, "not mine" => Api(404, NotFound),
            |e| e.c.replace_whitelist(&nowhere(), &Whitelist::empty()).await;
        // A `Whitelist` holds at most 50 IPv4 addresses: `replace_whitelist` cannot be called
        // with anything else.
        ReplaceWhitelist, "not an IPv4 address" => Unrepresentable(InvalidIp),
            |_| Whitelist::parse(["203.0.113.10", "2001:db8::1"]);
        ReplaceWhitelist, "51 addresses" => Unrepresentable(TooManyIps),
            |_| Whitelist::new((0..51u8).map(|i| std::net::Ipv4Addr::new(198, 51, 100, i)));

        RegenerateCredentials, "not mine" => Api(404, NotFound),
            |e| e.c.regenerate_credentials(&nowhere()).await;

        ChangeCountry, "IPv4 service" => Api(400, UnsupportedForType),
            |e| e.c.change_country(&e.fx.v4, &valid("de")).await;
        ChangeCountry, "country not offered" => Api(400, CountryUnavailable),
            |e| e.c.change_country(&e.fx.v6, &valid("zz")).await;
        ChangeCountry, "not mine" => Api(404, NotFound),
            |e| e.c.change_country(&nowhere(), &valid("de")).await;
        // `change_country` takes a `Country`, which cannot be malformed.
        ChangeCountry, "malformed country" => Unrepresentable(InvalidCountry),
            |_| Country::new("d-e");

        ChangeRotation, "IPv4 service" => Api(400, UnsupportedForType),
            |e| e.c.change_rotation(&e.fx.v4, &valid("sticky")).await;
        ChangeRotation, "not mine" => Api(404, NotFound),
            |e| e.c.change_rotation(&nowhere(), &valid("sticky")).await;
        // `change_rotation` takes a `Rotation`, which cannot be malformed.
        ChangeRotation, "malformed rotation" => Unrepresentable(InvalidRotation),
            |_| Rotation::new("x".repeat(33));

        ListLogs, "unknown cursor" => Api(400, InvalidRequest),
            |e| e.c.logs_page(&LogQuery::new().cursor(NOWHERE)).await;
        ListLogs, "page size over 200" => Local(InvalidRequest),
            |e| e.c.logs_page(&LogQuery::new().limit(201)).await;
    }
}

/// For each operation: success, 401 (unknown token), 429 (the server's limit) and 500.
fn generic_cases() -> Vec<(Op, &'static str, Expect)> {
    Op::all()
        .into_iter()
        .flat_map(|op| {
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
        })
        .collect()
}

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
        let r = op.call(&e.c, &e.fx).await;
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
                    invalid_auth: c.bad_token,
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
