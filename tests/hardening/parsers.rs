//! The parsers of untrusted server input, in `cargo test`: the fuzzing findings as regression
//! tests, and short property runs of the fuzz targets' checks (the long runs are in `fuzz/`).

use crate::opx_bin;
use crate::proxy_list_checks::check_proxy_list;
use crate::ratelimit_reference::{DAY, Headers, check_rate_limit, reference_u64};
use crate::scripted;

use std::time::{Duration, Instant};

use http::HeaderMap;
use opx::fuzzing::{describe_body, parse_envelope, response_error_for, retry_after};
use opx::proxies::ProxyLines;
use opx::proxies::parse_line_as;
use opx::types::ProxyLayout;
use proptest::prelude::*;
use scripted::{Reply, Scripted};

/// `fuzz/artifacts/proxy_list/crash-d1ba7aa2c96edea5042671bacbf77555762fed30` (first byte: the
/// layout selector). The fuzz check compared the raw password with `Debug` output, which
/// escapes it differently; the check now compares `Debug` with its exact expected form.
#[test]
fn fuzz_proxy_list_crash_d1ba7aa2_debug_is_exactly_the_redacted_form() {
    let data = b"\x87\xff\xff\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xff\xfb\x00\x97:\"\x95\x95@\xda:3";
    let text = String::from_utf8_lossy(&data[1..]);
    let mut n = 0;
    for e in ProxyLines::new(&text).flatten() {
        n += 1;
        let pw = e.password().expect("the line has credentials");
        let expected = format!(
            "ProxyEndpoint {{ host: {:?}, port: {}, login: {:?}, password: Some(\"<redacted>\") }}",
            e.host(),
            e.port(),
            e.login()
        );
        assert_eq!(format!("{e:?}"), expected);
        let owned = expected.replacen("ProxyEndpoint ", "ProxyEndpointBuf ", 1);
        assert_eq!(format!("{:?}", e.to_owned()), owned);
        assert!(!format!("{e:?}").contains(&format!("{pw:?}")));
    }
    assert_eq!(n, 1);
}

