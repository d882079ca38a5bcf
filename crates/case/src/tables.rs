//! The case's observations and estimates as flat tables for `dragnet export`.

use std::collections::HashMap;
use std::path::Path;

use export::{Column, Format, Kind, Table, TableWriter, Written};
use sales::{GroupBy, Rates};
use store::{CaseStore, Filter};

use crate::sales::{captured_times, FeedbackRead, ListingOrder, SalesOptions};
use crate::{Case, Result};

fn s(v: impl Into<Option<String>>) -> Option<String> {
    v.into()
}

fn table(name: &str, columns: Vec<(&str, Column)>) -> Table {
    Table { name: name.to_owned(), columns: columns.into_iter().map(|(n, c)| (n.to_owned(), c)).collect() }
}

fn rule_of(p: &Option<model::Provenance>) -> (Option<String>, Option<String>) {
    p.as_ref().map_or((None, None), |p| (Some(p.evidence.to_hex()), Some(format!("{}#{}", p.profile, p.rule))))
}

/// Rows per batch written: Parquet and CSV are fed in pieces of a few
/// MB, and a batch's cells are all that is held as strings at once.
const BATCH: usize = 1 << 14;

/// String columns, then day columns, gathered a batch of rows at a time,
/// written as each fills.
struct StrBatch {
    writer: TableWriter,
    columns: Vec<Vec<Option<String>>>,
    days: Vec<Vec<Option<chrono::NaiveDate>>>,
}

impl StrBatch {
    fn create(format: Format, dir: &Path, name: &str, names: &[&str], day_names: &[&str]) -> Result<StrBatch> {
        let kinds: Vec<(&str, Kind)> =
            names.iter().map(|n| (*n, Kind::Str)).chain(day_names.iter().map(|n| (*n, Kind::Date))).collect();
        let writer = TableWriter::create(format, dir, name, &kinds)?;
        Ok(StrBatch {
            writer,
            columns: names.iter().map(|_| Vec::with_capacity(BATCH)).collect(),
            days: day_names.iter().map(|_| Vec::with_capacity(BATCH)).collect(),
        })
    }

    /// Adds a row (its text cells and its days in column order), writing
    /// the batch when full.
    fn push(&mut self, row: impl IntoIterator<Item = Option<String>>, days: impl IntoIterator<Item = Option<chrono::NaiveDate>>) -> Result<()> {
        for (c, v) in self.columns.iter_mut().zip(row) {
            c.push(v);
        }
        for (c, v) in self.days.iter_mut().zip(days) {
            c.push(v);
        }
        if self.columns[0].len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let mut batch: Vec<Column> = self.columns.iter_mut().map(|c| Column::Str(std::mem::replace(c, Vec::with_capacity(BATCH)))).collect();
        batch.extend(self.days.iter_mut().map(|c| Column::Date(std::mem::replace(c, Vec::with_capacity(BATCH)))));
        self.writer.write(&batch)?;
        Ok(())
    }

    fn finish(mut self) -> Result<Written> {
        self.flush()?;
        Ok(self.writer.finish()?)
    }
}

