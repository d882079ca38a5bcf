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

/// A new case under `tmp` holding one simulated dataset file (`sim sales`:
/// 300 listings of 20 vendors, 200 feedback, Agora's layout), imported.
pub fn small_sim_sales_case(tmp: &Path) -> std::path::PathBuf {
    let data = tmp.join("data");
    let case = tmp.join("case");
    ok(&["sim", "sales", "--out", s(&data), "--listings", "300", "--feedback", "200", "--vendors", "20", "--files", "1"]);
    let csv = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "csv")).unwrap();
    ok(&["case", "init", s(&case)]);
    ok(&["import", "--case", s(&case), "--format", "agora-2014", s(&csv)]);
    case
}
