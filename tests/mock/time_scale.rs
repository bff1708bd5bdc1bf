//! Scaled time: `MockBuilder::time_scale` / `opx mock --time-scale N`, the mock's wall clock
//! running N times faster (windows, `Retry-After`, `X-RateLimit-Reset`, expiry), and a client
//! on the same clock.

use std::time::{Duration, Instant};

use opx::Operation;
use opx::mock::{Bucket, MockServer};

use crate::cli::spawn_opx_mock;
use crate::opx_bin;
use crate::support::{json_of, paced_client};

#[tokio::test]
async fn a_paced_client_on_a_scaled_mock_crosses_windows_in_milliseconds() {
    let s = MockServer::builder()
        .time_scale(6000.0)
        .start()
        .await
        .unwrap();
    assert_eq!(s.time_scale(), Some(6000.0));
    s.set_limit(Bucket::GlobalMinute, 1);
    let c = paced_client(&s);
    let (t0, real) = (s.now(), Instant::now());
    for _ in 0..3 {
        c.account().await.unwrap();
    }
    let mock_time = (s.now() - t0).to_std().unwrap();
    // Three requests, one a minute: two whole windows of the mock's time (10 ms each here).
    assert!(mock_time >= Duration::from_secs(120), "{mock_time:?}");
    assert!(
        real.elapsed() < Duration::from_secs(10),
        "{:?}",
        real.elapsed()
    );
    assert_eq!(s.executions(Operation::GetAccount), 3);
    assert_eq!(s.stats().responses_by_status.get("429"), None);
    assert!(MockServer::builder().time_scale(0.0).start().await.is_err());
}

async fn mock_now(http: &reqwest::Client, control: &str) -> chrono::DateTime<chrono::Utc> {
    let v = json_of(http.get(format!("{control}clock"))).await;
    v["data"]["now"]
        .as_str()
        .or_else(|| v["now"].as_str())
        .unwrap_or_else(|| panic!("{v}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn opx_mock_time_scale_says_so_and_runs_its_clock_faster() {
    let (_child, lines) = spawn_opx_mock(&["--listen", "127.0.0.1:0", "--time-scale", "3600"]);
    let lines: Vec<String> = lines.take(4).map(Result::unwrap).collect();
    let time = lines
        .iter()
        .find(|l| l.starts_with("time: "))
        .expect("a time line");
    assert!(
        time.contains("3600x") && time.contains("Retry-After"),
        "{time}"
    );
    let control = lines
        .iter()
        .find_map(|l| l.strip_prefix("control API: "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the control API line")
        .to_owned();
    let http = reqwest::Client::new();
    let a = mock_now(&http, &control).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let b = mock_now(&http, &control).await;
    assert!(b - a >= chrono::Duration::seconds(150), "{a} -> {b}");

    let bad = opx_bin::command(&["mock", "--listen", "127.0.0.1:0", "--time-scale=0"], &[])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--time-scale"));
}
