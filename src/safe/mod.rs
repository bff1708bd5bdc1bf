//! Purchase and extend without ever paying twice, and without ever saying "not charged" about a
//! call the server may have processed.
//!
//! Every money call ends in one of three outcomes ([`Charge`]):
//!
//! - **done**: the answer says so (a 2xx), or, after a lost answer, the watch saw the new
//!   service or the moved expiry;
//! - **not done**, only with proof that the server did not process it: `purchase_safely` and
//!   `extend_safely` then return `Err(e)` with `e.charged() == Some(false)` (a refusal with the
//!   API's error envelope, a 429, nothing sent);
//! - **unknown** otherwise ([`PurchaseOutcome::Unknown`], [`ExtendOutcome::Unknown`]), also
//!   after watching: a server that commits late may still charge. Check before sending again.
//!
//! So: **`Err` means not charged**; every charged or possibly charged end is an `Ok` outcome,
//! whose [`charged()`](PurchaseOutcome::charged) is `Some(true)` or `None`.
//!
//! - **Cheap when nothing goes wrong**: a purchase costs one request more than a bare one (one
//!   page of `GET /services` before it), whatever the number of services; an extension one
//!   `GET /services/{id}`. With a [`Journal`], one `GET /catalog/plans` more for the price.
//! - **Watches**: after a lost answer the account is read up to [`ReconcilePolicy::checks`]
//!   times over [`ReconcilePolicy::window`]; a 429 on those reads is waited out.
//! - **Remembers**: with a [`Journal`] ([`ClientBuilder::journal`](crate::ClientBuilder::journal)),
//!   each call is written down before it is sent, an unknown one is found again by
//!   [`Client::resolve_pending`] (also in the next process), and the same purchase or extension
//!   is refused while one is unknown. Before each purchase or extension the journal's unknown
//!   entries of the same kind are looked at again: when one turns out to have gone through, the
//!   new call is not sent and its result is the earlier one's
//!   ([`PurchaseOutcome::EarlierLanded`], [`ExtendOutcome::EarlierLanded`]), so retrying after
//!   an unknown never charges twice. A [`SpendCap`] limits what a day and a month may charge.
//!
//! Limits: the check compares what this client saw before and after its own call. If another
//! purchaser (another process, another key of the same account) buys a matching service at the
//! same time, the result may be `Ambiguous`.
//!
//! **Dropping the future** of `purchase_safely` (a timeout around it, a cancelled task) after
//! the POST went out leaves the outcome unknown to the caller; with a journal it stays listed as
//! unknown. Without one, take a [`PurchaseSnapshot`] first ([`Client::purchase_snapshot`]), send
//! with [`Client::purchase`] under your own timeout, and call [`Client::reconcile_purchase`].

mod pending;
mod reconcile;

use std::time::Duration;

pub use crate::charge::{Answer, Charge};
pub use crate::client::money::cap::{SpendCap, Spending};
pub use crate::client::money::entry::{EntryState, JournalEntry, JournalStore, MoneyCall};
pub use crate::client::money::journal::Journal;
pub use crate::client::money::policy::ReconcilePolicy;
pub use reconcile::PurchaseSnapshot;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::ServiceId;
use crate::types::{PurchaseRequest, Service, Undecoded};

/// What [`Client::purchase_safely`] found out, when the purchase was or may have been charged
/// (a purchase that provably was not is an `Err`). Exhaustive on purpose: a `match` handles
/// every money state.
#[derive(Debug)]
pub enum PurchaseOutcome {
    /// The purchase succeeded normally.
    Purchased(Service),
    /// The answer was lost, but exactly one new matching service appeared: it is ours.
    Recovered(Service),
    /// As `Recovered`, but the new service does not decode (its JSON and the reason).
    RecoveredUnread(Undecoded),
    /// The server accepted the purchase (2xx), so it was charged, but neither its answer nor
    /// the account's services show which service it made. Do not buy again; look at
    /// `GET /services`.
    PurchasedUnread(Error),
    /// Several new matching services appeared (someone else bought at the same time): check by
    /// hand, do not retry blindly.
    Ambiguous(Vec<ServiceId>),
    /// Not sent: an earlier purchase of the same plan whose outcome was unknown (journal entry
    /// `entry`) turned out, on the look taken before sending, to have gone through: it made
    /// `service_id`. Retrying an unknown purchase gives this, never a second service; call
    /// again to buy another.
    EarlierLanded {
        /// The journal entry of the earlier purchase.
        entry: u64,
        /// The service it made.
        service_id: ServiceId,
    },
    /// No new service appeared while the account was watched, or it could not be read: the
    /// purchase may still land (a server that commits late). Buying again now may buy twice.
    Unknown {
        /// Why it is unknown: what failed, and what was checked.
        error: Error,
        /// How long the account was watched.
        watched: Duration,
    },
}

impl PurchaseOutcome {
    /// `Some(true)` when the balance was charged (purchased, recovered, accepted but unread),
    /// `None` when that is not known (ambiguous or unknown). Never `Some(false)`: a purchase
    /// that provably was not charged is an `Err` whose [`Error::charged`] says so.
    pub fn charged(&self) -> Option<bool> {
        self.charge().charged()
    }

