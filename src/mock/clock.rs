//! The mock's clock: a controllable one for tests, or the wall clock (plus an offset).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

/// A clock that tests move forward by hand, so that nothing ever sleeps.
#[derive(Debug)]
pub(crate) struct Clock {
    wall: bool,
    /// The frozen time (mock mode) or the offset added to the wall clock (wall mode).
    inner: Mutex<ClockInner>,
}

#[derive(Debug)]
struct ClockInner {
    frozen: DateTime<Utc>,
    offset: chrono::Duration,
    started: DateTime<Utc>,
}

impl Clock {
    /// A mock clock frozen at the current wall time (whole milliseconds).
    pub(crate) fn mock() -> Self {
        Self::with_mode(false)
    }

    /// The wall clock.
    pub(crate) fn wall() -> Self {
        Self::with_mode(true)
    }

    fn with_mode(wall: bool) -> Self {
        Clock {
            wall,
            inner: Mutex::new({
                let now = Utc::now().trunc_subsecs(3);
                ClockInner {
                    frozen: now,
                    offset: chrono::Duration::zero(),
                    started: now,
                }
            }),
        }
    }

    /// The current time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if self.wall {
            Utc::now() + inner.offset
        } else {
            inner.frozen
        }
    }

    /// Back to where it started (the wall clock: no offset).
    pub(crate) fn reset(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.frozen = inner.started;
        inner.offset = chrono::Duration::zero();
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if self.wall {
            inner.offset = inner.offset.checked_add(&by).unwrap_or(inner.offset);
        } else {
            inner.frozen = inner.frozen.checked_add_signed(by).unwrap_or(inner.frozen);
        }
    }
}
