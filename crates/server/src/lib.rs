//! `dragnet serve`: one case in a browser and over a JSON API.
//!
//! * Pages ([`pages`]): overview, vendors, a vendor's dossier, identifier
//!   search, the evidence viewer, the custody log. Rendered with minijinja
//!   from `templates/` with auto-escaping on: no stored string reaches a page
//!   unescaped. The only script is the server's own graph drawing
//!   ([`graphs`]: cytoscape.js bundled at build time), from its own files,
//!   never inline; charts are SVG drawn on the server ([`charts`]).
//! * Dossiers ([`dossiers`]): vendor, operator, listing history; derived
//!   indexes are cached and rebuilt when the case changes ([`views`]).
//! * Captured pages are hostile: the viewer shows them in an `<iframe
//!   sandbox>` whose document (`/raw/SHA`) is served with a
//!   Content-Security-Policy `sandbox; default-src 'none'` plus the case's
//!   own images, so it runs no script, submits no form and makes no request
//!   off the case; or as escaped text.
//! * API ([`api`]) under `/api`, described by `/api/openapi.json`.
//! * Accounts ([`auth`]): local users with roles (analyst: everything;
//!   reviewer: reads), argon2id password hashes in `CASE/users.json`,
//!   in-memory sessions with HttpOnly SameSite=Strict cookies, a CSRF token
//!   on every write. `--no-auth` only on a loopback address. Every write (an
//!   analyst's note) is a custody log entry.
//!
//! The case sits behind one mutex: SQLite connections are not shared
//! between threads, and reads are short.
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod charts;
pub mod dossiers;
pub mod graphs;
pub mod pages;
pub mod views;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// No accounts: everyone who can reach the address is an analyst.
    /// Refused unless `bind` is a loopback address.
    pub no_auth: bool,
    /// The operator custody entries name (the person running the server;
    /// a web user's name is in each entry's detail).
    pub operator: String,
    /// Rate series for USD figures (`--rates`).
    pub rates: sales::Rates,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A setting is refused.
    #[error("{0}")]
    Refused(String),
    /// The case cannot be opened or read.
    #[error(transparent)]
    Case(#[from] case::CaseError),
    /// Binding or serving failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Shared by every request.
pub struct AppState {
    case: Mutex<case::Case>,
    case_dir: PathBuf,
    auth: auth::Auth,
    templates: minijinja::Environment<'static>,
    /// The full-text index, opened on the first search, and the case
    /// fingerprint ([`views::case_key`]) it was last brought up to date with.
    search: RwLock<Option<(search::SearchIndex, String)>>,
    /// Without accounts: the only `Host` headers answered (the loopback
    /// address and port, or `localhost`), against DNS rebinding.
    hosts: Option<Vec<String>>,
    /// Rate series for USD figures.
    rates: sales::Rates,
    /// Derived views, each rebuilt when what it came from changed.
    dossiers: views::Cached<case::DossierIndex>,
    links: views::Cached<Vec<serde_json::Value>>,
    overview: views::Cached<dossiers::OverviewCharts>,
    chain: views::Cached<Option<views::ChainView>>,
}

/// Without accounts, a page of another site whose name it re-points to
/// 127.0.0.1 (DNS rebinding) would be same-origin with the server and could
/// read the case: answer only requests that name the loopback address.
async fn check_host(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(allowed) = &state.hosts {
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
            return AppError::new(StatusCode::MISDIRECTED_REQUEST, format!("Host {host:?} is not this server's loopback address")).into_response();
        }
    }
    next.run(req).await
}

impl AppState {
    /// The case, locked for the length of one request's reads or write.
    fn case(&self) -> Result<MutexGuard<'_, case::Case>, AppError> {
        self.case.lock().map_err(|_| AppError::internal("the case lock was poisoned by a failed request"))
    }
}

/// An error answer: JSON for the API, a page otherwise. Never a stack
/// trace or a debug dump: the message is written for the user.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    message: String,
    html: bool,
}

