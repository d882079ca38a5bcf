//! One GET through the proxy. The crawler decides what to do with redirects,
//! errors and pages; this only fetches, caps and records.

use std::io::Read as _;
use std::time::{Duration, Instant};

use crate::policy::ProxySetting;

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The proxy (see [`ProxySetting`]).
    pub proxy: ProxySetting,
    /// SOCKS username for circuit isolation: Tor puts streams with different
    /// credentials on different circuits (`IsolateSOCKSAuth`, on by
    /// default), so each market (and account) gets its own. With the
    /// embedded Tor client (`arti`) each [`Fetcher`] gets its own isolation
    /// token instead, and this name is only recorded.
    pub isolation: String,
    /// Directory of the embedded Tor client's state (`DIR/state`: guards,
    /// keys) and cache (`DIR/cache`: directory documents); `None`: arti's
    /// defaults, `~/.local/share/arti` and `~/.cache/arti`. arti checks
    /// their permissions (not writable by others). The first fetcher of a
    /// process starts one client per directory; later ones share it.
    #[cfg(feature = "arti")]
    pub arti_dir: Option<std::path::PathBuf>,
    /// Connect and whole-request timeout.
    pub timeout: Duration,
    /// Bodies longer than this are cut here and marked truncated.
    pub max_bytes: u64,
    /// `Cookie` header sent with every request (the session).
    pub cookie: Option<String>,
    /// Accept any TLS certificate. Only for onion services (the caller
    /// checks): their address already authenticates them, and many serve a
    /// self-signed certificate.
    pub accept_invalid_tls: bool,
    /// `User-Agent` sent.
    pub user_agent: String,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            proxy: ProxySetting::None,
            isolation: "dragnet".into(),
            #[cfg(feature = "arti")]
            arti_dir: None,
            timeout: Duration::from_secs(60),
            max_bytes: 8 << 20,
            cookie: None,
            accept_invalid_tls: false,
            // Tor Browser's (a distinctive one would mark the crawler).
            user_agent: "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
        }
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL asked for.
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// The response head as received (status line, headers, empty line);
    /// a content coding undone by the client is renamed
    /// `X-Dragnet-Decoded-Content-Encoding`, since the body is stored decoded.
    pub head: Vec<u8>,
    /// The body (decoded), at most `max_bytes`.
    pub body: Vec<u8>,
    /// The body was longer than `max_bytes` and was cut.
    pub truncated: bool,
    /// `Location`, for redirects.
    pub location: Option<String>,
    /// `Retry-After` in seconds, when given as a number.
    pub retry_after: Option<u64>,
    /// Request to end of body.
    pub elapsed: Duration,
    /// The circuit it went through: the proxy and the SOCKS username that
    /// isolates it (`socks5h://127.0.0.1:9050 user dragnet-dream`), the
    /// embedded Tor client and the fetcher's isolation (`arti (embedded
    /// Tor) isolation dragnet-dream`), or `direct` (loopback test sites).
    pub circuit: String,
    /// The request head as sent (request line, the headers dragnet sets,
    /// `Host`), with cookie values replaced by their count, length and
    /// digest: the evidence shows a session was used without storing it.
    pub request_head: Vec<u8>,
    /// When the request started.
    pub started_at: chrono::DateTime<chrono::Utc>,
}

/// What dragnet writes into a stored request instead of the session cookie.
pub fn redact_cookie(cookie: &str) -> String {
    use sha2::Digest as _;
    let n = cookie.split(';').filter(|c| !c.trim().is_empty()).count();
    let digest = hex::encode(sha2::Sha256::digest(cookie.as_bytes()));
    format!("[redacted by dragnet: {n} cookie(s), {} bytes, sha256 {}]", cookie.len(), &digest[..16])
}

/// The `Host` header for `url` (port only when not the scheme's default).
fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// Why a fetch gave no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Connection, proxy, timeout or protocol failure (worth retrying).
    #[error("{0}")]
    Transport(String),
    /// The TLS handshake failed (an invalid or self-signed certificate):
    /// retrying cannot help.
    #[error("TLS: {0}")]
    Tls(String),
    /// A bad setting.
    #[error("{0}")]
    Config(String),
}

/// An HTTP client bound to one proxy setting and session.
pub struct Fetcher {
    agent: ureq::Agent,
    cfg: FetchConfig,
}

