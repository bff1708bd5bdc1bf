//! Which module runs which subcommand (`cmd_read`, `cmd_money`, `cmd_change`, `cmd_doctor`, and
//! the tools: `config`, `api`, `mock`), and what every run ends with (the rate-limit notice).

use std::time::Duration;

use crate::cmd_change::Setting;
use crate::cmd_money::PurchaseArgs;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::{Cli, Command, cmd_change, cmd_doctor, cmd_money, cmd_read};

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
    let ctx = Ctx::new(cli.json, cli.profile.clone(), cli.base_url.clone(), timeout)
        .with_pace(cli.pace || bulk)
        .with_money(watch, forced(&cli.command));
    let result = dispatch(&ctx, cli.command).await;
    ctx.notice();
    result
}

/// Whether the command sends a money call even over an unknown one of the same kind.
fn forced(command: &Command) -> bool {
    match command {
        Command::Purchase { force, .. } | Command::Extend { force, .. } => *force,
        Command::Renew(args) => args.force,
        Command::Api(args) => args.force,
        _ => false,
    }
}

async fn dispatch(ctx: &Ctx, command: Command) -> Result<(), Failure> {
    match command {
        Command::Config => crate::config::show(ctx.profile(), ctx.base_url(), ctx.json),
        Command::Api(args) => crate::api::run(args, ctx.settings()?, ctx.timeout()).await,
        Command::Mock(args) => crate::mock::run(args).await,
        Command::Gateway(args) => crate::gateway::run(ctx.client()?.clone(), args).await,
        Command::Completions { shell } => completions(shell),
        Command::Check(args) => crate::check::run(ctx.client()?, args, ctx.json).await,
        Command::Account => cmd_read::account(ctx).await,
        Command::Plans { service_type } => cmd_read::plans(ctx, service_type).await,
        Command::Purchase {
            service_type,
            plan,
            country,
            rotation,
            yes,
            force: _,
        } => {
            let args = PurchaseArgs {
                service_type,
                plan,
                country,
                rotation,
                yes,
            };
            cmd_money::purchase(ctx, args).await
        }
        Command::Services(args) => cmd_read::services(ctx, args).await,
        Command::Service { id } => cmd_read::service(ctx, id).await,
        Command::Proxies(args) => crate::cmd_proxies::run(ctx, args).await,
        Command::Extend { id, yes, .. } => cmd_money::extend(ctx, id, yes).await,
        Command::Pending(args) => crate::cmd_pending::run(ctx, args).await,
        Command::Whitelist {
            edit: Some(edit), ..
        } => crate::cmd_whitelist::run(ctx, edit).await,
        Command::Whitelist {
            id,
            ips,
            labels,
            yes,
            ..
        } => {
            let id = id.unwrap_or_default(); // required by clap without a subcommand
            cmd_change::whitelist(ctx, id, ips, labels, yes).await
        }
        Command::Credentials { id, yes } => cmd_change::credentials(ctx, id, yes).await,
        Command::Country { id, country } => {
            cmd_change::set(ctx, id, Setting::Country(country)).await
        }
        Command::Rotation { id, rotation } => {
            cmd_change::set(ctx, id, Setting::Rotation(rotation)).await
        }
        Command::Logs(args) => cmd_read::logs(ctx, args).await,
        Command::Doctor => cmd_doctor::doctor(ctx).await,
        Command::Renew(args) => crate::cmd_renew::run(ctx, args).await,
    }
}

/// `opx completions SHELL`: the completion script on stdout.
fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "opx", &mut std::io::stdout());
    Ok(())
}
