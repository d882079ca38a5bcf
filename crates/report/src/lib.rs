//! Reports: a self-contained HTML case report (and its tables as CSV) built
//! from stored facts and from inferences the caller has already made.
//!
//! **Invariant:** this crate computes no new facts. It selects, groups,
//! counts and formats what `store` holds, and lays out what the caller hands
//! it (sales estimates, scored links with their signals, traced money flows,
//! the methods and their measured error rates), each already computed by the
//! crates that own them (`sales`, `linking`, `chain`, through `case`). Every
//! row cites the evidence records (SHA-256) it rests on, and the evidence
//! index lists exactly the records cited, no more.
//!
//! [`build`] gathers a [`ReportData`]; [`render_html`] and [`write_csv`]
//! write it. A report may be scoped to some accounts ([`Scope`]): then every
//! table holds only rows of those accounts.
//!
//! Templates are minijinja with HTML auto-escaping: captured strings (titles,
//! vendor names, feedback) are hostile input and are never inserted raw.
//! Reports are reproducible: no wall-clock, sorted inputs.
#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use model::{Feedback, Listing, Records, Row, Vendor};
use store::{CaseStore, Filter, PageRow};

/// What went wrong building a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the case database failed.
    #[error("reading the case database: {0}")]
    Store(#[from] store::StoreError),
    /// The template failed (a bug).
    #[error("rendering the report template: {0}")]
    Template(#[from] minijinja::Error),
    /// Preparing figures for the report failed.
    #[error("preparing the report: {0}")]
    Data(String),
    /// `--vendor NAME` names no account of the case.
    #[error("no vendor account named {name:?} in the case (names as `dragnet vendors` lists them, or market/name as `dragnet links` prints)")]
    UnknownVendor {
        /// The name asked for.
        name: String,
    },
    /// Writing a CSV file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding a CSV row failed.
    #[error("{}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The CSV error.
        #[source]
        source: csv::Error,
    },
}

/// One evidence record, for the evidence index.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceEntry {
    /// SHA-256 hex.
    pub sha256: String,
    /// URL when known.
    pub url: Option<String>,
    /// Source name.
    pub source: Option<String>,
    /// Capture time, RFC 3339.
    pub captured_at: Option<String>,
    /// That time is the imported file's modification time (no capture time
    /// was given at import): when the file was last written, perhaps a copy's.
    pub captured_at_is_file_time: bool,
    /// The market its page was read as (extraction's), where known: two
    /// markets' captures can share a file name (`2020-09-17/page1.html`).
    pub market: Option<String>,
    /// What the evidence check ([`ReportOptions::integrity`]) found wrong
    /// with this record; `None` when it found nothing or none was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The evidence check made as the report was built (`dragnet verify`: every
/// record re-hashed, the custody chain checked), shown at the top of the
/// report so that a reader knows whether the evidence it cites was intact.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Integrity {
    /// Evidence (WARC) records read and re-hashed.
    pub records_checked: usize,
    /// Custody log entries checked.
    pub log_entries_checked: usize,
    /// Every problem found, each naming its file and place (the first
    /// [`Integrity::SHOWN`] are shown).
    pub problems: Vec<String>,
    /// Recoveries after killed writers the custody log records.
    pub recoveries: usize,
}

impl Integrity {
    /// Problems the report lists; the rest are counted.
    pub const SHOWN: usize = 50;
}

/// Report settings and the sections the caller computed.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Report title.
    pub title: String,
    /// Tool version to print.
    pub tool_version: String,
    /// Rows of listings to show per vendor account (0 = 10; all when the
    /// report is scoped to accounts).
    pub listings_per_vendor: usize,
    /// Only these accounts (a vendor report); `None`: the whole case.
    pub scope: Option<Scope>,
    /// Facts about accounts the caller knows beyond the stored rows (first
    /// and last seen, identifiers, listing summary), by account.
    pub accounts: Vec<AccountFacts>,
    /// Sales estimates computed by the caller (crate `sales`); the report
    /// only lays them out.
    pub sales: Option<SalesTables>,
    /// Links between accounts, scored by the caller (crate `linking`).
    pub links: LinksSection,
    /// Money flows traced by the caller (crate `chain`).
    pub flows: FlowsSection,
    /// The methods behind the report's inferences, with their parameters and
    /// measured error rates.
    pub methods: Vec<MethodEntry>,
    /// Stored feedback rows per (market, vendor as shown; `None`: the rows
    /// naming no vendor), counted by a caller that does not hold the rows (a
    /// case of millions); `None`: counted from [`Records::feedback`]. With a
    /// scope, `Records::feedback` still names the pages of the scope's
    /// feedback.
    pub feedback_counts: Option<BTreeMap<(String, Option<String>), u64>>,
    /// The evidence check made for this report; `None`: none was made (the
    /// report says so).
    pub integrity: Option<Integrity>,
}

/// The accounts a vendor report is about.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scope {
    /// The vendor name asked for.
    pub vendor: String,
    /// Its accounts: those with that name, and those joined to them.
    pub accounts: Vec<ScopeAccount>,
    /// How accounts were joined (one sentence).
    pub rule: String,
}

