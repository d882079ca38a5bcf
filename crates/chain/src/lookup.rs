//! Targeted lookups without a full node: one transaction or address and its neighbourhood,
//! fetched from an Esplora REST endpoint or a Bitcoin Core JSON-RPC endpoint.
//!
//! Why this is safe to use as evidence: transactions are self-authenticating. Every body an
//! endpoint returns is decoded and its txid recomputed; a transaction is accepted only if its
//! txid equals the one asked for. An endpoint that answers with another transaction, a
//! corrupted one or garbage gets an error naming the endpoint and the path, and the walk goes
//! on with the rest (partial progress is kept, a wrong graph is never produced silently).
//! What the txid does not cover: the witness (it can differ without changing the txid; no
//! fact in the graph rests on it), and the endpoint's claims about *which* transactions
//! touch an address or spend an output: those only choose what to fetch, and every edge in
//! the graph comes from the inputs of a verified transaction.
//!
//! Core RPC has no "spent by" lookup without extra indexes, so on RPC only parents are
//! followed (the graph says so in `note`); `getrawtransaction` finds confirmed transactions
//! only on a node with `-txindex=1` (otherwise each is an `RPC error -5`, recorded).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::{Network, Transaction, Txid};
use serde::Serialize;

use crate::index::{classify, display_address};

/// Largest response body read (a maximal transaction is 4 MB, so 8 MB of hex).
const BODY_LIMIT: u64 = 16 * 1024 * 1024;
/// Esplora's confirmed-transactions page size for `/address/:a/txs[/chain/:last]`.
const ESPLORA_PAGE: usize = 25;

/// What can go wrong talking to an endpoint. Every variant names the endpoint and the path
/// (for RPC: the method and its argument).
#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupError {
    /// No complete answer within the timeout.
    #[error("{endpoint} {path}: timed out after {secs} s")]
    Timeout {
        /// Endpoint (without credentials).
        endpoint: String,
        /// Path or RPC call.
        path: String,
        /// The timeout.
        secs: u64,
    },
    /// A non-success HTTP status.
    #[error("{endpoint} {path}: HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// Endpoint.
        endpoint: String,
        /// Path.
        path: String,
        /// Status code.
        status: u16,
        /// Start of the body (printable, at most 200 characters).
        body: String,
    },
    /// The RPC endpoint refused the credentials.
    #[error("{endpoint}: RPC credentials refused (HTTP {status}); check --rpc-user/--rpc-password or --rpc-cookie")]
    Auth {
        /// Endpoint.
        endpoint: String,
        /// 401 or 403.
        status: u16,
    },
    /// Connection, DNS, proxy or protocol failure.
    #[error("{endpoint} {path}: {message}")]
    Transport {
        /// Endpoint.
        endpoint: String,
        /// Path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The answer does not parse (not hex, not a transaction, not the JSON expected).
    #[error("{endpoint} {path}: bad answer: {message}")]
    Garbage {
        /// Endpoint.
        endpoint: String,
        /// Path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The endpoint returned a valid transaction, but not the one asked for.
    #[error("{endpoint} {path}: returned transaction {found}, not {expected} (endpoint is wrong or lying; not accepted)")]
    TxidMismatch {
        /// Endpoint.
        endpoint: String,
        /// Path.
        path: String,
        /// Txid asked for.
        expected: String,
        /// Txid of the bytes returned.
        found: String,
    },
    /// The RPC server answered with an error object.
    #[error("{endpoint} {path}: RPC error {code}: {message}")]
    Rpc {
        /// Endpoint.
        endpoint: String,
        /// Method and argument.
        path: String,
        /// RPC error code.
        code: i64,
        /// RPC error message.
        message: String,
    },
    /// A listed transaction does not touch the address it was listed for.
    #[error("{endpoint} {path}: transaction {txid} is listed for {address} but neither pays it nor spends from it")]
    NotForAddress {
        /// Endpoint.
        endpoint: String,
        /// Path of the listing.
        path: String,
        /// The transaction.
        txid: String,
        /// The address.
        address: String,
    },
    /// A bad option (URL, proxy, address, cookie file).
    #[error("{0}")]
    Config(String),
}

impl LookupError {
    /// Short machine name of the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            LookupError::Timeout { .. } => "timeout",
            LookupError::Status { .. } => "http-status",
            LookupError::Auth { .. } => "auth",
            LookupError::Transport { .. } => "transport",
            LookupError::Garbage { .. } => "garbage",
            LookupError::TxidMismatch { .. } => "txid-mismatch",
            LookupError::Rpc { .. } => "rpc",
            LookupError::NotForAddress { .. } => "not-for-address",
            LookupError::Config(_) => "config",
        }
    }
    fn endpoint_path(&self) -> (String, String) {
        match self {
            LookupError::Timeout { endpoint, path, .. }
            | LookupError::Status { endpoint, path, .. }
            | LookupError::Transport { endpoint, path, .. }
            | LookupError::Garbage { endpoint, path, .. }
            | LookupError::TxidMismatch { endpoint, path, .. }
            | LookupError::Rpc { endpoint, path, .. }
            | LookupError::NotForAddress { endpoint, path, .. } => (endpoint.clone(), path.clone()),
            LookupError::Auth { endpoint, .. } => (endpoint.clone(), String::new()),
            LookupError::Config(_) => (String::new(), String::new()),
        }
    }
}

