//! `opx renew` against the in-process mock: the dry run spends nothing, `--yes` never passes
//! `--max-spend` nor extends a service twice (also when an answer is lost), the final table
//! says what was done, and bad arguments are refused before anything is sent.

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/opx_bin.rs"]
mod opx_bin;

use fixtures::{DAY, IPV4_PRICE, IPV6_PRICE, four_due, seed_expiring};
use opx::Operation;
use opx::mock::{Fault, MockServer};
use opx::types::{ServiceId, ServiceType};
use opx_bin::{exits, opx, rub, stderr};
use serde_json::Value;

fn charges(s: &MockServer) -> u64 {
    s.records().stats().charges
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dry_run_shows_the_plan_and_spends_nothing() {
    let s = MockServer::start().await;
    let ids = four_due(&s);
    let before = s.accounts().balance();
    let out = opx(&s, &["renew", "--before", "7d", "--max-spend", "4500"]).await;
    let text = exits(&out, 0);
    assert_eq!(stderr(&out), "");
    assert!(
        text.contains("3 active services expire within 7 days"),
        "{text}"
    );
    // Oldest expiry first; the 30-day one is not listed.
    let pos = |id: &ServiceId| {
        text.find(id.as_str())
            .unwrap_or_else(|| panic!("{id} missing: {text}"))
    };
    assert!(
        pos(&ids[2]) < pos(&ids[1]) && pos(&ids[1]) < pos(&ids[0]),
        "{text}"
    );
    assert!(!text.contains(ids[3].as_str()), "{text}");
    assert!(text.contains("skip: over the cap"), "{text}");
    let after = before - IPV4_PRICE - IPV6_PRICE;
    let money = format!(
        "total 4 000 RUB; balance {} -> {} after",
        rub(before),
        rub(after)
    );
    assert!(text.contains(&money), "{text}");
    assert!(text.contains("dry run: nothing was extended"), "{text}");
    assert_eq!(s.records().executions(Operation::ExtendService), 0);
    assert_eq!((s.accounts().balance(), charges(&s)), (before, 0));

    let json: Value = serde_json::from_str(&exits(
        &opx(
            &s,
            &["--json", "renew", "--before", "36h", "--max-spend", "0"],
        )
        .await,
        0,
    ))
    .unwrap();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["services"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["services"][0]["service_id"], ids[2].as_str());
    assert_eq!(json["services"][0]["price"], IPV4_PRICE);
    assert_eq!(json["services"][0]["extend"], false);
    assert_eq!(
        (json["total"].as_i64(), json["balance"].as_i64()),
        (Some(0), Some(before))
    );
    assert_eq!(s.records().executions(Operation::ExtendService), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_extends_oldest_first_within_the_cap_and_says_what_it_did() {
    let s = MockServer::start().await;
    let ids = four_due(&s);
    let before = s.accounts().balance();
    let out = opx(
        &s,
        &["renew", "--before", "7d", "--max-spend", "4500", "--yes"],
    )
    .await;
    // The third due service did not fit the cap: not everything was done.
    let text = exits(&out, 1);
    assert!(
        stderr(&out).contains("2 of 3 due services extended"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.records().executions(Operation::ExtendService), 2);
    assert_eq!(charges(&s), 2);
    let spent = before - s.accounts().balance();
    assert_eq!(spent, IPV4_PRICE + IPV6_PRICE);
    assert!(spent <= 4500);
    let line = |id: &ServiceId| {
        text.lines()
            .find(|l| l.contains(id.as_str()))
            .unwrap_or("")
            .to_owned()
    };
    assert!(line(&ids[2]).contains("extended"), "{text}");
    assert!(line(&ids[1]).contains("extended"), "{text}");
    assert!(
        line(&ids[0]).contains("skipped") && line(&ids[0]).contains("over the cap"),
        "{text}"
    );
    let summary = format!(
        "extended 2 of 3; spent 4 000 RUB; balance now {}",
        rub(s.accounts().balance())
    );
    assert!(text.contains(&summary), "{text}");

    // Run again with room for everything: the two extended are now a month out, so only the
    // third is due; nothing is extended twice.
    let out = opx(
        &s,
        &["renew", "--before", "7d", "--max-spend", "100000", "--yes"],
    )
    .await;
    exits(&out, 0);
    assert_eq!(s.records().executions(Operation::ExtendService), 3);
    assert_eq!(before - s.accounts().balance(), 2 * IPV4_PRICE + IPV6_PRICE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_is_reconciled_and_never_sent_twice() {
    let s = MockServer::start().await;
    four_due(&s);
    let before = s.accounts().balance();
    s.faults()
        .inject(Operation::ExtendService, Fault::DropAfterCommit, 1);
    let out = opx(
        &s,
        &[
            "--json",
            "renew",
            "--before",
            "1w",
            "--max-spend",
            "100000",
            "--yes",
        ],
    )
    .await;
    let json: Value = serde_json::from_str(&exits(&out, 0)).unwrap();
    let results = json["services"].as_array().unwrap();
    assert!(results.iter().all(|r| r["result"] == "extended"), "{json}");
    let requests = s.records().requests();
    let posts = requests
        .iter()
        .filter(|r| r.operation == Some(Operation::ExtendService))
        .count();
    assert_eq!((posts, charges(&s)), (3, 3));
    let spent = 2 * IPV4_PRICE + IPV6_PRICE;
    assert_eq!(
        (json["spent"].as_i64(), before - s.accounts().balance()),
        (Some(spent), spent)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_are_refused_before_anything_is_sent() {
    let s = MockServer::start().await;
    for args in [
        &["renew", "--before", "7x", "--max-spend", "100"][..],
        &["renew", "--before", "7d", "--max-spend", "-5"],
        &["renew", "--before", "7d", "--max-spend", "1.5"],
        &["renew", "--max-spend", "100"],
        &["renew", "--before", "7d"],
    ] {
        let out = opx(&s, args).await;
        exits(&out, 2);
        assert!(stderr(&out).contains("--"), "{args:?}: {}", stderr(&out));
    }
    assert!(s.records().requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_due_is_said_plainly() {
    let s = MockServer::start().await;
    seed_expiring(&s, ServiceType::Ipv4Rotating, 30 * DAY);
    let out = opx(
        &s,
        &["renew", "--before", "2d", "--max-spend", "100000", "--yes"],
    )
    .await;
    assert_eq!(exits(&out, 0), "no active service expires within 2 days\n");
    let out = opx(&s, &["renew", "--before", "2d", "--max-spend", "100000"]).await;
    assert_eq!(exits(&out, 0), "no active service expires within 2 days\n");
    assert_eq!(s.records().executions(Operation::ExtendService), 0);
}

/// What is due goes by the server's clock (its `Date`), not the machine's: a service expiring
/// in 50 days is not due within 40 days, and is once the mock's clock has moved 20 days on,
/// though this machine's clock has not. The window is echoed as people write it (issue 27:
/// it read `1month 9days 13h 26m 24s`).
#[tokio::test(flavor = "multi_thread")]
async fn what_is_due_goes_by_the_servers_clock() {
    let s = MockServer::start().await;
    let id = seed_expiring(&s, ServiceType::Ipv4Rotating, 50 * DAY);
    let args = ["renew", "--before", "40d", "--max-spend", "100000"];
    let out = opx(&s, &args).await;
    assert_eq!(exits(&out, 0), "no active service expires within 40 days\n");
    s.clock()
        .advance(std::time::Duration::from_secs(20 * 86_400));
    let text = exits(&opx(&s, &args).await, 0);
    assert!(text.contains(" within 40 days"), "{text}");
    assert!(text.contains(id.as_str()), "due now: {text}");
}

/// The plan shows what is due and what the cap stops at; the services after that are counted,
/// not listed, unless `--verbose` (120 due services no longer print 118 "skip" rows).
#[tokio::test(flavor = "multi_thread")]
async fn the_plan_lists_what_is_due_and_counts_the_rest() {
    let s = MockServer::start().await;
    let ids: Vec<ServiceId> = (1..=6)
        .map(|hours| seed_expiring(&s, ServiceType::Ipv4Rotating, hours * 3600))
        .collect();
    let args = ["renew", "--before", "1d", "--max-spend", "3000"];
    let text = exits(&opx(&s, &args).await, 0);
    let listed = |text: &str| ids.iter().filter(|id| text.contains(id.as_str())).count();
    assert_eq!(
        listed(&text),
        3,
        "two to extend and the one over the cap: {text}"
    );
    assert!(text.contains("3 more due services are left"), "{text}");
    assert!(text.contains("--verbose"), "{text}");
    let verbose = exits(&opx(&s, &[&args[..], &["--verbose"]].concat()).await, 0);
    assert_eq!(listed(&verbose), 6, "{verbose}");
    assert!(!verbose.contains("more due services"), "{verbose}");
    assert_eq!(s.records().executions(Operation::ExtendService), 0);
    let done = exits(&opx(&s, &[&args[..], &["--yes"]].concat()).await, 1);
    assert_eq!(listed(&done), 3, "{done}");
    assert!(done.contains("3 more due services are left"), "{done}");
    assert_eq!(s.records().executions(Operation::ExtendService), 2);
}

/// With `--pace`, an extension the server refuses with a 429 (proof it was not processed) is
/// waited out and sent again: the cron example `renew ... -y --pace` extends, not "not
/// extended, rate_limited". Charged once.
#[tokio::test(flavor = "multi_thread")]
async fn paced_renew_sends_an_extension_again_after_a_429() {
    let (s, id) = one_due_with_a_fault_on_its_extension(Fault::RateLimited {
        retry_after: Some(1),
    })
    .await;
    let before = s.accounts().balance();
    let args: Vec<&str> = "renew --before 2d --max-spend 5000 -y --pace"
        .split(' ')
        .collect();
    let out = opx(&s, &args).await;
    let text = exits(&out, 0);
    assert!(
        text.contains(id.as_str()) && text.contains("extended 1 of 1"),
        "{text}"
    );
    assert_eq!(s.records().executions(Operation::ExtendService), 1);
    assert_eq!(s.accounts().balance(), before - IPV4_PRICE);
}

/// A due service whose earlier extension is still unknown is not sent again by `renew`, which
/// says so (exit 5: an outcome is unknown) without claiming this run may have charged.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_with_an_unknown_extension_is_left_and_said_plainly() {
    let slow = Fault::SlowCommit(std::time::Duration::from_secs(600));
    let (s, id) = one_due_with_a_fault_on_its_extension(slow).await;
    let extend = [
        "extend",
        id.as_str(),
        "-y",
        "--timeout",
        "1",
        "--watch",
        "0.2",
    ];
    exits(&opx(&s, &extend).await, 5);
    let args: Vec<&str> = "renew --before 2d --max-spend 5000 -y".split(' ').collect();
    let out = opx(&s, &args).await;
    exits(&out, 5);
    let said = stderr(&out);
    assert!(
        said.contains("an earlier extension of a due service"),
        "{said}"
    );
    assert!(!said.contains("may or may not have been charged"), "{said}");
    assert_eq!(
        s.records().executions(Operation::ExtendService),
        0,
        "nothing landed yet"
    );
}

/// A mock with one IPv4 service due in a day, whose next extension meets `fault`.
async fn one_due_with_a_fault_on_its_extension(fault: Fault) -> (MockServer, ServiceId) {
    let s = MockServer::start().await;
    let id = seed_expiring(&s, ServiceType::Ipv4Rotating, DAY);
    s.faults().inject(Operation::ExtendService, fault, 1);
    (s, id)
}
