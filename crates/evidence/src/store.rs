//! The evidence store: payloads in append-only gzip-per-record WARC files,
//! a JSON-lines index derived from them, and the custody log.
//!
//! Layout of `<case>/evidence/`:
//!
//! * `evidence-00001.warc.gz`, `evidence-00002.warc.gz`, ...: each begins
//!   with a `warcinfo` record; then one gzip member per record, so an
//!   (offset, length) pair reads one record without scanning. A new file is
//!   started when the current one reaches [`DEFAULT_ROLLOVER`] bytes.
//! * `index.jsonl`: one line per record, in append order. It is derived
//!   data: [`EvidenceStore::rebuild_index`] recreates it from the WARC
//!   files, which are the source of truth, and `verify` compares the two.
//! * `custody.jsonl`: the [`CustodyLog`].
//!
//! Payload records are `resource` records, or `response` records (HTTP head
//! and body) when the capture was an HTTP response. Their `WARC-Record-ID` is
//! `<urn:sha256:HEX>` of the payload, so importing the same bytes again, into
//! this store or another, gives the same id. A second capture of bytes that
//! are already stored adds only a small `metadata` record naming the new
//! source and URL (`WARC-Refers-To` the payload record), so nothing about
//! where evidence was found is lost and the WARC files alone still hold it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use model::Sha256;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::custody::{canonical_json, CustodyLog};
use crate::error::{Error, Location, Problem, WarcErrorKind};
use crate::http;
use crate::warc::{self, read_warc, WarcReader, WarcRecord};

mod recover;
pub use recover::{Recovery, TornTail, TORN_DIR, WRITER_LOCK};

/// Size at which a new evidence file is started (1 GiB).
pub const DEFAULT_ROLLOVER: u64 = 1 << 30;
const INDEX: &str = "index.jsonl";
const CUSTODY: &str = "custody.jsonl";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where a capture came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Origin {
    /// A file on disk (saved page, wget mirror file).
    File,
    /// A record of an external WARC file.
    Warc {
        /// The WARC file's name as given to import.
        file: String,
        /// The original `WARC-Record-ID`.
        record_id: String,
    },
    /// Our own crawler.
    Crawl,
}

/// What is known about one capture of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureMeta {
    /// Where it was found: a path relative to the imported directory, or
    /// `name.warc.gz@offset` for a WARC record. Stored verbatim.
    pub source: String,
    /// The URL it was captured from, when known.
    pub url: Option<String>,
    /// When it was captured (`WARC-Date` of the original, file mtime, crawl
    /// time). When `None`, the stored `WARC-Date` is the time of storing and
    /// the record says the capture time is unknown.
    pub captured_at: Option<DateTime<Utc>>,
    /// `captured_at` is the file's modification time, taken because no
    /// capture time was given: when the file was last written, which may be
    /// a copy's time, not the capture's. Stored
    /// (`X-Dragnet-Capture-Time: file-modified`) so that every later reader
    /// can say so.
    pub captured_at_is_file_time: bool,
    /// The payload's media type, when known. For HTTP responses it defaults
    /// to the response's `Content-Type`.
    pub content_type: Option<String>,
    /// Where the capture came from.
    pub origin: Origin,
    /// The raw HTTP response head (status line, headers, empty line) when the
    /// payload is the body of an HTTP response; the record is then stored as
    /// a `response`. The payload must be the body with any chunked transfer
    /// coding already undone (as [`crate::HttpResponse::body`]); a
    /// `Transfer-Encoding` header is therefore stored renamed as
    /// `X-Dragnet-Original-Transfer-Encoding`.
    pub http_head: Option<Vec<u8>>,
    /// Why the payload is not the whole of what was served, when it is not
    /// (`WARC-Truncated`: `length` for a body cut at the crawl's size cap,
    /// or the reason an imported WARC record gives). Rows extracted from it
    /// may be incomplete, and `explain` says so.
    pub truncated: Option<String>,
}

impl CaptureMeta {
    /// Metadata for a file capture with nothing else known.
    pub fn file(source: impl Into<String>) -> Self {
        CaptureMeta {
            source: source.into(),
            url: None,
            captured_at: None,
            captured_at_is_file_time: false,
            content_type: None,
            origin: Origin::File,
            http_head: None,
            truncated: None,
        }
    }
}

/// The HTTP request behind a crawled response, stored as a WARC `request`
/// record beside it (see [`EvidenceStore::add_exchange`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    /// The request head as sent: request line, headers, empty line. Session
    /// secrets are the caller's to redact (the crawler replaces cookie
    /// values with their length and digest).
    pub head: Vec<u8>,
    /// When the request started.
    pub started_at: DateTime<Utc>,
    /// Request start to the end of the response body.
    pub elapsed_ms: u64,
    /// The route it took: proxy and isolating credentials, or `direct`.
    pub circuit: String,
}

/// One stored `request` record, as indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// `WARC-Record-ID` of the request record.
    pub record_id: String,
    /// The record it went with (`WARC-Concurrent-To`): the response, or the
    /// alias record when the response's bytes were already stored.
    pub concurrent_to: String,
    /// Digest of the response payload it fetched.
    pub response_sha256: Sha256,
    /// The source of the capture (the crawl's frontier row).
    pub source: Option<String>,
    /// Requested URL.
    pub url: Option<String>,
    /// Request start.
    pub started_at: Option<String>,
}

/// Result of [`EvidenceStore::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// Payload digest.
    pub sha256: Sha256,
    /// False when the payload was already stored (only the new source/URL
    /// was recorded, if any).
    pub new: bool,
    /// `WARC-Record-ID` of the payload record.
    pub record_id: String,
    /// `WARC-Record-ID` of the record this call wrote: the payload record,
    /// an alias record naming a new source or URL for stored bytes, or
    /// `None` when nothing new was written.
    pub written: Option<String>,
    /// SHA-256 of each gzip member this call wrote (the payload or alias
    /// record, and a crawl's request record), as its index line keeps it:
    /// what the acquire entry logs as `members`, so that `verify` sees a
    /// member changed even when its index line was rewritten to match (the
    /// index is not hash-chained; the custody log is).
    pub members: Vec<Sha256>,
}

/// One stored payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    /// Payload digest.
    pub sha256: Sha256,
    /// `WARC-Record-ID`, `<urn:sha256:HEX>`.
    pub record_id: String,
    /// `resource` or `response`.
    pub warc_type: String,
    /// First known URL.
    pub url: Option<String>,
    /// Every distinct URL it was captured from, in the order first seen.
    pub urls: Vec<String>,
    /// Every distinct source it was found in, in the order first seen.
    pub sources: Vec<String>,
    /// Capture time of the first capture, when known.
    pub captured_at: Option<DateTime<Utc>>,
    /// That time is its file's modification time (see
    /// [`CaptureMeta::captured_at_is_file_time`]).
    pub captured_at_is_file_time: bool,
    /// Payload media type, when known.
    pub content_type: Option<String>,
    /// Origin of the first capture.
    pub origin: Origin,
    /// Evidence file name (in the evidence directory).
    pub stored_at_file: String,
    /// Offset of the record's gzip member in that file.
    pub offset: u64,
    /// Length of the gzip member.
    pub length: u64,
    /// Payload length in bytes.
    pub payload_length: u64,
    /// Why the payload is not the whole response, when it is cut short
    /// (`WARC-Truncated`; see [`CaptureMeta::truncated`]).
    pub truncated: Option<String>,
}

/// Result of [`EvidenceStore::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// WARC records read and checked (all record types).
    pub records_checked: usize,
    /// Custody log lines checked.
    pub log_entries_checked: usize,
    /// Everything found wrong.
    pub problems: Vec<Problem>,
    /// `(sha256, source)` of every payload and alias record read from the
    /// evidence files, and of each indexed one whose damage is reported at
    /// the record: the case checks its acquire entries against what the
    /// files hold, not against the index (a damaged index line was blamed on
    /// the untouched custody log).
    pub stored: HashSet<(Sha256, Option<String>)>,
    /// `(response sha256, source)` of every request record read from the
    /// evidence files.
    pub requested: HashSet<(Sha256, Option<String>)>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One line of `index.jsonl`. Derived from a WARC record by [`index_line`],
