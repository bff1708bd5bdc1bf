//! Which command reaches each API operation, said once: an operation added to the spec does not
//! compile until it is named here (`opx api` reaches any operation that has no command of its
//! own yet: `"api"`).
//!
//! `opx::Operation` is `#[non_exhaustive]`, so outside the library a `match` on it needs a `_`
//! arm and could not make the compiler point here; the table below does instead: its length is
//! `Operation::ALL`'s (one more operation is a length error here), and a compile-time check
//! wants each operation in it exactly once. A test (`commands::tests`) checks that each command
//! named exists in the command tree.

use opx::Operation;

/// Each operation and the path of the command that reaches it in `opx`'s command tree (one
/// line of the table a command).
#[rustfmt::skip]
const REACH: [(Operation, &str); Operation::ALL.len()] = {
    use Operation as O;
    [
        (O::GetAccount, "account"), (O::ListPlans, "plans"), (O::ListLogs, "logs"),
        (O::Purchase, "purchase"), (O::ExtendService, "extend"),
        (O::ListServices, "services"), (O::GetService, "service"),
        (O::GetProxies, "proxies"), (O::RegenerateCredentials, "credentials"),
        (O::ChangeCountry, "country"), (O::ChangeRotation, "rotation"),
        (O::ReplaceWhitelist, "whitelist"),
    ]
};

/// Whether two operation ids are equal (`str::eq` is not `const`).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Fails the build unless every operation is in [`REACH`] exactly once, with a command.
const fn every_operation_once() {
    let mut i = 0;
    while i < Operation::ALL.len() {
        let mut found = 0;
        let mut j = 0;
        while j < REACH.len() {
            if same(REACH[j].0.id(), Operation::ALL[i].id()) {
                assert!(!REACH[j].1.is_empty(), "an operation without a command");
                found += 1;
            }
            j += 1;
        }
        assert!(found == 1, "an operation is not in REACH exactly once");
        i += 1;
    }
}

const _: () = every_operation_once();

/// The path of the command that reaches `op` (`"whitelist"`, `"whitelist add"`, `"api"`, ...).
#[cfg(test)]
pub fn command_of(op: Operation) -> &'static str {
    REACH
        .iter()
        .find(|(o, _)| *o == op)
        .map_or("api", |(_, path)| path)
}
