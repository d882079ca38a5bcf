//! What the CLI prints. These wire types are the scripting interface
//! (`--json`); they are built from domain types here so that a change in
//! `model` cannot silently change them.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use model::{Feedback, Identifier, Listing, Vendor};
use store::Stored;

/// Prints one JSON value on one line.
pub fn print_json<T: Serialize>(v: &T) {
    match serde_json::to_string(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot serialize output: {e}"),
    }
}

/// A row that also has a one-line text form.
pub trait TextRow: Serialize {
    fn text(&self) -> String;
}

/// JSON Lines with `--json`, else one text line per row.
pub fn print_rows<T: TextRow>(json: bool, rows: impl Iterator<Item = T>) {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for r in rows {
        let line = if json { serde_json::to_string(&r).unwrap_or_default() } else { r.text() };
        if writeln!(out, "{line}").is_err() {
            return; // stdout closed (e.g. piped into `head`): stop quietly.
        }
    }
    let _ = out.flush();
}

fn evidence_of(p: &Option<model::Provenance>) -> (Option<String>, Option<String>, Option<String>) {
    match p {
        Some(p) => (Some(p.evidence.to_hex()), Some(p.profile.clone()), Some(p.rule.clone())),
        None => (None, None, None),
    }
}

#[derive(Serialize)]
pub struct ListingOut {
    id: String,
    market: String,
    title: String,
    vendor: Option<String>,
    price: Option<f64>,
    currency: Option<String>,
    price_text: Option<String>,
    price_usd: Option<f64>,
    price_btc: Option<f64>,
    ships_from: Option<String>,
    ships_to: Vec<String>,
    category: Vec<String>,
    shipping_methods: Vec<String>,
    stock: Option<String>,
    sold: Option<u64>,
    market_listing_id: Option<String>,
    url: Option<String>,
    /// When the listing was observed: the dataset row's own time, else the
    /// capture time of the page it is on.
    observed_at: Option<String>,
    /// dHashes of the product photos the page embeds (16 hex digits each).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    photos: Vec<String>,
    evidence: Option<String>,
    profile: Option<String>,
    rule: Option<String>,
}

impl ListingOut {
    /// `s` as printed; `captured` gives the pages' capture times by
    /// evidence ([`case::captured_times`]).
    pub fn of(s: &Stored<Listing>, captured: &std::collections::HashMap<model::Sha256, String>) -> Self {
        let l = &s.record;
        let page_time = || l.provenance.as_ref().and_then(|p| captured.get(&p.evidence)).cloned();
        let (evidence, profile, rule) = evidence_of(&l.provenance);
        ListingOut {
            id: s.id.to_string(),
            market: l.market.clone(),
            title: l.title.clone(),
            vendor: l.vendor.clone(),
            price: l.price.as_ref().and_then(|p| p.value()),
            currency: l.price.as_ref().map(|p| p.currency.clone()),
            price_text: l.price.as_ref().map(|p| p.amount.clone()),
            price_usd: l.price_usd.as_deref().and_then(|v| v.parse().ok()),
            price_btc: l.price_btc.as_deref().and_then(|v| v.parse().ok()),
            ships_from: l.ships_from.clone(),
            ships_to: l.ships_to.clone(),
            category: l.category.clone(),
            shipping_methods: l.shipping_methods.clone(),
            stock: l.stock.clone(),
            sold: l.sold,
            market_listing_id: l.market_listing_id.clone(),
            url: l.url.clone(),
            observed_at: l.observed_at.clone().or_else(page_time),
            photos: l.photos.clone(),
            evidence,
            profile,
            rule,
        }
    }
}

impl TextRow for ListingOut {
    fn text(&self) -> String {
        // The day only: a row's own time may be a date or a time.
        let day = self.observed_at.as_deref().map_or("-", |t| t.get(..10).unwrap_or(t));
        format!(
            "{}  {:<10} {:<12} {:<20} {:>12} {:<4} {}",
            self.id,
            day,
            self.market,
            self.vendor.as_deref().unwrap_or("-"),
            self.price_text.as_deref().unwrap_or("-"),
            self.currency.as_deref().unwrap_or(""),
            self.title
        )
    }
}

#[derive(Serialize)]
pub struct VendorOut {
    id: String,
    market: String,
    name: String,
    pgp_fingerprint: Option<String>,
    registered: Option<String>,
    last_seen: Option<String>,
    sales: Option<u64>,
    feedback_positive: Option<u64>,
    feedback_neutral: Option<u64>,
    feedback_negative: Option<u64>,
    positive_percent: Option<String>,
    rating: Option<String>,
    level: Option<String>,
    trust: Option<String>,
    contacts: Vec<String>,
    external_ratings: Vec<ExternalOut>,
    evidence: Option<String>,
    profile: Option<String>,
    rule: Option<String>,
}

