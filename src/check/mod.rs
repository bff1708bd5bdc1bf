//! Checking that proxies carry traffic (feature `check`): a request to a target URL through
//! each endpoint of a list, a few at a time, with what happened to each.
//!
//! ```no_run
//! # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
//! use opx::check::ProxyCheck;
//! let report = client
//!     .check_proxies(&id, &ProxyCheck::new().target("http://127.0.0.1:8000/ip"))
//!     .await?;
//! println!("{} of {} endpoints work", report.ok_count(), report.results.len());
//! for r in &report.results {
//!     // login@host:port: the password is never shown.
//!     println!("{} {} {:?} {:?}", r.endpoint_label(), r.status, r.latency, r.exit_address);
//! }
//! # Ok(()) }
//! ```
//!
//! # The target
//!
//! Each endpoint sends one `GET` of the target URL through the proxy (`http://` targets are
//! forwarded, `https://` ones tunnelled with `CONNECT`), without following redirects. The
//! endpoint works when the target answers with a 2xx status. When the first 4 KiB of that
//! answer is an IP address, an `ip:port`, or a JSON object whose `ip` or `origin` member is one
//! (the forms of api.ipify.org, httpbin's `/ip` and similar services), it is reported as the
//! **exit address**: the address the target saw the request come from.
//!
//! A JSON answer's `country` (or `country_code`, `countryCode`) member is reported as the
//! **exit country**. With [`ProxyCheck::connections`] each endpoint is fetched through several
//! new connections, and the distinct exit addresses seen show the rotation it delivers.
//!
//! The default target is [`DEFAULT_TARGET`], `https://api.ipify.org`, which answers with the
//! caller's address as plain text. It is on the internet: against the mock (whose gateways
//! only connect to loopback) pass a loopback target, such as a server that answers with the
//! peer address it saw.
//!
//! # Concurrency
//!
//! At most [`ProxyCheck::concurrency`] endpoints are checked at once, and never more than the
//! service's thread count (the plan's concurrent connections): a check does not make the
//! service refuse its own traffic. Results keep the order of the list.

mod probe;
mod report;
mod tunnel;

pub use report::{CheckReport, CheckStatus, EndpointCheck};

use std::time::Duration;

use futures::StreamExt;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::operation::ProxyLayout;
use crate::proxies::ProxyEndpointBuf;
use crate::setters::setters;
use crate::text::printable;
use crate::types::ProxyQuery;
use crate::types::ServiceId;

/// The target URL of a check unless another one is given: api.ipify.org, which answers with
/// the caller's IP address as plain text (on the internet: not reachable through the mock).
pub const DEFAULT_TARGET: &str = "https://api.ipify.org";

/// How long one endpoint may take by default (connecting, and the whole answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many endpoints are checked at once by default (never more than the service's threads).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How much of the target's answer is read for the exit address.
const MAX_READ: usize = 4096;

/// Longest detail kept about a failure, in characters.
const MAX_DETAIL: usize = 200;

/// What to check and how: the target, the timeout per endpoint, the concurrency.
#[derive(Debug, Clone)]
pub struct ProxyCheck {
    target: String,
    timeout: Duration,
    concurrency: usize,
    connections: usize,
}

impl Default for ProxyCheck {
    fn default() -> Self {
        ProxyCheck {
            target: DEFAULT_TARGET.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
            connections: 1,
        }
    }
}

impl ProxyCheck {
    /// A check of [`DEFAULT_TARGET`] with the default timeout and concurrency.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// The URL fetched through each endpoint (`http://` or `https://`; see the
        /// [module docs](self) for what it should answer).
        pub fn target(url: impl Into<String>) => target = url.into();

        /// How long one endpoint may take, connecting and reading the answer (default 10 s).
        pub fn timeout(timeout: Duration) => timeout = timeout;

        /// How many endpoints are checked at once (default 8; at least 1; never more than the
        /// service's threads).
        pub fn concurrency(n: usize) => concurrency = n.max(1);

