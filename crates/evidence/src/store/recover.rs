//! Recovery after a killed writer.
//!
//! A write to a regular file can stop part way: Linux checks for a fatal
//! signal between the pages of one `write`, so a writer killed by SIGKILL
//! can leave a record or a line cut short wherever it crosses a page
//! boundary. A cut piece is always the last bytes of its file (the store
//! only appends, and the index line and custody entry of a record are
//! written after the record). Appending after it buries it mid-file, where
//! `verify` can only call the member altered: CI saw this once, in the test
//! that kills a crawl twenty times.
//!
//! So a writer resuming after a kill calls [`EvidenceStore::recover`]
//! first. Each torn tail (of an evidence file, the index, or the custody
//! log) is copied to `evidence/torn/`, named by a [`RECOVER`] custody entry
//! with its digest, and its file cut back to its last complete record or
//! line; complete records with no index line are indexed again. Nothing is
//! deleted, and `verify` checks that each piece set aside is still there,
//! unchanged, and named by an entry.
//!
//! A recovery cannot tell a kill's cut from a cut made by hand to look like
//! one. What it cuts stays visible: the pieces and their entries, which
//! `verify` lists; a record a custody entry names that is no longer stored
//! is reported by the case's `verify`; and a custody log cut back past an
//! entry loses the head hash an examiner noted (`verify --expect-head`).

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};

use model::Sha256;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{evidence_files, index_line, with_member_digest, EvidenceStore, CUSTODY, INDEX};
use crate::custody::RECOVER;
use crate::error::{Error, Location, Problem};
use crate::warc::read_members_from;

/// The folder of the evidence directory that holds torn pieces.
pub const TORN_DIR: &str = "torn";

/// The file of the evidence directory every writer of evidence locks
/// ([`EvidenceStore::lock_for_writing`]).
pub const WRITER_LOCK: &str = ".lock";

/// Bytes a killed writer left at the end of a file, which do not form a
/// complete record (or line), set aside by [`EvidenceStore::recover`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TornTail {
    /// The file they were cut from (in the evidence directory).
    pub file: String,
    /// Where they began, which is the file's length now.
    pub offset: u64,
    /// How many bytes.
    pub length: u64,
    /// Their digest.
    pub sha256: Sha256,
    /// Where they are kept, relative to the evidence directory.
    pub saved_as: String,
}

/// How the custody log ends; see [`EvidenceStore::recover`].
enum CustodyTail {
    Whole,
    Cut(u64),
    LineEndLost(usize),
}

/// What [`EvidenceStore::recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Torn tails set aside, in the order found.
    pub torn: Vec<TornTail>,
    /// Complete records that had no index line, now indexed.
    pub indexed_again: Vec<Sha256>,
    /// Evidence files whose bytes from this offset are no kill's (not a
    /// record cut short): left as found, for `verify` to report; new
    /// records go to a new file.
    pub left: Vec<(String, u64)>,
}

impl Recovery {
    /// True when there was nothing to recover.
    pub fn is_empty(&self) -> bool {
        self.torn.is_empty() && self.indexed_again.is_empty() && self.left.is_empty()
    }
}

