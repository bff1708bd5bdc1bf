//! `opx gateway`: a local proxy over the account's services, until interrupted.

#[path = "support/mod.rs"]
mod support;

#[path = "support/echo.rs"]
mod echo;

use std::process::Stdio;
use std::time::Duration;

use echo::Echo;
use opx::mock::MockServer;
use support::{IPV4_PLAN, auth, buy};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `opx gateway ARGS` against `server`, stdout piped.
fn spawn(server: &MockServer, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_opx"))
        .arg("gateway")
        .args(args)
        .env("OPX_TOKEN", server.token())
        .env("OPX_BASE_URL", server.base_url())
        .env("XDG_CONFIG_HOME", "/nonexistent/opx-tests")
        .env_remove("OPX_GATEWAY_AUTH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn opx")
}

/// The value after `prefix` on the first line that starts with it.
async fn line_after(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    prefix: &str,
) -> String {
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
    panic!("no line starting with {prefix:?}");
}

#[tokio::test]
async fn opx_gateway_carries_requests_serves_metrics_and_stops_on_sigint() {
    let server = MockServer::start().await;
    let echo = Echo::start().await;
    let svc = buy(&server, IPV4_PLAN).await;
    let (id, (_, password)) = (svc["service_id"].as_str().unwrap(), auth(&svc));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.jsonl");
    let log_arg = log.to_str().unwrap();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        "--access-log",
        log_arg,
    ];
    let mut child = spawn(&server, &args);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = line_after(&mut lines, "gateway at: ").await;
    let addr = addr.strip_suffix(" (HTTP and SOCKS5)").unwrap().to_owned();
    let metrics = line_after(&mut lines, "metrics at: ").await;
    assert_eq!(
        line_after(&mut lines, "service ").await,
        format!("{id}: 100 threads, 1 lines")
    );

    let through = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://{addr}")).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let r = through.get(echo.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(&metrics)
        .send()
        .await;
    let text = text.unwrap().text().await.unwrap();
    assert!(
        text.contains(&format!("opx_gateway_requests_total{{service=\"{id}\"")),
        "{text}"
    );
    assert!(!text.contains(password));

    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    assert_eq!(status.unwrap().unwrap().code(), Some(0));
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains(id) && !log.contains(password), "{log}");
}

#[tokio::test]
async fn a_non_loopback_address_needs_local_credentials() {
    let server = MockServer::start().await;
    let child = spawn(&server, &["--listen", "0.0.0.0:0"]);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("is not a loopback address"), "{stderr}");
}
