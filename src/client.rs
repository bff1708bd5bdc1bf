//! [`Client`]: one method per API operation, returning the typed `data` payload.

use std::{fmt, future::Future, num::NonZeroU64, sync::Arc};

use crate::builder::ClientBuilder;
use crate::error::{Error, ErrorCode, ErrorKind, Result};
use crate::generated::{self, types as g};
use crate::model::{
    Account, GatewayCountry, LogPage, LogQuery, Plan, ProxyLayout, ProxyQuery, ProxyServer,
    PurchaseRequest, Service, ServicePage, ServiceQuery, ServiceType, StatusFilter,
};
use crate::proxies::{ProxyEndpointBuf, parse_list};
use crate::ratelimit::RateLimit;
use crate::response::Response;
use crate::transport::{CallContext, Transport, recorded};
use crate::validate::{Country, Rotation, ServiceId, Whitelist};

/// The OP-Proxy API client. Cheap to clone (shared state behind an `Arc`).
///
/// Every method checks what the docs state before sending (ids, whitelist, country, rotation),
/// retries idempotent calls per the [`RetryPolicy`](crate::RetryPolicy), never retries
/// `purchase`, `extend` or `regenerate_credentials`, and records the rate-limit headers.
///
/// ```no_run
/// # async fn demo() -> opx::Result<()> {
/// let client = opx::Client::from_env()?;
/// let account = client.account().await?;
/// println!("{} RUB", account.balance);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    t: Arc<Transport>,
    /// Built once: its `inner` context points at `t`; per-call state lives in the call's task.
    raw: Arc<generated::Client>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.t.base_url)
            .finish_non_exhaustive()
    }
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::validation(code, message)
}

fn wire_type(t: &ServiceType) -> Result<g::ServiceType> {
    match t {
        ServiceType::Ipv4Rotating => Ok(g::ServiceType::Ipv4Rotating),
        ServiceType::Ipv6Rotating => Ok(g::ServiceType::Ipv6Rotating),
        other => Err(invalid(
            ErrorCode::InvalidType,
            format!("type must be ipv4_rotating or ipv6_rotating, not {other}"),
        )),
    }
}

fn wire_country(c: &GatewayCountry) -> Result<g::GetProxiesCountry> {
    match c {
        GatewayCountry::Nl => Ok(g::GetProxiesCountry::Nl),
        GatewayCountry::De => Ok(g::GetProxiesCountry::De),
        GatewayCountry::At => Ok(g::GetProxiesCountry::At),
        other => Err(invalid(
            ErrorCode::InvalidCountry,
            format!("gateway country must be nl, de or at, not {other}"),
        )),
    }
}

fn wire_layout(l: ProxyLayout) -> g::GetProxiesLayout {
    match l {
        ProxyLayout::HostPortUserPass => g::GetProxiesLayout::HostPortUserPass,
        ProxyLayout::UserPassAtHostPort => g::GetProxiesLayout::UserPassAtHostPort,
    }
}

fn wire_limit(limit: Option<u32>, max: u32) -> Result<Option<NonZeroU64>> {
    match limit {
        None => Ok(None),
        Some(n) if (1..=max).contains(&n) => Ok(NonZeroU64::new(u64::from(n))),
        Some(n) => Err(invalid(
            ErrorCode::InvalidRequest,
            format!("page size {n} is outside 1-{max}"),
        )),
    }
}

/// Converts a validated facade value into a generated newtype (whose own check is the same).
fn wire<T: std::str::FromStr>(value: &str, code: ErrorCode, what: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| invalid(code, format!("not a valid {what}: {value:?}")))
}

