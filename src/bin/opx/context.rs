//! What every command shares: the client (built once, from the profile or the environment, with
//! the global options), and what is printed after the command whatever it did (the rate-limit
//! notice).

use std::cell::OnceCell;
use std::time::Duration;

use opx::{Client, Error, ErrorKind};

use crate::config::Settings;
use crate::failure::Failure;
use crate::output;

/// The global options and the client they make.
pub struct Ctx {
    /// `--json`.
    pub json: bool,
    profile: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    pace: bool,
    watch: Option<Duration>,
    force: bool,
    no_proxy: bool,
    client: OnceCell<Client>,
}

impl Ctx {
    /// The context of one run.
    pub fn new(
        json: bool,
        profile: Option<String>,
        base_url: Option<String>,
        timeout: Option<Duration>,
    ) -> Self {
        Self {
            json,
            profile,
            base_url,
            timeout,
            pace: false,
            watch: None,
            force: false,
            no_proxy: false,
            client: OnceCell::new(),
        }
    }

    /// `--pace` / `OPX_PACE`: calls wait for their rate-limit window.
    pub fn with_pace(mut self, pace: bool) -> Self {
        self.pace = pace;
        self
    }

    /// `--no-proxy`: the API calls go directly, whatever the environment's proxy variables.
    pub fn with_no_proxy(mut self, no_proxy: bool) -> Self {
        self.no_proxy = no_proxy;
        self
    }

    /// The proxy the calls to `base_url` go through (see `proxy.rs`).
    pub fn proxy_for(&self, base_url: &str) -> crate::proxy::ProxyUse {
        crate::proxy::ProxyUse::from_env(base_url, self.no_proxy)
    }

    /// `--watch` (the window after a lost money answer) and `--force` (send over an unknown
    /// money call of the same kind).
    pub fn with_money(mut self, watch: Option<Duration>, force: bool) -> Self {
        self.watch = watch;
        self.force = force;
        self
    }

    /// A context around a client built elsewhere (the fault campaign's, on the mock).
    #[cfg(test)]
    pub fn with_client(client: Client) -> Self {
        let ctx = Self::new(false, None, None, None);
        let _ = ctx.client.set(client);
        ctx
    }

    /// `--timeout`: the deadline of each call.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// `--profile`.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// `--base-url`.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    /// The profile's settings (see `config`).
    pub fn settings(&self) -> Result<Settings, Failure> {
        let s = Settings::resolve(self.profile.as_deref(), self.base_url.as_deref())?;
        Ok(s.with_money(self.watch, self.force))
    }

    /// The server's time (its latest `Date` carried forward; the local clock before any
    /// answer, or without a client).
    pub fn server_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.client
            .get()
            .map_or_else(chrono::Utc::now, Client::server_now)
    }

    /// The facade client: the token and base URL of the profile, else `OPX_TOKEN` and
    /// `OPX_BASE_URL`; `--timeout` as the deadline of each call; `--pace` as its rate-limit
    /// policy.
    pub fn client(&self) -> Result<&Client, Failure> {
        if self.client.get().is_none() {
            let settings = self.settings()?;
            let (base_url, _) = settings.base_url();
            let proxy = self.proxy_for(&base_url);
            let (mut builder, _) = settings.builder()?;
            builder = proxy.apply(builder);
            if let Some(t) = self.timeout {
                builder = builder.deadline(t);
            }
            if self.pace {
                builder = builder.rate_limit_policy(opx::RateLimitPolicy::Pace);
            }
            builder = builder.on_pacing_wait(crate::waiting::notify);
            let _ = self.client.set(builder.build()?);
        }
        Ok(self.client.get().expect("set above"))
    }

    /// After the command: one line on stderr when the last answer said the rate-limit window
    /// is exhausted (docs requirement 9: each run is a new process that would forget it).
    pub fn notice(&self) {
        let Some(rl) = self.client.get().and_then(Client::rate_limit) else {
            return;
        };
        if rl.is_exhausted() {
            let resets = rl.reset_after().map_or_else(
                || "an unknown time".to_owned(),
                crate::failure::whole_seconds,
            );
            eprintln!(
                "note: rate limit exhausted (X-RateLimit-Remaining: 0 of {}); the window resets in {resets}",
                rl.limit().map_or_else(|| "?".to_owned(), |l| l.to_string())
            );
        }
    }
}

impl Ctx {
    /// Awaits a reading call; with `--json`, a success whose body did not decode is printed as
    /// sent (see [`print_undecoded`]) and `None` returned: the command has nothing more to do.
    pub async fn read<T>(
        &self,
        call: impl Future<Output = opx::Result<T>>,
    ) -> Result<Option<T>, Failure> {
        match call.await {
            Ok(r) => Ok(Some(r)),
            Err(e) if print_undecoded(&e, self.json)? => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A success whose body did not decode: with `--json`, its `data` as the server sent it and a
/// one-line warning naming the field; otherwise the error. `Ok(true)` when it was printed.
fn print_undecoded(e: &Error, json: bool) -> Result<bool, Failure> {
    let (true, ErrorKind::Decode, Some(body)) = (json, e.kind(), e.response_body()) else {
        return Ok(false);
    };
    let why =
        std::error::Error::source(e).map_or_else(|| e.message().to_owned(), |s| s.to_string());
    eprintln!("warning: the answer does not decode as documented ({why}); printing it as sent");
    output::print_data(body)?;
    Ok(true)
}
