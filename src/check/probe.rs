//! One endpoint checked: a request through it, what its failure means, and its detail with
//! the password cut out.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::{CheckStatus, EndpointCheck, MAX_DETAIL, MAX_READ};
use crate::proxies::ProxyEndpointBuf;
use crate::text::printable;

/// One endpoint: `connections` requests through it, one after the other, each on a new
/// connection. The first failure is the result (else the first answer), with every distinct
/// exit address seen.
pub(super) async fn check_endpoint(
    endpoint: &ProxyEndpointBuf,
    target: &url::Url,
    timeout: Duration,
    connections: usize,
) -> EndpointCheck {
    let mut first: Option<EndpointCheck> = None;
    let mut exits: Vec<IpAddr> = Vec::new();
    for _ in 0..connections.max(1) {
        let r = check_one(endpoint, target, timeout).await;
        if let Some(ip) = r.exit_address.filter(|ip| !exits.contains(ip)) {
            exits.push(ip);
        }
        let failed = !r.is_ok();
        if first.as_ref().is_none_or(|f| f.is_ok() && failed) {
            first = Some(r);
        }
    }
    let mut result = first.expect("at least one connection");
    result.exits = exits;
    result.connections = connections.max(1);
    result
}

/// One endpoint: one request through it.
async fn check_one(
    endpoint: &ProxyEndpointBuf,
    target: &url::Url,
    timeout: Duration,
) -> EndpointCheck {
    let redact = Redactor::new(endpoint.login(), endpoint.password());
    let mut result = EndpointCheck {
        endpoint: endpoint.clone(),
        status: CheckStatus::Other,
        http_status: None,
        latency: Duration::ZERO,
        exit_address: None,
        exits: Vec::new(),
        exit_country: None,
        connections: 1,
        detail: None,
    };
    let client = reqwest::Proxy::all(endpoint.proxy_url()).and_then(|proxy| {
        crate::tls::reqwest_builder()
            .proxy(proxy)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("opx-check/", env!("CARGO_PKG_VERSION")))
            .build()
    });
    // The latency is the request's: building the client is not counted, nor loading the TLS
    // roots (once per process, for the first https target).
    crate::tls::preload_roots_for(target);
    let started = Instant::now();
    let outcome = match client {
        Ok(client) => fetch(&client, target).await,
        Err(e) => Err(e),
    };
    result.latency = started.elapsed();
    match outcome {
        Ok(Answer {
            status,
            body,
            proxy_error,
        }) => {
            result.http_status = Some(status);
            if (200..300).contains(&status) {
                result.status = CheckStatus::Ok;
                result.exit_address = exit_address(&body);
                result.exit_country = exit_country(&body);
            } else {
                result.status = match status {
                    407 => CheckStatus::AuthRefused,
                    _ if proxy_error => CheckStatus::ProxyRefused,
                    _ => CheckStatus::HttpError,
                };
                let first = String::from_utf8_lossy(&body);
                let first = first.lines().next().unwrap_or("").trim();
                let reason = http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                let text = if first.is_empty() {
                    format!("HTTP {status} {reason}")
                } else {
                    format!("HTTP {status}: {first}")
                };
                result.detail = Some(redact.apply(&text));
            }
        }
        Err(e) => {
            result.status = classify(&e);
            let mut detail = error_chain(&e);
            if result.status == CheckStatus::ProxyRefused {
                let refusal = super::tunnel::refusal(endpoint, target, timeout).await;
                result.http_status = refusal.as_ref().map(|r| r.status);
                detail = refused_tunnel(refusal.as_ref());
            }
            result.detail = Some(redact.apply(&detail));
        }
    }
    result
}

/// The detail of a `CONNECT` the proxy refused, from its answer when it was read again.
fn refused_tunnel(refusal: Option<&super::tunnel::Refusal>) -> String {
    let Some(r) = refusal else {
        return "the proxy refused the CONNECT tunnel (its answer could not be read again)".into();
    };
    let reason = http::StatusCode::from_u16(r.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut text = format!(
        "the proxy refused the CONNECT tunnel: HTTP {} {reason}",
        r.status
    );
    if let Some(why) = &r.proxy_status {
        text.push_str(&format!(" (Proxy-Status: {why})"));
    }
    text
}

/// What came back through the proxy.
struct Answer {
    /// Its status.
    status: u16,
    /// Its first [`MAX_READ`] bytes.
    body: Vec<u8>,
    /// Whether it carries a `Proxy-Status` with an `error` (RFC 9209): the proxy's own refusal.
    proxy_error: bool,
}

/// The answer to a `GET` of `target`.
async fn fetch(client: &reqwest::Client, target: &url::Url) -> reqwest::Result<Answer> {
    let mut response = client.get(target.clone()).send().await?;
    let status = response.status().as_u16();
    let proxy_error = response
        .headers()
        .get_all("proxy-status")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(';').any(|p| p.trim().starts_with("error=")));
    let mut body = Vec::new();
    while body.len() < MAX_READ {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk[..chunk.len().min(MAX_READ - body.len())]),
            None => break,
        }
    }
    Ok(Answer {
        status,
        body,
        proxy_error,
    })
}

