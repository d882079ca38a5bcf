//! The Empire profile against the real captures in `shared/data` (read in
//! place, never copied). Every Empire page must be claimed by the profile with
//! the right page type, and single facts read from the pages by hand must come
//! out exactly: names, prices with currency, dates, counts, fingerprints.
//! `empire/custom_server_errors/apollon_404_0` is an Apollon page and must not
//! be claimed by Empire.

mod common;

use common::{Fact, PageCase};
use model::PageType;

const MARKET: &str = "empire";

/// Every Empire capture with the page type it must get.
const PAGES: &[PageCase] = &[
    ("empire/feedback/saved_empire_feedback_0", PageType::Feedback),
    ("empire/feedback/saved_empire_feedback_1", PageType::Feedback),
    ("empire/listings/saved_empire_listing_0", PageType::Listing),
    ("empire/listings/saved_empire_listing_1", PageType::Listing),
    ("empire/listings/saved_empire_listing_10", PageType::Listing),
    ("empire/listings/saved_empire_listing_11", PageType::Listing),
    ("empire/listings/saved_empire_listing_12", PageType::Listing),
    ("empire/listings/saved_empire_listing_13", PageType::Listing),
    ("empire/listings/saved_empire_listing_14", PageType::Listing),
    ("empire/listings/saved_empire_listing_2", PageType::Listing),
    ("empire/listings/saved_empire_listing_3", PageType::Listing),
    ("empire/listings/saved_empire_listing_4", PageType::Listing),
    ("empire/listings/saved_empire_listing_5", PageType::Listing),
    ("empire/listings/saved_empire_listing_6", PageType::Listing),
    ("empire/listings/saved_empire_listing_7", PageType::Listing),
    ("empire/listings/saved_empire_listing_8", PageType::Listing),
    ("empire/listings/saved_empire_listing_9", PageType::Listing),
    ("empire/login_page/saved_empire_login_page_0", PageType::Login),
    ("empire/login_page/saved_empire_login_page_1", PageType::Login),
    ("empire/login_page/saved_empire_login_page_2", PageType::Login),
    ("empire/meta_refresh/saved_empire_meta_refresh_0", PageType::MetaRefresh),
    ("empire/meta_refresh/saved_empire_meta_refresh_1", PageType::MetaRefresh),
    // A user profile opened on its PGP tab.
    ("empire/pgp/saved_empire_pgp_0", PageType::Pgp),
    // The home page: featured listings and the category tree.
    ("empire/saved_empire_category_index_0", PageType::Category),
    ("empire/saved_empire_category_index_1", PageType::Category),
    ("empire/search_results/saved_empire_search_result_0", PageType::Search),
    ("empire/search_results/saved_empire_search_result_1", PageType::Search),
    ("empire/search_results/saved_empire_search_result_2", PageType::Search),
    // "There is currently nothing to show."
    ("empire/search_results/saved_empire_search_result_3", PageType::Search),
    ("empire/users/saved_empire_user_0", PageType::Vendor),
    ("empire/users/saved_empire_user_1", PageType::Vendor),
    ("empire/users/saved_empire_user_2", PageType::Vendor),
    ("empire/users/saved_empire_user_3", PageType::Vendor),
    ("empire/users/saved_empire_user_4", PageType::Vendor),
    ("empire/users/saved_empire_user_5", PageType::Vendor),
];

