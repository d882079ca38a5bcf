//! Sales estimates and vendor dossiers over a case's stored observations
//! (pages and datasets alike); the arithmetic lives in crate `sales`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use model::Sha256;
use sales::{Estimate, GroupBy, Input, Ledger, LedgerSummary, ListingSummary, Obs, RateSeries, Rates, UnitTable, UnitTableBuilder, Unplaced};
use store::{CaseStore, Filter, Stored};

use crate::{io, Case, CaseError, Result, TOOL_VERSION};

/// What to estimate.
#[derive(Debug, Clone)]
pub struct SalesOptions {
    /// Group by.
    pub by: GroupBy,
    /// First day to count.
    pub from: Option<NaiveDate>,
    /// Last day to count.
    pub to: Option<NaiveDate>,
}

/// Estimates with the units and problems behind them.
#[derive(Debug, Clone)]
pub struct SalesResult {
    /// Grouped estimates.
    pub estimates: Vec<Estimate>,
    /// The units' counts, problems and coverage.
    pub summary: LedgerSummary,
    /// Sales a `--from`/`--to` window leaves out because their first day is
    /// not known (a counter's first value with no since or registration
    /// date): none without a window.
    pub unplaced: Unplaced,
}

/// Where a case keeps its sales units (derived: deleted, they are
/// recomputed): the summary with the rollup, and the day-level table.
const SUMMARY_FILE: &str = "derived/sales-summary.bin";
const TABLE_FILE: &str = "derived/sales-units.bin";

/// Changes when the files' layout or the estimators change, so a file from
/// another build is recomputed rather than read (2: the unit table in a
/// format of its own, `sales::write_kept_table`; 3: each problem keeps the
/// days its row counts for; 4: a unit may have no known first day; 5: the
/// rollup keeps such units apart; 6: feedback dated after its capture is
/// noted; 7: holding prices price no sale, and an id without its digits
/// names the listing it comes from).
const LEDGER_FORMAT: u32 = 7;

/// Reads a kept file: its value when its key is `key`, else None (stale,
/// foreign, missing or damaged: recomputed).
fn read_kept<T: serde::de::DeserializeOwned>(path: &Path, key: &str) -> Option<T> {
    sales::decode_kept(&std::fs::read(path).ok()?, key)
}

/// [`read_kept`] of the unit table (kept in a format of its own).
fn read_kept_table(path: &Path, key: &str) -> Option<UnitTable> {
    sales::decode_kept_table(&std::fs::read(path).ok()?, key).filter(sales::UnitTable::is_plausible)
}

/// Writes `(key, value)` whole or not at all.
fn write_kept<T: serde::Serialize>(path: &Path, key: &str, value: &T) -> Result<()> {
    // Written as encoded, to a file beside it renamed over it when whole.
    crate::write_atomic_with(path, |file| {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        sales::write_kept(&mut out, key, value).map_err(|e| std::io::Error::other(format!("encoding the sales units: {e}")))?;
        std::io::Write::flush(&mut out)
    })
}

/// [`write_kept`] of the unit table (encoded by hand, millions of rows, and
/// handed to the file in buffers of its own).
fn write_kept_table(path: &Path, key: &str, table: &sales::UnitTable) -> Result<()> {
    crate::write_atomic_with(path, |file| sales::write_kept_table(file, key, table))
}

/// Everything the case knows about one vendor name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VendorDossier {
    /// The name asked for.
    pub name: String,
    /// Listing counts and prices per market account.
    pub accounts: Vec<ListingSummary>,
    /// Listings seen per day and market.
    pub timeline: Vec<TimelinePoint>,
    /// Sales estimates per market and method.
    pub estimates: Vec<Estimate>,
    /// Vendor-profile facts seen (sales counters, levels, registration...).
    pub profiles: Vec<VendorFact>,
    /// Identifiers tied to the vendor: profile PGP fingerprints and contacts,
    /// and identifiers on its vendor pages.
    pub identifiers: Vec<VendorIdentifier>,
    /// Identifiers on this vendor's pages that the pages of at least
    /// [`linking::COMMON_IDENTIFIER`] vendors of the market show: taken to be
    /// the market's own (a template, a decoy, an escrow address), not the
    /// vendor's, as linking takes them.
    pub market_identifiers: Vec<VendorIdentifier>,
    /// Each distinct listing (as `sales::listing_identities` tells them
    /// apart) with its latest observation.
    pub listings: Vec<ListingLine>,
    /// First day the vendor was observed.
    pub first_seen: Option<NaiveDate>,
    /// Last day the vendor was observed.
    pub last_seen: Option<NaiveDate>,
}

/// A vendor's listing, as last observed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListingLine {
    /// Market.
    pub market: String,
    /// Title as last observed.
    pub title: String,
    /// Price as last observed (`AMOUNT CURRENCY`).
    pub price: Option<String>,
    /// Observations of the listing.
    pub observations: u64,
    /// Row id of the latest observation (its history starts from it).
    pub latest: String,
    /// Day of the latest observation.
    pub last_seen: Option<NaiveDate>,
}

/// Listings of a vendor seen on one day on one market.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimelinePoint {
    /// Day.
    pub day: NaiveDate,
    /// Market.
    pub market: String,
    /// Listing observations that day (one listing in three files of the
    /// day counts three times).
    pub listings: u64,
    /// Distinct listings among them (identities as the estimators count
    /// listings: `sales::listing_identities`).
    pub distinct_listings: u64,
}

/// One vendor-profile observation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VendorFact {
    /// Row id.
    pub id: String,
    /// The record.
    pub vendor: model::Vendor,
}

/// An identifier tied to a vendor, with the row that ties it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct VendorIdentifier {
    /// Kind (`pgp`, `jabber`, ...).
    pub kind: String,
    /// Value.
    pub value: String,
    /// Market.
    pub market: String,
    /// The row it came from.
    pub source: String,
}

