//! The facade's data types: what the API returns, with Rust types where they fit (enums with a
//! fallback for values the server may add, `Ipv4Addr`, `DateTime<Utc>`, integer roubles).

use std::{fmt, net::Ipv4Addr, str::FromStr};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::generated::types as g;
use crate::validate::{Country, PlanId, Rotation, ServiceId};

macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $var:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $var,)+
            /// A value this version of the crate does not know, exactly as the server sent it.
            Unknown(String),
        }
        impl $name {
            /// Maps a wire value to its variant; anything else becomes `Unknown`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $($wire => Self::$var,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$var => $wire,)+
                    Self::Unknown(s) => s,
                }
            }
        }
        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

macro_rules! closed_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $var:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $var,)+
        }
        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$var => $wire,)+
                }
            }
        }
        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                match s {
                    $($wire => Ok(Self::$var),)+
                    other => Err(crate::Error::validation(
                        crate::ErrorCode::InvalidRequest,
                        format!(concat!("not a valid ", stringify!($name), ": {:?}"), other),
                    )),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

open_enum!(
    /// A service or plan type. `Unknown` keeps types the server may add later.
    ///
    /// ```
    /// use opx::ServiceType;
    /// assert_eq!(ServiceType::parse("ipv6_rotating"), ServiceType::Ipv6Rotating);
    /// assert_eq!(ServiceType::parse("ipv4_static").as_str(), "ipv4_static");
    /// ```
    ServiceType {
        /// Rotating IPv4 (always through the `nl` gateway).
        Ipv4Rotating = "ipv4_rotating",
        /// Rotating IPv6 (gateways `nl`, `de`, `at`).
        Ipv6Rotating = "ipv6_rotating",
    }
);

open_enum!(
    /// The lifecycle state of a service.
    ///
    /// ```
    /// assert_eq!(opx::ServiceStatus::parse("active"), opx::ServiceStatus::Active);
    /// ```
    ServiceStatus {
        /// Running.
        Active = "active",
        /// Past `expires_at`.
        Expired = "expired",
    }
);

open_enum!(
    /// A proxy gateway country.
    ///
    /// ```
    /// assert_eq!(opx::GatewayCountry::parse("de"), opx::GatewayCountry::De);
    /// ```
    GatewayCountry {
        /// The Netherlands (IPv4 and IPv6).
        Nl = "nl",
        /// Germany (IPv6).
        De = "de",
        /// Austria (IPv6).
        At = "at",
    }
);

open_enum!(
    /// The currency of balances and prices (always RUB today).
    ///
    /// ```
    /// assert_eq!(opx::Currency::parse("RUB"), opx::Currency::Rub);
    /// ```
    Currency {
        /// Russian roubles.
        Rub = "RUB",
    }
);

closed_enum!(
    /// Which services `GET /services` lists.
    ///
    /// ```
    /// assert_eq!("all".parse::<opx::StatusFilter>().unwrap(), opx::StatusFilter::All);
    /// ```
    StatusFilter {
        /// Active services only (the server's default).
        Active = "active",
        /// Expired services only.
        Expired = "expired",
        /// Every service.
        All = "all",
    }
);

closed_enum!(
    /// The layout of a proxy line.
    ///
    /// ```
    /// assert_eq!(opx::ProxyLayout::UserPassAtHostPort.as_str(), "user_pass_at_host_port");
    /// ```
    ProxyLayout {
        /// `host:port:login:password` (the default).
        HostPortUserPass = "host_port_user_pass",
        /// `login:password@host:port`.
        UserPassAtHostPort = "user_pass_at_host_port",
    }
);

/// Account summary (`GET /account`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

impl From<g::Account> for Account {
    fn from(a: g::Account) -> Self {
        Self {
            username: a.username,
            email: a.email,
            balance: a.balance,
            currency: Currency::parse(&a.currency),
        }
    }
}

/// A purchasable plan (`GET /catalog/plans`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// Id to pass to [`PurchaseRequest::new`].
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

impl From<g::Plan> for Plan {
    fn from(p: g::Plan) -> Self {
        Self {
            plan_id: PlanId::trusted(p.plan_id),
            service_type: ServiceType::parse(&p.type_),
            name: p.name,
            threads: p.threads.get(),
            days: p.days.get(),
            price: p.price,
            currency: Currency::parse(&p.currency),
        }
    }
}

/// Proxy login and password. The password never appears in `Debug`; it is included when the
/// value is serialized (explicit output, e.g. `opx --json`).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Credentials {
    /// Proxy login.
    pub login: String,
    password: String,
}

impl Credentials {
    /// The proxy password (a secret: do not log it).
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// One whitelisted source address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WhitelistEntry {
    /// The address.
    pub ip: Ipv4Addr,
    /// Its label, if one was given.
    pub label: Option<String>,
}

