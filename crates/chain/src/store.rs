//! Persistence of the index as Parquet under `<case>/chain/`, one part per import:
//! `blocks/`, `txs/`, `outputs/`, `inputs/`, `addresses/` each hold `part-NNNNN.parquet`,
//! and `meta.json` holds the network and the number of parts. DuckDB reads a table with
//! `read_parquet('<case>/chain/txs/*.parquet')`. Importing again appends a part with only
//! the new rows; ids continue, so parts concatenate into one consistent table.
//!
//! Why parts instead of rewriting: the chain only grows, and rewriting a billion-row
//! table per import would be wasteful; outputs carry no "spent" column for the same
//! reason (spends are the `inputs` table, joined on `prev_output`).
//!
//! The clustering is stored beside the index after every import that changed the chain
//! (`clusters.parquet`, `cluster_links.parquet`, `coinjoins.parquet`, `clusters.json`,
//! see [`write_clustering`]), so `explain` and `trace` read it instead of re-clustering;
//! it is rewritten whole because one new co-spend can merge clusters anywhere.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray, BooleanArray, Int32Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use bitcoin::hashes::Hash;
use bitcoin::Network;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::schema::types::ColumnPath;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::blocks::BlockSource;
use crate::cluster::{ClusterConfig, Clustering, Link, LinkKind, COINJOIN_SHAPES};
use crate::error::ChainError;
use crate::index::{heights_of_txs, AddrKind, BlockRow, ChainIndex, OutRow, TxRow, NONE};

/// The case's chain metadata (`meta.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Meta {
    /// Network name (`bitcoin`, `testnet`, `regtest`, `signet`).
    pub network: String,
    /// Number of parts written.
    pub parts: u32,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Blocks added by this import.
    pub new_blocks: usize,
    /// Transactions added by this import.
    pub new_transactions: usize,
    /// Blocks in the case after the import.
    pub blocks: usize,
    /// Transactions in the case after the import.
    pub transactions: usize,
    /// Best block hash after the import.
    pub best_hash: Option<String>,
    /// Whether the LevelDB index chose the chain.
    pub used_index: bool,
    /// Non-fatal findings (padding, truncated records, ...).
    pub diagnostics: Vec<String>,
    /// The error that stopped the import early; blocks before it are kept.
    pub error: Option<String>,
}

/// The chain directory of a case.
pub fn chain_dir(case: &Path) -> PathBuf {
    case.join("chain")
}

fn pq_err(path: &Path, e: impl std::fmt::Display) -> ChainError {
    ChainError::Parquet { path: path.to_path_buf(), message: e.to_string() }
}

/// Reads the case's meta, or None if nothing was imported.
pub fn read_meta(case: &Path) -> Result<Option<Meta>, ChainError> {
    let p = chain_dir(case).join("meta.json");
    if !p.exists() {
        return Ok(None);
    }
    let s = std::fs::read_to_string(&p).map_err(|e| ChainError::io(&p, e))?;
    serde_json::from_str(&s).map(Some).map_err(|e| ChainError::Store { path: p, message: e.to_string() })
}

/// Imports the best chain of `blocks_dir` into the case, appending only blocks not stored yet.
pub fn import(case: &Path, blocks_dir: &Path, network: Network) -> Result<ImportReport, ChainError> {
    let meta = read_meta(case)?;
    if let Some(m) = &meta {
        if m.network != network.to_string() {
            return Err(ChainError::Store {
                path: chain_dir(case).join("meta.json"),
                message: format!("case holds {} chain, import asked for {network}", m.network),
            });
        }
    }
    let mut idx = load(case)?.unwrap_or_else(|| ChainIndex::new(network));
    let src = BlockSource::open(blocks_dir, network)?;
    let (b0, t0, o0, i0, a0) = (idx.blocks.len(), idx.txs.len(), idx.outputs.len(), idx.inputs.len(), idx.addrs.len());
    let mut error = None;
    for (i, loc) in src.chain().iter().enumerate().take(idx.blocks.len()) {
        if let Some(stored) = idx.blocks.get(i) {
            if stored.hash != loc.hash.to_byte_array() {
                return Err(ChainError::Reorg {
                    path: chain_dir(case),
                    height: loc.height,
                    stored: bitcoin::BlockHash::from_byte_array(stored.hash).to_string(),
                    found: loc.hash.to_string(),
                });
            }
        }
    }
    let start = idx.blocks.len().min(src.len());
    if let Err(e) = idx.append_from(&src, start) {
        error = Some(stopped_at(&e, src.len() - idx.blocks.len()));
    }
    let new_blocks = idx.blocks.len() - b0;
    if new_blocks > 0 {
        let part = meta.as_ref().map(|m| m.parts).unwrap_or(0);
        write_part(case, &idx, part, (b0, t0, o0, i0, a0))?;
        write_meta(case, &Meta { network: network.to_string(), parts: part + 1 })?;
    }
    // Re-cluster after every import that changed the chain (or when a case from before
    // clusters were stored has none), so explain and trace read the result instead of
    // recomputing it.
    if !idx.blocks.is_empty() && (new_blocks > 0 || load_clustering(case, &idx)?.is_none()) {
        let cl = crate::cluster::cluster(&idx, &ClusterConfig::default());
        write_clustering(case, &idx, &cl, &ClusterConfig::default())?;
    }
    Ok(ImportReport {
        new_blocks,
        new_transactions: idx.txs.len() - t0,
        blocks: idx.blocks.len(),
        transactions: idx.txs.len(),
        best_hash: idx.best_hash(),
        used_index: src.used_index,
        diagnostics: src.diagnostics.iter().map(|d| d.to_string()).collect(),
        error,
    })
}

