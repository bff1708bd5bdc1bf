//! Which command reaches each API operation, said once: the `match` below has no catch-all, so
//! an operation added to the spec does not compile until it is named here (`"api"`: `opx api`
//! reaches any operation that has no command of its own yet). A test (`commands::tests`)
//! checks that each command named exists in the command tree.

use opx::Operation;

/// The path of the command that reaches `op` in `opx`'s command tree (`"whitelist"`,
/// `"service"`, `"api"`, ...).
pub fn command_of(op: Operation) -> &'static str {
    match op {
        Operation::GetAccount => "account",
        Operation::ListPlans => "plans",
        Operation::ListLogs => "logs",
        Operation::Purchase => "purchase",
        Operation::ExtendService => "extend",
        Operation::ListServices => "services",
        Operation::GetService => "service",
        Operation::GetProxies => "proxies",
        Operation::RegenerateCredentials => "credentials",
        Operation::ChangeCountry => "country",
        Operation::ChangeRotation => "rotation",
        Operation::ReplaceWhitelist => "whitelist",
    }
}
