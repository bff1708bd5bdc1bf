//! Fault injection: statuses, HTML 502, rate limits, delays, dropped connections, broken bodies.

use crate::support;
use opx::Operation;

use std::time::Duration;

use opx::mock::{Fault, MockServer};
use reqwest::Method;
use serde_json::json;
use support::*;

fn purchase_body() -> serde_json::Value {
    json!({"type": "ipv4_rotating", "plan_id": IPV4_PLAN})
}

async fn send_purchase(s: &MockServer) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::new()
        .post(format!("{}/purchase", s.base_url()))
        .bearer_auth(s.token())
        .json(&purchase_body())
        .send()
        .await
}

/// A fresh mock with `fault` injected once for `op`.
async fn with_fault(op: Operation, fault: Fault) -> MockServer {
    let s = MockServer::start().await;
    s.faults().inject(op, fault, 1);
    s
}

/// Asserts an error answer with `status` and the `server_error` code.
fn assert_server_error(r: &Resp, status: u16) {
    assert_eq!(
        (r.status, r.code().as_str()),
        (status, "server_error"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn status_fault_replaces_the_response_for_n_calls() {
    let s = MockServer::start().await;
    s.faults()
        .inject(Operation::GetAccount, Fault::Status(503), 2);
    for _ in 0..2 {
        assert_server_error(&get(&s, "/account").await, 503);
    }
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 200);
    assert_eq!(s.records().executions(Operation::GetAccount), 1);

    s.faults()
        .inject(Operation::Purchase, Fault::Status(500), 1);
    let r = call(&s, Method::POST, "/purchase", Some(purchase_body())).await;
    assert_server_error(&r, 500);
    assert_eq!(
        s.services().count(),
        0,
        "a replaced response does not run the handler"
    );
    assert_eq!(s.records().executions(Operation::Purchase), 0);
    assert_clean(&s);
}

/// The answer to `GET path` under `fault`: `status`, with an HTML content type.
async fn html_answer(op: Operation, fault: Fault, path: &str, status: u16) -> Resp {
    let s = with_fault(op, fault).await;
    let r = get(&s, path).await;
    assert_eq!(r.status, status);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    r
}

#[tokio::test]
async fn html_502_as_a_proxy_sends_it() {
    let r = html_answer(Operation::ListPlans, Fault::Html502, "/catalog/plans", 502).await;
    assert!(r.text.contains("502 Bad Gateway"));
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
}

#[tokio::test]
async fn rate_limited_with_and_without_retry_after() {
    let s = MockServer::start().await;
    rate_limit_next(&s, Operation::GetAccount, Some(7));
    rate_limit_next(&s, Operation::GetAccount, None);
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(r.header_u64("retry-after"), 7);
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), None);
    assert_eq!(get(&s, "/account").await.status, 200);
}

#[tokio::test]
async fn delay_then_normal_answer() {
    let s = with_fault(
        Operation::GetAccount,
        Fault::Delay(Duration::from_millis(300)),
    )
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let err = try_get(&impatient, &s, "/account").await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    s.faults().inject(
        Operation::GetAccount,
        Fault::Delay(Duration::from_secs(1)),
        1,
    );
    // The wait is on the mock's clock: moving it releases the answer.
    let mover = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.clock().advance(Duration::from_secs(1));
    };
    let (r, ()) = tokio::join!(get(&s, "/account"), mover);
    assert_eq!(r.status, 200, "a delay answers normally");
}

#[tokio::test]
async fn drop_before_response_is_a_transport_error_and_nothing_happens() {
    let s = with_fault(Operation::Purchase, Fault::DropBeforeResponse).await;
    let err = send_purchase(&s).await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    assert_eq!(s.services().count(), 0);
    assert_eq!(s.records().executions(Operation::Purchase), 0);
    assert_eq!(s.accounts().balance(), 100_000);
}

