//! Every generated page, run through `extract::extract_page` with the
//! built-in profiles and market auto-detection, yields exactly the market,
//! page type, records and identifiers the generator put there.

use std::collections::BTreeSet;

use extract::{extract_page, PageExtraction, PageInput, ProfileSet};
use model::IdentifierKind;
use sim::{generate_markets, MarketSimConfig, SimFile, TruthPage};

fn profiles() -> &'static ProfileSet {
    static SET: std::sync::OnceLock<ProfileSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        ProfileSet::builtin().unwrap_or_else(|e| panic!("built-in profiles load: {e}"))
    })
}

fn extract(f: &SimFile) -> PageExtraction {
    let mut input = PageInput::new(&f.bytes, model::Sha256::of(&f.bytes));
    input.source = Some(&f.rel_path);
    extract_page(&input, profiles(), None)
}

fn identifiers(out: &PageExtraction, kind: IdentifierKind) -> BTreeSet<String> {
    out.identifiers
        .iter()
        .filter(|i| i.kind == kind)
        .map(|i| i.value.clone())
        .collect()
}

/// Compares one page; returns what differs, so one run lists every problem.
fn check(f: &SimFile, want: &TruthPage) -> Vec<String> {
    let mut got = extract(f);
    let mut problems = Vec::new();
    let mut same = |what: &str, ok: bool, detail: String| {
        if !ok {
            problems.push(format!("{}: {what}: {detail}", f.rel_path));
        }
    };
    same(
        "market",
        got.market.as_deref() == Some(want.market.as_str()),
        format!("{:?}", got.market),
    );
    same(
        "page type",
        got.page_type == want.page_type,
        format!("{:?} != {:?}", got.page_type, want.page_type),
    );
    // Every record carries provenance naming the sim profile; truth has none.
    let all_prov = got
        .listings
        .iter_mut()
        .map(|r| r.provenance.take())
        .chain(got.vendors.iter_mut().map(|r| r.provenance.take()))
        .chain(got.feedback.iter_mut().map(|r| r.provenance.take()))
        .chain(got.categories.iter_mut().map(|r| r.provenance.take()))
        .collect::<Vec<_>>();
    same(
        "provenance",
        all_prov
            .iter()
            .all(|p| p.as_ref().is_some_and(|p| p.profile == want.market)),
        format!("{all_prov:?}"),
    );
    same(
        "listings",
        got.listings == want.listings,
        format!("\n got {:?}\nwant {:?}", got.listings, want.listings),
    );
    same(
        "vendors",
        got.vendors == want.vendors,
        format!("\n got {:?}\nwant {:?}", got.vendors, want.vendors),
    );
    same(
        "feedback",
        got.feedback == want.feedback,
        format!("\n got {:?}\nwant {:?}", got.feedback, want.feedback),
    );
    same(
        "categories",
        got.categories == want.categories,
        format!("\n got {:?}\nwant {:?}", got.categories, want.categories),
    );
    let btc = identifiers(&got, IdentifierKind::Btc);
    let want_btc: BTreeSet<String> = want.btc_addresses.iter().cloned().collect();
    same(
        "btc identifiers",
        btc == want_btc,
        format!("{btc:?} != {want_btc:?}"),
    );
    let pgp = identifiers(&got, IdentifierKind::Pgp);
    let want_pgp: BTreeSet<String> = want.pgp_fingerprints.iter().cloned().collect();
    same(
        "pgp identifiers",
        pgp == want_pgp,
        format!("{pgp:?} != {want_pgp:?}"),
    );
    problems
}

fn check_case(cfg: &MarketSimConfig) {
    let case = generate_markets(cfg);
    assert_eq!(case.files.len(), case.truth.pages.len());
    let problems: Vec<String> = case
        .files
        .iter()
        .zip(&case.truth.pages)
        .flat_map(|(f, p)| check(f, p))
        .collect();
    assert!(
        problems.is_empty(),
        "{} problems, first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn default_demo_round_trips_through_extraction() {
    check_case(&MarketSimConfig::default());
}

#[test]
fn all_four_markets_round_trip_through_extraction() {
    check_case(&MarketSimConfig {
        seed: 99,
        operators: 10,
        markets: 4,
        ..Default::default()
    });
}

#[test]
fn vendor_fingerprints_and_addresses_match_the_truth_accounts() {
    let case = generate_markets(&MarketSimConfig::default());
    let mut vendor_pages = 0;
    for (f, p) in case.files.iter().zip(&case.truth.pages) {
        if p.page_type != model::PageType::Vendor {
            continue;
        }
        vendor_pages += 1;
        let got = extract(f);
        let [vendor] = got.vendors.as_slice() else {
            panic!("{}: one vendor, got {:?}", f.rel_path, got.vendors)
        };
        let account = format!("{}/{}", p.market, vendor.name);
        let Some(truth) = case.truth.accounts.iter().find(|a| a.account == account) else {
            panic!(
                "{}: extracted vendor {account} is not in the truth",
                f.rel_path
            )
        };
        assert_eq!(
            vendor.pgp_fingerprint.as_deref(),
            Some(truth.pgp_fingerprint.as_str()),
            "{account}"
        );
        assert_eq!(vendor.contacts, truth.contacts, "{account}");
        let btc: BTreeSet<String> = identifiers(&got, IdentifierKind::Btc);
        assert_eq!(
            btc,
            truth.btc_addresses.iter().cloned().collect(),
            "{account}"
        );
        assert_eq!(got.feedback.len(), truth.feedback, "{account}");
    }
    assert_eq!(vendor_pages, case.truth.accounts.len());
}

/// Listing pages embed product photos (not every listing has one), on both
/// layouts, and extraction hashes exactly the picture the truth names.
#[test]
fn listing_photos_are_embedded_and_hashed_as_the_truth_says() {
    let case = generate_markets(&MarketSimConfig { seed: 99, operators: 10, markets: 4, ..Default::default() });
    let (mut with, mut without) = (BTreeSet::new(), 0);
    for (f, p) in case.files.iter().zip(&case.truth.pages) {
        if p.page_type != model::PageType::Listing {
            continue;
        }
        let got = extract(f);
        let [listing] = got.listings.as_slice() else { panic!("{}: one listing", f.rel_path) };
        assert_eq!(listing.photos, p.listings[0].photos, "{}", f.rel_path);
        match listing.photos.as_slice() {
            [h] => {
                assert_eq!(h.len(), 16);
                with.insert(p.market.clone());
            }
            [] => without += 1,
            more => panic!("{}: {more:?}", f.rel_path),
        }
    }
    assert_eq!(with.len(), 4, "photos on every market: {with:?}");
    assert!(without > 0, "some listings have no photo");
}
