//! The facade against servers that read the docs differently (issue "survive the real API"):
//! every shape the spec marks as inferred, simulated with the mock's response overrides, under
//! the whole flow, the pagination streams and the purchase/extend reconciliation.

use crate::fixtures::{IPV4_PLAN, IPV6_PLAN, ipv4_purchase, reconciling_client};

use futures::TryStreamExt;
use opx::mock::{Fault, MockServer, ResponseOverride, Transform};
use opx::safe::{ExtendOutcome, PurchaseOutcome};
use opx::types::{
    LogQuery, PlanId, PurchaseRequest, ServiceId, ServiceQuery, ServiceType, Whitelist,
};
use opx::{Client, Operation};

/// The operations that change one service and answer with it: every one of the spec that is
/// not a `GET` and has a service id in its path.
fn changes() -> Vec<Operation> {
    Operation::ALL
        .into_iter()
        .filter(|op| op.method() != http::Method::GET && op.path().contains('{'))
        .collect()
}

fn lift_whitelist(path: &str) -> ResponseOverride {
    ResponseOverride::default().transform(Transform::Lift {
        path: path.into(),
        field: "ip".into(),
    })
}

/// One reading of the docs other than ours: the overrides that make the mock answer that way.
fn scenarios() -> Vec<(&'static str, Vec<(Operation, ResponseOverride)>)> {
    let rename = |from: &str, to: &str| Transform::rename(format!("/data/logs/*/{from}"), to);
    let mut logs = ResponseOverride::default();
    for (from, to) in [
        ("log_id", "id"),
        ("created_at", "timestamp"),
        ("http_status", "status_code"),
        ("path", "endpoint"),
        ("method", "verb"),
    ] {
        logs = logs.transform(rename(from, to));
    }
    let no_null_cursor = ResponseOverride::default().transform(Transform::RemoveNull {
        path: "/data/next_cursor".into(),
    });
    let keep_id = ResponseOverride::default().transform(Transform::Keep {
        path: "/data".into(),
        fields: vec!["service_id".into()],
    });
    let empty =
        ResponseOverride::default().transform(Transform::set("/data", serde_json::json!({})));
    let mut strings = vec![(
        Operation::ListServices,
        lift_whitelist("/data/services/*/whitelist/*"),
    )];
    for op in [Operation::GetService, Operation::Purchase]
        .into_iter()
        .chain(changes())
    {
        strings.push((op, lift_whitelist("/data/whitelist/*")));
    }
    let mut partial: Vec<_> = changes()
        .into_iter()
        .map(|op| (op, keep_id.clone()))
        .collect();
    partial.push((Operation::Purchase, keep_id.clone()));
    let created = ResponseOverride::default().status(201);
    vec![
        ("string whitelists", strings),
        ("other log field names", vec![(Operation::ListLogs, logs)]),
        (
            "no next_cursor on the last page",
            vec![
                (Operation::ListServices, no_null_cursor.clone()),
                (Operation::ListLogs, no_null_cursor),
            ],
        ),
        ("changes answer part of the service", partial),
        (
            "changes answer an empty data",
            changes()
                .into_iter()
                .map(|op| (op, empty.clone()))
                .collect(),
        ),
        (
            "201 Created",
            vec![
                (Operation::Purchase, created.clone()),
                (Operation::ExtendService, created),
            ],
        ),
    ]
}

fn req(t: ServiceType, plan: &str) -> PurchaseRequest {
    PurchaseRequest::new(t, plan.parse::<PlanId>().unwrap())
}

/// A purchase whose answer is lost after the server committed it, made safely.
async fn lost_purchase(s: &MockServer, c: &Client) -> PurchaseOutcome {
    s.faults()
        .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    c.purchase_safely(&ipv4_purchase()).await.unwrap()
}