#[tokio::test]
async fn drop_after_commit_purchase_happened_but_client_never_hears() {
    let s = with_fault(Operation::Purchase, Fault::DropAfterCommit).await;
    let err = send_purchase(&s).await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert_eq!(s.records().executions(Operation::Purchase), 1);
    assert_eq!(s.services().count(), 1);
    assert_eq!(s.accounts().balance(), 100_000 - 1500);
    // The service is visible through the API: what a careful client checks before retrying.
    let page = get(&s, "/services").await.data();
    assert_eq!(page["services"].as_array().unwrap().len(), 1);
    assert_clean(&s);
}

#[tokio::test]
async fn malformed_json_with_200() {
    let s = with_fault(Operation::GetAccount, Fault::MalformedJson).await;
    let r = raw_get(&reqwest::Client::new(), &s, "/account").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let err = r.json::<serde_json::Value>().await.unwrap_err();
    assert!(err.is_decode(), "{err:?}");
}

#[tokio::test]
async fn truncated_body_fails_while_reading() {
    let s = with_fault(Operation::GetAccount, Fault::TruncatedBody).await;
    let r = raw_get(&reqwest::Client::new(), &s, "/account").await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.content_length(), Some(4096));
    let err = r.bytes().await.unwrap_err();
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_content_type_with_200() {
    html_answer(
        Operation::GetAccount,
        Fault::WrongContentType,
        "/account",
        200,
    )
    .await;
}

#[tokio::test]
async fn faults_are_per_operation() {
    let s = with_fault(Operation::Purchase, Fault::Status(500)).await;
    assert_eq!(get(&s, "/account").await.status, 200);
    assert_eq!(
        call(&s, Method::POST, "/purchase", Some(purchase_body()))
            .await
            .status,
        500
    );
    assert_eq!(
        call(&s, Method::POST, "/purchase", Some(purchase_body()))
            .await
            .status,
        200
    );
    assert_eq!(s.services().count(), 1);
}

#[tokio::test]
async fn dropped_connection_sends_no_bytes_at_all() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = with_fault(Operation::GetAccount, Fault::DropBeforeResponse).await;
    let mut tcp = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let req = format!(
        "GET /api/v1/account HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n\r\n",
        s.addr(),
        s.token()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let _ = tcp.read_to_end(&mut got).await;
    assert!(got.is_empty(), "sent {:?}", String::from_utf8_lossy(&got));
}

/// A client that gives up on a delayed purchase: with `Delay` the mock abandons the call (the
/// purchase never runs), with `SlowCommit` it commits anyway, as a real server may. Both wait
/// on the mock's clock: nothing happens until it is moved past the delay.
#[tokio::test]
async fn a_client_that_hangs_up_leaves_a_delay_abandoned_and_a_slow_commit_committed() {
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let purchase = |s: &MockServer| {
        impatient
            .post(format!("{}/purchase", s.base_url()))
            .bearer_auth(s.token())
            .json(&purchase_body())
            .send()
    };
    // Polls for what the server does after the client left (bounded; no fixed sleep).
    async fn executions_after(s: &MockServer, wait: Duration) -> u64 {
        let until = std::time::Instant::now() + wait;
        while std::time::Instant::now() < until {
            if s.records().executions(Operation::Purchase) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        s.records().executions(Operation::Purchase)
    }
    let delay = Duration::from_millis(200);

    let s = MockServer::start().await;
    let balance = s.accounts().balance();
    s.faults()
        .inject(Operation::Purchase, Fault::Delay(delay), 1);
    assert!(purchase(&s).await.unwrap_err().is_timeout());
    // The server drops the held call when it sees the connection close (an event, polled).
    for _ in 0..1000 {
        if s.records().stats().abandoned == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        s.records().stats().abandoned,
        1,
        "the held call was dropped with its connection"
    );
    s.clock().advance(delay);
    assert_eq!(executions_after(&s, delay * 3).await, 0, "abandoned");
    assert_eq!((s.accounts().balance(), s.services().count()), (balance, 0));

    let s = MockServer::start().await;
    let balance = s.accounts().balance();
    s.faults()
        .inject(Operation::Purchase, Fault::SlowCommit(delay), 1);
    assert!(purchase(&s).await.unwrap_err().is_timeout());
    assert_eq!(
        executions_after(&s, delay).await,
        0,
        "not before the mock's clock reaches the delay"
    );
    s.clock().advance(delay);
    assert_eq!(
        executions_after(&s, Duration::from_secs(5)).await,
        1,
        "committed late"
    );
    assert_eq!(s.services().count(), 1);
    assert!(
        s.accounts().balance() < balance,
        "charged after the client left"
    );
}

/// Committed, then garbled: the operation runs, the answer is the inner fault's.
#[tokio::test]
async fn after_commit_runs_the_operation_then_garbles_the_answer() {
    let garbled = Fault::AfterCommit(Box::new(Fault::MalformedJson));
    let s = with_fault(Operation::Purchase, garbled).await;
    let r = send_purchase(&s).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.bytes().await.unwrap()).is_err());
    assert_eq!(s.records().executions(Operation::Purchase), 1);
    assert_eq!(s.services().count(), 1);
}

