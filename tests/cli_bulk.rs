//! `opx proxies --all [--merge]` against the in-process mock: one block per selected service
//! (each exactly the single-service list), the filters of `opx services`, a merged list with
//! each line once, a failing list is a failure, the refusals, and `--pace` / `OPX_PACE`. (Pacing itself is tested
//! in-process on the mock's virtual clock, `tests/facade/pacing.rs`: a separate process cannot
//! share it, and would wait for windows in real time.)

#[path = "support/opx_bin.rs"]
mod opx_bin;

use std::process::Output;
use std::time::Duration;

use opx::Operation;
use opx::mock::{Fault, MockServer, ServiceSeed};
use opx::types::{ServiceId, ServiceType};
use opx_bin::ok;
use serde::Deserialize;

/// Runs `opx ARGS` against `server` (its token and base URL) with `env` added.
async fn opx(server: &MockServer, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut vars = vec![
        ("OPX_TOKEN", server.token()),
        ("OPX_BASE_URL", server.base_url()),
    ];
    vars.extend_from_slice(env);
    opx_bin::opx_with_env(args, &vars).await
}

/// The `# <id>` headers of a block output, in order.
fn headers(out: &str) -> Vec<&str> {
    out.lines().filter_map(|l| l.strip_prefix("# ")).collect()
}

/// Two IPv4 and two IPv6 active services, and one expired IPv4 one.
async fn server() -> (MockServer, Vec<ServiceId>, ServiceId) {
    let s = MockServer::start().await;
    let active = s.services().seed(4);
    let expired = ServiceSeed::new()
        .service_type(ServiceType::Ipv4Rotating)
        .expires_in_seconds(-60);
    let gone = s.services().seed_with(&expired).unwrap().remove(0);
    (s, active, gone)
}

#[tokio::test]
async fn all_writes_one_block_per_active_service_each_the_single_list() {
    let (s, active, gone) = server().await;
    let out = ok(&opx(&s, &["proxies", "--all"], &[]).await);
    let mut listed: Vec<&str> = headers(&out);
    assert_eq!(listed.len(), 4, "{out}");
    assert!(!listed.contains(&gone.as_str()), "expired: not selected");
    for id in &active {
        let single = ok(&opx(&s, &["proxies", id.as_str()], &[]).await);
        assert!(
            out.contains(&format!("# {id}\n{single}")),
            "the block of {id} is its list:\n{out}"
        );
    }
    listed.sort_unstable();
    let mut want: Vec<&str> = active.iter().map(ServiceId::as_str).collect();
    want.sort_unstable();
    assert_eq!(listed, want);

    let everything = ok(&opx(&s, &["proxies", "--all", "--status", "all"], &[]).await);
    assert!(headers(&everything).contains(&gone.as_str()));
    let ipv6 = ok(&opx(&s, &["proxies", "--all", "--type", "ipv6_rotating"], &[]).await);
    assert_eq!(headers(&ipv6).len(), 2, "{ipv6}");
}

#[tokio::test]
async fn merge_writes_each_line_once() {
    let (s, _, _) = server().await;
    // Without credentials the lines of services on the same gateways are the same.
    let merged = ok(&opx(&s, &["proxies", "--all", "--merge", "--no-auth"], &[]).await);
    let lines: Vec<&str> = merged.lines().collect();
    let mut unique = lines.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(lines.len(), unique.len(), "{merged}");
    assert!(!merged.contains("# "), "no blocks when merged");
    let blocks = ok(&opx(&s, &["proxies", "--all", "--no-auth"], &[]).await);
    let block_lines = blocks.lines().filter(|l| !l.starts_with("# ")).count();
    assert!(
        block_lines > lines.len(),
        "duplicates were dropped: {blocks}"
    );
    for l in blocks.lines().filter(|l| !l.starts_with("# ")) {
        assert!(lines.contains(&l), "{l} kept");
    }
    // With credentials every service has its own lines: nothing to drop.
    let with_auth = ok(&opx(&s, &["proxies", "--all", "--merge"], &[]).await);
    let all = ok(&opx(&s, &["proxies", "--all"], &[]).await);
    let all_lines = all.lines().filter(|l| !l.starts_with("# ")).count();
    assert_eq!(with_auth.lines().count(), all_lines);
}

