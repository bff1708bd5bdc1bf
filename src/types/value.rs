//! Validated request values: the rules the docs state are checked before anything is sent, with
//! the error code the server would use.

use std::{borrow::Cow, fmt, net::Ipv4Addr, str::FromStr};

use crate::error::{Error, ErrorCode, Result};

pub use crate::operation::MAX_WHITELIST;

fn is_hex24(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_alnum_2_32(s: &str) -> bool {
    (2..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A short, printable rendering of a refused value for error messages.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    format!("{out:?}")
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $check:expr, $code:expr, $what:literal, $example:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Cow<'static, str>);

        impl $name {
            #[doc = concat!("Checks and wraps a ", $what, ".")]
            ///
            /// ```
            #[doc = concat!("let v = opx::types::", stringify!($name), "::new(\"", $example, "\").unwrap();")]
            #[doc = concat!("assert_eq!(v.as_str(), \"", $example, "\");")]
            /// ```
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                if ($check)(value.as_str()) {
                    Ok(Self(Cow::Owned(value)))
                } else {
                    Err(Error::validation(
                        $code,
                        format!(concat!("not a valid ", $what, ": {}"), shown(&value)),
                    ))
                }
            }
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// A value known to pass the check, as a constant (a test checks each one).
            #[allow(dead_code)] // Only the types with documented values have constants.
            const fn known(value: &'static str) -> Self {
                Self(Cow::Borrowed(value))
            }
        }
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                Self::new(s)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        /// Checked as [`new`](Self::new) checks: a server value in another shape is refused.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Self::new(s).map_err(|e| serde::de::Error::custom(e.message()))
            }
        }
    };
}

string_newtype!(
    /// A service id: 24 hex characters (refused with `invalid_id` otherwise).
    ServiceId,
    is_hex24,
    ErrorCode::InvalidId,
    "service id (24 hex characters)",
    "65aa1100b2c3d4e5f6a7b8d0"
);
string_newtype!(
    /// A plan id: 24 hex characters (refused with `invalid_plan_id` otherwise).
    PlanId,
    is_hex24,
    ErrorCode::InvalidPlanId,
    "plan id (24 hex characters)",
    "65a9f0c1b2c3d4e5f6a7b8c9"
);
string_newtype!(
    /// A country/region for purchase or `PUT /country`: 2-32 ASCII alphanumerics, e.g. `us` or
    /// `mixed` (refused with `invalid_country` otherwise).
    Country,
    is_alnum_2_32,
    ErrorCode::InvalidCountry,
    "country (2-32 alphanumerics)",
    "mixed"
);
string_newtype!(
    /// A rotation mode: 2-32 ASCII alphanumerics, e.g. `instant` (refused with
    /// `invalid_rotation` otherwise).
    Rotation,
    is_alnum_2_32,
    ErrorCode::InvalidRotation,
    "rotation (2-32 alphanumerics)",
    "instant"
);

impl Country {
    /// `mixed`: lines from every country the service type offers (the docs' purchase example).
    pub const MIXED: Country = Country::known("mixed");
    /// `us` (the docs' `PUT /country` example).
    pub const US: Country = Country::known("us");
}

impl Rotation {
    /// `instant`: a new exit address per connection (the docs' example; IPv4 rotating
    /// services rotate this way by design).
    pub const INSTANT: Rotation = Rotation::known("instant");
}

/// The whole new whitelist of a service: at most [`MAX_WHITELIST`] IPv4 addresses, optionally
/// each with a label (labels are all-or-nothing). Sent as `{"whitelisted_ips": [...],
/// "labels": [...]}`.
///
/// ```
/// use std::net::Ipv4Addr;
/// use opx::types::Whitelist;
///
/// let plain = Whitelist::new([Ipv4Addr::new(203, 0, 113, 10)]).unwrap();
/// let labelled = Whitelist::with_labels([
///     (Ipv4Addr::new(203, 0, 113, 10), "home"),
///     (Ipv4Addr::new(198, 51, 100, 4), "office"),
/// ]).unwrap();
/// let parsed = Whitelist::parse(["203.0.113.10", "198.51.100.4"]).unwrap();
/// assert_eq!(parsed.ips(), labelled.ips());
/// assert!(Whitelist::parse(["300.1.1.1"]).is_err()); // invalid_ip
/// assert!(Whitelist::new(vec![Ipv4Addr::LOCALHOST; 51]).is_err()); // too_many_ips
/// # let _ = plain;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Whitelist {
    #[serde(rename = "whitelisted_ips")]
    ips: Vec<Ipv4Addr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels: Vec<String>,
}

