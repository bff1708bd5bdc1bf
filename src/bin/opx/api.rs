//! `opx api METHOD PATH [--data JSON]`: one authenticated request to any path under the base
//! URL, the response body printed as it came.
//!
//! The request is sent exactly once (no retry, no connection reuse, no redirect followed), the
//! `Authorization` header is marked sensitive, and the body read is capped like the library's.
//! `POST /purchase`, `/services/{id}/extend` and `/services/{id}/credentials` spend money or
//! invalidate credentials: they ask first, as `opx purchase` does, unless `--yes`.

use std::{io::Write, time::Duration};

use http::{HeaderValue, Method};
use opx::Operation;

use crate::config::{Settings, Token};
use crate::confirm;
use crate::failure::Failure;
use crate::output;

/// Arguments of `opx api`.
#[derive(Debug, clap::Args)]
pub struct ApiArgs {
    /// HTTP method: GET, POST, PUT, PATCH or DELETE.
    method: String,
    /// Path relative to the base URL, with an optional query: /account,
    /// "/services?status=all&limit=5".
    path: String,
    /// A JSON request body (sent as application/json; not with GET).
    #[arg(long, value_name = "JSON")]
    data: Option<String>,
    /// Do not ask for confirmation of a POST that spends money or replaces credentials.
    #[arg(long)]
    yes: bool,
}

/// What a request the spec marks as not idempotent (purchase, extension, new credentials)
/// does, for the confirmation; `None` for any other request.
fn consequence(method: &Method, path: &str) -> Option<&'static str> {
    if *method != Method::POST {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    // `%xx` decoded, so `/%70urchase` is recognised as `/purchase` (one decoder: the spec
    // tools'); a path that does not decode to UTF-8 is taken as written.
    let decoded = opx_codegen::refs::percent_decode(path)
        .unwrap_or_else(|| path.to_owned())
        .to_ascii_lowercase();
    let segments: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
    let operation = operation_of(method, &segments)?;
    if operation.is_idempotent() {
        return None;
    }
    Some(match operation {
        Operation::Purchase => "buys a new service and charges its price to the balance",
        Operation::ExtendService => "extends the service and charges the plan price",
        Operation::RegenerateCredentials => {
            "replaces the proxy login and password; the old ones stop working at once"
        }
        _ => "is not idempotent: it is sent once, and its effect may not be undone",
    })
}

/// The spec's operation for a method and a path's segments (a `{param}` of the template
/// matches any one segment; letters compared without case).
fn operation_of(method: &Method, segments: &[&str]) -> Option<Operation> {
    Operation::ALL.into_iter().find(|op| {
        let template: Vec<&str> = op.path().split('/').filter(|s| !s.is_empty()).collect();
        op.method() == *method
            && template.len() == segments.len()
            && template
                .iter()
                .zip(segments)
                .all(|(t, s)| t.starts_with('{') || t.eq_ignore_ascii_case(s))
    })
}

/// The full URL of `path` under `base`, and its path relative to the base URL's; refuses
/// anything that would leave the base URL (an absolute URL, `..` above it), so the token only
/// ever goes where the other commands send it.
fn target(base: &str, path: &str) -> Result<(url::Url, String), Failure> {
    if path.contains("://") || path.starts_with("//") {
        return Err(Failure::Usage(format!(
            "PATH is relative to the base URL ({base}), e.g. /account: not a URL"
        )));
    }
    let base_url = url::Url::parse(&format!("{base}/"))
        .map_err(|e| Failure::Usage(format!("bad base URL {base}: {e}")))?;
    let url = url::Url::parse(&format!("{base}/{}", path.trim_start_matches('/')))
        .map_err(|e| Failure::Usage(format!("bad PATH {path:?}: {e}")))?;
    let inside = url.scheme() == base_url.scheme()
        && url.host() == base_url.host()
        && url.port_or_known_default() == base_url.port_or_known_default()
        && url.path().starts_with(base_url.path());
    if !inside || url.fragment().is_some() {
        return Err(Failure::Usage(format!(
            "PATH {path:?} leaves the base URL {base} (or has a #fragment)"
        )));
    }
    let relative = format!("/{}", &url.path()[base_url.path().len()..]);
    Ok((url, relative))
}

