//! Case storage: the schema, its versioned migrations, and the queries.
//!
//! A case keeps one SQLite file (`dragnet.sqlite`) beside its evidence. The
//! [`CaseStore`] trait is the interface the rest of dragnet uses, so that a
//! PostgreSQL backend for teams can implement it later; [`SqliteStore`] is the
//! embedded implementation.
//!
//! Derived data only: everything here can be rebuilt from the evidence by
//! `dragnet extract`. Rows are keyed by the evidence digest and their ordinal
//! on the page, so re-extracting a page replaces its rows instead of adding
//! duplicates, and row ids (`L-<digest prefix>-<n>`) are the same on every
//! machine that extracts the same evidence with the same version.
#![warn(missing_docs)]

mod chunks;
mod feedback_chunks;
mod ids;
mod listing_chunks;
mod migrations;
mod sqlite;

pub use chunks::{BlockPool, EncodedRows};
pub use feedback_chunks::{decode_stored_chunk, FeedbackEncoder};
pub use listing_chunks::{decode_stored_listing_chunk, ListingEncoder};
pub use ids::{BadRowId, RowId, RowKind};
pub use sqlite::SqliteStore;

use model::{CategoryEntry, Feedback, Identifier, Listing, PageType, Sha256, Vendor};

/// A storage failure, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused an operation.
    #[error("{context}: {source}")]
    Db {
        /// What we were doing.
        context: String,
        /// The database error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer dragnet.
    #[error("case database has schema version {found}, newer than this dragnet supports ({supported}); upgrade dragnet")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Highest version we know.
        supported: i64,
    },
    /// A stored JSON column does not decode.
    #[error("{context}: stored JSON is corrupt: {source}")]
    Json {
        /// Which row/column.
        context: String,
        /// The decoder error.
        #[source]
        source: serde_json::Error,
    },
    /// A stored chunk of rows does not decode (or cannot be encoded).
    #[error("{context}")]
    Chunk {
        /// Which chunk, and what is wrong.
        context: String,
    },
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Facts about a page kept beside its records.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRow {
    /// Evidence digest.
    pub evidence: Sha256,
    /// Source name (relative path, WARC name + offset, crawl URL).
    pub source: Option<String>,
    /// URL when known.
    pub url: Option<String>,
    /// Capture time, RFC 3339.
    pub captured_at: Option<String>,
    /// Market of the profile that claimed the page.
    pub market: Option<String>,
    /// Profile used.
    pub profile: String,
    /// Page type.
    pub page_type: PageType,
    /// Encoding used.
    pub encoding: String,
    /// Diagnostics from extraction.
    pub diagnostics: Vec<String>,
    /// dragnet version that extracted it.
    pub extracted_by: String,
}

/// Everything extraction produced for one page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRecords {
    /// The page itself.
    pub page: PageRow,
    /// Listings.
    pub listings: Vec<Listing>,
    /// Vendors.
    pub vendors: Vec<Vendor>,
    /// Feedback.
    pub feedback: Vec<Feedback>,
    /// Category entries.
    pub categories: Vec<CategoryEntry>,
    /// Identifiers.
    pub identifiers: Vec<Identifier>,
}

/// A stored row with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    /// Stable row id.
    pub id: RowId,
    /// The record.
    pub record: T,
}

impl<T> Stored<T> {
    /// The row borrowed as linking and the report read rows.
    pub fn row(&self) -> model::Row<'_, T> {
        model::Row::new(self.id.as_str(), &self.record)
    }
}

/// Filters for listing queries.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this market.
    pub market: Option<String>,
    /// Only this vendor (exact name).
    pub vendor: Option<String>,
    /// Only this identifier kind (identifiers).
    pub kind: Option<String>,
    /// At most this many rows.
    pub limit: Option<usize>,
}

/// Counts for summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pages extracted.
    pub pages: u64,
    /// Listing rows.
    pub listings: u64,
    /// Vendor rows.
    pub vendors: u64,
    /// Feedback rows.
    pub feedback: u64,
    /// Category rows.
    pub categories: u64,
    /// Identifier rows.
    pub identifiers: u64,
}

