//! The `opx` binary's config file, profiles, `opx config` and `opx api`, end to end against the
//! in-process mock (the binary run as a child, as in `tests/cli.rs`).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Output,
};

use opx::Operation;
use opx::mock::MockServer;

#[path = "support/opx_bin.rs"]
mod opx_bin;
use opx_bin::{Home, ok, stderr, stdout};
/// The variables `opx` reads, as `--help` and README.md name them.
const ENVIRONMENT: [&str; 5] = [
    "OPX_TOKEN",
    "OPX_BASE_URL",
    "OPX_PROFILE",
    "OPX_CONFIG",
    "OPX_LOG",
];

/// A well-formed token the mock does not know.
const OTHER_TOKEN: &str = "opx_live_ffffffffffffffffffffffffffffffff";

/// What the tests of the config file write in a [`Home`].
impl Home {
    /// Writes `config.toml` and returns its path.
    fn config(&self, text: &str) -> PathBuf {
        let p = self.path("config.toml");
        fs::write(&p, text).unwrap();
        p
    }

    /// Writes a token file with this mode.
    fn token_file(&self, name: &str, token: &str, mode: u32) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, format!("{token}\n")).unwrap();
        set_mode(&p, mode);
        p
    }
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).unwrap()
}

/// A profile `mock` on the server, its token in `MOCK_TOKEN`.
fn env_profile(server: &MockServer) -> String {
    format!(
        "[profiles.mock]\nbase_url = \"{}\"\ntoken_env = \"MOCK_TOKEN\"\n\n\
         [profiles.dead]\nbase_url = \"http://127.0.0.1:9/api/v1\"\ntoken_env = \"MOCK_TOKEN\"\n",
        server.base_url()
    )
}

/// A mock, and a home whose config file has the profiles of [`env_profile`] for it.
struct Profiles {
    server: MockServer,
    home: Home,
    config: String,
}

