//! The index built straight into the case's Parquet parts as blocks are read: the build
//! for a chain whose in-memory index ([`crate::ChainIndex`]) would not fit.
//!
//! Why a second build: the in-memory index keeps every row (about 145 bytes per
//! transaction and 70 per address, ~250 GiB for the full chain). This one keeps only what
//! later blocks need, the unspent outputs (44 bytes a slot), and numbers addresses from a
//! plan made on disk first ([`crate::addr_plan`]: ~1.1 bits per output in memory instead
//! of an address table); every row goes to a writer thread in batches of
//! [`store::WRITE_ROWS`] as soon as its block is resolved. Its parts are the tables the
//! in-memory build writes, made by the same column functions, with the same ids (a test
//! compares them row by row), so `load`, DuckDB and the streaming cluster engine
//! ([`crate::cluster_stream`]) read either.
//!
//! Three threads: the reader of the in-memory build ([`crate::index::read_ahead`]: parse,
//! check, number addresses), this one (resolve each input against the unspent outputs,
//! make the rows) and a writer (encode Parquet).
//!
//! What it keys an unspent output by: the first 16 bytes of the txid and the vout, with 8
//! more txid bytes in the entry confirming every match (24 in all: crafting two txids
//! that share them takes ~2^96 hashing). An input whose txid differs in those 8 bytes
//! spends nothing (an error, as any missing prevout); a new output whose key holds an
//! unspent output of another txid stops the import with an error rather than replace it.
//! Where the 24 bytes agree (mainnet's two duplicated coinbase txids) the new output
//! replaces the old one, as Bitcoin Core did, counted in
//! [`StreamReport::replaced_unspent`].

use std::collections::HashMap;
use std::path::Path;

use bitcoin::hashes::Hash as _;
use bitcoin::Network;

use crate::blocks::BlockSource;
use crate::error::ChainError;
use crate::index::{read_ahead, reader_stopped, AddrRows, BlockRow, OutRow, TxRow, NONE};
use crate::parsed::ParsedBlock;
use crate::store::{self, ImportReport, Meta, PartWriter, WRITE_ROWS};

type FastState = foldhash::fast::RandomState;

/// An outpoint as a key: the txid's first 16 bytes and the vout (20 bytes, 4-aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutKey([u32; 5]);

/// The little-endian `u32` at byte `i` of a txid.
fn txid_word(txid: &[u8; 32], i: usize) -> u32 {
    u32::from_le_bytes([txid[i], txid[i + 1], txid[i + 2], txid[i + 3]])
}

impl OutKey {
    fn new(txid: &[u8; 32], vout: u32) -> OutKey {
        OutKey([txid_word(txid, 0), txid_word(txid, 4), txid_word(txid, 8), txid_word(txid, 12), vout])
    }
}

impl std::hash::Hash for OutKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // The txid is a hash already: its first 8 bytes and the vout are enough to spread.
        h.write_u64(u64::from(self.0[0]) | (u64::from(self.0[1]) << 32));
        h.write_u32(self.0[4]);
    }
}

/// An unspent output: its id, value and address id, and txid bytes 16..24 to confirm a
/// key's match (24 bytes, 4-aligned).
#[derive(Debug, Clone, Copy)]
struct Unspent {
    value: [u32; 2],
    out: u32,
    addr: u32,
    check: [u32; 2],
}

/// Txid bytes 16..24, the part of a txid after its key's 16.
fn check_of(txid: &[u8; 32]) -> [u32; 2] {
    [txid_word(txid, 16), txid_word(txid, 20)]
}

impl Unspent {
    fn value(&self) -> u64 {
        u64::from(self.value[0]) | (u64::from(self.value[1]) << 32)
    }
}

/// What a streaming import did, beside the [`ImportReport`] every import gives.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StreamReport {
    /// Unspent outputs at the end.
    pub unspent: usize,
    /// The most unspent outputs held at once.
    pub unspent_peak: usize,
    /// Outputs that replaced an unspent output under the same key (see the module notes).
    pub replaced_unspent: u64,
    /// Addresses in the index.
    pub addresses: usize,
    /// Inputs written.
    pub inputs: u64,
    /// Outputs written.
    pub outputs: u64,
    /// Heap bytes of the unspent-output table at the end (its capacity: it never shrinks,
    /// so this is its peak).
    pub unspent_table_bytes: usize,
    /// Heap bytes of what numbers the addresses during the build: the plan's bitset over
    /// output ids, its rank index and the lists' read buffers ([`crate::addr_plan`]).
    pub address_plan_bytes: usize,
    /// What planning the address ids did (its map is gone before the build starts).
    pub plan: crate::addr_plan::PlanReport,
}

