//! `dragnet import`: files, directories and WARC files become evidence.

use std::collections::BTreeSet;
use std::path::PathBuf;

use evidence::{CaptureMeta, Origin, SourceKind};
use model::Sha256;
use serde_json::json;

use crate::pipeline::{captured_text, read_dataset, DatasetFile, DatasetRead, ExtractReport};
use crate::{Case, Progress, Result, TOOL_VERSION};

/// Import settings.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Files larger than this are refused (reported, not stored).
    pub max_file_bytes: u64,
    /// Treat every imported file as a dataset of this format (a name from
    /// [`Case::dataset_format`]); `None`: detect datasets.
    pub dataset_format: Option<String>,
    /// The capture time of the imported files, when the analyst knows it
    /// (saved pages otherwise get their file modification time, which a copy
    /// resets). Recorded in the evidence and the custody log. WARC records
    /// keep their own `WARC-Date`.
    pub captured_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Read each new dataset file into the store as it is stored, from the
    /// bytes just read and hashed, rather than leave it to [`Case::extract`]
    /// (which reads it back from the evidence store: inflated and hashed
    /// again). The rows are the same either way; see
    /// [`ImportReport::extraction`].
    pub extract_datasets: bool,
    /// Read a file already in the case as a dataset of another format than
    /// the one it was imported with, replacing the rows read before. Without
    /// it such a file is reported and left as it was (a second import with
    /// another `--format` had silently replaced 300 listings with 299
    /// rejections; found by a review).
    pub reformat: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { max_file_bytes: 512 << 20, dataset_format: None, captured_at: None, extract_datasets: false, reformat: false }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// Input files looked at.
    pub files: usize,
    /// New evidence records stored.
    pub added: usize,
    /// Payloads already in the case (stored once; the new source was noted).
    pub duplicates: usize,
    /// WARC records that hold no page (request, warcinfo, metadata, revisit...).
    pub skipped_records: usize,
    /// Digests of the payloads this import touched, in input order.
    pub digests: Vec<Sha256>,
    /// Problems, each naming its file (and record offset), as text.
    pub problems: Vec<String>,
    /// Dataset files found: (source, format, digest).
    pub datasets: Vec<(String, String, Sha256)>,
    /// New pages that had no capture time of their own (a file that is not
    /// a WARC, imported without `--captured-at`), so were stored with their
    /// file's modification time: a copied file's is the copy's. (Datasets
    /// are left out: their rows carry their own dates.)
    pub dated_by_file_time: Option<FileTimes>,
    /// Files named as data (`.csv`, `.tsv`, `.json`, `.jsonl`, `.ndjson`)
    /// that no dataset format recognised, imported without `--format`: they
    /// are stored as evidence, but no row of theirs is read. (Such files
    /// had gone into a directory's import unnoticed; found by a review.)
    pub not_datasets: Vec<String>,
    /// What was read into the store of the dataset files that were new
    /// evidence, with [`ImportOptions::extract_datasets`]; the digests read.
    /// Others (files already in the case) are left to [`Case::extract`].
    #[serde(skip)]
    pub extraction: (ExtractReport, BTreeSet<Sha256>),
}

/// How many new pages were dated by their files' modification times, and
/// the earliest and latest of those times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FileTimes {
    /// Pages.
    pub pages: usize,
    /// Earliest time.
    pub earliest: chrono::DateTime<chrono::Utc>,
    /// Latest time.
    pub latest: chrono::DateTime<chrono::Utc>,
}

impl FileTimes {
    fn add(times: &mut Option<FileTimes>, at: chrono::DateTime<chrono::Utc>) {
        let t = times.get_or_insert(FileTimes { pages: 0, earliest: at, latest: at });
        t.pages += 1;
        t.earliest = t.earliest.min(at);
        t.latest = t.latest.max(at);
    }
}

