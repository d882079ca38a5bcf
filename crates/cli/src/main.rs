//! `dragnet`: the command-line front end.
//!
//! Thin by design (as ripgrep's `core`): parse flags, call library crates,
//! print, map errors to exit codes. Logic lives in `case`, `extract`,
//! `store`, `chain`, `report` and `sim`. Output types for `--json` live in
//! `output.rs`, so a refactor of the domain types cannot silently change what
//! scripts read.
//!
//! Exit codes: 0 success; 1 error; 2 usage error; 3 `verify` found damage.

mod chain_cmd;
mod crawl_cmd;
mod demo;
mod link_cmd;
mod output;
mod progress;
mod sales_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use case::{Case, ExtractOptions, ImportOptions};
use store::{CaseStore, Filter};

/// dragnet: an auditable investigation workbench for darknet markets.
#[derive(Parser, Debug)]
#[command(name = "dragnet", version, about, long_about = None)]
struct Cli {
    /// The case directory.
    #[arg(long, global = true, default_value = ".", env = "DRAGNET_CASE")]
    case: PathBuf,
    /// Who is acting, for the custody log (default: $USER).
    #[arg(long, global = true)]
    operator: Option<String>,
    /// Machine-readable output (JSON Lines for lists, one object otherwise).
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Manage cases.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Store files, directories of saved pages and WARC files as evidence.
    Import {
        /// Files or directories (recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Read every file as a dataset of this format: agora-2014,
        /// alphabay-2017, hansa-2016-12, dream-2017, whitehouse-2021,
        /// grams-2014, or a mapping file (docs/datasets.md). Default: detect.
        #[arg(long)]
        format: Option<String>,
        /// When the files were captured (RFC 3339, or YYYY-MM-DD for midnight
        /// UTC), if known; default: each file's modification time.
        #[arg(long)]
        captured_at: Option<String>,
        /// Rates the sales units computed after a dataset import use (the
        /// ones `dragnet sales` then reads without recomputing).
        #[command(flatten)]
        rates: sales_cmd::RatesArgs,
        /// Do not compute the sales units after a dataset import: the first
        /// command that needs them (sales, vendor, export, serve) computes and
        /// keeps them, and `--rates` is not used. For several imports in a
        /// row, each of which would otherwise estimate the whole case again.
        /// (Pages and WARC files are estimated by `dragnet extract`.)
        #[arg(long)]
        defer_estimate: bool,
        /// Read files already in the case as datasets of `--format` although
        /// they were imported as another format, replacing the rows read
        /// before. Without it such files are reported and left as they were.
        #[arg(long, requires = "format")]
        reformat: bool,
    },
    /// Sales estimates (feedback counts, "sold" counters) grouped by a key.
    Sales {
        /// vendor, market, category, origin, destination or month.
        #[arg(long, default_value = "vendor")]
        by: String,
        /// First day counted (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Last day counted (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// CSV on standard output (not with --json).
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        rates: sales_cmd::RatesArgs,
    },
    /// A vendor's dossier: accounts, listings over time, sales, identifiers.
    Vendor {
        /// Vendor name (case-insensitive, every market); one that begins
        /// with `-` (Agora's `-Inanna-`) is a name, not an option.
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Instead of the dossier, the sales units behind its estimates: each
        /// unit's method, days, sales, price (with the rate used) and the row
        /// ids it counts (`dragnet explain ID` traces a row to its evidence).
        #[arg(long)]
        units: bool,
        #[command(flatten)]
        rates: sales_cmd::RatesArgs,
    },
    /// Proposed links between vendor accounts (hard identifiers and scores at
    /// or above the review threshold), with the analyst's decisions.
    Links {
        /// Lowest probability shown (default: the model's review threshold).
        #[arg(long)]
        min_score: Option<f64>,
        /// Also write the links as GraphML (networkx, Gephi) to this file.
        #[arg(long)]
        graphml: Option<PathBuf>,
        /// Also write the links as a STIX 2.1 bundle (JSON) to this file.
        #[arg(long)]
        stix: Option<PathBuf>,
    },
    /// Write the case report: a self-contained HTML document (summary,
    /// vendor dossiers, sales with their method and interval, links with
    /// their signals and decisions, money flows, a methods appendix with
    /// measured error rates, an evidence index with the URL, capture time
    /// and SHA-256 of every cited record), or the same as PDF (printed by
    /// headless Chromium: `apt-get install chromium`), and/or its tables as
    /// CSV files. One of `--out` and `--csv` is needed, or both.
    #[command(group(clap::ArgGroup::new("output").required(true).multiple(true).args(["out", "csv"])))]
    Report {
        /// `FILE.html` or `FILE.pdf`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the report's tables as CSV files into this directory:
        /// vendors, sales, links, flows, evidence_index (.csv).
        #[arg(long, value_name = "DIR")]
        csv: Option<PathBuf>,
        /// Only this vendor: its accounts on every market (name without
        /// case, or one `market/name`), and the accounts joined to them as
        /// `dragnet operator` joins them (hard links not rejected, confirmed
        /// links).
        #[arg(long)]
        vendor: Option<String>,
        /// Title on the first page (default: "dragnet case report", or
        /// "dragnet vendor report: NAME").
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        rates: sales_cmd::RatesArgs,
    },
    /// The operator holding an account (`market/vendor`): its accounts,
    /// markets, timeline, the links that join them, combined sales.
    Operator {
        /// Account id, `market/vendor` as `dragnet links` prints it.
        id: String,
        #[command(flatten)]
        rates: sales_cmd::RatesArgs,
    },
    /// Vendor linking: train, evaluate, confirm or reject links.
    #[command(subcommand)]
    Link(link_cmd::LinkCommand),
    /// Write listings, feedback, vendors and estimates as Parquet or CSV files.
    Export {
        /// parquet or csv.
        #[arg(long, default_value = "parquet")]
        format: String,
        /// Output directory (one file per table).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        rates: sales_cmd::RatesArgs,
    },
    /// Extract records from the case's evidence.
    Extract {
        /// Use this market's profile for every page (default: detect).
        #[arg(long)]
        market: Option<String>,
        /// Only pages not extracted before.
        #[arg(long)]
        only_new: bool,
        /// Load extra profiles (*.toml) from this directory.
        #[arg(long)]
        profiles: Option<PathBuf>,
        /// Worker threads (0: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Rates the sales units computed after extraction use.
        #[command(flatten)]
        rates: sales_cmd::RatesArgs,
        /// Do not compute the sales units now (as `import --defer-estimate`;
        /// `--rates` is then not used).
        #[arg(long)]
        defer_estimate: bool,
    },
    /// Re-hash every evidence record and the custody log chain, and print
    /// the log's head hash.
    Verify {
        /// A head hash printed by an earlier `verify` (or a report): the log
        /// must still hold that entry. A log cut back or rewritten since no
        /// longer does, though it may chain whole.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
    },
    /// List extracted listings.
    Listings(ListArgs),
    /// List vendor observations.
    Vendors(ListArgs),
    /// List feedback entries.
    Feedback(ListArgs),
    /// List identifiers (PGP keys, addresses, contacts).
    Identifiers {
        /// Only this kind, in any case (pgp, btc, xmr, onion, email, jabber, telegram, wickr, session; PGP is pgp).
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show the chain from a row (or evidence digest, or chain id) to its evidence.
    Explain {
        /// A row id (L-…, V-…, F-…, C-…, I-…), an evidence SHA-256 (or a unique prefix of 8 or more hex digits, as reports cite them), a txid, an address or a cluster id (`cluster:N`).
        id: String,
    },
    /// Generate a synthetic case, import, extract and report (no network).
    Demo {
        /// Where to write the demo case and report.
        #[arg(long, default_value = "dragnet-demo")]
        out: PathBuf,
        /// Seed of the synthetic markets.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Crawl a market over Tor into the case (resumable; pauses when the
    /// market asks to log in again), then extract the new pages.
    Crawl(crawl_cmd::CrawlArgs),
    /// Crawl a market again on a schedule and report what changed: new and
    /// removed listings, price changes, vendors appearing or disappearing,
    /// watched vendors, keys and addresses (JSON lines, and a webhook).
    Watch(crawl_cmd::WatchArgs),
    /// Serve the case in a browser and over a JSON API (/api, described at
    /// /api/openapi.json): overview, vendors, dossiers, identifier search,
    /// evidence viewer (captured pages sandboxed), custody log.
    Serve {
        /// Address to listen on (port 0: any free port; the URL is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// No accounts: anyone who can reach the address is an analyst.
        /// Allowed on a loopback address only.
        #[arg(long)]
        no_auth: bool,
        #[command(flatten)]
        rates: sales_cmd::RatesArgs,
    },
    /// Full-text search over the captured pages (visible text) and the
    /// listings (title, vendor); the index under CASE/search/ is brought up
    /// to date first.
    Search {
        /// Words, "a phrase", title:word.
        query: String,
    },
    /// Accounts for `dragnet serve`.
    #[command(subcommand)]
    User(UserCommand),
    /// Synthetic data with ground truth (test fixtures, never real markets).
    #[command(subcommand)]
    Sim(SimCommand),
    /// Bitcoin: import blocks, cluster, evaluate.
    #[command(subcommand)]
    Chain(chain_cmd::ChainCommand),
}

#[derive(Subcommand, Debug)]
enum SimCommand {
    /// Write a synthetic multi-market case's pages and its truth.json (account -> operator).
    Market {
        /// Output directory (pages/<market>/..., truth.json).
        #[arg(long)]
        out: PathBuf,
        /// Operators (people behind vendor accounts).
        #[arg(long, default_value_t = 12)]
        operators: usize,
        /// Markets (2 to sim::MAX_MARKETS, distinct layouts).
        #[arg(long, default_value_t = 2)]
        markets: usize,
        /// Seed; the same seed gives byte-identical output.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// The markets after this many rounds of change (listings removed,
        /// repriced, added; vendors away for a round): for testing `watch`.
        #[arg(long, default_value_t = 0)]
        revision: u32,
    },
    /// Write a large listings + feedback dataset (Agora 2014 CSV layout) for
    /// the sales benchmark; import with `--format agora-2014`.
    Sales {
        /// Output directory (sim-sales-agora-layout-NNNN.csv).
        #[arg(long)]
        out: PathBuf,
        /// Listings (rows).
        #[arg(long, default_value_t = 1_000_000)]
        listings: u64,
        /// Feedback entries, spread over the listings.
        #[arg(long, default_value_t = 10_000_000)]
        feedback: u64,
        /// Vendors (0: one per 100 listings).
        #[arg(long, default_value_t = 0)]
        vendors: u64,
        /// Files to split the rows into (import takes files up to 512 MiB).
        #[arg(long, default_value_t = 8)]
        files: usize,
        /// Seed; the same seed gives byte-identical output.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Serve the synthetic markets as web sites on a loopback address
    /// (for crawl tests and bench/crawl), until killed.
    Serve(crawl_cmd::ServeArgs),
}

#[derive(Subcommand, Debug)]
enum CaseCommand {
    /// Create a case directory.
    Init {
        /// Directory to create (default: --case).
        dir: Option<PathBuf>,
    },
    /// Counts of what the case holds.
    Info,
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// Only this market (its id, in any case: AGORA is agora).
    #[arg(long)]
    market: Option<String>,
    /// Only this vendor (exact name).
    #[arg(long)]
    vendor: Option<String>,
    /// At most this many.
    #[arg(long)]
    limit: Option<usize>,
}

impl ListArgs {
    /// The store filters `--market` stands for: one per market id of the
    /// case it names without regard to case (`AGORA` is `agora`; the exact
    /// id alone when the case holds it), none when it names no market of
    /// the case, after a note on stderr naming the case's markets.
    fn filters(&self, case: &Case) -> Result<Vec<Filter>> {
        let filter = |market: Option<String>| Filter { market, vendor: self.vendor.clone(), kind: None, limit: self.limit };
        let Some(want) = &self.market else { return Ok(vec![filter(None)]) };
        let markets = case.store().markets()?;
        let named: Vec<&String> = match markets.iter().find(|m| *m == want) {
            Some(m) => vec![m],
            None => markets.iter().filter(|m| m.to_lowercase() == want.to_lowercase()).collect(),
        };
        if named.is_empty() {
            let held = if markets.is_empty() { "none (nothing extracted yet)".to_owned() } else { markets.join(", ") };
            eprintln!("note: case {} holds no market {want:?}; its markets: {held}", case.dir().display());
        }
        Ok(named.into_iter().map(|m| filter(Some(m.clone()))).collect())
    }

    /// The rows `read` gives for each of [`ListArgs::filters`], at most `--limit`.
    fn rows<T>(&self, case: &Case, read: impl Fn(&Filter) -> store::Result<Vec<T>>) -> Result<Vec<T>> {
        let mut rows = Vec::new();
        for f in self.filters(case)? {
            rows.extend(read(&f)?);
        }
        rows.truncate(self.limit.unwrap_or(usize::MAX));
        Ok(rows)
    }
}

/// An error that carries its own exit code.
#[derive(Debug)]
struct Exit(u8);
impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}
impl std::error::Error for Exit {}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e` of the
/// bundled v3; `libmimalloc-sys` names no constant for it). The test
/// `purge_delay_option_is_the_one_set` checks the place by its default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system 5 s after it is freed, not 1 s: an
/// import frees a file's buffers and blocks and the next file, or the sales
/// units after the files, allocate as much again, which the system then
/// faulted in page by page: eight 10M-feedback imports taking turns with
/// and without, ~0.92M -> ~0.76M page faults, system time -0.35 s, median
/// wall 13.50 -> 13.27 s, peak memory +100 MB (BENCHMARKS.md).
fn keep_freed_memory_longer() {
    // SAFETY: mi_option_set stores an option's value, taking no pointer;
    // `main` calls this before it starts any thread, so nothing reads the
    // option while it is written.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 5_000) }
}

/// An error and its causes joined by ": ", as `{:#}` prints them, but a
/// cause that its error's message already ends with is not repeated (the
/// crates' I/O errors print "PATH: CAUSE" and also give CAUSE as their
/// source: "No such file or directory (os error 2)" came out twice).
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if text.is_empty() {
            text = cause;
        } else if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn main() -> ExitCode {
    // `dragnet ... | head` should end quietly when the reader goes away, as
    // Unix tools do, instead of panicking on a broken pipe: Rust ignores
    // SIGPIPE by default, so restore the default action.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_DFL at the start of
    // main, before any thread exists, has no memory-safety requirement.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Index builds write gigabytes once; on small pages that costs a fraction of what huge
    // pages cost under a hypervisor (chain::pages has the measurements).
    chain::pages::prefer_small_pages();
    keep_freed_memory_longer();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            // html5ever warns "foster parenting not implemented" each time a
            // page misplaces something inside a table, and then places it as
            // the HTML standard says: a hundred lines of noise on a real
            // capture, about the page, not about what dragnet did with it.
            // The pgp crate warns of each packet it skips, with a backtrace
            // and no page named; an unreadable key block is a note on its
            // page instead.
            tracing_subscriber::EnvFilter::try_from_env("DRAGNET_LOG").unwrap_or_else(|_| "warn,html5ever=error,pgp=error".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log file or a pipe gets text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                return ExitCode::from(*code);
            }
            eprintln!("error: {}", error_text(&e));
            ExitCode::from(1)
        }
    }
}

/// The global flags, once parsed.
struct Ctx {
    case: PathBuf,
    operator: Option<String>,
    json: bool,
}

/// Who custody log entries name when neither `--operator` nor `$USER` does.
const UNKNOWN_OPERATOR: &str = "unknown";

/// The operator `--operator` or else `$USER` names, if any does.
fn named_operator(cli: &Ctx) -> Option<String> {
    cli.operator.clone().or_else(|| std::env::var("USER").ok()).filter(|s| !s.is_empty())
}

fn operator(cli: &Ctx) -> String {
    named_operator(cli).unwrap_or_else(|| UNKNOWN_OPERATOR.to_owned())
}

/// Whether `cmd` may write custody log entries (which name the operator):
/// acquiring or extracting evidence, a case made, a link model trained or
/// a link decided (`links`, `operator`, `explain K-…` and `link eval` train
/// the default model when the case has none), a user added, a lookup
/// stored, or anything done through `serve`. The match is exhaustive so
/// that a new command has to be placed.
fn writes_custody(cmd: &Command) -> bool {
    match cmd {
        Command::Case(CaseCommand::Init { .. })
        | Command::Import { .. }
        | Command::Extract { .. }
        | Command::Links { .. }
        | Command::Operator { .. }
        | Command::Link(_)
        | Command::Demo { .. }
        | Command::Crawl(_)
        | Command::Watch(_)
        | Command::Serve { .. }
        | Command::User(_)
        | Command::Chain(chain_cmd::ChainCommand::Lookup { .. }) => true,
        Command::Explain { id } => id.starts_with("K-"),
        Command::Case(CaseCommand::Info)
        | Command::Sales { .. }
        | Command::Vendor { .. }
        | Command::Report { .. }
        | Command::Export { .. }
        | Command::Verify { .. }
        | Command::Listings(_)
        | Command::Vendors(_)
        | Command::Feedback(_)
        | Command::Identifiers { .. }
        | Command::Search { .. }
        | Command::Sim(_)
        | Command::Chain(_) => false,
    }
}

fn open(cli: &Ctx) -> Result<Case> {
    Case::open(&cli.case, &operator(cli)).with_context(|| format!("opening case {}", cli.case.display()))
}

/// `dragnet user ...`.
#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a user (or set an existing one's role and password); the password
    /// is read from the first line of standard input and stored as an
    /// argon2id hash in CASE/users.json.
    Add {
        /// Login name.
        name: String,
        /// `analyst` (everything) or `reviewer` (reads only).
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
}

/// `dragnet report`: HTML, or PDF printed from the same HTML by headless
/// Chromium (no network, no scripts in the report), and/or the report's
/// tables as CSV; all from one computation. Nothing is written when the
/// report cannot be made (an unknown `--vendor`, a bad `--out`).
fn report_cmd(case: &Case, out: Option<&Path>, csv: Option<&Path>, req: &case::ReportRequest<'_>, json: bool) -> Result<()> {
    let ext = out.map(|o| o.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase));
    if let (Some(out), Some(ext)) = (out, &ext) {
        anyhow::ensure!(matches!(ext.as_deref(), Some("html" | "htm" | "pdf")), "--out {}: give a .html or .pdf file", out.display());
    }
    let data = case.report_data(req)?;
    if let Some(i) = data.integrity.as_ref().filter(|i| !i.problems.is_empty()) {
        eprintln!(
            "warning: the evidence check failed ({} problems; {} of them on records the report cites): the report says so at its top; `dragnet verify` lists them",
            i.problems.len(),
            data.cited_damaged
        );
    }
    let mut written: Vec<PathBuf> = Vec::new();
    if let Some(out) = out {
        report_file(&report::render_html(&data)?, out)?;
        written.push(out.to_owned());
    }
    if let Some(dir) = csv {
        written.extend(report::write_csv(&data, dir)?);
    }
    if json {
        output::print_json(&serde_json::json!({
            "written": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "vendor": req.vendor,
            "accounts": data.counts.accounts,
            "links": data.links.rows.len(),
            "flows": data.flows.rows.len(),
            "evidence_cited": data.evidence_index.len(),
            "evidence_problems": data.integrity.as_ref().map(|i| i.problems.len()),
            "cited_damaged": data.cited_damaged,
        }));
    } else {
        for p in &written {
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(())
}

/// Writes the report's HTML to `out`, or prints it to `out` as PDF.
fn report_file(html: &str, out: &Path) -> Result<()> {
    // Its directory is made, as --csv's is.
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html") | Some("htm") => std::fs::write(out, html).with_context(|| format!("writing {}", out.display()))?,
        Some("pdf") => {
            let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
            anyhow::ensure!(Path::new(&chromium).exists(), "a PDF is printed by Chromium, not found at {chromium} (apt-get install chromium, or set CHROMIUM)");
            let tmp = tempfile::tempdir().context("a temporary directory for the report")?;
            let page = tmp.path().join("report.html");
            std::fs::write(&page, html).with_context(|| format!("writing {}", page.display()))?;
            let out_abs = std::path::absolute(out).with_context(|| format!("{}", out.display()))?;
            let started = std::time::Instant::now();
            let run = std::process::Command::new(&chromium)
                .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"])
                .arg(format!("--user-data-dir={}", tmp.path().join("profile").display()))
                .arg(format!("--print-to-pdf={}", out_abs.display()))
                .arg(format!("file://{}", page.display()))
                .output()
                .with_context(|| format!("running {chromium}"))?;
            anyhow::ensure!(
                run.status.success() && out_abs.exists(),
                "Chromium did not print the PDF ({}, after {:.0} s, of a {:.1} MB report): {}; \
                 a report this large may be past what headless Chromium prints (give --vendor NAME for one vendor's, or keep the HTML)",
                run.status,
                started.elapsed().as_secs_f64(),
                html.len() as f64 / 1e6,
                chromium_error(&String::from_utf8_lossy(&run.stderr), &chromium)
            );
        }
        _ => anyhow::bail!("--out {}: give a .html or .pdf file", out.display()),
    }
    Ok(())
}

/// What Chromium's stderr says went wrong, without the lines it prints on
/// every run in a container (no D-Bus, no CPU frequency files for its crash
/// reporter) and its launcher script's own shell complaints (`PATH: 9: ...`):
/// those lines said nothing about why a PDF was not printed.
fn chromium_error(stderr: &str, chromium: &str) -> String {
    const NOISE: [&str; 4] = ["dbus", "cpufreq", "Fontconfig", "sandbox"];
    let script = format!("{chromium}:");
    let said: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(&script) && !NOISE.iter().any(|n| l.contains(n)))
        .collect();
    match said.as_slice() {
        [] => "it gave no reason (it may have crashed or run out of memory)".into(),
        lines => lines[lines.len().saturating_sub(3)..].join(" | "),
    }
}