/// One account in a [`Scope`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScopeAccount {
    /// `market/name`.
    pub account: String,
    /// Market.
    pub market: String,
    /// Vendor name as shown.
    pub name: String,
    /// Why it is in the report (`name matches`, or the link that joins it).
    pub joined_by: String,
}

/// What the caller knows about one account beyond the stored rows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountFacts {
    /// Market.
    pub market: String,
    /// Vendor name as shown.
    pub name: String,
    /// First day observed.
    pub first_seen: Option<String>,
    /// Last day observed.
    pub last_seen: Option<String>,
    /// Distinct listings (method `listing_summary`).
    pub distinct_listings: Option<u64>,
    /// Median USD price over priced listing observations (`listing_summary`).
    pub median_price_usd: Option<f64>,
    /// PGP keys, BTC addresses and contacts tied to the account, each with
    /// the rows and evidence records that show it.
    pub identifiers: Vec<CitedIdentifier>,
}

/// An identifier with the rows and records that show it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CitedIdentifier {
    /// `pgp`, `btc`, `jabber`, ...
    pub kind: String,
    /// The value.
    pub value: String,
    /// Row ids.
    pub rows: Vec<String>,
    /// Evidence SHA-256 of those rows.
    pub evidence: Vec<String>,
}

/// Sales estimates to show, already computed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SalesTables {
    /// By market and vendor.
    pub by_vendor: Vec<SalesRow>,
    /// By month.
    pub by_month: Vec<SalesRow>,
    /// Each method's name and parameters (JSON text).
    pub methods: Vec<(String, String)>,
    /// Where USD figures came from (rate series, market rates).
    pub rates_note: String,
}

/// One estimate row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SalesRow {
    /// The group (`market / vendor`, or `YYYY-MM`).
    pub group: String,
    /// Method name.
    pub method: String,
    /// Central estimate of sales.
    pub sales: f64,
    /// Lower bound.
    pub sales_lower: f64,
    /// Central revenue, USD.
    pub revenue_usd: f64,
    /// Lower-bound revenue, USD.
    pub revenue_usd_lower: f64,
    /// Sales without a USD price.
    pub unpriced: f64,
    /// Sales whose first day is not known (they may be older than any day
    /// shown; the report had left the count out; found by a review).
    pub undated: f64,
    /// First and last sale day.
    pub days: String,
    /// How the central estimate was scaled.
    pub coverage_note: String,
    /// Evidence SHA-256 of the rows behind the estimate.
    pub evidence: Vec<String>,
}

impl SalesRow {
    /// False when the row has sales and none is priced (the HTML says n/a).
    pub fn revenue_known(&self) -> bool {
        !(self.sales_lower > 0.0 && self.unpriced >= self.sales_lower)
    }
}

/// The links section, already scored.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinksSection {
    /// The model that scored them (version and training hash); `None` when
    /// the case has no linking model (then `note` says what to do).
    pub model: Option<String>,
    /// Review threshold used.
    pub threshold: f64,
    /// One sentence about what is listed.
    pub note: String,
    /// The links.
    pub rows: Vec<LinkRow>,
}

/// One link between two accounts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkRow {
    /// `K-…`.
    pub id: String,
    /// First account.
    pub a: String,
    /// Second account.
    pub b: String,
    /// Calibrated probability.
    pub probability: f64,
    /// A hard identifier is shared.
    pub hard: bool,
    /// `hard` or `review`.
    pub status: String,
    /// Signals that fired (value above 0).
    pub signals: Vec<SignalRow>,
    /// `confirmed`, `rejected` or `undecided`.
    pub decision: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When (RFC 3339).
    pub decided_at: Option<String>,
    /// Why, in the analyst's words.
    pub why: Option<String>,
}

/// One signal of a link.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SignalRow {
    /// Signal name.
    pub name: String,
    /// Value in [0, 1].
    pub value: f64,
    /// Weight × value in the model's logit.
    pub contribution: f64,
    /// A hard identifier.
    pub hard: bool,
    /// What matched.
    pub detail: String,
    /// Row ids that show it.
    pub rows: Vec<String>,
    /// Evidence SHA-256 of those rows.
    pub evidence: Vec<String>,
}

/// The money-flows section, already traced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowsSection {
    /// The case has an imported chain.
    pub available: bool,
    /// One sentence: what was traced, or why nothing was.
    pub note: String,
    /// The chain (network, blocks, tip).
    pub chain: String,
    /// The trace policy and its bounds.
    pub policy: String,
    /// One entry per address traced.
    pub rows: Vec<FlowAddress>,
    /// Addresses the accounts show that the chain does not hold.
    pub not_in_chain: Vec<AddressRef>,
}

/// An address shown by an account and what a forward trace from it reached.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowAddress {
    /// The address.
    pub address: String,
    /// Accounts whose pages show it.
    pub accounts: Vec<String>,
    /// Evidence SHA-256 of the pages that show it.
    pub evidence: Vec<String>,
    /// Its cluster (`cluster:N`).
    pub cluster: String,
    /// Traced outputs (edges) in the trace.
    pub edges: usize,
    /// The trace hit its edge limit.
    pub truncated: bool,
    /// Tagged clusters reached.
    pub reached: Vec<FlowReached>,
}

