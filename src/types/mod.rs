//! Every data type of the API in one place: the payloads the generated client decodes into
//! directly (one type layer: see `opx_codegen::REPLACED`), the checked values a request is built
//! from ([`ServiceId`], [`PlanId`], [`Country`], [`Rotation`], [`Whitelist`]), and the spec's
//! enums ([`ServiceType`], [`ErrorCode`], ...).
//!
//! What the docs show is decoded strictly; what spec/README.md lists as inferred is decoded
//! tolerantly ([`Undecoded`] items, lenient fields, log entries kept whole). Every type is
//! `Serialize` and `Deserialize`, and a serialized value reads back as itself.

mod catalog;
mod log;
mod proxy;
mod query;
mod service;
pub(crate) mod tolerant;
mod value;
mod whitelist_edit;

pub use catalog::{Account, Plan, PlanList};
pub use log::{LogEntry, LogPage};
pub use proxy::{ProxyList, ProxyServer};
pub(crate) use query::Paging;
pub use query::{LogQuery, ProxyQuery, PurchaseRequest, ServiceQuery};
pub(crate) use service::service_from;
pub use service::{Credentials, Service, ServicePage, WhitelistEntry};
pub use tolerant::Undecoded;
pub(crate) use value::check_token;
pub use value::{Country, MAX_WHITELIST, PlanId, Rotation, ServiceId, Whitelist};
pub use whitelist_edit::WhitelistEdit;
pub(crate) use whitelist_edit::{label_of, same_entries};

