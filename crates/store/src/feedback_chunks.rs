//! The feedback of dataset files, kept in chunks (see [`chunks`](crate::chunks)
//! for what the chunked tables share): here, the feedback row formats, their
//! hand-written encoder and readers, and the readers' views of the rows.
//!
//! Format 1 (chunks written before migration 9) is bincode's
//! (`config::standard()`) of a `Vec<ChunkRow>`. Format 2 ([`FORMAT`],
//! written now) is format 1 with what a row shares with the row before it
//! left out: each row starts with a byte of flags ([`NEXT_ORDINAL`],
//! `SAME_*`), then has format 1's fields in format 1's encoding, less those
//! the flags say are the row before's. A dataset row's feedback entries
//! follow one another in their account's chunk and share its listing
//! title, observation time, profile and rule (row and line): about half of
//! each row's bytes in the 10M-row bench, which were written, compressed,
//! stored, decompressed and read again for nothing.

use serde::Deserialize;
#[cfg(test)]
use serde::Serialize;

#[cfg(test)]
use model::Money;
use model::{Feedback, Sha256};

use crate::chunks::{maybe, option, text, varint, ChunkEncoder, EncodedTable, RawChunk, RowReader, Table, DECODE_LIMIT};
use crate::ids::{RowId, RowKind};
use crate::{FeedbackRef, FeedbackRefId, Result, Stored};

/// One feedback row in a chunk, as written: [`ChunkRow`] borrowing from the
/// record (bincode encodes a borrowed string as it does an owned one), so a
/// page's millions of rows are not copied to be encoded. Fields in the same
/// order as [`ChunkRow`]'s: the test `chunk_rows_encode_as_they_decode` holds
/// them together. Written by [`write_row`]; in format 1 by
/// `write_bincode_rows` (tests), which bincode writes the same.
#[derive(Clone, Copy)]
#[cfg_attr(test, derive(Serialize))]
struct ChunkRowRef<'a> {
    ordinal: u32,
    listing: Option<&'a str>,
    date: Option<&'a str>,
    rating: Option<&'a str>,
    text: Option<&'a str>,
    buyer: Option<&'a str>,
    price: Option<MoneyRef<'a>>,
    observed_at: Option<&'a str>,
    profile: &'a str,
    rule: &'a str,
}

/// [`Money`] borrowed, as written (bincode writes it as it writes `Money`).
#[derive(Clone, Copy, PartialEq)]
#[cfg_attr(test, derive(Serialize))]
struct MoneyRef<'a> {
    amount: &'a str,
    currency: &'a str,
}

/// One feedback row in a chunk, owned: the format written down apart from
/// the shapes that write and read it (the test
/// `chunk_rows_encode_as_they_decode` holds them to it).
#[cfg(test)]
#[derive(Deserialize, Serialize, Debug, PartialEq)]
struct ChunkRow {
    ordinal: u32,
    listing: Option<String>,
    date: Option<String>,
    rating: Option<String>,
    text: Option<String>,
    buyer: Option<String>,
    price: Option<Money>,
    observed_at: Option<String>,
    profile: String,
    rule: String,
}

/// One feedback row in a chunk, decoded in place: [`ChunkRow`] with its
/// strings borrowed from the chunk's bytes (same fields, same order). Read
/// by [`read_rows_into`]; in format 1 bincode reads it the same (held
/// together by [`decode_stored_chunk`] and its fuzz target).
#[derive(Deserialize, Debug, PartialEq, Clone, Copy, Default)]
struct ChunkRowBorrowed<'a> {
    ordinal: u32,
    #[serde(borrow)]
    listing: Option<&'a str>,
    #[serde(borrow)]
    date: Option<&'a str>,
    #[serde(borrow)]
    rating: Option<&'a str>,
    #[serde(borrow)]
    text: Option<&'a str>,
    #[serde(borrow)]
    buyer: Option<&'a str>,
    #[serde(borrow)]
    price: Option<MoneyBorrowed<'a>>,
    #[serde(borrow)]
    observed_at: Option<&'a str>,
    profile: &'a str,
    rule: &'a str,
}

/// [`Money`] borrowed.
#[derive(Deserialize, Debug, PartialEq, Clone, Copy)]
struct MoneyBorrowed<'a> {
    amount: &'a str,
    currency: &'a str,
}

/// Encodes the feedback rows of page `evidence` (part of
/// [`EncodedRows`](crate::EncodedRows)).
pub(crate) fn encode(evidence: &Sha256, feedback: &[Feedback]) -> Result<EncodedTable> {
    let mut encoder = FeedbackEncoder::default();
    for f in feedback {
        encoder.push(f.borrowed());
    }
    encoder.finish(evidence)
}

/// Encodes a page's feedback rows one at a time, as they are read (a
/// dataset importer hands them over borrowed from the row it is reading:
/// millions of rows are never held as records), into the chunks
/// [`encode`] makes of the same rows in the same order (see
/// [`ChunkEncoder`] for how).
#[derive(Default)]
pub struct FeedbackEncoder {
    chunks: ChunkEncoder,
    /// What the next row may share with the row taken last.
    last: LastRow,
}

impl FeedbackEncoder {
    /// An encoder writing into `chunks`.
    fn of(chunks: ChunkEncoder) -> Self {
        FeedbackEncoder { chunks, last: LastRow::default() }
    }

    /// An encoder whose blocks come from and go back to `pool`.
    pub fn with_pool(pool: &crate::BlockPool) -> Self {
        FeedbackEncoder::of(ChunkEncoder::with_pool(pool, crate::chunks::BLOCK_SIZE))
    }

    /// Takes the page's next feedback row (its ordinal: the rows taken before).
    pub fn push(&mut self, f: model::FeedbackRef<'_>) {
        let last = &mut self.last;
        self.chunks.push(f.market, f.vendor, |out, ordinal, follows| {
            let row = ChunkRowRef::of(ordinal, f);
            // Only the row just before in the chunk may be referred to.
            let same = if follows { shared(&last.row(), &row) } else { 0 };
            write_row(out, row, same);
            last.remember(&row, same);
        });
    }

    /// The rows taken, encoded as the store keeps them (page `evidence`
    /// names it in the error for more rows than a chunk can number).
    pub(crate) fn finish(self, evidence: &Sha256) -> Result<EncodedTable> {
        self.chunks.finish(Table::Feedback, evidence)
    }
}