/// A tagged cluster a trace reached.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowReached {
    /// `cluster:N`.
    pub cluster: String,
    /// Tag labels.
    pub labels: Vec<String>,
    /// Tag categories.
    pub categories: Vec<String>,
    /// Where the tags come from (source, and evidence when given).
    pub tag_sources: Vec<String>,
    /// Traced satoshis into it.
    pub traced_sats: u64,
    /// The same in BTC, as text.
    pub traced_btc: String,
    /// The transactions whose outputs carried it.
    pub txs: Vec<FlowTx>,
}

/// A transaction output on a traced path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowTx {
    /// Txid.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Block height.
    pub height: u32,
    /// Traced BTC, as text.
    pub traced_btc: String,
}

/// An address and the records that show it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AddressRef {
    /// The address.
    pub address: String,
    /// Accounts showing it.
    pub accounts: Vec<String>,
    /// Evidence SHA-256.
    pub evidence: Vec<String>,
}

/// A method used in the report, for the methods appendix.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MethodEntry {
    /// Method name (`feedback_count`, `linking-logreg-1`, `multi_input`...).
    pub name: String,
    /// What it does in this report.
    pub used_for: String,
    /// Its parameters as used.
    pub parameters: String,
    /// What the case itself records about it (training size, custody entry).
    pub in_case: Vec<String>,
    /// Measured error rates and comparisons, each with where it was measured.
    pub measurements: Vec<Measurement>,
    /// Why there is no measurement, when there is none.
    pub unmeasured: Option<String>,
}

/// One stored measurement of a method.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measurement {
    /// What was measured.
    pub figure: String,
    /// The figure, as stated where it was measured.
    pub value: String,
    /// On what data.
    pub measured_on: String,
    /// Where it is written down (file and section).
    pub source: String,
    /// The command that measured it.
    pub command: String,
}

/// Summary counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Evidence records in the case.
    pub evidence_in_case: usize,
    /// Evidence records cited by this report.
    pub evidence_cited: usize,
    /// Vendor accounts in the report.
    pub accounts: usize,
    /// Pages extracted (in scope: pages with a row of the accounts).
    pub pages: u64,
    /// Listing observations.
    pub listings: u64,
    /// Vendor observations.
    pub vendors: u64,
    /// Feedback entries.
    pub feedback: u64,
    /// Identifiers.
    pub identifiers: u64,
}

/// The Markets row of the pages no market was recognised in.
pub const NO_MARKET: &str = "(no market recognised)";

/// Pages and rows per market.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MarketRow {
    /// Market.
    pub market: String,
    /// Pages.
    pub pages: u64,
    /// Listing observations.
    pub listings: usize,
    /// Vendor accounts.
    pub vendors: usize,
    /// Feedback entries.
    pub feedback: usize,
}

/// One vendor account's dossier.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dossier {
    /// `market/name`.
    pub account: String,
    /// Market.
    pub market: String,
    /// Vendor name.
    pub name: String,
    /// Why it is in a vendor report.
    pub joined_by: Option<String>,
    /// First vendor row id (its first listing row's when it has no vendor row).
    pub id: String,
    /// Listing observations.
    pub listings: usize,
    /// Distinct listings (`listing_summary`), when known.
    pub distinct_listings: Option<u64>,
    /// Median USD price (`listing_summary`), when known.
    pub median_price_usd: Option<f64>,
    /// Feedback entries naming the account.
    pub feedback: usize,
    /// Largest sales count the market showed on the profile.
    pub sales: Option<u64>,
    /// First day observed.
    pub first_seen: Option<String>,
    /// Last day observed.
    pub last_seen: Option<String>,
    /// PGP fingerprints on the profile rows.
    pub pgp: Vec<String>,
    /// Identifiers tied to the account.
    pub identifiers: Vec<CitedIdentifier>,
    /// Evidence SHA-256 of the vendor profile rows (of its listing rows
    /// when it has none).
    pub evidence: Vec<String>,
}

/// Vendor accounts that show one key.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SharedKey {
    /// Fingerprint.
    pub fingerprint: String,
    /// `name on market`.
    pub accounts: Vec<String>,
}

/// One identifier value of the case.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdentRow {
    /// Kind.
    pub kind: String,
    /// Value.
    pub value: String,
    /// Pages showing it.
    pub pages: usize,
    /// First row id.
    pub first_id: String,
    /// Evidence SHA-256 of the first row.
    pub evidence: String,
}

/// One listing observation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListingRow {
    /// Row id.
    pub id: String,
    /// Market.
    pub market: String,
    /// Vendor.
    pub vendor: String,
    /// Title.
    pub title: String,
    /// Price as shown.
    pub price: String,
    /// Evidence SHA-256.
    pub evidence: String,
    /// Profile and rule.
    pub rule: String,
}

