//! Reading external WARC files: compression variants, damage, HTTP payloads.

use std::io::{Cursor, Write};

use evidence::{read_warc, WarcError, WarcErrorKind, WarcReader, WarcRecord};
use proptest::prelude::*;

/// One WARC record as wget/warcio write them.
fn record(id: u32, warc_type: &str, uri: &str, block: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{id:012}>\r\nWARC-Date: 2021-06-0{d}T12:00:00Z\r\nWARC-Target-URI: {uri}\r\nContent-Type: application/http;msgtype=response\r\nContent-Length: {}\r\n\r\n",
        block.len(),
        d = 1 + id % 9
    )
    .into_bytes();
    v.extend_from_slice(block);
    v.extend_from_slice(b"\r\n\r\n");
    v
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn http(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn three() -> Vec<Vec<u8>> {
    (1..=3).map(|i| record(i, "response", &format!("http://m.onion/{i}"), &http(&format!("page {i}")))).collect()
}

fn read(name: &str, bytes: Vec<u8>) -> Vec<Result<WarcRecord, WarcError>> {
    WarcReader::new(name, Cursor::new(bytes)).collect()
}

fn bodies(items: &[Result<WarcRecord, WarcError>]) -> Vec<String> {
    items
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| String::from_utf8(r.http_response().unwrap().unwrap().body).unwrap())
        .collect()
}

fn errors(items: &[Result<WarcRecord, WarcError>]) -> Vec<&WarcError> {
    items.iter().filter_map(|r| r.as_ref().err()).collect()
}

#[test]
fn uncompressed_file() {
    let recs = three();
    let file: Vec<u8> = recs.concat();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("a.warc");
    std::fs::write(&p, &file).unwrap();
    let items: Vec<_> = read_warc(&p).collect();
    assert_eq!(bodies(&items), ["page 1", "page 2", "page 3"]);
    let offs: Vec<u64> = items.iter().map(|r| r.as_ref().unwrap().offset).collect();
    assert_eq!(offs, [0, recs[0].len() as u64, (recs[0].len() + recs[1].len()) as u64]);
    let r = items[1].as_ref().unwrap();
    assert_eq!(r.target_uri.as_deref(), Some("http://m.onion/2"));
    assert_eq!(r.date.unwrap().to_rfc3339(), "2021-06-03T12:00:00+00:00");
    assert_eq!(r.record_id, "<urn:uuid:00000000-0000-0000-0000-000000000002>");
}

#[test]
fn gzip_per_record_offsets_are_member_offsets() {
    let members: Vec<Vec<u8>> = three().iter().map(|r| gz(r)).collect();
    let items = read("a.warc.gz", members.concat());
    assert_eq!(bodies(&items), ["page 1", "page 2", "page 3"]);
    let got: Vec<(u64, u64)> = items.iter().map(|r| r.as_ref().unwrap()).map(|r| (r.offset, r.length)).collect();
    let m0 = members[0].len() as u64;
    let m1 = members[1].len() as u64;
    assert_eq!(got, [(0, m0), (m0, m1), (m0 + m1, members[2].len() as u64)]);
}

#[test]
fn whole_file_gzip() {
    let recs = three();
    let items = read("whole.warc.gz", gz(&recs.concat()));
    assert_eq!(bodies(&items), ["page 1", "page 2", "page 3"]);
    let inner: Vec<(u64, u64)> =
        items.iter().map(|r| r.as_ref().unwrap()).map(|r| (r.offset, r.offset_in_member)).collect();
    assert_eq!(inner, [(0, 0), (0, recs[0].len() as u64), (0, (recs[0].len() + recs[1].len()) as u64)]);
}

#[test]
fn truncated_warc_gz_keeps_earlier_records_and_names_offset() {
    let members: Vec<Vec<u8>> = three().iter().map(|r| gz(r)).collect();
    let mut file = members.concat();
    let cut_member_at = (members[0].len() + members[1].len()) as u64;
    file.truncate(cut_member_at as usize + members[2].len() / 2);
    let items = read("t.warc.gz", file);
    assert_eq!(bodies(&items), ["page 1", "page 2"]);
    let errs = errors(&items);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].file.as_str(), errs[0].offset), ("t.warc.gz", cut_member_at));
    assert!(matches!(errs[0].kind, WarcErrorKind::Truncated(_)), "{errs:?}");
    assert!(errs[0].to_string().contains("t.warc.gz: offset"));
}

