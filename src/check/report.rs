//! What a check found: per endpoint, a status, latency, exit address and a detail without the
//! password.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::proxies::ProxyEndpointBuf;
use crate::types::ServiceId;

/// What a check found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The service the endpoints belong to, when known (set by [`Client::check_proxies`](crate::Client::check_proxies);
    /// [`ProxyCheck::run`](super::ProxyCheck::run) leaves it to the caller).
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
    /// The proxy refused the request itself, with a status other than `407` (e.g. `403` for
    /// an expired service or a destination it does not allow, `429` at the thread limit): a
    /// `CONNECT` it answered with an error, or an answer carrying its `Proxy-Status` error
    /// (RFC 9209). The target was not reached.
    ProxyRefused,
    /// An answer with another status, from the target, or from a proxy that did not say it
    /// was its own (e.g. `502` when it cannot reach the target).
    HttpError,
    /// Anything else (TLS, a malformed answer, ...): see the detail.
    Other,
}

impl CheckStatus {
    /// A stable name: `ok`, `auth_refused`, `connection_refused`, `timeout`,
    /// `proxy_refused`, `http_error`, `other`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::AuthRefused => "auth_refused",
            CheckStatus::ConnectionRefused => "connection_refused",
            CheckStatus::Timeout => "timeout",
            CheckStatus::ProxyRefused => "proxy_refused",
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
            CheckStatus::ProxyRefused => "proxy refused",
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
    /// [module docs](crate::check)).
    pub exit_address: Option<IpAddr>,
    /// Every distinct exit address seen over the [`connections`](Self::connections), in the
    /// order first seen: the rotation the endpoint delivered.
    pub exits: Vec<IpAddr>,
    /// The exit country the target reported, if it did (a JSON `country` member).
    pub exit_country: Option<String>,
    /// How many connections were made through the endpoint.
    pub connections: usize,
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
        let mut st = s.serialize_struct("EndpointCheck", 12)?;
        st.serialize_field("endpoint", &self.endpoint_label())?;
        st.serialize_field("host", self.endpoint.host())?;
        st.serialize_field("port", &self.endpoint.port())?;
        st.serialize_field("login", &self.endpoint.login())?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("http_status", &self.http_status)?;
        let ms = u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX);
        st.serialize_field("latency_ms", &ms)?;
        st.serialize_field("exit_address", &self.exit_address)?;
        st.serialize_field("exit_country", &self.exit_country)?;
        st.serialize_field("connections", &self.connections)?;
        st.serialize_field("exits", &self.exits)?;
        st.serialize_field("detail", &self.detail)?;
        st.end()
    }
}