/// Rows waiting for the writer, one buffer per table.
struct Rows {
    blocks: Vec<BlockRow>,
    txs: Vec<TxRow>,
    /// The height of each row of `txs` (the row does not hold it).
    tx_heights: Vec<u32>,
    /// `(tx, vout)` per output row.
    out_owner: Vec<(u32, u32)>,
    outputs: Vec<OutRow>,
    /// `(tx, vin)` per input row, the output it spends, and that output.
    in_owner: Vec<(u32, u32)>,
    prev_output: Vec<u32>,
    prev: Vec<OutRow>,
    addrs: AddrRows,
}

/// Room for a batch and the largest block's rows on top, so a buffer does not grow by
/// copying into fresh pages (the kernel zeroing them was a fifth of the build's time).
/// Untouched room costs no resident memory.
const BATCH_ROOM: usize = WRITE_ROWS + (WRITE_ROWS >> 3);

fn room<T>() -> Vec<T> {
    Vec::with_capacity(BATCH_ROOM)
}

/// The rows of a buffer, leaving it empty with room for the next batch.
fn take<T>(v: &mut Vec<T>) -> Vec<T> {
    std::mem::replace(v, room())
}

/// An address buffer with room for a batch (about 24 bytes per address).
fn addr_room() -> AddrRows {
    AddrRows { kinds: room(), ends: room(), bytes: Vec::with_capacity(BATCH_ROOM * 24), first_out: room() }
}

impl Rows {
    fn with_room() -> Rows {
        Rows {
            blocks: Vec::new(),
            txs: room(),
            tx_heights: room(),
            out_owner: room(),
            outputs: room(),
            in_owner: room(),
            prev_output: room(),
            prev: room(),
            addrs: addr_room(),
        }
    }
}

/// A batch of one table's rows, with the id of its first row.
enum Batch {
    Blocks(Vec<BlockRow>),
    Txs(usize, Vec<TxRow>, Vec<u32>),
    Outputs(usize, Vec<(u32, u32)>, Vec<OutRow>),
    Inputs(usize, Vec<(u32, u32)>, Vec<u32>, Vec<OutRow>),
    Addresses(usize, AddrRows),
    /// Every row was sent: finish the tables. A writer whose queue closes without it
    /// leaves no part in place.
    Done,
}

/// The tables of a part, in the order [`Batch`] names them.
const TABLES: [&str; 5] = ["blocks", "txs", "outputs", "inputs", "addresses"];

