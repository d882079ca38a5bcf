//! Tables out: a [`Table`] is named, typed columns; [`write_parquet`] writes
//! it with arrow-rs (readable by DuckDB, pandas, pyarrow), [`write_csv`] as
//! RFC 4180 CSV with a header. [`TableWriter`] writes a table a batch of
//! rows at a time, for tables too large to hold. The case layer builds the
//! tables; this crate knows nothing about markets.
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// A column's values; `None` is null.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Text.
    Str(Vec<Option<String>>),
    /// Floating point.
    F64(Vec<Option<f64>>),
    /// Integers.
    I64(Vec<Option<i64>>),
    /// Calendar days (Parquet `DATE`; CSV `YYYY-MM-DD`).
    Date(Vec<Option<chrono::NaiveDate>>),
}

/// Days since 1970-01-01, as Arrow's `Date32` counts them.
fn epoch_days(d: chrono::NaiveDate) -> i32 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    // Every NaiveDate is within ±262,143 years: its day count fits.
    i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX)
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Str(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Date(v) => v.len(),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Column::Str(_) => Kind::Str,
            Column::F64(_) => Kind::F64,
            Column::I64(_) => Kind::I64,
            Column::Date(_) => Kind::Date,
        }
    }

    /// Row `i` as CSV writes it (a null empty).
    fn write_cell(&self, i: usize, w: &mut csv::Writer<std::io::BufWriter<std::fs::File>>) -> csv::Result<()> {
        match self {
            Column::Str(v) => w.write_field(model::formula_safe(v[i].as_deref().unwrap_or("")).as_ref()),
            Column::F64(v) => w.write_field(v[i].map(|x| x.to_string()).unwrap_or_default()),
            Column::I64(v) => w.write_field(v[i].map(|x| x.to_string()).unwrap_or_default()),
            Column::Date(v) => w.write_field(v[i].map(|x| x.to_string()).unwrap_or_default()),
        }
    }

    /// The column as an Arrow array.
    fn to_arrow(&self) -> ArrayRef {
        match self {
            Column::Str(v) => Arc::new(v.iter().map(Option::as_deref).collect::<StringArray>()),
            Column::F64(v) => Arc::new(Float64Array::from(v.clone())),
            Column::I64(v) => Arc::new(Int64Array::from(v.clone())),
            Column::Date(v) => Arc::new(v.iter().map(|d| d.map(epoch_days)).collect::<Date32Array>()),
        }
    }
}

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Str,
    /// Floating point.
    F64,
    /// Integers.
    I64,
    /// Calendar days.
    Date,
}

impl Kind {
    fn arrow(self) -> DataType {
        match self {
            Kind::Str => DataType::Utf8,
            Kind::F64 => DataType::Float64,
            Kind::I64 => DataType::Int64,
            Kind::Date => DataType::Date32,
        }
    }
}

/// A named table of equally long columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem: `listings` -> `listings.parquet`.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<(String, Column)>,
}

/// The file formats tables are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet (Snappy-compressed), through arrow-rs.
    Parquet,
    /// RFC 4180 CSV with a header; an empty field is a null.
    Csv,
}

impl Format {
    /// `parquet` or `csv`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "parquet" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// Export failures, with the file.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Columns of different lengths (a bug in the caller).
    #[error("table {table}: column {column} has {found} rows, expected {expected}")]
    Ragged {
        /// Table.
        table: String,
        /// Column.
        column: String,
        /// Its length.
        found: usize,
        /// The first column's length.
        expected: usize,
    },
    /// A batch whose columns are not the table's (a bug in the caller).
    #[error("table {table}: a batch of columns {found:?}, not the table's {expected:?}")]
    Columns {
        /// Table.
        table: String,
        /// The batch's column types.
        found: Vec<Kind>,
        /// The table's.
        expected: Vec<Kind>,
    },
    /// Writing failed.
    #[error("{path}: {message}")]
    Write {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
}

impl Table {
    /// Rows (length of the columns).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }
}

fn werr(path: &Path) -> impl Fn(String) -> ExportError {
    let path = path.display().to_string();
    move |message| ExportError::Write { path: path.clone(), message }
}

/// A table written to its file as it comes, a batch of rows at a time: a
/// case's millions of feedback rows are never one table in memory (held
/// whole, with their cells as strings and again as Arrow arrays, the 10M
/// bench's were more than 23 GB).
pub struct TableWriter {
    name: String,
    path: PathBuf,
    columns: Vec<Kind>,
    rows: usize,
    sink: Sink,
}

enum Sink {
    Parquet(Box<parquet::arrow::ArrowWriter<std::fs::File>>, SchemaRef),
    Csv(Box<csv::Writer<std::io::BufWriter<std::fs::File>>>),
}

/// A table written: its name, rows and file.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The table's name.
    pub name: String,
    /// Rows written.
    pub rows: usize,
    /// Its file.
    pub path: PathBuf,
}

