//! Expectations, as wiremock users know them: how often an operation must be called, verified
//! when the server is dropped (or on [`Records::verify`](crate::mock::Records::verify)).

use std::fmt;

use crate::operation::Operation;

/// How many calls of an operation a test expects.
///
/// ```no_run
/// # async fn demo() {
/// use opx::Operation;
/// use opx::mock::{Expectation, MockServer};
/// let server = MockServer::start().await;
/// server.records().expect(Operation::Purchase, Expectation::exactly(1));
/// server.records().expect(Operation::ListServices, Expectation::at_most(2));
/// // ... the code under test ...
/// // Dropping `server` panics with what was called if an expectation is not met.
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectation {
    min: u64,
    max: u64,
}

impl Expectation {
    /// Exactly `n` calls.
    pub fn exactly(n: u64) -> Self {
        Self { min: n, max: n }
    }
    /// At most `n` calls.
    pub fn at_most(n: u64) -> Self {
        Self { min: 0, max: n }
    }
    /// At least `n` calls.
    pub fn at_least(n: u64) -> Self {
        Self {
            min: n,
            max: u64::MAX,
        }
    }
    /// Whether `calls` meets it.
    pub fn is_met_by(&self, calls: u64) -> bool {
        (self.min..=self.max).contains(&calls)
    }
}

impl From<u64> for Expectation {
    fn from(n: u64) -> Self {
        Self::exactly(n)
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (a, b) if a == b => write!(f, "exactly {a}"),
            (0, b) => write!(f, "at most {b}"),
            (a, _) => write!(f, "at least {a}"),
        }
    }
}

/// What failed verification: one line per unmet expectation, then every operation called.
pub(crate) fn report(
    expected: &[(Operation, Expectation)],
    calls: &dyn Fn(Operation) -> u64,
) -> Result<(), String> {
    let unmet: Vec<String> = expected
        .iter()
        .filter(|(op, e)| !e.is_met_by(calls(*op)))
        .map(|(op, e)| format!("{op}: expected {e} call(s), got {}", calls(*op)))
        .collect();
    if unmet.is_empty() {
        return Ok(());
    }
    let called: Vec<String> = Operation::ALL
        .into_iter()
        .filter(|op| calls(*op) > 0)
        .map(|op| format!("{op} x{}", calls(op)))
        .collect();
    Err(format!(
        "mock expectations not met:\n  {}\ncalled: {}",
        unmet.join("\n  "),
        if called.is_empty() {
            "nothing".to_string()
        } else {
            called.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_say_what_was_called() {
        let calls = |op| if op == Operation::Purchase { 2 } else { 0 };
        let exp = [(Operation::Purchase, Expectation::exactly(1))];
        let e = report(&exp, &calls).unwrap_err();
        assert!(
            e.contains("purchase: expected exactly 1 call(s), got 2"),
            "{e}"
        );
        assert!(e.contains("called: purchase x2"), "{e}");
        assert!(report(&[(Operation::Purchase, Expectation::at_least(2))], &calls).is_ok());
        assert!(report(&[(Operation::GetAccount, Expectation::at_most(0))], &calls).is_ok());
    }
}
