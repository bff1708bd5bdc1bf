//! The optional access log: one JSON object per line for each request or tunnel, written when
//! it ends. Targets are `host:port` and a path without its query (which may carry a
//! client's secrets); never a credential.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Mutex;

use serde::Serialize;

/// Where entries go.
pub(crate) struct AccessLog {
    out: Mutex<Box<dyn Write + Send>>,
}

/// One request or tunnel.
#[derive(Debug, Serialize)]
pub(crate) struct Entry {
    pub(crate) time: String,
    pub(crate) client: SocketAddr,
    /// `CONNECT`, `SOCKS5` or the HTTP method.
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) service: Option<String>,
    pub(crate) line: Option<String>,
    pub(crate) status: u16,
    pub(crate) sent_bytes: u64,
    pub(crate) received_bytes: u64,
    pub(crate) ms: u64,
    pub(crate) error: Option<String>,
}

impl AccessLog {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Self {
        AccessLog {
            out: Mutex::new(out),
        }
    }

    /// Writes one entry (a failed write is logged once per entry, never fatal).
    pub(crate) fn write(&self, entry: &Entry) {
        let Ok(mut line) = serde_json::to_vec(entry) else {
            return;
        };
        line.push(b'\n');
        let mut out = crate::sync::lock(&self.out);
        if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
            tracing::warn!("gateway: access log write failed: {e}");
        }
    }
}
