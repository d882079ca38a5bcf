//! Clustering read from the stored index (`<case>/chain/{inputs,outputs,txs}/part-*.parquet`)
//! in one streaming pass, without loading the index: the cluster engine for a chain whose
//! index does not fit in memory.
//!
//! Why a second engine beside [`crate::cluster::cluster`]: the in-memory index costs
//! about 145 bytes per transaction and 70 per address, far too much for the full chain;
//! this pass holds only the union-find (4 bytes per address) and one batch of each table,
//! and writes links, CoinJoins and cluster numbers as it finds them. It makes the
//! multi-input (co-spend) clusters with the CoinJoin filter, the clusters `cluster` makes
//! with no change heuristic merged, and the same files (a test checks both agree).
//! Change heuristics need each output's spender and each address's first output, random
//! reads across the chain; they stay with the in-memory engine.
//!
//! The tables are read in `tx` order (each part is written in id order and parts follow
//! each other), so inputs, outputs and txids meet in a merge, not a join.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray, UInt32Array, UInt64Array};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use serde::Serialize;

use crate::cluster::{shape_of, Dsu};
use crate::error::ChainError;
use crate::store::{self, ClusterMeta, PartWriter};

/// Rows per batch read, and per batch written.
const BATCH: usize = 1 << 16;

/// What [`cluster_stored`] read and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamSummary {
    /// Input rows read.
    pub inputs: u64,
    /// Transactions with two or more inputs (the ones that can join addresses).
    pub multi_input_txs: u64,
    /// Addresses in the index.
    pub addresses: usize,
    /// Clusters.
    pub clusters: usize,
    /// Effective unions recorded (links that joined two clusters).
    pub unions: u64,
    /// Transactions with a CoinJoin shape (skipped when the filter is on).
    pub coinjoins: u64,
}

fn pq_err(path: &Path, e: impl std::fmt::Display) -> ChainError {
    ChainError::Parquet { path: path.to_path_buf(), message: e.to_string() }
}

fn bad(path: &Path, message: String) -> ChainError {
    ChainError::Store { path: path.to_path_buf(), message }
}

/// The batches of some columns of one table, part after part.
struct Batches {
    parts: VecDeque<PathBuf>,
    columns: &'static [&'static str],
    current: Option<(PathBuf, ParquetRecordBatchReader)>,
}

impl Batches {
    fn new(case: &Path, table: &str, parts: u32, columns: &'static [&'static str]) -> Batches {
        let dir = store::chain_dir(case).join(table);
        Batches { parts: (0..parts).map(|p| dir.join(format!("part-{p:05}.parquet"))).collect(), columns, current: None }
    }

    fn open(path: &Path, columns: &[&str]) -> Result<ParquetRecordBatchReader, ChainError> {
        let f = File::open(path).map_err(|e| ChainError::io(path, e))?;
        let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| pq_err(path, e))?;
        let mask = ProjectionMask::columns(b.parquet_schema(), columns.iter().copied());
        b.with_projection(mask).with_batch_size(BATCH).build().map_err(|e| pq_err(path, e))
    }

    /// The next batch and the file it came from, or None after the last part.
    fn next(&mut self) -> Result<Option<(RecordBatch, PathBuf)>, ChainError> {
        loop {
            if let Some((path, reader)) = &mut self.current {
                match reader.next() {
                    Some(b) => return Ok(Some((b.map_err(|e| pq_err(path, e))?, path.clone()))),
                    None => self.current = None,
                }
            }
            let Some(path) = self.parts.pop_front() else { return Ok(None) };
            let reader = Self::open(&path, self.columns)?;
            self.current = Some((path, reader));
        }
    }
}

fn column<T: Array + Clone + 'static>(b: &RecordBatch, name: &str, path: &Path) -> Result<T, ChainError> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .cloned()
        .ok_or_else(|| bad(path, format!("column {name} missing or of wrong type")))
}

/// A forward-only reader of `(tx, value)` rows of a table ordered by `tx`.
struct Cursor<V> {
    batches: Batches,
    value: &'static str,
    keys: UInt32Array,
    values: Option<V>,
    pos: usize,
    last: u32,
}