/// Checked as the constructors check (size limit, one label per address or none).
impl<'de> serde::Deserialize<'de> for Whitelist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wire {
            whitelisted_ips: Vec<Ipv4Addr>,
            #[serde(default)]
            labels: Vec<String>,
        }
        let w = <Wire as serde::Deserialize>::deserialize(d)?;
        let checked = if w.labels.is_empty() {
            Whitelist::new(w.whitelisted_ips)
        } else if w.labels.len() != w.whitelisted_ips.len() {
            return Err(serde::de::Error::custom(
                "labels must be parallel to whitelisted_ips",
            ));
        } else {
            Whitelist::with_labels(w.whitelisted_ips.into_iter().zip(w.labels))
        };
        checked.map_err(|e| serde::de::Error::custom(e.message()))
    }
}

impl Whitelist {
    /// An empty whitelist (clears the service's whitelist).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Addresses without labels; more than 50 is refused with `too_many_ips`.
    pub fn new(ips: impl IntoIterator<Item = Ipv4Addr>) -> Result<Self> {
        let ips: Vec<_> = ips.into_iter().collect();
        check_len(ips.len())?;
        Ok(Self {
            ips,
            labels: Vec::new(),
        })
    }

    /// Addresses with a label each.
    pub fn with_labels<L: Into<String>>(
        entries: impl IntoIterator<Item = (Ipv4Addr, L)>,
    ) -> Result<Self> {
        let (ips, labels): (Vec<_>, Vec<String>) =
            entries.into_iter().map(|(ip, l)| (ip, l.into())).unzip();
        check_len(ips.len())?;
        Ok(Self { ips, labels })
    }

