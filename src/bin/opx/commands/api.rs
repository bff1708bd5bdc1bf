//! `opx api METHOD PATH [--data JSON]`: one authenticated request to any path under the base
//! URL, the response body printed as it came.
//!
//! The request is sent exactly once (no retry, no connection reuse, no redirect followed), the
//! `Authorization` header is marked sensitive, and the body read is capped like the library's.
//! `POST /purchase`, `/services/{id}/extend` and `/services/{id}/credentials` spend money or
//! invalidate credentials: they ask first, as `opx purchase` does, unless `--yes`.

use std::time::Duration;

use http::{HeaderValue, Method};
use opx::Operation;

use crate::config::{Settings, Token};
use crate::confirm;
use crate::failure::Failure;
use crate::output;

/// Arguments of `opx api`.
#[derive(Debug, clap::Args)]
#[command(after_help = r#"Examples:
  # Any read, printed as the API returns it
  opx api GET /account
  # A query string (quote it for the shell)
  opx api GET '/services?status=all&limit=5'
  # A request with a body
  opx api PUT /services/65aa1100b2c3d4e5f6a7b8d0/rotation --data '{"rotation": "instant"}'"#)]
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
    #[arg(short = 'y', long)]
    yes: bool,
    /// Send a money POST even while one of the same kind has an unknown outcome, or when its
    /// body names nothing the journal can check later (it is then sent unrecorded).
    #[arg(long)]
    pub force: bool,
}

/// What a request the spec marks as not idempotent (purchase, extension, new credentials)
/// does, for the confirmation; `None` for any other request.
fn consequence(method: &Method, path: &str) -> Option<&'static str> {
    if *method != Method::POST {
        return None;
    }
    let operation = operation_at(method, path)?;
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

