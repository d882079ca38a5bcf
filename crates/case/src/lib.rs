//! A case: one directory holding everything about one investigation.
//!
//! ```text
//! CASE/
//!   case.toml          name, created, dragnet version that created it
//!   evidence/          immutable WARC evidence + custody.jsonl (crate `evidence`)
//!   dragnet.sqlite     derived records (crate `store`), rebuildable by `extract`
//!   profiles/          optional analyst profiles (*.toml), loaded after the built-ins
//!   chain/             Bitcoin index (crate `chain`)
//!   datasets.json      dataset evidence digest -> format (set at import)
//!   mappings/          user dataset mappings (*.toml), see docs/datasets.md
//! ```
//!
//! This crate holds the pipelines that tie the lower crates together:
//! [`Case::import`] (files, directories, WARCs -> evidence), [`Case::extract`]
//! (evidence -> records), [`Case::verify`] and [`Case::explain`]. It owns no
//! format and no parsing; the CLI and the server call it. Every acquisition
//! and every extraction run is written to the custody log.
#![warn(missing_docs)]

mod crawl;
mod datasets;
mod explain;
mod fulltext;
mod import;
mod links;
mod pipeline;
mod report;
mod sales;
mod tables;
mod watch;

use std::path::{Path, PathBuf};

use extract::ProfileSet;

pub use explain::{digest_prefix, Explanation, MIN_DIGEST_PREFIX};
pub use import::{FileTimes, ImportOptions, ImportReport};
pub use links::{decided_pairs, decision_word, listed_pairs, scored_links, LinkDecision, Operator, OperatorAccount, OperatorLink, OperatorSales};
pub use datasets::DatasetStats;
pub use crate::sales::captured_times;
pub use pipeline::{DatasetFileReport, ExtractOptions, ExtractReport, PageProblem};
pub use crate::crawl::FRONTIER_FILE;
pub use self::report::ReportRequest;
/// What a report can fail with ([`ReportError::UnknownVendor`] for `--vendor` naming no account).
pub use ::report::{ReportData, ReportError};
pub use fulltext::SEARCH_DIR;
pub use watch::{Alert, AlertKind, RoundReport, RoundState, WatchList, WatchState};
pub use sales::{load_rates, DossierIndex, ListingLine, SalesOptions, SalesResult, TimelinePoint, VendorDossier, VendorFact, VendorIdentifier};

/// The version recorded in the custody log and on every extracted page.
pub const TOOL_VERSION: &str = concat!("dragnet ", env!("CARGO_PKG_VERSION"));

