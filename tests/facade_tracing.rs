//! Tracing: one span per request with operation, method, path, status, latency, attempts and
//! remaining rate limit; never headers, query strings or bodies, the token or proxy passwords.

#[path = "support/capture.rs"]
mod capture;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/scripted.rs"]
mod scripted;

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use capture::Capture;
use opx::types::{GatewayCountry, ProxyLayout, ProxyQuery, Whitelist};
use scripted::{Reply, Scripted, TOKEN, service_json};
use tracing::field::{Field, Visit};
use tracing_subscriber::{
    Layer, fmt::format::FmtSpan, layer::Context, layer::SubscriberExt, registry::LookupSpan,
};

/// Every span and event of the `opx` target with its fields, exactly as recorded.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<Item>>>);

#[derive(Debug, Clone)]
struct Item {
    name: String,
    id: Option<u64>,
    fields: Vec<(String, String)>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Recorded {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Item {
            name: attrs.metadata().name().to_owned(),
            id: Some(id.into_u64()),
            fields,
        });
    }
    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: Context<'_, S>,
    ) {
        let mut items = self.0.lock().unwrap();
        if let Some(item) = items.iter_mut().rev().find(|i| i.id == Some(id.into_u64())) {
            values.record(&mut Fields(&mut item.fields));
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Item {
            name: format!("event {}", event.metadata().target()),
            id: None,
            fields,
        });
    }
}

/// Text that appears only in headers, query strings or bodies of the session below.
const ONLY_IN_HEADERS_QUERIES_BODIES: &[&str] = &[
    "HDR-MARKER",
    "BODY-MARKER-label",
    "MSG-MARKER",
    "user_pass_at_host_port",
    "layout",
    "format",
    "auth=",
    "country",
    "203.0.113.77",
    "alice",
    "s3cr3t-proxy-pw",
    "application/json",
    "opx/",
    "Bearer",
    "api-version",
];

#[tokio::test]
async fn spans_carry_call_facts_and_no_headers_queries_bodies_or_secrets() {
    let capture = Capture::default();
    let recorded = Recorded::default();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_span_events(FmtSpan::CLOSE)
                .with_ansi(false)
                .with_writer(capture.clone()),
        )
        .with(recorded.clone().with_filter(
            tracing_subscriber::filter::Targets::new().with_target("opx", tracing::Level::TRACE),
        ))
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    let _guard = tracing::subscriber::set_default(subscriber);

    let sid = "65aa1100b2c3d4e5f6a7b8d0";
    let s = Scripted::start(
        Reply::ok(service_json(sid))
            .rate(300, 299, 60)
            .header("x-marker", "HDR-MARKER"),
    )
    .await;
    s.push(Reply::error(503, "server_error").header("x-marker", "HDR-MARKER"));
    let c = s.client().build().unwrap();
    let id = sid.parse().unwrap();
    let svc = c.service(&id).await.unwrap();
    assert_eq!(svc.auth.password(), "s3cr3t-proxy-pw");
    s.push(
        Reply::raw(200, "text/plain", "alice:s3cr3t-proxy-pw@nl.gw:8000\n")
            .rate(300, 297, 60)
            .header("x-marker", "HDR-MARKER"),
    );
    let query = ProxyQuery::new()
        .layout(ProxyLayout::UserPassAtHostPort)
        .country(GatewayCountry::Nl)
        .auth(true);
    c.proxies(&id, &query).await.unwrap();
    let whitelist = Whitelist::with_labels([(
        "203.0.113.77".parse::<std::net::Ipv4Addr>().unwrap(),
        "BODY-MARKER-label",
    )])
    .unwrap();
    c.replace_whitelist(&id, &whitelist).await.unwrap();
    s.push(Reply::json(
        404,
        serde_json::json!({"status": "error", "error": {"code": "not_found", "message": "MSG-MARKER"}}),
    ));
    let e = c
        .regenerate_credentials(&"00".repeat(12).parse().unwrap())
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(e.message(), "MSG-MARKER");
    // The markers did travel: in the query, the body, the headers.
    let seen = s.seen();
    assert!(
        seen[2].target.contains("layout=user_pass_at_host_port"),
        "{seen:?}"
    );
    assert!(String::from_utf8_lossy(&seen[3].body).contains("BODY-MARKER-label"));

    let items = recorded.0.lock().unwrap().clone();
    let spans: Vec<&Item> = items.iter().filter(|i| i.name == "opx.request").collect();
    assert_eq!(spans.len(), 4, "one span per call: {items:#?}");
    // Every span has these fields, and may have the remaining rate limit: nothing else.
    let required = [
        "operation",
        "method",
        "path",
        "status",
        "latency_ms",
        "attempts",
    ];
    let allowed: BTreeSet<&str> = required
        .into_iter()
        .chain(["ratelimit_remaining"])
        .collect();
    for span in &spans {
        let names: BTreeSet<&str> = span.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.is_subset(&allowed), "{span:?}");
        for k in required {
            assert!(names.contains(k), "{k} missing: {span:?}");
        }
    }
    let field = |span: &Item, k: &str| {
        span.fields
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let paths: Vec<String> = spans.iter().flat_map(|s| field(s, "path")).collect();
    assert_eq!(
        paths,
        [
            format!("/api/v1/services/{sid}"),
            format!("/api/v1/services/{sid}/proxies"),
            format!("/api/v1/services/{sid}/whitelist"),
            format!("/api/v1/services/{}/credentials", "00".repeat(12)),
        ]
    );
    assert_eq!(field(spans[0], "attempts"), ["2"], "retried once");
    assert_eq!(field(spans[0], "ratelimit_remaining"), ["299"]);
    assert_eq!(field(spans[3], "status"), ["404"]);
    // Nothing from headers, query strings or bodies in any field of any span or event.
    for item in &items {
        for (k, v) in &item.fields {
            for marker in ONLY_IN_HEADERS_QUERIES_BODIES {
                assert!(
                    !v.contains(marker) && !k.contains(marker),
                    "{marker:?} in {item:?}"
                );
            }
            assert!(!v.contains('?'), "a query string in {item:?}");
        }
    }

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
    for marker in ["HDR-MARKER", "BODY-MARKER-label", "MSG-MARKER", "layout="] {
        assert!(!out.contains(marker), "{marker:?} in the log: {out}");
    }
}