pub use crate::operation::{
    Currency, ErrorCode, GatewayCountry, ProxyFormat, ProxyLayout, ServiceStatus, ServiceType,
    StatusFilter,
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Serialize, de::DeserializeOwned};
    use serde_json::json;

    fn service() -> serde_json::Value {
        json!({"service_id": "65aa1100b2c3d4e5f6a7b8d0", "type": "ipv4_rotating", "status": "active",
            "threads": 100, "expires_at": "2026-06-17T12:34:56Z", "country": "mixed", "rotation": "instant",
            "auth": {"login": "abc", "password": "def"}, "whitelist": [{"ip": "203.0.113.10", "label": "home"}],
            "plan_id": "65a9f0c1b2c3d4e5f6a7b8c9"})
    }

    /// `T` read from `value`, written, and read again, is the same value.
    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
        value: serde_json::Value,
    ) -> T {
        let first: T = serde_json::from_value(value).unwrap();
        let again: T = serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
        assert_eq!(first, again);
        first
    }

    /// `T` from `text` by `FromStr`, `TryFrom<&str>` and `TryFrom<String>`: all three agree.
    fn converts<T, E: std::fmt::Debug>(text: &str) -> std::result::Result<T, String>
    where
        T: std::str::FromStr<Err = E> + PartialEq + std::fmt::Debug,
        T: for<'a> TryFrom<&'a str, Error = E> + TryFrom<String, Error = E>,
    {
        let parsed = text.parse::<T>().map_err(|e| format!("{e:?}"));
        let from_str = T::try_from(text).map_err(|e| format!("{e:?}"));
        let from_string = T::try_from(text.to_owned()).map_err(|e| format!("{e:?}"));
        assert_eq!(parsed, from_str, "{text:?}");
        assert_eq!(parsed, from_string, "{text:?}");
        parsed
    }

    /// Every value a request is built from, and every spec enum, converts the same three
    /// ways; a checked type refuses what its rule forbids, an open enum keeps it as `Unknown`.
    #[test]
    fn every_value_type_converts_from_text_the_same_ways() {
        assert!(converts::<ServiceId, _>("65aa1100b2c3d4e5f6a7b8d0").is_ok());
        assert!(converts::<ServiceId, _>("65aa").is_err());
        assert!(converts::<PlanId, _>("65a9f0c1b2c3d4e5f6a7b8c9").is_ok());
        assert!(converts::<PlanId, _>("").is_err());
        assert_eq!(converts::<Country, _>("mixed"), Ok(Country::MIXED));
        assert!(converts::<Country, _>("d-e").is_err());
        assert_eq!(converts::<Rotation, _>("instant"), Ok(Rotation::INSTANT));
        assert!(converts::<Rotation, _>("in stant").is_err());
        let wl = converts::<Whitelist, _>("203.0.113.10, 198.51.100.4\n192.0.2.1").unwrap();
        assert_eq!(wl.ips().len(), 3);
        assert_eq!(converts::<Whitelist, _>(""), Ok(Whitelist::empty()));
        assert!(converts::<Whitelist, _>("203.0.113.10,2001:db8::1").is_err());
        assert_eq!(
            converts::<ServiceType, _>("ipv6_rotating"),
            Ok(ServiceType::Ipv6Rotating)
        );
        assert!(matches!(
            converts::<ServiceType, _>("ipv4_static"),
            Ok(ServiceType::Unknown(_))
        ));
        assert!(converts::<ServiceStatus, _>("active").is_ok_and(|s| s.is_known()));
        assert!(converts::<GatewayCountry, _>("de").is_ok_and(|c| c.is_known()));
        assert!(converts::<Currency, _>("RUB").is_ok_and(|c| c.is_known()));
        assert!(converts::<ErrorCode, _>("not_found").is_ok_and(|c| c.is_known()));
        assert_eq!(converts::<ProxyFormat, _>("json"), Ok(ProxyFormat::Json));
        assert!(converts::<ProxyFormat, _>("xml").is_err());
        assert!(converts::<ProxyLayout, _>("nope").is_err());
        assert_eq!(converts::<StatusFilter, _>("all"), Ok(StatusFilter::All));
        assert_eq!(
            converts::<crate::Operation, _>("getAccount"),
            Ok(crate::Operation::GetAccount)
        );
        assert!(converts::<crate::Operation, _>("getAcount").is_err());
    }

    #[test]
    fn every_model_reads_back_what_it_wrote() {
        let s: Service = round_trip(service());
        assert_eq!(s.auth.password(), "def");
        round_trip::<Account>(
            json!({"username": "a", "email": "a@b.c", "balance": 5, "currency": "RUB"}),
        );
        round_trip::<PlanList>(
            json!({"plans": [{"plan_id": "65a9f0c1b2c3d4e5f6a7b8c9", "type": "ipv4_rotating",
            "name": "n", "threads": 1, "days": 30, "price": 10, "currency": "RUB"}, {"broken": true}]}),
        );
        let page: ServicePage =
            round_trip(json!({"services": [service(), {"service_id": "x"}], "next_cursor": "c"}));
        assert_eq!((page.services.len(), page.undecoded.len()), (1, 1));
        round_trip::<LogPage>(json!({"logs": [{"id": "1", "path": "/x"}, 7], "next_cursor": null}));
        round_trip::<ProxyList>(
            json!({"servers": [{"country": "nl", "host": "h", "port": 1, "login": "l", "password": "p"}]}),
        );
        round_trip::<PurchaseRequest>(
            json!({"type": "ipv6_rotating", "plan_id": "65a9f0c1b2c3d4e5f6a7b8cb", "country": "de"}),
        );
    }

    #[test]
    fn inferred_fields_in_other_shapes_do_not_fail_the_service() {
        let mut v = service();
        v["status"] = json!(3);
        v["plan_id"] = json!("not-hex");
        v["whitelist"] = json!(["198.51.100.4", {"address": "203.0.113.10", "name": "office"}, 42]);
        let s: Service = serde_json::from_value(v).unwrap();
        assert_eq!((s.status, s.plan_id), (None, None));
        let ips: Vec<String> = s.whitelist.iter().map(|w| w.ip.to_string()).collect();
        assert_eq!(ips, ["198.51.100.4", "203.0.113.10"]);
        assert_eq!(s.whitelist[1].label.as_deref(), Some("office"));
        // A documented field in another shape does fail it.
        let mut v = service();
        v["threads"] = json!("many");
        assert!(serde_json::from_value::<Service>(v).is_err());
    }

    /// `Debug` of everything that carries a proxy password (alone, inside a service, inside a
    /// page, plain and pretty) shows the login and a placeholder, never the password in any
    /// spelling: as it is, or escaped as `Debug` would write it.
    #[test]
    fn passwords_never_appear_in_debug() {
        let password = "S3cr3t\"pw\n\u{1b}[0m";
        let mut v = service();
        v["auth"] = json!({"login": "user1", "password": password});
        let s: Service = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(s.auth.password(), password, "the value does hold it");
        let page: ServicePage =
            serde_json::from_value(json!({"services": [v], "next_cursor": null})).unwrap();
        let list: ProxyList = serde_json::from_value(json!({"servers": [
            {"country": "nl", "host": "nl.gw", "port": 8000, "login": "user1", "password": password}
        ]}))
        .unwrap();
        let shown = [
            format!("{:?}", s.auth),
            format!("{:#?}", s.auth),
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{page:?}"),
            format!("{:?}", list.servers[0]),
            format!("{list:#?}"),
        ];
        let escaped = format!("{password:?}");
        for d in shown {
            assert!(d.contains("user1") && d.contains("<redacted>"), "{d}");
            for spelling in [password, &escaped[1..escaped.len() - 1], "S3cr3t"] {
                assert!(!d.contains(spelling), "{spelling:?} in {d}");
            }
        }
    }
}