/// both when writing and when rebuilding or verifying, so the index can
/// always be compared field by field with the files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IndexLine {
    kind: Kind,
    file: String,
    offset: u64,
    length: u64,
    record_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<Sha256>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warc_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    captured_at: Option<String>,
    /// `captured_at` is the file's modification time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    captured_at_is_file_time: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<Origin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload_length: Option<u64>,
    /// Request records: the record they went with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    concurrent_to: Option<String>,
    /// Payload records cut short: their `WARC-Truncated` reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    truncated: Option<String>,
    /// SHA-256 of the record's gzip member as written (its bytes in the
    /// file). The payload digest cannot see the member's framing: a changed
    /// gzip header byte (its time, flags, OS) or a deflate stream re-encoded
    /// inflates to the same payload. Not derived from the record (see
    /// [`member_digest`]); lines written before it existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_sha256: Option<Sha256>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Warcinfo,
    Record,
    Alias,
    /// The HTTP request that fetched a stored response (crawls only).
    Request,
}

/// Append-only store of evidence payloads; see the module docs for layout.
#[derive(Debug)]
pub struct EvidenceStore {
    dir: PathBuf,
    lines: Vec<IndexLine>,
    records: Vec<RecordInfo>,
    by_sha: BTreeMap<Sha256, usize>,
    /// Problems met while loading the index; reported by `verify`.
    index_problems: Vec<Problem>,
    /// `(file, offset)` of each index line read from `index.jsonl` -> its
    /// 1-based line number, so `verify` pins a wrong line on the index.
    index_line_nos: BTreeMap<(String, u64), usize>,
    custody: CustodyLog,
    rollover: u64,
    /// The writer lock ([`EvidenceStore::lock_for_writing`]), held until
    /// the store is dropped.
    writer_lock: Option<fs::File>,
}

/// A payload made ready to store ([`EvidenceStore::prepare`]): its record,
/// and the date stored for it (used by an alias if the bytes turn out to be
/// stored already).
#[derive(Debug)]
pub struct Prepared {
    date: DateTime<Utc>,
    record: PreparedRecord,
}

impl Prepared {
    /// The payload's digest.
    pub fn sha256(&self) -> Sha256 {
        self.record.sha
    }
}

/// A new record ready to append: its gzip member and its index line (file
/// and offset still to be set).
#[derive(Debug)]
struct PreparedRecord {
    sha: Sha256,
    record_id: String,
    member: Vec<u8>,
    line: IndexLine,
}

/// A record's gzip member, and the record's head read back from the bytes
/// it compresses: the index line is derived from what is about to be
/// written, so index and file cannot disagree by construction. The head is
/// read back before compression rather than inflated from the member: the
/// member is flate2's encoding of those bytes (every read of the store
/// inflates one), and inflating a dataset file's member again cost as much
/// as hashing it. The block is `block` one part after another, compressed
/// from where it lies: it is the caller's bytes as given, so the record
/// comes back with an empty block (copying a 100 MB dataset file into the
/// record, and again into the record read back, was a third of storing it).
/// `label` names the record in an error.
fn member_of(headers: &[(&str, String)], block: &[&[u8]], label: &Path) -> Result<(Vec<u8>, WarcRecord), Error> {
    let block_len: usize = block.iter().map(|p| p.len()).sum();
    let mut head = Vec::with_capacity(1024);
    warc::write_record_head(&mut head, headers, block_len as u64);
    let mut parts = Vec::with_capacity(block.len() + 2);
    parts.push(&head[..]);
    parts.extend_from_slice(block);
    parts.push(warc::RECORD_TRAILER);
    let member = warc::gzip_member_of_parts(&parts).map_err(|e| Error::io(label, e))?;
    let mut rec = warc::read_back_head(&label.display().to_string(), &head, block_len as u64)
        .map_err(|e| Error::io(label, std::io::Error::other(e.to_string())))?;
    // What the file holds is the member.
    rec.length = member.len() as u64;
    Ok((member, rec))
}

fn file_name(n: u32) -> String {
    format!("evidence-{n:05}.warc.gz")
}

fn file_number(name: &str) -> Option<u32> {
    name.strip_prefix("evidence-")?.strip_suffix(".warc.gz")?.parse().ok()
}

fn base32_digest(d: &Sha256) -> String {
    format!("sha256:{}", data_encoding::BASE32.encode(d.as_bytes()))
}

/// Parses `sha256:` + base32 (or hex) as written in WARC digest headers.
fn parse_digest(v: &str) -> Option<Sha256> {
    let (alg, val) = v.trim().split_once(':')?;
    if !alg.eq_ignore_ascii_case("sha256") {
        return None;
    }
    if val.len() == 64 {
        return val.parse().ok();
    }
    let bytes = data_encoding::BASE32.decode(val.to_ascii_uppercase().as_bytes()).ok()?;
    Some(Sha256::from_bytes(bytes.try_into().ok()?))
}

fn json_str(s: &str) -> String {
    Value::from(s).to_string()
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Makes a value safe for a single header line: control characters become
/// spaces.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

/// Percent-encodes bytes that may not appear in a URI header value.
fn uri_safe(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    for b in s.bytes() {
        if b <= 0x20 || b == 0x7f || matches!(b, b'<' | b'>' | b'"') {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    // Only ASCII bytes were replaced (by ASCII), so UTF-8 stays valid.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The payload of a stored record: the block, or for `response` records the
/// block after the HTTP head.
fn payload_of(rec: &WarcRecord) -> Result<&[u8], String> {
    if rec.warc_type == "response" {
        let head = http::parse_head(&rec.block).map_err(|e| e.to_string())?;
        Ok(rec.block.get(head.head_len..).unwrap_or(&[]))
    } else {
        Ok(&rec.block)
    }
}

/// Derives the index line for a record of an evidence file.
fn index_line(file: &str, rec: &WarcRecord) -> Result<IndexLine, String> {
    index_line_with(file, rec, |rec| payload_of(rec).map(|p| p.len() as u64))
}

/// What a record of `kind` is called in messages.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Warcinfo => "warcinfo record",
        Kind::Record => "record",
        Kind::Alias => "alias record",
        Kind::Request => "request record",
    }
}

/// A capture as acquire entries name it: payload digest and source.
type Capture = (Sha256, Option<String>);

/// SHA-256 of `length` bytes of `file` from `offset`: a record's gzip
/// member as the file holds it (see [`IndexLine::member_sha256`]).
fn member_digest(file: &mut fs::File, offset: u64, length: u64) -> std::io::Result<Sha256> {
    use sha2::Digest;
    file.seek(SeekFrom::Start(offset))?;
    let mut hasher = sha2::Sha256::new();
    let copied = std::io::copy(&mut file.take(length), &mut hasher)?;
    if copied != length {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("{length} bytes at offset {offset}, the file ends after {copied}")));
    }
    Ok(Sha256::from_bytes(hasher.finalize().into()))
}

/// `line` with the digest of its member as file `line.file` in `dir` holds
/// it now (none when the member cannot be read, or holds other records too).
fn with_member_digest(dir: &Path, mut line: IndexLine) -> IndexLine {
    if line.length > 0 {
        line.member_sha256 = fs::File::open(dir.join(&line.file)).and_then(|mut f| member_digest(&mut f, line.offset, line.length)).ok();
    }
    line
}

/// What is wrong with the member of the record at `offset` (`length` bytes)
/// of `file`, whose digest was `now` when read again (or could not be), when
/// its bytes are not those written: their digest was `written` by its index
/// line. Nothing when they are (or there is no digest to go by: lines of
/// stores from before member digests).
fn member_changed(now: Option<&Result<Sha256, String>>, written: Option<Sha256>) -> Option<String> {
    let written = written?;
    match now? {
        Ok(now) if *now == written => None,
        // The payload's digest is checked apart: when it still matches, the
        // change is in the member's gzip header or compressed stream.
        Ok(now) => Some(format!("its gzip member's bytes are not those written (SHA-256 {now}, written {written}): the record's bytes in the file were changed after it was written")),
        Err(e) => Some(format!("its gzip member could not be read again to check its bytes: {e}")),
    }
}

/// The digest of the member at `offset` (`length` bytes) of `file` now;
/// none for a record that shares its member (the store writes none).
fn member_now(file: Option<&mut fs::File>, offset: u64, length: u64) -> Option<Result<Sha256, String>> {
    (length > 0).then(|| file.ok_or_else(|| "the file cannot be opened".to_owned()).and_then(|f| member_digest(f, offset, length).map_err(|e| e.to_string())))
}

