//! A scraper on bought proxies, with its tests: make sure a service is active (buying the
//! cheapest plan once, safely, when none is), then fetch every URL through the in-process pool
//! of the services' lines: rotation, the thread limits, and failover to another line when one
//! fails. Copy this file (and its tests) as the start of your own.
//!
//! ```text
//! cargo run --example scraper                                # built-in mock, fetches a local page
//! OPX_TOKEN=opx_live_... cargo run --example scraper -- URL...         # your active services
//! OPX_TOKEN=opx_live_... cargo run --example scraper -- --buy URL...   # buys one if none is active
//! cargo test --example scraper                               # its tests, on opx::mock
//! ```
//!
//! In your own crate: `opx = { version = "0.1", features = ["gateway"] }`, `futures`, `tokio`
//! (`macros`, `rt-multi-thread`), and `opx` with `mock` in `[dev-dependencies]` for the tests.

use std::collections::BTreeSet;
use std::error::Error;
use std::time::Duration;

use futures::StreamExt;
use opx::gateway::{Gateway, ProxyPool};
use opx::safe::PurchaseOutcome;
use opx::types::{PurchaseRequest, ServiceId, ServiceQuery, StatusFilter};
use opx::{Client, ClientBuilder, RateLimitPolicy};

type BoxError = Box<dyn Error + Send + Sync>;

/// How many times one URL is tried, each on a fresh line.
const ATTEMPTS: u32 = 3;
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// The program's client settings, in one place for it and its tests: a call whose rate-limit
/// window is exhausted waits up to a minute for it instead of failing.
fn configure(builder: ClientBuilder) -> ClientBuilder {
    builder.rate_limit_policy(RateLimitPolicy::WaitUpTo(Duration::from_secs(60)))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let buy = args.iter().any(|a| a == "--buy");
    let mut urls: Vec<String> = args.into_iter().filter(|a| a != "--buy").collect();

    // The real API with a token; otherwise the built-in mock (its gateways reach loopback
    // only, so the pages come from a server started here).
    let mock;
    let client = if std::env::var_os(opx::ClientBuilder::TOKEN_ENV).is_some() {
        configure(ClientBuilder::from_env()?).build()?
    } else {
        mock = opx::mock::MockServer::start().await;
        eprintln!("OPX_TOKEN is not set: on the built-in mock (no real money).");
        let page = local_page().await?;
        urls = (0..12).map(|i| format!("{page}?n={i}")).collect();
        let pages = run(configure(mock.client_builder()).build()?, urls, true).await?;
        println!(
            "The local page saw {} distinct exit addresses.",
            exits(&pages).len()
        );
        return Ok(());
    };
    if urls.is_empty() {
        return Err("give the URLs to fetch as arguments".into());
    }
    run(client, urls, buy).await?;
    Ok(())
}

/// The whole program: a service, its lines, the pages.
async fn run(client: Client, urls: Vec<String>, buy: bool) -> Result<Vec<Page>, BoxError> {
    let service = ensure_service(&client, buy).await?;
    eprintln!("Scraping through service {service} (and every other active one).");
    let pool = Gateway::builder(client).pool().await?;
    let pages = fetch_all(&pool, urls, 4).await;
    for p in &pages {
        match &p.outcome {
            Ok((status, body)) => {
                println!("{status} {} via {} ({} bytes)", p.url, p.line, body.len())
            }
            Err(e) => println!("FAILED {} after {} attempts: {e}", p.url, p.attempts),
        }
    }
    let ok = pages.iter().filter(|p| p.outcome.is_ok()).count();
    println!("{ok} of {} pages fetched.", pages.len());
    Ok(pages)
}

/// An active service: the first one the account has or, when there is none and `buy` is set,
/// the cheapest plan bought safely. Never buys twice: an outcome that stays unknown stops here
/// instead of buying again.
async fn ensure_service(client: &Client, buy: bool) -> Result<ServiceId, BoxError> {
    let query = ServiceQuery::new().status(StatusFilter::Active);
    let active = client.all_services(&query).await?;
    if let Some(s) = active.first() {
        return Ok(s.service_id.clone());
    }
    if !buy {
        return Err("no active service: buy one (--buy) or in the dashboard".into());
    }
    let plans = client.plans(None).await?.into_inner().plans;
    let cheapest = plans
        .into_iter()
        .filter(|p| p.service_type.is_known())
        .min_by_key(|p| p.price)
        .ok_or("no plan on offer")?;
    let request = PurchaseRequest::new(cheapest.service_type, cheapest.plan_id);
    // `Err`: not charged. Every `Ok` was charged, or may have been.
    match client.purchase_safely(&request).await? {
        PurchaseOutcome::Purchased(s) | PurchaseOutcome::Recovered(s) => Ok(s.service_id.clone()),
        // An earlier purchase whose outcome was unknown went through: that one is ours.
        PurchaseOutcome::EarlierLanded { service_id, .. } => Ok(service_id),
        other => {
            Err(format!("bought, or may have been: {other:?}; check before buying again").into())
        }
    }
}