/// Single facts read from the pages by hand: (page, JSON pointer into the
/// page's records, expected JSON value); a pointer ending in `/len` names the
/// length of the array before it.
const FACTS: &[Fact] = &[
    // listing pages
    ("empire/listings/saved_empire_listing_2", "/listings/len", "1"),
    ("empire/listings/saved_empire_listing_2", "/listings/0/market_listing_id", r#""74911""#),
    ("empire/listings/saved_empire_listing_2", "/listings/0/vendor", r#""gbmessicocaine""#),
    (
        "empire/listings/saved_empire_listing_2",
        "/listings/0/category",
        r#"["Drugs & Chemicals","Stimulants","Cocaine"]"#,
    ),
    ("empire/listings/saved_empire_listing_2", "/listings/0/price", r#"{"amount":"9478.97","currency":"USD"}"#),
    ("empire/listings/saved_empire_listing_2", "/listings/0/price_usd", r#""9478.97""#),
    ("empire/listings/saved_empire_listing_2", "/listings/0/price_btc", r#""0.948514""#),
    ("empire/listings/saved_empire_listing_2", "/listings/0/ships_from", r#""United Kingdom""#),
    ("empire/listings/saved_empire_listing_2", "/listings/0/ships_to", r#"["World Wide"]"#),
    ("empire/listings/saved_empire_listing_2", "/listings/0/stock", r#""Unlimited""#),
    ("empire/listings/saved_empire_listing_2", "/listings/0/sold", "0"),
    ("empire/listings/saved_empire_listing_2", "/listings/0/shipping_methods/len", "3"),
    ("empire/listings/saved_empire_listing_2", "/vendors/0/name", r#""gbmessicocaine""#),
    ("empire/listings/saved_empire_listing_2", "/vendors/0/level", r#""5""#),
    ("empire/listings/saved_empire_listing_2", "/vendors/0/trust", r#""5""#),
    ("empire/listings/saved_empire_listing_2", "/vendors/0/external_ratings/0/market", r#""Dream Market""#),
    ("empire/listings/saved_empire_listing_2", "/vendors/0/external_ratings/0/sales", "200"),
    ("empire/listings/saved_empire_listing_2", "/vendors/0/external_ratings/0/rating", r#""4.94""#),
    ("empire/listings/saved_empire_listing_13", "/listings/0/market_listing_id", r#""47894""#),
    ("empire/listings/saved_empire_listing_13", "/listings/0/title", r#""28g - Sherbert - Hybrid - 26% THC""#),
    ("empire/listings/saved_empire_listing_13", "/listings/0/vendor", r#""RealHarryWilson""#),
    ("empire/listings/saved_empire_listing_13", "/listings/0/price", r#"{"amount":"200.00","currency":"USD"}"#),
    ("empire/listings/saved_empire_listing_13", "/listings/0/ships_from", r#""United States""#),
    ("empire/listings/saved_empire_listing_13", "/listings/0/sold", "3"),
    (
        "empire/listings/saved_empire_listing_13",
        "/listings/0/category",
        r#"["Drugs & Chemicals","Cannabis & Hashish","Buds & Flowers"]"#,
    ),
    // user profiles
    ("empire/users/saved_empire_user_2", "/vendors/len", "1"),
    ("empire/users/saved_empire_user_2", "/vendors/0/name", r#""darkbusiness""#),
    ("empire/users/saved_empire_user_2", "/vendors/0/registered", r#""April 02, 2019""#),
    ("empire/users/saved_empire_user_2", "/vendors/0/last_seen", r#""Nov 07, 2019""#),
    ("empire/users/saved_empire_user_2", "/vendors/0/sales", "1630"),
    ("empire/users/saved_empire_user_2", "/vendors/0/feedback_positive", "1180"),
    ("empire/users/saved_empire_user_2", "/vendors/0/feedback_neutral", "11"),
    ("empire/users/saved_empire_user_2", "/vendors/0/feedback_negative", "61"),
    ("empire/users/saved_empire_user_2", "/vendors/0/positive_percent", r#""95.13""#),
    ("empire/users/saved_empire_user_2", "/vendors/0/level", r#""6""#),
    ("empire/users/saved_empire_user_2", "/vendors/0/contacts/len", "1"),
    ("empire/users/saved_empire_user_2", "/vendors/0/external_ratings/0/sales", "160"),
    // the PGP tab: the key's v4 fingerprint
    ("empire/pgp/saved_empire_pgp_0", "/vendors/0/name", r#""ChillTimes""#),
    ("empire/pgp/saved_empire_pgp_0", "/vendors/0/pgp_fingerprint", r#""2BB2515C0C6EA79F307A1DD5BA14BEA457B5C180""#),
    ("empire/pgp/saved_empire_pgp_0", "/vendors/0/sales", "385"),
    ("empire/pgp/saved_empire_pgp_0", "/vendors/0/positive_percent", r#""99.7""#),
    ("empire/pgp/saved_empire_pgp_0", "/vendors/0/external_ratings/len", "2"),
    ("empire/pgp/saved_empire_pgp_0", "/vendors/0/external_ratings/1/market", r#""Wall Street Market""#),
    // feedback tab
    ("empire/feedback/saved_empire_feedback_0", "/vendors/0/name", r#""Terpzz""#),
    ("empire/feedback/saved_empire_feedback_0", "/vendors/0/feedback_positive", "449"),
    ("empire/feedback/saved_empire_feedback_0", "/feedback/len", "30"),
    ("empire/feedback/saved_empire_feedback_0", "/feedback/0/date", r#""Sep 27, 2019 20:49""#),
    ("empire/feedback/saved_empire_feedback_0", "/feedback/0/rating", r#""positive""#),
    ("empire/feedback/saved_empire_feedback_0", "/feedback/0/buyer", r#""b***s""#),
    ("empire/feedback/saved_empire_feedback_0", "/feedback/0/price", r#"{"amount":"412.50","currency":"USD"}"#),
    ("empire/feedback/saved_empire_feedback_0", "/feedback/0/vendor", r#""Terpzz""#),
    ("empire/feedback/saved_empire_feedback_1", "/vendors/0/name", r#""EverythingDank""#),
    ("empire/feedback/saved_empire_feedback_1", "/feedback/len", "30"),
    // search results
    ("empire/search_results/saved_empire_search_result_0", "/listings/len", "15"),
    ("empire/search_results/saved_empire_search_result_0", "/listings/0/market_listing_id", r#""35791""#),
    ("empire/search_results/saved_empire_search_result_0", "/listings/0/vendor", r#""TheCircuit""#),
    ("empire/search_results/saved_empire_search_result_0", "/listings/0/sold", "199"),
    (
        "empire/search_results/saved_empire_search_result_0",
        "/listings/0/price",
        r#"{"amount":"75.00","currency":"USD"}"#,
    ),
    ("empire/search_results/saved_empire_search_result_0", "/listings/0/price_btc", r#""0.009444""#),
    ("empire/search_results/saved_empire_search_result_0", "/listings/0/category", r#"["Stimulants","Cocaine"]"#),
    ("empire/search_results/saved_empire_search_result_0", "/listings/0/stock", r#""Unlimited""#),
    ("empire/search_results/saved_empire_search_result_1", "/listings/len", "10"),
    ("empire/search_results/saved_empire_search_result_3", "/listings/len", "0"),
    // home page: featured listings and the category tree
    ("empire/saved_empire_category_index_0", "/listings/len", "8"),
    ("empire/saved_empire_category_index_0", "/listings/0/market_listing_id", r#""104289""#),
    ("empire/saved_empire_category_index_0", "/listings/0/vendor", r#""BlackMidas""#),
    ("empire/saved_empire_category_index_0", "/listings/0/price", r#"{"amount":"4.99","currency":"USD"}"#),
    ("empire/saved_empire_category_index_0", "/categories/0/name", r#""Fraud""#),
    ("empire/saved_empire_category_index_0", "/categories/0/count", "4911"),
    ("empire/saved_empire_category_index_0", "/categories/1/name", r#""Accounts & Bank Drops""#),
    ("empire/saved_empire_category_index_0", "/categories/1/count", "2082"),
];

#[test]
fn empire_pages_are_claimed_with_their_type() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_page_types(&pages, MARKET, PAGES);
}

#[test]
fn empire_facts_match_the_pages() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_facts(&pages, FACTS);
}

#[test]
fn empire_does_not_claim_other_markets() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_claims_no_other_page(&pages, MARKET, &[]);
}

#[test]
fn every_empire_record_names_the_empire_profile() {
    let Some(pages) = common::pages_dir() else { return };
    let seen = common::check_provenance(&pages, MARKET, PAGES);
    assert!(seen > 300, "only {seen} records over all pages");
}

#[test]
fn apollon_404_filed_under_empire_is_not_claimed_by_empire() {
    let Some(pages) = common::pages_dir() else { return };
    let out = common::extract_rel(&pages, "empire/custom_server_errors/apollon_404_0");
    assert_ne!(out.market.as_deref(), Some(MARKET));
    assert_eq!(out.page_type, PageType::Error);
}