#[tokio::test]
async fn all_is_refused_with_an_id_json_or_without_all_its_options() {
    let (s, active, _) = server().await;
    for args in [
        vec!["proxies", active[0].as_str(), "--all"],
        vec!["proxies", "--all", "--format", "json"],
        vec!["proxies", active[0].as_str(), "--merge"],
        vec!["proxies", active[0].as_str(), "--type", "ipv4_rotating"],
        vec!["proxies", "--all", "--concurrency", "0"],
        vec!["proxies"],
    ] {
        let o = opx(&s, &args, &[]).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(
        s.records().stats().requests,
        0,
        "refused before anything was sent"
    );
}

/// The requests `server` has received so far for `operation`.
fn received(server: &MockServer, operation: Operation) -> usize {
    server
        .records()
        .requests()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

/// `--pace` and `OPX_PACE=1` make a call that met a 429 wait for its window and send again;
/// without them the 429 is exit 4 and nothing is sent again.
#[tokio::test]
async fn pace_is_taken_from_the_flag_or_the_environment() {
    let s = MockServer::start().await;
    let once = Fault::RateLimited {
        retry_after: Some(0),
    };
    let limited = || s.faults().inject(Operation::GetAccount, once.clone(), 1);
    limited();
    let plain = opx(&s, &["account"], &[]).await;
    assert_eq!(
        plain.status.code(),
        Some(4),
        "not paced: the 429 is the answer"
    );
    assert_eq!(received(&s, Operation::GetAccount), 1);
    // That call opened the minute's window on the mock's clock (which moves only when told);
    // one second of it is left. A paced call's 429 says so (`X-RateLimit-Reset: 1`), and the
    // call waits that second, in real time: a separate process cannot share the mock's clock.
    s.clock().advance(Duration::from_secs(59));
    for (args, env) in [
        (&["--pace", "account"][..], &[][..]),
        (&["account"][..], &[("OPX_PACE", "1")][..]),
    ] {
        limited();
        let before = received(&s, Operation::GetAccount);
        let out = opx(&s, args, env).await;
        assert_eq!(out.status.code(), Some(0), "{args:?} {env:?}: {out:?}");
        assert_eq!(
            received(&s, Operation::GetAccount) - before,
            2,
            "{args:?} {env:?}: the 429, then the call again"
        );
    }
    let bad = opx(&s, &["account"], &[("OPX_PACE", "maybe")]).await;
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unreadable OPX_PACE is a usage error"
    );
}

/// A list that cannot be fetched makes `opx proxies --all` fail (exit 3 for an API error,
/// naming the service), with or without `--merge`: `--merge > list.txt` never ends in a
/// truncated list and exit 0. The lists that could be fetched are still written.
#[tokio::test]
async fn a_list_that_fails_makes_all_exit_non_zero_naming_the_service() {
    let (s, active, _) = server().await;
    for merge in [false, true] {
        s.faults()
            .inject(Operation::GetProxies, Fault::Status(404), 1);
        let args: &[&str] = if merge {
            &["proxies", "--all", "--merge"]
        } else {
            &["proxies", "--all"]
        };
        let out = opx(&s, args, &[]).await;
        let (stdout, stderr) = (opx_bin::stdout(&out), opx_bin::stderr(&out));
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        let failed: Vec<&ServiceId> = active
            .iter()
            .filter(|id| stderr.contains(&format!("error: {id}: ")))
            .collect();
        assert_eq!(failed.len(), 1, "{args:?}: {stderr}");
        if merge {
            assert!(!stdout.is_empty() && !stdout.contains("# "), "{stdout}");
        } else {
            let mut written = headers(&stdout);
            written.sort_unstable();
            let mut others: Vec<&str> = active
                .iter()
                .filter(|id| *id != failed[0])
                .map(ServiceId::as_str)
                .collect();
            others.sort_unstable();
            assert_eq!(written, others, "{stdout}");
        }
    }
}

/// A reader that goes away (`opx proxies --all | head -1`) stops the run: no more lists are
/// fetched for nobody, and it ends quietly (exit 0, nothing on stderr).
#[tokio::test]
async fn a_closed_pipe_stops_fetching_lists() {
    let s = MockServer::start().await;
    s.services().seed(30);
    let vars = [("OPX_TOKEN", s.token()), ("OPX_BASE_URL", s.base_url())];
    let mut cmd = opx_bin::command(&["proxies", "--all", "--concurrency", "1"], &vars);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        drop(child.stdout.take()); // closed before the first list is written
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(opx_bin::stderr(&out), "");
    let fetched = received(&s, Operation::GetProxies);
    assert!(
        fetched < 5,
        "{fetched} of 30 lists fetched for a closed pipe"
    );
}

/// `--all --json` is JSON lines, one per service with the lines of its list (the same lines as
/// the text blocks); `--merge --json` one document; `--jq` runs on each line.
#[tokio::test]
async fn all_with_json_writes_one_json_line_per_service() {
    let (s, active, _) = server().await;
    let out = ok(&opx(&s, &["--json", "proxies", "--all"], &[]).await);
    let docs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(docs.len(), active.len(), "{out}");
    for doc in &docs {
        let id = doc["service_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{doc}"));
        let single = ok(&opx(&s, &["proxies", id], &[]).await);
        let lines = Vec::<&str>::deserialize(&doc["lines"]).unwrap();
        assert_eq!(lines, single.lines().collect::<Vec<_>>(), "{id}");
    }
    let merged = ok(&opx(&s, &["--json", "proxies", "--all", "--merge"], &[]).await);
    let merged: serde_json::Value = serde_json::from_str(&merged).unwrap();
    assert!(merged["lines"].as_array().is_some_and(|l| !l.is_empty()));
    let ids = ok(&opx(&s, &["proxies", "--all", "--jq", ".service_id"], &[]).await);
    let mut ids: Vec<&str> = ids.lines().collect();
    ids.sort_unstable();
    let mut want: Vec<String> = active.iter().map(ToString::to_string).collect();
    want.sort_unstable();
    assert_eq!(ids, want);
}

/// The services behind `--all` are listed in pages of the largest size the spec allows: 150
/// services take two listing calls, not three of the server's default 50.
#[tokio::test]
async fn all_lists_the_services_in_the_largest_pages() {
    let s = MockServer::start().await;
    s.services().seed(150);
    let out = ok(&opx(&s, &["proxies", "--all"], &[]).await);
    assert_eq!(headers(&out).len(), 150);
    assert_eq!(received(&s, Operation::ListServices), 2);
}
