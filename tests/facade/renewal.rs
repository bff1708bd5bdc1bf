//! Renewal with a budget through the facade: the plan spends nothing, a run never passes the
//! cap (also when the account shows more spent than the run counted), never extends a service
//! twice, and stops at an outcome it cannot tell, counting its price as spent.

use std::time::Duration;

use opx::Operation;
use opx::mock::{Fault, MockServer};
use opx::renewal::{Decision, RenewalOutcome, RenewalPlanner, RenewalReport, Skip};
use opx::types::{ServiceType, StatusFilter};

use crate::fixtures::{
    DAY, IPV4_PRICE, IPV6_PRICE, assert_clean, fail_after_the_next, four_due, reconciling_client,
    seed_expiring, sent,
};

/// A mock holding [`four_due`]'s services, and a reconciling client for it.
async fn four_due_and_a_client() -> (MockServer, opx::Client) {
    let s = MockServer::start().await;
    four_due(&s);
    let c = reconciling_client(&s);
    (s, c)
}

/// Every item after the first of a run that stopped at the first is `NotAttempted`.
fn assert_the_rest_not_attempted(report: &RenewalReport) {
    for r in &report.results[1..] {
        assert!(
            matches!(r.outcome, RenewalOutcome::Skipped(Skip::NotAttempted)),
            "{r:?}"
        );
    }
}

fn week(cap: i64) -> RenewalPlanner {
    RenewalPlanner::new(Duration::from_secs(7 * DAY as u64), cap).unwrap()
}

#[tokio::test]
async fn planning_reads_and_spends_nothing() {
    let s = MockServer::start().await;
    let ids = four_due(&s);
    let before = s.accounts().balance();
    let plan = s.client().renewal_plan(&week(100_000)).await.unwrap();
    let order: Vec<_> = plan
        .items
        .iter()
        .map(|r| r.service.service_id.clone())
        .collect();
    assert_eq!(
        order,
        [ids[2].clone(), ids[1].clone(), ids[0].clone()],
        "oldest expiry first, the 30-day one out"
    );
    assert_eq!(plan.total(), 2 * IPV4_PRICE + IPV6_PRICE);
    assert_eq!(plan.balance_after(), before - plan.total());
    assert_eq!(
        (s.accounts().balance(), sent(&s, Operation::ExtendService)),
        (before, 0)
    );
    assert_eq!(s.records().stats().charges, 0);
}

#[tokio::test]
async fn a_run_stops_before_the_cap_and_extends_each_once() {
    let s = MockServer::start().await;
    let ids = four_due(&s);
    let before = s.accounts().balance();
    let c = reconciling_client(&s);
    // 1500 + 2500 = 4000 fits 4500; the next 1500 would not.
    let plan = c.renewal_plan(&week(4500)).await.unwrap();
    let report = c.renew(&plan).await;
    assert_eq!(s.records().executions(Operation::ExtendService), 2);
    assert_eq!(report.spent, IPV4_PRICE + IPV6_PRICE);
    assert_eq!(s.accounts().balance(), before - report.spent);
    assert_eq!(report.balance_after, Some(s.accounts().balance()));
    assert!(matches!(
        report.results[2].outcome,
        RenewalOutcome::Skipped(Skip::OverCap)
    ));
    assert!(!report.is_complete() && !report.has_unknown());
    // The extended ones moved by one period; the skipped one did not.
    let now = s.clock().now();
    let left = |id: &opx::types::ServiceId| {
        let id = id.clone();
        let c = c.clone();
        async move { c.service(&id).await.unwrap().expires_in(now).as_secs() as i64 }
    };
    assert!(left(&ids[2]).await > 30 * DAY);
    assert!(left(&ids[0]).await <= 3 * DAY);
    assert_clean(&s);
}