/// A provisioned proxy service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Service {
    /// Its id.
    pub service_id: ServiceId,
    /// Its type.
    #[serde(rename = "type")]
    pub service_type: ServiceType,
    /// Lifecycle state, if the server sent it.
    pub status: Option<ServiceStatus>,
    /// Concurrent connections.
    pub threads: u32,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// Country/region, or `mixed`.
    pub country: String,
    /// Rotation mode, e.g. `instant`.
    pub rotation: String,
    /// Proxy credentials (password redacted in `Debug`).
    pub auth: Credentials,
    /// Whitelisted source addresses.
    pub whitelist: Vec<WhitelistEntry>,
    /// The plan it was bought from, if the server sent it.
    pub plan_id: Option<PlanId>,
}

impl From<g::Service> for Service {
    fn from(s: g::Service) -> Self {
        Self {
            service_id: ServiceId::trusted(s.service_id),
            service_type: ServiceType::parse(&s.type_),
            status: s.status.as_deref().map(ServiceStatus::parse),
            threads: s.threads.get(),
            expires_at: s.expires_at,
            country: s.country,
            rotation: s.rotation,
            auth: Credentials {
                login: s.auth.login,
                password: s.auth.password,
            },
            whitelist: s
                .whitelist
                .into_iter()
                .map(|w| WhitelistEntry {
                    ip: w.ip,
                    label: w.label,
                })
                .collect(),
            plan_id: s.plan_id.map(PlanId::trusted),
        }
    }
}

/// One page of `GET /services`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ServicePage {
    /// The services on this page.
    pub services: Vec<Service>,
    /// Cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl From<g::ServicePage> for ServicePage {
    fn from(p: g::ServicePage) -> Self {
        Self {
            services: p.services.into_iter().map(Service::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// One API request recorded in `GET /logs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogEntry {
    /// Its id.
    pub log_id: String,
    /// When the request was received.
    pub created_at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// Request path, without the query string.
    pub path: String,
    /// HTTP status of the response (0 if the server sent something that is not a status).
    pub http_status: u16,
    /// Source IP address, if recorded.
    pub ip: Option<String>,
}

impl From<g::LogEntry> for LogEntry {
    fn from(l: g::LogEntry) -> Self {
        Self {
            log_id: l.log_id,
            created_at: l.created_at,
            method: l.method,
            path: l.path,
            http_status: u16::try_from(l.http_status).unwrap_or(0),
            ip: l.ip,
        }
    }
}

/// One page of `GET /logs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogPage {
    /// The entries on this page.
    pub logs: Vec<LogEntry>,
    /// Cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl From<g::LogPage> for LogPage {
    fn from(p: g::LogPage) -> Self {
        Self {
            logs: p.logs.into_iter().map(LogEntry::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// One proxy endpoint of `GET /services/{id}/proxies?format=json`. The password never appears
/// in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProxyServer {
    /// Gateway country.
    pub country: GatewayCountry,
    /// Gateway host name.
    pub host: String,
    /// Gateway port.
    pub port: u16,
    /// Proxy login (absent with `auth=false`).
    pub login: Option<String>,
    password: Option<String>,
}

impl ProxyServer {
    /// The proxy password (absent with `auth=false`; a secret: do not log it).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
    /// This endpoint in the parsed-line form (see [`ProxyEndpoint`](crate::ProxyEndpoint)).
    pub fn endpoint(&self) -> crate::ProxyEndpoint<'_> {
        crate::ProxyEndpoint::new(
            &self.host,
            self.port,
            self.login.as_deref(),
            self.password.as_deref(),
        )
    }
}

impl fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyServer")
            .field("country", &self.country)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl TryFrom<g::ProxyServer> for ProxyServer {
    type Error = String;
    fn try_from(p: g::ProxyServer) -> Result<Self, String> {
        let port = u16::try_from(p.port.get())
            .map_err(|_| format!("proxy port {} is out of range", p.port))?;
        Ok(Self {
            country: GatewayCountry::parse(&p.country),
            host: p.host,
            port,
            login: p.login,
            password: p.password,
        })
    }
}

/// What to buy: `POST /purchase`.
///
/// ```
/// use opx::{Country, PlanId, PurchaseRequest, Rotation, ServiceType};
/// let req = PurchaseRequest::new(ServiceType::Ipv6Rotating, "65a9f0c1b2c3d4e5f6a7b8c9".parse::<PlanId>()?)
///     .country(Country::new("mixed")?)
///     .rotation(Rotation::new("instant")?);
/// assert_eq!(req.plan_id().as_str(), "65a9f0c1b2c3d4e5f6a7b8c9");
/// # Ok::<(), opx::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRequest {
    service_type: ServiceType,
    plan_id: PlanId,
    country: Option<Country>,
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
    /// Country/region (server default: `mixed`).
    pub fn country(mut self, country: impl Into<Country>) -> Self {
        self.country = Some(country.into());
        self
    }
    /// Rotation mode (server default: `instant`).
    pub fn rotation(mut self, rotation: impl Into<Rotation>) -> Self {
        self.rotation = Some(rotation.into());
        self
    }
    /// The service type.
    pub fn service_type(&self) -> &ServiceType {
        &self.service_type
    }
    /// The plan id.
    pub fn plan_id(&self) -> &PlanId {
        &self.plan_id
    }
    pub(crate) fn country_value(&self) -> Option<&Country> {
        self.country.as_ref()
    }
    pub(crate) fn rotation_value(&self) -> Option<&Rotation> {
        self.rotation.as_ref()
    }
}

/// Filters of `GET /services` (kept on every page).
///
/// ```
/// use opx::{ServiceQuery, ServiceType, StatusFilter};
/// let q = ServiceQuery::new().status(StatusFilter::All).service_type(ServiceType::Ipv6Rotating).limit(100).prefetch(true);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceQuery {
    pub(crate) status: Option<StatusFilter>,
    pub(crate) service_type: Option<ServiceType>,
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
    pub(crate) prefetch: bool,
}

impl ServiceQuery {
    /// No filters: active services, server page size.
    pub fn new() -> Self {
        Self::default()
    }
    /// Which lifecycle states to list.
    pub fn status(mut self, status: impl Into<StatusFilter>) -> Self {
        self.status = Some(status.into());
        self
    }
    /// Only services of this type.
    pub fn service_type(mut self, t: impl Into<ServiceType>) -> Self {
        self.service_type = Some(t.into());
        self
    }
    /// Page size, 1-100.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Start at this cursor (a previous page's `next_cursor`).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
    /// Streams: fetch the next page while the caller consumes the current one.
    pub fn prefetch(mut self, on: bool) -> Self {
        self.prefetch = on;
        self
    }
}

/// Filters of `GET /logs` (kept on every page).
///
/// ```
/// let q = opx::LogQuery::new().since(chrono::Utc::now() - chrono::Duration::hours(1)).limit(200);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
    pub(crate) prefetch: bool,
}