/// The resolving side of the build: the unspent outputs, the next ids and the rows.
struct Builder {
    utxo: HashMap<OutKey, Unspent, FastState>,
    next_tx: u64,
    next_out: u64,
    next_in: u64,
    next_addr: u64,
    rows: Rows,
    report: StreamReport,
    // Buffers reused from block to block.
    in_block: HashMap<[u8; 32], (u32, u32), FastState>,
    spent_here: Vec<bool>,
    taken: Vec<(OutKey, Unspent)>,
    resolved: Vec<(u32, OutRow)>,
    /// Keys a block put into the unspent set, with what they held before.
    put: Vec<(OutKey, Option<Unspent>)>,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            utxo: HashMap::default(),
            next_tx: 0,
            next_out: 0,
            next_in: 0,
            next_addr: 0,
            rows: Rows::with_room(),
            report: StreamReport::default(),
            in_block: HashMap::default(),
            spent_here: Vec::new(),
            taken: Vec::new(),
            resolved: Vec::new(),
            put: Vec::new(),
        }
    }

    /// Appends a block: every input is resolved first (taking its output from the unspent
    /// set), then its outputs that stay unspent enter the set; when an input spends nothing
    /// unspent or an output's key holds another txid's output, the set is restored and
    /// nothing of the block is kept. Then its rows are made.
    fn append(&mut self, height: u32, p: &ParsedBlock, addr_ids: &[u32], new_addrs: &AddrRows) -> Result<(), ChainError> {
        if addr_ids.len() != p.outputs.len() {
            return Err(ChainError::Index { path: std::path::PathBuf::new(), message: format!("{} address ids for {} outputs", addr_ids.len(), p.outputs.len()) });
        }
        // Ids stay below NONE (the "no id" marker) for the whole block, checked before
        // anything is kept.
        let fits = |next: u64, n: usize| next.checked_add(n as u64).is_some_and(|end| end < u64::from(NONE));
        if !fits(self.next_tx, p.txs.len()) {
            return Err(ChainError::IdOverflow("transactions"));
        }
        if !fits(self.next_out, p.outputs.len()) {
            return Err(ChainError::IdOverflow("outputs"));
        }
        if !fits(self.next_in, p.prevouts.len()) {
            return Err(ChainError::IdOverflow("inputs"));
        }
        if !fits(self.next_addr, new_addrs.len()) {
            return Err(ChainError::IdOverflow("addresses"));
        }
        self.resolve(p, addr_ids)?;
        let replaced = self.put_unspent(p, addr_ids).inspect_err(|_| self.restore())?;
        self.report.replaced_unspent += replaced;
        let first_tx = self.next_tx as u32;
        let (mut next_in, mut next_out) = (0usize, 0usize);
        for ptx in &p.txs {
            let tx_id = self.next_tx as u32;
            let first_in = self.next_in as u32;
            let mut in_value: u64 = 0;
            for (vin, (out, prev)) in self.resolved[next_in..next_in + ptx.n_in as usize].iter().enumerate() {
                in_value = in_value.saturating_add(prev.value);
                self.rows.in_owner.push((tx_id, vin as u32));
                self.rows.prev_output.push(*out);
                self.rows.prev.push(*prev);
            }
            next_in += ptx.n_in as usize;
            self.next_in += u64::from(ptx.n_in);
            let first_out = self.next_out as u32;
            let mut out_value: u64 = 0;
            for vout in 0..ptx.n_out {
                let i = next_out + vout as usize;
                let (o, addr) = (&p.outputs[i], addr_ids[i]);
                out_value = out_value.saturating_add(o.value);
                self.rows.out_owner.push((tx_id, vout));
                self.rows.outputs.push(OutRow::unspent(o.value, addr));
            }
            next_out += ptx.n_out as usize;
            self.next_out += u64::from(ptx.n_out);
            self.rows.txs.push(TxRow::of_parsed(ptx, first_out, first_in, in_value, out_value));
            self.rows.tx_heights.push(height);
            self.next_tx += 1;
        }
        self.rows.blocks.push(BlockRow { hash: p.hash, height, time: p.time, first_tx, n_tx: p.txs.len() as u32 });
        self.rows.addrs.append(new_addrs);
        self.next_addr += new_addrs.len() as u64;
        self.report.unspent_peak = self.report.unspent_peak.max(self.utxo.len());
        Ok(())
    }

    /// Puts the outputs of `p` that stay unspent into the set (recording what each key held
    /// in `put`); returns how many replaced an output of the same txid. Errors, leaving
    /// `put` for [`Builder::restore`], when a key holds an unspent output of another txid.
    fn put_unspent(&mut self, p: &ParsedBlock, addr_ids: &[u32]) -> Result<u64, ChainError> {
        self.put.clear();
        let mut replaced = 0;
        let mut i = 0usize;
        for ptx in &p.txs {
            let check = check_of(&ptx.txid);
            for vout in 0..ptx.n_out {
                let o = &p.outputs[i];
                if !self.spent_here[i] && !o.unspendable {
                    let key = OutKey::new(&ptx.txid, vout);
                    let u = Unspent { value: [o.value as u32, (o.value >> 32) as u32], out: self.next_out as u32 + i as u32, addr: addr_ids[i], check };
                    let old = self.utxo.insert(key, u);
                    self.put.push((key, old));
                    if let Some(old) = old {
                        if old.check != check {
                            return Err(ChainError::Index {
                                path: std::path::PathBuf::new(),
                                message: format!(
                                    "block {}: output {}:{vout} shares the 24 txid bytes the streaming build keys by with an unspent output {} of another transaction; the in-memory import compares whole txids",
                                    bitcoin::BlockHash::from_byte_array(p.hash),
                                    bitcoin::Txid::from_byte_array(ptx.txid),
                                    old.out
                                ),
                            });
                        }
                        replaced += 1;
                    }
                }
                i += 1;
            }
        }
        Ok(replaced)
    }

    /// Undoes a refused block's changes to the unspent set: what it put, then what it took.
    fn restore(&mut self) {
        for (k, old) in self.put.drain(..).rev() {
            match old {
                Some(u) => self.utxo.insert(k, u),
                None => self.utxo.remove(&k),
            };
        }
        for (k, u) in self.taken.drain(..) {
            self.utxo.insert(k, u);
        }
    }

    /// Fills `resolved` with the output each input of `p` spends: one of an earlier
    /// transaction of the block, or an unspent one (taken out of the set). Puts the taken
    /// ones back and errors on the first input that spends nothing unspent.
    fn resolve(&mut self, p: &ParsedBlock, addr_ids: &[u32]) -> Result<(), ChainError> {
        self.in_block.clear();
        self.spent_here.clear();
        self.spent_here.resize(p.outputs.len(), false);
        self.taken.clear();
        self.put.clear();
        self.resolved.clear();
        let mut prevouts = p.prevouts.iter();
        let mut block_out = 0u32;
        for ptx in &p.txs {
            for vin in 0..ptx.n_in {
                let Some((txid, vout)) = prevouts.next() else { break };
                let found = match self.in_block.get(txid) {
                    // An output of an earlier transaction of this block, not spent before.
                    Some(&(first, n)) => (*vout < n)
                        .then(|| (first + vout) as usize)
                        .filter(|i| !self.spent_here[*i] && !p.outputs[*i].unspendable)
                        .map(|i| {
                            self.spent_here[i] = true;
                            (self.next_out as u32 + i as u32, OutRow::unspent(p.outputs[i].value, addr_ids[i]))
                        }),
                    None => {
                        let key = OutKey::new(txid, *vout);
                        // Taken even when the 8 further bytes differ (then it spends
                        // nothing): the error below puts it back.
                        self.utxo.remove(&key).and_then(|u| {
                            self.taken.push((key, u));
                            (u.check == check_of(txid)).then_some((u.out, OutRow::unspent(u.value(), u.addr)))
                        })
                    }
                };
                match found {
                    Some(r) => self.resolved.push(r),
                    None => {
                        self.restore();
                        return Err(ChainError::MissingPrevout {
                            block: bitcoin::BlockHash::from_byte_array(p.hash).to_string(),
                            txid: bitcoin::Txid::from_byte_array(ptx.txid).to_string(),
                            vin,
                            prevout: format!("{}:{vout}", bitcoin::Txid::from_byte_array(*txid)),
                        });
                    }
                }
            }
            self.in_block.insert(ptx.txid, (block_out, ptx.n_out));
            block_out += ptx.n_out;
        }
        Ok(())
    }

    /// The batches of the tables holding at least `min_rows` rows (all of them with 0).
    fn take_batches(&mut self, min_rows: usize) -> Vec<Batch> {
        let r = &mut self.rows;
        let mut out = Vec::new();
        let lens = [r.blocks.len(), r.txs.len(), r.outputs.len(), r.prev.len(), r.addrs.len()];
        let (next_tx, next_out, next_in, next_addr) = (self.next_tx, self.next_out, self.next_in, self.next_addr);
        for (t, len) in lens.into_iter().enumerate() {
            if min_rows > 0 && len < min_rows {
                continue;
            }
            // The id of a buffer's first row: the next id less the rows waiting.
            let first = |next: u64| (next - len as u64) as usize;
            out.push(match t {
                0 => Batch::Blocks(std::mem::take(&mut r.blocks)),
                1 => Batch::Txs(first(next_tx), take(&mut r.txs), take(&mut r.tx_heights)),
                2 => Batch::Outputs(first(next_out), take(&mut r.out_owner), take(&mut r.outputs)),
                3 => Batch::Inputs(first(next_in), take(&mut r.in_owner), take(&mut r.prev_output), take(&mut r.prev)),
                _ => Batch::Addresses(first(next_addr), std::mem::replace(&mut r.addrs, addr_room())),
            });
        }
        out
    }
}

