//! Sales units merged by everything an estimate groups or filters by: the form
//! [`aggregate`](crate::aggregate) reads, and what a case keeps beside its
//! store so that a query does not recompute the units.
//!
//! Why merging is exact: every figure of an estimate is a sum over units of
//! `sales × share` (times the market's scale, and the unit price for revenue),
//! where `share` is the part of the unit's days inside the query's window. Two
//! units with the same method, market, vendor, category, origin, destinations,
//! days and scale have the same share in every window and fall in the same
//! group for every `--by`, so their sums can be added up front.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::dates::DayRange;
use crate::numbers::Numbers;
use crate::FastState;
use crate::estimate::{month_starts, Coverage, Estimate, GroupBy, Method, Problem, Unit, UnitRef, UnitSink, Units, MIN_COVERAGE_TO_SCALE};

/// What [`units`](crate::units) found, in the compact form a case keeps
/// beside its store: the merged units, their [`Rollup`], and everything
/// else [`Units`] says.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    /// Everything but the day-level table: small, enough for most queries.
    pub summary: LedgerSummary,
    /// The units merged at day level: for day windows and months.
    pub table: UnitTable,
}

/// The small part of a [`Ledger`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerSummary {
    /// The units merged over all their days.
    pub rollup: Rollup,
    /// Units found.
    pub units: u64,
    /// Rows kept out of (part of) the estimates.
    pub problems: Vec<Problem>,
    /// Coverage per market (whole) and per crawl day.
    pub coverage: Vec<Coverage>,
    /// Feedback sightings read.
    pub feedback_sightings: u64,
    /// Unique feedback after deduplication.
    pub feedback_unique: u64,
}

impl Ledger {
    /// The ledger of `units`.
    pub fn of(units: Units) -> Ledger {
        Ledger::of_parts(UnitTableBuilder::default(), units)
    }

    /// The ledger of the units merged into `table` and of `rest` (units not
    /// merged yet, problems, coverage and counts).
    pub fn of_parts(table: UnitTableBuilder, rest: Units) -> Ledger {
        let (table, rest) = Ledger::table_of_parts(table, rest);
        Ledger { summary: LedgerSummary::of(&table, rest), table }
    }

    /// [`Ledger::of_parts`] in two steps: the day-level table, and what else
    /// its summary ([`LedgerSummary::of`]) needs, so that a caller can make
    /// the summary while it writes the table out.
    pub fn table_of_parts(mut table: UnitTableBuilder, mut rest: Units) -> (UnitTable, Units) {
        table.add(&std::mem::take(&mut rest.units));
        (table.finish(), rest)
    }
}

impl LedgerSummary {
    /// The summary of `table` and of `rest`'s problems, coverage and counts
    /// (its units are in the table: see [`Ledger::table_of_parts`]).
    pub fn of(table: &UnitTable, rest: Units) -> LedgerSummary {
        LedgerSummary {
            rollup: table.rollup(),
            units: table.units(),
            problems: rest.problems,
            coverage: rest.coverage,
            feedback_sightings: rest.feedback_sightings,
            feedback_unique: rest.feedback_unique,
        }
    }
}

/// A [`UnitTable`] whose rows are merged regardless of days (each row's days
/// widened to all of its units'). Over all days every unit counts whole, so it
/// answers every grouping but months exactly, from far fewer rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup(UnitTable);

impl Rollup {
    /// Estimates over all days grouped by `by`; None for [`GroupBy::Month`],
    /// which needs each unit's days (ask the [`UnitTable`]).
    pub fn aggregate(&self, by: GroupBy) -> Option<Vec<Estimate>> {
        (by != GroupBy::Month).then(|| self.0.aggregate(by, None, None))
    }

    /// Rows after merging.
    pub fn rows(&self) -> usize {
        self.0.rows()
    }
}

/// The most a decoded kept file may allocate: a damaged or crafted file fails
/// to decode instead of exhausting memory.
const DECODE_LIMIT: usize = 1 << 32;

fn codec() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// How many times its own size a kept file may claim while decoded. Through
/// serde, bincode claims a string's length, read from the file, before its
/// bytes (a file that decodes claims no more than its size); serde sizes a
/// list ahead by at most 1 MiB. The margin is for what a later bincode may
/// claim besides.
const DECODED_PER_BYTE: usize = 64;

/// [`decode_kept`]'s limit for `len` bytes: [`DECODED_PER_BYTE`] times it, in
/// steps of four from 1 MiB to [`DECODE_LIMIT`]. A length read from the file
/// is claimed before its bytes are read, so with one limit for every file
/// five bytes made bincode allocate 2 GiB (found by the `sales_kept` fuzz
/// target); a claim is now bounded by what the file's size could hold.
fn kept_decode_limit(len: usize) -> usize {
    let want = len.saturating_mul(DECODED_PER_BYTE);
    let mut limit = 1 << 20;
    while limit < want && limit < DECODE_LIMIT {
        limit <<= 2;
    }
    limit
}

/// `(key, value)` as a kept file's bytes (bincode).
pub fn encode_kept<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec((key, value), codec()).map_err(|e| e.to_string())
}

/// Writes [`encode_kept`]'s bytes to `out` as they are made (a kept table
/// of hundreds of megabytes is not built in memory first).
pub fn write_kept<T: Serialize>(out: &mut impl std::io::Write, key: &str, value: &T) -> Result<(), String> {
    bincode::serde::encode_into_std_write((key, value), out, codec()).map(drop).map_err(|e| e.to_string())
}

