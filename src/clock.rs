//! One clock for the client's rate-limit gate and pacing, its backoff sleeps and the mock.
//!
//! A [`Client`](crate::Client) reads the time and sleeps only through its [`Clock`] (set with
//! [`ClientBuilder::clock`](crate::ClientBuilder::clock); the default is [`SystemClock`]). The
//! mock keeps its time on one too, and [`MockServer::client_builder`] hands out clients on the
//! mock's clock: [`MockClock::advance`] then releases the client's rate-limit gate as it
//! resets the mock's windows, and a sleep of the client (backoff, pacing) moves the mock's time
//! instead of waiting for it, so hours of rate-limit windows run in milliseconds.
//!
//! - [`SystemClock`]: the monotonic and the calendar clock of the system, tokio's timer.
//! - [`ManualClock`]: stands still until [`advance`](ManualClock::advance)d. Its sleeps
//!   either complete when the clock is advanced past their deadline
//!   ([`ManualClock::new`]), or move the clock to their deadline at once
//!   ([`ManualClock::auto_advancing`]: virtual time, what the mock uses).
//! - [`ScaledClock`]: the system clock running `N` times faster (`opx mock --time-scale N`),
//!   also advanceable.
//!
//! Why not tokio's paused time (`tokio::time::pause`)? It advances the timer whenever the
//! runtime is idle, which includes every wait on a loopback socket, so request timeouts fire
//! spuriously in tests that do real I/O; and it cannot move the mock's calendar time.
//!
//! ```
//! # async fn demo() {
//! use std::time::Duration;
//! use opx::clock::{Clock, ManualClock};
//!
//! let clock = ManualClock::auto_advancing();
//! let t0 = clock.now();
//! clock.sleep(Duration::from_secs(3600)).await; // returns at once
//! assert_eq!(clock.now() - t0, Duration::from_secs(3600));
//! # }
//! ```
//!
//! [`MockServer::client_builder`]: https://docs.rs/opx/latest/opx/mock/struct.MockServer.html#method.client_builder
//! [`MockClock::advance`]: https://docs.rs/opx/latest/opx/mock/struct.MockClock.html#method.advance

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use tokio::sync::watch;

use crate::error::{Error, Result};

/// The future a [`Clock`] sleeps with.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A clock shared by a client (and the mock): see [`Clock`].
pub type SharedClock = Arc<dyn Clock>;

/// The time as a client (and the mock) sees it: now, monotonic and calendar, and sleeping.
///
/// Implementations must keep [`now`](Self::now) monotonic and make a
/// [`sleep_until`](Self::sleep_until) complete once `now()` has reached its deadline.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The monotonic time (what rate-limit windows, backoff and deadlines are measured in).
    fn now(&self) -> Instant;
    /// The calendar time (what an HTTP date or a Unix timestamp in a header is compared with).
    fn system_now(&self) -> SystemTime;
    /// A future that completes once [`now`](Self::now) has reached `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Sleep;
    /// A future that completes once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> Sleep {
        match self.now().checked_add(duration) {
            Some(deadline) => self.sleep_until(deadline),
            None => Box::pin(std::future::pending()),
        }
    }
    /// How many seconds of this clock pass in a second of real time: 1 for the system clock
    /// and for virtual time (which has no relation to real time), `N` for a [`ScaledClock`].
    ///
    /// A client on a clock whose scale is not 1 reads a server's durations (`Retry-After`,
    /// `X-RateLimit-Reset`) as real seconds and waits them at this scale, unless the server
    /// said it stated them in this clock's seconds (the mock does, for a client sharing its
    /// scaled clock: see [`TIME_SCALE_HEADER`]).
    fn scale(&self) -> f64 {
        1.0
    }
}

/// The request header in which a client on a scaled clock states its [`Clock::scale`], and the
/// response header in which a server (the mock) says it stated its durations (`Retry-After`,
/// `X-RateLimit-Reset`) in seconds of that scale. Without it, durations are real seconds.
pub const TIME_SCALE_HEADER: &str = "x-opx-time-scale";

/// How many of `clock`'s seconds a duration in a response with `headers` stands for: 1 when
/// the clock runs at real time or the server answered in its seconds ([`TIME_SCALE_HEADER`]),
/// else the clock's scale (the server's durations are real seconds).
pub(crate) fn header_unit(clock: &dyn Clock, headers: &http::HeaderMap) -> f64 {
    let scale = clock.scale();
    if scale == 1.0 {
        return 1.0;
    }
    let answered = headers
        .get(TIME_SCALE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    if answered == Some(scale) { 1.0 } else { scale }
}

/// The system's clocks and tokio's timer (the default of every client).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn system_now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }
}

/// The time since a clock's start, shared with its sleepers: advancing it wakes them.
#[derive(Debug)]
struct Offset {
    base: Instant,
    wall: SystemTime,
    offset: watch::Sender<Duration>,
}

