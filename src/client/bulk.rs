//! Bulk operations: many calls, a bounded number at once, paced to the rate limit.

use futures::{Stream, StreamExt};

use crate::client::Client;
use crate::error::Result;
use crate::ratelimit::paced;
use crate::response::Response;
use crate::types::ProxyQuery;
use crate::types::ServiceId;

impl Client {
    /// The proxy lists of many services (`GET /services/{id}/proxies?format=txt` each, as
    /// [`proxies_text`](Self::proxies_text)): a stream of ids in, a stream of
    /// `(id, list)` out, in the order the ids came, at most `concurrency` requests at once
    /// (0 counts as 1).
    ///
    /// The calls are paced whatever the client's [`RateLimitPolicy`](crate::RateLimitPolicy)
    /// ([`RateLimitPolicy::Pace`](crate::RateLimitPolicy::Pace): every request waits for its
    /// rate-limit window instead of failing), so a job of any size runs at the limit without
    /// 429s; the pacing state is the client's, shared with its other calls. One list failing
    /// (a service that is gone: `not_found`) does not stop the others.
    ///
    /// ```no_run
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// use futures::{StreamExt, TryStreamExt};
    /// let ids: Vec<opx::types::ServiceId> = client
    ///     .services_stream(&opx::types::ServiceQuery::new())
    ///     .map_ok(|s| s.service_id)
    ///     .try_collect()
    ///     .await?;
    /// let lists = client.proxy_lists(futures::stream::iter(ids), &opx::types::ProxyQuery::new(), 8);
    /// futures::pin_mut!(lists);
    /// while let Some((id, list)) = lists.next().await {
    ///     match list {
    ///         Ok(text) => println!("# {id}\n{}", *text),
    ///         Err(e) => eprintln!("{id}: {e}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn proxy_lists<S>(
        &self,
        ids: S,
        query: &ProxyQuery,
        concurrency: usize,
    ) -> impl Stream<Item = (ServiceId, Result<Response<String>>)> + Send + 'static
    where
        S: Stream<Item = ServiceId> + Send + 'static,
    {
        let (client, query) = (self.clone(), query.clone());
        ids.map(move |id| {
            let (client, query) = (client.clone(), query.clone());
            paced(async move {
                let list = client.proxies_text(&id, &query).await;
                (id, list)
            })
        })
        .buffered(concurrency.max(1))
    }
}
