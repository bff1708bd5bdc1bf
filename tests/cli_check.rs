//! `opx check` against the in-process mock and its gateways, with a loopback echo as the
//! target (nothing leaves loopback): every endpoint ok on a fresh service, auth failures for
//! lines saved before `opx credentials`, failures once the service expired, the concurrency
//! bounded by the service's threads, and never a password in the output.

#[path = "support/echo.rs"]
mod echo;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/opx_bin.rs"]
mod opx_bin;

use std::process::Output;
use std::time::Duration;

use echo::Echo;
use opx::mock::MockServer;
use opx::types::{ServiceId, ServiceType};
use opx_bin::{exits, opx, stderr, stdout, usage_error};
use serde_json::Value;

/// A purchased service: (id, password).
async fn bought(server: &MockServer, t: ServiceType) -> (ServiceId, String) {
    let s = fixtures::bought(server, t).await;
    (s.service_id, s.auth.password().to_owned())
}

/// A mock with one service of `t`, a loopback echo to check it against, the service's id and
/// password.
async fn setup(t: ServiceType) -> (MockServer, Echo, ServiceId, String) {
    let server = MockServer::start().await;
    let echo = Echo::start().await;
    let (id, password) = bought(&server, t).await;
    (server, echo, id, password)
}

/// `opx ARGS` (a check), asserted to exit with `code`.
async fn check(server: &MockServer, args: &[&str], code: i32) -> Output {
    let out = opx(server, args).await;
    exits(&out, code);
    out
}

fn no_secret(o: &Output, password: &str) {
    assert!(!stdout(o).contains(password), "password on stdout");
    assert!(!stderr(o).contains(password), "password on stderr");
}

/// The rows of the table (after the summary line and the header).
fn rows(out: &str) -> Vec<String> {
    out.lines().skip(2).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_of_a_fresh_service_is_ok() {
    let (server, echo, id, password) = setup(ServiceType::Ipv6Rotating).await;
    let target = echo.url("/ip");

    let out = opx(&server, &["check", id.as_str(), "--target", &target]).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "all 3 endpoints work (service {id}, target {target}, 3 at a time of 500 threads)"
        )),
        "{text}"
    );
    assert!(
        text.lines().nth(1).unwrap().starts_with("ENDPOINT"),
        "{text}"
    );
    let rows = rows(&text);
    assert_eq!(rows.len(), 3, "{text}");
    for (row, country) in rows.iter().zip(opx::types::GatewayCountry::KNOWN) {
        let gw = server.gateways().addr(&country).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert!(cells[0].ends_with(&format!("@{gw}")), "{row}");
        assert_eq!(cells[1], "ok", "{row}");
        // The echo saw the gateway's connection come from an exit of its country.
        let exit: std::net::Ipv4Addr = cells[4].parse().unwrap();
        assert!(opx::mock::exit_range(&country).contains(&exit), "{row}");
    }
    no_secret(&out, &password);

    let out = opx(
        &server,
        &["--json", "check", id.as_str(), "--target", &target],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["service_id"], id.as_str());
    assert_eq!(v["target"], target.as_str());
    assert_eq!(
        (v["threads"].as_u64(), v["concurrency"].as_u64()),
        (Some(500), Some(3))
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for (r, country) in results.iter().zip(opx::types::GatewayCountry::KNOWN) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["http_status"], 200);
        let exit: std::net::Ipv4Addr = r["exit_address"].as_str().unwrap().parse().unwrap();
        assert!(opx::mock::exit_range(&country).contains(&exit), "{r}");
        assert_eq!(r["host"], "127.0.0.1");
        assert!(r["latency_ms"].is_u64() && r["detail"].is_null(), "{r}");
        assert!(r.get("password").is_none(), "{r}");
    }
    no_secret(&out, &password);
}

