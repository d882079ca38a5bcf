//! Sales estimates from observations of listings and feedback.
//!
//! Input is what the store holds: listing, feedback and category rows from
//! captured pages and imported datasets, each an observation at a time
//! ([`model::Listing::observed_at`], else its page's capture time). Output is
//! a set of [`Unit`]s (one estimated quantity of sales each, with its
//! method, dates, price and source rows) that [`aggregate`] groups into
//! [`Estimate`]s.
//!
//! Methods (see `docs/methods.md`):
//! * `feedback_count` (Soska & Christin 2015): every unique feedback is one
//!   sale, a lower bound; it is priced at the listing price in force on the
//!   feedback's date. Feedback seen in several crawls is counted once
//!   ([`dedup`]).
//! * `sold_counter`: markets that show "N sold (since DATE)" give sales as
//!   counter values and their growth between observations.
//! * `vendor_counter`: the same over a vendor profile's own sales count
//!   ("Sales: 520"), a vendor-level total with no price (no revenue).
//! * `listing_summary`: listing counts and prices, no sales.
//!
//! Every estimate is an interval: the lower bound counts what was seen; the
//! central estimate divides by the capture's coverage of the market where
//! the market states how many listings it has and the capture saw at least
//! [`MIN_COVERAGE_TO_SCALE`] of them, and equals the lower bound otherwise
//! (said on the estimate).
//!
//! **Invariant:** pure functions of their inputs; no I/O, no clock.
#![warn(missing_docs)]

pub mod dates;
mod ledger;
pub mod dedup;
mod estimate;
mod feedback_row;
pub mod holding;
mod named;
mod numbers;
pub mod rates;
pub mod usd;

pub use estimate::{aggregate, first_day_text, revenue_known, listing_summary, notes_in_window, units, units_where, Coverage, Estimator, MIN_COVERAGE_TO_SCALE, Estimate, GroupBy, ListingSummary, Method, Problem, Unit, Units, WindowNotes};
pub use feedback_row::FeedbackRow;
pub use named::listing_identities;
pub use ledger::{decode_kept, decode_kept_table, encode_kept, write_kept, write_kept_table, Ledger, LedgerSummary, Rollup, UnitTable, UnitTableBuilder, Unplaced, UNDATED_MONTH};
pub use rates::{RateSeries, Rates, RatesError};
pub use usd::{listing_usd, to_usd, ConvertError, RateUsed, UsdAmount, ABSURD_USD, PLACEHOLDER_USD};

/// The hasher of the estimators' and the table builders' maps: their keys are
/// the case's own strings, dates and ids (seeded per process all the same, as
/// `RandomState` is), and SipHash was a visible share of an import.
pub(crate) type FastState = foldhash::fast::RandomState;

/// One stored observation: its row id, the record, and the capture time of
/// the page it is on (used when the record has no `observed_at`).
#[derive(Debug, Clone, PartialEq)]
pub struct Obs<T> {
    /// Stable row id in the case store.
    pub id: String,
    /// The record.
    pub record: T,
    /// RFC 3339 capture time of its evidence record, when known.
    pub captured_at: Option<String>,
}

impl<T> Obs<T> {
    /// The row borrowed as linking and the report read rows.
    pub fn row(&self) -> model::Row<'_, T> {
        model::Row { id: self.id.as_str(), record: &self.record, captured_at: self.captured_at.as_deref() }
    }
}

/// Everything the estimators read.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Listing observations.
    pub listings: &'a [Obs<model::Listing>],
    /// Feedback observations.
    pub feedback: &'a [Obs<model::Feedback>],
    /// Category entries (listing counts the markets state, for coverage).
    pub categories: &'a [Obs<model::CategoryEntry>],
    /// Vendor observations (their own sales counters).
    pub vendors: &'a [Obs<model::Vendor>],
}
