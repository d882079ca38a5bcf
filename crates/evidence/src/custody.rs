//! The append-only, hash-chained custody log (`custody.jsonl`).
//!
//! One JSON object per line:
//! `{"action","detail","hash","operator","prev_hash","seq","time","tool_version"}`.
//! `hash` is the SHA-256 (hex) of the canonical JSON of the entry without
//! `hash` (object keys sorted, no whitespace, as serde_json writes strings
//! and numbers). `prev_hash` is the previous entry's `hash` (64 zeros for the
//! first), and `seq` counts from 1, so changing, removing, inserting or
//! reordering a line breaks the chain at that line.
//!
//! Canonical JSON is computed here rather than trusting serde_json's map
//! order, which depends on a cargo feature (`preserve_order`) that any crate
//! in a build can switch on.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use model::Sha256;
use serde_json::{Map, Value};

use crate::error::{Error, Location, Problem};

/// The action of the entry logged for each capture stored in the evidence
/// store (`dragnet import` and crawls). Its detail names the capture by
/// `sha256` (hex payload digest) and `source` (the capture's
/// [`CaptureMeta::source`](crate::CaptureMeta::source), verbatim), and
/// [`EvidenceStore::verify`](crate::EvidenceStore::verify) checks that
/// every stored record is named by one.
pub const ACQUIRE: &str = "acquire";

/// The custody action of [`EvidenceStore::recover`](crate::EvidenceStore::recover):
/// its detail lists the `torn` pieces it set aside (`file`, `offset`,
/// `length`, `sha256`, `saved_as`) and the records it `indexed_again`.
pub const RECOVER: &str = "recover";

/// The `prev_hash` of the first entry: 64 zeros.
pub fn genesis() -> Sha256 {
    Sha256::from_bytes([0; 32])
}

/// One custody log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CustodyEntry {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When the action happened (UTC).
    pub time: DateTime<Utc>,
    /// What happened: `case-init`, `import`, `capture`, `extract`, ...
    pub action: String,
    /// Action details (counts, sources, digests, parameters).
    pub detail: Value,
    /// Who did it.
    pub operator: String,
    /// Tool name and version that did it.
    pub tool_version: String,
    /// `hash` of the previous entry.
    pub prev_hash: Sha256,
    /// This entry's hash.
    pub hash: Sha256,
}

/// The custody log of one evidence store.
#[derive(Debug)]
pub struct CustodyLog {
    path: PathBuf,
    next_seq: u64,
    last_hash: Sha256,
    /// The file's length when `next_seq` and `last_hash` were read or last
    /// written: another process's entry since makes it longer, and the head
    /// is read again before appending.
    known_len: u64,
}

