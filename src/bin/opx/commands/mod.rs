//! The command tree: the global options ([`Cli`]), one subcommand per module of this folder, and
//! what every run starts and ends with (the client context, the rate-limit notice). Which
//! command reaches each API operation is said once, in `reach.rs`.

mod account;
mod api;
mod auth;
mod check;
mod credentials;
mod doctor;
mod extend;
mod gateway;
mod logs;
mod man;
mod mock;
mod pending;
mod plans;
mod proxies;
mod purchase;
#[cfg(test)]
mod reach;
mod renew;
mod services;
mod setting;
mod whitelist;

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::context::Ctx;
use crate::failure::Failure;

/// The heading the global options are listed under in every command's help, after the
/// command's own `Options:`.
const GLOBAL: &str = "Global options";

/// The width help is laid out for, whatever the terminal (so `tests/golden/help.txt` holds).
pub const HELP_WIDTH: usize = 100;

/// What `opx --help` ends with: examples, the environment, the exit codes.
const AFTER_HELP: &str = "\
Examples:
  # Log in once (the token is checked, then kept in the OS keychain)
  opx auth login
  # The balance, then the IPv6 plans you can buy
  opx account
  opx plans --type ipv6_rotating
  # Every active service's proxy list, merged into one file
  opx proxies --all --merge > proxies.txt
  # Extend what expires within a week, at most 5000 RUB
  opx renew --before 7d --max-spend 5000 --yes

