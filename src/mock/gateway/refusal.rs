//! [`GatewayRefusal`]: why a mock gateway refused a request, as a test reads it off the answer.

/// Why one of the mock's gateways refused a request, in the order the gateway checks.
///
/// Each refusal is an HTTP answer with a `text/plain` body of one line naming the reason (never
/// a password) and, except on `407`, a `Proxy-Status` header (RFC 9209) of the form
/// `opx-mock; error=<type>`. A test tells them apart with [`GatewayRefusal::of`]:
///
/// ```
/// use opx::mock::GatewayRefusal;
///
/// let why = GatewayRefusal::of(403, Some("opx-mock; error=destination_ip_prohibited"));
/// assert_eq!(why, Some(GatewayRefusal::DestinationNotLoopback));
/// assert_eq!(GatewayRefusal::of(407, None), Some(GatewayRefusal::AuthenticationRequired));
/// assert_eq!(GatewayRefusal::of(200, None), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GatewayRefusal {
    /// `400`, `http_request_error`: not a request a forward proxy understands (an origin-form
    /// request, a URI other than `http://`, a `CONNECT` without a port).
    NotAProxyRequest,
    /// `407` with `Proxy-Authenticate: Basic realm="opx-mock"` (no `Proxy-Status`): no
    /// credentials and a source address in no whitelist, or credentials that are not a
    /// service's current ones (regenerated credentials stop working at once).
    AuthenticationRequired,
    /// `403`, `http_request_denied`: the service has expired on the mock's clock, or has no
    /// gateway in this gateway's country.
    ServiceDenied,
    /// `403`, `destination_ip_prohibited`: the destination is not on loopback (an IP in
    /// `127.0.0.0/8`, `::1`, or `localhost`). Nothing was connected and no name was resolved.
    DestinationNotLoopback,
    /// `429`, `connection_limit_reached`: all of the service's `threads` are in use (requests
    /// and tunnels, over all gateways).
    ThreadLimit,
    /// `502`, `connection_timeout`: connecting to the destination took over 10 seconds.
    DestinationTimeout,
    /// `502`, `connection_refused`: nothing accepted the connection to the destination.
    DestinationRefused,
    /// `502`, `connection_terminated`: the destination failed while the request was carried.
    DestinationFailed,
}

impl GatewayRefusal {
    /// Every refusal, in the order the gateway checks.
    pub const ALL: [GatewayRefusal; 8] = [
        Self::NotAProxyRequest,
        Self::AuthenticationRequired,
        Self::ServiceDenied,
        Self::DestinationNotLoopback,
        Self::ThreadLimit,
        Self::DestinationTimeout,
        Self::DestinationRefused,
        Self::DestinationFailed,
    ];

    /// The HTTP status of the answer.
    pub const fn status(self) -> u16 {
        match self {
            Self::NotAProxyRequest => 400,
            Self::AuthenticationRequired => 407,
            Self::ServiceDenied | Self::DestinationNotLoopback => 403,
            Self::ThreadLimit => 429,
            Self::DestinationTimeout | Self::DestinationRefused | Self::DestinationFailed => 502,
        }
    }

    /// The RFC 9209 error type of the `Proxy-Status` header (none on `407`).
    pub const fn proxy_status(self) -> Option<&'static str> {
        Some(match self {
            Self::AuthenticationRequired => return None,
            Self::NotAProxyRequest => "http_request_error",
            Self::ServiceDenied => "http_request_denied",
            Self::DestinationNotLoopback => "destination_ip_prohibited",
            Self::ThreadLimit => "connection_limit_reached",
            Self::DestinationTimeout => "connection_timeout",
            Self::DestinationRefused => "connection_refused",
            Self::DestinationFailed => "connection_terminated",
        })
    }

    /// The refusal an answer is, from its status and its `Proxy-Status` header; `None` for an
    /// answer that is not a gateway's refusal (a destination's own `403` carries no
    /// `Proxy-Status` of the mock).
    pub fn of(status: u16, proxy_status: Option<&str>) -> Option<Self> {
        let error = proxy_status
            .and_then(|v| v.strip_prefix("opx-mock;"))
            .and_then(|v| v.trim().strip_prefix("error="));
        Self::ALL
            .into_iter()
            .find(|r| r.status() == status && r.proxy_status() == error)
    }

    /// The `Proxy-Status` header's value, if the answer carries one.
    pub(crate) fn header(self) -> Option<String> {
        self.proxy_status().map(|e| format!("opx-mock; error={e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_reads_back_from_its_own_answer_and_no_two_look_alike() {
        for r in GatewayRefusal::ALL {
            let header = r.header();
            assert_eq!(GatewayRefusal::of(r.status(), header.as_deref()), Some(r));
        }
        assert_eq!(
            GatewayRefusal::of(403, None),
            None,
            "a 403 without the mock's Proxy-Status is the destination's"
        );
        assert_eq!(GatewayRefusal::of(403, Some("other; error=x")), None);
    }
}