impl Case {
    /// Writes listings, feedback, vendors, sales estimates (by vendor, every
    /// method), coverage (per market, and per market and crawl day) and the
    /// estimates' notes on rows (id, message) and the rate series used (by
    /// file and digest) as tables in `format` under `dir`, one file each.
    /// Listing prices are
    /// also given in USD with the rate that made them. Estimates and
    /// coverage are those `dragnet sales --by vendor` shows (the kept sales
    /// units). Feedback is read and written an account at a time in the
    /// store's order (market, vendor, id), listings a batch at a time: a
    /// case of millions of rows is never one table in memory.
    pub fn export(&self, rates: &Rates, format: Format, dir: &Path) -> Result<Vec<Written>> {
        let mut written = Vec::new();
        let sales = self.sales(rates, &SalesOptions { by: GroupBy::Vendor, from: None, to: None })?;
        // A listing row's notes from the estimates beside its price: a
        // holding price ($99,999 "restock soon") prices no sale, and a sum of
        // the column without them is the error the estimates avoid.
        let mut listing_notes: HashMap<&str, String> = HashMap::new();
        for p in sales.summary.problems.iter().filter(|p| p.id.starts_with("L-")) {
            let note = listing_notes.entry(p.id.as_str()).or_default();
            if !note.is_empty() {
                note.push_str("; ");
            }
            note.push_str(&p.message);
        }
        written.push(self.export_listings(rates, &listing_notes, format, dir)?);
        // Each page's capture time, read once: feedback and vendor rows
        // without a date of their own are dated by their page's capture.
        let captured = captured_times(&self.store.pages()?);
        written.push(self.export_feedback(&captured, format, dir)?);
        written.push(self.export_vendors(&captured, format, dir)?);
        let est = &sales.estimates;
        let f64s = |f: &dyn Fn(&sales::Estimate) -> f64| Column::F64(est.iter().map(|e| Some(f(e))).collect());
        let strs = |f: &dyn Fn(&sales::Estimate) -> Option<String>| Column::Str(est.iter().map(f).collect());
        let estimates = table(
            "estimates",
            vec![
                ("market", strs(&|e| e.market.clone())),
                ("vendor", strs(&|e| e.vendor.clone())),
                ("method", strs(&|e| Some(e.method.as_str().to_owned()))),
                ("sales", f64s(&|e| e.sales)),
                ("sales_lower", f64s(&|e| e.sales_lower)),
                // Null when no sale of the row is priced: unknown, not 0.
                ("revenue_usd", Column::F64(est.iter().map(|e| e.revenue_known().then_some(e.revenue_usd)).collect())),
                ("revenue_usd_lower", Column::F64(est.iter().map(|e| e.revenue_known().then_some(e.revenue_usd_lower)).collect())),
                ("unpriced_sales", f64s(&|e| e.unpriced_sales)),
                ("undated_sales", f64s(&|e| e.undated_sales)),
                ("units", Column::I64(est.iter().map(|e| i64::try_from(e.units).ok()).collect())),
                ("inputs", Column::I64(est.iter().map(|e| i64::try_from(e.inputs).ok()).collect())),
                // No first day when some sales have none (`undated_sales`).
                ("first_day", Column::Date(est.iter().map(|e| e.first_day).collect())),
                ("last_day", Column::Date(est.iter().map(|e| Some(e.last_day)).collect())),
                ("coverage_note", strs(&|e| Some(e.coverage_note.clone()))),
                ("params", strs(&|e| Some(e.method.params().to_string()))),
            ],
        );
        written.push(export::write_table(format, &estimates, dir)?);
        let cov = &sales.summary.coverage;
        let coverage = table(
            "coverage",
            vec![
                ("market", Column::Str(cov.iter().map(|c| Some(c.market.clone())).collect())),
                // Empty on a market's whole-capture row (see docs/methods.md).
                ("day", Column::Date(cov.iter().map(|c| c.day).collect())),
                ("listings_seen", Column::I64(cov.iter().map(|c| i64::try_from(c.listings_seen).ok()).collect())),
                ("listings_stated", Column::I64(cov.iter().map(|c| c.listings_stated.and_then(|x| i64::try_from(x).ok())).collect())),
                ("coverage", Column::F64(cov.iter().map(|c| c.coverage).collect())),
            ],
        );
        written.push(export::write_table(format, &coverage, dir)?);
        // Every row the estimates used only in part, and why (`dragnet
        // sales` prints the first 20).
        let notes = &sales.summary.problems;
        let notes = table(
            "notes",
            vec![
                ("id", Column::Str(notes.iter().map(|p| Some(p.id.clone())).collect())),
                ("message", Column::Str(notes.iter().map(|p| Some(p.message.clone())).collect())),
            ],
        );
        written.push(export::write_table(format, &notes, dir)?);
        // The rate series the USD figures were converted with, by file and
        // digest: a listing's `usd_rate` (`series:BTC@DAY`) names its
        // currency and day, this table the file that gave it.
        let series: Vec<&sales::RateSeries> = rates.all().collect();
        let rates_table = table(
            "rates",
            vec![
                ("currency", Column::Str(series.iter().map(|r| Some(r.currency.clone())).collect())),
                ("source", Column::Str(series.iter().map(|r| Some(r.source.clone())).collect())),
                ("first_day", Column::Date(series.iter().map(|r| Some(r.span().0)).collect())),
                ("last_day", Column::Date(series.iter().map(|r| Some(r.span().1)).collect())),
                ("days", Column::I64(series.iter().map(|r| i64::try_from(r.len()).ok()).collect())),
            ],
        );
        written.push(export::write_table(format, &rates_table, dir)?);
        Ok(written)
    }

