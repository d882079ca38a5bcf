//! The notes (problems) of the estimators carry the days their rows count
//! for, so a `--from`/`--to` window lists only the notes that bear on it.

use chrono::NaiveDate;
use model::{Feedback, Listing, Money, Vendor};
use sales::dates::DayRange;
use sales::{notes_in_window, units, Input, Obs, Rates};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

fn days(a: &str, b: &str) -> Option<DayRange> {
    Some(DayRange { earliest: d(a), latest: d(b) })
}

/// `record` observed on `day` (None: a row with no date).
fn obs<T>(id: &str, day: Option<&str>, record: T) -> Obs<T> {
    Obs { id: id.into(), record, captured_at: day.map(|d| format!("{d}T12:00:00Z")) }
}

fn listing(title: &str, sold: u64, price: (&str, &str)) -> Listing {
    Listing {
        market: "m".into(),
        title: title.into(),
        vendor: Some("v".into()),
        price: Some(Money { amount: price.0.into(), currency: price.1.into() }),
        sold: Some(sold),
        ..Listing::default()
    }
}

fn feedback(listing: &str, date: &str) -> Feedback {
    Feedback { market: "m".into(), vendor: Some("v".into()), listing: Some(listing.into()), date: Some(date.into()), ..Feedback::default() }
}

fn vendor(sales: u64) -> Vendor {
    Vendor { market: "m".into(), name: "v".into(), sales: Some(sales), ..Vendor::default() }
}

#[test]
fn each_note_has_the_days_of_its_row_and_a_window_lists_those_it_meets() {
    let listings = [
        // A sold counter that falls between two crawls: a reset, counted
        // from the day after the first crawl.
        obs("L-reset-1", Some("2020-01-10"), listing("counter", 15, ("10", "USD"))),
        obs("L-reset-2", Some("2020-01-20"), listing("counter", 12, ("10", "USD"))),
        // Priced in BTC with no rates: counted without revenue, on its day.
        obs("L-btc", Some("2020-03-01"), listing("in btc", 5, ("0.01", "BTC"))),
        obs("L-undated", None, listing("undated", 5, ("10", "USD"))),
    ];
    let feedback = [
        // A date no one can read: dated to its observation, and no listing prices it.
        obs("F-odd", Some("2020-02-01"), feedback("no such listing", "sometime")),
        obs("F-undated", None, feedback("counter", "2020-01-05")),
    ];
    let vendors = [
        obs("V-1", Some("2020-04-01"), vendor(30)),
        obs("V-2", Some("2020-04-11"), vendor(20)),
        obs("V-undated", None, vendor(40)),
    ];
    let u = units(&Input { listings: &listings, feedback: &feedback, categories: &[], vendors: &vendors }, &Rates::default());
    let mut got: Vec<(&str, &str, Option<DayRange>)> = u.problems.iter().map(|p| (p.id.as_str(), p.message.as_str(), p.days)).collect();
    got.sort_by_key(|(id, message, _)| (*id, *message));
    let expected: &[(&str, &str, Option<DayRange>)] = &[
        ("F-odd", "feedback date \"sometime\" not understood", days("2020-02-01", "2020-02-01")),
        ("F-odd", "no listing observation to price it", days("2020-02-01", "2020-02-01")),
        ("F-undated", "feedback has no observation date", None),
        ("L-btc", "its sales are counted without revenue", days("2020-03-01", "2020-03-01")),
        ("L-reset-2", "sold counter fell from 15 to 12", days("2020-01-10", "2020-01-20")),
        ("L-undated", "listing has no observation date", None),
        ("V-2", "vendor sales count fell from 30 to 20", days("2020-04-02", "2020-04-11")),
        ("V-undated", "vendor has no observation date", None),
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for ((id, message, days), (want_id, want_message, want_days)) in got.iter().zip(expected) {
        assert!(id == want_id && message.contains(want_message) && days == want_days, "{id} {message:?} {days:?}, expected {want_id} {want_message:?} {want_days:?}");
    }

    // No window: every note listed, in order.
    let all = notes_in_window(&u.problems, None, None);
    assert_eq!((all.listed.len(), all.undated, all.outside), (8, 3, 0));
    assert!(all.listed.iter().zip(&u.problems).all(|(a, b)| std::ptr::eq(*a, b)));
    // January 15 to February 15: the reset (its days run into the window)
    // and the feedback of February 1 are in; March and April are out; the
    // undated rows are listed, as they cannot be placed.
    let listed_ids = |from: Option<&str>, to: Option<&str>| {
        let n = notes_in_window(&u.problems, from.map(d), to.map(d));
        let mut ids: Vec<&str> = n.listed.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        (ids, n.undated, n.outside)
    };
    assert_eq!(
        listed_ids(Some("2020-01-15"), Some("2020-02-15")),
        (vec!["F-odd", "F-odd", "F-undated", "L-reset-2", "L-undated", "V-undated"], 3, 2)
    );
    // Open-ended windows and the limits themselves (inclusive).
    assert_eq!(listed_ids(Some("2020-04-11"), None), (vec!["F-undated", "L-undated", "V-2", "V-undated"], 3, 4));
    assert_eq!(listed_ids(None, Some("2020-01-10")), (vec!["F-undated", "L-reset-2", "L-undated", "V-undated"], 3, 4));
    assert_eq!(listed_ids(None, Some("2020-01-09")).2, 5);
}
