//! Mapping files: validation, inline CSV and JSON, and the real Hansa file
//! re-imported through a mapping giving the built-in importer's listings.

use datasets::{parse, DatasetExtraction, DatasetFormat, DatasetInput, Mapping, Severity};
use model::{Money, Sha256};

fn run(mapping: &str, bytes: &[u8]) -> DatasetExtraction {
    let m = Mapping::from_toml(mapping).unwrap_or_else(|e| panic!("mapping: {e}"));
    let input = DatasetInput { bytes, evidence: Sha256::of(bytes), source: "inline" };
    parse(&DatasetFormat::Mapped(Box::new(m)), &input)
}

fn err(mapping: &str) -> String {
    Mapping::from_toml(mapping).expect_err("should not validate").to_string()
}

fn money(a: &str, c: &str) -> Option<Money> {
    Some(Money { amount: a.into(), currency: c.into() })
}

const CSV_MAPPING: &str = r#"
name = "shop-2020"
market = "Shop"
encoding = "windows-1252"
delimiter = ";"
currency = "EUR"
observed_at = "2020-05-01"
category = ["Misc"]

[columns]
title = "Item"
vendor = "Seller"
price = "Price"
price_usd = "USD"
category = { columns = ["Cat", "Sub"], split = "/" }
ships_from = 5
ships_to = { column = "To", split = "|" }
sold = "Sold"
url = "Link"
market_listing_id = "Id"
observed_at = { column = "Seen", format = "%d.%m.%Y %H:%M", utc_offset = "+02:00" }
"#;

#[test]
fn csv_mapping_imports_inline_rows() {
    let mut csv = b"Id;Item;Seller;Price;From;To;Cat;Sub;Sold;Link;Seen;USD\r\n".to_vec();
    csv.extend_from_slice(b"1;Caf\xe9 au lait;  anna ;12,50;DE;DE|AT| ;Food;Drinks/Hot;1,234;http://x/1;01.05.2020 14:30;13.10\r\n");
    csv.extend_from_slice(b"2;no vendor;;5;DE;;;;;;;\r\n");
    csv.extend_from_slice(b"3;yen;bob;JPY 500;DE;;;;;;;\r\n");
    csv.extend_from_slice(b"4;dollars;bob;$1,320.31;US;;;;x;;bad date;\r\n");
    csv.extend_from_slice(b"5;bitcoin;bob;0.5 BTC;;;;;;;;\r\n");
    csv.extend_from_slice(b"6;negative;bob;-3;;;;;;;;\r\n");
    let out = run(CSV_MAPPING, &csv);
    assert_eq!(out.format, "shop-2020");
    assert_eq!(out.market.as_deref(), Some("shop"));
    assert_eq!((out.rows, out.imported, out.rejected), (6, 2, 4), "{:?}", out.problems);
    let rej: Vec<(u64, &str)> = out
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Rejected)
        .map(|p| (p.line, p.message.as_str()))
        .collect();
    assert_eq!(rej.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3, 4, 7], "{rej:?}");
    // "12,50" is not a decimal number dragnet reads (no decimal commas).
    assert!(rej[0].1.contains("is not a price"), "{}", rej[0].1);
    assert!(rej[1].1.contains("no vendor"));
    assert!(rej[2].1.contains("unknown currency \"JPY\""));
    assert!(rej[3].1.contains("negative"));

    let l = &out.listings[0];
    assert_eq!(l.title, "dollars");
    assert_eq!(l.market, "shop");
    assert_eq!(l.price, money("1320.31", "USD"));
    assert_eq!(l.price_usd.as_deref(), Some("1320.31"));
    assert_eq!(l.category, ["Misc"], "constant category when the columns are empty");
    assert_eq!(l.observed_at.as_deref(), Some("2020-05-01"), "constant when the cell does not parse");
    let why = out.problems.iter().find(|p| p.line == 5 && p.message.contains("observed_at")).expect("the bad date is reported");
    assert!(why.message.contains("\"bad date\" does not parse or is no possible time (before 2009-01-03 or after 2100): the row is dated by the mapping's observed_at, 2020-05-01"), "{}", why.message);
    assert_eq!(l.sold, None);
    assert_eq!(l.provenance.as_ref().unwrap().rule, "row 4, line 5");
    assert_eq!(l.provenance.as_ref().unwrap().profile, "dataset:shop-2020");
    assert!(out.problems.iter().any(|p| p.line == 5 && p.severity == Severity::Warning && p.message.contains("sold")));
    let l = &out.listings[1];
    assert_eq!(l.price, money("0.5", "BTC"));
    assert_eq!(l.price_btc.as_deref(), Some("0.5"));
    assert_eq!(l.ships_from, None);

    // Row 1 with a decimal point instead.
    let at = csv.windows(5).position(|w| w == b"12,50").unwrap();
    csv[at + 2] = b'.';
    let out = run(CSV_MAPPING, &csv);
    let l = &out.listings[0];
    assert_eq!(l.title, "Café au lait");
    assert_eq!(l.vendor.as_deref(), Some("anna"));
    assert_eq!(l.price, money("12.50", "EUR"));
    assert_eq!(l.price_usd.as_deref(), Some("13.10"));
    assert_eq!(l.category, ["Food", "Drinks", "Hot"]);
    assert_eq!(l.ships_from.as_deref(), Some("DE"));
    assert_eq!(l.ships_to, ["DE", "AT"]);
    assert_eq!(l.sold, Some(1234));
    assert_eq!(l.url.as_deref(), Some("http://x/1"));
    assert_eq!(l.market_listing_id.as_deref(), Some("1"));
    assert_eq!(l.observed_at.as_deref(), Some("2020-05-01T12:30:00Z"));
    assert_eq!(l.provenance.as_ref().unwrap().rule, "row 1, line 2");
}

