//! Client overhead against the floor, on the in-process mock over loopback: (a) one call,
//! (b) 64 concurrent callers, (c) pagination and prefetch, (e) the mock's own throughput.
//!
//! `cargo bench --bench client [-- --full] [a b c e]`; `cargo xtask bench` runs every bench and
//! prints one table. Variants are interleaved round by round on the same server, so the ratios
//! come from the same run. (a) runs the mock and the client on one thread and also counts
//! instructions per call under callgrind (`--per-call`). Elsewhere the mock and the client share
//! the machine's cores: the mock runs on its own 2-thread runtime (threads `opx-mock`), the
//! client on another (threads `opx-client`), and the CPU time of each group is read from
//! `/proc/self/task/*/schedstat`.

mod support;

use opx::Operation;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use http::{HeaderValue, header::AUTHORIZATION};
use opx::mock::{Bucket, Fault, MockServer};
use opx::types::{ServiceQuery, StatusFilter};
use serde::Deserialize;
use support::{
    Opts, Row, Target, instructions, instructions_skipped, median, micros, quantile, variant_rows,
};
use tokio::runtime::Runtime;

// ---------------------------------------------------------------------------------------------
// The floor: what a minimal correct hand-written client does.

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: T,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BareAccount {
    username: String,
    email: String,
    balance: i64,
    currency: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BareAuth {
    login: String,
    password: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BareWhitelist {
    ip: std::net::Ipv4Addr,
    label: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BareService {
    service_id: String,
    #[serde(rename = "type")]
    service_type: String,
    status: Option<String>,
    threads: u32,
    expires_at: DateTime<Utc>,
    country: String,
    rotation: String,
    auth: BareAuth,
    whitelist: Vec<BareWhitelist>,
    plan_id: Option<String>,
}

#[derive(Deserialize)]
struct BarePage {
    services: Vec<BareService>,
    next_cursor: Option<String>,
}

/// GET, bearer header, status check, the JSON envelope into a struct.
async fn bare_get<T: serde::de::DeserializeOwned>(
    req: reqwest::RequestBuilder,
    auth: &HeaderValue,
) -> T {
    let r = req
        .header(AUTHORIZATION, auth.clone())
        .send()
        .await
        .expect("send");
    assert!(r.status().is_success(), "HTTP {}", r.status());
    let body = r.bytes().await.expect("body");
    let env: Envelope<T> = serde_json::from_slice(&body).expect("the JSON envelope");
    assert_eq!(env.status, "ok");
    env.data
}

// ---------------------------------------------------------------------------------------------
// Set-up.

struct Setup {
    facade: opx::Client,
    /// `Client::generated()`: the progenitor client with the facade's hook attached.
    gen_hooked: opx::generated::Client,
    /// Progenitor on its own: a `CallContext::default()` (no hook work) and the bearer header
    /// as a default header of its reqwest client.
    gen_plain: opx::generated::Client,
    http: reqwest::Client,
    /// A bare client configured like the facade's own: User-Agent, timeouts, no redirects.
    http_same_wire: reqwest::Client,
    base: String,
    account_url: String,
    auth: HeaderValue,
}

impl Setup {
    fn new(server: &MockServer) -> Arc<Self> {
        let facade = opx::Client::builder()
            .token(server.token())
            .base_url(server.base_url())
            .build()
            .expect("facade client");
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", server.token())).unwrap();
        auth.set_sensitive(true);
        let mut headers = http::HeaderMap::new();
        headers.insert(AUTHORIZATION, auth.clone());
        let plain_http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        Arc::new(Self {
            gen_hooked: facade.generated(),
            gen_plain: opx::generated::Client::new_with_client(
                server.base_url(),
                plain_http,
                opx::transport::CallContext::default(),
            ),
            facade,
            http: reqwest::Client::new(),
            http_same_wire: reqwest::Client::builder()
                .user_agent(concat!("opx/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.base_url().to_owned(),
            account_url: format!("{}/account", server.base_url()),
            auth,
        })
    }
}

fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn start_mock(rt: &Runtime, validate: bool, services: usize) -> MockServer {
    let s = rt.block_on(async {
        MockServer::builder()
            .validate_responses(validate)
            .limit(Bucket::GlobalMinute, u32::MAX)
            .limit(Bucket::GlobalHour, u32::MAX)
            .start()
            .await
            .expect("mock")
    });
    if services > 0 {
        s.services().seed(services);
    }
    s
}

/// CPU time so far of this process's threads whose name starts with `prefix`.
fn thread_cpu(prefix: &str) -> Duration {
    let mut ns = 0u64;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for e in dir.flatten() {
        let p = e.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        if let Ok(s) = std::fs::read_to_string(p.join("schedstat")) {
            ns += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(ns)
}

// ---------------------------------------------------------------------------------------------
// (a) and (b): GET /account.

support::variants! {
    /// The variants of (a) and (b), floor last.
    enum Account {
        Facade => "facade `client.account()`",
        GenHooked => "generated via `Client::generated()` (hook on)",
        GenPlain => "generated, plain progenitor (no hook)",
        BareSameWire => {
            "bare reqwest + serde, the facade's wire (User-Agent, Accept, api-version, timeouts)"
        },
        Bare => "bare reqwest + serde",
    }
}

/// `GET /account` through a progenitor client.
async fn generated_balance(g: &opx::generated::Client) -> i64 {
    let r = g.get_account().await.expect("account");
    r.into_inner().data.balance
}

async fn account_call(v: Account, s: &Setup) -> i64 {
    match v {
        Account::Facade => s.facade.account().await.expect("account").balance,
        Account::GenHooked => generated_balance(&s.gen_hooked).await,
        Account::GenPlain => generated_balance(&s.gen_plain).await,
        Account::BareSameWire => {
            let req = s
                .http_same_wire
                .get(&s.account_url)
                .header(http::header::ACCEPT, "application/json")
                .header("api-version", "1.0.0");
            bare_get::<BareAccount>(req, &s.auth).await.balance
        }
        Account::Bare => {
            bare_get::<BareAccount>(s.http.get(&s.account_url), &s.auth)
                .await
                .balance
        }
    }
}

/// A current-thread runtime: the mock and the client of (a) share one thread, so a call's
/// latency is the work of both sides and the kernel's loopback, without the wake-ups between
/// threads that made two-runtime medians swing by 3x from run to run.
fn one_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn case_a(opts: &Opts, rows: &mut Vec<Row>) {
    const V: [Account; 5] = Account::ALL;
    let rounds = opts.pick(12, 40);
    let per_round = opts.pick(200, 500);
    let rt = one_thread();
    let server = start_mock(&rt, false, 0);
    let s = Setup::new(&server);
    let mut samples = rt.block_on(async {
        let s = &*s;
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); V.len()];
        for v in V {
            for _ in 0..50 {
                account_call(v, s).await;
            }
        }
        for r in 0..rounds {
            for i in 0..V.len() {
                // Rotate the order each round.
                let k = (i + r) % V.len();
                for _ in 0..per_round {
                    let t = Instant::now();
                    std::hint::black_box(account_call(V[k], s).await);
                    samples[k].push(micros(t.elapsed()));
                }
            }
        }
        samples
    });
    // Every call reached the mock's handler and succeeded (each variant also checked its own
    // answer). The mock runs with response validation off here, so its schema-violation list
    // would be empty whatever it sent: (e) is where validation is measured and checked.
    let calls = V.len() * (50 + rounds * per_round);
    assert_eq!(
        server.records().executions(Operation::GetAccount),
        calls as u64
    );
    let meds: Vec<f64> = samples.iter_mut().map(|x| median(x)).collect();
    let p90s: Vec<f64> = samples.iter_mut().map(|x| quantile(x, 0.9)).collect();
    let bare = V.len() - 1;
    variant_rows(
        "a",
        &meds,
        |i| format!("GET /account, {}", V[i].name()),
        |i| {
            format!(
                "median {:.1} µs/call (p90 {:.1}), mock and client on one thread",
                meds[i], p90s[i]
            )
        },
        Some(Target::AtMost(1.05)),
        rows,
    );
    rows.push(Row::new(
        "a",
        "facade minus bare",
        format!("{:+.1} µs/call median latency", meds[0] - meds[bare]),
    ));
}

fn per_call_args(v: Account, calls: usize) -> Vec<String> {
    vec!["--per-call".into(), format!("{v:?}"), calls.to_string()]
}

/// `--per-call <variant> <calls>`: `calls` GET /account calls of one variant, mock and client on
/// one thread, then exit. What [`case_a_instructions`] runs under callgrind.
fn per_call_child(variant: &str, calls: usize) {
    let v = variant_named(&Account::ALL, variant);
    let rt = one_thread();
    let server = start_mock(&rt, false, 0);
    let s = Setup::new(&server);
    rt.block_on(async {
        for _ in 0..calls {
            std::hint::black_box(account_call(v, &s).await);
        }
    });
}

/// Instructions a child run of this binary with `args` executed (client, mock and runtime), as
/// callgrind counts them; `None` without valgrind.
fn child_instructions(args: &[String]) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    instructions(std::process::Command::new(exe).args(args))
}

/// Instructions per unit of work: a child run with `args(many)` units minus one with
/// `args(few)`, divided by the extra units, so start-up and set-up cancel out. `None` without
/// valgrind.
fn marginal_instructions(
    args: impl Fn(usize) -> Vec<String>,
    few: usize,
    many: usize,
) -> Option<f64> {
    match (
        child_instructions(&args(few)),
        child_instructions(&args(many)),
    ) {
        (Some(a), Some(b)) if b > a => Some((b - a) as f64 / (many - few) as f64),
        _ => None,
    }
}

/// The variant of `all` whose `Debug` name is `name` (how children are told what to run).
fn variant_named<V: Copy + std::fmt::Debug>(all: &[V], name: &str) -> V {
    all.iter()
        .copied()
        .find(|v| format!("{v:?}") == name)
        .unwrap_or_else(|| panic!("unknown variant {name}"))
}

/// (a) in instructions per call: each variant run for two call counts under callgrind, the
/// difference divided by the extra calls (start-up, client construction and the mock's set-up
/// cancel out). Machine load does not change it (only the mock's random tokens and ids vary
/// from run to run; how much has not been measured), so it is the figure to compare commits
/// with.
fn case_a_instructions(opts: &Opts, rows: &mut Vec<Row>) {
    const V: [Account; 5] = Account::ALL;
    let (few, many) = (200, opts.pick(1200, 3200));
    let Some(per_call) = variant_instructions(&V, per_call_args, few, many) else {
        rows.push(instructions_skipped(
            "a",
            "instructions per call (callgrind)",
        ));
        return;
    };
    variant_rows(
        "a",
        &per_call,
        |i| format!("instructions, {}", V[i].name()),
        |i| {
            format!(
                "{:.1} k instructions/call (client + mock + runtime; callgrind, {many} - {few} calls)",
                per_call[i] / 1000.0
            )
        },
        Some(Target::AtMost(1.05)),
        rows,
    );
}

/// [`marginal_instructions`] of every variant, `args(variant, units)` telling a child run what
/// to do; `None` without valgrind.
fn variant_instructions<V: Copy>(
    variants: &[V],
    args: impl Fn(V, usize) -> Vec<String>,
    few: usize,
    many: usize,
) -> Option<Vec<f64>> {
    variants
        .iter()
        .map(|&v| marginal_instructions(|n| args(v, n), few, many))
        .collect()
}

/// Runs the tasks `task(stop, count)` makes, `tasks` of them, for `window`, then stops and joins
/// them: what they counted, and how long they ran.
async fn for_a_while<Fut>(
    tasks: usize,
    window: Duration,
    task: impl Fn(Arc<AtomicBool>, Arc<AtomicU64>) -> Fut,
) -> (u64, Duration)
where
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| tokio::spawn(task(stop.clone(), count.clone())))
        .collect();
    tokio::time::sleep(window).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.expect("task");
    }
    (count.load(Ordering::Relaxed), start.elapsed())
}

fn case_b(opts: &Opts, crt: &Runtime, s: &Arc<Setup>, rows: &mut Vec<Row>) {
    const TASKS: usize = 64;
    const V: [Account; 5] = Account::ALL;
    let rounds = opts.pick(4, 10);
    let window = Duration::from_millis(opts.pick(600, 1500));
    let mut calls = [0u64; V.len()];
    let mut time = [Duration::ZERO; V.len()];
    let mut cpu = [Duration::ZERO; V.len()];
    let run = |v: Account, window: Duration| {
        let s = s.clone();
        async move {
            for_a_while(TASKS, window, |stop, count| {
                let s = s.clone();
                async move {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::black_box(account_call(v, &s).await);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .await
        }
    };
    crt.block_on(async {
        for v in V {
            run(v, Duration::from_millis(200)).await;
        }
        for r in 0..rounds {
            for i in 0..V.len() {
                let k = (i + r) % V.len();
                let c0 = thread_cpu("opx-client");
                let (n, t) = run(V[k], window).await;
                cpu[k] += thread_cpu("opx-client") - c0;
                calls[k] += n;
                time[k] += t;
            }
        }
    });
    let tput: Vec<f64> = (0..V.len())
        .map(|k| calls[k] as f64 / time[k].as_secs_f64())
        .collect();
    // Time per call, each variant over bare.
    let per_call: Vec<f64> = tput.iter().map(|t| 1.0 / t).collect();
    variant_rows(
        "b",
        &per_call,
        |k| format!("64 tasks, GET /account, {}", V[k].name()),
        |k| {
            format!(
                "{:.0} calls/s; client CPU {:.1} µs/call",
                tput[k],
                micros(cpu[k]) / calls[k] as f64
            )
        },
        Some(Target::AtMost(1.05)),
        rows,
    );
}

// ---------------------------------------------------------------------------------------------
// (c): 10,000 services, 100 a page.

const SERVICES: usize = 10_000;
const PAGE: u32 = 100;

support::variants! {
    /// The variants of (c), floor last.
    enum Pages {
        Stream => "facade `services_stream`",
        FacadeLoop => "hand cursor loop over `Client::services_page`",
        Bare => "hand cursor loop, bare reqwest + serde",
    }
}

fn query() -> ServiceQuery {
    ServiceQuery::new().status(StatusFilter::All).limit(PAGE)
}

/// Walks every page; returns the number of services seen.
async fn walk(v: Pages, s: &Setup) -> usize {
    match v {
        Pages::Stream => s
            .facade
            .services_stream(&query())
            .try_fold(0usize, |n, svc| async move {
                std::hint::black_box(&svc);
                Ok(n + 1)
            })
            .await
            .expect("stream"),
        Pages::FacadeLoop => {
            let mut n = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut q = query();
                if let Some(c) = cursor.take() {
                    q = q.cursor(c);
                }
                let page = s.facade.services_page(&q).await.expect("page").into_inner();
                n += looked_at(page.services);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return n,
                }
            }
        }
        Pages::Bare => {
            let url = format!("{}/services", s.base);
            let limit = PAGE.to_string();
            let mut n = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut req = s
                    .http
                    .get(&url)
                    .query(&[("status", "all"), ("limit", limit.as_str())]);
                if let Some(c) = &cursor {
                    req = req.query(&[("cursor", c.as_str())]);
                }
                let page: BarePage = bare_get(req, &s.auth).await;
                n += looked_at(page.services);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return n,
                }
            }
        }
    }
}

