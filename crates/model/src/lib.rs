//! Domain types that several dragnet crates share.
//!
//! This crate is deliberately small and has no I/O: it holds the vocabulary of
//! the pipeline (a [`Sha256`] digest naming an evidence record, the
//! [`Provenance`] every extracted row carries, and the extracted records
//! themselves: [`Listing`], [`Vendor`], [`Feedback`], [`Identifier`],
//! [`CategoryEntry`]). Producers (`extract`) and consumers (`store`, `report`)
//! depend on it instead of on each other, which keeps the data flow one-way.
//!
//! The records derive `serde` only so that `store` can keep list-valued fields
//! as JSON columns; the JSON API and exports define their own wire types.
#![warn(missing_docs)]

mod csv_cell;
mod digest;
mod records;
mod rows;

pub use csv_cell::formula_safe;
pub use digest::{ParseDigestError, Sha256};
pub use records::*;
pub use rows::{Records, Row};
