//! What the chunked tables share: `feedback_chunks` (see
//! [`feedback_chunks`](crate::feedback_chunks)) and `listing_chunks` (see
//! [`listing_chunks`](crate::listing_chunks)).
//!
//! A dataset file is one evidence record with a million listings or
//! millions of feedback rows. As table rows (an id, the 64-digit evidence,
//! profile and rule each, and their indexes) storing and reading them back
//! took most of an import. Instead the rows of one page, one account
//! (market, vendor) and one window of [`WINDOW`] row ordinals are one chunk:
//! a compressed blob of the rows (in the format its `format` column names)
//! without what the chunk row already says. Readers see the same [`Stored`](crate::Stored) rows, with the same
//! ids, as from the tables: the store's API does not change.
//!
//! Why windows: `row(id)` finds a row by its ordinal, so it decodes only the
//! chunks of one window of one page, not the whole file.

use std::hash::BuildHasher;

use rusqlite::{params, Connection};

use model::Sha256;

use crate::ids::RowId;
use crate::{Filter, Result, StoreError};

/// Row ordinals per window.
pub(crate) const WINDOW: usize = 1 << 20;

/// Decoding never claims more than this (a damaged length prefix must give
/// an error, not an allocation of whatever it says).
pub(crate) const DECODE_LIMIT: usize = 1 << 31;

/// The `compression` of chunks written now: the rows of one account repeat
/// their titles, dates, buyers and rule names, so a chunk shrinks several
/// times over (the store of a 10M-feedback import: 1.8 GB of chunks as plain
/// bincode), and SQLite writes and reads that much less.
pub(crate) const LZ4: &str = "lz4";

/// A chunked table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Feedback,
    Listings,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Feedback => "feedback_chunks",
            Table::Listings => "listing_chunks",
        }
    }

    /// The row format its chunks are written in now (the `format` column,
    /// migration 9; chunks written before are format 1).
    pub(crate) fn format_written(self) -> i64 {
        match self {
            Table::Feedback => crate::feedback_chunks::FORMAT,
            Table::Listings => 1,
        }
    }

    /// What its rows are called in messages.
    fn rows(self) -> &'static str {
        match self {
            Table::Feedback => "feedback",
            Table::Listings => "listing",
        }
    }
}

pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Db { context, source }
}

pub(crate) fn bad_chunk(table: Table, evidence: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Chunk { context: format!("{} chunk of page {evidence}: {e}", table.rows()) }
}

/// A chunk's key: market, vendor, window.
pub(crate) type Key<'a> = (&'a str, Option<&'a str>, usize);

/// The indexes of `rows` grouped by account and window, in row order within
/// each, the groups in key order: what [`ChunkEncoder`] makes chunks of,
/// written plainly (its tests hold it to this). Hashed, not a `BTreeMap`: a tree compared
/// the market and vendor text of every row with its neighbours'; and a row
/// usually has the key of the row before it, so that is tried first.
#[cfg(test)]
pub(crate) fn group<'a, T>(rows: &'a [T], account: impl Fn(&'a T) -> (&'a str, Option<&'a str>)) -> Vec<(Key<'a>, Vec<u32>)> {
    let mut index: std::collections::HashMap<Key<'_>, usize, foldhash::fast::RandomState> = Default::default();
    let mut groups: Vec<(Key<'_>, Vec<u32>)> = Vec::new();
    let mut last: Option<usize> = None;
    for (i, row) in rows.iter().enumerate() {
        let (market, vendor) = account(row);
        let key = (market, vendor, i / WINDOW);
        let g = match last {
            Some(g) if groups[g].0 == key => g,
            _ => *index.entry(key).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            }),
        };
        groups[g].1.push(i as u32);
        last = Some(g);
    }
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    groups
}

// bincode's encodings (`config::standard()`), written by hand by the row
// encoders of both tables.

