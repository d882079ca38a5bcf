//! The Dream profile against the real captures in `shared/data` (read in
//! place, never copied). Every Dream page must be claimed by the profile with
//! the right page type, and single facts read from the pages by hand must come
//! out exactly: names, prices with currency, dates, counts, fingerprints.

mod common;

use common::{Fact, PageCase};
use model::PageType;

const MARKET: &str = "dream";

/// Every Dream capture with the page type it must get.
const PAGES: &[PageCase] = &[
    ("dream/anti_ddos/anti_ddos_0.html", PageType::Ddos),
    ("dream/item_not_found/not_found_0.html", PageType::Error),
    ("dream/listings/listing_0.html", PageType::Listing),
    ("dream/listings/listing_1.html", PageType::Listing),
    ("dream/listings/listing_2.html", PageType::Listing),
    ("dream/listings/listing_3.html", PageType::Listing),
    ("dream/listings/listing_4.html", PageType::Listing),
    ("dream/listings/listing_5.html", PageType::Listing),
    ("dream/login_page/login_0.html", PageType::Login),
    ("dream/login_page/login_1.html", PageType::Login),
    ("dream/main_page/main_page_0.html", PageType::Main),
    // A category's offer grid ("Fraud Related").
    ("dream/search_result/search_result_0.html", PageType::Search),
    ("dream/sellers/seller_0", PageType::Vendor),
    ("dream/sellers/seller_0.html", PageType::Vendor),
    ("dream/sellers/seller_1.html", PageType::Vendor),
    // seller_2, 6, 8 and 9 are profiles opened on their Ratings tab.
    ("dream/sellers/seller_2.html", PageType::Vendor),
    ("dream/sellers/seller_3.html", PageType::Vendor),
    ("dream/sellers/seller_4.html", PageType::Vendor),
    ("dream/sellers/seller_5.html", PageType::Vendor),
    ("dream/sellers/seller_6.html", PageType::Vendor),
    ("dream/sellers/seller_7.html", PageType::Vendor),
    ("dream/sellers/seller_8.html", PageType::Vendor),
    ("dream/sellers/seller_9.html", PageType::Vendor),
];