impl Fetcher {
    /// Builds the client. Environment proxy variables are ignored: what
    /// happens is what was asked.
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, FetchError> {
        let proxy = match &cfg.proxy {
            ProxySetting::None => None,
            ProxySetting::Arti => return Ok(Fetcher { agent: embedded_tor_agent(&cfg)?, cfg }),
            ProxySetting::Socks5h { addr } => {
                let (host, port) = addr
                    .rsplit_once(':')
                    .and_then(|(h, p)| p.parse::<u16>().ok().map(|p| (h.trim_matches(['[', ']']), p)))
                    .ok_or_else(|| FetchError::Config(format!("proxy address {addr:?}: expected HOST:PORT")))?;
                Some(
                    ureq::Proxy::builder(ureq::ProxyProtocol::Socks5h)
                        .host(host)
                        .port(port)
                        .username(&cfg.isolation)
                        .password("x")
                        .build()
                        .map_err(|e| FetchError::Config(format!("proxy {addr}: {e}")))?,
                )
            }
        };
        let agent = ureq::Agent::config_builder()
            .proxy(proxy)
            .timeout_connect(Some(cfg.timeout))
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            // The crawler checks every Location against the scope.
            .max_redirects(0)
            .user_agent(cfg.user_agent.as_str())
            .tls_config(ureq::tls::TlsConfig::builder().disable_verification(cfg.accept_invalid_tls).build())
            .build()
            .new_agent();
        Ok(Fetcher { agent, cfg })
    }

    /// GETs a page at `url` (already admitted by the scope).
    pub fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        self.fetch(url, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5", self.cfg.max_bytes)
    }

    /// GETs an image at `url` (admitted as a resource), cut at `max_bytes`.
    pub fn get_image(&self, url: &str, max_bytes: u64) -> Result<Fetched, FetchError> {
        self.fetch(url, "image/avif,image/webp,image/png,image/*;q=0.8,*/*;q=0.5", max_bytes.min(self.cfg.max_bytes))
    }

