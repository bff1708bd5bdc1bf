//! Purchase and extend without ever paying twice: when the outcome of the POST is unknown, read
//! the account's services to learn what happened instead of retrying.
//!
//! Limits: the check compares what this client saw before and after its own call. If another
//! purchaser (another process, another key of the same account) buys a matching service at the
//! same time, the result may be [`PurchaseOutcome::Ambiguous`] (or, in the worst case, another
//! purchaser's service may be taken for ours); if the server commits the request only after the
//! check, the check reports it as not done. Each check costs at least one `GET /services` page
//! before the purchase and after a failure.

use std::collections::HashSet;

use futures::TryStreamExt;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{PurchaseRequest, Service, ServiceQuery};
use crate::operation::Operation;
use crate::validate::ServiceId;

/// What [`Client::purchase_safely`] found out.
#[derive(Debug)]
#[non_exhaustive]
pub enum PurchaseOutcome {
    /// The purchase succeeded normally.
    Purchased(Service),
    /// The purchase failed mid-flight, but exactly one new matching service appeared: it is ours.
    Recovered(Service),
    /// The purchase failed mid-flight and no new service appeared: nothing was bought (as far
    /// as the account shows now). Carries the original error. Retrying is reasonable.
    NotPurchased(Error),
    /// The purchase failed mid-flight and several new matching services appeared (someone else
    /// bought at the same time): do not retry blindly.
    Ambiguous(Vec<Service>),
}

/// What [`Client::extend_safely`] found out.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExtendOutcome {
    /// The extension succeeded normally.
    Extended(Service),
    /// The extension failed mid-flight, but `expires_at` moved forward: it happened.
    Recovered(Service),
    /// The extension failed mid-flight and `expires_at` did not move: it did not happen.
    /// Carries the original error.
    NotExtended(Error),
}

impl Client {
    async fn active_services(&self, req: &PurchaseRequest) -> Result<Vec<Service>> {
        let q = ServiceQuery::new()
            .service_type(req.service_type().clone())
            .limit(100);
        self.services_stream(&q).try_collect().await
    }

    /// `POST /purchase`, and if its outcome is unknown (timeout, dropped connection, 5xx
    /// without an error envelope, cut-off body), `GET /services` to learn whether it happened.
    /// Never sends the purchase twice. See the [module docs](crate::safe) for the limits.
    ///
    /// ```no_run
    /// use opx::PurchaseOutcome;
    /// # async fn demo(client: opx::Client, req: opx::PurchaseRequest) -> opx::Result<()> {
    /// match client.purchase_safely(&req).await? {
    ///     PurchaseOutcome::Purchased(s) | PurchaseOutcome::Recovered(s) => println!("got {}", s.service_id),
    ///     PurchaseOutcome::NotPurchased(why) => println!("nothing bought ({why}); safe to retry"),
    ///     PurchaseOutcome::Ambiguous(c) => println!("{} candidates: check by hand", c.len()),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn purchase_safely(&self, req: &PurchaseRequest) -> Result<PurchaseOutcome> {
        let before: HashSet<ServiceId> = self
            .active_services(req)
            .await?
            .into_iter()
            .map(|s| s.service_id)
            .collect();
        let err = match self.purchase(req).await {
            Ok(s) => return Ok(PurchaseOutcome::Purchased(s.into_inner())),
            Err(e) if !e.is_outcome_unknown() => return Err(e),
            Err(e) => e,
        };
        tracing::warn!(error = %err, "purchase outcome unknown: checking GET /services");
        let after = match self.active_services(req).await {
            Ok(a) => a,
            Err(check) => {
                return Err(Error::new(
                    ErrorKind::OutcomeUnknown,
                    format!(
                        "{}; checking GET /services failed too: {check}",
                        err.message()
                    ),
                )
                .with_operation(Operation::Purchase));
            }
        };
        let mut candidates: Vec<Service> = after
            .into_iter()
            .filter(|s| !before.contains(&s.service_id))
            .filter(|s| s.plan_id.as_ref().is_none_or(|p| p == req.plan_id()))
            .filter(|s| {
                req.country_value()
                    .is_none_or(|c| s.country.eq_ignore_ascii_case(c.as_str()))
            })
            .filter(|s| {
                req.rotation_value()
                    .is_none_or(|r| s.rotation.eq_ignore_ascii_case(r.as_str()))
            })
            .collect();
        Ok(match candidates.len() {
            0 => PurchaseOutcome::NotPurchased(err),
            1 => PurchaseOutcome::Recovered(candidates.remove(0)),
            _ => PurchaseOutcome::Ambiguous(candidates),
        })
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
    ///     ExtendOutcome::NotExtended(why) => println!("not extended: {why}"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn extend_safely(&self, id: &ServiceId) -> Result<ExtendOutcome> {
        let before = self.service(id).await?.expires_at;
        let err = match self.extend(id).await {
            Ok(s) => return Ok(ExtendOutcome::Extended(s.into_inner())),
            Err(e) if !e.is_outcome_unknown() => return Err(e),
            Err(e) => e,
        };
        tracing::warn!(error = %err, "extend outcome unknown: checking GET /services/{{id}}");
        let after = match self.service(id).await {
            Ok(s) => s.into_inner(),
            Err(check) => {
                return Err(Error::new(
                    ErrorKind::OutcomeUnknown,
                    format!(
                        "{}; checking the service failed too: {check}",
                        err.message()
                    ),
                )
                .with_operation(Operation::ExtendService));
            }
        };
        Ok(if after.expires_at > before {
            ExtendOutcome::Recovered(after)
        } else {
            ExtendOutcome::NotExtended(err)
        })
    }
}
