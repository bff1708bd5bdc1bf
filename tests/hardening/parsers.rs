//! The parsers of untrusted server input, in `cargo test`: the fuzzing findings as regression
//! tests, and short property runs of the fuzz targets' checks (the long runs are in `fuzz/`).

use crate::scripted;

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue};
use opx::fuzzing::{describe_body, parse_envelope, rate_limit, response_error_for, retry_after};
use opx::proxies::parse_line_as;
use opx::{ProxyLayout, ProxyLines};
use proptest::prelude::*;
use scripted::{Reply, Scripted};

const DAY: Duration = Duration::from_secs(24 * 3600);

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
        assert_eq!(format!("{:?}", e.to_owned()), expected);
        assert!(!format!("{e:?}").contains(&format!("{pw:?}")));
    }
    assert_eq!(n, 1);
}

/// A hostile server's error message reaches the terminal through `Display` (the CLI prints
/// it): escapes and line breaks are neutralised and the length is bounded.
#[tokio::test]
async fn a_hostile_error_message_is_printable_and_bounded() {
    let evil = format!(
        "\u{1b}[2J\u{1b}]0;owned\u{7}line1\r\nFAKE: opx_live_secret\n{}",
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
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.len() < 2 * 1024, "{} bytes", shown.len());
    assert!(
        e.message().starts_with(" [2J ]0;owned line1  FAKE"),
        "{:?}",
        e.message()
    );
    assert_eq!(e.code().map(|c| c.as_str()), Some("invalid_id [31m"));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9]{1,25}".prop_map(String::into_bytes),
        " *\\+?[0-9]{0,6} *".prop_map(String::into_bytes),
        "[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9:]{8} GMT".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..32),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn envelope_text_is_always_printable_and_bounded(
        code in ".{0,100}",
        message in ".{0,2000}",
        status in 100u16..600,
        raw in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let body = serde_json::json!({"status": "error", "error": {"code": code, "message": message}});
        let (c, m) = parse_envelope(body.to_string().as_bytes()).unwrap();
        prop_assert!(!c.as_str().chars().any(char::is_control));
        prop_assert!(!m.chars().any(char::is_control));
        prop_assert!(m.chars().count() <= 1025 && c.as_str().chars().count() <= 65);
        for bytes in [body.to_string().into_bytes(), raw] {
            let d = describe_body(status, &bytes);
            prop_assert!(!d.chars().any(char::is_control) && d.len() < 1024);
            let e = response_error_for(opx::Operation::Purchase, status, HeaderMap::new(), &bytes);
            prop_assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
            prop_assert!(!e.to_string().chars().any(char::is_control));
        }
    }

    #[test]
    fn header_delays_are_read_exactly_or_ignored_and_never_exceed_a_day(
        limit in header_value(),
        reset in header_value(),
        retry in header_value(),
    ) {
        let mut h = HeaderMap::new();
        for (name, v) in [("x-ratelimit-limit", &limit), ("x-ratelimit-reset", &reset), ("retry-after", &retry)] {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                h.insert(name, v);
            }
        }
        let now = Instant::now();
        if let Some(rl) = rate_limit(&h, now) {
            prop_assert!(rl.reset_after().is_none_or(|d| d <= DAY));
            let exact = h.get("x-ratelimit-limit").and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
            prop_assert_eq!(rl.limit(), exact.map(|n| u32::try_from(n).unwrap_or(u32::MAX)));
        }
        prop_assert!(retry_after(&h).is_none_or(|d| d <= DAY));
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
        "username": "\u{1b}]0;owned\u{7}alice\u{1b}[2J",
        "email": "alice@example.com",
        "balance": 1500,
        "currency": "RUB"
    })))
    .await;
    let run = |args: &'static [&'static str], base: String| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_opx"))
                .args(args)
                .env("OPX_TOKEN", scripted::TOKEN)
                .env("OPX_BASE_URL", base)
                .env_remove("OPX_LOG")
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap()
        })
    };
    let out = run(&["account"], s.base_url.clone()).await.unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("?]0;owned?alice?[2J"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );

    let s = Scripted::start(Reply::json(
        404,
        serde_json::json!({"status": "error", "error": {"code": "not_found", "message": "gone\u{1b}[2J\r\nFAKE PROMPT $ "}}),
    ))
    .await;
    let out = run(&["service", "65aa1100b2c3d4e5f6a7b8d0"], s.base_url.clone())
        .await
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("gone [2J  FAKE PROMPT"), "{stderr:?}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
}
