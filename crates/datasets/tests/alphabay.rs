//! AlphaBay 2017 importer over the real files in
//! `shared/data/listings/alphabay-2017` (read in place), plus small inline
//! inputs for the error paths.
//!
//! Every expected number here was taken from the raw files independently of
//! the importer (Python's csv module over the Mac OS Roman text, and the bytes).

use datasets::{detect, DatasetExtraction, DatasetFormat, Severity};

mod common;

fn run(name: &str, bytes: &[u8]) -> DatasetExtraction {
    common::parse_as(&DatasetFormat::AlphaBay2017, name, bytes)
}

fn load(file: &str) -> Option<DatasetExtraction> {
    let bytes = common::read_shared(&format!("listings/alphabay-2017/{file}"))?;
    assert_eq!(detect(file, &bytes), Some(DatasetFormat::AlphaBay2017), "{file}");
    assert_eq!(detect(&format!("elsewhere/{file}"), &bytes), Some(DatasetFormat::AlphaBay2017), "{file}");
    let out = run(file, &bytes);
    assert_eq!(out.format, "alphabay-2017");
    Some(out)
}

use common::rule;

/// (file, rows = imported, distinct vendors); no file has a rejected row.
const FILES: [(&str, u64, usize); 69] = [
    ("Carded_items_-_20170510.csv", 419, 131),
    ("Counterfeit_items_-_20170508.csv", 2204, 245),
    ("D_C_-_benzos_-_other_-_20170420.csv", 493, 95),
    ("D_C_-_benzos_-_pills_-_20170422.csv", 642, 187),
    ("D_C_-_benzos_-_powder_-_20170425.csv", 317, 72),
    ("D_C_-_benzos_-_rcs_-_20170424.csv", 154, 37),
    ("D_C_-_cannabis_-_concentrates_-_20170422.csv", 620, 170),
    ("D_C_-_cannabis_-_edibles_-_20170427.csv", 639, 133),
    ("D_C_-_cannabis_-_flowers_-_20170425.csv", 696, 229),
    ("D_C_-_cannabis_-_hash_-_20170426.csv", 609, 190),
    ("D_C_-_cannabis_-_other_-_20170427.csv", 627, 140),
    ("D_C_-_cannabis_-_preroll_-_20170425.csv", 68, 32),
    ("D_C_-_cannabis_-_seeds_-_20170427.csv", 574, 44),
    ("D_C_-_cannabis_-_shake_-_20170424.csv", 144, 61),
    ("D_C_-_cannabis_-_synthetic_-_20170427.csv", 183, 37),
    ("D_C_-_cannabis_-_topicals_-_20170420.csv", 43, 18),
    ("D_C_-_dissoc_-_ketamine_-_20170422.csv", 639, 182),
    ("D_C_-_dissoc_-_mxe_-_20170417.csv", 48, 15),
    ("D_C_-_ecstasy_-_MDMA_-_20170419.csv", 663, 259),
    ("D_C_-_ecstasy_-_mda_-_20170419.csv", 62, 25),
    ("D_C_-_ecstasy_-_methylone_-_20170417.csv", 148, 27),
    ("D_C_-_ecstasy_-_other_-_20170419.csv", 288, 66),
    ("D_C_-_ecstasy_-_pills_-_20170421.csv", 642, 171),
    ("D_C_-_opiods_-_fentanyl_-_20170428.csv", 644, 134),
    ("D_C_-_opiods_-_heroin_-_20170425.csv", 647, 167),
    ("D_C_-_opiods_-_other_-_20170429.csv", 541, 187),
    ("D_C_-_opiods_-_pills_-_20170427.csv", 610, 224),
    ("D_C_-_other_-_other_-_20170503.csv", 390, 146),
    ("D_C_-_paraphrenalia_-_paraphrenalia_-_20170504.csv", 512, 40),
    ("D_C_-_prescription_-_prescription_-_20170417.csv", 642, 184),
    ("D_C_-_psych_-_2cb_-_20170422.csv", 247, 56),
    ("D_C_-_psych_-_dmt_-_20170420.csv", 369, 86),
    ("D_C_-_psych_-_dox_-_20170417.csv", 38, 16),
    ("D_C_-_psych_-_lsd_-_20170419.csv", 657, 169),
    ("D_C_-_psych_-_mescaline_-_20170420.csv", 28, 13),
    ("D_C_-_psych_-_mushrooms_-_20170421.csv", 405, 102),
    ("D_C_-_psych_-_nbome_-_20170418.csv", 240, 38),
    ("D_C_-_psych_-_other_-_20170418.csv", 247, 64),
    ("D_C_-_psych_-_rcs_-_20170419.csv", 99, 23),
    ("D_C_-_steroids_-_steriods_-_20170420.csv", 589, 85),
    ("D_C_-_stims_-_2fa_-_20170429.csv", 18, 4),
    ("D_C_-_stims_-_adderall_-_20170430.csv", 481, 203),
    ("D_C_-_stims_-_cocaine_-_20170420.csv", 696, 232),
    ("D_C_-_stims_-_crack_-_20170429.csv", 320, 78),
    ("D_C_-_stims_-_meth_-_20170427.csv", 647, 187),
    ("D_C_-_stims_-_other_-_20170427.csv", 638, 183),
    ("D_C_-_stims_-_pressed_pills_-_20170426.csv", 102, 36),
    ("D_C_-_stims_-_rcs_-_20170430.csv", 498, 74),
    ("D_C_-_stims_-_speed_-_20170427.csv", 639, 202),
    ("D_C_-_weight_loss_-_weight_loss_-_20170425.csv", 184, 60),
    ("Digital_products_-_ebooks_-_20170509.csv", 519, 107),
    ("Digital_products_-_fraud_software_-_20170509.csv", 309, 136),
    ("Digital_products_-_legit_software_-_20170509.csv", 595, 109),
    ("Digital_products_-_other_-_20170509.csv", 636, 128),
    ("Ditigal_products_-_game_keys_-_20170507.csv", 179, 29),
    ("Fraud_-_accounts___bank_drops_-_20170507.csv", 1867, 467),
    ("Fraud_-_ccv___cards_-_20170507.csv", 634, 279),
    ("Fraud_-_dumps_-_20170507.csv", 353, 130),
    ("Fraud_-_other_-_20170507.csv", 580, 247),
    ("Fraud_-_personal_information___scans_-_20170507.csv", 619, 179),
    ("Guides___tutorials_-_20170508.csv", 2829, 409),
    ("Jewels___gold_-_20170509.csv", 578, 47),
    ("Other_-_other_listings_-_20170511.csv", 575, 236),
    ("Secutiry___hosting_-_20170510.csv", 198, 97),
    ("Services_-_carding_-_20170511.csv", 247, 97),
    ("Services_-_other_-_20170511.csv", 586, 244),
    ("Services_-_social_engineering_-_20170510.csv", 193, 69),
    ("Software___malware_-_20170513.csv", 973, 227),
    ("Weapons_-_20170509.csv", 965, 130),
];

