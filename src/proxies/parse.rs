//! Parsing the text form: [`ProxyLines`], a borrowed iterator with no allocation per line, and
//! the line parsers it uses.

use super::{ProxyEndpoint, ProxyEndpointBuf, ProxyParseError};
use crate::operation::ProxyLayout;

/// Iterator over the endpoints of a proxy list, borrowing from the text: no allocation per line.
///
/// ```
/// let text = "nl.gw:8000:u:p\r\nu:p@de.gw:8001\n\nat.gw:8002\n";
/// let hosts: Vec<_> = opx::proxies::ProxyLines::new(text).map(|e| e.unwrap().host()).collect();
/// assert_eq!(hosts, ["nl.gw", "de.gw", "at.gw"]);
/// ```
#[derive(Debug, Clone)]
pub struct ProxyLines<'a> {
    pub(super) rest: &'a str,
    pub(super) line: usize,
    pub(super) layout: Option<ProxyLayout>,
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
    /// [`ProxyQuery::layout`](crate::types::ProxyQuery::layout)): no guessing, so passwords containing
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
