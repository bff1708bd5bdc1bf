//! Checking that proxies carry traffic (feature `check`): a request to a target URL through
//! each endpoint of a list, a few at a time, with what happened to each.
//!
//! ```no_run
//! # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
//! use opx::check::ProxyCheck;
//! let report = client
//!     .check_proxies(&id, &ProxyCheck::new().target("http://127.0.0.1:8000/ip"))
//!     .await?;
//! println!("{} of {} endpoints work", report.ok_count(), report.results.len());
//! for r in &report.results {
//!     // login@host:port: the password is never shown.
//!     println!("{} {} {:?} {:?}", r.endpoint_label(), r.status, r.latency, r.exit_address);
//! }
//! # Ok(()) }
//! ```
//!
//! # The target
//!
//! Each endpoint sends one `GET` of the target URL through the proxy (`http://` targets are
//! forwarded, `https://` ones tunnelled with `CONNECT`), without following redirects. The
//! endpoint works when the target answers with a 2xx status. When the first 4 KiB of that
//! answer is an IP address, an `ip:port`, or a JSON object whose `ip` or `origin` member is one
//! (the forms of api.ipify.org, httpbin's `/ip` and similar services), it is reported as the
//! **exit address**: the address the target saw the request come from.
//!
//! The default target is [`DEFAULT_TARGET`], `https://api.ipify.org`, which answers with the
//! caller's address as plain text. It is on the internet: against the mock (whose gateways
//! only connect to loopback) pass a loopback target, such as a server that answers with the
//! peer address it saw.
//!
//! # Concurrency
//!
//! At most [`ProxyCheck::concurrency`] endpoints are checked at once, and never more than the
//! service's thread count (the plan's concurrent connections): a check does not make the
//! service refuse its own traffic. Results keep the order of the list.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;

use crate::client::Client;
use crate::error::{Error, Result, printable};
use crate::model::ProxyQuery;
use crate::operation::ProxyLayout;
use crate::proxies::ProxyEndpointBuf;
use crate::validate::ServiceId;

/// The target URL of a check unless another one is given: api.ipify.org, which answers with
/// the caller's IP address as plain text (on the internet: not reachable through the mock).
pub const DEFAULT_TARGET: &str = "https://api.ipify.org";

/// How long one endpoint may take by default (connecting, and the whole answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many endpoints are checked at once by default (never more than the service's threads).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How much of the target's answer is read for the exit address.
const MAX_READ: usize = 4096;

/// Longest detail kept about a failure, in characters.
const MAX_DETAIL: usize = 200;

/// What to check and how: the target, the timeout per endpoint, the concurrency.
#[derive(Debug, Clone)]
pub struct ProxyCheck {
    target: String,
    timeout: Duration,
    concurrency: usize,
}

