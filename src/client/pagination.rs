//! Cursor pagination of `GET /services` and `GET /logs` as `futures::Stream`s: lazy, filters
//! kept on every page, optional prefetch of the next page, loops in the cursor chain refused.

use std::{collections::HashSet, future::Future};

use futures::{Stream, TryStreamExt, stream};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::ratelimit::paced;
use crate::response::Response;
use crate::types::{
    LogEntry, LogPage, LogQuery, Paging, Service, ServicePage, ServiceQuery, Undecoded,
};

/// A page with a `next_cursor`.
trait Paged {
    fn next_cursor(&self) -> Option<&str>;
}
impl Paged for ServicePage {
    fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }
}
impl Paged for LogPage {
    fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }
}

/// A spawned fetch of the next page, aborted if the stream is dropped first.
struct Prefetch<T>(tokio::task::JoinHandle<T>);
impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct State<F, P> {
    fetch: F,
    cursor: Option<String>,
    done: bool,
    seen: HashSet<String>,
    prefetch: bool,
    pending: Option<Prefetch<Result<Response<P>>>>,
}

fn pages<P, F, Fut>(
    first: Option<String>,
    prefetch: bool,
    fetch: F,
) -> impl Stream<Item = Result<Response<P>>> + Send + 'static
where
    P: Paged + Send + 'static,
    F: Fn(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<P>>> + Send + 'static,
{
    let state = State {
        fetch,
        cursor: first,
        done: false,
        seen: HashSet::new(),
        prefetch,
        pending: None,
    };
    stream::try_unfold(state, |mut st| async move {
        if st.done {
            return Ok(None);
        }
        let page = match st.pending.take() {
            Some(mut p) => (&mut p.0).await.map_err(|e| {
                Error::new(ErrorKind::Transport, "the page prefetch task failed").with_source(e)
            })??,
            None => (st.fetch)(st.cursor.clone()).await?,
        };
        match page.next_cursor() {
            None => st.done = true,
            Some(next) => {
                if !st.seen.insert(next.to_owned()) {
                    return Err(Error::new(
                        ErrorKind::Decode,
                        format!("the server sent cursor {next:?} twice; stopping to avoid a loop"),
                    ));
                }
                st.cursor = Some(next.to_owned());
                if st.prefetch
                    && let Ok(rt) = tokio::runtime::Handle::try_current()
                {
                    let fut = (st.fetch)(st.cursor.clone());
                    st.pending = Some(Prefetch(rt.spawn(fut)));
                }
            }
        }
        Ok(Some((page, st)))
    })
}

fn warn_undecoded(what: &str, undecoded: &[Undecoded]) {
    if let Some(first) = undecoded.first() {
        tracing::warn!(
            count = undecoded.len(),
            reason = %first.reason,
            "{what} that did not decode were left out of the stream"
        );
    }
}

/// A query of a paginated operation: its shared paging part.
pub(crate) trait PageQuery: Clone + Send + 'static {
    fn paging(&self) -> &Paging;
    fn paging_mut(&mut self) -> &mut Paging;
}

impl PageQuery for ServiceQuery {
    fn paging(&self) -> &Paging {
        &self.paging
    }
    fn paging_mut(&mut self) -> &mut Paging {
        &mut self.paging
    }
}

impl PageQuery for LogQuery {
    fn paging(&self) -> &Paging {
        &self.paging
    }
    fn paging_mut(&mut self) -> &mut Paging {
        &mut self.paging
    }
}

/// Every page `fetch` gives for `query`, the cursor moving from page to page. Each page is
/// fetched paced, whatever the client's policy: a stream waits for an exhausted window rather
/// than ending midway with no way to resume.
fn page_stream<Q, P, F, Fut>(
    client: &Client,
    query: &Q,
    fetch: F,
) -> impl Stream<Item = Result<Response<P>>> + Send + 'static + use<Q, P, F, Fut>
where
    Q: PageQuery,
    P: Paged + Send + 'static,
    F: Fn(Client, Q) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<P>>> + Send + 'static,
{
    let (client, query) = (client.clone(), query.clone());
    let paging = query.paging().clone();
    pages(paging.cursor, paging.prefetch, move |cursor| {
        let mut q = query.clone();
        q.paging_mut().cursor = cursor;
        paced(fetch(client.clone(), q))
    })
}

/// The items of every page, in order; items that did not decode are left out with a warning.
fn item_stream<P, T>(
    pages: impl Stream<Item = Result<Response<P>>> + Send + 'static,
    what: &'static str,
    split: fn(P) -> (Vec<T>, Vec<Undecoded>),
) -> impl Stream<Item = Result<T>> + Send + 'static
where
    P: Send + 'static,
    T: Send + 'static,
{
    pages
        .map_ok(move |p| {
            let (items, undecoded) = split(p.into_inner());
            warn_undecoded(what, &undecoded);
            stream::iter(items.into_iter().map(Ok))
        })
        .try_flatten()
}

