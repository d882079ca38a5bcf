//! The Cypher profile against the real captures in `shared/data` (read in
//! place, never copied). Every Cypher page (category result grids of
//! 2020-09-17) must be claimed by the profile as a search page; per-page
//! record counts and single facts read from the pages by hand must come out
//! exactly; the scraper's own account in the header (`displaybook`) must never
//! become a vendor.

mod common;

use std::path::Path;

use extract::PageExtraction;
use model::PageType;

const MARKET: &str = "cypher";
const DIR: &str = "cypher/2020-09-17";
/// 191 pages: categories 0-3 (Guides & Tutorials, Drugs, Software & Malware,
/// Counterfeits); three empty captures were dropped upstream.
const PAGE_COUNT: usize = 191;
/// The scraper account shown in every page header.
const SCRAPER_ACCOUNT: &str = "displaybook";

/// (page, listings, categories). Full grids hold 24 cards; the last page of a
/// category holds the rest; pages past the end are empty grids. The sidebar
/// tree (66 categories) is on every page.
const COUNTS: &[(&str, usize, usize)] = &[
    ("page0-2.html", 24, 66),
    ("page0-43.html", 9, 66),
    ("page0-44.html", 0, 66),
    ("page1-1.html", 24, 66),
    ("page1-50.html", 24, 66),
    ("page2-2.html", 24, 66),
    ("page2-41.html", 6, 66),
    ("page2-42.html", 0, 66),
    ("page3-1.html", 24, 66),
];

