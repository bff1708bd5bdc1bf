//! Proxy list parsing: a zero-allocation borrowed iterator ([`ProxyLines`]) over the text form of
//! `GET /services/{id}/proxies`, and the owned form ([`ProxyEndpointBuf`]).
//!
//! Accepted line layouts: `host:port:login:password`, `login:password@host:port` and `host:port`
//! (with `auth=false`). Hosts may be bracketed IPv6 literals (`[2001:db8::1]:8000`). Empty lines
//! and a trailing `\r` are ignored.

use std::fmt;

use crate::operation::ProxyLayout;

/// One proxy endpoint borrowed from a proxy list. The password never appears in `Debug`.
///
/// ```
/// let e = opx::ProxyLines::new("nl.gw.op-proxy.com:8000:alice:p@ss\n").next().unwrap().unwrap();
/// assert_eq!((e.host(), e.port(), e.login()), ("nl.gw.op-proxy.com", 8000, Some("alice")));
/// assert_eq!(e.proxy_url(), "http://alice:p%40ss@nl.gw.op-proxy.com:8000");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyEndpoint<'a> {
    host: &'a str,
    port: u16,
    login: Option<&'a str>,
    password: Option<&'a str>,
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
    /// userinfo percent-encoded (it contains the password: do not log it).
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
        f.debug_struct("ProxyEndpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("login", &self.login)
            .field("password", &self.password.map(|_| "<redacted>"))
            .finish()
    }
}

fn encode_userinfo(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// An owned proxy endpoint. The password never appears in `Debug`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyEndpointBuf {
    host: String,
    port: u16,
    login: Option<String>,
    password: Option<String>,
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
        fmt::Debug::fmt(&self.as_endpoint(), f)
    }
}

/// A line of a proxy list that could not be parsed (no allocation: a line number and a reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyParseError {
    line: usize,
    reason: &'static str,
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

/// Iterator over the endpoints of a proxy list, borrowing from the text: no allocation per line.
///
/// ```
/// let text = "nl.gw:8000:u:p\r\nu:p@de.gw:8001\n\nat.gw:8002\n";
/// let hosts: Vec<_> = opx::ProxyLines::new(text).map(|e| e.unwrap().host()).collect();
/// assert_eq!(hosts, ["nl.gw", "de.gw", "at.gw"]);
/// ```
#[derive(Debug, Clone)]
pub struct ProxyLines<'a> {
    rest: &'a str,
    line: usize,
    layout: Option<ProxyLayout>,
}

impl<'a> ProxyLines<'a> {
    /// Iterates over `text`, guessing each line's layout (see [`parse_line`]).
    pub fn new(text: &'a str) -> Self {
        Self {
            rest: text,
            line: 0,
            layout: None,
        }
    }
    /// Iterates over `text` written in `layout` (what was asked with
    /// [`ProxyQuery::layout`](crate::ProxyQuery::layout)): no guessing, so passwords containing
    /// `:` or `@` are read exactly.
    pub fn with_layout(text: &'a str, layout: ProxyLayout) -> Self {
        Self {
            rest: text,
            line: 0,
            layout: Some(layout),
        }
    }
}

impl<'a> Iterator for ProxyLines<'a> {
    type Item = Result<ProxyEndpoint<'a>, ProxyParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (line, rest) = match self.rest.find('\n') {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                None => (self.rest, ""),
            };
            self.rest = rest;
            self.line += 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim_ascii().is_empty() {
                continue;
            }
            return Some(
                parse_line_as(line, self.layout).map_err(|reason| ProxyParseError {
                    line: self.line,
                    reason,
                }),
            );
        }
    }
}

/// Parses one line, guessing the layout: `host:port[:login:password]` when that parses,
/// else `login:password@host:port`.
pub fn parse_line(line: &str) -> Result<ProxyEndpoint<'_>, &'static str> {
    parse_line_as(line, None)
}

/// Parses one line in a known layout (`None`: guess, see [`parse_line`]).
pub fn parse_line_as(
    line: &str,
    layout: Option<ProxyLayout>,
) -> Result<ProxyEndpoint<'_>, &'static str> {
    let line = line.trim_ascii();
    match layout {
        Some(ProxyLayout::UserPassAtHostPort) if line.as_bytes().contains(&b'@') => parse_at(line),
        Some(ProxyLayout::UserPassAtHostPort) => parse_colon(line, false),
        Some(_) => parse_colon(line, true),
        None => parse_colon(line, true).or_else(|e| {
            if line.as_bytes().contains(&b'@') {
                parse_at(line)
            } else {
                Err(e)
            }
        }),
    }
}

/// `login:password@host:port`.
fn parse_at(line: &str) -> Result<ProxyEndpoint<'_>, &'static str> {
    let at = line.rfind('@').ok_or("expected login:password@host:port")?;
    let (userinfo, hostport) = (&line[..at], &line[at + 1..]);
    let (login, password) = userinfo
        .split_once(':')
        .ok_or("credentials before '@' are not login:password")?;
    let (host, port, rest) = host_port(hostport)?;
    if rest.is_some() {
        return Err("unexpected text after the port");
    }
    Ok(ProxyEndpoint::new(
        host,
        port,
        Some(nonempty(login, "empty login")?),
        Some(password),
    ))
}

