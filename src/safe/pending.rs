//! Resolving what the journal holds as unknown, and what each outcome writes into it.

use chrono::{DateTime, Utc};

use super::reconcile::{Look, Watched, unknown};
use super::{
    Charge, EntryState, ExtendOutcome, Journal, JournalEntry, MoneyCall, PurchaseOutcome,
    PurchaseSnapshot, ReconcilePolicy, SpendCap,
};
use crate::client::Client;
use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::model::PurchaseRequest;
use crate::operation::ServiceType;
use crate::validate::{PlanId, ServiceId};

/// What one extension adds: "Extend service by 30 days" (the docs).
pub(super) const EXTENSION: chrono::TimeDelta = chrono::TimeDelta::days(30);
/// How much less than [`EXTENSION`] still counts as one (clocks, rounding).
const SLACK: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// What a client does about money beyond sending: how it watches a lost answer, the journal,
/// the spend cap.
#[derive(Debug, Clone, Default)]
pub(crate) struct MoneySettings {
    pub(crate) reconcile: ReconcilePolicy,
    pub(crate) journal: Option<Journal>,
    pub(crate) cap: Option<SpendCap>,
}

/// What a call's end proved: its outcome's, or its error's.
pub(super) fn state_of(end: std::result::Result<Charge, &Error>) -> Charge {
    match end {
        Ok(c) => c,
        Err(e) => match e.charged() {
            Some(true) => Charge::Done,
            Some(false) => Charge::NotDone,
            None => Charge::Unknown,
        },
    }
}

/// What a purchase's end proved, and the service it made.
pub(super) fn settled_purchase(end: &Result<PurchaseOutcome>) -> (Charge, Option<ServiceId>) {
    let state = state_of(end.as_ref().map(PurchaseOutcome::charge));
    let service = end.as_ref().ok().and_then(PurchaseOutcome::service_id);
    (state, service)
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

    /// Looks again at every unknown entry of the journal (the client's, see
    /// [`ClientBuilder::journal`](crate::ClientBuilder::journal)) and settles what the account
    /// now shows: a purchase whose new service appeared, an extension whose expiry moved, new
    /// credentials whose login changed. Returns the entries that were unknown, as they stand
    /// now (empty without a journal).
    ///
    /// A purchase is matched on type, plan, country and rotation against the services the
    /// account held before it; a service another entry owns is never claimed twice; when
    /// several could be it, the entry stays unknown.
    pub async fn resolve_pending(&self) -> Result<Vec<JournalEntry>> {
        self.resolve_where(|_| true).await
    }

    /// [`resolve_pending`](Self::resolve_pending) for the purchases of `req`'s type and plan.
    pub(super) async fn resolve_pending_purchases(&self, req: &PurchaseRequest) -> Result<()> {
        self.resolve_where(|call| match call {
            MoneyCall::Purchase { request, .. } => {
                request.service_type() == req.service_type() && request.plan_id() == req.plan_id()
            }
            _ => false,
        })
        .await
        .map(drop)
    }

    /// [`resolve_pending`](Self::resolve_pending) for the extensions of `id`.
    pub(super) async fn resolve_pending_extensions(&self, id: &ServiceId) -> Result<()> {
        self.resolve_where(
            |call| matches!(call, MoneyCall::Extend { service_id, .. } if service_id == id),
        )
        .await
        .map(drop)
    }

    async fn resolve_where(
        &self,
        select: impl Fn(&MoneyCall) -> bool,
    ) -> Result<Vec<JournalEntry>> {
        let Some(journal) = self.journal() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for mut entry in journal.unknown()? {
            if !select(&entry.call) {
                continue;
            }
            match self.resolve_one(journal, &entry).await {
                Ok(Some(service)) => {
                    if journal.settle(entry.id, Charge::Done, Some(service.clone()), self.now()) {
                        entry.state = EntryState::Done;
                        entry.service_id = Some(service);
                    }
                }
                Ok(None) => {}
                // It stays unknown (and keeps blocking a repeat): resolved on a later look.
                Err(e) => {
                    tracing::warn!(entry = entry.id, error = %e, "could not resolve a journal entry")
                }
            }
            out.push(entry);
        }
        Ok(out)
    }

    /// The service `entry` created or changed, if the account now shows it took effect.
    async fn resolve_one(
        &self,
        journal: &Journal,
        entry: &JournalEntry,
    ) -> Result<Option<ServiceId>> {
        let look = |l: Look<Option<ServiceId>>| match l {
            Look::Seen(found) => Ok(found),
            Look::Failed(e) => Err(e),
        };
        match &entry.call {
            MoneyCall::Purchase {
                request,
                before,
                complete,
            } => {
                let snapshot = PurchaseSnapshot::recorded(before, *complete);
                let claimed = journal.claimed(entry.id)?;
                let found = self.find_purchase(request, &snapshot, &claimed).await;
                look(match found {
                    Look::Seen(found) if found.len() == 1 => Look::Seen(found.into_iter().next()),
                    Look::Seen(_) => Look::Seen(None),
                    Look::Failed(e) => Look::Failed(e),
                })
            }
            MoneyCall::Extend {
                service_id,
                expires_before,
            } => {
                // One period per extension, in the journal's order: an expiry that moved once
                // settles one of two unknown extensions, not both.
                let base = journal.extended_until(service_id, entry.id)?;
                let base = base.map_or(*expires_before, |b| b.max(*expires_before));
                let moved = self.look(|| self.service(service_id)).await;
                look(match moved {
                    Look::Seen(s) => Look::Seen(
                        (s.expires_at >= base + EXTENSION - SLACK).then(|| service_id.clone()),
                    ),
                    Look::Failed(e) => Look::Failed(e),
                })
            }
            MoneyCall::Credentials {
                service_id,
                login_before,
            } => look(match self.look(|| self.service(service_id)).await {
                Look::Seen(s) => {
                    Look::Seen((s.auth.login != *login_before).then(|| service_id.clone()))
                }
                Look::Failed(e) => Look::Failed(e),
            }),
        }
    }

    /// Watches `id` after an extension whose answer was lost (`error`): recovered when its
    /// expiry moves past `before`, else unknown (or, for an accepted one, done but unread).
    pub(super) async fn watch_extension(
        &self,
        id: &ServiceId,
        before: DateTime<Utc>,
        error: Error,
    ) -> ExtendOutcome {
        let moved = self
            .watch(|| async {
                let s = self.service(id).await?.into_inner();
                Ok((s.expires_at > before).then_some(s))
            })
            .await;
        let watched = self.reconcile_policy().watched();
        let why = match moved {
            Watched::Found(s) => return ExtendOutcome::Recovered(s),
            Watched::Failed(read) => format!("reading the service failed: {read}"),
            Watched::Nothing => format!(
                "the expiry did not move in {} of watching GET /services/{{id}}; it may still move",
                crate::clock::human(watched)
            ),
        };
        let error = unknown(&error, &why);
        if error.is_committed() {
            return ExtendOutcome::ExtendedUnread(error);
        }
        ExtendOutcome::Unknown { error, watched }
    }
}