/// bincode's varint (`config::standard()`): one byte below 251, else a
/// marker and the little-endian integer of the smallest width that holds it.
pub(crate) fn varint(out: &mut Vec<u8>, n: u64) {
    if n < 251 {
        out.push(n as u8);
    } else if n <= u64::from(u16::MAX) {
        out.push(251);
        out.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(252);
        out.extend_from_slice(&(n as u32).to_le_bytes());
    } else {
        out.push(253);
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// bincode's string: its length, then its bytes.
pub(crate) fn text(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// bincode's optional string: a tag, then the string when there is one.
pub(crate) fn maybe(out: &mut Vec<u8>, s: Option<&str>) {
    option(out, s, text);
}

/// bincode's option: a tag, then the value `write` writes when there is one.
pub(crate) fn option<T>(out: &mut Vec<u8>, v: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            write(out, v);
        }
    }
}

/// A row reader's result: a message for damaged bytes.
pub(crate) type Read<T> = std::result::Result<T, &'static str>;

/// Reads bincode's encodings (`config::standard()`) back by hand, for the
/// row readers of both tables: bincode's serde path made a call per field
/// and was half the cost of reading millions of rows back. Damaged bytes
/// are an error, never a panic or an allocation larger than the bytes could
/// hold.
///
/// It notes whether every byte read since [`RowReader::start_row`] other
/// than strings' contents (tags, lengths, counts, integers) was below 0x80:
/// then those bytes are ASCII characters, and a row's bytes are UTF-8
/// exactly when each of its strings is (an ASCII byte is a whole
/// character, never part of one), so they are checked in one go
/// ([`RowReader::row_text`]). A string's length written wide, even of a
/// small value (bincode reads those too), is not ASCII.
pub(crate) struct RowReader<'a> {
    bytes: &'a [u8],
    /// Where the current row started.
    row: &'a [u8],
    ascii: bool,
}

// `#[inline]` throughout: the readers are in other modules, so other codegen
// units, where these were calls per field (reading 10M feedback rows back
// took twice as long).
impl<'a> RowReader<'a> {
    #[inline]
    pub(crate) fn new(bytes: &'a [u8]) -> RowReader<'a> {
        RowReader { bytes, row: bytes, ascii: true }
    }

    /// Starts a row here: [`RowReader::row_text`] covers what is read from now.
    #[inline]
    pub(crate) fn start_row(&mut self) {
        self.row = self.bytes;
        self.ascii = true;
    }

    /// The row read since [`RowReader::start_row`] as text, when its bytes
    /// other than strings were all ASCII (`None` when not: check each
    /// string alone); an error when they were and it is not UTF-8.
    #[inline]
    pub(crate) fn row_text(&self) -> Read<Option<&'a str>> {
        match self.ascii {
            true => std::str::from_utf8(&self.row[..self.row.len() - self.bytes.len()]).map(Some).map_err(|_| NOT_UTF8),
            false => Ok(None),
        }
    }

    /// A string of the current row: a slice of its checked text
    /// ([`RowReader::row_text`]), or checked alone.
    #[inline]
    pub(crate) fn str_in(&self, row_text: Option<&'a str>, b: &'a [u8]) -> Read<&'a str> {
        match row_text {
            Some(whole) => {
                let at = b.as_ptr() as usize - self.row.as_ptr() as usize;
                whole.get(at..at + b.len()).ok_or(NOT_UTF8)
            }
            None => std::str::from_utf8(b).map_err(|_| NOT_UTF8),
        }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Read<&'a [u8]> {
        let Some((head, rest)) = self.bytes.split_at_checked(n) else { return Err("more bytes claimed than are left") };
        self.bytes = rest;
        Ok(head)
    }

    #[inline]
    pub(crate) fn byte(&mut self) -> Read<u8> {
        let b = self.take(1)?[0];
        self.ascii &= b < 0x80;
        Ok(b)
    }

    /// bincode's varint of an integer of `max_marker`'s width at most
    /// (252: u32, 253: u64).
    #[inline]
    pub(crate) fn varint(&mut self, max_marker: u8) -> Read<u64> {
        let le = |b: &[u8]| b.iter().rev().fold(0u64, |n, &d| n << 8 | u64::from(d));
        match self.byte()? {
            n @ 0..=250 => Ok(u64::from(n)),
            251 => Ok(le(self.take(2)?)),
            252 if max_marker >= 252 => Ok(le(self.take(4)?)),
            253 if max_marker >= 253 => Ok(le(self.take(8)?)),
            _ => Err("an integer marker out of place"),
        }
    }

    /// A count of elements to come (a `usize`), each of at least `least`
    /// bytes: what may be reserved for them is bounded by the bytes left.
    #[inline]
    pub(crate) fn count(&mut self, least: usize) -> Read<(u64, usize)> {
        let n = self.varint(253)?;
        Ok((n, usize::try_from(n).unwrap_or(usize::MAX).min(self.bytes.len() / least.max(1))))
    }

    /// A string's bytes, not checked for UTF-8 yet.
    #[inline]
    pub(crate) fn text(&mut self) -> Read<&'a [u8]> {
        let len = self.varint(253)?;
        self.take(usize::try_from(len).map_err(|_| "a string longer than memory")?)
    }

    /// bincode's option: `read` reads the value after a tag of 1.
    #[inline]
    pub(crate) fn maybe<T>(&mut self, read: impl FnOnce(&mut Self) -> Read<T>) -> Read<Option<T>> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err("an option tag past 1"),
        }
    }
}