/// Loads `--rates` arguments: `FILE` (a BTC series) or `CUR=FILE`. Each
/// series is labelled with its file name and SHA-256, cited on conversions.
pub fn load_rates(specs: &[String]) -> Result<Rates> {
    let mut rates = Rates::default();
    for spec in specs {
        let (currency, file) = match spec.split_once('=') {
            Some((c, f)) if c.len() <= 5 && c.chars().all(|c| c.is_ascii_alphabetic()) => (c.to_ascii_uppercase(), f),
            _ => ("BTC".to_owned(), spec.as_str()),
        };
        let path = Path::new(file);
        let bytes = std::fs::read(path).map_err(io(path))?;
        let label = format!(
            "{} (sha256 {})",
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            &Sha256::of(&bytes).to_hex()[..16]
        );
        let text = String::from_utf8_lossy(&bytes);
        let series = RateSeries::parse_csv(&text, &currency, &label)
            .map_err(|e| CaseError::Config { path: path.to_owned(), message: e.to_string() })?;
        rates.add(series);
    }
    Ok(rates)
}

fn obs_of(rows: Vec<Stored<model::Feedback>>, captured: &HashMap<Sha256, String>) -> Vec<Obs<model::Feedback>> {
    obs(rows, captured, |f: &model::Feedback| evidence_of(&f.provenance))
}

fn obs<T>(rows: Vec<Stored<T>>, captured: &HashMap<Sha256, String>, evidence: impl Fn(&T) -> Option<Sha256>) -> Vec<Obs<T>> {
    rows.into_iter().map(|s| obs_one(s, captured, &evidence)).collect()
}

/// One row as an observation (see [`obs`]).
fn obs_one<T>(s: Stored<T>, captured: &HashMap<Sha256, String>, evidence: impl Fn(&T) -> Option<Sha256>) -> Obs<T> {
    let captured_at = evidence(&s.record).and_then(|e| captured.get(&e).cloned());
    Obs { id: s.id.into_string(), record: s.record, captured_at }
}

/// A feedback row as read from the store, borrowed, with its page's capture
/// time: how the estimator reads a case's feedback.
pub(crate) struct StoredFeedback<'a> {
    row: &'a store::FeedbackRef<'a>,
    captured_at: Option<&'a str>,
}

impl<'a> StoredFeedback<'a> {
    fn of(row: &'a store::FeedbackRef<'a>, captured: &mut CaptureTimes<'a>) -> Self {
        let captured_at = row.record.provenance.and_then(|(evidence, _, _)| captured.of(evidence));
        StoredFeedback { row, captured_at }
    }
}

/// Capture times by evidence record, remembering the latest lookup: an
/// account's rows come a chunk, and so an evidence record, at a time, and
/// hashing each row's digest to look its time up again cost 0.4 CPU-s at
/// 10M rows.
struct CaptureTimes<'a> {
    by_evidence: &'a HashMap<Sha256, String>,
    last: Option<(Sha256, Option<&'a str>)>,
}

impl<'a> CaptureTimes<'a> {
    fn new(by_evidence: &'a HashMap<Sha256, String>) -> Self {
        CaptureTimes { by_evidence, last: None }
    }

    fn of(&mut self, evidence: Sha256) -> Option<&'a str> {
        match self.last {
            Some((seen, at)) if seen == evidence => at,
            _ => {
                let at = self.by_evidence.get(&evidence).map(String::as_str);
                self.last = Some((evidence, at));
                at
            }
        }
    }
}

impl sales::FeedbackRow for StoredFeedback<'_> {
    fn record(&self) -> model::FeedbackRef<'_> {
        self.row.record
    }

    fn captured_at(&self) -> Option<&str> {
        self.captured_at
    }

    fn id(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Owned(self.row.id())
    }
}

/// The observations the estimators read.
pub(crate) struct Observations {
    pub(crate) listings: Vec<Obs<model::Listing>>,
    pub(crate) feedback: Vec<Obs<model::Feedback>>,
    pub(crate) categories: Vec<Obs<model::CategoryEntry>>,
    pub(crate) vendors: Vec<Obs<model::Vendor>>,
    /// Every stored feedback row counted per (market, vendor as shown;
    /// None: none named), with [`FeedbackRead::Dates`] (which keeps only
    /// some of the rows).
    pub(crate) feedback_counts: Option<BTreeMap<(String, Option<String>), u64>>,
    /// The store's page rows (read for the capture times above).
    pub(crate) pages: Vec<store::PageRow>,
    /// Capture time by evidence record, from `pages`.
    pub(crate) captured: HashMap<Sha256, String>,
}

impl Observations {
    pub(crate) fn input(&self) -> Input<'_> {
        Input { listings: &self.listings, feedback: &self.feedback, categories: &self.categories, vendors: &self.vendors }
    }

    /// The same rows as linking and the report read them, with `identifiers`.
    pub(crate) fn records<'a>(&'a self, identifiers: &'a [Stored<model::Identifier>]) -> model::Records<'a> {
        fn rows<T>(obs: &[Obs<T>]) -> Vec<model::Row<'_, T>> {
            obs.iter().map(Obs::row).collect()
        }
        model::Records {
            vendors: rows(&self.vendors),
            listings: rows(&self.listings),
            feedback: rows(&self.feedback),
            identifiers: identifiers.iter().map(Stored::row).collect(),
        }
    }
}

/// How much of each feedback row [`Case::observations_with`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedbackRead {
    /// Whole rows (every row of the case in memory: the tests hold the
    /// other reads to it).
    #[cfg(test)]
    Whole,
    /// Only market, vendor and date (`CaseStore::feedback_dates_where`),
    /// of the rows linking's accounts take (see `linking_feedback`): at
    /// least one row of every account; estimates read whole rows an
    /// account at a time ([`Case::estimate_accounts`]).
    Dates,
    /// None (estimates read it a vendor at a time).
    Skip,
}

