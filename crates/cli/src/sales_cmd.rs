//! `dragnet sales`, `dragnet vendor NAME`, `dragnet export`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use case::{Case, SalesOptions};
use chrono::NaiveDate;
use sales::GroupBy;

/// Daily rate series for USD conversion.
#[derive(clap::Args, Debug, Clone)]
pub struct RatesArgs {
    /// A daily `date,close` CSV of the USD price of BTC, or `CUR=FILE` for
    /// another currency; repeatable. See README "Rates".
    #[arg(long = "rates", env = "DRAGNET_RATES", value_delimiter = ',')]
    pub rates: Vec<String>,
}

impl RatesArgs {
    pub fn load(&self) -> Result<sales::Rates> {
        case::load_rates(&self.rates).context("loading --rates")
    }
}

fn date(s: &str) -> Result<NaiveDate> {
    // Four digits of year: chrono reads "14-05-01" as the year 14, which
    // left every sale outside the window without a word.
    let year_digits = s.split('-').next().map_or(0, str::len);
    anyhow::ensure!(year_digits == 4, "{s:?} is not a YYYY-MM-DD date (four digits of year)");
    NaiveDate::parse_from_str(s, "%Y-%m-%d").with_context(|| format!("{s:?} is not a YYYY-MM-DD date"))
}


/// Computes the sales units of the case's records as they now are (after an
/// import or extraction), so `dragnet sales`, the vendor dossier, the export
/// and the workbench read them instead of recomputing (a report estimates its
/// accounts itself): the estimating part of an import.
pub fn keep_units(case: &Case, rates: &RatesArgs) -> Result<()> {
    let rates = rates.load()?;
    case.keep_sales_units(&rates).context("computing the sales units")?;
    Ok(())
}

