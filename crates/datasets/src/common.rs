//! Shared pieces of the importers: problems, provenance, CSV rows with line
//! numbers, decoding.

use model::Provenance;

use crate::{DatasetExtraction, DatasetInput};

/// How bad a row problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The row produced no records (counted in `rejected`).
    Rejected,
    /// The row was imported, but something in it was repaired or dropped.
    Warning,
}

/// A problem with one row, named by the file's line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// The 1-based physical line the row starts on (0: the whole file).
    pub line: u64,
    /// The 1-based data row number (header excluded), when known.
    pub row: Option<u64>,
    /// Rejected or warning.
    pub severity: Severity,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.severity {
            Severity::Rejected => "row rejected",
            Severity::Warning => "warning",
        };
        match self.row {
            Some(r) => write!(f, "line {} (row {r}): {what}: {}", self.line, self.message),
            None => write!(f, "line {}: {what}: {}", self.line, self.message),
        }
    }
}

impl DatasetExtraction {
    /// Notes a rejected row.
    pub(crate) fn reject(&mut self, line: u64, row: Option<u64>, message: impl Into<String>) {
        self.rejected += 1;
        self.note(RowProblem { line, row, severity: Severity::Rejected, message: message.into() });
    }

    /// Notes a repaired row that was still imported.
    pub(crate) fn warn(&mut self, line: u64, row: Option<u64>, message: impl Into<String>) {
        self.note(RowProblem { line, row, severity: Severity::Warning, message: message.into() });
    }

    /// Lists a problem, or counts it past [`crate::PROBLEMS_LISTED`].
    fn note(&mut self, problem: RowProblem) {
        if self.problems.len() < crate::PROBLEMS_LISTED {
            self.problems.push(problem);
        } else {
            self.problems_not_listed += 1;
        }
    }
}

/// Whether a time or day (`YYYY-MM-DD…`, as the importers write them) can be
/// a market observation: not before the first bitcoin block (2009-01-03),
/// not after 2100. Every importer checks its dates with it (the built-in
/// ones took 1970-01-01, and Grams timestamp -99999999999 as the year -1199,
/// and counted them in those months; found by a review).
pub(crate) fn possible_time(t: &str) -> bool {
    t.get(..10).is_some_and(|day| ("2009-01-03"..="2100-12-31").contains(&day))
}

/// Why count `text` of field `what` is no count: too large for any count
/// (digits only), or no whole number at all. (Both were "not a whole
/// number", which a number too large is; found by a review.)
pub(crate) fn not_a_count(what: &str, text: &str) -> String {
    let digits = crate::mapping::money::strip_thousands(text.trim());
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("{what} {text:?} is past any count (over {})", u64::MAX)
    } else {
        format!("{what} {text:?} is not a whole number")
    }
}

/// What becomes of a row whose own date is missing or impossible: its
/// observation takes the file's capture time.
pub(crate) const DATED_AS_CAPTURED: &str = "the row is dated as the file was captured (--captured-at at import, else the file's modification time)";

/// The provenance of data row `row` (1-based) starting on `line` (1-based).
pub(crate) fn provenance(input: &DatasetInput<'_>, format: &str, row: u64, line: u64) -> Provenance {
    // Written by hand: `format!` per row was 36 perf samples of a 10M-feedback
    // import (a million listing rows), its formatting machinery the most.
    let mut profile = String::with_capacity("dataset:".len() + format.len());
    profile.push_str("dataset:");
    profile.push_str(format);
    let (mut r, mut l) = (itoa::Buffer::new(), itoa::Buffer::new());
    let (row, line) = (r.format(row), l.format(line));
    let mut rule = String::with_capacity("row , line ".len() + row.len() + line.len());
    for part in ["row ", row, ", line ", line] {
        rule.push_str(part);
    }
    Provenance { evidence: input.evidence, profile, rule }
}

