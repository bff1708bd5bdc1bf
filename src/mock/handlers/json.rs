//! The JSON shapes of the spec's objects, and the countries and gateways of a service.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::mock::state::{self, MockPlan, Service};

/// RFC 3339 with milliseconds and `Z`, as the docs show.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Countries a service of this type can be bought in or moved to.
pub(super) fn available_countries(service_type: &str) -> &'static [&'static str] {
    match service_type {
        "ipv4_rotating" => &["mixed", "nl"],
        _ => &["mixed", "nl", "de", "at", "us"],
    }
}

/// The gateway countries IPv6 services span (the docs: "3 country gateways (nl/de/at)").
const IPV6_GATEWAYS: [&str; 3] = ["nl", "de", "at"];

/// The gateways (countries) of a service: IPv4 always `nl`; IPv6 the gateway of its country
/// when that country has one, otherwise (`mixed`, or an exit region such as `us` that has no
/// gateway of its own) every IPv6 gateway.
pub(crate) fn gateways(s: &Service) -> Vec<String> {
    match (s.service_type.as_str(), s.country.as_str()) {
        ("ipv4_rotating", _) => vec!["nl".to_string()],
        (_, c) if IPV6_GATEWAYS.contains(&c) => vec![c.to_string()],
        _ => IPV6_GATEWAYS.iter().map(|c| c.to_string()).collect(),
    }
}

/// The service's JSON as the spec describes it.
pub(crate) fn service_json(s: &Service, now: DateTime<Utc>) -> Value {
    json!({
        "service_id": state::id_hex(s.id),
        "type": s.service_type,
        "status": if s.expires_at > now { "active" } else { "expired" },
        "plan_id": s.plan_id,
        "threads": s.threads,
        "expires_at": timestamp(s.expires_at),
        "country": s.country,
        "rotation": s.rotation,
        "auth": {"login": s.login, "password": s.password},
        "whitelist": s.whitelist.iter().map(|(ip, label)| json!({"ip": ip, "label": label})).collect::<Vec<_>>(),
    })
}

pub(super) fn plan_json(p: &MockPlan) -> Value {
    json!({
        "plan_id": p.plan_id,
        "type": p.service_type,
        "name": p.name,
        "threads": p.threads,
        "days": p.days,
        "price": p.price,
        "currency": "RUB",
    })
}
