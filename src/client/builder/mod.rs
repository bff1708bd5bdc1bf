//! [`ClientBuilder`]: token, base URL, timeouts, user agent, retry policy, HTTP clients.

use std::{ffi::OsString, fmt, net::IpAddr, sync::Arc, time::Duration};

use crate::client::Client;
use crate::client::money::{cap::SpendCap, journal::Journal, policy::ReconcilePolicy};
use crate::clock::{Clock, SharedClock};
use crate::error::{Error, Result};
use crate::ratelimit::RateLimitPolicy;
use crate::retry::{Jitter, RetryPolicy};
use crate::setters::setters;
use crate::transport::Transport;
use crate::transport::clients::HttpClients;
use crate::transport::config::TransportConfig;
use crate::types::check_token;

/// Environment variable holding the API token.
const TOKEN_ENV: &str = "OPX_TOKEN";
/// Environment variable overriding the base URL.
const BASE_URL_ENV: &str = "OPX_BASE_URL";
/// Default deadline of one call, attempts and backoff together: 60 s.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);
/// Default response size cap: 16 MiB.
const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Builds a [`Client`]. Every setter is optional except the token.
///
/// ```
/// use std::time::Duration;
/// use opx::{Client, RetryPolicy};
///
/// let client = Client::builder()
///     .token("opx_live_0123456789abcdef0123456789abcdef")
///     .base_url("https://op-proxy.com/api/v1")
///     .connect_timeout(Duration::from_secs(5))
///     .timeout(Duration::from_secs(20))
///     .user_agent("my-app/1.0")
///     .retry_policy(RetryPolicy::default().max_attempts(4))
///     .build()?;
/// assert!(!format!("{client:?}").contains("0123456789abcdef"));
/// # Ok::<(), opx::Error>(())
/// ```
pub struct ClientBuilder {
    token: Option<String>,
    base_url: Option<String>,
    connect_timeout: Duration,
    timeout: Option<Duration>,
    deadline: Option<Duration>,
    user_agent: Option<String>,
    retry: RetryPolicy,
    money: crate::client::money::settings::MoneySettings,
    http: Option<reqwest::Client>,
    once_http: Option<reqwest::Client>,
    max_body: usize,
    proxy: crate::transport::ProxySetting,
    jitter_seed: Option<u64>,
    /// Set in `ratelimit::policy` (with the other rate-limit settings).
    pub(crate) rate_limit_policy: crate::ratelimit::RateLimitPolicy,
    /// Set in `ratelimit::policy`; `None`: the system clock.
    pub(crate) clock: Option<crate::clock::SharedClock>,
    /// Told before each wait of a paced call (see [`on_pacing_wait`](Self::on_pacing_wait)).
    on_wait: Option<crate::transport::config::WaitHook>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("retry", &self.retry)
            .field("max_body", &self.max_body)
            .field("rate_limit_policy", &self.rate_limit_policy)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            token: None,
            base_url: None,
            connect_timeout: Duration::from_secs(10),
            timeout: None,
            deadline: Some(DEFAULT_DEADLINE),
            user_agent: None,
            retry: RetryPolicy::default(),
            money: Default::default(),
            http: None,
            once_http: None,
            max_body: DEFAULT_MAX_RESPONSE_BYTES,
            proxy: crate::transport::ProxySetting::Environment,
            jitter_seed: None,
            rate_limit_policy: Default::default(),
            clock: None,
            on_wait: None,
        }
    }
}

impl ClientBuilder {
    /// Environment variable holding the API token (`OPX_TOKEN`), read by [`Client::from_env`].
    pub const TOKEN_ENV: &'static str = TOKEN_ENV;
    /// Environment variable overriding the base URL (`OPX_BASE_URL`).
    pub const BASE_URL_ENV: &'static str = BASE_URL_ENV;
    /// Default deadline of one call, attempts and backoff together: 60 s.
    pub const DEFAULT_DEADLINE: Duration = DEFAULT_DEADLINE;
    /// Default response size cap: 16 MiB.
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = DEFAULT_MAX_RESPONSE_BYTES;
}

