//! The spend cap: at most so much a day and a month (UTC calendar), counted from the journal,
//! an unknown charge counted as spent.

use chrono::{DateTime, Datelike, Utc};

use super::entry::{EntryState, JournalEntry};
use crate::error::{Error, ErrorKind, Result};
use crate::setters::setters;

/// An optional per-day and per-month limit on what purchases and extensions may charge, given
/// with [`ClientBuilder::spend_cap`](crate::ClientBuilder::spend_cap) (it needs a
/// [`Journal`](crate::safe::Journal), whose entries are the ledger).
///
/// Days and months are UTC calendar days and months. A charge whose outcome is unknown counts
/// as spent until it is resolved.
///
/// ```
/// let cap = opx::safe::SpendCap::new().per_day(5_000).per_month(50_000);
/// assert_eq!((cap.day(), cap.month()), (Some(5_000), Some(50_000)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendCap {
    day: Option<i64>,
    month: Option<i64>,
}

impl SpendCap {
    /// No limit yet.
    pub fn new() -> Self {
        Self::default()
    }
    setters! {
        /// At most `rub` RUB a UTC day (the server's day: its `Date`).
        pub fn per_day(rub: i64) => day = Some(rub);
        /// At most `rub` RUB a UTC month (by the server's clock).
        pub fn per_month(rub: i64) => month = Some(rub);
    }
    /// The daily limit.
    pub fn day(&self) -> Option<i64> {
        self.day
    }
    /// The monthly limit.
    pub fn month(&self) -> Option<i64> {
        self.month
    }
    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        self.day.is_some() || self.month.is_some()
    }

    /// What is left to spend under every limit set, given `spent` (never below 0); `None`
    /// without a limit.
    pub fn room(&self, spent: &Spending) -> Option<i64> {
        [
            self.day.map(|l| l.saturating_sub(spent.today)),
            self.month.map(|l| l.saturating_sub(spent.month)),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|left| left.max(0))
    }

    /// Refuses a charge of `price` that would take `spent` over a limit. With a limit set, a
    /// charge whose price is not known is refused too (it cannot be counted).
    pub(crate) fn check(&self, spent: &Spending, price: Option<i64>) -> Result<()> {
        if !self.is_set() {
            return Ok(());
        }
        let Some(price) = price.filter(|p| *p >= 0) else {
            return Err(Error::new(
                ErrorKind::SpendCap,
                "the price of this charge is not known (the catalog could not be read, or does \
                 not list its plan with a price), so the spend cap cannot be checked",
            ));
        };
        let periods = [
            ("today", self.day, spent.today, spent.unknown_today),
            ("this month", self.month, spent.month, spent.unknown_month),
        ];
        for (period, limit, total, unknown) in periods {
            let after = total.checked_add(price).unwrap_or(i64::MAX);
            if let Some(limit) = limit
                && after > limit
            {
                return Err(Error::new(
                    ErrorKind::SpendCap,
                    format!(
                        "this charge of {price} RUB would take spending {period} to {after} RUB, \
                         over the cap of {limit} RUB ({total} RUB spent {period}, of which \
                         {unknown} RUB unknown until resolved: `Client::resolve_pending`, `opx pending`)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What the journal says was spent, an unknown charge counted as spent (and also shown apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spending {
    /// Spent today (UTC), RUB.
    pub today: i64,
    /// Of which unknown.
    pub unknown_today: i64,
    /// Spent this month (UTC), RUB.
    pub month: i64,
    /// Of which unknown.
    pub unknown_month: i64,
}

impl Spending {
    /// The spending of `entries` as of `now`.
    pub(crate) fn of(entries: &[JournalEntry], now: DateTime<Utc>) -> Self {
        let mut s = Self::default();
        for e in entries {
            let counted = matches!(e.state, EntryState::Done | EntryState::Unknown);
            let Some(price) = e.price.filter(|p| *p >= 0 && counted) else {
                continue;
            };
            let unknown = if e.state == EntryState::Unknown {
                price
            } else {
                0
            };
            if (e.at.year(), e.at.month()) == (now.year(), now.month()) {
                s.month = s.month.saturating_add(price);
                s.unknown_month = s.unknown_month.saturating_add(unknown);
                if e.at.day() == now.day() {
                    s.today = s.today.saturating_add(price);
                    s.unknown_today = s.unknown_today.saturating_add(unknown);
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::money::entry::MoneyCall;

    #[test]
    fn the_room_is_the_least_left_under_any_limit_and_never_negative() {
        let spent = Spending {
            today: 900,
            month: 4_500,
            ..Spending::default()
        };
        assert_eq!(SpendCap::new().room(&spent), None);
        assert_eq!(SpendCap::new().per_day(1_000).room(&spent), Some(100));
        let both = SpendCap::new().per_day(10_000).per_month(5_000);
        assert_eq!(both.room(&spent), Some(500));
        assert_eq!(SpendCap::new().per_day(500).room(&spent), Some(0));
    }

    fn entry(at: &str, price: i64, state: EntryState) -> JournalEntry {
        JournalEntry {
            id: 1,
            call: MoneyCall::Extend {
                service_id: "65aa1100b2c3d4e5f6a7b8d0".parse().unwrap(),
                expires_before: Utc::now(),
            },
            price: Some(price),
            at: at.parse().unwrap(),
            state,
            settled_at: None,
            service_id: None,
        }
    }

    #[test]
    fn spending_counts_done_and_unknown_by_utc_day_and_month() {
        let now: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
        let entries = [
            entry("2026-12-07T00:00:00Z", 100, EntryState::Done),
            entry("2026-12-07T09:00:00Z", 20, EntryState::Unknown),
            entry("2026-12-06T23:59:59Z", 3, EntryState::Done),
            entry("2026-11-30T12:00:00Z", 4000, EntryState::Done),
            entry("2026-12-07T09:30:00Z", 700, EntryState::NotDone),
            entry("2026-12-07T09:40:00Z", 900, EntryState::Dismissed),
        ];
        let s = Spending::of(&entries, now);
        assert_eq!(
            s,
            Spending {
                today: 120,
                unknown_today: 20,
                month: 123,
                unknown_month: 20
            }
        );
    }

    #[test]
    fn the_cap_refuses_what_would_go_over_and_names_the_period() {
        let spent = Spending {
            today: 120,
            unknown_today: 20,
            month: 900,
            unknown_month: 20,
        };
        let cap = SpendCap::new().per_day(200).per_month(1000);
        assert!(
            cap.check(&spent, Some(80)).is_ok(),
            "exactly at the cap is allowed"
        );
        let e = cap.check(&spent, Some(81)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SpendCap);
        assert!(
            e.message()
                .contains("today to 201 RUB, over the cap of 200 RUB"),
            "{e}"
        );
        assert!(e.message().contains("of which 20 RUB unknown"), "{e}");
        let month = SpendCap::new().per_month(1000).check(&spent, Some(101));
        assert!(month.unwrap_err().message().contains("this month"));
        assert!(
            cap.check(&spent, None).is_err(),
            "an unknown price is refused"
        );
        assert!(cap.check(&spent, Some(-5)).is_err(), "a negative one too");
        let full = Spending {
            today: i64::MAX,
            ..spent
        };
        let e = cap.check(&full, Some(10)).unwrap_err();
        assert!(e.message().contains("over the cap"), "no overflow: {e}");
        assert!(
            SpendCap::new().check(&spent, None).is_ok(),
            "no cap, no check"
        );
    }
}
