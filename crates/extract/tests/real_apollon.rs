//! The Apollon profile against the real captures in `shared/data` (read in
//! place, never copied). Every Apollon page must be claimed by the profile
//! with the right page type, and single facts read from the pages by hand
//! must come out exactly: names, prices, dates, counts, imported ratings.
//! No page of another market's folder is claimed, but for the Apollon 404
//! page the source files under Empire.

mod common;

use common::{Fact, PageCase};
use model::PageType;

const MARKET: &str = "apollon";

/// Every Apollon capture, plus the Apollon 404 page the source keeps under Empire.
const PAGES: &[PageCase] = &[
    // A listing grid filtered by category; the sidebar holds the category tree.
    ("apollon/category_indexes/category_index_0", PageType::Search),
    // home.php (greeting, featured listings, category tree), a different capture.
    ("apollon/category_indexes/category_index_0.html", PageType::Main),
    ("apollon/category_indexes/category_index_1", PageType::Search),
    ("apollon/feedbacks/negative_feedback_0", PageType::Feedback),
    ("apollon/feedbacks/positive_feedback_0", PageType::Feedback),
    ("apollon/feedbacks/positive_feedback_3", PageType::Feedback),
    ("apollon/feedbacks/positive_feedback_4", PageType::Feedback),
    ("apollon/listings/listing_0", PageType::Listing),
    ("apollon/listings/listing_1", PageType::Listing),
    ("apollon/listings/listing_2", PageType::Listing),
    ("apollon/listings/listing_3", PageType::Listing),
    ("apollon/listings/listing_4", PageType::Listing),
    ("apollon/listings/listing_5", PageType::Listing),
    ("apollon/listings/listing_6", PageType::Listing),
    ("apollon/search_results/search_result_0", PageType::Search),
    ("apollon/search_results/search_result_1", PageType::Search),
    ("apollon/sellers/seller_0", PageType::Vendor),
    ("apollon/sellers/seller_1", PageType::Vendor),
    ("apollon/sellers/seller_2", PageType::Vendor),
    ("apollon/sellers/seller_3", PageType::Vendor),
    ("apollon/sellers/seller_4", PageType::Vendor),
    ("apollon/sellers/seller_5", PageType::Vendor),
    ("apollon/sellers/seller_6", PageType::Vendor),
    ("apollon/sub_category_indexes/sub_category_index_0", PageType::Search),
    ("apollon/sub_category_indexes/sub_category_index_1", PageType::Search),
    ("apollon/sub_category_indexes/sub_category_index_2", PageType::Search),
    ("empire/custom_server_errors/apollon_404_0", PageType::Error),
];

