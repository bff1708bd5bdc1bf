//! `opx logs`: the API action log, one page or every page with `--all`.

use opx::types::LogQuery;

use crate::args::{When, when};
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
    /// Which pages.
    #[command(flatten)]
    pages: listing::Pages,
}

impl LogsArgs {
    /// The filters these arguments select, `now` being the server's time (for a time ago).
    fn query(&self, now: chrono::DateTime<chrono::Utc>) -> LogQuery {
        let since = self.since.map(|w| w.start(now));
        let until = self.until.map(|w| w.end(now));
        given(
            given(LogQuery::new(), since, LogQuery::since),
            until,
            LogQuery::until,
        )
    }

    /// Refuses (a usage error, before anything is sent) a range that ends before it starts,
    /// `now` being this machine's time (a time ago moves both ends alike).
    fn check_range(&self, now: chrono::DateTime<chrono::Utc>) -> Result<(), Failure> {
        match (self.since, self.until) {
            (Some(since), Some(until)) if since.start(now) > until.end(now) => Err(Failure::Usage(
                "--until is before --since: no entry can be in that range".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Whether a time is given as a time ago (read by the server's clock).
    fn ago(&self) -> bool {
        [self.since, self.until]
            .iter()
            .any(|w| matches!(w, Some(When::Ago(_))))
    }
}

/// `opx logs`: one page, `--limit` entries, or every page with `--all`. A time ago is counted
/// back from the server's time, so its clock is read first (one `GET /account`): a time ago by
/// a local clock that is off would select other entries.
pub async fn run(ctx: &Ctx, args: LogsArgs) -> Result<(), Failure> {
    args.check_range(chrono::Utc::now())?;
    let client = ctx.client()?;
    if args.ago() {
        client.account().await?;
    }
    let q = args.query(client.server_now());
    let every_page = |q: &LogQuery| client.logs_page_stream(q);
    listing::print_pages_of(ctx, args.pages, q, every_page, |q| async move {
        client.logs_page(&q).await
    })
    .await
}