/// The storage interface of a case. Implemented by [`SqliteStore`]; a
/// PostgreSQL backend implements the same trait.
pub trait CaseStore {
    /// Replaces everything stored for `records.page.evidence` by `records`.
    fn put_page(&mut self, records: &PageRecords) -> Result<()>;
    /// [`CaseStore::put_page`] of a dataset page whose listings and feedback
    /// were encoded apart ([`EncodedRows::encode`], on another thread) and
    /// taken out of `records`: stored exactly as `put_page` would store the
    /// records with them. Refused when the encoding is of another page or
    /// the page is not a dataset, or `records` still hold listing or
    /// feedback rows.
    fn put_page_encoded(&mut self, records: &PageRecords, encoded: EncodedRows) -> Result<()>;
    /// The page row for a digest.
    fn page(&self, evidence: &Sha256) -> Result<Option<PageRow>>;
    /// All page rows, by digest.
    fn pages(&self) -> Result<Vec<PageRow>>;
    /// Listings, ordered by market, title, id.
    fn listings(&self, f: &Filter) -> Result<Vec<Stored<Listing>>>;
    /// The rows of [`CaseStore::listings`] (a limit aside: all of them), in
    /// no promised order, though the same store gives the same order: for a
    /// reader that orders what it needs itself, without the cost of sorting
    /// a million rows. The default sorts.
    fn listings_unordered(&self, f: &Filter) -> Result<Vec<Stored<Listing>>> {
        self.listings(&Filter { limit: None, ..f.clone() })
    }
    /// Vendor observations, ordered by market, name, id.
    fn vendors(&self, f: &Filter) -> Result<Vec<Stored<Vendor>>>;
    /// Feedback, ordered by market, vendor, id.
    fn feedback(&self, f: &Filter) -> Result<Vec<Stored<Feedback>>>;
    /// [`CaseStore::feedback`] read now and decoded later, on any thread
    /// (`decode` gives the same rows): a reader can hand the decoding to
    /// other threads. The default decodes at once.
    fn feedback_deferred(&self, f: &Filter) -> Result<DeferredFeedback> {
        Ok(DeferredFeedback { rows: self.feedback(f)?, chunks: Vec::new(), limit: None })
    }
    /// Feedback as [`CaseStore::feedback`] with only `market`, `vendor` and
    /// `date` read (every other field empty, no provenance): when a vendor is
    /// active, for a whole case, at a fraction of the cost of whole rows.
    fn feedback_dates(&self, f: &Filter) -> Result<Vec<Stored<Feedback>>>;
    /// [`CaseStore::feedback_dates`] of the rows `keep(market, vendor,
    /// date)` accepts, asked of each row once, in no particular order (the
    /// limit counts the rows kept): a caller that needs few of millions of
    /// rows does not hold them all.
    fn feedback_dates_where(&self, f: &Filter, keep: &mut KeepDates<'_>) -> Result<Vec<Stored<Feedback>>> {
        let mut rows = self.feedback_dates(&Filter { limit: None, ..f.clone() })?;
        rows.retain(|s| keep(&s.record.market, s.record.vendor.as_deref(), s.record.date.as_deref()));
        rows.truncate(f.limit.unwrap_or(usize::MAX));
        Ok(rows)
    }
    /// Every distinct (market, vendor as shown) of the feedback rows (vendor
    /// `None` for feedback that names none), ordered.
    fn feedback_accounts(&self) -> Result<Vec<(String, Option<String>)>>;
    /// Every market id that listing, vendor or feedback rows name, ordered
    /// (for saying what a market filter could have been).
    fn markets(&self) -> Result<Vec<String>>;
    /// Vendor records extracted from one page.
    fn vendors_on_page(&self, evidence: &Sha256) -> Result<Vec<Vendor>>;
    /// Category entries.
    fn categories(&self, f: &Filter) -> Result<Vec<Stored<CategoryEntry>>>;
    /// Identifiers, ordered by kind, value, id.
    fn identifiers(&self, f: &Filter) -> Result<Vec<Stored<Identifier>>>;
    /// One row of any kind, by id, as the kind's record.
    fn row(&self, id: &RowId) -> Result<Option<AnyRecord>>;
    /// Row counts.
    fn counts(&self) -> Result<Counts>;
    /// A number that changes whenever the records do (every `put_page`), so
    /// data derived from them can tell it is stale.
    fn generation(&self) -> Result<u64>;
}

