//! From observations to estimated sales units, and from units to grouped
//! estimates.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use model::{Feedback, Listing};
use serde::Serialize;

use crate::dates::{day_of, observed_day, seen_in, seen_range, shown_date_range, DayRange, ShownDate};
use crate::dedup::{dedup_groups, group_by_identity, normalize, push_identity, Observation, Sighting};
use crate::holding::{unusable_prices, Unusable};
use crate::usd::{listing_usd, to_usd, ConvertError, UsdAmount};
use crate::feedback_row::FeedbackRow;
use crate::ledger::UnitTableBuilder;
use crate::named::Aliases;
use crate::numbers::Numbers;
use crate::{FastState, Input, Obs, Rates};

/// An estimation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Unique feedback counted as sales (Soska & Christin 2015).
    FeedbackCount,
    /// "N sold" counters and their growth between observations.
    SoldCounter,
    /// A vendor profile's own sales count and its growth.
    VendorCounter,
}

impl Method {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::FeedbackCount => "feedback_count",
            Method::SoldCounter => "sold_counter",
            Method::VendorCounter => "vendor_counter",
        }
    }

    /// The method's fixed parameters and assumptions, recorded on every estimate.
    pub fn params(self) -> serde_json::Value {
        match self {
            Method::FeedbackCount => serde_json::json!({
                "reference": "Soska & Christin, USENIX Security 2015",
                "one_feedback_is": "one sale (not every buyer leaves feedback, so even the central figure is low)",
                "dedup": "same market, vendor, listing, rating, buyer and normalized text, from different observations, with overlapping possible dates (central); the lower bound ignores dates: a feedback counts as often as the one observation that shows it most",
                "price": "listing price in force on the feedback date (latest observation on or before it, else the next one), converted on the feedback date; holding prices and prices that are no sale price by their value (zero, under half a dollar) are passed over (docs/methods.md)",
            }),
            Method::SoldCounter => serde_json::json!({
                "sales": "first counter value (over its 'since' date to the observation) plus every later increase; a decrease is a reset and counts the new value",
                "price": "listing price at the observation that shows the increase; none under a holding price (docs/methods.md)",
                "days": "sales spread evenly over the days the counter covers: from the 'since' date, or from the observation before; a first value with no 'since' date has no known first day (by month it is 'undated', and a --from window leaves it out)",
            }),
            Method::VendorCounter => serde_json::json!({
                "sales": "the sales count a vendor profile shows (the market's, or a dataset's), first value plus every later increase; a decrease is a reset",
                "price": "none: a vendor total has no price, so no revenue",
                "days": "from the registration date when shown, else the observation before, to the observation; a first value with no registration date has no known first day (by month it is 'undated', and a --from window leaves it out)",
            }),
        }
    }
}

/// One estimated quantity of sales with everything it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unit {
    /// How it was estimated.
    pub method: Method,
    /// Market.
    pub market: String,
    /// Vendor (`?` when the source does not say).
    pub vendor: String,
    /// Listing title.
    pub listing: String,
    /// Top-level category, when known.
    pub category: Option<String>,
    /// Ships from, when known.
    pub origin: Option<String>,
    /// Ships to, when known.
    pub destinations: Vec<String>,
    /// The days the sales happened in (spread evenly).
    pub days: DayRange,
    /// The sales happened on or before `days.latest`, from a day not known:
    /// a lifetime counter's first value with no "since" or registration
    /// date (`days` is then the one day it was seen, or the month, where the
    /// source names only the month). Over all days such a
    /// unit counts whole; by month it is "undated", and a window it may
    /// not wholly hold leaves it out ([`crate::UnitTable::unplaced`]).
    pub start_unknown: bool,
    /// Sales counted (lower bound).
    pub sales: f64,
    /// Multiplier for the central estimate (1 / coverage of the market, or 1).
    pub scale: f64,
    /// Unit price in USD, when known.
    pub price: Option<UsdAmount>,
    /// Row ids of the observations it came from.
    pub sources: Vec<String>,
}

/// A row that could not be used fully, by row id.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Problem {
    /// Row id.
    pub id: String,
    /// What is wrong and what was done.
    pub message: String,
    /// The sale days the row counts for (those of its unit, or its
    /// observation day), so a note can be placed in a `--from`/`--to`
    /// window as its sales are; `None` for a row with no date, which
    /// cannot be placed.
    pub days: Option<DayRange>,
}

impl Problem {
    /// Whether the row's days meet `from..=to` (as a unit's days count in
    /// an estimate over that window: in part counts); `None` when the row
    /// has no date.
    pub fn in_window(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Option<bool> {
        let days = self.days?;
        Some(from.map_or(days.earliest, |f| f.max(days.earliest)) <= to.map_or(days.latest, |t| t.min(days.latest)))
    }
}

/// The notes that bear on estimates over a `from..=to` window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowNotes<'a> {
    /// Notes on rows whose days meet the window, and on rows with no date
    /// (which cannot be placed), in the order they came.
    pub listed: Vec<&'a Problem>,
    /// How many of `listed` are on rows with no date.
    pub undated: usize,
    /// Notes on rows whose days lie wholly outside the window.
    pub outside: usize,
}

/// [`WindowNotes`] of `problems` for `from..=to` (no limit: every note listed).
pub fn notes_in_window(problems: &[Problem], from: Option<NaiveDate>, to: Option<NaiveDate>) -> WindowNotes<'_> {
    let mut notes = WindowNotes::default();
    for p in problems {
        match p.in_window(from, to) {
            Some(true) => notes.listed.push(p),
            Some(false) => notes.outside += 1,
            None => {
                notes.listed.push(p);
                notes.undated += 1;
            }
        }
    }
    notes
}

/// How much of a market the observations saw.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Coverage {
    /// Market.
    pub market: String,
    /// Day of the crawl (`None`: the whole market over all crawls).
    pub day: Option<NaiveDate>,
    /// Distinct listings seen.
    pub listings_seen: u64,
    /// Listings the market states it has (category counts), when shown.
    pub listings_stated: Option<u64>,
    /// seen / stated, at most 1.
    pub coverage: Option<f64>,
}

/// Units, with the problems met and the coverage used.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Units {
    /// Estimated units of sales.
    pub units: Vec<Unit>,
    /// Rows kept out of (part of) the estimates.
    pub problems: Vec<Problem>,
    /// Coverage per market (whole) and per crawl day.
    pub coverage: Vec<Coverage>,
    /// Feedback sightings read, and unique feedback after deduplication.
    pub feedback_sightings: u64,
    /// Unique feedback.
    pub feedback_unique: u64,
}

/// Below this share of a market's stated listings, the central estimate is
/// not scaled up (it equals the lower bound, and says so).
pub const MIN_COVERAGE_TO_SCALE: f64 = 0.25;

/// [`day_of`] of rows that repeat a few observation and capture times
/// (a dataset file's rows, a page's): each pair is read once, and a row's
/// pair is compared with the row before's before it is hashed and looked up.
#[derive(Default)]
struct ObservedDays<'t> {
    of: HashMap<Times<'t>, Option<NaiveDate>, FastState>,
    last: Option<(Times<'t>, Option<NaiveDate>)>,
}

/// A row's observation and capture times.
type Times<'t> = (Option<&'t str>, Option<&'t str>);

impl<'t> ObservedDays<'t> {
    fn of(&mut self, observed_at: Option<&'t str>, captured_at: Option<&'t str>) -> Option<NaiveDate> {
        let at = (observed_at, captured_at);
        match self.last {
            Some((seen, day)) if seen == at => day,
            _ => {
                let day = *self.of.entry(at).or_insert_with(|| day_of(observed_at, captured_at));
                self.last = Some((at, day));
                day
            }
        }
    }
}

/// What makes two observations the same listing: the market's id, else its
/// link, else vendor + title + the "sold since" date (a listing's creation
/// date where markets show one; it tells apart a vendor's many "Custom
/// listing"s).
///
/// Appended to `out` (no `format!`, no normalized copies: it runs on each of
/// a million listings).
pub(crate) fn push_listing_key(out: &mut String, l: &Listing) {
    out.push_str(&l.market);
    out.push('\u{1f}');
    if let Some(id) = &l.market_listing_id {
        out.push_str("id:");
        out.push_str(id);
    } else if let Some(url) = &l.url {
        out.push_str("url:");
        out.push_str(url);
    } else {
        crate::dedup::push_normalized(out, l.vendor.as_deref().unwrap_or(""));
        out.push('\u{1f}');
        crate::dedup::push_normalized(out, &l.title);
        out.push('\u{1f}');
        out.push_str(l.sold_since.as_deref().unwrap_or(""));
    }
}

/// Each row once: a row id seen again (the same file imported twice) is the
/// same observation, not another one.
/// Rows are filed by number, compared through their ids.
fn distinct<T>(rows: &[Obs<T>]) -> Vec<&Obs<T>> {
    let mut seen = Numbers::with_capacity(rows.len());
    rows.iter().enumerate().filter(|&(i, o)| seen.find_or_file(o.id.as_str(), i, |j| rows[j].id.as_str()).1).map(|(_, o)| o).collect()
}

/// Computes every unit of sales the observations support.
pub fn units(input: &Input<'_>, rates: &Rates) -> Units {
    units_where(input, rates, &|_, _| true)
}

/// [`units`] of the accounts `keep(market, vendor as shown)` accepts: each
/// kept account's units are exactly those [`units`] computes for it
/// (coverage still comes from every listing of the market, and feedback is
/// deduplicated per vendor), but other vendors' feedback, the bulk of the
/// work, is skipped. Feedback without a vendor is offered as vendor `?`.
/// Problems and sighting counts are those of the rows looked at.
pub fn units_where(input: &Input<'_>, rates: &Rates, keep: &dyn Fn(&str, &str) -> bool) -> Units {
    let mut e = Estimator::new(input, rates);
    let feedback: Vec<&Obs<Feedback>> =
        distinct(input.feedback).into_iter().filter(|o| keep(&o.record.market, o.record.vendor.as_deref().unwrap_or("?"))).collect();
    e.add_feedback(&feedback);
    let mut out = e.finish();
    out.units.retain(|u| keep(&u.market, &u.vendor));
    out
}

