//! What the server derives from the case and keeps between requests: the
//! vendor-dossier index (observations and sales units read once) and the
//! imported chain with its clusters and tags. Each is rebuilt when the
//! thing it came from changed (the case's row counts and custody log, or
//! the files under `CASE/chain/`), so a dossier request costs a lookup, not
//! a pass over the case, and another process extracting into the case is
//! still seen.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::AppError;

/// A derived value and the fingerprint of what it was derived from.
pub(crate) struct Cached<T> {
    slot: Mutex<Option<(String, Arc<T>)>>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached { slot: Mutex::new(None) }
    }
}

impl<T> Cached<T> {
    /// The value for `key`, built by `make` when the key moved.
    pub(crate) fn get(&self, key: String, make: impl FnOnce() -> Result<T, AppError>) -> Result<Arc<T>, AppError> {
        let mut slot = self.slot.lock().map_err(|_| AppError::internal("a cache lock was poisoned by a failed request"))?;
        if let Some((k, v)) = slot.as_ref() {
            if *k == key {
                return Ok(v.clone());
            }
        }
        let v = Arc::new(make()?);
        *slot = Some((key, v.clone()));
        Ok(v)
    }
}

/// The fingerprint of the case's rows and custody log: size and
/// modification time of the database file, its write-ahead log and the
/// custody log (extraction changes the first two, every analyst decision
/// grows the third). File metadata, not row counts: a count is a table
/// scan in SQLite, and this runs on every request.
pub(crate) fn case_key(case: &case::Case) -> Result<String, AppError> {
    let dir = case.dir();
    let mut key = String::new();
    for p in [dir.join("dragnet.sqlite"), dir.join("dragnet.sqlite-wal"), case.evidence().custody().path().to_owned()] {
        let (len, t) = std::fs::metadata(&p)
            .map(|m| (m.len(), m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())))
            .unwrap_or((0, 0));
        key.push_str(&format!("{len}@{t};"));
    }
    Ok(key)
}

/// The fingerprint of `CASE/chain/` (names, sizes, modification times), or
/// `None` when the case has no chain.
pub(crate) fn chain_key(case_dir: &Path) -> Option<String> {
    fn walk(dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            match e.metadata() {
                Ok(m) if m.is_dir() => walk(&p, out),
                Ok(m) => {
                    let t = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos()).unwrap_or(0);
                    out.insert(p.display().to_string(), format!("{}@{t}", m.len()));
                }
                Err(_) => {}
            }
        }
    }
    let dir = case_dir.join("chain");
    if !dir.is_dir() {
        return None;
    }
    let mut files = BTreeMap::new();
    walk(&dir, &mut files);
    Some(files.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";"))
}

/// The case's chain, clusters and cluster tags, loaded together.
pub struct ChainView {
    /// The block index.
    pub index: chain::ChainIndex,
    /// Clusters (stored, or computed with the default heuristics).
    pub clusters: chain::cluster::Clustering,
    /// Tags by cluster.
    pub tags: BTreeMap<u32, Vec<chain::tags::Tag>>,
}

/// Loads the chain view of `case_dir`, `None` when nothing was imported.
pub(crate) fn load_chain(case_dir: &Path) -> Result<Option<ChainView>, AppError> {
    let chain_err = |e: chain::ChainError| AppError::internal(format!("reading the case's chain: {e}"));
    let Some(index) = chain::store::load(case_dir).map_err(chain_err)? else { return Ok(None) };
    let clusters = chain::store::clustering(case_dir, &index).map_err(chain_err)?;
    let tags = chain::tags::cluster_tags(&index, &clusters, &chain::tags::read_tags(case_dir).map_err(chain_err)?);
    Ok(Some(ChainView { index, clusters, tags }))
}