#[test]
fn every_file_counts() {
    let (mut total, mut auctions) = (0, 0);
    for (file, rows, vendors) in FILES {
        let Some(out) = load(file) else { return };
        assert_eq!((out.rows, out.imported, out.rejected), (rows, rows, 0), "{file}");
        assert_eq!(out.listings.len() as u64, rows, "{file}");
        assert_eq!(out.vendors.len(), vendors, "{file}");
        assert_eq!(out.market.as_deref(), Some("alphabay"));
        total += out.rows;
        // The file name's date is every observation's date.
        let digits = file.rsplit("_-_").next().and_then(|d| d.strip_suffix(".csv")).expect("date");
        let iso = format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]);
        // Auctions with no price to buy at are unpriced, each with a warning.
        let bids: std::collections::HashSet<u64> =
            out.problems.iter().filter(|p| p.message.starts_with("an auction's current bid")).map(|p| p.line).collect();
        auctions += bids.len();
        for l in &out.listings {
            assert_eq!(l.observed_at.as_deref(), Some(iso.as_str()), "{file}");
            assert_eq!(l.provenance.as_ref().map(|p| p.profile.as_str()), Some("dataset:alphabay-2017"));
            let Some(p) = l.price.as_ref() else {
                let line: u64 = rule(l).rsplit(' ').next().unwrap().parse().unwrap();
                assert!(bids.contains(&line), "{file} line {line} has no price and no bid warning");
                continue;
            };
            assert_eq!(p.currency, "USD");
            assert_eq!(l.price_usd.as_deref(), Some(p.amount.as_str()));
            assert!(!p.amount.contains(','));
            assert!(!l.category.is_empty() && !l.category.iter().any(|c| c.contains('_')), "{:?}", l.category);
        }
        assert!(out.vendors.iter().all(|v| v.observed_at.as_deref() == Some(iso.as_str())));
    }
    assert_eq!(total, 35485); // the README's total
    // By hand (Python, the listing_price cells): 21 rows show an auction's
    // current bid and no buy price above zero.
    assert_eq!(auctions, 21, "auction rows with no buy price");
}