/// RFC 3339, or a bare date as midnight UTC.
fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--captured-at {s:?}: give RFC 3339 (2020-02-17T12:00:00Z) or YYYY-MM-DD"))?;
    Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

fn run(args: Cli) -> Result<()> {
    let progress = progress::Bars::new(args.quiet || args.json);
    let cli = Ctx { case: args.case, operator: args.operator, json: args.json };
    if named_operator(&cli).is_none() && writes_custody(&args.command) {
        eprintln!("warning: no --operator given and $USER is unset: custody log entries will name the operator {UNKNOWN_OPERATOR:?} (give --operator NAME)");
    }
    match &args.command {
        Command::Case(CaseCommand::Init { dir }) => {
            let dir = dir.clone().unwrap_or_else(|| cli.case.clone());
            Case::init(&dir, &operator(&cli)).with_context(|| format!("creating case {}", dir.display()))?;
            if cli.json {
                output::print_json(&serde_json::json!({ "case": dir.display().to_string(), "created": true }));
            } else {
                println!("created case {}", dir.display());
            }
        }
        Command::Case(CaseCommand::Info) => {
            let case = open(&cli)?;
            let counts = case.store().counts()?;
            let info = output::CaseInfo::new(case.dir(), case.evidence().len(), &counts);
            if cli.json {
                output::print_json(&info);
            } else {
                print!("{info}");
            }
        }
        Command::Import { paths, format, captured_at, rates, defer_estimate, reformat } => {
            let captured_at = captured_at.as_deref().map(parse_time).transpose()?;
            let mut case = open(&cli)?;
            let dataset_format = format.as_deref().map(|f| case.dataset_format(f)).transpose()?;
            // New dataset files are read into the store as they are stored.
            let opts = ImportOptions { dataset_format, captured_at, extract_datasets: true, reformat: *reformat, ..ImportOptions::default() };
            let started = std::time::Instant::now();
            let mut report = case.import(paths, &opts, &progress)?;
            // Phase times (DRAGNET_LOG=info): where a slow import spends its time.
            tracing::info!("import: {} files stored as evidence (new datasets read into the store too) in {:.2} s", report.files, started.elapsed().as_secs_f64());
            for p in &report.problems {
                eprintln!("warning: {p}");
            }
            if let Some(t) = &report.dated_by_file_time {
                eprintln!("{}", output::file_times_note(t));
            }
            for f in &report.not_datasets {
                eprintln!("note: {f}: a data file that matches no dataset format: stored as evidence, no rows read (give --format NAME or a mapping file, docs/datasets.md)");
            }
            if !report.datasets.is_empty() {
                // Datasets are read now, so their bad rows are reported at
                // import: those that were new evidence were read as they were
                // stored, the others (already in the case) are read again.
                let (mut ex, read) = std::mem::take(&mut report.extraction);
                let only: std::collections::BTreeSet<_> = report.datasets.iter().map(|(_, _, d)| *d).filter(|d| !read.contains(d)).collect();
                let started = std::time::Instant::now();
                if !only.is_empty() {
                    ex.absorb(case.extract(&ExtractOptions { only: Some(only), ..ExtractOptions::default() }, &progress)?);
                }
                tracing::info!("import: {} datasets read into the store in {:.2} s", report.datasets.len(), started.elapsed().as_secs_f64());
                for p in &ex.problems {
                    output::print_page_problem(p);
                }
                sales_cmd::report_datasets(&ex, cli.json);
                if *defer_estimate {
                    tracing::info!("import: sales units left to the first command that needs them (--defer-estimate)");
                } else {
                    let started = std::time::Instant::now();
                    sales_cmd::keep_units(&case, rates)?;
                    tracing::info!("import: sales units computed and kept in {:.2} s", started.elapsed().as_secs_f64());
                }
            }
            if cli.json {
                output::print_json(&output::ImportSummary::from(&report));
            } else {
                println!(
                    "imported {} files: {} new records, {} already in the case, {} non-page WARC records skipped, {} problems reading files",
                    report.files, report.added, report.duplicates, report.skipped_records, report.problems.len()
                );
            }
            // The other paths are imported; a path that names nothing is
            // the caller's mistake, and a script must see it (it exited 0;
            // found by a review).
            let missing: Vec<String> = paths.iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
            if !missing.is_empty() {
                anyhow::bail!("{} of the paths given do not exist: {} (the others were imported)", missing.len(), missing.join(", "));
            }
        }
        Command::Extract { market, only_new, profiles, threads, rates, defer_estimate } => {
            let mut case = open(&cli)?;
            if let Some(dir) = profiles {
                case.add_profiles(dir)?;
            }
            let opts = ExtractOptions { market: market.clone(), only_new: *only_new, threads: *threads, only: None };
            let report = case.extract(&opts, &progress)?;
            for p in &report.problems {
                output::print_page_problem(p);
            }
            if !*defer_estimate {
                sales_cmd::keep_units(&case, rates)?;
            }
            if cli.json {
                output::print_json(&report);
            } else {
                print!("{}", output::extract_summary(&report));
            }
        }
        Command::Verify { expect_head } => {
            // The evidence alone, opened read-only: a case on write-blocked
            // media verifies, and a damaged derived store (dragnet.sqlite,
            // rebuildable) does not stop the check.
            let dir = cli.case.join("evidence");
            let store = evidence::EvidenceStore::open_read_only(&dir).with_context(|| format!("opening the evidence of case {}", cli.case.display()))?;
            let mut report = case::verify_evidence(&store);
            let entries = store.custody().entries().unwrap_or_default();
            report.problems.extend(case::verify_logged_files(&cli.case, &entries));
            if let Some(want) = expect_head {
                // Looked for line by line: a damaged line elsewhere (reported
                // above) does not hide the entry noted.
                let text = std::fs::read_to_string(store.custody().path()).unwrap_or_default();
                let held = text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).any(|v| {
                    v.get("hash").and_then(|h| h.as_str()).is_some_and(|h| h.eq_ignore_ascii_case(want.trim()))
                });
                if !held {
                    report.problems.push(evidence::Problem {
                        location: evidence::Location::Path(store.custody().path().to_owned()),
                        what: format!("holds no entry with hash {want}: the log was cut back or rewritten since that head was noted"),
                    });
                }
            }
            // Transactions fetched by `chain lookup` live beside the archive
            // (they are not pages); their custody entries are checked too.
            // A damaged custody log (already reported above) cannot say what
            // was stored: say the lookups went unchecked rather than stop.
            let (lookups_checked, lookup_problems) = case::verify_chain_lookups(&entries, &cli.case);
            let problems: Vec<String> = report.problems.iter().map(|p| case::problem_text(&store, p)).collect();
            let mut summary = output::VerifySummary::new(&report, problems.clone(), store.len());
            summary.add_lookups(lookups_checked, &lookup_problems);
            summary.add_custody(&entries);
            if cli.json {
                output::print_json(&summary);
            } else {
                for p in problems.iter().chain(&lookup_problems) {
                    println!("ALTERED {p}");
                }
                for r in &summary.recoveries {
                    println!("recovered {r}");
                }
                if let Some((seq, hash)) = &summary.head {
                    println!("custody log head: entry {seq}, hash {hash} (note it: `dragnet verify --expect-head {hash}` shows later whether the log still holds it)");
                }
                let problems = problems.len() + lookup_problems.len();
                println!(
                    "checked {} WARC records (the {} captures stored, and the files' warcinfo, request and alias records), {} custody log entries and {} looked-up transactions: {}",
                    report.records_checked,
                    store.len(),
                    report.log_entries_checked,
                    lookups_checked,
                    if problems == 0 { "intact".to_owned() } else { format!("{problems} problems") }
                );
            }
            if !summary.intact() {
                return Err(Exit(3).into());
            }
        }
        Command::Listings(args) => {
            let case = open(&cli)?;
            let rows = args.rows(&case, |f| case.store().listings(f))?;
            let captured = case::captured_times(&case.store().pages()?);
            output::print_rows(cli.json, rows.iter().map(|r| output::ListingOut::of(r, &captured)));
        }
        Command::Vendors(args) => {
            let case = open(&cli)?;
            let rows = args.rows(&case, |f| case.store().vendors(f))?;
            output::print_rows(cli.json, rows.iter().map(output::VendorOut::from));
        }
        Command::Feedback(args) => {
            let case = open(&cli)?;
            let rows = args.rows(&case, |f| case.store().feedback(f))?;
            let captured = case::captured_times(&case.store().pages()?);
            output::print_rows(cli.json, rows.iter().map(|r| output::FeedbackOut::of(r, &captured)));
        }
        Command::Identifiers { kind, limit } => {
            // Stored kinds are lower case; the flag is read in any case, as --market is.
            let kind = match kind {
                None => None,
                Some(k) => match model::IdentifierKind::from_name(k) {
                    Some(k) => Some(k.as_str().to_owned()),
                    None => anyhow::bail!("unknown identifier kind {k:?}; one of pgp, btc, xmr, onion, email, jabber, telegram, wickr, session (any case)"),
                },
            };
            let case = open(&cli)?;
            let rows = case.store().identifiers(&Filter { kind, limit: *limit, ..Default::default() })?;
            output::print_rows(cli.json, rows.iter().map(output::IdentifierOut::from));
        }
        Command::Explain { id } if id.starts_with("K-") => link_cmd::explain(&mut open(&cli)?, id, cli.json)?,
        Command::Links { min_score, graphml, stix } => {
            link_cmd::links(&mut open(&cli)?, *min_score, cli.json, graphml.as_deref(), stix.as_deref())?
        }
        Command::Report { out, csv, vendor, title, rates } => {
            let rates = case::load_rates(&rates.rates)?;
            let title = title.clone().unwrap_or_else(|| case::ReportRequest::default_title(vendor.as_deref()));
            let req = case::ReportRequest { title: &title, vendor: vendor.as_deref(), rates: &rates };
            report_cmd(&open(&cli)?, out.as_deref(), csv.as_deref(), &req, cli.json)?;
        }
        Command::Operator { id, rates } => {
            let rates = case::load_rates(&rates.rates)?;
            link_cmd::operator(&mut open(&cli)?, id, &rates, cli.json)?
        }
        Command::Link(cmd) => link_cmd::run(&mut open(&cli)?, cmd, cli.json)?,
        Command::Explain { id } => {
            let case = open(&cli)?;
            if let Some(e) = case.explain(id)? {
                if cli.json {
                    output::print_json(&e);
                } else {
                    print!("{e}");
                }
            } else if let Some(text) = chain_cmd::explain(case.dir(), id)? {
                println!("{text}");
            } else {
                // Say why a near miss missed: a digest prefix too short to
                // be taken as one.
                let hex = id.strip_prefix("sha256:").unwrap_or(id);
                let hint = if !hex.is_empty() && hex.len() < case::MIN_DIGEST_PREFIX && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    format!(" (a digest prefix needs at least {} hex digits)", case::MIN_DIGEST_PREFIX)
                } else {
                    String::new()
                };
                anyhow::bail!("nothing in case {} has the id {id:?}{hint}", case.dir().display());
            }
        }
        Command::Sales { by, from, to, csv, rates } => {
            if *csv && cli.json {
                // --json is global, so clap's own conflict check misses it before the subcommand.
                <Cli as clap::CommandFactory>::command().error(clap::error::ErrorKind::ArgumentConflict, "--csv and --json: choose one").exit();
            }
            let case = open(&cli)?;
            sales_cmd::sales(&case, by, from.as_deref(), to.as_deref(), rates, cli.json, *csv)?;
        }
        Command::Vendor { name, units: false, rates } => sales_cmd::vendor(&open(&cli)?, name, rates, cli.json)?,
        Command::Vendor { name, units: true, rates } => sales_cmd::vendor_units(&open(&cli)?, name, rates, cli.json)?,
        Command::Export { format, out, rates } => sales_cmd::export(&open(&cli)?, format, out, rates, cli.json)?,
        Command::Demo { out, seed } => demo::run(out, *seed, &operator(&cli), cli.json, &progress)?,
        Command::Sim(SimCommand::Sales { out, listings, feedback, vendors, files, seed }) => {
            let cfg = sim::sales::SalesSimConfig { seed: *seed, listings: *listings, feedback: *feedback, vendors: *vendors, files: *files };
            let summary = sim::sales::write_sales_dataset(out, &cfg).with_context(|| format!("writing {}", out.display()))?;
            if cli.json {
                output::print_json(&summary);
            } else {
                println!(
                    "wrote {} listings of {} vendors with {} feedback entries ({} bytes, {} files) under {}",
                    summary.listings, summary.vendors, summary.feedback, summary.bytes, summary.files.len(), out.display()
                );
            }
        }
        Command::Crawl(a) => {
            let mut case = open(&cli)?;
            crawl_cmd::crawl(&mut case, a, cli.json, &progress)?;
        }
        Command::Serve { bind, no_auth, rates } => {
            let bind: std::net::SocketAddr = bind.parse().with_context(|| format!("--bind {bind:?}: expected IP:PORT"))?;
            let cfg = server::ServeConfig { bind, no_auth: *no_auth, operator: operator(&cli), rates: rates.load()? };
            server::serve(&cli.case, &cfg, |addr| {
                println!("serving {} at http://{addr}/", cli.case.display());
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
            })?;
        }
        Command::Search { query } => {
            let case = open(&cli)?;
            let index = case.search_index()?;
            let (hits, total) = index.search_counted(query, search::MAX_HITS)?;
            for h in &hits {
                if cli.json {
                    output::print_json(h);
                } else {
                    // A listing's detail is its row id (for `dragnet explain`), a page's its type.
                    let snippet = h.snippet.replace('\n', " ");
                    let snippet = if snippet.trim().is_empty() { String::new() } else { format!("  [{snippet}]") };
                    println!("{:<7} {:<12} {}  {}  {}{snippet}", h.kind, h.market, &h.evidence[..16.min(h.evidence.len())], h.detail, h.title);
                }
            }
            if !cli.json {
                let shown = if total > hits.len() { format!(" (the best {} shown)", hits.len()) } else { String::new() };
                eprintln!("{total} hits in {} indexed pages{shown}", index.pages());
            }
        }
        Command::User(UserCommand::Add { name, role }) => {
            let role = server::auth::Role::parse(role).with_context(|| format!("--role {role:?}: analyst or reviewer"))?;
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
            let mut case = open(&cli)?;
            server::auth::add_user(&cli.case, name, role, password.trim_end_matches(['\r', '\n'])).map_err(anyhow::Error::msg)?;
            case.log("user-add", serde_json::json!({ "user": name, "role": role }))?;
            println!("user {name} ({role:?}) added to {}", server::auth::users_path(&cli.case).display());
        }
        Command::Watch(a) => {
            let mut case = open(&cli)?;
            crawl_cmd::watch(&mut case, a, cli.json, &progress)?;
        }
        Command::Sim(SimCommand::Serve(a)) => crawl_cmd::serve(a)?,
        Command::Sim(SimCommand::Market { out, operators, markets, seed, revision }) => {
            let cfg = sim::MarketSimConfig { seed: *seed, operators: *operators, markets: *markets, revision: *revision, ..Default::default() };
            let generated = sim::generate_markets(&cfg);
            generated.write_to(out).with_context(|| format!("writing {}", out.display()))?;
            let summary = serde_json::json!({
                "out": out.display().to_string(),
                "files": generated.files.len(),
                "accounts": generated.truth.accounts.len(),
                "operators": generated.truth.operators.len(),
                "truth": out.join("truth.json").display().to_string(),
            });
            if cli.json {
                output::print_json(&summary);
            } else {
                println!(
                    "wrote {} pages of {} accounts ({} operators) under {}; truth in {}",
                    generated.files.len(),
                    generated.truth.accounts.len(),
                    generated.truth.operators.len(),
                    out.display(),
                    out.join("truth.json").display()
                );
            }
        }
        Command::Chain(_) => {}
    }
    if let Command::Chain(cmd) = args.command {
        chain_cmd::run(&cli.case, cmd, cli.json, &operator(&cli))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_an_error_already_names_is_not_repeated() {
        let missing = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(case::CaseError::Io { path: "/x.csv".into(), source: missing() }).context("loading --rates");
        assert_eq!(error_text(&e), "loading --rates: /x.csv: no such file");
        // A cause the message does not end with is kept, as `{:#}` keeps it.
        let e = anyhow::Error::new(missing()).context("reading /x.csv");
        assert_eq!(error_text(&e), format!("{e:#}"));
        assert_eq!(error_text(&e), "reading /x.csv: no such file");
    }

    #[test]
    fn chromium_errors_leave_out_its_container_noise() {
        // What Chromium printed when it stopped on an 18 MB report: the
        // crash reporter's line was all the error showed.
        let stderr = "[1:1:1207/002408.174641:ERROR:dbus/object_proxy.cc:572] Failed to call method: org.freedesktop.DBus.NameHasOwner\n\
                      [1207/002449.263150:ERROR:third_party/crashpad/crashpad/util/file/file_io_posix.cc:145] open /sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq: No such file or directory (2)\n";
        let stderr = format!("{stderr}/usr/bin/chromium: 9: [: 25276182528: unexpected operator\n");
        assert_eq!(chromium_error(&stderr, "/usr/bin/chromium"), "it gave no reason (it may have crashed or run out of memory)");
        let said = format!("{stderr}[2:2:ERROR:printing] Failed to print: page limit\n");
        assert_eq!(chromium_error(&said, "/usr/bin/chromium"), "[2:2:ERROR:printing] Failed to print: page limit");
    }

    fn option(o: libmimalloc_sys::mi_option_t) -> std::ffi::c_long {
        // SAFETY: reads an option's value (initialising options on first use).
        unsafe { libmimalloc_sys::mi_option_get(o) }
    }

    /// The option set is mimalloc's purge delay: the only one whose default
    /// is its 1,000 ms (a mimalloc whose options moved fails this), and
    /// setting it takes.
    #[test]
    fn purge_delay_option_is_the_one_set() {
        let thousands: Vec<_> = (0..libmimalloc_sys::_mi_option_last).filter(|&o| option(o) == 1_000).collect();
        assert_eq!(thousands, vec![MI_OPTION_PURGE_DELAY]);
        keep_freed_memory_longer();
        assert_eq!(option(MI_OPTION_PURGE_DELAY), 5_000);
    }
}