Environment:
  OPX_TOKEN     API key (used before a token stored by `opx auth login`; a profile's
                token_env / token_file comes first)
  OPX_BASE_URL  API base URL for OPX_TOKEN (default https://op-proxy.com/api/v1); a profile's
                or stored token goes only to its own base URL: only --base-url sends it elsewhere
  OPX_KEYRING   0: `opx auth login` keeps the token in <config dir>/opx/auth.json (mode 600),
                not in the OS keychain
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY (or lower case)
                the proxy of the API calls, read as curl does (--no-proxy: none)
  OPX_PROFILE   profile of the config file to use (same as --profile)
  OPX_CONFIG    config file (default: <config dir>/opx/config.toml, e.g.
                ~/.config/opx/config.toml); `opx config` shows which one and what it gives
  OPX_LOG       diagnostics on stderr, a tracing filter: `debug`, `opx=trace`, ... (default off;
                coloured only on a terminal, never with NO_COLOR)
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
#[command(
    name = "opx",
    version,
    about = "The OP-Proxy command line: balance, plans, purchases, services, proxy lists, \
             renewals, logs, a local gateway in front of your proxies, and a mock of the API",
    after_help = AFTER_HELP,
    term_width = HELP_WIDTH
)]
pub struct Cli {
    /// Print the response's `data` exactly as the API returned it (one JSON document).
    #[arg(long, global = true, help_heading = GLOBAL)]
    json: bool,
    /// Filter the JSON output with a jq expression (implies --json), e.g. `.plans[].plan_id`;
    /// a string prints as its text.
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "EXPR")]
    jq: Option<String>,
    /// API base URL (default: the profile's or stored login's, else OPX_BASE_URL, else
    /// https://op-proxy.com/api/v1).
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "URL")]
    base_url: Option<String>,
    /// Call the API directly, not through the proxy that HTTPS_PROXY / HTTP_PROXY / ALL_PROXY
    /// name.
    #[arg(long, global = true, help_heading = GLOBAL)]
    no_proxy: bool,
    /// Profile of the config file to use (see `opx config`).
    #[arg(long, global = true, help_heading = GLOBAL, env = "OPX_PROFILE", value_name = "NAME")]
    profile: Option<String>,
    /// Deadline of each API call in seconds, retries and backoff included (default 60).
    #[arg(long, global = true, help_heading = GLOBAL, env = "OPX_TIMEOUT", value_name = "SECS")]
    timeout: Option<f64>,
    /// Seconds to watch the account after a purchase's or extension's answer was lost, before
    /// the outcome is reported unknown (default 10, or the profile's `watch`).
    #[arg(long, global = true, help_heading = GLOBAL, env = "OPX_WATCH", value_name = "SECS")]
    watch: Option<f64>,
    /// Pace calls to the rate limit: wait as the server says (its Retry-After, or the reset of
    /// an exhausted window) instead of failing with exit 4; a wait over 2 s is said on stderr
    /// first, and Ctrl-C stops it (a call can wait up to an hour).
    #[arg(long, global = true, help_heading = GLOBAL, env = "OPX_PACE", value_parser = clap::builder::BoolishValueParser::new())]
    pace: bool,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, one module each (`opx whitelist add` is in `whitelist/`, `opx proxies --all`
/// in `proxies/`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the account: user name, e-mail and balance.
    #[command(after_help = "\
Examples:
  # User name, e-mail and balance
  opx account
  # The balance alone, for a script
  opx account --jq .balance")]
    Account,
    /// List the purchasable rotating plans.
    Plans(plans::PlansArgs),
    /// Buy a rotating proxy package (charges the balance; asks first).
    Purchase(purchase::PurchaseArgs),
    /// List services (one page, or every page with --all).
    Services(services::ServicesArgs),
    /// Show one service.
    Service(services::ServiceArgs),
    /// Print a service's proxy list (txt: exactly as returned, ready to pipe to a file), or with
    /// --all the lists of every service the filters select (paced to the rate limit).
    Proxies(proxies::ProxiesArgs),
    /// Extend a service by one period (charges the plan price; asks first).
    Extend(extend::ExtendArgs),
    /// Extend the active services expiring within --before, oldest first, for at most
    /// --max-spend RUB in total (shows the plan, then asks on a terminal; off a terminal
    /// without --yes, or with --dry-run, only shows the plan).
    Renew(renew::RenewArgs),
    /// Show a service's whitelist (`opx whitelist ID`), replace it (`opx whitelist ID IP...`),
    /// add or remove one address keeping the rest (`opx whitelist add|remove ID IP`), or empty
    /// it after asking (`opx whitelist clear ID`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Whitelist(whitelist::WhitelistArgs),
    /// Regenerate a service's proxy login and password (the old ones stop working; asks first).
    Credentials(credentials::CredentialsArgs),
    /// Change an IPv6 service's country/region.
    Country(setting::CountryArgs),
    /// Change an IPv6 service's rotation mode.
    Rotation(setting::RotationArgs),
    /// Read the API action log (one page, or every page with --all).
    Logs(logs::LogsArgs),
    /// Print a shell completion script.
    #[command(after_help = r#"Examples:
  # Bash, for your user
  opx completions bash > ~/.local/share/bash-completion/completions/opx
  # Zsh, into the first directory of $fpath
  opx completions zsh > "${fpath[1]}/_opx"
  # Fish
  opx completions fish > ~/.config/fish/completions/opx.fish"#)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write a man page for opx and one for each of its commands (opx.1, opx-proxies.1, ...)
    /// into a directory.
    Man(man::ManArgs),
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
    #[command(after_help = "\
Examples:
  # Compare the live API's answers with the spec
  opx doctor
  # The deviations as JSON, against another server
  opx doctor --json --base-url http://127.0.0.1:8080/api/v1")]
    Doctor,
    /// Show the config file, the active profile, the base URL and where the token comes from
    /// (the token itself redacted, its fingerprint shown; `opx auth status` checks it).
    #[command(after_help = "\
Examples:
  # Which config file, profile, base URL and token are in use
  opx config
  # The same for another profile
  opx config --profile work
  # As JSON
  opx config --json")]
    Config,
    /// Log in (store an API token, checked first, in the OS keychain), show the token in use,
    /// or log out.
    Auth(auth::AuthArgs),
    /// Send one authenticated request to any API path and print the response body.
    Api(api::ApiArgs),
    /// The money calls whose outcome is unknown (resolved first where the account now shows
    /// them), and what was spent today and this month against the spend cap.
    Pending(pending::PendingArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let timeout = match cli.timeout {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(Failure::Usage(format!(
                "--timeout {s}: give a positive number of seconds"
            )));
        }
        None => None,
    };
    // `proxies --all` is paced as a whole (its listing too), `--pace` or not.
    let bulk = matches!(&cli.command, Command::Proxies(a) if a.all);
    let watch = match cli.watch {
        Some(s) if s.is_finite() && (0.0..=3600.0).contains(&s) => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(Failure::Usage(format!(
                "--watch {s}: give a number of seconds from 0 to 3600"
            )));
        }
        None => None,
    };
    if let Some(expr) = &cli.jq {
        crate::jq::set(expr)?;
    }
    let json = cli.json || cli.jq.is_some();
    let ctx = Ctx::new(json, cli.profile.clone(), cli.base_url.clone(), timeout)
        .with_pace(cli.pace || bulk)
        .with_money(watch, forced(&cli.command))
        .with_no_proxy(cli.no_proxy);
    let result = dispatch(&ctx, cli.command).await;
    ctx.notice();
    result
}

