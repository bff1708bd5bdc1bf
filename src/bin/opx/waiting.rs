//! Saying what a paced call waits for: one line on stderr before any wait over 2 s (on a
//! terminal, a countdown that rewrites itself, or the message of the progress bar when one is
//! shown), and whether a wait is under way (an interrupt then stops waiting: nothing was sent).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use opx::operation::Bucket;

/// Waits up to this long are not worth a line.
pub const QUIET_WAIT: Duration = Duration::from_secs(2);

/// The end of the wait under way (on the system clock, which the tool's client runs on).
static UNTIL: Mutex<Option<Instant>> = Mutex::new(None);
/// The progress bar on screen, if a command shows one: a countdown goes in its message.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Shows countdowns in `bar`'s message while it is on screen (`None`: no bar any more).
pub fn show_in(bar: Option<ProgressBar>) {
    *lock(&BAR) = bar;
}

/// Whether a paced call is waiting for its window now (so nothing of it was sent yet).
pub fn under_way() -> bool {
    lock(&UNTIL).is_some_and(|until| Instant::now() < until)
}

/// The line said before a wait of `wait` for `bucket` (whole seconds, rounded up).
pub fn line(bucket: Bucket, wait: Duration) -> String {
    format!(
        "waiting {} for the {} rate limit (Ctrl-C to stop)",
        crate::failure::whole_seconds(wait),
        bucket.name(),
    )
}

/// The client's hook ([`opx::ClientBuilder::on_pacing_wait`]): notes the wait, and says it
/// when it is over [`QUIET_WAIT`].
pub fn notify(bucket: Bucket, wait: Duration) {
    let until = Instant::now() + wait;
    *lock(&UNTIL) = Some(until);
    if wait <= QUIET_WAIT {
        return;
    }
    let bar = lock(&BAR).clone();
    let terminal = std::io::stderr().is_terminal();
    match (bar, tokio::runtime::Handle::try_current()) {
        (Some(bar), Ok(rt)) if !bar.is_hidden() => {
            rt.spawn(countdown(bucket, until, move |text| match text {
                Some(t) => bar.set_message(t),
                None => bar.set_message(""),
            }));
        }
        (_, Ok(rt)) if terminal => {
            rt.spawn(countdown(bucket, until, |text| {
                let mut err = std::io::stderr().lock();
                let _ = match text {
                    Some(t) => write!(err, "\r\x1b[K{t}"),
                    None => write!(err, "\r\x1b[K"),
                };
                let _ = err.flush();
            }));
        }
        _ => eprintln!("{}", line(bucket, wait)),
    }
}

/// Shows the time left until `until` once a second (`Some(text)`), then clears it (`None`).
async fn countdown(bucket: Bucket, until: Instant, show: impl Fn(Option<String>)) {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // Whole seconds, rounded up: the count reaches 1 s, never 0 s, before it is cleared.
        let shown = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        show(Some(line(bucket, Duration::from_secs(shown))));
        let tick = left - Duration::from_secs(left.as_secs());
        let tick = if tick.is_zero() {
            Duration::from_secs(1)
        } else {
            tick
        };
        tokio::time::sleep(tick).await;
    }
    show(None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_wait_the_bucket_and_how_to_stop() {
        let l = line(Bucket::GlobalMinute, Duration::from_millis(2_990));
        assert_eq!(
            l,
            "waiting 3 s for the global_minute rate limit (Ctrl-C to stop)"
        );
        let l = line(Bucket::Purchase, Duration::from_secs(40 * 60));
        assert_eq!(
            l,
            "waiting 40 min for the purchase rate limit (Ctrl-C to stop)"
        );
    }

    #[tokio::test]
    async fn a_wait_is_under_way_until_its_end() {
        notify(Bucket::GlobalMinute, Duration::from_millis(300));
        assert!(under_way());
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(!under_way());
    }
}
