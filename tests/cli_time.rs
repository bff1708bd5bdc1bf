//! Time as people write it, from the binary (issue 27): `opx logs --since` / `--until` take an
//! RFC 3339 time, a date (UTC) or a time ago, and refuse anything else with the forms they
//! take (exit 2, before anything is sent).

#[path = "support/opx_bin.rs"]
mod opx_bin;

use opx::mock::MockServer;
use opx_bin::{exits, ok, opx, stderr};
use serde_json::Value;

/// The number of log entries `opx --json logs ARGS` lists.
async fn entries(s: &MockServer, args: &[&str]) -> usize {
    let out = ok(&opx(s, &[&["--json", "logs", "--all"], args].concat()).await);
    let v: Value = serde_json::from_str(&out).unwrap();
    v["logs"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread")]
async fn since_and_until_take_times_dates_and_times_ago() {
    let s = MockServer::start().await;
    s.accounts().seed_logs(3);
    let today = s.clock().now().date_naive();
    let (yesterday, tomorrow) = (today.pred_opt().unwrap(), today.succ_opt().unwrap());
    let (today, yesterday, tomorrow) = (
        today.to_string(),
        yesterday.to_string(),
        tomorrow.to_string(),
    );
    assert!(entries(&s, &["--since", "1h"]).await >= 3);
    assert!(entries(&s, &["--since", "2d 12h"]).await >= 3);
    assert!(entries(&s, &["--since", &today]).await >= 3);
    assert!(
        entries(&s, &["--since", &today, "--until", &today]).await >= 3,
        "a date up to its end"
    );
    assert_eq!(entries(&s, &["--until", &yesterday]).await, 0);
    assert_eq!(entries(&s, &["--since", &tomorrow]).await, 0);
    let later = (s.clock().now() + chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(entries(&s, &["--since", &later]).await, 0);

    let before = s.records().requests().len();
    for bad in ["yesterday", "2026-13-01", "-1h", "12"] {
        let out = opx(&s, &["logs", &format!("--since={bad}")]).await;
        exits(&out, 2);
        let said = stderr(&out);
        assert!(
            said.contains("2026-12-07") && said.contains("1h, 2d, 90m"),
            "{bad}: {said}"
        );
    }
    let inverted = ["logs", "--since", &today, "--until", &yesterday];
    let out = opx(&s, &inverted).await;
    exits(&out, 2);
    assert!(
        stderr(&out).contains("--until is before --since"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.records().requests().len(), before, "nothing sent");
}

/// A time ago counts back from the server's clock, not this machine's: on a mock whose clock
/// runs two hours ahead, `--since 1h` leaves out the entries made before those two hours
/// (by the local clock they would be in), and `--since 3h` keeps them.
#[tokio::test(flavor = "multi_thread")]
async fn a_time_ago_counts_back_from_the_server_clock() {
    let s = MockServer::start().await;
    s.accounts().seed_logs(3);
    s.clock().advance(std::time::Duration::from_secs(2 * 3600));
    let recent = entries(&s, &["--since", "1h"]).await;
    let older = entries(&s, &["--since", "3h"]).await;
    assert!(
        older >= recent + 3,
        "the 3 entries 2 h old are out of the last hour ({recent}) and in the last 3 h ({older})"
    );
}
