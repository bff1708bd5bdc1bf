//! The facts the spec states once and everything else uses: the [`Operation`] table, the
//! rate-limit [`Bucket`]s and every string enum of `spec/openapi.json` ([`ServiceType`],
//! [`ErrorCode`], ...). All of it is generated at build time by `opx-codegen` (see
//! `opx_codegen::items`), so it cannot drift from the spec.
//!
//! ```
//! use opx::Operation;
//! use opx::operation::Bucket;
//! let op = Operation::Purchase;
//! assert_eq!(op.id(), "purchase");
//! assert_eq!((op.method(), op.path()), (http::Method::POST, "/purchase"));
//! assert!(!op.is_idempotent());
//! assert!(op.buckets().contains(&Bucket::Purchase));
//! assert_eq!("getService".parse::<Operation>()?, Operation::GetService);
//! assert_eq!(Operation::ListServices.max_page_size(), Some(100));
//! # Ok::<(), opx::operation::InvalidValue>(())
//! ```

use std::{fmt, str::FromStr};

include!(concat!(env!("OUT_DIR"), "/items.rs"));

/// A value refused because the spec does not allow it: its error code (the one the server would
/// use), a message naming the value and the allowed ones, and the operation whose request
/// would have carried it. It converts into [`Error`](crate::Error) (kind `Validation`), so `?`
/// works in a function returning [`opx::Result`](crate::Result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    code: ErrorCode,
    message: String,
    operation: Option<Operation>,
}

impl InvalidValue {
    fn new(code: ErrorCode, message: String) -> Self {
        Self {
            code,
            message,
            operation: None,
        }
    }

    fn with_operation(mut self, operation: Operation) -> Self {
        self.operation = Some(operation);
        self
    }

    /// The error code the server would answer with.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// What was refused and what is allowed.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The operation whose request would have carried the value, when known.
    pub fn operation(&self) -> Option<Operation> {
        self.operation
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.operation {
            write!(f, "{op}: ")?;
        }
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for InvalidValue {}

/// `Display` (the name) and `FromStr` (a known name, else an error listing them) for a
/// generated table enum with a name accessor and its inverse.
macro_rules! named {
    ($ty:ident, $name:ident, $from:ident, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.$name())
            }
        }

        impl FromStr for $ty {
            type Err = InvalidValue;
            /// Parses a name; anything else is refused with the list of known ones.
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                Self::$from(s).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.$name()).collect();
                    InvalidValue::new(
                        ErrorCode::InvalidRequest,
                        format!(
                            concat!("unknown ", $what, " {:?}: one of {}"),
                            s,
                            known.join(", ")
                        ),
                    )
                })
            }
        }
        /// As [`FromStr`].
        impl TryFrom<&str> for $ty {
            type Error = InvalidValue;
            fn try_from(s: &str) -> Result<Self, InvalidValue> {
                s.parse()
            }
        }

        /// As [`FromStr`].
        impl TryFrom<String> for $ty {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, InvalidValue> {
                s.parse()
            }
        }
    };
}

named!(Operation, id, from_id, "operation");
named!(Bucket, name, from_name, "rate-limit bucket");

impl serde::Serialize for Operation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> serde::Deserialize<'de> for Operation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Self::from_id(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown operation {s:?}")))
    }
}

impl Operation {
    /// The bucket a response's `X-RateLimit-*` headers describe. The docs say they describe the
    /// most restrictive bucket that applies, so the one whose documented limit equals the
    /// reported `X-RateLimit-Limit` is taken; without a match, the operation's own
    /// (per-operation) bucket, else the first that applies.
    pub fn bucket_for_limit(self, limit: Option<u32>) -> Bucket {
        let buckets = self.buckets();
        limit
            .and_then(|l| buckets.iter().copied().find(|b| b.limit() == l))
            .or_else(|| buckets.iter().copied().find(|b| b.is_per_operation()))
            .or_else(|| buckets.first().copied())
            .unwrap_or(Bucket::ALL[0])
    }
}

impl Bucket {
    /// Whether a request of `operation` counts against this bucket.
    pub fn applies_to(self, operation: Operation) -> bool {
        operation.buckets().contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_round_trips_through_its_id() {
        for op in Operation::ALL {
            assert_eq!(op.id().parse::<Operation>().unwrap(), op);
            assert_eq!(op.to_string(), op.id());
        }
        let e = "extend_service".parse::<Operation>().unwrap_err();
        assert!(e.message().contains("extendService"), "{e}");
    }

    #[test]
    fn the_headers_bucket_is_found_by_its_limit() {
        let p = Operation::Purchase;
        assert_eq!(
            p.bucket_for_limit(Some(Bucket::Purchase.limit())),
            Bucket::Purchase
        );
        assert_eq!(
            p.bucket_for_limit(Some(Bucket::GlobalMinute.limit())),
            Bucket::GlobalMinute
        );
        assert_eq!(p.bucket_for_limit(None), Bucket::Purchase);
        assert_eq!(p.bucket_for_limit(Some(7)), Bucket::Purchase);
        let a = Operation::GetAccount;
        assert_eq!(a.bucket_for_limit(None), Bucket::GlobalMinute);
        assert!(!Bucket::Purchase.applies_to(a));
        assert!(Bucket::GlobalHour.applies_to(a));
    }

    #[test]
    fn unknown_values_are_refused_for_requests_naming_the_operation() {
        let t = ServiceType::parse("ipv4_static");
        let refused = t.for_request(Operation::ListPlans).unwrap_err();
        assert_eq!(refused.code(), &ErrorCode::InvalidType);
        assert_eq!(refused.operation(), Some(Operation::ListPlans));
        assert!(refused.to_string().contains("ipv4_static"), "{refused}");
        assert!(
            ServiceType::Ipv6Rotating
                .for_request(Operation::Purchase)
                .is_ok()
        );
        let c = GatewayCountry::parse("us");
        assert_eq!(
            c.for_request(Operation::GetProxies).unwrap_err().code(),
            &ErrorCode::InvalidCountry
        );
    }
}
