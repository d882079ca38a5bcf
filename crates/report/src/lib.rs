//! Reports: a self-contained HTML case report built from stored facts.
//!
//! **Invariant:** this crate computes no new facts. It selects, groups and
//! formats what `store` holds; every figure in a report is a count or a value
//! of stored rows, and every row cites the evidence record (SHA-256) it came
//! from, listed in the report's evidence index.
//!
//! Templates are minijinja with HTML auto-escaping: captured strings (titles,
//! vendor names, feedback) are hostile input and are never inserted raw.
//! Reports are reproducible: no wall-clock, sorted inputs.
#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use store::{CaseStore, Filter};

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
}

/// Report settings.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Report title.
    pub title: String,
    /// Tool version to print.
    pub tool_version: String,
    /// Rows of listings to show per vendor section (0 = 10).
    pub listings_per_vendor: usize,
    /// Sales estimates computed by the caller (crate `sales`); the report
    /// only lays them out.
    pub sales: Option<SalesTables>,
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
#[derive(Debug, Clone, Serialize)]
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
    /// First and last sale day.
    pub days: String,
    /// How the central estimate was scaled.
    pub coverage_note: String,
}

#[derive(Serialize)]
struct MarketRow {
    market: String,
    pages: u64,
    listings: usize,
    vendors: usize,
    feedback: usize,
}

#[derive(Serialize)]
struct VendorRow {
    market: String,
    name: String,
    id: String,
    listings: usize,
    feedback: usize,
    sales: Option<u64>,
    pgp: Option<String>,
    evidence: String,
}

#[derive(Serialize)]
struct SharedKey {
    fingerprint: String,
    accounts: Vec<String>,
}

#[derive(Serialize)]
struct IdentRow {
    kind: String,
    value: String,
    pages: usize,
    first_id: String,
    evidence: String,
}

#[derive(Serialize)]
struct ListingRow {
    id: String,
    market: String,
    vendor: String,
    title: String,
    price: String,
    evidence: String,
    rule: String,
}

