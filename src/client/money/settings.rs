//! What a client does about money beyond sending (how it watches a lost answer, the journal,
//! the spend cap).

use super::{cap::SpendCap, journal::Journal, policy::ReconcilePolicy};

/// What a client does about money beyond sending: how it watches a lost answer, the journal,
/// the spend cap.
#[derive(Debug, Clone, Default)]
pub(crate) struct MoneySettings {
    pub(crate) reconcile: ReconcilePolicy,
    pub(crate) journal: Option<Journal>,
    pub(crate) cap: Option<SpendCap>,
}
