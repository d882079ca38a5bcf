//! `dragnet extract`: evidence records -> extracted records in the store.

use std::collections::BTreeMap;

use datasets::DatasetFormat;
use extract::{extract_page, PageExtraction, PageInput};
use model::Sha256;
use store::{CaseStore, PageRecords, PageRow};

use crate::datasets::{extract_dataset, DatasetStats};
use crate::{Case, Progress, Result, TOOL_VERSION};

/// Extraction settings.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// Use this market's profile for every page instead of detecting it.
    pub market: Option<String>,
    /// Only pages not extracted yet.
    pub only_new: bool,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Only these evidence records (e.g. the ones an import just added).
    pub only: Option<std::collections::BTreeSet<Sha256>>,
}

/// A page that extraction had something to say about.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageProblem {
    /// The evidence record.
    pub evidence: String,
    /// Its source name.
    pub source: String,
    /// What happened.
    pub message: String,
}

/// What an extraction run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ExtractReport {
    /// Pages extracted.
    pub pages: usize,
    /// Pages per market (`-` for none).
    pub by_market: BTreeMap<String, usize>,
    /// Pages per page type.
    pub by_page_type: BTreeMap<String, usize>,
    /// Records written.
    pub listings: usize,
    /// Vendor records written.
    pub vendors: usize,
    /// Feedback records written.
    pub feedback: usize,
    /// Category records written.
    pub categories: usize,
    /// Identifiers written.
    pub identifiers: usize,
    /// Diagnostics, per page.
    pub problems: Vec<PageProblem>,
    /// Dataset files read, with their row counts.
    pub datasets: Vec<DatasetFileReport>,
}

/// Row counts of one dataset file an extraction read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatasetFileReport {
    /// Source name.
    pub source: String,
    /// Evidence digest.
    pub evidence: String,
    /// Format.
    pub format: String,
    /// Rows read, imported and rejected.
    #[serde(flatten)]
    pub stats: DatasetStats,
}

const BATCH: usize = 64;

