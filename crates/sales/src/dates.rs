//! Dates as markets show them: ISO days, RFC 3339 times, "Feb 17, 2020",
//! and relative ages ("3 days ago") that count back from the observation.

use std::sync::LazyLock;

use chrono::{DateTime, Days, NaiveDate};
use regex::Regex;

/// Whether a day can be a day of a market's life: from the first bitcoin
/// block (2009-01-03; no market sold before it) to 2100. A date outside
/// (0000-01-01, 9999-12-31: a placeholder or a typing error) is no date:
/// a sale dated so was counted in month "9999-12".
pub fn possible_day(d: NaiveDate) -> bool {
    (NaiveDate::from_ymd_opt(2009, 1, 3)..=NaiveDate::from_ymd_opt(2100, 12, 31)).contains(&Some(d))
}

/// The day of an `observed_at` value (ISO date or RFC 3339, taken in UTC),
/// when it is a [`possible_day`].
/// A month alone (`2017-07`, a dataset that only names its crawl month)
/// counts as the month's first day.
pub fn observed_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let day = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        Some(t.naive_utc().date())
    } else if s.len() == 7 {
        NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok()
    } else {
        NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()
    };
    day.filter(|d| possible_day(*d))
}

/// The days a reading of a row observed on `day` (its [`observed_day`]) may
/// have been taken on: that day, or, where the source names only a month
/// (Dream 2017's "2017-07", counted on its first day), the whole month. A
/// counter read some day in July counts sales on or before a day as late as
/// July 31: a window ending July 1 cannot be said to hold them, and a price
/// is read at the month's middle day, not its first.
pub fn seen_in(observed_at: Option<&str>, captured_at: Option<&str>, day: NaiveDate) -> DayRange {
    let text = observed_at.filter(|t| observed_day(t).is_some()).or(captured_at).map(str::trim);
    match text.filter(|t| t.len() == 7).and_then(|_| day.checked_add_months(chrono::Months::new(1))).and_then(|next| next.pred_opt()) {
        Some(last) => DayRange { earliest: day, latest: last },
        None => DayRange::day(day),
    }
}

/// A row's day: its own observation date, else its capture's ([`observed_day`]).
pub fn day_of(observed_at: Option<&str>, captured_at: Option<&str>) -> Option<NaiveDate> {
    observed_at.and_then(observed_day).or_else(|| captured_at.and_then(observed_day))
}

/// The days a row may have been seen on: its [`day_of`], or the whole
/// month a month-only date names ([`seen_in`]); `None` when it has no
/// possible day. First and last seen are this range's ends.
pub fn seen_range(observed_at: Option<&str>, captured_at: Option<&str>) -> Option<DayRange> {
    day_of(observed_at, captured_at).map(|day| seen_in(observed_at, captured_at, day))
}

/// The day a row's shown price is converted at: its observation day, or
/// the middle of the month a month-only date names ([`seen_range`]); `None`
/// when the row has no possible day.
pub fn pricing_day(observed_at: Option<&str>, captured_at: Option<&str>) -> Option<NaiveDate> {
    seen_range(observed_at, captured_at).map(|r| r.middle())
}

/// A day range a shown date stands for: `[earliest, latest]`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct DayRange {
    /// First possible day.
    pub earliest: NaiveDate,
    /// Last possible day.
    pub latest: NaiveDate,
}

impl DayRange {
    /// One day.
    pub fn day(d: NaiveDate) -> DayRange {
        DayRange { earliest: d, latest: d }
    }

    /// Whether two ranges share a day.
    pub fn overlaps(&self, o: &DayRange) -> bool {
        self.earliest <= o.latest && o.earliest <= self.latest
    }

    /// The days both ranges allow (only call when they overlap).
    pub fn intersect(&self, o: &DayRange) -> DayRange {
        DayRange { earliest: self.earliest.max(o.earliest), latest: self.latest.min(o.latest) }
    }

    /// The middle day, for grouping by month.
    pub fn middle(&self) -> NaiveDate {
        let span = (self.latest - self.earliest).num_days().max(0) as u64;
        self.earliest.checked_add_days(Days::new(span / 2)).unwrap_or(self.earliest)
    }

    /// Days covered (at least 1).
    pub fn days(&self) -> i64 {
        (self.latest - self.earliest).num_days().max(0) + 1
    }
}

static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(an?|one|\d{1,4})\s+(second|minute|min|hour|day|week|month|year)s?\s+ago\b").expect("valid regex")
});

static TIME_OF_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[\sT,]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[ap]\.?m\.?)?(\s*(utc|gmt|z))?\s*$").expect("valid regex")
});

static COMPACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(\d{1,4})\s*(mo|min|[smhdwy])\b(\s+\d{1,3}\s*[smhd])?\s*(ago)?\s*$").expect("valid regex")
});

