//! Agora 2014 importer over the real files in `shared/data/listings/agora-2014`
//! (read in place), plus small inline inputs for the error paths.
//!
//! Every expected number here was taken from the raw files independently of
//! the importer (Python's csv module, and reading the bytes).

use datasets::{detect, DatasetExtraction, DatasetFormat, Severity};
use model::Listing;

mod common;

fn run(name: &str, bytes: &[u8]) -> DatasetExtraction {
    common::parse_as(&DatasetFormat::Agora2014, name, bytes)
}

/// Detects and parses `listings/agora-2014/<file>`; `None` when the data is absent.
fn load(file: &str) -> Option<DatasetExtraction> {
    let bytes = common::read_shared(&format!("listings/agora-2014/{file}"))?;
    // Imported from elsewhere under the same name: detection must not need the folder.
    assert_eq!(detect(file, &bytes), Some(DatasetFormat::Agora2014), "{file}");
    assert_eq!(detect(&format!("/tmp/import/{file}"), &bytes), Some(DatasetFormat::Agora2014), "{file}");
    let out = run(file, &bytes);
    assert_eq!(out.format, "agora-2014");
    Some(out)
}

use common::rule;

fn find<'a>(out: &'a DatasetExtraction, id: &str) -> &'a Listing {
    out.listings.iter().find(|l| l.market_listing_id.as_deref() == Some(id)).unwrap_or_else(|| panic!("listing {id}"))
}

/// (file, rows, imported, rejected, feedback entries). The feedback of a row
/// rejected for its absurd price goes with it (by hand: 1, 1, 0, 7 + 0, 4 + 7,
/// 4 entries in the product files' nine such rows; 24 in all).
const FILES: [(&str, u64, u64, u64, usize); 16] = [
    ("arules__Ag2014-sscEdibles.csv", 4921, 4921, 0, 33102),
    ("arules__Ag2014-sscPrescription.csv", 4932, 4932, 0, 28790),
    ("arules__Ag2014-sscSeeds.csv", 1298, 1298, 0, 5819),
    ("arules__Ag2014-sscShakeTrim.csv", 244, 244, 0, 1862),
    ("arules__Ag2014-sscSynth.csv", 1356, 1356, 0, 5938),
    ("derived__p14c-ukFranchise.csv", 269, 269, 0, 1617),
    ("derived__products-2014-01--01fb-clean.csv", 1430, 1429, 1, 3183),
    ("product__products-2014-01.csv", 7986, 7984, 2, 3183),
    ("product__products-2014-02-01.csv", 8030, 8029, 1, 5993),
    ("product__products-2014-02-02.csv", 7606, 7604, 2, 6428),
    ("product__products-2014-03-01.csv", 5805, 5803, 2, 8482),
    ("product__products-2014-03-02.csv", 5751, 5750, 1, 7872),
    ("random-sample100_0e304b108eec01f26adc7c47458c926215ab993a.csv", 100, 100, 0, 245),
    ("random-sample100_6a9deae0d371050ddbc23dccbf990a2664233497.csv", 100, 100, 0, 207),
    ("vendor__vendorall_0114.csv", 8533, 8531, 2, 0),
    ("vendor__vendorall_0114_v2_with_description.csv", 8533, 8531, 2, 0),
];

/// The 17777.77777777 BTC row of 2014-03-01 (line 39160, a "not for sale"
/// price) is rejected with its 7 feedback entries, and says so: kept, a
/// showcase listing's entries counted again (found by a review).
#[test]
fn an_absurd_price_rejects_the_row_with_its_feedback() {
    let Some(out) = load("product__products-2014-03-01.csv") else { return };
    let p = out.problems.iter().find(|p| p.line == 39160).expect("a problem on line 39160");
    assert_eq!(p.severity, Severity::Rejected);
    assert!(p.message.contains("17777.77777777 BTC") && p.message.ends_with("; its 7 feedback entries are left out with it"), "{}", p.message);
    let from_line = |r: &str| r.ends_with(", line 39160");
    assert!(!out.listings.iter().any(|l| from_line(&l.provenance.as_ref().unwrap().rule)));
    assert_eq!(out.feedback.iter().filter(|f| from_line(&f.provenance.as_ref().unwrap().rule)).count(), 0);
}

