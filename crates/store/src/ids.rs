//! Stable row ids: kind letter, the first 16 hex digits of the evidence
//! digest, and the row's ordinal among rows of its kind on that page.

use std::fmt;
use std::str::FromStr;

use model::Sha256;

/// The kind of a row, as the first letter of its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// `L-`
    Listing,
    /// `V-`
    Vendor,
    /// `F-`
    Feedback,
    /// `C-`
    Category,
    /// `I-`
    Identifier,
}

impl RowKind {
    fn letter(self) -> char {
        match self {
            RowKind::Listing => 'L',
            RowKind::Vendor => 'V',
            RowKind::Feedback => 'F',
            RowKind::Category => 'C',
            RowKind::Identifier => 'I',
        }
    }

    /// The table holding rows of this kind.
    pub fn table(self) -> &'static str {
        match self {
            RowKind::Listing => "listings",
            RowKind::Vendor => "vendors",
            RowKind::Feedback => "feedback",
            RowKind::Category => "categories",
            RowKind::Identifier => "identifiers",
        }
    }
}

/// A row id such as `L-3f2a9c1b7d4e5f60-0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowId(String);

impl RowId {
    /// The id of the `ordinal`-th row of `kind` extracted from `evidence`.
    pub fn new(kind: RowKind, evidence: &Sha256, ordinal: usize) -> Self {
        RowId::in_page(&RowId::page_prefix(kind, evidence), ordinal)
    }

    /// What the ids of every `kind` row of `evidence` start with (`L-3f2a9c1b7d4e5f60-`):
    /// they sort together, so a page's rows are one range of the id index.
    pub fn page_prefix(kind: RowKind, evidence: &Sha256) -> String {
        format!("{}-{}-", kind.letter(), &evidence.to_hex()[..16])
    }

    /// The id of the `ordinal`-th row under a [`RowId::page_prefix`] (one
    /// digest to hex per page, not per row).
    pub fn in_page(prefix: &str, ordinal: usize) -> Self {
        // By hand: `format!` was most of building a million listing ids as a
        // case's listings are read.
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(ordinal);
        let mut id = String::with_capacity(prefix.len() + digits.len());
        id.push_str(prefix);
        id.push_str(digits);
        RowId(id)
    }

    /// The 16 hex digits of the evidence digest and the ordinal.
    pub fn page_and_ordinal(&self) -> Option<(&str, usize)> {
        let mut parts = self.0.splitn(3, '-');
        let (_, h, n) = (parts.next(), parts.next()?, parts.next()?);
        Some((h, n.parse().ok()?))
    }

    /// The kind of the row.
    pub fn kind(&self) -> RowKind {
        match self.0.as_bytes().first() {
            Some(b'L') => RowKind::Listing,
            Some(b'V') => RowKind::Vendor,
            Some(b'F') => RowKind::Feedback,
            Some(b'C') => RowKind::Category,
            _ => RowKind::Identifier,
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as text, without a copy.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Not a row id.
#[derive(Debug, thiserror::Error)]
#[error("not a row id (want e.g. L-3f2a9c1b7d4e5f60-0; kinds L V F C I): {0:?}")]
pub struct BadRowId(String);

impl FromStr for RowId {
    type Err = BadRowId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadRowId(s.chars().take(80).collect());
        let mut parts = s.splitn(3, '-');
        let (k, h, n) = (parts.next(), parts.next(), parts.next());
        let ok = matches!(k, Some("L" | "V" | "F" | "C" | "I"))
            && h.is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            && n.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        match (ok, k, h, n) {
            (true, Some(k), Some(h), Some(n)) => Ok(RowId(format!("{k}-{}-{n}", h.to_ascii_lowercase()))),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = RowId::new(RowKind::Vendor, &Sha256::of(b"page"), 3);
        assert_eq!(id.as_str().parse::<RowId>().unwrap(), id);
        assert_eq!(id.kind(), RowKind::Vendor);
        assert_eq!(id.page_and_ordinal(), Some((&Sha256::of(b"page").to_hex()[..16], 3)));
        for bad in ["", "X-0123456789abcdef-1", "L-0123-1", "L-0123456789abcdef-", "L-0123456789abcdeg-1"] {
            assert!(bad.parse::<RowId>().is_err(), "{bad}");
        }
    }
}
