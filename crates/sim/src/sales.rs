//! A large synthetic listings dataset with feedback, for the sales benchmark
//! (`bench/sales`): `N` listings and exactly `M` feedback entries, written as
//! CSV files in the layout of the Agora 2014 derived files
//! (`crates/datasets/src/agora.rs`), which `dragnet import --format
//! agora-2014` reads:
//!
//! ```text
//! "list","date","vendor","product","price","usd_shown","rate","cat","subcat","subsubcat","feedback","from","to"
//! ```
//!
//! Why that layout: it is the built-in dataset layout that carries feedback
//! entries (in each listing's `feedback` cell: `Feedbacks: 5/5 <text>
//! <N days ago> <buyer> ...`); the mapping format describes listings only.
//! The simulated market shows USD prices, so the USD column is `usd_shown`
//! (a price shown, which the importer takes as such), not Agora's `usd` (the
//! dataset's own conversion on the crawl day, which it does not use).
//! Every value is fictional (names from the sim word lists plus a number);
//! the market column does not exist in the layout, so the importer files
//! everything under market `agora`.
//!
//! Properties the benchmark relies on:
//! - **Deterministic**: one ChaCha20 stream seeded by [`SalesSimConfig::seed`];
//!   the same config gives byte-identical files.
//! - **Streaming**: rows are written as they are drawn; memory does not grow
//!   with `N` or `M`.
//! - **No duplicate feedback**: every listing title is unique (it ends with
//!   the listing number), so no two entries of different listings share the
//!   sales method's identity (market, vendor, listing, rating, buyer, text),
//!   and entries within one row are separate sales by that method's rule.
//!   Hence unique feedback = entries written, and each is priced at its
//!   listing's `usd_shown` price.
//! - **Exact totals**: the returned [`SalesSimSummary`] has the feedback
//!   count and the revenue in cents (each `usd_shown` price has two decimals).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use rand::{Rng, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::words::{
    CATALOGUE, COUNTRIES, DESTINATIONS, FEEDBACK_NEGATIVE, FEEDBACK_NEUTRAL, FEEDBACK_POSITIVE,
    NAME_FIRST, NAME_SECOND, TITLE_TAGS,
};

/// The header of every generated file.
pub const HEADER: &str =
    "\"list\",\"date\",\"vendor\",\"product\",\"price\",\"usd_shown\",\"rate\",\"cat\",\"subcat\",\"subsubcat\",\"feedback\",\"from\",\"to\"";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesSimConfig {
    /// Seed of the ChaCha20 stream.
    pub seed: u64,
    /// Listings (rows).
    pub listings: u64,
    /// Feedback entries, spread over the listings (exactly this many).
    pub feedback: u64,
    /// Vendors; 0: one per 100 listings. At least 1, at most `listings`.
    pub vendors: u64,
    /// Files the rows are split into (at least 1, at most `listings`).
    pub files: usize,
}

