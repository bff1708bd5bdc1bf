//! The mock's state as a JSON file: `opx mock --state FILE` starts from one,
//! `GET /_mock/state` and [`Accounts::export_state`](crate::mock::Accounts::export_state) export
//! one. Accounts with their keys, services and logs; plans, faults, overrides and counters are
//! not part of it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{id_hex, parse_id, service_id, service_key};
use super::model::{Account, ApiKey, LogEntry, Service};
use super::ratelimit::Windows;
use super::state::State;
use crate::types::{Country, PlanId, Rotation, ServiceId, ServiceType};

/// The whole state, as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// The accounts; the first key of the first one is the server's default token.
    pub accounts: Vec<AccountFile>,
}

/// One account of a [`StateFile`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AccountFile {
    /// User name (`GET /account`).
    pub username: String,
    /// E-mail.
    pub email: String,
    /// Balance in RUB.
    pub balance: i64,
    /// Its API keys.
    #[serde(default)]
    pub keys: Vec<KeyFile>,
    /// Its services.
    #[serde(default)]
    pub services: Vec<ServiceFile>,
    /// Its log entries.
    #[serde(default)]
    pub logs: Vec<LogFile>,
}

/// One API key of an account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyFile {
    /// The token.
    pub token: String,
    /// Revoked keys get `401 invalid_token`.
    #[serde(default)]
    pub revoked: bool,
    /// Source IPs the key is pinned to, if any.
    #[serde(default)]
    pub pinned: Option<Vec<IpAddr>>,
}

/// One service of an account (as the mock keeps it, proxy credentials included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServiceFile {
    /// Its id.
    pub service_id: ServiceId,
    /// Its type.
    #[serde(rename = "type")]
    pub service_type: ServiceType,
    /// Its plan.
    pub plan_id: PlanId,
    /// Concurrent connections.
    pub threads: u32,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Country/region.
    pub country: Country,
    /// Rotation mode.
    pub rotation: Rotation,
    /// Proxy login.
    pub login: String,
    /// Proxy password.
    pub password: String,
    /// Whitelisted IPv4 addresses and their labels.
    #[serde(default)]
    pub whitelist: Vec<(String, Option<String>)>,
}

/// One log entry of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LogFile {
    /// 24-hex id.
    pub log_id: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Status answered.
    pub http_status: u16,
    /// Source IP.
    pub ip: String,
}

fn log_id(s: &str) -> u128 {
    parse_id(s).unwrap_or_else(|| panic!("log {s:?} is not a 24-hex id"))
}

impl StateFile {
    /// Reads a state file, checking every id is 24 hex characters.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: StateFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut ids = file
            .accounts
            .iter()
            .flat_map(|a| a.logs.iter().map(|l| l.log_id.as_str()));
        if let Some(bad) = ids.find(|i| parse_id(i).is_none()) {
            return Err(format!("{bad:?} is not a 24-hex id"));
        }
        if file.accounts.first().is_none_or(|a| a.keys.is_empty()) {
            return Err("the first account needs a key (the default token)".into());
        }
        Ok(file)
    }

    pub(crate) fn from_state(st: &State) -> Self {
        let accounts = st
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| AccountFile {
                username: a.username.clone(),
                email: a.email.clone(),
                balance: a.balance,
                keys: st
                    .keys
                    .iter()
                    .filter(|k| k.account == i)
                    .map(|k| KeyFile {
                        token: k.token.clone(),
                        revoked: k.revoked,
                        pinned: k.pinned.clone(),
                    })
                    .collect(),
                services: a.services.values().map(ServiceFile::from).collect(),
                logs: a.logs.values().map(LogFile::from).collect(),
            })
            .collect();
        StateFile { accounts }
    }

    /// Puts the file's accounts into `st` (already checked by `from_json`); returns the default
    /// token.
    pub(crate) fn load_into(&self, st: &mut State) -> String {
        let mut max_seq = 0u64;
        for (index, a) in self.accounts.iter().enumerate() {
            let mut services = BTreeMap::new();
            for s in &a.services {
                let id = service_key(&s.service_id);
                max_seq = max_seq.max(id as u64);
                services.insert(id, s.to_service(id));
            }
            let mut logs = BTreeMap::new();
            for l in &a.logs {
                let id = log_id(&l.log_id);
                max_seq = max_seq.max(id as u64);
                logs.insert(id, l.to_entry(id));
            }
            st.accounts.push(Account {
                username: a.username.clone(),
                email: a.email.clone(),
                balance: a.balance,
                services,
                logs,
            });
            for k in &a.keys {
                st.keys.push(ApiKey {
                    token: k.token.clone(),
                    account: index,
                    revoked: k.revoked,
                    pinned: k.pinned.clone(),
                    windows: Windows::default(),
                });
            }
        }
        st.next_seq = st.next_seq.max(max_seq.saturating_add(1));
        self.accounts[0].keys[0].token.clone()
    }
}

impl From<&Service> for ServiceFile {
    fn from(s: &Service) -> Self {
        ServiceFile {
            service_id: service_id(s.id),
            service_type: s.service_type.clone(),
            plan_id: s.plan_id.clone(),
            threads: s.threads,
            expires_at: s.expires_at,
            country: s.country.clone(),
            rotation: s.rotation.clone(),
            login: s.login.clone(),
            password: s.password.clone(),
            whitelist: s.whitelist.clone(),
        }
    }
}

impl ServiceFile {
    fn to_service(&self, id: u128) -> Service {
        Service {
            id,
            service_type: self.service_type.clone(),
            plan_id: self.plan_id.clone(),
            threads: self.threads,
            expires_at: self.expires_at,
            country: self.country.clone(),
            rotation: self.rotation.clone(),
            login: self.login.clone(),
            password: self.password.clone(),
            whitelist: self.whitelist.clone(),
        }
    }
}

impl From<&LogEntry> for LogFile {
    fn from(l: &LogEntry) -> Self {
        LogFile {
            log_id: id_hex(l.id),
            created_at: l.created_at,
            method: l.method.clone(),
            path: l.path.clone(),
            http_status: l.http_status,
            ip: l.ip.clone(),
        }
    }
}

impl LogFile {
    fn to_entry(&self, id: u128) -> LogEntry {
        LogEntry {
            id,
            created_at: self.created_at,
            method: self.method.clone(),
            path: self.path.clone(),
            http_status: self.http_status,
            ip: self.ip.clone(),
        }
    }
}
