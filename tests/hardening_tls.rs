//! TLS and reqwest's own retry layer, against a local HTTPS + HTTP/2 server whose certificate
//! is signed by a test CA (`tests/support/tls/`):
//!
//! - the default client verifies the server with the platform's verifier: a CA that is not in
//!   the platform's store is refused, and the same CA is trusted once the platform's store has
//!   it (`SSL_CERT_FILE`, which the platform verifier reads on Linux): the trust comes from the
//!   platform, not from a bundled root list nor from nowhere;
//! - reqwest's retries are off for the money-spending POSTs: an HTTP/2 `REFUSED_STREAM`, which
//!   reqwest's default policy retries (the idempotent GET below is sent three times), reaches
//!   the server exactly once for `purchase`, `extend` and `credentials`.
//!
//! - the platform's roots are loaded once per process, on the first TLS handshake: building
//!   clients and talking plain `http` to loopback loads none, and a second client reuses them.
//!
//! One test: it sets `SSL_CERT_FILE` for the process, before any other thread runs. The roots
//! being loaded once per process, the refusal is seen by a child process of this binary
//! (`untrusting_child`, a no-op unless the parent names a server for it) whose environment has
//! no `SSL_CERT_FILE`.

// Needs TLS: without the `rustls` feature an https base URL is refused at construction.
#![cfg(feature = "rustls")]

#[path = "support/fixtures.rs"]
mod fixtures;

use std::{
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use opx::{Client, RetryPolicy};
use tokio_rustls::rustls::{
    self,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};

const TOKEN: &str = "opx_live_0123456789abcdef0123456789abcdef";
const SID: &str = "65aa1100b2c3d4e5f6a7b8d0";

fn tls_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/tls"))
}

/// Serves HTTP/2 over TLS: `GET /account` succeeds, every other request is reset with
/// `REFUSED_STREAM` (the server did not process it, so a client may resend it). Records each
/// request it saw, and each TLS handshake that failed.
async fn h2_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>, Arc<Mutex<u32>>) {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_dir().join("leaf.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_dir().join("leaf.key")).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let failed_handshakes = Arc::new(Mutex::new(0));
    let (s, f) = (seen.clone(), failed_handshakes.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, seen, failed) = (acceptor.clone(), s.clone(), f.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    *failed.lock().unwrap() += 1;
                    return;
                };
                let Ok(mut conn) = h2::server::handshake(tls).await else {
                    return;
                };
                while let Some(Ok((req, mut respond))) = conn.accept().await {
                    let line = format!("{} {}", req.method(), req.uri().path());
                    seen.lock().unwrap().push(line.clone());
                    if line == "GET /api/v1/account" {
                        let body = serde_json::json!({"status": "ok", "data": {
                            "username": "alice", "email": "alice@example.com", "balance": 1500, "currency": "RUB"
                        }})
                        .to_string();
                        let head = http::Response::builder()
                            .status(200)
                            .header("content-type", "application/json")
                            .body(())
                            .unwrap();
                        if let Ok(mut send) = respond.send_response(head, false) {
                            let _ = send.send_data(Bytes::from(body), true);
                        }
                    } else {
                        respond.send_reset(h2::Reason::REFUSED_STREAM);
                    }
                }
            });
        }
    });
    (addr, seen, failed_handshakes)
}

fn client(addr: SocketAddr) -> Client {
    Client::builder()
        .token(TOKEN)
        .base_url(format!("https://127.0.0.1:{}/api/v1", addr.port()))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Set by the parent for [`untrusting_child`]: the address of its HTTPS server.
const CHILD_ENV: &str = "OPX_TEST_TLS_SERVER";

/// Run by [`tls_trust_is_the_platforms_and_reqwest_never_resends_money_spending_posts`] as a
/// child process with the platform's own store: the test CA is not in it, so the handshake is
/// refused. Does nothing when run by the test harness on its own.
#[test]
fn untrusting_child() {
    let Some(addr) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let addr: SocketAddr = addr.to_str().unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt.block_on(client(addr).account()).unwrap_err();
    assert!(e.is_transport(), "{e:?}");
    assert_eq!(opx::fuzzing::tls_root_loads(), 1);
    println!("refused: {e}");
}

/// The child run of [`untrusting_child`] against `addr`, the platform's store unchanged.
fn run_untrusting_child(addr: SocketAddr) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "untrusting_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, addr.to_string())
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap()
}

