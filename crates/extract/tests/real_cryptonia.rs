//! The Cryptonia profile against the real captures in `shared/data` (read in
//! place, never copied). Every Cryptonia page must be claimed by the profile
//! with the right page type, and single facts read from the pages by hand
//! must come out exactly: names, prices, dates, counts, verifications on
//! other markets, PGP fingerprints. No page of another market's folder is
//! claimed.

mod common;

use common::{Fact, PageCase};
use model::PageType;

const MARKET: &str = "cryptonia";

/// Every Cryptonia capture.
const PAGES: &[PageCase] = &[
    ("cryptonia/ddos/anti_ddos_page", PageType::Ddos),
    // The feedback tab is the profile document; the capture's path says which.
    ("cryptonia/feedback/saved_feedback_0", PageType::Feedback),
    ("cryptonia/listings/saved_cryptonia_listing_0", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_1", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_2", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_3", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_4", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_5", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_6", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_7", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_8", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_9", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_10", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_11", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_12", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_13", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_14", PageType::Listing),
    ("cryptonia/listings/saved_cryptonia_listing_15", PageType::Listing),
    ("cryptonia/login_page/saved_cryptonia_login_page_0", PageType::Login),
    ("cryptonia/login_page/saved_cryptonia_login_page_1", PageType::Login),
    // `/products` with no filter: the catalogue under the category tree.
    ("cryptonia/saved_cryptonia_category_index_0", PageType::Category),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_0", PageType::Search),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_1", PageType::Search),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_2", PageType::Search),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_3", PageType::Search),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_4", PageType::Search),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_5", PageType::Search),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_6", PageType::Search),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_7", PageType::Search),
    ("cryptonia/users/saved_cryptonia_user_profile_0", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_1", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_2", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_3", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_4", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_5", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_6", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_7", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_8", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_9", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_10", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_11", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_12", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_13", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_14", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_15", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_16", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_17", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_18", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_19", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_20", PageType::Vendor),
    ("cryptonia/users/saved_cryptonia_user_profile_21", PageType::Vendor),
];

