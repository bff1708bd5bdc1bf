//! `opx purchase`: buys a rotating proxy package, the call that charges the balance.
//!
//! It goes through the library's safe variant (`purchase_safely`), so a lost answer is watched
//! for before anything is said, and the call is written in the journal before it is sent. The
//! result says plainly whether the charge happened (exit 0), provably did not (exit 2-4), or is
//! unknown (exit 5: kept in the journal, `opx pending` resolves it). Without `--yes` it asks on
//! a terminal after showing the price and the balance after, and a charge the balance cannot
//! cover is refused before asking.

use opx::Client;
use opx::safe::PurchaseOutcome;
use opx::types::{Country, Plan, PlanId, PurchaseRequest, Rotation};

use crate::args::{countries, country_help, rotation_help, rotations, suggesting, typed};
use crate::confirm;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::interrupt;
use crate::output;
use crate::show;

/// Arguments of `opx purchase`: what it buys.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # Buy a plan (shows the price and asks first)
  opx purchase --type ipv4_rotating --plan 65a9f0c1b2c3d4e5f6a7b8c9
  # An IPv6 package in Germany, without asking
  opx purchase --type ipv6_rotating --plan 65a9f0c1b2c3d4e5f6a7b8cb --country de --rotation instant -y
  # Wait out the rate limit instead of failing, and print the new service as JSON
  opx purchase --type ipv6_rotating --plan 65a9f0c1b2c3d4e5f6a7b8cb --pace --json -y")]
pub struct PurchaseArgs {
    /// Service type.
    #[arg(long = "type", value_enum)]
    service_type: opx::types::ServiceType,
    /// Plan id, from `opx plans`.
    #[arg(long = "plan", value_name = "PLAN_ID", value_parser = typed::<PlanId>)]
    plan: PlanId,
    #[arg(long, value_parser = suggesting::<Country>(countries()), hide_possible_values = true,
          help = country_help("Country/region (default: mixed)"))]
    country: Option<Country>,
    #[arg(long, value_parser = suggesting::<Rotation>(rotations()), hide_possible_values = true,
          help = rotation_help("Rotation mode (default: instant)"))]
    rotation: Option<Rotation>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Buy even while an earlier purchase of this plan has an unknown outcome (it may then
    /// be charged twice).
    #[arg(long)]
    pub force: bool,
}

async fn plan_of(client: &Client, req: &PurchaseRequest) -> Result<Plan, Failure> {
    let catalog = client.plans(Some(req.service_type().clone())).await?;
    catalog
        .plans
        .iter()
        .find(|p| &p.plan_id == req.plan_id())
        .cloned()
        .ok_or_else(|| {
            Failure::Usage(format!(
                "plan {} is not in the {} catalog; list plans with `opx plans`",
                req.plan_id(),
                req.service_type()
            ))
        })
}

/// `opx purchase`.
pub async fn run(ctx: &Ctx, args: PurchaseArgs) -> Result<(), Failure> {
    let mut req = PurchaseRequest::new(args.service_type, args.plan);
    if let Some(c) = args.country {
        req = req.country(c);
    }
    if let Some(r) = args.rotation {
        req = req.rotation(r);
    }
    let client = ctx.client()?;
    let mut price = None;
    if !args.yes {
        let plan = plan_of(client, &req).await?;
        let what = format!(
            "{} ({} threads, {} days)",
            plan.name, plan.threads, plan.days
        );
        confirm::charge(client, &what, Some(plan.price), "Buy this plan?").await?;
        price = Some(plan.price);
    }
    // What the screen says after a purchase: the price (read now with --yes) and the balance.
    let after = async |price: Option<i64>| {
        let price = match price {
            Some(p) => Some(p),
            None => plan_of(client, &req).await.ok().map(|p| p.price),
        };
        show::charged(client, price).await;
        Ok(())
    };
    let outcome = interrupt::guarded("purchase", client.purchase_safely(&req)).await?;
    match outcome? {
        PurchaseOutcome::Purchased(s) => {
            show::service(&s, None, ctx.json, ctx.server_now())?;
            after(price).await
        }
        PurchaseOutcome::Recovered(s) => {
            eprintln!(
                "note: the answer was lost, but the purchase went through (charged once): {}",
                s.service_id
            );
            show::service(&s, None, ctx.json, ctx.server_now())?;
            after(price).await
        }
        PurchaseOutcome::RecoveredUnread(u) => {
            let id = u.field("service_id").unwrap_or("?");
            eprintln!(
                "note: the purchase went through (charged once): service {id}, but it does not decode ({})",
                u.reason
            );
            output::print(&format!("{id}\n"))
        }
        PurchaseOutcome::PurchasedUnread(e) => {
            eprintln!(
                "note: {}; find the new service with `opx services --type {}`",
                e.message(),
                req.service_type()
            );
            Ok(())
        }
        PurchaseOutcome::Ambiguous(ids) => Err(Failure::Exit(
            5,
            format!(
                "outcome unknown: {} new matching services appeared at once ({}): one may be \
                 this purchase, or all may be someone else's. It stays unknown in the journal: \
                 check them with `opx services`, then `opx pending dismiss ENTRY` if none is \
                 yours; buying again now may buy twice",
                ids.len(),
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        PurchaseOutcome::EarlierLanded { entry, service_id } => {
            eprintln!(
                "note: an earlier purchase of this plan (journal entry {entry}), whose outcome \
                 was unknown, went through: service {service_id}. Nothing was sent now, so it \
                 is not bought twice; run this again to buy another"
            );
            show::service_by_id(client, &service_id, ctx.json).await
        }
        PurchaseOutcome::Unknown { error, .. } => Err(Failure::charge_unknown(&error)),
    }
}
