//! The journal of money calls: every purchase, extension and credentials change is written down
//! before it is sent and settled when its outcome is known, so that an unknown outcome outlives
//! the process that sent it (SECURITY.md, "The journal").

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::cap::{SpendCap, Spending};
use super::entry::{EntryState, JournalEntry, JournalStore, MoneyCall};
use super::journal_file::FileStore;
use crate::charge::Charge;
use crate::error::{Error, ErrorKind, Result};
use crate::types::ServiceId;

/// An in-memory store (a journal that ends with the process).
#[derive(Debug, Default)]
struct MemoryStore(std::sync::Mutex<Vec<JournalEntry>>);

impl JournalStore for MemoryStore {
    fn update(&self, change: &mut dyn FnMut(&mut Vec<JournalEntry>)) -> Result<()> {
        change(&mut crate::sync::lock(&self.0));
        Ok(())
    }
}

/// The journal of money calls, given to a client with
/// [`ClientBuilder::journal`](crate::ClientBuilder::journal).
///
/// With a journal, [`Client::purchase_safely`](crate::Client::purchase_safely) and
/// [`Client::extend_safely`](crate::Client::extend_safely) first try to resolve earlier
/// unknown entries of the same kind, refuse ([`ErrorKind::PendingUnknown`]) to buy the same plan
/// or extend the same service while one stays unknown, enforce the client's
/// [`SpendCap`], write the call down before sending it and settle it after. A program that
/// restarts finds its unknown calls again with [`Client::resolve_pending`](crate::Client::resolve_pending).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let journal = opx::safe::Journal::file(dir.path().join("journal.json"))?;
/// assert!(journal.unknown()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Journal {
    store: Arc<dyn JournalStore>,
    allow_over_pending: bool,
}

impl Journal {
    /// A journal kept in a JSON file (created with mode 600 where the platform has modes),
    /// locked for each change so that several processes can share it.
    pub fn file(path: impl Into<std::path::PathBuf>) -> Result<Self> {
        Ok(Self::with_store(FileStore::open(path.into())?))
    }

    /// A journal that lives as long as the process.
    pub fn memory() -> Self {
        Self::with_store(MemoryStore::default())
    }

    /// A journal on a store of your own.
    pub fn with_store(store: impl JournalStore + 'static) -> Self {
        Self {
            store: Arc::new(store),
            allow_over_pending: false,
        }
    }

