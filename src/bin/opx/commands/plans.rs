//! `opx plans [--type TYPE]`: the purchasable rotating plans.

use crate::context::Ctx;
use crate::failure::Failure;
use crate::listing;
use crate::output::{self, Table};

/// Arguments of `opx plans`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # Every plan you can buy, with its price and threads
  opx plans
  # Only the IPv6 plans
  opx plans --type ipv6_rotating
  # The plan ids alone, one a line
  opx plans --jq '.plans[].plan_id'")]
pub struct PlansArgs {
    /// Only plans of this type.
    #[arg(long = "type", value_enum)]
    service_type: Option<opx::types::ServiceType>,
}

/// `opx plans`.
pub async fn run(ctx: &Ctx, args: PlansArgs) -> Result<(), Failure> {
    let Some(plans) = ctx.read(ctx.client()?.plans(args.service_type)).await? else {
        return Ok(());
    };
    if ctx.json {
        return output::print_data(plans.body());
    }
    let mut t = Table::new(&["PLAN ID", "TYPE", "NAME", "THREADS", "DAYS", "PRICE"]);
    listing::add_rows(&mut t, &plans.plans, row, &plans.undecoded, "plan_id");
    output::print(&t.render_or("No plans are on sale."))
}

/// A row of `opx plans`.
fn row(p: &opx::types::Plan) -> Vec<String> {
    vec![
        p.plan_id.to_string(),
        p.service_type.to_string(),
        p.name.clone(),
        p.threads.to_string(),
        p.days.to_string(),
        output::rub(p.price),
    ]
}
