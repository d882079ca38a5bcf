//! The JSON API under `/api`, described by `/api/openapi.json`. Reads for
//! every signed-in user; writes (notes) for analysts with the CSRF token,
//! each a custody log entry.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use model::Sha256;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use store::{CaseStore as _, Filter};

use crate::auth::{csrf_header, ApiUser};
use crate::{AppError, AppState};

/// Longest search string accepted.
pub const MAX_QUERY: usize = 256;
/// Longest note accepted.
pub const MAX_NOTE: usize = 4000;
/// Most identifier rows one search returns.
pub const MAX_ROWS: usize = 500;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/vendors", get(vendors))
        .route("/api/identifiers", get(identifiers))
        .route("/api/search", get(search_text))
        .route("/api/evidence/{sha}", get(evidence))
        .route("/api/evidence/{sha}/notes", post(add_note))
        .route("/api/custody", get(custody))
        .route("/api/links", get(links))
        .route("/api/links/{id}/decision", post(decide))
        .fallback(not_found)
}

/// What no route answers: under `/api` the API's JSON error (clients of the
/// API read `{"error": ...}`), anywhere else the HTML error page.
async fn not_found(uri: axum::http::Uri) -> AppError {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        let shown: String = path.chars().take(200).collect();
        let more = if shown.len() < path.len() { "..." } else { "" };
        AppError::not_found(format!("no API endpoint {shown}{more} (GET /api/openapi.json lists them)"))
    } else {
        AppError::not_found("no such page or endpoint").page()
    }
}

/// One vendor name on one market, with how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorRow {
    /// Market.
    pub market: String,
    /// Vendor name as shown.
    pub name: String,
    /// Vendor-profile records.
    pub profiles: u64,
    /// Listing records naming the vendor.
    pub listings: u64,
    /// Earliest observation date shown, when any.
    pub first_seen: Option<String>,
    /// Latest observation date shown, when any.
    pub last_seen: Option<String>,
}

/// Every vendor of the case, by market and name.
pub fn vendor_index(case: &case::Case) -> Result<Vec<VendorRow>, AppError> {
    let mut rows: BTreeMap<(String, String), VendorRow> = BTreeMap::new();
    let mut seen = |market: &str, name: &str, observed: Option<&str>, profile: bool| {
        let r = rows.entry((market.to_owned(), name.to_owned())).or_insert_with(|| VendorRow {
            market: market.to_owned(),
            name: name.to_owned(),
            profiles: 0,
            listings: 0,
            first_seen: None,
            last_seen: None,
        });
        if profile {
            r.profiles += 1;
        } else {
            r.listings += 1;
        }
        if let Some(day) = observed.map(|o| o.get(..10).unwrap_or(o).to_owned()) {
            if r.first_seen.as_ref().is_none_or(|f| day < *f) {
                r.first_seen = Some(day.clone());
            }
            if r.last_seen.as_ref().is_none_or(|l| day > *l) {
                r.last_seen = Some(day);
            }
        }
    };
    // A captured page's rows have no date of their own: they were seen when
    // the page was captured (as `dragnet vendor` and the report date them).
    let captured = case::captured_times(&case.store().pages()?);
    let day_of = |own: Option<&str>, prov: Option<&model::Provenance>| -> Option<String> {
        own.map(str::to_owned).or_else(|| prov.and_then(|p| captured.get(&p.evidence)).cloned())
    };
    for v in case.store().vendors(&Filter::default())? {
        let day = day_of(v.record.observed_at.as_deref(), v.record.provenance.as_ref());
        seen(&v.record.market, &v.record.name, day.as_deref(), true);
    }
    for l in case.store().listings(&Filter::default())? {
        if let Some(name) = &l.record.vendor {
            let day = day_of(l.record.observed_at.as_deref(), l.record.provenance.as_ref());
            seen(&l.record.market, name, day.as_deref(), false);
        }
    }
    Ok(rows.into_values().collect())
}

async fn vendors(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser) -> Result<impl IntoResponse, AppError> {
    let case = state.case()?;
    Ok(Json(vendor_index(&case)?))
}

/// `?q=` (and `kind=`) of an identifier search.
#[derive(Debug, Deserialize)]
pub struct Search {
    /// Part of the value, any case.
    pub q: String,
    /// Only this kind (`btc`, `pgp`, `xmr`, `onion`, `email`, ...), in any
    /// case; empty is no filter.
    pub kind: Option<String>,
}

