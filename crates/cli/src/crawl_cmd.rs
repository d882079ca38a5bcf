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
    /// `socks5h://HOST:PORT` (Tor: socks5h://127.0.0.1:9050), `arti` (the
    /// embedded Tor client, in a build with `--features arti`), or `none`
    /// for loopback test sites only.
    #[arg(long, default_value = "socks5h://127.0.0.1:9050")]
    pub proxy: String,
    /// Stop after this many requests (the frontier keeps the rest).
    #[arg(long)]
    pub max_pages: Option<u64>,
    /// Stop at this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// The market account whose session (cookies) this crawl uses: it gets
    /// circuits of its own (SOCKS credentials `dragnet-MARKET-ACCOUNT`), so
    /// two accounts on one market never share one.
    #[arg(long)]
    pub account: Option<String>,
    /// Session cookies: a Netscape cookies.txt export.
    #[arg(long)]
    pub cookies: Option<PathBuf>,
    /// Session cookies as a `Cookie` header value (`name=value; ...`).
    #[arg(long)]
    pub cookie: Option<String>,
    /// Requests in flight at once to the market (their starts still at
    /// least --delay-ms apart): more than one keeps the pace when responses
    /// are slower than the delay, as over Tor.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
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
    /// Only URLs matching this regular expression (after the seed); given,
    /// it replaces the market profile's follow patterns.
    #[arg(long)]
    pub include: Option<String>,
    /// Also fetch the images pages show (same host only; never another
    /// host's), each cut at --max-image-bytes. Off by default: a crawl
    /// requests only what a reader clicks.
    #[arg(long)]
    pub images: bool,
    /// Largest image kept, in bytes (longer ones are cut, the cut recorded).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_image_bytes: u64,
    /// Accept the onion service's TLS certificate even when it is self-signed
    /// or invalid (the onion address already authenticates the service).
    /// Refused for any other host.
    #[arg(long)]
    pub onion_tls_insecure: bool,
    /// Do not use the market profile's crawl rules (its extra seeds and the
    /// URL patterns it follows): follow every in-scope link.
    #[arg(long)]
    pub ignore_profile: bool,
    /// Allow a seed that is not an onion service (still through the proxy,
    /// unless it is a loopback address and --proxy none).
    #[arg(long)]
    pub allow_clearnet: bool,
    /// Do not extract the new pages after crawling.
    #[arg(long)]
    pub no_extract: bool,
}

/// The crawl and the client `a` asks for (the cookies file is read now, so
/// a long-running `watch` picks up a refreshed one on its next round).
fn prepare(a: &CrawlArgs, profiles: &extract::ProfileSet) -> Result<(CrawlConfig, Fetcher)> {
    let proxy = ProxySetting::parse(&a.proxy)?;
    let mut scope = Scope::new(&a.seed, &proxy, a.allow_clearnet, a.include.as_deref())?;
    // The market profile's seeds and follow patterns, unless told otherwise.
    if let Some(rules) = profiles.get(&a.market).and_then(|p| p.crawl_rules()).filter(|_| !a.ignore_profile) {
        scope = scope.with_profile_rules(&rules.seeds, rules.follow.clone())?;
    }
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
    let onion = host.to_ascii_lowercase().ends_with(".onion");
    anyhow::ensure!(!a.onion_tls_insecure || onion, "--onion-tls-insecure: {host} is not an onion service; certificates of other hosts are always checked");
    let fetcher = Fetcher::new(FetchConfig {
        proxy,
        isolation: match &a.account {
            Some(acct) => format!("dragnet-{}-{acct}", a.market),
            None => format!("dragnet-{}", a.market),
        },
        timeout: Duration::from_secs(a.timeout_s),
        max_bytes: a.max_bytes,
        cookie,
        accept_invalid_tls: a.onion_tls_insecure,
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
        images: a.images.then_some(a.max_image_bytes),
        concurrency: a.concurrency.max(1),
    };
    Ok((cfg, fetcher))
}

/// What to tell the analyst when a crawl pauses.
fn pause_message(kind: &str, url: &str, sha256: &str, captcha_image: Option<&str>) -> String {
    let short = |s: &str| s[..16.min(s.len())].to_owned();
    let what = match kind {
        "maintenance" => "the market is down for maintenance; run the same command again later to resume".to_owned(),
        "ban" => "the account or circuit is banned; give another account's session cookies (--cookies FILE or --cookie) and run the same command again to resume".to_owned(),
        "captcha" => format!(
            "solve the captcha in Tor Browser{}, export its cookies (--cookies FILE) and run the same command again to resume",
            captcha_image.map(|c| format!(" (its image is stored as evidence {})", short(c))).unwrap_or_default()
        ),
        _ => "give fresh session cookies (--cookies FILE or --cookie) and run the same command again to resume".to_owned(),
    };
    format!("paused: {url} answered with a {kind} page (stored as evidence {}); {what}", short(sha256))
}

/// Runs `dragnet crawl`.
pub fn crawl(case: &mut Case, a: &CrawlArgs, json: bool, progress: &dyn case::Progress) -> Result<()> {
    let (cfg, fetcher) = prepare(a, case.profiles())?;
    let report = case.crawl(&cfg, &fetcher, progress)?;
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
    if let crawl::Stop::Paused { kind, url, sha256, captcha_image } = &report.stop {
        anyhow::bail!("{}", pause_message(kind, url, sha256, captcha_image.as_deref()));
    }
    Ok(())
}

/// `dragnet watch` options.
#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// The crawl of each round (`--no-extract` is ignored: a round is
    /// always extracted, its alerts come from the records).
    #[command(flatten)]
    pub crawl: CrawlArgs,
    /// Time between the starts of two rounds (`90s`, `30m`, `6h`, `1d`).
    #[arg(long, default_value = "6h")]
    pub every: String,
    /// Stop after this many rounds of this run (default: until killed).
    #[arg(long)]
    pub rounds: Option<u64>,
    /// Alert when a vendor of this name is seen (any case); repeatable.
    #[arg(long = "watch-vendor")]
    pub vendors: Vec<String>,
    /// Alert when this PGP fingerprint or long key id (16+ hex digits) is seen; repeatable.
    #[arg(long = "watch-key")]
    pub keys: Vec<String>,
    /// Alert when this Bitcoin or Monero address is seen; repeatable.
    #[arg(long = "watch-address")]
    pub addresses: Vec<String>,
    /// POST each alert (one JSON object per request) to this URL. It goes
    /// directly, not through the crawl's proxy: it is the analyst's own
    /// endpoint, and every alert is also in the case's alerts file.
    #[arg(long)]
    pub webhook: Option<String>,
}