    fn export_listings(&self, rates: &Rates, notes: &HashMap<&str, String>, format: Format, dir: &Path) -> Result<Written> {
        let o = self.observations_with(&Filter::default(), FeedbackRead::Skip, ListingOrder::Sorted)?;
        let names = [
            "id", "evidence", "rule", "market", "vendor", "title", "category", "price_amount", "price_currency",
            "price_usd_shown", "price_btc_shown", "usd_rate", "ships_from", "ships_to", "sold_since", "observed_at",
            "market_listing_id", "estimate_notes",
        ];
        let mut columns: Vec<(&str, Kind)> = names.iter().map(|n| (*n, Kind::Str)).collect();
        columns.extend([("price_usd", Kind::F64), ("sold", Kind::I64), ("observed_day", Kind::Date)]);
        let mut w = TableWriter::create(format, dir, "listings", &columns)?;
        for part in o.listings.chunks(BATCH) {
            let mut cols: Vec<Vec<Option<String>>> = names.iter().map(|_| Vec::with_capacity(part.len())).collect();
            let (mut sold, mut usd, mut days) = (Vec::with_capacity(part.len()), Vec::with_capacity(part.len()), Vec::with_capacity(part.len()));
            for l in part {
                let r = &l.record;
                let (ev, rule) = rule_of(&r.provenance);
                let day = r.observed_at.as_deref().or(l.captured_at.as_deref()).and_then(sales::dates::observed_day);
                days.push(day);
                // Converted as the estimators convert it: a month-only date
                // at the month's middle day (Dream's 2017-07 rows were
                // exported at July 1's rate, 26 % above the dossier's).
                let priced_on = sales::dates::pricing_day(r.observed_at.as_deref(), l.captured_at.as_deref());
                let conv = priced_on.map(|d| sales::listing_usd(r, d, rates));
                usd.push(conv.as_ref().and_then(|c| c.as_ref().ok()).map(|c| c.usd));
                sold.push(r.sold.and_then(|v| i64::try_from(v).ok()));
                let row = [
                    s(l.id.clone()),
                    ev,
                    rule,
                    s(r.market.clone()),
                    r.vendor.clone(),
                    s(r.title.clone()),
                    s(r.category.join(" > ")),
                    r.price.as_ref().map(|m| m.amount.clone()),
                    r.price.as_ref().map(|m| m.currency.clone()),
                    r.price_usd.clone(),
                    r.price_btc.clone(),
                    conv.map(|c| match c {
                        Ok(c) => c.rate.label(),
                        Err(e) => format!("unconverted: {e}"),
                    }),
                    r.ships_from.clone(),
                    s(r.ships_to.join("; ")),
                    r.sold_since.clone(),
                    r.observed_at.clone().or_else(|| l.captured_at.clone()),
                    r.market_listing_id.clone(),
                    notes.get(l.id.as_str()).cloned(),
                ];
                for (c, v) in cols.iter_mut().zip(row) {
                    c.push(v);
                }
            }
            let mut batch: Vec<Column> = cols.into_iter().map(Column::Str).collect();
            batch.extend([Column::F64(usd), Column::I64(sold), Column::Date(days)]);
            w.write(&batch)?;
        }
        Ok(w.finish()?)
    }

