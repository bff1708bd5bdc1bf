//! `opx country ID COUNTRY` and `opx rotation ID ROTATION`: the two settings of an IPv6
//! service, each checked by clap (the id first, then the value) before the change is sent.

use opx::types::{Country, Rotation, ServiceId};

use crate::args::typed;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::show;

/// Arguments of `opx country`.
#[derive(Debug, clap::Args)]
pub struct CountryArgs {
    /// Service id (24 hex characters).
    #[arg(value_parser = typed::<ServiceId>)]
    id: ServiceId,
    /// Country/region (2-32 alphanumerics).
    #[arg(value_parser = typed::<Country>)]
    country: Country,
}

/// Arguments of `opx rotation`.
#[derive(Debug, clap::Args)]
pub struct RotationArgs {
    /// Service id (24 hex characters).
    #[arg(value_parser = typed::<ServiceId>)]
    id: ServiceId,
    /// Rotation mode (2-32 alphanumerics).
    #[arg(value_parser = typed::<Rotation>)]
    rotation: Rotation,
}

/// `opx country ID COUNTRY`.
pub async fn country(ctx: &Ctx, args: CountryArgs) -> Result<(), Failure> {
    let changed = ctx.client()?.change_country(&args.id, &args.country);
    show::response(&changed.await?, ctx.json, ctx.server_now())
}

/// `opx rotation ID ROTATION`.
pub async fn rotation(ctx: &Ctx, args: RotationArgs) -> Result<(), Failure> {
    let changed = ctx.client()?.change_rotation(&args.id, &args.rotation);
    show::response(&changed.await?, ctx.json, ctx.server_now())
}