/// Proxy-list text as a hostile or broken server might send it: any bytes, or lines put
/// together from the pieces the parser splits on (separators, brackets, ports at and past the
/// edges, whitespace, controls, non-ASCII), so that most cases reach the checks on endpoints.
fn proxy_list_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        proptest::sample::select(
            &[
                ":",
                "@",
                "[",
                "]",
                "::1",
                ".",
                "%",
                " ",
                "\t",
                "\n",
                "\r\n",
                "\r",
                "\0",
                "\u{1b}[2J",
                "\u{202e}",
                "é",
                "\u{2028}",
                "\u{feff}",
                "0",
                "1",
                "8000",
                "65535",
                "65536",
                "-1",
                "+80",
                "host",
                "nl.gw",
                "127.0.0.1",
                "user",
                "p\"w",
                "#",
            ][..]
        )
        .prop_map(str::to_owned),
        "[ -~]{1,6}",
    ];
    // Lines in either layout whose fields are any text (controls, separators, non-ASCII
    // included), with ports at and past the edges: most parse, and every field is odd.
    let field = || prop_oneof![piece.clone(), "\\PC{0,8}", ".{0,8}"];
    let port = proptest::sample::select(&["0", "1", "80", "65535", "65536", " 8000", "08", ""][..]);
    let line = (field(), port, field(), field(), any::<bool>()).prop_map(
        |(host, port, login, password, at)| {
            if at {
                format!("{login}:{password}@{host}:{port}")
            } else {
                format!("{host}:{port}:{login}:{password}")
            }
        },
    );
    let end = proptest::sample::select(&["\n", "\r\n", "\r", ""][..]);
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        (any::<u8>(), proptest::collection::vec(piece, 0..60)).prop_map(|(layout, pieces)| {
            let mut bytes = vec![layout];
            bytes.extend(pieces.concat().into_bytes());
            bytes
        }),
        (any::<u8>(), proptest::collection::vec((line, end), 1..8)).prop_map(|(layout, lines)| {
            let mut bytes = vec![layout];
            for (line, end) in lines {
                bytes.extend(line.into_bytes());
                bytes.extend(end.as_bytes());
            }
            bytes
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The proxy-list fuzz target's checks (`tests/support/proxy_list_checks.rs`) on arbitrary
    /// input, every layout.
    #[test]
    fn the_proxy_list_fuzz_checks_hold_on_any_input(data in proxy_list_bytes()) {
        check_proxy_list(&data);
    }
}

/// The shared checks do reach endpoints (the property above is not only about errors), and
/// they hold on the inputs that once failed them.
#[test]
fn the_proxy_list_checks_see_endpoints_in_odd_input() {
    let known: [(&[u8], usize); 4] = [
        (
            b"\x87\xff\xff\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xa1\xff\xfb\x00\x97:\"\x95\x95@\xda:3",
            1,
        ),
        (
            b"\x00h:1:u:p\r\n[::1]:8000:\xc3\xa9:\x1b[0m\n\n  gw.example:65535  \n",
            3,
        ),
        (b"\x02u:p\"w@[::1]:80\nu:p@h:65536\n", 1),
        (b"\x01h:0:u:p\n", 0),
    ];
    for (data, endpoints) in known {
        assert_eq!(check_proxy_list(data), endpoints, "{data:?}");
    }
}

/// A hostile server's error message reaches the terminal through `Display` (the CLI prints
/// it): escapes and line breaks are neutralised and the length is bounded.
#[tokio::test]
async fn a_hostile_error_message_is_printable_and_bounded() {
    let evil = format!(
        "\u{1b}[2J\u{1b}]0;owned\u{7}line1\r\nFAKE\u{202e}: opx_live_secret\u{2028}\u{2066}x\n{}",
        "x".repeat(200_000)
    );
    let s = Scripted::start(Reply::json(
        400,
        serde_json::json!({"status": "error", "error": {"code": "invalid_id\u{1b}[31m", "message": evil}}),
    ))
    .await;
    let c = s.client().build().unwrap();
    let e = c.account().await.unwrap_err();
    let shown = format!("{e}");
    assert!(!unprintable().is_match(&shown), "{shown:?}");
    assert!(shown.len() < 2 * 1024, "{} bytes", shown.len());
    assert_eq!(
        e.message().chars().count(),
        1025,
        "1,024 characters and the cut mark"
    );
    assert!(
        e.message()
            .starts_with(" [2J ]0;owned line1  FAKE : opx_live_secret  x xxx"),
        "{:?}",
        e.message()
    );
    assert_eq!(e.code().map(|c| c.as_str()), Some("invalid_id [31m"));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
}

/// An oracle for printability that does not share the code's predicate: the Unicode general
/// categories Cc (controls), Cf (format: bidi embeddings, overrides and isolates, zero-width
/// characters, the BOM, tags), Zl and Zp (line and paragraph separators), as the `regex`
/// crate's Unicode tables define them.
fn unprintable() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]").unwrap())
}

/// The characters SECURITY.md names, spelled out: what must never reach a terminal as is.
const NAMED_UNPRINTABLE: &[char] = &[
    '\u{1b}',
    '\r',
    '\n',
    '\u{7}',
    '\u{85}',
    '\u{2028}',
    '\u{2029}',
    '\u{202A}',
    '\u{202B}',
    '\u{202C}',
    '\u{202D}',
    '\u{202E}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200B}',
    '\u{200E}',
    '\u{200F}',
    '\u{061C}',
    '\u{FEFF}',
    '\u{E0001}',
];

/// What the envelope's text must become: every unprintable character (by the oracle) a
/// space, cut to `max` characters with `…` marking the cut.
fn reference_printable(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| {
            if unprintable().is_match(c.encode_utf8(&mut [0; 4])) {
                ' '
            } else {
                c
            }
        })
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// The quoted body snippet of `describe_body`'s text, unescaped (it is written with `{:?}`).
fn quoted_snippet(d: &str) -> String {
    let start = d.find("bytes: \"").expect("a quoted snippet") + "bytes: \"".len();
    let inner = d[start..]
        .strip_suffix("\")")
        .expect("the snippet closes the text");
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next().expect("an escape") {
            'u' => {
                let hex: String = it.by_ref().skip(1).take_while(|&c| c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            other => out.push(other),
        }
    }
    out
}

/// Server text: anything, or text dense in the characters that must not get through.
fn server_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap(),
        proptest::string::string_regex(&format!(
            "[a-z \\p{{Cc}}\\p{{Cf}}\\p{{Zl}}\\p{{Zp}}\\u{{2028}}\\u{{2029}}\\u{{202A}}-\\u{{202E}}\\u{{2066}}-\\u{{2069}}]{{0,{max}}}"
        ))
        .unwrap(),
    ]
}

