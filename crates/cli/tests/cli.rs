//! End-to-end tests of the `dragnet` binary: the scripting interface
//! (`--json` fields), exit codes, and the demo.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dragnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dragnet"))
        .args(args)
        .env("USER", "cli-test")
        .output()
        .expect("run dragnet")
}

fn ok(args: &[&str]) -> String {
    let out = dragnet(args);
    assert!(out.status.success(), "dragnet {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"))).collect()
}

fn shared_pages() -> Option<PathBuf> {
    testdata::shared("markets/pages")
}

#[test]
fn real_case_end_to_end_json_interface() {
    let Some(pages) = shared_pages() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let case = case.to_str().unwrap();
    ok(&["case", "init", case]);
    for m in ["cryptonia", "empire"] {
        ok(&["--quiet", "--case", case, "import", pages.join(m).to_str().unwrap()]);
    }
    ok(&["--quiet", "--case", case, "extract"]);

    let vendors = json_lines(&ok(&["--case", case, "vendors", "--json"]));
    assert!(!vendors.is_empty());
    for v in &vendors {
        for key in ["id", "market", "name", "pgp_fingerprint", "evidence"] {
            assert!(v.get(key).is_some(), "vendor lacks {key}: {v}");
        }
    }
    let listings = json_lines(&ok(&["--case", case, "listings", "--json"]));
    assert!(!listings.is_empty());
    for l in &listings {
        for key in ["id", "market", "title", "vendor", "price", "currency", "ships_from", "ships_to", "evidence"] {
            assert!(l.get(key).is_some(), "listing lacks {key}: {l}");
        }
    }
    let pgp = json_lines(&ok(&["--case", case, "identifiers", "--kind", "pgp", "--json"]));
    assert!(!pgp.is_empty(), "cryptonia and empire pages carry PGP keys");
    for i in &pgp {
        assert_eq!(i["kind"], "pgp");
        let v = i["value"].as_str().unwrap();
        assert!(v.len() == 40 && v.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{v}");
        let ev = i["evidence"].as_str().unwrap();
        // The evidence digest names a stored record: explain it.
        let e: serde_json::Value = serde_json::from_str(&ok(&["--case", case, "explain", ev, "--json"])).unwrap();
        assert_eq!(e["sha256"], ev);
    }
    // explain a vendor row: the chain reaches the evidence record and the rule.
    let vid = vendors[0]["id"].as_str().unwrap();
    let text = ok(&["--case", case, "explain", vid]);
    assert!(text.contains(vendors[0]["evidence"].as_str().unwrap()), "{text}");
    assert!(text.contains("rule records["), "{text}");

    let verify = dragnet(&["--case", case, "verify"]);
    assert_eq!(verify.status.code(), Some(0));
}

/// A case holding one imported page, `pages/a.html`: (temporary folder,
/// case, pages folder).
fn one_page_case() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let pages = tmp.path().join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(pages.join("a.html"), "<html><body>hello</body></html>").unwrap();
    ok(&["case", "init", case.to_str().unwrap()]);
    ok(&["--quiet", "--case", case.to_str().unwrap(), "import", pages.to_str().unwrap()]);
    (tmp, case, pages)
}