/// The estimators with the listing side (coverage, "sold" counters, vendor
/// counters, listings by title for pricing feedback) computed once, fed
/// feedback in parts: a case reads and estimates one vendor's feedback at a
/// time, so memory holds the listings and one vendor's feedback, not all.
///
/// Feedback is deduplicated within each call, and an identity includes the
/// market and the normalized vendor name: a part must hold every row of the
/// (market, normalized vendor) groups it touches, and a row in one part only.
pub struct Estimator<'a> {
    scale: HashMap<String, f64>,
    /// Listing observations by (market, normalized vendor, title), in day order.
    by_title: ListingsByTitle<'a>,
    rates: &'a Rates,
    out: Units,
}

impl<'a> Estimator<'a> {
    /// The listing side of `input` (its feedback is not read: see
    /// [`Estimator::add_feedback`]).
    pub fn new(input: &Input<'a>, rates: &'a Rates) -> Estimator<'a> {
        let mut out = Units::default();
        // Listing observations with their days.
        let mut dated: Vec<(NaiveDate, &Obs<Listing>)> = Vec::with_capacity(input.listings.len());
        let mut days = ObservedDays::default();
        let mut undated = Vec::new();
        for o in distinct(input.listings) {
            match days.of(o.record.observed_at.as_deref(), o.captured_at.as_deref()) {
                Some(d) => dated.push((d, o)),
                None => undated.push(o.id.as_str()),
            }
        }
        // By id: nothing here depends on the order listings come in (a case
        // hands them over in its store's order).
        undated.sort_unstable();
        out.problems.extend(undated.into_iter().map(|id| Problem { id: id.to_owned(), message: "listing has no observation date; not used".into(), days: None }));
        // The listings by title (for pricing feedback) are filed, and the rows
        // put in day order (for coverage), on a thread of their own while this
        // one finds each row's identity, the longer job; then this one works
        // out coverage and counters. This runs before any feedback can be.
        // Both read the rows in the order they came, where a store hands over
        // an account's rows together and the rows lie in memory one after
        // another (in (day, id) order, the identities were a cache miss per
        // row).
        let (scale, by_title) = std::thread::scope(|s| {
            let filed = s.spawn(|| {
                // Coverage goes day by day: the rows in day order, kept in the
                // order they came within a day (nothing below depends on that
                // order: sold counters sort each listing's rows).
                let mut by_day: Vec<(NaiveDate, u32)> = dated.iter().enumerate().map(|(i, (d, _))| (*d, i as u32)).collect();
                by_day.sort_by_key(|&(d, _)| d);
                let day_rows: Vec<(NaiveDate, &Obs<Listing>)> = by_day.iter().map(|&(_, i)| dated[i as usize]).collect();
                (ListingsByTitle::of(&dated, rates), by_day, day_rows)
            });
            let keys = occurrence_keys(&dated);
            // A panic on the filing thread is this thread's.
            let (mut by_title, by_day, day_rows) = filed.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            let day_keys = ListingKeys { of: by_day.iter().map(|&(_, i)| keys.of[i as usize]).collect(), texts: keys.texts };
            drop(by_day);
            out.problems.append(&mut by_title.holding_notes);
            let scale = coverage(&day_rows, &day_keys, input, &mut out);
            sold_counter_units(&day_rows, &by_title, &day_keys, rates, &scale, &mut out);
            vendor_counter_units(&distinct(input.vendors), &scale, &mut out);
            (scale, by_title)
        });
        Estimator { scale, by_title, rates, out }
    }

    /// Estimates a part of the feedback (see the type's note on parts).
    pub fn add_feedback(&mut self, feedback: &[&Obs<Feedback>]) {
        let part = self.feedback_part(feedback);
        let units = self.add_part(part);
        self.out.units.extend(units);
    }

    /// What [`Estimator::add_feedback`] finds in a part, without changing the
    /// estimator, so that parts can be estimated on several threads: hand
    /// each result to [`Estimator::add_part`], in part order (problems keep
    /// that order).
    pub fn feedback_part<R: FeedbackRow>(&self, feedback: &[R]) -> Units {
        let (mut out, mut units) = (Units::default(), Vec::new());
        feedback_units(&self.by_title, feedback, self.rates, &self.scale, &mut out, &mut units);
        out.units = units;
        out
    }

    /// [`Estimator::feedback_part`] with the units merged straight into
    /// `table` (as [`UnitTableBuilder::add`] would merge them), from rows
    /// of any [`FeedbackRow`] form: what a case does with millions of rows,
    /// none of them built as an owned record or unit. The returned part has
    /// no units.
    pub fn feedback_part_into<R: FeedbackRow>(&self, feedback: &[R], table: &mut UnitTableBuilder) -> Units {
        let mut out = Units::default();
        feedback_units(&self.by_title, feedback, self.rates, &self.scale, &mut out, table);
        out
    }

    /// Takes in a part's problems and counts; returns its units.
    pub fn add_part(&mut self, part: Units) -> Vec<Unit> {
        self.out.problems.extend(part.problems);
        self.out.feedback_sightings += part.feedback_sightings;
        self.out.feedback_unique += part.feedback_unique;
        part.units
    }

    /// Takes the units found so far (a caller merging them as it goes keeps
    /// memory small); problems and counts stay until [`Estimator::finish`].
    pub fn take_units(&mut self) -> Vec<Unit> {
        std::mem::take(&mut self.out.units)
    }

    /// Everything found (less units already taken).
    pub fn finish(self) -> Units {
        self.out
    }

    /// [`Estimator::finish`], leaving the listing side to be freed where the
    /// caller likes (a million listings' maps take a while to free).
    pub fn take_output(&mut self) -> Units {
        std::mem::take(&mut self.out)
    }
}

/// Each dated listing observation's identity ([`occurrence_keys`]): an
/// index into `texts` per entry of the dated listings, in their order.
struct ListingKeys {
    of: Vec<u32>,
    texts: Vec<String>,
}

impl ListingKeys {
    fn text(&self, dated_index: usize) -> &str {
        &self.texts[self.of[dated_index] as usize]
    }
}

/// Numbers keys 0, 1, … in the order they are first met. Rows come in runs
/// of one key (an evidence record), so a key is compared with the last one
/// before any lookup: hashing a 32-byte digest per row was most of the cost.
struct RunNumbering<K> {
    of: HashMap<K, u32, FastState>,
    last: Option<(K, u32)>,
}

impl<K: Copy + Eq + std::hash::Hash> RunNumbering<K> {
    fn new() -> Self {
        RunNumbering { of: HashMap::default(), last: None }
    }

    /// `key`'s number, and whether it is new (the number `len` had before).
    fn number(&mut self, key: K) -> (u32, bool) {
        match self.last {
            Some((seen, n)) if seen == key => (n, false),
            _ => {
                let next = self.of.len() as u32;
                let n = *self.of.entry(key).or_insert(next);
                self.last = Some((key, n));
                (n, n == next)
            }
        }
    }
}

/// The row's ordinal within its record, which row ids end in after a `-`
/// (0 when the tail is no number). Read from the id's bytes: `rsplit('-')`
/// searched a million short ids as text.
fn row_ordinal(id: &str) -> u64 {
    // A `-` is one byte, so the byte after it starts a character.
    let tail = id.as_bytes().iter().rposition(|&b| b == b'-').map_or(id, |i| &id[i + 1..]);
    tail.parse().unwrap_or(0)
}

/// Each listing observation's identity: its [`push_listing_key`], or the named
/// listing's it shows (see [`crate::named`]). Two rows of one evidence record
/// observed on the same day with the same [`push_listing_key`] made of vendor and
/// title (no listing id or URL, and no match) are two listings
/// (a vendor's identical "Custom listing"s, created the same day): the k-th
/// such row is matched with the k-th of another record or day. (Rows of one
/// dataset file from different crawl days are the same listing seen again.)
///
/// Each identity is written once and counted by its index: coverage counts
/// distinct identities of a million listings per market and per day.
fn occurrence_keys(dated: &[(NaiveDate, &Obs<Listing>)]) -> ListingKeys {
    // Each distinct base key is written and hashed once, and its index is
    // the identity of every first row of a group (below) that has it.
    // The keys are kept in index order, and filed by index, room for a row
    // each (at most that many; nearly every key of a crawl is new).
    let mut texts: Vec<String> = Vec::with_capacity(dated.len());
    let mut number_of = Numbers::with_capacity(dated.len());
    // A group is the rows of one (evidence record, else the row id; day;
    // base key). Each row is filed as (record, day, base, row ordinal, row
    // id, index into `dated`) in one list, sorted once: a group's rows come
    // together in ordinal order (a list per group was a million small
    // allocations, and a map from group to number hashed a digest per row).
    // Which group comes first does not matter: identities are compared as
    // text. Records are numbered as met.
    let mut records = RunNumbering::new();
    let mut members: Vec<(u32, NaiveDate, u32, u64, &str, u32)> = Vec::with_capacity(dated.len());
    let mut key = String::new();
    let aliases = Aliases::of(dated.iter().map(|(_, o)| &o.record));
    for (i, (day, o)) in dated.iter().enumerate() {
        let evidence = o.record.provenance.as_ref().map_or(Err(o.id.as_str()), |p| Ok(p.evidence));
        let (record, _) = records.number(evidence);
        aliases.write_key(&mut key, &o.record);
        let (base, new) = number_of.find_or_file(key.as_str(), texts.len(), |b| texts[b].as_str());
        if new {
            texts.push(key.clone());
        }
        let base = base as u32;
        members.push((record, *day, base, row_ordinal(&o.id), &o.id, i as u32));
    }
    members.sort_unstable();
    let mut of = vec![0; dated.len()];
    // The first row of each group is its base; the k-th (k > 0) is
    // "{base}\u{1f}#{k}", written below.
    let mut numbered_rows: Vec<(u32, u32, usize)> = Vec::new();
    for rows in members.chunk_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2)) {
        let base = rows[0].2;
        // A key made from the market's listing id or URL names one listing:
        // its rows are that listing seen again, never split (Hansa rows
        // sharing an item_id were counted as two listings: 14,747 seen
        // where the data has 14,488 ids).
        // (Rows matched to a named listing are not named themselves: the
        // k-th identical one of a capture is another listing, as before; the
        // first takes the match. Stillinger's four LSD rows of one day, one
        // at nine times the price, are four listings.)
        let named = dated[rows[0].5 as usize].1.record.market_listing_id.is_some() || dated[rows[0].5 as usize].1.record.url.is_some();
        for (k, &(.., i)) in rows.iter().enumerate() {
            match k {
                0 => of[i as usize] = base,
                _ if named => of[i as usize] = base,
                _ => numbered_rows.push((i, base, k)),
            }
        }
    }
    // Numbered texts are few (identical listings of one record and day).
    // Each is looked up as text among those met, the bases too: equal texts
    // are one identity, however they were made. A new one is added after
    // the bases, in the order met.
    for (i, base, k) in numbered_rows {
        let text = format!("{}\u{1f}#{k}", texts[base as usize]);
        let (n, new) = number_of.find_or_file(text.as_str(), texts.len(), |b| texts[b].as_str());
        if new {
            texts.push(text);
        }
        of[i as usize] = n as u32;
    }
    ListingKeys { of, texts }
}