/// Looks at every service of a page (so that none is optimised away); how many there were.
fn looked_at<T>(services: Vec<T>) -> usize {
    let n = services.len();
    for svc in services {
        std::hint::black_box(&svc);
    }
    n
}

fn case_c(opts: &Opts, crt: &Runtime, s: &Arc<Setup>, rows: &mut Vec<Row>) {
    const V: [Pages; 3] = Pages::ALL;
    let rounds = opts.pick(6, 20);
    let s = s.clone();
    let task = crt.spawn(async move {
        let s = &*s;
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); V.len()];
        let mut cpu = [Duration::ZERO; V.len()];
        for v in V {
            assert_eq!(walk(v, s).await, SERVICES, "{v:?} saw every service");
        }
        for r in 0..rounds {
            for i in 0..V.len() {
                let k = (i + r) % V.len();
                let c0 = thread_cpu("opx-client");
                let t = Instant::now();
                std::hint::black_box(walk(V[k], s).await);
                times[k].push(t.elapsed().as_secs_f64() * 1e3);
                cpu[k] += thread_cpu("opx-client") - c0;
            }
        }
        (times, cpu)
    });
    let (mut times, cpu) = crt.block_on(task).expect("case c");
    let meds: Vec<f64> = times.iter_mut().map(|x| median(x)).collect();
    variant_rows(
        "c",
        &meds,
        |i| format!("stream 10,000 services, {}", V[i].name()),
        |i| {
            format!(
                "median {:.1} ms per 10,000 ({:.0} services/s); client CPU {:.1} ms per 10,000",
                meds[i],
                SERVICES as f64 / meds[i] * 1e3,
                micros(cpu[i]) / 1e3 / rounds as f64
            )
        },
        Some(Target::AtMost(1.03)),
        rows,
    );
    rows.push(
        Row::new(
            "c",
            "stream over the same-page hand loop (the stream's own cost)",
            format!("{:+.2} ms per 100 pages", meds[0] - meds[1]),
        )
        .ratio(meds[0] / meds[1], None),
    );
}

