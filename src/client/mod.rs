//! [`Client`]: one method per API operation, returning the typed `data` payload.
//!
//! - this module: the client itself, the way every call runs ([`Client::call`]), and the
//!   account, catalog and log calls;
//! - `services`: purchase, the service list and the calls that change a service;
//! - `proxies`: the proxy list as text, parsed lines or JSON.

pub(crate) mod builder;
mod bulk;
pub(crate) mod money;
pub(crate) mod pagination;
mod proxies;
#[cfg(feature = "doctor")]
pub(crate) mod raw;
mod services;
mod whitelist;

use std::{fmt, future::Future, num::NonZeroU64, sync::Arc};

use crate::error::{Error, ErrorCode, Result};
use crate::generated;
use crate::operation::{Operation, ServiceType};
use crate::ratelimit::RateLimit;
use crate::response::Response;
use crate::transport::{CallContext, Transport, classify::GeneratedError, recorded};
use crate::types::{Account, LogPage, LogQuery, PlanList};

/// The OP-Proxy API client. Cheap to clone (shared state behind an `Arc`).
///
/// Every method checks what the docs state before sending (ids, whitelist, country, rotation),
/// retries idempotent calls per the [`RetryPolicy`](crate::RetryPolicy), never retries
/// `purchase`, `extendService` or `regenerateCredentials`, and records the rate-limit headers.
///
/// ```no_run
/// # async fn demo() -> opx::Result<()> {
/// let client = opx::Client::from_env()?;
/// let account = client.account().await?;
/// println!("{} RUB", account.balance);
/// # Ok(()) }
/// ```
///
/// # Methods by area
///
/// | area | methods |
/// |---|---|
/// | make one | [`from_env`](Self::from_env), [`builder`](Self::builder), [`new`](Self::new) |
/// | account and catalog | [`account`](Self::account), [`plans`](Self::plans) |
/// | spend money, safely | [`purchase_safely`](Self::purchase_safely), [`extend_safely`](Self::extend_safely), [`renewal_plan`](Self::renewal_plan), [`renew`](Self::renew), [`renew_until`](Self::renew_until) |
/// | an unknown charge, resolved | [`resolve_pending`](Self::resolve_pending), [`purchase_snapshot`](Self::purchase_snapshot), [`reconcile_purchase`](Self::reconcile_purchase), [`journal`](Self::journal), [`spend_cap`](Self::spend_cap) |
/// | services | [`services_stream`](Self::services_stream), [`all_services`](Self::all_services), [`service`](Self::service), [`services_page`](Self::services_page), [`services_page_stream`](Self::services_page_stream) |
/// | proxies | [`proxies`](Self::proxies), [`proxies_text`](Self::proxies_text), [`proxies_json`](Self::proxies_json), [`proxy_lists`](Self::proxy_lists) (many services); `check_proxies` (feature `check`); `opx::gateway`, a local proxy or an in-process pool over them (feature `gateway`) |
/// | change a service | [`whitelist_add`](Self::whitelist_add), [`whitelist_remove`](Self::whitelist_remove), [`replace_whitelist`](Self::replace_whitelist), [`regenerate_credentials`](Self::regenerate_credentials), [`change_country`](Self::change_country), [`change_rotation`](Self::change_rotation) |
/// | logs | [`logs_stream`](Self::logs_stream), [`logs_page`](Self::logs_page), [`logs_page_stream`](Self::logs_page_stream) |
/// | one call as sent, no safety net | [`purchase`](Self::purchase), [`extend`](Self::extend), [`generated`](Self::generated) |
/// | state | [`rate_limit`](Self::rate_limit), [`base_url`](Self::base_url); `doctor` (feature `doctor`: the server against the spec) |
#[derive(Clone)]
pub struct Client {
    pub(crate) t: Arc<Transport>,
    /// Built once: its `inner` context points at `t`; per-call state lives in the call's task.
    raw: Arc<generated::Client>,
    /// How it watches, journals and caps money calls (`crate::safe`).
    pub(crate) money: Arc<crate::client::money::settings::MoneySettings>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.t.base_url)
            .finish_non_exhaustive()
    }
}

/// The page size of `operation`, checked against the spec's `maximum` before sending.
fn page_size(operation: Operation, limit: Option<u32>) -> Result<Option<NonZeroU64>> {
    let max = operation.max_page_size().unwrap_or(u32::MAX);
    match limit {
        None => Ok(None),
        Some(n) if (1..=max).contains(&n) => Ok(NonZeroU64::new(u64::from(n))),
        Some(n) => Err(Error::validation(
            ErrorCode::InvalidRequest,
            format!("page size {n} is outside 1-{max}"),
        )
        .with_operation(operation)),
    }
}

/// The result type of a generated method.
type Generated<T> = std::result::Result<progenitor_client::ResponseValue<T>, GeneratedError>;

impl Client {
    pub(crate) fn from_transport(
        t: Arc<Transport>,
        money: crate::client::money::settings::MoneySettings,
    ) -> Self {
        let raw = generated::Client::new_with_client(
            &t.base_url,
            t.client.clone(),
            CallContext::new(t.clone()),
        );
        Self {
            t,
            raw: Arc::new(raw),
            money: Arc::new(money),
        }
    }

    #[cfg(test)]
    pub(crate) fn transport(&self) -> &Transport {
        &self.t
    }

