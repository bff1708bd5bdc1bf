//! [`MockServer`]: the running mock, its front door. Everything else a test does with it goes
//! through the handles of `handles.rs` ([`faults`](MockServer::faults),
//! [`clock`](MockServer::clock), [`accounts`](MockServer::accounts),
//! [`services`](MockServer::services), [`gateways`](MockServer::gateways),
//! [`records`](MockServer::records)).

use std::net::SocketAddr;
use std::sync::Arc;

use super::builder::MockBuilder;
use super::fake::api::Fake;
use super::gateway::{self, Running};
use super::handles::{Accounts, Faults, Gateways, MockClock, Records, Services};
use super::harness::store::Harness;
use super::shared::Mock;
use super::shell::app;
use crate::conformance::route_table;

/// The running mock. Dropping it shuts the server down and checks its expectations
/// ([`Records::expect`]).
pub struct MockServer {
    mock: Arc<Mock>,
    addr: SocketAddr,
    base_url: String,
    token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The gateways stop when this is dropped.
    gateways: Running,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if !std::thread::panicking()
            && let Err(unmet) = self.mock.harness.verify()
        {
            panic!("{unmet}");
        }
    }
}

impl MockBuilder {
    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<MockServer> {
        let clock = self.make_clock()?;
        let bound = gateway::bind().await?;
        let (fake, token) = Fake::new(self.setup.clone(), clock, bound.addrs());
        let fake = Arc::new(fake);
        let gateways = bound.serve(fake.clone());
        let mock = Arc::new(Mock {
            routes: route_table(),
            fake,
            harness: Harness::new(self.setup.seed),
            validate_responses: self.validate_responses,
        });
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        let app = app::router(mock.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!("mock server stopped: {e}");
            }
        });
        let base_url = format!("http://{addr}{}", mock.routes.base_path);
        tracing::debug!("mock listening on {base_url}");
        Ok(MockServer {
            mock,
            addr,
            base_url,
            token,
            shutdown: Some(tx),
            gateways,
        })
    }
}

impl MockServer {
    /// Starts a mock with the default configuration on an ephemeral loopback port.
    ///
    /// # Panics
    ///
    /// When it cannot bind `127.0.0.1:0`.
    pub async fn start() -> MockServer {
        Self::builder()
            .start()
            .await
            .expect("cannot bind a loopback port for the mock")
    }

    /// A builder, to change the defaults.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A valid API key of the default account.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A client builder for this mock: its base URL, the default account's token and the
    /// mock's clock set, the rest as [`Client::builder`](crate::Client::builder) has it. On the
    /// mock's clock, [`MockClock::advance`] also releases the client's rate-limit gate, and
    /// the client's sleeps (backoff, pacing) move the mock's virtual time instead of waiting:
    /// no test sleeps for a window.
    ///
    /// ```no_run
    /// # async fn demo() -> opx::Result<()> {
    /// let server = opx::mock::MockServer::start().await;
    /// let client = server.client_builder().retry_policy(opx::RetryPolicy::none()).build()?;
    /// assert_eq!(client.account().await?.balance, opx::mock::DEFAULT_BALANCE);
    /// # Ok(()) }
    /// ```
    pub fn client_builder(&self) -> crate::ClientBuilder {
        crate::Client::builder()
            .token(self.token.clone())
            .base_url(self.base_url.clone())
            .shared_clock(self.clock().shared())
    }

    /// A client for this mock, on its clock (see [`client_builder`](Self::client_builder)).
    /// Prefer it to a client built from [`base_url`](Self::base_url) and
    /// [`token`](Self::token), which runs on the system clock: after
    /// [`MockClock::advance`] it would still wait for windows the mock has closed.
    ///
    /// # Panics
    ///
    /// Never for a running mock: its base URL and token are always valid.
    pub fn client(&self) -> crate::Client {
        self.client_builder()
            .build()
            .expect("a client for the mock's own base URL and token")
    }

    /// Back to the starting state (accounts, services, logs, faults, overrides, records,
    /// counters, the clock); the default token stays the same, and so do the expectations.
    pub fn reset(&self) {
        self.mock.reset();
    }