impl Case {
    /// Imports `paths` (files and directories, recursively) as evidence. Bad
    /// files and records are reported and the rest is imported.
    pub fn import(&mut self, paths: &[PathBuf], opts: &ImportOptions, progress: &dyn Progress) -> Result<ImportReport> {
        self.recover_killed_writes()?;
        let (sources, problems) = evidence::discover(paths);
        let mut report = ImportReport {
            problems: problems.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        };
        progress.start("importing", sources.len() as u64);
        // Files are read, hashed and compressed on every core (and dataset
        // files read as such, with `extract_datasets`); each is stored and
        // logged here, in input order (a WARC file is read here too).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let registry = opts.extract_datasets.then(|| self.datasets.clone());
        let blocks = store::BlockPool::default();
        let read = |src: &evidence::Source| match src.kind {
            SourceKind::Warc => None,
            SourceKind::Page => Some(read_page(src, opts).map(|(mut page, bytes)| {
                let format = registry.as_ref().zip(page.dataset.as_deref()).and_then(|(r, name)| r.format(name));
                if let Some(format) = format {
                    // Its record when new: this file its first source (the
                    // URL and time are set from the record when stored).
                    let file = DatasetFile {
                        digest: page.prepared.sha256(),
                        source: &page.meta.source,
                        url: page.meta.url.clone(),
                        captured_at: page.meta.captured_at,
                    };
                    page.read = Some(read_dataset(&format, &file, &bytes, &blocks));
                }
                page
            })),
        };
        crate::pipeline::for_each_in_order(&sources, threads, read, |i, page| -> Result<()> {
            let src = &sources[i];
            report.files += 1;
            match page {
                None => self.import_warc(src, &mut report)?,
                Some(Err(problem)) => report.problems.push(problem),
                Some(Ok(page)) => self.store_page(src, page, opts, &mut report)?,
            }
            progress.inc(1);
            Ok(())
        })?;
        self.evidence.sync()?;
        progress.finish();
        if !report.extraction.1.is_empty() {
            self.log_extraction(&report.extraction.0, None)?;
        }
        Ok(report)
    }

    /// Stores a file [`read_page`] read and prepared.
    fn store_page(&mut self, src: &evidence::Source, page: ReadPage, opts: &ImportOptions, report: &mut ImportReport) -> Result<()> {
        let stored_before = report.digests.len();
        match self.evidence.add_prepared(page.prepared, &page.meta) {
            Ok(added) => {
                let new = added.new.then_some(added.sha256);
                if let (Some(_), true, None, Some(at)) = (new, page.dated_by_file_time, &page.dataset, page.meta.captured_at) {
                    FileTimes::add(&mut report.dated_by_file_time, at);
                }
                self.note_added(added, &page.meta, page.len, report)?;
                // A dataset read as new evidence goes into the store with
                // the record's fields as the evidence store lists them.
                if let (Some(sha), Some(mut read)) = (new, page.read) {
                    if let Some(rec) = self.evidence.record(&sha) {
                        let row = &mut read.records.page;
                        row.source = rec.sources.first().cloned();
                        row.url = rec.url.clone();
                        row.captured_at = rec.captured_at.map(captured_text);
                        let (extracted, digests) = &mut report.extraction;
                        self.store.in_transaction(|store| read.store(store, extracted))?;
                        digests.insert(sha);
                    }
                }
            }
            Err(e) => report.problems.push(format!("{}: not stored: {e}", page.meta.source)),
        }
        // A payload the store refused pushes no digest.
        // (A file imported before with a mapping is that dataset.)
        if page.data_file_unread && page.dataset.is_none() && report.digests.get(stored_before).is_some_and(|d| self.datasets.recorded(d).is_none()) {
            report.not_datasets.push(src.name.clone());
        }
        if let (Some(format), true) = (page.dataset, report.digests.len() > stored_before) {
            let digest = report.digests[stored_before];
            match self.datasets.recorded(&digest).filter(|kept| *kept != format).map(str::to_owned) {
                // Detection does not override the format the file was
                // imported with (a mapping's, say): the file is that dataset.
                Some(kept) if opts.dataset_format.is_none() => report.datasets.push((src.name.clone(), kept, digest)),
                Some(kept) if !opts.reformat => report.problems.push(format!(
                    "{}: in the case already as a dataset of format {kept}: not read again as {format} (give --reformat to read it as {format} instead, replacing the rows read as {kept})",
                    src.name
                )),
                _ => {
                    self.remember_dataset(digest, &format)?;
                    report.datasets.push((src.name.clone(), format, digest));
                }
            }
        }
        Ok(())
    }