#[test]
fn corrupt_gzip_member_is_reported_and_reading_resumes() {
    let members: Vec<Vec<u8>> = three().iter().map(|r| gz(r)).collect();
    let mut file = members.concat();
    let m1 = members[0].len();
    // Damage the deflate data of the middle member (past its 10-byte header).
    for b in &mut file[m1 + 12..m1 + 20] {
        *b ^= 0xa5;
    }
    let items = read("c.warc.gz", file);
    assert_eq!(bodies(&items), ["page 1", "page 3"]);
    let errs = errors(&items);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].offset, m1 as u64);
    assert!(matches!(errs[0].kind, WarcErrorKind::CorruptGzip(_)), "{errs:?}");
}

#[test]
fn truncated_plain_file_stops_cleanly() {
    let recs = three();
    let mut file = recs.concat();
    file.truncate(file.len() - 20);
    let items = read("p.warc", file);
    assert_eq!(bodies(&items), ["page 1", "page 2"]);
    let errs = errors(&items);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].offset, (recs[0].len() + recs[1].len()) as u64);
}

#[test]
fn chunked_http_payload_is_decoded_and_content_type_kept() {
    let block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<p>a\r\n5\r\nbc</p\r\n1\r\n>\r\n0\r\n\r\n";
    let items = read("c.warc", record(9, "response", "http://m.onion/", block));
    let rec = items[0].as_ref().unwrap();
    let resp = rec.http_response().unwrap().unwrap();
    assert_eq!(resp.body, b"<p>abc</p>");
    assert_eq!(resp.content_type(), Some("text/html; charset=utf-8"));
    assert!(resp.chunked);
    assert_eq!(resp.status, 200);
}

#[test]
fn non_http_records_have_no_http_response() {
    let items = read("r.warc", record(1, "request", "http://m.onion/", b"GET / HTTP/1.1\r\n\r\n"));
    assert!(items[0].as_ref().unwrap().http_response().is_none());
}

#[test]
fn missing_file_is_an_error_not_a_panic() {
    let items: Vec<_> = read_warc(std::path::Path::new("/nonexistent/x.warc")).collect();
    assert_eq!(items.len(), 1);
    assert!(matches!(&items[0], Err(e) if matches!(e.kind, WarcErrorKind::Io(_))));
}

/// Reads wget's WARC files if the shared data holds any (it currently does
/// not; kept so the reader meets real files as soon as some exist).
#[test]
fn reads_real_warc_files_in_shared_data_if_any() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if !root.is_dir() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "shared data missing at {}", root.display());
        eprintln!("notice: shared data not found at {}; skipping", root.display());
        return;
    }
    for e in walkdir::WalkDir::new(root).into_iter().filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".warc") || name.ends_with(".warc.gz") {
            let n = read_warc(e.path()).filter(Result::is_ok).count();
            assert!(n > 0, "{}", e.path().display());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        for item in WarcReader::new("fuzz", Cursor::new(bytes)).take(10_000) {
            let _ = item.map(|r| r.http_response());
        }
    }

    #[test]
    fn damaged_valid_files_never_panic_and_keep_the_records_before(
        gzip in any::<bool>(), pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()
    ) {
        let recs = three();
        let parts: Vec<Vec<u8>> = if gzip { recs.iter().map(|r| gz(r)).collect() } else { recs };
        let mut file = parts.concat();
        let at = pos.index(file.len());
        if cut { file.truncate(at) } else { file[at] ^= byte | 1 }
        let items: Vec<_> = WarcReader::new("f", Cursor::new(file)).take(100).collect();
        let intact_before = parts.iter().scan(0, |acc, p| { *acc += p.len(); Some(*acc) }).filter(|&end| end <= at).count();
        let ok = items.iter().filter(|r| r.is_ok()).count();
        prop_assert!(ok >= intact_before.min(3), "{} ok, {} intact before damage at {}", ok, intact_before, at);
    }
}

/// Four records, the second with its `Content-Length` header set to `cl`.
fn four_with_length(cl: impl Fn(usize) -> usize) -> Vec<Vec<u8>> {
    let mut recs: Vec<Vec<u8>> = (1..=4).map(|i| record(i, "response", &format!("http://m.onion/{i}"), &http(&format!("page {i}")))).collect();
    let len = http("page 2").len();
    let text = String::from_utf8(recs[1].clone()).unwrap();
    recs[1] = text.replacen(&format!("Content-Length: {len}\r\n"), &format!("Content-Length: {}\r\n", cl(len)), 1).into_bytes();
    recs
}

