//! The crawl loop: one market, one host, one request at a time, with a
//! politeness delay; retries with backoff; a pause when the market asks to
//! log in again or solve a captcha.

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng as _;
use url::Url;

use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::frontier::{Entry, Frontier, FrontierCounts, Next};
use crate::policy::Scope;

/// What a page is, as far as the crawl is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// A page to keep and follow.
    Content,
    /// A login form: the session expired (login links are never followed).
    Login,
    /// A captcha challenge.
    Captcha,
    /// An anti-DDoS filter page (a queue or challenge in front of the market).
    Ddos,
    /// The account (or the exit) is banned.
    Banned,
    /// The market is down for maintenance.
    Maintenance,
}

impl PageKind {
    /// The name used in messages and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::Content => "content",
            PageKind::Login => "login",
            PageKind::Captcha => "captcha",
            PageKind::Ddos => "anti-DDoS filter",
            PageKind::Banned => "ban",
            PageKind::Maintenance => "maintenance",
        }
    }
}

/// Where responses go: the case's evidence store and profiles.
pub trait Sink {
    /// Stores a response as evidence under `source` (which names the
    /// frontier row); returns the payload's SHA-256 (hex). Storing the same
    /// bytes under the same source again stores nothing new.
    fn store(&mut self, response: &Fetched, source: &str, captured_at: DateTime<Utc>) -> Result<String, String>;
    /// The digest and body stored under `source` from `url`, if any: how a
    /// resumed crawl learns that a killed one stored a page before it could
    /// mark it (the sink completes whatever record keeping the kill cut
    /// short). A record under `source` from another URL is not taken up (a
    /// record planted under a frontier row's source would stand in for the
    /// page, which is fetched instead).
    fn stored(&mut self, source: &str, url: &str) -> Option<(String, Vec<u8>)>;
    /// Classifies a page with the market's profile.
    fn kind(&self, body: &[u8]) -> PageKind;
    /// Progress: `settled` URLs of the `known` ones are done or given up
    /// (both grow as pages reveal links). Default: nothing.
    fn progress(&mut self, _settled: u64, _known: u64) {}
}

/// One crawl.
#[derive(Debug, Clone)]
pub struct CrawlConfig {
    /// Market name (the frontier is per market).
    pub market: String,
    /// What may be fetched; its seed is queued first.
    pub scope: Scope,
    /// Least time between two requests.
    pub delay: Duration,
    /// Up to this much more, drawn per request.
    pub jitter: Duration,
    /// Stop after this many requests in this run.
    pub max_pages: Option<u64>,
    /// Stop at this time.
    pub until: Option<DateTime<Utc>>,
    /// Attempts per URL before giving up (transport errors, 429, 5xx).
    pub max_tries: u32,
    /// First retry delay; doubled per attempt (or the server's Retry-After).
    pub backoff: Duration,
    /// Fetch the images pages show (same host only), each cut at this many
    /// bytes; `None`: never (the default: only what a reader clicks).
    pub images: Option<u64>,
    /// Requests in flight at once (per crawl: one host). Starts stay at
    /// least `delay` apart; more than one keeps the budget when responses
    /// take longer than the delay (Tor: seconds).
    pub concurrency: usize,
}

/// Largest captcha image kept when `images` is not set.
pub const CAPTCHA_IMAGE_MAX: u64 = 1 << 20;

/// Why a crawl stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Stop {
    /// Nothing left to fetch.
    Done,
    /// `max_pages` requests made.
    MaxPages,
    /// `until` reached.
    Until,
    /// The market answered with a login, captcha, anti-DDoS, ban or
    /// maintenance page instead of content: the crawl stops rather than
    /// store error pages. Give new cookies (or wait, for maintenance) and
    /// run it again; it resumes with this URL.
    Paused {
        /// `login`, `captcha`, `anti-DDoS filter`, `ban` or `maintenance`.
        kind: String,
        /// The URL that got it.
        url: String,
        /// Digest of the stored page.
        sha256: String,
        /// Digest of the stored captcha image, when the page had one.
        captcha_image: Option<String>,
    },
}

