//! The feedback of dataset files, kept in chunks (see [`chunks`](crate::chunks)
//! for what the chunked tables share): here, the feedback row format, its
//! hand-written encoder and reader, and the readers' views of the rows.

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
/// them together. Written by [`write_rows`]; bincode writes it the same in
/// tests.
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
#[derive(Clone, Copy)]
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
/// by [`read_rows`]; bincode reads it the same (held together by
/// [`decode_stored_chunk`] and its fuzz target).
#[derive(Deserialize, Debug, PartialEq)]
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
#[derive(Deserialize, Debug, PartialEq)]
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
pub struct FeedbackEncoder(ChunkEncoder);

impl FeedbackEncoder {
    /// An encoder whose blocks come from and go back to `pool`.
    pub fn with_pool(pool: &crate::BlockPool) -> Self {
        FeedbackEncoder(ChunkEncoder::with_pool(pool, crate::chunks::BLOCK_SIZE))
    }

    /// Takes the page's next feedback row (its ordinal: the rows taken before).
    pub fn push(&mut self, f: model::FeedbackRef<'_>) {
        self.0.push(f.market, f.vendor, |out, ordinal| write_row(out, ChunkRowRef::of(ordinal, f)));
    }

    /// The rows taken, encoded as the store keeps them (page `evidence`
    /// names it in the error for more rows than a chunk can number).
    pub(crate) fn finish(self, evidence: &Sha256) -> Result<EncodedTable> {
        self.0.finish(Table::Feedback, evidence)
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

/// Writes `rows` as bincode writes a `Vec<ChunkRowRef>` with
/// `bincode::config::standard()` (varint lengths and integers): the same
/// bytes, which bincode decodes (the test `hand_encoding_is_bincodes` holds
/// the two together). The encoder writes the count and the rows apart.
#[cfg(test)]
fn write_rows<'a>(out: &mut Vec<u8>, rows: impl ExactSizeIterator<Item = ChunkRowRef<'a>>) {
    varint(out, rows.len() as u64);
    for r in rows {
        write_row(out, r);
    }
}

/// Writes one row as bincode writes a [`ChunkRowRef`]. By hand because
/// bincode's serde path made a call per field and per length byte, a fifth
/// of encoding a 10M-row import.
fn write_row(out: &mut Vec<u8>, r: ChunkRowRef<'_>) {
    varint(out, u64::from(r.ordinal));
    for field in [r.listing, r.date, r.rating, r.text, r.buyer] {
        maybe(out, field);
    }
    option(out, r.price, |out, m| {
        text(out, m.amount);
        text(out, m.currency);
    });
    maybe(out, r.observed_at);
    text(out, r.profile);
    text(out, r.rule);
}

/// Reads the rows [`write_rows`] wrote, as bincode reads a
/// `Vec<ChunkRowBorrowed>` with `bincode::config::standard()` (bytes past
/// the rows are ignored, as bincode ignores them), strings borrowed from
/// `plain`. By hand for the reason `write_rows` is: bincode's serde path was
/// half the cost of reading millions of rows back for the sales units.
/// Damaged bytes are an error, never a panic or an allocation larger than
/// the bytes could hold.
fn read_rows(plain: &[u8]) -> std::result::Result<Vec<ChunkRowBorrowed<'_>>, &'static str> {
    let mut rows = Vec::new();
    read_rows_into(plain, &mut rows, |r| r)?;
    Ok(rows)
}

/// [`read_rows`], each row handed to `make` and what it makes appended to
/// `out` (a reader's rows are made as the rows are read, not copied out of
/// a vector of them). On an error `out` is as it was.
fn read_rows_into<'a, T>(
    plain: &'a [u8],
    out: &mut Vec<T>,
    make: impl Fn(ChunkRowBorrowed<'a>) -> T,
) -> std::result::Result<(), &'static str> {
    let start = out.len();
    let read = read_rows_with(plain, out, make);
    if read.is_err() {
        out.truncate(start);
    }
    read
}

