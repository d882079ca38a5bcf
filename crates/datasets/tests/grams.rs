//! Grams 2014 importer over the real files in `shared/data/listings/grams-2014`
//! (read in place), plus small inline inputs for the error paths.
//!
//! Every expected number here was taken from the raw files independently of
//! the importer (Python's csv module, and reading the bytes).

use datasets::{detect, DatasetExtraction, DatasetFormat, Severity};
use model::Listing;

mod common;

fn run(name: &str, bytes: &[u8]) -> DatasetExtraction {
    common::parse_as(&DatasetFormat::Grams2014, name, bytes)
}

fn load(file: &str) -> Option<DatasetExtraction> {
    let bytes = common::read_shared(&format!("listings/grams-2014/{file}"))?;
    assert_eq!(detect(file, &bytes), Some(DatasetFormat::Grams2014), "{file}");
    assert_eq!(detect("export.csv", &bytes), Some(DatasetFormat::Grams2014), "{file}");
    let out = run(file, &bytes);
    assert_eq!(out.format, "grams-2014");
    Some(out)
}

use common::rule;

fn money(l: &Listing) -> (&str, &str) {
    l.price.as_ref().map(|p| (p.amount.as_str(), p.currency.as_str())).expect("price")
}

#[test]
fn every_file_counts() {
    // (file, rows, imported, rejected, market, vendors)
    for (file, rows, market, vendors) in [("grams_1776.csv", 83, "1776", 21), ("grams_BB.csv", 275, "blackbank", 39)] {
        let Some(out) = load(file) else { return };
        // 11 fields against a 10-name header on every row: no problem at all.
        assert_eq!((out.rows, out.imported, out.rejected), (rows, rows, 0), "{file}");
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(out.market.as_deref(), Some(market));
        let mut names: Vec<_> = out.listings.iter().filter_map(|l| l.vendor.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), vendors, "{file}");
        for l in &out.listings {
            assert_eq!(l.market, market);
            assert_eq!(l.provenance.as_ref().map(|p| p.profile.as_str()), Some("dataset:grams-2014"));
            let t = l.observed_at.as_deref().expect("observed_at");
            assert!(t.starts_with("2014-0") && t.ends_with('Z') && t.len() == 20, "{t}");
            assert!(l.market_listing_id.is_some() && l.url.is_some());
        }
    }
}

#[test]
fn market_1776_prices_are_usd() {
    let Some(out) = load("grams_1776.csv") else { return };
    let l = &out.listings[0];
    assert_eq!((l.title.as_str(), l.vendor.as_deref()), ("1 gr indian Ketamin", Some("ACAB23")));
    assert_eq!(money(l), ("50.00000000", "USD"));
    assert_eq!((l.price_usd.as_deref(), l.price_btc.as_deref()), (Some("50.00000000"), None));
    assert_eq!(l.observed_at.as_deref(), Some("2014-05-12T18:10:10Z")); // 1399918210
    assert_eq!(l.market_listing_id.as_deref(), Some("2787"));
    assert_eq!(l.url.as_deref(), Some("http://n6tzonxy7sod7eqt.onion/Viewitem?itemid=2787"));
    assert_eq!(l.ships_from.as_deref(), Some("Austria"));
    assert_eq!(rule(l), "row 1, line 2");
    let l = &out.listings[82];
    assert_eq!((l.vendor.as_deref(), money(l)), (Some("ukconnect"), ("100.00000000", "USD")));
    assert_eq!(l.observed_at.as_deref(), Some("2014-05-22T21:03:19Z"));
    assert_eq!(rule(l), "row 83, line 84");
    assert_eq!(out.listings.iter().filter(|l| l.vendor.as_deref() == Some("BruceWillix")).count(), 15);
    assert_eq!(out.listings.iter().filter(|l| l.vendor.as_deref() == Some("pharmaguy")).count(), 12);
    assert_eq!(out.listings.iter().filter(|l| l.ships_from.as_deref() == Some("United Kingdom")).count(), 25);
}

