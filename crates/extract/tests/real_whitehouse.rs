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

use common::{Counts, Fact};
use model::PageType;

const MARKET: &str = "whitehouse";
const DIR: &str = "whitehouse/2020-09-17";
/// 36 pages: page0 to page36 without page3 (an empty capture dropped upstream).
const PAGE_COUNT: usize = 36;
/// The scraper account shown in every page header.
const SCRAPER_ACCOUNT: &str = "displaybook";

/// (page, listings, vendors, feedback, categories): grids give no
/// vendor or feedback records. A grid holds 40 rows. page0 was saved cut
/// off before the results; page36 is cut off inside its 14th row, so 13 rows
/// are whole. The category menu (109 entries without the "All" totals) is on
/// every page.
const COUNTS: &[Counts] = &[
    ("page0.html", 0, 0, 0, 109),
    ("page1.html", 40, 0, 0, 109),
    ("page10.html", 40, 0, 0, 109),
    ("page12.html", 40, 0, 0, 109),
    ("page4.html", 40, 0, 0, 109),
    ("page36.html", 13, 0, 0, 109),
];

/// Single facts read from the pages by hand: (page, JSON pointer into the
/// page's records, expected JSON value); a pointer ending in `/len` names the
/// length of the array before it.
const FACTS: &[Fact] = &[
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

#[test]
fn whitehouse_pages_are_claimed_as_search_grids() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_folder_page_types(&pages, MARKET, DIR, PAGE_COUNT, PageType::Search);
}

#[test]
fn whitehouse_record_counts_per_page() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_counts_in(&pages, DIR, COUNTS);
}

#[test]
fn whitehouse_facts_match_the_pages() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_facts_in(&pages, DIR, FACTS);
}

/// Over every page: each row has vendor, a price in one of the five fiat
/// currencies, a USD figure, ships from/to and stock; nobody is the scraper
/// account; every record names this profile.
#[test]
fn whitehouse_every_listing_is_complete_and_never_the_scraper() {
    let Some(pages) = common::pages_dir() else { return };
    let mut by_currency: std::collections::BTreeMap<String, usize> = Default::default();
    let listings = common::check_folder_records(&pages, MARKET, DIR, SCRAPER_ACCOUNT, |rel, out| {
        for l in &out.listings {
            assert!(l.vendor.is_some() && l.market_listing_id.is_some() && l.url.is_some(), "{rel}: {}", l.title);
            let currency = l.price.as_ref().map(|p| p.currency.clone()).unwrap_or_default();
            *by_currency.entry(currency).or_default() += 1;
            assert!(l.price_usd.is_some(), "{rel}: {} has no USD figure", l.title);
            assert!(l.ships_from.is_some() && l.ships_to.len() == 1, "{rel}: {}", l.title);
            assert!(l.stock.is_some() && !l.category.is_empty(), "{rel}: {}", l.title);
        }
    });
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
    common::check_claims_no_other_page(&pages, MARKET, &[]);
}

/// Every grid row embeds its product photo inline (a data: URI of 1-5 KB);
/// each listing keeps one perceptual hash. Facts counted with a script over
/// the raw pages (base64-decoded bytes, SHA-256): 1,112 distinct photo files
/// over the 1,373 whole rows; one file is shown by 9 vendors (a stock
/// picture) and one by expresspharma and medsguru. Byte-identical photos
/// must hash alike.
#[test]
fn whitehouse_listing_photos_are_hashed() {
    let Some(pages) = common::pages_dir() else { return };
    let mut vendors_of: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
    let mut listings = 0;
    for rel in common::folder_pages(&pages, DIR) {
        let out = common::extract_rel(&pages, &rel);
        assert!(!out.diagnostics.iter().any(|d| d.contains("photo")), "{rel}: {:?}", out.diagnostics);
        for l in &out.listings {
            listings += 1;
            assert_eq!(l.photos.len(), 1, "{rel}: {}", l.title);
            assert_eq!(l.photos[0].len(), 16);
            vendors_of.entry(l.photos[0].clone()).or_default().insert(l.vendor.clone().unwrap_or_default());
        }
    }
    assert_eq!(listings, 34 * 40 + 13);
    let stock: std::collections::BTreeSet<String> = [
        "aussieextracts", "f1rstclass1", "honesttrader", "killdozer", "mastermeds", "premiumcake", "proshop",
        "topvendor", "unitedpainpros",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert!(vendors_of.values().any(|v| v.is_superset(&stock)), "the stock photo's nine vendors share a hash");
    assert!(vendors_of.values().any(|v| v.contains("expresspharma") && v.contains("medsguru")));
    let shared = vendors_of.values().filter(|v| v.len() > 1).count();
    eprintln!("{} distinct photo hashes, {shared} shown by more than one vendor", vendors_of.len());
    // Perceptual hashes can only merge byte-distinct files, never split one.
    assert!(vendors_of.len() <= 1112, "{}", vendors_of.len());
    // dHash merges 3 pairs of byte-different files (re-encodings of one picture)
    // and finds 5 photos under more than one vendor name (2 by bytes).
    assert_eq!((vendors_of.len(), shared), (1109, 5));
}
