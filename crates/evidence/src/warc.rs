//! WARC (ISO 28500, versions 1.0 and 1.1) reading and writing.
//!
//! The reader is hand-written because the format is simple and because we
//! need what the `warc` crate does not give: byte offsets of gzip members,
//! recovery after damage, and hard limits so hostile files cannot exhaust
//! memory through headers. It accepts
//!
//! * uncompressed WARC files,
//! * gzip-per-record files (`.warc.gz` as written by wget, warcio and us),
//! * whole-file gzip (`gzip file.warc`), and any mix of the two
//!
//! detected from the bytes, not the file name. After a corrupt gzip member
//! it scans for the next gzip header; after a malformed record header in an
//! uncompressed file, or a `Content-Length` that does not end at a record
//! boundary (the block runs into the next record or past the end, or is not
//! followed by its trailer), it reports that record and scans for the next
//! `WARC/` line; at a truncation with no record after it, it reports the
//! error and stops. Bytes never cause a panic (fuzzed by
//! `fuzz/fuzz_targets/warc_reader.rs`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use flate2::bufread::GzDecoder;

use crate::error::{WarcError, WarcErrorKind};
use crate::http::{self, HttpError, HttpResponse};

/// Longest header line accepted (WARC or HTTP); longer lines are damage.
const MAX_LINE: u64 = 64 * 1024;
/// Largest header section accepted.
const MAX_HEADER: usize = 1024 * 1024;
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// One WARC record as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarcRecord {
    /// Byte offset in the file where the record starts; for compressed
    /// files, where the gzip member holding it starts.
    pub offset: u64,
    /// Offset of the record inside the decompressed data of its gzip member.
    /// 0 for uncompressed files and for gzip-per-record files; non-zero for
    /// all but the first record of a whole-file-gzipped WARC, so that
    /// `(offset, offset_in_member)` is unique within a file.
    pub offset_in_member: u64,
    /// Length in the file of the record including its trailer (uncompressed
    /// files) or of its gzip member (compressed files, when the member holds
    /// this record alone); 0 for records sharing a member with others.
    pub length: u64,
    /// The version line, e.g. `WARC/1.0`.
    pub version: String,
    /// `WARC-Type`, e.g. `response`, `resource`, `request`, `warcinfo`.
    pub warc_type: String,
    /// `WARC-Record-ID`, including the angle brackets.
    pub record_id: String,
    /// `WARC-Target-URI`, when present.
    pub target_uri: Option<String>,
    /// `WARC-Date`, when present and valid RFC 3339.
    pub date: Option<DateTime<Utc>>,
    /// All headers in file order, names as written.
    pub headers: Vec<(String, String)>,
    /// The record block (`Content-Length` bytes).
    pub block: Vec<u8>,
}

impl WarcRecord {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The record's `Content-Type` header.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// True for `response` records that carry an HTTP message (not e.g.
    /// `dns:` responses).
    pub fn is_http_response(&self) -> bool {
        if self.warc_type != "response" {
            return false;
        }
        let ct = self.content_type().unwrap_or("").to_ascii_lowercase();
        ct.starts_with("application/http")
            || self
                .target_uri
                .as_deref()
                .map(|u| {
                    let u = u.to_ascii_lowercase();
                    u.starts_with("http:") || u.starts_with("https:")
                })
                .unwrap_or(false)
    }

    /// For HTTP `response` records: the parsed HTTP response, with status
    /// line and headers split off and chunked transfer coding undone. `None`
    /// for other records.
    pub fn http_response(&self) -> Option<Result<HttpResponse, HttpError>> {
        if !self.is_http_response() {
            return None;
        }
        Some(http::parse_response(&self.block))
    }
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Opens `path` and returns a reader over its records. Opening errors are
/// returned as the first item of the iterator.
pub fn read_warc(path: &Path) -> WarcReader<BufReader<File>> {
    let name = path.display().to_string();
    match File::open(path) {
        Ok(f) => WarcReader::new(name, BufReader::with_capacity(64 * 1024, f)),
        Err(e) => WarcReader {
            name: name.clone(),
            state: State::Done,
            resyncing: false,
            pending: Some(WarcError { file: name, offset: 0, kind: WarcErrorKind::Io(e.to_string()) }),
            plain_len: None,
        },
    }
}

/// Reads the gzip members of `path` from byte `from` on (a tail of an
/// evidence file, whose records are one gzip member each); offsets are the
/// file's. Opening errors are the first item, as in [`read_warc`].
pub(crate) fn read_members_from(path: &Path, from: u64) -> WarcReader<BufReader<File>> {
    let name = path.display().to_string();
    let opened = File::open(path).and_then(|mut f| f.seek(SeekFrom::Start(from)).map(|_| f));
    match opened {
        Ok(f) => WarcReader {
            name,
            state: State::Between(BufReader::with_capacity(64 * 1024, f)),
            resyncing: false,
            pending: None,
            plain_len: None,
        },
        Err(e) => WarcReader {
            name: name.clone(),
            state: State::Done,
            resyncing: false,
            pending: Some(WarcError { file: name, offset: from, kind: WarcErrorKind::Io(e.to_string()) }),
            plain_len: None,
        },
    }
}

enum State<R> {
    Start(R),
    Plain(R, u64),
    Between(R),
    /// Inside a gzip member; `back` holds data read ahead (after a resync),
    /// to be read before the decoder's.
    Member { dec: Box<BufReader<GzDecoder<R>>>, start: u64, inner: u64, back: Vec<u8> },
    Done,
}

/// Iterator over the records of one WARC file or stream; see [`read_warc`].
///
/// Yields `Err` for each damaged place, then continues where it can: the
/// records before and after damage are still returned.
pub struct WarcReader<R> {
    name: String,
    state: State<R>,
    /// After corruption, scanning tries candidates silently until a record
    /// parses, so that one damaged member gives one error.
    resyncing: bool,
    pending: Option<WarcError>,
    /// The length of an uncompressed stream, when known.
    plain_len: Option<u64>,
}

impl<R: BufRead + Seek> WarcReader<R> {
    /// Reads records from `reader`; `name` is used in errors.
    pub fn new(name: impl Into<String>, reader: R) -> Self {
        WarcReader { name: name.into(), state: State::Start(reader), resyncing: false, pending: None, plain_len: None }
    }

