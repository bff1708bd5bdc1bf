//! Every operation, every outcome: for each of the twelve operations, the success path and each
//! documented error code that can occur for it, through the facade against the mock, each
//! asserting the typed result. Codes the client refuses before sending (the docs' own input
//! rules) are asserted as such: same code, `ErrorKind::Validation`, nothing on the wire.

use crate::contract;

use std::sync::Arc;
use std::time::Duration;

use contract::{Allow, Fixture, Op, builder, fixture};
use futures::future::BoxFuture;
use opx::Operation;
use opx::mock::{Bucket, Fault, MockServer};
use opx::{
    Client, Country, ErrorCode, ErrorKind, GatewayCountry, LogQuery, PlanId, ProxyQuery,
    PurchaseRequest, RetryPolicy, Rotation, ServiceId, ServiceQuery, ServiceType, Whitelist,
};

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
    /// Refused before sending, with the code the server would use.
    Local(ErrorCode),
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

fn case(op: Operation, name: &'static str, expect: Expect, call: Call) -> Case {
    Case {
        op,
        name,
        expect,
        call,
        bad_token: false,
    }
}

fn nowhere() -> ServiceId {
    NOWHERE.parse().unwrap()
}

fn v4_purchase(fx: &Fixture) -> PurchaseRequest {
    PurchaseRequest::new(ServiceType::Ipv4Rotating, fx.plan_v4.clone())
}