#[test]
fn cocaine_file() {
    let Some(out) = load("D_C_-_stims_-_cocaine_-_20170420.csv") else { return };
    let l = &out.listings[0];
    // Byte 0x92 is "í" in Mac OS Roman ("’" in windows-1252): the title as the file encodes it.
    assert_eq!(l.title, "0,5g Kokain Flakes 85%+ Premium Qualití_t");
    assert_eq!(l.vendor.as_deref(), Some("Drogerie"));
    assert_eq!(l.price.as_ref().map(|p| (p.amount.as_str(), p.currency.as_str())), Some(("50.17", "USD")));
    assert_eq!((l.price_usd.as_deref(), l.price_btc.as_deref()), (Some("50.17"), Some("0.0376")));
    assert_eq!((l.sold, l.sold_since.as_deref()), (Some(116), Some("2015-11-14")));
    assert_eq!(l.category, ["Drugs & Chemicals", "stims", "cocaine"]);
    assert_eq!(l.observed_at.as_deref(), Some("2017-04-20"));
    assert_eq!(rule(l), "row 1, line 2");
    // Row 2 starts on line 7: the bare CR ends row 1, which has 4 LFs inside quotes.
    let l = &out.listings[1];
    assert_eq!((l.title.as_str(), l.vendor.as_deref()), ("10 Grams of Fishscale Cocaine only $700", Some("lifecare")));
    assert_eq!((l.price_usd.as_deref(), l.price_btc.as_deref()), (Some("700.00"), Some("0.5277")));
    assert_eq!((l.sold, l.sold_since.as_deref()), (Some(34), Some("2015-12-17")));
    assert_eq!(rule(l), "row 2, line 7");
    // Row 28, line 148: "Item # 152041 - Stimulants / Cocaine".
    let l = &out.listings[27];
    assert_eq!((l.vendor.as_deref(), l.market_listing_id.as_deref()), (Some("WhiteDoc"), Some("152041")));
    assert_eq!(rule(l), "row 28, line 148");
    // Counts over the file.
    assert_eq!(out.listings.iter().filter(|l| l.vendor.as_deref() == Some("jnenfrancis")).count(), 38);
    assert_eq!(out.listings.iter().filter(|l| l.vendor.as_deref() == Some("ukwhite")).count(), 16);
    assert_eq!(out.listings.iter().filter_map(|l| l.sold).sum::<u64>(), 129_489);
    assert_eq!(out.listings.iter().filter(|l| l.stock.as_deref() == Some("Unlimited")).count(), 304);
    assert!(out.listings.iter().all(|l| l.url.is_none())); // the export kept link text, not hrefs
    // Vendor observations: one per vendor, from its first row.
    let v = out.vendors.iter().find(|v| v.name == "Drogerie").expect("vendor");
    assert_eq!((v.level.as_deref(), v.trust.as_deref()), (Some("6"), Some("5")));
    assert_eq!(v.provenance.as_ref().map(|p| p.rule.as_str()), Some("row 1, line 2"));
    assert_eq!(v.market, "alphabay");
    let v = out.vendors.iter().find(|v| v.name == "lifecare").expect("vendor");
    assert_eq!((v.level.as_deref(), v.trust.as_deref()), (Some("8"), Some("7")));
}

