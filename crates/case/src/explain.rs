//! `dragnet explain ID`: the chain from a row to the evidence it came from.

use std::fmt;

use model::Sha256;
use store::{AnyRecord, CaseStore, RowId};

use crate::{Case, CaseError, Result};

/// The fewest hex digits taken as a prefix of an evidence digest (reports
/// cite records by 16).
pub const MIN_DIGEST_PREFIX: usize = 8;

/// [`Explanation::check`] of a record that reads back with its digest.
pub const INTACT: &str = "intact";

/// `id` as an evidence digest or a prefix of one: from
/// [`MIN_DIGEST_PREFIX`] to 64 hex digits (either case, `sha256:` optional),
/// lowercased; `None` for anything else (row ids, addresses, short words).
pub fn digest_prefix(id: &str) -> Option<String> {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    ((MIN_DIGEST_PREFIX..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// The digests an ambiguous prefix names, for its error: the first 20.
pub(crate) fn list_digests(matches: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut s = matches.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if matches.len() > SHOWN {
        s.push_str(&format!(" and {} more", matches.len() - SHOWN));
    }
    s
}

/// Why a row exists: the row, the rule that produced it, the page and the
/// evidence record (where it is stored, when and from where it was captured).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Explanation {
    /// The id asked about.
    pub id: String,
    /// Row kind (`listing`, `vendor`, ... or `evidence`).
    pub kind: String,
    /// A one-line summary of the row.
    pub summary: String,
    /// Profile that produced the row.
    pub profile: Option<String>,
    /// Rule inside the profile.
    pub rule: Option<String>,
    /// Page type the profile assigned.
    pub page_type: Option<String>,
    /// Evidence digest.
    pub sha256: Option<String>,
    /// Captured URL(s).
    pub urls: Vec<String>,
    /// Source names (files, WARC records).
    pub sources: Vec<String>,
    /// Capture time.
    pub captured_at: Option<String>,
    /// The capture time is the file's modification time, taken at import
    /// because none was given: it may be when a copy was made.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub captured_at_is_file_time: bool,
    /// The row's own date of observation, where it carries one (a dataset's
    /// crawl date): estimates and linking date the row by it, not by the
    /// capture of the file, which is when the file was acquired.
    pub observed_at: Option<String>,
    /// Where the record is stored: evidence file and offset.
    pub stored_at: Option<String>,
    /// Version that extracted the page.
    pub extracted_by: Option<String>,
    /// Why the capture is not the whole response, when it was cut short
    /// (`WARC-Truncated`): rows from it may be incomplete.
    pub truncated: Option<String>,
    /// The record read back and re-hashed as it was explained: `intact`,
    /// or what is wrong (altered, unreadable, not in the store).
    pub check: Option<String>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}: {}", self.kind, self.id, self.summary)?;
        if let (Some(p), Some(r)) = (&self.profile, &self.rule) {
            writeln!(f, "  produced by  profile {p}, rule {r}")?;
        }
        if let Some(t) = &self.page_type {
            writeln!(f, "  on a page of type {t}")?;
        }
        if let Some(s) = &self.sha256 {
            writeln!(f, "  evidence     sha256 {s}")?;
        }
        for u in &self.urls {
            writeln!(f, "  url          {u}")?;
        }
        for s in &self.sources {
            writeln!(f, "  source       {s}")?;
        }
        let file_time = if self.captured_at_is_file_time { " (the file's modification time when these bytes were first imported: no capture time was given)" } else { "" };
        writeln!(f, "  captured at  {}{file_time}", self.captured_at.as_deref().unwrap_or("unknown"))?;
        if let Some(o) = &self.observed_at {
            writeln!(f, "  observed on  {o} (the row's own date; the row is dated by it, not by the capture)")?;
        }
        if let Some(s) = &self.stored_at {
            writeln!(f, "  stored in    {s}")?;
        }
        if let Some(v) = &self.extracted_by {
            writeln!(f, "  extracted by {v}")?;
        }
        if let Some(why) = &self.truncated {
            writeln!(f, "  cut short   the capture is not the whole response (WARC-Truncated: {why}): rows from it may be incomplete")?;
        }
        match self.check.as_deref() {
            Some(INTACT) => writeln!(f, "  checked      intact: the record reads back with this SHA-256 (this record only; `dragnet verify` checks all)")?,
            Some(problem) => writeln!(f, "  checked      NOT INTACT: {problem}")?,
            None => {}
        }
        Ok(())
    }
}

/// A row's own observation date (datasets give one per row; a captured
/// page's rows have none).
fn observed_at(r: &AnyRecord) -> Option<String> {
    match r {
        AnyRecord::Listing(l) => l.observed_at.clone(),
        AnyRecord::Vendor(v) => v.observed_at.clone(),
        AnyRecord::Feedback(f) => f.observed_at.clone(),
        AnyRecord::Category(_) | AnyRecord::Identifier(_) => None,
    }
}