/// Chunk bytes damaged for the readers' property tests: a byte changed,
/// then the bytes cut short, then bytes added.
#[cfg(test)]
pub(crate) fn damage(plain: &mut Vec<u8>, change: Option<(proptest::sample::Index, u8)>, cut: Option<proptest::sample::Index>, tail: &[u8]) {
    if let Some((at, to)) = change {
        if !plain.is_empty() {
            let i = at.index(plain.len());
            plain[i] = to;
        }
    }
    if let Some(at) = cut {
        plain.truncate(at.index(plain.len() + 1));
    }
    plain.extend_from_slice(tail);
}

/// The message for a string that is not UTF-8.
pub(crate) const NOT_UTF8: &str = "a string that is not UTF-8";

/// Encodes a page's rows of one chunked table one at a time, as they come,
/// into its chunks (the rows of each key, in the order taken, the chunks in
/// key order).
///
/// Rows are written as they come into blocks that are never grown, and
/// each run of rows of one chunk is noted; [`ChunkEncoder::finish`] gathers
/// each chunk's runs, in key order, and compresses them. A buffer per chunk,
/// grown as rows came, copied each row about once more and touched twice
/// its memory: a tenth of a 10M-row import's encoding, most of it page
/// faults. Rows encoded as they are read are also encoded while they are in
/// the cache, not after a file's million records are built.
pub(crate) struct ChunkEncoder {
    groups: Vec<Group>,
    /// Group numbers by their key's (market, vendor, window) hash.
    index: hashbrown::HashTable<usize>,
    hasher: foldhash::fast::RandomState,
    /// The last row's group, with a copy of its key: a row usually has the
    /// key of the row before it, compared here rather than in the group (a
    /// cache miss per row among thousands of groups).
    last: Option<usize>,
    last_key: OwnedKey,
    rows: u64,
    /// The rows as written, in the order taken.
    blocks: Vec<Vec<u8>>,
    /// A new block's capacity.
    block_size: usize,
    /// Runs of rows of one group written one after another in one block.
    runs: Vec<Run>,
    /// Where blocks come from and go back to, if shared.
    pool: Option<BlockPool>,
}

/// Blocks of encoded rows handed from one page's encoders to the next (an
/// import of many dataset files shares one): a finished page's blocks are
/// written again, where new ones were faulted in page by page (and the
/// allocator gave freed ones back to the system in between), a tenth of the
/// encoding's time. Every block given back is kept: a block is only made
/// when none is free, so the pool never holds more than were in use at
/// once (a cap of 256 freed about 220 of the 473 blocks that two files of
/// the 10M bench gave back, and the next two files made as many anew).
/// Memory goes when the last clone of the pool does.
#[derive(Clone, Default)]
pub struct BlockPool(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl BlockPool {
    /// Blocks held.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.0.lock().map_or(0, |free| free.len())
    }

    /// An empty block of `size` bytes' capacity.
    fn take(&self, size: usize) -> Vec<u8> {
        let kept = self.0.lock().ok().and_then(|mut free| free.pop()).filter(|b| b.capacity() == size);
        kept.unwrap_or_else(|| Vec::with_capacity(size))
    }

    /// Keeps `blocks` (of `size` bytes' capacity; others, grown by a large
    /// row, are freed) for the next encoders.
    fn give(&self, blocks: Vec<Vec<u8>>, size: usize) {
        let Ok(mut free) = self.0.lock() else { return };
        for mut b in blocks {
            if b.capacity() == size {
                b.clear();
                free.push(b);
            }
        }
    }
}

