//! The retry decision, as a pure function over what one attempt saw (compare smithy-rs's retry
//! classifiers): no I/O, no clock, so every rule is tested on its own.

use std::time::Duration;

use http::StatusCode;

use crate::operation::Operation;
use crate::ratelimit::{RateLimit, RateLimitPolicy};
use crate::retry::RetryPolicy;

/// What an attempt ended with, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No response, or its body was cut off.
    Transport,
    /// A whole response.
    Response {
        /// Its status.
        status: StatusCode,
        /// Its `Retry-After` (read on 429 and 503 only).
        retry_after: Option<Duration>,
        /// Whether it said `X-RateLimit-Remaining: 0`.
        exhausted: bool,
    },
    /// A body over the size cap (never retried: it would be as large again).
    TooLarge,
}

impl Outcome {
    /// The outcome of a whole response.
    pub(crate) fn response(
        status: StatusCode,
        retry_after: Option<Duration>,
        rate: Option<&RateLimit>,
    ) -> Self {
        Self::Response {
            status,
            retry_after,
            exhausted: rate.is_some_and(RateLimit::is_exhausted),
        }
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Return this attempt's result.
    Done,
    /// Send again after this delay.
    RetryAfter(Duration),
}

/// Statuses worth retrying for an idempotent call.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

/// Whether and when to send `operation` again after attempt number `attempt` (1-based) ended
/// with `outcome`. `backoff` is the policy's jittered delay for this attempt.
///
/// - A request that is not idempotent (purchase, extend, credentials) is never sent again.
/// - No attempt beyond the policy's `max_attempts`.
/// - A transport failure is retried after `backoff`.
/// - 500, 502, 503 and 504 are retried after `backoff`, or after `Retry-After` when it is longer,
///   unless `Retry-After` exceeds the policy's longest delay, or the response said the rate-limit
///   window is exhausted (`X-RateLimit-Remaining: 0`: the next attempt would be refused).
/// - 429 is retried only under [`WaitUpTo`](RateLimitPolicy::WaitUpTo), when `Retry-After` is
///   within its bound.
/// - Under [`Pace`](RateLimitPolicy::Pace), a 429 is sent again at once: the pacer makes it
///   wait for its window.
pub(crate) fn decide(
    limits: RateLimitPolicy,
    operation: Operation,
    outcome: Outcome,
    attempt: u32,
    policy: &RetryPolicy,
    backoff: Duration,
) -> Decision {
    if !operation.is_idempotent() || attempt >= policy.attempts() {
        return Decision::Done;
    }
    match outcome {
        Outcome::Response { status, .. }
            if limits == RateLimitPolicy::Pace && status == StatusCode::TOO_MANY_REQUESTS =>
        {
            Decision::RetryAfter(Duration::ZERO)
        }
        Outcome::TooLarge => Decision::Done,
        Outcome::Transport => Decision::RetryAfter(backoff),
        Outcome::Response {
            status,
            retry_after,
            exhausted,
        } => {
            if is_retryable_status(status) {
                if exhausted {
                    return Decision::Done;
                }
                return match retry_after {
                    Some(w) if w > policy.longest_delay() => Decision::Done,
                    Some(w) => Decision::RetryAfter(backoff.max(w)),
                    None => Decision::RetryAfter(backoff),
                };
            }
            match (status, limits, retry_after) {
                (StatusCode::TOO_MANY_REQUESTS, RateLimitPolicy::WaitUpTo(max), Some(w))
                    if w <= max =>
                {
                    Decision::RetryAfter(w)
                }
                _ => Decision::Done,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Duration = Duration::from_millis(100);

    fn status(s: u16) -> Outcome {
        answer(s, None, false)
    }

    /// A response with status `s`, a `Retry-After` of `retry_after` seconds, and whether it
    /// said the window is `exhausted`.
    fn answer(s: u16, retry_after: Option<u64>, exhausted: bool) -> Outcome {
        Outcome::Response {
            status: StatusCode::from_u16(s).unwrap(),
            retry_after: retry_after.map(Duration::from_secs),
            exhausted,
        }
    }

    /// A 429 that said the window is exhausted, with a `Retry-After` of `secs`.
    fn rate_limited(secs: u64) -> Outcome {
        answer(429, Some(secs), true)
    }

    fn get(outcome: Outcome, attempt: u32) -> Decision {
        decide(
            RateLimitPolicy::Surface,
            Operation::GetAccount,
            outcome,
            attempt,
            &RetryPolicy::default(),
            B,
        )
    }

    #[test]
    fn money_calls_are_never_sent_twice() {
        for op in Operation::ALL.into_iter().filter(|o| !o.is_idempotent()) {
            for outcome in [Outcome::Transport, status(500), status(502), status(503)] {
                let d = decide(
                    RateLimitPolicy::Surface,
                    op,
                    outcome,
                    1,
                    &RetryPolicy::default(),
                    B,
                );
                assert_eq!(d, Decision::Done, "{op} {outcome:?}");
            }
        }
    }

    #[test]
    fn transport_failures_and_gateway_statuses_are_retried_within_the_attempts() {
        assert_eq!(get(Outcome::Transport, 1), Decision::RetryAfter(B));
        for s in [500, 502, 503, 504] {
            assert_eq!(get(status(s), 2), Decision::RetryAfter(B), "{s}");
            assert_eq!(get(status(s), 3), Decision::Done, "{s}: no fourth attempt");
        }
        for s in [200, 400, 401, 402, 404, 405, 429, 501, 505] {
            assert_eq!(get(status(s), 1), Decision::Done, "{s}");
        }
        assert_eq!(get(Outcome::TooLarge, 1), Decision::Done);
    }

    #[test]
    fn retry_after_lengthens_the_wait_or_stops_it() {
        let with = |w: u64| answer(503, Some(w), false);
        assert_eq!(
            get(with(2), 1),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(get(with(3600), 1), Decision::Done);
    }

    #[test]
    fn an_exhausted_window_stops_a_5xx_retry() {
        assert_eq!(get(answer(502, None, true), 1), Decision::Done);
    }

    #[test]
    fn under_pacing_a_429_of_an_idempotent_call_is_sent_again_within_the_attempts() {
        let o = rate_limited(60);
        let p = RetryPolicy::default();
        let paced = |op, attempt| decide(RateLimitPolicy::Pace, op, o, attempt, &p, B);
        assert_eq!(
            paced(Operation::GetProxies, 1),
            Decision::RetryAfter(Duration::ZERO)
        );
        assert_eq!(paced(Operation::GetProxies, p.attempts()), Decision::Done);
        assert_eq!(paced(Operation::Purchase, 1), Decision::Done);
        let surfaced = decide(RateLimitPolicy::Surface, Operation::GetProxies, o, 1, &p, B);
        assert_eq!(surfaced, Decision::Done);
        assert_eq!(
            decide(
                RateLimitPolicy::Pace,
                Operation::GetProxies,
                status(503),
                1,
                &p,
                B
            ),
            Decision::RetryAfter(B)
        );
    }

    #[test]
    fn a_429_is_retried_only_when_the_policy_waits_long_enough() {
        let o = rate_limited(2);
        assert_eq!(get(o, 1), Decision::Done);
        let p = RetryPolicy::default();
        let under = |limits| decide(limits, Operation::GetAccount, o, 1, &p, B);
        let up_to = |secs| RateLimitPolicy::WaitUpTo(Duration::from_secs(secs));
        assert_eq!(
            under(up_to(5)),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(under(up_to(1)), Decision::Done);
        assert_eq!(under(RateLimitPolicy::ServerDecides), Decision::Done);
        let purchase = decide(up_to(5), Operation::Purchase, o, 1, &p, B);
        assert_eq!(purchase, Decision::Done, "a money call is never sent again");
    }
}