/// How to read a CSV file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CsvOptions {
    /// Field separator.
    pub delimiter: u8,
    /// Whether the first record is a header.
    pub header: bool,
    /// Character encoding of the bytes (e.g. `encoding_rs::UTF_8`, `encoding_rs::MACINTOSH`).
    pub encoding: &'static encoding_rs::Encoding,
    /// Skip spaces after a delimiter (Hansa's `", "`).
    pub trim_leading_space: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { delimiter: b',', header: true, encoding: encoding_rs::UTF_8, trim_leading_space: false }
    }
}

/// One decoded CSV record.
#[derive(Debug, Clone)]
pub(crate) struct CsvRow {
    /// 1-based data row number (header excluded).
    pub row: u64,
    /// 1-based physical line the record starts on. Any of CR, LF and CRLF
    /// ends a line, as they end records.
    pub line: u64,
    /// Decoded fields, as many as the record has (check the count yourself).
    pub fields: Vec<String>,
}

/// Reads `bytes` as CSV, calling `each` for every data record in order, and
/// returns the decoded header (when `opts.header`). Records the reader cannot
/// make sense of are rejected on `out` by line; bytes the encoding cannot
/// decode become U+FFFD with a warning. Counts `out.rows`.
pub(crate) fn read_csv(
    bytes: &[u8],
    opts: CsvOptions,
    out: &mut DatasetExtraction,
    mut each: impl FnMut(&mut DatasetExtraction, &CsvRow),
) -> Option<Vec<String>> {
    let reader_from = |at: usize| {
        csv::ReaderBuilder::new().delimiter(opts.delimiter).has_headers(false).flexible(true).trim(csv::Trim::None).from_reader(&bytes[at..])
    };
    // Where the reader started in `bytes`: it starts again after a record
    // whose quote never closed (positions it gives are from its start).
    let mut base = 0usize;
    let mut reader = reader_from(base);
    let mut header = None;
    let mut record = csv::ByteRecord::new();
    let mut row = 0u64;
    let mut first = true;
    let mut lines = LineCounter::default();
    let mut current = CsvRow { row: 0, line: 0, fields: Vec::new() };
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // The csv reader recovers at the next record.
                let line = e.position().map_or(line, |p| lines.line_at(bytes, base + p.byte() as usize));
                reject_record(out, (&mut row, &mut first), opts.header, line, format!("unreadable CSV record: {e}"));
                continue;
            }
        }
        // A record's own position is where it started. The csv reader counts
        // LF only; count CR, LF and CRLF alike from the byte offset instead
        // (AlphaBay's records end with a bare CR).
        let start = record.position().map(|p| base + p.byte() as usize);
        let line = match start {
            Some(at) => lines.line_at(bytes, at),
            None => line,
        };
        if let Some((next, whole)) = start.and_then(|at| unclosed_quote(bytes, at, base + reader.position().byte() as usize, &record, opts.delimiter)) {
            // A record of the header's width whose late quote took no other
            // record ([`LateQuote::whole`]) was cut where the reader says.
            // It is rejected, and reading goes on after it; starting again
            // on its next line read the rest of its fields as rows of their
            // own (5 rows counted for 2 records, and through a mapping a
            // listing made of a field's second line; found by a review).
            if whole && header.as_ref().is_some_and(|h: &Vec<String>| h.len() == record.len()) {
                let why = "a quote in this record does not close where its field ends: its fields cannot be told apart with certainty";
                reject_record(out, (&mut row, &mut first), opts.header, line, why.to_owned());
                continue;
            }
            // Otherwise lines after it were read into its field: the row is
            // rejected, and reading starts again on its next line.
            let why = "a quote opened in this record does not close where its field ends (the lines after it would be read into that field); read again from the next line";
            reject_record(out, (&mut row, &mut first), opts.header, line, why.to_owned());
            base = next;
            reader = reader_from(base);
            continue;
        }
        let mut bad_bytes = false;
        // The fields are decoded into the last row's strings: a file of a
        // million rows does not allocate and free a string per cell.
        let fields = &mut current.fields;
        let mut n = 0;
        for f in record.iter() {
            let f = if opts.trim_leading_space { f.strip_prefix(b" ").unwrap_or(f) } else { f };
            let (text, had_errors) = opts.encoding.decode_without_bom_handling(f);
            bad_bytes |= had_errors;
            match fields.get_mut(n) {
                Some(kept) => {
                    kept.clear();
                    kept.push_str(&text);
                }
                None => fields.push(text.into_owned()),
            }
            n += 1;
        }
        fields.truncate(n);
        if first && opts.header {
            first = false;
            let mut h = fields.clone();
            if let Some(first_cell) = h.first_mut() {
                *first_cell = first_cell.trim_start_matches('\u{feff}').to_owned();
            }
            header = Some(h);
            continue;
        }
        first = false;
        row += 1;
        out.rows += 1;
        if bad_bytes {
            out.warn(line, Some(row), format!("bytes that are not valid {} were replaced by U+FFFD", opts.encoding.name()));
        }
        (current.row, current.line) = (row, line);
        each(out, &current);
    }
    header
}