struct Group {
    key: OwnedKey,
    rows: usize,
}

/// A chunk's [`Key`], owned.
#[derive(Default)]
struct OwnedKey {
    market: String,
    vendor: Option<String>,
    window: usize,
}

impl OwnedKey {
    fn is(&self, market: &str, vendor: Option<&str>, window: usize) -> bool {
        self.window == window && self.market == market && self.vendor.as_deref() == vendor
    }

    /// The key borrowed (what [`ChunkEncoder`] hashes, and orders chunks by).
    fn borrowed(&self) -> Key<'_> {
        (&self.market, self.vendor.as_deref(), self.window)
    }

    /// Becomes this key, in the buffers it has.
    fn set(&mut self, market: &str, vendor: Option<&str>, window: usize) {
        market.clone_into(&mut self.market);
        match (self.vendor.as_mut(), vendor) {
            (Some(kept), Some(v)) => v.clone_into(kept),
            (_, v) => self.vendor = v.map(str::to_owned),
        }
        self.window = window;
    }
}

/// Rows `start..end` of block `block`, `rows` rows all of group `group`.
struct Run {
    group: usize,
    block: usize,
    start: usize,
    end: usize,
    rows: usize,
}

/// A block's capacity: large enough that blocks are few, small enough that
/// a page of a few rows does not touch much (capacity is not touched until
/// written).
pub(crate) const BLOCK_SIZE: usize = 1 << 20;

/// A row starts a new block when less than this is left in the current
/// one, so a row rarely outgrows its block (one that does grows it, a copy
/// of that block only).
const ROW_ROOM: usize = 4 << 10;

impl Default for ChunkEncoder {
    fn default() -> Self {
        ChunkEncoder::with_block_size(BLOCK_SIZE)
    }
}

impl ChunkEncoder {
    /// An encoder writing rows into blocks of `block_size` bytes (tests use
    /// small ones, so rows and runs cross blocks).
    pub(crate) fn with_block_size(block_size: usize) -> ChunkEncoder {
        ChunkEncoder {
            groups: Vec::new(),
            index: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            last: None,
            last_key: OwnedKey::default(),
            rows: 0,
            blocks: Vec::new(),
            block_size,
            runs: Vec::new(),
            pool: None,
        }
    }

    /// An encoder of blocks of `block_size` bytes taken from `pool` and
    /// given back when finished.
    pub(crate) fn with_pool(pool: &BlockPool, block_size: usize) -> ChunkEncoder {
        ChunkEncoder { pool: Some(pool.clone()), ..ChunkEncoder::with_block_size(block_size) }
    }

    /// Takes the page's next row, of account (`market`, `vendor`): `write`
    /// writes it, given its ordinal (the rows taken before) and whether the
    /// row taken just before is of the same chunk (then it is the row before
    /// this one in the chunk too, which a row format may refer to).
    pub(crate) fn push(&mut self, market: &str, vendor: Option<&str>, write: impl FnOnce(&mut Vec<u8>, u32, bool)) {
        let ordinal = self.rows;
        self.rows += 1;
        // Past a chunk's u32 ordinals: refused by `finish`.
        let Ok(ordinal32) = u32::try_from(ordinal) else { return };
        let window = (ordinal / WINDOW as u64) as usize;
        let follows = self.last.is_some() && self.last_key.is(market, vendor, window);
        let g = match self.last {
            Some(g) if follows => g,
            _ => {
                let (groups, hasher) = (&mut self.groups, &self.hasher);
                let hash = hasher.hash_one((market, vendor, window));
                let found = self.index.find(hash, |&g| groups[g].key.is(market, vendor, window)).copied();
                let g = found.unwrap_or_else(|| {
                    let key = OwnedKey { market: market.to_owned(), vendor: vendor.map(str::to_owned), window };
                    groups.push(Group { key, rows: 0 });
                    let g = groups.len() - 1;
                    self.index.insert_unique(hash, g, |&g| hasher.hash_one(groups[g].key.borrowed()));
                    g
                });
                self.last_key.set(market, vendor, window);
                self.last = Some(g);
                g
            }
        };
        let room = self.blocks.last().map_or(0, |b| b.capacity() - b.len());
        if room < ROW_ROOM.min(self.block_size) {
            let block = match &self.pool {
                Some(pool) => pool.take(self.block_size),
                None => Vec::with_capacity(self.block_size),
            };
            self.blocks.push(block);
        }
        let block = self.blocks.len() - 1;
        let bytes = &mut self.blocks[block];
        let start = bytes.len();
        write(bytes, ordinal32, follows);
        let end = bytes.len();
        match self.runs.last_mut() {
            // The last run ends where this row starts when it is in this block.
            Some(run) if run.group == g && run.block == block => {
                run.end = end;
                run.rows += 1;
            }
            _ => self.runs.push(Run { group: g, block, start, end, rows: 1 }),
        }
    }