impl EvidenceStore {
    /// Makes the store whole again after a writer was killed (see the module
    /// docs), and logs what it did in [`RECOVER`] custody entries (the
    /// custody log's own piece, the other pieces, the records indexed
    /// again). Takes the writer lock first. Call it before appending to a
    /// store a killed writer may have left; `verify` never calls it (it
    /// reports what a kill left instead).
    pub fn recover(&mut self, operator: &str, tool_version: &str) -> Result<Recovery, Error> {
        // Only a store no other process writes can be recovered: a live
        // writer's record in progress looks like a torn tail.
        self.lock_for_writing()?;
        let mut torn = Vec::new();
        // The custody log first: its cut tail is replaced by the entry that
        // names the piece, in one rename, so that no kill leaves the piece
        // unnamed (pieces are never adopted unlogged, or a file put in torn/
        // by hand would be taken for one).
        match self.custody_tail()? {
            CustodyTail::Whole => {}
            CustodyTail::Cut(offset) => {
                let piece = self.save_piece(CUSTODY, offset)?;
                self.replace_custody_tail(offset, &piece, operator, tool_version)?;
                torn.push(piece);
            }
            CustodyTail::LineEndLost(line) => {
                // A whole entry without its line end is not a kill's (the
                // entry and its line end are one write); ending the line
                // keeps the next entry off it, and the entry below says so.
                let path = self.dir.join(CUSTODY);
                let mut f = OpenOptions::new().append(true).open(&path).map_err(|e| Error::io(&path, e))?;
                f.write_all(b"\n").and_then(|()| f.sync_all()).map_err(|e| Error::io(&path, e))?;
                self.custody = crate::CustodyLog::open(&path)?;
                self.log(RECOVER, json!({ "line_end_added": { "file": CUSTODY, "line": line } }), operator, tool_version)?;
            }
        }
        // The other pieces are kept and logged before they are cut: a kill in
        // between leaves the tail, set aside again (as the same piece) by
        // the next recovery.
        let mut cuts = Vec::new();
        if let Some(offset) = torn_line(&self.dir.join(INDEX))? {
            cuts.push(self.save_piece(INDEX, offset)?);
        }
        let mut left = Vec::new();
        for name in evidence_files(&self.dir)? {
            match self.member_tail(&name)? {
                Tail::Whole => {}
                Tail::Torn(offset) => cuts.push(self.save_piece(&name, offset)?),
                Tail::Other(offset) => left.push((name, offset)),
            }
        }
        if !cuts.is_empty() {
            self.log(RECOVER, json!({ "torn": cuts }), operator, tool_version)?;
            for piece in &cuts {
                self.cut(&piece.file, piece.offset)?;
            }
        }
        if !torn.is_empty() || !cuts.is_empty() {
            let (dir, rollover, lock) = (self.dir.clone(), self.rollover, self.writer_lock.take());
            *self = EvidenceStore::open(&dir)?;
            (self.rollover, self.writer_lock) = (rollover, lock);
        }
        torn.extend(cuts);
        let indexed_again = self.recover_unindexed()?;
        if !indexed_again.is_empty() {
            let digests: Vec<String> = indexed_again.iter().map(Sha256::to_hex).collect();
            self.log(RECOVER, json!({ "indexed_again": digests }), operator, tool_version)?;
        }
        Ok(Recovery { torn, indexed_again, left })
    }

    /// What the custody log ends with: a whole line, a line cut short (from
    /// this offset), or a whole entry that lost its line end (this 1-based
    /// line).
    fn custody_tail(&self) -> Result<CustodyTail, Error> {
        let path = self.dir.join(CUSTODY);
        let Some(offset) = torn_line(&path)? else { return Ok(CustodyTail::Whole) };
        let tail = read_from(&path, offset)?;
        if serde_json::from_slice::<serde_json::Value>(&tail).is_ok() {
            let lines = fs::read(&path).map_err(|e| Error::io(&path, e))?.iter().filter(|&&b| b == b'\n').count();
            return Ok(CustodyTail::LineEndLost(lines + 1));
        }
        Ok(CustodyTail::Cut(offset))
    }

    /// How evidence file `name` ends after its last indexed record (and the
    /// whole records a kill left unindexed right after it). A kill leaves
    /// one gzip member cut short (anywhere: in its header, its compressed
    /// stream or its trailer) as the file's last bytes: that is a torn tail.
    /// Anything else there (bytes that are not a member's start, padding, a
    /// whole member however odd its record, damage that a whole record
    /// follows) is no kill's: left as found for `verify` to report, and no
    /// record is appended after it ([`EvidenceStore::file_for_next_record`]).
    /// Before, a recovery set any such bytes aside as a torn write, so an
    /// import into a case whose evidence file had bytes appended by hand
    /// logged the alteration as a kill's and cut it from the file.
    fn member_tail(&self, name: &str) -> Result<Tail, Error> {
        let path = self.dir.join(name);
        // The whole records one after another from the last indexed one.
        let mut complete_end = self.indexed_end(name);
        let (mut stopped, mut record_after) = (false, false);
        for item in read_members_from(&path, complete_end) {
            match item {
                Ok(rec) if !stopped && rec.offset == complete_end && rec.length > 0 => complete_end = rec.offset + rec.length,
                // A whole record after a gap or damage: no kill's.
                Ok(rec) if rec.length > 0 => (stopped, record_after) = (true, true),
                _ => stopped = true,
            }
        }
        let size = fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
        Ok(if size <= complete_end {
            Tail::Whole
        } else if !record_after && is_cut_member(tail_of(&path, complete_end)?).map_err(|e| Error::io(&path, e))? {
            Tail::Torn(complete_end)
        } else {
            Tail::Other(complete_end)
        })
    }

    /// Where the last indexed record of evidence file `name` ends: what a
    /// killed writer left lies after it, and only that is read.
    pub(super) fn indexed_end(&self, name: &str) -> u64 {
        self.lines.iter().filter(|l| l.file == name).map(|l| l.offset + l.length).max().unwrap_or(0)
    }

