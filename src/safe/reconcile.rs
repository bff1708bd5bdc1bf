//! Telling a new service from the ones that were there: the snapshot taken before a purchase,
//! and the search for what it did not have.

use std::collections::HashSet;

use futures::TryStreamExt;
use serde_json::Value;

use super::PurchaseOutcome;
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{PurchaseRequest, Service, ServicePage, ServiceQuery, Undecoded};
use crate::operation::{Operation, StatusFilter};
use crate::validate::ServiceId;

/// The services an account held before a purchase, as far as needed to tell a new one from
/// them: every id of the first page of `GET /services` (or of every page, see
/// [`ReconcilePolicy::full_snapshot`](crate::ReconcilePolicy::full_snapshot)), in the order
/// listed, and whether that was all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseSnapshot {
    ids: HashSet<ServiceId>,
    complete: bool,
}

impl PurchaseSnapshot {
    /// Whether the snapshot holds every matching service (then the comparison is exact in any
    /// listing order).
    pub fn is_complete(&self) -> bool {
        self.complete
    }
    /// How many services it holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The services a purchase of `req` could have created: active, of its type, 100 a page.
fn query(req: &PurchaseRequest) -> ServiceQuery {
    ServiceQuery::new()
        .status(StatusFilter::Active)
        .service_type(req.service_type().clone())
        .limit(Operation::ListServices.max_page_size().unwrap_or(100))
}

/// One listed service, decoded or not.
enum Listed {
    Decoded(Service),
    Raw(Undecoded),
}

impl Listed {
    fn id(&self) -> Option<ServiceId> {
        match self {
            Listed::Decoded(s) => Some(s.service_id.clone()),
            Listed::Raw(u) => u.field("service_id").and_then(|i| ServiceId::new(i).ok()),
        }
    }
    /// Whether it could be the purchase of `req`: only the fields matched on are read, so a
    /// service whose other fields do not decode still counts.
    fn matches(&self, req: &PurchaseRequest) -> bool {
        let raw = match self {
            Listed::Decoded(s) => serde_json::to_value(s).unwrap_or(Value::Null),
            Listed::Raw(u) => u.raw.clone(),
        };
        let text = |k: &str| raw.get(k).and_then(Value::as_str);
        let plan_ok =
            text("plan_id").is_none_or(|p| p.eq_ignore_ascii_case(req.plan_id().as_str()));
        let country_ok = req
            .country_value()
            .is_none_or(|c| text("country").is_none_or(|v| v.eq_ignore_ascii_case(c.as_str())));
        let rotation_ok = req
            .rotation_value()
            .is_none_or(|r| text("rotation").is_none_or(|v| v.eq_ignore_ascii_case(r.as_str())));
        plan_ok && country_ok && rotation_ok
    }
}

/// A page's items, decoded or not, in the order the server listed them.
fn listed(page: ServicePage) -> Vec<Listed> {
    let mut raw = page.undecoded;
    raw.sort_by_key(|u| u.index);
    let (mut raw, mut decoded) = (raw.into_iter().peekable(), page.services.into_iter());
    let mut out = Vec::new();
    loop {
        let pos = out.len();
        let next = match raw.peek() {
            Some(u) if u.index == pos => raw.next().map(Listed::Raw),
            _ => decoded
                .next()
                .map(Listed::Decoded)
                .or_else(|| raw.next().map(Listed::Raw)),
        };
        match next {
            Some(item) => out.push(item),
            None => return out,
        }
    }
}

/// An unknown-outcome error naming why reconciliation could not tell.
pub(super) fn unknown(original: &Error, why: &str) -> Error {
    Error::new(
        ErrorKind::OutcomeUnknown,
        format!("{}; {why}", original.message()),
    )
    .with_operation(original.operation().unwrap_or(Operation::Purchase))
}

impl Client {
    /// What the account holds before a purchase of `req` (one request, or one per 100 services
    /// with a full snapshot): pass it to [`reconcile_purchase`](Self::reconcile_purchase) if the
    /// purchase's outcome turns out unknown, also after dropping its future.
    pub async fn purchase_snapshot(&self, req: &PurchaseRequest) -> Result<PurchaseSnapshot> {
        let q = query(req);
        if !self.t.reconcile.is_full_snapshot() {
            let page = self.services_page(&q).await?.into_inner();
            let complete = page.next_cursor.is_none();
            let ids = page.service_ids().collect();
            return Ok(PurchaseSnapshot { ids, complete });
        }
        let pages: Vec<_> = self.services_page_stream(&q).try_collect().await?;
        let ids = pages
            .into_iter()
            .flat_map(|p| p.into_inner().service_ids().collect::<Vec<_>>());
        Ok(PurchaseSnapshot {
            ids: ids.collect(),
            complete: true,
        })
    }

