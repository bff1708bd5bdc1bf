//! Every request is validated against the spec and refused with the documented code.

use crate::support;

use std::net::{IpAddr, Ipv4Addr};

use opx::mock::{AuthStatus, MockServer, RequestVerdict};
use opx::types::ErrorCode;
use reqwest::Method;
use serde_json::{Value, json};
use support::*;

/// A `PUT` of `body` that must be refused with 400 and `code`.
async fn expect_put(s: &MockServer, path: &str, body: Value, code: &str) {
    expect_error(s, Method::PUT, path, Some(body), 400, code).await;
}

/// Service ids of the wrong length or alphabet (the last one percent-encoded non-UTF-8).
const MALFORMED_IDS: [&str; 5] = [
    "xyz",
    "65aa1100b2c3d4e5f6a7b8d",
    "65aa1100b2c3d4e5f6a7b8d0a",
    "zzaa1100b2c3d4e5f6a7b8d0",
    "%ff%fe",
];

#[tokio::test]
async fn invalid_id_in_the_path() {
    let s = MockServer::start().await;
    for id in MALFORMED_IDS {
        for (method, tail) in [(Method::GET, ""), (Method::POST, "/extend")] {
            let path = format!("/services/{id}{tail}");
            expect_error(&s, method, &path, None, 400, "invalid_id").await;
        }
    }
    // Well-formed but unknown: not_found.
    let unknown = "/services/65aa1100b2c3d4e5f6a7b8d0";
    expect_error(&s, Method::GET, unknown, None, 404, "not_found").await;
    assert_clean(&s);
}

