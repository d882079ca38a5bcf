//! The case report: everything crate `report` lays out, computed here by the
//! crates that own each inference (`sales` estimates, `linking` links and
//! operators, `chain` clusters and traces), for the whole case or for one
//! vendor and the accounts joined to it.
//!
//! The methods appendix quotes measured error rates from
//! `docs/error-rates.json` (embedded at build time), each figure with the
//! section of `docs/methods.md` that measured it and the command; the tests
//! below check every figure against that text and re-derive the Bitcoin
//! figures from the shared regtest chain.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use linking::{Account, Decision, Link};
use report::{
    AccountFacts, AddressRef, CitedIdentifier, EvidenceEntry, FlowAddress, FlowReached, FlowTx, FlowsSection, LinkRow, LinksSection,
    Measurement, MethodEntry, ReportData, ReportError, ReportOptions, SalesRow, SalesTables, Scope, ScopeAccount, SignalRow,
};
use sales::{Estimate, GroupBy, Method, Rates, Unit};
use serde::Deserialize;
use store::{CaseStore, Filter};

use crate::links::{decision_word, scored_links, LinkDecision};
use crate::sales::{FeedbackRead, ListingOrder};
use crate::{Case, CaseError, TOOL_VERSION};

/// What report to make (the CLI's `dragnet report` and the server's
/// download both build one).
#[derive(Debug, Clone, Copy)]
pub struct ReportRequest<'a> {
    /// Title on the first page.
    pub title: &'a str,
    /// Only this vendor: its accounts on every market (name compared without
    /// case), or one account given as `market/name`, and every account
    /// joined to them as `dragnet operator` joins accounts. `None`: the
    /// whole case.
    pub vendor: Option<&'a str>,
    /// USD rates for sales estimates.
    pub rates: &'a Rates,
}

/// The measurements file the methods appendix quotes.
const ERROR_RATES: &str = include_str!("../../../docs/error-rates.json");

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorRates {
    pub(crate) measurements: Vec<Measured>,
    pub(crate) unmeasured: Vec<Unmeasured>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Measured {
    pub(crate) method: String,
    pub(crate) figure: String,
    pub(crate) value: String,
    pub(crate) measured_on: String,
    pub(crate) doc: String,
    pub(crate) section: String,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) quote: String,
    pub(crate) command: String,
    #[cfg_attr(not(test), allow(dead_code))]
    #[serde(default)]
    pub(crate) eval: Vec<EvalCheck>,
}

#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Deserialize)]
pub(crate) struct EvalCheck {
    pub(crate) coinjoin_filter: bool,
    pub(crate) pointer: String,
    pub(crate) shown: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Unmeasured {
    pub(crate) method: String,
    pub(crate) why: String,
    pub(crate) doc: String,
    pub(crate) section: String,
}

pub(crate) fn error_rates() -> Result<ErrorRates, ReportError> {
    serde_json::from_str(ERROR_RATES).map_err(|e| ReportError::Data(format!("docs/error-rates.json (built in): {e}")))
}

fn data_err(e: CaseError) -> ReportError {
    ReportError::Data(e.to_string())
}

/// Row id -> evidence digest (a row id carries the first 16 hex digits of
/// its record's SHA-256).
struct Cites {
    /// Every record's digest, sorted (so record numbers sort as digests do).
    digests: Vec<String>,
    /// Record numbers by the first 16 hex digits of their digests.
    by_prefix: BTreeMap<String, Vec<usize>>,
}

impl Cites {
    fn new(entries: &[EvidenceEntry]) -> Cites {
        let mut digests: Vec<String> = entries.iter().map(|e| e.sha256.clone()).collect();
        digests.sort();
        digests.dedup();
        let mut by_prefix: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, d) in digests.iter().enumerate() {
            if let Some(p) = d.get(..16) {
                by_prefix.entry(p.to_owned()).or_default().push(i);
            }
        }
        Cites { digests, by_prefix }
    }

    /// The numbers of the records behind row `id`.
    fn records_of(&self, id: &str) -> &[usize] {
        id.split('-').nth(1).and_then(|p| self.by_prefix.get(p)).map_or(&[], Vec::as_slice)
    }

    /// The digests of records numbered `records`, in order.
    fn digests<'s>(&self, records: impl IntoIterator<Item = &'s usize>) -> Vec<String> {
        records.into_iter().filter_map(|&i| self.digests.get(i).cloned()).collect()
    }

    /// The digests of the records behind `rows` (sorted, once each).
    fn of<'s>(&self, rows: impl IntoIterator<Item = &'s String>) -> Vec<String> {
        let records: BTreeSet<usize> = rows.into_iter().flat_map(|r| self.records_of(r)).copied().collect();
        self.digests(&records)
    }
}

fn joins(l: &Link, decisions: &BTreeMap<String, LinkDecision>) -> Option<String> {
    match decisions.get(&l.id) {
        Some(d) if d.decision == Decision::Confirmed => Some(format!("confirmed by {} at {}", d.operator, d.at)),
        Some(_) => None,
        None if l.hard => Some("hard identifier, not rejected".into()),
        None => None,
    }
}

