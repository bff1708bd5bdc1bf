//! Concurrency: 50 tasks sharing one client. Rate-limit accounting stays exact, a lowered limit
//! gives exactly `limit` successes and rate-limited errors for the rest, and concurrent
//! purchases never overspend.

use crate::contract;
use opx::Operation;

use std::collections::BTreeSet;

use crate::slices::Op;
use contract::{assert_wire_clean, client, fixture};
use opx::ErrorKind;
use opx::mock::{Bucket, MockServer};
use opx::types::{ErrorCode, PurchaseRequest, ServiceType};

const TASKS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tasks_under_a_lowered_limit_get_exactly_limit_successes() {
    let s = MockServer::start().await;
    s.accounts().set_limit(Bucket::GlobalMinute, 20);
    let c = client(&s);
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.account().await })
        })
        .collect();
    let mut remaining = BTreeSet::new();
    let (mut ok, mut server_429, mut local) = (0, 0, 0);
    for h in handles {
        match h.await.expect("no panic") {
            Ok(a) => {
                ok += 1;
                remaining.insert(a.rate_limit().unwrap().remaining().unwrap());
            }
            Err(e) if e.kind() == ErrorKind::RateLimitedLocally => {
                assert!(e.is_rate_limited() && e.retry_after().is_some(), "{e:?}");
                local += 1;
            }
            Err(e) => {
                assert!(e.is_rate_limited(), "{e:?}");
                assert_eq!(e.code(), Some(&ErrorCode::RateLimited));
                assert!(e.retry_after().is_some(), "{e:?}");
                server_429 += 1;
            }
        }
    }
    assert_eq!((ok, server_429 + local), (20, 30));
    // Each success saw its own place in the window.
    assert_eq!(remaining, (0..20).collect::<BTreeSet<u32>>());
    assert_eq!(s.records().executions(Operation::GetAccount), 20);
    // Nothing was retried: the server saw the successes and the 429s it sent, no more.
    assert_eq!(s.records().requests().len(), 20 + server_429);
    assert!(c.rate_limit().unwrap().is_exhausted());
    assert_wire_clean(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tasks_of_every_operation_share_one_client() {
    let (s, fx, c) = contract::started().await;
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            let (c, fx) = (c.clone(), fx.clone());
            let op = Op::all()[i % Op::all().len()];
            tokio::spawn(async move { (op, op.call(&c, &fx).await) })
        })
        .collect();
    let mut per_op = std::collections::HashMap::<opx::Operation, u64>::new();
    for h in handles {
        let (op, r) = h.await.expect("no panic");
        r.unwrap_or_else(|e| panic!("{}: {e:?}", op.name()));
        *per_op.entry(op.operation).or_default() += 1;
    }
    for (id, n) in per_op {
        assert_eq!(s.records().executions(id), n, "{id}");
    }
    // Global accounting: 50 requests from a window of 300.
    let a = c.account().await.unwrap();
    assert_eq!(a.rate_limit().unwrap().remaining(), Some(300 - 51));
    assert_eq!(s.records().requests().len(), TASKS + 1);
    assert_wire_clean(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_purchases_never_overspend() {
    let s = MockServer::start().await;
    let fx = fixture(&s);
    let buyable = 10;
    s.accounts()
        .set_balance(fx.price_v4 * buyable + fx.price_v4 - 1);
    let count = s.services().count();
    let c = client(&s);
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let c = c.clone();
            let req = PurchaseRequest::new(ServiceType::Ipv4Rotating, fx.plan_v4.clone());
            tokio::spawn(async move { c.purchase(&req).await })
        })
        .collect();
    let (mut bought, mut refused) = (BTreeSet::new(), 0);
    for h in handles {
        match h.await.expect("no panic") {
            Ok(svc) => {
                bought.insert(svc.service_id.to_string());
            }
            Err(e) => {
                assert!(
                    e.is_insufficient_balance() && e.status().map(|s| s.as_u16()) == Some(402),
                    "{e:?}"
                );
                refused += 1;
            }
        }
    }
    assert_eq!(
        (bought.len() as i64, refused),
        (buyable, TASKS as i64 - buyable)
    );
    assert_eq!(s.accounts().balance(), fx.price_v4 - 1);
    assert_eq!(s.services().count(), count + buyable as usize);
    assert_eq!(s.records().executions(Operation::Purchase), buyable as u64);
    assert_eq!(s.records().requests().len(), TASKS);
    assert_wire_clean(&s);
}
