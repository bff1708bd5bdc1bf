//! Pacing that tells, from the binary (issue 27): `opx proxies --all --pace` against a scaled
//! `opx mock` (another process, so the headers are all it knows of the mock's time) runs at
//! the rate limit's floor with no 429; a 429's `Retry-After` is what is waited, not the
//! window's reset; a wait over 2 s is said in one line first; Ctrl-C stops a wait. No test
//! waits for a whole rate-limit window: the mocks run 10 or 20 times faster than the wall
//! clock, or the wait is the few seconds of a `Retry-After`.

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/opx_bin.rs"]
mod opx_bin;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use opx::Operation;
use opx::mock::{Bucket, Fault, MockServer};
use opx::types::ServiceId;
use serde_json::{Value, json};

use fixtures::scaled_mock;

/// Kills the child when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `opx mock ARGS` in its own process: the child, its base URL, token and control API.
struct OpxMock {
    _child: KillOnDrop,
    base_url: String,
    token: String,
    control: String,
}

impl OpxMock {
    fn start(args: &[&str]) -> Self {
        let mut child =
            opx_bin::command(&[&["mock", "--listen", "127.0.0.1:0"], args].concat(), &[])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn opx mock");
        let stdout = child.stdout.take().unwrap();
        let child = KillOnDrop(child);
        let (mut base_url, mut token, mut control) = (None, None, None);
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("listening on ") {
                base_url = Some(rest.to_owned());
            } else if let Some(rest) = line.strip_prefix("token: ") {
                token = Some(rest.to_owned());
            } else if let Some(rest) = line.strip_prefix("control API: ") {
                control = rest.split_whitespace().next().map(str::to_owned);
                break;
            }
        }
        Self {
            _child: child,
            base_url: base_url.expect("a listening line"),
            token: token.expect("a token line"),
            control: control.expect("a control API line"),
        }
    }

    /// `POST` or `GET` on the control API; the answer's `data` (or the answer).
    async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let http = reqwest::Client::new();
        let url = format!("{}{path}", self.control);
        let req = match body {
            Some(b) => http.post(url).json(&b),
            None => http.get(url),
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["data"].is_null() {
            v
        } else {
            v["data"].clone()
        }
    }

    /// `opx ARGS` against this mock.
    async fn opx(&self, args: &[&str]) -> std::process::Output {
        let env = [
            ("OPX_TOKEN", self.token.as_str()),
            ("OPX_BASE_URL", self.base_url.as_str()),
        ];
        opx_bin::opx_with_env(args, &env).await
    }
}

/// The fastest the global windows allow `n` requests: `ceil(n / limit) - 1` whole windows of
/// the bucket that needs most, at `scale` times the wall clock.
fn floor(n: u64, scale: f64) -> Duration {
    [Bucket::GlobalMinute, Bucket::GlobalHour]
        .iter()
        .map(|b| b.window() * (n.div_ceil(u64::from(b.limit())).saturating_sub(1) as u32))
        .max()
        .unwrap_or_default()
        .div_f64(scale)
}

/// The figure: 900 services against `opx mock --time-scale 10`, fetched paced by
/// another process, finish within 1.1 times the rate limit's floor (about 18 s of real time
/// for the 900 lists and the listing's pages: three whole minute windows at 10x), with no
/// 429. A client that read the mock's seconds as real ones would wait 10 times too long; one
/// that came back early would take 429s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_job_against_a_scaled_mock_in_another_process_runs_at_the_floor() {
    let mock = OpxMock::start(&["--time-scale", "10"]);
    let seeded = mock.control("services", Some(json!({"count": 900}))).await;
    assert_eq!(
        seeded["service_ids"].as_array().map(Vec::len),
        Some(900),
        "{seeded}"
    );

    let started = Instant::now();
    let out = mock.opx(&["proxies", "--all", "--pace"]).await;
    let took = started.elapsed();
    let text = opx_bin::exits(&out, 0);
    assert_eq!(text.lines().filter(|l| l.starts_with("# ")).count(), 900);

    let stats = mock.control("stats", None).await;
    let by_status = &stats["responses_by_status"];
    assert!(by_status.get("429").is_none(), "no 429: {stats}");
    let requests: u64 = by_status
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(requests > 900, "{stats}");
    let floor = floor(requests, 10.0);
    assert!(
        floor >= Duration::from_secs(18),
        "{requests} requests: {floor:?}"
    );
    eprintln!(
        "{requests} requests in {took:?}; floor {floor:?}; {:.3}x",
        took.as_secs_f64() / floor.as_secs_f64()
    );
    assert!(
        took <= floor.mul_f64(1.1),
        "{requests} requests took {took:?}, over 1.1 x the floor {floor:?}"
    );
    // It waited (a job that did not would have taken 429s), and said so, once a window.
    let said = opx_bin::stderr(&out);
    let waits = said.lines().filter(|l| l.starts_with("waiting ")).count();
    assert_eq!(waits, 3, "one line per window waited:\n{said}");
    assert!(said.contains("for the global_minute rate limit"), "{said}");
}