/// Which feedback rows of [`FeedbackRead::Dates`] are kept: linking (their
/// reader) takes a row's date when it is a day (`linking::parse_day`), and
/// otherwise only learns that its account exists; one row per account says
/// that. A case whose feedback shows relative dates ("39 days ago") keeps
/// an account's worth of rows, not millions. Dates are parsed once each.
fn linking_feedback() -> impl FnMut(&str, Option<&str>, Option<&str>) -> bool {
    let mut days: HashMap<String, bool> = HashMap::new();
    let mut accounts: HashSet<(String, Option<String>)> = HashSet::new();
    let mut last: Option<(String, Option<String>)> = None;
    move |market, vendor, date| {
        let dated = date.is_some_and(|d| match days.get(d) {
            Some(&is_day) => is_day,
            None => *days.entry(d.to_owned()).or_insert_with(|| linking::parse_day(d).is_some()),
        });
        if dated {
            return true;
        }
        // A chunk's rows are of one account: the row before's is asked first.
        if last.as_ref().is_some_and(|(m, v)| m == market && v.as_deref() == vendor) {
            return false;
        }
        let account = (market.to_owned(), vendor.map(str::to_owned));
        last = Some(account.clone());
        accounts.insert(account)
    }
}

/// Feedback rows counted per (market, vendor as shown) as they are read:
/// a chunk's rows are of one account, so a row is counted against the row
/// before's account without a lookup.
#[derive(Default)]
struct FeedbackCounts {
    counts: BTreeMap<(String, Option<String>), u64>,
    run: Option<((String, Option<String>), u64)>,
}

impl FeedbackCounts {
    fn count(&mut self, market: &str, vendor: Option<&str>) {
        match &mut self.run {
            Some(((m, v), n)) if m == market && v.as_deref() == vendor => *n += 1,
            run => {
                if let Some((account, n)) = run.replace(((market.to_owned(), vendor.map(str::to_owned)), 1)) {
                    *self.counts.entry(account).or_default() += n;
                }
            }
        }
    }

    fn finish(mut self) -> BTreeMap<(String, Option<String>), u64> {
        if let Some((account, n)) = self.run.take() {
            *self.counts.entry(account).or_default() += n;
        }
        self.counts
    }
}

/// The order of the listings [`Case::observations_with`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListingOrder {
    /// As `CaseStore::listings` gives them (market, title, id).
    Sorted,
    /// The store's (`CaseStore::listings_unordered`): for the estimator,
    /// which orders what it reads itself; a million listings are not sorted.
    Store,
}

/// Feedback accounts as the estimator takes them: each (market, vendor
/// normalized as deduplication's identity holds it; none: "") with the
/// names shown for it (None: the feedback that names no vendor), in order.
/// Deduplication never crosses groups, so each can be estimated alone.
pub(crate) type AccountGroups = BTreeMap<(String, String), Vec<Option<String>>>;

/// [`AccountGroups`] of the store's feedback accounts `(market, vendor)`,
/// of the names `keep(market, vendor as shown)` accepts (a missing vendor
/// offered as `?`, as `sales` does).
pub(crate) fn account_groups(names: Vec<(String, Option<String>)>, keep: impl Fn(&str, &str) -> bool) -> AccountGroups {
    let mut groups = AccountGroups::new();
    for (market, vendor) in names {
        if !keep(&market, vendor.as_deref().unwrap_or("?")) {
            continue;
        }
        let same = sales::dedup::normalize(vendor.as_deref().unwrap_or(""));
        groups.entry((market, same)).or_default().push(vendor);
    }
    groups
}

/// Each page's capture time (RFC 3339), by its evidence digest.
pub fn captured_times(pages: &[store::PageRow]) -> HashMap<Sha256, String> {
    pages.iter().filter_map(|p| p.captured_at.clone().map(|c| (p.evidence, c))).collect()
}

fn evidence_of(p: &Option<model::Provenance>) -> Option<Sha256> {
    p.as_ref().map(|p| p.evidence)
}

impl Case {
    #[cfg(test)]
    pub(crate) fn observations(&self, filter: &Filter) -> Result<Observations> {
        self.observations_with(filter, FeedbackRead::Whole, ListingOrder::Sorted)
    }

    pub(crate) fn observations_with(&self, filter: &Filter, read: FeedbackRead, order: ListingOrder) -> Result<Observations> {
        let pages = self.store.pages()?;
        let captured = captured_times(&pages);
        let ev = evidence_of;
        let (feedback, feedback_counts) = match read {
            #[cfg(test)]
            FeedbackRead::Whole => (self.store.feedback(filter)?, None),
            FeedbackRead::Dates => {
                // Every row is offered to the test: counted there.
                let (mut keep, mut counts) = (linking_feedback(), FeedbackCounts::default());
                let rows = self.store.feedback_dates_where(filter, &mut |market, vendor, date| {
                    counts.count(market, vendor);
                    keep(market, vendor, date)
                })?;
                (rows, Some(counts.finish()))
            }
            FeedbackRead::Skip => (Vec::new(), None),
        };
        let listing_evidence = |l: &model::Listing| ev(&l.provenance);
        Ok(Observations {
            listings: match order {
                ListingOrder::Sorted => obs(self.store.listings(filter)?, &captured, listing_evidence),
                // Made observations as they are decoded, on the store's
                // decoding threads.
                ListingOrder::Store => self.store.listings_unordered_as(filter, |s| obs_one(s, &captured, listing_evidence))?,
            },
            feedback: obs(feedback, &captured, |f: &model::Feedback| ev(&f.provenance)),
            categories: obs(
                self.store.categories(&Filter { market: filter.market.clone(), ..Filter::default() })?,
                &captured,
                |c: &model::CategoryEntry| ev(&c.provenance),
            ),
            vendors: obs(self.store.vendors(filter)?, &captured, |v: &model::Vendor| ev(&v.provenance)),
            feedback_counts,
            pages,
            captured,
        })
    }