impl<V: Array + Clone + 'static> Cursor<V> {
    /// `columns` = [key column, value column].
    fn new(case: &Path, table: &str, parts: u32, columns: &'static [&'static str; 2]) -> Cursor<V> {
        Cursor { batches: Batches::new(case, table, parts, columns), value: columns[1], keys: UInt32Array::from(Vec::<u32>::new()), values: None, pos: 0, last: 0 }
    }

    /// Calls `f(values, row)` for every row keyed `t`, skipping rows of smaller keys. Keys
    /// must not decrease, within a part or across parts.
    fn visit(&mut self, t: u32, mut f: impl FnMut(&V, usize)) -> Result<(), ChainError> {
        loop {
            if self.pos == self.keys.len() {
                let Some((b, path)) = self.batches.next()? else { return Ok(()) };
                self.keys = column::<UInt32Array>(&b, self.batches.columns[0], &path)?;
                self.values = Some(column::<V>(&b, self.value, &path)?);
                self.pos = 0;
                if self.keys.null_count() > 0 || self.keys.values().windows(2).any(|w| w[1] < w[0]) || self.keys.values().first().is_some_and(|k| *k < self.last) {
                    return Err(bad(&path, format!("column {} is not in ascending order", self.batches.columns[0])));
                }
                self.last = self.keys.values().last().copied().unwrap_or(self.last);
                continue;
            }
            let k = self.keys.value(self.pos);
            if k > t {
                return Ok(());
            }
            if k == t {
                if let Some(v) = &self.values {
                    f(v, self.pos);
                }
            }
            self.pos += 1;
        }
    }
}

/// Rows of `cluster_links.parquet` or `coinjoins.parquet` waiting to be written.
#[derive(Default)]
struct Pending {
    tx: Vec<u32>,
    txid: Vec<String>,
    label: Vec<&'static str>,
    a: Vec<u32>,
    b: Vec<u32>,
}

impl Pending {
    fn link_columns(&mut self) -> Vec<(&'static str, ArrayRef)> {
        let n = self.tx.len();
        vec![
            ("tx", Arc::new(UInt32Array::from(std::mem::take(&mut self.tx))) as ArrayRef),
            ("txid", Arc::new(StringArray::from(std::mem::take(&mut self.txid)))),
            ("heuristic", Arc::new(StringArray::from(std::mem::take(&mut self.label)))),
            ("a", Arc::new(UInt32Array::from(std::mem::take(&mut self.a)))),
            ("b", Arc::new(UInt32Array::from(std::mem::take(&mut self.b)))),
            ("merged", Arc::new(BooleanArray::from(vec![true; n]))),
        ]
    }

    fn coinjoin_columns(&mut self) -> Vec<(&'static str, ArrayRef)> {
        vec![
            ("tx", Arc::new(UInt32Array::from(std::mem::take(&mut self.tx))) as ArrayRef),
            ("txid", Arc::new(StringArray::from(std::mem::take(&mut self.txid)))),
            ("shape", Arc::new(StringArray::from(std::mem::take(&mut self.label)))),
        ]
    }
}