impl ClientBuilder {
    /// A builder with the defaults: production base URL, 10 s connect timeout, 60 s per call
    /// ([`ClientBuilder::DEFAULT_DEADLINE`]; an attempt of a retried call at most half of it, a money call
    /// all of it), [`RetryPolicy::default`], 16 MiB response cap,
    /// [`RateLimitPolicy::Surface`] (an exhausted window refused locally).
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder preset from the environment: `OPX_TOKEN` (required) and `OPX_BASE_URL`
    /// (optional).
    pub fn from_env() -> Result<Self> {
        Self::from_env_with(|name| std::env::var_os(name))
    }

    pub(crate) fn from_env_with(var: impl Fn(&str) -> Option<OsString>) -> Result<Self> {
        let token = match var(TOKEN_ENV) {
            None => {
                return Err(Error::config(format!(
                    "{TOKEN_ENV} is not set: export your API key as {TOKEN_ENV}"
                )));
            }
            Some(t) => t
                .into_string()
                .map_err(|_| Error::config(format!("{TOKEN_ENV} is not valid UTF-8")))?,
        };
        if token.trim().is_empty() {
            return Err(Error::config(format!("{TOKEN_ENV} is set but empty")));
        }
        let mut b = Self::new().token(token);
        if let Some(url) = var(BASE_URL_ENV) {
            let url = url
                .into_string()
                .map_err(|_| Error::config(format!("{BASE_URL_ENV} is not valid UTF-8")))?;
            if !url.trim().is_empty() {
                b = b.base_url(url.trim());
            }
        }
        Ok(b)
    }

