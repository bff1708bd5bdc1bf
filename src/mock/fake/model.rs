//! The mock's data, typed as the client types it: plans, services, log entries, accounts and
//! API keys, and what the docs say about countries and gateways.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, Utc};

use super::ratelimit::Windows;
use crate::types::{Country, GatewayCountry, PlanId, Rotation, ServiceStatus, ServiceType};

/// The default balance of the default account, in RUB.
pub const DEFAULT_BALANCE: i64 = 100_000;

/// A purchasable plan of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockPlan {
    /// Its id, as a purchase names it.
    pub plan_id: PlanId,
    /// The type of the services it sells.
    pub service_type: ServiceType,
    /// Display name.
    pub name: String,
    /// Concurrent connections.
    pub threads: u32,
    /// Days in one period.
    pub days: u32,
    /// Price of one period in RUB.
    pub price: i64,
}

/// The default catalog: two IPv4 and two IPv6 rotating plans, 30 days each.
pub(crate) fn default_plans() -> Vec<MockPlan> {
    let plan = |id: &str, t: ServiceType, name: &str, threads: u32, price: i64| MockPlan {
        plan_id: PlanId::new(id).expect("a 24-hex plan id"),
        service_type: t,
        name: name.to_string(),
        threads,
        days: 30,
        price,
    };
    use ServiceType::{Ipv4Rotating as V4, Ipv6Rotating as V6};
    vec![
        plan(
            "65a9f0c1b2c3d4e5f6a7b8c9",
            V4,
            "IPv4 Rotating 100 threads",
            100,
            1500,
        ),
        plan(
            "65a9f0c1b2c3d4e5f6a7b8ca",
            V4,
            "IPv4 Rotating 50 threads",
            50,
            900,
        ),
        plan(
            "65a9f0c1b2c3d4e5f6a7b8cb",
            V6,
            "IPv6 Rotating 500 threads",
            500,
            2500,
        ),
        plan(
            "65a9f0c1b2c3d4e5f6a7b8cc",
            V6,
            "IPv6 Rotating 200 threads",
            200,
            1200,
        ),
    ]
}

/// Whether a service of type `t` can be bought in or moved to `country`: IPv4 services in
/// `mixed` and `nl`, IPv6 services in `mixed`, any gateway country and `us` (an exit region
/// without a gateway of its own).
pub(crate) fn sold_in(t: &ServiceType, country: &Country) -> bool {
    let c = country.as_str();
    let gateway = |g: &GatewayCountry| g.as_str() == c;
    *country == Country::MIXED
        || match t {
            ServiceType::Ipv4Rotating => gateway(&GatewayCountry::Nl),
            _ => GatewayCountry::KNOWN.iter().any(gateway) || *country == Country::US,
        }
}

/// A provisioned service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) id: u128,
    pub(crate) service_type: ServiceType,
    pub(crate) plan_id: PlanId,
    pub(crate) threads: u32,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) country: Country,
    pub(crate) rotation: Rotation,
    pub(crate) login: String,
    pub(crate) password: String,
    pub(crate) whitelist: Vec<(String, Option<String>)>,
}

impl Service {
    /// Whether it is active at `now`.
    pub(crate) fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }

    /// Its status at `now`.
    pub(crate) fn status(&self, now: DateTime<Utc>) -> ServiceStatus {
        if self.is_active(now) {
            ServiceStatus::Active
        } else {
            ServiceStatus::Expired
        }
    }

    /// Its gateways: IPv4 always `nl`; IPv6 the gateway of its country when that country has
    /// one, otherwise (`mixed`, or an exit region such as `us` that has no gateway of its own)
    /// every gateway (the docs: "3 country gateways (nl/de/at)").
    pub(crate) fn gateways(&self) -> Vec<GatewayCountry> {
        match (
            &self.service_type,
            GatewayCountry::parse(self.country.as_str()),
        ) {
            (ServiceType::Ipv4Rotating, _) => vec![GatewayCountry::Nl],
            (_, g) if g.is_known() => vec![g],
            _ => GatewayCountry::KNOWN.to_vec(),
        }
    }

    /// Whether its whitelist holds this address.
    pub(crate) fn whitelists(&self, ip: IpAddr) -> bool {
        self.whitelist.iter().any(|(entry, _)| {
            entry
                .parse::<IpAddr>()
                .is_ok_and(|e| e.to_canonical() == ip)
        })
    }
}

/// One recorded API request of an account.
#[derive(Debug, Clone)]
pub(crate) struct LogEntry {
    pub(crate) id: u128,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) http_status: u16,
    pub(crate) ip: String,
}

impl LogEntry {
    /// An entry for a request (its id is set when it is logged).
    pub(crate) fn new(
        created_at: DateTime<Utc>,
        method: &str,
        path: &str,
        http_status: u16,
        ip: IpAddr,
    ) -> Self {
        LogEntry {
            id: 0,
            created_at,
            method: method.to_string(),
            path: path.to_string(),
            http_status,
            ip: ip.to_string(),
        }
    }
}

/// A tenant.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) balance: i64,
    pub(crate) services: BTreeMap<u128, Service>,
    pub(crate) logs: BTreeMap<u128, LogEntry>,
}

/// An API key.
#[derive(Debug)]
pub(crate) struct ApiKey {
    pub(crate) token: String,
    pub(crate) account: usize,
    pub(crate) revoked: bool,
    pub(crate) pinned: Option<Vec<IpAddr>>,
    pub(crate) windows: Windows,
}

/// Another tenant, created with [`Accounts::add`](crate::mock::Accounts::add).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockAccount {
    /// Its user name (what `PUT /_mock/accounts/{username}/balance` names).
    pub username: String,
    /// A valid API key of this account.
    pub token: String,
    /// The account's index in the mock (0 is the default account).
    pub index: usize,
}

/// Where each gateway listens (the proxy lists point there).
#[derive(Debug, Clone, Default)]
pub(crate) struct GatewayAddrs(Vec<(GatewayCountry, SocketAddr)>);

impl GatewayAddrs {
    /// The addresses of the gateways.
    pub(crate) fn new(addrs: Vec<(GatewayCountry, SocketAddr)>) -> Self {
        Self(addrs)
    }

    /// The address of a country's gateway.
    pub(crate) fn get(&self, country: &GatewayCountry) -> Option<SocketAddr> {
        self.0.iter().find(|(c, _)| c == country).map(|(_, a)| *a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_and_gateways_follow_the_docs() {
        let c = |s: &str| Country::new(s).unwrap();
        let (v4, v6) = (ServiceType::Ipv4Rotating, ServiceType::Ipv6Rotating);
        assert!(sold_in(&v4, &c("mixed")) && sold_in(&v4, &c("nl")));
        assert!(!sold_in(&v4, &c("de")) && !sold_in(&v4, &c("us")));
        for ok in ["mixed", "nl", "de", "at", "us"] {
            assert!(sold_in(&v6, &c(ok)), "{ok}");
        }
        assert!(!sold_in(&v6, &c("fr")));
    }
}