fn coverage(
    dated: &[(NaiveDate, &Obs<Listing>)],
    keys: &ListingKeys,
    input: &Input<'_>,
    out: &mut Units,
) -> HashMap<String, f64> {
    let (seen, seen_day) = identities_seen(dated, &keys.of, keys.texts.len());
    // The market's own statement: the largest sum of category counts on one
    // evidence record (one category index page or dataset file).
    let mut stated_by_evidence: BTreeMap<(&str, String, Option<NaiveDate>), u64> = BTreeMap::new();
    for c in distinct(input.categories) {
        if let (Some(n), Some(p)) = (c.record.count, &c.record.provenance) {
            let day = day_of(None, c.captured_at.as_deref());
            *stated_by_evidence.entry((&c.record.market, p.evidence.to_hex(), day)).or_default() += n;
        }
    }
    let mut stated: BTreeMap<&str, u64> = BTreeMap::new();
    let mut stated_day: BTreeMap<(&str, NaiveDate), u64> = BTreeMap::new();
    for ((m, _, day), n) in &stated_by_evidence {
        let e = stated.entry(m).or_default();
        *e = (*e).max(*n);
        if let Some(d) = day {
            let e = stated_day.entry((m, *d)).or_default();
            *e = (*e).max(*n);
        }
    }
    let ratio = |seen: u64, stated: Option<u64>| stated.filter(|s| *s > 0).map(|s| (seen as f64 / s as f64).min(1.0));
    let mut scale = HashMap::new();
    for (m, &n) in &seen {
        let st = stated.get(m).copied();
        let cov = ratio(n, st);
        // A capture of a few pages is not a sample of the market: scaling
        // 40 feedback by a 0.1% coverage would invent 40,000 sales.
        if let Some(c) = cov.filter(|c| *c >= MIN_COVERAGE_TO_SCALE) {
            scale.insert((*m).to_owned(), 1.0 / c);
        }
        out.coverage.push(Coverage {
            market: (*m).to_owned(),
            day: None,
            listings_seen: n,
            listings_stated: st,
            coverage: cov,
        });
    }
    for (&(m, d), &n) in &seen_day {
        let st = stated_day.get(&(m, d)).copied();
        out.coverage.push(Coverage {
            market: m.to_owned(),
            day: Some(d),
            listings_seen: n,
            listings_stated: st,
            coverage: ratio(n, st),
        });
    }
    scale
}

/// Distinct listing identities by market and day.
type SeenByDay<'d> = BTreeMap<(&'d str, NaiveDate), u64>;

/// How many distinct listing identities each market shows, in all and on
/// each day: `of[i]` is row `i`'s identity, below `identities`, and `dated`
/// is in day order.
///
/// An identity is stamped with the market and day it was last counted on,
/// not filed in a set per market and per day (two set inserts per row were
/// most of the coverage step). Its text starts with its market, so it
/// belongs to one market; should it turn up under another (a market name
/// holding the separator), that pair is counted in a map of its own.
fn identities_seen<'d>(
    dated: &[(NaiveDate, &'d Obs<Listing>)],
    of: &[u32],
    identities: usize,
) -> (BTreeMap<&'d str, u64>, SeenByDay<'d>) {
    const NEVER: u32 = u32::MAX;
    // Market names by index; rows of one market come in runs.
    let mut markets: Vec<&str> = Vec::new();
    let mut market_index: HashMap<&str, u32, FastState> = HashMap::default();
    let mut last_market: Option<(&str, u32)> = None;
    // Per identity: (market, day number) it was last counted on.
    let mut stamp: Vec<(u32, u32)> = vec![(NEVER, NEVER); identities];
    let mut elsewhere: HashMap<(u32, u32), u32, FastState> = HashMap::default();
    let mut seen: Vec<u64> = Vec::new();
    let mut seen_day: SeenByDay<'d> = BTreeMap::new();
    let mut of_day: Vec<u64> = Vec::new();
    let mut at = 0;
    for (day_number, day) in dated.chunk_by(|a, b| a.0 == b.0).enumerate() {
        debug_assert!(at == 0 || dated[at - 1].0 < day[0].0, "rows not in day order");
        let day_number = day_number as u32;
        for (j, (_, o)) in day.iter().enumerate() {
            let name = o.record.market.as_str();
            let m = match last_market {
                Some((n, m)) if n == name => m,
                _ => {
                    let m = *market_index.entry(name).or_insert_with(|| {
                        markets.push(name);
                        seen.push(0);
                        of_day.push(0);
                        markets.len() as u32 - 1
                    });
                    last_market = Some((name, m));
                    m
                }
            };
            let k = of[at + j];
            let (holder, last_day) = &mut stamp[k as usize];
            let last = if *holder == NEVER || *holder == m {
                *holder = m;
                std::mem::replace(last_day, day_number)
            } else {
                elsewhere.insert((m, k), day_number).unwrap_or(NEVER)
            };
            if last == NEVER {
                seen[m as usize] += 1;
            }
            if last != day_number {
                of_day[m as usize] += 1;
            }
        }
        for (m, n) in of_day.iter_mut().enumerate() {
            if *n > 0 {
                seen_day.insert((markets[m], day[0].0), std::mem::take(n));
            }
        }
        at += day.len();
    }
    let seen = markets.iter().zip(seen).map(|(m, n)| (*m, n)).collect();
    (seen, seen_day)
}

/// The order of a record's dated observations: by day, then id. Ids are
/// distinct, so an unstable sort by it gives the one order.
fn day_then_id<T>(a: &(NaiveDate, &Obs<T>), b: &(NaiveDate, &Obs<T>)) -> std::cmp::Ordering {
    (a.0, &a.1.id).cmp(&(b.0, &b.1.id))
}

/// Puts one listing's or account's counter readings in the order they are
/// read: by day, and within a day from the lowest reading up. Readings of one
/// day (pages captured the same day, or given one `--captured-at`) have no
/// order of their own, and a counter does not fall: in id order a fall
/// within a day was a reset, and 1540, 1490, 1509 counted 3,049 sales where
/// at most 1,540 were shown. A day whose readings disagree gets a note.
fn counter_order<T>(obs: &mut [(NaiveDate, &Obs<T>)], reading: impl Fn(&T) -> Option<u64>, what: &str, problems: &mut Vec<Problem>) {
    obs.sort_unstable_by(|a, b| (a.0, reading(&a.1.record), &a.1.id).cmp(&(b.0, reading(&b.1.record), &b.1.id)));
    for day in obs.chunk_by(|a, b| a.0 == b.0) {
        let values: Vec<u64> = day.iter().filter_map(|(_, o)| reading(&o.record)).collect();
        let (Some(lo), Some(hi)) = (values.first(), values.last()) else { continue };
        if lo != hi {
            let (d, last) = day[day.len() - 1];
            problems.push(Problem {
                id: last.id.clone(),
                message: format!(
                    "{what} reads {lo} to {hi} on {} observations of {d}: readings of one day have no order, so they are taken from the lowest up (a fall within a day is not a reset)",
                    values.len()
                ),
                days: Some(DayRange { earliest: d, latest: d }),
            });
        }
    }
}

fn top_category(l: &Listing) -> Option<&str> {
    l.category.first().map(String::as_str)
}

fn sold_counter_units(
    dated: &[(NaiveDate, &Obs<Listing>)],
    by_title: &ListingsByTitle<'_>,
    keys: &ListingKeys,
    rates: &Rates,
    scale: &HashMap<String, f64>,
    out: &mut Units,
) {
    let mut by_listing: BTreeMap<&str, Vec<(NaiveDate, &Obs<Listing>)>> = BTreeMap::new();
    for (i, (d, o)) in dated.iter().enumerate() {
        match o.record.sold {
            // Read from a page or a file that did not check it.
            Some(n) if n > model::MOST_SOLD => out.problems.push(Problem {
                id: o.id.clone(),
                message: format!("sold counter {n} is more than any listing sells (over {}): not counted", model::MOST_SOLD),
                days: Some(DayRange::day(*d)),
            }),
            Some(_) => by_listing.entry(keys.text(i)).or_default().push((*d, o)),
            None => {}
        }
    }
    for obs in by_listing.values_mut() {
        counter_order(obs, |l| l.sold, "the sold counter", &mut out.problems);
        let mut prev: Option<(NaiveDate, u64)> = None;
        for (day, o) in obs.iter() {
            let l = &o.record;
            let Some(sold) = l.sold else { continue };
            let seen = seen_in(l.observed_at.as_deref(), o.captured_at.as_deref(), *day);
            let since = l.sold_since.as_deref().and_then(observed_day).filter(|s| s <= day);
            let first = prev.is_none();
            let (count, start) = match prev {
                None => (sold, since.unwrap_or(*day)),
                Some((_, p)) if sold >= p => (sold - p, prev.map(|(d, _)| d.checked_add_days(Days::new(1)).unwrap_or(d)).unwrap_or(*day).min(*day)),
                Some((pd, p)) => {
                    let start = since.unwrap_or(pd).min(*day);
                    out.problems.push(Problem {
                        id: o.id.clone(),
                        message: format!("sold counter fell from {p} to {sold}: counted as a reset"),
                        days: Some(DayRange { earliest: start, latest: *day }),
                    });
                    (sold, start)
                }
            };
            prev = Some((*day, sold));
            if count == 0 {
                continue;
            }
            // Sales under a holding price are counted without revenue.
            let converted = match by_title.holding(o) {
                Some(why) => holding_error(o, why, seen.middle(), rates),
                None => listing_usd(l, seen.middle(), rates),
            };
            let price = match converted {
                Ok(p) => Some(p),
                Err(e) => {
                    out.problems.push(Problem { id: o.id.clone(), message: format!("{e}; its sales are counted without revenue"), days: Some(DayRange { earliest: start, latest: seen.latest }) });
                    None
                }
            };
            out.units.push(Unit {
                method: Method::SoldCounter,
                market: l.market.clone(),
                vendor: l.vendor.clone().unwrap_or_else(|| "?".into()),
                listing: l.title.clone(),
                category: top_category(l).map(str::to_owned),
                origin: l.ships_from.clone(),
                destinations: l.ships_to.clone(),
                days: DayRange { earliest: start, latest: seen.latest },
                // A first value counts sales since the listing began, which
                // only a "since" date tells.
                start_unknown: first && since.is_none(),
                sales: count as f64,
                scale: scale.get(&l.market).copied().unwrap_or(1.0),
                price,
                sources: vec![o.id.clone()],
            });
        }
    }
}

fn vendor_counter_units(vendors: &[&Obs<model::Vendor>], scale: &HashMap<String, f64>, out: &mut Units) {
    type Observations<'a> = Vec<(NaiveDate, &'a Obs<model::Vendor>)>;
    let mut by_account: BTreeMap<(String, String), Observations> = BTreeMap::new();
    for o in vendors {
        let v = &o.record;
        match v.sales {
            None => continue,
            Some(n) if n > model::MOST_SOLD => {
                out.problems.push(Problem {
                    id: o.id.clone(),
                    message: format!("vendor sales count {n} is more than any account sells (over {}): not counted", model::MOST_SOLD),
                    days: None,
                });
                continue;
            }
            Some(_) => {}
        }
        match day_of(v.observed_at.as_deref(), o.captured_at.as_deref()) {
            Some(d) => by_account.entry((v.market.clone(), normalize(&v.name))).or_default().push((d, o)),
            None => out.problems.push(Problem { id: o.id.clone(), message: "vendor has no observation date; its sales count is not used".into(), days: None }),
        }
    }
    for obs in by_account.values_mut() {
        counter_order(obs, |v| v.sales, "the vendor sales count", &mut out.problems);
        // The account's registration, as any of its profiles shows it: a
        // dataset row without one is dated by a later page that has one.
        let registered_of = |(day, o): &(NaiveDate, &Obs<model::Vendor>)| {
            o.record.registered.as_deref().and_then(|r| shown_date_range(r, *day)).map(|r| r.earliest)
        };
        let account_registered = obs.iter().filter_map(registered_of).min();
        let mut prev: Option<(NaiveDate, u64)> = None;
        for (day, o) in obs.iter() {
            let v = &o.record;
            let Some(sales) = v.sales else { continue };
            let seen = seen_in(v.observed_at.as_deref(), o.captured_at.as_deref(), *day);
            let registered = registered_of(&(*day, *o)).or(account_registered).filter(|r| r <= day);
            let first = prev.is_none();
            let (count, start) = match prev {
                None => (sales, registered.unwrap_or(*day)),
                Some((pd, p)) if sales >= p => (sales - p, pd.succ_opt().unwrap_or(pd).min(*day)),
                Some((pd, p)) => {
                    let start = pd.succ_opt().unwrap_or(pd).min(*day);
                    out.problems.push(Problem {
                        id: o.id.clone(),
                        message: format!("vendor sales count fell from {p} to {sales}: counted as a reset"),
                        days: Some(DayRange { earliest: start, latest: *day }),
                    });
                    (sales, start)
                }
            };
            prev = Some((*day, sales));
            if count == 0 {
                continue;
            }
            out.units.push(Unit {
                method: Method::VendorCounter,
                market: v.market.clone(),
                vendor: v.name.clone(),
                listing: String::new(),
                category: None,
                origin: None,
                destinations: Vec::new(),
                days: DayRange { earliest: start, latest: seen.latest },
                start_unknown: first && registered.is_none(),
                sales: count as f64,
                scale: scale.get(&v.market).copied().unwrap_or(1.0),
                price: None,
                sources: vec![o.id.clone()],
            });
        }
    }
}

