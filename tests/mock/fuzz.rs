//! Arbitrary request input never panics the mock nor makes it break the spec: every answer is
//! a documented status with the error envelope or a success, and the server keeps serving.
//! Each case runs against a mock with seeded services (IPv4 and IPv6), and half the requests
//! are well-formed calls on them, so that the handlers that read and change services run, not
//! only the validation in front of them: the run checks that every operation succeeded at
//! least once.

use std::collections::BTreeMap;

use crate::support;
use opx::Operation;
use opx::mock::MockServer;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;

/// Services seeded in every case; a path may name one as `@SEED<n>@`.
const SEEDED: usize = 4;

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::DELETE),
        Just(Method::PATCH),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        (0..SEEDED).prop_map(|n| format!("@SEED{n}@")).boxed(),
        "[0-9a-f]{24}".boxed(),
        "[ -~]{0,30}"
            .prop_map(|s| s.replace(['/', '?', '#'], ""))
            .boxed(),
    ];
    let tail = prop_oneof![
        Just(""),
        Just("/proxies"),
        Just("/extend"),
        Just("/whitelist"),
        Just("/credentials"),
        Just("/country"),
        Just("/rotation"),
    ];
    let fixed = [
        "/account",
        "/catalog/plans",
        "/purchase",
        "/services",
        "/logs",
    ];
    prop_oneof![
        // Each fixed path as likely as a path under one service.
        5 => proptest::sample::select(fixed.to_vec()).prop_map(str::to_string),
        1 => (id, tail).prop_map(|(id, tail)| if id.starts_with('@') {
            format!("/services/{id}{tail}")
        } else {
            format!("/services/{}{tail}", urlencode(&id))
        }),
    ]
}

/// A well-formed call of one operation on a seeded service (the body mostly valid).
fn well_formed() -> impl Strategy<Value = (Method, String, String, Option<Vec<u8>>)> {
    let seed = (0..SEEDED).prop_map(|n| format!("/services/@SEED{n}@"));
    let json = |v: serde_json::Value| Some(v.to_string().into_bytes());
    // Every operation of the spec with the docs' example body (derived: a new operation is
    // called with no change here), then hand-made variety per operation.
    let every =
        (0..SEEDED, proptest::sample::select(Operation::ALL.to_vec())).prop_map(|(n, op)| {
            let path = op.path().replace("{id}", &format!("@SEED{n}@"));
            let body = support::docs_body(op).map(|v| v.to_string().into_bytes());
            (op.method(), path, String::new(), body)
        });
    prop_oneof![
        every,
        seed.clone()
            .prop_map(|p| (Method::GET, p, String::new(), None)),
        (
            seed.clone(),
            prop_oneof![
                Just("format=json"),
                Just("format=txt"),
                Just("format=txt&layout=user_pass_at_host_port&auth=false"),
                Just("country=de")
            ]
        )
            .prop_map(|(p, q)| (Method::GET, format!("{p}/proxies"), q.to_owned(), None)),
        seed.clone()
            .prop_map(|p| (Method::POST, format!("{p}/extend"), String::new(), None)),
        seed.clone().prop_map(|p| (
            Method::POST,
            format!("{p}/credentials"),
            String::new(),
            None
        )),
        (
            seed.clone(),
            proptest::collection::vec((0u8..=255, "[a-z]{0,8}"), 0..4)
        )
            .prop_map(move |(p, ips)| {
                let (ips, labels): (Vec<String>, Vec<String>) = ips
                    .into_iter()
                    .map(|(n, l)| (format!("203.0.113.{n}"), l))
                    .unzip();
                (
                    Method::PUT,
                    format!("{p}/whitelist"),
                    String::new(),
                    json(serde_json::json!({"whitelisted_ips": ips, "labels": labels})),
                )
            }),
        (
            seed.clone(),
            prop_oneof![Just("de"), Just("nl"), Just("at"), Just("mixed"), Just("x")]
        )
            .prop_map(move |(p, c)| (
                Method::PUT,
                format!("{p}/country"),
                String::new(),
                json(serde_json::json!({"country": c}))
            )),
        (
            seed,
            prop_oneof![Just("instant"), Just("5min"), Just("10min"), Just("x")]
        )
            .prop_map(move |(p, r)| (
                Method::PUT,
                format!("{p}/rotation"),
                String::new(),
                json(serde_json::json!({"rotation": r}))
            )),
        prop_oneof![Just("ipv4_rotating"), Just("ipv6_rotating")].prop_map(move |t| {
            (
                Method::POST,
                "/purchase".to_owned(),
                String::new(),
                json(serde_json::json!({"type": t, "plan_id": format!("@PLAN:{t}@")})),
            )
        }),
    ]
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("type"),
        Just("status"),
        Just("limit"),
        Just("cursor"),
        Just("since"),
        Just("until"),
        Just("format"),
        Just("layout"),
        Just("auth"),
        Just("country"),
        Just("zzz"),
    ];
    proptest::collection::vec((key, "[ -~]{0,12}"), 0..4).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// The fields of the request bodies.
