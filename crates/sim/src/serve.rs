//! The simulated markets as real web sites on a loopback address, for crawl
//! tests and `bench/crawl`: `GET /<market>/<path>` serves the generated page
//! `pages/<market>/<path>`. Optional behaviours of live markets: a session
//! cookie without which every page is the login form, a captcha wall and a
//! ban after some requests, maintenance (`503` with a notice), rate
//! limiting with `429 Too Many Requests`, failures (`503`) and slow
//! responses.
//!
//! HTTP/1.1, one request per connection (`Connection: close`), GET only.
//! Test fixture code: never exposed beyond loopback by the CLI.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::SimFile;

/// Behaviours of a live market.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeConfig {
    /// When set, a request without the cookie `session=<value>` gets the
    /// market's login page instead of the page asked for.
    pub session: Option<String>,
    /// Every n-th request (counting all) fails with 503; 0 never.
    pub fail_every: u64,
    /// At most this many requests per second; more get 429 with
    /// `Retry-After: 1`. 0: no limit.
    pub rate_limit: u32,
    /// Waited before each response.
    pub latency: Duration,
    /// After this many requests (all counted), a request without the cookie
    /// `captcha=solved` gets the market's captcha page; 0 never.
    pub captcha_after: u64,
    /// After this many requests, a request without the cookie
    /// `account=fresh` gets a ban notice; 0 never.
    pub ban_after: u64,
    /// Every request gets `503` with a maintenance notice.
    pub maintenance: bool,
}

/// A 1x1 PNG: what the captcha image paths serve.
pub const CAPTCHA_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41,
    0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

const BANNED_PAGE: &[u8] = b"<!DOCTYPE html><html><head><title>Account banned</title></head><body><h1>Your account has been banned</h1><p>Contact support.</p></body></html>";
const MAINTENANCE_PAGE: &[u8] = b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>The market is down for scheduled maintenance</h1><p>Back soon.</p></body></html>";

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Logged {
    /// Milliseconds since the server started.
    pub t_ms: u64,
    /// Path requested.
    pub path: String,
    /// Status answered.
    pub status: u16,
    /// The request line and headers as received (names lower-cased), for
    /// tests that compare them with the stored WARC request records.
    pub request: Vec<String>,
}

struct Site {
    pages: BTreeMap<String, Vec<u8>>,
    cfg: ServeConfig,
    count: AtomicU64,
    window: Mutex<(u64, u32)>,
    start: Instant,
    log: Mutex<Vec<Logged>>,
    on_request: Box<dyn Fn(&Logged) + Send + Sync>,
}

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    site: Arc<Site>,
}

impl Server {
    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.site.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Serves `files` (the `pages/...` ones) on `listener` in background
/// threads; `on_request` is called for each request (the CLI prints them).
pub fn start(listener: TcpListener, files: &[SimFile], cfg: ServeConfig, on_request: Box<dyn Fn(&Logged) + Send + Sync>) -> std::io::Result<Server> {
    let url = format!("http://{}", listener.local_addr()?);
    let pages = files
        .iter()
        .filter_map(|f| f.rel_path.strip_prefix("pages/").map(|p| (format!("/{p}"), f.bytes.clone())))
        .collect();
    let site = Arc::new(Site {
        pages,
        cfg,
        count: AtomicU64::new(0),
        window: Mutex::new((0, 0)),
        start: Instant::now(),
        log: Mutex::new(Vec::new()),
        on_request,
    });
    let s = site.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let s = s.clone();
            std::thread::spawn(move || {
                let _ = handle(conn, &s);
            });
        }
    });
    Ok(Server { url, site })
}

fn respond(conn: &mut TcpStream, status: u16, reason: &str, extra: &str, body: &[u8]) -> std::io::Result<()> {
    respond_with(conn, status, reason, "text/html; charset=utf-8", extra, body)
}