    fn err(&self, offset: u64, kind: WarcErrorKind) -> WarcError {
        WarcError { file: self.name.clone(), offset, kind }
    }

    /// Advances the state machine by one step. Returns `Some` when there is
    /// an item to yield.
    fn step(&mut self) -> Option<Result<WarcRecord, WarcError>> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => None,
            State::Start(mut r) => {
                match r.fill_buf() {
                    Ok(b) if b.starts_with(&GZIP_MAGIC[..2]) => self.state = State::Between(r),
                    Ok(_) => {
                        // The length of an uncompressed file, so that a block
                        // claiming more is known short without reading the
                        // rest of the file (once per such record, read on
                        // after it: a file of them was quadratic).
                        self.plain_len = r.stream_position().and_then(|at| {
                            let len = r.seek(SeekFrom::End(0))?;
                            r.seek(SeekFrom::Start(at)).map(|_| len)
                        }).ok();
                        self.state = State::Plain(r, 0)
                    }
                    Err(e) => return Some(Err(self.err(0, WarcErrorKind::Io(e.to_string())))),
                }
                None
            }
            State::Plain(r, pos) => self.step_plain(r, pos),
            State::Between(r) => self.step_between(r),
            State::Member { dec, start, inner, back } => self.step_member(*dec, start, inner, back),
        }
    }

    fn step_plain(&mut self, r: R, pos: u64) -> Option<Result<WarcRecord, WarcError>> {
        let mut c = Counting { inner: r, n: 0 };
        let res = parse_record(&mut c, self.plain_len.map(|l| l.saturating_sub(pos)));
        let Counting { inner: r, n } = c;
        match res {
            Ok(None) => None,
            Ok(Some(raw)) => {
                let offset = pos + raw.lead;
                let length = n - raw.lead;
                self.state = State::Plain(r, pos + n);
                self.resyncing = false;
                Some(self.finish(raw, offset, 0, length))
            }
            Err(ParseFail::Truncated { lead, what } | ParseFail::Short { lead, what, .. }) => {
                // A block that runs past the end may be a length that lies
                // rather than a cut file: the records after it are read
                // (they were all lost), and the message says which.
                let at = pos + lead;
                match self.resync_plain(r, at) {
                    Some(next) => Some(Err(self.err(
                        at,
                        WarcErrorKind::Length(format!("{what}: Content-Length runs past the end of the data; record skipped, reading on at offset {next}")),
                    ))),
                    None => Some(Err(self.err(at, WarcErrorKind::Truncated(what)))),
                }
            }
            Err(ParseFail::Boundary { lead, what, .. }) => {
                let at = pos + lead;
                let on = match self.resync_plain(r, at) {
                    Some(next) => format!("reading on at offset {next}"),
                    None => "no record follows".to_owned(),
                };
                Some(Err(self.err(at, WarcErrorKind::Length(format!("{what}; record skipped, {on}")))))
            }
            Err(ParseFail::Io(e)) => Some(Err(self.err(pos, WarcErrorKind::Io(e.to_string())))),
            Err(ParseFail::Bad { lead, what }) => {
                let at = pos + lead;
                self.resync_plain(r, at);
                Some(Err(self.err(at, WarcErrorKind::BadHeader(what))))
            }
        }
    }

    /// Positions an uncompressed stream at the next `WARC/` line after the
    /// record at `at` (the next record starts on a line of its own), and
    /// returns its offset; ends the stream when there is none.
    fn resync_plain(&mut self, mut r: R, at: u64) -> Option<u64> {
        let next = scan(&mut r, at + 1, b"\nWARC/").ok().flatten()? + 1;
        r.seek(SeekFrom::Start(next)).ok()?;
        self.state = State::Plain(r, next);
        Some(next)
    }

    fn step_between(&mut self, mut r: R) -> Option<Result<WarcRecord, WarcError>> {
        let start = match r.stream_position() {
            Ok(p) => p,
            Err(e) => return Some(Err(self.err(0, WarcErrorKind::Io(e.to_string())))),
        };
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) => return Some(Err(self.err(start, WarcErrorKind::Io(e.to_string())))),
        };
        if buf.is_empty() {
            return None;
        }
        // A member that starts on the buffer's last byte has its magic split
        // between two fills: one matching byte is enough to hand over, since
        // the decoder checks the whole header (and a bad one is reported).
        if buf.starts_with(&GZIP_MAGIC[..2]) || buf == &GZIP_MAGIC[..1] {
            self.state = State::Member { dec: Box::new(BufReader::new(GzDecoder::new(r))), start, inner: 0, back: Vec::new() };
            return None;
        }
        // Padding of NULs or line ends between or after members is skipped
        // (a run of it longer than the buffer too, so what follows is judged
        // where it starts); a verifier holds records to where the last one
        // ended to find it. Anything else is damage.
        let padding = buf.iter().take_while(|&&b| matches!(b, 0 | b'\r' | b'\n')).count();
        if padding > 0 {
            r.consume(padding);
            self.state = State::Between(r);
            return None;
        }
        let item = self.report(start, WarcErrorKind::CorruptGzip("data between gzip members is not a gzip header".into()));
        self.resync_gzip(r, start + 1);
        item
    }

    fn step_member(
        &mut self,
        dec: BufReader<GzDecoder<R>>,
        start: u64,
        inner: u64,
        back: Vec<u8>,
    ) -> Option<Result<WarcRecord, WarcError>> {
        let mut c = Counting { inner: io::Cursor::new(back).chain(dec), n: 0 };
        let res = parse_record(&mut c, None);
        let Counting { inner: src, n } = c;
        let (back, mut dec) = src.into_inner();
        let back = unread(back);
        match res {
            Ok(None) => {
                // Member finished cleanly; the decoder has consumed exactly
                // its bytes, so the inner reader is at the next member.
                self.state = State::Between(dec.into_inner().into_inner());
                None
            }
            Ok(Some(raw)) => {
                let rec_inner = inner + raw.lead;
                // Peek whether the member ends here, to know the member length
                // (one record per member is the common, random-access case).
                let peek = if back.is_empty() { dec.fill_buf().map(|b| b.is_empty()) } else { Ok(false) };
                if let Err(e) = peek {
                    // The record read whole, but the member's trailer (its
                    // CRC-32 and size) does not match the bytes: say so, as
                    // the error it is, and go on after the member.
                    // The file ending in the trailer is a member cut short
                    // (a kill's), not damaged data.
                    let kind = if e.kind() == io::ErrorKind::UnexpectedEof {
                        WarcErrorKind::Truncated(format!("gzip member ends early, in its trailer (CRC-32 and size): {e}"))
                    } else {
                        WarcErrorKind::CorruptGzip(format!("gzip member trailer: {e}"))
                    };
                    self.pending = Some(self.err(start, kind));
                    self.resync_gzip(dec.into_inner().into_inner(), start + 1);
                    self.resyncing = false;
                    return Some(self.finish(raw, start, rec_inner, 0));
                }
                let at_end = peek.unwrap_or(false);
                let length = if at_end {
                    let mut r = dec.into_inner().into_inner();
                    let end = r.stream_position().unwrap_or(start);
                    self.state = State::Between(r);
                    // Only a record that has its member to itself has a
                    // member length of its own.
                    if rec_inner == 0 { end.saturating_sub(start) } else { 0 }
                } else {
                    self.state = State::Member { dec: Box::new(dec), start, inner: inner + n, back };
                    0
                };
                self.resyncing = false;
                Some(self.finish(raw, start, rec_inner, length))
            }
            Err(ParseFail::Io(e)) => {
                let kind = if e.kind() == io::ErrorKind::UnexpectedEof {
                    WarcErrorKind::Truncated(format!("gzip member ends early: {e}"))
                } else {
                    WarcErrorKind::CorruptGzip(e.to_string())
                };
                let item = self.report(start, kind);
                self.resync_gzip(dec.into_inner().into_inner(), start + 1);
                item
            }
            Err(ParseFail::Truncated { what, .. }) => {
                // The member decompressed fine but ended inside a record.
                self.state = State::Between(dec.into_inner().into_inner());
                self.report(start, WarcErrorKind::Truncated(format!("record inside gzip member: {what}")))
            }
            Err(ParseFail::Short { what, tail, .. }) => {
                // The member ends inside the block. With one record per
                // member the next member is read; in a whole-file gzip, the
                // records the block swallowed are read from it.
                let item = self.report(start, WarcErrorKind::Truncated(format!("record inside gzip member: {what} (the member ends first)")));
                let tail_at = (inner + n).saturating_sub(tail.len() as u64);
                let mut data = tail;
                data.extend_from_slice(&back);
                self.resync_member(dec, start, tail_at, data);
                item
            }
            Err(ParseFail::Bad { what, .. }) => {
                let item = self.report(start, WarcErrorKind::BadHeader(what));
                self.skip_member(dec, start);
                item
            }
            Err(ParseFail::Boundary { lead, what, tail }) => {
                // Read on at the next `WARC/` line of the member's data: in
                // a whole-file gzip, the records after this one are in the
                // same member (with one record per member, none are).
                let rec_inner = inner + lead;
                let at = if rec_inner > 0 { format!(" (the record at offset {rec_inner} of the member's data)") } else { String::new() };
                let item = self.report(start, WarcErrorKind::Length(format!("{what}{at}; record skipped")));
                // `tail` (block and trailer bytes read) ends where `back` starts.
                let tail_at = (inner + n).saturating_sub(tail.len() as u64);
                let mut data = tail;
                data.extend_from_slice(&back);
                self.resync_member(dec, start, tail_at, data);
                item
            }
        }
    }

    /// Positions a member's reader at the next `WARC/` line in `data` (the
    /// bytes at offset `at` of the member's data, then what `dec` has not
    /// read), or skips the rest of the member when there is none.
    fn resync_member(&mut self, mut dec: BufReader<GzDecoder<R>>, start: u64, mut at: u64, mut data: Vec<u8>) {
        const NEEDLE: &[u8] = b"\nWARC/";
        loop {
            if let Some(i) = data.windows(NEEDLE.len()).position(|w| w == NEEDLE) {
                let back = data.split_off(i + 1);
                self.state = State::Member { dec: Box::new(dec), start, inner: at + i as u64 + 1, back };
                return;
            }
            // Keep what may be the start of a needle cut by the chunk's end.
            let keep = data.len().min(NEEDLE.len() - 1);
            at += (data.len() - keep) as u64;
            data.drain(..data.len() - keep);
            let chunk = match dec.fill_buf() {
                Ok([]) => {
                    self.state = State::Between(dec.into_inner().into_inner());
                    return;
                }
                Ok(b) => b.to_vec(),
                Err(_) => {
                    self.resync_gzip(dec.into_inner().into_inner(), start + 1);
                    return;
                }
            };
            dec.consume(chunk.len());
            data.extend_from_slice(&chunk);
        }
    }

    /// Skips the rest of the member at `start`.
    fn skip_member(&mut self, mut dec: BufReader<GzDecoder<R>>, start: u64) {
        match io::copy(&mut dec, &mut io::sink()) {
            Ok(_) => self.state = State::Between(dec.into_inner().into_inner()),
            Err(_) => self.resync_gzip(dec.into_inner().into_inner(), start + 1),
        }
    }

    /// Yields an error unless we are already recovering from one.
    fn report(&mut self, offset: u64, kind: WarcErrorKind) -> Option<Result<WarcRecord, WarcError>> {
        if self.resyncing {
            None
        } else {
            Some(Err(self.err(offset, kind)))
        }
    }

    /// Enters recovery: positions at the next gzip header after `from`, or
    /// ends the stream when there is none.
    fn resync_gzip(&mut self, mut r: R, from: u64) {
        self.resyncing = true;
        self.state = match scan(&mut r, from, &GZIP_MAGIC) {
            Ok(Some(next)) if r.seek(SeekFrom::Start(next)).is_ok() => State::Between(r),
            _ => State::Done,
        };
    }

    fn finish(&self, raw: RawRecord, offset: u64, offset_in_member: u64, length: u64) -> Result<WarcRecord, WarcError> {
        record_of(&self.name, raw, offset, offset_in_member, length)
    }
}