    /// The base URL calls go to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.t.base_url
    }

    /// The rate-limit headers of the latest response this client received, any operation.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.t.latest()
    }

    /// The server's time now: the `Date` of the latest answer this client received, plus the
    /// time passed since on the client's clock; the client's own clock before any answer had
    /// a `Date`. What depends on "now" in the API's terms (what is due for renewal, what has
    /// expired, "expires in") goes by it, so a skewed local clock, or a mock whose clock was
    /// advanced or runs faster, answers as the server would.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let services = client.all_services(&opx::types::ServiceQuery::new()).await?;
    /// let now = client.server_now();
    /// for s in &services {
    ///     println!("{} expires in {}", s.service_id, opx::clock::human(s.expires_in(now)));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn server_now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from(self.t.server_now())
    }

    /// The raw generated client, with this client's token, retries, rate-limit tracking and
    /// tracing attached: for callers who need exactly what the spec says.
    pub fn generated(&self) -> generated::Client {
        (*self.raw).clone()
    }

    /// Runs one generated call of `op`: the local rate-limit gate first, then `send` with the
    /// call recorded, then the generated result turned into the facade's.
    fn call<'a, T, F>(
        &'a self,
        op: Operation,
        send: impl FnOnce(&'a generated::Client) -> F + 'a,
    ) -> impl Future<Output = Result<Response<T>>> + 'a
    where
        F: Future<Output = Generated<T>> + 'a,
        T: 'a,
    {
        use futures::{FutureExt as _, future::Either};
        // Combinators, not an `async` block: see `recorded`. Building the generated future sends
        // nothing; it only runs if the gate lets the call through.
        let finish = move |(result, record)| self.t.finish(op, record, result);
        match self.t.gate_check(op) {
            Err(refused) => Either::Left(std::future::ready(Err(refused))),
            Ok(None) => Either::Right(Either::Left(recorded(send(&self.raw)).map(finish))),
            // The `WaitUpTo` policy: the window resets soon enough to wait for it.
            Ok(Some(wait)) => Either::Right(Either::Right(
                self.t
                    .clock
                    .sleep(wait)
                    .then(move |()| recorded(send(&self.raw)))
                    .map(finish),
            )),
        }
    }

    /// `GET /account`: user name, e-mail, balance (whole RUB) and currency.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let account = client.account().await?;
    /// println!("{}: {} {}", account.username, account.balance, account.currency);
    /// # Ok(()) }
    /// ```
    pub async fn account(&self) -> Result<Response<Account>> {
        let r = self
            .call(Operation::GetAccount, |raw| raw.get_account())
            .await?;
        Ok(r.map(|v| v.data))
    }

    /// `GET /catalog/plans`: the purchasable rotating plans, optionally of one type.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let catalog = client.plans(Some(opx::types::ServiceType::Ipv4Rotating)).await?;
    /// let cheapest = catalog.plans.iter().min_by_key(|p| p.price);
    /// # Ok(()) }
    /// ```
    pub async fn plans(&self, service_type: Option<ServiceType>) -> Result<Response<PlanList>> {
        let op = Operation::ListPlans;
        let t = service_type
            .as_ref()
            .map(|t| t.for_request(op))
            .transpose()?;
        let r = self.call(op, |raw| raw.list_plans(t)).await?;
        Ok(r.map(|v| v.data))
    }

    /// `GET /logs`: one page of the API action log. See
    /// [`logs_stream`](Self::logs_stream) for every entry and
    /// [`logs_page_stream`](Self::logs_page_stream) for every page.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let page = client.logs_page(&opx::types::LogQuery::new().limit(20)).await?;
    /// for l in &page.logs {
    ///     println!("{:?} {:?} {:?} -> {:?}", l.created_at(), l.method(), l.path(), l.http_status());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn logs_page(&self, query: &LogQuery) -> Result<Response<LogPage>> {
        let op = Operation::ListLogs;
        let limit = page_size(op, query.paging.limit)?;
        let (since, until) = (query.since.as_ref(), query.until.as_ref());
        let cursor = query.paging.cursor.as_ref();
        let r = self
            .call(op, |raw| raw.list_logs(cursor, limit, since, until))
            .await?;
        Ok(r.map(|v| v.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ServiceId;
    use crate::types::{ProxyQuery, PurchaseRequest, ServiceQuery};

    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}

    /// Every future the client returns can be spawned on a multi-threaded runtime, and the
    /// client and its errors can be shared across threads.
    #[tokio::test]
    async fn client_futures_and_errors_are_send() {
        let c = Client::builder()
            .token("opx_live_0123456789abcdef0123456789abcdef")
            .base_url("http://127.0.0.1:9/api/v1") // loopback: also runs without `rustls`
            .build()
            .unwrap();
        send_sync(&c);
        let id: ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse().unwrap();
        let plan: crate::types::PlanId = "65a9f0c1b2c3d4e5f6a7b8c9".parse().unwrap();
        let req = PurchaseRequest::new(ServiceType::Ipv4Rotating, plan);
        let (sq, lq, pq) = (ServiceQuery::new(), LogQuery::new(), ProxyQuery::new());
        // Each operation's own method is shown `Send` by the contract suite, which spawns
        // each operation's call (`tests/contract/slices.rs`) on a multi-threaded runtime;
        // here, what builds on them.
        send(c.purchase_safely(&req));
        send(c.extend_safely(&id));
        send(c.all_services(&sq));
        send(c.services_stream(&sq));
        send(c.logs_stream(&lq));
        send(c.proxies(&id, &pq));
        let e = Error::config("x");
        send_sync(&e);
        let _: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    }

    #[test]
    fn page_sizes_come_from_the_spec() {
        assert!(page_size(Operation::ListServices, Some(100)).is_ok());
        let e = page_size(Operation::ListServices, Some(101)).unwrap_err();
        assert!(e.message().contains("1-100"), "{e}");
        assert!(page_size(Operation::ListLogs, Some(200)).is_ok());
        assert!(page_size(Operation::ListLogs, Some(0)).is_err());
    }
}
