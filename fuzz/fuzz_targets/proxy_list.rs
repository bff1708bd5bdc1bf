//! The proxy-list parser (`GET /services/{id}/proxies?format=txt`): any text, any layout.
//!
//! The checks are `tests/support/proxy_list_checks.rs`, which the property in
//! `tests/hardening/parsers.rs` runs too.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/proxy_list_checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::check_proxy_list(data);
});
