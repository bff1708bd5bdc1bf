//! Sticky sessions' kept connections: a plain-HTTP request of session `KEY` to a target reuses
//! the upstream connection of the session's last request to it (the same exit address), until
//! the session's time runs out on the client's clock, the connection closes or fails, or its
//! line may no longer be used (ejected, new credentials, its service gone or expired).
//!
//! The requests of one session to one target take turns on that connection (HTTP/1 carries one
//! at a time): a request waits for the session's turn, so concurrent requests of a session do
//! not open other connections (other exits). A kept connection holds its lease (one thread of
//! its service); dropping it closes the connection and gives the thread back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use tokio::sync::OwnedMutexGuard;

use super::counting::Traffic;
use super::lines::Line;
use super::pool::Pool;

/// An upstream connection kept for a session.
pub(crate) struct Kept {
    pub(crate) sender: SendRequest<Incoming>,
    pub(crate) line: Arc<Line>,
    pub(crate) traffic: Arc<Traffic>,
    pub(crate) until: Instant,
}

impl Kept {
    /// Whether the connection may carry another request: its time has not run out, it is
    /// open, and its line is still in use as it was (not ejected, same credentials, its
    /// service neither gone nor expired).
    pub(crate) fn usable(&self, pool: &Pool) -> bool {
        self.until > pool.now() && !self.sender.is_closed() && pool.usable(&self.line)
    }
}

/// A session's turn on its connection to a target: what it holds while it has the turn
/// (`None`: no connection kept). Put a connection back in it to keep it.
pub(crate) type Turn = OwnedMutexGuard<Option<Kept>>;

type Slot = Arc<tokio::sync::Mutex<Option<Kept>>>;

/// The kept connections, by (session, target).
#[derive(Default)]
pub(crate) struct Sticky {
    kept: Mutex<HashMap<(String, String), Slot>>,
}

impl Sticky {
    /// The session's turn on its connection to `target`, once no other request of the session
    /// has it; `None` if that took longer than `wait` (the request then goes alone).
    pub(crate) async fn turn(&self, session: &str, target: &str, wait: Duration) -> Option<Turn> {
        let slot = {
            let mut kept = crate::sync::lock(&self.kept);
            let key = (session.to_owned(), target.to_owned());
            kept.entry(key).or_default().clone()
        };
        tokio::time::timeout(wait, slot.lock_owned()).await.ok()
    }

    /// Closes the kept connections that may not be used any more, and forgets the sessions
    /// that keep none and that no request is using.
    pub(crate) fn sweep(&self, pool: &Pool) {
        let mut kept = crate::sync::lock(&self.kept);
        kept.retain(|_, slot| {
            // A slot in use (or waited for) is left alone: its request decides.
            let keep = match slot.try_lock() {
                Ok(mut k) => {
                    if k.as_ref().is_some_and(|k| !k.usable(pool)) {
                        *k = None;
                    }
                    k.is_some()
                }
                Err(_) => true,
            };
            keep || Arc::strong_count(slot) > 1
        });
    }
}
