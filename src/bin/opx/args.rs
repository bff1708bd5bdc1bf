//! What several commands' arguments share: ids and values parsed by clap into the library's
//! typed values (a bad one is a usage error, exit 2, naming the problem before anything is
//! sent), `--concurrency`, and points in time.

use std::str::FromStr;

/// A value the library checks ([`opx::types::ServiceId`], `PlanId`, `Country`, `Rotation`), as
/// a clap value parser: the library's error code and message on a bad one.
pub fn typed<T: FromStr<Err = opx::Error>>(text: &str) -> Result<T, String> {
    text.parse().map_err(|e: opx::Error| match e.code() {
        Some(code) => format!("{code}: {}", e.message()),
        None => e.message().to_owned(),
    })
}

/// The parser of every command's `--concurrency` (how many lists are fetched, or endpoints
/// checked, at once): one range, 1 to 64, whatever the command.
pub fn concurrency() -> clap::builder::RangedI64ValueParser<u16> {
    clap::value_parser!(u16).range(1..=64)
}

/// A [`typed`] parser that also offers the values the spec names, for shell completion: the
/// API takes others (a country or rotation mode is any 2-32 alphanumerics), so the argument
/// should set `hide_possible_values` and say them in its help as examples ([`countries`],
/// [`rotations`]).
#[derive(Clone)]
pub struct Suggesting<T> {
    values: Vec<String>,
    parsed: std::marker::PhantomData<fn() -> T>,
}

/// [`Suggesting`] these values.
pub fn suggesting<T>(values: Vec<String>) -> Suggesting<T> {
    Suggesting {
        values,
        parsed: std::marker::PhantomData,
    }
}

impl<T> clap::builder::TypedValueParser for Suggesting<T>
where
    T: FromStr<Err = opx::Error> + Clone + Send + Sync + 'static,
{
    type Value = T;

    /// [`typed`]'s parse, error message and all.
    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        clap::builder::TypedValueParser::parse_ref(&typed::<T>, cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.values
                .iter()
                .cloned()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

/// The countries/regions the spec names, in the order a help line says them: `mixed`, the
/// gateway countries (`GatewayCountry::KNOWN`), then `us` (an exit region without a gateway).
pub fn countries() -> Vec<String> {
    use opx::types::{Country, GatewayCountry};
    std::iter::once(Country::MIXED.as_str())
        .chain(GatewayCountry::KNOWN.iter().map(GatewayCountry::as_str))
        .chain([Country::US.as_str()])
        .map(str::to_owned)
        .collect()
}

/// The rotation modes the spec names (`instant`).
pub fn rotations() -> Vec<String> {
    vec![opx::types::Rotation::INSTANT.as_str().to_owned()]
}

/// The help of a country/region argument: its form and the values the spec names.
pub fn country_help(lead: &str) -> String {
    format!(
        "{lead}, 2-32 alphanumerics, e.g. {} ({} spreads over every available country; IPv4 \
         services have the {} gateway only)",
        countries().join(", "),
        opx::types::Country::MIXED,
        opx::types::GatewayCountry::Nl,
    )
}

/// The help of a rotation-mode argument: its form and the mode the spec names.
pub fn rotation_help(lead: &str) -> String {
    format!(
        "{lead}, 2-32 alphanumerics, e.g. {} (a new exit address on every connection; the only \
         mode of IPv4 services)",
        rotations().join(", "),
    )
}

/// A point in time as `--since` / `--until` take it: an RFC 3339 time
/// (`2026-12-07T10:00:00Z`), a date (`2026-12-07`, UTC), or a time ago (`1h`, `2d`, `90m`,
/// `1w`, `2d 12h`: before now, by the server's clock once an answer gave it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// This instant.
    At(chrono::DateTime<chrono::Utc>),
    /// This day (UTC): its start as a `--since`, its end as an `--until`.
    Day(chrono::NaiveDate),
    /// This long before now.
    Ago(std::time::Duration),
}

impl When {
    /// The instant it names as the start of a range, `now` being the server's time.
    pub fn start(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            When::At(t) => t,
            When::Day(d) => d.and_time(chrono::NaiveTime::MIN).and_utc(),
            When::Ago(d) => chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| now.checked_sub_signed(d))
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC),
        }
    }

    /// The instant it names as the end of a range (inclusive): a day's last second.
    pub fn end(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            When::Day(d) => d
                .and_hms_opt(23, 59, 59)
                .map_or_else(|| self.start(now), |t| t.and_utc()),
            other => other.start(now),
        }
    }
}