/// The accounts of a vendor report: those named `vendor` (or the account
/// `market/name`), and the operator groups (`linking::operators`: hard links
/// not rejected, confirmed links) that hold them.
fn scope_of(
    vendor: &str,
    accounts: &[Account],
    links: &[Link],
    decisions: &BTreeMap<String, LinkDecision>,
    have_model: bool,
) -> Result<Scope, ReportError> {
    let want = vendor.trim();
    let mut seeds: Vec<&Account> = accounts.iter().filter(|a| a.name.trim().eq_ignore_ascii_case(want)).collect();
    let by_id = seeds.is_empty();
    if by_id {
        seeds.extend(accounts.iter().find(|a| a.id.eq_ignore_ascii_case(want)));
    }
    if seeds.is_empty() {
        return Err(ReportError::UnknownVendor { name: vendor.to_owned() });
    }
    let decided: BTreeMap<String, Decision> = decisions.iter().map(|(k, d)| (k.clone(), d.decision)).collect();
    let seed_ids: BTreeSet<&str> = seeds.iter().map(|a| a.id.as_str()).collect();
    let mut members: BTreeSet<String> = seed_ids.iter().map(|s| (*s).to_owned()).collect();
    for g in linking::operators(links, &decided) {
        if g.iter().any(|a| seed_ids.contains(a.as_str())) {
            members.extend(g);
        }
    }
    let mut out = Vec::new();
    for id in &members {
        let Some(acc) = accounts.iter().find(|a| &a.id == id) else { continue };
        let joined_by = if seed_ids.contains(id.as_str()) {
            if by_id { "the account asked for".to_owned() } else { format!("named {}", acc.name) }
        } else {
            links
                .iter()
                .filter(|l| (&l.a == id && members.contains(&l.b)) || (&l.b == id && members.contains(&l.a)))
                .find_map(|l| {
                    let other = if &l.a == id { &l.b } else { &l.a };
                    joins(l, decisions).map(|why| format!("link {} to {other} ({why})", l.id))
                })
                .unwrap_or_else(|| "joined through the accounts above".to_owned())
        };
        out.push(ScopeAccount { account: acc.id.clone(), market: acc.market.clone(), name: acc.name.clone(), joined_by });
    }
    let rule = if have_model {
        format!(
            "Its accounts are those named {want:?} on any market (case aside) and every account joined to them as `dragnet operator` \
             joins accounts: by a hard link (same PGP key) no analyst rejected, or by a link an analyst confirmed. A link that only \
             scores above the review threshold joins nothing; it is listed under Links for review."
        )
    } else {
        format!(
            "Its accounts are those named {want:?} on any market (case aside). The case has no linking model, so no linked account is \
             joined (`dragnet link train`, or `dragnet links`, which trains the default model, stores one)."
        )
    };
    Ok(Scope { vendor: want.to_owned(), accounts: out, rule })
}

/// A listed link's row; `threshold` is the model's review threshold.
fn link_row(l: &Link, threshold: f64, decisions: &BTreeMap<String, LinkDecision>, cites: &Cites) -> LinkRow {
    let d = decisions.get(&l.id);
    LinkRow {
        id: l.id.clone(),
        a: l.a.clone(),
        b: l.b.clone(),
        probability: l.probability,
        hard: l.hard,
        // A link below the threshold is listed for a market-verified claim
        // or an analyst's decision, not for review on its score.
        status: if l.hard {
            "hard"
        } else if l.probability >= threshold {
            "review"
        } else {
            "below threshold"
        }
        .to_owned(),
        signals: l
            .evidence
            .iter()
            .zip(&l.score.contributions)
            .filter(|(e, _)| e.value > 0.0)
            .map(|(e, c)| SignalRow {
                name: e.signal.clone(),
                value: e.value,
                contribution: c.contribution,
                hard: e.hard,
                detail: e.detail.clone(),
                rows: e.sources.clone(),
                evidence: cites.of(&e.sources),
            })
            .collect(),
        decision: decision_word(d).to_owned(),
        decided_by: d.map(|d| d.operator.clone()),
        decided_at: d.map(|d| d.at.clone()),
        why: d.map(|d| d.why.clone()),
    }
}

fn same_account(market: &str, vendor: &str, acc: &(String, String)) -> bool {
    market == acc.0 && vendor.trim() == acc.1
}

/// A month (year, month) of sales, or None for "undated": sales whose
/// first day is not known (`GroupBy::Month` puts them apart).
type Month = Option<(i32, u32)>;

/// The months a unit's sale days touch, as `GroupBy::Month` groups them.
fn months(u: &Unit) -> impl Iterator<Item = Month> {
    use chrono::Datelike;
    let (first, last) = ((u.days.earliest.year(), u.days.earliest.month()), (u.days.latest.year(), u.days.latest.month()));
    let dated = std::iter::successors(Some(first), |&(y, m)| Some(if m == 12 { (y + 1, 1) } else { (y, m + 1) }))
        .take_while(move |&ym| ym <= last)
        .map(Some);
    let (dated, undated) = if u.start_unknown { (None, Some(None)) } else { (Some(dated), None) };
    dated.into_iter().flatten().chain(undated)
}

/// The label `GroupBy::Month` gives a [`Month`].
fn month_label(m: Month) -> String {
    match m {
        Some((y, m)) => format!("{y:04}-{m:02}"),
        None => sales::UNDATED_MONTH.to_owned(),
    }
}

fn sales_rows(estimates: &[Estimate], group: impl Fn(&Estimate) -> String, evidence: impl Fn(&Estimate) -> Vec<String>) -> Vec<SalesRow> {
    estimates
        .iter()
        .map(|e| SalesRow {
            group: group(e),
            method: e.method.as_str().to_owned(),
            sales: e.sales,
            sales_lower: e.sales_lower,
            revenue_usd: e.revenue_usd,
            revenue_usd_lower: e.revenue_usd_lower,
            unpriced: e.unpriced_sales,
            undated: e.undated_sales,
            days: format!("{}..{}", sales::first_day_text(e), e.last_day),
            coverage_note: e.coverage_note.clone(),
            evidence: evidence(e),
        })
        .collect()
}

/// The sales units of a report's accounts, taken in parts and kept as a
/// table with the records behind each (account, method) and (month,
/// method), not unit by unit: a case of millions of feedback rows has
/// millions of units, each naming its rows.
#[derive(Default)]
struct CitedUnits {
    table: sales::UnitTableBuilder,
    units: usize,
    methods: BTreeSet<Method>,
    /// Record numbers ([`Cites`]) by (market, vendor, method).
    by_account: BTreeMap<(String, String, Method), BTreeSet<usize>>,
    /// Record numbers by (month, method).
    by_month: BTreeMap<(Month, Method), BTreeSet<usize>>,
}

