//! Safe purchase and extend: an unknown outcome is resolved by reading the services, and money
//! is never spent twice.

use crate::fixtures::{
    IPV4_PLAN, RECONCILE_WINDOW, Watched, fail_after_the_next, ipv4_purchase as req, price_of,
    quick_reconcile, reconciling_client, sent,
};
use opx::Operation;
use std::time::Duration;

use opx::ClientBuilder;
use opx::mock::{Fault, MockServer};
use opx::safe::{ExtendOutcome, PurchaseOutcome, ReconcilePolicy};
use opx::types::{ServiceId, ServiceType};

/// A client builder on the mock's clock whose reconciliation looks `checks` times over
/// `window`: its sleeps move the mock's virtual time, and with it a `slow_commit`.
fn watching(s: &MockServer, checks: u32, window: Duration) -> ClientBuilder {
    s.client_builder()
        .reconcile_policy(ReconcilePolicy::default().checks(checks).window(window))
}

/// A mock with one service, and a client that reconciles quickly.
async fn one_service_and_a_reconciling_client() -> (MockServer, ServiceId, opx::Client) {
    let s = MockServer::start().await;
    let id = s.services().seed(1).remove(0);
    let c = reconciling_client(&s);
    (s, id, c)
}

/// A purchase fault that commits `ms` after the request arrived (on the mock's clock), whether
/// or not the client waits.
fn slow_commit(ms: u64) -> Fault {
    Fault::SlowCommit(Duration::from_millis(ms))
}

#[tokio::test]
async fn a_normal_purchase_is_purchased() {
    let s = MockServer::start().await;
    let c = reconciling_client(&s);
    s.services().seed(2);
    match c.purchase_safely(&req()).await.unwrap() {
        PurchaseOutcome::Purchased(svc) => assert_eq!(svc.service_type, ServiceType::Ipv4Rotating),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.records().executions(Operation::Purchase), 1);
}

#[tokio::test]
async fn a_purchase_that_committed_but_lost_its_answer_is_recovered() {
    let s = MockServer::start().await;
    let c = reconciling_client(&s);
    s.services().seed(3);
    let before = s.accounts().balance();
    s.faults()
        .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    let PurchaseOutcome::Recovered(svc) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        s.records().executions(Operation::Purchase),
        1,
        "bought exactly once"
    );
    assert_eq!(
        s.accounts().balance(),
        before - price_of(&s, IPV4_PLAN),
        "charged exactly once"
    );
    assert_eq!(s.services().count(), 4);
    let fetched = c.service(&svc.service_id).await.unwrap();
    assert_eq!(fetched.service_id, svc.service_id);
}

/// A dropped connection proves nothing: the server may have processed the request. Watching
/// that sees no service is "unknown, it may still appear", never "not purchased".
#[tokio::test]
async fn a_purchase_that_never_ran_is_unknown_not_not_purchased() {
    let s = MockServer::start().await;
    let c = reconciling_client(&s);
    let before = s.accounts().balance();
    s.faults()
        .inject(Operation::Purchase, Fault::DropBeforeResponse, 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert_eq!(outcome.charged(), None);
    let PurchaseOutcome::Unknown { error, watched } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        error.is_outcome_unknown() && error.charged().is_none(),
        "{error}"
    );
    assert!(error.message().contains("it may still appear"), "{error}");
    assert!(!error.message().contains("safe to try again"), "{error}");
    assert_eq!(watched, RECONCILE_WINDOW, "it says how long it watched");
    assert_eq!(s.records().executions(Operation::Purchase), 0);
    assert_eq!(s.accounts().balance(), before);
    assert_eq!(
        sent(&s, Operation::Purchase),
        1,
        "the purchase was not re-sent"
    );
}