impl Default for SalesSimConfig {
    fn default() -> Self {
        SalesSimConfig { seed: 7, listings: 1_000, feedback: 10_000, vendors: 0, files: 1 }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesSimSummary {
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// Listings written.
    pub listings: u64,
    /// Feedback entries written.
    pub feedback: u64,
    /// Vendors that have at least one listing.
    pub vendors: u64,
    /// Bytes written (all files).
    pub bytes: u64,
    /// Sum over feedback entries of their listing's `usd_shown` price, in cents.
    pub revenue_cents: u64,
    /// The seed used.
    pub seed: u64,
}

/// File `i` (from 0) of a generated dataset in `dir`.
pub fn file_name(i: usize) -> String {
    format!("sim-sales-agora-layout-{:04}.csv", i + 1)
}

/// A vendor name for vendor number `v`: two words and the number, so every
/// number gives a distinct name.
pub fn vendor_name(v: u64) -> String {
    let a = NAME_FIRST.len() as u64;
    let b = NAME_SECOND.len() as u64;
    format!("{}{}{}", NAME_FIRST[(v % a) as usize], NAME_SECOND[((v / a) % b) as usize], v / (a * b))
}

/// CSV-quotes `s` (every field of the Agora files is quoted).
fn quoted(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Writes the dataset into `dir` (created if needed), streaming.
pub fn write_sales_dataset(dir: &Path, cfg: &SalesSimConfig) -> io::Result<SalesSimSummary> {
    std::fs::create_dir_all(dir)?;
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let n = cfg.listings;
    let vendors = if cfg.vendors == 0 { n / 100 } else { cfg.vendors }.clamp(1, n.max(1));
    let files = (cfg.files.max(1) as u64).min(n.max(1));
    let per_file = n.div_ceil(files).max(1);
    let start = NaiveDate::from_ymd_opt(2014, 1, 1).unwrap_or_default();

    let mut summary = SalesSimSummary {
        files: Vec::new(),
        listings: 0,
        feedback: 0,
        vendors: 0,
        bytes: 0,
        revenue_cents: 0,
        seed: cfg.seed,
    };
    let mut used_vendor = vec![false; usize::try_from(vendors).unwrap_or(usize::MAX)];
    let mut remaining = cfg.feedback;
    let mut w: Option<BufWriter<File>> = None;
    let mut row: Vec<u8> = Vec::with_capacity(4096);
    let mut text = String::with_capacity(256);
    for i in 0..n {
        if i % per_file == 0 {
            if let Some(mut old) = w.take() {
                old.flush()?;
            }
            let path = dir.join(file_name(summary.files.len()));
            let mut f = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            f.write_all(HEADER.as_bytes())?;
            f.write_all(b"\n")?;
            summary.bytes += HEADER.len() as u64 + 1;
            summary.files.push(path);
            w = Some(f);
        }
        // Vendor: skewed, a few vendors have many listings (u^2 puts more
        // mass on low numbers).
        let u: f64 = rng.random();
        let v = ((u * u * vendors as f64) as u64).min(vendors - 1);
        if let Some(flag) = used_vendor.get_mut(v as usize) {
            if !*flag {
                *flag = true;
                summary.vendors += 1;
            }
        }
        let top = &CATALOGUE[rng.random_range(0..CATALOGUE.len())];
        let sub = &top.subs[rng.random_range(0..top.subs.len())];
        let product = sub.products[rng.random_range(0..sub.products.len())];
        let qty = sub.quantities[rng.random_range(0..sub.quantities.len())];
        let tag = TITLE_TAGS[rng.random_range(0..TITLE_TAGS.len())];
        let cents = u64::from(qty) * rng.random_range(sub.unit_cents.0..=sub.unit_cents.1);
        let day = start.checked_add_days(Days::new(rng.random_range(0..365))).unwrap_or(start);
        let day_n = (day - start).num_days().unsigned_abs();
        // A made-up USD/BTC rate per day (cents), constant within a day.
        let rate_cents = 40_000 + (day_n * 7_919) % 30_000;
        let btc = cents as f64 / rate_cents as f64;
        let from = COUNTRIES[rng.random_range(0..COUNTRIES.len())];
        let to = DESTINATIONS[rng.random_range(0..DESTINATIONS.len())].join(", ");

        // Feedback entries: on average what is left per listing left, 0 to
        // twice that; the last listing takes the rest.
        let left = n - i;
        let k = if left == 1 {
            remaining
        } else {
            let avg = remaining as f64 / left as f64;
            let hi = (2.0 * avg).round() as u64;
            rng.random_range(0..=hi).min(remaining)
        };
        remaining -= k;
        text.clear();
        text.push_str(" Feedbacks:");
        if k == 0 {
            text.push_str(" No feedbacks found.");
        }
        for _ in 0..k {
            let r: u32 = rng.random_range(0..100);
            let (stars, pool) = match r {
                0..80 => (5, FEEDBACK_POSITIVE),
                80..88 => (4, FEEDBACK_POSITIVE),
                88..94 => (3, FEEDBACK_NEUTRAL),
                94..97 => (2, FEEDBACK_NEGATIVE),
                _ => (1, FEEDBACK_NEGATIVE),
            };
            let said = pool[rng.random_range(0..pool.len())];
            let ago = match rng.random_range(0..20u32) {
                0 => format!("{} hours ago", rng.random_range(1..24u32)),
                1 => format!("{} weeks ago", rng.random_range(2..9u32)),
                _ => format!("{} days ago", rng.random_range(1..120u32)),
            };
            let buyer = match rng.random_range(0..4u32) {
                0 => "anon [0 deals]".to_owned(),
                1 => format!("anon ~5/5, {}~{} deals", 1, 2),
                2 => format!("anon 4.{:02}/5, 25~40 deals", rng.random_range(50..100u32)),
                _ => format!("anon {}~{} deals", 6, 10),
            };
            use std::fmt::Write as _;
            let _ = write!(text, " {stars}/5 {said} {ago} {buyer}");
        }
        text.push(' ');
        summary.feedback += k;
        summary.revenue_cents += k * cents;
        summary.listings += 1;

        row.clear();
        let date = day.format("%Y-%m-%d").to_string();
        quoted(&mut row, &format!("{date}__L{i:010}.html"));
        row.push(b',');
        quoted(&mut row, &date);
        row.push(b',');
        quoted(&mut row, &vendor_name(v));
        row.push(b',');
        quoted(&mut row, &format!("{qty} {} {product} {tag} #{i}", sub.unit));
        let _ = write!(
            row,
            ",{btc:.8},{}.{:02},{}.{:02},",
            cents / 100,
            cents % 100,
            rate_cents / 100,
            rate_cents % 100
        );
        quoted(&mut row, "Drugs");
        row.push(b',');
        quoted(&mut row, top.name);
        row.push(b',');
        quoted(&mut row, sub.name);
        row.push(b',');
        quoted(&mut row, &text);
        row.push(b',');
        quoted(&mut row, from);
        row.push(b',');
        quoted(&mut row, &to);
        row.push(b'\n');
        if let Some(f) = w.as_mut() {
            f.write_all(&row)?;
        }
        summary.bytes += row.len() as u64;
    }
    if let Some(mut f) = w.take() {
        f.flush()?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_names_are_distinct() {
        let names: std::collections::BTreeSet<String> = (0..5_000).map(vendor_name).collect();
        assert_eq!(names.len(), 5_000);
    }
}
