//! `GET /logs`: the docs name no field of a log entry, so an entry is kept whole (its JSON
//! object) and read through accessors that look under the names a server is likely to use.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::tolerant::{Undecoded, list_payload};

/// One API request recorded in `GET /logs`: the entry's whole JSON object.
///
/// Every field is an inference, so each accessor tries the names a server is likely to use and
/// returns `None` when none is there; [`fields`](Self::fields) has everything as sent.
///
/// ```
/// let e: opx::types::LogEntry = serde_json::from_str(
///     r#"{"id": "a1", "timestamp": "2026-06-01T10:00:00Z", "verb": "GET", "endpoint": "/api/v1/account", "status_code": 200}"#,
/// )?;
/// assert_eq!(e.id(), Some("a1"));
/// assert_eq!((e.method(), e.path(), e.http_status()), (Some("GET"), Some("/api/v1/account"), Some(200)));
/// assert!(e.created_at().is_some());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogEntry {
    fields: Map<String, Value>,
}

/// Where each accessor looks, in order.
const ID: &[&str] = &["log_id", "id", "_id", "request_id"];
const TIME: &[&str] = &["created_at", "timestamp", "time", "at", "date", "logged_at"];
const METHOD: &[&str] = &["method", "http_method", "verb"];
const PATH: &[&str] = &["path", "endpoint", "url", "uri", "route"];
const STATUS: &[&str] = &[
    "http_status",
    "status_code",
    "status",
    "response_status",
    "code",
];
const IP: &[&str] = &["ip", "source_ip", "ip_address", "client_ip", "remote_addr"];

impl LogEntry {
    fn first(&self, names: &[&str]) -> Option<&Value> {
        names.iter().find_map(|n| self.fields.get(*n))
    }
    fn text(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .find_map(|n| self.fields.get(*n).and_then(Value::as_str))
    }
    /// Its id (`log_id`, `id`, ...).
    pub fn id(&self) -> Option<&str> {
        self.text(ID)
    }
    /// When the request was received (`created_at`, `timestamp`, ...: RFC 3339, or Unix
    /// seconds or milliseconds).
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        match self.first(TIME)? {
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            Value::Number(n) => {
                let v = n.as_i64()?;
                if v > 100_000_000_000 {
                    DateTime::from_timestamp_millis(v)
                } else {
                    DateTime::from_timestamp(v, 0)
                }
            }
            _ => None,
        }
    }
    /// The HTTP method (`method`, `http_method`, `verb`).
    pub fn method(&self) -> Option<&str> {
        self.text(METHOD)
    }
    /// The request path (`path`, `endpoint`, `url`, ...).
    pub fn path(&self) -> Option<&str> {
        self.text(PATH)
    }
    /// The response's HTTP status (`http_status`, `status_code`, `status`, ...: a number, or a
    /// string of digits).
    pub fn http_status(&self) -> Option<u16> {
        STATUS.iter().find_map(|n| match self.fields.get(*n)? {
            Value::Number(v) => v.as_u64().and_then(|s| u16::try_from(s).ok()),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }
    /// The source IP address (`ip`, `source_ip`, ...).
    pub fn ip(&self) -> Option<&str> {
        self.text(IP)
    }
    /// Every field as the server sent it.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

/// One page of `GET /logs`: entries newest first; an item that is not a JSON object is kept in
/// [`undecoded`](Self::undecoded).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct LogPage {
    /// The entries on this page.
    pub logs: Vec<LogEntry>,
    /// Items of this page that are not log entries.
    pub undecoded: Vec<Undecoded>,
    /// Cursor of the next page; `None` on the last page (also when the server sends none).
    pub next_cursor: Option<String>,
}

list_payload!(LogPage { logs: LogEntry ["entries", "items"], next_cursor });