/// One URL's result: the status and body, or why it failed; the line it went through last.
#[derive(Debug)]
struct Page {
    url: String,
    outcome: Result<(u16, String), String>,
    line: String,
    attempts: u32,
}

/// Fetches every URL, `concurrency` at a time (the pool also waits while every thread of the
/// services is busy).
async fn fetch_all(pool: &ProxyPool, urls: Vec<String>, concurrency: usize) -> Vec<Page> {
    futures::stream::iter(urls)
        .map(|url| fetch_one(pool, url))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// Fetches `url` through a line of the pool; on a failure of the line (no connection, a
/// timeout, a refusal by the proxy) tries another, [`ATTEMPTS`] times in all. A `407` makes the
/// pool read the service's new credentials before the next try.
async fn fetch_one(pool: &ProxyPool, url: String) -> Page {
    let mut page = Page {
        url,
        outcome: Err("not tried".into()),
        line: String::new(),
        attempts: 0,
    };
    while page.attempts < ATTEMPTS {
        page.attempts += 1;
        let lease = match pool.checkout(None, None).await {
            Ok(lease) => lease,
            Err(e) => {
                page.outcome = Err(e.to_string());
                break;
            }
        };
        page.line = lease.line();
        let http = match lease.client() {
            Ok(http) => http,
            Err(e) => {
                page.outcome = Err(e.to_string());
                break;
            }
        };
        let answer = http.get(&page.url).timeout(FETCH_TIMEOUT).send().await;
        match answer {
            Ok(r) if r.status() == 407 => {
                page.outcome = Err("the proxy refused the credentials".into());
                lease.auth_failed().await;
            }
            // A refusal by the proxy itself (RFC 9209 `Proxy-Status`): try another line.
            Ok(r) if r.headers().contains_key("proxy-status") => {
                page.outcome = Err(format!("the proxy refused: {}", r.status()));
                lease.failed();
            }
            Ok(r) => {
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(body) => {
                        lease.succeeded();
                        page.outcome = Ok((status, body));
                        break;
                    }
                    Err(e) => {
                        page.outcome = Err(e.to_string());
                        lease.failed();
                    }
                }
            }
            Err(e) => {
                page.outcome = Err(e.to_string());
                lease.failed();
            }
        }
    }
    page
}

/// A page on loopback that answers with the address it was fetched from (the proxy's exit).
async fn local_page() -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut conn, peer)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = conn.read(&mut head).await;
                let body = peer.ip().to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    Ok(url)
}