/// [`index_line`], a payload record's payload length given by
/// `payload_length` (a record just written comes back without its block).
fn index_line_with(file: &str, rec: &WarcRecord, payload_length: impl FnOnce(&WarcRecord) -> Result<u64, String>) -> Result<IndexLine, String> {
    let h = |n: &str| rec.header(n).map(str::to_owned);
    let json_h = |n: &str| -> Result<Option<String>, String> {
        match rec.header(n) {
            None => Ok(None),
            Some(v) => serde_json::from_str(v).map(Some).map_err(|e| format!("bad {n} header: {e}")),
        }
    };
    let mut line = IndexLine {
        kind: Kind::Warcinfo,
        file: file.to_owned(),
        offset: rec.offset,
        length: rec.length,
        record_id: rec.record_id.clone(),
        sha256: None,
        warc_type: None,
        url: None,
        source: None,
        captured_at: None,
        captured_at_is_file_time: false,
        content_type: None,
        origin: None,
        payload_length: None,
        concurrent_to: None,
        truncated: None,
        member_sha256: None,
    };
    match rec.warc_type.as_str() {
        "warcinfo" => {}
        "resource" | "response" => {
            line.kind = Kind::Record;
            let sha: Sha256 = h("X-Dragnet-SHA256")
                .ok_or("payload record without X-Dragnet-SHA256")?
                .parse()
                .map_err(|e| format!("bad X-Dragnet-SHA256: {e}"))?;
            line.sha256 = Some(sha);
            line.warc_type = Some(rec.warc_type.clone());
            line.url = rec.target_uri.clone();
            line.source = json_h("X-Dragnet-Source")?;
            line.captured_at = match rec.header("X-Dragnet-Capture-Time") {
                Some("unknown") => None,
                _ => h("WARC-Date"),
            };
            line.captured_at_is_file_time = rec.header("X-Dragnet-Capture-Time") == Some("file-modified");
            line.content_type = h("WARC-Identified-Payload-Type");
            line.truncated = h("WARC-Truncated");
            line.origin = match rec.header("X-Dragnet-Origin") {
                None => None,
                Some(v) => Some(serde_json::from_str(v).map_err(|e| format!("bad X-Dragnet-Origin: {e}"))?),
            };
            line.payload_length = Some(payload_length(rec)?);
        }
        "metadata" => {
            line.kind = Kind::Alias;
            let v: Value = serde_json::from_slice(&rec.block).map_err(|e| format!("bad alias metadata: {e}"))?;
            let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            line.sha256 = Some(
                s("sha256").and_then(|x| x.parse().ok()).ok_or("alias metadata without a valid sha256")?,
            );
            line.url = s("url");
            line.source = s("source");
            line.captured_at = s("captured_at");
            line.captured_at_is_file_time = v.get("captured_at_is_file_time") == Some(&Value::Bool(true));
            line.content_type = s("content_type");
            line.origin = v.get("origin").and_then(|o| serde_json::from_value(o.clone()).ok());
        }
        "request" => {
            line.kind = Kind::Request;
            line.sha256 = Some(
                h("X-Dragnet-Response-SHA256")
                    .ok_or("request record without X-Dragnet-Response-SHA256")?
                    .parse()
                    .map_err(|e| format!("bad X-Dragnet-Response-SHA256: {e}"))?,
            );
            line.concurrent_to = Some(h("WARC-Concurrent-To").ok_or("request record without WARC-Concurrent-To")?);
            line.url = rec.target_uri.clone();
            line.source = json_h("X-Dragnet-Source")?;
            line.captured_at = h("WARC-Date");
        }
        other => return Err(format!("unexpected record type {other:?} in an evidence file")),
    }
    Ok(line)
}

