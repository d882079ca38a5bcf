//! User-written dataset mappings (TOML). (Not written yet.)

use crate::{DatasetExtraction, DatasetInput};

/// A description of a CSV/JSON dataset's layout.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Mapping {
    /// Format name, used in provenance (`dataset:<name>`).
    pub name: String,
}

/// A mapping file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(String);

impl Mapping {
    /// Parses a mapping file.
    pub fn from_toml(text: &str) -> Result<Mapping, MappingError> {
        toml::from_str(text).map_err(|e| MappingError(e.to_string()))
    }
}

pub(crate) fn parse(_m: &Mapping, _input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut out = DatasetExtraction::default();
    out.reject(0, None, "mapped datasets are not written yet");
    out
}