impl Default for ProxyCheck {
    fn default() -> Self {
        ProxyCheck {
            target: DEFAULT_TARGET.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

impl ProxyCheck {
    /// A check of [`DEFAULT_TARGET`] with the default timeout and concurrency.
    pub fn new() -> Self {
        Self::default()
    }

    /// The URL fetched through each endpoint (`http://` or `https://`; see the
    /// [module docs](self) for what it should answer).
    pub fn target(mut self, url: impl Into<String>) -> Self {
        self.target = url.into();
        self
    }

    /// How long one endpoint may take, connecting and reading the answer (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many endpoints are checked at once (default 8; at least 1; never more than the
    /// service's threads).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The target URL.
    pub fn target_url(&self) -> &str {
        &self.target
    }

    /// How many endpoints run at once for a service of `threads` threads (`None`: unknown)
    /// and a list of `endpoints`: the concurrency, bounded by both, at least 1.
    pub fn effective_concurrency(&self, threads: Option<u32>, endpoints: usize) -> usize {
        let threads = threads.map_or(usize::MAX, |t| usize::try_from(t).unwrap_or(usize::MAX));
        self.concurrency.min(threads).min(endpoints).max(1)
    }

    /// Checks these endpoints (e.g. lines saved from an earlier download), at most
    /// [`effective_concurrency`](Self::effective_concurrency) at once. Fails only when the
    /// target is not an `http://` or `https://` URL; every endpoint's failure is in its result.
    pub async fn run(
        &self,
        endpoints: &[ProxyEndpointBuf],
        threads: Option<u32>,
    ) -> Result<CheckReport> {
        let target = url::Url::parse(&self.target)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                Error::config(format!(
                    "the check target must be an http:// or https:// URL, not {:?}",
                    printable(&self.target, MAX_DETAIL)
                ))
            })?;
        let concurrency = self.effective_concurrency(threads, endpoints.len());
        let results = futures::stream::iter(endpoints)
            .map(|e| check_one(e, &target, self.timeout))
            .buffered(concurrency)
            .collect()
            .await;
        Ok(CheckReport {
            service_id: None,
            target: self.target.clone(),
            threads,
            concurrency,
            results,
        })
    }
}

impl Client {
    /// Checks every endpoint of a service's current proxy list ([`ProxyCheck`]): reads the
    /// service (for its threads) and its list (`host:port:login:password`), then fetches the
    /// target through each endpoint.
    ///
    /// To check lines saved earlier (which may be outdated), use [`ProxyCheck::run`].
    pub async fn check_proxies(&self, id: &ServiceId, check: &ProxyCheck) -> Result<CheckReport> {
        let service = self.service(id).await?;
        let query = ProxyQuery::new().layout(ProxyLayout::HostPortUserPass);
        let endpoints = self.proxies(id, &query).await?.into_inner();
        let mut report = check.run(&endpoints, Some(service.threads)).await?;
        report.service_id = Some(id.clone());
        Ok(report)
    }
}

/// What a check found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The service the endpoints belong to, when known (set by [`Client::check_proxies`];
    /// [`ProxyCheck::run`] leaves it to the caller).
    pub service_id: Option<ServiceId>,
    /// The target URL.
    pub target: String,
    /// The service's thread count, when known.
    pub threads: Option<u32>,
    /// How many endpoints were checked at once.
    pub concurrency: usize,
    /// One result per endpoint, in the order of the list.
    pub results: Vec<EndpointCheck>,
}

impl CheckReport {
    /// How many endpoints work.
    pub fn ok_count(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }

    /// Whether every endpoint works (and there was at least one).
    pub fn all_ok(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(EndpointCheck::is_ok)
    }
}

/// What happened through one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckStatus {
    /// The target answered with a 2xx status through the proxy.
    Ok,
    /// The proxy refused the credentials (or their absence): `407`.
    AuthRefused,
    /// The proxy could not be connected to (nothing listens there, or the connection was
    /// refused or reset).
    ConnectionRefused,
    /// No answer within the timeout.
    Timeout,
    /// An answer with another status, from the proxy (e.g. `403` for an expired service, `429`
    /// at the thread limit, `502` when it cannot reach the target) or from the target; a
    /// `CONNECT` refused with a status other than `407`.
    HttpError,
    /// Anything else (TLS, a malformed answer, ...): see the detail.
    Other,
}

impl CheckStatus {
    /// A stable name: `ok`, `auth_refused`, `connection_refused`, `timeout`, `http_error`,
    /// `other`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::AuthRefused => "auth_refused",
            CheckStatus::ConnectionRefused => "connection_refused",
            CheckStatus::Timeout => "timeout",
            CheckStatus::HttpError => "http_error",
            CheckStatus::Other => "other",
        }
    }
}

impl std::fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            CheckStatus::Ok => "ok",
            CheckStatus::AuthRefused => "proxy auth refused",
            CheckStatus::ConnectionRefused => "connection refused",
            CheckStatus::Timeout => "timeout",
            CheckStatus::HttpError => "http error",
            CheckStatus::Other => "error",
        })
    }
}

/// The result of one endpoint. Neither `Debug` nor its JSON form contains the password.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EndpointCheck {
    /// The endpoint (its `Debug` redacts the password).
    pub endpoint: ProxyEndpointBuf,
    /// What happened.
    pub status: CheckStatus,
    /// The HTTP status of the answer, when there was one (the target's or the proxy's).
    pub http_status: Option<u16>,
    /// From sending the request to the end of the answer (or the failure).
    pub latency: Duration,
    /// The address the target saw the request come from, when it said (see the
    /// [module docs](self)).
    pub exit_address: Option<IpAddr>,
    /// Why it failed, in one printable line without the password (the first line of the
    /// proxy's answer, or the error).
    pub detail: Option<String>,
}

