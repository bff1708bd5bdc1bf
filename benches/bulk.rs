//! (f) The bulk job: the proxy lists of 1,500 services on the mock with scaled time (its clock,
//! shared by the client, runs 25 times faster than the wall clock, 10 with `--full`), three ways side by
//! side, interleaved round by round, each on a fresh mock (fresh rate-limit windows):
//!
//! 1. **paced**: `Client::proxy_lists` (8 at once), the `Pace` policy;
//! 2. **sleep on Retry-After** (octocrab-style): 8 workers send, and on a 429 sleep its
//!    `Retry-After`, then send again;
//! 3. **naive**: 8 workers send, and on a 429 send again after a fixed second.
//!
//! Figures: the job's time on the mock's clock divided by the rate-limit floor (the fastest the
//! documented buckets allow 1,500 requests: `ceil(n / limit) - 1` whole windows of the bucket
//! that needs most, from `Bucket`), and the number of 429s the mock answered.
//!
//! `cargo bench --bench bulk [-- --full]`; `cargo xtask bench` runs it with the others.

mod support;

use std::time::Duration;

use futures::StreamExt;
use opx::clock::SharedClock;
use opx::mock::MockServer;
use opx::types::{ProxyQuery, ServiceId};
use opx::{Operation, RetryPolicy};
use support::{Opts, Row, Target, median};

const LISTS: usize = 1500;
const CONCURRENCY: usize = 8;

support::variants! {
    /// The three ways the job runs, side by side.
    enum Variant {
        Paced => "paced `Client::proxy_lists` (Pace policy)",
        RetryAfter => "loop sleeping on Retry-After after each 429",
        Naive => "naive loop, a 429 retried after a fixed 1 s",
    }
}

/// The fastest the documented buckets allow `n` requests of `op`.
fn floor(op: Operation, n: u32) -> Duration {
    op.buckets()
        .iter()
        .map(|b| b.window() * (n.div_ceil(b.limit()).saturating_sub(1)))
        .max()
        .unwrap_or_default()
}

/// One list, sent again after each 429: after its `Retry-After`, or after a fixed second.
async fn fetch_reacting(
    c: &opx::Client,
    clock: &SharedClock,
    id: &ServiceId,
    on_retry_after: bool,
) {
    loop {
        match c.proxies_text(id, &ProxyQuery::new()).await {
            Ok(_) => return,
            Err(e) if e.is_rate_limited() => {
                let wait = match (on_retry_after, e.retry_after()) {
                    (true, Some(w)) => w,
                    _ => Duration::from_secs(1),
                };
                clock.sleep(wait).await;
            }
            Err(e) => panic!("{id}: {e}"),
        }
    }
}

/// Runs the job one way; returns (its time on the mock's clock, the 429s answered).
async fn job(v: Variant, scale: f64) -> (Duration, u64) {
    let server = MockServer::builder()
        .time_scale(scale)
        .validate_responses(false)
        .start()
        .await
        .expect("a mock");
    let ids: Vec<ServiceId> = server.services().seed(LISTS);
    let clock = server.clock().shared();
    let t0 = clock.now();
    match v {
        Variant::Paced => {
            let c = server.client();
            let lists = c.proxy_lists(futures::stream::iter(ids), &ProxyQuery::new(), CONCURRENCY);
            let done = lists
                .filter(|(_, l)| futures::future::ready(l.is_ok()))
                .count();
            assert_eq!(done.await, LISTS);
        }
        Variant::RetryAfter | Variant::Naive => {
            let c = server
                .client_builder()
                .rate_limit_policy(opx::RateLimitPolicy::ServerDecides)
                .retry_policy(RetryPolicy::none())
                .build()
                .expect("a client");
            let on_retry_after = v == Variant::RetryAfter;
            futures::stream::iter(ids)
                .for_each_concurrent(CONCURRENCY, |id| {
                    let (c, clock) = (c.clone(), clock.clone());
                    async move { fetch_reacting(&c, &clock, &id, on_retry_after).await }
                })
                .await;
        }
    }
    let took = clock.now() - t0;
    let refused = server
        .records()
        .stats()
        .responses_by_status
        .get("429")
        .copied()
        .unwrap_or(0);
    (took, refused)
}

fn main() {
    let opts = Opts::from_args();
    if !opts.wants("f") {
        return;
    }
    let (rounds, scale) = opts.pick((1, 25.0), (3, 10.0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let floor = floor(Operation::GetProxies, LISTS as u32);
    let mut seen: Vec<(Variant, Vec<f64>, Vec<u64>)> = Variant::ALL
        .iter()
        .map(|v| (*v, Vec::new(), Vec::new()))
        .collect();
    for round in 0..rounds {
        for k in 0..Variant::ALL.len() {
            let i = (k + round) % Variant::ALL.len();
            let (took, refused) = rt.block_on(job(Variant::ALL[i], scale));
            seen[i].1.push(took.as_secs_f64() / floor.as_secs_f64());
            seen[i].2.push(refused);
        }
    }
    let mut rows = Vec::new();
    for (v, ratios, refused) in &mut seen {
        let ratio = median(ratios);
        let most = refused.iter().copied().max().unwrap_or(0);
        let figure = format!(
            "{:.1} s of mock time for {LISTS} lists (floor {} s; time x{scale}, {rounds} round(s), {CONCURRENCY} at once); {most} x 429",
            ratio * floor.as_secs_f64(),
            floor.as_secs(),
        );
        let what = format!("bulk {LISTS} lists, {}: job / floor", v.name());
        let paced = *v == Variant::Paced;
        rows.push(Row::new("f", what, figure).ratio(ratio, paced.then_some(Target::AtMost(1.03))));
        let what = format!("bulk {LISTS} lists, {}: 429s taken", v.name());
        let target = paced.then_some(Target::AtMost(0.0));
        rows.push(Row::new("f", what, "").ratio(most as f64, target));
    }
    support::report(&rows);
}