fn read_rows_with<'a, T>(
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
        let evidence = self.evidence()?;
        let (market, vendor) = (self.market.as_str(), self.vendor.as_deref());
        read_rows_into(self.plain()?, out, |r| FeedbackRef {
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

/// Decodes one stored chunk (its `data` and `compression` columns) as every
/// read does, owned and in place, for a chunk of page `evidence`: the fuzz
/// target `stored_chunk` feeds it arbitrary bytes (a case file received
/// from someone else may hold anything). The rows read in place must be the
/// owned rows; any difference is reported as an error.
pub fn decode_stored_chunk(evidence: &Sha256, data: &[u8], compression: Option<&str>) -> Result<Vec<Stored<Feedback>>> {
    let raw = RawChunk::of_columns(Table::Feedback, evidence, data, compression);
    // What bincode reads: the hand reader must read the same rows, or fail
    // where it fails.
    let by_bincode = raw.plain().ok().map(|plain| {
        bincode::serde::borrow_decode_from_slice::<Vec<ChunkRowBorrowed<'_>>, _>(plain, bincode::config::standard().with_limit::<DECODE_LIMIT>())
            .map(|(rows, _)| rows)
            .ok()
    });
    let by_hand = raw.plain().ok().map(|plain| read_rows(plain).ok());
    if by_bincode != by_hand {
        return Err(raw.bad("rows read by hand differ from bincode's"));
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
    /// chunk are an error, never a panic.
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
        let read = decode_stored_chunk(&ev, stored, Some(LZ4)).unwrap();
        assert_eq!(read.iter().map(|s| s.record.text.clone()).collect::<Vec<_>>(), rows.iter().map(|f| f.text.clone()).collect::<Vec<_>>());
        let plain = lz4_flex::block::decompress_size_prepended(stored).unwrap();
        assert_eq!(decode_stored_chunk(&ev, &plain, None).unwrap(), read);
        for (bytes, compression) in [(&b"\xff\xff\xff\xff\x00"[..], Some(LZ4)), (b"\x05abc", None), (b"", Some(LZ4)), (&stored[..], Some("zstd"))] {
            assert!(decode_stored_chunk(&ev, bytes, compression).is_err(), "{bytes:?} {compression:?}");
        }
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
            write_rows(&mut by_hand, rows.iter().map(|(o, f)| ChunkRowRef::of(*o, f.borrowed())));
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
            write_rows(&mut plain, rows.iter().map(|(o, f)| ChunkRowRef::of(*o, f.borrowed())));
            let read = read_rows(&plain).unwrap();
            prop_assert_eq!(read.len(), rows.len());
            let by_bincode = bincode_rows(&plain);
            prop_assert_eq!(Some(&read), by_bincode.as_ref());
            chunks::damage(&mut plain, change, cut, &tail);
            prop_assert_eq!(read_rows(&plain).ok(), bincode_rows(&plain));
            prop_assert_eq!(read_rows(&noise).ok(), bincode_rows(&noise));
        }
    }

    /// What the encoder must make of `rows`: the rows grouped by chunk key
    /// (`chunks::group`), each group written with its count, compressed.
    /// A chunk as compared: market, vendor, window, rows, stored bytes.
    type ChunkFields = (String, Option<String>, usize, usize, Vec<u8>);

    fn chunks_by_grouping(rows: &[Feedback]) -> Vec<ChunkFields> {
        chunks::group(rows, |f| (f.market.as_str(), f.vendor.as_deref()))
            .into_iter()
            .map(|(key, idx)| {
                let mut plain = Vec::new();
                write_rows(&mut plain, idx.iter().map(|&i| ChunkRowRef::of(i, rows[i as usize].borrowed())));
                let c = EncodedChunk::new(key, idx.len(), &plain);
                (c.market, c.vendor, c.window, c.rows, c.data)
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The encoder's chunks are the rows grouped by key and written
        /// group by group, whatever the block size: runs that cross blocks,
        /// rows larger than a block, accounts that come back.
        #[test]
        fn encoder_chunks_are_the_rows_grouped(
            rows in proptest::collection::vec((0..2usize, 0..4usize, any_feedback()), 0..40),
            block_size in prop_oneof![1usize..64, 64usize..600, Just(chunks::BLOCK_SIZE)],
        ) {
            let rows: Vec<Feedback> = rows
                .into_iter()
                .map(|(m, v, f)| Feedback { market: format!("m{m}"), vendor: (v > 0).then(|| format!("v{v}")), ..f })
                .collect();
            let mut encoder = FeedbackEncoder(ChunkEncoder::with_block_size(block_size));
            for f in &rows {
                encoder.push(f.borrowed());
            }
            let encoded = encoder.finish(&Sha256::of(b"p")).unwrap();
            prop_assert_eq!(encoded.rows, rows.len());
            let got: Vec<_> = encoded.chunks.into_iter().map(|c| (c.market, c.vendor, c.window, c.rows, c.data)).collect();
            prop_assert_eq!(got, chunks_by_grouping(&rows));
        }

        /// Encoders sharing a block pool (as an import's files do) make the
        /// same chunks, in blocks an earlier page wrote and gave back.
        #[test]
        fn encoders_sharing_blocks_make_the_same_chunks(
            pages in proptest::collection::vec(proptest::collection::vec((0..2usize, 0..3usize, any_feedback()), 0..30), 1..4),
            block_size in prop_oneof![64usize..600, 600usize..5000],
        ) {
            let pool = chunks::BlockPool::default();
            for rows in pages {
                let rows: Vec<Feedback> = rows
                    .into_iter()
                    .map(|(m, v, f)| Feedback { market: format!("m{m}"), vendor: (v > 0).then(|| format!("v{v}")), ..f })
                    .collect();
                let mut encoder = FeedbackEncoder(ChunkEncoder::with_pool(&pool, block_size));
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
            let mut encoder = FeedbackEncoder(ChunkEncoder::with_pool(&pool, 1 << 13));
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
            let mut encoders: Vec<FeedbackEncoder> = (0..pages).map(|_| FeedbackEncoder(ChunkEncoder::with_pool(&pool, 1 << 10))).collect();
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
        let mut plain = Vec::new();
        write_rows(&mut plain, rows.iter().enumerate().map(|(i, f)| ChunkRowRef::of(i as u32, f.borrowed())));
        let mut out = vec!["before"];
        read_rows_into(&plain, &mut out, |r| r.text.unwrap_or("")).unwrap();
        assert_eq!(out, ["before", "t0", "t1", "t2"]);
        let cut = &plain[..plain.len() - 3];
        assert!(read_rows_into(cut, &mut out, |r| r.text.unwrap_or("")).is_err());
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
            assert_eq!(read_rows(plain).ok(), bincode_rows(plain), "case {i}: {plain:?}");
        }
        assert_eq!(read_rows(&whole).unwrap()[0].listing, Some("€"));
        assert_eq!(read_rows(&long).unwrap()[0].date, Some("a".repeat(128).as_str()));
        assert_eq!(read_rows(&wide).unwrap()[0].listing, Some("a"));
    }

    /// A chunk of more rows than a one-byte length holds.
    #[test]
    fn hand_encoding_of_many_rows_is_bincodes() {
        let bare = Feedback { market: "m".into(), ..Feedback::default() };
        let written: Vec<ChunkRowRef<'_>> = (0..70_000).map(|o| ChunkRowRef::of(o, bare.borrowed())).collect();
        let mut by_hand = Vec::new();
        write_rows(&mut by_hand, (0..70_000).map(|o| ChunkRowRef::of(o, bare.borrowed())));
        assert_eq!(by_hand, bincode::serde::encode_to_vec(&written, bincode::config::standard()).unwrap());
    }
}
