//! (g) The CLI's cold start, release build: `opx --json account` against a loopback mock, beside
//! `curl` sending the same request to the same mock, interleaved; wall time per run and
//! instructions per run (callgrind).

use std::process::{Command, Stdio};
use std::time::Instant;

use opx::Operation;
use opx::mock::MockServer;

use crate::support::{
    Opts, Row, Target, instructions, instructions_skipped, median, quantile, variant_rows,
};

const TOKEN: &str = "opx_live_0123456789abcdef0123456789abcdef";

/// The two commands as the wall-time rows name them, `opx` first, `curl` (the floor) last.
const COLD_START: [&str; 2] = [
    "`opx --json account` (release) against the loopback mock",
    "`curl` sending the same request",
];

/// The two commands as the instruction rows name them, in the same order.
const INSTRUCTIONS: [&str; 2] = [
    "`opx --json account` (process start to exit)",
    "`curl`, the same request",
];

fn opx_cmd(base: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_opx"));
    c.args(["--json", "account"])
        .env("OPX_TOKEN", TOKEN)
        .env("OPX_BASE_URL", base)
        // No config file: the same start for everyone.
        .env("XDG_CONFIG_HOME", "/nonexistent/opx-bench")
        .env_remove("OPX_PROFILE");
    c
}

/// What `opx` sends, by hand: the token, `Accept`, `api-version`; the body to stdout.
fn curl_cmd(base: &str) -> Command {
    let mut c = Command::new("curl");
    c.args(["-sS", "--fail"])
        .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
        .args(["-H", "Accept: application/json"])
        .args(["-H", &format!("api-version: {}", api_version())])
        .arg(format!("{base}/account"));
    c
}

/// The spec's `info.version`, as the library sends it.
fn api_version() -> String {
    let v: serde_json::Value = serde_json::from_str(opx::spec::OPENAPI_JSON).expect("spec");
    v["info"]["version"]
        .as_str()
        .expect("info.version")
        .to_owned()
}

/// One run's wall time in ms; panics unless it succeeded and printed the account.
fn timed(mut cmd: Command) -> f64 {
    let t = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("spawn");
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("balance"),
        "{cmd:?}: {} {text}",
        out.status
    );
    ms
}

pub fn case_g(opts: &Opts, rows: &mut Vec<Row>) {
    if Command::new("curl").arg("--version").output().is_err() {
        rows.push(Row::new(
            "g",
            "opx --json account vs curl",
            "skipped: no curl",
        ));
        return;
    }
    let rounds = opts.pick(40, 200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = rt.block_on(async {
        MockServer::builder()
            .token(TOKEN)
            .validate_responses(false)
            .limit(opx::operation::Bucket::GlobalMinute, u32::MAX)
            .limit(opx::operation::Bucket::GlobalHour, u32::MAX)
            .start()
            .await
            .expect("mock")
    });
    let base = server.base_url().to_owned();
    // Warm the page cache (both binaries, the libraries they load).
    timed(opx_cmd(&base));
    timed(curl_cmd(&base));
    let (mut opx, mut curl) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        if r % 2 == 0 {
            opx.push(timed(opx_cmd(&base)));
            curl.push(timed(curl_cmd(&base)));
        } else {
            curl.push(timed(curl_cmd(&base)));
            opx.push(timed(opx_cmd(&base)));
        }
    }
    let served = server.records().executions(Operation::GetAccount);
    assert_eq!(served, 2 * rounds as u64 + 2, "the mock served every run");
    let (o, op90) = (median(&mut opx), quantile(&mut opx, 0.9));
    let (c, cp90) = (median(&mut curl), quantile(&mut curl, 0.9));
    let (med, p90) = ([o, c], [op90, cp90]);
    variant_rows(
        "g",
        &med,
        |i| format!("cold start, {}", COLD_START[i]),
        |i| {
            let interleaved = if i == 0 { "" } else { ", interleaved" };
            format!(
                "median {:.2} ms wall (p90 {:.2}); {rounds} runs{interleaved}",
                med[i], p90[i]
            )
        },
        Some(Target::AtMost(1.2)),
        rows,
    );
    let what = |i: usize| format!("instructions, {}", INSTRUCTIONS[i]);
    match (
        instructions(&opx_cmd(&base)),
        instructions(&curl_cmd(&base)),
    ) {
        (Some(a), Some(b)) => {
            let counts = [a as f64, b as f64];
            let figure = |i: usize| format!("{:.1} M instructions (callgrind)", counts[i] / 1e6);
            variant_rows("g", &counts, what, figure, None, rows);
        }
        _ => rows.push(instructions_skipped("g", &what(0))),
    }
    drop(server);
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
}
