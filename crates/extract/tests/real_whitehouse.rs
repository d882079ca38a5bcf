//! The White House Market profile against the real captures in `shared/data`
//! (read in place, never copied). Every White House page (listing grids of
//! 2020-09-17) must be claimed by the profile as a search page; per-page
//! record counts and single facts read from the pages by hand must come out
//! exactly; the scraper's own account in the header (`displaybook`) must never
//! become a vendor.
//!
//! Prices: each row shows the price in the currency the vendor set (bold:
//! USD, EUR, GBP, AUD or CAD) and that price converted into the other four.
//! The record keeps the set price as shown, and `price_usd` from the USD
//! figure shown (the set price itself or the `$` conversion).

mod common;

use std::path::Path;

use extract::PageExtraction;
use model::PageType;

const MARKET: &str = "whitehouse";
const DIR: &str = "whitehouse/2020-09-17";
/// 36 pages: page0 to page36 without page3 (an empty capture dropped upstream).
const PAGE_COUNT: usize = 36;
/// The scraper account shown in every page header.
const SCRAPER_ACCOUNT: &str = "displaybook";

/// (page, listings, categories). A grid holds 40 rows. page0 was saved cut
/// off before the results; page36 is cut off inside its 14th row, so 13 rows
/// are whole. The category menu (109 entries without the "All" totals) is on
/// every page.
const COUNTS: &[(&str, usize, usize)] = &[
    ("page0.html", 0, 109),
    ("page1.html", 40, 109),
    ("page10.html", 40, 109),
    ("page12.html", 40, 109),
    ("page4.html", 40, 109),
    ("page36.html", 13, 109),
];

