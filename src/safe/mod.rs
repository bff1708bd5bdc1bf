//! Purchase and extend without ever paying twice: when the outcome of the POST is unknown, read
//! the account to learn what happened instead of retrying.
//!
//! - **Cheap when nothing goes wrong**: a purchase costs one request more than a bare one (one
//!   page of `GET /services` before it), whatever the number of services; an extension one
//!   `GET /services/{id}`.
//! - **Settles**: when nothing new is visible yet, the account is read again up to
//!   [`ReconcilePolicy::checks`] times over [`ReconcilePolicy::window`] before the outcome is
//!   "not purchased" / "not extended"; the outcome says how long it watched.
//! - **Exact or honest**: one new matching service is recovered, several are
//!   [`PurchaseOutcome::Ambiguous`], and when the account cannot tell (its services did not all
//!   fit the snapshot, or reading them failed) the outcome is [`PurchaseOutcome::Unknown`],
//!   never a guess.
//!
//! Limits: the check compares what this client saw before and after its own call. If another
//! purchaser (another process, another key of the same account) buys a matching service at the
//! same time, the result may be `Ambiguous`; if the server commits later than the window, the
//! outcome says "not purchased" although it was (widen the window for a slow server).
//!
//! **Dropping the future** of `purchase_safely` (a timeout around it, a cancelled task) after
//! the POST went out leaves the outcome unknown to the caller: nothing is retried, nothing is
//! reported, and the server may still commit it. To be able to find out, take a
//! [`PurchaseSnapshot`] first ([`Client::purchase_snapshot`]), send with [`Client::purchase`]
//! under your own timeout, and call [`Client::reconcile_purchase`] with the snapshot; for an
//! extension, compare [`Client::service`]'s `expires_at` with the one before.

mod policy;
mod reconcile;

use std::time::Duration;

pub use policy::ReconcilePolicy;
pub use reconcile::PurchaseSnapshot;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{PurchaseRequest, Service, Undecoded};
use crate::validate::ServiceId;

/// What [`Client::purchase_safely`] found out.
#[derive(Debug)]
#[non_exhaustive]
pub enum PurchaseOutcome {
    /// The purchase succeeded normally.
    Purchased(Service),
    /// The purchase failed mid-flight, but exactly one new matching service appeared: it is ours.
    Recovered(Service),
    /// As `Recovered`, but the new service does not decode (its JSON and the reason).
    RecoveredUnread(Undecoded),
    /// The purchase failed mid-flight and no new service appeared while the account was watched:
    /// nothing was bought. Retrying is reasonable.
    NotPurchased {
        /// The purchase's error.
        error: Error,
        /// How long the account was watched.
        watched: Duration,
    },
    /// Several new matching services appeared (someone else bought at the same time): check by
    /// hand, do not retry blindly.
    Ambiguous(Vec<ServiceId>),
    /// Whether the purchase happened cannot be told (the account could not be read, or did not
    /// fit the snapshot). Check `GET /services` by hand before trying again.
    Unknown(Error),
}

impl PurchaseOutcome {
    /// `Some(true)` when the balance was charged (purchased or recovered), `Some(false)` when it
    /// was not, `None` when that is not known (ambiguous or unknown).
    pub fn charged(&self) -> Option<bool> {
        match self {
            Self::Purchased(_) | Self::Recovered(_) | Self::RecoveredUnread(_) => Some(true),
            Self::NotPurchased { .. } => Some(false),
            Self::Ambiguous(_) | Self::Unknown(_) => None,
        }
    }
}

/// What [`Client::extend_safely`] found out.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExtendOutcome {
    /// The extension succeeded normally.
    Extended(Service),
    /// The extension failed mid-flight, but `expires_at` moved forward: it happened.
    Recovered(Service),
    /// The extension failed mid-flight and `expires_at` did not move while the service was
    /// watched: it did not happen.
    NotExtended {
        /// The extension's error.
        error: Error,
        /// How long the service was watched.
        watched: Duration,
    },
    /// Whether the extension happened cannot be told (the service could not be read).
    Unknown(Error),
}

impl ExtendOutcome {
    /// As [`PurchaseOutcome::charged`].
    pub fn charged(&self) -> Option<bool> {
        match self {
            Self::Extended(_) | Self::Recovered(_) => Some(true),
            Self::NotExtended { .. } => Some(false),
            Self::Unknown(_) => None,
        }
    }
}

impl Client {
    /// `POST /purchase`, and if its outcome is unknown (timeout, dropped connection, 5xx,
    /// cut-off body), the account's services to learn whether it happened. Never sends the
    /// purchase twice. See the [module docs](crate::safe) for the costs and limits.
    ///
    /// ```no_run
    /// use opx::PurchaseOutcome;
    /// # async fn demo(client: opx::Client, req: opx::PurchaseRequest) -> opx::Result<()> {
    /// match client.purchase_safely(&req).await? {
    ///     PurchaseOutcome::Purchased(s) | PurchaseOutcome::Recovered(s) => println!("got {}", s.service_id),
    ///     PurchaseOutcome::NotPurchased { error, watched } => println!("nothing bought ({error}, watched {watched:?}); safe to retry"),
    ///     other => println!("check by hand: {other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn purchase_safely(&self, req: &PurchaseRequest) -> Result<PurchaseOutcome> {
        let snapshot = self.purchase_snapshot(req).await?;
        match self.purchase(req).await {
            Ok(s) => Ok(PurchaseOutcome::Purchased(s.into_inner())),
            Err(e) if !e.is_outcome_unknown() => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "purchase outcome unknown: checking GET /services");
                self.reconcile_with(req, &snapshot, e).await
            }
        }
    }

    /// `POST /services/{id}/extend`, and if its outcome is unknown, `GET /services/{id}` to see
    /// whether `expires_at` moved. Never sends the extension twice. If someone else extends the
    /// same service at the same time, their extension is taken for ours.
    ///
    /// ```no_run
    /// use opx::ExtendOutcome;
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// match client.extend_safely(&id).await? {
    ///     ExtendOutcome::Extended(s) | ExtendOutcome::Recovered(s) => println!("until {}", s.expires_at),
    ///     ExtendOutcome::NotExtended { error, .. } => println!("not extended: {error}"),
    ///     other => println!("check by hand: {other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn extend_safely(&self, id: &ServiceId) -> Result<ExtendOutcome> {
        let before = self.service(id).await?.expires_at;
        let error = match self.extend(id).await {
            Ok(s) => return Ok(ExtendOutcome::Extended(s.into_inner())),
            Err(e) if !e.is_outcome_unknown() => return Err(e),
            Err(e) => e,
        };
        tracing::warn!(error = %error, "extend outcome unknown: checking GET /services/{{id}}");
        let policy = self.t.reconcile;
        let mut last_read_error = None;
        for n in 0..policy.check_count() {
            self.t.clock.sleep(policy.pause_before(n)).await;
            match self.service(id).await {
                Ok(s) if s.expires_at > before => {
                    return Ok(ExtendOutcome::Recovered(s.into_inner()));
                }
                Ok(_) => last_read_error = None,
                Err(e) => last_read_error = Some(e),
            }
        }
        Ok(match last_read_error {
            Some(read) => ExtendOutcome::Unknown(reconcile::unknown(
                &error,
                &format!("reading the service failed: {read}"),
            )),
            None => ExtendOutcome::NotExtended {
                error,
                watched: policy.watched(),
            },
        })
    }
}
