//! The checks of the proxy-list fuzz target, shared with the property that runs them in
//! `cargo test` (`fuzz/fuzz_targets/proxy_list.rs` and `tests/hardening/parsers.rs` include this
//! file): any bytes, any layout.
//!
//! Beyond "no panic": every endpoint has a host without whitespace and a port in 1-65535;
//! `Debug` never shows a password; the borrowed and owned forms agree; `parse_list` agrees
//! with `ProxyLines`; and an endpoint written back in a layout parses to itself.

use opx::proxies::{ProxyEndpoint, ProxyLines};
use opx::proxies::{parse_line_as, parse_list};
use opx::types::ProxyLayout;

/// Runs every check on `data` (first byte: the layout selector, the rest: the list, read as
/// UTF-8 with replacement); panics on the first that fails. Returns the number of endpoints
/// parsed, so that a caller can tell its input reached the checks.
pub fn check_proxy_list(data: &[u8]) -> usize {
    let Some((&selector, rest)) = data.split_first() else {
        return 0;
    };
    let layout = match selector % 3 {
        0 => None,
        1 => Some(ProxyLayout::HostPortUserPass),
        _ => Some(ProxyLayout::UserPassAtHostPort),
    };
    let text = String::from_utf8_lossy(rest);
    let lines = match layout {
        None => ProxyLines::new(&text),
        Some(l) => ProxyLines::with_layout(&text, l),
    };
    let mut endpoints = Vec::new();
    let mut first_error = None;
    let mut last_line = 0;
    for item in lines {
        match item {
            Ok(e) => {
                check(&e);
                endpoints.push(e);
            }
            Err(err) => {
                assert!(err.line() > last_line, "line numbers increase");
                last_line = err.line();
                assert!(!err.to_string().is_empty());
                first_error.get_or_insert(err);
            }
        }
    }
    match parse_list(&text, layout) {
        Ok(list) => {
            assert!(first_error.is_none(), "parse_list accepted a bad line");
            assert_eq!(list.len(), endpoints.len());
            for (owned, borrowed) in list.iter().zip(&endpoints) {
                assert_eq!(owned.as_endpoint(), *borrowed);
            }
        }
        Err(e) => assert_eq!(
            Some(e),
            first_error,
            "parse_list reports the first bad line"
        ),
    }
    endpoints.len()
}

fn check(e: &ProxyEndpoint<'_>) {
    assert!(e.port() != 0);
    assert!(!e.host().is_empty());
    assert!(
        !e.host()
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    );
    if let Some(login) = e.login() {
        assert!(!login.is_empty());
        assert!(e.password().is_some(), "a login comes with a password");
    }
    // The owned copy is the same endpoint.
    let owned = e.to_owned();
    assert_eq!(owned.as_endpoint(), *e);
    // Debug never shows the password: it is exactly the other fields and a placeholder.
    let expected = format!(
        "ProxyEndpoint {{ host: {:?}, port: {}, login: {:?}, password: {:?} }}",
        e.host(),
        e.port(),
        e.login(),
        e.password().map(|_| "<redacted>"),
    );
    assert_eq!(format!("{e:?}"), expected);
    // The owned copy names itself, and shows the same.
    let owned_expected = expected.replacen("ProxyEndpoint ", "ProxyEndpointBuf ", 1);
    assert_eq!(format!("{owned:?}"), owned_expected);
    // The proxy URL is built without panicking and carries the port.
    let url = e.proxy_url();
    assert!(url.starts_with("http://"));
    assert!(url.ends_with(&format!(":{}", e.port())));
    // Written back in a layout, the endpoint parses to itself (when the text is unambiguous:
    // fields with surrounding whitespace are trimmed away by design).
    let edges_clean = |s: &str| s.trim() == s;
    if edges_clean(e.host())
        && e.login().is_none_or(edges_clean)
        && e.password().is_none_or(edges_clean)
    {
        let host = if e.host().contains(':') {
            format!("[{}]", e.host())
        } else {
            e.host().to_owned()
        };
        let (hpup, upahp) = match (e.login(), e.password()) {
            (Some(l), Some(p)) => (
                format!("{host}:{}:{l}:{p}", e.port()),
                format!("{l}:{p}@{host}:{}", e.port()),
            ),
            _ => {
                let plain = format!("{host}:{}", e.port());
                (plain.clone(), plain)
            }
        };
        let again = parse_line_as(&hpup, Some(ProxyLayout::HostPortUserPass));
        assert_eq!(again, Ok(*e), "host_port_user_pass round trip of {hpup:?}");
        let again = parse_line_as(&upahp, Some(ProxyLayout::UserPassAtHostPort));
        assert_eq!(
            again,
            Ok(*e),
            "user_pass_at_host_port round trip of {upahp:?}"
        );
    }
}