#[test]
fn every_file_counts() {
    for (file, rows, imported, rejected, feedback) in FILES {
        let Some(out) = load(file) else { return };
        assert_eq!((out.rows, out.imported, out.rejected), (rows, imported, rejected), "{file}");
        assert_eq!(out.listings.len() as u64, imported, "{file}");
        assert_eq!(out.feedback.len(), feedback, "{file}");
        assert_eq!(out.market.as_deref(), Some("agora"), "{file}");
        assert_eq!(out.problems.iter().filter(|p| p.severity == Severity::Rejected).count() as u64, rejected, "{file}");
        for l in &out.listings {
            assert_eq!(l.market, "agora");
            let p = l.provenance.as_ref().expect("provenance");
            assert_eq!(p.profile, "dataset:agora-2014");
            assert!(p.rule.starts_with("row ") && p.rule.contains(", line "), "{}", p.rule);
            let d = l.observed_at.as_deref().expect("observed_at");
            assert!(d.len() == 10 && d.starts_with("2014-"), "{file}: {d}");
            assert!(!l.title.trim().is_empty() && l.vendor.as_deref().is_some_and(|v| v == v.trim() && !v.is_empty()));
            assert!(l.ships_to.iter().all(|t| !t.is_empty() && t != "NA" && t == t.trim()));
            assert!(l.ships_from.as_deref().is_none_or(|f| !f.is_empty() && f != "NA" && f == f.trim()));
            assert!(l.category.iter().all(|c| c != "NA"));
            if let Some(p) = &l.price {
                assert_eq!(p.currency, "BTC");
                assert_eq!(l.price_btc.as_deref(), Some(p.amount.as_str()));
                assert!(!p.amount.contains('e'), "{file}: {}", p.amount);
            }
        }
    }
}

/// Feedback handed over as it is read (what an import does) is the
/// feedback `parse` returns, in the same order; the extraction keeps none.
#[test]
fn feedback_handed_over_as_read_is_the_parsed_feedback() {
    let file = "product__products-2014-02-01.csv";
    let Some(bytes) = common::read_shared(&format!("listings/agora-2014/{file}")) else { return };
    let parsed = run(file, &bytes);
    let input = datasets::DatasetInput { bytes: &bytes, evidence: model::Sha256::of(&bytes), source: file };
    let mut handed = Vec::new();
    let kept = datasets::parse_with(&DatasetFormat::Agora2014, &input, &mut |f| handed.push(f.to_owned_record()));
    assert!(kept.feedback.is_empty());
    assert!(handed.len() > 1000, "{}", handed.len());
    assert_eq!(handed, parsed.feedback);
    assert_eq!(kept.listings, parsed.listings);
    // Listings handed over as read too: the parsed listings, in order, and
    // the extraction keeps none; the rest of it is the same.
    let (mut feedback, mut listings) = (Vec::new(), Vec::new());
    let streamed = datasets::parse_streaming(
        &DatasetFormat::Agora2014,
        &input,
        &mut |f| feedback.push(f.to_owned_record()),
        &mut |l| listings.push(l),
    );
    assert!(streamed.listings.is_empty() && streamed.feedback.is_empty());
    assert!(listings.len() > 1000, "{}", listings.len());
    assert_eq!((listings, feedback), (parsed.listings, parsed.feedback));
    assert_eq!((streamed.rows, streamed.imported, streamed.rejected, streamed.problems), (kept.rows, kept.imported, kept.rejected, kept.problems));
    assert_eq!((streamed.vendors, streamed.categories), (kept.vendors, kept.categories));
}