/// Credentials of a Core JSON-RPC endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcAuth {
    /// No credentials.
    None,
    /// `-rpcuser` / `-rpcpassword`.
    UserPass {
        /// User.
        user: String,
        /// Password.
        password: String,
    },
    /// Core's `.cookie` file (`__cookie__:<password>`), read when the client is built.
    Cookie(PathBuf),
}

/// Where lookups go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An Esplora REST base URL (as `https://blockstream.info/api`).
    Esplora(String),
    /// A Bitcoin Core JSON-RPC URL and its credentials.
    CoreRpc {
        /// The URL (`http://127.0.0.1:8332/`).
        url: String,
        /// Credentials.
        auth: RpcAuth,
    },
}

impl Endpoint {
    fn url(&self) -> &str {
        match self {
            Endpoint::Esplora(u) => u,
            Endpoint::CoreRpc { url, .. } => url,
        }
    }
    /// `esplora` or `core-rpc`.
    pub fn kind(&self) -> &'static str {
        match self {
            Endpoint::Esplora(_) => "esplora",
            Endpoint::CoreRpc { .. } => "core-rpc",
        }
    }
    /// Host of the URL, lower-case, or an error for a URL that does not parse.
    pub fn host(&self) -> Result<String, LookupError> {
        let uri: ureq::http::Uri = self.url().parse().map_err(|e| LookupError::Config(format!("endpoint URL {:?}: {e}", self.display())))?;
        match (uri.scheme_str(), uri.host()) {
            (Some("http" | "https"), Some(h)) => Ok(h.to_ascii_lowercase()),
            _ => Err(LookupError::Config(format!("endpoint URL {:?}: need http:// or https:// and a host", self.display()))),
        }
    }
    /// True if the host is a Tor onion service.
    pub fn is_onion(&self) -> bool {
        self.host().is_ok_and(|h| h.trim_end_matches('.').ends_with(".onion"))
    }
    /// The URL without any `user:password@`, for output and errors.
    pub fn display(&self) -> String {
        strip_userinfo(self.url())
    }
}

fn strip_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..auth_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest.to_owned(),
    }
}

/// Client options.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Proxy URL (`socks5h://127.0.0.1:9050` for Tor); `None` connects directly (the
    /// environment's proxy variables are ignored, so what happens is what was asked).
    pub proxy: Option<String>,
    /// Connect timeout and whole-request timeout.
    pub timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig { proxy: None, timeout: Duration::from_secs(30) }
    }
}

/// A blocking client for one endpoint.
pub struct Client {
    endpoint: Endpoint,
    display: String,
    agent: ureq::Agent,
    auth_header: Option<String>,
    timeout: Duration,
}