    fn import_warc(&mut self, src: &evidence::Source, report: &mut ImportReport) -> Result<()> {
        let file_label = src.name.clone();
        for item in evidence::read_warc(&src.path) {
            let rec = match item {
                Ok(r) => r,
                Err(e) => {
                    report.problems.push(e.to_string());
                    continue;
                }
            };
            let (payload, content_type, head) = match rec.warc_type.as_str() {
                "response" if rec.is_http_response() => match rec.http_response() {
                    Some(Ok(resp)) => {
                        let ct = resp.content_type().map(str::to_owned);
                        let head = rec.block.get(..resp.head_len).map(<[u8]>::to_vec);
                        (resp.body, ct, head)
                    }
                    Some(Err(e)) => {
                        report.problems.push(format!(
                            "{file_label}@{}: HTTP response in record {} does not parse: {e}",
                            rec.offset, rec.record_id
                        ));
                        continue;
                    }
                    None => (rec.block.clone(), rec.content_type().map(str::to_owned), None),
                },
                "response" | "resource" => (rec.block.clone(), rec.content_type().map(str::to_owned), None),
                _ => {
                    report.skipped_records += 1;
                    continue;
                }
            };
            // As the record says: dragnet's own records name a capture time
            // that was unknown, or a file's modification time.
            let capture_time = rec.header("X-Dragnet-Capture-Time");
            let meta = CaptureMeta {
                source: format!("{file_label}@{}", rec.offset),
                url: rec.target_uri.clone(),
                captured_at: rec.date.filter(|_| capture_time != Some("unknown")),
                captured_at_is_file_time: capture_time == Some("file-modified"),
                content_type,
                origin: Origin::Warc { file: file_label.clone(), record_id: rec.record_id.clone() },
                http_head: head,
                truncated: rec.header("WARC-Truncated").map(str::to_owned),
            };
            self.store_payload(&payload, &meta, report)?;
        }
        Ok(())
    }

    fn store_payload(&mut self, bytes: &[u8], meta: &CaptureMeta, report: &mut ImportReport) -> Result<()> {
        match self.evidence.add(bytes, meta) {
            Ok(added) => self.note_added(added, meta, bytes.len(), report),
            Err(e) => {
                report.problems.push(format!("{}: not stored: {e}", meta.source));
                Ok(())
            }
        }
    }

    /// Counts a stored payload and logs its acquisition in the custody log.
    fn note_added(&mut self, added: evidence::Added, meta: &CaptureMeta, bytes: usize, report: &mut ImportReport) -> Result<()> {
        if added.new {
            report.added += 1;
        } else {
            report.duplicates += 1;
        }
        report.digests.push(added.sha256);
        self.evidence.log(
            evidence::ACQUIRE,
            json!({
                "sha256": added.sha256.to_hex(),
                "source": meta.source,
                "url": meta.url,
                "bytes": bytes,
                "new": added.new,
                // The gzip members written (none for bytes stored before):
                // the chain then covers their bytes, which the index
                // line's digest alone does not (it can be rewritten).
                "members": added.members.iter().map(|m| m.to_hex()).collect::<Vec<_>>(),
            }),
            &self.operator,
            TOOL_VERSION,
        )?;
        Ok(())
    }
}

/// A file read and made ready to store, on any thread.
struct ReadPage {
    meta: CaptureMeta,
    /// Its capture time is its file's modification time.
    dated_by_file_time: bool,
    /// The dataset format it is to be read as, if it is a dataset.
    dataset: Option<String>,
    prepared: evidence::Prepared,
    len: usize,
    /// Named as a data file, yet no format was given or detected.
    data_file_unread: bool,
    /// The dataset read, with [`ImportOptions::extract_datasets`].
    read: Option<DatasetRead>,
}

/// Reads one file (refusing one over the size limit) and prepares it for the
/// evidence store, with its bytes; a problem as text naming the file.
fn read_page(src: &evidence::Source, opts: &ImportOptions) -> std::result::Result<(ReadPage, Vec<u8>), String> {
    let meta = std::fs::metadata(&src.path).map_err(|e| format!("{}: cannot read: {e}", src.path.display()))?;
    if meta.len() > opts.max_file_bytes {
        return Err(format!(
            "{}: {} bytes, over the import limit of {} bytes; not imported",
            src.path.display(),
            meta.len(),
            opts.max_file_bytes
        ));
    }
    let bytes = std::fs::read(&src.path).map_err(|e| format!("{}: cannot read: {e}", src.path.display()))?;
    let file_name = src.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let url = evidence::url_from_file_name(&file_name).or_else(|| extract::url_hint(&bytes));
    let mut cm = CaptureMeta::file(src.name.clone());
    cm.url = url;
    let file_time = meta.modified().ok().map(chrono::DateTime::<chrono::Utc>::from);
    cm.captured_at = opts.captured_at.or(file_time);
    let dated_by_file_time = opts.captured_at.is_none() && file_time.is_some();
    cm.captured_at_is_file_time = dated_by_file_time;
    let dataset = opts.dataset_format.clone().or_else(|| datasets::detect(&src.name, &bytes).map(|f| f.name().to_owned()));
    let prepared = evidence::EvidenceStore::prepare(&bytes, &cm).map_err(|e| format!("{}: not stored: {e}", cm.source))?;
    let data_file_unread = dataset.is_none() && {
        let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        matches!(ext.as_str(), "csv" | "tsv" | "json" | "jsonl" | "ndjson")
    };
    Ok((ReadPage { meta: cm, dated_by_file_time, dataset, prepared, len: bytes.len(), data_file_unread, read: None }, bytes))
}