/// The distinct exit addresses the pages saw (the body of [`local_page`]).
fn exits(pages: &[Page]) -> BTreeSet<String> {
    pages
        .iter()
        .filter_map(|p| p.outcome.as_ref().ok())
        .map(|(_, body)| body.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    //! The scraper against `opx::mock`: a fake OP-Proxy whose gateways carry real traffic on
    //! loopback, leave from rotating 127.x.y.z exits, and refuse as the real ones would.
    use super::*;
    use opx::Operation;
    use opx::mock::{Bucket, Expectation, Fault, MockServer};
    use opx::types::{GatewayCountry, ServiceType};

    /// The program's client, on the mock (and its clock: waits pass at once).
    fn client_of(server: &MockServer) -> Client {
        configure(server.client_builder()).build().unwrap()
    }

    async fn pages(n: usize) -> Vec<String> {
        let page = local_page().await.unwrap();
        (0..n).map(|i| format!("{page}?n={i}")).collect()
    }

    #[tokio::test]
    async fn buys_the_cheapest_plan_once_and_then_uses_what_it_bought() {
        let server = MockServer::start().await;
        let client = client_of(&server);
        let before = server.accounts().balance();
        let cheapest = server
            .services()
            .plans()
            .into_iter()
            .map(|p| p.price)
            .min()
            .unwrap();
        let first = ensure_service(&client, true).await.unwrap();
        let again = ensure_service(&client, true).await.unwrap();
        assert_eq!(first, again, "a second run reuses the service");
        assert_eq!(server.services().count(), 1, "bought once");
        assert_eq!(server.accounts().balance(), before - cheapest);
    }

    #[tokio::test]
    async fn without_a_service_and_without_buy_it_says_so_and_spends_nothing() {
        let server = MockServer::start().await;
        let before = server.accounts().balance();
        let e = ensure_service(&client_of(&server), false)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no active service"), "{e}");
        assert_eq!(server.accounts().balance(), before);
    }

    #[tokio::test]
    async fn a_lost_purchase_answer_is_recovered_without_buying_twice() {
        let server = MockServer::start().await;
        // The server commits the purchase, then the connection drops before the answer.
        server
            .faults()
            .inject(Operation::Purchase, Fault::DropAfterCommit, 1);
        server
            .records()
            .expect(Operation::Purchase, Expectation::exactly(1));
        let id = ensure_service(&client_of(&server), true).await.unwrap();
        server.records().verify().unwrap();
        assert_eq!(server.services().count(), 1, "bought once");
        assert_eq!(ensure_service(&client_of(&server), true).await.unwrap(), id);
    }

    #[tokio::test]
    async fn an_exhausted_rate_limit_is_waited_out_not_run_into() {
        let server = MockServer::start().await;
        server.services().seed(1);
        server.accounts().set_limit(Bucket::GlobalMinute, 1);
        let client = client_of(&server);
        client.account().await.unwrap(); // the window's one request
        let t0 = server.clock().now();
        ensure_service(&client, false).await.unwrap();
        assert!(server.clock().now() > t0, "it waited for the next window");
        let statuses = server.records().stats().responses_by_status;
        assert_eq!(statuses.get("429"), None, "{statuses:?}");
    }

    #[tokio::test]
    async fn an_expired_service_is_not_used_and_is_replaced_once() {
        let server = MockServer::start().await;
        let old = server.services().seed(1).remove(0);
        server.clock().advance(Duration::from_secs(400 * 24 * 3600));
        let client = client_of(&server);
        let e = ensure_service(&client, false).await.unwrap_err();
        assert!(e.to_string().contains("no active service"), "{e}");
        let new = ensure_service(&client, true).await.unwrap();
        assert_ne!(new, old);
        assert_eq!(ensure_service(&client, true).await.unwrap(), new);
    }

    #[tokio::test]
    async fn every_page_arrives_through_rotating_exits() {
        let server = MockServer::start().await;
        server.services().seed(1);
        let pool = Gateway::builder(client_of(&server)).pool().await.unwrap();
        let got = fetch_all(&pool, pages(12).await, 4).await;
        assert!(got.iter().all(|p| p.outcome.is_ok()), "{got:#?}");
        let exits = exits(&got);
        assert!(exits.len() > 1, "one exit for every page: {exits:?}");
        assert!(
            !exits.contains("127.0.0.1"),
            "a page came directly: {exits:?}"
        );
    }

    #[tokio::test]
    async fn a_gateway_that_is_down_is_failed_over() {
        let server = MockServer::start().await;
        let v6 = server
            .services()
            .cheapest_plan(ServiceType::Ipv6Rotating)
            .unwrap();
        let client = client_of(&server);
        client
            .purchase(&PurchaseRequest::new(v6.service_type, v6.plan_id))
            .await
            .unwrap();
        server.gateways().set_down(&GatewayCountry::Nl, true);
        let pool = Gateway::builder(client).pool().await.unwrap();
        let got = fetch_all(&pool, pages(9).await, 3).await;
        assert!(got.iter().all(|p| p.outcome.is_ok()), "{got:#?}");
        assert!(got.iter().all(|p| !p.line.starts_with("nl ")), "{got:#?}");
    }

    #[tokio::test]
    async fn credentials_regenerated_mid_run_are_picked_up() {
        let server = MockServer::start().await;
        let id = server.services().seed(1).remove(0);
        let client = client_of(&server);
        let pool = Gateway::builder(client.clone()).pool().await.unwrap();
        client.regenerate_credentials(&id).await.unwrap();
        let got = fetch_all(&pool, pages(4).await, 2).await;
        assert!(got.iter().all(|p| p.outcome.is_ok()), "{got:#?}");
    }
}