    /// Whole feedback rows of the accounts `keep(market, vendor as shown)`
    /// accepts (a missing vendor offered as `?`, as `sales` does), found
    /// through `obs`'s feedback of [`FeedbackRead::Dates`]: read by
    /// (market, vendor) through the store's index.
    pub(crate) fn feedback_where(&self, obs: &Observations, keep: &dyn Fn(&str, &str) -> bool) -> Result<Vec<Obs<model::Feedback>>> {
        let wanted: BTreeSet<(&str, Option<&str>)> = obs
            .feedback
            .iter()
            .map(|f| (f.record.market.as_str(), f.record.vendor.as_deref()))
            .filter(|(m, v)| keep(m, v.unwrap_or("?")))
            .collect();
        let mut rows = Vec::new();
        for (market, vendor) in wanted {
            rows.extend(obs_of(self.feedback_of(market, vendor)?, &obs.captured));
        }
        Ok(rows)
    }

    /// [`Case::feedback_of`] read, to decode on another thread: the rows,
    /// and whether only those naming no vendor are meant.
    pub(crate) fn feedback_read(&self, market: &str, vendor: Option<&str>) -> Result<(store::DeferredFeedback, bool)> {
        let f = Filter { market: Some(market.to_owned()), vendor: vendor.map(str::to_owned), ..Filter::default() };
        Ok((self.store.feedback_deferred(&f)?, vendor.is_none()))
    }

    /// Whole feedback rows of one account (vendor as shown; None: the
    /// feedback that names no vendor), through the store's index.
    fn feedback_of(&self, market: &str, vendor: Option<&str>) -> Result<Vec<Stored<model::Feedback>>> {
        Ok(match vendor {
            Some(v) => self.store.feedback(&Filter { market: Some(market.to_owned()), vendor: Some(v.to_owned()), ..Filter::default() })?,
            // The store's filter cannot ask for a missing vendor.
            None => self
                .store
                .feedback(&Filter { market: Some(market.to_owned()), ..Filter::default() })?
                .into_iter()
                .filter(|f| f.record.vendor.is_none())
                .collect(),
        })
    }

    /// Sales estimates over every stored observation: from the kept rollup
    /// when the query spans all days and does not group by month, else from
    /// the kept day-level table (both recomputed when stale).
    pub fn sales(&self, rates: &Rates, opts: &SalesOptions) -> Result<SalesResult> {
        let key = self.ledger_key(rates)?;
        // A table computed here is used as is, not read back from its file.
        let (summary, mut computed) = match read_kept::<LedgerSummary>(&self.dir.join(SUMMARY_FILE), &key) {
            Some(s) => (s, None),
            None => {
                let Ledger { summary, table } = self.compute_ledger(&key, rates)?;
                (summary, Some(table))
            }
        };
        let whole = if opts.from.is_none() && opts.to.is_none() { summary.rollup.aggregate(opts.by) } else { None };
        let (estimates, unplaced) = match whole {
            Some(e) => (e, Unplaced::default()),
            None => {
                let table = match computed.take().or_else(|| read_kept_table(&self.dir.join(TABLE_FILE), &key)) {
                    Some(t) => t,
                    None => self.compute_ledger(&key, rates)?.table,
                };
                (table.aggregate(opts.by, opts.from, opts.to), table.unplaced(opts.from, opts.to))
            }
        };
        Ok(SalesResult { estimates, summary, unplaced })
    }

    /// Makes sure the sales units of every stored observation for `rates` are
    /// kept in `CASE/derived/` (computed unless they were computed from the
    /// records as they are, with the same rates, by this build), so queries
    /// read them instead of recomputing: `dragnet import` calls it.
    pub fn keep_sales_units(&self, rates: &Rates) -> Result<()> {
        let key = self.ledger_key(rates)?;
        if read_kept::<LedgerSummary>(&self.dir.join(SUMMARY_FILE), &key).is_none() {
            self.compute_ledger(&key, rates)?;
        }
        Ok(())
    }

    /// What kept units must have been computed from: the store's generation,
    /// the rates and this build.
    fn ledger_key(&self, rates: &Rates) -> Result<String> {
        Ok(format!("{LEDGER_FORMAT}/{TOOL_VERSION}/{}/{}", self.store.generation()?, rates.fingerprint()))
    }

