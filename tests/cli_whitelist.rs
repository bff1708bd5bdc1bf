//! `opx whitelist add|remove` against the in-process mock: one address added or removed, the
//! other entries and their labels kept, nothing written when nothing changes, and a change made
//! by someone else before the read-back reported (injected by holding the read-back in a relay
//! in front of the mock while a second client writes, then letting it go).

#[path = "support/opx_bin.rs"]
mod opx_bin;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use opx::Operation;
use opx::mock::{MockServer, ServiceSeed};
use opx::types::{ServiceId, Whitelist};
use opx_bin::{exits, opx, stderr};
use tokio::sync::{Semaphore, mpsc};

/// A service whitelisting 203.0.113.10 (home) and 198.51.100.4 (office).
async fn labelled(s: &MockServer) -> ServiceId {
    let id: ServiceId = s
        .services()
        .seed_with(&ServiceSeed::count(1))
        .unwrap()
        .remove(0);
    let wl = Whitelist::with_labels([
        (Ipv4Addr::new(203, 0, 113, 10), "home"),
        (Ipv4Addr::new(198, 51, 100, 4), "office"),
    ])
    .unwrap();
    s.client().replace_whitelist(&id, &wl).await.unwrap();
    id
}

/// (address, label) of each entry, as the service holds them now.
async fn entries(s: &MockServer, id: &ServiceId) -> Vec<(String, String)> {
    let svc = s.client().service(id).await.unwrap().into_inner();
    svc.whitelist
        .iter()
        .map(|e| (e.ip.to_string(), e.label.clone().unwrap_or_default()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn add_and_remove_keep_the_other_entries_and_their_labels() {
    let s = MockServer::start().await;
    let id = labelled(&s).await;
    let ids = id.to_string();
    let out = opx(
        &s,
        &["whitelist", "add", &ids, "192.0.2.7", "--label", "lab"],
    )
    .await;
    let text = exits(&out, 0);
    assert_eq!(stderr(&out), "");
    assert!(text.contains("written"), "{text}");
    assert!(
        text.contains("203.0.113.10 (home), 198.51.100.4 (office), 192.0.2.7 (lab)"),
        "{text}"
    );
    let want = [
        ("203.0.113.10", "home"),
        ("198.51.100.4", "office"),
        ("192.0.2.7", "lab"),
    ];
    assert_eq!(entries(&s, &id).await, pairs(&want));

    exits(
        &opx(&s, &["whitelist", "remove", &ids, "203.0.113.10"]).await,
        0,
    );
    let want = [("198.51.100.4", "office"), ("192.0.2.7", "lab")];
    assert_eq!(entries(&s, &id).await, pairs(&want));

    // An unlabelled address among labelled ones: sent with "", shown without a label.
    let text = exits(&opx(&s, &["whitelist", "add", &ids, "192.0.2.8"]).await, 0);
    assert!(text.contains("192.0.2.7 (lab), 192.0.2.8\n"), "{text}");
    // Re-labelling an address keeps its place.
    exits(
        &opx(
            &s,
            &["whitelist", "add", &ids, "198.51.100.4", "--label", "hq"],
        )
        .await,
        0,
    );
    let want = [
        ("198.51.100.4", "hq"),
        ("192.0.2.7", "lab"),
        ("192.0.2.8", ""),
    ];
    assert_eq!(entries(&s, &id).await, pairs(&want));
    // The service's first write, then four edits.
    assert_eq!(s.records().executions(Operation::ReplaceWhitelist), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_written_when_nothing_changes_and_bad_input_sends_nothing() {
    let s = MockServer::start().await;
    let id = labelled(&s).await;
    let ids = id.to_string();
    let writes = s.records().executions(Operation::ReplaceWhitelist);
    let text = exits(
        &opx(&s, &["whitelist", "add", &ids, "203.0.113.10"]).await,
        0,
    );
    assert!(text.contains("nothing to change"), "{text}");
    exits(
        &opx(
            &s,
            &[
                "whitelist",
                "add",
                &ids,
                "198.51.100.4",
                "--label",
                "office",
            ],
        )
        .await,
        0,
    );
    exits(
        &opx(&s, &["whitelist", "remove", &ids, "192.0.2.1"]).await,
        0,
    );
    assert_eq!(s.records().executions(Operation::ReplaceWhitelist), writes);

    let sent = s.records().requests().len();
    for args in [
        &["whitelist", "add", &ids, "300.1.1.1"][..],
        &["whitelist", "remove", &ids, "::1"],
        &["whitelist", "add", "not-an-id", "192.0.2.1"],
        &["whitelist", "add", &ids],
    ] {
        let out = opx(&s, args).await;
        exits(&out, 2);
        assert!(!stderr(&out).is_empty(), "{args:?}");
    }
    assert_eq!(
        s.records().requests().len(),
        sent,
        "nothing sent for bad input"
    );
    // The replacing form is still there.
    exits(
        &opx(&s, &["whitelist", &ids, "192.0.2.9", "--yes"]).await,
        0,
    );
    assert_eq!(entries(&s, &id).await, pairs(&[("192.0.2.9", "")]));
}

/// A loopback HTTP relay in front of a mock that holds the `nth` `GET /services/{id}` it
/// relays until [`release`](Relay::release)d, after reporting its arrival.
struct Relay {
    base_url: String,
    arrived: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
}

impl Relay {
    async fn start(s: &MockServer, nth: usize) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = s.base_url().replace(
            &s.addr().to_string(),
            &listener.local_addr().unwrap().to_string(),
        );
        let (tx, arrived) = mpsc::unbounded_channel();
        let release = Arc::new(Semaphore::new(0));
        let (upstream, gets, held) = (s.addr(), Arc::new(AtomicUsize::new(0)), release.clone());
        let http = reqwest::Client::new();
        let relay = move |req: Request| {
            let (tx, gets, held, http) = (tx.clone(), gets.clone(), held.clone(), http.clone());
            async move {
                let path = req.uri().path().to_owned();
                let a_service = path.split('/').rev().nth(1) == Some("services");
                if req.method() == http::Method::GET
                    && a_service
                    && gets.fetch_add(1, Ordering::SeqCst) + 1 == nth
                {
                    let _ = tx.send(());
                    held.acquire().await.unwrap().forget();
                }
                let url = format!("http://{upstream}{}", req.uri());
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let answer = http
                    .request(parts.method, url)
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let (status, headers) = (answer.status(), answer.headers().clone());
                let body = answer.bytes().await.unwrap();
                let mut out: Response = (status, body).into_response();
                for (name, value) in &headers {
                    if name != http::header::TRANSFER_ENCODING && name != http::header::CONNECTION {
                        out.headers_mut().insert(name, value.clone());
                    }
                }
                out
            }
        };
        let app = axum::Router::new().fallback(relay);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Relay {
            base_url,
            arrived,
            release,
        }
    }
}

/// Runs `opx whitelist add ID 192.0.2.7 --label lab` through a relay that holds its read-back,
/// and once its write is in, lets a second client write `other`; the CLI's output.
async fn add_racing(s: &MockServer, id: &ServiceId, other: Whitelist) -> std::process::Output {
    // GET number 1 is the edit's read, number 2 its read-back: held until the other write.
    let mut relay = Relay::start(s, 2).await;
    let writes = s.records().executions(Operation::ReplaceWhitelist);
    let ids = id.to_string();
    let mut cli = {
        let env = [("OPX_TOKEN", s.token()), ("OPX_BASE_URL", &relay.base_url)];
        let args = ["whitelist", "add", &ids, "192.0.2.7", "--label", "lab"];
        let mut cmd = opx_bin::command(&args, &env);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    // A guard, far beyond the milliseconds it takes, only turns a hang into a failure.
    tokio::time::timeout(Duration::from_secs(120), async {
        tokio::select! {
            arrived = relay.arrived.recv() => arrived.expect("the relay runs"),
            ended = &mut cli => panic!("the CLI ended before its read-back: {ended:?}"),
        }
    })
    .await
    .expect("no read-back within 120 s");
    assert_eq!(
        s.records().executions(Operation::ReplaceWhitelist),
        writes + 1,
        "the CLI wrote"
    );
    s.client().replace_whitelist(id, &other).await.unwrap();
    relay.release.add_permits(1);
    cli.await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_by_someone_else_before_the_read_back_is_reported() {
    let s = MockServer::start().await;
    let id = labelled(&s).await;
    // The other writer drops our address: exit 1, both lists shown.
    let other = Whitelist::with_labels([(Ipv4Addr::new(198, 51, 100, 99), "theirs")]).unwrap();
    let out = add_racing(&s, &id, other).await;
    exits(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("someone else"), "{err}");
    assert!(
        err.contains("now 198.51.100.99 (theirs)") && err.contains("not in it"),
        "{err}"
    );
    assert!(err.contains("wrote 203.0.113.10 (home), 198.51.100.4 (office), 192.0.2.7 (lab)"));

    // The other writer keeps our address and adds one: exit 0, with a note.
    let other = Whitelist::with_labels([
        (Ipv4Addr::new(192, 0, 2, 7), "lab"),
        (Ipv4Addr::new(198, 51, 100, 98), "also"),
    ])
    .unwrap();
    let id2 = labelled(&s).await;
    let out = add_racing(&s, &id2, other).await;
    exits(&out, 0);
    let err = stderr(&out);
    assert!(
        err.starts_with("note: ") && err.contains("this edit is in it"),
        "{err}"
    );
}
