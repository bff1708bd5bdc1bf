//! One handler per spec operationId: the documented behaviour, over [`State`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::gateway::GatewayAddrs;
use super::state::{self, MockPlan, Service, State};
use crate::operation::Operation;

/// What a handler gets: the locked state, the caller's account and the validated input.
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a mut State,
    pub(crate) account: usize,
    pub(crate) now: DateTime<Utc>,
    pub(crate) path: &'a Map<String, Value>,
    pub(crate) query: &'a Map<String, Value>,
    pub(crate) body: Option<&'a Value>,
    /// Where the gateways listen.
    pub(crate) gateways: &'a GatewayAddrs,
}

/// A handler's answer.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// `application/json`.
    Json(u16, Value),
    /// `text/plain; charset=utf-8`.
    Text(u16, String),
}

impl Reply {
    pub(crate) fn status(&self) -> u16 {
        match self {
            Reply::Json(s, _) | Reply::Text(s, _) => *s,
        }
    }
}

/// A handler.
pub(crate) type Handler = fn(&mut Ctx<'_>) -> Reply;

/// The handler of an operation (the match is exhaustive: an operation the spec adds does not
/// compile until it has one).
pub(crate) fn handler_for(operation: Operation) -> Handler {
    match operation {
        Operation::GetAccount => get_account,
        Operation::ListPlans => list_plans,
        Operation::Purchase => purchase,
        Operation::ListServices => list_services,
        Operation::GetService => get_service,
        Operation::GetProxies => get_proxies,
        Operation::ExtendService => extend_service,
        Operation::ReplaceWhitelist => replace_whitelist,
        Operation::RegenerateCredentials => regenerate_credentials,
        Operation::ChangeCountry => change_country,
        Operation::ChangeRotation => change_rotation,
        Operation::ListLogs => list_logs,
    }
}

/// The error envelope.
pub(crate) fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::Json(
        status,
        json!({"status": "error", "error": {"code": code, "message": message.into()}}),
    )
}

fn ok(data: Value) -> Reply {
    Reply::Json(200, json!({"status": "ok", "data": data}))
}