/// The operation-specific cases (success and the generic 401/429/500 are added per operation).
fn specific_cases() -> Vec<Case> {
    use Expect::{Api, Local};
    vec![
        // listPlans
        case(
            Operation::ListPlans,
            "unknown type",
            Local(ErrorCode::InvalidType),
            |e| {
                Box::pin(async move {
                    e.c.plans(Some(ServiceType::parse("ipv4_static")))
                        .await
                        .map(|p| format!("{} plans", p.plans.len()))
                })
            },
        ),
        // purchase
        case(
            Operation::Purchase,
            "balance too low",
            Api(402, ErrorCode::InsufficientBalance),
            |e| {
                Box::pin(async move {
                    e.s.set_balance(e.fx.price_v4 - 1);
                    let r =
                        e.c.purchase(&v4_purchase(&e.fx))
                            .await
                            .map(|s| s.service_id.to_string());
                    assert_eq!(
                        e.s.balance(),
                        e.fx.price_v4 - 1,
                        "a refused purchase charged"
                    );
                    r
                })
            },
        ),
        case(
            Operation::Purchase,
            "plan that does not exist",
            Api(400, ErrorCode::InvalidPlanId),
            |e| {
                Box::pin(async move {
                    let req = PurchaseRequest::new(
                        ServiceType::Ipv4Rotating,
                        NOWHERE.parse::<PlanId>().unwrap(),
                    );
                    e.c.purchase(&req).await.map(|s| s.service_id.to_string())
                })
            },
        ),
        case(
            Operation::Purchase,
            "plan of the other type",
            Api(400, ErrorCode::InvalidPlanId),
            |e| {
                Box::pin(async move {
                    let req = PurchaseRequest::new(ServiceType::Ipv6Rotating, e.fx.plan_v4.clone());
                    e.c.purchase(&req).await.map(|s| s.service_id.to_string())
                })
            },
        ),
        case(
            Operation::Purchase,
            "IPv4 outside nl",
            Api(400, ErrorCode::CountryUnavailable),
            |e| {
                Box::pin(async move {
                    let req = v4_purchase(&e.fx).country(Country::new("de").unwrap());
                    e.c.purchase(&req).await.map(|s| s.service_id.to_string())
                })
            },
        ),
        case(
            Operation::Purchase,
            "IPv4 rotation other than instant",
            Api(400, ErrorCode::UnsupportedForType),
            |e| {
                Box::pin(async move {
                    let req = v4_purchase(&e.fx).rotation(Rotation::new("sticky").unwrap());
                    e.c.purchase(&req).await.map(|s| s.service_id.to_string())
                })
            },
        ),
        case(
            Operation::Purchase,
            "unknown type",
            Local(ErrorCode::InvalidType),
            |e| {
                Box::pin(async move {
                    let req = PurchaseRequest::new(
                        ServiceType::parse("ipv4_static"),
                        e.fx.plan_v4.clone(),
                    );
                    e.c.purchase(&req).await.map(|s| s.service_id.to_string())
                })
            },
        ),
        case(
            Operation::Purchase,
            "malformed plan id",
            Local(ErrorCode::InvalidPlanId),
            |_| Box::pin(async move { PlanId::new("65a9f0c1").map(|p| p.to_string()) }),
        ),
        case(
            Operation::Purchase,
            "malformed country",
            Local(ErrorCode::InvalidCountry),
            |_| Box::pin(async move { Country::new("n").map(|c| c.to_string()) }),
        ),
        case(
            Operation::Purchase,
            "malformed rotation",
            Local(ErrorCode::InvalidRotation),
            |_| Box::pin(async move { Rotation::new("in stant").map(|r| r.to_string()) }),
        ),
        // listServices
        case(
            Operation::ListServices,
            "unknown cursor",
            Api(400, ErrorCode::InvalidRequest),
            |e| {
                Box::pin(async move {
                    e.c.services_page(&ServiceQuery::new().cursor(NOWHERE))
                        .await
                        .map(|p| format!("{} services", p.services.len()))
                })
            },
        ),
        case(
            Operation::ListServices,
            "page size over 100",
            Local(ErrorCode::InvalidRequest),
            |e| {
                Box::pin(async move {
                    e.c.services_page(&ServiceQuery::new().limit(101))
                        .await
                        .map(|p| format!("{} services", p.services.len()))
                })
            },
        ),
        case(
            Operation::ListServices,
            "unknown type",
            Local(ErrorCode::InvalidType),
            |e| {
                Box::pin(async move {
                    e.c.services_page(&ServiceQuery::new().service_type(ServiceType::parse("x")))
                        .await
                        .map(|p| format!("{} services", p.services.len()))
                })
            },
        ),
        // getService
        case(
            Operation::GetService,
            "not mine",
            Api(404, ErrorCode::NotFound),
            |e| {
                Box::pin(async move {
                    e.c.service(&nowhere())
                        .await
                        .map(|s| s.service_id.to_string())
                })
            },
        ),
        case(
            Operation::GetService,
            "malformed id",
            Local(ErrorCode::InvalidId),
            |_| Box::pin(async move { ServiceId::new("../account").map(|s| s.to_string()) }),
        ),
        // getProxies
        case(
            Operation::GetProxies,
            "not mine (txt)",
            Api(404, ErrorCode::NotFound),
            |e| {
                Box::pin(async move {
                    e.c.proxies_text(&nowhere(), &ProxyQuery::new())
                        .await
                        .map(|t| t.into_inner())
                })
            },
        ),
        case(
            Operation::GetProxies,
            "not mine (json)",
            Api(404, ErrorCode::NotFound),
            |e| {
                Box::pin(async move {
                    e.c.proxies_json(&nowhere(), &ProxyQuery::new())
                        .await
                        .map(|l| format!("{} servers", l.servers.len()))
                })
            },
        ),
        case(
            Operation::GetProxies,
            "IPv4 has no de gateway",
            Api(400, ErrorCode::CountryUnavailable),
            |e| {
                Box::pin(async move {
                    e.c.proxies_text(&e.fx.v4, &ProxyQuery::new().country(GatewayCountry::De))
                        .await
                        .map(|t| t.into_inner())
                })
            },
        ),
        case(
            Operation::GetProxies,
            "not a gateway country",
            Local(ErrorCode::InvalidCountry),
            |e| {
                Box::pin(async move {
                    e.c.proxies_text(
                        &e.fx.v6,
                        &ProxyQuery::new().country(GatewayCountry::parse("us")),
                    )
                    .await
                    .map(|t| t.into_inner())
                })
            },
        ),
        // extendService
        case(
            Operation::ExtendService,
            "balance too low",
            Api(402, ErrorCode::InsufficientBalance),
            |e| {
                Box::pin(async move {
                    e.s.set_balance(0);
                    let before = e.c.service(&e.fx.v4).await?.expires_at;
                    let r = e.c.extend(&e.fx.v4).await.map(|s| s.expires_at.to_string());
                    assert_eq!(
                        e.c.service(&e.fx.v4).await?.expires_at,
                        before,
                        "a refused extend extended"
                    );
                    assert_eq!(e.s.balance(), 0);
                    r
                })
            },
        ),
        case(
            Operation::ExtendService,
            "not mine",
            Api(404, ErrorCode::NotFound),
            |e| {
                Box::pin(async move {
                    e.c.extend(&nowhere())
                        .await
                        .map(|s| s.service_id.to_string())
                })
            },
        ),
        // replaceWhitelist
        case(
            Operation::ReplaceWhitelist,
            "not mine",
            Api(404, ErrorCode::NotFound),
            |e| {
                Box::pin(async move {
                    e.c.replace_whitelist(&nowhere(), &Whitelist::empty())
                        .await
                        .map(|s| s.service_id.to_string())
                })
            },
        ),
        case(
            Operation::ReplaceWhitelist,
            "not an IPv4 address",
            Local(ErrorCode::InvalidIp),
            |_| {
                Box::pin(async move {
                    Whitelist::parse(["203.0.113.10", "2001:db8::1"]).map(|w| format!("{w:?}"))
                })
            },
        ),
        case(
            Operation::ReplaceWhitelist,
            "51 addresses",
            Local(ErrorCode::TooManyIps),
            |_| {
                Box::pin(async move {
                    Whitelist::new((0..51u8).map(|i| std::net::Ipv4Addr::new(198, 51, 100, i)))
                        .map(|w| format!("{w:?}"))
                })
            },
        ),
        // regenerateCredentials
        case(
            Operation::RegenerateCredentials,
            "not mine",
            Api(404, ErrorCode::NotFound),
            |e| {
                Box::pin(async move {
                    e.c.regenerate_credentials(&nowhere())
                        .await
                        .map(|s| s.service_id.to_string())
                })
            },
        ),
        // changeCountry
        case(
            Operation::ChangeCountry,
            "IPv4 service",
            Api(400, ErrorCode::UnsupportedForType),
            |e| {
                Box::pin(async move {
                    e.c.change_country(&e.fx.v4, &Country::new("de").unwrap())
                        .await
                        .map(|s| s.country.clone())
                })
            },
        ),
        case(
            Operation::ChangeCountry,
            "country not offered",
            Api(400, ErrorCode::CountryUnavailable),
            |e| {
                Box::pin(async move {
                    e.c.change_country(&e.fx.v6, &Country::new("zz").unwrap())
                        .await
                        .map(|s| s.country.clone())
                })
            },
        ),
        case(
            Operation::ChangeCountry,
            "not mine",
            Api(404, ErrorCode::NotFound),
            |e| {
                Box::pin(async move {
                    e.c.change_country(&nowhere(), &Country::new("de").unwrap())
                        .await
                        .map(|s| s.country.clone())
                })
            },
        ),
        case(
            Operation::ChangeCountry,
            "malformed country",
            Local(ErrorCode::InvalidCountry),
            |_| Box::pin(async move { Country::new("d-e").map(|c| c.to_string()) }),
        ),
        // changeRotation
        case(
            Operation::ChangeRotation,
            "IPv4 service",
            Api(400, ErrorCode::UnsupportedForType),
            |e| {
                Box::pin(async move {
                    e.c.change_rotation(&e.fx.v4, &Rotation::new("sticky").unwrap())
                        .await
                        .map(|s| s.rotation.clone())
                })
            },
        ),
        case(
            Operation::ChangeRotation,
            "not mine",
            Api(404, ErrorCode::NotFound),
            |e| {
                Box::pin(async move {
                    e.c.change_rotation(&nowhere(), &Rotation::new("sticky").unwrap())
                        .await
                        .map(|s| s.rotation.clone())
                })
            },
        ),
        case(
            Operation::ChangeRotation,
            "malformed rotation",
            Local(ErrorCode::InvalidRotation),
            |_| Box::pin(async move { Rotation::new("x".repeat(33)).map(|r| r.to_string()) }),
        ),
        // listLogs
        case(
            Operation::ListLogs,
            "unknown cursor",
            Api(400, ErrorCode::InvalidRequest),
            |e| {
                Box::pin(async move {
                    e.c.logs_page(&LogQuery::new().cursor(NOWHERE))
                        .await
                        .map(|p| format!("{} logs", p.logs.len()))
                })
            },
        ),
        case(
            Operation::ListLogs,
            "page size over 200",
            Local(ErrorCode::InvalidRequest),
            |e| {
                Box::pin(async move {
                    e.c.logs_page(&LogQuery::new().limit(201))
                        .await
                        .map(|p| format!("{} logs", p.logs.len()))
                })
            },
        ),
    ]
}