/// `host:port`, and with `with_auth` also `host:port:login:password`.
fn parse_colon(line: &str, with_auth: bool) -> Result<ProxyEndpoint<'_>, &'static str> {
    let (host, port, rest) = host_port(line)?;
    let Some(rest) = rest else {
        return Ok(ProxyEndpoint::new(host, port, None, None));
    };
    if !with_auth {
        return Err("unexpected text after the port");
    }
    let (login, password) = rest
        .split_once(':')
        .ok_or("expected host:port:login:password")?;
    Ok(ProxyEndpoint::new(
        host,
        port,
        Some(nonempty(login, "empty login")?),
        Some(password),
    ))
}

fn nonempty<'a>(s: &'a str, why: &'static str) -> Result<&'a str, &'static str> {
    if s.is_empty() { Err(why) } else { Ok(s) }
}

/// Bytes a host may not contain: ASCII whitespace and controls, `@`, `/`, `[`, `]`.
static BAD_HOST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_whitespace()
            || b.is_ascii_control()
            || b == b'@'
            || b == b'/'
            || b == b'['
            || b == b']';
        i += 1;
    }
    t
};

/// Splits `host:port[:rest]`; returns the rest after the port's `:`, if there is one.
/// One pass over the host and port bytes (the hot path of [`ProxyLines`]).
fn host_port(s: &str) -> Result<(&str, u16, Option<&str>), &'static str> {
    let b = s.as_bytes();
    let (host, after_start) = if let Some(inner) = s.strip_prefix('[') {
        let end = inner.find(']').ok_or("unclosed '[' in host")?;
        if inner.as_bytes().get(end + 1) != Some(&b':') {
            return Err("expected ':' after the host");
        }
        let host = &inner[..end];
        if host.bytes().any(|c| BAD_HOST[usize::from(c)]) {
            return Err("empty or invalid host");
        }
        (host, end + 3)
    } else {
        let mut i = 0;
        while i < b.len() && b[i] != b':' {
            if BAD_HOST[usize::from(b[i])] {
                return Err("empty or invalid host");
            }
            i += 1;
        }
        if i == b.len() {
            return Err("expected host:port");
        }
        (&s[..i], i + 1)
    };
    if host.is_empty() {
        return Err("empty or invalid host");
    }
    let mut j = after_start;
    let mut port: u32 = 0;
    while j < b.len() && b[j] != b':' {
        let d = b[j].wrapping_sub(b'0');
        if d > 9 || j - after_start >= 5 {
            return Err(PORT_ERR);
        }
        port = port * 10 + u32::from(d);
        j += 1;
    }
    if j == after_start || port == 0 || port > 65535 {
        return Err(PORT_ERR);
    }
    let rest = (j < b.len()).then(|| &s[j + 1..]);
    Ok((host, port as u16, rest))
}

const PORT_ERR: &str = "port is not a number in 1-65535";

