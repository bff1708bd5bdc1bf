use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::*;

const DAY: i64 = 86_400;
const P1500: &str = "65a9f0c1b2c3d4e5f6a7b8c9";
const P900: &str = "65a9f0c1b2c3d4e5f6a7b8ca";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

/// Service number `n` (its id ends in `n`), expiring `secs` after [`now`], of `plan`.
fn service(n: u8, secs: i64, plan: Option<&str>) -> Service {
    let expires = now() + chrono::Duration::seconds(secs);
    let mut v = json!({"service_id": format!("65aa1100b2c3d4e5f6a7b8{n:02x}"), "type": "ipv4_rotating",
        "threads": 100, "expires_at": expires.to_rfc3339(), "country": "mixed", "rotation": "instant",
        "auth": {"login": "l", "password": "p"}, "whitelist": []});
    if let Some(p) = plan {
        v["plan_id"] = json!(p);
    }
    serde_json::from_value(v).unwrap()
}

fn plans() -> Vec<Plan> {
    [(P1500, 1500), (P900, 900)]
        .into_iter()
        .map(|(id, price)| {
            serde_json::from_value(json!({"plan_id": id, "type": "ipv4_rotating", "name": "n",
                "threads": 1, "days": 30, "price": price, "currency": "RUB"}))
            .unwrap()
        })
        .collect()
}

fn planner(days: u64, cap: i64) -> RenewalPlanner {
    RenewalPlanner::new(Duration::from_secs(days * 86_400), cap).unwrap()
}

/// (last byte of the id, decision) of each item.
fn decisions(plan: &RenewalPlan) -> Vec<(u8, Decision)> {
    plan.items
        .iter()
        .map(|r| {
            let id = r.service.service_id.as_str();
            (u8::from_str_radix(&id[22..], 16).unwrap(), r.decision)
        })
        .collect()
}

#[test]
fn only_services_within_the_window_oldest_expiry_first() {
    let services = [
        service(1, 5 * DAY, Some(P900)),
        service(2, DAY, Some(P1500)),
        service(3, 8 * DAY, Some(P900)),
        service(4, 7 * DAY, Some(P900)),
    ];
    let plan = planner(7, 100_000).plan(now(), &services, &plans(), 100_000);
    let extend = Decision::Extend;
    assert_eq!(decisions(&plan), [(2, extend), (1, extend), (4, extend)]);
    assert_eq!(plan.items[0].price, Some(1500));
    assert_eq!(plan.total(), 3300);
    assert_eq!(plan.balance_after(), 96_700);
}

#[test]
fn the_cap_stops_the_plan_at_the_first_service_that_does_not_fit() {
    let services = [
        service(1, DAY, Some(P900)),
        service(2, 2 * DAY, Some(P1500)),
        service(3, 3 * DAY, Some(P900)),
    ];
    // 900 fits, 900 + 1500 passes 2000: stop there, although the third (900) would fit.
    let plan = planner(7, 2000).plan(now(), &services, &plans(), 100_000);
    let want = [
        (1, Decision::Extend),
        (2, Decision::Skip(Skip::OverCap)),
        (3, Decision::Skip(Skip::Stopped)),
    ];
    assert_eq!(decisions(&plan), want);
    assert_eq!(plan.total(), 900);
    // Exactly the cap is allowed.
    let plan = planner(7, 2400).plan(now(), &services, &plans(), 100_000);
    assert_eq!(plan.total(), 2400);
    assert_eq!(plan.items[2].decision, Decision::Skip(Skip::OverCap));
    // A cap of 0 extends nothing.
    assert_eq!(
        planner(7, 0)
            .plan(now(), &services, &plans(), 100_000)
            .total(),
        0
    );
}

#[test]
fn the_balance_stops_the_plan_too() {
    let services = [service(1, DAY, Some(P900)), service(2, DAY + 1, Some(P900))];
    let plan = planner(7, 100_000).plan(now(), &services, &plans(), 1000);
    let want = [
        (1, Decision::Extend),
        (2, Decision::Skip(Skip::BalanceShort)),
    ];
    assert_eq!(decisions(&plan), want);
    assert_eq!(plan.balance_after(), 100);
}

#[test]
fn an_unknown_price_is_skipped_without_stopping() {
    let gone = "65a9f0c1b2c3d4e5f6a7b8ff";
    let services = [
        service(1, DAY, None),
        service(2, 2 * DAY, Some(gone)),
        service(3, 3 * DAY, Some(P900)),
    ];
    let plan = planner(7, 1000).plan(now(), &services, &plans(), 100_000);
    let unknown = Decision::Skip(Skip::PriceUnknown);
    assert_eq!(
        decisions(&plan),
        [(1, unknown), (2, unknown), (3, Decision::Extend)]
    );
    assert_eq!(plan.items[0].price, None);
}

#[test]
fn expired_and_duplicate_services_are_left_out() {
    let mut expired = service(1, -DAY, Some(P900));
    expired.status = Some(ServiceStatus::Expired);
    let twice = service(2, DAY, Some(P900));
    let services = [expired, twice.clone(), twice];
    let plan = planner(7, 100_000).plan(now(), &services, &plans(), 100_000);
    assert_eq!(decisions(&plan), [(2, Decision::Extend)]);
    assert_eq!(plan.total(), 900);
}

#[test]
fn a_negative_cap_is_refused() {
    let e = RenewalPlanner::new(Duration::ZERO, -1).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Config);
    assert!(e.message().contains("-1"), "{e}");
}
