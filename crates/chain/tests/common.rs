//! Shared helpers for the chain integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of `shared/data/chain/<rel>`, or None (after a notice) when missing outside CI.
/// Under `CI=true` a missing data set fails the test.
pub fn data(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/chain")).join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("shared data missing under CI: {}", p.display());
    }
    eprintln!("NOTICE: skipping, shared data missing: {}", p.display());
    None
}

/// Copies a blocks directory into a temp dir so a test can damage it.
pub fn copy_dir(src: &std::path::Path) -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    copy_rec(src, t.path());
    t
}

fn copy_rec(src: &std::path::Path, dst: &std::path::Path) {
    for e in std::fs::read_dir(src).expect("read_dir") {
        let e = e.expect("entry");
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
            copy_rec(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
}