/// Services seeded for the instruction count of (c): fewer than [`SERVICES`], so callgrind's
/// slowdown stays bearable; the figure is scaled to 10,000.
const WALK_SERVICES: usize = 2_000;

/// `--per-walk <variant> <walks>`: walks every page of [`WALK_SERVICES`] services `walks` times,
/// mock and client on one thread, then exits. What [`case_c_instructions`] runs under callgrind.
fn per_walk_child(variant: &str, walks: usize) {
    let v = variant_named(&Pages::ALL, variant);
    let rt = one_thread();
    let server = start_mock(&rt, false, WALK_SERVICES);
    let s = Setup::new(&server);
    rt.block_on(async {
        for _ in 0..walks {
            assert_eq!(walk(v, &s).await, WALK_SERVICES);
        }
    });
}

/// (c) in instructions: each variant walks all pages once and three times under callgrind; the
/// difference is two walks (seeding and set-up cancel out), scaled to 10,000 services.
fn case_c_instructions(rows: &mut Vec<Row>) {
    const V: [Pages; 3] = Pages::ALL;
    let scale = (SERVICES / WALK_SERVICES) as f64;
    let args =
        |v: Pages, walks: usize| vec!["--per-walk".into(), format!("{v:?}"), walks.to_string()];
    let Some(per_walk) = variant_instructions(&V, args, 1, 3) else {
        rows.push(instructions_skipped(
            "c",
            "instructions per 10,000 services (callgrind)",
        ));
        return;
    };
    let per_walk: Vec<f64> = per_walk.iter().map(|n| n * scale).collect();
    variant_rows(
        "c",
        &per_walk,
        |i| format!("instructions, {}", V[i].name()),
        |i| {
            format!(
                "{:.0} M instructions per 10,000 services, 100 a page (client + mock + runtime; \
                 callgrind, {WALK_SERVICES} services walked 3 - 1 times, scaled)",
                per_walk[i] / 1e6
            )
        },
        Some(Target::AtMost(1.03)),
        rows,
    );
}

