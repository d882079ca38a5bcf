//! Local accounts, sessions and CSRF.
//!
//! Users live in `CASE/users.json` (name, role, argon2id PHC hash); they are
//! added with `dragnet user add` (a custody log entry, never the hash).
//! A login makes a session: 32 random bytes in a cookie (`HttpOnly`,
//! `SameSite=Strict`, `Secure`), kept in memory for 8 hours of idleness,
//! and a CSRF token every write must carry (header `X-CSRF-Token` or form
//! field `csrf`). Without accounts (`--no-auth`, loopback only) everyone is
//! an analyst and the CSRF token is the process's own, in every page.
//! Password guessing is slowed per user name: after [`FREE_FAILURES`]
//! failed logins in a row, each further attempt on that name waits twice
//! as long as the last (429 with `Retry-After`), up to [`MAX_LOCK`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::{AppError, AppState};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including writes (notes, decisions).
    Analyst,
    /// Reads only: cases, methods, evidence.
    Reviewer,
}

impl Role {
    /// Parses `analyst` or `reviewer`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "analyst" => Some(Role::Analyst),
            "reviewer" => Some(Role::Reviewer),
            _ => None,
        }
    }
}

/// One account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// argon2id hash in PHC string form.
    pub hash: String,
}

/// The users file of a case.
pub fn users_path(case_dir: &Path) -> PathBuf {
    case_dir.join("users.json")
}

/// Reads the users of a case (none when the file does not exist).
pub fn load_users(case_dir: &Path) -> Result<Vec<User>, String> {
    let path = users_path(case_dir);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Adds (or replaces the password and role of) a user; the password is
/// hashed with argon2id and a random salt.
pub fn add_user(case_dir: &Path, name: &str, role: Role, password: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(format!("user name {name:?}: 1 to 64 letters, digits, '.', '_' or '-'"));
    }
    if password.chars().count() < 12 {
        return Err("password: at least 12 characters".into());
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let hash = Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| e.to_string())?.to_string();
    let mut users = load_users(case_dir)?;
    users.retain(|u| u.name != name);
    users.push(User { name: name.to_owned(), role, hash });
    let path = users_path(case_dir);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&users).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A logged-in user (or, without accounts, the local analyst).
#[derive(Debug, Clone)]
pub struct Session {
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// The token every write must carry.
    pub csrf: String,
    last_seen: Instant,
}

const COOKIE: &str = "dragnet_session";
const IDLE: Duration = Duration::from_secs(8 * 3600);

/// Accounts and sessions.
pub struct Auth {
    case_dir: PathBuf,
    /// `Some`: no accounts; this is everyone's session.
    open: Option<Session>,
    sessions: Mutex<HashMap<String, Session>>,
    /// Failed logins in a row per user name, and until when the name is locked.
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Failed logins in a row a name may have before attempts are slowed.
pub const FREE_FAILURES: u32 = 5;
/// The longest a name is locked.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Names tracked at most (unknown names count too, so that a lock does not
/// tell which names exist); beyond it, expired entries are dropped.
const MAX_TRACKED: usize = 10_000;

fn token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

impl Auth {
    /// `no_auth`: everyone is the local analyst. Otherwise the case must
    /// have at least one user.
    pub fn new(case_dir: &Path, no_auth: bool) -> Result<Auth, String> {
        let open = no_auth.then(|| Session { user: "local".into(), role: Role::Analyst, csrf: token(), last_seen: Instant::now() });
        if !no_auth && load_users(case_dir)?.is_empty() {
            return Err(format!(
                "the case has no users: add one with `dragnet --case {} user add NAME --role analyst` (password on standard input), or serve on loopback with --no-auth",
                case_dir.display()
            ));
        }
        Ok(Auth { case_dir: case_dir.to_owned(), open, sessions: Mutex::new(HashMap::new()), failures: Mutex::new(HashMap::new()) })
    }

    /// How long `name` must still wait before a login is tried, if locked.
    fn locked(&self, name: &str) -> Option<Duration> {
        let f = self.failures.lock().ok()?;
        let (_, until) = f.get(name)?;
        until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }

    /// Counts a failed login on `name`; past the free ones, locks the name.
    fn failed(&self, name: &str) {
        let Ok(mut f) = self.failures.lock() else { return };
        let now = Instant::now();
        if f.len() >= MAX_TRACKED {
            f.retain(|_, (_, until)| *until > now);
        }
        let e = f.entry(name.to_owned()).or_insert((0, now));
        e.0 += 1;
        if e.0 >= FREE_FAILURES {
            let secs = 1u64 << (e.0 - FREE_FAILURES).min(20);
            e.1 = now + Duration::from_secs(secs).min(MAX_LOCK);
        }
    }