    /// Computes the units and keeps them (the table first, so a summary is
    /// never newer than its table).
    ///
    /// Feedback is read and estimated one account at a time (all spellings
    /// of a vendor name that deduplication treats as one together), since
    /// deduplication never crosses vendors: memory holds the listings and
    /// one vendor's feedback, not every feedback row of the case.
    fn compute_ledger(&self, key: &str, rates: &Rates) -> Result<Ledger> {
        // Step times at DRAGNET_LOG=debug: the steps before the accounts run
        // on one thread, so they bound how fast an import can end.
        let started = std::time::Instant::now();
        let o = self.observations_with(&Filter::default(), FeedbackRead::Skip, ListingOrder::Store)?;
        tracing::debug!("sales units: {} listing observations read in {:.2} s", o.listings.len(), started.elapsed().as_secs_f64());
        let started = std::time::Instant::now();
        // The listing side is estimated on other threads while this one
        // reads from the store what the feedback step needs first (its
        // accounts and row count: 0.08 s at 10M that ran alone).
        let input = o.input();
        let (mut estimator, names, feedback_rows) = std::thread::scope(|s| -> Result<_> {
            let listing_side = s.spawn(|| sales::Estimator::new(&input, rates));
            let accounts = self.store.feedback_accounts();
            let counts = self.store.counts();
            // A panic on the listing side's thread is this thread's.
            let estimator = listing_side.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            Ok((estimator, accounts?, counts?.feedback))
        })?;
        tracing::debug!("sales units: listing side estimated in {:.2} s", started.elapsed().as_secs_f64());
        let started = std::time::Instant::now();
        let accounts = account_groups(names, |_, _| true);
        let mut table = UnitTableBuilder::default();
        // About a table row per feedback row (9.06M for 10M in the bench):
        // counting them (from the chunks' row counts) spares growing a table
        // of millions of rows by doubling.
        table.reserve(usize::try_from(feedback_rows).unwrap_or(0));
        table.add(&estimator.take_units()); // the listing side's, first as ever
        let mut merged = sales::Units::default();
        self.estimate_accounts(
            &accounts,
            &o.captured,
            &estimator,
            // The part's units go into a table of its own on the worker, so
            // that thread, not the reading one, does that work; about a row
            // per feedback row, as for the whole table.
            |estimator, rows| {
                let mut units = UnitTableBuilder::with_room(rows.len());
                let part = estimator.feedback_part_into(rows, &mut units);
                (units, part)
            },
            |(units, part)| {
                table.merge(units);
                merged.problems.extend(part.problems);
                merged.feedback_sightings += part.feedback_sightings;
                merged.feedback_unique += part.feedback_unique;
            },
        )?;
        tracing::debug!("sales units: {} accounts' feedback estimated in {:.2} s", accounts.len(), started.elapsed().as_secs_f64());
        let started = std::time::Instant::now();
        estimator.add_part(merged);
        let (table, rest) = Ledger::table_of_parts(table, estimator.take_output());
        // Derived data: when it cannot be kept (a read-only case), the
        // estimates are still right, only recomputed next time. The table is
        // written out while another thread rolls it up for the summary and
        // then frees the listing side's maps (as long as writing the units);
        // the listing observations (which the maps borrowed) are handed to a
        // thread that frees them while the caller goes on.
        let table_ref = &table;
        let (summary, kept) = std::thread::scope(|s| {
            let summary = s.spawn(move || {
                let summary = sales::LedgerSummary::of(table_ref, rest);
                drop(estimator);
                summary
            });
            let kept = write_kept_table(&self.dir.join(TABLE_FILE), key, table_ref);
            // A panic on the summary thread is this thread's.
            let summary = summary.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            let kept = kept.and_then(|()| write_kept(&self.dir.join(SUMMARY_FILE), key, &summary));
            (summary, kept)
        });
        let ledger = Ledger { summary, table };
        std::thread::spawn(move || drop(o));
        if let Err(e) = kept {
            tracing::warn!("could not keep the sales units: {e}");
        }
        tracing::debug!("sales units: {} table rows finished and kept in {:.2} s", ledger.table.rows(), started.elapsed().as_secs_f64());
        Ok(ledger)
    }

    /// The sales units of the accounts `keep(market, vendor as shown)`
    /// accepts, as `sales::units_where` finds them in every row, the
    /// feedback read an account at a time (`obs` may hold only
    /// [`FeedbackRead::Dates`]' rows).
    pub(crate) fn units_of_accounts(&self, obs: &Observations, rates: &Rates, keep: &(dyn Fn(&str, &str) -> bool + Sync)) -> Result<Vec<sales::Unit>> {
        let mut units = Vec::new();
        self.fold_units_of_accounts(obs, rates, keep, |part| part, |part| units.extend(part))?;
        Ok(units)
    }

    /// [`Case::units_of_accounts`] a part at a time: the listing side's
    /// units, then each account group's; `part` makes something of a part's
    /// kept units (on a worker thread, for the groups), `merge` takes it here
    /// in that order (see [`Case::estimate_accounts`]).
    pub(crate) fn fold_units_of_accounts<P: Send>(
        &self,
        obs: &Observations,
        rates: &Rates,
        keep: &(dyn Fn(&str, &str) -> bool + Sync),
        part: impl Fn(Vec<sales::Unit>) -> P + Sync,
        mut merge: impl FnMut(P),
    ) -> Result<()> {
        let kept = |mut units: Vec<sales::Unit>| {
            units.retain(|u| keep(&u.market, &u.vendor));
            part(units)
        };
        let input = obs.input();
        let mut estimator = sales::Estimator::new(&input, rates);
        merge(kept(estimator.take_units()));
        let groups = account_groups(self.store.feedback_accounts()?, keep);
        self.estimate_accounts(&groups, &obs.captured, &estimator, |estimator, rows| kept(estimator.feedback_part(rows).units), merge)
    }

