//! The listings of `opx services` and `opx logs`: one page, or every page with `--all` (a
//! progress bar on stderr when it is a terminal, nothing there otherwise).

use std::io::IsTerminal;

use futures::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::value::RawValue;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Table};

/// What one listing needs to know about its pages.
pub trait Listing {
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
    /// One table row.
    fn row(item: &Self::Item) -> Vec<String>;
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
    const ITEMS: &'static str = "services";
    const HEADER: &'static [&'static str] = &[
        "ID", "TYPE", "STATUS", "THREADS", "COUNTRY", "ROTATION", "EXPIRES",
    ];
    type Item = opx::types::Service;
    const ID_FIELD: &'static str = "service_id";
    page_parts!(services);
    fn row(s: &opx::types::Service) -> Vec<String> {
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
        ]
    }
}

impl Listing for opx::types::LogPage {
    const ITEMS: &'static str = "logs";
    const HEADER: &'static [&'static str] = &["TIME", "METHOD", "PATH", "STATUS", "IP"];
    type Item = opx::types::LogEntry;
    const ID_FIELD: &'static str = "log_id";
    page_parts!(logs);
    fn row(l: &opx::types::LogEntry) -> Vec<String> {
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

/// The rows of a page: its items, then those that did not decode.
fn rows<P: Listing>(page: &P, table: &mut Table) {
    add_rows(table, page.items(), P::row, page.undecoded(), P::ID_FIELD);
}

/// Prints one page.
fn print_page<P: Listing>(page: &opx::Response<P>, json: bool) -> Result<(), Failure> {
    if json {
        return output::print_data(page.body());
    }
    let mut table = Table::new(P::HEADER);
    rows(&**page, &mut table);
    output::print(&table.render_or(&nothing::<P>(page.next_cursor().is_some())))?;
    if let Some(cursor) = page.next_cursor()
        && std::io::stderr().is_terminal()
    {
        eprintln!(
            "more {}: --all, or --cursor {}",
            P::ITEMS,
            output::printable(cursor)
        );
    }
    Ok(())
}

/// Drains every page and prints all items: one table, or one JSON document
/// `{"<items>": [...], "next_cursor": null}` made of the items exactly as returned.
async fn print_all<P: Listing>(
    pages: impl Stream<Item = opx::Result<opx::Response<P>>>,
    json: bool,
) -> Result<(), Failure> {
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(P::ITEMS);
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut table = Table::new(P::HEADER);
    let mut raw_items: Vec<String> = Vec::new();
    let mut pages = std::pin::pin!(pages);
    while let Some(page) = pages.next().await {
        let page = page?;
        progress.inc(page.items().len() as u64);
        if json {
            raw_items.extend(raw_page_items(page.body(), P::ITEMS)?);
        } else {
            rows(&*page, &mut table);
        }
    }
    progress.finish_and_clear();
    if json {
        output::print(&format!(
            "{{\"{}\":[{}],\"next_cursor\":null}}\n",
            P::ITEMS,
            raw_items.join(",")
        ))
    } else {
        output::print(&table.render_or(&nothing::<P>(false)))
    }
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

/// Prints `every_page` when there is such a stream (`--all`, prefetching), else the page
/// `one_page` reads.
pub async fn one_page_or_all<P: Listing>(
    ctx: &Ctx,
    every_page: Option<impl Stream<Item = opx::Result<opx::Response<P>>>>,
    one_page: impl Future<Output = opx::Result<opx::Response<P>>>,
) -> Result<(), Failure> {
    if let Some(pages) = every_page {
        return print_all(pages, ctx.json).await;
    }
    match ctx.read(one_page).await? {
        Some(page) => print_page(&page, ctx.json),
        None => Ok(()),
    }
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