impl Profiles {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let home = Home::new();
        let config = home.config(&env_profile(&server));
        let config = config.to_str().unwrap().to_owned();
        Self {
            server,
            home,
            config,
        }
    }

    /// `OPX_CONFIG` (the file) and `MOCK_TOKEN` (the mock's token).
    fn env(&self) -> [(&str, &str); 2] {
        [
            ("OPX_CONFIG", self.config.as_str()),
            ("MOCK_TOKEN", self.server.token()),
        ]
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_supplies_base_url_and_token_end_to_end() {
    let profiles = Profiles::start().await;
    let (server, home, config) = (&profiles.server, &profiles.home, profiles.config.as_str());
    let token = server.token();
    // --profile, and OPX_PROFILE: the profile's URL and token, nothing else set.
    for (args, extra) in [
        (&["--json", "--profile", "mock", "account"][..], None),
        (&["--json", "account"][..], Some(("OPX_PROFILE", "mock"))),
    ] {
        let mut env = vec![("OPX_CONFIG", config), ("MOCK_TOKEN", token)];
        env.extend(extra);
        let v = json(&home.opx(args, &env).await);
        assert_eq!(v["balance"], server.accounts().balance(), "{args:?}");
    }
    // A token exported for another account does not travel with the profile...
    let env = [
        ("OPX_CONFIG", config),
        ("MOCK_TOKEN", token),
        ("OPX_TOKEN", OTHER_TOKEN),
        ("OPX_BASE_URL", server.base_url()),
    ];
    let v = json(
        &home
            .opx(&["--json", "--profile", "mock", "account"], &env)
            .await,
    );
    assert_eq!(v["balance"], server.accounts().balance());
    // ...and without the profile it is the one used (the mock refuses it: proof of which).
    let out = home.opx(&["account"], &env).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid_token"), "{}", stderr(&out));
    // --base-url overrides the profile's URL (here a dead port).
    let env = [("OPX_CONFIG", config), ("MOCK_TOKEN", token)];
    let v = json(
        &home
            .opx(
                &[
                    "--json",
                    "--profile",
                    "dead",
                    "--base-url",
                    server.base_url(),
                    "account",
                ],
                &env,
            )
            .await,
    );
    assert_eq!(v["balance"], server.accounts().balance());
    assert_eq!(server.records().executions(Operation::GetAccount), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_config_file_and_default_profile_are_used_without_flags() {
    let server = MockServer::start().await;
    let home = Home::new();
    let dir = home.path("xdg").join("opx");
    fs::create_dir_all(&dir).unwrap();
    let token = home.token_file("xdg/opx/mock.token", server.token(), 0o600);
    fs::write(
        dir.join("config.toml"),
        format!(
            "default_profile = \"mock\"\n[profiles.mock]\nbase_url = \"{}\"\n\
             token_file = \"mock.token\"\n",
            server.base_url()
        ),
    )
    .unwrap();
    let v = json(&home.opx(&["--json", "account"], &[]).await);
    assert_eq!(v["balance"], server.accounts().balance());
    let shown = ok(&home.opx(&["config"], &[]).await);
    assert!(
        shown.contains(&dir.join("config.toml").display().to_string()),
        "{shown}"
    );
    assert!(shown.contains("mock (default_profile)"), "{shown}");
    assert!(
        shown.contains(&format!("file {}", token.display())),
        "{shown}"
    );
    assert!(!shown.contains(server.token()), "{shown}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_token_file_others_can_read_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let home = Home::new();
    let file = home.token_file("t.token", server.token(), 0o600);
    let config = home.config(&format!(
        "[profiles.f]\nbase_url = \"{}\"\ntoken_file = \"{}\"\n",
        server.base_url(),
        file.display()
    ));
    let env = [("OPX_CONFIG", config.to_str().unwrap())];
    let v = json(
        &home
            .opx(&["--json", "--profile", "f", "account"], &env)
            .await,
    );
    assert_eq!(v["balance"], server.accounts().balance());
    let sent = server.records().requests().len();
    for mode in [0o640, 0o604, 0o620, 0o644] {
        set_mode(&file, mode);
        let out = home.opx(&["--profile", "f", "account"], &env).await;
        assert_eq!(out.status.code(), Some(2), "{mode:o}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{mode:03o}")) && err.contains("chmod 600"),
            "{err}"
        );
        assert!(!err.contains(server.token()) && !stdout(&out).contains(server.token()));
    }
    assert_eq!(
        server.records().requests().len(),
        sent,
        "nothing sent with a readable token file"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_shows_the_active_profile_with_the_token_redacted() {
    let profiles = Profiles::start().await;
    let (server, home, config) = (&profiles.server, &profiles.home, profiles.config.as_str());
    let env = profiles.env();
    let human = ok(&home.opx(&["--profile", "mock", "config"], &env).await);
    for part in [
        config,
        "dead, mock",
        "mock (--profile)",
        &format!("{} (profile mock)", server.base_url()),
        "<redacted> (from environment variable MOCK_TOKEN)",
    ] {
        assert!(human.contains(part), "{part:?} in\n{human}");
    }
    let v = json(
        &home
            .opx(&["--json", "--profile", "mock", "config"], &env)
            .await,
    );
    assert_eq!(v["profile"], "mock");
    assert_eq!(v["base_url"], server.base_url());
    assert_eq!(v["token"], "<redacted>");
    assert_eq!(v["token_from"], "environment variable MOCK_TOKEN");
    // No profile, no token: says so, exit 2.
    let out = home.opx(&["config"], &[("OPX_CONFIG", config)]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("OPX_TOKEN is not set"),
        "{}",
        stdout(&out)
    );
    for o in [&human, &v.to_string()] {
        assert!(!o.contains(server.token()), "{o}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_in_the_config_file_is_refused_and_never_echoed() {
    let home = Home::new();
    let secret = "opx_live_0123456789abcdef0123456789abcdef";
    for text in [
        format!("[profiles.p]\ntoken = \"{secret}\"\n"),
        format!("[profiles.p]\ntoken = {secret}\n"), // not even valid TOML
        format!("[profiles.p]\napi_key = \"{secret}\"\n"),
        format!("[profiles.p]\ntoken_env = \"{secret}\"\n"),
    ] {
        let config = home.config(&text);
        let env = [("OPX_CONFIG", config.to_str().unwrap())];
        for args in [
            &["--profile", "p", "account"][..],
            &["--profile", "p", "config"],
        ] {
            let out = home.opx(args, &env).await;
            assert_eq!(out.status.code(), Some(2), "{text}");
            let all = format!("{}{}", stdout(&out), stderr(&out));
            assert!(!all.contains(secret), "{all}");
            assert!(all.contains("config") || all.contains("profile"), "{all}");
        }
    }
    let config = home.config(&format!("[profiles.p]\ntoken = \"{secret}\"\n"));
    let out = home
        .opx(
            &["--profile", "p", "account"],
            &[("OPX_CONFIG", config.to_str().unwrap())],
        )
        .await;
    assert!(stderr(&out).contains("token_env"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_profiles_and_missing_files_are_usage_errors() {
    let profiles = Profiles::start().await;
    let (server, home, config) = (&profiles.server, &profiles.home, profiles.config.as_str());
    let out = home
        .opx(&["--profile", "nope", "account"], &[("OPX_CONFIG", config)])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("profiles: dead, mock"),
        "{}",
        stderr(&out)
    );
    let missing = home.path("missing.toml");
    let out = home
        .opx(&["account"], &[("OPX_CONFIG", missing.to_str().unwrap())])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("OPX_CONFIG"), "{}", stderr(&out));
    // A profile asked for, but no config file in the (isolated) config directory.
    let out = home.opx(&["--profile", "mock", "account"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no config file at"),
        "{}",
        stderr(&out)
    );
    // The variable the profile names is not set.
    let out = home
        .opx(&["--profile", "mock", "account"], &[("OPX_CONFIG", config)])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("MOCK_TOKEN"), "{}", stderr(&out));
    assert_eq!(server.records().requests().len(), 0);
}

/// `opx api` through a profile: GET prints the body, an error status exits 3 with the code.
#[tokio::test(flavor = "multi_thread")]
async fn api_sends_authenticated_requests_to_any_path() {
    let profiles = Profiles::start().await;
    let (server, home) = (&profiles.server, &profiles.home);
    let env = profiles.env();
    let p = |args: &[&'static str]| [&["--profile", "mock", "api"][..], args].concat();
    let v = json(&home.opx(&p(&["get", "/account"]), &env).await);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["data"]["balance"], server.accounts().balance());
    let v = json(
        &home
            .opx(&p(&["GET", "catalog/plans?type=ipv6_rotating"]), &env)
            .await,
    );
    let plans = v["data"]["plans"].as_array().unwrap();
    assert!(!plans.is_empty());
    assert!(plans.iter().all(|p| p["type"] == "ipv6_rotating"), "{v}");

    let out = home
        .opx(&p(&["GET", "/services/000000000000000000000000"]), &env)
        .await;
    assert_eq!(out.status.code(), Some(3));
    let body: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        stderr(&out).contains("HTTP 404: not_found"),
        "{}",
        stderr(&out)
    );

    for bad in [
        p(&["GET", "https://example.com/api/v1/account"]),
        p(&["GET", "/../../account"]),
        p(&["TRACE", "/account"]),
        p(&["GET", "/account", "--data", "{}"]),
        p(&["PUT", "/services/x/country", "--data", "{not json"]),
    ] {
        let out = home.opx(&bad, &env).await;
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    assert_eq!(server.records().executions(Operation::GetAccount), 1);
    assert_eq!(server.records().executions(Operation::ListPlans), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn api_money_posts_need_yes_and_are_sent_once() {
    let profiles = Profiles::start().await;
    let (server, home) = (&profiles.server, &profiles.home);
    let env = profiles.env();
    let plan = server
        .services()
        .plan(opx::types::ServiceType::Ipv6Rotating)
        .unwrap();
    let body = format!(r#"{{"type":"ipv6_rotating","plan_id":"{}"}}"#, plan.plan_id);
    let api = |args: &[&str]| {
        let mut v = vec!["--profile", "mock", "api"];
        v.extend_from_slice(args);
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let home = &home;
        let env = &env;
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            home.opx(&a, env).await
        }
    };
    let before = server.accounts().balance();
    for path in ["/purchase", "/%70urchase", "purchase/"] {
        let out = run(api(&["POST", path, "--data", &body])).await;
        assert_eq!(out.status.code(), Some(2), "{path}");
        assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    }
    assert_eq!(server.records().executions(Operation::Purchase), 0);
    let v = json(&run(api(&["POST", "/purchase", "--data", &body, "--yes"])).await);
    let id = v["data"]["service_id"].as_str().unwrap().to_owned();
    assert_eq!(server.accounts().balance(), before - plan.price);
    assert_eq!(server.records().executions(Operation::Purchase), 1);

    for action in ["extend", "credentials"] {
        let path = format!("/services/{id}/{action}");
        let out = run(api(&["POST", &path])).await;
        assert_eq!(out.status.code(), Some(2), "{path}");
    }
    assert_eq!(server.records().executions(Operation::ExtendService), 0);
    assert_eq!(
        server
            .records()
            .executions(Operation::RegenerateCredentials),
        0
    );
    let path = format!("/services/{id}/extend");
    json(&run(api(&["POST", &path, "--yes"])).await);
    assert_eq!(server.records().executions(Operation::ExtendService), 1);
    assert_eq!(server.accounts().balance(), before - 2 * plan.price);

    // Other writes need no confirmation.
    let path = format!("/services/{id}/whitelist");
    let v = json(
        &run(api(&[
            "PUT",
            &path,
            "--data",
            r#"{"whitelisted_ips":["203.0.113.10"]}"#,
        ]))
        .await,
    );
    assert_eq!(v["data"]["whitelist"][0]["ip"], "203.0.113.10", "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn help_names_every_environment_variable() {
    let home = Home::new();
    let help = ok(&home.opx(&["--help"], &[]).await);
    for var in ENVIRONMENT {
        assert!(help.contains(var), "{var} in --help");
    }
    let readme = include_str!("../README.md");
    for var in ENVIRONMENT {
        assert!(readme.contains(var), "{var} in README.md");
    }
}

/// A profile's spend cap is enforced before sending, from the journal, and named in the
/// refusal (exit 2); the journal keeps what was spent across processes.
#[tokio::test(flavor = "multi_thread")]
async fn a_profiles_spend_cap_refuses_a_charge_that_would_pass_it() {
    let server = MockServer::start().await;
    let home = Home::new();
    let plan = server
        .services()
        .plan(opx::types::ServiceType::Ipv4Rotating)
        .unwrap();
    let text = format!(
        "[profiles.capped]\nbase_url = \"{}\"\ntoken_env = \"MOCK_TOKEN\"\n\
         spend_cap_day = {}\nwatch = 0.1\n",
        server.base_url(),
        plan.price + plan.price / 2
    );
    let config = home.config(&text);
    let env = [
        ("OPX_CONFIG", config.to_str().unwrap()),
        ("MOCK_TOKEN", server.token()),
        ("OPX_PROFILE", "capped"),
    ];
    let buy = [
        "purchase",
        "--type",
        "ipv4_rotating",
        "--plan",
        plan.plan_id.as_str(),
        "--yes",
    ];
    let first = home.opx(&buy, &env).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let balance = server.accounts().balance();
    let second = home.opx(&buy, &env).await;
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("over the cap"), "{err}");
    assert!(
        err.contains(&format!("{} RUB spent today", plan.price)),
        "{err}"
    );
    assert_eq!(
        server.accounts().balance(),
        balance,
        "refused before sending"
    );
    let pending = home.opx(&["--json", "pending"], &env).await;
    let v: serde_json::Value = serde_json::from_slice(&pending.stdout).unwrap();
    assert_eq!(v["spent"]["today"], plan.price, "{v}");
    assert_eq!(v["cap"]["day"], plan.price + plan.price / 2, "{v}");
    // The renewal plan counts with the same cap: what it leaves today is the plan's cap, so
    // the plan shows what a run could really extend (it showed the whole --max-spend).
    let renew = [
        "--json",
        "renew",
        "--before",
        "400d",
        "--max-spend",
        "100000",
    ];
    let planned: serde_json::Value =
        serde_json::from_slice(&home.opx(&renew, &env).await.stdout).unwrap();
    assert_eq!(planned["max_spend"], plan.price / 2, "{planned}");
    assert_eq!(
        planned["total"], 0,
        "nothing fits in what is left: {planned}"
    );
    // "Today" is the server's: two days later on its clock (this machine's day unchanged),
    // the cap has room again.
    server
        .clock()
        .advance(std::time::Duration::from_secs(2 * 86_400));
    let later = home.opx(&buy, &env).await;
    assert_eq!(later.status.code(), Some(0), "{}", stderr(&later));
}