/// The methods `opx api` sends.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

fn method_of(text: &str) -> Result<Method, Failure> {
    Method::from_bytes(text.to_ascii_uppercase().as_bytes())
        .ok()
        .filter(|m| METHODS.contains(m))
        .ok_or_else(|| {
            Failure::Usage(format!(
                "unsupported method {:?}: use GET, POST, PUT, PATCH or DELETE",
                output::printable(text)
            ))
        })
}

/// The `--data` body, checked to be JSON, and never with GET.
fn body_of(method: &Method, data: Option<&str>) -> Result<Option<String>, Failure> {
    match data {
        None => Ok(None),
        Some(_) if *method == Method::GET => Err(Failure::Usage(
            "--data is not sent with GET: put parameters in the PATH's query".into(),
        )),
        Some(d) => {
            serde_json::from_str::<serde_json::Value>(d)
                .map_err(|e| Failure::Usage(format!("--data is not valid JSON: {e}")))?;
            Ok(Some(d.to_owned()))
        }
    }
}

/// Asks before a request that spends money or replaces credentials (price context: the
/// balance), unless `--yes`.
async fn confirm_spending(
    client: &opx::Client,
    method: &Method,
    url: &url::Url,
    what: &str,
) -> Result<(), Failure> {
    let question = "Send this request?";
    confirm::require_terminal(question)?;
    let balance = client.account().await?.balance;
    let details = format!(
        "{method} {}: this {what}\nbalance {}\n",
        url.path(),
        output::rub(balance)
    );
    confirm::ask(&details, question)
}

/// The request, sent once: no pool, no retry, no redirect followed.
fn request(
    method: &Method,
    url: &url::Url,
    token: &Token,
    body: Option<String>,
) -> Result<reqwest::RequestBuilder, Failure> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .retry(reqwest::retry::never())
        .user_agent(concat!("opx-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::Other(format!("could not build the HTTP client: {e}")))?;
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| Failure::Usage("the API token is not a valid header value".into()))?;
    auth.set_sensitive(true);
    let mut request = http
        .request(method.clone(), url.clone())
        .header(http::header::AUTHORIZATION, auth)
        .header(http::header::ACCEPT, "application/json, text/plain")
        .header("api-version", api_version());
    if let Some(b) = body {
        request = request
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(b);
    }
    Ok(request)
}

/// How a failure after sending is told: for a money or credentials POST, the outcome is
/// unknown (exit 5).
struct Sent {
    spends: bool,
}

impl Sent {
    fn unknown(&self, what: String) -> Failure {
        if self.spends {
            Failure::Exit(
                5,
                format!(
                    "outcome unknown: {what}. The request may have taken effect: check with \
                     `opx services` (or `opx service ID`) before trying again"
                ),
            )
        } else {
            Failure::Other(what)
        }
    }

