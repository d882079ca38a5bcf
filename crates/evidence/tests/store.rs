//! Evidence store behaviour: round trip, dedupe, tamper detection, rollover,
//! index rebuild, HTTP responses.

use std::io::{Read, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use evidence::{read_warc, Added, CaptureMeta, EvidenceStore, Location, Origin, ACQUIRE};
use model::Sha256;
use proptest::prelude::*;
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn meta(source: &str, url: Option<&str>) -> CaptureMeta {
    CaptureMeta {
        source: source.into(),
        url: url.map(Into::into),
        captured_at: Some(t("2019-03-04T05:06:07Z")),
        captured_at_is_file_time: false,
        content_type: Some("text/html".into()),
        origin: Origin::File,
        http_head: None,
        truncated: None,
    }
}

fn new_store() -> (tempfile::TempDir, EvidenceStore) {
    let d = tempfile::tempdir().unwrap();
    let s = EvidenceStore::create(&d.path().join("evidence")).unwrap();
    (d, s)
}

/// Stores a capture and logs its acquisition as `dragnet import` does:
/// `verify` wants an acquire entry naming every record.
fn acquire(s: &mut EvidenceStore, payload: &[u8], m: &CaptureMeta) -> Added {
    let added = s.add(payload, m).unwrap();
    log_acquire(s, &added.sha256, &m.source);
    added
}

fn log_acquire(s: &mut EvidenceStore, sha: &Sha256, source: &str) {
    s.log(ACQUIRE, json!({"sha256": sha.to_hex(), "source": source, "new": true}), "op", "v").unwrap();
}

/// Problems whose location names this record (by digest and offset).
fn problems_for(store: &EvidenceStore, sha: &Sha256) -> Vec<String> {
    let info = store.record(sha).unwrap();
    store
        .verify()
        .problems
        .iter()
        .filter(|p| {
            matches!(&p.location, Location::Record { file, offset, sha256, .. }
                if *file == info.stored_at_file && *offset == info.offset && *sha256 == Some(*sha))
        })
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn round_trip_and_reopen() {
    let (d, mut s) = new_store();
    let a = acquire(&mut s, b"<html>one</html>", &meta("pages/one.html", Some("http://x.onion/1")));
    let b = acquire(&mut s, b"", &CaptureMeta::file("empty"));
    assert!(a.new && b.new);
    assert_eq!(a.record_id, format!("<urn:sha256:{}>", a.sha256.to_hex()));
    assert_eq!(s.get(&a.sha256).unwrap(), b"<html>one</html>");
    assert_eq!(s.get(&b.sha256).unwrap(), b"");
    let info = s.record(&a.sha256).unwrap();
    assert_eq!(info.sources, vec!["pages/one.html"]);
    assert_eq!(info.url.as_deref(), Some("http://x.onion/1"));
    assert_eq!(info.captured_at, Some(t("2019-03-04T05:06:07Z")));
    assert_eq!(info.content_type.as_deref(), Some("text/html"));
    assert_eq!(info.warc_type, "resource");
    assert_eq!(info.payload_length, 16);
    assert_eq!(s.record(&b.sha256).unwrap().captured_at, None);

    let s2 = EvidenceStore::open(&d.path().join("evidence")).unwrap();
    assert_eq!(s2.records(), s.records());
    assert_eq!(s2.get(&a.sha256).unwrap(), b"<html>one</html>");
    let report = s2.verify();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records_checked, 3); // warcinfo + 2
}

#[test]
fn same_bytes_twice_store_one_record_and_both_sources() {
    let (_d, mut s) = new_store();
    let a = acquire(&mut s, b"same", &meta("a/page.html", Some("http://x.onion/a")));
    let file_len = |s: &EvidenceStore| std::fs::metadata(s.dir().join("evidence-00001.warc.gz")).unwrap().len();
    let before = file_len(&s);
    let b = acquire(&mut s, b"same", &meta("b/page.html", Some("http://x.onion/b")));
    assert_eq!((a.sha256, a.new, b.new), (b.sha256, true, false));
    assert_eq!(a.record_id, b.record_id);
    assert_eq!(s.records().len(), 1);
    let info = s.record(&a.sha256).unwrap();
    assert_eq!(info.sources, vec!["a/page.html", "b/page.html"]);
    assert_eq!(info.urls, vec!["http://x.onion/a", "http://x.onion/b"]);
    assert!(file_len(&s) > before, "the second source is recorded in the WARC file");
    // The exact same capture again records nothing.
    let after = file_len(&s);
    acquire(&mut s, b"same", &meta("b/page.html", Some("http://x.onion/b")));
    assert_eq!(file_len(&s), after);
    // The sources survive an index rebuild from the WARC files alone.
    std::fs::remove_file(s.dir().join("index.jsonl")).unwrap();
    let s2 = EvidenceStore::open(s.dir()).unwrap();
    assert_eq!(s2.record(&a.sha256).unwrap().sources, vec!["a/page.html", "b/page.html"]);
    assert!(s2.verify().is_intact());
}

#[test]
fn flipped_byte_in_compressed_data_is_reported_for_that_record() {
    let (_d, mut s) = new_store();
    acquire(&mut s, b"first page", &meta("1", None));
    let victim = acquire(&mut s, &vec![b'x'; 5000], &meta("2", None)).sha256;
    acquire(&mut s, b"third page", &meta("3", None));
    assert!(s.verify().is_intact());
    let info = s.record(&victim).unwrap();
    let path = s.dir().join(&info.stored_at_file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = (info.offset + info.length / 2) as usize;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let found = problems_for(&s, &victim);
    assert!(!found.is_empty(), "verify must name the damaged record: {:?}", s.verify().problems);
    assert!(s.get(&victim).is_err());
    // The records after the damage are still readable.
    assert_eq!(s.get(&Sha256::of(b"third page")).unwrap(), b"third page");
}

#[test]
fn changed_payload_in_valid_gzip_is_reported_for_that_record() {
    let (_d, mut s) = new_store();
    s.add(b"first page", &meta("1", None)).unwrap();
    let victim = s.add(b"price: 100 USD", &meta("2", None)).unwrap().sha256;
    s.add(b"third page", &meta("3", None)).unwrap();
    let info = s.record(&victim).unwrap();
    let path = s.dir().join(&info.stored_at_file);
    let bytes = std::fs::read(&path).unwrap();
    let (start, end) = (info.offset as usize, (info.offset + info.length) as usize);
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&bytes[start..end]).read_to_end(&mut raw).unwrap();
    let pos = raw.windows(3).position(|w| w == b"100").unwrap();
    raw[pos] = b'9';
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&raw).unwrap();
    let member = enc.finish().unwrap();
    let mut out = bytes[..start].to_vec();
    out.extend_from_slice(&member);
    out.extend_from_slice(&bytes[end..]);
    std::fs::write(&path, out).unwrap();

    let found = problems_for(&s, &victim);
    assert!(found.iter().any(|p| p.contains("payload hashes to")), "{found:?}");
    match s.get(&victim) {
        Err(evidence::Error::Corrupt { sha256, offset, .. }) => assert_eq!((sha256, offset), (victim, info.offset)),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn flipped_byte_in_custody_log_is_reported_by_line() {
    let (_d, mut s) = new_store();
    s.log("case-init", json!({"case": "test"}), "alice", "dragnet 0.0.0").unwrap();
    s.add(b"page", &meta("p", None)).unwrap();
    s.log("import", json!({"files": 1}), "alice", "dragnet 0.0.0").unwrap();
    s.log(ACQUIRE, json!({"sha256": Sha256::of(b"page").to_hex(), "source": "p", "new": true}), "alice", "dragnet 0.0.0").unwrap();
    s.log("extract", json!({"rows": 3}), "alice", "dragnet 0.0.0").unwrap();
    let r = s.verify();
    assert!(r.is_intact(), "{:?}", r.problems);
    assert_eq!(r.log_entries_checked, 4);
    let path = s.dir().join("custody.jsonl");
    let original = std::fs::read_to_string(&path).unwrap();
    // Change the digit in {"files":1} on line 2 to 2; then, in the acquire
    // entry on line 3, `new`: an altered acquire entry is that line's
    // problem only, not also its record's.
    for (from, to, line) in [("\"files\":1", "\"files\":2", 2), ("\"new\":true", "\"new\":false", 3)] {
        let changed = original.replacen(from, to, 1);
        assert_ne!(changed, original);
        std::fs::write(&path, changed).unwrap();
        let r = s.verify();
        let lines: Vec<&Location> = r.problems.iter().map(|p| &p.location).collect();
        assert_eq!(lines, vec![&Location::Line { file: "custody.jsonl".into(), line }], "{:?}", r.problems);
    }
}

#[test]
fn http_response_is_stored_as_response_record() {
    let (_d, mut s) = new_store();
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut m = meta("crawl", Some("http://abcdefghij234567.onion/"));
    m.content_type = None;
    m.origin = Origin::Crawl;
    m.http_head = Some(head.to_vec());
    let a = acquire(&mut s, b"<p>body</p>", &m);
    let info = s.record(&a.sha256).unwrap();
    assert_eq!(info.warc_type, "response");
    assert_eq!(info.content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(info.origin, Origin::Crawl);
    assert_eq!(s.get(&a.sha256).unwrap(), b"<p>body</p>");
    assert!(s.verify().is_intact());
    // Our own reader sees an HTTP response whose body is the payload.
    let rec = read_warc(&s.dir().join(&info.stored_at_file))
        .filter_map(Result::ok)
        .find(|r| r.warc_type == "response")
        .unwrap();
    let resp = rec.http_response().unwrap().unwrap();
    assert_eq!((resp.status, resp.body.as_slice(), resp.chunked), (200, &b"<p>body</p>"[..], false));
    // A head with body bytes after it is refused, naming the source.
    m.http_head = Some(b"HTTP/1.1 200 OK\r\n\r\nextra".to_vec());
    let e = s.add(b"other", &m).unwrap_err();
    assert!(e.to_string().contains("crawl"), "{e}");
}

#[test]
fn rollover_starts_new_files_and_records_stay_reachable() {
    let (_d, mut s) = new_store();
    s.set_rollover(2000);
    let mut shas = Vec::new();
    for i in 0..20u32 {
        // Incompressible-ish payloads so files grow.
        let payload: Vec<u8> = (0..16).flat_map(|k| *Sha256::of(format!("{i}-{k}").as_bytes()).as_bytes()).collect();
        shas.push(acquire(&mut s, &payload, &CaptureMeta::file(format!("p{i}"))).sha256);
    }
    let files: Vec<String> = s.records().iter().map(|r| r.stored_at_file.clone()).collect();
    assert!(files.iter().any(|f| f == "evidence-00002.warc.gz"), "{files:?}");
    for sha in &shas {
        assert_eq!(Sha256::of(&s.get(sha).unwrap()), *sha);
    }
    let r = s.verify();
    assert!(r.is_intact(), "{:?}", r.problems);
    // Every file begins with a warcinfo record.
    let first = read_warc(&s.dir().join("evidence-00002.warc.gz")).next().unwrap().unwrap();
    assert_eq!(first.warc_type, "warcinfo");
}

#[test]
fn create_refuses_existing_store_and_open_refuses_empty_dir() {
    let (d, _s) = new_store();
    assert!(matches!(EvidenceStore::create(&d.path().join("evidence")), Err(evidence::Error::AlreadyExists { .. })));
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(EvidenceStore::open(&empty), Err(evidence::Error::NotAStore { .. })));
}

#[test]
fn removed_index_line_and_appended_garbage_are_reported() {
    let (_d, mut s) = new_store();
    let a = s.add(b"a", &CaptureMeta::file("a")).unwrap();
    s.add(b"b", &CaptureMeta::file("b")).unwrap();
    let idx = s.dir().join("index.jsonl");
    let text = std::fs::read_to_string(&idx).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains(&a.sha256.to_hex())).collect();
    std::fs::write(&idx, kept.join("\n") + "\n").unwrap();
    let s2 = EvidenceStore::open(s.dir()).unwrap();
    let r = s2.verify();
    // Named on the index, which lost the line, not on the evidence file.
    let index = Location::Path(s.dir().join("index.jsonl"));
    assert!(r.problems.iter().any(|p| p.what.contains("not in the index") && p.location == index), "{:?}", r.problems);
    let mut f = std::fs::OpenOptions::new().append(true).open(s.dir().join("evidence-00001.warc.gz")).unwrap();
    f.write_all(b"junk").unwrap();
    assert!(!EvidenceStore::open(s.dir()).unwrap().verify().problems.is_empty());
}

fn store_dir_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn layout_is_documented_files_only() {
    let (_d, mut s) = new_store();
    s.add(b"x", &CaptureMeta::file("x")).unwrap();
    s.log("import", json!(null), "op", "v").unwrap();
    assert_eq!(store_dir_files(s.dir()), vec!["custody.jsonl", "evidence-00001.warc.gz", "index.jsonl"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn arbitrary_payloads_round_trip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..6),
                                     source in "[ -~]{0,40}") {
        let (_d, mut s) = new_store();
        for p in &payloads {
            let a = acquire(&mut s, p, &CaptureMeta::file(source.clone()));
            prop_assert_eq!(&s.get(&a.sha256).unwrap(), p);
            prop_assert_eq!(&s.record(&a.sha256).unwrap().sources, &vec![source.clone()]);
        }
        let r = s.verify();
        prop_assert!(r.is_intact(), "{:?}", r.problems);
    }
}

/// Real saved pages: discover them, store them, verify. Asserts only counts.
#[test]
fn imports_real_market_pages_and_verifies() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/markets/pages/apollon"));
    if !root.is_dir() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "shared data missing at {}", root.display());
        eprintln!("notice: shared data not found at {}; skipping", root.display());
        return;
    }
    let (sources, problems) = evidence::discover(&[root.to_owned()]);
    assert!(problems.is_empty(), "{problems:?}");
    // The data README lists 26 files for apollon.
    assert_eq!(sources.len(), 26);
    assert!(sources.iter().all(|s| s.kind == evidence::SourceKind::Page));
    let (_d, mut s) = new_store();
    for src in &sources {
        let bytes = std::fs::read(&src.path).unwrap();
        let a = acquire(&mut s, &bytes, &CaptureMeta::file(src.name.clone()));
        assert_eq!(s.get(&a.sha256).unwrap(), bytes);
    }
    let all_sources: usize = s.records().iter().map(|r| r.sources.len()).sum();
    assert_eq!(all_sources, 26, "every file is remembered as a source, duplicates included");
    let r = s.verify();
    assert!(r.is_intact(), "{:?}", r.problems);
}

