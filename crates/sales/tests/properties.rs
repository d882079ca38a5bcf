//! Properties of the estimators over random observations: a few markets,
//! vendors, listings and feedback texts; feedback with relative dates ("N
//! days ago", "N weeks ago") on pages captured on random days; listing
//! observations with prices in USD, BTC, both, or an unknown currency, some
//! with "N sold (since)" counters; category pages stating listing counts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use model::{CategoryEntry, Feedback, Listing, Money, Provenance, Sha256};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use sales::{aggregate, units, units_where, Estimate, Estimator, GroupBy, Input, Ledger, Method, Obs, RateSeries, Rates, UnitTable, UnitTableBuilder, Units};

const MARKETS: [&str; 2] = ["alpha", "bravo"];
const VENDORS: [&str; 2] = ["vendor-a", "vendor-b"];
const TITLES: [&str; 2] = ["product one", "product two"];
const TEXTS: [&str; 3] = ["great", "fast shipping", "ok"];
const RATINGS: [&str; 2] = ["5/5", "4/5"];

fn base_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 3, 1).unwrap()
}

fn day(offset: i64) -> NaiveDate {
    if offset >= 0 {
        base_day().checked_add_days(Days::new(offset as u64)).unwrap()
    } else {
        base_day().checked_sub_days(Days::new(offset.unsigned_abs())).unwrap()
    }
}

fn captured(offset: i64, time: &str) -> Option<String> {
    Some(format!("{}T{time}Z", day(offset)))
}

/// A daily BTC series covering every day the generated data can need
/// (Dec 2019 .. Jun 2020).
fn rates() -> Rates {
    let mut csv = String::from("date,close\n");
    let mut d = NaiveDate::from_ymd_opt(2019, 12, 1).unwrap();
    let mut i = 0;
    while d <= NaiveDate::from_ymd_opt(2020, 6, 30).unwrap() {
        csv.push_str(&format!("{d},{}\n", 7000 + 13 * i));
        d = d.succ_opt().unwrap();
        i += 1;
    }
    let mut r = Rates::default();
    r.add(RateSeries::parse_csv(&csv, "BTC", "synthetic-btc.csv").unwrap());
    r
}

// ---------------------------------------------------------------- the world

#[derive(Debug, Clone)]
struct PageSpec {
    market: usize,
    day: i64,
}

#[derive(Debug, Clone)]
enum Age {
    Days(u8),
    Weeks(u8),
}

#[derive(Debug, Clone)]
struct FbSpec {
    page: usize,
    vendor: usize,
    title: usize,
    text: usize,
    rating: usize,
    age: Age,
}

#[derive(Debug, Clone)]
enum PriceSpec {
    Usd(u32),
    /// Hundred-thousandths of a BTC.
    Btc(u32),
    /// USD and BTC as the market shows both.
    Both(u32, u32),
    /// A currency with no series.
    Xmr(u32),
    None,
}

#[derive(Debug, Clone)]
struct ListingSpec {
    market: usize,
    vendor: usize,
    title: usize,
    day: i64,
    price: PriceSpec,
    sold: Option<u64>,
    since_days_before: Option<u8>,
}

#[derive(Debug, Clone)]
struct CatSpec {
    market: usize,
    page: u8,
    count: u64,
}

#[derive(Debug, Clone)]
struct World {
    pages: Vec<PageSpec>,
    feedback: Vec<FbSpec>,
    listings: Vec<ListingSpec>,
    categories: Vec<CatSpec>,
}

fn page_spec() -> impl Strategy<Value = PageSpec> {
    (0..MARKETS.len(), 0i64..21).prop_map(|(market, day)| PageSpec { market, day })
}

fn age() -> impl Strategy<Value = Age> {
    prop_oneof![(0u8..10).prop_map(Age::Days), (1u8..5).prop_map(Age::Weeks)]
}

/// An index below `n`, mostly 0, so that the same feedback shows up often.
fn skewed(n: usize) -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(0usize), 1 => 0..n]
}

fn fb_spec() -> impl Strategy<Value = FbSpec> {
    (0usize..8, skewed(VENDORS.len()), skewed(TITLES.len()), skewed(TEXTS.len()), skewed(RATINGS.len()), age())
        .prop_map(|(page, vendor, title, text, rating, age)| FbSpec { page, vendor, title, text, rating, age })
}

