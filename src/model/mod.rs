//! The facade's data types, which the generated client decodes into directly (one type layer:
//! see `opx_codegen::REPLACED`).
//!
//! What the docs show is decoded strictly; what spec/README.md lists as inferred is decoded
//! tolerantly ([`Undecoded`] items, lenient fields, log entries kept whole). Every type is
//! `Serialize` and `Deserialize`, and a serialized value reads back as itself.

mod catalog;
mod log;
mod proxy;
mod query;
mod service;
pub(crate) mod tolerant;

pub use catalog::{Account, Plan, PlanList};
pub use log::{LogEntry, LogPage};
pub use proxy::{ProxyList, ProxyServer};
pub use query::{LogQuery, ProxyQuery, PurchaseRequest, ServiceQuery};
pub(crate) use service::service_from;
pub use service::{Credentials, Service, ServicePage, WhitelistEntry};
pub use tolerant::Undecoded;
