//! The typed fake of the API: its state (accounts, keys, plans, services, logs, rate-limit
//! windows) and one handler per operation, speaking the crate's types ([`ServiceType`],
//! [`ErrorCode`], [`ServiceId`], ...). It knows nothing of HTTP, faults or records; strings
//! appear only where its answers become JSON.
//!
//! [`ServiceType`]: crate::types::ServiceType
//! [`ErrorCode`]: crate::types::ErrorCode
//! [`ServiceId`]: crate::types::ServiceId

pub(crate) mod api;
pub(crate) mod handlers;
pub(crate) mod ids;
pub(crate) mod model;
pub(crate) mod ratelimit;
pub(crate) mod seed;
pub(crate) mod snapshot;
pub(crate) mod state;
