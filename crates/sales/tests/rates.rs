//! Rate series: the real BTC/USD daily series (read in place from
//! `shared/data`, never copied), conversion with it, and rate files that must
//! be refused with the offending line named.

use chrono::NaiveDate;
use sales::{to_usd, ConvertError, RateSeries, RateUsed, Rates};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn real_btc() -> Option<RateSeries> {
    let path = testdata::shared("rates/btc_daily.csv")?;
    let text = std::fs::read_to_string(&path).expect("read btc_daily.csv");
    Some(RateSeries::parse_csv(&text, "btc", "btc_daily.csv").expect("the real series parses"))
}

fn close_to(actual: f64, expected: f64, tol: f64) -> bool {
    (actual - expected).abs() <= tol
}

#[test]
fn real_series_shape_and_spot_values() {
    let Some(s) = real_btc() else { return };
    assert_eq!(s.currency, "BTC", "currency is upper-cased");
    assert_eq!(s.len(), 5_789);
    assert!(!s.is_empty());
    assert_eq!(s.span(), (d("2010-07-18"), d("2026-05-23")));
    for (day, want) in [("2013-12-04", 1134.93), ("2017-12-17", 19250.47), ("2020-03-12", 4959.31), ("2021-11-08", 67541.76)] {
        let got = s.on(d(day)).unwrap_or_else(|| panic!("no rate on {day}"));
        assert!(close_to(got, want, 0.005 + 1e-9), "{day}: {got} is not {want} to 2 decimals");
    }
    // No interpolation or nearest day outside the series.
    assert_eq!(s.on(d("2010-07-17")), None);
    assert_eq!(s.on(d("2026-05-24")), None);
}

#[test]
fn real_series_converts_with_the_day_named() {
    let Some(s) = real_btc() else { return };
    let source = s.source.clone();
    let mut rates = Rates::default();
    rates.add(s);
    let out = to_usd("0.5", "BTC", d("2013-12-04"), &rates).expect("converts");
    assert!(close_to(out.usd, 567.465, 0.01), "0.5 BTC on 2013-12-04 = {}", out.usd);
    assert_eq!(out.amount, "0.5");
    assert_eq!(out.currency, "BTC");
    match &out.rate {
        RateUsed::Series { currency, date, usd_per_unit, source: src } => {
            assert_eq!(currency, "BTC");
            assert_eq!(*date, d("2013-12-04"));
            assert!(close_to(*usd_per_unit, 1134.93, 0.005 + 1e-9));
            assert_eq!(src, &source);
        }
        other => panic!("expected RateUsed::Series, got {other:?}"),
    }
    assert_eq!(out.rate.label(), "series:BTC@2013-12-04");
    // Lower-case currency codes are accepted.
    let lower = to_usd("0.5", "btc", d("2013-12-04"), &rates).expect("converts");
    assert_eq!(lower.usd, out.usd);
}

#[test]
fn real_series_date_before_start_is_outside() {
    let Some(s) = real_btc() else { return };
    let mut rates = Rates::default();
    rates.add(s);
    let err = to_usd("1", "BTC", d("2010-07-17"), &rates).unwrap_err();
    match err {
        ConvertError::OutsideSeries { currency, date, source_name, first, last } => {
            assert_eq!(currency, "BTC");
            assert_eq!(date, d("2010-07-17"));
            assert_eq!(source_name, "btc_daily.csv");
            assert_eq!((first, last), (d("2010-07-18"), d("2026-05-23")));
        }
        other => panic!("expected OutsideSeries, got {other:?}"),
    }
    assert!(matches!(to_usd("1", "BTC", d("2009-01-03"), &rates), Err(ConvertError::OutsideSeries { .. })));
}

fn parse(text: &str) -> Result<RateSeries, sales::RatesError> {
    RateSeries::parse_csv(text, "BTC", "bad.csv")
}

#[test]
fn small_inline_series_parses_with_and_without_header() {
    let with = parse("date,close\n2020-01-01,7000.5\n2020-01-02,7100\n").unwrap();
    let without = parse("2020-01-01,7000.5\n\n2020-01-02, 7100 \n").unwrap();
    assert_eq!(with.len(), 2);
    assert_eq!(with.on(d("2020-01-01")), Some(7000.5));
    assert_eq!(without.on(d("2020-01-02")), Some(7100.0));
    assert_eq!(with.span(), (d("2020-01-01"), d("2020-01-02")));
}