/// A writer killed between writing a record and its index line leaves a
/// complete, unindexed record: `verify` reports it, and `recover` (run by a
/// resuming crawl or import) indexes it again without touching the evidence
/// file.
#[test]
fn unindexed_record_after_a_crash_is_reported_then_recovered() {
    let (d, mut s) = new_store();
    let a = acquire(&mut s, b"first page", &meta("a.html", None)).sha256;
    // Killed after writing b, before indexing or logging it.
    let b = s.add(b"second page", &meta("b.html", None)).unwrap().sha256;
    let dir = d.path().join("evidence");
    let index = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    let kept: Vec<&str> = index.lines().filter(|l| !l.contains(&b.to_hex())).collect();
    std::fs::write(dir.join("index.jsonl"), kept.join("\n") + "\n").unwrap();
    let files_before: Vec<u8> = std::fs::read(dir.join("evidence-00001.warc.gz")).unwrap_or_default();
    let mut s = EvidenceStore::open(&dir).unwrap();
    assert!(s.record(&b).is_none());
    assert!(!s.verify().is_intact(), "the unindexed record is reported");
    let recovery = s.recover("op", "v").unwrap();
    assert_eq!(recovery.indexed_again, vec![b]);
    assert!(recovery.torn.is_empty(), "{:?}", recovery.torn);
    assert_eq!(s.get(&b).unwrap(), b"second page");
    assert_eq!(s.get(&a).unwrap(), b"first page");
    // Indexed again, b still has no acquire entry until the resuming crawl
    // logs it.
    let unlogged: Vec<_> = s.verify().problems.into_iter().map(|p| (p.location.clone(), p.what.contains("no custody entry"))).collect();
    assert_eq!(unlogged.len(), 1, "{unlogged:?}");
    assert!(matches!(&unlogged[0], (Location::Record { sha256: Some(sha), .. }, true) if *sha == b), "{unlogged:?}");
    log_acquire(&mut s, &b, "b.html");
    assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
    assert!(s.recover("op", "v").unwrap().is_empty(), "nothing twice");
    assert_eq!(std::fs::read(dir.join("evidence-00001.warc.gz")).unwrap_or_default(), files_before);
    let recovers = s.custody().entries().unwrap().into_iter().filter(|e| e.action == evidence::RECOVER).count();
    assert_eq!(recovers, 1, "one recover entry, for the one recovery that did something");
}

