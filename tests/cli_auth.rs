//! `opx auth login | status | logout`, base URLs with credentials, where a stored or profile
//! token may go, diagnostics and the environment's proxy: end to end against the in-process
//! mock, the binary run as a child (as in `tests/cli.rs`), the token store being the private
//! file (`OPX_KEYRING=0`, set by the support module; the keychain itself is tested on
//! keyring-core's mock store in `src/bin/opx/config/login.rs`).

use std::{
    io::{Read, Write},
    net::TcpListener,
    path::PathBuf,
    process::{Output, Stdio},
};

use opx::Operation;
use opx::mock::MockServer;

#[path = "support/opx_bin.rs"]
mod opx_bin;
use opx_bin::{Home, exits, ok, stderr, stdout};

/// What `opx auth` writes in a [`Home`].
impl Home {
    fn logins(&self) -> PathBuf {
        self.xdg().join("opx").join("auth.json")
    }

    /// `opx GLOBAL auth login` with `stdin` as its input (the token, as one types it).
    async fn login(&self, global: &[&str], stdin: &str) -> Output {
        let args = [global, &["auth", "login"]].concat();
        self.run(&args, &[], Some(stdin)).await
    }

    /// `opx ARGS` with `stdin` as its input, HOME and XDG_CONFIG_HOME here, plus `env`.
    async fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut cmd = self.command(args, env);
        let input = stdin.map(str::to_owned);
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        tokio::task::spawn_blocking(move || {
            let mut child = cmd.spawn().expect("the opx binary runs");
            if let Some(text) = input {
                let mut pipe = child.stdin.take().unwrap();
                pipe.write_all(text.as_bytes()).unwrap();
            }
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }
}

/// Everything the run printed.
fn all(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// `opx_live_…` and the last four characters of `token`.
fn fingerprint(token: &str) -> String {
    format!("opx_live_…{}", &token[token.len() - 4..])
}

#[tokio::test(flavor = "multi_thread")]
async fn login_from_stdin_then_every_command_works_with_no_variable_set() {
    let server = MockServer::start().await;
    let home = Home::new();
    let token = server.token();
    // Logged out: a usage error that says how to log in.
    let out = home.opx(&["account"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(stderr(&out).contains("opx auth login"), "{}", stderr(&out));

    let out = home
        .login(&["--base-url", server.base_url()], &format!("{token}\n"))
        .await;
    let said = ok(&out);
    assert!(said.contains("Logged in to"), "{said}");
    assert!(said.contains(&fingerprint(token)), "{said}");
    assert!(said.contains("OPX_KEYRING is set"), "{said}");
    assert!(!all(&out).contains(token), "{}", all(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.logins())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // No OPX_TOKEN, no OPX_BASE_URL: the stored token, to its own base URL.
    let out = home.opx(&["--json", "account"], &[]).await;
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(v["balance"], server.accounts().balance());

    let out = home.opx(&["auth", "status"], &[]).await;
    let said = ok(&out);
    assert!(said.contains("yes: account"), "{said}");
    assert!(said.contains(&fingerprint(token)), "{said}");
    assert!(said.contains("(from file "), "{said}");
    assert!(said.contains("(login default)"), "{said}");
    assert!(!said.contains(token), "{said}");
    let out = home.opx(&["config"], &[]).await;
    assert!(ok(&out).contains("login default"), "{}", all(&out));
    assert!(!all(&out).contains(token));

    // OPX_BASE_URL cannot redirect a stored token; --base-url on the command line can.
    let before = server.records().requests().len();
    let out = home
        .opx(
            &["account"],
            &[("OPX_BASE_URL", "http://127.0.0.1:9/api/v1")],
        )
        .await;
    exits(&out, 2);
    assert!(stderr(&out).contains("--base-url"), "{}", stderr(&out));
    assert!(!all(&out).contains(token));
    let out = home
        .opx(&["--base-url", "http://127.0.0.1:9/api/v1", "account"], &[])
        .await;
    exits(&out, 1);
    let said = stderr(&out);
    assert!(
        said.contains("could not connect to 127.0.0.1:9: "),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "one line: {said}");
    assert_eq!(server.records().requests().len(), before);

    let out = home.opx(&["auth", "logout"], &[]).await;
    assert!(ok(&out).contains("Logged out"), "{}", all(&out));
    let text = std::fs::read_to_string(home.logins()).unwrap();
    assert!(!text.contains(token), "{text}");
    let out = home.opx(&["account"], &[]).await;
    exits(&out, 2);
    let out = home.opx(&["auth", "logout"], &[]).await;
    assert!(ok(&out).contains("nothing to remove"), "{}", all(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_the_api_refuses_is_not_stored_nor_shown() {
    let server = MockServer::start().await;
    let home = Home::new();
    let bad = "opx_live_ffffffffffffffffffffffffffff1234";
    let out = home
        .run(
            &[
                "--base-url",
                server.base_url(),
                "auth",
                "login",
                "--with-token",
            ],
            &[],
            Some(bad),
        )
        .await;
    exits(&out, 3);
    assert!(stderr(&out).contains("invalid_token"), "{}", stderr(&out));
    assert!(stderr(&out).contains("not stored"), "{}", stderr(&out));
    // The key given here was refused, not one from a variable that is not even set.
    assert!(!stderr(&out).contains("OPX_TOKEN"), "{}", stderr(&out));
    assert!(!all(&out).contains(bad), "{}", all(&out));
    assert!(!home.logins().exists());
    // An empty input is refused before anything is sent.
    let sent = server.records().executions(Operation::GetAccount);
    let out = home.login(&["--base-url", server.base_url()], "\n").await;
    exits(&out, 2);
    assert_eq!(server.records().executions(Operation::GetAccount), sent);
    // A status with a token the API refuses: said, exit 3, the token never shown.
    let out = home
        .opx(
            &["auth", "status"],
            &[("OPX_TOKEN", bad), ("OPX_BASE_URL", server.base_url())],
        )
        .await;
    exits(&out, 3);
    assert!(stdout(&out).contains("no: invalid_token"), "{}", all(&out));
    assert!(
        stdout(&out).contains("…1234 (from OPX_TOKEN)"),
        "{}",
        all(&out)
    );
    assert!(!all(&out).contains(bad));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_with_credentials_is_redacted_by_config_and_refused_elsewhere() {
    let home = Home::new();
    let url = "http://admin:s3cretpw@127.0.0.1:9/api/v1";
    let env = [("OPX_TOKEN", "opx_live_0123456789abcdef0123456789abcdef")];
    let out = home.opx(&["--base-url", url, "config"], &env).await;
    exits(&out, 2);
    assert!(
        stdout(&out).contains("http://***@127.0.0.1:9/api/v1"),
        "{}",
        all(&out)
    );
    for args in [
        &["--base-url", url, "account"][..],
        &["--base-url", url, "api", "GET", "/account"],
        &["--base-url", url, "auth", "status"],
    ] {
        let out = home.opx(args, &env).await;
        exits(&out, 2);
        let said = all(&out);
        assert!(
            !said.contains("s3cretpw") && !said.contains("admin"),
            "{said}"
        );
        assert!(!said.contains("ClientBuilder"), "{said}");
        assert!(said.contains("user name or password"), "{said}");
    }
    let out = home
        .opx(&["account"], &[env[0], ("OPX_BASE_URL", url)])
        .await;
    exits(&out, 2);
    assert!(!all(&out).contains("s3cretpw"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profiles_token_goes_only_to_its_own_base_url_unless_the_command_line_says() {
    let ours = MockServer::start().await;
    let other = MockServer::start().await;
    let home = Home::new();
    let config = home.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.mock]\nbase_url = \"{}\"\ntoken_env = \"MOCK_TOKEN\"\n",
            ours.base_url()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let env = [
        ("OPX_CONFIG", config),
        ("MOCK_TOKEN", ours.token()),
        ("OPX_PROFILE", "mock"),
    ];
    let mut redirected = env.to_vec();
    redirected.push(("OPX_BASE_URL", other.base_url()));
    let out = home.opx(&["account"], &redirected).await;
    exits(&out, 2);
    assert!(stderr(&out).contains("profile mock"), "{}", stderr(&out));
    assert_eq!(
        other.records().requests().len(),
        0,
        "nothing reached the other host"
    );
    assert_eq!(ours.records().requests().len(), 0);
    // The same URL as the profile's is no redirection.
    let mut same = env.to_vec();
    same.push(("OPX_BASE_URL", ours.base_url()));
    ok(&home.opx(&["account"], &same).await);
    // --base-url on the command line sends it there (the other mock refuses the token).
    let out = home
        .opx(&["--base-url", other.base_url(), "account"], &env)
        .await;
    exits(&out, 3);
    assert!(stderr(&out).contains("invalid_token"), "{}", stderr(&out));
    assert_eq!(other.records().requests().len(), 1);
}

/// A TLS failure (https to the mock's plain HTTP port) is one line naming the host and the
/// cause (its rustls error), with no library diagnostics and no colour unless asked for on a terminal.
#[tokio::test(flavor = "multi_thread")]
async fn diagnostics_are_off_by_default_and_never_coloured_off_a_terminal() {
    let server = MockServer::start().await;
    let home = Home::new();
    // With TLS: https to the mock's plain port (a handshake failure). Built without it (CI's
    // no-default-features run refuses https at construction): a port nobody listens on.
    #[cfg(feature = "rustls")]
    let url = server.base_url().replacen("http://", "https://", 1);
    #[cfg(not(feature = "rustls"))]
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/api/v1", l.local_addr().unwrap())
    };
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let env = [("OPX_TOKEN", server.token())];
    let args = ["--base-url", url.as_str(), "account"];
    let out = home.opx(&args, &env).await;
    exits(&out, 1);
    let said = stderr(&out);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.starts_with(&format!("error: could not connect to {host}: ")),
        "{said}"
    );
    assert!(said.trim_end().len() > format!("error: could not connect to {host}: ").len());
    assert!(!said.contains('\u{1b}'), "{said}");
    let mut logged = env.to_vec();
    logged.push(("OPX_LOG", "trace"));
    for extra in [None, Some(("NO_COLOR", "1"))] {
        let mut env = logged.clone();
        env.extend(extra);
        let out = home.opx(&args, &env).await;
        exits(&out, 1);
        assert!(stderr(&out).lines().count() > 1, "{}", stderr(&out));
        assert!(!stderr(&out).contains('\u{1b}'), "{}", stderr(&out));
        assert!(!all(&out).contains(server.token()));
    }
}

/// No command of a login session shows the token, not even traced at TRACE.
#[tokio::test(flavor = "multi_thread")]
async fn a_login_session_traced_never_shows_the_token() {
    let server = MockServer::start().await;
    let home = Home::new();
    let token = server.token();
    let trace = [("OPX_LOG", "trace")];
    let mut seen = String::new();
    let out = home
        .run(
            &["--base-url", server.base_url(), "auth", "login"],
            &trace,
            Some(token),
        )
        .await;
    seen.push_str(&all(ok_or_trace(&out)));
    for args in [
        &["auth", "status"][..],
        &["--json", "auth", "status"],
        &["account"],
        &["config"],
        &["--json", "config"],
        &["api", "GET", "/account"],
        &["auth", "logout"],
    ] {
        let out = home.opx(args, &trace).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", all(&out));
        seen.push_str(&all(&out));
    }
    assert!(seen.contains("opx_live_…"), "the fingerprint is shown");
    assert!(!seen.contains(token), "the token appeared:\n{seen}");
    assert!(
        !seen.contains(&token[9..]),
        "the token's secret part appeared"
    );
}

/// The run, asserting success (stderr may hold the trace).
fn ok_or_trace(o: &Output) -> &Output {
    assert_eq!(o.status.code(), Some(0), "{}", all(o));
    o
}

/// A proxy that answers every request `407 Proxy Authentication Required`, counting them.
fn refusing_proxy() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = seen.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic \
                  realm=\"p\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environments_proxy_is_used_named_in_its_errors_and_can_be_switched_off() {
    let server = MockServer::start().await;
    let home = Home::new();
    let (port, seen) = refusing_proxy();
    let proxy = format!("http://puser:ppass99@127.0.0.1:{port}");
    let env = [
        ("OPX_TOKEN", server.token()),
        ("OPX_BASE_URL", server.base_url()),
        ("HTTP_PROXY", proxy.as_str()),
    ];
    for args in [&["account"][..], &["api", "GET", "/account"]] {
        let out = home.opx(args, &env).await;
        assert_ne!(out.status.code(), Some(0), "{}", all(&out));
        let said = stderr(&out);
        assert!(
            said.contains(&format!(
                "the proxy http://***@127.0.0.1:{port} (from HTTP_PROXY)"
            )),
            "{args:?}: {said}"
        );
        assert!(said.contains("407"), "{said}");
        assert!(
            !said.contains("ppass99") && !said.contains("puser"),
            "{said}"
        );
        assert!(!all(&out).contains(server.token()));
    }
    assert!(seen.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    let reached = server.records().executions(Operation::GetAccount);
    assert_eq!(reached, 0, "the API was not reached through the proxy");
    // A proxy that cannot be reached is named as what failed, not the API; a SOCKS5 one
    // (curl's `ALL_PROXY=socks5://...`) too, not taken for an unknown scheme.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    for (var, scheme) in [("HTTP_PROXY", "http"), ("ALL_PROXY", "socks5")] {
        let gone = format!("{scheme}://127.0.0.1:{port}");
        let unreachable = [env[0], env[1], (var, gone.as_str())];
        let said = stderr(&home.opx(&["account", "--timeout", "5"], &unreachable).await);
        let named =
            format!("error: could not connect to the proxy {gone} (from {var}), on the way");
        assert!(said.starts_with(&named), "{said}");
    }
    // --no-proxy and NO_PROXY go direct.
    ok(&home.opx(&["--no-proxy", "account"], &env).await);
    let mut bypass = env.to_vec();
    bypass.push(("NO_PROXY", "127.0.0.1"));
    ok(&home.opx(&["account"], &bypass).await);
    assert_eq!(server.records().executions(Operation::GetAccount), 2);
}

/// A login made with `--profile` is that profile's: its base URL, used with the profile only;
/// a profile that names its own token source refuses a login.
#[tokio::test(flavor = "multi_thread")]
async fn a_login_belongs_to_its_profile() {
    let server = MockServer::start().await;
    let home = Home::new();
    let dir = home.xdg().join("opx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[profiles.local]\nbase_url = \"{}\"\n\n[profiles.env]\ntoken_env = \"X_TOKEN\"\n",
            server.base_url()
        ),
    )
    .unwrap();
    let out = home.login(&["--profile", "local"], server.token()).await;
    assert!(ok(&out).contains("login local"), "{}", all(&out));
    let out = home
        .opx(&["--profile", "local", "--json", "config"], &[])
        .await;
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(v["base_url"], server.base_url());
    assert_eq!(
        v["token_from"],
        format!("file {} (login local)", home.logins().display())
    );
    assert_eq!(v["token_fingerprint"], fingerprint(server.token()));
    ok(&home.opx(&["--profile", "local", "account"], &[]).await);
    // Without the profile there is no login.
    exits(&home.opx(&["account"], &[]).await, 2);
    let out = home.login(&["--profile", "env"], server.token()).await;
    exits(&out, 2);
    assert!(stderr(&out).contains("token_env"), "{}", stderr(&out));
}