/// A garbled answer never reads as "not purchased": a 502 page proves nothing (unknown), and a
/// 2xx is the server saying it was done (charged, even if this mock fault lied). Nothing is
/// re-sent either way.
#[tokio::test]
async fn a_garbled_answer_is_never_called_not_purchased() {
    for (fault, charged) in [
        (Fault::TruncatedBody, Some(true)),
        (Fault::Html502, None),
        (Fault::MalformedJson, Some(true)),
    ] {
        let s = MockServer::start().await;
        let c = reconciling_client(&s);
        s.faults().inject(Operation::Purchase, fault.clone(), 1);
        let outcome = c.purchase_safely(&req()).await.unwrap();
        assert_eq!(outcome.charged(), charged, "{fault:?}: {outcome:?}");
        assert_eq!(sent(&s, Operation::Purchase), 1, "{fault:?}: not re-sent");
        assert_eq!(s.records().executions(Operation::Purchase), 0, "{fault:?}");
        assert_eq!(s.services().count(), 0, "{fault:?}");
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
        let before = s.accounts().balance();
        let garbled = Fault::AfterCommit(Box::new(then.clone()));
        s.faults().inject(Operation::Purchase, garbled, 1);
        let outcome = c.purchase_safely(&req()).await.unwrap();
        let PurchaseOutcome::Recovered(svc) = outcome else {
            panic!("{then:?}: {outcome:?}")
        };
        assert_eq!(s.records().executions(Operation::Purchase), 1, "{then:?}");
        assert_eq!(s.services().count(), 1);
        assert_eq!(
            s.accounts().balance(),
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
    assert_eq!(
        e.charged(),
        Some(false),
        "a 402 with the envelope proves nothing was charged"
    );
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
    s.faults()
        .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
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
    assert_eq!(
        s.records().executions(Operation::Purchase),
        1,
        "ours committed"
    );
    reconciling_client(&s).purchase(&req()).await.unwrap();
    clock.release(100);
    let outcome = ours.await.unwrap().unwrap();
    let PurchaseOutcome::Ambiguous(candidates) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(candidates.len(), 2);
    assert_eq!(s.records().executions(Operation::Purchase), 2);
}

#[tokio::test]
async fn extend_safely_recovers_or_reports_not_extended() {
    let (s, id, c) = one_service_and_a_reconciling_client().await;
    let start = c.service(&id).await.unwrap().expires_at;

    match c.extend_safely(&id).await.unwrap() {
        ExtendOutcome::Extended(svc) => assert!(svc.expires_at > start),
        other => panic!("{other:?}"),
    }
    s.faults()
        .inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
    match c.extend_safely(&id).await.unwrap() {
        ExtendOutcome::Recovered(svc) => assert_eq!((svc.expires_at - start).num_days(), 60),
        other => panic!("{other:?}"),
    }
    s.faults()
        .inject(Operation::ExtendService, Fault::DropBeforeResponse, 1);
    match c.extend_safely(&id).await.unwrap() {
        ExtendOutcome::Unknown { error, .. } => {
            assert!(error.is_outcome_unknown(), "{error}");
            assert!(
                error.message().contains("the expiry did not move"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.records().executions(Operation::ExtendService), 2);
}

#[tokio::test]
async fn plain_purchase_reports_outcome_unknown_and_does_not_retry() {
    let s = MockServer::start().await;
    let c = s
        .client_builder()
        .retry_policy(opx::RetryPolicy::default().max_attempts(5))
        .build()
        .unwrap();
    s.faults()
        .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    let e = c.purchase(&req()).await.unwrap_err();
    assert!(e.is_outcome_unknown() && e.is_transport(), "{e:?}");
    assert_eq!(s.records().executions(Operation::Purchase), 1);
    assert_eq!(s.services().count(), 1);
}

/// With 5,000 services, a purchase that goes well costs one request more than a bare one.
#[tokio::test]
async fn the_success_path_costs_one_request_whatever_the_number_of_services() {
    let s = MockServer::start().await;
    s.services().seed(5_000);
    let c = reconciling_client(&s);
    let before = s.records().requests().len();
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Purchased(_)),
        "{outcome:?}"
    );
    let sent: Vec<_> = s.records().requests()[before..]
        .iter()
        .map(|r| r.operation)
        .collect();
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
    s.services().seed(250);
    let c = reconciling_client(&s);
    s.faults()
        .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Recovered(_)),
        "{outcome:?}"
    );

    s.faults()
        .inject(Operation::Purchase, Fault::DropBeforeResponse, 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Unknown { .. }),
        "{outcome:?}"
    );
    assert_eq!(outcome.charged(), None);

    let exact = s
        .client_builder()
        .reconcile_policy(quick_reconcile().full_snapshot(true))
        .build()
        .unwrap();
    s.faults()
        .inject(Operation::Purchase, Fault::DropBeforeResponse, 1);
    let outcome = exact.purchase_safely(&req()).await.unwrap();
    let PurchaseOutcome::Unknown { error, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        error.message().contains("no new service appeared"),
        "{error}"
    );
    assert_eq!(s.records().executions(Operation::Purchase), 1);
}