#[test]
fn other_files() {
    if let Some(out) = load("Other_-_other_listings_-_20170511.csv") {
        // "USD 4,899.00 (2.7837 BTC)": thousands separator removed.
        let l = &out.listings[66];
        assert_eq!(l.vendor.as_deref(), Some("Nesquik7"));
        assert_eq!((l.price_usd.as_deref(), l.price_btc.as_deref()), (Some("4899.00"), Some("2.7837")));
        assert_eq!(rule(l), "row 67, line 408");
        assert_eq!(l.category, ["Other Listings", "other listings"]);
    }
    if let Some(out) = load("Counterfeit_items_-_20170508.csv") {
        // listing_price is null: the listing page's purchase price, with a warning naming the line.
        let l = &out.listings[1219];
        assert_eq!(l.vendor.as_deref(), Some("bigjule33"));
        assert_eq!((l.price_usd.as_deref(), l.price_btc.as_deref()), (Some("450.00"), None));
        assert_eq!((l.sold, l.sold_since.as_deref()), (Some(33), Some("2016-04-18")));
        assert_eq!(rule(l), "row 1220, line 7039");
        assert!(out.problems.iter().any(|p| p.line == 7039 && p.severity == Severity::Warning));
        // Six, and one auction's bid.
        assert_eq!(out.problems.len(), 7);
        assert_eq!(out.problems.iter().filter(|p| p.message.starts_with("an auction's current bid")).count(), 1);
    }
    if let Some(out) = load("D_C_-_cannabis_-_preroll_-_20170425.csv") {
        // Row 3's listing page was another vendor's ("Sold by Outlet"): no sold facts taken.
        let l = &out.listings[2];
        assert_eq!(l.vendor.as_deref(), Some("PoundlandUK2UK"));
        assert_eq!((l.sold, l.sold_since.as_deref()), (None, None));
        let p = &out.problems[0];
        assert_eq!((p.line, p.row, p.severity), (14, Some(3), Severity::Warning));
        assert!(p.message.contains("Outlet"));
    }
    if let Some(out) = load("D_C_-_cannabis_-_topicals_-_20170420.csv") {
        // An auction with a current price only: a bid, not a sale price, so
        // unpriced, and the bid is in the warning on its line.
        let l = &out.listings[3];
        assert_eq!(l.vendor.as_deref(), Some("brianhamza"));
        assert_eq!((l.price.as_ref(), l.price_usd.as_deref(), l.price_btc.as_deref()), (None, None, None));
        assert_eq!(rule(l), "row 4, line 19");
        assert!(out.problems.iter().any(|p| p.line == 19 && p.message == "an auction's current bid (USD 2300.00), not a sale price: its sales are unpriced"), "{:?}", out.problems);
    }
    if let Some(out) = load("Weapons_-_20170509.csv") {
        assert_eq!(out.listings[0].category, ["Weapons"]);
    }
    if let Some(out) = load("Fraud_-_accounts___bank_drops_-_20170507.csv") {
        assert_eq!(out.listings[0].category, ["Fraud", "accounts & bank drops"]);
        assert_eq!(out.problems.iter().filter(|p| p.message.contains("names vendor")).count(), 9);
    }
    if let Some(out) = load("Ditigal_products_-_game_keys_-_20170507.csv") {
        assert_eq!(out.listings[0].category, ["Digital Products", "game keys"]);
    }
}

#[test]
fn source_files_are_not_datasets() {
    for file in ["SOURCE_README.md", "SOURCE_DNM_sitemap.json"] {
        let Some(path) = testdata::shared(&format!("listings/alphabay-2017/{file}")) else { return };
        let bytes = std::fs::read(path).expect("read");
        assert_eq!(detect(file, &bytes), None, "{file}");
    }
}

const HEADER: &str = "category_link,subcategory_link,listing_title,listing_price,listing_vendor,listing_item,listing_link,subcategory_id,subcategory2_id,detail_name,detail_qty_sold,detail_price,pagination_link,category_id\r";

fn row(title: &str, price: &str, vendor: &str) -> String {
    format!(
        "Drugs & Chemicals,Stimulants,{title},\"{price}\",{vendor},\"Views: 1 / Bids: Fixed price\nQuantity left: 5\",{title},Stimulants,Cocaine,{title},\"Sold by {vendor} -\n3 sold since Jan 2, 2017\u{152}\u{e6}\u{152}\u{e6}Vendor Level 2\u{152}\u{e6}Trust Level 3\",Purchase price: USD 1.00,2,Drugs & Chemicals\r"
    )
}

