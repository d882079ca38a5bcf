//! Importers for structured listing datasets: CSV and JSON exports of market
//! listings made by other researchers' scrapers (Agora 2014, AlphaBay 2017,
//! Hansa 2016, Dream 2017, White House 2021, Grams 2014), and any other CSV
//! or JSON dataset described by a [`Mapping`] file.
//!
//! The output is the same record model page extraction produces
//! ([`model::Listing`], [`model::Feedback`], [`model::Vendor`],
//! [`model::CategoryEntry`]): one observation model for pages and datasets.
//! Every record's [`model::Provenance`] names the dataset file's SHA-256
//! (`evidence`), the format (`profile` = `dataset:<format>`) and the row
//! (`rule` = `row <n>, line <l>`: data row number from 1, and the 1-based
//! physical line the row starts on), and carries its observation time in
//! `observed_at` (the row's crawl date where the dataset has one, else the
//! dataset's documented crawl date).
//!
//! **Invariants:** no I/O (bytes in, records out); parsing never panics and
//! never stops at a bad row: a row that cannot be read is counted and
//! reported by line in [`DatasetExtraction::problems`] and the rest goes on.
#![warn(missing_docs)]

mod agora;
mod alphabay;
mod common;
mod dream;
mod grams;
mod hansa;
mod mapping;
mod whitehouse;

pub use common::{RowProblem, Severity};
pub use mapping::{Mapping, MappingError, RowKind};

use model::{CategoryEntry, Feedback, FeedbackRef, Listing, Sha256, Vendor};

/// A dataset layout dragnet knows.
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetFormat {
    /// Agora 2014 (gwern crawls via mozzarellaV8/agora-marketplace).
    Agora2014,
    /// AlphaBay 2017 category CSVs (davidldenton/dnm; Mac OS Roman, bare CR).
    AlphaBay2017,
    /// Hansa December 2016 OnionScan dump (no header, `", "` separators).
    Hansa2016,
    /// Dream Market 2017 cocaine listings (Kaggle, cleaned).
    Dream2017,
    /// White House Market 2021-05-23 MongoDB JSON export.
    WhiteHouse2021,
    /// Grams search-engine exports (1776, Black Bank), 2014.
    Grams2014,
    /// A user-described CSV/JSON dataset.
    Mapped(Box<Mapping>),
}

impl DatasetFormat {
    /// The built-in formats, in a stable order.
    pub const BUILT_IN: [&'static str; 6] =
        ["agora-2014", "alphabay-2017", "hansa-2016-12", "dream-2017", "whitehouse-2021", "grams-2014"];

    /// The format's name: `agora-2014`, ..., or the mapping's `name`.
    pub fn name(&self) -> &str {
        match self {
            DatasetFormat::Agora2014 => "agora-2014",
            DatasetFormat::AlphaBay2017 => "alphabay-2017",
            DatasetFormat::Hansa2016 => "hansa-2016-12",
            DatasetFormat::Dream2017 => "dream-2017",
            DatasetFormat::WhiteHouse2021 => "whitehouse-2021",
            DatasetFormat::Grams2014 => "grams-2014",
            DatasetFormat::Mapped(m) => &m.name,
        }
    }

    /// A built-in format by name (see [`DatasetFormat::BUILT_IN`]).
    pub fn built_in(name: &str) -> Option<DatasetFormat> {
        Some(match name {
            "agora-2014" => DatasetFormat::Agora2014,
            "alphabay-2017" => DatasetFormat::AlphaBay2017,
            "hansa-2016-12" => DatasetFormat::Hansa2016,
            "dream-2017" => DatasetFormat::Dream2017,
            "whitehouse-2021" => DatasetFormat::WhiteHouse2021,
            "grams-2014" => DatasetFormat::Grams2014,
            _ => return None,
        })
    }
}

/// One dataset file to read.
#[derive(Debug, Clone, Copy)]
pub struct DatasetInput<'a> {
    /// The file's bytes, exactly as captured.
    pub bytes: &'a [u8],
    /// SHA-256 of `bytes` (the evidence record).
    pub evidence: Sha256,
    /// The file's name as imported (relative path); some formats take the
    /// crawl date or category from it.
    pub source: &'a str,
}