impl Client {
    /// The pages of `GET /services` as a stream, following `next_cursor` lazily with the same
    /// filters on every page (and fetching the next page ahead with
    /// [`ServiceQuery::prefetch`]). Pages are fetched paced whatever the
    /// [`RateLimitPolicy`](crate::RateLimitPolicy): an exhausted window is waited out, so a
    /// stream never ends midway on a rate limit.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let mut pages = std::pin::pin!(client.services_page_stream(&opx::types::ServiceQuery::new().limit(100)));
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} services", page.services.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn services_page_stream(
        &self,
        query: &ServiceQuery,
    ) -> impl Stream<Item = Result<Response<ServicePage>>> + Send + 'static + use<> {
        page_stream(self, query, |c, q| async move { c.services_page(&q).await })
    }

    /// Every service matching `query`, one item at a time, across pages. Items that did not
    /// decode are left out (with a warning): the pages have them.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let q = opx::types::ServiceQuery::new().status(opx::types::StatusFilter::All).prefetch(true);
    /// let all: Vec<opx::types::Service> = client.services_stream(&q).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn services_stream(
        &self,
        query: &ServiceQuery,
    ) -> impl Stream<Item = Result<Service>> + Send + 'static + use<> {
        item_stream(self.services_page_stream(query), "services", |p| {
            (p.services, p.undecoded)
        })
    }

    /// The pages of `GET /logs` as a stream (see [`services_page_stream`](Self::services_page_stream)).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let mut pages = std::pin::pin!(client.logs_page_stream(&opx::types::LogQuery::new()));
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} entries", page.logs.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn logs_page_stream(
        &self,
        query: &LogQuery,
    ) -> impl Stream<Item = Result<Response<LogPage>>> + Send + 'static + use<> {
        page_stream(self, query, |c, q| async move { c.logs_page(&q).await })
    }

    /// Every log entry matching `query`, one at a time, across pages.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: opx::Client) -> opx::Result<()> {
    /// let since = chrono::Utc::now() - chrono::Duration::days(1);
    /// let n = client.logs_stream(&opx::types::LogQuery::new().since(since)).try_fold(0, |n, _| async move { Ok(n + 1) }).await?;
    /// # Ok(()) }
    /// ```
    pub fn logs_stream(
        &self,
        query: &LogQuery,
    ) -> impl Stream<Item = Result<LogEntry>> + Send + 'static + use<> {
        item_stream(self.logs_page_stream(query), "log entries", |p| {
            (p.logs, p.undecoded)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::sync::{Arc, Mutex};

    fn page(next: Option<&str>) -> Response<ServicePage> {
        Response::new(
            ServicePage {
                next_cursor: next.map(str::to_owned),
                ..ServicePage::default()
            },
            http::StatusCode::OK,
            None,
        )
    }

    #[tokio::test]
    async fn follows_cursors_lazily_and_stops_at_the_end() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c = calls.clone();
        let s = pages(None, false, move |cursor: Option<String>| {
            c.lock().unwrap().push(cursor.clone());
            let next = match cursor.as_deref() {
                None => Some("a"),
                Some("a") => Some("b"),
                _ => None,
            };
            async move { Ok(page(next)) }
        });
        let mut s = std::pin::pin!(s);
        assert!(
            calls.lock().unwrap().is_empty(),
            "nothing fetched before polling"
        );
        s.next().await.unwrap().unwrap();
        assert_eq!(calls.lock().unwrap().len(), 1, "lazy: one page per poll");
        let rest: Vec<_> = s.collect().await;
        assert_eq!(rest.len(), 2);
        assert_eq!(
            *calls.lock().unwrap(),
            [None, Some("a".to_owned()), Some("b".to_owned())]
        );
    }

    #[tokio::test]
    async fn a_cursor_loop_is_an_error_not_an_endless_stream() {
        let s = pages(None, false, |_cursor: Option<String>| async {
            Ok(page(Some("same")))
        });
        let got: Vec<_> = s.collect().await;
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert_eq!(got[1].as_ref().unwrap_err().kind(), ErrorKind::Decode);
    }

    #[tokio::test]
    async fn prefetch_fetches_the_next_page_before_it_is_asked_for() {
        let calls = Arc::new(Mutex::new(0));
        let c = calls.clone();
        let s = pages(None, true, move |cursor: Option<String>| {
            *c.lock().unwrap() += 1;
            let next = if cursor.is_none() { Some("a") } else { None };
            async move { Ok(page(next)) }
        });
        let mut s = std::pin::pin!(s);
        s.next().await.unwrap().unwrap();
        assert_eq!(
            *calls.lock().unwrap(),
            2,
            "page 2 requested while page 1 is consumed"
        );
        assert!(s.next().await.unwrap().is_ok());
        assert!(s.next().await.is_none());
        assert_eq!(*calls.lock().unwrap(), 2);
    }

    #[tokio::test]
    async fn an_error_ends_the_stream() {
        let s = pages(None, false, |_c: Option<String>| async {
            Err::<Response<ServicePage>, _>(Error::new(ErrorKind::Transport, "boom"))
        });
        let got: Vec<_> = s.collect().await;
        assert_eq!(got.len(), 1);
    }
}
