//! Limits against hostile servers on 127.0.0.1: an endless body, a huge Content-Length,
//! headers that never end, a server that accepts and never answers, a body that trickles, a
//! listener that never completes the handshake. Each time the client returns a typed error in
//! bounded time, having read no more than the size cap; and POSTs that spend money are sent
//! once, on a connection of their own.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::fixtures::ipv4_purchase;
use opx::types::ProxyQuery;
use opx::{Client, ErrorKind, RetryPolicy};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const TOKEN: &str = "opx_live_0123456789abcdef0123456789abcdef";
const SID: &str = "65aa1100b2c3d4e5f6a7b8d0";
/// No hostile connection is served longer than this, whatever the client does.
const SERVER_BOUND: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// A chunked 200 whose body never ends, sent as fast as the client reads.
    EndlessBody,
    /// `Content-Length: 10^15`, one byte of body, then nothing.
    HugeContentLength,
    /// Reads the request, never answers.
    Silent,
    /// Answers the first request of a connection (a valid account, kept alive), then reads the
    /// next one and never answers it.
    SilentAfterOne,
    /// A status line, then header lines forever, as fast as possible.
    EndlessHeadersFast,
    /// A status line, then one header line every 20 ms, forever.
    EndlessHeadersSlow,
    /// A valid head announcing 1,000 bytes, then one byte every 50 ms.
    TricklingBody,
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    bytes_written: AtomicU64,
    /// The client hung up (a write failed) before the server's own bound.
    client_hung_up: AtomicBool,
}

/// The send buffer of the hostile servers' sockets (the kernel doubles it): small, so that
/// what they manage to write is what the client read plus little more than socket buffers.
const SERVER_SNDBUF: u32 = 16 * 1024;

async fn hostile(kind: Hostile) -> (String, Arc<Stats>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    // Accepted sockets inherit the listener's send buffer size.
    socket.set_send_buffer_size(SERVER_SNDBUF).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1024).unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let stats = Arc::new(Stats::default());
    let st = stats.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            st.connections.fetch_add(1, Ordering::SeqCst);
            let st = st.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(SERVER_BOUND, serve(sock, kind, &st)).await;
            });
        }
    });
    (base, stats)
}

async fn read_head(sock: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
        if buf.len() > 1 << 20 {
            return false;
        }
    }
    true
}