#[test]
fn csv_line_numbers_with_cr_line_ends_and_multiline_fields() {
    let m = "name = \"t\"\nmarket = \"m\"\nheader = false\n[columns]\ntitle = 1\nvendor = 2\n";
    let out = run(m, b"a;b\r\"multi\rline\",v\r\rc,w\r");
    let out2 = run(m, b"x,v\n\"multi\r\nline\",v\r\n\r\nc,w\r\n");
    for (o, first) in [(&out, "a;b"), (&out2, "x")] {
        let rules: Vec<_> = o.listings.iter().map(|l| l.provenance.as_ref().unwrap().rule.clone()).collect();
        if first == "a;b" {
            // "a;b" has no vendor: rejected on line 1.
            assert_eq!(o.problems[0].line, 1);
            assert_eq!(rules, ["row 2, line 2", "row 3, line 5"]);
        } else {
            assert_eq!(rules, ["row 1, line 1", "row 2, line 2", "row 3, line 5"]);
        }
    }
}

#[test]
fn json_mapping_imports_inline_records() {
    let m = r#"
name = "api-dump"
format = "json"
records = "/data/items"
observed_at = "2021-03-04T05:06:07+01:00"

[columns]
market = "site"
title = "name"
vendor = "/seller/name"
price = "price"
currency = "cur"
category = "path"
ships_to = "dest"
sold = "sold"
rating = "stars"
"#;
    let json = r#"{"data": {"items": [
  {"site": "Alpha", "name": "one", "seller": {"name": "v1"}, "price": 0.00120, "cur": "btc",
   "path": ["Drugs", "Opioids"], "dest": ["US", "EU"], "sold": 12, "stars": 4.95},
  {"site": "Alpha", "name": "two", "seller": {"name": "v2"}, "price": "EUR 30", "cur": "EUR"},
  {"site": "Alpha", "name": "three", "seller": {}, "price": 1},
  {"site": "Alpha", "name": "four", "seller": {"name": "v4"}, "price": 5e-05, "cur": "BTC"},
  {"site": "Alpha", "name": "five", "seller": {"name": "v5"}, "price": "5", "cur": "DOGE"},
  {"site": "Alpha", "name": "six", "seller": {"name": "v6"}, "price": "5"}
]}}"#;
    let out = run(m, json.as_bytes());
    assert_eq!(out.market.as_deref(), Some("alpha"));
    assert_eq!((out.rows, out.imported, out.rejected), (6, 3, 3), "{:?}", out.problems);
    let rej: Vec<(u64, &str)> = out
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Rejected)
        .map(|p| (p.line, p.message.as_str()))
        .collect();
    assert_eq!(rej.iter().map(|r| r.0).collect::<Vec<_>>(), [5, 7, 8], "{rej:?}");
    assert!(rej[0].1.contains("no vendor"));
    assert!(rej[1].1.contains("DOGE"));
    assert!(rej[2].1.contains("no currency"));
    // Exponent form, as json.dumps writes small amounts, is expanded digit
    // for digit (it was rejected as "not a price").
    assert_eq!(out.listings[2].price, money("0.00005", "BTC"));
    let l = &out.listings[0];
    assert_eq!(l.market, "alpha");
    assert_eq!(l.price, money("0.00120", "BTC"), "number text kept exactly");
    assert_eq!(l.price_btc.as_deref(), Some("0.00120"));
    assert_eq!(l.category, ["Drugs", "Opioids"]);
    assert_eq!(l.ships_to, ["US", "EU"]);
    assert_eq!(l.sold, Some(12));
    assert_eq!(l.rating.as_deref(), Some("4.95"));
    assert_eq!(l.observed_at.as_deref(), Some("2021-03-04T04:06:07Z"));
    assert_eq!(l.provenance.as_ref().unwrap().rule, "row 1, line 2");
    assert_eq!(out.listings[1].price, money("30", "EUR"));
    assert_eq!(out.listings[1].provenance.as_ref().unwrap().rule, "row 2, line 4");
    assert_eq!(out.listings[1].sold, None);
}

