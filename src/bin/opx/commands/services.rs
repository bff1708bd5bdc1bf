//! `opx services` (one page, or every page with `--all`) and `opx service ID`. With `--json`,
//! an answer that does not decode as documented is still printed as sent.

use opx::types::{ServiceId, ServiceQuery};

use crate::args::typed;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::listing::{self, given};
use crate::show;

/// The arguments of `opx services`: filters and paging.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  # The active services (one page)
  opx services
  # Every service, expired ones too, across all pages
  opx services --status all --all
  # The ids of the active IPv6 services
  opx services --type ipv6_rotating --all --jq '.services[].service_id'")]
pub struct ServicesArgs {
    /// Lifecycle filter.
    #[arg(long, value_enum, default_value_t = opx::types::StatusFilter::Active)]
    status: opx::types::StatusFilter,
    /// Only services of this type.
    #[arg(long = "type", value_enum)]
    service_type: Option<opx::types::ServiceType>,
    /// Which pages.
    #[command(flatten)]
    pages: listing::Pages,
}

/// `opx services`: one page, `--limit` services, or every page with `--all`.
pub async fn list(ctx: &Ctx, args: ServicesArgs) -> Result<(), Failure> {
    let (q, client) = (args.query(), ctx.client()?);
    let every_page = |q: &ServiceQuery| client.services_page_stream(q);
    listing::print_pages_of(ctx, args.pages, q, every_page, |q| async move {
        client.services_page(&q).await
    })
    .await
}

impl ServicesArgs {
    /// The filters these arguments select.
    fn query(&self) -> ServiceQuery {
        let q = ServiceQuery::new().status(self.status);
        given(q, self.service_type.clone(), ServiceQuery::service_type)
    }
}

/// The argument of `opx service`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  # One service: type, threads, expiry, country, rotation, whitelist
  opx service 65aa1100b2c3d4e5f6a7b8d0
  # When it expires, and nothing else
  opx service 65aa1100b2c3d4e5f6a7b8d0 --jq .expires_at")]
pub struct ServiceArgs {
    /// Service id (24 hex characters).
    #[arg(value_parser = typed::<ServiceId>)]
    id: ServiceId,
}

/// `opx service ID`.
pub async fn show(ctx: &Ctx, args: ServiceArgs) -> Result<(), Failure> {
    let Some(s) = ctx.read(ctx.client()?.service(&args.id)).await? else {
        return Ok(());
    };
    show::response(&s, ctx.json, ctx.server_now())
}
