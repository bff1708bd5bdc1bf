//! One slice per operation: how the contract suite calls it with valid input (the success path
//! every generic test runs: success, 401, 429, 500, each fault, concurrency, `Send`) and its
//! operation-specific error cases, side by side in one exhaustive `match` on [`Operation`].
//! A new operation in the spec fails to compile here until its slice exists; the coverage test
//! in `operations.rs` then fails until the slice has a case for each code it can produce.

use std::sync::Arc;

use futures::future::BoxFuture;
use opx::mock::MockServer;
use opx::types::{
    Country, ErrorCode, GatewayCountry, LogQuery, PlanId, ProxyQuery, PurchaseRequest, Rotation,
    ServiceId, ServiceQuery, ServiceType, Whitelist,
};
use opx::{Client, Operation};

use crate::contract::Fixture;

/// A well-formed id that names nothing.
pub const NOWHERE: &str = "ffffffffffffffffffffffff";

/// What a case runs against: its own mock, a client of it and the fixture's services.
#[derive(Clone)]
pub struct Env {
    pub s: Arc<MockServer>,
    pub c: Client,
    pub fx: Fixture,
}

/// What a call should come to.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
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

/// A call with valid input: on success, a short summary of the typed result (checked against
/// the fixture).
type Success = fn(Client, Fixture) -> BoxFuture<'static, opx::Result<String>>;

/// A specific case's call.
type Call = fn(Env) -> BoxFuture<'static, opx::Result<String>>;

/// An operation-specific error case.
pub struct Case {
    pub op: Operation,
    pub name: &'static str,
    pub expect: Expect,
    pub call: Call,
}