#[test]
fn invalid_mappings_name_the_key() {
    let base = "name = \"x\"\nmarket = \"m\"\n";
    assert!(err(&format!("{base}[columns]\nvendor = 1\n")).contains("columns.title"));
    assert!(err(&format!("{base}[columns]\ntitle = 1\n")).contains("columns.vendor"));
    assert!(err("name = \"x\"\n[columns]\ntitle = 1\nvendor = 2\n").contains("`market`"));
    let e = err(&format!("{base}colour = 1\n[columns]\ntitle = 1\nvendor = 2\n"));
    assert!(e.contains("unknown field `colour`"), "{e}");
    let e = err(&format!("{base}[columns]\ntitle = 1\nvendor = 2\nprize = 3\n"));
    assert!(e.contains("unknown field `prize`"), "{e}");
    let e = err(&format!("{base}[columns]\ntitle = 1\nvendor = {{ column = 2, splitt = \",\" }}\n"));
    assert!(e.contains("unknown field `splitt`"), "{e}");
    assert!(err(&format!("{base}encoding = \"klingon\"\n[columns]\ntitle = 1\nvendor = 2\n")).contains("encoding"));
    // A CSV reader splits at commas before decoding: UTF-16 is refused, named.
    let e = err(&format!("{base}encoding = \"utf-16le\"\n[columns]\ntitle = 1\nvendor = 2\n"));
    assert!(e.contains("encoding") && e.contains("UTF-16LE") && e.contains("convert the file to UTF-8"), "{e}");
    assert!(err(&format!("{base}currency = \"DOGE\"\n[columns]\ntitle = 1\nvendor = 2\n")).contains("currency"));
    assert!(err(&format!("{base}header = false\n[columns]\ntitle = \"t\"\nvendor = 2\n")).contains("columns.title"));
    assert!(err(&format!("{base}[columns]\ntitle = 0\nvendor = 2\n")).contains("start at 1"));
    assert!(err(&format!("{base}[columns]\ntitle = [1, 2]\nvendor = 2\n")).contains("columns.title"));
    assert!(err(&format!("{base}format = \"json\"\ndelimiter = \";\"\n[columns]\ntitle = \"t\"\nvendor = \"v\"\n"))
        .contains("delimiter"));
    assert!(err(&format!("{base}format = \"xml\"\n[columns]\ntitle = 1\nvendor = 2\n")).contains("xml"));
    assert!(err(&format!("{base}observed_at = \"last week\"\n[columns]\ntitle = 1\nvendor = 2\n")).contains("observed_at"));
    // A time format chrono cannot read is refused, named (every row had
    // been warned of, the data blamed).
    for bad in ["%Q", "%d/%m/%", "dd/mm/yyyy"] {
        let e = err(&format!("{base}[columns]\ntitle = 1\nvendor = 2\nobserved_at = {{ column = 3, format = \"{bad}\" }}\n"));
        assert!(e.contains("columns.observed_at") && e.contains("not a chrono format"), "{bad}: {e}");
    }
    for good in ["%d/%m/%Y %H:%M", "unix"] {
        Mapping::from_toml(&format!("{base}[columns]\ntitle = 1\nvendor = 2\nobserved_at = {{ column = 3, format = \"{good}\" }}\n")).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    // And a good one.
    let m = Mapping::from_toml(&format!("{base}[columns]\ntitle = 1\nvendor = 2\n")).unwrap();
    assert_eq!(m.name, "x");
}

#[test]
fn hansa_through_a_mapping_matches_the_built_in_importer() {
    let Some(path) = testdata::shared("listings/hansa-2016-12/hansa-marketplace-listings-december-2016.csv") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let m = r#"
name = "hansa-by-mapping"
market = "hansa"
header = false
delimiter = ", "
min_fields = 6

[columns]
observed_at = { column = 1, format = "%Y-%m-%d %H:%M:%S%.f %z EST" }
market_listing_id = 2
title = 3
vendor = 4
price = 5
category = 6
ships_from = 7
"#;
    let mapped = run(m, &bytes);
    let input = DatasetInput { bytes: &bytes, evidence: Sha256::of(&bytes), source: "hansa.csv" };
    let built_in = parse(&DatasetFormat::Hansa2016, &input);
    assert_eq!(mapped.rows, built_in.rows);
    assert_eq!(mapped.imported, built_in.imported);
    assert_eq!(mapped.rejected, built_in.rejected);
    assert_eq!(mapped.listings.len(), 14754);
    for (a, b) in mapped.listings.iter().zip(&built_in.listings) {
        assert_eq!(a.title, b.title);
        assert_eq!(a.vendor, b.vendor);
        assert_eq!(a.price, b.price);
        assert_eq!(a.price_usd, b.price_usd);
        assert_eq!(a.category, b.category);
        assert_eq!(a.ships_from, b.ships_from);
        assert_eq!(a.market_listing_id, b.market_listing_id);
        assert_eq!(a.observed_at, b.observed_at);
        assert_eq!(a.provenance.as_ref().unwrap().rule, b.provenance.as_ref().unwrap().rule);
    }
    let lines = |o: &DatasetExtraction| {
        o.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| p.line).collect::<Vec<_>>()
    };
    assert_eq!(lines(&mapped), lines(&built_in));
}