fn respond_typed(conn: &mut TcpStream, status: u16, reason: &str, content_type: &str, body: &[u8]) -> std::io::Result<()> {
    respond_with(conn, status, reason, content_type, "", body)
}

fn respond_with(conn: &mut TcpStream, status: u16, reason: &str, content_type: &str, extra: &str, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)?;
    conn.flush()
}

fn handle(mut conn: TcpStream, site: &Site) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned());
    let mut cookie = String::new();
    let mut request = vec![line.trim_end().to_owned()];
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("cookie") {
                cookie = v.trim().to_owned();
            }
            request.push(format!("{}: {}", k.trim().to_ascii_lowercase(), v.trim()));
        }
    }
    let path = target.split(['?', '#']).next().unwrap_or("/").to_owned();
    let n = site.count.fetch_add(1, Ordering::SeqCst) + 1;
    let t_ms = site.start.elapsed().as_millis() as u64;
    std::thread::sleep(site.cfg.latency);
    let limited = site.cfg.rate_limit > 0 && {
        let mut w = site.window.lock().map_err(|_| std::io::Error::other("lock"))?;
        let second = t_ms / 1000;
        if w.0 != second {
            *w = (second, 0);
        }
        w.1 += 1;
        w.1 > site.cfg.rate_limit
    };
    let market = path.trim_start_matches('/').split('/').next().unwrap_or_default().to_owned();
    let has_cookie = |pair: &str| cookie.split(';').any(|c| c.trim() == pair);
    let logged_in = site.cfg.session.as_ref().is_none_or(|s| has_cookie(&format!("session={s}")));
    let walled = |after: u64, pass: &str| after > 0 && n > after && !has_cookie(pass);
    let (status, result) = if method != "GET" {
        (405, respond(&mut conn, 405, "Method Not Allowed", "", b"GET only"))
    } else if limited {
        (429, respond(&mut conn, 429, "Too Many Requests", "Retry-After: 1\r\n", b"slow down"))
    } else if site.cfg.fail_every > 0 && n.is_multiple_of(site.cfg.fail_every) {
        (503, respond(&mut conn, 503, "Service Unavailable", "", b"try again"))
    } else if site.cfg.maintenance {
        (503, respond(&mut conn, 503, "Service Unavailable", "", MAINTENANCE_PAGE))
    } else if walled(site.cfg.ban_after, "account=fresh") {
        (200, respond(&mut conn, 200, "OK", "", BANNED_PAGE))
    } else if path.ends_with(".png") && path.contains("captcha") {
        (200, respond_typed(&mut conn, 200, "OK", "image/png", CAPTCHA_PNG))
    } else if walled(site.cfg.captcha_after, "captcha=solved") {
        match site.pages.get(&format!("/{market}/captcha.html")) {
            Some(p) => (200, respond(&mut conn, 200, "OK", "", p)),
            None => (403, respond(&mut conn, 403, "Forbidden", "", b"captcha")),
        }
    } else if !logged_in {
        match site.pages.get(&format!("/{market}/login.html")) {
            Some(p) => (200, respond(&mut conn, 200, "OK", "", p)),
            None => (403, respond(&mut conn, 403, "Forbidden", "", b"log in")),
        }
    } else if path == "/" {
        let mut markets: Vec<&str> = site.pages.keys().filter_map(|k| k.trim_start_matches('/').split('/').next()).collect();
        markets.dedup();
        let body: String = markets.iter().map(|m| format!("<a href=\"/{m}/index.html\">{m}</a>\n")).collect();
        (200, respond(&mut conn, 200, "OK", "", body.as_bytes()))
    } else {
        match site.pages.get(&path) {
            Some(p) => (200, respond(&mut conn, 200, "OK", "", p)),
            None => (404, respond(&mut conn, 404, "Not Found", "", b"not found")),
        }
    };
    let entry = Logged { t_ms, path, status, request };
    (site.on_request)(&entry);
    if let Ok(mut l) = site.log.lock() {
        l.push(entry);
    }
    result
}
