//! The listings of dataset files, kept in chunks (see
//! [`chunks`](crate::chunks) for what the chunked tables share): a file of a
//! million listings was a million table rows with two indexes, a fifth of
//! the CPU time of a 10M-feedback import to write and read back.
//!
//! A row is encoded by hand as bincode's serde path encodes it, and read
//! back by that path (a million listings are a tenth of the feedback rows
//! of such a file: a hand reader would not pay here). Its format is
//! [`ChunkListing`], written down apart
//! from [`Listing`], so a change to the record cannot silently change what
//! stored chunks mean.

use serde::{Deserialize, Serialize};

use model::{Listing, Money, Provenance, Sha256};

use crate::chunks::{self, maybe, option, text, varint, ChunkEncoder, EncodedTable, RawChunk, RowReader, Table, DECODE_LIMIT};
use crate::ids::{RowId, RowKind};
use crate::{Result, Stored};

/// One listing in a chunk, as written: [`ChunkListing`] borrowing from the
/// record (bincode encodes a borrowed string or slice as the owned one).
/// Fields in the same order as `ChunkListing`'s: the test
/// `chunk_listings_encode_as_they_decode` holds them together. Market and
/// vendor are the chunk's.
#[derive(Serialize)]
struct ChunkListingRef<'a> {
    ordinal: u32,
    market_listing_id: Option<&'a str>,
    title: &'a str,
    category: &'a [String],
    price: Option<&'a Money>,
    price_usd: Option<&'a str>,
    price_btc: Option<&'a str>,
    ships_from: Option<&'a str>,
    ships_to: &'a [String],
    shipping_methods: &'a [String],
    stock: Option<&'a str>,
    sold: Option<u64>,
    sold_since: Option<&'a str>,
    rating: Option<&'a str>,
    url: Option<&'a str>,
    observed_at: Option<&'a str>,
    photos: &'a [String],
    profile: &'a str,
    rule: &'a str,
}

/// One listing in a chunk: the format.
#[derive(Deserialize, Debug, PartialEq)]
#[cfg_attr(test, derive(Serialize))]
struct ChunkListing {
    ordinal: u32,
    market_listing_id: Option<String>,
    title: String,
    category: Vec<String>,
    price: Option<Money>,
    price_usd: Option<String>,
    price_btc: Option<String>,
    ships_from: Option<String>,
    ships_to: Vec<String>,
    shipping_methods: Vec<String>,
    stock: Option<String>,
    sold: Option<u64>,
    sold_since: Option<String>,
    rating: Option<String>,
    url: Option<String>,
    observed_at: Option<String>,
    photos: Vec<String>,
    profile: String,
    rule: String,
}

impl<'a> ChunkListingRef<'a> {
    fn of(ordinal: usize, l: &'a Listing) -> ChunkListingRef<'a> {
        let (profile, rule) = l.provenance.as_ref().map_or(("", ""), |p| (p.profile.as_str(), p.rule.as_str()));
        ChunkListingRef {
            ordinal: ordinal as u32,
            market_listing_id: l.market_listing_id.as_deref(),
            title: &l.title,
            category: &l.category,
            price: l.price.as_ref(),
            price_usd: l.price_usd.as_deref(),
            price_btc: l.price_btc.as_deref(),
            ships_from: l.ships_from.as_deref(),
            ships_to: &l.ships_to,
            shipping_methods: &l.shipping_methods,
            stock: l.stock.as_deref(),
            // As the table keeps it: a count past SQLite's integers is none.
            sold: l.sold.filter(|&n| i64::try_from(n).is_ok()),
            sold_since: l.sold_since.as_deref(),
            rating: l.rating.as_deref(),
            url: l.url.as_deref(),
            observed_at: l.observed_at.as_deref(),
            photos: &l.photos,
            profile,
            rule,
        }
    }
}

impl ChunkListing {
    /// The record a table read gives: the chunk's market and vendor, and a
    /// provenance of the page (empty profile and rule when none was stored).
    fn into_listing(self, market: &str, vendor: Option<&str>, evidence: Sha256) -> Listing {
        Listing {
            market: market.to_owned(),
            market_listing_id: self.market_listing_id,
            title: self.title,
            vendor: vendor.map(str::to_owned),
            category: self.category,
            price: self.price,
            price_usd: self.price_usd,
            price_btc: self.price_btc,
            ships_from: self.ships_from,
            ships_to: self.ships_to,
            shipping_methods: self.shipping_methods,
            stock: self.stock,
            sold: self.sold,
            sold_since: self.sold_since,
            rating: self.rating,
            url: self.url,
            observed_at: self.observed_at,
            photos: self.photos,
            provenance: Some(Provenance { evidence, profile: self.profile, rule: self.rule }),
        }
    }
}

/// Encodes the listings of page `evidence` as the store keeps them (see the
/// module note).
pub(crate) fn encode(evidence: &Sha256, listings: &[Listing]) -> Result<EncodedTable> {
    let mut encoder = ListingEncoder::default();
    for l in listings {
        encoder.push(l);
    }
    encoder.finish(evidence)
}

/// Encodes a page's listings one at a time, as they are read, into the
/// chunks [`encode`] makes of the same listings in the same order (see
/// [`ChunkEncoder`] for how): a dataset importer hands each over as its
/// row is read, so it is written while in the cache, and a file's listings
/// are never held.
#[derive(Default)]
pub struct ListingEncoder(ChunkEncoder);

impl ListingEncoder {
    /// An encoder whose blocks come from and go back to `pool`.
    pub fn with_pool(pool: &crate::BlockPool) -> Self {
        ListingEncoder(ChunkEncoder::with_pool(pool, crate::chunks::BLOCK_SIZE))
    }

