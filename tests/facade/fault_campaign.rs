//! The seeded fault campaign through the facade: `purchase_safely` and `extend_safely`, each
//! under a random fault (see `tests/support/campaign.rs`). `OPX_CAMPAIGN_ROUNDS` and
//! `OPX_CAMPAIGN_SEED` change the run; `-- --nocapture` prints the figures.

use crate::campaign::{self, Money, Reported};
use crate::fixtures::{IPV4_PRICE, ipv4_purchase};
use opx::Client;
use opx::safe::{ExtendOutcome, PurchaseOutcome};

/// Why no round meets an earlier call's outcome: each settles its unknown before the next.
const EACH_ROUND_SETTLES: &str = "an earlier unknown call was not settled before this round";

/// Reconciliation that watches twice over 20 ms: enough on the mock, which commits before it
/// answers (a server still committing after the window is `reconciliation_looks_again_...`'s
/// case in `safe_purchase.rs`).
async fn through_the_facade(client: &Client, money: Money) -> Reported {
    match money {
        Money::Purchase => match client.purchase_safely(&ipv4_purchase()).await {
            Ok(PurchaseOutcome::Purchased(s) | PurchaseOutcome::Recovered(s)) => {
                Reported::Done(s.service_id)
            }
            Ok(
                PurchaseOutcome::RecoveredUnread(_)
                | PurchaseOutcome::PurchasedUnread(_)
                | PurchaseOutcome::Ambiguous(_)
                | PurchaseOutcome::Unknown { .. },
            ) => Reported::Unknown,
            Ok(PurchaseOutcome::EarlierLanded { .. }) => panic!("{EACH_ROUND_SETTLES}"),
            Err(e) => not_done(&e),
        },
        Money::Extend(id) => match client.extend_safely(&id).await {
            Ok(ExtendOutcome::Extended(_) | ExtendOutcome::Recovered(_)) => Reported::Done(id),
            Ok(ExtendOutcome::ExtendedUnread(_) | ExtendOutcome::Unknown { .. }) => {
                Reported::Unknown
            }
            Ok(ExtendOutcome::EarlierLanded { .. }) => panic!("{EACH_ROUND_SETTLES}"),
            Err(e) => not_done(&e),
        },
    }
}

/// An `Err` of a safe call: not charged, and it says so.
fn not_done(e: &opx::Error) -> Reported {
    assert_eq!(
        e.charged(),
        Some(false),
        "an Err of a safe call is never charged: {e}"
    );
    Reported::NotDone
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_faulted_money_calls_never_charge_twice_and_are_all_resolved() {
    let s = campaign::mock().await;
    let rounds = campaign::rounds(1000);
    let journal = opx::safe::Journal::memory();
    let mut client = campaign::client(&s, &journal);
    let figures = campaign::run(&s, &journal, IPV4_PRICE, rounds, |money, fresh| {
        if fresh {
            client = campaign::client(&s, &journal);
        }
        let client = client.clone();
        async move { through_the_facade(&client, money).await }
    })
    .await;
    campaign::report("facade", &figures, rounds);
}