/// Parses a whole list into owned endpoints, failing on the first bad line.
pub fn parse_list(
    text: &str,
    layout: Option<ProxyLayout>,
) -> Result<Vec<ProxyEndpointBuf>, ProxyParseError> {
    let lines = ProxyLines {
        rest: text,
        line: 0,
        layout,
    };
    lines.map(|r| r.map(|e| e.to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> ProxyEndpoint<'_> {
        parse_line(line).unwrap()
    }

    #[test]
    fn both_layouts_and_no_auth() {
        let a = one("nl.gw.op-proxy.com:8000:login:pass");
        assert_eq!(
            (a.host(), a.port(), a.login(), a.password()),
            ("nl.gw.op-proxy.com", 8000, Some("login"), Some("pass"))
        );
        let b = one("login:pass@nl.gw.op-proxy.com:8000");
        assert_eq!(a, b);
        let c = one("nl.gw.op-proxy.com:8000");
        assert_eq!((c.login(), c.password()), (None, None));
    }

    #[test]
    fn passwords_may_contain_separators() {
        let a = one("h:1:user:pa:ss@x");
        assert_eq!(
            (a.host(), a.port(), a.login(), a.password()),
            ("h", 1, Some("user"), Some("pa:ss@x"))
        );
        let b = one("user:pa:ss@h:1");
        assert_eq!((b.host(), b.password()), ("h", Some("pa:ss")));
        // With the layout known there is no guessing.
        let c = parse_line_as("u:80:x@h:1", Some(ProxyLayout::UserPassAtHostPort)).unwrap();
        assert_eq!(
            (c.host(), c.login(), c.password()),
            ("h", Some("u"), Some("80:x"))
        );
        let d = parse_line_as("u:80:x@h:1", Some(ProxyLayout::HostPortUserPass)).unwrap();
        assert_eq!(
            (d.host(), d.login(), d.password()),
            ("u", Some("x@h"), Some("1"))
        );
        let e = parse_line_as("h:1", Some(ProxyLayout::UserPassAtHostPort)).unwrap();
        assert_eq!(e.login(), None);
    }

    #[test]
    fn ipv6_literals() {
        let a = one("[2001:db8::1]:8000:u:p");
        assert_eq!((a.host(), a.port()), ("2001:db8::1", 8000));
        assert_eq!(a.proxy_url(), "http://u:p@[2001:db8::1]:8000");
        let b = one("u:p@[2001:db8::1]:8000");
        assert_eq!(a, b);
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for bad in [
            "host",
            "host:",
            "host:0",
            "host:65536",
            "host:+80",
            "host:80a",
            ":80",
            "[::1:80",
            "[::1]80",
            "@h:1",
            "u@h:1",
            ":p@h:1",
            "h:1:",
            "h:1:u",
            "é:1",
            "h:99999999999999999999",
        ] {
            let r = parse_line(bad);
            if bad == "é:1" {
                assert!(r.is_ok());
                continue;
            }
            assert!(r.is_err(), "{bad:?} parsed as {r:?}");
        }
    }

    #[test]
    fn lines_skip_blanks_and_crlf_and_number_errors() {
        let text = "a:1:u:p\r\n\r\n  \nb:2\nbroken\nc:3";
        let got: Vec<_> = ProxyLines::new(text).collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].unwrap().password(), Some("p"));
        assert_eq!(got[1].unwrap().host(), "b");
        assert_eq!(got[2].unwrap_err().line(), 5);
        assert_eq!(got[3].unwrap().port(), 3);
        assert!(parse_list(text, None).is_err());
        assert_eq!(parse_list("a:1\nb:2\n", None).unwrap().len(), 2);
        assert_eq!(ProxyLines::new("").count(), 0);
    }

    #[test]
    fn proxy_urls_percent_encode_userinfo() {
        let e = one("h.example:3128:us er:p@ss:w/rd%");
        assert_eq!(
            e.proxy_url(),
            "http://us%20er:p%40ss%3Aw%2Frd%25@h.example:3128"
        );
        assert_eq!(one("h:1").proxy_url(), "http://h:1");
        // reqwest accepts it and the credentials decode back.
        let url = url::Url::parse(&e.proxy_url()).unwrap();
        assert_eq!(url.username(), "us%20er");
        assert_eq!(url.password(), Some("p%40ss%3Aw%2Frd%25"));
        assert!(reqwest::Proxy::all(e.proxy_url()).is_ok());
    }

    #[test]
    fn debug_redacts_passwords() {
        let e = one("h:1:user:hunter2");
        assert!(!format!("{e:?}").contains("hunter2"));
        assert!(!format!("{:?}", e.to_owned()).contains("hunter2"));
        assert!(format!("{e:?}").contains("user"));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
                for layout in [None, Some(ProxyLayout::HostPortUserPass), Some(ProxyLayout::UserPassAtHostPort)] {
                    let lines = ProxyLines { rest: &text, line: 0, layout };
                    for e in lines.flatten() {
                        prop_assert!(e.port() > 0);
                        let _ = e.proxy_url();
                    }
                }
            }

            #[test]
            fn both_layouts_round_trip(
                host in "[a-z][a-z0-9-]{0,15}(\\.[a-z][a-z0-9-]{0,10}){0,3}",
                port in 1u16..,
                login in "[A-Za-z0-9_]{1,20}",
                password in "[!-~]{0,30}",
            ) {
                // A label starting with `xn--` is punycode, which a URL host must decode; the
                // generator makes no valid punycode, so such hosts are not URL hosts at all.
                prop_assume!(!host.split('.').any(|label| label.starts_with("xn--")));
                let a = format!("{host}:{port}:{login}:{password}\n");
                let b = format!("{login}:{password}@{host}:{port}\r\n");
                let want = (host.as_str(), port, Some(login.as_str()), Some(password.as_str()));
                let e = ProxyLines::with_layout(&a, ProxyLayout::HostPortUserPass).next().unwrap().unwrap();
                prop_assert_eq!((e.host(), e.port(), e.login(), e.password()), want);
                let e = ProxyLines::with_layout(&b, ProxyLayout::UserPassAtHostPort).next().unwrap().unwrap();
                prop_assert_eq!((e.host(), e.port(), e.login(), e.password()), want);
                // The proxy URL decodes back to the same credentials.
                let url = url::Url::parse(&e.proxy_url()).unwrap();
                prop_assert_eq!(url.port_or_known_default(), Some(port));
                let pw = url.password().unwrap_or("");
                let decoded = percent_decode(pw);
                prop_assert_eq!(decoded, password);
            }
        }

        fn percent_decode(s: &str) -> String {
            let b = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        }
    }
}
