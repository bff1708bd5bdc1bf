//! The `Pace` policy in the request path: whether a call is paced, and the wait for its permit
//! (the count itself is `crate::ratelimit::Pacer`).

use std::time::{Duration, Instant};

use super::Transport;
use crate::operation::{Bucket, Operation};
use crate::ratelimit::RateLimitPolicy;
use crate::sync::lock;

impl Transport {
    /// The rate-limit policy in effect: the client's, or [`Pace`](RateLimitPolicy::Pace)
    /// inside a bulk operation (see [`crate::ratelimit::paced`]).
    pub(crate) fn rate_limit_policy(&self) -> RateLimitPolicy {
        if crate::ratelimit::is_paced() {
            RateLimitPolicy::Pace
        } else {
            self.policy
        }
    }

    /// Whether calls wait for their rate-limit window.
    pub(crate) fn pacing(&self) -> bool {
        self.rate_limit_policy() == RateLimitPolicy::Pace
    }

    /// Waits until the pacer gives `operation` a permit; returns how long that took.
    pub(super) async fn pace(&self, operation: Operation) -> Duration {
        let t0 = self.clock.now();
        loop {
            let now = self.clock.now();
            let (until, bucket) = match lock(&self.pacer).try_acquire(operation, now) {
                Ok(()) => return now.saturating_duration_since(t0),
                Err(blocked) => blocked,
            };
            if !self.in_flight.is_idle() {
                // Their answers may change the count; then look again.
                self.in_flight.settled().await;
                continue;
            }
            tracing::debug!(
                operation = operation.id(),
                wait_ms = until.saturating_duration_since(now).as_millis() as u64,
                "pacing: waiting for the rate-limit window"
            );
            self.tell_wait(bucket, until, now);
            self.clock.sleep_until(until).await;
        }
    }

    /// Tells the client's hook of a wait until `until`, unless it was told of that one.
    fn tell_wait(&self, bucket: Bucket, until: Instant, now: Instant) {
        let Some(hook) = &self.on_wait else {
            return;
        };
        if lock(&self.told).replace(until) == Some(until) {
            return;
        }
        hook(bucket, until.saturating_duration_since(now));
    }
}