    /// The rows taken, encoded as the store keeps them: each chunk its row
    /// count (bincode's varint), then its rows as written (page `evidence`
    /// names it in the error for more rows than a chunk can number).
    pub(crate) fn finish(self, table: Table, evidence: &Sha256) -> Result<EncodedTable> {
        let rows = usize::try_from(self.rows).unwrap_or(usize::MAX);
        check_row_count(table, evidence, rows)?;
        let ChunkEncoder { mut groups, blocks, mut runs, pool, block_size, .. } = self;
        // Groups count their rows here, from their runs, not row by row.
        for run in &runs {
            groups[run.group].rows += run.rows;
        }
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_unstable_by(|&a, &b| groups[a].key.borrowed().cmp(&groups[b].key.borrowed()));
        let mut rank = vec![0; groups.len()];
        for (r, &g) in order.iter().enumerate() {
            rank[g] = r;
        }
        // Stable: a group's runs stay in the order their rows were taken.
        runs.sort_by_key(|run| rank[run.group]);
        let mut chunks = Vec::with_capacity(groups.len());
        let mut plain = Vec::new();
        let mut compressor = Compressor::default();
        let mut runs = runs.iter().peekable();
        for &g in &order {
            let group = &groups[g];
            plain.clear();
            varint(&mut plain, group.rows as u64);
            while let Some(run) = runs.next_if(|run| run.group == g) {
                plain.extend_from_slice(&blocks[run.block][run.start..run.end]);
            }
            let data = compressor.compress(&plain);
            chunks.push(EncodedChunk::of_compressed(group.key.borrowed(), group.rows, data));
        }
        if let Some(pool) = pool {
            pool.give(blocks, block_size);
        }
        Ok(EncodedTable { chunks, rows })
    }
}

/// Refuses pages of more rows than a chunk's `u32` ordinals can number.
pub(crate) fn check_row_count(table: Table, evidence: &Sha256, rows: usize) -> Result<()> {
    if u32::try_from(rows).is_err() {
        return Err(bad_chunk(table, &evidence.to_hex(), format!("more than 2^32 {} rows on one page", table.rows())));
    }
    Ok(())
}

/// A page's rows of one chunked table encoded as the store keeps them (part
/// of [`EncodedRows`]).
#[derive(Debug)]
pub(crate) struct EncodedTable {
    pub(crate) chunks: Vec<EncodedChunk>,
    pub(crate) rows: usize,
}

/// One chunk as encoded, to be stored.
#[derive(Debug)]
pub(crate) struct EncodedChunk {
    pub(crate) market: String,
    pub(crate) vendor: Option<String>,
    pub(crate) window: usize,
    pub(crate) rows: usize,
    /// Compressed ([`compress`]).
    pub(crate) data: Vec<u8>,
}

impl EncodedChunk {
    /// The chunk of `key` holding `rows` rows encoded as `plain`.
    #[cfg(test)]
    pub(crate) fn new(key: Key<'_>, rows: usize, plain: &[u8]) -> EncodedChunk {
        EncodedChunk::of_compressed(key, rows, compress(plain))
    }

    /// The chunk of `key` holding `rows` rows stored as `data` ([`compress`]).
    fn of_compressed((market, vendor, window): Key<'_>, rows: usize, data: Vec<u8>) -> EncodedChunk {
        EncodedChunk { market: market.to_owned(), vendor: vendor.map(str::to_owned), window, rows, data }
    }
}