impl Client {
    /// Builds the client: checks the URL, reads the cookie file, sets timeouts and proxy.
    pub fn new(endpoint: Endpoint, cfg: &ClientConfig) -> Result<Client, LookupError> {
        endpoint.host()?;
        let proxy = match &cfg.proxy {
            None => None,
            Some(p) => Some(ureq::Proxy::new(p).map_err(|e| LookupError::Config(format!("--proxy {:?}: {e}", strip_userinfo(p))))?),
        };
        if endpoint.is_onion() && !cfg.proxy.as_deref().is_some_and(resolves_remotely) {
            // socks5:// and socks4:// resolve the name locally: an onion name cannot be
            // resolved that way, and asking the local resolver leaks it.
            return Err(LookupError::Config(format!(
                "{} is an onion service: it needs --proxy socks5h://HOST:PORT (Tor), which resolves the name inside Tor",
                endpoint.display()
            )));
        }
        let auth_header = match &endpoint {
            Endpoint::Esplora(_) => None,
            Endpoint::CoreRpc { auth, .. } => match auth {
                RpcAuth::None => None,
                RpcAuth::UserPass { user, password } => Some(format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))),
                RpcAuth::Cookie(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| LookupError::Config(format!("--rpc-cookie {}: {e}", path.display())))?;
                    let text = text.trim();
                    if !text.contains(':') {
                        return Err(LookupError::Config(format!("--rpc-cookie {}: not a cookie file (expected user:password)", path.display())));
                    }
                    Some(format!("Basic {}", base64(text.as_bytes())))
                }
            },
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .proxy(proxy)
            .timeout_connect(Some(cfg.timeout))
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            // A redirect would make "the endpoint" a different host than the one named.
            .max_redirects(0)
            .user_agent("dragnet")
            .build()
            .into();
        let display = endpoint.display();
        Ok(Client { endpoint, display, agent, auth_header, timeout: cfg.timeout })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn map_err(&self, path: &str, e: ureq::Error) -> LookupError {
        match e {
            ureq::Error::Timeout(_) => LookupError::Timeout { endpoint: self.display.clone(), path: path.to_owned(), secs: self.timeout.as_secs() },
            ureq::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
                LookupError::Timeout { endpoint: self.display.clone(), path: path.to_owned(), secs: self.timeout.as_secs() }
            }
            other => LookupError::Transport { endpoint: self.display.clone(), path: path.to_owned(), message: other.to_string() },
        }
    }

    fn garbage(&self, path: &str, message: impl Into<String>) -> LookupError {
        LookupError::Garbage { endpoint: self.display.clone(), path: path.to_owned(), message: message.into() }
    }

    /// GET base + path on Esplora: the body as text, or an error with the status.
    fn get(&self, path: &str) -> Result<String, LookupError> {
        let url = format!("{}{path}", self.endpoint.url().trim_end_matches('/'));
        let mut resp = self.agent.get(&url).call().map_err(|e| self.map_err(path, e))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().with_config().limit(BODY_LIMIT).read_to_vec().map_err(|e| self.map_err(path, e))?;
        if !(200..300).contains(&status) {
            return Err(LookupError::Status { endpoint: self.display.clone(), path: path.to_owned(), status, body: snippet(&body) });
        }
        String::from_utf8(body).map_err(|_| self.garbage(path, "body is not UTF-8"))
    }

    /// One JSON-RPC call; the `result` value.
    fn rpc(&self, method: &str, params: serde_json::Value, path: &str) -> Result<serde_json::Value, LookupError> {
        let body = serde_json::json!({"jsonrpc": "1.0", "id": "dragnet", "method": method, "params": params}).to_string();
        let mut req = self.agent.post(self.endpoint.url()).header("Content-Type", "application/json");
        if let Some(h) = &self.auth_header {
            req = req.header("Authorization", h);
        }
        let mut resp = req.send(body.as_bytes()).map_err(|e| self.map_err(path, e))?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(LookupError::Auth { endpoint: self.display.clone(), status });
        }
        let bytes = resp.body_mut().with_config().limit(BODY_LIMIT).read_to_vec().map_err(|e| self.map_err(path, e))?;
        // Core answers RPC errors with HTTP 404/500 and a JSON error object: prefer the object.
        match parse_rpc_response(&bytes) {
            Ok(RpcAnswer::Error { code, message }) => Err(LookupError::Rpc { endpoint: self.display.clone(), path: path.to_owned(), code, message }),
            _ if !(200..300).contains(&status) => Err(LookupError::Status { endpoint: self.display.clone(), path: path.to_owned(), status, body: snippet(&bytes) }),
            Ok(RpcAnswer::Result(v)) => Ok(v),
            Err(m) => Err(self.garbage(path, m)),
        }
    }

    /// Fetches one transaction and checks that its txid is `txid`.
    pub fn fetch_tx(&self, txid: &Txid) -> Result<FetchedTx, LookupError> {
        let (path, hex) = match &self.endpoint {
            Endpoint::Esplora(_) => {
                let path = format!("/tx/{txid}/hex");
                let body = self.get(&path)?;
                (path, body)
            }
            Endpoint::CoreRpc { .. } => {
                let path = format!("getrawtransaction {txid} false");
                let v = self.rpc("getrawtransaction", serde_json::json!([txid.to_string(), false]), &path)?;
                match v.as_str() {
                    Some(s) => (path, s.to_owned()),
                    None => return Err(self.garbage(&path, "result is not a hex string")),
                }
            }
        };
        let (tx, raw) = parse_tx_hex(&hex).map_err(|m| self.garbage(&path, m))?;
        let found = tx.compute_txid();
        if found != *txid {
            return Err(LookupError::TxidMismatch { endpoint: self.display.clone(), path, expected: txid.to_string(), found: found.to_string() });
        }
        Ok(FetchedTx { tx, raw, path })
    }

    /// Esplora: for each output of `txid`, the txid spending it (claims, not verified here).
    pub fn outspends(&self, txid: &Txid, n_out: usize) -> Result<Vec<Option<Txid>>, LookupError> {
        let path = format!("/tx/{txid}/outspends");
        let body = self.get(&path)?;
        let v = parse_outspends(&body).map_err(|m| self.garbage(&path, m))?;
        if v.len() != n_out {
            return Err(self.garbage(&path, format!("{} entries for {n_out} outputs", v.len())));
        }
        Ok(v)
    }

    /// Esplora: the txids of an address, paged 25 at a time, at most `max` of them.
    /// Returns the txids (in the endpoint's order), the paths read, and whether `max` cut it.
    pub fn address_txids(&self, address: &str, max: usize) -> Result<(Vec<Txid>, Vec<String>, bool), LookupError> {
        let mut out: Vec<Txid> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut paths = Vec::new();
        let mut path = format!("/address/{address}/txs");
        loop {
            let body = self.get(&path)?;
            let page = parse_address_txs(&body).map_err(|m| self.garbage(&path, m))?;
            paths.push(path.clone());
            let confirmed: Vec<Txid> = page.iter().filter(|e| e.confirmed).map(|e| e.txid).collect();
            let mut new = 0;
            for e in &page {
                if seen.insert(e.txid) {
                    if out.len() >= max {
                        return Ok((out, paths, true));
                    }
                    out.push(e.txid);
                    new += 1;
                }
            }
            // A full page of confirmed txs means there may be more; a page with nothing new
            // would loop forever.
            match confirmed.last() {
                Some(last) if confirmed.len() >= ESPLORA_PAGE && new > 0 => path = format!("/address/{address}/txs/chain/{last}"),
                _ => return Ok((out, paths, false)),
            }
        }
    }
}

