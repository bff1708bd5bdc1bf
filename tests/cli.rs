//! The `opx` binary against the in-process mock: every subcommand, human and `--json` output
//! checked against snapshots (`tests/snapshots/`), the refusal paths and the exit codes.

use opx::Operation;
use std::process::{Command, Output, Stdio};

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/opx_bin.rs"]
mod opx_bin;
use fixtures::{fail_after_the_next, rate_limit_next};
use opx_bin::{BIN, exits, ok, opx, opx_with_env, stderr, stdout, usage_error};

use opx::mock::{Fault, MockPlan, MockServer};

/// Snapshots with the values that change from run to run replaced.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        let value: String = $value;
        insta::with_settings!({filters => vec![
            // Same widths as the values, so tables stay aligned.
            (r"\b[0-9a-f]{24}\b", "[ID....................]"),
            (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIMESTAMP]"),
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "[TIME..............]"),
            (r"opx[0-9a-f]{10}", "[LOGIN......]"),
            (r"\b[0-9a-f]{20}\b", "[PASSWORD.........]"),
            (r"\b[1-6]\d{4}\b", "[PRT]"),
        ]}, {
            insta::assert_snapshot!($name, value);
        });
    };
}

async fn bought(server: &MockServer, service_type: &str) -> String {
    let plan = server
        .services()
        .plan(service_type.parse().unwrap())
        .unwrap()
        .plan_id;
    let out = opx(
        server,
        &[
            "--json",
            "purchase",
            "--type",
            service_type,
            "--plan",
            plan.as_str(),
            "--yes",
        ],
    )
    .await;
    let data: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    data["service_id"].as_str().unwrap().to_owned()
}

/// The catalog's first IPv4 rotating plan.
fn ipv4_plan(server: &MockServer) -> MockPlan {
    server
        .services()
        .plan(opx::types::ServiceType::Ipv4Rotating)
        .unwrap()
}

/// Asserts that `plan` was bought exactly once since the balance was `before`.
fn assert_bought_once(server: &MockServer, before: i64, plan: &MockPlan) {
    assert_eq!(server.records().executions(Operation::Purchase), 1);
    assert_eq!(server.services().count(), 1);
    assert_eq!(server.accounts().balance(), before - plan.price);
}

/// A mock whose next purchase commits and then loses its answer; its balance and IPv4 plan.
async fn with_a_lost_purchase_answer() -> (MockServer, i64, MockPlan) {
    let server = MockServer::start().await;
    server
        .faults()
        .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
    let (before, plan) = (server.accounts().balance(), ipv4_plan(&server));
    (server, before, plan)
}

/// `opx purchase` of `plan` (an IPv4 rotating plan), followed by `extra`.
fn purchase_args<'a>(plan: &'a (impl AsRef<str> + ?Sized), extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "purchase",
        "--type",
        "ipv4_rotating",
        "--plan",
        plan.as_ref(),
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn account_human_and_json() {
    let server = MockServer::start().await;
    snapshot!("account", ok(&opx(&server, &["account"]).await));
    let json = ok(&opx(&server, &["--json", "account"]).await);
    snapshot!("account_json", json.clone());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["balance"], server.accounts().balance());
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_human_json_and_type_filter() {
    let server = MockServer::start().await;
    snapshot!("plans", ok(&opx(&server, &["plans"]).await));
    snapshot!("plans_json", ok(&opx(&server, &["--json", "plans"]).await));
    let ipv6 = ok(&opx(&server, &["plans", "--type", "ipv6_rotating"]).await);
    assert!(
        ipv6.contains("ipv6_rotating") && !ipv6.contains("ipv4_rotating"),
        "{ipv6}"
    );
}

/// In a pipe (no terminal, `OPX_FORCE_TTY` unset) a table is tab-separated without its header
/// and amounts are plain, so `cut -f` and `awk -F'\t'` read them; the same rows as the JSON.
#[tokio::test(flavor = "multi_thread")]
async fn in_a_pipe_tables_are_tab_separated_and_amounts_plain() {
    let server = MockServer::start().await;
    let env = [
        ("OPX_TOKEN", server.token()),
        ("OPX_BASE_URL", server.base_url()),
        ("OPX_FORCE_TTY", ""),
    ];
    let piped = ok(&opx_with_env(&["plans"], &env).await);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&opx(&server, &["--json", "plans"]).await)).unwrap();
    let plans = json["plans"].as_array().unwrap();
    let rows: Vec<Vec<&str>> = piped.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows.len(),
        plans.len(),
        "no header, one row per plan:\n{piped}"
    );
    for (row, plan) in rows.iter().zip(plans) {
        let price = format!("{} RUB", plan["price"]);
        assert!(row.contains(&price.as_str()), "{row:?} has {price}");
        assert!(row.contains(&plan["plan_id"].as_str().unwrap()), "{row:?}");
    }
    let human = ok(&opx(&server, &["plans"]).await);
    assert!(human.contains(" RUB") && !human.contains('\t'), "{human}");
}

