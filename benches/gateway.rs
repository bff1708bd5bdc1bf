//! (j) `opx gateway` against going straight through the mock's gateway, side by side in one
//! run, like for like: each new upstream connection is a new exit, so a gateway that rotates
//! (a new upstream connection per request, its default) is compared with a direct client that
//! opens a new connection per request, and a gateway sticky session (one kept upstream
//! connection) with a direct client that keeps its connections alive. Per variant: the latency
//! of one request at a time (p50, p99), requests per second and MB/s under concurrency, and CPU
//! per request; then the memory of 1,000 idle `CONNECT` tunnels.
//!
//! The mock (API and gateways) and a loopback web server run in this process; `opx gateway`
//! runs as a child process (the release binary), so its memory is its own. Variants are
//! interleaved round by round.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use base64::Engine;
use futures::future::join_all;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
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

/// The peers (exit address and port) the page server saw.
type Seen = Arc<Mutex<HashSet<SocketAddr>>>;

/// A page server: `/` answers `ok` (and notes its peer), `/big` 1 MiB.
async fn web() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let big = bytes::Bytes::from(vec![b'x'; BIG]);
    let seen = Seen::default();
    let noted = seen.clone();
    let app = Router::new()
        .route(
            "/",
            get(
                move |ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                    noted.lock().unwrap().insert(peer);
                    "ok"
                },
            ),
        )
        .route("/big", get(move || async move { big.clone() }));
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

