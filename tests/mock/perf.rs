//! Throughput of `GET /account` with response validation on. Ignored by default (it measures
//! rather than checks); run it with
//! `cargo test --release --test mock perf:: -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use opx::mock::MockServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release"]
async fn get_account_throughput() {
    let s = MockServer::start().await;
    s.accounts()
        .set_limit(opx::mock::Bucket::GlobalMinute, u32::MAX);
    s.accounts()
        .set_limit(opx::mock::Bucket::GlobalHour, u32::MAX);
    let client = reqwest::Client::new();
    let url = format!("{}/account", s.base_url());
    let run_for = Duration::from_secs(3);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, url, token) = (client.clone(), url.clone(), s.token().to_string());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < run_for {
                let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let rate = total as f64 / start.elapsed().as_secs_f64();
    println!(
        "GET /account: {total} requests, {rate:.0} req/s (client and server on the same cores)"
    );
    assert!(s.records().schema_violations().is_empty());
    assert!(total > 0);
}
