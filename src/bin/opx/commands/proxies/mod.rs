//! `opx proxies`: one service's list (as sent, as JSON, or `--as` a tool's form), or with
//! `--all` the lists of every service the filters select.

mod all;
mod export;
mod one;

use std::io::IsTerminal;

use opx::types::{ProxyFormat, ProxyQuery, ServiceId, ServiceQuery, StatusFilter};

use self::all::AllLists;
use self::one::OneList;
use crate::args::typed;
use crate::context::Ctx;
use crate::failure::Failure;

/// The arguments of `opx proxies`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  # A service's proxy list, as the API returns it, into a file
  opx proxies 65aa1100b2c3d4e5f6a7b8d0 > proxies.txt
  # Only the German gateway, as user:pass@host:port lines
  opx proxies 65aa1100b2c3d4e5f6a7b8d0 --country de --layout user_pass_at_host_port
  # Every active service's endpoints as proxy URLs, each once
  opx proxies --all --as url > proxies.txt
  # Every IPv6 list merged into one, for IP-whitelisted use
  opx proxies --all --type ipv6_rotating --merge --no-auth")]
pub struct ProxiesArgs {
    /// Service id (24 hex characters).
    #[arg(required_unless_present = "all", conflicts_with = "all", value_parser = typed::<ServiceId>)]
    id: Option<ServiceId>,
    /// The lists of every service --status and --type select, one `# <id>` block each
    /// (txt only).
    #[arg(long)]
    pub all: bool,
    /// With --all: one list, each line once, instead of one block per service.
    #[arg(long)]
    merge: bool,
    /// With --all: lifecycle filter of the services [default: active].
    #[arg(long, value_enum)]
    status: Option<opx::types::StatusFilter>,
    /// With --all: only services of this type.
    #[arg(long = "type", value_enum)]
    service_type: Option<opx::types::ServiceType>,
    /// With --all: lists fetched at once (1-64) [default: 8].
    #[arg(long, value_name = "N", value_parser = crate::args::concurrency())]
    concurrency: Option<u16>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ProxyFormat::Txt)]
    format: ProxyFormat,
    /// Line layout.
    #[arg(long, value_enum)]
    layout: Option<opx::types::ProxyLayout>,
    /// Omit the credentials (for IP-whitelisted use).
    #[arg(long)]
    no_auth: bool,
    /// Only this gateway country.
    #[arg(long, value_enum)]
    country: Option<opx::types::GatewayCountry>,
    /// Each endpoint in the form a tool takes: url, curl (-x), env (HTTP_PROXY lines),
    /// requests (a Python dict), playwright (JSON), proxychains (config lines).
    /// With --all: every endpoint of every list, each once (`--all --as url > proxies.txt`).
    #[arg(long = "as", value_enum, value_name = "FORMAT", conflicts_with_all = ["format", "layout", "json", "merge"])]
    export: Option<opx::proxies::ExportFormat>,
}

/// Runs `opx proxies`.
pub async fn run(ctx: &Ctx, args: ProxiesArgs) -> Result<(), Failure> {
    let query = list_query(&args);
    let with_all = args.merge || args.status.is_some() || args.service_type.is_some();
    // clap makes `id` and `--all` exclusive, and one of them required.
    match (args.id, args.export) {
        (Some(_), _) if with_all || args.concurrency.is_some() => Err(Failure::Usage(
            "--merge, --status, --type and --concurrency go with --all, not an id".into(),
        )),
        (Some(id), export) => {
            let list = OneList { id, query };
            match export {
                Some(form) => export::run(ctx, &list, form).await,
                None => one::run(ctx, &list, args.format).await,
            }?;
            warn_if_expired(ctx, &list.id).await;
            Ok(())
        }
        (None, _) if args.format != ProxyFormat::Txt => Err(Failure::Usage(
            "--all writes text lists (JSON lines with --json): drop --format json".into(),
        )),
        (None, _) => {
            let mut services =
                ServiceQuery::new().status(args.status.unwrap_or(StatusFilter::Active));
            if let Some(t) = args.service_type {
                services = services.service_type(t);
            }
            let all = AllLists {
                services,
                query,
                merge: args.merge,
                concurrency: usize::from(args.concurrency.unwrap_or(8)),
                export: args.export,
            };
            all::run(ctx, all).await
        }
    }
}

/// On a terminal (stderr), after a list: a warning when its service has expired by the
/// server's clock, since the gateway refuses its lines (one more read, `GET /services/{id}`;
/// skipped in scripts, and a failed read says nothing).
async fn warn_if_expired(ctx: &Ctx, id: &ServiceId) {
    let Ok(client) = ctx.client() else { return };
    if !std::io::stderr().is_terminal() {
        return;
    }
    let Ok(service) = client.service(id).await else {
        return;
    };
    let now = client.server_now();
    if service.expires_at <= now {
        eprintln!(
            "warning: service {id} {}: the gateway refuses these lines until `opx extend {id}`",
            crate::output::expiry_in_words(&service.expires_at, now)
        );
    }
}

/// `--layout`, `--no-auth` and `--country`, for one list or every one.
fn list_query(args: &ProxiesArgs) -> ProxyQuery {
    let mut q = ProxyQuery::new();
    if let Some(l) = args.layout {
        q = q.layout(l);
    }
    if args.no_auth {
        q = q.auth(false);
    }
    if let Some(c) = args.country.clone() {
        q = q.country(c);
    }
    q
}
