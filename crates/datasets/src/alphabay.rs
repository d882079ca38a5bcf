//! The alphabay dataset. (Not written yet.)

use crate::{DatasetExtraction, DatasetInput};

pub(crate) fn detect(_source: &str, _head: &[u8]) -> bool {
    false
}

pub(crate) fn parse(_input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut out = DatasetExtraction::default();
    out.reject(0, None, "the alphabay importer is not written yet");
    out
}