/// The error that stopped an import at a block, with what it cost: the blocks of the
/// chain from that one on were not imported, as each spends outputs of those before it
/// (so they cannot be taken past a block that is missing).
pub(crate) fn stopped_at(e: &ChainError, not_imported: usize) -> String {
    match not_imported.saturating_sub(1) {
        0 => e.to_string(),
        after => format!("{e}; it and the {after} later blocks of the chain were not imported (each builds on the blocks before it)"),
    }
}

pub(crate) fn write_meta(case: &Path, m: &Meta) -> Result<(), ChainError> {
    let p = chain_dir(case).join("meta.json");
    let s = serde_json::to_string_pretty(m).map_err(|e| ChainError::Store { path: p.clone(), message: e.to_string() })?;
    std::fs::write(&p, s).map_err(|e| ChainError::io(&p, e))
}

/// Stores an index built elsewhere (the bench, tests) as the first part of a case with no
/// chain yet, without clustering it.
pub fn write_index(case: &Path, idx: &ChainIndex) -> Result<(), ChainError> {
    if let Some(m) = read_meta(case)? {
        return Err(ChainError::Store { path: chain_dir(case).join("meta.json"), message: format!("case holds a chain already ({} parts)", m.parts) });
    }
    write_part(case, idx, 0, (0, 0, 0, 0, 0))?;
    write_meta(case, &Meta { network: idx.network.to_string(), parts: 1 })
}

fn u32s(v: impl Iterator<Item = u32>) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(v))
}
fn opt_u32s(v: impl Iterator<Item = u32>) -> ArrayRef {
    Arc::new(v.map(|x| (x != NONE).then_some(x)).collect::<UInt32Array>())
}

/// Rows per record batch and row group written: bounds the memory a write takes, and a
/// reader's (one row group of the columns it reads).
pub(crate) const WRITE_ROWS: usize = 1 << 20;

/// How every table is encoded: Snappy; dictionaries only for the few columns with few
/// distinct values (on unique txids and addresses a dictionary is built and thrown away);
/// ids and positions delta-encoded (consecutive ids pack to almost nothing).
fn writer_props(row_group: usize) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group))
        .set_dictionary_enabled(false);
    for c in ["kind", "heuristic", "shape", "version"] {
        b = b.set_column_dictionary_enabled(ColumnPath::from(c), true);
    }
    for c in ["id", "tx", "vout", "vin", "height", "first_output", "first_input", "first_tx", "cluster"] {
        b = b.set_column_encoding(ColumnPath::from(c), Encoding::DELTA_BINARY_PACKED);
    }
    // Hex of hashes and address bytes: Snappy finds nothing to shorten in them and cost a
    // tenth of the writing time trying. (`address` is also an id column elsewhere.)
    for c in ["txid", "hash", "data"] {
        b = b.set_column_compression(ColumnPath::from(c), Compression::UNCOMPRESSED);
    }
    b.build()
}

/// A Parquet file written batch by batch under a temporary name and renamed when
/// finished, so a crash never leaves a half file that loads.
pub(crate) struct PartWriter {
    path: PathBuf,
    tmp: PathBuf,
    row_group: usize,
    writer: Option<ArrowWriter<File>>,
}

impl PartWriter {
    /// A writer of row groups of [`WRITE_ROWS`] rows.
    pub(crate) fn create(path: &Path) -> Result<PartWriter, ChainError> {
        Self::with_row_groups(path, WRITE_ROWS)
    }