/// `dragnet sales`.
pub fn sales(case: &Case, by: &str, from: Option<&str>, to: Option<&str>, rates: &RatesArgs, json: bool, csv: bool) -> Result<()> {
    let by = GroupBy::parse(by).with_context(|| format!("--by {by:?}: one of vendor, market, category, origin, destination, month"))?;
    let opts = SalesOptions { by, from: from.map(date).transpose()?, to: to.map(date).transpose()? };
    if let (Some(f), Some(t)) = (opts.from, opts.to) {
        anyhow::ensure!(f <= t, "--from {f} is after --to {t}: no day is counted");
    }
    let rates = rates.load()?;
    let result = case.sales(&rates, &opts)?;
    // With a window, the notes on rows whose days lie outside it bear on no
    // estimate shown: they are counted, not listed. A row with no date
    // cannot be placed, so its note is listed and says so.
    let window = match (opts.from, opts.to) {
        (None, None) => None,
        (from, to) => Some([from.map(|d| format!("--from {d}")), to.map(|d| format!("--to {d}"))].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    };
    let notes = sales::notes_in_window(&result.summary.problems, opts.from, opts.to);
    for p in notes.listed.iter().take(20) {
        let placed = if window.is_some() && p.days.is_none() { " (the row has no date: it cannot be placed in the window)" } else { "" };
        // Where the row was read (a dataset's file and line), when it can be found.
        let origin = case.row_origin(&p.id).ok().flatten().map(|o| format!("{o} ({})", p.id));
        eprintln!("note: {}: {}{placed}", origin.as_deref().unwrap_or(&p.id), p.message);
    }
    if notes.listed.len() > 20 {
        let which = if window.is_some() { " in the window" } else { "" };
        eprintln!("note: … {} more rows with notes{which} (all in `dragnet export`, table notes)", notes.listed.len() - 20);
    }
    if let (Some(w), 1..) = (&window, notes.outside) {
        eprintln!("note: {} rows with notes on days outside {w} not listed", notes.outside);
    }
    note_missing_rates(&rates, &result.estimates);
    if let (Some(w), 1..) = (&window, result.unplaced.units) {
        eprintln!(
            "note: {:.0} sales ({} units) left out of {w}: counters' first values with no \"since\" or registration date, sold on or before the day they were seen, from a day not known, so perhaps outside the window (docs/methods.md)",
            result.unplaced.sales, result.unplaced.units
        );
    }
    if by == GroupBy::Destination && !result.estimates.is_empty() {
        eprintln!("note: by destination, a sale counts under every place its listing ships to: the rows add up to more than the total (docs/methods.md)");
    }
    if result.estimates.iter().any(|e| e.month.as_deref() == Some(sales::UNDATED_MONTH)) {
        eprintln!(
            "note: month \"{}\": counters' first values with no \"since\" or registration date, sold on or before the last day shown, from a day not known (docs/methods.md)",
            sales::UNDATED_MONTH
        );
    }
    if csv {
        let mut w = csv::Writer::from_writer(std::io::stdout().lock());
        w.write_record([
            "market", "vendor", "category", "origin", "destination", "month", "method", "sales", "sales_lower",
            "revenue_usd", "revenue_usd_lower", "unpriced_sales", "undated_sales", "units", "first_day", "last_day",
        ])?;
        for e in &result.estimates {
            // Names are market users' text: none is run as a formula.
            let o = |v: &Option<String>| model::formula_safe(v.as_deref().unwrap_or_default()).into_owned();
            let rev = |v: f64| if e.revenue_known() { format!("{v:.2}") } else { String::new() };
            w.write_record([
                o(&e.market), o(&e.vendor), o(&e.category), o(&e.origin), o(&e.destination), o(&e.month),
                e.method.as_str().to_owned(), format!("{:.3}", e.sales), format!("{:.3}", e.sales_lower),
                // Empty when no sale is priced (unknown, not 0).
                rev(e.revenue_usd), rev(e.revenue_usd_lower), format!("{:.3}", e.unpriced_sales),
                format!("{:.3}", e.undated_sales), e.units.to_string(), e.first_day.map(|d| d.to_string()).unwrap_or_default(), e.last_day.to_string(),
            ])?;
        }
        w.flush()?;
        return Ok(());
    }
    if json {
        crate::output::print_rows(true, result.estimates.iter().map(|e| crate::output::EstimateOut(e.clone())));
        return Ok(());
    }
    let noted = match &window {
        None => format!("{} rows with notes", notes.listed.len()),
        Some(w) => format!("{} rows with notes in {w} ({} of them undated), {} outside it", notes.listed.len(), notes.undated, notes.outside),
    };
    println!(
        "{} sales units ({} feedback sightings -> {} unique feedback); {noted}",
        result.summary.units, result.summary.feedback_sightings, result.summary.feedback_unique,
    );
    for c in result.summary.coverage.iter().filter(|c| c.day.is_none()) {
        match c.coverage {
            Some(cov) => println!(
                "coverage {}: {} listings seen of {} stated ({:.0}%{})",
                c.market,
                c.listings_seen,
                c.listings_stated.unwrap_or(0),
                cov * 100.0,
                if cov < sales::MIN_COVERAGE_TO_SCALE { "; too little to scale" } else { "" }
            ),
            None => println!("coverage {}: {} listings seen; the market states no total (no coverage scaling)", c.market, c.listings_seen),
        }
    }
    let crawls: Vec<_> = result.summary.coverage.iter().filter(|c| c.day.is_some()).collect();
    if !crawls.is_empty() {
        println!("listings seen per crawl day ({} days; all in `dragnet export`, table coverage):", crawls.len());
        for c in crawls.iter().take(12) {
            println!("  {} {}: {} listings", c.market, c.day.map(|d| d.to_string()).unwrap_or_default(), c.listings_seen);
        }
    }
    crate::output::print_rows(false, result.estimates.iter().map(|e| crate::output::EstimateOut(e.clone())));
    Ok(())
}

/// Says on stderr that sales were left unpriced for want of `--rates`, when
/// no rates were given and some of `estimates` are unpriced.
/// When rates were given, names each series on stderr (file, digest, days),
/// so that a revenue figure says what it was converted with.
fn note_missing_rates(rates: &sales::Rates, estimates: &[sales::Estimate]) {
    if rates.all().next().is_none() && estimates.iter().any(|e| e.unpriced_sales > 0.0) {
        eprintln!("note: no --rates given: sales priced in BTC (or another currency than USD) are counted as unpriced, and revenue leaves them out (README \"Rates\")");
    }
    for r in rates.all() {
        let (first, last) = r.span();
        eprintln!("note: {} prices converted to USD with {}, daily {first}..{last} (where the market showed no USD price of its own)", r.currency, r.source);
    }
}

/// `dragnet vendor NAME --units`: the units behind the dossier's estimates,
/// each with the rows it counts, by account and method, with their totals
/// (the dossier's `sales_lower` and `sales`).
pub fn vendor_units(case: &Case, name: &str, rates: &RatesArgs, json: bool) -> Result<()> {
    let rates = rates.load()?;
    let mut units = case.vendor_units(name, &rates)?;
    if units.is_empty() {
        anyhow::bail!("no sales units of a vendor named {name:?} in case {}", case.dir().display());
    }
    units.sort_by(|a, b| {
        (&a.market, &a.vendor, a.method, a.days.earliest, a.days.latest, &a.listing, &a.sources)
            .cmp(&(&b.market, &b.vendor, b.method, b.days.earliest, b.days.latest, &b.listing, &b.sources))
    });
    if json {
        for u in &units {
            crate::output::print_json(u);
        }
        return Ok(());
    }
    println!("sales units of vendor {name:?}: sales counted (lower bound) x scale (1 / coverage) = central; each unit's rows: `dragnet explain ID`");
    for group in units.chunk_by(|a, b| (&a.market, &a.vendor, a.method) == (&b.market, &b.vendor, b.method)) {
        let (lower, central): (f64, f64) = group.iter().fold((0.0, 0.0), |(l, c), u| (l + u.sales, c + u.sales * u.scale));
        let u0 = &group[0];
        println!("{} / {} {}: {} units, {lower:.1} sales (lower), {central:.1} (central)", u0.market, u0.vendor, u0.method.as_str(), group.len());
        for u in group {
            let days = if u.days.earliest == u.days.latest { u.days.earliest.to_string() } else { format!("{}..{}", u.days.earliest, u.days.latest) };
            let days = if u.start_unknown { format!("on or before {}", u.days.latest) } else { days };
            let price = match &u.price {
                None => "unpriced".to_owned(),
                Some(p) => format!("${:.2} ({})", p.usd, rate_text(p)),
            };
            println!("  {days}  {:.3} x {:.2}  {price}  {:?}  rows: {}", u.sales, u.scale, u.listing, u.sources.join(", "));
        }
    }
    Ok(())
}

/// How a price was converted, in a few words.
fn rate_text(p: &sales::UsdAmount) -> String {
    match &p.rate {
        sales::RateUsed::Usd => format!("{} {}", p.amount, p.currency),
        sales::RateUsed::Market { .. } => format!("{} {}, the market's own USD price", p.amount, p.currency),
        sales::RateUsed::Series { currency, date, usd_per_unit, source } => {
            format!("{} {currency} at {usd_per_unit} USD on {date}, {source}", p.amount)
        }
    }
}

/// `dragnet vendor NAME`.
pub fn vendor(case: &Case, name: &str, rates: &RatesArgs, json: bool) -> Result<()> {
    let rates = rates.load()?;
    let Some(d) = case.vendor_dossier(name, &rates)? else {
        anyhow::bail!("no vendor named {name:?} in case {}", case.dir().display());
    };
    note_missing_rates(&rates, &d.estimates);
    if json {
        crate::output::print_json(&d);
        return Ok(());
    }
    println!("vendor {}", d.name);
    println!(
        "first seen {}, last seen {}",
        d.first_seen.map_or("-".into(), |x| x.to_string()),
        d.last_seen.map_or("-".into(), |x| x.to_string())
    );
    let markets: std::collections::BTreeSet<&str> = d.accounts.iter().map(|a| a.market.as_str()).collect();
    if markets.len() > 1 {
        // A name is soft evidence: the dossier groups, it does not link.
        println!(
            "accounts: named {:?} on {} markets; grouped by name only, not linked (links: `dragnet links`, `dragnet operator`)",
            d.name,
            markets.len()
        );
    } else {
        println!("accounts:");
    }
    for a in &d.accounts {
        if a.observations == 0 {
            println!("  {} / {}: no listings seen (a profile or feedback only)", a.market, a.vendor);
            continue;
        }
        println!(
            "  {} / {}: {} listings ({} observations), median price {} ({} priced), {}..{}",
            a.market,
            a.vendor,
            a.listings,
            a.observations,
            a.median_price_usd.map_or("-".into(), |p| format!("${p:.2}")),
            a.priced,
            a.first_seen.map_or("-".into(), |x| x.to_string()),
            a.last_seen.map_or("-".into(), |x| x.to_string()),
        );
    }
    println!("sales estimates:");
    for e in &d.estimates {
        println!("  {}", crate::output::EstimateOut(e.clone()).text_line());
    }
    if !d.profiles.is_empty() {
        println!("profile observations:");
        for p in &d.profiles {
            let v = &p.vendor;
            println!(
                "  {} {}: sales {} level {} trust {} registered {}",
                p.id,
                v.market,
                v.sales.map_or("-".into(), |s| s.to_string()),
                v.level.as_deref().unwrap_or("-"),
                v.trust.as_deref().unwrap_or("-"),
                v.registered.as_deref().unwrap_or("-")
            );
        }
    }
    if !d.identifiers.is_empty() {
        println!("identifiers:");
        for i in &d.identifiers {
            println!("  {} {} ({}, from {})", i.kind, i.value, i.market, i.source);
        }
    }
    if !d.market_identifiers.is_empty() {
        println!("identifiers on its pages that the pages of {}+ vendors of the market show (the market's, not this vendor's):", linking::COMMON_IDENTIFIER);
        for i in &d.market_identifiers {
            println!("  {} {} ({}, from {})", i.kind, i.value, i.market, i.source);
        }
    }
    // Distinct listings per day, and the rows that showed them (one listing
    // in three files of a day is three observations).
    println!("listings over time:");
    for t in &d.timeline {
        println!("  {} {}: {} listings ({} observations)", t.day, t.market, t.distinct_listings, t.listings);
    }
    Ok(())
}

/// `dragnet export`.
pub fn export(case: &Case, format: &str, out: &PathBuf, rates: &RatesArgs, json: bool) -> Result<()> {
    let Some(format) = export::Format::parse(format) else { anyhow::bail!("--format {format:?}: one of parquet, csv") };
    let rates = rates.load()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for t in case.export(&rates, format, out)? {
        if json {
            crate::output::print_json(&serde_json::json!({ "table": t.name, "rows": t.rows, "path": t.path.display().to_string() }));
        } else {
            println!("{}: {} rows -> {}", t.name, t.rows, t.path.display());
        }
    }
    Ok(())
}

/// Prints an import's dataset files and their row problems.
pub fn report_datasets(report: &case::ExtractReport, json: bool) {
    for d in &report.datasets {
        if json {
            crate::output::print_json(&serde_json::json!({ "dataset": d }));
        } else {
            println!(
                "dataset {} ({}): {} rows, {} imported, {} rejected",
                d.source, d.format, d.stats.rows, d.stats.imported, d.stats.rejected
            );
        }
    }
}
