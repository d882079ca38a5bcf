//! Helpers for tests over the real captures in `../shared/data`.
//!
//! The data is read in place and never copied into the repository. A test
//! that needs it fails under `CI=true` when it is missing, and otherwise
//! prints a notice and skips.
//!
//! Each `real_<market>.rs` is mostly tables: the page type every capture must
//! get ([`PageCase`]), single facts read from the pages by hand ([`Fact`]) and
//! per-page record counts ([`Counts`]). The `check_*` helpers here run those
//! tables, and hold the invariants every profile shares: each record's
//! provenance names the profile, and no page of another market's folder is
//! claimed. Keeping that logic in one place means a change to how a fact is
//! looked up, or a new invariant, is made once for every market.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use extract::{extract_page, PageExtraction, PageInput, ProfileSet};
use model::PageType;

/// A capture and the page type its market's profile must give it.
pub type PageCase = (&'static str, PageType);

/// (page, JSON pointer into the page's records, expected JSON value).
///
/// The records are those of [`records_json`]; a pointer ending in `/len`
/// names the length of the array before it.
pub type Fact = (&'static str, &'static str, &'static str);

/// (page, listings, vendors, feedback, categories): how many records of each
/// kind the page must give.
pub type Counts = (&'static str, usize, usize, usize, usize);

/// `../shared/data/markets/pages`, or `None` (after the notice) when absent.
pub fn pages_dir() -> Option<PathBuf> {
    testdata::shared("markets/pages")
}

/// Built-in profiles, loaded once per test binary.
pub fn profiles() -> &'static ProfileSet {
    static SET: std::sync::OnceLock<ProfileSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| ProfileSet::builtin().expect("built-in profiles load"))
}

/// Extracts one page, given relative to the pages directory, with market detection.
pub fn extract_rel(pages: &Path, rel: &str) -> PageExtraction {
    let path = pages.join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sha = model::Sha256::of(&bytes);
    let mut input = PageInput::new(&bytes, sha);
    input.source = Some(rel);
    extract_page(&input, profiles(), None)
}

/// The files directly in `dir` (relative to the pages directory), sorted, as
/// paths relative to the pages directory.
pub fn folder_pages(pages: &Path, dir: &str) -> Vec<String> {
    let path = pages.join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", path.display())).file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{dir}/{n}")).collect()
}