/// Single facts read from the pages by hand: (page, JSON pointer into the
/// page's records, expected JSON value); a pointer ending in `/len` names the
/// length of the array before it.
const FACTS: &[Fact] = &[
    // listing page
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/len", "1"),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/title", r#""112g Purple Tangie GREENHOUSE""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/market_listing_id", r#""19926843""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/vendor", r#""CaliTerps""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/category", r#"["Weed"]"#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/price", r#"{"amount":"485.00","currency":"USD"}"#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/price_btc", r#""0.05199685""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/stock", r#""17 112g""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/ships_from", r#""United States""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/listings/0/ships_to", r#"["United States"]"#),
    (
        "cryptonia/listings/saved_cryptonia_listing_0",
        "/listings/0/shipping_methods",
        r#"["Priority Mail (16.00 USD)","Add On (0.00 USD)"]"#,
    ),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/vendors/0/name", r#""CaliTerps""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/vendors/0/sales", "1335"),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/vendors/0/positive_percent", r#""99.31""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/vendors/0/level", r#""LEVEL 2""#),
    (
        "cryptonia/listings/saved_cryptonia_listing_0",
        "/vendors/0/external_ratings",
        r#"[{"market":"Dream","sales":4300,"rating":"4.96/5","account":null}]"#,
    ),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/feedback/len", "25"),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/feedback/0/date", r#""2019-10-27""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/feedback/0/buyer", r#""g***s""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/feedback/0/price", r#"{"amount":"0.23110000","currency":"BTC"}"#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/feedback/0/listing", r#""448g Super Lemon Haze GREENHOUSE""#),
    ("cryptonia/listings/saved_cryptonia_listing_0", "/feedback/0/vendor", r#""CaliTerps""#),
    // A truncated capture: the title and id survive, nothing else.
    ("cryptonia/listings/saved_cryptonia_listing_15", "/listings/0/market_listing_id", r#""5534443""#),
    ("cryptonia/listings/saved_cryptonia_listing_15", "/listings/0/price", "null"),
    // vendor profiles
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/vendors/len", "1"),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/vendors/0/name", r#""terrysukstock""#),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/vendors/0/sales", "1490"),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/vendors/0/positive_percent", r#""96.87""#),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/vendors/0/registered", r#""2019-04-15 13:19:58""#),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/vendors/0/last_seen", r#""Within the last 24 hours""#),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/vendors/0/level", r#""LEVEL 1""#),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/vendors/0/trust", r#""VERIFIED""#),
    (
        "cryptonia/users/saved_cryptonia_user_profile_0",
        "/vendors/0/pgp_fingerprint",
        r#""37474A6869D513FF0DADD79268DD47D7666DB031""#,
    ),
    (
        "cryptonia/users/saved_cryptonia_user_profile_0",
        "/vendors/0/external_ratings",
        r#"[{"market":"Dream","sales":34000,"rating":"4.82/5","account":null},
            {"market":"Wallstreet","sales":354,"rating":"4.7/5","account":null},
            {"market":"Alphabay","sales":null,"rating":"9888/44/57","account":null}]"#,
    ),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/feedback/len", "25"),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/feedback/0/date", r#""2019-10-29""#),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/feedback/0/buyer", r#""p***k""#),
    ("cryptonia/users/saved_cryptonia_user_profile_0", "/feedback/0/rating", r#""positive""#),
    (
        "cryptonia/users/saved_cryptonia_user_profile_2",
        "/vendors/0/external_ratings",
        r#"[{"market":"Dream","sales":3700,"rating":"4.96/5","account":null},
            {"market":"Wallstreet","sales":910,"rating":"4.93/5","account":null}]"#,
    ),
    // Two captures concatenated with log lines: counted once.
    ("cryptonia/users/saved_cryptonia_user_profile_7", "/vendors/0/name", r#""cindicator""#),
    ("cryptonia/users/saved_cryptonia_user_profile_7", "/vendors/0/contacts", r#"["jabber:cindicator@xmpp.jp"]"#),
    (
        "cryptonia/users/saved_cryptonia_user_profile_7",
        "/vendors/0/external_ratings",
        r#"[{"market":"Empire","sales":58,"rating":"96.67/100%","account":null}]"#,
    ),
    ("cryptonia/users/saved_cryptonia_user_profile_7", "/feedback/len", "4"),
    ("cryptonia/users/saved_cryptonia_user_profile_7", "/feedback/0/rating", r#""negative""#),
    ("cryptonia/users/saved_cryptonia_user_profile_7", "/feedback/0/date", r#""2019-10-21""#),
    // A page with U+0085 in its text.
    ("cryptonia/users/saved_cryptonia_user_profile_14", "/vendors/0/name", r#""ConnectingBritain""#),
    (
        "cryptonia/users/saved_cryptonia_user_profile_14",
        "/vendors/0/external_ratings",
        r#"[{"market":"Dream","sales":185,"rating":"4.99/5","account":null}]"#,
    ),
    // feedback tab capture of terrysukstock, a day after the profile capture
    ("cryptonia/feedback/saved_feedback_0", "/vendors/0/name", r#""terrysukstock""#),
    ("cryptonia/feedback/saved_feedback_0", "/vendors/0/sales", "1509"),
    ("cryptonia/feedback/saved_feedback_0", "/vendors/0/positive_percent", r#""96.93""#),
    ("cryptonia/feedback/saved_feedback_0", "/feedback/0/date", r#""2019-10-30""#),
    ("cryptonia/feedback/saved_feedback_0", "/feedback/0/buyer", r#""G***r""#),
    ("cryptonia/feedback/saved_feedback_0", "/feedback/0/price", r#"{"amount":"0.02080000","currency":"BTC"}"#),
    // product grids and the category tree
    ("cryptonia/saved_cryptonia_category_index_0", "/listings/len", "25"),
    ("cryptonia/saved_cryptonia_category_index_0", "/listings/0/market_listing_id", r#""21487873""#),
    ("cryptonia/saved_cryptonia_category_index_0", "/listings/0/vendor", r#""Vendy_McVendface""#),
    ("cryptonia/saved_cryptonia_category_index_0", "/listings/0/price", r#"{"amount":"131.25","currency":"USD"}"#),
    ("cryptonia/saved_cryptonia_category_index_0", "/listings/0/price_btc", r#""0.01590487""#),
    ("cryptonia/saved_cryptonia_category_index_0", "/listings/0/category", "[]"),
    ("cryptonia/saved_cryptonia_category_index_0", "/categories/len", "68"),
    ("cryptonia/saved_cryptonia_category_index_0", "/categories/0/name", r#""Weed""#),
    ("cryptonia/saved_cryptonia_category_index_0", "/categories/0/count", "2867"),
    ("cryptonia/saved_cryptonia_category_index_0", "/categories/0/link", r#""/products/all/Weed""#),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_0", "/listings/len", "25"),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_0", "/listings/0/title", r#""448g Purple Tangie GREENHOUSE""#),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_0", "/listings/0/category", r#"["Weed"]"#),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_0", "/listings/0/ships_from", r#""US""#),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_0", "/listings/2/vendor", r#""GreenSupreme""#),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_0", "/listings/2/ships_to/len", "10"),
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_0", "/categories/1/count", "623"),
    // "No products found in this category."
    ("cryptonia/search_results/saved_cryptonia_search_result_in_category_5", "/listings/len", "0"),
];

#[test]
fn cryptonia_pages_are_claimed_with_their_type() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_page_types(&pages, MARKET, PAGES);
}

#[test]
fn cryptonia_facts_match_the_pages() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_facts(&pages, FACTS);
}

#[test]
fn byte_identical_captures_give_identical_records() {
    let Some(pages) = common::pages_dir() else { return };
    let a = common::extract_rel(&pages, "cryptonia/listings/saved_cryptonia_listing_5");
    let b = common::extract_rel(&pages, "cryptonia/listings/saved_cryptonia_listing_6");
    assert_eq!(a.listings.len(), 1);
    assert_eq!(common::records_json(&a), common::records_json(&b));
}

#[test]
fn every_record_names_the_cryptonia_profile() {
    let Some(pages) = common::pages_dir() else { return };
    let seen = common::check_provenance(&pages, MARKET, PAGES);
    assert!(seen > 200, "only {seen} records over all pages");
}

#[test]
fn cryptonia_claims_no_other_market_page() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_claims_no_other_page(&pages, MARKET, &[]);
}

/// A key or address a buyer writes in feedback is the buyer's words, not
/// the vendor's: left out with a note naming the feedback rule. Pasted on
/// two vendors' pages, it had hard-linked them (found by a review). The same
/// address shown outside the feedback is kept.
#[test]
fn identifiers_in_buyers_feedback_are_no_vendors() {
    let Some(pages) = common::pages_dir() else { return };
    let rel = "cryptonia/users/saved_cryptonia_user_profile_18";
    let page = std::fs::read_to_string(pages.join(rel)).unwrap();
    let feedback = "<p>Arrived as described, well packaged.</p>";
    assert!(page.contains(feedback), "the page changed");
    let address = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT";
    let extract = |html: &str| {
        let mut input = extract::PageInput::new(html.as_bytes(), model::Sha256::of(html.as_bytes()));
        input.source = Some(rel);
        extract::extract_page(&input, common::profiles(), None)
    };
    let in_feedback = page.replacen(feedback, &format!("<p>Arrived. Pay me back at {address}</p>"), 1);
    let out = extract(&in_feedback);
    assert!(!out.identifiers.iter().any(|i| i.value == address), "{:?}", out.identifiers);
    assert!(out.diagnostics.iter().any(|d| d.contains(address) && d.contains("a buyer's words") && d.contains("records[")), "{:?}", out.diagnostics);
    // The vendor's own key stays.
    assert!(out.identifiers.iter().any(|i| i.kind == model::IdentifierKind::Pgp));
    // Shown outside the feedback as well, it is the page's.
    let also_outside = in_feedback.replacen("</body>", &format!("<p>{address}</p></body>"), 1);
    assert!(extract(&also_outside).identifiers.iter().any(|i| i.value == address));
}