/// Identifiers whose value contains `q` (any case), with the row and page
/// each came from.
pub fn search(case: &case::Case, s: &Search) -> Result<Vec<Value>, AppError> {
    let q = s.q.trim();
    if q.is_empty() || q.len() > MAX_QUERY {
        return Err(AppError::bad_request(format!("q: 1 to {MAX_QUERY} bytes")));
    }
    // Stored kinds are lower case; the filter is read in any case (PGP is pgp).
    let kind = match s.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(
            model::IdentifierKind::from_name(k)
                .ok_or_else(|| AppError::bad_request("kind: one of pgp, btc, xmr, onion, email, jabber, telegram, wickr, session (any case)"))?
                .as_str()
                .to_owned(),
        ),
    };
    let needle = q.to_lowercase();
    let rows = case.store().identifiers(&Filter { kind, ..Filter::default() })?;
    Ok(rows
        .into_iter()
        .filter(|r| r.record.value.to_lowercase().contains(&needle))
        .take(MAX_ROWS)
        .map(|r| {
            json!({
                "id": r.id.to_string(),
                "kind": r.record.kind,
                "value": r.record.value,
                "evidence": r.record.provenance.as_ref().map(|p| p.evidence.to_hex()),
            })
        })
        .collect())
}

async fn identifiers(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser, q: Result<Query<Search>, axum::extract::rejection::QueryRejection>) -> Result<impl IntoResponse, AppError> {
    let Query(q) = q.map_err(|_| AppError::bad_request("expected ?q=TEXT (and optionally &kind=KIND)"))?;
    let case = state.case()?;
    Ok(Json(search(&case, &q)?))
}

/// Parses a path's digest: 64 hex digits.
pub fn digest(s: &str) -> Result<Sha256, AppError> {
    s.parse::<Sha256>().map_err(|_| AppError::bad_request("expected a SHA-256 (64 hex digits)"))
}

