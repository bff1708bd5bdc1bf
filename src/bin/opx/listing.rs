//! The listings of `opx services` and `opx logs`: one page, or every page with `--all` (a
//! progress bar on stderr when it is a terminal, nothing there otherwise).

use std::io::IsTerminal;

use futures::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::value::RawValue;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Now, Table};

/// What one listing needs to know about its pages.
pub trait Listing {
    /// The operation that reads a page (its largest page size is the spec's).
    const OPERATION: opx::Operation;
    /// The item kind's name, plural (`services`, `logs`): also the `data` member of a page.
    const ITEMS: &'static str;
    /// The table header.
    const HEADER: &'static [&'static str];
    /// The typed items of a page.
    type Item;
    /// The page's items.
    fn items(&self) -> &[Self::Item];
    /// The page's items that did not decode.
    fn undecoded(&self) -> &[opx::types::Undecoded];
    /// The member that names an item (shown for one that did not decode).
    const ID_FIELD: &'static str;
    /// The page's cursor for the next page.
    fn next_cursor(&self) -> Option<&str>;
    /// One table row, `now` being the server's time.
    fn row(item: &Self::Item, now: Now) -> Vec<String>;
    /// Whether an item needs the user's attention (an expired service), `now` being the
    /// server's time: a line on stderr counts them after the table.
    fn flagged(_item: &Self::Item, _now: Now) -> bool {
        false
    }
    /// What the flagged items need, after their count (`of these services have expired...`).
    const FLAG_NOTE: &'static str = "";
}

/// The accessors of a page whose items are its `$items` member; every page keeps the rest in
/// `undecoded` and `next_cursor`.
macro_rules! page_parts {
    ($items:ident) => {
        fn items(&self) -> &[Self::Item] {
            &self.$items
        }
        fn undecoded(&self) -> &[opx::types::Undecoded] {
            &self.undecoded
        }
        fn next_cursor(&self) -> Option<&str> {
            self.next_cursor.as_deref()
        }
    };
}

impl Listing for opx::types::ServicePage {
    const OPERATION: opx::Operation = opx::Operation::ListServices;
    const ITEMS: &'static str = "services";
    const HEADER: &'static [&'static str] = &[
        "ID",
        "TYPE",
        "STATUS",
        "THREADS",
        "COUNTRY",
        "ROTATION",
        "EXPIRES",
        "EXPIRES IN",
    ];
    type Item = opx::types::Service;
    const ID_FIELD: &'static str = "service_id";
    page_parts!(services);
    fn row(s: &opx::types::Service, now: Now) -> Vec<String> {
        vec![
            s.service_id.to_string(),
            s.service_type.to_string(),
            s.status
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string),
            s.threads.to_string(),
            s.country.clone(),
            s.rotation.clone(),
            output::time(&s.expires_at),
            output::expires_in(&s.expires_at, now),
        ]
    }
    fn flagged(s: &opx::types::Service, now: Now) -> bool {
        s.expires_at <= now || s.status == Some(opx::types::ServiceStatus::Expired)
    }
    const FLAG_NOTE: &'static str = "expired: the gateway refuses their lines until \
        `opx extend ID` extends them";
}

impl Listing for opx::types::LogPage {
    const OPERATION: opx::Operation = opx::Operation::ListLogs;
    const ITEMS: &'static str = "logs";
    const HEADER: &'static [&'static str] = &["TIME", "METHOD", "PATH", "STATUS", "IP"];
    type Item = opx::types::LogEntry;
    const ID_FIELD: &'static str = "log_id";
    page_parts!(logs);
    fn row(l: &opx::types::LogEntry, _now: Now) -> Vec<String> {
        let or_dash = |v: Option<&str>| v.unwrap_or("-").to_owned();
        vec![
            l.created_at()
                .map_or_else(|| "-".to_owned(), |t| output::time(&t)),
            or_dash(l.method()),
            or_dash(l.path()),
            l.http_status()
                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            or_dash(l.ip()),
        ]
    }
}

/// A table row for an item that did not decode: what names it, then the reason, over `columns`.
fn unreadable_row(u: &opx::types::Undecoded, id_field: &str, columns: usize) -> Vec<String> {
    let mut row = vec![u.field(id_field).unwrap_or("?").to_owned()];
    row.extend(std::iter::repeat_n(
        "-".to_owned(),
        columns.saturating_sub(2),
    ));
    row.push(format!("(unreadable: {})", u.reason));
    row
}