/// bincode's varint (`config::standard()`): one byte below 251, else a
/// marker and the little-endian integer of the smallest width that holds it.
fn varint(buf: &mut Vec<u8>, n: u64) {
    if n < 251 {
        buf.push(n as u8);
    } else if n <= u64::from(u16::MAX) {
        buf.push(251);
        buf.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n <= u64::from(u32::MAX) {
        buf.push(252);
        buf.extend_from_slice(&(n as u32).to_le_bytes());
    } else {
        buf.push(253);
        buf.extend_from_slice(&n.to_le_bytes());
    }
}

/// A signed integer zigzagged into [`varint`].
fn signed(buf: &mut Vec<u8>, n: i64) {
    varint(buf, ((n << 1) ^ (n >> 63)) as u64);
}

/// A kept unit table row's flags: which of its floats are not written
/// (equal to what the flag says), and its method.
mod row_flags {
    /// Scale equal to the row before's (1.0 before the first).
    pub const SAME_SCALE: u8 = 1;
    /// Sales of 1.0.
    pub const ONE_SALE: u8 = 2;
    /// Unpriced sales of 0.0.
    pub const PRICED: u8 = 4;
    /// Unpriced sales equal to sales.
    pub const UNPRICED: u8 = 8;
    /// Revenue of 0.0.
    pub const NO_REVENUE: u8 = 16;
    /// The method's index is the flags shifted right by this (two bits).
    pub const METHOD_SHIFT: u32 = 5;
    pub const METHOD_MASK: u8 = 3;
    /// The row's first day is not known ([`super::Unit::start_unknown`]).
    pub const START_UNKNOWN: u8 = 128;
}

/// The methods by the index a kept row's flags give.
const METHODS: [Method; 3] = [Method::FeedbackCount, Method::SoldCounter, Method::VendorCounter];

/// `m`'s index in [`METHODS`] (a match, so that a new method is a compile
/// error here, not a row kept as another).
fn method_index(m: Method) -> u8 {
    match m {
        Method::FeedbackCount => 0,
        Method::SoldCounter => 1,
        Method::VendorCounter => 2,
    }
}

/// Writes a unit table as a case keeps it (`derived/sales-units.bin`), by
/// hand and in a format of its own rather than bincode's: the 9M-row table
/// of the 10M bench was 471 MB written while nothing else runs, most of it
/// four floats and two day numbers a row that nearly always repeat what a
/// flag or the row before says.
///
/// The format: `key` and the counts as bincode writes them (a varint, a
/// string as its length and bytes); the strings; the lists (a count, then
/// string ids); the rows (a count, then each row: a flags byte
/// ([`row_flags`]), market, vendor, category, origin and destinations ids,
/// its first day less the row before's (zigzag; 0 before the first), its
/// days less one, the floats its flags do not give (little-endian bits, in
/// the order scale, sales, unpriced, revenue), units and inputs); then the
/// table's unit count. Floats are compared and written as bits, so every
/// value (NaN, -0.0) reads back as it was. [`decode_kept_table`] reads it.
pub fn write_kept_table(out: &mut impl std::io::Write, key: &str, table: &UnitTable) -> std::io::Result<()> {
    use row_flags::*;
    fn text(buf: &mut Vec<u8>, s: &str) {
        varint(buf, s.len() as u64);
        buf.extend_from_slice(s.as_bytes());
    }
    const FLUSH_AT: usize = 1 << 16;
    let mut buf = Vec::with_capacity(FLUSH_AT + 1024);
    let flush = |buf: &mut Vec<u8>, out: &mut dyn std::io::Write, at: usize| {
        if buf.len() >= at {
            out.write_all(buf)?;
            buf.clear();
        }
        std::io::Result::Ok(())
    };
    text(&mut buf, key);
    varint(&mut buf, table.strings.len() as u64);
    for s in &table.strings {
        text(&mut buf, s);
        flush(&mut buf, out, FLUSH_AT)?;
    }
    varint(&mut buf, table.lists.len() as u64);
    for l in &table.lists {
        varint(&mut buf, l.len() as u64);
        for &id in l {
            varint(&mut buf, u64::from(id));
        }
        flush(&mut buf, out, FLUSH_AT)?;
    }
    varint(&mut buf, table.rows.len() as u64);
    let (mut scale, mut earliest) = (1f64.to_bits(), 0i32);
    for r in &table.rows {
        let (sales, unpriced, revenue) = (r.sales.to_bits(), r.unpriced.to_bits(), r.revenue.to_bits());
        let mut flags = method_index(r.method) << METHOD_SHIFT;
        flags |= if r.start_unknown { START_UNKNOWN } else { 0 };
        flags |= if r.scale.to_bits() == scale { SAME_SCALE } else { 0 };
        flags |= if sales == 1f64.to_bits() { ONE_SALE } else { 0 };
        flags |= if unpriced == 0 { PRICED } else if unpriced == sales { UNPRICED } else { 0 };
        flags |= if revenue == 0 { NO_REVENUE } else { 0 };
        buf.push(flags);
        for id in [r.market, r.vendor, r.category, r.origin, r.destinations] {
            varint(&mut buf, u64::from(id));
        }
        signed(&mut buf, i64::from(r.earliest) - i64::from(earliest));
        signed(&mut buf, i64::from(r.latest) - i64::from(r.earliest));
        for (x, given) in [(r.scale.to_bits(), SAME_SCALE), (sales, ONE_SALE), (unpriced, PRICED | UNPRICED), (revenue, NO_REVENUE)] {
            if flags & given == 0 {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        varint(&mut buf, r.units);
        varint(&mut buf, r.inputs);
        (scale, earliest) = (r.scale.to_bits(), r.earliest);
        flush(&mut buf, out, FLUSH_AT)?;
    }
    varint(&mut buf, table.units);
    flush(&mut buf, out, 0)
}

/// The unit table [`write_kept_table`] wrote, when its key is `key`; None
/// when the key differs or the bytes are not such a table (the caller
/// recomputes). Never panics, and allocates at most what the bytes could
/// hold (a table received with a case may be damaged or crafted). Ids are
/// not checked: the table reads a missing string or list as unknown.
pub fn decode_kept_table(bytes: &[u8], key: &str) -> Option<UnitTable> {
    use row_flags::*;
    struct Reader<'a>(&'a [u8]);
    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let (head, rest) = self.0.split_at_checked(n)?;
            self.0 = rest;
            Some(head)
        }
        fn byte(&mut self) -> Option<u8> {
            Some(self.take(1)?[0])
        }
        fn varint(&mut self) -> Option<u64> {
            let le = |b: &[u8]| b.iter().rev().fold(0u64, |n, &d| n << 8 | u64::from(d));
            match self.byte()? {
                n @ 0..=250 => Some(u64::from(n)),
                251 => Some(le(self.take(2)?)),
                252 => Some(le(self.take(4)?)),
                253 => Some(le(self.take(8)?)),
                _ => None,
            }
        }
        fn id(&mut self) -> Option<u32> {
            u32::try_from(self.varint()?).ok()
        }
        fn signed(&mut self) -> Option<i64> {
            let n = self.varint()?;
            Some((n >> 1) as i64 ^ -((n & 1) as i64))
        }
        fn day(&mut self, from: i32) -> Option<i32> {
            // Checked: a damaged difference can be near ±2^63.
            i32::try_from(i64::from(from).checked_add(self.signed()?)?).ok()
        }
        fn float(&mut self) -> Option<f64> {
            Some(f64::from_le_bytes(self.take(8)?.try_into().ok()?))
        }
        /// A count of items of at least `least` bytes each, and the room
        /// the bytes left could hold.
        fn count(&mut self, least: usize) -> Option<(u64, usize)> {
            let n = self.varint()?;
            Some((n, usize::try_from(n).unwrap_or(usize::MAX).min(self.0.len() / least)))
        }
        fn text(&mut self) -> Option<&'a str> {
            let len = usize::try_from(self.varint()?).ok()?;
            std::str::from_utf8(self.take(len)?).ok()
        }
    }
    let mut r = Reader(bytes);
    if r.text()? != key {
        return None;
    }
    let (n, room) = r.count(1)?;
    let mut strings = Vec::with_capacity(room);
    for _ in 0..n {
        strings.push(r.text()?.to_owned());
    }
    let (n, room) = r.count(1)?;
    let mut lists = Vec::with_capacity(room);
    for _ in 0..n {
        let (n, room) = r.count(1)?;
        let mut list = Vec::with_capacity(room);
        for _ in 0..n {
            list.push(r.id()?);
        }
        lists.push(list);
    }
    // A row is at least 10 bytes: its flags, ids, days, units and inputs.
    let (n, room) = r.count(10)?;
    let mut rows = Vec::with_capacity(room);
    let (mut scale, mut earliest) = (1.0, 0i32);
    for _ in 0..n {
        let flags = r.byte()?;
        let method = *METHODS.get(usize::from(flags >> METHOD_SHIFT & METHOD_MASK))?;
        let start_unknown = flags & START_UNKNOWN != 0;
        let [market, vendor, category, origin, destinations] = [r.id()?, r.id()?, r.id()?, r.id()?, r.id()?];
        earliest = r.day(earliest)?;
        let latest = r.day(earliest)?;
        if flags & SAME_SCALE == 0 {
            scale = r.float()?;
        }
        let sales = if flags & ONE_SALE == 0 { r.float()? } else { 1.0 };
        let unpriced = match (flags & PRICED != 0, flags & UNPRICED != 0) {
            (true, false) => 0.0,
            (false, true) => sales,
            (false, false) => r.float()?,
            (true, true) => return None,
        };
        let revenue = if flags & NO_REVENUE == 0 { r.float()? } else { 0.0 };
        let (units, inputs) = (r.varint()?, r.varint()?);
        rows.push(UnitRow { method, market, vendor, category, origin, destinations, earliest, latest, start_unknown, scale, sales, unpriced, revenue, units, inputs });
    }
    let units = r.varint()?;
    Some(UnitTable { strings, lists, rows, units })
}

