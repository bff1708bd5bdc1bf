//! `GET /services/{id}/proxies?format=json`: the docs say only "a structured servers array", so
//! every field of an endpoint is inferred and read tolerantly.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::tolerant::{self, Undecoded, list_payload};
use crate::operation::GatewayCountry;

/// One proxy endpoint of the JSON proxy list. The password never appears in `Debug`.
///
/// Read from `host` (or `hostname`, `address`) and `port` (a number or a string of digits);
/// `country`, `login` and `password` are optional.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProxyServer {
    /// Gateway country, if the server sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<GatewayCountry>,
    /// Gateway host name.
    pub host: String,
    /// Gateway port.
    pub port: u16,
    /// Proxy login (absent with `auth=false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

impl ProxyServer {
    /// An endpoint (for fixtures and tests).
    pub fn new(
        host: impl Into<String>,
        port: u16,
        login: Option<String>,
        password: Option<String>,
    ) -> Self {
        Self {
            country: None,
            host: host.into(),
            port,
            login,
            password,
        }
    }
    /// The proxy password (absent with `auth=false`; a secret: do not log it).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
    /// This endpoint in the parsed-line form (see [`ProxyEndpoint`](crate::proxies::ProxyEndpoint)).
    pub fn endpoint(&self) -> crate::proxies::ProxyEndpoint<'_> {
        crate::proxies::ProxyEndpoint::new(
            &self.host,
            self.port,
            self.login.as_deref(),
            self.password.as_deref(),
        )
    }
}

impl fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyServer")
            .field("country", &self.country)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let value = Value::deserialize(d)?;
    let n = match &value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| u16::try_from(n).ok())
        .filter(|p| *p != 0)
        .ok_or_else(|| serde::de::Error::custom(format!("not a port: {value}")))
}

impl<'de> Deserialize<'de> for ProxyServer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default, deserialize_with = "tolerant::lenient")]
            country: Option<GatewayCountry>,
            #[serde(alias = "hostname", alias = "address")]
            host: String,
            #[serde(deserialize_with = "port")]
            port: u16,
            #[serde(default, deserialize_with = "tolerant::lenient")]
            login: Option<String>,
            #[serde(default, deserialize_with = "tolerant::lenient")]
            password: Option<String>,
        }
        let w = Wire::deserialize(d)?;
        Ok(Self {
            country: w.country,
            host: w.host,
            port: w.port,
            login: w.login,
            password: w.password,
        })
    }
}

/// The JSON proxy list: the endpoints that decoded, and those that did not.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ProxyList {
    /// The endpoints.
    pub servers: Vec<ProxyServer>,
    /// Items that did not decode as a [`ProxyServer`].
    pub undecoded: Vec<Undecoded>,
}

list_payload!(ProxyList {
    servers: ProxyServer["proxies"]
});