/// Listing observations by market, normalized vendor and normalized title,
/// in day order: looked up for every listing a vendor's feedback names. A
/// vendor's titles are a small map of their own, read while its feedback is
/// (one map of a million titles made each lookup a cache miss).
#[derive(Default)]
struct ListingsByTitle<'a> {
    markets: HashMap<String, HashMap<String, Titles<'a>, FastState>, FastState>,
    /// The observations whose price prices no sale ([`crate::holding`]),
    /// by the address of their row (few: a map, not a flag on every row).
    unusable: HashMap<usize, Unusable, FastState>,
    /// A note on each holding price.
    holding_notes: Vec<Problem>,
}

/// One account's listings by normalized title.
type Titles<'a> = HashMap<String, DatedListings<'a>, FastState>;

impl<'a> ListingsByTitle<'a> {
    /// Files dated observations, in any order: each title's observations
    /// end up in (day, id) order. Runs of one account (market and vendor as
    /// shown) look their account up once.
    fn of(dated: &[(NaiveDate, &'a Obs<Listing>)], rates: &Rates) -> ListingsByTitle<'a> {
        let mut by_title = ListingsByTitle::default();
        let mut title = String::new();
        let same_account = |a: &(NaiveDate, &Obs<Listing>), b: &(NaiveDate, &Obs<Listing>)| {
            a.1.record.vendor == b.1.record.vendor && a.1.record.market == b.1.record.market
        };
        for run in dated.chunk_by(same_account) {
            let l = &run[0].1.record;
            let titles = by_title.titles_mut(&l.market, l.vendor.as_deref().unwrap_or(""));
            for (day, o) in run {
                title.clear();
                crate::dedup::push_normalized(&mut title, &o.record.title);
                let dated = match titles.get_mut(title.as_str()) {
                    Some(d) => d,
                    None => titles.entry(title.clone()).or_default(),
                };
                dated.push((*day, *o));
            }
        }
        for titles in by_title.markets.values_mut().flat_map(|vendors| vendors.values_mut()) {
            for dated in titles.values_mut().filter(|d| d.len() > 1) {
                dated.sort_unstable_by(day_then_id);
            }
        }
        // Each title's observations are one listing's, as pricing sees it.
        let mut unusable = HashMap::default();
        for titles in by_title.markets.values().flat_map(|vendors| vendors.values()) {
            let listings: Vec<&[(NaiveDate, &Obs<Listing>)]> = titles.values().map(|d| &d[..]).collect();
            for (li, oi, why) in unusable_prices(&listings, rates) {
                let (day, o) = listings[li][oi];
                if let Unusable::Holding(why) = &why {
                    by_title.holding_notes.push(Problem {
                        id: o.id.clone(),
                        message: format!("the listing's price looks like a holding price ({why}): it prices no sale (docs/methods.md)"),
                        days: Some(DayRange::day(day)),
                    });
                }
                unusable.insert(row_address(o), why);
            }
        }
        by_title.unusable = unusable;
        // In id order, whatever order the maps gave.
        by_title.holding_notes.sort_by(|a, b| a.id.cmp(&b.id));
        by_title
    }

    /// Whether `o`'s price may price a sale (see [`crate::holding`]).
    fn usable(&self, o: &Obs<Listing>) -> bool {
        self.unusable.is_empty() || !self.unusable.contains_key(&row_address(o))
    }

    /// Why `o`'s price is a holding price, when it is one.
    fn holding(&self, o: &Obs<Listing>) -> Option<&str> {
        match self.unusable.get(&row_address(o))? {
            Unusable::Holding(why) => Some(why),
            Unusable::Value => None,
        }
    }

    /// An account's titles, filed on first use.
    fn titles_mut(&mut self, market: &str, vendor: &str) -> &mut Titles<'a> {
        // Once per run of an account's rows: the names are copied each time.
        self.markets.entry(market.to_owned()).or_default().entry(normalize(vendor)).or_default()
    }

    /// The listings of an account (vendor as shown: normalized here).
    fn titles(&self, market: &str, vendor: &str) -> Option<&Titles<'a>> {
        self.markets.get(market)?.get(normalize(vendor).as_str())
    }
}

/// The error a sale priced at `o`'s holding price gets (see
/// [`crate::holding`]), or the conversion's own.
fn holding_error(o: &Obs<Listing>, why: &str, day: NaiveDate, rates: &Rates) -> Result<UsdAmount, ConvertError> {
    let p = listing_usd(&o.record, day, rates)?;
    Err(ConvertError::Holding { amount: p.amount, currency: p.currency, usd: p.usd, row: o.id.clone(), why: why.to_owned() })
}

/// A row's address, which names it while the rows are borrowed.
fn row_address(o: &Obs<Listing>) -> usize {
    std::ptr::from_ref(o) as usize
}

/// Whether a title's observations show two or more market listing ids:
/// one vendor's listings sharing a title (Agora's humboldtsfinest sold "QP
/// of strain listed" as two listings, at 0.73 and 1.09 BTC).
fn several_listings(obs: &[(NaiveDate, &Obs<Listing>)]) -> bool {
    let mut ids = obs.iter().filter_map(|(_, o)| o.record.market_listing_id.as_deref());
    ids.next().is_some_and(|first| ids.any(|id| id != first))
}

/// A listing observation with its day.
type Dated<'o> = (NaiveDate, &'o Obs<Listing>);

/// A title several listings share, indexed: each row's (evidence, and
/// for a dataset its rule) listing id, and each id's observations.
struct SharedTitle<'o> {
    /// `None`: rows of that key show two ids (a page of several listings).
    id_of_row: HashMap<(model::Sha256, Option<&'o str>), Option<&'o str>, FastState>,
    by_id: HashMap<&'o str, Vec<(NaiveDate, &'o Obs<Listing>)>, FastState>,
}