/// The months a row's days touch; None when a day is no date.
fn row_months(row: &UnitRow) -> Option<u64> {
    let month = |day: i32| NaiveDate::from_num_days_from_ce_opt(day).map(|d| i64::from(d.year()) * 12 + i64::from(d.month0()));
    let (first, last) = (month(row.earliest)?, month(row.latest)?);
    Some(u64::try_from(last - first + 1).unwrap_or(0))
}

/// [`UnitTable::is_plausible`]'s bound on a table's months: this many per
/// row on average, plus [`SPARE_MONTHS`] (a few long sold counters in a small
/// table).
const MONTHS_PER_ROW: u64 = 64;
/// See [`MONTHS_PER_ROW`]: about 800 years, walked in a blink.
const SPARE_MONTHS: u64 = 10_000;

/// The value of a kept file when its key is `key`; None when the key differs
/// or the bytes are not such a file (the caller recomputes). Never panics.
pub fn decode_kept<T: serde::de::DeserializeOwned>(bytes: &[u8], key: &str) -> Option<T> {
    fn with_limit<T: serde::de::DeserializeOwned, const N: usize>(bytes: &[u8]) -> Option<(String, T)> {
        let config = bincode::config::standard().with_limit::<N>();
        bincode::serde::decode_from_slice(bytes, config).ok().map(|(v, _)| v)
    }
    // The limit is a type parameter: one instance per step.
    let (k, v) = match kept_decode_limit(bytes.len()) {
        0x10_0000 => with_limit::<T, 0x10_0000>(bytes),
        0x40_0000 => with_limit::<T, 0x40_0000>(bytes),
        0x100_0000 => with_limit::<T, 0x100_0000>(bytes),
        0x400_0000 => with_limit::<T, 0x400_0000>(bytes),
        0x1000_0000 => with_limit::<T, 0x1000_0000>(bytes),
        0x4000_0000 => with_limit::<T, 0x4000_0000>(bytes),
        _ => with_limit::<T, DECODE_LIMIT>(bytes),
    }?;
    (k == key).then_some(v)
}

/// Shown for a missing category, origin or destination (and the vendor of a
/// feedback that names none), as `aggregate` always has.
const UNKNOWN: &str = "?";

/// Units merged by method, market, vendor, category, origin, destinations,
/// days and scale; strings interned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitTable {
    /// Interned strings; `strings[0]` is `?`.
    strings: Vec<String>,
    /// Interned destination lists (string ids; `[?]` when a unit has none).
    lists: Vec<Vec<u32>>,
    rows: Vec<UnitRow>,
    /// Units merged into the rows.
    units: u64,
}

/// Sums of the units sharing every key field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UnitRow {
    method: Method,
    market: u32,
    vendor: u32,
    category: u32,
    origin: u32,
    destinations: u32,
    /// Days since 0001-01-01 (CE day numbers), inclusive.
    earliest: i32,
    latest: i32,
    /// Sold on or before `latest`, from a day not known (see
    /// [`Unit::start_unknown`](crate::Unit::start_unknown)).
    start_unknown: bool,
    scale: f64,
    /// Sales of the units.
    sales: f64,
    /// Sales of the units without a USD price.
    unpriced: f64,
    /// Sum of sales × unit price, USD.
    revenue: f64,
    units: u64,
    /// Source rows behind the units.
    inputs: u64,
}

fn day(n: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(n).unwrap_or(NaiveDate::MIN)
}

#[derive(Default)]
struct Interner {
    strings: Vec<String>,
    ids: HashMap<String, u32, FastState>,
    lists: Vec<Vec<u32>>,
    list_ids: HashMap<Vec<u32>, u32, FastState>,
    scratch: Vec<u32>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.ids.insert(s.to_owned(), i);
        i
    }

    fn list(&mut self, items: &[String]) -> u32 {
        // The ids are gathered in a buffer kept for the next list: a list
        // seen before (most are) is found without allocating.
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        if items.is_empty() {
            ids.push(self.id(UNKNOWN));
        } else {
            ids.extend(items.iter().map(|s| self.id(s)));
        }
        let id = match self.list_ids.get(ids.as_slice()) {
            Some(&i) => i,
            None => self.list_of_ids(ids.clone()),
        };
        self.scratch = ids;
        id
    }

    fn list_of_ids(&mut self, ids: Vec<u32>) -> u32 {
        if let Some(&i) = self.list_ids.get(&ids) {
            return i;
        }
        let i = self.lists.len() as u32;
        self.lists.push(ids.clone());
        self.list_ids.insert(ids, i);
        i
    }
}