#[test]
fn every_named_unprintable_character_is_neutralised() {
    for &c in NAMED_UNPRINTABLE {
        assert!(
            unprintable().is_match(c.encode_utf8(&mut [0; 4])),
            "the oracle misses {c:?}"
        );
        let body = serde_json::json!({"status": "error", "error": {"code": format!("a{c}b"), "message": format!("x{c}y")}});
        let (code, message) = parse_envelope(body.to_string().as_bytes()).unwrap();
        assert_eq!(code.as_str(), "a b", "{c:?}");
        assert_eq!(message, "x y", "{c:?}");
        // The snippet is quoted with `{:?}`, which escapes what is looked for: read it back.
        let d = describe_body(502, format!("<p>x{c}y</p>").as_bytes());
        let snippet = quoted_snippet(&d);
        assert!(!snippet.contains(c), "{c:?} in {d:?}");
        assert!(
            ["<p>xy</p>", "<p>x y</p>"].contains(&snippet.as_str()),
            "{c:?}: {d:?}"
        );
        assert!(opx::fuzzing::is_unprintable(c), "{c:?}");
    }
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9]{1,25}".prop_map(String::into_bytes),
        "[ \t]*\\+?[0-9]{0,6}[ \t]*".prop_map(String::into_bytes),
        "-[0-9]{1,6}|[0-9]{1,4}\\.[0-9]|0x[0-9a-f]{1,4}|\\+\\+1|1 2".prop_map(String::into_bytes),
        "(4294967295|4294967296|18446744073709551615|18446744073709551616|86400|86401)"
            .prop_map(String::into_bytes),
        "[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9:]{8} GMT".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..32),
    ]
}

