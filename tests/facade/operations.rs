//! Every operation through the facade against the spec-driven mock.

use crate::fixtures::{IPV4_PLAN, IPV6_PLAN, assert_clean, price_of};
use opx::Operation;
use std::net::Ipv4Addr;

use futures::TryStreamExt;
use opx::Client;
use opx::mock::MockServer;
use opx::types::{
    Country, Currency, ErrorCode, GatewayCountry, LogQuery, PlanId, ProxyLayout, ProxyQuery,
    PurchaseRequest, Rotation, ServiceQuery, ServiceStatus, ServiceType, StatusFilter, Whitelist,
};

fn req(t: ServiceType, plan: &str) -> PurchaseRequest {
    PurchaseRequest::new(t, plan.parse::<PlanId>().unwrap())
}

/// Buys a service of `plan` through the facade.
async fn buy(c: &Client, t: ServiceType, plan: &str) -> opx::types::Service {
    c.purchase(&req(t, plan)).await.unwrap().into_inner()
}

#[tokio::test]
async fn account_and_plans() {
    let s = MockServer::builder().balance(4242).start().await.unwrap();
    let c = s.client();
    let a = c.account().await.unwrap();
    assert_eq!(a.balance, 4242);
    assert_eq!(a.currency, Currency::Rub);
    assert_eq!(a.status().as_u16(), 200);
    assert!(a.rate_limit().is_some());

    let all = c.plans(None).await.unwrap();
    assert_eq!(all.plans.len(), s.services().plans().len());
    let v6 = c.plans(Some(ServiceType::Ipv6Rotating)).await.unwrap();
    assert!(!v6.plans.is_empty());
    assert!(
        v6.plans
            .iter()
            .all(|p| p.service_type == ServiceType::Ipv6Rotating)
    );
    let cheapest = all.plans.iter().min_by_key(|p| p.price).unwrap();
    assert_eq!(
        cheapest.price,
        s.services().plans().iter().map(|p| p.price).min().unwrap()
    );
    assert_clean(&s);
}

#[tokio::test]
async fn purchase_charges_once_and_returns_the_service() {
    let s = MockServer::builder().balance(10_000).start().await.unwrap();
    let c = s.client();
    let price = price_of(&s, IPV6_PLAN);
    let r = req(ServiceType::Ipv6Rotating, IPV6_PLAN)
        .country(Country::new("mixed").unwrap())
        .rotation(Rotation::new("instant").unwrap());
    let svc = c.purchase(&r).await.unwrap().into_inner();
    assert_eq!(svc.service_type, ServiceType::Ipv6Rotating);
    assert_eq!(svc.country, "mixed");
    assert!(svc.expires_at > s.clock().now());
    assert_eq!(s.accounts().balance(), 10_000 - price);
    assert_eq!(s.records().executions(Operation::Purchase), 1);
    assert_eq!(s.services().count(), 1);
    assert!(!format!("{svc:?}").contains(svc.auth.password()));

    // The same service reads back.
    let got = c.service(&svc.service_id).await.unwrap();
    assert_eq!(got.service_id, svc.service_id);
    assert_eq!(got.status, Some(ServiceStatus::Active));
}

#[tokio::test]
async fn insufficient_balance_is_a_typed_error() {
    let s = MockServer::builder().balance(1).start().await.unwrap();
    let c = s.client();
    let e = c
        .purchase(&req(ServiceType::Ipv4Rotating, IPV4_PLAN))
        .await
        .unwrap_err();
    assert!(e.is_insufficient_balance(), "{e:?}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(402));
    assert_eq!(s.services().count(), 0);
}

#[tokio::test]
async fn not_found_and_bad_plan() {
    let s = MockServer::start().await;
    let c = s.client();
    let e = c
        .service(&"0123456789abcdef01234567".parse().unwrap())
        .await
        .unwrap_err();
    assert!(e.is_not_found());
    let e = c
        .purchase(&req(ServiceType::Ipv4Rotating, "ffffffffffffffffffffffff"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidPlanId));
    let e = c
        .purchase(&req(ServiceType::Ipv4Rotating, IPV6_PLAN))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidPlanId), "type mismatch");
}