/// What units merge on: method, market, vendor, category, origin,
/// destinations (ids), first and last day, whether the first is known,
/// scale (bits).
type MergeKey = (Method, u32, u32, u32, u32, u32, i32, i32, bool, u64);

/// [`MergeKey`] without the days (but whether the first is known, which
/// every estimate says): what the rollup merges on.
type RollupKey = (Method, u32, u32, u32, u32, u32, bool, u64);

/// Builds a [`UnitTable`] from units added as they come.
pub struct UnitTableBuilder {
    i: Interner,
    /// Where each row is, by its key: rows before `indexed` only (see
    /// [`UnitTableBuilder::merge`]).
    at: Numbers,
    indexed: usize,
    /// The (method, market, vendor) of every row: rows of a part whose
    /// accounts are all new cannot merge with a row here.
    accounts: HashSet<(Method, u32, u32), FastState>,
    rows: Vec<UnitRow>,
    units: u64,
    recent: Recent,
}

/// The names of the last unit added, with their ids: a part's units come in
/// runs that share market and vendor, and a listing's category, origin and
/// destinations; a name equal to the last one is not looked up again.
#[derive(Default)]
struct Recent {
    /// Market, vendor, category, origin.
    names: [Option<(String, u32)>; 4],
    destinations: Option<(Vec<String>, u32)>,
    /// The last (method, market, vendor) filed in `accounts`.
    account: Option<(Method, u32, u32)>,
}

impl Recent {
    /// The id of `key`: the last one's if `key` equals it, else `look_up`'s
    /// (kept as the last, in the slot's own buffer).
    fn id<T: ?Sized + PartialEq + ToOwned>(slot: &mut Option<(T::Owned, u32)>, key: &T, look_up: impl FnOnce() -> u32) -> u32 {
        use std::borrow::Borrow;
        if let Some((last, id)) = slot {
            if (*last).borrow() == key {
                return *id;
            }
        }
        let id = look_up();
        match slot {
            Some((last, last_id)) => {
                key.clone_into(last);
                *last_id = id;
            }
            None => *slot = Some((key.to_owned(), id)),
        }
        id
    }
}

impl Default for UnitTableBuilder {
    fn default() -> Self {
        let mut i = Interner::default();
        i.id(UNKNOWN);
        UnitTableBuilder { i, at: Numbers::default(), indexed: 0, accounts: HashSet::default(), rows: Vec::new(), units: 0, recent: Recent::default() }
    }
}

impl UnitTableBuilder {
    /// Merges `units` in.
    pub fn add(&mut self, units: &[Unit]) {
        for u in units {
            self.add_one(&UnitRef {
                method: u.method,
                market: &u.market,
                vendor: &u.vendor,
                listing: &u.listing,
                category: u.category.as_deref(),
                origin: u.origin.as_deref(),
                destinations: &u.destinations,
                days: u.days,
                start_unknown: u.start_unknown,
                sales: u.sales,
                scale: u.scale,
                price: u.price.as_ref(),
                inputs: u.sources.len(),
            });
        }
    }

    /// Makes room for `rows` more rows (a case makes about a row per
    /// feedback row: a table of millions is not grown by doubling, each
    /// doubling a copy into fresh memory).
    pub fn reserve(&mut self, rows: usize) {
        let _ = self.rows.try_reserve(rows);
    }

    /// A builder with room for `rows` rows, each filed under its key: for a
    /// part of about that many units (a part's index grown by doubling from
    /// empty, thousands of times per case, was a tenth of adding its units).
    pub fn with_room(rows: usize) -> UnitTableBuilder {
        let mut b = UnitTableBuilder::default();
        b.reserve(rows);
        b.at.reserve(rows, |r| b.rows[r].key());
        b
    }

    /// Merges one unit in.
    fn add_one(&mut self, u: &UnitRef<'_>) {
        self.index_all();
        let (i, at, rows, recent) = (&mut self.i, &mut self.at, &mut self.rows, &mut self.recent);
        let [last_market, last_vendor, last_category, last_origin] = &mut recent.names;
        let market = Recent::id(last_market, u.market, || i.id(u.market));
        let vendor = Recent::id(last_vendor, u.vendor, || i.id(u.vendor));
        let (category, origin) = (u.category.unwrap_or(UNKNOWN), u.origin.unwrap_or(UNKNOWN));
        let category = Recent::id(last_category, category, || i.id(category));
        let origin = Recent::id(last_origin, origin, || i.id(origin));
        let destinations = Recent::id(&mut recent.destinations, u.destinations, || i.list(u.destinations));
        let (earliest, latest) = (u.days.earliest.num_days_from_ce(), u.days.latest.num_days_from_ce());
        let key = (u.method, market, vendor, category, origin, destinations, earliest, latest, u.start_unknown, u.scale.to_bits());
        let (r, new) = at.find_or_file(key, rows.len(), |r| rows[r].key());
        if new {
            let account = (u.method, market, vendor);
            if recent.account != Some(account) {
                self.accounts.insert(account);
                recent.account = Some(account);
            }
            rows.push(UnitRow {
                method: u.method,
                market,
                vendor,
                category,
                origin,
                destinations,
                earliest,
                latest,
                start_unknown: u.start_unknown,
                scale: u.scale,
                sales: 0.0,
                unpriced: 0.0,
                revenue: 0.0,
                units: 0,
                inputs: 0,
            });
        }
        let row = &mut rows[r];
        row.sales += u.sales;
        match u.price {
            Some(p) => row.revenue += u.sales * p.usd,
            None => row.unpriced += u.sales,
        }
        row.units += 1;
        row.inputs += u.inputs as u64;
        self.indexed = rows.len();
        self.units += 1;
    }

    /// Files the rows a merge appended unindexed under their keys.
    fn index_all(&mut self) {
        for r in self.indexed..self.rows.len() {
            let rows = &self.rows;
            self.at.file(rows[r].key(), r, |q| rows[q].key());
        }
        self.indexed = self.rows.len();
    }

