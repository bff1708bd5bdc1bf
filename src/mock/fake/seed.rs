//! [`ServiceSeed`]: services a test creates without charging
//! ([`Services::seed_with`](crate::mock::Services::seed_with), `POST /_mock/services`).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::setters::setters;
use crate::types::{Country, ServiceType};

/// Services to create without charging. Every field is optional; build one with
/// [`ServiceSeed::new`] or [`ServiceSeed::count`] and the setters:
///
/// ```
/// use opx::mock::ServiceSeed;
/// use opx::types::{Country, ServiceType};
/// let seed = ServiceSeed::count(3)
///     .service_type(ServiceType::Ipv6Rotating)
///     .country(Country::new("de")?)
///     .expires_in_seconds(60);
/// assert_eq!(seed.count, Some(3));
/// # Ok::<(), opx::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ServiceSeed {
    /// How many (default 1).
    pub count: Option<usize>,
    /// Their type (default: the catalog's plans in turn).
    #[serde(rename = "type")]
    pub service_type: Option<ServiceType>,
    /// Their country (default `mixed`).
    pub country: Option<Country>,
    /// Seconds until they expire (default: the plan's days; negative: already expired).
    pub expires_in_seconds: Option<i64>,
    /// Their whitelist.
    pub whitelist: Vec<Ipv4Addr>,
    /// The account they belong to (default: the default account).
    pub username: Option<String>,
}

impl ServiceSeed {
    /// One service of the catalog's first plan, active for the plan's days, in `mixed`.
    pub fn new() -> Self {
        Self::default()
    }

    /// `n` services of the catalog's plans in turn.
    pub fn count(n: usize) -> Self {
        Self {
            count: Some(n),
            ..Self::default()
        }
    }

    setters! {
        /// Of this type only (the catalog's plans of that type in turn).
        pub fn service_type(t: ServiceType) => service_type = Some(t);

        /// In this country (or region).
        pub fn country(country: Country) => country = Some(country);

        /// Expiring `seconds` from the mock's now (negative: expired already).
        pub fn expires_in_seconds(seconds: i64) => expires_in_seconds = Some(seconds);

        /// With this whitelist.
        pub fn whitelist(ips: impl IntoIterator<Item = Ipv4Addr>) => whitelist = ips.into_iter().collect();

        /// For the account with this user name (see
        /// [`Accounts::add`](crate::mock::Accounts::add)).
        pub fn username(username: impl Into<String>) => username = Some(username.into());
    }
}