impl LogQuery {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only entries at or after this instant.
    pub fn since(mut self, t: impl Into<DateTime<Utc>>) -> Self {
        self.since = Some(t.into());
        self
    }
    /// Only entries at or before this instant.
    pub fn until(mut self, t: impl Into<DateTime<Utc>>) -> Self {
        self.until = Some(t.into());
        self
    }
    /// Page size, 1-200.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Start at this cursor (a previous page's `next_cursor`).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
    /// Streams: fetch the next page while the caller consumes the current one.
    pub fn prefetch(mut self, on: bool) -> Self {
        self.prefetch = on;
        self
    }
}

/// Options of `GET /services/{id}/proxies`.
///
/// ```
/// use opx::{GatewayCountry, ProxyLayout, ProxyQuery};
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
    /// Only this gateway (`nl`, `de` or `at`).
    pub fn country(mut self, c: impl Into<GatewayCountry>) -> Self {
        self.country = Some(c.into());
        self
    }
    /// Line layout (text form only).
    pub fn layout(mut self, l: impl Into<ProxyLayout>) -> Self {
        self.layout = Some(l.into());
        self
    }
    /// `false` omits login and password (for IP-whitelisted use).
    pub fn auth(mut self, on: bool) -> Self {
        self.auth = Some(on);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_enums_keep_unknown_values() {
        assert_eq!(
            ServiceType::parse("ipv4_rotating"),
            ServiceType::Ipv4Rotating
        );
        let t = ServiceType::parse("ipv4_static");
        assert_eq!(t, ServiceType::Unknown("ipv4_static".into()));
        assert_eq!(t.to_string(), "ipv4_static");
        assert_eq!(
            serde_json::to_string(&GatewayCountry::At).unwrap(),
            "\"at\""
        );
    }

    #[test]
    fn closed_enums_refuse_unknown_values() {
        assert!("sometimes".parse::<StatusFilter>().is_err());
        assert_eq!(
            "user_pass_at_host_port".parse::<ProxyLayout>().unwrap(),
            ProxyLayout::UserPassAtHostPort
        );
    }

    #[test]
    fn passwords_never_appear_in_debug() {
        let c = Credentials {
            login: "user1".into(),
            password: "s3cr3t-pw".into(),
        };
        let d = format!("{c:?}");
        assert!(d.contains("user1") && !d.contains("s3cr3t-pw"), "{d}");
        let p = ProxyServer {
            country: GatewayCountry::Nl,
            host: "nl.gw".into(),
            port: 8000,
            login: Some("u".into()),
            password: Some("s3cr3t-pw".into()),
        };
        assert!(!format!("{p:?}").contains("s3cr3t-pw"));
        assert!(!format!("{p:#?}").contains("s3cr3t-pw"));
    }
}
