//! The reqwest clients of a [`Client`](crate::Client): the caller's, or ones built here with the
//! builder's timeouts and User-Agent, no redirects; the money calls' client never retries and
//! keeps no idle connection.

use std::sync::OnceLock;
use std::time::Duration;

use http::HeaderValue;

use super::OnceClientFactory;
use crate::error::{Error, Result};

/// Which proxy the clients built here use.
#[derive(Debug, Clone, Default)]
pub(crate) enum ProxySetting {
    /// The one the environment names, as reqwest reads it (curl's rules).
    #[default]
    Environment,
    /// None: connect directly.
    Direct,
    /// This one (its URL may carry credentials).
    Url(String),
}

/// What the transport needs of its HTTP clients.
pub(crate) struct HttpClients {
    /// The client of every idempotent call.
    pub(crate) client: reqwest::Client,
    /// The client of the money calls, when already known (the caller's).
    pub(crate) once_client: OnceLock<reqwest::Client>,
    /// Builds the money calls' client on their first use otherwise.
    pub(crate) once_factory: OnceClientFactory,
    /// The User-Agent the hook sets per request: `None` when every client is built here (they
    /// send it as a default header); a user-supplied client keeps its own unless one was set.
    pub(crate) user_agent: Option<HeaderValue>,
}

impl HttpClients {
    /// The clients from the builder's settings.
    pub(crate) fn new(
        http: Option<reqwest::Client>,
        once_http: Option<reqwest::Client>,
        user_agent: Option<String>,
        connect_timeout: Duration,
        timeout: Option<Duration>,
        proxy: ProxySetting,
    ) -> Result<Self> {
        let proxy = match proxy {
            ProxySetting::Environment => None,
            ProxySetting::Direct => Some(None),
            // The error names neither the URL nor its credentials.
            ProxySetting::Url(u) => Some(Some(reqwest::Proxy::all(u.as_str()).map_err(|_| {
                Error::config("the proxy URL is not a valid http, https or socks5 URL")
            })?)),
        };
        let explicit_ua = user_agent.is_some();
        let ua_text = user_agent.unwrap_or_else(|| format!("opx/{}", env!("CARGO_PKG_VERSION")));
        let header = HeaderValue::from_str(&ua_text)
            .map_err(|_| Error::config("the user agent is not a valid header value"))?;
        let ua = header.clone();
        let base = move || {
            let mut b = crate::tls::reqwest_builder()
                .connect_timeout(connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(ua.clone());
            if let Some(t) = timeout {
                b = b.timeout(t);
            }
            match &proxy {
                None => b,
                Some(None) => b.no_proxy(),
                Some(Some(p)) => b.no_proxy().proxy(p.clone()),
            }
        };
        let built = |b: reqwest::ClientBuilder| {
            b.build()
                .map_err(|e| Error::config("could not build the HTTP client").with_source(e))
        };
        let own_client = http.is_none();
        let once_client = OnceLock::new();
        // The money calls use the caller's client when there is one (its settings apply to
        // every request), else one built on their first use.
        if let Some(c) = once_http.or_else(|| http.clone()) {
            let _ = once_client.set(c);
        }
        let own_once_client = once_client.get().is_none();
        let client = match http {
            Some(c) => c,
            None => built(base())?,
        };
        let once_factory: OnceClientFactory = Box::new(move || {
            built(
                base()
                    .pool_max_idle_per_host(0)
                    .retry(reqwest::retry::never()),
            )
        });
        let user_agent = if own_client && own_once_client {
            None
        } else {
            (own_client || explicit_ua).then_some(header)
        };
        Ok(Self {
            client,
            once_client,
            once_factory,
            user_agent,
        })
    }
}
