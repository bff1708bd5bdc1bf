//! [`MockBuilder`]: what a [`MockServer`] starts with.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use super::clock::Clock;
use super::snapshot::StateFile;
use super::state::State;
use super::{DEFAULT_BALANCE, Inner, MockServer, app, gateway};
use crate::conformance::route_table;
use crate::operation::Bucket;

/// Configures a [`MockServer`] before it starts.
#[derive(Debug, Clone)]
pub struct MockBuilder {
    pub(crate) balance: i64,
    pub(crate) token: Option<String>,
    listen: SocketAddr,
    wall_clock: bool,
    time_scale: Option<f64>,
    validate_responses: bool,
    pub(crate) limits: Vec<(Bucket, u32)>,
    pub(crate) seed: Option<u64>,
    pub(crate) state: Option<StateFile>,
}

impl Default for MockBuilder {
    fn default() -> Self {
        MockBuilder {
            balance: DEFAULT_BALANCE,
            token: None,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            wall_clock: false,
            time_scale: None,
            validate_responses: true,
            limits: Vec::new(),
            seed: None,
            state: None,
        }
    }
}

impl MockBuilder {
    /// The default account's starting balance in RUB (default 100,000).
    pub fn balance(mut self, rub: i64) -> Self {
        self.balance = rub;
        self
    }

    /// The default account's API key (default: a random `opx_live_` + 32 hex).
    pub fn token(mut self, t: impl Into<String>) -> Self {
        self.token = Some(t.into());
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, an ephemeral loopback port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Use the wall clock instead of the mock clock (which only moves with
    /// [`MockServer::advance`]).
    pub fn wall_clock(mut self) -> Self {
        self.wall_clock = true;
        self
    }

    /// Use the wall clock running `factor` times faster (implies
    /// [`wall_clock`](Self::wall_clock)): rate-limit windows, `Retry-After`,
    /// `X-RateLimit-Reset` and expiry all pass `factor` times faster than they say. A client
    /// from [`MockServer::client_builder`] runs on the same clock. `factor` must be positive and
    /// at most [`MAX_TIME_SCALE`](crate::clock::MAX_TIME_SCALE) ([`start`](Self::start) fails
    /// otherwise).
    pub fn time_scale(mut self, factor: f64) -> Self {
        self.wall_clock = true;
        self.time_scale = Some(factor);
        self
    }

    /// Validate every response against the spec before sending it (default on).
    pub fn validate_responses(mut self, on: bool) -> Self {
        self.validate_responses = on;
        self
    }

    /// Sets a rate limit from the start (see [`MockServer::set_limit`]).
    pub fn limit(mut self, bucket: Bucket, limit: u32) -> Self {
        self.limits.push((bucket, limit));
        self
    }

    /// Makes every random value (ids, tokens, proxy credentials, fault probabilities) the same
    /// from run to run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Starts from this state (accounts, keys, services, logs) instead of one default account;
    /// see [`MockServer::export_state`].
    pub fn state(mut self, state: StateFile) -> Self {
        self.state = Some(state);
        self
    }

    /// The state this configuration starts with.
    pub(crate) fn initial_state(&self, clock: &Clock) -> (State, String) {
        let mut state = State::new(clock.now(), self.seed);
        let token = match &self.state {
            Some(file) => file.load_into(&mut state),
            None => state.add_account(self.balance, self.token.clone()).1,
        };
        for (bucket, limit) in &self.limits {
            state.limits.set(*bucket, *limit);
        }
        (state, token)
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<MockServer> {
        let clock = if self.wall_clock {
            let scaled = crate::clock::ScaledClock::new(self.time_scale.unwrap_or(1.0))
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            Clock::scaled(scaled)
        } else {
            Clock::mock()
        };
        let (state, token) = self.initial_state(&clock);
        let gateways = gateway::bind().await?;
        let inner = Arc::new(Inner {
            routes: route_table(),
            state: Mutex::new(state),
            clock,
            validate_responses: self.validate_responses,
            start: self.clone(),
            gateways: gateways.addrs(),
        });
        let gateways = gateways.serve(inner.clone());
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let app = app::router(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!("mock server stopped: {e}");
            }
        });
        let base_url = format!("http://{addr}{}", inner.routes.base_path);
        tracing::debug!("mock listening on {base_url}");
        Ok(MockServer::new(inner, addr, base_url, token, tx, gateways))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's schemas are compiled once per process: a second start shares the first's
    /// route table (compiling it again would be most of a start).
    #[tokio::test]
    async fn later_starts_share_the_compiled_route_table() {
        let first = MockBuilder::default().start().await.unwrap();
        let second = MockBuilder::default().start().await.unwrap();
        assert!(Arc::ptr_eq(&first.inner.routes, &second.inner.routes));
        assert!(Arc::ptr_eq(&first.inner.routes, &route_table()));
        assert_ne!(first.base_url(), second.base_url());
    }
}