/// An operation's slice: its forms (one call with valid input each; `getProxies` has two, text
/// and JSON) and its specific error cases.
struct Slice {
    forms: Vec<(&'static str, Success)>,
    cases: Vec<(&'static str, Expect, Call)>,
}

/// `form!("label", |c, fx| body)`: a call with valid input; `body` may use `?` and `.await`
/// and ends in the summary.
macro_rules! form {
    ($label:literal, |$c:ident, $fx:ident| $body:expr) => {
        ($label, {
            let f: Success = |$c, $fx| Box::pin(async move { Ok::<_, opx::Error>($body) });
            f
        })
    };
}

/// `cases! { "name" => expect, |env| body; ... }`: the specific cases, each calling `body` (an
/// expression that may `.await`, with the environment bound to `env`); a success is shown by
/// its `Debug` text in failure messages.
macro_rules! cases {
    ($($name:literal => $expect:expr, |$e:pat_param| $body:expr;)*) => {
        vec![$(($name, $expect, {
            let f: Call = |$e| Box::pin(async move { $body.map(|v| format!("{v:?}")) });
            f
        }),)*]
    };
}

/// The slice of `operation`. Where the input type cannot hold a bad value, the case is
/// `Unrepresentable` and says why.
fn slice(operation: Operation) -> Slice {
    use ErrorCode::{
        CountryUnavailable, InsufficientBalance, InvalidCountry, InvalidId, InvalidIp,
        InvalidPlanId, InvalidRequest, InvalidRotation, InvalidType, NotFound, TooManyIps,
        UnsupportedForType,
    };
    use Expect::{Api, Local, Unrepresentable};
    let (forms, cases) = match operation {
        Operation::GetAccount => (
            vec![form!("", |c, _fx| {
                let a = c.account().await?;
                format!("balance {}", a.balance)
            })],
            vec![],
        ),
        Operation::ListPlans => (
            vec![form!("", |c, _fx| {
                let p = c.plans(Some(ServiceType::Ipv4Rotating)).await?;
                assert!(
                    p.plans
                        .iter()
                        .all(|p| p.service_type == ServiceType::Ipv4Rotating)
                );
                format!("{} plans", p.plans.len())
            })],
            cases! {
                "unknown type" => Local(InvalidType),
                    |e| e.c.plans(Some(ServiceType::parse("ipv4_static"))).await;
            },
        ),
        Operation::Purchase => (
            vec![form!("", |c, fx| {
                let req = PurchaseRequest::new(ServiceType::Ipv4Rotating, fx.plan_v4.clone())
                    .country(Country::MIXED)
                    .rotation(Rotation::INSTANT);
                let s = c.purchase(&req).await?;
                assert_eq!(s.service_type, ServiceType::Ipv4Rotating);
                format!("bought {}", s.service_id)
            })],
            cases! {
                "balance too low" => Api(402, InsufficientBalance), |e| {
                    e.s.accounts().set_balance(e.fx.price_v4 - 1);
                    let r = e.c.purchase(&v4_purchase(&e.fx)).await;
                    assert_eq!(e.s.accounts().balance(), e.fx.price_v4 - 1, "a refused purchase charged");
                    r
                };
                "plan that does not exist" => Api(400, InvalidPlanId),
                    |e| e.c.purchase(&purchase_of(ServiceType::Ipv4Rotating, valid(NOWHERE))).await;
                "plan of the other type" => Api(400, InvalidPlanId),
                    |e| e.c.purchase(&purchase_of(ServiceType::Ipv6Rotating, e.fx.plan_v4.clone())).await;
                "IPv4 outside nl" => Api(400, CountryUnavailable),
                    |e| e.c.purchase(&v4_purchase(&e.fx).country(valid::<Country>("de"))).await;
                "IPv4 rotation other than instant" => Api(400, UnsupportedForType),
                    |e| e.c.purchase(&v4_purchase(&e.fx).rotation(valid::<Rotation>("sticky"))).await;
                "unknown type" => Local(InvalidType),
                    |e| {
                        let t = ServiceType::parse("ipv4_static");
                        e.c.purchase(&purchase_of(t, e.fx.plan_v4.clone())).await
                    };
                // A `PurchaseRequest` holds a `PlanId`, a `Country` and a `Rotation`, none of
                // which can be malformed: `purchase` cannot be called with these values.
                "malformed plan id" => Unrepresentable(InvalidPlanId),
                    |_| PlanId::new("65a9f0c1");
                "malformed country" => Unrepresentable(InvalidCountry), |_| Country::new("n");
                "malformed rotation" => Unrepresentable(InvalidRotation),
                    |_| Rotation::new("in stant");
            },
        ),
        Operation::ListServices => (
            vec![form!("", |c, _fx| {
                let page = c.services_page(&ServiceQuery::new().limit(2)).await?;
                assert!(page.services.len() <= 2);
                format!("{} services", page.services.len())
            })],
            cases! {
                "unknown cursor" => Api(400, InvalidRequest),
                    |e| e.c.services_page(&ServiceQuery::new().cursor(NOWHERE)).await;
                "page size over 100" => Local(InvalidRequest),
                    |e| e.c.services_page(&ServiceQuery::new().limit(101)).await;
                "unknown type" => Local(InvalidType),
                    |e| e.c.services_page(&ServiceQuery::new().service_type(ServiceType::parse("x"))).await;
            },
        ),
        Operation::GetService => (
            vec![form!("", |c, fx| the_service(
                c.service(&fx.v4).await?,
                &fx.v4,
                "read"
            ))],
            cases! {
                "not mine" => Api(404, NotFound), |e| e.c.service(&nowhere()).await;
                // Every `/services/{id}` operation takes a `ServiceId`, which cannot be malformed.
                "malformed id" => Unrepresentable(InvalidId), |_| ServiceId::new("../account");
            },
        ),
        Operation::GetProxies => (
            vec![
                form!("txt", |c, fx| {
                    let t = c.proxies_text(&fx.v4, &ProxyQuery::new()).await?;
                    assert!(t.ends_with('\n'), "{:?}", *t);
                    format!("{} lines", t.lines().count())
                }),
                form!("json", |c, fx| {
                    let l = c.proxies_json(&fx.v6, &ProxyQuery::new()).await?;
                    assert!(!l.servers.is_empty());
                    format!("{} servers", l.servers.len())
                }),
            ],
            cases! {
                "not mine (txt)" => Api(404, NotFound),
                    |e| e.c.proxies_text(&nowhere(), &ProxyQuery::new()).await;
                "not mine (json)" => Api(404, NotFound),
                    |e| e.c.proxies_json(&nowhere(), &ProxyQuery::new()).await;
                "IPv4 has no de gateway" => Api(400, CountryUnavailable),
                    |e| e.c.proxies_text(&e.fx.v4, &ProxyQuery::new().country(GatewayCountry::De)).await;
                "not a gateway country (txt)" => Local(InvalidCountry),
                    |e| e.c.proxies_text(&e.fx.v6, &not_a_gateway()).await;
                "not a gateway country (json)" => Local(InvalidCountry),
                    |e| e.c.proxies_json(&e.fx.v6, &not_a_gateway()).await;
            },
        ),
        Operation::ExtendService => (
            vec![form!("", |c, fx| the_service(
                c.extend(&fx.v4).await?,
                &fx.v4,
                "extended"
            ))],
            cases! {
                "balance too low" => Api(402, InsufficientBalance), |e| {
                    e.s.accounts().set_balance(0);
                    let before = e.c.service(&e.fx.v4).await?.expires_at;
                    let r = e.c.extend(&e.fx.v4).await;
                    let after = e.c.service(&e.fx.v4).await?.expires_at;
                    assert_eq!(after, before, "a refused extend extended");
                    assert_eq!(e.s.accounts().balance(), 0);
                    r
                };
                "not mine" => Api(404, NotFound), |e| e.c.extend(&nowhere()).await;
            },
        ),
        Operation::ReplaceWhitelist => (
            vec![form!("", |c, fx| {
                let wl = Whitelist::with_labels([("203.0.113.10".parse().unwrap(), "home")])?;
                let s = c.replace_whitelist(&fx.v4, &wl).await?;
                assert_eq!(s.whitelist.len(), 1);
                format!("{} whitelisted", s.whitelist.len())
            })],
            cases! {
                "not mine" => Api(404, NotFound),
                    |e| e.c.replace_whitelist(&nowhere(), &Whitelist::empty()).await;
                // A `Whitelist` holds at most 50 IPv4 addresses: `replace_whitelist` cannot be
                // called with anything else.
                "not an IPv4 address" => Unrepresentable(InvalidIp),
                    |_| Whitelist::parse(["203.0.113.10", "2001:db8::1"]);
                "51 addresses" => Unrepresentable(TooManyIps),
                    |_| Whitelist::new((0..51u8).map(|i| std::net::Ipv4Addr::new(198, 51, 100, i)));
            },
        ),
        Operation::RegenerateCredentials => (
            vec![form!("", |c, fx| {
                let s = c.regenerate_credentials(&fx.v4).await?;
                format!("new login {}", s.auth.login)
            })],
            cases! {
                "not mine" => Api(404, NotFound), |e| e.c.regenerate_credentials(&nowhere()).await;
            },
        ),
        Operation::ChangeCountry => (
            vec![form!("", |c, fx| {
                let s = c.change_country(&fx.v6, &valid("de")).await?;
                set_to("country", &s.country, "de")
            })],
            cases! {
                "IPv4 service" => Api(400, UnsupportedForType),
                    |e| e.c.change_country(&e.fx.v4, &valid("de")).await;
                "country not offered" => Api(400, CountryUnavailable),
                    |e| e.c.change_country(&e.fx.v6, &valid("zz")).await;
                "not mine" => Api(404, NotFound),
                    |e| e.c.change_country(&nowhere(), &valid("de")).await;
                // `change_country` takes a `Country`, which cannot be malformed.
                "malformed country" => Unrepresentable(InvalidCountry), |_| Country::new("d-e");
            },
        ),
        Operation::ChangeRotation => (
            vec![form!("", |c, fx| {
                let s = c.change_rotation(&fx.v6, &valid("sticky")).await?;
                set_to("rotation", &s.rotation, "sticky")
            })],
            cases! {
                "IPv4 service" => Api(400, UnsupportedForType),
                    |e| e.c.change_rotation(&e.fx.v4, &valid("sticky")).await;
                "not mine" => Api(404, NotFound),
                    |e| e.c.change_rotation(&nowhere(), &valid("sticky")).await;
                // `change_rotation` takes a `Rotation`, which cannot be malformed.
                "malformed rotation" => Unrepresentable(InvalidRotation),
                    |_| Rotation::new("x".repeat(33));
            },
        ),
        Operation::ListLogs => (
            vec![form!("", |c, _fx| {
                let page = c.logs_page(&LogQuery::new().limit(5)).await?;
                format!("{} log entries", page.logs.len())
            })],
            cases! {
                "unknown cursor" => Api(400, InvalidRequest),
                    |e| e.c.logs_page(&LogQuery::new().cursor(NOWHERE)).await;
                "page size over 200" => Local(InvalidRequest),
                    |e| e.c.logs_page(&LogQuery::new().limit(201)).await;
            },
        ),
    };
    Slice { forms, cases }
}

/// Every operation's specific error cases, in spec order.
pub fn specific_cases() -> Vec<Case> {
    Operation::ALL
        .into_iter()
        .flat_map(|op| {
            slice(op)
                .cases
                .into_iter()
                .map(move |(name, expect, call)| Case {
                    op,
                    name,
                    expect,
                    call,
                })
        })
        .collect()
}

/// A facade call with valid input: one per form of each operation of the spec (`getProxies`
/// in both of its forms, text and JSON), derived from [`Operation::ALL`] and the slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Op {
    /// The API operation this call is.
    pub operation: Operation,
    /// Which of the operation's forms.
    form: usize,
}

impl Op {
    /// `getAccount`.
    pub const GET_ACCOUNT: Op = Op::of(Operation::GetAccount);
    /// `purchase`.
    pub const PURCHASE: Op = Op::of(Operation::Purchase);
    /// `extendService`.
    pub const EXTEND_SERVICE: Op = Op::of(Operation::ExtendService);

