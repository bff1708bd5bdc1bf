//! The pacer of the `Pace` policy: a count of the requests left in each bucket's window, kept
//! from what the client sent and corrected from what the server said, and the wait for a
//! permit when a bucket has none left.
//!
//! Per bucket it knows the window's limit (the documented one until a header says otherwise),
//! the requests left and when the window resets. A permit is taken from every bucket the
//! operation counts against, or none is. The first permit of a window that no header
//! described yet starts the window locally (`now + window + ESTIMATE_MARGIN`: the server's
//! window starts when the request arrives, a little later). A response's `X-RateLimit-*`
//! headers describe one bucket (found by its limit): its `Remaining` lowers the count (it never
//! raises it: requests still in flight are not counted in it yet), its `Reset` replaces a local
//! estimate, and among the answers of one window the earliest reset is kept (each is at least
//! the true reset when the server rounds up, as the mock does; a server that rounded down
//! would cost a 429 at a boundary, waited out by `Retry-After`). A 429's `Retry-After` holds
//! the bucket until then, and no longer: the server's word wins over the window's reset (the
//! 429's own `Remaining` is not counted; the client's count of the window stays as it was).

use std::time::{Duration, Instant};

use super::Observation;
use crate::operation::{Bucket, Operation};

/// Added to a window that only the client's own count started (no header described it yet).
const ESTIMATE_MARGIN: Duration = Duration::from_secs(1);
/// Answers whose resets are this close describe the same window.
const SAME_WINDOW: Duration = Duration::from_secs(1);

fn slot(bucket: Bucket) -> usize {
    Bucket::ALL.iter().position(|b| *b == bucket).unwrap_or(0)
}

/// One bucket's current window as the client knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    limit: u32,
    /// Requests left; `limit` in a fresh window.
    left: u32,
    /// When the window resets; `None` before its first request.
    resets_at: Option<Instant>,
    /// Whether `resets_at` came from the server (else it is the client's estimate).
    from_server: bool,
    /// Until when a 429's `Retry-After` holds the bucket, whatever its count.
    retry_at: Option<Instant>,
}

impl Window {
    fn fresh(limit: u32) -> Self {
        Self {
            limit,
            left: limit,
            resets_at: None,
            from_server: false,
            retry_at: None,
        }
    }

    /// Starts a fresh window once the known one has reset (a `Retry-After` still running is
    /// kept).
    fn roll(&mut self, now: Instant) {
        if self.resets_at.is_some_and(|r| r <= now) {
            *self = Self {
                retry_at: self.retry_at,
                ..Self::fresh(self.limit)
            };
        }
        self.retry_at = self.retry_at.filter(|r| *r > now);
    }

    /// Until when this window holds a request back at `now` (after [`roll`](Self::roll)).
    fn blocked_until(&self, bucket: Bucket, now: Instant) -> Option<Instant> {
        let exhausted = (self.left == 0).then(|| self.resets_at.unwrap_or(now + bucket.window()));
        exhausted.max(self.retry_at)
    }

    /// A reset the server reported for this bucket, with the requests left.
    fn report(&mut self, resets_at: Instant, left: u32, now: Instant) {
        if resets_at <= now {
            return; // about a window that is over
        }
        match self.resets_at {
            Some(local) if self.from_server && resets_at + SAME_WINDOW < local => {} // older
            Some(local) if self.from_server && resets_at <= local + SAME_WINDOW => {
                self.resets_at = Some(local.min(resets_at));
                self.left = self.left.min(left);
            }
            _ => {
                self.resets_at = Some(resets_at);
                self.from_server = true;
                self.left = self.left.min(left);
            }
        }
    }
}

/// The attempts of a client whose answer has not been seen yet. A paced call that must wait
/// for a window first lets them land ([`settled`](Self::settled)): their answers correct the
/// count, and on a virtual clock (which jumps to the reset at once) they are not carried over
/// into the next window.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// One attempt in flight; dropping it (answer seen, failure, cancellation) ends it.
pub(crate) struct Flight<'a>(&'a InFlight);

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl InFlight {
    /// Counts an attempt until the guard is dropped.
    pub(crate) fn start(&self) -> Flight<'_> {
        self.count.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Flight(self)
    }

    /// Whether no attempt is in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.count.load(std::sync::atomic::Ordering::Acquire) == 0
    }

    /// Completes once no attempt is in flight.
    pub(crate) async fn settled(&self) {
        loop {
            let idle = self.idle.notified();
            if self.is_idle() {
                return;
            }
            idle.await;
        }
    }
}

