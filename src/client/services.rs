//! Purchase, the service list, and the calls that change a service.
//!
//! The spec reads "a service after a change" as the whole Service object, but the docs show only
//! the purchase's answer: a 2xx whose `data` is part of a service, or empty, is still the success
//! it says it is. The facade then reads the service with `GET /services/{id}` (see
//! [`Client::complete`]), so callers always get a whole [`Service`].

use std::future::Future;

use progenitor_client::Error as G;

use crate::client::{Client, Generated, page_size};
use crate::error::{Error, ErrorKind, Result};
use crate::generated::types as g;
use crate::operation::Operation;
use crate::response::{Response, data_of};
use crate::transport::{record::CallRecord, recorded};
use crate::types::{Country, Rotation, ServiceId, Whitelist};
use crate::types::{PurchaseRequest, Service, ServicePage, ServiceQuery, service_from};

/// The body is a JSON object (an envelope in another shape), not cut-off or foreign bytes.
fn is_json_object(rec: &CallRecord) -> bool {
    !rec.too_large
        && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&rec.body).is_ok()
}

impl Client {
    /// Runs a call of `op` that answers with a service, tolerating a 2xx whose `data` is not a
    /// whole service (see the module docs). `id` is the service the path names, if any.
    async fn change<'a, F>(
        &'a self,
        op: Operation,
        id: Option<&ServiceId>,
        send: impl FnOnce(&'a crate::generated::Client) -> F,
    ) -> Result<Response<Service>>
    where
        F: Future<Output = Generated<g::ServiceResponse>>,
    {
        self.t.gate(op).await?;
        let (result, rec) = recorded(send(&self.raw)).await;
        match result {
            Err(G::InvalidResponsePayload(..))
                if rec.is_success() && is_json_object(&rec) && !rec.redirected =>
            {
                self.complete(op, id, rec).await
            }
            other => Ok(self.t.finish(op, rec, other)?.map(|v| v.data)),
        }
    }

    /// The service after a change the server accepted (2xx) but answered in another shape:
    /// `data` itself if it reads as a service, else `GET /services/{id}` with the id of the path
    /// or, for a purchase, the `service_id` the answer names.
    async fn complete(
        &self,
        op: Operation,
        id: Option<&ServiceId>,
        rec: CallRecord,
    ) -> Result<Response<Service>> {
        let status = rec.status.unwrap_or(http::StatusCode::OK);
        let data: Option<serde_json::Value> =
            data_of(&rec.body).and_then(|d| serde_json::from_str(d.get()).ok());
        if let Some(service) = data.as_ref().and_then(|d| service_from(d).ok()) {
            return Ok(Response::new(service, status, rec.rate_limit).with_body(rec.body));
        }
        let named = data
            .as_ref()
            .and_then(|d| d.get("service_id"))
            .and_then(|v| v.as_str())
            .and_then(|s| ServiceId::new(s).ok());
        let Some(id) = id.cloned().or(named) else {
            let message = format!(
                "HTTP {} with a body that names no service; the server accepted it: it was \
                 done, do not send it again",
                status.as_u16()
            );
            return Err(Error::new(ErrorKind::Unread, message)
                .with_operation(op)
                .with_status(status)
                .with_body(rec.body));
        };
        tracing::warn!(
            operation = op.id(),
            "the answer is a success in another shape than the spec's; reading the service"
        );
        match self.service(&id).await {
            Ok(s) => Ok(Response::new(s.into_inner(), status, rec.rate_limit).with_body(rec.body)),
            Err(read) => Err(Error::new(
                ErrorKind::Unread,
                format!(
                    "service {id} was changed (HTTP {}), but reading it failed: {read}",
                    status.as_u16()
                ),
            )
            .with_operation(op)
            .with_status(status)
            .with_body(rec.body)),
        }
    }

    /// `POST /purchase`: charges the balance and provisions a new service.
    ///
    /// **Never retried.** If it fails with [`Error::is_outcome_unknown`], the service may or may
    /// not exist: use [`purchase_safely`](Self::purchase_safely), or read `GET /services`
    /// before trying again.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, plan_id: opx::types::PlanId) -> opx::Result<()> {
    /// let req = opx::types::PurchaseRequest::new(opx::types::ServiceType::Ipv4Rotating, plan_id);
    /// let service = client.purchase(&req).await?;
    /// println!("bought {}", service.service_id);
    /// # Ok(()) }
    /// ```
    pub async fn purchase(&self, req: &PurchaseRequest) -> Result<Response<Service>> {
        let op = Operation::Purchase;
        req.service_type().for_request(op)?;
        self.change(op, None, |raw| raw.purchase(req)).await
    }

