//! The case's observations and estimates as flat tables for `dragnet export`.

use export::{Column, Table};
use sales::{GroupBy, Rates};
use store::{CaseStore, Filter};

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

impl Case {
    /// Listings, feedback, vendors, sales estimates (by vendor, every
    /// method) and coverage (per market, and per market and crawl day) as
    /// tables. Listing prices are also given in USD with the rate
    /// that made them.
    pub fn export_tables(&self, rates: &Rates) -> Result<Vec<Table>> {
        let o = self.observations(&Filter::default())?;
        let n = o.listings.len();
        let mut cols: Vec<Vec<Option<String>>> = (0..17).map(|_| Vec::with_capacity(n)).collect();
        let (mut sold, mut usd) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for l in &o.listings {
            let r = &l.record;
            let (ev, rule) = rule_of(&r.provenance);
            let day = r.observed_at.as_deref().or(l.captured_at.as_deref()).and_then(sales::dates::observed_day);
            let conv = day.map(|d| sales::listing_usd(r, d, rates));
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
            ];
            for (c, v) in cols.iter_mut().zip(row) {
                c.push(v);
            }
        }
        let names = [
            "id", "evidence", "rule", "market", "vendor", "title", "category", "price_amount", "price_currency",
            "price_usd_shown", "price_btc_shown", "usd_rate", "ships_from", "ships_to", "sold_since", "observed_at",
            "market_listing_id",
        ];
        let mut listing_cols: Vec<(&str, Column)> = names.iter().copied().zip(cols.into_iter().map(Column::Str)).collect();
        listing_cols.push(("price_usd", Column::F64(usd)));
        listing_cols.push(("sold", Column::I64(sold)));
        let listings = table("listings", listing_cols);

        let mut fcols: Vec<Vec<Option<String>>> = (0..11).map(|_| Vec::with_capacity(o.feedback.len())).collect();
        for f in &o.feedback {
            let r = &f.record;
            let (ev, rule) = rule_of(&r.provenance);
            let row = [
                s(f.id.clone()),
                ev,
                rule,
                s(r.market.clone()),
                r.vendor.clone(),
                r.listing.clone(),
                r.date.clone(),
                r.rating.clone(),
                r.text.clone(),
                r.buyer.clone(),
                r.observed_at.clone().or_else(|| f.captured_at.clone()),
            ];
            for (c, v) in fcols.iter_mut().zip(row) {
                c.push(v);
            }
        }
        let fnames = ["id", "evidence", "rule", "market", "vendor", "listing", "date", "rating", "text", "buyer", "observed_at"];
        let feedback = table("feedback", fnames.iter().copied().zip(fcols.into_iter().map(Column::Str)).collect());

        let vendors_rows = self.store.vendors(&Filter::default())?;
        let mut vcols: Vec<Vec<Option<String>>> = (0..10).map(|_| Vec::with_capacity(vendors_rows.len())).collect();
        let mut vsales = Vec::with_capacity(vendors_rows.len());
        for v in &vendors_rows {
            let r = &v.record;
            let (ev, rule) = rule_of(&r.provenance);
            vsales.push(r.sales.and_then(|x| i64::try_from(x).ok()));
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
        let vendors = table("vendors", vendor_cols);

        let units = sales::units(&o.input(), rates);
        let est = sales::aggregate(&units.units, GroupBy::Vendor, None, None);
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
                ("revenue_usd", f64s(&|e| e.revenue_usd)),
                ("revenue_usd_lower", f64s(&|e| e.revenue_usd_lower)),
                ("unpriced_sales", f64s(&|e| e.unpriced_sales)),
                ("units", Column::I64(est.iter().map(|e| i64::try_from(e.units).ok()).collect())),
                ("inputs", Column::I64(est.iter().map(|e| i64::try_from(e.inputs).ok()).collect())),
                ("first_day", strs(&|e| Some(e.first_day.to_string()))),
                ("last_day", strs(&|e| Some(e.last_day.to_string()))),
                ("coverage_note", strs(&|e| Some(e.coverage_note.clone()))),
                ("params", strs(&|e| Some(e.method.params().to_string()))),
            ],
        );
        let cov = &units.coverage;
        let coverage = table(
            "coverage",
            vec![
                ("market", Column::Str(cov.iter().map(|c| Some(c.market.clone())).collect())),
                ("day", Column::Str(cov.iter().map(|c| c.day.map(|d| d.to_string())).collect())),
                ("listings_seen", Column::I64(cov.iter().map(|c| i64::try_from(c.listings_seen).ok()).collect())),
                ("listings_stated", Column::I64(cov.iter().map(|c| c.listings_stated.and_then(|x| i64::try_from(x).ok())).collect())),
                ("coverage", Column::F64(cov.iter().map(|c| c.coverage).collect())),
            ],
        );
        Ok(vec![listings, feedback, vendors, estimates, coverage])
    }
}