/// Adds a row for each of `items`, then one for each item that did not decode (named by its
/// `id_field`).
pub fn add_rows<T>(
    table: &mut Table,
    items: &[T],
    row: impl Fn(&T) -> Vec<String>,
    undecoded: &[opx::types::Undecoded],
    id_field: &str,
) {
    for item in items {
        table.row(row(item));
    }
    for u in undecoded {
        table.row(unreadable_row(u, id_field, table.columns()));
    }
}

/// The rows of a page: its items, then those that did not decode; how many items are flagged.
fn rows<P: Listing>(page: &P, now: Now, table: &mut Table) -> usize {
    add_rows(
        table,
        page.items(),
        |i| P::row(i, now),
        page.undecoded(),
        P::ID_FIELD,
    );
    page.items().iter().filter(|i| P::flagged(i, now)).count()
}

/// After a table, on stderr when it is a terminal: how many items are flagged, and where the
/// rest starts when more follow.
fn notes<P: Listing>(flagged: usize, more: Option<&str>) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    if flagged > 0 {
        eprintln!("warning: {flagged} of these {} {}", P::ITEMS, P::FLAG_NOTE);
    }
    if let Some(cursor) = more {
        eprintln!(
            "more {}: --all, or --cursor {}",
            P::ITEMS,
            output::printable(cursor)
        );
    }
}

/// Prints one page.
fn print_page<P: Listing>(page: &opx::Response<P>, now: Now, json: bool) -> Result<(), Failure> {
    if json {
        return output::print_data(page.body());
    }
    let mut table = Table::new(P::HEADER);
    let flagged = rows(&**page, now, &mut table);
    output::print(&table.render_or(&nothing::<P>(page.next_cursor().is_some())))?;
    notes::<P>(flagged, page.next_cursor());
    Ok(())
}

/// A spinner on stderr when it is a terminal, counting `P`'s items.
fn spinner<P: Listing>() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(P::ITEMS);
    bar
}

/// Drains `pages` and prints all their items: one table, or one JSON document
/// `{"<items>": [...], "next_cursor": ...}` made of the items exactly as returned, the cursor
/// being the last page's (`null` after the last page).
async fn print_pages<P: Listing>(
    client: &opx::Client,
    pages: impl Stream<Item = opx::Result<opx::Response<P>>>,
    json: bool,
) -> Result<(), Failure> {
    let progress = spinner::<P>();
    let mut table = Table::new(P::HEADER);
    let (mut raw_items, mut flagged, mut more) = (Vec::new(), 0, None);
    let mut pages = std::pin::pin!(pages);
    while let Some(page) = pages.next().await {
        let page = page?;
        progress.inc(page.items().len() as u64);
        more = page.next_cursor().map(str::to_owned);
        if json {
            raw_items.extend(raw_page_items(page.body(), P::ITEMS)?);
        } else {
            flagged += rows(&*page, client.server_now(), &mut table);
        }
    }
    progress.finish_and_clear();
    if json {
        let cursor = serde_json::to_string(&more).map_err(|e| Failure::Other(e.to_string()))?;
        return output::print_json_text(&format!(
            "{{\"{}\":[{}],\"next_cursor\":{cursor}}}",
            P::ITEMS,
            raw_items.join(",")
        ));
    }
    output::print(&table.render_or(&nothing::<P>(more.is_some())))?;
    notes::<P>(flagged, more.as_deref());
    Ok(())
}

/// The words for an empty listing: `No services.` (`on this page` when more pages follow).
fn nothing<P: Listing>(more: bool) -> String {
    let page = if more { " on this page" } else { "" };
    format!(
        "No {}{page}.",
        if P::ITEMS == "logs" {
            "log entries"
        } else {
            P::ITEMS
        }
    )
}

/// Which pages a listing reads: `--limit`, `--cursor`, `--all` (the same options, with the
/// same meaning, on every listing).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Pages {
    /// At most this many rows, over as many pages as that takes (without it: one page of the
    /// server's default size).
    #[arg(long, value_name = "N", conflicts_with = "all", value_parser = max_rows())]
    pub limit: Option<u32>,
    /// Start after this cursor (the `next_cursor` of a previous page).
    #[arg(long)]
    pub cursor: Option<String>,
    /// Fetch every page (of the largest size, so as few calls as can be).
    #[arg(long)]
    pub all: bool,
}

