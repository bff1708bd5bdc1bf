//! Cursor pagination over services and logs: newest first, filters kept, stable under inserts.

use crate::support;

use std::collections::HashSet;

use opx::mock::MockServer;
use serde_json::Value;
use support::*;

/// Walks every page of a list; returns the ids in order and the page sizes.
async fn walk(s: &MockServer, path: &str, items: &str, id: &str) -> (Vec<String>, Vec<usize>) {
    walk_from(s, path, items, id, None).await
}

/// [`walk`] over services.
async fn walk_services(s: &MockServer, path: &str) -> (Vec<String>, Vec<usize>) {
    walk(s, path, "services", "service_id").await
}

/// Like [`walk`], starting at a cursor.
async fn walk_from(
    s: &MockServer,
    path: &str,
    items: &str,
    id: &str,
    mut cursor: Option<String>,
) -> (Vec<String>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let data = get(s, &url).await.data();
        let page = data[items].as_array().unwrap();
        sizes.push(page.len());
        ids.extend(page.iter().map(|x| x[id].as_str().unwrap().to_string()));
        match &data["next_cursor"] {
            Value::Null => break,
            Value::String(c) => {
                assert_eq!(
                    Some(c.as_str()),
                    ids.last().map(String::as_str),
                    "next_cursor = last id"
                );
                cursor = Some(c.clone());
            }
            other => panic!("next_cursor {other}"),
        }
        assert!(sizes.len() < 1000, "runaway pagination");
    }
    (ids, sizes)
}

#[tokio::test]
async fn services_pages_cover_everything_newest_first() {
    let s = MockServer::start().await;
    let mut seeded: Vec<String> = s
        .services()
        .seed(250)
        .iter()
        .map(|id| id.to_string())
        .collect();
    let (ids, sizes) = walk_services(&s, "/services?limit=100").await;
    assert_eq!(sizes, [100, 100, 50]);
    seeded.reverse();
    assert_eq!(ids, seeded, "newest first, no gaps, no duplicates");
    // Default page size 50.
    let (_, sizes) = walk_services(&s, "/services").await;
    assert_eq!(sizes, [50; 5]);
    // An exact multiple ends with a null cursor on the last full page.
    let s2 = MockServer::start().await;
    s2.services().seed(10);
    let (_, sizes) = walk_services(&s2, "/services?limit=5").await;
    assert_eq!(sizes, [5, 5]);
    assert_clean(&s);
}

#[tokio::test]
async fn filters_are_kept_across_pages() {
    let s = MockServer::start().await;
    s.services().seed(40); // alternates over 4 plans: 20 ipv4, 20 ipv6
    let (ids, sizes) = walk_services(&s, "/services?type=ipv4_rotating&limit=7").await;
    assert_eq!(ids.len(), 20);
    assert_eq!(sizes, [7, 7, 6]);
    for id in &ids {
        assert_eq!(
            get(&s, &format!("/services/{id}")).await.data()["type"],
            "ipv4_rotating"
        );
    }
    // Expired ones are filtered out of the default (active) listing but kept in `all`.
    s.clock()
        .advance(std::time::Duration::from_secs(31 * 86_400));
    s.services().seed(3);
    for (path, n) in [
        ("/services?limit=2", 3),
        ("/services?status=expired&limit=9", 40),
        ("/services?status=all&limit=100", 43),
    ] {
        assert_eq!(walk_services(&s, path).await.0.len(), n, "{path}");
    }
}

#[tokio::test]
async fn pages_are_stable_while_new_items_arrive() {
    let s = MockServer::start().await;
    let seeded: HashSet<String> = s
        .services()
        .seed(30)
        .iter()
        .map(|id| id.to_string())
        .collect();
    let first = get(&s, "/services?limit=10").await.data();
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    buy(&s, IPV4_PLAN).await;
    s.services().seed(5);
    let mut ids: Vec<String> = first["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["service_id"].as_str().unwrap().to_string())
        .collect();
    let (rest, _) = walk_from(
        &s,
        "/services?limit=10",
        "services",
        "service_id",
        Some(cursor),
    )
    .await;
    ids.extend(rest);
    assert_eq!(ids.len(), 30);
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), seeded);
}

#[tokio::test]
async fn unknown_or_garbled_cursor_is_invalid_request() {
    let s = MockServer::start().await;
    s.services().seed(3);
    for c in [
        "garbage",
        "ffffffffffffffffffffffff",
        "%00",
        "x".repeat(129).as_str(),
    ] {
        let r = get(&s, &format!("/services?cursor={c}")).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "invalid_request"),
            "{c}"
        );
        let r = get(&s, &format!("/logs?cursor={c}")).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "invalid_request"),
            "{c}"
        );
    }
    // A service id is not a log cursor.
    let id = s.services().seed(1).pop().unwrap();
    assert_eq!(get(&s, &format!("/logs?cursor={id}")).await.status, 400);
    assert_clean(&s);
}

#[tokio::test]
async fn logs_paginate_too() {
    let s = MockServer::start().await;
    s.accounts().seed_logs(450);
    // Walking adds log entries as it goes (every request is logged), but never to pages already
    // behind the cursor: exactly the 450 seeded entries come back.
    let (ids, sizes) = walk(&s, "/logs?limit=200", "logs", "log_id").await;
    assert_eq!(ids.len(), 450);
    assert_eq!(sizes, [200, 200, 50]);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 450);
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first");
    assert_clean(&s);
}
