//! The control API under `/_mock/`, endpoint by endpoint, as a test in another language would
//! use it (plain HTTP, no token), and the Rust API it mirrors.

use crate::support;

use opx::Operation;
use opx::mock::{Expectation, MockServer, StateFile};
use reqwest::Method;
use serde_json::{Value, json};
use support::*;

async fn control(s: &MockServer, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("http://{}/_mock{path}", s.addr());
    let mut rb = reqwest::Client::new().request(method, url);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn accounts_balances_services_and_the_clock_are_set_over_http() {
    let s = MockServer::start().await;
    let (st, a) = control(&s, Method::POST, "/accounts", Some(json!({"balance": 777}))).await;
    assert_eq!(st, 200, "{a}");
    let token = a["token"].as_str().unwrap().to_string();
    let username = a["username"].as_str().unwrap().to_string();
    assert_eq!(s.accounts().balance_of(&token), Some(777));
    let (st, _) = control(
        &s,
        Method::PUT,
        &format!("/accounts/{username}/balance"),
        Some(json!({"balance": 5})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(s.accounts().balance_of(&token), Some(5));

    let (st, v) = control(
        &s,
        Method::POST,
        "/services",
        Some(json!({"count": 2, "type": "ipv6_rotating", "country": "de", "expires_in_seconds": 60, "whitelist": ["203.0.113.10"]})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let ids: Vec<String> = serde_json::from_value(v["service_ids"].clone()).unwrap();
    assert_eq!(ids.len(), 2);
    let svc = get(&s, &format!("/services/{}", ids[0])).await.data();
    assert_eq!(
        (svc["type"].as_str(), svc["country"].as_str()),
        (Some("ipv6_rotating"), Some("de"))
    );
    assert_eq!(svc["whitelist"][0]["ip"], "203.0.113.10");

    let (_, before) = control(&s, Method::GET, "/clock", None).await;
    let (st, after) = control(
        &s,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 120})),
    )
    .await;
    assert_eq!(st, 200);
    assert_ne!(before["now"], after["now"]);
    assert_eq!(
        get(&s, &format!("/services/{}", ids[0])).await.data()["status"],
        "expired"
    );
}

#[tokio::test]
async fn faults_overrides_requests_stats_and_reset() {
    let s = MockServer::start().await;
    let (st, v) = control(
        &s,
        Method::POST,
        "/faults",
        Some(json!({"operation": Operation::GetAccount.id(), "fault": {"kind": "status", "status": 503}, "nth": 2})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(get(&s, "/account").await.status);
    }
    assert_eq!(got, [200, 503, 200], "only the second call");
    let (_, listed) = control(&s, Method::GET, "/faults", None).await;
    assert_eq!(listed["faults"].as_array().unwrap().len(), 0);

    let (st, _) = control(
        &s,
        Method::POST,
        "/overrides",
        Some(json!({"operation": Operation::GetAccount.id(), "response": {"transforms": [{"op": "rename", "path": "/data/balance", "to": "funds"}]}})),
    )
    .await;
    assert_eq!(st, 200);
    assert!(get(&s, "/account").await.data().get("funds").is_some());
    control(&s, Method::DELETE, "/overrides", None).await;
    assert!(get(&s, "/account").await.data().get("balance").is_some());

    let (_, reqs) = control(&s, Method::GET, "/requests", None).await;
    let reqs = reqs["requests"].as_array().unwrap().clone();
    assert_eq!(reqs.len(), 5);
    assert!(
        reqs.iter()
            .all(|r| r["headers"].to_string().contains("<redacted>"))
    );
    assert!(
        !serde_json::to_string(&reqs).unwrap().contains(s.token()),
        "the token never shows"
    );
    buy(&s, IPV4_PLAN).await;
    let (_, stats) = control(&s, Method::GET, "/stats", None).await;
    assert_eq!(stats["requests"], 6);
    assert_eq!(stats["responses_by_status"]["200"], 5);
    assert_eq!(stats["responses_by_status"]["503"], 1);
    assert_eq!(stats["charges"], 1);
    assert_eq!(s.records().stats().charges, 1);

    let (st, _) = control(&s, Method::POST, "/reset", None).await;
    assert_eq!(st, 200);
    assert_eq!(
        (
            s.services().count(),
            s.accounts().balance(),
            s.records().stats().requests
        ),
        (0, 100_000, 0)
    );
    assert_eq!(
        get(&s, "/account").await.status,
        200,
        "the token still works"
    );
}

#[tokio::test]
async fn malformed_control_requests_get_a_400_naming_the_problem() {
    let s = MockServer::start().await;
    let (services, now, requests) = (
        s.services().count(),
        s.clock().now(),
        s.records().requests().len(),
    );
    for (path, body, needle) in [
        (
            "/faults",
            json!({"operation": "extend_service", "fault": {"kind": "html502"}}),
            "unknown operation",
        ),
        (
            "/faults",
            json!({"operation": Operation::Purchase.id(), "fault": {"kind": "explode"}}),
            "fault",
        ),
        (
            "/faults",
            json!({"operation": Operation::Purchase.id(), "fault": {"kind": "html502"}, "times": 1, "nth": 2}),
            "one of times",
        ),
        ("/clock/advance", json!({"seconds": "soon"}), "seconds"),
        ("/services", json!({"count": 1, "colour": "red"}), "colour"),
        ("/services", json!({"count": "3"}), "count"),
        (
            "/overrides",
            json!({"operation": Operation::GetAccount.id(), "response": {"stauts": 201}}),
            "response",
        ),
    ] {
        let (st, v) = control(&s, Method::POST, path, Some(body)).await;
        assert_eq!(st, 400, "{path}: {v}");
        let e = v["error"].as_str().unwrap_or_default();
        assert!(e.contains(needle), "{path}: {e}");
    }
    // A refused request changed nothing: no service seeded, the clock where it was, no fault
    // or override armed (the next API call is answered as it always is).
    assert_eq!((s.services().count(), s.clock().now()), (services, now));
    let (_, faults) = control(&s, Method::GET, "/faults", None).await;
    assert_eq!(faults["faults"], json!([]), "{faults}");
    let account = s.client().account().await.unwrap();
    assert_eq!(account.status().as_u16(), 200);
    assert_eq!(
        s.records().requests().len(),
        requests + 1,
        "only the API call was recorded"
    );
    let (st, _) = control(&s, Method::GET, "/nothing", None).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn a_seed_makes_ids_tokens_and_credentials_repeat() {
    let run = || async {
        let s = MockServer::builder().seed(42).start().await.unwrap();
        let ids = s.services().seed(3);
        let svc = get(&s, &format!("/services/{}", ids[0])).await.data();
        (s.token().to_string(), ids, svc["auth"].clone())
    };
    let (a, b) = (run().await, run().await);
    assert_eq!(a, b);
    let other = MockServer::builder().seed(43).start().await.unwrap();
    assert_ne!(other.token(), a.0);
}

#[tokio::test]
async fn the_state_exports_and_starts_a_new_mock() {
    let s = MockServer::start().await;
    let bought = buy(&s, IPV6_PLAN).await;
    let (_, exported) = control(&s, Method::GET, "/state", None).await;
    let file = StateFile::from_json(&exported.to_string()).unwrap();
    assert_eq!(file, s.accounts().export_state());
    let t = MockServer::builder().state(file).start().await.unwrap();
    assert_eq!(t.token(), s.token());
    let id = service_id(&bought);
    let again = get(&t, &format!("/services/{id}")).await.data();
    assert_eq!(again["auth"], bought["auth"]);
    assert!(!list(&t, "/logs", "logs").await.is_empty());
    assert!(StateFile::from_json(r#"{"accounts": []}"#).is_err());
}

#[tokio::test]
async fn expectations_are_verified_and_say_what_was_called() {
    let s = MockServer::start().await;
    s.records()
        .expect(Operation::Purchase, Expectation::exactly(1));
    s.records()
        .expect(Operation::GetAccount, Expectation::at_most(1));
    let e = s.records().verify().unwrap_err();
    assert!(
        e.contains("purchase: expected exactly 1 call(s), got 0"),
        "{e}"
    );
    buy(&s, IPV4_PLAN).await;
    get(&s, "/account").await;
    assert!(s.records().verify().is_ok());
    get(&s, "/account").await;
    let e = s.records().verify().unwrap_err();
    assert!(
        e.contains("getAccount: expected at most 1") && e.contains("called: "),
        "{e}"
    );
    // Dropping a server with an unmet expectation panics with the same report.
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(s)));
    let message = dropped.unwrap_err();
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("getAccount: expected at most 1"), "{text}");
}