/// Writes the batches it receives into part `part` of the case's tables; finishes every
/// table on [`Batch::Done`], and errors on the first failure or when the queue closes
/// before it (the tables' temporary files are then all that is left).
fn write_batches(case: &Path, part: u32, network: Network, rx: std::sync::mpsc::Receiver<Batch>) -> Result<(), ChainError> {
    let dir = store::chain_dir(case);
    let name = format!("part-{part:05}.parquet");
    let mut writers = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        writers.push(PartWriter::create(&dir.join(t).join(&name))?);
    }
    let unzip = |owners: Vec<(u32, u32)>| -> (Vec<u32>, Vec<u32>) { owners.into_iter().unzip() };
    for batch in rx {
        let (table, cols) = match batch {
            Batch::Done => {
                for w in writers {
                    w.finish()?;
                }
                return Ok(());
            }
            Batch::Blocks(b) => (0, store::block_columns(&b)),
            Batch::Txs(first, t, heights) => (1, store::tx_columns(first, &t, heights)),
            Batch::Outputs(first, owners, o) => {
                let (tx, vout) = unzip(owners);
                (2, store::output_columns(first, tx, vout, &o))
            }
            Batch::Inputs(first, owners, prev_output, prev) => {
                let (tx, vin) = unzip(owners);
                (3, store::input_columns(first, tx, vin, prev_output, prev.into_iter()))
            }
            Batch::Addresses(first, a) => (4, store::address_columns(first, a.iter(), a.first_out.iter().copied(), network)),
        };
        writers[table].write(cols)?;
    }
    Err(ChainError::Store { path: dir, message: "the build stopped before its last rows; no part was kept".into() })
}