#[test]
fn whitehouse_products_through_a_json_mapping() {
    let Some(path) = testdata::shared("listings/whitehouse-2021/whm_23-05-2021.json") else { return };
    let bytes = std::fs::read(path).unwrap();
    let m = r#"
name = "whm-products"
market = "whitehouse"
format = "json"
records = "/1/values"
observed_at = "2021-05-23"

[columns]
market_listing_id = "id"
title = "title"
vendor = "vendor"
price = "price"
category = { column = "category", split = " - " }
ships_from = "shipsFrom"
ships_to = "shipsTo"
"#;
    let mapped = run(m, &bytes);
    let input = DatasetInput { bytes: &bytes, evidence: Sha256::of(&bytes), source: "whm_23-05-2021.json" };
    let built_in = parse(&DatasetFormat::WhiteHouse2021, &input);
    assert_eq!((mapped.rows, mapped.imported, mapped.rejected), (606, 606, 0));
    let strip = |l: &model::Listing| {
        let mut l = l.clone();
        l.provenance = None;
        l
    };
    let a: Vec<_> = mapped.listings.iter().map(strip).collect();
    let b: Vec<_> = built_in.listings.iter().map(strip).collect();
    assert_eq!(a, b);
    // Same lines too (the JSON reader is shared).
    assert_eq!(mapped.listings[605].provenance.as_ref().unwrap().rule, "row 606, line 5595");
}