const FIELDS: [&str; 6] = [
    "type",
    "plan_id",
    "country",
    "rotation",
    "whitelisted_ips",
    "labels",
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[ -~]{0,16}".prop_map(serde_json::Value::from),
        Just(serde_json::json!("ipv6_rotating")),
        Just(serde_json::json!(support::IPV6_PLAN)),
        Just(serde_json::json!("203.0.113.9")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    // Each field of a request body as likely as a made-up key.
                    6 => proptest::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
                    1 => "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        json_value().prop_map(|v| Some(v.to_string().into_bytes())),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
    ]
}

#[test]
fn arbitrary_requests_get_documented_answers() {
    let request = prop_oneof![(method(), path(), query(), body()), well_formed()];
    let mut runner = TestRunner::new(Config {
        cases: 150,
        source_file: Some(file!()),
        ..Config::default()
    });
    let succeeded = std::cell::RefCell::new(BTreeMap::<Operation, u64>::new());
    runner
        .run(&proptest::collection::vec(request, 1..8), |reqs| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let counts = rt.block_on(one_case(reqs));
            for (op, n) in counts {
                *succeeded.borrow_mut().entry(op).or_default() += n;
            }
            Ok(())
        })
        .unwrap();
    let succeeded = succeeded.into_inner();
    eprintln!("successful executions per operation: {succeeded:?}");
    // Every operation's handler must have run (a 200) at least once in the whole run.
    for op in &Operation::ALL {
        assert!(
            succeeded.get(op).copied().unwrap_or(0) > 0,
            "the handler of {op} never ran: {succeeded:?}"
        );
    }
}

/// Sends `reqs` to a fresh mock with seeded services; returns how often each operation
/// succeeded (the mock's executions counters).
async fn one_case(
    reqs: Vec<(Method, String, String, Option<Vec<u8>>)>,
) -> BTreeMap<Operation, u64> {
    let s = MockServer::builder()
        .balance(100_000_000)
        .start()
        .await
        .unwrap();
    let seeded = s.services().seed(SEEDED);
    let plans = s.services().plans();
    let client = reqwest::Client::new();
    for (m, mut p, q, b) in reqs {
        for (n, id) in seeded.iter().enumerate() {
            p = p.replace(&format!("@SEED{n}@"), id.as_str());
        }
        let mut rb = client
            .request(m.clone(), format!("{}{p}?{q}", s.base_url()))
            .bearer_auth(s.token());
        if let Some(b) = b {
            let mut b = String::from_utf8_lossy(&b).into_owned();
            for plan in &plans {
                b = b.replace(
                    &format!("@PLAN:{}@", plan.service_type),
                    plan.plan_id.as_str(),
                );
            }
            rb = rb.header("content-type", "application/json").body(b);
        }
        let r = rb.send().await.expect("the mock answers");
        let status = r.status().as_u16();
        assert!(
            [200, 400, 402, 404, 405].contains(&status),
            "{m} {p}?{q}: {status}"
        );
        let text = r.text().await.unwrap();
        if status != 200 {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["status"], "error");
        }
    }
    assert!(
        s.records().schema_violations().is_empty(),
        "{:?}",
        s.records().schema_violations()
    );
    let r = support::raw_get(&client, &s, "/account").await;
    assert_eq!(r.status().as_u16(), 200);
    Operation::ALL
        .into_iter()
        .map(|op| (op, s.records().executions(op)))
        .collect()
}
