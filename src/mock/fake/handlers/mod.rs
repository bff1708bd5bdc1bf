//! One handler per spec operationId: the documented behaviour, over the typed state.

mod change;
mod ctx;
mod json;
mod read;

use crate::operation::Operation;

pub(crate) use ctx::{Ctx, Reply};

/// A handler.
pub(crate) type Handler = fn(&mut Ctx<'_>) -> Reply;

/// The handler of an operation (the match is exhaustive: an operation the spec adds does not
/// compile until it has one).
pub(crate) fn handler_for(operation: Operation) -> Handler {
    use change::*;
    use read::*;
    match operation {
        Operation::GetAccount => get_account,
        Operation::ListPlans => list_plans,
        Operation::Purchase => purchase,
        Operation::ListServices => list_services,
        Operation::GetService => get_service,
        Operation::GetProxies => get_proxies,
        Operation::ExtendService => extend_service,
        Operation::ReplaceWhitelist => replace_whitelist,
        Operation::RegenerateCredentials => regenerate_credentials,
        Operation::ChangeCountry => change_country,
        Operation::ChangeRotation => change_rotation,
        Operation::ListLogs => list_logs,
    }
}