impl EndpointCheck {
    /// Whether this endpoint works.
    pub fn is_ok(&self) -> bool {
        self.status == CheckStatus::Ok
    }

    /// The endpoint as `login@host:port` (`host:port` without credentials): never the
    /// password.
    pub fn endpoint_label(&self) -> String {
        let e = &self.endpoint;
        let host = if e.host().contains(':') {
            format!("[{}]", e.host())
        } else {
            e.host().to_owned()
        };
        match e.login() {
            Some(login) => format!("{login}@{host}:{}", e.port()),
            None => format!("{host}:{}", e.port()),
        }
    }
}

impl Serialize for EndpointCheck {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("EndpointCheck", 9)?;
        st.serialize_field("endpoint", &self.endpoint_label())?;
        st.serialize_field("host", self.endpoint.host())?;
        st.serialize_field("port", &self.endpoint.port())?;
        st.serialize_field("login", &self.endpoint.login())?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("http_status", &self.http_status)?;
        let ms = u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX);
        st.serialize_field("latency_ms", &ms)?;
        st.serialize_field("exit_address", &self.exit_address)?;
        st.serialize_field("detail", &self.detail)?;
        st.end()
    }
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
        detail: None,
    };
    let client = reqwest::Proxy::all(endpoint.proxy_url()).and_then(|proxy| {
        reqwest::Client::builder()
            .proxy(proxy)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("opx-check/", env!("CARGO_PKG_VERSION")))
            .build()
    });
    // The latency is the request's: building the client (loading TLS roots) is not counted.
    let started = Instant::now();
    let outcome = match client {
        Ok(client) => fetch(&client, target).await,
        Err(e) => Err(e),
    };
    result.latency = started.elapsed();
    match outcome {
        Ok((status, body)) => {
            result.http_status = Some(status);
            if (200..300).contains(&status) {
                result.status = CheckStatus::Ok;
                result.exit_address = exit_address(&body);
            } else {
                result.status = if status == 407 {
                    CheckStatus::AuthRefused
                } else {
                    CheckStatus::HttpError
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
            if result.status == CheckStatus::HttpError {
                detail.insert_str(
                    0,
                    "the proxy refused the CONNECT tunnel (status not known): ",
                );
            }
            result.detail = Some(redact.apply(&detail));
        }
    }
    result
}

/// The status and the first [`MAX_READ`] bytes of the answer.
async fn fetch(client: &reqwest::Client, target: &url::Url) -> reqwest::Result<(u16, Vec<u8>)> {
    let mut response = client.get(target.clone()).send().await?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while body.len() < MAX_READ {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk[..chunk.len().min(MAX_READ - body.len())]),
            None => break,
        }
    }
    Ok((status, body))
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
            return CheckStatus::HttpError;
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
        let url = crate::ProxyEndpoint::new("h", 1, Some("l"), Some(p)).proxy_url();
        let encoded = url
            .strip_prefix("http://l:")
            .and_then(|r| r.strip_suffix("@h:1"))
            .unwrap_or(p)
            .to_owned();
        let basic = base64(format!("{}:{p}", login.unwrap_or("")).as_bytes());
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

/// Standard base64 with padding (what `Proxy-Authorization: Basic` carries).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("alice:p@ss w0rd", "YWxpY2U6cEBzcyB3MHJk"),
            ("\u{ff}\u{fe}", "w7/Dvg=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }

    #[test]
    fn concurrency_is_bounded_by_threads_and_the_list() {
        let c = ProxyCheck::new().concurrency(8);
        assert_eq!(c.effective_concurrency(Some(2), 3), 2);
        assert_eq!(c.effective_concurrency(Some(100), 3), 3);
        assert_eq!(c.effective_concurrency(None, 30), 8);
        assert_eq!(c.effective_concurrency(Some(0), 3), 1);
        assert_eq!(
            ProxyCheck::new()
                .concurrency(0)
                .effective_concurrency(None, 5),
            1
        );
    }
}