/// A `Retry-After` value and, when it is an HTTP date, the delay it means in seconds (0 for a
/// date in the past).
fn retry_value() -> impl Strategy<Value = (Vec<u8>, Option<u64>)> {
    prop_oneof![
        header_value().prop_map(|v| (v, None)),
        (1i64..200_000).prop_map(|secs| {
            let at = chrono::Utc::now() + chrono::Duration::seconds(secs);
            let text = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            (text.into_bytes(), Some(secs as u64))
        }),
        Just((b"Wed, 21 Oct 2015 07:28:00 GMT".to_vec(), Some(0))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn envelope_text_is_always_printable_and_bounded(
        code in server_text(100),
        message in server_text(2000),
        status in 100u16..600,
        raw in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let body = serde_json::json!({"status": "error", "error": {"code": code, "message": message}});
        let (c, m) = parse_envelope(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(c.as_str(), reference_printable(&code, 64));
        prop_assert_eq!(&m, &reference_printable(&message, 1024));
        prop_assert!(!unprintable().is_match(c.as_str()) && !unprintable().is_match(&m));
        let mut dense = message.clone().into_bytes();
        dense.extend_from_slice(code.as_bytes());
        for bytes in [body.to_string().into_bytes(), raw, dense] {
            let d = describe_body(status, &bytes);
            prop_assert!(!unprintable().is_match(&d), "{:?}", d);
            if !bytes.is_empty() {
                // At most 100 characters of the body, all printable.
                let snippet = quoted_snippet(&d);
                prop_assert!(snippet.chars().count() <= 100, "{} chars: {:?}", snippet.chars().count(), snippet);
                prop_assert!(!unprintable().is_match(&snippet), "{:?}", snippet);
            }
            let e = response_error_for(opx::Operation::Purchase, status, HeaderMap::new(), &bytes);
            prop_assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
            prop_assert!(!unprintable().is_match(&e.to_string()), "{:?}", e.to_string());
        }
    }

    /// The checks of `fuzz/fuzz_targets/ratelimit_headers.rs`: every header read exactly as
    /// the reference reads it, or ignored; a `None` only when no header had a value.
    #[test]
    fn header_delays_are_read_exactly_or_ignored_and_never_exceed_a_day(
        limit in proptest::option::of(header_value()),
        remaining in proptest::option::of(header_value()),
        reset in proptest::option::of(header_value()),
        retry in proptest::option::of(retry_value()),
    ) {
        let (retry, date_delay) = match retry {
            Some((bytes, delay)) => (Some(bytes), delay),
            None => (None, None),
        };
        let h = Headers::from_raw(&limit, &remaining, &reset, &retry);
        prop_assert_eq!(check_rate_limit(&h, Instant::now()), Ok(()));
        let (retry, h) = (h.retry_after, h.map);
        let ra = retry_after(&h);
        prop_assert!(ra.is_none_or(|d| d <= DAY));
        let e = response_error_for(opx::Operation::Purchase, 429, h, b"");
        prop_assert!(e.is_rate_limited());
        match (retry.as_ref().and_then(reference_u64), date_delay) {
            (Some(n), _) => {
                prop_assert_eq!(ra, Some(Duration::from_secs(n).min(DAY)));
                prop_assert_eq!(e.retry_after(), ra);
            }
            // An HTTP date: the time until then (none if past), capped; the clock moved a
            // little between writing the date and each reading of it.
            (None, Some(secs)) => {
                let want = Duration::from_secs(secs).min(DAY);
                for d in [ra, e.retry_after()] {
                    let d = d.expect("an HTTP date is read");
                    prop_assert!(d <= want && want - d <= Duration::from_secs(2), "{:?} for {}", d, secs);
                }
            }
            (None, None) => {
                prop_assert_eq!(ra, None);
                prop_assert_eq!(e.retry_after(), None);
            }
        }
    }

    #[test]
    fn proxy_lines_written_back_parse_to_themselves(
        host in "[a-z0-9.-]{1,20}|\\[[0-9a-f:]{2,20}\\]",
        port in 1u16..,
        login in "[A-Za-z0-9@._-]{1,12}",
        password in "[!-~]{0,16}",
    ) {
        let line = format!("{host}:{port}:{login}:{password}");
        let e = parse_line_as(&line, Some(ProxyLayout::HostPortUserPass)).unwrap();
        prop_assert_eq!((e.port(), e.login(), e.password()), (port, Some(login.as_str()), Some(password.as_str())));
        let at = format!("{login}:{password}@{host}:{port}");
        prop_assert_eq!(parse_line_as(&at, Some(ProxyLayout::UserPassAtHostPort)), Ok(e));
        let expected = format!(
            "ProxyEndpoint {{ host: {:?}, port: {port}, login: {:?}, password: Some(\"<redacted>\") }}",
            e.host(),
            e.login()
        );
        prop_assert_eq!(format!("{e:?}"), expected);
    }
}

/// The CLI prints server-supplied text: escapes in data (human output) and in error messages
/// (stderr) reach the terminal neutralised.
#[tokio::test]
async fn the_cli_neutralises_terminal_escapes_from_the_server() {
    let s = Scripted::start(Reply::ok(serde_json::json!({
        "username": "\u{1b}]0;owned\u{7}alice\u{1b}[2J\u{202e}evil\u{2028}x\u{2069}",
        "email": "alice@example.com",
        "balance": 1500,
        "currency": "RUB"
    })))
    .await;
    let run = |args: &'static [&'static str], base: String| {
        tokio::task::spawn_blocking(move || {
            let env = [("OPX_TOKEN", scripted::TOKEN), ("OPX_BASE_URL", &base)];
            opx_bin::command(args, &env).output().unwrap()
        })
    };
    let out = run(&["account"], s.base_url.clone()).await.unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("?]0;owned?alice?[2J?evil?x?"), "{stdout}");
    assert!(
        !unprintable().is_match(&stdout.replace('\n', "")),
        "{stdout:?}"
    );

    let s = Scripted::start(Reply::json(
        404,
        serde_json::json!({"status": "error", "error": {"code": "not_found", "message": "gone\u{1b}[2J\r\nFAKE PROMPT\u{2028}\u{202e}$ "}}),
    ))
    .await;
    let out = run(&["service", "65aa1100b2c3d4e5f6a7b8d0"], s.base_url.clone())
        .await
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("gone [2J  FAKE PROMPT  $"), "{stderr:?}");
    assert!(
        !unprintable().is_match(stderr.trim_end_matches('\n')),
        "{stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
}

/// A 3.1 schema and the 3.0 schema the converter must make of it (built independently of the
/// converter, rule by rule from the table in `opx-codegen/src/downlevel.rs`).
fn schema_pair() -> impl Strategy<Value = (serde_json::Value, serde_json::Value)> {
    use serde_json::json;
    let ty = prop_oneof![
        Just("string"),
        Just("integer"),
        Just("number"),
        Just("boolean"),
        Just("object"),
        Just("array"),
    ];
    let leaf = prop_oneof![
        ty.clone()
            .prop_map(|t| (json!({"type": t}), json!({"type": t}))),
        (ty, any::<bool>()).prop_map(|(t, null_first)| {
            let list = if null_first {
                json!(["null", t])
            } else {
                json!([t, "null"])
            };
            (json!({"type": list}), json!({"type": t, "nullable": true}))
        }),
        any::<i32>().prop_map(|n| (json!({"const": n}), json!({"enum": [n]}))),
        "[a-z]{0,5}".prop_map(|v| (
            json!({"type": "string", "const": v}),
            json!({"type": "string", "enum": [v]})
        )),
        (any::<i32>(), any::<bool>()).prop_map(|(n, max)| if max {
            (
                json!({"type": "number", "exclusiveMaximum": n}),
                json!({"type": "number", "maximum": n, "exclusiveMaximum": true}),
            )
        } else {
            (
                json!({"type": "integer", "exclusiveMinimum": n}),
                json!({"type": "integer", "minimum": n, "exclusiveMinimum": true}),
            )
        }),
        "[a-z]{1,5}".prop_map(|e| (
            json!({"type": "string", "examples": [e, "other"], "$comment": "why"}),
            json!({"type": "string", "example": e}),
        )),
        "[A-Z][a-z]{0,3}".prop_map(|n| {
            let r = format!("#/components/schemas/{n}");
            (
                json!({"$ref": r, "description": "d", "nullable": true}),
                json!({"$ref": r}),
            )
        }),
        Just((json!({}), json!({}))),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            proptest::collection::btree_map("[a-z~/]{1,4}", inner.clone(), 0..4).prop_map(|m| {
                let (a, b): (serde_json::Map<_, _>, serde_json::Map<_, _>) = (
                    m.iter().map(|(k, (a, _))| (k.clone(), a.clone())).collect(),
                    m.into_iter().map(|(k, (_, b))| (k, b)).collect(),
                );
                (
                    json!({"type": "object", "properties": a}),
                    json!({"type": "object", "properties": b}),
                )
            }),
            inner.clone().prop_map(|(a, b)| (
                json!({"type": ["array", "null"], "items": a}),
                json!({"type": "array", "nullable": true, "items": b}),
            )),
            (proptest::collection::vec(inner.clone(), 1..4), 0..3usize).prop_map(|(v, k)| {
                let kw = ["allOf", "anyOf", "oneOf"][k];
                let (a, b): (Vec<_>, Vec<_>) = v.into_iter().unzip();
                (json!({kw: a}), json!({kw: b}))
            }),
            inner
                .clone()
                .prop_map(|(a, b)| (json!({"not": a}), json!({"not": b}))),
            (inner, any::<bool>()).prop_map(|((a, b), closed)| if closed {
                (
                    json!({"type": "object", "additionalProperties": false, "$comment": "c"}),
                    json!({"type": "object", "additionalProperties": false}),
                )
            } else {
                (
                    json!({"type": "object", "additionalProperties": a}),
                    json!({"type": "object", "additionalProperties": b}),
                )
            }),
        ]
    })
}

