//! The Yellow Brick profile against the real captures in `shared/data` (read
//! in place, never copied). Every Yellow Brick page (listing search pages of
//! 2020-09-17) must be claimed by the profile as a search page; per-page
//! record counts and single facts read from the pages by hand must come out
//! exactly; the scraper's own account (`displaybook`, linked from the menu's
//! Profile entry) must never become a vendor.

mod common;

use common::{Counts, Fact};
use model::PageType;

const MARKET: &str = "yellowbrick";
const DIR: &str = "yellowbrick/2020-09-17";
/// 35 pages: page0 to page34.
const PAGE_COUNT: usize = 35;
/// The scraper account shown in every page header.
const SCRAPER_ACCOUNT: &str = "displaybook";

/// (page, listings, vendors, feedback, categories). Every page holds 11
/// cards; vendor records are the 11 card vendors (name and level) then the 6
/// featured vendors of the menu (name and feedback); the sidebar lists 53
/// categories; no page gives feedback records.
const COUNTS: &[Counts] = &[
    ("page0.html", 11, 17, 0, 53),
    ("page1.html", 11, 17, 0, 53),
    ("page20.html", 11, 17, 0, 53),
    ("page34.html", 11, 17, 0, 53),
];

/// Single facts read from the pages by hand: (page, JSON pointer into the
/// page's records, expected JSON value); a pointer ending in `/len` names the
/// length of the array before it.
const FACTS: &[Fact] = &[
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

#[test]
fn yellowbrick_pages_are_claimed_as_search_grids() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_folder_page_types(&pages, MARKET, DIR, PAGE_COUNT, PageType::Search);
}

#[test]
fn yellowbrick_record_counts_per_page() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_counts_in(&pages, DIR, COUNTS);
}

#[test]
fn yellowbrick_facts_match_the_pages() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_facts_in(&pages, DIR, FACTS);
}

/// Over every page: each card has title, vendor, USD price, id, url, category
/// and ships from; each vendor record has a level or feedback counts; nobody
/// is the scraper account; every record names this profile.
#[test]
fn yellowbrick_every_listing_is_complete_and_never_the_scraper() {
    let Some(pages) = common::pages_dir() else { return };
    let listings = common::check_folder_records(&pages, MARKET, DIR, SCRAPER_ACCOUNT, |rel, out| {
        for v in &out.vendors {
            assert!(v.level.is_some() || v.feedback_positive.is_some(), "{rel}: vendor {} is empty", v.name);
        }
        for l in &out.listings {
            assert!(l.vendor.is_some() && l.market_listing_id.is_some() && l.url.is_some(), "{rel}: {}", l.title);
            assert_eq!(l.price.as_ref().map(|p| p.currency.as_str()), Some("USD"), "{rel}: {}", l.title);
            assert!(l.ships_from.is_some() && l.category.len() == 1, "{rel}: {}", l.title);
        }
    });
    assert_eq!(listings, PAGE_COUNT * 11);
}

/// No page of another market's folder is claimed by this profile.
#[test]
fn yellowbrick_claims_no_other_market_page() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_claims_no_other_page(&pages, MARKET, &[]);
}