    /// A writer of row groups of `rows` rows (the writer holds one in memory until full).
    pub(crate) fn with_row_groups(path: &Path, rows: usize) -> Result<PartWriter, ChainError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| ChainError::io(dir, e))?;
        Ok(PartWriter { path: path.to_path_buf(), tmp: path.with_extension("parquet.tmp"), row_group: rows, writer: None })
    }

    /// Writes one batch; the first one sets the schema.
    pub(crate) fn write(&mut self, cols: Vec<(&str, ArrayRef)>) -> Result<(), ChainError> {
        let batch = RecordBatch::try_from_iter(cols).map_err(|e| pq_err(&self.path, e))?;
        let w = match &mut self.writer {
            Some(w) => w,
            None => {
                let f = File::create(&self.tmp).map_err(|e| ChainError::io(&self.tmp, e))?;
                self.writer.insert(ArrowWriter::try_new(f, batch.schema(), Some(writer_props(self.row_group))).map_err(|e| pq_err(&self.path, e))?)
            }
        };
        w.write(&batch).map_err(|e| pq_err(&self.path, e))
    }

    /// Closes and renames the file; at least one batch (maybe empty) must have been written.
    pub(crate) fn finish(self) -> Result<(), ChainError> {
        let w = self.writer.ok_or_else(|| ChainError::Store { path: self.path.clone(), message: "no rows written, not even a schema".into() })?;
        w.close().map_err(|e| pq_err(&self.path, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| ChainError::io(&self.path, e))
    }
}

fn write_table(path: &Path, cols: Vec<(&str, ArrayRef)>) -> Result<(), ChainError> {
    let mut w = PartWriter::create(path)?;
    w.write(cols)?;
    w.finish()
}

/// Writes a table of `rows` rows in batches of [`WRITE_ROWS`]: `cols(range)` makes the
/// columns of the rows in `range`.
fn write_rows<'a>(path: &Path, rows: usize, mut cols: impl FnMut(std::ops::Range<usize>) -> Result<Vec<(&'a str, ArrayRef)>, ChainError>) -> Result<(), ChainError> {
    let mut w = PartWriter::create(path)?;
    let mut lo = 0;
    loop {
        let hi = (lo + WRITE_ROWS).min(rows);
        w.write(cols(lo..hi)?)?;
        if hi == rows {
            return w.finish();
        }
        lo = hi;
    }
}

/// The transaction and position of each row of the outputs or inputs of `txs` (taken by
/// `span(tx) -> (first row, rows)`), for the rows `range` counted from `first`, the first
/// row of `txs[0]`. Rows of consecutive transactions are consecutive.
fn owners(txs: &[TxRow], t0: usize, first: usize, range: std::ops::Range<usize>, span: impl Fn(&TxRow) -> (u32, u32)) -> (Vec<u32>, Vec<u32>) {
    let (mut tx, mut pos) = (Vec::with_capacity(range.len()), Vec::with_capacity(range.len()));
    // The first transaction with a row at or after range.start.
    let k = txs.partition_point(|t| {
        let (f, n) = span(t);
        (f + n) as usize <= first + range.start
    });
    for (i, t) in txs.iter().enumerate().skip(k) {
        let (f, n) = span(t);
        for v in 0..n {
            let row = (f + v) as usize - first;
            if row >= range.end {
                return (tx, pos);
            }
            if row >= range.start {
                tx.push((t0 + i) as u32);
                pos.push(v);
            }
        }
    }
    (tx, pos)
}

/// Writes the rows of `idx` from `from` (blocks, txs, outputs, inputs, addresses) as part
/// `part`: the addresses on a second thread, beside the other tables.
fn write_part(case: &Path, idx: &ChainIndex, part: u32, from: (usize, usize, usize, usize, usize)) -> Result<(), ChainError> {
    let dir = chain_dir(case);
    let name = format!("part-{part:05}.parquet");
    let addresses = dir.join("addresses").join(&name);
    std::thread::scope(|s| {
        let a = s.spawn(|| write_addresses(&addresses, idx, from.4));
        let rest = write_tx_tables(&dir, &name, idx, from);
        let a = a.join().unwrap_or_else(|_| Err(ChainError::Store { path: addresses.clone(), message: "address writer panicked".into() }));
        rest.and(a)
    })
}

/// Writes the blocks, txs, outputs and inputs tables of a part.
fn write_tx_tables(dir: &Path, name: &str, idx: &ChainIndex, from: (usize, usize, usize, usize, usize)) -> Result<(), ChainError> {
    let (b0, t0, o0, i0, _) = from;
    let path = |table: &str| dir.join(table).join(name);
    let blocks = &idx.blocks[b0..];
    write_rows(&path("blocks"), blocks.len(), |r| Ok(block_columns(&blocks[r])))?;
    let txs = &idx.txs[t0..];
    write_rows(&path("txs"), txs.len(), |r| Ok(tx_columns(t0 + r.start, &txs[r.clone()], heights_of_txs(&idx.blocks, (t0 + r.start) as u32, r.len()))))?;
    let outs = &idx.outputs[o0..];
    write_rows(&path("outputs"), outs.len(), |r| {
        let (tx, vout) = owners(txs, t0, o0, r.clone(), |t| (t.first_out, t.n_out));
        Ok(output_columns(o0 + r.start, tx, vout, &outs[r]))
    })?;
    let ins = &idx.inputs[i0..];
    let prev = |o: u32| idx.outputs.get(o as usize).copied().unwrap_or(OutRow::unspent(0, NONE));
    write_rows(&path("inputs"), ins.len(), |r| {
        let (tx, vin) = owners(txs, t0, i0, r.clone(), |t| (t.first_in, t.n_in));
        let i = &ins[r.clone()];
        Ok(input_columns(i0 + r.start, tx, vin, i.to_vec(), i.iter().map(|o| prev(*o))))
    })?;
    Ok(())
}

