//! `cargo xtask bench`: runs the side-by-side benchmarks (`benches/client.rs`,
//! `benches/proxy_parse.rs`) and prints one table of figures, ratios and targets, headed by the
//! machine it ran on.

use std::{path::Path, process::Command};

/// The bench binary of (g)-(i) (`benches/startup/`): cold start, mock start, clean build.
const STARTUP_BENCH: [&str; 2] = ["--bench", "startup"];

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct BenchArgs {
    /// Longer runs (`--full` to the bench binaries); the default is a quick run.
    pub full: bool,
    /// Case letters (`a`..`h`, `j`, and `i`, which only runs when named); empty = all but `i`.
    pub cases: Vec<String>,
}

/// Runs the benches from `root` and returns the table (Markdown), or why it failed.
pub fn run(root: &Path, args: &BenchArgs) -> Result<String, String> {
    let out = tempfile::NamedTempFile::new().map_err(|e| format!("temp file: {e}"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["bench", "--bench", "client", "--bench", "proxy_parse"])
        // (f): the bulk job against the rate limit (benches/bulk.rs).
        .args(["--bench", "bulk"])
        // (j): opx gateway against the mock's gateway straight (benches/gateway.rs).
        .args(["--bench", "gateway"])
        .args(STARTUP_BENCH)
        .arg("--")
        .env("OPX_BENCH_JSON", out.path());
    if args.full {
        cmd.arg("--full");
    }
    cmd.args(&args.cases);
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run cargo bench: {e}"))?;
    if !status.success() {
        return Err(format!("cargo bench failed: {status}"));
    }
    let text = std::fs::read_to_string(out.path()).map_err(|e| format!("results: {e}"))?;
    let mut rows: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("results: {e}"))?;
    rows.sort_by(|a, b| a["case"].as_str().cmp(&b["case"].as_str()));
    let mut table = machine();
    table.push_str(&format!(
        "run: {}\n\n| case | measurement | figure | ratio / checked | target | |\n|---|---|---|---|---|---|\n",
        if args.full { "--full" } else { "quick" }
    ));
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
        let checked = r["checked"]
            .as_f64()
            .map(|v| format!("{v:.3}"))
            .unwrap_or_default();
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            s("case"),
            s("what"),
            s("figure"),
            checked,
            s("target"),
            s("verdict")
        ));
    }
    let missed = rows.iter().filter(|r| r["verdict"] == "MISSED").count();
    let met = rows.iter().filter(|r| r["verdict"] == "met").count();
    table.push_str(&format!("\ntargets: {met} met, {missed} missed\n"));
    Ok(table)
}

/// `nproc`, the CPU model, memory, rustc and the load average, one line each.
fn machine() -> String {
    let sh = |prog: &str, args: &[&str]| {
        Command::new(prog)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "?".into())
    };
    let model = sh("lscpu", &[])
        .lines()
        .find(|l| l.starts_with("Model name:"))
        .map(|l| l.trim_start_matches("Model name:").trim().to_owned())
        .unwrap_or_else(|| "?".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "?".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "machine: nproc {}, {model}, {mem} RAM, {}, load average {}\n",
        sh("nproc", &[]),
        sh("rustc", &["--version"]),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}
