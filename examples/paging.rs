//! Page through every service and the recent API log, as streams.
//!
//! `cargo run --example paging` (on the built-in mock without `OPX_TOKEN`).

mod common;

use futures::TryStreamExt;
use opx::types::{LogQuery, ServiceQuery, StatusFilter};

#[tokio::main]
async fn main() -> opx::Result<()> {
    let target = common::Target::connect().await?;
    if let Some(mock) = &target.mock {
        mock.services().seed(120);
        mock.accounts().seed_logs(30);
    }
    let client = &target.client;

    // Item by item, 50 per page, the next page fetched while this one is printed.
    let query = ServiceQuery::new()
        .status(StatusFilter::All)
        .limit(50)
        .prefetch(true);
    let mut services = std::pin::pin!(client.services_stream(&query));
    let mut n = 0;
    while let Some(s) = services.try_next().await? {
        n += 1;
        println!(
            "{n:>4} {} {:<14} expires {}",
            s.service_id, s.service_type, s.expires_at
        );
    }

    // Page by page, with the rate-limit headers of each page.
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let mut pages =
        std::pin::pin!(client.logs_page_stream(&LogQuery::new().since(since).limit(20)));
    while let Some(page) = pages.try_next().await? {
        let remaining = page.rate_limit().and_then(|r| r.remaining());
        println!(
            "log page: {} entries (rate limit remaining: {remaining:?})",
            page.logs.len()
        );
        for l in &page.logs {
            println!(
                "  {:?} {} {} -> {:?}",
                l.created_at(),
                l.method().unwrap_or("-"),
                l.path().unwrap_or("-"),
                l.http_status()
            );
        }
    }
    Ok(())
}
