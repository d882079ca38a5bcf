//! The crawl queue, persisted in SQLite so that a crawl killed at any moment
//! resumes where it stopped. Each URL is one row per market, so it is
//! queued once; its state moves queued → fetching → done (or failed, or
//! back to queued for a retry or a session pause).
//!
//! A URL left in `fetching` by a killed crawl is resolved on resume: the
//! evidence store is asked whether the capture was stored (its source names
//! the row), so a page is never lost and never stored twice.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

/// A URL's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting (possibly not before some time).
    Queued,
    /// Being fetched; left so by a killed crawl.
    Fetching,
    /// Fetched and stored.
    Done,
    /// Given up on (reason recorded).
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Fetching => "fetching",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

/// One queued URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Row id: stable, cited in the evidence source of the capture.
    pub id: i64,
    /// Market name.
    pub market: String,
    /// Absolute URL.
    pub url: String,
    /// Links followed from the seed.
    pub depth: u32,
    /// Failed attempts so far.
    pub tries: u32,
    /// An embedded resource (an image, `--images`): fetched with its own
    /// size cap, stored, never parsed for links.
    pub resource: bool,
}

/// Counts per state for one market.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FrontierCounts {
    /// Waiting.
    pub queued: u64,
    /// Left in `fetching`.
    pub fetching: u64,
    /// Stored.
    pub done: u64,
    /// Given up.
    pub failed: u64,
}

/// The persisted queue.
pub struct Frontier {
    db: Connection,
}

fn err(e: rusqlite::Error) -> String {
    e.to_string()
}

/// An entry with its state, HTTP status and reason (see [`Frontier::all`]).
pub type EntryState = (Entry, String, Option<u16>, Option<String>);