fn resolves_remotely(proxy: &str) -> bool {
    let p = proxy.to_ascii_lowercase();
    p.starts_with("socks5h://") || p.starts_with("socks4a://")
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().filter(|c| !c.is_control()).take(200).collect::<String>().trim().to_owned()
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], c.get(1).copied().unwrap_or(0), c.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                s.push(A[((n >> shift) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A transaction as fetched: decoded, its raw bytes, and the path it came from.
#[derive(Debug, Clone)]
pub struct FetchedTx {
    /// Decoded.
    pub tx: Transaction,
    /// Raw serialization as returned.
    pub raw: Vec<u8>,
    /// Path (or RPC call) it came from.
    pub path: String,
}

/// Parses a transaction given as hex (surrounding whitespace allowed): the transaction and
/// its raw bytes. The whole body must be one transaction (no trailing bytes).
pub fn parse_tx_hex(body: &str) -> Result<(Transaction, Vec<u8>), String> {
    let t = body.trim();
    if t.is_empty() {
        return Err("empty body".into());
    }
    let raw = hex::decode(t).map_err(|e| format!("not hex ({e}): {:?}", t.chars().take(40).collect::<String>()))?;
    let tx: Transaction = bitcoin::consensus::deserialize(&raw).map_err(|e| format!("not a transaction ({} bytes): {e}", raw.len()))?;
    Ok((tx, raw))
}

/// Consensus serialization of a transaction (with witness when it has one).
pub fn serialize_tx(tx: &Transaction) -> Vec<u8> {
    bitcoin::consensus::serialize(tx)
}

/// Parses Esplora's `/tx/:txid/outspends`: per output, the spending txid when spent.
pub fn parse_outspends(body: &str) -> Result<Vec<Option<Txid>>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let arr = v.as_array().ok_or("not a JSON array")?;
    arr.iter()
        .enumerate()
        .map(|(i, e)| {
            let spent = e.get("spent").and_then(|s| s.as_bool()).ok_or(format!("entry {i}: no boolean \"spent\""))?;
            if !spent {
                return Ok(None);
            }
            let t = e.get("txid").and_then(|s| s.as_str()).ok_or(format!("entry {i}: spent but no \"txid\""))?;
            t.parse::<Txid>().map(Some).map_err(|e| format!("entry {i}: txid {t:?}: {e}"))
        })
        .collect()
}

/// One entry of an Esplora address-transactions page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressTxEntry {
    /// Txid.
    pub txid: Txid,
    /// `status.confirmed` (absent counts as confirmed).
    pub confirmed: bool,
}

/// Parses Esplora's `/address/:a/txs[/chain/:last]`: an array of transaction objects.
pub fn parse_address_txs(body: &str) -> Result<Vec<AddressTxEntry>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let arr = v.as_array().ok_or("not a JSON array")?;
    arr.iter()
        .enumerate()
        .map(|(i, e)| {
            let t = e.get("txid").and_then(|s| s.as_str()).ok_or(format!("entry {i}: no \"txid\""))?;
            let txid = t.parse::<Txid>().map_err(|e| format!("entry {i}: txid {t:?}: {e}"))?;
            let confirmed = e.get("status").and_then(|s| s.get("confirmed")).and_then(|c| c.as_bool()).unwrap_or(true);
            Ok(AddressTxEntry { txid, confirmed })
        })
        .collect()
}

