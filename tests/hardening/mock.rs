//! The mock as a server: hundreds of concurrent loopback connections from several tenants get
//! no 5xx, lose no state and are rate-limited exactly; request bodies are bounded even when a
//! client announces or streams gigabytes; tenants stay isolated under load.

use crate::fixtures::{IPV4_PLAN, IPV4_PRICE, assert_clean, assert_serves, raw_get};
use opx::Operation;
use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use opx::mock::{Bucket, MockServer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug)]
struct Answer {
    tenant: usize,
    kind: &'static str,
    status: u16,
    remaining: Option<u32>,
    retry_after: bool,
    body: Value,
}

/// One request on a connection of its own (the client keeps no idle connections).
async fn send(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    tenant: usize,
    kind: &'static str,
) -> Answer {
    let rb = match kind {
        "purchase" => http
            .post(format!("{base}/purchase"))
            .json(&json!({"type": "ipv4_rotating", "plan_id": IPV4_PLAN})),
        "account" => http.get(format!("{base}/account")),
        "services" => http.get(format!("{base}/services?limit=100&status=all")),
        other => unreachable!("{other}"),
    };
    let r = rb
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("transport error under load: {e}"));
    let status = r.status().as_u16();
    let remaining = r
        .headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let retry_after = r.headers().contains_key("retry-after");
    let body = r.json().await.expect("a JSON body");
    Answer {
        tenant,
        kind,
        status,
        remaining,
        retry_after,
        body,
    }
}

