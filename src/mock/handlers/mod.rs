//! One handler per spec operationId: the documented behaviour, over [`State`].
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::gateway::GatewayAddrs;
use super::state::{self, Service, State};
use crate::operation::Operation;

mod change;
mod json;
mod read;

use change::*;
pub(crate) use json::{gateways, service_json, timestamp};
use read::*;

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

pub(super) fn ok(data: Value) -> Reply {
    Reply::Json(200, json!({"status": "ok", "data": data}))
}

pub(super) fn str_param<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    m.get(name).and_then(Value::as_str)
}

pub(super) fn body_str<'a>(ctx: &'a Ctx<'_>, name: &str) -> Option<&'a str> {
    ctx.body.and_then(|b| b.get(name)).and_then(Value::as_str)
}

/// The caller's service named by the path id, or 404.
pub(super) fn service_id(ctx: &Ctx<'_>) -> Result<u128, Reply> {
    let id = str_param(ctx.path, "id").and_then(state::parse_id);
    match id {
        Some(id) if ctx.state.accounts[ctx.account].services.contains_key(&id) => Ok(id),
        _ => Err(error(404, "not_found", "service not found")),
    }
}

pub(super) fn service_mut<'a>(ctx: &'a mut Ctx<'_>, id: u128) -> &'a mut Service {
    ctx.state.accounts[ctx.account]
        .services
        .get_mut(&id)
        .expect("service checked above")
}

pub(super) fn reply_service(ctx: &mut Ctx<'_>, id: u128) -> Reply {
    let now = ctx.now;
    ok(service_json(service_mut(ctx, id), now))
}