/// Writes the addresses of `idx` from id `a0` on.
fn write_addresses(path: &Path, idx: &ChainIndex, a0: usize) -> Result<(), ChainError> {
    write_rows(path, idx.addrs.len() - a0, |r| {
        let ids = a0 + r.start..a0 + r.end;
        let addrs = ids.clone().map(|i| idx.addrs.get(i as u32)).collect::<Option<Vec<_>>>();
        let addrs = addrs.ok_or_else(|| ChainError::Store { path: path.to_path_buf(), message: format!("address table lacks an id in {ids:?}") })?;
        Ok(address_columns(a0 + r.start, addrs.into_iter(), ids.map(|i| idx.addrs.first_out.get(i).copied().unwrap_or(NONE)), idx.network))
    })
}

// The columns of each table, made in one place for both index builds (in memory here,
// streaming in `index_stream`), so their parts cannot differ. `first` is the id of the
// first row.

/// Hashes (internal byte order) as their display hex (reversed), built straight into one
/// values buffer: the formatting machinery per txid was a tenth of a part's writing.
fn hash_hex_column<'a>(hashes: impl ExactSizeIterator<Item = &'a [u8; 32]>) -> ArrayRef {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = hashes.len();
    let mut values = Vec::with_capacity(n * 64);
    for h in hashes {
        for b in h.iter().rev() {
            values.push(HEX[usize::from(b >> 4)]);
            values.push(HEX[usize::from(b & 15)]);
        }
    }
    let offsets = arrow_buffer::OffsetBuffer::from_lengths(std::iter::repeat_n(64, n));
    // Only ASCII hex digits were written: valid UTF-8 by construction.
    Arc::new(StringArray::new(offsets, arrow_buffer::Buffer::from_vec(values), None))
}

fn ids_from(first: usize, n: usize) -> ArrayRef {
    u32s((first as u32..).take(n))
}

/// Columns of `blocks` rows.
pub(crate) fn block_columns(b: &[BlockRow]) -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("height", u32s(b.iter().map(|b| b.height))),
        ("hash", hash_hex_column(b.iter().map(|b| &b.hash))),
        ("time", u32s(b.iter().map(|b| b.time))),
        ("first_tx", u32s(b.iter().map(|b| b.first_tx))),
        ("n_tx", u32s(b.iter().map(|b| b.n_tx))),
    ]
}

/// Columns of `txs` rows.
pub(crate) fn tx_columns(first: usize, t: &[TxRow], heights: Vec<u32>) -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("id", ids_from(first, t.len())),
        ("txid", hash_hex_column(t.iter().map(|t| &t.txid))),
        ("height", Arc::new(UInt32Array::from(heights))),
        ("version", Arc::new(Int32Array::from_iter_values(t.iter().map(|t| t.version)))),
        ("locktime", u32s(t.iter().map(|t| t.locktime))),
        ("first_output", u32s(t.iter().map(|t| t.first_out))),
        ("n_outputs", u32s(t.iter().map(|t| t.n_out))),
        ("first_input", u32s(t.iter().map(|t| t.first_in))),
        ("n_inputs", u32s(t.iter().map(|t| t.n_in))),
        ("fee", Arc::new(UInt64Array::from_iter_values(t.iter().map(|t| t.fee)))),
    ]
}

/// Columns of `outputs` rows: each row's transaction and position beside it, for
/// convenient SQL joins.
pub(crate) fn output_columns(first: usize, tx: Vec<u32>, vout: Vec<u32>, o: &[OutRow]) -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("id", ids_from(first, o.len())),
        ("tx", Arc::new(UInt32Array::from(tx))),
        ("vout", Arc::new(UInt32Array::from(vout))),
        ("value", Arc::new(UInt64Array::from_iter_values(o.iter().map(|o| o.value)))),
        ("address", opt_u32s(o.iter().map(|o| o.addr))),
    ]
}

