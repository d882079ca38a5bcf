//! `dragnet report` (HTML, and PDF printed by Chromium, read back with
//! pdftotext) and the link exports (GraphML read by networkx, STIX 2.1
//! checked by stix2-validator): each on a synthetic case, each checked by a
//! tool that is not ours.

mod common;

use common::{bin, ok, s};
use std::path::Path;
use std::process::Command;

fn sim_case(tmp: &Path) -> std::path::PathBuf {
    let sim = tmp.join("sim");
    let case = tmp.join("case");
    ok(&["sim", "market", "--out", s(&sim)]);
    ok(&["case", "init", s(&case)]);
    ok(&["import", "--case", s(&case), s(&sim.join("pages"))]);
    ok(&["extract", "--case", s(&case)]);
    case
}

/// The SHA-256 of every stored payload.
fn evidence(case: &Path) -> Vec<String> {
    std::fs::read_to_string(case.join("evidence/index.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "record")
        .map(|v| v["sha256"].as_str().unwrap().to_owned())
        .collect()
}

fn tool(cmd: &str, arg: &str) -> bool {
    let found = Command::new(cmd).arg(arg).output().is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{cmd} is needed (CI installs it)");
        }
        eprintln!("NOTICE: skipping: {cmd} not found");
    }
    found
}

#[test]
fn report_html_and_pdf_list_every_record_in_the_evidence_index() {
    let tmp = tempfile::tempdir().unwrap();
    let case = sim_case(tmp.path());
    let html_path = tmp.path().join("r.html");
    ok(&["--case", s(&case), "report", "--out", s(&html_path)]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    // Every page a listing or vendor row cites is in the evidence index,
    // and the index names only stored records.
    let index = &html[html.find("id=\"evidence\"").expect("an evidence index")..];
    let stored = evidence(&case);
    let mut shas: Vec<String> = Vec::new();
    for kind in ["listings", "vendors"] {
        for l in ok(&["--case", s(&case), "--json", kind]).lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            shas.push(v["evidence"].as_str().unwrap().to_owned());
        }
    }
    shas.sort();
    shas.dedup();
    assert!(shas.len() > 30);
    for sha in &shas {
        assert!(index.contains(sha.as_str()), "{sha} (cited by a row) not in the evidence index");
    }
    let hex64 = |t: &str| -> Vec<String> {
        t.as_bytes().windows(64).filter(|w| w.iter().all(u8::is_ascii_hexdigit) ).map(|w| String::from_utf8_lossy(w).into_owned()).collect()
    };
    for d in hex64(index) {
        assert!(stored.iter().any(|s| d.contains(s.as_str()) || s.contains(d.as_str())), "{d} in the index is not stored evidence");
    }
    assert!(!html.contains("<script"), "the report runs nothing");
    let bad = bin().args(["--case", s(&case), "report", "--out", s(&tmp.path().join("r.docx"))]).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains(".html or .pdf"));

    if !Path::new("/usr/bin/chromium").exists() && std::env::var("CHROMIUM").is_err() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI installs chromium");
        eprintln!("NOTICE: skipping the PDF: no chromium");
        return;
    }
    if !tool("pdftotext", "-v") {
        return;
    }
    let pdf_path = tmp.path().join("r.pdf");
    ok(&["--case", s(&case), "report", "--out", s(&pdf_path)]);
    assert!(std::fs::read(&pdf_path).unwrap().starts_with(b"%PDF-"));
    let text = Command::new("pdftotext").arg(&pdf_path).arg("-").output().unwrap();
    assert!(text.status.success());
    // Long digests may wrap in table cells: compare without white space.
    let flat: String = String::from_utf8_lossy(&text.stdout).split_whitespace().collect();
    assert!(flat.to_lowercase().contains("evidenceindex"), "no evidence index in the PDF");
    let missing: Vec<&String> = shas.iter().filter(|sha| !flat.contains(sha.as_str())).collect();
    assert!(missing.is_empty(), "{} of {} digests not in the PDF text, e.g. {:?}", missing.len(), shas.len(), missing.first());
}

#[test]
fn links_export_as_graphml_for_networkx_and_stix_that_validates() {
    if !testdata::python_module("networkx") || !testdata::python_module("stix2validator") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let case = sim_case(tmp.path());
    let (g, x) = (tmp.path().join("links.graphml"), tmp.path().join("links.stix.json"));
    let out = ok(&["--case", s(&case), "--json", "links", "--graphml", s(&g), "--stix", s(&x)]);
    let links: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!links.is_empty());
    let accounts: std::collections::BTreeSet<&str> = links.iter().flat_map(|l| [l["a"].as_str().unwrap(), l["b"].as_str().unwrap()]).collect();
    let check = Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import json, sys, networkx
from stix2validator import validate_file, ValidationOptions
g = networkx.read_graphml(sys.argv[1])
edges = sorted((d["link"], d["probability"], d["decision"]) for _, _, d in g.edges(data=True))
r = validate_file(sys.argv[2], ValidationOptions(strict=True))
bundle = json.load(open(sys.argv[2]))
print(json.dumps({"nodes": g.number_of_nodes(), "edges": edges, "stix_valid": r.is_valid,
                  "stix_errors": [str(e) for o in r.object_results for e in o.errors],
                  "related": sorted(o["external_references"][0]["external_id"] for o in bundle["objects"] if o.get("relationship_type") == "related-to")}))
"#,
        )
        .arg(&g)
        .arg(&x)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let r: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(r["nodes"].as_u64().unwrap() as usize, accounts.len());
    let mut want: Vec<(String, f64, String)> = links
        .iter()
        .map(|l| (l["id"].as_str().unwrap().to_owned(), l["probability"].as_f64().unwrap(), l["decision"].as_str().unwrap().to_owned()))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let got: Vec<(String, f64, String)> = serde_json::from_value(r["edges"].clone()).unwrap();
    assert_eq!(got, want);
    assert_eq!(r["stix_valid"], true, "{}", r["stix_errors"]);
    let ids: Vec<&str> = want.iter().map(|w| w.0.as_str()).collect();
    assert_eq!(r["related"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>(), ids);
    // The same case gives the same bundle.
    let again = tmp.path().join("again.json");
    ok(&["--case", s(&case), "--json", "links", "--stix", s(&again)]);
    assert_eq!(std::fs::read(&x).unwrap(), std::fs::read(&again).unwrap());
}

/// `dragnet ... | head`: when the reader goes away the command ends
/// quietly (SIGPIPE), never with a panic about a broken pipe.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::io::Read as _;
    let tmp = tempfile::tempdir().unwrap();
    let (sim, case) = (tmp.path().join("sim"), tmp.path().join("case"));
    ok(&["sim", "market", "--out", s(&sim), "--operators", "60", "--markets", "4"]);
    ok(&["case", "init", s(&case)]);
    ok(&["import", "--case", s(&case), s(&sim.join("pages"))]);
    ok(&["extract", "--case", s(&case)]);
    ok(&["--case", s(&case), "link", "train"]);
    // Every candidate pair: far more than a pipe holds (64 KiB), so the
    // writer meets the closed end.
    let mut child = bin()
        .args(["--case", s(&case), "--json", "links", "--min-score", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}
