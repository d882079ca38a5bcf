//! Monitoring a market: `watch` crawls it again in numbered rounds and
//! reports what changed between the last two complete rounds (listings new
//! and removed, price changes, vendors appearing and disappearing) and every
//! page of the round that shows a watched vendor, PGP key or address.
//!
//! A round is an ordinary crawl whose frontier key is `MARKET@ROUND`, so its
//! captures carry the evidence source `crawl/MARKET@ROUND/ROW` and a round
//! killed part way resumes like any crawl. What a round saw is read back
//! from the evidence (every record one of its sources names, including
//! pages whose bytes an earlier round already stored) and the records
//! extracted from it; alerts are therefore derived from stored evidence
//! only, each naming the pages it rests on, and the `watch` custody entry of
//! the round records their digest.
//!
//! State: `CASE/watch/MARKET.json` (rounds started and finished) and
//! `CASE/watch/MARKET-alerts.jsonl` (every alert, appended).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::Utc;
use crawl::{CrawlConfig, CrawlReport, Fetcher, Stop};
use model::{IdentifierKind, Sha256};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::{CaseStore as _, Filter};

use crate::{io, Case, CaseError, ExtractOptions, ExtractReport, Progress, Result, TOOL_VERSION};

/// What to look for on every round, on whichever market shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchList {
    /// Vendor names (compared without case).
    pub vendors: Vec<String>,
    /// PGP fingerprints or long key ids (hex; spaces ignored).
    pub keys: Vec<String>,
    /// Bitcoin or Monero addresses (exact).
    pub addresses: Vec<String>,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A listing not seen in the previous round.
    ListingNew,
    /// A listing of the previous round not seen in this one.
    ListingRemoved,
    /// The same listing at another price.
    PriceChanged,
    /// A vendor not seen in the previous round.
    VendorAppeared,
    /// A vendor of the previous round not seen in this one.
    VendorDisappeared,
    /// A watched vendor name on a page of this round.
    WatchedVendor,
    /// A watched PGP key on a page of this round.
    WatchedKey,
    /// A watched address on a page of this round.
    WatchedAddress,
    /// The market asked to log in again (or showed a captcha, an anti-DDoS
    /// filter, a ban or maintenance notice): the round is paused until it
    /// is run again (with new cookies).
    Paused,
}

/// One alert: a JSON line, and one webhook POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// What it is about.
    pub kind: AlertKind,
    /// The watched market (as named on the command line).
    pub market: String,
    /// The round that found it.
    pub round: u64,
    /// When the round ended.
    pub at: String,
    /// The listing title, vendor name, key or address.
    pub subject: String,
    /// Specifics: prices before and after, vendor, listing id, URL.
    pub detail: serde_json::Value,
    /// Digests of the pages it rests on (for a removal: the previous
    /// round's pages that showed it).
    pub evidence: Vec<String>,
}

/// A round, as the state file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundState {
    /// 1, 2, ...
    pub round: u64,
    /// Frontier key and evidence source prefix (`MARKET@ROUND`).
    pub key: String,
    /// RFC 3339.
    pub started: String,
    /// RFC 3339, when the crawl of the round completed.
    pub finished: Option<String>,
}

/// Every round of one watched market.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchState {
    /// Market.
    pub market: String,
    /// Rounds in order.
    pub rounds: Vec<RoundState>,
}

/// What one call of [`Case::watch_round`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RoundReport {
    /// The round.
    pub round: u64,
    /// The crawl of it (this run; a resumed round continues its frontier).
    pub crawl: CrawlReport,
    /// Extraction of the new pages.
    pub extract: Option<ExtractReport>,
    /// Whether the round is complete (false: paused or stopped early).
    pub finished: bool,
    /// Listings and vendors the round saw (when finished).
    pub listings: usize,
    /// Vendors the round saw.
    pub vendors: usize,
    /// The alerts (also appended to the alerts file).
    pub alerts: Vec<Alert>,
}

