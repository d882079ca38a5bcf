//! Tables out: a [`Table`] is named, typed columns; [`write_parquet`] writes
//! it with arrow-rs (readable by DuckDB, pandas, pyarrow), [`write_csv`] as
//! RFC 4180 CSV with a header. The case layer builds the tables; this crate
//! knows nothing about markets.
#![warn(missing_docs)]

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

/// A column's values; `None` is null.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Text.
    Str(Vec<Option<String>>),
    /// Floating point.
    F64(Vec<Option<f64>>),
    /// Integers.
    I64(Vec<Option<i64>>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Str(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
        }
    }

    fn cell(&self, i: usize) -> String {
        match self {
            Column::Str(v) => v[i].clone().unwrap_or_default(),
            Column::F64(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
            Column::I64(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
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

    fn check(&self) -> Result<(), ExportError> {
        let n = self.rows();
        for (name, c) in &self.columns {
            if c.len() != n {
                return Err(ExportError::Ragged { table: self.name.clone(), column: name.clone(), found: c.len(), expected: n });
            }
        }
        Ok(())
    }
}

fn werr(path: &Path) -> impl Fn(String) -> ExportError {
    let path = path.display().to_string();
    move |message| ExportError::Write { path: path.clone(), message }
}

/// Writes `table` to `dir/<name>.parquet`; returns the path.
pub fn write_parquet(table: &Table, dir: &Path) -> Result<std::path::PathBuf, ExportError> {
    table.check()?;
    let path = dir.join(format!("{}.parquet", table.name));
    let e = werr(&path);
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, c) in &table.columns {
        let (dt, a): (DataType, ArrayRef) = match c {
            Column::Str(v) => (DataType::Utf8, Arc::new(StringArray::from(v.clone()))),
            Column::F64(v) => (DataType::Float64, Arc::new(Float64Array::from(v.clone()))),
            Column::I64(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
        };
        fields.push(Field::new(name, dt, true));
        arrays.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|x| e(x.to_string()))?;
    let file = std::fs::File::create(&path).map_err(|x| e(x.to_string()))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).map_err(|x| e(x.to_string()))?;
    w.write(&batch).map_err(|x| e(x.to_string()))?;
    w.close().map_err(|x| e(x.to_string()))?;
    Ok(path)
}

/// Writes `table` to `dir/<name>.csv` (header, RFC 4180 quoting, empty = null).
pub fn write_csv(table: &Table, dir: &Path) -> Result<std::path::PathBuf, ExportError> {
    table.check()?;
    let path = dir.join(format!("{}.csv", table.name));
    let e = werr(&path);
    let mut w = csv::Writer::from_path(&path).map_err(|x| e(x.to_string()))?;
    w.write_record(table.columns.iter().map(|(n, _)| n.as_str())).map_err(|x| e(x.to_string()))?;
    for i in 0..table.rows() {
        w.write_record(table.columns.iter().map(|(_, c)| c.cell(i))).map_err(|x| e(x.to_string()))?;
    }
    w.flush().map_err(|x| e(x.to_string()))?;
    Ok(path)
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
            ],
        }
    }

    #[test]
    fn csv_quotes_and_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_csv(&sample(), dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(p).unwrap(), "name,x,n\n\"a,\"\"b\"\"\",1.5,\n,,7\n");
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
    }

    #[test]
    fn ragged_is_refused() {
        let mut t = sample();
        t.columns.push(("short".into(), Column::I64(vec![Some(1)])));
        assert!(matches!(write_csv(&t, Path::new(".")), Err(ExportError::Ragged { .. })));
    }
}