/// Whether the command sends a money call even over an unknown one of the same kind.
fn forced(command: &Command) -> bool {
    match command {
        Command::Purchase(args) => args.force,
        Command::Extend(args) => args.force,
        Command::Renew(args) => args.force,
        Command::Api(args) => args.force,
        _ => false,
    }
}

/// The arms `Command::$variant(args) => $run(ctx, args).await` of the commands that need only
/// the context, then the other arms as written.
macro_rules! route {
    ($command:expr, $ctx:expr; $($variant:ident => $run:path),+; $($arm:tt)*) => {
        match $command {
            $(Command::$variant(args) => $run($ctx, args).await,)+
            $($arm)*
        }
    };
}

async fn dispatch(ctx: &Ctx, command: Command) -> Result<(), Failure> {
    route!(command, ctx;
        Plans => plans::run, Purchase => purchase::run, Services => services::list,
        Service => services::show, Proxies => proxies::run, Extend => extend::run,
        Renew => renew::run, Whitelist => whitelist::run, Credentials => credentials::run,
        Country => setting::country, Rotation => setting::rotation, Logs => logs::run,
        Pending => pending::run, Auth => auth::run;
        Command::Account => account::run(ctx).await,
        Command::Doctor => doctor::run(ctx).await,
        Command::Config => crate::config::show(ctx.profile(), ctx.base_url(), ctx.json),
        Command::Api(args) => {
            let settings = ctx.settings()?;
            let proxy = ctx.proxy_for(&settings.base_url().0);
            api::run(args, settings, ctx.timeout(), ctx.json, proxy).await
        }
        Command::Mock(args) => mock::run(args).await,
        Command::Gateway(args) => gateway::run(ctx.client()?.clone(), args).await,
        Command::Check(args) => check::run(ctx.client()?, args, ctx.json).await,
        Command::Completions { shell } => completions(shell),
        Command::Man(args) => man::run(args),
    )
}