tokio::task_local! {
    /// Set while a bulk operation runs its calls: they are paced whatever the client's policy.
    static PACED: ();
}

/// Runs `call` paced, whatever the client's [`RateLimitPolicy`](super::RateLimitPolicy).
pub(crate) fn paced<F: std::future::Future>(
    call: F,
) -> impl std::future::Future<Output = F::Output> {
    PACED.scope((), call)
}

/// Whether the running call is inside [`paced`].
pub(crate) fn is_paced() -> bool {
    PACED.try_with(|_| ()).is_ok()
}

/// The per-bucket windows of one client (shared by its clones).
#[derive(Debug)]
pub(crate) struct Pacer {
    windows: [Window; Bucket::ALL.len()],
}

impl Default for Pacer {
    fn default() -> Self {
        Self {
            windows: Bucket::ALL.map(|b| Window::fresh(b.limit())),
        }
    }
}

impl Pacer {
    /// Takes a permit for `operation` from each of its buckets (`Ok`), or says until when one
    /// of them has none left, and which (`Err`: try again then).
    pub(crate) fn try_acquire(
        &mut self,
        operation: Operation,
        now: Instant,
    ) -> Result<(), (Instant, Bucket)> {
        let buckets = operation.buckets();
        let mut blocked: Option<(Instant, Bucket)> = None;
        for b in buckets {
            let w = &mut self.windows[slot(*b)];
            w.roll(now);
            if let Some(until) = w.blocked_until(*b, now)
                && blocked.is_none_or(|(t, _)| until > t)
            {
                blocked = Some((until, *b));
            }
        }
        if let Some(blocked) = blocked {
            return Err(blocked);
        }
        for b in buckets {
            let w = &mut self.windows[slot(*b)];
            w.left -= 1;
            if w.resets_at.is_none() {
                w.resets_at = Some(now + b.window() + ESTIMATE_MARGIN);
            }
        }
        Ok(())
    }