/// Columns of `inputs` rows: the output each spends (`prev_output`) and that output's
/// value and address.
pub(crate) fn input_columns(first: usize, tx: Vec<u32>, vin: Vec<u32>, prev_output: Vec<u32>, prev: impl Iterator<Item = OutRow> + Clone) -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("id", ids_from(first, prev_output.len())),
        ("tx", Arc::new(UInt32Array::from(tx))),
        ("vin", Arc::new(UInt32Array::from(vin))),
        ("prev_output", Arc::new(UInt32Array::from(prev_output))),
        ("value", Arc::new(UInt64Array::from_iter_values(prev.clone().map(|o| o.value)))),
        ("address", opt_u32s(prev.map(|o| o.addr))),
    ]
}

/// Columns of `addresses` rows (their display strings are most of a part's writing time).
pub(crate) fn address_columns<'a>(
    first: usize,
    addrs: impl ExactSizeIterator<Item = (AddrKind, &'a [u8])> + Clone,
    first_out: impl Iterator<Item = u32>,
    network: Network,
) -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("id", ids_from(first, addrs.len())),
        ("kind", Arc::new(StringArray::from_iter_values(addrs.clone().map(|(k, _)| k.name())))),
        ("address", Arc::new(StringArray::from_iter_values(addrs.clone().map(|(k, d)| crate::index::display_address(k, d, network))))),
        ("data", Arc::new(BinaryArray::from_iter_values(addrs.map(|(_, d)| d)))),
        ("first_output", u32s(first_out)),
    ]
}

/// Rows of a table over its `parts` parts, from their footers (nothing else is read).
pub(crate) fn table_rows(case: &Path, table: &str, parts: u32) -> Result<u64, ChainError> {
    let mut n = 0u64;
    for path in self::parts(case, table, parts) {
        let f = File::open(&path).map_err(|e| ChainError::io(&path, e))?;
        let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| pq_err(&path, e))?;
        n += u64::try_from(b.metadata().file_metadata().num_rows()).map_err(|_| ChainError::Store { path: path.clone(), message: "negative row count".into() })?;
    }
    Ok(n)
}

/// Hash of the last stored block: the last row of the last part of `blocks` that has rows.
pub(crate) fn stored_best_hash(case: &Path, parts: u32) -> Result<Option<String>, ChainError> {
    for path in self::parts(case, "blocks", parts).iter().rev() {
        let f = File::open(path).map_err(|e| ChainError::io(path, e))?;
        let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| pq_err(path, e))?;
        let mask = parquet::arrow::ProjectionMask::columns(b.parquet_schema(), ["hash"]);
        let mut last = None;
        for batch in b.with_projection(mask).build().map_err(|e| pq_err(path, e))? {
            let batch = batch.map_err(|e| pq_err(path, e))?;
            let h = col::<StringArray>(&batch, "hash", path)?;
            if !h.is_empty() {
                last = Some(h.value(h.len() - 1).to_owned());
            }
        }
        if last.is_some() {
            return Ok(last);
        }
    }
    Ok(None)
}

/// What `dragnet chain stats` prints.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChainStats {
    /// Blocks.
    pub blocks: u64,
    /// Transactions.
    pub transactions: u64,
    /// Outputs.
    pub outputs: u64,
    /// Inputs (coinbase inputs spend nothing and have no row).
    pub inputs: u64,
    /// Addresses.
    pub addresses: u64,
    /// Best block hash.
    pub best_hash: Option<String>,
    /// Network name.
    pub network: String,
}

/// The case's chain counts, from the parts' footers and the last block row: a full-chain
/// case answers without its index being loaded. None if nothing was imported.
pub fn stats(case: &Path) -> Result<Option<ChainStats>, ChainError> {
    let Some(meta) = read_meta(case)? else { return Ok(None) };
    let rows = |t: &str| table_rows(case, t, meta.parts);
    Ok(Some(ChainStats {
        blocks: rows("blocks")?,
        transactions: rows("txs")?,
        outputs: rows("outputs")?,
        inputs: rows("inputs")?,
        addresses: rows("addresses")?,
        best_hash: stored_best_hash(case, meta.parts)?,
        network: meta.network,
    }))
}

fn parts(case: &Path, table: &str, n: u32) -> Vec<PathBuf> {
    (0..n).map(|p| chain_dir(case).join(table).join(format!("part-{p:05}.parquet"))).collect()
}

fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, ChainError> {
    let f = File::open(path).map_err(|e| ChainError::io(path, e))?;
    let r = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| pq_err(path, e))?.with_batch_size(65536).build().map_err(|e| pq_err(path, e))?;
    r.map(|b| b.map_err(|e| pq_err(path, e))).collect()
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a T, ChainError> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| ChainError::Store { path: path.to_path_buf(), message: format!("column {name} missing or of wrong type") })
}

fn hash32(s: &str, path: &Path) -> Result<[u8; 32], ChainError> {
    let h: bitcoin::Txid = s.parse().map_err(|_| ChainError::Store { path: path.to_path_buf(), message: format!("bad hash {s}") })?;
    Ok(h.to_byte_array())
}

