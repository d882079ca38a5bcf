//! Address ids for the streaming build without an address table in memory.
//!
//! Why: an address table costs ~58 bytes per address, 81 GiB for mainnet's 1.5e9; the
//! streaming build ([`crate::index_stream`]) must stay under 24 GiB. The ids stay those of
//! the in-memory build (addresses numbered in the order of the first output paying them),
//! so both builds still write equal tables. How:
//!
//! 1. One pass over the blocks writes, per output, a keyed 128-bit hash of its address (0
//!    for none) to a spill file: 16 bytes per output, on disk.
//! 2. The file is scanned once per partition of the hash space (as many partitions as
//!    [`PLAN_MEMORY`] needs): a map from hash to first output id for that partition's
//!    addresses. A first output gets its bit set in a bitset over output ids; every later
//!    output paying the address is written as (output id, first output id) to the
//!    partition's list, in output order, since the scan is.
//! 3. The build numbers addresses as it meets them ([`PlannedIds`]): an output whose bit is
//!    set pays a new address (the next id); any other pays the address first paid by the
//!    output its list names, whose id is the number of bits set before that output.
//!
//! In memory during the build: the bitset and its rank index (~1.1 bits per output) and a
//! read buffer per partition; in step 2, one partition's map. What this trusts: two
//! addresses with one keyed hash (SipHash-1-3 under two keys of std's `RandomState`,
//! random per process) would be taken for one, with a chance of about 1e-20 among 1.5e9
//! addresses; the in-memory build confirms every match against the bytes instead.

use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::blocks::BlockSource;
use crate::error::ChainError;
use crate::index::{read_ahead, AddrKind, AddrRows, InternBlock, ReadBlock, NONE};
use crate::parsed::ParsedBlock;

/// Memory the map of step 2 may take; the number of partitions follows from it.
pub const PLAN_MEMORY: usize = 10 << 30;

/// Bytes of a map bucket: a 16-byte key, a 4-byte id, a control byte.
const BUCKET_BYTES: usize = std::mem::size_of::<(u128, u32)>() + 1;

/// Entries a partition's map is sized for: its share of the paying outputs and a margin
/// for an uneven split. Addresses are fewer than paying outputs wherever one is paid
/// twice, so the map does not grow (a growing table briefly holds its old and new
/// buckets) unless a partition gets more distinct addresses than its share and margin.
fn map_entries(paying: u64, partitions: u64) -> usize {
    let share = paying.div_ceil(partitions.max(1));
    (share + share / 64 + 16) as usize
}

/// Heap bytes of a map sized for `entries` (hashbrown: a power of two of buckets at or
/// above entries / 0.875).
fn map_bytes(entries: usize) -> usize {
    (entries.saturating_mul(8) / 7).next_power_of_two().saturating_mul(BUCKET_BYTES)
}

/// The partitions of a plan for `paying` paying outputs within `memory`, and the bytes of
/// each partition's map (None past [`MAX_PARTITIONS`]).
pub fn plan_shape(paying: u64, memory: usize) -> Option<(u64, usize)> {
    partitions_for(paying, memory).map(|p| (p, map_bytes(map_entries(paying, p))))
}

/// Most partitions a plan may have: each is a file the build keeps open, with a read
/// buffer of [`LIST_BUF`] (64 MiB and 256 descriptors at most).
pub const MAX_PARTITIONS: u64 = 256;

/// Read buffer of each partition's list during the build.
const LIST_BUF: usize = 256 << 10;

