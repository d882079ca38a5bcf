//! The pages: minijinja templates from `templates/`, auto-escaped, no
//! script. Each page reads what it shows through the same functions as
//! the API.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use serde::Deserialize;
use store::CaseStore as _;

use crate::api::{self, Search};
use crate::auth::PageUser;
use crate::{AppError, AppState, CAPTURE_CSP};

/// Largest part of a payload the text view shows.
const TEXT_VIEW_MAX: usize = 1 << 20;

pub(crate) fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    for (name, text) in [
        ("base.html", include_str!("../templates/base.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("overview.html", include_str!("../templates/overview.html")),
        ("vendors.html", include_str!("../templates/vendors.html")),
        ("vendor.html", include_str!("../templates/vendor.html")),
        ("search.html", include_str!("../templates/search.html")),
        ("identifiers.html", include_str!("../templates/identifiers.html")),
        ("evidence.html", include_str!("../templates/evidence.html")),
        ("text.html", include_str!("../templates/text.html")),
        ("custody.html", include_str!("../templates/custody.html")),
        ("links.html", include_str!("../templates/links.html")),
        ("chart.html", include_str!("../templates/chart.html")),
        ("operator.html", include_str!("../templates/operator.html")),
        ("listing.html", include_str!("../templates/listing.html")),
        ("graph_links.html", include_str!("../templates/graph_links.html")),
        ("flows.html", include_str!("../templates/flows.html")),
    ] {
        // The templates are part of the binary and tested: a broken one is
        // a build defect, reported on first render.
        let _ = env.add_template(name, text);
    }
    env.add_filter("segment", path_segment);
    env
}

/// A name as one URL path segment ([`crate::graphs::urlencode`]: every byte
/// but the unreserved ones percent-encoded). minijinja's `urlencode` keeps
/// `/`, so a vendor named `a/b` linked to `/vendors/a/b`, a page that does
/// not exist (found by a review).
fn path_segment(text: &str) -> String {
    crate::graphs::urlencode(text)
}

/// Renders a template (HTML, auto-escaped).
pub(crate) fn render(state: &AppState, name: &str, ctx: minijinja::Value) -> Result<Response, AppError> {
    let t = state.templates.get_template(name).map_err(|e| AppError::internal(format!("template {name}: {e}")))?;
    let html = t.render(ctx).map_err(|e| AppError::internal(format!("template {name}: {e}")))?;
    Ok(Html(html).into_response())
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(overview))
        .route("/vendors", get(vendors))
        .route("/search", get(fulltext))
        .route("/identifiers", get(search))
        .route("/evidence/{sha}", get(evidence))
        .route("/evidence/{sha}/text", get(text))
        .route("/evidence/{sha}/notes", post(note))
        .route("/raw/{sha}", get(raw))
        .route("/custody", get(custody))
        .route("/links", get(links))
        .route("/links/{id}/decision", post(decide))
}

pub(crate) fn me(s: &crate::auth::Session) -> minijinja::Value {
    context! { user => s.user, role => s.role, csrf => s.csrf }
}

async fn overview(State(state): State<Arc<AppState>>, PageUser(s): PageUser) -> Result<Response, AppError> {
    let case = state.case().map_err(AppError::page)?;
    let counts = case.store().counts().map_err(|e| AppError::from(e).page())?;
    let mut markets: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for p in case.store().pages().map_err(|e| AppError::from(e).page())? {
        *markets.entry(p.market.unwrap_or_else(|| "(none)".into())).or_default().entry(p.page_type.as_str().to_owned()).or_default() += 1;
    }
    let evidence = case.evidence().len();
    let name = state.case_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let charts = crate::dossiers::overview_charts(&state, &case).map_err(AppError::page)?;
    render(
        &state,
        "overview.html",
        context! {
            me => me(&s), case => name, evidence => evidence,
            pages => counts.pages, listings => counts.listings, vendors => counts.vendors,
            feedback => counts.feedback, identifiers => counts.identifiers, markets => markets,
            charts => minijinja::Value::from_serialize(&*charts),
        },
    )
    .map_err(AppError::page)
}