fn price_spec() -> impl Strategy<Value = PriceSpec> {
    prop_oneof![
        3 => (1u32..300).prop_map(PriceSpec::Usd),
        2 => (10u32..5000).prop_map(PriceSpec::Btc),
        2 => (1u32..300, 10u32..5000).prop_map(|(u, b)| PriceSpec::Both(u, b)),
        1 => (1u32..100).prop_map(PriceSpec::Xmr),
        1 => Just(PriceSpec::None),
    ]
}

fn listing_spec() -> impl Strategy<Value = ListingSpec> {
    (
        0..MARKETS.len(),
        0..VENDORS.len(),
        0..TITLES.len(),
        0i64..40,
        price_spec(),
        proptest::option::of(0u64..60),
        proptest::option::of(0u8..60),
    )
        .prop_map(|(market, vendor, title, day, price, sold, since_days_before)| ListingSpec {
            market,
            vendor,
            title,
            day,
            price,
            sold,
            since_days_before,
        })
}

fn cat_spec() -> impl Strategy<Value = CatSpec> {
    (0..MARKETS.len(), 0u8..2, 1u64..12).prop_map(|(market, page, count)| CatSpec { market, page, count })
}

/// Mostly a sparse world; sometimes a dense one where most feedback is the
/// same feedback seen on pages a few days apart, so matching is contested.
fn world() -> impl Strategy<Value = World> {
    prop_oneof![sparse_world(), dense_world()]
}

fn dense_world() -> impl Strategy<Value = World> {
    let page = (Just(0usize), 0i64..7).prop_map(|(market, day)| PageSpec { market, day });
    let fb = (0usize..8, skewed(2), 0u8..9).prop_map(|(page, text, n)| FbSpec {
        page,
        vendor: 0,
        title: 0,
        text,
        rating: 0,
        age: Age::Days(n),
    });
    (
        prop::collection::vec(page, 1..5),
        prop::collection::vec(fb, 0..9),
        prop::collection::vec(listing_spec(), 0..4),
        prop::collection::vec(cat_spec(), 0..2),
    )
        .prop_map(|(pages, feedback, listings, categories)| World { pages, feedback, listings, categories })
}

fn sparse_world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(page_spec(), 1..5),
        prop::collection::vec(fb_spec(), 0..24),
        prop::collection::vec(listing_spec(), 0..8),
        prop::collection::vec(cat_spec(), 0..3),
    )
        .prop_map(|(pages, feedback, listings, categories)| World { pages, feedback, listings, categories })
}

/// The stored rows of a world.
#[derive(Debug, Clone)]
struct Rows {
    listings: Vec<Obs<Listing>>,
    feedback: Vec<Obs<Feedback>>,
    categories: Vec<Obs<CategoryEntry>>,
}

impl Rows {
    fn units(&self) -> Units {
        units(&Input { listings: &self.listings, feedback: &self.feedback, categories: &self.categories, vendors: &[] }, &rates())
    }
}

fn provenance(evidence: &str, rule: &str) -> Provenance {
    Provenance { evidence: Sha256::of(evidence.as_bytes()), profile: "testmarket".into(), rule: rule.into() }
}

fn feedback_row(w: &World, i: usize, f: &FbSpec) -> Obs<Feedback> {
    let p = f.page % w.pages.len();
    let page = &w.pages[p];
    let date = match f.age {
        Age::Days(n) => format!("{n} days ago"),
        Age::Weeks(n) => format!("{n} weeks ago"),
    };
    Obs {
        id: format!("f{i}"),
        record: Feedback {
            market: MARKETS[page.market].into(),
            vendor: Some(VENDORS[f.vendor].into()),
            listing: Some(TITLES[f.title].into()),
            date: Some(date),
            rating: Some(RATINGS[f.rating].into()),
            text: Some(TEXTS[f.text].into()),
            buyer: Some("b***r".into()),
            price: None,
            observed_at: None,
            provenance: Some(provenance(&format!("feedback-page-{p}"), "feedback/entry")),
        },
        captured_at: captured(page.day, "10:00:00"),
    }
}