/// Readers skip zeros and line ends after the last gzip member as padding,
/// so a store verified intact with 200 NULs appended (found by a review).
/// The store writes its members back to back: such bytes are reported, and
/// the records stay intact; bytes slipped in between two members are
/// reported at the record they moved.
#[test]
fn padding_added_between_or_after_records_is_reported() {
    let (_d, mut s) = new_store();
    let a = s.add(b"first capture", &CaptureMeta::file("a")).unwrap();
    let b = s.add(b"second capture", &CaptureMeta::file("b")).unwrap();
    let file = s.dir().join("evidence-00001.warc.gz");
    let clean = std::fs::read(&file).unwrap();
    // (No custody log here: its absence is reported too, and left aside.)
    let padding = || -> Vec<String> {
        let r = EvidenceStore::open(s.dir()).unwrap().verify();
        r.problems.iter().map(|p| p.to_string()).filter(|p| p.contains("padding")).collect()
    };
    assert_eq!(padding(), Vec::<String>::new());
    append(&file, &[0u8; 200]);
    let what = padding();
    assert_eq!(what.len(), 1, "{what:?}");
    assert!(what[0].contains("200 bytes of padding after the last record") && what[0].contains("evidence-00001.warc.gz"), "{what:?}");
    // Line ends slipped in before the second capture's member.
    let at = {
        let text = std::fs::read_to_string(s.dir().join("index.jsonl")).unwrap();
        let line = text.lines().find(|l| l.contains(&b.sha256.to_hex()) && l.contains("\"record\"")).expect("b's line");
        serde_json::from_str::<serde_json::Value>(line).unwrap()["offset"].as_u64().unwrap() as usize
    };
    let mut padded = clean[..at].to_vec();
    padded.extend_from_slice(b"\r\n\r\n");
    padded.extend_from_slice(&clean[at..]);
    std::fs::write(&file, padded).unwrap();
    let r = EvidenceStore::open(s.dir()).unwrap().verify();
    let b_hex = b.sha256.to_hex();
    assert!(r.problems.iter().any(|p| p.to_string().contains(&b_hex) && p.what.contains("now at offset")), "{:?}", r.problems);
    assert!(problems_for(&EvidenceStore::open(s.dir()).unwrap(), &a.sha256).is_empty());
    // A run of NULs longer than the reader's buffer: named where it ends,
    // at the record it moved, as padding (it was called corrupt gzip data
    // at the buffer's offset, 65536), and the moved record once (not also
    // as an indexed record not found).
    let mut padded = clean[..at].to_vec();
    padded.extend_from_slice(&[0u8; 70_000]);
    padded.extend_from_slice(&clean[at..]);
    std::fs::write(&file, padded).unwrap();
    let r = EvidenceStore::open(s.dir()).unwrap().verify();
    let about_b: Vec<String> = r.problems.iter().map(|p| p.to_string()).filter(|p| !p.contains("custody")).collect();
    assert_eq!(about_b.len(), 2, "{about_b:?}");
    let moved_to = at + 70_000;
    assert!(about_b.iter().any(|p| p.contains(&format!("offset {moved_to}")) && p.contains("70000 bytes of padding before this record")), "{about_b:?}");
    assert!(about_b.iter().any(|p| p.contains(&format!("record indexed at offset {at} is now at offset {moved_to}"))), "{about_b:?}");
}

/// A member cut in its trailer (its CRC-32 and size) is reported once, as
/// cut short: the reader gives its record whole and then the cut, and the
/// record was also reported as differing from its index line (its length).
#[test]
fn a_member_cut_in_its_trailer_is_reported_once() {
    let (_d, mut s) = new_store();
    let a = s.add(b"a capture cut in its trailer", &CaptureMeta::file("a")).unwrap();
    let file = s.dir().join("evidence-00001.warc.gz");
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(len - 4).unwrap();
    // (No custody log here: its absence is reported too, and left aside.)
    let r = EvidenceStore::open(s.dir()).unwrap().verify();
    let problems: Vec<String> = r.problems.iter().map(|p| p.to_string()).filter(|p| !p.contains("custody")).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("in its trailer") && problems[0].contains(&a.sha256.to_hex()), "{problems:?}");
}

/// A gzip member's header holds bytes its payload digest cannot see (the
/// time, extra flags and OS at bytes 4-9): one changed inflated to the same
/// payload, so the store verified intact with a byte of its evidence file
/// changed (found by a review, F12). Each member's own digest, taken as it
/// is written, names the record; the other record stays intact, and
/// `check_one` (what `explain` asks) sees it too.
#[test]
fn a_changed_gzip_header_byte_is_reported_at_its_record() {
    let (_d, mut s) = new_store();
    let a = acquire(&mut s, b"first capture", &meta("a.html", None)).sha256;
    let b = acquire(&mut s, b"second capture", &meta("b.html", None)).sha256;
    let file = s.dir().join("evidence-00001.warc.gz");
    let clean = std::fs::read(&file).unwrap();
    assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
    let at = {
        let text = std::fs::read_to_string(s.dir().join("index.jsonl")).unwrap();
        let line = text.lines().find(|l| l.contains(&b.to_hex()) && l.contains("\"record\"")).expect("b's line");
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(line["member_sha256"].is_string(), "the line keeps its member's digest: {line}");
        line["offset"].as_u64().unwrap() as usize
    };
    assert_eq!(&clean[at..at + 2], &[0x1f, 0x8b], "a gzip member starts there");
    for (byte, what) in [(4, "time"), (9, "OS")] {
        let mut changed = clean.clone();
        changed[at + byte] ^= 0x01;
        std::fs::write(&file, &changed).unwrap();
        let store = EvidenceStore::open(s.dir()).unwrap();
        assert_eq!(store.get(&b).unwrap(), b"second capture", "the {what} byte changed, the payload reads the same");
        let on_b = problems_for(&store, &b);
        assert_eq!(on_b.len(), 1, "{what}: {on_b:?}");
        assert!(on_b[0].contains("gzip member's bytes are not those written") && on_b[0].contains("changed after it was written"), "{what}: {on_b:?}");
        assert!(problems_for(&store, &a).is_empty(), "{what}");
        let one = store.check_one(&b);
        assert!(one.len() == 1 && one[0].contains("gzip member"), "{what}: {one:?}");
        assert!(store.check_one(&a).is_empty());
    }
    std::fs::write(&file, &clean).unwrap();
    assert!(EvidenceStore::open(s.dir()).unwrap().verify().is_intact());
}