#[tokio::test]
async fn extend_whitelist_credentials_country_rotation() {
    let s = MockServer::start().await;
    let c = s.client();
    let v4 = buy(&c, ServiceType::Ipv4Rotating, IPV4_PLAN).await;
    let v6 = buy(&c, ServiceType::Ipv6Rotating, IPV6_PLAN).await;

    let balance = s.accounts().balance();
    let extended = c.extend(&v4.service_id).await.unwrap();
    assert_eq!(
        (extended.expires_at - v4.expires_at).num_days(),
        30,
        "one period"
    );
    assert!(s.accounts().balance() < balance);

    let wl = Whitelist::with_labels([
        (Ipv4Addr::new(203, 0, 113, 10), "home"),
        (Ipv4Addr::new(198, 51, 100, 4), "office"),
    ])
    .unwrap();
    let after = c.replace_whitelist(&v4.service_id, &wl).await.unwrap();
    assert_eq!(after.whitelist.len(), 2);
    assert_eq!(after.whitelist[0].ip, Ipv4Addr::new(203, 0, 113, 10));
    assert_eq!(after.whitelist[1].label.as_deref(), Some("office"));
    let cleared = c
        .replace_whitelist(&v4.service_id, &Whitelist::empty())
        .await
        .unwrap();
    assert!(cleared.whitelist.is_empty());

    let fresh = c.regenerate_credentials(&v4.service_id).await.unwrap();
    assert_ne!(fresh.auth.password(), v4.auth.password());
    assert!(
        !s.gateways()
            .credentials_valid(&v4.service_id, &v4.auth.login, v4.auth.password())
    );
    assert!(s.gateways().credentials_valid(
        &v4.service_id,
        &fresh.auth.login,
        fresh.auth.password()
    ));

    let changed = c
        .change_country(&v6.service_id, &Country::new("de").unwrap())
        .await
        .unwrap();
    assert_eq!(changed.country, "de");
    let rot = Rotation::new("sticky10").unwrap();
    let changed = c.change_rotation(&v6.service_id, &rot).await.unwrap();
    assert_eq!(changed.rotation, "sticky10");

    let e = c
        .change_country(&v4.service_id, &Country::new("de").unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::UnsupportedForType));
    let e = c.change_rotation(&v4.service_id, &rot).await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::UnsupportedForType));
    assert_clean(&s);
}

#[tokio::test]
async fn proxies_in_every_form() {
    let s = MockServer::start().await;
    let c = s.client();
    let svc = buy(&c, ServiceType::Ipv6Rotating, IPV6_PLAN).await;
    let id = &svc.service_id;

    let text = c.proxies_text(id, &ProxyQuery::new()).await.unwrap();
    assert!(text.ends_with('\n'));
    let parsed: Vec<_> = opx::proxies::ProxyLines::new(&text)
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!parsed.is_empty());
    for e in &parsed {
        assert_eq!(e.login(), Some(svc.auth.login.as_str()));
        assert_eq!(e.password(), Some(svc.auth.password()));
        assert!(
            s.gateways()
                .credentials_valid(id, e.login().unwrap(), e.password().unwrap())
        );
    }

    let at = c
        .proxies(
            id,
            &ProxyQuery::new().layout(ProxyLayout::UserPassAtHostPort),
        )
        .await
        .unwrap();
    assert_eq!(at.len(), parsed.len());
    assert_eq!(at[0].host(), parsed[0].host());
    assert!(reqwest::Proxy::all(at[0].proxy_url()).is_ok());

    let de = c
        .proxies(id, &ProxyQuery::new().country(GatewayCountry::De))
        .await
        .unwrap();
    let de_gateway = s.gateways().addr(&GatewayCountry::De).unwrap();
    assert!(
        !de.is_empty()
            && de
                .iter()
                .all(|e| (e.host(), e.port()) == ("127.0.0.1", de_gateway.port()))
    );

    let no_auth = c.proxies(id, &ProxyQuery::new().auth(false)).await.unwrap();
    assert!(
        no_auth
            .iter()
            .all(|e| e.login().is_none() && e.password().is_none())
    );

    let json = c.proxies_json(id, &ProxyQuery::new()).await.unwrap();
    assert_eq!(json.servers.len(), parsed.len());
    assert!(
        json.servers
            .iter()
            .any(|p| p.country == Some(GatewayCountry::Nl))
    );
    assert_eq!(json.servers[0].password(), Some(svc.auth.password()));
    assert_clean(&s);
}

#[tokio::test]
async fn services_and_logs() {
    let s = MockServer::start().await;
    let c = s.client();
    let ids = s.services().seed(3);
    let listed = c
        .all_services(&opx::types::ServiceQuery::new())
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    let mut got: Vec<_> = listed.iter().map(|s| s.service_id.clone()).collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    let page = c
        .services_page(&ServiceQuery::new().status(StatusFilter::All).limit(2))
        .await
        .unwrap();
    assert_eq!(page.services.len(), 2);
    assert!(page.next_cursor.is_some());

    let logs: Vec<_> = c.logs_stream(&LogQuery::new()).try_collect().await.unwrap();
    assert!(logs.iter().any(
        |l| l.path().is_some_and(|p| p.ends_with("/services")) && l.http_status() == Some(200)
    ));
}

#[tokio::test]
async fn a_revoked_token_is_invalid_token() {
    let s = MockServer::start().await;
    let c = s.client();
    s.accounts().revoke(s.token());
    let e = c.account().await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidToken));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
}