/// Runs `opx ARGS` against the in-process `server`.
async fn opx(server: &MockServer, args: &[&str]) -> std::process::Output {
    opx_bin::opx(server, args).await
}

/// A mock with one service whose next `GetProxies` is refused with a 429 and `Retry-After:
/// SECS`, and the service's id.
async fn rate_limited_once(retry_after: u64) -> (MockServer, ServiceId) {
    let s = MockServer::start().await;
    let id = s.services().seed(1).remove(0);
    let refusal = Fault::RateLimited {
        retry_after: Some(retry_after),
    };
    s.faults().inject(Operation::GetProxies, refusal, 1);
    (s, id)
}

/// Asserts that all `out` said on stderr is the one line of a 3 s wait for the minute window.
fn said_a_3_s_wait(out: &std::process::Output) {
    let said = opx_bin::stderr(out);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(
        lines,
        ["waiting 3 s for the global_minute rate limit (Ctrl-C to stop)"],
        "one line:\n{said}"
    );
}

/// The case: a 429 with `Retry-After: 3` in a window that resets in about a minute.
/// A paced call waits the 3 s (not the window's reset), says so in one line first, and is
/// sent again; the mock runs on virtual time, so the window does not move meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_call_waits_retry_after_not_the_windows_reset_and_says_so() {
    let (s, id) = rate_limited_once(3).await;
    let started = Instant::now();
    let out = opx(&s, &["proxies", id.as_str(), "--pace"]).await;
    let took = started.elapsed();
    assert!(!opx_bin::exits(&out, 0).is_empty());
    assert_eq!(
        s.records().calls(Operation::GetProxies),
        2,
        "refused once, then sent again"
    );
    assert!(took >= Duration::from_secs(3), "waited {took:?}");
    assert!(
        took < Duration::from_secs(30),
        "waited {took:?}: the window, not Retry-After"
    );
    said_a_3_s_wait(&out);
}

/// A wait of 2 s or less is not worth a line; nothing is printed for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_wait_is_not_said() {
    let (s, id) = rate_limited_once(1).await;
    let out = opx(&s, &["proxies", id.as_str(), "--pace"]).await;
    opx_bin::ok(&out);
    assert_eq!(
        s.records().calls(Operation::GetProxies),
        2,
        "refused once, then sent again"
    );
}

/// `opx ARGS` against `s` in its own process, its stderr piped: the child and its stderr.
#[cfg(unix)]
fn spawn_opx(s: &MockServer, args: &[&str]) -> (KillOnDrop, std::process::ChildStderr) {
    let env = [("OPX_TOKEN", s.token()), ("OPX_BASE_URL", s.base_url())];
    let mut child = opx_bin::command(args, &env)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    (KillOnDrop(child), stderr)
}

/// Ctrl-C: SIGINT to `child`.
#[cfg(unix)]
fn interrupt(child: &KillOnDrop) {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Ctrl-C while a paced call waits for its window stops the wait at once (the default
/// disposition of SIGINT: nothing of that call was sent).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_a_wait() {
    let (s, id) = rate_limited_once(600).await;
    let (mut child, stderr) = spawn_opx(&s, &["proxies", id.as_str(), "--pace"]);
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stderr).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(first.starts_with("waiting 10 min"), "{first}");
    interrupt(&child);
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || child.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!status.success(), "{status:?}");
    assert_eq!(
        s.records().calls(Operation::GetProxies),
        1,
        "not sent again"
    );
}