/// The index is not hash-chained: a member's digest there can be rewritten
/// along with the member. The acquire entry logs the members it wrote
/// (`members`, as `dragnet import` and `crawl` log them): `verify` finds
/// that the member it names is in no file any more while the record holds
/// one no entry names, and `check_one` that no index line describes it.
#[test]
fn a_member_changed_with_its_index_line_is_caught_by_its_acquire_entry() {
    let (_d, mut s) = new_store();
    let m = meta("b.html", None);
    let added = s.add(b"second capture", &m).unwrap();
    assert_eq!(added.members.len(), 1, "one member written: {:?}", added.members);
    let members: Vec<String> = added.members.iter().map(|d| d.to_hex()).collect();
    s.log(ACQUIRE, json!({"sha256": added.sha256.to_hex(), "source": m.source, "new": true, "members": members}), "op", "v").unwrap();
    let b = added.sha256;
    assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
    let file = s.dir().join("evidence-00001.warc.gz");
    let index = s.dir().join("index.jsonl");
    let text = std::fs::read_to_string(&index).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().find(|l| l.contains(&b.to_hex())).unwrap()).unwrap();
    let (at, len) = (line["offset"].as_u64().unwrap() as usize, line["length"].as_u64().unwrap() as usize);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[at + 4] ^= 0x01; // the gzip header's time
    std::fs::write(&file, &bytes).unwrap();
    let rewritten = Sha256::of(&bytes[at..at + len]).to_hex();
    std::fs::write(&index, text.replace(&members[0], &rewritten)).unwrap();
    let store = EvidenceStore::open(s.dir()).unwrap();
    let r = store.verify();
    let named: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
    assert!(named.len() == 1 && named[0].contains(&rewritten) && named[0].contains("not those its acquire entry (custody.jsonl line"), "{named:?}");
    assert_eq!(problems_for(&store, &b).len(), 1, "named at the record");
    let one = store.check_one(&b);
    assert!(one.len() == 1 && one[0].contains(&members[0]) && one[0].contains("no index line describes"), "{one:?}");
}

/// `check_one` (what `explain` asks) checks every member of a capture: its
/// aliases' too, with or without the index line rewritten (it checked the
/// payload record's alone, found by a review).
#[test]
fn check_one_checks_an_alias_members_bytes() {
    let (_d, mut s) = new_store();
    let a = acquire(&mut s, b"a page", &meta("in1/a.html", None)).sha256;
    let m = meta("in2/a.html", None);
    let alias = s.add(b"a page", &m).unwrap();
    assert!(alias.written.is_some() && alias.members.len() == 1);
    let members: Vec<String> = alias.members.iter().map(|d| d.to_hex()).collect();
    s.log(ACQUIRE, json!({"sha256": a.to_hex(), "source": m.source, "new": false, "members": members}), "op", "v").unwrap();
    assert!(s.check_one(&a).is_empty() && s.verify().is_intact(), "{:?}", s.verify().problems);
    let file = s.dir().join("evidence-00001.warc.gz");
    let index = s.dir().join("index.jsonl");
    let text = std::fs::read_to_string(&index).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().find(|l| l.contains("\"alias\"")).unwrap()).unwrap();
    let (at, len) = (line["offset"].as_u64().unwrap() as usize, line["length"].as_u64().unwrap() as usize);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[at + 9] ^= 0x01; // the gzip header's OS byte
    std::fs::write(&file, &bytes).unwrap();
    let one = EvidenceStore::open(s.dir()).unwrap().check_one(&a);
    assert!(one.len() == 1 && one[0].starts_with(&format!("alias record at evidence-00001.warc.gz offset {at}")), "{one:?}");
    // With the alias's index line rewritten to match, the log names it.
    std::fs::write(&index, text.replace(&members[0], &Sha256::of(&bytes[at..at + len]).to_hex())).unwrap();
    let one = EvidenceStore::open(s.dir()).unwrap().check_one(&a);
    assert!(one.len() == 1 && one[0].contains(&members[0]) && one[0].contains("no index line describes"), "{one:?}");
}

/// A writer killed between storing a record and logging it leaves a member
/// no entry names; the next import of the same file stores nothing and logs
/// an entry naming no member. Nothing changed: the store verifies (the log
/// is asked for the members it names, not to name every member). Found by a
/// review of a design that held each member to its capture's entries.
#[test]
fn a_member_stored_by_a_killed_writer_and_named_by_no_entry_verifies() {
    let (_d, mut s) = new_store();
    let m = meta("a.html", None);
    let first = s.add(b"a page", &m).unwrap();
    assert_eq!(first.members.len(), 1);
    // (Killed here, before logging.) The next import:
    let again = s.add(b"a page", &m).unwrap();
    assert!(again.members.is_empty() && again.written.is_none());
    s.log(ACQUIRE, json!({"sha256": again.sha256.to_hex(), "source": m.source, "new": false, "members": []}), "op", "v").unwrap();
    assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
    assert!(s.check_one(&first.sha256).is_empty());
}

