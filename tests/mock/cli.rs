//! `opx mock`: prints where it listens and the token, then serves.

use std::io::{BufRead, BufReader, Lines};
use std::process::{ChildStdout, Command, ExitStatus, Stdio};

use crate::opx_bin;
use crate::support::json_of;

/// Kills the child when the test ends, however it ends.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `opx mock ARGS` (stdout and stderr piped, the environment cleared of `OPX_*` and
/// config); the child and its stdout's lines.
pub(crate) fn spawn_opx_mock(args: &[&str]) -> (KillOnDrop, Lines<BufReader<ChildStdout>>) {
    let child = opx_bin::command(&[&["mock"], args].concat(), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn opx");
    let mut child = KillOnDrop(child);
    let lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    (child, lines)
}

#[tokio::test]
async fn opx_mock_serves_until_interrupted() {
    let token = "opx_live_0123456789abcdef0123456789abcdef";
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--token",
        token,
        "--balance",
        "4242",
    ];
    let (mut child, mut lines) = spawn_opx_mock(&args);
    let first = lines.next().unwrap().unwrap();
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/api/v1"),
        "{base}"
    );
    let second = lines.next().unwrap().unwrap();
    assert!(second.contains(token), "{second}");
    let third = lines.next().unwrap().unwrap();
    assert!(
        third.starts_with("control API: http://127.0.0.1:"),
        "{third}"
    );
    // Then one line per gateway, whose address answers as a proxy (407 without credentials).
    for country in ["nl", "de", "at"] {
        let line = lines.next().unwrap().unwrap();
        let addr = line
            .strip_prefix(&format!("gateway {country}: "))
            .unwrap_or_else(|| panic!("unexpected gateway line {line:?}"));
        assert!(addr.starts_with("127.0.0.1:"), "{line}");
        let proxied = reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(format!("http://{addr}")).unwrap())
            .build()
            .unwrap()
            .get("http://127.0.0.1:9/")
            .send()
            .await
            .unwrap();
        assert_eq!(proxied.status(), 407, "{line}");
    }
    let http = reqwest::Client::new();
    let account = json_of(http.get(format!("{base}/account")).bearer_auth(token)).await;
    assert_eq!(account["data"]["balance"], 4242);
    assert!(child.0.try_wait().unwrap().is_none(), "still serving");

    // Interrupted (as ctrl-c does): it stops serving, reports no schema violation and exits 0.
    let (status, stderr) = interrupt(&mut child).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(!stderr.contains("schema violation"), "{stderr}");
    let refused = reqwest::Client::new()
        .get(format!("{base}/account"))
        .bearer_auth(token)
        .send()
        .await;
    assert!(refused.is_err(), "still serving after exit: {refused:?}");
}

/// Sends SIGINT (what ctrl-c sends) to the child; how it exited and what it wrote on stderr.
async fn interrupt(child: &mut KillOnDrop) -> (ExitStatus, String) {
    let pid = child.0.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    // A guard against a child that ignores the signal, far beyond its normal exit.
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(60),
            "still running 60 s after SIGINT"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

/// A response that broke the spec while it served (the state it started from has an account
/// whose e-mail is not an e-mail address) is reported when `opx mock` is interrupted, and it
/// exits 1.
#[tokio::test]
async fn opx_mock_reports_schema_violations_when_interrupted() {
    let source = opx::mock::MockServer::start().await;
    source
        .accounts()
        .set_profile("alice", "not an e-mail address");
    let state = source.accounts().export_state();
    let token = state.accounts[0].keys[0].token.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    std::fs::write(&file, serde_json::to_string(&state).unwrap()).unwrap();
    let file = file.to_str().unwrap();
    let (mut child, mut lines) = spawn_opx_mock(&["--listen", "127.0.0.1:0", "--state", file]);
    let base = lines.next().unwrap().unwrap();
    let base = base.strip_prefix("listening on ").unwrap().to_owned();
    let broken = reqwest::Client::new()
        .get(format!("{base}/account"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 500, "the mock refuses to send it");
    let (status, stderr) = interrupt(&mut child).await;
    assert_eq!(status.code(), Some(1), "{status:?}: {stderr}");
    let reported: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("schema violation: "))
        .collect();
    assert_eq!(reported.len(), 1, "{stderr}");
    assert!(
        reported[0].contains("getAccount") && reported[0].contains("/data/email"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 responses of the mock failed their schema"),
        "{stderr}"
    );
}