    /// Injected failures and reshaped answers: [`Faults::inject`],
    /// [`Faults::override_response`], ...
    pub fn faults(&self) -> Faults<'_> {
        Faults {
            harness: &self.mock.harness,
        }
    }

    /// The mock's time: [`MockClock::advance`], [`MockClock::now`], and the clock itself for
    /// other clients ([`MockClock::shared`]).
    pub fn clock(&self) -> MockClock<'_> {
        MockClock {
            clock: self.mock.fake.clock(),
        }
    }

    /// Accounts, keys, balances and rate limits: [`Accounts::balance`],
    /// [`Accounts::add`], [`Accounts::revoke`], [`Accounts::set_limit`], ...
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts {
            fake: &self.mock.fake,
        }
    }

    /// Services and the plan catalog: [`Services::seed`], [`Services::count`],
    /// [`Services::cheapest_plan`], [`Services::set_threads`], ...
    pub fn services(&self) -> Services<'_> {
        Services {
            fake: &self.mock.fake,
        }
    }

    /// The proxy gateways the services' proxy lists point at: [`Gateways::addr`],
    /// [`Gateways::threads_in_use`], [`Gateways::set_down`], ...
    pub fn gateways(&self) -> Gateways<'_> {
        Gateways {
            fake: &self.mock.fake,
            running: &self.gateways,
        }
    }

    /// What the mock was asked and answered, and expectations on it: [`Records::requests`],
    /// [`Records::executions`], [`Records::stats`], [`Records::expect`], ...
    pub fn records(&self) -> Records<'_> {
        Records {
            harness: &self.mock.harness,
        }
    }

    /// The parts the HTTP shell serves (for tests that serve them on another listener).
    #[cfg(test)]
    pub(crate) fn shared(&self) -> Arc<Mock> {
        self.mock.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's schemas are compiled once per process: a second start shares the first's
    /// route table (compiling it again would be most of a start).
    #[tokio::test]
    async fn later_starts_share_the_compiled_route_table() {
        let first = MockBuilder::default().start().await.unwrap();
        let second = MockBuilder::default().start().await.unwrap();
        assert!(Arc::ptr_eq(&first.mock.routes, &second.mock.routes));
        assert!(Arc::ptr_eq(&first.mock.routes, &route_table()));
        assert_ne!(first.base_url(), second.base_url());
    }
}

#[cfg(test)]
mod control_tests {
    use std::net::SocketAddr;

    use axum::serve::{Listener, ListenerExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::MockServer;
    use crate::mock::shell::app;

    /// A loopback listener that reports every connection as coming from `peer`: the mock's
    /// app then sees that peer, while nothing leaves loopback.
    struct Disguised {
        listener: TcpListener,
        peer: SocketAddr,
    }

    impl Listener for Disguised {
        type Io = TcpStream;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (TcpStream, SocketAddr) {
            let (io, _) = self.listener.accept().await.expect("accepts");
            (io, self.peer)
        }

        fn local_addr(&self) -> std::io::Result<SocketAddr> {
            self.listener.local_addr()
        }
    }

    /// The mock's app (as `MockBuilder::start` serves it) on a listener whose connections all
    /// come from `peer`; its address.
    async fn serve_as_if_from(server: &MockServer, peer: &str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = peer.parse().unwrap();
        let app = app::router(server.shared());
        let listener = Disguised { listener, peer }.tap_io(|_| {});
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        addr
    }

    /// The control API refuses every peer off loopback (403, nothing done), also one spelled
    /// as an IPv4-mapped IPv6 address; loopback peers in any spelling are served. The API
    /// itself answers any peer.
    #[tokio::test]
    async fn the_control_api_answers_loopback_peers_only() {
        let server = MockServer::start().await;
        let http = reqwest::Client::new();
        for (peer, served) in [
            ("127.0.0.1:40000", true),
            ("127.9.8.7:40000", true),
            ("[::1]:40000", true),
            ("[::ffff:127.0.0.1]:40000", true),
            ("192.0.2.1:40000", false),
            ("10.0.0.1:40000", false),
            ("[::ffff:192.0.2.1]:40000", false),
            ("[2001:db8::1]:40000", false),
        ] {
            let addr = serve_as_if_from(&server, peer).await;
            let seeded = server.services().count();
            let r = http
                .post(format!("http://{addr}/_mock/services"))
                .json(&serde_json::json!({"count": 1}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            if served {
                assert_eq!(status, 200, "{peer}: {body}");
                assert_eq!(server.services().count(), seeded + 1, "{peer}");
            } else {
                assert_eq!(status, 403, "{peer}: {body}");
                assert!(body.contains("loopback peers only"), "{peer}: {body}");
                assert_eq!(server.services().count(), seeded, "{peer}: nothing seeded");
            }
            let api = http
                .get(format!("http://{addr}/api/v1/account"))
                .bearer_auth(server.token())
                .send()
                .await
                .unwrap();
            assert_eq!(api.status().as_u16(), 200, "{peer}: the API answers anyone");
        }
    }
}
