//! `opx purchase` and `opx extend`: the calls that charge the balance.
//!
//! Both go through the library's safe variants (`purchase_safely`, `extend_safely`), so a lost
//! answer is watched for before anything is said, and each call is written in the journal
//! before it is sent. The result says plainly whether the charge happened (exit 0), provably
//! did not (exit 2-4), or is unknown (exit 5: kept in the journal, `opx pending` resolves it). Without
//! `--yes` they ask on a terminal after showing the price and the balance after, and a charge the
//! balance cannot cover is refused before asking.

use opx::Client;
use opx::safe::{ExtendOutcome, PurchaseOutcome};
use opx::types::{Plan, PurchaseRequest, ServiceId};

use crate::confirm;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::interrupt;
use crate::output;
use crate::show;

/// What `opx purchase` buys.
pub struct PurchaseArgs {
    /// Service type.
    pub service_type: opx::types::ServiceType,
    /// Plan id.
    pub plan: String,
    /// Country/region.
    pub country: Option<String>,
    /// Rotation mode.
    pub rotation: Option<String>,
    /// Do not ask.
    pub yes: bool,
}

/// Refuses a charge of `price` the balance cannot cover, else asks (price and balance after).
async fn confirm_charge(
    client: &Client,
    what: &str,
    price: Option<i64>,
    question: &str,
) -> Result<(), Failure> {
    confirm::require_terminal(question)?;
    let balance = client.account().await?.balance;
    let details = match price {
        Some(p) if balance < p => {
            return Err(Failure::Exit(
                3,
                format!(
                    "{what} costs {} but the balance is {}; top up the balance in the dashboard; \
                     nothing was sent",
                    output::rub(p),
                    output::rub(balance)
                ),
            ));
        }
        Some(p) => format!(
            "{what}: {}\nbalance {} -> {} after\n",
            output::rub(p),
            output::rub(balance),
            output::rub(balance - p)
        ),
        None => format!(
            "{what}: the plan price (the plan is not in the catalog)\nbalance {}\n",
            output::rub(balance)
        ),
    };
    confirm::ask(&details, question)
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
pub async fn purchase(ctx: &Ctx, args: PurchaseArgs) -> Result<(), Failure> {
    let mut req = PurchaseRequest::new(args.service_type, opx::types::PlanId::new(args.plan)?);
    if let Some(c) = args.country {
        req = req.country(opx::types::Country::new(c)?);
    }
    if let Some(r) = args.rotation {
        req = req.rotation(opx::types::Rotation::new(r)?);
    }
    let client = ctx.client()?;
    if !args.yes {
        let plan = plan_of(client, &req).await?;
        let what = format!(
            "{} ({} threads, {} days)",
            plan.name, plan.threads, plan.days
        );
        confirm_charge(client, &what, Some(plan.price), "Buy this plan?").await?;
    }
    let outcome = interrupt::guarded("purchase", client.purchase_safely(&req)).await?;
    match outcome? {
        PurchaseOutcome::Purchased(s) => show::service(&s, None, ctx.json),
        PurchaseOutcome::Recovered(s) => {
            eprintln!(
                "note: the answer was lost, but the purchase went through (charged once): {}",
                s.service_id
            );
            show::service(&s, None, ctx.json)
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
        PurchaseOutcome::Unknown { error, .. } => Err(unknown(&error)),
    }
}

/// A purchase or extension whose outcome stays unknown after watching (exit 5).
fn unknown(e: &opx::Error) -> Failure {
    Failure::unknown(e.message(), true, Some(crate::failure::CHARGE_TWICE))
}

/// `opx extend ID`.
pub async fn extend(ctx: &Ctx, id: String, yes: bool) -> Result<(), Failure> {
    let id = ServiceId::new(id)?;
    let client = ctx.client()?;
    if !yes {
        let service = client.service(&id).await?;
        let catalog = client.plans(Some(service.service_type.clone())).await?;
        let price = service
            .plan_id
            .as_ref()
            .and_then(|pid| catalog.plans.iter().find(|p| &p.plan_id == pid))
            .map(|p| p.price);
        let what = format!(
            "extending service {id} (expires {}) by one period",
            output::time(&service.expires_at)
        );
        confirm_charge(client, &what, price, "Extend this service by one period?").await?;
    }
    let outcome = interrupt::guarded("extension", client.extend_safely(&id)).await?;
    match outcome? {
        ExtendOutcome::Extended(s) => show::service(&s, None, ctx.json),
        ExtendOutcome::Recovered(s) => {
            eprintln!("note: the answer was lost, but the extension went through (charged once)");
            show::service(&s, None, ctx.json)
        }
        ExtendOutcome::ExtendedUnread(e) => {
            eprintln!("note: {}; see it with `opx service {id}`", e.message());
            Ok(())
        }
        ExtendOutcome::Unknown { error, .. } => Err(unknown(&error)),
    }
}
