//! (j) `opx gateway` against going straight through the mock's gateway, side by side in one
//! run: the latency it adds (p50, p99), requests per second and MB/s under concurrency, and the
//! memory of 1,000 idle `CONNECT` tunnels.
//!
//! The mock (API and gateways) and a loopback web server run in this process; `opx gateway`
//! runs as a child process (the release binary), so its memory is its own. Variants are
//! interleaved round by round.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use futures::future::join_all;
use opx::mock::MockServer;
use support::{Opts, Row, Target, median, quantile};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const BIG: usize = 1 << 20;

fn main() {
    let opts = Opts::from_args();
    if !opts.wants("j") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(run(&opts));
    support::report(&rows);
}

/// A page server: `/` answers `ok`, `/big` 1 MiB.
async fn web() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let big = bytes::Bytes::from(vec![b'x'; BIG]);
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/big", get(move || async move { big.clone() }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A TCP server that holds every connection open (the far end of idle tunnels).
async fn sink() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut b = [0u8; 64];
                while matches!(s.read(&mut b).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

struct Child {
    child: tokio::process::Child,
    addr: String,
}

/// `opx gateway` over the mock's account.
async fn opx_gateway(server: &MockServer) -> Child {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_opx"))
        .args(["gateway", "--listen", "127.0.0.1:0"])
        .env("OPX_TOKEN", server.token())
        .env("OPX_BASE_URL", server.base_url())
        .env("XDG_CONFIG_HOME", "/nonexistent/opx-bench")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn opx gateway");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(rest) = line.strip_prefix("gateway at: ") {
            let addr = rest.split(' ').next().unwrap().to_owned();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Child { child, addr };
        }
    }
    panic!("opx gateway printed no address");
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn through(proxy: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy).unwrap())
        .build()
        .unwrap()
}

/// CPU time (user + system) a process has used so far, in µs (`/proc/PID/stat`, in clock
/// ticks of 10 ms: a window of 0.6 s on two cores is ~120 ticks).
fn cpu_us(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 * 1e4
}

/// Per-request latencies of `n` sequential GETs, in microseconds.
async fn latencies(client: &reqwest::Client, url: &str, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let r = client.get(url).send().await.unwrap();
        assert!(r.status().is_success());
        r.bytes().await.unwrap();
        out.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    out
}

/// Requests completed per second and MB read per second by `tasks` loops of GETs during
/// `window`, and the number of requests.
async fn load(
    client: &reqwest::Client,
    url: &str,
    tasks: usize,
    window: Duration,
) -> (f64, f64, u64) {
    let end = Instant::now() + window;
    let runs = (0..tasks).map(|_| async {
        let (mut n, mut bytes) = (0u64, 0u64);
        while Instant::now() < end {
            let r = client.get(url).send().await.unwrap();
            assert!(r.status().is_success());
            bytes += r.bytes().await.unwrap().len() as u64;
            n += 1;
        }
        (n, bytes)
    });
    let t0 = Instant::now();
    let done = join_all(runs).await;
    let secs = t0.elapsed().as_secs_f64();
    let (n, b) = done.iter().fold((0, 0), |(n, b), (x, y)| (n + x, b + y));
    (n as f64 / secs, b as f64 / secs / 1e6, n)
}

/// CPU per request of the bench process (client, mock, web server) and of the gateway.
#[derive(Default)]
struct Cpu {
    bench_us: f64,
    gateway_us: f64,
    requests: u64,
}

impl Cpu {
    fn per_request(&self) -> (f64, f64) {
        let n = self.requests.max(1) as f64;
        (self.bench_us / n, self.gateway_us / n)
    }
}

