//! How a service is shown: its fields (the password hidden), or with `--json` the `data` the
//! server sent.

use std::io::IsTerminal;

use opx::types::Service;

use crate::failure::Failure;
use crate::output::{self, Now};

/// Prints a service: with `--json` the body's `data` exactly as received when there is a body,
/// else the service serialized; otherwise aligned fields.
/// `now` is the server's time (for "expires in").
pub fn service(s: &Service, body: Option<&[u8]>, json: bool, now: Now) -> Result<(), Failure> {
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
            .map(|w| match w.label.as_deref().filter(|l| !l.is_empty()) {
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
    let mut fields = vec![
        ("service", s.service_id.to_string()),
        ("type", s.service_type.to_string()),
        ("status", status),
        ("threads", s.threads.to_string()),
    ];
    fields.extend(expiry(s, now));
    fields.extend([
        ("country", s.country.clone()),
        ("rotation", s.rotation.clone()),
        ("login", s.auth.login.clone()),
        (
            "password",
            format!("(hidden: `opx proxies {}` or --json show it)", s.service_id),
        ),
        ("whitelist", whitelist),
    ]);
    output::print(&output::fields(&fields))
}

/// When a service expires, by `now` (the server's time): on a terminal one field,
/// `2026-07-01 09:00 UTC (in 30 days)`; in a pipe the time and, apart, the seconds left
/// (negative once passed).
fn expiry(s: &Service, now: Now) -> Vec<(&'static str, String)> {
    let (at, left) = (
        output::time(&s.expires_at),
        output::expires_in(&s.expires_at, now),
    );
    if output::on_terminal() {
        vec![("expires", format!("{at} ({left})"))]
    } else {
        vec![("expires", at), ("expires in", left)]
    }
}

/// A service of a call's answer, `now` being the server's time.
pub fn response(s: &opx::Response<Service>, json: bool, now: Now) -> Result<(), Failure> {
    service(s, Some(s.body()), json, now)
}

/// A service read again by its id (after a money call that was not sent because an earlier
/// one had gone through); only its id when it cannot be read now.
pub async fn service_by_id(
    client: &opx::Client,
    id: &opx::types::ServiceId,
    json: bool,
) -> Result<(), Failure> {
    match client.service(id).await {
        Ok(s) => response(&s, json, client.server_now()),
        Err(e) => {
            eprintln!("note: service {id} could not be read now: {e}");
            output::print(&format!("{id}\n"))
        }
    }
}

/// After a purchase or an extension, on stderr when it is a terminal (stdout holds the
/// service, as a table or JSON; in scripts, as gh does, nothing more): what was charged and the
/// balance now, read again from the account. `price` is the catalog's price of the plan
/// (`None`: unknown). The charge is done whatever this read gives: a failed read is a note, not
/// a failure.
pub async fn charged(client: &opx::Client, price: Option<i64>) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let charged = price.map_or_else(
        || "the plan's price (not in the catalog)".to_owned(),
        output::rub,
    );
    match client.account().await {
        Ok(a) => eprintln!(
            "Charged {charged}; the balance is now {}.",
            output::rub(a.balance)
        ),
        Err(e) => eprintln!("note: charged {charged}; the balance could not be read now: {e}"),
    }
}
