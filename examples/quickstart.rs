//! The docs' usage example: check the balance, list the rotating plans, purchase the cheapest,
//! print its proxy list as plain text.
//!
//! ```text
//! cargo run --example quickstart              # built-in mock, no token needed
//! OPX_TOKEN=opx_live_... cargo run --example quickstart          # real API, read-only
//! OPX_TOKEN=opx_live_... cargo run --example quickstart -- --buy # real API, spends money
//! ```

mod common;

use opx::safe::PurchaseOutcome;
use opx::types::{ProxyQuery, PurchaseRequest};

#[tokio::main]
async fn main() -> opx::Result<()> {
    let target = common::Target::connect().await?;
    let client = &target.client;
    let buy = std::env::args().any(|a| a == "--buy");

    // 1. Balance.
    let account = client.account().await?;
    println!(
        "Account {}: balance {} {}",
        account.username, account.balance, account.currency
    );

    // 2. Rotating plans.
    let plans = client.plans(None).await?.into_inner().plans;
    for p in &plans {
        println!(
            "  plan {} {:<14} {:>4} threads {:>3} days {:>6} {}  {}",
            p.plan_id, p.service_type, p.threads, p.days, p.price, p.currency, p.name
        );
    }
    let Some(cheapest) = plans.into_iter().min_by_key(|p| p.price) else {
        println!("No plans on offer.");
        return Ok(());
    };
    println!("Cheapest: {} ({} RUB)", cheapest.name, cheapest.price);

    if account.balance < cheapest.price {
        println!("The balance is too low to buy it: top up via the dashboard.");
        return Ok(());
    }
    if !target.is_mock() && !buy {
        println!(
            "Not buying on the real API without --buy (it would spend {} RUB).",
            cheapest.price
        );
        return Ok(());
    }

    // 3. Purchase, safely: if the answer is lost, the services list tells what happened.
    let req = PurchaseRequest::new(cheapest.service_type.clone(), cheapest.plan_id.clone());
    // `Err` means "not charged"; every `Ok` was, or may have been, charged.
    let service = match client.purchase_safely(&req).await {
        Ok(PurchaseOutcome::Purchased(s) | PurchaseOutcome::Recovered(s)) => s,
        Ok(PurchaseOutcome::RecoveredUnread(_) | PurchaseOutcome::PurchasedUnread(_)) => {
            println!("Bought (charged), but the new service could not be read: see GET /services.");
            return Ok(());
        }
        Ok(PurchaseOutcome::Ambiguous(candidates)) => {
            println!(
                "Could not tell which of {} new services is ours; check GET /services.",
                candidates.len()
            );
            return Ok(());
        }
        Ok(PurchaseOutcome::EarlierLanded { service_id, .. }) => {
            println!("An earlier purchase went through: service {service_id}; not bought again.");
            return Ok(());
        }
        Ok(PurchaseOutcome::Unknown { error, .. }) => {
            println!("Unknown whether it was bought ({error}); do not buy again before checking.");
            return Ok(());
        }
        Err(e) => {
            println!("The purchase did not go through, nothing was charged: {e}");
            return Ok(());
        }
    };
    println!(
        "Bought service {} ({} threads, expires {}).",
        service.service_id, service.threads, service.expires_at
    );

    // 4. Proxy list, as plain text.
    let list = client
        .proxies_text(&service.service_id, &ProxyQuery::new())
        .await?;
    print!("{}", *list);
    Ok(())
}
