//! `opx`: the OP-Proxy command-line tool, a thin layer over the `opx` facade.
//!
//! `commands/` holds one module per command noun (its arguments and its run function) and the
//! command tree; the other modules are what commands share (arguments' parsers, the client
//! context, output, failures, confirmation, interrupts, config, journal), and import no command.

mod args;
mod commands;
mod config;
mod confirm;
mod context;
mod failure;
mod interrupt;
mod journal;
mod jq;
mod listing;
mod output;
mod show;
mod waiting;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("OPX_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = <commands::Cli as clap::Parser>::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