    fn succeeded(&self, name: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(name);
        }
    }

    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        if let Some(s) = &self.open {
            return Some(s.clone());
        }
        let id = cookie(headers, COOKIE)?;
        let mut sessions = self.sessions.lock().ok()?;
        let s = sessions.get_mut(&id)?;
        if s.last_seen.elapsed() > IDLE {
            sessions.remove(&id);
            return None;
        }
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    fn login(&self, name: &str, password: &str) -> Option<(String, Session)> {
        let users = load_users(&self.case_dir).ok()?;
        let user = users.iter().find(|u| u.name == name);
        // Verify against some hash even for an unknown name, so the answer
        // takes as long either way.
        let hash = user.map(|u| u.hash.clone()).unwrap_or_else(|| users.first().map(|u| u.hash.clone()).unwrap_or_default());
        let ok = PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
        let user = user.filter(|_| ok)?;
        let s = Session { user: user.name.clone(), role: user.role, csrf: token(), last_seen: Instant::now() };
        let id = token();
        self.sessions.lock().ok()?.insert(id.clone(), s.clone());
        Some((id, s))
    }

    fn logout(&self, headers: &HeaderMap) {
        if let (Some(id), Ok(mut sessions)) = (cookie(headers, COOKIE), self.sessions.lock()) {
            sessions.remove(&id);
        }
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A request from a signed-in user, for the API (401 JSON otherwise).
pub struct ApiUser(pub Session);

/// A request from a signed-in user, for pages (to the login page otherwise).
pub struct PageUser(pub Session);

impl FromRequestParts<Arc<AppState>> for ApiUser {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        state.auth.session(&parts.headers).map(ApiUser).ok_or_else(|| AppError::new(StatusCode::UNAUTHORIZED, "sign in first (POST /login)"))
    }
}

impl FromRequestParts<Arc<AppState>> for PageUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        state.auth.session(&parts.headers).map(PageUser).ok_or_else(|| Redirect::to("/login").into_response())
    }
}

impl Session {
    /// Allows a write: an analyst, with the session's CSRF token.
    pub fn may_write(&self, presented: Option<&str>) -> Result<(), AppError> {
        if self.role != Role::Analyst {
            return Err(AppError::forbidden(format!("{} is a reviewer: reviewers read, analysts write", self.user)));
        }
        // Compared in full whatever the prefix (no early exit).
        let ok = presented.is_some_and(|p| p.len() == self.csrf.len() && p.bytes().zip(self.csrf.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0);
        if !ok {
            return Err(AppError::forbidden("missing or wrong CSRF token (X-CSRF-Token header or csrf form field)"));
        }
        Ok(())
    }
}

/// The CSRF token a request presents in its header.
pub fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout)).route("/api/session", get(whoami))
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

async fn login_page(State(state): State<Arc<AppState>>) -> Result<Response, AppError> {
    crate::pages::render(&state, "login.html", minijinja::context! { failed => false }).map_err(AppError::page)
}

async fn login(State(state): State<Arc<AppState>>, Form(f): Form<LoginForm>) -> Response {
    if state.auth.open.is_some() {
        return Redirect::to("/").into_response();
    }
    if f.user.len() > 64 || f.password.len() > 1024 {
        return AppError::bad_request("user or password too long").page().into_response();
    }
    if let Some(wait) = state.auth.locked(&f.user) {
        let secs = wait.as_secs().max(1);
        let mut r = AppError::new(StatusCode::TOO_MANY_REQUESTS, format!("too many failed logins for this name: try again in {secs} s")).page().into_response();
        if let Ok(v) = secs.to_string().parse() {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    // argon2 takes tens of milliseconds: off the async threads.
    let st = state.clone();
    let name = f.user.clone();
    let found = tokio::task::spawn_blocking(move || st.auth.login(&f.user, &f.password)).await.ok().flatten();
    match found {
        Some((id, _)) => {
            state.auth.succeeded(&name);
            let mut r = Redirect::to("/").into_response();
            let cookie = format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age={}", IDLE.as_secs());
            if let Ok(v) = cookie.parse() {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        None => {
            state.auth.failed(&name);
            let page = crate::pages::render(&state, "login.html", minijinja::context! { failed => true });
            let mut r = page.map_err(AppError::page).into_response();
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn logout(State(state): State<Arc<AppState>>, PageUser(s): PageUser, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if s.csrf != f.csrf.unwrap_or_default() {
        return AppError::forbidden("missing or wrong CSRF token").page().into_response();
    }
    state.auth.logout(&headers);
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=0").parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `GET /api/session`: who is signed in, the role, and the CSRF token to
/// send with writes.
async fn whoami(ApiUser(s): ApiUser) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "user": s.user, "role": s.role, "csrf": s.csrf }))
}