    /// Learns what a purchase of `req` whose outcome is unknown did, against the `snapshot`
    /// taken before it, looking as often and as long as the client's
    /// [`ReconcilePolicy`](crate::ReconcilePolicy) says: for a caller that dropped a purchase's
    /// future, or lost its answer some other way.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, req: opx::PurchaseRequest) -> opx::Result<()> {
    /// let snapshot = client.purchase_snapshot(&req).await?;
    /// let sent = tokio::time::timeout(std::time::Duration::from_secs(5), client.purchase(&req)).await;
    /// if sent.is_err() {
    ///     // The future was dropped: did the purchase happen?
    ///     let outcome = client.reconcile_purchase(&req, &snapshot).await?;
    ///     println!("charged: {:?}", outcome.charged());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn reconcile_purchase(
        &self,
        req: &PurchaseRequest,
        snapshot: &PurchaseSnapshot,
    ) -> Result<PurchaseOutcome> {
        let error = Error::new(
            ErrorKind::OutcomeUnknown,
            "the purchase's answer was not received",
        )
        .with_operation(Operation::Purchase);
        self.reconcile_with(req, snapshot, error).await
    }

    /// [`reconcile_purchase`](Self::reconcile_purchase) for a purchase that failed with `error`.
    pub(super) async fn reconcile_with(
        &self,
        req: &PurchaseRequest,
        snapshot: &PurchaseSnapshot,
        error: Error,
    ) -> Result<PurchaseOutcome> {
        let policy = self.t.reconcile;
        for n in 0..policy.check_count() {
            self.t.clock.sleep(policy.pause_before(n)).await;
            let mut found = match self.new_services(req, snapshot).await {
                Ok(found) => found,
                Err(read) => {
                    let why = format!("checking GET /services failed too: {read}");
                    return Ok(PurchaseOutcome::Unknown(unknown(&error, &why)));
                }
            };
            match found.len() {
                0 => continue,
                1 => {
                    return Ok(match found.remove(0) {
                        Listed::Decoded(s) => PurchaseOutcome::Recovered(s),
                        Listed::Raw(u) => PurchaseOutcome::RecoveredUnread(u),
                    });
                }
                _ => {
                    let ids = found.iter().filter_map(Listed::id).collect();
                    return Ok(PurchaseOutcome::Ambiguous(ids));
                }
            }
        }
        if !snapshot.complete {
            let why = "no new service is ahead of the account's first page of services, and the \
                       rest could not be compared (see ReconcilePolicy::full_snapshot)";
            return Ok(PurchaseOutcome::Unknown(unknown(&error, why)));
        }
        Ok(PurchaseOutcome::NotPurchased {
            error,
            watched: policy.watched(),
        })
    }

    /// The matching services the snapshot did not hold. With a partial snapshot, only those
    /// listed ahead of every service it held (the docs' lists are newest first).
    async fn new_services(
        &self,
        req: &PurchaseRequest,
        snapshot: &PurchaseSnapshot,
    ) -> Result<Vec<Listed>> {
        let pages: Vec<_> = self.services_page_stream(&query(req)).try_collect().await?;
        let all = pages.into_iter().flat_map(|p| listed(p.into_inner()));
        let mut found = Vec::new();
        for item in all {
            let Some(id) = item.id() else { continue };
            if snapshot.ids.contains(&id) {
                if !snapshot.complete {
                    break;
                }
                continue;
            }
            if item.matches(req) {
                found.push(item);
            }
        }
        Ok(found)
    }
}
