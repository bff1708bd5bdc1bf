//! Resolving what the journal holds as unknown, and what each outcome writes into it.

use super::reconcile::Look;
use super::{
    Charge, EntryState, Journal, JournalEntry, MoneyCall, PurchaseOutcome, PurchaseSnapshot,
};
use crate::client::Client;
use crate::client::money::entry::EXTENSION;
use crate::error::{Error, Result};
use crate::types::PurchaseRequest;
use crate::types::ServiceId;

/// How much less than [`EXTENSION`] still counts as one (clocks, rounding).
const SLACK: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The first of the entries a look resolved (all unknown before it) that it found had gone
/// through.
fn landed(resolved: Vec<JournalEntry>) -> Option<JournalEntry> {
    resolved.into_iter().find(|e| e.state == EntryState::Done)
}

/// What a call's end proved: its outcome's, or its error's.
pub(super) fn charge_of(end: std::result::Result<Charge, &Error>) -> Charge {
    end.unwrap_or_else(Error::charge)
}

/// What a purchase's end proved, and the service it made.
pub(super) fn settled_purchase(end: &Result<PurchaseOutcome>) -> (Charge, Option<ServiceId>) {
    let state = charge_of(end.as_ref().map(PurchaseOutcome::charge));
    let service = end.as_ref().ok().and_then(PurchaseOutcome::service_id);
    (state, service)
}

impl Client {
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

    /// [`resolve_pending`](Self::resolve_pending) for the purchases of `req`'s type and plan:
    /// the first that this look found had gone through (its entry, the service it made).
    pub(super) async fn resolve_pending_purchases(
        &self,
        req: &PurchaseRequest,
    ) -> Result<Option<(u64, ServiceId)>> {
        let resolved = self
            .resolve_where(|call| match call {
                MoneyCall::Purchase { request, .. } => {
                    request.service_type() == req.service_type()
                        && request.plan_id() == req.plan_id()
                }
                _ => false,
            })
            .await?;
        Ok(landed(resolved).and_then(|e| Some((e.id, e.service_id?))))
    }

    /// [`resolve_pending`](Self::resolve_pending) for the extensions of `id`: the first entry
    /// that this look found had gone through.
    pub(super) async fn resolve_pending_extensions(&self, id: &ServiceId) -> Result<Option<u64>> {
        let resolved = self
            .resolve_where(
                |call| matches!(call, MoneyCall::Extend { service_id, .. } if service_id == id),
            )
            .await?;
        Ok(landed(resolved).map(|e| e.id))
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
}