    /// The outcome as a [`Charge`].
    pub fn charge(&self) -> Charge {
        match self {
            Self::Purchased(_)
            | Self::Recovered(_)
            | Self::RecoveredUnread(_)
            | Self::PurchasedUnread(_)
            | Self::EarlierLanded { .. } => Charge::Done,
            Self::Ambiguous(_) | Self::Unknown { .. } => Charge::Unknown,
        }
    }

    /// The service bought, when it is known and decodes.
    pub fn service(&self) -> Option<&Service> {
        match self {
            Self::Purchased(s) | Self::Recovered(s) => Some(s),
            _ => None,
        }
    }

    /// The id of the service bought, when it is known.
    pub fn service_id(&self) -> Option<ServiceId> {
        match self {
            Self::Purchased(s) | Self::Recovered(s) => Some(s.service_id.clone()),
            Self::RecoveredUnread(u) => u.field("service_id").and_then(|i| i.parse().ok()),
            Self::EarlierLanded { service_id, .. } => Some(service_id.clone()),
            _ => None,
        }
    }
}

/// What [`Client::extend_safely`] found out, when the extension was or may have been charged
/// (one that provably was not is an `Err`). Exhaustive on purpose.
#[derive(Debug)]
pub enum ExtendOutcome {
    /// The extension succeeded normally.
    Extended(Service),
    /// The answer was lost, but `expires_at` moved forward: it happened.
    Recovered(Service),
    /// The server accepted the extension (2xx), so it was charged, but its answer could not be
    /// read and the service read after it did not show the new expiry.
    ExtendedUnread(Error),
    /// Not sent: an earlier extension of the same service whose outcome was unknown (journal
    /// entry `entry`) turned out, on the look taken before sending, to have gone through.
    /// Retrying an unknown extension gives this, never a second period; call again to extend
    /// by another.
    EarlierLanded {
        /// The journal entry of the earlier extension.
        entry: u64,
    },
    /// `expires_at` did not move while the service was watched, or it could not be read: the
    /// extension may still land. Extending again now may charge twice.
    Unknown {
        /// Why it is unknown: what failed, and what was checked.
        error: Error,
        /// How long the service was watched.
        watched: Duration,
    },
}

impl ExtendOutcome {
    /// As [`PurchaseOutcome::charged`]: `Some(true)` or `None`, never `Some(false)`.
    pub fn charged(&self) -> Option<bool> {
        self.charge().charged()
    }

    /// The outcome as a [`Charge`].
    pub fn charge(&self) -> Charge {
        match self {
            Self::Unknown { .. } => Charge::Unknown,
            Self::Extended(_)
            | Self::Recovered(_)
            | Self::ExtendedUnread(_)
            | Self::EarlierLanded { .. } => Charge::Done,
        }
    }

    /// The service after the extension, when it was read.
    pub fn service(&self) -> Option<&Service> {
        match self {
            Self::Extended(s) | Self::Recovered(s) => Some(s),
            _ => None,
        }
    }
}

/// How many times a paced safe call is sent at most, each after a 429 said the previous one was
/// not processed.
const PACED_SENDS: u32 = 5;

