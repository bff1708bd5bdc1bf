//! Construction: from_env, builder options, HTTPS rule, token hygiene, custom reqwest client.

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/scripted.rs"]
mod scripted;

use std::time::Duration;

use opx::{Client, ErrorKind};
use scripted::{Reply, Scripted, TOKEN, account_json};

/// Serialises the tests of this file that touch the process environment.
static ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn from_env_needs_opx_token_and_honours_opx_base_url() {
    let _g = ENV.lock().await;
    let s = Scripted::start(Reply::ok(account_json())).await;
    // SAFETY: every test of this binary that reads or writes the environment holds `ENV`.
    unsafe {
        std::env::remove_var("OPX_TOKEN");
        std::env::remove_var("OPX_BASE_URL");
    }
    let e = Client::from_env().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("OPX_TOKEN"), "{e}");
    unsafe {
        std::env::set_var("OPX_TOKEN", TOKEN);
    }
    #[cfg(feature = "rustls")]
    assert_eq!(
        Client::from_env().unwrap().base_url(),
        opx::spec::DEFAULT_BASE_URL
    );
    // Without TLS the default (https) base URL is refused when the client is built.
    #[cfg(not(feature = "rustls"))]
    {
        let e = Client::from_env().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("`rustls` feature"), "{e}");
    }
    unsafe {
        std::env::set_var("OPX_BASE_URL", &s.base_url);
    }
    let c = Client::from_env().unwrap();
    assert_eq!(c.account().await.unwrap().balance, 1500);
    unsafe {
        std::env::set_var("OPX_BASE_URL", "http://example.com/api/v1");
    }
    assert_eq!(Client::from_env().unwrap_err().kind(), ErrorKind::Config);
    unsafe {
        std::env::remove_var("OPX_TOKEN");
        std::env::remove_var("OPX_BASE_URL");
    }
}

#[tokio::test]
async fn requests_carry_bearer_user_agent_and_api_version() {
    let _g = ENV.lock().await;
    let s = Scripted::start(Reply::ok(account_json())).await;
    let c = s.client().user_agent("my-app/2.0").build().unwrap();
    c.account().await.unwrap();
    let seen = &s.seen()[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.target, "/api/v1/account");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(seen.header("user-agent"), Some("my-app/2.0"));
    assert_eq!(seen.header("api-version"), Some("1.0.0"));
}

#[tokio::test]
async fn non_https_is_refused_unless_loopback() {
    let _g = ENV.lock().await;
    let e = Client::builder()
        .token(TOKEN)
        .base_url("http://op-proxy.com/api/v1")
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("non-HTTPS"));
    assert!(
        Client::builder()
            .token(TOKEN)
            .base_url("http://127.0.0.1:1/api/v1")
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn bad_tokens_are_refused_without_being_echoed() {
    let _g = ENV.lock().await;
    for bad in ["opx live", "opx\r\nX-Evil: 1", "opx\u{7f}", "\u{e9}t\u{e9}"] {
        let e = Client::builder().token(bad).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}");
        assert!(!format!("{e} {e:?}").contains(bad));
    }
}