impl EvidenceStore {
    /// Creates an empty store in `dir` (created with its parents). Fails if
    /// `dir` already holds an index, a custody log or evidence files.
    pub fn create(dir: &Path) -> Result<Self, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        if dir.join(INDEX).exists() || dir.join(CUSTODY).exists() || !evidence_files(dir)?.is_empty() {
            return Err(Error::AlreadyExists { path: dir.to_owned() });
        }
        fs::write(dir.join(INDEX), b"").map_err(|e| Error::io(dir.join(INDEX), e))?;
        Self::open(dir)
    }

    /// Opens an existing store. A missing index is rebuilt from the WARC
    /// files; a damaged one still opens, and `verify` reports the damage.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Self::open_with(dir, true)
    }

    /// Opens an existing store to read and verify only: nothing is written
    /// (a missing index is rebuilt in memory), so a case on write-blocked
    /// media can be verified.
    pub fn open_read_only(dir: &Path) -> Result<Self, Error> {
        Self::open_with(dir, false)
    }

    fn open_with(dir: &Path, write_index: bool) -> Result<Self, Error> {
        if !dir.is_dir() {
            return Err(Error::NotAStore { path: dir.to_owned() });
        }
        let custody = CustodyLog::open(&dir.join(CUSTODY))?;
        let mut store = EvidenceStore {
            dir: dir.to_owned(),
            lines: Vec::new(),
            records: Vec::new(),
            by_sha: BTreeMap::new(),
            index_problems: Vec::new(),
            index_line_nos: BTreeMap::new(),
            custody,
            rollover: DEFAULT_ROLLOVER,
            writer_lock: None,
        };
        let index = dir.join(INDEX);
        match fs::read(&index) {
            Ok(text) => {
                for (i, l) in text.split(|&b| b == b'\n').enumerate() {
                    if l.is_empty() {
                        continue;
                    }
                    match serde_json::from_slice::<IndexLine>(l) {
                        Ok(line) => store.apply(line, Some(i + 1)),
                        Err(e) => store.index_problems.push(Problem::new(
                            Location::Line { file: INDEX.into(), line: i + 1 },
                            format!("unreadable index line: {e}"),
                        )),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if evidence_files(dir)?.is_empty() && !dir.join(CUSTODY).exists() {
                    return Err(Error::NotAStore { path: dir.to_owned() });
                }
                store.rebuild(write_index)?;
                if !write_index {
                    // Rebuilt in memory, the index says only what the files
                    // say: headers changed with the index deleted would pass.
                    store.index_problems.push(Problem::new(
                        Location::Path(index.clone()),
                        "missing: the records were read from the evidence files, so what was indexed when they were stored cannot be compared with them",
                    ));
                }
            }
            Err(e) => return Err(Error::io(index, e)),
        }
        Ok(store)
    }

    /// The evidence directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sets the size at which a new evidence file is started (tests use
    /// small values).
    pub fn set_rollover(&mut self, bytes: u64) {
        self.rollover = bytes.max(1);
    }

    /// Recreates `index.jsonl` from the WARC files. Records that cannot be
    /// read are left out and remembered as problems for `verify`.
    pub fn rebuild_index(&mut self) -> Result<(), Error> {
        self.rebuild(true)
    }

    /// Rebuilds the in-memory index from the WARC files, writing
    /// `index.jsonl` when `write`.
    fn rebuild(&mut self, write: bool) -> Result<(), Error> {
        self.lines.clear();
        self.records.clear();
        self.by_sha.clear();
        self.index_problems.clear();
        let mut text = String::new();
        for name in evidence_files(&self.dir)? {
            for item in read_warc(&self.dir.join(&name)) {
                let line = match item {
                    // The file is all there is to go by: its members' digests
                    // are taken as they are now.
                    Ok(rec) => index_line(&name, &rec).map(|l| with_member_digest(&self.dir, l)).map_err(|what| {
                        Problem::new(
                            Location::Record {
                                file: name.clone(),
                                offset: rec.offset,
                                sha256: None,
                                record_id: Some(rec.record_id.clone()),
                            },
                            what,
                        )
                    }),
                    Err(e) => Err(Problem::new(
                        Location::Record { file: name.clone(), offset: e.offset, sha256: None, record_id: None },
                        e.kind.to_string(),
                    )),
                };
                match line {
                    Ok(l) => {
                        text.push_str(&serde_json::to_string(&l).unwrap_or_default());
                        text.push('\n');
                        self.apply(l, None);
                    }
                    Err(p) => self.index_problems.push(p),
                }
            }
        }
        if !write {
            return Ok(());
        }
        let tmp = self.dir.join("index.jsonl.tmp");
        fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        fs::rename(&tmp, self.dir.join(INDEX)).map_err(|e| Error::io(self.dir.join(INDEX), e))?;
        Ok(())
    }

    /// Adds one index line to the in-memory state.
    fn apply(&mut self, line: IndexLine, index_line_no: Option<usize>) {
        let problem = |what: String| {
            let loc = match index_line_no {
                Some(n) => Location::Line { file: INDEX.into(), line: n },
                None => Location::Record {
                    file: line.file.clone(),
                    offset: line.offset,
                    sha256: line.sha256,
                    record_id: Some(line.record_id.clone()),
                },
            };
            Problem::new(loc, what)
        };
        match (line.kind, line.sha256) {
            (Kind::Warcinfo | Kind::Request, _) => {}
            (Kind::Record, Some(sha)) => {
                if self.by_sha.contains_key(&sha) {
                    self.index_problems.push(problem(format!("second record for sha256 {sha}")));
                } else {
                    self.by_sha.insert(sha, self.records.len());
                    self.records.push(RecordInfo {
                        sha256: sha,
                        record_id: line.record_id.clone(),
                        warc_type: line.warc_type.clone().unwrap_or_default(),
                        url: line.url.clone(),
                        urls: line.url.iter().cloned().collect(),
                        sources: line.source.iter().cloned().collect(),
                        captured_at: line
                            .captured_at
                            .as_deref()
                            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                            .map(|t| t.with_timezone(&Utc)),
                        captured_at_is_file_time: line.captured_at_is_file_time,
                        content_type: line.content_type.clone(),
                        origin: line.origin.clone().unwrap_or(Origin::File),
                        stored_at_file: line.file.clone(),
                        offset: line.offset,
                        length: line.length,
                        payload_length: line.payload_length.unwrap_or(0),
                        truncated: line.truncated.clone(),
                    });
                }
            }
            (Kind::Alias, Some(sha)) => match self.by_sha.get(&sha).and_then(|&i| self.records.get_mut(i)) {
                Some(r) => {
                    if let Some(s) = &line.source {
                        if !r.sources.contains(s) {
                            r.sources.push(s.clone());
                        }
                    }
                    if let Some(u) = &line.url {
                        if !r.urls.contains(u) {
                            r.urls.push(u.clone());
                        }
                        if r.url.is_none() {
                            r.url = Some(u.clone());
                        }
                    }
                }
                None => self.index_problems.push(problem(format!("alias for unknown sha256 {sha}"))),
            },
            (_, None) => self.index_problems.push(problem("index line without sha256".into())),
        }
        if let Some(n) = index_line_no {
            self.index_line_nos.insert((line.file.clone(), line.offset), n);
        }
        self.lines.push(line);
    }

    /// Stores one captured payload; see [`CaptureMeta`]. Bytes already
    /// stored are not stored again: `new` is false and only a source or URL
    /// not seen before is recorded.
    pub fn add(&mut self, payload: &[u8], meta: &CaptureMeta) -> Result<Added, Error> {
        let before = self.lines.len();
        let added = self.add_unnoted(payload, meta)?;
        Ok(self.noting_members(added, before))
    }

    /// [`EvidenceStore::add`] without [`Added::members`].
    fn add_unnoted(&mut self, payload: &[u8], meta: &CaptureMeta) -> Result<Added, Error> {
        let sha = Sha256::of(payload);
        let date = meta.captured_at.unwrap_or_else(Utc::now);
        if self.by_sha.contains_key(&sha) {
            return self.add_known(sha, date, meta);
        }
        let prepared = Self::prepare_new(payload, sha, date, meta)?;
        self.append_prepared(prepared)
    }

    /// What [`EvidenceStore::add`] computes before touching the store (the
    /// payload's digest, the record, its gzip member read back), done on any
    /// thread: an import of several large files prepares them on several.
    /// Hand the result to [`EvidenceStore::add_prepared`] in input order.
    pub fn prepare(payload: &[u8], meta: &CaptureMeta) -> Result<Prepared, Error> {
        let sha = Sha256::of(payload);
        let date = meta.captured_at.unwrap_or_else(Utc::now);
        Ok(Prepared { date, record: Self::prepare_new(payload, sha, date, meta)? })
    }

    /// Stores a [`Prepared`] payload as [`EvidenceStore::add`] stores it:
    /// bytes stored already (before, or earlier in the same batch) are not
    /// stored again. `meta` must be what it was prepared with.
    pub fn add_prepared(&mut self, prepared: Prepared, meta: &CaptureMeta) -> Result<Added, Error> {
        let before = self.lines.len();
        let added = if self.by_sha.contains_key(&prepared.record.sha) {
            self.add_known(prepared.record.sha, prepared.date, meta)?
        } else {
            self.append_prepared(prepared.record)?
        };
        Ok(self.noting_members(added, before))
    }

    /// `added` with the member digests of the records written since the
    /// index had `before` lines (a new file's warcinfo record is no
    /// capture's).
    fn noting_members(&self, mut added: Added, before: usize) -> Added {
        let written = self.lines.get(before..).unwrap_or_default();
        added.members = written.iter().filter(|l| l.kind != Kind::Warcinfo).filter_map(|l| l.member_sha256).collect();
        added
    }

    /// A payload already stored: an alias record when `meta` names a new
    /// source or URL, else nothing.
    fn add_known(&mut self, sha: Sha256, date: DateTime<Utc>, meta: &CaptureMeta) -> Result<Added, Error> {
        let record_id = format!("<urn:sha256:{}>", sha.to_hex());
        let url = meta.url.as_deref().map(uri_safe);
        if let Some(&i) = self.by_sha.get(&sha) {
            let known = self.records.get(i).map(|r| {
                r.sources.contains(&meta.source) && url.as_ref().is_none_or(|u| r.urls.contains(u))
            });
            if known != Some(true) {
                let mut detail = json!({
                    "sha256": sha.to_hex(),
                    "source": meta.source,
                    "origin": serde_json::to_value(&meta.origin).unwrap_or(Value::Null),
                });
                if let Some(u) = &url {
                    detail["url"] = Value::from(u.as_str());
                }
                if let Some(t) = &meta.captured_at {
                    detail["captured_at"] = Value::from(rfc3339(t));
                    if meta.captured_at_is_file_time {
                        detail["captured_at_is_file_time"] = Value::from(true);
                    }
                }
                if let Some(c) = &meta.content_type {
                    detail["content_type"] = Value::from(one_line(c));
                }
                let block = canonical_json(&detail).into_bytes();
                let mut headers = vec![
                    ("WARC-Type", "metadata".to_owned()),
                    ("WARC-Record-ID", format!("<urn:dragnet:alias:{}>", Sha256::of(&block).to_hex())),
                    ("WARC-Date", rfc3339(&date)),
                    ("WARC-Refers-To", record_id.clone()),
                ];
                if let Some(u) = &url {
                    headers.push(("WARC-Target-URI", u.clone()));
                }
                headers.push(("Content-Type", "application/json".into()));
                headers.push(("WARC-Block-Digest", base32_digest(&Sha256::of(&block))));
                let alias_id = headers[1].1.clone();
                self.append_record(&headers, &block)?;
                return Ok(Added { sha256: sha, new: false, record_id, written: Some(alias_id), members: Vec::new() });
            }
            return Ok(Added { sha256: sha, new: false, record_id, written: None, members: Vec::new() });
        }
        Err(Error::NotFound(sha))
    }

    /// A new payload's record as its gzip member and the record read back
    /// from it (offset 0: set when appended).
    fn prepare_new(payload: &[u8], sha: Sha256, date: DateTime<Utc>, meta: &CaptureMeta) -> Result<PreparedRecord, Error> {
        let record_id = format!("<urn:sha256:{}>", sha.to_hex());
        let url = meta.url.as_deref().map(uri_safe);
        let (warc_type, head, content_type) = match &meta.http_head {
            None => ("resource", Vec::new(), meta.content_type.clone()),
            Some(raw) => {
                let invalid = |what: String| Error::InvalidMeta { source_name: meta.source.clone(), what };
                let parsed = http::parse_head(raw).map_err(|e| invalid(e.to_string()))?;
                if parsed.head_len != raw.len() {
                    return Err(invalid("http_head holds bytes after the empty line ending the head".into()));
                }
                let ct = meta.content_type.clone().or_else(|| parsed.content_type().map(str::to_owned));
                ("response", neutralize_transfer_encoding(raw), ct)
            }
        };
        // The block is the HTTP head (if any) and the payload. Without a head
        // it is the payload, whose digest is known.
        let block_is_payload = head.is_empty();
        let mut headers = vec![
            ("WARC-Type", warc_type.to_owned()),
            ("WARC-Record-ID", record_id.clone()),
            ("WARC-Date", rfc3339(&date)),
        ];
        if let Some(u) = &url {
            headers.push(("WARC-Target-URI", u.clone()));
        }
        let warc_ct = if warc_type == "response" {
            "application/http;msgtype=response".to_owned()
        } else {
            content_type.as_deref().map(one_line).unwrap_or_else(|| "application/octet-stream".into())
        };
        headers.push(("Content-Type", warc_ct));
        if let Some(ct) = &content_type {
            headers.push(("WARC-Identified-Payload-Type", one_line(ct)));
        }
        headers.push(("WARC-Block-Digest", base32_digest(&if block_is_payload { sha } else { Sha256::of(&[&head[..], payload].concat()) })));
        headers.push(("WARC-Payload-Digest", base32_digest(&sha)));
        headers.push(("X-Dragnet-SHA256", sha.to_hex()));
        headers.push(("X-Dragnet-Source", json_str(&meta.source)));
        headers.push((
            "X-Dragnet-Origin",
            canonical_json(&serde_json::to_value(&meta.origin).unwrap_or(Value::Null)),
        ));
        if meta.captured_at.is_none() {
            headers.push(("X-Dragnet-Capture-Time", "unknown".into()));
        } else if meta.captured_at_is_file_time {
            headers.push(("X-Dragnet-Capture-Time", "file-modified".into()));
        }
        if let Some(why) = &meta.truncated {
            headers.push(("WARC-Truncated", one_line(why)));
        }
        let label = Path::new(&meta.source);
        let (member, rec) = member_of(&headers, &[&head, payload], label)?;
        // The index line now (its file and offset are set when appended). The
        // payload follows the HTTP head, which ends where `head` does (checked
        // above).
        let mut line = index_line_with("", &rec, |_| Ok(payload.len() as u64))
            .map_err(|what| Error::io(label, std::io::Error::other(what)))?;
        // Hashed here, on the preparing thread, not by the one appending.
        line.member_sha256 = Some(Sha256::of(&member));
        Ok(PreparedRecord { sha, record_id, member, line })
    }

    /// Appends a prepared new record.
    fn append_prepared(&mut self, p: PreparedRecord) -> Result<Added, Error> {
        let (name, size) = self.file_for_next_record()?;
        self.append_member(&name, size, &p.member, p.line)?;
        Ok(Added { sha256: p.sha, new: true, record_id: p.record_id.clone(), written: Some(p.record_id), members: Vec::new() })
    }

    /// Stores a crawled response as [`add`](Self::add) does, then the
    /// request that fetched it as a WARC `request` record
    /// (`WARC-Concurrent-To` the record just written) carrying the timing
    /// and the circuit. The response goes first: a writer killed between
    /// the two leaves a response without its request record, never the
    /// reverse, and the crawl's custody entry holds the same timing and
    /// circuit.
    pub fn add_exchange(&mut self, payload: &[u8], meta: &CaptureMeta, request: &RequestMeta) -> Result<Added, Error> {
        let before = self.lines.len();
        let added = self.add_unnoted(payload, meta)?;
        let concurrent = added.written.clone().unwrap_or_else(|| added.record_id.clone());
        let invalid = |what: String| Error::InvalidMeta { source_name: meta.source.clone(), what };
        if !request.head.ends_with(b"\r\n\r\n") || !request.head.starts_with(b"GET ") {
            return Err(invalid("request head must be a GET request line and headers ending with an empty line".into()));
        }
        let mut id_input = concurrent.clone().into_bytes();
        id_input.extend_from_slice(rfc3339(&request.started_at).as_bytes());
        id_input.extend_from_slice(&request.head);
        let mut headers = vec![
            ("WARC-Type", "request".to_owned()),
            ("WARC-Record-ID", format!("<urn:dragnet:request:{}>", Sha256::of(&id_input).to_hex())),
            ("WARC-Date", rfc3339(&request.started_at)),
            ("WARC-Concurrent-To", concurrent),
        ];
        if let Some(u) = meta.url.as_deref().map(uri_safe) {
            headers.push(("WARC-Target-URI", u));
        }
        headers.push(("Content-Type", "application/http;msgtype=request".into()));
        headers.push(("WARC-Block-Digest", base32_digest(&Sha256::of(&request.head))));
        headers.push(("X-Dragnet-Response-SHA256", added.sha256.to_hex()));
        headers.push(("X-Dragnet-Source", json_str(&meta.source)));
        headers.push(("X-Dragnet-Elapsed-Ms", request.elapsed_ms.to_string()));
        headers.push(("X-Dragnet-Circuit", one_line(&request.circuit)));
        self.append_record(&headers, &request.head)?;
        Ok(self.noting_members(added, before))
    }

    /// Every stored `request` record, in the order written.
    pub fn requests(&self) -> Vec<RequestInfo> {
        self.lines
            .iter()
            .filter(|l| l.kind == Kind::Request)
            .filter_map(|l| {
                Some(RequestInfo {
                    record_id: l.record_id.clone(),
                    concurrent_to: l.concurrent_to.clone()?,
                    response_sha256: l.sha256?,
                    source: l.source.clone(),
                    url: l.url.clone(),
                    started_at: l.captured_at.clone(),
                })
            })
            .collect()
    }

    /// Appends one record as a gzip member to the current evidence file (and
    /// its line to the index), starting a new file when needed.
    fn append_record(&mut self, headers: &[(&str, String)], block: &[u8]) -> Result<(), Error> {
        let (name, size) = self.file_for_next_record()?;
        self.write_member(&name, size, headers, block)
    }

    /// The evidence file the next record goes to and its size, starting a
    /// new file (with its warcinfo record) when the current one is full.
    fn file_for_next_record(&mut self) -> Result<(String, u64), Error> {
        let (name, size) = self.current_file()?;
        // A file that holds bytes after its last indexed record (bytes
        // added by hand, or a kill's cut no recovery set aside) is not
        // appended to: a record after them would bury them mid-file, where
        // they read as damage to that record. They stay last, as found.
        // (Records are appended in order: the index's last line is the
        // newest file's last record, looked up at each record written.)
        let indexed_end = match self.lines.last() {
            Some(l) if l.file == name => l.offset + l.length,
            _ => self.indexed_end(&name),
        };
        let altered = size != indexed_end;
        if size >= self.rollover || size == 0 || altered {
            let name = if size == 0 { name } else { file_name(file_number(&name).unwrap_or(0) + 1) };
            self.write_warcinfo(&name)?;
            let size = fs::metadata(self.dir.join(&name)).map_err(|e| Error::io(self.dir.join(&name), e))?.len();
            Ok((name, size))
        } else {
            Ok((name, size))
        }
    }

    fn write_warcinfo(&mut self, name: &str) -> Result<(), Error> {
        let block = format!(
            "software: dragnet-evidence/{VERSION}\r\nformat: WARC File Format 1.1\r\nconformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n"
        );
        let date = rfc3339(&Utc::now());
        let id = Sha256::of(format!("{name}\n{date}\n{block}").as_bytes());
        let headers = [
            ("WARC-Type", "warcinfo".to_owned()),
            ("WARC-Record-ID", format!("<urn:dragnet:warcinfo:{}>", id.to_hex())),
            ("WARC-Date", date),
            ("WARC-Filename", name.to_owned()),
            ("Content-Type", "application/warc-fields".to_owned()),
            ("WARC-Block-Digest", base32_digest(&Sha256::of(block.as_bytes()))),
        ];
        self.write_member(name, 0, &headers, block.as_bytes())
    }

    fn write_member(&mut self, name: &str, offset: u64, headers: &[(&str, String)], block: &[u8]) -> Result<(), Error> {
        let path = self.dir.join(name);
        let (member, mut rec) = member_of(headers, &[block], &path)?;
        // These records are small, and an alias's index line reads its block:
        // the block as written.
        rec.block = block.to_vec();
        let line = index_line(name, &rec).map_err(|what| Error::io(&path, std::io::Error::other(what)))?;
        self.append_member(name, offset, &member, line)
    }

    /// Appends a gzip member at `offset` of evidence file `name`, and its
    /// index line (derived from the record read back from the member).
    fn append_member(&mut self, name: &str, offset: u64, member: &[u8], mut line: IndexLine) -> Result<(), Error> {
        let path = self.dir.join(name);
        (line.file, line.offset) = (name.to_owned(), offset);
        line.member_sha256.get_or_insert_with(|| Sha256::of(member));
        let mut f = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| Error::io(&path, e))?;
        f.write_all(member).map_err(|e| Error::io(&path, e))?;
        let index = self.dir.join(INDEX);
        let mut text = serde_json::to_string(&line).map_err(|e| Error::io(&index, std::io::Error::other(e)))?;
        text.push('\n');
        let mut f = OpenOptions::new().create(true).append(true).open(&index).map_err(|e| Error::io(&index, e))?;
        f.write_all(text.as_bytes()).map_err(|e| Error::io(&index, e))?;
        self.apply(line, None);
        Ok(())
    }

    /// The newest evidence file and its size on disk (which may exceed the
    /// index's view after a crash between the two writes; we append after
    /// the real end, and `verify` reports the unindexed bytes).
    fn current_file(&self) -> Result<(String, u64), Error> {
        let files = evidence_files(&self.dir)?;
        match files.last() {
            None => Ok((file_name(1), 0)),
            Some(n) => {
                let p = self.dir.join(n);
                let size = fs::metadata(&p).map_err(|e| Error::io(&p, e))?.len();
                Ok((n.clone(), size))
            }
        }
    }

    /// Makes everything written so far durable (fsync of the evidence files
    /// and the index).
    pub fn sync(&self) -> Result<(), Error> {
        let mut paths: Vec<PathBuf> = evidence_files(&self.dir)?.iter().map(|n| self.dir.join(n)).collect();
        paths.push(self.dir.join(INDEX));
        for p in paths {
            let f = OpenOptions::new().append(true).open(&p).map_err(|e| Error::io(&p, e))?;
            f.sync_all().map_err(|e| Error::io(&p, e))?;
        }
        Ok(())
    }

    /// Checks the one record holding `sha` as `verify` checks every record:
    /// its digests, and that it is what its index line says (capture time,
    /// URL, source, type...), which the index, read by `explain`, shows.
    /// Returns what is wrong; empty when intact.
    pub fn check_one(&self, sha: &Sha256) -> Vec<String> {
        let Some(line) = self.lines.iter().find(|l| l.kind == Kind::Record && l.sha256 == Some(*sha)) else {
            return vec![format!("no evidence record with sha256 {sha}")];
        };
        let rec = match self.read_at(&line.file, line.offset, line.length) {
            Ok(r) => r,
            Err(e) => return vec![e.to_string()],
        };
        let mut problems = check_record(&rec);
        // Every member of the capture: the payload record's, its aliases'
        // and the crawl's request records' (a review found only the first
        // checked), each held to its index line.
        let lines: Vec<&IndexLine> = self.lines.iter().filter(|l| l.kind != Kind::Warcinfo && l.sha256 == Some(*sha)).collect();
        let mut files: BTreeMap<&str, Option<fs::File>> = BTreeMap::new();
        for l in &lines {
            let file = files.entry(l.file.as_str()).or_insert_with(|| fs::File::open(self.dir.join(&l.file)).ok());
            let now = l.member_sha256.and_then(|_| member_now(file.as_mut(), l.offset, l.length));
            if let Some(what) = member_changed(now.as_ref(), l.member_sha256) {
                problems.push(if std::ptr::eq(*l, line) { what } else { format!("{} at {} offset {}: {what}", kind_name(l.kind), l.file, l.offset) });
            }
        }
        // A member its acquire entry names is described by an index line (a
        // writer indexes each member before logging it): one that is not
        // was changed along with its line, as `verify` finds by the files.
        let captures: HashSet<Capture> = lines.iter().map(|l| (*sha, l.source.clone())).collect();
        let indexed: HashSet<Sha256> = self.lines.iter().filter_map(|l| l.member_sha256).collect();
        for m in self.custody.check().members.iter().filter(|m| captures.contains(&m.capture) && !indexed.contains(&m.member)) {
            problems.push(format!(
                "{CUSTODY} line {}: its acquire entry names the gzip member {}, which no index line describes: a record's bytes were changed (with its index line) after it was logged",
                m.line, m.member
            ));
        }
        match index_line(&line.file, &rec) {
            Ok(mut got) => {
                got.length = line.length;
                got.member_sha256 = line.member_sha256;
                if got != *line {
                    problems.push(diff_lines(line, &got));
                }
            }
            Err(what) => problems.push(what),
        }
        // `check_record` hashed the payload against the record's own digest
        // headers, and the index line compared holds that digest: reading
        // the record again through `get` would check nothing more.
        problems
    }

    /// Reads the stored record for `sha` and returns its payload, after
    /// checking that it still hashes to `sha`.
    pub fn get(&self, sha: &Sha256) -> Result<Vec<u8>, Error> {
        let info = self.record(sha).ok_or(Error::NotFound(*sha))?;
        let rec = self.read_at(&info.stored_at_file, info.offset, info.length)?;
        let corrupt = |what: String| Error::Corrupt {
            sha256: *sha,
            file: info.stored_at_file.clone(),
            offset: info.offset,
            what,
        };
        let payload = payload_of(&rec).map_err(corrupt)?;
        let got = Sha256::of(payload);
        if got != *sha {
            return Err(corrupt(format!("payload hashes to {got}")));
        }
        // The payload is the block's tail (all of it for a file): the block is
        // handed over less its HTTP head, not copied (a dataset file is
        // hundreds of megabytes).
        let head = rec.block.len() - payload.len();
        let mut block = rec.block;
        block.drain(..head);
        Ok(block)
    }

    fn read_at(&self, file: &str, offset: u64, length: u64) -> Result<WarcRecord, Error> {
        let path = self.dir.join(file);
        let mut f = fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        f.seek(SeekFrom::Start(offset)).map_err(|e| Error::io(&path, e))?;
        let mut buf = Vec::new();
        f.take(length).read_to_end(&mut buf).map_err(|e| Error::io(&path, e))?;
        let mut rec = WarcReader::new(file, Cursor::new(buf))
            .next()
            .ok_or_else(|| crate::WarcError {
                file: file.to_owned(),
                offset,
                kind: WarcErrorKind::Truncated("no record at this offset".into()),
            })?
            .map_err(|mut e| {
                e.offset += offset;
                e
            })?;
        rec.offset = offset;
        Ok(rec)
    }

    /// The record holding payload `sha`, if stored.
    pub fn record(&self, sha: &Sha256) -> Option<RecordInfo> {
        self.by_sha.get(sha).and_then(|&i| self.records.get(i)).cloned()
    }

    /// The digests of the stored payloads that start with the hex digits
    /// `prefix` (either case), in digest order: reports cite a record by
    /// the first 16 digits of its digest. Empty when `prefix` is empty, not
    /// hex, or longer than a digest; a whole digest names at most one.
    pub fn digests_with_prefix(&self, prefix: &str) -> Vec<Sha256> {
        if prefix.is_empty() || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Vec::new();
        }
        let padded = |digit: char| {
            let mut hex = prefix.to_ascii_lowercase();
            hex.extend(std::iter::repeat_n(digit, 64 - prefix.len()));
            hex.parse::<Sha256>().ok()
        };
        let (Some(low), Some(high)) = (padded('0'), padded('f')) else { return Vec::new() };
        self.by_sha.range(low..=high).map(|(sha, _)| *sha).collect()
    }

    /// All payload records in append order.
    pub fn records(&self) -> Vec<RecordInfo> {
        self.records.clone()
    }

    /// Number of payload records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when no payload is stored.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The custody log.
    pub fn custody(&self) -> &CustodyLog {
        &self.custody
    }

    /// The custody log, for appending.
    pub fn custody_mut(&mut self) -> &mut CustodyLog {
        &mut self.custody
    }

    /// Makes the evidence durable ([`EvidenceStore::sync`]) and then appends
    /// a custody entry, so that an entry never refers to evidence that a
    /// crash could still lose.
    pub fn log(&mut self, action: &str, detail: Value, operator: &str, tool_version: &str) -> Result<Sha256, Error> {
        self.sync()?;
        match self.custody.append(action, detail.clone(), operator, tool_version) {
            // A killed writer cut the log's last line: every command that
            // logs sets it aside first (a command that logged onto it made
            // the log unreadable for good).
            Err(Error::CustodyTorn { .. }) => {
                self.recover(operator, tool_version)?;
                self.custody.append(action, detail, operator, tool_version)
            }
            other => other,
        }
    }

    /// Re-reads every record of every evidence file: checks each payload's
    /// SHA-256 against `X-Dragnet-SHA256`, `WARC-Payload-Digest` and the
    /// record id, the block digest, the index entry at that offset, and that
    /// an [`ACQUIRE`](crate::ACQUIRE) custody entry names the
    /// record's digest and source; then checks that every index entry was
    /// found and the custody log chain.
    ///
    /// The chain alone cannot show a log cut after its last good line, nor
    /// a removed record with its entry; naming every record from the log
    /// catches the first, and the case's check of every acquire entry
    /// against the store the second.
    pub fn verify(&self) -> VerifyReport {
        let mut problems = self.index_problems.clone();
        let log = self.custody.check();
        let mut checked = 0usize;
        let mut expected: BTreeMap<(String, u64), &IndexLine> = BTreeMap::new();
        let mut by_id: BTreeMap<(&str, &str), &IndexLine> = BTreeMap::new();
        for l in &self.lines {
            expected.insert((l.file.clone(), l.offset), l);
            by_id.insert((l.file.as_str(), l.record_id.as_str()), l);
        }
        let mut seen: BTreeSet<(String, u64)> = BTreeSet::new();
        let (mut stored, mut requested) = (HashSet::new(), HashSet::new());
        // The members read, and the captures one of whose members is not
        // what its index line says (named there, not again by the log).
        let (mut members_found, mut members_changed): (BTreeMap<_, Vec<(Sha256, Location)>>, HashSet<_>) = (BTreeMap::new(), HashSet::new());
        // Records the index has no line for, reported at the end: one
        // problem when the index holds no line at all.
        let mut unindexed: Vec<(Location, String)> = Vec::new();
        let index_path = Location::Path(self.dir.join(INDEX));
        let files = match evidence_files(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                problems.push(Problem::new(Location::Path(self.dir.clone()), e.to_string()));
                Vec::new()
            }
        };
        let indexed_files: BTreeSet<&str> = self.lines.iter().map(|l| l.file.as_str()).collect();
        for f in &indexed_files {
            if !files.iter().any(|x| x == f) {
                problems.push(Problem::new(Location::Path(self.dir.join(f)), "evidence file listed in the index is missing"));
                // Its members are not reported again, one by one.
                let gone = self.lines.iter().filter(|l| l.file == *f);
                members_changed.extend(gone.filter_map(|l| l.sha256.map(|sha| (sha, l.source.clone()))));
            }
        }
        for name in &files {
            // Read again for each record's member digest.
            let mut member_file = fs::File::open(self.dir.join(name)).ok();
            // Where the last record read whole ended: the store writes its
            // members back to back, so bytes between or after them (zeros
            // and line ends, which readers skip as padding) were added.
            let mut end: Option<u64> = Some(0);
            let mut items = read_warc(&self.dir.join(name)).peekable();
            while let Some(item) = items.next() {
                // A record the reader gives whole before an error at its own
                // offset (its member's trailer cut or wrong) is that error's
                // record: reported once, by the error, not also as a record
                // whose length differs from its line.
                if let (Ok(rec), Some(Err(e))) = (&item, items.peek()) {
                    if e.offset == rec.offset {
                        continue;
                    }
                }
                checked += 1;
                let rec = match item {
                    Ok(r) => r,
                    Err(e) => {
                        end = None;
                        let exp = expected.get(&(name.clone(), e.offset));
                        if let Some(l) = exp {
                            // Damage reported here, at the record: not also
                            // as an acquire entry whose record (or member)
                            // is missing, nor as an indexed record not found.
                            account(l, &mut stored, &mut requested);
                            members_changed.extend(l.sha256.map(|sha| (sha, l.source.clone())));
                            seen.insert((name.clone(), e.offset));
                        }
                        problems.push(Problem::new(
                            Location::Record {
                                file: name.clone(),
                                offset: e.offset,
                                sha256: exp.and_then(|l| l.sha256),
                                record_id: exp.map(|l| l.record_id.clone()),
                            },
                            e.kind.to_string(),
                        ));
                        continue;
                    }
                };
                let exp = expected.get(&(name.clone(), rec.offset)).copied();
                let loc = Location::Record {
                    file: name.clone(),
                    offset: rec.offset,
                    sha256: exp
                        .and_then(|l| l.sha256)
                        .or_else(|| rec.header("X-Dragnet-SHA256").and_then(|s| s.parse().ok())),
                    record_id: Some(rec.record_id.clone()),
                };
                for what in check_record(&rec) {
                    problems.push(Problem::new(loc.clone(), what));
                }
                if let Some(gap) = end.filter(|&e| rec.offset > e).map(|e| rec.offset - e) {
                    problems.push(Problem::new(loc.clone(), format!("{gap} bytes of padding before this record, which the store never writes (added after it was written?)")));
                }
                end = (rec.length > 0).then(|| rec.offset + rec.length);
                // The member's bytes are checked against the digest its
                // line took when it was written; the rest of the line is
                // compared below.
                let derived = index_line(name, &rec).map(|mut line| {
                    let written = exp.and_then(|l| l.member_sha256);
                    // Hashed when a line or the log has a digest to hold it to.
                    let now = (written.is_some() || !log.members.is_empty()).then(|| member_now(member_file.as_mut(), rec.offset, rec.length)).flatten();
                    if let (Some(Ok(d)), Some(sha)) = (&now, line.sha256) {
                        members_found.entry((sha, line.source.clone())).or_insert_with(Vec::new).push((*d, loc.clone()));
                    }
                    if let Some(what) = member_changed(now.as_ref(), written) {
                        problems.push(Problem::new(loc.clone(), what));
                        members_changed.extend(line.sha256.map(|sha| (sha, line.source.clone())));
                    }
                    line.member_sha256 = written;
                    line
                });
                if let Ok(l) = &derived {
                    account(l, &mut stored, &mut requested);
                }
                // Judged by the file, the source of truth, indexed or not. A
                // log that is gone is named once below, not by each record.
                if let Some(what) = derived.as_ref().ok().filter(|_| log.absent.is_none()).and_then(|l| unlogged(l, &log.acquired)) {
                    problems.push(Problem::new(loc.clone(), what));
                }
                match (derived, exp) {
                    (Err(what), _) => problems.push(Problem::new(loc.clone(), what)),
                    (Ok(line), Some(exp)) => {
                        seen.insert((name.clone(), rec.offset));
                        if line != *exp {
                            // The file is the source of truth: a line that
                            // disagrees with it is the index's problem, named
                            // by its line (the record's own digests are
                            // checked above).
                            let at = match self.index_line_nos.get(&(name.clone(), rec.offset)) {
                                Some(&n) => Location::Line { file: INDEX.into(), line: n },
                                None => loc.clone(),
                            };
                            problems.push(Problem::new(at, format!("{} at {name} offset {}", diff_lines(exp, &line), rec.offset)));
                        }
                    }
                    (Ok(line), None) => match by_id.get(&(name.as_str(), rec.record_id.as_str())) {
                        Some(l) => {
                            // Found, moved: not also "not found" at its line's offset.
                            seen.insert((name.clone(), l.offset));
                            problems.push(Problem::new(
                                loc.clone(),
                                format!("record indexed at offset {} is now at offset {} (bytes before it changed)", l.offset, rec.offset),
                            ))
                        }
                        None => {
                            let sha = line.sha256.map(|s| format!(" sha256 {s}")).unwrap_or_default();
                            unindexed.push((
                                index_path.clone(),
                                format!("the record at {name} offset {}{sha} {} is not in the index (its line deleted or emptied?)", rec.offset, rec.record_id),
                            ));
                        }
                    },
                }
            }
            let path = self.dir.join(name);
            if let (Some(end), Ok(meta)) = (end, std::fs::metadata(&path)) {
                if meta.len() > end {
                    let what = format!("{} bytes of padding after the last record, which the store never writes (added after it was written?)", meta.len() - end);
                    problems.push(Problem::new(Location::Path(path), what));
                }
            }
        }
        for l in &self.lines {
            if !seen.contains(&(l.file.clone(), l.offset)) && files.contains(&l.file) {
                account(l, &mut stored, &mut requested);
                members_changed.extend(l.sha256.map(|sha| (sha, l.source.clone())));
                problems.push(Problem::new(
                    Location::Record {
                        file: l.file.clone(),
                        offset: l.offset,
                        sha256: l.sha256,
                        record_id: Some(l.record_id.clone()),
                    },
                    "indexed record not found intact at this offset",
                ));
            }
        }
        // A capture whose acquire entries name a member no file holds, while
        // a file holds a member of it that no entry names: that member was
        // changed along with its index line (which no chain covers). A
        // member merely gone is a record gone, which the case reports by
        // its entry. (A record a killed writer stored before logging is
        // named by no entry, and the store's own warcinfo members by none.)
        // Each capture's named members, with the line of the entry naming each.
        let mut logged: BTreeMap<&Capture, BTreeMap<Sha256, usize>> = BTreeMap::new();
        for m in &log.members {
            logged.entry(&m.capture).or_default().insert(m.member, m.line);
        }
        for (capture, named) in logged {
            let found = members_found.get(capture).map(Vec::as_slice).unwrap_or_default();
            let missing: Vec<String> = named.iter().filter(|(m, _)| !found.iter().any(|(d, _)| d == *m)).map(|(_, line)| line.to_string()).collect();
            if members_changed.contains(capture) || missing.is_empty() {
                continue;
            }
            let lines = format!("line{} {}", if missing.len() > 1 { "s" } else { "" }, missing.join(", "));
            for (d, at) in found.iter().filter(|(d, _)| !named.contains_key(d)) {
                problems.push(Problem::new(
                    at.clone(),
                    format!("its gzip member's bytes (SHA-256 {d}) are not those its acquire entry ({CUSTODY} {lines}) names: the record's bytes in the file were changed after it was logged, and its index line with them"),
                ));
            }
        }
        if self.lines.is_empty() && !unindexed.is_empty() {
            problems.push(Problem::new(
                index_path,
                format!("holds no line, though the evidence files hold {} records (emptied or replaced?)", unindexed.len()),
            ));
        } else {
            problems.extend(unindexed.into_iter().map(|(at, what)| Problem::new(at, what)));
        }
        // A store holding records has their acquire entries (a bare store
        // may have none yet: the case, which always logs its creation, says
        // that a log of a case is gone even then).
        if let (Some(how), true) = (log.absent, checked > 0) {
            let what = format!("{how}: the custody log is gone, though the evidence files hold {checked} records its entries named");
            problems.push(Problem::new(Location::Path(self.custody.path().to_owned()), what));
        }
        self.check_torn_pieces(&log.set_aside, &mut problems);
        problems.extend(self.stray_files());
        let log_entries_checked = log.checked;
        problems.extend(log.problems);
        // One damaged record can be reported by several checks; keep each
        // distinct finding once, in a stable order.
        let mut uniq = BTreeSet::new();
        problems.retain(|p| uniq.insert(p.to_string()));
        VerifyReport { records_checked: checked, log_entries_checked, problems, stored, requested }
    }
}