#[derive(Serialize)]
pub struct ExternalOut {
    market: String,
    sales: Option<u64>,
    rating: Option<String>,
    account: Option<String>,
}

impl From<&Stored<Vendor>> for VendorOut {
    fn from(s: &Stored<Vendor>) -> Self {
        let v = &s.record;
        let (evidence, profile, rule) = evidence_of(&v.provenance);
        VendorOut {
            id: s.id.to_string(),
            market: v.market.clone(),
            name: v.name.clone(),
            pgp_fingerprint: v.pgp_fingerprint.clone(),
            registered: v.registered.clone(),
            last_seen: v.last_seen.clone(),
            sales: v.sales,
            feedback_positive: v.feedback_positive,
            feedback_neutral: v.feedback_neutral,
            feedback_negative: v.feedback_negative,
            positive_percent: v.positive_percent.clone(),
            rating: v.rating.clone(),
            level: v.level.clone(),
            trust: v.trust.clone(),
            contacts: v.contacts.clone(),
            external_ratings: v
                .external_ratings
                .iter()
                .map(|e| ExternalOut {
                    market: e.market.clone(),
                    sales: e.sales,
                    rating: e.rating.clone(),
                    account: e.account.clone(),
                })
                .collect(),
            evidence,
            profile,
            rule,
        }
    }
}

impl TextRow for VendorOut {
    fn text(&self) -> String {
        format!(
            "{}  {:<12} {:<24} sales {:>6}  pgp {}",
            self.id,
            self.market,
            self.name,
            self.sales.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            self.pgp_fingerprint.as_deref().unwrap_or("-")
        )
    }
}

#[derive(Serialize)]
pub struct FeedbackOut {
    id: String,
    market: String,
    vendor: Option<String>,
    listing: Option<String>,
    /// The date as the market showed it ("3 days ago", "16/11/2018").
    date: Option<String>,
    /// When it was seen: the dataset row's own time, else the capture time
    /// of its page (a relative `date` counts back from it).
    observed_at: Option<String>,
    rating: Option<String>,
    text: Option<String>,
    buyer: Option<String>,
    price: Option<f64>,
    currency: Option<String>,
    evidence: Option<String>,
    profile: Option<String>,
    rule: Option<String>,
}

impl FeedbackOut {
    /// `s` as printed; `captured` as for [`ListingOut::of`].
    pub fn of(s: &Stored<Feedback>, captured: &std::collections::HashMap<model::Sha256, String>) -> Self {
        let f = &s.record;
        let page_time = || f.provenance.as_ref().and_then(|p| captured.get(&p.evidence)).cloned();
        let (evidence, profile, rule) = evidence_of(&f.provenance);
        FeedbackOut {
            id: s.id.to_string(),
            market: f.market.clone(),
            vendor: f.vendor.clone(),
            listing: f.listing.clone(),
            date: f.date.clone(),
            observed_at: f.observed_at.clone().or_else(page_time),
            rating: f.rating.clone(),
            text: f.text.clone(),
            buyer: f.buyer.clone(),
            price: f.price.as_ref().and_then(|p| p.value()),
            currency: f.price.as_ref().map(|p| p.currency.clone()),
            evidence,
            profile,
            rule,
        }
    }
}

impl TextRow for FeedbackOut {
    fn text(&self) -> String {
        // The shown date, and the day it was seen (which a relative one
        // counts back from).
        let seen = self.observed_at.as_deref().map_or("-", |t| t.get(..10).unwrap_or(t));
        format!(
            "{}  {:<12} {:<20} {:<12} seen {:<10} {:<6} {}",
            self.id,
            self.market,
            self.vendor.as_deref().unwrap_or("-"),
            self.date.as_deref().unwrap_or("-"),
            seen,
            self.rating.as_deref().unwrap_or("-"),
            self.text.as_deref().unwrap_or("").chars().take(80).collect::<String>()
        )
    }
}

#[derive(Serialize)]
pub struct IdentifierOut {
    id: String,
    kind: &'static str,
    value: String,
    detail: Option<String>,
    key_id: Option<String>,
    created: Option<String>,
    user_ids: Vec<String>,
    evidence: Option<String>,
    rule: Option<String>,
}