    fn fetch(&self, url: &str, accept: &str, limit: u64) -> Result<Fetched, FetchError> {
        let start = Instant::now();
        let started_at = chrono::Utc::now();
        let parsed = url::Url::parse(url).map_err(|e| FetchError::Config(format!("{url}: {e}")))?;
        // Every header is set here (none left to the client's defaults) so
        // the stored request record is what was sent.
        let mut headers: Vec<(&str, String)> = vec![
            ("User-Agent", self.cfg.user_agent.clone()),
            ("Accept", accept.to_owned()),
            ("Accept-Encoding", "gzip".into()),
        ];
        if let Some(c) = &self.cfg.cookie {
            headers.push(("Cookie", c.clone()));
        }
        let mut req = self.agent.get(url);
        let path = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let mut request_head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", host_header(&parsed));
        for (name, value) in &headers {
            req = req.header(*name, value.as_str());
            let shown = if *name == "Cookie" { redact_cookie(value) } else { value.clone() };
            request_head.push_str(&format!("{name}: {shown}\r\n"));
        }
        request_head.push_str("\r\n");
        let mut resp = req.call().map_err(|e| {
            let text = e.to_string();
            let tls = matches!(e, ureq::Error::Tls(_) | ureq::Error::Rustls(_))
                || ["certificate", "InvalidCertificate", "UnknownIssuer"].iter().any(|w| text.contains(w));
            if tls {
                FetchError::Tls(text)
            } else {
                FetchError::Transport(text)
            }
        })?;
        let status = resp.status().as_u16();
        let mut head = format!("HTTP/1.1 {} {}\r\n", status, resp.status().canonical_reason().unwrap_or(""));
        let mut location = None;
        let mut retry_after = None;
        for (name, value) in resp.headers() {
            let v = String::from_utf8_lossy(value.as_bytes()).replace(['\r', '\n'], " ");
            let n = name.as_str();
            match n {
                "location" => location = Some(v.clone()),
                "retry-after" => retry_after = v.trim().parse().ok(),
                _ => {}
            }
            let n = if n == "content-encoding" { "x-dragnet-decoded-content-encoding" } else { n };
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(limit + 1)
            .read_to_end(&mut body)
            .map_err(|e| FetchError::Transport(format!("reading the body: {e}")))?;
        let truncated = body.len() as u64 > limit;
        body.truncate(limit as usize);
        let circuit = match &self.cfg.proxy {
            ProxySetting::None => "direct".to_owned(),
            ProxySetting::Socks5h { addr } => format!("socks5h://{addr} user {}", self.cfg.isolation),
            ProxySetting::Arti => format!("arti (embedded Tor) isolation {}", self.cfg.isolation),
        };
        Ok(Fetched {
            url: url.to_owned(),
            status,
            head: head.into_bytes(),
            body,
            truncated,
            location,
            retry_after,
            elapsed: start.elapsed(),
            circuit,
            request_head: request_head.into_bytes(),
            started_at,
        })
    }
}

/// The agent for `--proxy arti` (see [`embedded`]).
#[cfg(feature = "arti")]
fn embedded_tor_agent(cfg: &FetchConfig) -> Result<ureq::Agent, FetchError> {
    embedded::agent(cfg)
}

/// Without the feature `arti` there is no embedded Tor client.
#[cfg(not(feature = "arti"))]
fn embedded_tor_agent(_cfg: &FetchConfig) -> Result<ureq::Agent, FetchError> {
    Err(FetchError::Config(
        "--proxy arti: this dragnet was built without the embedded Tor client; rebuild with \
         `cargo build --release --features arti`, or use the tor daemon: socks5h://127.0.0.1:9050"
            .into(),
    ))
}

/// The embedded Tor client (feature `arti`): ureq's HTTP over streams that
/// arti opens through Tor.
///
/// * One `TorClient` per state directory for the whole process (arti's
///   advice); each [`Fetcher`] gets an isolated handle on it (its own
///   isolation token), so no two fetchers (markets, accounts) share a
///   circuit.
/// * Names are never resolved here: ureq's resolver is replaced by one that
///   returns nothing, and arti sends the host name to the exit or looks up
///   the onion service's descriptor.
/// * Bootstrapping happens on the first connection and counts against its
///   connect budget (the fetch timeout): without a reachable Tor network the
///   fetch fails with a transport error saying so, it does not hang.
/// * Every read and write is bounded by what is left of the fetch timeout
///   (arti's streams have no timeouts of their own), so a slow or silent
///   service cannot stall the crawl.
/// * A new Tor stream per request (no connection pool): an idle pooled
///   stream the far end closed would not show as closed.
///
/// (The Tor Project's `arti-ureq` 0.47 does the same glue but requires
/// ureq ~3.3, which would move the whole workspace back from ureq 3.5, and
/// it ignores ureq's timeouts and any port in the URL.)
#[cfg(feature = "arti")]
mod embedded {
    use std::fmt;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use arti_client::config::TorClientConfigBuilder;
    use arti_client::{DataStream, TorClient, TorClientConfig};
    use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use futures::StreamExt as _;
    use tor_rtcompat::{PreferredRuntime, SleepProviderExt as _, TimeoutError, ToplevelBlockOn as _};
    use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
    use ureq::unversioned::transport::{
        Buffers as _, ConnectionDetails, Connector, LazyBuffers, NextTimeout, RustlsConnector, Transport,
    };

    use super::{FetchConfig, FetchError};

    type Client = TorClient<PreferredRuntime>;

    /// The process's Tor clients, by state directory (`None`: arti's default).
    static CLIENTS: Mutex<Vec<(Option<PathBuf>, Arc<Client>)>> = Mutex::new(Vec::new());

