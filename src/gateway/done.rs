//! The end of a request or tunnel: its access-log entry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::access_log::Entry;
use super::counting::Traffic;
use super::lines::Line;
use super::shared::Shared;

/// What is known of a request or tunnel; it is logged when dropped.
pub(crate) struct Done {
    g: Arc<Shared>,
    client: SocketAddr,
    method: String,
    target: String,
    started: Instant,
    status: u16,
    error: Option<String>,
    carried: Option<(Arc<Line>, Arc<Traffic>)>,
    /// The traffic's totals before this request (on a kept connection).
    baseline: (u64, u64),
}

impl Done {
    pub(crate) fn new(g: &Arc<Shared>, client: SocketAddr, method: &str, target: String) -> Self {
        Done {
            g: g.clone(),
            client,
            method: method.to_owned(),
            target,
            started: Instant::now(),
            status: 0,
            error: None,
            carried: None,
            baseline: (0, 0),
        }
    }

    /// On a kept connection: only what comes after now counts.
    pub(crate) fn since(mut self, traffic: &Traffic) -> Self {
        self.baseline = traffic.totals();
        self
    }

    /// On a new connection: all of its traffic counts.
    pub(crate) fn whole_connection(mut self) -> Self {
        self.baseline = (0, 0);
        self
    }

    /// Carried on `line` with this traffic, answered `status`.
    pub(crate) fn carried(mut self, line: Arc<Line>, traffic: Arc<Traffic>, status: u16) -> Self {
        self.carried = Some((line, traffic));
        self.status = status;
        self
    }

    /// Answered `status` because of `error`.
    pub(crate) fn failed(mut self, status: u16, error: String) -> Self {
        self.status = status;
        self.error = Some(error);
        self
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        let Some(log) = &self.g.log else {
            return;
        };
        let line = self.carried.as_ref().map(|(l, _)| l.clone());
        let (sent, received) = self.carried.as_ref().map_or((0, 0), |(_, t)| t.totals());
        log.write(&Entry {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            client: self.client,
            method: std::mem::take(&mut self.method),
            target: std::mem::take(&mut self.target),
            service: line.as_ref().map(|l| l.service.clone()),
            line: line.as_ref().map(|l| l.label().to_owned()),
            status: self.status,
            sent_bytes: sent - self.baseline.0.min(sent),
            received_bytes: received - self.baseline.1.min(received),
            ms: self.started.elapsed().as_millis() as u64,
            error: self.error.take(),
        });
    }
}
