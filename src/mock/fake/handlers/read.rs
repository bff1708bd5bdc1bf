//! The reading operations: account, plans, services, proxies, logs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::ctx::{Ctx, Reply};
use super::json::{log_json, plan_json, service_json};
use crate::mock::fake::ids::{id_hex, parse_id};
use crate::mock::fake::model::sold_in;
use crate::mock::fake::state::page;
use crate::types::{
    Country, Currency, ErrorCode, GatewayCountry, ProxyFormat, ProxyLayout, ServiceType,
    StatusFilter,
};

pub(super) fn get_account(ctx: &mut Ctx<'_>) -> Reply {
    let a = &ctx.state.accounts[ctx.account];
    Reply::ok(json!({
        "username": a.username,
        "email": a.email,
        "balance": a.balance,
        "currency": Currency::Rub,
    }))
}

pub(super) fn list_plans(ctx: &mut Ctx<'_>) -> Reply {
    let filter: Option<ServiceType> = ctx.query("type");
    let plans: Vec<Value> = ctx
        .state
        .plans
        .iter()
        .filter(|p| filter.as_ref().is_none_or(|t| p.service_type == *t))
        .map(plan_json)
        .collect();
    Reply::ok(json!({ "plans": plans }))
}

/// The `cursor` query parameter: absent, or the id of one of `items` (else 400).
fn cursor<T>(ctx: &Ctx<'_>, items: &BTreeMap<u128, T>) -> Result<Option<u128>, Reply> {
    let Some(c) = ctx.query::<String>("cursor") else {
        return Ok(None);
    };
    match parse_id(&c) {
        Some(id) if items.contains_key(&id) => Ok(Some(id)),
        Some(_) => Err(Reply::error(ErrorCode::InvalidRequest, "unknown cursor")),
        None => Err(Reply::error(
            ErrorCode::InvalidRequest,
            format!("unknown cursor {c}"),
        )),
    }
}

fn limit(ctx: &Ctx<'_>) -> usize {
    ctx.query::<u64>("limit")
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(50)
}

pub(super) fn list_services(ctx: &mut Ctx<'_>) -> Reply {
    let services = &ctx.state.accounts[ctx.account].services;
    let cursor = match cursor(ctx, services) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = ctx.now;
    let type_filter: Option<ServiceType> = ctx.query("type");
    let status = ctx.query("status").unwrap_or(StatusFilter::Active);
    let (items, next) = page(services, cursor, limit(ctx), |s| {
        let active = s.is_active(now);
        type_filter.as_ref().is_none_or(|t| s.service_type == *t)
            && match status {
                StatusFilter::Active => active,
                StatusFilter::Expired => !active,
                _ => true,
            }
    });
    Reply::ok(json!({
        "services": items.iter().map(|s| service_json(s, now)).collect::<Vec<_>>(),
        "next_cursor": next.map(id_hex),
    }))
}

pub(super) fn get_service(ctx: &mut Ctx<'_>) -> Reply {
    match ctx.service_id() {
        Ok(id) => ctx.reply_service(id),
        Err(r) => r,
    }
}

pub(super) fn get_proxies(ctx: &mut Ctx<'_>) -> Reply {
    let id = match ctx.service_id() {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = ctx.service_mut(id).clone();
    let filter: Option<GatewayCountry> = ctx.query("country");
    if let Some(c) = &filter
        && !Country::new(c.as_str()).is_ok_and(|c| sold_in(&s.service_type, &c))
    {
        return Reply::error(
            ErrorCode::CountryUnavailable,
            format!("country {c} is not available for {}", s.service_type),
        );
    }
    let auth = ctx.query::<bool>("auth").unwrap_or(true);
    let layout = ctx.query("layout").unwrap_or(ProxyLayout::HostPortUserPass);
    // Every line points at its country's gateway on loopback (`127.0.0.1:PORT`, the same port
    // for every service: the gateway tells services apart by their credentials).
    let servers: Vec<(GatewayCountry, String, u16)> = s
        .gateways()
        .into_iter()
        .filter(|c| filter.as_ref().is_none_or(|f| f == c))
        .filter_map(|c| {
            let addr = ctx.gateways.get(&c)?;
            Some((c, addr.ip().to_string(), addr.port()))
        })
        .collect();
    if ctx.query::<ProxyFormat>("format") == Some(ProxyFormat::Json) {
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
        return Reply::ok(json!({ "servers": list }));
    }
    let mut text = String::new();
    for (_, host, port) in &servers {
        let line = match (auth, &layout) {
            (false, _) => format!("{host}:{port}"),
            (true, ProxyLayout::UserPassAtHostPort) => {
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
    let cursor = match cursor(ctx, logs) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let parse = |name: &str| -> Result<Option<DateTime<Utc>>, Reply> {
        match ctx.query::<String>(name) {
            None => Ok(None),
            Some(t) => DateTime::parse_from_rfc3339(&t)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| Reply::error(ErrorCode::InvalidRequest, format!("{name}: {e}"))),
        }
    };
    let (since, until) = match (parse("since"), parse("until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let (items, next) = page(logs, cursor, limit(ctx), |l| {
        since.is_none_or(|s| l.created_at >= s) && until.is_none_or(|u| l.created_at <= u)
    });
    Reply::ok(json!({
        "logs": items.iter().map(|l| log_json(l)).collect::<Vec<_>>(),
        "next_cursor": next.map(id_hex),
    }))
}