/// The fewest partitions whose maps fit in `memory` for `paying` paying outputs, or None
/// when more than [`MAX_PARTITIONS`] would be needed.
pub fn partitions_for(paying: u64, memory: usize) -> Option<u64> {
    let fits = |p: u64| map_bytes(map_entries(paying, p)) <= memory;
    if !fits(MAX_PARTITIONS) {
        return None;
    }
    // The map shrinks as partitions grow: the fewest that fit, by bisection.
    let (mut lo, mut hi) = (1u64, MAX_PARTITIONS);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

const BUF: usize = 1 << 20;

/// A keyed 128-bit hash of an address (never 0: 0 marks an output without one).
struct AddrHasher([RandomState; 2]);

impl AddrHasher {
    fn new() -> AddrHasher {
        AddrHasher([RandomState::new(), RandomState::new()])
    }
    fn hash(&self, kind: AddrKind, data: &[u8]) -> u128 {
        let half = |s: &RandomState| {
            let mut h = s.build_hasher();
            h.write_u8(kind as u8);
            h.write(data);
            h.finish()
        };
        (u128::from(half(&self.0[0])) << 64 | u128::from(half(&self.0[1]))).max(1)
    }
}

/// What planning found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PlanReport {
    /// Outputs planned (all outputs of the blocks read).
    pub outputs: u64,
    /// Outputs paying an address.
    pub paying: u64,
    /// Distinct addresses.
    pub addresses: u64,
    /// Partitions of step 2 (scans of the spill file).
    pub partitions: u32,
    /// Bytes of the spill file.
    pub spill_bytes: u64,
    /// Heap bytes of the largest partition's map.
    pub map_bytes: usize,
    /// The error that stopped reading blocks (the build stops at the same block).
    pub stopped: Option<String>,
}

fn out_of_step(message: String) -> ChainError {
    ChainError::Index { path: PathBuf::new(), message: format!("address plan: {message}") }
}

/// Steps 1 and 2 for the chain of `src`, with the spill and the lists under `dir` (which
/// must outlive the returned ids).
pub(crate) fn plan(src: &BlockSource, dir: &Path, memory: usize) -> Result<(PlannedIds, PlanReport), ChainError> {
    let hasher = AddrHasher::new();
    let spill = dir.join("address-hashes.bin");
    let mut report = PlanReport::default();
    // Step 1: the builds' reader thread parses (numbering nothing), this one hashes and
    // writes.
    std::thread::scope(|scope| -> Result<(), ChainError> {
        let (rx, reader, recycle) = read_ahead(scope, src, 0, Unnumbered, 0, false);
        let written = write_spill(&spill, rx.into_iter().map(|r| r.and_then(|b| b.checked(src))), &recycle, &hasher, &mut report);
        // A reader that panicked is an error here, as in the build's reader.
        reader.join().map_err(|_| out_of_step("block reader thread panicked".into()))?;
        written
    })?;

    report.spill_bytes = report.outputs * 16;
    if report.outputs >= u64::from(NONE) {
        return Err(ChainError::IdOverflow("outputs"));
    }
    // Step 2.
    let parts = partitions_for(report.paying, memory).ok_or_else(|| {
        out_of_step(format!("{} bytes for the map cannot plan {} paying outputs in {MAX_PARTITIONS} partitions", memory, report.paying))
    })? as usize;
    report.partitions = parts as u32;
    let mut first = vec![0u64; (report.outputs as usize).div_ceil(64)];
    let mut lists = Vec::with_capacity(parts);
    for part in 0..parts {
        let list = dir.join(format!("later-{part:05}.bin"));
        let mut w = BufWriter::with_capacity(BUF, File::create(&list).map_err(|e| ChainError::io(&list, e))?);
        let mut r = BufReader::with_capacity(BUF, File::open(&spill).map_err(|e| ChainError::io(&spill, e))?);
        let mut map: HashMap<u128, u32, foldhash::fast::RandomState> = HashMap::default();
        // Sized once: within `memory`, and no growth (which holds two tables at once).
        map.reserve(map_entries(report.paying, parts as u64));
        let mut h = [0u8; 16];
        for out in 0..report.outputs as u32 {
            r.read_exact(&mut h).map_err(|e| ChainError::io(&spill, e))?;
            let h = u128::from_le_bytes(h);
            if h == 0 || (h as u64 % parts as u64) != part as u64 {
                continue;
            }
            match map.entry(h) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(out);
                    first[out as usize / 64] |= 1 << (out % 64);
                }
                std::collections::hash_map::Entry::Occupied(f) => {
                    w.write_all(&out.to_le_bytes()).and_then(|()| w.write_all(&f.get().to_le_bytes())).map_err(|e| ChainError::io(&list, e))?;
                }
            }
        }
        w.flush().map_err(|e| ChainError::io(&list, e))?;
        report.addresses += map.len() as u64;
        report.map_bytes = report.map_bytes.max(map_bytes(map.capacity()));
        lists.push(list);
    }
    std::fs::remove_file(&spill).map_err(|e| ChainError::io(&spill, e))?;
    let ids = PlannedIds::new(first, report.outputs, &lists)?;
    Ok((ids, report))
}