#[test]
fn verify_exit_code_names_damage() {
    let (_tmp, case, _) = one_page_case();
    let c = case.to_str().unwrap();
    assert_eq!(dragnet(&["--case", c, "verify"]).status.code(), Some(0));
    let log = case.join("evidence/custody.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replacen("cli-test", "cli-tesT", 1)).unwrap();
    let out = dragnet(&["--case", c, "verify"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("custody.jsonl"));
    // A log cut before the page's acquire entry: every line left is whole
    // and chained, and the page is named by none.
    let first = text.lines().take_while(|l| !l.contains("\"acquire\"")).map(|l| format!("{l}\n")).collect::<String>();
    std::fs::write(&log, first).unwrap();
    let out = dragnet(&["--case", c, "verify"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no custody entry records this record's acquisition"), "{text}");
    // The damaged record is named by what it was captured as, and the
    // count says what was checked.
    assert!(text.contains("(captured as a.html)"), "{text}");
    assert!(text.contains("checked 2 WARC records (the 1 captures stored, and the files' warcinfo, request and alias records)"), "{text}");
}

/// `verify` prints the custody log's head hash; given later with
/// `--expect-head`, it shows whether the log still holds that entry: a log
/// cut back past it still chains whole, and only the noted hash shows the
/// cut. Recoveries after killed writers are listed.
#[test]
fn verify_prints_the_head_and_checks_a_noted_one() {
    let (_tmp, case, pages) = one_page_case();
    let c = case.to_str().unwrap();
    let head = |out: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        v["head"][1].as_str().unwrap().to_owned()
    };
    let first = head(&ok(&["--case", c, "--json", "verify"]));
    ok(&["--quiet", "--case", c, "extract"]);
    let text = ok(&["--case", c, "verify"]);
    let second = head(&ok(&["--case", c, "--json", "verify"]));
    assert_ne!(first, second);
    assert!(text.contains(&format!("hash {second}")), "{text}");
    // The log grew since the first head: it still holds it.
    ok(&["--case", c, "verify", "--expect-head", &first]);
    // A damaged line elsewhere is reported, and does not hide the noted head.
    let log = case.join("evidence/custody.jsonl");
    let whole = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, whole.replacen("\"seq\":1,", "\"seq\":1,,", 1)).unwrap();
    let out = dragnet(&["--case", c, "verify", "--expect-head", &second]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code() == Some(3) && !said.contains("holds no entry"), "{said}");
    std::fs::write(&log, whole).unwrap();
    // Cut back past the second head: whole, but not what was noted.
    let log = case.join("evidence/custody.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.contains(&second)).unwrap();
    std::fs::write(&log, lines[..at].iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    assert_eq!(dragnet(&["--case", c, "verify"]).status.code(), Some(0), "a cut log chains whole");
    let out = dragnet(&["--case", c, "verify", "--expect-head", &second]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("holds no entry with hash {second}")));
    // A killed writer's cut record, set aside by the next import, is listed.
    let warc = case.join("evidence/evidence-00001.warc.gz");
    let bytes = std::fs::read(&warc).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&warc).unwrap();
    std::io::Write::write_all(&mut f, &bytes[..bytes.len().min(64)]).unwrap();
    std::fs::write(pages.join("b.html"), "<html><body>more</body></html>").unwrap();
    ok(&["--quiet", "--case", c, "import", pages.to_str().unwrap()]);
    let text = ok(&["--case", c, "verify"]);
    assert!(text.contains("recovered custody entry") && text.contains(&format!("64 bytes of evidence-00001.warc.gz from offset {}", bytes.len())), "{text}");
}

/// `verify` reads the evidence only and writes nothing: a damaged derived
/// store (dragnet.sqlite, rebuildable) does not stop it, and a missing
/// index is rebuilt in memory, not written, and reported (an examiner's copy
/// stays as it was; before, verify failed on the first, wrote the index
/// back silently, and failed on write-blocked media).
#[test]
fn verify_reads_the_evidence_only_and_writes_nothing() {
    let (_tmp, case, _) = one_page_case();
    let c = case.to_str().unwrap();
    std::fs::write(case.join("dragnet.sqlite"), "garbage").unwrap();
    std::fs::remove_file(case.join("evidence/index.jsonl")).unwrap();
    let out = dragnet(&["--case", c, "verify"]);
    let text = String::from_utf8_lossy(&out.stdout);
    // Checked all the same, and the missing index said: rebuilt in memory,
    // it cannot show headers changed since they were indexed.
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("the 1 captures stored") && text.ends_with(": 1 problems\n"), "{text}");
    assert!(text.contains("index.jsonl: missing"), "{text}");
    assert!(!case.join("evidence/index.jsonl").exists(), "verify wrote the index");
    assert_eq!(std::fs::read(case.join("dragnet.sqlite")).unwrap(), b"garbage");
}

/// html5ever logs "foster parenting not implemented" at warn for every
/// text or element misplaced inside a table (138 times extracting the shared
/// markets), though it does place them: by default that is not shown, and
/// `DRAGNET_LOG` still can show it.
#[test]
fn html_parser_chatter_is_not_shown_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let pages = tmp.path().join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(pages.join("a.html"), "<html><body><table><tr><td>1</td></tr><b>misplaced</b></table></body></html>").unwrap();
    let extract = |case: &str, log: Option<&str>| {
        ok(&["--quiet", "--case", case, "import", pages.to_str().unwrap()]);
        let mut c = Command::new(env!("CARGO_BIN_EXE_dragnet"));
        c.args(["--quiet", "--case", case, "extract"]).env("USER", "cli-test").env_remove("DRAGNET_LOG");
        if let Some(log) = log {
            c.env("DRAGNET_LOG", log);
        }
        let out = c.output().expect("run dragnet");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let (quiet, asked) = (tmp.path().join("quiet"), tmp.path().join("asked"));
    ok(&["case", "init", quiet.to_str().unwrap()]);
    ok(&["case", "init", asked.to_str().unwrap()]);
    let by_default = extract(quiet.to_str().unwrap(), None);
    assert!(!by_default.contains("foster parenting"), "{by_default}");
    let asked_for = extract(asked.to_str().unwrap(), Some("warn"));
    assert!(asked_for.contains("foster parenting"), "the page no longer makes html5ever warn");
    // Stderr is a pipe here: plain text, no terminal colour codes.
    assert!(!asked_for.contains('\u{1b}'), "{asked_for:?}");
}

/// Pages imported without a capture time of their own are dated by their
/// files' modification times, and the import says so (and how to date them).
#[test]
fn pages_dated_by_their_file_times_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let pages = tmp.path().join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    for n in 0..3 {
        std::fs::write(pages.join(format!("p{n}.html")), format!("<html><body>page {n}</body></html>")).unwrap();
    }
    let (by_file, given) = (tmp.path().join("by-file"), tmp.path().join("given"));
    ok(&["case", "init", by_file.to_str().unwrap()]);
    ok(&["case", "init", given.to_str().unwrap()]);
    let out = dragnet(&["--quiet", "--case", by_file.to_str().unwrap(), "import", pages.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("note: 3 new pages have no capture time of their own") && err.contains("--captured-at"), "{err}");
    // Imported again: nothing new, nothing to say.
    let out = dragnet(&["--quiet", "--case", by_file.to_str().unwrap(), "import", pages.to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("capture time"));
    let json = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&ok(args)).unwrap() };
    let dated = json(&["--json", "--case", given.to_str().unwrap(), "import", "--captured-at", "2020-02-20", pages.to_str().unwrap()]);
    assert_eq!((dated["added"].as_u64(), &dated["dated_by_file_time"]), (Some(3), &serde_json::Value::Null));
    let other = tmp.path().join("other");
    ok(&["case", "init", other.to_str().unwrap()]);
    let by_file_json = json(&["--json", "--case", other.to_str().unwrap(), "import", pages.to_str().unwrap()]);
    assert_eq!(by_file_json["dated_by_file_time"]["pages"].as_u64(), Some(3), "{by_file_json}");
    // The evidence says so for good: `explain` and a report's evidence index
    // mark a capture time that is a file's modification time.
    use bitcoin::hashes::Hash;
    let sha = bitcoin::hashes::sha256::Hash::hash(b"<html><body>page 0</body></html>").to_string();
    let marked = "(the file's modification time when these bytes were first imported: no capture time was given)";
    let explained = ok(&["--case", by_file.to_str().unwrap(), "explain", &sha]);
    assert!(explained.contains(marked), "{explained}");
    let explained = ok(&["--case", given.to_str().unwrap(), "explain", &sha]);
    assert!(explained.contains("captured at  2020-02-20T00:00:00Z\n"), "{explained}");
    let explained = json(&["--json", "--case", by_file.to_str().unwrap(), "explain", &sha]);
    assert_eq!(explained["captured_at_is_file_time"], true, "{explained}");
    // A case's WARC file imported into another case keeps what its records say.
    let from_warc = tmp.path().join("from-warc");
    ok(&["case", "init", from_warc.to_str().unwrap()]);
    ok(&["--quiet", "--case", from_warc.to_str().unwrap(), "import", by_file.join("evidence/evidence-00001.warc.gz").to_str().unwrap()]);
    let explained = ok(&["--case", from_warc.to_str().unwrap(), "explain", &sha]);
    assert!(explained.contains(marked), "{explained}");
}