/// How the Listings section chose its rows: the first `per_account` rows of
/// each vendor account (market and vendor name as shown, trimmed; the rows
/// naming no vendor are one group per market) in order of market, title and
/// row id, or every row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListingsShown {
    /// Rows shown.
    pub shown: usize,
    /// Listing observations in the report (the summary's count).
    pub total: usize,
    /// At most this many rows per account; `None`: all (a vendor report).
    pub per_account: Option<usize>,
    /// Accounts with listing rows.
    pub accounts: usize,
    /// Accounts with more rows than shown.
    pub accounts_cut: usize,
    /// The section's note, saying the above in words.
    pub note: String,
}

impl ListingsShown {
    fn new(shown: usize, total: usize, per_account: Option<usize>, counts: &BTreeMap<(String, String), usize>) -> Self {
        let accounts = counts.len();
        let accounts_cut = per_account.map_or(0, |n| counts.values().filter(|&&c| c > n).count());
        let order = "in order of market, title and row id";
        let s = |n: usize, one: &str, many: &str| format!("{} {}", thousands(n as u64), if n == 1 { one } else { many });
        let note = match per_account {
            None => format!("All {} of the report's accounts, {order}.", s(total, "listing observation", "listing observations")),
            Some(n) if accounts_cut == 0 => format!(
                "All {}, {order} (the section shows at most the first {n} of each vendor account; none has more).",
                s(total, "listing observation", "listing observations")
            ),
            Some(n) => format!(
                "{} of {} shown: the first {n} of each vendor account (market and vendor name as shown; rows that name no vendor \
                 are one group per market), {order}. {} of the {} with listings {} more; the rows left out are in the case \
                 (dragnet listings --market MARKET --vendor NAME) and in a vendor's report (dragnet report --vendor NAME).",
                thousands(shown as u64),
                s(total, "listing observation", "listing observations"),
                thousands(accounts_cut as u64),
                s(accounts, "account", "accounts"),
                if accounts_cut == 1 { "has" } else { "have" },
            ),
        };
        ListingsShown { shown, total, per_account, accounts, accounts_cut, note }
    }
}