/// The row format written now (see the module's doc).
pub(crate) const FORMAT: i64 = 2;

/// Format 2's flags: the row's ordinal is the row before's plus one (and
/// not written).
const NEXT_ORDINAL: u8 = 1;
/// The listing title (or its absence) is the row before's.
const SAME_LISTING: u8 = 1 << 1;
/// The price (or its absence) is the row before's.
const SAME_PRICE: u8 = 1 << 2;
/// The observation time (or its absence) is the row before's.
const SAME_OBSERVED_AT: u8 = 1 << 3;
/// The profile is the row before's.
const SAME_PROFILE: u8 = 1 << 4;
/// The rule is the row before's.
const SAME_RULE: u8 = 1 << 5;
/// Every flag there is.
const FLAGS: u8 = (1 << 6) - 1;

/// What `row` shares with `before`, the row before it in its chunk, as
/// format 2's flags.
fn shared(before: &ChunkRowRef<'_>, row: &ChunkRowRef<'_>) -> u8 {
    [
        (before.ordinal.checked_add(1) == Some(row.ordinal), NEXT_ORDINAL),
        (before.listing == row.listing, SAME_LISTING),
        (before.price == row.price, SAME_PRICE),
        (before.observed_at == row.observed_at, SAME_OBSERVED_AT),
        (before.profile == row.profile, SAME_PROFILE),
        (before.rule == row.rule, SAME_RULE),
    ]
    .into_iter()
    .filter(|&(same, _)| same)
    .fold(0, |flags, (_, flag)| flags | flag)
}

/// The fields of the row an encoder took last that a row may share, owned
/// (the rows it takes are borrowed from a record read one at a time).
#[derive(Default)]
struct LastRow {
    ordinal: u32,
    listing: Option<String>,
    price: Option<(String, String)>,
    observed_at: Option<String>,
    profile: String,
    rule: String,
}

impl LastRow {
    /// Its fields as a row (those a row cannot share: none).
    fn row(&self) -> ChunkRowRef<'_> {
        ChunkRowRef {
            ordinal: self.ordinal,
            listing: self.listing.as_deref(),
            date: None,
            rating: None,
            text: None,
            buyer: None,
            price: self.price.as_ref().map(|(amount, currency)| MoneyRef { amount, currency }),
            observed_at: self.observed_at.as_deref(),
            profile: &self.profile,
            rule: &self.rule,
        }
    }

    /// Takes `row`'s fields, in the buffers it has (those `same` flags
    /// are `row`'s already).
    fn remember(&mut self, row: &ChunkRowRef<'_>, same: u8) {
        fn keep(kept: &mut Option<String>, v: Option<&str>) {
            match (kept.as_mut(), v) {
                (Some(k), Some(v)) => v.clone_into(k),
                (_, v) => *kept = v.map(str::to_owned),
            }
        }
        self.ordinal = row.ordinal;
        if same & SAME_LISTING == 0 {
            keep(&mut self.listing, row.listing);
        }
        if same & SAME_PRICE == 0 {
            self.price = row.price.map(|m| (m.amount.to_owned(), m.currency.to_owned()));
        }
        if same & SAME_OBSERVED_AT == 0 {
            keep(&mut self.observed_at, row.observed_at);
        }
        if same & SAME_PROFILE == 0 {
            row.profile.clone_into(&mut self.profile);
        }
        if same & SAME_RULE == 0 {
            row.rule.clone_into(&mut self.rule);
        }
    }
}

impl<'a> ChunkRowRef<'a> {
    fn of(ordinal: u32, f: model::FeedbackRef<'a>) -> ChunkRowRef<'a> {
        let (profile, rule) = f.provenance.map_or(("", ""), |(_, profile, rule)| (profile, rule));
        ChunkRowRef {
            ordinal,
            listing: f.listing,
            date: f.date,
            rating: f.rating,
            text: f.text,
            buyer: f.buyer,
            price: f.price.map(|(amount, currency)| MoneyRef { amount, currency }),
            observed_at: f.observed_at,
            profile,
            rule,
        }
    }
}

/// Writes `rows` in format 1, as bincode writes a `Vec<ChunkRowRef>` with
/// `bincode::config::standard()` (varint lengths and integers): the same
/// bytes, which bincode decodes (the test `hand_encoding_is_bincodes` holds
/// the two together). Chunks are no longer written so: tests make the
/// chunks older builds wrote with it.
#[cfg(test)]
fn write_bincode_rows<'a>(out: &mut Vec<u8>, rows: impl ExactSizeIterator<Item = ChunkRowRef<'a>>) {
    varint(out, rows.len() as u64);
    for r in rows {
        varint(out, u64::from(r.ordinal));
        write_fields(out, r, 0);
    }
}

/// Writes one row in format 2: its flags `same` (what it shares with the
/// row before, [`shared`]), then what it does not share. By hand because
/// bincode's serde path made a call per field and per length byte, a fifth
/// of encoding a 10M-row import.
fn write_row(out: &mut Vec<u8>, r: ChunkRowRef<'_>, same: u8) {
    out.push(same);
    if same & NEXT_ORDINAL == 0 {
        varint(out, u64::from(r.ordinal));
    }
    write_fields(out, r, same);
}

/// A row's fields after its ordinal as format 1 writes them, less those
/// `same` flags.
#[inline]
fn write_fields(out: &mut Vec<u8>, r: ChunkRowRef<'_>, same: u8) {
    if same & SAME_LISTING == 0 {
        maybe(out, r.listing);
    }
    for field in [r.date, r.rating, r.text, r.buyer] {
        maybe(out, field);
    }
    if same & SAME_PRICE == 0 {
        option(out, r.price, |out, m| {
            text(out, m.amount);
            text(out, m.currency);
        });
    }
    if same & SAME_OBSERVED_AT == 0 {
        maybe(out, r.observed_at);
    }
    if same & SAME_PROFILE == 0 {
        text(out, r.profile);
    }
    if same & SAME_RULE == 0 {
        text(out, r.rule);
    }
}

/// Reads the rows of a chunk in `format`, strings borrowed from `plain`.
/// Bytes past the rows are ignored (as bincode ignores them in format 1).
/// By hand for the reason [`write_row`] is: bincode's serde path was half
/// the cost of reading millions of rows back for the sales units. Damaged
/// bytes are an error, never a panic or an allocation larger than the
/// bytes could hold.
#[cfg(test)]
fn read_rows(plain: &[u8], format: i64) -> std::result::Result<Vec<ChunkRowBorrowed<'_>>, &'static str> {
    let mut rows = Vec::new();
    read_rows_into(plain, format, &mut rows, |r| r)?;
    Ok(rows)
}