impl CitedUnits {
    /// `units` as a part of their own (built on the thread that estimated
    /// them; see [`CitedUnits::merge`]).
    fn of(units: &[Unit], cites: &Cites) -> CitedUnits {
        // A part's units are of a few accounts: keyed borrowed, made owned once.
        let mut by_account: BTreeMap<(&str, &str, Method), BTreeSet<usize>> = BTreeMap::new();
        let mut by_month: BTreeMap<(Month, Method), BTreeSet<usize>> = BTreeMap::new();
        let mut methods = BTreeSet::new();
        let mut records: Vec<usize> = Vec::new();
        for u in units {
            records.clear();
            records.extend(u.sources.iter().flat_map(|s| cites.records_of(s)));
            records.sort_unstable();
            records.dedup();
            by_account.entry((&u.market, &u.vendor, u.method)).or_default().extend(&records);
            for m in months(u) {
                by_month.entry((m, u.method)).or_default().extend(&records);
            }
            methods.insert(u.method);
        }
        let mut table = sales::UnitTableBuilder::with_room(units.len());
        table.add(units);
        CitedUnits {
            table,
            units: units.len(),
            methods,
            by_account: by_account.into_iter().map(|((m, v, method), r)| ((m.to_owned(), v.to_owned(), method), r)).collect(),
            by_month,
        }
    }

    /// Takes in a part of other accounts (parts merged in a fixed order give
    /// the same table whatever thread built which).
    fn merge(&mut self, part: CitedUnits) {
        self.table.merge(part.table);
        self.units += part.units;
        self.methods.extend(part.methods);
        for (k, r) in part.by_account {
            self.by_account.entry(k).or_default().extend(r);
        }
        for (k, r) in part.by_month {
            self.by_month.entry(k).or_default().extend(r);
        }
    }
}

/// Sales tables over `cited` (units already restricted to the report's
/// accounts; coverage came from the whole market), each row citing the
/// records of the rows behind it. `None` when there are no units.
fn sales_tables(cited: CitedUnits, rates: &Rates, cites: &Cites) -> Option<SalesTables> {
    if cited.units == 0 {
        return None;
    }
    let CitedUnits { table, methods, by_account, by_month, .. } = cited;
    let by_month: BTreeMap<(String, Method), BTreeSet<usize>> =
        by_month.into_iter().map(|((m, method), r)| ((month_label(m), method), r)).collect();
    let table = table.finish();
    let mut by_vendor = table.aggregate(GroupBy::Vendor, None, None);
    by_vendor.sort_by(|a, b| b.sales.total_cmp(&a.sales).then_with(|| a.vendor.cmp(&b.vendor)));
    let monthly = table.aggregate(GroupBy::Month, None, None);
    let series: Vec<String> = rates.all().map(|s| format!("{} from {}", s.currency, s.source)).collect();
    let rates_note = if series.is_empty() {
        "prices shown in USD (or with the market's own USD price); no rate series given, so other currencies are unpriced".to_owned()
    } else {
        format!(
            "prices shown in USD or with the market's own USD price as shown; otherwise converted at the daily rate of the sale day ({})",
            series.join("; ")
        )
    };
    Some(SalesTables {
        by_vendor: sales_rows(
            &by_vendor,
            |e| format!("{} / {}", e.market.as_deref().unwrap_or("?"), e.vendor.as_deref().unwrap_or("?")),
            |e| {
                let k = (e.market.clone().unwrap_or_default(), e.vendor.clone().unwrap_or_default(), e.method);
                cites.digests(by_account.get(&k).into_iter().flatten())
            },
        ),
        by_month: sales_rows(
            &monthly,
            |e| e.month.clone().unwrap_or_default(),
            |e| cites.digests(by_month.get(&(e.month.clone().unwrap_or_default(), e.method)).into_iter().flatten()),
        ),
        methods: methods.into_iter().map(|m| (m.as_str().to_owned(), m.params().to_string())).collect(),
        rates_note,
    })
}

impl Case {
    /// The report as one HTML document: the whole case, or one vendor
    /// ([`ReportRequest::vendor`]); [`ReportError::UnknownVendor`] when no
    /// account has that name.
    pub fn report(&self, req: &ReportRequest<'_>) -> Result<String, ReportError> {
        report::render_html(&self.report_data(req)?)
    }

    /// Renders the whole-case report (HTML) with sales estimates (USD via
    /// `rates`); the same as [`Case::report`] without a vendor.
    pub fn report_html(&self, title: &str, rates: &Rates) -> Result<String, ReportError> {
        self.report(&ReportRequest { title, vendor: None, rates })
    }