    /// Takes the page's next listing (its ordinal: the listings taken before).
    pub fn push(&mut self, l: &Listing) {
        self.0.push(&l.market, l.vendor.as_deref(), |out, ordinal, _| write_listing(out, &ChunkListingRef::of(ordinal as usize, l)));
    }

    /// The listings taken, encoded as the store keeps them.
    pub(crate) fn finish(self, evidence: &Sha256) -> Result<EncodedTable> {
        self.0.finish(Table::Listings, evidence)
    }
}

/// Writes one row as bincode writes a [`ChunkListingRef`] (bincode's serde
/// path made a call per field: half of encoding a million listings). The
/// test `hand_encoding_of_listings_is_bincodes` holds the two together.
fn write_listing(out: &mut Vec<u8>, r: &ChunkListingRef<'_>) {
    fn list(out: &mut Vec<u8>, items: &[String]) {
        varint(out, items.len() as u64);
        for s in items {
            text(out, s);
        }
    }
    varint(out, u64::from(r.ordinal));
    maybe(out, r.market_listing_id);
    text(out, r.title);
    list(out, r.category);
    option(out, r.price, |out, m| {
        text(out, &m.amount);
        text(out, &m.currency);
    });
    maybe(out, r.price_usd);
    maybe(out, r.price_btc);
    maybe(out, r.ships_from);
    list(out, r.ships_to);
    list(out, r.shipping_methods);
    maybe(out, r.stock);
    option(out, r.sold, varint);
    maybe(out, r.sold_since);
    maybe(out, r.rating);
    maybe(out, r.url);
    maybe(out, r.observed_at);
    list(out, r.photos);
    text(out, r.profile);
    text(out, r.rule);
}

/// Reads the rows [`write_listing`] wrote (a count, then the rows), as
/// bincode reads a `Vec<ChunkListing>` with `bincode::config::standard()`
/// (bytes past the rows are ignored, as bincode ignores them), handing each
/// row `keep` accepts (by its ordinal) to `each`. By hand: bincode's serde
/// path, a call per field and a check per string, was half of reading a
/// million listings back for the sales units. Damaged bytes are an error,
/// never a panic or an allocation larger than the bytes could hold; the rows
/// before it have been handed over.
fn read_listings(plain: &[u8], keep: impl Fn(u32) -> bool, mut each: impl FnMut(ChunkListing)) -> std::result::Result<(), &'static str> {
    let mut r = RowReader::new(plain);
    // Nothing is reserved here: the caller made room from the chunk's row count.
    let (n, _) = r.count(1)?;
    /// A list of strings, put in `items`: where they are there.
    fn list<'a>(r: &mut RowReader<'a>, items: &mut Vec<&'a [u8]>) -> chunks::Read<std::ops::Range<usize>> {
        let (n, room) = r.count(1)?;
        items.reserve(room);
        let start = items.len();
        for _ in 0..n {
            items.push(r.text()?);
        }
        Ok(start..items.len())
    }
    // The strings of a row's lists, by position: one vector for every row.
    let mut items: Vec<&[u8]> = Vec::new();
    for _ in 0..n {
        let ordinal = r.varint(252)? as u32;
        r.start_row();
        items.clear();
        let market_listing_id = r.maybe(RowReader::text)?;
        let title = r.text()?;
        let category = list(&mut r, &mut items)?;
        let price = r.maybe(|r| Ok((r.text()?, r.text()?)))?;
        let price_usd = r.maybe(RowReader::text)?;
        let price_btc = r.maybe(RowReader::text)?;
        let ships_from = r.maybe(RowReader::text)?;
        let ships_to = list(&mut r, &mut items)?;
        let shipping_methods = list(&mut r, &mut items)?;
        let stock = r.maybe(RowReader::text)?;
        let sold = r.maybe(|r| r.varint(253))?;
        let sold_since = r.maybe(RowReader::text)?;
        let rating = r.maybe(RowReader::text)?;
        let url = r.maybe(RowReader::text)?;
        let observed_at = r.maybe(RowReader::text)?;
        let photos = list(&mut r, &mut items)?;
        let profile = r.text()?;
        let rule = r.text()?;
        let whole = r.row_text()?;
        let s = |b: &[u8]| r.str_in(whole, b).map(str::to_owned);
        let maybe = |b: Option<&[u8]>| b.map(s).transpose();
        // Exactly as long as the list (collected through a `Result`, a vector
        // starts at four: 60 MB more for a million listings' lists).
        let strings = |at: std::ops::Range<usize>| -> chunks::Read<Vec<String>> {
            let mut list = Vec::with_capacity(at.len());
            for b in &items[at] {
                list.push(s(b)?);
            }
            Ok(list)
        };
        // Every row is built, so that a damaged string fails the read as it
        // fails bincode's, rows `keep` refuses too (only reads of one row
        // by its id refuse any).
        let row = ChunkListing {
            ordinal,
            market_listing_id: maybe(market_listing_id)?,
            title: s(title)?,
            category: strings(category)?,
            price: match price {
                Some((amount, currency)) => Some(Money { amount: s(amount)?, currency: s(currency)? }),
                None => None,
            },
            price_usd: maybe(price_usd)?,
            price_btc: maybe(price_btc)?,
            ships_from: maybe(ships_from)?,
            ships_to: strings(ships_to)?,
            shipping_methods: strings(shipping_methods)?,
            stock: maybe(stock)?,
            sold,
            sold_since: maybe(sold_since)?,
            rating: maybe(rating)?,
            url: maybe(url)?,
            observed_at: maybe(observed_at)?,
            photos: strings(photos)?,
            profile: s(profile)?,
            rule: s(rule)?,
        };
        if keep(ordinal) {
            each(row);
        }
    }
    Ok(())
}