impl<'o> SharedTitle<'o> {
    fn of(obs: &[(NaiveDate, &'o Obs<Listing>)]) -> SharedTitle<'o> {
        let mut t = SharedTitle { id_of_row: HashMap::default(), by_id: HashMap::default() };
        for &(day, o) in obs {
            let Some(id) = o.record.market_listing_id.as_deref() else { continue };
            t.by_id.entry(id).or_default().push((day, o));
            if let Some(p) = &o.record.provenance {
                for key in [(p.evidence, Some(p.rule.as_str())), (p.evidence, None)] {
                    t.id_of_row.entry(key).and_modify(|known| *known = known.filter(|k| *k == id)).or_insert(Some(id));
                }
            }
        }
        t
    }

    /// The observations of the listing a feedback's rows came from: the one
    /// whose observation is of the same evidence (and, for a dataset, the
    /// same row) as a sighting's; of several, the first that shows a usable
    /// price, else one that shows any. `None` when no sighting names one
    /// listing (a page of several listings, a feedback file of its own).
    fn own_listing<'r>(&self, sightings: impl Iterator<Item = model::FeedbackRef<'r>>, by_title: &ListingsByTitle<'_>) -> Option<&[Dated<'o>]> {
        let mut found: Option<(u8, &[Dated<'o>])> = None;
        for f in sightings {
            let Some((evidence, profile, rule)) = f.provenance else { continue };
            let key = (evidence, profile.starts_with("dataset:").then_some(rule));
            let Some(Some(id)) = self.id_of_row.get(&key) else { continue };
            let Some(of_id) = self.by_id.get(id) else { continue };
            let rank = if of_id.iter().any(|(_, o)| shows_price(&o.record) && by_title.usable(o)) {
                2
            } else {
                u8::from(of_id.iter().any(|(_, o)| shows_price(&o.record)))
            };
            if found.is_none_or(|(best, _)| rank > best) {
                found = Some((rank, of_id));
            }
            if rank == 2 {
                break;
            }
        }
        found.map(|(_, of_id)| of_id)
    }
}

/// The latest observation on or before `on` that `has` what is asked,
/// else the first after.
fn latest_showing<'o>(obs: &[(NaiveDate, &'o Obs<Listing>)], on: NaiveDate, has: fn(&Listing) -> bool) -> Option<&'o Listing> {
    let with = |o: &&(NaiveDate, &Obs<Listing>)| has(&o.1.record);
    obs.iter().rev().filter(with).find(|(d, _)| *d <= on).or_else(|| obs.iter().find(with)).map(|(_, o)| &o.record)
}

/// Whether a listing observation shows a price in any currency.
fn shows_price(l: &Listing) -> bool {
    l.price.is_some() || l.price_usd.is_some() || l.price_btc.is_some()
}

/// The observation that prices a sale on `on`: the latest on or before it,
/// else the first after; observations that show a usable price first. A
/// holding price, or one that is no sale price by its value, prices nothing
/// while the listing shows another; with none usable, one that shows a price
/// still names why it prices nothing (a row showing none said "no price"),
/// and then any.
fn pricing_observation<'o>(obs: &[(NaiveDate, &'o Obs<Listing>)], on: NaiveDate, by_title: &ListingsByTitle<'_>) -> Option<&'o Obs<Listing>> {
    let shows = |o: &&(NaiveDate, &Obs<Listing>)| shows_price(&o.1.record);
    let priced = |o: &&(NaiveDate, &Obs<Listing>)| shows(o) && by_title.usable(o.1);
    obs.iter()
        .rev()
        .filter(priced)
        .find(|(d, _)| *d <= on)
        .or_else(|| obs.iter().find(priced))
        .or_else(|| obs.iter().rev().filter(shows).find(|(d, _)| *d <= on))
        .or_else(|| obs.iter().find(shows))
        .or_else(|| obs.iter().rev().find(|(d, _)| *d <= on))
        .or_else(|| obs.first())
        .map(|(_, o)| *o)
}

/// A listing's observations with their days, in day order: most listings
/// have one, kept in place of a heap allocation.
type DatedListings<'a> = smallvec::SmallVec<[(NaiveDate, &'a Obs<Listing>); 1]>;

/// The observation a feedback row comes from (see [`Observation`]): a
/// dataset row is its own observation; a page is one observation. `hex` is
/// its evidence record's digest in hex (any text when it has no provenance).
fn observation_of<'a>(o: &'a impl FeedbackRow, f: &model::FeedbackRef<'a>, hex: &'a str) -> Observation<'a> {
    match f.provenance {
        Some((_, profile, rule)) => {
            let head = Cow::Borrowed(hex);
            Observation { head, rule: profile.starts_with("dataset:").then_some(rule) }
        }
        None => Observation { head: o.id(), rule: None },
    }
}

/// How many sightings the one observation that shows them most has.
fn most_in_one_observation(sightings: &[Sighting<'_>], group: &[usize]) -> u64 {
    if group.len() == 1 {
        return 1;
    }
    let mut names: Vec<&Observation<'_>> = group.iter().map(|&i| &sightings[i].observation).collect();
    names.sort_unstable();
    names.chunk_by(|a, b| a == b).map(|run| run.len() as u64).max().unwrap_or(1)
}

/// A unit as the feedback estimator finds it, borrowing its names from the
/// rows: a [`UnitSink`] keeps what it needs of it.
pub(crate) struct UnitRef<'a> {
    pub(crate) method: Method,
    pub(crate) market: &'a str,
    pub(crate) vendor: &'a str,
    pub(crate) listing: &'a str,
    pub(crate) category: Option<&'a str>,
    pub(crate) origin: Option<&'a str>,
    pub(crate) destinations: &'a [String],
    pub(crate) days: DayRange,
    pub(crate) start_unknown: bool,
    pub(crate) sales: f64,
    pub(crate) scale: f64,
    pub(crate) price: Option<&'a UsdAmount>,
    /// How many source rows: [`Unit::sources`]' length.
    pub(crate) inputs: usize,
}