#[test]
fn bad_rows_are_reported_by_line_and_the_rest_imported() {
    let mut csv = HEADER.to_owned();
    // Each row() spans 6 lines: 5 LFs inside quotes, then the bare CR.
    csv += &row("Good", "Buy price\nUSD 10.00\n\n(0.0100 BTC)", "v1"); // line 2
    csv += &row("Negative", "Buy price\nUSD -10.00\n\n(0.0100 BTC)", "v2"); // line 8
    csv += &row("Absurd", "Buy price\nUSD 5,000,000.00\n\n(3000.0000 BTC)", "v3"); // line 14
    csv += &row("No vendor", "Buy price\nUSD 10.00\n\n(0.0100 BTC)", "null"); // line 20
    csv += "Drugs & Chemicals,Stimulants,Short row\r"; // line 26
    csv += &row("Good too", "Buy price\nUSD 1,234.50\n\n(1.0000 BTC)", "v1"); // line 27
    csv += "Drugs & Chemicals,Stimulants,\"never closed,x\r"; // line 33: the quote runs to the end
    let bytes = encoding_rs::MACINTOSH.encode(&csv).0.into_owned();
    let out = run("D_C_-_stims_-_cocaine_-_20170420.csv", &bytes);
    assert_eq!((out.rows, out.imported, out.rejected), (7, 2, 5));
    let rejected: Vec<u64> = out.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| p.line).collect();
    assert_eq!(rejected, [8, 14, 20, 26, 33]);
    let msg = |line| out.problems.iter().find(|p| p.line == line).map(|p| p.message.clone()).unwrap_or_default();
    assert!(msg(8).contains("price"), "{}", msg(8));
    assert!(msg(14).contains("absurd"), "{}", msg(14));
    assert!(msg(20).contains("vendor"), "{}", msg(20));
    assert!(msg(26).contains("fields"), "{}", msg(26));
    let l = &out.listings[1];
    assert_eq!((l.title.as_str(), l.price_usd.as_deref(), l.stock.as_deref()), ("Good too", Some("1234.50"), Some("5")));
    assert_eq!((l.sold, l.sold_since.as_deref()), (Some(3), Some("2017-01-02")));
    assert_eq!(rule(l), "row 6, line 27");
    assert_eq!(out.vendors.len(), 1);
    assert_eq!((out.vendors[0].level.as_deref(), out.vendors[0].trust.as_deref()), (Some("2"), Some("3")));
}

/// An unknown currency code rejects its row, and an amount that goes on
/// past its digits ("1e400") is no price: both had been imported (XYZ as a
/// currency, 1e400 as USD 1; found by a review).
#[test]
fn unknown_currencies_and_run_on_amounts_are_rejected() {
    let mut csv = HEADER.to_owned();
    csv += &row("Good", "Buy price\nUSD 10.00\n\n(0.0100 BTC)", "v1"); // line 2
    csv += &row("Odd code", "Buy price\nXYZ 50.17\n\n(0.0100 BTC)", "v1"); // line 8
    csv += &row("Run on", "Buy price\nUSD 1e400", "v1"); // line 14
    let bytes = encoding_rs::MACINTOSH.encode(&csv).0.into_owned();
    let out = run("D_C_-_stims_-_cocaine_-_20170420.csv", &bytes);
    assert_eq!((out.rows, out.imported, out.rejected), (3, 1, 2), "{:?}", out.problems);
    let rejected: Vec<(u64, &str)> = out.problems.iter().filter(|p| p.severity == Severity::Rejected).map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(rejected.iter().map(|r| r.0).collect::<Vec<_>>(), [8, 14]);
    assert!(rejected[0].1.contains("unknown currency \"XYZ\""), "{}", rejected[0].1);
    assert!(rejected[1].1.contains("unparsable price"), "{}", rejected[1].1);
}

#[test]
fn odd_bytes_never_panic() {
    for bytes in [&b""[..], b"category_link", b"\xff\xfe\r\r\r\"", HEADER.as_bytes(), b"category_link,x\r\"\r,,\r"] {
        let out = run("x.csv", bytes);
        assert_eq!(out.imported, 0);
        assert_eq!(out.rows, out.rejected);
    }
}

#[test]
fn detection() {
    assert_eq!(detect("renamed.csv", HEADER.as_bytes()), Some(DatasetFormat::AlphaBay2017));
    for bytes in [
        &b"<html><body>category_link,subcategory_link</body></html>"[..],
        b"\"2016-12-11 10:00:00\", \"123\", \"x\"\n",
        b",product_title,ships_from_to,grams,quality,btc_price\n",
        b"[{\"title\": \"x\"}]",
        b"{\"selectors\": [{\"id\": \"category_link\"}]}",
    ] {
        assert_ne!(detect("D_C_-_stims_-_cocaine_-_20170420.csv", bytes), Some(DatasetFormat::AlphaBay2017));
    }
}