/// A service's expiry is the time and how far it is by the server's clock: in words on a
/// terminal ("in 30 days", "expired 2 days ago"), RFC 3339 and whole seconds in a pipe (negative
/// once passed), so a script sorts and compares them.
#[tokio::test(flavor = "multi_thread")]
async fn expiry_reads_by_the_server_clock_in_words_or_seconds() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    let expires = server.clock().now() + chrono::Duration::days(30);
    let env = [
        ("OPX_TOKEN", server.token()),
        ("OPX_BASE_URL", server.base_url()),
        ("OPX_FORCE_TTY", ""),
    ];
    let piped = ok(&opx_with_env(&["services"], &env).await);
    let row: Vec<&str> = piped.trim_end().split('\t').collect();
    let at = chrono::DateTime::parse_from_rfc3339(row[6]).unwrap();
    assert!((at.to_utc() - expires).num_seconds().abs() <= 1, "{row:?}");
    let left: i64 = row[7].parse().unwrap();
    assert!((left - 30 * 86_400).abs() <= 2, "{row:?}");
    assert!(ok(&opx(&server, &["services"]).await).contains("in 30 days"));
    server
        .clock()
        .advance(std::time::Duration::from_secs(32 * 86_400));
    let all = ["services", "--status", "all"];
    let piped = ok(&opx_with_env(&all, &env).await);
    let left: i64 = piped
        .trim_end()
        .split('\t')
        .nth(7)
        .unwrap()
        .parse()
        .unwrap();
    assert!((left + 2 * 86_400).abs() <= 2, "{piped}");
    let human = ok(&opx(&server, &all).await);
    assert!(human.contains("expired 2 days ago"), "{human}");
    let one = ok(&opx(&server, &["service", &id]).await);
    assert!(one.contains("expired 2 days ago"), "{one}");
}

