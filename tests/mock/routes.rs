//! The route table comes from the spec: every operation has a handler, 404, 405, openapi.json.

use crate::support;

use std::collections::BTreeSet;

use opx::Operation;
use opx::mock::MockServer;
use reqwest::Method;
use serde_json::Value;
use support::*;

#[test]
fn the_operation_table_is_the_specs() {
    // The generated table is exactly the spec's operations, read independently here. (That
    // every operation has a mock handler is a compile-time fact: the match is exhaustive.)
    let doc: Value = serde_json::from_str(opx::spec::OPENAPI_JSON).unwrap();
    let mut in_spec = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            in_spec.insert((
                verb.to_uppercase(),
                path.clone(),
                op["operationId"].as_str().unwrap().to_string(),
            ));
        }
    }
    let table: BTreeSet<_> = Operation::ALL
        .into_iter()
        .map(|o| {
            (
                o.method().to_string(),
                o.path().to_string(),
                o.id().to_string(),
            )
        })
        .collect();
    assert_eq!(in_spec, table);
    assert_eq!(
        table.len(),
        Operation::ALL.len(),
        "no operation listed twice"
    );
}

#[tokio::test]
async fn every_operation_answers_over_http() {
    let s = MockServer::start().await;
    let v6 = buy(&s, IPV6_PLAN).await;
    let id = v6["service_id"].as_str().unwrap();
    for op in Operation::ALL {
        let path = op.path().replace("{id}", id);
        // The docs' own example of each request body: a new operation needs nothing here.
        let body = support::docs_body(op);
        let r = call(&s, op.method(), &path, body).await;
        assert_eq!(r.status, 200, "{} {}: {}", op.method(), path, r.text);
        assert!(s.records().executions(op) >= 1, "{op} did not run");
    }
    assert_clean(&s);
}

#[tokio::test]
async fn wrong_verb_is_405_with_allow() {
    let s = MockServer::start().await;
    let r = call(&s, Method::DELETE, "/account", None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.code(), "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("GET"));
    let r = call(&s, Method::GET, "/purchase", None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.code(), "method_not_allowed");
    let r = call(&s, Method::POST, "/services/65aa1100b2c3d4e5f6a7b8d0", None).await;
    assert_eq!(r.status, 405);
    assert_clean(&s);
}

#[tokio::test]
async fn unknown_path_is_404_not_found() {
    let s = MockServer::start().await;
    for path in [
        "/nope",
        "/services/",
        "/account/extra",
        "/services/65aa1100b2c3d4e5f6a7b8d0/nope",
    ] {
        let r = get(&s, path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.code(), "not_found", "{path}");
    }
    // Outside the base path, too.
    let r = reqwest::get(format!("http://{}/elsewhere", s.addr()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // Without a token as well.
    let r = call_as(&s, None, Method::GET, "/nope", None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn openapi_json_is_served_without_auth() {
    let s = MockServer::start().await;
    let r = call_as(&s, None, Method::GET, "/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.text, opx::spec::OPENAPI_JSON);
}

#[tokio::test]
async fn base_url_token_and_addr() {
    let s = MockServer::start().await;
    assert_eq!(s.base_url(), format!("http://{}/api/v1", s.addr()));
    assert!(s.addr().ip().is_loopback());
    let t = s.token();
    assert!(
        t.starts_with("opx_live_")
            && t.len() == 41
            && t[9..].bytes().all(|b| b.is_ascii_hexdigit())
    );
    let other = MockServer::start().await;
    assert_ne!(s.token(), other.token(), "tokens are random per server");
    let fixed = MockServer::builder()
        .token("opx_live_00000000000000000000000000000001")
        .balance(7)
        .start()
        .await
        .unwrap();
    assert_eq!(fixed.token(), "opx_live_00000000000000000000000000000001");
    assert_eq!(get(&fixed, "/account").await.data()["balance"], 7);
}

#[tokio::test]
async fn dropping_the_server_shuts_it_down() {
    let s = MockServer::start().await;
    let addr = s.addr();
    drop(s);
    // Give the spawned server task a chance to stop accepting.
    let mut refused = false;
    for _ in 0..50 {
        tokio::task::yield_now().await;
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "still accepting after drop");
}

#[tokio::test]
async fn a_response_that_breaks_the_spec_is_a_loud_500() {
    let s = MockServer::start().await;
    s.accounts().set_profile("alice", "not an e-mail address");
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.code(), "server_error");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(Operation::GetAccount.id()) && msg.contains("/data/email"),
        "{msg}"
    );
    assert_eq!(s.records().schema_violations().len(), 1);
    assert!(s.records().schema_violations()[0].contains("/data/email"));
    // With validation off the same response goes out as is.
    let lax = MockServer::builder()
        .validate_responses(false)
        .start()
        .await
        .unwrap();
    lax.accounts().set_profile("alice", "not an e-mail address");
    assert_eq!(get(&lax, "/account").await.status, 200);
    assert!(lax.records().schema_violations().is_empty());
}

#[test]
fn the_server_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MockServer>();
}