/// Clusters the case's stored index by the multi-input heuristic (CoinJoin-shaped
/// transactions skipped when `coinjoin_filter`) in one pass over its Parquet parts, and
/// writes the clustering files of [`store::write_clustering`]. Errors name the file.
pub fn cluster_stored(case: &Path, coinjoin_filter: bool) -> Result<StreamSummary, ChainError> {
    let meta_path = store::chain_dir(case).join("meta.json");
    let meta = store::read_meta(case)?.ok_or_else(|| bad(&meta_path, "no chain imported".into()))?;
    let parts = meta.parts;
    let n_addr = address_count(case, parts)?;
    let best_hash = store::stored_best_hash(case, parts)?;
    store::forget_clustering(case)?;
    let mut dsu = Dsu::new(n_addr);
    let mut sum = StreamSummary { addresses: n_addr, ..StreamSummary::default() };

    let mut outputs: Cursor<UInt64Array> = Cursor::new(case, "outputs", parts, &["tx", "value"]);
    let mut txids: Cursor<StringArray> = Cursor::new(case, "txs", parts, &["id", "txid"]);
    let mut inputs = Batches::new(case, "inputs", parts, &["tx", "address"]);
    let dir = store::chain_dir(case);
    let (links_p, cj_p) = (dir.join("cluster_links.parquet"), dir.join("coinjoins.parquet"));
    let mut links = Pending::default();
    let mut cjs = Pending::default();
    // Row groups of one batch: a writer holds its row group in memory until it is full.
    let mut links_w = PartWriter::with_row_groups(&links_p, BATCH)?;
    links_w.write(links.link_columns())?;
    let mut cj_w = PartWriter::with_row_groups(&cj_p, BATCH)?;
    cj_w.write(cjs.coinjoin_columns())?;

    // The transaction being gathered: its id, input count and input addresses.
    let mut current: Option<(u32, u32)> = None;
    let mut addrs: Vec<u32> = Vec::new();
    let (mut values, mut distinct) = (Vec::new(), Vec::new());
    let mut finish = |t: u32, n_in: u32, addrs: &[u32], links: &mut Pending, cjs: &mut Pending, sum: &mut StreamSummary| -> Result<(), ChainError> {
        // One input joins nothing and is no CoinJoin.
        if n_in < 2 {
            return Ok(());
        }
        sum.multi_input_txs += 1;
        values.clear();
        outputs.visit(t, |v, i| values.push(v.value(i)))?;
        let shape = shape_of(n_in, addrs, &mut values, &mut distinct);
        let mut txid = String::new();
        let mut txid_of = |t: u32| -> Result<String, ChainError> {
            if txid.is_empty() {
                txids.visit(t, |v, i| txid = v.value(i).to_owned())?;
            }
            Ok(txid.clone())
        };
        if let Some(shape) = shape {
            sum.coinjoins += 1;
            cjs.tx.push(t);
            cjs.txid.push(txid_of(t)?);
            cjs.label.push(shape);
            if coinjoin_filter {
                return Ok(());
            }
        }
        let Some((&first, rest)) = addrs.split_first() else { return Ok(()) };
        for &a in rest {
            if dsu.union(first, a) {
                sum.unions += 1;
                links.tx.push(t);
                links.txid.push(txid_of(t)?);
                links.label.push(MULTI_INPUT);
                links.a.push(first);
                links.b.push(a);
            }
        }
        Ok(())
    };
    while let Some((b, path)) = inputs.next()? {
        let tx = column::<UInt32Array>(&b, "tx", &path)?;
        let address = column::<UInt32Array>(&b, "address", &path)?;
        for i in 0..b.num_rows() {
            let t = tx.value(i);
            match current {
                Some((c, _)) if c == t => {}
                Some((c, _)) if t < c => return Err(bad(&path, format!("input row {i}: tx {t} after tx {c}: inputs are not in tx order"))),
                _ => {
                    if let Some((c, n)) = current {
                        finish(c, n, &addrs, &mut links, &mut cjs, &mut sum)?;
                    }
                    current = Some((t, 0));
                    addrs.clear();
                }
            }
            if let Some((_, n)) = &mut current {
                *n += 1;
            }
            sum.inputs += 1;
            if address.is_valid(i) {
                let a = address.value(i);
                if a as usize >= n_addr {
                    return Err(bad(&path, format!("input row {i}: address {a} beyond the {n_addr} addresses of the index")));
                }
                addrs.push(a);
            }
        }
        if links.tx.len() >= BATCH {
            links_w.write(links.link_columns())?;
        }
        if cjs.tx.len() >= BATCH {
            cj_w.write(cjs.coinjoin_columns())?;
        }
    }
    if let Some((c, n)) = current {
        finish(c, n, &addrs, &mut links, &mut cjs, &mut sum)?;
    }
    links_w.write(links.link_columns())?;
    links_w.finish()?;
    cj_w.write(cjs.coinjoin_columns())?;
    cj_w.finish()?;

    // Cluster numbers, in address order, written as they come.
    let clusters_p = dir.join("clusters.parquet");
    let rows = |a: Vec<u32>, c: Vec<u32>| -> Vec<(&'static str, ArrayRef)> {
        vec![("address", Arc::new(UInt32Array::from(a)) as ArrayRef), ("cluster", Arc::new(UInt32Array::from(c)))]
    };
    let mut w = PartWriter::with_row_groups(&clusters_p, BATCH)?;
    let (mut addr_col, mut cluster_col) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
    let mut failed = None;
    dsu.into_reps(|a, c| {
        if a == c {
            sum.clusters += 1;
        }
        addr_col.push(a);
        cluster_col.push(c);
        if addr_col.len() == BATCH && failed.is_none() {
            failed = w.write(rows(std::mem::take(&mut addr_col), std::mem::take(&mut cluster_col))).err();
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    w.write(rows(addr_col, cluster_col))?;
    w.finish()?;
    let m = ClusterMeta { best_hash, addresses: n_addr, coinjoin_filter, merge_change: Vec::new(), clusters: sum.clusters };
    store::write_cluster_meta(case, &m)?;
    Ok(sum)
}

/// `LinkKind::MultiInput.name()`, as a `&'static str` for the column.
const MULTI_INPUT: &str = "multi_input";

/// Rows of the `addresses` table, from the parts' footers.
fn address_count(case: &Path, parts: u32) -> Result<usize, ChainError> {
    let n = store::table_rows(case, "addresses", parts)?;
    usize::try_from(n).ok().filter(|n| *n <= u32::MAX as usize).ok_or_else(|| bad(&store::chain_dir(case).join("addresses"), format!("{n} addresses: more than address ids can number")))
}
