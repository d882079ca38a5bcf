//! Error and problem types. Errors stop one operation; problems are findings
//! (of `verify`, `discover`, or a damaged index) that are reported while the
//! rest of the work goes on.

use std::fmt;
use std::path::PathBuf;

use model::Sha256;

/// An operation on the evidence store failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A WARC record could not be read.
    #[error(transparent)]
    Warc(#[from] WarcError),
    /// No record with this payload digest is stored.
    #[error("no evidence record with sha256 {0}")]
    NotFound(Sha256),
    /// A stored record no longer matches its digest or index entry.
    #[error("{file} offset {offset}: record sha256 {sha256}: {what}")]
    Corrupt {
        /// Digest the index expects.
        sha256: Sha256,
        /// Evidence file name.
        file: String,
        /// Byte offset of the record's gzip member.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// `create` was called on a directory that already holds evidence.
    #[error("{}: already holds an evidence store", path.display())]
    AlreadyExists {
        /// The evidence directory.
        path: PathBuf,
    },
    /// `open` was called on a directory that holds no evidence store.
    #[error("{}: not an evidence store directory", path.display())]
    NotAStore {
        /// The directory.
        path: PathBuf,
    },
    /// The caller passed metadata that cannot be stored.
    #[error("invalid capture metadata for {source_name:?}: {what}")]
    InvalidMeta {
        /// `CaptureMeta::source` of the offending capture.
        source_name: String,
        /// What is wrong.
        what: String,
    },
    /// The custody log's last line is cut short (a writer was killed while
    /// writing it): nothing is appended until a recovery sets it aside.
    #[error("{}: the last line is cut short (a writer was killed); a recovery sets it aside before anything is appended", path.display())]
    CustodyTorn {
        /// The custody log file.
        path: PathBuf,
    },
    /// Another process holds the store's writer lock.
    #[error("another dragnet process is writing this case (it holds {}); run this when it has ended", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// A custody log line could not be read.
    #[error("{}: line {line}: {what}", path.display())]
    Custody {
        /// The custody log file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// A WARC record (or the stream around it) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: offset {offset}: {kind}")]
pub struct WarcError {
    /// File (or stream) name as given to the reader.
    pub file: String,
    /// Byte offset in the file of the damaged record, or of the gzip member
    /// that holds it.
    pub offset: u64,
    /// What went wrong.
    pub kind: WarcErrorKind,
}

/// What went wrong reading a WARC file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarcErrorKind {
    /// The file ends in the middle of a record or gzip member. Reading stops.
    #[error("truncated: {0}")]
    Truncated(String),
    /// A gzip member does not decompress (bad deflate data or CRC). The
    /// reader skips to the next gzip member it can find.
    #[error("corrupt gzip data: {0}")]
    CorruptGzip(String),
    /// The record header is malformed. The reader skips to the next record.
    #[error("bad record header: {0}")]
    BadHeader(String),
    /// The record's `Content-Length` does not end at a record boundary:
    /// its block would run into the next record, past the end of the data,
    /// or stop short of the record's trailer. The record is skipped (its
    /// bytes cannot be told apart from its neighbour's) and reading goes on
    /// at the next `WARC/` line.
    #[error("wrong Content-Length: {0}")]
    Length(String),
    /// A mandatory WARC header is missing; the record was skipped.
    #[error("missing mandatory header {0}")]
    MissingHeader(&'static str),
    /// An I/O error other than damage in the data.
    #[error("I/O error: {0}")]
    Io(String),
}

/// Where a [`Problem`] was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A WARC record in an evidence file (or an imported WARC file).
    Record {
        /// File name (evidence files: relative to the evidence dir).
        file: String,
        /// Byte offset of the record or of its gzip member.
        offset: u64,
        /// Payload digest, when known (from the index or the record).
        sha256: Option<Sha256>,
        /// WARC-Record-ID, when known.
        record_id: Option<String>,
    },
    /// A line of a line-oriented file (custody log, index).
    Line {
        /// File name.
        file: String,
        /// 1-based line number.
        line: usize,
    },
    /// A whole file or directory.
    Path(PathBuf),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Record { file, offset, sha256, record_id } => {
                write!(f, "{file} offset {offset}")?;
                if let Some(s) = sha256 {
                    write!(f, " sha256 {s}")?;
                }
                if let Some(r) = record_id {
                    write!(f, " {r}")?;
                }
                Ok(())
            }
            Location::Line { file, line } => write!(f, "{file} line {line}"),
            Location::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A finding: something damaged, inconsistent or skipped, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub location: Location,
    /// What is wrong, as a sentence fragment without a final period.
    pub what: String,
}

impl Problem {
    pub(crate) fn new(location: Location, what: impl Into<String>) -> Self {
        Problem { location, what: what.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.what)
    }
}

impl From<&WarcError> for Problem {
    fn from(e: &WarcError) -> Self {
        Problem::new(
            Location::Record { file: e.file.clone(), offset: e.offset, sha256: None, record_id: None },
            e.kind.to_string(),
        )
    }
}
