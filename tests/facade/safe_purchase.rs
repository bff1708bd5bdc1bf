//! Safe purchase and extend: an unknown outcome is resolved by reading the services, and money
//! is never spent twice.

use crate::fixtures::{
    IPV4_PLAN, RECONCILE_WINDOW, Watched, ipv4_purchase as req, price_of, quick_reconcile,
    reconciling_client, sent,
};
use opx::Operation;
use std::time::Duration;

use opx::mock::{Fault, MockServer};
use opx::{ClientBuilder, ExtendOutcome, PurchaseOutcome, ReconcilePolicy, ServiceType};

/// A client whose reconciliation watches 3 times over 30 ms (the default is 10 s).
/// A client builder whose reconciliation looks `checks` times over `window`.
/// A client that reconciles on the system clock: `slow_commit` commits after a delay in real
/// time, so the looks must be spread in real time too (on the mock's virtual clock they would
/// all happen at once).
fn watching(s: &MockServer, checks: u32, window: Duration) -> ClientBuilder {
    s.client_builder()
        .clock(opx::clock::SystemClock)
        .reconcile_policy(ReconcilePolicy::default().checks(checks).window(window))
}

/// A purchase fault that commits `ms` after the request arrived, whether or not the client waits.
fn slow_commit(ms: u64) -> Fault {
    Fault::SlowCommit(Duration::from_millis(ms))
}

#[tokio::test]
async fn a_normal_purchase_is_purchased() {
    let s = MockServer::start().await;
    let c = reconciling_client(&s);
    s.seed_services(2);
    match c.purchase_safely(&req()).await.unwrap() {
        PurchaseOutcome::Purchased(svc) => assert_eq!(svc.service_type, ServiceType::Ipv4Rotating),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.executions(Operation::Purchase), 1);
}

#[tokio::test]
async fn a_purchase_that_committed_but_lost_its_answer_is_recovered() {
    let s = MockServer::start().await;
    let c = reconciling_client(&s);
    s.seed_services(3);
    let before = s.balance();
    s.inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    let PurchaseOutcome::Recovered(svc) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(s.executions(Operation::Purchase), 1, "bought exactly once");
    assert_eq!(
        s.balance(),
        before - price_of(&s, IPV4_PLAN),
        "charged exactly once"
    );
    assert_eq!(s.service_count(), 4);
    let fetched = c.service(&svc.service_id).await.unwrap();
    assert_eq!(fetched.service_id, svc.service_id);
}

