//! `opx logs`: the API action log, one page or every page with `--all`.

use opx::types::LogQuery;

use crate::args::page_size;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::listing::{self, given};

/// The arguments of `opx logs`: a time range and paging.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// Only entries at or after this time (RFC 3339, e.g. 2026-06-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only entries at or before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<chrono::DateTime<chrono::Utc>>,
    /// Page size (1-200).
    #[arg(long, value_parser = page_size(opx::Operation::ListLogs))]
    limit: Option<u32>,
    /// Start after this cursor (the `next_cursor` of a previous page).
    #[arg(long)]
    cursor: Option<String>,
    /// Fetch every page.
    #[arg(long)]
    all: bool,
}

impl LogsArgs {
    /// The query these arguments select (prefetching the next page with `--all`).
    fn query(&self) -> LogQuery {
        let q = given(LogQuery::new(), self.since, LogQuery::since);
        let q = given(q, self.until, LogQuery::until);
        let q = given(q, self.limit, LogQuery::limit);
        given(q, self.cursor.clone(), LogQuery::cursor).prefetch(self.all)
    }
}

/// `opx logs`: one page, or every page with `--all`.
pub async fn run(ctx: &Ctx, args: LogsArgs) -> Result<(), Failure> {
    let q = args.query();
    let client = ctx.client()?;
    let every_page = args.all.then(|| client.logs_page_stream(&q));
    listing::one_page_or_all(ctx, every_page, client.logs_page(&q)).await
}