    setters! {
        /// What to do when a rate-limit window is exhausted (default
        /// [`RateLimitPolicy::Surface`]).
        pub fn rate_limit_policy(policy: RateLimitPolicy) => rate_limit_policy = policy;

        /// The clock of the rate-limit gate and pacing, the backoff and reconciliation sleeps and
        /// the call deadline (default [`SystemClock`](crate::clock::SystemClock)); see
        /// [`clock`](crate::clock). Request timeouts of the HTTP client stay on the system clock.
        pub fn clock(clock: impl Clock) => clock = Some(Arc::new(clock));

        /// [`clock`](Self::clock), shared with something else (the mock's).
        pub fn shared_clock(clock: SharedClock) => clock = Some(clock);

        /// The API token (`opx_live_...`). A secret: it never appears in `Debug`, errors or traces.
        pub fn token(token: impl Into<String>) => token = Some(token.into());
        /// The base URL (default [`DEFAULT_BASE_URL`](crate::spec::DEFAULT_BASE_URL)). Must be
        /// `https`, except on a loopback host.
        pub fn base_url(url: impl Into<String>) => base_url = Some(url.into());
        /// Send every call through this proxy (`http://`, `https://`, or `socks5://` with the
        /// `socks` feature; with its
        /// credentials in the URL if it needs them), instead of the one the environment names
        /// (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, read as curl does: the
        /// default). Ignored with [`reqwest_client`](Self::reqwest_client).
        pub fn proxy(url: impl Into<String>) => proxy = crate::transport::ProxySetting::Url(url.into());
        /// Connect timeout (default 10 s; ignored with [`reqwest_client`](Self::reqwest_client)).
        pub fn connect_timeout(d: impl Into<Duration>) => connect_timeout = d.into();
        /// Timeout of one attempt, body included (default: derived from the
        /// [`deadline`](Self::deadline): half of it for a call that may be retried, all of it for
        /// a purchase, extension or credentials change, which are sent once).
        pub fn timeout(d: impl Into<Duration>) => timeout = Some(d.into());
        /// Deadline of one call: every attempt and the backoff between them (default
        /// [`ClientBuilder::DEFAULT_DEADLINE`]). No retry starts that cannot finish before it, and an attempt
        /// running when it passes is cut off: for a purchase, extension or credentials change that
        /// is an outcome-unknown error (see [`Client::purchase_safely`](crate::Client::purchase_safely)).
        pub fn deadline(d: impl Into<Duration>) => deadline = Some(d.into());
        /// The `User-Agent` header (default `opx/<version>`; with
        /// [`reqwest_client`](Self::reqwest_client), that client's own unless set here).
        pub fn user_agent(ua: impl Into<String>) => user_agent = Some(ua.into());
        /// Retry policy of idempotent calls (default [`RetryPolicy::default`]).
        pub fn retry_policy(policy: impl Into<RetryPolicy>) => retry = policy.into();
        /// How `purchase_safely` and `extend_safely` watch the account after a lost answer
        /// (default [`ReconcilePolicy::default`](crate::safe::ReconcilePolicy::default)).
        pub fn reconcile_policy(policy: ReconcilePolicy) => money.reconcile = policy;
        /// Write every safe purchase and extension down in `journal` before sending it, so that an
        /// unknown outcome outlives the process (see [`Journal`](crate::safe::Journal)). Off by
        /// default.
        pub fn journal(journal: Journal) => money.journal = Some(journal);
        /// Refuse a safe purchase or extension that would take the day's or the month's spending
        /// over `cap` (counted from the [`journal`](Self::journal), which it needs).
        pub fn spend_cap(cap: SpendCap) => money.cap = Some(cap);
        /// Largest response body accepted (default 16 MiB); larger bodies fail with
        /// [`ErrorKind::BodyTooLarge`](crate::ErrorKind::BodyTooLarge).
        pub fn max_response_bytes(n: usize) => max_body = n;
        /// Use this `reqwest::Client` for every call: its proxy, root certificates, local address,
        /// timeouts and TLS settings apply to all requests, `POST /purchase`, `/extend` and
        /// `/credentials` included (the per-attempt [`timeout`](Self::timeout) and the
        /// [`deadline`](Self::deadline) are still set per request).
        ///
        /// Build it with `.redirect(reqwest::redirect::Policy::none())`: a redirect followed on a
        /// money call may send it twice (307, 308) or as a GET (302, 303), so such a call's answer
        /// is reported as an unknown outcome whatever it says.
        ///
        /// The money calls are never retried by this crate. reqwest's own retry policy (on by
        /// default for requests the server refused unprocessed, such as an HTTP/2 `REFUSED_STREAM`)
        /// cannot send a request twice that the server processed; do not give the client a policy
        /// that retries anything else. To keep the money calls on a separate client, see
        /// [`non_idempotent_reqwest_client`](Self::non_idempotent_reqwest_client).
        pub fn reqwest_client(client: reqwest::Client) => http = Some(client);
        /// Use this `reqwest::Client` for the calls that are not idempotent only (default: the
        /// [`reqwest_client`](Self::reqwest_client) if one was given, else one built here with no
        /// connection reuse and no transparent retries). You take responsibility for it never
        /// re-sending a request: build it with `.pool_max_idle_per_host(0)` and
        /// `.retry(reqwest::retry::never())`.
        pub fn non_idempotent_reqwest_client(client: reqwest::Client) => once_http = Some(client);
        /// Seed the backoff jitter (reproducible delays in tests).
        #[cfg(feature = "unstable-test-hooks")]
        #[doc(hidden)]
        pub fn jitter_seed(seed: u64) => jitter_seed = Some(seed);
    }

    /// Connect directly, whatever proxy the environment names. Ignored with
    /// [`reqwest_client`](Self::reqwest_client).
    pub fn no_proxy(mut self) -> Self {
        self.proxy = crate::transport::ProxySetting::Direct;
        self
    }

    /// Called before a paced call waits for a rate-limit window (the [`RateLimitPolicy::Pace`]
    /// policy, or a bulk call), with the bucket it waits for and the wait on the client's
    /// clock: once per wait, however many concurrent calls wait for the same moment. The call
    /// is not sent before the wait is over (dropping its future stops it, nothing sent). A
    /// command-line tool says what it waits for with it:
    ///
    /// ```
    /// use opx::Client;
    /// let client = Client::builder()
    ///     .token("opx_live_0123456789abcdef0123456789abcdef")
    ///     .on_pacing_wait(|bucket, wait| {
    ///         eprintln!("waiting {} for the {bucket} rate-limit window", opx::clock::human(wait))
    ///     })
    ///     .build()?;
    /// # Ok::<(), opx::Error>(())
    /// ```
    pub fn on_pacing_wait(
        mut self,
        notify: impl Fn(crate::operation::Bucket, Duration) + Send + Sync + 'static,
    ) -> Self {
        self.on_wait = Some(Arc::new(notify));
        self
    }

