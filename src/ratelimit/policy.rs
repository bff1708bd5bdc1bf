//! [`RateLimitPolicy`]: what a client does when a rate-limit window is exhausted.

/// What a client does when a rate-limit window is exhausted.
///
/// ```no_run
/// # async fn demo() -> opx::Result<()> {
/// use opx::{Client, RateLimitPolicy};
/// // A long job: run at the limit, never take a 429.
/// let client = Client::builder()
///     .token("opx_live_0123456789abcdef0123456789abcdef")
///     .rate_limit_policy(RateLimitPolicy::Pace)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateLimitPolicy {
    /// The default, as the docs ask: an exhausted window (`X-RateLimit-Remaining: 0`, or a 429
    /// with `Retry-After`) is surfaced to the caller. Further calls of that bucket fail at once
    /// with [`ErrorKind::RateLimitedLocally`](crate::ErrorKind::RateLimitedLocally) until the
    /// window resets (unless
    /// [`fail_fast_when_rate_limited(false)`](crate::ClientBuilder::fail_fast_when_rate_limited)), and
    /// nothing waits or retries silently.
    #[default]
    Surface,
    /// Opt in: calls wait for their turn instead. The client counts every request against the
    /// documented buckets (the spec's `x-rate-limits`: per minute, per hour, per operation) and
    /// corrects the count from each response's `X-RateLimit-*` headers; a call is sent while
    /// every bucket it counts against has requests left, and otherwise waits for the reset of
    /// the exhausted one. For fixed windows (the API's and the mock's) this is the fastest
    /// schedule that takes no 429. The state is shared by every clone of the client, so
    /// concurrent calls are paced together. A 429 that still arrives (another client using the
    /// same key) makes the bucket wait for `Retry-After`; an idempotent call is then sent again
    /// (within the retry policy's attempts), a purchase, extension or credentials change never.
    ///
    /// A paced call can wait as long as the longest window (an hour); that wait is not part of
    /// the call's [`deadline`](crate::ClientBuilder::deadline), which still bounds its attempts.
    Pace,
}