#[test]
fn february_product_file() {
    let Some(out) = load("product__products-2014-02-01.csv") else { return };
    // Row 1, line 2.
    let l = &out.listings[0];
    assert_eq!(l.market_listing_id.as_deref(), Some("a1BkWEipyk"));
    assert_eq!(l.title, "Secret of Methamphetamine Manufacture 8th Edition");
    assert_eq!(l.vendor.as_deref(), Some("passman"));
    assert_eq!(l.price.as_ref().map(|p| (p.amount.as_str(), p.currency.as_str())), Some(("0.00246813", "BTC")));
    assert_eq!(l.price_usd, None);
    assert_eq!(l.category, ["Information", "Guides"]); // subsubcat NA
    assert_eq!(l.observed_at.as_deref(), Some("2014-02-02"));
    assert_eq!((l.ships_from.as_deref(), l.ships_to.len()), (None, 0)); // " " and NA
    assert_eq!(rule(l), "row 1, line 2");
    // Listing counts per vendor and per category in the file.
    assert_eq!(out.listings.iter().filter(|l| l.vendor.as_deref() == Some("passman")).count(), 315);
    assert_eq!(out.listings.iter().filter(|l| l.vendor.as_deref() == Some("fake")).count(), 696);
    assert_eq!(out.listings.iter().filter(|l| l.category.first().map(String::as_str) == Some("Drugs")).count(), 5366); // 5367 rows, one rejected
    // Row 4: " From: USA To: USA ", `to` NA.
    let l = &out.listings[3];
    assert_eq!(l.title, "Test Enanthate 300mg x 10ml");
    assert_eq!((l.ships_from.as_deref(), l.ships_to.clone()), (Some("USA"), vec!["USA".to_owned()]));
    assert_eq!(rule(l), "row 4, line 14");
    // Row 321: price written 9.263e-05, kept as exact decimal text.
    let l = &out.listings[320];
    assert_eq!((l.vendor.as_deref(), l.title.as_str()), (Some("sanosan"), "Custom listing 001"));
    assert_eq!(l.price_btc.as_deref(), Some("0.00009263"));
    assert_eq!(rule(l), "row 321, line 3620");
    // Row 13 (a4aV6P8nWl, "MDMA (10g)") has 8 feedback entries.
    let fb: Vec<_> = out.feedback.iter().filter(|f| f.provenance.as_ref().is_some_and(|p| p.rule == "row 13, line 51")).collect();
    assert_eq!(fb.len(), 8);
    assert!(fb.iter().all(|f| f.listing.as_deref() == Some("MDMA (10g)") && f.market == "agora"));
    assert_eq!(fb[0].text.as_deref(), Some("FE early, no problem - GFN came through like a champ on the last order!"));
    assert_eq!(fb[0].date.as_deref(), Some("1 days ago"));
    assert_eq!(fb[0].buyer.as_deref(), Some("anon [0 deals]"));
    // A multi-line text keeps its inner line breaks; the 5/5 inside it is text.
    assert_eq!(fb[1].rating.as_deref(), Some("5/5"));
    assert_eq!(fb[1].text.as_deref(), Some("5/5\narrived in 2 days\nweight is perfect\nlooks great"));
    assert_eq!(fb[3].text.as_deref(), Some("Came in, great stuff, tested black and everyone in the club liked it"));
    assert_eq!(fb[3].date.as_deref(), Some("6 days ago"));
    assert_eq!(fb[3].buyer.as_deref(), Some("anon ~5/5, 1~2 deals")); // NBSP in the page text
    assert_eq!(fb[7].buyer.as_deref(), Some("anon ~5/5, 3~5 deals"));
    assert_eq!(fb[0].observed_at.as_deref(), Some("2014-02-02"));
    assert_eq!(fb[0].vendor, find(&out, "a4aV6P8nWl").vendor);
    // The absurd placeholder price is rejected by line.
    let p = out.problems.iter().find(|p| p.severity == Severity::Rejected).expect("one rejection");
    assert_eq!((p.line, p.row), (7028, Some(604)));
    assert!(p.message.contains("1230.76923076"), "{}", p.message);
}