/// Calendar formats tried in order. A date with slashes is read day first
/// (the markets captured that write them, Dream and Cryptonia, write
/// `16/11/2018`; linking reads them so too), month first only when the
/// second number cannot be a month (`11/16/2018`).
const ABSOLUTE_FORMATS: &[&str] =
    &["%Y-%m-%d", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d"];

/// The days a shown feedback date stands for, given the day it was seen.
/// Relative ages are ranges ("2 weeks ago" seen on D: D-21..D-13: the market
/// rounds down, and a day either side absorbs time zones); an unparseable date gives `None`.
pub fn shown_date_range(shown: &str, observed: NaiveDate) -> Option<DayRange> {
    ShownDate::parse(shown).range(observed)
}

/// What a shown feedback date says, before the day it was seen is known:
/// parsed once per distinct text (a market shows the same few hundred
/// "N days ago" to every observation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownDate {
    /// "today", "just now".
    Today,
    /// "yesterday".
    Yesterday,
    /// A time of day or some hours ago: the day seen or the one before.
    AroundObserved,
    /// `n` units of `unit_days` days ago.
    Ago {
        /// How many units.
        n: u64,
        /// Days per unit (1, 7, 30, 365).
        unit_days: u64,
    },
    /// A calendar day.
    On(NaiveDate),
    /// Some day of a calendar month ("August 2020", White House Market's
    /// registration dates): its first day.
    InMonth(NaiveDate),
    /// Not understood.
    Unknown,
}

impl ShownDate {
    /// Reads a shown date (see [`shown_date_range`] for the forms). A
    /// calendar date that is no [`possible_day`] is not understood.
    pub fn parse(shown: &str) -> ShownDate {
        match ShownDate::parse_any(shown) {
            ShownDate::On(d) | ShownDate::InMonth(d) if !possible_day(d) => ShownDate::Unknown,
            parsed => parsed,
        }
    }

