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