/// Consumes every page of a prefetching (or not) stream, spending `consume` on each page.
async fn consume_pages(
    client: &opx::Client,
    prefetch: bool,
    consume: Duration,
    spin: bool,
) -> (usize, Duration) {
    let mut pages = std::pin::pin!(client.services_page_stream(&query().prefetch(prefetch)));
    let mut n = 0;
    let mut spent = Duration::ZERO;
    while let Some(p) = pages.try_next().await.expect("page") {
        n += p.services.len();
        let t = Instant::now();
        if spin {
            while t.elapsed() < consume {
                std::hint::spin_loop();
            }
        } else if !consume.is_zero() {
            tokio::time::sleep(consume).await;
        }
        spent += t.elapsed();
    }
    (n, spent)
}

fn case_c_prefetch(opts: &Opts, crt: &Runtime, srt: &Runtime, rows: &mut Vec<Row>) {
    // A server as far away as a real one: every page answered after a fixed delay.
    let delay = Duration::from_millis(3);
    let server = start_mock(srt, false, SERVICES);
    server
        .faults()
        .inject(Operation::ListServices, Fault::Delay(delay), u32::MAX);
    let client = opx::Client::builder()
        .token(server.token())
        .base_url(server.base_url())
        .build()
        .expect("client");
    let rounds = opts.pick(2, 6);
    let pages = SERVICES / PAGE as usize;
    crt.block_on(async {
        // The fetch time per page, nothing consumed.
        let t = Instant::now();
        let (n, _) = consume_pages(&client, false, Duration::ZERO, false).await;
        assert_eq!(n, SERVICES);
        let fetch = t.elapsed() / pages as u32;
        for (spin, label) in [(false, "awaits (I/O-like)"), (true, "spins (CPU-bound)")] {
            let mut off = Vec::new();
            let mut on = Vec::new();
            let mut spent = Duration::ZERO;
            let mut runs = 0u32;
            for r in 0..rounds {
                for i in 0..2 {
                    let prefetch = (i + r) % 2 == 1;
                    let t = Instant::now();
                    let (n, s) = consume_pages(&client, prefetch, fetch, spin).await;
                    assert_eq!(n, SERVICES);
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    if prefetch { on.push(ms) } else { off.push(ms) }
                    spent += s;
                    runs += 1;
                }
            }
            let (off, on) = (median(&mut off), median(&mut on));
            let per_page = spent / (runs * pages as u32);
            rows.push(
                Row::new(
                    "c",
                    format!("prefetch on vs off, consumer {label}"),
                    format!(
                        "off {off:.0} ms, on {on:.0} ms; fetch {:.2} ms/page (server delay {} ms), consumer {:.2} ms/page",
                        micros(fetch) / 1e3,
                        delay.as_millis(),
                        micros(per_page) / 1e3
                    ),
                )
                .ratio(off / on, Some(Target::AtLeast(1.5))),
            );
        }
    });
    drop(server);
}