#[test]
fn black_bank_prices_are_btc() {
    let Some(out) = load("grams_BB.csv") else { return };
    let l = &out.listings[0];
    assert_eq!(l.vendor.as_deref(), Some("Aidoneus")); // "\nAidoneus" in the file
    assert_eq!(l.title, "US ONLY 250x 140mg PURE 84 MDMA Capsules");
    assert_eq!(money(l), ("3.38825608", "BTC"));
    assert_eq!((l.price_btc.as_deref(), l.price_usd.as_deref()), (Some("3.38825608"), None));
    assert_eq!(l.observed_at.as_deref(), Some("2014-05-30T22:58:50Z"));
    assert_eq!(l.market_listing_id.as_deref(), Some("573"));
    assert_eq!(l.ships_from.as_deref(), Some("United States of America"));
    assert_eq!(rule(l), "row 1, line 2");
    // Each row spans two lines (the vendor cell starts with a line break).
    assert_eq!(rule(&out.listings[1]), "row 2, line 4");
    let l = &out.listings[274];
    assert_eq!((l.vendor.as_deref(), money(l)), (Some("WinstonWolfe"), ("16.75112892", "BTC")));
    assert_eq!(rule(l), "row 275, line 550");
    assert_eq!(out.listings.iter().filter(|l| l.vendor.as_deref() == Some("MedIndia")).count(), 24);
    assert_eq!(out.listings.iter().filter(|l| l.ships_from.as_deref() == Some("United States of America")).count(), 101);
    let hash = &out.listings[11];
    assert_eq!((hash.vendor.as_deref(), hash.title.as_str()), (Some("BCDirect"), "1oz Grade A Hash"));
    assert_eq!((hash.price_btc.as_deref(), hash.market_listing_id.as_deref()), (Some("0.34263264"), Some("1162")));
    assert_eq!(rule(hash), "row 12, line 24");
}

/// The unit finding, checked against the data: the same vendor's same
/// product costs 225.00 on 1776 and 0.34263264 on Black Bank; at the day's
/// BTC close (rates/btc_daily.csv) the two are within 10% of each other.
#[test]
fn units_agree_across_markets_at_the_days_rate() {
    let (Some(a), Some(b), Some(rates)) = (load("grams_1776.csv"), load("grams_BB.csv"), testdata::shared("rates/btc_daily.csv"))
    else {
        return;
    };
    let rates = std::fs::read_to_string(rates).expect("rates");
    let pick = |out: &DatasetExtraction, vendor: &str| {
        out.listings
            .iter()
            .find(|l| l.vendor.as_deref() == Some(vendor) && l.title == "1oz Grade A Hash")
            .cloned()
            .expect("listing")
    };
    let (usd, btc) = (pick(&a, "bcdirect"), pick(&b, "BCDirect"));
    let day = btc.observed_at.as_deref().and_then(|t| t.get(..10)).expect("day");
    assert_eq!(day, "2014-05-30");
    let close: f64 = rates
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{day},")))
        .and_then(|v| v.parse().ok())
        .expect("rate of the day");
    let usd: f64 = usd.price_usd.as_deref().and_then(|v| v.parse().ok()).expect("usd");
    let btc: f64 = btc.price_btc.as_deref().and_then(|v| v.parse().ok()).expect("btc");
    assert!((btc * close / usd - 1.0).abs() < 0.10, "{btc} BTC x {close} vs {usd} USD");
}

const HEADER: &str = "\"hash\",\"market\",\"itemlink\",\"vendor\",\"price\",\"product\",\"description\",\"image_link\",\"timestamp\",\"ship_from\"\n";

fn row(vendor: &str, price: &str, extra: &str) -> String {
    format!("\"4-1\",\"Black Bank\",\"http://x.onion/item/1\",\"{vendor}\",\"{price}\",\"Thing\",\"line one\nline two\",\"http://x.onion/i/1\",\"1401490730\",\"Germany\"{extra}\n")
}

#[test]
fn bad_rows_are_reported_by_line_and_the_rest_imported() {
    let mut csv = HEADER.to_owned();
    csv += &row("good", "0.5", ","); // line 2 (each row() spans 2 lines)
    csv += &row("no comma", "0.25", ""); // line 4: 10 fields, also fine
    csv += &row("twelve", "0.5", ",,"); // line 6: 12 fields
    csv += &row("shifted", "0.5", ",\"x\""); // line 8: an 11th field that is not empty
    csv += &row("negative", "-0.5", ","); // line 10
    csv += &row("absurd", "5000.00000000", ","); // line 12: 5000 BTC
    csv += &row("  ", "0.5", ","); // line 14: empty vendor
    csv += &row("words", "ten", ","); // line 16
    csv += "\"4-2\",\"Black Bank\",\"http://x.onion/item/2\",\"unclosed,\"0.1\",\"T\"\n"; // line 18: 6 fields
    let out = run("grams_BB.csv", csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (9, 2, 7));
    let rejected: Vec<u64> = out.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| p.line).collect();
    assert_eq!(rejected, [6, 8, 10, 12, 14, 16, 18]);
    let msg = |line| out.problems.iter().find(|p| p.line == line).map(|p| p.message.clone()).unwrap_or_default();
    assert!(msg(6).contains("12 fields"), "{}", msg(6));
    assert!(msg(10).contains("negative"), "{}", msg(10));
    assert!(msg(12).contains("absurd"), "{}", msg(12));
    assert!(msg(14).contains("vendor"), "{}", msg(14));
    assert!(msg(16).contains("price"), "{}", msg(16));
    assert_eq!(out.listings[1].vendor.as_deref(), Some("no comma"));
    assert_eq!(rule(&out.listings[1]), "row 2, line 4");
    assert_eq!(out.market.as_deref(), Some("blackbank"));
}

