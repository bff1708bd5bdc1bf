//! Fault injection: the next N calls of an operation fail in a chosen way ([`Fault`]), when
//! they fire ([`Schedule`], the per-operation queue), and the JSON form of a [`Fault`] for the
//! control API (`POST /_mock/faults`): `{"kind": "status", "status": 500}`,
//! `{"kind": "delay", "ms": 300}`, `{"kind": "after_commit", "then": {"kind": "truncated_body"}}`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A failure to inject with [`Faults::inject`](crate::mock::Faults::inject).
///
/// [`Fault::Delay`] delays the request and then answers normally; every other fault replaces
/// the response. Injected responses are deliberately outside the spec and are not
/// response-validated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and the error envelope (code chosen from the status).
    Status(u16),
    /// Answer 502 with an HTML body, as a reverse proxy would.
    Html502,
    /// Answer 429 `rate_limited`, with or without a `Retry-After` header.
    RateLimited {
        /// The `Retry-After` value in seconds; `None` omits the header.
        retry_after: Option<u64>,
    },
    /// Wait this long on the mock's clock, then answer normally. If the client hangs up
    /// meanwhile, the operation does not run (the mock abandons the call). In virtual time the
    /// wait ends when something moves the clock that far (a client's sleep on it,
    /// [`MockClock::advance`](crate::mock::MockClock::advance)); on the wall clock, at its scale.
    Delay(Duration),
    /// Wait this long on the mock's clock (as [`Fault::Delay`]), then run the operation
    /// **whether or not the client is still there**: a server that commits a request its
    /// client gave up on, seen as late as a real one would be seen.
    SlowCommit(Duration),
    /// Run the operation (its effect commits), then answer as the inner fault would: committed,
    /// then the answer was garbled (`AfterCommit(Box::new(Fault::TruncatedBody))`) or refused.
    /// With [`Fault::Delay`] inside, the real answer is sent that much later: committed, then
    /// answered after the client's deadline.
    AfterCommit(Box<Fault>),
    /// Close the connection without answering; the operation does not run.
    DropBeforeResponse,
    /// Run the operation (its effect commits), then close the connection without answering.
    DropAfterCommit,
    /// Answer 200 `application/json` with a body that is not valid JSON.
    MalformedJson,
    /// Answer 200 with a `Content-Length` larger than the body sent, then close.
    TruncatedBody,
    /// Answer 200 with `text/html` instead of JSON.
    WrongContentType,
}

/// A fault as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum FaultJson {
    Status {
        status: u16,
    },
    Html502,
    RateLimited {
        #[serde(default)]
        retry_after: Option<u64>,
    },
    Delay {
        ms: u64,
    },
    SlowCommit {
        ms: u64,
    },
    DropBeforeResponse,
    DropAfterCommit,
    AfterCommit {
        then: Box<FaultJson>,
    },
    MalformedJson,
    TruncatedBody,
    WrongContentType,
}

impl From<FaultJson> for Fault {
    fn from(f: FaultJson) -> Self {
        match f {
            FaultJson::Status { status } => Fault::Status(status),
            FaultJson::Html502 => Fault::Html502,
            FaultJson::RateLimited { retry_after } => Fault::RateLimited { retry_after },
            FaultJson::Delay { ms } => Fault::Delay(Duration::from_millis(ms)),
            FaultJson::SlowCommit { ms } => Fault::SlowCommit(Duration::from_millis(ms)),
            FaultJson::DropBeforeResponse => Fault::DropBeforeResponse,
            FaultJson::DropAfterCommit => Fault::DropAfterCommit,
            FaultJson::AfterCommit { then } => Fault::AfterCommit(Box::new((*then).into())),
            FaultJson::MalformedJson => Fault::MalformedJson,
            FaultJson::TruncatedBody => Fault::TruncatedBody,
            FaultJson::WrongContentType => Fault::WrongContentType,
        }
    }
}