/// Loads the case's index from its Parquet parts, or None if nothing was imported.
pub fn load(case: &Path) -> Result<Option<ChainIndex>, ChainError> {
    let Some(meta) = read_meta(case)? else { return Ok(None) };
    let network = crate::blocks::parse_network(&meta.network)
        .or_else(|_| meta.network.parse::<Network>().map_err(|_| ChainError::UnknownNetwork(meta.network.clone())))?;
    let mut idx = ChainIndex::new(network);
    for p in parts(case, "blocks", meta.parts) {
        for b in read_batches(&p)? {
            let (h, hash, time, ft, nt) = (
                col::<UInt32Array>(&b, "height", &p)?,
                col::<StringArray>(&b, "hash", &p)?,
                col::<UInt32Array>(&b, "time", &p)?,
                col::<UInt32Array>(&b, "first_tx", &p)?,
                col::<UInt32Array>(&b, "n_tx", &p)?,
            );
            for i in 0..b.num_rows() {
                let hash: bitcoin::BlockHash = hash.value(i).parse().map_err(|_| ChainError::Store { path: p.clone(), message: "bad block hash".into() })?;
                idx.blocks.push(BlockRow { hash: hash.to_byte_array(), height: h.value(i), time: time.value(i), first_tx: ft.value(i), n_tx: nt.value(i) });
            }
        }
    }
    for p in parts(case, "txs", meta.parts) {
        for b in read_batches(&p)? {
            let txid = col::<StringArray>(&b, "txid", &p)?;
            let version = col::<Int32Array>(&b, "version", &p)?;
            let lt = col::<UInt32Array>(&b, "locktime", &p)?;
            let fo = col::<UInt32Array>(&b, "first_output", &p)?;
            let no = col::<UInt32Array>(&b, "n_outputs", &p)?;
            let fi = col::<UInt32Array>(&b, "first_input", &p)?;
            let ni = col::<UInt32Array>(&b, "n_inputs", &p)?;
            let fee = col::<UInt64Array>(&b, "fee", &p)?;
            for i in 0..b.num_rows() {
                idx.push_loaded_tx(TxRow {
                    txid: hash32(txid.value(i), &p)?,
                    version: version.value(i),
                    locktime: lt.value(i),
                    first_out: fo.value(i),
                    n_out: no.value(i),
                    first_in: fi.value(i),
                    n_in: ni.value(i),
                    fee: fee.value(i),
                })?;
            }
        }
    }
    for p in parts(case, "outputs", meta.parts) {
        for b in read_batches(&p)? {
            let value = col::<UInt64Array>(&b, "value", &p)?;
            let addr = col::<UInt32Array>(&b, "address", &p)?;
            for i in 0..b.num_rows() {
                let a = if addr.is_null(i) { NONE } else { addr.value(i) };
                idx.outputs.push(OutRow::unspent(value.value(i), a));
            }
        }
    }
    for p in parts(case, "inputs", meta.parts) {
        for b in read_batches(&p)? {
            let tx = col::<UInt32Array>(&b, "tx", &p)?;
            let prev = col::<UInt32Array>(&b, "prev_output", &p)?;
            for i in 0..b.num_rows() {
                let o = prev.value(i);
                let row = idx.outputs.get_mut(o as usize).ok_or_else(|| ChainError::Store { path: p.clone(), message: format!("input spends unknown output {o}") })?;
                row.spent_by = tx.value(i);
                idx.inputs.push(o);
            }
        }
    }
    for p in parts(case, "addresses", meta.parts) {
        for b in read_batches(&p)? {
            let kind = col::<StringArray>(&b, "kind", &p)?;
            let data = col::<BinaryArray>(&b, "data", &p)?;
            let fo = col::<UInt32Array>(&b, "first_output", &p)?;
            for i in 0..b.num_rows() {
                let k = AddrKind::from_name(kind.value(i)).ok_or_else(|| ChainError::Store { path: p.clone(), message: format!("unknown kind {}", kind.value(i)) })?;
                idx.push_loaded_addr(k, data.value(i), fo.value(i))?;
            }
        }
    }
    Ok(Some(idx))
}

/// What the stored clustering was computed from (`<case>/chain/clusters.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterMeta {
    /// Best block hash of the index the clustering was computed on.
    pub best_hash: Option<String>,
    /// Number of addresses then.
    pub addresses: usize,
    /// Whether the CoinJoin filter was on.
    pub coinjoin_filter: bool,
    /// Change heuristics merged into clusters (names).
    pub merge_change: Vec<String>,
    /// Number of clusters.
    pub clusters: usize,
}

fn cluster_files(case: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let d = chain_dir(case);
    (d.join("clusters.json"), d.join("clusters.parquet"), d.join("cluster_links.parquet"), d.join("coinjoins.parquet"))
}