#[test]
fn tls_trust_is_the_platforms_and_reqwest_never_resends_money_spending_posts() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    // The platform's store has the test CA (the platform verifier reads `SSL_CERT_FILE` on Linux).
    // SAFETY: no other thread exists yet (one test in this binary, run before any runtime).
    unsafe {
        std::env::set_var("SSL_CERT_FILE", tls_dir().join("ca.pem"));
        std::env::remove_var("SSL_CERT_DIR");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (addr, seen, failed_handshakes) = rt.block_on(h2_server());

    // A process whose platform store does not have the test CA: refused during the handshake,
    // nothing was sent. (The child runs on a blocking thread while this runtime serves.)
    let child = rt
        .block_on(
            async move { tokio::task::spawn_blocking(move || run_untrusting_child(addr)).await },
        )
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(out.contains("refused: "), "the child did not run: {out}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    // The server notices the refused handshake a moment after the client gave up.
    for _ in 0..200 {
        if *failed_handshakes.lock().unwrap() > 0 {
            break;
        }
        rt.block_on(async { tokio::time::sleep(std::time::Duration::from_millis(10)).await });
    }
    assert_eq!(*failed_handshakes.lock().unwrap(), 1);

    // Clients built, and plain http on loopback, load no root.
    let c = client(addr);
    let mock = rt.block_on(opx::mock::MockServer::start());
    let on_http = mock.client();
    assert_eq!(rt.block_on(on_http.account()).unwrap().status(), 200);
    assert_eq!(
        opx::fuzzing::tls_root_loads(),
        0,
        "loaded before any handshake"
    );

    // This process's store has the CA: trusted, the roots loaded once.
    let account = rt.block_on(c.account()).unwrap();
    assert_eq!(account.balance, 1500);
    assert_eq!(account.status(), 200);
    assert_eq!(opx::fuzzing::tls_root_loads(), 1);
    let again = client(addr);
    assert_eq!(rt.block_on(again.account()).unwrap().balance, 1500);
    assert_eq!(
        opx::fuzzing::tls_root_loads(),
        1,
        "a second client loaded them again"
    );

    // reqwest's default retry policy is live on this server: the idempotent GET, refused,
    // is sent again by reqwest itself (the facade's own retries are off here).
    let id: opx::types::ServiceId = SID.parse().unwrap();
    seen.lock().unwrap().clear();
    assert!(rt.block_on(c.service(&id)).is_err());
    let gets = seen.lock().unwrap().clone();
    assert!(gets.len() > 1, "reqwest did not retry the GET: {gets:?}");

    // The POSTs that spend money or change credentials: exactly once each.
    let purchase = fixtures::ipv4_purchase();
    for (op, path) in [
        ("purchase", "/api/v1/purchase".to_owned()),
        ("extend", format!("/api/v1/services/{SID}/extend")),
        ("credentials", format!("/api/v1/services/{SID}/credentials")),
    ] {
        seen.lock().unwrap().clear();
        let r = match op {
            "purchase" => rt.block_on(c.purchase(&purchase)).map(drop),
            "extend" => rt.block_on(c.extend(&id)).map(drop),
            _ => rt.block_on(c.regenerate_credentials(&id)).map(drop),
        };
        let e = r.unwrap_err();
        assert!(e.is_transport(), "{op}: {e:?}");
        assert_eq!(
            *seen.lock().unwrap(),
            [format!("POST {path}")],
            "{op} was sent more than once"
        );
    }
    assert_eq!(
        opx::fuzzing::tls_root_loads(),
        1,
        "the money POSTs' own client loaded them again"
    );
}
