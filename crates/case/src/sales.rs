//! Sales estimates and vendor dossiers over a case's stored observations
//! (pages and datasets alike); the arithmetic lives in crate `sales`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use model::{IdentifierKind, PageType, Sha256};
use sales::{Estimate, GroupBy, Input, ListingSummary, Obs, RateSeries, Rates, Units};
use store::{CaseStore, Filter, Stored};

use crate::{io, Case, CaseError, Result};

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
    /// The units, problems and coverage.
    pub units: Units,
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
    /// First day the vendor was observed.
    pub first_seen: Option<NaiveDate>,
    /// Last day the vendor was observed.
    pub last_seen: Option<NaiveDate>,
}

/// Listings of a vendor seen on one day on one market.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimelinePoint {
    /// Day.
    pub day: NaiveDate,
    /// Market.
    pub market: String,
    /// Listing observations that day.
    pub listings: u64,
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

fn obs<T>(rows: Vec<Stored<T>>, captured: &HashMap<Sha256, String>, evidence: impl Fn(&T) -> Option<Sha256>) -> Vec<Obs<T>> {
    rows.into_iter()
        .map(|s| {
            let captured_at = evidence(&s.record).and_then(|e| captured.get(&e).cloned());
            Obs { id: s.id.as_str().to_owned(), record: s.record, captured_at }
        })
        .collect()
}

/// The observations the estimators read.
pub(crate) struct Observations {
    pub(crate) listings: Vec<Obs<model::Listing>>,
    pub(crate) feedback: Vec<Obs<model::Feedback>>,
    pub(crate) categories: Vec<Obs<model::CategoryEntry>>,
    pub(crate) vendors: Vec<Obs<model::Vendor>>,
}

impl Observations {
    pub(crate) fn input(&self) -> Input<'_> {
        Input { listings: &self.listings, feedback: &self.feedback, categories: &self.categories, vendors: &self.vendors }
    }
}

impl Case {
    pub(crate) fn observations(&self, filter: &Filter) -> Result<Observations> {
        let captured: HashMap<Sha256, String> =
            self.store.pages()?.into_iter().filter_map(|p| p.captured_at.map(|c| (p.evidence, c))).collect();
        let ev = |p: &Option<model::Provenance>| p.as_ref().map(|p| p.evidence);
        Ok(Observations {
            listings: obs(self.store.listings(filter)?, &captured, |l: &model::Listing| ev(&l.provenance)),
            feedback: obs(self.store.feedback(filter)?, &captured, |f: &model::Feedback| ev(&f.provenance)),
            categories: obs(
                self.store.categories(&Filter { market: filter.market.clone(), ..Filter::default() })?,
                &captured,
                |c: &model::CategoryEntry| ev(&c.provenance),
            ),
            vendors: obs(self.store.vendors(filter)?, &captured, |v: &model::Vendor| ev(&v.provenance)),
        })
    }

    /// Sales estimates over every stored observation.
    pub fn sales(&self, rates: &Rates, opts: &SalesOptions) -> Result<SalesResult> {
        let o = self.observations(&Filter::default())?;
        let units = sales::units(&o.input(), rates);
        let estimates = sales::aggregate(&units.units, opts.by, opts.from, opts.to);
        Ok(SalesResult { estimates, units })
    }

    /// Listing counts and prices per market and vendor.
    pub fn listing_summary(&self, rates: &Rates) -> Result<Vec<ListingSummary>> {
        let o = self.observations(&Filter::default())?;
        Ok(sales::listing_summary(&o.listings, rates))
    }