    /// Merges a builder that took other units (of other vendors: parts built
    /// on other threads), row by row in its order; merging parts in a fixed
    /// order gives the same table whatever thread built which.
    pub fn merge(&mut self, part: UnitTableBuilder) {
        let strings: Vec<u32> = part.i.strings.iter().map(|s| self.i.id(s)).collect();
        let lists: Vec<u32> =
            part.i.lists.iter().map(|l| { let ids = l.iter().map(|&s| strings[s as usize]).collect(); self.i.list_of_ids(ids) }).collect();
        // A part holds other accounts' units than the table (a case's parts
        // are vendors): its rows, merged among themselves already, are new
        // rows in their order, appended without filing each under its key
        // (filed when an `add` or a merge of a known account needs them).
        // Hashing millions of day-level keys that never meet made merging,
        // which runs on one thread, a large share of a case's ledger.
        let new_accounts: HashSet<(Method, u32, u32), FastState> =
            part.accounts.iter().map(|&(m, market, vendor)| (m, strings[market as usize], strings[vendor as usize])).collect();
        // A part's row with this table's string and list ids.
        let remap = |p: UnitRow| {
            let (market, vendor, category, origin) =
                (strings[p.market as usize], strings[p.vendor as usize], strings[p.category as usize], strings[p.origin as usize]);
            UnitRow { market, vendor, category, origin, destinations: lists[p.destinations as usize], ..p }
        };
        self.units += part.units;
        if new_accounts.is_disjoint(&self.accounts) {
            self.rows.extend(part.rows.into_iter().map(remap));
            self.accounts.extend(new_accounts);
            return;
        }
        self.index_all();
        self.accounts.extend(new_accounts);
        for p in part.rows.into_iter().map(remap) {
            let rows = &mut self.rows;
            let (r, new) = self.at.find_or_file(p.key(), rows.len(), |r| rows[r].key());
            if new {
                rows.push(UnitRow { sales: 0.0, unpriced: 0.0, revenue: 0.0, units: 0, inputs: 0, ..p.clone() });
            }
            rows[r].add_sums(&p);
        }
        self.indexed = self.rows.len();
    }

    /// The table.
    pub fn finish(self) -> UnitTable {
        UnitTable { strings: self.i.strings, lists: self.i.lists, rows: self.rows, units: self.units }
    }
}

impl UnitSink for UnitTableBuilder {
    fn unit(&mut self, u: UnitRef<'_>, _sources: &dyn Fn() -> Vec<String>) {
        self.add_one(&u);
    }
}

impl UnitRow {
    fn key(&self) -> MergeKey {
        (self.method, self.market, self.vendor, self.category, self.origin, self.destinations, self.earliest, self.latest, self.start_unknown, self.scale.to_bits())
    }

    /// Adds another row's sums and counts (not its keys or days).
    fn add_sums(&mut self, o: &UnitRow) {
        self.sales += o.sales;
        self.unpriced += o.unpriced;
        self.revenue += o.revenue;
        self.units += o.units;
        self.inputs += o.inputs;
    }
}

impl UnitTable {
    /// Merges `units`.
    pub fn of(units: &[Unit]) -> UnitTable {
        let mut b = UnitTableBuilder::default();
        b.add(units);
        b.finish()
    }

    /// Whether a kept table could be this build's: its rows' days are dates
    /// and touch at most [`MONTHS_PER_ROW`] months a row on average (plus
    /// [`SPARE_MONTHS`]). Grouping by month walks each month of a row's
    /// days: a row of 500,000 years (a valid `NaiveDate` range, 68 bytes
    /// kept) took 6 s, so a crafted file of such rows could hold a query for
    /// hours (found by the `sales_kept` fuzz target). The estimator's rows
    /// span a year or two (a feedback unit at most one unit of its shown
    /// date; a sold counter from its "since" date); a case recomputes a
    /// table that is not plausible.
    pub fn is_plausible(&self) -> bool {
        let mut months = 0u64;
        for row in &self.rows {
            match row_months(row) {
                Some(m) => months = months.saturating_add(m),
                None => return false,
            }
        }
        months <= MONTHS_PER_ROW.saturating_mul(self.rows.len() as u64).saturating_add(SPARE_MONTHS)
    }

    /// The rows merged regardless of days.
    pub fn rollup(&self) -> Rollup {
        // An index only (rows keep their first-seen order): hashed fast.
        let mut at: HashMap<RollupKey, usize, FastState> = HashMap::default();
        let mut rows: Vec<UnitRow> = Vec::new();
        for r in &self.rows {
            let key = (r.method, r.market, r.vendor, r.category, r.origin, r.destinations, r.start_unknown, r.scale.to_bits());
            match at.get(&key) {
                Some(&i) => {
                    let x = &mut rows[i];
                    x.earliest = x.earliest.min(r.earliest);
                    x.latest = x.latest.max(r.latest);
                    x.add_sums(r);
                }
                None => {
                    at.insert(key, rows.len());
                    rows.push(r.clone());
                }
            }
        }
        Rollup(UnitTable { strings: self.strings.clone(), lists: self.lists.clone(), rows, units: self.units })
    }

    /// Units merged in.
    pub fn units(&self) -> u64 {
        self.units
    }

    /// Rows after merging.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    fn text(&self, id: u32) -> String {
        self.strings.get(id as usize).cloned().unwrap_or_else(|| UNKNOWN.to_owned())
    }
}

/// Places' groups for [`UnitTable::aggregate`]: each string id of an origin
/// or destination mapped to a group number, and each group's label
/// ([`places::group_label`] of the first spelling met; the spellings of one
/// group give one label, but for the case of a value that is no place).
#[derive(Default)]
struct PlaceGroups {
    of_string: HashMap<u32, u32>,
    of_key: HashMap<String, u32>,
    labels: Vec<String>,
    /// A destination's groups: one, or each place it names
    /// ([`places::several_places`]: "USA and Canada").
    of_destination: HashMap<u32, Vec<u32>>,
}

impl PlaceGroups {
    fn of(&mut self, string: u32, table: &UnitTable) -> u32 {
        if let Some(&g) = self.of_string.get(&string) {
            return g;
        }
        let g = self.of_text(&table.text(string));
        self.of_string.insert(string, g);
        g
    }

    fn of_text(&mut self, text: &str) -> u32 {
        let next = self.labels.len() as u32;
        let g = *self.of_key.entry(places::group_key(text)).or_insert(next);
        if g == next {
            self.labels.push(places::group_label(text));
        }
        g
    }

