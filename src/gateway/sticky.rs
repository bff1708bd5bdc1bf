//! Sticky sessions' kept connections: a plain-HTTP request of session `KEY` to a target reuses
//! the upstream connection of the session's last request to it (the same exit address), until
//! the session's time runs out on the client's clock. A kept connection holds its lease (one
//! thread of its service); dropping the entry closes it and gives the thread back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;

use super::counting::Traffic;
use super::lines::Line;

/// An upstream connection kept for a session.
pub(crate) struct Kept {
    pub(crate) sender: SendRequest<Incoming>,
    pub(crate) line: Arc<Line>,
    pub(crate) traffic: Arc<Traffic>,
    pub(crate) until: Instant,
}

/// The kept connections, by (session, target).
#[derive(Default)]
pub(crate) struct Sticky {
    kept: Mutex<HashMap<(String, String), Kept>>,
}

impl Sticky {
    /// The session's connection to `target`, if one is kept and its time has not run out
    /// (expired ones are dropped on the way).
    pub(crate) fn take(&self, session: &str, target: &str, now: Instant) -> Option<Kept> {
        let mut kept = crate::sync::lock(&self.kept);
        kept.retain(|_, k| k.until > now && !k.sender.is_closed());
        kept.remove(&(session.to_owned(), target.to_owned()))
    }

    /// Keeps a connection for the session (replacing an older one, which then closes).
    pub(crate) fn put(&self, session: &str, target: &str, k: Kept) {
        let mut kept = crate::sync::lock(&self.kept);
        kept.insert((session.to_owned(), target.to_owned()), k);
    }

    /// Drops the connections whose time has run out.
    pub(crate) fn sweep(&self, now: Instant) {
        let mut kept = crate::sync::lock(&self.kept);
        kept.retain(|_, k| k.until > now && !k.sender.is_closed());
    }
}