/// `kind = "feedback"`: one feedback entry per row, for datasets that keep
/// feedback apart from listings. Bad rows are rejected by line; listing-only
/// columns are refused by name.
#[test]
fn feedback_rows_through_a_mapping() {
    let mapping = r#"
name = "shop-feedback"
kind = "feedback"
market = "Shop"
currency = "USD"
observed_at = "2020-05-01"

[columns]
vendor = "seller"
title = "item"
date = "left"
rating = "stars"
text = "comment"
buyer = "by"
price = "paid"
"#;
    let csv = "seller,item,left,stars,comment,by,paid\n\
               anna,10g Haze,2020-04-02,5/5,fast and stealthy,b***r,100\n\
               anna,10g Haze,3 days ago,4/5,ok,c***d,\n\
               ,10g Haze,2020-04-03,5/5,no vendor,x,1\n\
               bob,Pills,2020-04-04,1/5,never came,y,ZZZ 3\n\
               bob,Pills,,5/5,no date,z,5\n";
    let out = run(mapping, csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (5, 3, 2));
    assert!(out.listings.is_empty());
    assert_eq!(out.market.as_deref(), Some("shop"));
    let f = &out.feedback[0];
    assert_eq!(f.vendor.as_deref(), Some("anna"));
    assert_eq!(f.listing.as_deref(), Some("10g Haze"));
    assert_eq!(f.date.as_deref(), Some("2020-04-02"));
    assert_eq!(f.rating.as_deref(), Some("5/5"));
    assert_eq!(f.text.as_deref(), Some("fast and stealthy"));
    assert_eq!(f.buyer.as_deref(), Some("b***r"));
    assert_eq!(f.price, money("100", "USD"));
    assert_eq!(f.observed_at.as_deref(), Some("2020-05-01"));
    assert_eq!(f.provenance.as_ref().map(|p| p.rule.as_str()), Some("row 1, line 2"));
    assert_eq!(out.feedback[1].date.as_deref(), Some("3 days ago"));
    assert_eq!(out.feedback[1].price, None);
    assert_eq!(out.feedback[2].date, None);
    let by_line = |l: u64| out.problems.iter().find(|p| p.line == l).map(|p| (p.severity, p.message.clone()));
    assert!(matches!(by_line(4), Some((Severity::Rejected, m)) if m.contains("vendor")), "{:?}", out.problems);
    assert!(matches!(by_line(5), Some((Severity::Rejected, m)) if m.contains("ZZZ")), "{:?}", out.problems);
    assert!(matches!(by_line(6), Some((Severity::Warning, m)) if m.contains("no date")), "{:?}", out.problems);
    // Handed over as read: the same entries in the same order, none kept.
    let m = Mapping::from_toml(mapping).unwrap();
    let input = DatasetInput { bytes: csv.as_bytes(), evidence: Sha256::of(csv.as_bytes()), source: "inline" };
    let mut handed = Vec::new();
    let kept = datasets::parse_with(&DatasetFormat::Mapped(Box::new(m)), &input, &mut |f| handed.push(f.to_owned_record()));
    assert!(kept.feedback.is_empty());
    assert_eq!(handed, out.feedback);
    assert_eq!((kept.rows, kept.imported, kept.problems.len()), (out.rows, out.imported, out.problems.len()));
    // Listing facts on a feedback mapping, feedback columns on a listing mapping.
    let base = "name = \"x\"\nmarket = \"m\"\n";
    assert!(err(&format!("{base}kind = \"feedback\"\n[columns]\nvendor = 1\nsold = 2\n")).contains("columns.sold"));
    assert!(err(&format!("{base}[columns]\ntitle = 1\nvendor = 2\ntext = 3\n")).contains("columns.text"));
    assert!(err(&format!("{base}kind = \"reviews\"\n[columns]\nvendor = 1\n")).contains("reviews"));
    assert!(err(&format!("{base}kind = \"feedback\"\n[columns]\ntitle = 1\n")).contains("columns.vendor"));
}

/// Past the first `PROBLEMS_LISTED`, problems are counted, not held: five
/// million broken rows of a 10 MB file took 4.5 GB.
#[test]
fn a_file_of_broken_rows_lists_the_first_problems_and_counts_all() {
    let mut csv = b"Id;Item;Seller;Price;From;To;Cat;Sub;Sold;Link;Seen;USD\r\n".to_vec();
    let broken = 3 * datasets::PROBLEMS_LISTED;
    for _ in 0..broken {
        csv.extend_from_slice(b"a\r\n");
    }
    csv.extend_from_slice(b"1;Caf\xe9 au lait;  anna ;12.50;DE;DE|AT| ;Food;Drinks/Hot;1,234;http://x/1;01.05.2020 14:30;13.10\r\n");
    let out = run(CSV_MAPPING, &csv);
    assert_eq!((out.rows, out.imported, out.rejected), (broken as u64 + 1, 1, broken as u64), "{:?} {:?}", out.problems.first(), out.problems.last());
    assert_eq!(out.problems.len(), datasets::PROBLEMS_LISTED);
    assert_eq!(out.problems_not_listed, 2 * datasets::PROBLEMS_LISTED as u64);
    assert_eq!((out.problems[0].line, out.problems.last().unwrap().line), (2, datasets::PROBLEMS_LISTED as u64 + 1));
    assert_eq!(out.listings.len(), 1);
}

