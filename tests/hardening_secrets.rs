//! Secrets: a token that could inject a header is refused before anything is sent; a whole
//! session through the facade (tracing at TRACE for every crate, `log` records included) and
//! through the `opx` binary (`OPX_LOG=trace`) never shows the token or a proxy password in
//! logs, `Debug`/`Display` output or error chains. (`opx proxies` and `--json` print proxy
//! passwords on stdout on purpose: that is the data asked for.)

#[path = "support/capture.rs"]
mod capture;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/opx_bin.rs"]
mod opx_bin;

use opx::Operation;
use std::{error::Error as _, process::Output};

use capture::Capture;
use fixtures::{IPV4_PLAN, IPV6_PLAN, ipv4_purchase};
use futures::TryStreamExt;
use opx::mock::{Bucket, Fault, MockServer};
use opx::types::{
    Country, LogQuery, ProxyLayout, ProxyQuery, PurchaseRequest, Rotation, ServiceQuery,
    ServiceType, Whitelist,
};
use opx::{Client, ErrorKind};
use tracing_subscriber::fmt::format::FmtSpan;

/// `opx purchase` of the IPv4 plan, confirmed.
const BUY_V4: [&str; 6] = [
    "purchase",
    "--type",
    "ipv4_rotating",
    "--plan",
    IPV4_PLAN,
    "--yes",
];

/// Every secret seen so far, and everything printed that must not contain them.
#[derive(Default)]
struct Scan {
    secrets: Vec<String>,
    shown: Vec<(String, String)>,
}

impl Scan {
    fn secret(&mut self, s: &str) {
        assert!(s.len() >= 8, "too short to scan for: {s:?}");
        self.secrets.push(s.to_owned());
    }
    fn show(&mut self, what: &str, text: String) {
        self.shown.push((what.to_owned(), text));
    }
    /// What a process printed.
    fn output(&mut self, what: &str, bytes: &[u8]) {
        self.show(what, String::from_utf8_lossy(bytes).into_owned());
    }
    fn error(&mut self, what: &str, e: &opx::Error) {
        let mut text = format!("{e}\n{e:?}\n");
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(&format!("{s}\n{s:?}\n"));
            source = s.source();
        }
        self.show(what, text);
    }
    fn assert_clean(&self) {
        assert!(self.secrets.len() >= 4, "the session saw too few secrets");
        for (what, text) in &self.shown {
            for secret in &self.secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{what} shows a secret:\n{text}"
                );
            }
            assert!(
                !text.contains("Bearer "),
                "{what} shows an authorization header"
            );
        }
    }
}

#[test]
fn tokens_that_could_inject_headers_are_refused_before_sending() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(MockServer::start());
    let _enter = rt.enter();
    for bad in [
        "opx_live_0123\r\nX-Injected: 1",
        "opx_live_0123\nX-Injected: 1",
        "opx_live_0123 X-Injected",
        "opx_live_0123\t",
        "opx_live_0123\u{7f}",
        "opx_live_0123\0",
        "opx_live_0123é",
        " opx_live_0123",
    ] {
        let e = Client::builder()
            .token(bad)
            .base_url(s.base_url())
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("token") && msg.contains("whitespace, control or non-ASCII"),
            "{msg}"
        );
        assert!(
            !msg.contains("X-Injected") && !msg.contains("0123"),
            "{msg}"
        );
    }
    // Through the CLI: exit 2, a clear message naming the variable's content problem, nothing
    // sent.
    for bad in ["opx_live_0123\r\nX-Injected: 1", "opx_live_0123\n"] {
        let env = [("OPX_TOKEN", bad), ("OPX_BASE_URL", s.base_url())];
        let out = opx_bin::command(&["account"], &env).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("token"), "{err}");
        assert!(!err.contains("X-Injected"), "{err}");
    }
    assert!(
        s.records().requests().is_empty(),
        "a request was sent: {:?}",
        s.records().requests()
    );
}

#[test]
fn a_facade_session_traced_at_trace_level_never_shows_a_secret() {
    let capture = Capture::default();
    // Global, so that every thread and every crate (hyper, reqwest through `log`, the mock)
    // writes into the capture.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(capture.clone())
        .try_init()
        .expect("the only global subscriber of this test binary");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut scan = Scan::default();
    rt.block_on(session(&mut scan));
    let logs = String::from_utf8_lossy(&capture.bytes()).into_owned();
    assert!(logs.contains("opx.request"), "tracing captured nothing");
    assert!(
        logs.lines().count() > 100,
        "too little was traced to mean anything"
    );
    scan.show("the TRACE log", logs);
    scan.assert_clean();
}