#[tokio::test]
async fn a_purchase_that_never_ran_is_not_purchased() {
    let s = MockServer::start().await;
    let c = reconciling_client(&s);
    let before = s.balance();
    s.inject(Operation::Purchase, Fault::DropBeforeResponse, 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    let PurchaseOutcome::NotPurchased { error, watched } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(error.is_outcome_unknown());
    assert_eq!(watched, RECONCILE_WINDOW, "it says how long it watched");
    assert_eq!(s.executions(Operation::Purchase), 0);
    assert_eq!(s.balance(), before);
    assert_eq!(
        sent(&s, Operation::Purchase),
        1,
        "the purchase was not re-sent"
    );
}

/// A garbled answer to a purchase that never ran: nothing was bought, and nothing is re-sent.
#[tokio::test]
async fn a_garbled_answer_to_a_purchase_that_never_ran_is_not_purchased() {
    for fault in [Fault::TruncatedBody, Fault::Html502, Fault::MalformedJson] {
        let s = MockServer::start().await;
        let c = reconciling_client(&s);
        s.inject(Operation::Purchase, fault.clone(), 1);
        let outcome = c.purchase_safely(&req()).await.unwrap();
        assert!(
            matches!(outcome, PurchaseOutcome::NotPurchased { .. }),
            "{fault:?}: {outcome:?}"
        );
        assert_eq!(s.executions(Operation::Purchase), 0, "{fault:?}");
        assert_eq!(s.service_count(), 0, "{fault:?}");
    }
}

/// The realistic case: the purchase committed, then its answer was garbled. The service is
/// recovered, charged once, and the purchase was sent once.
#[tokio::test]
async fn a_garbled_answer_to_a_committed_purchase_is_recovered() {
    for then in [
        Fault::TruncatedBody,
        Fault::Html502,
        Fault::MalformedJson,
        Fault::Status(500),
    ] {
        let s = MockServer::start().await;
        let c = reconciling_client(&s);
        let before = s.balance();
        let garbled = Fault::AfterCommit(Box::new(then.clone()));
        s.inject(Operation::Purchase, garbled, 1);
        let outcome = c.purchase_safely(&req()).await.unwrap();
        let PurchaseOutcome::Recovered(svc) = outcome else {
            panic!("{then:?}: {outcome:?}")
        };
        assert_eq!(s.executions(Operation::Purchase), 1, "{then:?}");
        assert_eq!(s.service_count(), 1);
        assert_eq!(
            s.balance(),
            before - price_of(&s, IPV4_PLAN),
            "{then:?}: charged once"
        );
        let read = c.service(&svc.service_id).await.unwrap();
        assert_eq!(read.service_id, svc.service_id);
        assert_eq!(sent(&s, Operation::Purchase), 1, "{then:?}: not re-sent");
    }
}

#[tokio::test]
async fn a_definite_failure_is_returned_as_an_error() {
    let s = MockServer::builder().balance(0).start().await.unwrap();
    let c = reconciling_client(&s);
    let e = c.purchase_safely(&req()).await.unwrap_err();
    assert!(e.is_insufficient_balance());
}

#[tokio::test]
async fn a_concurrent_purchase_makes_the_outcome_ambiguous() {
    let s = MockServer::start().await;
    // Our client's clock holds its sleeps: reconciliation's first look waits on it, after our
    // purchase committed and lost its answer. Someone else buys then; then the look is let go.
    let (clock, mut sleeps) = Watched::new(opx::clock::ManualClock::new(), true);
    let c = s
        .client_builder()
        .clock(clock.clone())
        .reconcile_policy(quick_reconcile())
        .build()
        .unwrap();
    s.inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    let mut ours = tokio::spawn(async move { c.purchase_safely(&req()).await });
    let asked = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            asked = sleeps.recv() => asked,
            ended = &mut ours => panic!("it ended without reconciling: {ended:?}"),
        }
    })
    .await
    .expect("no reconciliation within 60 s");
    assert!(asked.is_some());
    assert_eq!(s.executions(Operation::Purchase), 1, "ours committed");
    reconciling_client(&s).purchase(&req()).await.unwrap();
    clock.release(100);
    let outcome = ours.await.unwrap().unwrap();
    let PurchaseOutcome::Ambiguous(candidates) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(candidates.len(), 2);
    assert_eq!(s.executions(Operation::Purchase), 2);
}

#[tokio::test]
async fn extend_safely_recovers_or_reports_not_extended() {
    let s = MockServer::start().await;
    let c = reconciling_client(&s);
    let id: opx::ServiceId = s.seed_services(1)[0].parse().unwrap();
    let start = c.service(&id).await.unwrap().expires_at;

    match c.extend_safely(&id).await.unwrap() {
        ExtendOutcome::Extended(svc) => assert!(svc.expires_at > start),
        other => panic!("{other:?}"),
    }
    s.inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
    match c.extend_safely(&id).await.unwrap() {
        ExtendOutcome::Recovered(svc) => assert_eq!((svc.expires_at - start).num_days(), 60),
        other => panic!("{other:?}"),
    }
    s.inject(Operation::ExtendService, Fault::DropBeforeResponse, 1);
    match c.extend_safely(&id).await.unwrap() {
        ExtendOutcome::NotExtended { error, .. } => assert!(error.is_outcome_unknown()),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.executions(Operation::ExtendService), 2);
}

#[tokio::test]
async fn plain_purchase_reports_outcome_unknown_and_does_not_retry() {
    let s = MockServer::start().await;
    let c = s
        .client_builder()
        .retry_policy(opx::RetryPolicy::default().max_attempts(5))
        .build()
        .unwrap();
    s.inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    let e = c.purchase(&req()).await.unwrap_err();
    assert!(e.is_outcome_unknown() && e.is_transport(), "{e:?}");
    assert_eq!(s.executions(Operation::Purchase), 1);
    assert_eq!(s.service_count(), 1);
}