/// Where found units go: whole [`Unit`]s, or straight into a table's sums.
pub(crate) trait UnitSink {
    /// Takes a unit; `sources` names its source rows (called only by a sink
    /// that keeps them).
    fn unit(&mut self, u: UnitRef<'_>, sources: &dyn Fn() -> Vec<String>);
}

impl UnitSink for Vec<Unit> {
    fn unit(&mut self, u: UnitRef<'_>, sources: &dyn Fn() -> Vec<String>) {
        self.push(Unit {
            method: u.method,
            market: u.market.to_owned(),
            vendor: u.vendor.to_owned(),
            listing: u.listing.to_owned(),
            category: u.category.map(str::to_owned),
            origin: u.origin.map(str::to_owned),
            destinations: u.destinations.to_vec(),
            days: u.days,
            start_unknown: u.start_unknown,
            sales: u.sales,
            scale: u.scale,
            price: u.price.cloned(),
            sources: sources(),
        });
    }
}

/// `ShownDate::parse(shown)`, remembered on this thread across parts: a
/// market shows the same few hundred dates to all its accounts, and parsing
/// one (several regexes) costs more than the rest of a row's dating. The
/// memory is bounded: past `LIMIT` texts it starts over.
fn shown_date(shown: &str) -> ShownDate {
    const LIMIT: usize = 1 << 16;
    thread_local! {
        static PARSED: std::cell::RefCell<HashMap<String, ShownDate, FastState>> = Default::default();
    }
    PARSED.with_borrow_mut(|parsed| {
        if let Some(&d) = parsed.get(shown) {
            return d;
        }
        if parsed.len() >= LIMIT {
            parsed.clear();
        }
        *parsed.entry(shown.to_owned()).or_insert_with(|| ShownDate::parse(shown))
    })
}

fn feedback_units<R: FeedbackRow>(
    by_title: &ListingsByTitle<'_>,
    feedback: &[R],
    rates: &Rates,
    scale: &HashMap<String, f64>,
    out: &mut Units,
    sink: &mut impl UnitSink,
) {
    // A part's identities are written into a buffer each thread keeps from
    // part to part: grown from empty, an account's megabytes of identities
    // were copied at each doubling (a third of the estimate's growth
    // samples at 10M). One larger than this is not kept.
    const KEEP_AT_MOST: usize = 64 << 20;
    thread_local! {
        static IDENTITIES: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
    }
    let mut identities = IDENTITIES.take();
    identities.clear();
    feedback_units_in(&mut identities, by_title, feedback, rates, scale, out, sink);
    if identities.capacity() <= KEEP_AT_MOST {
        IDENTITIES.set(identities);
    }
}

/// [`feedback_units`], the identities written into `identities` (empty).
fn feedback_units_in<R: FeedbackRow>(
    identities: &mut String,
    by_title: &ListingsByTitle<'_>,
    feedback: &[R],
    rates: &Rates,
    scale: &HashMap<String, f64>,
    out: &mut Units,
    sink: &mut impl UnitSink,
) {
    // Each row's days, and its identity written into one buffer for the
    // whole part; then the sightings borrow from it.
    // (row, day seen, days its date allows, its record's hex); a row's
    // fields are asked of it again where needed, not kept (200 bytes a row).
    let mut used: Vec<(&R, NaiveDate, DayRange, u32)> = Vec::with_capacity(feedback.len());
    let mut ends: Vec<usize> = Vec::with_capacity(feedback.len());
    // Feedback of one account repeats a few observation times, shown dates
    // ("39 days ago") and evidence records thousands of times: each is read
    // (or written in hex) once.
    let mut observed_days = ObservedDays::default();
    // Each evidence record's digest in hex, by the record's number.
    let (mut hexes, mut records): (Vec<String>, RunNumbering<model::Sha256>) = (Vec::new(), RunNumbering::new());
    let (mut identity_head, mut identity_head_of) = (String::new(), None);
    for o in feedback {
        let f = o.record();
        let Some(observed) = observed_days.of(f.observed_at, o.captured_at()) else {
            out.problems.push(Problem { id: o.id().into_owned(), message: "feedback has no observation date; not counted".into(), days: None });
            continue;
        };
        let shown = f.date.and_then(|s| shown_date(s).range(observed));
        let days = match shown {
            Some(r) => r,
            None => {
                out.problems.push(Problem {
                    id: o.id().into_owned(),
                    message: format!("feedback date {:?} not understood; dated to its observation", f.date.unwrap_or("")),
                    days: Some(DayRange::day(observed)),
                });
                DayRange::day(observed)
            }
        };
        if days.earliest > observed {
            // No page shows feedback left after it was captured: the capture
            // time given, or the date shown, is wrong.
            out.problems.push(Problem {
                id: o.id().into_owned(),
                message: format!(
                    "feedback dated {:?} ({}), after the day it was seen ({observed}): the capture time or the shown date is wrong; counted on its shown date",
                    f.date.unwrap_or(""),
                    days.earliest
                ),
                days: Some(days),
            });
        }
        // Runs of rows share market, vendor and listing: that part of the
        // identity is normalized once per run.
        let head = (f.market, f.vendor, f.listing);
        if identity_head_of != Some(head) {
            identity_head.clear();
            push_identity(&mut identity_head, [f.market, f.vendor.unwrap_or(""), f.listing.unwrap_or("")]);
            identity_head.push('\u{1f}');
            identity_head_of = Some(head);
        }
        identities.push_str(&identity_head);
        push_identity(identities, [f.rating.unwrap_or(""), f.buyer.unwrap_or(""), f.text.unwrap_or("")]);
        ends.push(identities.len());
        let hex = match f.provenance {
            None => 0,
            Some((evidence, _, _)) => {
                let (record, new) = records.number(evidence);
                if new {
                    hexes.push(evidence.to_hex());
                }
                record
            }
        };
        used.push((o, observed, days, hex));
    }
    let identities: &str = identities;
    let sightings: Vec<Sighting<'_>> = used
        .iter()
        .enumerate()
        .map(|(i, (o, observed, days, hex))| Sighting {
            identity: &identities[if i == 0 { 0 } else { ends[i - 1] }..ends[i]],
            observation: observation_of(*o, &o.record(), hexes.get(*hex as usize).map_or("", String::as_str)),
            observed: *observed,
            days: *days,
        })
        .collect();
    out.feedback_sightings += sightings.len() as u64;
    let groups = group_by_identity(&sightings);
    // The lower bound does not trust shown dates: it merges every sighting
    // that could be the same feedback, so an identity counts as often as the
    // one observation that shows it most. (Agora's "N days ago" often does
    // not age between crawls, which makes date-aware matching count one
    // feedback twice.) Each date-aware unique carries its share of that.
    let most_in_one: Vec<u64> = groups.iter().map(|g| most_in_one_observation(&sightings, g)).collect();
    let group_of = &groups.of;
    let uniques = dedup_groups(&sightings, &groups);
    out.feedback_unique += uniques.len() as u64;
    let mut date_aware = vec![0u64; most_in_one.len()];
    for u in &uniques {
        date_aware[group_of[u.sightings[0]]] += 1;
    }
    // Many feedback name one listing: its observations are looked up once,
    // in its account's titles (looked up once per account as shown).
    // With each, whether the title is several listings' (see [`several_listings`]).
    type Found<'l, 'o> = Option<(&'l DatedListings<'o>, bool)>;
    let mut listing_obs: HashMap<(&str, &str, &str), Found<'_, '_>, FastState> = HashMap::default();
    type ListingLookup<'k, 'l, 'o> = ((&'k str, &'k str, &'k str), Found<'l, 'o>);
    let mut last_listing: Option<ListingLookup<'_, '_, '_>> = None;
    let mut accounts: HashMap<(&str, &str), Option<&Titles>, FastState> = HashMap::default();
    let mut title = String::new();
    let mut last_priced: Option<(&Obs<Listing>, Result<UsdAmount, crate::ConvertError>)> = None;
    // Each title several listings share, indexed once (by its address):
    // a scan of the title per feedback was quadratic in a vendor's
    // listings of one title (found by a review).
    let mut shared_titles: HashMap<usize, SharedTitle<'_>, FastState> = HashMap::default();
    for u in uniques {
        let g = group_of[u.sightings[0]];
        let lower_share = most_in_one[g] as f64 / date_aware[g].max(1) as f64;
        let first = used[u.sightings[0]].0;
        let f = first.record();
        let vendor = f.vendor.unwrap_or("?");
        let on = u.days.middle();
        let observations = f
            .listing
            .and_then(|t| {
                // Feedback of one listing mostly come one after another.
                let key = (f.market, vendor, t);
                match last_listing {
                    Some((k, found)) if k == key => found,
                    _ => {
                        let found = *listing_obs.entry(key).or_insert_with(|| {
                            let titles = *accounts.entry((f.market, vendor)).or_insert_with(|| by_title.titles(f.market, vendor));
                            title.clear();
                            crate::dedup::push_normalized(&mut title, t);
                            titles.and_then(|titles| titles.get(title.as_str())).map(|obs| (obs, several_listings(obs)))
                        });
                        last_listing = Some((key, found));
                        found
                    }
                }
            });
        // A title several listings share is priced (and filed) by the
        // listing the feedback's own row shows, where that shows a price
        // (one that prices no sale says why, as a title of one listing
        // does); else, and for any other title, by all its observations.
        let own = match observations {
            Some((obs, true)) => {
                let shared = shared_titles.entry(obs.as_ptr() as usize).or_insert_with(|| SharedTitle::of(obs));
                shared.own_listing(u.sightings.iter().map(|&i| used[i].0.record()), by_title)
            }
            _ => None,
        };
        let observations = observations.map(|(obs, _)| obs);
        let listing = match own {
            Some(own) if own.iter().any(|(_, o)| shows_price(&o.record)) => pricing_observation(own, on, by_title),
            _ => observations.and_then(|obs| pricing_observation(obs, on, by_title)),
        };
        let priced = match (f.price, listing) {
            (Some((amount, currency)), _) => Cow::Owned(to_usd(amount, currency, on, rates)),
            // Only a holding price shown: none to price the sale at.
            (None, Some(l)) if by_title.holding(l).is_some() => Cow::Owned(holding_error(l, by_title.holding(l).unwrap_or_default(), on, rates)),
            // A listing that shows its USD price is priced the same on any
            // day: the runs of feedback naming it reuse the one reading.
            (None, Some(l)) if l.record.price_usd.is_some() => {
                if last_priced.as_ref().is_some_and(|(seen, _)| !std::ptr::eq(*seen, l)) {
                    last_priced = None;
                }
                Cow::Borrowed(&last_priced.get_or_insert_with(|| (l, listing_usd(&l.record, on, rates))).1)
            }
            (None, Some(l)) => Cow::Owned(listing_usd(&l.record, on, rates)),
            (None, None) => Cow::Owned(Err(crate::ConvertError::NoPrice)),
        };
        let price = match priced.as_ref() {
            Ok(p) => Some(p),
            Err(e) => {
                let why = if listing.is_none() && f.price.is_none() { "no listing observation to price it".to_owned() } else { e.to_string() };
                out.problems.push(Problem { id: first.id().into_owned(), message: format!("{why}; counted without revenue"), days: Some(u.days) });
                None
            }
        };
        let l = listing.map(|o| &o.record);
        // What the pricing row does not show (a vendorall row has no
        // category), the listing's other observations may: the latest on or
        // before the day that shows it, else the first. (302 Agora sales
        // were filed under category "?", found by a review.) A feedback's own
        // listing, where the title is several listings', comes before a
        // pricing row of another listing.
        let in_own = listing.is_some_and(|p| own.is_none_or(|own| own.iter().any(|(_, o)| std::ptr::eq(*o, p))));
        let shown = |has: fn(&Listing) -> bool| -> Option<&Listing> {
            let pricing_row = l.filter(|l| has(l));
            pricing_row
                .filter(|_| in_own)
                .or_else(|| latest_showing(own?, on, has))
                .or(pricing_row)
                .or_else(|| latest_showing(observations?, on, has))
        };
        let category = shown(|l| top_category(l).is_some()).and_then(top_category);
        let origin = shown(|l| l.ships_from.is_some()).and_then(|l| l.ships_from.as_deref());
        let destinations = shown(|l| !l.ships_to.is_empty()).map_or(&[][..], |l| l.ships_to.as_slice());
        let unit = UnitRef {
            method: Method::FeedbackCount,
            market: f.market,
            vendor,
            listing: f.listing.unwrap_or_default(),
            category,
            origin,
            destinations,
            days: u.days,
            start_unknown: false,
            sales: lower_share,
            scale: scale.get(f.market).copied().unwrap_or(1.0) / lower_share,
            price,
            inputs: u.sightings.len() + usize::from(listing.is_some()),
        };
        let sources = || {
            let mut ids: Vec<String> = u.sightings.iter().map(|&i| used[i].0.id().into_owned()).collect();
            if let Some(l) = listing {
                ids.push(l.id.clone());
            }
            ids
        };
        sink.unit(unit, &sources);
    }
}

/// What to group estimates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Market and vendor.
    Vendor,
    /// Market.
    Market,
    /// Market and top-level category.
    Category,
    /// Ships-from.
    Origin,
    /// Each ships-to destination (a listing shipping to several counts in each).
    Destination,
    /// Calendar month of the sale days (sales spread evenly over their days).
    Month,
}

impl GroupBy {
    /// Parses `vendor|market|category|origin|destination|month`.
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "vendor" => GroupBy::Vendor,
            "market" => GroupBy::Market,
            "category" => GroupBy::Category,
            "origin" => GroupBy::Origin,
            "destination" => GroupBy::Destination,
            "month" => GroupBy::Month,
            _ => return None,
        })
    }
}