impl CustodyLog {
    /// Opens the log at `path`; the file is created on the first append.
    ///
    /// A damaged log still opens (so that `verify` can report it); new
    /// entries chain to the last line's `hash` field, or to the SHA-256 of
    /// the raw last line when that cannot be read.
    pub fn open(path: &Path) -> Result<Self, Error> {
        match std::fs::read(path) {
            Ok(text) => Ok(Self::of_bytes(path, &text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::of_bytes(path, b"")),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// The log whose file at `path` holds `text`.
    pub(crate) fn of_bytes(path: &Path, text: &[u8]) -> Self {
        let mut log = CustodyLog { path: path.to_owned(), next_seq: 1, last_hash: genesis(), known_len: text.len() as u64 };
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        if let Some(last) = lines.last() {
            let v: Option<Value> = serde_json::from_slice(last).ok();
            log.last_hash = v
                .as_ref()
                .and_then(|v| v.get("hash"))
                .and_then(Value::as_str)
                .and_then(|h| h.parse().ok())
                .unwrap_or_else(|| Sha256::of(last));
            log.next_seq = v
                .as_ref()
                .and_then(|v| v.get("seq"))
                .and_then(Value::as_u64)
                .map(|s| s.saturating_add(1))
                .unwrap_or(lines.len() as u64 + 1);
        }
        log
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an entry stamped with the current time; returns its hash.
    pub fn append(
        &mut self,
        action: &str,
        detail: Value,
        operator: &str,
        tool_version: &str,
    ) -> Result<Sha256, Error> {
        self.append_at(Utc::now(), action, detail, operator, tool_version)
    }

    /// Appends an entry with an explicit time (for importing dated events
    /// and for tests); returns its hash.
    pub fn append_at(
        &mut self,
        time: DateTime<Utc>,
        action: &str,
        detail: Value,
        operator: &str,
        tool_version: &str,
    ) -> Result<Sha256, Error> {
        // Appends are serialized across processes by a lock on the file (a
        // crawl logs while an analyst confirms a link): under it, an entry
        // another process wrote since is read first, so the chain does not
        // fork (two entries chained to one predecessor).
        let mut f = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        f.lock().map_err(|e| Error::io(&self.path, e))?;
        let len = f.metadata().map_err(|e| Error::io(&self.path, e))?.len();
        if len > 0 {
            // A last line cut short (a killed writer): appending would bury
            // it mid-file. The store's recovery sets it aside first.
            let mut last = [0u8];
            f.seek(SeekFrom::Start(len - 1)).and_then(|_| f.read_exact(&mut last)).map_err(|e| Error::io(&self.path, e))?;
            if last[0] != b'\n' {
                return Err(Error::CustodyTorn { path: self.path.clone() });
            }
        }
        if len != self.known_len {
            let fresh = CustodyLog::open(&self.path)?;
            (self.next_seq, self.last_hash) = (fresh.next_seq, fresh.last_hash);
        }
        let (line, hash) = self.entry_line(time, action, detail, operator, tool_version);
        f.write_all(line.as_bytes()).map_err(|e| Error::io(&self.path, e))?;
        // The log is small and each entry matters: make it durable now.
        f.sync_data().map_err(|e| Error::io(&self.path, e))?;
        self.next_seq += 1;
        self.last_hash = hash;
        self.known_len = len + line.len() as u64;
        Ok(hash)
    }

    /// The next entry as its line (ending in a newline) and its hash, chained
    /// to the head this log holds; nothing is written.
    pub(crate) fn entry_line(&self, time: DateTime<Utc>, action: &str, detail: Value, operator: &str, tool_version: &str) -> (String, Sha256) {
        let mut obj = Map::new();
        obj.insert("seq".into(), Value::from(self.next_seq));
        obj.insert("time".into(), Value::from(time.to_rfc3339_opts(SecondsFormat::AutoSi, true)));
        obj.insert("action".into(), Value::from(action));
        obj.insert("detail".into(), detail);
        obj.insert("operator".into(), Value::from(operator));
        obj.insert("tool_version".into(), Value::from(tool_version));
        obj.insert("prev_hash".into(), Value::from(self.last_hash.to_hex()));
        let hash = Sha256::of(canonical_json(&Value::Object(obj.clone())).as_bytes());
        obj.insert("hash".into(), Value::from(hash.to_hex()));
        let mut line = canonical_json(&Value::Object(obj));
        line.push('\n');
        (line, hash)
    }

    /// All entries, failing at the first line that cannot be read (the error
    /// names the line). Does not check the chain; see [`CustodyLog::verify`].
    pub fn entries(&self) -> Result<Vec<CustodyEntry>, Error> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let mut out = Vec::new();
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let e = parse_entry(line)
                .map_err(|what| Error::Custody { path: self.path.clone(), line: i + 1, what })?;
            out.push(e);
        }
        Ok(out)
    }

    /// Checks every line: readable, `hash` matches the content, `prev_hash`
    /// links to the line before, `seq` counts up by one. Returns the
    /// problems, each naming its 1-based line.
    pub fn verify(&self) -> Vec<Problem> {
        self.check().problems
    }

    /// Like [`CustodyLog::verify`], also counting the lines checked and
    /// collecting the captures the [`ACQUIRE`] entries name.
    pub(crate) fn check(&self) -> LogCheck {
        let file = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut out = LogCheck::default();
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.absent = Some("missing");
                return out;
            }
            Err(e) => {
                out.problems.push(Problem::new(Location::Path(self.path.clone()), format!("cannot read: {e}")));
                return out;
            }
        };
        if text.iter().all(|&b| b == b'\n') {
            out.absent = Some("empty");
            return out;
        }
        let LogCheck { checked, problems, acquired, members, set_aside, .. } = &mut out;
        let mut prev_hash = genesis();
        let mut prev_seq = 0u64;
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        let n_lines = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            let at = Location::Line { file: file.clone(), line: i + 1 };
            let is_last = i + 1 == n_lines;
            if line.is_empty() {
                if !is_last {
                    problems.push(Problem::new(at, "empty line"));
                }
                continue;
            }
            *checked += 1;
            if is_last {
                problems.push(Problem::new(at.clone(), "last line is not terminated by a newline (truncated write?)"));
            }
            let entry = match parse_entry(line) {
                Ok(e) => e,
                Err(what) => {
                    problems.push(Problem::new(at, what));
                    // Chain the next line to what this one claims, so one bad
                    // line gives one problem where possible.
                    let v: Option<Value> = serde_json::from_slice(line).ok();
                    // An altered acquire entry still names its capture: the
                    // damage is this line's problem, not its records'.
                    if let Some(v) = &v {
                        let action = v.get("action").and_then(Value::as_str).unwrap_or_default();
                        acquired.extend(acquisition(action, v.get("detail").unwrap_or(&Value::Null)));
                        set_aside.extend(pieces_set_aside(action, v.get("detail").unwrap_or(&Value::Null)));
                    }
                    prev_hash = v
                        .as_ref()
                        .and_then(|v| v.get("hash"))
                        .and_then(Value::as_str)
                        .and_then(|h| h.parse().ok())
                        .unwrap_or_else(|| Sha256::of(line));
                    prev_seq += 1;
                    continue;
                }
            };
            if entry.seq != prev_seq + 1 {
                problems.push(Problem::new(at.clone(), format!("seq {} does not follow {}", entry.seq, prev_seq)));
            }
            if entry.prev_hash != prev_hash {
                problems.push(Problem::new(
                    at.clone(),
                    format!("prev_hash {} is not the previous entry's hash {}", entry.prev_hash, prev_hash),
                ));
            }
            set_aside.extend(pieces_set_aside(&entry.action, &entry.detail));
            if let Some(capture) = acquisition(&entry.action, &entry.detail) {
                members.extend(members_named(&entry.detail).map(|member| LoggedMember { member, capture: capture.clone(), line: i + 1 }));
                acquired.insert(capture);
            }
            prev_hash = entry.hash;
            prev_seq = entry.seq;
        }
        out
    }
}

