//! What the journal keeps: one entry per money call, its state, and the store it lives in.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::types::{PurchaseRequest, ServiceId};

/// What one extension adds: "Extend service by 30 days" (the docs).
pub(crate) const EXTENSION: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// One money call as the journal keeps it: what was sent and what the account held before it
/// (never a secret: no token, no password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum MoneyCall {
    /// `POST /purchase`.
    Purchase {
        /// The request sent.
        request: PurchaseRequest,
        /// The matching services the account listed before it.
        before: Vec<ServiceId>,
        /// Whether `before` holds every matching service (else only the first page).
        complete: bool,
    },
    /// `POST /services/{id}/extend`.
    Extend {
        /// The service.
        service_id: ServiceId,
        /// Its expiry before the call.
        expires_before: DateTime<Utc>,
    },
    /// `POST /services/{id}/credentials`.
    Credentials {
        /// The service.
        service_id: ServiceId,
        /// Its proxy login before the call (the login only: never the password).
        login_before: String,
    },
}

impl MoneyCall {
    /// Whether `self` and `other` would charge for the same thing: a purchase of the same type
    /// and plan, or an extension of the same service.
    pub(crate) fn same_charge(&self, other: &MoneyCall) -> bool {
        match (self, other) {
            (Self::Purchase { request: a, .. }, Self::Purchase { request: b, .. }) => {
                a.service_type() == b.service_type() && a.plan_id() == b.plan_id()
            }
            (Self::Extend { service_id: a, .. }, Self::Extend { service_id: b, .. }) => a == b,
            _ => false,
        }
    }

    /// A short description for messages: `purchase of plan P (ipv4_rotating)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Purchase { request, .. } => format!(
                "purchase of plan {} ({})",
                request.plan_id(),
                request.service_type()
            ),
            Self::Extend { service_id, .. } => format!("extension of service {service_id}"),
            Self::Credentials { service_id, .. } => {
                format!("new credentials for service {service_id}")
            }
        }
    }
}

/// Where a journal entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Sent (or about to be) and not settled: it may or may not have taken effect. An entry
    /// left so by a process that ended stays unknown until it is resolved.
    Unknown,
    /// It took effect (charged).
    Done,
    /// It provably did not take effect.
    NotDone,
    /// A person checked by hand and set it aside (`opx pending dismiss`): no longer counted as
    /// unknown nor as spent.
    Dismissed,
}

/// One entry of the [`Journal`](crate::safe::Journal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Its number, unique within the journal.
    pub id: u64,
    /// What was sent.
    pub call: MoneyCall,
    /// The price it charges in RUB, when it was known before sending.
    pub price: Option<i64>,
    /// When it was written down (before sending), on the client's clock.
    pub at: DateTime<Utc>,
    /// Where it stands.
    pub state: EntryState,
    /// When it was settled.
    pub settled_at: Option<DateTime<Utc>>,
    /// The service it created or changed, once known.
    pub service_id: Option<ServiceId>,
}

/// Where a journal keeps its entries: read, changed and written back as one step, exclusive
/// against every other user of the same store (other processes included).
pub trait JournalStore: Send + Sync + fmt::Debug {
    /// Runs `change` over every entry with exclusive access, and keeps what it leaves.
    fn update(&self, change: &mut dyn FnMut(&mut Vec<JournalEntry>)) -> Result<()>;
}
