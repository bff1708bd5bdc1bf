//! The account summary and the plan catalog: every field of both is shown in the docs, so both
//! decode strictly (a plan that does not decode is kept aside, the rest of the catalog reads).

use serde::{Deserialize, Serialize};

use super::tolerant::{Undecoded, list_payload};
use super::value::PlanId;
use crate::operation::{Currency, ServiceType};

/// Account summary (`GET /account`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// User name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Balance in whole roubles.
    pub balance: i64,
    /// Currency of the balance.
    pub currency: Currency,
}

/// A purchasable plan (`GET /catalog/plans`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// Id to pass to [`PurchaseRequest::new`](crate::types::PurchaseRequest::new).
    pub plan_id: PlanId,
    /// Service type.
    #[serde(rename = "type")]
    pub service_type: ServiceType,
    /// Display name.
    pub name: String,
    /// Concurrent connections included.
    pub threads: u32,
    /// Length of one period in days.
    pub days: u32,
    /// Price of one period in whole roubles.
    pub price: i64,
    /// Currency of the price.
    pub currency: Currency,
}

/// The catalog (`GET /catalog/plans`): the plans that decoded, and those that did not.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct PlanList {
    /// The plans.
    pub plans: Vec<Plan>,
    /// Items of the catalog that did not decode as a [`Plan`].
    pub undecoded: Vec<Undecoded>,
}

list_payload!(PlanList { plans: Plan });
