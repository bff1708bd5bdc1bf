//! A purchase whose answer is lost in transit, resolved without paying twice.
//!
//! On the built-in mock (no `OPX_TOKEN`) the connection is dropped after the purchase commits;
//! `purchase_safely` then finds the new service in `GET /services`. With `OPX_TOKEN` set it
//! only buys with `--buy`.

mod common;

use opx::Operation;
use opx::mock::Fault;
use opx::safe::PurchaseOutcome;
use opx::types::{PurchaseRequest, ServiceType};

#[tokio::main]
async fn main() -> opx::Result<()> {
    let target = common::Target::connect().await?;
    let client = &target.client;
    if !target.is_mock() && !std::env::args().any(|a| a == "--buy") {
        println!("Not buying on the real API without --buy.");
        return Ok(());
    }
    let plans = client
        .plans(Some(ServiceType::Ipv4Rotating))
        .await?
        .into_inner()
        .plans;
    let Some(plan) = plans.into_iter().min_by_key(|p| p.price) else {
        println!("No IPv4 plans on offer.");
        return Ok(());
    };
    if let Some(mock) = &target.mock {
        mock.faults()
            .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
        println!("(mock: the purchase's connection will drop after it commits)");
    }

    let req = PurchaseRequest::new(plan.service_type, plan.plan_id);
    // A plain `client.purchase(&req)` would fail with `is_outcome_unknown()` here; retrying it
    // blindly could buy twice. `purchase_safely` checks first.
    // Every way it can end: `Err` is "not charged", the rest were or may have been.
    match client.purchase_safely(&req).await {
        Ok(PurchaseOutcome::Purchased(s)) => println!("purchased {}", s.service_id),
        Ok(PurchaseOutcome::Recovered(s)) => {
            println!(
                "the answer was lost, but the purchase happened: {}",
                s.service_id
            )
        }
        Ok(PurchaseOutcome::RecoveredUnread(u)) => {
            println!("bought {:?}; it does not decode", u.field("service_id"))
        }
        Ok(PurchaseOutcome::PurchasedUnread(e)) => println!("charged, answer unread: {e}"),
        Ok(PurchaseOutcome::Ambiguous(c)) => {
            println!(
                "{} new services appeared at once; check them by hand",
                c.len()
            )
        }
        Ok(PurchaseOutcome::EarlierLanded { entry, service_id }) => {
            println!(
                "an earlier purchase (journal entry {entry}) went through: {service_id}; not sent again"
            )
        }
        Ok(PurchaseOutcome::Unknown { error, watched }) => {
            println!("unknown after watching {watched:?}: {error}; do not buy again yet")
        }
        Err(e) => println!("not bought, not charged: {e}"),
    }
    if let Some(mock) = &target.mock {
        println!(
            "(mock: purchases executed: {}, services: {})",
            mock.records().executions(Operation::Purchase),
            mock.services().count()
        );
    }
    Ok(())
}