/// `n` with a comma every three digits (`126,292`).
fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::with_capacity(d.len() + d.len() / 3);
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Everything a report shows: the input of [`render_html`] and [`write_csv`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReportData {
    /// Title.
    pub title: String,
    /// Tool version.
    pub tool_version: String,
    /// The accounts, for a vendor report.
    pub scope: Option<Scope>,
    /// Summary counts.
    pub counts: Counts,
    /// Per market.
    pub markets: Vec<MarketRow>,
    /// One per account.
    pub dossiers: Vec<Dossier>,
    /// Keys shown by more than one account.
    pub shared_keys: Vec<SharedKey>,
    /// Identifiers (whole-case reports; a vendor report lists them per dossier).
    pub identifiers: Vec<IdentRow>,
    /// Listings.
    pub listings: Vec<ListingRow>,
    /// Which listing observations [`ReportData::listings`] holds, and why.
    pub listings_shown: ListingsShown,
    /// Sales estimates.
    pub sales: Option<SalesTables>,
    /// Links.
    pub links: LinksSection,
    /// Money flows.
    pub flows: FlowsSection,
    /// Methods appendix.
    pub methods: Vec<MethodEntry>,
    /// Exactly the cited evidence records.
    pub evidence_index: Vec<EvidenceEntry>,
    /// The evidence check made for this report.
    pub integrity: Option<Integrity>,
    /// Cited records the check found a problem with.
    pub cited_damaged: usize,
}

/// `(market, trimmed name)`: how rows are matched to accounts (as crate
/// `linking` groups them: names are not case-folded).
fn key(market: &str, name: &str) -> (String, String) {
    (market.to_owned(), name.trim().to_owned())
}

fn ev_of(p: &Option<model::Provenance>) -> Option<String> {
    p.as_ref().map(|p| p.evidence.to_hex())
}

/// Gathers the report: the case's rows (filtered to the scope's accounts
/// when there is one; the caller has read them once for every section) and
/// the caller's sections, and the index of exactly the evidence records the
/// rows cite. `pages` are the store's page rows.
pub fn build(rows: &Records<'_>, pages: &[PageRow], evidence: &[EvidenceEntry], opts: &ReportOptions) -> Result<ReportData, ReportError> {
    let in_scope: Option<BTreeSet<(String, String)>> =
        opts.scope.as_ref().map(|s| s.accounts.iter().map(|a| key(&a.market, &a.name)).collect());
    let keep = |market: &str, vendor: Option<&str>| match (&in_scope, vendor) {
        (None, _) => true,
        (Some(set), Some(v)) => set.contains(&key(market, v)),
        (Some(_), None) => false,
    };
    let listings: Vec<&Row<'_, Listing>> = rows.listings.iter().filter(|l| keep(&l.record.market, l.record.vendor.as_deref())).collect();
    let vendors: Vec<&Row<'_, Vendor>> = rows.vendors.iter().filter(|v| keep(&v.record.market, Some(&v.record.name))).collect();
    let feedback: Vec<&Row<'_, Feedback>> =
        rows.feedback.iter().filter(|f| keep(&f.record.market, f.record.vendor.as_deref())).collect();
    let facts: BTreeMap<(String, String), &AccountFacts> = opts
        .accounts
        .iter()
        .filter(|a| keep(&a.market, Some(&a.name)))
        .map(|a| (key(&a.market, &a.name), a))
        .collect();

    // Pages: all extracted pages, or those holding a row of the scope.
    let scoped_pages: Option<BTreeSet<String>> = in_scope.as_ref().map(|_| {
        listings
            .iter()
            .filter_map(|l| ev_of(&l.record.provenance))
            .chain(vendors.iter().filter_map(|v| ev_of(&v.record.provenance)))
            .chain(feedback.iter().filter_map(|f| ev_of(&f.record.provenance)))
            .collect()
    });
    let pages: Vec<&PageRow> = pages
        .iter()
        .filter(|p| scoped_pages.as_ref().is_none_or(|s| s.contains(&p.evidence.to_hex())))
        .collect();

    let mut markets: BTreeMap<String, MarketRow> = BTreeMap::new();
    let mut bump = |m: &str, f: &dyn Fn(&mut MarketRow)| {
        let r = markets.entry(m.to_owned()).or_insert_with(|| MarketRow { market: m.to_owned(), ..MarketRow::default() });
        f(r);
    };
    // A stored page no market was recognised in (a README, a licence, an
    // unknown page) is counted too, so the rows add up to the pages stored.
    for p in &pages {
        bump(p.market.as_deref().unwrap_or(NO_MARKET), &|r| r.pages += 1);
    }
    for l in &listings {
        bump(&l.record.market, &|r| r.listings += 1);
    }
    let mut accounts: BTreeSet<(String, String)> = vendors.iter().map(|v| key(&v.record.market, &v.record.name)).collect();
    accounts.extend(listings.iter().filter_map(|l| l.record.vendor.as_deref().map(|v| key(&l.record.market, v))));
    accounts.extend(facts.keys().cloned());
    if let Some(s) = &opts.scope {
        accounts.extend(s.accounts.iter().map(|a| key(&a.market, &a.name)));
    }
    for (m, _) in &accounts {
        bump(m, &|r| r.vendors += 1);
    }
    // Feedback rows per (market, vendor), as the caller counted them or
    // from the rows.
    let mut feedback_rows: BTreeMap<(&str, Option<&str>), u64> = BTreeMap::new();
    match &opts.feedback_counts {
        Some(counts) => {
            for ((m, v), n) in counts {
                if keep(m, v.as_deref()) {
                    *feedback_rows.entry((m, v.as_deref())).or_default() += n;
                }
            }
        }
        None => {
            for f in &feedback {
                *feedback_rows.entry((&f.record.market, f.record.vendor.as_deref())).or_default() += 1;
            }
        }
    }
    for (&(m, _), &n) in &feedback_rows {
        bump(m, &|r| r.feedback += n as usize);
    }

    // One dossier per account: counts of its stored rows, its profile rows'
    // evidence, and the caller's facts.
    let mut listing_count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for l in &listings {
        if let Some(v) = &l.record.vendor {
            *listing_count.entry(key(&l.record.market, v)).or_default() += 1;
        }
    }
    let mut feedback_count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (&(m, v), &n) in &feedback_rows {
        if let Some(v) = v {
            *feedback_count.entry(key(m, v)).or_default() += n as usize;
        }
    }
    let joined: BTreeMap<(String, String), &ScopeAccount> = opts
        .scope
        .iter()
        .flat_map(|s| s.accounts.iter())
        .map(|a| (key(&a.market, &a.name), a))
        .collect();
    let mut dossiers: BTreeMap<(String, String), Dossier> = accounts
        .iter()
        .map(|k| {
            let f = facts.get(k);
            let d = Dossier {
                account: format!("{}/{}", k.0, k.1),
                market: k.0.clone(),
                name: k.1.clone(),
                joined_by: joined.get(k).map(|a| a.joined_by.clone()),
                listings: listing_count.get(k).copied().unwrap_or(0),
                feedback: feedback_count.get(k).copied().unwrap_or(0),
                first_seen: f.and_then(|f| f.first_seen.clone()),
                last_seen: f.and_then(|f| f.last_seen.clone()),
                distinct_listings: f.and_then(|f| f.distinct_listings),
                median_price_usd: f.and_then(|f| f.median_price_usd),
                identifiers: f.map(|f| f.identifiers.clone()).unwrap_or_default(),
                ..Dossier::default()
            };
            (k.clone(), d)
        })
        .collect();
    for v in &vendors {
        let Some(d) = dossiers.get_mut(&key(&v.record.market, &v.record.name)) else { continue };
        if d.id.is_empty() {
            d.id = v.id.to_string();
        }
        if let Some(s) = v.record.sales {
            d.sales = Some(d.sales.map_or(s, |x| x.max(s)));
        }
        if let Some(fp) = &v.record.pgp_fingerprint {
            if !d.pgp.contains(fp) {
                d.pgp.push(fp.clone());
            }
        }
        if let Some(e) = ev_of(&v.record.provenance) {
            if !d.evidence.contains(&e) {
                d.evidence.push(e);
            }
        }
    }
    // An account with no profile row (a dataset's vendor, or one seen only
    // on listing pages) cites its listing rows instead.
    let no_profile: BTreeSet<(String, String)> = dossiers.iter().filter(|(_, d)| d.id.is_empty()).map(|(k, _)| k.clone()).collect();
    for l in &listings {
        let Some(k) = l.record.vendor.as_ref().map(|v| key(&l.record.market, v)).filter(|k| no_profile.contains(k)) else { continue };
        let Some(d) = dossiers.get_mut(&k) else { continue };
        if d.id.is_empty() {
            d.id = l.id.to_string();
        }
        if let Some(e) = ev_of(&l.record.provenance) {
            if !d.evidence.contains(&e) {
                d.evidence.push(e);
            }
        }
    }
    let mut dossiers: Vec<Dossier> = dossiers.into_values().collect();
    dossiers.sort_by(|a, b| b.listings.cmp(&a.listings).then(b.feedback.cmp(&a.feedback)).then(a.account.cmp(&b.account)));

    let mut by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in &dossiers {
        for fp in &d.pgp {
            by_key.entry(fp.clone()).or_default().insert(format!("{} on {}", d.name, d.market));
        }
    }
    let shared_keys: Vec<SharedKey> = by_key
        .into_iter()
        .filter(|(_, a)| a.len() > 1)
        .map(|(fingerprint, a)| SharedKey { fingerprint, accounts: a.into_iter().collect() })
        .collect();

    // The case's identifiers (a vendor report shows the accounts' own, in
    // their dossiers, rather than everything on pages they appear on).
    let mut identifier_rows = 0u64;
    let identifiers: Vec<IdentRow> = if opts.scope.is_some() {
        identifier_rows = dossiers.iter().map(|d| d.identifiers.len() as u64).sum();
        Vec::new()
    } else {
        let mut ident_map: BTreeMap<(String, String), IdentRow> = BTreeMap::new();
        for i in &rows.identifiers {
            identifier_rows += 1;
            let k = (i.record.kind.as_str().to_owned(), i.record.value.clone());
            let ev = ev_of(&i.record.provenance).unwrap_or_default();
            ident_map.entry(k.clone()).and_modify(|r| r.pages += 1).or_insert(IdentRow {
                kind: k.0,
                value: k.1,
                pages: 1,
                first_id: i.id.to_string(),
                evidence: ev,
            });
        }
        ident_map.into_values().collect()
    };

    let per_vendor = match (opts.listings_per_vendor, &opts.scope) {
        (0, Some(_)) => usize::MAX,
        (0, None) => 10,
        (n, _) => n,
    };
    // The section's order whatever order the caller read the rows in.
    let mut listings = listings;
    listings.sort_by(|a, b| (&a.record.market, &a.record.title, a.id).cmp(&(&b.record.market, &b.record.title, b.id)));
    let mut shown: BTreeMap<(String, String), usize> = BTreeMap::new();
    let listing_rows: Vec<ListingRow> = listings
        .iter()
        .filter(|l| {
            let n = shown.entry(key(&l.record.market, l.record.vendor.as_deref().unwrap_or_default())).or_default();
            *n += 1;
            *n <= per_vendor
        })
        .map(|l| ListingRow {
            id: l.id.to_string(),
            market: l.record.market.clone(),
            vendor: l.record.vendor.clone().unwrap_or_default(),
            title: l.record.title.clone(),
            price: l.record.price.as_ref().map(|p| format!("{} {}", p.amount, p.currency)).unwrap_or_default(),
            evidence: ev_of(&l.record.provenance).unwrap_or_default(),
            rule: l.record.provenance.as_ref().map(|p| format!("{} {}", p.profile, p.rule)).unwrap_or_default(),
        })
        .collect();
    let listings_shown = ListingsShown::new(listing_rows.len(), listings.len(), (per_vendor != usize::MAX).then_some(per_vendor), &shown);

    let mut data = ReportData {
        title: opts.title.clone(),
        tool_version: opts.tool_version.clone(),
        scope: opts.scope.clone(),
        counts: Counts {
            evidence_in_case: evidence.len(),
            evidence_cited: 0,
            accounts: dossiers.len(),
            pages: pages.len() as u64,
            listings: listings.len() as u64,
            vendors: vendors.len() as u64,
            feedback: feedback_rows.values().sum(),
            identifiers: identifier_rows,
        },
        markets: markets.into_values().collect(),
        dossiers,
        shared_keys,
        identifiers,
        listings: listing_rows,
        listings_shown,
        sales: opts.sales.clone(),
        links: opts.links.clone(),
        flows: opts.flows.clone(),
        methods: opts.methods.clone(),
        evidence_index: Vec::new(),
        integrity: None,
        cited_damaged: 0,
    };
    data.evidence_index = index_of(&data, evidence);
    data.counts.evidence_cited = data.evidence_index.len();
    data.integrity = opts.integrity.clone();
    data.cited_damaged = data.evidence_index.iter().filter(|e| e.problem.is_some()).count();
    Ok(data)
}

/// Every evidence digest a row of `data` cites, sorted.
pub fn cited(data: &ReportData) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for d in &data.dossiers {
        out.extend(d.evidence.iter().cloned());
        for i in &d.identifiers {
            out.extend(i.evidence.iter().cloned());
        }
    }
    out.extend(data.identifiers.iter().map(|i| i.evidence.clone()));
    out.extend(data.listings.iter().map(|l| l.evidence.clone()));
    if let Some(s) = &data.sales {
        for r in s.by_vendor.iter().chain(&s.by_month) {
            out.extend(r.evidence.iter().cloned());
        }
    }
    for l in &data.links.rows {
        for s in &l.signals {
            out.extend(s.evidence.iter().cloned());
        }
    }
    for f in &data.flows.rows {
        out.extend(f.evidence.iter().cloned());
    }
    for a in &data.flows.not_in_chain {
        out.extend(a.evidence.iter().cloned());
    }
    out.remove("");
    out
}

