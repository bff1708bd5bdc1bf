//! A tiny scripted HTTP/1.1 server on 127.0.0.1 for transport-level tests: each request gets the
//! next scripted reply (or the default), and every request is recorded. Include
//! `support/fixtures.rs` as `fixtures` beside it.

#![allow(dead_code)]

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

pub const TOKEN: &str = "opx_live_0123456789abcdef0123456789abcdef";

#[derive(Clone, Debug)]
pub enum Reply {
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without answering.
    Drop,
    /// Send the head with a Content-Length larger than the body, then close.
    Truncated { status: u16, body: Vec<u8> },
    /// Wait, then reply.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Reply::Http {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }
    pub fn json(status: u16, v: serde_json::Value) -> Self {
        Self::raw(status, "application/json", v.to_string())
    }
    pub fn ok(data: serde_json::Value) -> Self {
        Self::json(200, serde_json::json!({"status": "ok", "data": data}))
    }
    pub fn error(status: u16, code: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({"status": "error", "error": {"code": code, "message": format!("{code} happened")}}),
        )
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((k.into(), v.into()));
        }
        self
    }
    /// This reply, after a delay.
    pub fn delayed(self, by: Duration) -> Self {
        Reply::Delay(by, Box::new(self))
    }
    pub fn rate(self, limit: u32, remaining: u32, reset: u64) -> Self {
        self.header("x-ratelimit-limit", &limit.to_string())
            .header("x-ratelimit-remaining", &remaining.to_string())
            .header("x-ratelimit-reset", &reset.to_string())
    }
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        let (_, v) = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))?;
        Some(v)
    }
}

struct State {
    script: VecDeque<Reply>,
    default: Reply,
    seen: Vec<Seen>,
}

#[derive(Clone)]
pub struct Scripted {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

impl Scripted {
    pub async fn start(default: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            script: VecDeque::new(),
            default,
            seen: Vec::new(),
        }));
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, st.clone()));
            }
        });
        Self {
            base_url: format!("http://{addr}/api/v1"),
            state,
        }
    }
    pub fn push(&self, r: Reply) -> &Self {
        self.state.lock().unwrap().script.push_back(r);
        self
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().seen.len()
    }
    pub fn client(&self) -> opx::ClientBuilder {
        opx::Client::builder()
            .token(TOKEN)
            .base_url(&self.base_url)
            .retry_policy(
                opx::RetryPolicy::default()
                    .base_delay(Duration::from_millis(1))
                    .max_delay(Duration::from_millis(5)),
            )
    }
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_owned();
    let target = first.next().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&tmp[..n]),
        }
    }
    let reply = {
        let mut st = state.lock().unwrap();
        st.seen.push(Seen {
            method,
            target,
            headers,
            body,
        });
        let d = st.default.clone();
        st.script.pop_front().unwrap_or(d)
    };
    write_reply(&mut sock, reply).await;
}

async fn write_reply(sock: &mut TcpStream, mut reply: Reply) {
    while let Reply::Delay(d, inner) = reply {
        tokio::time::sleep(d).await;
        reply = *inner;
    }
    match reply {
        Reply::Drop => {}
        Reply::Truncated { status, body } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len() + 100
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&body).await;
            let _ = sock.flush().await;
        }
        Reply::Http {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} X\r\n");
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            ));
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&body).await;
            let _ = sock.flush().await;
        }
        Reply::Delay(..) => unreachable!(),
    }
    let _ = sock.shutdown().await;
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// A service object as the API returns it.
pub fn service_json(id: &str) -> serde_json::Value {
    serde_json::json!({
        "service_id": id,
        "type": "ipv4_rotating",
        "threads": 100,
        "expires_at": "2026-06-17T12:34:56.000Z",
        "country": "mixed",
        "rotation": "instant",
        "auth": {"login": "alice", "password": "s3cr3t-proxy-pw"},
        "whitelist": [{"ip": "203.0.113.10", "label": "home"}],
        "plan_id": crate::fixtures::IPV4_PLAN,
        "status": "active"
    })
}

pub fn account_json() -> serde_json::Value {
    serde_json::json!({"username": "alice", "email": "alice@example.com", "balance": 1500, "currency": "RUB"})
}
