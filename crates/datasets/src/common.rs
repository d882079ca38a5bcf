//! Shared pieces of the importers: problems, provenance, CSV rows with line
//! numbers, decoding.

use model::Provenance;

use crate::{DatasetExtraction, DatasetInput};

/// How bad a row problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row produced no records (counted in `rejected`).
    Rejected,
    /// The row was imported, but something in it was repaired or dropped.
    Warning,
}

/// A problem with one row, named by the file's line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// The 1-based physical line the row starts on (0: the whole file).
    pub line: u64,
    /// The 1-based data row number (header excluded), when known.
    pub row: Option<u64>,
    /// Rejected or warning.
    pub severity: Severity,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.severity {
            Severity::Rejected => "row rejected",
            Severity::Warning => "warning",
        };
        match self.row {
            Some(r) => write!(f, "line {} (row {r}): {what}: {}", self.line, self.message),
            None => write!(f, "line {}: {what}: {}", self.line, self.message),
        }
    }
}

impl DatasetExtraction {
    /// Notes a rejected row.
    pub(crate) fn reject(&mut self, line: u64, row: Option<u64>, message: impl Into<String>) {
        self.rejected += 1;
        self.problems.push(RowProblem { line, row, severity: Severity::Rejected, message: message.into() });
    }

    /// Notes a repaired row that was still imported.
    pub(crate) fn warn(&mut self, line: u64, row: Option<u64>, message: impl Into<String>) {
        self.problems.push(RowProblem { line, row, severity: Severity::Warning, message: message.into() });
    }
}

/// The provenance of data row `row` (1-based) starting on `line` (1-based).
pub(crate) fn provenance(input: &DatasetInput<'_>, format: &str, row: u64, line: u64) -> Provenance {
    Provenance { evidence: input.evidence, profile: format!("dataset:{format}"), rule: format!("row {row}, line {line}") }
}
