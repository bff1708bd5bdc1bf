//! (h) `MockServer::start()` in-process: the first start of a process (a child run) and the
//! later ones (this process), beside the floor of any in-process HTTP mock (one loopback
//! listener and an axum server spawned on it); then `opx mock`'s time to its first line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opx::mock::MockServer;

use crate::support::{Opts, Row, Target, instructions, instructions_skipped, median, quantile};

/// Target of a later start, in ms.
const LATER_START_MS: f64 = 2.0;

fn one_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The child of the first-start figure (and of the instruction counts): `n` starts of a mock
/// in a fresh process, each stopped before the next; prints the first start's µs.
pub fn starts_child(n: usize) {
    let rt = one_thread();
    rt.block_on(async {
        for i in 0..n {
            let t = Instant::now();
            let server = MockServer::start().await;
            let took = t.elapsed();
            if i == 0 {
                println!("{}", took.as_secs_f64() * 1e6);
            }
            std::hint::black_box(server.base_url().len());
        }
    });
}

/// One loopback listener and an axum server on it, stopped by the returned sender: what any
/// in-process HTTP mock does at the least.
async fn floor_start() -> tokio::sync::oneshot::Sender<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    tx
}

fn first_start_us() -> f64 {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .args(["--starts", "1"])
        .output()
        .expect("run the first-start child");
    assert!(out.status.success(), "first-start child failed");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the child prints its µs")
}

pub fn case_h(opts: &Opts, rows: &mut Vec<Row>) {
    let rounds = opts.pick(10, 40);
    let per_round = opts.pick(20, 50);
    let rt = one_thread();
    // The process's first start happens here, before any sample.
    rt.block_on(async { drop(MockServer::start().await) });
    let (mut first, mut later, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let mock_first = r % 2 == 0;
        for turn in 0..2 {
            if (turn == 0) == mock_first {
                rt.block_on(async {
                    for _ in 0..per_round {
                        let t = Instant::now();
                        let server = MockServer::start().await;
                        later.push(t.elapsed().as_secs_f64() * 1e3);
                        drop(server);
                    }
                });
            } else {
                rt.block_on(async {
                    for _ in 0..per_round {
                        let t = Instant::now();
                        let stop = floor_start().await;
                        floor.push(t.elapsed().as_secs_f64() * 1e3);
                        let _ = stop.send(());
                    }
                });
            }
        }
        first.push(first_start_us() / 1e3);
    }
    let (later_med, later_p90) = (median(&mut later), quantile(&mut later, 0.9));
    let floor_med = median(&mut floor);
    rows.push(
        Row::new(
            "h",
            "`MockServer::start()`, second and later starts in one process",
            format!("median {later_med:.3} ms (p90 {later_p90:.3}); {rounds} x {per_round} starts"),
        )
        .ratio(later_med, Some(Target::AtMost(LATER_START_MS))),
    );
    rows.push(
        Row::new(
            "h",
            "floor: one loopback listener + an axum server spawned",
            format!("median {floor_med:.3} ms"),
        )
        .ratio(later_med / floor_med, None),
    );
    rows.push(Row::new(
        "h",
        "`MockServer::start()`, first start of a process (the spec's schemas compiled)",
        format!("median {:.2} ms; {rounds} child runs", median(&mut first)),
    ));
    instruction_rows(opts, rows);
    opx_mock_ready(opts, rows);
}

/// Instructions per later start: a child with `many` starts minus one with `few` (callgrind).
fn instruction_rows(opts: &Opts, rows: &mut Vec<Row>) {
    let (few, many) = (2, opts.pick(12, 42));
    let exe = std::env::current_exe().expect("current exe");
    let count = |n: usize| instructions(Command::new(&exe).args(["--starts", &n.to_string()]));
    let what = "instructions, `MockServer::start()`, later start";
    match (count(few), count(many)) {
        (Some(a), Some(b)) if b > a => {
            let per = (b - a) as f64 / (many - few) as f64;
            rows.push(Row::new(
                "h",
                what,
                format!(
                    "{:.2} M instructions/start (callgrind, {many} - {few} starts); first start + process {:.1} M",
                    per / 1e6,
                    (a as f64 - per * (few as f64 - 1.0)) / 1e6
                ),
            ));
        }
        _ => rows.push(instructions_skipped("h", what)),
    }
}

/// `opx mock --listen 127.0.0.1:0`: spawn to its first line (`listening on ...`).
fn opx_mock_ready(opts: &Opts, rows: &mut Vec<Row>) {
    let runs = opts.pick(10, 40);
    let mut ready = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_opx"))
            .args(["mock", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn opx mock");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read opx mock");
        ready.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(line.starts_with("listening on "), "{line:?}");
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(5));
    }
    rows.push(Row::new(
        "h",
        "`opx mock` ready: spawn to its `listening on` line (release build)",
        format!("median {:.2} ms; {runs} runs", median(&mut ready)),
    ));
}