#[test]
fn january_file_crlf_and_bare_cr() {
    let Some(out) = load("product__products-2014-01.csv") else { return };
    let l = find(&out, "ABnFuNDr6M");
    assert_eq!((l.title.as_str(), l.vendor.as_deref()), ("Carding Setup (TorBrowser) Tutorial", Some("passman")));
    assert_eq!(l.price_btc.as_deref(), Some("0.02001334"));
    assert_eq!(rule(l), "row 6, line 37");
    let fb: Vec<_> = out.feedback.iter().filter(|f| f.provenance.as_ref().is_some_and(|p| p.rule == "row 6, line 37")).collect();
    assert_eq!(fb.len(), 1);
    assert_eq!(fb[0].text.as_deref(), Some("superb communication and fast delivery. best in the game!"));
    assert_eq!((fb[0].rating.as_deref(), fb[0].date.as_deref()), (Some("5/5"), Some("5 days ago")));
    assert_eq!(out.listings.iter().filter(|l| l.vendor.as_deref() == Some("fake")).count(), 396);
    assert_eq!(out.listings.iter().filter(|l| l.category.get(..2) == Some(&["Drugs".into(), "Cannabis".into()])).count(), 1499); // 1500 rows, one rejected (6239.70448759 BTC)
    // Two bare CRs earlier in the file: the rejected row still names its physical line.
    let lines: Vec<_> = out.problems.iter().filter(|p| p.severity == datasets::Severity::Rejected).map(|p| (p.line, p.row)).collect();
    assert_eq!(lines, [(8771, Some(1040)), (79327, Some(7185))]);
    // Three rows give the vendor as a profile path (`/user/dopa`; lines found with
    // Python splitting on CR, LF and CRLF): read as the name, with a warning.
    let paths: Vec<_> = out.problems.iter().filter(|p| p.message.contains("profile path")).map(|p| p.line).collect();
    assert_eq!(paths, [10293, 25910, 53409]);
    assert!(out.listings.iter().all(|l| !l.vendor.as_deref().unwrap_or("").starts_with("/user/")));
    let last = out.listings.last().expect("listings");
    assert_eq!(rule(last), "row 7986, line 90566");
}

#[test]
fn march_file_without_subsubcat() {
    let Some(out) = load("product__products-2014-03-01.csv") else { return };
    let l = &out.listings[0];
    assert_eq!(l.market_listing_id.as_deref(), Some("A0bC8emoRv"));
    assert_eq!((l.title.as_str(), l.vendor.as_deref()), ("5G Mdma Crystal", Some("PureDrugs")));
    assert_eq!(l.category, ["Drugs", "Ecstasy"]);
    assert_eq!(l.price_btc.as_deref(), Some("0.23642732"));
    assert!(out.listings.iter().all(|l| l.category.len() <= 2));
    assert!(out.problems.iter().any(|p| p.message.contains("17777.77777777") && p.line == 39160 && p.row == Some(1787)));
}

