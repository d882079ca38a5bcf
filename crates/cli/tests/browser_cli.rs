//! The workbench in a real browser: Debian's Chromium driven by
//! playwright-core (tests/browser/walk.mjs) signs in, opens the vendors, a
//! vendor and its evidence, and views a hostile capture (scripts, event
//! handlers, javascript: links, CSS and image requests, meta refresh, SVG
//! script, frames, forms to another host). The browser must record no
//! dialog and no request off the case; a control run of the same bytes
//! without dragnet's policy must record both (so the detector works).
//! Then it taps an account in the vendor-link graph (cytoscape.js, bundled
//! at build time) and lands on its operator, opens a listing's history,
//! taps a cluster in the money-flow graph of the real regtest chain and
//! lands on the trace from it, and downloads the report.
//! Screenshots of each page go to target/browser-shots/ (and, with
//! DRAGNET_UPDATE_SCREENSHOTS=1, to docs/screenshots/ for the README).
//!
//! Needs node, `npm ci --prefix tests/browser` and the `chromium` package;
//! without them the test is skipped with a notice, and fails under CI=true.

mod common;

use common::{bin, ok, s};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HOSTILE: &str = r#"<!DOCTYPE html><html><head><title>hostile</title>
<meta http-equiv="refresh" content="2;url=http://evil.example/refresh">
<link rel="stylesheet" href="http://evil.example/style.css">
<style>body { background: url(http://evil.example/css-exfil) }</style>
<script>fetch('http://evil.example/script'); alert('script')</script></head>
<body onload="alert('onload')">
<h1>A captured page that tries everything</h1>
<img src="http://evil.example/img.png" onerror="alert('onerror')">
<img src="x" onerror="alert('onerror-local')">
<a id="js" href="javascript:alert('link')">click</a>
<svg><script>alert('svg')</script></svg>
<iframe src="http://evil.example/frame"></iframe>
<object data="http://evil.example/object"></object>
<form action="http://evil.example/form"><input name="x" value="y"></form>
</body></html>"#;

fn tools() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let walk = root.join("tests/browser/walk.mjs");
    let module = root.join("tests/browser/node_modules/playwright-core");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if node && module.is_dir() && Path::new(&chromium).exists() {
        return Some((walk, root));
    }
    let why = format!("node: {node}, {}: {}, {chromium}: {}", module.display(), module.is_dir(), Path::new(&chromium).exists());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("browser test needs node, `npm ci --prefix tests/browser` and Debian's chromium ({why})");
    }
    eprintln!("NOTICE: skipping the browser test ({why})");
    None
}

#[test]
fn browser_walk_and_hostile_page_run_nothing_and_reach_nothing() {
    let Some((walk, root)) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let case = tmp.path().join("case");
    ok(&["sim", "market", "--out", s(&sim)]);
    std::fs::create_dir_all(sim.join("pages/hostile")).unwrap();
    std::fs::write(sim.join("pages/hostile/hostile.html"), HOSTILE).unwrap();
    ok(&["case", "init", s(&case)]);
    ok(&["import", "--case", s(&case), s(&sim.join("pages"))]);
    ok(&["extract", "--case", s(&case)]);
    // Links need the linking model; money flows need a chain with tags.
    ok(&["--case", s(&case), "links"]);
    let (Some(blocks), Some(truth)) = (testdata::shared("chain/regtest-small/blocks"), testdata::shared("chain/regtest-small/truth.json")) else { return };
    ok(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "regtest"]);
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap();
    let (fund, owner) = truth["txs"].as_object().unwrap().iter().find(|(_, t)| t["kind"] == "funding").map(|(k, t)| (k.clone(), t["owner"].as_u64().unwrap())).unwrap();
    for (a, _) in truth["addresses"].as_object().unwrap().iter().filter(|(_, e)| e.as_u64() != Some(owner)).take(40) {
        ok(&["chain", "tag", "add", a, "--label", "Exchange X", "--source", "test", "--case", s(&case)]);
    }
    let mut add = bin().args(["--case", s(&case), "user", "add", "analyst1", "--role", "analyst"]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    add.stdin.take().unwrap().write_all(b"a long enough passphrase\n").unwrap();
    assert!(add.wait().unwrap().success());
    let sha = std::fs::read_to_string(case.join("evidence/index.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["source"].as_str().is_some_and(|s| s.ends_with("hostile.html")))
        .and_then(|v| v["sha256"].as_str().map(str::to_owned))
        .unwrap();

    let mut server = bin().args(["--case", s(&case), "serve", "--bind", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.split_whitespace().last().unwrap().trim_end_matches('/').to_owned();
    let shots = root.join("target/browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(&walk)
        .args([&base, "analyst1", "a long enough passphrase", &sha, s(&shots)])
        .env("HOSTILE_HTML", HOSTILE)
        .env("FLOW_FROM", &fund)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "walk failed: {}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));

    // The detector works: without a policy the page runs and reaches out.
    let control_dialogs = r["control"]["dialogs"].as_array().unwrap();
    let control_off = r["control"]["offCase"].as_array().unwrap();
    assert!(control_dialogs.len() >= 2, "control: {r}");
    assert!(control_off.iter().any(|u| u.as_str().unwrap().contains("evil.example/script")), "control: {r}");
    // Through dragnet: nothing ran, nothing left the case.
    assert_eq!(r["walk"]["dialogs"], serde_json::json!([]), "a script ran: {r}");
    assert_eq!(r["walk"]["offCase"], serde_json::json!([]), "a request left the case: {r}");
    // The walk reached every page it meant to.
    let visited: Vec<&str> = r["visited"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(visited[..3], ["/login", "/", "/vendors"]);
    assert!(visited[3].starts_with("/vendors/") && visited[4].starts_with("/evidence/"), "{visited:?}");
    assert_eq!(visited[5], format!("/evidence/{sha}"));
    // Tapping a drawn node opened that node's page.
    let f = &r["followed"];
    assert_eq!(f["link_href"].as_str().unwrap(), format!("/operator?account={}", f["link_node"].as_str().unwrap().replace('/', "%2F")), "{f}");
    assert!(visited[8] == "/operator" && visited[9].starts_with("/listings/L-"), "{visited:?}");
    assert!(f["flow_node"].as_str().unwrap().starts_with("cluster:") && f["flow_href"].as_str().unwrap().starts_with("/flows?from=cluster%3A"), "{f}");
    assert_eq!(visited[10..], ["/flows", "/flows"]);
    // The downloaded report is the case report with its evidence index.
    let report = std::fs::read_to_string(f["report"].as_str().unwrap()).unwrap();
    assert!(f["report_name"].as_str().unwrap().ends_with(".html"), "{f}");
    let cli_report = tmp.path().join("cli-report.html");
    ok(&["--case", s(&case), "report", "--out", s(&cli_report)]);
    assert!(report.contains("Evidence index"), "not the report");
    assert_eq!(report, std::fs::read_to_string(&cli_report).unwrap(), "the downloaded report differs from `dragnet report`");
    for p in r["shots"].as_array().unwrap() {
        let bytes = std::fs::read(p.as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 2000, "{p}");
    }
    if std::env::var("DRAGNET_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = root.join("docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        for p in r["shots"].as_array().unwrap() {
            let p = Path::new(p.as_str().unwrap());
            std::fs::copy(p, docs.join(p.file_name().unwrap())).unwrap();
        }
    }
}
