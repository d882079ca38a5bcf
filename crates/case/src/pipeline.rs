//! `dragnet extract`: evidence records -> extracted records in the store.

use std::collections::BTreeMap;

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
        for batch in todo.chunks(BATCH) {
            let mut payloads = Vec::with_capacity(batch.len());
            for rec in batch {
                match self.evidence.get(&rec.sha256) {
                    Ok(bytes) => payloads.push((rec, bytes)),
                    Err(e) => report.problems.push(PageProblem {
                        evidence: rec.sha256.to_hex(),
                        source: rec.sources.first().cloned().unwrap_or_default(),
                        message: format!("cannot read evidence: {e}"),
                    }),
                }
            }
            let profiles = &self.profiles;
            let market = opts.market.as_deref();
            let registry = &self.datasets;
            let results: Vec<Extracted> = parallel_map(&payloads, threads, |(rec, bytes)| {
                let source = rec.sources.first().map(String::as_str).unwrap_or_default();
                if let Some(format) = registry.format_of(&rec.sha256, source, bytes) {
                    let captured = rec.captured_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                    let (records, stats) =
                        extract_dataset(&format, rec.sha256, source, rec.url.clone(), captured, bytes);
                    return Extracted::Dataset(Box::new(records), stats);
                }
                let input = PageInput {
                    bytes,
                    evidence: rec.sha256,
                    url: rec.url.as_deref(),
                    source: rec.sources.first().map(String::as_str),
                    content_type: rec.content_type.as_deref(),
                };
                Extracted::Page(Box::new(extract_page(&input, profiles, market)))
            });
            let store = &mut self.store;
            store.in_transaction(|store| {
                for ((rec, _), out) in payloads.iter().zip(results) {
                    let source = rec.sources.first().cloned().unwrap_or_default();
                    let out = match out {
                        Extracted::Page(p) => *p,
                        Extracted::Dataset(records, stats) => {
                            report.note_dataset(&records, stats);
                            store.put_page(&records)?;
                            continue;
                        }
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
                            captured_at: rec
                                .captured_at
                                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
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
                }
                Ok(())
            })?;
            progress.inc(batch.len() as u64);
        }
        progress.finish();
        self.log(
            "extract",
            serde_json::json!({
                "pages": report.pages,
                "listings": report.listings,
                "vendors": report.vendors,
                "feedback": report.feedback,
                "identifiers": report.identifiers,
                "market": opts.market,
            }),
        )?;
        Ok(report)
    }
}

enum Extracted {
    Page(Box<PageExtraction>),
    Dataset(Box<PageRecords>, DatasetStats),
}

impl ExtractReport {
    fn note_dataset(&mut self, r: &PageRecords, stats: DatasetStats) {
        let source = r.page.source.clone().unwrap_or_default();
        for d in &r.page.diagnostics {
            self.problems.push(PageProblem { evidence: r.page.evidence.to_hex(), source: source.clone(), message: d.clone() });
        }
        self.pages += 1;
        *self.by_market.entry(r.page.market.clone().unwrap_or_else(|| "-".into())).or_default() += 1;
        *self.by_page_type.entry(r.page.page_type.as_str().to_owned()).or_default() += 1;
        self.listings += r.listings.len();
        self.vendors += r.vendors.len();
        self.feedback += r.feedback.len();
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

/// Maps `f` over `items` on up to `threads` scoped threads, keeping order.
fn parallel_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>())).collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                // A panic in extraction is a bug; re-raise it rather than lose pages silently.
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}