/// A JSON-RPC answer.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcAnswer {
    /// `result` (with `error` null).
    Result(serde_json::Value),
    /// `error`.
    Error {
        /// Code.
        code: i64,
        /// Message.
        message: String,
    },
}

/// Parses a JSON-RPC 1.0 response body.
pub fn parse_rpc_response(body: &[u8]) -> Result<RpcAnswer, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    match obj.get("error") {
        Some(e) if !e.is_null() => {
            let code = e.get("code").and_then(|c| c.as_i64()).unwrap_or(0);
            let message = e.get("message").and_then(|m| m.as_str()).unwrap_or("").to_owned();
            Ok(RpcAnswer::Error { code, message })
        }
        _ => obj.get("result").cloned().map(RpcAnswer::Result).ok_or_else(|| "no \"result\" and no \"error\"".to_owned()),
    }
}

/// Where a lookup starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// One transaction.
    Tx(Txid),
    /// Every transaction of an address (Esplora only).
    Address(String),
}

/// Walk options.
#[derive(Debug, Clone)]
pub struct LookupConfig {
    /// Steps from the start along parents (and children, on Esplora).
    pub hops: u32,
    /// At most this many transaction fetches (successful or not).
    pub max_txs: usize,
    /// Network, for address display.
    pub network: Network,
}

/// An input of a fetched transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookupInput {
    /// Spent output, `txid:vout` (absent for a coinbase input).
    pub prevout: Option<String>,
    /// Its value, when the parent was fetched.
    pub value: Option<u64>,
    /// Its address, when the parent was fetched and the script has one.
    pub address: Option<String>,
}

/// An output of a fetched transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookupOutput {
    /// Value in satoshis.
    pub value: u64,
    /// Address (the index's classification and display form), if any.
    pub address: Option<String>,
    /// `txid:vin` of the fetched transaction that spends it, when one was fetched.
    pub spent_by: Option<String>,
}

/// One fetched and verified transaction.
#[derive(Debug, Clone, Serialize)]
pub struct LookupTx {
    /// Txid (verified against the bytes).
    pub txid: String,
    /// SHA-256 of the raw bytes as fetched (the stored evidence).
    pub sha256: String,
    /// Size of the raw bytes.
    pub bytes: usize,
    /// Endpoint it came from (without credentials).
    pub endpoint: String,
    /// Path or RPC call it came from.
    pub path: String,
    /// Steps back from the start (0: a start transaction), when reached that way.
    pub ancestor_hop: Option<u32>,
    /// Steps forward from the start, when reached that way.
    pub descendant_hop: Option<u32>,
    /// Inputs in order.
    pub inputs: Vec<LookupInput>,
    /// Outputs in order (vout = position).
    pub outputs: Vec<LookupOutput>,
    /// The raw bytes (stored in the case, not in the JSON).
    #[serde(skip)]
    pub raw: Vec<u8>,
}

/// An error met during a walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookupErrorRecord {
    /// Kind (`timeout`, `http-status`, `garbage`, `txid-mismatch`, ...).
    pub kind: String,
    /// Endpoint.
    pub endpoint: String,
    /// Path or RPC call.
    pub path: String,
    /// Full message.
    pub message: String,
}

impl From<&LookupError> for LookupErrorRecord {
    fn from(e: &LookupError) -> Self {
        let (endpoint, path) = e.endpoint_path();
        LookupErrorRecord { kind: e.kind().to_owned(), endpoint, path, message: e.to_string() }
    }
}

