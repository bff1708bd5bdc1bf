//! `opx country ID COUNTRY` and `opx rotation ID ROTATION`: the two settings of an IPv6
//! service, each checked by clap (the id first, then the value) before the change is sent.

use opx::types::{Country, Rotation, ServiceId};

use crate::args::{countries, country_help, rotation_help, rotations, suggesting, typed};
use crate::context::Ctx;
use crate::failure::Failure;
use crate::show;

/// Arguments of `opx country`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # Move an IPv6 service to Germany's gateway
  opx country 65aa1100b2c3d4e5f6a7b8d0 de
  # Spread it over every available country again
  opx country 65aa1100b2c3d4e5f6a7b8d0 mixed")]
pub struct CountryArgs {
    /// Service id (24 hex characters).
    #[arg(value_parser = typed::<ServiceId>)]
    id: ServiceId,
    #[arg(value_parser = suggesting::<Country>(countries()), hide_possible_values = true,
          help = country_help("The new country/region"))]
    country: Country,
}

/// Arguments of `opx rotation`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # A new exit address on every connection
  opx rotation 65aa1100b2c3d4e5f6a7b8d0 instant
  # Print the updated service as JSON
  opx rotation 65aa1100b2c3d4e5f6a7b8d0 instant --json")]
pub struct RotationArgs {
    /// Service id (24 hex characters).
    #[arg(value_parser = typed::<ServiceId>)]
    id: ServiceId,
    #[arg(value_parser = suggesting::<Rotation>(rotations()), hide_possible_values = true,
          help = rotation_help("The new rotation mode"))]
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