    /// Checks everything and builds the client.
    ///
    /// Fails with [`ErrorKind::Config`](crate::ErrorKind::Config) on a missing or malformed
    /// token, a bad base URL, or, when the crate is built without its `rustls` feature
    /// (`default-features = false`), an `https` base URL (the default one included): such a
    /// build has no TLS, so it is refused here rather than on the first request. Passing both
    /// [`reqwest_client`](Self::reqwest_client) and
    /// [`non_idempotent_reqwest_client`](Self::non_idempotent_reqwest_client), built with a TLS
    /// backend of your own, lifts that refusal.
    pub fn build(self) -> Result<Client> {
        let token = self.token.ok_or_else(|| {
            Error::config(format!(
                "no API token: set {TOKEN_ENV} or call ClientBuilder::token"
            ))
        })?;
        check_token(&token)?;
        if self.money.cap.is_some_and(|c| c.is_set()) && self.money.journal.is_none() {
            return Err(Error::config(
                "a spend cap needs a journal to count what was spent: set ClientBuilder::journal",
            ));
        }
        let base_url = check_base_url(
            self.base_url
                .as_deref()
                .unwrap_or(crate::spec::DEFAULT_BASE_URL),
        )?;
        #[cfg(not(feature = "rustls"))]
        if base_url.starts_with("https:") && (self.http.is_none() || self.once_http.is_none()) {
            return Err(Error::config(format!(
                "the base URL {base_url} needs TLS, but opx was built without its `rustls` \
                 feature (default-features = false): enable the `rustls` feature, or pass both \
                 reqwest_client and non_idempotent_reqwest_client built with a TLS backend"
            )));
        }
        let http = HttpClients::new(
            self.http,
            self.once_http,
            self.user_agent,
            self.connect_timeout,
            self.timeout,
            self.proxy,
        )?;
        let transport = Transport::new(TransportConfig {
            base_url,
            token,
            http,
            retry: self.retry,
            max_body: self.max_body,
            timeout: self.timeout,
            deadline: self.deadline,
            clock: self
                .clock
                .unwrap_or_else(|| Arc::new(crate::clock::SystemClock)),
            policy: self.rate_limit_policy,
            on_wait: self.on_wait,
            jitter: match self.jitter_seed {
                Some(s) => Jitter::seeded(s),
                None => Jitter::from_entropy(),
            },
        })?;
        Ok(Client::from_transport(Arc::new(transport), self.money))
    }
}

/// `https` anywhere, `http` only on a loopback host; no credentials, query or fragment.
/// Returns the URL without a trailing slash.
pub(crate) fn check_base_url(raw: &str) -> Result<String> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| Error::config(format!("invalid base URL {raw:?}: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "the base URL must not contain credentials; pass the token with ClientBuilder::token",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            "the base URL must not have a query or fragment",
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::config(format!(
                "refusing the non-HTTPS base URL {}: the token would travel in clear text (http is only allowed on loopback)",
                url.as_str()
            )));
        }
        other => {
            return Err(Error::config(format!(
                "unsupported base URL scheme {other:?}"
            )));
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl Client {
    /// A builder (token, base URL, timeouts, retry policy, ...).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client for the production API with this token and the defaults.
    ///
    /// ```
    /// let client = opx::Client::new("opx_live_0123456789abcdef0123456789abcdef")?;
    /// # Ok::<(), opx::Error>(())
    /// ```
    pub fn new(token: impl Into<String>) -> Result<Self> {
        ClientBuilder::new().token(token).build()
    }

    /// A client configured from the environment: `OPX_TOKEN` (required; the error names it if
    /// missing) and `OPX_BASE_URL` (optional, default
    /// [`DEFAULT_BASE_URL`](crate::spec::DEFAULT_BASE_URL)).
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_env()?.build()
    }
}

#[cfg(test)]
mod tests;
