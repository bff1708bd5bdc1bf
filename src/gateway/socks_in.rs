//! The SOCKS5 side of the local port (`fast-socks5`'s server protocol): no authentication, or
//! username/password whose username carries the tags (`country-de-session-a1`) and whose
//! password is checked only when local credentials are set. `CONNECT` only; names are not
//! resolved here but sent upstream (`curl --socks5-hostname`).

use std::net::SocketAddr;
use std::sync::Arc;

use fast_socks5::server::{
    Socks5ServerProtocol, SocksServerError, StandardAuthentication, StandardAuthenticationStarted,
};
use fast_socks5::util::target_addr::TargetAddr;
use fast_socks5::{ReplyError, Socks5Command};
use tokio::net::TcpStream;

use super::done::Done;
use super::establish::{Refused, establish};
use super::pool::Refusal;
use super::shared::Shared;
use super::upstream::Failure;
use super::wish::Wish;

/// Serves one SOCKS5 client.
pub(crate) async fn serve(g: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    if let Err(e) = run(&g, stream, peer).await {
        tracing::debug!("gateway: SOCKS5 client {peer}: {e}");
    }
}

async fn run(g: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) -> Result<(), SocksServerError> {
    let methods = StandardAuthentication::allow_no_auth(g.local_auth.is_none());
    let started = Socks5ServerProtocol::start(stream)
        .negotiate_auth(methods)
        .await?;
    let (proto, username) = match started {
        StandardAuthenticationStarted::NoAuthentication(auth) => {
            (Socks5ServerProtocol::finish_auth(auth), None)
        }
        StandardAuthenticationStarted::PasswordAuthentication(auth) => {
            let (user, password, auth) = auth.read_username_password().await?;
            if let Some(local) = &g.local_auth
                && !local.accepts(&user, &password)
            {
                return auth.reject().await;
            }
            (
                Socks5ServerProtocol::finish_auth(auth.accept().await?),
                Some(user),
            )
        }
    };
    let (proto, command, target) = proto.read_command().await?;
    if command != Socks5Command::TCPConnect {
        return proto.reply_error(&ReplyError::CommandNotSupported).await;
    }
    let target = match target {
        TargetAddr::Ip(addr) => addr.to_string(),
        TargetAddr::Domain(host, port) => format!("{host}:{port}"),
    };
    let wish = username.map_or_else(Wish::default, |u| Wish::from_username(&u));
    let done = Done::new(g, peer, "SOCKS5", target.clone());
    let est = match establish(g, &wish, &target).await {
        Ok(est) => est,
        Err(r) => {
            drop(done.failed(r.status().as_u16(), r.message()));
            return proto.reply_error(&reply(&r)).await;
        }
    };
    let _done = done.carried(est.lease.line.clone(), est.traffic, 200);
    let _lease = est.lease;
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    let client = proto.reply_success(unspecified).await?;
    let _ = crate::forward_proxy::relay_both(client, est.tunnel).await;
    Ok(())
}

/// The SOCKS5 reply for a refusal.
fn reply(r: &Refused) -> ReplyError {
    match r {
        Refused::Pool(Refusal::NoLine(_)) => ReplyError::NetworkUnreachable,
        Refused::Pool(_) => ReplyError::GeneralFailure,
        Refused::Upstream(_, Failure::Timeout) => ReplyError::TtlExpired,
        Refused::Upstream(..) => ReplyError::GeneralFailure,
        Refused::Destination(..) => ReplyError::HostUnreachable,
    }
}