impl Offset {
    fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }
    fn starting_at(wall: SystemTime) -> Self {
        Self {
            base: Instant::now(),
            wall,
            offset: watch::Sender::new(Duration::ZERO),
        }
    }
    fn get(&self) -> Duration {
        *self.offset.borrow()
    }
    fn advance(&self, by: Duration) {
        self.offset.send_modify(|o| *o = o.saturating_add(by));
    }
    /// Moves the offset to at least `to`; wakes sleepers only if it moved.
    fn advance_to(&self, to: Duration) {
        self.offset.send_if_modified(|o| {
            let moved = to > *o;
            *o = (*o).max(to);
            moved
        });
    }
    fn at(&self, since_start: Duration) -> Instant {
        self.base
            .checked_add(since_start)
            .unwrap_or(self.base + Duration::from_secs(u32::MAX.into()))
    }
    fn wall_at(&self, since_start: Duration) -> SystemTime {
        self.wall.checked_add(since_start).unwrap_or(self.wall)
    }
}

/// A clock that stands still until advanced. Cheap to clone: clones share one time.
///
/// ```
/// # async fn demo() {
/// use std::time::Duration;
/// use opx::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let sleeper = tokio::spawn({
///     let clock = clock.clone();
///     async move { clock.sleep(Duration::from_secs(60)).await }
/// });
/// clock.advance(Duration::from_secs(60)); // the sleeper wakes
/// sleeper.await.unwrap();
/// assert_eq!(clock.elapsed(), Duration::from_secs(60));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Offset>,
    auto: bool,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock at the current time, whose sleeps complete when it is advanced past their
    /// deadline (a test moves it with [`advance`](Self::advance)).
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Offset::new()),
            auto: false,
        }
    }

    /// A clock at the current time whose every sleep moves it to the sleep's deadline at once:
    /// virtual time, where waiting costs nothing. Concurrent sleeps to the same deadline move it
    /// once.
    pub fn auto_advancing() -> Self {
        Self {
            auto: true,
            ..Self::new()
        }
    }

    /// An auto-advancing clock whose calendar time starts at `wall`.
    #[cfg(feature = "mock")]
    pub(crate) fn auto_advancing_from(wall: SystemTime) -> Self {
        Self {
            inner: Arc::new(Offset::starting_at(wall)),
            auto: true,
        }
    }

    /// Moves the clock forward, completing the sleeps it passes.
    pub fn advance(&self, by: Duration) {
        self.inner.advance(by);
    }

    /// The same clock, whose sleeps wait for others to move it (never moving it themselves):
    /// what a server on virtual time waits with, so that a client's sleeps move time for both.
    #[cfg(feature = "mock")]
    pub(crate) fn passive(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            auto: false,
        }
    }

    /// How far the clock has moved since it was made.
    pub fn elapsed(&self) -> Duration {
        self.inner.get()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.inner.at(self.inner.get())
    }
    fn system_now(&self) -> SystemTime {
        self.inner.wall_at(self.inner.get())
    }
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let target = deadline.saturating_duration_since(self.inner.base);
        let inner = self.inner.clone();
        if self.auto {
            return Box::pin(async move { inner.advance_to(target) });
        }
        let mut rx = inner.offset.subscribe();
        drop(inner);
        Box::pin(async move {
            // Err: every handle of the clock is gone, nothing can advance it any more.
            let _ = rx.wait_for(|o| *o >= target).await;
        })
    }
}

/// The system clock running `factor` times faster (an hour of windows in 36 s at 100), plus
/// whatever it was [`advance`](Self::advance)d by. Cheap to clone: clones share one time.
///
/// ```
/// use opx::clock::{Clock, ScaledClock};
/// let clock = ScaledClock::new(60.0)?; // a minute a second
/// assert!(ScaledClock::new(0.0).is_err());
/// # Ok::<(), opx::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScaledClock {
    inner: Arc<Offset>,
    factor: f64,
}

/// Fastest time scale accepted (a year of windows in about 30 s).
pub const MAX_TIME_SCALE: f64 = 1_000_000.0;

impl ScaledClock {
    /// A clock at the current time running `factor` times faster than the system clock;
    /// `factor` must be finite, positive and at most [`MAX_TIME_SCALE`].
    pub fn new(factor: f64) -> Result<Self> {
        if !(factor.is_finite() && factor > 0.0 && factor <= MAX_TIME_SCALE) {
            return Err(Error::config(format!(
                "time scale {factor}: give a positive number up to {MAX_TIME_SCALE}"
            )));
        }
        Ok(Self {
            inner: Arc::new(Offset::new()),
            factor,
        })
    }

    /// How many times faster than the system clock it runs.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Moves the clock forward at once, waking the sleeps it passes.
    pub fn advance(&self, by: Duration) {
        self.inner.advance(by);
    }

