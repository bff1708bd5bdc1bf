//! Scaled time: `MockBuilder::time_scale` / `opx mock --time-scale N`, the mock's wall clock
//! running N times faster (windows, `Retry-After`, `X-RateLimit-Reset`, expiry), and a client
//! on the same clock.

use std::time::{Duration, Instant};

use opx::Operation;
use opx::mock::{Bucket, MockServer};

use crate::cli::spawn_opx_mock;
use crate::opx_bin;
use crate::support::{json_of, paced_client, scaled_mock};

/// Whether `mock`, a span of the mock's time measured inside a span of `real` time that
/// contains it and around one of `inner` real time that it contains, is what a clock running
/// `factor` times faster than the wall clock gives: between `inner` and `real` times `factor`,
/// give or take `slack` of mock time for the precision of its readings. Two-sided, and exact
/// whatever the load: no bound on how long anything takes.
fn scaled(mock: Duration, inner: Duration, real: Duration, factor: f64, slack: Duration) -> bool {
    let (low, high) = (inner.mul_f64(factor), real.mul_f64(factor));
    low.saturating_sub(slack) <= mock && mock <= high + slack
}

/// A paced client sharing the scaled mock's clock waits out each window in the mock's time:
/// three calls under a limit of one a minute take two whole windows of it (the clock's
/// factor applied to the real time they took, which 6000x makes about 20 ms).
#[tokio::test]
async fn a_paced_client_on_a_scaled_mock_waits_its_windows_in_scaled_time() {
    let s = scaled_mock(6000.0).await;
    assert_eq!(s.clock().time_scale(), Some(6000.0));
    s.accounts().set_limit(Bucket::GlobalMinute, 1);
    let c = paced_client(&s);
    let real = Instant::now();
    let t0 = s.clock().now();
    for _ in 0..3 {
        c.account().await.unwrap();
    }
    let mock_time = (s.clock().now() - t0).to_std().unwrap();
    let real = real.elapsed();
    assert!(mock_time >= Duration::from_secs(120), "{mock_time:?}");
    assert!(
        scaled(
            mock_time,
            Duration::ZERO,
            real,
            6000.0,
            Duration::from_secs(1)
        ),
        "{mock_time:?} of mock time in {real:?}"
    );
    assert_eq!(s.records().executions(Operation::GetAccount), 3);
    assert_eq!(s.records().stats().responses_by_status.get("429"), None);
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
    // Two readings of the mock's clock 50 ms apart: their distance is between the real time
    // from the end of the first reading to the start of the second and the real time from the
    // start of the first to the end of the second, times 3600 (180 s for the 50 ms alone).
    let http = reqwest::Client::new();
    let before_a = Instant::now();
    let a = mock_now(&http, &control).await;
    let after_a = Instant::now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before_b = Instant::now();
    let b = mock_now(&http, &control).await;
    let (inner, outer) = (before_b - after_a, before_a.elapsed());
    let mock = (b - a).to_std().unwrap();
    assert!(
        scaled(mock, inner, outer, 3600.0, Duration::from_secs(2)),
        "{a} -> {b}: {mock:?} of mock time in {inner:?} to {outer:?}"
    );

    let bad = opx_bin::command(&["mock", "--listen", "127.0.0.1:0", "--time-scale=0"], &[])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--time-scale"));
}

/// Every answer's `Date` is the mock's time, advanced with its clock, not the wall clock's:
/// a client that reads the server's time sees what the mock says (issue 27).
#[tokio::test]
async fn the_date_header_follows_the_mocks_clock() {
    let s = MockServer::start().await;
    let date_of = |r: &crate::support::Resp| {
        let text = r.header("date").expect("a Date header");
        chrono::DateTime::parse_from_rfc2822(&text.replace("GMT", "+0000"))
            .unwrap_or_else(|e| panic!("{e}: {text}"))
            .with_timezone(&chrono::Utc)
    };
    let before = date_of(&crate::support::get(&s, "/account").await);
    s.clock().advance(Duration::from_secs(40 * 86_400));
    let mock_now = s.clock().now();
    let after = date_of(&crate::support::get(&s, "/account").await);
    let moved = after - before;
    assert!(moved >= chrono::TimeDelta::days(40), "moved {moved}");
    assert!(
        (after - mock_now).num_seconds().abs() <= 1,
        "{after} vs the mock's {mock_now}"
    );
}

/// A scaled mock states its durations in real seconds to a client outside (one that does not
/// say it shares the clock): at 10x a fresh minute window resets in 6 s and a 429's
/// `Retry-After` is a tenth of the window left; a client on the mock's clock (which says so,
/// `x-opx-time-scale`) gets them in mock seconds, exactly, and reads them so: its rate-limit
/// snapshot says the minute window resets in about 60 s of its clock (issue 27).
#[tokio::test]
async fn a_scaled_mock_states_real_seconds_outside_and_its_own_to_a_client_on_its_clock() {
    let s = scaled_mock(10.0).await;
    s.accounts().set_limit(Bucket::GlobalMinute, 2);
    let outside = crate::support::get(&s, "/account").await;
    let reset = outside.header_u64("x-ratelimit-reset");
    assert!((5..=6).contains(&reset), "a 60 s window at 10x: {reset} s");
    assert_eq!(outside.header(opx::clock::TIME_SCALE_HEADER), None);
    crate::support::get(&s, "/account").await;
    let refused = crate::support::get(&s, "/account").await;
    assert_eq!(refused.status, 429);
    let retry = refused.header_u64("retry-after");
    assert!((1..=6).contains(&retry), "Retry-After {retry} s");

    let inside = scaled_mock(10.0).await;
    let c = inside.client();
    let r = c.account().await.unwrap();
    let rl = r.rate_limit().expect("rate-limit headers");
    let reset = rl.reset_after().unwrap();
    assert!(
        reset > Duration::from_secs(50) && reset <= Duration::from_secs(60),
        "the mock's seconds, on the mock's clock: {reset:?}"
    );
    let seen = inside.records().requests();
    let asked = seen
        .last()
        .unwrap()
        .headers
        .iter()
        .find(|(k, _)| k == opx::clock::TIME_SCALE_HEADER);
    assert_eq!(
        asked.map(|(_, v)| v.as_str()),
        Some("10"),
        "{:?}",
        seen.last()
    );
}