    /// Everything the report shows (for HTML, PDF and CSV from one
    /// computation; see [`report::render_html`] and [`report::write_csv`]).
    pub fn report_data(&self, req: &ReportRequest<'_>) -> Result<ReportData, ReportError> {
        let markets: HashMap<model::Sha256, String> =
            self.store.pages()?.into_iter().filter_map(|p| Some((p.evidence, p.market?))).collect();
        // The evidence checked as `dragnet verify` checks it: a report says
        // whether what it cites is as it was captured.
        let check = self.verify();
        let mut damaged: HashMap<model::Sha256, String> = HashMap::new();
        for p in &check.problems {
            if let evidence::Location::Record { sha256: Some(sha), .. } = &p.location {
                damaged.entry(*sha).or_insert_with(|| p.what.clone());
            }
        }
        let mut integrity = report::Integrity {
            records_checked: check.records_checked,
            log_entries_checked: check.log_entries_checked,
            problems: check.problems.iter().map(|p| self.problem_text(p)).collect(),
            recoveries: 0,
        };
        // The rest of what `dragnet verify` checks: the case files logged by
        // digest (the linking model, mappings) and stored chain lookups.
        if let Ok(entries) = self.evidence.custody().entries() {
            integrity.recoveries = entries.iter().filter(|e| e.action == evidence::RECOVER).count();
            integrity.problems.extend(crate::verify_logged_files(&self.dir, &entries).iter().map(ToString::to_string));
            integrity.problems.extend(crate::verify_chain_lookups(&entries, &self.dir).1);
        }
        let entries: Vec<EvidenceEntry> = self
            .evidence
            .records()
            .into_iter()
            .map(|r| EvidenceEntry {
                sha256: r.sha256.to_hex(),
                url: r.url.clone(),
                source: r.sources.first().cloned(),
                captured_at: r.captured_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                captured_at_is_file_time: r.captured_at_is_file_time,
                market: markets.get(&r.sha256).cloned(),
                problem: damaged.get(&r.sha256).cloned(),
            })
            .collect();
        let cites = Cites::new(&entries);
        let rates = req.rates;

        // Links, as `dragnet links` computes them, and the report's accounts.
        // Linking needs only feedback dates (and not every row's); the
        // estimates read the feedback of the report's accounts an account at
        // a time, and a vendor report reads its accounts' rows whole too.
        let obs = self.observations_with(&Filter::default(), FeedbackRead::Dates, ListingOrder::Sorted).map_err(data_err)?;
        let identifiers = self.store.identifiers(&Filter::default())?;
        let accounts = linking::accounts_from_records(&obs.records(&identifiers));
        let model = self.link_model().map_err(data_err)?;
        let decisions = self.link_decisions().map_err(data_err)?;
        let links = model.as_ref().map(|m| scored_links(m, &accounts, &decisions)).unwrap_or_default();
        let scope = req.vendor.map(|v| scope_of(v, &accounts, &links, &decisions, model.is_some())).transpose()?;
        let members: Option<BTreeSet<(String, String)>> =
            scope.as_ref().map(|s| s.accounts.iter().map(|a| (a.market.clone(), a.name.clone())).collect());
        let in_scope = |market: &str, vendor: &str| members.as_ref().is_none_or(|m| m.iter().any(|acc| same_account(market, vendor, acc)));
        let scoped_accounts: Vec<&Account> = accounts.iter().filter(|a| in_scope(&a.market, &a.name)).collect();
        let touches = |id: &str| scope.as_ref().is_none_or(|s| s.accounts.iter().any(|a| a.account == id));
        let threshold = model.as_ref().map_or(f64::INFINITY, |m| m.threshold);
        let link_rows: Vec<LinkRow> =
            links.iter().filter(|l| touches(&l.a) || touches(&l.b)).map(|l| link_row(l, threshold, &decisions, &cites)).collect();
        let links_section = match &model {
            Some(m) => LinksSection {
                model: Some(format!("{} {}", m.version, m.training_hash)),
                threshold: m.threshold,
                note: format!(
                    "Every link {}that `dragnet links` lists (a hard identifier, a market-verified claim, or a probability at or above the review \
                     threshold), and every link an analyst confirmed or rejected, with the signals that fired and the rows each rests on; \
                     `dragnet explain K-…` prints all of a link's evidence.",
                    if scope.is_some() { "touching these accounts " } else { "" }
                ),
                rows: link_rows,
            },
            None => LinksSection {
                model: None,
                threshold: 0.0,
                note: "The case has no linking model, so no link is scored: `dragnet link train` (or `dragnet links`, which trains the \
                       default model on a simulated case) stores one."
                    .into(),
                rows: Vec::new(),
            },
        };

        // Dossier facts: linking's accounts (first/last seen, identifiers
        // with their rows) and the listing summary.
        let summaries: BTreeMap<(String, String), sales::ListingSummary> = sales::listing_summary(
            obs.listings.iter().filter(|o| in_scope(&o.record.market, o.record.vendor.as_deref().unwrap_or("?"))),
            rates,
        )
            .into_iter()
            .map(|s| ((s.market.clone(), s.vendor.trim().to_owned()), s))
            .collect();
        let account_facts: Vec<AccountFacts> = scoped_accounts
            .iter()
            .map(|a| {
                let summary = summaries.get(&(a.market.clone(), a.name.clone()));
                let mut identifiers: Vec<CitedIdentifier> = Vec::new();
                for k in &a.pgp {
                    identifiers.push(CitedIdentifier { kind: "pgp".into(), value: k.fingerprint.clone(), rows: k.sources.clone(), evidence: cites.of(&k.sources) });
                }
                for f in &a.btc {
                    identifiers.push(CitedIdentifier { kind: "btc".into(), value: f.value.clone(), rows: f.sources.clone(), evidence: cites.of(&f.sources) });
                }
                for c in &a.contacts {
                    identifiers.push(CitedIdentifier { kind: c.kind.clone(), value: c.value.clone(), rows: c.sources.clone(), evidence: cites.of(&c.sources) });
                }
                AccountFacts {
                    market: a.market.clone(),
                    name: a.name.clone(),
                    first_seen: a.first_seen.map(|d| d.to_string()),
                    last_seen: a.last_seen.map(|d| d.to_string()),
                    distinct_listings: summary.map(|s| s.listings),
                    median_price_usd: summary.and_then(|s| s.median_price_usd),
                    identifiers,
                }
            })
            .collect();

        // Sales: units of the report's accounts (coverage is the market's).
        let cited = self.report_units(&obs, rates, &in_scope, &cites)?;
        let used = cited.methods.clone();
        let sales = sales_tables(cited, rates, &cites);

        let (flows, chain_methods) = self.report_flows(&scoped_accounts, &cites)?;

        let rates_file = error_rates()?;
        let mut methods = Vec::new();
        let measured = |name: &str| -> (Vec<Measurement>, Option<String>) {
            let m = rates_file
                .measurements
                .iter()
                .filter(|x| x.method == name)
                .map(|x| Measurement {
                    figure: x.figure.clone(),
                    value: x.value.clone(),
                    measured_on: x.measured_on.clone(),
                    source: format!("{}, section \"{}\"", x.doc, x.section),
                    command: x.command.clone(),
                })
                .collect();
            let why: Vec<String> =
                rates_file.unmeasured.iter().filter(|u| u.method == name).map(|u| format!("{} ({}, section \"{}\")", u.why, u.doc, u.section)).collect();
            (m, (!why.is_empty()).then(|| why.join(" ")))
        };
        for m in used {
            let (measurements, unmeasured) = measured(m.as_str());
            methods.push(MethodEntry {
                name: m.as_str().to_owned(),
                used_for: "Sales estimates (section \"Sales estimates\").".into(),
                parameters: m.params().to_string(),
                in_case: Vec::new(),
                measurements,
                unmeasured,
            });
        }
        if account_facts.iter().any(|a| a.distinct_listings.is_some()) {
            let (measurements, unmeasured) = measured("listing_summary");
            methods.push(MethodEntry {
                name: "listing_summary".into(),
                used_for: "Distinct listings and median USD price in the vendor dossiers.".into(),
                parameters: "listings keyed by the market's listing id, else URL, else vendor + normalized title + since-date; median over \
                             observations with a USD price (converted as for sales)"
                    .into(),
                in_case: Vec::new(),
                measurements,
                unmeasured,
            });
        }
        if let Some(m) = &model {
            let (measurements, unmeasured) = measured("linking");
            let weights: Vec<String> = m.signals.iter().zip(&m.weights).map(|(s, w)| format!("{s} {w:.3}")).collect();
            let mut in_case = vec![format!(
                "Stored in CASE/linking/model.json: trained on {} candidate pairs ({} same operator), training hash {}.",
                m.training_pairs, m.training_positives, m.training_hash
            )];
            if !m.untrained.is_empty() {
                in_case.push(format!("Never seen in training, weight from the prior: {}.", m.untrained.join(", ")));
            }
            if let Some(e) = self
                .evidence
                .custody()
                .entries()
                .map_err(|e| ReportError::Data(e.to_string()))?
                .into_iter()
                .rev()
                .find(|e| e.action == "link-model" && e.detail["training_hash"].as_str() == Some(m.training_hash.as_str()))
            {
                in_case.push(format!(
                    "Custody log entry {} ({} by {}): trained on {}.",
                    e.seq,
                    e.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    e.operator,
                    e.detail["trained_on"].as_str().unwrap_or("?")
                ));
            }
            methods.push(MethodEntry {
                name: m.version.clone(),
                used_for: "Scores the links between accounts (section \"Links between accounts\"); joins accounts only along hard links \
                           not rejected and confirmed links."
                    .into(),
                parameters: format!("logistic regression; review threshold {}; bias {:.3}; weights: {}", m.threshold, m.bias, weights.join(", ")),
                in_case,
                measurements,
                unmeasured,
            });
        }
        for (name, used_for, parameters, in_case) in chain_methods {
            let (measurements, unmeasured) = measured(&name);
            methods.push(MethodEntry { name, used_for, parameters, in_case, measurements, unmeasured });
        }

        let opts = ReportOptions {
            title: req.title.to_owned(),
            tool_version: TOOL_VERSION.to_owned(),
            listings_per_vendor: 0,
            scope,
            accounts: account_facts,
            sales,
            links: links_section,
            flows,
            methods,
            // Every row counted as linking's dates were read; a vendor
            // report's own rows name the pages of its feedback.
            feedback_counts: obs.feedback_counts.clone(),
            integrity: Some(integrity),
        };
        let scoped_feedback = match &members {
            Some(_) => self.feedback_where(&obs, &in_scope).map_err(data_err)?,
            None => Vec::new(),
        };
        let mut records = obs.records(&identifiers);
        records.feedback = scoped_feedback.iter().map(sales::Obs::row).collect();
        report::build(&records, &obs.pages, &entries, &opts)
    }