/// The neighbourhood: every verified transaction, sorted by txid, and every error met.
/// Holds no wall-clock value, so the same answers give the same JSON.
#[derive(Debug, Clone, Serialize)]
pub struct LookupGraph {
    /// Endpoint (without credentials).
    pub endpoint: String,
    /// `esplora` or `core-rpc`.
    pub endpoint_kind: String,
    /// The start (txid or address).
    pub start: String,
    /// Hops asked for.
    pub hops: u32,
    /// Whether children were followed (Esplora) or only parents (Core RPC).
    pub children_followed: bool,
    /// Why children were not followed, when not.
    pub note: Option<String>,
    /// Fetch cap.
    pub max_txs: usize,
    /// True if the cap stopped the walk (or the address listing).
    pub cap_hit: bool,
    /// Txids reached but not fetched because of the cap, sorted.
    pub unfetched: Vec<String>,
    /// Verified transactions, sorted by txid.
    pub txs: Vec<LookupTx>,
    /// Errors met, in the order met (the walk order is sorted, so this is reproducible).
    pub errors: Vec<LookupErrorRecord>,
}

/// Walks the neighbourhood of `start`: the start transactions (hop 0), their parents up to
/// `hops` steps back and, on Esplora, their children up to `hops` steps forward. An error
/// on one transaction is recorded and the walk goes on. Fails only on a start that cannot be
/// used at all (an address on Core RPC, an unparseable address); an address listing that
/// fails is recorded and gives an empty graph.
pub fn walk(client: &Client, start: &Start, cfg: &LookupConfig) -> Result<LookupGraph, LookupError> {
    let esplora = matches!(client.endpoint, Endpoint::Esplora(_));
    let mut g = LookupGraph {
        endpoint: client.display.clone(),
        endpoint_kind: client.endpoint.kind().to_owned(),
        start: String::new(),
        hops: cfg.hops,
        children_followed: esplora,
        note: (!esplora).then(|| "Core JSON-RPC has no spent-by lookup without extra indexes: parents only".to_owned()),
        max_txs: cfg.max_txs,
        cap_hit: false,
        unfetched: Vec::new(),
        txs: Vec::new(),
        errors: Vec::new(),
    };
    let mut anc: BTreeMap<Txid, u32> = BTreeMap::new();
    let mut desc: BTreeMap<Txid, u32> = BTreeMap::new();
    let mut address: Option<(String, String)> = None; // (address, listing path)
    match start {
        Start::Tx(t) => {
            g.start = t.to_string();
            anc.insert(*t, 0);
            desc.insert(*t, 0);
        }
        Start::Address(a) => {
            g.start = a.clone();
            if !esplora {
                return Err(LookupError::Config("an address start needs --esplora: Core RPC has no address index".into()));
            }
            // Parsing also keeps anything but an address out of the URL path.
            let parsed: bitcoin::Address<bitcoin::address::NetworkUnchecked> =
                a.parse().map_err(|e| LookupError::Config(format!("address {a:?}: {e}")))?;
            let checked = parsed.require_network(cfg.network).map_err(|e| LookupError::Config(format!("address {a:?}: {e}")))?;
            let a = checked.to_string();
            match client.address_txids(&a, cfg.max_txs) {
                Ok((txids, paths, cut)) => {
                    g.cap_hit |= cut;
                    for t in txids {
                        anc.insert(t, 0);
                        desc.insert(t, 0);
                    }
                    address = Some((a, paths.first().cloned().unwrap_or_default()));
                }
                Err(e) => g.errors.push((&e).into()),
            }
        }
    }

    let mut fetched: BTreeMap<Txid, FetchedTx> = BTreeMap::new();
    let mut failed: BTreeSet<Txid> = BTreeSet::new();
    let mut attempts = 0usize;
    for level in 0..=cfg.hops {
        let at_level: BTreeSet<Txid> =
            anc.iter().chain(desc.iter()).filter(|(_, h)| **h == level).map(|(t, _)| *t).collect();
        for t in &at_level {
            if fetched.contains_key(t) || failed.contains(t) {
                continue;
            }
            if attempts >= cfg.max_txs {
                g.cap_hit = true;
                continue;
            }
            attempts += 1;
            match client.fetch_tx(t) {
                Ok(f) => {
                    fetched.insert(*t, f);
                }
                Err(e) => {
                    g.errors.push((&e).into());
                    failed.insert(*t);
                }
            }
        }
        if level == cfg.hops {
            break;
        }
        for t in &at_level {
            let Some(f) = fetched.get(t) else { continue };
            if anc.get(t) == Some(&level) && !f.tx.is_coinbase() {
                for i in &f.tx.input {
                    anc.entry(i.previous_output.txid).or_insert(level + 1);
                }
            }
            if esplora && desc.get(t) == Some(&level) {
                match client.outspends(t, f.tx.output.len()) {
                    Ok(v) => {
                        for c in v.into_iter().flatten() {
                            desc.entry(c).or_insert(level + 1);
                        }
                    }
                    Err(e) => g.errors.push((&e).into()),
                }
            }
        }
    }

    // Spent-by comes only from the inputs of verified transactions.
    let mut spent_by: BTreeMap<(Txid, u32), String> = BTreeMap::new();
    for (t, f) in &fetched {
        if !f.tx.is_coinbase() {
            for (vin, i) in f.tx.input.iter().enumerate() {
                spent_by.insert((i.previous_output.txid, i.previous_output.vout), format!("{t}:{vin}"));
            }
        }
    }
    let out_info = |o: &bitcoin::TxOut| (o.value.to_sat(), classify(&o.script_pubkey).map(|(k, d)| display_address(k, d, cfg.network)));
    for (t, f) in &fetched {
        let inputs = if f.tx.is_coinbase() {
            vec![LookupInput { prevout: None, value: None, address: None }]
        } else {
            f.tx.input
                .iter()
                .map(|i| {
                    let p = i.previous_output;
                    let parent = fetched.get(&p.txid).and_then(|pf| pf.tx.output.get(p.vout as usize)).map(out_info);
                    LookupInput { prevout: Some(p.to_string()), value: parent.as_ref().map(|x| x.0), address: parent.and_then(|x| x.1) }
                })
                .collect()
        };
        let outputs = f
            .tx
            .output
            .iter()
            .enumerate()
            .map(|(vout, o)| {
                let (value, address) = out_info(o);
                LookupOutput { value, address, spent_by: spent_by.get(&(*t, vout as u32)).cloned() }
            })
            .collect();
        g.txs.push(LookupTx {
            txid: t.to_string(),
            sha256: sha256::Hash::hash(&f.raw).to_string(),
            bytes: f.raw.len(),
            endpoint: g.endpoint.clone(),
            path: f.path.clone(),
            ancestor_hop: anc.get(t).copied(),
            descendant_hop: if esplora { desc.get(t).copied() } else { None },
            inputs,
            outputs,
            raw: f.raw.clone(),
        });
    }

    // Display order (Txid's own order is by internal bytes, which reads as unsorted).
    g.txs.sort_by(|a, b| a.txid.cmp(&b.txid));

    // The listing's claim is checked: a start tx must pay the address or spend from it
    // (spending is only checkable when every parent was fetched).
    if let Some((addr, path)) = &address {
        for tx in g.txs.iter().filter(|t| t.ancestor_hop == Some(0)) {
            let pays = tx.outputs.iter().any(|o| o.address.as_deref() == Some(addr));
            let spends = tx.inputs.iter().any(|i| i.address.as_deref() == Some(addr));
            let all_parents = tx.inputs.iter().all(|i| i.prevout.is_none() || i.value.is_some());
            if !pays && !spends && all_parents {
                let e = LookupError::NotForAddress { endpoint: g.endpoint.clone(), path: path.clone(), txid: tx.txid.clone(), address: addr.clone() };
                g.errors.push((&e).into());
            }
        }
    }

    g.unfetched = anc
        .keys()
        .chain(desc.keys())
        .filter(|t| !fetched.contains_key(*t) && !failed.contains(*t))
        .map(|t| t.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(g)
}

/// One transaction written to the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredTx {
    /// Txid.
    pub txid: String,
    /// SHA-256 of the raw bytes.
    pub sha256: String,
    /// File, relative to the case directory.
    pub file: String,
    /// False if the same bytes were already stored.
    pub new: bool,
}