/// The rows of a chunk in `format`, each handed to `make` and what it
/// makes appended to `out` (a reader's rows are made as the rows are read,
/// not copied out of a vector of them). On an error `out` is as it was.
fn read_rows_into<'a, T>(
    plain: &'a [u8],
    format: i64,
    out: &mut Vec<T>,
    make: impl Fn(ChunkRowBorrowed<'a>) -> T,
) -> std::result::Result<(), &'static str> {
    let start = out.len();
    let read = match format {
        1 => read_bincode_rows_with(plain, out, make),
        FORMAT => read_rows_with(plain, out, make),
        _ => Err("an unknown row format (from a newer dragnet?)"),
    };
    if read.is_err() {
        out.truncate(start);
    }
    read
}

/// Format 2's rows (see [`write_row`]).
fn read_rows_with<'a, T>(
    plain: &'a [u8],
    rows: &mut Vec<T>,
    make: impl Fn(ChunkRowBorrowed<'a>) -> T,
) -> std::result::Result<(), &'static str> {
    let mut r = RowReader::new(plain);
    // Room for at most as many rows as the bytes left could hold (five
    // each at least: flags and four tags), whatever the count claims.
    let (n, room) = r.count(5)?;
    rows.reserve(room);
    let mut before: Option<ChunkRowBorrowed<'a>> = None;
    for _ in 0..n {
        let same = r.byte()?;
        if same & !FLAGS != 0 {
            return Err("a row flag past those known");
        }
        let b = match before {
            Some(b) => b,
            None if same == 0 => ChunkRowBorrowed::default(),
            None => return Err("the first row shares fields with a row before it"),
        };
        let ordinal = match same & NEXT_ORDINAL {
            0 => r.varint(252)? as u32,
            _ => b.ordinal.checked_add(1).ok_or("an ordinal past the largest")?,
        };
        // As in format 1, the row's strings are checked for UTF-8 in one go
        // where they can be (from after the ordinal, whose wide forms are
        // not ASCII); the shared ones were checked in the row before.
        r.start_row();
        let unless = |flag: u8| same & flag == 0;
        let listing = if unless(SAME_LISTING) { Some(r.maybe(RowReader::text)?) } else { None };
        let date = r.maybe(RowReader::text)?;
        let rating = r.maybe(RowReader::text)?;
        let text = r.maybe(RowReader::text)?;
        let buyer = r.maybe(RowReader::text)?;
        let price = if unless(SAME_PRICE) { Some(r.maybe(|r| Ok((r.text()?, r.text()?)))?) } else { None };
        let observed_at = if unless(SAME_OBSERVED_AT) { Some(r.maybe(RowReader::text)?) } else { None };
        let profile = if unless(SAME_PROFILE) { Some(r.text()?) } else { None };
        let rule = if unless(SAME_RULE) { Some(r.text()?) } else { None };
        let whole = r.row_text()?;
        let s = |b: &'a [u8]| r.str_in(whole, b);
        let row = ChunkRowBorrowed {
            ordinal,
            listing: match listing {
                Some(l) => l.map(s).transpose()?,
                None => b.listing,
            },
            date: date.map(s).transpose()?,
            rating: rating.map(s).transpose()?,
            text: text.map(s).transpose()?,
            buyer: buyer.map(s).transpose()?,
            price: match price {
                Some(Some((amount, currency))) => Some(MoneyBorrowed { amount: s(amount)?, currency: s(currency)? }),
                Some(None) => None,
                None => b.price,
            },
            observed_at: match observed_at {
                Some(o) => o.map(s).transpose()?,
                None => b.observed_at,
            },
            profile: profile.map_or(Ok(b.profile), s)?,
            rule: rule.map_or(Ok(b.rule), s)?,
        };
        before = Some(row);
        rows.push(make(row));
    }
    Ok(())
}

/// Format 1's rows: as bincode reads a `Vec<ChunkRowBorrowed>` with
/// `bincode::config::standard()`.
fn read_bincode_rows_with<'a, T>(
    plain: &'a [u8],
    rows: &mut Vec<T>,
    make: impl Fn(ChunkRowBorrowed<'a>) -> T,
) -> std::result::Result<(), &'static str> {
    let mut r = RowReader::new(plain);
    // Room for at most as many rows as the bytes left could hold (ten each
    // at least), whatever the count claims.
    let (n, room) = r.count(10)?;
    rows.reserve(room);
    for _ in 0..n {
        let ordinal = r.varint(252)? as u32;
        // The row's strings are checked for UTF-8 in one go where they can
        // be (see `RowReader`): ten checks of a few bytes each were 0.8
        // CPU-seconds of reading 10M rows back.
        r.start_row();
        let listing = r.maybe(RowReader::text)?;
        let date = r.maybe(RowReader::text)?;
        let rating = r.maybe(RowReader::text)?;
        let text = r.maybe(RowReader::text)?;
        let buyer = r.maybe(RowReader::text)?;
        let price = r.maybe(|r| Ok((r.text()?, r.text()?)))?;
        let observed_at = r.maybe(RowReader::text)?;
        let profile = r.text()?;
        let rule = r.text()?;
        let whole = r.row_text()?;
        let s = |b: &'a [u8]| r.str_in(whole, b);
        let price = match price {
            Some((amount, currency)) => Some(MoneyBorrowed { amount: s(amount)?, currency: s(currency)? }),
            None => None,
        };
        rows.push(make(ChunkRowBorrowed {
            ordinal,
            listing: listing.map(s).transpose()?,
            date: date.map(s).transpose()?,
            rating: rating.map(s).transpose()?,
            text: text.map(s).transpose()?,
            buyer: buyer.map(s).transpose()?,
            price,
            observed_at: observed_at.map(s).transpose()?,
            profile: s(profile)?,
            rule: s(rule)?,
        }));
    }
    Ok(())
}

// The feedback readings of a chunk (on the shared chunk type: a chunk of
// `feedback_chunks` is read with these, one of `listing_chunks` with
// `listing_chunks`' own).
impl RawChunk {
    /// Appends its feedback rows.
    pub(crate) fn feedback_into(&self, out: &mut Vec<Stored<Feedback>>) -> Result<()> {
        self.feedback_where(|_| true, out)
    }