/// Dates no market saw are said by line at import (found by a review:
/// 2014-02-30, 0000-01-01 and 9999-12-31 came in silently, and sales showed
/// months 0000-01 and 9999-12); an observation time that is no possible day
/// falls back to the mapping's constant, with a warning.
#[test]
fn impossible_dates_are_warned_of_by_line() {
    let mapping = r#"
name = "shop-feedback"
kind = "feedback"
market = "Shop"
currency = "USD"
observed_at = "2020-05-01"

[columns]
vendor = "seller"
date = "left"
observed_at = "seen"
"#;
    let csv = "seller,left,seen\n\
               anna,2020-04-02,2020-05-02\n\
               anna,2014-02-30,2020-05-02\n\
               anna,0000-01-01,2020-05-02\n\
               anna,9999-12-31,2020-05-02\n\
               anna,2009-01-01,2020-05-02\n\
               anna,3 days ago,9999-12-31\n";
    let out = run(mapping, csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (6, 6, 0));
    let warned: Vec<u64> = out.problems.iter().filter(|p| p.severity == Severity::Warning).map(|p| p.line).collect();
    assert_eq!(warned, [3, 4, 5, 6, 7], "{:?}", out.problems);
    assert!(out.problems[0].message.contains("\"2014-02-30\" is no possible day"), "{}", out.problems[0].message);
    assert!(out.problems[4].message.contains("observed_at \"9999-12-31\" does not parse"), "{}", out.problems[4].message);
    assert_eq!(out.feedback[5].observed_at.as_deref(), Some("2020-05-01"));
}

/// A shop's listings: title, vendor, price and sold count.
const SHOP_MAPPING: &str = r#"
name = "shop"
market = "Shop"
currency = "USD"
observed_at = "2020-05-01"

[columns]
title = "item"
vendor = "seller"
price = "price"
sold = "sold"
"#;

/// A sold count past `model::MOST_SOLD` is left out with a warning by line
/// (18446744073709551615 was kept, then dropped by the store in silence,
/// and the vendor's sales with it); the row stays.
#[test]
fn an_impossible_sold_count_is_left_out_by_line() {
    let mapping = SHOP_MAPPING;
    let csv = "item,seller,price,sold\nHaze,anna,10,1000000000\nKush,anna,10,1000000001\nGlue,anna,10,18446744073709551615\nPills,anna,10,99999999999999999999\n";
    let out = run(mapping, csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (4, 4, 0));
    let sold: Vec<Option<u64>> = out.listings.iter().map(|l| l.sold).collect();
    assert_eq!(sold, [Some(1_000_000_000), None, None, None]);
    let warned: Vec<u64> = out.problems.iter().map(|p| p.line).collect();
    assert_eq!(warned, [3, 4, 5], "{:?}", out.problems);
}

/// A quote left open in the file's last line, with no line end after it,
/// is named as such (it was rejected as "no vendor"); one that closes is a
/// field's text.
#[test]
fn a_quote_left_open_on_the_last_line_is_named() {
    let out = run(SHOP_MAPPING, b"item,seller,price,sold\nA,anna,10,1\n\"B,bob,5,1");
    assert_eq!((out.rows, out.imported, out.rejected), (2, 1, 1));
    let rejected: Vec<(u64, &str)> = out.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| (p.line, p.message.as_str())).collect();
    assert!(rejected.len() == 1 && rejected[0].0 == 3 && rejected[0].1.contains("a quote opened in this record does not close"), "{rejected:?}");
    let out = run(SHOP_MAPPING, b"item,seller,price,sold\nA,anna,10,1\nB \"two\",bob,5,1");
    assert_eq!((out.rows, out.imported, out.rejected), (2, 2, 0), "{:?}", out.problems);
}

/// A quote that closes late ("multi\nline" followed by a space) in a record
/// of the header's width rejects that record alone: reading started again
/// on its second line, which became a listing titled `line"` (found by a
/// review).
#[test]
fn a_late_closing_quote_rejects_one_record_and_invents_none() {
    let out = run(SHOP_MAPPING, b"item,seller,price,sold\n\"multi\nline\" ,v1,1,1\nB,bob,5,1\nC,cy,7,1\n");
    assert_eq!((out.rows, out.imported, out.rejected), (3, 2, 1), "{:?}", out.problems);
    let titles: Vec<&str> = out.listings.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(titles, ["B", "C"]);
    assert_eq!(out.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| p.line).collect::<Vec<_>>(), [2]);
}