fn listing_row(i: usize, l: &ListingSpec) -> Obs<Listing> {
    let btc = |n: u32| format!("{:.5}", n as f64 / 100_000.0);
    let (price, price_usd, price_btc) = match l.price {
        PriceSpec::Usd(u) => (Some(Money { amount: u.to_string(), currency: "USD".into() }), Some(u.to_string()), None),
        PriceSpec::Btc(b) => (Some(Money { amount: btc(b), currency: "BTC".into() }), None, None),
        PriceSpec::Both(u, b) => (Some(Money { amount: btc(b), currency: "BTC".into() }), Some(u.to_string()), Some(btc(b))),
        PriceSpec::Xmr(x) => (Some(Money { amount: x.to_string(), currency: "XMR".into() }), None, None),
        PriceSpec::None => (None, None, None),
    };
    Obs {
        id: format!("l{i}"),
        record: Listing {
            market: MARKETS[l.market].into(),
            title: TITLES[l.title].into(),
            vendor: Some(VENDORS[l.vendor].into()),
            category: vec![if l.title == 0 { "Drugs" } else { "Digital" }.into()],
            price,
            price_usd,
            price_btc,
            ships_from: Some(if l.vendor == 0 { "NL" } else { "DE" }.into()),
            ships_to: if l.vendor == 0 { vec!["EU".into(), "US".into()] } else { vec![] },
            sold: l.sold,
            sold_since: l.since_days_before.map(|b| day(l.day - b as i64).to_string()),
            provenance: Some(provenance(&format!("listing-page-{i}"), "listing")),
            ..Listing::default()
        },
        captured_at: captured(l.day, "08:00:00"),
    }
}

fn category_row(i: usize, c: &CatSpec) -> Obs<CategoryEntry> {
    Obs {
        id: format!("c{i}"),
        record: CategoryEntry {
            market: MARKETS[c.market].into(),
            name: format!("category {i}"),
            count: Some(c.count),
            link: None,
            provenance: Some(provenance(&format!("category-page-{}-{}", c.market, c.page), "category")),
        },
        captured_at: captured(c.page as i64, "07:00:00"),
    }
}

impl World {
    fn rows(&self) -> Rows {
        Rows {
            listings: self.listings.iter().enumerate().map(|(i, l)| listing_row(i, l)).collect(),
            feedback: self.feedback.iter().enumerate().map(|(i, f)| feedback_row(self, i, f)).collect(),
            categories: self.categories.iter().enumerate().map(|(i, c)| category_row(i, c)).collect(),
        }
    }
}

// ---------------------------------------------------------------- comparisons

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

type Key = (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Method);

fn key(e: &Estimate) -> Key {
    (e.market.clone(), e.vendor.clone(), e.category.clone(), e.origin.clone(), e.destination.clone(), e.month.clone(), e.method)
}

/// Equal estimates: same groups, same counts and days, sums equal up to
/// floating-point summation order.
fn same_estimates(what: &str, a: &[Estimate], b: &[Estimate]) -> Result<(), TestCaseError> {
    let ka: Vec<Key> = a.iter().map(key).collect();
    let kb: Vec<Key> = b.iter().map(key).collect();
    prop_assert_eq!(&ka, &kb, "{}: groups differ", what);
    for (x, y) in a.iter().zip(b) {
        let nums = |e: &Estimate| [e.sales, e.sales_lower, e.revenue_usd, e.revenue_usd_lower, e.unpriced_sales];
        for (p, q) in nums(x).into_iter().zip(nums(y)) {
            prop_assert!(close(p, q, 1e-9), "{}: {:?} vs {:?}", what, x, y);
        }
        prop_assert_eq!((x.units, x.inputs, x.first_day, x.last_day), (y.units, y.inputs, y.first_day, y.last_day), "{}", what);
        prop_assert_eq!(&x.coverage_note, &y.coverage_note, "{}", what);
    }
    Ok(())
}

const ALL_GROUPINGS: [GroupBy; 6] =
    [GroupBy::Vendor, GroupBy::Market, GroupBy::Category, GroupBy::Origin, GroupBy::Destination, GroupBy::Month];

fn same_units_outcome(what: &str, a: &Units, b: &Units) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.feedback_unique, b.feedback_unique, "{}: unique feedback", what);
    for by in ALL_GROUPINGS {
        same_estimates(&format!("{what}, by {by:?}"), &aggregate(&a.units, by, None, None), &aggregate(&b.units, by, None, None))?;
    }
    Ok(())
}

