//! Which module runs which subcommand (`cmd_read`, `cmd_money`, `cmd_change`, `cmd_doctor`, and
//! the tools: `config`, `api`, `mock`), and what every run ends with (the rate-limit notice).

use std::time::Duration;

use opx::{LogQuery, ProxyQuery, ServiceQuery};

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
    let bulk = matches!(cli.command, Command::Proxies { all: true, .. });
    let ctx = Ctx::new(cli.json, cli.profile.clone(), cli.base_url.clone(), timeout)
        .with_pace(cli.pace || bulk);
    let result = dispatch(&ctx, cli.command).await;
    ctx.notice();
    result
}

async fn dispatch(ctx: &Ctx, command: Command) -> Result<(), Failure> {
    match command {
        Command::Config => crate::config::show(ctx.profile(), ctx.base_url(), ctx.json),
        Command::Api(args) => crate::api::run(args, ctx.settings()?).await,
        Command::Mock(args) => crate::mock::run(args).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "opx", &mut std::io::stdout());
            Ok(())
        }
        Command::Check(args) => crate::check::run(ctx.client()?, args, ctx.json).await,
        Command::Account => cmd_read::account(ctx).await,
        Command::Plans { service_type } => cmd_read::plans(ctx, service_type).await,
        Command::Purchase {
            service_type,
            plan,
            country,
            rotation,
            yes,
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
        Command::Services {
            status,
            service_type,
            limit,
            cursor,
            all,
        } => {
            let mut q = ServiceQuery::new().status(status);
            if let Some(t) = service_type {
                q = q.service_type(t);
            }
            cmd_read::services(
                ctx,
                paged(q, limit, cursor, ServiceQuery::limit, |q, c| q.cursor(c)),
                all,
            )
            .await
        }
        Command::Service { id } => cmd_read::service(ctx, id).await,
        Command::Proxies {
            id,
            all,
            merge,
            status,
            service_type,
            concurrency,
            format,
            layout,
            no_auth,
            country,
            export,
        } => {
            let mut q = ProxyQuery::new();
            if let Some(l) = layout {
                q = q.layout(l);
            }
            if no_auth {
                q = q.auth(false);
            }
            if let Some(c) = country {
                q = q.country(c);
            }
            // clap makes `id` and `--all` exclusive, and one of them required.
            let _ = all;
            let with_all = merge || status.is_some() || service_type.is_some();
            match id {
                Some(_) if with_all || concurrency.is_some() => Err(Failure::Usage(
                    "--merge, --status, --type and --concurrency go with --all, not an id".into(),
                )),
                Some(id) => match export {
                    Some(f) => crate::export::run(ctx, id, f, q).await,
                    None => cmd_read::proxies(ctx, id, format, q).await,
                },
                None => {
                    if export.is_some() {
                        return Err(Failure::Usage(
                            "--all writes the lists as sent: drop --as (or export one id)".into(),
                        ));
                    }
                    if format != opx::ProxyFormat::Txt {
                        return Err(Failure::Usage(
                            "--all writes text lists: drop --format json".into(),
                        ));
                    }
                    let status = status.unwrap_or(opx::StatusFilter::Active);
                    let mut services = ServiceQuery::new().status(status);
                    if let Some(t) = service_type {
                        services = services.service_type(t);
                    }
                    let args = crate::cmd_bulk::AllLists {
                        services,
                        query: q,
                        merge,
                        concurrency: usize::from(concurrency.unwrap_or(8)),
                    };
                    crate::cmd_bulk::all_lists(ctx, args).await
                }
            }
        }
        Command::Extend { id, yes } => cmd_money::extend(ctx, id, yes).await,
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
        Command::Country { id, country } => cmd_change::country(ctx, id, country).await,
        Command::Rotation { id, rotation } => cmd_change::rotation(ctx, id, rotation).await,
        Command::Logs {
            since,
            until,
            limit,
            cursor,
            all,
        } => {
            let mut q = LogQuery::new();
            if let Some(t) = since {
                q = q.since(t);
            }
            if let Some(t) = until {
                q = q.until(t);
            }
            cmd_read::logs(
                ctx,
                paged(q, limit, cursor, LogQuery::limit, |q, c| q.cursor(c)),
                all,
            )
            .await
        }
        Command::Doctor => cmd_doctor::doctor(ctx).await,
        Command::Renew(args) => crate::cmd_renew::run(ctx, args).await,
    }
}

/// A list query with the page size and starting cursor given on the command line.
fn paged<Q>(
    mut q: Q,
    limit: Option<u32>,
    cursor: Option<String>,
    set_limit: fn(Q, u32) -> Q,
    set_cursor: fn(Q, String) -> Q,
) -> Q {
    if let Some(l) = limit {
        q = set_limit(q, l);
    }
    if let Some(c) = cursor {
        q = set_cursor(q, c);
    }
    q
}