/// Fires every (tenant, kind) at once and waits for all, bounded in time: the bounds only
/// turn a hang into a failure, far beyond what a loaded 2-core machine takes in a debug build.
async fn burst(s: &MockServer, tokens: &[String], jobs: Vec<(usize, &'static str)>) -> Vec<Answer> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|(tenant, kind)| {
            let (http, base, token) = (
                http.clone(),
                s.base_url().to_owned(),
                tokens[tenant].clone(),
            );
            tokio::spawn(async move { send(&http, &base, &token, tenant, kind).await })
        })
        .collect();
    let all = async {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("a request task panicked"));
        }
        out
    };
    tokio::time::timeout(Duration::from_secs(180), all)
        .await
        .expect("the burst did not finish in 180 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tenants_get_no_5xx_lose_nothing_and_are_counted_exactly() {
    // No bound on the whole run's time (it is not what the test is about, and a loaded machine
    // stretches it): each burst has its own generous guard against a hang (`burst`).
    let s = MockServer::start().await;
    let purchase_limit = 20u32;
    s.accounts().set_limit(Bucket::Purchase, purchase_limit);
    let mut tokens = vec![s.token().to_owned()];
    let mut balances = vec![s.accounts().balance()];
    for _ in 0..2 {
        let t = s.accounts().add(1_000_000);
        balances.push(1_000_000);
        tokens.push(t.token);
    }

    // Burst 1: per tenant 50 purchases, 30 account reads, 10 listings: 270 connections at once.
    let mut jobs = Vec::new();
    for tenant in 0..tokens.len() {
        jobs.extend(std::iter::repeat_n((tenant, "purchase"), 50));
        jobs.extend(std::iter::repeat_n((tenant, "account"), 30));
        jobs.extend(std::iter::repeat_n((tenant, "services"), 10));
    }
    let sent1 = jobs.len();
    let answers = burst(&s, &tokens, jobs).await;
    for a in &answers {
        assert!(
            a.status == 200 || (a.status == 429 && a.kind == "purchase"),
            "unexpected answer under load: {a:?}"
        );
    }

    let mut bought: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for tenant in 0..tokens.len() {
        let purchases: Vec<&Answer> = answers
            .iter()
            .filter(|a| a.tenant == tenant && a.kind == "purchase")
            .collect();
        let ok: Vec<&&Answer> = purchases.iter().filter(|a| a.status == 200).collect();
        let limited: Vec<&&Answer> = purchases.iter().filter(|a| a.status == 429).collect();
        // Exact accounting: precisely the limit got through, each saw a distinct remaining
        // count from limit-1 down to 0, and every refusal says when to retry.
        assert_eq!(ok.len(), purchase_limit as usize, "tenant {tenant}");
        assert_eq!(limited.len(), 50 - purchase_limit as usize);
        let mut remaining: Vec<u32> = ok.iter().map(|a| a.remaining.unwrap()).collect();
        remaining.sort_unstable();
        assert_eq!(
            remaining,
            (0..purchase_limit).collect::<Vec<_>>(),
            "tenant {tenant}"
        );
        assert!(
            limited
                .iter()
                .all(|a| a.retry_after && a.remaining == Some(0))
        );
        assert!(
            limited
                .iter()
                .all(|a| a.body["error"]["code"] == "rate_limited")
        );
        let ids: BTreeSet<String> = ok
            .iter()
            .map(|a| a.body["data"]["service_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), purchase_limit as usize, "service ids are unique");
        bought.insert(tenant, ids);
    }
    // Ids are unique across tenants too.
    let every: BTreeSet<&String> = bought.values().flatten().collect();
    assert_eq!(every.len(), 3 * purchase_limit as usize);
    assert_eq!(
        s.records().executions(Operation::Purchase),
        3 * u64::from(purchase_limit)
    );

    // No lost state: balances charged exactly once per service, each tenant sees exactly its
    // own services.
    let answers = burst(&s, &tokens, (0..3).map(|t| (t, "account")).collect()).await;
    for a in &answers {
        let expected = balances[a.tenant] - i64::from(purchase_limit) * IPV4_PRICE;
        assert_eq!(a.body["data"]["balance"], expected, "tenant {}", a.tenant);
    }
    let answers = burst(&s, &tokens, (0..3).map(|t| (t, "services")).collect()).await;
    for a in &answers {
        let listed: BTreeSet<String> = a.body["data"]["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["service_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed, bought[&a.tenant], "tenant {}", a.tenant);
    }
    let sent_so_far = sent1 + 6;

    // Burst 2: the global per-minute bucket, on a fresh window: 3 x 100 reads against a limit of 40.
    s.clock().advance(Duration::from_secs(2 * 3600));
    let global = 40u32;
    s.accounts().set_limit(Bucket::GlobalMinute, global);
    let mut jobs = Vec::new();
    for tenant in 0..tokens.len() {
        jobs.extend(std::iter::repeat_n((tenant, "account"), 100));
    }
    let answers = burst(&s, &tokens, jobs).await;
    for tenant in 0..tokens.len() {
        let mine: Vec<&Answer> = answers.iter().filter(|a| a.tenant == tenant).collect();
        assert!(mine.iter().all(|a| a.status == 200 || a.status == 429));
        let mut remaining: Vec<u32> = mine
            .iter()
            .filter(|a| a.status == 200)
            .map(|a| a.remaining.unwrap())
            .collect();
        remaining.sort_unstable();
        assert_eq!(
            remaining,
            (0..global).collect::<Vec<_>>(),
            "tenant {tenant}"
        );
        assert_eq!(
            mine.iter().filter(|a| a.status == 429).count(),
            100 - global as usize
        );
    }

    // Every request was recorded once, and nothing broke the spec.
    let recorded = s.records().requests();
    assert_eq!(recorded.len(), sent_so_far + 300);
    assert!(
        recorded.iter().all(|r| r.status < 500),
        "a 5xx was recorded"
    );
    assert_clean(&s);
}

/// The send buffer asked for on the streaming socket (the kernel doubles it).
const CLIENT_SNDBUF: u32 = 4096;

/// The mock's request body bound (`src/mock/server.rs`, `MAX_BODY`), as SECURITY.md states it.
const MAX_BODY: usize = 64 * 1024;

/// What a client can write on loopback beyond what the mock read: its own send buffer (asked
/// [`CLIENT_SNDBUF`], doubled by the kernel), the mock's receive buffer (its initial size,
/// doubled for autotuning headroom) and the chunk being written. About 270 KiB with Linux's
/// defaults; measured sends are about 115 KiB.
fn streaming_slack() -> usize {
    2 * CLIENT_SNDBUF as usize + 2 * crate::limits::tcp_rmem_default() as usize + 4 * 1024
}

/// Writes `head`, then streams `chunk` until the server answers (bounded); returns the status
/// line of the answer and how many body bytes were sent.
async fn stream_body(s: &MockServer, head: String, chunk: &[u8]) -> (String, usize) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(CLIENT_SNDBUF).unwrap();
    let mut sock = socket.connect(s.addr()).await.unwrap();
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut sent = 0usize;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let (mut rd, mut wr) = sock.split();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && sent < 256 * 1024 * 1024 {
        tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            },
            w = wr.write_all(chunk) => match w {
                Ok(()) => sent += chunk.len(),
                Err(_) => {
                    // The server stopped reading; collect what it said.
                    let _ = tokio::time::timeout(Duration::from_secs(2), rd.read_to_end(&mut answer)).await;
                    break;
                }
            },
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    (text.lines().next().unwrap_or("").to_owned(), sent)
}

#[tokio::test]
async fn request_bodies_are_bounded_whatever_the_client_announces() {
    let s = MockServer::start().await;
    let chunk = vec![b' '; 4 * 1024];
    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
    framed.extend_from_slice(&chunk);
    framed.extend_from_slice(b"\r\n");
    // A Content-Length of 10 GB, then as many bytes as the server will take; chunked, never
    // ending.
    let framings = [
        ("content-length", "content-length: 10000000000", &chunk),
        ("chunked", "transfer-encoding: chunked", &framed),
    ];
    let port = s.addr().port();
    for (what, token) in [
        ("authenticated", s.token().to_owned()),
        ("unknown key", "opx_live_x".into()),
    ] {
        let expected = if what == "authenticated" {
            "400"
        } else {
            "401"
        };
        for (how, framing, bytes) in framings {
            let head = format!(
                "POST /api/v1/purchase HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\n{framing}\r\n\r\n"
            );
            let t0 = Instant::now();
            let (status, sent) = stream_body(&s, head, bytes).await;
            assert!(
                status.contains(expected),
                "{what}, {how}: {status:?} after {sent} bytes"
            );
            assert!(
                sent <= MAX_BODY + streaming_slack(),
                "{what}, {how}: {sent} bytes accepted of a body bound of {MAX_BODY}"
            );
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "{what}, {how}: {:?}",
                t0.elapsed()
            );
        }
    }
    assert_eq!(s.services().count(), 0, "nothing was bought");
    assert_eq!(s.records().executions(Operation::Purchase), 0);
    assert_serves(&s).await;
}

#[tokio::test]
async fn keys_that_almost_match_are_all_refused() {
    // What constant-time comparison must still get right: near misses of every kind.
    let s = MockServer::start().await;
    let t = s.token().to_owned();
    let mut last = t.clone();
    last.pop();
    last.push(if t.ends_with('0') { '1' } else { '0' });
    let mut first = t.clone();
    first.replace_range(0..1, "O");
    let near = [
        last,
        first,
        t[..t.len() - 1].to_owned(),
        format!("{t}0"),
        t.to_uppercase(),
        format!("{t}{t}"),
        String::new(),
    ];
    let http = reqwest::Client::new();
    for bad in &near {
        let r = http
            .get(format!("{}/account", s.base_url()))
            .header("authorization", format!("Bearer {bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{bad:?}");
    }
    assert_eq!(raw_get(&http, &s, "/account").await.status(), 200);
}