/// Rows rejected for no vendor do not decide the price unit of the rows
/// kept (two at "100.00" made a kept 0.5 read as USD 0.50).
#[test]
fn rejected_rows_do_not_decide_a_market_unit() {
    let rows = [("alice", "0.5"), ("", "100.00"), ("", "100.00")];
    let mut csv = HEADER.to_owned();
    for (vendor, price) in rows {
        csv += &format!("\"1-1\",\"Silk Road 2\",\"http://y.onion/items/7\",\"{vendor}\",\"{price}\",\"T\",\"d\",\"i\",\"1400000000\",\"UK\",\n");
    }
    let out = run("grams_sr2.csv", csv.as_bytes());
    assert_eq!((out.imported, out.rejected), (1, 2));
    assert_eq!(money(&out.listings[0]), ("0.5", "BTC"));
}

/// Timestamps no market could have (0, far before bitcoin) are warned of
/// and leave the row dated as the file was captured; they had been read as
/// 1970 and the year -1199.
#[test]
fn impossible_timestamps_are_warned_of() {
    let mut csv = HEADER.to_owned();
    for t in ["0", "-99999999999", "1400000000"] {
        csv += &format!("\"1-1\",\"Black Bank\",\"http://y.onion/items/7\",\"v\",\"0.5\",\"T\",\"d\",\"i\",\"{t}\",\"UK\",\n");
    }
    let out = run("grams_bb.csv", csv.as_bytes());
    assert_eq!(out.imported, 3);
    let dates: Vec<Option<&str>> = out.listings.iter().map(|l| l.observed_at.as_deref()).collect();
    assert_eq!(dates, [None, None, Some("2014-05-13T16:53:20Z")]);
    let warned: Vec<u64> = out.problems.iter().filter(|p| p.message.contains("no possible time") && p.message.contains("dated as the file was captured")).map(|p| p.line).collect();
    assert_eq!(warned, [2, 3], "{:?}", out.problems);
}

#[test]
fn two_markets_and_an_unknown_one() {
    let mut csv = HEADER.to_owned();
    csv += &row("a", "0.5", ",");
    csv += "\"1-1\",\"Silk Road 2\",\"http://y.onion/items/7\",\"b\",\"25.00000000\",\"T\",\"d\",\"i\",\"1400000000\",\"UK\",\n";
    csv += "\"1-2\",\"Silk Road 2\",\"http://y.onion/items/8\",\"b\",\"35.50000000\",\"T\",\"d\",\"i\",\"1400000000\",\"NA\",\n";
    let out = run("grams_mixed.csv", csv.as_bytes());
    assert_eq!((out.imported, out.rejected), (3, 0));
    assert_eq!(out.market, None); // two markets in one file
    let l = &out.listings[1];
    assert_eq!((l.market.as_str(), money(l)), ("silkroad2", ("25.00000000", "USD")));
    assert_eq!((l.market_listing_id.as_deref(), l.ships_from.as_deref()), (Some("7"), Some("UK")));
    assert_eq!(out.listings[2].ships_from, None);
    assert_eq!(l.observed_at.as_deref(), Some("2014-05-13T16:53:20Z"));
    // The guessed unit is said once, on line 0.
    assert_eq!(out.problems.len(), 1);
    assert_eq!((out.problems[0].line, out.problems[0].severity), (0, Severity::Warning));
}

#[test]
fn odd_bytes_never_panic() {
    for bytes in [&b""[..], b"\"hash\"", b"\"hash\",\"market\"\n\xff\"\n", HEADER.as_bytes(), b"\xef\xbb\xbf\"hash\",\"market\",\"itemlink\",\"vendor\",\"price\",\"product\"\n,,,,,\n"] {
        let out = run("grams_x.csv", bytes);
        assert_eq!(out.imported, 0);
        assert_eq!(out.rows, out.rejected);
    }
}

#[test]
fn detection() {
    assert_eq!(detect("a.csv", HEADER.as_bytes()), Some(DatasetFormat::Grams2014));
    for bytes in [
        &b"<html><head><title>Grams</title></head>"[..],
        b"\"2016-12-11 10:00:00\", \"123\", \"x\"\n",
        b",product_title,ships_from_to,grams,quality,btc_price\n",
        b"[{\"hash\": \"x\", \"market\": \"y\"}]",
        b"Grams contains information crawled/API fetched from multiple markets.\n\"hash\",\"market_name\"",
    ] {
        assert_ne!(detect("grams_1776.csv", bytes), Some(DatasetFormat::Grams2014), "{bytes:?}");
    }
    if let Some(p) = testdata::shared("listings/grams-2014/SOURCE_README.md") {
        let bytes = std::fs::read(p).expect("read");
        assert_eq!(detect("SOURCE_README.md", &bytes), None);
    }
}
