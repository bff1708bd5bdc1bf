//! Stateful behaviour: purchase, extend, expiry, whitelist, credentials, country, rotation,
//! proxies, tenants and logs.

use crate::support;
use opx::Operation;
use opx::types::GatewayCountry;

use std::time::Duration;

use chrono::DateTime;
use opx::mock::MockServer;
use reqwest::Method;
use serde_json::json;
use support::*;

const DAY: Duration = Duration::from_secs(86_400);

fn expires(v: &serde_json::Value) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap()).unwrap()
}

/// `PUT /services/{id}/{what}` with `{what: value}`; asserts the service now has it and
/// returns the service.
async fn change(s: &MockServer, id: &str, what: &str, value: &str) -> serde_json::Value {
    let path = format!("/services/{id}/{what}");
    let svc = call(s, Method::PUT, &path, Some(json!({what: value})))
        .await
        .data();
    assert_eq!(svc[what], value, "{path}");
    svc
}

/// `POST /services/{id}/extend`.
async fn extend(s: &MockServer, id: &str) -> Resp {
    call(s, Method::POST, &format!("/services/{id}/extend"), None).await
}

#[tokio::test]
async fn catalog_has_priced_plans_of_both_types() {
    let s = MockServer::start().await;
    let all = list(&s, "/catalog/plans", "plans").await;
    assert_eq!(all.len(), s.services().plans().len());
    let v4 = list(&s, "/catalog/plans?type=ipv4_rotating", "plans").await;
    let v6 = list(&s, "/catalog/plans?type=ipv6_rotating", "plans").await;
    assert!(v4.len() >= 2 && v6.len() >= 2);
    assert!(
        v4.iter()
            .all(|p| p["type"] == "ipv4_rotating" && p["days"] == 30 && p["currency"] == "RUB")
    );
    assert!(v6.iter().all(|p| p["type"] == "ipv6_rotating"));
    assert_ne!(v4[0]["price"], v4[1]["price"]);
    assert_clean(&s);
}

#[tokio::test]
async fn purchase_charges_and_provisions_at_once() {
    let s = MockServer::start().await;
    let svc = buy(&s, IPV4_PLAN).await;
    assert_eq!(s.accounts().balance(), 100_000 - 1500);
    assert_eq!(get(&s, "/account").await.data()["balance"], 98_500);
    assert_eq!(svc["type"], "ipv4_rotating");
    assert_eq!(svc["status"], "active");
    assert_eq!(svc["country"], "mixed");
    assert_eq!(svc["rotation"], "instant");
    assert_eq!(svc["threads"], 100);
    assert_eq!(svc["whitelist"], json!([]));
    let (login, password) = auth(&svc);
    assert!(!login.is_empty());
    let expected = s.clock().now() + chrono::Duration::days(30);
    assert_eq!(expires(&svc).timestamp(), expected.timestamp());
    let id = service_id(&svc);
    assert_eq!(get(&s, &format!("/services/{id}")).await.data(), svc);
    assert!(
        s.gateways()
            .credentials_valid(&id.parse().unwrap(), login, password)
    );
    assert_eq!(s.records().executions(Operation::Purchase), 1);
    assert_eq!(s.services().count(), 1);
    assert_clean(&s);
}

#[tokio::test]
async fn insufficient_balance_is_402_and_changes_nothing() {
    let s = MockServer::builder().balance(1000).start().await.unwrap();
    let body = json!({"type": "ipv4_rotating", "plan_id": IPV4_PLAN});
    let code = "insufficient_balance";
    expect_error(&s, Method::POST, "/purchase", Some(body), 402, code).await;
    assert_eq!(s.accounts().balance(), 1000);
    assert_eq!(s.services().count(), 0);
    assert_eq!(s.records().executions(Operation::Purchase), 0);
    s.accounts().set_balance(1500);
    buy(&s, IPV4_PLAN).await;
    assert_eq!(s.accounts().balance(), 0);
    assert_clean(&s);
}

#[tokio::test]
async fn extend_adds_thirty_days_and_charges_the_plan_price() {
    let s = MockServer::start().await;
    let svc = buy(&s, IPV6_PLAN).await;
    let id = service_id(&svc);
    let ext = extend(&s, id).await.data();
    assert_eq!(expires(&ext) - expires(&svc), chrono::Duration::days(30));
    assert_eq!(s.accounts().balance(), 100_000 - 2 * IPV6_PRICE);
    s.accounts().set_balance(100);
    let r = extend(&s, id).await;
    assert_eq!((r.status, r.code().as_str()), (402, "insufficient_balance"));
    assert_eq!(
        expires(&get(&s, &format!("/services/{id}")).await.data()),
        expires(&ext)
    );
    assert_eq!(s.records().executions(Operation::ExtendService), 1);
    assert_clean(&s);
}