async fn whole_flow(name: &str, s: &MockServer, c: &Client) {
    s.services().seed(7);
    s.accounts().seed_logs(9);
    let q = ServiceQuery::new().limit(3);
    let all = c
        .all_services(&q)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(all.len(), 7, "{name}: every service over three pages");
    let first = c.service(&all[0].service_id).await.unwrap();
    assert_eq!(first.service_id, all[0].service_id, "{name}");

    let bought = c.purchase(&req(ServiceType::Ipv4Rotating, IPV4_PLAN)).await;
    let bought = bought.unwrap_or_else(|e| panic!("{name}: purchase: {e}"));
    assert!(bought.expires_at > s.clock().now(), "{name}");
    let id = bought.service_id.clone();
    let extended = c
        .extend(&id)
        .await
        .unwrap_or_else(|e| panic!("{name}: extend: {e}"));
    assert!(extended.expires_at > bought.expires_at, "{name}: extended");
    let wl = Whitelist::with_labels([("203.0.113.10".parse().unwrap(), "home")]).unwrap();
    let listed = c.replace_whitelist(&id, &wl).await.unwrap();
    let ips: Vec<String> = listed.whitelist.iter().map(|w| w.ip.to_string()).collect();
    assert_eq!(ips, ["203.0.113.10"], "{name}");
    let renewed = c.regenerate_credentials(&id).await.unwrap();
    assert_ne!(renewed.auth.password(), bought.auth.password(), "{name}");
    let v6 = c
        .purchase(&req(ServiceType::Ipv6Rotating, IPV6_PLAN))
        .await
        .unwrap();
    let moved = c
        .change_country(&v6.service_id, &"de".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(moved.country, "de", "{name}");
    let turned = c
        .change_rotation(&v6.service_id, &"sticky".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(turned.rotation, "sticky", "{name}");

    let logs: Vec<opx::types::LogEntry> = c
        .logs_stream(&LogQuery::new().limit(4))
        .try_collect()
        .await
        .unwrap();
    assert!(logs.len() >= 9, "{name}: {} log entries", logs.len());
    for l in &logs {
        assert!(
            l.id().is_some() && l.created_at().is_some(),
            "{name}: {:?}",
            l.fields()
        );
        assert!(
            l.method().is_some() && l.path().is_some() && l.http_status().is_some(),
            "{name}"
        );
    }
    assert!(
        s.records().schema_violations().is_empty(),
        "{name}: {:?}",
        s.records().schema_violations()
    );
}

async fn reconciliation(name: &str, s: &MockServer, c: &Client) {
    let outcome = lost_purchase(s, c).await;
    let PurchaseOutcome::Recovered(svc) = outcome else {
        panic!("{name}: {outcome:?}")
    };
    s.faults()
        .inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
    let outcome = c.extend_safely(&svc.service_id).await.unwrap();
    assert!(
        matches!(outcome, ExtendOutcome::Recovered(_)),
        "{name}: {outcome:?}"
    );
    assert_eq!(outcome.charged(), Some(true));
}

#[tokio::test]
async fn the_whole_flow_and_reconciliation_survive_every_other_reading() {
    for (name, overrides) in scenarios() {
        let s = MockServer::start().await;
        for (op, o) in overrides {
            s.faults().override_response(op, o);
        }
        let c = reconciling_client(&s);
        whole_flow(name, &s, &c).await;
        reconciliation(name, &s, &c).await;
    }
}

/// Reconciliation reads only the fields it matches on: services whose other fields do not decode
/// still count, and a new one that does not decode is still found.
#[tokio::test]
async fn reconciliation_works_when_services_do_not_decode() {
    let s = MockServer::start().await;
    let seeded = s.services().seed(3);
    let broken = ResponseOverride::default().transform(Transform::set(
        "/data/services/*/threads",
        serde_json::json!("many"),
    ));
    s.faults()
        .override_response(Operation::ListServices, broken);
    let c = reconciling_client(&s);
    let page = c.services_page(&ServiceQuery::new()).await.unwrap();
    assert_eq!((page.services.len(), page.undecoded.len()), (0, 3));
    let outcome = lost_purchase(&s, &c).await;
    let PurchaseOutcome::RecoveredUnread(raw) = outcome else {
        panic!("{outcome:?}")
    };
    let id: ServiceId = raw.field("service_id").unwrap().parse().unwrap();
    assert_eq!(s.records().executions(Operation::Purchase), 1);
    assert_eq!(s.services().count(), 4);
    assert!(
        raw.reason.contains("threads") && !raw.reason.contains("many"),
        "{}",
        raw.reason
    );
    // The id recovered is the service the lost purchase created: the one not seeded.
    s.faults().clear_overrides();
    let listed = c.all_services(&ServiceQuery::new()).await.unwrap();
    let created: Vec<&ServiceId> = listed
        .iter()
        .map(|svc| &svc.service_id)
        .filter(|id| !seeded.contains(id))
        .collect();
    assert_eq!(created, [&id]);
}

/// `opx doctor`'s library half: clean against the mock, every deviation listed against a
/// drifted one, by operation and pointer, with shapes and never values.
#[tokio::test]
async fn doctor_is_clean_on_the_mock_and_lists_each_deviation_of_a_drifted_one() {
    let s = MockServer::start().await;
    s.services().seed(2);
    let c = reconciling_client(&s);
    let report = c.doctor().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.deviations);
    assert_eq!(
        report.checked, 7,
        "account, plans, services, service, 2 lists, logs"
    );

    s.faults()
        .override_response(Operation::GetService, lift_whitelist("/data/whitelist/*"));
    s.faults().override_response(
        Operation::ListLogs,
        ResponseOverride::default().transform(Transform::rename("/data/logs/*/log_id", "id")),
    );
    s.faults().override_response(
        Operation::GetAccount,
        ResponseOverride::default().header("x-ratelimit-limit", None),
    );
    let wl = Whitelist::parse(["203.0.113.10"]).unwrap();
    let first = c.all_services(&ServiceQuery::new()).await.unwrap()[0]
        .service_id
        .clone();
    c.replace_whitelist(&first, &wl).await.unwrap();
    let report = c.doctor().await.unwrap();
    let found: Vec<(Operation, String)> = report
        .deviations
        .iter()
        .map(|d| (d.operation, d.pointer.clone()))
        .collect();
    for expected in [
        (Operation::GetAccount, "#header/x-ratelimit-limit"),
        (Operation::GetService, "/data/whitelist/0"),
        (Operation::ListLogs, "/data/logs/0/log_id"),
    ] {
        assert!(
            found.contains(&(expected.0, expected.1.to_string())),
            "{expected:?} not in {found:?}"
        );
    }
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["deviations"].as_array().is_some() && json["checked"] == 7);
    let text = json.to_string();
    assert!(!text.contains("203.0.113.10"), "values never shown: {text}");
}
