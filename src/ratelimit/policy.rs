//! [`RateLimitPolicy`]: what a client does when a rate-limit window is exhausted.

use std::time::Duration;

/// What a client does when a rate-limit window is exhausted: the one rate-limit setting, in
/// four modes. Whatever the mode, a purchase, extension or credentials change is never charged
/// twice (it is sent again only after a 429, which proves it was not processed, and only by the
/// safe calls under `Pace`), and streams of pages and bulk calls are paced (they wait for a window rather than end
/// midway).
///
/// | mode | a call whose window is known to be exhausted | a 429 from the server |
/// |---|---|---|
/// | [`Surface`](Self::Surface) (default) | refused at once, locally, naming the bucket | surfaced |
/// | [`WaitUpTo(max)`](Self::WaitUpTo) | waits for the reset when it is at most `max` away, else refused | an idempotent call waits `Retry-After` (at most `max`) and is sent again |
/// | [`ServerDecides`](Self::ServerDecides) | sent anyway | surfaced |
/// | [`Pace`](Self::Pace) | waits for its window, however long | waited for, sent again if idempotent, or by `purchase_safely` / `extend_safely` (a 429 proves it was not processed) |
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
    /// window resets, and no single call waits or retries silently. Streams of pages and bulk
    /// calls ([`Client::services_stream`](crate::Client::services_stream),
    /// [`Client::proxy_lists`](crate::Client::proxy_lists), ...) are paced whatever the policy:
    /// they wait for a window rather than end midway.
    #[default]
    Surface,
    /// Short waits are taken, long ones surfaced: a call whose window is known to be exhausted
    /// waits for its reset when that is at most this long away (and is refused locally, as
    /// under [`Surface`](Self::Surface), otherwise); a 429 whose `Retry-After` is at most this
    /// long makes an idempotent call wait and send again (within the retry policy's attempts).
    /// A purchase, extension or credentials change that gets a 429 is never sent again.
    WaitUpTo(Duration),
    /// Every call is sent, whatever the client knows of the windows: the server's 429 is
    /// surfaced as it comes (for a key shared with other programs, whose windows this client
    /// cannot see, or to test a server's limits).
    ServerDecides,
    /// Opt in: calls wait for their turn instead. The client counts every request against the
    /// documented buckets (the spec's `x-rate-limits`: per minute, per hour, per operation) and
    /// corrects the count from each response's `X-RateLimit-*` headers; a call is sent while
    /// every bucket it counts against has requests left, and otherwise waits for the reset of
    /// the exhausted one. For fixed windows (the API's and the mock's) this is the fastest
    /// schedule that takes no 429. The state is shared by every clone of the client, so
    /// concurrent calls are paced together. A 429 that still arrives (another client using the
    /// same key) makes the bucket wait for `Retry-After`; an idempotent call is then sent again
    /// (within the retry policy's attempts). A bare purchase, extension or credentials change
    /// never is; [`Client::purchase_safely`](crate::Client::purchase_safely) and
    /// [`Client::extend_safely`](crate::Client::extend_safely) send theirs again after the wait,
    /// since the 429 proves it was not processed (each send journaled on its own).
    ///
    /// A paced call can wait as long as the longest window (an hour); that wait is not part of
    /// the call's [`deadline`](crate::ClientBuilder::deadline), which still bounds its attempts.
    Pace,
}