impl From<&Stored<Identifier>> for IdentifierOut {
    fn from(s: &Stored<Identifier>) -> Self {
        let i = &s.record;
        let (evidence, _, rule) = evidence_of(&i.provenance);
        IdentifierOut {
            id: s.id.to_string(),
            kind: i.kind.as_str(),
            value: i.value.clone(),
            detail: i.detail.clone(),
            key_id: i.pgp.as_ref().map(|p| p.key_id.clone()),
            created: i.pgp.as_ref().map(|p| p.created.clone()),
            user_ids: i.pgp.as_ref().map(|p| p.user_ids.clone()).unwrap_or_default(),
            evidence,
            rule,
        }
    }
}

impl TextRow for IdentifierOut {
    fn text(&self) -> String {
        format!(
            "{}  {:<8} {}  {}",
            self.id,
            self.kind,
            self.value,
            self.evidence.as_deref().map(|e| &e[..16]).unwrap_or("-")
        )
    }
}

#[derive(Serialize)]
pub struct ImportSummary {
    files: usize,
    added: usize,
    duplicates: usize,
    skipped_records: usize,
    problems: Vec<String>,
    /// New pages stored with their files' modification times.
    dated_by_file_time: Option<case::FileTimes>,
    /// Data files no dataset format recognised: stored, no rows read.
    not_datasets: Vec<String>,
}

impl From<&case::ImportReport> for ImportSummary {
    fn from(r: &case::ImportReport) -> Self {
        ImportSummary {
            files: r.files,
            added: r.added,
            duplicates: r.duplicates,
            skipped_records: r.skipped_records,
            problems: r.problems.clone(),
            dated_by_file_time: r.dated_by_file_time,
            not_datasets: r.not_datasets.clone(),
        }
    }
}

/// What an import says of pages it dated by their files' modification
/// times: relative dates on them ("3 days ago") count back from those
/// times, and evidence keeps the time it was stored with.
pub fn file_times_note(t: &case::FileTimes) -> String {
    let day = |at: &chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let (first, last) = (day(&t.earliest), day(&t.latest));
    let range = if first == last { first } else { format!("{first} to {last}") };
    format!(
        "note: {} new pages have no capture time of their own and are dated by their files' modification times ({range}); \
         relative dates on them count back from that. If the pages were captured at another time, import them into a new case \
         with --captured-at (evidence keeps the time it was stored with)",
        t.pages
    )
}

#[derive(Serialize)]
pub struct VerifySummary {
    intact: bool,
    /// WARC records read: captures, and warcinfo, request and alias records.
    records_checked: usize,
    /// Captures (payload records) stored.
    captures: usize,
    log_entries_checked: usize,
    lookups_checked: usize,
    problems: Vec<String>,
    /// The last custody entry's number and hash: noted, it lets a later
    /// `verify --expect-head` show whether the log was cut back since.
    pub head: Option<(u64, String)>,
    /// What recoveries after killed writers did (their custody entries):
    /// not problems, but cuts a reader should know of.
    pub recoveries: Vec<String>,
}

impl VerifySummary {
    /// Adds the check of `chain lookup`'s stored transactions.
    pub fn add_lookups(&mut self, checked: usize, problems: &[String]) {
        self.lookups_checked = checked;
        self.problems.extend(problems.iter().cloned());
        self.intact &= problems.is_empty();
    }

    /// Nothing altered.
    pub fn intact(&self) -> bool {
        self.intact
    }
}

impl VerifySummary {
    /// `r` with its `problems` as text (naming what each damaged record was
    /// captured as) and the number of captures stored.
    pub fn new(r: &evidence::VerifyReport, problems: Vec<String>, captures: usize) -> Self {
        VerifySummary {
            intact: r.is_intact(),
            records_checked: r.records_checked,
            captures,
            log_entries_checked: r.log_entries_checked,
            lookups_checked: 0,
            problems,
            head: None,
            recoveries: Vec::new(),
        }
    }

