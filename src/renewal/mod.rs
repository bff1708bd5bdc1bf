//! Renewing with a budget: which active services expire within a window, what extending each
//! costs, and which of them a spending cap and the balance allow, oldest expiry first.
//!
//! [`RenewalPlanner::plan`] is pure (services, catalog, balance and the time in; a
//! [`RenewalPlan`] out): a caller can plan with data it already has, show the plan, and only
//! then spend. [`Client::renewal_plan`](crate::Client::renewal_plan) reads what a plan needs
//! (every active service, the catalog, the balance), and
//! [`Client::renew`](crate::Client::renew) carries a plan out through
//! [`Client::extend_safely`](crate::Client::extend_safely).
//!
//! **Price.** The docs say an extension "charges plan price": the price of a service's
//! extension is the catalog price of its `plan_id`. A service without a `plan_id`, or whose
//! plan is no longer in the catalog, has no known price and is never extended by a plan
//! ([`Skip::PriceUnknown`]): a cap cannot be kept on a charge of unknown size.
//!
//! **Order and stopping.** Services are taken oldest expiry first. The first one whose price
//! would pass the cap ([`Skip::OverCap`]) or the balance ([`Skip::BalanceShort`]) stops the
//! plan: it and every later one are left out ([`Skip::Stopped`] for the later ones), so a
//! cheaper service expiring later never goes before one expiring sooner.
//!
//! ```
//! use std::time::Duration;
//! use opx::renewal::RenewalPlanner;
//!
//! let planner = RenewalPlanner::new(Duration::from_secs(7 * 86_400), 3000).unwrap();
//! let plan = planner.plan(chrono::Utc::now(), &[], &[], 10_000);
//! assert_eq!((plan.total(), plan.balance_after()), (0, 10_000));
//! assert!(RenewalPlanner::new(Duration::ZERO, -1).is_err());
//! ```

mod run;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use run::{RenewalOutcome, RenewalReport, RenewalResult};

use crate::error::{Error, Result};
use crate::operation::ServiceStatus;
use crate::types::{Plan, Service};

/// Which services to renew: those expiring within a window, for at most a total in roubles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalPlanner {
    window: Duration,
    max_spend: i64,
}

impl RenewalPlanner {
    /// Services expiring within `window` from now, for at most `max_spend` whole roubles in
    /// total. A negative `max_spend` is refused (a `Config` error naming it).
    pub fn new(window: Duration, max_spend: i64) -> Result<Self> {
        if max_spend < 0 {
            return Err(Error::config(format!(
                "the spending cap is {max_spend} RUB: give 0 or more"
            )));
        }
        Ok(Self { window, max_spend })
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The cap, in whole roubles.
    pub fn max_spend(&self) -> i64 {
        self.max_spend
    }

    /// Whether `service` is one to consider at `now`: not known to be expired, and expiring
    /// within the window.
    pub fn is_due(&self, service: &Service, now: DateTime<Utc>) -> bool {
        service.status != Some(ServiceStatus::Expired) && service.expires_in(now) <= self.window
    }

    /// The plan for `services` at `now`, with the prices of `plans` and `balance` whole roubles.
    /// A service listed twice is planned once.
    pub fn plan(
        &self,
        now: DateTime<Utc>,
        services: &[Service],
        plans: &[Plan],
        balance: i64,
    ) -> RenewalPlan {
        let mut seen = HashSet::new();
        let mut due: Vec<&Service> = services
            .iter()
            .filter(|s| self.is_due(s, now) && seen.insert(&s.service_id))
            .collect();
        due.sort_by(|a, b| {
            a.expires_at
                .cmp(&b.expires_at)
                .then(a.service_id.cmp(&b.service_id))
        });
        let (mut total, mut stopped) = (0i64, false);
        let items = due
            .into_iter()
            .map(|s| {
                let price = price_of(s, plans);
                let decision = match price {
                    None => Decision::Skip(Skip::PriceUnknown),
                    Some(_) if stopped => Decision::Skip(Skip::Stopped),
                    Some(p) if total.saturating_add(p) > self.max_spend => {
                        stopped = true;
                        Decision::Skip(Skip::OverCap)
                    }
                    Some(p) if total.saturating_add(p) > balance => {
                        stopped = true;
                        Decision::Skip(Skip::BalanceShort)
                    }
                    Some(p) => {
                        total += p;
                        Decision::Extend
                    }
                };
                Renewal {
                    service: s.clone(),
                    price,
                    decision,
                }
            })
            .collect();
        RenewalPlan {
            items,
            balance,
            max_spend: self.max_spend,
        }
    }
}

/// The catalog price of a service's plan, if it has one in the catalog.
fn price_of(service: &Service, plans: &[Plan]) -> Option<i64> {
    let plan_id = service.plan_id.as_ref()?;
    plans
        .iter()
        .find(|p| &p.plan_id == plan_id)
        .map(|p| p.price)
        .filter(|p| *p >= 0)
}

/// What a plan does with one due service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Extend it by one period.
    Extend,
    /// Leave it, for this reason.
    Skip(Skip),
}

/// Why a due service is not extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// Its price is not known (no `plan_id`, or a plan not in the catalog).
    PriceUnknown,
    /// Its price would take the total past the cap: the plan stops here.
    OverCap,
    /// Its price would take the total past the balance: the plan stops here.
    BalanceShort,
    /// An earlier service did not fit (cap or balance): the plan stopped before this one.
    Stopped,
    /// The run stopped before it (an earlier extension did not go through): see
    /// [`RenewalReport`].
    NotAttempted,
}

impl Skip {
    /// A short explanation, for a table.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::PriceUnknown => "price unknown (no plan in the catalog)",
            Self::OverCap => "over the cap",
            Self::BalanceShort => "balance too low",
            Self::Stopped => "stopped at an earlier one",
            Self::NotAttempted => "not attempted (the run stopped)",
        }
    }
}

/// One due service of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Renewal {
    /// The service as it was listed.
    pub service: Service,
    /// The price of extending it, if known.
    pub price: Option<i64>,
    /// Whether the plan extends it.
    pub decision: Decision,
}

/// The due services, oldest expiry first, each with its price and whether it is extended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenewalPlan {
    /// Every due service, oldest expiry first.
    pub items: Vec<Renewal>,
    /// The balance the plan was made with.
    pub balance: i64,
    /// The cap.
    pub max_spend: i64,
}

impl RenewalPlan {
    /// The services the plan extends, in order.
    pub fn to_extend(&self) -> impl Iterator<Item = &Renewal> {
        self.items.iter().filter(|r| r.decision == Decision::Extend)
    }

    /// What the plan spends (never more than the cap or the balance).
    pub fn total(&self) -> i64 {
        self.to_extend().filter_map(|r| r.price).sum()
    }

    /// The balance once the plan is carried out.
    pub fn balance_after(&self) -> i64 {
        self.balance - self.total()
    }
}

#[cfg(test)]
mod tests;