#[test]
fn usage_and_missing_case_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let out = dragnet(&["--case", tmp.path().to_str().unwrap(), "vendors"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a dragnet case"));
    assert_eq!(dragnet(&["no-such-command"]).status.code(), Some(2));
}

#[test]
fn demo_runs_offline_and_reruns() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = out.to_str().unwrap();
    let summary: serde_json::Value = serde_json::from_str(&ok(&["--json", "demo", "--out", o])).unwrap();
    assert_eq!(summary["verify_intact"], true);
    assert!(summary["listings"].as_u64().unwrap() > 0, "{summary}");
    assert!(summary["vendors"].as_u64().unwrap() > 0, "{summary}");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("Evidence index"));
    // Sales by vendor and by month, each row naming its method, and the methods' parameters.
    for needle in ["Sales estimates", "By vendor", "By month", "id=\"method-feedback_count\"", "id=\"method-sold_counter\"", "Soska &amp; Christin"] {
        assert!(report.contains(needle), "report lacks {needle}");
    }
    // The simulated listings' counters have no "since" date: their first
    // values are undated, a row of their own, explained under the table.
    assert!(report.contains("<tr><td>undated</td><td><a href=\"#method-sold_counter\">"), "no undated month row");
    assert!(report.contains("Month <em>undated</em>: counters' first values"), "the undated row is not explained");
    // The default linking model is trained, so the report lists the links:
    // the accounts that share a PGP key among them, as hard links.
    let hard = summary["hard_links"].as_u64().unwrap();
    assert!(hard > 0 && summary["links"].as_u64().unwrap() >= hard, "{summary}");
    assert!(!report.contains("no linking model"), "the demo report has no links");
    assert_eq!(report.matches("<strong>HARD</strong>").count() as u64, hard, "one row per hard link");
    // Same seed, same data: a second run reproduces the same report, but
    // for the time the custody log gave the model's entry (the clock's).
    // "Custody log entry N (2026-12-06T23:45:48Z by ...": the 20 characters after " (".
    let timeless = |r: &str| -> String {
        let mut out = String::new();
        let mut rest = r;
        while let Some(at) = rest.find("Custody log entry ") {
            let open = at + rest[at..].find(" (").unwrap() + 2;
            assert!(rest.as_bytes().get(open + 19) == Some(&b'Z'), "{}", &rest[at..open + 20]);
            out.push_str(&rest[..open]);
            out.push_str("TIME");
            rest = &rest[open + 20..];
        }
        out + rest
    };
    assert_eq!(report.matches("Custody log entry ").count(), 1, "the model's entry is the report's one clock time");
    ok(&["--json", "demo", "--out", o]);
    assert_eq!(timeless(&std::fs::read_to_string(out.join("report.html")).unwrap()), timeless(&report));
}