/// (page, JSON pointer into the page's records, expected JSON value).
/// A pointer ending in `/len` names the length of the array before it.
const FACTS: &[(&str, &str, &str)] = &[
    // Drugs, first page
    ("page1-1.html", "/listings/0/title", r#""1-1000 Grams High Quality MDMA ( 85% ) free whipping World Wide""#),
    ("page1-1.html", "/listings/0/vendor", r#""vouchas""#),
    ("page1-1.html", "/listings/0/price", r#"{"amount":"500","currency":"USD"}"#),
    ("page1-1.html", "/listings/0/price_usd", r#""500""#),
    ("page1-1.html", "/listings/0/stock", r#""200000""#),
    ("page1-1.html", "/listings/0/category", r#"["Mdma"]"#),
    ("page1-1.html", "/listings/0/market_listing_id", r#""3d01ed00-f877-11ea-932e-cb1decde4267""#),
    (
        "page1-1.html",
        "/listings/0/url",
        r#""http://jcnhui6sgumsawtd.onion/product/3d01ed00-f877-11ea-932e-cb1decde4267""#,
    ),
    ("page1-1.html", "/listings/5/category", r#"["Cannabis & Hashish"]"#),
    ("page1-1.html", "/listings/5/stock", r#""50000""#),
    ("page1-1.html", "/listings/23/vendor", r#""tonymax""#),
    ("page1-1.html", "/listings/23/category", r#"["Adderal & Vyvanse"]"#),
    ("page1-1.html", "/listings/23/price", r#"{"amount":"200","currency":"USD"}"#),
    // the sidebar tree, in page order
    ("page1-1.html", "/categories/0/name", r#""Guides & Tutorials""#),
    ("page1-1.html", "/categories/0/count", "1017"),
    ("page1-1.html", "/categories/5/name", r#""Counterfeits""#),
    ("page1-1.html", "/categories/5/count", "714"),
    ("page1-1.html", "/categories/20/name", r#""Drugs""#),
    ("page1-1.html", "/categories/20/count", "2535"),
    ("page1-1.html", "/categories/44/name", r#""Cocaine""#),
    ("page1-1.html", "/categories/44/count", "249"),
    (
        "page1-1.html",
        "/categories/0/link",
        r#""http://jcnhui6sgumsawtd.onion/category/23ce97c0-3cfb-11ea-8adb-376b000e7b7e""#,
    ),
    // Guides & Tutorials: an earlier capture with other counts
    ("page0-2.html", "/categories/0/count", "1021"),
    ("page0-2.html", "/listings/0/vendor", r#""cailpulest""#),
    ("page0-2.html", "/listings/0/category", r#"["Hacking"]"#),
    ("page0-2.html", "/listings/0/stock", r#""1""#),
    ("page0-2.html", "/listings/5/vendor", r#""GUNTER""#),
    // prices with cents
    ("page0-43.html", "/listings/0/price", r#"{"amount":"3.7","currency":"USD"}"#),
    ("page0-43.html", "/listings/0/vendor", r#""HotShop""#),
    ("page0-43.html", "/listings/5/price", r#"{"amount":"1588.72","currency":"USD"}"#),
    ("page0-43.html", "/listings/5/category", r#"["Fraud"]"#),
    ("page0-43.html", "/listings/8/stock", r#""96""#),
    ("page2-41.html", "/listings/0/price_usd", r#""13.03""#),
    ("page2-41.html", "/listings/1/title", r#""Atomix Virtual DJ Pro 8""#),
    ("page2-41.html", "/listings/1/vendor", r#""LaLaLandUK""#),
    ("page2-41.html", "/listings/3/stock", r#""9999999""#),
    // Software & Malware and Counterfeits
    ("page2-2.html", "/listings/0/vendor", r#""WeAreAMSTERDAM""#),
    ("page2-2.html", "/listings/0/category", r#"["Botnets & Malware"]"#),
    ("page2-2.html", "/listings/5/title", r#""❤200 + Passport Scans (45 Countries)❤""#),
    ("page2-2.html", "/listings/5/stock", r#""45""#),
    ("page3-1.html", "/listings/5/vendor", r#""Papabills""#),
    ("page3-1.html", "/listings/5/price", r#"{"amount":"250","currency":"USD"}"#),
    ("page3-1.html", "/listings/23/market_listing_id", r#""c89f9930-f736-11ea-b6fb-4b15dbb786d4""#),
    // Grids show neither ships from/to nor sales.
    ("page1-1.html", "/listings/0/ships_from", "null"),
    ("page1-1.html", "/listings/0/sold", "null"),
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
fn cypher_pages_are_claimed_as_search_grids() {
    let Some(pages) = common::pages_dir() else { return };
    let all = all_pages(&pages);
    assert_eq!(all.len(), PAGE_COUNT, "files under {DIR}");
    for rel in &all {
        check_page(&pages, rel, PageType::Search);
    }
}

#[test]
fn cypher_record_counts_per_page() {
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
fn cypher_facts_match_the_pages() {
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

/// Over every page: each listing has title, vendor, USD price, id and url,
/// nobody is the scraper account, and every record names this profile.
#[test]
fn cypher_every_listing_is_complete_and_never_the_scraper() {
    let Some(pages) = common::pages_dir() else { return };
    let mut listings = 0;
    for rel in all_pages(&pages) {
        let out = common::extract_rel(&pages, &rel);
        assert!(out.vendors.iter().all(|v| v.name != SCRAPER_ACCOUNT), "{rel}: scraper account as vendor");
        for l in &out.listings {
            assert_ne!(l.vendor.as_deref(), Some(SCRAPER_ACCOUNT), "{rel}: scraper account as listing vendor");
            assert!(l.vendor.is_some(), "{rel}: {} has no vendor", l.title);
            assert_eq!(l.price.as_ref().map(|p| p.currency.as_str()), Some("USD"), "{rel}: {}", l.title);
            assert!(l.price_usd.is_some() && l.market_listing_id.is_some() && l.url.is_some(), "{rel}: {}", l.title);
            assert_eq!(l.category.len(), 1, "{rel}: {}", l.title);
            assert!(l.stock.is_some(), "{rel}: {}", l.title);
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
    // 183 full grids of 24, plus 9 and 6 on two last pages.
    assert_eq!(listings, 183 * 24 + 9 + 6);
}

/// No page of another market's folder is claimed by this profile.
#[test]
fn cypher_claims_no_other_market_page() {
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
