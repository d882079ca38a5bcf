//! Dataset files (CSV/JSON exports of listings) inside a case: which format
//! each evidence record is, user mappings, and their extraction into the
//! same record tables pages fill.
//!
//! A file's format is decided at import (`--format NAME|MAPPING.toml`, else
//! detection) and remembered in `CASE/datasets.json` (digest -> format name),
//! so that re-extraction reads it the same way. User mappings are kept in
//! `CASE/mappings/<name>.toml` and logged (with their SHA-256) in the custody
//! log when added.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datasets::{DatasetFormat, DatasetInput, Mapping};
use model::{PageType, Sha256};
use store::{PageRecords, PageRow};

use crate::{io, Case, CaseError, Result, TOOL_VERSION};

const FORMATS_FILE: &str = "datasets.json";
pub(crate) const MAPPINGS_DIR: &str = "mappings";

/// Dataset formats known to a case: the built-ins plus its mappings, and
/// the format chosen for each dataset evidence record.
#[derive(Debug, Clone, Default)]
pub(crate) struct DatasetRegistry {
    mappings: BTreeMap<String, Mapping>,
    by_digest: BTreeMap<String, String>,
}

impl DatasetRegistry {
    pub(crate) fn load(dir: &Path) -> Result<DatasetRegistry> {
        let mut reg = DatasetRegistry::default();
        let file = dir.join(FORMATS_FILE);
        if file.exists() {
            let text = std::fs::read_to_string(&file).map_err(io(&file))?;
            reg.by_digest = serde_json::from_str(&text)
                .map_err(|e| CaseError::Config { path: file.clone(), message: format!("not a digest -> format map: {e}") })?;
        }
        let mdir = dir.join(MAPPINGS_DIR);
        if mdir.is_dir() {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&mdir)
                .map_err(io(&mdir))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            for p in paths {
                let text = std::fs::read_to_string(&p).map_err(io(&p))?;
                let m = Mapping::from_toml(&text).map_err(|e| CaseError::Config { path: p.clone(), message: e.to_string() })?;
                reg.mappings.insert(m.name.clone(), m);
            }
        }
        Ok(reg)
    }

    /// The format by name: built-in or a case mapping.
    pub(crate) fn format(&self, name: &str) -> Option<DatasetFormat> {
        DatasetFormat::built_in(name).or_else(|| self.mappings.get(name).map(|m| DatasetFormat::Mapped(Box::new(m.clone()))))
    }

    /// The format name evidence `digest` was imported as, if a dataset.
    pub(crate) fn recorded(&self, digest: &Sha256) -> Option<&str> {
        self.by_digest.get(&digest.to_hex()).map(String::as_str)
    }

    /// The format of a stored record: as recorded at import, else detected.
    pub(crate) fn format_of(&self, digest: &Sha256, source: &str, bytes: &[u8]) -> Option<DatasetFormat> {
        match self.by_digest.get(&digest.to_hex()) {
            Some(name) => self.format(name),
            None => datasets::detect(source, bytes),
        }
    }
}