async fn vendors(State(state): State<Arc<AppState>>, PageUser(s): PageUser) -> Result<Response, AppError> {
    let case = state.case().map_err(AppError::page)?;
    let rows = api::vendor_index(&case).map_err(AppError::page)?;
    render(&state, "vendors.html", context! { me => me(&s), vendors => rows }).map_err(AppError::page)
}

#[derive(Deserialize)]
struct SearchForm {
    q: Option<String>,
    kind: Option<String>,
}

async fn search(State(state): State<Arc<AppState>>, PageUser(s): PageUser, q: Result<Query<SearchForm>, axum::extract::rejection::QueryRejection>) -> Result<Response, AppError> {
    let Query(f) = q.map_err(|_| AppError::bad_request("expected ?q=TEXT").page())?;
    let kind = f.kind.filter(|k| !k.is_empty());
    let (q, rows) = match f.q.filter(|q| !q.trim().is_empty()) {
        None => (String::new(), Vec::new()),
        Some(q) => {
            let case = state.case().map_err(AppError::page)?;
            let rows = api::search(&case, &Search { q: q.clone(), kind: kind.clone() }).map_err(AppError::page)?;
            (q, rows)
        }
    };
    render(&state, "identifiers.html", context! { me => me(&s), q => q, kind => kind, rows => rows }).map_err(AppError::page)
}

#[derive(Deserialize)]
struct TextQuery {
    q: Option<String>,
}

async fn fulltext(State(state): State<Arc<AppState>>, PageUser(s): PageUser, q: Result<Query<TextQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, AppError> {
    let Query(f) = q.map_err(|_| AppError::bad_request("expected ?q=TEXT").page())?;
    let q = f.q.unwrap_or_default();
    let (hits, pages) = if q.trim().is_empty() { (Vec::new(), 0) } else { api::fulltext(&state, &q, search::MAX_HITS).map_err(AppError::page)? };
    render(&state, "search.html", context! { me => me(&s), q => q, hits => hits, pages => pages }).map_err(AppError::page)
}

async fn evidence(State(state): State<Arc<AppState>>, PageUser(s): PageUser, Path(sha): Path<String>) -> Result<Response, AppError> {
    let case = state.case().map_err(AppError::page)?;
    let sha = api::stored_digest(&case, &sha).map_err(AppError::page)?;
    let info = api::evidence_info(&case, &sha).map_err(AppError::page)?;
    let notes: Vec<serde_json::Value> = info["custody"].as_array().into_iter().flatten().filter(|e| e["action"] == "note").cloned().collect();
    render(&state, "evidence.html", context! { me => me(&s), e => minijinja::Value::from_serialize(&info), notes => notes }).map_err(AppError::page)
}

async fn text(State(state): State<Arc<AppState>>, PageUser(s): PageUser, Path(sha): Path<String>) -> Result<Response, AppError> {
    let sha = api::digest(&sha).map_err(AppError::page)?;
    let case = state.case().map_err(AppError::page)?;
    let bytes = case.evidence().get(&sha).map_err(|_| AppError::not_found(format!("no evidence {sha} in this case")).page())?;
    let cut = bytes.len() > TEXT_VIEW_MAX;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(TEXT_VIEW_MAX)]).into_owned();
    render(&state, "text.html", context! { me => me(&s), sha => sha.to_hex(), text => text, cut => cut, bytes => bytes.len() }).map_err(AppError::page)
}