/// With 5,000 services, a purchase that goes well costs one request more than a bare one.
#[tokio::test]
async fn the_success_path_costs_one_request_whatever_the_number_of_services() {
    let s = MockServer::start().await;
    s.seed_services(5_000);
    let c = reconciling_client(&s);
    let before = s.requests().len();
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Purchased(_)),
        "{outcome:?}"
    );
    let sent: Vec<_> = s.requests()[before..].iter().map(|r| r.operation).collect();
    assert_eq!(
        sent,
        [Some(Operation::ListServices), Some(Operation::Purchase)],
        "one page before the purchase, nothing more"
    );
}

/// More services than one page: a purchase that committed is found ahead of them; one that did
/// not is reported as unknown (a guess would be "not purchased"), unless the policy lists every
/// service first, which makes it exact.
#[tokio::test]
async fn beyond_one_page_the_outcome_is_recovered_or_honestly_unknown() {
    let s = MockServer::start().await;
    s.seed_services(250);
    let c = reconciling_client(&s);
    s.inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Recovered(_)),
        "{outcome:?}"
    );

    s.inject(Operation::Purchase, Fault::DropBeforeResponse, 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Unknown(_)),
        "{outcome:?}"
    );
    assert_eq!(outcome.charged(), None);

    let exact = s
        .client_builder()
        .reconcile_policy(quick_reconcile().full_snapshot(true))
        .build()
        .unwrap();
    s.inject(Operation::Purchase, Fault::DropBeforeResponse, 1);
    let outcome = exact.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::NotPurchased { .. }),
        "{outcome:?}"
    );
    assert_eq!(s.executions(Operation::Purchase), 1);
}

/// A server that commits a moment after the client gave up: the first look finds nothing, a
/// later one within the window finds the service. A window shorter than the server's delay
/// reports "not purchased" and says how long it watched.
#[tokio::test]
async fn reconciliation_looks_again_before_it_concludes() {
    let s = MockServer::start().await;
    let impatient = |checks, window| {
        watching(&s, checks, window)
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap()
    };
    let c = impatient(6, Duration::from_secs(3));
    s.inject(Operation::Purchase, slow_commit(700), 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Recovered(_)),
        "{outcome:?}"
    );

    let hasty = impatient(2, Duration::from_millis(50));
    s.inject(Operation::Purchase, slow_commit(700), 1);
    let outcome = hasty.purchase_safely(&req()).await.unwrap();
    let PurchaseOutcome::NotPurchased { watched, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(watched, Duration::from_millis(50));
}

/// A caller that drops the purchase's future has nothing: no error, no service. With a snapshot
/// taken before, `reconcile_purchase` tells what happened, also when the server commits later.
#[tokio::test]
async fn a_dropped_purchase_future_is_reconciled_from_a_snapshot() {
    let s = MockServer::start().await;
    let c = watching(&s, 10, Duration::from_secs(3)).build().unwrap();
    let snapshot = c.purchase_snapshot(&req()).await.unwrap();
    assert!(snapshot.is_complete() && snapshot.is_empty());
    s.inject(Operation::Purchase, slow_commit(800), 1);
    let dropped = tokio::time::timeout(Duration::from_millis(300), c.purchase(&req())).await;
    assert!(dropped.is_err(), "the future was dropped before the answer");
    let outcome = c.reconcile_purchase(&req(), &snapshot).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Recovered(_)),
        "{outcome:?}"
    );
    assert_eq!(s.executions(Operation::Purchase), 1);
}

/// When the service cannot be read after an unknown extension, the outcome is unknown.
#[tokio::test]
async fn extend_safely_says_unknown_when_it_cannot_read_the_service() {
    let s = MockServer::start().await;
    let id: opx::ServiceId = s.seed_services(1)[0].parse().unwrap();
    let c = reconciling_client(&s);
    // The first read (before) answers normally; every read after the lost answer fails.
    s.inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
    s.inject(Operation::GetService, Fault::Delay(Duration::ZERO), 1);
    s.inject(Operation::GetService, Fault::Status(500), 100);
    let outcome = c.extend_safely(&id).await.unwrap();
    assert!(matches!(outcome, ExtendOutcome::Unknown(_)), "{outcome:?}");
    assert_eq!(outcome.charged(), None);
    assert_eq!(s.executions(Operation::ExtendService), 1);
}
