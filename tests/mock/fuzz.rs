//! Arbitrary request input never panics the mock nor makes it break the spec: every answer is
//! a documented status with the error envelope or a success, and the server keeps serving.

use opx::mock::MockServer;
use proptest::prelude::*;
use reqwest::Method;

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
    prop_oneof![
        Just("/account".to_string()),
        Just("/catalog/plans".to_string()),
        Just("/purchase".to_string()),
        Just("/services".to_string()),
        Just("/logs".to_string()),
        (id, tail).prop_map(|(id, tail)| format!("/services/{}{tail}", urlencode(&id))),
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

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[ -~]{0,16}".prop_map(serde_json::Value::from),
        Just(serde_json::json!("ipv6_rotating")),
        Just(serde_json::json!("65a9f0c1b2c3d4e5f6a7b8cb")),
        Just(serde_json::json!("203.0.113.9")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("plan_id".to_string()),
                    Just("country".to_string()),
                    Just("rotation".to_string()),
                    Just("whitelisted_ips".to_string()),
                    Just("labels".to_string()),
                    "[a-z]{1,6}".boxed(),
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_get_documented_answers(
        reqs in proptest::collection::vec((method(), path(), query(), body()), 1..8)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let s = MockServer::start().await;
            let client = reqwest::Client::new();
            for (m, p, q, b) in reqs {
                let mut rb = client
                    .request(m.clone(), format!("{}{p}?{q}", s.base_url()))
                    .bearer_auth(s.token());
                if let Some(b) = b {
                    rb = rb.header("content-type", "application/json").body(b);
                }
                let r = rb.send().await.expect("the mock answers");
                let status = r.status().as_u16();
                assert!([200, 400, 402, 404, 405].contains(&status), "{m} {p}?{q}: {status}");
                let text = r.text().await.unwrap();
                if status != 200 {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(v["status"], "error");
                }
            }
            assert!(s.schema_violations().is_empty(), "{:?}", s.schema_violations());
            let r = client.get(format!("{}/account", s.base_url())).bearer_auth(s.token()).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
        });
    }
}
