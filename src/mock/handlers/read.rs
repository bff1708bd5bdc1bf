//! The reading operations: account, plans, services, proxies, logs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::json::{available_countries, gateways, plan_json, service_json, timestamp};
use super::{Ctx, Reply, error, ok, reply_service, service_id, service_mut, str_param};
use crate::mock::state;

pub(super) fn get_account(ctx: &mut Ctx<'_>) -> Reply {
    let a = &ctx.state.accounts[ctx.account];
    ok(json!({
        "username": a.username,
        "email": a.email,
        "balance": a.balance,
        "currency": "RUB",
    }))
}

pub(super) fn list_plans(ctx: &mut Ctx<'_>) -> Reply {
    let filter = str_param(ctx.query, "type");
    let plans: Vec<Value> = ctx
        .state
        .plans
        .iter()
        .filter(|p| filter.is_none_or(|t| p.service_type == t))
        .map(plan_json)
        .collect();
    ok(json!({ "plans": plans }))
}

/// The `cursor` query parameter: absent, or the id of one of `items` (else 400).
fn cursor<T>(m: &Map<String, Value>, items: &BTreeMap<u128, T>) -> Result<Option<u128>, Reply> {
    let Some(c) = str_param(m, "cursor") else {
        return Ok(None);
    };
    match state::parse_id(c) {
        Some(id) if items.contains_key(&id) => Ok(Some(id)),
        Some(_) => Err(error(400, "invalid_request", "unknown cursor")),
        None => Err(error(400, "invalid_request", format!("unknown cursor {c}"))),
    }
}

fn limit(m: &Map<String, Value>) -> usize {
    m.get("limit")
        .and_then(Value::as_u64)
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(50)
}

pub(super) fn list_services(ctx: &mut Ctx<'_>) -> Reply {
    let services = &ctx.state.accounts[ctx.account].services;
    let cursor = match cursor(ctx.query, services) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = ctx.now;
    let type_filter = str_param(ctx.query, "type");
    let status = str_param(ctx.query, "status").unwrap_or("active");
    let (items, next) = state::page(services, cursor, limit(ctx.query), |s| {
        let active = s.expires_at > now;
        type_filter.is_none_or(|t| s.service_type == t)
            && match status {
                "active" => active,
                "expired" => !active,
                _ => true,
            }
    });
    ok(json!({
        "services": items.iter().map(|s| service_json(s, now)).collect::<Vec<_>>(),
        "next_cursor": next.map(state::id_hex),
    }))
}

pub(super) fn get_service(ctx: &mut Ctx<'_>) -> Reply {
    match service_id(ctx) {
        Ok(id) => reply_service(ctx, id),
        Err(r) => r,
    }
}

pub(super) fn get_proxies(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = service_mut(ctx, id).clone();
    let filter = str_param(ctx.query, "country");
    if let Some(c) = filter
        && !available_countries(&s.service_type).contains(&c)
    {
        return error(
            400,
            "country_unavailable",
            format!("country {c} is not available for {}", s.service_type),
        );
    }
    let auth = ctx
        .query
        .get("auth")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let layout = str_param(ctx.query, "layout").unwrap_or("host_port_user_pass");
    // Every line points at its country's gateway on loopback (`127.0.0.1:PORT`, the same port
    // for every service: the gateway tells services apart by their credentials).
    let servers: Vec<(String, String, u16)> = gateways(&s)
        .into_iter()
        .filter(|c| filter.is_none_or(|f| f == c))
        .filter_map(|c| {
            let addr = ctx.gateways.get(&c)?;
            Some((c, addr.ip().to_string(), addr.port()))
        })
        .collect();
    if str_param(ctx.query, "format") == Some("json") {
        let list: Vec<Value> = servers
            .iter()
            .map(|(c, host, port)| {
                let mut v = json!({"country": c, "host": host, "port": port});
                if auth {
                    v["login"] = json!(s.login);
                    v["password"] = json!(s.password);
                }
                v
            })
            .collect();
        return ok(json!({ "servers": list }));
    }
    let mut text = String::new();
    for (_, host, port) in &servers {
        let line = match (auth, layout) {
            (false, _) => format!("{host}:{port}"),
            (true, "user_pass_at_host_port") => {
                format!("{}:{}@{host}:{port}", s.login, s.password)
            }
            (true, _) => format!("{host}:{port}:{}:{}", s.login, s.password),
        };
        text.push_str(&line);
        text.push('\n');
    }
    Reply::Text(200, text)
}

pub(super) fn list_logs(ctx: &mut Ctx<'_>) -> Reply {
    let logs = &ctx.state.accounts[ctx.account].logs;
    let cursor = match cursor(ctx.query, logs) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let parse = |name: &str| -> Result<Option<DateTime<Utc>>, Reply> {
        match str_param(ctx.query, name) {
            None => Ok(None),
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| error(400, "invalid_request", format!("{name}: {e}"))),
        }
    };
    let (since, until) = match (parse("since"), parse("until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let (items, next) = state::page(logs, cursor, limit(ctx.query), |l| {
        since.is_none_or(|s| l.created_at >= s) && until.is_none_or(|u| l.created_at <= u)
    });
    ok(json!({
        "logs": items.iter().map(|l| json!({
            "log_id": state::id_hex(l.id),
            "created_at": timestamp(l.created_at),
            "method": l.method,
            "path": l.path,
            "http_status": l.http_status,
            "ip": l.ip,
        })).collect::<Vec<_>>(),
        "next_cursor": next.map(state::id_hex),
    }))
}
