//! Hardening: hostile or oversized input to the client, the parsers and the mock. Secret
//! redaction lives in its own binary (`hardening_secrets`), as it installs a global subscriber.

#[path = "../support/fixtures.rs"]
mod fixtures;
#[path = "../support/opx_bin.rs"]
mod opx_bin;
#[path = "../support/proxy_list_checks.rs"]
mod proxy_list_checks;
#[path = "../support/ratelimit_reference.rs"]
mod ratelimit_reference;
#[path = "../support/scripted.rs"]
mod scripted;

mod limits;
mod mock;
mod parsers;
mod redirects;
