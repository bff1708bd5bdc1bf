//! (d) Parsing a 1,000,000-line proxy list in both layouts: MB/s, and allocations per line
//! counted by a global allocator wrapper in this binary.
//!
//! `cargo bench --bench proxy_parse [-- --full]`. The borrowed form ([`opx::proxies::ProxyLines`]) and
//! the owned form ([`opx::proxies::parse_list`]) are interleaved round by round.

mod support;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use opx::proxies::ProxyLines;
use opx::proxies::parse_list;
use opx::types::ProxyLayout;
use support::{Opts, Row, Target, median};

/// Counts allocations (and reallocations) made by this process.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers every operation to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// CPU time of this thread so far (`/proc/thread-self/schedstat`, nanoseconds): on a shared,
/// loaded machine it counts only the time this parser actually ran.
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

/// Lines per list: 1,000,000, or `OPX_BENCH_LINES` (e.g. smaller under valgrind).
fn lines() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("OPX_BENCH_LINES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000)
    })
}

/// A deterministic list shaped like the API's: gateway hosts, one port per service,
/// `opx` + 10 hex logins, 20 hex passwords, `\n` line ends.
fn list(layout: ProxyLayout) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hex = |n: usize| {
        let mut s = String::with_capacity(n);
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(char::from(b"0123456789abcdef"[(x & 15) as usize]));
        }
        s
    };
    let mut out = String::with_capacity(lines() * 64);
    let gws = ["nl", "de", "at"];
    for i in 0..lines() {
        let host = format!("{}.gw.op-proxy.com", gws[i % 3]);
        let port = 10_000 + (i % 50_000);
        let (login, password) = (format!("opx{}", hex(10)), hex(20));
        match layout {
            ProxyLayout::UserPassAtHostPort => {
                out.push_str(&format!("{login}:{password}@{host}:{port}\n"))
            }
            _ => out.push_str(&format!("{host}:{port}:{login}:{password}\n")),
        }
    }
    out
}

support::variants! {
    /// The forms a list is parsed into, side by side.
    enum Form {
        /// `ProxyLines::with_layout`: the layout is known.
        Borrowed => "borrowed `ProxyLines::with_layout`",
        /// `ProxyLines::new`: the layout is guessed line by line.
        Guessing => "borrowed `ProxyLines::new` (layout guessed)",
        /// `parse_list`: a `Vec<ProxyEndpointBuf>`.
        Owned => "owned `parse_list`",
    }
}

/// One pass; returns a checksum so nothing is optimized away.
fn pass(form: Form, text: &str, layout: ProxyLayout) -> usize {
    match form {
        Form::Borrowed | Form::Guessing => {
            let iter = if form == Form::Borrowed {
                ProxyLines::with_layout(text, layout)
            } else {
                ProxyLines::new(text)
            };
            let mut sum = 0usize;
            let mut n = 0usize;
            for e in iter {
                let e = e.expect("a valid line");
                sum += usize::from(e.port()) + e.host().len() + e.password().map_or(0, str::len);
                n += 1;
            }
            assert_eq!(n, lines());
            sum
        }
        Form::Owned => {
            let v = parse_list(text, Some(layout)).expect("a valid list");
            assert_eq!(v.len(), lines());
            v.iter().map(|e| usize::from(e.port())).sum()
        }
    }
}

fn main() {
    let opts = Opts::from_args();
    if !opts.wants("d") {
        return;
    }
    let rounds = std::env::var("OPX_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(opts.pick(5, 15));
    const FORMS: [Form; 3] = Form::ALL;
    let mut rows = Vec::new();
    for (layout, lname) in [
        (ProxyLayout::HostPortUserPass, "host:port:login:password"),
        (ProxyLayout::UserPassAtHostPort, "login:password@host:port"),
    ] {
        let text = list(layout);
        let mb = text.len() as f64 / 1e6;
        let mut secs: Vec<Vec<f64>> = vec![Vec::new(); FORMS.len()];
        let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); FORMS.len()];
        let mut allocs = [0u64; 3];
        let mut bytes = [0u64; 3];
        for f in FORMS {
            std::hint::black_box(pass(f, &text, layout));
        }
        for r in 0..rounds {
            for i in 0..FORMS.len() {
                let k = (i + r) % FORMS.len();
                // The counters bracket the pass alone (reading /proc allocates).
                let c0 = thread_cpu();
                let (a0, b0) = (
                    ALLOCS.load(Ordering::Relaxed),
                    BYTES.load(Ordering::Relaxed),
                );
                let t = Instant::now();
                std::hint::black_box(pass(FORMS[k], std::hint::black_box(&text), layout));
                let elapsed = t.elapsed().as_secs_f64();
                allocs[k] += ALLOCS.load(Ordering::Relaxed) - a0;
                bytes[k] += BYTES.load(Ordering::Relaxed) - b0;
                let c1 = thread_cpu();
                secs[k].push(elapsed);
                if let (Some(c0), Some(c1)) = (c0, c1) {
                    cpu[k].push(c1 - c0);
                }
            }
        }
        for (k, f) in FORMS.iter().enumerate() {
            let wall = median(&mut secs[k]);
            // CPU time when the kernel reports it (it excludes time other processes held the
            // core), wall time otherwise.
            let s = if cpu[k].is_empty() {
                wall
            } else {
                median(&mut cpu[k])
            };
            let total = (lines() * rounds) as f64;
            let per_line = allocs[k] as f64 / total;
            let mut row = Row::new(
                "d",
                format!("{lname}, {}", f.name()),
                format!(
                    "{:.0} MB/s of CPU time ({:.0} MB/s wall; {:.1} ms CPU per {mb:.0} MB, {:.1} M lines/s); {per_line:.3} allocs/line, {:.1} B/line",
                    mb / s,
                    mb / wall,
                    s * 1e3,
                    lines() as f64 / s / 1e6,
                    bytes[k] as f64 / total
                ),
            );
            if *f == Form::Borrowed {
                row = row.ratio(mb / s, Some(Target::AtLeast(300.0)));
            }
            rows.push(row);
            if *f == Form::Borrowed {
                rows.push(
                    Row::new("d", format!("{lname}, borrowed: allocations per line"), "")
                        .ratio(per_line, Some(Target::AtMost(0.0))),
                );
            }
        }
    }
    support::report(&rows);
}
