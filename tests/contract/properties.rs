//! Properties: paging yields every item exactly once, in order; proxy lists round-trip in both
//! layouts; and the client's own input checks accept exactly what the spec's schemas accept.
//!
//! One tokio runtime and one `reqwest` client serve every case (a mock per paging case is
//! cheap; a facade client per case would not be).

use crate::contract;

use std::net::Ipv4Addr;
use std::sync::OnceLock;

use contract::{assert_wire_clean, builder, spec};
use futures::TryStreamExt;
use opx::Client;
use opx::mock::MockServer;
use opx::proxies::ProxyLines;
use opx::types::{
    Country, LogQuery, PlanId, ProxyLayout, Rotation, ServiceId, ServiceQuery, StatusFilter,
    Whitelist,
};
use proptest::prelude::*;
use serde_json::{Value, json};

struct Shared {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let http = rt.block_on(async { contract::shared_http() });
        Shared { rt, http }
    })
}

fn cheap_client(s: &MockServer) -> Client {
    let http = &shared().http;
    builder(s)
        .reqwest_client(http.clone())
        .non_idempotent_reqwest_client(http.clone())
        .build()
        .unwrap()
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Every service exactly once, newest first, whatever the page size, with or without
    /// prefetch; the number of requests is the number of pages.
    #[test]
    fn service_paging_yields_every_item_once_in_order(
        n in 0usize..=130,
        limit in 1u32..=100,
        prefetch in any::<bool>(),
    ) {
        shared().rt.block_on(async {
            let s = MockServer::start().await;
            let mut want = s.services().seed(n);
            want.reverse();
            let c = cheap_client(&s);
            let q = ServiceQuery::new().limit(limit).status(StatusFilter::All).prefetch(prefetch);
            let got: Vec<_> = c
                .services_stream(&q)
                .map_ok(|svc| svc.service_id)
                .try_collect()
                .await
                .unwrap();
            assert_eq!(got, want);
            let pages = s.records().requests().len();
            let full = n.div_ceil(limit as usize).max(1);
            assert!(pages == full || pages == full + 1, "{pages} pages for {n} items by {limit}");
            assert_wire_clean(&s);
        });
    }

    /// Every log entry exactly once, newest first (decreasing ids), whatever the page size.
    #[test]
    fn log_paging_yields_every_item_once_in_order(
        n in 0usize..=150,
        limit in 1u32..=200,
    ) {
        shared().rt.block_on(async {
            let s = MockServer::start().await;
            s.accounts().seed_logs(n);
            let c = cheap_client(&s);
            let got: Vec<opx::types::LogEntry> = c
                .logs_stream(&LogQuery::new().limit(limit))
                .try_collect()
                .await
                .unwrap();
            // The walk's own requests are logged too, after the first page was taken: the
            // stream sees exactly the entries that existed when it started.
            assert_eq!(got.len(), n);
            assert!(got.iter().all(|l| l.path() == Some("/api/v1/account")));
            let ids: Vec<String> = got.iter().map(|l| l.id().unwrap().to_string()).collect();
            assert!(ids.windows(2).all(|w| w[0] > w[1]), "not newest first: {ids:?}");
            assert_wire_clean(&s);
        });
    }
}

/// Hosts as the API could send them: names, IPv4 and (bracketed in text) IPv6 literals.
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\\.[a-z0-9]{1,10}){0,3}",
        any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| ip.to_string()),
    ]
}

#[derive(Debug, Clone)]
struct Endpoint {
    host: String,
    port: u16,
    auth: Option<(String, String)>,
}

fn endpoint(with_auth: bool) -> impl Strategy<Value = Endpoint> {
    (
        host(),
        1u16..=65535,
        "[A-Za-z0-9_.-]{1,16}",
        // Passwords may hold the separators; no whitespace (lines are trimmed).
        "[!-~]{0,24}",
    )
        .prop_map(move |(host, port, login, password)| Endpoint {
            host,
            port,
            auth: with_auth.then_some((login, password)),
        })
}

fn render(e: &Endpoint, layout: ProxyLayout) -> String {
    let host = if e.host.contains(':') {
        format!("[{}]", e.host)
    } else {
        e.host.clone()
    };
    match (&e.auth, layout) {
        (None, _) => format!("{host}:{}", e.port),
        (Some((l, p)), ProxyLayout::HostPortUserPass) => format!("{host}:{}:{l}:{p}", e.port),
        (Some((l, p)), _) => format!("{l}:{p}@{host}:{}", e.port),
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Rendering endpoints in a layout and parsing the text with that layout gives them back,
    /// whatever the line endings and blank lines.
    #[test]
    fn proxy_lists_round_trip_in_both_layouts(
        with_auth in any::<bool>(),
        eps in prop::collection::vec(any::<bool>().prop_flat_map(endpoint), 0..20),
        layout in prop_oneof![Just(ProxyLayout::HostPortUserPass), Just(ProxyLayout::UserPassAtHostPort)],
        crlf in any::<bool>(),
        blank_every in 0usize..5,
    ) {
        let eps: Vec<Endpoint> = eps
            .into_iter()
            .map(|mut e| {
                if !with_auth {
                    e.auth = None;
                }
                e
            })
            .collect();
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for (i, e) in eps.iter().enumerate() {
            if blank_every > 0 && i % blank_every == 0 {
                text.push_str(eol);
            }
            text.push_str(&render(e, layout));
            text.push_str(eol);
        }
        let parsed = opx::proxies::parse_list(&text, Some(layout)).unwrap();
        prop_assert_eq!(parsed.len(), eps.len());
        for (p, e) in parsed.iter().zip(&eps) {
            prop_assert_eq!(p.host(), e.host.as_str());
            prop_assert_eq!(p.port(), e.port);
            prop_assert_eq!(p.login(), e.auth.as_ref().map(|a| a.0.as_str()));
            prop_assert_eq!(p.password(), e.auth.as_ref().map(|a| a.1.as_str()));
        }
        let lazy: Vec<_> = ProxyLines::with_layout(&text, layout).map(|r| r.unwrap().to_owned()).collect();
        prop_assert_eq!(lazy, parsed);
    }
}

/// A validator for a schema found at a JSON pointer of the spec (refs resolve in the spec).
fn validator_at(pointer: &str) -> jsonschema::Validator {
    let schema = spec()
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer}"));
    let mut root = spec().clone();
    root.as_object_mut()
        .unwrap()
        .insert("allOf".into(), json!([schema]));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap()
}

