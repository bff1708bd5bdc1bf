//! What a request carries: the purchase body and the filters of the list and download calls.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::value::{Country, PlanId, Rotation};
use crate::operation::{GatewayCountry, ProxyLayout, ServiceType, StatusFilter};
use crate::setters::setters;

/// What to buy: `POST /purchase`.
///
/// ```
/// use opx::types::{Country, PlanId, PurchaseRequest, Rotation, ServiceType};
/// let req = PurchaseRequest::new(ServiceType::Ipv6Rotating, "65a9f0c1b2c3d4e5f6a7b8c9".parse::<PlanId>()?)
///     .country(Country::new("mixed")?)
///     .rotation(Rotation::new("instant")?);
/// assert_eq!(req.plan_id().as_str(), "65a9f0c1b2c3d4e5f6a7b8c9");
/// # Ok::<(), opx::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRequest {
    #[serde(rename = "type")]
    service_type: ServiceType,
    plan_id: PlanId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    country: Option<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotation: Option<Rotation>,
}

impl PurchaseRequest {
    /// A purchase of `plan_id`, which must be of `service_type`.
    pub fn new(service_type: impl Into<ServiceType>, plan_id: impl Into<PlanId>) -> Self {
        Self {
            service_type: service_type.into(),
            plan_id: plan_id.into(),
            country: None,
            rotation: None,
        }
    }
    setters! {
        /// Country/region, e.g. `mixed` (left out when not set: the server's default is not
        /// documented).
        pub fn country(country: impl Into<Country>) => country = Some(country.into());
        /// Rotation mode, e.g. `instant` (left out when not set: the server's default is not
        /// documented).
        pub fn rotation(rotation: impl Into<Rotation>) => rotation = Some(rotation.into());
    }
    /// The service type.
    pub fn service_type(&self) -> &ServiceType {
        &self.service_type
    }
    /// The plan id.
    pub fn plan_id(&self) -> &PlanId {
        &self.plan_id
    }
    /// The country, if one was set.
    pub fn country_value(&self) -> Option<&Country> {
        self.country.as_ref()
    }
    /// The rotation, if one was set.
    pub fn rotation_value(&self) -> Option<&Rotation> {
        self.rotation.as_ref()
    }
}

/// Filters of `GET /services` (kept on every page).
///
/// ```
/// use opx::types::{ServiceQuery, ServiceType, StatusFilter};
/// let q = ServiceQuery::new().status(StatusFilter::All).service_type(ServiceType::Ipv6Rotating).limit(100).prefetch(true);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceQuery {
    pub(crate) status: Option<StatusFilter>,
    pub(crate) service_type: Option<ServiceType>,
    pub(crate) paging: Paging,
}

/// The paging part of a list query: page size, starting cursor, prefetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Paging {
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
    pub(crate) prefetch: bool,
}

/// The paging setters of a list query (one definition for services and logs).
macro_rules! paging_setters {
    ($max:literal) => {
        setters! {
            #[doc = concat!("Page size, 1-", $max, ".")]
            pub fn limit(limit: u32) => paging.limit = Some(limit);
            /// Start at this cursor (a previous page's `next_cursor`).
            pub fn cursor(cursor: impl Into<String>) => paging.cursor = Some(cursor.into());
            /// Streams: fetch the next page while the caller consumes the current one.
            pub fn prefetch(on: bool) => paging.prefetch = on;
        }
    };
}

impl ServiceQuery {
    /// No filters: active services, server page size.
    pub fn new() -> Self {
        Self::default()
    }
    setters! {
        /// Which lifecycle states to list.
        pub fn status(status: impl Into<StatusFilter>) => status = Some(status.into());
        /// Only services of this type.
        pub fn service_type(t: impl Into<ServiceType>) => service_type = Some(t.into());
    }
    paging_setters!("100");
}

/// Filters of `GET /logs` (kept on every page).
///
/// ```
/// let q = opx::types::LogQuery::new().since(chrono::Utc::now() - chrono::Duration::hours(1)).limit(200);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) paging: Paging,
}

impl LogQuery {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }
    setters! {
        /// Only entries at or after this instant.
        pub fn since(t: impl Into<DateTime<Utc>>) => since = Some(t.into());
        /// Only entries at or before this instant.
        pub fn until(t: impl Into<DateTime<Utc>>) => until = Some(t.into());
    }
    paging_setters!("200");
}

/// Options of `GET /services/{id}/proxies`.
///
/// ```
/// use opx::types::{GatewayCountry, ProxyLayout, ProxyQuery};
/// let q = ProxyQuery::new().country(GatewayCountry::De).layout(ProxyLayout::UserPassAtHostPort).auth(false);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyQuery {
    pub(crate) country: Option<GatewayCountry>,
    pub(crate) layout: Option<ProxyLayout>,
    pub(crate) auth: Option<bool>,
}

impl ProxyQuery {
    /// Server defaults: every gateway of the service, `host:port:login:password`, with auth.
    pub fn new() -> Self {
        Self::default()
    }
    setters! {
        /// Only this gateway (`nl`, `de` or `at`).
        pub fn country(c: impl Into<GatewayCountry>) => country = Some(c.into());
        /// Line layout (text form only).
        pub fn layout(l: impl Into<ProxyLayout>) => layout = Some(l.into());
        /// `false` omits login and password (for IP-whitelisted use).
        pub fn auth(on: bool) => auth = Some(on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purchase_sends_only_what_was_set() {
        let plan: PlanId = "65a9f0c1b2c3d4e5f6a7b8c9".parse().unwrap();
        let req = PurchaseRequest::new(ServiceType::Ipv4Rotating, plan.clone());
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({"type": "ipv4_rotating", "plan_id": plan.as_str()})
        );
        let req = req.country(Country::new("nl").unwrap());
        let back: PurchaseRequest =
            serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
        assert_eq!(back, req);
    }
}
