//! What a client does about money beyond sending (how it watches a lost answer, the journal,
//! the spend cap), and what the safe calls read of the client.

use chrono::{DateTime, Utc};

use super::{Journal, ReconcilePolicy, SpendCap};
use crate::client::Client;
use crate::clock::SharedClock;
use crate::operation::ServiceType;
use crate::types::PlanId;

/// What a client does about money beyond sending: how it watches a lost answer, the journal,
/// the spend cap.
#[derive(Debug, Clone, Default)]
pub(crate) struct MoneySettings {
    pub(crate) reconcile: ReconcilePolicy,
    pub(crate) journal: Option<Journal>,
    pub(crate) cap: Option<SpendCap>,
}

impl Client {
    /// The journal of money calls this client keeps, if it was given one
    /// ([`ClientBuilder::journal`](crate::ClientBuilder::journal)).
    pub fn journal(&self) -> Option<&Journal> {
        self.money.journal.as_ref()
    }
    /// The spend cap this client enforces, if it was given one
    /// ([`ClientBuilder::spend_cap`](crate::ClientBuilder::spend_cap)).
    pub fn spend_cap(&self) -> Option<&SpendCap> {
        self.money.cap.as_ref()
    }
    pub(super) fn reconcile_policy(&self) -> ReconcilePolicy {
        self.money.reconcile
    }
    pub(super) fn clock(&self) -> &SharedClock {
        &self.t.clock
    }
    /// The time on the client's clock.
    pub(super) fn now(&self) -> DateTime<Utc> {
        DateTime::from(self.t.clock.system_now())
    }

    /// The catalog price of `plan` (of type `t`), when it can be read and is a price (0 or
    /// more: a negative one from a broken server is no price).
    pub(super) async fn plan_price(&self, t: &ServiceType, plan: Option<&PlanId>) -> Option<i64> {
        let plan = plan?;
        let catalog = self.plans(Some(t.clone())).await.ok()?;
        catalog
            .plans
            .iter()
            .find(|p| &p.plan_id == plan)
            .map(|p| p.price)
            .filter(|p| *p >= 0)
    }
}
