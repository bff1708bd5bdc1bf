//! How a service is shown: its fields (the password hidden), or with `--json` the `data` the
//! server sent.

use opx::types::Service;

use crate::failure::Failure;
use crate::output;

/// Prints a service: with `--json` the body's `data` exactly as received when there is a body,
/// else the service serialized; otherwise aligned fields.
pub fn service(s: &Service, body: Option<&[u8]>, json: bool) -> Result<(), Failure> {
    if json {
        return match body {
            Some(b) => output::print_data(b),
            None => output::print_json(s),
        };
    }
    let whitelist = if s.whitelist.is_empty() {
        "-".to_owned()
    } else {
        s.whitelist
            .iter()
            .map(|w| match &w.label {
                Some(l) => format!("{} ({l})", w.ip),
                None => w.ip.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let status = s
        .status
        .as_ref()
        .map_or_else(|| "-".into(), ToString::to_string);
    output::print(&output::fields(&[
        ("service", s.service_id.to_string()),
        ("type", s.service_type.to_string()),
        ("status", status),
        ("threads", s.threads.to_string()),
        ("expires", output::time(&s.expires_at)),
        ("country", s.country.clone()),
        ("rotation", s.rotation.clone()),
        ("login", s.auth.login.clone()),
        (
            "password",
            "(hidden: `opx proxies ID` or --json show it)".into(),
        ),
        ("whitelist", whitelist),
    ]))
}

/// A service of a call's answer.
pub fn response(s: &opx::Response<Service>, json: bool) -> Result<(), Failure> {
    service(s, Some(s.body()), json)
}