/// Every file under the pages directory, recursively, sorted, as paths
/// relative to it.
pub fn every_page(pages: &Path) -> Vec<String> {
    let mut all = Vec::new();
    let mut stack = vec![pages.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(pages) {
                all.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    all.sort();
    all
}

/// The page's records as JSON, so facts can name any field by pointer.
pub fn records_json(out: &PageExtraction) -> serde_json::Value {
    serde_json::json!({
        "listings": out.listings,
        "vendors": out.vendors,
        "feedback": out.feedback,
        "categories": out.categories,
    })
}

/// The value at `pointer`, or the length of the array when it ends in `/len`.
pub fn lookup(records: &serde_json::Value, pointer: &str) -> Option<serde_json::Value> {
    match pointer.strip_suffix("/len") {
        Some(array) => records.pointer(array)?.as_array().map(|a| a.len().into()),
        None => records.pointer(pointer).cloned(),
    }
}

/// The page is claimed by `market`'s profile with page type `want`.
pub fn check_page_type(pages: &Path, market: &str, rel: &str, want: PageType) {
    let out = extract_rel(pages, rel);
    assert_eq!(out.market.as_deref(), Some(market), "{rel}: market");
    assert_eq!(out.page_type, want, "{rel}: page type");
}

/// Every case of the table is claimed by `market` with its page type.
pub fn check_page_types(pages: &Path, market: &str, cases: &[PageCase]) {
    assert!(!cases.is_empty(), "no page cases for {market}");
    for (rel, want) in cases {
        check_page_type(pages, market, rel, *want);
    }
}

/// The folder `dir` holds exactly `count` files and each is claimed by
/// `market` with page type `want`. Returns the files, relative to the pages
/// directory.
pub fn check_folder_page_types(pages: &Path, market: &str, dir: &str, count: usize, want: PageType) -> Vec<String> {
    let all = folder_pages(pages, dir);
    assert_eq!(all.len(), count, "files under {dir}");
    for rel in &all {
        check_page_type(pages, market, rel, want);
    }
    all
}

/// Every fact of the table holds; pages are relative to the pages directory.
pub fn check_facts(pages: &Path, facts: &[Fact]) {
    check_facts_with(pages, facts, str::to_owned);
}

/// Every fact of the table holds; pages are relative to the folder `dir`.
pub fn check_facts_in(pages: &Path, dir: &str, facts: &[Fact]) {
    check_facts_with(pages, facts, |name| format!("{dir}/{name}"));
}

fn check_facts_with(pages: &Path, facts: &[Fact], rel_of: impl Fn(&str) -> String) {
    assert!(!facts.is_empty(), "no facts to check");
    // Several facts name the same page; extract it once.
    let mut cache: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    for (name, pointer, want) in facts {
        let records = cache.entry(name).or_insert_with(|| records_json(&extract_rel(pages, &rel_of(name))));
        let want: serde_json::Value =
            serde_json::from_str(want).unwrap_or_else(|e| panic!("bad expected JSON for {name} {pointer}: {e}"));
        assert_eq!(lookup(records, pointer), Some(want), "{name} {pointer}");
    }
}

/// Every page of the table gives exactly the counted records; pages are
/// relative to the folder `dir`.
pub fn check_counts_in(pages: &Path, dir: &str, counts: &[Counts]) {
    assert!(!counts.is_empty(), "no counts to check under {dir}");
    for (name, listings, vendors, feedback, categories) in counts {
        let rel = format!("{dir}/{name}");
        let out = extract_rel(pages, &rel);
        assert_eq!(out.listings.len(), *listings, "{rel}: listings");
        assert_eq!(out.vendors.len(), *vendors, "{rel}: vendors");
        assert_eq!(out.feedback.len(), *feedback, "{rel}: feedback");
        assert_eq!(out.categories.len(), *categories, "{rel}: categories");
    }
}

/// Every record of the page carries provenance naming `market`'s profile and
/// one of its record rules. Returns how many records the page gave.
pub fn assert_provenance(rel: &str, out: &PageExtraction, market: &str) -> usize {
    let provenances = out
        .listings
        .iter()
        .map(|r| &r.provenance)
        .chain(out.vendors.iter().map(|r| &r.provenance))
        .chain(out.feedback.iter().map(|r| &r.provenance))
        .chain(out.categories.iter().map(|r| &r.provenance));
    let mut records = 0;
    for p in provenances {
        let p = p.as_ref().unwrap_or_else(|| panic!("{rel}: record without provenance"));
        assert_eq!(p.profile, market, "{rel}");
        assert!(p.rule.starts_with("records["), "{rel}: rule {}", p.rule);
        records += 1;
    }
    records
}

/// [`assert_provenance`] over every page of the table. Returns how many
/// records the pages gave, so callers can check the pages were not empty.
pub fn check_provenance(pages: &Path, market: &str, cases: &[PageCase]) -> usize {
    cases.iter().map(|(rel, _)| assert_provenance(rel, &extract_rel(pages, rel), market)).sum()
}

/// No vendor, listing or feedback record of the page names `account` as a
/// vendor (the scraper's own account shown in page headers).
pub fn assert_never_vendor(rel: &str, out: &PageExtraction, account: &str) {
    assert!(out.vendors.iter().all(|v| v.name != account), "{rel}: {account} as vendor");
    for l in &out.listings {
        assert_ne!(l.vendor.as_deref(), Some(account), "{rel}: {account} as listing vendor");
    }
    for f in &out.feedback {
        assert_ne!(f.vendor.as_deref(), Some(account), "{rel}: {account} as feedback vendor");
    }
}

/// Extracts every page of the folder `dir`, checks that no record names the
/// scraper's own `account` as a vendor and that every record names `market`'s
/// profile, then hands the page to `check` for the market's own rules.
/// Returns how many listings the pages gave.
pub fn check_folder_records(
    pages: &Path,
    market: &str,
    dir: &str,
    account: &str,
    mut check: impl FnMut(&str, &PageExtraction),
) -> usize {
    let mut listings = 0;
    for rel in folder_pages(pages, dir) {
        let out = extract_rel(pages, &rel);
        assert_never_vendor(&rel, &out, account);
        assert_provenance(&rel, &out, market);
        check(&rel, &out);
        listings += out.listings.len();
    }
    listings
}

/// No page outside `market`'s folder is claimed by its profile, except the
/// pages of `own_elsewhere`: the market's captures the source filed under
/// another folder.
pub fn check_claims_no_other_page(pages: &Path, market: &str, own_elsewhere: &[&str]) {
    let folder = format!("{market}/");
    let others: Vec<String> = every_page(pages)
        .into_iter()
        .filter(|rel| !rel.starts_with(&folder) && !rel.starts_with("LICENSE"))
        .filter(|rel| !own_elsewhere.contains(&rel.as_str()))
        .collect();
    assert!(others.len() > 100, "only {} other pages", others.len());
    for rel in &others {
        let out = extract_rel(pages, rel);
        assert_ne!(out.market.as_deref(), Some(market), "{rel} claimed by {market}");
    }
}
