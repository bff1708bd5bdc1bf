//! `opx logs`: the API action log, one page or every page with `--all`.

use opx::types::LogQuery;

use crate::args::{When, page_size, when};
use crate::context::Ctx;
use crate::failure::Failure;
use crate::listing::{self, given};

/// The arguments of `opx logs`: a time range and paging.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  # The latest page of the API action log
  opx logs
  # Everything of the last day, every page
  opx logs --since 1d --all
  # One UTC day, as JSON
  opx logs --since 2026-06-01 --until 2026-06-01 --all --json")]
pub struct LogsArgs {
    /// Only entries at or after this time: 2026-06-01T00:00:00Z, a date (2026-06-01, from its
    /// start, UTC), or a time ago (1h, 2d, 90m).
    #[arg(long, value_name = "TIME", value_parser = when)]
    since: Option<When>,
    /// Only entries at or before this time: the same forms (a date up to its end).
    #[arg(long, value_name = "TIME", value_parser = when)]
    until: Option<When>,
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
    /// The query these arguments select (prefetching the next page with `--all`), `now` being
    /// the server's time (for a time ago).
    fn query(&self, now: chrono::DateTime<chrono::Utc>) -> LogQuery {
        let since = self.since.map(|w| w.start(now));
        let until = self.until.map(|w| w.end(now));
        let q = given(LogQuery::new(), since, LogQuery::since);
        let q = given(q, until, LogQuery::until);
        let q = given(q, self.limit, LogQuery::limit);
        given(q, self.cursor.clone(), LogQuery::cursor).prefetch(self.all)
    }
}

/// `opx logs`: one page, or every page with `--all`.
pub async fn run(ctx: &Ctx, args: LogsArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let q = args.query(client.server_now());
    let every_page = args.all.then(|| client.logs_page_stream(&q));
    listing::one_page_or_all(ctx, every_page, client.logs_page(&q)).await
}
