//! A provisioned service, its credentials and whitelist, and a page of `GET /services`.

use std::{fmt, net::Ipv4Addr, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::tolerant::{self, Undecoded, list_payload};
use super::value::{PlanId, ServiceId};
use crate::operation::{ServiceStatus, ServiceType};

/// Proxy login and password. The password never appears in `Debug`; it is included when the
/// value is serialized (explicit output, e.g. `opx --json`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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
///
/// The docs show only an empty whitelist, so the shape of an entry is inferred: it is read from
/// an `{"ip": ..., "label": ...}` object (also under `address` / `ip_address`, label under
/// `name` / `comment`) or from a plain `"203.0.113.10"` string, and written as the object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WhitelistEntry {
    /// The address.
    pub ip: Ipv4Addr,
    /// Its label, if one was given.
    pub label: Option<String>,
}

impl WhitelistEntry {
    /// An entry (for fixtures and tests).
    pub fn new(ip: Ipv4Addr, label: Option<String>) -> Self {
        Self { ip, label }
    }
}

impl<'de> Deserialize<'de> for WhitelistEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Plain(Ipv4Addr),
            Object {
                #[serde(alias = "address", alias = "ip_address")]
                ip: Ipv4Addr,
                #[serde(default, alias = "name", alias = "comment")]
                #[serde(deserialize_with = "tolerant::lenient")]
                label: Option<String>,
            },
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Plain(ip) => Self { ip, label: None },
            Wire::Object { ip, label } => Self { ip, label },
        })
    }
}

/// The whitelist of a service: entries in any of the shapes [`WhitelistEntry`] reads; an entry in
/// none of them is left out (with a warning), the rest still decode.
fn whitelist<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<WhitelistEntry>, D::Error> {
    let (entries, unread) = tolerant::list::<D, WhitelistEntry>(d)?;
    if !unread.is_empty() {
        tracing::warn!(
            unread = unread.len(),
            reason = %unread[0].reason,
            "whitelist entries in an unknown shape were left out"
        );
    }
    Ok(entries)
}

/// A provisioned proxy service.
///
/// The fields the docs show (`service_id`, `type`, `threads`, `expires_at`, `country`,
/// `rotation`, `auth`, `whitelist`) are required; `status` and `plan_id` are inferred and become
/// `None` when absent or in another shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Service {
    /// Its id.
    pub service_id: ServiceId,
    /// Its type.
    #[serde(rename = "type")]
    pub service_type: ServiceType,
    /// Lifecycle state, if the server sent it.
    #[serde(default, deserialize_with = "tolerant::lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
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
    #[serde(deserialize_with = "whitelist")]
    pub whitelist: Vec<WhitelistEntry>,
    /// The plan it was bought from, if the server sent it.
    #[serde(default, deserialize_with = "tolerant::lenient")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<PlanId>,
}

impl Service {
    /// Time left until it expires at `now` (zero once expired).
    ///
    /// ```
    /// # fn demo(s: opx::types::Service) {
    /// let left = s.expires_in(chrono::Utc::now());
    /// if left < std::time::Duration::from_secs(3 * 86_400) { println!("renew {}", s.service_id); }
    /// # }
    /// ```
    pub fn expires_in(&self, now: DateTime<Utc>) -> Duration {
        (self.expires_at - now).to_std().unwrap_or(Duration::ZERO)
    }
}

/// One page of `GET /services`.
///
/// A service that does not decode (a documented field missing or in another shape) does not make
/// the page unreadable: it is in [`undecoded`](Self::undecoded), with its JSON and the reason.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ServicePage {
    /// The services on this page that decoded.
    pub services: Vec<Service>,
    /// The items of this page that did not decode as a [`Service`].
    pub undecoded: Vec<Undecoded>,
    /// Cursor of the next page; `None` on the last page (also when the server sends none).
    pub next_cursor: Option<String>,
}

list_payload!(ServicePage {
    services: Service,
    next_cursor
});

impl ServicePage {
    /// The id of every item on the page, decoded or not (when an undecoded one names a valid
    /// id): what reconciliation matches on.
    pub fn service_ids(&self) -> impl Iterator<Item = ServiceId> + '_ {
        let decoded = self.services.iter().map(|s| s.service_id.clone());
        let undecoded = self
            .undecoded
            .iter()
            .filter_map(|u| u.field("service_id"))
            .filter_map(|id| ServiceId::new(id).ok());
        decoded.chain(undecoded)
    }
}

/// Reads `value` as a service, for callers holding raw JSON (`Response::data_json`).
pub(crate) fn service_from(value: &Value) -> Result<Service, String> {
    tolerant::decode(value)
}