/// Parses a [`When`] (a clap value parser).
pub fn when(text: &str) -> Result<When, String> {
    let t = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(When::At(at.with_timezone(&chrono::Utc)));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(When::Day(day));
    }
    match humantime::parse_duration(t) {
        Ok(d) => Ok(When::Ago(d)),
        Err(_) => Err(format!(
            "{t:?} is not a time: give one as 2026-12-07T10:00:00Z, a date (2026-12-07, UTC), \
             or a time ago (1h, 2d, 90m)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// Every command's `--concurrency` takes the same range: 1 and 64 parse, 0 and 65 are
    /// usage errors (it was 1-64 on `proxies` and 1-1000 on `check`).
    #[test]
    fn every_concurrency_option_has_one_range() {
        use clap::CommandFactory;
        let cli = crate::commands::Cli::command();
        let mut seen = Vec::new();
        for command in cli.get_subcommands() {
            if !command.get_arguments().any(|a| a.get_id() == "concurrency") {
                continue;
            }
            seen.push(command.get_name());
            for (n, ok) in [("1", true), ("64", true), ("0", false), ("65", false)] {
                let args = ["opx", command.get_name(), "--concurrency", n];
                let refused = cli
                    .clone()
                    .try_get_matches_from(args)
                    .is_err_and(|e| e.kind() == clap::error::ErrorKind::ValueValidation);
                assert_eq!(!refused, ok, "{} --concurrency {n}", command.get_name());
            }
        }
        assert!(seen.len() >= 2, "{seen:?}");
    }

    /// The spec's countries are offered (to completion), any valid one parses, and a bad one
    /// gets the library's error code, as with [`typed`].
    #[test]
    fn suggested_values_are_offered_and_others_still_parse() {
        use clap::builder::TypedValueParser;
        let p = suggesting::<opx::types::Country>(countries());
        let offered: Vec<String> = (p.possible_values().unwrap())
            .map(|v| v.get_name().to_owned())
            .collect();
        assert_eq!(offered, ["mixed", "nl", "de", "at", "us"]);
        let cmd = clap::Command::new("opx");
        let fr = p.parse_ref(&cmd, None, "fr".as_ref()).unwrap();
        assert_eq!(fr.as_str(), "fr");
        let bad = p.parse_ref(&cmd, None, "d-e".as_ref()).unwrap_err();
        assert!(bad.to_string().contains("invalid_country"), "{bad}");
        assert_eq!(rotations(), ["instant"]);
    }

    #[test]
    fn times_are_read_as_instants_dates_or_times_ago() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 19, 0, 0).unwrap();
        let at = |s: &str| when(s).unwrap().start(now);
        assert_eq!(
            at("2026-06-01T00:00:00Z"),
            Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            at("2026-06-01T03:00:00+03:00"),
            Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            at("2026-12-07"),
            Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap()
        );
        assert_eq!(
            when("2026-12-07").unwrap().end(now),
            Utc.with_ymd_and_hms(2026, 12, 7, 23, 59, 59).unwrap()
        );
        assert_eq!(at("1h"), now - chrono::Duration::hours(1));
        assert_eq!(at("2d"), now - chrono::Duration::days(2));
        assert_eq!(at("2d 12h"), now - chrono::Duration::hours(60));
        assert_eq!(
            when("1h").unwrap().end(now),
            now - chrono::Duration::hours(1)
        );
        for bad in ["", "yesterday", "2026-13-01", "-1h", "1 parsec"] {
            let e = when(bad).unwrap_err();
            assert!(e.contains("2026-12-07") && e.contains("1h"), "{bad}: {e}");
        }
    }
}