/// What one round saw.
#[derive(Debug, Default)]
struct Snapshot {
    /// Listing key -> (title, vendor, price, listing id, url, pages).
    listings: BTreeMap<String, SeenListing>,
    /// Vendor name (lower case) -> (name as shown, pages).
    vendors: BTreeMap<String, (String, BTreeSet<String>)>,
    /// (kind, value) -> pages.
    identifiers: BTreeMap<(IdentifierKind, String), BTreeSet<String>>,
}

#[derive(Debug, Default)]
struct SeenListing {
    market: String,
    title: String,
    vendor: Option<String>,
    price: Option<String>,
    id: Option<String>,
    url: Option<String>,
    pages: BTreeSet<String>,
}

/// The evidence source prefix of a round.
fn source_prefix(key: &str) -> String {
    format!("crawl/{key}/")
}

/// What makes two sightings the same listing: the market's id, else its
/// link, else vendor and title.
fn listing_key(l: &model::Listing) -> String {
    match (&l.market_listing_id, &l.url) {
        (Some(id), _) => format!("{}\u{1f}id\u{1f}{id}", l.market),
        (None, Some(u)) => format!("{}\u{1f}url\u{1f}{u}", l.market),
        (None, None) => format!("{}\u{1f}vt\u{1f}{}\u{1f}{}", l.market, l.vendor.as_deref().unwrap_or(""), l.title),
    }
}

fn price_of(l: &model::Listing) -> Option<String> {
    l.price.as_ref().map(|m| format!("{} {}", m.amount, m.currency).trim().to_owned())
}

/// Hex digits of a key or fingerprint, upper case.
fn key_hex(s: &str) -> String {
    s.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_uppercase()
}

impl Case {
    fn watch_dir(&self) -> PathBuf {
        self.dir.join("watch")
    }

    fn watch_state_path(&self, market: &str) -> PathBuf {
        self.watch_dir().join(format!("{market}.json"))
    }