/// The one error, which must name the record whose length lies.
fn the_length_error(items: &[Result<WarcRecord, WarcError>], at: u64) -> String {
    let errs = errors(items);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].offset, at, "{errs:?}");
    assert!(matches!(errs[0].kind, WarcErrorKind::Length(_)), "{errs:?}");
    errs[0].to_string()
}

/// A plain record whose block runs past the end of the file lost every
/// record after it, and the warning said only "truncated".
#[test]
fn plain_length_past_the_end_loses_only_its_own_record() {
    let recs = four_with_length(|_| 1_000_000_000);
    let items = read("huge.warc", recs.concat());
    assert_eq!(bodies(&items), ["page 1", "page 3", "page 4"]);
    let msg = the_length_error(&items, recs[0].len() as u64);
    assert!(msg.contains("of 1000000000 bytes") && msg.contains("record skipped"), "{msg}");
    assert!(msg.contains(&format!("reading on at offset {}", recs[0].len() + recs[1].len())), "{msg}");
    let later: Vec<u64> = items.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.offset).skip(1).collect();
    assert_eq!(later, [(recs[0].len() + recs[1].len()) as u64, (recs[0].len() + recs[1].len() + recs[2].len()) as u64]);
}

/// A Content-Length too long stored a block holding the next record's head
/// (and lost that record); the warning named an offset inside the next one.
#[test]
fn plain_length_too_long_skips_its_record_and_reads_the_next() {
    let recs = four_with_length(|n| n + 50);
    let items = read("long.warc", recs.concat());
    assert_eq!(bodies(&items), ["page 1", "page 3", "page 4"]);
    let msg = the_length_error(&items, recs[0].len() as u64);
    assert!(msg.contains("does not end at a record boundary"), "{msg}");
}

/// A Content-Length too short stored a cut page as whole.
#[test]
fn plain_length_too_short_is_not_stored_as_whole() {
    let len = http("page 2").len();
    let recs = four_with_length(|n| n - 3);
    let items = read("short.warc", recs.concat());
    assert_eq!(bodies(&items), ["page 1", "page 3", "page 4"]);
    let msg = the_length_error(&items, recs[0].len() as u64);
    assert!(msg.contains(&format!("Content-Length {} does not end at a record boundary", len - 3)), "{msg}");
}

/// The same lies in gzip-per-record files cost only their own member.
#[test]
fn gzip_member_with_a_wrong_length_loses_only_its_record() {
    for (name, cl) in [("short.warc.gz", -3i64), ("long.warc.gz", 50)] {
        let recs = four_with_length(|n| (n as i64 + cl) as usize);
        let members: Vec<Vec<u8>> = recs.iter().map(|r| gz(r)).collect();
        let items = read(name, members.concat());
        assert_eq!(bodies(&items), ["page 1", "page 3", "page 4"], "{name}");
        let errs = errors(&items);
        assert_eq!(errs.len(), 1, "{name}: {errs:?}");
        assert_eq!(errs[0].offset, members[0].len() as u64, "{name}");
    }
}

/// What leniency real writers need stays: a trailer of bare or short line
/// ends, or none, before the next record or the end.
#[test]
fn short_trailers_before_the_next_record_are_accepted() {
    for trailer in [&b"\n\n"[..], b"\r\n", b""] {
        let recs: Vec<Vec<u8>> = three()
            .into_iter()
            .map(|r| {
                let mut r = r[..r.len() - 4].to_vec();
                r.extend_from_slice(trailer);
                r
            })
            .collect();
        let items = read("lenient.warc", recs.concat());
        assert_eq!(bodies(&items), ["page 1", "page 2", "page 3"], "{trailer:?}");
        assert!(errors(&items).is_empty(), "{trailer:?}");
    }
}

/// In a whole-file gzip the records after a lying one are in the same
/// member: they are read, not skipped with the rest of the member.
#[test]
fn whole_file_gzip_with_a_wrong_length_loses_only_its_record() {
    for (what, cl) in [("short", -3i64), ("long", 50), ("past the end", 1_000_000_000)] {
        let recs = four_with_length(|n| (n as i64 + cl) as usize);
        let items = read("whole.warc.gz", gz(&recs.concat()));
        let errs = errors(&items);
        assert_eq!(errs.len(), 1, "{what}: {errs:?}");
        assert_eq!(errs[0].offset, 0, "{what}");
        let want = ["page 1", "page 3", "page 4"];
        assert_eq!(bodies(&items), want, "{what}");
        let at = (recs[0].len() + recs[1].len()) as u64;
        assert_eq!(items.iter().filter_map(|r| r.as_ref().ok()).nth(1).map(|r| r.offset_in_member), Some(at), "{what}");
    }
}