/// The record `raw` is, at `offset` of file `name`.
fn record_of(name: &str, raw: RawRecord, offset: u64, offset_in_member: u64, length: u64) -> Result<WarcRecord, WarcError> {
    let err = |kind| WarcError { file: name.to_owned(), offset, kind };
    let get = |n: &str| header(&raw.headers, n).map(str::to_owned);
    let warc_type = get("WARC-Type")
        .ok_or_else(|| err(WarcErrorKind::MissingHeader("WARC-Type")))?;
    let record_id = get("WARC-Record-ID")
        .ok_or_else(|| err(WarcErrorKind::MissingHeader("WARC-Record-ID")))?;
    let date = get("WARC-Date")
        .and_then(|d| DateTime::parse_from_rfc3339(d.trim()).ok())
        .map(|d| d.with_timezone(&Utc));
    // Some writers (old Heritrix) put the URI in angle brackets.
    let target_uri = get("WARC-Target-URI").map(|u| {
        u.strip_prefix('<').and_then(|u| u.strip_suffix('>')).map(str::to_owned).unwrap_or(u)
    });
    Ok(WarcRecord {
        offset,
        offset_in_member,
        length,
        version: raw.version,
        warc_type,
        record_id,
        target_uri,
        date,
        headers: raw.headers,
        block: raw.block,
    })
}

