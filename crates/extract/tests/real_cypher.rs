//! The Cypher profile against the real captures in `shared/data` (read in
//! place, never copied). Every Cypher page (category result grids of
//! 2020-09-17) must be claimed by the profile as a search page; per-page
//! record counts and single facts read from the pages by hand must come out
//! exactly; the scraper's own account in the header (`displaybook`) must never
//! become a vendor.

mod common;

use common::{Counts, Fact};
use model::PageType;

const MARKET: &str = "cypher";
const DIR: &str = "cypher/2020-09-17";
/// 191 pages: categories 0-3 (Guides & Tutorials, Drugs, Software & Malware,
/// Counterfeits); three empty captures were dropped upstream.
const PAGE_COUNT: usize = 191;
/// The scraper account shown in every page header.
const SCRAPER_ACCOUNT: &str = "displaybook";

/// (page, listings, vendors, feedback, categories): grids give no
/// vendor or feedback records. Full grids hold 24 cards; the last page of a
/// category holds the rest; pages past the end are empty grids. The sidebar
/// tree (66 categories) is on every page.
const COUNTS: &[Counts] = &[
    ("page0-2.html", 24, 0, 0, 66),
    ("page0-43.html", 9, 0, 0, 66),
    ("page0-44.html", 0, 0, 0, 66),
    ("page1-1.html", 24, 0, 0, 66),
    ("page1-50.html", 24, 0, 0, 66),
    ("page2-2.html", 24, 0, 0, 66),
    ("page2-41.html", 6, 0, 0, 66),
    ("page2-42.html", 0, 0, 0, 66),
    ("page3-1.html", 24, 0, 0, 66),
];

/// Single facts read from the pages by hand: (page, JSON pointer into the
/// page's records, expected JSON value); a pointer ending in `/len` names the
/// length of the array before it.
const FACTS: &[Fact] = &[
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

#[test]
fn cypher_pages_are_claimed_as_search_grids() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_folder_page_types(&pages, MARKET, DIR, PAGE_COUNT, PageType::Search);
}

#[test]
fn cypher_record_counts_per_page() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_counts_in(&pages, DIR, COUNTS);
}

#[test]
fn cypher_facts_match_the_pages() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_facts_in(&pages, DIR, FACTS);
}

/// Over every page: each listing has title, vendor, USD price, id and url,
/// nobody is the scraper account, and every record names this profile.
#[test]
fn cypher_every_listing_is_complete_and_never_the_scraper() {
    let Some(pages) = common::pages_dir() else { return };
    let listings = common::check_folder_records(&pages, MARKET, DIR, SCRAPER_ACCOUNT, |rel, out| {
        for l in &out.listings {
            assert!(l.vendor.is_some(), "{rel}: {} has no vendor", l.title);
            assert_eq!(l.price.as_ref().map(|p| p.currency.as_str()), Some("USD"), "{rel}: {}", l.title);
            assert!(l.price_usd.is_some() && l.market_listing_id.is_some() && l.url.is_some(), "{rel}: {}", l.title);
            assert_eq!(l.category.len(), 1, "{rel}: {}", l.title);
            assert!(l.stock.is_some(), "{rel}: {}", l.title);
        }
    });
    // 183 full grids of 24, plus 9 and 6 on two last pages.
    assert_eq!(listings, 183 * 24 + 9 + 6);
}

/// No page of another market's folder is claimed by this profile.
#[test]
fn cypher_claims_no_other_market_page() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_claims_no_other_page(&pages, MARKET, &[]);
}
