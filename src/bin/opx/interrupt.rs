//! Ctrl-C and SIGTERM while a money call is in flight: the first says a charge is in flight and
//! keeps waiting for the answer (the call's own deadline and watch still bound it); the second
//! abandons it. The journal already holds the call as unknown, so `opx pending` finds it later.

use std::future::Future;

use crate::failure::Failure;

/// The process's interrupts: SIGINT (Ctrl-C) and, on Unix, SIGTERM, each one stream for the
/// whole call (a quick double tap is two interrupts, not one).
struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            let int = std::pin::pin!(self.int.recv());
            let term = std::pin::pin!(self.term.recv());
            futures::future::select(int, term).await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs the money call `call` (a `what`: "purchase", "extension") to its end, unless
/// interrupted twice: then exit 5, the call left unknown in the journal. An interrupt while a
/// paced call waits for its rate-limit window (nothing of it sent) stops at once: exit 4.
pub async fn guarded<T>(what: &str, call: impl Future<Output = T>) -> Result<T, Failure> {
    guarded_with(what, call, || {}).await
}

/// [`guarded`], calling `on_first` at the first interrupt (a run of several calls stops
/// starting new ones).
pub async fn guarded_with<T>(
    what: &str,
    call: impl Future<Output = T>,
    on_first: impl FnOnce(),
) -> Result<T, Failure> {
    let Ok(mut interrupts) = Interrupts::listen() else {
        return Ok(call.await);
    };
    let mut call = std::pin::pin!(call);
    let mut on_first = Some(on_first);
    loop {
        tokio::select! {
            // The call first: an answer that is there wins over an interrupt that came with it.
            biased;
            out = &mut call => return Ok(out),
            () = interrupts.next() => {}
        }
        if crate::waiting::under_way() {
            // A paced call waiting for its window has not been sent: stopping loses nothing.
            first_of(&mut on_first);
            return Err(Failure::Exit(
                4,
                format!(
                    "interrupted while waiting for the rate-limit window; the call that \
                     waited was not sent (the {what} stopped there)"
                ),
            ));
        }
        let Some(first) = on_first.take() else {
            let happened = format!("stopped waiting for the {what}, which may still take effect");
            return Err(Failure::unknown(&happened, true, None));
        };
        first();
        eprintln!(
            "\nthe {what} is in flight (it may take effect): waiting for its answer; interrupt \
             again to stop waiting"
        );
    }
}

/// Calls `on_first` if it was not called yet.
fn first_of(on_first: &mut Option<impl FnOnce()>) {
    if let Some(first) = on_first.take() {
        first();
    }
}
