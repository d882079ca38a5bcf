//! Stored rows borrowed with their ids: how consumers that read a case's
//! rows once (`case` reads them for linking, sales and the report together)
//! hand them to each crate that needs them.

use crate::{Feedback, Identifier, Listing, Vendor};

/// One stored row: its id and the record.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a, T> {
    /// Row id (`V-…`, `L-…`), cited as evidence.
    pub id: &'a str,
    /// The record.
    pub record: &'a T,
    /// When its evidence was captured (RFC 3339), where known: a captured
    /// page's listing or profile row carries no date of its own, and the
    /// capture is the day it was seen.
    pub captured_at: Option<&'a str>,
}

impl<'a, T> Row<'a, T> {
    /// A row whose capture time is not known (or not needed).
    pub fn new(id: &'a str, record: &'a T) -> Self {
        Row { id, record, captured_at: None }
    }
}

/// A case's extracted rows, borrowed.
#[derive(Debug, Clone, Default)]
pub struct Records<'a> {
    /// Vendor observations.
    pub vendors: Vec<Row<'a, Vendor>>,
    /// Listing observations.
    pub listings: Vec<Row<'a, Listing>>,
    /// Feedback.
    pub feedback: Vec<Row<'a, Feedback>>,
    /// Identifiers.
    pub identifiers: Vec<Row<'a, Identifier>>,
}
