//! Independent check of our WARC output with warcio (`pip install warcio`).
//! Skips with a notice when warcio is missing, unless `CI=true`.

use std::process::Command;

use chrono::{DateTime, Utc};
use evidence::{CaptureMeta, EvidenceStore, Origin};

fn warcio_available() -> bool {
    match Command::new("warcio").arg("--help").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "warcio is not installed; CI must `pip install warcio`"
            );
            eprintln!("notice: warcio not installed (pip install warcio); skipping");
            false
        }
    }
}

fn sample_store(dir: &std::path::Path) -> EvidenceStore {
    let mut s = EvidenceStore::create(dir).unwrap();
    let t = DateTime::parse_from_rfc3339("2020-02-03T04:05:06Z").unwrap().with_timezone(&Utc);
    let mut m = CaptureMeta::file("pages/a.html");
    m.captured_at = Some(t);
    m.url = Some("http://abcdefghij234567.onion/listing/1".into());
    m.content_type = Some("text/html".into());
    s.add(b"<html>a</html>", &m).unwrap();
    // Same bytes again from elsewhere: a metadata record.
    m.source = "mirror/b.html".into();
    s.add(b"<html>a</html>", &m).unwrap();
    let mut r = CaptureMeta::file("crawl");
    r.origin = Origin::Crawl;
    r.url = Some("http://abcdefghij234567.onion/".into());
    r.http_head = Some(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec());
    s.add(b"<html>crawled</html>", &r).unwrap();
    s.add(&[0u8, 159, 146, 150], &CaptureMeta::file("binary")).unwrap();
    s
}

#[test]
fn warcio_check_accepts_our_digests() {
    if !warcio_available() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let s = sample_store(&d.path().join("evidence"));
    let file = s.dir().join("evidence-00001.warc.gz");
    let out = Command::new("warcio").arg("check").arg("-v").arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "warcio check failed:\n{text}");
    // -v prints one line per checked digest; make sure digests were checked,
    // not skipped.
    assert!(text.contains("digest pass"), "warcio did not check digests:\n{text}");
    assert!(!text.contains("digest fail"), "{text}");
    eprintln!("{text}");
}

#[test]
fn warcio_index_agrees_with_our_offsets() {
    if !warcio_available() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let s = sample_store(&d.path().join("evidence"));
    let file = s.dir().join("evidence-00001.warc.gz");
    let out = Command::new("warcio")
        .args(["index", "-f", "warc-type,warc-record-id,offset,length"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["warc-type"].as_str().unwrap()).collect();
    assert_eq!(types, ["warcinfo", "resource", "metadata", "response", "resource"]);
    for r in s.records() {
        let l = lines.iter().find(|l| l["warc-record-id"] == r.record_id.as_str()).unwrap();
        assert_eq!(l["offset"].as_str().unwrap().parse::<u64>().unwrap(), r.offset, "{l}");
        assert_eq!(l["length"].as_str().unwrap().parse::<u64>().unwrap(), r.length, "{l}");
    }
}