/// Removes part 0 of every table and its temporary file: what a streaming build that keeps
/// nothing must leave behind (the case then holds no chain, as before).
fn remove_parts(chain: &Path) -> Result<(), ChainError> {
    for t in TABLES {
        for name in ["part-00000.parquet", "part-00000.parquet.tmp"] {
            let p = chain.join(t).join(name);
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(ChainError::io(&p, e)),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Removes address plans a killed import left in the case (a plan is 16 bytes per output).
fn remove_stale_plans(chain: &Path) -> Result<(), ChainError> {
    let Ok(entries) = std::fs::read_dir(chain) else { return Ok(()) };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(PLAN_PREFIX) {
            std::fs::remove_dir_all(e.path()).map_err(|err| ChainError::io(e.path(), err))?;
        }
    }
    Ok(())
}

/// Name prefix of the temporary directory of an import's address plan.
const PLAN_PREFIX: &str = ".address-plan-";

fn refuse_a_chain(case: &Path) -> Result<(), ChainError> {
    match store::read_meta(case)? {
        Some(m) => Err(ChainError::Store {
            path: store::chain_dir(case).join("meta.json"),
            message: format!("case holds a chain already ({} parts); the streaming import starts a new one (append with the in-memory import)", m.parts),
        }),
        None => Ok(()),
    }
}

/// Imports the best chain of `blocks_dir` into a case that holds no chain yet, writing the
/// index as it goes (one part) and then clustering it with the streaming engine (the
/// multi-input heuristic, CoinJoin filter on; change heuristics need the in-memory index).
/// An error in a block stops the import there: the blocks before it are kept, as by
/// [`store::import`].
pub fn import_streaming(case: &Path, blocks_dir: &Path, network: Network) -> Result<(ImportReport, StreamReport), ChainError> {
    // Refused before the blocks dir is scanned (minutes for a whole mainnet).
    refuse_a_chain(case)?;
    let src = BlockSource::open(blocks_dir, network)?;
    let (report, stream) = build_streaming(case, &src, network)?;
    if report.blocks > 0 {
        crate::cluster_stream::cluster_stored(case, true)?;
    }
    Ok((report, stream))
}

/// [`import_streaming`] without the clustering: the index of `src`'s chain written into
/// a case that holds no chain yet.
pub fn build_streaming(case: &Path, src: &BlockSource, network: Network) -> Result<(ImportReport, StreamReport), ChainError> {
    build_streaming_within(case, src, network, crate::addr_plan::PLAN_MEMORY)
}

/// [`build_streaming`] with the memory the planning of address ids may take (more
/// partitions, so more scans of its spill file, with less).
pub fn build_streaming_within(case: &Path, src: &BlockSource, network: Network, plan_memory: usize) -> Result<(ImportReport, StreamReport), ChainError> {
    build_with_writer(case, src, network, plan_memory, write_batches)
}

/// How the part writer is started: [`write_batches`], or in a test one that fails.
type PartWriterFn = fn(&Path, u32, Network, std::sync::mpsc::Receiver<Batch>) -> Result<(), ChainError>;

/// [`build_streaming_within`] with the function that writes the parts on the writer thread.
fn build_with_writer(case: &Path, src: &BlockSource, network: Network, plan_memory: usize, write: PartWriterFn) -> Result<(ImportReport, StreamReport), ChainError> {
    refuse_a_chain(case)?;
    let chain = store::chain_dir(case);
    std::fs::create_dir_all(&chain).map_err(|e| ChainError::io(&chain, e))?;
    // No chain is in the case (refused above), so anything of an import is a leftover.
    remove_stale_plans(&chain)?;
    remove_parts(&chain)?;
    let plan_dir = tempfile::Builder::new().prefix(PLAN_PREFIX).tempdir_in(&chain).map_err(|e| ChainError::io(&chain, e))?;
    let (planned, plan) = crate::addr_plan::plan(src, plan_dir.path(), plan_memory)?;
    let mut b = Builder::new();
    b.report.plan = plan;
    let mut address_plan_bytes = 0;
    let mut blocks = 0usize;
    let mut best: Option<[u8; 32]> = None;
    let (stop, written) = std::thread::scope(|scope| {
        let (batch_tx, batch_rx) = std::sync::mpsc::sync_channel::<Batch>(2);
        let writer = scope.spawn(move || write(case, 0, network, batch_rx));
        let (rx, reader, recycle) = read_ahead(scope, src, 0, planned, 0, true);
        let mut stop = None;
        for loc in src.chain() {
            let step = match rx.recv().map(|r| r.and_then(|b| b.checked(src))) {
                Ok(Ok(r)) => {
                    let appended = b.append(loc.height, &r.parsed, &r.addr_ids, &r.new_addrs).map(|()| r.parsed.hash);
                    let _ = recycle.send(r.parsed);
                    appended
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(reader_stopped(loc.height)),
            };
            match step {
                Ok(hash) => {
                    blocks += 1;
                    best = Some(hash);
                }
                Err(e) => {
                    stop = Some(e);
                    break;
                }
            }
            // A closed channel means the writer failed: its error is reported below.
            if b.take_batches(WRITE_ROWS).into_iter().any(|batch| batch_tx.send(batch).is_err()) {
                break;
            }
        }
        drop(rx);
        address_plan_bytes = reader.join().map(|a| a.heap_bytes()).unwrap_or(0);
        let sent = b.take_batches(0).into_iter().chain([Batch::Done]).all(|batch| batch_tx.send(batch).is_ok());
        drop(batch_tx);
        let written = writer.join().unwrap_or_else(|_| Err(ChainError::Store { path: store::chain_dir(case), message: "part writer panicked".into() }));
        (stop, if sent || written.is_err() { written } else { Err(ChainError::Store { path: store::chain_dir(case), message: "part writer stopped early".into() }) })
    });
    drop(plan_dir);
    if let Err(e) = written {
        remove_parts(&chain)?;
        return Err(e);
    }
    if blocks == 0 {
        // Nothing to keep: remove the empty part so the case still holds no chain.
        remove_parts(&chain)?;
    } else {
        store::write_meta(case, &Meta { network: network.to_string(), parts: 1 })?;
    }
    b.report.unspent = b.utxo.len();
    b.report.addresses = b.next_addr as usize;
    b.report.inputs = b.next_in;
    b.report.outputs = b.next_out;
    b.report.address_plan_bytes = address_plan_bytes;
    // hashbrown: a power of two of buckets above capacity / 0.875, a control byte each.
    let buckets = if b.utxo.capacity() == 0 { 0 } else { (b.utxo.capacity() * 8 / 7).next_power_of_two() };
    b.report.unspent_table_bytes = buckets * (std::mem::size_of::<(OutKey, Unspent)>() + 1);
    let report = ImportReport {
        new_blocks: blocks,
        new_transactions: b.next_tx as usize,
        blocks,
        transactions: b.next_tx as usize,
        best_hash: best.map(|h| bitcoin::BlockHash::from_byte_array(h).to_string()),
        used_index: src.used_index,
        diagnostics: src.diagnostics.iter().map(|d| d.to_string()).collect(),
        error: stop.map(|e| store::stopped_at(&e, src.len() - blocks)),
    };
    Ok((report, b.report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsed::{ParsedOut, ParsedTx};

    /// A writer that writes the first batches as the real one does, then fails as a full
    /// disk would, before the build has sent its last rows.
    fn failing_writer(case: &Path, part: u32, network: Network, rx: std::sync::mpsc::Receiver<Batch>) -> Result<(), ChainError> {
        let (tx, inner_rx) = std::sync::mpsc::sync_channel::<Batch>(1);
        std::thread::scope(|scope| {
            let inner = scope.spawn(move || write_batches(case, part, network, inner_rx));
            for batch in rx.iter().take(3) {
                let _ = tx.send(batch);
            }
            drop(tx);
            let _ = inner.join();
        });
        Err(ChainError::Store { path: store::chain_dir(case), message: "no space left on device (injected)".into() })
    }

    #[test]
    fn a_failing_writer_fails_the_build_and_leaves_no_chain() {
        let blocks = tempfile::tempdir().expect("tmp");
        let cfg = crate::sim::SimConfig { seed: 3, blocks: 30, entities: 8, txs_per_block: 8, ..Default::default() };
        crate::sim::generate(blocks.path(), &cfg).expect("generate");
        let src = BlockSource::open(blocks.path(), Network::Regtest).expect("open");
        let case = tempfile::tempdir().expect("tmp");
        // The writer takes the first batches and fails before the last: the parts it began
        // are on disk when the build learns of it.
        let err = build_with_writer(case.path(), &src, Network::Regtest, crate::addr_plan::PLAN_MEMORY, failing_writer).expect_err("the writer failed");
        assert!(err.to_string().contains("injected"), "the writer's error is the build's: {err}");
        let chain = store::chain_dir(case.path());
        for t in TABLES {
            for name in ["part-00000.parquet", "part-00000.parquet.tmp"] {
                assert!(!chain.join(t).join(name).exists(), "{t}/{name} left behind");
            }
        }
        assert!(!chain.join("meta.json").exists(), "no meta: the case holds no chain");
        assert!(crate::store::load(case.path()).expect("loads").is_none());
        let leftovers: Vec<_> = std::fs::read_dir(&chain).expect("chain dir").flatten().filter(|e| e.file_name().to_string_lossy().starts_with(PLAN_PREFIX)).collect();
        assert!(leftovers.is_empty(), "the address plan is removed");
        // And the same case then takes a good build.
        let (report, _) = build_streaming(case.path(), &src, Network::Regtest).expect("a good build after");
        assert_eq!(report.blocks, src.len());
    }

    fn out(value: u64) -> ParsedOut {
        ParsedOut { value, kind: None, start: 0, len: 0, unspendable: false }
    }

    /// A transaction as (txid byte, prevouts, output values).
    type Tx<'a> = (u8, &'a [([u8; 32], u32)], &'a [u64]);

    fn block(txs: &[Tx]) -> ParsedBlock {
        let mut b = ParsedBlock::default();
        for (id, ins, outs) in txs {
            b.txs.push(ParsedTx { txid: [*id; 32], version: 2, locktime: 0, n_in: ins.len() as u32, n_out: outs.len() as u32 });
            b.prevouts.extend_from_slice(ins);
            b.outputs.extend(outs.iter().map(|v| out(*v)));
        }
        b
    }

    fn append(b: &mut Builder, height: u32, p: &ParsedBlock) -> Result<(), ChainError> {
        b.append(height, p, &vec![NONE; p.outputs.len()], &AddrRows::default())
    }

    #[test]
    fn a_failing_block_changes_nothing_and_a_good_one_spends_within_itself() {
        let mut b = Builder::new();
        append(&mut b, 0, &block(&[(1, &[], &[50, 30])])).expect("coinbase");
        assert_eq!(b.utxo.len(), 2);
        // The second input spends nothing known: the first one's output is put back.
        let missing = block(&[(2, &[([1; 32], 0)], &[49]), (3, &[([9; 32], 0)], &[1])]);
        assert!(matches!(append(&mut b, 1, &missing), Err(ChainError::MissingPrevout { vin: 0, .. })));
        // Two inputs of one block spending one output.
        let double = block(&[(2, &[([1; 32], 0)], &[49]), (3, &[([1; 32], 0)], &[1])]);
        assert!(matches!(append(&mut b, 1, &double), Err(ChainError::MissingPrevout { .. })));
        assert_eq!((b.utxo.len(), b.rows.txs.len(), b.rows.prev.len(), b.next_out), (2, 1, 0, 2), "nothing of the failed blocks kept");
        // An output spent later in its own block never becomes unspent; fees are exact.
        let good = block(&[(2, &[([1; 32], 0)], &[45, 4]), (3, &[([2; 32], 1), ([1; 32], 1)], &[33])]);
        append(&mut b, 1, &good).expect("good block");
        assert_eq!(b.rows.prev_output, vec![0, 3, 1], "outputs 0, then 3 (of tx 2 in this block), then 1");
        assert_eq!(b.rows.txs.iter().map(|t| t.fee).collect::<Vec<_>>(), vec![0, 50 - 49, 4 + 30 - 33]);
        let mut left: Vec<u32> = b.utxo.values().map(|u| u.out).collect();
        left.sort_unstable();
        assert_eq!(left, vec![2, 4], "tx 2's first output and tx 3's");
        // A spent output cannot be spent again in a later block.
        assert!(append(&mut b, 2, &block(&[(4, &[([1; 32], 0)], &[1])])).is_err());
    }

    #[test]
    fn txids_sharing_the_key_are_told_apart_and_duplicates_replace() {
        let mut b = Builder::new();
        append(&mut b, 0, &block(&[(1, &[], &[50]), (5, &[], &[30])])).expect("two outputs");
        let mut twin = [1u8; 32];
        twin[20] = 9; // the same 16 key bytes, other check bytes
        // An input naming the twin spends nothing, though its key holds an output.
        assert!(matches!(append(&mut b, 1, &block(&[(2, &[(twin, 0)], &[1])])), Err(ChainError::MissingPrevout { .. })));
        assert_eq!(b.utxo.len(), 2);
        // A transaction whose txid is the twin cannot enter beside it: refused, and the
        // output it spent is put back.
        let mut p = block(&[(3, &[([5; 32], 0)], &[29])]);
        p.txs[0].txid = twin;
        let err = append(&mut b, 1, &p).expect_err("key taken by another txid");
        assert!(err.to_string().contains("24 txid bytes"), "{err}");
        assert_eq!((b.rows.txs.len(), b.next_out), (2, 2), "the block left no rows");
        let mut left: Vec<u32> = b.utxo.values().map(|u| u.out).collect();
        left.sort_unstable();
        assert_eq!(left, vec![0, 1], "the set is as before");
        // The same txid again (mainnet's duplicated coinbases): the newer output replaces it.
        append(&mut b, 1, &block(&[(1, &[], &[25])])).expect("duplicate txid");
        assert_eq!(b.report.replaced_unspent, 1);
        let mut left: Vec<u32> = b.utxo.values().map(|u| u.out).collect();
        left.sort_unstable();
        assert_eq!(left, vec![1, 2]);
    }

    #[test]
    fn unspendable_outputs_are_not_kept() {
        let mut b = Builder::new();
        let mut p = block(&[(1, &[], &[50, 0])]);
        p.outputs[1].unspendable = true;
        append(&mut b, 0, &p).expect("coinbase");
        assert_eq!(b.utxo.len(), 1);
        assert!(append(&mut b, 1, &block(&[(2, &[([1; 32], 1)], &[0])])).is_err(), "an OP_RETURN output is never spent");
    }
}
