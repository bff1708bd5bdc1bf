//! What the safe calls read of a client: its journal, spend cap, watch policy and clock.

use chrono::{DateTime, Utc};

use super::{cap::SpendCap, journal::Journal, policy::ReconcilePolicy};
use crate::client::Client;
use crate::clock::SharedClock;
use crate::operation::ServiceType;
use crate::types::PlanId;

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
    pub(crate) fn reconcile_policy(&self) -> ReconcilePolicy {
        self.money.reconcile
    }
    pub(crate) fn clock(&self) -> &SharedClock {
        &self.t.clock
    }
    /// The server's time (its latest `Date`, carried forward on the client's clock; the
    /// client's clock before any answer): what the journal stamps its entries with and counts
    /// "today" and "this month" by, as the account's own charges are.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.server_now()
    }

    /// The catalog price of `plan` (of type `t`), when it can be read and is a price (0 or
    /// more: a negative one from a broken server is no price).
    pub(crate) async fn plan_price(&self, t: &ServiceType, plan: Option<&PlanId>) -> Option<i64> {
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
