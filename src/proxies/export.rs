//! An endpoint in the forms scrapers and tools take ([`ExportFormat`]), and as a
//! `reqwest::Proxy`.
//!
//! Every form built on the proxy URL percent-encodes the login and password (all but ASCII
//! letters, digits and `-._`), so the URL holds only `A-Z a-z 0-9 - . _ % : @ /` (and `[ ]`
//! around an IPv6 host): safe unquoted in a shell assignment and in a `.env` file, and decoded
//! back to the exact credentials by curl, Python `requests` and reqwest.

use std::fmt;

use super::endpoint::{ProxyEndpoint, ProxyEndpointBuf};

/// The forms [`ProxyEndpoint::export`] writes (`opx proxies ID --as FORMAT`).
///
/// | format | one endpoint as |
/// |---|---|
/// | `url` | `http://login:password@host:port` (userinfo percent-encoded) |
/// | `curl` | `-x 'http://login:password@host:port'`: curl's proxy argument, quoted for a shell |
/// | `env` | four lines, `HTTP_PROXY=URL`, `HTTPS_PROXY=URL` and the lower-case `http_proxy` / `https_proxy` (curl reads only those) |
/// | `requests` | a Python dict for `requests`' `proxies=`: `{"http": "URL", "https": "URL"}` |
/// | `playwright` | Playwright's proxy object as JSON: `{"server": "http://host:port", "username": ..., "password": ...}` (credentials not encoded) |
/// | `proxychains` | a `[ProxyList]` line of proxychains(-ng): `http host port login password` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum ExportFormat {
    /// The proxy URL.
    Url,
    /// curl's `-x` argument.
    Curl,
    /// Environment variable lines.
    Env,
    /// A Python `requests` proxies dict.
    Requests,
    /// Playwright's proxy object, as JSON.
    Playwright,
    /// A proxychains `[ProxyList]` line.
    Proxychains,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [ExportFormat; 6] = [
        Self::Url,
        Self::Curl,
        Self::Env,
        Self::Requests,
        Self::Playwright,
        Self::Proxychains,
    ];

    /// Its name, as `--as` takes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Url => "url",
            Self::Curl => "curl",
            Self::Env => "env",
            Self::Requests => "requests",
            Self::Playwright => "playwright",
            Self::Proxychains => "proxychains",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An endpoint that a format cannot carry (no secret in it: the format and why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportError {
    format: ExportFormat,
    reason: &'static str,
}

impl ExportError {
    /// The format.
    pub fn format(&self) -> ExportFormat {
        self.format
    }
    /// Why.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot write this endpoint as {}: {}",
            self.format, self.reason
        )
    }
}

impl std::error::Error for ExportError {}

/// A JSON string literal (also a valid Python string literal for what a URL holds).
fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

impl ProxyEndpoint<'_> {
    /// `http://host:port` with the host bracketed when it is an IPv6 literal.
    fn server(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }

    /// This endpoint in `format` (see [`ExportFormat`]); the result holds the password.
    ///
    /// ```
    /// use opx::proxies::ExportFormat;
    /// let e = opx::proxies::parse_line("127.0.0.1:8000:alice:p@ss").unwrap();
    /// assert_eq!(e.export(ExportFormat::Curl).unwrap(), "-x 'http://alice:p%40ss@127.0.0.1:8000'");
    /// assert_eq!(e.export(ExportFormat::Proxychains).unwrap(), "http 127.0.0.1 8000 alice p@ss");
    /// assert_eq!(
    ///     e.export(ExportFormat::Playwright).unwrap(),
    ///     r#"{"server":"http://127.0.0.1:8000","username":"alice","password":"p@ss"}"#
    /// );
    /// ```
    pub fn export(&self, format: ExportFormat) -> Result<String, ExportError> {
        let url = self.proxy_url();
        Ok(match format {
            ExportFormat::Url => url,
            ExportFormat::Curl => format!("-x '{url}'"),
            ExportFormat::Env => {
                format!("HTTP_PROXY={url}\nHTTPS_PROXY={url}\nhttp_proxy={url}\nhttps_proxy={url}")
            }
            ExportFormat::Requests => {
                let u = quoted(&url);
                format!("{{\"http\": {u}, \"https\": {u}}}")
            }
            ExportFormat::Playwright => self.playwright(),
            ExportFormat::Proxychains => self.proxychains()?,
        })
    }

    fn playwright(&self) -> String {
        let mut o = serde_json::Map::new();
        o.insert("server".into(), self.server().into());
        if let Some(login) = self.login {
            o.insert("username".into(), login.into());
            o.insert("password".into(), self.password.unwrap_or_default().into());
        }
        serde_json::Value::Object(o).to_string()
    }

    /// `http HOST PORT [LOGIN PASSWORD]`: proxychains splits a line on whitespace and has no
    /// quoting, so a field with whitespace or a control character cannot be written.
    fn proxychains(&self) -> Result<String, ExportError> {
        let fields = [Some(self.host), self.login, self.password];
        let writable =
            |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !fields.into_iter().flatten().all(writable) {
            return Err(ExportError {
                format: ExportFormat::Proxychains,
                reason: "proxychains fields cannot be empty or hold whitespace or control \
                         characters",
            });
        }
        let mut line = format!("http {} {}", self.host, self.port);
        if let Some(login) = self.login {
            line.push(' ');
            line.push_str(login);
            line.push(' ');
            line.push_str(self.password.unwrap_or_default());
        }
        Ok(line)
    }

    /// A `reqwest::Proxy` for every scheme through this endpoint, its credentials as
    /// `Proxy-Authorization: Basic` (reqwest decodes them from [`proxy_url`](Self::proxy_url)).
    pub fn to_reqwest_proxy(&self) -> crate::Result<reqwest::Proxy> {
        // reqwest's error is not kept: it could quote the URL, and the URL holds the password.
        reqwest::Proxy::all(self.proxy_url()).map_err(|_| {
            crate::Error::config(format!(
                "{}:{} is not a proxy URL reqwest accepts",
                self.host, self.port
            ))
        })
    }
}

impl ProxyEndpointBuf {
    /// See [`ProxyEndpoint::export`].
    pub fn export(&self, format: ExportFormat) -> Result<String, ExportError> {
        self.as_endpoint().export(format)
    }
    /// See [`ProxyEndpoint::to_reqwest_proxy`].
    pub fn to_reqwest_proxy(&self) -> crate::Result<reqwest::Proxy> {
        self.as_endpoint().to_reqwest_proxy()
    }
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
