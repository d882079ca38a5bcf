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

mod feedback_chunks;
mod ids;
mod migrations;
mod sqlite;

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
        model::Row { id: self.id.as_str(), record: &self.record }
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
    /// The page row for a digest.
    fn page(&self, evidence: &Sha256) -> Result<Option<PageRow>>;
    /// All page rows, by digest.
    fn pages(&self) -> Result<Vec<PageRow>>;
    /// Listings, ordered by market, title, id.
    fn listings(&self, f: &Filter) -> Result<Vec<Stored<Listing>>>;
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
    /// Every distinct (market, vendor as shown) of the feedback rows (vendor
    /// `None` for feedback that names none), ordered.
    fn feedback_accounts(&self) -> Result<Vec<(String, Option<String>)>>;
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

/// Feedback rows read from the store, some still encoded (see
/// [`CaseStore::feedback_deferred`]).
pub struct DeferredFeedback {
    rows: Vec<Stored<Feedback>>,
    chunks: Vec<feedback_chunks::RawChunk>,
    limit: Option<usize>,
}

impl DeferredFeedback {
    pub(crate) fn new(rows: Vec<Stored<Feedback>>, chunks: Vec<feedback_chunks::RawChunk>, limit: Option<usize>) -> Self {
        DeferredFeedback { rows, chunks, limit }
    }

    /// The rows, in the order of [`CaseStore::feedback`].
    pub fn decode(self) -> Result<Vec<Stored<Feedback>>> {
        let mut rows = self.rows;
        for c in self.chunks {
            c.decode_into(&mut rows)?;
        }
        sort_feedback(&mut rows);
        rows.truncate(self.limit.unwrap_or(usize::MAX));
        Ok(rows)
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