/// One capture (payload and source) fetched twice by a crawl: the first
/// acquire entry names no members (logged before entries named them, or
/// on a resume), the second names the members it wrote (a request record;
/// the payload was stored). The first fetch's members are named by no
/// entry, yet nothing changed: the capture is not checked against the log,
/// and the store verifies (each member is still held to its index line).
#[test]
fn a_capture_one_of_whose_entries_names_no_members_is_not_held_to_the_log() {
    let (_d, mut s) = new_store();
    let mut m = meta("m@1/http://x.onion/c", Some("http://x.onion/c"));
    m.origin = Origin::Crawl;
    m.http_head = Some(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n".to_vec());
    let request = |at: &str| evidence::RequestMeta {
        head: b"GET /c HTTP/1.1\r\nHost: x.onion\r\n\r\n".to_vec(),
        started_at: t(at),
        elapsed_ms: 900,
        circuit: "direct".into(),
    };
    let first = s.add_exchange(b"<html>c</html>", &m, &request("2019-03-04T05:06:06Z")).unwrap();
    assert_eq!(first.members.len(), 2, "the response and its request");
    log_acquire(&mut s, &first.sha256, &m.source);
    let again = s.add_exchange(b"<html>c</html>", &m, &request("2019-03-05T05:06:06Z")).unwrap();
    assert_eq!(again.members.len(), 1, "a request only: the payload was stored");
    let members: Vec<String> = again.members.iter().map(|d| d.to_hex()).collect();
    s.log(ACQUIRE, json!({"sha256": again.sha256.to_hex(), "source": m.source, "new": false, "members": members}), "op", "v").unwrap();
    assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
    assert!(s.check_one(&first.sha256).is_empty());
}

fn append(path: &Path, bytes: &[u8]) {
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

/// The bytes a store appends to its evidence file for `payload` (a gzip
/// member), made in a store of its own.
fn member_for(payload: &[u8], m: &CaptureMeta) -> Vec<u8> {
    let (d, mut s) = new_store();
    let file = d.path().join("evidence/evidence-00001.warc.gz");
    s.add(b"-", m).unwrap();
    let before = std::fs::metadata(&file).unwrap().len() as usize;
    s.add(payload, m).unwrap();
    std::fs::read(&file).unwrap()[before..].to_vec()
}

/// A writer killed by SIGKILL can stop inside one `write` (Linux checks
/// between pages), leaving a record, an index line or a custody line cut
/// short at the end of its file. `recover` sets each such tail aside in
/// `torn/` (nothing deleted), cuts the file back to its last whole record or
/// line, logs it, and later writes go after whole records: the store
/// verifies. Without the recovery, the next record is written after the
/// cut one and `verify` reports the evidence file as damaged (CI saw this
/// once in the crawl kill test).
#[test]
fn torn_tails_left_by_a_kill_are_set_aside_and_the_store_verifies() {
    const CUT_INDEX_LINE: &[u8] = b"{\"kind\":\"record\",\"file\":\"evid";
    const CUT_CUSTODY_LINE: &[u8] = b"{\"action\":\"acquire\",\"de";
    // Bytes that do not compress, so that the record's member is longer
    // than the 4096 bytes that land.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let page: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let member = member_for(&page, &meta("c.html", None));
    for cut_alone in [false, true] {
        let (d, mut s) = new_store();
        let dir = d.path().join("evidence");
        let warc = dir.join("evidence-00001.warc.gz");
        let a = acquire(&mut s, b"first page", &meta("a.html", None)).sha256;
        let intact_len = std::fs::metadata(&warc).unwrap().len();
        let custody_len = std::fs::metadata(dir.join("custody.jsonl")).unwrap().len();
        // Killed while writing a record: only its first 4096 bytes landed.
        let cut = &member[..4096];
        append(&warc, cut);
        if !cut_alone {
            // ...and, in another kill, while writing an index and a custody line.
            append(&dir.join("index.jsonl"), CUT_INDEX_LINE);
            append(&dir.join("custody.jsonl"), CUT_CUSTODY_LINE);
        }
        let mut s = EvidenceStore::open(&dir).unwrap();
        assert!(!s.verify().is_intact());
        if cut_alone {
            // The fault as CI met it: without recovery a later write went
            // after the cut record, and the file was damaged for good. A
            // write without recovery now goes to a new file: the cut stays
            // last in its own, reported, and a later recovery sets it aside.
            let mut plain = EvidenceStore::open(&dir).unwrap();
            let b = acquire(&mut plain, b"second page", &meta("b.html", None)).sha256;
            let r = plain.verify();
            assert!(r.problems.iter().any(|p| matches!(&p.location, Location::Record { offset, .. } if *offset == intact_len)), "{:?}", r.problems);
            assert_eq!(plain.record(&b).unwrap().stored_at_file, "evidence-00002.warc.gz");
            let mut again = EvidenceStore::open(&dir).unwrap();
            let torn: Vec<(String, u64)> = again.recover("op", "v").unwrap().torn.into_iter().map(|t| (t.file, t.offset)).collect();
            assert_eq!(torn, vec![("evidence-00001.warc.gz".to_owned(), intact_len)]);
            assert!(again.verify().is_intact(), "{:?}", again.verify().problems);
            continue;
        }
        let recovery = s.recover("op", "v").unwrap();
        let torn: Vec<(&str, u64, u64)> = recovery.torn.iter().map(|t| (t.file.as_str(), t.offset, t.length)).collect();
        let index_len = std::fs::metadata(dir.join("index.jsonl")).unwrap().len();
        let lens = (CUT_CUSTODY_LINE.len() as u64, CUT_INDEX_LINE.len() as u64);
        assert_eq!(torn, vec![("custody.jsonl", custody_len, lens.0), ("index.jsonl", index_len, lens.1), ("evidence-00001.warc.gz", intact_len, 4096)]);
        assert_eq!(std::fs::metadata(&warc).unwrap().len(), intact_len);
        for t in &recovery.torn {
            let kept = std::fs::read(dir.join(&t.saved_as)).unwrap();
            assert_eq!(Sha256::of(&kept), t.sha256);
            assert_eq!(kept.len() as u64, t.length);
        }
        assert_eq!(std::fs::read(dir.join(&recovery.torn[2].saved_as)).unwrap(), cut);
        assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
        let b = acquire(&mut s, b"second page", &meta("b.html", None)).sha256;
        let s = EvidenceStore::open(&dir).unwrap();
        assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
        assert_eq!((s.get(&a).unwrap(), s.get(&b).unwrap()), (b"first page".to_vec(), b"second page".to_vec()));
        // A piece set aside is evidence of the kill: changing or removing it
        // is reported.
        let piece = dir.join(&recovery.torn[2].saved_as);
        std::fs::write(&piece, b"x").unwrap();
        assert!(s.verify().problems.iter().any(|p| p.what.contains("torn piece") && p.what.contains("not the")), "{:?}", s.verify().problems);
        std::fs::remove_file(&piece).unwrap();
        assert!(s.verify().problems.iter().any(|p| p.what.contains("cannot be read")), "{:?}", s.verify().problems);
        std::fs::write(dir.join("torn/stray.1.00"), b"?").unwrap();
        assert!(s.verify().problems.iter().any(|p| p.what.contains("no recover entry")), "{:?}", s.verify().problems);
    }
}

/// Only the start of a gzip member cut short, right after the last whole
/// record, is a kill's. Bytes added by hand (text, NUL padding, or a cut
/// member that whole records follow) were set aside by the next import's
/// recovery as a torn write and cut from the file, which logged an
/// alteration as a kill's. They are now left as found, `verify` keeps
/// reporting them, and new records go to a new file (not after them, where
/// they would read as damage to the new record).
#[test]
fn bytes_no_kill_leaves_are_left_as_found_and_not_written_after() {
    let cut = {
        let m = member_for(&[7u8; 5000], &meta("c.html", None));
        m[..m.len() / 2].to_vec()
    };
    let whole = member_for(b"a page after the cut", &meta("d.html", None));
    // A whole gzip member whose record is cut short inside it: made by
    // hand (a kill cuts the member, never its contents).
    let odd_member = {
        let m = member_for(b"an odd member", &meta("e.html", None));
        let mut record = Vec::new();
        flate2::read::GzDecoder::new(&m[..]).read_to_end(&mut record).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&record[..record.len() / 2]).unwrap();
        gz.finish().unwrap()
    };
    // The start of a gzip member with the store's own header, holding no
    // WARC record: no store's member.
    let other_gzip = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&b"hello world, not a warc record\n".repeat(20)).unwrap();
        gz.finish().unwrap()[..40].to_vec()
    };
    let added: [(&str, Vec<u8>); 6] = [
        ("the start of a gzip member of other text", other_gzip),
        ("text", b"appended by hand".to_vec()),
        ("padding", vec![0u8; 200]),
        ("a cut member with a whole record after it", [cut.clone(), whole.clone()].concat()),
        ("a whole member holding part of a record", odd_member),
        // More NULs than the reader's buffer, which it skips unreported.
        ("much padding, then a whole record", [vec![0u8; 70_000], whole].concat()),
    ];
    for (what, bytes) in added {
        let (d, mut s) = new_store();
        let dir = d.path().join("evidence");
        let warc = dir.join("evidence-00001.warc.gz");
        let a = acquire(&mut s, b"first page", &meta("a.html", None)).sha256;
        let intact_len = std::fs::metadata(&warc).unwrap().len();
        append(&warc, &bytes);
        let mut s = EvidenceStore::open(&dir).unwrap();
        let recovery = s.recover("op", "v").unwrap();
        assert!(recovery.torn.is_empty(), "{what}: {:?}", recovery.torn);
        assert_eq!(recovery.left, vec![("evidence-00001.warc.gz".to_owned(), intact_len)], "{what}");
        assert_eq!(std::fs::metadata(&warc).unwrap().len(), intact_len + bytes.len() as u64, "{what}: nothing cut");
        let b = acquire(&mut s, b"second page", &meta("b.html", None)).sha256;
        assert_eq!(s.record(&b).unwrap().stored_at_file, "evidence-00002.warc.gz", "{what}");
        let s = EvidenceStore::open(&dir).unwrap();
        assert_eq!((s.get(&a).unwrap(), s.get(&b).unwrap()), (b"first page".to_vec(), b"second page".to_vec()));
        let r = s.verify();
        assert!(!r.is_intact(), "{what}: the added bytes are reported");
        assert!(problems_for(&s, &a).is_empty() && problems_for(&s, &b).is_empty(), "{what}: {:?}", r.problems);
        assert!(r.problems.iter().all(|p| p.to_string().contains("evidence-00001.warc.gz") || p.to_string().contains("index.jsonl") || p.what.contains("custody")), "{what}: {:?}", r.problems);
    }
}