#[test]
fn non_number_price_names_its_line() {
    let e = parse("date,close\n2020-01-01,7000\n2020-01-02,seven\n2020-01-03,7200\n").unwrap_err();
    assert_eq!(e.source_name, "bad.csv");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("not a number"), "{e}");
    assert!(e.to_string().starts_with("bad.csv:3:"), "{e}");
}

#[test]
fn duplicate_date_names_its_line() {
    let e = parse("date,close\n2020-01-01,7000\n2020-01-02,7100\n2020-01-01,7000\n").unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.message.contains("2020-01-01") && e.message.contains("twice"), "{e}");
}

#[test]
fn negative_and_zero_prices_name_their_line() {
    let e = parse("date,close\n2020-01-01,7000\n2020-01-02,-7100\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("not positive"), "{e}");
    let e = parse("2020-01-01,0\n").unwrap_err();
    assert_eq!(e.line, 1);
    let e = parse("2020-01-01,7000\n2020-01-02,NaN\n").unwrap_err();
    assert_eq!(e.line, 2);
}

#[test]
fn empty_files_are_refused() {
    for text in ["", "\n\n", "date,close\n"] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, 0, "{text:?}: the whole file");
        assert!(e.message.contains("no rates"), "{e}");
        assert_eq!(e.source_name, "bad.csv");
    }
}

#[test]
fn malformed_rows_name_their_line() {
    // A bad date after the first line is not a header.
    let e = parse("date,close\n2020-01-01,7000\n01/02/2020,7100\n").unwrap_err();
    assert_eq!(e.line, 3);
    // A row without a comma.
    let e = parse("2020-01-01,7000\n2020-01-02 7100\n").unwrap_err();
    assert_eq!(e.line, 2);
}

/// A first line that is a date (after a byte order mark, or a bad one) is
/// a row, not a header skipped in silence (found by a review: the BOM hid
/// 2014-01-28, and `2014-02-30,800` was dropped with exit 0).
#[test]
fn only_a_first_line_without_digits_is_a_header() {
    let s = parse("\u{feff}2014-01-28,800\n2014-01-29,810\n").unwrap();
    assert_eq!(s.on(d("2014-01-28")), Some(800.0));
    let e = parse("2014-02-30,800\n2014-03-01,810\n").unwrap_err();
    assert_eq!(e.line, 1, "{e}");
    assert!(parse("\u{feff}Date,Close\n2014-01-28,800\n").unwrap().on(d("2014-01-28")).is_some());
    // Blank lines before the header (found by a review).
    assert!(parse("\n\ndate,close\n2014-01-01,800\n").unwrap().on(d("2014-01-01")).is_some());
    assert_eq!(parse("2014-01-01,800\ndate,close\n").unwrap_err().line, 2);
}

/// Rates and days no market saw are refused, by line.
#[test]
fn implausible_rates_and_days_name_their_line() {
    for (text, line, what) in [
        ("2020-01-01,7000\n2020-01-02,1e308\n", 2, "outside"),
        ("2020-01-01,1e-300\n", 1, "outside"),
        ("2020-01-01,7000\n0000-01-01,7000\n", 2, "1970..2100"),
        ("9999-12-31,7000\n", 1, "1970..2100"),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(what), "{e}");
    }
    // Bitcoin's first prices, under a tenth of a cent, are plausible.
    assert!(parse("2010-07-17,0.0008\n").is_ok());
}

/// Bare CR and CRLF end lines as LF does, each counted once.
#[test]
fn every_line_end_is_read_and_counted() {
    let s = parse("date,close\r2020-01-01,7000\r2020-01-02,7100\r").unwrap();
    assert_eq!(s.len(), 2);
    let e = parse("date,close\r\n2020-01-01,7000\r\n2020-01-02,x\r\n").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    let e = parse("date,close\r2020-01-01,7000\r2020-01-02,x\r").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
}
