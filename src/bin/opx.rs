//! The `opx` command-line tool.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// Command-line tool for the OP-Proxy v1 API.
#[derive(Debug, Parser)]
#[command(name = "opx", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the spec-driven mock of the API until interrupted (ctrl-c).
    Mock(MockArgs),
}

#[derive(Debug, clap::Args)]
struct MockArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// API key of the default account (default: a random `opx_live_` + 32 hex).
    #[arg(long)]
    token: Option<String>,
    /// Starting balance of the default account, in RUB.
    #[arg(long, default_value_t = opx::mock::DEFAULT_BALANCE)]
    balance: i64,
    /// Lift every rate limit (for property-based testing); the default is the documented limits.
    #[arg(long)]
    no_rate_limits: bool,
}

async fn run_mock(args: MockArgs) -> std::io::Result<()> {
    let mut builder = opx::mock::MockServer::builder()
        .listen(args.listen)
        .balance(args.balance)
        .wall_clock();
    if args.no_rate_limits {
        for bucket in opx::mock::Bucket::ALL {
            builder = builder.limit(bucket, u32::MAX);
        }
    }
    if let Some(t) = args.token {
        builder = builder.token(t);
    }
    let server = builder.start().await?;
    println!("listening on {}", server.base_url());
    println!("token: {}", server.token());
    tokio::signal::ctrl_c().await?;
    let violations = server.schema_violations();
    for v in &violations {
        eprintln!("schema violation: {v}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mock(args) => run_mock(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
