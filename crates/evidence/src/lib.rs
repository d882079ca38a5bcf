//! Immutable evidence for dragnet: captured payloads stored as WARC
//! (ISO 28500) records, named by their SHA-256, with an append-only,
//! hash-chained custody log and a `verify` that re-checks everything.
//!
//! Main types:
//!
//! * [`EvidenceStore`]: `<case>/evidence/`. [`EvidenceStore::add`] appends a
//!   payload (deduplicated by SHA-256, keeping every source and URL),
//!   [`EvidenceStore::get`] reads it back by digest (checking it),
//!   [`EvidenceStore::verify`] re-hashes every record, checks the custody
//!   chain and that an [`ACQUIRE`] entry names every record, returning a
//!   [`VerifyReport`] whose [`Problem`]s name the record (file, offset,
//!   digest) or log line.
//! * [`CustodyLog`]: `custody.jsonl`, one hash-chained JSON object per line.
//! * [`read_warc`] / [`WarcReader`]: reads external WARC files for import
//!   (plain, gzip per record, whole-file gzip), recovering after damage;
//!   [`WarcRecord::http_response`] splits HTTP responses and undoes chunking.
//! * [`discover`] and [`url_from_file_name`]: finding import inputs.
//!
//! ```
//! use evidence::{CaptureMeta, EvidenceStore};
//! # let tmp = tempfile::tempdir().unwrap();
//! let dir = tmp.path().join("evidence");
//! let mut store = EvidenceStore::create(&dir)?;
//! let added = store.add(b"<html>page</html>", &CaptureMeta::file("pages/a.html"))?;
//! assert!(added.new);
//! assert_eq!(store.get(&added.sha256)?, b"<html>page</html>");
//! // Every stored record is named by an acquire entry (digest and source),
//! // or `verify` reports it: a custody log cut short cannot pass.
//! let detail = serde_json::json!({"sha256": added.sha256.to_hex(), "source": "pages/a.html"});
//! store.log(evidence::ACQUIRE, detail, "analyst", "dragnet 0.0.0")?;
//! assert!(store.verify().is_intact());
//! # Ok::<(), evidence::Error>(())
//! ```
//!
//! Why WARC files with one gzip member per record: WARC is the format courts
//! and archives already accept and tools (warcio, pywb) can check
//! independently of us; per-record gzip keeps files compact yet lets an
//! index of (file, offset, length) read one record without scanning. The
//! WARC files are the only source of truth; the index is derived and
//! rebuilt from them. Record ids derive from the payload digest so that the
//! same import gives the same ids.
//!
//! **Invariant:** this crate does not parse HTML; it stores and returns
//! bytes. The only structure it understands is WARC and HTTP framing.
#![warn(missing_docs)]

mod custody;
mod discover;
mod error;
mod http;
mod store;
mod warc;

pub use custody::{canonical_json, genesis, CustodyEntry, CustodyLog, ACQUIRE, RECOVER};
pub use discover::{classify, discover, url_from_file_name, Source, SourceKind};
pub use error::{Error, Location, Problem, WarcError, WarcErrorKind};
pub use http::{decode_content, dechunk, parse_response, HttpError, HttpResponse, MAX_DECODED};
pub use store::{
    Added, CaptureMeta, EvidenceStore, Origin, Prepared, RecordInfo, Recovery, RequestInfo, RequestMeta, TornTail, VerifyReport,
    DEFAULT_ROLLOVER, TORN_DIR, WRITER_LOCK,
};
pub use warc::{read_warc, WarcReader, WarcRecord};