impl<R: BufRead + Seek> Iterator for WarcReader<R> {
    type Item = Result<WarcRecord, WarcError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending.take() {
            return Some(Err(e));
        }
        loop {
            if matches!(self.state, State::Done) {
                return None;
            }
            if let Some(item) = self.step() {
                return Some(item);
            }
        }
    }
}

/// The bytes of `c` not yet read.
fn unread(c: io::Cursor<Vec<u8>>) -> Vec<u8> {
    let at = usize::try_from(c.position()).unwrap_or(usize::MAX);
    let mut v = c.into_inner();
    v.drain(..at.min(v.len()));
    v
}

/// Counts the bytes consumed from a `BufRead`.
struct Counting<B> {
    inner: B,
    n: u64,
}

impl<B: BufRead> Read for Counting<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

impl<B: BufRead> BufRead for Counting<B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.n += amt as u64;
        self.inner.consume(amt);
    }
}

struct RawRecord {
    /// Line-end bytes skipped before the version line.
    lead: u64,
    version: String,
    headers: Vec<(String, String)>,
    block: Vec<u8>,
}

pub(crate) enum ParseFail {
    /// Underlying read failed (for gzip: the data is corrupt).
    Io(io::Error),
    /// The stream ended inside a record; `lead` as in [`RawRecord`].
    Truncated { lead: u64, what: String },
    /// Malformed header; `lead` as in [`RawRecord`].
    Bad { lead: u64, what: String },
    /// The block read whole, but `Content-Length` does not end where the
    /// record does; `lead` as in [`RawRecord`]. `tail` is the bytes read
    /// after the head (block and line ends), to resync in a stream that
    /// cannot seek back.
    Boundary { lead: u64, what: String, tail: Vec<u8> },
    /// The stream ended inside the block; `tail` is the block as far as it
    /// went, as in `Boundary`.
    Short { lead: u64, what: String, tail: Vec<u8> },
}