    /// Appends the rows a table read would give, built from the rows read
    /// in place. `keep` sees each row's ordinal first: rows it refuses are
    /// not built.
    pub(crate) fn feedback_where(&self, keep: impl Fn(usize) -> bool, out: &mut Vec<Stored<Feedback>>) -> Result<()> {
        let mut rows = Vec::new();
        self.borrow_feedback_into(&mut rows)?;
        let Some(FeedbackRefId::InPage { evidence, .. }) = rows.first().map(|r| r.id) else { return Ok(()) };
        let prefix = RowId::page_prefix(RowKind::Feedback, &evidence);
        for r in rows {
            let FeedbackRefId::InPage { ordinal, .. } = r.id else { continue };
            if keep(ordinal as usize) {
                out.push(Stored { id: RowId::in_page(&prefix, ordinal as usize), record: r.record.to_owned_record() });
            }
        }
        Ok(())
    }

    /// Appends its feedback rows borrowed from the chunk (nothing is copied).
    pub(crate) fn borrow_feedback_into<'a>(&'a self, out: &mut Vec<FeedbackRef<'a>>) -> Result<()> {
        if ![1, FORMAT].contains(&self.format()) {
            return Err(self.unknown_format());
        }
        let evidence = self.evidence()?;
        let (market, vendor) = (self.market.as_str(), self.vendor.as_deref());
        read_rows_into(self.plain()?, self.format(), out, |r| FeedbackRef {
            record: model::FeedbackRef {
                market,
                vendor,
                listing: r.listing,
                date: r.date,
                rating: r.rating,
                text: r.text,
                buyer: r.buyer,
                price: r.price.map(|m| (m.amount, m.currency)),
                observed_at: r.observed_at,
                provenance: Some((evidence, r.profile, r.rule)),
            },
            id: FeedbackRefId::InPage { evidence, ordinal: r.ordinal },
        })
        .map_err(|e| self.bad(e))
    }
}