/// Stores a page's chunks (the caller cleared the page's old ones).
pub(crate) fn insert(conn: &Connection, table: Table, evidence: &Sha256, chunks: &[EncodedChunk]) -> Result<()> {
    let ev = evidence.to_hex();
    let mut st = conn
        .prepare_cached(&format!(
            "INSERT INTO {} (evidence, market, vendor, ordinal_window, rows, data, compression, format) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            table.name()
        ))
        .map_err(db(format!("preparing the {} chunk insert", table.rows())))?;
    for c in chunks {
        st.execute(params![ev, c.market, c.vendor, c.window as i64, c.rows as i64, c.data, LZ4, table.format_written()])
            .map_err(db(format!("storing a {} chunk of page {ev}", table.rows())))?;
    }
    Ok(())
}

/// A chunk's bytes as stored: its plain length (4 bytes, little-endian),
/// then an LZ4 block.
pub(crate) fn compress(plain: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(plain)
}

/// [`compress`] for many chunks in a row, with the same bytes out: its
/// output buffer and hash tables are kept from chunk to chunk, where
/// `compress` allocates a zeroed buffer of the largest output (most of it
/// never written) and shrinks it, for each of a file's tens of thousands.
#[derive(Default)]
struct Compressor {
    out: Vec<u8>,
    // lz4_flex picks its table by input size, as `compress` does; each is
    // cleared before use, so the output is that of a fresh table.
    small: Option<lz4_flex::block::CompressTable>,
    large: Option<lz4_flex::block::CompressTable>,
}

impl Compressor {
    fn compress(&mut self, plain: &[u8]) -> Vec<u8> {
        use lz4_flex::block::{compress_into_with_table, get_maximum_output_size, CompressTable};
        let table = match plain.len() < usize::from(u16::MAX) {
            true => self.small.get_or_insert_with(CompressTable::small),
            false => self.large.get_or_insert_with(CompressTable::large),
        };
        let most = get_maximum_output_size(plain.len());
        if self.out.len() < most {
            self.out.resize(most, 0);
        }
        // Cannot fail: the buffer holds the largest output there can be.
        let Ok(n) = compress_into_with_table(plain, &mut self.out[..most], table) else {
            return compress(plain);
        };
        let mut data = Vec::with_capacity(4 + n);
        // The length as `compress_prepend_size` writes it.
        data.extend_from_slice(&(plain.len() as u32).to_le_bytes());
        data.extend_from_slice(&self.out[..n]);
        data
    }
}

/// A stored chunk's plain bytes. The length it claims is checked against
/// what an LZ4 block of its size can hold (at most 255 bytes out per byte
/// in) and [`DECODE_LIMIT`] before anything is allocated.
fn decompress(table: Table, evidence: &str, stored: &[u8]) -> Result<Vec<u8>> {
    let (len, block) = match stored.split_first_chunk::<4>() {
        Some((len, block)) => (u32::from_le_bytes(*len) as usize, block),
        None => return Err(bad_chunk(table, evidence, "compressed chunk shorter than its length")),
    };
    if len > DECODE_LIMIT || len > block.len().saturating_mul(255) {
        return Err(bad_chunk(table, evidence, format!("compressed chunk claims {len} bytes from {} stored", block.len())));
    }
    let mut plain = vec![0u8; len];
    let n = lz4_flex::block::decompress_into(block, &mut plain).map_err(|e| bad_chunk(table, evidence, e))?;
    if n != len {
        return Err(bad_chunk(table, evidence, format!("compressed chunk gave {n} bytes, not the {len} it claims")));
    }
    Ok(plain)
}

/// Removes a page's chunks.
pub(crate) fn delete(conn: &Connection, table: Table, evidence: &str) -> Result<()> {
    conn.execute(&format!("DELETE FROM {} WHERE evidence = ?1", table.name()), [evidence])
        .map_err(db(format!("clearing old {} chunks of page {evidence}", table.rows())))?;
    Ok(())
}

/// A chunk as read, not decoded yet (nor decompressed: that is the
/// decoding thread's work).
pub(crate) struct RawChunk {
    pub(crate) table: Table,
    pub(crate) evidence: String,
    pub(crate) market: String,
    pub(crate) vendor: Option<String>,
    /// The rows its `rows` column claims (unchecked: only a hint of room to
    /// reserve, see [`room_for_rows`]).
    claimed_rows: usize,
    /// As stored.
    data: Vec<u8>,
    /// As stored: None (plain) or [`LZ4`].
    compression: Option<String>,
    /// Its rows' format as stored (see [`Table::format_written`]).
    format: i64,
    /// `data` decompressed, once (rows read in place borrow from it).
    plain: std::cell::OnceCell<Vec<u8>>,
}