    const fn of(operation: Operation) -> Op {
        Op { operation, form: 0 }
    }

    /// Every call, in spec order: each form of each of [`Operation::ALL`].
    pub fn all() -> Vec<Op> {
        Operation::ALL
            .into_iter()
            .flat_map(|operation| {
                (0..slice(operation).forms.len()).map(move |form| Op { operation, form })
            })
            .collect()
    }

    /// The spec's operationId.
    pub fn id(self) -> &'static str {
        self.operation.id()
    }

    /// A name for failure messages: the operationId, and the form where there are several.
    pub fn name(self) -> String {
        match slice(self.operation).forms[self.form].0 {
            "" => self.id().to_owned(),
            label => format!("{}({label})", self.id()),
        }
    }

    /// Whether the operation may be retried (from the spec's operation table).
    pub fn is_idempotent(self) -> bool {
        self.operation.is_idempotent()
    }

    /// Calls the operation through the facade with valid input; on success returns a short
    /// summary of the typed result (checked against the fixture).
    pub async fn call(self, c: &Client, fx: &Fixture) -> opx::Result<String> {
        let call = slice(self.operation).forms[self.form].1;
        call(c.clone(), fx.clone()).await
    }
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

/// Asserts that an answer is the service `id`; a summary of it.
fn the_service(s: opx::Response<opx::types::Service>, id: &ServiceId, what: &str) -> String {
    assert_eq!(&s.service_id, id, "{what}");
    format!("{what} {} (until {})", s.service_id, s.expires_at)
}

/// Asserts that a setting of a service is `want`; a summary.
fn set_to(what: &str, got: &str, want: &str) -> String {
    assert_eq!(got, want, "{what}");
    format!("{what} {got}")
}
