//! Where tests find the real data in `../shared/data` (beside the repository).
//!
//! The data is read in place and never copied into the repository (it holds
//! real pseudonyms and keys; see `shared/data/README.md`). One rule for every
//! test that needs it: under `CI=true` missing data is a failure, elsewhere
//! the test prints a notice and skips. Keeping that rule in one place is the
//! point of this crate; it is a dev-dependency only.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

/// The `shared/data` directory beside the repository (it may not exist).
pub fn shared_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// `shared/data/<rel>` when it exists. When it does not: panics under
/// `CI=true`, otherwise prints a notice and returns `None` (skip the test).
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = shared_root().join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("shared data missing at {} (required when CI=true)", path.display());
    }
    eprintln!("NOTICE: skipping: shared data not found at {}", path.display());
    None
}

/// Whether `python3` can import `module` (an independent checker such as
/// pyarrow or warcio). When it cannot: panics under `CI=true` (CI installs
/// it from `.ci/requirements.txt`), otherwise prints a notice and returns
/// `false` (skip the test).
pub fn python_module(module: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("python module {module} missing (required when CI=true; see .ci/requirements.txt)");
        }
        eprintln!("NOTICE: skipping: python module {module} not installed");
    }
    found
}