impl TableWriter {
    /// Starts `dir/<name>.<format's extension>` with these columns (names
    /// and types); nothing is written but the CSV header until a batch is.
    pub fn create(format: Format, dir: &Path, name: &str, columns: &[(&str, Kind)]) -> Result<TableWriter, ExportError> {
        let path = dir.join(format!("{name}.{}", format.extension()));
        let e = werr(&path);
        let file = std::fs::File::create(&path).map_err(|x| e(x.to_string()))?;
        let sink = match format {
            Format::Parquet => {
                let fields: Vec<Field> = columns.iter().map(|(n, k)| Field::new(*n, k.arrow(), true)).collect();
                let schema: SchemaRef = Arc::new(Schema::new(fields));
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .build();
                let w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|x| e(x.to_string()))?;
                Sink::Parquet(Box::new(w), schema)
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
                w.write_record(columns.iter().map(|(n, _)| *n)).map_err(|x| e(x.to_string()))?;
                Sink::Csv(Box::new(w))
            }
        };
        Ok(TableWriter { name: name.to_owned(), path, columns: columns.iter().map(|(_, k)| *k).collect(), rows: 0, sink })
    }

    /// Writes a batch of rows: `batch` holds the table's columns in order
    /// (owned or borrowed), each as long as the others.
    pub fn write<C: std::borrow::Borrow<Column>>(&mut self, batch: &[C]) -> Result<(), ExportError> {
        let kinds: Vec<Kind> = batch.iter().map(|c| c.borrow().kind()).collect();
        if kinds != self.columns {
            return Err(ExportError::Columns { table: self.name.clone(), found: kinds, expected: self.columns.clone() });
        }
        let n = batch.first().map_or(0, |c| c.borrow().len());
        if let Some((i, c)) = batch.iter().enumerate().find(|(_, c)| c.borrow().len() != n) {
            return Err(ExportError::Ragged { table: self.name.clone(), column: format!("#{}", i + 1), found: c.borrow().len(), expected: n });
        }
        if n == 0 {
            return Ok(());
        }
        let e = werr(&self.path);
        match &mut self.sink {
            Sink::Parquet(w, schema) => {
                let arrays: Vec<ArrayRef> = batch.iter().map(|c| c.borrow().to_arrow()).collect();
                let b = RecordBatch::try_new(schema.clone(), arrays).map_err(|x| e(x.to_string()))?;
                w.write(&b).map_err(|x| e(x.to_string()))?;
            }
            Sink::Csv(w) => {
                for i in 0..n {
                    for c in batch {
                        c.borrow().write_cell(i, w).map_err(|x| e(x.to_string()))?;
                    }
                    w.write_record(None::<&[u8]>).map_err(|x| e(x.to_string()))?;
                }
            }
        }
        self.rows += n;
        Ok(())
    }

    /// Ends the file.
    pub fn finish(self) -> Result<Written, ExportError> {
        let e = werr(&self.path);
        match self.sink {
            Sink::Parquet(w, _) => {
                w.close().map_err(|x| e(x.to_string()))?;
            }
            Sink::Csv(mut w) => {
                w.flush().map_err(|x| e(x.to_string()))?;
            }
        }
        Ok(Written { name: self.name, rows: self.rows, path: self.path })
    }
}

/// Writes `table` whole to `dir/<name>.<extension>`.
pub fn write_table(format: Format, table: &Table, dir: &Path) -> Result<Written, ExportError> {
    let columns: Vec<(&str, Kind)> = table.columns.iter().map(|(n, c)| (n.as_str(), c.kind())).collect();
    let n = table.rows();
    if let Some((name, c)) = table.columns.iter().find(|(_, c)| c.len() != n) {
        return Err(ExportError::Ragged { table: table.name.clone(), column: name.clone(), found: c.len(), expected: n });
    }
    let mut w = TableWriter::create(format, dir, &table.name, &columns)?;
    let batch: Vec<&Column> = table.columns.iter().map(|(_, c)| c).collect();
    w.write(&batch)?;
    w.finish()
}

/// Writes `table` to `dir/<name>.parquet`; returns the path.
pub fn write_parquet(table: &Table, dir: &Path) -> Result<PathBuf, ExportError> {
    write_table(Format::Parquet, table, dir).map(|w| w.path)
}