// The listing readings of a chunk of `listing_chunks`.
impl RawChunk {
    /// Appends the listings a table read would give. `keep` sees each row's
    /// ordinal first: rows it refuses are not built.
    pub(crate) fn listings_where(&self, keep: impl Fn(usize) -> bool, out: &mut Vec<Stored<Listing>>) -> Result<()> {
        self.listings_where_as(keep, &|s| s, out)
    }

    /// [`RawChunk::listings_where`], each listing handed to `make` and
    /// what it makes appended.
    fn listings_where_as<U>(&self, keep: impl Fn(usize) -> bool, make: &impl Fn(Stored<Listing>) -> U, out: &mut Vec<U>) -> Result<()> {
        // Listing chunks have one format so far.
        if self.format() != 1 {
            return Err(self.unknown_format());
        }
        let evidence = self.evidence()?;
        let prefix = RowId::page_prefix(RowKind::Listing, &evidence);
        let start = out.len();
        let read = read_listings(self.plain()?, |ordinal| keep(ordinal as usize), |r| {
            let id = RowId::in_page(&prefix, r.ordinal as usize);
            out.push(make(Stored { id, record: r.into_listing(&self.market, self.vendor.as_deref(), evidence) }));
        });
        if let Err(e) = read {
            out.truncate(start);
            return Err(self.bad(e));
        }
        Ok(())
    }