    /// Indexes the complete records a killed writer appended after the last
    /// indexed record of a file but did not index (killed between writing a
    /// record and its index line), and returns their digests. Only records
    /// one after another from the last indexed one are a kill's: those after
    /// damage or a gap (which no writer leaves) are left alone, as are bytes
    /// that do not form a complete record.
    fn recover_unindexed(&mut self) -> Result<Vec<Sha256>, Error> {
        let mut found = Vec::new();
        let mut text = String::new();
        for name in evidence_files(&self.dir)? {
            let mut end = self.indexed_end(&name);
            let whole = read_members_from(&self.dir.join(&name), end).map_while(Result::ok);
            for rec in whole {
                if rec.offset != end || rec.length == 0 {
                    break;
                }
                end = rec.offset + rec.length;
                let Ok(line) = index_line(&name, &rec).map(|l| with_member_digest(&self.dir, l)) else { break };
                found.extend(line.sha256);
                text.push_str(&serde_json::to_string(&line).unwrap_or_default());
                text.push('\n');
                self.apply(line, None);
            }
        }
        if !text.is_empty() {
            let index = self.dir.join(INDEX);
            let mut f = OpenOptions::new().create(true).append(true).open(&index).map_err(|e| Error::io(&index, e))?;
            f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(|e| Error::io(&index, e))?;
        }
        Ok(found)
    }

    /// Copies file `name`'s bytes from `offset` to the end into
    /// [`TORN_DIR`], durably. Saving a piece again gives the same name.
    fn save_piece(&self, name: &str, offset: u64) -> Result<TornTail, Error> {
        let path = self.dir.join(name);
        let bytes = read_from(&path, offset)?;
        let sha256 = Sha256::of(&bytes);
        let dir = self.dir.join(TORN_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        // The digest in the name keeps apart two pieces cut at one offset.
        let piece = format!("{name}.{offset}.{}", &sha256.to_hex()[..16]);
        let piece_path = dir.join(&piece);
        let mut f = File::create(&piece_path).map_err(|e| Error::io(&piece_path, e))?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(|e| Error::io(&piece_path, e))?;
        File::open(&dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(&dir, e))?;
        let saved_as = format!("{TORN_DIR}/{piece}");
        Ok(TornTail { file: name.to_owned(), offset, length: bytes.len() as u64, sha256, saved_as })
    }

    /// Takes the store's writer lock, held until the store is dropped, or
    /// fails at once with [`Error::Busy`] when another process holds it:
    /// `import` and `crawl` (through [`EvidenceStore::recover`]) write one at
    /// a time, and a recovery never cuts a live writer's record.
    pub fn lock_for_writing(&mut self) -> Result<(), Error> {
        if self.writer_lock.is_some() {
            return Ok(());
        }
        let path = self.dir.join(WRITER_LOCK);
        let f = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| Error::io(&path, e))?;
        match f.try_lock() {
            Ok(()) => {
                self.writer_lock = Some(f);
                Ok(())
            }
            Err(fs::TryLockError::WouldBlock) => Err(Error::Busy { path }),
            Err(fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// Replaces the custody log's cut tail from `offset` by the [`RECOVER`]
    /// entry naming `piece`, in one rename: the log is either as the kill
    /// left it or whole with the entry.
    fn replace_custody_tail(&mut self, offset: u64, piece: &TornTail, operator: &str, tool_version: &str) -> Result<(), Error> {
        let path = self.dir.join(CUSTODY);
        let text = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let prefix = text.get(..offset as usize).unwrap_or(&text);
        let log = crate::CustodyLog::of_bytes(&path, prefix);
        let (line, _) = log.entry_line(chrono::Utc::now(), RECOVER, json!({ "torn": [piece] }), operator, tool_version);
        let tmp = self.dir.join("custody.jsonl.tmp");
        let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(prefix).and_then(|()| f.write_all(line.as_bytes())).and_then(|()| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(&self.dir, e))?;
        self.custody = crate::CustodyLog::open(&path)?;
        Ok(())
    }

    /// Cuts file `name` back to `offset` bytes, durably.
    fn cut(&self, name: &str, offset: u64) -> Result<(), Error> {
        let path = self.dir.join(name);
        let f = OpenOptions::new().write(true).open(&path).map_err(|e| Error::io(&path, e))?;
        f.set_len(offset).and_then(|()| f.sync_all()).map_err(|e| Error::io(&path, e))
    }

    /// `verify`'s check of the pieces set aside: each one a custody entry
    /// names is there with its digest, and none is there unnamed.
    pub(super) fn check_torn_pieces(&self, logged: &[(String, Sha256)], problems: &mut Vec<Problem>) {
        for (saved_as, sha) in logged {
            let path = self.dir.join(saved_as);
            let what = match fs::read(&path) {
                Ok(b) if Sha256::of(&b) == *sha => continue,
                Ok(b) => format!("torn piece set aside by a recovery has sha256 {}, not the {sha} its custody entry gives", Sha256::of(&b)),
                Err(e) => format!("torn piece set aside by a recovery cannot be read: {e}"),
            };
            problems.push(Problem::new(Location::Path(path), what));
        }
        match torn_pieces(&self.dir) {
            Ok(pieces) => {
                for (saved_as, path) in pieces {
                    if !logged.iter().any(|(s, _)| *s == saved_as) {
                        problems.push(Problem::new(Location::Path(path), "in the torn folder, but no recover entry of the custody log names it"));
                    }
                }
            }
            Err(e) => problems.push(Problem::new(Location::Path(self.dir.join(TORN_DIR)), e.to_string())),
        }
    }
}

/// Where `path`'s last line begins when it lacks its line end.
fn torn_line(path: &std::path::Path) -> Result<Option<u64>, Error> {
    // Every import and crawl asks: the last byte answers, and a large log or
    // index is read whole only when it is cut.
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8];
    f.seek(SeekFrom::Start(len - 1)).and_then(|_| f.read_exact(&mut last)).map_err(|e| Error::io(path, e))?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    let text = fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(Some(text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i as u64 + 1)))
}

/// `path`'s bytes from `offset` to its end.
fn read_from(path: &std::path::Path, offset: u64) -> Result<Vec<u8>, Error> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    f.seek(SeekFrom::Start(offset)).and_then(|_| f.read_to_end(&mut bytes)).map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// File `path` from `offset` on, to read.
fn tail_of(path: &std::path::Path, offset: u64) -> Result<File, Error> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    f.seek(SeekFrom::Start(offset)).map_err(|e| Error::io(path, e))?;
    Ok(f)
}