/// Directory of fetched transactions in a case.
pub fn lookups_dir(case: &Path) -> PathBuf {
    crate::store::chain_dir(case).join("lookups")
}

/// Writes every fetched transaction's raw bytes, as hex, to `CASE/chain/lookups/<txid>.hex`.
/// Files are never overwritten: the same txid with other bytes (a different witness) goes to
/// `<txid>.<sha256>.hex`. The caller logs the returned list in the custody log.
pub fn store_in_case(case: &Path, g: &LookupGraph) -> Result<Vec<StoredTx>, crate::ChainError> {
    let dir = lookups_dir(case);
    std::fs::create_dir_all(&dir).map_err(|e| crate::ChainError::io(&dir, e))?;
    let mut out = Vec::new();
    for t in &g.txs {
        let hex = hex::encode(&t.raw);
        let mut name = format!("{}.hex", t.txid);
        let mut new = true;
        let p = dir.join(&name);
        if p.exists() {
            let old = std::fs::read_to_string(&p).map_err(|e| crate::ChainError::io(&p, e))?;
            if old.trim() == hex {
                new = false;
            } else {
                name = format!("{}.{}.hex", t.txid, t.sha256);
            }
        }
        let p = dir.join(&name);
        if new && !p.exists() {
            std::fs::write(&p, format!("{hex}\n")).map_err(|e| crate::ChainError::io(&p, e))?;
        } else if new {
            new = false;
        }
        out.push(StoredTx { txid: t.txid.clone(), sha256: t.sha256.clone(), file: format!("chain/lookups/{name}"), new });
    }
    Ok(out)
}