/// A listing's query: its filters, and the page to read.
pub trait PageQuery: Clone {
    /// This query for one page of at most `size` items (`None`: the server's default) after
    /// `cursor`.
    fn page(&self, size: Option<u32>, cursor: Option<String>) -> Self;
    /// This query for every page after `cursor`, each of `size` items, the next one read
    /// ahead.
    fn every_page(&self, size: u32, cursor: Option<String>) -> Self;
}

/// [`PageQuery`] for the facade's query builders, which share these setters.
macro_rules! page_query {
    ($($query:ty),*) => {$(
        impl PageQuery for $query {
            fn page(&self, size: Option<u32>, cursor: Option<String>) -> Self {
                given(given(self.clone(), size, <$query>::limit), cursor, <$query>::cursor)
            }
            fn every_page(&self, size: u32, cursor: Option<String>) -> Self {
                self.page(Some(size), cursor).prefetch(true)
            }
        }
    )*};
}
page_query!(opx::types::ServiceQuery, opx::types::LogQuery);

/// Prints the pages `pages` selects for `q`: with `--all` the library's page stream
/// `every_page(q)` (which prefetches), else through `one_page(q)`, one page at a time, each no
/// larger than what is left of `--limit`.
pub async fn print_pages_of<P, Q, S, F, Fut>(
    ctx: &Ctx,
    pages: Pages,
    q: Q,
    every_page: impl FnOnce(&Q) -> S,
    one_page: F,
) -> Result<(), Failure>
where
    P: Listing,
    Q: PageQuery,
    S: Stream<Item = opx::Result<opx::Response<P>>>,
    F: Fn(Q) -> Fut,
    Fut: Future<Output = opx::Result<opx::Response<P>>>,
{
    let client = ctx.client()?;
    let max_page = P::OPERATION.max_page_size().unwrap_or(u32::MAX);
    if pages.all {
        let every = q.every_page(max_page, pages.cursor);
        return print_pages(client, every_page(&every), ctx.json).await;
    }
    let budget = match pages.limit {
        Some(limit) if limit > max_page => u64::from(limit),
        limit => {
            return match ctx.read(one_page(q.page(limit, pages.cursor))).await? {
                Some(page) => print_page(&page, client.server_now(), ctx.json),
                None => Ok(()),
            };
        }
    };
    let read = futures::stream::unfold(Some((budget, pages.cursor)), |state| {
        let (one_page, q) = (&one_page, &q);
        async move {
            let (left, cursor) = state?;
            let size = u32::try_from(left).unwrap_or(u32::MAX).min(max_page);
            let page = one_page(q.page(Some(size), cursor)).await;
            let next = page.as_ref().ok().and_then(|p| {
                let read = (p.items().len() + p.undecoded().len()) as u64;
                let left = left.saturating_sub(read.max(1));
                let cursor = p.next_cursor().filter(|_| left > 0)?;
                Some((left, Some(cursor.to_owned())))
            });
            Some((page, next))
        }
    });
    print_pages(client, read, ctx.json).await
}

/// The parser of a listing's `--limit`: a maximum of rows, at least 1.
pub fn max_rows() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..)
}

/// `q` with `set` applied to the value, when the command line gave one.
pub fn given<Q, T>(q: Q, value: Option<T>, set: impl FnOnce(Q, T) -> Q) -> Q {
    match value {
        Some(v) => set(q, v),
        None => q,
    }
}

/// The items of a page's `data.<member>`, each exactly as the server wrote it.
fn raw_page_items(body: &[u8], member: &str) -> Result<Vec<String>, Failure> {
    let data = output::raw_data(body)?;
    let page: std::collections::HashMap<&str, &RawValue> = serde_json::from_str(data.get())
        .map_err(|e| Failure::Other(format!("unreadable page: {e}")))?;
    let list = page
        .get(member)
        .ok_or_else(|| Failure::Other(format!("the page has no `{member}` list")))?;
    let items: Vec<&RawValue> = serde_json::from_str(list.get())
        .map_err(|e| Failure::Other(format!("unreadable `{member}` list: {e}")))?;
    Ok(items.into_iter().map(|i| i.get().to_owned()).collect())
}
