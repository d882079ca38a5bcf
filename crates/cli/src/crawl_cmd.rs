//! `dragnet crawl` and `dragnet sim serve`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use case::{Case, ExtractOptions};
use crawl::{CrawlConfig, FetchConfig, Fetcher, ProxySetting, Scope};

/// `dragnet crawl` options.
#[derive(clap::Args, Debug)]
pub struct CrawlArgs {
    /// Market name (the frontier, and the SOCKS credentials that isolate its
    /// circuit, are per market).
    #[arg(long)]
    pub market: String,
    /// First URL; only its host is crawled.
    #[arg(long)]
    pub seed: String,
    /// `socks5h://HOST:PORT` (Tor: socks5h://127.0.0.1:9050), or `none` for
    /// loopback test sites only.
    #[arg(long, default_value = "socks5h://127.0.0.1:9050")]
    pub proxy: String,
    /// Stop after this many requests (the frontier keeps the rest).
    #[arg(long)]
    pub max_pages: Option<u64>,
    /// Stop at this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// Session cookies: a Netscape cookies.txt export.
    #[arg(long)]
    pub cookies: Option<PathBuf>,
    /// Session cookies as a `Cookie` header value (`name=value; ...`).
    #[arg(long)]
    pub cookie: Option<String>,
    /// Least milliseconds between two requests.
    #[arg(long, default_value_t = 2000)]
    pub delay_ms: u64,
    /// Up to this many more milliseconds, drawn per request.
    #[arg(long, default_value_t = 1000)]
    pub jitter_ms: u64,
    /// Attempts per URL (transport errors, 429, 5xx) before giving up.
    #[arg(long, default_value_t = 5)]
    pub tries: u32,
    /// First retry delay in milliseconds, doubled per attempt.
    #[arg(long, default_value_t = 5000)]
    pub backoff_ms: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 90)]
    pub timeout_s: u64,
    /// Largest body kept, in bytes (longer ones are cut and the cut recorded).
    #[arg(long, default_value_t = 8 << 20)]
    pub max_bytes: u64,
    /// Only URLs matching this regular expression (after the seed).
    #[arg(long)]
    pub include: Option<String>,
    /// Allow a seed that is not an onion service (still through the proxy,
    /// unless it is a loopback address and --proxy none).
    #[arg(long)]
    pub allow_clearnet: bool,
    /// Do not extract the new pages after crawling.
    #[arg(long)]
    pub no_extract: bool,
}

/// Runs `dragnet crawl`.
pub fn crawl(case: &mut Case, a: &CrawlArgs, json: bool, progress: &dyn case::Progress) -> Result<()> {
    let proxy = ProxySetting::parse(&a.proxy)?;
    let scope = Scope::new(&a.seed, &proxy, a.allow_clearnet, a.include.as_deref())?;
    let host = scope.seed().host_str().unwrap_or_default().to_owned();
    let mut cookie = a.cookie.clone();
    if let Some(path) = &a.cookies {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let (c, problems) = crawl::parse_cookies_txt(&text, &host);
        for p in problems {
            eprintln!("warning: {}: {p}", path.display());
        }
        if c.is_none() {
            eprintln!("warning: {} holds no cookie for {host}", path.display());
        }
        cookie = match (cookie, c) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
    }
    let until = a.until.as_deref().map(crate::parse_time).transpose()?;
    let fetcher = Fetcher::new(FetchConfig {
        proxy,
        isolation: format!("dragnet-{}", a.market),
        timeout: Duration::from_secs(a.timeout_s),
        max_bytes: a.max_bytes,
        cookie,
        ..FetchConfig::default()
    })?;
    let cfg = CrawlConfig {
        market: a.market.clone(),
        scope,
        delay: Duration::from_millis(a.delay_ms),
        jitter: Duration::from_millis(a.jitter_ms),
        max_pages: a.max_pages,
        until,
        max_tries: a.tries.max(1),
        backoff: Duration::from_millis(a.backoff_ms),
    };
    let report = case.crawl(&cfg, &fetcher)?;
    for p in &report.problems {
        eprintln!("note: {p}");
    }
    let extracted = if a.no_extract {
        None
    } else {
        let opts = ExtractOptions { only_new: true, ..ExtractOptions::default() };
        Some(case.extract(&opts, progress)?)
    };
    if json {
        crate::output::print_json(&serde_json::json!({ "crawl": report, "extract": extracted }));
    } else {
        println!(
            "crawled {}: {} requests, {} responses stored, {} recovered from a killed run, {} retries, {} given up; frontier: {} done, {} queued, {} failed",
            report.market,
            report.requests,
            report.stored,
            report.recovered,
            report.retries,
            report.failed,
            report.frontier.done,
            report.frontier.queued,
            report.frontier.failed
        );
        if let Some(x) = &extracted {
            print!("{}", crate::output::extract_summary(x));
        }
    }
    if let crawl::Stop::NeedsSession { kind, url, sha256 } = &report.stop {
        anyhow::bail!(
            "paused: {url} answered with a {kind} page (stored as evidence {}); give fresh session cookies (--cookies FILE or --cookie) and run the same command again to resume",
            &sha256[..16.min(sha256.len())]
        );
    }
    Ok(())
}

/// `dragnet sim serve` options.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Loopback address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub bind: String,
    /// Seed of the synthetic markets.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Operators.
    #[arg(long, default_value_t = 12)]
    pub operators: usize,
    /// Markets.
    #[arg(long, default_value_t = 2)]
    pub markets: usize,
    /// Require the cookie `session=VALUE`; without it every page is the login form.
    #[arg(long)]
    pub session: Option<String>,
    /// Every n-th request fails with 503.
    #[arg(long, default_value_t = 0)]
    pub fail_every: u64,
    /// At most this many requests per second; more get 429.
    #[arg(long, default_value_t = 0)]
    pub rate_limit: u32,
    /// Milliseconds waited before each response.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

/// Runs `dragnet sim serve` until killed; prints `serving URL` first, then
/// one JSON line per request on stderr.
pub fn serve(a: &ServeArgs) -> Result<()> {
    let addr: std::net::SocketAddr = a.bind.parse().with_context(|| format!("--bind {:?}: expected IP:PORT", a.bind))?;
    anyhow::ensure!(addr.ip().is_loopback(), "--bind {addr}: the simulated markets are served on loopback only");
    let listener = std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let generated = sim::generate_markets(&sim::MarketSimConfig {
        seed: a.seed,
        operators: a.operators,
        markets: a.markets,
        ..Default::default()
    });
    let cfg = sim::serve::ServeConfig {
        session: a.session.clone(),
        fail_every: a.fail_every,
        rate_limit: a.rate_limit,
        latency: Duration::from_millis(a.latency_ms),
    };
    let server = sim::serve::start(
        listener,
        &generated.files,
        cfg,
        Box::new(|l| eprintln!("{}", serde_json::to_string(l).unwrap_or_default())),
    )?;
    let markets: Vec<String> = generated.truth.markets.iter().map(|m| m.market.clone()).collect();
    println!("serving {} markets: {}", server.url, markets.join(" "));
    use std::io::Write as _;
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}