/// Renders the case report as one HTML document.
pub fn case_report_html(
    store: &dyn CaseStore,
    evidence: &[EvidenceEntry],
    opts: &ReportOptions,
) -> Result<String, ReportError> {
    let all = Filter::default();
    let counts = store.counts()?;
    let listings = store.listings(&all)?;
    let vendors = store.vendors(&all)?;
    let feedback = store.feedback(&all)?;
    let identifiers = store.identifiers(&all)?;
    let pages = store.pages()?;

    let mut markets: BTreeMap<String, MarketRow> = BTreeMap::new();
    let mut bump = |m: &str, f: &dyn Fn(&mut MarketRow)| {
        let r = markets.entry(m.to_owned()).or_insert_with(|| MarketRow {
            market: m.to_owned(),
            pages: 0,
            listings: 0,
            vendors: 0,
            feedback: 0,
        });
        f(r);
    };
    for p in &pages {
        if let Some(m) = &p.market {
            bump(m, &|r| r.pages += 1);
        }
    }
    for l in &listings {
        bump(&l.record.market, &|r| r.listings += 1);
    }
    let distinct_vendors: BTreeSet<(String, String)> =
        vendors.iter().map(|v| (v.record.market.clone(), v.record.name.clone())).collect();
    for (m, _) in &distinct_vendors {
        bump(m, &|r| r.vendors += 1);
    }
    for f in &feedback {
        bump(&f.record.market, &|r| r.feedback += 1);
    }

    // One row per (market, vendor): the first observation, with counts of
    // the listings and feedback rows that name the vendor.
    let mut listing_count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for l in &listings {
        if let Some(v) = &l.record.vendor {
            *listing_count.entry((l.record.market.clone(), v.clone())).or_default() += 1;
        }
    }
    let mut feedback_count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in &feedback {
        if let Some(v) = &f.record.vendor {
            *feedback_count.entry((f.record.market.clone(), v.clone())).or_default() += 1;
        }
    }
    let mut seen = BTreeSet::new();
    let mut vendor_rows: Vec<VendorRow> = Vec::new();
    for v in &vendors {
        let key = (v.record.market.clone(), v.record.name.clone());
        if !seen.insert(key.clone()) {
            continue;
        }
        vendor_rows.push(VendorRow {
            market: key.0.clone(),
            name: key.1.clone(),
            id: v.id.to_string(),
            listings: listing_count.get(&key).copied().unwrap_or(0),
            feedback: feedback_count.get(&key).copied().unwrap_or(0),
            sales: v.record.sales,
            pgp: v.record.pgp_fingerprint.clone(),
            evidence: v.record.provenance.as_ref().map(|p| p.evidence.to_hex()).unwrap_or_default(),
        });
    }
    vendor_rows.sort_by(|a, b| {
        b.listings.cmp(&a.listings).then(b.feedback.cmp(&a.feedback)).then(a.name.cmp(&b.name))
    });

    let mut by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in &vendor_rows {
        if let Some(fp) = &v.pgp {
            by_key.entry(fp.clone()).or_default().insert(format!("{} on {}", v.name, v.market));
        }
    }
    let shared: Vec<SharedKey> = by_key
        .into_iter()
        .filter(|(_, a)| a.len() > 1)
        .map(|(fingerprint, a)| SharedKey { fingerprint, accounts: a.into_iter().collect() })
        .collect();

    let mut ident_map: BTreeMap<(String, String), IdentRow> = BTreeMap::new();
    for i in &identifiers {
        let key = (i.record.kind.as_str().to_owned(), i.record.value.clone());
        let ev = i.record.provenance.as_ref().map(|p| p.evidence.to_hex()).unwrap_or_default();
        ident_map
            .entry(key.clone())
            .and_modify(|r| r.pages += 1)
            .or_insert(IdentRow { kind: key.0, value: key.1, pages: 1, first_id: i.id.to_string(), evidence: ev });
    }
    let ident_rows: Vec<IdentRow> = ident_map.into_values().collect();

    let per_vendor = if opts.listings_per_vendor == 0 { 10 } else { opts.listings_per_vendor };
    let mut shown: BTreeMap<(String, String), usize> = BTreeMap::new();
    let listing_rows: Vec<ListingRow> = listings
        .iter()
        .filter(|l| {
            let k = (l.record.market.clone(), l.record.vendor.clone().unwrap_or_default());
            let n = shown.entry(k).or_default();
            *n += 1;
            *n <= per_vendor
        })
        .map(|l| ListingRow {
            id: l.id.to_string(),
            market: l.record.market.clone(),
            vendor: l.record.vendor.clone().unwrap_or_default(),
            title: l.record.title.clone(),
            price: l
                .record
                .price
                .as_ref()
                .map(|p| format!("{} {}", p.amount, p.currency))
                .unwrap_or_default(),
            evidence: l.record.provenance.as_ref().map(|p| p.evidence.to_hex()).unwrap_or_default(),
            rule: l
                .record
                .provenance
                .as_ref()
                .map(|p| format!("{} {}", p.profile, p.rule))
                .unwrap_or_default(),
        })
        .collect();

    let cited: BTreeSet<&str> = vendor_rows
        .iter()
        .map(|v| v.evidence.as_str())
        .chain(ident_rows.iter().map(|i| i.evidence.as_str()))
        .chain(listing_rows.iter().map(|l| l.evidence.as_str()))
        .collect();
    let index: Vec<&EvidenceEntry> = evidence.iter().filter(|e| cited.contains(e.sha256.as_str())).collect();

    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("report.html", include_str!("../templates/report.html"))?;
    let tmpl = env.get_template("report.html")?;
    Ok(tmpl.render(minijinja::context! {
        title => opts.title,
        tool_version => opts.tool_version,
        counts => minijinja::context! {
            evidence => evidence.len(), pages => counts.pages, listings => counts.listings,
            vendors => counts.vendors, feedback => counts.feedback, identifiers => counts.identifiers,
        },
        markets => markets.into_values().collect::<Vec<_>>(),
        vendors => vendor_rows,
        shared_keys => shared,
        identifiers => ident_rows,
        listings => listing_rows,
        evidence_index => index,
        sales => opts.sales,
    })?)
}
