//! White House Market 2021-05-23 (`whitehouse-2021`) against the real file,
//! read in place. Expected values come from the raw file via Python's json
//! module (lines by searching for the `"<n>": {` member lines), not from this
//! importer.

use datasets::{detect, parse, DatasetExtraction, DatasetFormat, DatasetInput, Severity};
use model::{Listing, Sha256};

const REL: &str = "listings/whitehouse-2021/whm_23-05-2021.json";
const SOURCE: &str = "whitehouse-2021/whm_23-05-2021.json";

mod common;
use common::money;

fn load() -> Option<(Vec<u8>, DatasetExtraction)> {
    common::load_as(&DatasetFormat::WhiteHouse2021, REL, SOURCE)
}


#[test]
fn counts_and_detect() {
    let Some((bytes, out)) = load() else { return };
    assert_eq!(detect(SOURCE, &bytes), Some(DatasetFormat::WhiteHouse2021));
    assert_eq!(out.format, "whitehouse-2021");
    assert_eq!(out.market.as_deref(), Some("whitehouse"));
    // 606 products + 3 vendors + 68 categories; the 34 crawl-log pages are not rows.
    assert_eq!((out.rows, out.imported, out.rejected), (677, 677, 0));
    assert_eq!((out.listings.len(), out.vendors.len(), out.categories.len()), (606, 3, 68));
    // The three sales ranges are the only warnings.
    assert_eq!(out.problems.len(), 3, "{:?}", out.problems);
    assert!(out.problems.iter().all(|p| p.severity == Severity::Warning && p.message.contains("lower bound")));
}

#[test]
fn hand_checked_values() {
    let Some((bytes, out)) = load() else { return };
    let l = &out.listings[0];
    assert_eq!(l.market, "whitehouse");
    assert_eq!(l.market_listing_id.as_deref(), Some("102520"));
    assert_eq!(l.title, "Etizolam (Like Xanax) Solution, 50 doses, 50mL 2mg/mL");
    assert_eq!(l.vendor.as_deref(), Some("goldenslash"));
    assert_eq!(l.category, ["Benzos", "Other"]);
    assert_eq!(l.price, money("50", "USD"));
    assert_eq!(l.price_usd.as_deref(), Some("50"));
    assert_eq!(l.ships_from.as_deref(), Some("United States"));
    assert_eq!(l.ships_to, ["Worldwide"]);
    assert_eq!(l.observed_at.as_deref(), Some("2021-05-23"));
    let p = l.provenance.as_ref().unwrap();
    assert_eq!(p.rule, "row 1, line 150");
    assert_eq!(p.profile, "dataset:whitehouse-2021");
    assert_eq!(p.evidence, Sha256::of(&bytes));
    // EUR: no USD price is invented.
    let l = &out.listings[1];
    assert_eq!(l.price, money("25", "EUR"));
    assert_eq!(l.price_usd, None);
    assert_eq!(l.vendor.as_deref(), Some("medicalking007"));
    assert_eq!(l.ships_from.as_deref(), Some("European Union"));
    assert_eq!(l.provenance.as_ref().unwrap().rule, "row 2, line 159");
    // Row 96 (key "95"): the largest price.
    let l = &out.listings[95];
    assert_eq!(l.price, money("260000", "AUD"));
    assert_eq!(l.vendor.as_deref(), Some("auspride"));
    // Last product.
    let l = &out.listings[605];
    assert_eq!(l.provenance.as_ref().unwrap().rule, "row 606, line 5595");
    assert_eq!(l.category, ["Opioids", "Heroin"]);
    assert_eq!(l.price, money("280", "AUD"));

    let count = |f: &dyn Fn(&Listing) -> bool| out.listings.iter().filter(|l| f(l)).count();
    assert_eq!(count(&|l| l.vendor.as_deref() == Some("amsterdamexpress")), 28);
    assert_eq!(count(&|l| l.vendor.as_deref() == Some("alibabafrance")), 9);
    assert_eq!(count(&|l| l.price.as_ref().unwrap().currency == "EUR"), 297);
    assert_eq!(count(&|l| l.price.as_ref().unwrap().currency == "GBP"), 96);
    assert_eq!(count(&|l| l.price_usd.is_some()), 139);
    assert_eq!(count(&|l| l.ships_to == ["Worldwide"]), 294);
    assert_eq!(count(&|l| l.category == ["Opioids", "Heroin"]), 518);

    // Vendors.
    let v = &out.vendors[0];
    assert_eq!(v.name, "alibabafrance");
    assert_eq!(v.registered.as_deref(), Some("December 2019"));
    assert_eq!(v.sales, Some(520));
    assert_eq!(v.pgp_fingerprint.as_deref(), Some("7F08B21E1E676912C8E706B748C267C1D9B21F36"));
    assert_eq!(v.provenance.as_ref().unwrap().rule, "row 1, line 5611");
    assert_eq!(v.observed_at.as_deref(), Some("2021-05-23"));
    assert_eq!(out.vendors[1].name, "1hero");
    assert_eq!(out.vendors[1].sales, Some(1090));
    assert_eq!(out.vendors[1].pgp_fingerprint.as_deref(), Some("AE5909FD308DF6CA215AA061A9B88B315B7F20AF"));
    assert_eq!(out.vendors[2].pgp_fingerprint.as_deref(), Some("321023A25439A81C1A912FA09030C8E3181217D9"));
    assert_eq!(out.vendors[2].provenance.as_ref().unwrap().rule, "row 3, line 5627");
    assert!(out.problems.iter().any(|p| p.line == 5619 && p.message.contains("1090 - 1100")));

    // Categories.
    let c = &out.categories[0];
    assert_eq!((c.name.as_str(), c.count), ("Benzos - Other", Some(61)));
    assert_eq!(c.market, "whitehouse");
    assert_eq!(c.provenance.as_ref().unwrap().rule, "row 1, line 5642");
    let c = &out.categories[67];
    assert_eq!((c.name.as_str(), c.count), ("Weight Loss", Some(40)));
    assert_eq!(c.provenance.as_ref().unwrap().rule, "row 68, line 5977");
    let heroin = out.categories.iter().find(|c| c.name == "Opioids - Heroin").unwrap();
    assert_eq!(heroin.count, Some(827));
    assert_eq!(out.categories.iter().map(|c| c.count.unwrap()).sum::<u64>(), 33716);
}