    fn since_start(&self) -> Duration {
        let real = self.inner.base.elapsed().as_secs_f64() * self.factor;
        Duration::from_secs_f64(real.min(f64::from(u32::MAX))).saturating_add(self.inner.get())
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Instant {
        self.inner.at(self.since_start())
    }
    fn system_now(&self) -> SystemTime {
        self.inner.wall_at(self.since_start())
    }
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let clock = self.clone();
        Box::pin(async move {
            let mut rx = clock.inner.offset.subscribe();
            loop {
                let left = deadline.saturating_duration_since(clock.now());
                if left.is_zero() {
                    return;
                }
                let real = tokio::time::sleep(left.div_f64(clock.factor));
                let advanced = rx.changed();
                futures::pin_mut!(real, advanced);
                futures::future::select(real, advanced).await;
            }
        })
    }
    fn scale(&self) -> f64 {
        self.factor
    }
}

/// A duration as people read it: `250 ms`, `10 s`, `2.5 s`, `5 min`, `3 h`, `2 days`,
/// `2 days 12 h`, `40 days`; the one form every message of this crate and of `opx` uses
/// ("resets in 40 s", "expires in 40 days").
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let whole = |n: f64, unit: &str| format!("{} {unit}", n.round() as u64);
    // Each unit up to the value that would round to the next one's threshold (119.6 min is
    // "2 h", not "120 min").
    match secs {
        s if s < 1.0 => format!("{} ms", d.as_millis()),
        s if s < 119.5 && s.fract() >= 0.05 => format!("{s:.1} s"),
        s if s < 119.5 => whole(s, "s"),
        s if s < 7_170.0 => whole(s / 60.0, "min"),
        s if s < 171_000.0 => whole(s / 3_600.0, "h"),
        s => {
            // Whole days, and the hours left over (rounded; 24 of them are one more day).
            let hours = (s / 3_600.0).round() as u64;
            let (days, hours) = (hours / 24, hours % 24);
            let days = format!("{days} day{}", if days == 1 { "" } else { "s" });
            if hours == 0 {
                days
            } else {
                format!("{days} {hours} h")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_people_write_them() {
        use super::human;
        use std::time::Duration as D;
        let cases = [
            (D::from_millis(250), "250 ms"),
            (D::from_secs(10), "10 s"),
            (D::from_millis(2500), "2.5 s"),
            (D::from_secs(300), "5 min"),
            (D::from_secs(3 * 3600), "3 h"),
            (D::from_secs(86_400 * 2), "2 days"),
            (D::from_secs(86_400 * 40), "40 days"),
            (D::from_secs(86_400 * 2 + 12 * 3600), "2 days 12 h"),
            (D::from_secs(86_400 * 40 - 1), "40 days"),
            (D::from_secs(119), "119 s"),
            (D::from_secs(120), "2 min"),
            (D::from_millis(119_600), "2 min"),
            (D::from_secs(7_199), "2 h"),
            (D::from_secs(2 * 86_400 - 60), "2 days"),
            (D::from_secs(7_200), "2 h"),
        ];
        for (d, want) in cases {
            assert_eq!(human(d), want, "{d:?}");
        }
    }

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn a_manual_sleep_completes_only_when_advanced_past_it() {
        use futures::FutureExt as _;
        let clock = ManualClock::new();
        let mut sleep = clock.sleep(HOUR);
        assert!((&mut sleep).now_or_never().is_none());
        clock.advance(HOUR - Duration::from_millis(1));
        assert!((&mut sleep).now_or_never().is_none(), "not yet");
        clock.advance(Duration::from_millis(1));
        assert!(sleep.now_or_never().is_some());
        assert_eq!(clock.elapsed(), HOUR);
    }

    #[tokio::test]
    async fn an_auto_advancing_sleep_moves_the_clock_once_per_deadline() {
        let clock = ManualClock::auto_advancing();
        let (t0, w0) = (clock.now(), clock.system_now());
        let deadline = t0 + HOUR;
        let (a, b) = (clock.sleep_until(deadline), clock.sleep_until(deadline));
        tokio::join!(a, b);
        assert_eq!(
            clock.now(),
            deadline,
            "two sleeps to one deadline: one hour"
        );
        assert_eq!(clock.system_now().duration_since(w0).unwrap(), HOUR);
        clock.sleep_until(t0).await;
        assert_eq!(
            clock.now(),
            deadline,
            "a past deadline does not move it back"
        );
    }

    #[tokio::test]
    async fn a_scaled_clock_runs_faster_and_wakes_on_advance() {
        let clock = ScaledClock::new(1000.0).unwrap();
        let t0 = clock.now();
        let started = Instant::now();
        clock.sleep(Duration::from_secs(2)).await;
        assert!(clock.now() - t0 >= Duration::from_secs(2));
        assert!(started.elapsed() < Duration::from_secs(1), "2 s at 1000x");
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep(HOUR * 24).await }
        });
        tokio::task::yield_now().await;
        clock.advance(HOUR * 24);
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken by advance")
            .unwrap();
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 2e6] {
            assert!(ScaledClock::new(bad).is_err(), "{bad}");
        }
    }
}
