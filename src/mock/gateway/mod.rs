//! The mock's gateways: one HTTP forward proxy per gateway country (nl, de, at), each on its
//! own loopback port, that carries traffic the way the real service's gateways would, and
//! enforces what they would.
//!
//! Built like hyper's `examples/http_proxy.rs`: a plain request in absolute form
//! (`GET http://127.0.0.1:8000/ HTTP/1.1`) is forwarded (in origin form, hop-by-hop headers and
//! `Proxy-Authorization` removed); `CONNECT host:port` answers `200` once the destination is
//! connected, then upgrades and copies bytes both ways (`forward_proxy::relay`: read buffers that grow
//! with the traffic).
//!
//! Every request (each one of a kept-alive connection, and each `CONNECT`) is checked in this
//! order:
//!
//! 1. the request is one a forward proxy understands (`400` otherwise);
//! 2. **who**: `Proxy-Authorization: Basic login:password` must be a service's current
//!    credentials (regenerated ones stop working at once); without the header, the source
//!    address must be in the whitelist of a service (the oldest one that is active and has
//!    this gateway is taken). Otherwise `407` with `Proxy-Authenticate: Basic realm="opx-mock"`.
//!    Credentials that are sent are always checked: a whitelisted address with wrong
//!    credentials is refused;
//! 3. **the service**: it must be active on the mock's clock (`403`, "expired") and this
//!    gateway's country must be one of its gateways (`403`);
//! 4. **the destination** must be on loopback: an IP in `127.0.0.0/8`, `::1` (or the IPv4-mapped
//!    form), or `localhost`. Anything else is refused with `403` before any connection is
//!    made, and no name is ever resolved: the mock never reaches the network;
//! 5. **threads**: at most the service's `threads` requests and tunnels at once, over all
//!    gateways (`429` beyond it). A forwarded request holds its thread until the destination's
//!    answer has been read through, a tunnel until either end closes it (given back before
//!    the other end is told, so a client that saw the end finds the thread free);
//! 6. the connection to the destination (`502` when it fails or takes over 10 s), from a
//!    loopback source address of the gateway's country, rotated as the service's rotation mode
//!    says (`exit.rs`): the destination sees a rotating exit address.
//!
//! Each refusal is a [`GatewayRefusal`] (public: the status, the `Proxy-Status` error type, and
//! how a test tells them apart).

mod access;
mod exit;
mod refusal;
mod serve;
mod target;

pub use exit::range as exit_range;
pub use refusal::GatewayRefusal;
pub(crate) use serve::{Running, bind};