    /// The sales units of the accounts `keep(market, vendor)` accepts, with
    /// the records behind them: the listing side estimated once, then the
    /// feedback an account at a time as `dragnet import` keeps the case's
    /// units (so the figures are those `dragnet sales` shows), each
    /// account's units folded into the table and dropped.
    fn report_units(
        &self,
        obs: &crate::sales::Observations,
        rates: &Rates,
        keep: &(dyn Fn(&str, &str) -> bool + Sync),
        cites: &Cites,
    ) -> Result<CitedUnits, ReportError> {
        let mut cited = CitedUnits::default();
        self.fold_units_of_accounts(obs, rates, keep, |units| CitedUnits::of(&units, cites), |part| cited.merge(part)).map_err(data_err)?;
        Ok(cited)
    }

    /// Money flows from the BTC addresses the accounts show (on pages of
    /// their own, as crate `linking` ties addresses to accounts): a forward
    /// trace from each one the chain holds, with the default bounds, to the
    /// tagged clusters it reaches. Also the chain methods used, for the
    /// appendix: (name, used for, parameters, what the case records).
    #[allow(clippy::type_complexity)]
    fn report_flows(&self, accounts: &[&Account], cites: &Cites) -> Result<(FlowsSection, Vec<(String, String, String, Vec<String>)>), ReportError> {
        let chain_err = |e: chain::ChainError| ReportError::Data(format!("the case's chain: {e}"));
        let Some(idx) = chain::store::load(&self.dir).map_err(chain_err)? else {
            return Ok((
                FlowsSection {
                    available: false,
                    note: "No Bitcoin chain is imported in this case (`dragnet chain import --blocks-dir DIR`), so no payment was traced.".into(),
                    ..FlowsSection::default()
                },
                Vec::new(),
            ));
        };
        let cl = chain::store::clustering(&self.dir, &idx).map_err(chain_err)?;
        let meta_path = chain::store::chain_dir(&self.dir).join("clusters.json");
        let meta: Option<chain::store::ClusterMeta> = std::fs::read_to_string(&meta_path).ok().and_then(|s| serde_json::from_str(&s).ok());
        let tags = chain::tags::read_tags(&self.dir).map_err(chain_err)?;
        let cluster_tags = chain::tags::cluster_tags(&idx, &cl, &tags);
        let cfg = chain::trace::TraceConfig::default();

        let mut addresses: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<String>)> = BTreeMap::new();
        for a in accounts {
            for f in &a.btc {
                let e = addresses.entry(f.value.as_str()).or_default();
                e.0.insert(a.id.as_str());
                e.1.extend(cites.of(&f.sources));
            }
        }
        let mut rows = Vec::new();
        let mut not_in_chain = Vec::new();
        for (addr, (accs, ev)) in &addresses {
            let accounts: Vec<String> = accs.iter().map(|s| (*s).to_owned()).collect();
            let evidence: Vec<String> = ev.iter().cloned().collect();
            let id = chain::index::parse_address(addr, idx.network).and_then(|(k, d)| idx.addrs.lookup(k, &d));
            let Some(id) = id else {
                not_in_chain.push(AddressRef { address: (*addr).to_owned(), accounts, evidence });
                continue;
            };
            let g = chain::trace::trace(&idx, &cl, &cluster_tags, addr, &cfg).map_err(chain_err)?;
            let reached = g
                .reached_tags
                .iter()
                .map(|r| {
                    let n: Option<u32> = r.node.strip_prefix("cluster:").and_then(|n| n.parse().ok());
                    let tags = n.and_then(|n| cluster_tags.get(&n)).map(Vec::as_slice).unwrap_or_default();
                    let categories: BTreeSet<String> = tags.iter().filter_map(|t| t.category.clone()).collect();
                    let sources: BTreeSet<String> = tags
                        .iter()
                        .map(|t| match &t.evidence {
                            Some(e) => format!("{} (evidence {e})", t.source),
                            None => t.source.clone(),
                        })
                        .collect();
                    FlowReached {
                        cluster: r.node.clone(),
                        labels: r.labels.clone(),
                        categories: categories.into_iter().collect(),
                        tag_sources: sources.into_iter().collect(),
                        traced_sats: r.traced,
                        traced_btc: chain::index::display_btc(r.traced),
                        txs: g
                            .edges
                            .iter()
                            .filter(|e| e.to == r.node)
                            .map(|e| FlowTx { txid: e.txid.clone(), vout: e.vout, height: e.height, traced_btc: chain::index::display_btc(e.traced) })
                            .collect(),
                    }
                })
                .collect();
            rows.push(FlowAddress {
                address: (*addr).to_owned(),
                accounts,
                evidence,
                cluster: cl.cluster_of(id).map(|c| format!("cluster:{c}")).unwrap_or_default(),
                edges: g.edges.len(),
                truncated: g.truncated,
                reached,
            });
        }
        let policy = format!(
            "forward from each address, policy {}, at most {} transactions from it, {}, at most {} outputs; a trace stops at tagged \
             clusters",
            serde_json::to_value(cfg.policy).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            cfg.hops,
            if cfg.min_value == 0 { "no minimum amount".to_owned() } else { format!("amounts under {} sat not followed", cfg.min_value) },
            cfg.max_edges
        );
        let coinjoin = meta.as_ref().is_none_or(|m| m.coinjoin_filter);
        let merged = meta.as_ref().map(|m| m.merge_change.clone()).unwrap_or_default();
        let tagged = cluster_tags.len();
        let note = format!(
            "{} BTC address{} shown on the accounts' own pages; {} in the chain, traced below; {} tag{} on {} cluster{}.",
            addresses.len(),
            if addresses.len() == 1 { "" } else { "es" },
            rows.len(),
            tags.len(),
            if tags.len() == 1 { "" } else { "s" },
            tagged,
            if tagged == 1 { "" } else { "s" },
        );
        let flows = FlowsSection {
            available: true,
            note,
            chain: format!("{}, {} blocks, tip {}", idx.network, idx.blocks.len(), idx.best_hash().unwrap_or_default()),
            policy: policy.clone(),
            rows,
            not_in_chain,
        };
        let mut cluster_in_case = vec![format!("{} clusters over {} addresses (CASE/chain/clusters.json).", cl.num_clusters(), idx.addrs.len())];
        if !merged.is_empty() {
            cluster_in_case.push(format!("Change heuristics merged into clusters: {}.", merged.join(", ")));
        }
        let methods = vec![
            (
                "multi_input".to_owned(),
                "Clusters (wallets) of the money flows: addresses spent together in one transaction are one cluster; tags apply to \
                 whole clusters."
                    .to_owned(),
                format!("co-spend union-find; CoinJoin filter {}", if coinjoin { "on" } else { "off" }),
                cluster_in_case,
            ),
            (
                "change".to_owned(),
                "Names the heuristic on each traced output (`change:<name>`); behavioural links, merged into clusters only when asked."
                    .to_owned(),
                format!(
                    "{}; merged into clusters: {}",
                    chain::cluster::ChangeHeuristic::ALL.iter().map(|h| h.name()).collect::<Vec<_>>().join(", "),
                    if merged.is_empty() { "none".to_owned() } else { merged.join(", ") }
                ),
                Vec::new(),
            ),
            ("trace".to_owned(), "Follows value from the accounts' addresses (section \"Money flows\").".to_owned(), policy, Vec::new()),
        ];
        Ok((flows, methods))
    }
}