/// Adds what `line` names to the records a verify found (payload and alias
/// records) or the request records it found; see [`VerifyReport::stored`].
fn account(line: &IndexLine, stored: &mut HashSet<(Sha256, Option<String>)>, requested: &mut HashSet<(Sha256, Option<String>)>) {
    match (line.kind, line.sha256) {
        (Kind::Record | Kind::Alias, Some(sha)) => {
            stored.insert((sha, line.source.clone()));
        }
        (Kind::Request, Some(sha)) => {
            requested.insert((sha, line.source.clone()));
        }
        _ => {}
    }
}

/// Why no custody entry covers a record of an evidence file, if none does.
/// The case logs an acquire entry with the capture's digest and source for
/// every capture it stores (`add`, `add_prepared`, `add_exchange`), so each
/// payload record, alias and request record it writes is named by one; a
/// crawl killed between storing and logging logs it when it resumes.
fn unlogged(line: &IndexLine, acquired: &HashSet<(Sha256, Option<String>)>) -> Option<String> {
    let what = match line.kind {
        Kind::Warcinfo => return None,
        Kind::Record => "record",
        Kind::Alias => "alias record",
        Kind::Request => "request record",
    };
    let sha = line.sha256?;
    if acquired.contains(&(sha, line.source.clone())) {
        return None;
    }
    let source = match &line.source {
        Some(s) => format!("source {s:?}"),
        None => "no source".to_owned(),
    };
    Some(format!(
        "no custody entry records this {what}'s acquisition (no {:?} entry names sha256 {sha} and {source}): custody log cut, entries removed, or its writer killed before logging it",
        crate::ACQUIRE,
    ))
}