/// A header whose quote never closes is one warning, not a rejected row:
/// the rows after it are each rejected once ("3 rows, 4 rejected" before).
#[test]
fn an_unreadable_header_is_not_counted_as_a_rejected_row() {
    let out = run(SHOP_MAPPING, b"item,\"seller,price,sold\nA,anna,10,1\nB,bob,5,1\nC,cy,7,1\n");
    assert_eq!((out.rows, out.imported, out.rejected), (3, 0, 3), "{:?}", out.problems);
    let header: Vec<&str> = out.problems.iter().filter(|p| p.row.is_none() && p.message.contains("quote")).map(|p| p.message.as_str()).collect();
    assert!(header.len() == 1 && header[0].starts_with("the header is unreadable"), "{:?}", out.problems);
    assert!(out.problems.iter().filter(|p| p.severity == Severity::Rejected).all(|p| p.row.is_some()), "{:?}", out.problems);
}

/// A header naming a column twice: the first is read, and a warning says
/// so (the second was passed over in silence; found by a review).
#[test]
fn a_header_naming_a_column_twice_is_warned_of() {
    let csv = "item,seller,price,seller,sold\nA,anna,10,bob,1\n";
    let out = run(SHOP_MAPPING, csv.as_bytes());
    assert_eq!(out.listings[0].vendor.as_deref(), Some("anna"));
    let warned: Vec<&str> = out.problems.iter().filter(|p| p.line == 1).map(|p| p.message.as_str()).collect();
    assert_eq!(warned, ["columns.vendor: the header has 2 columns named \"seller\" (#2, #4): the first, #2, is read (give an index to read another)"]);
}

/// A sold count's commas are thousands grouped as a price's are; "12,50"
/// and "1,2,3" are no whole number (they were read as 1250 and 123, found
/// by a review).
#[test]
fn sold_counts_take_only_thousands_commas() {
    let csv = "item,seller,price,sold\nA,anna,10,\"1,234\"\nB,anna,10,\"12,50\"\nC,anna,10,\"1,2,3\"\nD,anna,10,\"1,234,567\"\n";
    let out = run(SHOP_MAPPING, csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (4, 4, 0));
    let sold: Vec<Option<u64>> = out.listings.iter().map(|l| l.sold).collect();
    assert_eq!(sold, [Some(1234), None, None, Some(1_234_567)]);
    let warned: Vec<u64> = out.problems.iter().filter(|p| p.message.contains("is not a whole number")).map(|p| p.line).collect();
    assert_eq!(warned, [3, 4], "{:?}", out.problems);
}

const ITEMS_MAPPING: &str = r#"
name = "items"
format = "json"
records = "/items"
market = "Alpha"
currency = "USD"
observed_at = "2021-03-04"

[columns]
title = "name"
vendor = "seller"
price = "price"
"#;

/// A JSON column holding an object has no value to read: the row is
/// imported without it and a warning names the column and line (a price
/// `{"amount": 5}` was left out in silence, found by a review).
#[test]
fn a_json_column_holding_an_object_is_warned_of() {
    let json = b"{\"items\": [\n{\"name\": \"a\", \"seller\": \"v\", \"price\": 1},\n{\"name\": \"b\", \"seller\": \"v\", \"price\": {\"amount\": 5}},\n{\"name\": \"c\", \"seller\": \"v\", \"price\": [{\"amount\": 5}]}\n]}";
    let out = run(ITEMS_MAPPING, json);
    assert_eq!((out.rows, out.imported, out.rejected), (3, 3, 0));
    assert_eq!(out.listings.iter().map(|l| l.price.is_some()).collect::<Vec<_>>(), [true, false, false]);
    let warned: Vec<(u64, &str)> = out.problems.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned.iter().zip([3, 4]).all(|((line, m), want)| *line == want && m.starts_with("columns.price: \"price\" holds an object")), "{warned:?}");
}

/// A bare CR inside a JSON string ends a line as it does between tokens: a
/// CR-ended file's later records were named one line short (found by a
/// review).
#[test]
fn a_bare_cr_in_a_json_string_counts_as_a_line_end() {
    let json = b"{\"items\": [\r{\"name\": \"Two\rlines\", \"seller\": \"v\", \"price\": 1},\r{\"name\": \"bad\", \"seller\": \"v\", \"price\": -3}\r]}\r";
    let out = run(ITEMS_MAPPING, json);
    assert_eq!(out.listings[0].title, "Two\rlines");
    let rejected: Vec<u64> = out.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| p.line).collect();
    assert_eq!(rejected, [4], "{:?}", out.problems);
}