/// A TCP server that holds every connection open (the far end of idle tunnels).
async fn sink() -> SocketAddr {
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

/// How a variant sends its requests.
enum Via {
    /// reqwest, through a proxy; with `sessions`, each concurrent loop in its own sticky
    /// session of the gateway (`X-Opx-Session`), as each of a keep-alive client's connections
    /// is its own.
    Reqwest {
        client: reqwest::Client,
        sessions: bool,
    },
    /// One `CONNECT` tunnel through the mock's gateway per concurrent loop, kept open: HTTP/1
    /// requests inside it (what a direct client that wants one exit for many requests does).
    Tunnels(Vec<tokio::sync::Mutex<SendRequest<Empty<bytes::Bytes>>>>),
}

/// A client of the benchmark.
struct Variant {
    name: &'static str,
    via: Via,
}

impl Variant {
    fn new(name: &'static str, client: reqwest::Client, sessions: bool) -> Self {
        let via = Via::Reqwest { client, sessions };
        Variant { name, via }
    }

    /// A GET of `url` by concurrent loop `task`: the length of the answer's body.
    async fn get(&self, task: usize, url: &str) -> usize {
        match &self.via {
            Via::Reqwest { client, sessions } => {
                let mut r = client.get(url);
                if *sessions {
                    r = r.header("x-opx-session", format!("bench{task}"));
                }
                let r = r.send().await.unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap().len()
            }
            Via::Tunnels(tunnels) => {
                let mut sender = tunnels[task].lock().await;
                let uri: http::Uri = url.parse().unwrap();
                let req = http::Request::get(uri.path())
                    .header(http::header::HOST, uri.authority().unwrap().as_str())
                    .body(Empty::new())
                    .unwrap();
                sender.ready().await.unwrap();
                let r = sender.send_request(req).await.unwrap();
                assert!(r.status().is_success());
                r.into_body().collect().await.unwrap().to_bytes().len()
            }
        }
    }
}

/// `n` `CONNECT` tunnels to `target` through the proxy `proxy_url` (with its credentials),
/// each an HTTP/1 connection.
async fn kept_tunnels(proxy_url: &str, target: SocketAddr, n: usize) -> Via {
    let url = reqwest::Url::parse(proxy_url).unwrap();
    let (user, password) = (url.username(), url.password().unwrap_or(""));
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let gateway = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let s = tunnel_through(&gateway, target, Some(&auth)).await;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
            .await
            .unwrap();
        tokio::spawn(conn);
        out.push(tokio::sync::Mutex::new(sender));
    }
    Via::Tunnels(out)
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

/// A `CONNECT` tunnel to `target` through the proxy at `proxy` (`Basic` credentials `auth`,
/// if any), its answer's head read.
async fn tunnel_through(proxy: &str, target: SocketAddr, auth: Option<&str>) -> TcpStream {
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = auth {
        req += &format!("Proxy-Authorization: Basic {auth}\r\n");
    }
    s.write_all(format!("{req}\r\n").as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(s.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
    s
}

/// Per-request latencies of `n` sequential GETs, in microseconds.
async fn latencies(v: &Variant, url: &str, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        v.get(0, url).await;
        out.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    out
}

/// Requests completed per second and MB read per second by `tasks` loops of GETs during
/// `window`, and the number of requests.
async fn load(v: &Variant, url: &str, tasks: usize, window: Duration) -> (f64, f64, u64) {
    let end = Instant::now() + window;
    let runs = (0..tasks).map(|task| async move {
        let (mut n, mut bytes) = (0u64, 0u64);
        while Instant::now() < end {
            bytes += v.get(task, url).await as u64;
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

/// The variants, by index.
const KEEP_ALIVE: usize = 0;
const NEW_CONNECTION: usize = 1;
const TUNNEL: usize = 2;
const ROTATING: usize = 3;
const STICKY: usize = 4;

/// The comparisons: (straight, through the gateway, what the pair is).
const PAIRS: [(usize, usize, &str); 4] = [
    (
        NEW_CONNECTION,
        ROTATING,
        "rotation: straight new connection per request / gateway rotating",
    ),
    (
        TUNNEL,
        STICKY,
        "one exit per connection: straight kept CONNECT tunnels / gateway sticky sessions",
    ),
    (
        KEEP_ALIVE,
        STICKY,
        "straight keep-alive / gateway sticky sessions",
    ),
    (
        KEEP_ALIVE,
        ROTATING,
        "straight keep-alive / gateway rotating (the earlier row)",
    ),
];

/// What was measured of one variant.
#[derive(Default)]
struct Measured {
    lat: Vec<f64>,
    rps: Vec<f64>,
    mbs: Vec<f64>,
    /// [GET /, GET /big]
    cpu: [Cpu; 2],
    /// Distinct exit addresses and connections the page server saw, summed over the rounds'
    /// one-at-a-time GETs.
    exits: usize,
    connections: usize,
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
    let (page, seen) = web().await;
    let gw = opx_gateway(&server).await;
    let local = format!("http://{}", gw.addr);
    let new_connection = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(&direct_url).unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let variants = [
        Variant::new("straight, keep-alive", through(&direct_url), false),
        Variant::new(
            "straight, new connection per request",
            new_connection,
            false,
        ),
        Variant {
            name: "straight, a kept CONNECT tunnel per connection",
            via: kept_tunnels(&direct_url, page, 32).await,
        },
        Variant::new(
            "through opx gateway, rotating (default)",
            through(&local),
            false,
        ),
        Variant::new(
            "through opx gateway, sticky sessions",
            through(&local),
            true,
        ),
    ];
    let small = format!("http://{page}/");
    let big = format!("http://{page}/big");
    let rounds = opts.pick(6, 20);
    let (per_round, window) = (
        opts.pick(200, 500),
        Duration::from_millis(opts.pick(600, 1500)),
    );
    let mut m: [Measured; 5] = Default::default();
    let child = gw.child.id().unwrap().to_string();
    let both = || (cpu_us("self"), cpu_us(&child));
    for v in &variants {
        latencies(v, &small, 20).await; // warm-up
    }
    for r in 0..rounds {
        for i in 0..variants.len() {
            let k = (i + r) % variants.len();
            let v = &variants[k];
            seen.lock().unwrap().clear();
            m[k].lat.extend(latencies(v, &small, per_round).await);
            {
                let seen = seen.lock().unwrap();
                m[k].connections += seen.len();
                m[k].exits += seen.iter().map(|a| a.ip()).collect::<HashSet<_>>().len();
            }
            for (kind, url, tasks) in [(0, &small, 32), (1, &big, 8)] {
                let before = both();
                let (r, mb, n) = load(v, url, tasks, window).await;
                let after = both();
                let used = &mut m[k].cpu[kind];
                used.bench_us += after.0 - before.0;
                used.gateway_us += after.1 - before.1;
                used.requests += n;
                if kind == 0 {
                    m[k].rps.push(r);
                } else {
                    m[k].mbs.push(mb);
                }
            }
        }
    }
    let mut rows = Vec::new();
    for (k, v) in variants.iter().enumerate() {
        let lat = &mut m[k].lat;
        let (p50, p99) = (quantile(lat, 0.5), quantile(lat, 0.99));
        let (rps, mbs) = (median(&mut m[k].rps), median(&mut m[k].mbs));
        let [(b0, g0), (b1, g1)] = [m[k].cpu[0].per_request(), m[k].cpu[1].per_request()];
        let per = |n: usize| n as f64 / rounds as f64;
        rows.push(Row::new(
            "j",
            format!(
                "{}: exits / connections the page server saw per {per_round} GETs one at a time",
                v.name
            ),
            format!("{:.0} / {:.0}", per(m[k].exits), per(m[k].connections)),
        ));
        rows.push(Row::new(
            "j",
            format!("{}: GET / one at a time, p50 / p99", v.name),
            format!("{p50:.0} / {p99:.0} µs"),
        ));
        rows.push(Row::new(
            "j",
            format!(
                "{}: requests/s (32 at once), MB/s (1 MiB, 8 at once)",
                v.name
            ),
            format!("{rps:.0} req/s, {mbs:.0} MB/s"),
        ));
        rows.push(Row::new(
            "j",
            format!(
                "{}: CPU per GET /, per GET /big, µs (bench process + gateway process)",
                v.name
            ),
            format!(
                "{:.0} ({b0:.0} + {g0:.0}), {:.0} ({b1:.0} + {g1:.0})",
                b0 + g0,
                b1 + g1
            ),
        ));
    }
    for (s, t, what) in PAIRS {
        rows.extend(pair(&mut m, s, t, what));
    }
    rows.push(tunnels(&gw).await);
    rows
}

/// The rows comparing straight variant `s` with gateway variant `t`.
fn pair(m: &mut [Measured; 5], s: usize, t: usize, what: &str) -> Vec<Row> {
    let p = |m: &mut [Measured; 5], k: usize, q: f64| quantile(&mut m[k].lat, q);
    let added50 = (p(m, t, 0.5) - p(m, s, 0.5)) / 1e3;
    let added99 = (p(m, t, 0.99) - p(m, s, 0.99)) / 1e3;
    let (r0, r1) = (median(&mut m[s].rps), median(&mut m[t].rps));
    let (m0, m1) = (median(&mut m[s].mbs), median(&mut m[t].mbs));
    let mut rows = vec![
        Row::new(
            "j",
            format!("{what}: added latency p50 / p99 (ms)"),
            format!("{added50:.2} / {added99:.2}"),
        )
        .ratio(added99, Some(Target::AtMost(1.0))),
        Row::new(
            "j",
            format!("{what}: requests/s, 32 at once (gateway / straight)"),
            format!("{r1:.0} / {r0:.0}"),
        )
        .ratio(r1 / r0, Some(Target::AtLeast(0.8))),
        Row::new(
            "j",
            format!("{what}: MB/s, 1 MiB answers, 8 at once (gateway / straight)"),
            format!("{m1:.0} / {m0:.0}"),
        )
        .ratio(m1 / m0, Some(Target::AtLeast(0.8))),
    ];
    for (kind, req) in [(0, "GET /"), (1, "GET /big")] {
        let (s0, sg) = m[s].cpu[kind].per_request();
        let (b1, g1) = m[t].cpu[kind].per_request();
        rows.push(
            Row::new(
                "j",
                format!(
                    "{what}: CPU per {req}, µs, straight / through (bench + gateway process); \
                     the ratio is the throughput the CPU allows"
                ),
                format!("{:.0} / {:.0} ({b1:.0} + {g1:.0})", s0 + sg, b1 + g1),
            )
            .ratio((s0 + sg) / (b1 + g1), None),
        );
    }
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
        open.push(tunnel_through(&gw.addr, target, None).await);
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