/// Rejects the record at `line`: a data row (counted) unless it is the
/// header, which is no row and so is not counted as a rejected one (a file
/// of 3 rows read "3 rows, 4 rejected"); the next record is not the first.
fn reject_record(out: &mut DatasetExtraction, (row, first): (&mut u64, &mut bool), header: bool, line: u64, why: String) {
    if *first && header {
        out.warn(line, None, format!("the header is unreadable, so no column is known by name: {why}"));
    } else {
        *row += 1;
        out.rows += 1;
        out.reject(line, Some(*row), why);
    }
    *first = false;
}

/// Where to read again when `record`, which starts at byte `start` of
/// `bytes` and ends before byte `end`, holds a quote that never closed
/// where a field ends: the reader then takes the lines after it into that
/// field, up to the next quote character of the file (or its end), and
/// those rows are lost without an error. Only a record with a line break
/// in a field can be one; its bytes are read again to see whether a quoted
/// field's closing quote is followed by other than a delimiter or the end
/// of the record, or never comes. `None` for any other record.
fn unclosed_quote(bytes: &[u8], mut start: usize, end: usize, record: &csv::ByteRecord, delimiter: u8) -> Option<(usize, bool)> {
    // A quote left open in the file's last record, with no line end after
    // it, takes in no other line, but its fields are not what they seem
    // (it was rejected as "no vendor"; found by a review).
    let last = end >= bytes.len();
    if !last && !record.iter().any(|f| memchr::memchr2(b'\n', b'\r', f).is_some()) {
        return None;
    }
    // The reader may give the line end before a record as its start.
    while start < end && matches!(bytes.get(start), Some(b'\r' | b'\n')) {
        start += 1;
    }
    let late = quote_left_open(&bytes[start..end.min(bytes.len())], delimiter)?;
    // The first line end of the record (CRLF as one), and past it; none
    // in the last record: the file's end.
    let Some(at) = memchr::memchr2(b'\r', b'\n', &bytes[start..]).map(|k| start + k) else { return last.then_some((bytes.len(), late.whole)) };
    Some((if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') { at + 2 } else { at + 1 }, late.whole))
}

/// A quoted field that does not close where its field ends.
struct LateQuote {
    /// Whether the record is still whole as the reader cut it: the quote
    /// closes, and either on the line it opened on (`"Se"cret"`: a stray
    /// quote in one field) or with only spaces before the field's end
    /// (`"two\nlines" ,`). Otherwise (`"bob,1\nv3,"t`: the quote took the
    /// next line, up to another field's quote) lines after it may be
    /// records of their own.
    whole: bool,
}

/// The first quoted field of the record `raw` (from its first byte) that
/// does not close where the field ends, as RFC 4180 reads quotes (one at a
/// field's start opens it, `""` inside is one quote); `None` when every
/// quoted field closes there.
fn quote_left_open(raw: &[u8], delimiter: u8) -> Option<LateQuote> {
    let mut i = 0;
    let mut field_start = true;
    while let Some(&b) = raw.get(i) {
        if !(field_start && b == b'"') {
            field_start = b == delimiter;
            if b == b'\r' || b == b'\n' {
                return None; // the record's end
            }
            i += 1;
            continue;
        }
        let opened = i;
        i += 1;
        loop {
            let Some(k) = memchr::memchr(b'"', &raw[i..]) else { return Some(LateQuote { whole: false }) };
            i += k + 1;
            if raw.get(i) != Some(&b'"') {
                break;
            }
            i += 1;
        }
        match raw.get(i) {
            None | Some(b'\r' | b'\n') => return None,
            Some(&c) if c == delimiter => {
                i += 1;
                field_start = true;
            }
            Some(_) => {
                let one_line = memchr::memchr2(b'\r', b'\n', &raw[opened..i]).is_none();
                let rest = &raw[i..];
                let field_end = rest.iter().position(|&c| c == delimiter || c == b'\r' || c == b'\n').unwrap_or(rest.len());
                let spaces_only = rest[..field_end].iter().all(|&c| c == b' ' || c == b'\t');
                return Some(LateQuote { whole: one_line || spaces_only });
            }
        }
    }
    None
}

/// Physical line numbers from byte offsets, counting CR, LF and CRLF as one
/// line end each; offsets must be asked for in increasing order.
#[derive(Debug, Default)]
pub(crate) struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    /// The 1-based line that byte `offset` is on.
    pub(crate) fn line_at(&mut self, bytes: &[u8], offset: usize) -> u64 {
        // The reader may report a record as starting on the line end (or
        // blank lines) before it; a record never starts with one.
        let mut end = offset.min(bytes.len());
        while matches!(bytes.get(end), Some(b'\r' | b'\n')) {
            end += 1;
        }
        // Line ends found with memchr: a byte at a time this was 0.5
        // CPU-seconds of the 10M-feedback bench's 930 MB, whose records are
        // a kilobyte or more.
        let start = self.offset.min(end);
        for i in memchr::memchr2_iter(b'\r', b'\n', &bytes[start..end]) {
            let at = start + i;
            // CRLF counts once, at its LF.
            if bytes[at] == b'\n' || bytes.get(at + 1) != Some(&b'\n') {
                self.line += 1;
            }
        }
        self.offset = self.offset.max(end);
        self.line + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line counter as first written, a byte at a time.
    fn line_at_reference(bytes: &[u8], offset: usize) -> u64 {
        let mut end = offset.min(bytes.len());
        while matches!(bytes.get(end), Some(b'\r' | b'\n')) {
            end += 1;
        }
        let mut line = 0;
        for i in 0..end {
            match bytes[i] {
                b'\n' => line += 1,
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => line += 1,
                _ => {}
            }
        }
        line + 1
    }

    /// Each record `read_csv` gives: (row, line, fields).
    fn read_all(text: &str) -> (Vec<(u64, u64, Vec<String>)>, DatasetExtraction) {
        let mut out = DatasetExtraction::default();
        let mut rows = Vec::new();
        read_csv(text.as_bytes(), CsvOptions::default(), &mut out, |_, r| rows.push((r.row, r.line, r.fields.clone())));
        (rows, out)
    }

    #[test]
    fn a_quote_never_closed_rejects_its_row_and_the_rest_is_read() {
        // The quote closes at the next quote of the file, or runs to its end.
        for (end, other_quotes) in [("\n", true), ("\r\n", true), ("\r", true), ("\n", false), ("\r", false)] {
            let mut lines = vec!["vendor,title,price".to_owned()];
            for n in 1..=10 {
                lines.push(match n {
                    2 => format!("\"bob{n},t{n},{n}"),
                    _ if other_quotes => format!("v{n},\"t, {n}\",{n}"),
                    _ => format!("v{n},t{n},{n}"),
                });
            }
            let text = lines.join(end) + end;
            let (rows, out) = read_all(&text);
            // Row 2 (line 3) is rejected by its line; rows 3 to 10 are read.
            let read: Vec<(u64, u64)> = rows.iter().map(|r| (r.0, r.1)).collect();
            let want: Vec<(u64, u64)> = (1..=10).filter(|&n| n != 2).map(|n| (n, n + 1)).collect();
            assert_eq!(read, want, "{end:?}");
            assert_eq!(rows[1].2, ["v3", if other_quotes { "t, 3" } else { "t3" }, "3"]);
            assert_eq!((out.rows, out.rejected), (10, 1));
            assert_eq!((out.problems[0].line, out.problems[0].row), (3, Some(2)));
            assert!(out.problems[0].message.contains("does not close"), "{}", out.problems[0].message);
        }
    }

    #[test]
    fn counts_too_large_are_told_from_no_numbers() {
        assert_eq!(not_a_count("sold", "18446744073709551616"), "sold \"18446744073709551616\" is past any count (over 18446744073709551615)");
        assert_eq!(not_a_count("sold", "12,50x"), "sold \"12,50x\" is not a whole number");
        assert_eq!(not_a_count("sold", ""), "sold \"\" is not a whole number");
    }

    #[test]
    fn quotes_that_close_are_read_as_ever() {
        // A field over two lines at the end, an escaped quote, a quote
        // inside an unquoted field: none is a quote left open.
        let text = "a,b\nx,\"say \"\"hi\"\"\"\n5\" screen,y\nlast,\"two\nlines\"\n";
        let (rows, out) = read_all(text);
        assert_eq!(out.rejected, 0, "{:?}", out.problems);
        let fields: Vec<Vec<String>> = rows.into_iter().map(|r| r.2).collect();
        assert_eq!(fields, [vec!["x", "say \"hi\""], vec!["5\" screen", "y"], vec!["last", "two\nlines"]]);
        // The last line opening a quote it never closes is rejected too.
        let (rows, out) = read_all("a,b\nx,y\n\"z,w\n");
        assert_eq!((rows.len(), out.rows, out.rejected), (1, 2, 1));
    }

    proptest::proptest! {
        /// Lines of offsets asked in increasing order are those counted from
        /// the start, a byte at a time: line ends of every kind, runs of
        /// them, offsets on them and past the end.
        #[test]
        fn line_counter_counts_as_from_the_start(
            bytes in proptest::collection::vec(proptest::sample::select(vec![b'a', b',', b'\r', b'\n']), 0..200),
            mut offsets in proptest::collection::vec(0usize..210, 0..20),
        ) {
            offsets.sort_unstable();
            let mut lines = LineCounter::default();
            for o in offsets {
                proptest::prop_assert_eq!(lines.line_at(&bytes, o), line_at_reference(&bytes, o), "offset {}", o);
            }
        }
    }

    #[test]
    fn lines_count_cr_lf_and_crlf() {
        let bytes = b"h,i\ra,\"x\ny\"\rb,2\r\nc,3\n";
        let mut out = DatasetExtraction::default();
        let mut seen = Vec::new();
        read_csv(bytes, CsvOptions::default(), &mut out, |_, r| seen.push((r.row, r.line)));
        assert_eq!(seen, vec![(1, 2), (2, 4), (3, 5)]);
    }

    /// Rows of different widths after a header with a byte-order mark:
    /// each row is read as its own fields (the strings of the row before
    /// are reused, never left over).
    #[test]
    fn rows_read_as_their_own_fields() {
        let bytes = "\u{feff}h1,h2,h3\na,bbbbbbbb,c\nd\n,,\"x\"\"y\"\ne,f\n".as_bytes();
        let mut out = DatasetExtraction::default();
        let mut seen = Vec::new();
        let header = read_csv(bytes, CsvOptions { header: true, ..CsvOptions::default() }, &mut out, |_, r| seen.push(r.fields.clone()));
        assert_eq!(header, Some(vec!["h1".to_owned(), "h2".into(), "h3".into()]));
        let want: Vec<Vec<&str>> = vec![vec!["a", "bbbbbbbb", "c"], vec!["d"], vec!["", "", "x\"y"], vec!["e", "f"]];
        assert_eq!(seen, want);
    }
}