#[tokio::test]
async fn a_user_supplied_reqwest_client_is_used_for_idempotent_calls() {
    let _g = ENV.lock().await;
    let s = Scripted::start(Reply::ok(account_json())).await;
    let http = reqwest::Client::builder()
        .user_agent("custom-reqwest")
        .build()
        .unwrap();
    let c = s.client().reqwest_client(http).build().unwrap();
    c.account().await.unwrap();
    assert_eq!(s.seen()[0].header("user-agent"), Some("custom-reqwest"));
    assert_eq!(
        s.seen()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

/// A caller's HTTP settings (here a user agent; a proxy or root certificates travel the same
/// way) reach every request, the money POSTs included.
#[tokio::test]
async fn a_user_supplied_reqwest_client_sends_the_money_calls_too() {
    let _g = ENV.lock().await;
    let s = opx::mock::MockServer::start().await;
    let http = reqwest::Client::builder()
        .user_agent("custom-reqwest")
        .build()
        .unwrap();
    let c = s.client_builder().reqwest_client(http).build().unwrap();
    let bought = c.purchase(&fixtures::ipv4_purchase()).await.unwrap();
    c.extend(&bought.service_id).await.unwrap();
    c.regenerate_credentials(&bought.service_id).await.unwrap();
    let posts: Vec<_> = s
        .records()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 3);
    for r in posts {
        let ua = r.headers.iter().find(|(n, _)| n == "user-agent");
        assert_eq!(
            ua.map(|(_, v)| v.as_str()),
            Some("custom-reqwest"),
            "{}",
            r.path
        );
    }
}

/// The deadline bounds a call's attempts and backoff together: a GET that keeps failing with
/// retryable 503s stops when the deadline leaves no time for the next wait, long before its
/// attempts run out.
#[tokio::test]
async fn the_deadline_bounds_attempts_and_backoff_together() {
    let _g = ENV.lock().await;
    let s = Scripted::start(Reply::error(503, "server_error")).await;
    let policy = opx::RetryPolicy::default()
        .max_attempts(50)
        .base_delay(Duration::from_millis(60));
    let c = s
        .client()
        .retry_policy(policy)
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let e = c.account().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503), "{e}");
    let attempts = s.count();
    assert!(
        (2..=5).contains(&attempts),
        "{attempts} attempts within a 300 ms deadline"
    );
    // Without a deadline, retries run until the attempts are spent.
    let s = Scripted::start(Reply::error(503, "server_error")).await;
    let c = s
        .client()
        .retry_policy(
            opx::RetryPolicy::default()
                .max_attempts(6)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    c.account().await.unwrap_err();
    assert_eq!(s.count(), 6);
}

#[tokio::test]
async fn the_overall_timeout_applies() {
    let _g = ENV.lock().await;
    let s = Scripted::start(Reply::ok(account_json()).delayed(Duration::from_secs(5))).await;
    let c = s
        .client()
        .timeout(Duration::from_millis(200))
        .retry_policy(opx::RetryPolicy::none())
        .build()
        .unwrap();
    let t0 = std::time::Instant::now();
    let e = c.account().await.unwrap_err();
    assert!(e.is_timeout());
    assert!(t0.elapsed() < Duration::from_secs(2));
}

/// A base URL carrying credentials is refused when the client is built, whatever the scheme
/// and host (loopback included), with an error that does not repeat them; the same URL
/// without them is accepted, and nothing is sent either way.
#[tokio::test]
async fn a_base_url_with_credentials_is_refused_without_repeating_them() {
    let s = Scripted::start(Reply::ok(account_json())).await;
    let plain = s.base_url.clone();
    let hostport = plain
        .strip_prefix("http://")
        .unwrap()
        .trim_end_matches("/api/v1")
        .to_owned();
    for userinfo in [
        "alice:hunter2-pw@",
        "alice@",
        ":hunter2-pw@",
        "opx_live_x:y@",
    ] {
        for url in [
            format!("http://{userinfo}{hostport}/api/v1"),
            format!("https://{userinfo}op-proxy.com/api/v1"),
        ] {
            let e = Client::builder()
                .token(TOKEN)
                .base_url(&url)
                .build()
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{url}");
            let shown = format!("{e} {e:?}");
            assert!(shown.contains("credentials"), "{url}: {shown}");
            for secret in ["hunter2-pw", "alice", "opx_live_x"] {
                assert!(!shown.contains(secret), "{url}: {shown}");
            }
        }
    }
    assert_eq!(s.count(), 0);
    // Without the credentials, the same URLs are fine.
    let c = Client::builder()
        .token(TOKEN)
        .base_url(&plain)
        .build()
        .unwrap();
    c.account().await.unwrap();
    // An https URL without credentials builds (where TLS is built in; nothing is sent).
    #[cfg(feature = "rustls")]
    Client::builder()
        .token(TOKEN)
        .base_url("https://op-proxy.com/api/v1")
        .build()
        .unwrap();
    assert_eq!(s.count(), 1);
}
