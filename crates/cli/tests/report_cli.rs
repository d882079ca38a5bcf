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

/// Digests cited by rows (links to the index) before the index.
fn cited_in(html: &str) -> std::collections::BTreeSet<String> {
    let body = &html[..html.find("id=\"evidence\"").expect("an evidence index")];
    body.match_indices("href=\"#ev-").map(|(i, m)| body[i + m.len()..i + m.len() + 64].to_owned()).collect()
}

/// Digests the evidence index lists.
fn indexed_in(html: &str) -> std::collections::BTreeSet<String> {
    let index = &html[html.find("id=\"evidence\"").expect("an evidence index")..];
    index.match_indices("<tr id=\"ev-").map(|(i, m)| index[i + m.len()..i + m.len() + 64].to_owned()).collect()
}

/// Text as minijinja's HTML escaping wrote it, read back.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#x27;", "'").replace("&#x2f;", "/").replace("&amp;", "&")
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A CSV file's header and rows, read with the `csv` crate.
fn read_csv(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r.records().map(|x| x.unwrap()).collect();
    (header, rows)
}

/// The table row of `id` (a link `K-…`) in the report.
fn row_of<'h>(html: &'h str, id: &str) -> &'h str {
    let start = html.find(&format!("id=\"link-{id}\"")).unwrap_or_else(|| panic!("no row for {id}"));
    &html[start..start + html[start..].find("</tr>").unwrap()]
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
    // The index lists exactly the records the rows above it cite.
    assert_eq!(cited_in(&html), indexed_in(&html));
    assert!(html.contains("No Bitcoin chain is imported in this case"), "the flows section says there is no chain");
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
    assert!(!tmp.path().join("links.graphml.partial").exists() && !tmp.path().join("links.stix.json.partial").exists());
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
    let graphml = tmp.path().join("links.graphml");
    let mut child = bin()
        .args(["--case", s(&case), "--json", "links", "--min-score", "0", "--graphml", s(&graphml)])
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
    // The export was cut off with the output: it is left under its
    // `.partial` name, never as a whole-looking file.
    assert!(!graphml.exists());
    assert!(tmp.path().join("links.graphml.partial").exists());
}

/// `dragnet operator`'s accounts for `account`, plus every account with
/// the same name (what `report --vendor NAME` must hold).
fn expected_accounts(case: &str, name: &str, account: &str) -> std::collections::BTreeSet<String> {
    let op: serde_json::Value = serde_json::from_str(&ok(&["--case", case, "--json", "operator", account])).unwrap();
    let mut want: std::collections::BTreeSet<String> =
        op["accounts"].as_array().unwrap().iter().map(|a| a["account"].as_str().unwrap().to_owned()).collect();
    for v in json_lines(&ok(&["--case", case, "--json", "vendors"])) {
        if v["name"].as_str().unwrap().eq_ignore_ascii_case(name) {
            want.insert(format!("{}/{}", v["market"].as_str().unwrap(), v["name"].as_str().unwrap()));
        }
    }
    want
}

/// The accounts a report's dossiers hold, from its HTML and its vendors.csv.
fn report_accounts(html: &str, csv_dir: &Path) -> std::collections::BTreeSet<String> {
    let from_html: std::collections::BTreeSet<String> =
        html.match_indices("<tr id=\"acct-").map(|(i, m)| unescape(&html[i + m.len()..][..html[i + m.len()..].find('"').unwrap()])).collect();
    let (header, rows) = read_csv(&csv_dir.join("vendors.csv"));
    assert_eq!(header.first().map(String::as_str), Some("account"));
    let from_csv: std::collections::BTreeSet<String> = rows.iter().map(|r| r[0].to_owned()).collect();
    assert_eq!(from_html, from_csv, "the HTML and vendors.csv disagree");
    from_csv
}