/// A server that commits a moment after the client gave up, on the mock's clock: within the
/// watch, a later look finds the service; after it, the outcome is unknown (never "not
/// purchased"), and once the commit lands the journal's entry is resolved as done, and a
/// repeat purchase of the plan is refused while it is unknown.
#[tokio::test]
async fn a_commit_after_the_watch_is_unknown_then_resolved() {
    let s = MockServer::start().await;
    let journal = opx::safe::Journal::memory();
    let impatient = |window| {
        s.client_builder()
            .timeout(Duration::from_millis(200))
            .reconcile_policy(ReconcilePolicy::default().checks(4).window(window))
            .journal(journal.clone())
            .build()
            .unwrap()
    };
    let c = impatient(Duration::from_secs(30));
    s.faults()
        .inject(Operation::Purchase, slow_commit(20_000), 1);
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Recovered(_)),
        "{outcome:?}"
    );

    let hasty = impatient(Duration::from_secs(10));
    s.faults()
        .inject(Operation::Purchase, slow_commit(60_000), 1);
    let balance = s.accounts().balance();
    let outcome = hasty.purchase_safely(&req()).await.unwrap();
    let PurchaseOutcome::Unknown { watched, error } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(watched, Duration::from_secs(10));
    assert!(
        error.message().contains("no new service appeared in 10 s"),
        "{error}"
    );
    assert_eq!(
        (
            s.accounts().balance(),
            s.records().executions(Operation::Purchase)
        ),
        (balance, 1),
        "not yet"
    );
    let unknown = journal.unknown().unwrap();
    assert_eq!(unknown.len(), 1, "{unknown:?}");

    let again = hasty.purchase_safely(&req()).await.unwrap_err();
    assert_eq!(again.kind(), opx::ErrorKind::PendingUnknown, "{again}");
    assert_eq!(again.charged(), Some(false));
    assert_eq!(
        s.records().executions(Operation::Purchase),
        1,
        "the repeat was refused before sending"
    );

    s.clock().advance(Duration::from_secs(60));
    for _ in 0..200 {
        if s.records().executions(Operation::Purchase) == 2 {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        s.records().executions(Operation::Purchase),
        2,
        "the late commit landed"
    );
    let resolved = hasty.resolve_pending().await.unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        resolved[0].state,
        opx::safe::EntryState::Done,
        "{resolved:?}"
    );
    assert!(journal.unknown().unwrap().is_empty());
    let bought = hasty.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(bought, PurchaseOutcome::Purchased(_)),
        "{bought:?}"
    );
    assert_eq!(
        s.records().executions(Operation::Purchase),
        3,
        "charged once per purchase, never twice"
    );
}