impl From<&Fault> for FaultJson {
    fn from(f: &Fault) -> Self {
        let ms = |d: &Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match f {
            Fault::Status(status) => FaultJson::Status { status: *status },
            Fault::Html502 => FaultJson::Html502,
            Fault::RateLimited { retry_after } => FaultJson::RateLimited {
                retry_after: *retry_after,
            },
            Fault::Delay(d) => FaultJson::Delay { ms: ms(d) },
            Fault::SlowCommit(d) => FaultJson::SlowCommit { ms: ms(d) },
            Fault::DropBeforeResponse => FaultJson::DropBeforeResponse,
            Fault::DropAfterCommit => FaultJson::DropAfterCommit,
            Fault::AfterCommit(then) => FaultJson::AfterCommit {
                then: Box::new(then.as_ref().into()),
            },
            Fault::MalformedJson => FaultJson::MalformedJson,
            Fault::TruncatedBody => FaultJson::TruncatedBody,
            Fault::WrongContentType => FaultJson::WrongContentType,
        }
    }
}

/// When an injected fault fires.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Schedule {
    /// The next `n` calls.
    Times(u32),
    /// Only the `n`-th call from now (1 = the next one); the calls before it answer normally.
    Nth(u32),
    /// Each call with this probability (0.0-1.0), until cleared; drawn from the mock's seeded
    /// generator, so a seeded run repeats.
    Probability(f64),
}

#[cfg(test)]
mod schedule_tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn schedules_fire_as_named() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut q = FaultQueue::default();
        q.push(Fault::Html502, Schedule::Nth(3));
        let fired: Vec<bool> = (0..4).map(|_| q.take(&mut rng).is_some()).collect();
        assert_eq!(fired, [false, false, true, false]);
        q.push(Fault::Html502, Schedule::Times(2));
        let fired: Vec<bool> = (0..3).map(|_| q.take(&mut rng).is_some()).collect();
        assert_eq!(fired, [true, true, false]);
        q.push(Fault::Html502, Schedule::Probability(0.5));
        let n = (0..1000).filter(|_| q.take(&mut rng).is_some()).count();
        assert!((400..600).contains(&n), "{n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_has_a_json_form_that_reads_back() {
        let all = [
            Fault::Status(503),
            Fault::Html502,
            Fault::RateLimited {
                retry_after: Some(3),
            },
            Fault::Delay(Duration::from_millis(7)),
            Fault::SlowCommit(Duration::from_millis(9)),
            Fault::DropBeforeResponse,
            Fault::DropAfterCommit,
            Fault::AfterCommit(Box::new(Fault::TruncatedBody)),
            Fault::MalformedJson,
            Fault::TruncatedBody,
            Fault::WrongContentType,
        ];
        for f in all {
            let json = serde_json::to_value(FaultJson::from(&f)).unwrap();
            let back: FaultJson = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(Fault::from(back), f, "{json}");
        }
        assert!(serde_json::from_str::<FaultJson>(r#"{"kind": "explode"}"#).is_err());
    }
}

/// The faults waiting for one operation, in the order injected.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue(std::collections::VecDeque<(Fault, Schedule)>);

impl FaultQueue {
    /// Queues a fault.
    pub(crate) fn push(&mut self, fault: Fault, schedule: Schedule) {
        let live = match schedule {
            Schedule::Times(n) | Schedule::Nth(n) => n > 0,
            Schedule::Probability(p) => p > 0.0,
        };
        if live {
            self.0.push_back((fault, schedule));
        }
    }

    /// The fault this call gets, if any (the first queued one decides).
    pub(crate) fn take(&mut self, rng: &mut impl rand::Rng) -> Option<Fault> {
        let (fault, schedule) = self.0.front_mut()?;
        let fault = fault.clone();
        let (fires, spent) = match schedule {
            Schedule::Times(n) => {
                *n -= 1;
                (true, *n == 0)
            }
            Schedule::Nth(n) => {
                *n -= 1;
                (*n == 0, *n == 0)
            }
            Schedule::Probability(p) => (rng.random::<f64>() < *p, false),
        };
        if spent {
            self.0.pop_front();
        }
        fires.then_some(fault)
    }

    /// The queued faults, for `GET /_mock/faults`.
    pub(crate) fn list(&self) -> Vec<(FaultJson, Schedule)> {
        self.0.iter().map(|(f, s)| (f.into(), *s)).collect()
    }
}