#[test]
fn derived_arules_vendor_and_sample_files() {
    if let Some(out) = load("derived__p14c-ukFranchise.csv") {
        let l = &out.listings[0];
        assert_eq!(l.vendor.as_deref(), Some("the_real_caliconnect"));
        assert_eq!(l.price_btc.as_deref(), Some("2.45092032"));
        // The dataset's conversion on the crawl day is not the market's price.
        assert_eq!(l.price_usd, None);
        assert_eq!(out.problems.iter().filter(|p| p.line == 0 && p.message.contains("usd column is the dataset's own conversion")).count(), 1);
        assert_eq!(l.category, ["Drugs", "Cannabis", "Weed"]);
        assert_eq!(l.observed_at.as_deref(), Some("2014-10-14"));
        assert_eq!(l.ships_from.as_deref(), Some("uk, usa& worldwide"));
        assert!(l.ships_to.is_empty()); // "no info"
        assert!(out.listings.iter().all(|l| l.price_usd.is_none()));
    }
    if let Some(out) = load("arules__Ag2014-sscEdibles.csv") {
        let l = &out.listings[0];
        assert_eq!(l.market_listing_id.as_deref(), Some("JgdUTga"));
        assert_eq!(l.vendor.as_deref(), Some("coasttocoast"));
        assert_eq!(l.price, None); // a price bin, not a price
        assert_eq!((l.ships_from.as_deref(), l.ships_to.clone()), (Some("USA"), vec!["USA".to_owned()]));
        assert!(out.listings.iter().all(|l| l.price.is_none()));
        let f = &out.feedback[0];
        assert_eq!((f.rating.as_deref(), f.date.as_deref(), f.buyer.as_deref()), (Some("4/5"), Some("0 days ago"), Some("anon [0 deals]")));
        assert_eq!(
            f.text.as_deref(),
            Some("Very fast, with great shipping, but disappointed with the potency. Still good regardless.")
        );
        assert_eq!(out.problems.iter().filter(|p| p.line == 0 && p.severity == Severity::Warning).count(), 1);
    }
    if let Some(out) = load("vendor__vendorall_0114.csv") {
        let l = &out.listings[1];
        assert_eq!(l.vendor.as_deref(), Some("3dames"));
        assert!(l.title.starts_with("Tramadol 50 mg x 100 (USA ONLY SPECIAL  FREE SHIP)"));
        assert_eq!(l.price_btc.as_deref(), Some("0.0638918"));
        assert_eq!((l.ships_from.as_deref(), l.ships_to.clone()), (Some("undeclared"), vec!["USA".to_owned()]));
        assert_eq!((l.market_listing_id.as_deref(), l.category.len()), (None, 0));
        assert_eq!(rule(l), "row 2, line 3");
        // By hand (Python's csv module): 156 rows "Hong","Kong", 15 "South","Africa",
        // 7 "Czech","Republic", 6 "United","States", 1 "U","S": one place split
        // in two, read as the origin, no destination.
        let joined: Vec<&str> = out.listings.iter().filter_map(|l| l.ships_from.as_deref().filter(|f| f.contains(' '))).collect();
        let count = |place: &str| joined.iter().filter(|&&f| f == place).count();
        assert_eq!(
            [count("Hong Kong"), count("South Africa"), count("Czech Republic"), count("United States"), count("U S")],
            [156, 15, 7, 6, 1]
        );
        assert_eq!(joined.len(), 185, "{joined:?}");
        let split = |l: &&model::Listing| l.ships_from.as_deref().is_some_and(|f| f.contains(' '));
        assert!(out.listings.iter().filter(split).all(|l| l.ships_to.is_empty()));
        let noted = out.problems.iter().filter(|p| p.message.contains("one place split in two")).count();
        assert_eq!(noted, 185);
        // "Pacific","Palisades" names no country: as shown.
        assert!(out.listings.iter().any(|l| l.ships_from.as_deref() == Some("Pacific") && l.ships_to == ["Palisades"]));
    }
    if let Some(out) = load("random-sample100_6a9deae0d371050ddbc23dccbf990a2664233497.csv") {
        let l = find(&out, "EkixqB5Na0");
        assert_eq!((l.vendor.as_deref(), l.title.as_str()), (Some("MjJo"), "2g High Quality Weed"));
        assert_eq!((l.price_btc.as_deref(), l.price_usd.as_deref()), (Some("0.09504537"), None));
        assert_eq!((l.ships_from.as_deref(), l.ships_to.clone()), (Some("germany"), vec!["eu".to_owned()]));
    }
    if let Some(out) = load("arules__Ag2014-sscPrescription.csv") {
        // The crawl cut two feedback boxes short: the last entries are kept, with a warning.
        let cut: Vec<_> = out.problems.iter().filter(|p| p.message.contains("cut off")).map(|p| (p.line, p.row)).collect();
        assert_eq!(cut, [(2470, Some(2107)), (3713, Some(3284))]);
    }
}

const HEADER: &str = "\"list\",\"date\",\"vendor\",\"product\",\"price\",\"cat\",\"subcat\",\"subsubcat\",\"feedback\",\"from\",\"to\"\n";