/// Committed, then answered late: the charge is made before the delay, the real answer
/// follows it (a client with a shorter deadline has left by then).
#[tokio::test]
async fn after_commit_with_a_delay_commits_first_and_answers_late() {
    let late = Fault::AfterCommit(Box::new(Fault::Delay(Duration::from_secs(300))));
    let s = with_fault(Operation::Purchase, late).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let sent = impatient
        .post(format!("{}/purchase", s.base_url()))
        .bearer_auth(s.token())
        .json(&purchase_body())
        .send()
        .await;
    assert!(sent.unwrap_err().is_timeout());
    assert_eq!(
        s.records().executions(Operation::Purchase),
        1,
        "committed before the delay"
    );
    // The next one is answered in full, late (once the mock's clock passes the delay): the
    // real answer, not a replacement.
    s.faults().inject(
        Operation::Purchase,
        Fault::AfterCommit(Box::new(Fault::Delay(Duration::from_secs(50)))),
        1,
    );
    let answer = tokio::spawn({
        let (url, token) = (format!("{}/purchase", s.base_url()), s.token().to_owned());
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&purchase_body())
                .send()
                .await
        }
    });
    for _ in 0..1000 {
        if s.services().count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(s.services().count(), 2, "committed before the delay");
    assert!(!answer.is_finished(), "held until the mock's clock moves");
    s.clock().advance(Duration::from_secs(50));
    let r = answer.await.unwrap().unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["data"]["service_id"].is_string(), "{body}");
    assert_eq!(s.services().count(), 2);
}

/// Overrides reshape the answers of one operation, for as many answers as asked, after the
/// answer was checked against the spec (no schema violation is recorded for the drift).
#[tokio::test]
async fn response_overrides_reshape_answers_and_run_out() {
    use opx::mock::{ResponseOverride, Transform};
    let s = MockServer::start().await;
    s.faults().override_response(
        Operation::GetAccount,
        ResponseOverride::default()
            .status(201)
            .header("x-ratelimit-reset", Some("1900000000".into()))
            .transform(Transform::rename("/data/balance", "funds"))
            .times(1),
    );
    let r = get(&s, "/account").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-ratelimit-reset").as_deref(), Some("1900000000"));
    let data = r.json()["data"].clone();
    assert!(
        data.get("balance").is_none() && data["funds"] == 100_000,
        "{data}"
    );
    let r = get(&s, "/account").await;
    assert_eq!(
        (r.status, r.json()["data"]["balance"].clone()),
        (200, 100_000.into())
    );
    assert!(s.records().schema_violations().is_empty());
}