    /// Adds the custody log's head and its recoveries.
    pub fn add_custody(&mut self, entries: &[evidence::CustodyEntry]) {
        self.head = entries.last().map(|e| (e.seq, e.hash.to_hex()));
        for e in entries.iter().filter(|e| e.action == evidence::RECOVER) {
            let torn = e.detail.get("torn").and_then(|t| t.as_array()).map(Vec::as_slice).unwrap_or_default();
            let mut what: Vec<String> = torn
                .iter()
                .map(|t| format!("{} bytes of {} from offset {} set aside as evidence/{}", t["length"], t["file"].as_str().unwrap_or("?"), t["offset"], t["saved_as"].as_str().unwrap_or("?")))
                .collect();
            if let Some(n) = e.detail.get("indexed_again").and_then(|v| v.as_array()).map(Vec::len).filter(|&n| n > 0) {
                what.push(format!("{n} unindexed records indexed again"));
            }
            if let Some(l) = e.detail.get("line_end_added") {
                what.push(format!("line end added to {} line {}", l["file"].as_str().unwrap_or("?"), l["line"]));
            }
            self.recoveries.push(format!("custody entry {} ({}): after a killed writer, {}", e.seq, e.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), what.join("; ")));
        }
    }
}

/// Prints a page's or dataset row's problem on stderr: `note: SOURCE
/// (DIGEST): MESSAGE`, the source named once (a dataset's row problems
/// start with it, as they are kept on its page record).
pub fn print_page_problem(p: &case::PageProblem) {
    eprintln!("{}", page_problem_line(p));
}

fn page_problem_line(p: &case::PageProblem) -> String {
    let message = p.message.strip_prefix(p.source.as_str()).and_then(|m| m.strip_prefix(": ")).unwrap_or(&p.message);
    format!("note: {} ({}): {message}", p.source, p.evidence.get(..16).unwrap_or(&p.evidence))
}

pub fn extract_summary(r: &case::ExtractReport) -> String {
    let mut s = format!(
        "extracted {} pages: {} listings, {} vendors, {} feedback, {} categories, {} identifiers ({} notes)\n",
        r.pages, r.listings, r.vendors, r.feedback, r.categories, r.identifiers, r.problems.len()
    );
    let markets: Vec<String> = r.by_market.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let types: Vec<String> = r.by_page_type.iter().map(|(k, v)| format!("{k} {v}")).collect();
    s.push_str(&format!("  by market:    {}\n  by page type: {}\n", markets.join(", "), types.join(", ")));
    s
}

#[derive(Serialize)]
pub struct CaseInfo {
    case: String,
    evidence_records: usize,
    pages: u64,
    listings: u64,
    vendors: u64,
    feedback: u64,
    categories: u64,
    identifiers: u64,
}

impl CaseInfo {
    pub fn new(dir: &Path, records: usize, c: &store::Counts) -> Self {
        CaseInfo {
            case: dir.display().to_string(),
            evidence_records: records,
            pages: c.pages,
            listings: c.listings,
            vendors: c.vendors,
            feedback: c.feedback,
            categories: c.categories,
            identifiers: c.identifiers,
        }
    }
}

impl fmt::Display for CaseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "case {}", self.case)?;
        writeln!(f, "  evidence records {}", self.evidence_records)?;
        writeln!(f, "  pages extracted  {}", self.pages)?;
        writeln!(f, "  listings {}  vendors {}  feedback {}  categories {}  identifiers {}",
            self.listings, self.vendors, self.feedback, self.categories, self.identifiers)
    }
}

/// One sales estimate: `{"market", "vendor", "sales", "revenue_usd", "method", ...}`.
#[derive(Serialize)]
#[serde(transparent)]
pub struct EstimateOut(pub sales::Estimate);

impl EstimateOut {
    /// The text form.
    pub fn text_line(&self) -> String {
        let e = &self.0;
        let group = [&e.market, &e.vendor, &e.category, &e.origin, &e.destination, &e.month]
            .iter()
            .filter_map(|v| v.as_deref())
            .collect::<Vec<_>>()
            .join(" / ");
        // No sale priced (a counter without prices, or no --rates for BTC
        // prices): the revenue is unknown, not $0.00.
        let revenue = if !e.revenue_known() {
            "revenue n/a (no sale priced)".to_owned()
        } else {
            format!("revenue ${:.2} (lower ${:.2})", e.revenue_usd, e.revenue_usd_lower)
        };
        // Undated sales (no known first day) are said, and the first day
        // is not given: they may be older than any day shown.
        let undated = if e.undated_sales > 0.0 { format!("\tundated {:.1}", e.undated_sales) } else { String::new() };
        format!(
            "{group}\t{}\tsales {:.1} (lower {:.1})\t{revenue}\tunpriced {:.1} of lower{undated}\t{}..{}",
            e.method.as_str(),
            e.sales,
            e.sales_lower,
            e.unpriced_sales,
            sales::first_day_text(e),
            e.last_day
        )
    }
}

impl TextRow for EstimateOut {
    fn text(&self) -> String {
        self.text_line()
    }
}