#[test]
fn bad_rows_are_reported_by_line_and_the_rest_imported() {
    let mut csv = HEADER.to_owned();
    csv += "\"2014-02-02__aaa.html\",\"2014-02-02\",\"v1\",\"Good one\",0.5,\"Drugs\",NA,NA,\" Feedbacks: 5/5 ok 1 days ago anon [0 deals] \",\" USA \",\"EU, UK \"\n"; // line 2
    csv += "\"2014-02-02__bbb.html\",\"2014-02-02\",\"v2\",\"Negative\",-0.5,\"Drugs\",NA,NA,NA,NA,NA\n"; // line 3
    csv += "\"2014-02-02__ccc.html\",\"2014-02-02\",\"   \",\"No vendor\",0.5,\"Drugs\",NA,NA,NA,NA,NA\n"; // line 4
    csv += "\"2014-02-02__ddd.html\",\"2014-02-02\",\"v4\",\"Absurd\",25000,\"Drugs\",NA,NA,NA,NA,NA\n"; // line 5
    csv += "\"2014-02-02__eee.html\",\"2014-02-02\",\"v5\",\"Too few\",0.5\n"; // line 6
    csv += "\"2014-02-02__fff.html\",\"2014-02-02\",\"v6\",\"Bad price\",\"abc\",\"Drugs\",NA,NA,NA,NA,NA\n"; // line 7
    csv += "\"2014-02-02__ggg.html\",\"2014-02-31\",\"v7\",\"Bad date\",0.5,\"Drugs\",NA,NA,NA,NA,NA\n"; // line 8
    csv += "\"2014-02-02__hhh.html\",\"2014-02-03\",\" v8 \",\"Last\",\"1e-07\",\"Drugs\",NA,NA,NA,NA,NA\n"; // line 9
    csv += "\"2014-02-02__iii.html\",\"2014-02-03\",\"v9\",\"Unclosed title,0.5,NA\n"; // line 10: the quote never closes
    let out = run("x.csv", csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (9, 2, 7));
    let rejected: Vec<u64> = out.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| p.line).collect();
    assert_eq!(rejected, [3, 4, 5, 6, 7, 8, 10]);
    let msg = |line| out.problems.iter().find(|p| p.line == line).map(|p| p.message.clone()).unwrap_or_default();
    assert!(msg(3).contains("negative"), "{}", msg(3));
    assert!(msg(4).contains("vendor"), "{}", msg(4));
    assert!(msg(5).contains("absurd"), "{}", msg(5));
    assert!(msg(6).contains("fields"), "{}", msg(6));
    assert!(msg(7).contains("price"), "{}", msg(7));
    assert!(msg(8).contains("date"), "{}", msg(8));
    assert_eq!(out.listings[0].ships_to, ["EU", "UK"]);
    assert_eq!(out.listings[0].category, ["Drugs"]);
    assert_eq!(out.feedback.len(), 1);
    assert_eq!(out.listings[1].vendor.as_deref(), Some("v8"));
    assert_eq!(out.listings[1].price_btc.as_deref(), Some("0.0000001"));
    assert_eq!(rule(&out.listings[1]), "row 8, line 9");
}

/// Only a bracketed pair is a price bin: "(0.5)" is an unparsable price,
/// rejected by line (it lost its price in silence, and the file was said to
/// hold no prices).
#[test]
fn a_bracketed_price_is_no_bin() {
    let row = |price: &str| format!("\"2014-02-02__aaa.html\",\"2014-02-02\",\"v1\",\"T\",\"{price}\",\"Drugs\",NA,NA,NA,NA,NA\n");
    let out = run("x.csv", format!("{HEADER}{}{}", row("(0.5)"), row("0.25")).as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (2, 1, 1), "{:?}", out.problems);
    assert!(out.problems.iter().any(|p| p.line == 2 && p.message.contains("unparsable price")), "{:?}", out.problems);
    assert!(!out.problems.iter().any(|p| p.message.contains("price bins")), "{:?}", out.problems);
    let bins = run("x.csv", format!("{HEADER}{}", row("(0.1,0.5]")).as_bytes());
    assert_eq!((bins.imported, bins.listings[0].price_btc.as_deref()), (1, None));
    assert!(bins.problems.iter().any(|p| p.message.contains("price bins")), "{:?}", bins.problems);
}

