//! Unit tests of the builder: token, base URL and TLS checks.

use super::*;
use crate::ErrorKind;

const TOKEN: &str = "opx_live_0123456789abcdef0123456789abcdef";

#[test]
fn base_urls_must_be_https_unless_loopback() {
    assert_eq!(
        check_base_url("https://op-proxy.com/api/v1/").unwrap(),
        "https://op-proxy.com/api/v1"
    );
    for ok in [
        "http://127.0.0.1:8080/api/v1",
        "http://localhost:1/api/v1",
        "http://[::1]:9/x",
        "http://127.5.6.7/",
    ] {
        assert!(check_base_url(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://op-proxy.com/api/v1",
        "http://10.0.0.1/api/v1",
        "http://localhost.evil.com/",
        "ftp://op-proxy.com/",
        "https://user:pw@op-proxy.com/api/v1",
        "https://op-proxy.com/api/v1?x=1",
        "not a url",
        "",
    ] {
        let e = check_base_url(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
    }
    assert!(
        check_base_url("http://op-proxy.com/")
            .unwrap_err()
            .to_string()
            .contains("non-HTTPS")
    );
}

#[test]
fn from_env_names_the_missing_variable() {
    let e = ClientBuilder::from_env_with(|_| None).unwrap_err();
    assert!(e.to_string().contains("OPX_TOKEN"), "{e}");
    let e = ClientBuilder::from_env_with(|n| (n == TOKEN_ENV).then(|| " ".into())).unwrap_err();
    assert!(e.to_string().contains("OPX_TOKEN"), "{e}");
}

#[tokio::test]
async fn from_env_reads_token_and_base_url() {
    let c = ClientBuilder::from_env_with(|n| match n {
        TOKEN_ENV => Some(TOKEN.into()),
        BASE_URL_ENV => Some("http://127.0.0.1:9/api/v1/".into()),
        _ => None,
    })
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:9/api/v1");
    let b = ClientBuilder::from_env_with(|n| (n == TOKEN_ENV).then(|| TOKEN.into())).unwrap();
    assert_eq!(b.base_url, None, "the default base URL");
    #[cfg(feature = "rustls")]
    assert_eq!(b.build().unwrap().base_url(), crate::spec::DEFAULT_BASE_URL);
}

/// Without `rustls` there is no TLS: an https base URL, the default one included, is refused
/// when the client is built, naming the feature; loopback http still works.
#[cfg(not(feature = "rustls"))]
#[tokio::test]
async fn without_rustls_https_is_refused_at_construction_naming_the_feature() {
    for url in [
        None,
        Some("https://op-proxy.com/api/v1"),
        Some("HTTPS://example.com/"),
    ] {
        let mut b = Client::builder().token(TOKEN);
        if let Some(url) = url {
            b = b.base_url(url);
        }
        let e = b.build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{url:?}");
        assert!(e.to_string().contains("`rustls` feature"), "{url:?}: {e}");
    }
    // One client of the caller's is not enough: the money POSTs would still have no TLS.
    let e = Client::builder()
        .token(TOKEN)
        .reqwest_client(reqwest::Client::new())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("`rustls` feature"), "{e}");
    // Both supplied: the caller vouches for their TLS.
    let c = Client::builder()
        .token(TOKEN)
        .reqwest_client(reqwest::Client::new())
        .non_idempotent_reqwest_client(reqwest::Client::new())
        .build()
        .unwrap();
    assert_eq!(c.base_url(), crate::spec::DEFAULT_BASE_URL);
    let c = Client::builder()
        .token(TOKEN)
        .base_url("http://127.0.0.1:9/api/v1")
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:9/api/v1");
}

#[tokio::test]
async fn tokens_are_checked_and_never_shown() {
    for bad in ["", "a b", "tok\r\nX-Injected: 1", "tok\0"] {
        let e = Client::builder().token(bad).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        if !bad.is_empty() {
            assert!(!e.to_string().contains(bad));
        }
    }
    // Loopback, so that this also runs without the `rustls` feature.
    let b = Client::builder()
        .token(TOKEN)
        .base_url("http://127.0.0.1:9/api/v1");
    assert!(!format!("{b:?}").contains(TOKEN));
    let c = b.build().unwrap();
    assert!(!format!("{c:?}").contains(TOKEN));
    assert!(!format!("{c:?}").contains("0123456789abcdef"));
    assert!(c.transport().auth.is_sensitive());
    let e = Client::builder().build().unwrap_err();
    assert!(e.to_string().contains("OPX_TOKEN"));
}

/// One time limit: without a per-attempt timeout, a money call's one attempt may use the whole
/// deadline (it was cut at 30 s while the deadline said 60), a retried call's attempt half of
/// it; a timeout set by hand still applies, cut to what is left of the deadline.
#[test]
fn attempt_timeouts_are_derived_from_the_deadline() {
    use crate::operation::Operation;
    let deadline = Duration::from_secs(60);
    let still = crate::clock::ManualClock::new();
    let derived = ClientBuilder::new()
        .token(TOKEN)
        .base_url("http://127.0.0.1:9/api/v1")
        .clock(still.clone())
        .deadline(deadline)
        .build()
        .unwrap();
    let t = derived.transport();
    let now = t.clock.now();
    for op in Operation::ALL {
        let want = if op.is_idempotent() {
            deadline / 2
        } else {
            deadline
        };
        assert_eq!(t.attempt_timeout(None, now, op), Some(want), "{op}");
    }
    let set = ClientBuilder::new()
        .token(TOKEN)
        .base_url("http://127.0.0.1:9/api/v1")
        .clock(still)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let t = set.transport();
    assert_eq!(
        t.attempt_timeout(None, t.clock.now(), Operation::Purchase),
        Some(Duration::from_secs(5))
    );
    assert_eq!(
        t.attempt_timeout(
            Some(Duration::from_secs(90)),
            t.clock.now(),
            Operation::Purchase
        ),
        Some(DEFAULT_DEADLINE),
        "never past the deadline"
    );
}