    /// Estimates the feedback of each account group on worker threads while
    /// this thread reads the next groups' rows from the store (which is not
    /// shared between threads). `estimate` turns a group's rows (borrowed
    /// from the chunks as read: millions of rows are estimated without being
    /// built as owned records) into a part on a worker; `merge` takes the
    /// parts here, in group order as they come, so the result does not
    /// depend on which thread was faster; memory holds the groups in flight
    /// and the parts finished after one still in flight (a few, unless one
    /// group is far larger than the rest), not all.
    pub(crate) fn estimate_accounts<'e, P: Send>(
        &self,
        groups: &AccountGroups,
        captured: &HashMap<Sha256, String>,
        estimator: &sales::Estimator<'e>,
        estimate: impl Fn(&sales::Estimator<'e>, &[StoredFeedback<'_>]) -> P + Sync,
        mut merge: impl FnMut(P),
    ) -> Result<()> {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).max(1);
        // Each group's rows as read (decoded by the worker), and whether to
        // keep only the feedback naming no vendor (the store cannot ask for that).
        type Read = Vec<(store::DeferredFeedback, bool)>;
        let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<(usize, Read)>(workers * 2);
        // Each worker holds a handle: when every worker is gone (a panic too),
        // the receiver goes with them and sending fails instead of waiting.
        let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
        let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, std::result::Result<P, store::StoreError>)>();
        let estimate = &estimate;
        std::thread::scope(|s| -> Result<()> {
            for _ in 0..workers {
                let (work_rx, done_tx) = (std::sync::Arc::clone(&work_rx), done_tx.clone());
                s.spawn(move || loop {
                    let next = work_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((i, read))) = next else { break };
                    let mut borrowed = Vec::with_capacity(read.len());
                    let mut failed = None;
                    for (deferred, only_unnamed) in &read {
                        match deferred.borrowed_rows() {
                            Ok(rows_and_order) => borrowed.push((rows_and_order, *only_unnamed)),
                            Err(e) => failed = Some(e),
                        }
                    }
                    if let Some(e) = failed {
                        if done_tx.send((i, Err(e))).is_err() {
                            break;
                        }
                        continue;
                    }
                    let mut times = CaptureTimes::new(captured);
                    let mut rows = Vec::with_capacity(borrowed.iter().map(|((_, order), _)| order.len()).sum());
                    for ((read_rows, order), only_unnamed) in &borrowed {
                        let in_order = order.iter().map(|&r| &read_rows[r as usize]);
                        rows.extend(in_order.filter(|r| !only_unnamed || r.record.vendor.is_none()).map(|r| StoredFeedback::of(r, &mut times)));
                    }
                    let part = estimate(estimator, &rows);
                    drop(rows);
                    drop(borrowed);
                    drop(read);
                    if done_tx.send((i, Ok(part))).is_err() {
                        break;
                    }
                });
            }
            drop((done_tx, work_rx));
            let mut pending: BTreeMap<usize, std::result::Result<P, store::StoreError>> = BTreeMap::new();
            let mut next = 0;
            let mut failed = None;
            let mut take = |(i, part), pending: &mut BTreeMap<usize, _>| {
                pending.insert(i, part);
                while let Some(part) = pending.remove(&next) {
                    match part {
                        Ok(p) => merge(p),
                        Err(e) => {
                            failed.get_or_insert(e);
                        }
                    }
                    next += 1;
                }
            };
            let mut read = Ok(());
            for (i, ((market, _), names)) in groups.iter().enumerate() {
                let mut rows = Vec::new();
                for name in names {
                    match self.feedback_read(market, name.as_deref()) {
                        Ok(r) => rows.push(r),
                        Err(e) => read = Err(e),
                    }
                }
                if read.is_err() || work_tx.send((i, rows)).is_err() {
                    break;
                }
                while let Ok(done) = done_rx.try_recv() {
                    take(done, &mut pending);
                }
            }
            drop(work_tx);
            for done in done_rx.iter() {
                take(done, &mut pending);
            }
            read.and(failed.map_or(Ok(()), |e| Err(e.into())))
        })
    }

    /// Listing counts and prices per market and vendor.
    pub fn listing_summary(&self, rates: &Rates) -> Result<Vec<ListingSummary>> {
        let o = self.observations_with(&Filter::default(), FeedbackRead::Skip, ListingOrder::Sorted)?;
        Ok(sales::listing_summary(&o.listings, rates))
    }

    /// The sales units behind the estimates of every account named `name`
    /// (case-insensitive, trimmed) on any market, as `dragnet sales`
    /// computes them (coverage from the whole market), each with the row ids
    /// it counts: a figure drilled down to the rows `explain` traces to the
    /// evidence. In no particular order.
    pub fn vendor_units(&self, name: &str, rates: &Rates) -> Result<Vec<sales::Unit>> {
        let obs = self.observations_with(&Filter::default(), FeedbackRead::Dates, ListingOrder::Sorted)?;
        let name = name.trim();
        self.units_of_accounts(&obs, rates, &|_, vendor| vendor.trim().eq_ignore_ascii_case(name))
    }

    /// The dossier of every account named `name` (case-insensitive) on any market.
    pub fn vendor_dossier(&self, name: &str, rates: &Rates) -> Result<Option<VendorDossier>> {
        Ok(self.dossier_index_of(rates, Some(name))?.dossier(name, rates))
    }

    /// Reads what dossiers need once (listing and vendor observations, the
    /// estimates by vendor, each vendor's feedback days, identifiers on
    /// vendor pages), so that many dossiers cost one pass over the case: a
    /// server keeps one until the case changes.
    pub fn dossier_index(&self, rates: &Rates) -> Result<DossierIndex> {
        self.dossier_index_of(rates, None)
    }

    /// [`Case::dossier_index`], its feedback read only for accounts named
    /// `only` (case-insensitive) when given. Feedback rows are not kept,
    /// only each name's count and days, read an account at a time; the
    /// estimates are those `dragnet sales --by vendor` gives (the kept sales
    /// units, whose coverage comes from the whole market): a case of
    /// millions of feedback rows is never held whole (it was, with its
    /// sales units, past 20 GB at the bench's 10M).
    fn dossier_index_of(&self, rates: &Rates, only: Option<&str>) -> Result<DossierIndex> {
        let obs = self.observations_with(&Filter::default(), FeedbackRead::Skip, ListingOrder::Sorted)?;
        let estimates = self.sales(rates, &SalesOptions { by: GroupBy::Vendor, from: None, to: None })?.estimates;
        let mut by_name: HashMap<String, NameRows> = HashMap::new();
        let key = |v: &str| v.trim().to_ascii_lowercase();
        for (i, l) in obs.listings.iter().enumerate() {
            if let Some(v) = &l.record.vendor {
                by_name.entry(key(v)).or_default().listings.push(i);
            }
        }
        for (i, v) in obs.vendors.iter().enumerate() {
            by_name.entry(key(&v.record.name)).or_default().vendors.push(i);
        }
        // An estimate's vendor is its units' as shown, so its key is theirs.
        for (i, e) in estimates.iter().enumerate() {
            if let Some(v) = &e.vendor {
                by_name.entry(key(v)).or_default().estimates.push(i);
            }
        }
        let wanted = only.map(key);
        for (market, vendor) in self.store.feedback_accounts()? {
            // Feedback naming no vendor is no vendor's.
            let Some(vendor) = vendor else { continue };
            let name = key(&vendor);
            if wanted.as_ref().is_some_and(|w| *w != name) {
                continue;
            }
            let (read, _) = self.feedback_read(&market, Some(&vendor))?;
            let rows = read.borrowed()?;
            let seen = &mut by_name.entry(name).or_default().feedback;
            seen.rows += rows.len() as u64;
            // An account's rows repeat a few observation times.
            let mut last: Option<(&str, Option<sales::dates::DayRange>)> = None;
            for f in &rows {
                let r = &f.record;
                let at = r.observed_at.or_else(|| r.provenance.and_then(|(ev, _, _)| obs.captured.get(&ev)).map(String::as_str));
                let Some(at) = at else { continue };
                let days = match last {
                    Some((t, d)) if t == at => d,
                    _ => sales::dates::seen_range(Some(at), None),
                };
                last = Some((at, days));
                if let Some(d) = days {
                    seen.first = Some(seen.first.map_or(d.earliest, |f| f.min(d.earliest)));
                    seen.last = Some(seen.last.map_or(d.latest, |l| l.max(d.latest)));
                }
            }
        }
        // Identifiers by account, as linking and the report give them
        // (`linking::identifier_holders`).
        let mut by_account: ByAccount = HashMap::new();
        let identifiers = self.store.identifiers(&Filter::default())?;
        for (id, holders) in identifiers.iter().zip(linking::identifier_holders(&obs.records(&identifiers))) {
            let found = (id.record.kind.as_str().to_owned(), id.record.value.clone(), id.id.as_str().to_owned());
            for h in holders {
                by_account.entry((h.market.to_owned(), h.vendor.to_owned())).or_default().push(found.clone());
            }
        }
        let mut showing: HashMap<(String, String, String), HashSet<String>> = HashMap::new();
        for ((market, vendor), found) in &by_account {
            for (kind, value, _) in found {
                showing.entry((market.clone(), kind.clone(), value.clone())).or_default().insert(vendor.to_lowercase());
            }
        }
        let vendors_showing = showing.into_iter().map(|(k, names)| (k, names.len())).collect();
        Ok(DossierIndex { obs, estimates, by_name, vendors_showing, by_account })
    }
}