/// Writes a clustering into the case:
/// * `clusters.parquet`: `address`, `cluster` (the smallest address id of the cluster);
/// * `cluster_links.parquet`: one row per recorded link: `tx`, `txid`, `heuristic`
///   (`multi_input` or `change:<name>`), `a`, `b` (address ids: join `addresses` on `id`
///   for their text) and `merged` (true for the unions that built the clusters, false for
///   behavioural links);
/// * `coinjoins.parquet`: `tx`, `txid`, `shape` of the transactions the filter saw;
/// * `clusters.json`: the [`ClusterMeta`] saying which chain and options it belongs to.
pub fn write_clustering(case: &Path, idx: &ChainIndex, cl: &Clustering, cfg: &ClusterConfig) -> Result<(), ChainError> {
    forget_clustering(case)?;
    let (_, clusters_p, links_p, cj_p) = cluster_files(case);
    let reps = cl.reps();
    write_table(&clusters_p, vec![("address", u32s(0..reps.len() as u32)), ("cluster", u32s(reps.iter().copied()))])?;
    let links: Vec<(&Link, bool)> = cl.unions.iter().map(|l| (l, true)).chain(cl.behavioural.iter().map(|l| (l, false))).collect();
    let txid = |t: u32| idx.txs.get(t as usize).map(|r| r.txid_hex()).unwrap_or_default();
    write_table(
        &links_p,
        vec![
            ("tx", u32s(links.iter().map(|(l, _)| l.tx))),
            ("txid", Arc::new(StringArray::from_iter_values(links.iter().map(|(l, _)| txid(l.tx))))),
            ("heuristic", Arc::new(StringArray::from_iter_values(links.iter().map(|(l, _)| l.kind.name())))),
            ("a", u32s(links.iter().map(|(l, _)| l.a))),
            ("b", u32s(links.iter().map(|(l, _)| l.b))),
            ("merged", Arc::new(BooleanArray::from(links.iter().map(|(_, m)| *m).collect::<Vec<bool>>()))),
        ],
    )?;
    write_table(
        &cj_p,
        vec![
            ("tx", u32s(cl.coinjoins.iter().map(|c| c.0))),
            ("txid", Arc::new(StringArray::from_iter_values(cl.coinjoins.iter().map(|c| txid(c.0))))),
            ("shape", Arc::new(StringArray::from_iter_values(cl.coinjoins.iter().map(|c| c.1)))),
        ],
    )?;
    let m = ClusterMeta {
        best_hash: idx.best_hash(),
        addresses: idx.addrs.len(),
        coinjoin_filter: cfg.coinjoin_filter,
        merge_change: cfg.merge_change.iter().map(|h| h.name().to_string()).collect(),
        clusters: cl.num_clusters(),
    };
    write_cluster_meta(case, &m)
}

/// Removes `clusters.json` before its files are rewritten: a write that stops half-way
/// then leaves no clustering (recomputed when asked for), never old metadata over new files.
pub(crate) fn forget_clustering(case: &Path) -> Result<(), ChainError> {
    let meta_p = cluster_files(case).0;
    match std::fs::remove_file(&meta_p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ChainError::io(&meta_p, e)),
        _ => Ok(()),
    }
}

/// Writes `clusters.json`, last, after the files it describes.
pub(crate) fn write_cluster_meta(case: &Path, m: &ClusterMeta) -> Result<(), ChainError> {
    let meta_p = cluster_files(case).0;
    let s = serde_json::to_string_pretty(m).map_err(|e| ChainError::Store { path: meta_p.clone(), message: e.to_string() })?;
    std::fs::write(&meta_p, s).map_err(|e| ChainError::io(&meta_p, e))
}

