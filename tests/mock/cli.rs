//! `opx mock`: prints where it listens and the token, then serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn opx_mock_serves_until_interrupted() {
    let token = "opx_live_0123456789abcdef0123456789abcdef";
    let child = Command::new(env!("CARGO_BIN_EXE_opx"))
        .args([
            "mock",
            "--listen",
            "127.0.0.1:0",
            "--token",
            token,
            "--balance",
            "4242",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn opx");
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
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
    let account: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/account"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(account["data"]["balance"], 4242);
    assert!(child.0.try_wait().unwrap().is_none(), "still serving");
}