impl From<io::Error> for ParseFail {
    fn from(e: io::Error) -> Self {
        ParseFail::Io(e)
    }
}

/// Reads one line (through `\n`) of at most `MAX_LINE` bytes. Returns the
/// bytes read; the caller checks for the final `\n`.
fn read_line<B: BufRead>(r: &mut B, out: &mut Vec<u8>) -> io::Result<usize> {
    out.clear();
    r.by_ref().take(MAX_LINE).read_until(b'\n', out)
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses header lines (`Name: value`, with folded continuation lines) until
/// the empty line. Shared with the HTTP parser.
pub(crate) fn parse_header_lines<B: BufRead>(
    r: &mut B,
    lead: u64,
) -> Result<Vec<(String, String)>, ParseFail> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut line = Vec::new();
    let mut total = 0usize;
    loop {
        let k = read_line(r, &mut line)?;
        total += k;
        if k == 0 {
            return Err(ParseFail::Truncated { lead, what: "stream ends inside the record header".into() });
        }
        if line.last() != Some(&b'\n') {
            if (k as u64) < MAX_LINE {
                return Err(ParseFail::Truncated { lead, what: "stream ends inside the record header".into() });
            }
            return Err(ParseFail::Bad { lead, what: format!("header line longer than {MAX_LINE} bytes") });
        }
        if total > MAX_HEADER {
            return Err(ParseFail::Bad { lead, what: format!("header longer than {MAX_HEADER} bytes") });
        }
        let l = trim_eol(&line);
        if l.is_empty() {
            return Ok(headers);
        }
        if matches!(l.first(), Some(b' ' | b'\t')) {
            let Some(last) = headers.last_mut() else {
                return Err(ParseFail::Bad { lead, what: "continuation line before any header".into() });
            };
            last.1.push(' ');
            last.1.push_str(String::from_utf8_lossy(l).trim());
            continue;
        }
        let Some(colon) = l.iter().position(|&b| b == b':') else {
            return Err(ParseFail::Bad {
                lead,
                what: format!("header line without ':': {:?}", snippet(l)),
            });
        };
        let (name, value) = l.split_at(colon);
        let value = value.get(1..).unwrap_or(&[]);
        let name = String::from_utf8_lossy(name).trim().to_owned();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(ParseFail::Bad { lead, what: format!("bad header name: {:?}", snippet(l)) });
        }
        headers.push((name, String::from_utf8_lossy(value).trim().to_owned()));
    }
}

fn snippet(b: &[u8]) -> String {
    String::from_utf8_lossy(b.get(..60).unwrap_or(b)).into_owned()
}

/// A record's head as [`parse_record`] reads it: the line ends skipped
/// before it, version, headers and `Content-Length`. `Ok(None)` at a clean
/// end of stream.
type RecordHead = (u64, String, Vec<(String, String)>, u64);

