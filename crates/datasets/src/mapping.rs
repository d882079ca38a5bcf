//! User-written dataset mappings: a TOML file that describes a CSV or JSON
//! dataset's layout, so a dataset dragnet has no importer for can be read
//! without code. The format is documented, with a full example, in
//! `docs/datasets.md` ("Mapping files").
//!
//! ```toml
//! name = "example-2020"          # format name; provenance profile `dataset:example-2020`
//! kind = "listings"              # one row = a listing (default) or "feedback" (one entry)
//! market = "example"             # constant market (or columns.market)
//! format = "csv"                 # "csv" (default) or "json"
//! encoding = "windows-1252"      # any WHATWG label; default utf-8
//! delimiter = ";"                # csv: one character, or a string such as ", " for
//!                                # lines of quoted fields separated by that string
//! header = true                  # csv: first record is a header (default true)
//! currency = "EUR"               # constant currency when the price shows none
//! observed_at = "2020-05-01"     # constant observation date (or columns.observed_at)
//!
//! [columns]
//! title = "name"                 # header name ...
//! vendor = 3                     # ... or 1-based index
//! price = "price"                # "50", "USD 50", "$1,320.31", "0.5 BTC"
//! category = ["cat", "subcat"]   # several columns, outermost first
//! ships_to = { column = "dest", split = "," }
//! observed_at = { column = "seen", format = "%d/%m/%Y %H:%M", utc_offset = "+02:00" }
//! ```
//!
//! This module also holds helpers the built-in importers share: price and
//! currency checks ([`money`]), a JSON reader that keeps line numbers and
//! number text ([`json`]), and observation-time parsing ([`when`]).

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::common::{self, CsvOptions};
use crate::{DatasetExtraction, DatasetInput};

/// A description of a CSV/JSON dataset's layout (see the module docs and
/// `docs/datasets.md`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Format name, used in provenance (`dataset:<name>`).
    pub name: String,
    /// What one row is: a listing (default) or one feedback entry.
    #[serde(default)]
    pub kind: RowKind,
    /// The market every row is about (lower-cased). A fallback when
    /// `columns.market` is also given and a row's cell is empty.
    #[serde(default)]
    pub market: Option<String>,
    /// `csv` (default) or `json`.
    #[serde(default)]
    pub format: SourceFormat,
    /// WHATWG encoding label of the file's bytes (default `utf-8`).
    #[serde(default)]
    pub encoding: Option<String>,
    /// CSV field separator (default `,`): one character, or a longer string
    /// for files whose fields are all quoted and separated by that string
    /// (Hansa's `", "`).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// CSV: whether the first record is a header (default `true`).
    #[serde(default)]
    pub header: Option<bool>,
    /// CSV: rows with fewer fields are rejected (default: no minimum).
    #[serde(default)]
    pub min_fields: Option<usize>,
    /// JSON: a JSON pointer (RFC 6901) to the array of records, or to an
    /// object whose member values are the records (default: the root).
    #[serde(default)]
    pub records: Option<String>,
    /// Currency code used when the price text and `columns.currency` name none.
    #[serde(default)]
    pub currency: Option<String>,
    /// Category path used when `columns.category` is absent or empty.
    #[serde(default)]
    pub category: Option<Vec<String>>,
    /// Observation time used when `columns.observed_at` is absent, empty or
    /// unparsable: `YYYY-MM-DD` or RFC 3339.
    #[serde(default)]
    pub observed_at: Option<String>,
    /// Which column holds what.
    #[serde(default)]
    pub columns: Columns,
}

/// What one row of the dataset describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    /// A listing observation (title, vendor, price, ...).
    #[default]
    Listings,
    /// One feedback entry (vendor, the listing's title, date, rating, text,
    /// buyer, price paid). Sales estimates count these and price them at the
    /// listing of the same market, vendor and title.
    Feedback,
}

/// The file layout a mapping reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// Delimited text.
    #[default]
    Csv,
    /// A JSON document holding an array (or object) of records.
    Json,
}

/// Column mappings: each value is a header name (string), a 1-based index
/// (integer), for `category` a list of those, or a table
/// `{ column = .., columns = [..], split = "..", format = "..", utc_offset = ".." }`.
/// For JSON records a name is a member key, or a JSON pointer within the
/// record when it starts with `/`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// Listing title (required).
    pub title: Option<ColumnSpec>,
    /// Vendor name (required).
    pub vendor: Option<ColumnSpec>,
    /// Market name, per row.
    pub market: Option<ColumnSpec>,
    /// Price amount, possibly with a currency word or symbol in it.
    pub price: Option<ColumnSpec>,
    /// Currency code of `price`.
    pub currency: Option<ColumnSpec>,
    /// USD price.
    pub price_usd: Option<ColumnSpec>,
    /// BTC price.
    pub price_btc: Option<ColumnSpec>,
    /// Category path: one or several columns, outermost first; `split`
    /// cuts a single column into parts.
    pub category: Option<ColumnSpec>,
    /// Ships from.
    pub ships_from: Option<ColumnSpec>,
    /// Ships to; `split` cuts the cell into destinations.
    pub ships_to: Option<ColumnSpec>,
    /// Units sold (integer; thousands separators allowed).
    pub sold: Option<ColumnSpec>,
    /// Listing rating, as shown.
    pub rating: Option<ColumnSpec>,
    /// Listing link.
    pub url: Option<ColumnSpec>,
    /// The market's listing id.
    pub market_listing_id: Option<ColumnSpec>,
    /// Observation time; `format` is a chrono format string, `unix`, or
    /// absent (RFC 3339, `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM:SS`).
    pub observed_at: Option<ColumnSpec>,
    /// Feedback (`kind = "feedback"`): when it was left, as shown
    /// (`2014-01-05`, `3 days ago`: relative ages count back from observed_at).
    pub date: Option<ColumnSpec>,
    /// Feedback: its text.
    pub text: Option<ColumnSpec>,
    /// Feedback: the buyer, as shown (usually masked).
    pub buyer: Option<ColumnSpec>,
}

/// A column by header name / JSON key, or by 1-based index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnRef {
    /// Header name (CSV) or member key / JSON pointer (JSON).
    Name(String),
    /// 1-based position.
    Index(u64),
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnRef::Name(n) => write!(f, "{n:?}"),
            ColumnRef::Index(i) => write!(f, "#{i}"),
        }
    }
}

/// One `[columns]` entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnSpec {
    /// The column(s), in order.
    pub columns: Vec<ColumnRef>,
    /// Separator that cuts each cell into parts (category, ships_to).
    pub split: Option<String>,
    /// Time format (observed_at): chrono `strftime` syntax or `unix`.
    pub format: Option<String>,
    /// UTC offset for times without one (observed_at), e.g. `-05:00`.
    pub utc_offset: Option<String>,
}