    /// Feedback an account at a time: the accounts in order, each account's
    /// rows in the store's order, make the order of `CaseStore::feedback`.
    fn export_feedback(&self, captured: &HashMap<model::Sha256, String>, format: Format, dir: &Path) -> Result<Written> {
        let names = ["id", "evidence", "rule", "market", "vendor", "listing", "date", "rating", "text", "buyer", "observed_at"];
        // The days as the estimates read them: the day the row was observed,
        // and the days its shown date allows ("3 days ago" seen on D is
        // D-4..D-2; a calendar date is one day).
        let mut out = StrBatch::create(format, dir, "feedback", &names, &["observed_day", "day_earliest", "day_latest"])?;
        let own = |v: Option<&str>| v.map(str::to_owned);
        for (market, vendor) in self.store.feedback_accounts()? {
            let (read, only_unnamed) = self.feedback_read(&market, vendor.as_deref())?;
            for f in read.borrowed()? {
                let r = &f.record;
                if only_unnamed && r.vendor.is_some() {
                    continue;
                }
                let (ev, rule) = r.provenance.map_or((None, None), |(ev, profile, rule)| (Some(ev.to_hex()), Some(format!("{profile}#{rule}"))));
                let captured_at = || r.provenance.and_then(|(ev, _, _)| captured.get(&ev)).cloned();
                let observed = own(r.observed_at).or_else(captured_at);
                let seen = observed.as_deref().and_then(sales::dates::observed_day);
                let shown = seen.and_then(|d| r.date.and_then(|t| sales::dates::shown_date_range(t, d)));
                let days = [seen, shown.map(|r| r.earliest), shown.map(|r| r.latest)];
                out.push([
                    Some(f.id()),
                    ev,
                    rule,
                    s(r.market.to_owned()),
                    own(r.vendor),
                    own(r.listing),
                    own(r.date),
                    own(r.rating),
                    own(r.text),
                    own(r.buyer),
                    observed,
                ], days)?;
            }
        }
        out.finish()
    }

    fn export_vendors(&self, captured: &HashMap<model::Sha256, String>, format: Format, dir: &Path) -> Result<Written> {
        let vendors_rows = self.store.vendors(&Filter::default())?;
        // The day a profile was seen (its own date, else its page's capture),
        // and the registration day as the estimates read it: the first day
        // the shown date allows ("August 2020" is 2020-08-01; it was null
        // where the estimates used that day; found by a review).
        let (mut seen_days, mut registered_days) = (Vec::with_capacity(vendors_rows.len()), Vec::with_capacity(vendors_rows.len()));
        let mut vcols: Vec<Vec<Option<String>>> = (0..10).map(|_| Vec::with_capacity(vendors_rows.len())).collect();
        let mut vsales = Vec::with_capacity(vendors_rows.len());
        for v in &vendors_rows {
            let r = &v.record;
            let (ev, rule) = rule_of(&r.provenance);
            vsales.push(r.sales.and_then(|x| i64::try_from(x).ok()));
            let seen = r
                .observed_at
                .as_deref()
                .or_else(|| r.provenance.as_ref().and_then(|p| captured.get(&p.evidence)).map(String::as_str))
                .and_then(sales::dates::observed_day);
            let registered = seen.and_then(|d| r.registered.as_deref().and_then(|t| sales::dates::shown_date_range(t, d)));
            seen_days.push(seen);
            registered_days.push(registered.map(|r| r.earliest));
            let row = [
                s(v.id.as_str().to_owned()),
                ev,
                rule,
                s(r.market.clone()),
                s(r.name.clone()),
                r.registered.clone(),
                r.level.clone(),
                r.trust.clone(),
                r.pgp_fingerprint.clone(),
                r.observed_at.clone(),
            ];
            for (c, x) in vcols.iter_mut().zip(row) {
                c.push(x);
            }
        }
        let vnames = ["id", "evidence", "rule", "market", "name", "registered", "level", "trust", "pgp_fingerprint", "observed_at"];
        let mut vendor_cols: Vec<(&str, Column)> = vnames.iter().copied().zip(vcols.into_iter().map(Column::Str)).collect();
        vendor_cols.push(("sales", Column::I64(vsales)));
        vendor_cols.push(("observed_day", Column::Date(seen_days)));
        vendor_cols.push(("registered_day", Column::Date(registered_days)));
        Ok(export::write_table(format, &table("vendors", vendor_cols), dir)?)
    }
}