#[tokio::test(flavor = "multi_thread")]
async fn lines_printed_before_opx_credentials_are_refused_and_the_current_ones_work() {
    let (server, echo, id, old_password) = setup(ServiceType::Ipv6Rotating).await;
    let target = echo.url("/");
    let printed = opx(&server, &["proxies", id.as_str()]).await;
    assert_eq!(printed.status.code(), Some(0));
    let dir = std::env::temp_dir().join(format!("opx-check-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join("proxies.txt");
    std::fs::write(&saved, &printed.stdout).unwrap();
    let saved = saved.to_str().unwrap();

    // Before: the saved lines work.
    let from_saved = ["check", id.as_str(), "--target", &target, "--from", saved];
    check(&server, &from_saved, 0).await;

    let regen = opx(&server, &["credentials", id.as_str(), "--yes"]).await;
    assert_eq!(regen.status.code(), Some(0), "{}", stderr(&regen));
    let out = check(&server, &from_saved, 6).await;
    assert_eq!(stderr(&out), "error: 3 of 3 endpoints do not work\n");
    let text = stdout(&out);
    assert!(text.starts_with("0 of 3 endpoints work"), "{text}");
    for row in rows(&text) {
        assert!(row.contains("auth refused (407)"), "{row}");
        assert!(row.contains("outdated proxy credentials"), "{row}");
    }
    no_secret(&out, &old_password);
    let out = check(&server, &[&["--json"], &from_saved[..]].concat(), 6).await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    for r in v["results"].as_array().unwrap() {
        assert_eq!(
            (r["status"].as_str(), r["http_status"].as_u64()),
            (Some("auth_refused"), Some(407)),
            "{r}"
        );
        assert!(r["exit_address"].is_null());
    }
    no_secret(&out, &old_password);

    // The current list (read by the check itself) works.
    check(&server, &["check", id.as_str(), "--target", &target], 0).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_service_fails_the_check() {
    let (server, echo, id, password) = setup(ServiceType::Ipv4Rotating).await;
    let target = echo.url("/");
    check(&server, &["check", id.as_str(), "--target", &target], 0).await;
    server.clock().advance(Duration::from_secs(31 * 86_400));
    let out = check(&server, &["check", id.as_str(), "--target", &target], 6).await;
    assert_eq!(stderr(&out), "error: 1 of 1 endpoint does not work\n");
    let text = stdout(&out);
    let row = &rows(&text)[0];
    assert!(row.contains("proxy refused (403)"), "{text}");
    assert!(row.contains(&format!("service {id} expired at")), "{text}");
    let out = opx(
        &server,
        &["--json", "check", id.as_str(), "--target", &target],
    )
    .await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["results"][0]["status"], "proxy_refused");
    assert_eq!(v["results"][0]["http_status"], 403);
    no_secret(&out, &password);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_check_never_uses_more_than_the_services_threads() {
    let (server, mut echo, id, _) = setup(ServiceType::Ipv6Rotating).await;
    assert!(server.services().set_threads(&id, 1));
    let target = echo.url("/hold");
    let mut run = {
        let env = [
            ("OPX_TOKEN", server.token()),
            ("OPX_BASE_URL", server.base_url()),
        ];
        let args = [
            "--json",
            "check",
            id.as_str(),
            "--target",
            &target,
            "--concurrency",
            "8",
        ];
        let mut cmd = opx_bin::command(&args, &env);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    // One endpoint at a time reaches the target: a second one at once would have been refused
    // by the gateway (429) and reported.
    for _ in 0..3 {
        echo.arrival(&mut run).await;
        assert_eq!(server.gateways().threads_in_use(&id), 1);
        echo.release(1);
    }
    let out = run.await.unwrap();
    exits(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["concurrency"], 1);
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ok")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_target_is_a_usage_error() {
    let server = MockServer::start().await;
    let (id, _) = bought(&server, ServiceType::Ipv4Rotating).await;
    let out = opx(
        &server,
        &["check", id.as_str(), "--target", "ftp://127.0.0.1/"],
    )
    .await;
    usage_error(&out, "must be an http:// or https:// URL");
    let help = opx(&server, &["--help"]).await;
    assert!(
        stdout(&help).contains("6  `opx check`: some endpoint did not work"),
        "{}",
        stdout(&help)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_count_the_distinct_exits_of_each_endpoint() {
    let (server, echo, id, password) = setup(ServiceType::Ipv4Rotating).await;
    let target = echo.url("/");
    let args = [
        "check",
        id.as_str(),
        "--target",
        &target,
        "--connections",
        "3",
    ];
    let out = check(&server, &args, 0).await;
    let text = stdout(&out);
    assert!(text.lines().nth(1).unwrap().contains("EXITS"), "{text}");
    let row = &rows(&text)[0];
    assert!(row.contains("3 of 3"), "{row}");
    let mut json_args = vec!["--json"];
    json_args.extend(args);
    let out = check(&server, &json_args, 0).await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let r = &v["results"][0];
    assert_eq!(
        (
            r["connections"].as_u64(),
            r["exits"].as_array().map(Vec::len)
        ),
        (Some(3), Some(3)),
        "{r}"
    );
    no_secret(&out, &password);
}