impl Frontier {
    /// Opens (creating) the frontier database at `path`.
    pub fn open(path: &Path) -> Result<Frontier, String> {
        let db = Connection::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        db.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS frontier (
                 id INTEGER PRIMARY KEY,
                 market TEXT NOT NULL,
                 url TEXT NOT NULL,
                 depth INTEGER NOT NULL,
                 state TEXT NOT NULL DEFAULT 'queued',
                 tries INTEGER NOT NULL DEFAULT 0,
                 not_before INTEGER NOT NULL DEFAULT 0,
                 status INTEGER,
                 sha256 TEXT,
                 reason TEXT,
                 UNIQUE (market, url)
             );
             CREATE INDEX IF NOT EXISTS frontier_next ON frontier (market, state, id);",
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        // Frontiers written before `--images` existed lack the column.
        let has_resource: bool = db
            .query_row("SELECT COUNT(*) FROM pragma_table_info('frontier') WHERE name = 'resource'", [], |r| r.get::<_, i64>(0))
            .map(|n| n > 0)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !has_resource {
            db.execute_batch("ALTER TABLE frontier ADD COLUMN resource INTEGER NOT NULL DEFAULT 0;")
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(Frontier { db })
    }

    /// Queues `url` for `market` unless it was ever queued; true when new.
    pub fn add(&self, market: &str, url: &str, depth: u32) -> Result<bool, String> {
        let n = self
            .db
            .execute("INSERT OR IGNORE INTO frontier (market, url, depth) VALUES (?1, ?2, ?3)", params![market, url, depth])
            .map_err(err)?;
        Ok(n > 0)
    }

    /// Queues many URLs in one transaction; returns how many were new.
    pub fn add_all(&mut self, market: &str, urls: &[String], depth: u32) -> Result<usize, String> {
        let tx = self.db.transaction().map_err(err)?;
        let mut new = 0;
        {
            let mut st =
                tx.prepare_cached("INSERT OR IGNORE INTO frontier (market, url, depth) VALUES (?1, ?2, ?3)").map_err(err)?;
            for u in urls {
                new += st.execute(params![market, u, depth]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(new)
    }

    fn entry(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
        Ok(Entry { id: r.get(0)?, market: r.get(1)?, url: r.get(2)?, depth: r.get(3)?, tries: r.get(4)?, resource: r.get(5)? })
    }

    /// Entries a killed crawl left in `fetching`.
    pub fn in_flight(&self, market: &str) -> Result<Vec<Entry>, String> {
        let mut st = self
            .db
            .prepare("SELECT id, market, url, depth, tries, resource FROM frontier WHERE market = ?1 AND state = 'fetching' ORDER BY id")
            .map_err(err)?;
        let rows = st.query_map(params![market], Self::entry).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// The next queued entry due at `now_ms` (oldest first), marked
    /// `fetching`; or, when none is due, the time the next one is.
    pub fn take_next(&self, market: &str, now_ms: i64) -> Result<Next, String> {
        let due = self
            .db
            .query_row(
                "SELECT id, market, url, depth, tries, resource FROM frontier
                 WHERE market = ?1 AND state = 'queued' AND not_before <= ?2 ORDER BY id LIMIT 1",
                params![market, now_ms],
                Self::entry,
            )
            .optional()
            .map_err(err)?;
        if let Some(e) = due {
            self.set(e.id, State::Fetching, None, None, None)?;
            return Ok(Next::Entry(e));
        }
        let later: Option<i64> = self
            .db
            .query_row("SELECT MIN(not_before) FROM frontier WHERE market = ?1 AND state = 'queued'", params![market], |r| r.get(0))
            .map_err(err)?;
        Ok(later.map_or(Next::Empty, Next::NotBefore))
    }

    fn set(&self, id: i64, state: State, status: Option<u16>, sha256: Option<&str>, reason: Option<&str>) -> Result<(), String> {
        self.db
            .execute(
                "UPDATE frontier SET state = ?2, status = COALESCE(?3, status), sha256 = COALESCE(?4, sha256),
                 reason = COALESCE(?5, reason) WHERE id = ?1",
                params![id, state.as_str(), status, sha256, reason],
            )
            .map_err(err)?;
        Ok(())
    }

    /// Marks an entry stored and queues the links found on it, in one
    /// transaction: a crawl killed here either did both or neither.
    pub fn done(&mut self, e: &Entry, status: u16, sha256: &str, links: &[String]) -> Result<usize, String> {
        self.done_with_resources(e, status, sha256, links, &[])
    }

    /// [`done`](Self::done), also queuing the page's embedded resources
    /// (images) as resource entries.
    pub fn done_with_resources(&mut self, e: &Entry, status: u16, sha256: &str, links: &[String], resources: &[String]) -> Result<usize, String> {
        let tx = self.db.transaction().map_err(err)?;
        let mut new = 0;
        {
            let mut st = tx
                .prepare_cached("INSERT OR IGNORE INTO frontier (market, url, depth, resource) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for u in links {
                new += st.execute(params![e.market, u, e.depth + 1, false]).map_err(err)?;
            }
            for u in resources {
                new += st.execute(params![e.market, u, e.depth + 1, true]).map_err(err)?;
            }
            tx.execute(
                "UPDATE frontier SET state = 'done', status = ?2, sha256 = ?3, reason = NULL WHERE id = ?1",
                params![e.id, status, sha256],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(new)
    }

    /// Requeues an entry for another try not before `not_before_ms`.
    pub fn retry(&self, e: &Entry, not_before_ms: i64, reason: &str) -> Result<(), String> {
        self.db
            .execute(
                "UPDATE frontier SET state = 'queued', tries = tries + 1, not_before = ?2, reason = ?3 WHERE id = ?1",
                params![e.id, not_before_ms, reason],
            )
            .map_err(err)?;
        Ok(())
    }

    /// Puts an entry back as it was (a paused crawl will fetch it first).
    pub fn release(&self, e: &Entry) -> Result<(), String> {
        self.set(e.id, State::Queued, None, None, None)
    }

    /// Gives up on an entry.
    pub fn fail(&self, e: &Entry, status: Option<u16>, reason: &str) -> Result<(), String> {
        self.set(e.id, State::Failed, status, None, Some(reason))
    }

    /// Counts per state.
    pub fn counts(&self, market: &str) -> Result<FrontierCounts, String> {
        let mut st = self.db.prepare("SELECT state, COUNT(*) FROM frontier WHERE market = ?1 GROUP BY state").map_err(err)?;
        let mut c = FrontierCounts::default();
        let rows = st.query_map(params![market], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))).map_err(err)?;
        for row in rows {
            let (s, n) = row.map_err(err)?;
            match s.as_str() {
                "queued" => c.queued = n,
                "fetching" => c.fetching = n,
                "done" => c.done = n,
                _ => c.failed += n,
            }
        }
        Ok(c)
    }

    /// Every entry with its state, status and reason (for reports and tests).
    pub fn all(&self, market: &str) -> Result<Vec<EntryState>, String> {
        let mut st = self
            .db
            .prepare("SELECT id, market, url, depth, tries, resource, state, status, reason FROM frontier WHERE market = ?1 ORDER BY id")
            .map_err(err)?;
        let rows = st
            .query_map(params![market], |r| Ok((Self::entry(r)?, r.get(6)?, r.get(7)?, r.get(8)?)))
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }
}

/// What [`Frontier::take_next`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// An entry to fetch now.
    Entry(Entry),
    /// Nothing due before this time (ms since the epoch).
    NotBefore(i64),
    /// Nothing queued.
    Empty,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_once_resume_and_states() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.sqlite");
        let f = Frontier::open(&p).unwrap();
        assert!(f.add("m", "http://a.onion/", 0).unwrap());
        assert!(!f.add("m", "http://a.onion/", 0).unwrap(), "queued once");
        assert!(f.add("other", "http://a.onion/", 0).unwrap(), "per market");
        let Next::Entry(e) = f.take_next("m", 0).unwrap() else { panic!() };
        assert_eq!(f.take_next("m", 0).unwrap(), Next::Empty);
        // Killed here: reopened, the entry is in flight.
        drop(f);
        let mut f = Frontier::open(&p).unwrap();
        assert_eq!(f.in_flight("m").unwrap(), vec![e.clone()]);
        assert_eq!(f.done(&e, 200, "ab", &["http://a.onion/x".into(), "http://a.onion/".into()]).unwrap(), 1);
        let Next::Entry(x) = f.take_next("m", 0).unwrap() else { panic!() };
        assert_eq!((x.url.as_str(), x.depth), ("http://a.onion/x", 1));
        f.retry(&x, 5_000, "429").unwrap();
        assert_eq!(f.take_next("m", 1_000).unwrap(), Next::NotBefore(5_000));
        let Next::Entry(x2) = f.take_next("m", 5_000).unwrap() else { panic!() };
        assert_eq!(x2.tries, 1);
        f.fail(&x2, Some(500), "gave up").unwrap();
        assert_eq!(f.counts("m").unwrap(), FrontierCounts { queued: 0, fetching: 0, done: 1, failed: 1 });
    }
}