        /// How many connections are made through each endpoint, one after the other (default 1;
        /// at least 1). More show the rotation the endpoint actually delivers: the distinct exit
        /// addresses the target saw are in [`EndpointCheck::exits`].
        pub fn connections(n: usize) => connections = n.max(1);
    }

    /// The target URL.
    pub fn target_url(&self) -> &str {
        &self.target
    }

    /// How many endpoints run at once for a service of `threads` threads (`None`: unknown)
    /// and a list of `endpoints`: the concurrency, bounded by both, at least 1.
    pub fn effective_concurrency(&self, threads: Option<u32>, endpoints: usize) -> usize {
        let threads = threads.map_or(usize::MAX, |t| usize::try_from(t).unwrap_or(usize::MAX));
        self.concurrency.min(threads).min(endpoints).max(1)
    }

    /// The target as a URL: `http://` or `https://` with a host; `https://` only when TLS was
    /// built in (the `rustls` feature), as reqwest would otherwise send it to the proxy as a
    /// plain request instead of tunnelling it.
    fn parsed_target(&self) -> Result<url::Url> {
        let target = url::Url::parse(&self.target)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                Error::config(format!(
                    "the check target must be an http:// or https:// URL, not {:?}",
                    printable(&self.target, MAX_DETAIL)
                ))
            })?;
        #[cfg(not(feature = "rustls"))]
        if target.scheme() == "https" {
            return Err(Error::config(format!(
                "the check target {:?} needs TLS, but opx was built without its `rustls` \
                 feature: enable it, or check an http:// target",
                printable(&self.target, MAX_DETAIL)
            )));
        }
        Ok(target)
    }

    /// Checks these endpoints (e.g. lines saved from an earlier download), at most
    /// [`effective_concurrency`](Self::effective_concurrency) at once. Fails only when the
    /// target is not an `http://` or `https://` URL (or is `https://` in a build without the
    /// `rustls` feature); every endpoint's failure is in its result.
    pub async fn run(
        &self,
        endpoints: &[ProxyEndpointBuf],
        threads: Option<u32>,
    ) -> Result<CheckReport> {
        let target = self.parsed_target()?;
        let concurrency = self.effective_concurrency(threads, endpoints.len());
        let results = futures::stream::iter(endpoints)
            .map(|e| probe::check_endpoint(e, &target, self.timeout, self.connections))
            .buffered(concurrency)
            .collect()
            .await;
        Ok(CheckReport {
            service_id: None,
            target: self.target.clone(),
            threads,
            concurrency,
            results,
        })
    }
}

impl Client {
    /// Checks every endpoint of a service's current proxy list ([`ProxyCheck`]): reads the
    /// service (for its threads) and its list (`host:port:login:password`), then fetches the
    /// target through each endpoint.
    ///
    /// To check lines saved earlier (which may be outdated), use [`ProxyCheck::run`].
    pub async fn check_proxies(&self, id: &ServiceId, check: &ProxyCheck) -> Result<CheckReport> {
        let service = self.service(id).await?;
        let query = ProxyQuery::new().layout(ProxyLayout::HostPortUserPass);
        let endpoints = self.proxies(id, &query).await?.into_inner();
        let mut report = check.run(&endpoints, Some(service.threads)).await?;
        report.service_id = Some(id.clone());
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_is_bounded_by_threads_and_the_list() {
        let c = ProxyCheck::new().concurrency(8);
        assert_eq!(c.effective_concurrency(Some(2), 3), 2);
        assert_eq!(c.effective_concurrency(Some(100), 3), 3);
        assert_eq!(c.effective_concurrency(None, 30), 8);
        assert_eq!(c.effective_concurrency(Some(0), 3), 1);
        assert_eq!(
            ProxyCheck::new()
                .concurrency(0)
                .effective_concurrency(None, 5),
            1
        );
    }
}