/// Resolves a path's digest to a stored payload, as `dragnet explain` does:
/// 64 hex digits, or a prefix of at least [`case::MIN_DIGEST_PREFIX`] that
/// only one stored digest starts with (reports cite 16). A prefix of several
/// is a 400 that lists them; of none, a 404.
pub fn stored_digest(case: &case::Case, s: &str) -> Result<Sha256, AppError> {
    match case.evidence_digest(s) {
        Ok(Some(sha)) => Ok(sha),
        Ok(None) => match case::digest_prefix(s) {
            Some(prefix) => Err(AppError::not_found(format!("no evidence {prefix}{} in this case", if prefix.len() < 64 { "…" } else { "" }))),
            None => Err(AppError::bad_request(format!(
                "expected a SHA-256 (64 hex digits) or a prefix of at least {} of them",
                case::MIN_DIGEST_PREFIX
            ))),
        },
        Err(e @ case::CaseError::AmbiguousDigest { .. }) => Err(AppError::bad_request(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// What the case knows about one stored payload, and its custody entries.
pub fn evidence_info(case: &case::Case, sha: &Sha256) -> Result<Value, AppError> {
    let rec = case.evidence().record(sha).ok_or_else(|| AppError::not_found(format!("no evidence {sha} in this case")))?;
    let hex = sha.to_hex();
    let custody: Vec<Value> = case
        .evidence()
        .custody()
        .entries()
        .map_err(|e| AppError::internal(format!("reading the custody log: {e}")))?
        .into_iter()
        .filter(|e| e.detail.get("sha256").and_then(Value::as_str) == Some(hex.as_str()))
        .map(|e| entry_json(&e))
        .collect();
    let page = case.store().page(sha)?;
    Ok(json!({
        "sha256": hex,
        "record_id": rec.record_id,
        "warc_type": rec.warc_type,
        "urls": rec.urls,
        "sources": rec.sources,
        "captured_at": rec.captured_at.map(|t| t.to_rfc3339()),
        "captured_at_is_file_time": rec.captured_at_is_file_time,
        "content_type": rec.content_type,
        "bytes": rec.payload_length,
        "stored_in": format!("{}@{}", rec.stored_at_file, rec.offset),
        "page": page.map(|p| json!({ "market": p.market, "page_type": p.page_type.as_str(), "profile": p.profile })),
        "custody": custody,
    }))
}

fn entry_json(e: &evidence::CustodyEntry) -> Value {
    json!({
        "seq": e.seq,
        "time": e.time.to_rfc3339(),
        "action": e.action,
        "operator": e.operator,
        "tool_version": e.tool_version,
        "detail": e.detail,
        "hash": e.hash.to_hex(),
    })
}

async fn evidence(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser, Path(sha): Path<String>) -> Result<impl IntoResponse, AppError> {
    let case = state.case()?;
    let sha = stored_digest(&case, &sha)?;
    Ok(Json(evidence_info(&case, &sha)?))
}

/// The custody log, newest last.
pub fn custody_entries(case: &case::Case) -> Result<Vec<Value>, AppError> {
    Ok(case
        .evidence()
        .custody()
        .entries()
        .map_err(|e| AppError::internal(format!("reading the custody log: {e}")))?
        .iter()
        .map(entry_json)
        .collect())
}

async fn custody(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser) -> Result<impl IntoResponse, AppError> {
    let case = state.case()?;
    Ok(Json(custody_entries(&case)?))
}

/// A note body.
#[derive(Debug, Deserialize)]
pub struct Note {
    /// The note.
    pub text: String,
}

/// Records an analyst's note on a stored payload in the custody log.
pub fn note(case: &mut case::Case, sha: &Sha256, user: &str, text: &str) -> Result<Value, AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE {
        return Err(AppError::bad_request(format!("text: 1 to {MAX_NOTE} characters")));
    }
    if case.evidence().record(sha).is_none() {
        return Err(AppError::not_found(format!("no evidence {sha} in this case")));
    }
    let detail = json!({ "sha256": sha.to_hex(), "text": text, "user": user, "via": "dragnet serve" });
    case.log("note", detail.clone())?;
    Ok(detail)
}

async fn add_note(
    State(state): State<Arc<AppState>>,
    ApiUser(s): ApiUser,
    headers: HeaderMap,
    Path(sha): Path<String>,
    body: Result<Json<Note>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, AppError> {
    s.may_write(csrf_header(&headers))?;
    let sha = digest(&sha)?;
    // Too large stays 413; anything else unreadable is a 400.
    let Json(n) = body.map_err(|e| {
        let status = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE { e.status() } else { axum::http::StatusCode::BAD_REQUEST };
        AppError::new(status, format!("expected JSON {{\"text\": \"...\"}} of at most 64 KiB: {}", e.body_text()))
    })?;
    let mut case = state.case()?;
    Ok((axum::http::StatusCode::CREATED, Json(note(&mut case, &sha, &s.user, &n.text)?)))
}

async fn openapi() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], include_str!("../openapi.json"))
}

/// The proposed links (at the model's review threshold; hard, claimed and
/// decided links always), each with its signals and the analyst's decision. Needs a trained model
/// (`dragnet link train`): the server never trains one itself.
pub fn link_rows(case: &case::Case) -> Result<Vec<Value>, AppError> {
    let model = case.link_model()?.ok_or_else(|| {
        AppError::new(axum::http::StatusCode::CONFLICT, "the case has no linking model: run `dragnet link train` (or `dragnet links` once)")
    })?;
    let accounts = case.link_accounts()?;
    let decisions = case.link_decisions()?;
    let found = case::scored_links(&model, &accounts, &decisions);
    Ok(found
        .iter()
        .map(|l| {
            let d = decisions.get(&l.id);
            json!({
                "id": l.id, "a": l.a, "b": l.b, "probability": l.probability, "hard": l.hard,
                "signals": l.evidence.iter().filter(|e| e.value > 0.0).map(|e| (e.signal.clone(), e.value)).collect::<BTreeMap<_, _>>(),
                "decision": d.map(|d| match d.decision { linking::Decision::Confirmed => "confirmed", linking::Decision::Rejected => "rejected" }).unwrap_or("undecided"),
                "decided_by": d.map(|d| d.operator.clone()),
                "why": d.map(|d| d.why.clone()),
                "model": l.model,
            })
        })
        .collect())
}

async fn links(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser) -> Result<impl IntoResponse, AppError> {
    Ok(Json(crate::graphs::cached_links(&state)?.as_ref().clone()))
}

/// A decision body.
#[derive(Debug, Deserialize)]
pub struct DecisionBody {
    /// `confirmed` or `rejected`.
    pub decision: String,
    /// Why, in the analyst's words.
    pub why: String,
}

/// Records an analyst's decision on link `id` (custody log entry
/// `link-decision` naming the user).
pub fn decide_link(case: &mut case::Case, id: &str, d: &DecisionBody, user: &str) -> Result<Value, AppError> {
    let decision = match d.decision.as_str() {
        "confirmed" => linking::Decision::Confirmed,
        "rejected" => linking::Decision::Rejected,
        _ => return Err(AppError::bad_request("decision: confirmed or rejected")),
    };
    let why = d.why.trim();
    if why.is_empty() || why.chars().count() > MAX_NOTE {
        return Err(AppError::bad_request(format!("why: 1 to {MAX_NOTE} characters (the reason is part of the record)")));
    }
    if !id.starts_with("K-") || id.len() > 40 {
        return Err(AppError::bad_request("expected a link id (K-...)"));
    }
    let model = case.link_model()?.ok_or_else(|| AppError::new(axum::http::StatusCode::CONFLICT, "the case has no linking model: run `dragnet link train`"))?;
    let accounts = case.link_accounts()?;
    // Ids depend only on the two accounts: find the pair, then score it.
    let linker = linking::Linker::new(&model, &accounts);
    let link = linking::candidates(&linker.corpus)
        .into_iter()
        .find(|&(i, j)| linking::link_id(&accounts[i].id, &accounts[j].id) == id)
        .map(|(i, j)| linker.link(i, j))
        .ok_or_else(|| AppError::not_found(format!("no candidate link {id} between the case's accounts")))?;
    case.decide_link_as(&link, decision, why, Some(user))?;
    Ok(json!({ "link": link.id, "a": link.a, "b": link.b, "decision": d.decision, "user": user }))
}

async fn decide(
    State(state): State<Arc<AppState>>,
    ApiUser(s): ApiUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<DecisionBody>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, AppError> {
    s.may_write(csrf_header(&headers))?;
    let Json(d) = body.map_err(|e| AppError::bad_request(format!("expected JSON {{\"decision\": \"confirmed|rejected\", \"why\": \"...\"}}: {}", e.body_text())))?;
    let mut case = state.case()?;
    Ok((axum::http::StatusCode::CREATED, Json(decide_link(&mut case, &id, &d, &s.user)?)))
}

/// Full-text hits for `q` (the best `limit`, at most [`search::MAX_HITS`];
/// the index is brought up to date with the case's pages first), and how
/// many pages the index holds.
pub fn fulltext(state: &AppState, q: &str, limit: usize) -> Result<(Vec<search::Hit>, usize), AppError> {
    if q.trim().is_empty() || q.len() > search::MAX_QUERY {
        return Err(AppError::bad_request(format!("q: 1 to {} bytes", search::MAX_QUERY)));
    }
    let poisoned = || AppError::internal("the search index lock was poisoned");
    {
        // Under the case lock only to bring the index up to date, and only
        // when the case's files changed (another process extracted into
        // it): searches then run side by side under a read lock.
        let case = state.case()?;
        let key = crate::views::case_key(&case)?;
        let fresh = matches!(state.search.read().map_err(|_| poisoned())?.as_ref(), Some((_, seen)) if *seen == key);
        if !fresh {
            let mut index = state.search.write().map_err(|_| poisoned())?;
            match index.as_mut() {
                None => *index = Some((case.search_index()?, key)),
                Some((ix, seen)) => {
                    case.update_search(ix)?;
                    *seen = key;
                }
            }
        }
    }
    let index = state.search.read().map_err(|_| poisoned())?;
    let (ix, _) = index.as_ref().ok_or_else(|| AppError::internal("no search index"))?;
    let hits = ix.search_top(q, limit).map_err(|e| AppError::bad_request(e.to_string()))?;
    Ok((hits, ix.pages()))
}

/// `?q=` of a full-text search.
#[derive(Debug, Deserialize)]
pub struct TextQuery {
    /// Words, phrases in quotes, `title:word` (tantivy's syntax, read
    /// leniently).
    pub q: String,
    /// Hits to return (default [`DEFAULT_HITS`], at most [`search::MAX_HITS`]).
    pub limit: Option<usize>,
}

/// Hits a search returns unless asked for more.
pub const DEFAULT_HITS: usize = 20;

async fn search_text(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser, q: Result<Query<TextQuery>, axum::extract::rejection::QueryRejection>) -> Result<impl IntoResponse, AppError> {
    let Query(q) = q.map_err(|_| AppError::bad_request("expected ?q=TEXT"))?;
    let limit = q.limit.unwrap_or(DEFAULT_HITS);
    if limit == 0 || limit > search::MAX_HITS {
        return Err(AppError::bad_request(format!("limit: 1 to {}", search::MAX_HITS)));
    }
    let (hits, pages) = fulltext(&state, &q.q, limit)?;
    Ok(Json(json!({ "pages_indexed": pages, "hits": hits })))
}
