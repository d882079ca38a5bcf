//! Daily exchange-rate series: `date,close` CSV files giving the USD price of
//! one unit of a currency at the end of each UTC day.

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// A rate file that cannot be used, naming the line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{source_name}:{line}: {message}")]
pub struct RatesError {
    /// The file.
    pub source_name: String,
    /// 1-based line (0: the whole file).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// One currency's daily USD prices.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSeries {
    /// Currency the series prices (`BTC`, `EUR`, ...).
    pub currency: String,
    /// Where it came from (file name and SHA-256), cited on every conversion.
    pub source: String,
    days: BTreeMap<NaiveDate, f64>,
}

/// The plausible USD price of one unit of any currency a market priced in:
/// from a millionth of a dollar (bitcoin's first quoted prices were under a
/// tenth of a cent) to a hundred million. Outside it, a rate is a typing or
/// unit error (1e308 turned sales into a 300-digit dollar figure).
pub const PLAUSIBLE_RATE: std::ops::RangeInclusive<f64> = 1e-6..=1e8;

/// The days a rate may be for: no market sold on 0000-01-01 or 9999-12-31.
fn plausible_day(d: NaiveDate) -> bool {
    (1970..=2100).contains(&chrono::Datelike::year(&d))
}

/// The lines of `text` with their 1-based numbers: LF, CRLF and a bare CR
/// each end one (as the dataset readers count them).
fn numbered_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let mut rest = text;
    let mut n = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        n += 1;
        let (line, next) = match rest.find(['\n', '\r']) {
            None => (rest, ""),
            Some(i) => {
                let end = if rest[i..].starts_with("\r\n") { i + 2 } else { i + 1 };
                (&rest[..i], &rest[end..])
            }
        };
        rest = next;
        Some((n, line))
    })
}

impl RateSeries {
    /// Parses a `date,close` CSV (header optional: a first line whose date
    /// field holds no digit; ISO dates from 1970 to 2100; prices in
    /// [`PLAUSIBLE_RATE`]; LF, CRLF or CR line ends; a byte order mark is
    /// skipped). Any malformed, duplicate or implausible row is an error: a
    /// rate file is a reference, and a silently skipped row would change
    /// which rate a conversion uses.
    pub fn parse_csv(text: &str, currency: &str, source: &str) -> Result<RateSeries, RatesError> {
        let err = |line: u64, message: String| RatesError { source_name: source.to_owned(), line, message };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut days = BTreeMap::new();
        let mut first = true;
        for (n, raw) in numbered_lines(text) {
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            // Only the first line that holds anything may be a header.
            let may_be_header = std::mem::replace(&mut first, false);
            let (date, value) = line
                .split_once(',')
                .ok_or_else(|| err(n, format!("expected `date,close`, found {line:?}")))?;
            let Ok(date) = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") else {
                if may_be_header && !date.bytes().any(|b| b.is_ascii_digit()) {
                    continue; // header
                }
                return Err(err(n, format!("date {date:?} is not YYYY-MM-DD")));
            };
            if !plausible_day(date) {
                return Err(err(n, format!("date {date} is outside 1970..2100")));
            }
            let value: f64 = value.trim().parse().map_err(|_| err(n, format!("price {value:?} is not a number")))?;
            if !(value.is_finite() && value > 0.0) {
                return Err(err(n, format!("price {value} is not positive")));
            }
            if !PLAUSIBLE_RATE.contains(&value) {
                return Err(err(
                    n,
                    format!("price {value} USD is outside {:e}..{:e} USD a unit: a typing or unit error", PLAUSIBLE_RATE.start(), PLAUSIBLE_RATE.end()),
                ));
            }
            if days.insert(date, value).is_some() {
                return Err(err(n, format!("date {date} appears twice")));
            }
        }
        if days.is_empty() {
            return Err(RatesError { source_name: source.to_owned(), line: 0, message: "no rates in file".into() });
        }
        Ok(RateSeries { currency: currency.to_ascii_uppercase(), source: source.to_owned(), days })
    }

    /// The USD price of one unit at the end of `date`, if the series has that
    /// day. No interpolation and no nearest day: a date outside the series is
    /// a gap the user must see.
    pub fn on(&self, date: NaiveDate) -> Option<f64> {
        self.days.get(&date).copied()
    }

    /// First and last day covered.
    pub fn span(&self) -> (NaiveDate, NaiveDate) {
        // parse_csv refuses empty series.
        let first = self.days.keys().next().copied().unwrap_or_default();
        let last = self.days.keys().next_back().copied().unwrap_or_default();
        (first, last)
    }

    /// Number of days.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether the series has no days (never true for a parsed series).
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

/// The rate series a computation may use, by currency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rates {
    series: BTreeMap<String, RateSeries>,
}

impl Rates {
    /// Adds (or replaces) a currency's series.
    pub fn add(&mut self, s: RateSeries) {
        self.series.insert(s.currency.clone(), s);
    }

    /// The series for `currency`.
    pub fn get(&self, currency: &str) -> Option<&RateSeries> {
        self.series.get(currency)
    }

    /// Every series.
    pub fn all(&self) -> impl Iterator<Item = &RateSeries> {
        self.series.values()
    }

    /// SHA-256 (hex) of every series' currency, label and days: equal for
    /// the same rates, so estimates kept for one set of rates are not read
    /// back for another.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        for s in self.series.values() {
            text.push_str(&format!("{}\u{1f}{}\n", s.currency, s.source));
            for (d, v) in &s.days {
                text.push_str(&format!("{d},{:016x}\n", v.to_bits()));
            }
        }
        model::Sha256::of(text.as_bytes()).to_hex()
    }
}