async fn serve(mut sock: TcpStream, kind: Hostile, st: &Stats) {
    if !read_head(&mut sock).await {
        return;
    }
    if let Hostile::SilentAfterOne = kind {
        let body = serde_json::json!({"status": "ok", "data": {
            "username": "alice", "email": "alice@example.com", "balance": 1500, "currency": "RUB"
        }})
        .to_string();
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if sock.write_all(answer.as_bytes()).await.is_err() || !read_head(&mut sock).await {
            return;
        }
        return tokio::time::sleep(SERVER_BOUND).await;
    }
    let mut write = async |bytes: &[u8]| -> bool {
        match sock.write_all(bytes).await {
            Ok(()) => {
                st.bytes_written
                    .fetch_add(bytes.len() as u64, Ordering::SeqCst);
                true
            }
            Err(_) => {
                st.client_hung_up.store(true, Ordering::SeqCst);
                false
            }
        }
    };
    match kind {
        Hostile::EndlessBody => {
            if !write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n").await {
                return;
            }
            let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
            chunk.extend(std::iter::repeat_n(b' ', 64 * 1024));
            chunk.extend_from_slice(b"\r\n");
            while write(&chunk).await {}
        }
        Hostile::HugeContentLength => {
            write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000000000000\r\n\r\n{").await;
            tokio::time::sleep(SERVER_BOUND).await;
        }
        Hostile::Silent | Hostile::SilentAfterOne => tokio::time::sleep(SERVER_BOUND).await,
        Hostile::EndlessHeadersFast | Hostile::EndlessHeadersSlow => {
            if !write(b"HTTP/1.1 200 OK\r\n").await {
                return;
            }
            let mut i = 0u64;
            loop {
                i += 1;
                if !write(format!("x-h{i}: {}\r\n", "a".repeat(64)).as_bytes()).await {
                    return;
                }
                if matches!(kind, Hostile::EndlessHeadersSlow) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        Hostile::TricklingBody => {
            if !write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n").await {
                return;
            }
            loop {
                if !write(b" ").await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn client(base: &str) -> opx::ClientBuilder {
    Client::builder()
        .token(TOKEN)
        .base_url(base)
        .retry_policy(RetryPolicy::none())
}

/// Calls `GET /account`, which must fail: the error, and how long it took on tokio's clock
/// (virtual time in the paused tests, wall time in the others).
async fn failed_account(c: &Client) -> (opx::Error, Duration) {
    let t0 = tokio::time::Instant::now();
    let e = c.account().await.unwrap_err();
    (e, t0.elapsed())
}

/// [`failed_account`] against a fresh hostile server of `kind`, with an overall `timeout`.
async fn account_against(kind: Hostile, timeout: Duration) -> (opx::Error, Duration, Arc<Stats>) {
    let (base, stats) = hostile(kind).await;
    let c = client(&base).timeout(timeout).build().unwrap();
    let (e, took) = failed_account(&c).await;
    (e, took, stats)
}

/// A listening socket with a backlog of 0 that never accepts, its queue filled: the kernel drops
/// further SYNs, so a connect hangs. Blocking connects (real time, which a paused clock cannot
/// cut short); keep the returned connections alive while the listener is used.
fn unaccepting_listener() -> (tokio::net::TcpListener, Vec<std::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    (listener, fillers)
}

/// hyper's largest read buffer (`DEFAULT_MAX_BUFFER_SIZE` = 8 KiB + 100 x 4 KiB), which is
/// also its limit on a response head.
const HYPER_MAX_READ_BUF: u64 = 8192 + 4096 * 100;

/// The kernel's initial TCP receive buffer (`net.ipv4.tcp_rmem`, second field; 128 KiB by
/// default on Linux).
pub(crate) fn tcp_rmem_default() -> u64 {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_rmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(128 * 1024)
}

/// What a hostile server can write beyond what the client read, on loopback: the server's
/// send buffer (asked [`SERVER_SNDBUF`], doubled by the kernel), the client's receive buffer
/// (its initial size, doubled for autotuning headroom) and hyper's read buffer. About 700 KiB
/// with Linux's defaults.
fn in_flight_slack() -> u64 {
    2 * u64::from(SERVER_SNDBUF) + 2 * tcp_rmem_default() + HYPER_MAX_READ_BUF
}

/// Waits until the server noticed the client hang up; `false` if it has not within a minute
/// (a bound that only turns "never" into a failure: it takes milliseconds).
async fn hung_up(stats: &Stats) -> bool {
    for _ in 0..6000 {
        if stats.client_hung_up.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// [`hostile`] on a thread of its own with its own (real-time) runtime, for tests whose own
/// clock is paused: the server's bounds then run on wall time, the client's on virtual time.
fn hostile_elsewhere(kind: Hostile) -> (String, Arc<Stats>) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            tx.send(hostile(kind).await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

/// The default overall timeout (30 s) is applied: against a server that never answers, a
/// client built without `.timeout(..)` gives up after exactly 30 s of (paused, auto-advanced)
/// time, not earlier and not never. The connection is made, and used once, before the clock
/// is paused: a paused clock advances whenever the runtime waits, also on a connect still in
/// progress, which would then meet the 10 s connect timeout first. The timed call rides the
/// pooled connection, so the one thing it waits for is the answer.
#[tokio::test]
async fn the_default_overall_timeout_is_30_seconds() {
    let (base, stats) = hostile_elsewhere(Hostile::SilentAfterOne);
    let c = client(&base).build().unwrap();
    c.account().await.unwrap();
    tokio::time::pause();
    let (e, waited) = failed_account(&c).await;
    assert_eq!(
        stats.connections.load(Ordering::SeqCst),
        1,
        "one connection"
    );
    assert!(e.is_timeout() && e.is_transport(), "{e:?}");
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
        "{waited:?}"
    );
}

/// The default connect timeout (10 s) is applied: a listener whose backlog is full never
/// completes the handshake, and the client gives up after 10 s, before the 30 s overall one.
#[tokio::test(start_paused = true)]
async fn the_default_connect_timeout_is_10_seconds() {
    let (listener, _fillers) = unaccepting_listener();
    let c = client(&format!("http://{}/api/v1", listener.local_addr().unwrap()));
    let (e, waited) = failed_account(&c.build().unwrap()).await;
    assert!(e.is_timeout() && e.is_transport(), "{e:?}");
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "{waited:?}"
    );
    drop(listener);
}

/// A server that answers every request with a valid account envelope padded with spaces to
/// exactly `len` bytes, announced in `Content-Length`.
async fn sized_account(len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                if !read_head(&mut sock).await {
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
                );
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut body = serde_json::json!({"status": "ok", "data": {
                    "username": "alice", "email": "alice@example.com", "balance": 1500, "currency": "RUB"
                }})
                .to_string()
                .into_bytes();
                body.resize(len, b' ');
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    base
}

/// The default size cap is 16 MiB, exactly: a body of 16 MiB is read, one byte more is refused
/// (from its `Content-Length`, before reading).
#[tokio::test]
async fn the_default_size_cap_is_16_mib_exactly() {
    assert_eq!(
        opx::ClientBuilder::DEFAULT_MAX_RESPONSE_BYTES,
        16 * 1024 * 1024
    );
    let at_cap = sized_account(opx::ClientBuilder::DEFAULT_MAX_RESPONSE_BYTES).await;
    let a = client(&at_cap).build().unwrap().account().await.unwrap();
    assert_eq!(a.balance, 1500);
    let over = sized_account(opx::ClientBuilder::DEFAULT_MAX_RESPONSE_BYTES + 1).await;
    let e = client(&over).build().unwrap().account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{e:?}");
}

#[tokio::test]
async fn an_endless_body_stops_at_the_cap() {
    let cap = 256 * 1024;
    let (base, stats) = hostile(Hostile::EndlessBody).await;
    let c = client(&base).max_response_bytes(cap).build().unwrap();
    let t0 = Instant::now();
    let e = c.account().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{e:?}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(200));
    assert!(e.to_string().contains("cap"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    // The client hung up rather than reading on: the server's writes failed, having sent no
    // more than the cap plus what loopback socket buffers hold.
    assert!(hung_up(&stats).await, "the client kept the connection open");
    let written = stats.bytes_written.load(Ordering::SeqCst);
    assert!(
        written <= cap as u64 + in_flight_slack(),
        "{written} bytes written for a cap of {cap} (slack {})",
        in_flight_slack()
    );

    // The same for the text download, which buffers the body itself.
    let (base, stats) = hostile(Hostile::EndlessBody).await;
    let c = client(&base).max_response_bytes(cap).build().unwrap();
    let e = c
        .proxies_text(&SID.parse().unwrap(), &ProxyQuery::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{e:?}");
    assert!(hung_up(&stats).await);
}

#[tokio::test]
async fn an_endless_body_on_a_purchase_is_done_unread_and_not_resent() {
    let (base, stats) = hostile(Hostile::EndlessBody).await;
    let c = client(&base)
        .max_response_bytes(64 * 1024)
        .retry_policy(RetryPolicy::default().max_attempts(5))
        .build()
        .unwrap();
    let e = c.purchase(&ipv4_purchase()).await.unwrap_err();
    // The head said 200: the server did it, whatever the body; never "not charged".
    assert!(e.is_committed() && e.charged() == Some(true), "{e:?}");
    assert_eq!(stats.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_huge_content_length_is_refused_before_reading() {
    // Even with the overall timeout far away, the answer is immediate.
    let (e, took, _) = account_against(Hostile::HugeContentLength, Duration::from_secs(60)).await;
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (e, took, _) = account_against(Hostile::Silent, Duration::from_millis(300)).await;
    assert!(e.is_timeout() && e.is_transport(), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert!(took < Duration::from_secs(3), "{took:?}");

    // Retries of an idempotent call are bounded too: attempts x timeout + backoff.
    let (base, _stats) = hostile(Hostile::Silent).await;
    let c = client(&base)
        .timeout(Duration::from_millis(200))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let t0 = Instant::now();
    assert!(c.account().await.unwrap_err().is_timeout());
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());

    // A purchase, an extension or a credentials reset that times out: outcome unknown, sent
    // once, whatever the retry policy allows.
    let req = ipv4_purchase();
    let sid: opx::types::ServiceId = SID.parse().unwrap();
    for op in ["purchase", "extend", "regenerate_credentials"] {
        let (base, stats) = hostile(Hostile::Silent).await;
        let c = client(&base)
            .timeout(Duration::from_millis(300))
            .retry_policy(RetryPolicy::default().max_attempts(5))
            .build()
            .unwrap();
        let e = match op {
            "purchase" => c.purchase(&req).await.unwrap_err(),
            "extend" => c.extend(&sid).await.unwrap_err(),
            _ => c.regenerate_credentials(&sid).await.unwrap_err(),
        };
        assert!(e.is_outcome_unknown() && e.is_timeout(), "{op}: {e:?}");
        assert_eq!(stats.connections.load(Ordering::SeqCst), 1, "{op}");
    }
}

#[tokio::test]
async fn headers_that_never_end_fail_fast_or_time_out() {
    // As fast as possible: the HTTP parser's head limit trips long before any timeout.
    let (e, took, stats) =
        account_against(Hostile::EndlessHeadersFast, Duration::from_secs(60)).await;
    assert_eq!(e.kind(), ErrorKind::Transport, "{e:?}");
    assert!(!e.is_timeout(), "{e:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(hung_up(&stats).await);
    let written = stats.bytes_written.load(Ordering::SeqCst);
    assert!(
        written <= HYPER_MAX_READ_BUF + in_flight_slack(),
        "{written} bytes of head written"
    );

    // Slowly: the overall timeout covers the head too.
    let (e, took, _) =
        account_against(Hostile::EndlessHeadersSlow, Duration::from_millis(400)).await;
    assert!(e.is_timeout(), "{e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_trickling_body_is_cut_by_the_overall_timeout() {
    let (e, took, _) = account_against(Hostile::TricklingBody, Duration::from_millis(400)).await;
    assert!(e.is_timeout() && e.is_transport(), "{e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_listener_that_never_completes_the_handshake_hits_the_connect_timeout() {
    let (listener, _fillers) = unaccepting_listener();
    let c = client(&format!("http://{}/api/v1", listener.local_addr().unwrap()))
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let (e, took) = failed_account(&c).await;
    assert!(e.is_transport(), "{e:?}");
    assert!(e.is_timeout(), "{e:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(listener);
}

/// A keep-alive server: answers every request with `{"status":"ok",...}` and keeps the
/// connection open; records which connection each request came on.
async fn keep_alive_server() -> (String, Arc<Mutex<Vec<(usize, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    tokio::spawn(async move {
        let mut conn = 0;
        while let Ok((mut sock, _)) = listener.accept().await {
            conn += 1;
            let (s, id) = (s.clone(), conn);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                for _ in 0..100 {
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let len: usize = head
                        .lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    let line = head.lines().next().unwrap_or("").to_owned();
                    let data = if line.starts_with("GET /api/v1/account") {
                        serde_json::json!({"username": "alice", "email": "alice@example.com", "balance": 1500, "currency": "RUB"})
                    } else {
                        serde_json::json!({
                            "service_id": SID, "type": "ipv4_rotating", "threads": 100,
                            "expires_at": "2026-06-17T12:34:56.000Z", "country": "mixed",
                            "rotation": "instant", "auth": {"login": "alice", "password": "pw"},
                            "whitelist": []
                        })
                    };
                    let body = serde_json::json!({"status": "ok", "data": data}).to_string();
                    s.lock().unwrap().push((id, line));
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, seen)
}

#[tokio::test]
async fn money_spending_posts_never_ride_a_reused_connection() {
    let (base, seen) = keep_alive_server().await;
    let c = client(&base).build().unwrap();
    c.account().await.unwrap();
    c.account().await.unwrap();
    let req = ipv4_purchase();
    c.purchase(&req).await.unwrap();
    c.account().await.unwrap();
    c.extend(&SID.parse().unwrap()).await.unwrap();
    c.purchase(&req).await.unwrap();
    c.regenerate_credentials(&SID.parse().unwrap())
        .await
        .unwrap();
    c.account().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 8, "{seen:?}");
    let conn_of = |i: usize| seen[i].0;
    // The GETs share a pooled connection (so reuse is real here)...
    assert_eq!(conn_of(0), conn_of(1), "{seen:?}");
    assert_eq!(conn_of(0), conn_of(7), "{seen:?}");
    // ...and every POST has a connection nobody else used.
    let posts = [
        (2, "/purchase"),
        (4, "/extend"),
        (5, "/purchase"),
        (6, "/credentials"),
    ];
    for (post, path) in posts {
        assert!(seen[post].1.starts_with("POST"), "{seen:?}");
        assert!(seen[post].1.contains(path), "{seen:?}");
        let shared = seen
            .iter()
            .enumerate()
            .any(|(j, (c, _))| j != post && *c == conn_of(post));
        assert!(!shared, "POST #{post} shared a connection: {seen:?}");
    }
}