fn summary(r: &AnyRecord) -> (String, String) {
    match r {
        AnyRecord::Listing(l) => (
            "listing".into(),
            format!(
                "{:?} by {} on {} at {}",
                l.title,
                l.vendor.as_deref().unwrap_or("?"),
                l.market,
                l.price.as_ref().map(|p| format!("{} {}", p.amount, p.currency)).unwrap_or_else(|| "?".into())
            ),
        ),
        AnyRecord::Vendor(v) => ("vendor".into(), format!("{} on {}", v.name, v.market)),
        AnyRecord::Feedback(fb) => (
            "feedback".into(),
            format!("on {} for {}", fb.market, fb.vendor.as_deref().unwrap_or("?")),
        ),
        AnyRecord::Category(c) => ("category".into(), format!("{} on {}", c.name, c.market)),
        AnyRecord::Identifier(i) => ("identifier".into(), format!("{} {}", i.kind.as_str(), i.value)),
    }
}

impl Case {
    /// The stored evidence record `id` names: its whole SHA-256 or a prefix
    /// of at least [`MIN_DIGEST_PREFIX`] hex digits (reports cite 16) that
    /// only its digest starts with. `Ok(None)` when `id` is neither or names
    /// no stored record; [`CaseError::AmbiguousDigest`], listing them, when
    /// it names several.
    pub fn evidence_digest(&self, id: &str) -> Result<Option<Sha256>> {
        let Some(prefix) = digest_prefix(id) else { return Ok(None) };
        match self.evidence.digests_with_prefix(&prefix).as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => Err(CaseError::AmbiguousDigest { prefix, matches: many.iter().map(Sha256::to_hex).collect() }),
        }
    }

    /// Explains a row id (`L-…`, `V-…`, `F-…`, `C-…`, `I-…`) or an evidence
    /// digest, whole or a unique prefix (see [`Case::evidence_digest`]).
    /// `Ok(None)` when nothing in the case has that id.
    pub fn explain(&self, id: &str) -> Result<Option<Explanation>> {
        if let Some(sha) = self.evidence_digest(id)? {
            let mut e = self.describe_evidence(&sha, id, "evidence", "evidence record".into());
            e.summary = format!("{} bytes", self.evidence.record(&sha).map(|r| r.payload_length).unwrap_or(0));
            return Ok(Some(e));
        }
        let Ok(row_id) = id.parse::<RowId>() else { return Ok(None) };
        let Some(row) = self.store.row(&row_id)? else { return Ok(None) };
        let (kind, summary) = summary(&row);
        let Some(prov) = row.provenance().cloned() else {
            return Ok(Some(Explanation {
                id: id.into(),
                kind,
                summary,
                profile: None,
                rule: None,
                page_type: None,
                sha256: None,
                urls: vec![],
                sources: vec![],
                captured_at: None,
                captured_at_is_file_time: false,
                observed_at: observed_at(&row),
                stored_at: None,
                extracted_by: None,
                truncated: None,
                check: None,
            }));
        };
        let mut e = self.describe_evidence(&prov.evidence, id, &kind, summary);
        e.profile = Some(prov.profile);
        e.rule = Some(prov.rule);
        e.observed_at = observed_at(&row);
        Ok(Some(e))
    }

    /// Where row `id` was read, in a few words, for a note on it: a dataset
    /// row's file and line (`bf.csv line 6`), a page's file or URL. `None`
    /// when the id names no row, or a row with no evidence.
    pub fn row_origin(&self, id: &str) -> Result<Option<String>> {
        let Ok(row_id) = id.parse::<RowId>() else { return Ok(None) };
        let Some(row) = self.store.row(&row_id)? else { return Ok(None) };
        let Some(prov) = row.provenance() else { return Ok(None) };
        let Some(rec) = self.evidence.record(&prov.evidence) else { return Ok(None) };
        let Some(source) = rec.sources.first().or(rec.url.as_ref()) else { return Ok(None) };
        // A dataset row's rule is "row R, line L" (the line it starts on).
        let line = prov.rule.split(", ").find_map(|part| part.strip_prefix("line "));
        Ok(Some(match line {
            Some(n) if prov.profile.starts_with("dataset:") => format!("{source} line {n}"),
            _ => source.clone(),
        }))
    }

    fn describe_evidence(&self, sha: &Sha256, id: &str, kind: &str, summary: String) -> Explanation {
        let rec = self.evidence.record(sha);
        let page = self.store.page(sha).ok().flatten();
        Explanation {
            id: id.into(),
            kind: kind.into(),
            summary,
            profile: page.as_ref().map(|p| p.profile.clone()),
            rule: None,
            page_type: page.as_ref().map(|p| p.page_type.as_str().to_owned()),
            sha256: Some(sha.to_hex()),
            urls: rec.as_ref().map(|r| r.urls.clone()).unwrap_or_default(),
            sources: rec.as_ref().map(|r| r.sources.clone()).unwrap_or_default(),
            captured_at: rec
                .as_ref()
                .and_then(|r| r.captured_at)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            captured_at_is_file_time: rec.as_ref().is_some_and(|r| r.captured_at_is_file_time),
            observed_at: None,
            stored_at: rec.as_ref().map(|r| format!("evidence/{} at offset {}", r.stored_at_file, r.offset)),
            extracted_by: page.map(|p| p.extracted_by),
            truncated: rec.as_ref().and_then(|r| r.truncated.clone()),
            // The record as verify checks it: digests, and what the index
            // (shown above) says of it.
            check: Some(match &rec {
                None => "not in this case's evidence store".to_owned(),
                Some(_) => {
                    let problems = self.evidence.check_one(sha);
                    if problems.is_empty() { INTACT.to_owned() } else { problems.join("; ") }
                }
            }),
        }
    }
}