/// A kill can cut a record's member anywhere: in its gzip header, its
/// compressed stream, or its 8-byte trailer (CRC and size), whose loss the
/// reader reports as a damaged member rather than one cut short. Every cut
/// is set aside and the store verifies (cuts in the trailer were left in
/// place, found by a review).
#[test]
fn a_member_cut_anywhere_by_a_kill_is_set_aside() {
    let member = member_for(b"<html>a page a kill cut</html>", &meta("c.html", None));
    assert!(member.len() > 100, "{}", member.len());
    // Every cut in the header and the trailer, a sample of the stream between.
    let n = member.len();
    let cuts = (1..n).filter(|&c| c <= 24 || c >= n - 24 || c % 17 == 0);
    for cut in cuts {
        let (d, mut s) = new_store();
        let dir = d.path().join("evidence");
        let warc = dir.join("evidence-00001.warc.gz");
        acquire(&mut s, b"first page", &meta("a.html", None));
        let intact_len = std::fs::metadata(&warc).unwrap().len();
        append(&warc, &member[..cut]);
        let mut s = EvidenceStore::open(&dir).unwrap();
        let recovery = s.recover("op", "v").unwrap();
        let torn: Vec<(&str, u64, u64)> = recovery.torn.iter().map(|t| (t.file.as_str(), t.offset, t.length)).collect();
        assert_eq!(torn, vec![("evidence-00001.warc.gz", intact_len, cut as u64)], "cut at {cut} of {}", member.len());
        assert!(recovery.left.is_empty(), "cut at {cut}: {:?}", recovery.left);
        let b = acquire(&mut s, b"second page", &meta("b.html", None)).sha256;
        assert_eq!(s.record(&b).unwrap().stored_at_file, "evidence-00001.warc.gz", "cut at {cut}");
        assert!(EvidenceStore::open(&dir).unwrap().verify().is_intact(), "cut at {cut}");
    }
}

/// A piece in torn/ that no recover entry names (a recovery killed between
/// cutting the custody log and logging it, or a file put there by hand) is
/// never adopted by a later recovery: `verify` keeps reporting it.
#[test]
fn a_piece_no_entry_names_is_reported_not_adopted() {
    let (d, mut s) = new_store();
    let dir = d.path().join("evidence");
    acquire(&mut s, b"first page", &meta("a.html", None));
    let len = std::fs::metadata(dir.join("evidence-00001.warc.gz")).unwrap().len();
    std::fs::create_dir_all(dir.join("torn")).unwrap();
    let piece = format!("torn/evidence-00001.warc.gz.{len}.{}", &Sha256::of(b"\x1f\x8b").to_hex()[..16]);
    std::fs::write(dir.join(&piece), b"\x1f\x8b").unwrap();
    assert!(!s.verify().is_intact(), "an unnamed piece is reported");
    assert!(s.recover("op", "v").unwrap().is_empty());
    assert!(s.verify().problems.iter().any(|p| p.what.contains("no recover entry")), "{:?}", s.verify().problems);
}