/// Sales of one group by one method.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "EstimateWire")]
pub struct Estimate {
    /// Market (absent when grouping across markets).
    pub market: Option<String>,
    /// Vendor (with `--by vendor`).
    pub vendor: Option<String>,
    /// Category (with `--by category`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Origin (with `--by origin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Destination (with `--by destination`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// `YYYY-MM` (with `--by month`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// Method.
    pub method: Method,
    /// Central estimate of sales.
    pub sales: f64,
    /// Lower bound of sales (what was seen).
    pub sales_lower: f64,
    /// Central estimate of revenue, USD (priced sales only).
    pub revenue_usd: f64,
    /// Lower bound of revenue, USD.
    pub revenue_usd_lower: f64,
    /// Sales with no USD price, of the lower bound (`sales_lower`; counted
    /// there, not in revenue).
    pub unpriced_sales: f64,
    /// Sales (of the lower bound) whose first day is not known: counters'
    /// first values with no since or registration date, sold on or before
    /// the day they were seen ([`Unit::start_unknown`]). Counted in `sales`.
    pub undated_sales: f64,
    /// Units that went in.
    pub units: u64,
    /// Source rows behind the units (listing and feedback row ids).
    pub inputs: u64,
    /// First sale day; None when some sales have no known first day
    /// (`undated_sales` above 0).
    pub first_day: Option<NaiveDate>,
    /// Last sale day.
    pub last_day: NaiveDate,
    /// How the central estimate was scaled.
    pub coverage_note: String,
}

/// [`Estimate`] as it is written out (JSON, and the API): a revenue is
/// `null` when no sale of the group has a price, where the text says "n/a"
/// (0.0 read as a measured zero revenue).
#[derive(Serialize)]
struct EstimateWire {
    /// Market (absent when grouping across markets).
    market: Option<String>,
    /// Vendor (with `--by vendor`).
    vendor: Option<String>,
    /// Category (with `--by category`).
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    /// Origin (with `--by origin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    /// Destination (with `--by destination`).
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    /// `YYYY-MM` (with `--by month`).
    #[serde(skip_serializing_if = "Option::is_none")]
    month: Option<String>,
    /// Method.
    method: Method,
    /// Central estimate of sales.
    sales: f64,
    /// Lower bound of sales (what was seen).
    sales_lower: f64,
    /// Central estimate of revenue, USD (priced sales only).
    revenue_usd: Option<f64>,
    /// Lower bound of revenue, USD.
    revenue_usd_lower: Option<f64>,
    /// Sales with no USD price, of the lower bound (`sales_lower`; counted
    /// there, not in revenue).
    unpriced_sales: f64,
    /// Sales (of the lower bound) whose first day is not known: counters'
    /// first values with no since or registration date, sold on or before
    /// the day they were seen ([`Unit::start_unknown`]). Counted in `sales`.
    undated_sales: f64,
    /// Units that went in.
    units: u64,
    /// Source rows behind the units (listing and feedback row ids).
    inputs: u64,
    /// First sale day; None when some sales have no known first day
    /// (`undated_sales` above 0).
    first_day: Option<NaiveDate>,
    /// Last sale day.
    last_day: NaiveDate,
    /// How the central estimate was scaled.
    coverage_note: String,
}

/// False when there are sales and none of them has a USD price: their
/// revenue is unknown, not zero.
pub fn revenue_known(sales_lower: f64, unpriced_sales: f64) -> bool {
    !(sales_lower > 0.0 && unpriced_sales >= sales_lower)
}

impl Estimate {
    /// [`revenue_known`] of the group.
    pub fn revenue_known(&self) -> bool {
        revenue_known(self.sales_lower, self.unpriced_sales)
    }
}

impl From<Estimate> for EstimateWire {
    fn from(e: Estimate) -> Self {
        let known = e.revenue_known();
        EstimateWire {
            market: e.market,
            vendor: e.vendor,
            category: e.category,
            origin: e.origin,
            destination: e.destination,
            month: e.month,
            method: e.method,
            sales: e.sales,
            sales_lower: e.sales_lower,
            revenue_usd: known.then_some(e.revenue_usd),
            revenue_usd_lower: known.then_some(e.revenue_usd_lower),
            unpriced_sales: e.unpriced_sales,
            undated_sales: e.undated_sales,
            units: e.units,
            inputs: e.inputs,
            first_day: e.first_day,
            last_day: e.last_day,
            coverage_note: e.coverage_note,
        }
    }
}

/// An estimate's first sale day as text: the date, or `unknown` when some
/// of its sales have no known first day.
pub fn first_day_text(e: &Estimate) -> String {
    e.first_day.map_or_else(|| "unknown".to_owned(), |d| d.to_string())
}