/// Rows of one vendor name (lower-cased, trimmed) in a [`DossierIndex`].
#[derive(Default)]
struct NameRows {
    listings: Vec<usize>,
    vendors: Vec<usize>,
    estimates: Vec<usize>,
    feedback: FeedbackSeen,
}

/// A name's feedback rows: how many, and the first and last day observed.
#[derive(Default)]
struct FeedbackSeen {
    rows: u64,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
}

/// By account (market, vendor): the identifiers it holds, as (kind, value,
/// identifier row id).
type ByAccount = HashMap<(String, String), Vec<(String, String, String)>>;

/// What vendor dossiers are built from, read once ([`Case::dossier_index`]).
pub struct DossierIndex {
    /// Listings and vendor profiles (no feedback: see [`NameRows`]).
    obs: Observations,
    /// By vendor, every method.
    estimates: Vec<Estimate>,
    by_name: HashMap<String, NameRows>,
    /// (market, kind, value) of the identifiers the accounts hold, with how
    /// many vendors (by lower-cased name) of that market hold them.
    vendors_showing: HashMap<(String, String, String), usize>,
    /// By account (market, vendor trimmed): the identifiers it holds.
    by_account: ByAccount,
}

impl DossierIndex {
    /// The dossier of every account named `name` (case-insensitive), or
    /// `None` when no row names it. `rates` must be the index's rates.
    pub fn dossier(&self, name: &str, rates: &Rates) -> Option<VendorDossier> {
        let rows = self.by_name.get(&name.trim().to_ascii_lowercase())?;
        if rows.listings.is_empty() && rows.feedback.rows == 0 && rows.vendors.is_empty() {
            return None;
        }
        let listings: Vec<Obs<model::Listing>> = rows.listings.iter().map(|&i| self.obs.listings[i].clone()).collect();
        let vendors = rows.vendors.iter().map(|&i| &self.obs.vendors[i]);
        let estimates: Vec<Estimate> = rows.estimates.iter().map(|&i| self.estimates[i].clone()).collect();
        let mut accounts = sales::listing_summary(&listings, rates);
        // An account seen only on its profile or in feedback is an account
        // of the vendor too (with no listings).
        let listed: BTreeSet<(String, String)> = accounts.iter().map(|a| (a.market.clone(), a.vendor.clone())).collect();
        let unlisted: BTreeSet<(String, String)> = vendors
            .clone()
            .map(|v| (v.record.market.clone(), v.record.name.clone()))
            .chain(estimates.iter().filter_map(|e| Some((e.market.clone()?, e.vendor.clone()?))))
            .filter(|k| !listed.contains(k))
            .collect();
        accounts.extend(unlisted.into_iter().map(|(market, vendor)| ListingSummary {
            market,
            vendor,
            listings: 0,
            observations: 0,
            median_price_usd: None,
            priced: 0,
            first_seen: None,
            last_seen: None,
        }));
        accounts.sort_by(|a, b| (&a.market, &a.vendor).cmp(&(&b.market, &b.vendor)));
        // One identity per listing, as the listing counts above have them.
        let identities = sales::listing_identities(&listings.iter().map(|o| &o.record).collect::<Vec<_>>());
        let mut timeline: BTreeMap<(NaiveDate, String), (u64, BTreeSet<&str>)> = BTreeMap::new();
        let mut days: BTreeSet<NaiveDate> = BTreeSet::new();
        for (l, identity) in listings.iter().zip(&identities) {
            let day = l.record.observed_at.as_deref().or(l.captured_at.as_deref()).and_then(sales::dates::observed_day);
            if let Some(d) = day {
                let (rows, distinct) = timeline.entry((d, l.record.market.clone())).or_default();
                *rows += 1;
                distinct.insert(identity);
            }
            // First and last seen: a month-only date is any day of its
            // month (the timeline files it under the month's first).
            if let Some(seen) = sales::dates::seen_range(l.record.observed_at.as_deref(), l.captured_at.as_deref()) {
                days.extend([seen.earliest, seen.latest]);
            }
        }
        days.extend(rows.feedback.first);
        days.extend(rows.feedback.last);
        let mut lines: BTreeMap<&str, ListingLine> = BTreeMap::new();
        for (l, identity) in listings.iter().zip(&identities) {
            let r = &l.record;
            let day = r.observed_at.as_deref().or(l.captured_at.as_deref()).and_then(sales::dates::observed_day);
            let line = lines.entry(identity).or_insert_with(|| ListingLine {
                market: r.market.clone(),
                title: r.title.clone(),
                price: None,
                observations: 0,
                latest: l.id.clone(),
                last_seen: None,
            });
            line.observations += 1;
            if line.observations == 1 || day >= line.last_seen {
                line.title = r.title.clone();
                line.price = r.price.as_ref().map(|p| format!("{} {}", p.amount, p.currency));
                line.latest = l.id.clone();
                line.last_seen = day;
            }
        }
        let mut identifiers = BTreeSet::new();
        let mut market_identifiers = BTreeSet::new();
        let mut profiles = Vec::new();
        for v in vendors {
            let r = &v.record;
            let source = v.id.clone();
            // Written as linking and the report write them (a bare address
            // is an e-mail, case aside), so the dossier agrees with them.
            if let Some(fp) = r.pgp_fingerprint.as_deref().and_then(linking::normalize::fingerprint) {
                identifiers.insert(VendorIdentifier { kind: "pgp".into(), value: fp, market: r.market.clone(), source: source.clone() });
            }
            for (kind, value) in r.contacts.iter().filter_map(|c| linking::normalize::contact(c)) {
                identifiers.insert(VendorIdentifier { kind, value, market: r.market.clone(), source: source.clone() });
            }
            days.extend(sales::dates::seen_range(r.observed_at.as_deref(), None).into_iter().flat_map(|s| [s.earliest, s.latest]));
            profiles.push(VendorFact { id: v.id.clone(), vendor: r.clone() });
        }
        for a in &accounts {
            for (kind, value, id) in self.by_account.get(&(a.market.clone(), a.vendor.trim().to_owned())).into_iter().flatten() {
                let common = self.vendors_showing.get(&(a.market.clone(), kind.clone(), value.clone())).is_some_and(|&n| n >= linking::COMMON_IDENTIFIER);
                let found = VendorIdentifier { kind: kind.clone(), value: value.clone(), market: a.market.clone(), source: id.clone() };
                if common { market_identifiers.insert(found) } else { identifiers.insert(found) };
            }
        }
        Some(VendorDossier {
            name: name.to_owned(),
            accounts,
            timeline: timeline
                .into_iter()
                .map(|((day, market), (listings, distinct))| TimelinePoint { day, market, listings, distinct_listings: distinct.len() as u64 })
                .collect(),
            estimates,
            profiles,
            identifiers: identifiers.into_iter().collect(),
            market_identifiers: market_identifiers.into_iter().collect(),
            listings: lines.into_values().collect(),
            first_seen: days.first().copied(),
            last_seen: days.last().copied(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_times_follow_each_rows_evidence() {
        let (a, b, none) = (Sha256::of(b"a"), Sha256::of(b"b"), Sha256::of(b"c"));
        let by_evidence: HashMap<Sha256, String> = [(a, "2014-01-01".to_owned()), (b, "2014-02-01".to_owned())].into();
        let mut times = CaptureTimes::new(&by_evidence);
        // Runs of one record, records taking turns, and one the pages lack.
        let asked = [a, a, b, b, a, none, none, b, a];
        let got: Vec<_> = asked.iter().map(|&e| times.of(e)).collect();
        let want: Vec<_> = asked.iter().map(|e| by_evidence.get(e).map(String::as_str)).collect();
        assert_eq!(got, want);
    }

    /// Linking's accounts from the feedback rows `linking_feedback` keeps
    /// are those from every row: dated rows are all kept, one row of each
    /// account of the rest (an account of undated feedback only among
    /// them), and an account's undated rows after the first left out.
    #[test]
    fn linking_takes_the_same_accounts_from_the_rows_kept() {
        let shown = [
            ("m", "anna", "2014-03-01"),
            ("m", "anna", "3 days ago"),
            ("m", "anna", "3 days ago"),
            ("m", "bob", "5 days ago"),
            ("n", "anna", "1 May 2014"),
            ("m", "bob", "5 days ago"),
            ("n", "anna", "soon"),
            ("m", "", "4 days ago"),
            ("m", "anna", "2014-03-09T10:00:00Z"),
            ("m", "carl", ""),
        ];
        let rows: Vec<(String, model::Feedback)> = shown
            .iter()
            .enumerate()
            .map(|(i, (market, vendor, date))| {
                let f = model::Feedback {
                    market: (*market).into(),
                    vendor: (!vendor.is_empty()).then(|| (*vendor).to_owned()),
                    date: (!date.is_empty()).then(|| (*date).to_owned()),
                    ..model::Feedback::default()
                };
                (format!("F-{i}"), f)
            })
            .collect();
        let mut keep = linking_feedback();
        let kept: Vec<&(String, model::Feedback)> = rows.iter().filter(|(_, f)| keep(&f.market, f.vendor.as_deref(), f.date.as_deref())).collect();
        let ids: Vec<&str> = kept.iter().map(|(id, _)| id.as_str()).collect();
        // Dated: 0, 4, 8. First of the rest per account: 1 (m/anna), 3 (m/bob), 6 (n/anna), 7 (m/none), 9 (m/carl).
        assert_eq!(ids, ["F-0", "F-1", "F-3", "F-4", "F-6", "F-7", "F-8", "F-9"]);
        fn records<'a>(rows: &[&'a (String, model::Feedback)]) -> model::Records<'a> {
            model::Records { feedback: rows.iter().map(|(id, f)| model::Row::new(id, f)).collect(), ..model::Records::default() }
        }
        let all: Vec<&(String, model::Feedback)> = rows.iter().collect();
        let accounts = linking::accounts_from_records(&records(&all));
        assert_eq!(accounts.len(), 4, "{accounts:?}");
        assert_eq!(linking::accounts_from_records(&records(&kept)), accounts);
    }
}
