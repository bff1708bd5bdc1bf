//! Reading what a plan needs, and carrying a plan out without passing its cap or extending a
//! service twice.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};

use super::{Decision, RenewalPlan, RenewalPlanner, Skip};
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::operation::{Operation, StatusFilter};
use crate::safe::{Charge, ExtendOutcome};
use crate::types::ServiceId;
use crate::types::ServiceQuery;

/// What happened to one due service in [`Client::renew`]. Exhaustive on purpose: a `match`
/// handles every money state.
#[derive(Debug)]
pub enum RenewalOutcome {
    /// Extended (the answer was received, or lost and recovered): charged once. The new expiry.
    Extended(DateTime<Utc>),
    /// The server accepted the extension (charged once), but the new expiry could not be read.
    ExtendedUnread(Error),
    /// Not extended, and nothing charged (the plan left it out, or the run stopped first).
    Skipped(Skip),
    /// The extension was refused or did not happen (nothing charged): the run stopped here.
    Failed(Error),
    /// Not sent: an earlier extension of it whose outcome was unknown (journal entry `entry`)
    /// turned out to have gone through, before this run (charged once, then; not counted as
    /// spent in this run).
    ExtendedEarlier {
        /// The journal entry of the earlier extension.
        entry: u64,
    },
    /// Whether the extension happened cannot be told: the run stopped here, and its price is
    /// counted as spent. Check the service before trying again. (Also an extension refused
    /// before sending because an earlier one of the same service is still unknown
    /// ([`ErrorKind::PendingUnknown`]): then nothing is counted, the earlier one is.)
    Unknown(Error),
}

impl RenewalOutcome {
    /// What the extension proved about the charge; `None` when none was sent (skipped).
    pub fn charge(&self) -> Option<Charge> {
        match self {
            Self::Extended(_) | Self::ExtendedUnread(_) | Self::ExtendedEarlier { .. } => {
                Some(Charge::Done)
            }
            Self::Skipped(_) => None,
            Self::Failed(_) => Some(Charge::NotDone),
            Self::Unknown(_) => Some(Charge::Unknown),
        }
    }
    /// `Some(true)` charged, `Some(false)` not charged (skipped, refused), `None` unknown.
    pub fn charged(&self) -> Option<bool> {
        self.charge().map_or(Some(false), Charge::charged)
    }
}

/// One due service and what [`Client::renew`] did with it.
#[derive(Debug)]
#[non_exhaustive]
pub struct RenewalResult {
    /// The service.
    pub service_id: ServiceId,
    /// Its expiry when the plan was made.
    pub expires_at: DateTime<Utc>,
    /// The price of extending it, if known.
    pub price: Option<i64>,
    /// What happened.
    pub outcome: RenewalOutcome,
}

/// What [`Client::renew`] did: every due service of the plan, in the plan's order.
#[derive(Debug)]
#[non_exhaustive]
pub struct RenewalReport {
    /// One result per due service.
    pub results: Vec<RenewalResult>,
    /// Roubles charged for certain (extended or recovered).
    pub spent: i64,
    /// Roubles whose charge is unknown (an unknown outcome's price).
    pub maybe_spent: i64,
    /// The balance read after the run, if it could be read.
    pub balance_after: Option<i64>,
}

impl RenewalReport {
    /// How many services were extended (charged).
    pub fn extended(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.charge() == Some(Charge::Done))
            .count()
    }
    /// Whether some extension's outcome is unknown.
    pub fn has_unknown(&self) -> bool {
        self.results
            .iter()
            .any(|r| matches!(r.outcome, RenewalOutcome::Unknown(_)))
    }
    /// Whether every due service was extended.
    pub fn is_complete(&self) -> bool {
        self.extended() == self.results.len()
    }
}

impl Client {
    /// The renewal plan of `planner` now: every active service (all pages of
    /// `GET /services?status=active`), the catalog and the balance, read once each. Spends
    /// nothing. With a [`SpendCap`](crate::safe::SpendCap) and a journal, the plan's cap
    /// ([`RenewalPlan::max_spend`]) is what they leave, when that is less than the planner's.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// use std::time::Duration;
    /// let planner = opx::renewal::RenewalPlanner::new(Duration::from_secs(7 * 86_400), 5000)?;
    /// let plan = client.renewal_plan(&planner).await?;
    /// println!("{} due, {} RUB to extend", plan.items.len(), plan.total());
    /// let report = client.renew(&plan).await;
    /// println!("extended {}, spent {} RUB", report.extended(), report.spent);
    /// # Ok(()) }
    /// ```
    pub async fn renewal_plan(&self, planner: &RenewalPlanner) -> Result<RenewalPlan> {
        let limit = Operation::ListServices.max_page_size().unwrap_or(100);
        let query = ServiceQuery::new()
            .status(StatusFilter::Active)
            .limit(limit);
        let services = self.all_services(&query).await?;
        let plans = self.plans(None).await?.into_inner().plans;
        let balance = self.account().await?.balance;
        // What is due goes by the server's clock (its `Date`), not the local one.
        let planner = self.within_spend_cap(planner)?;
        Ok(planner.plan(self.server_now(), &services, &plans, balance))
    }

