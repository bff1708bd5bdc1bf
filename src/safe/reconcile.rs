//! Telling a new service from the ones that were there: the snapshot taken before a purchase,
//! and the search for what it did not have.

use std::collections::HashSet;
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::Value;

use chrono::{DateTime, Utc};

use super::{ExtendOutcome, MoneyCall, PurchaseOutcome};
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::operation::{Operation, StatusFilter};
use crate::types::ServiceId;
use crate::types::{PurchaseRequest, Service, ServicePage, ServiceQuery, Undecoded};

/// The services an account held before a purchase, as far as needed to tell a new one from
/// them: every id of the first page of `GET /services` (or of every page, see
/// [`ReconcilePolicy::full_snapshot`](crate::safe::ReconcilePolicy::full_snapshot)), in the order
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

    /// The journal's record of a purchase of `req` sent after this snapshot (for
    /// [`Journal::begin`](super::Journal::begin)).
    pub fn to_call(&self, req: &PurchaseRequest) -> MoneyCall {
        let mut before: Vec<_> = self.ids.iter().cloned().collect();
        before.sort();
        MoneyCall::Purchase {
            request: req.clone(),
            before,
            complete: self.complete,
        }
    }

    /// The snapshot a journal entry recorded.
    pub(super) fn recorded(before: &[ServiceId], complete: bool) -> Self {
        Self {
            ids: before.iter().cloned().collect(),
            complete,
        }
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

/// An error naming why the outcome of `original` is unknown (or, for one that was done, why the
/// result cannot be shown): what happened, then `why` (what was checked), in one message. An
/// unknown one ends with what to do: check before sending it again.
pub(super) fn unknown(original: &Error, why: &str) -> Error {
    let (kind, then) = match original.kind() {
        ErrorKind::Unread => (ErrorKind::Unread, ""),
        _ => (
            ErrorKind::OutcomeUnknown,
            ": check GET /services before sending it again; sending it again now may charge twice",
        ),
    };
    let what = original.message();
    let what = what
        .strip_suffix(crate::transport::classify::UNKNOWN_HINT)
        .map_or(what, |w| w.trim_end_matches("; "));
    Error::new(kind, format!("{what}; {why}{then}"))
        .with_operation(original.operation().unwrap_or(Operation::Purchase))
}

/// The outcome of a money call whose answer was lost and that a watch did not find (`why`):
/// `done_unread` when the server had accepted it (a 2xx whose body was lost), else
/// `still_unknown`.
fn not_seen<O>(
    error: &Error,
    why: &str,
    done_unread: impl FnOnce(Error) -> O,
    still_unknown: impl FnOnce(Error) -> O,
) -> O {
    let error = unknown(error, why);
    if error.is_committed() {
        done_unread(error)
    } else {
        still_unknown(error)
    }
}

/// The longest a watch waits out one 429 of its reads; a longer `Retry-After` ends the watch.
pub(super) const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(300);

/// What one look at the account gave: a result, or a read error after waiting out a 429.
pub(super) enum Look<T> {
    Seen(T),
    Failed(Error),
}

/// What a whole watch gave: what it looked for, nothing, or (nothing and) a read error.
pub(super) enum Watched<T> {
    Found(T),
    Nothing,
    Failed(Error),
}

impl Client {
    /// Runs `read`, waiting out a rate limit (a 429, or the client's own refusal) for as long
    /// as it says, up to [`MAX_RATE_LIMIT_WAIT`] in all.
    pub(super) async fn look<T, F, Fut>(&self, mut read: F) -> Look<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut waited = Duration::ZERO;
        loop {
            match read().await {
                Ok(v) => return Look::Seen(v),
                Err(e) => match e.retry_after().filter(|_| e.is_rate_limited()) {
                    Some(wait) if waited + wait <= MAX_RATE_LIMIT_WAIT => {
                        tracing::info!(
                            wait_s = wait.as_secs(),
                            "rate limited while watching: waiting"
                        );
                        self.clock().sleep(wait).await;
                        waited += wait;
                    }
                    _ => return Look::Failed(e),
                },
            }
        }
    }

    /// What the account holds before a purchase of `req` (one request, or one per 100 services
    /// with a full snapshot): pass it to [`reconcile_purchase`](Self::reconcile_purchase) if the
    /// purchase's outcome turns out unknown, also after dropping its future.
    pub async fn purchase_snapshot(&self, req: &PurchaseRequest) -> Result<PurchaseSnapshot> {
        let q = query(req);
        if !self.reconcile_policy().is_full_snapshot() {
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
    /// [`ReconcilePolicy`](crate::safe::ReconcilePolicy) says: for a caller that dropped a purchase's
    /// future, or lost its answer some other way.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client, req: opx::types::PurchaseRequest) -> opx::Result<()> {
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
        Ok(self.reconcile_with(req, snapshot, error, &[]).await)
    }

    /// [`reconcile_purchase`](Self::reconcile_purchase) for a purchase that failed with `error`
    /// (unknown, or done but unread). Never concludes "not purchased": a watch that sees
    /// nothing is [`PurchaseOutcome::Unknown`] (or, for a purchase the server accepted,
    /// [`PurchaseOutcome::PurchasedUnread`]).
    pub(super) async fn reconcile_with(
        &self,
        req: &PurchaseRequest,
        snapshot: &PurchaseSnapshot,
        error: Error,
        claimed: &[ServiceId],
    ) -> PurchaseOutcome {
        let seen = self
            .watch(|| async {
                let mut found = self.new_services(req, snapshot, claimed).await?;
                Ok(match found.len() {
                    0 => None,
                    1 => Some(match found.remove(0) {
                        Listed::Decoded(s) => PurchaseOutcome::Recovered(s),
                        Listed::Raw(u) => PurchaseOutcome::RecoveredUnread(u),
                    }),
                    _ => Some(PurchaseOutcome::Ambiguous(
                        found.iter().filter_map(Listed::id).collect(),
                    )),
                })
            })
            .await;
        let watched = self.reconcile_policy().watched();
        let why = match seen {
            Watched::Found(PurchaseOutcome::Ambiguous(ids)) if error.is_committed() => {
                let ids: Vec<_> = ids.iter().map(ToString::to_string).collect();
                let why = format!("one of the new services {} is it", ids.join(", "));
                return PurchaseOutcome::PurchasedUnread(unknown(&error, &why));
            }
            Watched::Found(outcome) => return outcome,
            Watched::Failed(read) => format!("checking GET /services failed too: {read}"),
            Watched::Nothing if !snapshot.complete => "no new service is ahead of the account's \
                 first page of services, and the rest could not be compared (see \
                 ReconcilePolicy::full_snapshot)"
                .to_owned(),
            Watched::Nothing => format!(
                "no new service appeared in {} of watching GET /services; it may still appear",
                crate::clock::human(watched)
            ),
        };
        not_seen(&error, &why, PurchaseOutcome::PurchasedUnread, |error| {
            PurchaseOutcome::Unknown { error, watched }
        })
    }

    /// Looks with `look` as often and as long as the [`ReconcilePolicy`](crate::safe::ReconcilePolicy)
    /// says, each look waiting out a 429: the first thing found, or nothing (and the last
    /// look's read error, if it failed).
    pub(super) async fn watch<T, F, Fut>(&self, mut look: F) -> Watched<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let policy = self.reconcile_policy();
        let mut failed = None;
        for n in 0..policy.check_count() {
            self.clock().sleep(policy.pause_before(n)).await;
            match self.look(&mut look).await {
                Look::Seen(Some(found)) => return Watched::Found(found),
                Look::Seen(None) => failed = None,
                Look::Failed(e) => failed = Some(e),
            }
        }
        failed.map_or(Watched::Nothing, Watched::Failed)
    }

    /// Whether a purchase of `req` made after `snapshot` is visible now: the new matching
    /// services not in `claimed` (the ones other journal entries already own).
    pub(super) async fn find_purchase(
        &self,
        req: &PurchaseRequest,
        snapshot: &PurchaseSnapshot,
        claimed: &[ServiceId],
    ) -> Look<Vec<ServiceId>> {
        match self
            .look(|| self.new_services(req, snapshot, claimed))
            .await
        {
            Look::Seen(found) => Look::Seen(found.iter().filter_map(Listed::id).collect()),
            Look::Failed(e) => Look::Failed(e),
        }
    }

    /// The matching services the snapshot did not hold. With a partial snapshot, only those
    /// listed ahead of every service it held (the docs' lists are newest first).
    async fn new_services(
        &self,
        req: &PurchaseRequest,
        snapshot: &PurchaseSnapshot,
        claimed: &[ServiceId],
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
            if item.matches(req) && !claimed.contains(&id) {
                found.push(item);
            }
        }
        Ok(found)
    }

    /// Watches `id` after an extension whose answer was lost (`error`): recovered when its
    /// expiry moves past `before`, else unknown (or, for an accepted one, done but unread).
    pub(super) async fn watch_extension(
        &self,
        id: &ServiceId,
        before: DateTime<Utc>,
        error: Error,
    ) -> ExtendOutcome {
        let moved = self
            .watch(|| async {
                let s = self.service(id).await?.into_inner();
                Ok((s.expires_at > before).then_some(s))
            })
            .await;
        let watched = self.reconcile_policy().watched();
        let why = match moved {
            Watched::Found(s) => return ExtendOutcome::Recovered(s),
            Watched::Failed(read) => format!("reading the service failed: {read}"),
            Watched::Nothing => format!(
                "the expiry did not move in {} of watching GET /services/{{id}}; it may still move",
                crate::clock::human(watched)
            ),
        };
        not_seen(&error, &why, ExtendOutcome::ExtendedUnread, |error| {
            ExtendOutcome::Unknown { error, watched }
        })
    }
}