#[test]
fn a_vendor_report_holds_its_accounts_links_and_decisions_and_only_those() {
    let tmp = tempfile::tempdir().unwrap();
    let case = sim_case(tmp.path());
    let c = s(&case);
    let model: serde_json::Value = serde_json::from_str(&ok(&["--case", c, "--json", "link", "train"])).unwrap();
    let links = json_lines(&ok(&["--case", c, "--json", "links"]));
    let name = |acc: &str| acc.split_once('/').unwrap().1.to_owned();
    // A hard link between two differently named accounts: the report about
    // one name holds the other account too, as `dragnet operator` does.
    let hard = links
        .iter()
        .find(|l| l["hard"] == true && !name(l["a"].as_str().unwrap()).eq_ignore_ascii_case(&name(l["b"].as_str().unwrap())))
        .expect("a hard link between two names in the simulated markets");
    let (a, b) = (hard["a"].as_str().unwrap(), hard["b"].as_str().unwrap());
    let vendor = name(a);
    let want = expected_accounts(c, &vendor, a);
    assert!(want.contains(b), "{want:?}");
    let (html_path, csv_dir) = (tmp.path().join("v.html"), tmp.path().join("v-csv"));
    ok(&["--case", c, "report", "--vendor", &vendor, "--out", s(&html_path), "--csv", s(&csv_dir)]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    // Exactly the operator's accounts: no other vendor's.
    assert_eq!(report_accounts(&html, &csv_dir), want, "the vendor report's accounts are the operator's");
    // Sales: a vendor report reads and estimates only its accounts'
    // feedback, and gets what `dragnet sales` gets for them from the whole
    // case (coverage included).
    let got = report_sales(&csv_dir, "by_vendor");
    let whole: Vec<SalesLine> =
        cli_sales(c, "vendor").into_iter().filter(|(group, ..)| group.split_once(" / ").is_some_and(|(m, v)| want.contains(&format!("{m}/{}", v.trim())))).collect();
    assert!(whole.iter().any(|w| w.1 == "feedback_count"), "the operator's accounts have feedback: {whole:?}");
    assert_eq!(got, whole, "the vendor report's estimates differ from the whole case's for its accounts");
    // Links: only those touching the accounts, with the signals that fired.
    let (header, rows) = read_csv(&csv_dir.join("links.csv"));
    let (ia, ib) = (header.iter().position(|h| h == "a").unwrap(), header.iter().position(|h| h == "b").unwrap());
    let touching: Vec<&serde_json::Value> =
        links.iter().filter(|l| want.contains(l["a"].as_str().unwrap()) || want.contains(l["b"].as_str().unwrap())).collect();
    assert_eq!(rows.len(), touching.len());
    assert!(rows.iter().all(|r| want.contains(&r[ia]) || want.contains(&r[ib])));
    let row = row_of(&html, hard["id"].as_str().unwrap());
    assert!(row.contains("<strong>pgp</strong>") && row.contains("HARD") && row.contains("undecided"), "{row}");
    // The evidence index: exactly the cited records, fewer than the case's.
    let (cited, indexed) = (cited_in(&html), indexed_in(&html));
    assert_eq!(cited, indexed);
    assert!(indexed.len() < evidence(&case).len());
    let (_, index_rows) = read_csv(&csv_dir.join("evidence_index.csv"));
    assert_eq!(index_rows.iter().map(|r| r[0].to_owned()).collect::<std::collections::BTreeSet<_>>(), indexed);
    // Each cited page names the market it was read as (two markets'
    // captures can share a file name).
    assert!(index_rows.iter().all(|r| !r[1].is_empty()), "{index_rows:?}");
    // Methods appendix: the case's model with its training size, and the
    // measured error rates of docs/error-rates.json for the methods used.
    let appendix = unescape(&html[html.find("id=\"methods\"").unwrap()..html.find("id=\"evidence\"").unwrap()]);
    assert!(appendix.contains(&format!("trained on {} candidate pairs", model["training_pairs"])), "{appendix}");
    assert!(appendix.contains("Custody log entry"), "the model's custody entry is cited");
    let rates: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/error-rates.json")).unwrap()).unwrap();
    for m in rates["measurements"].as_array().unwrap() {
        if ["linking", "feedback_count", "sold_counter"].contains(&m["method"].as_str().unwrap()) {
            let value = m["value"].as_str().unwrap();
            assert!(appendix.contains(value), "the appendix lacks {value:?} ({})", m["figure"]);
        }
    }
    assert!(appendix.contains("docs/methods.md"));
    assert!(appendix.contains("No measured error rate"), "vendor_counter says it has none");

    // Decisions: reject the hard link, confirm a soft one; the report shows
    // both with who and why, and the rejected link no longer joins.
    let soft = links.iter().find(|l| l["hard"] == false).expect("a soft link in the simulated markets");
    ok(&["--case", c, "link", "reject", hard["id"].as_str().unwrap(), "--why", "a <b>shared</b> market key"]);
    ok(&["--case", c, "link", "confirm", soft["id"].as_str().unwrap(), "--why", "same jabber handle"]);
    let whole = tmp.path().join("all.html");
    ok(&["--case", c, "report", "--out", s(&whole)]);
    let html = std::fs::read_to_string(&whole).unwrap();
    let row = row_of(&html, hard["id"].as_str().unwrap());
    assert!(row.contains("rejected by dragnet-cli-test") && unescape(row).contains("a <b>shared</b> market key") && !row.contains("<b>"), "{row}");
    let row = row_of(&html, soft["id"].as_str().unwrap());
    assert!(row.contains("confirmed by dragnet-cli-test") && row.contains("same jabber handle"), "{row}");
    let fired: Vec<&str> = soft["signals"].as_object().unwrap().iter().filter(|(_, v)| v.as_f64().unwrap() > 0.0).map(|(k, _)| k.as_str()).collect();
    assert!(!fired.is_empty());
    for sig in fired {
        assert!(row.contains(&format!("<strong>{sig}</strong>")), "signal {sig} missing: {row}");
    }
    let after = tmp.path().join("after");
    ok(&["--case", c, "report", "--vendor", &vendor, "--csv", s(&after)]);
    let (_, rows) = read_csv(&after.join("vendors.csv"));
    let now: std::collections::BTreeSet<String> = rows.iter().map(|r| r[0].to_owned()).collect();
    assert_eq!(now, expected_accounts(c, &vendor, a));
    assert!(!now.contains(b), "a rejected link still joins {b}");
}

/// A sales estimate as the report's CSV and `dragnet sales` both show it:
/// group (`market / vendor`, or the month), method, sales, lower bound,
/// revenue (none when no sale is priced), coverage note.
type SalesLine = (String, String, f64, f64, Option<f64>, String);

/// The rows of one table (`by_vendor`, `by_month`) of a report's sales.csv,
/// sorted by group and method.
fn report_sales(csv_dir: &Path, table: &str) -> Vec<SalesLine> {
    let (h, rows) = read_csv(&csv_dir.join("sales.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let num = |v: &str| v.parse::<f64>().unwrap();
    let revenue = |v: &str| (!v.is_empty()).then(|| num(v));
    let mut got: Vec<SalesLine> = rows
        .iter()
        .filter(|r| &r[col("table")] == table)
        .map(|r| (r[col("group")].to_owned(), r[col("method")].to_owned(), num(&r[col("sales")]), num(&r[col("sales_lower")]), revenue(&r[col("revenue_usd")]), r[col("coverage_note")].to_owned()))
        .collect();
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    got
}

/// `dragnet sales --by BY --json` as [`SalesLine`]s, sorted the same way.
fn cli_sales(c: &str, by: &str) -> Vec<SalesLine> {
    let mut lines: Vec<SalesLine> = json_lines(&ok(&["--case", c, "--json", "sales", "--by", by]))
        .iter()
        .map(|e| {
            let f = |k: &str| e[k].as_f64().unwrap();
            let group = match by {
                "month" => e["month"].as_str().unwrap().to_owned(),
                _ => format!("{} / {}", e["market"].as_str().unwrap(), e["vendor"].as_str().unwrap()),
            };
            (group, e["method"].as_str().unwrap().to_owned(), f("sales"), f("sales_lower"), e["revenue_usd"].as_f64(), e["coverage_note"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    lines.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    lines
}

#[test]
fn an_unknown_vendor_is_an_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let case = sim_case(tmp.path());
    let (out, dir) = (tmp.path().join("x.html"), tmp.path().join("x-csv"));
    let r = bin().args(["--case", s(&case), "report", "--vendor", "NoSuchVendor", "--out", s(&out), "--csv", s(&dir)]).output().unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("no vendor account named \"NoSuchVendor\""), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(!out.exists() && !dir.exists());
    // Neither --out nor --csv: a usage error.
    let r = bin().args(["--case", s(&case), "report"]).output().unwrap();
    assert_eq!(r.status.code(), Some(2));
}

/// A vendor seen only in a dataset (no profile row: Hansa's export has
/// listings alone) cites its listing rows' evidence, as every other row of
/// a report cites its own.
#[test]
fn a_vendor_without_a_profile_cites_its_listings() {
    let (Some(hansa), Some(pages)) = (testdata::shared("listings/hansa-2016-12"), testdata::shared("markets/pages/cryptonia")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let c = s(&case);
    ok(&["case", "init", c]);
    ok(&["--quiet", "--case", c, "import", s(&hansa)]);
    ok(&["--quiet", "--case", c, "import", "--captured-at", "2019-11-01", s(&pages)]);
    ok(&["--quiet", "--case", c, "extract"]);
    ok(&["--quiet", "--case", c, "link", "train"]);
    // --out's directory need not exist.
    let (html, dir) = (tmp.path().join("new/dir/r.html"), tmp.path().join("csv"));
    ok(&["--case", c, "report", "--vendor", "vessel", "--out", s(&html), "--csv", s(&dir)]);
    let indexed = indexed_in(&std::fs::read_to_string(&html).unwrap());
    let (h, rows) = read_csv(&dir.join("vendors.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let hansa = rows.iter().find(|r| &r[col("account")] == "hansa/vessel").expect("hansa/vessel in the report");
    assert!(hansa[col("first_row")].starts_with("L-"), "{hansa:?}");
    for r in &rows {
        let ev = &r[col("evidence_sha256")];
        assert!(!ev.is_empty(), "a row without evidence: {r:?}");
        assert!(ev.split(' ').all(|d| indexed.contains(d)), "{ev} not all in the evidence index");
    }
    // Cryptonia verified vessel's Hansa account: the link is listed for that
    // claim, below the review threshold, and says so (it said "review").
    let (h, rows) = read_csv(&dir.join("links.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let claimed = rows.iter().find(|r| [&r[col("a")], &r[col("b")]] == ["cryptonia/vessel", "hansa/vessel"] || [&r[col("a")], &r[col("b")]] == ["hansa/vessel", "cryptonia/vessel"]);
    let claimed = claimed.unwrap_or_else(|| panic!("no cryptonia/vessel - hansa/vessel link: {rows:?}"));
    assert!(claimed[col("probability")].parse::<f64>().unwrap() < 0.5, "{claimed:?}");
    assert_eq!((&claimed[col("hard")][..], &claimed[col("status")][..]), ("false", "below threshold"), "{claimed:?}");
}

#[test]
fn csv_tables_match_the_report_and_parse_in_python() {
    let tmp = tempfile::tempdir().unwrap();
    let case = sim_case(tmp.path());
    let c = s(&case);
    ok(&["--case", c, "link", "train"]);
    let (html_path, dir) = (tmp.path().join("r.html"), tmp.path().join("csv"));
    let summary: serde_json::Value = serde_json::from_str(&ok(&["--case", c, "--json", "report", "--out", s(&html_path), "--csv", s(&dir)])).unwrap();
    assert_eq!(summary["written"].as_array().unwrap().len(), 6, "{summary}");
    let html = std::fs::read_to_string(&html_path).unwrap();
    let headers = [
        ("vendors.csv", "account,market,name,joined_by,first_row,listings,distinct_listings,median_price_usd,feedback_rows,sales_shown,first_seen,last_seen,pgp_fingerprints,identifiers,evidence_sha256"),
        ("sales.csv", "table,group,method,sales,sales_lower,revenue_usd,revenue_usd_lower,unpriced_sales,undated_sales,days,coverage_note,evidence_sha256"),
        ("links.csv", "link,a,b,probability,hard,status,signals,decision,decided_by,decided_at,why,model,evidence_sha256"),
        ("flows.csv", "address,accounts,address_cluster,reached_cluster,labels,categories,traced_sats,traced_btc,outputs,heights,policy,truncated,evidence_sha256"),
        ("evidence_index.csv", "sha256,market,url,source,captured_at,captured_at_is_file_time,check"),
    ];
    for (file, header) in headers {
        let (h, _) = read_csv(&dir.join(file));
        assert_eq!(h.join(","), header, "{file}");
    }
    // Row counts: one account per (market, vendor name) row set, one sales
    // row per estimate of `dragnet sales`, one link per `dragnet links` line,
    // no flows without a chain, one index row per cited record.
    let mut accounts = std::collections::BTreeSet::new();
    for kind in ["vendors", "listings", "feedback"] {
        for v in json_lines(&ok(&["--case", c, "--json", kind])) {
            let name = if kind == "vendors" { &v["name"] } else { &v["vendor"] };
            if let Some(n) = name.as_str() {
                accounts.insert(format!("{}/{}", v["market"].as_str().unwrap(), n.trim()));
            }
        }
    }
    assert_eq!(report_accounts(&html, &dir), accounts);
    let estimates = ok(&["--case", c, "--json", "sales", "--by", "vendor"]).lines().count() + ok(&["--case", c, "--json", "sales", "--by", "month"]).lines().count();
    assert_eq!(read_csv(&dir.join("sales.csv")).1.len(), estimates);
    // The figures are those of `dragnet sales`, by vendor and by month.
    for (table, by) in [("by_vendor", "vendor"), ("by_month", "month")] {
        let want = cli_sales(c, by);
        assert!(want.len() > 3, "{by}: {want:?}");
        assert_eq!(report_sales(&dir, table), want, "the report's {table} differs from dragnet sales --by {by}");
    }
    // Each account's feedback_rows is its rows in `dragnet feedback` (rows
    // as captured, not unique feedback: the column was "feedback").
    let mut feedback: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for f in json_lines(&ok(&["--case", c, "--json", "feedback"])) {
        if let Some(v) = f["vendor"].as_str() {
            *feedback.entry(format!("{}/{}", f["market"].as_str().unwrap(), v.trim())).or_default() += 1;
        }
    }
    assert!(feedback.values().sum::<u64>() > 100, "{feedback:?}");
    let (h, rows) = read_csv(&dir.join("vendors.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    for r in &rows {
        let n: u64 = r[col("feedback_rows")].parse().unwrap();
        assert_eq!(n, feedback.get(&r[col("account")]).copied().unwrap_or(0), "feedback of {}", &r[col("account")]);
    }
    assert_eq!(read_csv(&dir.join("links.csv")).1.len(), ok(&["--case", c, "--json", "links"]).lines().count());
    assert_eq!(read_csv(&dir.join("flows.csv")).1.len(), 0);
    assert_eq!(read_csv(&dir.join("evidence_index.csv")).1.len(), indexed_in(&html).len());
    // Every row names its evidence, and every digest named is in the index.
    let indexed = indexed_in(&html);
    for file in ["vendors.csv", "sales.csv", "links.csv"] {
        let (h, rows) = read_csv(&dir.join(file));
        let col = h.iter().position(|x| x == "evidence_sha256").unwrap();
        for r in &rows {
            assert!(!r[col].is_empty(), "{file}: a row without evidence: {r:?}");
            for d in r[col].split(' ').filter(|d| !d.is_empty()) {
                assert!(indexed.contains(d), "{file}: {d} is not in the evidence index");
            }
        }
    }
    if !tool("python3", "--version") {
        return;
    }
    let py = Command::new("python3")
        .arg("-c")
        .arg("import csv, json, sys, os\nprint(json.dumps({f: [len(r) for r in csv.reader(open(os.path.join(sys.argv[1], f), newline=''))] for f in sorted(os.listdir(sys.argv[1]))}))")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let widths: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    for (file, header) in headers {
        let w = widths[file].as_array().unwrap();
        let cols = header.split(',').count() as u64;
        assert!(w.iter().all(|n| n.as_u64() == Some(cols)), "{file}: Python reads rows of other widths: {w:?}");
        assert_eq!(w.len() - 1, read_csv(&dir.join(file)).1.len(), "{file}: Python and Rust count different rows");
    }
}

#[test]
fn money_flows_from_a_vendor_address_reach_the_tagged_cluster_on_the_regtest_chain() {
    let (Some(blocks), Some(truth)) = (testdata::shared("chain/regtest-small/blocks"), testdata::shared("chain/regtest-small/truth.json")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (sim, case) = (tmp.path().join("sim"), tmp.path().join("case"));
    let c = s(&case);
    ok(&["sim", "market", "--out", s(&sim)]);
    ok(&["case", "init", c]);
    ok(&["chain", "import", "--case", c, "--blocks-dir", s(&blocks), "--network", "regtest"]);
    // Every address of the entities other than a funding transaction's
    // owner is tagged as an exchange (with a hostile label).
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap();
    let (fund, owner) = truth["txs"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, t)| t["kind"] == "funding")
        .map(|(k, t)| (k.clone(), t["owner"].as_u64().unwrap()))
        .unwrap();
    let mut pack = String::from("title: report test\ncreator: report_cli\nlabel: Exchange <script>alert(1)</script>\ncategory: exchange\ncurrency: BTC\ntags:\n");
    for (a, e) in truth["addresses"].as_object().unwrap() {
        if e.as_u64() != Some(owner) {
            pack.push_str(&format!("  - address: {a}\n"));
        }
    }
    let pack_path = tmp.path().join("pack.yaml");
    std::fs::write(&pack_path, pack).unwrap();
    ok(&["chain", "tag", "import", s(&pack_path), "--case", c]);
    // An address the funding transaction paid whose forward trace reaches a tag.
    let g: serde_json::Value = serde_json::from_str(&ok(&["chain", "trace", "--from", &fund, "--hops", "0", "--case", c, "--json"])).unwrap();
    let (address, trace) = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap().to_owned())
        .find_map(|a| {
            let t: serde_json::Value = serde_json::from_str(&ok(&["chain", "trace", "--from", &a, "--case", c, "--json"])).unwrap();
            (!t["reached_tags"].as_array().unwrap().is_empty()).then_some((a, t))
        })
        .expect("a funding output whose coins reach another entity within 3 hops");
    // A vendor's own page shows it (the page is a test fixture: a simulated
    // vendor page with one line added).
    let page = std::fs::read_dir(sim.join("pages/placebo/vendor")).unwrap().map(|e| e.unwrap().path()).min().unwrap();
    let vendor = page.file_stem().unwrap().to_str().unwrap().to_owned();
    let html = std::fs::read_to_string(&page).unwrap().replace("</body>", &format!("<p>Tips: {address}</p></body>"));
    std::fs::write(&page, html).unwrap();
    ok(&["import", "--case", c, s(&sim.join("pages"))]);
    ok(&["extract", "--case", c]);
    let sighting = json_lines(&ok(&["--case", c, "--json", "identifiers", "--kind", "btc"]))
        .into_iter()
        .find(|i| i["value"] == address.as_str())
        .expect("the address is extracted from the page");
    let page_sha = sighting["evidence"].as_str().unwrap().to_owned();

    let (out, dir) = (tmp.path().join("flows.html"), tmp.path().join("flows"));
    ok(&["--case", c, "report", "--vendor", &vendor, "--out", s(&out), "--csv", s(&dir)]);
    let html = std::fs::read_to_string(&out).unwrap();
    let flows = &html[html.find("id=\"flows\"").unwrap()..html.find("id=\"methods\"").unwrap()];
    assert!(flows.contains(&address), "{flows}");
    assert!(unescape(flows).contains("Exchange <script>alert(1)</script>") && !html.contains("<script"), "the tag label is shown escaped");
    let reached = trace["reached_tags"].as_array().unwrap();
    for r in reached {
        let node = r["node"].as_str().unwrap();
        assert!(flows.contains(node), "{node} not in the flows section");
        let into = trace["edges"].as_array().unwrap().iter().find(|e| e["to"] == node).unwrap();
        assert!(flows.contains(&format!("{}:{} @{}", into["txid"].as_str().unwrap(), into["vout"], into["height"])), "no txid:vout @height for {node}");
    }
    assert!(flows.contains("policy poison"));
    assert!(flows.contains(&format!("#ev-{page_sha}")), "the flow cites the page that shows the address");
    let (h, rows) = read_csv(&dir.join("flows.csv"));
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    assert_eq!(rows.len(), reached.len(), "one row per tagged cluster reached");
    for r in &rows {
        assert_eq!(&r[col("address")], address.as_str());
        assert_eq!(&r[col("evidence_sha256")], page_sha.as_str());
        assert!(reached.iter().any(|x| x["node"] == r[col("reached_cluster")]));
        assert_eq!(r[col("traced_sats")].parse::<u64>().unwrap(), reached.iter().find(|x| x["node"] == r[col("reached_cluster")]).unwrap()["traced"].as_u64().unwrap());
    }
    assert!(indexed_in(&html).contains(&page_sha));
    // The chain methods are in the appendix with their measured rates.
    let appendix = &html[html.find("id=\"methods\"").unwrap()..];
    for needle in ["multi_input", "pair precision 1.0000", "round_payment", "trace", "a convention for sharing value"] {
        assert!(appendix.contains(needle), "the appendix lacks {needle}");
    }
    // Another vendor's report (the case has no linking model: accounts of
    // that name only) traces nothing from this address.
    let other = std::fs::read_dir(sim.join("pages/placebo/vendor"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_str().unwrap().to_owned())
        .find(|n| !n.eq_ignore_ascii_case(&vendor))
        .unwrap();
    let other_dir = tmp.path().join("other");
    ok(&["--case", c, "report", "--vendor", &other, "--csv", s(&other_dir)]);
    assert!(read_csv(&other_dir.join("flows.csv")).1.iter().all(|r| r[0] != *address));
}

#[test]
fn a_report_needs_out_or_csv_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let case = sim_case(tmp.path());
    // Neither: a usage error naming both.
    let none = bin().args(["--case", s(&case), "report"]).output().unwrap();
    let err = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(2), "{err}");
    assert!(err.contains("--out") && err.contains("--csv"), "the error names only one of the two: {err}");
    // Either alone, or both, writes the report.
    let html = tmp.path().join("r.html");
    let csv = tmp.path().join("csv");
    ok(&["--case", s(&case), "report", "--csv", s(&csv)]);
    assert!(csv.join("vendors.csv").is_file());
    ok(&["--case", s(&case), "report", "--out", s(&html)]);
    assert!(html.is_file());
    std::fs::remove_dir_all(&csv).unwrap();
    std::fs::remove_file(&html).unwrap();
    ok(&["--case", s(&case), "report", "--out", s(&html), "--csv", s(&csv)]);
    assert!(html.is_file() && csv.join("vendors.csv").is_file());
}

/// A number as the report writes it (`126,292`).
fn thousands(n: usize) -> String {
    let d = n.to_string();
    d.chars().enumerate().flat_map(|(i, c)| (i > 0 && (d.len() - i).is_multiple_of(3)).then_some(',').into_iter().chain([c])).collect()
}

#[test]
fn the_listings_section_says_which_rows_it_shows() {
    let tmp = tempfile::tempdir().unwrap();
    // 20 vendors with 15 listings each on average: most have more than the 10 shown.
    let case = common::small_sim_sales_case(tmp.path());
    let listings = json_lines(&ok(&["--case", s(&case), "--json", "listings"]));
    let mut per_account: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for l in &listings {
        *per_account.entry((l["market"].as_str().unwrap().to_owned(), l["vendor"].as_str().unwrap_or("").trim().to_owned())).or_default() += 1;
    }
    let shown: usize = per_account.values().map(|&n| n.min(10)).sum();
    let cut = per_account.values().filter(|&&n| n > 10).count();
    assert!(cut > 0 && shown < listings.len(), "the sample must leave rows out");

    let out = tmp.path().join("r.html");
    ok(&["--case", s(&case), "report", "--out", s(&out)]);
    let html = std::fs::read_to_string(&out).unwrap();
    let section = &html[html.find(r#"<h2 id="listings">"#).expect("a listings section")..html.find(r#"<h2 id="methods">"#).unwrap()];
    let rows = section.matches("<tr><td class=\"h\">L-").count();
    assert_eq!(rows, shown);
    let note = unescape(&section[section.find("<p class=\"note\">").unwrap()..section.find("</p>").unwrap()]);
    let want = format!("{} of {} listing observations shown: the first 10 of each vendor account", thousands(shown), thousands(listings.len()));
    assert!(note.contains(&want), "{note}\nwants: {want}");
    assert!(note.contains("in order of market, title and row id"), "{note}");
    assert!(note.contains(&format!("{cut} of the {} accounts with listings have more", per_account.len())), "{note}");
    // The rows shown are each account's first 10 in that order.
    let mut sorted: Vec<&serde_json::Value> = listings.iter().collect();
    sorted.sort_by(|a, b| (a["market"].as_str(), a["title"].as_str(), a["id"].as_str()).cmp(&(b["market"].as_str(), b["title"].as_str(), b["id"].as_str())));
    let mut seen: std::collections::BTreeMap<(String, String), usize> = Default::default();
    let first: Vec<&str> = sorted
        .iter()
        .filter(|l| {
            let n = seen.entry((l["market"].as_str().unwrap().to_owned(), l["vendor"].as_str().unwrap_or("").trim().to_owned())).or_default();
            *n += 1;
            *n <= 10
        })
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    let ids: Vec<&str> = section.match_indices("<tr><td class=\"h\">L-").map(|(i, _)| &section[i + 18..][..section[i + 18..].find('<').unwrap()]).collect();
    assert_eq!(ids, first);

    // A vendor's report shows all of its rows, and says so.
    let (account, n) = per_account.iter().find(|(_, &n)| n > 10).unwrap();
    let vout = tmp.path().join("v.html");
    ok(&["--case", s(&case), "report", "--vendor", &format!("{}/{}", account.0, account.1), "--out", s(&vout)]);
    let v = std::fs::read_to_string(&vout).unwrap();
    let vsection = &v[v.find(r#"<h2 id="listings">"#).unwrap()..v.find(r#"<h2 id="methods">"#).unwrap()];
    assert_eq!(vsection.matches("<tr><td class=\"h\">L-").count(), *n);
    assert!(vsection.contains(&format!("All {} listing observations of the report&#x27;s accounts", thousands(*n))), "{vsection}");
}

/// A report is a document a court reads: it says at its top whether the
/// evidence was intact when it was made (checked as `dragnet verify`
/// checks), and when a record it cites was altered, it says so there, marks
/// the record in the evidence index and in evidence_index.csv, and warns.
#[test]
fn a_report_on_altered_evidence_says_so_and_marks_the_records() {
    let tmp = tempfile::tempdir().unwrap();
    let case = sim_case(tmp.path());
    let html_path = tmp.path().join("r.html");
    ok(&["--case", s(&case), "report", "--out", s(&html_path)]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("<strong>Evidence check:</strong> as this report was made, all"), "the check is stated");
    assert!(html.contains(": intact.") && !html.contains("Evidence check failed"));

    // Alter one cited record: a byte in the middle of its gzip member.
    let cited: String = json_lines(&ok(&["--case", s(&case), "--json", "listings"]))[0]["evidence"].as_str().unwrap().to_owned();
    let line = std::fs::read_to_string(case.join("evidence/index.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["kind"] == "record" && v["sha256"] == cited.as_str())
        .unwrap();
    let file = case.join("evidence").join(line["file"].as_str().unwrap());
    let at = (line["offset"].as_u64().unwrap() + line["length"].as_u64().unwrap() / 2) as usize;
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[at] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();

    let csv_dir = tmp.path().join("csv");
    let out = bin().args(["--case", s(&case), "report", "--out", s(&html_path), "--csv", s(&csv_dir)]).output().unwrap();
    assert!(out.status.success(), "the report is still made: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: the evidence check failed"), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&html_path).unwrap();
    let top = &html[..html.find("<h2>Summary</h2>").unwrap()];
    assert!(top.contains("Evidence check failed."), "said before the summary");
    assert!(top.contains("1 of the records this report cites is among them"), "{top}");
    let row = {
        let start = html.find(&format!("<tr id=\"ev-{cited}\"")).unwrap();
        &html[start..start + html[start..].find("</tr>").unwrap()]
    };
    assert!(row.contains("damaged"), "{row}");
    let (header, rows) = read_csv(&csv_dir.join("evidence_index.csv"));
    let (sha, check) = (header.iter().position(|h| h == "sha256").unwrap(), header.iter().position(|h| h == "check").unwrap());
    for r in &rows {
        assert_eq!(r[check] == *"intact", r[sha] != cited, "{:?}", r);
    }
}