/// Step 1's writing side: a keyed hash per output of each block received, in order; stops
/// at the first block that failed to read (recorded in the report).
fn write_spill(
    spill: &Path,
    blocks: impl Iterator<Item = Result<ReadBlock, ChainError>>,
    recycle: &std::sync::mpsc::Sender<ParsedBlock>,
    hasher: &AddrHasher,
    report: &mut PlanReport,
) -> Result<(), ChainError> {
    let mut w = BufWriter::with_capacity(BUF, File::create(spill).map_err(|e| ChainError::io(spill, e))?);
    for item in blocks {
        let p = match item {
            Ok(b) => b.parsed,
            Err(e) => {
                report.stopped = Some(e.to_string());
                break;
            }
        };
        for o in &p.outputs {
            let h = p.address(o).map(|(k, d)| hasher.hash(k, d)).unwrap_or(0);
            report.paying += u64::from(h != 0);
            w.write_all(&h.to_le_bytes()).map_err(|e| ChainError::io(spill, e))?;
        }
        report.outputs += p.outputs.len() as u64;
        let _ = recycle.send(p);
    }
    w.flush().map_err(|e| ChainError::io(spill, e))
}

/// The reader's numbering for step 1: none (the plan is what will number them).
struct Unnumbered;

impl InternBlock for Unnumbered {
    fn intern_block(&mut self, _: &ParsedBlock, _: u64, _: bool) -> Result<(Vec<u32>, AddrRows, usize), ChainError> {
        Ok((Vec::new(), AddrRows::default(), 0))
    }
}

/// Step 3: address ids from the plan, as the reader thread of the build meets outputs.
pub(crate) struct PlannedIds {
    /// Bit `o` set: output `o` is the first to pay its address.
    first: Vec<u64>,
    /// Bits set before each run of 8 words (512 outputs).
    rank: Vec<u32>,
    outputs: u64,
    /// The later payments of every partition, merged in output order.
    later: Later,
    next_id: u32,
}

impl PlannedIds {
    fn new(first: Vec<u64>, outputs: u64, lists: &[PathBuf]) -> Result<PlannedIds, ChainError> {
        let mut rank = Vec::with_capacity(first.len() / 8 + 1);
        let mut n = 0u32;
        for chunk in first.chunks(8) {
            rank.push(n);
            n += chunk.iter().map(|w| w.count_ones()).sum::<u32>();
        }
        Ok(PlannedIds { first, rank, outputs, later: Later::open(lists)?, next_id: 0 })
    }

    fn is_first(&self, out: u64) -> bool {
        self.first[(out / 64) as usize] >> (out % 64) & 1 == 1
    }

    /// Bits set before `out`: the id of the address output `out` paid first.
    fn rank(&self, out: u64) -> u32 {
        let word = (out / 64) as usize;
        let base = self.rank[word / 8];
        let whole: u32 = self.first[word / 8 * 8..word].iter().map(|w| w.count_ones()).sum();
        let part = (self.first[word] & ((1u64 << (out % 64)) - 1)).count_ones();
        base + whole + part
    }

    /// Heap bytes (the bitset, its rank index and the lists' read buffers).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.first.len() * 8 + self.rank.len() * 4 + self.later.readers.len() * LIST_BUF
    }
}

impl InternBlock for PlannedIds {
    fn intern_block(&mut self, p: &ParsedBlock, first_out: u64, copy_new: bool) -> Result<(Vec<u32>, AddrRows, usize), ChainError> {
        let mut ids = Vec::with_capacity(p.outputs.len());
        let mut new_addrs = AddrRows::default();
        for (i, o) in p.outputs.iter().enumerate() {
            let Some((kind, data)) = p.address(o) else {
                ids.push(NONE);
                continue;
            };
            let out = first_out + i as u64;
            if out >= self.outputs {
                return Err(out_of_step(format!("output {out} beyond the {} planned", self.outputs)));
            }
            if self.is_first(out) {
                ids.push(self.next_id);
                self.next_id += 1;
                if copy_new {
                    new_addrs.push(kind, data, out as u32);
                }
            } else {
                match self.later.next()? {
                    Some((o, first)) if u64::from(o) == out && first < o => ids.push(self.rank(u64::from(first))),
                    other => return Err(out_of_step(format!("output {out} pays an address seen before, the lists say {other:?}"))),
                }
            }
        }
        Ok((ids, new_addrs, self.next_id as usize))
    }
}