/// The index entries of the cited records, in evidence-store order; a cited
/// digest the store does not hold is listed as such (it should not happen).
fn index_of(data: &ReportData, evidence: &[EvidenceEntry]) -> Vec<EvidenceEntry> {
    let mut want = cited(data);
    let mut out: Vec<EvidenceEntry> = Vec::with_capacity(want.len());
    for e in evidence {
        if want.remove(&e.sha256) {
            out.push(e.clone());
        }
    }
    out.extend(want.into_iter().map(|sha256| EvidenceEntry {
        sha256,
        url: None,
        source: Some("not in this case's evidence store".into()),
        captured_at: None,
        captured_at_is_file_time: false,
        market: None,
        problem: None,
    }));
    out
}

/// Renders the report as one HTML document (no script, no external
/// resource; every captured string escaped).
pub fn render_html(data: &ReportData) -> Result<String, ReportError> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report.html", include_str!("../templates/report.html"))?;
    let tmpl = env.get_template("report.html")?;
    Ok(tmpl.render(data)?)
}

/// [`build`] over every row of `store` (read here).
pub fn build_from_store(store: &dyn CaseStore, evidence: &[EvidenceEntry], opts: &ReportOptions) -> Result<ReportData, ReportError> {
    fn rows<T>(stored: &[store::Stored<T>]) -> Vec<Row<'_, T>> {
        stored.iter().map(store::Stored::row).collect()
    }
    let all = Filter::default();
    let (listings, vendors, feedback, identifiers) = (store.listings(&all)?, store.vendors(&all)?, store.feedback(&all)?, store.identifiers(&all)?);
    let records = Records { listings: rows(&listings), vendors: rows(&vendors), feedback: rows(&feedback), identifiers: rows(&identifiers) };
    build(&records, &store.pages()?, evidence, opts)
}

