//! The Yellow Brick profile against the real captures in `shared/data` (read
//! in place, never copied). Every Yellow Brick page (listing search pages of
//! 2020-09-17) must be claimed by the profile as a search page; per-page
//! record counts and single facts read from the pages by hand must come out
//! exactly; the scraper's own account (`displaybook`, linked from the menu's
//! Profile entry) must never become a vendor.

mod common;

use std::path::Path;

use extract::PageExtraction;
use model::PageType;

const MARKET: &str = "yellowbrick";
const DIR: &str = "yellowbrick/2020-09-17";
/// 35 pages: page0 to page34.
const PAGE_COUNT: usize = 35;
/// The scraper account shown in every page header.
const SCRAPER_ACCOUNT: &str = "displaybook";

/// (page, listings, vendors, categories). Every page holds 11 cards; vendor
/// records are the 11 card vendors (name and level) then the 6 featured
/// vendors of the menu (name and feedback); the sidebar lists 53 categories.
const COUNTS: &[(&str, usize, usize, usize)] = &[
    ("page0.html", 11, 17, 53),
    ("page1.html", 11, 17, 53),
    ("page20.html", 11, 17, 53),
    ("page34.html", 11, 17, 53),
];

/// (page, JSON pointer into the page's records, expected JSON value).
/// A pointer ending in `/len` names the length of the array before it.
const FACTS: &[(&str, &str, &str)] = &[
    ("page1.html", "/listings/0/market_listing_id", r#""03208479""#),
    ("page1.html", "/listings/0/title", r#""Vyvanse 50mg *SUPER SALE*""#),
    ("page1.html", "/listings/0/price", r#"{"amount":"35","currency":"USD"}"#),
    ("page1.html", "/listings/0/price_usd", r#""35""#),
    ("page1.html", "/listings/0/vendor", r#""PillPusher""#),
    ("page1.html", "/listings/0/category", r#"["Other Stimulants"]"#),
    ("page1.html", "/listings/0/ships_from", r#""United States""#),
    ("page1.html", "/listings/0/url", r#""?listing=03208479""#),
    ("page1.html", "/listings/0/stock", "null"),
    ("page1.html", "/listings/10/title", r#""Adderall 25mg XR""#),
    ("page1.html", "/listings/10/category", r#"["Adderall"]"#),
    ("page1.html", "/listings/10/price", r#"{"amount":"25","currency":"USD"}"#),
    ("page20.html", "/listings/0/title", r#""Gelato Top Quality 56 gram""#),
    ("page20.html", "/listings/0/price", r#"{"amount":"439","currency":"USD"}"#),
    ("page20.html", "/listings/0/vendor", r#""KINGOFDRUGS""#),
    ("page20.html", "/listings/0/ships_from", r#""United Kingdom""#),
    ("page20.html", "/listings/10/market_listing_id", r#""33662771""#),
    ("page34.html", "/listings/0/vendor", r#""assortmentking""#),
    ("page34.html", "/listings/10/title", r#""Pure GHB (from German BASF) - 50ml""#),
    ("page34.html", "/listings/10/vendor", r#""eusupply""#),
    ("page34.html", "/listings/10/category", r#"["GHB"]"#),
    ("page34.html", "/listings/10/ships_from", r#""Netherlands""#),
    ("page0.html", "/listings/0/vendor", r#""DrRelax""#),
    ("page0.html", "/listings/6/stock", r#""Low stock!""#),
    ("page0.html", "/listings/6/vendor", r#""DigitalMafia""#),
    ("page0.html", "/listings/6/category", r#"["Oxycodon"]"#),
    // card vendors with their level
    ("page1.html", "/vendors/0/name", r#""PillPusher""#),
    ("page1.html", "/vendors/0/level", r#""Level 9""#),
    ("page0.html", "/vendors/0/level", r#""Level 11""#),
    ("page20.html", "/vendors/0/level", r#""Level 4""#),
    ("page25.html", "/vendors/8/name", r#""alexf89""#),
    ("page25.html", "/vendors/8/level", r#""New Vendor""#),
    ("page25.html", "/listings/8/ships_from", r#""Not Specified""#),
    ("page25.html", "/listings/10/ships_from", r#""Unknown""#),
    // featured vendors: "+42, -0, 100%"
    ("page1.html", "/vendors/11/name", r#""L33t""#),
    ("page1.html", "/vendors/11/feedback_positive", "42"),
    ("page1.html", "/vendors/11/feedback_negative", "0"),
    ("page1.html", "/vendors/11/positive_percent", r#""100""#),
    ("page1.html", "/vendors/12/name", r#""prodigy""#),
    ("page1.html", "/vendors/12/positive_percent", "null"),
    ("page1.html", "/vendors/14/name", r#""otgdoc""#),
    ("page1.html", "/vendors/14/feedback_positive", "175"),
    ("page1.html", "/vendors/14/feedback_negative", "7"),
    ("page1.html", "/vendors/14/positive_percent", r#""96""#),
    ("page0.html", "/vendors/12/name", r#""TheWizzardNL""#),
    ("page0.html", "/vendors/12/feedback_positive", "207"),
    // the category sidebar
    ("page1.html", "/categories/0/name", r#""Flowers""#),
    ("page1.html", "/categories/0/count", "977"),
    ("page1.html", "/categories/0/link", r#""?yellowbrick&cat=10""#),
    ("page1.html", "/categories/7/name", r#""Cocaine""#),
    ("page1.html", "/categories/7/count", "510"),
    ("page1.html", "/categories/52/name", r#""Counterfeits""#),
    ("page1.html", "/categories/52/count", "17"),
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
fn yellowbrick_pages_are_claimed_as_search_grids() {
    let Some(pages) = common::pages_dir() else { return };
    let all = all_pages(&pages);
    assert_eq!(all.len(), PAGE_COUNT, "files under {DIR}");
    for rel in &all {
        check_page(&pages, rel, PageType::Search);
    }
}

#[test]
fn yellowbrick_record_counts_per_page() {
    let Some(pages) = common::pages_dir() else { return };
    for (name, listings, vendors, categories) in COUNTS {
        let rel = format!("{DIR}/{name}");
        let out = common::extract_rel(&pages, &rel);
        assert_eq!(out.listings.len(), *listings, "{rel}: listings");
        assert_eq!(out.vendors.len(), *vendors, "{rel}: vendors");
        assert_eq!(out.categories.len(), *categories, "{rel}: categories");
        assert!(out.feedback.is_empty(), "{rel}: no feedback records");
    }
}

#[test]
fn yellowbrick_facts_match_the_pages() {
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

/// Over every page: each card has title, vendor, USD price, id, url, category
/// and ships from; each vendor record has a level or feedback counts; nobody
/// is the scraper account; every record names this profile.
#[test]
fn yellowbrick_every_listing_is_complete_and_never_the_scraper() {
    let Some(pages) = common::pages_dir() else { return };
    let mut listings = 0;
    for rel in all_pages(&pages) {
        let out = common::extract_rel(&pages, &rel);
        for v in &out.vendors {
            assert_ne!(v.name, SCRAPER_ACCOUNT, "{rel}: scraper account as vendor");
            assert!(v.level.is_some() || v.feedback_positive.is_some(), "{rel}: vendor {} is empty", v.name);
        }
        for l in &out.listings {
            assert_ne!(l.vendor.as_deref(), Some(SCRAPER_ACCOUNT), "{rel}: scraper account as listing vendor");
            assert!(l.vendor.is_some() && l.market_listing_id.is_some() && l.url.is_some(), "{rel}: {}", l.title);
            assert_eq!(l.price.as_ref().map(|p| p.currency.as_str()), Some("USD"), "{rel}: {}", l.title);
            assert!(l.ships_from.is_some() && l.category.len() == 1, "{rel}: {}", l.title);
        }
        listings += out.listings.len();
        let provenances = out
            .listings
            .iter()
            .map(|r| &r.provenance)
            .chain(out.vendors.iter().map(|r| &r.provenance))
            .chain(out.categories.iter().map(|r| &r.provenance));
        for p in provenances {
            let p = p.as_ref().unwrap_or_else(|| panic!("{rel}: record without provenance"));
            assert_eq!(p.profile, MARKET, "{rel}");
        }
    }
    assert_eq!(listings, PAGE_COUNT * 11);
}

/// No page of another market's folder is claimed by this profile.
#[test]
fn yellowbrick_claims_no_other_market_page() {
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