    /// The dossier of every account named `name` (case-insensitive) on any market.
    pub fn vendor_dossier(&self, name: &str, rates: &Rates) -> Result<Option<VendorDossier>> {
        let o = self.observations(&Filter::default())?;
        let is = |v: Option<&str>| v.is_some_and(|v| v.trim().eq_ignore_ascii_case(name.trim()));
        let listings: Vec<Obs<model::Listing>> =
            o.listings.iter().filter(|l| is(l.record.vendor.as_deref())).cloned().collect();
        let feedback: Vec<Obs<model::Feedback>> =
            o.feedback.iter().filter(|f| is(f.record.vendor.as_deref())).cloned().collect();
        // The observations already hold every vendor row: no second query.
        let vendors: Vec<Obs<model::Vendor>> = o.vendors.iter().filter(|v| is(Some(&v.record.name))).cloned().collect();
        if listings.is_empty() && feedback.is_empty() && vendors.is_empty() {
            return Ok(None);
        }
        // Coverage comes from the whole market, not the vendor's share of it.
        let units = {
            let all = sales::units(&o.input(), rates);
            Units {
                units: all.units.into_iter().filter(|u| is(Some(&u.vendor))).collect(),
                ..Units::default()
            }
        };
        let estimates = sales::aggregate(&units.units, GroupBy::Vendor, None, None);
        let accounts = sales::listing_summary(&listings, rates);
        let mut timeline: BTreeMap<(NaiveDate, String), u64> = BTreeMap::new();
        let mut days: BTreeSet<NaiveDate> = BTreeSet::new();
        for l in &listings {
            let day = l.record.observed_at.as_deref().or(l.captured_at.as_deref()).and_then(sales::dates::observed_day);
            if let Some(d) = day {
                *timeline.entry((d, l.record.market.clone())).or_default() += 1;
                days.insert(d);
            }
        }
        for f in &feedback {
            let day = f.record.observed_at.as_deref().or(f.captured_at.as_deref()).and_then(sales::dates::observed_day);
            days.extend(day);
        }
        let mut identifiers = BTreeSet::new();
        let mut vendor_pages = BTreeSet::new();
        for v in &vendors {
            let r = &v.record;
            let source = v.id.clone();
            if let Some(fp) = &r.pgp_fingerprint {
                identifiers.insert(VendorIdentifier { kind: "pgp".into(), value: fp.clone(), market: r.market.clone(), source: source.clone() });
            }
            for c in &r.contacts {
                let (kind, value) = c.split_once(':').unwrap_or(("contact", c));
                identifiers.insert(VendorIdentifier { kind: kind.into(), value: value.into(), market: r.market.clone(), source: source.clone() });
            }
            if let Some(p) = &r.provenance {
                vendor_pages.insert((p.evidence, r.market.clone()));
            }
            days.extend(r.observed_at.as_deref().and_then(sales::dates::observed_day));
        }
        // Identifiers on the vendor's own profile pages (not on dataset files,
        // which hold many vendors).
        if !vendor_pages.is_empty() {
            let page_types: HashMap<Sha256, PageType> =
                self.store.pages()?.into_iter().map(|p| (p.evidence, p.page_type)).collect();
            for id in self.store.identifiers(&Filter::default())? {
                let Some(p) = &id.record.provenance else { continue };
                if page_types.get(&p.evidence) != Some(&PageType::Vendor) {
                    continue;
                }
                for (ev, market) in &vendor_pages {
                    if *ev == p.evidence && matches!(id.record.kind, IdentifierKind::Pgp | IdentifierKind::Btc | IdentifierKind::Xmr | IdentifierKind::Jabber | IdentifierKind::Email) {
                        identifiers.insert(VendorIdentifier {
                            kind: id.record.kind.as_str().into(),
                            value: id.record.value.clone(),
                            market: market.clone(),
                            source: id.id.as_str().to_owned(),
                        });
                    }
                }
            }
        }
        Ok(Some(VendorDossier {
            name: name.to_owned(),
            accounts,
            timeline: timeline.into_iter().map(|((day, market), listings)| TimelinePoint { day, market, listings }).collect(),
            estimates,
            profiles: vendors.into_iter().map(|v| VendorFact { id: v.id, vendor: v.record }).collect(),
            identifiers: identifiers.into_iter().collect(),
            first_seen: days.first().copied(),
            last_seen: days.last().copied(),
        }))
    }
}

fn report_rows(estimates: &[Estimate], group: impl Fn(&Estimate) -> String) -> Vec<report::SalesRow> {
    estimates
        .iter()
        .map(|e| report::SalesRow {
            group: group(e),
            method: e.method.as_str().to_owned(),
            sales: e.sales,
            sales_lower: e.sales_lower,
            revenue_usd: e.revenue_usd,
            revenue_usd_lower: e.revenue_usd_lower,
            unpriced: e.unpriced_sales,
            days: format!("{}..{}", e.first_day, e.last_day),
            coverage_note: e.coverage_note.clone(),
        })
        .collect()
}

impl Case {
    /// The report's sales section: by vendor and by month, with methods.
    /// `None` when nothing in the case supports an estimate.
    pub(crate) fn report_sales(&self, rates: &Rates) -> Result<Option<report::SalesTables>> {
        let o = self.observations(&Filter::default())?;
        let units = sales::units(&o.input(), rates);
        if units.units.is_empty() {
            return Ok(None);
        }
        let mut by_vendor = sales::aggregate(&units.units, GroupBy::Vendor, None, None);
        by_vendor.sort_by(|a, b| b.sales.total_cmp(&a.sales).then_with(|| a.vendor.cmp(&b.vendor)));
        let by_month = sales::aggregate(&units.units, GroupBy::Month, None, None);
        let methods: BTreeSet<sales::Method> = units.units.iter().map(|u| u.method).collect();
        let series: Vec<String> = rates.all().map(|s| format!("{} from {}", s.currency, s.source)).collect();
        let rates_note = if series.is_empty() {
            "prices shown in USD (or with the market's own USD price); no rate series given, so other currencies are unpriced".to_owned()
        } else {
            format!("prices shown in USD or with the market's own USD price as shown; otherwise converted at the daily rate of the sale day ({})", series.join("; "))
        };
        Ok(Some(report::SalesTables {
            by_vendor: report_rows(&by_vendor, |e| {
                format!("{} / {}", e.market.as_deref().unwrap_or("?"), e.vendor.as_deref().unwrap_or("?"))
            }),
            by_month: report_rows(&by_month, |e| e.month.clone().unwrap_or_default()),
            methods: methods.into_iter().map(|m| (m.as_str().to_owned(), m.params().to_string())).collect(),
            rates_note,
        }))
    }
}
