//! Shared helpers for the mock tests: a small HTTP client over the in-process mock.
#![allow(dead_code)]

use opx::mock::MockServer;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

#[path = "fixtures.rs"]
mod fixtures;
pub use fixtures::*;

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// The error code of an error envelope.
    pub fn code(&self) -> String {
        let v = self.json();
        assert_eq!(v["status"], "error", "not an error envelope: {}", self.text);
        v["error"]["code"].as_str().unwrap_or_default().to_string()
    }
    pub fn data(&self) -> Value {
        let v = self.json();
        assert_eq!(v["status"], "ok", "not a success envelope: {}", self.text);
        v["data"].clone()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    pub fn header_u64(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .parse()
            .unwrap_or_else(|_| panic!("header {name} is not an integer"))
    }
}

/// A request with the default account's token.
pub async fn call(s: &MockServer, method: Method, path: &str, body: Option<Value>) -> Resp {
    call_as(s, Some(s.token()), method, path, body).await
}

/// A request with the given token (or none).
pub async fn call_as(
    s: &MockServer,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let mut rb = reqwest::Client::new().request(method, format!("{}{path}", s.base_url()));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    read(rb.send().await.expect("transport error")).await
}

/// Sends `rb` and reads the answer as JSON (whatever its status).
pub async fn json_of(rb: reqwest::RequestBuilder) -> Value {
    let r = rb.send().await.expect("transport error");
    r.json().await.expect("a JSON body")
}

/// A response, read whole.
async fn read(r: reqwest::Response) -> Resp {
    Resp {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        text: r.text().await.expect("body"),
    }
}

/// A request with a raw body and content type.
pub async fn call_raw(
    s: &MockServer,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Resp {
    let r = reqwest::Client::new()
        .request(method, format!("{}{path}", s.base_url()))
        .bearer_auth(s.token())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("transport error");
    read(r).await
}

pub async fn get(s: &MockServer, path: &str) -> Resp {
    call(s, Method::GET, path, None).await
}

/// Buys a service of the default account; returns its data.
pub async fn buy(s: &MockServer, plan: &str) -> Value {
    buy_as(s, s.token(), plan).await
}

/// Buys a service with a token; returns its data.
pub async fn buy_as(s: &MockServer, token: &str, plan: &str) -> Value {
    let t = if plan == IPV4_PLAN || plan == IPV4_PLAN_SMALL {
        "ipv4_rotating"
    } else {
        "ipv6_rotating"
    };
    let r = call_as(
        s,
        Some(token),
        Method::POST,
        "/purchase",
        Some(json!({"type": t, "plan_id": plan})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.data()
}

/// Buys a service of the default account; returns its id.
pub async fn buy_id(s: &MockServer, plan: &str) -> String {
    service_id(&buy(s, plan).await).to_string()
}

/// The id of a service (as the API shows it).
pub fn service_id(svc: &Value) -> &str {
    svc["service_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no service id in {svc}"))
}

/// The proxy login and password of a service (as the API shows it).
pub fn auth(svc: &Value) -> (&str, &str) {
    let field = |k: &str| {
        svc["auth"][k]
            .as_str()
            .unwrap_or_else(|| panic!("no auth.{k} in {svc}"))
    };
    (field("login"), field("password"))
}

/// A request with the default account's token that must fail with `status` and `code` (and,
/// as every authenticated answer, carry the rate-limit headers); returns the answer for further
/// checks.
pub async fn expect_error(
    s: &MockServer,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
    code: &str,
) -> Resp {
    let r = call(s, method.clone(), path, body.clone()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (status, code),
        "{method} {path} {body:?}: {}",
        r.text
    );
    assert!(
        r.header("x-ratelimit-limit").is_some(),
        "rate-limit headers on {status}"
    );
    r
}

/// The array `key` of the data of a successful `GET path`.
pub async fn list(s: &MockServer, path: &str, key: &str) -> Vec<Value> {
    let data = get(s, path).await.data();
    data[key]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no array {key} in {data}"))
        .clone()
}

/// The request body the docs show for `op` (the spec's `examples.docs` of its JSON body), if
/// it has a body: a valid request derived from the spec, for tests that call every operation.
pub fn docs_body(op: opx::Operation) -> Option<Value> {
    static SPEC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let spec = SPEC.get_or_init(|| serde_json::from_str(opx::spec::OPENAPI_JSON).unwrap());
    let method = op.method().as_str().to_ascii_lowercase();
    let body = &spec["paths"][op.path()][method]["requestBody"]["content"]["application/json"];
    let example = body["examples"]["docs"]["value"].clone();
    (!example.is_null()).then_some(example)
}