    /// `planner`, its cap lowered to what the client's [`SpendCap`](crate::safe::SpendCap)
    /// leaves today and this month by its [`Journal`](crate::safe::Journal), when that is less:
    /// the plan then shows what a run can really extend.
    fn within_spend_cap(&self, planner: &RenewalPlanner) -> Result<RenewalPlanner> {
        let (Some(journal), Some(cap)) = (self.journal(), self.spend_cap()) else {
            return Ok(*planner);
        };
        match cap.room(&journal.spending(self.now())?) {
            Some(room) if room < planner.max_spend() => RenewalPlanner::new(planner.window(), room),
            _ => Ok(*planner),
        }
    }

    /// Carries out `plan`: extends its services in order through
    /// [`extend_safely`](Self::extend_safely) (each sent once; a lost answer reconciled), never
    /// past the plan's cap nor the balance.
    ///
    /// Before each extension the balance is read again; what the account shows spent since the
    /// plan (if more than this run counted) counts against the cap, so a price higher than the
    /// catalog's, or another spender, stops the run instead of passing the cap. The run stops at
    /// the first extension that does not go through (refused, not extended, or unknown): the
    /// rest are [`Skip::NotAttempted`]. A failed read counts as an extension that did not go
    /// through, so this returns a report whatever happened.
    pub async fn renew(&self, plan: &RenewalPlan) -> RenewalReport {
        self.renew_until(plan, &AtomicBool::new(false)).await
    }

    /// [`renew`](Self::renew), stopping before the next extension once `stop` is set (an
    /// interrupt): the extension in flight finishes, the rest are [`Skip::NotAttempted`].
    pub async fn renew_until(&self, plan: &RenewalPlan, stop: &AtomicBool) -> RenewalReport {
        let mut report = RenewalReport {
            results: Vec::with_capacity(plan.items.len()),
            spent: 0,
            maybe_spent: 0,
            balance_after: None,
        };
        let mut stopped = false;
        for item in &plan.items {
            let outcome = match (item.decision, item.price) {
                (Decision::Skip(why), _) => RenewalOutcome::Skipped(why),
                (_, None) => RenewalOutcome::Skipped(Skip::PriceUnknown),
                _ if stopped || stop.load(Ordering::SeqCst) => {
                    RenewalOutcome::Skipped(Skip::NotAttempted)
                }
                (Decision::Extend, Some(price)) => {
                    let outcome = self.renew_one(plan, &report, &item.service.service_id, price);
                    let outcome = outcome.await;
                    match &outcome {
                        RenewalOutcome::Extended(_) | RenewalOutcome::ExtendedUnread(_) => {
                            report.spent += price
                        }
                        // Refused before sending: an earlier extension of it is unknown.
                        RenewalOutcome::Unknown(e) if e.kind() == ErrorKind::PendingUnknown => {
                            stopped = true;
                        }
                        RenewalOutcome::Unknown(_) => {
                            report.maybe_spent += price;
                            stopped = true;
                        }
                        _ => stopped = true,
                    }
                    outcome
                }
            };
            report.results.push(RenewalResult {
                service_id: item.service.service_id.clone(),
                expires_at: item.service.expires_at,
                price: item.price,
                outcome,
            });
        }
        report.balance_after = self.account().await.ok().map(|a| a.balance);
        report
    }

    /// One extension of `price`, after checking that the cap and the balance still allow it.
    async fn renew_one(
        &self,
        plan: &RenewalPlan,
        report: &RenewalReport,
        id: &ServiceId,
        price: i64,
    ) -> RenewalOutcome {
        let balance = match self.account().await {
            Ok(a) => a.balance,
            Err(e) => return RenewalOutcome::Failed(e),
        };
        let counted = report.spent + report.maybe_spent;
        let spent = counted.max(plan.balance - balance);
        if spent.saturating_add(price) > plan.max_spend {
            return RenewalOutcome::Skipped(Skip::OverCap);
        }
        if balance < price {
            return RenewalOutcome::Skipped(Skip::BalanceShort);
        }
        match self.extend_safely(id).await {
            Ok(ExtendOutcome::Extended(s) | ExtendOutcome::Recovered(s)) => {
                RenewalOutcome::Extended(s.expires_at)
            }
            Ok(ExtendOutcome::ExtendedUnread(e)) => RenewalOutcome::ExtendedUnread(e),
            Ok(ExtendOutcome::EarlierLanded { entry }) => RenewalOutcome::ExtendedEarlier { entry },
            Ok(ExtendOutcome::Unknown { error, .. }) => RenewalOutcome::Unknown(error),
            Err(e) if e.kind() == ErrorKind::PendingUnknown => RenewalOutcome::Unknown(e),
            Err(e) => RenewalOutcome::Failed(e),
        }
    }
}