/// Checks digests inside one record of an evidence file.
fn check_record(rec: &WarcRecord) -> Vec<String> {
    let mut out = Vec::new();
    let block_sha = Sha256::of(&rec.block);
    match rec.header("WARC-Block-Digest").map(|v| (v, parse_digest(v))) {
        Some((_, Some(d))) if d == block_sha => {}
        Some((v, Some(_))) => out.push(format!("WARC-Block-Digest {v} does not match the block (sha256 {block_sha})")),
        Some((v, None)) => out.push(format!("unreadable WARC-Block-Digest {v:?}")),
        None => out.push("missing WARC-Block-Digest".into()),
    }
    if !matches!(rec.warc_type.as_str(), "resource" | "response") {
        return out;
    }
    let payload = match payload_of(rec) {
        Ok(p) => p,
        Err(e) => {
            out.push(format!("cannot find the payload: {e}"));
            return out;
        }
    };
    let sha = Sha256::of(payload);
    match rec.header("X-Dragnet-SHA256").map(|v| (v, v.parse::<Sha256>().ok())) {
        Some((_, Some(d))) if d == sha => {}
        Some((v, _)) => out.push(format!("payload hashes to {sha}, X-Dragnet-SHA256 says {v}")),
        None => out.push("missing X-Dragnet-SHA256".into()),
    }
    match rec.header("WARC-Payload-Digest").and_then(parse_digest) {
        Some(d) if d == sha => {}
        _ => out.push(format!("WARC-Payload-Digest does not match the payload (sha256 {sha})")),
    }
    if rec.record_id != format!("<urn:sha256:{}>", sha.to_hex()) {
        out.push(format!("record id {} does not name the payload digest {sha}", rec.record_id));
    }
    out
}

