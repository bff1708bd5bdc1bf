//! `cargo xtask`: maintainer chores for `opx`. See the `xtask` library docs.

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use clap::{Parser, Subcommand};
use xtask::{DEFAULT_URL, Source};

mod bench;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Maintainer chores for opx")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Replace spec/openapi.json with the upstream OpenAPI 3.1 document (checked, normalized,
    /// written atomically), print what changed, then `cargo check` the workspace against it.
    Regen(RegenArgs),
    /// Run the side-by-side benchmarks (facade vs bare reqwest, pagination, proxy-list
    /// parsing, the mock, start-up and build time) and print one table of figures, ratios and
    /// targets.
    Bench(BenchCli),
}

#[derive(clap::Args)]
struct BenchCli {
    /// Longer runs (the default is a quick run, about a minute).
    #[arg(long)]
    full: bool,
    /// Only these cases (a b c d e, g h: start-up); all by default. `i` (a user's clean build,
    /// minutes) runs only when named.
    cases: Vec<String>,
}

#[derive(clap::Args)]
struct RegenArgs {
    /// Where to read the new spec: an http(s) URL or a file path.
    #[arg(long, value_name = "URL|PATH", default_value = DEFAULT_URL)]
    from: String,
    /// Only check that the vendored spec is valid, generates and is normalized (CI); writes
    /// nothing.
    #[arg(long, conflicts_with_all = ["from", "no_check"])]
    check: bool,
    /// Do not run `cargo check --all-features --all-targets` after writing the spec.
    #[arg(long)]
    no_check: bool,
    /// The spec file to check or replace.
    #[arg(long, value_name = "PATH")]
    spec: Option<PathBuf>,
}

/// The workspace root (the parent of this crate's directory).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Commands::Regen(args) => regen(args),
        Commands::Bench(args) => {
            let args = bench::BenchArgs {
                full: args.full,
                cases: args.cases,
            };
            match bench::run(&workspace_root(), &args) {
                Ok(table) => {
                    println!("\n{table}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}

fn regen(args: RegenArgs) -> ExitCode {
    let root = workspace_root();
    let target = args
        .spec
        .unwrap_or_else(|| root.join("spec").join("openapi.json"));
    if args.check {
        return match xtask::check(&target) {
            Ok(()) => {
                println!("{} is valid, normalized and generates", target.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        };
    }
    let source = match Source::parse(&args.from) {
        Ok(source) => source,
        Err(e) => return fail(&e),
    };
    eprintln!("fetching {source}");
    let report = match xtask::regen(&source, &target) {
        Ok(report) => report,
        Err(e) => return fail(&e.to_string()),
    };
    for note in &report.notes {
        eprintln!("note: 3.1 -> 3.0: {note}");
    }
    print!("{}", report.summary(&target));
    if args.no_check {
        return ExitCode::SUCCESS;
    }
    if !report.written {
        eprintln!("the spec did not change: skipping cargo check");
        return ExitCode::SUCCESS;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("running cargo check --all-features --all-targets");
    match Command::new(cargo)
        .args(["check", "--all-features", "--all-targets"])
        .current_dir(&root)
        .status()
    {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => fail(&format!(
            "{} was written, but the workspace no longer compiles against it (cargo check: {status})",
            target.display()
        )),
        Err(e) => fail(&format!("cannot run cargo check: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
