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
mod proxy;
mod show;
mod waiting;

use std::io::IsTerminal;
use std::process::ExitCode;

/// Diagnostics on stderr only when `OPX_LOG` names a filter (off otherwise: no library's
/// warning reaches the terminal beside the one-line error); colour only when stderr is a
/// terminal and `NO_COLOR` is unset or empty, so `OPX_LOG=debug opx ... 2>file` writes plain text.
fn init_logging() {
    let Some(filter) = std::env::var("OPX_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
    else {
        return;
    };
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let cli = <commands::Cli as clap::Parser>::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