/// Parses a record's head, leaving `r` at its block. `Ok(None)` at a clean
/// end of stream.
fn parse_record_head<B: BufRead>(r: &mut B) -> Result<Option<RecordHead>, ParseFail> {
    // Skip line ends between records (the record trailer, or writers' padding).
    let mut lead = 0u64;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let k = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        if k == 0 {
            break;
        }
        r.consume(k);
        lead += k as u64;
    }
    let mut line = Vec::new();
    let k = read_line(r, &mut line)?;
    if line.last() != Some(&b'\n') {
        if (k as u64) < MAX_LINE && line.starts_with(b"WARC/") {
            return Err(ParseFail::Truncated { lead, what: "stream ends inside the version line".into() });
        }
        return Err(ParseFail::Bad { lead, what: format!("expected a WARC/ version line, found {:?}", snippet(&line)) });
    }
    let l = trim_eol(&line);
    if !l.starts_with(b"WARC/") {
        return Err(ParseFail::Bad { lead, what: format!("expected a WARC/ version line, found {:?}", snippet(l)) });
    }
    let version = String::from_utf8_lossy(l).trim().to_owned();
    let headers = parse_header_lines(r, lead)?;
    let len = header(&headers, "Content-Length")
        .ok_or_else(|| ParseFail::Bad { lead, what: "missing Content-Length".into() })?;
    let len: u64 = len
        .trim()
        .parse()
        .map_err(|_| ParseFail::Bad { lead, what: format!("invalid Content-Length {len:?}") })?;
    Ok(Some((lead, version, headers, len)))
}

/// Parses one record. `Ok(None)` at a clean end of stream. `avail`, when
/// known, is how many bytes are left in the stream: a block claiming more
/// is reported truncated without being read.
fn parse_record<B: BufRead>(r: &mut B, avail: Option<u64>) -> Result<Option<RawRecord>, ParseFail> {
    let mut c = Counting { inner: &mut *r, n: 0 };
    let Some((lead, version, headers, len)) = parse_record_head(&mut c)? else { return Ok(None) };
    if let Some(left) = avail.map(|a| a.saturating_sub(c.n)).filter(|&left| left < len) {
        return Err(ParseFail::Truncated { lead, what: format!("block has {left} of {len} bytes") });
    }
    // `take` + `read_to_end` grows the buffer only as data arrives, so a
    // huge Content-Length in a short file costs no memory. Room for up to
    // `RESERVE_MAX` bytes is taken at once: room never written is never made
    // resident, and a file of a hundred megabytes is not copied into
    // doubled buffers on the way.
    let mut block = Vec::new();
    let _ = block.try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX).min(RESERVE_MAX));
    let got = r.by_ref().take(len).read_to_end(&mut block)? as u64;
    if got < len {
        return Err(ParseFail::Short { lead, what: format!("block has {got} of {len} bytes"), tail: block });
    }
    // Consume the record trailer so that the record's length covers it.
    let mut ends = Vec::with_capacity(4);
    for _ in 0..4 {
        match r.fill_buf()?.first() {
            Some(&b @ (b'\r' | b'\n')) => {
                ends.push(b);
                r.consume(1);
            }
            _ => break,
        }
    }
    // A Content-Length too long swallows the next record's start, one too
    // short leaves part of the block behind: either way the block is not
    // followed by the trailer. Taken on trust, the first stored a record
    // holding its neighbour's head (and lost that neighbour), the second a
    // cut page as whole. Lenient only as far as writers need: the trailer's
    // line ends may be short or bare LF when the next record (or the end)
    // follows at once. A whole CRLF CRLF is a boundary even when what
    // follows is damaged: that damage is the next record's, reported there.
    if ends != RECORD_TRAILER {
        let next = r.fill_buf()?;
        let at_boundary = next.is_empty()
            || next.starts_with(b"WARC/")
            // The buffer ends inside what may be a version line.
            || (next.len() < 5 && b"WARC/".starts_with(next));
        if !at_boundary {
            let mut tail = block;
            tail.extend_from_slice(&ends);
            return Err(ParseFail::Boundary {
                lead,
                what: format!("Content-Length {len} does not end at a record boundary (the block is not followed by the CRLF CRLF trailer and a WARC/ line)"),
                tail,
            });
        }
    }
    Ok(Some(RawRecord { lead, version, headers, block }))
}

/// Finds the first occurrence of `needle` at or after byte `from`. Leaves the
/// reader at an unspecified position.
fn scan<R: Read + Seek>(r: &mut R, from: u64, needle: &[u8]) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = from;
    let keep = needle.len().saturating_sub(1) as u64;
    loop {
        r.seek(SeekFrom::Start(pos))?;
        let mut n = 0;
        while n < buf.len() {
            let k = r.read(buf.get_mut(n..).unwrap_or(&mut []))?;
            if k == 0 {
                break;
            }
            n += k;
        }
        let hay = buf.get(..n).unwrap_or(&[]);
        if let Some(i) = hay.windows(needle.len()).position(|w| w == needle) {
            return Ok(Some(pos + i as u64));
        }
        if n < buf.len() {
            return Ok(None);
        }
        pos += n as u64 - keep;
    }
}

/// [`write_record_of_parts`] of a block in one part.
#[cfg(test)]
pub(crate) fn write_record(out: &mut Vec<u8>, headers: &[(&str, String)], block: &[u8]) {
    write_record_of_parts(out, headers, &[block]);
}

