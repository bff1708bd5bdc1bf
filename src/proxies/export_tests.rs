use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::proxies::parse_line_as;

const NASTY: &str = "p@ss:w/rd%~ #'\"é";

fn endpoint<'a>(host: &'a str, login: &'a str, password: &'a str) -> ProxyEndpoint<'a> {
    ProxyEndpoint::new(host, 8000, Some(login), Some(password))
}

/// The (host, port, login, password) a proxy URL decodes to.
fn decode_url(url: &str) -> (String, u16, String, String) {
    let u = url::Url::parse(url).unwrap();
    assert_eq!(u.scheme(), "http");
    let dec = |s: &str| percent_decode_str(s).decode_utf8().unwrap().into_owned();
    let host = u.host_str().unwrap().trim_matches(['[', ']']).to_owned();
    // An empty password leaves `login:@host`, which `url` reads as no password.
    let password = dec(u.password().unwrap_or(""));
    (host, u.port().unwrap(), dec(u.username()), password)
}

fn want(e: &ProxyEndpoint<'_>) -> (String, u16, String, String) {
    let (l, p) = (e.login().unwrap(), e.password().unwrap());
    (e.host().to_owned(), e.port(), l.to_owned(), p.to_owned())
}

#[test]
fn url_curl_and_env_decode_back_to_the_credentials() {
    for host in ["127.0.0.1", "nl.gw.example", "2001:db8::1"] {
        let e = endpoint(host, "us er", NASTY);
        let url = e.export(ExportFormat::Url).unwrap();
        assert_eq!(url, e.proxy_url());
        assert_eq!(decode_url(&url), want(&e));
        // Only characters a shell leaves alone in an assignment (and brackets for IPv6).
        assert!(
            url.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._%:@/[]".contains(c)),
            "{url}"
        );
        let curl = e.export(ExportFormat::Curl).unwrap();
        let inner = curl
            .strip_prefix("-x '")
            .and_then(|s| s.strip_suffix('\''))
            .unwrap();
        assert_eq!(inner, url);
        let env = e.export(ExportFormat::Env).unwrap();
        let keys: Vec<_> = env
            .lines()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                assert_eq!(v, url);
                k
            })
            .collect();
        assert_eq!(
            keys,
            ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]
        );
    }
}

#[test]
fn requests_and_playwright_read_back_as_data() {
    let e = endpoint("2001:db8::1", "alice", NASTY);
    let dict: Value = serde_json::from_str(&e.export(ExportFormat::Requests).unwrap()).unwrap();
    assert_eq!(dict, json!({"http": e.proxy_url(), "https": e.proxy_url()}));
    let pw: Value = serde_json::from_str(&e.export(ExportFormat::Playwright).unwrap()).unwrap();
    assert_eq!(
        pw,
        json!({"server": "http://[2001:db8::1]:8000", "username": "alice", "password": NASTY})
    );
    // Without credentials: the server only.
    let bare = ProxyEndpoint::new("h", 1, None, None);
    assert_eq!(
        bare.export(ExportFormat::Playwright).unwrap(),
        r#"{"server":"http://h:1"}"#
    );
    assert_eq!(bare.export(ExportFormat::Url).unwrap(), "http://h:1");
}

#[test]
fn proxychains_lines_and_what_they_cannot_hold() {
    let e = endpoint("127.0.0.1", "alice", "p@ss:w/rd%");
    let line = e.export(ExportFormat::Proxychains).unwrap();
    assert_eq!(line, "http 127.0.0.1 8000 alice p@ss:w/rd%");
    let fields: Vec<_> = line.split_whitespace().collect();
    assert_eq!(fields, ["http", "127.0.0.1", "8000", "alice", "p@ss:w/rd%"]);
    let bare = ProxyEndpoint::new("10.0.0.1", 3128, None, None);
    assert_eq!(
        bare.export(ExportFormat::Proxychains).unwrap(),
        "http 10.0.0.1 3128"
    );
    let cases = [
        ("al ice", "hunter2"),
        ("alice", "hun ter2"),
        ("alice", "hun\tter2"),
        ("a", ""),
    ];
    for (login, password) in cases {
        let err = endpoint("h", login, password)
            .export(ExportFormat::Proxychains)
            .unwrap_err();
        assert_eq!(err.format(), ExportFormat::Proxychains);
        assert!(!err.to_string().contains("hun"), "{err}");
    }
}

#[test]
fn reqwest_takes_the_proxy_and_errors_hold_no_password() {
    let e = endpoint("127.0.0.1", "alice", NASTY);
    assert!(e.to_reqwest_proxy().is_ok());
    assert!(e.to_owned().to_reqwest_proxy().is_ok());
    let owned = e.to_owned();
    assert_eq!(owned.export(ExportFormat::Url).unwrap(), e.proxy_url());
    let names: Vec<_> = ExportFormat::ALL.iter().map(ExportFormat::as_str).collect();
    assert_eq!(
        names,
        [
            "url",
            "curl",
            "env",
            "requests",
            "playwright",
            "proxychains"
        ]
    );
}

proptest! {
    #[test]
    fn every_line_round_trips_through_url_and_playwright(
        login in "[A-Za-z0-9_]{1,12}",
        password in "\\PC{0,24}",
    ) {
        let line = format!("127.0.0.1:8000:{login}:{password}");
        let Ok(e) = parse_line_as(&line, Some(crate::types::ProxyLayout::HostPortUserPass)) else {
            return Ok(());
        };
        let got = decode_url(&e.export(ExportFormat::Url).unwrap());
        prop_assert_eq!(got, want(&e));
        let pw: Value = serde_json::from_str(&e.export(ExportFormat::Playwright).unwrap()).unwrap();
        prop_assert_eq!(pw["password"].as_str(), e.password());
        let dict: Value = serde_json::from_str(&e.export(ExportFormat::Requests).unwrap()).unwrap();
        let url = e.proxy_url();
        prop_assert_eq!(dict["https"].as_str(), Some(url.as_str()));
    }
}