#[test]
fn btc_addresses_on_vendor_pages_become_chain_tags_with_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = out.to_str().unwrap();
    ok(&["--json", "demo", "--out", o]);
    let case = out.join("case");
    let c = case.to_str().unwrap();
    let btc = json_lines(&ok(&["--case", c, "identifiers", "--kind", "btc", "--json"]));
    assert!(!btc.is_empty(), "the synthetic vendors show BTC addresses");
    let r: serde_json::Value = serde_json::from_str(&ok(&["--json", "--case", c, "chain", "tag", "from-pages"])).unwrap();
    assert!(r["added"].as_u64().unwrap() > 0, "{r}");
    // A second run adds nothing: tags are not duplicated.
    let again: serde_json::Value = serde_json::from_str(&ok(&["--json", "--case", c, "chain", "tag", "from-pages"])).unwrap();
    assert_eq!(again["added"], 0);
    let tags = json_lines(&ok(&["--json", "--case", c, "chain", "tag", "list"]));
    for b in &btc {
        let addr = b["value"].as_str().unwrap();
        // One tag per page the address was seen on, citing that page.
        let t = tags
            .iter()
            .find(|t| t["address"] == addr && t["evidence"] == b["evidence"])
            .unwrap_or_else(|| panic!("no tag for {addr} citing {}", b["evidence"]));
        assert!(t["label"].as_str().unwrap().starts_with("vendor "), "{t}");
    }
}