    /// Parses dotted-quad strings; anything else is refused with `invalid_ip`.
    pub fn parse<S: AsRef<str>>(ips: impl IntoIterator<Item = S>) -> Result<Self> {
        let ips = ips
            .into_iter()
            .map(|s| {
                let s = s.as_ref();
                s.parse::<Ipv4Addr>().map_err(|_| {
                    Error::validation(
                        ErrorCode::InvalidIp,
                        format!("not an IPv4 address: {}", shown(s)),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(ips)
    }

    /// The addresses.
    pub fn ips(&self) -> &[Ipv4Addr] {
        &self.ips
    }
    /// The labels, parallel to [`ips`](Self::ips), or empty.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }
}

/// A list of dotted-quad addresses separated by commas or white space, as people write one
/// (`"203.0.113.10, 198.51.100.4"`); anything else is refused with `invalid_ip`, more than
/// [`MAX_WHITELIST`] with `too_many_ips`. The empty string is the empty whitelist.
impl FromStr for Whitelist {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(
            s.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|a| !a.is_empty()),
        )
    }
}

/// As [`FromStr`].
impl TryFrom<&str> for Whitelist {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        s.parse()
    }
}

/// As [`FromStr`].
impl TryFrom<String> for Whitelist {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

fn check_len(n: usize) -> Result<()> {
    if n > MAX_WHITELIST {
        return Err(Error::validation(
            ErrorCode::TooManyIps,
            format!("{n} whitelist entries, at most {MAX_WHITELIST} allowed"),
        ));
    }
    Ok(())
}

/// Checks the token format: non-empty, visible ASCII only (no whitespace or control characters,
/// which would allow header injection).
pub(crate) fn check_token(token: &str) -> Result<()> {
    if token.is_empty() {
        return Err(Error::config("the API token is empty"));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::config(
            "the API token contains whitespace, control or non-ASCII characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_constants_pass_their_own_check() {
        for c in [Country::MIXED, Country::US] {
            assert_eq!(Country::new(c.as_str()).unwrap(), c);
        }
        assert_eq!(Rotation::new("instant").unwrap(), Rotation::INSTANT);
        assert_eq!(format!("{:?}", Country::MIXED), "Country(\"mixed\")");
    }

    #[test]
    fn ids_need_exactly_24_hex() {
        assert!("65aa1100b2c3d4e5f6a7b8d0".parse::<ServiceId>().is_ok());
        assert!("65AA1100B2C3D4E5F6A7B8D0".parse::<ServiceId>().is_ok());
        for bad in [
            "",
            "65aa1100b2c3d4e5f6a7b8d",
            "65aa1100b2c3d4e5f6a7b8d00",
            "65aa1100b2c3d4e5f6a7b8dg",
            "../../account/xxxxxxxxxx",
            "65aa1100b2c3d4e5f6a7b8é",
        ] {
            let e = bad.parse::<ServiceId>().unwrap_err();
            assert_eq!(e.code(), Some(&ErrorCode::InvalidId), "{bad}");
            let e = PlanId::new(bad).unwrap_err();
            assert_eq!(e.code(), Some(&ErrorCode::InvalidPlanId), "{bad}");
        }
    }

    #[test]
    fn country_and_rotation_need_2_to_32_alphanumerics() {
        assert!(Country::new("us").is_ok());
        assert!(Country::new("mixed").is_ok());
        assert!(Rotation::new("a".repeat(32)).is_ok());
        for bad in ["u", "u s", "us\n", "ü1", &"a".repeat(33), "n-l"] {
            assert_eq!(
                Country::new(bad).unwrap_err().code(),
                Some(&ErrorCode::InvalidCountry)
            );
            assert_eq!(
                Rotation::new(bad).unwrap_err().code(),
                Some(&ErrorCode::InvalidRotation)
            );
        }
    }

    #[test]
    fn whitelist_limits() {
        assert!(Whitelist::new(vec![Ipv4Addr::LOCALHOST; 50]).is_ok());
        assert_eq!(
            Whitelist::new(vec![Ipv4Addr::LOCALHOST; 51])
                .unwrap_err()
                .code(),
            Some(&ErrorCode::TooManyIps)
        );
        for bad in ["1.2.3", "1.2.3.4.5", "::1", "256.1.1.1", " 1.2.3.4", ""] {
            assert_eq!(
                Whitelist::parse([bad]).unwrap_err().code(),
                Some(&ErrorCode::InvalidIp),
                "{bad:?}"
            );
        }
        let w = Whitelist::with_labels([(Ipv4Addr::new(1, 2, 3, 4), "home")]).unwrap();
        assert_eq!(w.labels(), ["home"]);
        // The docs state no label length: a long label is the server's to judge.
        assert!(Whitelist::with_labels([(Ipv4Addr::LOCALHOST, "x".repeat(65))]).is_ok());
    }

    #[test]
    fn values_decode_as_their_constructors_check() {
        let id: ServiceId = serde_json::from_str("\"65aa1100b2c3d4e5f6a7b8d0\"").unwrap();
        assert_eq!(id.as_str(), "65aa1100b2c3d4e5f6a7b8d0");
        assert!(serde_json::from_str::<ServiceId>("\"svc_1\"").is_err());
        let w: Whitelist =
            serde_json::from_str(r#"{"whitelisted_ips":["1.2.3.4"],"labels":["a"]}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({"whitelisted_ips":["1.2.3.4"],"labels":["a"]})
        );
        let many = serde_json::json!({"whitelisted_ips": vec!["1.1.1.1"; MAX_WHITELIST + 1]});
        assert!(serde_json::from_value::<Whitelist>(many).is_err());
    }

    #[test]
    fn tokens_with_whitespace_or_controls_are_refused() {
        assert!(check_token("opx_live_0123456789abcdef0123456789abcdef").is_ok());
        for bad in ["", "a b", "abc\r\nX-Evil: 1", "tab\t", "nul\0", "é"] {
            let e = check_token(bad).unwrap_err();
            assert!(!e.to_string().contains(bad) || bad.is_empty());
        }
    }

    #[test]
    fn long_refused_values_are_shortened_in_messages() {
        let e = Country::new("x".repeat(1000)).unwrap_err();
        assert!(e.to_string().len() < 160, "{e}");
        assert!(!e.to_string().contains(&"x".repeat(41)));
    }
}
