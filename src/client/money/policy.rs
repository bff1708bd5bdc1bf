//! How long and how often reconciliation looks before it concludes.

use std::time::Duration;

use crate::setters::setters;

/// How [`Client::purchase_safely`](crate::Client::purchase_safely) and
/// [`Client::extend_safely`](crate::Client::extend_safely) settle an unknown outcome: they look
/// at the account up to `checks` times, spread over `window`, before they conclude that nothing
/// happened (a server that is still committing may show the change a moment later).
///
/// ```
/// use std::time::Duration;
/// let p = opx::safe::ReconcilePolicy::default().checks(5).window(Duration::from_secs(20));
/// assert_eq!((p.check_count(), p.watch_window()), (5, Duration::from_secs(20)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilePolicy {
    checks: u32,
    window: Duration,
    full_snapshot: bool,
}

impl Default for ReconcilePolicy {
    /// 3 checks over 10 s; a one-page snapshot before each purchase.
    fn default() -> Self {
        Self {
            checks: 3,
            window: Duration::from_secs(10),
            full_snapshot: false,
        }
    }
}

impl ReconcilePolicy {
    setters! {
        /// How many times to look (at least 1).
        pub fn checks(n: u32) => checks = n.max(1);
        /// The time the checks are spread over (the first is immediate).
        pub fn window(d: Duration) => window = d;
        /// Before each purchase, list **every** matching service instead of one page: exact
        /// whatever order the server lists services in, at one request per 100 services.
        ///
        /// By default one page (100 services) is read before the purchase. When the account has
        /// more, a purchase found ahead of them (the docs' lists are newest first) is recovered,
        /// and finding none is reported as still unknown rather than guessed.
        pub fn full_snapshot(on: bool) => full_snapshot = on;
    }
    /// The number of checks.
    pub fn check_count(&self) -> u32 {
        self.checks
    }
    /// The window the checks are spread over.
    pub fn watch_window(&self) -> Duration {
        self.window
    }
    /// Whether every service is listed before a purchase.
    pub fn is_full_snapshot(&self) -> bool {
        self.full_snapshot
    }
    /// How long all checks together watch the account.
    pub(crate) fn watched(&self) -> std::time::Duration {
        if self.checks <= 1 {
            Duration::ZERO
        } else {
            self.window
        }
    }
    /// The pause before check number `n` (0-based): none before the first.
    pub(crate) fn pause_before(&self, n: u32) -> Duration {
        if n == 0 || self.checks <= 1 {
            Duration::ZERO
        } else {
            self.window / (self.checks - 1)
        }
    }
}