/// Serializes one record: version line, `headers` in order, a
/// `Content-Length` computed here, the block and the two-CRLF trailer.
/// Header values must already be single-line. The block is `parts` one
/// after another: a payload behind an HTTP head is not first copied into
/// one block.
#[cfg(test)]
pub(crate) fn write_record_of_parts(out: &mut Vec<u8>, headers: &[(&str, String)], parts: &[&[u8]]) {
    write_record_head(out, headers, parts.iter().map(|p| p.len() as u64).sum());
    for p in parts {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(RECORD_TRAILER);
}

/// What ends a record, after its block.
pub(crate) const RECORD_TRAILER: &[u8] = b"\r\n\r\n";

/// Serializes a record's head: version line, `headers` in order and a
/// `Content-Length` of `block_len`, up to the empty line the block follows.
/// Header values must already be single-line.
pub(crate) fn write_record_head(out: &mut Vec<u8>, headers: &[(&str, String)], block_len: u64) {
    out.extend_from_slice(b"WARC/1.1\r\n");
    for (n, v) in headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {block_len}\r\n\r\n").as_bytes());
}

/// Reads back a head [`write_record_head`] wrote, as [`WarcReader`] reads a
/// record's (the block left empty: it is the caller's, written as given).
/// The head must parse whole, end where `head` does and give
/// `Content-Length` `block_len`. `name` names the record in an error.
pub(crate) fn read_back_head(name: &str, head: &[u8], block_len: u64) -> Result<WarcRecord, WarcError> {
    let bad = |what: String| WarcError { file: name.to_owned(), offset: 0, kind: WarcErrorKind::BadHeader(what) };
    let mut r = io::Cursor::new(head);
    let (lead, version, headers, len) = match parse_record_head(&mut r) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Err(bad("no record head".into())),
        Err(ParseFail::Io(e)) => return Err(bad(e.to_string())),
        Err(ParseFail::Truncated { what, .. } | ParseFail::Bad { what, .. } | ParseFail::Boundary { what, .. } | ParseFail::Short { what, .. }) => return Err(bad(what)),
    };
    if r.position() != head.len() as u64 || len != block_len {
        return Err(bad(format!("head of {} bytes read back as {} bytes for a block of {len}, not {block_len}", head.len(), r.position())));
    }
    record_of(name, RawRecord { lead, version, headers, block: Vec::new() }, 0, 0, 0)
}

/// Records above this size are compressed at the fastest level: at the
/// default level, storing a 100 MB dataset took longer than reading all its
/// rows (40 MB/s against about 170 MB/s), for a third less disk.
const FAST_GZIP_ABOVE: usize = 1 << 20;

/// The most room taken at once for a record's block (see `parse_record`).
const RESERVE_MAX: usize = 1 << 30;

/// Gzips `data` as one member.
#[cfg(test)]
pub(crate) fn gzip_member(data: &[u8]) -> io::Result<Vec<u8>> {
    gzip_member_of_parts(&[data])
}