/// Single facts read from the pages by hand: (page, JSON pointer into the
/// page's records, expected JSON value); a pointer ending in `/len` names the
/// length of the array before it.
const FACTS: &[Fact] = &[
    // listing pages
    ("dream/listings/listing_0.html", "/listings/len", "1"),
    ("dream/listings/listing_0.html", "/listings/0/title", r#""☢100 PILLS X Soma 350mg $49☢""#),
    ("dream/listings/listing_0.html", "/listings/0/market_listing_id", r#""963991.376934""#),
    ("dream/listings/listing_0.html", "/listings/0/vendor", r#""PHARMORA""#),
    ("dream/listings/listing_0.html", "/listings/0/price", r#"{"amount":"50.96","currency":"USD"}"#),
    ("dream/listings/listing_0.html", "/listings/0/price_usd", r#""50.96""#),
    ("dream/listings/listing_0.html", "/listings/0/ships_from", r#""United States""#),
    ("dream/listings/listing_0.html", "/listings/0/ships_to", r#"["United States","Worldwide"]"#),
    ("dream/listings/listing_0.html", "/listings/0/category", r#"["Drugs"]"#),
    ("dream/listings/listing_0.html", "/listings/0/shipping_methods/len", "2"),
    ("dream/listings/listing_0.html", "/vendors/0/name", r#""PHARMORA""#),
    ("dream/listings/listing_0.html", "/vendors/0/sales", "1000"),
    ("dream/listings/listing_0.html", "/vendors/0/rating", r#""4.97""#),
    ("dream/listings/listing_0.html", "/feedback/len", "2"),
    ("dream/listings/listing_0.html", "/feedback/1/date", r#""19d""#),
    ("dream/listings/listing_0.html", "/feedback/1/rating", r#""5/5""#),
    ("dream/listings/listing_0.html", "/feedback/1/vendor", r#""PHARMORA""#),
    // "฿0.000787 (€7.28)": the price is the bitcoin amount, not the euro one.
    ("dream/listings/listing_1.html", "/listings/0/price", r#"{"amount":"0.000787","currency":"BTC"}"#),
    ("dream/listings/listing_1.html", "/listings/0/price_btc", r#""0.000787""#),
    ("dream/listings/listing_1.html", "/listings/0/vendor", r#""europe""#),
    ("dream/listings/listing_1.html", "/listings/0/category", r#"["Digital Goods","Software"]"#),
    ("dream/listings/listing_1.html", "/vendors/0/trust", r#""Not advanced to trusted seller""#),
    ("dream/listings/listing_2.html", "/listings/0/price_usd", r#""3.1096000000000004""#),
    ("dream/listings/listing_2.html", "/listings/0/shipping_methods", r#"["Private Message"]"#),
    ("dream/listings/listing_2.html", "/vendors/0/sales", "14500"),
    ("dream/listings/listing_3.html", "/listings/0/ships_from", r#""China""#),
    ("dream/listings/listing_4.html", "/listings/0/category", r#"["Other","Counterfeits","Accessories"]"#),
    ("dream/listings/listing_5.html", "/listings/0/category", r#"["Drugs","Stimulants","Speed"]"#),
    ("dream/listings/listing_5.html", "/listings/0/ships_from", r#""Germany""#),
    ("dream/listings/listing_5.html", "/listings/0/vendor", r#""chikata""#),
    // vendor profiles
    ("dream/sellers/seller_0.html", "/vendors/len", "1"),
    ("dream/sellers/seller_0.html", "/vendors/0/name", r#""JoyInc""#),
    ("dream/sellers/seller_0.html", "/vendors/0/registered", r#""24/08/2018""#),
    ("dream/sellers/seller_0.html", "/vendors/0/last_seen", r#""18/11/2018""#),
    ("dream/sellers/seller_0.html", "/vendors/0/sales", "680"),
    ("dream/sellers/seller_0.html", "/vendors/0/rating", r#""4.96""#),
    ("dream/sellers/seller_0.html", "/vendors/0/trust", r#""86 trust / 7 distrust""#),
    ("dream/sellers/seller_0.html", "/vendors/0/pgp_fingerprint", r#""CADFC78BCB67070C0C2D141923A5B750309D62E5""#),
    ("dream/sellers/seller_0.html", "/listings/len", "17"),
    ("dream/sellers/seller_0.html", "/listings/0/price", r#"{"amount":"65.8","currency":"USD"}"#),
    ("dream/sellers/seller_0.html", "/listings/0/vendor", r#""JoyInc""#),
    ("dream/sellers/seller_1.html", "/vendors/0/name", r#""Antonio777""#),
    ("dream/sellers/seller_1.html", "/vendors/0/pgp_fingerprint", r#""E362344E43958F4CD865C15637D1B00FC35FBD81""#),
    ("dream/sellers/seller_2.html", "/vendors/0/name", r#""amsterdamsupply""#),
    ("dream/sellers/seller_2.html", "/vendors/0/registered", r#""23/04/2017""#),
    ("dream/sellers/seller_2.html", "/vendors/0/sales", "20"),
    ("dream/sellers/seller_2.html", "/vendors/0/external_ratings/0/market", r#""Hansa""#),
    ("dream/sellers/seller_2.html", "/vendors/0/external_ratings/0/rating", r#""11/0/0""#),
    ("dream/sellers/seller_2.html", "/feedback/len", "23"),
    ("dream/sellers/seller_2.html", "/feedback/3/date", r#""56d""#),
    ("dream/sellers/seller_2.html", "/feedback/3/rating", r#""1/5""#),
    ("dream/sellers/seller_2.html", "/feedback/3/buyer", r#""S . . . w""#),
    ("dream/sellers/seller_2.html", "/feedback/3/price", r#"{"amount":"0.14","currency":"BTC"}"#),
    ("dream/sellers/seller_2.html", "/feedback/3/vendor", r#""amsterdamsupply""#),
    ("dream/sellers/seller_6.html", "/vendors/0/trust", r#""10 trust / 1 distrust""#),
    ("dream/sellers/seller_6.html", "/vendors/0/external_ratings/0/market", r#""AlphaBay""#),
    ("dream/sellers/seller_6.html", "/vendors/0/external_ratings/0/rating", r#""332/9/6""#),
    ("dream/sellers/seller_6.html", "/feedback/len", "93"),
    ("dream/sellers/seller_6.html", "/feedback/0/price", r#"{"amount":"58","currency":"USD"}"#),
    // Declared ISO-8859-1, really UTF-8 with double-encoded text kept as is.
    ("dream/sellers/seller_8.html", "/vendors/0/name", r#""HighSpeed""#),
    ("dream/sellers/seller_8.html", "/feedback/len", "300"),
    ("dream/sellers/seller_8.html", "/feedback/2/text", r#""Schnelle Lieferung und sehr gute QualitÃ¤t""#),
    ("dream/sellers/seller_8.html", "/feedback/2/date", r#""1d 22h""#),
    ("dream/sellers/seller_9.html", "/vendors/0/name", r#""PinkQueen""#),
    ("dream/sellers/seller_9.html", "/vendors/0/sales", "5800"),
    ("dream/sellers/seller_9.html", "/vendors/0/external_ratings/len", "2"),
    // category offer grid
    ("dream/search_result/search_result_0.html", "/listings/len", "32"),
    ("dream/search_result/search_result_0.html", "/listings/0/vendor", r#""MoneyMakerBoss""#),
    ("dream/search_result/search_result_0.html", "/listings/0/market_listing_id", r#""178049.523731""#),
    ("dream/search_result/search_result_0.html", "/listings/0/price", r#"{"amount":"0.000523","currency":"BTC"}"#),
    ("dream/search_result/search_result_0.html", "/listings/0/ships_from", r#""WW""#),
    ("dream/search_result/search_result_0.html", "/listings/0/category", r#"["Digital Goods","Fraud Related"]"#),
    ("dream/search_result/search_result_0.html", "/categories/0/name", r#""Fraud Related""#),
    ("dream/search_result/search_result_0.html", "/categories/0/count", "8419"),
    ("dream/search_result/search_result_0.html", "/categories/len", "9"),
    // welcome page: the top-level category tree
    ("dream/main_page/main_page_0.html", "/categories/len", "5"),
    ("dream/main_page/main_page_0.html", "/categories/1/name", r#""Drugs""#),
    ("dream/main_page/main_page_0.html", "/categories/1/count", "55429"),
];

#[test]
fn dream_pages_are_claimed_with_their_type() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_page_types(&pages, MARKET, PAGES);
}

#[test]
fn dream_facts_match_the_pages() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_facts(&pages, FACTS);
}

#[test]
fn dream_does_not_claim_other_markets() {
    let Some(pages) = common::pages_dir() else { return };
    common::check_claims_no_other_page(&pages, MARKET, &[]);
}

#[test]
fn every_dream_record_names_the_dream_profile() {
    let Some(pages) = common::pages_dir() else { return };
    let seen = common::check_provenance(&pages, MARKET, PAGES);
    assert!(seen > 900, "only {seen} records over all pages");
}

/// Dream's page template opens every page with an off-screen anti-phishing
/// decoy: links labelled "Phisher site", one to a bitcoin address. The
/// address is the market's, on the pages of every vendor; the profile's
/// `template` rule leaves it out, with a note naming the rule. Identifiers
/// anywhere else on the pages (the vendors' keys and contacts) are kept,
/// and no identifier is left on the pages of more than one vendor.
#[test]
fn dream_template_decoy_is_no_vendors_identifier() {
    use std::collections::{BTreeMap, BTreeSet};
    let Some(pages) = common::pages_dir() else { return };
    let mut vendors_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut left_out: BTreeSet<String> = BTreeSet::new();
    let mut kept = 0;
    for rel in common::every_page(&pages).into_iter().filter(|r| r.starts_with("dream/")) {
        let out = common::extract_rel(&pages, &rel);
        let bytes = std::fs::read(pages.join(&rel)).unwrap();
        // The generic scan over the whole page: what the page shows anywhere.
        let everything = extract::find_identifiers(&extract::decode(&bytes, None).text, model::Sha256::of(&bytes));
        let vendors: BTreeSet<String> = out
            .vendors
            .iter()
            .map(|v| v.name.clone())
            .chain(out.listings.iter().filter_map(|l| l.vendor.clone()))
            .collect();
        for id in &everything {
            let note = out
                .diagnostics
                .iter()
                .any(|d| d.contains(&format!("identifier {} {} ", id.kind.as_str(), id.value)) && d.contains("template[0]"));
            let extracted = out.identifiers.iter().any(|i| i.kind == id.kind && i.value == id.value);
            if id.kind == model::IdentifierKind::Btc {
                // The one bitcoin address on Dream's pages is the decoy's.
                assert!(note && !extracted, "{rel}: btc {} kept, or left out without a note", id.value);
                left_out.insert(id.value.clone());
            } else {
                assert!(extracted && !note, "{rel}: {} {} not kept", id.kind.as_str(), id.value);
                kept += 1;
            }
        }
        assert_eq!(out.identifiers.len(), everything.len() - everything.iter().filter(|i| i.kind == model::IdentifierKind::Btc).count(), "{rel}");
        for id in &out.identifiers {
            vendors_of.entry(format!("{}:{}", id.kind.as_str(), id.value)).or_default().extend(vendors.iter().cloned());
        }
    }
    assert_eq!(left_out.len(), 1, "one decoy address: {left_out:?}");
    // PGP keys, e-mail and Wickr contacts of the vendors.
    assert!(kept >= 8, "only {kept} vendor identifiers kept");
    for (id, vendors) in &vendors_of {
        assert!(vendors.len() <= 1, "{id} is on the pages of {} vendors: {vendors:?}", vendors.len());
    }
    // The vendors' own keys are still theirs.
    let seller = common::extract_rel(&pages, "dream/sellers/seller_0.html");
    assert!(seller.identifiers.iter().any(|i| i.value == "CADFC78BCB67070C0C2D141923A5B750309D62E5"));
}
