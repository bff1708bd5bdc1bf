//! What every connection of a serving gateway shares: the pool, the metrics, the settings, and
//! the live services (reload after a `407`, refresh).

use std::sync::Arc;
use std::time::Duration;

use super::access_log::AccessLog;
use super::lines::{self, Line, Selection};
use super::metrics::Metrics;
use super::pool::Pool;
use super::sticky::Sticky;
use crate::Client;

/// The proxy password clients of the gateway must send, when one is set.
pub(crate) struct LocalAuth {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl LocalAuth {
    /// Whether a client's credentials are these (the login may carry tags: `user-country-de`).
    pub(crate) fn accepts(&self, login: &str, password: &str) -> bool {
        let user_ok = login == self.user || login.starts_with(&format!("{}-", self.user));
        let same = password.len() == self.password.len()
            && password
                .bytes()
                .zip(self.password.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        user_ok & same
    }
}

/// What every connection of a gateway shares.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) selection: Selection,
    pub(crate) pool: Arc<Pool>,
    pub(crate) metrics: Metrics,
    pub(crate) log: Option<AccessLog>,
    pub(crate) upstream_timeout: Duration,
    pub(crate) local_auth: Option<LocalAuth>,
    pub(crate) reloading: tokio::sync::Mutex<()>,
    /// The `host:port` active probes open a tunnel to.
    pub(crate) probe: Option<String>,
    /// Sessions' kept upstream connections.
    pub(crate) sticky: Sticky,
}

impl Shared {
    /// Reads the services again: new purchases, new credentials, gone or expired services.
    pub(crate) async fn refresh(&self) -> crate::Result<()> {
        let list = lines::load(&self.client, &self.selection).await?;
        self.pool.sync(list, true);
        Ok(())
    }

    /// Reads `line`'s service again after a `407`, unless that was done since `line` was
    /// handed out (many requests may see the same old credentials at once).
    pub(crate) async fn reload(&self, line: &Line) {
        let _one_at_a_time = self.reloading.lock().await;
        if self.pool.current(line).is_some_and(|now| *now != *line) {
            return;
        }
        match lines::reload(&self.client, &line.service, &self.selection).await {
            Ok(Some(s)) => self.pool.sync(vec![s], false),
            Ok(None) => self.pool.remove(&line.service),
            Err(e) => tracing::warn!(
                "gateway: reading service {} again failed: {e}",
                line.service
            ),
        }
    }

    /// The metrics text, with the threads in use as of now.
    pub(crate) fn metrics_text(&self) -> String {
        for s in self.pool.snapshot() {
            self.metrics.set_in_use(&s.id, s.in_use);
        }
        self.metrics.text()
    }
}
