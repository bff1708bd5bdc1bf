//! `opx proxies ID --as FORMAT` against the in-process mock, each form used by the tool it is
//! for where that tool runs here: curl through the mock's gateway for `url`, `curl` and `env`
//! (a loopback echo as the target; once the credentials are regenerated the same lines get a
//! 407, so the traffic did go through the gateway with those credentials), the `requests`
//! dict through the gateway with Python's `urllib` (which takes the same dict) and, where
//! python3 has it, `requests`,
//! and the `playwright` / `proxychains` lines read back field by field.

#[path = "support/echo.rs"]
mod echo;
#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/opx_bin.rs"]
mod opx_bin;

use std::process::{Command, Output};

use echo::Echo;
use fixtures::bought;
use opx::mock::MockServer;
use opx::types::ServiceType;
use opx_bin::{exits, opx, stderr};
use serde_json::Value;

/// `sh -c SCRIPT` with no proxy settings of the environment (a `no_proxy` covering loopback
/// would send curl around the gateway).
fn sh(script: &str) -> Output {
    let mut cmd = Command::new("sh");
    for var in [
        "no_proxy",
        "NO_PROXY",
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(var);
    }
    cmd.arg("-c").arg(script).output().unwrap()
}

/// The HTTP status curl got for `target`, run after the shell `prefix` (which may set the
/// environment) with `curl_args`.
fn curl_status(prefix: &str, curl_args: &str, target: &str) -> String {
    let script =
        format!("{prefix} curl -s -o /dev/null -w '%{{http_code}}' {curl_args} '{target}'");
    let out = sh(&script);
    String::from_utf8(out.stdout).unwrap()
}

async fn export(s: &MockServer, id: &str, format: &str) -> String {
    let out = opx(s, &["proxies", id, "--as", format]).await;
    let text = exits(&out, 0);
    assert_eq!(stderr(&out), "");
    text
}

