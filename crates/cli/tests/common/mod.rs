//! What the CLI test files share: running the `dragnet` binary.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The `dragnet` binary under test, as user `USER` (custody entries name it).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dragnet"));
    c.env("USER", "dragnet-cli-test");
    c
}

/// Runs `dragnet ARGS`, which must succeed; its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("run dragnet");
    assert!(out.status.success(), "dragnet {args:?} failed: {}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A path as the `&str` an argument list wants.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
