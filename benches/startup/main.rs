//! Side-by-side benchmarks of what a user waits for before any work is done (see
//! BENCHMARKS.md): (g) the CLI's cold start against `curl`, (h) `MockServer::start` and
//! `opx mock`'s readiness, and, only when named (`cargo xtask bench i`: minutes), (i) a clean
//! debug build of a small program on `opx` against the same program on bare reqwest + serde.

#[path = "../support/mod.rs"]
mod support;

mod build;
mod cold;
mod mock_start;

use support::Opts;

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