/// What a transport error means for the endpoint.
fn classify(e: &reqwest::Error) -> CheckStatus {
    if e.is_timeout() {
        return CheckStatus::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused | K::ConnectionReset | K::ConnectionAborted => {
                    return CheckStatus::ConnectionRefused;
                }
                K::TimedOut => return CheckStatus::Timeout,
                _ => {}
            }
        }
        // A `CONNECT` refused: hyper-util's tunnel error tells 407 apart, and no other status.
        let text = s.to_string();
        if text.contains("tunnel error: proxy authorization required") {
            return CheckStatus::AuthRefused;
        }
        if text.contains("tunnel error: unsuccessful") {
            return CheckStatus::ProxyRefused;
        }
        source = s.source();
    }
    CheckStatus::Other
}

/// The error and its sources, `: `-separated.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Cuts a password out of text (as it is, percent-encoded, and inside the base64
/// `login:password` of a `Proxy-Authorization` header a proxy might echo), and makes the text
/// one bounded, printable line.
struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    fn new(login: Option<&str>, password: Option<&str>) -> Self {
        let Some(p) = password.filter(|p| !p.is_empty()) else {
            return Redactor {
                needles: Vec::new(),
            };
        };
        // `http://l:<encoded>@h:1`
        let url = crate::proxies::ProxyEndpoint::new("h", 1, Some("l"), Some(p)).proxy_url();
        let encoded = url
            .strip_prefix("http://l:")
            .and_then(|r| r.strip_suffix("@h:1"))
            .unwrap_or(p)
            .to_owned();
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{p}", login.unwrap_or("")));
        Redactor {
            needles: vec![p.to_owned(), encoded, basic],
        }
    }

    fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for n in &self.needles {
            out = out.replace(n.as_str(), "<redacted>");
        }
        printable(&out, MAX_DETAIL)
    }
}

/// The exit address in a target's answer: an IP, an `ip:port`, or a JSON object with an `ip`
/// or `origin` member that is one (the first of a comma-separated `origin`).
fn exit_address(body: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let plain = |s: &str| {
        let s = s.trim();
        s.parse::<IpAddr>()
            .ok()
            .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
    };
    if let Some(ip) = plain(text) {
        return Some(ip);
    }
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    ["ip", "origin"]
        .iter()
        .filter_map(|k| json.get(k).and_then(serde_json::Value::as_str))
        .find_map(|v| plain(v.split(',').next().unwrap_or("")))
}

/// The exit country in a JSON answer: its `country`, `country_code` or `countryCode` member
/// (the forms of ipinfo.io, ipapi.co and ip-api.com).
fn exit_country(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["country", "country_code", "countryCode"]
        .iter()
        .find_map(|k| json.get(k).and_then(serde_json::Value::as_str))
        .map(|c| printable(c, 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_countries_are_read_from_json_answers() {
        let c = |s: &str| exit_country(s.as_bytes());
        assert_eq!(
            c(r#"{"ip":"203.0.113.7","country":"DE"}"#).as_deref(),
            Some("DE")
        );
        assert_eq!(c(r#"{"countryCode":"NL"}"#).as_deref(), Some("NL"));
        assert_eq!(c(r#"{"country_code":"AT"}"#).as_deref(), Some("AT"));
        assert_eq!(c("203.0.113.7"), None);
        assert_eq!(c(r#"{"country": 5}"#), None);
    }

    #[test]
    fn exit_addresses_are_read_from_the_documented_forms() {
        let ip = |s: &str| exit_address(s.as_bytes());
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(ip("203.0.113.7\n"), Some(v4));
        assert_eq!(ip("203.0.113.7:54321"), Some(v4));
        assert_eq!(ip("[2001:db8::1]:80"), "2001:db8::1".parse().ok());
        assert_eq!(ip(r#"{"ip":"203.0.113.7"}"#), Some(v4));
        assert_eq!(ip(r#"{"origin":"203.0.113.7, 198.51.100.1"}"#), Some(v4));
        for none in [
            "",
            "hello",
            "<html>203.0.113.7</html>",
            r#"{"ip": 5}"#,
            "999.1.1.1",
        ] {
            assert_eq!(ip(none), None, "{none}");
        }
    }

    #[test]
    fn the_password_is_cut_out_of_details_as_it_is_and_encoded() {
        let r = Redactor::new(Some("alice"), Some("p@ss w0rd"));
        // base64("alice:p@ss w0rd") = YWxpY2U6cEBzcyB3MHJk
        let text =
            "proxy said p@ss w0rd and http://u:p%40ss%20w0rd@h:1\nBasic YWxpY2U6cEBzcyB3MHJk";
        let out = r.apply(text);
        assert_eq!(
            out,
            "proxy said <redacted> and http://u:<redacted>@h:1 Basic <redacted>"
        );
        assert_eq!(Redactor::new(None, None).apply("a\u{1b}[31mb"), "a [31mb");
    }
}