/// `opx completions SHELL`: the completion script on stdout (written whole, so a closed pipe
/// ends it quietly).
fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "opx", &mut script);
    crate::output::print_bytes(&script)
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

    /// Every command's help ends with an `Examples:` section of at least two `opx ...` lines
    /// (a command added without one fails here), each parses with the real definition (split
    /// as a shell would, up to a redirection or pipe), and one runs that command (or, for
    /// `opx auth`, one of its own).
    #[test]
    fn every_command_has_examples_that_parse() {
        fn walk(cmd: &clap::Command, path: &[&str]) {
            let shown = path.join(" ");
            let after = cmd.get_after_help().map(ToString::to_string);
            let examples = after
                .as_deref()
                .and_then(|a| a.split("\n\n").find(|s| s.starts_with("Examples:\n")))
                .unwrap_or_else(|| panic!("`{shown} --help` has no `Examples:` section"));
            let mut runs = Vec::new();
            for line in examples
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("opx "))
            {
                let words = shlex::split(line).unwrap_or_else(|| panic!("{shown}: {line:?}"));
                let shell = [">", ">>", "<", "|", "&&", ";"];
                let args = words.iter().take_while(|w| !shell.contains(&w.as_str()));
                let matches = super::Cli::command()
                    .try_get_matches_from(args)
                    .unwrap_or_else(|e| panic!("`{shown}` example `{line}`:\n{e}"));
                let mut ran = String::from("opx");
                let mut m = &matches;
                while let Some((name, sub)) = m.subcommand() {
                    ran = format!("{ran} {name}");
                    m = sub;
                }
                runs.push(ran);
            }
            assert!(runs.len() >= 2, "`{shown} --help`: {} examples", runs.len());
            assert!(
                runs.iter()
                    .any(|r| r == &shown || r.starts_with(&format!("{shown} "))),
                "no example of `{shown}` runs it: {runs:?}"
            );
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, &[path, &[sub.get_name()]].concat());
            }
        }
        walk(&super::Cli::command(), &["opx"]);
    }

    /// Each operation's command (see `reach.rs`) is in the command tree.
    #[test]
    fn every_operation_is_reached_by_a_command() {
        let root = super::Cli::command();
        for op in opx::Operation::ALL {
            let path = super::reach::command_of(op);
            let mut cmd = &root;
            for name in path.split_whitespace() {
                cmd = cmd
                    .find_subcommand(name)
                    .unwrap_or_else(|| panic!("{op}: no command `opx {path}`"));
            }
        }
    }

    /// Every command's `--help` as `opx ... --help` prints it, root first, then each subcommand
    /// in the order `opx --help` lists them, depth first (clap's own `help` subcommands left
    /// out); laid out for [`super::HELP_WIDTH`] columns whatever the terminal.
    fn every_help() -> String {
        fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut String) {
            let mut args = path.clone();
            args.push("--help".into());
            let help = super::Cli::command()
                .try_get_matches_from(&args)
                .expect_err("--help ends parsing");
            assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp, "{args:?}");
            out.push_str(&format!("=== {}\n", args.join(" ")));
            // Without trailing spaces, which editors and review tools strip.
            for line in help.render().to_string().lines() {
                out.push_str(&unset_env_values(line.trim_end()));
                out.push('\n');
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                path.push(sub.get_name().to_owned());
                walk(sub, path, out);
                path.pop();
            }
        }
        let mut out = String::new();
        walk(
            &super::Cli::command(),
            &mut vec!["opx".to_owned()],
            &mut out,
        );
        out
    }

    /// A help line as it is with no `OPX_*` variable set: `[env: OPX_TIMEOUT=30]` becomes
    /// `[env: OPX_TIMEOUT=]` (clap shows the variable's current value).
    fn unset_env_values(line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(at) = rest.find("[env: ") {
            let (before, env) = rest.split_at(at);
            out.push_str(before);
            let Some(end) = env.find(']') else {
                rest = env;
                break;
            };
            let tag = &env[..end];
            out.push_str(tag.find('=').map_or(tag, |eq| &tag[..=eq]));
            rest = &env[end..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn help_shows_no_value_of_the_environment() {
        assert_eq!(
            unset_env_values("x [env: OPX_TIMEOUT=30] y [env: A=] [env: B]"),
            "x [env: OPX_TIMEOUT=] y [env: A=] [env: B]"
        );
    }

    /// `tests/golden/help.txt` holds every command's `--help`: a change to any help text shows
    /// in review. After a deliberate change: `OPX_BLESS=1 cargo test --all-features --bin opx
    /// help`, and commit the file.
    #[test]
    fn help_matches_the_golden_file() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/help.txt");
        let now = every_help();
        if std::env::var_os("OPX_BLESS").is_some_and(|v| !v.is_empty()) {
            std::fs::write(path, &now).expect("write the golden file");
            return;
        }
        let golden = std::fs::read_to_string(path).unwrap_or_default();
        if golden != now {
            let line = golden
                .lines()
                .zip(now.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| golden.lines().count().min(now.lines().count()));
            panic!(
                "the help differs from {path} from line {} on:\n  golden: {:?}\n  now:    {:?}\n\
                 if the change is meant: OPX_BLESS=1 cargo test --all-features --bin opx help",
                line + 1,
                golden.lines().nth(line).unwrap_or("(end)"),
                now.lines().nth(line).unwrap_or("(end)"),
            );
        }
    }
}