/// What can go wrong opening or working a case.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The directory is not a case.
    #[error("{} is not a dragnet case (no case.toml); create one with `dragnet case init {}`", .0.display(), .0.display())]
    NotACase(PathBuf),
    /// `case init` on an existing case.
    #[error("{} is already a dragnet case", .0.display())]
    AlreadyACase(PathBuf),
    /// File system trouble, with the path.
    #[error("{}: {source}", path.display())]
    Io {
        /// Path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The evidence store failed.
    #[error("evidence store: {0}")]
    Evidence(#[from] evidence::Error),
    /// The case database failed.
    #[error("case database: {0}")]
    Store(#[from] store::StoreError),
    /// A profile did not load.
    #[error("{0}")]
    Profile(#[from] extract::ProfileError),
    /// Writing an exported table failed.
    #[error("export: {0}")]
    Export(#[from] export::ExportError),
    /// An evidence digest prefix (`dragnet explain 8940a6f6b7a25afa`) names
    /// more than one stored record.
    #[error("{} evidence records have a digest starting {prefix}: {}; give more digits", matches.len(), explain::list_digests(matches))]
    AmbiguousDigest {
        /// The prefix given (lowercase hex).
        prefix: String,
        /// The whole digests it names, in order.
        matches: Vec<String>,
    },
    /// case.toml is damaged.
    #[error("{}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, CaseError>;

/// Progress reporting for long work; the CLI draws bars, tests ignore it.
pub trait Progress {
    /// Starts a phase of `len` steps.
    fn start(&self, _what: &str, _len: u64) {}
    /// Advances by `n` steps.
    fn inc(&self, _n: u64) {}
    /// Ends the phase.
    fn finish(&self) {}
    /// Sets the position and the length (for phases whose length grows,
    /// like a crawl's).
    fn set(&self, _pos: u64, _len: u64) {}
}

/// Progress that reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct CaseFile {
    name: String,
    created: String,
    created_by: String,
}

/// An open case.
pub struct Case {
    dir: PathBuf,
    operator: String,
    evidence: evidence::EvidenceStore,
    store: store::SqliteStore,
    profiles: ProfileSet,
    datasets: datasets::DatasetRegistry,
}

/// Writes `bytes` to `path` under a temporary name (creating its folder),
/// then renames it, so a reader never sees half a file (a killed import
/// left an empty `datasets.json`, which stopped every later command).
/// The file is synced before the rename: a crash then leaves the old file
/// or the new one, never an empty one under the name.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| std::io::Write::write_all(file, bytes).and_then(|()| file.sync_all()))
}

/// [`write_atomic`] of what `write` writes to the file, not synced unless
/// `write` syncs it (the derived files written so are recomputed when
/// unreadable).
pub(crate) fn write_atomic_with(path: &Path, write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    write(&mut file).map_err(io(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaseError + '_ {
    move |source| CaseError::Io { path: path.to_owned(), source }
}

impl Case {
    /// Creates a new case in `dir` (created if missing; must not be a case).
    pub fn init(dir: &Path, operator: &str) -> Result<Case> {
        let file = dir.join("case.toml");
        if file.exists() {
            return Err(CaseError::AlreadyACase(dir.to_owned()));
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "case".to_owned());
        let cf = CaseFile {
            name,
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            created_by: TOOL_VERSION.to_owned(),
        };
        let text = toml::to_string(&cf).map_err(|e| CaseError::Config { path: file.clone(), message: e.to_string() })?;
        std::fs::write(&file, text).map_err(io(&file))?;
        let mut ev = evidence::EvidenceStore::create(&dir.join("evidence"))?;
        ev.log("case-init", serde_json::json!({ "name": cf.name }), operator, TOOL_VERSION)?;
        drop(ev);
        Case::open(dir, operator)
    }

    /// Opens an existing case.
    pub fn open(dir: &Path, operator: &str) -> Result<Case> {
        let file = dir.join("case.toml");
        if !file.is_file() {
            return Err(CaseError::NotACase(dir.to_owned()));
        }
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        let _cf: CaseFile = toml::from_str(&text)
            .map_err(|e| CaseError::Config { path: file.clone(), message: e.to_string() })?;
        let evidence = evidence::EvidenceStore::open(&dir.join("evidence"))?;
        let store = store::SqliteStore::open(&dir.join("dragnet.sqlite"))?;
        let mut profiles = ProfileSet::builtin()?;
        let user = dir.join("profiles");
        if user.is_dir() {
            load_profiles(&user, &mut profiles)?;
        }
        let datasets = datasets::DatasetRegistry::load(dir)?;
        Ok(Case { dir: dir.to_owned(), operator: operator.to_owned(), evidence, store, profiles, datasets })
    }

    /// Loads extra profiles from a directory of `*.toml`.
    pub fn add_profiles(&mut self, dir: &Path) -> Result<()> {
        load_profiles(dir, &mut self.profiles)
    }

    /// The case directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The case database, for queries.
    pub fn store(&self) -> &store::SqliteStore {
        &self.store
    }

    /// The evidence store.
    pub fn evidence(&self) -> &evidence::EvidenceStore {
        &self.evidence
    }

    /// The loaded profiles.
    pub fn profiles(&self) -> &ProfileSet {
        &self.profiles
    }

    /// Re-hashes every evidence record and the custody chain, then checks
    /// that every payload the custody log says was acquired is still in the
    /// store: deleting a record together with its index line would otherwise
    /// go unnoticed, since both files would still be self-consistent.
    ///
    /// Each acquire entry's capture must still be there whole: its record,
    /// its source among the record's sources (a later capture of stored
    /// bytes is an alias record, which could otherwise be cut off the end of
    /// a file with its index line unnoticed), and for a crawled page logged
    /// as fetched (with its circuit), the request record that fetched it.
    pub fn verify(&self) -> evidence::VerifyReport {
        verify_evidence(&self.evidence)
    }

    /// A problem `verify` found, as text that also names what the damaged
    /// record was captured as; see [`problem_text`].
    pub fn problem_text(&self, p: &evidence::Problem) -> String {
        problem_text(&self.evidence, p)
    }

    /// Makes the evidence whole after a writer was killed (torn tails set
    /// aside, unindexed records indexed; see [`evidence::EvidenceStore::recover`])
    /// and says on stderr what it did. Every command that appends evidence
    /// calls it first.
    pub fn recover_killed_writes(&mut self) -> Result<evidence::Recovery> {
        let recovery = self.evidence.recover(&self.operator, TOOL_VERSION)?;
        for t in &recovery.torn {
            tracing::warn!(
                "{}: the last {} bytes (from offset {}) were cut short by a killed writer; set aside as evidence/{} (sha256 {}) and logged",
                t.file,
                t.length,
                t.offset,
                t.saved_as,
                t.sha256
            );
        }
        if !recovery.indexed_again.is_empty() {
            tracing::warn!("{} complete records a killed writer left without an index line were indexed again", recovery.indexed_again.len());
        }
        for (file, offset) in &recovery.left {
            tracing::warn!(
                "evidence/{file}: the bytes from offset {offset} on are not a record a killed writer cut short (added or changed after it was written?): left as found for `dragnet verify` to report; no evidence is written after them"
            );
        }
        Ok(recovery)
    }

    /// Writes an entry to the custody log.
    pub fn log(&mut self, action: &str, detail: serde_json::Value) -> Result<()> {
        self.evidence.log(action, detail, &self.operator, TOOL_VERSION)?;
        Ok(())
    }
}

/// The chain tags of a case, relative to it (`chain::tags`).
pub const TAGS_FILE: &str = "chain/tags.jsonl";

/// The case's own files that its results rest on and the custody log names
/// by digest when they are written: the linking model (`link-model`
/// entries), dataset mappings (`dataset-mapping`) and the chain tags (the
/// `tags_sha256` of `chain-tag-*` entries). Each must be the file its latest
/// entry names: one weight changed in the model turned link
/// probabilities of 0.12 into 0.99, and `verify` said intact.
pub fn verify_logged_files(case_dir: &Path, entries: &[evidence::CustodyEntry]) -> Vec<evidence::Problem> {
    let mut expected: std::collections::BTreeMap<PathBuf, (usize, String)> = std::collections::BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        let file = match e.action.as_str() {
            "link-model" => Some(links::MODEL_FILE.to_owned()),
            "chain-tag-import" | "chain-tag-add" | "chain-tag-from-pages" if e.detail.get("tags_sha256").is_some() => {
                let sha = e.detail["tags_sha256"].as_str().unwrap_or_default().to_owned();
                expected.insert(PathBuf::from(TAGS_FILE), (i + 1, sha));
                None
            }
            "dataset-mapping" => e.detail["name"].as_str().map(|n| format!("{}/{n}.toml", datasets::MAPPINGS_DIR)),
            _ => None,
        };
        if let (Some(file), Some(sha)) = (file, e.detail["sha256"].as_str()) {
            expected.insert(PathBuf::from(file), (i + 1, sha.to_owned()));
        }
    }
    let mut problems = Vec::new();
    // The files logged, and those in place: a logged file deleted is as
    // much a change as one edited.
    let mut on_disk: std::collections::BTreeSet<PathBuf> = expected.keys().cloned().collect();
    on_disk.insert(PathBuf::from(links::MODEL_FILE));
    if let Ok(rd) = std::fs::read_dir(case_dir.join(datasets::MAPPINGS_DIR)) {
        on_disk.extend(rd.filter_map(std::result::Result::ok).map(|e| Path::new(datasets::MAPPINGS_DIR).join(e.file_name())));
    }
    for rel in on_disk {
        let path = case_dir.join(&rel);
        let Ok(bytes) = std::fs::read(&path) else {
            if let Some((line, _)) = expected.get(&rel) {
                problems.push(evidence::Problem {
                    location: evidence::Location::Path(path),
                    what: format!("missing, though custody.jsonl line {line} logged it"),
                });
            }
            continue;
        };
        let what = match expected.get(&rel) {
            None => "no custody entry names this file (put in place by hand?)".to_owned(),
            Some((_, sha)) if *sha == model::Sha256::of(&bytes).to_hex() => continue,
            Some((line, sha)) => format!("sha256 {} is not the {sha} custody.jsonl line {line} logged: changed since", model::Sha256::of(&bytes)),
        };
        problems.push(evidence::Problem { location: evidence::Location::Path(path), what });
    }
    problems
}

/// [`Case::verify`] of a case's evidence store alone (opened read-only by
/// `dragnet verify`, which needs neither the derived store nor write access).
pub fn verify_evidence(store: &evidence::EvidenceStore) -> evidence::VerifyReport {
    let mut report = store.verify();
    let log = store.custody().path();
    let named = |p: &evidence::Problem| matches!(&p.location, evidence::Location::Path(x) if x == log);
    // Every case logs its creation (`case-init`): a log with no entry was
    // deleted or emptied, even in a case that holds no captures.
    if matches!(store.custody().entries(), Ok(e) if e.is_empty()) && !report.problems.iter().any(named) {
        let how = if log.exists() { "empty" } else { "missing" };
        report.problems.push(evidence::Problem {
            location: evidence::Location::Path(log.to_owned()),
            what: format!("{how}: the custody log is gone (every case logs at least its case-init entry)"),
        });
    }
    // Acquire entries are checked against the records read from the
    // evidence files, not the index: damage to index.jsonl is the index's
    // (reported by the store's verify, by line), not the custody log's.
    let stored_shas: std::collections::HashSet<model::Sha256> = report.stored.iter().map(|(sha, _)| *sha).collect();
    if let Ok(entries) = store.custody().entries() {
        // A record imported again has an acquire entry each time: one gone
        // is reported once, at the first entry naming it, which names the
        // others (it was reported by each).
        let mut missing: std::collections::BTreeMap<model::Sha256, Vec<usize>> = std::collections::BTreeMap::new();
        for (line, e) in entries.iter().enumerate() {
            if e.action != evidence::ACQUIRE {
                continue;
            }
            let problem = |what: String| evidence::Problem {
                location: evidence::Location::Line { file: "custody.jsonl".into(), line: line + 1 },
                what,
            };
            let sha = e.detail.get("sha256").and_then(|v| v.as_str()).and_then(|s| s.parse::<model::Sha256>().ok());
            let source = e.detail.get("source").and_then(|v| v.as_str());
            let Some(sha) = sha else {
                report.problems.push(problem("acquire entry names no valid sha256".into()));
                continue;
            };
            if !stored_shas.contains(&sha) {
                missing.entry(sha).or_default().push(line + 1);
                continue;
            }
            if let Some(src) = source.filter(|s| !report.stored.contains(&(sha, Some((*s).to_owned())))) {
                report.problems.push(problem(format!(
                    "acquired {sha} from {src:?}, but no stored record names that source (its payload or alias record is missing from the evidence files)"
                )));
            }
            if e.detail.get("circuit").is_some() && !report.requested.contains(&(sha, source.map(str::to_owned))) {
                report.problems.push(problem(format!(
                    "crawled {sha} from {:?}, but the request record that fetched it is missing",
                    source.unwrap_or("?")
                )));
            }
        }
        for (sha, lines) in missing {
            let also = match &lines[1..] {
                [] => String::new(),
                [one] => format!(" (acquired again at line {one})"),
                more => format!(" (acquired again at lines {})", more.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
            };
            report.problems.push(evidence::Problem {
                location: evidence::Location::Line { file: "custody.jsonl".into(), line: lines[0] },
                what: format!("acquired record {sha} is missing from the evidence files{also}"),
            });
        }
    }
    report
}

/// Every transaction `chain lookup` stored, re-checked against the txid and
/// SHA-256 its custody entry recorded (`dragnet verify`, `chain
/// lookup-verify`, and a report's evidence check): how many were checked,
/// and the problems.
pub fn verify_chain_lookups(entries: &[evidence::CustodyEntry], case_dir: &Path) -> (usize, Vec<String>) {
    let mut checked = 0usize;
    let mut problems: Vec<String> = Vec::new();
    for (line, e) in entries.iter().enumerate() {
        if e.action != "chain-lookup" {
            continue;
        }
        for t in e.detail["txs"].as_array().map(Vec::as_slice).unwrap_or_default() {
            checked += 1;
            let field = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
            if let Err(m) = chain::lookup::check_stored(case_dir, &field("file"), &field("txid"), &field("sha256")) {
                problems.push(format!("custody.jsonl line {}: {m}", line + 1));
            }
        }
    }
    // Files no entry names are still checked against their own name.
    match chain::lookup::verify_stored(case_dir) {
        Ok(more) => problems.extend(more),
        Err(e) => problems.push(format!("chain lookups not checked: {e}")),
    }
    (checked, problems)
}

/// A problem `verify` found, as text that also names what the damaged
/// record was captured as (its first source and URL), when the index
/// knows: `evidence-00001.warc.gz offset 512 ...` alone does not tell an
/// analyst which page or dataset file to go back to.
pub fn problem_text(store: &evidence::EvidenceStore, p: &evidence::Problem) -> String {
    let rec = match &p.location {
        evidence::Location::Record { sha256: Some(sha), .. } => store.record(sha),
        _ => None,
    };
    match rec {
        Some(r) => {
            let captured: Vec<&str> = r.sources.first().into_iter().chain(r.url.as_ref()).map(String::as_str).collect();
            format!("{p} (captured as {})", captured.join(", "))
        }
        None => p.to_string(),
    }
}

/// Loads the `.toml` profiles of `dir`, in name order. What is not loaded
/// is said (a review's `.yaml` profile was skipped without a word), and so
/// is a market two files declare (the later file's profile is used).
fn load_profiles(dir: &Path, set: &mut ProfileSet) -> Result<()> {
    let (mut files, mut others): (Vec<PathBuf>, Vec<PathBuf>) = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .partition(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    others.sort();
    for f in others {
        tracing::warn!("{}: not a .toml file; not loaded as a profile", f.display());
    }
    let mut declared: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(io(&f))?;
        let profile = extract::Profile::from_toml(&f.display().to_string(), &text)?;
        if let Some(earlier) = declared.insert(profile.name().to_owned(), f.clone()) {
            tracing::warn!("{} and {} both declare market {}: the profile of {} is used", earlier.display(), f.display(), profile.name(), f.display());
        }
        set.add(profile);
    }
    Ok(())
}

/// A Bitcoin address seen on a captured page, with what the page says about
/// who shows it: the bridge from market evidence to chain tags.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddressSighting {
    /// The address (checksum-validated by the identifier extractors).
    pub address: String,
    /// `vendor NAME on MARKET` when the page shows exactly one vendor,
    /// else `seen on MARKET page SOURCE` (or `seen on page SOURCE`), or for
    /// a dataset file `seen in MARKET dataset file SOURCE, line N`. An
    /// address the pages of at least [`linking::COMMON_IDENTIFIER`] vendors
    /// of one market show is taken to be the market's own (a template, a
    /// decoy, an escrow address), as linking takes it: `shown by N vendors
    /// of MARKET (the market's, not a vendor's)`.
    pub label: String,
    /// `market-vendor` or `market-page`.
    pub category: String,
    /// SHA-256 of the evidence record the address was extracted from.
    pub evidence: String,
}

impl Case {
    /// Every BTC identifier in the case as an [`AddressSighting`], ordered by
    /// address then evidence. Only facts already stored are used.
    pub fn btc_sightings(&self) -> Result<Vec<AddressSighting>> {
        use store::CaseStore;
        let ids = self.store.identifiers(&store::Filter { kind: Some("btc".into()), ..Default::default() })?;
        // Each sighting with the (market, vendor) it is shown for, if one.
        let mut out: Vec<(AddressSighting, Option<(String, String)>)> = Vec::new();
        for id in ids {
            let Some(prov) = id.record.provenance else { continue };
            let page = self.store.page(&prov.evidence)?;
            let vendors = self.store.vendors_on_page(&prov.evidence)?;
            let source = page.as_ref().and_then(|p| p.source.clone()).unwrap_or_default();
            let market = page.as_ref().and_then(|p| p.market.clone());
            let dataset = page.as_ref().is_some_and(|p| p.page_type == model::PageType::Dataset);
            // A dataset file holds many vendors: the address is where its line is.
            let line = prov.rule.split_once(", ").map_or(String::new(), |(_, l)| format!(", {l}"));
            let (label, category, shown_for) = match (vendors.as_slice(), &market) {
                _ if dataset => (format!("seen in {} dataset file {source}{line}", market.as_deref().unwrap_or("a")), "market-page", None),
                ([v], _) => (format!("vendor {} on {}", v.name, v.market), "market-vendor", Some((v.market.clone(), v.name.clone()))),
                (_, Some(m)) => (format!("seen on {m} page {source}"), "market-page", None),
                (_, None) => (format!("seen on page {source}"), "market-page", None),
            };
            let sighting = AddressSighting { address: id.record.value, label, category: category.to_owned(), evidence: prov.evidence.to_hex() };
            out.push((sighting, shown_for));
        }
        out.sort_by(|a, b| (&a.0.address, &a.0.evidence).cmp(&(&b.0.address, &b.0.evidence)));
        out.dedup_by(|a, b| a.0 == b.0);
        // The vendors each address is shown for, by market (a vendor's many
        // pages count once): as many as linking takes for the market's own.
        let mut vendors_of: std::collections::BTreeMap<(String, String), std::collections::BTreeSet<String>> = Default::default();
        for (s, shown_for) in &out {
            if let Some((market, vendor)) = shown_for {
                vendors_of.entry((s.address.clone(), market.clone())).or_default().insert(vendor.clone());
            }
        }
        Ok(out
            .into_iter()
            .map(|(mut s, shown_for)| {
                let n = shown_for.and_then(|(m, _)| Some((vendors_of.get(&(s.address.clone(), m.clone()))?.len(), m)));
                if let Some((n @ linking::COMMON_IDENTIFIER.., market)) = n {
                    s.label = format!("shown by {n} vendors of {market} (the market's, not a vendor's)");
                    s.category = "market-page".into();
                }
                s
            })
            .collect())
    }
}