async fn session(scan: &mut Scan) {
    let s = MockServer::start().await;
    scan.secret(s.token());
    let c = s.client();
    scan.show("client", format!("{c:?}"));

    let account = c.account().await.unwrap();
    scan.show("account", format!("{account:?}"));
    let plans = c.plans(None).await.unwrap();
    scan.show("plans", format!("{plans:?}"));

    let v4 = c.purchase(&ipv4_purchase()).await.unwrap();
    scan.secret(v4.auth.password());
    scan.show("purchase", format!("{v4:?}"));
    let v6 = c
        .purchase(
            &PurchaseRequest::new(
                ServiceType::Ipv6Rotating,
                IPV6_PLAN.parse::<opx::types::PlanId>().unwrap(),
            )
            .country(Country::new("mixed").unwrap()),
        )
        .await
        .unwrap();
    scan.secret(v6.auth.password());
    scan.show("purchase v6", format!("{v6:?}"));
    let (id4, id6) = (v4.service_id.clone(), v6.service_id.clone());

    let page = c
        .services_page(&ServiceQuery::new().limit(1))
        .await
        .unwrap();
    scan.show("services page", format!("{page:?}"));
    let all: Vec<_> = c
        .services_stream(&ServiceQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    scan.show("services", format!("{all:?}"));
    let one = c.service(&id6).await.unwrap();
    scan.show("service", format!("{one:?}"));

    // The text list is the password-bearing data itself: not shown, but traced.
    let text = c.proxies_text(&id6, &ProxyQuery::new()).await.unwrap();
    assert!(text.contains(v6.auth.password()));
    let parsed = c
        .proxies(
            &id4,
            &ProxyQuery::new().layout(ProxyLayout::UserPassAtHostPort),
        )
        .await
        .unwrap();
    assert_eq!(parsed[0].password(), Some(v4.auth.password()));
    scan.show("parsed proxies", format!("{parsed:?}"));
    let servers = c.proxies_json(&id6, &ProxyQuery::new()).await.unwrap();
    assert!(!servers.servers.is_empty());
    scan.show("proxy servers", format!("{servers:?}"));

    let extended = c.extend(&id4).await.unwrap();
    scan.show("extend", format!("{extended:?}"));
    let wl = Whitelist::parse(["203.0.113.10"]).unwrap();
    scan.show(
        "whitelist",
        format!("{:?}", c.replace_whitelist(&id4, &wl).await.unwrap()),
    );
    let regenerated = c.regenerate_credentials(&id4).await.unwrap();
    scan.secret(regenerated.auth.password());
    scan.show("credentials", format!("{regenerated:?}"));
    let changed = c
        .change_country(&id6, &Country::new("de").unwrap())
        .await
        .unwrap();
    scan.show("country", format!("{changed:?}"));
    let changed = c
        .change_rotation(&id6, &Rotation::new("sticky10").unwrap())
        .await
        .unwrap();
    scan.show("rotation", format!("{changed:?}"));
    let logs = c.logs_page(&LogQuery::new().limit(200)).await.unwrap();
    scan.show("logs", format!("{logs:?}"));

    let outcome = c.purchase_safely(&ipv4_purchase()).await.unwrap();
    scan.show("purchase_safely", format!("{outcome:?}"));

    // Errors of every kind, Display, Debug and source chain.
    let unknown = "000000000000000000000001".parse().unwrap();
    let e = c.service(&unknown).await.unwrap_err();
    assert!(e.is_not_found());
    scan.error("not found", &e);
    let e = c
        .change_country(&id4, &Country::new("de").unwrap())
        .await
        .unwrap_err();
    scan.error("unsupported", &e);
    scan.error("validation", &Country::new("x").unwrap_err());
    s.faults()
        .inject(Operation::GetAccount, Fault::MalformedJson, 1);
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
    scan.error("malformed JSON", &e);
    s.faults()
        .inject(Operation::GetService, Fault::TruncatedBody, 5);
    let e = c.service(&id4).await.unwrap_err();
    assert!(e.is_transport(), "{e:?}");
    scan.error("truncated body", &e);
    // Faults that leave the outcome of a money call unknown.
    for (what, op, fault) in [
        (
            "html 502 on extend",
            Operation::ExtendService,
            Fault::Html502,
        ),
        (
            "dropped purchase",
            Operation::Purchase,
            Fault::DropAfterCommit,
        ),
        (
            "dropped extend",
            Operation::ExtendService,
            Fault::DropBeforeResponse,
        ),
    ] {
        s.faults().inject(op, fault, 1);
        let r = match op {
            Operation::Purchase => c.purchase(&ipv4_purchase()).await,
            _ => c.extend(&id4).await,
        };
        let e = r.unwrap_err();
        assert!(e.is_outcome_unknown(), "{what}: {e:?}");
        scan.error(what, &e);
    }
    s.accounts().set_limit(Bucket::GlobalMinute, 1);
    let e = c.account().await.unwrap_err();
    assert!(e.is_rate_limited(), "{e:?}");
    scan.error("rate limited", &e);
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimitedLocally, "{e:?}");
    scan.error("rate limited locally", &e);
    // A revoked key.
    s.accounts().set_limit(Bucket::GlobalMinute, 1000);
    s.clock().advance(std::time::Duration::from_secs(120));
    let c2 = s.client();
    s.accounts().revoke(s.token());
    let e = c2.account().await.unwrap_err();
    assert_eq!(
        e.code(),
        Some(&opx::types::ErrorCode::InvalidToken),
        "{e:?}"
    );
    scan.error("revoked", &e);
    // A connection refused (the server is gone).
    let base = s.base_url().to_owned();
    drop(s);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let gone = Client::builder()
        .token(scan.secrets[0].clone())
        .base_url(base)
        .retry_policy(opx::RetryPolicy::none())
        .build()
        .unwrap();
    let e = gone.account().await.unwrap_err();
    assert!(e.is_transport() && !e.is_timeout(), "{e:?}");
    scan.error("connection refused", &e);
}

