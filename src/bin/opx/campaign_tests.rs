//! The seeded fault campaign (`tests/support/campaign.rs`) through the CLI's own code path:
//! `opx purchase --yes` and `opx extend --yes` as their functions run, each outcome read the way
//! an operator reads it, by the exit code (0: charged, 5: unknown, anything else: not charged).
//!
//! The client is the campaign's (the mock's URL and token, its deadline, a 20 ms reconciliation
//! window instead of the CLI's 10 s default); everything after it is the CLI's.

#[path = "../../../tests/support/campaign.rs"]
mod campaign;

use campaign::{Money, Reported};
use opx::mock::MockServer;

use crate::cmd_money::{self, PurchaseArgs};
use crate::context::Ctx;
use crate::failure::Failure;

/// The plan the campaign buys, and its price, from the mock's catalog.
fn plan(s: &MockServer) -> (String, i64) {
    let p = &s.plans()[0];
    (p.plan_id.to_string(), p.price)
}

fn ctx(s: &MockServer, journal: &opx::safe::Journal) -> Ctx {
    Ctx::with_client(campaign::client(s, journal))
}

/// What the exit code tells the operator.
fn read(result: Result<(), Failure>, done: impl FnOnce() -> opx::ServiceId) -> Reported {
    match result.map_err(|f| f.exit_code()) {
        Ok(()) => Reported::Done(done()),
        Err(5) => Reported::Unknown,
        Err(_) => Reported::NotDone,
    }
}

/// The newest service of the mock's default account (the one `opx purchase` just printed).
fn newest(s: &MockServer) -> opx::ServiceId {
    let id = s.export_state().accounts[0]
        .services
        .iter()
        .map(|svc| svc.service_id.clone())
        .max()
        .expect("a service was bought");
    opx::ServiceId::new(id).expect("the mock's ids are valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_faulted_cli_charges_never_charge_twice_and_are_all_resolved() {
    let s = campaign::mock().await;
    let (plan_id, price) = plan(&s);
    let service_type = opx::ServiceType::parse(&s.plans()[0].service_type);
    let rounds = campaign::rounds(1000);
    let journal = opx::safe::Journal::memory();
    let mut ctx = std::rc::Rc::new(ctx(&s, &journal));
    let figures = campaign::run(&s, &journal, price, rounds, |money, fresh| {
        if fresh {
            ctx = std::rc::Rc::new(self::ctx(&s, &journal));
        }
        let (ctx, s, plan_id, service_type) =
            (ctx.clone(), &s, plan_id.clone(), service_type.clone());
        async move {
            match money {
                Money::Purchase => {
                    let args = PurchaseArgs {
                        service_type,
                        plan: plan_id,
                        country: None,
                        rotation: None,
                        yes: true,
                    };
                    read(cmd_money::purchase(&ctx, args).await, || newest(s))
                }
                Money::Extend(id) => {
                    let target = id.clone();
                    read(cmd_money::extend(&ctx, id.to_string(), true).await, || {
                        target
                    })
                }
            }
        }
    })
    .await;
    campaign::report("CLI", &figures, rounds);
}
