//! How a failed command is reported: one line saying what happened and what to do, and an exit
//! code (see `opx --help`).

use std::fmt;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Bad input, missing configuration or an unconfirmed charge (exit 2).
    Usage(String),
    /// A facade error, classified by its kind.
    Api(opx::Error),
    /// Anything else: writing output, the mock server (exit 1).
    Other(String),
    /// A command's own exit code and message (`opx api` on an error status).
    Exit(u8, String),
    /// `opx check`: some endpoint does not work (exit 6).
    Unhealthy(String),
}

/// What sending a purchase or extension again may do.
pub const CHARGE_TWICE: &str = "sending it again now may charge twice, so the same purchase or \
     extension is refused until it is resolved (or sent anyway with --force)";

/// The one text of a money call that may have taken effect: what happened, where it is kept
/// and how to learn whether it landed, and (`again`) what sending it again may do.
fn unknown_text(happened: &str, journaled: bool, again: Option<&str>) -> String {
    let kept = if journaled {
        "It is kept in the journal as unknown: run `opx pending` to see whether it landed \
         before trying again"
    } else {
        "It was sent unrecorded (--force): check with `opx services` (or `opx service ID`) \
         before trying again"
    };
    let again = again.map(|a| format!("; {a}")).unwrap_or_default();
    format!("outcome unknown: {happened}.\n{kept}{again}")
}

impl Failure {
    /// Exit 5: a money call that may have taken effect (see [`unknown_text`]).
    pub fn unknown(happened: &str, journaled: bool, again: Option<&str>) -> Self {
        Self::Exit(5, unknown_text(happened, journaled, again))
    }

    /// Exit 5: a purchase or extension whose outcome stays unknown after watching.
    pub fn charge_unknown(e: &opx::Error) -> Self {
        Self::unknown(e.message(), true, Some(CHARGE_TWICE))
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Other(_) => 1,
            Self::Exit(code, _) => *code,
            Self::Unhealthy(_) => 6,
            Self::Api(e) if e.is_outcome_unknown() => 5,
            Self::Api(e) if e.kind() == opx::ErrorKind::PendingUnknown => 5,
            Self::Api(e) if e.kind() == opx::ErrorKind::SpendCap => 2,
            Self::Api(e) if e.is_rate_limited() => 4,
            Self::Api(e) if e.is_validation() || e.kind() == opx::ErrorKind::Config => 2,
            // Refused by the API: its error envelope, with a code. A gateway's 502 page is not
            // the API's answer (exit 1).
            Self::Api(e) if e.kind() == opx::ErrorKind::Api && e.code().is_some() => 3,
            Self::Api(_) => 1,
        }
    }
}

impl From<opx::Error> for Failure {
    fn from(e: opx::Error) -> Self {
        Self::Api(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Other(e.to_string())
    }
}

/// An error and its causes on one line, each cause once (`error sending request: client error
/// (Connect): invalid peer certificate: UnknownIssuer`).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What to do about an API error code.
fn advice(code: &opx::types::ErrorCode) -> Option<&'static str> {
    use opx::types::ErrorCode as C;
    Some(match code {
        C::InvalidToken => {
            "the API key may be mistyped, revoked or pinned to other source IPs (`opx auth \
             status` says where the one in use comes from)"
        }
        C::InsufficientBalance => "top up the balance in the dashboard, then try again",
        C::NotFound => "list your services with `opx services --status all`",
        C::InvalidPlanId => "list plan ids with `opx plans`",
        C::UnsupportedForType => "country and rotation can only be changed on IPv6 services",
        C::CountryUnavailable => "pick a country available for this service type",
        C::TooManyIps => "a whitelist holds at most 50 addresses",
        C::ServerError => "retry after a short delay",
        _ => return None,
    })
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) | Self::Other(m) | Self::Exit(_, m) | Self::Unhealthy(m) => {
                f.write_str(m)
            }
            Self::Api(e) if e.is_outcome_unknown() => {
                f.write_str(&unknown_text(e.message(), true, None))
            }
            Self::Api(e)
                if matches!(
                    e.kind(),
                    opx::ErrorKind::Config
                        | opx::ErrorKind::PendingUnknown
                        | opx::ErrorKind::SpendCap
                ) =>
            {
                write!(f, "{}", e.message())
            }
            Self::Api(e)
                if e.status().is_some_and(|s| s.as_u16() == 407)
                    && e.code().is_none()
                    && crate::proxy::in_use().is_some() =>
            {
                write!(
                    f,
                    "{} refused the request: 407 Proxy Authentication Required (the API was \
                     not reached; give the proxy's credentials in its URL, or go direct with \
                     --no-proxy or NO_PROXY)",
                    crate::proxy::in_use().unwrap_or_default()
                )?;
                if e.operation().is_some_and(|op| !op.is_idempotent()) && e.charged() == Some(false)
                {
                    write!(f, "; nothing was charged or changed")?;
                }
                Ok(())
            }
            Self::Api(e) => {
                let proxy =
                    crate::proxy::in_use().filter(|_| e.kind() == opx::ErrorKind::Transport);
                // Through a proxy, a connection that could not be made is the proxy's: the API
                // is reached only through it.
                let unreachable_proxy = proxy
                    .as_ref()
                    .and_then(|p| Some((p, e.message().strip_prefix("could not connect to ")?)));
                if let Some(code) = e.code() {
                    write!(f, "{code}")?;
                    if let Some(status) = e.status() {
                        write!(f, " (HTTP {})", status.as_u16())?;
                    }
                    write!(f, ": {}", e.message())?;
                } else if let Some((proxy, rest)) = unreachable_proxy {
                    let (host, cause) = rest.split_once(": ").unwrap_or((rest, ""));
                    write!(f, "could not connect to {proxy}, on the way to {host}")?;
                    if !cause.is_empty() {
                        write!(f, ": {cause}")?;
                    }
                } else {
                    write!(f, "{}", e.message())?;
                }
                if let Some(proxy) = &proxy {
                    match unreachable_proxy {
                        Some(_) => write!(f, " (--no-proxy to go direct)")?,
                        None => write!(f, " (through {proxy}; --no-proxy to go direct)")?,
                    }
                }
                if e.is_rate_limited() {
                    match e.retry_after() {
                        Some(d) => write!(f, "; retry after {}", whole_seconds(d))?,
                        None => write!(f, "; retry later")?,
                    }
                } else if let Some(advice) = e.code().and_then(advice) {
                    write!(f, "; {advice}")?;
                }
                if e.operation().is_some_and(|op| !op.is_idempotent()) && e.charged() == Some(false)
                {
                    // A refusal that proves the server did not process it (an unknown outcome
                    // is the arm above; an accepted one says "done" in its message).
                    write!(f, "; nothing was charged or changed")?;
                }
                Ok(())
            }
        }
    }
}

/// `d` in whole seconds, rounded up (at least 1 s: "retry after 0 s" says nothing), as
/// [`opx::clock::human`] writes it.
pub fn whole_seconds(d: std::time::Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    opx::clock::human(std::time::Duration::from_secs(secs.max(1)))
}