impl Client {
    /// `POST /purchase`, and if its answer is lost (timeout, dropped connection, 5xx, cut-off
    /// or foreign body), the account's services to learn whether it happened. Never sends the
    /// purchase twice.
    ///
    /// `Err(e)` means **not charged** (`e.charged() == Some(false)`): refused before sending
    /// (a bad value, a rate limit, an unknown earlier purchase of the same plan in the
    /// [`Journal`], the [`SpendCap`]), the account could not be read before it, or the server
    /// refused it. Every other end is an `Ok` outcome. See the [module docs](crate::safe).
    ///
    /// Under [`RateLimitPolicy::Pace`](crate::RateLimitPolicy::Pace) a 429 (which proves the
    /// purchase was not processed) is waited out and the purchase sent again, up to five sends
    /// in all; under every other policy the 429 is the `Err`.
    ///
    /// ```no_run
    /// use opx::safe::PurchaseOutcome;
    /// # async fn demo(client: opx::Client, req: opx::types::PurchaseRequest) -> opx::Result<()> {
    /// match client.purchase_safely(&req).await {
    ///     Ok(PurchaseOutcome::Purchased(s) | PurchaseOutcome::Recovered(s)) => {
    ///         println!("bought {}", s.service_id)
    ///     }
    ///     Ok(PurchaseOutcome::RecoveredUnread(u)) => println!("bought {:?}", u.field("service_id")),
    ///     Ok(PurchaseOutcome::PurchasedUnread(e)) => println!("charged; see GET /services: {e}"),
    ///     Ok(PurchaseOutcome::Ambiguous(ids)) => println!("one of {ids:?} may be ours: check"),
    ///     Ok(PurchaseOutcome::EarlierLanded { service_id, .. }) => println!("bought before: {service_id}"),
    ///     Ok(PurchaseOutcome::Unknown { error, .. }) => println!("unknown, do not buy again yet: {error}"),
    ///     Err(e) => println!("not charged: {e}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn purchase_safely(&self, req: &PurchaseRequest) -> Result<PurchaseOutcome> {
        self.sent_again_while_paced(|| self.purchase_once(req))
            .await
    }

    /// One purchase: the journal's look, the snapshot, the call and its reconciliation.
    async fn purchase_once(&self, req: &PurchaseRequest) -> Result<PurchaseOutcome> {
        let journal = self.journal();
        if journal.is_some()
            && let Some((entry, service_id)) = self.resolve_pending_purchases(req).await?
        {
            return Ok(PurchaseOutcome::EarlierLanded { entry, service_id });
        }
        let price = match journal {
            Some(_) => {
                self.plan_price(req.service_type(), Some(req.plan_id()))
                    .await
            }
            None => None,
        };
        let snapshot = self.purchase_snapshot(req).await?;
        let entry = journal
            .map(|j| j.begin(snapshot.to_call(req), price, self.now(), self.spend_cap()))
            .transpose()?;
        let outcome = match self.purchase(req).await {
            Ok(s) => Ok(PurchaseOutcome::Purchased(s.into_inner())),
            Err(e) if e.charged() == Some(false) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "purchase answer lost: checking GET /services");
                // Services other settled purchases own are never taken for this one.
                let claimed = match journal {
                    Some(j) => j.claimed(0).unwrap_or_default(),
                    None => Vec::new(),
                };
                Ok(self.reconcile_with(req, &snapshot, e, &claimed).await)
            }
        };
        if let (Some(j), Some(id)) = (journal, entry) {
            let (state, service) = pending::settled_purchase(&outcome);
            j.settle(id, state, service, self.now());
        }
        outcome
    }

    /// `POST /services/{id}/extend`, and if its answer is lost, `GET /services/{id}` to see
    /// whether `expires_at` moved. Never sends the extension twice. If someone else extends the
    /// same service at the same time, their extension is taken for ours.
    ///
    /// `Err(e)` means **not charged**, as for [`purchase_safely`](Self::purchase_safely).
    ///
    /// ```no_run
    /// use opx::safe::ExtendOutcome;
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// match client.extend_safely(&id).await {
    ///     Ok(ExtendOutcome::Extended(s) | ExtendOutcome::Recovered(s)) => println!("until {}", s.expires_at),
    ///     Ok(ExtendOutcome::ExtendedUnread(e)) => println!("charged; see GET /services/{id}: {e}"),
    ///     Ok(ExtendOutcome::EarlierLanded { entry }) => println!("extended before (entry {entry})"),
    ///     Ok(ExtendOutcome::Unknown { error, .. }) => println!("unknown, do not extend again yet: {error}"),
    ///     Err(e) => println!("not extended, not charged: {e}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn extend_safely(&self, id: &ServiceId) -> Result<ExtendOutcome> {
        self.sent_again_while_paced(|| self.extend_once(id)).await
    }

    /// `send` (one safe call), and again while [`sends_again_after`](Self::sends_again_after)
    /// says so.
    async fn sent_again_while_paced<T, Fut>(&self, send: impl Fn() -> Fut) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        let mut sent = 1;
        loop {
            match send().await {
                Err(e) if self.sends_again_after(&e, sent) => sent += 1,
                end => return end,
            }
        }
    }

    /// Whether a safe call that ended in `e` after `sent` sends is made again: only under
    /// [`Pace`](crate::RateLimitPolicy::Pace), only for a 429 (proof that the server did not
    /// process it: `e.charged() == Some(false)`), at most [`PACED_SENDS`] times. The pacer then
    /// holds the next send until the `Retry-After` is over.
    fn sends_again_after(&self, e: &Error, sent: u32) -> bool {
        self.t.pacing() && e.is_rate_limited() && e.charged() == Some(false) && sent < PACED_SENDS
    }

    /// One extension: the journal's look, the service read, the call and its reconciliation.
    async fn extend_once(&self, id: &ServiceId) -> Result<ExtendOutcome> {
        let journal = self.journal();
        if journal.is_some()
            && let Some(entry) = self.resolve_pending_extensions(id).await?
        {
            return Ok(ExtendOutcome::EarlierLanded { entry });
        }
        let service = self.service(id).await?.into_inner();
        let before = service.expires_at;
        let entry = match journal {
            Some(j) => {
                let price = self.plan_price(&service.service_type, service.plan_id.as_ref());
                let call = MoneyCall::Extend {
                    service_id: id.clone(),
                    expires_before: before,
                };
                Some(j.begin(call, price.await, self.now(), self.spend_cap())?)
            }
            None => None,
        };
        let outcome = match self.extend(id).await {
            Ok(s) => Ok(ExtendOutcome::Extended(s.into_inner())),
            Err(e) if e.charged() == Some(false) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "extend answer lost: checking GET /services/{{id}}");
                Ok(self.watch_extension(id, before, e).await)
            }
        };
        if let (Some(j), Some(n)) = (journal, entry) {
            let state = pending::charge_of(outcome.as_ref().map(ExtendOutcome::charge));
            j.settle(n, state, Some(id.clone()), self.now());
        }
        outcome
    }
}
