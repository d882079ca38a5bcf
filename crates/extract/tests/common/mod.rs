//! Helpers for tests over the real captures in `../shared/data`.
//!
//! The data is read in place and never copied into the repository. A test
//! that needs it fails under `CI=true` when it is missing, and otherwise
//! prints a notice and skips.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use extract::{extract_page, PageExtraction, PageInput, ProfileSet};

/// `../shared/data/markets/pages`, or `None` (after the notice) when absent.
pub fn pages_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/markets/pages");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("shared data missing at {} (required when CI=true)", dir.display());
    }
    eprintln!("NOTICE: skipping: shared data not found at {}", dir.display());
    None
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