/// A merge of the partitions' lists of (output, first output), each in output order.
struct Later {
    readers: Vec<(PathBuf, BufReader<File>)>,
    heap: BinaryHeap<std::cmp::Reverse<(u32, u32, usize)>>,
}

impl Later {
    fn open(lists: &[PathBuf]) -> Result<Later, ChainError> {
        let mut l = Later { readers: Vec::with_capacity(lists.len()), heap: BinaryHeap::new() };
        for (i, path) in lists.iter().enumerate() {
            let f = File::open(path).map_err(|e| ChainError::io(path, e))?;
            l.readers.push((path.clone(), BufReader::with_capacity(LIST_BUF, f)));
            l.refill(i)?;
        }
        Ok(l)
    }

    fn refill(&mut self, i: usize) -> Result<(), ChainError> {
        let (path, r) = &mut self.readers[i];
        let mut pair = [0u8; 8];
        match r.read_exact(&mut pair) {
            Ok(()) => {
                let o = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
                let f = u32::from_le_bytes([pair[4], pair[5], pair[6], pair[7]]);
                self.heap.push(std::cmp::Reverse((o, f, i)));
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) => Err(ChainError::io(path.as_path(), e)),
        }
    }

    fn next(&mut self) -> Result<Option<(u32, u32)>, ChainError> {
        let Some(std::cmp::Reverse((o, f, i))) = self.heap.pop() else { return Ok(None) };
        self.refill(i)?;
        Ok(Some((o, f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_keep_each_map_within_the_memory_given() {
        for (paying, memory) in [(1_000u64, 1usize << 20), (20_000_000, 1 << 30), (3_200_000_000, PLAN_MEMORY), (3_000, 4096)] {
            let p = partitions_for(paying, memory).expect("fits");
            assert!(map_bytes(map_entries(paying, p)) <= memory, "{paying} in {p}");
            assert!(p == 1 || map_bytes(map_entries(paying, p - 1)) > memory, "{paying}: {p} is not the fewest");
        }
        assert_eq!(partitions_for(20_000_000, 2 << 30), Some(1));
        assert_eq!(partitions_for(20_000_000, 1 << 30), Some(2), "2^25 buckets do not fit in 1 GiB");
        assert_eq!(partitions_for(3_200_000_000, PLAN_MEMORY), Some(14), "mainnet's outputs in 10 GiB: 2^28 buckets each");
        assert_eq!(partitions_for(3_200_000_000, 4096), None, "too little memory is an error, not 1e9 files");
        // A map sized so never grows: hashbrown keeps the capacity it was reserved for.
        let mut m: HashMap<u128, u32, foldhash::fast::RandomState> = HashMap::default();
        m.reserve(map_entries(5_000, 1));
        let cap = m.capacity();
        assert!(map_bytes(cap) == map_bytes(map_entries(5_000, 1)), "sizes agree with hashbrown's");
        for i in 0..5_000u32 {
            m.insert(u128::from(i) * 7919, i);
        }
        assert_eq!(m.capacity(), cap);
    }

    #[test]
    fn rank_counts_the_bits_before() {
        let mut first = vec![0u64; 40];
        let set = [0u64, 3, 63, 64, 511, 512, 513, 1000, 2047, 2559];
        for o in set {
            first[(o / 64) as usize] |= 1 << (o % 64);
        }
        let ids = PlannedIds::new(first, 2560, &[]).expect("no lists");
        for o in 0..2560u64 {
            assert_eq!(ids.rank(o), set.iter().filter(|s| **s < o).count() as u32, "rank({o})");
        }
    }

    #[test]
    fn hashes_separate_kinds_and_bytes_and_are_never_zero() {
        let h = AddrHasher::new();
        assert_ne!(h.hash(AddrKind::P2pkh, &[1; 20]), h.hash(AddrKind::P2sh, &[1; 20]));
        assert_ne!(h.hash(AddrKind::P2pkh, &[1; 20]), h.hash(AddrKind::P2pkh, &[2; 20]));
        assert_eq!(h.hash(AddrKind::P2tr, &[3; 32]), h.hash(AddrKind::P2tr, &[3; 32]));
    }
}
