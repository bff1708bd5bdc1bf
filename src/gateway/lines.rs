//! The upstream lines: which services are selected, and their proxy lines as read from the API.

use std::fmt;

use base64::Engine;
use chrono::{DateTime, Utc};
use http::HeaderValue;

use crate::setters::setters;
use crate::types::ServiceId;
use crate::types::{GatewayCountry, ProxyQuery, Service, ServiceQuery, ServiceType};
use crate::{Client, Result};

/// Which services (and lines) a gateway uses: by default every active service, all its lines.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    ids: Vec<ServiceId>,
    service_type: Option<ServiceType>,
    country: Option<GatewayCountry>,
}

impl Selection {
    /// Every active service, every line.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only these services (may be called more than once).
    pub fn service(mut self, id: ServiceId) -> Self {
        self.ids.push(id);
        self
    }
    setters! {
        /// Only services of this type.
        pub fn service_type(t: ServiceType) => service_type = Some(t);
        /// Only the lines of this gateway country (`nl`, `de`, `at`).
        pub fn country(c: GatewayCountry) => country = Some(c);
    }

    fn wants(&self, s: &Service) -> bool {
        (self.ids.is_empty() || self.ids.contains(&s.service_id))
            && self
                .service_type
                .as_ref()
                .is_none_or(|t| *t == s.service_type)
    }
}

/// One proxy line of a service. The password is in `Debug` never.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) service: String,
    pub(crate) country: Option<GatewayCountry>,
    pub(crate) host: String,
    pub(crate) port: u16,
    login: Option<String>,
    password: Option<String>,
    /// `label()`, made once (every request names its line several times: pool, metrics).
    label: String,
    /// `authorization()`, made once.
    auth: Option<HeaderValue>,
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl Line {
    pub(crate) fn new(
        service: String,
        country: Option<GatewayCountry>,
        host: String,
        port: u16,
        login: Option<String>,
        password: Option<String>,
    ) -> Line {
        let c = country.as_ref().map_or("-", |c| c.as_str());
        let label = format!("{c} {host}:{port}");
        let auth = login.as_deref().and_then(|login| {
            let password = password.as_deref().unwrap_or("");
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
            let mut v = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
            v.set_sensitive(true);
            Some(v)
        });
        Line {
            service,
            country,
            host,
            port,
            login,
            password,
            label,
            auth,
        }
    }

    /// `nl 127.0.0.1:8000`: what metrics, logs and errors name a line by (no credentials).
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Which line this is across credential changes.
    pub(crate) fn key(&self) -> (String, String) {
        (self.service.clone(), self.label.clone())
    }

    /// Whether this is the line of `key` (`key()`, without making one).
    pub(crate) fn is(&self, key: &(String, String)) -> bool {
        self.service == key.0 && self.label == key.1
    }

    /// Whether this and `other` are the same line (credentials aside).
    pub(crate) fn same_as(&self, other: &Line) -> bool {
        self.service == other.service && self.label == other.label
    }

    /// The `Proxy-Authorization` header value (sensitive), if the line has credentials.
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.auth.as_ref()
    }

    /// A `reqwest::Proxy` through this line, with its credentials.
    pub(crate) fn reqwest_proxy(&self) -> reqwest::Result<reqwest::Proxy> {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let proxy = reqwest::Proxy::all(format!("http://{host}:{}", self.port))?;
        Ok(match &self.login {
            Some(login) => proxy.basic_auth(login, self.password.as_deref().unwrap_or("")),
            None => proxy,
        })
    }

    /// The `host:port` to connect to.
    pub(crate) fn address(&self) -> (String, u16) {
        (self.host.clone(), self.port)
    }
}

/// A service with its lines.
#[derive(Debug, Clone)]
pub(crate) struct ServiceLines {
    pub(crate) id: String,
    pub(crate) threads: u32,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) lines: Vec<Line>,
}

/// The selected active services and their lines, paced to the rate limit (a call waits for
/// its window instead of failing, whatever the client's policy: a refresh of many services
/// stays within the limits).
pub(crate) async fn load(client: &Client, selection: &Selection) -> Result<Vec<ServiceLines>> {
    crate::ratelimit::paced(async {
        let mut out = Vec::new();
        for s in client.all_services(&ServiceQuery::new()).await? {
            if selection.wants(&s) {
                out.push(lines_of(client, &s, selection).await?);
            }
        }
        Ok(out)
    })
    .await
}

/// One service read again (after a `407`): `None` when it is gone.
pub(crate) async fn reload(
    client: &Client,
    id: &str,
    selection: &Selection,
) -> Result<Option<ServiceLines>> {
    let Ok(id) = ServiceId::new(id) else {
        return Ok(None);
    };
    let service = match client.service(&id).await {
        Ok(s) => s.into_inner(),
        Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(lines_of(client, &service, selection).await?))
}

async fn lines_of(client: &Client, s: &Service, selection: &Selection) -> Result<ServiceLines> {
    let list = client
        .proxies_json(&s.service_id, &ProxyQuery::new())
        .await?
        .into_inner();
    let lines = list
        .servers
        .into_iter()
        .filter(|p| selection.country.is_none() || p.country == selection.country)
        .map(|p| {
            Line::new(
                s.service_id.to_string(),
                p.country.clone(),
                p.host.clone(),
                p.port,
                p.login.clone(),
                p.password().map(str::to_owned),
            )
        })
        .collect();
    Ok(ServiceLines {
        id: s.service_id.to_string(),
        threads: s.threads,
        expires_at: s.expires_at,
        lines,
    })
}

#[cfg(test)]
impl Line {
    /// A line of service `t` to `127.0.0.1:port` with `login:password` (other modules' tests).
    pub(crate) fn on_loopback(port: u16, login: &str, password: &str) -> Line {
        Line::new(
            "t".into(),
            None,
            "127.0.0.1".into(),
            port,
            Some(login.into()),
            Some(password.into()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_itself_without_its_password() {
        let line = Line::new(
            "65aa1100b2c3d4e5f6a7b8d0".into(),
            Some(GatewayCountry::De),
            "127.0.0.1".into(),
            8000,
            Some("alice".into()),
            Some("s3cret-pw".into()),
        );
        assert_eq!(line.label(), "de 127.0.0.1:8000");
        assert!(!format!("{line:?}").contains("s3cret"));
        let auth = line.authorization().unwrap();
        assert!(auth.is_sensitive());
        // base64("alice:s3cret-pw")
        assert_eq!(auth.to_str().unwrap(), "Basic YWxpY2U6czNjcmV0LXB3");
    }
}