/// The captured payload itself, for the viewer's sandboxed frame: served
/// under [`CAPTURE_CSP`] (no script, no form, no request off the case).
async fn raw(State(state): State<Arc<AppState>>, PageUser(_): PageUser, Path(sha): Path<String>) -> Result<Response, AppError> {
    let sha = api::digest(&sha)?;
    let case = state.case()?;
    let rec = case.evidence().record(&sha).ok_or_else(|| AppError::not_found(format!("no evidence {sha} in this case")))?;
    let bytes = case.evidence().get(&sha).map_err(|e| AppError::internal(format!("reading evidence {sha}: {e}")))?;
    // Only the case's own images and pages are shown as what they are;
    // anything else as plain text. The type is never sniffed.
    let ct = rec.content_type.as_deref().unwrap_or("").to_ascii_lowercase();
    let shown = if ct.starts_with("image/png") || ct.starts_with("image/jpeg") || ct.starts_with("image/gif") || ct.starts_with("image/webp") {
        ct.split(';').next().unwrap_or("image/png").to_owned()
    } else if ct.is_empty() || ct.starts_with("text/html") || ct.starts_with("application/xhtml") {
        "text/html; charset=utf-8".to_owned()
    } else {
        "text/plain; charset=utf-8".to_owned()
    };
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&shown).unwrap_or(HeaderValue::from_static("text/plain")));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CAPTURE_CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    Ok(r)
}

#[derive(Deserialize)]
struct NoteForm {
    text: String,
    csrf: Option<String>,
}

async fn note(State(state): State<Arc<AppState>>, PageUser(s): PageUser, Path(sha): Path<String>, form: Result<Form<NoteForm>, axum::extract::rejection::FormRejection>) -> Result<Response, AppError> {
    let Form(f) = form.map_err(|_| AppError::bad_request("expected a form with text and csrf").page())?;
    s.may_write(f.csrf.as_deref()).map_err(AppError::page)?;
    let sha = api::digest(&sha).map_err(AppError::page)?;
    let mut case = state.case().map_err(AppError::page)?;
    api::note(&mut case, &sha, &s.user, &f.text).map_err(AppError::page)?;
    Ok(Redirect::to(&format!("/evidence/{}", sha.to_hex())).into_response())
}

async fn custody(State(state): State<Arc<AppState>>, PageUser(s): PageUser) -> Result<Response, AppError> {
    let case = state.case().map_err(AppError::page)?;
    let entries = api::custody_entries(&case).map_err(AppError::page)?;
    render(&state, "custody.html", context! { me => me(&s), entries => entries }).map_err(AppError::page)
}

async fn links(State(state): State<Arc<AppState>>, PageUser(s): PageUser) -> Result<Response, AppError> {
    let rows = crate::graphs::cached_links(&state).map_err(AppError::page)?;
    render(&state, "links.html", context! { me => me(&s), links => minijinja::Value::from_serialize(&*rows) }).map_err(AppError::page)
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    why: String,
    csrf: Option<String>,
}

async fn decide(State(state): State<Arc<AppState>>, PageUser(s): PageUser, Path(id): Path<String>, form: Result<Form<DecisionForm>, axum::extract::rejection::FormRejection>) -> Result<Response, AppError> {
    let Form(f) = form.map_err(|_| AppError::bad_request("expected a form with decision, why and csrf").page())?;
    s.may_write(f.csrf.as_deref()).map_err(AppError::page)?;
    let mut case = state.case().map_err(AppError::page)?;
    api::decide_link(&mut case, &id, &api::DecisionBody { decision: f.decision, why: f.why }, &s.user).map_err(AppError::page)?;
    Ok(Redirect::to("/links").into_response())
}

#[cfg(test)]
mod tests {
    /// A vendor name is one path segment, `/` included (it linked to a page
    /// that does not exist).
    #[test]
    fn names_are_one_path_segment() {
        assert_eq!(super::path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(super::path_segment("<script>"), "%3Cscript%3E");
        assert_eq!(super::path_segment("Ünï"), "%C3%9Cn%C3%AF");
        assert_eq!(super::path_segment("Alice_2.0~-"), "Alice_2.0~-");
        let env = super::templates();
        let html = env.get_template("vendors.html").unwrap().render(minijinja::context! { vendors => vec![minijinja::context! { market => "m", name => "a/b" }] }).unwrap();
        assert!(html.contains("/vendors/a%2Fb"), "{html}");
    }
}
