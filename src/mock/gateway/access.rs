//! Who a gateway request is for (credentials or a whitelisted address), whether its service
//! may use this gateway now, and the service's threads.

use super::refusal::GatewayRefusal;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use http::HeaderMap;

use super::exit::Exits;
use crate::forward_proxy::basic_credentials;
use crate::mock::fake::api::Fake;
use crate::mock::fake::ids::{ct_eq, id_hex, timestamp};
use crate::mock::fake::model::Service;
use crate::types::{GatewayCountry, Rotation};

/// What the gateways of one mock share: the fake, the threads in use per service, the exits.
pub(super) struct Shared {
    pub(super) fake: Arc<Fake>,
    pub(super) in_use: Mutex<HashMap<u128, u32>>,
    pub(super) exits: Exits,
    /// The most threads each service has had in use at once.
    pub(super) peak: Mutex<HashMap<u128, u32>>,
    /// The countries whose gateway is out, and how.
    pub(super) outages: Mutex<HashMap<GatewayCountry, Outage>>,
}

/// How a gateway is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outage {
    /// Every new connection is closed at once, without a word (a dead line).
    Down,
    /// Every new connection is accepted and held open, and nothing is ever answered (a hung
    /// line).
    Hung,
}

impl Shared {
    pub(super) fn in_use(&self) -> std::sync::MutexGuard<'_, HashMap<u128, u32>> {
        crate::sync::lock(&self.in_use)
    }

    /// Takes one of the service's threads, if one is free.
    pub(super) fn acquire(self: &Arc<Self>, service: u128, threads: u32) -> Option<Thread> {
        let mut in_use = self.in_use();
        let n = in_use.entry(service).or_insert(0);
        if *n >= threads {
            return None;
        }
        *n += 1;
        let now = *n;
        drop(in_use);
        let mut peak = crate::sync::lock(&self.peak);
        let p = peak.entry(service).or_insert(0);
        *p = (*p).max(now);
        Some(Thread {
            shared: self.clone(),
            service,
        })
    }
}

/// One thread of a service in use; given back when dropped.
pub(super) struct Thread {
    pub(super) shared: Arc<Shared>,
    pub(super) service: u128,
}

impl Drop for Thread {
    fn drop(&mut self) {
        let mut in_use = self.shared.in_use();
        if let Some(n) = in_use.get_mut(&self.service) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_use.remove(&self.service);
            }
        }
    }
}

/// Why a request is not carried, in words for the answer's body.
pub(super) struct Refusal {
    pub(super) kind: GatewayRefusal,
    pub(super) message: String,
}

impl Refusal {
    pub(super) fn new(kind: GatewayRefusal, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            message: message.into(),
        }
    }

    pub(super) fn auth(message: impl Into<String>) -> Self {
        Self::new(GatewayRefusal::AuthenticationRequired, message)
    }
}

/// The service a request is carried for.
pub(super) struct Ticket {
    pub(super) id: u128,
    pub(super) threads: u32,
    pub(super) rotation: Rotation,
}

/// Who a request to `country`'s gateway is for: its credentials, or its whitelisted source
/// address.
pub(super) fn authorize(
    fake: &Fake,
    country: &GatewayCountry,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Result<Ticket, Refusal> {
    let now = fake.now();
    let st = fake.lock();
    let mut services = st.accounts.iter().flat_map(|a| a.services.values());
    let service = match basic_credentials(headers) {
        Some(Err(why)) => return Err(Refusal::auth(why)),
        Some(Ok((login, password))) => {
            // Every service is compared (in constant time), whichever matches.
            let mut found = None;
            for s in services {
                let same = ct_eq(s.login.as_bytes(), login.as_bytes())
                    & ct_eq(s.password.as_bytes(), password.as_bytes());
                if same && found.is_none() {
                    found = Some(s);
                }
            }
            found.ok_or_else(|| {
                    Refusal::auth("unknown or outdated proxy credentials (regenerated credentials stop working at once)")
                })?
        }
        None => {
            let listed: Vec<&Service> = services.by_ref().filter(|s| s.whitelists(ip)).collect();
            let usable = listed
                .iter()
                .copied()
                .find(|s| service_refusal(s, country, now).is_none());
            match usable.or_else(|| listed.first().copied()) {
                Some(s) => s,
                None => {
                    return Err(Refusal::auth(format!(
                        "proxy credentials required (Proxy-Authorization: Basic), or a source \
                             address in a service's whitelist ({ip} is in none)"
                    )));
                }
            }
        }
    };
    match service_refusal(service, country, now) {
        Some(refusal) => Err(refusal),
        None => Ok(Ticket {
            id: service.id,
            threads: service.threads,
            rotation: service.rotation.clone(),
        }),
    }
}

/// Why this service cannot use `country`'s gateway now, if it cannot.
fn service_refusal(s: &Service, country: &GatewayCountry, now: DateTime<Utc>) -> Option<Refusal> {
    let id = id_hex(s.id);
    if !s.is_active(now) {
        let at = timestamp(s.expires_at);
        return Some(Refusal::new(
            GatewayRefusal::ServiceDenied,
            format!("service {id} expired at {at}"),
        ));
    }
    let countries = s.gateways();
    if !countries.contains(country) {
        let names: Vec<&str> = countries.iter().map(GatewayCountry::as_str).collect();
        return Some(Refusal::new(
            GatewayRefusal::ServiceDenied,
            format!(
                "service {id} has no {country} gateway (its gateways: {})",
                names.join(", ")
            ),
        ));
    }
    None
}