/// `opx proxies --all --as url`: one file of every endpoint of every active service, each a
/// working proxy URL.
#[tokio::test(flavor = "multi_thread")]
async fn all_as_url_is_one_file_of_every_endpoint() {
    let s = MockServer::start().await;
    let echo = Echo::start().await;
    let v4 = bought(&s, ServiceType::Ipv4Rotating).await;
    let v6 = bought(&s, ServiceType::Ipv6Rotating).await;
    let (one, other) = (
        export(&s, v4.service_id.as_str(), "url").await,
        export(&s, v6.service_id.as_str(), "url").await,
    );
    let out = opx(&s, &["proxies", "--all", "--as", "url"]).await;
    let all = exits(&out, 0);
    let mut want: Vec<&str> = one.lines().chain(other.lines()).collect();
    let mut got: Vec<&str> = all.lines().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "every endpoint of both services, each once");
    for url in all.lines() {
        let status = curl_status("", &format!("-x '{url}'"), &echo.url("/"));
        assert_eq!(status, "200", "{url}");
    }
    // One JSON document or a merged text list is another output: refused with --as.
    for bad in [&["--json"][..], &["--merge"]] {
        let args = [&["proxies", "--all", "--as", "url"][..], bad].concat();
        exits(&opx(&s, &args).await, 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn url_curl_and_env_carry_curl_through_the_gateway() {
    let s = MockServer::start().await;
    let echo = Echo::start().await;
    let target = echo.url("/through");
    let svc = bought(&s, ServiceType::Ipv4Rotating).await;
    let id = svc.service_id.to_string();
    let (url, curl, env) = (
        export(&s, &id, "url").await,
        export(&s, &id, "curl").await,
        export(&s, &id, "env").await,
    );
    let url = url.trim_end().to_owned();
    assert!(
        url.starts_with(&format!("http://{}:", svc.auth.login)),
        "{url}"
    );
    assert_eq!(curl, format!("-x '{url}'\n"));
    assert_eq!(
        env,
        format!("HTTP_PROXY={url}\nHTTPS_PROXY={url}\nhttp_proxy={url}\nhttps_proxy={url}\n")
    );
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("proxy.env");
    std::fs::write(&env_file, &env).unwrap();
    let sourced = format!("set -a; . '{}'; set +a;", env_file.display());
    let runs = || {
        [
            ("url", curl_status("", &format!("-x '{url}'"), &target)),
            ("curl", curl_status("", curl.trim_end(), &target)),
            ("env", curl_status(&sourced, "", &target)),
        ]
    };
    for (format, status) in runs() {
        assert_eq!(status, "200", "{format}");
    }
    // The same lines after new credentials: refused by the gateway, so they went through it.
    exits(&opx(&s, &["credentials", &id, "--yes"]).await, 0);
    for (format, status) in runs() {
        assert_eq!(status, "407", "{format}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_takes_the_dict_through_the_gateway() {
    let s = MockServer::start().await;
    let echo = Echo::start().await;
    let svc = bought(&s, ServiceType::Ipv6Rotating).await;
    let id = svc.service_id.to_string();
    let dicts = export(&s, &id, "requests").await;
    let lines: Vec<_> = dicts.lines().collect();
    assert_eq!(lines.len(), 3, "one dict per gateway (nl, de, at): {dicts}");
    // The status of a GET of `url` through the dict's proxy, with the standard library's
    // `urllib` (its `ProxyHandler` takes the same dict and sends the proxy URL's credentials),
    // which every python3 has, and with `requests` where python3 has it.
    let has_requests = sh("python3 -c 'import requests'").status.success();
    let libraries: &[&str] = if has_requests {
        &["urllib", "requests"]
    } else {
        eprintln!("python3 has no `requests` here: the dict goes through `urllib` only");
        &["urllib"]
    };
    let get = |dict: &str, url: &str, library: &str| {
        let script = "import ast, sys\n\
                      proxies = ast.literal_eval(sys.argv[1])\n\
                      assert set(proxies) == {'http', 'https'} and proxies['http'] == proxies['https'], proxies\n\
                      if sys.argv[3] == 'requests':\n\
                      \x20   import requests\n\
                      \x20   print(requests.get(sys.argv[2], proxies=proxies, timeout=10).status_code)\n\
                      else:\n\
                      \x20   import urllib.request, urllib.error\n\
                      \x20   opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))\n\
                      \x20   try:\n\
                      \x20       print(opener.open(sys.argv[2], timeout=10).status)\n\
                      \x20   except urllib.error.HTTPError as e:\n\
                      \x20       print(e.code)\n";
        let mut cmd = Command::new("python3");
        for var in ["no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY"] {
            cmd.env_remove(var);
        }
        let out = cmd
            .args(["-c", script, dict, url, library])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{library} {dict}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    // Every dict with every library: `want` from the gateway.
    let all_get = |want: &str| {
        for line in &lines {
            for library in libraries {
                assert_eq!(
                    get(line, &echo.url("/py"), library),
                    want,
                    "{library} {line}"
                );
            }
        }
    };
    all_get("200");
    // Old credentials: the gateway refuses them.
    exits(&opx(&s, &["credentials", &id, "--yes"]).await, 0);
    all_get("407");
}

#[tokio::test(flavor = "multi_thread")]
async fn playwright_and_proxychains_read_back_field_by_field() {
    let s = MockServer::start().await;
    let svc = bought(&s, ServiceType::Ipv6Rotating).await;
    let id = svc.service_id.to_string();
    let servers = s
        .client()
        .proxies(&svc.service_id, &opx::types::ProxyQuery::new())
        .await
        .unwrap();
    let playwright = export(&s, &id, "playwright").await;
    let chains = export(&s, &id, "proxychains").await;
    for ((pw, chain), e) in playwright.lines().zip(chains.lines()).zip(servers.iter()) {
        let v: Value = serde_json::from_str(pw).unwrap();
        let want = serde_json::json!({"server": format!("http://{}:{}", e.host(), e.port()),
            "username": svc.auth.login, "password": svc.auth.password()});
        assert_eq!(v, want);
        let port = e.port().to_string();
        let fields: Vec<_> = chain.split_whitespace().collect();
        let want = [
            "http",
            e.host(),
            &port,
            &svc.auth.login,
            svc.auth.password(),
        ];
        assert_eq!(fields, want);
    }
    assert_eq!(playwright.lines().count(), 3);
    assert_eq!(chains.lines().count(), 3);
    // Without credentials (IP-whitelisted use) and one country.
    let out = opx(
        &s,
        &[
            "proxies",
            &id,
            "--as",
            "proxychains",
            "--no-auth",
            "--country",
            "de",
        ],
    )
    .await;
    let line = exits(&out, 0);
    assert_eq!(line.split_whitespace().count(), 3, "{line}");
    // --as takes no --format / --layout; an unknown format is a usage error.
    for bad in [
        &["proxies", &id, "--as", "url", "--format", "json"][..],
        &[
            "proxies",
            &id,
            "--as",
            "url",
            "--layout",
            "user_pass_at_host_port",
        ],
        &["proxies", &id, "--as", "wget"],
    ] {
        exits(&opx(&s, bad).await, 2);
    }
}

/// The library's `to_reqwest_proxy()`: a reqwest client through the gateway, refused once the
/// credentials are regenerated.
#[tokio::test(flavor = "multi_thread")]
async fn to_reqwest_proxy_carries_reqwest_through_the_gateway() {
    let s = MockServer::start().await;
    let echo = Echo::start().await;
    let svc = bought(&s, ServiceType::Ipv4Rotating).await;
    let client = s.client();
    let list = client
        .proxies(&svc.service_id, &opx::types::ProxyQuery::new())
        .await
        .unwrap();
    let endpoint = list.first().unwrap().clone();
    let get = |proxy: reqwest::Proxy| {
        let target = echo.url("/rq");
        async move {
            let http = reqwest::Client::builder().proxy(proxy).build().unwrap();
            http.get(target).send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(get(endpoint.to_reqwest_proxy().unwrap()).await, 200);
    client
        .regenerate_credentials(&svc.service_id)
        .await
        .unwrap();
    assert_eq!(get(endpoint.to_reqwest_proxy().unwrap()).await, 407);
}