// ---------------------------------------------------------------------------------------------
// (e): the mock's own throughput.

async fn hammer(url: &str, token: &str, window: Duration, tasks: usize) -> (u64, Duration) {
    let http = reqwest::Client::new();
    let mut auth = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    auth.set_sensitive(true);
    let url: Arc<str> = url.into();
    for_a_while(tasks, window, |stop, count| {
        let (http, auth, url) = (http.clone(), auth.clone(), url.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                let r = http
                    .get(&*url)
                    .header(AUTHORIZATION, auth.clone())
                    .send()
                    .await
                    .expect("send");
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.expect("body");
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await
}

fn case_e(opts: &Opts, crt: &Runtime, srt: &Runtime, rows: &mut Vec<Row>) {
    let servers = [start_mock(srt, true, 0), start_mock(srt, false, 0)];
    let rounds = opts.pick(3, 8);
    let window = Duration::from_millis(opts.pick(800, 2000));
    let tasks = 32;
    let mut calls = [0u64; 2];
    let mut time = [Duration::ZERO; 2];
    let mut cpu = [Duration::ZERO; 2];
    crt.block_on(async {
        for s in &servers {
            hammer(
                &format!("{}/account", s.base_url()),
                s.token(),
                Duration::from_millis(200),
                tasks,
            )
            .await;
        }
        for r in 0..rounds {
            for i in 0..2 {
                let k = (i + r) % 2;
                let s = &servers[k];
                let c0 = thread_cpu("opx-mock");
                let (n, t) = hammer(
                    &format!("{}/account", s.base_url()),
                    s.token(),
                    window,
                    tasks,
                )
                .await;
                cpu[k] += thread_cpu("opx-mock") - c0;
                calls[k] += n;
                time[k] += t;
            }
        }
    });
    assert!(servers[0].records().schema_violations().is_empty());
    for (k, label) in ["validation on", "validation off"].iter().enumerate() {
        let rate = calls[k] as f64 / time[k].as_secs_f64();
        let cpu_us = micros(cpu[k]) / calls[k] as f64;
        let mut row = Row::new(
            "e",
            format!("mock GET /account, {label} ({tasks} bare reqwest callers)"),
            format!(
                "{rate:.0} req/s; mock CPU {cpu_us:.1} µs/req (≈ {:.0} req/s per core)",
                1e6 / cpu_us
            ),
        );
        if k == 0 {
            row = row.ratio(rate, Some(Target::AtLeast(10_000.0)));
        }
        rows.push(row);
    }
    let per_req = |k: usize| micros(cpu[k]) / calls[k] as f64;
    rows.push(Row::new(
        "e",
        "mock GET /account, the cost of response validation",
        format!(
            "{:+.1} µs/req of mock CPU (on minus off)",
            per_req(0) - per_req(1)
        ),
    ));
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--per-call") {
        let calls = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1000);
        per_call_child(args.get(2).map_or("", String::as_str), calls);
        return;
    }
    if args.get(1).map(String::as_str) == Some("--per-walk") {
        let walks = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1);
        per_walk_child(args.get(2).map_or("", String::as_str), walks);
        return;
    }
    let opts = Opts::from_args();
    let srt = runtime("opx-mock");
    let crt = runtime("opx-client");
    let mut rows = Vec::new();
    if opts.wants("a") || opts.wants("b") || opts.wants("c") {
        let server = start_mock(&srt, false, SERVICES);
        let setup = crt.block_on(async { Setup::new(&server) });
        if opts.wants("a") {
            case_a(&opts, &mut rows);
            case_a_instructions(&opts, &mut rows);
        }
        if opts.wants("b") {
            case_b(&opts, &crt, &setup, &mut rows);
        }
        if opts.wants("c") {
            case_c(&opts, &crt, &setup, &mut rows);
            case_c_instructions(&mut rows);
            case_c_prefetch(&opts, &crt, &srt, &mut rows);
        }
        // No schema check here: this mock runs with response validation off (its violation
        // list stays empty whatever it sends); (e) runs one with validation on and checks it.
        assert!(server.records().executions(Operation::GetAccount) > 0 || !opts.wants("b"));
    }
    if opts.wants("e") {
        case_e(&opts, &crt, &srt, &mut rows);
    }
    support::report(&rows);
    crt.shutdown_timeout(Duration::from_secs(1));
    srt.shutdown_timeout(Duration::from_secs(1));
}