/// What a crawl did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrawlReport {
    /// Market.
    pub market: String,
    /// Why it stopped.
    pub stop: Stop,
    /// Requests made in this run.
    pub requests: u64,
    /// Responses stored as evidence in this run.
    pub stored: u64,
    /// Pages a killed crawl had stored but not marked, found on resume.
    pub recovered: u64,
    /// Requests that will be retried (transport error, 429, 5xx).
    pub retries: u64,
    /// URLs given up on in this run.
    pub failed: u64,
    /// Bodies cut at the size cap.
    pub truncated: u64,
    /// New URLs queued in this run.
    pub queued: u64,
    /// The frontier after the run.
    pub frontier: FrontierCounts,
    /// Problems, one line each (URL and reason).
    pub problems: Vec<String>,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The evidence source naming a frontier row.
pub fn source_of(e: &Entry) -> String {
    format!("crawl/{}/{}", e.market, e.id)
}

/// The images of a page worth queuing when `images` is set: same origin.
fn images(cfg: &CrawlConfig, url: &str, body: &[u8]) -> Vec<String> {
    let (Some(_), Ok(base)) = (cfg.images, Url::parse(url)) else { return Vec::new() };
    let mut out: Vec<String> = Vec::new();
    for src in crate::links::image_srcs(body) {
        if let Some(u) = cfg.scope.admit_resource(&base, &src) {
            let u = u.to_string();
            if !out.contains(&u) {
                out.push(u);
            }
        }
    }
    out
}

/// Links to follow from a response: the redirect target, or the page's
/// anchors, each only if the scope admits it.
fn follow(scope: &Scope, r: &Fetched, body: &[u8]) -> Vec<String> {
    let hrefs = match (&r.location, r.status) {
        (Some(loc), 300..=399) => vec![loc.clone()],
        (_, 200..=299) => crate::links::hrefs(body),
        _ => Vec::new(),
    };
    admitted(scope, &r.url, hrefs)
}

/// `hrefs` resolved against `url`, those the scope admits, once each.
fn admitted(scope: &Scope, url: &str, hrefs: Vec<String>) -> Vec<String> {
    let Ok(base) = Url::parse(url) else { return Vec::new() };
    let mut out: Vec<String> = Vec::new();
    for h in hrefs {
        if let Some(u) = scope.admit(&base, &h) {
            let u = u.to_string();
            if !out.contains(&u) {
                out.push(u);
            }
        }
    }
    out
}

/// Fetches and stores the captcha image of a captcha page (the first
/// `img` whose source or class names a captcha, else the page's only image),
/// from the crawl's host only; `None` when there is none or it fails (the
/// reason goes to the report's problems).
fn captcha_image(cfg: &CrawlConfig, fetcher: &Fetcher, sink: &mut dyn Sink, page: &Fetched, source: &str, rep: &mut CrawlReport) -> Option<String> {
    let base = Url::parse(&page.url).ok()?;
    let src = crate::links::captcha_image_src(&page.body)?;
    let Some(url) = cfg.scope.admit_resource(&base, &src) else {
        rep.problems.push(format!("{}: captcha image {src:?} is on another host: not fetched", page.url));
        return None;
    };
    rep.requests += 1;
    let captured_at = Utc::now();
    match fetcher.get_image(url.as_str(), cfg.images.unwrap_or(CAPTCHA_IMAGE_MAX)) {
        Ok(img) if (200..300).contains(&img.status) => match sink.store(&img, &format!("{source}/captcha-image"), captured_at) {
            Ok(sha) => {
                rep.stored += 1;
                Some(sha)
            }
            Err(e) => {
                rep.problems.push(format!("{url}: captcha image not stored: {e}"));
                None
            }
        },
        Ok(img) => {
            rep.problems.push(format!("{url}: captcha image: HTTP {}", img.status));
            None
        }
        Err(e) => {
            rep.problems.push(format!("{url}: captcha image: {e}"));
            None
        }
    }
}

