//! Memory per call is bounded by the caps: a counting global allocator measures the peak of
//! live heap bytes while one call runs against an oversized body.
//!
//! - The client, against a body that never ends (chunked) or announces more than the cap,
//!   holds at most `cap + CLIENT_OVERHEAD` bytes (about 1 MiB over the cap): the part of the
//!   body it read (never more than the cap plus the chunk that crossed it) and hyper's
//!   connection and read buffers.
//! - The mock, against a request body that never ends, holds at most
//!   `MAX_BODY + MOCK_OVERHEAD` bytes.
//!
//! The servers on the other side are plain threads that write one preallocated buffer over
//! and over, so they allocate nothing while measured. Tests share the counters: they take a
//! lock and run one at a time.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
    // `realloc` keeps the default: a new block, a copy, then the old block freed, so a growing
    // buffer counts the old and the new block at once (an upper bound on what it costs).
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `f` and returns the peak of live heap bytes above what was live when it started.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}

/// hyper's largest read buffer (`DEFAULT_MAX_BUFFER_SIZE`: 8 KiB + 100 x 4 KiB = 408 KiB).
const HYPER_MAX_READ_BUF: usize = 8192 + 4096 * 100;
/// What a client call holds beyond the cap, at most: the chunk that crossed the cap and
/// hyper's read buffer it was cut from, each at most [`HYPER_MAX_READ_BUF`], plus 200 KiB for
/// the connection, the request and the response head (1 MiB in all). Measured: 200-700 KiB.
const CLIENT_OVERHEAD: usize = 2 * HYPER_MAX_READ_BUF + 200 * 1024;
/// What the mock holds beyond its body bound: hyper's read buffer and the request being
/// routed (512 KiB). Measured: about 80 KiB.
const MOCK_OVERHEAD: usize = HYPER_MAX_READ_BUF + 104 * 1024;

const TOKEN: &str = "opx_live_0123456789abcdef0123456789abcdef";

/// A thread that answers every connection with `head`, then `chunk` until the peer hangs up.
fn endless_server(head: &'static [u8], chunk: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") && n < buf.len() {
                    match sock.read(&mut buf[n..]) {
                        Ok(0) | Err(_) => return,
                        Ok(k) => n += k,
                    }
                }
                if sock.write_all(head).is_err() {
                    return;
                }
                while sock.write_all(chunk).is_ok() {}
            });
        }
    });
    base
}

fn chunk_of_spaces() -> &'static [u8] {
    let mut c = format!("{:x}\r\n", 16 * 1024).into_bytes();
    c.extend(std::iter::repeat_n(b' ', 16 * 1024));
    c.extend_from_slice(b"\r\n");
    Box::leak(c.into_boxed_slice())
}

/// Lets the runtime finish dropping what the previous call left (its connection task), so that
/// nothing live at the start of a measurement is freed during it.
fn settle(rt: &tokio::runtime::Runtime) {
    rt.block_on(async { tokio::time::sleep(std::time::Duration::from_millis(100)).await });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A client for `base` with the test token and no retries.
fn client(base: &str) -> opx::ClientBuilder {
    opx::Client::builder()
        .token(TOKEN)
        .base_url(base)
        .retry_policy(opx::RetryPolicy::none())
}

/// The error of `GET /account` on `c` and the peak of live heap bytes during it, after a
/// warm-up call: the first call sets up what every later call reuses (TLS-free here, but the
/// runtime's and the resolver's lazy state).
fn account_peak(rt: &tokio::runtime::Runtime, c: &opx::Client) -> (opx::Error, usize) {
    let _ = rt.block_on(c.account());
    settle(rt);
    peak_during(|| rt.block_on(c.account()).unwrap_err())
}

#[test]
fn a_call_against_an_endless_body_holds_at_most_the_cap_plus_hyper_buffers() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let base = endless_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        chunk_of_spaces(),
    );
    let rt = runtime();
    for cap in [256 * 1024, 1_000_000, 4 * 1024 * 1024] {
        let c = client(&base).max_response_bytes(cap).build().unwrap();
        let (e, peak) = account_peak(&rt, &c);
        assert_eq!(e.kind(), opx::ErrorKind::BodyTooLarge, "{e:?}");
        assert!(
            peak <= cap + CLIENT_OVERHEAD,
            "cap {cap}: {peak} bytes live at the peak, {} over the cap",
            peak.saturating_sub(cap)
        );
        // The text download buffers the body itself: the same bound.
        let id: opx::types::ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse().unwrap();
        settle(&rt);
        let (e, peak) = peak_during(|| {
            rt.block_on(c.proxies_text(&id, &opx::types::ProxyQuery::new()))
                .unwrap_err()
        });
        assert_eq!(e.kind(), opx::ErrorKind::BodyTooLarge, "{e:?}");
        assert!(peak <= cap + CLIENT_OVERHEAD, "text, cap {cap}: {peak}");
    }
}

#[test]
fn a_huge_content_length_costs_no_body_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let base = endless_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000000000000\r\n\r\n",
        b"          ",
    );
    let rt = runtime();
    let (e, peak) = account_peak(&rt, &client(&base).build().unwrap());
    assert_eq!(e.kind(), opx::ErrorKind::BodyTooLarge, "{e:?}");
    assert!(peak <= CLIENT_OVERHEAD, "{peak} bytes for a refused body");
}

#[test]
fn the_mock_holds_at_most_its_body_bound_of_an_endless_request() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const MAX_BODY: usize = 64 * 1024;
    // The mock on its own runtime thread; the client here is a plain blocking socket that
    // writes one preallocated chunk over and over.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let s = opx::mock::MockServer::start().await;
            tx.send((s.addr(), s.token().to_owned())).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let (addr, token) = rx.recv().unwrap();
    let head = format!(
        "POST /api/v1/purchase HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let chunk = chunk_of_spaces();
    let mut answer = vec![0u8; 4096];
    let (status, peak) = peak_during(|| {
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_nonblocking(false).unwrap();
        sock.write_all(head.as_bytes()).unwrap();
        let mut reader = sock.try_clone().unwrap();
        let writer = std::thread::spawn(move || while sock.write_all(chunk).is_ok() {});
        let n = reader.read(&mut answer).unwrap();
        drop(reader);
        let _ = writer;
        String::from_utf8_lossy(&answer[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    });
    assert!(status.contains("400"), "{status:?}");
    assert!(
        peak <= MAX_BODY + MOCK_OVERHEAD,
        "{peak} bytes live at the peak"
    );
}