impl Case {
    /// Extracts every evidence record (or only new ones) into the store.
    pub fn extract(&mut self, opts: &ExtractOptions, progress: &dyn Progress) -> Result<ExtractReport> {
        let mut todo = self.evidence.records();
        if opts.only_new {
            let done: std::collections::BTreeSet<Sha256> =
                self.store.pages()?.into_iter().map(|p| p.evidence).collect();
            todo.retain(|r| !done.contains(&r.sha256));
        }
        if let Some(only) = &opts.only {
            todo.retain(|r| only.contains(&r.sha256));
        }
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let mut report = ExtractReport::default();
        progress.start("extracting", todo.len() as u64);
        // Dataset files' rows are encoded into blocks passed from file to file.
        let blocks = store::BlockPool::default();
        for batch in todo.chunks(BATCH) {
            let profiles = &self.profiles;
            let market = opts.market.as_deref();
            let registry = &self.datasets;
            let evidence = &self.evidence;
            // Each thread reads (inflates, re-hashes) the records it extracts,
            // rather than this one reading a whole batch (gigabytes of dataset
            // files) before extraction begins. A dataset's listing and
            // feedback chunks are encoded there too (its feedback as it is
            // read): the thread that stores is the one that bounds an import
            // of many files.
            let extract_one = |rec: &evidence::RecordInfo| {
                let bytes = match evidence.get(&rec.sha256) {
                    Ok(b) => b,
                    Err(e) => return Extracted::Unreadable(e.to_string()),
                };
                let bytes = &bytes[..];
                let source = rec.sources.first().map(String::as_str).unwrap_or_default();
                if let Some(format) = registry.format_of(&rec.sha256, source, bytes) {
                    let file = DatasetFile { digest: rec.sha256, source, url: rec.url.clone(), captured_at: rec.captured_at };
                    return Extracted::Dataset(read_dataset(&format, &file, bytes, &blocks));
                }
                let input = PageInput {
                    bytes,
                    evidence: rec.sha256,
                    url: rec.url.as_deref(),
                    source: rec.sources.first().map(String::as_str),
                    content_type: rec.content_type.as_deref(),
                };
                Extracted::Page(Box::new(extract_page(&input, profiles, market)))
            };
            let store = &mut self.store;
            // Pages are stored here, in order, while the other threads extract
            // the next ones: storing overlaps extracting, and only a few
            // extracted pages (or dataset files) are in memory at once.
            store.in_transaction(|store| {
                for_each_in_order(batch, threads, extract_one, |i, out| {
                    let rec = &batch[i];
                    let source = rec.sources.first().cloned().unwrap_or_default();
                    let out = match out {
                        Extracted::Unreadable(e) => {
                            report.problems.push(PageProblem {
                                evidence: rec.sha256.to_hex(),
                                source,
                                message: format!("cannot read evidence: {e}"),
                            });
                            return Ok(());
                        }
                        Extracted::Page(p) => *p,
                        Extracted::Dataset(read) => return read.store(store, &mut report),
                    };
                    for d in &out.diagnostics {
                        report.problems.push(PageProblem {
                            evidence: rec.sha256.to_hex(),
                            source: source.clone(),
                            message: d.clone(),
                        });
                    }
                    report.pages += 1;
                    *report.by_market.entry(out.market.clone().unwrap_or_else(|| "-".into())).or_default() += 1;
                    *report.by_page_type.entry(out.page_type.as_str().to_owned()).or_default() += 1;
                    report.listings += out.listings.len();
                    report.vendors += out.vendors.len();
                    report.feedback += out.feedback.len();
                    report.categories += out.categories.len();
                    report.identifiers += out.identifiers.len();
                    store.put_page(&PageRecords {
                        page: PageRow {
                            evidence: rec.sha256,
                            source: Some(source),
                            url: rec.url.clone(),
                            captured_at: rec.captured_at.map(captured_text),
                            market: out.market,
                            profile: out.profile,
                            page_type: out.page_type,
                            encoding: out.encoding.to_owned(),
                            diagnostics: out.diagnostics,
                            extracted_by: TOOL_VERSION.to_owned(),
                        },
                        listings: out.listings,
                        vendors: out.vendors,
                        feedback: out.feedback,
                        categories: out.categories,
                        identifiers: out.identifiers,
                    })?;
                    Ok(())
                })
            })?;
            progress.inc(batch.len() as u64);
        }
        progress.finish();
        self.log_extraction(&report, opts.market.as_deref())?;
        Ok(report)
    }

    /// The custody log's note of an extraction.
    pub(crate) fn log_extraction(&mut self, report: &ExtractReport, market: Option<&str>) -> Result<()> {
        self.log(
            "extract",
            serde_json::json!({
                "pages": report.pages,
                "listings": report.listings,
                "vendors": report.vendors,
                "feedback": report.feedback,
                "identifiers": report.identifiers,
                "market": market,
            }),
        )
    }
}

enum Extracted {
    /// The evidence record could not be read (the error, as text).
    Unreadable(String),
    Page(Box<PageExtraction>),
    Dataset(DatasetRead),
}

/// A dataset file read: its records (listings and feedback taken out),
/// counts, and its listings and feedback encoded as the store keeps them.
pub(crate) struct DatasetRead {
    pub(crate) records: Box<PageRecords>,
    stats: DatasetStats,
    encoded: store::Result<store::EncodedRows>,
}

/// What a dataset file's page row says of its evidence record.
pub(crate) struct DatasetFile<'a> {
    pub(crate) digest: Sha256,
    /// The record's first source.
    pub(crate) source: &'a str,
    pub(crate) url: Option<String>,
    pub(crate) captured_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads a dataset `file` of `format` (its payload `bytes`), on any thread:
/// listings and feedback are encoded row by row as they are read (into
/// blocks from `blocks`), never held as records.
pub(crate) fn read_dataset(format: &DatasetFormat, file: &DatasetFile<'_>, bytes: &[u8], blocks: &store::BlockPool) -> DatasetRead {
    let started = std::time::Instant::now();
    let source = file.source;
    let (mut listings, mut feedback) = (store::ListingEncoder::with_pool(blocks), store::FeedbackEncoder::with_pool(blocks));
    let (records, stats) = extract_dataset(
        format,
        file.digest,
        source,
        file.url.clone(),
        file.captured_at.map(captured_text),
        bytes,
        (&mut |f| feedback.push(f), &mut |l| listings.push(&l)),
    );
    let encoded = store::EncodedRows::of_encoders(&file.digest, listings, feedback);
    tracing::debug!("dataset {source}: read and encoded in {:.2} s", started.elapsed().as_secs_f64());
    DatasetRead { records: Box::new(records), stats, encoded }
}

/// A capture time as page rows hold it.
pub(crate) fn captured_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl DatasetRead {
    /// Puts the records into `store` (in the caller's transaction) and
    /// counts them in `report`.
    pub(crate) fn store(self, store: &mut store::SqliteStore, report: &mut ExtractReport) -> store::Result<()> {
        let encoded = self.encoded?;
        report.note_dataset(&self.records, encoded.listing_rows(), encoded.feedback_rows(), self.stats);
        let started = std::time::Instant::now();
        store.put_page_encoded(&self.records, encoded)?;
        let source = self.records.page.source.as_deref().unwrap_or_default();
        tracing::debug!("dataset {source}: stored in {:.2} s", started.elapsed().as_secs_f64());
        Ok(())
    }
}

impl ExtractReport {
    /// Adds what another extraction did.
    pub fn absorb(&mut self, other: ExtractReport) {
        self.pages += other.pages;
        for (k, n) in other.by_market {
            *self.by_market.entry(k).or_default() += n;
        }
        for (k, n) in other.by_page_type {
            *self.by_page_type.entry(k).or_default() += n;
        }
        self.listings += other.listings;
        self.vendors += other.vendors;
        self.feedback += other.feedback;
        self.categories += other.categories;
        self.identifiers += other.identifiers;
        self.problems.extend(other.problems);
        self.datasets.extend(other.datasets);
    }

    fn note_dataset(&mut self, r: &PageRecords, listings: usize, feedback: usize, stats: DatasetStats) {
        let source = r.page.source.clone().unwrap_or_default();
        for d in &r.page.diagnostics {
            self.problems.push(PageProblem { evidence: r.page.evidence.to_hex(), source: source.clone(), message: d.clone() });
        }
        self.pages += 1;
        *self.by_market.entry(r.page.market.clone().unwrap_or_else(|| "-".into())).or_default() += 1;
        *self.by_page_type.entry(r.page.page_type.as_str().to_owned()).or_default() += 1;
        self.listings += listings;
        self.vendors += r.vendors.len();
        self.feedback += feedback;
        self.categories += r.categories.len();
        self.identifiers += r.identifiers.len();
        self.datasets.push(DatasetFileReport {
            source,
            evidence: r.page.evidence.to_hex(),
            format: r.page.profile.trim_start_matches("dataset:").to_owned(),
            stats,
        });
    }
}

/// Runs `f` on every item on `threads` threads and hands the results to
/// `sink` on the calling thread in item order, as they become ready (so the
/// sink works while the threads go on, and at most a few results wait). The
/// first error from `sink` stops the work and is returned.
pub(crate) fn for_each_in_order<T: Sync, R: Send, E>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
    mut sink: impl FnMut(usize, R) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    if threads <= 1 || items.len() < 2 {
        for (i, item) in items.iter().enumerate() {
            sink(i, f(item))?;
        }
        return Ok(());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, R)>(1);
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len()) {
            let (tx, next, stop, f) = (tx.clone(), &next, &stop, &f);
            s.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= items.len() || stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                if tx.send((i, f(&items[i]))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        let mut result = Ok(());
        // Ends when every thread is done (a panicking one too: the scope then
        // re-raises its panic rather than lose pages silently).
        for (i, r) in rx.iter() {
            if result.is_err() {
                continue;
            }
            waiting.insert(i, r);
            while let Some(r) = waiting.remove(&due) {
                if let Err(e) = sink(due, r) {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    result = Err(e);
                    break;
                }
                due += 1;
            }
        }
        result
    })
}