impl<'de> Deserialize<'de> for ColumnRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ColumnRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name (string) or a 1-based column index (integer)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnRef, E> {
                Ok(ColumnRef::Name(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ColumnRef, E> {
                if v < 1 {
                    return Err(E::custom(format!("column index {v}: indexes start at 1")));
                }
                Ok(ColumnRef::Index(v as u64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ColumnRef, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ColumnSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ColumnSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name, a 1-based index, a list of columns, or a table with `column`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnSpec, E> {
                Ok(ColumnSpec { columns: vec![ColumnRef::Name(v.to_owned())], ..ColumnSpec::default() })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ColumnSpec, E> {
                let r = ColumnRef::deserialize(de::value::I64Deserializer::<E>::new(v))?;
                Ok(ColumnSpec { columns: vec![r], ..ColumnSpec::default() })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ColumnSpec, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ColumnSpec, A::Error> {
                let mut columns = Vec::new();
                while let Some(c) = seq.next_element::<ColumnRef>()? {
                    columns.push(c);
                }
                Ok(ColumnSpec { columns, ..ColumnSpec::default() })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ColumnSpec, A::Error> {
                const FIELDS: &[&str] = &["column", "columns", "split", "format", "utc_offset"];
                let mut spec = ColumnSpec::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "column" => spec.columns.push(map.next_value::<ColumnRef>()?),
                        "columns" => spec.columns.extend(map.next_value::<Vec<ColumnRef>>()?),
                        "split" => spec.split = Some(map.next_value()?),
                        "format" => spec.format = Some(map.next_value()?),
                        "utc_offset" => spec.utc_offset = Some(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, FIELDS)),
                    }
                }
                Ok(spec)
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping file that does not parse or does not make sense.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(String);

impl Mapping {
    /// Parses and validates a mapping file.
    pub fn from_toml(text: &str) -> Result<Mapping, MappingError> {
        let m: Mapping = toml::from_str(text).map_err(|e| MappingError(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<(), MappingError> {
        let err = |key: &str, msg: &str| Err(MappingError(format!("`{key}`: {msg}")));
        if self.name.trim().is_empty() {
            return err("name", "must not be empty");
        }
        // The name is a file name in the case (mappings/NAME.toml): no path.
        let plain = self.name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) && !self.name.starts_with('.');
        if !plain {
            return err("name", "letters, digits, '-', '_' and '.' only, not starting with '.' (it names the file mappings/NAME.toml)");
        }
        match self.kind {
            RowKind::Listings => {
                if self.columns.title.is_none() {
                    return err("columns.title", "missing: every listing needs a title column");
                }
                for (key, set) in [
                    ("columns.date", self.columns.date.is_some()),
                    ("columns.text", self.columns.text.is_some()),
                    ("columns.buyer", self.columns.buyer.is_some()),
                ] {
                    if set {
                        return err(key, "applies to kind = \"feedback\" only");
                    }
                }
            }
            RowKind::Feedback => {
                // What a feedback row cannot hold: listing facts.
                let c = &self.columns;
                for (key, set) in [
                    ("columns.price_usd", c.price_usd.is_some()),
                    ("columns.price_btc", c.price_btc.is_some()),
                    ("columns.category", c.category.is_some()),
                    ("columns.ships_from", c.ships_from.is_some()),
                    ("columns.ships_to", c.ships_to.is_some()),
                    ("columns.sold", c.sold.is_some()),
                    ("columns.url", c.url.is_some()),
                    ("columns.market_listing_id", c.market_listing_id.is_some()),
                    ("category", self.category.is_some()),
                ] {
                    if set {
                        return err(key, "is a listing fact: a kind = \"feedback\" row cannot hold it");
                    }
                }
            }
        }
        if self.columns.vendor.is_none() {
            return err("columns.vendor", "missing: every row needs a vendor column");
        }
        if self.market.as_deref().is_none_or(|m| m.trim().is_empty()) && self.columns.market.is_none() {
            return err("market", "missing: give a constant `market` or a `columns.market` column");
        }
        if let Some(label) = &self.encoding {
            let Some(encoding) = encoding_rs::Encoding::for_label(label.trim().as_bytes()) else {
                return err("encoding", &format!("{label:?} is not a WHATWG encoding label"));
            };
            // The CSV reader splits the bytes at commas and line ends before
            // decoding: a file in UTF-16 has NULs between them, and every row
            // was rejected as undecodable (found by a review).
            if self.format == SourceFormat::Csv && !encoding.is_ascii_compatible() {
                return err("encoding", &format!("{label:?} ({}) is not read for CSV files: convert the file to UTF-8 first (iconv -f {} -t UTF-8)", encoding.name(), encoding.name()));
            }
        }
        if let Some(c) = &self.currency {
            if let Err(e) = money::check_currency(c) {
                return err("currency", &e);
            }
        }
        if let Some(t) = &self.observed_at {
            if when::constant(t).is_none() {
                return err("observed_at", &format!("{t:?} is neither YYYY-MM-DD nor RFC 3339"));
            }
        }
        match self.format {
            SourceFormat::Csv => {
                if self.records.is_some() {
                    return err("records", "applies to format = \"json\" only");
                }
                if let Some(d) = &self.delimiter {
                    if d.is_empty() {
                        return err("delimiter", "must not be empty");
                    }
                    if d.chars().count() == 1 && !d.is_ascii() {
                        return err("delimiter", "a one-character delimiter must be ASCII");
                    }
                    if d.contains(['\n', '\r']) {
                        return err("delimiter", "must not contain line breaks");
                    }
                }
            }
            SourceFormat::Json => {
                for (key, set) in [
                    ("delimiter", self.delimiter.is_some()),
                    ("header", self.header.is_some()),
                    ("min_fields", self.min_fields.is_some()),
                ] {
                    if set {
                        return err(key, "applies to format = \"csv\" only");
                    }
                }
                if let Some(p) = &self.records {
                    if !p.is_empty() && !p.starts_with('/') {
                        return err("records", "a JSON pointer is empty or starts with `/`");
                    }
                }
            }
        }
        let header = self.header.unwrap_or(true);
        for (key, spec) in self.columns.all() {
            let key = format!("columns.{key}");
            if spec.columns.is_empty() {
                return err(&key, "names no column");
            }
            if spec.columns.len() > 1 && key != "columns.category" {
                return err(&key, "only `category` takes several columns");
            }
            if spec.split.is_some() && key != "columns.category" && key != "columns.ships_to" {
                return err(&key, "`split` applies to category and ships_to only");
            }
            if spec.split.as_deref() == Some("") {
                return err(&key, "`split` must not be empty");
            }
            if (spec.format.is_some() || spec.utc_offset.is_some()) && key != "columns.observed_at" {
                return err(&key, "`format` and `utc_offset` apply to observed_at only");
            }
            // A format chrono cannot read ("%Q") failed every row, each
            // warning blaming the data (found by a review).
            if let Some(f) = spec.format.as_deref().filter(|f| *f != "unix") {
                let bad = chrono::format::StrftimeItems::new(f).any(|i| matches!(i, chrono::format::Item::Error));
                if bad || !f.contains('%') {
                    return err(&key, &format!("format {f:?} is not a chrono format (such as \"%d/%m/%Y %H:%M\") nor \"unix\""));
                }
            }
            if let Some(o) = &spec.utc_offset {
                if when::offset(o).is_none() {
                    return err(&key, &format!("utc_offset {o:?} is not like +02:00, -0500 or Z"));
                }
            }
            for c in &spec.columns {
                if let (SourceFormat::Csv, false, ColumnRef::Name(n)) = (self.format, header, c) {
                    return err(&key, &format!("column {n:?} is a name, but header = false: use a 1-based index"));
                }
            }
        }
        Ok(())
    }
}

impl Columns {
    fn all(&self) -> Vec<(&'static str, &ColumnSpec)> {
        [
            ("title", &self.title),
            ("vendor", &self.vendor),
            ("market", &self.market),
            ("price", &self.price),
            ("currency", &self.currency),
            ("price_usd", &self.price_usd),
            ("price_btc", &self.price_btc),
            ("category", &self.category),
            ("ships_from", &self.ships_from),
            ("ships_to", &self.ships_to),
            ("sold", &self.sold),
            ("rating", &self.rating),
            ("url", &self.url),
            ("market_listing_id", &self.market_listing_id),
            ("observed_at", &self.observed_at),
            ("date", &self.date),
            ("text", &self.text),
            ("buyer", &self.buyer),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
}

/// A cell's content: text, or (JSON arrays) a list of texts.
enum Cell {
    Text(String),
    List(Vec<String>),
}

impl Cell {
    /// The trimmed text, `None` when empty (a list is joined with ", ").
    fn text(self) -> Option<String> {
        let t = match self {
            Cell::Text(t) => t,
            Cell::List(l) => l.join(", "),
        };
        nonblank(&t)
    }

    fn parts(self, split: Option<&str>) -> Vec<String> {
        let items = match self {
            Cell::Text(t) => vec![t],
            Cell::List(l) => l,
        };
        items
            .iter()
            .flat_map(|t| match split {
                Some(s) => t.split(s).map(str::to_owned).collect::<Vec<_>>(),
                None => vec![t.clone()],
            })
            .filter_map(|p| nonblank(&p))
            .collect()
    }
}

/// `s` trimmed, or `None` when empty or whitespace only.
pub(crate) fn nonblank(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

pub(crate) fn parse(m: &Mapping, input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut out = DatasetExtraction::default();
    // A Mapping built by hand (not through from_toml) is checked here too.
    if let Err(e) = m.validate() {
        out.reject(0, None, format!("invalid mapping: {e}"));
        return out;
    }
    let encoding = m
        .encoding
        .as_deref()
        .and_then(|l| encoding_rs::Encoding::for_label(l.trim().as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let mut markets: Vec<String> = Vec::new();
    match m.format {
        SourceFormat::Csv => parse_csv(m, input, encoding, &mut out, &mut markets),
        SourceFormat::Json => parse_json(m, input, encoding, &mut out, &mut markets),
    }
    out.market = match m.market.as_deref().and_then(nonblank) {
        Some(c) if m.columns.market.is_none() => Some(c.to_lowercase()),
        _ => {
            markets.sort();
            markets.dedup();
            (markets.len() == 1).then(|| markets.remove(0))
        }
    };
    out
}

fn parse_csv(
    m: &Mapping,
    input: &DatasetInput<'_>,
    encoding: &'static encoding_rs::Encoding,
    out: &mut DatasetExtraction,
    markets: &mut Vec<String>,
) {
    let delimiter = m.delimiter.clone().unwrap_or_else(|| ",".to_owned());
    let header_on = m.header.unwrap_or(true);
    let mut index: Option<HashMap<ColumnRef, usize>> = None;
    let mut each = |out: &mut DatasetExtraction, header: Option<&[String]>, row: u64, line: u64, fields: &[String]| {
        let idx = index.get_or_insert_with(|| resolve_header(m, header, out));
        if let Some(min) = m.min_fields {
            if fields.len() < min {
                out.reject(line, Some(row), format!("{} fields, fewer than min_fields = {min}", fields.len()));
                return;
            }
        }
        let cell = |c: &ColumnRef| idx.get(c).and_then(|&i| fields.get(i)).map(|t| Cell::Text(t.clone()));
        let imported = out.imported;
        row_to(m, input, out, row, line, &cell, markets);
        // An imported row longer or shorter than the header may have lost or
        // gained a separator, which shifts the cells after it: said, by line.
        if let Some(h) = header.filter(|h| h.len() != fields.len() && out.imported > imported) {
            out.warn(line, Some(row), format!("{} fields, the header has {}: cells are read by position", fields.len(), h.len()));
        }
    };
    if delimiter.len() == 1 {
        let opts = CsvOptions { delimiter: delimiter.as_bytes()[0], header: header_on, encoding, trim_leading_space: false };
        // read_csv hands the header back only at the end; read it first.
        let header = if header_on { first_csv_record(input.bytes, opts) } else { None };
        common::read_csv(input.bytes, opts, out, |out, r| each(out, header.as_deref(), r.row, r.line, &r.fields));
    } else {
        let text = decode(input.bytes, encoding, out);
        crate::hansa::read_quoted_lines(&text, &delimiter, header_on, out, |out, header, row, line, fields| {
            each(out, header, row, line, &fields)
        });
    }
}


/// The first record of a CSV file, decoded (the header).
fn first_csv_record(bytes: &[u8], opts: CsvOptions) -> Option<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().delimiter(opts.delimiter).has_headers(false).flexible(true).from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    match r.read_byte_record(&mut rec) {
        Ok(true) => Some(
            rec.iter()
                .enumerate()
                .map(|(i, f)| {
                    let t = opts.encoding.decode_without_bom_handling(f).0.into_owned();
                    if i == 0 { t.trim_start_matches('\u{feff}').to_owned() } else { t }
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Decodes the whole file, warning on each line where bytes were replaced
/// (line 0, the whole file, for an encoding that is not ASCII-compatible,
/// whose line ends are not single bytes).
pub(crate) fn decode(bytes: &[u8], encoding: &'static encoding_rs::Encoding, out: &mut DatasetExtraction) -> String {
    let (text, used, had_errors) = encoding.decode(bytes);
    if had_errors {
        let why = format!("bytes that are not valid {} were replaced by U+FFFD", used.name());
        let lines = if used.is_ascii_compatible() { lines_with_bad_bytes(bytes, used) } else { Vec::new() };
        if lines.is_empty() {
            out.warn(0, None, why.clone());
        }
        for line in lines {
            out.warn(line, None, why.clone());
        }
    }
    text.into_owned()
}

/// The 1-based lines (LF, CRLF and a bare CR each end one, as the readers
/// count them) holding bytes `encoding` cannot decode. In an ASCII-compatible
/// encoding no character spans a line end, so each line decodes alone.
fn lines_with_bad_bytes(bytes: &[u8], encoding: &'static encoding_rs::Encoding) -> Vec<u64> {
    let (mut out, mut line, mut start) = (Vec::new(), 1u64, 0usize);
    loop {
        let end = memchr::memchr2(b'\n', b'\r', &bytes[start..]).map(|k| start + k);
        if encoding.decode_without_bom_handling(&bytes[start..end.unwrap_or(bytes.len())]).1 {
            out.push(line);
        }
        let Some(end) = end else { return out };
        start = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') { end + 2 } else { end + 1 };
        line += 1;
    }
}

/// Column refs → 0-based field positions, warning about names the header lacks.
fn resolve_header(m: &Mapping, header: Option<&[String]>, out: &mut DatasetExtraction) -> HashMap<ColumnRef, usize> {
    let mut idx = HashMap::new();
    for (key, spec) in m.columns.all() {
        for c in &spec.columns {
            match c {
                ColumnRef::Index(i) => {
                    idx.insert(c.clone(), (*i as usize).saturating_sub(1));
                }
                ColumnRef::Name(n) => {
                    let h = header.unwrap_or(&[]);
                    let pos = h
                        .iter()
                        .position(|x| x == n)
                        .or_else(|| h.iter().position(|x| x.trim().eq_ignore_ascii_case(n.trim())));
                    match pos {
                        Some(p) => {
                            // Two columns of one name: which one is meant is
                            // the user's to know; the first is read, and said.
                            let same = h.iter().enumerate().filter(|(_, x)| x.trim().eq_ignore_ascii_case(h[p].trim())).map(|(i, _)| (i + 1).to_string()).collect::<Vec<_>>();
                            if same.len() > 1 {
                                out.warn(1, None, format!("columns.{key}: the header has {} columns named {n:?} (#{}): the first, #{}, is read (give an index to read another)", same.len(), same.join(", #"), p + 1));
                            }
                            idx.insert(c.clone(), p);
                        }
                        None => out.warn(1, None, format!("columns.{key}: the header has no column {n:?}")),
                    }
                }
            }
        }
    }
    idx
}

fn parse_json(
    m: &Mapping,
    input: &DatasetInput<'_>,
    encoding: &'static encoding_rs::Encoding,
    out: &mut DatasetExtraction,
    markets: &mut Vec<String>,
) {
    let text = decode(input.bytes, encoding, out);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // A document that breaks off (a file cut short) keeps the whole records
    // read before the break; the one it breaks inside is rejected.
    let (doc, broken) = match json::parse(text) {
        Ok(d) => (d, None),
        Err(json::Broken { line, message, read: Some(read) }) => (read, Some((line, message))),
        Err(json::Broken { line, message, read: None }) => {
            out.reject(line, None, format!("not JSON: {message}"));
            return;
        }
    };
    if let Some((line, message)) = &broken {
        out.warn(*line, None, format!("not JSON from here on: {message}; the whole records before are read"));
    }
    let pointer = m.records.as_deref().unwrap_or("");
    let records: Vec<(u64, &json::J)> = match doc.pointer(pointer).map(json::J::uncut) {
        Some(json::J::Arr(items)) => items.iter().map(|(l, v)| (*l, v)).collect(),
        Some(json::J::Obj(members)) => members.iter().map(|(_, l, v)| (*l, v)).collect(),
        Some(_) => {
            out.reject(1, None, format!("records {pointer:?} is neither an array nor an object"));
            return;
        }
        None => {
            out.reject(1, None, format!("records {pointer:?} is not in the document"));
            return;
        }
    };
    for (i, (line, rec)) in records.into_iter().enumerate() {
        let row = i as u64 + 1;
        out.rows += 1;
        if let json::J::Cut(_) = rec {
            out.reject(line, Some(row), "record cut off where the JSON breaks off");
            continue;
        }
        if !matches!(rec, json::J::Obj(_) | json::J::Arr(_)) {
            out.reject(line, Some(row), "record is not an object or array");
            continue;
        }
        let value = |c: &ColumnRef| match c {
            ColumnRef::Name(n) if n.starts_with('/') => rec.pointer(n),
            ColumnRef::Name(n) => rec.get(n),
            ColumnRef::Index(i) => match rec {
                json::J::Arr(a) => a.get((*i as usize).saturating_sub(1)).map(|(_, v)| v),
                _ => None,
            },
        };
        // A column that holds an object (or objects in a list) has no value
        // to read: said, not left out in silence (`"price": {"amount": 5}`
        // imported as unpriced without a word).
        for (key, spec) in m.columns.all() {
            for c in &spec.columns {
                let nested = match value(c).map(json::J::uncut) {
                    Some(json::J::Obj(_)) => true,
                    Some(json::J::Arr(items)) => items.iter().any(|(_, x)| matches!(x.uncut(), json::J::Obj(_) | json::J::Arr(_))),
                    _ => false,
                };
                if nested {
                    out.warn(line, Some(row), format!("columns.{key}: {c} holds an object or nested list, not a value: left out (a JSON pointer such as \"/seller/name\" reads a value inside)"));
                }
            }
        }
        let cell = |c: &ColumnRef| {
            let v = value(c)?;
            match v {
                json::J::Arr(items) => Some(Cell::List(items.iter().filter_map(|(_, x)| x.scalar_text()).collect())),
                other => other.scalar_text().map(Cell::Text),
            }
        };
        row_to(m, input, out, row, line, &cell, markets);
    }
}

fn row_to(
    m: &Mapping,
    input: &DatasetInput<'_>,
    out: &mut DatasetExtraction,
    row: u64,
    line: u64,
    cell: &dyn Fn(&ColumnRef) -> Option<Cell>,
    markets: &mut Vec<String>,
) {
    match m.kind {
        RowKind::Listings => row_to_listing(m, input, out, row, line, cell, markets),
        RowKind::Feedback => row_to_feedback(m, input, out, row, line, cell, markets),
    }
}

/// The price a row shows, checked: `Ok(None)` when the price cell is empty;
/// `Err` is the reason to reject the row.
fn row_price(
    m: &Mapping,
    out: &mut DatasetExtraction,
    row: u64,
    line: u64,
    text: &dyn Fn(&Option<ColumnSpec>) -> Option<String>,
) -> Result<Option<model::Money>, String> {
    let c = &m.columns;
    let currency_cell = match text(&c.currency) {
        Some(cur) => Some(money::check_currency(&cur).map_err(|e| format!("columns.currency: {e}"))?),
        None => None,
    };
    let Some(p) = text(&c.price) else { return Ok(None) };
    let (amount, shown) = money::parse_price(&p).map_err(|e| format!("price: {e}"))?;
    let currency = match (shown, &currency_cell) {
        (Some(s), Some(col)) if &s != col => {
            out.warn(line, Some(row), format!("price {p:?} shows {s}, columns.currency says {col}: kept {s}"));
            Some(s)
        }
        (Some(s), _) => Some(s),
        (None, Some(col)) => Some(col.clone()),
        (None, None) => m.currency.as_deref().map(str::to_uppercase),
    };
    let Some(currency) = currency else {
        return Err(format!("price {p:?} names no currency and the mapping sets none (`currency`)"));
    };
    money::check_currency(&currency)
        .and_then(|cur| money::check_amount(&amount, &cur))
        .map_err(|e| format!("price {p:?}: {e}"))?;
    Ok(Some(model::Money { amount, currency }))
}

/// The row's market (column, else the constant), lower-cased.
fn row_market(m: &Mapping, text: &dyn Fn(&Option<ColumnSpec>) -> Option<String>) -> Option<String> {
    text(&m.columns.market).or_else(|| m.market.as_deref().and_then(nonblank)).map(|mk| mk.to_lowercase())
}

/// The row's observation time: the column when it parses (else a warning),
/// otherwise the constant.
fn row_observed_at(
    m: &Mapping,
    out: &mut DatasetExtraction,
    row: u64,
    line: u64,
    text: &dyn Fn(&Option<ColumnSpec>) -> Option<String>,
) -> Option<String> {
    match (&m.columns.observed_at, text(&m.columns.observed_at)) {
        (Some(spec), Some(t)) => match when::parse(&t, spec.format.as_deref(), spec.utc_offset.as_deref()) {
            Some(w) => Some(w),
            None => {
                let constant = m.observed_at.as_deref().and_then(when::constant);
                let dated = match &constant {
                    Some(c) => format!("the row is dated by the mapping's observed_at, {c}"),
                    None => format!("{} (the mapping has no observed_at)", crate::common::DATED_AS_CAPTURED),
                };
                out.warn(line, Some(row), format!("observed_at {t:?} does not parse or is no possible time (before 2009-01-03 or after 2100): {dated}"));
                constant
            }
        },
        _ => m.observed_at.as_deref().and_then(when::constant),
    }
}

/// Whether `s` begins as an ISO date does (`dddd-dd-dd`).
fn looks_iso(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() >= 10 && b[..10].iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

fn row_to_feedback(
    m: &Mapping,
    input: &DatasetInput<'_>,
    out: &mut DatasetExtraction,
    row: u64,
    line: u64,
    cell: &dyn Fn(&ColumnRef) -> Option<Cell>,
    markets: &mut Vec<String>,
) {
    let c = &m.columns;
    let text = |spec: &Option<ColumnSpec>| spec.as_ref().and_then(|s| s.columns.first()).and_then(cell).and_then(Cell::text);
    let Some(vendor) = text(&c.vendor) else {
        out.reject(line, Some(row), "no vendor (columns.vendor is empty or missing)");
        return;
    };
    let Some(market) = row_market(m, &text) else {
        out.reject(line, Some(row), "no market (columns.market is empty and no constant `market`)");
        return;
    };
    let price = match row_price(m, out, row, line, &text) {
        Ok(p) => p,
        Err(e) => {
            out.reject(line, Some(row), e);
            return;
        }
    };
    let date = text(&c.date);
    match &date {
        // Without a date the entry still counts (the date-free lower bound),
        // but it cannot be priced by date or placed in a month.
        None => out.warn(line, Some(row), "feedback has no date (columns.date is empty or missing)"),
        // A calendar date that is no day (2014-02-30, 0000-01-01) is said
        // here, where the file and line are known; the estimate dates it to
        // its observation.
        Some(d) if looks_iso(d) && when::parse(d, None, None).is_none() => {
            out.warn(line, Some(row), format!("feedback date {d:?} is no possible day (before the first bitcoin block, 2009-01-03, or after 2100, or not in the calendar): dated to its observation"))
        }
        Some(_) => {}
    }
    let feedback = model::Feedback {
        market: market.clone(),
        vendor: Some(vendor),
        listing: text(&c.title),
        date,
        rating: text(&c.rating),
        text: text(&c.text),
        buyer: text(&c.buyer),
        price,
        observed_at: row_observed_at(m, out, row, line, &text),
        provenance: Some(common::provenance(input, &m.name, row, line)),
    };
    if markets.len() < 2 && !markets.contains(&market) {
        markets.push(market);
    }
    out.feedback.push(feedback);
    out.imported += 1;
}

fn row_to_listing(
    m: &Mapping,
    input: &DatasetInput<'_>,
    out: &mut DatasetExtraction,
    row: u64,
    line: u64,
    cell: &dyn Fn(&ColumnRef) -> Option<Cell>,
    markets: &mut Vec<String>,
) {
    let c = &m.columns;
    let first = |spec: &Option<ColumnSpec>| spec.as_ref().and_then(|s| s.columns.first()).and_then(cell);
    let text = |spec: &Option<ColumnSpec>| first(spec).and_then(Cell::text);
    let Some(title) = text(&c.title) else {
        out.reject(line, Some(row), "no title (columns.title is empty or missing)");
        return;
    };
    let Some(vendor) = text(&c.vendor) else {
        out.reject(line, Some(row), "no vendor (columns.vendor is empty or missing)");
        return;
    };
    let Some(market) = row_market(m, &text) else {
        out.reject(line, Some(row), "no market (columns.market is empty and no constant `market`)");
        return;
    };
    let mut listing = model::Listing { market: market.clone(), title, vendor: Some(vendor), ..Default::default() };
    match row_price(m, out, row, line, &text) {
        Ok(Some(price)) => {
            if price.currency == "USD" {
                listing.price_usd = Some(price.amount.clone());
            }
            if price.currency == "BTC" {
                listing.price_btc = Some(price.amount.clone());
            }
            listing.price = Some(price);
        }
        Ok(None) => {}
        Err(e) => {
            out.reject(line, Some(row), e);
            return;
        }
    }
    for (spec, want, key) in [(&c.price_usd, "USD", "price_usd"), (&c.price_btc, "BTC", "price_btc")] {
        let Some(p) = text(spec) else { continue };
        let amount = match money::parse_price(&p) {
            Ok((_, Some(shown))) if shown != want => Err(format!("shows {shown}, not {want}")),
            Ok((a, _)) => money::check_amount(&a, want).map(|_| a),
            Err(e) => Err(e),
        };
        match amount {
            Ok(a) if want == "USD" => listing.price_usd = Some(a),
            Ok(a) => listing.price_btc = Some(a),
            Err(e) => {
                out.reject(line, Some(row), format!("{key} {p:?}: {e}"));
                return;
            }
        }
    }
    if let Some(spec) = &c.category {
        let split = spec.split.as_deref();
        listing.category = spec.columns.iter().filter_map(cell).flat_map(|x| x.parts(split)).collect();
    }
    if listing.category.is_empty() {
        listing.category = m.category.clone().unwrap_or_default().iter().filter_map(|s| nonblank(s)).collect();
    }
    listing.ships_from = text(&c.ships_from);
    if let Some(spec) = &c.ships_to {
        listing.ships_to = first(&c.ships_to).map(|x| x.parts(spec.split.as_deref())).unwrap_or_default();
    }
    if let Some(s) = text(&c.sold) {
        // Thousands grouped as a price's are ("1,234"); other commas ("12,50",
        // "1,2,3") are no whole number (they were dropped: 1250, 123).
        match money::strip_thousands(s.trim()).parse::<u64>() {
            Ok(n) if n <= model::MOST_SOLD => listing.sold = Some(n),
            Ok(n) => out.warn(line, Some(row), format!("sold {n} is more than any listing sells (over {}): left out", model::MOST_SOLD)),
            Err(_) => out.warn(line, Some(row), format!("{}: left out", common::not_a_count("sold", &s))),
        }
    }
    listing.rating = text(&c.rating);
    listing.url = text(&c.url);
    listing.market_listing_id = text(&c.market_listing_id);
    listing.observed_at = row_observed_at(m, out, row, line, &text);
    listing.provenance = Some(common::provenance(input, &m.name, row, line));
    // Only whether there is exactly one market matters.
    if markets.len() < 2 && !markets.contains(&market) {
        markets.push(market);
    }
    out.listings.push(listing);
    out.imported += 1;
}

/// Prices: amount text, currency codes, plausibility.
pub(crate) mod money {
    /// Currency codes dragnet accepts.
    pub(crate) const KNOWN: [&str; 10] = ["USD", "EUR", "GBP", "AUD", "CAD", "CHF", "BTC", "XMR", "LTC", "ETH"];

    /// Splits a shown price (`USD 1,320.31`, `50 EUR`, `$5`, `0.02577`) into
    /// its decimal amount text (thousands separators removed, otherwise as
    /// shown) and the currency it names, upper-cased (not yet checked).
    pub(crate) fn parse_price(shown: &str) -> Result<(String, Option<String>), String> {
        let t = shown.trim();
        let mut currency = None;
        let mut rest = t;
        for (sym, code) in [("$", "USD"), ("US$", "USD"), ("€", "EUR"), ("£", "GBP"), ("฿", "BTC"), ("Ƀ", "BTC")] {
            if let Some(r) = rest.strip_prefix(sym) {
                currency = Some(code.to_owned());
                rest = r.trim_start();
                break;
            }
            if let Some(r) = rest.strip_suffix(sym) {
                currency = Some(code.to_owned());
                rest = r.trim_end();
                break;
            }
        }
        if currency.is_none() {
            let lead: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            let trail: String = {
                let mut v: Vec<char> = rest.chars().rev().take_while(|c| c.is_ascii_alphabetic()).collect();
                v.reverse();
                v.into_iter().collect()
            };
            if !lead.is_empty() {
                currency = Some(lead.to_ascii_uppercase());
                rest = rest[lead.len()..].trim_start();
            } else if !trail.is_empty() {
                currency = Some(trail.to_ascii_uppercase());
                rest = rest[..rest.len() - trail.len()].trim_end();
            }
        }
        if let Some(n) = rest.strip_prefix('-') {
            if is_decimal(&strip_thousands(n.trim())) {
                return Err(format!("negative price {shown:?}"));
            }
        }
        let mut amount = strip_thousands(rest);
        // Exponent form (`5e-05`, `1.5E-05`), as Python's json.dumps and
        // JavaScript write small BTC amounts: expanded to plain decimal text,
        // digit for digit (they were rejected as "not a price"; found by a
        // review).
        if !is_decimal(&amount) && rest.contains(['e', 'E']) {
            if let Some(d) = crate::agora::decimal_text(rest) {
                if d.starts_with('-') && d.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
                    return Err(format!("negative price {shown:?}"));
                }
                amount = d.trim_start_matches('-').to_owned();
            }
        }
        if !is_decimal(&amount) {
            return Err(format!("{shown:?} is not a price"));
        }
        Ok((amount, currency))
    }

    /// `1,320.31` → `1320.31`; anything else unchanged.
    pub(crate) fn strip_thousands(s: &str) -> String {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let groups: Vec<&str> = int.split(',').collect();
        let grouped = groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
        if !grouped {
            return s.to_owned();
        }
        let mut out = groups.concat();
        if let Some(f) = frac {
            out.push('.');
            out.push_str(f);
        }
        out
    }

    /// Plain decimal text: `12`, `12.5`, `.5`, `12.`.
    pub(crate) fn is_decimal(s: &str) -> bool {
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        (!i.is_empty() || !f.is_empty())
            && i.bytes().all(|b| b.is_ascii_digit())
            && f.bytes().all(|b| b.is_ascii_digit())
    }

    /// A known currency code, upper-cased.
    pub(crate) fn check_currency(code: &str) -> Result<String, String> {
        let c = code.trim().to_ascii_uppercase();
        if KNOWN.contains(&c.as_str()) {
            Ok(c)
        } else {
            Err(format!("unknown currency {:?} (known: {})", code.trim(), KNOWN.join(" ")))
        }
    }

    /// The largest believable listing price per currency: a million units
    /// of a fiat currency (the largest real bulk listings in the datasets are
    /// about 260,000 AUD; placeholder prices such as USD 12,575,348.74 are
    /// above), and amounts of coins worth far more than that at any time.
    pub(crate) fn limit(currency: &str) -> f64 {
        match currency {
            "BTC" => 10_000.0,
            "ETH" => 100_000.0,
            "XMR" | "LTC" => 1_000_000.0,
            _ => 1_000_000.0,
        }
    }

    /// Rejects absurd amounts (the text is not changed; the float is only compared).
    pub(crate) fn check_amount(amount: &str, currency: &str) -> Result<(), String> {
        let v: f64 = amount.parse().map_err(|_| format!("{amount:?} is not a number"))?;
        let lim = limit(currency);
        if v > lim {
            return Err(format!("absurd price {amount} {currency} (more than {lim} {currency})"));
        }
        Ok(())
    }
}

/// Observation times.
pub(crate) mod when {
    use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

    /// RFC 3339 UTC text of an instant.
    pub(crate) fn utc(t: DateTime<FixedOffset>) -> String {
        t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    /// `+02:00`, `-0500`, `Z`, `UTC` → offset.
    pub(crate) fn offset(s: &str) -> Option<FixedOffset> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
            return FixedOffset::east_opt(0);
        }
        let (sign, rest) = match s.as_bytes().first()? {
            b'+' => (1, &s[1..]),
            b'-' => (-1, &s[1..]),
            _ => return None,
        };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let h: i32 = digits[..2].parse().ok()?;
        let m: i32 = digits[2..].parse().ok()?;
        if h > 23 || m > 59 {
            return None;
        }
        FixedOffset::east_opt(sign * (h * 3600 + m * 60))
    }

    /// A constant: `YYYY-MM-DD` (kept) or RFC 3339 (→ UTC).
    pub(crate) fn constant(s: &str) -> Option<String> {
        parse(s, None, None)
    }

    /// A time cell: with `format` (chrono syntax, or `unix`) or, without,
    /// RFC 3339 / `YYYY-MM-DD` / `YYYY-MM-DD HH:MM:SS[.f]`. Times without an
    /// offset take `utc_offset` (default UTC). A date alone stays a date.
    /// A time before the first bitcoin block (2009-01-03) or after 2100 is
    /// none, as the estimators take days (0000-01-01 and 9999-12-31 were
    /// read as days and counted in their months).
    pub(crate) fn parse(s: &str, format: Option<&str>, utc_offset: Option<&str>) -> Option<String> {
        // Both forms begin with the day, `YYYY-MM-DD`, which orders as text.
        parse_any(s, format, utc_offset).filter(|t| crate::common::possible_time(t))
    }

    fn parse_any(s: &str, format: Option<&str>, utc_offset: Option<&str>) -> Option<String> {
        let s = s.trim();
        let off = match utc_offset {
            Some(o) => offset(o)?,
            None => FixedOffset::east_opt(0)?,
        };
        let naive = |n: NaiveDateTime| off.from_local_datetime(&n).single().map(utc);
        match format {
            Some("unix") => {
                let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
                let secs: i64 = secs.parse().ok()?;
                if !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let mut f = frac.to_owned();
                f.truncate(9);
                while f.len() < 9 {
                    f.push('0');
                }
                let nanos: u32 = f.parse().ok()?;
                DateTime::from_timestamp(secs, nanos).map(|t| utc(t.fixed_offset()))
            }
            Some(fmt) => {
                if let Ok(t) = DateTime::parse_from_str(s, fmt) {
                    return Some(utc(t));
                }
                if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
                    return naive(n);
                }
                NaiveDate::parse_from_str(s, fmt).ok().map(|d| d.format("%Y-%m-%d").to_string())
            }
            None => {
                if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                    return Some(utc(t));
                }
                if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                    if s.len() == 10 {
                        return Some(d.format("%Y-%m-%d").to_string());
                    }
                }
                for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
                    if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
                        return naive(n);
                    }
                }
                None
            }
        }
    }
}

/// A small JSON reader that keeps the line each value starts on and numbers
/// as their text (so decimal amounts are never rounded through f64).
pub(crate) mod json {
    /// A JSON value. Arrays and objects keep each element's starting line.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum J {
        Null,
        Bool(bool),
        /// The number exactly as written.
        Num(String),
        Str(String),
        /// (line, value)
        Arr(Vec<(u64, J)>),
        /// (key, line of the value, value), in document order.
        Obj(Vec<(String, u64, J)>),
        /// An array or object the document ends (or breaks) inside: what
        /// was read of it, whole elements and the cut last one.
        Cut(Box<J>),
    }

    impl J {
        /// An object member (the first with that key).
        pub(crate) fn get(&self, key: &str) -> Option<&J> {
            match self {
                J::Obj(m) => m.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
                _ => None,
            }
        }

        /// RFC 6901 pointer (`""` is the value itself).
        pub(crate) fn pointer(&self, p: &str) -> Option<&J> {
            if p.is_empty() {
                return Some(self.uncut());
            }
            let mut cur = self.uncut();
            for tok in p.strip_prefix('/')?.split('/') {
                let tok = tok.replace("~1", "/").replace("~0", "~");
                cur = match cur {
                    J::Obj(_) => cur.get(&tok)?,
                    J::Arr(a) => &a.get(tok.parse::<usize>().ok()?)?.1,
                    _ => return None,
                }
                .uncut();
            }
            Some(cur)
        }

        /// What was read of a cut value, or the value.
        pub(crate) fn uncut(&self) -> &J {
            match self {
                J::Cut(v) => v,
                v => v,
            }
        }

        /// Strings, numbers (as written) and booleans as text; `None` for
        /// null, arrays and objects.
        pub(crate) fn scalar_text(&self) -> Option<String> {
            match self {
                J::Str(s) | J::Num(s) => Some(s.clone()),
                J::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        }
    }

    const MAX_DEPTH: usize = 128;

    struct P<'a> {
        b: &'a [u8],
        s: &'a str,
        i: usize,
        line: u64,
        /// After an error: what was read of the arrays and objects it broke
        /// out of (the outermost once it reaches the top), cut.
        read: Option<J>,
    }

    /// A document that does not parse: the 1-based line and what is wrong,
    /// and what was read of it before (a file cut short keeps its whole
    /// records).
    pub(crate) struct Broken {
        pub(crate) line: u64,
        pub(crate) message: String,
        pub(crate) read: Option<J>,
    }

    /// Parses a whole document.
    pub(crate) fn parse(text: &str) -> Result<J, Broken> {
        let mut p = P { b: text.as_bytes(), s: text, i: 0, line: 1, read: None };
        p.ws();
        let broken = |p: &mut P<'_>, (line, message): (u64, String)| Broken { line, message, read: p.read.take() };
        let v = match p.value(0) {
            Ok(v) => v,
            Err(e) => return Err(broken(&mut p, e)),
        };
        p.ws();
        if p.i < p.b.len() {
            let e = p.err("trailing characters after the JSON value");
            p.read = Some(v);
            return Err(broken(&mut p, e));
        }
        Ok(v)
    }

    impl P<'_> {
        fn err(&self, m: &str) -> (u64, String) {
            (self.line, format!("line {}: {m}", self.line))
        }

        fn ws(&mut self) {
            while let Some(&c) = self.b.get(self.i) {
                match c {
                    b'\n' => self.line += 1,
                    b'\r' if self.b.get(self.i + 1) != Some(&b'\n') => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    _ => return,
                }
                self.i += 1;
            }
        }

        fn value(&mut self, depth: usize) -> Result<J, (u64, String)> {
            if depth > MAX_DEPTH {
                return Err(self.err("nested too deeply"));
            }
            match self.b.get(self.i) {
                None => Err(self.err("unexpected end")),
                Some(b'{') => {
                    self.i += 1;
                    let mut members = Vec::new();
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(J::Obj(members));
                    }
                    loop {
                        self.ws();
                        // A break in a member's name keeps the members read.
                        let k = match self.b.get(self.i) {
                            Some(b'"') => self.string(),
                            _ => Err(self.err("expected a member name")),
                        };
                        let k = match k {
                            Ok(k) => k,
                            Err(e) => {
                                self.read = Some(J::Cut(Box::new(J::Obj(members))));
                                return Err(e);
                            }
                        };
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            self.read = Some(J::Cut(Box::new(J::Obj(members))));
                            return Err(self.err("expected `:`"));
                        }
                        self.i += 1;
                        self.ws();
                        let line = self.line;
                        let v = match self.value(depth + 1) {
                            Ok(v) => v,
                            Err(e) => {
                                if let Some(cut) = self.read.take() {
                                    members.push((k, line, cut));
                                }
                                self.read = Some(J::Cut(Box::new(J::Obj(members))));
                                return Err(e);
                            }
                        };
                        members.push((k, line, v));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(J::Obj(members));
                            }
                            _ => {
                                self.read = Some(J::Cut(Box::new(J::Obj(members))));
                                return Err(self.err("expected `,` or `}`"));
                            }
                        }
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(J::Arr(items));
                    }
                    loop {
                        self.ws();
                        let line = self.line;
                        let v = match self.value(depth + 1) {
                            Ok(v) => v,
                            Err(e) => {
                                if let Some(cut) = self.read.take() {
                                    items.push((line, cut));
                                }
                                self.read = Some(J::Cut(Box::new(J::Arr(items))));
                                return Err(e);
                            }
                        };
                        items.push((line, v));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(J::Arr(items));
                            }
                            _ => {
                                self.read = Some(J::Cut(Box::new(J::Arr(items))));
                                return Err(self.err("expected `,` or `]`"));
                            }
                        }
                    }
                }
                Some(b'"') => self.string().map(J::Str),
                Some(b't') => self.word("true", J::Bool(true)),
                Some(b'f') => self.word("false", J::Bool(false)),
                Some(b'n') => self.word("null", J::Null),
                Some(c) if *c == b'-' || c.is_ascii_digit() => {
                    let start = self.i;
                    while self.b.get(self.i).is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                        self.i += 1;
                    }
                    let n = &self.s[start..self.i];
                    if !valid_number(n) {
                        return Err(self.err(&format!("bad number {n:?}")));
                    }
                    Ok(J::Num(n.to_owned()))
                }
                Some(_) => Err(self.err("unexpected character")),
            }
        }

        fn word(&mut self, w: &str, v: J) -> Result<J, (u64, String)> {
            if self.b[self.i..].starts_with(w.as_bytes()) {
                self.i += w.len();
                Ok(v)
            } else {
                Err(self.err("unexpected word"))
            }
        }

        fn hex4(&mut self) -> Result<u32, (u64, String)> {
            let h = self.b.get(self.i..self.i + 4).ok_or_else(|| self.err("short \\u escape"))?;
            let h = std::str::from_utf8(h).ok().and_then(|h| u32::from_str_radix(h, 16).ok());
            let h = h.ok_or_else(|| self.err("bad \\u escape"))?;
            self.i += 4;
            Ok(h)
        }

        /// At `"`: reads a string.
        fn string(&mut self) -> Result<String, (u64, String)> {
            self.i += 1;
            let mut out = String::new();
            loop {
                let start = self.i;
                while self.b.get(self.i).is_some_and(|&c| c != b'"' && c != b'\\' && c != b'\n' && c != b'\r') {
                    self.i += 1;
                }
                out.push_str(&self.s[start..self.i]);
                match self.b.get(self.i) {
                    None => return Err(self.err("unterminated string")),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(out);
                    }
                    Some(b'\n') => {
                        // Not valid JSON, but keep going and count the line.
                        self.line += 1;
                        self.i += 1;
                        out.push('\n');
                    }
                    Some(b'\r') => {
                        // A bare CR ends a line too, as between tokens (a
                        // CR-ended file's lines were counted one short after
                        // it; found by a review); a CR before an LF does not.
                        if self.b.get(self.i + 1) != Some(&b'\n') {
                            self.line += 1;
                        }
                        self.i += 1;
                        out.push('\r');
                    }
                    Some(_) => {
                        self.i += 1;
                        let e = *self.b.get(self.i).ok_or_else(|| self.err("unterminated escape"))?;
                        self.i += 1;
                        match e {
                            b'"' => out.push('"'),
                            b'\\' => out.push('\\'),
                            b'/' => out.push('/'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'n' => out.push('\n'),
                            b'r' => out.push('\r'),
                            b't' => out.push('\t'),
                            b'u' => {
                                let hi = self.hex4()?;
                                let c = if (0xD800..0xDC00).contains(&hi) && self.b[self.i..].starts_with(b"\\u") {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                    } else {
                                        None
                                    }
                                } else {
                                    char::from_u32(hi)
                                };
                                out.push(c.unwrap_or('\u{fffd}'));
                            }
                            _ => return Err(self.err("bad escape")),
                        }
                    }
                }
            }
        }
    }

    fn valid_number(n: &str) -> bool {
        let n = n.strip_prefix('-').unwrap_or(n);
        let (mant, exp) = match n.find(['e', 'E']) {
            Some(p) => (&n[..p], Some(&n[p + 1..])),
            None => (n, None),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, "0"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        digits(int)
            && digits(frac)
            && exp.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
    }
}