/// Loads the stored clustering of the case, or None when there is none or it was computed
/// on a different chain than `idx` (then the caller re-clusters; a stale clustering is
/// never used silently).
pub fn load_clustering(case: &Path, idx: &ChainIndex) -> Result<Option<Clustering>, ChainError> {
    let (meta_p, clusters_p, links_p, cj_p) = cluster_files(case);
    if !meta_p.exists() {
        return Ok(None);
    }
    let s = std::fs::read_to_string(&meta_p).map_err(|e| ChainError::io(&meta_p, e))?;
    let m: ClusterMeta = serde_json::from_str(&s).map_err(|e| ChainError::Store { path: meta_p.clone(), message: e.to_string() })?;
    if m.best_hash != idx.best_hash() || m.addresses != idx.addrs.len() {
        return Ok(None);
    }
    let bad = |p: &Path, msg: String| ChainError::Store { path: p.to_path_buf(), message: msg };
    let mut rep = vec![NONE; idx.addrs.len()];
    for b in read_batches(&clusters_p)? {
        let (a, c) = (col::<UInt32Array>(&b, "address", &clusters_p)?, col::<UInt32Array>(&b, "cluster", &clusters_p)?);
        for i in 0..b.num_rows() {
            let slot = rep.get_mut(a.value(i) as usize).ok_or_else(|| bad(&clusters_p, format!("row {i}: unknown address {}", a.value(i))))?;
            *slot = c.value(i);
        }
    }
    if let Some(a) = rep.iter().position(|r| *r == NONE || *r as usize >= idx.addrs.len()) {
        return Err(bad(&clusters_p, format!("address {a} has no valid cluster")));
    }
    let (mut unions, mut behavioural) = (Vec::new(), Vec::new());
    for b in read_batches(&links_p)? {
        let tx = col::<UInt32Array>(&b, "tx", &links_p)?;
        let h = col::<StringArray>(&b, "heuristic", &links_p)?;
        let (a, bb) = (col::<UInt32Array>(&b, "a", &links_p)?, col::<UInt32Array>(&b, "b", &links_p)?);
        let merged = col::<BooleanArray>(&b, "merged", &links_p)?;
        for i in 0..b.num_rows() {
            let kind = LinkKind::from_name(h.value(i)).ok_or_else(|| bad(&links_p, format!("row {i}: unknown heuristic {:?}", h.value(i))))?;
            let l = Link { tx: tx.value(i), kind, a: a.value(i), b: bb.value(i) };
            if merged.value(i) {
                unions.push(l);
            } else {
                behavioural.push(l);
            }
        }
    }
    let mut coinjoins = Vec::new();
    for b in read_batches(&cj_p)? {
        let (tx, shape) = (col::<UInt32Array>(&b, "tx", &cj_p)?, col::<StringArray>(&b, "shape", &cj_p)?);
        for i in 0..b.num_rows() {
            let s = COINJOIN_SHAPES.iter().find(|s| **s == shape.value(i)).ok_or_else(|| bad(&cj_p, format!("row {i}: unknown shape {:?}", shape.value(i))))?;
            coinjoins.push((tx.value(i), *s));
        }
    }
    Ok(Some(Clustering::from_parts(rep, unions, behavioural, coinjoins)))
}

/// The case's clustering: the stored one when it matches `idx`, else computed with the
/// default configuration (and stored, so the next call reads it).
pub fn clustering(case: &Path, idx: &ChainIndex) -> Result<Clustering, ChainError> {
    if let Some(cl) = load_clustering(case, idx)? {
        return Ok(cl);
    }
    let cfg = ClusterConfig::default();
    let cl = crate::cluster::cluster(idx, &cfg);
    write_clustering(case, idx, &cl, &cfg)?;
    Ok(cl)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Transactions with 0, 3, 1, 0, 2 and 4 outputs, ids from 7, outputs from 100.
    fn txs() -> Vec<TxRow> {
        let mut first = 100;
        [0u32, 3, 1, 0, 2, 4]
            .iter()
            .map(|&n| {
                let t = TxRow { txid: [0; 32], version: 1, locktime: 0, first_out: first, n_out: n, first_in: 0, n_in: 0, fee: 0 };
                first += n;
                t
            })
            .collect()
    }

    #[test]
    fn hashes_are_written_as_their_display_hex() {
        let hashes: Vec<[u8; 32]> = vec![[0; 32], core::array::from_fn(|i| (i * 37 + 5) as u8), [0xff; 32]];
        let col = hash_hex_column(hashes.iter());
        let col = col.as_any().downcast_ref::<StringArray>().expect("strings");
        assert_eq!(col.len(), 3);
        for (i, h) in hashes.iter().enumerate() {
            assert_eq!(col.value(i), bitcoin::Txid::from_byte_array(*h).to_string());
        }
    }

    #[test]
    fn owners_of_row_ranges_concatenate_to_the_whole() {
        let txs = txs();
        let span = |t: &TxRow| (t.first_out, t.n_out);
        let whole = owners(&txs, 7, 100, 0..10, span);
        assert_eq!(whole.0, vec![8, 8, 8, 9, 11, 11, 12, 12, 12, 12]);
        assert_eq!(whole.1, vec![0, 1, 2, 0, 0, 1, 0, 1, 2, 3]);
        // Every split into batches, as write_rows makes them, gives the same rows.
        for size in 1..=10 {
            let (mut tx, mut pos) = (Vec::new(), Vec::new());
            let mut lo = 0;
            while lo < 10 {
                let hi = (lo + size).min(10);
                let (t, p) = owners(&txs, 7, 100, lo..hi, span);
                assert_eq!(t.len(), hi - lo, "batch {lo}..{hi} of size {size}");
                tx.extend(t);
                pos.extend(p);
                lo = hi;
            }
            assert_eq!((tx, pos), whole, "batches of {size}");
        }
    }
}