impl Case {
    /// Resolves `--format`: a built-in name, a mapping already in the case,
    /// or a path to a mapping file (copied into the case and logged).
    pub fn dataset_format(&mut self, spec: &str) -> Result<String> {
        if DatasetFormat::built_in(spec).is_some() || self.datasets.mappings.contains_key(spec) {
            return Ok(spec.to_owned());
        }
        let path = Path::new(spec);
        if !path.is_file() {
            return Err(CaseError::Config {
                path: path.to_owned(),
                message: format!(
                    "unknown dataset format {spec:?}: give one of {} or a mapping file (docs/datasets.md)",
                    DatasetFormat::BUILT_IN.join(", ")
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let mapping = Mapping::from_toml(&text).map_err(|e| CaseError::Config { path: path.to_owned(), message: e.to_string() })?;
        if DatasetFormat::built_in(&mapping.name).is_some() {
            return Err(CaseError::Config {
                path: path.to_owned(),
                message: format!("mapping name {:?} is a built-in format name; choose another", mapping.name),
            });
        }
        let dir = self.dir.join(MAPPINGS_DIR);
        let dest = dir.join(format!("{}.toml", mapping.name));
        // A mapping the case holds already under this name: the same text is
        // that mapping; another text would change how the files read with it
        // are read at the next extraction (one read "title,vendor,price",
        // the other "item,seller,cost", and every row of the first file was
        // rejected; found by a review), so it needs a name of its own.
        if self.datasets.mappings.contains_key(&mapping.name) {
            let kept = std::fs::read(&dest).map_err(io(&dest))?;
            if kept == text.as_bytes() {
                return Ok(mapping.name);
            }
            let read_with = self.datasets.by_digest.values().filter(|n| **n == mapping.name).count();
            if read_with > 0 {
                return Err(CaseError::Config {
                    path: path.to_owned(),
                    message: format!(
                        "the case holds another mapping named {:?} ({}), which {read_with} dataset files were read with: give this one a name of its own (importing those files again with it and --reformat reads them anew)",
                        mapping.name,
                        dest.display()
                    ),
                });
            }
        }
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        crate::write_atomic(&dest, text.as_bytes())?;
        self.log(
            "dataset-mapping",
            serde_json::json!({
                "name": mapping.name,
                "sha256": Sha256::of(text.as_bytes()).to_hex(),
                "from": path.display().to_string(),
            }),
        )?;
        let name = mapping.name.clone();
        self.datasets.mappings.insert(name.clone(), mapping);
        Ok(name)
    }

    /// Records that evidence `digest` is a dataset of format `name`.
    pub(crate) fn remember_dataset(&mut self, digest: Sha256, name: &str) -> Result<()> {
        if self.datasets.by_digest.get(&digest.to_hex()).map(String::as_str) == Some(name) {
            return Ok(());
        }
        self.datasets.by_digest.insert(digest.to_hex(), name.to_owned());
        let file = self.dir.join(FORMATS_FILE);
        let text = serde_json::to_string_pretty(&self.datasets.by_digest).unwrap_or_default();
        crate::write_atomic(&file, text.as_bytes())
    }
}

/// Reads one dataset evidence record into page records (page type
/// `dataset`), and the problems as text naming the source and line. Its
/// feedback and listings go to the two sinks as they are read (the records
/// hold none).
pub(crate) fn extract_dataset(
    format: &DatasetFormat,
    digest: Sha256,
    source: &str,
    url: Option<String>,
    captured_at: Option<String>,
    bytes: &[u8],
    (feedback, listing): datasets::RowSinks<'_>,
) -> (PageRecords, DatasetStats) {
    let out = datasets::parse_streaming(format, &DatasetInput { bytes, evidence: digest, source }, feedback, listing);
    let mut diagnostics: Vec<String> = out.problems.iter().map(|p| format!("{source}: {p}")).collect();
    if out.problems_not_listed > 0 {
        diagnostics.push(format!(
            "{source}: {} more problems not listed (the first {} are; every rejected row is counted)",
            out.problems_not_listed,
            datasets::PROBLEMS_LISTED
        ));
    }
    // Identifiers (PGP keys, addresses) anywhere in the file, like on pages.
    // Checked whole with SIMD first: std's check, inside `from_utf8_lossy`,
    // took half as long as the search itself on a 116 MB file.
    let text = match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let found = identifiers::find_all(&text);
    let lines = lines_of(&text, found.iter().map(|f| f.offset));
    let identifiers: Vec<model::Identifier> = found
        .into_iter()
        .zip(lines)
        .map(|(f, line)| {
            // Cited by the line it is on, as rows are.
            let rule = format!("identifier/{}, line {line}", f.kind.as_str());
            f.into_identifier(Some(model::Provenance { evidence: digest, profile: format!("dataset:{}", out.format), rule }))
        })
        .collect();
    let stats = DatasetStats {
        rows: out.rows,
        imported: out.imported,
        rejected: out.rejected,
        problems: out.problems,
        problems_not_listed: out.problems_not_listed,
    };
    let records = PageRecords {
        page: PageRow {
            evidence: digest,
            source: Some(source.to_owned()),
            url,
            captured_at,
            market: out.market.clone(),
            profile: format!("dataset:{}", out.format),
            page_type: PageType::Dataset,
            encoding: "dataset".into(),
            diagnostics,
            extracted_by: TOOL_VERSION.to_owned(),
        },
        listings: out.listings,
        vendors: out.vendors,
        feedback: out.feedback,
        categories: out.categories,
        identifiers,
    };
    (records, stats)
}

/// The 1-based line of each of `offsets` (byte offsets into `text`, in any
/// order), counting LF, CRLF and a bare CR each as one line end, as the
/// dataset readers do (AlphaBay's files end lines with a bare CR).
fn lines_of(text: &str, offsets: impl Iterator<Item = usize>) -> Vec<u64> {
    let offsets: Vec<usize> = offsets.collect();
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_unstable_by_key(|&i| offsets[i]);
    let bytes = text.as_bytes();
    let (mut at, mut line) = (0usize, 1u64);
    let mut out = vec![0u64; offsets.len()];
    for i in order {
        let to = offsets[i].min(bytes.len()).max(at);
        // memchr: a file is up to hundreds of MB, and an address may sit
        // near its end.
        line += memchr::memchr_iter(b'\n', &bytes[at..to]).count() as u64;
        line += memchr::memchr_iter(b'\r', &bytes[at..to]).filter(|&k| bytes.get(at + k + 1) != Some(&b'\n')).count() as u64;
        at = to;
        out[i] = line;
    }
    out
}

/// Row counts of one dataset file, and its row problems.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DatasetStats {
    /// Data rows read.
    pub rows: u64,
    /// Rows imported.
    pub imported: u64,
    /// Rows kept out.
    pub rejected: u64,
    /// Rows rejected or repaired, by line: the first
    /// [`datasets::PROBLEMS_LISTED`] (`import --json` prints them, so a
    /// script need not parse the notes on stderr).
    pub problems: Vec<datasets::RowProblem>,
    /// Problems past those listed (every rejected row is still counted).
    pub problems_not_listed: u64,
}

#[cfg(test)]
mod tests {
    use super::lines_of;

    /// LF, CRLF and a bare CR each end a line; offsets in any order.
    #[test]
    fn lines_count_every_line_end() {
        let text = "a\nb\r\nc\rd\n\ne";
        let at = |c: char| text.find(c).unwrap();
        assert_eq!(lines_of(text, [at('e'), at('a'), at('d'), at('b'), at('c')].into_iter()), [6, 1, 4, 2, 3]);
        assert_eq!(lines_of(text, [0, 0, text.len()].into_iter()), [1, 1, 6]);
        assert!(lines_of("", std::iter::empty()).is_empty());
    }
}
