//! Side-by-side benchmarks of what a user waits for before any work is done (see
//! BENCHMARKS.md): (g) the CLI's cold start against `curl`, (h) `MockServer::start` and
//! `opx mock`'s readiness, and, only when named (`cargo xtask bench i`: minutes), (i) a clean
//! debug build of a small program on `opx` against the same program on bare reqwest + serde.

#[path = "../support/mod.rs"]
mod support;

mod build;
mod cold;
mod mock_start;

use std::process::Command;

use support::{Opts, Row};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--starts") {
        let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1);
        mock_start::starts_child(n);
        return;
    }
    let opts = Opts::from_args();
    let mut rows = Vec::new();
    // (h) first: its first-start figure is a child's, but the later starts are this process's.
    if opts.wants("h") {
        mock_start::case_h(&opts, &mut rows);
    }
    if opts.wants("g") {
        cold::case_g(&opts, &mut rows);
    }
    // Minutes of compiling: only when asked for by name.
    if opts.only.iter().any(|c| c == "i") {
        build::case_i(&opts, &mut rows);
    }
    support::report(&rows);
}

/// Instructions the command executed, as callgrind counts them (children followed); `None`
/// without valgrind or when the command failed.
fn instructions(cmd: &mut Command) -> Option<u64> {
    let prog = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let mut vg = Command::new("valgrind");
    vg.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(prog)
        .args(args);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => vg.env(k, v),
            None => vg.env_remove(k),
        };
    }
    let out = vg.output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.split_once("Collected :"))
        .and_then(|(_, n)| n.trim().replace(',', "").parse().ok())
}

/// The row that stands in for an instruction count when valgrind is not there.
fn instructions_skipped(case: &'static str, what: &str) -> Row {
    Row::new(case, what, "skipped: valgrind is not installed or failed")
}