/// Parses `90s`, `30m`, `6h`, `1d` (or plain seconds).
fn parse_every(s: &str) -> Result<Duration> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().with_context(|| format!("--every {s:?}: expected a number and s, m, h or d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => anyhow::bail!("--every {s:?}: unit must be s, m, h or d"),
    };
    anyhow::ensure!(secs > 0, "--every {s:?}: must be more than zero");
    Ok(Duration::from_secs(secs))
}

/// Runs `dragnet watch`: rounds until `--rounds` or killed; each round's
/// alerts as JSON lines on stdout (and to the webhook). A round paused for
/// a session ends the command with an error after its alert.
pub fn watch(case: &mut Case, a: &WatchArgs, json: bool, progress: &dyn case::Progress) -> Result<()> {
    let every = parse_every(&a.every)?;
    for k in &a.keys {
        let hex = k.chars().filter(char::is_ascii_hexdigit).count();
        anyhow::ensure!(hex >= 16 && k.chars().all(|c| c.is_ascii_hexdigit() || c == ' '), "--watch-key {k:?}: give a fingerprint or a long key id (16 or more hex digits)");
    }
    let list = case::WatchList { vendors: a.vendors.clone(), keys: a.keys.clone(), addresses: a.addresses.clone() };
    let webhook = match &a.webhook {
        None => None,
        Some(u) => {
            let url = url::Url::parse(u).with_context(|| format!("--webhook {u:?}"))?;
            anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "--webhook {u:?}: http or https only");
            // Its own client: no proxy, short timeout, status codes as values.
            Some((url, ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(20))).http_status_as_error(false).build().new_agent()))
        }
    };
    let mut done = 0u64;
    loop {
        let started = std::time::Instant::now();
        let (cfg, fetcher) = prepare(&a.crawl, case.profiles())?;
        let r = case.watch_round(&a.crawl.market, &cfg, &fetcher, &list, progress)?;
        for p in &r.crawl.problems {
            eprintln!("note: {p}");
        }
        let mut failed_posts = 0;
        for alert in &r.alerts {
            let line = serde_json::to_string(alert)?;
            println!("{line}");
            if let Some((url, agent)) = &webhook {
                match agent.post(url.as_str()).header("Content-Type", "application/json").send(line.as_bytes()) {
                    Ok(resp) if resp.status().is_success() => {}
                    Ok(resp) => {
                        failed_posts += 1;
                        eprintln!("warning: webhook {url} answered {} to a {:?} alert", resp.status(), alert.kind);
                    }
                    Err(e) => {
                        failed_posts += 1;
                        eprintln!("warning: webhook {url}: {e}");
                    }
                }
            }
        }
        use std::io::Write as _;
        std::io::stdout().flush()?;
        if !json {
            eprintln!(
                "round {} of {}: {} requests, {}, {} listings and {} vendors seen, {} alerts{}",
                r.round,
                a.crawl.market,
                r.crawl.requests,
                if r.finished { "complete" } else { "not complete" },
                r.listings,
                r.vendors,
                r.alerts.len(),
                if failed_posts > 0 { format!(" ({failed_posts} not delivered to the webhook; all are in the case's alerts file)") } else { String::new() }
            );
        }
        if let crawl::Stop::Paused { kind, url, sha256, captcha_image } = &r.crawl.stop {
            anyhow::bail!("{} (round {} continues)", pause_message(kind, url, sha256, captcha_image.as_deref()), r.round);
        }
        if r.finished {
            done += 1;
        }
        if a.rounds.is_some_and(|n| done >= n) {
            return Ok(());
        }
        if let Some(wait) = every.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
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
    /// After this many requests, pages need the cookie `captcha=solved`
    /// (else the captcha page); 0: never.
    #[arg(long, default_value_t = 0)]
    pub captcha_after: u64,
    /// After this many requests, pages need the cookie `account=fresh`
    /// (else a ban notice); 0: never.
    #[arg(long, default_value_t = 0)]
    pub ban_after: u64,
    /// Answer every request with 503 and a maintenance notice.
    #[arg(long)]
    pub maintenance: bool,
    /// Serve the markets after this many rounds of change (see `sim market
    /// --revision`); restart with a higher one to make a watched market move.
    #[arg(long, default_value_t = 0)]
    pub revision: u32,
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
        revision: a.revision,
        ..Default::default()
    });
    let cfg = sim::serve::ServeConfig {
        session: a.session.clone(),
        fail_every: a.fail_every,
        rate_limit: a.rate_limit,
        latency: Duration::from_millis(a.latency_ms),
        captcha_after: a.captcha_after,
        ban_after: a.ban_after,
        maintenance: a.maintenance,
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