impl RawChunk {
    /// A chunk of page `evidence` with these `data`, `compression` and
    /// `format` columns, as a reader would get it.
    pub(crate) fn of_columns(table: Table, evidence: &Sha256, data: &[u8], compression: Option<&str>, format: i64) -> RawChunk {
        RawChunk {
            table,
            evidence: evidence.to_hex(),
            market: "m".into(),
            vendor: None,
            claimed_rows: 0,
            data: data.to_vec(),
            compression: compression.map(str::to_owned),
            format,
            plain: std::cell::OnceCell::new(),
        }
    }

    /// A `SELECT evidence, market, vendor, data, compression, rows, format` row.
    fn of_row(table: Table, r: &rusqlite::Row<'_>) -> rusqlite::Result<RawChunk> {
        Ok(RawChunk {
            table,
            evidence: r.get(0)?,
            market: r.get(1)?,
            vendor: r.get(2)?,
            data: r.get(3)?,
            compression: r.get(4)?,
            claimed_rows: usize::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
            format: r.get(6)?,
            plain: std::cell::OnceCell::new(),
        })
    }

    /// Its rows' format as stored.
    pub(crate) fn format(&self) -> i64 {
        self.format
    }

    /// The error for a chunk whose rows are in a format this build does not know.
    pub(crate) fn unknown_format(&self) -> StoreError {
        self.bad(format!("unknown row format {} (from a newer dragnet?)", self.format))
    }

    /// Its size as stored.
    pub(crate) fn stored_len(&self) -> usize {
        self.data.len()
    }

    /// The page it is of.
    pub(crate) fn evidence(&self) -> Result<Sha256> {
        self.evidence.parse().map_err(|_| self.bad("evidence is not a digest"))
    }

    /// An error naming this chunk's table and page.
    pub(crate) fn bad(&self, e: impl std::fmt::Display) -> StoreError {
        bad_chunk(self.table, &self.evidence, e)
    }

    /// The chunk's plain bytes (its rows in its format).
    pub(crate) fn plain(&self) -> Result<&[u8]> {
        match self.compression.as_deref() {
            None => Ok(&self.data),
            Some(LZ4) => {
                if let Some(p) = self.plain.get() {
                    return Ok(p);
                }
                let p = decompress(self.table, &self.evidence, &self.data)?;
                Ok(self.plain.get_or_init(|| p))
            }
            Some(other) => Err(self.bad(format!("unknown compression {other:?} (from a newer dragnet?)"))),
        }
    }
}

/// Room to reserve for the rows of `chunks` before decoding them (a vector
/// grown row by row across a million rows copied them several times): the
/// rows their `rows` columns claim, each chunk's claim capped by the most
/// rows its stored bytes could hold (an LZ4 byte gives at most 255, a row
/// takes at least 10), since a damaged case file can claim anything. Room
/// is taken with `try_reserve`, so a claim too large to allocate is no
/// failure either.
pub(crate) fn room_for_rows(chunks: &[RawChunk]) -> usize {
    chunks.iter().map(|c| c.claimed_rows.min(c.data.len().saturating_mul(26))).fold(0, usize::saturating_add)
}

/// Every chunk the filter's market and vendor select (the limit is the caller's).
pub(crate) fn read(conn: &Connection, table: Table, f: &Filter, where_market_vendor: &str) -> Result<Vec<RawChunk>> {
    let mut st = conn
        .prepare_cached(&format!("SELECT evidence, market, vendor, data, compression, rows, format FROM {} {where_market_vendor}", table.name()))
        .map_err(db(format!("preparing the {} chunk query", table.rows())))?;
    let rows = st
        .query_map(params![f.market, f.vendor], |r| RawChunk::of_row(table, r))
        .map_err(db(format!("reading {} chunks", table.rows())))?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db(format!("reading {} chunks", table.rows())))
}