/// What [`CustodyLog::check`] found.
#[derive(Debug, Default)]
pub(crate) struct LogCheck {
    /// Lines checked.
    pub(crate) checked: usize,
    /// Everything wrong with the chain, by line.
    pub(crate) problems: Vec<Problem>,
    /// `(sha256, source)` of every [`ACQUIRE`] entry; `source` is `None`
    /// when the entry names none.
    pub(crate) acquired: HashSet<(Sha256, Option<String>)>,
    /// The gzip members the intact acquire entries name (`members`, as
    /// they were written; entries logged before name none).
    pub(crate) members: Vec<LoggedMember>,
    /// `(saved_as, sha256)` of every torn piece a [`RECOVER`] entry says it
    /// set aside.
    pub(crate) set_aside: Vec<(String, Sha256)>,
    /// `missing` or `empty` when the log holds no line at all: the store's
    /// verify then names the log once, not each record it no longer names.
    pub(crate) absent: Option<&'static str>,
}

/// The torn pieces a [`RECOVER`] entry set aside: `(saved_as, sha256)`.
fn pieces_set_aside(action: &str, detail: &Value) -> Vec<(String, Sha256)> {
    if action != RECOVER {
        return Vec::new();
    }
    let pieces = detail.get("torn").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    pieces
        .iter()
        .filter_map(|p| {
            let saved_as = p.get("saved_as")?.as_str()?.to_owned();
            Some((saved_as, p.get("sha256")?.as_str()?.parse().ok()?))
        })
        .collect()
}

/// The capture an entry records the acquisition of, if it is an [`ACQUIRE`]
/// entry naming a valid digest (one that does not is the case's to report).
fn acquisition(action: &str, detail: &Value) -> Option<(Sha256, Option<String>)> {
    if action != ACQUIRE {
        return None;
    }
    let sha = detail.get("sha256").and_then(Value::as_str)?.parse().ok()?;
    Some((sha, detail.get("source").and_then(Value::as_str).map(str::to_owned)))
}

/// A gzip member an acquire entry names.
#[derive(Debug, Clone)]
pub(crate) struct LoggedMember {
    /// Its digest.
    pub(crate) member: Sha256,
    /// The capture the entry acquired: `(sha256, source)`.
    pub(crate) capture: (Sha256, Option<String>),
    /// The entry's line in the log (1-based).
    pub(crate) line: usize,
}