/// `opx proxies --all` against a 20x mock whose minute window allows 2 requests: the listing
/// and the first list fill it, the second list waits (about 3 s) and says so in one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_over_2_s_is_said_in_one_line_before_it() {
    let s = scaled_mock(20.0).await;
    s.services().seed(2);
    s.accounts().set_limit(Bucket::GlobalMinute, 2);
    let out = opx(&s, &["proxies", "--all"]).await;
    let text = opx_bin::exits(&out, 0);
    assert_eq!(text.lines().filter(|l| l.starts_with("# ")).count(), 2);
    // 60 s of the mock's time at 20x: 3 s (whole seconds, rounded up).
    said_a_3_s_wait(&out);
    assert_eq!(s.records().stats().responses_by_status.get("429"), None);
}

/// `opx renew --yes --pace` whose next read must wait for the minute window (the plan's reads
/// used it up): Ctrl-C during that wait stops at once with exit 4, saying the call that waited
/// was not sent, and nothing was extended (before, the first Ctrl-C of a money command only
/// said "a charge is in flight" and went on waiting for the window).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_a_money_command_waits_for_its_window_stops_it() {
    let s = MockServer::start().await;
    let seed = opx::mock::ServiceSeed::count(1).expires_in_seconds(86_400);
    s.services().seed_with(&seed).unwrap();
    // The plan reads the services, the catalog and the balance: 3 requests.
    s.accounts().set_limit(Bucket::GlobalMinute, 3);
    let renew = [
        "renew",
        "--before",
        "2d",
        "--max-spend",
        "100000",
        "--yes",
        "--pace",
    ];
    let (mut child, stderr) = spawn_opx(&s, &renew);
    let mut lines = BufReader::new(stderr).lines();
    let first = tokio::task::spawn_blocking(move || {
        let first = lines.next().map(Result::unwrap);
        (first, lines)
    });
    let (first, lines) = first.await.unwrap();
    let first = first.expect("a line before the wait");
    assert!(
        first.starts_with("waiting ") && first.contains("global_minute"),
        "{first}"
    );
    interrupt(&child);
    let started = Instant::now();
    let (status, rest) = tokio::task::spawn_blocking(move || {
        let rest: Vec<String> = lines.map(Result::unwrap).collect();
        (child.0.wait().unwrap(), rest)
    })
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(status.code(), Some(4), "{rest:?}");
    let said = rest.join("\n");
    assert!(
        said.contains("interrupted while waiting for the rate-limit window")
            && said.contains("not sent"),
        "{said}"
    );
    assert_eq!(s.records().calls(Operation::ExtendService), 0);
}

/// On a terminal the line is a countdown that rewrites itself once a second and is cleared at
/// the end (run on a pseudo-terminal through util-linux's `script`; skipped where it is not
/// installed).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_wait_counts_down() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` (util-linux) to run opx on a pseudo-terminal");
        return;
    }
    let (s, id) = rate_limited_once(3).await;
    let line = format!("{} proxies {} --pace", opx_bin::BIN, id.as_str());
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]);
    opx_bin::clean_env(
        &mut cmd,
        &[("OPX_TOKEN", s.token()), ("OPX_BASE_URL", s.base_url())],
    );
    cmd.stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let screen = String::from_utf8_lossy(&out.stdout);
    let tick =
        |n: u32| format!("\r\x1b[Kwaiting {n} s for the global_minute rate limit (Ctrl-C to stop)");
    for n in [3, 2, 1] {
        assert!(screen.contains(&tick(n)), "no {n} s tick: {screen:?}");
    }
    assert!(
        !screen.contains("(Ctrl-C to stop)\r\n"),
        "a countdown, not lines: {screen:?}"
    );
    assert_eq!(s.records().calls(Operation::GetProxies), 2);
}
