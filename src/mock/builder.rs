//! [`MockBuilder`]: what a [`MockServer`](crate::mock::MockServer) starts with.

use std::net::{Ipv4Addr, SocketAddr};

use chrono::{DateTime, Utc};

use super::clock::Clock;
use super::fake::api::Setup;
use super::fake::model::DEFAULT_BALANCE;
use super::fake::snapshot::StateFile;
use crate::operation::Bucket;
use crate::setters::setters;

/// Configures a [`MockServer`](crate::mock::MockServer) before it starts.
#[derive(Debug, Clone)]
pub struct MockBuilder {
    pub(crate) setup: Setup,
    pub(crate) listen: SocketAddr,
    wall_clock: bool,
    start: Option<DateTime<Utc>>,
    time_scale: Option<f64>,
    pub(crate) validate_responses: bool,
}

impl Default for MockBuilder {
    fn default() -> Self {
        MockBuilder {
            setup: Setup {
                balance: DEFAULT_BALANCE,
                token: None,
                limits: Vec::new(),
                seed: None,
                state: None,
            },
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            wall_clock: false,
            start: None,
            time_scale: None,
            validate_responses: true,
        }
    }
}

impl MockBuilder {
    setters! {
        /// The default account's starting balance in RUB (default 100,000).
        pub fn balance(rub: i64) => setup.balance = rub;

        /// The default account's API key (default: a random `opx_live_` + 32 hex).
        pub fn token(t: impl Into<String>) => setup.token = Some(t.into());

        /// The address to listen on (default `127.0.0.1:0`, an ephemeral loopback port).
        pub fn listen(addr: SocketAddr) => listen = addr;
    }

    /// Use the wall clock instead of the mock clock (which only moves with
    /// [`MockClock::advance`](crate::mock::MockClock::advance)).
    pub fn wall_clock(mut self) -> Self {
        self.wall_clock = true;
        self
    }

    /// Start the mock's virtual time at `start` (whole milliseconds) instead of the current wall
    /// time, so that every time it shows (purchases, expiries, logs) is the same from run to run
    /// (with [`seed`](Self::seed), so is every id). Ignored with [`wall_clock`](Self::wall_clock).
    pub fn start_time(mut self, start: DateTime<Utc>) -> Self {
        self.start = Some(start);
        self
    }

    /// Use the wall clock running `factor` times faster (implies
    /// [`wall_clock`](Self::wall_clock)): rate-limit windows and expiry pass `factor` times
    /// faster, and the answers' durations (`Retry-After`, `X-RateLimit-Reset`) are stated in
    /// real seconds, rounded up, so that a client outside the process (another language, `opx`
    /// against `opx mock --time-scale N`) waits real time that matches the scale. A client from
    /// [`MockServer::client_builder`](crate::mock::MockServer::client_builder) runs on the same
    /// clock, says so ([`TIME_SCALE_HEADER`](crate::clock::TIME_SCALE_HEADER)) and gets them in
    /// the mock's seconds, exactly. `factor` must be positive and
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

    /// Sets a rate limit from the start (see
    /// [`Accounts::set_limit`](crate::mock::Accounts::set_limit)).
    pub fn limit(mut self, bucket: Bucket, limit: u32) -> Self {
        self.setup.limits.push((bucket, limit));
        self
    }

    setters! {
        /// Makes every random value (ids, tokens, proxy credentials, fault probabilities) the same
        /// from run to run.
        pub fn seed(seed: u64) => setup.seed = Some(seed);

        /// Starts from this state (accounts, keys, services, logs) instead of one default account;
        /// see [`Accounts::export_state`](crate::mock::Accounts::export_state).
        pub fn state(state: StateFile) => setup.state = Some(state);
    }

    /// The clock it runs on.
    pub(crate) fn make_clock(&self) -> std::io::Result<Clock> {
        if !self.wall_clock {
            return Ok(self.start.map_or_else(Clock::mock, Clock::mock_from));
        }
        let scaled = crate::clock::ScaledClock::new(self.time_scale.unwrap_or(1.0))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Ok(Clock::scaled(scaled))
    }
}