/// Waits (on the wall clock, briefly) until the mock has executed `op` `n` times: a slow
/// commit lands in the mock's background once its clock has moved past it.
async fn executed(s: &MockServer, op: Operation, n: u64) {
    for _ in 0..200 {
        if s.records().executions(op) >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(s.records().executions(op), n, "{op:?}");
}

/// Retrying a purchase or an extension whose outcome was unknown, once the earlier one has
/// landed, gives the earlier one's result (`EarlierLanded`) and sends nothing: never a second
/// service or period by accident. Calling again after that buys or extends again.
#[tokio::test]
async fn a_retry_after_an_unknown_that_landed_is_not_sent_again() {
    let s = MockServer::start().await;
    let id = s.services().seed(1).remove(0);
    let c = watching(&s, 2, Duration::from_secs(2))
        .timeout(Duration::from_millis(200))
        .journal(opx::safe::Journal::memory())
        .build()
        .unwrap();
    s.faults()
        .inject(Operation::Purchase, slow_commit(60_000), 1);
    s.faults().inject(
        Operation::ExtendService,
        Fault::SlowCommit(Duration::from_secs(60)),
        1,
    );
    let bought = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(bought, PurchaseOutcome::Unknown { .. }),
        "{bought:?}"
    );
    let extended = c.extend_safely(&id).await.unwrap();
    assert!(
        matches!(extended, ExtendOutcome::Unknown { .. }),
        "{extended:?}"
    );
    s.clock().advance(Duration::from_secs(61));
    executed(&s, Operation::Purchase, 1).await;
    executed(&s, Operation::ExtendService, 1).await;
    let balance = s.accounts().balance();

    let retried = c.purchase_safely(&req()).await.unwrap();
    let PurchaseOutcome::EarlierLanded { service_id, .. } = &retried else {
        panic!("{retried:?}")
    };
    let made = c.service(service_id).await.unwrap();
    assert_eq!(made.service_type, ServiceType::Ipv4Rotating);
    assert_eq!(
        s.services().count(),
        2,
        "the seeded one and the one that landed"
    );
    let retried = c.extend_safely(&id).await.unwrap();
    assert!(
        matches!(retried, ExtendOutcome::EarlierLanded { .. }),
        "{retried:?}"
    );
    assert_eq!(retried.charged(), Some(true));
    assert_eq!(s.accounts().balance(), balance, "nothing charged again");
    // Sent again, either would have been executed at once (no fault is left).
    let executions = |op| s.records().executions(op);
    assert_eq!(executions(Operation::Purchase), 1, "not sent again");
    assert_eq!(executions(Operation::ExtendService), 1, "not sent again");

    assert!(matches!(
        c.purchase_safely(&req()).await.unwrap(),
        PurchaseOutcome::Purchased(_)
    ));
    assert!(matches!(
        c.extend_safely(&id).await.unwrap(),
        ExtendOutcome::Extended(_)
    ));
}

/// A caller that drops the purchase's future has nothing: no error, no service. With a snapshot
/// taken before, `reconcile_purchase` tells what happened, also when the server commits later
/// (on the mock's clock, which the watch moves).
#[tokio::test]
async fn a_dropped_purchase_future_is_reconciled_from_a_snapshot() {
    let s = MockServer::start().await;
    let c = watching(&s, 10, Duration::from_secs(10)).build().unwrap();
    let snapshot = c.purchase_snapshot(&req()).await.unwrap();
    assert!(snapshot.is_complete() && snapshot.is_empty());
    s.faults()
        .inject(Operation::Purchase, slow_commit(5_000), 1);
    let dropped = tokio::time::timeout(Duration::from_millis(300), c.purchase(&req())).await;
    assert!(dropped.is_err(), "the future was dropped before the answer");
    assert_eq!(
        s.records().executions(Operation::Purchase),
        0,
        "not committed yet"
    );
    let outcome = c.reconcile_purchase(&req(), &snapshot).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Recovered(_)),
        "{outcome:?}"
    );
    assert_eq!(s.records().executions(Operation::Purchase), 1);
}