#[test]
fn sim_market_writes_pages_and_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let o = out.to_str().unwrap();
    let s: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "sim", "market", "--out", o, "--operators", "5", "--markets", "3"])).unwrap();
    assert_eq!(s["operators"], 5, "{s}");
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap();
    let accounts = truth["accounts"].as_array().unwrap();
    assert_eq!(accounts.len() as u64, s["accounts"].as_u64().unwrap());
    let markets: std::collections::BTreeSet<&str> = accounts.iter().map(|a| a["market"].as_str().unwrap()).collect();
    assert!(markets.len() >= 2 && markets.len() <= 3, "{markets:?}");
    // Operators are numbered 1..=N, and every account belongs to one of them.
    let ops: std::collections::BTreeSet<u64> =
        truth["operators"].as_array().unwrap().iter().map(|o| o["operator"].as_u64().unwrap()).collect();
    assert_eq!(ops, (1..=5).collect());
    assert!(accounts.iter().all(|a| ops.contains(&a["operator"].as_u64().unwrap())));
    assert!(out.join("pages").is_dir());
}

/// Every fuzz target is built and documented: each file in
/// `fuzz/fuzz_targets` is a `[[bin]]` of `fuzz/Cargo.toml` under its own
/// name, and `fuzz/README.md` names it. (Sorting the targets once turned the
/// first `[[bin]]` header into a comment: its keys fell into `[workspace]`,
/// cargo only warned, and the Bitcoin block reader's target was no longer
/// built.)
#[test]
fn every_fuzz_target_is_a_bin_of_the_fuzz_crate() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifest: toml::Table = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap().parse().unwrap();
    let bins: std::collections::BTreeSet<(String, String)> = manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["name"].as_str().unwrap().to_owned(), b["path"].as_str().unwrap().to_owned()))
        .collect();
    let files: std::collections::BTreeSet<(String, String)> = std::fs::read_dir(fuzz.join("fuzz_targets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|f| Some((f.strip_suffix(".rs")?.to_owned(), format!("fuzz_targets/{f}"))))
        .collect();
    assert!(files.len() >= 10, "{files:?}");
    assert_eq!(bins, files);
    // Nothing but a workspace's own keys under [workspace].
    let workspace: Vec<&String> = manifest["workspace"].as_table().unwrap().keys().collect();
    assert_eq!(workspace, ["members"]);
    let readme = std::fs::read_to_string(fuzz.join("README.md")).unwrap();
    for (name, _) in &files {
        assert!(readme.contains(&format!("`{name}`")), "fuzz/README.md does not name {name}");
    }
}


/// `--market` of listings, vendors and feedback names a market id in any
/// case (`SHOP` printed nothing); a market the case does not hold prints no
/// rows and a note naming the markets it does.
#[test]
fn list_market_filter_ignores_case_and_names_the_markets_held() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let case = case.to_str().unwrap();
    ok(&["case", "init", case]);
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let columns = "observed_at = \"2020-05-01\"\n\n[columns]\ntitle = \"item\"\nvendor = \"seller\"\nprice = \"price\"\n";
    let shop_map = write("shop.toml", &format!("name = \"shop-2020\"\nmarket = \"shop\"\n{columns}"));
    let bazaar_map = write("bazaar.toml", &format!("name = \"bazaar-2020\"\nmarket = \"bazaar\"\n{columns}"));
    let feedback_map = write(
        "fb.toml",
        "name = \"shop-fb\"\nkind = \"feedback\"\nmarket = \"shop\"\nobserved_at = \"2020-05-01\"\n\n[columns]\nvendor = \"seller\"\ntitle = \"item\"\ndate = \"left\"\n",
    );
    let shop = write("shop.csv", "item,seller,price\nHaze,anna,USD 100\nPills,bob,USD 5\n");
    let bazaar = write("bazaar.csv", "item,seller,price\nSeeds,carol,USD 7\n");
    let feedback = write("fb.csv", "seller,item,left\nanna,Haze,2020-04-02\n");
    for (map, data) in [(&shop_map, &shop), (&bazaar_map, &bazaar), (&feedback_map, &feedback)] {
        ok(&["--quiet", "--case", case, "import", "--format", map, data]);
    }
    let listed = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["--case", case, "--json"];
        all.extend(args);
        json_lines(&ok(&all))
    };
    let exact = listed(&["listings", "--market", "shop"]);
    assert_eq!(exact.len(), 2, "{exact:?}");
    for spelled in ["SHOP", "Shop"] {
        assert_eq!(listed(&["listings", "--market", spelled]), exact, "--market {spelled}");
    }
    assert_eq!(listed(&["listings", "--market", "Shop", "--limit", "1"]), exact[..1]);
    assert_eq!(listed(&["listings", "--market", "SHOP", "--vendor", "bob"]).len(), 1);
    let fb = listed(&["feedback", "--market", "SHOP"]);
    assert_eq!(fb.len(), 1, "{fb:?}");
    assert_eq!(fb, listed(&["feedback", "--market", "shop"]));
    // A market the case does not hold: no rows, and a note naming those it holds.
    for cmd in ["listings", "vendors", "feedback"] {
        let out = dragnet(&["--case", case, cmd, "--market", "agora"]);
        assert!(out.status.success(), "{cmd}");
        assert!(out.stdout.is_empty(), "{cmd}: {}", String::from_utf8_lossy(&out.stdout));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("holds no market \"agora\"") && err.contains("its markets: bazaar, shop"), "{cmd}: {err}");
    }
    // A market it holds gives no note, rows or none.
    let out = dragnet(&["--case", case, "vendors", "--market", "Bazaar"]);
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("holds no market"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// With no --operator and $USER unset, custody log entries name the
/// operator "unknown": a command that writes them says so on stderr (it
/// was silent); one that writes none, or one that is named an operator,
/// does not.
#[test]
fn an_unknown_operator_is_warned_of_where_custody_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let case = case.to_str().unwrap();
    let run = |user: Option<&str>, args: &[&str]| -> String {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dragnet"));
        c.args(args).env_remove("USER");
        if let Some(u) = user {
            c.env("USER", u);
        }
        let out = c.output().expect("run dragnet");
        assert!(out.status.success(), "dragnet {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let last_operator = || -> String {
        let log = std::fs::read_to_string(PathBuf::from(case).join("evidence/custody.jsonl")).unwrap();
        let e: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
        e["operator"].as_str().unwrap().to_owned()
    };
    let warning = "warning: no --operator given and $USER is unset: custody log entries will name the operator \"unknown\" (give --operator NAME)";
    let err = run(None, &["case", "init", case]);
    assert_eq!(err.lines().filter(|l| l.contains("--operator")).collect::<Vec<_>>(), [warning], "{err}");
    assert_eq!(last_operator(), "unknown");
    let page = tmp.path().join("page.html");
    std::fs::write(&page, "<html><body>a page</body></html>").unwrap();
    let err = run(None, &["--quiet", "--case", case, "import", page.to_str().unwrap()]);
    assert!(err.contains(warning), "{err}");
    assert_eq!(last_operator(), "unknown");
    // Named: by --operator, or by $USER.
    let err = run(None, &["--quiet", "--case", case, "--operator", "analyst-3", "extract"]);
    assert!(!err.contains("--operator"), "{err}");
    assert_eq!(last_operator(), "analyst-3");
    let err = run(Some("analyst-4"), &["--quiet", "--case", case, "extract"]);
    assert!(!err.contains("--operator"), "{err}");
    assert_eq!(last_operator(), "analyst-4");
    // Commands that write no custody entry do not warn.
    for args in [&["--case", case, "listings"][..], &["--case", case, "case", "info"], &["--case", case, "verify"]] {
        let err = run(None, args);
        assert!(!err.contains("--operator"), "{args:?}: {err}");
    }
}

/// Reports cite evidence by the first 16 hex digits of its digest, and
/// `explain` takes them: a prefix of at least 8 hex digits that only one
/// stored digest starts with explains that record (either case); a prefix
/// several digests start with is an error listing them; a prefix of
/// nothing, or shorter than 8, is the error for an unknown id. Before,
/// only the whole 64-digit digest was an evidence id.
#[test]
fn explain_takes_a_unique_prefix_of_an_evidence_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let pages = tmp.path().join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    // Two pages whose digests share their first 8 hex digits, and a third.
    let page = |i: u32| format!("<html><body>page {i}</body></html>");
    let mut seen = std::collections::HashMap::new();
    let (a, b) = (0u32..)
        .find_map(|i| {
            let head = model::Sha256::of(page(i).as_bytes()).to_hex()[..8].to_owned();
            seen.insert(head, i).map(|j| (j, i))
        })
        .unwrap();
    let c = (0u32..).find(|i| ![a, b].contains(i)).unwrap();
    for i in [a, b, c] {
        std::fs::write(pages.join(format!("p{i}.html")), page(i)).unwrap();
    }
    let [ha, hb, hc] = [a, b, c].map(|i| model::Sha256::of(page(i).as_bytes()).to_hex());
    let case = tmp.path().join("case");
    let case = case.to_str().unwrap();
    ok(&["case", "init", case]);
    ok(&["--quiet", "--case", case, "import", pages.to_str().unwrap()]);

    // The 16 digits a report cites, in either case, and the whole digest.
    for id in [&hc[..16], &hc[..16].to_ascii_uppercase(), &hc[..8], &hc[..]] {
        let e: serde_json::Value = serde_json::from_str(&ok(&["--case", case, "--json", "explain", id])).unwrap();
        assert_eq!((e["kind"].as_str(), e["sha256"].as_str(), e["id"].as_str()), (Some("evidence"), Some(hc.as_str()), Some(id)), "{id}");
    }
    let text = ok(&["--case", case, "explain", &ha[..16]]);
    assert!(text.contains(&format!("sha256 {ha}")) && text.contains(&format!("p{a}.html")), "{text}");
    // A prefix of two records names both.
    let two = dragnet(&["--case", case, "explain", &ha[..8]]);
    assert_eq!(two.status.code(), Some(1));
    let err = String::from_utf8_lossy(&two.stderr);
    assert!(err.contains("2 evidence records") && err.contains(&ha) && err.contains(&hb) && err.contains("more digits"), "{err}");
    // A prefix of nothing stored, and one too short to be a prefix: unknown ids.
    let none = if hc.starts_with('0') { format!("1{}", &hc[1..16]) } else { format!("0{}", &hc[1..16]) };
    for id in [none.as_str(), &hc[..7]] {
        let out = dragnet(&["--case", case, "explain", id]);
        assert_eq!(out.status.code(), Some(1), "{id}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nothing in case"), "{id}: {err}");
        // The short one is told why it missed; the long one is not.
        assert_eq!(err.contains("a digest prefix needs at least 8 hex digits"), id.len() < 8, "{id}: {err}");
    }
    // The record is read back as it is explained: intact, then altered.
    let e: serde_json::Value = serde_json::from_str(&ok(&["--case", case, "--json", "explain", &hc])).unwrap();
    assert_eq!(e["check"], "intact");
    let index = std::fs::read_to_string(Path::new(case).join("evidence/index.jsonl")).unwrap();
    // What explain shows of the record comes from the index: an index line
    // changed (another capture time) is not intact either.
    let stored = e["captured_at"].as_str().unwrap_or_default().to_owned();
    let forged: String = index
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["sha256"] == hc.as_str() {
                v["captured_at"] = "2019-01-01T00:00:00Z".into();
            }
            format!("{v}\n")
        })
        .collect();
    std::fs::write(Path::new(case).join("evidence/index.jsonl"), forged).unwrap();
    let e: serde_json::Value = serde_json::from_str(&ok(&["--case", case, "--json", "explain", &hc])).unwrap();
    assert!(e["check"].as_str().is_some_and(|c| c.contains("record differs from its index entry (captured_at")), "{e}");
    std::fs::write(Path::new(case).join("evidence/index.jsonl"), &index).unwrap();
    assert_ne!(stored, "2019-01-01T00:00:00Z");
    let line: serde_json::Value = index.lines().map(|l| serde_json::from_str(l).unwrap()).find(|v: &serde_json::Value| v["sha256"] == hc.as_str()).unwrap();
    let file = Path::new(case).join("evidence").join(line["file"].as_str().unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[(line["offset"].as_u64().unwrap() + line["length"].as_u64().unwrap() / 2) as usize] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();
    let text = ok(&["--case", case, "explain", &hc]);
    assert!(text.contains("checked      NOT INTACT: ") && text.contains(&hc), "{text}");
    let e: serde_json::Value = serde_json::from_str(&ok(&["--case", case, "--json", "explain", &hc])).unwrap();
    assert!(e["check"].as_str().is_some_and(|c| c != "intact"), "{e}");
}

/// A path that does not exist fails the import (it exited 0), after the
/// other paths are imported.
#[test]
fn a_missing_path_fails_the_import_after_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    ok(&["case", "init", case.to_str().unwrap()]);
    let page = tmp.path().join("p.html");
    std::fs::write(&page, "<html><body>x</body></html>").unwrap();
    let missing = tmp.path().join("nope.html");
    let out = dragnet(&["import", "--case", case.to_str().unwrap(), missing.to_str().unwrap(), page.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("1 of the paths given do not exist") && err.contains("nope.html"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 new records"), "the other path is imported");
}
