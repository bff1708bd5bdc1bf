//! `opx`: the OP-Proxy command-line tool, a thin layer over the `opx` facade.

mod api;
mod check;
mod cmd_bulk;
mod cmd_change;
mod cmd_doctor;
mod cmd_money;
mod cmd_pending;
mod cmd_proxies;
mod cmd_read;
mod cmd_renew;
mod cmd_whitelist;
mod commands;
mod config;
mod confirm;
mod context;
mod export;
mod failure;
mod gateway;
mod interrupt;
mod journal;
mod listing;
mod mock;
mod output;
mod show;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A page-size parser bounded by the operation's `limit` maximum in the spec.
fn page_size(op: opx::Operation) -> clap::builder::RangedI64ValueParser<u32> {
    let max = op.max_page_size().unwrap_or(u32::MAX);
    clap::value_parser!(u32).range(1..=i64::from(max))
}

const EXIT_CODES: &str = "\
Environment:
  OPX_TOKEN     API key (required by every command but `mock`, `completions` and `config`,
                unless the profile names its own token source)
  OPX_BASE_URL  API base URL (default https://op-proxy.com/api/v1; same as --base-url)
  OPX_PROFILE   profile of the config file to use (same as --profile)
  OPX_CONFIG    config file (default: <config dir>/opx/config.toml, e.g.
                ~/.config/opx/config.toml); `opx config` shows which one and what it gives
  OPX_LOG       diagnostics on stderr, a tracing filter: `debug`, `opx=trace`, ... (default off)
  OPX_TIMEOUT   deadline of each API call in seconds, retries included (same as --timeout;
                default 60)
  OPX_PACE      1: wait for the rate-limit window instead of failing (same as --pace)
  OPX_WATCH     seconds to watch after a lost money answer (same as --watch; default 10)
  OPX_STATE_DIR where the journal of money calls is kept (default: the platform's state
                directory, e.g. ~/.local/state/opx)

Exit codes:
  0  success (for `purchase` / `extend`: the charge happened, also when it was recovered or
     accepted with an unreadable answer; for `renew`: the plan was shown, or every due
     service was extended)
  1  any other failure (network, unreadable response, deviations found by `doctor`, a due
     service `renew` left, ...); for a money command only when its money request was not
     sent (could not connect, or a read before it failed), so nothing was charged
  2  usage: bad arguments or input, missing OPX_TOKEN, a charge not confirmed, a charge over
     the profile's spend cap
  3  the API refused the request (its error code is printed)
  4  rate limited: retry after the delay printed
  5  outcome unknown: a purchase, extension (also in `renew`) or credentials change may or
     may not have happened (it is kept in the journal: `opx pending` resolves it), or one of
     the same kind is still unknown and this one was refused before sending
  6  `opx check`: some endpoint did not work (or the list was empty)";

/// Command-line tool for the OP-Proxy v1 API: balance, plans, purchases, services, proxy
/// lists, logs, and a local mock of the API.
#[derive(Debug, Parser)]
#[command(name = "opx", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Print the response's `data` exactly as the API returned it (one JSON document).
    #[arg(long, global = true)]
    json: bool,
    /// API base URL.
    #[arg(long, global = true, env = "OPX_BASE_URL", value_name = "URL")]
    base_url: Option<String>,
    /// Profile of the config file to use (see `opx config`).
    #[arg(long, global = true, env = "OPX_PROFILE", value_name = "NAME")]
    profile: Option<String>,
    /// Deadline of each API call in seconds, retries and backoff included (default 60).
    #[arg(long, global = true, env = "OPX_TIMEOUT", value_name = "SECS")]
    timeout: Option<f64>,
    /// Seconds to watch the account after a purchase's or extension's answer was lost, before
    /// the outcome is reported unknown (default 10, or the profile's `watch`).
    #[arg(long, global = true, env = "OPX_WATCH", value_name = "SECS")]
    watch: Option<f64>,
    /// Pace calls to the rate limit: wait for an exhausted window to reset instead of failing
    /// with exit 4 (a call can then wait up to an hour).
    #[arg(long, global = true, env = "OPX_PACE", value_parser = clap::builder::BoolishValueParser::new())]
    pace: bool,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the account: user name, e-mail and balance.
    Account,
    /// List the purchasable rotating plans.
    Plans {
        /// Only plans of this type.
        #[arg(long = "type", value_enum)]
        service_type: Option<opx::types::ServiceType>,
    },
    /// Buy a rotating proxy package (charges the balance; asks first).
    Purchase {
        /// Service type.
        #[arg(long = "type", value_enum)]
        service_type: opx::types::ServiceType,
        /// Plan id, from `opx plans`.
        #[arg(long = "plan", value_name = "PLAN_ID")]
        plan: String,
        /// Country/region (default: mixed).
        #[arg(long)]
        country: Option<String>,
        /// Rotation mode (default: instant).
        #[arg(long)]
        rotation: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Buy even while an earlier purchase of this plan has an unknown outcome (it may then
        /// be charged twice).
        #[arg(long)]
        force: bool,
    },
    /// List services (one page, or every page with --all).
    Services(cmd_read::ServicesArgs),
    /// Show one service.
    Service {
        /// Service id (24 hex characters).
        id: String,
    },
    /// Print a service's proxy list (txt: exactly as returned, ready to pipe to a file), or with
    /// --all the lists of every service the filters select (paced to the rate limit).
    Proxies(cmd_proxies::ProxiesArgs),
    /// Extend a service by one period (charges the plan price; asks first).
    Extend {
        /// Service id (24 hex characters).
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Extend even while an earlier extension of this service has an unknown outcome (it
        /// may then be charged twice).
        #[arg(long)]
        force: bool,
    },
    /// Extend the active services expiring within --before, oldest first, for at most
    /// --max-spend RUB in total (without --yes: only show the plan).
    Renew(cmd_renew::RenewArgs),
    /// Replace a service's whitelist (no IP: clear it, after asking), or add or remove one
    /// address keeping the rest: `opx whitelist add ID IP`, `opx whitelist remove ID IP`.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Whitelist {
        /// Add or remove one address, keeping the other entries and their labels.
        #[command(subcommand)]
        edit: Option<cmd_whitelist::Edit>,
        /// Service id (24 hex characters).
        #[arg(required = true)]
        id: Option<String>,
        /// IPv4 addresses (at most 50).
        ips: Vec<String>,
        /// A label for each address, in order (give none or one per address).
        #[arg(long = "label", value_name = "L")]
        labels: Vec<String>,
        /// Do not ask before clearing the whitelist.
        #[arg(long)]
        yes: bool,
    },
    /// Regenerate a service's proxy login and password (the old ones stop working; asks first).
    Credentials {
        /// Service id (24 hex characters).
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Change an IPv6 service's country/region.
    Country {
        /// Service id (24 hex characters).
        id: String,
        /// Country/region (2-32 alphanumerics).
        country: String,
    },
    /// Change an IPv6 service's rotation mode.
    Rotation {
        /// Service id (24 hex characters).
        id: String,
        /// Rotation mode (2-32 alphanumerics).
        rotation: String,
    },
    /// Read the API action log (one page, or every page with --all).
    Logs(cmd_read::LogsArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Fetch a target through each proxy of a service: status, latency, exit address (exit 6
    /// when some do not work).
    Check(check::CheckArgs),
    /// Run a local HTTP + SOCKS5 proxy in front of your services until interrupted: no
    /// credentials needed locally, each request on a new upstream connection, never more
    /// connections to a service than its threads, failing lines ejected, Prometheus metrics.
    Gateway(gateway::GatewayArgs),
    /// Run a local, spec-driven mock of the API until interrupted.
    Mock(mock::MockArgs),
    /// Check every read-only answer of the server against the spec and list each deviation
    /// (never spends money or changes anything; exit 1 when something deviates).
    Doctor,
    /// Show the config file, the active profile, the base URL and where the token comes from
    /// (the token itself redacted).
    Config,
    /// Send one authenticated request to any API path and print the response body.
    Api(api::ApiArgs),
    /// The money calls whose outcome is unknown (resolved first where the account now shows
    /// them), and what was spent today and this month against the spend cap.
    Pending(cmd_pending::PendingArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("OPX_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks over every subcommand: conflicting short flags, bad
    /// defaults, ... Without this they surface as a panic only when that subcommand runs.
    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// No subcommand reuses the name of a global option (`debug_assert` does not see it, and
    /// parsing such a subcommand panics on the type mismatch).
    #[test]
    fn no_subcommand_shadows_a_global_option() {
        let root = super::Cli::command();
        let globals: Vec<_> = root
            .get_arguments()
            .filter(|a| a.is_global_set())
            .map(|a| a.get_id().clone())
            .collect();
        assert!(globals.iter().any(|g| g == "timeout"), "{globals:?}");
        fn walk(cmd: &clap::Command, globals: &[clap::Id], path: &str) {
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                for arg in sub.get_arguments() {
                    assert!(
                        !globals.contains(arg.get_id()),
                        "`{path}` redefines --{}",
                        arg.get_id()
                    );
                }
                walk(sub, globals, &path);
            }
        }
        walk(&root, &globals, "opx");
    }
}
