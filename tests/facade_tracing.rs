//! Tracing: one span per request with operation, status, latency and remaining rate limit;
//! never the token or proxy passwords.

#[path = "support/capture.rs"]
mod capture;
#[path = "support/scripted.rs"]
mod scripted;

use capture::Capture;
use opx::ProxyQuery;
use scripted::{Reply, Scripted, TOKEN, service_json};
use tracing_subscriber::fmt::format::FmtSpan;

#[tokio::test]
async fn spans_carry_call_facts_and_no_secrets() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sid = "65aa1100b2c3d4e5f6a7b8d0";
    let s = Scripted::start(Reply::ok(service_json(sid)).rate(300, 299, 60)).await;
    s.push(Reply::error(503, "server_error"));
    let c = s.client().build().unwrap();
    let id = sid.parse().unwrap();
    let svc = c.service(&id).await.unwrap();
    assert_eq!(svc.auth.password(), "s3cr3t-proxy-pw");
    s.push(Reply::raw(200, "text/plain", "nl.gw:8000:alice:s3cr3t-proxy-pw\n").rate(300, 297, 60));
    c.proxies(&id, &ProxyQuery::new()).await.unwrap();
    let e = c
        .regenerate_credentials(&"00".repeat(12).parse().unwrap())
        .await;
    let _ = e;

    let out = String::from_utf8(capture.bytes()).unwrap();
    assert!(out.contains("opx.request"), "{out}");
    assert!(out.contains("operation=\"getService\""), "{out}");
    assert!(out.contains("operation=\"getProxies\""), "{out}");
    assert!(out.contains("status=200"), "{out}");
    assert!(out.contains("attempts=2"), "retried once: {out}");
    assert!(out.contains("ratelimit_remaining=299"), "{out}");
    assert!(out.contains("latency_ms="), "{out}");
    assert!(!out.contains(TOKEN), "token leaked: {out}");
    assert!(!out.contains("0123456789abcdef0123456789abcdef"), "{out}");
    assert!(!out.contains("Bearer"), "{out}");
    assert!(!out.contains("s3cr3t-proxy-pw"), "password leaked: {out}");
}
