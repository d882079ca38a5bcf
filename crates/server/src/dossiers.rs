//! Dossiers and histories: a vendor (every market), an operator (accounts
//! joined by hard or confirmed links), one listing over time, the case's
//! captures and sales over time. Pages and API share these functions; the
//! heavy reads go through the server's caches ([`crate::views`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use store::{CaseStore as _, Filter};

use crate::api::MAX_QUERY;
use crate::auth::{ApiUser, PageUser};
use crate::charts::{self, BarChart};
use crate::pages::{me, render};
use crate::views::case_key;
use crate::{AppError, AppState};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/vendors/{name}", get(vendor_page))
        .route("/api/vendors/{name}", get(vendor_api))
        .route("/operator", get(operator_page))
        .route("/api/operator", get(operator_api))
        .route("/listings/{id}", get(listing_page))
        .route("/api/listings/{id}", get(listing_api))
        .route("/report.html", get(report_download))
}

/// `?vendor=` of a report download.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// Only this vendor (and the accounts joined to it), as `dragnet
    /// report --vendor`.
    pub vendor: Option<String>,
}

/// The case report (or one vendor's), the same document `dragnet report
/// --out FILE.html` writes, as a download. Built off the async threads: a
/// large case takes seconds.
async fn report_download(State(state): State<Arc<AppState>>, PageUser(_): PageUser, q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, AppError> {
    let Query(q) = q.map_err(|_| AppError::bad_request("expected /report.html or /report.html?vendor=NAME").page())?;
    let vendor = q.vendor.filter(|v| !v.trim().is_empty());
    if vendor.as_ref().is_some_and(|v| v.len() > MAX_QUERY) {
        return Err(AppError::bad_request(format!("vendor: at most {MAX_QUERY} bytes")).page());
    }
    let st = state.clone();
    let v = vendor.clone();
    let html = tokio::task::spawn_blocking(move || -> Result<String, AppError> {
        let case = st.case()?;
        let title = case::ReportRequest::default_title(v.as_deref());
        case.report(&case::ReportRequest { title: &title, vendor: v.as_deref(), rates: &st.rates }).map_err(|e| match e {
            report::ReportError::UnknownVendor { .. } => AppError::not_found(e.to_string()),
            e => AppError::internal(format!("building the report: {e}")),
        })
    })
    .await
    .map_err(|_| AppError::internal("the report task failed").page())?
    .map_err(AppError::page)?;
    // A file name of safe characters only (the vendor name is captured text).
    let name = match &vendor {
        Some(v) => format!("dragnet-report-{}.html", v.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(64).collect::<String>()),
        None => "dragnet-report.html".to_owned(),
    };
    let mut r = axum::response::Html(html).into_response();
    if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
        r.headers_mut().insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// A vendor's dossier (every market), as `dragnet vendor NAME --json`,
/// from the cached dossier index.
pub fn dossier(state: &AppState, name: &str) -> Result<case::VendorDossier, AppError> {
    if name.is_empty() || name.len() > MAX_QUERY {
        return Err(AppError::bad_request(format!("vendor name: 1 to {MAX_QUERY} bytes")));
    }
    let index = {
        let case = state.case()?;
        let key = case_key(&case)?;
        state.dossiers.get(key, || Ok(case.dossier_index(&state.rates)?))?
    };
    index.dossier(name, &state.rates).ok_or_else(|| AppError::not_found(format!("no vendor named {name:?} in this case")))
}

async fn vendor_api(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser, Path(name): Path<String>) -> Result<impl IntoResponse, AppError> {
    Ok(Json(dossier(&state, &name)?))
}

async fn vendor_page(State(state): State<Arc<AppState>>, PageUser(s): PageUser, Path(name): Path<String>) -> Result<Response, AppError> {
    let d = dossier(&state, &name).map_err(AppError::page)?;
    let mut per_day: BTreeMap<String, f64> = BTreeMap::new();
    for p in &d.timeline {
        *per_day.entry(p.day.to_string()).or_default() += p.listings as f64;
    }
    let chart = charts::bars("Listing observations per day", &per_day.into_iter().collect::<Vec<_>>());
    let accounts: Vec<String> = d.accounts.iter().map(|a| format!("{}/{}", a.market, a.vendor)).collect();
    render(
        &state,
        "vendor.html",
        context! { me => me(&s), d => minijinja::Value::from_serialize(&d), chart => chart, accounts => accounts },
    )
    .map_err(AppError::page)
}

/// `?account=market/vendor`.
#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    /// Account id as `dragnet links` prints it.
    pub account: String,
}

/// The operator holding `account`, as `dragnet operator ID --json`. Needs
/// the case's linking model (the server never trains one).
pub fn operator(state: &AppState, account: &str) -> Result<case::Operator, AppError> {
    if account.is_empty() || account.len() > MAX_QUERY {
        return Err(AppError::bad_request(format!("account: 1 to {MAX_QUERY} bytes (market/vendor)")));
    }
    let case = state.case()?;
    let model = case.link_model()?.ok_or_else(|| {
        AppError::new(axum::http::StatusCode::CONFLICT, "the case has no linking model: run `dragnet link train` (or `dragnet links` once)")
    })?;
    case.operator(&model, account, &state.rates)?.ok_or_else(|| AppError::not_found(format!("no account {account:?} (give market/vendor, as the links page shows)")))
}

async fn operator_api(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser, q: Result<Query<AccountQuery>, axum::extract::rejection::QueryRejection>) -> Result<impl IntoResponse, AppError> {
    let Query(q) = q.map_err(|_| AppError::bad_request("expected ?account=MARKET/VENDOR"))?;
    Ok(Json(operator(&state, &q.account)?))
}

async fn operator_page(State(state): State<Arc<AppState>>, PageUser(s): PageUser, q: Result<Query<AccountQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, AppError> {
    let Query(q) = q.map_err(|_| AppError::bad_request("expected ?account=MARKET/VENDOR").page())?;
    let op = operator(&state, &q.account).map_err(AppError::page)?;
    let vendors: Vec<String> = op.accounts.iter().map(|a| a.account.split_once('/').map_or(a.account.clone(), |(_, v)| v.to_owned())).collect();
    render(
        &state,
        "operator.html",
        context! { me => me(&s), account => q.account, op => minijinja::Value::from_serialize(&op), vendors => vendors },
    )
    .map_err(AppError::page)
}

/// One observation of a listing.
#[derive(Debug, Clone, Serialize)]
pub struct ListingObservation {
    /// Row id.
    pub id: String,
    /// Capture time of the page (RFC 3339), when known.
    pub captured_at: Option<String>,
    /// That time is the imported file's modification time (no capture
    /// time was given).
    pub captured_at_is_file_time: bool,
    /// What the page says its observation time was.
    pub observed_at: Option<String>,
    /// Price as shown.
    pub price: Option<String>,
    /// USD price shown by the market.
    pub price_usd: Option<String>,
    /// Stock as shown.
    pub stock: Option<String>,
    /// "N sold" counter.
    pub sold: Option<u64>,
    /// Rating as shown.
    pub rating: Option<String>,
    /// Evidence record (SHA-256).
    pub evidence: Option<String>,
}

/// A listing's history: every observation of the same listing (same market
/// and market listing id; without an id, same vendor and title), oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct ListingHistory {
    /// The row asked for.
    pub id: String,
    /// Market.
    pub market: String,
    /// Vendor.
    pub vendor: Option<String>,
    /// Title (of the row asked for).
    pub title: String,
    /// The market's own listing id, when shown.
    pub market_listing_id: Option<String>,
    /// How observations were matched.
    pub matched_by: &'static str,
    /// Observations.
    pub observations: Vec<ListingObservation>,
}

/// The history of listing row `id`.
pub fn listing_history(case: &case::Case, id: &str) -> Result<ListingHistory, AppError> {
    let rid: store::RowId = id.parse().map_err(|e: store::BadRowId| AppError::bad_request(e.to_string()))?;
    let Some(store::AnyRecord::Listing(l)) = case.store().row(&rid)? else {
        return Err(AppError::not_found(format!("no listing row {id} in this case")));
    };
    let same = case.store().listings(&Filter { market: Some(l.market.clone()), vendor: l.vendor.clone(), ..Filter::default() })?;
    let matched_by = if l.market_listing_id.is_some() { "market listing id" } else { "vendor and title" };
    let mut observations: Vec<ListingObservation> = same
        .into_iter()
        .filter(|o| match &l.market_listing_id {
            Some(mid) => o.record.market_listing_id.as_ref() == Some(mid),
            None => o.record.market_listing_id.is_none() && o.record.title == l.title,
        })
        .map(|o| {
            let evidence = o.record.provenance.as_ref().map(|p| p.evidence);
            let record = evidence.and_then(|e| case.evidence().record(&e));
            let captured_at = record.as_ref().and_then(|r| r.captured_at).map(|t| t.to_rfc3339());
            ListingObservation {
                id: o.id.to_string(),
                captured_at,
                captured_at_is_file_time: record.is_some_and(|r| r.captured_at_is_file_time),
                observed_at: o.record.observed_at.clone(),
                price: o.record.price.as_ref().map(|p| format!("{} {}", p.amount, p.currency)),
                price_usd: o.record.price_usd.clone(),
                stock: o.record.stock.clone(),
                sold: o.record.sold,
                rating: o.record.rating.clone(),
                evidence: evidence.map(|e| e.to_hex()),
            }
        })
        .collect();
    observations.sort_by(|a, b| (a.observed_at.as_ref().or(a.captured_at.as_ref()), &a.id).cmp(&(b.observed_at.as_ref().or(b.captured_at.as_ref()), &b.id)));
    Ok(ListingHistory {
        id: rid.to_string(),
        market: l.market,
        vendor: l.vendor,
        title: l.title,
        market_listing_id: l.market_listing_id,
        matched_by,
        observations,
    })
}

async fn listing_api(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser, Path(id): Path<String>) -> Result<impl IntoResponse, AppError> {
    let case = state.case()?;
    Ok(Json(listing_history(&case, &id)?))
}

fn when(o: &ListingObservation) -> String {
    o.observed_at.as_deref().or(o.captured_at.as_deref()).map(|t| t.get(..10).unwrap_or(t).to_owned()).unwrap_or_else(|| o.id.clone())
}

async fn listing_page(State(state): State<Arc<AppState>>, PageUser(s): PageUser, Path(id): Path<String>) -> Result<Response, AppError> {
    let h = {
        let case = state.case().map_err(AppError::page)?;
        listing_history(&case, &id).map_err(AppError::page)?
    };
    // The shown price's number (same currency throughout a listing's life
    // on the markets we read; a change of currency shows in the table).
    let price: Vec<(String, f64)> = h
        .observations
        .iter()
        .filter_map(|o| o.price.as_deref().and_then(|p| p.split(' ').next()).and_then(|n| n.parse().ok()).map(|v| (when(o), v)))
        .collect();
    let sold: Vec<(String, f64)> = h.observations.iter().filter_map(|o| o.sold.map(|n| (when(o), n as f64))).collect();
    render(
        &state,
        "listing.html",
        context! {
            me => me(&s), h => minijinja::Value::from_serialize(&h),
            price_chart => charts::bars("Price shown, per observation", &price),
            sold_chart => charts::bars("\"Sold\" counter, per observation", &sold),
        },
    )
    .map_err(AppError::page)
}

/// The overview's charts: captures per day and estimated sales per month.
#[derive(Debug, Clone, Serialize)]
pub struct OverviewCharts {
    /// Stored payloads by capture day.
    pub captures: Option<BarChart>,
    /// Central sales estimate per month, by the feedback method.
    pub sales: Option<BarChart>,
    /// The sales method the chart shows and its rows.
    pub sales_method: Option<String>,
    /// The same monthly estimates as a table (method, month, sales, revenue).
    pub sales_rows: Vec<Value>,
}

/// Builds the overview charts (cached by the case's fingerprint).
pub fn overview_charts(state: &AppState, case: &case::Case) -> Result<Arc<OverviewCharts>, AppError> {
    let key = case_key(case)?;
    state.overview.get(key, || {
        let mut per_day: BTreeMap<String, f64> = BTreeMap::new();
        for r in case.evidence().records() {
            if let Some(t) = r.captured_at {
                *per_day.entry(t.format("%Y-%m-%d").to_string()).or_default() += 1.0;
            }
        }
        let captures = charts::bars("Stored payloads per capture day", &per_day.into_iter().collect::<Vec<_>>());
        let result = case.sales(&state.rates, &case::SalesOptions { by: sales::GroupBy::Month, from: None, to: None })?;
        let mut by_method: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
        let mut rows = Vec::new();
        for e in &result.estimates {
            let month = e.month.clone().unwrap_or_default();
            // The chart is a time line: "undated" sales (a counter's first
            // value with no known first day) are in the rows, not on it.
            if month != sales::UNDATED_MONTH {
                by_method.entry(e.method.as_str().to_owned()).or_default().push((month.clone(), e.sales));
            }
            rows.push(json!({ "method": e.method.as_str(), "month": month, "sales": e.sales, "sales_lower": e.sales_lower, "revenue_usd": e.revenue_known().then_some(e.revenue_usd), "coverage_note": e.coverage_note }));
        }
        // The feedback count when there is one (the accepted lower-bound
        // method), else whichever method estimated anything.
        let method = by_method.keys().find(|m| m.as_str() == "feedback_count").or_else(|| by_method.keys().next()).cloned();
        let sales = method.as_ref().and_then(|m| {
            let mut pts = by_method[m].clone();
            pts.sort_by(|a, b| a.0.cmp(&b.0));
            charts::bars(&format!("Estimated sales per month ({m})"), &pts)
        });
        Ok(OverviewCharts { captures, sales, sales_method: method, sales_rows: rows })
    })
}