    /// Appends its listings.
    pub(crate) fn listings_into(&self, out: &mut Vec<Stored<Listing>>) -> Result<()> {
        self.listings_where(|_| true, out)
    }

    /// Appends what `make` makes of each of its listings.
    pub(crate) fn listings_into_as<U>(&self, make: &impl Fn(Stored<Listing>) -> U, out: &mut Vec<U>) -> Result<()> {
        self.listings_where_as(|_| true, make, out)
    }
}

/// Decodes one stored listing chunk (its `data` and `compression` columns)
/// as every read does, for a chunk of page `evidence`: the fuzz target
/// `stored_chunk` feeds it arbitrary bytes (a case file received from
/// someone else may hold anything). The hand reader must read what bincode
/// reads; any difference is reported as an error.
pub fn decode_stored_listing_chunk(evidence: &Sha256, data: &[u8], compression: Option<&str>) -> Result<Vec<Stored<Listing>>> {
    let raw = RawChunk::of_columns(Table::Listings, evidence, data, compression, 1);
    // What bincode reads: the hand reader must read the same rows, or fail
    // where it fails.
    let by_bincode = raw.plain().ok().map(|plain| {
        bincode::serde::decode_from_slice::<Vec<ChunkListing>, _>(plain, bincode::config::standard().with_limit::<DECODE_LIMIT>())
            .map(|(rows, _)| rows)
            .ok()
    });
    let by_hand = raw.plain().ok().map(|plain| {
        let mut rows = Vec::new();
        read_listings(plain, |_| true, |r| rows.push(r)).ok().map(|()| rows)
    });
    if by_bincode != by_hand {
        return Err(raw.bad("rows read by hand differ from bincode's"));
    }
    let mut out = Vec::new();
    raw.listings_into(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::LZ4;
    use proptest::prelude::*;

    fn full() -> Listing {
        Listing {
            market: "m".into(),
            market_listing_id: Some("42".into()),
            title: "10g of something".into(),
            vendor: Some("v".into()),
            category: vec!["Drugs".into(), "Benzos".into()],
            price: Some(Money { amount: "0.0123".into(), currency: "BTC".into() }),
            price_usd: Some("7.50".into()),
            price_btc: Some("0.0123".into()),
            ships_from: Some("Germany".into()),
            ships_to: vec!["Europe".into()],
            shipping_methods: vec!["post".into(), "express".into()],
            stock: Some("12".into()),
            sold: Some(31),
            sold_since: Some("2017-01-02".into()),
            rating: Some("4.9".into()),
            url: Some("http://x.onion/l/42".into()),
            observed_at: Some("2017-03-04".into()),
            photos: vec!["ph:0011".into()],
            provenance: Some(Provenance { evidence: Sha256::of(b"x"), profile: "dataset:t".into(), rule: "row 7, line 9".into() }),
        }
    }

    /// Rows are written borrowed and read owned: both shapes must give the
    /// same bytes, field by field (a field out of order fails here), and a
    /// row reads back as the record it was.
    #[test]
    fn chunk_listings_encode_as_they_decode() {
        let bare = Listing { market: "m".into(), title: "t".into(), ..Listing::default() };
        let (full, ev) = (full(), Sha256::of(b"x"));
        let written = [ChunkListingRef::of(6, &full), ChunkListingRef::of(7, &bare)];
        let bytes = bincode::serde::encode_to_vec(&written[..], bincode::config::standard()).unwrap();
        let (read, used): (Vec<ChunkListing>, usize) = bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(bincode::serde::encode_to_vec(&read, bincode::config::standard()).unwrap(), bytes);
        let mut read = read.into_iter();
        assert_eq!(read.next().unwrap().into_listing("m", Some("v"), ev), full);
        let bare_read = read.next().unwrap().into_listing("m", None, ev);
        assert_eq!(bare_read, Listing { provenance: Some(Provenance { evidence: ev, profile: String::new(), rule: String::new() }), ..bare });
    }

    fn any_text() -> impl Strategy<Value = String> {
        // Lengths on both sides of bincode's one-byte length marker.
        prop_oneof![".{0,6}", "[a-z]{249,252}"]
    }

    fn any_listing() -> impl Strategy<Value = Listing> {
        let maybe = || proptest::option::of(any_text());
        let list = || proptest::collection::vec(any_text(), 0..3);
        (
            (maybe(), any_text(), list(), proptest::option::of((any_text(), any_text())), maybe(), maybe(), maybe()),
            (list(), list(), maybe(), proptest::option::of(prop_oneof![0u64..300, 65_000u64..70_000, Just(1u64 << 40), Just(u64::MAX)])),
            (maybe(), maybe(), maybe(), maybe(), list(), proptest::option::of((any_text(), any_text()))),
        )
            .prop_map(|(a, b, c)| {
                let (market_listing_id, title, category, price, price_usd, price_btc, ships_from) = a;
                let (ships_to, shipping_methods, stock, sold) = b;
                let (sold_since, rating, url, observed_at, photos, provenance) = c;
                Listing {
                    market: "m".into(),
                    market_listing_id,
                    title,
                    vendor: None,
                    category,
                    price: price.map(|(amount, currency)| Money { amount, currency }),
                    price_usd,
                    price_btc,
                    ships_from,
                    ships_to,
                    shipping_methods,
                    stock,
                    sold,
                    sold_since,
                    rating,
                    url,
                    observed_at,
                    photos,
                    provenance: provenance.map(|(profile, rule)| Provenance { evidence: Sha256::of(b"x"), profile, rule }),
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The hand encoder writes bincode's bytes, for listings of every
        /// shape and ordinals across each varint width.
        #[test]
        fn hand_encoding_of_listings_is_bincodes(
            rows in proptest::collection::vec((prop_oneof![0usize..300, 65_000usize..66_000, Just(u32::MAX as usize)], any_listing()), 0..5)
        ) {
            let written: Vec<ChunkListingRef<'_>> = rows.iter().map(|(o, l)| ChunkListingRef::of(*o, l)).collect();
            let mut by_hand = Vec::new();
            varint(&mut by_hand, written.len() as u64);
            for r in &written {
                write_listing(&mut by_hand, r);
            }
            prop_assert_eq!(by_hand, bincode::serde::encode_to_vec(&written, bincode::config::standard()).unwrap());
        }
    }

    fn bincode_listings(plain: &[u8]) -> Option<Vec<ChunkListing>> {
        bincode::serde::decode_from_slice::<Vec<ChunkListing>, _>(plain, bincode::config::standard().with_limit::<DECODE_LIMIT>())
            .ok()
            .map(|(rows, _)| rows)
    }

    fn hand_listings(plain: &[u8]) -> Option<Vec<ChunkListing>> {
        let mut rows = Vec::new();
        read_listings(plain, |_| true, |r| rows.push(r)).ok().map(|()| rows)
    }

    /// Rows of `listings` encoded by hand, as a chunk's plain bytes.
    fn plain_of(listings: &[(usize, Listing)]) -> Vec<u8> {
        let mut plain = Vec::new();
        varint(&mut plain, listings.len() as u64);
        for (o, l) in listings {
            write_listing(&mut plain, &ChunkListingRef::of(*o, l));
        }
        plain
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        /// The hand reader reads what bincode reads, and fails where it
        /// fails: on encoded rows (sold counts of a non-ASCII byte among
        /// them), on them with a byte changed or cut short or extended, and
        /// on any bytes.
        #[test]
        fn hand_reading_of_listings_is_bincodes(
            rows in proptest::collection::vec((prop_oneof![0usize..300, 65_000usize..66_000, Just(u32::MAX as usize)], any_listing()), 0..4),
            change in proptest::option::of((any::<prop::sample::Index>(), prop_oneof![any::<u8>(), proptest::sample::select(vec![0u8, 1, 2, 127, 128, 250, 251, 252, 253, 254, 255])])),
            cut in proptest::option::of(any::<prop::sample::Index>()),
            tail in proptest::collection::vec(any::<u8>(), 0..3),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut plain = plain_of(&rows);
            let read = hand_listings(&plain).unwrap();
            prop_assert_eq!(read.len(), rows.len());
            prop_assert_eq!(Some(read), bincode_listings(&plain));
            chunks::damage(&mut plain, change, cut, &tail);
            prop_assert_eq!(hand_listings(&plain), bincode_listings(&plain));
            prop_assert_eq!(hand_listings(&noise), bincode_listings(&noise));
        }
    }

    /// Bytes at the edges of the format: each read by hand as by bincode.
    #[test]
    fn hand_reading_of_listing_edge_bytes_is_bincodes() {
        let bare = Listing { market: "m".into(), title: "ab".into(), ..Listing::default() };
        let plain = plain_of(&[(7, bare.clone())]);
        // The title's length byte (2) is at 3: count, ordinal, id tag.
        assert_eq!(&plain[..6], &[1, 7, 0, 2, b'a', b'b']);
        let with = |at: usize, bytes: &[u8]| [&plain[..at], bytes, &plain[at..]].concat();
        let replaced = |at: usize, len: usize, bytes: &[u8]| [&plain[..at], bytes, &plain[at + len..]].concat();
        let sold = |n: u64| plain_of(&[(7, Listing { sold: Some(n), title: "€".into(), ..bare.clone() })]);
        let cases = [
            // The title's length written in two bytes (251, then 2 as a
            // u16): bincode reads it, so the reader must.
            replaced(3, 1, &[251, 2, 0]),
            replaced(3, 3, &[2, 0xff, 0xfe]),   // a title that is not UTF-8
            replaced(3, 3, &[2, 0xe2, 0x82]),   // a character cut short
            replaced(2, 1, &[2]),               // an option tag past Some
            replaced(1, 1, &[251, 9, 1]),       // a two-byte ordinal
            replaced(1, 1, &[253, 1, 0, 0, 0, 0, 0, 0, 0]), // an eight-byte ordinal: too wide
            replaced(0, 1, &[253, 1, 0, 0, 0, 0, 0, 0, 0]), // an eight-byte row count
            with(plain.len(), &[9, 9]),         // bytes past the rows
            plain[..plain.len() - 1].to_vec(),  // cut short
            // Sold counts whose byte is not ASCII (128, 250) or wide, with a
            // title of a character of three bytes.
            sold(5),
            sold(128),
            sold(250),
            sold(70_000),
            sold(u64::MAX),
            vec![],
        ];
        for (i, plain) in cases.iter().enumerate() {
            assert_eq!(hand_listings(plain), bincode_listings(plain), "case {i}: {plain:?}");
        }
        assert_eq!(hand_listings(&cases[0]).unwrap()[0].title, "ab");
        assert_eq!(hand_listings(&cases[10]).unwrap()[0], ChunkListing { sold: Some(128), ..hand_listings(&cases[9]).unwrap().remove(0) });
        assert_eq!(hand_listings(&cases[10]).unwrap()[0].title, "€");
    }

    /// A chunk as encoded decodes to its rows, with their ids, compressed or
    /// plain; bytes that are no chunk are an error naming the page, never a
    /// panic.
    #[test]
    fn stored_listing_chunks_decode_and_garbage_is_an_error() {
        let ev = Sha256::of(b"p");
        let rows: Vec<Listing> = (0..12).map(|i| Listing { title: format!("t{i}"), ..full() }).collect();
        let encoded = encode(&ev, &rows).unwrap();
        assert_eq!((encoded.rows, encoded.chunks.len()), (12, 1));
        let stored = &encoded.chunks[0].data;
        let read = decode_stored_listing_chunk(&ev, stored, Some(LZ4)).unwrap();
        assert_eq!(read.iter().map(|s| s.record.title.clone()).collect::<Vec<_>>(), rows.iter().map(|l| l.title.clone()).collect::<Vec<_>>());
        assert_eq!(read[3].id.as_str(), RowId::in_page(&RowId::page_prefix(RowKind::Listing, &ev), 3).as_str());
        // Lists take no more room than they hold (a million listings are read at once).
        for l in read.iter().map(|s| &s.record) {
            for list in [&l.category, &l.ships_to, &l.shipping_methods, &l.photos] {
                assert_eq!(list.capacity(), list.len(), "{list:?}");
            }
        }
        let plain = lz4_flex::block::decompress_size_prepended(stored).unwrap();
        assert_eq!(decode_stored_listing_chunk(&ev, &plain, None).unwrap(), read);
        for (bytes, compression) in [(&b"\xff\xff\xff\xff\x00"[..], Some(LZ4)), (b"\x05abc", None), (&plain[..plain.len() - 2], None), (&stored[..], Some("zstd"))] {
            let err = decode_stored_listing_chunk(&ev, bytes, compression).unwrap_err().to_string();
            assert!(err.contains("listing chunk of page") && err.contains(&ev.to_hex()), "{err}");
        }
    }
}