    /// Send a purchase or extension even while an earlier one of the same kind is unknown
    /// (`opx purchase --force`): it may then be charged twice. Default off.
    pub fn allow_over_pending(mut self, on: bool) -> Self {
        self.allow_over_pending = on;
        self
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Result<Vec<JournalEntry>> {
        let mut out = Vec::new();
        self.store.update(&mut |e| out = e.clone())?;
        Ok(out)
    }

    /// The entries whose outcome is unknown, oldest first.
    pub fn unknown(&self) -> Result<Vec<JournalEntry>> {
        let mut all = self.entries()?;
        all.retain(|e| e.state == EntryState::Unknown);
        Ok(all)
    }

    /// What was spent (and may have been) today and this month (UTC), as of `now`.
    pub fn spending(&self, now: DateTime<Utc>) -> Result<Spending> {
        Ok(Spending::of(&self.entries()?, now))
    }

    /// Sets an unknown entry aside after checking by hand: it is no longer unknown nor counted
    /// as spent. `false` when no unknown entry has that number.
    pub fn dismiss(&self, id: u64, now: DateTime<Utc>) -> Result<bool> {
        let mut found = false;
        self.store.update(&mut |entries| {
            if let Some(e) = entries
                .iter_mut()
                .find(|e| e.id == id && e.state == EntryState::Unknown)
            {
                e.state = EntryState::Dismissed;
                e.settled_at = Some(now);
                found = true;
            }
        })?;
        Ok(found)
    }

    /// Writes `call` down as unknown before it is sent, in one step with the checks: no
    /// unknown entry of the same charge (unless [allowed](Self::allow_over_pending)), the `cap`
    /// not exceeded. Returns the entry's number, for [`settle`](Self::settle). The safe calls do
    /// this themselves; it is public for a caller that sends a money call its own way.
    pub fn begin(
        &self,
        call: MoneyCall,
        price: Option<i64>,
        now: DateTime<Utc>,
        cap: Option<&SpendCap>,
    ) -> Result<u64> {
        let mut outcome = Ok(0);
        let allow = self.allow_over_pending;
        self.store.update(&mut |entries| {
            outcome = refusal(entries, &call, price, now, cap, allow).map(|()| {
                let id = entries.iter().map(|e| e.id).max().unwrap_or(0) + 1;
                entries.push(JournalEntry {
                    id,
                    call: call.clone(),
                    price,
                    at: now,
                    state: EntryState::Unknown,
                    settled_at: None,
                    service_id: None,
                });
                id
            });
        })?;
        outcome
    }

    /// Records what the answer to entry `id` proved ([`Charge`]): an unknown outcome leaves
    /// it unknown, and so does a purchase whose service another settled purchase already owns
    /// (never claimed twice). Returns whether it was settled. A failure to write is logged, and
    /// leaves it unknown (the safe direction).
    pub fn settle(
        &self,
        id: u64,
        charge: Charge,
        service: Option<ServiceId>,
        now: DateTime<Utc>,
    ) -> bool {
        let state = match charge {
            Charge::Done => EntryState::Done,
            Charge::NotDone => EntryState::NotDone,
            Charge::Unknown => return false,
        };
        let mut settled = false;
        let saved = self.store.update(&mut |entries| {
            let owned = |e: &JournalEntry| {
                e.id != id
                    && e.state == EntryState::Done
                    && matches!(e.call, MoneyCall::Purchase { .. })
                    && e.service_id.is_some()
                    && e.service_id == service
            };
            let taken = state == EntryState::Done && entries.iter().any(owned);
            let Some(e) = entries.iter_mut().find(|e| e.id == id) else {
                return;
            };
            if taken && matches!(e.call, MoneyCall::Purchase { .. }) {
                return;
            }
            e.state = state;
            e.settled_at = Some(now);
            if service.is_some() {
                e.service_id = service.clone();
            }
            settled = true;
        });
        if let Err(e) = saved {
            tracing::warn!(error = %e, entry = id, "could not record a money call's outcome");
            return false;
        }
        settled
    }

    /// How far the settled extensions of `service` before entry `before_entry` took its
    /// expiry, one period each from the expiry each was sent at.
    pub(crate) fn extended_until(
        &self,
        service: &ServiceId,
        before_entry: u64,
    ) -> Result<Option<DateTime<Utc>>> {
        let entries = self.entries()?;
        Ok(entries
            .iter()
            .filter(|e| e.id < before_entry && e.state == EntryState::Done)
            .filter_map(|e| match &e.call {
                MoneyCall::Extend {
                    service_id,
                    expires_before,
                } if service_id == service => Some(*expires_before + super::entry::EXTENSION),
                _ => None,
            })
            .max())
    }

    /// The services that settled purchases other than `except` created: never claimed twice
    /// when resolving.
    pub(crate) fn claimed(&self, except: u64) -> Result<Vec<ServiceId>> {
        let entries = self.entries()?;
        Ok(entries
            .into_iter()
            .filter(|e| e.id != except && e.state == EntryState::Done)
            .filter(|e| matches!(e.call, MoneyCall::Purchase { .. }))
            .filter_map(|e| e.service_id)
            .collect())
    }
}

/// Why `call` may not be sent now, if it may not.
fn refusal(
    entries: &[JournalEntry],
    call: &MoneyCall,
    price: Option<i64>,
    now: DateTime<Utc>,
    cap: Option<&SpendCap>,
    allow_over_pending: bool,
) -> Result<()> {
    let pending = entries
        .iter()
        .find(|e| e.state == EntryState::Unknown && e.call.same_charge(call));
    if let (Some(p), false) = (pending, allow_over_pending) {
        return Err(Error::new(
            ErrorKind::PendingUnknown,
            format!(
                "an earlier {} (journal entry {}, {}) has an unknown outcome: it may still be \
                 charged, so this one could charge twice; resolve it first (`Client::resolve_pending`, \
                 `opx pending`), or send anyway (`Journal::allow_over_pending`, `--force`)",
                p.call.describe(),
                p.id,
                p.at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        ));
    }
    match cap {
        Some(cap) => cap.check(&Spending::of(entries, now), price),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PurchaseRequest;

    fn purchase() -> MoneyCall {
        let req = PurchaseRequest::new(
            crate::operation::ServiceType::Ipv4Rotating,
            "65a9f0c1b2c3d4e5f6a7b8c9"
                .parse::<crate::types::PlanId>()
                .unwrap(),
        );
        MoneyCall::Purchase {
            request: req,
            before: Vec::new(),
            complete: true,
        }
    }

    fn id(n: u8) -> ServiceId {
        format!("65aa1100b2c3d4e5f6a7b8{n:02x}").parse().unwrap()
    }

    /// Two purchases never own one service: the second settle of the same service leaves its
    /// entry unknown (and it keeps blocking a repeat), whoever resolves first.
    #[test]
    fn a_service_is_claimed_by_one_purchase_only() {
        let j = Journal::memory().allow_over_pending(true);
        let now = Utc::now();
        let a = j.begin(purchase(), Some(1), now, None).unwrap();
        let b = j.begin(purchase(), Some(1), now, None).unwrap();
        assert!(j.settle(a, Charge::Done, Some(id(1)), now));
        assert!(!j.settle(b, Charge::Done, Some(id(1)), now), "already a's");
        assert_eq!(j.unknown().unwrap().len(), 1);
        assert_eq!(j.claimed(b).unwrap(), vec![id(1)]);
        assert!(j.settle(b, Charge::Done, Some(id(2)), now));
        assert!(
            !j.settle(b, Charge::Unknown, None, now),
            "unknown settles nothing"
        );
    }

    /// Without `allow_over_pending`, the same purchase is refused while one is unknown; an
    /// extension of another service is not.
    #[test]
    fn the_same_charge_is_refused_while_one_is_unknown() {
        let j = Journal::memory();
        let now = Utc::now();
        j.begin(purchase(), None, now, None).unwrap();
        let e = j.begin(purchase(), None, now, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PendingUnknown);
        assert!(e.message().contains("--force"), "{e}");
        let extend = MoneyCall::Extend {
            service_id: id(1),
            expires_before: now,
        };
        j.begin(extend.clone(), None, now, None).unwrap();
        assert!(j.begin(extend, None, now, None).is_err());
    }

    /// Settled extensions count one period each from the expiry they were sent at.
    #[test]
    fn extended_until_counts_one_period_per_settled_extension() {
        let j = Journal::memory().allow_over_pending(true);
        let t0: DateTime<Utc> = "2026-12-07T00:00:00Z".parse().unwrap();
        let call = |at| MoneyCall::Extend {
            service_id: id(1),
            expires_before: at,
        };
        let a = j.begin(call(t0), None, t0, None).unwrap();
        let b = j.begin(call(t0), None, t0, None).unwrap();
        assert_eq!(
            j.extended_until(&id(1), b).unwrap(),
            None,
            "nothing settled yet"
        );
        j.settle(a, Charge::Done, Some(id(1)), t0);
        let until = t0 + crate::client::money::entry::EXTENSION;
        assert_eq!(j.extended_until(&id(1), b).unwrap(), Some(until));
        assert_eq!(
            j.extended_until(&id(2), b).unwrap(),
            None,
            "another service"
        );
        assert_eq!(
            j.extended_until(&id(1), a).unwrap(),
            None,
            "only earlier entries"
        );
    }
}