/// A small deterministic shuffle (Fisher-Yates with an LCG), so a failing
/// case is reproducible from its seed.
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut s = seed | 1;
    for i in (1..v.len()).rev() {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let j = ((s >> 33) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

fn lower_bounds(u: &Units) -> BTreeMap<(String, String, Method), f64> {
    aggregate(&u.units, GroupBy::Vendor, None, None)
        .into_iter()
        .map(|e| ((e.market.unwrap_or_default(), e.vendor.unwrap_or_default(), e.method), e.sales_lower))
        .collect()
}

// ---------------------------------------------------------------- properties

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(160)
}

proptest! {
    // PROPTEST_CASES raises the case count for a longer search.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// (a) Deduplication is idempotent: every unique feedback fed back in as
    /// an observation of its own (dated to a day its sightings allow) gives
    /// the same number of uniques.
    ///
    /// Pages here never show the same feedback (same identity) twice: two
    /// identical entries on one page are two sales, and once each is fed
    /// back as an observation of its own, nothing says they were on one
    /// page, so they rightly merge. Without such twins, two uniques of one
    /// identity never share a possible day, so none may merge.
    #[test]
    fn dedup_is_idempotent(w in world()) {
        let mut w = w;
        let mut seen = BTreeSet::new();
        let pages = w.pages.len();
        w.feedback.retain(|f| seen.insert((f.page % pages, f.vendor, f.title, f.text, f.rating)));
        let rows = w.rows();
        let u = rows.units();
        let by_id: BTreeMap<&str, &Obs<Feedback>> = rows.feedback.iter().map(|o| (o.id.as_str(), o)).collect();
        let fed: Vec<Obs<Feedback>> = u
            .units
            .iter()
            .filter(|x| x.method == Method::FeedbackCount)
            .enumerate()
            .map(|(i, x)| {
                let first = by_id[x.sources[0].as_str()];
                let mut record = first.record.clone();
                record.date = Some(x.days.earliest.to_string());
                record.provenance = Some(provenance(&format!("unique-{i}"), "feedback/entry"));
                Obs { id: format!("u{i}"), record, captured_at: Some(format!("{}T12:00:00Z", x.days.latest)) }
            })
            .collect();
        prop_assert_eq!(fed.len() as u64, u.feedback_unique);
        let again = units(&Input { listings: &rows.listings, feedback: &fed, categories: &rows.categories, vendors: &[] }, &rates());
        prop_assert_eq!(again.feedback_sightings, u.feedback_unique);
        prop_assert_eq!(again.feedback_unique, u.feedback_unique);
        // And once more: a fixed point.
        let lb = lower_bounds(&again);
        let fc = |m: &BTreeMap<(String, String, Method), f64>| -> f64 {
            m.iter().filter(|(k, _)| k.2 == Method::FeedbackCount).map(|(_, v)| v).sum()
        };
        prop_assert!(close(fc(&lb), fc(&lower_bounds(&u)), 1e-9));
    }

    /// (b) More evidence never lowers the lower bound: a superset of the
    /// observations (more feedback rows, more listing rows, and a second
    /// copy of one feedback page under a different evidence digest) gives,
    /// for every (market, vendor, method), a `sales_lower` at least the
    /// subset's.
    ///
    /// (The first, greedy-in-observation-order matching failed this a few
    /// times in ten thousand cases; `one_more_sighting_never_lowers_unique_feedback`
    /// keeps its smallest counterexample. Run more cases with `PROPTEST_CASES=20000`.)
    #[test]
        fn more_evidence_never_lowers_the_lower_bound(
        w in world(),
        keep_feedback in prop::collection::vec(prop::bool::weighted(0.8), 24),
        keep_listings in prop::collection::vec(prop::bool::weighted(0.8), 8),
        copy_page in 0usize..8,
    ) {
        let all = w.rows();
        let sub = Rows {
            feedback: all.feedback.iter().zip(&keep_feedback).filter(|(_, k)| **k).map(|(o, _)| o.clone()).collect(),
            listings: all.listings.iter().zip(&keep_listings).filter(|(_, k)| **k).map(|(o, _)| o.clone()).collect(),
            categories: all.categories.clone(),
        };
        let mut sup = all.clone();
        let copied = format!("feedback-page-{}", copy_page % w.pages.len());
        for o in &all.feedback {
            if o.record.provenance.as_ref().unwrap().evidence == Sha256::of(copied.as_bytes()) {
                let mut c = o.clone();
                c.id = format!("copy-{}", o.id);
                c.record.provenance = Some(provenance(&format!("{copied}-second-capture"), "feedback/entry"));
                sup.feedback.push(c);
            }
        }
        let (us, uu) = (sub.units(), sup.units());
        prop_assert!(uu.feedback_sightings >= us.feedback_sightings);
        prop_assert!(uu.feedback_unique >= us.feedback_unique, "unique feedback fell from {} to {}", us.feedback_unique, uu.feedback_unique);
        let (ls, lu) = (lower_bounds(&us), lower_bounds(&uu));
        for (k, v) in &ls {
            let got = lu.get(k).copied().unwrap_or(0.0);
            prop_assert!(got >= *v - 1e-9, "{:?}: sales_lower fell from {} to {}", k, v, got);
        }
    }

    /// (b), the part that holds: more listing observations (more rows, and
    /// second captures of listing pages under other digests) never lower any
    /// lower bound; sold counters only grow with more observations.
    #[test]
    fn more_listing_observations_never_lower_the_lower_bound(
        w in world(),
        keep_listings in prop::collection::vec(any::<bool>(), 8),
        copy_listings in prop::collection::vec(any::<bool>(), 8),
    ) {
        let all = w.rows();
        let mut sub = all.clone();
        sub.listings = all.listings.iter().zip(&keep_listings).filter(|(_, k)| **k).map(|(o, _)| o.clone()).collect();
        let mut sup = all.clone();
        for (o, _) in all.listings.iter().zip(&copy_listings).filter(|(_, c)| **c) {
            let mut c = o.clone();
            c.id = format!("copy-{}", o.id);
            c.record.provenance = Some(provenance(&format!("{}-second-capture", o.id), "listing"));
            sup.listings.push(c);
        }
        let (ls, lu) = (lower_bounds(&sub.units()), lower_bounds(&sup.units()));
        for (k, v) in &ls {
            let got = lu.get(k).copied().unwrap_or(0.0);
            prop_assert!(got >= *v - 1e-9, "{:?}: sales_lower fell from {} to {}", k, v, got);
        }
    }

    /// (c) The same rows fed twice (same ids and provenance: the same file
    /// imported twice) change nothing.
    #[test]
    fn the_same_rows_twice_change_nothing(w in world()) {
        let once = w.rows();
        let mut twice = once.clone();
        twice.feedback.extend(once.feedback.iter().cloned());
        twice.listings.extend(once.listings.iter().cloned());
        twice.categories.extend(once.categories.iter().cloned());
        let (a, b) = (once.units(), twice.units());
        same_units_outcome("fed twice", &a, &b)?;
        prop_assert_eq!(&a.coverage, &b.coverage);
    }

    /// (d) The order of the input rows does not change the estimates.
    #[test]
    fn input_order_does_not_matter(w in world(), seed in any::<u64>()) {
        let rows = w.rows();
        let mut shuffled = rows.clone();
        shuffle(&mut shuffled.feedback, seed);
        shuffle(&mut shuffled.listings, seed.rotate_left(17));
        shuffle(&mut shuffled.categories, seed.rotate_left(34));
        let (a, b) = (rows.units(), shuffled.units());
        same_units_outcome("shuffled", &a, &b)?;
        prop_assert_eq!(&a.coverage, &b.coverage);
    }

    /// (f) Merging units ([`UnitTable`], what `aggregate` reads and a case
    /// keeps, and its rollup over all days) changes no estimate: every
    /// grouping and window gives what the units aggregated one by one add up to.
    #[test]
    fn merged_units_aggregate_like_units_one_by_one(w in world(), from in proptest::option::of(-30i64..45), len in proptest::option::of(0i64..60)) {
        let u = w.rows().units();
        let table = UnitTable::of(&u.units);
        prop_assert!(table.rows() <= u.units.len());
        prop_assert_eq!(table.units(), u.units.len() as u64);
        // The rollup (rows merged over all days) answers every grouping but
        // months over all days as the table does.
        let rollup = table.rollup();
        prop_assert!(rollup.rows() <= table.rows());
        for by in ALL_GROUPINGS {
            match rollup.aggregate(by) {
                None => prop_assert_eq!(by, GroupBy::Month),
                Some(r) => same_estimates(&format!("rollup by {by:?}"), &r, &table.aggregate(by, None, None))?,
            }
        }
        let to = len.map(|n| day(from.unwrap_or(-30) + n));
        let from = from.map(day);
        for by in ALL_GROUPINGS {
            for (f, t) in [(None, None), (from, to)] {
                let mut sum: BTreeMap<Key, Estimate> = BTreeMap::new();
                for one in &u.units {
                    for e in aggregate(std::slice::from_ref(one), by, f, t) {
                        match sum.get_mut(&key(&e)) {
                            None => { sum.insert(key(&e), e); }
                            Some(s) => {
                                s.sales += e.sales;
                                s.sales_lower += e.sales_lower;
                                s.revenue_usd += e.revenue_usd;
                                s.revenue_usd_lower += e.revenue_usd_lower;
                                s.unpriced_sales += e.unpriced_sales;
                                s.units += e.units;
                                s.inputs += e.inputs;
                                s.first_day = s.first_day.min(e.first_day);
                                s.last_day = s.last_day.max(e.last_day);
                                if e.coverage_note.starts_with("central above") {
                                    s.coverage_note = e.coverage_note;
                                }
                            }
                        }
                    }
                }
                let one_by_one: Vec<Estimate> = sum.into_values().collect();
                same_estimates(&format!("by {by:?}, {f:?}..{t:?}"), &table.aggregate(by, f, t), &one_by_one)?;
            }
        }
    }

    /// (g) The estimator fed feedback in parts, one (market, normalized
    /// vendor) at a time with the units merged as they come (what a case
    /// does), gives the ledger `units` gives in one go.
    #[test]
    fn feedback_in_vendor_parts_gives_the_whole(w in world()) {
        let rows = w.rows();
        let whole = rows.units();
        let input = Input { listings: &rows.listings, feedback: &[], categories: &rows.categories, vendors: &[] };
        let rates = rates();
        let mut e = Estimator::new(&input, &rates);
        let mut parts: BTreeMap<(String, String), Vec<&Obs<Feedback>>> = BTreeMap::new();
        for f in &rows.feedback {
            parts.entry((f.record.market.clone(), sales::dedup::normalize(f.record.vendor.as_deref().unwrap_or("?")))).or_default().push(f);
        }
        let mut table = UnitTableBuilder::default();
        for part in parts.values() {
            e.add_feedback(part);
            table.add(&e.take_units());
        }
        let ledger = Ledger::of_parts(table, e.finish());
        // The way `case` does it on several threads: each part estimated
        // apart (`feedback_part`) into a table of its own, tables merged in
        // part order. The same table and summary, exactly.
        let mut e = Estimator::new(&input, &rates);
        let built: Vec<(UnitTableBuilder, Units)> = parts
            .values()
            .map(|part| {
                let mut u = e.feedback_part(part);
                let mut b = UnitTableBuilder::default();
                b.add(&std::mem::take(&mut u.units));
                (b, u)
            })
            .collect();
        let mut table = UnitTableBuilder::default();
        table.add(&e.take_units()); // the listing side's
        for (b, u) in built {
            table.merge(b);
            e.add_part(u);
        }
        let threaded = Ledger::of_parts(table, e.finish());
        prop_assert_eq!(&threaded.table, &ledger.table);
        prop_assert_eq!(&threaded.summary, &ledger.summary);
        // Kept as written to a file, read back whole.
        let mut written = Vec::new();
        sales::write_kept_table(&mut written, "k", &ledger.table).unwrap();
        prop_assert_eq!(sales::decode_kept_table(&written, "k"), Some(ledger.table.clone()));
        // The way `case` does it now: each part's units merged straight into
        // its table (`feedback_part_into`, no `Unit` built), from rows of
        // another `FeedbackRow` form. The same table and summary, exactly.
        let mut e = Estimator::new(&input, &rates);
        let mut table = UnitTableBuilder::default();
        table.add(&e.take_units());
        for part in parts.values() {
            let mut b = UnitTableBuilder::default();
            let u = e.feedback_part_into(part, &mut b);
            prop_assert!(u.units.is_empty());
            table.merge(b);
            e.add_part(u);
        }
        let direct = Ledger::of_parts(table, e.finish());
        prop_assert_eq!(&direct.table, &ledger.table);
        prop_assert_eq!(&direct.summary, &ledger.summary);
        // Parts that share accounts (every part merged twice) still merge
        // row by row: the same rows as adding every unit twice (sums added
        // in another order: equal up to rounding).
        let mut twice = UnitTableBuilder::default();
        let mut units_twice = Vec::new();
        let e = Estimator::new(&input, &rates);
        for part in parts.values() {
            for _ in 0..2 {
                let mut b = UnitTableBuilder::default();
                e.feedback_part_into(part, &mut b);
                twice.merge(b);
                units_twice.extend(e.feedback_part(part).units);
            }
        }
        let mut added = UnitTableBuilder::default();
        added.add(&units_twice);
        let (twice, added) = (twice.finish(), added.finish());
        prop_assert_eq!(twice.rows(), added.rows());
        prop_assert_eq!(twice.units(), added.units());
        for by in ALL_GROUPINGS {
            same_estimates(&format!("parts twice, by {by:?}"), &twice.aggregate(by, None, None), &added.aggregate(by, None, None))?;
        }
        prop_assert_eq!(ledger.summary.feedback_unique, whole.feedback_unique);
        prop_assert_eq!(ledger.summary.feedback_sightings, whole.feedback_sightings);
        prop_assert_eq!(ledger.summary.units, whole.units.len() as u64);
        let mut problems: Vec<_> = ledger.summary.problems.iter().map(|p| (&p.id, &p.message)).collect();
        let mut expected: Vec<_> = whole.problems.iter().map(|p| (&p.id, &p.message)).collect();
        problems.sort();
        expected.sort();
        prop_assert_eq!(problems, expected);
        for by in ALL_GROUPINGS {
            same_estimates(&format!("parts, by {by:?}"), &ledger.table.aggregate(by, None, None), &aggregate(&whole.units, by, None, None))?;
        }
    }

    /// (e) Sales and revenue by month add up to the same totals as by market
    /// (per method), with and without a from/to window.
    #[test]
    fn months_add_up_to_markets(w in world(), from in proptest::option::of(-30i64..45), len in proptest::option::of(0i64..60)) {
        let u = w.rows().units();
        let to = len.map(|n| day(from.unwrap_or(-30) + n));
        let from = from.map(day);
        for (f, t) in [(None, None), (from, to)] {
            let months = aggregate(&u.units, GroupBy::Month, f, t);
            let markets = aggregate(&u.units, GroupBy::Market, f, t);
            for method in [Method::FeedbackCount, Method::SoldCounter] {
                let sum = |es: &[Estimate], g: fn(&Estimate) -> f64| -> f64 {
                    es.iter().filter(|e| e.method == method).map(g).sum()
                };
                for (name, g) in [
                    ("sales_lower", (|e: &Estimate| e.sales_lower) as fn(&Estimate) -> f64),
                    ("revenue_usd_lower", |e: &Estimate| e.revenue_usd_lower),
                    ("sales", |e: &Estimate| e.sales),
                    ("unpriced_sales", |e: &Estimate| e.unpriced_sales),
                ] {
                    let (m, k) = (sum(&months, g), sum(&markets, g));
                    prop_assert!(close(m, k, 1e-6), "{:?} {}: by month {} vs by market {} ({:?}..{:?})", method, name, m, k, f, t);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- minimal cases
//
// The smallest inputs found for the properties above, kept as plain tests.
// All rows are the same feedback ("great", same market, vendor, listing,
// rating, buyer) on pages captured in March 2020.

fn same_feedback(id: &str, page: &str, captured_day: u32, age: &str) -> Obs<Feedback> {
    Obs {
        id: id.into(),
        record: Feedback {
            market: MARKETS[0].into(),
            vendor: Some(VENDORS[0].into()),
            listing: Some(TITLES[0].into()),
            date: Some(age.into()),
            rating: Some(RATINGS[0].into()),
            text: Some(TEXTS[0].into()),
            buyer: Some("b***r".into()),
            price: None,
            observed_at: None,
            provenance: Some(provenance(page, "feedback/entry")),
        },
        captured_at: Some(format!("2020-03-{captured_day:02}T10:00:00Z")),
    }
}

fn unique_count(feedback: &[Obs<Feedback>]) -> u64 {
    units(&Input { listings: &[], feedback, categories: &[], vendors: &[] }, &Rates::default()).feedback_unique
}

/// (c) One feedback row imported twice is still one sale.
#[test]
fn one_row_twice_is_one_sale() {
    let row = same_feedback("f0", "page1", 10, "2 days ago");
    assert_eq!(unique_count(std::slice::from_ref(&row)), 1);
    assert_eq!(unique_count(&[row.clone(), row]), 1);
}

/// (d) Page 1 (Mar 10) shows the feedback twice, "7 days ago" (Mar 2..4)
/// and "5 days ago" (Mar 4..6); page 2 (Mar 12) shows it "8 days ago"
/// (Mar 3..5), which fits both equally well (two days each); page 3 (Mar 14)
/// shows it "13 days ago" (Feb 29..Mar 2), which fits only the first.
/// Which of page 1's entries page 2's joins must not depend on row order
/// (it decides whether page 3's joins one too: 2 or 3 sales).
#[test]
fn tie_between_uniques_does_not_depend_on_row_order() {
    let a = same_feedback("a", "page1", 10, "7 days ago");
    let b = same_feedback("b", "page1", 10, "5 days ago");
    let c = same_feedback("c", "page2", 12, "8 days ago");
    let d = same_feedback("d", "page3", 14, "13 days ago");
    let ab = unique_count(&[a.clone(), b.clone(), c.clone(), d.clone()]);
    let ba = unique_count(&[b, a, c, d]);
    assert_eq!(ab, ba, "row order changed the unique count");
}

/// Listings without an observation date are reported in id order, whatever
/// order they come in (a case hands the estimator its store's order).
#[test]
fn undated_listings_are_reported_in_one_order() {
    let listing = |id: &str, title: &str, observed_at: Option<&str>| Obs {
        id: id.into(),
        record: Listing { market: "alpha".into(), title: title.into(), observed_at: observed_at.map(str::to_owned), ..Listing::default() },
        captured_at: None,
    };
    let rows = vec![
        listing("L-b", "zeta", None),
        listing("L-c", "alpha", Some("2020-03-02")),
        listing("L-a", "omega", None),
        listing("L-d", "beta", None),
    ];
    let problems = |rows: &[Obs<Listing>]| -> Vec<(String, String)> {
        let u = units(&Input { listings: rows, feedback: &[], categories: &[], vendors: &[] }, &rates());
        u.problems.into_iter().map(|p| (p.id, p.message)).collect()
    };
    let forward = problems(&rows);
    let ids: Vec<&str> = forward.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["L-a", "L-b", "L-d"]);
    assert!(forward.iter().all(|(_, m)| m.contains("no observation date")), "{forward:?}");
    let mut reversed = rows.clone();
    reversed.reverse();
    assert_eq!(problems(&reversed), forward);
}

/// (b) Page 1 (Mar 10): "2 days ago" (Mar 7..9). Page 2 (Mar 12): "2 days
/// ago" (Mar 9..11). Page 3 (Mar 14): "7 days ago" (Mar 6..8) and "3 days
/// ago" (Mar 10..12). Greedy matching joins page 2's entry to page 1's (on
/// Mar 9), after which page 3's two entries match neither: 3 sales, though
/// {p1, p3a} and {p2, p3b} is 2. Adding a second entry to page 2, "4 days
/// ago" (Mar 7..9), sent the greedy match down the other path: 2 sales. So
/// more evidence lowered the lower bound, from 3 to 2. Interval stabbing
/// (sightings by last possible day) gives 2 for both.
#[test]
fn one_more_sighting_never_lowers_unique_feedback() {
    let subset = vec![
        same_feedback("p1", "page1", 10, "2 days ago"),
        same_feedback("p2", "page2", 12, "2 days ago"),
        same_feedback("p3a", "page3", 14, "7 days ago"),
        same_feedback("p3b", "page3", 14, "3 days ago"),
    ];
    let mut superset = subset.clone();
    superset.push(same_feedback("p2x", "page2", 12, "4 days ago"));
    let (sub, sup) = (unique_count(&subset), unique_count(&superset));
    assert!(sup >= sub, "unique feedback fell from {sub} to {sup} when a sighting was added");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// (d) Estimating one vendor's units alone (`units_where`, as a vendor
    /// report and an operator dossier do) gives exactly that vendor's units
    /// of the whole-case estimate, by every grouping.
    #[test]
    fn one_vendors_units_equal_its_share_of_the_whole(w in world(), which in 0..VENDORS.len()) {
        let rows = w.rows();
        let input = Input { listings: &rows.listings, feedback: &rows.feedback, categories: &rows.categories, vendors: &[] };
        let mut whole = units(&input, &rates());
        whole.units.retain(|u| u.vendor == VENDORS[which]);
        let alone = units_where(&input, &rates(), &|_, v| v == VENDORS[which]);
        prop_assert!(alone.units.iter().all(|u| u.vendor == VENDORS[which]));
        prop_assert_eq!(alone.units.len(), whole.units.len());
        for by in ALL_GROUPINGS {
            same_estimates(&format!("by {by:?}"), &aggregate(&whole.units, by, None, None), &aggregate(&alone.units, by, None, None))?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// (h) The allocation-light text normalization gives exactly the
    /// definition's result (lower-case each word, collapse whitespace), on
    /// any text: ASCII, mixed case, Unicode whitespace, a final sigma, and
    /// ASCII words spaced once (normalized by lower-casing alone) or nearly.
    #[test]
    fn normalization_is_the_definition(
        parts in proptest::collection::vec("(?s)[ \t\n\r\u{b}\u{c}\u{1c}\u{85}\u{a0}\u{2003}aZ09ΣσΑİẞ.\u{1f}-]{0,24}|[ \t\r\u{b}aZ.]{0,16}|\\PC{0,12}|[aZ.]{1,4}( {1,2}[aZ.\t]{1,4}){0,4} ?", 6)
    ) {
        let reference = |s: &str| s.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ");
        for p in &parts {
            prop_assert_eq!(sales::dedup::normalize(p), reference(p));
        }
        let expected = parts.iter().map(|p| reference(p)).collect::<Vec<_>>().join("\u{1f}");
        prop_assert_eq!(sales::dedup::identity(&parts[0], &parts[1], &parts[2], &parts[3], &parts[4], &parts[5]), expected);
    }
}