async fn run(opts: &Opts) -> Vec<Row> {
    let server = MockServer::builder()
        .validate_responses(false)
        .start()
        .await
        .unwrap();
    let id = server.services().seed(1).remove(0);
    server.services().set_threads(&id, 5000);
    let line = server
        .client()
        .proxies(&id, &opx::types::ProxyQuery::new())
        .await
        .unwrap();
    let direct_url = line.into_inner()[0].proxy_url();
    let page = web().await;
    let gw = opx_gateway(&server).await;
    let variants = [
        ("straight through the mock's gateway", through(&direct_url)),
        (
            "through opx gateway",
            through(&format!("http://{}", gw.addr)),
        ),
    ];
    let small = format!("http://{page}/");
    let big = format!("http://{page}/big");
    let rounds = opts.pick(6, 20);
    let (per_round, window) = (
        opts.pick(200, 500),
        Duration::from_millis(opts.pick(600, 1500)),
    );
    let mut lat: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut rps: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut mbs: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut cpu: [[Cpu; 2]; 2] = Default::default(); // [small, big][variant]
    let child = gw.child.id().unwrap().to_string();
    let both = || (cpu_us("self"), cpu_us(&child));
    for (_, c) in &variants {
        latencies(c, &small, 20).await; // warm-up
    }
    for r in 0..rounds {
        for i in 0..2 {
            let k = (i + r) % 2;
            let c = &variants[k].1;
            lat[k].extend(latencies(c, &small, per_round).await);
            for (kind, url, tasks) in [(0, &small, 32), (1, &big, 8)] {
                let before = both();
                let (r, m, n) = load(c, url, tasks, window).await;
                let after = both();
                let used = &mut cpu[kind][k];
                used.bench_us += after.0 - before.0;
                used.gateway_us += after.1 - before.1;
                used.requests += n;
                if kind == 0 {
                    rps[k].push(r);
                } else {
                    mbs[k].push(m);
                }
            }
        }
    }
    let mut rows = Vec::new();
    let p = |k: usize, q: f64| quantile(&mut lat[k].clone(), q);
    for (k, (name, _)) in variants.iter().enumerate() {
        rows.push(Row::new(
            "j",
            format!("GET, one at a time, {name}"),
            format!("p50 {:.0} µs, p99 {:.0} µs", p(k, 0.5), p(k, 0.99)),
        ));
    }
    let added99 = (p(1, 0.99) - p(0, 0.99)) / 1e3;
    rows.push(
        Row::new(
            "j",
            "added latency p50 / p99 (ms)",
            format!("{:.2} / {added99:.2}", (p(1, 0.5) - p(0, 0.5)) / 1e3),
        )
        .ratio(added99, Some(Target::AtMost(1.0))),
    );
    let (r0, r1) = (median(&mut rps[0]), median(&mut rps[1]));
    rows.push(
        Row::new(
            "j",
            "requests/s, 32 at once (gateway / straight)",
            format!("{r1:.0} / {r0:.0}"),
        )
        .ratio(r1 / r0, Some(Target::AtLeast(0.8))),
    );
    let (m0, m1) = (median(&mut mbs[0]), median(&mut mbs[1]));
    rows.push(
        Row::new(
            "j",
            "MB/s, 1 MiB answers, 8 at once (gateway / straight)",
            format!("{m1:.0} / {m0:.0}"),
        )
        .ratio(m1 / m0, Some(Target::AtLeast(0.8))),
    );
    for (kind, what) in [(0, "GET /"), (1, "GET /big (1 MiB)")] {
        let (s0, _) = cpu[kind][0].per_request();
        let (b1, g1) = cpu[kind][1].per_request();
        rows.push(
            Row::new(
                "j",
                format!(
                    "CPU per {what}, µs: straight / through opx gateway (bench process + gateway \
                     process); the ratio is the throughput the CPU allows"
                ),
                format!("{s0:.0} / {:.0} ({b1:.0} + {g1:.0})", b1 + g1),
            )
            .ratio(s0 / (b1 + g1), None),
        );
    }
    rows.push(tunnels(&gw).await);
    rows
}

/// 1,000 idle `CONNECT` tunnels through the gateway: its resident memory per tunnel.
async fn tunnels(gw: &Child) -> Row {
    const N: usize = 1000;
    let target = sink().await;
    let pid = gw.child.id().unwrap();
    let before = rss_kib(pid);
    let mut open = Vec::with_capacity(N);
    for _ in 0..N {
        let mut s = TcpStream::connect(&gw.addr).await.unwrap();
        let req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200", "tunnel {}", open.len());
        open.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let per = (rss_kib(pid).saturating_sub(before)) as f64 / N as f64;
    drop(open);
    Row::new(
        "j",
        "memory per idle CONNECT tunnel (1,000 open), KiB",
        format!("{per:.1}"),
    )
    .ratio(per, Some(Target::AtMost(64.0)))
}