/// What a dataset file produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetExtraction {
    /// Format name.
    pub format: String,
    /// The market the file is about, when it is about one market.
    pub market: Option<String>,
    /// Data rows read (header excluded), imported or not.
    pub rows: u64,
    /// Rows that produced records.
    pub imported: u64,
    /// Rows kept out (each has a [`Severity::Rejected`] problem).
    pub rejected: u64,
    /// Listing observations, one per imported listing row.
    pub listings: Vec<Listing>,
    /// Vendor observations (datasets that have vendor rows or vendor facts).
    pub vendors: Vec<Vendor>,
    /// Feedback entries found in rows (Agora's raw feedback text).
    pub feedback: Vec<Feedback>,
    /// Category entries (datasets that list categories with counts).
    pub categories: Vec<CategoryEntry>,
    /// Rows rejected or repaired, by line: the first [`PROBLEMS_LISTED`].
    pub problems: Vec<RowProblem>,
    /// Problems past those, counted but not listed.
    pub problems_not_listed: u64,
}

/// How many row problems of one file are listed; the rest are counted
/// ([`DatasetExtraction::problems_not_listed`]; rejected rows are counted in
/// `rejected` either way). A file of five million broken rows held each
/// problem, twice over as text, and stored them: 4.5 GB for a 10 MB file.
pub const PROBLEMS_LISTED: usize = 1000;

/// Recognises a built-in dataset from its file name and first bytes.
/// `None`: not a dataset dragnet knows (it may still be imported with a
/// [`Mapping`]).
pub fn detect(source: &str, bytes: &[u8]) -> Option<DatasetFormat> {
    let head = &bytes[..bytes.len().min(4096)];
    [
        agora::detect as fn(&str, &[u8]) -> bool,
        alphabay::detect,
        hansa::detect,
        dream::detect,
        whitehouse::detect,
        grams::detect,
    ]
    .iter()
    .zip(DatasetFormat::BUILT_IN)
    .find(|(d, _)| d(source, head))
    .and_then(|(_, name)| DatasetFormat::built_in(name))
}

/// Reads one dataset file. Never fails: unreadable rows become problems.
pub fn parse(format: &DatasetFormat, input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut feedback = Vec::new();
    let mut out = parse_with(format, input, &mut |f| feedback.push(f.to_owned_record()));
    out.feedback = feedback;
    out
}

/// [`parse`] with the feedback handed to `feedback` in row order as it is
/// read (the returned extraction holds none): a file of millions of
/// feedback entries is then never held as records. Agora's importer hands
/// each entry over borrowed from the row being read; the other formats hand
/// theirs over when the file is read.
pub fn parse_with(format: &DatasetFormat, input: &DatasetInput<'_>, feedback: &mut dyn FnMut(FeedbackRef<'_>)) -> DatasetExtraction {
    let mut listings = Vec::new();
    let mut out = parse_streaming(format, input, feedback, &mut |l| listings.push(l));
    out.listings = listings;
    out
}

/// Where a streaming parse hands feedback entries and listings as they are
/// read (see [`parse_streaming`]).
pub type RowSinks<'s> = (&'s mut dyn FnMut(FeedbackRef<'_>), &'s mut dyn FnMut(Listing));

/// [`parse_with`] with the listings handed to `listing` in row order too
/// (the returned extraction holds none): each of Agora's is handed over as
/// its row is read, so a reader can encode it while it is in the cache and
/// a file's million listings are never held; the other formats hand theirs
/// over when the file is read.
pub fn parse_streaming(
    format: &DatasetFormat,
    input: &DatasetInput<'_>,
    feedback: &mut dyn FnMut(FeedbackRef<'_>),
    listing: &mut dyn FnMut(Listing),
) -> DatasetExtraction {
    let mut out = match format {
        DatasetFormat::Agora2014 => agora::parse(input, feedback, listing),
        DatasetFormat::AlphaBay2017 => alphabay::parse(input),
        DatasetFormat::Hansa2016 => hansa::parse(input),
        DatasetFormat::Dream2017 => dream::parse(input),
        DatasetFormat::WhiteHouse2021 => whitehouse::parse(input),
        DatasetFormat::Grams2014 => grams::parse(input),
        DatasetFormat::Mapped(m) => mapping::parse(m, input),
    };
    for f in std::mem::take(&mut out.feedback) {
        feedback(f.borrowed());
    }
    for l in std::mem::take(&mut out.listings) {
        listing(l);
    }
    out.format = format.name().to_owned();
    out
}