/// RFC 3339 with milliseconds and `Z`, as the docs show.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Countries a service of this type can be bought in or moved to.
fn available_countries(service_type: &str) -> &'static [&'static str] {
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

fn plan_json(p: &MockPlan) -> Value {
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

fn str_param<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    m.get(name).and_then(Value::as_str)
}

fn body_str<'a>(ctx: &'a Ctx<'_>, name: &str) -> Option<&'a str> {
    ctx.body.and_then(|b| b.get(name)).and_then(Value::as_str)
}

/// The caller's service named by the path id, or 404.
fn service_id(ctx: &Ctx<'_>) -> Result<u128, Reply> {
    let id = str_param(ctx.path, "id").and_then(state::parse_id);
    match id {
        Some(id) if ctx.state.accounts[ctx.account].services.contains_key(&id) => Ok(id),
        _ => Err(error(404, "not_found", "service not found")),
    }
}

fn service_mut<'a>(ctx: &'a mut Ctx<'_>, id: u128) -> &'a mut Service {
    ctx.state.accounts[ctx.account]
        .services
        .get_mut(&id)
        .expect("service checked above")
}

/// Charges `price` RUB to the caller's account, or refuses with 402 `insufficient_balance`
/// (purchase and extend both charge the plan price).
fn charge(ctx: &mut Ctx<'_>, price: i64) -> Result<(), Reply> {
    let account = &mut ctx.state.accounts[ctx.account];
    if account.balance < price {
        return Err(error(
            402,
            "insufficient_balance",
            format!(
                "balance {} RUB is below the plan price {price} RUB",
                account.balance
            ),
        ));
    }
    account.balance -= price;
    Ok(())
}

fn reply_service(ctx: &mut Ctx<'_>, id: u128) -> Reply {
    let now = ctx.now;
    ok(service_json(service_mut(ctx, id), now))
}

fn get_account(ctx: &mut Ctx<'_>) -> Reply {
    let a = &ctx.state.accounts[ctx.account];
    ok(json!({
        "username": a.username,
        "email": a.email,
        "balance": a.balance,
        "currency": "RUB",
    }))
}

fn list_plans(ctx: &mut Ctx<'_>) -> Reply {
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

fn purchase(ctx: &mut Ctx<'_>) -> Reply {
    let service_type = body_str(ctx, "type").unwrap_or_default().to_string();
    let plan_id = body_str(ctx, "plan_id").unwrap_or_default();
    let Some(plan) = ctx.state.plan(plan_id).cloned() else {
        return error(
            400,
            "invalid_plan_id",
            format!("plan {plan_id} does not exist"),
        );
    };
    if plan.service_type != service_type {
        return error(
            400,
            "invalid_plan_id",
            format!(
                "plan {plan_id} is a {} plan, not {service_type}",
                plan.service_type
            ),
        );
    }
    let country = body_str(ctx, "country")
        .unwrap_or("mixed")
        .to_ascii_lowercase();
    if !available_countries(&service_type).contains(&country.as_str()) {
        return error(
            400,
            "country_unavailable",
            format!("country {country} is not available for {service_type}"),
        );
    }
    let rotation = body_str(ctx, "rotation").unwrap_or("instant").to_string();
    if service_type == "ipv4_rotating" && rotation != "instant" {
        return error(
            400,
            "unsupported_for_type",
            "ipv4_rotating rotation is always instant",
        );
    }
    if let Err(refused) = charge(ctx, plan.price) {
        return refused;
    }
    let id = ctx
        .state
        .provision(ctx.account, &plan, country, rotation, ctx.now);
    reply_service(ctx, id)
}

fn cursor(m: &Map<String, Value>) -> Result<Option<u128>, Reply> {
    match str_param(m, "cursor") {
        None => Ok(None),
        Some(c) => state::parse_id(c)
            .map(Some)
            .ok_or_else(|| error(400, "invalid_request", format!("unknown cursor {c}"))),
    }
}

fn limit(m: &Map<String, Value>) -> usize {
    m.get("limit")
        .and_then(Value::as_u64)
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(50)
}

fn list_services(ctx: &mut Ctx<'_>) -> Reply {
    let services = &ctx.state.accounts[ctx.account].services;
    let cursor = match cursor(ctx.query) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(c) = cursor
        && !services.contains_key(&c)
    {
        return error(400, "invalid_request", "unknown cursor");
    }
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

fn get_service(ctx: &mut Ctx<'_>) -> Reply {
    match service_id(ctx) {
        Ok(id) => reply_service(ctx, id),
        Err(r) => r,
    }
}

fn get_proxies(ctx: &mut Ctx<'_>) -> Reply {
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

fn extend_service(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let plan_id = service_mut(ctx, id).plan_id.clone();
    let Some(plan) = ctx.state.plan(&plan_id).cloned() else {
        return error(500, "server_error", "the service's plan is gone");
    };
    if let Err(refused) = charge(ctx, plan.price) {
        return refused;
    }
    let now = ctx.now;
    let s = service_mut(ctx, id);
    s.expires_at = s.expires_at.max(now) + chrono::Duration::days(i64::from(plan.days));
    reply_service(ctx, id)
}

fn replace_whitelist(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let body = ctx.body.cloned().unwrap_or(Value::Null);
    let ips: Vec<String> = body["whitelisted_ips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if ips.len() > crate::MAX_WHITELIST {
        let max = crate::MAX_WHITELIST;
        return error(
            400,
            "too_many_ips",
            format!("at most {max} whitelisted IPs"),
        );
    }
    if let Some(bad) = ips
        .iter()
        .find(|ip| ip.parse::<std::net::Ipv4Addr>().is_err())
    {
        return error(400, "invalid_ip", format!("{bad} is not an IPv4 address"));
    }
    let labels: Option<Vec<String>> = body.get("labels").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    if let Some(l) = &labels
        && l.len() != ips.len()
    {
        return error(
            400,
            "invalid_request",
            format!(
                "labels has {} entries, whitelisted_ips has {}",
                l.len(),
                ips.len()
            ),
        );
    }
    let entries = ips
        .into_iter()
        .enumerate()
        .map(|(i, ip)| (ip, labels.as_ref().map(|l| l[i].clone())))
        .collect();
    service_mut(ctx, id).whitelist = entries;
    reply_service(ctx, id)
}

fn regenerate_credentials(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let (login, password) = ctx.state.new_credentials();
    let s = service_mut(ctx, id);
    s.login = login;
    s.password = password;
    reply_service(ctx, id)
}

fn change_country(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let country = body_str(ctx, "country")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let s = service_mut(ctx, id);
    if s.service_type == "ipv4_rotating" {
        return error(
            400,
            "unsupported_for_type",
            "ipv4_rotating always routes through the nl gateway",
        );
    }
    if !available_countries(&s.service_type).contains(&country.as_str()) {
        return error(
            400,
            "country_unavailable",
            format!("country {country} is not available for {}", s.service_type),
        );
    }
    s.country = country;
    reply_service(ctx, id)
}

fn change_rotation(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let rotation = body_str(ctx, "rotation").unwrap_or_default().to_string();
    let s = service_mut(ctx, id);
    if s.service_type == "ipv4_rotating" {
        return error(
            400,
            "unsupported_for_type",
            "ipv4_rotating rotation is instant by design",
        );
    }
    s.rotation = rotation;
    reply_service(ctx, id)
}

fn list_logs(ctx: &mut Ctx<'_>) -> Reply {
    let logs = &ctx.state.accounts[ctx.account].logs;
    let cursor = match cursor(ctx.query) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(c) = cursor
        && !logs.contains_key(&c)
    {
        return error(400, "invalid_request", "unknown cursor");
    }
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
