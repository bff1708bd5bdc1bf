//! Who a gateway request is for (credentials or a whitelisted address), whether its service
//! may use this gateway now, and the service's threads.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use http::{HeaderMap, StatusCode};

use super::Gateway;
use crate::forward_proxy::basic_credentials;
use crate::mock::Inner;
use crate::mock::handlers::gateways;
use crate::mock::state::{self, Service};

pub(super) struct Shared {
    pub(super) inner: Arc<Inner>,
    pub(super) in_use: Mutex<HashMap<u128, u32>>,
    pub(super) exits: super::exit::Exits,
    /// The most threads each service has had in use at once.
    pub(super) peak: Mutex<HashMap<u128, u32>>,
    /// The countries whose gateway closes every new connection without a word.
    pub(super) down: Mutex<Vec<String>>,
}

impl Shared {
    pub(super) fn in_use(&self) -> std::sync::MutexGuard<'_, HashMap<u128, u32>> {
        self.in_use.lock().unwrap_or_else(|e| e.into_inner())
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
        let mut peak = self.peak.lock().unwrap_or_else(|e| e.into_inner());
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

/// Why a request is not carried.
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    /// The RFC 9209 error type (none on 407).
    pub(super) proxy_status: Option<&'static str>,
    pub(super) message: String,
}

impl Refusal {
    pub(super) fn new(
        status: StatusCode,
        proxy_status: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Refusal {
            status,
            proxy_status: Some(proxy_status),
            message: message.into(),
        }
    }

    pub(super) fn auth(message: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            proxy_status: None,
            message: message.into(),
        }
    }
}

/// The service a request is carried for.
pub(super) struct Ticket {
    pub(super) id: u128,
    pub(super) threads: u32,
    pub(super) rotation: String,
}

impl Gateway {
    /// Who the request is for: its credentials, or its whitelisted source address.
    pub(super) fn authorize(&self, ip: IpAddr, headers: &HeaderMap) -> Result<Ticket, Refusal> {
        let now = self.shared.inner.clock.now();
        let st = self.shared.inner.lock();
        let mut services = st.accounts.iter().flat_map(|a| a.services.values());
        let service = match basic_credentials(headers) {
            Some(Err(why)) => return Err(Refusal::auth(why)),
            Some(Ok((login, password))) => {
                // Every service is compared (in constant time), whichever matches.
                let mut found = None;
                for s in services {
                    let same = state::ct_eq(s.login.as_bytes(), login.as_bytes())
                        & state::ct_eq(s.password.as_bytes(), password.as_bytes());
                    if same && found.is_none() {
                        found = Some(s);
                    }
                }
                found.ok_or_else(|| {
                    Refusal::auth("unknown or outdated proxy credentials (regenerated credentials stop working at once)")
                })?
            }
            None => {
                let listed: Vec<&Service> =
                    services.by_ref().filter(|s| whitelisted(s, ip)).collect();
                let usable = listed
                    .iter()
                    .copied()
                    .find(|s| self.service_refusal(s, now).is_none());
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
        match self.service_refusal(service, now) {
            Some(refusal) => Err(refusal),
            None => Ok(Ticket {
                id: service.id,
                threads: service.threads,
                rotation: service.rotation.clone(),
            }),
        }
    }

    /// Why this service cannot use this gateway now, if it cannot.
    pub(super) fn service_refusal(
        &self,
        s: &Service,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Refusal> {
        let id = state::id_hex(s.id);
        if s.expires_at <= now {
            let at = crate::mock::handlers::timestamp(s.expires_at);
            return Some(Refusal::new(
                StatusCode::FORBIDDEN,
                "http_request_denied",
                format!("service {id} expired at {at}"),
            ));
        }
        let countries = gateways(s);
        if !countries.iter().any(|c| c == self.country.as_str()) {
            return Some(Refusal::new(
                StatusCode::FORBIDDEN,
                "http_request_denied",
                format!(
                    "service {id} has no {} gateway (its gateways: {})",
                    self.country,
                    countries.join(", ")
                ),
            ));
        }
        None
    }
}

/// Whether the service's whitelist holds this address.
pub(super) fn whitelisted(s: &Service, ip: IpAddr) -> bool {
    s.whitelist.iter().any(|(entry, _)| {
        entry
            .parse::<IpAddr>()
            .is_ok_and(|e| e.to_canonical() == ip)
    })
}