/// When the service cannot be read after an unknown extension, the outcome is unknown.
#[tokio::test]
async fn extend_safely_says_unknown_when_it_cannot_read_the_service() {
    let (s, id, c) = one_service_and_a_reconciling_client().await;
    // The first read (before) answers normally; every read after the lost answer fails.
    let faults = s.faults();
    faults.inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
    fail_after_the_next(&s, Operation::GetService);
    let outcome = c.extend_safely(&id).await.unwrap();
    assert!(
        matches!(outcome, ExtendOutcome::Unknown { .. }),
        "{outcome:?}"
    );
    assert_eq!(outcome.charged(), None);
    assert_eq!(s.records().executions(Operation::ExtendService), 1);
}

/// An extension the server accepted (2xx) whose answer and read-back both fail is charged: it
/// is `ExtendedUnread`, never unknown and never an error, and it is not sent again.
#[tokio::test]
async fn an_accepted_extension_that_cannot_be_read_is_extended_unread() {
    let (s, id, c) = one_service_and_a_reconciling_client().await;
    s.faults().inject(
        Operation::ExtendService,
        Fault::AfterCommit(Box::new(Fault::MalformedJson)),
        1,
    );
    fail_after_the_next(&s, Operation::GetService);
    let outcome = c.extend_safely(&id).await.unwrap();
    assert_eq!(outcome.charged(), Some(true), "{outcome:?}");
    let ExtendOutcome::ExtendedUnread(e) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(e.is_committed() && !e.is_outcome_unknown(), "{e}");
    assert!(
        !e.message().contains("may or may not"),
        "a settled outcome does not say unknown: {e}"
    );
    assert_eq!(s.records().executions(Operation::ExtendService), 1);
}

/// A 429 on the watch's reads is waited out (on the client's clock), not taken for "unknown".
#[tokio::test]
async fn the_watch_waits_out_a_429() {
    let s = MockServer::start().await;
    let c = reconciling_client(&s);
    let faults = s.faults();
    faults.inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    faults.inject(Operation::ListServices, Fault::Delay(Duration::ZERO), 1);
    s.faults().inject(
        Operation::ListServices,
        Fault::RateLimited {
            retry_after: Some(30),
        },
        3,
    );
    let t0 = s.clock().now();
    let outcome = c.purchase_safely(&req()).await.unwrap();
    assert!(
        matches!(outcome, PurchaseOutcome::Recovered(_)),
        "{outcome:?}"
    );
    assert!(
        s.clock().now() - t0 >= chrono::Duration::seconds(90),
        "waited each Retry-After out on the clock"
    );
}

/// Two unknown extensions of one service (the second forced) and one that lands: resolving
/// settles one period, one entry; the other stays unknown (it may still land).
#[tokio::test]
async fn one_landed_extension_settles_one_of_two_unknown_entries() {
    let s = MockServer::start().await;
    let id = s.services().seed(1).remove(0);
    let journal = opx::safe::Journal::memory().allow_over_pending(true);
    let c = s
        .client_builder()
        .timeout(Duration::from_millis(200))
        .reconcile_policy(ReconcilePolicy::default().window(Duration::from_secs(1)))
        .journal(journal.clone())
        .build()
        .unwrap();
    s.faults()
        .inject(Operation::ExtendService, slow_commit(60_000), 1);
    let first = c.extend_safely(&id).await.unwrap();
    assert!(matches!(first, ExtendOutcome::Unknown { .. }), "{first:?}");
    s.faults()
        .inject(Operation::ExtendService, Fault::DropBeforeResponse, 1);
    let second = c.extend_safely(&id).await.unwrap();
    assert!(
        matches!(second, ExtendOutcome::Unknown { .. }),
        "{second:?}"
    );
    s.clock().advance(Duration::from_secs(60));
    for _ in 0..400 {
        if s.records().executions(Operation::ExtendService) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        s.records().executions(Operation::ExtendService),
        1,
        "one landed"
    );
    let looked = c.resolve_pending().await.unwrap();
    let states: Vec<_> = looked.iter().map(|e| e.state).collect();
    use opx::safe::EntryState::{Done, Unknown};
    assert_eq!(states, [Done, Unknown], "{looked:?}");
}
