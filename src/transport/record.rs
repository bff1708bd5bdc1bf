//! The record of one call: what the hook saw of its last attempt, kept where the generated code
//! loses it (an HTML 502 decoded as `InvalidResponsePayload` has no status or headers left).
//!
//! Each call runs inside [`recorded`], which gives the call's task a fresh [`CallRecord`] (a
//! tokio task-local), without an allocation or a lock per call.

use std::{cell::RefCell, future::Future, time::Duration};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use crate::ratelimit::RateLimit;

/// What the hook saw of the last attempt of one call.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    /// The status as the server sent it (the generated code may see 200 for any 2xx).
    pub(crate) status: Option<StatusCode>,
    pub(crate) content_type: Option<HeaderValue>,
    pub(crate) body: Bytes,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) attempts: u32,
    pub(crate) too_large: bool,
    pub(crate) body_failed: bool,
    /// The response came from another URL than the one sent to: a caller's reqwest client
    /// followed a redirect (this crate's own clients never do).
    pub(crate) redirected: bool,
}

impl CallRecord {
    /// The status was a 2xx.
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_some_and(|s| s.is_success())
    }
}

tokio::task_local! {
    /// The record of the call running in this task, set by [`recorded`].
    static RECORD: RefCell<CallRecord>;
}

/// Runs `call` with a fresh [`CallRecord`] for the hook to fill in, and returns both. A request
/// sent outside `recorded` (the generated client used directly) is simply not recorded.
///
/// Built from combinators rather than an `async` block or `async fn`: those keep the captured
/// future (several KiB) beside the copy they await, doubling what every call moves around.
pub(crate) fn recorded<F: Future>(call: F) -> impl Future<Output = (F::Output, CallRecord)> {
    use futures::FutureExt as _;
    RECORD.scope(
        RefCell::new(CallRecord::default()),
        call.map(|output| (output, RECORD.with(RefCell::take))),
    )
}

/// Updates the current call's record, if there is one.
pub(crate) fn note(update: impl FnOnce(&mut CallRecord)) {
    let _ = RECORD.try_with(|record| update(&mut record.borrow_mut()));
}