/// Whether the bytes of `tail` are a gzip member of this store's cut short, as a kill
/// while writing a record leaves it: they begin with the 10-byte header the
/// store writes (deflate, no flags or time, the OS unknown; the extra flags
/// byte as flate2 sets it for the level), what inflates begins a WARC
/// record, and inflating runs out of bytes before the member's trailer is
/// read whole. A whole member, bytes that do not inflate, and members no
/// store writes are no kill's. (Bytes added after a kill's cut that inflate
/// on as deflate data cannot be told from the cut's own.)
/// Read from `tail` as it streams: a cut dataset member can be hundreds of
/// megabytes, and bytes added by hand any size.
fn is_cut_member(tail: impl std::io::Read) -> std::io::Result<bool> {
    const HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
    let mut tail = std::io::BufReader::new(tail);
    let mut first = Vec::with_capacity(HEADER.len());
    (&mut tail).take(HEADER.len() as u64).read_to_end(&mut first)?;
    let starts_as_written = first.iter().zip(HEADER).enumerate().all(|(i, (&b, h))| b == h || (i == 8 && matches!(b, 2 | 4)));
    if first.is_empty() || !starts_as_written {
        return Ok(false);
    }
    const WARC: &[u8] = b"WARC/";
    let mut inflated = flate2::read::GzDecoder::new(first.chain(tail));
    let (mut head, mut sink) = (Vec::with_capacity(WARC.len()), vec![0u8; 64 << 10]);
    loop {
        match inflated.read(&mut sink) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                let room = WARC.len() - head.len();
                head.extend_from_slice(&sink[..n.min(room)]);
                if !WARC.starts_with(&head) {
                    return Ok(false);
                }
            }
            Err(e) => return Ok(e.kind() == std::io::ErrorKind::UnexpectedEof),
        }
    }
}

/// How an evidence file ends; see [`EvidenceStore::member_tail`].
enum Tail {
    /// With its last complete record.
    Whole,
    /// With a member a kill cut short, from this offset.
    Torn(u64),
    /// With bytes no kill leaves, from this offset.
    Other(u64),
}

/// The pieces in [`TORN_DIR`]: `(saved_as, path)`, in name order.
fn torn_pieces(dir: &std::path::Path) -> Result<Vec<(String, std::path::PathBuf)>, Error> {
    let torn = dir.join(TORN_DIR);
    let rd = match fs::read_dir(&torn) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&torn, e)),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(&torn, e))?;
        out.push((format!("{TORN_DIR}/{}", e.file_name().to_string_lossy()), e.path()));
    }
    out.sort();
    Ok(out)
}