/// A stray quote in a title ("Se"cret") of a record whose feedback spans
/// lines rejects that record once; the rest of its lines are not read as
/// rows (2 records had counted as "5 rows, 1 imported, 4 rejected").
#[test]
fn a_stray_quote_rejects_its_record_once() {
    let mut csv = HEADER.to_owned();
    csv += "\"2014-02-02__aaa.html\",\"2014-02-02\",\"v1\",\"Se\"cret\",0.5,\"Drugs\",NA,NA,\" Feedbacks:\n5/5 ok 1 days ago anon\n[0 deals] \",\" USA \",\"EU\"\n"; // line 2
    csv += "\"2014-02-02__bbb.html\",\"2014-02-02\",\"v2\",\"Fine\",0.5,\"Drugs\",NA,NA,NA,NA,NA\n"; // line 5
    let out = run("x.csv", csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (2, 1, 1), "{:?}", out.problems);
    assert_eq!(out.listings[0].title, "Fine");
    assert_eq!(rule(&out.listings[0]), "row 2, line 5");
}

/// A date no market could show (1970, after 2100) rejects its row, as an
/// unparsable one does; 1970-01-01 had been imported and its feedback
/// counted (found by a review).
#[test]
fn impossible_dates_reject_their_rows() {
    let mut csv = HEADER.to_owned();
    for date in ["1970-01-01", "2101-01-01", "2014-02-03"] {
        csv += &format!("\"2014-02-02__aaa.html\",\"{date}\",\"v1\",\"T\",0.5,\"Drugs\",NA,NA,NA,NA,NA\n");
    }
    let out = run("x.csv", csv.as_bytes());
    assert_eq!((out.rows, out.imported, out.rejected), (3, 1, 2));
    let rejected: Vec<(u64, bool)> = out.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| (p.line, p.message.contains("no possible day"))).collect();
    assert_eq!(rejected, [(2, true), (3, true)]);
}

#[test]
fn odd_bytes_never_panic() {
    for bytes in [
        &b""[..],
        b"\"list\"",
        b"\"list\",\"date\",\"vendor\",\"product\",\"price\"\n\xff\xfe,\"\n\"\"",
        HEADER.as_bytes(),
        b"\"date\",\"vendor\",\"name\",\"price\",\"from\",\"to\"\n,,,,,\n\"2014-01-02\",\"v\",\"t\",\"1e-99999\",NA,NA\n",
    ] {
        let out = run("vendor__vendorall_0114.csv", bytes);
        assert_eq!(out.imported, 0);
        assert_eq!(out.rows, out.rejected);
    }
    // A row without its date in a vendorall file takes the documented month.
    let out = run("vendor__vendorall_0114.csv", b"\"date\",\"vendor\",\"name\",\"price\",\"from\",\"to\"\nNA,\"v\",\"t\",0.1,NA,NA\n");
    assert_eq!(out.listings[0].observed_at.as_deref(), Some("2014-01-01"));
}

#[test]
fn detection() {
    let head = HEADER.as_bytes();
    assert_eq!(detect("anything.csv", head), Some(DatasetFormat::Agora2014));
    assert_eq!(
        detect("v.csv", b"\"date\",\"vendor\",\"name\",\"price\",\"from\",\"to\"\n\"2014-01-01\""),
        Some(DatasetFormat::Agora2014)
    );
    // Not Agora: other formats and pages.
    for (name, bytes) in [
        ("product__products-2014-01.csv", &b"<!DOCTYPE html><html><head><title>Agora</title>"[..]),
        ("agora.csv", b"\"2016-12-11 10:00:00\", \"123\", \"x\"\n"),
        ("agora.csv", b",product_title,ships_from_to,grams,quality,btc_price\n"),
        ("agora.json", b"[{\"_id\": 1}]"),
        ("agora.csv", b"\"date\",\"vendor\",\"name\",\"price\",\"from\",\"to\",\"extra\"\n"),
    ] {
        assert_ne!(detect(name, bytes), Some(DatasetFormat::Agora2014), "{bytes:?}");
    }
}