/// Bytes a JSON file's encoding cannot decode are warned of on their own
/// lines (CRLF and a bare CR counted as the readers count them), not at
/// "line 0" (found by a review).
#[test]
fn undecodable_bytes_are_warned_of_on_their_lines() {
    let json = b"{\"items\": [\r\n{\"name\": \"a\", \"seller\": \"v\", \"price\": 1},\r\n{\"name\": \"b\xff\", \"seller\": \"v\", \"price\": 1},\r{\"name\": \"c\", \"seller\": \"v\", \"price\": 1},\n{\"name\": \"d\xc3\", \"seller\": \"v\", \"price\": 1}\n]}";
    let out = run(ITEMS_MAPPING, json);
    assert_eq!((out.rows, out.imported), (4, 4));
    let warned: Vec<u64> = out.problems.iter().filter(|p| p.message.contains("U+FFFD")).map(|p| p.line).collect();
    assert_eq!(warned, [3, 5], "{:?}", out.problems);
    assert_eq!(out.listings[1].title, "b\u{fffd}");
}

/// A row with more or fewer fields than the header is imported by position
/// and warned of by line (nine fields under a six-field header came in with
/// no word, found by a review).
#[test]
fn rows_not_as_long_as_the_header_are_warned_of() {
    let csv = "item,seller,price,sold\nHaze,anna,10,1\nKush,anna,10,1,extra,more\nGlue,anna,10\n";
    let out = run(SHOP_MAPPING, csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (3, 3, 0), "{:?}", out.problems);
    let warned: Vec<(u64, &str)> = out.problems.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(warned, [(3, "6 fields, the header has 4: cells are read by position"), (4, "3 fields, the header has 4: cells are read by position")]);
}

/// A JSON file cut short keeps its whole records: the one it breaks inside
/// is rejected by line, and the break is warned of (every record was lost,
/// found by a review).
#[test]
fn a_json_file_cut_short_keeps_its_whole_records() {
    let whole = "{\"items\": [\n{\"name\": \"a\", \"seller\": \"v\", \"price\": 1},\n{\"name\": \"b\", \"seller\": \"v\", \"price\": 2},\n{\"name\": \"c\", \"seller\": {\"nick\": \"v\"}, \"price\": 3}\n]}";
    assert_eq!(run(ITEMS_MAPPING, whole.as_bytes()).imported, 2, "the third has no seller text");
    // Cut inside the third record's nested object, and inside the second's string.
    let cut = &whole[..whole.find("\"nick\": \"").unwrap() + 9];
    let out = run(ITEMS_MAPPING, cut.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (3, 2, 1), "{:?}", out.problems);
    assert!(out.problems.iter().any(|p| p.line == 4 && p.message.starts_with("not JSON from here on")), "{:?}", out.problems);
    assert!(out.problems.iter().any(|p| (p.line, p.row) == (4, Some(3)) && p.message.contains("cut off")), "{:?}", out.problems);
    let cut = &whole[..whole.find("\"b").unwrap() + 2];
    let out = run(ITEMS_MAPPING, cut.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (2, 1, 1), "{:?}", out.problems);
    assert_eq!(out.listings[0].title, "a");
    // Cut right after a whole record: nothing is rejected.
    let cut = &whole[..whole.find("},\n{\"name\": \"b").unwrap() + 1];
    let out = run(ITEMS_MAPPING, cut.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (1, 1, 0), "{:?}", out.problems);
    // Cut inside a member's name, or after it: the record is rejected, the
    // ones before kept (found by a review), in an array and in an object of
    // records.
    for cut in [&whole[..whole.find("\"price\": 2").unwrap() + 3], &whole[..whole.find("\"price\": 2").unwrap() + 7]] {
        let out = run(ITEMS_MAPPING, cut.as_bytes());
        assert_eq!((out.rows, out.imported, out.rejected), (2, 1, 1), "{cut:?}: {:?}", out.problems);
    }
    let by_key = "{\"items\": {\n\"a\": {\"name\": \"a\", \"seller\": \"v\", \"price\": 1},\n \"c";
    let out = run(ITEMS_MAPPING, by_key.as_bytes());
    assert_eq!((out.rows, out.imported), (1, 1), "{:?}", out.problems);
    // Not JSON from the start: the file is rejected whole, as before.
    let out = run(ITEMS_MAPPING, b"items: a, b");
    assert_eq!((out.rows, out.rejected), (0, 1));
}