    /// A handle on the process's Tor client for `dir` with its own isolation
    /// token; the client is created (not bootstrapped) the first time.
    fn isolated_client(dir: Option<&Path>) -> Result<Arc<Client>, String> {
        let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, c)) = clients.iter().find(|(d, _)| d.as_deref() == dir) {
            return Ok(c.isolated_client());
        }
        // arti's TLS to relays is rustls, which needs a process-wide crypto
        // provider; an error only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = match dir {
            None => TorClientConfig::default(),
            Some(d) => TorClientConfigBuilder::from_directories(d.join("state"), d.join("cache"))
                .build()
                .map_err(|e| format!("configuration for {}: {e}", d.display()))?,
        };
        let runtime = PreferredRuntime::create().map_err(|e| format!("starting its runtime: {e}"))?;
        let client = TorClient::with_runtime(runtime)
            .config(config)
            .create_unbootstrapped()
            .map_err(|e| format!("creating the client: {e}"))?;
        clients.push((dir.map(Path::to_path_buf), client.clone()));
        Ok(client.isolated_client())
    }

    /// The agent: the same settings as the SOCKS one, over Tor streams.
    pub(super) fn agent(cfg: &FetchConfig) -> Result<ureq::Agent, FetchError> {
        let client = isolated_client(cfg.arti_dir.as_deref()).map_err(|e| FetchError::Config(format!("embedded Tor: {e}")))?;
        let config = ureq::Agent::config_builder()
            .proxy(None)
            .timeout_connect(Some(cfg.timeout))
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(cfg.user_agent.as_str())
            .tls_config(ureq::tls::TlsConfig::builder().disable_verification(cfg.accept_invalid_tls).build())
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .build();
        let connector = TorConnector { client, cap: cfg.timeout }.chain(RustlsConnector::default());
        Ok(ureq::Agent::with_parts(config, connector, NoLocalDns))
    }

    /// What is left of ureq's budget, at most `cap`; a timeout when none is.
    fn budget(t: NextTimeout, cap: Duration) -> Result<Duration, ureq::Error> {
        let left = if t.after.is_not_happening() { cap } else { (*t.after).min(cap) };
        if left.is_zero() {
            Err(ureq::Error::Timeout(t.reason))
        } else {
            Ok(left)
        }
    }

    /// Runs `fut` on the Tor runtime for at most `limit`. (The timer is
    /// made inside the runtime: tokio's needs its context.)
    fn run_for<F: std::future::Future>(rt: &PreferredRuntime, limit: Duration, fut: F) -> Result<F::Output, TimeoutError> {
        rt.block_on(async { rt.timeout(limit, fut).await })
    }

    fn io_error(kind: std::io::ErrorKind, msg: String) -> ureq::Error {
        ureq::Error::Io(std::io::Error::new(kind, msg))
    }

    /// Resolves nothing: Tor resolves names (ureq would ask the local resolver).
    #[derive(Debug)]
    struct NoLocalDns;

    impl Resolver for NoLocalDns {
        fn resolve(
            &self,
            _uri: &ureq::http::Uri,
            _config: &ureq::config::Config,
            _timeout: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            Ok(self.empty())
        }
    }

    /// Opens a Tor stream to the URL's host and port (bootstrapping first).
    struct TorConnector {
        client: Arc<Client>,
        cap: Duration,
    }

    impl fmt::Debug for TorConnector {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("TorConnector")
        }
    }

    impl Connector<()> for TorConnector {
        type Out = TorStream;

        fn connect(&self, details: &ConnectionDetails, _chained: Option<()>) -> Result<Option<TorStream>, ureq::Error> {
            let uri = details.uri;
            let host = uri.host().ok_or_else(|| ureq::Error::BadUri(format!("{uri}: no host")))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = uri.port_u16().unwrap_or(if details.needs_tls() { 443 } else { 80 });
            let limit = budget(details.timeout, self.cap)?;
            let client = &self.client;
            let rt = client.runtime().clone();
            let outcome = run_for(&rt, limit, async {
                client.bootstrap().await.map_err(|e| format!("could not bootstrap: {e}"))?;
                // After an attempt cut short by a timeout, `bootstrap` returns
                // at once while that attempt goes on in the background: wait
                // for it to be ready.
                let mut events = client.bootstrap_events();
                while !client.bootstrap_status().ready_for_traffic() {
                    if events.next().await.is_none() {
                        break;
                    }
                }
                client.connect((host, port)).await.map_err(|e| format!("connecting to {host}:{port}: {e}"))
            });
            match outcome {
                Ok(Ok(stream)) => Ok(Some(TorStream {
                    stream: Mutex::new(stream),
                    buffers: LazyBuffers::new(16 * 1024, 4 * 1024),
                    rt,
                    cap: self.cap,
                    open: true,
                })),
                Ok(Err(why)) => Err(io_error(std::io::ErrorKind::Other, format!("embedded Tor: {why}"))),
                Err(_) => {
                    let status = client.bootstrap_status();
                    let secs = limit.as_secs_f64();
                    let why = if status.ready_for_traffic() {
                        format!("no stream to {host}:{port} within {secs:.1} s")
                    } else {
                        format!("not bootstrapped within {secs:.1} s ({status}); is the Tor network reachable from here?")
                    };
                    Err(io_error(std::io::ErrorKind::TimedOut, format!("embedded Tor: {why}")))
                }
            }
        }
    }

    /// One Tor stream; every wait bounded by the fetch's remaining time.
    struct TorStream {
        /// In a mutex only to be `Sync`; used through `get_mut`.
        stream: Mutex<DataStream>,
        buffers: LazyBuffers,
        rt: PreferredRuntime,
        cap: Duration,
        open: bool,
    }

    impl fmt::Debug for TorStream {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("TorStream").field("open", &self.open).finish_non_exhaustive()
        }
    }

    impl Transport for TorStream {
        fn buffers(&mut self) -> &mut dyn ureq::unversioned::transport::Buffers {
            &mut self.buffers
        }

        fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
            let timeout = timeout.for_write();
            let limit = budget(timeout, self.cap)?;
            let data = &self.buffers.output()[..amount];
            let stream = self.stream.get_mut().unwrap_or_else(PoisonError::into_inner);
            let done = run_for(&self.rt, limit, async {
                stream.write_all(data).await?;
                stream.flush().await
            });
            match done {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => {
                    self.open = false;
                    Err(ureq::Error::Io(e))
                }
                Err(_) => {
                    self.open = false;
                    Err(ureq::Error::Timeout(timeout.reason))
                }
            }
        }

        fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
            let timeout = timeout.for_read();
            let limit = budget(timeout, self.cap)?;
            let buf = self.buffers.input_append_buf();
            let stream = self.stream.get_mut().unwrap_or_else(PoisonError::into_inner);
            match run_for(&self.rt, limit, stream.read(buf)) {
                Ok(Ok(n)) => {
                    self.buffers.input_appended(n);
                    self.open &= n > 0;
                    Ok(n > 0)
                }
                Ok(Err(e)) => {
                    self.open = false;
                    Err(ureq::Error::Io(e))
                }
                Err(_) => {
                    self.open = false;
                    Err(ureq::Error::Timeout(timeout.reason))
                }
            }
        }

        fn is_open(&mut self) -> bool {
            self.open
        }
    }
}