#[tokio::test]
async fn purchase_body_codes() {
    let s = MockServer::start().await;
    let v4 = |extra: Value| {
        let mut b = json!({"type": "ipv4_rotating", "plan_id": IPV4_PLAN});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let v6 = |k: &str, v: Value| json!({"type": "ipv6_rotating", "plan_id": IPV6_PLAN, k: v});
    let cases = [
        (json!({"plan_id": IPV4_PLAN}), "invalid_request"),
        (json!({"type": "ipv4_rotating"}), "invalid_request"),
        (v4(json!({"extra": 1})), "invalid_request"),
        (json!([1, 2]), "invalid_request"),
        (v4(json!({"type": "ipv4_static"})), "invalid_type"),
        (v4(json!({"type": 4})), "invalid_type"),
        (v4(json!({"plan_id": "nothex"})), "invalid_plan_id"),
        (
            v4(json!({"plan_id": "000000000000000000000000"})),
            "invalid_plan_id",
        ),
        (v4(json!({"plan_id": IPV6_PLAN})), "invalid_plan_id"),
        (v4(json!({"country": "x"})), "invalid_country"),
        (v4(json!({"country": "n-l"})), "invalid_country"),
        (v4(json!({"rotation": "a b"})), "invalid_rotation"),
        (v6("rotation", json!("y".repeat(33))), "invalid_rotation"),
        (v4(json!({"country": "de"})), "country_unavailable"),
        (v6("country", json!("zz")), "country_unavailable"),
        (v4(json!({"rotation": "sticky"})), "unsupported_for_type"),
    ];
    for (body, code) in cases {
        expect_error(&s, Method::POST, "/purchase", Some(body), 400, code).await;
    }
    assert_eq!(s.services().count(), 0);
    assert_eq!(s.accounts().balance(), 100_000);
    assert_clean(&s);
}

#[tokio::test]
async fn body_syntax_content_type_and_size() {
    let s = MockServer::start().await;
    let body = serde_json::to_vec(&json!({"type": "ipv4_rotating", "plan_id": IPV4_PLAN})).unwrap();
    let huge = format!(
        "{{\"type\":\"ipv4_rotating\",\"plan_id\":\"{IPV4_PLAN}\",\"x\":\"{}\"}}",
        "a".repeat(70_000)
    );
    let cases = [
        ("application/json", b"{not json".to_vec(), 400),
        ("application/json", Vec::new(), 400),
        ("text/plain", body.clone(), 400),
        ("application/json; charset=utf-8", body, 200),
        ("application/json", huge.into_bytes(), 400),
    ];
    for (content_type, bytes, status) in cases {
        let r = call_raw(&s, Method::POST, "/purchase", content_type, bytes).await;
        assert_eq!(r.status, status, "{content_type}: {}", r.text);
        if status == 400 {
            assert_eq!(r.code(), "invalid_request", "{content_type}");
        }
    }
    assert_eq!(s.services().count(), 1);
}

#[tokio::test]
async fn whitelist_codes() {
    let s = MockServer::start().await;
    let id = buy_id(&s, IPV4_PLAN).await;
    let path = format!("/services/{id}/whitelist");
    let ips = |n: usize| {
        (0..n)
            .map(|i| format!("10.0.{}.{}", i / 250, i % 250))
            .collect::<Vec<_>>()
    };
    for (body, code) in [
        (json!({"whitelisted_ips": ["1.2.3.4", "::1"]}), "invalid_ip"),
        (json!({"whitelisted_ips": ["256.1.1.1"]}), "invalid_ip"),
        (json!({"whitelisted_ips": [42]}), "invalid_ip"),
        (json!({"whitelisted_ips": ips(51)}), "too_many_ips"),
        (
            json!({"whitelisted_ips": ["1.2.3.4"], "labels": ["a", "b"]}),
            "invalid_request",
        ),
        (json!({"labels": []}), "invalid_request"),
        (json!({"whitelisted_ips": "1.2.3.4"}), "invalid_request"),
    ] {
        expect_put(&s, &path, body, code).await;
    }
    let r = call(
        &s,
        Method::PUT,
        &path,
        Some(json!({"whitelisted_ips": ips(50)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data()["whitelist"].as_array().unwrap().len(), 50);
    assert_clean(&s);
}

#[tokio::test]
async fn country_and_rotation_bodies() {
    let s = MockServer::start().await;
    let id = buy_id(&s, IPV6_PLAN).await;
    for (what, body, code) in [
        ("country", json!({"country": "d"}), "invalid_country"),
        ("country", json!({"country": 1}), "invalid_country"),
        ("country", json!({}), "invalid_request"),
        ("rotation", json!({"rotation": "!!"}), "invalid_rotation"),
        (
            "rotation",
            json!({"rotation": "x", "y": 1}),
            "invalid_request",
        ),
    ] {
        expect_put(&s, &format!("/services/{id}/{what}"), body, code).await;
    }
}

#[tokio::test]
async fn query_parameter_codes() {
    let s = MockServer::start().await;
    let id = buy_id(&s, IPV6_PLAN).await;
    let proxies = |q: &str| format!("/services/{id}/proxies?{q}");
    for (path, code) in [
        ("/catalog/plans?type=ipv4_static".to_owned(), "invalid_type"),
        ("/services?type=nope".to_owned(), "invalid_type"),
        ("/services?limit=0".to_owned(), "invalid_request"),
        ("/services?limit=101".to_owned(), "invalid_request"),
        ("/services?limit=ten".to_owned(), "invalid_request"),
        ("/services?status=gone".to_owned(), "invalid_request"),
        ("/services?cursor=garbage".to_owned(), "invalid_request"),
        ("/logs?limit=201".to_owned(), "invalid_request"),
        ("/logs?since=yesterday".to_owned(), "invalid_request"),
        (
            "/logs?until=2026-13-01T00:00:00Z".to_owned(),
            "invalid_request",
        ),
        (proxies("format=xml"), "invalid_request"),
        (proxies("layout=nope"), "invalid_request"),
        (proxies("auth=maybe"), "invalid_request"),
        // The spec's `x-error-code` of GatewayCountry, as the facade refuses it locally.
        (proxies("country=us"), "invalid_country"),
    ] {
        expect_error(&s, Method::GET, &path, None, 400, code).await;
    }
    // Valid values pass.
    for path in [
        "/services?limit=100&status=all&type=ipv6_rotating",
        "/logs?limit=200&since=2020-01-01T00:00:00Z",
    ] {
        assert_eq!(get(&s, path).await.status, 200, "{path}");
    }
    assert_clean(&s);
}

#[tokio::test]
async fn unauthorized_cases_are_401_invalid_token_without_rate_headers() {
    let s = MockServer::start().await;
    let other = s.accounts().add(10);
    let bad_tokens: Vec<Option<String>> = vec![
        None,
        Some("opx_live_00000000000000000000000000000000".into()),
        Some(format!("{}0", s.token())),
        Some(String::new()),
    ];
    for t in &bad_tokens {
        let r = call_as(&s, t.as_deref(), Method::GET, "/account", None).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (401, "invalid_token"),
            "{t:?}"
        );
        assert!(r.header("x-ratelimit-limit").is_none());
    }
    // Wrong scheme.
    let r = reqwest::Client::new()
        .get(format!("{}/account", s.base_url()))
        .header("authorization", format!("Basic {}", s.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Revoked.
    s.accounts().revoke(&other.token);
    let r = call_as(&s, Some(&other.token), Method::GET, "/account", None).await;
    assert_eq!((r.status, r.code().as_str()), (401, "invalid_token"));
    // Pinned elsewhere, then pinned here.
    s.accounts()
        .pin(s.token(), vec![IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))]);
    let r = get(&s, "/account").await;
    assert_eq!((r.status, r.code().as_str()), (401, "invalid_token"));
    s.accounts()
        .pin(s.token(), vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    assert_eq!(get(&s, "/account").await.status, 200);
    assert_clean(&s);
}

#[tokio::test]
async fn auth_comes_before_validation() {
    let s = MockServer::start().await;
    let r = call_as(&s, None, Method::GET, "/services/xyz", None).await;
    assert_eq!(r.code(), "invalid_token");
}

#[tokio::test]
async fn requests_are_recorded_with_verdicts_and_redacted_auth() {
    let s = MockServer::start().await;
    get(&s, "/account").await;
    get(&s, "/services/xyz").await;
    call_as(&s, None, Method::GET, "/account", None).await;
    let reqs = s.records().requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].operation, Some(opx::Operation::GetAccount));
    assert_eq!(reqs[0].auth, AuthStatus::Valid);
    assert_eq!(reqs[0].verdict, RequestVerdict::Valid);
    assert_eq!(reqs[0].status, 200);
    assert_eq!(reqs[0].header("authorization"), Some("<redacted>"));
    assert!(
        reqs.iter()
            .all(|r| r.headers.iter().all(|(_, v)| !v.contains(s.token())))
    );
    assert!(
        matches!(&reqs[1].verdict, RequestVerdict::Invalid { code, .. } if *code == ErrorCode::InvalidId)
    );
    assert_eq!(reqs[1].path, "/api/v1/services/xyz");
    assert_eq!(reqs[2].auth, AuthStatus::Missing);
    assert_eq!(reqs[2].status, 401);
}