fn inline(text: &str, source: &str) -> DatasetExtraction {
    let input = DatasetInput { bytes: text.as_bytes(), evidence: Sha256::of(text.as_bytes()), source };
    parse(&DatasetFormat::WhiteHouse2021, &input)
}

#[test]
fn bad_records_are_rejected_by_line_and_the_rest_imported() {
    let text = r#"[
 {"name": "products", "values": {
  "0": {"title": "good", "vendor": "v", "price": "GBP 1,200", "category": "A - B", "shipsTo": "X, Y"},
  "1": {"title": "unknown currency", "vendor": "v", "price": "JPY 5"},
  "2": {"title": "negative", "vendor": "v", "price": "USD -5"},
  "3": {"title": "absurd", "vendor": "v", "price": "USD 2000000"},
  "4": {"title": "no vendor", "vendor": "  ", "price": "USD 5"},
  "5": "not an object",
  "6": {"title": "good two", "vendor": "w", "price": "USD 7.50"}
 }},
 {"name": "vendors", "values": {"0": {"username": "v", "sales": "12", "fingerprint": "7f08 b21e 1e67 6912 c8e7  06b7 48c2 67c1 d9b2 1f36"},
   "1": {"sales": "1"}}},
 {"name": "other", "values": {}}
]"#;
    let out = inline(text, "whm_30-05-2021.json");
    assert_eq!((out.rows, out.imported, out.rejected), (9, 3, 6));
    let rejected: Vec<(u64, &str)> = out
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Rejected)
        .map(|p| (p.line, p.message.as_str()))
        .collect();
    assert_eq!(rejected.iter().map(|r| r.0).collect::<Vec<_>>(), [4, 5, 6, 7, 8, 12], "{rejected:?}");
    assert!(rejected[0].1.contains("unknown currency \"JPY\""));
    assert!(rejected[1].1.contains("negative"));
    assert!(rejected[2].1.contains("absurd"));
    assert!(rejected[3].1.contains("without vendor"));
    assert_eq!(out.listings[0].price, money("1200", "GBP"));
    assert_eq!(out.listings[0].category, ["A", "B"]);
    assert_eq!(out.listings[0].ships_to, ["X", "Y"]);
    assert_eq!(out.listings[0].observed_at.as_deref(), Some("2021-05-30"), "date from the file name");
    assert_eq!(out.listings[1].provenance.as_ref().unwrap().rule, "row 7, line 9");
    assert_eq!(out.vendors[0].pgp_fingerprint.as_deref(), Some("7F08B21E1E676912C8E706B748C267C1D9B21F36"));
    assert_eq!(out.vendors[0].sales, Some(12));
    assert!(out.problems.iter().any(|p| p.line == 13 && p.message.contains("unknown document")));

    // Broken JSON: one problem naming the line.
    let out = inline("[\n{\"name\": \"products\",\n \"values\": {\"0\": {\"title\": }}}]", "x.json");
    let rejected: Vec<_> = out.problems.iter().filter(|p| p.severity == Severity::Rejected).collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].line, 3);
    // No date in the name: the known crawl date, with a warning.
    assert!(out.problems.iter().any(|p| p.severity == Severity::Warning && p.message.contains("2021-05-23")));
    assert_eq!(out.imported, 0);
}

/// The real file cut in the middle of its products keeps the products
/// before the cut (every record was lost, found by a review): each whole
/// product up to the cut is the one the whole file gives.
#[test]
fn a_file_cut_short_keeps_the_products_before_the_cut() {
    let Some((bytes, whole)) = load() else { return };
    let cut = &bytes[..bytes.len() / 2];
    let out = parse(&DatasetFormat::WhiteHouse2021, &DatasetInput { bytes: cut, evidence: Sha256::of(cut), source: SOURCE });
    assert!(!out.listings.is_empty() && out.listings.len() < whole.listings.len(), "{} of {}", out.listings.len(), whole.listings.len());
    assert!(out.rejected <= 1, "{:?}", out.problems);
    assert!(out.problems.iter().any(|p| p.message.starts_with("not JSON from here on")), "{:?}", out.problems);
    let titles = |l: &[Listing]| l.iter().map(|l| l.title.clone()).collect::<Vec<_>>();
    assert_eq!(titles(&out.listings), titles(&whole.listings[..out.listings.len()]));
    // Cut just before a product's member name: the 300 before are kept (all
    // were lost, found by a review).
    let at = bytes.windows(8).position(|w| w == b"\"300\": {").expect("product 300");
    let at = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(at, |n| n + 1);
    let cut = &bytes[..at];
    let out = parse(&DatasetFormat::WhiteHouse2021, &DatasetInput { bytes: cut, evidence: Sha256::of(cut), source: SOURCE });
    assert_eq!(out.listings.len(), 300, "{:?}", out.problems);
    assert_eq!(titles(&out.listings), titles(&whole.listings[..300]));
}