/// The `Cookie` header for `host` from a Netscape `cookies.txt` export
/// (`domain`, include-subdomains flag, path, secure, expiry, name, value;
/// tab-separated; `#HttpOnly_` prefixes kept). `None` when no cookie
/// matches. Malformed lines are reported by line number.
pub fn parse_cookies_txt(text: &str, host: &str) -> (Option<String>, Vec<String>) {
    let host = host.to_ascii_lowercase();
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let line = line.strip_prefix("#HttpOnly_").unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 7 {
            problems.push(format!("cookies line {}: {} fields, expected 7 (tab-separated)", n + 1, f.len()));
            continue;
        }
        let domain = f[0].trim_start_matches('.').to_ascii_lowercase();
        let sub = f[1].eq_ignore_ascii_case("TRUE");
        if host == domain || (sub && host.ends_with(&format!(".{domain}"))) {
            pairs.push(format!("{}={}", f[5], f[6]));
        }
    }
    ((!pairs.is_empty()).then(|| pairs.join("; ")), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_for_the_host_only() {
        let txt = "# Netscape HTTP Cookie File\nabc.onion\tFALSE\t/\tFALSE\t0\tsession\ts3cr3t\n#HttpOnly_.abc.onion\tTRUE\t/\tFALSE\t0\tlang\ten\nother.onion\tFALSE\t/\tFALSE\t0\tx\ty\nbroken line\n";
        let (c, problems) = parse_cookies_txt(txt, "abc.onion");
        assert_eq!(c.as_deref(), Some("session=s3cr3t; lang=en"));
        assert_eq!(problems, ["cookies line 5: 1 fields, expected 7 (tab-separated)"]);
        assert_eq!(parse_cookies_txt(txt, "www.abc.onion").0.as_deref(), Some("lang=en"));
        assert_eq!(parse_cookies_txt(txt, "nothing.onion").0, None);
    }
}