#[tokio::test]
async fn a_lost_answer_is_recovered_not_resent() {
    let (s, c) = four_due_and_a_client().await;
    let before = s.accounts().balance();
    s.faults()
        .inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
    let plan = c.renewal_plan(&week(100_000)).await.unwrap();
    let report = c.renew(&plan).await;
    assert_eq!(report.extended(), 3, "{report:?}");
    assert_eq!(
        sent(&s, Operation::ExtendService),
        3,
        "one POST per service"
    );
    assert_eq!(s.records().stats().charges, 3);
    assert_eq!(s.accounts().balance(), before - plan.total());
}

#[tokio::test]
async fn an_unknown_outcome_stops_the_run_and_counts_as_spent() {
    let (s, c) = four_due_and_a_client().await;
    let plan = c.renewal_plan(&week(100_000)).await.unwrap();
    // The first extension commits and loses its answer; every read of the service after the
    // one before it fails, so reconciliation cannot tell.
    let faults = s.faults();
    faults.inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
    fail_after_the_next(&s, Operation::GetService);
    let report = c.renew(&plan).await;
    assert!(
        matches!(report.results[0].outcome, RenewalOutcome::Unknown(_)),
        "{report:?}"
    );
    assert_the_rest_not_attempted(&report);
    assert_eq!((report.spent, report.maybe_spent), (0, IPV4_PRICE));
    assert!(report.has_unknown());
    assert_eq!(sent(&s, Operation::ExtendService), 1);
}

#[tokio::test]
async fn money_spent_elsewhere_since_the_plan_counts_against_the_cap() {
    let (s, c) = four_due_and_a_client().await;
    let plan = c.renewal_plan(&week(4000)).await.unwrap();
    assert_eq!(plan.total(), IPV4_PRICE + IPV6_PRICE);
    // Someone spends 1000 between the plan and the run: 1000 + 1500 + 2500 would pass 4000.
    s.accounts().set_balance(plan.balance - 1000);
    let report = c.renew(&plan).await;
    assert_eq!(report.extended(), 1);
    assert!(matches!(
        report.results[1].outcome,
        RenewalOutcome::Skipped(Skip::OverCap)
    ));
    assert_eq!(s.accounts().balance(), plan.balance - 1000 - IPV4_PRICE);
}

#[tokio::test]
async fn a_short_balance_is_planned_and_a_refusal_stops_the_run() {
    let (s, c) = four_due_and_a_client().await;
    s.accounts().set_balance(IPV4_PRICE + 100);
    let plan = c.renewal_plan(&week(100_000)).await.unwrap();
    assert_eq!(plan.items[1].decision, Decision::Skip(Skip::BalanceShort));
    // A 402 from the server (another spender) stops the run, though the plan could pay for
    // every item: nothing is charged and nothing after it is attempted.
    s.accounts().set_balance(100_000);
    let plan = c.renewal_plan(&week(100_000)).await.unwrap();
    assert_eq!(plan.items.len(), 3);
    assert!(
        plan.items.iter().all(|i| i.decision == Decision::Extend),
        "{plan:?}"
    );
    s.faults()
        .inject(Operation::ExtendService, Fault::Status(402), 1);
    let report = c.renew(&plan).await;
    assert!(
        matches!(report.results[0].outcome, RenewalOutcome::Failed(_)),
        "{report:?}"
    );
    assert_the_rest_not_attempted(&report);
    assert_eq!(sent(&s, Operation::ExtendService), 1);
    assert_eq!((report.spent, s.accounts().balance()), (0, 100_000));
    // Expired services are not offered.
    let expired = seed_expiring(&s, ServiceType::Ipv4Rotating, -DAY);
    let all = c
        .all_services(&opx::types::ServiceQuery::new().status(StatusFilter::All))
        .await
        .unwrap();
    assert!(all.iter().any(|x| x.service_id == expired));
    let plan = c.renewal_plan(&week(100_000)).await.unwrap();
    assert!(plan.items.iter().all(|r| r.service.service_id != expired));
}