/// The member digests an acquire entry's `members` names (none when it
/// has no such list).
fn members_named(detail: &Value) -> impl Iterator<Item = Sha256> + '_ {
    let named = detail.get("members").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    named.iter().filter_map(|m| m.as_str()?.parse().ok())
}

/// Parses a line and checks its own hash.
fn parse_entry(line: &[u8]) -> Result<CustodyEntry, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut obj) = v else {
        return Err("not a JSON object".into());
    };
    let claimed = obj.remove("hash");
    let computed = Sha256::of(canonical_json(&Value::Object(obj.clone())).as_bytes());
    let str_field = |k: &str| -> Result<String, String> {
        obj.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("missing or non-string {k:?}"))
    };
    let hash: Sha256 = claimed
        .as_ref()
        .and_then(Value::as_str)
        .ok_or("missing \"hash\"")?
        .parse()
        .map_err(|e| format!("bad hash: {e}"))?;
    if hash != computed {
        return Err(format!("hash {hash} does not match the entry's content (computed {computed})"));
    }
    let seq = obj.get("seq").and_then(Value::as_u64).ok_or("missing or non-integer \"seq\"")?;
    let time = DateTime::parse_from_rfc3339(&str_field("time")?)
        .map_err(|e| format!("bad time: {e}"))?
        .with_timezone(&Utc);
    let prev_hash: Sha256 = str_field("prev_hash")?.parse().map_err(|e| format!("bad prev_hash: {e}"))?;
    Ok(CustodyEntry {
        seq,
        time,
        action: str_field("action")?,
        detail: obj.get("detail").cloned().unwrap_or(Value::Null),
        operator: str_field("operator")?,
        tool_version: str_field("tool_version")?,
        prev_hash,
        hash,
    })
}

/// Compact JSON with object keys sorted (by their UTF-8 bytes), recursively.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_recursively() {
        let v = json!({"b": 1, "a": {"z": [true, null], "y": "x\n"}});
        assert_eq!(canonical_json(&v), r#"{"a":{"y":"x\n","z":[true,null]},"b":1}"#);
    }

    /// Entries carrying floats (link scores, contributions) verify after a
    /// re-read: the hash is over the canonical JSON of the parsed entry, so
    /// every float must parse back to the same value (serde_json's
    /// `float_roundtrip`; its default parser is off by one unit in the last
    /// place on some 17-digit values, and such entries failed `verify`).
    #[test]
    fn entries_with_floats_verify_after_reading_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("custody.jsonl");
        let t = DateTime::parse_from_rfc3339("2024-05-06T07:08:09Z").unwrap().with_timezone(&Utc);
        let mut log = CustodyLog::open(&p).unwrap();
        let values: Vec<f64> = (1..2000).map(|i| 1.0 / (1.0 + (-(f64::from(i) * 0.0137 - 9.0)).exp())).collect();
        log.append_at(t, "link-decision", json!({ "scores": values }), "alice", "dragnet 0.0.0").unwrap();
        assert!(log.verify().is_empty(), "{:?}", log.verify());
    }

    #[test]
    fn chain_links_and_reopen_continues() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("custody.jsonl");
        let t = DateTime::parse_from_rfc3339("2024-05-06T07:08:09Z").unwrap().with_timezone(&Utc);
        let mut log = CustodyLog::open(&p).unwrap();
        let h1 = log.append_at(t, "case-init", json!({"name": "x"}), "alice", "dragnet 0.0.0").unwrap();
        let mut log = CustodyLog::open(&p).unwrap();
        let h2 = log.append_at(t, "import", json!("two files"), "alice", "dragnet 0.0.0").unwrap();
        let es = log.entries().unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!((es[0].seq, es[0].prev_hash, es[0].hash), (1, genesis(), h1));
        assert_eq!((es[1].seq, es[1].prev_hash, es[1].hash), (2, h1, h2));
        assert_eq!(es[1].time, t);
        assert!(log.verify().is_empty());
    }

    #[test]
    fn removed_line_breaks_the_chain_at_that_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("custody.jsonl");
        let mut log = CustodyLog::open(&p).unwrap();
        for i in 0..3 {
            log.append("import", json!({ "i": i }), "op", "v").unwrap();
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let kept: Vec<&str> = text.lines().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| l).collect();
        std::fs::write(&p, kept.join("\n") + "\n").unwrap();
        let problems = log.verify();
        assert!(!problems.is_empty());
        assert!(problems
            .iter()
            .all(|p| p.location == Location::Line { file: "custody.jsonl".into(), line: 2 }));
    }
}
