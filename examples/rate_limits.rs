//! Handling rate limits: read the headers, stop when the window is exhausted, wait `Retry-After`.
//!
//! `cargo run --example rate_limits` (on the built-in mock, with a tiny limit, without
//! `OPX_TOKEN`).

mod common;

use std::time::Duration;

use opx::mock::Bucket;

#[tokio::main]
async fn main() -> opx::Result<()> {
    let target = common::Target::connect().await?;
    if let Some(mock) = &target.mock {
        mock.accounts().set_limit(Bucket::GlobalMinute, 3);
    }
    let client = &target.client;

    for i in 1..=5 {
        match client.account().await {
            Ok(account) => {
                let rl = account.rate_limit();
                println!(
                    "call {i}: ok, {:?} of {:?} left, window resets in {:?}",
                    rl.and_then(|r| r.remaining()),
                    rl.and_then(|r| r.limit()),
                    rl.and_then(|r| r.reset_after())
                );
                if rl.is_some_and(|r| r.is_exhausted()) {
                    println!("  the window is exhausted: the next call is refused locally");
                }
            }
            Err(e) if e.is_rate_limited() => {
                // Either refused locally (nothing sent) or a 429 from the server.
                println!(
                    "call {i}: rate limited ({e}); retry after {:?}",
                    e.retry_after()
                );
                let wait = e.retry_after().unwrap_or(Duration::from_secs(1));
                if wait > Duration::from_secs(5) {
                    println!("  not waiting {wait:?} in an example; stopping here");
                    break;
                }
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
    println!("latest snapshot: {:?}", client.rate_limit());
    Ok(())
}