/// Re-checks every stored lookup file: hex decodes, is one transaction, its txid is the file
/// name. Returns a problem per bad file (path and what is wrong).
pub fn verify_stored(case: &Path) -> Result<Vec<String>, crate::ChainError> {
    let dir = lookups_dir(case);
    let mut problems = Vec::new();
    if !dir.is_dir() {
        return Ok(problems);
    }
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).map_err(|e| crate::ChainError::io(&dir, e))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for p in files {
        let Some(name) = p.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
        let Some(txid) = name.split('.').next() else { continue };
        let text = std::fs::read_to_string(&p).map_err(|e| crate::ChainError::io(&p, e))?;
        match parse_tx_hex(&text) {
            Ok((tx, _)) if tx.compute_txid().to_string() == txid => {}
            Ok((tx, _)) => problems.push(format!("{}: holds transaction {}", p.display(), tx.compute_txid())),
            Err(m) => problems.push(format!("{}: {m}", p.display())),
        }
    }
    Ok(problems)
}

/// Checks one stored lookup file against what its custody entry recorded: `file` (relative
/// to the case, under `chain/lookups/`) must hold the transaction `txid` with raw SHA-256
/// `sha256` (the txid alone does not cover the witness; the digest does).
pub fn check_stored(case: &Path, file: &str, txid: &str, sha256: &str) -> Result<(), String> {
    if !file.starts_with("chain/lookups/") || file.contains("..") || file.contains('\\') {
        return Err(format!("{file}: not a lookup file path"));
    }
    let p = case.join(file);
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let (tx, raw) = parse_tx_hex(&text).map_err(|m| format!("{}: {m}", p.display()))?;
    let found = tx.compute_txid().to_string();
    if found != txid {
        return Err(format!("{}: holds transaction {found}, custody log says {txid}", p.display()));
    }
    let digest = sha256::Hash::hash(&raw).to_string();
    if digest != sha256 {
        return Err(format!("{}: SHA-256 {digest}, custody log says {sha256} (same txid, other bytes)", p.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn userinfo_is_stripped_and_onion_hosts_are_seen() {
        assert_eq!(strip_userinfo("http://u:p@127.0.0.1:8332/"), "http://127.0.0.1:8332/");
        assert_eq!(strip_userinfo("https://host/a@b"), "https://host/a@b");
        assert!(Endpoint::Esplora("http://abc.onion/api".into()).is_onion());
        assert!(Endpoint::Esplora("http://ABC.ONION.:80/api".into()).is_onion());
        assert!(!Endpoint::Esplora("https://blockstream.info/api".into()).is_onion());
        assert!(Endpoint::Esplora("ftp://x/".into()).host().is_err());
    }

    #[test]
    fn onion_needs_a_remote_resolving_proxy() {
        let e = Endpoint::Esplora("http://abc.onion/api".into());
        let cfg = |p: Option<&str>| ClientConfig { proxy: p.map(str::to_owned), timeout: Duration::from_secs(1) };
        assert!(matches!(Client::new(e.clone(), &cfg(None)), Err(LookupError::Config(m)) if m.contains("socks5h")));
        assert!(Client::new(e.clone(), &cfg(Some("socks5://127.0.0.1:9050"))).is_err());
        assert!(Client::new(e, &cfg(Some("socks5h://127.0.0.1:9050"))).is_ok());
    }

    #[test]
    fn response_parsers_reject_garbage() {
        assert!(parse_tx_hex("zz").is_err());
        assert!(parse_tx_hex("").is_err());
        assert!(parse_tx_hex("0100000000").is_err());
        assert!(parse_outspends("{}").is_err());
        assert!(parse_outspends(r#"[{"spent":true}]"#).is_err());
        assert_eq!(parse_outspends(r#"[{"spent":false}]"#), Ok(vec![None]));
        assert!(parse_address_txs(r#"[{"txid":"xyz"}]"#).is_err());
        assert_eq!(parse_rpc_response(br#"{"result":null,"error":{"code":-5,"message":"No such"}}"#), Ok(RpcAnswer::Error { code: -5, message: "No such".into() }));
        assert!(parse_rpc_response(b"<html>").is_err());
    }
}
