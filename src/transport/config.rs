//! Everything a transport is built from, in one value (the builder fills it in).

use std::time::Duration;

use super::clients::HttpClients;
use crate::clock::SharedClock;
use crate::ratelimit::RateLimitPolicy;
use crate::retry::{Jitter, RetryPolicy};

/// What a [`Transport`](super::Transport) is built from: the settings of a
/// [`ClientBuilder`](crate::ClientBuilder), checked.
pub(crate) struct TransportConfig {
    /// The base URL, checked, without a trailing slash.
    pub(crate) base_url: String,
    /// The API token, checked.
    pub(crate) token: String,
    /// The HTTP clients (idempotent calls; money calls).
    pub(crate) http: HttpClients,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_body: usize,
    /// One attempt's timeout.
    pub(crate) timeout: Option<Duration>,
    /// The whole call's, attempts and backoff together.
    pub(crate) deadline: Option<Duration>,
    pub(crate) clock: SharedClock,
    pub(crate) policy: RateLimitPolicy,
    /// Told before each wait of a paced call.
    pub(crate) on_wait: Option<WaitHook>,
    pub(crate) jitter: Jitter,
}

/// What a client calls before a paced call waits: the bucket, and the wait on its clock.
pub(crate) type WaitHook =
    std::sync::Arc<dyn Fn(crate::operation::Bucket, Duration) + Send + Sync + 'static>;