/// A whole custody entry that lost its line end is not a kill's: recovery
/// ends the line (so the next entry is not written onto it) and logs that;
/// `verify` then finds the log whole.
#[test]
fn a_custody_entry_without_its_line_end_is_ended_and_logged() {
    let (d, mut s) = new_store();
    let dir = d.path().join("evidence");
    acquire(&mut s, b"first page", &meta("a.html", None));
    let log = dir.join("custody.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.trim_end_matches('\n')).unwrap();
    let mut s = EvidenceStore::open(&dir).unwrap();
    assert!(!s.verify().is_intact());
    let r = s.recover("op", "v").unwrap();
    assert!(r.torn.is_empty(), "nothing cut: {:?}", r.torn);
    acquire(&mut s, b"second page", &meta("b.html", None));
    assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
    let entries = s.custody().entries().unwrap();
    assert!(entries.iter().any(|e| e.action == evidence::RECOVER && e.detail["line_end_added"]["line"] == 1), "{entries:?}");
}

/// Payloads prepared apart (on other threads, `prepare`) and stored in order
/// (`add_prepared`) are stored as `add` stores them: the same results, the
/// same records and index, a payload repeated in the batch or stored before
/// becomes an alias (or nothing), and the store verifies clean. A small
/// rollover makes the batch span several evidence files.
#[test]
fn prepared_payloads_store_as_add_does() {
    let batch: Vec<(Vec<u8>, CaptureMeta)> = vec![
        (b"<html>one</html>".to_vec(), meta("a/one.html", Some("http://x.onion/1"))),
        (vec![b'x'; 5000], meta("a/big.bin", None)),
        (b"<html>one</html>".to_vec(), meta("b/one-again.html", Some("http://y.onion/1"))),
        (b"<html>two</html>".to_vec(), meta("a/two.html", None)),
        (b"<html>two</html>".to_vec(), meta("a/two.html", None)),
        (b"<html>stored before</html>".to_vec(), meta("c/before.html", None)),
    ];
    let (_d1, mut one_by_one) = new_store();
    let (_d2, mut prepared) = new_store();
    for s in [&mut one_by_one, &mut prepared] {
        s.set_rollover(1000);
        acquire(s, b"<html>stored before</html>", &meta("c/before.html", None));
    }
    let added: Vec<_> = batch.iter().map(|(p, m)| one_by_one.add(p, m).unwrap()).collect();
    let ready: Vec<_> = batch.iter().map(|(p, m)| EvidenceStore::prepare(p, m).unwrap()).collect();
    let added_prepared: Vec<_> = ready
        .into_iter()
        .zip(&batch)
        .map(|(r, (_, m))| {
            let added = prepared.add_prepared(r, m).unwrap();
            log_acquire(&mut prepared, &added.sha256, &m.source);
            added
        })
        .collect();
    assert_eq!(added_prepared, added);
    assert_eq!(added.iter().filter(|a| a.new).count(), 3);
    // Offsets aside: each file's warcinfo record holds the time it was written.
    let placed = |s: &EvidenceStore| {
        s.records().into_iter().map(|mut r| {
            r.offset = 0;
            r
        }).collect::<Vec<_>>()
    };
    assert_eq!(placed(&prepared), placed(&one_by_one));
    for (p, _) in &batch {
        assert_eq!(&prepared.get(&Sha256::of(p)).unwrap(), p);
    }
    assert!(prepared.verify().problems.is_empty(), "{:?}", prepared.verify().problems);
    let reopened = EvidenceStore::open(prepared.dir()).unwrap();
    assert_eq!(reopened.records(), prepared.records());
}

/// The index line written when a record is added (read back from the
/// record before it is compressed) is the line read from the file: for a
/// small resource, an HTTP response, and a payload large enough to be
/// compressed at the fast level. A wrong length or header would differ.
#[test]
fn index_written_on_add_is_the_index_rebuilt_from_the_files() {
    let (_d, mut s) = new_store();
    acquire(&mut s, b"<html>small</html>", &meta("small.html", Some("http://x.onion/s")));
    let mut m = meta("resp.html", Some("http://x.onion/r"));
    m.http_head = Some(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n".to_vec());
    acquire(&mut s, b"<html>response</html>", &m);
    // A head whose transfer encoding is renamed as it is stored.
    let mut m = meta("chunked.html", Some("http://x.onion/c"));
    m.http_head = Some(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec());
    acquire(&mut s, b"<html>decoded</html>", &m);
    let large: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    acquire(&mut s, &large, &meta("large.csv", None));
    // A capture time that is the file's modification time says so, in the
    // record and in its index line.
    let mut m = meta("dated-by-file.html", None);
    m.captured_at_is_file_time = true;
    let by_file = acquire(&mut s, b"<html>dated by its file</html>", &m);
    assert!(s.record(&by_file.sha256).unwrap().captured_at_is_file_time);
    assert!(!s.record(&model::Sha256::of(&large)).unwrap().captured_at_is_file_time);
    // And so does an alias record of the bytes from another file.
    let mut m = meta("a-copy.html", None);
    m.captured_at_is_file_time = true;
    assert!(!acquire(&mut s, b"<html>dated by its file</html>", &m).new);
    let index = s.dir().join("index.jsonl");
    let written = std::fs::read_to_string(&index).unwrap();
    assert_eq!(written.matches("\"captured_at_is_file_time\":true").count(), 2, "{written}");
    std::fs::remove_file(&index).unwrap();
    let rebuilt_store = EvidenceStore::open(s.dir()).unwrap();
    assert_eq!(std::fs::read_to_string(&index).unwrap(), written);
    assert_eq!(rebuilt_store.records(), s.records());
    assert_eq!(rebuilt_store.get(&model::Sha256::of(&large)).unwrap(), large);
    assert!(rebuilt_store.verify().is_intact());
}

/// A store as a case leaves it: a case-init entry, then captures each logged
/// by an acquire entry (two files, the first file's bytes again from a new
/// source, a crawled response with its request record), then an extract
/// entry. Returns the store and a label for each record id written.
fn logged_store() -> (tempfile::TempDir, EvidenceStore, Vec<(String, String)>) {
    let (d, mut s) = new_store();
    s.log("case-init", json!({"name": "t"}), "op", "v").unwrap();
    let a = acquire(&mut s, b"<html>a</html>", &meta("pages/a.html", None));
    let b = acquire(&mut s, b"<html>b</html>", &meta("pages/b.html", None));
    let alias = acquire(&mut s, b"<html>a</html>", &meta("mirror/a.html", None));
    let mut m = meta("m@1/http://x.onion/c", Some("http://x.onion/c"));
    m.origin = Origin::Crawl;
    m.http_head = Some(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n".to_vec());
    let request = evidence::RequestMeta {
        head: b"GET /c HTTP/1.1\r\nHost: x.onion\r\n\r\n".to_vec(),
        started_at: t("2019-03-04T05:06:06Z"),
        elapsed_ms: 900,
        circuit: "direct".into(),
    };
    let c = s.add_exchange(b"<html>c</html>", &m, &request).unwrap();
    log_acquire(&mut s, &c.sha256, &m.source);
    s.log("extract", json!({"pages": 3}), "op", "v").unwrap();
    let labels = vec![
        ("a".to_owned(), a.record_id),
        ("b".to_owned(), b.record_id),
        ("alias of a".to_owned(), alias.written.unwrap()),
        ("c".to_owned(), c.record_id),
        ("request of c".to_owned(), s.requests()[0].record_id.clone()),
    ];
    (d, s, labels)
}

/// Keeps the first `keep` lines of the custody log of [`logged_store`] and
/// checks that `verify` reports exactly the records `expected` names (by
/// label) as having no acquire entry, and nothing else: cutting the log's
/// tail leaves a valid chain, so only this check can catch it.
fn check_cut(keep: usize, expected: &[&str]) {
    let (_d, s, labels) = logged_store();
    let path = s.dir().join("custody.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 6);
    let kept: String = text.lines().take(keep).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, kept).unwrap();
    let r = EvidenceStore::open(s.dir()).unwrap().verify();
    let label = |id: &str| labels.iter().find(|(_, r)| r == id).map(|(l, _)| l.as_str()).unwrap_or(id).to_owned();
    let mut got: Vec<String> = r
        .problems
        .iter()
        .map(|p| match &p.location {
            Location::Record { record_id: Some(id), .. } if p.what.starts_with("no custody entry records this") => label(id),
            _ => format!("other problem: {p}"),
        })
        .collect();
    got.sort();
    let mut expected: Vec<String> = expected.iter().map(|e| e.to_string()).collect();
    expected.sort();
    assert_eq!(got, expected, "keeping {keep} custody lines: {:?}", r.problems);
}

#[test]
fn every_record_named_by_an_acquire_entry_verifies_intact() {
    check_cut(6, &[]);
    // The extract entry after the last acquire names no record.
    check_cut(5, &[]);
}

/// A custody log cut after its first entries keeps a valid chain; the
/// records stored after the cut have no acquire entry and are reported (a
/// reviewer's copy of a case kept 3 of 511 lines and verified intact).
#[test]
fn custody_log_cut_short_reports_the_records_left_without_entries() {
    check_cut(4, &["c", "request of c"]);
    check_cut(3, &["alias of a", "c", "request of c"]);
    check_cut(2, &["b", "alias of a", "c", "request of c"]);
    check_cut(1, &["a", "b", "alias of a", "c", "request of c"]);
}

/// A custody log deleted or emptied is one problem naming the log: each
/// record was blamed instead (408 lines for a case of 404 pages), and
/// nothing said the log was gone.
#[test]
fn a_custody_log_deleted_or_emptied_is_one_problem_naming_it() {
    for how in ["missing", "empty"] {
        let (_d, s, _) = logged_store();
        let path = s.dir().join("custody.jsonl");
        if how == "missing" {
            std::fs::remove_file(&path).unwrap();
        } else {
            std::fs::write(&path, "").unwrap();
        }
        let r = EvidenceStore::open_read_only(s.dir()).unwrap().verify();
        assert_eq!(r.problems.len(), 1, "{how}: {:?}", r.problems);
        assert_eq!(r.problems[0].location, Location::Path(path.clone()), "{how}");
        assert!(r.problems[0].what.starts_with(&format!("{how}: the custody log is gone")), "{:?}", r.problems);
    }
}

/// The line number of the index line that names `sha`.
fn index_line_of(dir: &Path, sha: &Sha256) -> usize {
    let text = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    text.lines().position(|l| l.contains(&format!(r#""sha256":"{}""#, sha.to_hex())) && l.contains(r#""kind":"record""#)).unwrap() + 1
}

/// A damaged index line is the index's problem, named by its line: an
/// edited source was reported at the record, as if the evidence file had
/// changed, and explained with the forged source.
#[test]
fn an_edited_index_line_is_named_by_its_line() {
    let (_d, s, _) = logged_store();
    let sha = Sha256::of(b"<html>b</html>");
    let idx = s.dir().join("index.jsonl");
    let n = index_line_of(s.dir(), &sha);
    let text = std::fs::read_to_string(&idx).unwrap();
    std::fs::write(&idx, text.replacen("pages/b.html", "evil.html", 1)).unwrap();
    let r = EvidenceStore::open_read_only(s.dir()).unwrap().verify();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(r.problems[0].location, Location::Line { file: "index.jsonl".into(), line: n });
    assert!(r.problems[0].what.contains(r#"source: index "evil.html" file "pages/b.html""#), "{:?}", r.problems);
    // What the files hold, for the case's check of its acquire entries.
    assert!(r.stored.contains(&(sha, Some("pages/b.html".into()))), "{:?}", r.stored);
}

/// An emptied index is one problem naming it, not one per record.
#[test]
fn an_emptied_index_is_one_problem_naming_it() {
    let (_d, s, _) = logged_store();
    let idx = s.dir().join("index.jsonl");
    std::fs::write(&idx, "").unwrap();
    let r = EvidenceStore::open_read_only(s.dir()).unwrap().verify();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(r.problems[0].location, Location::Path(idx));
    assert!(r.problems[0].what.contains("holds no line"), "{:?}", r.problems);
}

/// An acquire entry names the capture by digest and source: one naming the
/// same bytes from another source does not cover an alias record.
#[test]
fn acquire_entry_for_other_source_does_not_cover_a_record() {
    let (_d, mut s) = new_store();
    let a = acquire(&mut s, b"<html>a</html>", &meta("pages/a.html", None));
    s.add(b"<html>a</html>", &meta("mirror/a.html", None)).unwrap();
    let r = s.verify();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].what.contains(r#"source "mirror/a.html""#), "{:?}", r.problems);
    assert!(matches!(&r.problems[0].location, Location::Record { sha256: Some(sha), .. } if *sha == a.sha256));
}

/// Reports cite a record by the first 16 hex digits of its digest: a prefix
/// names the stored payloads whose digests start with it, whole or in part,
/// in either case; a prefix of nothing stored, or no hex, names none.
#[test]
fn digests_are_found_by_prefix() {
    let (_d, mut s) = new_store();
    // Two payloads whose digests share their first two hex digits.
    let mut by_head = std::collections::HashMap::new();
    let (a, b) = (0u32..)
        .find_map(|i| {
            let p = format!("page {i}").into_bytes();
            let head = Sha256::of(&p).to_hex()[..2].to_owned();
            by_head.insert(head, p.clone()).map(|q| (q, p))
        })
        .unwrap();
    let (sa, sb) = (acquire(&mut s, &a, &meta("a.html", None)).sha256, acquire(&mut s, &b, &meta("b.html", None)).sha256);
    let (ha, hb) = (sa.to_hex(), sb.to_hex());
    assert_eq!(s.digests_with_prefix(&ha[..16]), [sa]);
    assert_eq!(s.digests_with_prefix(&ha[..16].to_ascii_uppercase()), [sa]);
    assert_eq!(s.digests_with_prefix(&ha), [sa]);
    assert_eq!(s.digests_with_prefix(&hb[..9]), [sb]);
    let mut both = vec![sa, sb];
    both.sort();
    assert_eq!(s.digests_with_prefix(&ha[..2]), both);
    let other = if ha.starts_with('0') { "1" } else { "0" };
    assert!(s.digests_with_prefix(&format!("{other}{}", &ha[1..16])).is_empty());
    for bad in ["", "xyz", &format!("{ha}0"), "g123456789"] {
        assert!(s.digests_with_prefix(bad).is_empty(), "{bad}");
    }
}

/// Files in the evidence directory that are not the store's own (a copy of
/// an evidence file, notes) are reported by path: they passed unnoticed.
#[test]
fn stray_files_beside_the_evidence_are_reported() {
    let (d, mut s) = new_store();
    let dir = d.path().join("evidence");
    acquire(&mut s, b"first page", &meta("a.html", None));
    assert!(s.verify().is_intact());
    std::fs::copy(dir.join("evidence-00001.warc.gz"), dir.join("evidence-00001.warc.gz.bak")).unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    let found: Vec<String> = s.verify().problems.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("evidence-00001.warc.gz.bak") && found[1].contains("notes.txt"), "{found:?}");
    assert!(found.iter().all(|p| p.contains("not a file of the evidence store")), "{found:?}");
}

/// Any command that logs (extract, link decisions, chain tags) sets a
/// killed writer's cut custody line aside before it appends: one that
/// logged onto the cut line made the log unreadable for good, and no later
/// recovery could see the damage.
#[test]
fn logging_after_a_cut_custody_line_sets_it_aside_first() {
    let (d, mut s) = new_store();
    let dir = d.path().join("evidence");
    acquire(&mut s, b"first page", &meta("a.html", None));
    append(&dir.join("custody.jsonl"), b"{\"action\":\"acq");
    let mut s = EvidenceStore::open(&dir).unwrap();
    s.log("extract", json!({"pages": 1}), "op", "v").unwrap();
    assert!(s.verify().is_intact(), "{:?}", s.verify().problems);
    let entries = s.custody().entries().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["acquire", "recover", "extract"]);
    assert_eq!(entries[1].detail["torn"][0]["file"], "custody.jsonl");
}

/// One writer at a time: a second store on the same directory cannot
/// recover (or write through `import`/`crawl`) while the first holds the
/// writer lock, so a recovery never cuts a live writer's record in
/// progress; the lock goes with the first store.
#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
    let (d, mut first) = new_store();
    let dir = d.path().join("evidence");
    first.recover("op", "v").unwrap();
    let mut second = EvidenceStore::open(&dir).unwrap();
    let err = second.recover("op", "v").unwrap_err();
    assert!(matches!(err, evidence::Error::Busy { .. }), "{err}");
    assert!(err.to_string().contains("another dragnet process is writing this case"), "{err}");
    drop(first);
    second.recover("op", "v").unwrap();
    assert!(second.verify().is_intact(), "{:?}", second.verify().problems);
}

/// Two processes logging to one case (a crawl, an analyst's decision) chain
/// their entries one after the other: each reads an entry the other wrote
/// before appending its own, where both chained to one predecessor.
#[test]
fn two_logs_on_one_file_keep_one_chain() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("custody.jsonl");
    let mut a = evidence::CustodyLog::open(&path).unwrap();
    let mut b = evidence::CustodyLog::open(&path).unwrap();
    for i in 0..3 {
        a.append("a", json!({ "i": i }), "op", "v").unwrap();
        b.append("b", json!({ "i": i }), "op", "v").unwrap();
    }
    assert!(a.verify().is_empty(), "{:?}", a.verify());
    let seqs: Vec<u64> = a.entries().unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
}