/// A 3.1 document with `schema` in components and in a path (parameter and response), plus the
/// top-level fields 3.0 has no form for.
fn document(
    component: &serde_json::Value,
    param: &serde_json::Value,
    extras: bool,
) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/a/{id}": {"get": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": param}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": component,
                "examples": {"x": {"value": {"const": 1, "type": ["a", "b"]}}}
            }}}}
        }}},
        "components": {"schemas": {"S": component}}
    });
    if extras {
        doc["jsonSchemaDialect"] = "https://spec.openapis.org/oas/3.1/dialect/base".into();
        doc["webhooks"] = serde_json::json!({});
        doc["info"]["summary"] = "s".into();
        doc["info"]["license"] = serde_json::json!({"name": "MIT", "identifier": "MIT"});
    }
    doc
}

/// The structural checks of `fuzz/fuzz_targets/downlevel.rs` on one converted schema.
fn check_converted_schema(s: &serde_json::Value) -> Result<(), TestCaseError> {
    use serde_json::Value;
    let map = s
        .as_object()
        .ok_or_else(|| TestCaseError::fail("a schema is not an object"))?;
    if map.contains_key("$ref") {
        prop_assert_eq!(map.len(), 1, "siblings of $ref kept: {:?}", map);
        return Ok(());
    }
    for k in ["const", "examples", "$comment"] {
        prop_assert!(!map.contains_key(k), "{} kept", k);
    }
    match map.get("type") {
        Some(Value::Array(_)) => prop_assert!(false, "type list kept"),
        Some(Value::String(t)) => prop_assert_ne!(t, "null"),
        _ => {}
    }
    for k in ["exclusiveMinimum", "exclusiveMaximum"] {
        prop_assert!(
            map.get(k).is_none_or(Value::is_boolean),
            "numeric {} kept",
            k
        );
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        for p in props.values() {
            check_converted_schema(p)?;
        }
    }
    for k in ["items", "not", "additionalProperties"] {
        if let Some(sub) = map.get(k)
            && !(k == "additionalProperties" && sub.is_boolean())
        {
            check_converted_schema(sub)?;
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = map.get(k) {
            for sub in list {
                check_converted_schema(sub)?;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The OpenAPI 3.1 -> 3.0 converter: every schema becomes exactly its 3.0 form, wherever
    /// it sits; no 3.1 construct survives (the fuzz target's checks); notes name their
    /// pointers; converting the result again changes nothing.
    #[test]
    fn the_3_1_to_3_0_converter_makes_exactly_the_3_0_form(
        (component, expected) in schema_pair(),
        (param, param_expected) in schema_pair(),
        extras in any::<bool>(),
    ) {
        let out = opx_codegen::downlevel(document(&component, &param, extras)).expect("a convertible document");
        let doc = &out.document;
        prop_assert_eq!(&doc["openapi"], "3.0.3");
        prop_assert_eq!(doc, &{
            let mut d = document(&expected, &param_expected, false);
            d["openapi"] = "3.0.3".into();
            if extras {
                d["info"]["license"] = serde_json::json!({"name": "MIT"});
            }
            d
        });
        for key in ["jsonSchemaDialect", "webhooks"] {
            prop_assert!(doc.get(key).is_none(), "{} kept", key);
        }
        check_converted_schema(&doc["components"]["schemas"]["S"])?;
        check_converted_schema(&doc["paths"]["/a/{id}"]["get"]["parameters"][0]["schema"])?;
        for note in &out.notes {
            prop_assert!(note.starts_with('/'), "a note names its pointer: {}", note);
        }
        let mut again = doc.clone();
        again["openapi"] = "3.1.0".into();
        let twice = opx_codegen::downlevel(again).expect("a converted document converts again");
        prop_assert_eq!(&twice.document, doc, "not a fixed point");
    }

    /// A keyword 3.0 has no form for is refused, with the pointer of where it is.
    #[test]
    fn the_converter_refuses_what_3_0_cannot_say_and_points_at_it(
        (component, _) in schema_pair(),
        k in 0..opx_codegen::downlevel::UNSUPPORTED_KEYWORDS.len(),
    ) {
        let keyword = opx_codegen::downlevel::UNSUPPORTED_KEYWORDS[k];
        let wrapped = serde_json::json!({"type": "object", "properties": {"p~/": {"allOf": [component, {keyword: {}}]}}});
        let e = opx_codegen::downlevel(document(&wrapped, &serde_json::json!({"type": "string"}), false))
            .expect_err("refused");
        prop_assert_eq!(
            e.pointer,
            format!("/components/schemas/S/properties/p~0~1/allOf/1/{}", keyword.replace('~', "~0").replace('/', "~1"))
        );
    }
}