    /// Records what a response of `operation` said: its rate-limit headers, and the
    /// `Retry-After` of a 429.
    pub(crate) fn observe(&mut self, seen: &Observation<'_>) {
        let (bucket, now) = (seen.bucket(), seen.now);
        let w = &mut self.windows[slot(bucket)];
        w.roll(now);
        let retry_at = seen.retry_after.and_then(|ra| now.checked_add(ra));
        if let Some(rl) = seen.rate {
            if let Some(limit) = rl.limit().filter(|l| *l > 0) {
                w.limit = limit;
                w.left = w.left.min(limit);
            }
            let resets_at = rl.resets_at().or_else(|| now.checked_add(bucket.window()));
            // A 429 with `Retry-After` says when to come back; its `Remaining` is not counted.
            let left = if retry_at.is_some() {
                Some(w.left)
            } else {
                rl.remaining()
            };
            if let (Some(left), Some(at)) = (left, resets_at) {
                w.report(at, left, now);
            }
        }
        if retry_at.is_some() {
            w.retry_at = retry_at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::RateLimit;

    const MIN: Duration = Duration::from_secs(60);

    impl Pacer {
        /// [`Pacer::try_acquire`], saying only until when it is blocked.
        fn free(&mut self, op: Operation, now: Instant) -> Result<(), Instant> {
            self.try_acquire(op, now).map_err(|(until, _)| until)
        }
    }

    /// `p` takes in a response of `op` with the headers `rl`.
    fn report(p: &mut Pacer, op: Operation, rl: RateLimit) {
        p.observe(&Observation::headers(op, &rl));
    }

    /// A pacer that has let one call of `op` through and then read the headers
    /// `limit`, `remaining` and `reset` (seconds) of its answer, and when.
    fn one_call_answered(
        op: Operation,
        limit: u32,
        remaining: u32,
        reset: u64,
    ) -> (Instant, Pacer) {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.try_acquire(op, t0).unwrap();
        report(&mut p, op, RateLimit::sample(limit, remaining, reset, t0));
        (t0, p)
    }

    #[test]
    fn a_fresh_window_gives_its_documented_limit_then_waits_for_the_reset() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        let op = Operation::GetProxies;
        let limit = Bucket::GlobalMinute.limit();
        for _ in 0..limit {
            p.try_acquire(op, t0).unwrap();
        }
        let until = p.free(op, t0).unwrap_err();
        assert_eq!(until, t0 + MIN + ESTIMATE_MARGIN, "a local estimate");
        assert_eq!(p.free(op, until - Duration::from_millis(1)), Err(until));
        p.try_acquire(op, until).unwrap();
    }

    #[test]
    fn headers_lower_the_count_and_set_the_reset() {
        let op = Operation::GetAccount;
        // Someone else used the key: 2 left, the window resets in 30 s.
        let (t0, mut p) = one_call_answered(op, 300, 2, 30);
        p.try_acquire(op, t0).unwrap();
        p.try_acquire(op, t0).unwrap();
        assert_eq!(p.free(op, t0), Err(t0 + Duration::from_secs(30)));
        // A later answer with more left (sent before ours were counted) does not raise it.
        report(&mut p, op, RateLimit::sample(300, 50, 30, t0));
        assert!(p.try_acquire(op, t0).is_err());
        // The earliest reset of one window is kept.
        let t1 = t0 + Duration::from_millis(600);
        report(&mut p, op, RateLimit::sample(300, 0, 29, t1));
        assert_eq!(p.free(op, t1), Err(t1 + Duration::from_secs(29)));
    }

    #[test]
    fn a_429_waits_for_retry_after_and_other_buckets_are_apart() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.observe(&Observation::new(
            Operation::Purchase,
            Some(&RateLimit::sample(Bucket::Purchase.limit(), 0, 3600, t0)),
            Some(Duration::from_secs(3600)),
            t0,
        ));
        assert_eq!(
            p.free(Operation::Purchase, t0),
            Err(t0 + Duration::from_secs(3600))
        );
        p.try_acquire(Operation::GetAccount, t0).unwrap();
        let mut q = Pacer::default();
        let five = Duration::from_secs(5);
        q.observe(&Observation::retry_after(Operation::GetAccount, five, t0));
        assert_eq!(q.free(Operation::ListLogs, t0), Err(t0 + five));
    }

    #[test]
    fn a_429s_retry_after_is_waited_not_its_windows_reset() {
        // The case: a 429 with `Retry-After: 3` in a window that resets in 57 s.
        let t0 = Instant::now();
        let mut p = Pacer::default();
        let op = Operation::GetProxies;
        p.try_acquire(op, t0).unwrap();
        let three = Duration::from_secs(3);
        let rl = RateLimit::sample(300, 0, 57, t0);
        p.observe(&Observation::new(op, Some(&rl), Some(three), t0));
        assert_eq!(p.free(op, t0), Err(t0 + three));
        assert_eq!(
            p.free(op, t0 + three - Duration::from_millis(1)),
            Err(t0 + three)
        );
        p.try_acquire(op, t0 + three).unwrap();
        // A shorter Retry-After later is the server's word too.
        let t1 = t0 + three;
        let one = Duration::from_secs(1);
        p.observe(&Observation::new(op, Some(&rl), Some(one), t1));
        assert_eq!(p.free(op, t1), Err(t1 + one));
    }

    #[test]
    fn a_limit_lowered_by_the_server_is_learned_and_an_old_window_is_ignored() {
        let op = Operation::GetService;
        let (t0, mut p) = one_call_answered(op, 2, 1, 60);
        p.try_acquire(op, t0).unwrap();
        assert!(p.try_acquire(op, t0).is_err());
        let t1 = t0 + MIN;
        p.try_acquire(op, t1).unwrap();
        p.try_acquire(op, t1).unwrap();
        assert!(
            p.try_acquire(op, t1).is_err(),
            "the learned limit per window"
        );
        // A late answer of the window before says nothing about this one.
        report(&mut p, op, RateLimit::sample(2, 0, 0, t1));
        let w = p.windows[slot(Bucket::GlobalMinute)];
        assert_eq!(w.resets_at, Some(t1 + MIN + ESTIMATE_MARGIN));
    }
}
