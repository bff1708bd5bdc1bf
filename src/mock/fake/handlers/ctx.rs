//! What a handler gets ([`Ctx`]: the locked state, the caller's account, the validated input)
//! and what it answers ([`Reply`]).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::mock::fake::ids::parse_id;
use crate::mock::fake::model::{GatewayAddrs, Service};
use crate::mock::fake::state::State;
use crate::types::ErrorCode;

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
    /// The status it is sent with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            Reply::Json(s, _) | Reply::Text(s, _) => *s,
        }
    }

    /// `200` with the success envelope around `data`.
    pub(crate) fn ok(data: Value) -> Reply {
        Reply::Json(200, json!({"status": "ok", "data": data}))
    }

    /// The error envelope with `code`, sent with the status the spec gives the code.
    pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> Reply {
        let status = code.http_status().unwrap_or(500);
        Reply::error_status(status, &code, message)
    }

    /// The error envelope with `code`, sent with `status`.
    pub(crate) fn error_status(status: u16, code: &ErrorCode, message: impl Into<String>) -> Reply {
        Reply::Json(
            status,
            json!({"status": "error", "error": {"code": code, "message": message.into()}}),
        )
    }
}

impl Ctx<'_> {
    /// A query parameter, as the validated request carries it (absent or of another shape:
    /// `None`).
    pub(crate) fn query<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let v = self.query.get(name)?;
        serde_json::from_value(v.clone()).ok()
    }

    /// A member of the request body (absent or of another shape: `None`).
    pub(crate) fn body<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let v = self.body?.get(name)?;
        serde_json::from_value(v.clone()).ok()
    }

    /// The caller's service named by the path id, or 404.
    pub(crate) fn service_id(&self) -> Result<u128, Reply> {
        let id = self
            .path
            .get("id")
            .and_then(Value::as_str)
            .and_then(parse_id);
        match id {
            Some(id) if self.state.accounts[self.account].services.contains_key(&id) => Ok(id),
            _ => Err(Reply::error(ErrorCode::NotFound, "service not found")),
        }
    }

    /// The caller's service `id` (checked by [`service_id`](Self::service_id)).
    pub(crate) fn service_mut(&mut self, id: u128) -> &mut Service {
        self.state.accounts[self.account]
            .services
            .get_mut(&id)
            .expect("service checked above")
    }

    /// `200` with the service `id`.
    pub(crate) fn reply_service(&mut self, id: u128) -> Reply {
        let now = self.now;
        Reply::ok(super::json::service_json(self.service_mut(id), now))
    }
}