fn diff_lines(exp: &IndexLine, got: &IndexLine) -> String {
    let a = serde_json::to_value(exp).unwrap_or(Value::Null);
    let b = serde_json::to_value(got).unwrap_or(Value::Null);
    let mut fields = Vec::new();
    if let (Value::Object(a), Value::Object(b)) = (&a, &b) {
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            if a.get(k) != b.get(k) {
                fields.push(format!(
                    "{k}: index {} file {}",
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null)
                ));
            }
        }
    }
    format!("record differs from its index entry ({})", fields.join("; "))
}

/// Renames `Transfer-Encoding` header lines (the stored body is already
/// decoded), keeping every other byte of the head.
fn neutralize_transfer_encoding(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 32);
    for line in head.split_inclusive(|&b| b == b'\n') {
        let is_te = line
            .get(..18)
            .map(|p| p.eq_ignore_ascii_case(b"transfer-encoding:"))
            .unwrap_or(false);
        if is_te {
            out.extend_from_slice(b"X-Dragnet-Original-");
        }
        out.extend_from_slice(line);
    }
    out
}

impl EvidenceStore {
    /// Files in the evidence directory that are none of the store's own: a
    /// copy of an evidence file or notes left there would otherwise sit
    /// beside the evidence unexamined. (A `.tmp` of the index or the custody
    /// log is a rewrite cut short, and harmless; `.lock` is the writer lock.)
    fn stray_files(&self) -> Vec<Problem> {
        let Ok(rd) = fs::read_dir(&self.dir) else { return Vec::new() };
        let mut out: Vec<Problem> = rd
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let known = file_number(&name).is_some()
                    || [INDEX, CUSTODY, "index.jsonl.tmp", "custody.jsonl.tmp", recover::WRITER_LOCK].contains(&name.as_str());
                let torn = name == recover::TORN_DIR && e.path().is_dir();
                !known && !torn
            })
            .map(|e| Problem::new(Location::Path(e.path()), "not a file of the evidence store (evidence-NNNNN.warc.gz, index.jsonl, custody.jsonl, torn/)"))
            .collect();
        out.sort_by_key(ToString::to_string);
        out
    }
}

/// Evidence file names in `dir`, in order.
fn evidence_files(dir: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if file_number(&name).is_some() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_header_round_trips_base32_and_hex() {
        let d = Sha256::of(b"x");
        assert_eq!(parse_digest(&base32_digest(&d)), Some(d));
        assert_eq!(parse_digest(&format!("sha256:{}", d.to_hex())), Some(d));
        assert_eq!(parse_digest("sha1:AAAA"), None);
    }

    #[test]
    fn uri_safe_escapes_spaces_and_keeps_utf8() {
        assert_eq!(uri_safe("http://a.onion/x y\n"), "http://a.onion/x%20y%0A");
        assert_eq!(uri_safe("http://a/ü"), "http://a/ü");
    }

    #[test]
    fn transfer_encoding_is_renamed_only() {
        let h = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n";
        assert_eq!(
            neutralize_transfer_encoding(h),
            b"HTTP/1.1 200 OK\r\nX-Dragnet-Original-Transfer-Encoding: chunked\r\nX: y\r\n\r\n".to_vec()
        );
    }
}
