//! Regression over every real captured page in `../shared/data/markets/pages`.
//!
//! The snapshot holds, per page, only its market, page type, record counts
//! and a hash of the extracted records: never page text (the data README
//! forbids copying it). Any change in what a profile extracts shows up as a
//! changed line; review it with `cargo insta review` (or set
//! `INSTA_UPDATE=always`) when the change is intended.

mod common;

use sha2::{Digest, Sha256};

fn records_hash(out: &extract::PageExtraction) -> String {
    let json = serde_json::json!({
        "listings": out.listings,
        "vendors": out.vendors,
        "feedback": out.feedback,
        "categories": out.categories,
        "identifiers": out.identifiers,
    });
    let digest = Sha256::digest(json.to_string().as_bytes());
    hex::encode(&digest[..8])
}

#[test]
fn every_real_page_extracts_as_before() {
    let Some(pages) = common::pages_dir() else { return };
    let mut files: Vec<String> = walk(&pages)
        .into_iter()
        .filter_map(|p| p.strip_prefix(&pages).ok().map(|r| r.to_string_lossy().replace('\\', "/")))
        .filter(|r| !r.starts_with("LICENSE"))
        .collect();
    files.sort();
    assert!(files.len() >= 400, "expected the 407 shared pages, found {}", files.len());
    let mut lines = vec!["page\tmarket\ttype\tlistings\tvendors\tfeedback\tcategories\tidentifiers\trecords_sha256_64".to_owned()];
    for rel in &files {
        let out = common::extract_rel(&pages, rel);
        lines.push(format!(
            "{rel}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            out.market.as_deref().unwrap_or("-"),
            out.page_type.as_str(),
            out.listings.len(),
            out.vendors.len(),
            out.feedback.len(),
            out.categories.len(),
            out.identifiers.len(),
            records_hash(&out)
        ));
    }
    insta::assert_snapshot!("real_pages", lines.join("\n"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// dark.fail is a link directory, not a market: its pages are typed, and the
/// mirrors they list come out as validated v3 onion identifiers.
#[test]
fn darkfail_pages_are_typed_and_list_onions() {
    let Some(pages) = common::pages_dir() else { return };
    let check = |rel: &str, t: &str| {
        let out = common::extract_rel(&pages, rel);
        assert_eq!(out.market.as_deref(), Some("darkfail"), "{rel}");
        assert_eq!(out.page_type.as_str(), t, "{rel}");
        out
    };
    for i in 0..5 {
        check(&format!("darkfail/saved_darkfail_captcha_page_{i}"), "captcha");
    }
    check("darkfail/saved_darkfail_main_page", "main");
    check("darkfail/saved_darkfail_sub_page", "mirrors");
    let final1 = check("darkfail/saved_darkfail_final_page_1", "mirrors");
    let onions: Vec<&str> = final1
        .identifiers
        .iter()
        .filter(|i| i.kind == model::IdentifierKind::Onion)
        .map(|i| i.value.as_str())
        .collect();
    assert!(onions.contains(&"6ld4p7cxbjberarut3lzx2eckjiu2igbr6dmqm5vuge6kjfj5dzaqxyd.onion"), "{onions:?}");
    assert!(onions.contains(&"dvnjct6mvjtzfyzexfp3in64ilemkba562vmh3wbyfaau3xzupl7ohad.onion"), "{onions:?}");
}
