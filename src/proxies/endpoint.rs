//! One proxy endpoint: host, port and optional credentials, borrowed or owned, and the URL a
//! client takes.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What is percent-encoded in the userinfo of a proxy URL: everything but `A-Za-z0-9-._`
/// (RFC 3986 leaves `~` unreserved too; it is encoded so that a shell never expands it).
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');

/// Appends `s` percent-encoded for a URL's userinfo.
pub(super) fn encode_userinfo(s: &str, out: &mut String) {
    out.extend(utf8_percent_encode(s, USERINFO));
}

/// One proxy endpoint borrowed from a proxy list. The password never appears in `Debug`.
///
/// ```
/// let e = opx::proxies::ProxyLines::new("nl.gw.op-proxy.com:8000:alice:p@ss\n").next().unwrap().unwrap();
/// assert_eq!((e.host(), e.port(), e.login()), ("nl.gw.op-proxy.com", 8000, Some("alice")));
/// assert_eq!(e.proxy_url(), "http://alice:p%40ss@nl.gw.op-proxy.com:8000");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyEndpoint<'a> {
    pub(super) host: &'a str,
    pub(super) port: u16,
    pub(super) login: Option<&'a str>,
    pub(super) password: Option<&'a str>,
}

impl<'a> ProxyEndpoint<'a> {
    pub(crate) fn new(
        host: &'a str,
        port: u16,
        login: Option<&'a str>,
        password: Option<&'a str>,
    ) -> Self {
        Self {
            host,
            port,
            login,
            password,
        }
    }
    /// Gateway host (IPv6 literals without brackets).
    pub fn host(&self) -> &'a str {
        self.host
    }
    /// Gateway port.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Proxy login, if the line had credentials.
    pub fn login(&self) -> Option<&'a str> {
        self.login
    }
    /// Proxy password, if the line had credentials (a secret: do not log it).
    pub fn password(&self) -> Option<&'a str> {
        self.password
    }
    /// An owned copy.
    pub fn to_owned(&self) -> ProxyEndpointBuf {
        ProxyEndpointBuf {
            host: self.host.to_owned(),
            port: self.port,
            login: self.login.map(str::to_owned),
            password: self.password.map(str::to_owned),
        }
    }
    /// A proxy URL that `reqwest::Proxy::all` accepts: `http://login:password@host:port`, the
    /// userinfo percent-encoded (it contains the password: do not log it). Other forms:
    /// [`export`](Self::export), [`to_reqwest_proxy`](Self::to_reqwest_proxy).
    pub fn proxy_url(&self) -> String {
        let mut url = String::with_capacity(16 + self.host.len());
        url.push_str("http://");
        if let Some(login) = self.login {
            encode_userinfo(login, &mut url);
            if let Some(pw) = self.password {
                url.push(':');
                encode_userinfo(pw, &mut url);
            }
            url.push('@');
        }
        if self.host.contains(':') {
            url.push('[');
            url.push_str(self.host);
            url.push(']');
        } else {
            url.push_str(self.host);
        }
        url.push(':');
        url.push_str(&self.port.to_string());
        url
    }
}

impl fmt::Debug for ProxyEndpoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug_as("ProxyEndpoint", f)
    }
}

impl ProxyEndpoint<'_> {
    /// `Debug` under the name of the type shown (the borrowed or the owned one), the password
    /// redacted.
    fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("login", &self.login)
            .field("password", &self.password.map(|_| "<redacted>"))
            .finish()
    }
}

/// An owned proxy endpoint. The password never appears in `Debug`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyEndpointBuf {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) login: Option<String>,
    pub(super) password: Option<String>,
}

impl ProxyEndpointBuf {
    /// The borrowed view (accessors, [`proxy_url`](ProxyEndpoint::proxy_url)).
    pub fn as_endpoint(&self) -> ProxyEndpoint<'_> {
        ProxyEndpoint::new(
            &self.host,
            self.port,
            self.login.as_deref(),
            self.password.as_deref(),
        )
    }
    /// Gateway host.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// Gateway port.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Proxy login.
    pub fn login(&self) -> Option<&str> {
        self.login.as_deref()
    }
    /// Proxy password (a secret: do not log it).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
    /// See [`ProxyEndpoint::proxy_url`].
    pub fn proxy_url(&self) -> String {
        self.as_endpoint().proxy_url()
    }
}

impl fmt::Debug for ProxyEndpointBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_endpoint().debug_as("ProxyEndpointBuf", f)
    }
}

/// A line of a proxy list that could not be parsed (no allocation: a line number and a reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyParseError {
    pub(super) line: usize,
    pub(super) reason: &'static str,
}

impl ProxyParseError {
    /// 1-based line number.
    pub fn line(&self) -> usize {
        self.line
    }
    /// What is wrong with it.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for ProxyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proxy list line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ProxyParseError {}