/// Decodes one stored chunk (its `data`, `compression` and `format`
/// columns) as every read does, owned and in place, for a chunk of page
/// `evidence`: the fuzz target `stored_chunk` feeds it arbitrary bytes (a
/// case file received from someone else may hold anything). The rows read
/// in place must be the owned rows, and in format 1 the rows bincode reads;
/// any difference is reported as an error.
pub fn decode_stored_chunk(evidence: &Sha256, data: &[u8], compression: Option<&str>, format: i64) -> Result<Vec<Stored<Feedback>>> {
    let raw = RawChunk::of_columns(Table::Feedback, evidence, data, compression, format);
    if format == 1 {
        // What bincode reads: the hand reader must read the same rows, or
        // fail where it fails.
        let by_bincode = raw.plain().ok().map(|plain| {
            bincode::serde::borrow_decode_from_slice::<Vec<ChunkRowBorrowed<'_>>, _>(plain, bincode::config::standard().with_limit::<DECODE_LIMIT>())
                .map(|(rows, _)| rows)
                .ok()
        });
        let by_hand = raw.plain().ok().map(|plain| {
            let mut rows = Vec::new();
            read_rows_into(plain, 1, &mut rows, |r| r).ok().map(|()| rows)
        });
        if by_bincode != by_hand {
            return Err(raw.bad("rows read by hand differ from bincode's"));
        }
    }
    let mut owned = Vec::new();
    raw.feedback_into(&mut owned)?;
    let mut borrowed = Vec::new();
    raw.borrow_feedback_into(&mut borrowed)?;
    let same = owned.len() == borrowed.len()
        && owned.iter().zip(&borrowed).all(|(o, b)| o.id.as_str() == b.id() && o.record.borrowed() == b.record);
    if !same {
        return Err(raw.bad("rows read in place differ from the rows decoded"));
    }
    Ok(owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::{self, EncodedChunk, LZ4};
    use model::Provenance;
    use proptest::prelude::*;

    /// A chunk as encoded decodes to its rows through `decode_stored_chunk`
    /// (owned and in place agreeing), compressed or plain; bytes that are no
    /// chunk, or of a format not known, are an error, never a panic.
    #[test]
    fn stored_chunks_decode_and_garbage_is_an_error() {
        let ev = Sha256::of(b"p");
        let rows: Vec<Feedback> = (0..12)
            .map(|i| Feedback {
                market: "m".into(),
                text: Some(format!("t{i}")),
                price: (i % 2 == 0).then(|| Money { amount: "1.5".into(), currency: "USD".into() }),
                provenance: Some(Provenance { evidence: ev, profile: "dataset:x".into(), rule: format!("row {i}") }),
                ..Feedback::default()
            })
            .collect();
        let encoded = encode(&ev, &rows).unwrap();
        let stored = &encoded.chunks[0].data;
        let read = decode_stored_chunk(&ev, stored, Some(LZ4), FORMAT).unwrap();
        assert_eq!(read.iter().map(|s| s.record.text.clone()).collect::<Vec<_>>(), rows.iter().map(|f| f.text.clone()).collect::<Vec<_>>());
        let plain = lz4_flex::block::decompress_size_prepended(stored).unwrap();
        assert_eq!(decode_stored_chunk(&ev, &plain, None, FORMAT).unwrap(), read);
        for (bytes, compression, format) in [
            (&b"\xff\xff\xff\xff\x00"[..], Some(LZ4), FORMAT),
            (b"\x05abc", None, FORMAT),
            (b"\x05abc", None, 1),
            (b"", Some(LZ4), FORMAT),
            (&stored[..], Some("zstd"), FORMAT),
            (&stored[..], Some(LZ4), 3),
        ] {
            let e = decode_stored_chunk(&ev, bytes, compression, format).unwrap_err().to_string();
            assert!(e.contains(&ev.to_hex()), "{e}");
        }
        assert!(decode_stored_chunk(&ev, stored, Some(LZ4), 3).unwrap_err().to_string().contains("unknown row format 3"));
    }

    /// Rows are written borrowed and read owned: both shapes must give the
    /// same bytes, field by field (a field out of order fails here).
    #[test]
    fn chunk_rows_encode_as_they_decode() {
        let full = Feedback {
            market: "m".into(),
            vendor: Some("v".into()),
            listing: Some("a listing".into()),
            date: Some("3 days ago".into()),
            rating: Some("5/5".into()),
            text: Some("fast".into()),
            buyer: Some("b***r".into()),
            price: Some(Money { amount: "0.0123".into(), currency: "BTC".into() }),
            observed_at: Some("2014-05-01".into()),
            provenance: Some(Provenance { evidence: Sha256::of(b"x"), profile: "dataset:agora-2014".into(), rule: "row 7, line 9".into() }),
        };
        let bare = Feedback { market: "m".into(), ..Feedback::default() };
        let written = [ChunkRowRef::of(6, full.borrowed()), ChunkRowRef::of(7, bare.borrowed())];
        let bytes = bincode::serde::encode_to_vec(&written[..], bincode::config::standard()).unwrap();
        let (read, used): (Vec<ChunkRow>, usize) = bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(used, bytes.len());
        let owned = |ordinal: u32, f: &Feedback| ChunkRow {
            ordinal,
            listing: f.listing.clone(),
            date: f.date.clone(),
            rating: f.rating.clone(),
            text: f.text.clone(),
            buyer: f.buyer.clone(),
            price: f.price.clone(),
            observed_at: f.observed_at.clone(),
            profile: f.provenance.as_ref().map(|p| p.profile.clone()).unwrap_or_default(),
            rule: f.provenance.as_ref().map(|p| p.rule.clone()).unwrap_or_default(),
        };
        assert_eq!(read, vec![owned(6, &full), owned(7, &bare)]);
        let reencoded = bincode::serde::encode_to_vec(&read, bincode::config::standard()).unwrap();
        assert_eq!(reencoded, bytes);
    }

    fn any_text() -> impl Strategy<Value = String> {
        // Lengths on both sides of bincode's one-byte (< 251) and two-byte
        // (< 65,536) length markers.
        prop_oneof![".{0,12}", "[a-z]{245,260}", Just("x".repeat(65_540))]
    }

    fn any_feedback() -> impl Strategy<Value = Feedback> {
        let maybe = || proptest::option::of(any_text());
        (
            (maybe(), maybe(), maybe(), maybe(), maybe()),
            proptest::option::of((any_text(), any_text())),
            maybe(),
            proptest::option::of((any_text(), any_text())),
        )
            .prop_map(|((listing, date, rating, text, buyer), price, observed_at, provenance)| Feedback {
                market: "m".into(),
                vendor: Some("v".into()),
                listing,
                date,
                rating,
                text,
                buyer,
                price: price.map(|(amount, currency)| Money { amount, currency }),
                observed_at,
                provenance: provenance.map(|(profile, rule)| Provenance { evidence: Sha256::of(b"x"), profile, rule }),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The hand encoder writes bincode's bytes, for rows of every shape
        /// and ordinals across each varint width.
        #[test]
        fn hand_encoding_is_bincodes(
            rows in proptest::collection::vec(
                (prop_oneof![0u32..300, 65_000u32..66_000, Just(u32::MAX)], any_feedback()), 0..6)
        ) {
            let written: Vec<ChunkRowRef<'_>> = rows.iter().map(|(o, f)| ChunkRowRef::of(*o, f.borrowed())).collect();
            let by_bincode = bincode::serde::encode_to_vec(&written, bincode::config::standard()).unwrap();
            let mut by_hand = Vec::new();
            write_bincode_rows(&mut by_hand, rows.iter().map(|(o, f)| ChunkRowRef::of(*o, f.borrowed())));
            prop_assert_eq!(by_hand, by_bincode);
        }
    }

    fn bincode_rows(plain: &[u8]) -> Option<Vec<ChunkRowBorrowed<'_>>> {
        bincode::serde::borrow_decode_from_slice::<Vec<ChunkRowBorrowed<'_>>, _>(plain, bincode::config::standard().with_limit::<DECODE_LIMIT>())
            .ok()
            .map(|(rows, _)| rows)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        /// The hand reader reads what bincode reads, and fails where it
        /// fails: on encoded rows, on them with a byte changed or cut short
        /// or extended, and on any bytes.
        #[test]
        fn hand_reading_is_bincodes(
            rows in proptest::collection::vec((prop_oneof![0u32..300, 65_000u32..66_000, Just(u32::MAX)], any_feedback()), 0..4),
            change in proptest::option::of((any::<prop::sample::Index>(), prop_oneof![any::<u8>(), proptest::sample::select(vec![0u8, 1, 2, 250, 251, 252, 253, 254, 255])])),
            cut in proptest::option::of(any::<prop::sample::Index>()),
            tail in proptest::collection::vec(any::<u8>(), 0..3),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut plain = Vec::new();
            write_bincode_rows(&mut plain, rows.iter().map(|(o, f)| ChunkRowRef::of(*o, f.borrowed())));
            let read = read_rows(&plain, 1).unwrap();
            prop_assert_eq!(read.len(), rows.len());
            let by_bincode = bincode_rows(&plain);
            prop_assert_eq!(Some(&read), by_bincode.as_ref());
            chunks::damage(&mut plain, change, cut, &tail);
            prop_assert_eq!(read_rows(&plain, 1).ok(), bincode_rows(&plain));
            prop_assert_eq!(read_rows(&noise, 1).ok(), bincode_rows(&noise));
        }
    }

    /// What the encoder must make of `rows`: the rows grouped by chunk key
    /// (`chunks::group`), each group written with its count, compressed; a
    /// row shares fields with the row before in its chunk when that row
    /// came just before it in the page. A chunk as compared: market,
    /// vendor, window, rows, stored bytes.
    type ChunkFields = (String, Option<String>, usize, usize, Vec<u8>);

    fn chunks_by_grouping(rows: &[Feedback]) -> Vec<ChunkFields> {
        chunks::group(rows, |f| (f.market.as_str(), f.vendor.as_deref()))
            .into_iter()
            .map(|(key, idx)| {
                let mut plain = Vec::new();
                varint(&mut plain, idx.len() as u64);
                let row = |i: u32| ChunkRowRef::of(i, rows[i as usize].borrowed());
                for (k, &i) in idx.iter().enumerate() {
                    let same = match k.checked_sub(1).map(|k| idx[k]) {
                        Some(before) if before + 1 == i => shared(&row(before), &row(i)),
                        _ => 0,
                    };
                    write_row(&mut plain, row(i), same);
                }
                let c = EncodedChunk::new(key, idx.len(), &plain);
                (c.market, c.vendor, c.window, c.rows, c.data)
            })
            .collect()
    }

    /// Rows as a page of one importer row after another gives them: each
    /// row may take the listing, price, observation time and provenance of
    /// the row before (`copy`'s bits), as entries of one dataset row do.
    fn like_entries(rows: Vec<(usize, usize, Feedback, u8)>) -> Vec<Feedback> {
        let mut out: Vec<Feedback> = Vec::with_capacity(rows.len());
        for (m, v, f, copy) in rows {
            let mut f = Feedback { market: format!("m{m}"), vendor: (v > 0).then(|| format!("v{v}")), ..f };
            if let Some(before) = out.last() {
                if copy & 1 != 0 {
                    (f.market, f.vendor) = (before.market.clone(), before.vendor.clone());
                }
                if copy & 2 != 0 {
                    f.listing = before.listing.clone();
                }
                if copy & 4 != 0 {
                    f.price = before.price.clone();
                }
                if copy & 8 != 0 {
                    f.observed_at = before.observed_at.clone();
                }
                if copy & 16 != 0 {
                    f.provenance = before.provenance.clone();
                }
            }
            out.push(f);
        }
        out
    }

    /// The rows of `rows` a chunk of (market, vendor) of page `p` holds, as read back.
    fn rows_of(rows: &[Feedback], market: &str, vendor: Option<&str>) -> Vec<Feedback> {
        rows.iter()
            .filter(|f| f.market == market && f.vendor.as_deref() == vendor)
            .map(|f| {
                // Read back as of the chunk's page; a row without provenance with an empty one.
                let (profile, rule) = f.provenance.as_ref().map_or_else(Default::default, |p| (p.profile.clone(), p.rule.clone()));
                Feedback { provenance: Some(model::Provenance { evidence: Sha256::of(b"p"), profile, rule }), ..f.clone() }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The encoder's chunks are the rows grouped by key and written
        /// group by group, whatever the block size: runs that cross blocks,
        /// rows larger than a block, accounts that come back.
        /// And each chunk reads back as its rows.
        #[test]
        fn encoder_chunks_are_the_rows_grouped(
            rows in proptest::collection::vec((0..2usize, 0..4usize, any_feedback(), any::<u8>()), 0..40),
            block_size in prop_oneof![1usize..64, 64usize..600, Just(chunks::BLOCK_SIZE)],
        ) {
            let rows = like_entries(rows);
            let mut encoder = FeedbackEncoder::of(ChunkEncoder::with_block_size(block_size));
            for f in &rows {
                encoder.push(f.borrowed());
            }
            let ev = Sha256::of(b"p");
            let encoded = encoder.finish(&ev).unwrap();
            prop_assert_eq!(encoded.rows, rows.len());
            for c in &encoded.chunks {
                let read: Vec<Feedback> = decode_stored_chunk(&ev, &c.data, Some(LZ4), FORMAT).unwrap().into_iter().map(|s| Feedback { market: c.market.clone(), vendor: c.vendor.clone(), ..s.record }).collect();
                prop_assert_eq!(read, rows_of(&rows, &c.market, c.vendor.as_deref()));
            }
            let got: Vec<_> = encoded.chunks.into_iter().map(|c| (c.market, c.vendor, c.window, c.rows, c.data)).collect();
            prop_assert_eq!(got, chunks_by_grouping(&rows));
        }

        /// Encoders sharing a block pool (as an import's files do) make the
        /// same chunks, in blocks an earlier page wrote and gave back.
        #[test]
        fn encoders_sharing_blocks_make_the_same_chunks(
            pages in proptest::collection::vec(proptest::collection::vec((0..2usize, 0..3usize, any_feedback(), any::<u8>()), 0..30), 1..4),
            block_size in prop_oneof![64usize..600, 600usize..5000],
        ) {
            let pool = chunks::BlockPool::default();
            for rows in pages {
                let rows = like_entries(rows);
                let mut encoder = FeedbackEncoder::of(ChunkEncoder::with_pool(&pool, block_size));
                for f in &rows {
                    encoder.push(f.borrowed());
                }
                let encoded = encoder.finish(&Sha256::of(b"p")).unwrap();
                let got: Vec<_> = encoded.chunks.into_iter().map(|c| (c.market, c.vendor, c.window, c.rows, c.data)).collect();
                prop_assert_eq!(got, chunks_by_grouping(&rows));
            }
        }
    }

    /// A finished page's blocks go back to the pool, and the next page's
    /// encoder writes into them (cleared: its chunks are its rows only).
    #[test]
    fn a_finished_pages_blocks_are_written_by_the_next() {
        let page = |text: &str| -> Vec<Feedback> {
            (0..300).map(|i| Feedback { market: "m".into(), vendor: Some(format!("v{}", i % 3)), text: Some(format!("{text}{i}")), ..Feedback::default() }).collect()
        };
        let pool = chunks::BlockPool::default();
        let encode = |rows: &[Feedback]| {
            let mut encoder = FeedbackEncoder::of(ChunkEncoder::with_pool(&pool, 1 << 13));
            rows.iter().for_each(|f| encoder.push(f.borrowed()));
            let chunks = encoder.finish(&Sha256::of(b"p")).unwrap().chunks;
            chunks.into_iter().map(|c| (c.market, c.vendor, c.window, c.rows, c.data)).collect::<Vec<_>>()
        };
        assert_eq!(encode(&page("first page ")), chunks_by_grouping(&page("first page ")));
        let kept = pool.kept();
        assert!(kept > 1, "the first page's blocks are kept");
        assert_eq!(encode(&page("next page ")), chunks_by_grouping(&page("next page ")));
        // Blocks given back dirty would have no room left, and more be made.
        assert_eq!(pool.kept(), kept, "the next page wrote the kept blocks, and gave them back");
    }

    /// Pages encoded at the same time (an import's threads) give back every
    /// block they took, however many: the next ones make no new block.
    #[test]
    fn blocks_of_pages_encoded_together_are_all_kept() {
        let pool = chunks::BlockPool::default();
        // Blocks of 1 KiB take one row each: 300 blocks a page.
        let page: Vec<Feedback> =
            (0..300).map(|i| Feedback { market: "m".into(), vendor: Some(format!("v{}", i % 3)), text: Some(format!("row {i}")), ..Feedback::default() }).collect();
        let encode_together = |pages: usize| {
            let mut encoders: Vec<FeedbackEncoder> = (0..pages).map(|_| FeedbackEncoder::of(ChunkEncoder::with_pool(&pool, 1 << 10))).collect();
            for f in &page {
                encoders.iter_mut().for_each(|e| e.push(f.borrowed()));
            }
            for e in encoders {
                let chunks = e.finish(&Sha256::of(b"p")).unwrap().chunks;
                let got: Vec<_> = chunks.into_iter().map(|c| (c.market, c.vendor, c.window, c.rows, c.data)).collect();
                assert_eq!(got, chunks_by_grouping(&page));
            }
        };
        encode_together(3);
        assert_eq!(pool.kept(), 900, "three pages of 300 blocks gave back all of them");
        encode_together(3);
        assert_eq!(pool.kept(), 900, "the next three wrote the kept blocks and made none");
    }

    /// Rows read into a reader's vector are appended after what it holds;
    /// from a chunk cut short, none are (the rows before the damage too).
    #[test]
    fn rows_read_into_a_vector_are_appended_whole_or_not_at_all() {
        let rows: Vec<Feedback> = (0..3).map(|i| Feedback { market: "m".into(), text: Some(format!("t{i}")), ..Feedback::default() }).collect();
        let mut encoder = FeedbackEncoder::default();
        rows.iter().for_each(|f| encoder.push(f.borrowed()));
        let stored = &encoder.finish(&Sha256::of(b"p")).unwrap().chunks[0].data;
        let plain = lz4_flex::block::decompress_size_prepended(stored).unwrap();
        let mut out = vec!["before"];
        read_rows_into(&plain, FORMAT, &mut out, |r| r.text.unwrap_or("")).unwrap();
        assert_eq!(out, ["before", "t0", "t1", "t2"]);
        let cut = &plain[..plain.len() - 3];
        assert!(read_rows_into(cut, FORMAT, &mut out, |r| r.text.unwrap_or("")).is_err());
        assert_eq!(out, ["before", "t0", "t1", "t2"]);
    }

    /// Bytes at the edges of the format: each read by hand as by bincode.
    #[test]
    fn hand_reading_of_edge_bytes_is_bincodes() {
        let one_row = |ordinal: &[u8], tag: u8| {
            let mut b = vec![1];
            b.extend_from_slice(ordinal);
            b.extend_from_slice(&[tag, 2, b'a', b'b', 0, 0, 0, 0, 0, 0, 0, 0]);
            b
        };
        // The character of the case after whole, as is a 128-byte string
        // after it (its length not an ASCII byte).
        let whole = vec![1, 0, 1, 3, 0xe2, 0x82, 0xac, 1, 1, b'a', 0, 0, 0, 0, 0, 0, 0];
        let long = [&[1u8, 0, 1, 3, 0xe2, 0x82, 0xac, 1, 128][..], &[b'a'; 128], &[0, 0, 0, 0, 0, 0, 0]].concat();
        // A length of 1 written in two bytes (251, then 1 as a u16): bincode
        // reads it, so the reader must (its marker byte is not ASCII).
        let wide = vec![1, 0, 1, 251, 1, 0, b'a', 0, 0, 0, 0, 0, 0, 0, 0];
        let cases = [
            long.clone(),
            one_row(&[7], 1),
            one_row(&[7], 2),                        // an option tag past Some
            vec![1, 7, 2, 0, 0, 0, 0, 0, 0, 0, 0],   // the same, the rest of the row well formed
            one_row(&[251, 9, 1], 1),                // a two-byte ordinal
            one_row(&[252, 1, 0, 0, 0], 1),          // a four-byte ordinal
            one_row(&[253, 1, 0, 0, 0, 0, 0, 0, 0], 1), // an eight-byte ordinal: too wide
            one_row(&[254], 1),
            one_row(&[255], 1),
            vec![253, 1, 0, 0, 0, 0, 0, 0, 0],       // eight-byte row count, rows missing
            vec![1, 0, 1, 253, 2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b'], // eight-byte string length
            vec![1, 0, 1, 2, 0xff, 0xfe],            // a string that is not UTF-8
            // A character cut between two strings: each is not UTF-8, nor
            // is the row (their lengths and tags lie between).
            vec![1, 0, 1, 2, 0xe2, 0x82, 1, 1, 0xac, 0, 0, 0, 0, 0, 0, 0],
            whole.clone(),
            // A string of 128 bytes (its length not an ASCII byte) after one cut short.
            [&[1u8, 0, 1, 1, 0xe2, 1, 128][..], &[b'a'; 128], &[0, 0, 0, 0, 0, 0, 0]].concat(),
            wide.clone(),
            vec![],
        ];
        for (i, plain) in cases.iter().enumerate() {
            assert_eq!(read_rows(plain, 1).ok(), bincode_rows(plain), "case {i}: {plain:?}");
        }
        assert_eq!(read_rows(&whole, 1).unwrap()[0].listing, Some("€"));
        assert_eq!(read_rows(&long, 1).unwrap()[0].date, Some("a".repeat(128).as_str()));
        assert_eq!(read_rows(&wide, 1).unwrap()[0].listing, Some("a"));
    }

    /// A chunk of more rows than a one-byte length holds.
    #[test]
    fn hand_encoding_of_many_rows_is_bincodes() {
        let bare = Feedback { market: "m".into(), ..Feedback::default() };
        let written: Vec<ChunkRowRef<'_>> = (0..70_000).map(|o| ChunkRowRef::of(o, bare.borrowed())).collect();
        let mut by_hand = Vec::new();
        write_bincode_rows(&mut by_hand, (0..70_000).map(|o| ChunkRowRef::of(o, bare.borrowed())));
        assert_eq!(by_hand, bincode::serde::encode_to_vec(&written, bincode::config::standard()).unwrap());
    }

    /// A dataset row's entries: the second and third share the first's
    /// listing, observation time, profile and rule, and their ordinals
    /// follow, so each is its flags and its own four fields; a row of the
    /// same listing after another account's row shares nothing (the row
    /// before it in the chunk did not come just before it).
    #[test]
    fn entries_of_one_row_share_its_fields() {
        let entry = |vendor: &str, text: &str| Feedback {
            market: "m".into(),
            vendor: Some(vendor.into()),
            listing: Some("10 g".into()),
            text: Some(text.into()),
            observed_at: Some("2014-01-02".into()),
            provenance: Some(model::Provenance { evidence: Sha256::of(b"p"), profile: "d".into(), rule: "row 1".into() }),
            ..Feedback::default()
        };
        let rows = [entry("v", "a"), entry("v", "b"), entry("v", "c"), entry("w", "x"), entry("v", "d")];
        let mut encoder = FeedbackEncoder::default();
        rows.iter().for_each(|f| encoder.push(f.borrowed()));
        let chunk = &encoder.finish(&Sha256::of(b"p")).unwrap().chunks[0];
        let plain = lz4_flex::block::decompress_size_prepended(&chunk.data).unwrap();
        let full = |ordinal: u8, text: u8| {
            let mut b = vec![0, ordinal, 1, 4];
            b.extend_from_slice(b"10 g");
            b.extend_from_slice(&[0, 0, 1, 1, text, 0, 0, 1, 10]);
            b.extend_from_slice(b"2014-01-02");
            b.extend_from_slice(&[1, b'd', 5]);
            b.extend_from_slice(b"row 1");
            b
        };
        // Flags: NEXT_ORDINAL and every SAME_* but the price's (none
        // either time, so shared too): all six.
        let shares = |text: u8| vec![FLAGS, 0, 0, 1, 1, text, 0];
        let want = [vec![4], full(0, b'a'), shares(b'b'), shares(b'c'), full(4, b'd')].concat();
        assert_eq!(plain, want);
        let read: Vec<_> = decode_stored_chunk(&Sha256::of(b"p"), &chunk.data, Some(LZ4), FORMAT).unwrap();
        // (Read as a chunk of no vendor's: the account is the chunk's row.)
        let texts: Vec<_> = read.iter().map(|s| (s.id.as_str().rsplit('-').next().unwrap().to_owned(), Feedback { vendor: Some("v".into()), ..s.record.clone() })).collect();
        let want: Vec<_> = [0, 1, 2, 4].iter().map(|&i| (i.to_string(), rows[i].clone())).collect();
        assert_eq!(texts, want);
    }

    /// A chunk written by an older build (format 1, bincode's) reads as
    /// the same rows as the one written now.
    #[test]
    fn chunks_of_either_format_read_as_the_same_rows() {
        let ev = Sha256::of(b"p");
        let rows: Vec<Feedback> = (0..40)
            .map(|i| Feedback {
                market: "m".into(),
                listing: Some(format!("listing {}", i / 7)),
                text: Some(format!("t{i}")),
                price: (i % 3 == 0).then(|| Money { amount: "1.5".into(), currency: "USD".into() }),
                observed_at: Some(format!("2014-01-{:02}", 1 + i / 10)),
                provenance: Some(model::Provenance { evidence: ev, profile: "dataset:x".into(), rule: format!("row {}", i / 7) }),
                ..Feedback::default()
            })
            .collect();
        let mut encoder = FeedbackEncoder::default();
        rows.iter().for_each(|f| encoder.push(f.borrowed()));
        let now = &encoder.finish(&ev).unwrap().chunks[0].data;
        let mut older = Vec::new();
        write_bincode_rows(&mut older, rows.iter().enumerate().map(|(i, f)| ChunkRowRef::of(i as u32, f.borrowed())));
        let read = decode_stored_chunk(&ev, now, Some(LZ4), FORMAT).unwrap();
        assert_eq!(read.iter().map(|s| &s.record).collect::<Vec<_>>(), rows.iter().collect::<Vec<_>>());
        assert_eq!(decode_stored_chunk(&ev, &older, None, 1).unwrap(), read);
        assert!(now.len() < chunks::compress(&older).len(), "{} bytes now, {} before", now.len(), chunks::compress(&older).len());
        // Format 2's bytes are no format 1 chunk, nor the other way round.
        let plain = lz4_flex::block::decompress_size_prepended(now).unwrap();
        assert_ne!(decode_stored_chunk(&ev, &plain, None, 1).ok(), Some(read.clone()));
        assert_ne!(decode_stored_chunk(&ev, &older, None, FORMAT).ok(), Some(read));
    }

    /// Format 2's own damage: a flag past those known, a first row that
    /// shares, an ordinal that follows the largest.
    #[test]
    fn format_2_damage_is_an_error() {
        // A row of flags, ordinal (when written) and nine empty fields.
        let row = |flags: u8, ordinal: &[u8]| [&[flags][..], ordinal, &[0, 0, 0, 0, 0, 0, 0, 0, 0]].concat();
        let bare = |flags: u8| row(flags, &[0]);
        let ok = [vec![1], bare(0)].concat();
        assert_eq!(read_rows(&ok, FORMAT).unwrap(), vec![ChunkRowBorrowed::default()]);
        let two = [vec![2], bare(0), row(NEXT_ORDINAL, &[])].concat();
        assert_eq!(read_rows(&two, FORMAT).unwrap()[1].ordinal, 1);
        for (plain, says) in [
            ([vec![1], bare(FLAGS + 1)].concat(), "a row flag past those known"),
            ([vec![1], bare(0x80)].concat(), "a row flag past those known"),
            ([vec![1], row(SAME_LISTING, &[])].concat(), "the first row shares fields with a row before it"),
            ([vec![2], row(0, &[252, 255, 255, 255, 255]), row(NEXT_ORDINAL, &[])].concat(), "an ordinal past the largest"),
        ] {
            assert_eq!(read_rows(&plain, FORMAT), Err(says), "{plain:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        /// Damaged format 2 bytes read as an error or as rows, never a panic;
        /// bytes cut short are always an error.
        #[test]
        fn damaged_rows_of_format_2_are_no_panic(
            rows in proptest::collection::vec((0..1usize, 0..1usize, any_feedback(), any::<u8>()), 1..6),
            change in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
            cut in any::<prop::sample::Index>(),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let rows = like_entries(rows);
            let mut encoder = FeedbackEncoder::default();
            rows.iter().for_each(|f| encoder.push(f.borrowed()));
            let stored = &encoder.finish(&Sha256::of(b"p")).unwrap().chunks[0].data;
            let mut plain = lz4_flex::block::decompress_size_prepended(stored).unwrap();
            prop_assert_eq!(read_rows(&plain, FORMAT).map(|r| r.len()), Ok(rows.len()));
            let short = &plain[..cut.index(plain.len())];
            prop_assert!(read_rows(short, FORMAT).is_err());
            chunks::damage(&mut plain, change, None, &[]);
            let _ = read_rows(&plain, FORMAT);
            let _ = read_rows(&noise, FORMAT);
        }
    }
}
