//! `opx extend ID`: extends a service by one period, charging the plan price; like `opx purchase`
//! through the library's safe variant (`extend_safely`) and the journal, and asking first
//! without `--yes`.

use opx::safe::ExtendOutcome;
use opx::types::ServiceId;

use crate::args::typed;
use crate::confirm;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::interrupt;
use crate::output;
use crate::show;

/// Arguments of `opx extend`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # Extend a service by one period (shows the price and asks first)
  opx extend 65aa1100b2c3d4e5f6a7b8d0
  # The same in a script: no question, JSON out
  opx extend 65aa1100b2c3d4e5f6a7b8d0 -y --json")]
pub struct ExtendArgs {
    /// Service id (24 hex characters).
    #[arg(value_parser = typed::<ServiceId>)]
    id: ServiceId,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Extend even while an earlier extension of this service has an unknown outcome (it
    /// may then be charged twice).
    #[arg(long)]
    pub force: bool,
}

/// `opx extend ID`.
pub async fn run(ctx: &Ctx, args: ExtendArgs) -> Result<(), Failure> {
    let id = args.id;
    let client = ctx.client()?;
    let mut charged = None;
    if !args.yes {
        let service = client.service(&id).await?;
        let price = price_of(client, &service).await?;
        charged = price;
        let what = format!(
            "extending service {id} (expires {}) by one period",
            output::time(&service.expires_at)
        );
        confirm::charge(client, &what, price, "Extend this service by one period?").await?;
    }
    let outcome = interrupt::guarded("extension", client.extend_safely(&id)).await?;
    // What the screen says after: the price (read now with --yes) and the balance.
    let after = async |s: &opx::types::Service| {
        let price = match charged {
            Some(p) => Some(p),
            None => price_of(client, s).await.ok().flatten(),
        };
        show::charged(client, price).await;
        Ok(())
    };
    match outcome? {
        ExtendOutcome::Extended(s) => {
            show::service(&s, None, ctx.json, ctx.server_now())?;
            after(&s).await
        }
        ExtendOutcome::Recovered(s) => {
            eprintln!("note: the answer was lost, but the extension went through (charged once)");
            show::service(&s, None, ctx.json, ctx.server_now())?;
            after(&s).await
        }
        ExtendOutcome::ExtendedUnread(e) => {
            eprintln!("note: {}; see it with `opx service {id}`", e.message());
            Ok(())
        }
        ExtendOutcome::EarlierLanded { entry } => {
            eprintln!(
                "note: an earlier extension of {id} (journal entry {entry}), whose outcome was \
                 unknown, went through. Nothing was sent now, so it is not extended twice; run \
                 this again to extend it by another period"
            );
            show::service_by_id(client, &id, ctx.json).await
        }
        ExtendOutcome::Unknown { error, .. } => Err(Failure::charge_unknown(&error)),
    }
}

/// The catalog price of the service's plan, if the catalog lists it.
async fn price_of(
    client: &opx::Client,
    service: &opx::types::Service,
) -> Result<Option<i64>, Failure> {
    let catalog = client.plans(Some(service.service_type.clone())).await?;
    Ok(service
        .plan_id
        .as_ref()
        .and_then(|pid| catalog.plans.iter().find(|p| &p.plan_id == pid))
        .map(|p| p.price))
}
