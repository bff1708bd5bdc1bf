//! Proxy lists: raw text, parsed endpoints, JSON servers; size cap.

use crate::scripted;
use opx::Operation;

use opx::ErrorKind;
use opx::types::{GatewayCountry, ProxyLayout, ProxyQuery};
use scripted::{Reply, Scripted};

const SID: &str = "65aa1100b2c3d4e5f6a7b8d0";

#[tokio::test]
async fn the_text_list_is_returned_exactly_and_asked_for_as_text() {
    let body = "nl.gw.op-proxy.com:8000:alice:pw1\r\nde.gw.op-proxy.com:8001:alice:pw1\n";
    let s = Scripted::start(Reply::raw(200, "text/plain; charset=utf-8", body)).await;
    let c = s.client().build().unwrap();
    let id = SID.parse().unwrap();
    let q = ProxyQuery::new().country(GatewayCountry::Nl).auth(true);
    let text = c.proxies_text(&id, &q).await.unwrap();
    assert_eq!(*text, body);
    let seen = &s.seen()[0];
    assert_eq!(seen.header("accept"), Some("text/plain"));
    assert!(
        seen.target
            .starts_with(&format!("/api/v1/services/{SID}/proxies?"))
    );
    assert!(seen.target.contains("format=txt"), "{}", seen.target);
    assert!(seen.target.contains("country=nl"));
    assert!(seen.target.contains("auth=true"));
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {}", scripted::TOKEN).as_str())
    );
}

#[tokio::test]
async fn parsed_endpoints_follow_the_requested_layout() {
    let s = Scripted::start(Reply::raw(
        200,
        "text/plain",
        "alice:p:w@nl.gw:8000\nalice:p:w@de.gw:8001\n",
    ))
    .await;
    let c = s.client().build().unwrap();
    let id = SID.parse().unwrap();
    let eps = c
        .proxies(
            &id,
            &ProxyQuery::new().layout(ProxyLayout::UserPassAtHostPort),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(eps.len(), 2);
    assert_eq!(
        (
            eps[1].host(),
            eps[1].port(),
            eps[1].login(),
            eps[1].password()
        ),
        ("de.gw", 8001, Some("alice"), Some("p:w"))
    );
    assert_eq!(eps[0].proxy_url(), "http://alice:p%3Aw@nl.gw:8000");
    assert!(s.seen()[0].target.contains("layout=user_pass_at_host_port"));
}

#[tokio::test]
async fn a_wrong_content_type_is_refused() {
    let s = Scripted::start(Reply::raw(200, "text/html", "<html>OK</html>")).await;
    let c = s.client().build().unwrap();
    let e = c
        .proxies_text(&SID.parse().unwrap(), &ProxyQuery::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn an_error_on_the_text_download_is_decoded() {
    let s = Scripted::start(Reply::error(404, "not_found")).await;
    let c = s.client().build().unwrap();
    let e = c
        .proxies_text(&SID.parse().unwrap(), &ProxyQuery::new())
        .await
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.operation(), Some(Operation::GetProxies));
}

#[tokio::test]
async fn the_json_form_gives_servers_with_redacted_passwords() {
    let s = Scripted::start(Reply::ok(serde_json::json!({"servers": [
        {"country": "nl", "host": "nl.gw", "port": 8000, "login": "alice", "password": "hunter2"},
        {"country": "xx", "host": "xx.gw", "port": 8001}
    ]})))
    .await;
    let c = s.client().build().unwrap();
    let servers = c
        .proxies_json(&SID.parse().unwrap(), &ProxyQuery::new())
        .await
        .unwrap();
    assert_eq!(servers.servers.len(), 2);
    assert_eq!(servers.servers[0].country, Some(GatewayCountry::Nl));
    assert_eq!(servers.servers[0].password(), Some("hunter2"));
    assert_eq!(
        servers.servers[1].country,
        Some(GatewayCountry::Unknown("xx".into()))
    );
    assert!(!format!("{servers:?}").contains("hunter2"));
    assert!(s.seen()[0].target.contains("format=json"));
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let big = "h:1:u:p\n".repeat(1000);
    let s = Scripted::start(Reply::raw(200, "text/plain", big)).await;
    let c = s.client().max_response_bytes(1024).build().unwrap();
    let e = c
        .proxies_text(&SID.parse().unwrap(), &ProxyQuery::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge);
    let s = Scripted::start(Reply::ok(scripted::account_json())).await;
    let c = s.client().max_response_bytes(20).build().unwrap();
    assert_eq!(
        c.account().await.unwrap_err().kind(),
        ErrorKind::BodyTooLarge
    );
}