/// Writes `table` to `dir/<name>.csv` (header, RFC 4180 quoting, empty = null).
pub fn write_csv(table: &Table, dir: &Path) -> Result<PathBuf, ExportError> {
    write_table(Format::Csv, table, dir).map(|w| w.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table {
            name: "t".into(),
            columns: vec![
                ("name".into(), Column::Str(vec![Some("a,\"b\"".into()), None])),
                ("x".into(), Column::F64(vec![Some(1.5), None])),
                ("n".into(), Column::I64(vec![None, Some(7)])),
                ("d".into(), Column::Date(vec![chrono::NaiveDate::from_ymd_opt(2014, 3, 1), None])),
            ],
        }
    }

    #[test]
    fn csv_quotes_and_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_csv(&sample(), dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(p).unwrap(), "name,x,n,d\n\"a,\"\"b\"\"\",1.5,,2014-03-01\n,,7,\n");
    }

    #[test]
    fn parquet_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_parquet(&sample(), dir.path()).unwrap();
        let f = std::fs::File::open(p).unwrap();
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap().build().unwrap();
        let batches: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        let b = &batches[0];
        let names = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(names.value(0), "a,\"b\"");
        assert!(b.column(0).is_null(1));
        let n = b.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(n.value(1), 7);
        // A day is a Parquet DATE (days since 1970-01-01), not text.
        let d = b.column(3).as_any().downcast_ref::<Date32Array>().unwrap();
        assert_eq!((d.value(0), b.column(3).is_null(1)), (16130, true));
        assert_eq!(b.schema().field(3).data_type(), &DataType::Date32);
    }

    #[test]
    fn ragged_is_refused() {
        let mut t = sample();
        t.columns.push(("short".into(), Column::I64(vec![Some(1)])));
        assert!(matches!(write_csv(&t, Path::new(".")), Err(ExportError::Ragged { .. })));
    }

    /// A table written in batches is the table written whole, in either
    /// format; a batch of other columns, or of columns of unequal length,
    /// is refused and the rows before it stay.
    #[test]
    fn batches_write_what_the_whole_table_writes() {
        use arrow_array::Array;
        let whole = sample();
        let columns: Vec<(&str, Kind)> = whole.columns.iter().map(|(n, c)| (n.as_str(), c.kind())).collect();
        let row = |i: usize| -> Vec<Column> {
            whole
                .columns
                .iter()
                .map(|(_, c)| match c {
                    Column::Str(v) => Column::Str(vec![v[i].clone()]),
                    Column::F64(v) => Column::F64(vec![v[i]]),
                    Column::I64(v) => Column::I64(vec![v[i]]),
                    Column::Date(v) => Column::Date(vec![v[i]]),
                })
                .collect()
        };
        for format in [Format::Csv, Format::Parquet] {
            let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let one = write_table(format, &whole, a.path()).unwrap();
            let mut w = TableWriter::create(format, b.path(), "t", &columns).unwrap();
            w.write(&row(0)).unwrap();
            w.write(&[Column::Str(vec![]), Column::F64(vec![]), Column::I64(vec![]), Column::Date(vec![])]).unwrap();
            let wrong = w.write(&[Column::I64(vec![Some(1)]), Column::F64(vec![None]), Column::I64(vec![None]), Column::Date(vec![None])]);
            assert!(matches!(wrong, Err(ExportError::Columns { .. })), "{wrong:?}");
            let ragged = w.write(&[Column::Str(vec![None, None]), Column::F64(vec![None]), Column::I64(vec![None]), Column::Date(vec![None])]);
            assert!(matches!(ragged, Err(ExportError::Ragged { .. })), "{ragged:?}");
            w.write(&row(1)).unwrap();
            let batched = w.finish().unwrap();
            assert_eq!((batched.rows, one.rows), (2, 2));
            // Rows as read back: the CSV's text, or Parquet's cells row by row.
            let read = |p: &Path| -> Vec<String> {
                match format {
                    Format::Csv => std::fs::read_to_string(p).unwrap().lines().map(str::to_owned).collect(),
                    Format::Parquet => {
                        let f = std::fs::File::open(p).unwrap();
                        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap().build().unwrap();
                        let mut rows = Vec::new();
                        for b in r {
                            let b = b.unwrap();
                            let (names, x, n, d) = (
                                b.column(0).as_any().downcast_ref::<StringArray>().unwrap(),
                                b.column(1).as_any().downcast_ref::<Float64Array>().unwrap(),
                                b.column(2).as_any().downcast_ref::<Int64Array>().unwrap(),
                                b.column(3).as_any().downcast_ref::<Date32Array>().unwrap(),
                            );
                            for i in 0..b.num_rows() {
                                let cell = |null: bool, v: String| if null { "null".to_owned() } else { v };
                                rows.push(format!(
                                    "{}|{}|{}|{}",
                                    cell(names.is_null(i), names.value(i).to_owned()),
                                    cell(x.is_null(i), x.value(i).to_string()),
                                    cell(n.is_null(i), n.value(i).to_string()),
                                    cell(d.is_null(i), d.value(i).to_string())
                                ));
                            }
                        }
                        rows
                    }
                }
            };
            let once = read(&one.path);
            let want = match format {
                Format::Csv => vec!["name,x,n,d", "\"a,\"\"b\"\"\",1.5,,2014-03-01", ",,7,"],
                Format::Parquet => vec!["a,\"b\"|1.5|null|16130", "null|null|7|null"],
            };
            assert_eq!(once, want);
            assert_eq!(read(&batched.path), once);
        }
    }
}