impl ReportRequest<'_> {
    /// The title when none is given: "dragnet case report", or "dragnet
    /// vendor report: NAME" (the CLI and the web download use the same).
    pub fn default_title(vendor: Option<&str>) -> String {
        match vendor {
            Some(v) => format!("dragnet vendor report: {v}"),
            None => "dragnet case report".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sales tables as computed before they were taken in parts: every
    /// unit of the accounts kept, with its sources, at once.
    fn tables_of_every_unit(units: &[Unit], rates: &Rates, cites: &Cites) -> Option<SalesTables> {
        if units.is_empty() {
            return None;
        }
        let mut by_account: BTreeMap<(String, String, Method), BTreeSet<&String>> = BTreeMap::new();
        let mut by_month: BTreeMap<String, BTreeSet<&String>> = BTreeMap::new();
        for u in units {
            by_account.entry((u.market.clone(), u.vendor.clone(), u.method)).or_default().extend(&u.sources);
            for m in months(u) {
                by_month.entry(format!("{}/{}", month_label(m), u.method.as_str())).or_default().extend(&u.sources);
            }
        }
        let mut vendors = sales::aggregate(units, GroupBy::Vendor, None, None);
        vendors.sort_by(|a, b| b.sales.total_cmp(&a.sales).then_with(|| a.vendor.cmp(&b.vendor)));
        let cited = CitedUnits { methods: units.iter().map(|u| u.method).collect(), units: units.len(), ..CitedUnits::default() };
        let mut tables = sales_tables(cited, rates, cites).unwrap();
        tables.by_vendor = sales_rows(
            &vendors,
            |e| format!("{} / {}", e.market.as_deref().unwrap_or("?"), e.vendor.as_deref().unwrap_or("?")),
            |e| cites.of(by_account.get(&(e.market.clone().unwrap_or_default(), e.vendor.clone().unwrap_or_default(), e.method)).into_iter().flatten().copied()),
        );
        tables.by_month = sales_rows(
            &sales::aggregate(units, GroupBy::Month, None, None),
            |e| e.month.clone().unwrap_or_default(),
            |e| cites.of(by_month.get(&format!("{}/{}", e.month.as_deref().unwrap_or_default(), e.method.as_str())).into_iter().flatten().copied()),
        );
        Some(tables)
    }

    /// Rows equal but for the last bits of sums (units are summed in
    /// another order).
    fn same_rows(got: &[SalesRow], want: &[SalesRow]) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        got.len() == want.len()
            && got.iter().zip(want).all(|(g, w)| {
                (&g.group, &g.method, &g.days, &g.coverage_note, &g.evidence) == (&w.group, &w.method, &w.days, &w.coverage_note, &w.evidence)
                    && close(g.sales, w.sales)
                    && close(g.sales_lower, w.sales_lower)
                    && close(g.revenue_usd, w.revenue_usd)
                    && close(g.revenue_usd_lower, w.revenue_usd_lower)
                    && close(g.unpriced, w.unpriced)
            })
    }

    /// The report's sales, taken an account at a time with the records
    /// behind each row kept as numbers, are the tables of every unit with
    /// its sources at once: for the whole case and for some accounts, on a
    /// case of pages from several markets and two datasets of one market.
    #[test]
    fn sales_taken_an_account_at_a_time_are_those_of_every_unit_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let generated = sim::generate_markets(&sim::MarketSimConfig { seed: 3, ..Default::default() });
        generated.write_to(tmp.path()).unwrap();
        let data = tmp.path().join("data");
        sim::sales::write_sales_dataset(&data, &sim::sales::SalesSimConfig { seed: 4, listings: 200, feedback: 2_000, vendors: 12, files: 2 }).unwrap();
        // And a row the simulator never writes: a vendor's name in other
        // case (deduplicated with the vendor's feedback, but an account of
        // its own for linking and the report).
        let header = std::fs::read_to_string(std::fs::read_dir(&data).unwrap().next().unwrap().unwrap().path()).unwrap().lines().next().unwrap().to_owned();
        let row = |list: &str, vendor: &str| {
            format!(
                "\"{list}.html\",\"2014-06-01\",\"{vendor}\",\"10 x Pills\",0.1,60.00,600.0,\"Drugs\",\"Benzos\",\"Pills\",\" Feedbacks: 5/5 Fast delivery. 3 days ago anon [0 deals] 4/5 Good. 40 days ago anon [0 deals] \",\"Canada\",\"Worldwide\""
            )
        };
        std::fs::write(data.join("extra.csv"), format!("{header}\n{}\n", row("2014-06-01__Lx2", "velvetfox0"))).unwrap();
        let mut case = Case::init(&tmp.path().join("case"), "tester").unwrap();
        let opts = crate::ImportOptions { captured_at: Some("2021-06-01T00:00:00Z".parse().unwrap()), ..Default::default() };
        case.import(&[tmp.path().join("pages")], &opts, &crate::NoProgress).unwrap();
        let opts = crate::ImportOptions { dataset_format: Some("agora-2014".into()), ..Default::default() };
        case.import(&[data], &opts, &crate::NoProgress).unwrap();
        case.extract(&crate::ExtractOptions::default(), &crate::NoProgress).unwrap();
        let rates = Rates::default();
        let entries: Vec<EvidenceEntry> = case
            .evidence
            .records()
            .into_iter()
            .map(|r| EvidenceEntry { sha256: r.sha256.to_hex(), url: r.url.clone(), source: None, captured_at: None, captured_at_is_file_time: false, market: None, problem: None })
            .collect();
        let cites = Cites::new(&entries);
        let whole = case.observations(&Filter::default()).unwrap();
        let dates = case.observations_with(&Filter::default(), FeedbackRead::Dates, ListingOrder::Sorted).unwrap();
        let vendors: BTreeSet<(String, String)> =
            whole.feedback.iter().filter_map(|f| Some((f.record.market.clone(), f.record.vendor.clone()?.trim().to_owned()))).collect();
        assert!(vendors.len() > 20, "{vendors:?}");
        // Some accounts, one of two spellings of a vendor's name among them.
        let (shown, other) = (("agora".to_owned(), "velvetfox0".to_owned()), ("agora".to_owned(), "VelvetFox0".to_owned()));
        assert!(vendors.contains(&shown) && vendors.contains(&other), "{vendors:?}");
        let mut some: BTreeSet<(String, String)> = vendors.iter().step_by(3).filter(|&a| a != &other).cloned().collect();
        some.insert(shown);
        // Every row is counted as linking's dates are read, those naming no
        // vendor too.
        let mut counted: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
        for f in &whole.feedback {
            *counted.entry((f.record.market.clone(), f.record.vendor.clone())).or_default() += 1;
        }
        assert_eq!(dates.feedback_counts.as_ref(), Some(&counted));
        let everyone = |_: &str, _: &str| true;
        let some_of = |m: &str, v: &str| some.iter().any(|a| same_account(m, v, a));
        for keep in [&everyone as &(dyn Fn(&str, &str) -> bool + Sync), &some_of] {
            let units = sales::units_where(&whole.input(), &rates, keep).units;
            let want = tables_of_every_unit(&units, &rates, &cites).unwrap();
            let got = sales_tables(case.report_units(&dates, &rates, keep, &cites).unwrap(), &rates, &cites).unwrap();
            assert!(want.by_vendor.iter().any(|r| r.method == "feedback_count") && want.by_vendor.iter().any(|r| r.method != "feedback_count"));
            assert!(want.by_month.len() > 1 && want.by_vendor.iter().all(|r| !r.evidence.is_empty()), "{:?}", want.by_month);
            // Rows of equal sales may come in either order.
            let sorted = |rows: &[SalesRow]| {
                let mut rows = rows.to_vec();
                rows.sort_by(|a, b| (&a.group, &a.method).cmp(&(&b.group, &b.method)));
                rows
            };
            assert!(same_rows(&sorted(&got.by_vendor), &sorted(&want.by_vendor)), "{:#?}\n{:#?}", got.by_vendor, want.by_vendor);
            assert!(same_rows(&got.by_month, &want.by_month), "{:#?}\n{:#?}", got.by_month, want.by_month);
            assert_eq!((&got.methods, &got.rates_note), (&want.methods, &want.rates_note));
            // `dragnet operator`'s units (filtered after the parts are merged).
            let by_vendor = |units: &[Unit]| {
                let mut e = sales::aggregate(units, GroupBy::Vendor, None, None);
                e.sort_by(|a, b| (&a.market, &a.vendor, a.method).cmp(&(&b.market, &b.vendor, b.method)));
                e.into_iter().map(|e| (e.market, e.vendor, e.method, e.sales, (e.revenue_usd * 1e6).round(), e.units, e.inputs)).collect::<Vec<_>>()
            };
            assert_eq!(by_vendor(&case.units_of_accounts(&dates, &rates, keep).unwrap()), by_vendor(&units));
        }
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The text of the section headed `title` in a Markdown file (heading
    /// included, to the next heading of the same or a higher level; code
    /// blocks are not headings).
    fn section(doc: &str, title: &str) -> Option<String> {
        let mut fence = false;
        let mut out: Option<(usize, Vec<&str>)> = None;
        for line in doc.lines() {
            if line.trim_start().starts_with("```") {
                fence = !fence;
            }
            let level = if fence { 0 } else { line.bytes().take_while(|b| *b == b'#').count() };
            let heading = level > 0 && line.as_bytes().get(level) == Some(&b' ');
            match &mut out {
                Some((l, _)) if heading && level <= *l => break,
                Some((_, lines)) => lines.push(line),
                None if heading && line[level + 1..].trim() == title => out = Some((level, vec![line])),
                None => {}
            }
        }
        out.map(|(_, lines)| squash(&lines.join("\n")))
    }

    /// Number-like words (`0.889`, `2,466`, `50%`) of a text.
    fn numbers(s: &str) -> Vec<String> {
        s.split(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '%' | '–')))
            .map(|w| w.trim_matches(|c: char| matches!(c, '.' | ',' | '–')))
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_owned)
            .collect()
    }

    fn read_doc(rel: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn every_error_rate_is_stated_where_it_says_it_was_measured() {
        let rates = error_rates().expect("docs/error-rates.json parses");
        assert!(rates.measurements.len() >= 10);
        let known = ["feedback_count", "sold_counter", "vendor_counter", "listing_summary", "linking", "multi_input", "change", "trace"];
        for m in &rates.measurements {
            assert!(known.contains(&m.method.as_str()), "unknown method {:?}", m.method);
            let doc = read_doc(&m.doc);
            let sec = section(&doc, &m.section).unwrap_or_else(|| panic!("{}: no section {:?}", m.doc, m.section));
            let quote = squash(&m.quote);
            assert!(sec.contains(&quote), "{:?} is not in {} section {:?}", m.quote, m.doc, m.section);
            assert!(quote.contains(&squash(&m.value)), "value {:?} is not in its quote {:?}", m.value, m.quote);
            assert!(sec.contains(&squash(&m.command)), "command {:?} is not in {} section {:?}", m.command, m.doc, m.section);
            // Each shell variable of a quoted command is said in the appendix's note.
            let template = include_str!("../../report/templates/report.html");
            for var in m.command.split(|c: char| !(c.is_ascii_alphanumeric() || c == '$')).filter(|w| w.starts_with('$')) {
                assert!(template.contains(&format!("<code>{var}</code>")), "{var} (in {:?}) is not explained in the methods appendix", m.command);
            }
            for n in numbers(&format!("{} {}", m.figure, m.measured_on)) {
                assert!(sec.contains(&n), "{n} (in {:?}) is not in {} section {:?}", m.figure, m.doc, m.section);
            }
        }
        for u in &rates.unmeasured {
            assert!(known.contains(&u.method.as_str()), "unknown method {:?}", u.method);
            let sec = section(&read_doc(&u.doc), &u.section).unwrap_or_else(|| panic!("{}: no section {:?}", u.doc, u.section));
            assert!(sec.contains(&squash(&u.why)), "{:?} is not in {} section {:?}", u.why, u.doc, u.section);
        }
        // The check itself: a changed figure would fail it.
        let sec = section(&read_doc("docs/methods.md"), "Measured on the simulator (held-out operators)").expect("section");
        assert!(!sec.contains("1.000 / 0.888 / 0.941"));
    }

    #[test]
    fn the_bitcoin_figures_re_derive_from_the_regtest_chain() {
        let (Some(blocks), Some(truth)) = (testdata::shared("chain/regtest-small/blocks"), testdata::shared("chain/regtest-small/truth.json"))
        else {
            return;
        };
        let case = tempfile::tempdir().expect("tmp");
        chain::store::import(case.path(), &blocks, chain::parse_network("regtest").expect("regtest")).expect("import");
        let idx = chain::store::load(case.path()).expect("load").expect("a chain");
        let truth = chain::eval::Truth::read(&truth).expect("truth");
        let mut reports: BTreeMap<bool, serde_json::Value> = BTreeMap::new();
        let mut checked = 0;
        for m in error_rates().expect("parses").measurements {
            for e in &m.eval {
                let r = reports.entry(e.coinjoin_filter).or_insert_with(|| {
                    let cfg = chain::cluster::ClusterConfig { coinjoin_filter: e.coinjoin_filter, ..Default::default() };
                    serde_json::to_value(chain::eval::evaluate(&idx, &truth, &cfg)).expect("json")
                });
                let v = r.pointer(&e.pointer).unwrap_or_else(|| panic!("no {} in chain eval", e.pointer));
                let got = match v.as_u64() {
                    Some(n) => n.to_string(),
                    None => format!("{:.4}", v.as_f64().expect("a number")),
                };
                assert_eq!(got, e.shown, "{} ({}): chain eval gives {got}", m.figure, e.pointer);
                assert!(m.value.contains(&e.shown), "{:?} does not show {}", m.value, e.shown);
                checked += 1;
            }
        }
        assert!(checked >= 8, "only {checked} figures re-derived");
    }
}
