//! Shared by the per-dataset tests: parse bytes as a format, read a real file
//! in place, and small record helpers.
#![allow(dead_code)] // each test file uses its own subset

use datasets::{parse, DatasetExtraction, DatasetFormat, DatasetInput};
use model::{Listing, Money, Sha256};

/// Parses `bytes` (named `source`) as `format`.
pub fn parse_as(format: &DatasetFormat, source: &str, bytes: &[u8]) -> DatasetExtraction {
    parse(format, &DatasetInput { bytes, evidence: Sha256::of(bytes), source })
}

/// The bytes of `shared/data/<rel>`; `None` (after a notice) when absent outside CI.
pub fn read_shared(rel: &str) -> Option<Vec<u8>> {
    let path = testdata::shared(rel)?;
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Reads `shared/data/<rel>` and parses it as `format`, named `source`.
pub fn load_as(format: &DatasetFormat, rel: &str, source: &str) -> Option<(Vec<u8>, DatasetExtraction)> {
    let bytes = read_shared(rel)?;
    let out = parse_as(format, source, &bytes);
    Some((bytes, out))
}

/// `Money` as the importers write it.
pub fn money(amount: &str, currency: &str) -> Option<Money> {
    Some(Money { amount: amount.into(), currency: currency.into() })
}

/// A listing's provenance rule (`row N, line L`).
pub fn rule(l: &Listing) -> &str {
    &l.provenance.as_ref().expect("provenance").rule
}