    /// The rounds of `market` so far.
    pub fn watch_state(&self, market: &str) -> Result<WatchState> {
        let path = self.watch_state_path(market);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| CaseError::Config { path: path.clone(), message: format!("unreadable watch state: {e}") }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(WatchState { market: market.to_owned(), rounds: Vec::new() })
            }
            Err(e) => Err(io(&path)(e)),
        }
    }

    fn save_watch_state(&self, state: &WatchState) -> Result<()> {
        let text = serde_json::to_vec_pretty(state).unwrap_or_default();
        crate::write_atomic(&self.watch_state_path(&state.market), &text)
    }

    /// Runs one round of watching `market`: continues an unfinished round
    /// (killed or paused) or starts the next; crawls it with `base` (its
    /// market field is replaced by the round's key), extracts, and when the
    /// round is complete compares it with the previous complete round.
    pub fn watch_round(
        &mut self,
        market: &str,
        base: &CrawlConfig,
        fetcher: &Fetcher,
        list: &WatchList,
        progress: &dyn Progress,
    ) -> Result<RoundReport> {
        if market.is_empty() || market.contains(['/', '@']) || market.contains(std::path::is_separator) {
            return Err(CaseError::Config {
                path: self.watch_dir(),
                message: format!("market name {market:?}: must be non-empty, without '/' or '@'"),
            });
        }
        let mut state = self.watch_state(market)?;
        let resuming = state.rounds.last().is_some_and(|r| r.finished.is_none());
        if !resuming {
            let round = state.rounds.last().map_or(1, |r| r.round + 1);
            state.rounds.push(RoundState {
                round,
                key: format!("{market}@{round}"),
                started: Utc::now().to_rfc3339(),
                finished: None,
            });
            self.save_watch_state(&state)?;
        }
        let Some(current) = state.rounds.last().cloned() else {
            return Err(CaseError::Config { path: self.watch_dir(), message: "no round".into() });
        };
        let cfg = CrawlConfig { market: current.key.clone(), ..base.clone() };
        let report = self.crawl(&cfg, fetcher, progress)?;
        let opts = ExtractOptions { only_new: true, ..ExtractOptions::default() };
        let extract = Some(self.extract(&opts, progress)?);
        let now = Utc::now().to_rfc3339();
        let mut out = RoundReport {
            round: current.round,
            crawl: report.clone(),
            extract,
            finished: false,
            listings: 0,
            vendors: 0,
            alerts: Vec::new(),
        };
        if let Stop::Paused { kind, url, sha256, captcha_image } = &report.stop {
            out.alerts.push(Alert {
                kind: AlertKind::Paused,
                market: market.to_owned(),
                round: current.round,
                at: now.clone(),
                subject: url.clone(),
                detail: json!({ "page": kind, "captcha_image": captcha_image, "resume": "give fresh cookies (or wait, for maintenance) and run watch again; the round continues" }),
                evidence: std::iter::once(sha256.clone()).chain(captcha_image.clone()).collect(),
            });
        } else if report.stop == Stop::Done {
            out.finished = true;
            let snap = self.snapshot(&current.key)?;
            out.listings = snap.listings.len();
            out.vendors = snap.vendors.len();
            let previous = state.rounds.iter().rev().find(|r| r.finished.is_some() && r.round < current.round);
            if let Some(prev) = previous {
                let before = self.snapshot(&prev.key)?;
                out.alerts.extend(changes(&before, &snap, market, current.round, &now));
            }
            out.alerts.extend(watched(&snap, list, market, current.round, &now));
            if let Some(r) = state.rounds.last_mut() {
                r.finished = Some(now.clone());
            }
            self.save_watch_state(&state)?;
        }
        let mut lines = String::new();
        for a in &out.alerts {
            lines.push_str(&serde_json::to_string(a).unwrap_or_default());
            lines.push('\n');
        }
        if !lines.is_empty() {
            use std::io::Write as _;
            let dir = self.watch_dir();
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            let path = dir.join(format!("{market}-alerts.jsonl"));
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
            f.write_all(lines.as_bytes()).map_err(io(&path))?;
        }
        let mut counts: BTreeMap<AlertKind, usize> = BTreeMap::new();
        for a in &out.alerts {
            *counts.entry(a.kind).or_default() += 1;
        }
        self.evidence.log(
            "watch",
            json!({
                "market": market,
                "round": current.round,
                "key": current.key,
                "finished": out.finished,
                "listings": out.listings,
                "vendors": out.vendors,
                "alerts": counts,
                "alerts_sha256": Sha256::of(lines.as_bytes()).to_hex(),
            }),
            &self.operator,
            TOOL_VERSION,
        )?;
        Ok(out)
    }

    /// What the round with frontier key `key` saw, from the evidence and
    /// the records extracted from it.
    fn snapshot(&self, key: &str) -> Result<Snapshot> {
        let prefix = source_prefix(key);
        let pages: BTreeSet<Sha256> = self
            .evidence
            .records()
            .into_iter()
            .filter(|r| r.sources.iter().any(|s| s.starts_with(&prefix)))
            .map(|r| r.sha256)
            .collect();
        let on_round = |p: Option<&model::Provenance>| p.filter(|p| pages.contains(&p.evidence)).map(|p| p.evidence.to_hex());
        let mut snap = Snapshot::default();
        for l in self.store.listings(&Filter::default())? {
            let Some(page) = on_round(l.record.provenance.as_ref()) else { continue };
            let r = &l.record;
            let seen = snap.listings.entry(listing_key(r)).or_insert_with(|| SeenListing {
                market: r.market.clone(),
                title: r.title.clone(),
                vendor: r.vendor.clone(),
                price: price_of(r),
                id: r.market_listing_id.clone(),
                url: r.url.clone(),
                pages: BTreeSet::new(),
            });
            seen.pages.insert(page.clone());
            if let Some(v) = &r.vendor {
                snap.vendors.entry(v.to_lowercase()).or_insert_with(|| (v.clone(), BTreeSet::new())).1.insert(page);
            }
        }
        for v in self.store.vendors(&Filter::default())? {
            let Some(page) = on_round(v.record.provenance.as_ref()) else { continue };
            let name = &v.record.name;
            snap.vendors.entry(name.to_lowercase()).or_insert_with(|| (name.clone(), BTreeSet::new())).1.insert(page.clone());
            if let Some(fp) = &v.record.pgp_fingerprint {
                snap.identifiers.entry((IdentifierKind::Pgp, key_hex(fp))).or_default().insert(page);
            }
        }
        for i in self.store.identifiers(&Filter::default())? {
            let Some(page) = on_round(i.record.provenance.as_ref()) else { continue };
            let value = if i.record.kind == IdentifierKind::Pgp { key_hex(&i.record.value) } else { i.record.value.clone() };
            snap.identifiers.entry((i.record.kind, value)).or_default().insert(page);
        }
        Ok(snap)
    }
}