/// For each operation: success, 401 (unknown token), 429 (the server's limit) and 500.
fn generic_cases() -> Vec<(Op, &'static str, Expect)> {
    Op::ALL
        .iter()
        .flat_map(|op| {
            [
                (*op, "success", Expect::Ok),
                (
                    *op,
                    "unknown token",
                    Expect::Api(401, ErrorCode::InvalidToken),
                ),
                (
                    *op,
                    "over the rate limit",
                    Expect::Api(429, ErrorCode::RateLimited),
                ),
                (
                    *op,
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
        (Expect::Local(code), Err(e)) => {
            let ok = e.kind() == ErrorKind::Validation
                && e.is_validation()
                && e.code() == Some(code)
                && e.status().is_none()
                && s.requests().is_empty();
            if ok {
                Ok(())
            } else {
                fail(format!(
                    "wanted a local {code} refusal with nothing sent, got {e:?} after {} requests",
                    s.requests().len()
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
            Expect::Api(429, _) => s.set_limit(Bucket::GlobalMinute, 0),
            Expect::Api(500, _) | Expect::Unknown(500, _) => {
                s.inject(op.operation(), Fault::Status(500), 1)
            }
            _ => {}
        }
        let (balance, count) = (s.balance(), s.service_count());
        let r = op.call(&e.c, &e.fx).await;
        let what = format!("{} / {name}", op.name());
        if let Err(m) = check(&what, &expect, &r, &s) {
            failures.push(m);
        }
        let sent = s.requests().len();
        if sent != 1 {
            failures.push(format!("{what}: {sent} requests, wanted 1"));
        }
        let charged = (expect == Expect::Ok) as i64
            * match op {
                Op::Purchase => e.fx.price_v4,
                Op::ExtendService => e.fx.extend_price_v4,
                _ => 0,
            };
        if s.balance() != balance - charged
            || s.service_count() != count + usize::from(expect == Expect::Ok && op == Op::Purchase)
        {
            failures.push(format!(
                "{what}: balance {} -> {}, services {count} -> {}",
                balance,
                s.balance(),
                s.service_count()
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
        if let Expect::Api(..) = c.expect {
            let ours = s
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
/// docs' code table, are all exercised by the two tests above (except those no well-behaved
/// client can provoke: the server-side twins of the local checks, and `method_not_allowed`,
/// which no operation declares).
#[test]
fn the_tables_cover_every_operation_and_every_reachable_code() {
    let mut covered: Vec<(String, String)> = Vec::new();
    for (op, _, e) in generic_cases() {
        if let Expect::Api(_, code) | Expect::Unknown(_, code) = e {
            covered.push((op.id().to_string(), code.to_string()));
        }
    }
    for c in specific_cases() {
        if let Expect::Api(_, code) | Expect::Local(code) = &c.expect {
            covered.push((c.op.to_string(), code.to_string()));
        }
    }
    for op in Operation::ALL {
        for code in ["invalid_token", "rate_limited", "server_error"] {
            assert!(
                covered.contains(&(op.to_string(), code.to_string())),
                "{op} x {code}"
            );
        }
    }
    let want = [
        (Operation::Purchase, "insufficient_balance"),
        (Operation::Purchase, "invalid_plan_id"),
        (Operation::Purchase, "invalid_type"),
        (Operation::Purchase, "invalid_country"),
        (Operation::Purchase, "invalid_rotation"),
        (Operation::Purchase, "country_unavailable"),
        (Operation::Purchase, "unsupported_for_type"),
        (Operation::ExtendService, "insufficient_balance"),
        (Operation::ReplaceWhitelist, "invalid_ip"),
        (Operation::ReplaceWhitelist, "too_many_ips"),
        (Operation::ChangeCountry, "unsupported_for_type"),
        (Operation::ChangeCountry, "country_unavailable"),
        (Operation::ChangeCountry, "invalid_country"),
        (Operation::ChangeRotation, "unsupported_for_type"),
        (Operation::ChangeRotation, "invalid_rotation"),
        (Operation::GetService, "invalid_id"),
        (Operation::ListServices, "invalid_request"),
        (Operation::ListLogs, "invalid_request"),
        (Operation::ListPlans, "invalid_type"),
    ];
    for (op, code) in want {
        assert!(
            covered.contains(&(op.to_string(), code.to_string())),
            "{op} x {code}"
        );
    }
    // Every `/services/{id}...` operation can answer 404 not_found.
    for op in Operation::ALL
        .into_iter()
        .filter(|o| o.path().contains("{id}"))
    {
        assert!(
            covered.contains(&(op.to_string(), "not_found".to_string())),
            "{op} x not_found"
        );
    }
}
