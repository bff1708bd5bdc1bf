//! `opx mock`: the spec-driven mock of the API, until interrupted.

use std::net::SocketAddr;

use crate::failure::Failure;

/// Arguments of `opx mock`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # A mock on 127.0.0.1:8080 with a known key, the same ids every run
  opx mock --token opx_live_0123456789abcdef0123456789abcdef --seed 7
  # Then, in another shell, any command against it
  OPX_TOKEN=opx_live_0123456789abcdef0123456789abcdef opx --base-url http://127.0.0.1:8080/api/v1 account
  # A fast clock (expiry and rate-limit windows pass 60 times faster), no rate limits
  opx mock --time-scale 60 --no-rate-limits --balance 5000")]
pub struct MockArgs {
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
    /// Make ids, tokens and proxy credentials the same from run to run.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Start from this state (accounts, keys, services, logs), as `GET /_mock/state` exports it.
    #[arg(long, value_name = "FILE")]
    state: Option<std::path::PathBuf>,
    /// Reshape answers (drift simulation): a JSON object from operationId to a response override
    /// (`{"listServices": {"transforms": [{"op": "remove", "path": "/data/next_cursor"}]}}`).
    #[arg(long, value_name = "FILE")]
    overrides: Option<std::path::PathBuf>,
    /// Run the mock's clock N times faster than the wall clock: rate-limit windows and expiry
    /// pass N times faster, and `Retry-After` and `X-RateLimit-Reset` are stated in real
    /// seconds (a 60 s window at 10x: `X-RateLimit-Reset: 6`), so any client waits real time
    /// that matches the scale; `Date` is the mock's time.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    time_scale: Option<f64>,
}

fn read(path: &std::path::Path) -> std::io::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))
}

fn invalid(path: &std::path::Path, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{}: {e}", path.display()),
    )
}

/// Serves until ctrl-c (SIGINT), then reports any response that failed its schema on stderr,
/// one `schema violation: ...` line each, and fails (exit 1) if there was one.
pub async fn run(args: MockArgs) -> Result<(), Failure> {
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
    if let Some(n) = args.time_scale {
        if !(n.is_finite() && n > 0.0 && n <= opx::clock::MAX_TIME_SCALE) {
            return Err(Failure::Usage(format!(
                "--time-scale {n}: give a positive number up to {}",
                opx::clock::MAX_TIME_SCALE
            )));
        }
        builder = builder.time_scale(n);
    }
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    if let Some(path) = &args.state {
        let file = opx::mock::StateFile::from_json(&read(path)?).map_err(|e| invalid(path, e))?;
        builder = builder.state(file);
    }
    let overrides: std::collections::BTreeMap<opx::Operation, opx::mock::ResponseOverride> =
        match &args.overrides {
            Some(path) => serde_json::from_str(&read(path)?).map_err(|e| invalid(path, e))?,
            None => Default::default(),
        };
    let server = builder.start().await?;
    for (op, o) in overrides {
        server.faults().override_response(op, o);
    }
    let mut said = format!(
        "listening on {}\ntoken: {}\n",
        server.base_url(),
        server.token()
    );
    if let Some(n) = server.clock().time_scale().filter(|n| *n != 1.0) {
        said += &format!(
            "time: {n}x the wall clock (rate-limit windows, expiry; Retry-After and X-RateLimit-Reset in real seconds)\n"
        );
    }
    said += &format!(
        "control API: http://{}/_mock/ (loopback only)\n",
        server.addr()
    );
    for country in opx::types::GatewayCountry::KNOWN {
        if let Some(addr) = server.gateways().addr(&country) {
            said += &format!("gateway {country}: {addr}\n");
        }
    }
    // A closed pipe (`opx mock | head -1`) is no reason to stop serving.
    crate::output::print(&said)?;
    tokio::signal::ctrl_c().await?;
    let violations = server.records().schema_violations();
    for v in &violations {
        eprintln!("schema violation: {v}");
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Failure::Other(format!(
            "{} responses of the mock failed their schema",
            violations.len()
        )))
    }
}
