//! The JSON shapes of the spec's objects, serialised from the typed values.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::mock::fake::ids::{id_hex, timestamp};
use crate::mock::fake::model::{LogEntry, MockPlan, Service};
use crate::types::Currency;

/// The service's JSON as the spec describes it.
pub(super) fn service_json(s: &Service, now: DateTime<Utc>) -> Value {
    json!({
        "service_id": id_hex(s.id),
        "type": s.service_type,
        "status": s.status(now),
        "plan_id": s.plan_id,
        "threads": s.threads,
        "expires_at": timestamp(s.expires_at),
        "country": s.country,
        "rotation": s.rotation,
        "auth": {"login": s.login, "password": s.password},
        "whitelist": s.whitelist.iter().map(|(ip, label)| json!({"ip": ip, "label": label})).collect::<Vec<_>>(),
    })
}

/// A plan's JSON.
pub(super) fn plan_json(p: &MockPlan) -> Value {
    json!({
        "plan_id": p.plan_id,
        "type": p.service_type,
        "name": p.name,
        "threads": p.threads,
        "days": p.days,
        "price": p.price,
        "currency": Currency::Rub,
    })
}

/// A log entry's JSON.
pub(super) fn log_json(l: &LogEntry) -> Value {
    json!({
        "log_id": id_hex(l.id),
        "created_at": timestamp(l.created_at),
        "method": l.method,
        "path": l.path,
        "http_status": l.http_status,
        "ip": l.ip,
    })
}