fn alert(kind: AlertKind, market: &str, round: u64, at: &str, subject: &str, detail: serde_json::Value, pages: &BTreeSet<String>) -> Alert {
    Alert {
        kind,
        market: market.to_owned(),
        round,
        at: at.to_owned(),
        subject: subject.to_owned(),
        detail,
        evidence: pages.iter().cloned().collect(),
    }
}

fn listing_detail(l: &SeenListing) -> serde_json::Value {
    json!({ "market": l.market, "vendor": l.vendor, "listing_id": l.id, "price": l.price, "url": l.url })
}

/// Listings and vendors that differ between two rounds.
fn changes(before: &Snapshot, after: &Snapshot, market: &str, round: u64, at: &str) -> Vec<Alert> {
    let mut out = Vec::new();
    for (k, l) in &after.listings {
        match before.listings.get(k) {
            None => out.push(alert(AlertKind::ListingNew, market, round, at, &l.title, listing_detail(l), &l.pages)),
            Some(old) if old.price.is_some() && l.price.is_some() && old.price != l.price => {
                let mut d = listing_detail(l);
                d["price_before"] = json!(old.price);
                d["evidence_before"] = json!(old.pages);
                out.push(alert(AlertKind::PriceChanged, market, round, at, &l.title, d, &l.pages));
            }
            Some(_) => {}
        }
    }
    for (k, l) in &before.listings {
        if !after.listings.contains_key(k) {
            out.push(alert(AlertKind::ListingRemoved, market, round, at, &l.title, listing_detail(l), &l.pages));
        }
    }
    for (k, (name, pages)) in &after.vendors {
        if !before.vendors.contains_key(k) {
            out.push(alert(AlertKind::VendorAppeared, market, round, at, name, json!({}), pages));
        }
    }
    for (k, (name, pages)) in &before.vendors {
        if !after.vendors.contains_key(k) {
            out.push(alert(AlertKind::VendorDisappeared, market, round, at, name, json!({}), pages));
        }
    }
    out
}

/// Watched vendors, keys and addresses on the round's pages.
fn watched(snap: &Snapshot, list: &WatchList, market: &str, round: u64, at: &str) -> Vec<Alert> {
    let mut out = Vec::new();
    for v in &list.vendors {
        if let Some((name, pages)) = snap.vendors.get(&v.to_lowercase()) {
            out.push(alert(AlertKind::WatchedVendor, market, round, at, name, json!({ "watched": v }), pages));
        }
    }
    for k in &list.keys {
        let want = key_hex(k);
        if want.len() < 16 {
            continue;
        }
        for ((kind, value), pages) in &snap.identifiers {
            // A fingerprint ends with the key's long id.
            if *kind == IdentifierKind::Pgp && value.ends_with(&want) {
                out.push(alert(AlertKind::WatchedKey, market, round, at, value, json!({ "watched": k }), pages));
            }
        }
    }
    for a in &list.addresses {
        for ((kind, value), pages) in &snap.identifiers {
            if matches!(kind, IdentifierKind::Btc | IdentifierKind::Xmr) && value == a.trim() {
                out.push(alert(AlertKind::WatchedAddress, market, round, at, value, json!({ "kind": kind }), pages));
            }
        }
    }
    out
}
