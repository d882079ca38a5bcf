//! The import -> extract -> verify pipeline on real captures and on bad input.

use std::io::Write;
use std::path::{Path, PathBuf};

use case::{Case, ExtractOptions, ImportOptions, NoProgress};
use store::{CaseStore, Filter};

fn shared_pages() -> Option<PathBuf> {
    testdata::shared("markets/pages")
}

fn new_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().unwrap();
    let case = Case::init(&dir.path().join("case"), "tester").unwrap();
    (dir, case)
}

#[test]
fn real_pages_import_once_and_extract_with_provenance() {
    let Some(pages) = shared_pages() else { return };
    let (_tmp, mut case) = new_case();
    let first = case.import(&[pages.join("dream")], &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!(first.files, 23);
    // The README lists three byte-identical pairs in dream/: they are stored once.
    assert_eq!(first.added, 20, "{first:?}");
    assert_eq!(first.duplicates, 3);
    let again = case.import(&[pages.join("dream")], &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!((again.added, again.duplicates), (0, 23));
    assert_eq!(case.evidence().len(), 20);

    let report = case.extract(&ExtractOptions::default(), &NoProgress).unwrap();
    assert_eq!(report.pages, 20);
    assert_eq!(report.by_market.get("dream").copied().unwrap_or(0), 20, "{:?}", report.by_market);
    let before = case.store().counts().unwrap();
    assert!(before.listings > 0 && before.vendors > 0);
    // Re-extraction replaces rows instead of duplicating them.
    case.extract(&ExtractOptions::default(), &NoProgress).unwrap();
    assert_eq!(case.store().counts().unwrap(), before);

    // Every vendor row explains back to a stored evidence record.
    for v in case.store().vendors(&Filter::default()).unwrap() {
        let e = case.explain(v.id.as_str()).unwrap().expect("explainable");
        let sha = e.sha256.expect("cites evidence");
        assert!(case.evidence().record(&sha.parse().unwrap()).is_some());
        assert!(!e.sources.is_empty());
        assert!(e.rule.unwrap().contains("vendor"));
    }
    // Dream's anti-phishing decoy, a bitcoin address in the template of every
    // page, is no vendor's: no address is tagged (`chain tag from-pages`) as
    // the address of more than one vendor. Before the profile's template
    // rule, one address was "vendor X on dream" for 15 vendors.
    let mut vendors_of: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
    for s in case.btc_sightings().unwrap() {
        if s.category == "market-vendor" {
            vendors_of.entry(s.address).or_default().insert(s.label);
        }
    }
    assert!(vendors_of.values().all(|v| v.len() <= 1), "{vendors_of:?}");
    assert!(case.verify().is_intact());
}

fn find_evidence_file(case_dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(case_dir.join("evidence"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .collect();
    files.sort();
    files.pop().unwrap()
}

/// An import's acquire entry names the gzip member it wrote, by the digest
/// of the bytes the evidence file holds (F12); importing the same file again
/// writes nothing and names none (an empty list: an entry without the
/// field, as older ones are, leaves its capture's members unchecked).
#[test]
fn an_imported_files_acquire_entry_names_its_member() {
    let (tmp, mut case) = new_case();
    let src = tmp.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("p0.html"), "<html><body>page 0</body></html>").unwrap();
    case.import(std::slice::from_ref(&src), &ImportOptions::default(), &NoProgress).unwrap();
    case.import(std::slice::from_ref(&src), &ImportOptions::default(), &NoProgress).unwrap();
    let rec = case.evidence().records().remove(0);
    let bytes = std::fs::read(find_evidence_file(case.dir())).unwrap();
    let member = model::Sha256::of(&bytes[rec.offset as usize..(rec.offset + rec.length) as usize]).to_hex();
    let named: Vec<serde_json::Value> =
        case.evidence().custody().entries().unwrap().into_iter().filter(|e| e.action == evidence::ACQUIRE).map(|e| e.detail["members"].clone()).collect();
    assert_eq!(named, [serde_json::json!([member]), serde_json::json!([])]);
    assert!(case.verify().is_intact());
}

/// An import killed mid-write leaves a record and a custody line cut short
/// (SIGKILL stops a write between pages). The next import sets them aside
/// before it appends, logs that, and the case verifies; without that, its
/// records went after the cut one and `verify` failed for good.
#[test]
fn an_import_after_a_killed_one_sets_its_torn_writes_aside() {
    let (tmp, mut case) = new_case();
    let src = tmp.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("p0.html"), "<html><body>page 0</body></html>").unwrap();
    case.import(std::slice::from_ref(&src), &ImportOptions::default(), &NoProgress).unwrap();
    let case_dir = case.dir().to_owned();
    let rec = case.evidence().records().remove(0);
    drop(case);
    let ev = find_evidence_file(&case_dir);
    // The first half of the page's record, as a second copy would be cut.
    let (at, len) = (rec.offset as usize, rec.length as usize);
    let cut = std::fs::read(&ev).unwrap()[at..at + len / 2].to_vec();
    let append = |path: &Path, bytes: &[u8]| std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
    append(&ev, &cut);
    append(&case_dir.join("evidence/custody.jsonl"), b"{\"action\":\"acq");

    let mut case = Case::open(&case_dir, "tester").unwrap();
    assert!(!case.verify().is_intact());
    std::fs::write(src.join("p1.html"), "<html><body>page 1</body></html>").unwrap();
    let report = case.import(&[src], &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!(report.digests.len(), 2);
    assert!(case.verify().is_intact(), "{:?}", case.verify().problems);
    // Two entries: the custody log's own piece (its entry written in the
    // same rename as the cut), then the evidence file's.
    let recovered: Vec<_> = case.evidence().custody().entries().unwrap().into_iter().filter(|e| e.action == evidence::RECOVER).collect();
    let files: Vec<&str> = recovered.iter().flat_map(|e| e.detail["torn"].as_array().unwrap().iter().map(|t| t["file"].as_str().unwrap())).collect();
    assert_eq!(files, ["custody.jsonl", ev.file_name().unwrap().to_str().unwrap()]);
    assert_eq!(std::fs::read_dir(case_dir.join("evidence/torn")).unwrap().count(), 2);
}

#[test]
fn verify_names_a_flipped_record_and_a_flipped_log_line() {
    let (tmp, mut case) = new_case();
    let src = tmp.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..3 {
        std::fs::write(src.join(format!("p{i}.html")), format!("<html><body>page {i}</body></html>")).unwrap();
    }
    case.import(&[src], &ImportOptions::default(), &NoProgress).unwrap();
    assert!(case.verify().is_intact());
    let case_dir = case.dir().to_owned();
    drop(case);

    // One byte of the evidence file.
    let ev = find_evidence_file(&case_dir);
    let original = std::fs::read(&ev).unwrap();
    let mut bytes = original.clone();
    let at = bytes.len() - 40;
    bytes[at] ^= 0x01;
    std::fs::write(&ev, &bytes).unwrap();
    let case = Case::open(&case_dir, "tester").unwrap();
    let report = case.verify();
    assert!(!report.is_intact());
    assert!(report.problems.iter().any(|p| p.to_string().contains("evidence-")), "{:?}", report.problems);
    drop(case);
    std::fs::write(&ev, &original).unwrap();

    // One byte of the custody log.
    let log = case_dir.join("evidence/custody.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let tampered = text.replacen("tester", "tester2", 1);
    std::fs::write(&log, tampered).unwrap();
    let case = Case::open(&case_dir, "tester").unwrap();
    let report = case.verify();
    assert!(report.problems.iter().any(|p| p.to_string().contains("custody.jsonl")), "{:?}", report.problems);
}

/// A record imported twice has two acquire entries: cut from the evidence
/// file, it is one problem, at the first entry, which names the other (it
/// was one problem per entry).
#[test]
fn a_record_gone_is_reported_once_however_often_it_was_acquired() {
    let (tmp, mut case) = new_case();
    let src = tmp.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("p0.html"), "<html><body>page 0</body></html>").unwrap();
    std::fs::write(src.join("p1.html"), "<html><body>page 1</body></html>").unwrap();
    for _ in 0..3 {
        case.import(std::slice::from_ref(&src), &ImportOptions::default(), &NoProgress).unwrap();
    }
    assert!(case.verify().is_intact());
    let case_dir = case.dir().to_owned();
    let gone = case.evidence().records().into_iter().find(|r| r.sources.iter().any(|s| s.ends_with("p1.html"))).expect("p1's record");
    let acquired = case.evidence().custody().entries().unwrap().iter().filter(|e| e.action == evidence::ACQUIRE && e.detail["sha256"] == gone.sha256.to_hex()).count();
    assert_eq!(acquired, 3, "one acquire entry per import");
    drop(case);
    let ev = find_evidence_file(&case_dir);
    let bytes = std::fs::read(&ev).unwrap();
    let (at, len) = (gone.offset as usize, gone.length as usize);
    std::fs::write(&ev, [&bytes[..at], &bytes[at + len..]].concat()).unwrap();
    // Its index line goes too (else the index names it, at that line).
    let index = case_dir.join("evidence/index.jsonl");
    let lines: String = std::fs::read_to_string(&index).unwrap().lines().filter(|l| !l.contains(&gone.sha256.to_hex())).map(|l| format!("{l}\n")).collect();
    std::fs::write(&index, lines).unwrap();
    let report = Case::open(&case_dir, "tester").unwrap().verify();
    let missing: Vec<String> = report.problems.iter().map(|p| p.to_string()).filter(|p| p.contains(&format!("acquired record {} is missing", gone.sha256))).collect();
    assert_eq!(missing.len(), 1, "{:?}", report.problems);
    assert!(missing[0].contains("custody.jsonl line") && missing[0].contains("acquired again at lines"), "{missing:?}");
}

#[test]
fn bad_input_is_reported_and_the_rest_goes_on() {
    let (tmp, mut case) = new_case();
    let src = tmp.path().join("bad");
    std::fs::create_dir_all(&src).unwrap();
    // A good page, to prove the batch goes on.
    std::fs::write(src.join("good.html"), "<html><body>contact: someone@example.org</body></html>").unwrap();
    // A binary file (PNG header and NULs) in the page directory.
    std::fs::write(src.join("image.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01").unwrap();
    // An empty page.
    std::fs::write(src.join("empty.html"), b"").unwrap();
    // A page declaring ISO-8859-1 whose bytes are UTF-8.
    std::fs::write(src.join("charset.html"), "<meta charset=\"ISO-8859-1\"><p>Qualität</p>".as_bytes()).unwrap();
    // 100,000 nested tags.
    let deep = format!("<html><body>{}x{}</body></html>", "<div>".repeat(100_000), "</div>".repeat(100_000));
    std::fs::write(src.join("deep.html"), deep).unwrap();
    // A 50 MB page.
    let mut big = std::fs::File::create(src.join("big.html")).unwrap();
    big.write_all(b"<html><body>").unwrap();
    let row = b"<p>filler row with some text in it, over and over, to make a large page</p>\n";
    for _ in 0..(50 << 20) / row.len() {
        big.write_all(row).unwrap();
    }
    big.write_all(b"</body></html>").unwrap();
    drop(big);
    // A truncated .warc.gz: a valid gzip member cut in half.
    let good_warc = warc_record("http://example.onion/a", b"<html>in warc</html>");
    let gz = gzip(&good_warc);
    let mut truncated = gz.clone();
    truncated.extend_from_slice(&gz[..gz.len() / 2]);
    std::fs::write(src.join("cut.warc.gz"), truncated).unwrap();

    let report = case.import(&[src], &ImportOptions::default(), &NoProgress).unwrap();
    // 7 files; the WARC yields one record before its damage.
    assert_eq!(report.files, 7, "{report:?}");
    assert_eq!(report.added, 7, "{report:?}");
    assert!(report.problems.iter().any(|p| p.contains("cut.warc.gz")), "{:?}", report.problems);

    let ex = case.extract(&ExtractOptions::default(), &NoProgress).unwrap();
    assert_eq!(ex.pages, 7);
    let msgs: Vec<String> = ex.problems.iter().map(|p| format!("{}: {}", p.source, p.message)).collect();
    assert!(msgs.iter().any(|m| m.starts_with("image.png") && m.contains("binary")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.starts_with("empty.html") && m.contains("empty")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.starts_with("charset.html") && m.contains("UTF-8")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.starts_with("deep.html") && m.contains("nests elements")), "{msgs:?}");
    let ids = case.store().identifiers(&Filter::default()).unwrap();
    assert!(ids.iter().any(|i| i.record.value == "someone@example.org"));
    assert!(case.verify().is_intact());
}

/// A record of an imported WARC file that says it is cut short
/// (`WARC-Truncated`) keeps saying so in the case's evidence, and `explain`
/// says rows from it may be incomplete.
#[test]
fn an_imported_record_cut_short_stays_marked() {
    let (tmp, mut case) = new_case();
    let src = tmp.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    let rec = String::from_utf8(warc_record("http://example.onion/cut", b"<html>half a pa")).unwrap();
    let rec = rec.replacen("Content-Type: text/html\r\n", "Content-Type: text/html\r\nWARC-Truncated: length\r\n", 1);
    std::fs::write(src.join("cut.warc"), rec).unwrap();
    case.import(&[src], &ImportOptions::default(), &NoProgress).unwrap();
    let stored = case.evidence().records().remove(0);
    assert_eq!(stored.truncated.as_deref(), Some("length"));
    let explained = case.explain(&stored.sha256.to_hex()).unwrap().unwrap().to_string();
    assert!(explained.contains("WARC-Truncated: length"), "{explained}");
    assert!(case.verify().is_intact(), "{:?}", case.verify().problems);
}

fn warc_record(uri: &str, payload: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:12345678-1234-1234-1234-123456789abc>\r\nWARC-Date: 2020-01-01T00:00:00Z\r\nWARC-Target-URI: {uri}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    )
    .into_bytes();
    r.extend_from_slice(payload);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A dataset file read into the store as it is imported (the bytes just
/// read and hashed: `ImportOptions::extract_datasets`, what `dragnet import`
/// does) gives the rows, page rows and counts that reading it back from the
/// evidence store gives (`Case::extract`), for every built-in format's real
/// files; a file already in the case is left to `extract`.
#[test]
fn datasets_read_as_imported_are_the_datasets_read_back() {
    let files: Vec<PathBuf> = [
        "listings/agora-2014/random-sample100_0e304b108eec01f26adc7c47458c926215ab993a.csv",
        "listings/alphabay-2017/D_C_-_stims_-_2fa_-_20170429.csv",
        "listings/dream-2017/dream_market_cocaine_listings.csv",
        "listings/grams-2014/grams_1776.csv",
        "listings/hansa-2016-12/hansa-marketplace-listings-december-2016.csv",
        "listings/whitehouse-2021/whm_23-05-2021.json",
    ]
    .iter()
    .filter_map(|f| testdata::shared(f))
    .collect();
    if files.len() < 6 {
        return;
    }
    let captured_at = Some("2021-06-01T00:00:00Z".parse().unwrap());
    // Read as imported; then the same files again (already stored: read back).
    let (_a, mut fused) = new_case();
    let opts = ImportOptions { captured_at, extract_datasets: true, ..ImportOptions::default() };
    let report = fused.import(&files, &opts, &NoProgress).unwrap();
    assert_eq!(report.datasets.len(), 6, "{:?}", report.problems);
    let (read, read_digests) = report.extraction;
    assert_eq!(read_digests, report.datasets.iter().map(|d| d.2).collect(), "every new dataset is read as imported");
    assert_eq!(read.datasets.len(), 6);
    let again = fused.import(&files, &opts, &NoProgress).unwrap();
    assert_eq!((again.duplicates, again.extraction.1.len()), (6, 0), "files already stored are not read at import");

    // Imported, then read back by extract.
    let (_b, mut read_back) = new_case();
    let report = read_back.import(&files, &ImportOptions { captured_at, ..ImportOptions::default() }, &NoProgress).unwrap();
    assert!(report.extraction.1.is_empty());
    let only = report.datasets.iter().map(|d| d.2).collect();
    let extracted = read_back.extract(&ExtractOptions { only: Some(only), ..ExtractOptions::default() }, &NoProgress).unwrap();

    let stats = |r: &case::ExtractReport| {
        let mut s: Vec<String> = r.datasets.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
        s.sort();
        s
    };
    assert_eq!(stats(&read), stats(&extracted));
    assert_eq!((read.listings, read.feedback, read.vendors, read.identifiers), (extracted.listings, extracted.feedback, extracted.vendors, extracted.identifiers));
    assert_eq!(read.problems.len(), extracted.problems.len());
    assert!(read.listings > 1000 && !read.problems.is_empty(), "{} listings, {} problems", read.listings, read.problems.len());
    let (a, b) = (fused.store(), read_back.store());
    assert_eq!(a.pages().unwrap(), b.pages().unwrap());
    let all = Filter::default();
    assert_eq!(a.listings(&all).unwrap(), b.listings(&all).unwrap());
    assert_eq!(a.feedback(&all).unwrap(), b.feedback(&all).unwrap());
    assert_eq!(a.vendors(&all).unwrap(), b.vendors(&all).unwrap());
    assert_eq!(a.identifiers(&all).unwrap(), b.identifiers(&all).unwrap());
    assert_eq!(a.counts().unwrap(), b.counts().unwrap());
    // The custody log notes the reading.
    let log = std::fs::read_to_string(fused.dir().join("evidence/custody.jsonl")).unwrap();
    assert!(log.contains("\"extract\""), "custody log has no extract entry");
}

/// An address the pages of at least `linking::COMMON_IDENTIFIER` vendors of
/// one market show is the market's own (a template, decoy or escrow address
/// no profile names), as linking takes it: `chain tag from-pages` does not
/// tag it as each of those vendors' address. An address two vendors show
/// (one operator's two accounts, perhaps) stays theirs: that is evidence.
/// Before, every vendor page's address was "vendor X on M".
#[test]
fn an_address_on_many_vendors_pages_is_the_markets() {
    const PROFILE: &str = r#"
market = "toy"
[[detect]]
selector = "meta[name='generator'][content='toy']"
[[page_types]]
type = "vendor"
all = [{ selector = "div.profile" }]
[[records]]
kind = "vendor"
page_types = ["vendor"]
scope = "div.profile"
[records.fields]
name = { selector = "h1" }
"#;
    let (common, shared, own) =
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    Case::init(&dir, "tester").unwrap();
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    std::fs::write(dir.join("profiles/toy.toml"), PROFILE).unwrap();
    let mut case = Case::open(&dir, "tester").unwrap();
    let pages = tmp.path().join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    // (file, vendor, addresses shown): the common address on the pages of
    // three vendors; the shared one on alice's two pages and bob's.
    let shown = [
        ("alice-1.html", "alice", vec![common, shared]),
        ("alice-2.html", "alice", vec![shared]),
        ("bob.html", "bob", vec![common, shared]),
        ("carol.html", "carol", vec![common, own]),
    ];
    for (file, vendor, addresses) in &shown {
        let mut body: String = addresses.iter().map(|a| format!("<p>pay to {a}</p>")).collect();
        if *vendor == "carol" {
            body.push_str("<p>Wickr: carolshop</p>");
        }
        let page = format!(
            r#"<html><head><meta name="generator" content="toy"></head><body><div class="profile"><h1>{vendor}</h1>{body}<p>{file}</p></div></body></html>"#
        );
        std::fs::write(pages.join(file), page).unwrap();
    }
    case.import(&[pages], &ImportOptions::default(), &NoProgress).unwrap();
    case.extract(&ExtractOptions::default(), &NoProgress).unwrap();
    let sightings = case.btc_sightings().unwrap();
    let labels = |address: &str| -> Vec<(String, String)> {
        sightings.iter().filter(|s| s.address == address).map(|s| (s.label.clone(), s.category.clone())).collect()
    };
    let markets = ("shown by 3 vendors of toy (the market's, not a vendor's)".to_owned(), "market-page".to_owned());
    assert_eq!(labels(common), vec![markets.clone(), markets.clone(), markets], "{sightings:#?}");
    let mut shared_labels: Vec<String> = labels(shared).into_iter().map(|(l, c)| format!("{l} ({c})")).collect();
    shared_labels.sort();
    assert_eq!(
        shared_labels,
        ["vendor alice on toy (market-vendor)", "vendor alice on toy (market-vendor)", "vendor bob on toy (market-vendor)"],
        "{sightings:#?}"
    );
    assert_eq!(labels(own), [("vendor carol on toy".to_owned(), "market-vendor".to_owned())]);
    // The vendor dossier: the common address apart, as the market's.
    let values = |ids: &[case::VendorIdentifier]| -> Vec<String> {
        let mut v: Vec<String> = ids.iter().map(|i| format!("{} {}", i.kind, i.value)).collect();
        v.dedup();
        v
    };
    let alice = case.vendor_dossier("alice", &sales::Rates::default()).unwrap().unwrap();
    assert_eq!(values(&alice.identifiers), [format!("btc {shared}")]);
    assert_eq!(values(&alice.market_identifiers), [format!("btc {common}")]);
    let carol = case.vendor_dossier("carol", &sales::Rates::default()).unwrap().unwrap();
    // Contacts of every kind on a vendor's page are its own (a Wickr handle
    // was left out of dossiers).
    assert_eq!(values(&carol.identifiers), [format!("btc {own}"), "wickr carolshop".to_owned()]);
}

/// A case of three imported pages, closed; returns its directory.
fn case_of_three_pages(tmp: &Path) -> PathBuf {
    let mut case = Case::init(&tmp.join("case"), "tester").unwrap();
    let src = tmp.join("in");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..3 {
        std::fs::write(src.join(format!("p{i}.html")), format!("<html><body>page {i}</body></html>")).unwrap();
    }
    case.import(&[src], &ImportOptions::default(), &NoProgress).unwrap();
    assert!(case.verify().is_intact());
    case.dir().to_owned()
}

/// What `dragnet verify` reports: the evidence opened read-only.
fn verify_problems(case_dir: &Path) -> Vec<evidence::Problem> {
    let store = evidence::EvidenceStore::open_read_only(&case_dir.join("evidence")).unwrap();
    case::verify_evidence(&store).problems
}

/// A deleted or emptied custody log is one problem naming it: a case with
/// no captures verified "intact", and one with captures blamed each record.
#[test]
fn verify_names_a_custody_log_deleted_or_emptied() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = Case::init(&tmp.path().join("bare"), "tester").unwrap().dir().to_owned();
    let with_pages = case_of_three_pages(tmp.path());
    for dir in [bare, with_pages] {
        let log = dir.join("evidence/custody.jsonl");
        let text = std::fs::read(&log).unwrap();
        for how in ["missing", "empty"] {
            if how == "missing" {
                std::fs::remove_file(&log).unwrap();
            } else {
                std::fs::write(&log, "").unwrap();
            }
            let problems = verify_problems(&dir);
            assert_eq!(problems.len(), 1, "{how}: {problems:?}");
            assert_eq!(problems[0].location, evidence::Location::Path(log.clone()));
            assert!(problems[0].what.starts_with(&format!("{how}: the custody log is gone")), "{problems:?}");
        }
        std::fs::write(&log, text).unwrap();
        assert!(verify_problems(&dir).is_empty());
    }
}

/// Damage to index.jsonl is named on index.jsonl: a deleted, emptied or
/// edited index line was reported as ALTERED lines of the untouched
/// custody log.
#[test]
fn verify_names_index_damage_on_the_index_not_the_custody_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = case_of_three_pages(tmp.path());
    let idx = dir.join("evidence/index.jsonl");
    let text = std::fs::read_to_string(&idx).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.iter().position(|l| l.contains(r#""kind":"record""#) && l.contains("p1.html")).unwrap();
    let without = |skip: usize| lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| format!("{l}\n")).collect::<String>();
    let edited = text.replacen("p1.html", "evil.html", 1);
    for (what, bytes) in [("deleted", without(n)), ("emptied", String::new()), ("edited", edited)] {
        std::fs::write(&idx, bytes).unwrap();
        let problems = verify_problems(&dir);
        assert!(!problems.is_empty(), "{what}");
        assert!(problems.iter().all(|p| !p.to_string().contains("custody.jsonl")), "{what}: {problems:?}");
        assert!(problems.iter().all(|p| p.to_string().contains("index.jsonl")), "{what}: {problems:?}");
    }
    // The edited line is named by its number.
    assert!(verify_problems(&dir).iter().any(|p| p.location == evidence::Location::Line { file: "index.jsonl".into(), line: n + 1 }));
    std::fs::write(&idx, text).unwrap();
    assert!(verify_problems(&dir).is_empty());
}