/// (page, JSON pointer into the page's records, expected JSON value).
/// A pointer ending in `/len` names the length of the array before it.
const FACTS: &[(&str, &str, &str)] = &[
    // a USD listing
    ("page1.html", "/listings/0/market_listing_id", r#""113689""#),
    ("page1.html", "/listings/0/title", r#""25 x Mad Hatter LSD Tab 125ug""#),
    ("page1.html", "/listings/0/vendor", r#""thecheshirecat""#),
    ("page1.html", "/listings/0/category", r#"["Psychedelics","LSD"]"#),
    ("page1.html", "/listings/0/stock", r#""In stock""#),
    ("page1.html", "/listings/0/price", r#"{"amount":"105","currency":"USD"}"#),
    ("page1.html", "/listings/0/price_usd", r#""105""#),
    ("page1.html", "/listings/0/ships_from", r#""United Kingdom""#),
    ("page1.html", "/listings/0/ships_to", r#"["Worldwide"]"#),
    ("page1.html", "/listings/0/url", r#""welcome?action=show&listing=113689""#),
    // EUR listings: USD from the conversion shown beside them
    ("page1.html", "/listings/1/price", r#"{"amount":"1","currency":"EUR"}"#),
    ("page1.html", "/listings/1/price_usd", r#""1.17""#),
    ("page1.html", "/listings/1/ships_from", r#""European Union""#),
    ("page1.html", "/listings/11/stock", r#""Low stock""#),
    ("page1.html", "/listings/11/price", r#"{"amount":"50","currency":"EUR"}"#),
    ("page1.html", "/listings/11/price_usd", r#""58.95""#),
    ("page1.html", "/listings/11/ships_to", r#"["Ireland"]"#),
    ("page1.html", "/listings/12/vendor", r#""calikingsxpress""#),
    ("page1.html", "/listings/12/ships_to", r#"["United States"]"#),
    ("page1.html", "/listings/39/title", r#""Troparil 5 grams""#),
    // AUD and CAD listings
    ("page10.html", "/listings/9/vendor", r#""ozbabe""#),
    ("page10.html", "/listings/9/price", r#"{"amount":"399","currency":"AUD"}"#),
    ("page10.html", "/listings/9/price_usd", r#""289.13""#),
    ("page10.html", "/listings/9/ships_from", r#""Australia""#),
    ("page10.html", "/listings/12/price", r#"{"amount":"50","currency":"CAD"}"#),
    ("page10.html", "/listings/12/price_usd", r#""37.81""#),
    ("page10.html", "/listings/0/category", r#"["SSN / DOB / Other PII"]"#),
    ("page10.html", "/listings/0/ships_from", r#""Digital / Service""#),
    ("page10.html", "/listings/39/price", r#"{"amount":"70","currency":"GBP"}"#),
    ("page12.html", "/listings/9/stock", r#""Out of stock""#),
    ("page12.html", "/listings/9/vendor", r#""badbauk""#),
    ("page12.html", "/listings/13/category", r#"["Prescription Drugs","Stimulants"]"#),
    ("page12.html", "/listings/13/price", r#"{"amount":"175","currency":"CAD"}"#),
    ("page4.html", "/listings/14/price", r#"{"amount":"7400","currency":"EUR"}"#),
    ("page4.html", "/listings/14/price_usd", r#""8695.51""#),
    ("page4.html", "/listings/14/ships_from", r#""Germany""#),
    ("page36.html", "/listings/0/price", r#"{"amount":"2400","currency":"GBP"}"#),
    ("page36.html", "/listings/0/price_usd", r#""3096.43""#),
    ("page36.html", "/listings/8/price", r#"{"amount":"1240","currency":"AUD"}"#),
    ("page36.html", "/listings/8/vendor", r#""sierrafoxtrot""#),
    ("page36.html", "/listings/12/market_listing_id", r#""69241""#),
    // the category menu
    ("page1.html", "/categories/0/name", r#""Drugs""#),
    ("page1.html", "/categories/0/count", "15546"),
    ("page1.html", "/categories/0/link", r#""welcome?c=1""#),
    ("page1.html", "/categories/1/name", r#""Benzos - Other""#),
    ("page1.html", "/categories/1/count", "58"),
    ("page1.html", "/categories/2/count", "1227"),
    ("page0.html", "/categories/0/count", "15552"),
    ("page0.html", "/categories/2/count", "1223"),
    // Grids show no sales.
    ("page1.html", "/listings/0/sold", "null"),
];
/// Every file of the market's folder, relative to the pages directory.
fn all_pages(pages: &Path) -> Vec<String> {
    let dir = pages.join(DIR);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{DIR}/{n}")).collect()
}

/// The page's records as JSON, so facts can name any field by pointer.
fn records_json(out: &PageExtraction) -> serde_json::Value {
    serde_json::json!({
        "listings": out.listings,
        "vendors": out.vendors,
        "feedback": out.feedback,
        "categories": out.categories,
    })
}

fn lookup(records: &serde_json::Value, pointer: &str) -> Option<serde_json::Value> {
    match pointer.strip_suffix("/len") {
        Some(array) => records.pointer(array)?.as_array().map(|a| a.len().into()),
        None => records.pointer(pointer).cloned(),
    }
}

fn check_page(pages: &Path, rel: &str, want: PageType) {
    let out = common::extract_rel(pages, rel);
    assert_eq!(out.market.as_deref(), Some(MARKET), "{rel}: market");
    assert_eq!(out.page_type, want, "{rel}: page type");
}

#[test]
fn whitehouse_pages_are_claimed_as_search_grids() {
    let Some(pages) = common::pages_dir() else { return };
    let all = all_pages(&pages);
    assert_eq!(all.len(), PAGE_COUNT, "files under {DIR}");
    for rel in &all {
        check_page(&pages, rel, PageType::Search);
    }
}

#[test]
fn whitehouse_record_counts_per_page() {
    let Some(pages) = common::pages_dir() else { return };
    for (name, listings, categories) in COUNTS {
        let rel = format!("{DIR}/{name}");
        let out = common::extract_rel(&pages, &rel);
        assert_eq!(out.listings.len(), *listings, "{rel}: listings");
        assert_eq!(out.categories.len(), *categories, "{rel}: categories");
        assert!(out.vendors.is_empty() && out.feedback.is_empty(), "{rel}: no vendor or feedback records");
    }
}

#[test]
fn whitehouse_facts_match_the_pages() {
    let Some(pages) = common::pages_dir() else { return };
    let mut cache: std::collections::BTreeMap<&str, serde_json::Value> = Default::default();
    for (name, pointer, want) in FACTS {
        let records = cache
            .entry(name)
            .or_insert_with(|| records_json(&common::extract_rel(&pages, &format!("{DIR}/{name}"))));
        let want: serde_json::Value =
            serde_json::from_str(want).unwrap_or_else(|e| panic!("bad expected JSON for {name} {pointer}: {e}"));
        assert_eq!(lookup(records, pointer), Some(want), "{name} {pointer}");
    }
}

/// Over every page: each row has vendor, a price in one of the five fiat
/// currencies, a USD figure, ships from/to and stock; nobody is the scraper
/// account; every record names this profile.
#[test]
fn whitehouse_every_listing_is_complete_and_never_the_scraper() {
    let Some(pages) = common::pages_dir() else { return };
    let mut listings = 0;
    let mut by_currency: std::collections::BTreeMap<String, usize> = Default::default();
    for rel in all_pages(&pages) {
        let out = common::extract_rel(&pages, &rel);
        assert!(out.vendors.iter().all(|v| v.name != SCRAPER_ACCOUNT), "{rel}: scraper account as vendor");
        for l in &out.listings {
            assert_ne!(l.vendor.as_deref(), Some(SCRAPER_ACCOUNT), "{rel}: scraper account as listing vendor");
            assert!(l.vendor.is_some() && l.market_listing_id.is_some() && l.url.is_some(), "{rel}: {}", l.title);
            let currency = l.price.as_ref().map(|p| p.currency.clone()).unwrap_or_default();
            *by_currency.entry(currency).or_default() += 1;
            assert!(l.price_usd.is_some(), "{rel}: {} has no USD figure", l.title);
            assert!(l.ships_from.is_some() && l.ships_to.len() == 1, "{rel}: {}", l.title);
            assert!(l.stock.is_some() && !l.category.is_empty(), "{rel}: {}", l.title);
        }
        listings += out.listings.len();
        let provenances = out
            .listings
            .iter()
            .map(|r| &r.provenance)
            .chain(out.categories.iter().map(|r| &r.provenance));
        for p in provenances {
            let p = p.as_ref().unwrap_or_else(|| panic!("{rel}: record without provenance"));
            assert_eq!(p.profile, MARKET, "{rel}");
        }
    }
    // 34 full grids of 40 and the 13 whole rows of page36.
    assert_eq!(listings, 34 * 40 + 13);
    let want: std::collections::BTreeMap<String, usize> =
        [("AUD", 50), ("CAD", 18), ("EUR", 377), ("GBP", 168), ("USD", 760)]
            .into_iter()
            .map(|(c, n)| (c.to_owned(), n))
            .collect();
    assert_eq!(by_currency, want, "set prices by currency");
}

/// No page of another market's folder is claimed by this profile.
#[test]
fn whitehouse_claims_no_other_market_page() {
    let Some(pages) = common::pages_dir() else { return };
    let mut others = Vec::new();
    let mut stack = vec![pages.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(&pages) {
                let rel = rel.to_string_lossy().into_owned();
                if !rel.starts_with(&format!("{MARKET}/")) && !rel.starts_with("LICENSE") {
                    others.push(rel);
                }
            }
        }
    }
    others.sort();
    assert!(others.len() > 100, "only {} other pages", others.len());
    for rel in &others {
        let out = common::extract_rel(&pages, rel);
        assert_ne!(out.market.as_deref(), Some(MARKET), "{rel} claimed by {MARKET}");
    }
}