/// Single facts read from the pages by hand: (page, JSON pointer into the
/// page's records, expected JSON value); a pointer ending in `/len` names the
/// length of the array before it.
const FACTS: &[Fact] = &[
    // listing page
    ("apollon/listings/listing_0", "/listings/len", "1"),
    ("apollon/listings/listing_0", "/listings/0/title", r#""105ug LSD tabs - GammaGoblin VoidRealm""#),
    ("apollon/listings/listing_0", "/listings/0/market_listing_id", r#""83163""#),
    ("apollon/listings/listing_0", "/listings/0/vendor", r#""DrParagon""#),
    ("apollon/listings/listing_0", "/listings/0/price", r#"{"amount":"4.00","currency":"USD"}"#),
    ("apollon/listings/listing_0", "/listings/0/price_usd", r#""4.00""#),
    ("apollon/listings/listing_0", "/listings/0/price_btc", r#""0.00042375""#),
    ("apollon/listings/listing_0", "/listings/0/ships_from", r#""United States""#),
    ("apollon/listings/listing_0", "/listings/0/ships_to", r#"["United States"]"#),
    ("apollon/listings/listing_0", "/listings/0/sold", "17"),
    ("apollon/listings/listing_0", "/listings/0/stock", r#""Unlimited Available""#),
    ("apollon/listings/listing_0", "/listings/0/shipping_methods/len", "3"),
    ("apollon/listings/listing_0", "/vendors/0/name", r#""DrParagon""#),
    ("apollon/listings/listing_0", "/vendors/0/sales", "137"),
    ("apollon/listings/listing_0", "/vendors/0/registered", r#""Dec 26, 2019""#),
    ("apollon/listings/listing_0", "/vendors/0/level", r#""Seller Level 2""#),
    ("apollon/listings/listing_1", "/listings/0/market_listing_id", r#""73431""#),
    ("apollon/listings/listing_1", "/listings/0/vendor", r#""DutchTopBoy""#),
    ("apollon/listings/listing_1", "/listings/0/price", r#"{"amount":"49.88","currency":"USD"}"#),
    ("apollon/listings/listing_1", "/listings/0/ships_from", r#""Netherlands""#),
    (
        "apollon/listings/listing_1",
        "/listings/0/ships_to",
        r#"["World Wide","Europe","Netherlands","United Kingdom","Germany"]"#,
    ),
    ("apollon/listings/listing_2", "/listings/0/stock", r#""97 Items Available""#),
    ("apollon/listings/listing_2", "/listings/0/sold", "7"),
    // vendor profiles
    ("apollon/sellers/seller_0", "/vendors/len", "1"),
    ("apollon/sellers/seller_0", "/vendors/0/name", r#""dutch-skills""#),
    ("apollon/sellers/seller_0", "/vendors/0/registered", r#""Dec 05, 2019""#),
    ("apollon/sellers/seller_0", "/vendors/0/last_seen", r#""Feb 03, 2020""#),
    ("apollon/sellers/seller_0", "/vendors/0/sales", "93"),
    ("apollon/sellers/seller_0", "/vendors/0/feedback_positive", "44"),
    ("apollon/sellers/seller_0", "/vendors/0/feedback_negative", "0"),
    ("apollon/sellers/seller_0", "/vendors/0/positive_percent", r#""100""#),
    ("apollon/sellers/seller_0", "/vendors/0/trust", r#""Trust Level 3""#),
    ("apollon/sellers/seller_0", "/vendors/0/contacts", r#"["email:joris127@torbox3uiot6wchz.onion"]"#),
    ("apollon/sellers/seller_0", "/vendors/0/external_ratings/len", "0"),
    ("apollon/sellers/seller_2", "/vendors/0/name", r#""hundredsandthousands""#),
    ("apollon/sellers/seller_2", "/vendors/0/sales", "216"),
    ("apollon/sellers/seller_2", "/vendors/0/contacts", r#"["jabber:diego-hundreds@xmpp.jp"]"#),
    // imported feedback: the vendor's accounts on other markets
    (
        "apollon/sellers/seller_1",
        "/vendors/0/external_ratings",
        r#"[{"market":"Dream","sales":1400,"rating":"4.96","account":null},
            {"market":"Empire","sales":410,"rating":"350/4/0","account":null},
            {"market":"Berlusconi","sales":1685,"rating":"1094/10/7","account":null}]"#,
    ),
    (
        "apollon/sellers/seller_2",
        "/vendors/0/external_ratings",
        r#"[{"market":"Dream","sales":1450,"rating":"4.95","account":null},
            {"market":"Empire","sales":1040,"rating":"706/17/10","account":null},
            {"market":"Nightmare","sales":547,"rating":"334/0/3","account":null},
            {"market":"Cryptonia","sales":47,"rating":"91%","account":null}]"#,
    ),
    (
        "apollon/sellers/seller_4",
        "/vendors/0/external_ratings",
        r#"[{"market":"Dream","sales":8400,"rating":"4.88","account":null},
            {"market":"Empire","sales":7694,"rating":"5778/200/113","account":null}]"#,
    ),
    // SharkHash's panel is the empty template of every market: no records.
    ("apollon/sellers/seller_5", "/vendors/0/name", r#""SharkHash""#),
    ("apollon/sellers/seller_5", "/vendors/0/external_ratings/len", "0"),
    (
        "apollon/feedbacks/positive_feedback_4",
        "/vendors/0/external_ratings",
        r#"[{"market":"Dream","sales":2602,"rating":"4.99","account":null},
            {"market":"Samsara","sales":1044,"rating":"4.78","account":null},
            {"market":"Berlusconi","sales":1051,"rating":"853/10/10","account":null},
            {"market":"Nightmare","sales":788,"rating":"427/0/8","account":null},
            {"market":"Cryptonia","sales":13,"rating":"100%","account":null}]"#,
    ),
    (
        "apollon/feedbacks/negative_feedback_0",
        "/vendors/0/external_ratings",
        r#"[{"market":"Empire","sales":1233,"rating":"976/15/4","account":null}]"#,
    ),
    // feedback tabs
    ("apollon/feedbacks/positive_feedback_4", "/vendors/0/name", r#""Combi""#),
    ("apollon/feedbacks/positive_feedback_4", "/feedback/len", "15"),
    ("apollon/feedbacks/positive_feedback_4", "/feedback/0/date", r#""Feb 17, 2020 03:14""#),
    ("apollon/feedbacks/positive_feedback_4", "/feedback/0/rating", r#""positive""#),
    ("apollon/feedbacks/positive_feedback_4", "/feedback/0/buyer", r#""r...n""#),
    ("apollon/feedbacks/positive_feedback_4", "/feedback/0/price", r#"{"amount":"1340.00","currency":"USD"}"#),
    ("apollon/feedbacks/positive_feedback_4", "/feedback/0/vendor", r#""Combi""#),
    ("apollon/feedbacks/negative_feedback_0", "/vendors/0/name", r#""UKNEXTDAY""#),
    ("apollon/feedbacks/negative_feedback_0", "/vendors/0/feedback_negative", "11"),
    ("apollon/feedbacks/negative_feedback_0", "/feedback/len", "11"),
    ("apollon/feedbacks/negative_feedback_0", "/feedback/0/rating", r#""negative""#),
    ("apollon/feedbacks/negative_feedback_0", "/feedback/0/date", r#""Jan 29, 2020 02:01""#),
    ("apollon/feedbacks/negative_feedback_0", "/feedback/0/price", r#"{"amount":"1108.00","currency":"USD"}"#),
    // listing grids
    ("apollon/search_results/search_result_0", "/listings/len", "15"),
    ("apollon/search_results/search_result_0", "/listings/0/market_listing_id", r#""43473""#),
    ("apollon/search_results/search_result_0", "/listings/0/vendor", r#""FASTmedsUK""#),
    ("apollon/search_results/search_result_0", "/listings/0/category", r#"["Drugs","Opiates"]"#),
    ("apollon/search_results/search_result_0", "/listings/0/price", r#"{"amount":"58.05","currency":"USD"}"#),
    ("apollon/search_results/search_result_0", "/listings/0/sold", "6"),
    ("apollon/search_results/search_result_0", "/listings/0/stock", r#""100 Items Available""#),
    ("apollon/category_indexes/category_index_0", "/listings/len", "15"),
    ("apollon/category_indexes/category_index_0", "/categories/0/name", r#""Fraud""#),
    ("apollon/category_indexes/category_index_0", "/categories/0/count", "5040"),
    ("apollon/category_indexes/category_index_0", "/categories/1/name", r#""Accounts & Bank Drops""#),
    ("apollon/category_indexes/category_index_0", "/categories/1/count", "1250"),
    ("apollon/category_indexes/category_index_0", "/categories/1/link", r#""?cid=1&csid=1""#),
    ("apollon/category_indexes/category_index_0", "/categories/2/count", "671"),
    // home page: ten top-level categories, a different Drugs count than the grid capture
    ("apollon/category_indexes/category_index_0.html", "/categories/len", "10"),
    ("apollon/category_indexes/category_index_0.html", "/categories/1/name", r#""Drugs""#),
    ("apollon/category_indexes/category_index_0.html", "/categories/1/count", "44234"),
    ("apollon/category_indexes/category_index_0.html", "/listings/0/market_listing_id", r#""70502""#),
    ("apollon/category_indexes/category_index_0.html", "/listings/0/vendor", r#""hundredsandthousands""#),
    ("apollon/category_indexes/category_index_0.html", "/listings/0/price_btc", r#""0.0015""#),
];

#[test]
fn apollon_pages_are_claimed_with_their_type() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_page_types(&pages, MARKET, PAGES);
}

#[test]
fn apollon_facts_match_the_pages() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_facts(&pages, FACTS);
}

#[test]
fn imported_ratings_attach_only_to_profiles() {
    let Some(pages) = common::pages_dir() else { return };
    // Listing pages and grids carry no imported feedback panel.
    for rel in ["apollon/listings/listing_0", "apollon/search_results/search_result_1"] {
        let out = common::extract_rel(&pages, rel);
        assert!(out.vendors.iter().all(|v| v.external_ratings.is_empty()), "{rel}");
    }
}

#[test]
fn every_record_names_the_apollon_profile() {
    let Some(pages) = common::pages_dir() else { return };
    let seen = common::check_provenance(&pages, MARKET, PAGES);
    assert!(seen > 200, "only {seen} records over all pages");
}

/// No page outside `apollon/` is claimed, but for the Apollon 404 page the
/// source files under Empire.
#[test]
fn apollon_claims_no_other_market_page() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_claims_no_other_page(&pages, MARKET, &["empire/custom_server_errors/apollon_404_0"]);
}