    /// The body, capped like the library's.
    async fn read(&self, mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > opx::DEFAULT_MAX_RESPONSE_BYTES {
                        return Err(Failure::Other(format!(
                            "the response (HTTP {status}) is larger than {} bytes; not printed",
                            opx::DEFAULT_MAX_RESPONSE_BYTES
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(bytes),
                Err(e) if (200..300).contains(&status) => {
                    let e = e.without_url();
                    return Err(
                        self.unknown(format!("the response (HTTP {status}) was cut off: {e}"))
                    );
                }
                Err(e) => {
                    return Err(Failure::Other(format!(
                        "the error response (HTTP {status}) was cut off: {}",
                        e.without_url()
                    )));
                }
            }
        }
    }
}

/// Exit 0 on a 2xx; else the status and the envelope's code and message (exit 3, or 4 with the
/// delay on a 429).
fn verdict(status: u16, retry_after: Option<u64>, bytes: &[u8]) -> Result<(), Failure> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let mut message = format!("HTTP {status}");
    if let Some((code, text)) = envelope(bytes) {
        message.push_str(&format!(": {code}: {text}"));
    }
    if status == 429 {
        match retry_after {
            Some(s) => message.push_str(&format!("; retry after {} s", s.max(1))),
            None => message.push_str("; retry later"),
        }
        return Err(Failure::Exit(4, message));
    }
    Err(Failure::Exit(3, message))
}

/// Runs `opx api`.
pub async fn run(args: ApiArgs, settings: Settings) -> Result<(), Failure> {
    let method = method_of(&args.method)?;
    let body = body_of(&method, args.data.as_deref())?;
    let (client, token) = settings.connect()?;
    let (url, relative) = target(client.base_url(), &args.path)?;
    let spends = consequence(&method, &relative);
    if let Some(what) = spends
        && !args.yes
    {
        confirm_spending(&client, &method, &url, what).await?;
    }
    let sent = Sent {
        spends: spends.is_some(),
    };
    let response = match request(&method, &url, &token, body)?.send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() || e.is_builder() => {
            return Err(Failure::Other(format!(
                "could not send {method} {}: {}",
                url.path(),
                e.without_url()
            )));
        }
        Err(e) => return Err(sent.unknown(format!("{e}", e = e.without_url()))),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let shown = redact_token(&sent.read(response).await?, token.expose());
    print_body(&shown)?;
    verdict(status, retry_after, &shown)
}

/// The body with the API token cut out, should the server echo it.
fn redact_token(body: &[u8], token: &str) -> Vec<u8> {
    if token.is_empty() || body.len() < token.len() {
        return body.to_vec();
    }
    let (needle, mut out, mut rest) = (token.as_bytes(), Vec::with_capacity(body.len()), body);
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"<redacted>");
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The body exactly as received, then a newline if it has none.
fn print_body(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let mut write = || -> std::io::Result<()> {
        out.write_all(bytes)?;
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    match write() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Failure::from),
    }
}

/// `code` and `message` of an error envelope, made safe for a terminal and bounded.
fn envelope(body: &[u8]) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error")?;
    let clip = |s: &str, n: usize| output::printable(&s.chars().take(n).collect::<String>());
    Some((
        clip(e.get("code")?.as_str()?, 64),
        clip(e.get("message").and_then(|m| m.as_str()).unwrap_or(""), 512),
    ))
}

/// The spec's `info.version`, sent as `api-version` like every request of the library.
fn api_version() -> String {
    serde_json::from_str::<serde_json::Value>(opx::spec::OPENAPI_JSON)
        .ok()
        .and_then(|v| v["info"]["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "1.0.0".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_posts_are_recognised_however_written() {
        for p in [
            "/api/v1/purchase",
            "/api/v1/purchase/",
            "/api/v1//services/65aa1100b2c3d4e5f6a7b8d0/extend",
            "/api/v1/services/x/CREDENTIALS",
            "/api/v1/%70urchase",
            "/api/v1/purchase?x=1",
        ] {
            let rel = p.trim_start_matches("/api/v1");
            assert!(consequence(&Method::POST, rel).is_some(), "{p}");
        }
        assert!(consequence(&Method::GET, "/purchase").is_none());
        assert!(consequence(&Method::POST, "/services/x/whitelist").is_none());
        assert!(consequence(&Method::POST, "/purchases").is_none());
    }

    #[test]
    fn an_echoed_token_is_cut_out_of_the_printed_body() {
        let body = br#"{"error":{"message":"key opx_live_abc is revoked; opx_live_abc"}}"#;
        let shown = redact_token(body, "opx_live_abc");
        assert_eq!(
            String::from_utf8(shown).unwrap(),
            r#"{"error":{"message":"key <redacted> is revoked; <redacted>"}}"#
        );
        assert_eq!(redact_token(b"short", "opx_live_abc"), b"short");
    }

    #[test]
    fn paths_stay_under_the_base_url() {
        let base = "https://op-proxy.com/api/v1";
        let (url, relative) = target(base, "/account").unwrap();
        assert_eq!(url.as_str(), "https://op-proxy.com/api/v1/account");
        assert_eq!(relative, "/account");
        let (url, relative) = target(base, "services/x/extend?status=all").unwrap();
        assert_eq!(
            url.as_str(),
            "https://op-proxy.com/api/v1/services/x/extend?status=all"
        );
        assert_eq!(relative, "/services/x/extend");
        for bad in [
            "https://evil.example/x",
            "//evil.example/x",
            "/../../x",
            "/%2e%2e/%2e%2e/x",
            "/account#f",
        ] {
            assert!(target(base, bad).is_err(), "{bad}");
        }
    }
}
