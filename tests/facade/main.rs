//! The facade's behaviour, against the mock or a scripted HTTP server. Tests that change
//! process-wide state (the environment, the global allocator, the global tracing subscriber) live
//! in their own binaries: `facade_construction`, `facade_proxies_alloc`, `facade_tracing`.

#[path = "../support/campaign.rs"]
mod campaign;
#[path = "../support/fixtures.rs"]
mod fixtures;
#[path = "../support/scripted.rs"]
mod scripted;

mod drift;
mod errors;
mod fault_campaign;
mod operations;
mod pacing;
mod pagination;
mod proxies;
mod ratelimit;
mod renewal;
mod retries;
mod safe_purchase;