/// A caller's test of a feedback row's market, vendor and date
/// ([`CaseStore::feedback_dates_where`]): whether to keep the row.
pub type KeepDates<'k> = dyn FnMut(&str, Option<&str>, Option<&str>) -> bool + 'k;

/// Feedback rows read from the store, some still encoded (see
/// [`CaseStore::feedback_deferred`]).
pub struct DeferredFeedback {
    rows: Vec<Stored<Feedback>>,
    chunks: Vec<chunks::RawChunk>,
    limit: Option<usize>,
}

impl DeferredFeedback {
    pub(crate) fn new(rows: Vec<Stored<Feedback>>, chunks: Vec<chunks::RawChunk>, limit: Option<usize>) -> Self {
        DeferredFeedback { rows, chunks, limit }
    }

    /// The rows, in the order of [`CaseStore::feedback`].
    pub fn decode(self) -> Result<Vec<Stored<Feedback>>> {
        let mut rows = self.rows;
        for c in self.chunks {
            c.feedback_into(&mut rows)?;
        }
        sort_feedback(&mut rows);
        rows.truncate(self.limit.unwrap_or(usize::MAX));
        Ok(rows)
    }

    /// The rows as [`DeferredFeedback::decode`] gives them, in the same order,
    /// but borrowed from what was read: no row is built as an owned record.
    pub fn borrowed(&self) -> Result<Vec<FeedbackRef<'_>>> {
        let (rows, order) = self.borrowed_rows()?;
        Ok(order.iter().map(|&i| rows[i as usize]).collect())
    }

    /// The rows borrowed from what was read, in the order read, and the
    /// order [`DeferredFeedback::borrowed`] gives them in (indexes into the
    /// rows; rows past the limit left out): the sales units of millions of
    /// dataset rows refer to the rows in that order, where gathering copies
    /// of the 270-byte rows was a tenth of reading them back.
    pub fn borrowed_rows(&self) -> Result<(Vec<FeedbackRef<'_>>, Vec<u32>)> {
        let mut rows: Vec<FeedbackRef<'_>> = self.rows.iter().map(FeedbackRef::of_stored).collect();
        if rows.is_empty() {
            return self.chunk_rows_in_order();
        }
        for c in &self.chunks {
            c.borrow_feedback_into(&mut rows)?;
        }
        // Table rows, rarely among chunk rows, by their ids' text (ids are
        // distinct: no two rows compare equal).
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (&rows[a as usize], &rows[b as usize]);
            (a.record.market, a.record.vendor).cmp(&(b.record.market, b.record.vendor)).then_with(|| a.id.cmp_as_text(&b.id))
        });
        order.truncate(self.limit.unwrap_or(usize::MAX));
        Ok((rows, order))
    }

    /// [`DeferredFeedback::borrowed_rows`] when every row is a chunk's:
    /// ordered by a key that orders as (market, vendor, id text), computed
    /// once per row. A chunk's rows share its market and vendor, so those (a
    /// few per read) are ranked once and each row's key is integers only (a
    /// sort of the rows themselves moved 200-byte rows about, and compared
    /// names row by row).
    fn chunk_rows_in_order(&self) -> Result<(Vec<FeedbackRef<'_>>, Vec<u32>)> {
        let room = crate::chunks::room_for_rows(&self.chunks);
        let mut rows: Vec<FeedbackRef<'_>> = Vec::new();
        let _ = rows.try_reserve(room);
        let mut names: Vec<(&str, Option<&str>)> = self.chunks.iter().map(|c| (c.market.as_str(), c.vendor.as_deref())).collect();
        names.sort_unstable();
        names.dedup();
        // (name rank, id order key, place read): the place makes every key
        // distinct, so equal ids keep the order they were read in.
        let mut keys: Vec<(u32, [u8; 8], u64, u32)> = Vec::new();
        let _ = keys.try_reserve(room);
        for c in &self.chunks {
            let rank = names.partition_point(|n| *n < (c.market.as_str(), c.vendor.as_deref())) as u32;
            let start = rows.len();
            c.borrow_feedback_into(&mut rows)?;
            keys.extend(rows[start..].iter().enumerate().map(|(i, r)| {
                let (head, ordinal) = r.id.text_order_key();
                (rank, head, ordinal, (start + i) as u32)
            }));
        }
        keys.sort_unstable();
        keys.truncate(self.limit.unwrap_or(usize::MAX));
        Ok((rows, keys.into_iter().map(|k| k.3).collect()))
    }
}

