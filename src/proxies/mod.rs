//! Proxy list parsing: a zero-allocation borrowed iterator ([`ProxyLines`]) over the text form of
//! `GET /services/{id}/proxies`, and the owned form ([`ProxyEndpointBuf`]).
//!
//! Accepted line layouts: `host:port:login:password`, `login:password@host:port` and `host:port`
//! (with `auth=false`). Hosts may be bracketed IPv6 literals (`[2001:db8::1]:8000`). Empty lines
//! and a trailing `\r` are ignored.
//!
//! Each endpoint can be written in the forms other tools take: [`ExportFormat`] (the proxy URL,
//! curl's `-x`, environment variables, a Python `requests` dict, Playwright's proxy object,
//! proxychains lines) and [`ProxyEndpoint::to_reqwest_proxy`].

mod endpoint;
mod export;
mod parse;

pub use endpoint::{ProxyEndpoint, ProxyEndpointBuf, ProxyParseError};
pub use export::{ExportError, ExportFormat};

pub use parse::{ProxyLines, parse_line, parse_line_as, parse_list};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::ProxyLayout;

    fn one(line: &str) -> ProxyEndpoint<'_> {
        parse_line(line).unwrap()
    }

    /// Host, port, login and password of `line`.
    fn parts(line: &str) -> (&str, u16, Option<&str>, Option<&str>) {
        let e = one(line);
        (e.host(), e.port(), e.login(), e.password())
    }

    #[test]
    fn both_layouts_and_no_auth() {
        let a = "nl.gw.op-proxy.com:8000:login:pass";
        assert_eq!(
            parts(a),
            ("nl.gw.op-proxy.com", 8000, Some("login"), Some("pass"))
        );
        assert_eq!(one(a), one("login:pass@nl.gw.op-proxy.com:8000"));
        let c = one("nl.gw.op-proxy.com:8000");
        assert_eq!((c.login(), c.password()), (None, None));
    }

    #[test]
    fn passwords_may_contain_separators() {
        assert_eq!(
            parts("h:1:user:pa:ss@x"),
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
        assert!(format!("{e:?}").starts_with("ProxyEndpoint {"));
        assert!(format!("{:?}", e.to_owned()).starts_with("ProxyEndpointBuf {"));
    }

    mod properties {
        use super::super::*;
        use crate::operation::ProxyLayout;
        use proptest::prelude::*;

        proptest! {
            // Arbitrary input goes through the fuzz target's checks in
            // `tests/hardening/parsers.rs` (`the_proxy_list_fuzz_checks_hold_on_any_input`).

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
