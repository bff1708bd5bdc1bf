//! The mock's clock, on the crate's [`Clock`](crate::clock::Clock): virtual time for tests
//! (an auto-advancing [`ManualClock`]: it moves with [`MockClock::advance`] and with every
//! sleep of a client on it), or the wall clock, optionally running faster (a [`ScaledClock`],
//! `opx mock --time-scale N`).
//!
//! [`MockClock::advance`]: crate::mock::MockClock::advance

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, SubsecRound, Utc};

use crate::clock::{Clock as _, ManualClock, ScaledClock, SharedClock};

/// The time source behind the mock's clock.
#[derive(Debug, Clone)]
enum Source {
    Virtual(ManualClock),
    Wall(ScaledClock),
}

/// The mock's clock: a [`Source`] plus the shift that [`reset`](Self::reset) takes it back by.
#[derive(Debug)]
pub(crate) struct Clock {
    source: Source,
    shift: Mutex<chrono::Duration>,
    started: DateTime<Utc>,
}

impl Clock {
    /// Virtual time starting at the current wall time (whole milliseconds).
    pub(crate) fn mock() -> Self {
        Self::mock_from(Utc::now())
    }

    /// Virtual time starting at `start` (whole milliseconds): the same times from run to run.
    pub(crate) fn mock_from(start: DateTime<Utc>) -> Self {
        let start = start.trunc_subsecs(3);
        let manual = ManualClock::auto_advancing_from(SystemTime::from(start));
        Self::with(Source::Virtual(manual), start)
    }

    /// The wall clock.
    #[cfg(test)]
    pub(crate) fn wall() -> Self {
        Self::scaled(ScaledClock::new(1.0).expect("1 is a valid time scale"))
    }

    /// The wall clock running as fast as `clock` does.
    pub(crate) fn scaled(clock: ScaledClock) -> Self {
        let start = DateTime::<Utc>::from(clock.system_now());
        Self::with(Source::Wall(clock), start)
    }

    fn with(source: Source, started: DateTime<Utc>) -> Self {
        Self {
            source,
            shift: Mutex::new(chrono::Duration::zero()),
            started,
        }
    }

    fn source_now(&self) -> DateTime<Utc> {
        let t = match &self.source {
            Source::Virtual(c) => c.system_now(),
            Source::Wall(c) => c.system_now(),
        };
        DateTime::from(t)
    }

    fn shift(&self) -> chrono::Duration {
        *crate::sync::lock(&self.shift)
    }

    /// The current time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.source_now() + self.shift()
    }

    /// The clock a client of this mock shares (moving with it).
    pub(crate) fn shared(&self) -> SharedClock {
        match &self.source {
            Source::Virtual(c) => Arc::new(c.clone()),
            Source::Wall(c) => Arc::new(c.clone()),
        }
    }

    /// How many times faster than the wall clock it runs (`None`: virtual time).
    pub(crate) fn time_scale(&self) -> Option<f64> {
        match &self.source {
            Source::Virtual(_) => None,
            Source::Wall(c) => Some(c.factor()),
        }
    }

    /// Waits `d` on this clock: in virtual time until something else moves it that far (a
    /// client's sleep, [`MockClock::advance`](crate::mock::MockClock::advance)), never moving it
    /// itself; on the wall clock, `d` at its scale.
    pub(crate) async fn wait(&self, d: Duration) {
        match &self.source {
            Source::Virtual(c) => c.passive().sleep(d).await,
            Source::Wall(c) => c.sleep(d).await,
        }
    }

    /// Back to where it started. (The source itself never goes back: a client on it keeps a
    /// monotonic clock.)
    pub(crate) fn reset(&self) {
        let back = self.started - self.source_now();
        *crate::sync::lock(&self.shift) = back;
    }

    /// Moves the clock forward (and every client's on it).
    pub(crate) fn advance(&self, by: Duration) {
        match &self.source {
            Source::Virtual(c) => c.advance(by),
            Source::Wall(c) => c.advance(by),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_moves_only_when_advanced_and_resets_to_its_start() {
        let c = Clock::mock();
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_secs(90));
        assert_eq!(c.now() - t0, chrono::Duration::seconds(90));
        let client = c.shared();
        assert_eq!(
            client.system_now(),
            SystemTime::from(t0 + chrono::Duration::seconds(90)),
            "a client on the mock's clock sees the same time"
        );
        c.reset();
        assert_eq!(c.now(), t0);
        let fixed = DateTime::parse_from_rfc3339("2026-06-01T12:00:00.1234Z")
            .unwrap()
            .with_timezone(&Utc);
        let from = Clock::mock_from(fixed);
        assert_eq!(
            from.now(),
            fixed.trunc_subsecs(3),
            "starts where it is told"
        );
        assert!(Clock::wall().now() >= t0);
        assert_eq!(Clock::wall().time_scale(), Some(1.0));
    }
}