impl AppError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        AppError { status, message: message.into(), html: false }
    }
    fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }
    fn bad_request(what: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, what)
    }
    fn forbidden(what: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, what)
    }
    fn internal(what: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, what)
    }
    /// The same error as a page.
    fn page(mut self) -> Self {
        self.html = true;
        self
    }
}

impl From<case::CaseError> for AppError {
    fn from(e: case::CaseError) -> Self {
        AppError::internal(format!("reading the case: {e}"))
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        AppError::internal(format!("reading the case database: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.html {
            let body = format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{code}</title></head><body><h1>{code}</h1><p>{msg}</p><p><a href=\"/\">Case overview</a></p></body></html>",
                code = self.status.as_u16(),
                msg = minijinja::HtmlEscape(&self.message)
            );
            let mut r = (self.status, body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            secure_headers(&mut r);
            r
        } else {
            (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response()
        }
    }
}

/// The policy of dragnet's own pages: scripts only from the server's own
/// files (the graph drawing; never inline, so a stored string that escaped
/// escaping still could not run), requests to the server only, styles
/// inline, images and frames from the case only, never framed by another
/// site.
pub const UI_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The policy a captured page is served under: a sandbox (an opaque origin:
/// no scripts, forms, plugins, popups, no access to dragnet's cookies), no
/// request anywhere except the case's own stored images and inline ones.
pub const CAPTURE_CSP: &str = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'";

fn secure_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(UI_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The router, for tests and [`serve`].
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(dossiers::routes())
        .merge(graphs::routes())
        .merge(api::routes())
        .merge(auth::routes())
        .layer(axum::middleware::map_response(|mut r: Response| async move {
            secure_headers(&mut r);
            r
        }))
        .layer(axum::middleware::from_fn_with_state(state.clone(), check_host))
        // Form posts and JSON bodies are small; anything bigger is refused.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// Opens the case and builds the shared state.
pub fn state(case_dir: &Path, cfg: &ServeConfig) -> Result<Arc<AppState>, ServeError> {
    if cfg.no_auth && !cfg.bind.ip().is_loopback() {
        return Err(ServeError::Refused(format!(
            "--no-auth serves the case to anyone who can reach {}; it is allowed on a loopback address only (127.0.0.1, ::1)",
            cfg.bind
        )));
    }
    let case = case::Case::open(case_dir, &cfg.operator)?;
    let auth = auth::Auth::new(case_dir, cfg.no_auth).map_err(ServeError::Refused)?;
    Ok(Arc::new(AppState {
        case: Mutex::new(case),
        case_dir: case_dir.to_owned(),
        auth,
        templates: pages::templates(),
        search: RwLock::new(None),
        hosts: None,
        rates: cfg.rates.clone(),
        dossiers: Default::default(),
        links: Default::default(),
        overview: Default::default(),
        chain: Default::default(),
    }))
}

/// Serves until the process ends; `ready` is called with the bound address
/// (port 0 picks a free one) before the first request is accepted.
pub fn serve(case_dir: &Path, cfg: &ServeConfig, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let state = state(case_dir, cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()
        .map_err(|source| ServeError::Io { what: "starting the runtime".into(), source })?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cfg.bind)
            .await
            .map_err(|source| ServeError::Io { what: format!("binding {}", cfg.bind), source })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Io { what: "reading the bound address".into(), source })?;
        let state = if cfg.no_auth {
            // The port is known only now (port 0 picks one).
            let port = addr.port();
            let hosts = vec![addr.to_string(), format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")];
            let mut s = Arc::try_unwrap(state).map_err(|_| ServeError::Refused("the server state is shared before serving".into()))?;
            s.hosts = Some(hosts);
            Arc::new(s)
        } else {
            state
        };
        ready(addr);
        axum::serve(listener, router(state)).await.map_err(|source| ServeError::Io { what: "serving".into(), source })
    })
}