/// The row with this id in a chunked table, if any: the chunks of its page
/// prefix and window are read, and `decode` appends the rows of one whose
/// ordinal is the id's (given that ordinal).
pub(crate) fn row<T>(
    conn: &Connection,
    table: Table,
    id: &RowId,
    decode: impl Fn(&RawChunk, usize, &mut Vec<crate::Stored<T>>) -> Result<()>,
) -> Result<Option<T>> {
    let Some((hex16, ordinal)) = id.page_and_ordinal() else { return Ok(None) };
    // Digests are lower-case hex: every digest starting with `hex16` sorts in [hex16, hex16 + "g").
    let mut st = conn
        .prepare_cached(&format!(
            "SELECT evidence, market, vendor, data, compression, rows, format FROM {} WHERE evidence >= ?1 AND evidence < ?2 AND ordinal_window = ?3",
            table.name()
        ))
        .map_err(db(format!("preparing the {} chunk lookup", table.rows())))?;
    let chunks = st
        .query_map(params![hex16, format!("{hex16}g"), (ordinal / WINDOW) as i64], |r| RawChunk::of_row(table, r))
        .map_err(db(format!("looking up a {} chunk", table.rows())))?;
    let mut found = Vec::new();
    for c in chunks {
        decode(&c.map_err(db(format!("reading a {} chunk", table.rows())))?, ordinal, &mut found)?;
    }
    Ok(found.into_iter().find(|s| &s.id == id).map(|s| s.record))
}

/// Rows in a chunked table.
pub(crate) fn count(conn: &Connection, table: Table) -> Result<u64> {
    conn.query_row(&format!("SELECT COALESCE(SUM(rows), 0) FROM {}", table.name()), [], |r| r.get::<_, i64>(0))
        .map(|v| v.max(0) as u64)
        .map_err(db(format!("counting {} chunks", table.rows())))
}

/// A dataset page's listings and feedback encoded as the store keeps them:
/// made by [`EncodedRows::encode`] on any thread, stored by
/// [`CaseStore::put_page_encoded`](crate::CaseStore::put_page_encoded), so
/// the thread that writes the store does not also encode millions of rows.
#[derive(Debug)]
pub struct EncodedRows {
    evidence: Sha256,
    pub(crate) listings: EncodedTable,
    pub(crate) feedback: EncodedTable,
}

impl EncodedRows {
    /// Encodes the listings and feedback rows of page `evidence`.
    pub fn encode(evidence: &Sha256, listings: &[model::Listing], feedback: &[model::Feedback]) -> Result<EncodedRows> {
        Ok(EncodedRows {
            evidence: *evidence,
            listings: crate::listing_chunks::encode(evidence, listings)?,
            feedback: crate::feedback_chunks::encode(evidence, feedback)?,
        })
    }

    /// [`EncodedRows::encode`] of the listings and feedback rows the
    /// encoders took as they were read.
    pub fn of_encoders(evidence: &Sha256, listings: crate::ListingEncoder, feedback: crate::FeedbackEncoder) -> Result<EncodedRows> {
        Ok(EncodedRows { evidence: *evidence, listings: listings.finish(evidence)?, feedback: feedback.finish(evidence)? })
    }

    /// The page they are the rows of.
    pub fn evidence(&self) -> &Sha256 {
        &self.evidence
    }

    /// Listings encoded.
    pub fn listing_rows(&self) -> usize {
        self.listings.rows
    }

    /// Feedback rows encoded.
    pub fn feedback_rows(&self) -> usize {
        self.feedback.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Inputs that compress (runs of a few words) or do not (noise), of
    /// sizes either side of the 64 KiB where lz4_flex changes tables.
    fn input() -> impl Strategy<Value = Vec<u8>> {
        let words = prop::collection::vec(prop::sample::select(vec![&b"mdma "[..], b"0.25 BTC ", b"great vendor ", b"\x00\x01"]), 0..20_000)
            .prop_map(|w| w.concat());
        prop_oneof![words, prop::collection::vec(any::<u8>(), 0..70_000)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        // One compressor over a sequence (buffer and tables reused, large
        // inputs among small) writes what a fresh `compress` writes each.
        #[test]
        fn a_reused_compressor_writes_what_compress_writes(inputs in prop::collection::vec(input(), 1..6)) {
            let mut compressor = Compressor::default();
            for plain in &inputs {
                let data = compressor.compress(plain);
                prop_assert_eq!(&data, &compress(plain));
                prop_assert_eq!(&decompress(Table::Feedback, "test", &data).unwrap(), plain);
            }
        }
    }
}
