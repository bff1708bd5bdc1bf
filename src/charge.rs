//! What an answer to a money call (purchase, extension, new credentials) proves about its
//! effect: the one classifier behind the library's errors, `opx api` and every CLI command.
//!
//! The rule (SECURITY.md, "Three outcomes"):
//!
//! - **done**: the server answered 2xx (its answer says so, read or not);
//! - **not done**, only with proof that the server did not process the request: nothing was
//!   sent (a local refusal, a connection that could not be made), a 429, or a 4xx that carries
//!   the API's error envelope;
//! - **unknown**: anything else (a timeout or a dropped connection after the request may have
//!   been written, any 5xx, a 4xx or 3xx without the envelope, a body that cannot be read).

use http::StatusCode;

use crate::envelope::parse_envelope;
use crate::error::{Error, ErrorKind};

/// Whether a money call took effect, as far as its answer proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charge {
    /// It took effect (the balance was charged; for new credentials, they were replaced).
    Done,
    /// It did not take effect: the server provably did not process it.
    NotDone,
    /// It may or may not have taken effect: check before sending it again.
    Unknown,
}

impl Charge {
    /// `Some(true)` for [`Done`](Self::Done), `Some(false)` for [`NotDone`](Self::NotDone),
    /// `None` for [`Unknown`](Self::Unknown): the form of every `charged()` in this crate.
    pub fn charged(self) -> Option<bool> {
        match self {
            Self::Done => Some(true),
            Self::NotDone => Some(false),
            Self::Unknown => None,
        }
    }

    /// What a money call's `answer` proves.
    ///
    /// ```
    /// use opx::safe::{Answer, Charge};
    /// use http::StatusCode;
    /// let refused = br#"{"status":"error","error":{"code":"insufficient_balance","message":"low"}}"#;
    /// let html = b"<html>Bad Gateway</html>";
    /// assert_eq!(Charge::of(&Answer::Status(StatusCode::PAYMENT_REQUIRED, refused)), Charge::NotDone);
    /// assert_eq!(Charge::of(&Answer::Status(StatusCode::BAD_GATEWAY, html)), Charge::Unknown);
    /// assert_eq!(Charge::of(&Answer::Status(StatusCode::OK, html)), Charge::Done);
    /// assert_eq!(Charge::of(&Answer::Lost), Charge::Unknown);
    /// ```
    pub fn of(answer: &Answer<'_>) -> Self {
        match answer {
            Answer::NotSent => Self::NotDone,
            Answer::Lost => Self::Unknown,
            Answer::Status(status, _) if status.is_success() => Self::Done,
            Answer::Status(StatusCode::TOO_MANY_REQUESTS, _) => Self::NotDone,
            Answer::Status(status, body) if status.is_client_error() => {
                match parse_envelope(body) {
                    Some(_) => Self::NotDone,
                    None => Self::Unknown,
                }
            }
            Answer::Status(..) => Self::Unknown,
        }
    }
}

/// What came back from a money call, for [`Charge::of`].
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// Nothing was sent: refused locally, or the connection could not be made (no byte of the
    /// request reached the server).
    NotSent,
    /// The request may have been written, and no status line came back (timeout, dropped
    /// connection).
    Lost,
    /// A status line came back, with the body as far as it was read (empty when it was not).
    Status(StatusCode, &'a [u8]),
}

impl Error {
    /// What the call that failed with this error proves about its effect, by the error's kind:
    /// [`Charge::Done`] when the server accepted it ([`ErrorKind::Unread`]), [`Charge::Unknown`]
    /// when that is unknown ([`ErrorKind::OutcomeUnknown`]), [`Charge::NotDone`] otherwise: the
    /// server provably did not process it (a refusal with the API's error envelope, a 429,
    /// nothing sent), or the call does not spend money at all.
    pub fn charge(&self) -> Charge {
        // Exhaustive: a new kind must say what it proves. Only what `transport/classify.rs`
        // (through `Charge::of`) or a local refusal before sending makes of a money call may
        // say "not charged".
        match self.kind() {
            ErrorKind::Unread => Charge::Done,
            ErrorKind::OutcomeUnknown => Charge::Unknown,
            ErrorKind::Config
            | ErrorKind::Validation
            | ErrorKind::RateLimitedLocally
            | ErrorKind::PendingUnknown
            | ErrorKind::SpendCap
            | ErrorKind::Api
            | ErrorKind::Transport
            | ErrorKind::Decode
            | ErrorKind::BodyTooLarge => Charge::NotDone,
        }
    }

    /// Whether the call that failed with this error charged the balance (for new credentials:
    /// replaced them), as far as can be proven: [`charge`](Self::charge) as `Some(true)`,
    /// `Some(false)` or `None`. It agrees with
    /// [`PurchaseOutcome::charged`](crate::safe::PurchaseOutcome::charged) and
    /// [`ExtendOutcome::charged`](crate::safe::ExtendOutcome::charged).
    pub fn charged(&self) -> Option<bool> {
        self.charge().charged()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &[u8] =
        br#"{"status":"error","error":{"code":"invalid_plan_id","message":"no"}}"#;

    fn of(status: u16, body: &[u8]) -> Charge {
        Charge::of(&Answer::Status(StatusCode::from_u16(status).unwrap(), body))
    }

    #[test]
    fn every_2xx_is_done_whatever_its_body() {
        for status in 200..300 {
            assert_eq!(of(status, b""), Charge::Done, "{status}");
            assert_eq!(of(status, b"<html>"), Charge::Done, "{status}");
        }
    }

    #[test]
    fn only_a_4xx_envelope_or_a_429_proves_not_done() {
        for status in 400..500 {
            let bare = if status == 429 {
                Charge::NotDone
            } else {
                Charge::Unknown
            };
            assert_eq!(of(status, ENVELOPE), Charge::NotDone, "{status}");
            assert_eq!(of(status, b"<html>403</html>"), bare, "{status}");
            assert_eq!(of(status, b""), bare, "{status}");
        }
    }

    #[test]
    fn every_other_status_is_unknown_even_with_an_envelope() {
        for status in (100..200).chain(300..400).chain(500..600) {
            assert_eq!(of(status, ENVELOPE), Charge::Unknown, "{status}");
        }
    }

    #[test]
    fn nothing_sent_is_not_done_and_a_lost_answer_unknown() {
        assert_eq!(Charge::of(&Answer::NotSent).charged(), Some(false));
        assert_eq!(Charge::of(&Answer::Lost).charged(), None);
        assert_eq!(Charge::Done.charged(), Some(true));
    }
}