/// Renders the case report of `store`'s rows as one HTML document
/// ([`build_from_store`], then [`render_html`]).
pub fn case_report_html(store: &dyn CaseStore, evidence: &[EvidenceEntry], opts: &ReportOptions) -> Result<String, ReportError> {
    render_html(&build_from_store(store, evidence, opts)?)
}

/// The CSV files [`write_csv`] writes, in order.
pub const CSV_FILES: [&str; 5] = ["vendors.csv", "sales.csv", "links.csv", "flows.csv", "evidence_index.csv"];

fn joined(v: &[String]) -> String {
    v.join(" ")
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// Writes the report's tables into `dir` (created if missing) as CSV
/// (RFC 4180: comma, `"` quoting, CRLF line ends, one header row):
/// [`CSV_FILES`]. Every row names the evidence SHA-256 it cites
/// (`evidence_sha256`, several separated by spaces). Returns the paths.
pub fn write_csv(data: &ReportData, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io { path: dir.to_owned(), source })?;
    let mut out = Vec::new();
    let mut table = |name: &str, header: &[&str], rows: Vec<Vec<String>>| -> Result<(), ReportError> {
        let path = dir.join(name);
        let err = |source| ReportError::Csv { path: path.clone(), source };
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_path(&path).map_err(err)?;
        w.write_record(header).map_err(err)?;
        for r in rows {
            w.write_record(r.iter().map(|c| model::formula_safe(c).into_owned())).map_err(err)?;
        }
        w.flush().map_err(|source| ReportError::Io { path: path.clone(), source })?;
        out.push(path);
        Ok(())
    };
    table(
        "vendors.csv",
        &[
            "account", "market", "name", "joined_by", "first_row", "listings", "distinct_listings", "median_price_usd", "feedback_rows",
            "sales_shown", "first_seen", "last_seen", "pgp_fingerprints", "identifiers", "evidence_sha256",
        ],
        data.dossiers
            .iter()
            .map(|d| {
                let mut ev: BTreeSet<&String> = d.evidence.iter().collect();
                ev.extend(d.identifiers.iter().flat_map(|i| i.evidence.iter()));
                vec![
                    d.account.clone(),
                    d.market.clone(),
                    d.name.clone(),
                    opt(&d.joined_by),
                    d.id.clone(),
                    d.listings.to_string(),
                    opt(&d.distinct_listings),
                    opt(&d.median_price_usd),
                    d.feedback.to_string(),
                    opt(&d.sales),
                    opt(&d.first_seen),
                    opt(&d.last_seen),
                    joined(&d.pgp),
                    d.identifiers.iter().map(|i| format!("{}:{}", i.kind, i.value)).collect::<Vec<_>>().join(" "),
                    ev.into_iter().cloned().collect::<Vec<_>>().join(" "),
                ]
            })
            .collect(),
    )?;
    let sales_rows = data
        .sales
        .iter()
        .flat_map(|s| s.by_vendor.iter().map(|r| ("by_vendor", r)).chain(s.by_month.iter().map(|r| ("by_month", r))))
        .map(|(t, r)| {
            vec![
                t.to_owned(),
                r.group.clone(),
                r.method.clone(),
                r.sales.to_string(),
                r.sales_lower.to_string(),
                // Empty when no sale of the row is priced: unknown, not 0.
                if r.revenue_known() { r.revenue_usd.to_string() } else { String::new() },
                if r.revenue_known() { r.revenue_usd_lower.to_string() } else { String::new() },
                r.unpriced.to_string(),
                r.undated.to_string(),
                r.days.clone(),
                r.coverage_note.clone(),
                joined(&r.evidence),
            ]
        })
        .collect();
    table(
        "sales.csv",
        &["table", "group", "method", "sales", "sales_lower", "revenue_usd", "revenue_usd_lower", "unpriced_sales", "undated_sales", "days", "coverage_note", "evidence_sha256"],
        sales_rows,
    )?;
    table(
        "links.csv",
        &["link", "a", "b", "probability", "hard", "status", "signals", "decision", "decided_by", "decided_at", "why", "model", "evidence_sha256"],
        data.links
            .rows
            .iter()
            .map(|l| {
                let ev: BTreeSet<&String> = l.signals.iter().flat_map(|s| s.evidence.iter()).collect();
                vec![
                    l.id.clone(),
                    l.a.clone(),
                    l.b.clone(),
                    l.probability.to_string(),
                    l.hard.to_string(),
                    l.status.clone(),
                    l.signals.iter().map(|s| format!("{}={}", s.name, s.value)).collect::<Vec<_>>().join(" "),
                    l.decision.clone(),
                    opt(&l.decided_by),
                    opt(&l.decided_at),
                    opt(&l.why),
                    opt(&data.links.model),
                    ev.into_iter().cloned().collect::<Vec<_>>().join(" "),
                ]
            })
            .collect(),
    )?;
    // One row per address and tagged cluster reached; an address that
    // reached none has one row with the reached columns empty.
    let mut flow_rows = Vec::new();
    for f in &data.flows.rows {
        let base = |r: Option<&FlowReached>| {
            vec![
                f.address.clone(),
                f.accounts.join(" "),
                f.cluster.clone(),
                r.map(|r| r.cluster.clone()).unwrap_or_default(),
                r.map(|r| r.labels.join("; ")).unwrap_or_default(),
                r.map(|r| r.categories.join("; ")).unwrap_or_default(),
                r.map(|r| r.traced_sats.to_string()).unwrap_or_default(),
                r.map(|r| r.traced_btc.clone()).unwrap_or_default(),
                r.map(|r| r.txs.iter().map(|t| format!("{}:{}", t.txid, t.vout)).collect::<Vec<_>>().join(" ")).unwrap_or_default(),
                r.map(|r| r.txs.iter().map(|t| t.height.to_string()).collect::<Vec<_>>().join(" ")).unwrap_or_default(),
                data.flows.policy.clone(),
                f.truncated.to_string(),
                joined(&f.evidence),
            ]
        };
        if f.reached.is_empty() {
            flow_rows.push(base(None));
        }
        for r in &f.reached {
            flow_rows.push(base(Some(r)));
        }
    }
    table(
        "flows.csv",
        &[
            "address", "accounts", "address_cluster", "reached_cluster", "labels", "categories", "traced_sats", "traced_btc", "outputs",
            "heights", "policy", "truncated", "evidence_sha256",
        ],
        flow_rows,
    )?;
    table(
        "evidence_index.csv",
        &["sha256", "market", "url", "source", "captured_at", "captured_at_is_file_time", "check"],
        data.evidence_index
            .iter()
            .map(|e| {
                let check = match (&data.integrity, &e.problem) {
                    (None, _) => "not checked".to_owned(),
                    (Some(_), None) => "intact".to_owned(),
                    (Some(_), Some(p)) => p.clone(),
                };
                vec![e.sha256.clone(), opt(&e.market), opt(&e.url), opt(&e.source), opt(&e.captured_at), e.captured_at_is_file_time.to_string(), check]
            })
            .collect(),
    )?;
    Ok(out)
}