pub(crate) fn month_starts(r: &DayRange) -> Vec<(NaiveDate, DayRange)> {
    // (first day of month, the days of r inside it)
    let mut out = Vec::new();
    let mut d = r.earliest;
    while d <= r.latest {
        let m0 = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d);
        let next = m0.checked_add_months(chrono::Months::new(1)).unwrap_or(r.latest);
        let end = (next.pred_opt().unwrap_or(next)).min(r.latest);
        out.push((m0, DayRange { earliest: d, latest: end }));
        match end.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

/// Groups units into estimates, keeping only sale days within `from..=to`
/// (a unit spanning the limit counts pro rata). Merges them first
/// ([`UnitTable`](crate::UnitTable)); a case keeps the merged table.
pub fn aggregate(units: &[Unit], by: GroupBy, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<Estimate> {
    crate::UnitTable::of(units).aggregate(by, from, to)
}

/// Listing counts and prices of one vendor on one market (method `listing_summary`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListingSummary {
    /// Market.
    pub market: String,
    /// Vendor.
    pub vendor: String,
    /// Distinct listings.
    pub listings: u64,
    /// Listing observations.
    pub observations: u64,
    /// Median USD price over observations with one.
    pub median_price_usd: Option<f64>,
    /// Observations with a USD price.
    pub priced: u64,
    /// First observation day.
    pub first_seen: Option<NaiveDate>,
    /// Last observation day.
    pub last_seen: Option<NaiveDate>,
}

/// Listing counts and median prices per market and vendor.
pub fn listing_summary<'a>(listings: impl IntoIterator<Item = &'a Obs<Listing>>, rates: &Rates) -> Vec<ListingSummary> {
    struct Acc {
        keys: BTreeSet<String>,
        n: u64,
        prices: Vec<f64>,
        first: Option<NaiveDate>,
        last: Option<NaiveDate>,
    }
    let mut acc: BTreeMap<(String, String), Acc> = BTreeMap::new();
    let listings: Vec<&Obs<Listing>> = listings.into_iter().collect();
    let keys = crate::named::listing_identities(&listings.iter().map(|o| &o.record).collect::<Vec<_>>());
    for (o, key) in listings.into_iter().zip(keys) {
        let l = &o.record;
        let seen = seen_range(l.observed_at.as_deref(), o.captured_at.as_deref());
        let a = acc
            .entry((l.market.clone(), l.vendor.clone().unwrap_or_else(|| "?".into())))
            .or_insert_with(|| Acc { keys: BTreeSet::new(), n: 0, prices: Vec::new(), first: None, last: None });
        a.keys.insert(key);
        a.n += 1;
        if let Some(seen) = seen {
            // A source that names only the month saw it some day of that
            // month: first and last seen are the month's ends, as in the
            // report and linking.
            a.first = Some(a.first.map_or(seen.earliest, |f| f.min(seen.earliest)));
            a.last = Some(a.last.map_or(seen.latest, |x| x.max(seen.latest)));
            // Priced on the day it was seen (a month's middle day).
            if let Ok(p) = listing_usd(l, seen.middle(), rates) {
                a.prices.push(p.usd);
            }
        }
    }
    acc.into_iter()
        .map(|((market, vendor), mut a)| {
            a.prices.sort_by(f64::total_cmp);
            let median = match a.prices.len() {
                0 => None,
                n if n % 2 == 1 => Some(a.prices[n / 2]),
                n => Some((a.prices[n / 2 - 1] + a.prices[n / 2]) / 2.0),
            };
            ListingSummary {
                market,
                vendor,
                listings: a.keys.len() as u64,
                observations: a.n,
                median_price_usd: median,
                priced: a.prices.len() as u64,
                first_seen: a.first,
                last_seen: a.last,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Listing identities as first written: a text per row, grouped and
    /// numbered as text. `occurrence_keys` must give each row the same text.
    fn occurrence_texts_by_text(dated: &[(NaiveDate, &Obs<Listing>)]) -> Vec<String> {
        type Group<'a> = (Result<model::Sha256, &'a str>, NaiveDate, String, bool);
        let mut groups: BTreeMap<Group<'_>, Vec<(u64, &str, usize)>> = BTreeMap::new();
        let aliases = Aliases::of(dated.iter().map(|(_, o)| &o.record));
        for (i, (day, o)) in dated.iter().enumerate() {
            let evidence = o.record.provenance.as_ref().map_or(Err(o.id.as_str()), |p| Ok(p.evidence));
            let ordinal = o.id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
            // Rows keyed by the market's listing id or URL are one listing
            // (rows matched to one are numbered as unnamed rows are).
            let mut key = String::new();
            aliases.write_key(&mut key, &o.record);
            let named = o.record.market_listing_id.is_some() || o.record.url.is_some();
            groups.entry((evidence, *day, key, named)).or_default().push((ordinal, &o.id, i));
        }
        let mut texts = vec![String::new(); dated.len()];
        for ((_, _, base, named), mut rows) in groups {
            rows.sort_unstable();
            for (k, (_, _, i)) in rows.into_iter().enumerate() {
                texts[i] = if k == 0 || named { base.clone() } else { format!("{base}\u{1f}#{k}") };
            }
        }
        texts
    }

    fn listing_obs(id: String, evidence: u8, title: &str, sold_since: &str, market_id: Option<&str>) -> Obs<Listing> {
        let record = Listing {
            market: "m".into(),
            title: title.into(),
            vendor: Some("V".into()),
            sold_since: (!sold_since.is_empty()).then(|| sold_since.into()),
            market_listing_id: market_id.map(Into::into),
            provenance: (evidence > 0).then(|| model::Provenance { evidence: model::Sha256::of(&[evidence]), profile: "p".into(), rule: "r".into() }),
            ..Listing::default()
        };
        Obs { id, record, captured_at: None }
    }

    /// Rows with one text share an identity, rows with two texts do not, and
    /// each row's text is the one written row by row, on listings that repeat
    /// in and across records and days, including keys that spell out another
    /// row's numbered text (a "sold since" or market id ending `\u{1f}#1`).
    fn check_occurrence_keys(dated: &[(NaiveDate, &Obs<Listing>)]) {
        let keys = occurrence_keys(dated);
        let texts = occurrence_texts_by_text(dated);
        for i in 0..dated.len() {
            assert_eq!(keys.text(i), texts[i], "row {i}");
            for j in 0..dated.len() {
                assert_eq!(keys.of[i] == keys.of[j], texts[i] == texts[j], "rows {i} and {j}");
            }
        }
        let distinct: std::collections::HashSet<&String> = texts.iter().collect();
        assert_eq!(keys.texts.len(), distinct.len());
    }

    #[test]
    fn identical_listings_of_one_record_and_day_are_numbered() {
        let d1 = NaiveDate::from_ymd_opt(2014, 1, 1).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2014, 1, 2).unwrap();
        let rows = [
            listing_obs("a-1".into(), 1, "x", "", None),
            listing_obs("a-2".into(), 1, "x", "", None),
            listing_obs("a-3".into(), 1, "X ", "", None),
            listing_obs("b-1".into(), 2, "x", "", None),
            listing_obs("b-2".into(), 2, "x", "", None),
            // Its key is the text of a second "x" of one record and day.
            listing_obs("c-1".into(), 3, "x", "\u{1f}#1", None),
            listing_obs("c-2".into(), 3, "x", "", None),
            listing_obs("d-1".into(), 0, "y", "", Some("7")),
        ];
        let dated: Vec<(NaiveDate, &Obs<Listing>)> = rows.iter().enumerate().map(|(i, o)| (if i == 4 { d2 } else { d1 }, o)).collect();
        check_occurrence_keys(&dated);
        let keys = occurrence_keys(&dated);
        // a-2, the second "x" of its record and day, is c-1's key spelled out.
        assert_eq!(keys.of[1], keys.of[5]);
        assert_eq!(keys.text(1), "m\u{1f}v\u{1f}x\u{1f}\u{1f}#1");
        // b-2 is seen on another day: the first of its group, as b-1 and a-1 are.
        assert_eq!((keys.of[4], keys.of[3], keys.of[6]), (keys.of[0], keys.of[0], keys.of[0]));
        assert_eq!(keys.text(2), "m\u{1f}v\u{1f}x\u{1f}\u{1f}#2");
        assert_eq!(keys.texts.len(), 4);
    }

    /// Rows of one record and day that share the market's listing id are
    /// that one listing seen twice, not two (Hansa: 14,747 listings seen
    /// where the data has 14,488 ids).
    #[test]
    fn rows_sharing_a_listing_id_are_one_listing() {
        let d1 = NaiveDate::from_ymd_opt(2016, 12, 11).unwrap();
        let rows = [listing_obs("a-1".into(), 1, "x", "", Some("7")), listing_obs("a-2".into(), 1, "x", "", Some("7")), listing_obs("a-3".into(), 1, "x", "", Some("8"))];
        let dated: Vec<(NaiveDate, &Obs<Listing>)> = rows.iter().map(|o| (d1, o)).collect();
        check_occurrence_keys(&dated);
        let keys = occurrence_keys(&dated);
        assert_eq!(keys.of[0], keys.of[1]);
        assert_ne!(keys.of[0], keys.of[2]);
        assert_eq!(keys.texts.len(), 2);
    }

    /// Rows with no id that show the title of one named listing are that
    /// listing, in coverage as in listing counts (an id-less row of each
    /// vendorall file, and the product file's); a second identical row of one
    /// record and day is another listing, numbered as before (found by a
    /// review: stillinger's four LSD rows of one day, one at nine times the
    /// price, were one).
    #[test]
    fn rows_without_an_id_showing_a_named_listings_title_are_that_listing() {
        let d1 = NaiveDate::from_ymd_opt(2014, 1, 1).unwrap();
        let rows = [
            listing_obs("p-1".into(), 1, "Lorazepam 1 mg, x 50", "", Some("kiX")),
            listing_obs("v-1".into(), 2, "lorazepam 1 mg x 50", "", None),
            listing_obs("v-2".into(), 2, "Lorazepam 1 mg x 50", "", None),
            listing_obs("w-1".into(), 3, "Lorazepam 1 mg x 50 Top quality generic of Ativan, correct dosage ...", "", None),
            listing_obs("w-2".into(), 3, "Diazepam", "", None),
        ];
        let dated: Vec<(NaiveDate, &Obs<Listing>)> = rows.iter().map(|o| (d1, o)).collect();
        check_occurrence_keys(&dated);
        let keys = occurrence_keys(&dated);
        assert_eq!([keys.of[1], keys.of[3]], [keys.of[0]; 2]);
        assert_eq!(keys.text(2), format!("{}\u{1f}#1", keys.text(0)));
        assert_ne!(keys.of[4], keys.of[0]);
        assert_eq!(keys.texts.len(), 3);
        let summary = listing_summary(&rows, &Rates::default());
        assert_eq!((summary[0].listings, summary[0].observations), (2, 5));
    }

    /// A counter past `model::MOST_SOLD` (from a page no importer checked)
    /// counts nothing and says so; the listing's other readings count.
    #[test]
    fn an_impossible_counter_is_noted_not_counted() {
        let (d1, d2) = (NaiveDate::from_ymd_opt(2017, 4, 1).unwrap(), NaiveDate::from_ymd_opt(2017, 4, 2).unwrap());
        let mut rows = [listing_obs("a-1".into(), 1, "x", "", Some("7")), listing_obs("b-1".into(), 2, "x", "", Some("7"))];
        rows[0].record.sold = Some(10);
        rows[1].record.sold = Some(u64::MAX);
        let dated: Vec<(NaiveDate, &Obs<Listing>)> = vec![(d1, &rows[0]), (d2, &rows[1])];
        let keys = occurrence_keys(&dated);
        let mut out = Units::default();
        let by_title = ListingsByTitle::of(&dated, &Rates::default());
        sold_counter_units(&dated, &by_title, &keys, &Rates::default(), &HashMap::new(), &mut out);
        assert_eq!(out.units.iter().map(|u| u.sales).sum::<f64>(), 10.0);
        assert!(out.problems.iter().any(|p| p.id == "b-1" && p.message.contains("more than any listing sells")), "{:?}", out.problems);
    }

    proptest! {
        // Any id, numbered or not, `-` or not, any text before.
        #[test]
        fn row_ordinals_are_the_numbers_after_the_last_dash(id in "(\\PC{0,12}-){0,3}(\\+?[0-9]{1,21}|\\PC{0,4})") {
            let as_text: u64 = id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
            prop_assert_eq!(row_ordinal(&id), as_text);
        }

        /// The stamped counts are the sizes of a set of identities per
        /// market and per market and day, also when one identity turns up
        /// under two markets.
        #[test]
        fn identities_seen_are_the_sets_sizes(
            rows in proptest::collection::vec((0u32..4, 0u8..3, 0u32..6), 0..60)
        ) {
            let markets = ["m", "n", "o"];
            let mut rows = rows;
            rows.sort_by_key(|r| r.0);
            let obs: Vec<Obs<Listing>> = rows
                .iter()
                .enumerate()
                .map(|(i, &(_, market, _))| {
                    let mut o = listing_obs(format!("r{i}"), 0, "t", "", None);
                    o.record.market = markets[market as usize].into();
                    o
                })
                .collect();
            let dated: Vec<(NaiveDate, &Obs<Listing>)> =
                rows.iter().zip(&obs).map(|(&(day, ..), o)| (NaiveDate::from_ymd_opt(2014, 1, 1 + day).unwrap(), o)).collect();
            let of: Vec<u32> = rows.iter().map(|r| r.2).collect();
            let mut sets: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
            let mut day_sets: BTreeMap<(&str, NaiveDate), BTreeSet<u32>> = BTreeMap::new();
            for ((day, o), &k) in dated.iter().zip(&of) {
                sets.entry(o.record.market.as_str()).or_default().insert(k);
                day_sets.entry((o.record.market.as_str(), *day)).or_default().insert(k);
            }
            let (seen, seen_day) = identities_seen(&dated, &of, 6);
            prop_assert_eq!(seen, sets.into_iter().map(|(m, s)| (m, s.len() as u64)).collect::<BTreeMap<_, _>>());
            prop_assert_eq!(seen_day, day_sets.into_iter().map(|(k, s)| (k, s.len() as u64)).collect::<BTreeMap<_, _>>());
        }

        #[test]
        fn occurrence_keys_are_the_texts_written_row_by_row(
            rows in proptest::collection::vec((0u8..4, 0u32..3, 0u8..3, 0u8..3, 0u8..4, proptest::option::of(0u8..3)), 0..40)
        ) {
            let titles = ["x", "X ", "y"];
            let sold_since = ["", "\u{1f}#1", "\u{1f}#2"];
            let ids = ["7", "7\u{1f}#1", "7\u{1f}#2"];
            let obs: Vec<Obs<Listing>> = rows
                .iter()
                .enumerate()
                .map(|(i, &(evidence, _, title, since, ordinal, id))| {
                    listing_obs(format!("r{i}-{ordinal}"), evidence, titles[title as usize], sold_since[since as usize], id.map(|n| ids[n as usize]))
                })
                .collect();
            let dated: Vec<(NaiveDate, &Obs<Listing>)> = rows
                .iter()
                .zip(&obs)
                .map(|(&(_, day, ..), o)| (NaiveDate::from_ymd_opt(2014, 1, 1 + day).unwrap(), o))
                .collect();
            check_occurrence_keys(&dated);
        }
    }

    /// The remembered reading of a shown date is the reading, for texts seen
    /// again and past the point where the memory starts over.
    #[test]
    fn remembered_shown_dates_are_parsed_ones() {
        let forms = ["3 days ago", "1d 14h", "yesterday", "22:58", "Feb 17, 2020 03:14", "2 weeks ago", "nonsense", "an hour ago"];
        for round in 0..2 {
            for f in forms {
                assert_eq!(shown_date(f), ShownDate::parse(f), "{f:?} in round {round}");
            }
        }
        for n in 0..(1 << 16) + 100 {
            let f = format!("{n} days ago");
            assert_eq!(shown_date(&f), ShownDate::parse(&f), "{f:?}");
        }
        for f in forms {
            assert_eq!(shown_date(f), ShownDate::parse(f), "{f:?} after the memory started over");
        }
    }
}