    /// `GET /services`: one page. See [`services_stream`](Self::services_stream) for every
    /// service, [`services_page_stream`](Self::services_page_stream) for every page and
    /// [`all_services`](Self::all_services) for all of them at once.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let page = client.services_page(&opx::types::ServiceQuery::new().limit(100)).await?;
    /// println!("{} services, more: {}", page.services.len(), page.next_cursor.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn services_page(&self, query: &ServiceQuery) -> Result<Response<ServicePage>> {
        let op = Operation::ListServices;
        let limit = page_size(op, query.paging.limit)?;
        let t = query
            .service_type
            .as_ref()
            .map(|t| t.for_request(op))
            .transpose()?;
        let (status, cursor) = (query.status.as_ref(), query.paging.cursor.as_ref());
        let r = self
            .call(op, |raw| raw.list_services(cursor, limit, status, t))
            .await?;
        Ok(r.map(|v| v.data))
    }

    /// Every service matching `query`, all pages of `GET /services` (items that did not decode
    /// are left out: page through [`services_page_stream`](Self::services_page_stream) to see
    /// them).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// for s in client.all_services(&opx::types::ServiceQuery::new()).await? {
    ///     println!("{} expires {}", s.service_id, s.expires_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn all_services(&self, query: &ServiceQuery) -> Result<Vec<Service>> {
        use futures::TryStreamExt;
        self.services_stream(query).try_collect().await
    }

    /// `GET /services/{id}`: credentials, whitelist, expiry, country, rotation.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let id: opx::types::ServiceId = "65aa1100b2c3d4e5f6a7b8d0".parse()?;
    /// let s = client.service(&id).await?;
    /// println!("login {}", s.auth.login);
    /// # Ok(()) }
    /// ```
    pub async fn service(&self, id: &ServiceId) -> Result<Response<Service>> {
        let r = self
            .call(Operation::GetService, |raw| raw.get_service(id))
            .await?;
        Ok(r.map(|v| v.data))
    }

    /// `POST /services/{id}/extend`: charges the plan price and adds one period.
    ///
    /// **Never retried.** On [`Error::is_outcome_unknown`], see
    /// [`extend_safely`](Self::extend_safely).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// let s = client.extend(&id).await?;
    /// println!("now expires {}", s.expires_at);
    /// # Ok(()) }
    /// ```
    pub async fn extend(&self, id: &ServiceId) -> Result<Response<Service>> {
        self.change(Operation::ExtendService, Some(id), |raw| {
            raw.extend_service(id)
        })
        .await
    }

    /// `PUT /services/{id}/whitelist`: replaces the whole whitelist.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// let wl = opx::types::Whitelist::parse(["203.0.113.10"])?;
    /// client.replace_whitelist(&id, &wl).await?;
    /// # Ok(()) }
    /// ```
    pub async fn replace_whitelist(
        &self,
        id: &ServiceId,
        whitelist: &Whitelist,
    ) -> Result<Response<Service>> {
        self.change(Operation::ReplaceWhitelist, Some(id), |raw| {
            raw.replace_whitelist(id, whitelist)
        })
        .await
    }

    /// `POST /services/{id}/credentials`: new login and password (the old ones stop working).
    /// Limited to 30/hour. **Never retried.**
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// let s = client.regenerate_credentials(&id).await?;
    /// println!("new login {}", s.auth.login);
    /// # Ok(()) }
    /// ```
    pub async fn regenerate_credentials(&self, id: &ServiceId) -> Result<Response<Service>> {
        self.change(Operation::RegenerateCredentials, Some(id), |raw| {
            raw.regenerate_credentials(id)
        })
        .await
    }

    /// `PUT /services/{id}/country` (IPv6 rotating only).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// client.change_country(&id, &opx::types::Country::new("us")?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn change_country(
        &self,
        id: &ServiceId,
        country: &Country,
    ) -> Result<Response<Service>> {
        let body = g::CountryRequest {
            country: country.clone(),
        };
        self.change(Operation::ChangeCountry, Some(id), |raw| {
            raw.change_country(id, &body)
        })
        .await
    }

    /// `PUT /services/{id}/rotation` (IPv6 rotating only).
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, id: opx::types::ServiceId) -> opx::Result<()> {
    /// client.change_rotation(&id, &opx::types::Rotation::new("instant")?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn change_rotation(
        &self,
        id: &ServiceId,
        rotation: &Rotation,
    ) -> Result<Response<Service>> {
        let body = g::RotationRequest {
            rotation: rotation.clone(),
        };
        self.change(Operation::ChangeRotation, Some(id), |raw| {
            raw.change_rotation(id, &body)
        })
        .await
    }
}