/// A feedback row borrowed from the store's read: its record's fields and
/// its id (built on demand).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeedbackRef<'a> {
    /// The record's fields.
    pub record: model::FeedbackRef<'a>,
    id: FeedbackRefId<'a>,
}

/// A [`FeedbackRef`]'s id: a table row's, or a chunk row's parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FeedbackRefId<'a> {
    Whole(&'a RowId),
    InPage { evidence: Sha256, ordinal: u32 },
}

impl<'a> FeedbackRef<'a> {
    fn of_stored(s: &'a Stored<Feedback>) -> FeedbackRef<'a> {
        FeedbackRef { record: s.record.borrowed(), id: FeedbackRefId::Whole(&s.id) }
    }

    /// The row id, as [`CaseStore::feedback`] gives it.
    pub fn id(&self) -> String {
        self.id.text().into_owned()
    }
}

impl FeedbackRefId<'_> {
    /// Orders as the ids' text does, without writing the ids of chunk rows
    /// (see [`FeedbackRefId::text_order_key`]).
    fn cmp_as_text(&self, other: &Self) -> std::cmp::Ordering {
        use FeedbackRefId::InPage;
        match (self, other) {
            (InPage { .. }, InPage { .. }) => self.text_order_key().cmp(&other.text_order_key()),
            _ => self.text().cmp(&other.text()),
        }
    }

    /// For a chunk row's id, a key that orders as the id's text
    /// (`F-<16 hex of the digest>-<ordinal>`): the digest's first 8 bytes
    /// (hex keeps byte order), then the ordinal's decimal digits as a base-11
    /// number of 10 places (digit d as d + 1, an absent place as 0, so
    /// "1" < "10" < "9" as in text).
    fn text_order_key(&self) -> ([u8; 8], u64) {
        match self {
            FeedbackRefId::InPage { evidence, ordinal } => {
                let mut head = [0u8; 8];
                head.copy_from_slice(&evidence.as_bytes()[..8]);
                let digits = decimal(*ordinal);
                let mut key = 0u64;
                for place in 0..10 {
                    key = key * 11 + digits.as_slice().get(place).map_or(0, |d| u64::from(d - b'0') + 1);
                }
                (head, key)
            }
            FeedbackRefId::Whole(_) => ([0; 8], 0),
        }
    }

    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            FeedbackRefId::Whole(id) => std::borrow::Cow::Borrowed(id.as_str()),
            FeedbackRefId::InPage { evidence, ordinal } => std::borrow::Cow::Owned(
                RowId::in_page(&RowId::page_prefix(RowKind::Feedback, evidence), *ordinal as usize).into_string(),
            ),
        }
    }
}

/// The decimal digits of `n`, most significant first.
fn decimal(mut n: u32) -> DecimalDigits {
    let mut buf = [0u8; 10];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    DecimalDigits { buf, at }
}

struct DecimalDigits {
    buf: [u8; 10],
    at: usize,
}

impl DecimalDigits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[self.at..]
    }
}

/// Feedback in the order of [`CaseStore::feedback`]: market, vendor, id.
pub(crate) fn sort_feedback(rows: &mut [Stored<Feedback>]) {
    rows.sort_unstable_by(|a, b| (&a.record.market, &a.record.vendor, a.id.as_str()).cmp(&(&b.record.market, &b.record.vendor, b.id.as_str())));
}

/// A row of any kind, for `explain`.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRecord {
    /// A listing.
    Listing(Listing),
    /// A vendor.
    Vendor(Vendor),
    /// A feedback entry.
    Feedback(Feedback),
    /// A category entry.
    Category(CategoryEntry),
    /// An identifier.
    Identifier(Identifier),
}

impl AnyRecord {
    /// The provenance of the row.
    pub fn provenance(&self) -> Option<&model::Provenance> {
        match self {
            AnyRecord::Listing(r) => r.provenance.as_ref(),
            AnyRecord::Vendor(r) => r.provenance.as_ref(),
            AnyRecord::Feedback(r) => r.provenance.as_ref(),
            AnyRecord::Category(r) => r.provenance.as_ref(),
            AnyRecord::Identifier(r) => r.provenance.as_ref(),
        }
    }
}