#[tokio::test]
async fn services_expire_on_the_mock_clock() {
    let s = MockServer::start().await;
    let id = buy_id(&s, IPV4_PLAN).await;
    s.clock().advance(29 * DAY);
    assert_eq!(
        get(&s, &format!("/services/{id}")).await.data()["status"],
        "active"
    );
    s.clock().advance(DAY + Duration::from_secs(1));
    assert_eq!(
        get(&s, &format!("/services/{id}")).await.data()["status"],
        "expired"
    );
    let active = get(&s, "/services").await.data();
    assert_eq!(active["services"], json!([]));
    let expired = get(&s, "/services?status=expired").await.data();
    assert_eq!(expired["services"][0]["service_id"], id.as_str());
    assert_eq!(
        get(&s, "/services?status=all").await.data()["services"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Extending an expired service starts from now and revives it.
    let ext = extend(&s, &id).await.data();
    assert_eq!(ext["status"], "active");
    assert_eq!(
        expires(&ext).timestamp(),
        (s.clock().now() + chrono::Duration::days(30)).timestamp()
    );
    assert_clean(&s);
}

#[tokio::test]
async fn whitelist_is_a_full_replacement_with_labels() {
    let s = MockServer::start().await;
    let id = buy_id(&s, IPV4_PLAN).await;
    let path = format!("/services/{id}/whitelist");
    let r = call(&s, Method::PUT, &path, Some(json!({"whitelisted_ips": ["203.0.113.10", "198.51.100.4"], "labels": ["home", "office"]}))).await;
    assert_eq!(
        r.data()["whitelist"],
        json!([{"ip": "203.0.113.10", "label": "home"}, {"ip": "198.51.100.4", "label": "office"}])
    );
    let r = call(
        &s,
        Method::PUT,
        &path,
        Some(json!({"whitelisted_ips": ["192.0.2.1"]})),
    )
    .await;
    assert_eq!(
        r.data()["whitelist"],
        json!([{"ip": "192.0.2.1", "label": null}])
    );
    assert_eq!(
        get(&s, &format!("/services/{id}")).await.data()["whitelist"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = call(&s, Method::PUT, &path, Some(json!({"whitelisted_ips": []}))).await;
    assert_eq!(r.data()["whitelist"], json!([]));
    assert_clean(&s);
}

#[tokio::test]
async fn regenerated_credentials_replace_the_old_ones() {
    let s = MockServer::start().await;
    let svc = buy(&s, IPV4_PLAN).await;
    let (id, (l0, p0)) = (service_id(&svc), auth(&svc));
    let path = format!("/services/{id}/credentials");
    let new = call(&s, Method::POST, &path, None).await.data();
    let (l1, p1) = auth(&new);
    assert_ne!((l0, p0), (l1, p1));
    assert!(!s.gateways().credentials_valid(&id.parse().unwrap(), l0, p0));
    assert!(s.gateways().credentials_valid(&id.parse().unwrap(), l1, p1));
    let txt = get(&s, &format!("/services/{id}/proxies")).await.text;
    assert!(txt.contains(l1) && !txt.contains(l0));
    assert_clean(&s);
}

#[tokio::test]
async fn country_and_rotation_only_for_ipv6() {
    let s = MockServer::start().await;
    let v4 = buy_id(&s, IPV4_PLAN).await;
    let v6 = buy_id(&s, IPV6_PLAN).await;
    for (id, what, value, code) in [
        (&v4, "country", "nl", "unsupported_for_type"),
        (&v4, "rotation", "instant", "unsupported_for_type"),
        (&v6, "country", "zz", "country_unavailable"),
    ] {
        let (path, body) = (format!("/services/{id}/{what}"), json!({what: value}));
        expect_error(&s, Method::PUT, &path, Some(body), 400, code).await;
    }
    change(&s, &v6, "country", "us").await;
    // An exit region without a gateway of its own is served through every IPv6 gateway
    // (the docs name only nl/de/at gateways), each line on its gateway's loopback port.
    let gateway = |c: GatewayCountry| s.gateways().addr(&c).unwrap().to_string();
    let hosts: Vec<String> = get(&s, &format!("/services/{v6}/proxies"))
        .await
        .text
        .lines()
        .map(|l| l.splitn(3, ':').take(2).collect::<Vec<_>>().join(":"))
        .collect();
    let all: Vec<String> = GatewayCountry::KNOWN.into_iter().map(gateway).collect();
    assert_eq!(hosts, all);
    assert!(all.iter().all(|a| a.starts_with("127.0.0.1:")), "{all:?}");
    change(&s, &v6, "country", "de").await;
    let de = get(&s, &format!("/services/{v6}/proxies")).await.text;
    assert!(
        de.starts_with(&format!("{}:", gateway(GatewayCountry::De))) && de.lines().count() == 1,
        "{de}"
    );
    change(&s, &v6, "country", "us").await;
    change(&s, &v6, "rotation", "sticky10").await;
    let now = get(&s, &format!("/services/{v6}")).await.data();
    assert_eq!(
        (now["country"].as_str(), now["rotation"].as_str()),
        (Some("us"), Some("sticky10"))
    );
    assert_clean(&s);
}

#[tokio::test]
async fn proxy_lists_as_documented() {
    let s = MockServer::start().await;
    let (v4, v6) = (buy(&s, IPV4_PLAN).await, buy(&s, IPV6_PLAN).await);
    let (id4, id6) = (service_id(&v4), service_id(&v6));
    let (login, password) = auth(&v4);

    let r = get(&s, &format!("/services/{id4}/proxies")).await;
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(r.text.ends_with('\n'));
    let parts: Vec<&str> = lines[0].split(':').collect();
    let nl = s.gateways().addr(&GatewayCountry::Nl).unwrap();
    assert_eq!(parts[0], "127.0.0.1");
    assert_eq!(parts[1].parse::<u16>().unwrap(), nl.port());
    assert_eq!((parts[2], parts[3]), (login, password));

    let r = get(
        &s,
        &format!("/services/{id4}/proxies?layout=user_pass_at_host_port"),
    )
    .await;
    assert!(r.text.starts_with(&format!("{login}:{password}@{nl}\n")));
    let r = get(&s, &format!("/services/{id4}/proxies?auth=false")).await;
    assert!(!r.text.contains(login) && r.text.trim_end().split(':').count() == 2);

    // IPv6 mixed: nl, de, at.
    let r = get(&s, &format!("/services/{id6}/proxies?format=json")).await;
    let servers = r.data()["servers"].as_array().unwrap().clone();
    let countries: Vec<&str> = servers
        .iter()
        .map(|x| x["country"].as_str().unwrap())
        .collect();
    assert_eq!(countries, ["nl", "de", "at"]);
    assert!(
        servers
            .iter()
            .all(|x| x["login"].is_string() && x["password"].is_string())
    );
    let r = get(
        &s,
        &format!("/services/{id6}/proxies?format=json&auth=false&country=de"),
    )
    .await;
    assert_eq!(r.data()["servers"].as_array().unwrap().len(), 1);
    assert!(r.data()["servers"][0].get("login").is_none());
    assert_eq!(
        get(&s, &format!("/services/{id6}/proxies"))
            .await
            .text
            .lines()
            .count(),
        3
    );

    // IPv4 only has nl.
    let r = get(&s, &format!("/services/{id4}/proxies?country=de")).await;
    assert_eq!((r.status, r.code().as_str()), (400, "country_unavailable"));
    // An IPv6 service moved to nl, filtered on de: empty.
    change(&s, id6, "country", "nl").await;
    let r = get(
        &s,
        &format!("/services/{id6}/proxies?format=json&country=de"),
    )
    .await;
    assert_eq!(r.data()["servers"], json!([]));
    assert_eq!(
        get(&s, &format!("/services/{id6}/proxies?country=de"))
            .await
            .text,
        ""
    );
    assert_clean(&s);
}

#[tokio::test]
async fn another_accounts_service_is_not_found() {
    let s = MockServer::start().await;
    let bob = s.accounts().add(50_000);
    let mine = buy_id(&s, IPV4_PLAN).await;
    let theirs = service_id(&buy_as(&s, &bob.token, IPV6_PLAN).await).to_string();
    assert_eq!(s.accounts().balance_of(&bob.token), Some(47_500));
    assert_eq!(s.accounts().balance(), 98_500);
    for (method, path, body) in [
        (Method::GET, format!("/services/{theirs}"), None),
        (Method::GET, format!("/services/{theirs}/proxies"), None),
        (Method::POST, format!("/services/{theirs}/extend"), None),
        (
            Method::POST,
            format!("/services/{theirs}/credentials"),
            None,
        ),
        (
            Method::PUT,
            format!("/services/{theirs}/whitelist"),
            Some(json!({"whitelisted_ips": []})),
        ),
        (
            Method::PUT,
            format!("/services/{theirs}/country"),
            Some(json!({"country": "de"})),
        ),
        (
            Method::PUT,
            format!("/services/{theirs}/rotation"),
            Some(json!({"rotation": "x1"})),
        ),
    ] {
        expect_error(&s, method, &path, body, 404, "not_found").await;
    }
    let list = get(&s, "/services").await.data();
    assert_eq!(list["services"].as_array().unwrap().len(), 1);
    assert_eq!(list["services"][0]["service_id"], mine.as_str());
    let r = call_as(
        &s,
        Some(&bob.token),
        Method::GET,
        &format!("/services/{mine}"),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        s.accounts().balance_of(&bob.token),
        Some(47_500),
        "nothing charged"
    );
    assert_clean(&s);
}

#[tokio::test]
async fn logs_record_every_request_of_the_account() {
    let s = MockServer::start().await;
    let bob = s.accounts().add(0);
    get(&s, "/account").await;
    s.clock().advance(Duration::from_secs(60));
    let t1 = s.clock().now();
    get(&s, "/services/xyz").await;
    call(&s, Method::DELETE, "/account", None).await;
    s.clock().advance(Duration::from_secs(60));
    call_as(&s, Some(&bob.token), Method::GET, "/account", None).await;
    let logs = get(&s, "/logs").await.data()["logs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(logs.len(), 3, "{logs:?}");
    // Newest first.
    assert_eq!(
        (
            logs[0]["method"].as_str(),
            logs[0]["path"].as_str(),
            logs[0]["http_status"].as_u64()
        ),
        (Some("DELETE"), Some("/api/v1/account"), Some(405))
    );
    assert_eq!(
        (logs[1]["path"].as_str(), logs[1]["http_status"].as_u64()),
        (Some("/api/v1/services/xyz"), Some(400))
    );
    assert_eq!(
        (logs[2]["method"].as_str(), logs[2]["http_status"].as_u64()),
        (Some("GET"), Some(200))
    );
    assert!(logs.iter().all(|l| l["ip"] == "127.0.0.1"));
    assert_eq!(
        DateTime::parse_from_rfc3339(logs[1]["created_at"].as_str().unwrap()).unwrap(),
        t1
    );
    let since = t1.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let recent = get(&s, &format!("/logs?since={since}")).await.data()["logs"]
        .as_array()
        .unwrap()
        .len();
    // The two requests at t1 and the previous /logs call (also at t1 + 60s).
    assert_eq!(recent, 3);
    let until = get(&s, &format!("/logs?until={since}")).await.data()["logs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(until.len(), 3);
    assert!(
        until.iter().all(
            |l| DateTime::parse_from_rfc3339(l["created_at"].as_str().unwrap()).unwrap() <= t1
        )
    );
    // Bob sees only his own request.
    let bobs = call_as(&s, Some(&bob.token), Method::GET, "/logs", None)
        .await
        .data();
    assert_eq!(bobs["logs"].as_array().unwrap().len(), 1);
    assert_clean(&s);
}

/// The mock speaks the client's types: seeded ids, plans and seeds go to the client as they
/// are, with no parsing in between.
#[tokio::test]
async fn the_mocks_values_are_the_clients_types() {
    use opx::mock::ServiceSeed;
    use opx::types::{
        Country, ProxyQuery, PurchaseRequest, ServiceQuery, ServiceType, StatusFilter,
    };
    let s = MockServer::start().await;
    let c = s.client();
    let plans = s.services().plans();
    for t in [ServiceType::Ipv4Rotating, ServiceType::Ipv6Rotating] {
        let cheapest = s.services().cheapest_plan(t.clone()).unwrap();
        let of_type = plans.iter().filter(|p| p.service_type == t);
        assert_eq!(Some(cheapest.price), of_type.clone().map(|p| p.price).min());
        assert_eq!(
            s.services().plan(t.clone()).as_ref(),
            of_type.clone().next()
        );
        let bought = c
            .purchase(&PurchaseRequest::new(t.clone(), cheapest.plan_id.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (bought.service_type, bought.plan_id),
            (t, Some(cheapest.plan_id))
        );
    }
    let ids = s.services().seed_with(
        &ServiceSeed::count(2)
            .service_type(ServiceType::Ipv6Rotating)
            .country(Country::new("de").unwrap())
            .expires_in_seconds(-60),
    );
    let ids = ids.unwrap();
    for id in &ids {
        let svc = c.service(id).await.unwrap().into_inner();
        assert_eq!(svc.country, "de");
        assert!(svc.expires_at < s.clock().now());
        assert!(c.proxies(id, &ProxyQuery::new()).await.is_ok());
    }
    let expired = c
        .all_services(&ServiceQuery::new().status(StatusFilter::Expired))
        .await
        .unwrap();
    let listed: Vec<_> = expired.iter().map(|svc| &svc.service_id).collect();
    assert_eq!(listed, [&ids[1], &ids[0]], "newest first");
    assert!(s.services().set_threads(&ids[0], 3));
    assert_eq!(s.gateways().threads_in_use(&ids[0]), 0);
    assert_eq!(s.services().count(), 4);
    assert_clean(&s);
}
