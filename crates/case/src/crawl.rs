//! Crawling into the case: the crawler (crate `crawl`) fetches; the case
//! stores every response as evidence (a WARC `response` record with its
//! HTTP head, origin `crawl`, then the `request` record that fetched it
//! with its timing and circuit, and an `acquire` custody entry naming the
//! frontier row), classifies pages with the market profiles, and keeps the
//! frontier in `CASE/crawl/frontier.sqlite`.

use chrono::{DateTime, Utc};
use crawl::{CrawlConfig, CrawlReport, Fetched, Fetcher, Frontier, PageKind, Sink};
use evidence::{CaptureMeta, Origin, RequestMeta};
use extract::{extract_page, PageInput};
use model::PageType;
use serde_json::json;

use crate::{io, Case, CaseError, Progress, Result, TOOL_VERSION};

/// The frontier database, relative to the case directory.
pub const FRONTIER_FILE: &str = "crawl/frontier.sqlite";

impl Sink for Case {
    fn store(&mut self, r: &Fetched, source: &str, captured_at: DateTime<Utc>) -> std::result::Result<String, String> {
        let meta = CaptureMeta {
            source: source.to_owned(),
            url: Some(r.url.clone()),
            captured_at: Some(captured_at),
            captured_at_is_file_time: false,
            content_type: None,
            origin: Origin::Crawl,
            http_head: Some(r.head.clone()),
            // A body cut at the crawl's size cap says so in its record.
            truncated: r.truncated.then(|| "length".to_owned()),
        };
        let request = RequestMeta {
            head: r.request_head.clone(),
            started_at: r.started_at,
            elapsed_ms: r.elapsed.as_millis() as u64,
            circuit: r.circuit.clone(),
        };
        let added = self
            .evidence
            .add_exchange(&r.body, &meta, &request)
            .map_err(|e| format!("{}: not stored: {e}", r.url))?;
        self.evidence
            .log(
                evidence::ACQUIRE,
                json!({
                    "sha256": added.sha256.to_hex(),
                    "source": source,
                    "url": r.url,
                    "status": r.status,
                    "bytes": r.body.len(),
                    "truncated": r.truncated,
                    "elapsed_ms": r.elapsed.as_millis() as u64,
                    "circuit": r.circuit,
                    "new": added.new,
                    // The gzip members written (response or alias, and request).
                    "members": added.members.iter().map(|m| m.to_hex()).collect::<Vec<_>>(),
                }),
                &self.operator,
                TOOL_VERSION,
            )
            .map_err(|e| e.to_string())?;
        // Durable before the frontier marks the URL done.
        self.evidence.sync().map_err(|e| e.to_string())?;
        Ok(added.sha256.to_hex())
    }

    fn stored(&mut self, source: &str, url: &str) -> Option<(String, Vec<u8>)> {
        let rec = self.evidence.records().into_iter().find(|r| r.sources.iter().any(|s| s == source))?;
        if !rec.urls.iter().any(|u| u == url) {
            tracing::warn!("{source}: the record stored under it ({}) is from {:?}, not {url}: not taken up; the page is fetched", rec.sha256, rec.url);
            return None;
        }
        let body = self.evidence.get(&rec.sha256).ok()?;
        // Killed between storing the record and logging it: log it now.
        let logged = self.evidence.custody().entries().ok()?.iter().any(|e| {
            e.action == evidence::ACQUIRE && e.detail.get("source").and_then(|v| v.as_str()) == Some(source)
        });
        if !logged {
            self.evidence
                .log(
                    evidence::ACQUIRE,
                    json!({
                        "sha256": rec.sha256.to_hex(),
                        "source": source,
                        "url": rec.url,
                        "bytes": body.len(),
                        // New when this source stored the bytes first; else
                        // the killed crawl wrote an alias for stored bytes.
                        "new": rec.sources.first().map(String::as_str) == Some(source),
                        "truncated": rec.truncated.is_some(),
                        "logged_on_resume": "the crawl storing it was killed before logging it (status, timing and circuit are in its request record, if that was written)",
                    }),
                    &self.operator,
                    TOOL_VERSION,
                )
                .ok()?;
        }
        Some((rec.sha256.to_hex(), body))
    }

    fn kind(&self, body: &[u8]) -> PageKind {
        let input = PageInput::new(body, model::Sha256::of(body));
        match extract_page(&input, &self.profiles, None).page_type {
            PageType::Login => PageKind::Login,
            PageType::Captcha => PageKind::Captcha,
            PageType::Ddos => PageKind::Ddos,
            PageType::Banned => PageKind::Banned,
            PageType::Maintenance => PageKind::Maintenance,
            _ => PageKind::Content,
        }
    }
}

/// The case as the crawl's sink, with a progress display.
struct WithProgress<'a> {
    case: &'a mut Case,
    progress: &'a dyn Progress,
    started: bool,
}

impl Sink for WithProgress<'_> {
    fn store(&mut self, r: &Fetched, source: &str, captured_at: DateTime<Utc>) -> std::result::Result<String, String> {
        self.case.store(r, source, captured_at)
    }
    fn stored(&mut self, source: &str, url: &str) -> Option<(String, Vec<u8>)> {
        self.case.stored(source, url)
    }
    fn kind(&self, body: &[u8]) -> PageKind {
        self.case.kind(body)
    }
    fn progress(&mut self, settled: u64, known: u64) {
        if !self.started {
            self.progress.start("crawl", known);
            self.started = true;
        }
        self.progress.set(settled, known);
    }
}

impl Case {
    /// Crawls one market into the case (see crate `crawl`); extraction is
    /// left to [`Case::extract`], as for imports.
    pub fn crawl(&mut self, cfg: &CrawlConfig, fetcher: &Fetcher, progress: &dyn Progress) -> Result<CrawlReport> {
        let path = self.dir.join(FRONTIER_FILE);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        self.recover_killed_writes()?;
        let mut frontier = Frontier::open(&path).map_err(|message| CaseError::Config { path: path.clone(), message })?;
        let mut sink = WithProgress { case: self, progress, started: false };
        let report = crawl::crawl(cfg, fetcher, &mut frontier, &mut sink);
        if sink.started {
            progress.finish();
        }
        let report = report.map_err(|message| CaseError::Config { path, message })?;
        self.evidence.log("crawl", serde_json::to_value(&report).unwrap_or_default(), &self.operator, TOOL_VERSION)?;
        Ok(report)
    }
}