fn decode_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Decode, message)
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

    pub(crate) fn from_transport(t: Arc<Transport>) -> Self {
        let raw = generated::Client::new_with_client(
            &t.base_url,
            t.client.clone(),
            CallContext::new(t.clone()),
        );
        Self {
            t,
            raw: Arc::new(raw),
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

    /// The raw generated client, with this client's token, retries, rate-limit tracking and
    /// tracing attached: for callers who need exactly what the spec says.
    pub fn generated(&self) -> generated::Client {
        (*self.raw).clone()
    }

    /// Runs one generated call for `op`: the local rate-limit gate first, then `send` with the
    /// call recorded, then the generated result turned into the facade's.
    fn call<'a, T, F>(
        &'a self,
        op: &'static str,
        send: impl FnOnce(&'a generated::Client) -> F,
    ) -> impl Future<Output = Result<Response<T>>> + 'a
    where
        F: Future<
                Output = std::result::Result<
                    progenitor_client::ResponseValue<T>,
                    progenitor_client::Error<g::ErrorEnvelope>,
                >,
            > + 'a,
        T: 'a,
    {
        use futures::{FutureExt as _, future::Either};
        // Combinators, not an `async` block: see `recorded`. Building the generated future sends
        // nothing; it only runs if the gate lets the call through.
        match self.t.gate_check(op) {
            Err(refused) => Either::Left(std::future::ready(Err(refused))),
            Ok(()) => Either::Right(
                recorded(send(&self.raw))
                    .map(move |(result, record)| self.t.finish(op, record, result)),
            ),
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
        const OP: &str = "get_account";
        let r = self.call(OP, |raw| raw.get_account()).await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// `GET /catalog/plans`: the purchasable rotating plans, optionally of one type.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let plans = client.plans(Some(opx::ServiceType::Ipv4Rotating)).await?;
    /// let cheapest = plans.iter().min_by_key(|p| p.price);
    /// # Ok(()) }
    /// ```
    pub async fn plans(&self, service_type: Option<ServiceType>) -> Result<Response<Vec<Plan>>> {
        const OP: &str = "list_plans";
        let t = service_type.as_ref().map(wire_type).transpose()?;
        let r = self.call(OP, |raw| raw.list_plans(t)).await?;
        Ok(r.map(|v| v.data.plans.into_iter().map(Plan::from).collect()))
    }

    /// `POST /purchase`: charges the balance and provisions a new service.
    ///
    /// **Never retried.** If it fails with [`Error::is_outcome_unknown`], the service may or may
    /// not exist: use [`purchase_safely`](Self::purchase_safely), or read `GET /services`
    /// before trying again.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, plan_id: opx::PlanId) -> opx::Result<()> {
    /// let req = opx::PurchaseRequest::new(opx::ServiceType::Ipv4Rotating, plan_id);
    /// let service = client.purchase(&req).await?;
    /// println!("bought {}", service.service_id);
    /// # Ok(()) }
    /// ```
    pub async fn purchase(&self, req: &PurchaseRequest) -> Result<Response<Service>> {
        const OP: &str = "purchase";
        let body = g::PurchaseRequest {
            type_: wire_type(req.service_type())?,
            plan_id: wire(req.plan_id().as_str(), ErrorCode::InvalidPlanId, "plan id")?,
            country: wire(
                req.country_value().map_or("mixed", Country::as_str),
                ErrorCode::InvalidCountry,
                "country",
            )?,
            rotation: wire(
                req.rotation_value().map_or("instant", Rotation::as_str),
                ErrorCode::InvalidRotation,
                "rotation",
            )?,
        };
        let r = self.call(OP, |raw| raw.purchase(&body)).await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// `GET /services`: one page. See [`services_stream`](Self::services_stream) to page
    /// through everything.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let page = client.services_page(&opx::ServiceQuery::new().limit(100)).await?;
    /// println!("{} services, more: {}", page.services.len(), page.next_cursor.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn services_page(&self, query: &ServiceQuery) -> Result<Response<ServicePage>> {
        const OP: &str = "list_services";
        let limit = wire_limit(query.limit, 100)?;
        let t = query.service_type.as_ref().map(wire_type).transpose()?;
        let status = query.status.map(|s| match s {
            StatusFilter::Active => g::ListServicesStatus::Active,
            StatusFilter::Expired => g::ListServicesStatus::Expired,
            StatusFilter::All => g::ListServicesStatus::All,
        });
        let cursor: Option<g::ListServicesCursor> = query
            .cursor
            .as_deref()
            .map(|c| wire(c, ErrorCode::InvalidRequest, "cursor"))
            .transpose()?;
        let r = self
            .call(OP, |raw| {
                raw.list_services(cursor.as_ref(), limit, status, t)
            })
            .await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// Every active service (all pages of `GET /services`).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// for s in client.services().await? {
    ///     println!("{} expires {}", s.service_id, s.expires_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn services(&self) -> Result<Vec<Service>> {
        use futures::TryStreamExt;
        self.services_stream(&ServiceQuery::new())
            .try_collect()
            .await
    }

    /// `GET /services/{id}`: credentials, whitelist, expiry, country, rotation.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let id: opx::ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse()?;
    /// let s = client.service(&id).await?;
    /// println!("login {}", s.auth.login);
    /// # Ok(()) }
    /// ```
    pub async fn service(&self, id: &ServiceId) -> Result<Response<Service>> {
        const OP: &str = "get_service";
        let wid: g::GetServiceId = wire(id.as_str(), ErrorCode::InvalidId, "service id")?;
        let r = self.call(OP, |raw| raw.get_service(&wid)).await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// `GET /services/{id}/proxies?format=json`: the structured `servers` list.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// for s in client.proxies_json(&id, &opx::ProxyQuery::new()).await?.iter() {
    ///     println!("{} {}:{}", s.country, s.host, s.port);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn proxies_json(
        &self,
        id: &ServiceId,
        query: &ProxyQuery,
    ) -> Result<Response<Vec<ProxyServer>>> {
        const OP: &str = "get_proxies";
        let wid: g::GetProxiesId = wire(id.as_str(), ErrorCode::InvalidId, "service id")?;
        let country = query.country.as_ref().map(wire_country).transpose()?;
        let layout = query.layout.map(wire_layout);
        let format = Some(g::GetProxiesFormat::Json);
        let r = self
            .call(OP, |raw| {
                raw.get_proxies(&wid, query.auth, country, format, layout)
            })
            .await?;
        r.try_map(|v| {
            v.data
                .servers
                .into_iter()
                .map(ProxyServer::try_from)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|m| decode_error(m).with_operation(OP))
        })
    }

    /// `GET /services/{id}/proxies?format=txt`: the proxy list exactly as the server sent it,
    /// one proxy per line. Parse it without allocating with
    /// [`ProxyLines`](crate::ProxyLines).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// let text = client.proxies_text(&id, &opx::ProxyQuery::new()).await?;
    /// print!("{}", *text);
    /// # Ok(()) }
    /// ```
    pub async fn proxies_text(
        &self,
        id: &ServiceId,
        query: &ProxyQuery,
    ) -> Result<Response<String>> {
        const OP: &str = "get_proxies";
        let country = query.country.as_ref().map(wire_country).transpose()?;
        self.t.gate_check(OP)?;
        let url = format!(
            "{}/services/{}/proxies",
            self.t.base_url,
            progenitor_client::encode_path(id.as_str())
        );
        let mut params: Vec<(&str, &str)> = vec![("format", "txt")];
        if let Some(l) = query.layout {
            params.push(("layout", l.as_str()));
        }
        if let Some(a) = query.auth {
            params.push(("auth", if a { "true" } else { "false" }));
        }
        let country = country.map(|c| c.to_string());
        if let Some(c) = &country {
            params.push(("country", c));
        }
        let request = self
            .t
            .client
            .get(url)
            .query(&params)
            .header(http::header::ACCEPT, "text/plain")
            .header(
                "api-version",
                <generated::Client as progenitor_client::ClientInfo<CallContext>>::api_version(),
            )
            .build()
            .map_err(|e| {
                invalid(ErrorCode::InvalidRequest, "could not build the request")
                    .with_source(e.without_url())
            })?;
        let (result, rec) = recorded(self.t.execute(request, OP)).await;
        let response = match result {
            Err(e) => {
                return Err(self.t.classify(
                    OP,
                    &rec,
                    Some(progenitor_client::Error::CommunicationError(e)),
                ));
            }
            Ok(r) => r,
        };
        let status = response.status().as_u16();
        if rec.too_large || !(200..300).contains(&status) {
            return Err(self.t.classify(OP, &rec, None));
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.is_empty() && !content_type.starts_with("text/plain") {
            return Err(decode_error(format!(
                "expected a text/plain proxy list, got {content_type:?}"
            ))
            .with_status(status)
            .with_operation(OP));
        }
        let text = String::from_utf8(rec.body.to_vec()).map_err(|e| {
            decode_error("the proxy list is not UTF-8")
                .with_status(status)
                .with_operation(OP)
                .with_source(e)
        })?;
        Ok(Response::new(text, status, rec.rate_limit).with_body(rec.body))
    }

    /// `GET /services/{id}/proxies?format=txt`, parsed into endpoints (host, port, login,
    /// password) in the layout asked for.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// for e in client.proxies(&id, &opx::ProxyQuery::new()).await?.iter() {
    ///     let proxy_url = e.proxy_url(); // http://login:password@host:port
    /// #   let _ = proxy_url;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn proxies(
        &self,
        id: &ServiceId,
        query: &ProxyQuery,
    ) -> Result<Response<Vec<ProxyEndpointBuf>>> {
        let text = self.proxies_text(id, query).await?;
        let status = text.status();
        let layout = query.layout;
        text.try_map(|t| {
            parse_list(&t, layout).map_err(|e| {
                decode_error(e.to_string())
                    .with_status(status)
                    .with_operation("get_proxies")
            })
        })
    }

    /// `POST /services/{id}/extend`: charges the plan price and adds one period.
    ///
    /// **Never retried.** On [`Error::is_outcome_unknown`], see
    /// [`extend_safely`](Self::extend_safely).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// let s = client.extend(&id).await?;
    /// println!("now expires {}", s.expires_at);
    /// # Ok(()) }
    /// ```
    pub async fn extend(&self, id: &ServiceId) -> Result<Response<Service>> {
        const OP: &str = "extend_service";
        let wid: g::ExtendServiceId = wire(id.as_str(), ErrorCode::InvalidId, "service id")?;
        let r = self.call(OP, |raw| raw.extend_service(&wid)).await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// `PUT /services/{id}/whitelist`: replaces the whole whitelist.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// let wl = opx::Whitelist::parse(["203.0.113.10"])?;
    /// client.replace_whitelist(&id, &wl).await?;
    /// # Ok(()) }
    /// ```
    pub async fn replace_whitelist(
        &self,
        id: &ServiceId,
        whitelist: &Whitelist,
    ) -> Result<Response<Service>> {
        const OP: &str = "replace_whitelist";
        let wid: g::ReplaceWhitelistId = wire(id.as_str(), ErrorCode::InvalidId, "service id")?;
        let labels = whitelist
            .labels()
            .iter()
            .map(|l| wire(l, ErrorCode::InvalidRequest, "whitelist label"))
            .collect::<Result<Vec<g::WhitelistRequestLabelsItem>>>()?;
        let body = g::WhitelistRequest {
            labels,
            whitelisted_ips: whitelist.ips().to_vec(),
        };
        let r = self
            .call(OP, |raw| raw.replace_whitelist(&wid, &body))
            .await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// `POST /services/{id}/credentials`: new login and password (the old ones stop working).
    /// Limited to 30/hour. **Never retried.**
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// let s = client.regenerate_credentials(&id).await?;
    /// println!("new login {}", s.auth.login);
    /// # Ok(()) }
    /// ```
    pub async fn regenerate_credentials(&self, id: &ServiceId) -> Result<Response<Service>> {
        const OP: &str = "regenerate_credentials";
        let wid: g::RegenerateCredentialsId =
            wire(id.as_str(), ErrorCode::InvalidId, "service id")?;
        let r = self
            .call(OP, |raw| raw.regenerate_credentials(&wid))
            .await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// `PUT /services/{id}/country` (IPv6 rotating only).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// client.change_country(&id, &opx::Country::new("us")?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn change_country(
        &self,
        id: &ServiceId,
        country: &Country,
    ) -> Result<Response<Service>> {
        const OP: &str = "change_country";
        let wid: g::ChangeCountryId = wire(id.as_str(), ErrorCode::InvalidId, "service id")?;
        let body = g::CountryRequest {
            country: wire(country.as_str(), ErrorCode::InvalidCountry, "country")?,
        };
        let r = self.call(OP, |raw| raw.change_country(&wid, &body)).await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// `PUT /services/{id}/rotation` (IPv6 rotating only).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::ServiceId) -> opx::Result<()> {
    /// client.change_rotation(&id, &opx::Rotation::new("instant")?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn change_rotation(
        &self,
        id: &ServiceId,
        rotation: &Rotation,
    ) -> Result<Response<Service>> {
        const OP: &str = "change_rotation";
        let wid: g::ChangeRotationId = wire(id.as_str(), ErrorCode::InvalidId, "service id")?;
        let body = g::RotationRequest {
            rotation: wire(rotation.as_str(), ErrorCode::InvalidRotation, "rotation")?,
        };
        let r = self
            .call(OP, |raw| raw.change_rotation(&wid, &body))
            .await?;
        Ok(r.map(|v| v.data.into()))
    }

    /// `GET /logs`: one page of the API action log. See [`logs_stream`](Self::logs_stream).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let page = client.logs(&opx::LogQuery::new().limit(20)).await?;
    /// for l in &page.logs {
    ///     println!("{} {} {} -> {}", l.created_at, l.method, l.path, l.http_status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn logs(&self, query: &LogQuery) -> Result<Response<LogPage>> {
        const OP: &str = "list_logs";
        let limit = wire_limit(query.limit, 200)?;
        let cursor: Option<g::ListLogsCursor> = query
            .cursor
            .as_deref()
            .map(|c| wire(c, ErrorCode::InvalidRequest, "cursor"))
            .transpose()?;
        let (since, until) = (query.since.as_ref(), query.until.as_ref());
        let r = self
            .call(OP, |raw| {
                raw.list_logs(cursor.as_ref(), limit, since, until)
            })
            .await?;
        Ok(r.map(|v| v.data.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let plan: crate::PlanId = "65a9f0c1b2c3d4e5f6a7b8c9".parse().unwrap();
        let req = PurchaseRequest::new(ServiceType::Ipv4Rotating, plan);
        let wl = Whitelist::empty();
        let country = Country::new("us").unwrap();
        let rotation = Rotation::new("instant").unwrap();
        let (sq, lq, pq) = (ServiceQuery::new(), LogQuery::new(), ProxyQuery::new());
        send(c.account());
        send(c.plans(None));
        send(c.purchase(&req));
        send(c.purchase_safely(&req));
        send(c.services());
        send(c.services_page(&sq));
        send(c.service(&id));
        send(c.proxies_text(&id, &pq));
        send(c.proxies(&id, &pq));
        send(c.proxies_json(&id, &pq));
        send(c.extend(&id));
        send(c.extend_safely(&id));
        send(c.replace_whitelist(&id, &wl));
        send(c.regenerate_credentials(&id));
        send(c.change_country(&id, &country));
        send(c.change_rotation(&id, &rotation));
        send(c.logs(&lq));
        send(c.services_stream(&sq));
        send(c.logs_stream(&lq));
        let e = Error::config("x");
        send_sync(&e);
        let _: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    }
}