fn run(server: &MockServer, args: &[&str]) -> Output {
    let env = [
        ("OPX_TOKEN", server.token()),
        ("OPX_BASE_URL", server.base_url()),
        ("OPX_LOG", "trace"),
    ];
    opx_bin::command(args, &env)
        .output()
        .expect("the opx binary runs")
}

#[test]
fn a_cli_session_with_opx_log_trace_never_shows_a_secret() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(MockServer::start());
    let mut scan = Scan::default();
    scan.secret(s.token());

    // Buy one of each type; --json prints the credentials on purpose (stdout not scanned).
    let mut ids = Vec::new();
    for (t, plan) in [("ipv4_rotating", IPV4_PLAN), ("ipv6_rotating", IPV6_PLAN)] {
        let out = run(
            &s,
            &["--json", "purchase", "--type", t, "--plan", plan, "--yes"],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        scan.secret(v["auth"]["password"].as_str().unwrap());
        ids.push(v["service_id"].as_str().unwrap().to_owned());
        scan.show(
            "purchase --json stderr",
            String::from_utf8_lossy(&out.stderr).into(),
        );
    }
    let (id4, id6) = (ids[0].as_str(), ids[1].as_str());
    // New credentials: their password is a secret too.
    let out = run(&s, &["--json", "credentials", id4, "--yes"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    scan.secret(v["auth"]["password"].as_str().unwrap());
    scan.show(
        "credentials --json stderr",
        String::from_utf8_lossy(&out.stderr).into(),
    );

    let human: &[&[&str]] = &[
        &["account"],
        &["plans"],
        &["services", "--all"],
        &["services", "--status", "all", "--limit", "1"],
        &["service", id4],
        &["service", id6],
        &["extend", id4, "--yes"],
        &["whitelist", id4, "203.0.113.10", "--label", "home", "--yes"],
        &["credentials", id6, "--yes"],
        &["country", id6, "de"],
        &["rotation", id6, "instant"],
        &["logs", "--all"],
        &["service", "000000000000000000000001"],
        &["country", id4, "de"],
        &["service", "not-an-id"],
        &["proxies", id4, "--format", "json"],
        &BUY_V4,
    ];
    for args in human {
        let out = run(&s, args);
        let what = args.join(" ");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            stderr.contains("TRACE") || stderr.contains("DEBUG") || args[1] == "not-an-id",
            "{what}: not traced: {stderr}"
        );
        scan.show(&format!("opx {what} (stderr)"), stderr);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if args[0] == "proxies" {
            continue;
        }
        scan.show(&format!("opx {what} (stdout)"), stdout);
    }
    // The human output hid the regenerated password; learn it to scan for it too.
    let out = run(&s, &["--json", "service", id6]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    scan.secret(v["auth"]["password"].as_str().unwrap());
    // The proxy list goes to stdout only; its trace on stderr stays clean.
    for args in [
        &["proxies", id4][..],
        &["proxies", id6, "--layout", "user_pass_at_host_port"],
    ] {
        let out = run(&s, args);
        assert_eq!(out.status.code(), Some(0));
        scan.output(&format!("opx {} (stderr)", args.join(" ")), &out.stderr);
    }
    // Failures: a dropped purchase (recovered by reconciliation: the new service, credentials
    // included, is printed), an HTML 502 on extend (nothing committed, but a 502 proves nothing:
    // unknown after a short watch, exit 5), a revoked key.
    s.faults()
        .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    s.faults()
        .inject(Operation::ExtendService, Fault::Html502, 1);
    for (args, code) in [
        (&BUY_V4[..], 0),
        (&["extend", id4, "--yes", "--watch", "0.1"], 5),
    ] {
        let out = run(&s, args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        scan.output("failure (stderr)", &out.stderr);
        scan.output("failure (stdout)", &out.stdout);
    }
    s.accounts().revoke(s.token());
    let out = run(&s, &["account"]);
    assert_eq!(out.status.code(), Some(3));
    scan.output("revoked (stderr)", &out.stderr);
    scan.assert_clean();
    drop(s);
}
