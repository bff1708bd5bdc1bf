//! Loopback destinations for the gateway tests: an HTTP echo (axum) that answers with the peer
//! address it saw, and a TCP echo for `CONNECT` tunnels.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

/// An HTTP server on `127.0.0.1:0`. Every path answers `200` with the peer address as the
/// body (`127.0.0.1:PORT`, the exit-address contract of `opx check`) and headers telling what
/// it received: `x-echo-path` (the request target), `x-echo-host` and
/// `x-echo-proxy-authorization` (`present` or `absent`). `/hold` first waits for
/// [`release`](Echo::release), after reporting its arrival (wait for it with [`arrival`](Echo::arrival)).
pub struct Echo {
    pub addr: SocketAddr,
    arrived: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Clone)]
struct Shared {
    arrived: mpsc::UnboundedSender<()>,
    release: Arc<Semaphore>,
}

impl Echo {
    pub async fn start() -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, arrived) = mpsc::unbounded_channel();
        let release = Arc::new(Semaphore::new(0));
        let shared = Shared {
            arrived: tx,
            release: release.clone(),
        };
        let app = Router::new()
            .route("/hold", get(hold))
            .fallback(echo)
            .with_state(shared);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Echo {
            addr,
            arrived,
            release,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits for the next request to reach `/hold`. If `sender` (what sends it: a child
    /// process, a task) ends first, panics with what it ended with instead of waiting forever;
    /// a last guard of 120 s (far beyond any run of these tests, only there so that a hang
    /// fails) covers a sender that neither arrives nor ends.
    pub async fn arrival<T: std::fmt::Debug>(&mut self, sender: impl Future<Output = T>) {
        let wait = async {
            tokio::select! {
                arrived = self.arrived.recv() => arrived.expect("the echo is running"),
                ended = sender => panic!("ended before reaching the echo: {ended:?}"),
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(120), wait)
            .await
            .expect("nothing reached the echo within 120 s");
    }

    /// Lets `n` held requests answer.
    pub fn release(&self, n: usize) {
        self.release.add_permits(n);
    }
}

async fn echo(ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let proxy_auth = if req.headers().contains_key("proxy-authorization") {
        "present"
    } else {
        "absent"
    };
    (
        [
            ("x-echo-path", req.uri().to_string()),
            ("x-echo-host", header("host")),
            ("x-echo-proxy-authorization", proxy_auth.to_owned()),
        ],
        peer.to_string(),
    )
        .into_response()
}

async fn hold(
    State(shared): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let _ = shared.arrived.send(());
    shared.release.acquire().await.unwrap().forget();
    echo(peer, req).await
}

/// A TCP server on `127.0.0.1:0` that sends back whatever it receives.
pub async fn tcp_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A loopback address where a connection is refused, for as long as the returned socket is
/// kept: the socket holds the port (bound, never listening), so no other test can take it and
/// start accepting, as could happen to a port that was bound and then freed.
pub fn refusing_port() -> (tokio::net::TcpSocket, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}