    fn parse_any(shown: &str) -> ShownDate {
        let t = shown.trim();
        let lower = t.to_ascii_lowercase();
        if lower == "today" || lower == "just now" {
            return ShownDate::Today;
        }
        if lower == "yesterday" {
            return ShownDate::Yesterday;
        }
        // A bare time of day ("22:58"): today, or yesterday across midnight.
        if TIME_OF_DAY.replace(&format!(" {t}"), "").trim().is_empty() {
            return ShownDate::AroundObserved;
        }
        // Compact ages: "3d", "1d 14h", "2w", "5h" (Empire, Cryptonia).
        if let Some(c) = COMPACT.captures(t) {
            let Ok(n) = c[1].parse::<u64>() else { return ShownDate::Unknown };
            let unit_days = match &c[2].to_ascii_lowercase()[..] {
                "h" | "m" | "min" | "s" => return ShownDate::AroundObserved,
                "d" => 1,
                "w" => 7,
                "mo" => 30,
                _ => 365,
            };
            return ShownDate::Ago { n, unit_days };
        }
        if let Some(c) = RELATIVE.captures(t) {
            let n: u64 = match &c[1].to_ascii_lowercase()[..] {
                "a" | "an" | "one" => 1,
                d => match d.parse() {
                    Ok(n) => n,
                    Err(_) => return ShownDate::Unknown,
                },
            };
            let unit_days: u64 = match &c[2].to_ascii_lowercase()[..] {
                "second" | "minute" | "min" | "hour" => 0,
                "day" => 1,
                "week" => 7,
                "month" => 30,
                _ => 365,
            };
            // Hours ago may cross midnight.
            return if unit_days == 0 { ShownDate::AroundObserved } else { ShownDate::Ago { n, unit_days } };
        }
        if let Some(d) = observed_day(t) {
            return ShownDate::On(d);
        }
        // "Feb 17, 2020 03:14", "17.02.2020 3:14 PM": the day is what counts.
        let day_part = TIME_OF_DAY.replace(t, "");
        if let Some(d) = ABSOLUTE_FORMATS.iter().find_map(|f| NaiveDate::parse_from_str(day_part.trim(), f).ok()) {
            return ShownDate::On(d);
        }
        // A month and year only: "August 2020", "Aug 2020".
        ["%d %B %Y", "%d %b %Y"]
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(&format!("1 {}", day_part.trim()), f).ok())
            .map_or(ShownDate::Unknown, ShownDate::InMonth)
    }

    /// The days it stands for when seen on `observed`.
    pub fn range(self, observed: NaiveDate) -> Option<DayRange> {
        match self {
            ShownDate::Today => Some(DayRange::day(observed)),
            ShownDate::Yesterday => observed.pred_opt().map(DayRange::day),
            ShownDate::AroundObserved => Some(DayRange { earliest: observed.pred_opt()?, latest: observed }),
            ShownDate::Ago { n, unit_days } => {
                // "N units ago" covers [N, N+1) units before the observation; a day
                // either side absorbs time-of-day and time-zone differences.
                let latest = observed.checked_sub_days(Days::new(n.checked_mul(unit_days)?.saturating_sub(1)))?;
                let earliest = observed.checked_sub_days(Days::new(n.checked_add(1)?.checked_mul(unit_days)?))?;
                Some(DayRange { earliest, latest })
            }
            ShownDate::On(d) => Some(DayRange::day(d)),
            ShownDate::InMonth(first) => {
                let next = first.checked_add_months(chrono::Months::new(1))?;
                Some(DayRange { earliest: first, latest: next.pred_opt()? })
            }
            ShownDate::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// No sale is dated before the first bitcoin block or after 2100: such
    /// a date is a placeholder or a typing error, not a month to count in.
    #[test]
    fn days_no_market_saw_are_no_dates() {
        for s in ["0000-01-01", "9999-12-31", "2009-01-02", "2101-01-01T00:00:00Z", "0001-01"] {
            assert_eq!(observed_day(s), None, "{s}");
            assert_eq!(ShownDate::parse(s), ShownDate::Unknown, "{s}");
        }
        assert_eq!(ShownDate::parse("January 1900"), ShownDate::Unknown);
        assert_eq!(observed_day("2009-01-03"), Some(d("2009-01-03")));
        assert_eq!(ShownDate::parse("Dec 31, 2100"), ShownDate::On(d("2100-12-31")));
    }

    #[test]
    fn relative_and_absolute() {
        let seen = d("2014-02-02");
        assert_eq!(shown_date_range("3 days ago", seen), Some(DayRange { earliest: d("2014-01-29"), latest: d("2014-01-31") }));
        assert_eq!(shown_date_range("2 weeks ago", seen), Some(DayRange { earliest: d("2014-01-12"), latest: d("2014-01-20") }));
        assert_eq!(shown_date_range("a month ago", seen), Some(DayRange { earliest: d("2013-12-04"), latest: d("2014-01-04") }));
        assert_eq!(shown_date_range("5 hours ago", seen), Some(DayRange { earliest: d("2014-02-01"), latest: seen }));
        assert_eq!(shown_date_range("Feb 17, 2020", seen), Some(DayRange::day(d("2020-02-17"))));
        // A month alone: any day of it (White House Market's "August 2020").
        assert_eq!(shown_date_range("August 2020", seen), Some(DayRange { earliest: d("2020-08-01"), latest: d("2020-08-31") }));
        assert_eq!(shown_date_range("Feb 2016", seen), Some(DayRange { earliest: d("2016-02-01"), latest: d("2016-02-29") }));
        assert_eq!(shown_date_range("Smarch 2016", seen), None);
        assert_eq!(shown_date_range("2020-02-17 10:00", seen), Some(DayRange::day(d("2020-02-17"))));
        assert_eq!(shown_date_range("sometime", seen), None);
        assert_eq!(shown_date_range("3d", seen), shown_date_range("3 days ago", seen));
        assert_eq!(shown_date_range("1d 14h", seen), shown_date_range("1 day ago", seen));
        assert_eq!(shown_date_range("2w", seen), shown_date_range("2 weeks ago", seen));
        assert_eq!(shown_date_range("5h", seen), Some(DayRange { earliest: d("2014-02-01"), latest: seen }));
        assert_eq!(shown_date_range("3x", seen), None);
        assert_eq!(shown_date_range("22:58", seen), Some(DayRange { earliest: d("2014-02-01"), latest: seen }));
        assert_eq!(shown_date_range("Feb 17, 2020 03:14", seen), Some(DayRange::day(d("2020-02-17"))));
        assert_eq!(shown_date_range("17.02.2020 3:14 PM UTC", seen), Some(DayRange::day(d("2020-02-17"))));
        // Day first, as Dream writes them: its vendor registered on
        // 10/04/2016 joined in April, not in October.
        assert_eq!(shown_date_range("10/04/2016", seen), Some(DayRange::day(d("2016-04-10"))));
        assert_eq!(shown_date_range("16/11/2018", seen), Some(DayRange::day(d("2018-11-16"))));
        assert_eq!(shown_date_range("11/16/2018", seen), Some(DayRange::day(d("2018-11-16"))));
        assert_eq!(observed_day("2016-12-12T01:13:54Z"), Some(d("2016-12-12")));
        assert_eq!(observed_day("2017-07"), Some(d("2017-07-01")));
        assert_eq!(observed_day("2017-7x"), None);
    }
}