/// Crawls until done, paused or stopped; the frontier keeps the rest.
pub fn crawl(cfg: &CrawlConfig, fetcher: &Fetcher, frontier: &mut Frontier, sink: &mut dyn Sink) -> Result<CrawlReport, String> {
    let m = cfg.market.as_str();
    let mut rep = CrawlReport {
        market: m.to_owned(),
        stop: Stop::Done,
        requests: 0,
        stored: 0,
        recovered: 0,
        retries: 0,
        failed: 0,
        truncated: 0,
        queued: 0,
        frontier: FrontierCounts::default(),
        problems: Vec::new(),
    };
    for seed in cfg.scope.seeds() {
        if frontier.add(m, seed.as_str(), 0)? {
            rep.queued += 1;
        }
    }
    // A killed crawl left these in flight: stored (then mark them) or not
    // (then fetch them again).
    for e in frontier.in_flight(m)? {
        match sink.stored(&source_of(&e), &e.url) {
            Some((sha, body)) => {
                let (links, imgs) = if e.resource {
                    (Vec::new(), Vec::new())
                } else {
                    (admitted(&cfg.scope, &e.url, crate::links::hrefs(&body)), images(cfg, &e.url, &body))
                };
                rep.queued += frontier.done_with_resources(&e, 200, &sha, &links, &imgs)? as u64;
                rep.recovered += 1;
            }
            None => frontier.release(&e)?,
        }
    }
    let workers = cfg.concurrency.max(1);
    std::thread::scope(|threads| -> Result<(), String> {
        // Fetching happens on `workers` threads; everything that writes
        // (frontier, evidence) stays on this one, in the order results come.
        let (job_tx, job_rx) = mpsc::channel::<(Entry, DateTime<Utc>)>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<(Entry, DateTime<Utc>, Result<Fetched, FetchError>)>();
        for _ in 0..workers {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            threads.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((e, at)) = job else { return };
                let fetched = fetch_entry(cfg, fetcher, &e);
                if done_tx.send((e, at, fetched)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let result = dispatch(cfg, fetcher, frontier, sink, &mut rep, workers, &job_tx, &done_rx);
        drop(job_tx);
        result
    })?;
    rep.frontier = frontier.counts(m)?;
    Ok(rep)
}

fn fetch_entry(cfg: &CrawlConfig, fetcher: &Fetcher, e: &Entry) -> Result<Fetched, FetchError> {
    match (e.resource, cfg.images) {
        (true, Some(cap)) => fetcher.get_image(&e.url, cap),
        (true, None) => fetcher.get_image(&e.url, CAPTCHA_IMAGE_MAX),
        (false, _) => fetcher.get(&e.url),
    }
}

/// Requeues `e` after a failed attempt (with backoff, or the server's
/// Retry-After), or gives up on it after `max_tries`.
fn retry(cfg: &CrawlConfig, frontier: &Frontier, rep: &mut CrawlReport, e: &Entry, after: Option<u64>, why: String) -> Result<(), String> {
    if e.tries + 1 >= cfg.max_tries {
        frontier.fail(e, None, &why)?;
        rep.failed += 1;
        rep.problems.push(format!("{}: gave up after {} tries: {why}", e.url, e.tries + 1));
    } else {
        let backoff = cfg.backoff.as_millis() as i64 * (1_i64 << e.tries.min(16));
        let wait = after.map_or(backoff, |s| (s as i64 * 1000).max(backoff));
        frontier.retry(e, now_ms() + wait, &why)?;
        rep.retries += 1;
    }
    Ok(())
}

/// Hands due entries to the fetching threads (at most `workers` at once,
/// request starts at least `delay` + jitter apart) and handles what comes
/// back, until done, stopped or paused; then waits for the requests still
/// out, so none is left unaccounted.
#[allow(clippy::too_many_arguments)]
fn dispatch(
    cfg: &CrawlConfig,
    fetcher: &Fetcher,
    frontier: &mut Frontier,
    sink: &mut dyn Sink,
    rep: &mut CrawlReport,
    workers: usize,
    jobs: &mpsc::Sender<(Entry, DateTime<Utc>)>,
    done: &mpsc::Receiver<(Entry, DateTime<Utc>, Result<Fetched, FetchError>)>,
) -> Result<(), String> {
    let m = cfg.market.as_str();
    let mut rng = rand::rng();
    let mut in_flight = 0usize;
    // Progress from one count at the start and this run's own tallies (a
    // count per response would scan a large frontier every time).
    let c0 = frontier.counts(m)?;
    let (settled0, known0) = (c0.done + c0.failed, c0.done + c0.failed + c0.queued + c0.fetching);
    let report_progress = |sink: &mut dyn Sink, rep: &CrawlReport| {
        let settled = settled0 + rep.stored + rep.failed;
        sink.progress(settled, (known0 + rep.queued).max(settled));
    };
    let mut stopping: Option<Stop> = None;
    let mut next_start = 0_i64;
    loop {
        // When to look again for something to send (ms), if at all.
        let mut wake: Option<i64> = None;
        if stopping.is_none() && in_flight < workers {
            if cfg.max_pages.is_some_and(|n| rep.requests >= n) {
                stopping = Some(Stop::MaxPages);
            } else if cfg.until.is_some_and(|u| Utc::now() >= u) {
                stopping = Some(Stop::Until);
            } else if now_ms() < next_start {
                wake = Some(next_start);
            } else {
                match frontier.take_next(m, now_ms())? {
                    Next::Entry(e) => {
                        let now = now_ms();
                        // Politeness: request starts at least `delay` (+ jitter) apart.
                        let gap = cfg.delay.as_millis() as i64
                            + if cfg.jitter.is_zero() { 0 } else { rng.random_range(0..=cfg.jitter.as_millis() as i64) };
                        next_start = now + gap;
                        rep.requests += 1;
                        in_flight += 1;
                        jobs.send((e, Utc::now())).map_err(|_| "the fetching threads stopped".to_owned())?;
                        continue;
                    }
                    Next::NotBefore(t) => wake = Some(t),
                    // Results still out may queue more links.
                    Next::Empty if in_flight > 0 => {}
                    Next::Empty => stopping = Some(Stop::Done),
                }
            }
        }
        if in_flight == 0 {
            if let Some(stop) = stopping.take() {
                rep.stop = stop;
                return Ok(());
            }
        }
        let timeout = wake.map_or(1_000, |t| (t - now_ms()).clamp(1, 1_000)) as u64;
        let (e, captured_at, fetched) = match done.recv_timeout(Duration::from_millis(timeout)) {
            Ok(x) => x,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err("the fetching threads stopped".into()),
        };
        in_flight -= 1;
        report_progress(sink, rep);
        let r = match fetched {
            Ok(r) => r,
            Err(err @ FetchError::Tls(_)) => {
                // A certificate does not get better by asking again.
                let why = format!("{err} (an onion service's self-signed certificate is accepted with --onion-tls-insecure)");
                frontier.fail(&e, None, &why)?;
                rep.failed += 1;
                rep.problems.push(format!("{}: {why}", e.url));
                continue;
            }
            Err(err) => {
                retry(cfg, frontier, rep, &e, None, err.to_string())?;
                continue;
            }
        };
        // A 5xx saying "maintenance" pauses like the same page sent as 200;
        // any other 429 or 5xx is retried.
        let kind = match r.status {
            _ if e.resource => PageKind::Content,
            200..=299 => sink.kind(&r.body),
            500..=599 if sink.kind(&r.body) == PageKind::Maintenance => PageKind::Maintenance,
            _ => PageKind::Content,
        };
        if kind == PageKind::Content && (r.status == 429 || r.status >= 500) {
            retry(cfg, frontier, rep, &e, r.retry_after, format!("HTTP {}", r.status))?;
            continue;
        }
        if r.truncated {
            rep.truncated += 1;
            rep.problems.push(format!("{}: body cut at the size cap", e.url));
        }
        if kind != PageKind::Content {
            // Keep what the market showed (the captcha is evidence of the
            // state), then pause with this URL first in line.
            let source = format!("{}/session-{}", source_of(&e), rep.stored + 1);
            let sha = sink.store(&r, &source, captured_at)?;
            rep.stored += 1;
            frontier.release(&e)?;
            if !matches!(stopping, Some(Stop::Paused { .. })) {
                // The analyst solves the captcha elsewhere (Tor Browser);
                // the image is kept so the evidence shows what was asked.
                let captcha_image = match kind {
                    PageKind::Captcha => captcha_image(cfg, fetcher, sink, &r, &source, rep),
                    _ => None,
                };
                stopping = Some(Stop::Paused { kind: kind.as_str().into(), url: e.url.clone(), sha256: sha, captcha_image });
            }
            continue;
        }
        let (links, imgs) = if e.resource {
            (Vec::new(), Vec::new())
        } else {
            let imgs = if (200..300).contains(&r.status) { images(cfg, &r.url, &r.body) } else { Vec::new() };
            (follow(&cfg.scope, &r, &r.body), imgs)
        };
        // A redirect's target is queued before its response is stored: a
        // crawl killed between storing and marking recovers a page's links
        // from its stored body, but a redirect has none.
        if (300..400).contains(&r.status) && !links.is_empty() {
            rep.queued += frontier.add_all(m, &links, e.depth + 1)? as u64;
        }
        let sha = sink.store(&r, &source_of(&e), captured_at)?;
        rep.stored += 1;
        rep.queued += frontier.done_with_resources(&e, r.status, &sha, &links, &imgs)? as u64;
    }
}