/// `--jq EXPR` filters the JSON output with jq (jaq): strings print as text, other values as
/// JSON; a filter that does not parse is a usage error (exit 2) and nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn jq_filters_the_json_output() {
    let server = MockServer::start().await;
    let json: serde_json::Value =
        serde_json::from_str(&ok(&opx(&server, &["--json", "plans"]).await)).unwrap();
    let ids: Vec<&str> = json["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plan_id"].as_str().unwrap())
        .collect();
    let out = ok(&opx(&server, &["plans", "--jq", ".plans[].plan_id"]).await);
    assert_eq!(out.lines().collect::<Vec<_>>(), ids);
    let count = ok(&opx(&server, &["--jq", ".plans | length", "plans"]).await);
    assert_eq!(count.trim(), ids.len().to_string());
    let bad = opx(&server, &["--jq", ".plans[", "account"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--jq"), "{}", stderr(&bad));
    // Every page, and `--limit` over pages, go through the filter too (they printed the whole
    // document, passwords included).
    server.services().seed(3);
    let jq = [".services | length", "--jq"];
    for span in [&["--all"][..], &["--limit", "2"]] {
        let args = [&["services"], span, &jq[1..], &jq[..1]].concat();
        let out = ok(&opx(&server, &args).await);
        let want = if span == ["--all"] { "3" } else { "2" };
        assert_eq!(out.trim(), want, "{args:?}: {out}");
    }
}

/// `opx api --json` prints the `data` of an answer in the envelope, as every command does;
/// without `--json` the body as it came.
#[tokio::test(flavor = "multi_thread")]
async fn api_with_json_prints_the_data() {
    let server = MockServer::start().await;
    let whole: serde_json::Value =
        serde_json::from_str(&ok(&opx(&server, &["api", "GET", "/account"]).await)).unwrap();
    assert_eq!(whole["status"], "ok", "{whole}");
    let data: serde_json::Value =
        serde_json::from_str(&ok(
            &opx(&server, &["--json", "api", "GET", "/account"]).await
        ))
        .unwrap();
    assert_eq!(data["balance"], whole["data"]["balance"], "{data}");
    assert!(data.get("status").is_none(), "{data}");
}

#[tokio::test(flavor = "multi_thread")]
async fn purchase_with_yes_charges_once_and_prints_the_service() {
    let server = MockServer::start().await;
    let before = server.accounts().balance();
    let plan = ipv4_plan(&server);
    let out = ok(&opx(&server, &purchase_args(&plan.plan_id, &["--yes"])).await);
    snapshot!("purchase", out);
    assert_eq!(server.accounts().balance(), before - plan.price);
    assert_eq!(server.services().count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn money_and_credential_commands_refuse_without_yes_off_a_terminal() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    let balance = server.accounts().balance();
    let plan = server.services().plans()[0].plan_id.clone();
    for args in [
        purchase_args(&plan, &[]),
        vec!["extend", id.as_str()],
        vec!["credentials", id.as_str()],
    ] {
        let out = opx(&server, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("--yes"), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "");
    }
    assert_eq!(server.accounts().balance(), balance);
    assert_eq!(server.services().count(), 1);
    for op in [Operation::ExtendService, Operation::RegenerateCredentials] {
        assert_eq!(server.records().executions(op), 0, "{op}");
    }
    assert_eq!(server.records().executions(Operation::Purchase), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn services_one_page_all_pages_and_json() {
    let server = MockServer::start().await;
    bought(&server, "ipv4_rotating").await;
    bought(&server, "ipv6_rotating").await;
    bought(&server, "ipv6_rotating").await;
    snapshot!("services", ok(&opx(&server, &["services"]).await));
    let page = ok(&opx(&server, &["--json", "services", "--limit", "2"]).await);
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["services"].as_array().unwrap().len(), 2);
    assert!(page["next_cursor"].is_string());
    let all = ok(&opx(&server, &["--json", "services", "--all"]).await);
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(all["services"].as_array().unwrap().len(), 3);
    assert!(all["next_cursor"].is_null());
    let ipv6 = ok(&opx(&server, &["services", "--all", "--type", "ipv6_rotating"]).await);
    assert_eq!(ipv6.lines().count(), 3, "header + 2 ipv6 services: {ipv6}");
}

/// The page sizes of the `GET /services` calls recorded so far, in order.
fn listed_page_sizes(server: &MockServer) -> Vec<Option<u32>> {
    server
        .records()
        .requests()
        .iter()
        .filter(|r| r.operation == Some(opx::Operation::ListServices))
        .map(|r| {
            let query = r.query.as_deref().unwrap_or("");
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "limit")
                .and_then(|(_, v)| v.parse().ok())
        })
        .collect()
}

/// `--limit` is a maximum of rows, read over as many pages as it takes, each no larger than
/// needed (the last page asks for what is left, so no row is read and dropped), and the cursor
/// printed is where the next row starts; `--all` reads pages of the largest size.
#[tokio::test(flavor = "multi_thread")]
async fn limit_is_a_maximum_of_rows_over_pages_sized_for_it() {
    let server = MockServer::start().await;
    server.services().seed(230);
    let max = opx::Operation::ListServices.max_page_size().unwrap();
    let json = ok(&opx(&server, &["--json", "services", "--limit", "205"]).await);
    let page: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(page["services"].as_array().unwrap().len(), 205);
    assert_eq!(listed_page_sizes(&server), [Some(max), Some(max), Some(5)]);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let after = ok(&opx(&server, &["services", "--all", "--cursor", &cursor]).await);
    assert_eq!(
        after.lines().count(),
        25 + 1,
        "--all starts at --cursor too: {after}"
    );
    let rest = ok(&opx(
        &server,
        &["services", "--limit", "100", "--cursor", &cursor],
    )
    .await);
    assert_eq!(
        rest.lines().count(),
        25 + 1,
        "a header and the 25 after the first 205: {rest}"
    );
    let small = ok(&opx(&server, &["services", "--limit", "7"]).await);
    assert_eq!(small.lines().count(), 7 + 1, "a header and 7 rows: {small}");
    let before = listed_page_sizes(&server).len();
    let all = ok(&opx(&server, &["services", "--all"]).await);
    assert_eq!(all.lines().count(), 230 + 1);
    assert_eq!(
        listed_page_sizes(&server)[before..],
        [Some(max), Some(max), Some(max)]
    );
    let refused = opx(&server, &["services", "--all", "--limit", "5"]).await;
    assert_eq!(refused.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn service_shows_everything_but_the_password() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    let human = ok(&opx(&server, &["service", &id]).await);
    snapshot!("service", human.clone());
    let json = ok(&opx(&server, &["--json", "service", &id]).await);
    let password = serde_json::from_str::<serde_json::Value>(&json).unwrap()["auth"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!human.contains(&password));
    snapshot!("service_json", json);
}

#[tokio::test(flavor = "multi_thread")]
async fn proxies_txt_is_exactly_the_body_and_json_is_always_json() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv6_rotating").await;
    let txt = ok(&opx(&server, &["proxies", &id]).await);
    let raw = reqwest::Client::new()
        .get(format!("{}/services/{id}/proxies", server.base_url()))
        .bearer_auth(server.token())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(txt, raw, "txt output is byte for byte the body");
    snapshot!("proxies_txt", txt);
    snapshot!(
        "proxies_url_layout_de",
        ok(&opx(
            &server,
            &[
                "proxies",
                &id,
                "--layout",
                "user_pass_at_host_port",
                "--country",
                "de"
            ]
        )
        .await)
    );
    snapshot!(
        "proxies_no_auth",
        ok(&opx(&server, &["proxies", &id, "--no-auth"]).await)
    );
    let json = ok(&opx(&server, &["--json", "proxies", &id, "--format", "json"]).await);
    snapshot!("proxies_json", json.clone());
    // `--json` alone, or `--format json` alone, is the same JSON (not the text list, not a table).
    assert_eq!(ok(&opx(&server, &["--json", "proxies", &id]).await), json);
    assert_eq!(
        ok(&opx(&server, &["proxies", &id, "--format", "json"]).await),
        json
    );
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        parsed["servers"].as_array().is_some_and(|s| !s.is_empty()),
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn extend_with_yes_adds_a_period() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    let balance = server.accounts().balance();
    let out = ok(&opx(&server, &["--json", "extend", &id, "--yes"]).await);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["service_id"], id.as_str());
    assert!(server.accounts().balance() < balance);
    assert_eq!(server.records().executions(Operation::ExtendService), 1);
    snapshot!("extend", ok(&opx(&server, &["extend", &id, "--yes"]).await));
}

/// `opx whitelist ID 203.0.113.10 198.51.100.4 --label home --label SECOND YES` (`YES` being
/// `--yes` or `-y`), which succeeds: its output.
async fn whitelist_two(server: &MockServer, id: &str, second: &str, yes: &str) -> String {
    let args = [
        "whitelist",
        id,
        "203.0.113.10",
        "198.51.100.4",
        "--label",
        "home",
        "--label",
        second,
        yes,
    ];
    ok(&opx(server, &args).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn whitelist_replaces_with_labels_and_clears() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    let out = whitelist_two(&server, &id, "office", "--yes").await;
    snapshot!("whitelist", out);
    // `opx whitelist ID` shows it, in words and as JSON.
    let shown = ok(&opx(&server, &["whitelist", &id]).await);
    assert!(
        shown.contains("203.0.113.10") && shown.contains("office"),
        "{shown}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&opx(&server, &["--json", "whitelist", &id]).await)).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    // Clearing cuts off every IP-authenticated client: it asks, or takes --yes / -y.
    let refused = opx(&server, &["whitelist", "clear", &id]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    // The old spelling `opx whitelist ID --yes` no longer clears: it says how.
    let old = opx(&server, &["whitelist", &id, "--yes"]).await;
    assert_eq!(old.status.code(), Some(2), "{}", stderr(&old));
    assert!(
        stderr(&old).contains("opx whitelist clear"),
        "{}",
        stderr(&old)
    );
    let kept = ok(&opx(&server, &["--json", "service", &id]).await);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&kept).unwrap()["whitelist"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let cleared = ok(&opx(&server, &["--json", "whitelist", "clear", &id, "-y"]).await);
    let v: serde_json::Value = serde_json::from_str(&cleared).unwrap();
    assert_eq!(v["whitelist"], serde_json::json!([]));
    let empty = ok(&opx(&server, &["whitelist", &id]).await);
    assert!(empty.contains("is empty"), "{empty}");
    let again = ok(&opx(&server, &["whitelist", "clear", &id]).await);
    assert!(again.contains("already empty"), "{again}");
    // An address given twice is refused before anything is sent.
    let sent = server.records().executions(Operation::ReplaceWhitelist);
    let twice = opx(
        &server,
        &["whitelist", &id, "1.2.3.4", "5.6.7.8", "1.2.3.4"],
    )
    .await;
    usage_error(&twice, "1.2.3.4 is given twice");
    assert_eq!(
        server.records().executions(Operation::ReplaceWhitelist),
        sent
    );
    let bad = opx(&server, &["whitelist", &id, "300.1.1.1"]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("invalid_ip"), "{}", stderr(&bad));
    let mismatched = opx(
        &server,
        &["whitelist", &id, "1.2.3.4", "--label", "a", "--label", "b"],
    )
    .await;
    assert_eq!(mismatched.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_with_yes_invalidate_the_old_ones() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    let before: serde_json::Value =
        serde_json::from_str(&ok(&opx(&server, &["--json", "service", &id]).await)).unwrap();
    let (login, password) = (
        before["auth"]["login"].as_str().unwrap(),
        before["auth"]["password"].as_str().unwrap(),
    );
    assert!(
        server
            .gateways()
            .credentials_valid(&id.parse().unwrap(), login, password)
    );
    let out = ok(&opx(&server, &["credentials", &id, "--yes"]).await);
    assert!(
        !server
            .gateways()
            .credentials_valid(&id.parse().unwrap(), login, password)
    );
    // The new login is shown (the password is not: human output hides it), and it is the one
    // the service has now.
    let after: serde_json::Value =
        serde_json::from_str(&ok(&opx(&server, &["--json", "service", &id]).await)).unwrap();
    let (new_login, new_password) = (
        after["auth"]["login"].as_str().unwrap(),
        after["auth"]["password"].as_str().unwrap(),
    );
    assert_ne!(new_login, login);
    assert!(
        server
            .gateways()
            .credentials_valid(&id.parse().unwrap(), new_login, new_password)
    );
    let shown = out
        .lines()
        .find_map(|l| l.strip_prefix("login"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no login line: {out}"));
    assert_eq!(shown, new_login, "{out}");
    assert!(!out.contains(new_password), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn country_and_rotation_on_ipv6_and_refusal_on_ipv4() {
    let server = MockServer::start().await;
    let v6 = bought(&server, "ipv6_rotating").await;
    snapshot!("country", ok(&opx(&server, &["country", &v6, "de"]).await));
    let rot = ok(&opx(&server, &["--json", "rotation", &v6, "5min"]).await);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rot).unwrap()["rotation"],
        "5min"
    );
    let v4 = bought(&server, "ipv4_rotating").await;
    let refused = opx(&server, &["rotation", &v4, "5min"]).await;
    assert_eq!(refused.status.code(), Some(3));
    snapshot!("rotation_ipv4_error", stderr(&refused));
    let bad = opx(&server, &["country", &v6, "x"]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("invalid_country"));
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_page_all_and_time_filters() {
    let server = MockServer::start().await;
    for _ in 0..3 {
        ok(&opx(&server, &["account"]).await);
    }
    let page = ok(&opx(&server, &["logs", "--limit", "2"]).await);
    assert_eq!(page.lines().count(), 3, "{page}");
    snapshot!("logs", page);
    let all: serde_json::Value =
        serde_json::from_str(&ok(&opx(&server, &["--json", "logs", "--all"]).await)).unwrap();
    assert!(all["logs"].as_array().unwrap().len() >= 4, "{all}");
    let future = (server.clock().now() + chrono::Duration::days(1)).to_rfc3339();
    let none: serde_json::Value =
        serde_json::from_str(&ok(
            &opx(&server, &["--json", "logs", "--since", &future]).await
        ))
        .unwrap();
    assert_eq!(none["logs"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_are_generated() {
    let out = opx_with_env(&["completions", "bash"], &[]).await;
    let script = ok(&out);
    assert!(
        script.contains("_opx") && script.contains("purchase"),
        "{script}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn help_documents_the_exit_codes() {
    let out = opx_with_env(&["--help"], &[]).await;
    let help = ok(&out);
    for line in [
        "0  success",
        "2  usage",
        "3  the API refused",
        "4  rate limited",
        "5  outcome unknown",
    ] {
        assert!(help.contains(line), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_token_is_a_usage_error_naming_the_variable() {
    let out = opx_with_env(
        &["account"],
        &[("OPX_BASE_URL", "http://127.0.0.1:9/api/v1")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("OPX_TOKEN"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_id_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let sent = server.records().requests().len();
    let out = opx(&server, &["service", "not-an-id"]).await;
    assert_eq!(out.status.code(), Some(2));
    snapshot!("bad_id_error", stderr(&out));
    assert_eq!(server.records().requests().len(), sent);
}

/// A reader that goes away (`opx completions bash | head -1`) ends the command quietly: exit 0,
/// no panic, nothing on stderr.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let mut completions = Command::new(BIN);
    completions.args(["completions", "bash"]);
    let piped = completions.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = piped.spawn().unwrap();
    drop(child.stdout.take()); // the read end closed before anything is written
    let out = child.wait_with_output().unwrap();
    assert_eq!((out.status.code(), stderr(&out)), (Some(0), String::new()));
}

#[tokio::test(flavor = "multi_thread")]
async fn api_errors_exit_3_with_advice() {
    let server = MockServer::builder().balance(10).start().await.unwrap();
    let plan = server.services().plans()[0].plan_id.clone();
    let out = opx(&server, &purchase_args(&plan, &["--yes"])).await;
    assert_eq!(out.status.code(), Some(3));
    snapshot!("insufficient_balance_error", stderr(&out));
    let missing = opx(&server, &["service", "0123456789abcdef01234567"]).await;
    assert_eq!(missing.status.code(), Some(3));
    assert!(stderr(&missing).contains("not_found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_exits_4_with_the_delay() {
    let server = MockServer::start().await;
    rate_limit_next(&server, Operation::GetAccount, Some(17));
    let out = opx(&server, &["account"]).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("rate_limited") && stderr(&out).contains("retry after 17 s"),
        "{}",
        stderr(&out)
    );
}

/// A purchase whose answer is lost is reconciled by the CLI: it says the charge happened (once)
/// and exits 0; nothing is bought twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_purchase_answer_is_recovered_and_said_plainly() {
    let (server, before, plan) = with_a_lost_purchase_answer().await;
    let args = purchase_args(&plan.plan_id, &["--yes"]);
    let out = opx(&server, &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the purchase went through (charged once)"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("service "), "{}", stdout(&out));
    assert_bought_once(&server, before, &plan);
}

/// When the services cannot be read after a lost answer, the outcome is unknown: exit 5, with
/// how to check, and the purchase was sent once.
#[tokio::test(flavor = "multi_thread")]
async fn an_unresolvable_outcome_exits_5_says_how_to_check_and_never_buys_twice() {
    let (server, before, plan) = with_a_lost_purchase_answer().await;
    // The snapshot before the purchase reads; every read after it fails.
    fail_after_the_next(&server, Operation::ListServices);
    let args = purchase_args(&plan.plan_id, &["--yes"]);
    let out = opx(&server, &args).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("opx pending"), "{}", stderr(&out));
    assert_bought_once(&server, before, &plan);
}

/// The promise, through the binary: a purchase whose server commits after the watch is
/// reported unknown (exit 5, never "not charged"), a repeat is refused before sending while it
/// is unknown, and once the late commit lands the next run's `opx pending` finds it; then a
/// purchase goes through. Charged once per purchase, never twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_late_commit_is_unknown_refuses_a_repeat_and_is_found_by_opx_pending() {
    let server = MockServer::start().await;
    let (before, plan) = (server.accounts().balance(), ipv4_plan(&server));
    let args = purchase_left_unknown(&server, &plan).await;

    let repeat = opx(&server, &args).await;
    assert_eq!(repeat.status.code(), Some(5), "{}", stderr(&repeat));
    assert!(stderr(&repeat).contains("--force"), "{}", stderr(&repeat));
    assert_eq!(
        server.accounts().balance(),
        before,
        "nothing charged yet, the repeat was not sent"
    );

    land_the_late_purchase(&server).await;
    let pending = opx(&server, &["pending"]).await;
    assert_eq!(pending.status.code(), Some(0), "{}", stderr(&pending));
    assert!(
        stdout(&pending).contains("was done: service "),
        "{}",
        stdout(&pending)
    );
    assert!(stdout(&pending).contains("no money call has an unknown outcome"));

    let bought = opx(&server, &purchase_args(&plan.plan_id, &["--yes"])).await;
    assert_eq!(bought.status.code(), Some(0), "{}", stderr(&bought));
    assert_eq!(server.records().executions(Operation::Purchase), 2);
    assert_eq!(
        server.accounts().balance(),
        before - 2 * plan.price,
        "charged once per purchase"
    );
}

/// Runs `opx purchase --yes` of `plan` on a server that commits it 60 s (mock time) after it
/// arrives: after the client's 1 s deadline and its 0.2 s watch, which run on the wall clock
/// and never move the mock's. Asserts the run said "unknown" (exit 5), never "not charged";
/// returns its arguments.
async fn purchase_left_unknown<'a>(server: &MockServer, plan: &'a MockPlan) -> Vec<&'a str> {
    server.faults().inject(
        Operation::Purchase,
        Fault::SlowCommit(std::time::Duration::from_secs(60)),
        1,
    );
    let args = purchase_args(
        &plan.plan_id,
        &["--yes", "--timeout", "1", "--watch", "0.2"],
    );
    let out = opx(server, &args).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("outcome unknown") && err.contains("opx pending"),
        "{err}"
    );
    for false_claim in ["nothing was charged", "safe to try again", "not purchased"] {
        assert!(!err.contains(false_claim), "{false_claim:?} in {err}");
    }
    args
}

/// Moves the mock's clock past a [`purchase_left_unknown`] and waits for the commit to land.
async fn land_the_late_purchase(server: &MockServer) {
    server.clock().advance(std::time::Duration::from_secs(60));
    for _ in 0..400 {
        if server.records().executions(Operation::Purchase) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        server.records().executions(Operation::Purchase),
        1,
        "the late commit landed"
    );
}

/// The reviewer's case: after an unknown purchase, the operator simply runs the same command
/// again once the late commit has landed (no `opx pending` first). The journal's look before
/// sending finds the earlier purchase done: nothing is sent, it says so and exits 0 (a retry
/// loop stops); only a further run buys another.
#[tokio::test(flavor = "multi_thread")]
async fn retrying_an_unknown_purchase_that_landed_does_not_buy_twice() {
    let server = MockServer::start().await;
    let (before, plan) = (server.accounts().balance(), ipv4_plan(&server));
    let args = purchase_left_unknown(&server, &plan).await;
    land_the_late_purchase(&server).await;

    let retry = opx(&server, &args).await;
    let said = stderr(&retry);
    assert_eq!(retry.status.code(), Some(0), "{said}");
    assert!(
        said.contains("went through") && said.contains("run this again to buy another"),
        "{said}"
    );
    assert_eq!(server.records().executions(Operation::Purchase), 1);
    assert_eq!(server.accounts().balance(), before - plan.price);

    let another = opx(&server, &args).await;
    assert_eq!(another.status.code(), Some(0), "{}", stderr(&another));
    assert_eq!(server.records().executions(Operation::Purchase), 2);
}

/// Runs `opx ARGS` on a pseudo-terminal (util-linux `script`), typing `answer` at the prompt.
async fn opx_on_terminal(server: &MockServer, args: &[&str], answer: &str) -> Output {
    let command = std::iter::once(BIN)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let (token, base, answer) = (
        server.token().to_owned(),
        server.base_url().to_owned(),
        answer.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut script = Command::new("script");
        opx_bin::clean_env(
            &mut script,
            &[("OPX_TOKEN", &token), ("OPX_BASE_URL", &base)],
        );
        let mut child = script
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// Clearing a whitelist cuts off every IP-authenticated client: on a terminal it asks, and
/// anything but a yes keeps the whitelist.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_clearing_a_whitelist_asks_first() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    ok(&opx(
        &server,
        &["whitelist", &id, "203.0.113.10", "198.51.100.4", "-y"],
    )
    .await);
    let listed = || async {
        let out = ok(&opx(&server, &["--json", "service", &id]).await);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["whitelist"].as_array().map(Vec::len)
    };
    let declined = opx_on_terminal(&server, &["whitelist", "clear", &id], "n\n").await;
    let screen = stdout(&declined);
    assert_eq!(declined.status.code(), Some(2), "{screen}");
    assert!(
        screen.contains("[y/N]") && screen.contains("not confirmed"),
        "{screen}"
    );
    // The prompt shows what goes.
    assert!(
        screen.contains("203.0.113.10") && screen.contains("198.51.100.4"),
        "{screen}"
    );
    assert_eq!(listed().await, Some(2), "declined: kept");
    let accepted = opx_on_terminal(&server, &["whitelist", "clear", &id], "y\n").await;
    let screen = stdout(&accepted);
    assert_eq!(accepted.status.code(), Some(0), "{screen}");
    assert!(screen.contains("[y/N]"), "{screen}");
    assert_eq!(listed().await, Some(0), "confirmed: cleared");
}

/// Replacing a whitelist shows what goes, comes and is relabelled, and asks; off a terminal it
/// needs --yes (refused before anything is sent); the same list again sends nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_whitelist_replacement_asks_with_the_changes() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    whitelist_two(&server, &id, "x", "-y").await;
    let sent = server.records().executions(Operation::ReplaceWhitelist);
    let refused = opx(&server, &["whitelist", &id, "192.0.2.9"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    let args = [
        "whitelist",
        &id,
        "203.0.113.10",
        "192.0.2.9",
        "--label",
        "office",
        "--label",
        "new",
    ];
    let declined = opx_on_terminal(&server, &args, "n\n").await;
    let screen = stdout(&declined);
    assert_eq!(declined.status.code(), Some(2), "{screen}");
    for line in [
        "- 198.51.100.4 (x)",
        "~ 203.0.113.10 (home) -> 203.0.113.10 (office)",
        "+ 192.0.2.9 (new)",
        "[y/N]",
    ] {
        assert!(screen.contains(line), "{line:?} in {screen}");
    }
    assert_eq!(
        server.records().executions(Operation::ReplaceWhitelist),
        sent
    );
    let accepted = opx_on_terminal(&server, &args, "y\n").await;
    assert_eq!(accepted.status.code(), Some(0), "{}", stdout(&accepted));
    assert_eq!(
        server.records().executions(Operation::ReplaceWhitelist),
        sent + 1
    );
    let same = opx_on_terminal(&server, &args, "").await;
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    assert!(
        stdout(&same).contains("nothing was sent"),
        "{}",
        stdout(&same)
    );
    assert_eq!(
        server.records().executions(Operation::ReplaceWhitelist),
        sent + 1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_purchase_shows_price_and_balance_and_needs_a_yes() {
    let server = MockServer::start().await;
    let plan = ipv4_plan(&server);
    let args = purchase_args(&plan.plan_id, &[]);

    let declined = opx_on_terminal(&server, &args, "n\n").await;
    let screen = stdout(&declined);
    assert_eq!(declined.status.code(), Some(2), "{screen}");
    assert!(
        screen.contains(&opx_price(plan.price)) && screen.contains("balance 100 000 RUB"),
        "{screen}"
    );
    assert!(
        screen.contains("[y/N]") && screen.contains("not confirmed"),
        "{screen}"
    );
    assert_eq!(server.services().count(), 0);

    let after = format!("-> {} after", opx_price(100_000 - plan.price));
    assert!(screen.contains(&after), "the balance after: {screen}");

    let accepted = opx_on_terminal(&server, &args, "y\n").await;
    assert_eq!(accepted.status.code(), Some(0), "{}", stdout(&accepted));
    assert_eq!(server.services().count(), 1);
    assert_eq!(server.accounts().balance(), 100_000 - plan.price);
}

/// A purchase or extension the balance cannot cover is refused before asking: no prompt, nothing
/// sent, the API's exit code.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_a_charge_the_balance_cannot_cover_is_refused_before_asking() {
    let server = MockServer::start().await;
    let id = bought(&server, "ipv4_rotating").await;
    server.accounts().set_balance(10);
    let plan = server.services().plans()[0].plan_id.clone();
    let buy = purchase_args(&plan, &[]);
    for args in [&buy[..], &["extend", id.as_str()]] {
        let out = opx_on_terminal(&server, args, "y\n").await;
        let screen = stdout(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {screen}");
        assert!(
            screen.contains("the balance is 10 RUB") && screen.contains("nothing was sent"),
            "{screen}"
        );
        assert!(!screen.contains("[y/N]"), "no question was asked: {screen}");
    }
    assert_eq!(
        server.records().executions(Operation::Purchase),
        1,
        "only the purchase that set up the test"
    );
    assert_eq!(server.records().executions(Operation::ExtendService), 0);
    assert_eq!(server.accounts().balance(), 10);
}

/// After any command whose last answer says the window is exhausted, one line on stderr says so
/// (each run is a new process: without it the next run would hit the 429).
#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_window_is_noticed_on_stderr() {
    let server = MockServer::start().await;
    server
        .accounts()
        .set_limit(opx::operation::Bucket::GlobalMinute, 2);
    let first = opx(&server, &["account"]).await;
    assert!(
        !stderr(&first).contains("rate limit exhausted"),
        "{}",
        stderr(&first)
    );
    let second = opx(&server, &["account"]).await;
    assert_eq!(second.status.code(), Some(0));
    let notice = stderr(&second);
    assert!(
        notice.contains("note: rate limit exhausted (X-RateLimit-Remaining: 0 of 2)"),
        "{notice}"
    );
    assert!(notice.contains("the window resets in"), "{notice}");
}

/// `--json` never hides data: an answer that does not decode as documented is printed as sent,
/// with a warning naming the field.
#[tokio::test(flavor = "multi_thread")]
async fn json_prints_an_undecodable_answer_as_sent_with_a_warning() {
    use opx::mock::{ResponseOverride, Transform};
    let server = MockServer::start().await;
    server.faults().override_response(
        Operation::GetAccount,
        ResponseOverride::default().transform(Transform::rename("/data/balance", "funds")),
    );
    let out = opx(&server, &["--json", "account"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let data: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(data["funds"], 100_000);
    assert!(
        stderr(&out).contains("warning:") && stderr(&out).contains("balance"),
        "{}",
        stderr(&out)
    );
    // Without --json it is the error it is.
    assert_ne!(opx(&server, &["account"]).await.status.code(), Some(0));
}

/// `opx doctor`: clean on the mock (exit 0), each deviation listed against a drifted one (exit 1),
/// as a table or one JSON document.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_reports_deviations_and_exits_by_them() {
    use opx::mock::{ResponseOverride, Transform};
    let server = MockServer::start().await;
    bought(&server, "ipv6_rotating").await;
    let clean = opx(&server, &["doctor"]).await;
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(
        stderr(&clean).contains("7 answers checked") && stderr(&clean).contains("0 deviation"),
        "{}",
        stderr(&clean)
    );
    server.faults().override_response(
        Operation::ListLogs,
        ResponseOverride::default()
            .transform(Transform::rename("/data/logs/*/http_status", "status_code")),
    );
    let drifted = opx(&server, &["--json", "doctor"]).await;
    assert_eq!(drifted.status.code(), Some(1), "{}", stderr(&drifted));
    let report: serde_json::Value = serde_json::from_str(&stdout(&drifted)).unwrap();
    assert_eq!(report["checked"], 7);
    let d = &report["deviations"][0];
    assert_eq!(
        (d["operation"].as_str(), d["pointer"].as_str()),
        (Some("listLogs"), Some("/data/logs/0/http_status"))
    );
    assert_eq!(d["found"], "missing");
}

/// `opx doctor`'s health check: every row on a healthy setup; a refused token stops it with the
/// API's exit code (3) before the drift report; a server clock an hour off is a warning.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_the_way_to_the_api_first() {
    let server = MockServer::start().await;
    let healthy = opx(&server, &["--json", "doctor"]).await;
    let doc: serde_json::Value = serde_json::from_str(&exits(&healthy, 0)).unwrap();
    let rows: Vec<(&str, &str)> = doc["health"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap(), c["verdict"].as_str().unwrap()))
        .collect();
    let names = [
        "configuration",
        "proxy",
        "reach",
        "TLS and token",
        "clock",
        "rate limit",
    ];
    assert_eq!(rows, names.map(|n| (n, "ok")), "{doc}");
    assert!(
        doc["checked"].as_u64().unwrap() > 0,
        "the drift report ran: {doc}"
    );

    let refused = opx_with_env(
        &["doctor"],
        &[
            ("OPX_TOKEN", "opx_live_00000000000000000000000000000000"),
            ("OPX_BASE_URL", server.base_url()),
        ],
    )
    .await;
    let table = exits(&refused, 3);
    // A table row, its cells joined by one space (terminal or pipe layout alike).
    let row = |table: &str, check: &str| {
        let line = table.lines().find(|l| l.starts_with(check));
        line.map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let token = row(&table, "TLS and token").unwrap_or_default();
    assert!(
        token.starts_with("TLS and token FAILED invalid_token"),
        "{table}"
    );
    assert!(
        !stderr(&refused).contains("answers checked"),
        "no drift report"
    );
    assert!(
        !table.contains("00000000000000000000000000000000"),
        "{table}"
    );

    server
        .clock()
        .advance(std::time::Duration::from_secs(2 * 3600));
    let skewed = opx(&server, &["doctor"]).await;
    let table = exits(&skewed, 0);
    let clock = row(&table, "clock").unwrap_or_default();
    assert!(
        clock.starts_with("clock warning 2 h behind the server's"),
        "{table}"
    );
}

/// `--timeout` (or `OPX_TIMEOUT`) bounds a whole call, retries included.
#[tokio::test(flavor = "multi_thread")]
async fn timeout_bounds_a_whole_call() {
    let server = MockServer::start().await;
    server.faults().inject(
        Operation::GetAccount,
        Fault::Delay(std::time::Duration::from_secs(5)),
        3,
    );
    let started = std::time::Instant::now();
    let out = opx(&server, &["--timeout", "0.5", "account"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let bad = opx(&server, &["--timeout", "-1", "account"]).await;
    assert_eq!(bad.status.code(), Some(2));
}

/// The CLI's rendering of a price in roubles.
fn opx_price(rub: i64) -> String {
    let s = rub.to_string();
    if s.len() > 3 {
        format!("{} {} RUB", &s[..s.len() - 3], &s[s.len() - 3..])
    } else {
        format!("{s} RUB")
    }
}

/// The API token is read from `OPX_TOKEN` only: no command takes it as an option (where other
/// users would see it in `ps` and it would land in shell history), neither before nor after
/// the command name, and no help text offers one. Nothing is sent when one is given.
#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_never_taken_from_the_command_line() {
    let server = MockServer::start().await;
    let token = server.token().to_owned();
    let id = "65aa1100b2c3d4e5f6a7b8d0";
    let commands: &[&[&str]] = &[
        &["account"],
        &["plans"],
        &purchase_args("65a9f0c1b2c3d4e5f6a7b8c9", &[]),
        &["services"],
        &["service", id],
        &["proxies", id],
        &["extend", id],
        &["whitelist", id, "1.2.3.4"],
        &["credentials", id],
        &["country", id, "de"],
        &["rotation", id, "instant"],
        &["logs"],
    ];
    let env = [("OPX_BASE_URL", server.base_url())];
    for cmd in commands {
        // The command line itself parses: the refusals below are the token flag's.
        let without = opx_with_env(cmd, &env).await;
        assert!(
            stderr(&without).contains("OPX_TOKEN") && !stderr(&without).contains("unexpected"),
            "{cmd:?}: {}",
            stderr(&without)
        );
        for flag in ["--token", "-t", "--api-key", "--key"] {
            let mut after: Vec<&str> = cmd.to_vec();
            after.extend([flag, &token]);
            let mut before = vec![flag, token.as_str()];
            before.extend(cmd.iter());
            for args in [after, before] {
                let out = opx_with_env(&args, &env).await;
                assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
                let err = stderr(&out);
                // Refused by the parser, not accepted and ignored.
                assert!(err.contains("unexpected argument"), "{args:?}: {err}");
            }
        }
        let help = opx_with_env(&["help", cmd[0]], &[]).await;
        let text = stdout(&help);
        assert!(text.contains("Usage"), "{cmd:?}: {text}");
        assert!(!text.to_lowercase().contains("--token"), "{cmd:?}: {text}");
    }
    let top = stdout(&opx_with_env(&["--help"], &[]).await);
    assert!(
        top.contains("OPX_TOKEN") && !top.contains("--token"),
        "{top}"
    );
    assert!(
        server.records().requests().is_empty(),
        "sent: {:?}",
        server.records().requests()
    );
}

/// An empty listing is said in words on a terminal and is no output in a pipe; `-y` is
/// `--yes`, and after a purchase the screen says what was charged and the balance now.
#[tokio::test(flavor = "multi_thread")]
async fn empty_results_are_said_in_words_and_y_is_short_for_yes() {
    let server = MockServer::start().await;
    assert_eq!(ok(&opx(&server, &["services"]).await), "No services.\n");
    assert_eq!(
        ok(&opx(&server, &["services", "--all"]).await),
        "No services.\n"
    );
    assert_eq!(
        ok(&opx(&server, &["proxies", "--all"]).await),
        "No services match: no list to fetch.\n"
    );
    let piped = opx_with_env(
        &["services"],
        &[
            ("OPX_TOKEN", server.token()),
            ("OPX_BASE_URL", server.base_url()),
            ("OPX_FORCE_TTY", ""),
        ],
    )
    .await;
    assert_eq!(ok(&piped), "");
    let plan = ipv4_plan(&server);
    let before = server.accounts().balance();
    let bought = opx(&server, &purchase_args(&plan.plan_id, &["-y"])).await;
    let out = ok(&bought);
    assert_bought_once(&server, before, &plan);
    let id = out
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 24, "{out}");
    assert!(out.contains(&format!("`opx proxies {id}`")), "{out}");
    // Stdout holds the service only (a table to read, or JSON with --json); what was charged
    // is said on a terminal's stderr (tests/cli_golden.rs shows it on a pseudo-terminal).
    assert!(!out.contains("Charged"), "{out}");
    let json = opx(&server, &purchase_args(&plan.plan_id, &["-y", "--json"])).await;
    let service: serde_json::Value = serde_json::from_str(&ok(&json)).unwrap();
    assert!(service["service_id"].is_string(), "{service}");
}

/// Exit 3 is the API refusing, with its error code; an answer that is not the API's (a front
/// proxy's `502` page) is another failure, exit 1, and says what came back.
#[tokio::test(flavor = "multi_thread")]
async fn a_502_page_is_not_the_api_refusing() {
    let server = MockServer::start().await;
    server
        .faults()
        .inject(opx::Operation::GetAccount, opx::mock::Fault::Html502, 10);
    let out = opx(&server, &["account", "--timeout", "2"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("502 Bad Gateway"), "{}", stderr(&out));
    let missing = "65aa00000000000000000000";
    let refused = opx(&server, &["service", missing]).await;
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("not_found"),
        "{}",
        stderr(&refused)
    );
}
