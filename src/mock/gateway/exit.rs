//! Where a gateway's connections to destinations leave from: a loopback source address
//! (`127.C.x.y`, one /16 per gateway country, `C` its telephone code: nl 31, de 49, at 43),
//! rotated as the service's rotation mode says, on the mock's clock.
//!
//! - `instant`: a new address for every connection;
//! - a period, `<n>s`, `<n>m`, `<n>min` or `<n>h` (`10min`): the address is kept for that long
//!   after it was first used, then the next connection gets a new one;
//! - any other mode: the address is kept until the mode changes (a sticky exit).
//!
//! Linux accepts any 127.0.0.0/8 source address without set-up, so a destination on
//! `127.0.0.1` sees the connection come from that address, as a target on the internet sees
//! the exit IP of a real rotating proxy.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::types::{GatewayCountry, Rotation};

/// Addresses per country: the last octet runs 1..=254 under each of 256 third octets.
const PER_COUNTRY: u32 = 256 * 254;

/// The second octet of a country's range.
fn octet(country: &GatewayCountry) -> u8 {
    match country {
        GatewayCountry::Nl => 31,
        GatewayCountry::De => 49,
        GatewayCountry::At => 43,
        _ => 99,
    }
}

/// The exit addresses of a country's gateway in the mock: a connection it makes to a
/// destination leaves from one of them (`127.31.0.1..=127.31.255.254` for nl, `127.49.*` for
/// de, `127.43.*` for at), a new one for every connection when the service's rotation is
/// `instant`, the same one for a period when it is one (`10min`, `30s`, `1h`), and the same one
/// until the mode changes for any other mode. Periods run on the mock's clock.
///
/// ```
/// use opx::types::GatewayCountry;
/// let nl = opx::mock::exit_range(&GatewayCountry::Nl);
/// assert!(nl.contains(&std::net::Ipv4Addr::new(127, 31, 0, 1)));
/// ```
pub fn range(country: &GatewayCountry) -> RangeInclusive<Ipv4Addr> {
    let o = octet(country);
    Ipv4Addr::new(127, o, 0, 1)..=Ipv4Addr::new(127, o, 255, 254)
}

/// How long a rotation mode keeps an address: `Some(ZERO)` for `instant`, `None` for ever.
pub(crate) fn period(mode: &str) -> Option<Duration> {
    if mode.eq_ignore_ascii_case(Rotation::INSTANT.as_str()) {
        return Some(Duration::ZERO);
    }
    let digits = mode.len() - mode.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let n: u64 = mode[..digits].parse().ok()?;
    let unit = match &mode[digits..] {
        "s" | "sec" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(Duration::from_secs(n * unit))
}

/// The address in use for one service on one gateway.
struct Exit {
    addr: Ipv4Addr,
    mode: Rotation,
    since: DateTime<Utc>,
}

/// The exits of every gateway of a mock.
#[derive(Default)]
pub(super) struct Exits {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The next address index of each country.
    next: HashMap<u8, u32>,
    held: HashMap<(u128, u8), Exit>,
}

impl Exits {
    /// The source address of a new connection for `service` through `country`'s gateway.
    pub(super) fn pick(
        &self,
        service: u128,
        country: &GatewayCountry,
        mode: &Rotation,
        now: DateTime<Utc>,
    ) -> Ipv4Addr {
        let o = octet(country);
        let mut st = crate::sync::lock(&self.state);
        if let Some(h) = st.held.get(&(service, o))
            && h.mode == *mode
            && still_held(mode.as_str(), h.since, now)
        {
            return h.addr;
        }
        let n = st.next.entry(o).or_insert(0);
        let i = *n % PER_COUNTRY;
        *n = n.wrapping_add(1);
        let addr = Ipv4Addr::new(127, o, (i / 254) as u8, (i % 254 + 1) as u8);
        let held = Exit {
            addr,
            mode: mode.clone(),
            since: now,
        };
        st.held.insert((service, o), held);
        addr
    }
}

/// Whether an address first used at `since` is still the one of `mode` at `now`.
fn still_held(mode: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    match period(mode) {
        None => true,
        Some(p) if p.is_zero() => false,
        Some(p) => chrono::Duration::from_std(p).is_ok_and(|p| now - since < p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_modes_are_read_as_periods() {
        let min = |n: u64| Some(Duration::from_secs(60 * n));
        assert_eq!(period("instant"), Some(Duration::ZERO));
        assert_eq!(period("10min"), min(10));
        assert_eq!(period("5m"), min(5));
        assert_eq!(period("1h"), min(60));
        assert_eq!(period("30s"), Some(Duration::from_secs(30)));
        for sticky in ["sticky", "min", "10days", "x10min"] {
            assert_eq!(period(sticky), None, "{sticky}");
        }
    }

    #[test]
    fn instant_rotates_per_connection_and_periods_hold_on_the_clock() {
        let exits = Exits::default();
        let nl = GatewayCountry::Nl;
        let r = |s: &str| Rotation::new(s).unwrap();
        let t0 = Utc::now();
        let a = exits.pick(1, &nl, &r("instant"), t0);
        let b = exits.pick(1, &nl, &r("instant"), t0);
        assert_ne!(a, b);
        assert!(range(&nl).contains(&a) && range(&nl).contains(&b));
        let held = exits.pick(2, &nl, &r("10min"), t0);
        let later = t0 + chrono::Duration::seconds(599);
        assert_eq!(exits.pick(2, &nl, &r("10min"), later), held);
        let after = t0 + chrono::Duration::seconds(600);
        let next = exits.pick(2, &nl, &r("10min"), after);
        assert_ne!(next, held);
        // A changed mode takes a new address at once.
        assert_ne!(exits.pick(2, &nl, &r("sticky"), after), next);
        let de = exits.pick(2, &GatewayCountry::De, &r("sticky"), after);
        assert!(range(&GatewayCountry::De).contains(&de) && !range(&nl).contains(&de));
    }
}
