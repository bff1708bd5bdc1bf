//! Ctrl-C and SIGTERM while a money call is in flight: the first says a charge is in flight and
//! keeps waiting for the answer (the call's own deadline and watch still bound it); the second
//! abandons it. The journal already holds the call as unknown, so `opx pending` finds it later.

use std::future::Future;

use crate::failure::Failure;

/// The process's interrupts: SIGINT (Ctrl-C) and, on Unix, SIGTERM.
struct Interrupts {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn listen() -> std::io::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            let ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
            let term = std::pin::pin!(self.term.recv());
            futures::future::select(ctrl_c, term).await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs the money call `call` (a `what`: "purchase", "extension") to its end, unless
/// interrupted twice: then exit 5, the call left unknown in the journal.
pub async fn guarded<T>(what: &str, call: impl Future<Output = T>) -> Result<T, Failure> {
    let Ok(mut interrupts) = Interrupts::listen() else {
        return Ok(call.await);
    };
    let mut call = std::pin::pin!(call);
    let mut seen = 0;
    loop {
        tokio::select! {
            out = &mut call => return Ok(out),
            () = interrupts.next() => seen += 1,
        }
        if seen == 1 {
            eprintln!(
                "\nthe {what} is in flight (it may be charged): waiting for its answer; \
                 interrupt again to stop waiting"
            );
        } else {
            return Err(Failure::Exit(
                5,
                format!(
                    "outcome unknown: stopped waiting for the {what}, which may still be \
                     charged. It is kept in the journal as unknown: run `opx pending` to see \
                     whether it landed before trying again; sending it again now may charge \
                     twice"
                ),
            ));
        }
    }
}