/// Gzips `parts`, one after another, as one member: a record is not first
/// copied into one buffer (a 100 MB dataset file was copied whole).
pub(crate) fn gzip_member_of_parts(parts: &[&[u8]]) -> io::Result<Vec<u8>> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let level = if len > FAST_GZIP_ABOVE { flate2::Compression::fast() } else { flate2::Compression::default() };
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(len / 4), level);
    for p in parts {
        enc.write_all(p)?;
    }
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn rec(id: &str, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_record(
            &mut v,
            &[
                ("WARC-Type", "resource".into()),
                ("WARC-Record-ID", format!("<urn:test:{id}>")),
                ("WARC-Date", "2020-01-02T03:04:05Z".into()),
            ],
            body,
        );
        v
    }

    fn read_all(bytes: Vec<u8>) -> Vec<Result<WarcRecord, WarcError>> {
        WarcReader::new("t", Cursor::new(bytes)).collect()
    }

    #[test]
    fn plain_records_with_offsets() {
        let a = rec("a", b"hello");
        let b = rec("b", b"");
        let mut f = a.clone();
        f.extend_from_slice(&b);
        let out = read_all(f);
        assert_eq!(out.len(), 2);
        let r0 = out[0].as_ref().unwrap();
        let r1 = out[1].as_ref().unwrap();
        assert_eq!((r0.offset, r0.block.as_slice()), (0, &b"hello"[..]));
                assert_eq!(r1.offset, a.len() as u64);
        assert_eq!(r0.length, a.len() as u64);
        assert_eq!(r1.record_id, "<urn:test:b>");
        assert_eq!(r0.date.unwrap().to_rfc3339(), "2020-01-02T03:04:05+00:00");
    }

    /// A member starting on the last byte of the reader's buffer (offset
    /// 65,535 of a file read with the 64 KiB buffer of `read_warc`) is a
    /// member, not damage: `verify` once reported a sound crawl so.
    #[test]
    fn a_member_starting_on_the_buffers_last_byte_is_read() {
        let first = gzip_member(&rec("a", b"hello")).unwrap();
        let second = gzip_member(&rec("b", b"world")).unwrap();
        let mut f = first.clone();
        f.extend_from_slice(&second);
        let reader = BufReader::with_capacity(first.len() + 1, Cursor::new(f));
        let out: Vec<_> = WarcReader::new("t", reader).collect();
        assert_eq!(out.len(), 2, "{out:?}");
        let r1 = out[1].as_ref().expect("second member read");
        assert_eq!((r1.offset, r1.block.as_slice()), (first.len() as u64, &b"world"[..]));
    }

    /// A member whose record reads whole but whose trailer (CRC-32) is wrong
    /// gives the record and an error naming the trailer, and the next member
    /// is read; the error was swallowed, and verify said only that the
    /// record's length differed from its index entry.
    #[test]
    fn a_wrong_member_checksum_is_reported_and_the_next_member_read() {
        let mut first = gzip_member(&rec("a", b"hello")).unwrap();
        let n = first.len();
        first[n - 6] ^= 0xff;
        let second = gzip_member(&rec("b", b"world")).unwrap();
        let mut f = first.clone();
        f.extend_from_slice(&second);
        let out = read_all(f);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0].as_ref().expect("the record").block, b"hello");
        let e = out[1].as_ref().expect_err("the trailer");
        assert_eq!(e.offset, 0);
        assert!(e.to_string().contains("gzip member trailer"), "{e}");
        assert_eq!(out[2].as_ref().expect("the next member").offset, n as u64);
        // A file that ends inside the trailer holds a member cut short (a
        // killed writer's), said so rather than called corrupt.
        let cut = gzip_member(&rec("a", b"hello")).unwrap();
        let out = read_all(cut[..cut.len() - 3].to_vec());
        let e = out.iter().find_map(|r| r.as_ref().err()).expect("the cut trailer");
        assert!(matches!(e.kind, WarcErrorKind::Truncated(_)) && e.to_string().contains("in its trailer"), "{e}");
    }

    #[test]
    fn bad_header_resyncs_to_next_record() {
        let mut f = b"WARC/1.0\r\nno colon here\r\n\r\n".to_vec();
        let good = rec("g", b"x");
        let at = f.len() as u64;
        f.extend_from_slice(&good);
        let out = read_all(f);
        assert!(matches!(&out[0], Err(e) if e.offset == 0 && matches!(e.kind, WarcErrorKind::BadHeader(_))));
        assert_eq!(out[1].as_ref().unwrap().offset, at);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn truncated_plain_block_is_reported_once() {
        let mut f = rec("a", b"abc");
        let second = rec("b", b"0123456789");
        f.extend_from_slice(&second[..second.len() - 8]);
        let out = read_all(f);
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        assert!(matches!(&out[1], Err(e) if matches!(e.kind, WarcErrorKind::Truncated(_))));
    }

    #[test]
    fn folded_headers_are_joined() {
        let f = b"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:x:1>\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n\r\n\r\n".to_vec();
        let out = read_all(f);
        assert_eq!(out[0].as_ref().unwrap().header("x-long"), Some("a b"));
    }

    /// A head read back is the head a reader reads from the whole record,
    /// and a head that does not read back as written is refused: one whose
    /// value breaks its lines, or whose length is not the block's.
    #[test]
    fn heads_read_back_as_the_reader_reads_them() {
        let headers = [("WARC-Type", "resource".to_owned()), ("WARC-Record-ID", "<urn:x:1>".to_owned()), ("X-Note", "a: b".to_owned())];
        let block = b"payload bytes";
        let mut head = Vec::new();
        write_record_head(&mut head, &headers, block.len() as u64);
        let mut whole = head.clone();
        whole.extend_from_slice(block);
        whole.extend_from_slice(RECORD_TRAILER);
        let read = read_all(whole).remove(0).unwrap();
        let back = read_back_head("x", &head, block.len() as u64).unwrap();
        assert_eq!((back.headers, back.warc_type, back.record_id, back.version), (read.headers, read.warc_type, read.record_id, read.version));
        assert!(back.block.is_empty());
        assert!(read_back_head("x", &head, block.len() as u64 + 1).is_err(), "another block length");
        let mut broken = Vec::new();
        let evil = ("X-Evil", "v\r\nContent-Length: 0\r\n\r\nrest".to_owned());
        write_record_head(&mut broken, &[headers[0].clone(), headers[1].clone(), evil], 0);
        assert!(read_back_head("x", &broken, 0).is_err(), "a value holding a blank line");
    }

    /// Parts gzipped one after another are their concatenation gzipped.
    #[test]
    fn a_member_of_parts_inflates_to_the_parts_joined() {
        let big: Vec<u8> = (0..(FAST_GZIP_ABOVE as u32 + 5000)).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        for parts in [vec![&b"head "[..], b"", b"block", RECORD_TRAILER], vec![&b"x"[..], &big[..], b"y"]] {
            let member = gzip_member_of_parts(&parts).unwrap();
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&member[..]).read_to_end(&mut out).unwrap();
            assert_eq!(out, parts.concat());
        }
    }
}