    fn of_destination(&mut self, string: u32, table: &UnitTable) -> &[u32] {
        if !self.of_destination.contains_key(&string) {
            let groups = match places::several_places(&table.text(string)) {
                Some(parts) => parts.iter().map(|p| self.of_text(p)).collect(),
                None => vec![self.of(string, table)],
            };
            self.of_destination.insert(string, groups);
        }
        &self.of_destination[&string]
    }
}

/// The month [`UnitTable::aggregate`] gives units whose first day is not
/// known: sold on or before the last day the estimate shows.
pub const UNDATED_MONTH: &str = "undated";

/// Whether `from..=to` surely holds every day of a unit sold on or before
/// `latest` from a day not known: only a window open at its start does (and
/// whose end, if any, is on or after `latest`).
fn window_holds_undated(latest: NaiveDate, from: Option<NaiveDate>, to: Option<NaiveDate>) -> bool {
    from.is_none() && to.is_none_or(|t| latest <= t)
}

/// Sales [`UnitTable::aggregate`] leaves out of a window because their first
/// day is not known: they may fall in it, or before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Unplaced {
    /// Sales (lower bound) of those units.
    pub sales: f64,
    /// Units.
    pub units: u64,
}

impl UnitTable {
    /// The sales of units whose first day is not known that a window
    /// `from..=to` may hold in part or whole but not surely whole: left out
    /// of [`UnitTable::aggregate`]'s estimates, and counted here so that a
    /// caller can say so. (A unit sold before the window opened is not.)
    pub fn unplaced(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Unplaced {
        let mut out = Unplaced::default();
        for r in self.rows.iter().filter(|r| r.start_unknown) {
            let latest = day(r.latest);
            let before_window = from.is_some_and(|f| latest < f);
            if !before_window && !window_holds_undated(latest, from, to) {
                out.sales += r.sales;
                out.units += r.units;
            }
        }
        out
    }

    /// Groups the units into estimates, keeping only sale days within
    /// `from..=to` (a unit spanning the limit counts pro rata). A unit whose
    /// first day is not known counts only where the window surely holds all
    /// its days ([`UnitTable::unplaced`] counts the rest), and by month it is
    /// [`UNDATED_MONTH`].
    pub fn aggregate(&self, by: GroupBy, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<Estimate> {
        // (market, second key, method): the second key is the vendor, category,
        // origin, destination (string ids) or month (year * 12 + month, or
        // UNDATED for units whose first day is not known), by `by`.
        const NONE: u32 = u32::MAX;
        const UNDATED: u32 = u32::MAX - 1;
        let mut groups: HashMap<(u32, u32, Method), Estimate> = HashMap::new();
        // By origin or destination the second key is a place's group
        // (`places::group_key`: "DE" and "Germany" are one), numbered here.
        let mut places = PlaceGroups::default();
        let mut pieces: Vec<((u32, u32), f64, DayRange)> = Vec::new();
        for r in &self.rows {
            let days = DayRange { earliest: day(r.earliest), latest: day(r.latest) };
            let lo = from.map_or(days.earliest, |f| f.max(days.earliest));
            let hi = to.map_or(days.latest, |t| t.min(days.latest));
            if lo > hi {
                continue;
            }
            let window = DayRange { earliest: lo, latest: hi };
            let share = window.days() as f64 / days.days() as f64;
            if r.start_unknown && !window_holds_undated(days.latest, from, to) {
                continue;
            }
            pieces.clear();
            match by {
                GroupBy::Month if r.start_unknown => pieces.push(((NONE, UNDATED), share, window)),
                // Most rows lie in one month: no need to split them.
                GroupBy::Month if (lo.year(), lo.month()) == (hi.year(), hi.month()) => {
                    pieces.push(((NONE, (lo.year() * 12 + lo.month0() as i32) as u32), share, window))
                }
                GroupBy::Month => pieces.extend(month_starts(&window).into_iter().map(|(m, part)| {
                    ((NONE, (m.year() * 12 + m.month0() as i32) as u32), part.days() as f64 / days.days() as f64, part)
                })),
                GroupBy::Vendor => pieces.push(((r.market, r.vendor), share, window)),
                GroupBy::Market => pieces.push(((r.market, NONE), share, window)),
                GroupBy::Category => pieces.push(((r.market, r.category), share, window)),
                GroupBy::Origin => pieces.push(((NONE, places.of(r.origin, self)), share, window)),
                GroupBy::Destination => {
                    for &d in self.lists.get(r.destinations as usize).map(Vec::as_slice).unwrap_or(&[]) {
                        for &place in places.of_destination(d, self) {
                            // Two spellings of one place in a listing's list count once.
                            if !pieces.iter().any(|&((_, p), ..)| p == place) {
                                pieces.push(((NONE, place), share, window));
                            }
                        }
                    }
                }
            }
            for &((a, b), share, window) in &pieces {
                let e = groups.entry((a, b, r.method)).or_insert_with(|| {
                    let text = |id: u32| (id != NONE).then(|| self.text(id));
                    let mut e = Estimate {
                        market: text(a),
                        vendor: None,
                        category: None,
                        origin: None,
                        destination: None,
                        month: None,
                        method: r.method,
                        sales: 0.0,
                        sales_lower: 0.0,
                        revenue_usd: 0.0,
                        revenue_usd_lower: 0.0,
                        unpriced_sales: 0.0,
                        undated_sales: 0.0,
                        units: 0,
                        inputs: 0,
                        first_day: Some(window.earliest),
                        last_day: window.latest,
                        coverage_note: String::new(),
                    };
                    match by {
                        GroupBy::Vendor => e.vendor = text(b),
                        GroupBy::Category => e.category = text(b),
                        GroupBy::Origin => e.origin = Some(places.labels[b as usize].clone()),
                        GroupBy::Destination => e.destination = Some(places.labels[b as usize].clone()),
                        GroupBy::Month if b == UNDATED => e.month = Some(UNDATED_MONTH.to_owned()),
                        GroupBy::Month => e.month = Some(format!("{:04}-{:02}", b / 12, b % 12 + 1)),
                        GroupBy::Market => {}
                    }
                    e
                });
                let s = r.sales * share;
                e.sales_lower += s;
                e.sales += s * r.scale;
                e.revenue_usd_lower += r.revenue * share;
                e.revenue_usd += r.revenue * share * r.scale;
                e.unpriced_sales += r.unpriced * share;
                if r.start_unknown {
                    e.undated_sales += s;
                }
                e.units += r.units;
                e.inputs += r.inputs;
                // Undated sales may be older than any day shown.
                e.first_day = e.first_day.filter(|_| !r.start_unknown).map(|d| d.min(window.earliest));
                e.last_day = e.last_day.max(window.latest);
                if r.scale > 1.0 && e.coverage_note.is_empty() {
                    e.coverage_note =
                        "central above lower: scaled by the market's coverage and/or, for feedback, date-aware matching (see the method)".into();
                }
            }
        }
        // The order of the grouping keys, as text: market, vendor, category,
        // origin, destination, month, method.
        type Order = (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Method);
        let ordered: BTreeMap<Order, Estimate> = groups
            .into_values()
            .map(|mut e| {
                if e.coverage_note.is_empty() {
                    e.coverage_note = format!(
                        "central = lower bound: coverage complete, unknown, or under {:.0}% of the listings the market states",
                        MIN_COVERAGE_TO_SCALE * 100.0
                    );
                }
                let k = (e.market.clone(), e.vendor.clone(), e.category.clone(), e.origin.clone(), e.destination.clone(), e.month.clone(), e.method);
                (k, e)
            })
            .collect();
        ordered.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A kept table whose rows' days span more months than the estimator
    /// makes is not plausible (a case recomputes it), so that grouping by
    /// month cannot be made to walk millions of months; tables of long rows
    /// under the bound are.
    #[test]
    fn a_table_of_implausibly_long_days_is_not_read() {
        let unit = |days: DayRange| Unit {
            method: Method::SoldCounter,
            market: "m".into(),
            vendor: "v".into(),
            listing: "l".into(),
            category: None,
            origin: None,
            destinations: vec![],
            days,
            start_unknown: false,
            sales: 1.0,
            scale: 1.0,
            price: None,
            sources: vec![],
        };
        let day = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        let kept = |units: &[Unit]| {
            let mut bytes = Vec::new();
            write_kept_table(&mut bytes, "k", &UnitTable::of(units)).unwrap();
            decode_kept_table(&bytes, "k").filter(UnitTable::is_plausible)
        };
        // The fuzz target's kind: one row of 500,000 years.
        assert_eq!(kept(&[unit(DayRange { earliest: NaiveDate::MIN, latest: NaiveDate::MAX })]), None);
        assert_eq!(kept(&[unit(DayRange { earliest: day(-200_000), latest: day(200_000) })]), None);
        // Long but plausible: sold since 2011, seen in 2017; and a row
        // since 1990 in a table of short ones.
        let long = [unit(DayRange { earliest: day(2011), latest: day(2017) })];
        assert_eq!(kept(&long), Some(UnitTable::of(&long)));
        let mut mixed: Vec<Unit> = (0..200).map(|i| unit(DayRange::day(day(2000 + i % 20)))).collect();
        mixed.push(unit(DayRange { earliest: day(1990), latest: day(2014) }));
        assert_eq!(kept(&mixed), Some(UnitTable::of(&mixed)));
    }

    /// A damaged day difference near ±2^63 reads as no table (it overflowed
    /// in a debug build: found by the round-trip proptest in CI).
    #[test]
    fn a_day_difference_past_the_range_is_no_table() {
        // Key "", no strings, no lists, two rows whose floats the flags give.
        let flags = row_flags::SAME_SCALE | row_flags::ONE_SALE | row_flags::PRICED | row_flags::NO_REVENUE;
        let mut bytes = vec![0, 0, 0, 2];
        // Row 1: ids 0, first day 5 (zigzag 10), one day, no units.
        bytes.extend([flags, 0, 0, 0, 0, 0, 10, 0, 0, 0]);
        // Row 2: first day 5 + i64::MAX (zigzag u64::MAX - 1).
        bytes.extend([flags, 0, 0, 0, 0, 0, 253]);
        bytes.extend((u64::MAX - 1).to_le_bytes());
        bytes.extend([0, 0, 0, 0]);
        assert_eq!(decode_kept_table(&bytes, ""), None);
    }

    /// A kept file's decode limit is one of the steps `decode_kept` has an
    /// instance for, at least 64 times the file (up to 4 GiB) and at most
    /// four times that (1 MiB for the smallest).
    #[test]
    fn decode_limits_are_the_steps() {
        let steps = [1usize << 20, 1 << 22, 1 << 24, 1 << 26, 1 << 28, 1 << 30, DECODE_LIMIT];
        for len in [0usize, 5, 1 << 14, (1 << 14) + 1, 100_000, 1 << 20, 3 << 22, 1 << 26, 1 << 27, usize::MAX] {
            let limit = kept_decode_limit(len);
            assert!(steps.contains(&limit), "{len}: {limit}");
            let want = len.saturating_mul(DECODED_PER_BYTE).min(DECODE_LIMIT);
            assert!(limit >= want && (limit == 1 << 20 || limit / 4 < want), "{len}: {limit}");
        }
    }

    fn any_id() -> impl Strategy<Value = u32> {
        prop_oneof![0u32..300, 65_000u32..66_000, Just(u32::MAX)]
    }

    fn any_row() -> impl Strategy<Value = UnitRow> {
        (
            prop_oneof![Just(Method::FeedbackCount), Just(Method::SoldCounter), Just(Method::VendorCounter)],
            proptest::array::uniform5(any_id()),
            (any::<i32>(), prop_oneof![-300i32..300, Just(i32::MIN), Just(i32::MAX)], any::<bool>()),
            proptest::array::uniform4(any::<f64>()),
            (prop_oneof![0u64..300, 65_000u64..70_000, Just(u64::from(u32::MAX) + 1), Just(u64::MAX)], any::<u64>()),
        )
            .prop_map(|(method, [market, vendor, category, origin, destinations], (earliest, latest, start_unknown), [scale, sales, unpriced, revenue], (units, inputs))| UnitRow {
                method,
                market,
                vendor,
                category,
                origin,
                destinations,
                earliest,
                latest,
                start_unknown,
                scale,
                sales,
                unpriced,
                revenue,
                units,
                inputs,
            })
    }

    /// A unit as (method, market, vendor, category, origin, first day,
    /// length in days, scale, sales): a few values each, so keys repeat.
    type Drawn = (usize, usize, usize, usize, usize, i64, i64, usize, usize);

    fn add_drawn(b: &mut UnitTableBuilder, units: &[Drawn]) {
        const MARKETS: [&str; 2] = ["m1", "m2"];
        const VENDORS: [&str; 3] = ["a", "b", "c"];
        const NAMES: [Option<&str>; 2] = [None, Some("x")];
        let first = NaiveDate::from_ymd_opt(2014, 1, 1).unwrap();
        for &(method, market, vendor, category, origin, from, days, scale, sales) in units {
            let earliest = first + chrono::Days::new(from as u64);
            b.add_one(&UnitRef {
                method: [Method::FeedbackCount, Method::SoldCounter][method],
                market: MARKETS[market],
                vendor: VENDORS[vendor],
                listing: "l",
                category: NAMES[category],
                origin: NAMES[origin],
                destinations: &[],
                days: DayRange { earliest, latest: earliest + chrono::Days::new(days as u64) },
                // Some one-day counter units of unknown first day: keys that
                // differ from others in that alone.
                start_unknown: method == 1 && days == 0 && scale == 0,
                // Sums of these are exact in any order.
                sales: [1.0, 0.5][sales],
                scale: [1.0, 2.0][scale],
                price: None,
                inputs: 1,
            });
        }
    }

    /// The rows a table should have: one per distinct key (its names as
    /// text), in the order keys are first met, with each key's sales and
    /// unit count.
    fn expected_rows(units: &[Drawn]) -> Vec<(Drawn, f64, u64)> {
        let mut rows: Vec<(Drawn, f64, u64)> = Vec::new();
        for u in units {
            let mut key = *u;
            key.8 = 0;
            let sales = [1.0, 0.5][u.8];
            match rows.iter_mut().find(|(k, ..)| *k == key) {
                Some(row) => {
                    row.1 += sales;
                    row.2 += 1;
                }
                None => rows.push((key, sales, 1)),
            }
        }
        rows
    }

    /// A table's rows as [`expected_rows`] gives them.
    fn rows_of(table: &UnitTable) -> Vec<(Drawn, f64, u64)> {
        let first = NaiveDate::from_ymd_opt(2014, 1, 1).unwrap().num_days_from_ce();
        let name = |id: u32| table.strings[id as usize].as_str();
        let pick = |options: &[&str], id: u32| options.iter().position(|&o| o == name(id)).unwrap();
        table
            .rows
            .iter()
            .map(|r| {
                let method = [Method::FeedbackCount, Method::SoldCounter].iter().position(|&m| m == r.method).unwrap();
                let key = (
                    method,
                    pick(&["m1", "m2"], r.market),
                    pick(&["a", "b", "c"], r.vendor),
                    pick(&[UNKNOWN, "x"], r.category),
                    pick(&[UNKNOWN, "x"], r.origin),
                    i64::from(r.earliest - first),
                    i64::from(r.latest - r.earliest),
                    [1.0, 2.0].iter().position(|&s| s == r.scale).unwrap(),
                    0,
                );
                (key, r.unpriced, r.units)
            })
            .collect()
    }

    fn any_drawn() -> impl Strategy<Value = Drawn> {
        (0usize..2, 0usize..2, 0usize..3, 0usize..2, 0usize..2, 0i64..3, 0i64..2, 0usize..2, 0usize..2)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Units of one key share a row (keys in first-met order, sums
        /// added), added to one builder or through merged parts: a part of
        /// accounts the table holds (merged row by row through the index), a
        /// part of new accounts (appended unfiled), then more units, some of
        /// the appended accounts (filed when first needed).
        #[test]
        fn units_of_one_key_share_a_row(units in proptest::collection::vec(any_drawn(), 0..120), cut in 0usize..120, vendor_cut in 0usize..3) {
            let expected = expected_rows(&units);
            let mut whole = UnitTableBuilder::default();
            add_drawn(&mut whole, &units);
            prop_assert_eq!(rows_of(&whole.finish()), expected.clone());

            // The first part: units of vendors below `vendor_cut`, up to `cut`.
            let (head, tail) = units.split_at(cut.min(units.len()));
            let (known, new): (Vec<Drawn>, Vec<Drawn>) = head.iter().partition(|u| u.2 < vendor_cut);
            let mut b = UnitTableBuilder::default();
            add_drawn(&mut b, &known[..known.len() / 2]);
            let mut shared = UnitTableBuilder::default();
            add_drawn(&mut shared, &known[known.len() / 2..]);
            b.merge(shared);
            let mut fresh = UnitTableBuilder::default();
            add_drawn(&mut fresh, &new);
            b.merge(fresh);
            add_drawn(&mut b, tail);
            let in_order: Vec<Drawn> = known.iter().chain(&new).chain(tail).copied().collect();
            prop_assert_eq!(rows_of(&b.finish()), expected_rows(&in_order));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// A kept table reads back as it was written, bit for bit (any
        /// float, NaN and -0.0 included; days either side of zero and at
        /// the ends; ids and counts across each varint width; enough rows
        /// to cross a flush), under its own key only; cut short or with a
        /// byte changed it reads as something or nothing, never a panic.
        #[test]
        fn kept_tables_read_back_as_written(
            strings in proptest::collection::vec(prop_oneof![".{0,8}", "[a-z]{250,260}"], 0..300),
            lists in proptest::collection::vec(proptest::collection::vec(any_id(), 0..4), 0..5),
            rows in proptest::collection::vec(prop_oneof![any_row(), any_row().prop_map(|r| UnitRow { sales: 1.0, unpriced: 1.0, revenue: 0.0, ..r }), any_row().prop_map(|r| UnitRow { sales: 1.0, unpriced: 0.0, scale: 1.0, ..r })], 0..1200),
            units in any::<u64>(),
            key in ".{0,20}",
            change in (any::<prop::sample::Index>(), any::<u8>()),
            cut in any::<prop::sample::Index>(),
        ) {
            let table = UnitTable { strings, lists, rows, units };
            let mut written = Vec::new();
            write_kept_table(&mut written, &key, &table).unwrap();
            let read = decode_kept_table(&written, &key).unwrap();
            let mut again = Vec::new();
            write_kept_table(&mut again, &key, &read).unwrap();
            prop_assert_eq!(&again, &written);
            let bits = |t: &UnitTable| t.rows.iter().map(|r| (r.key(), [r.sales, r.unpriced, r.revenue].map(f64::to_bits), r.units, r.inputs)).collect::<Vec<_>>();
            prop_assert_eq!(bits(&read), bits(&table));
            prop_assert_eq!((&read.strings, &read.lists, read.units), (&table.strings, &table.lists, table.units));
            let other_key = format!("{key}x");
            prop_assert!(decode_kept_table(&written, &other_key).is_none());
            prop_assert!(decode_kept_table(&written[..cut.index(written.len())], &key).is_none());
            let mut damaged = written.clone();
            let i = change.0.index(damaged.len());
            damaged[i] = change.1;
            let _ = decode_kept_table(&damaged, &key);
        }
    }
}