/// The spec's operation at `method` and `path` (relative to the base URL), if any.
fn operation_at(method: &Method, path: &str) -> Option<Operation> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    // `%xx` decoded, so `/%70urchase` is recognised as `/purchase` (one decoder: the spec
    // tools'); a path that does not decode to UTF-8 is taken as written.
    let decoded = opx_codegen::refs::percent_decode(path)
        .unwrap_or_else(|| path.to_owned())
        .to_ascii_lowercase();
    let segments: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
    operation_of(method, &segments)
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
    deadline: Duration,
    proxy: &crate::proxy::ProxyUse,
) -> Result<reqwest::RequestBuilder, Failure> {
    let http = proxy
        .apply_reqwest(reqwest::Client::builder())?
        .connect_timeout(Duration::from_secs(10).min(deadline))
        .timeout(deadline)
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

/// What came back, as far as it was read: the status and the body (cut at the cap or where the
/// connection broke; `complete` says whether it is whole).
struct Read {
    status: http::StatusCode,
    body: Vec<u8>,
    complete: bool,
    why: Option<String>,
}

/// The body, capped like the library's; a cut-off or oversized body is kept as far as read.
async fn read(mut response: reqwest::Response) -> Read {
    let status = response.status();
    let mut body = Vec::new();
    let cut = |body, why| Read {
        status,
        body,
        complete: false,
        why: Some(why),
    };
    loop {
        match response.chunk().await {
            Ok(Some(chunk))
                if body.len() + chunk.len() > opx::ClientBuilder::DEFAULT_MAX_RESPONSE_BYTES =>
            {
                let why = format!(
                    "the response (HTTP {}) is larger than {} bytes; not printed",
                    status.as_u16(),
                    opx::ClientBuilder::DEFAULT_MAX_RESPONSE_BYTES
                );
                return cut(Vec::new(), why);
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => {
                return Read {
                    status,
                    body,
                    complete: true,
                    why: None,
                };
            }
            Err(e) => {
                let why = format!(
                    "the response (HTTP {}) was cut off: {}",
                    status.as_u16(),
                    e.without_url()
                );
                return cut(body, why);
            }
        }
    }
}

/// The exit of a money call (`spends`) by what its answer proves (the library's one
/// classifier, [`opx::safe::Charge::of`]), or of any other request by its status.
fn verdict(read: &Read, retry_after: Option<u64>, money: Option<Unsure>) -> Result<(), Failure> {
    let status = read.status.as_u16();
    let charge = opx::safe::Charge::of(&opx::safe::Answer::Status(read.status, &read.body));
    let why = read
        .why
        .as_ref()
        .map(|w| format!(" ({w})"))
        .unwrap_or_default();
    if let (Some(unsure), opx::safe::Charge::Unknown) = (money, charge) {
        return Err(unsure.failure(&format!("HTTP {status}{why}")));
    }
    let spends = money.is_some();
    if (200..300).contains(&status) {
        if spends && !read.complete {
            eprintln!(
                "note: HTTP {status}{why}; the server accepted it: it was done, do not send it again"
            );
            return Ok(());
        }
        return match &read.why {
            Some(w) => Err(Failure::Other(w.clone())),
            None => Ok(()),
        };
    }
    let mut message = format!("HTTP {status}");
    let envelope = envelope(&read.body);
    match &envelope {
        Some((code, text)) => message.push_str(&format!(": {code}: {text}")),
        None => message.push_str(&why),
    }
    if status == 407
        && envelope.is_none()
        && let Some(proxy) = crate::proxy::in_use()
    {
        return Err(Failure::Exit(
            1,
            format!(
                "{proxy} refused the request: 407 Proxy Authentication Required (the API was \
                 not reached; give the proxy's credentials in its URL, or go direct with \
                 --no-proxy or NO_PROXY)"
            ),
        ));
    }
    // Only what proves the request was not processed gets here for a money call (an
    // unknown answer returned above): a 4xx with the API's envelope, or a 429.
    if spends && charge == opx::safe::Charge::NotDone {
        message.push_str("; nothing was charged or changed");
    }
    if status == 429 {
        match retry_after {
            Some(s) => message.push_str(&format!(
                "; retry after {}",
                crate::failure::whole_seconds(std::time::Duration::from_secs(s))
            )),
            None => message.push_str("; retry later"),
        }
        return Err(Failure::Exit(4, message));
    }
    Err(Failure::Exit(3, message))
}

/// What an unknown outcome of a money call is told with: what it is, and whether the journal
/// keeps it.
#[derive(Debug, Clone, Copy)]
struct Unsure {
    op: Operation,
    journaled: bool,
}

impl Unsure {
    /// Exit 5: the money call may have been processed.
    fn failure(self, what: &str) -> Failure {
        let again = match self.op {
            Operation::RegenerateCredentials => "sending it again replaces them again",
            _ if self.journaled => crate::failure::CHARGE_TWICE,
            _ => "sending it again now may charge twice",
        };
        let happened = format!("{what}; the request may have taken effect");
        Failure::unknown(&happened, self.journaled, Some(again))
    }
}

/// The journal's record of a money call about to be sent, and its price, read from the
/// account like the library's: the services before a purchase, the expiry before an
/// extension, the login before new credentials. `None` when the request does not name what the
/// journal needs (a body that is not a purchase request, a path without a service id).
async fn intent(
    client: &opx::Client,
    op: Operation,
    relative: &str,
    body: Option<&str>,
) -> Result<Option<(opx::safe::MoneyCall, Option<i64>)>, Failure> {
    use opx::safe::MoneyCall;
    let service = relative
        .split(['/', '?'])
        .find_map(|seg| opx::types::ServiceId::new(seg).ok());
    Ok(match (op, service) {
        (Operation::Purchase, _) => {
            let parsed =
                body.and_then(|b| serde_json::from_str::<opx::types::PurchaseRequest>(b).ok());
            let Some(req) = parsed else { return Ok(None) };
            let price = price(client, req.service_type(), Some(req.plan_id())).await;
            let call = client.purchase_snapshot(&req).await?.to_call(&req);
            Some((call, price))
        }
        (Operation::ExtendService, Some(service_id)) => {
            let s = client.service(&service_id).await?.into_inner();
            let price = price(client, &s.service_type, s.plan_id.as_ref()).await;
            let call = MoneyCall::Extend {
                service_id,
                expires_before: s.expires_at,
            };
            Some((call, price))
        }
        (Operation::RegenerateCredentials, Some(service_id)) => {
            let s = client.service(&service_id).await?.into_inner();
            let login_before = s.auth.login.clone();
            Some((
                MoneyCall::Credentials {
                    service_id,
                    login_before,
                },
                None,
            ))
        }
        _ => None,
    })
}

/// The catalog price of `plan`, when the catalog lists it with a price.
async fn price(
    client: &opx::Client,
    t: &opx::types::ServiceType,
    plan: Option<&opx::types::PlanId>,
) -> Option<i64> {
    let plans = client.plans(Some(t.clone())).await.ok()?.into_inner().plans;
    let plan = plans.into_iter().find(|p| Some(&p.plan_id) == plan)?;
    (plan.price >= 0).then_some(plan.price)
}

/// Writes the money call `op` at `relative` down in the client's journal before it is sent,
/// checked against the spend cap and the unknown calls of the same kind. A call the journal
/// cannot record is refused unless `force`.
async fn record(
    client: &opx::Client,
    op: Operation,
    relative: &str,
    body: Option<&str>,
    force: bool,
) -> Result<Option<u64>, Failure> {
    let Some(journal) = client.journal() else {
        return Ok(None);
    };
    match intent(client, op, relative, body).await? {
        Some((call, price)) => {
            let now = client.server_now();
            Ok(Some(journal.begin(call, price, now, client.spend_cap())?))
        }
        None if force => {
            eprintln!("note: sent unrecorded (--force): the journal will not know this call");
            Ok(None)
        }
        None => Err(Failure::Usage(format!(
            "{op} at {relative}: the request names nothing the journal of money calls can check \
             later (a purchase body that is not {{\"type\", \"plan_id\", ...}} as the docs \
             describe, or no service id in the path), so a lost answer could not be resolved; \
             use `opx purchase` / `opx extend`, or send it unrecorded with --force"
        ))),
    }
}

/// Runs `opx api`; the request has `deadline` (`--timeout`, default 60 s) in all. With `json`
/// (`--json`), an answer in the API's envelope prints its `data`, as every command does.
pub async fn run(
    args: ApiArgs,
    settings: Settings,
    deadline: Option<Duration>,
    json: bool,
    proxy: crate::proxy::ProxyUse,
) -> Result<(), Failure> {
    let deadline = deadline.unwrap_or(opx::ClientBuilder::DEFAULT_DEADLINE);
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
    let money_op = spends.and(operation_at(&method, &relative));
    let entry = match money_op {
        Some(op) => record(&client, op, &relative, body.as_deref(), args.force).await?,
        None => None,
    };
    let unsure = money_op.map(|op| Unsure {
        op,
        journaled: entry.is_some(),
    });
    let settle = |charge: opx::safe::Charge| {
        if let (Some(id), Some(journal)) = (entry, client.journal()) {
            journal.settle(id, charge, None, client.server_now());
        }
    };
    let sending = request(&method, &url, &token, body, deadline, &proxy)?.send();
    let sent = match unsure {
        Some(_) => crate::interrupt::guarded("request", sending).await?,
        None => sending.await,
    };
    let response = match sent {
        Ok(r) => r,
        Err(e) if e.is_connect() || e.is_builder() => {
            settle(opx::safe::Charge::NotDone);
            return Err(Failure::Other(format!(
                "could not send {method} {} to {}: {}",
                url.path(),
                url.host_str().unwrap_or("?"),
                crate::failure::chain(&e.without_url())
            )));
        }
        Err(e) if let Some(unsure) = unsure => {
            return Err(unsure.failure(&crate::failure::chain(&e.without_url())));
        }
        Err(e) => return Err(Failure::Other(crate::failure::chain(&e.without_url()))),
    };
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut read = read(response).await;
    settle(opx::safe::Charge::of(&opx::safe::Answer::Status(
        read.status,
        &read.body,
    )));
    read.body = redact_token(&read.body, token.expose());
    match output::raw_data(&read.body) {
        Ok(_) if json => output::print_data(&read.body)?,
        _ => print_body(&read.body)?,
    }
    verdict(&read, retry_after, unsure)
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
    output::print_bytes(bytes)?;
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    output::print("\n")
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

    fn read(status: u16, body: &[u8], complete: bool) -> Read {
        Read {
            status: http::StatusCode::from_u16(status).unwrap(),
            body: body.to_vec(),
            complete,
            why: (!complete).then(|| "over the cap".to_owned()),
        }
    }

    /// A money call's exit follows what its answer proves: a 2xx, even over the cap, is done
    /// (0); a 5xx or a page without the envelope is unknown (5); only the envelope on a 4xx or
    /// a 429 is "nothing was charged" (3, 4).
    #[test]
    fn money_calls_exit_by_what_the_answer_proves() {
        let envelope = br#"{"status":"error","error":{"code":"server_error","message":"x"}}"#;
        let code = |r: Result<(), Failure>| r.map_or_else(|f| f.exit_code(), |()| 0);
        let money = Some(Unsure {
            op: Operation::Purchase,
            journaled: true,
        });
        assert_eq!(code(verdict(&read(200, b"", false), None, money)), 0);
        assert_eq!(code(verdict(&read(200, b"", false), None, None)), 1);
        assert_eq!(code(verdict(&read(500, envelope, true), None, money)), 5);
        assert_eq!(code(verdict(&read(500, envelope, true), None, None)), 3);
        assert_eq!(code(verdict(&read(502, b"<html>", true), None, money)), 5);
        assert_eq!(code(verdict(&read(403, b"<html>", true), None, money)), 5);
        let refused =
            br#"{"status":"error","error":{"code":"insufficient_balance","message":"x"}}"#;
        let e = verdict(&read(402, refused, true), None, money).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("nothing was charged"), "{e}");
        assert_eq!(code(verdict(&read(429, b"", true), Some(3), money)), 4);
        let unrecorded = Unsure {
            op: Operation::RegenerateCredentials,
            journaled: false,
        };
        let told = unrecorded.failure("timed out").to_string();
        assert!(
            told.contains("unrecorded") && !told.contains("opx pending"),
            "{told}"
        );
        assert!(
            told.contains("replaces them again") && !told.contains("charge"),
            "{told}"
        );
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