struct Validators {
    service_id: jsonschema::Validator,
    plan_id: jsonschema::Validator,
    country: jsonschema::Validator,
    rotation: jsonschema::Validator,
    whitelist: jsonschema::Validator,
    services_limit: jsonschema::Validator,
    logs_limit: jsonschema::Validator,
}

fn validators() -> &'static Validators {
    static V: OnceLock<Validators> = OnceLock::new();
    V.get_or_init(|| {
        let param = |path: &str, name: &str| {
            let params = spec()["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap();
            let i = params
                .iter()
                .position(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{path} {name}"));
            validator_at(&format!(
                "/paths/{}/get/parameters/{i}/schema",
                path.replace('/', "~1")
            ))
        };
        Validators {
            service_id: validator_at("/components/parameters/ServiceId/schema"),
            plan_id: validator_at("/components/schemas/PurchaseRequest/properties/plan_id"),
            country: validator_at("/components/schemas/CountryRequest/properties/country"),
            rotation: validator_at("/components/schemas/RotationRequest/properties/rotation"),
            whitelist: validator_at("/components/schemas/WhitelistRequest"),
            services_limit: param("/services", "limit"),
            logs_limit: param("/logs", "limit"),
        }
    })
}

/// Strings near and far from the rules: hex of about 24, alphanumerics of about 2-32, and
/// anything (unicode, separators, controls).
fn near_miss() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-fA-F]{22,26}",
        "[0-9a-fA-FgG]{24}",
        "[A-Za-z0-9]{0,34}",
        "[A-Za-z0-9 _.\\-é\\n]{1,34}",
        ".{0,40}",
    ]
}

/// Dotted strings, mostly four parts, numbers near the octet range, some leading zeros.
fn ipv4ish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        prop::collection::vec("0?[0-9]{1,3}", 3..=5).prop_map(|p| p.join(".")),
        "[0-9.: a-f]{0,16}",
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Ids, plan ids, countries and rotations: the newtype accepts exactly what the spec does.
    #[test]
    fn string_checks_match_the_spec(s in near_miss()) {
        let v = validators();
        let j = Value::String(s.clone());
        prop_assert_eq!(ServiceId::new(s.clone()).is_ok(), v.service_id.is_valid(&j), "service id {:?}", s);
        prop_assert_eq!(PlanId::new(s.clone()).is_ok(), v.plan_id.is_valid(&j), "plan id {:?}", s);
        prop_assert_eq!(Country::new(s.clone()).is_ok(), v.country.is_valid(&j), "country {:?}", s);
        prop_assert_eq!(Rotation::new(s.clone()).is_ok(), v.rotation.is_valid(&j), "rotation {:?}", s);
    }

    /// Whitelists: addresses, sizes and labels accepted exactly as the spec accepts them.
    #[test]
    fn whitelist_checks_match_the_spec(
        ips in prop::collection::vec(ipv4ish(), 0..4),
        extra in 0usize..=55,
        label in prop::option::of("(.|é){0,70}"),
    ) {
        let v = validators();
        let mut all = ips.clone();
        all.extend((0..extra).map(|i| format!("198.51.100.{}", i % 256)));
        let parsed = Whitelist::parse(&all);
        let body = json!({ "whitelisted_ips": all });
        prop_assert_eq!(parsed.is_ok(), v.whitelist.is_valid(&body), "{:?}", all);
        if let (Ok(w), Some(label)) = (parsed, label) {
            let entries: Vec<_> = w.ips().iter().map(|ip| (*ip, label.clone())).collect();
            let labelled = Whitelist::with_labels(entries);
            let body = json!({ "whitelisted_ips": all, "labels": vec![label.clone(); all.len()] });
            prop_assert_eq!(labelled.is_ok(), v.whitelist.is_valid(&body), "label {:?}", label);
        }
    }
}

/// Page sizes, every value around both ranges: a query is sent exactly when the spec accepts
/// its limit (and then the server accepts it too). One mock for all of them.
#[test]
fn page_size_checks_match_the_spec() {
    let v = validators();
    shared().rt.block_on(async {
        let s = MockServer::start().await;
        s.accounts()
            .set_limit(opx::mock::Bucket::GlobalMinute, 10_000);
        let c = cheap_client(&s);
        for limit in 0u32..=260 {
            let services = c.services_page(&ServiceQuery::new().limit(limit)).await;
            let want = v.services_limit.is_valid(&json!(limit));
            assert_eq!(
                services.is_ok(),
                want,
                "services limit {limit}: {services:?}"
            );
            let logs = c.logs_page(&LogQuery::new().limit(limit)).await;
            let want = v.logs_limit.is_valid(&json!(limit));
            assert_eq!(logs.is_ok(), want, "logs limit {limit}: {logs:?}");
            for e in [services.err(), logs.err()].into_iter().flatten() {
                assert!(e.is_validation(), "{e:?}");
            }
        }
        assert_eq!(s.records().requests().len(), 100 + 200);
        assert_wire_clean(&s);
    });
}
