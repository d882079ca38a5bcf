//! The in-memory chain index: blocks, transactions, outputs, inputs and addresses under
//! compact `u32` ids assigned in chain order (so ids are reproducible for the same chain).
//!
//! Why this layout: at full-chain scale (about a billion transactions and addresses) every
//! byte per row matters, so rows are small fixed-size structs in `Vec`s, inputs are a single
//! `u32` (the spent output's id), and lookups by txid or script go through an [`IdTable`],
//! whose slots hold a row id and a tag of the key's digest and read the keys back from the
//! rows, instead of a map keyed by 32-byte hashes.

use std::collections::HashMap;

use bitcoin::hashes::Hash;
use bitcoin::{Block, Network, Script, ScriptBuf};

use crate::error::ChainError;
use crate::parsed::ParsedBlock;

/// Marker for "no id" (coinbase input, output without address, unspent output).
pub const NONE: u32 = u32::MAX;

/// Script types that get an address id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum AddrKind {
    /// Pay to public key: the pubkey is the address.
    P2pk = 0,
    /// Pay to pubkey hash.
    P2pkh = 1,
    /// Pay to script hash.
    P2sh = 2,
    /// Segwit v0 key hash.
    P2wpkh = 3,
    /// Segwit v0 script hash.
    P2wsh = 4,
    /// Taproot.
    P2tr = 5,
    /// Bare multisig: the whole script is the address.
    Multisig = 6,
}

impl AddrKind {
    /// Every kind, indexed by its `u8` value.
    pub const ALL: [AddrKind; 7] = [AddrKind::P2pk, AddrKind::P2pkh, AddrKind::P2sh, AddrKind::P2wpkh, AddrKind::P2wsh, AddrKind::P2tr, AddrKind::Multisig];
    /// Lower-case name as stored in Parquet and shown to users.
    pub fn name(self) -> &'static str {
        match self {
            AddrKind::P2pk => "p2pk",
            AddrKind::P2pkh => "p2pkh",
            AddrKind::P2sh => "p2sh",
            AddrKind::P2wpkh => "p2wpkh",
            AddrKind::P2wsh => "p2wsh",
            AddrKind::P2tr => "p2tr",
            AddrKind::Multisig => "multisig",
        }
    }
    /// Inverse of [`AddrKind::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "p2pk" => AddrKind::P2pk,
            "p2pkh" => AddrKind::P2pkh,
            "p2sh" => AddrKind::P2sh,
            "p2wpkh" => AddrKind::P2wpkh,
            "p2wsh" => AddrKind::P2wsh,
            "p2tr" => AddrKind::P2tr,
            "multisig" => AddrKind::Multisig,
            _ => return None,
        })
    }
}

/// Classifies a scriptPubKey: the address kind and its identifying bytes (hash, pubkey or
/// whole script). Non-standard scripts, OP_RETURN and unknown witness versions give `None`.
pub fn classify(script: &Script) -> Option<(AddrKind, &[u8])> {
    let b = script.as_bytes();
    if script.is_p2pkh() {
        Some((AddrKind::P2pkh, b.get(3..23)?))
    } else if script.is_p2sh() {
        Some((AddrKind::P2sh, b.get(2..22)?))
    } else if script.is_p2wpkh() {
        Some((AddrKind::P2wpkh, b.get(2..22)?))
    } else if script.is_p2wsh() {
        Some((AddrKind::P2wsh, b.get(2..34)?))
    } else if script.is_p2tr() {
        Some((AddrKind::P2tr, b.get(2..34)?))
    } else if script.is_p2pk() {
        // <push pubkey> OP_CHECKSIG: the pubkey sits between the push byte and the opcode.
        Some((AddrKind::P2pk, b.get(1..b.len().checked_sub(1)?)?))
    } else if script.is_multisig() {
        Some((AddrKind::Multisig, b))
    } else {
        None
    }
}

/// Rebuilds the scriptPubKey of an address from its kind and bytes.
pub fn script_of(kind: AddrKind, data: &[u8]) -> ScriptBuf {
    let mut s = Vec::with_capacity(data.len() + 5);
    match kind {
        AddrKind::P2pkh => {
            s.extend_from_slice(&[0x76, 0xa9, 0x14]);
            s.extend_from_slice(data);
            s.extend_from_slice(&[0x88, 0xac]);
        }
        AddrKind::P2sh => {
            s.extend_from_slice(&[0xa9, 0x14]);
            s.extend_from_slice(data);
            s.push(0x87);
        }
        AddrKind::P2wpkh => {
            s.extend_from_slice(&[0x00, 0x14]);
            s.extend_from_slice(data);
        }
        AddrKind::P2wsh => {
            s.extend_from_slice(&[0x00, 0x20]);
            s.extend_from_slice(data);
        }
        AddrKind::P2tr => {
            s.extend_from_slice(&[0x51, 0x20]);
            s.extend_from_slice(data);
        }
        AddrKind::P2pk => {
            s.push(data.len() as u8);
            s.extend_from_slice(data);
            s.push(0xac);
        }
        AddrKind::Multisig => s.extend_from_slice(data),
    }
    ScriptBuf::from_bytes(s)
}

/// An amount in satoshis as BTC with all eight decimals (`0.00002000 BTC`),
/// as reports and `explain` print amounts.
pub fn display_btc(sats: u64) -> String {
    format!("{}.{:08} BTC", sats / 100_000_000, sats % 100_000_000)
}

/// Display form of an address: the network's address string for hash types,
/// `p2pk:<pubkey hex>` and `multisig:<script hex>` for the others.
pub fn display_address(kind: AddrKind, data: &[u8], network: Network) -> String {
    match kind {
        AddrKind::P2pk => format!("p2pk:{}", hex::encode(data)),
        AddrKind::Multisig => format!("multisig:{}", hex::encode(data)),
        _ => match bitcoin::Address::from_script(&script_of(kind, data), network) {
            Ok(a) => a.to_string(),
            Err(_) => format!("{}:{}", kind.name(), hex::encode(data)),
        },
    }
}

/// Parses a user-given address string (any display form) to kind and bytes.
pub fn parse_address(s: &str, network: Network) -> Option<(AddrKind, Vec<u8>)> {
    if let Some(h) = s.strip_prefix("p2pk:") {
        return Some((AddrKind::P2pk, hex::decode(h).ok()?));
    }
    if let Some(h) = s.strip_prefix("multisig:") {
        return Some((AddrKind::Multisig, hex::decode(h).ok()?));
    }
    let a: bitcoin::Address<bitcoin::address::NetworkUnchecked> = s.parse().ok()?;
    let a = a.require_network(network).ok()?;
    let script = a.script_pubkey();
    classify(&script).map(|(k, d)| (k, d.to_vec()))
}

/// The first eight bytes of a uniform hash (txid, hash160, sha256) as a `u64`.
fn fingerprint(bytes: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    for (i, b) in bytes.iter().take(8).enumerate() {
        a[i] = *b;
    }
    u64::from_le_bytes(a)
}

/// Interns the addresses of a parsed block's outputs, whose ids start at `first_out`;
/// returns one address id per output ([`NONE`] without an address).
pub fn intern_addresses(addrs: &mut AddrTable, block: &ParsedBlock, first_out: u64) -> Result<Vec<u32>, ChainError> {
    // First every output's address among those the table holds: the lookups do not depend
    // on each other, so the CPU overlaps their cache misses (the table is far larger than
    // the caches). Then, in output order, the rest are interned; an address new to this
    // block that comes twice is found by then.
    // Each address is hashed once; a new one is then filed with one probe that finds it
    // (when it came earlier in the block) or its slot.
    let keys: Vec<u64> = block.outputs.iter().map(|o| block.address(o).map_or(0, |(kind, data)| addrs.key_hash(kind, data))).collect();
    let mut ids: Vec<u32> = Vec::with_capacity(keys.len());
    each_prefetched(&keys, |k| addrs.map.prefetch(*k), |i, k| {
        ids.push(block.address(&block.outputs[i]).and_then(|(kind, data)| addrs.lookup_hashed(kind, data, *k)).unwrap_or(NONE));
    });
    for (i, o) in block.outputs.iter().enumerate() {
        if ids[i] != NONE {
            continue;
        }
        if let Some((kind, data)) = block.address(o) {
            let out = u32::try_from(first_out + i as u64).ok().filter(|o| *o != NONE).ok_or(ChainError::IdOverflow("outputs"))?;
            ids[i] = addrs.intern_hashed(kind, data, keys[i], out)?;
        }
    }
    Ok(ids)
}

/// Seeded per process, and fast. Seeding alone does not keep crafted chain data from
/// degrading a table: keys with one digest share a probe chain whatever the seed. So an
/// address (whose first bytes anyone paying to it chooses) is hashed whole
/// ([`AddrTable`]'s key hash); a txid by its first 8 bytes, which cost 2^64 hashing to
/// collide.
type FpState = foldhash::fast::RandomState;

/// A set of row ids keyed by what the rows hold (a txid, an address). Open addressing
/// with linear probing; a slot is 8 bytes: the id and a 32-bit tag of the key's digest
/// (the key itself is read back from the rows, to compare it on a lookup). The tag picks
/// the slot a key starts probing from (its high bits scaled to the table), so the table
/// grows and deletes by the tags alone, without reading a row; and on a lookup it tells
/// other keys apart without reading their rows (a miss in a table far larger than the
/// caches is one memory access). Only keys placed at the same slot can share a tag, and
/// among those the tag's bits below the placement decide: all but 1 in 256 at 2^24 slots,
/// 1 in 2 at 2^31 (the whole mainnet's addresses), where a lookup reads about one row more
/// than it needs to in three lookups. [`IdTable::prefetch`] asks for that access
/// ahead, so the lookups of a block overlap theirs. Keys with one digest stay apart because
/// a lookup compares the rows' whole keys; the callers choose digests that cannot be made
/// to collide cheaply (and the tag is seeded per process).
#[derive(Debug, Default)]
pub struct IdTable {
    /// `EMPTY` or `tag << 32 | (id + 1)`; a power of two long, at most 2^32 (or empty).
    slots: Vec<u64>,
    len: usize,
    state: FpState,
}

/// A free slot (stored ids are shifted by one, so no slot holding an id is 0).
const EMPTY: u64 = 0;

/// The most slots a table has: ids are `u32` below [`NONE`], so it never fills, and the tag
/// scaled by the length stays within a `u64`.
const MAX_SLOTS: usize = 1 << 32;

/// The slot holding `id` under `tag`.
fn slot_of(tag: u32, id: u32) -> u64 {
    (u64::from(tag) << 32) | (u64::from(id) + 1)
}

/// The id a full slot holds.
fn id_in(slot: u64) -> u32 {
    (slot as u32).wrapping_sub(1)
}

/// How many keys ahead of its lookup a block's loops ask for the memory it will read: far
/// enough for the fetch to arrive in time, near enough to stay in the cache.
const PREFETCH_AHEAD: usize = 16;

/// `n` zeroes, or None when the memory cannot be had. Written here, not left to the
/// allocator's zeroed pages: a lookup reads a table's slots before an insert writes them,
/// and a page first read and then written is faulted in twice (measured: 100k more
/// faults on the 10M sim chain); keys spread over the whole table, so every page is
/// written anyway.
fn zeroed_u64s(n: usize) -> Option<Vec<u64>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, 0);
    Some(v)
}

/// Asks the CPU to fetch the cache line of `r`; a hint, which cannot fault.
#[inline(always)]
fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault; `r` is a live
    // reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((r as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Calls `f(i, item)` on each item in order, having had `fetch` ask for the memory of
/// the item [`PREFETCH_AHEAD`] further on (and of the first ones before starting), so the
/// cache misses of a block's lookups overlap.
#[inline(always)]
fn each_prefetched<T>(items: &[T], fetch: impl Fn(&T), mut f: impl FnMut(usize, &T)) {
    items.iter().take(PREFETCH_AHEAD).for_each(&fetch);
    for (i, item) in items.iter().enumerate() {
        if let Some(ahead) = items.get(i + PREFETCH_AHEAD) {
            fetch(ahead);
        }
        f(i, item);
    }
}

impl IdTable {
    fn tag(&self, fp: u64) -> u32 {
        (std::hash::BuildHasher::hash_one(&self.state, fp) >> 32) as u32
    }
    /// The slot a key of tag `tag` starts probing from.
    fn home(tag: u32, slots: usize) -> usize {
        ((u64::from(tag) * slots as u64) >> 32) as usize
    }
    /// The probe sequence of `tag`: its home slot, then on, wrapping.
    fn probe(&self, tag: u32) -> impl Iterator<Item = usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let home = Self::home(tag, self.slots.len());
        (0..self.slots.len()).map(move |k| (home + k) & mask)
    }
    /// Asks the CPU to fetch the slot a lookup of digest `fp` starts at.
    fn prefetch(&self, fp: u64) {
        if self.slots.is_empty() {
            return;
        }
        prefetch(&self.slots[Self::home(self.tag(fp), self.slots.len())]);
    }
    /// The position of the id whose row `is` accepts among those of tag `tag`, or of
    /// the free slot that ends its probe sequence.
    fn find(&self, tag: u32, is: impl Fn(u32) -> bool) -> Result<usize, usize> {
        for i in self.probe(tag) {
            let s = self.slots[i];
            if s == EMPTY {
                return Err(i);
            }
            if (s >> 32) as u32 == tag && is(id_in(s)) {
                return Ok(i);
            }
        }
        unreachable!("the table is never full: fewer ids than slots exist")
    }
    /// The id whose row `is` accepts, among those stored under digest `fp`.
    fn get(&self, fp: u64, is: impl Fn(u32) -> bool) -> Option<u32> {
        self.get_tagged(self.tag(fp), is)
    }
    fn get_tagged(&self, tag: u32, is: impl Fn(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(tag, is).ok().map(|i| id_in(self.slots[i]))
    }
    /// Forgets `id` (stored under `fp`): the slots after it that may move up do
    /// (backward-shift deletion, so no probe sequence is cut).
    fn remove(&mut self, fp: u64, id: u32) {
        self.remove_tagged(self.tag(fp), id)
    }
    fn remove_tagged(&mut self, tag: u32, id: u32) {
        if self.slots.is_empty() {
            return;
        }
        let Ok(mut hole) = self.find(tag, |i| i == id) else { return };
        let mask = self.slots.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s == EMPTY {
                break;
            }
            // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
            let h = Self::home((s >> 32) as u32, self.slots.len());
            let stays = if hole <= j { hole < h && h <= j } else { hole < h || h <= j };
            if !stays {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
    }
    /// Stores `id` under `fp`. An id whose row has the same key (`same` says so: a
    /// duplicated txid, as mainnet's two coinbases) is replaced, as Bitcoin Core's view of
    /// the chain did.
    fn insert(&mut self, fp: u64, id: u32, same: impl Fn(u32) -> bool) {
        self.insert_tagged(self.tag(fp), id, same)
    }
    fn insert_tagged(&mut self, tag: u32, id: u32, same: impl Fn(u32) -> bool) {
        debug_assert!(id != NONE, "NONE is never stored");
        self.grow_for(1);
        let i = match self.find(tag, same) {
            Ok(i) | Err(i) => i,
        };
        if self.slots[i] == EMPTY {
            self.len += 1;
        }
        self.slots[i] = slot_of(tag, id);
    }
    /// The id whose row `is` accepts under digest `fp`, and false; else the id `make` gives
    /// (or its error), stored there, and true. One probe sequence either way.
    fn find_or_insert<E>(&mut self, fp: u64, is: impl Fn(u32) -> bool, make: impl FnOnce() -> Result<u32, E>) -> Result<(u32, bool), E> {
        self.grow_for(1);
        let tag = self.tag(fp);
        match self.find(tag, is) {
            Ok(i) => Ok((id_in(self.slots[i]), false)),
            Err(i) => {
                let id = make()?;
                debug_assert!(id != NONE, "NONE is never stored");
                self.slots[i] = slot_of(tag, id);
                self.len += 1;
                Ok((id, true))
            }
        }
    }
    /// The slot count for `need` ids: at most three quarters full, so probe sequences stay
    /// a cache line or two; a power of two, at most [`MAX_SLOTS`].
    fn slots_for(need: usize) -> usize {
        need.saturating_mul(4).div_ceil(3).max(16).checked_next_power_of_two().unwrap_or(MAX_SLOTS).min(MAX_SLOTS)
    }
    /// Grows the table if `additional` more ids would fill it past three quarters; an
    /// allocation failure ends the process, as a `Vec`'s does.
    fn grow_for(&mut self, additional: usize) {
        let slots = Self::slots_for(self.len.saturating_add(additional));
        if slots > self.slots.len() && !self.try_grow_to(slots) {
            std::alloc::handle_alloc_error(std::alloc::Layout::array::<u64>(slots).unwrap_or(std::alloc::Layout::new::<u64>()));
        }
    }
    /// Makes room for `additional` more ids at once (each doubling would otherwise
    /// allocate a fresh table and move every slot). Where the system refuses the room the
    /// table stays as it is and grows as usual.
    fn reserve(&mut self, additional: usize) {
        let slots = Self::slots_for(self.len.saturating_add(additional));
        if slots > self.slots.len() {
            self.try_grow_to(slots);
        }
    }
    /// Moves the ids into a table of `slots` slots (placed by their tags); false, leaving the
    /// table as it was, when the memory cannot be had.
    fn try_grow_to(&mut self, slots: usize) -> bool {
        let Some(new) = zeroed_u64s(slots) else { return false };
        let old = std::mem::replace(&mut self.slots, new);
        let mask = slots - 1;
        for s in old.into_iter().filter(|s| *s != EMPTY) {
            let mut i = Self::home((s >> 32) as u32, slots);
            while self.slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
        true
    }
    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }
}

/// A block row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    /// Block hash, internal byte order.
    pub hash: [u8; 32],
    /// Height.
    pub height: u32,
    /// Header time (unix seconds).
    pub time: u32,
    /// Id of its first transaction.
    pub first_tx: u32,
    /// Number of transactions.
    pub n_tx: u32,
}

/// A transaction row. Its block's height is not kept (the block rows give it:
/// [`ChainIndex::block_of_tx`], [`heights_of_txs`]): 4 bytes less a transaction, and the
/// row, 64 bytes aligned to 64, is one cache line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(align(64))]
pub struct TxRow {
    /// Txid, internal byte order.
    pub txid: [u8; 32],
    /// nVersion.
    pub version: i32,
    /// nLockTime.
    pub locktime: u32,
    /// Id of its first output.
    pub first_out: u32,
    /// Number of outputs.
    pub n_out: u32,
    /// Id of its first input.
    pub first_in: u32,
    /// Number of inputs (0 for a coinbase: its input spends nothing).
    pub n_in: u32,
    /// Fee in satoshis (0 for a coinbase).
    pub fee: u64,
}

// Kept to a cache line: every input's lookup reads one row.
const _: () = assert!(std::mem::size_of::<TxRow>() == 64);

impl TxRow {
    /// The row of a parsed transaction whose outputs and inputs start at the ids given;
    /// its inputs spend `in_value` in all (the fee is 0 for a coinbase).
    pub(crate) fn of_parsed(ptx: &crate::parsed::ParsedTx, first_out: u32, first_in: u32, in_value: u64, out_value: u64) -> TxRow {
        TxRow {
            txid: ptx.txid,
            version: ptx.version,
            locktime: ptx.locktime,
            first_out,
            n_out: ptx.n_out,
            first_in,
            n_in: ptx.n_in,
            fee: if ptx.n_in == 0 { 0 } else { in_value.saturating_sub(out_value) },
        }
    }
    /// Display txid.
    pub fn txid_hex(&self) -> String {
        bitcoin::Txid::from_byte_array(self.txid).to_string()
    }
    /// Output id range.
    pub fn outputs(&self) -> std::ops::Range<u32> {
        self.first_out..self.first_out + self.n_out
    }
    /// Input id range.
    pub fn inputs(&self) -> std::ops::Range<u32> {
        self.first_in..self.first_in + self.n_in
    }
}

/// An output row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutRow {
    /// Value in satoshis.
    pub value: u64,
    /// Address id or [`NONE`].
    pub addr: u32,
    /// Id of the transaction spending it, or [`NONE`] (unspent, or not yet known where
    /// rows are written before their spends: the streaming build's). In the row, not in a
    /// vector of its own, so an input's lookup of the value and its mark of the spend touch
    /// one cache line, and the field fills what was padding (16 bytes either way).
    pub spent_by: u32,
}

impl OutRow {
    /// An output not known to be spent.
    pub fn unspent(value: u64, addr: u32) -> OutRow {
        OutRow { value, addr, spent_by: NONE }
    }
}

const KIND_SHIFT: u32 = 56;
const OFFSET_MASK: u64 = (1 << KIND_SHIFT) - 1;

/// The address table: kind and bytes per id, in an arena.
#[derive(Debug, Default)]
pub struct AddrTable {
    /// Per id: the start of its bytes in the arena, with the kind in the top byte (one
    /// read, not two, when a lookup confirms a match).
    entries: Vec<u64>,
    arena: Vec<u8>,
    /// The first output that paid each address.
    pub first_out: Vec<u32>,
    map: IdTable,
    /// Seeds the whole-key hash of addresses ([`addr_key_hash`]).
    key_state: FpState,
}

/// The digest an [`AddrTable`] files an address under: a seeded hash of its kind and all
/// its bytes (not a prefix, which a payer could choose to collide).
fn addr_key_hash(state: &FpState, kind: AddrKind, data: &[u8]) -> u64 {
    std::hash::BuildHasher::hash_one(state, (kind as u8, data))
}

/// Kind and bytes of address `id` in an [`AddrTable`]'s entries and arena.
fn addr_at<'a>(entries: &[u64], arena: &'a [u8], id: u32) -> Option<(AddrKind, &'a [u8])> {
    let i = id as usize;
    let entry = *entries.get(i)?;
    let kind = *AddrKind::ALL.get((entry >> KIND_SHIFT) as usize)?;
    let start = (entry & OFFSET_MASK) as usize;
    let end = entries.get(i + 1).map(|e| (e & OFFSET_MASK) as usize).unwrap_or(arena.len());
    Some((kind, arena.get(start..end)?))
}

impl AddrTable {
    fn reserve(&mut self, additional: usize) {
        let _ = self.entries.try_reserve(additional);
        let _ = self.first_out.try_reserve(additional);
        let _ = self.arena.try_reserve(additional.saturating_mul(20));
        self.map.reserve(additional);
    }
    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Kind and bytes of an id.
    pub fn get(&self, id: u32) -> Option<(AddrKind, &[u8])> {
        addr_at(&self.entries, &self.arena, id)
    }
    /// Looks up an id.
    pub fn lookup(&self, kind: AddrKind, data: &[u8]) -> Option<u32> {
        self.lookup_hashed(kind, data, self.key_hash(kind, data))
    }
    /// The digest an address is filed under ([`addr_key_hash`] with this table's seed).
    fn key_hash(&self, kind: AddrKind, data: &[u8]) -> u64 {
        addr_key_hash(&self.key_state, kind, data)
    }
    /// [`AddrTable::lookup`] of an address whose digest is `key` (from [`AddrTable::key_hash`]).
    fn lookup_hashed(&self, kind: AddrKind, data: &[u8], key: u64) -> Option<u32> {
        self.map.get(key, |id| self.get(id) == Some((kind, data)))
    }
    /// Returns the id, creating it (first paid by `out`) when new.
    pub fn intern(&mut self, kind: AddrKind, data: &[u8], out: u32) -> Result<u32, ChainError> {
        self.intern_hashed(kind, data, self.key_hash(kind, data), out)
    }
    /// [`AddrTable::intern`] of an address whose digest is `key`: one probe of the table,
    /// which finds the address or the slot for it.
    fn intern_hashed(&mut self, kind: AddrKind, data: &[u8], key: u64, out: u32) -> Result<u32, ChainError> {
        let next = u32::try_from(self.entries.len()).ok().filter(|i| *i != NONE);
        let offset = self.arena.len() as u64;
        let (entries, arena) = (&self.entries, &self.arena);
        let (id, filed) = self.map.find_or_insert(
            key,
            |id| addr_at(entries, arena, id) == Some((kind, data)),
            || {
                if offset > OFFSET_MASK {
                    return Err(ChainError::IdOverflow("address bytes"));
                }
                next.ok_or(ChainError::IdOverflow("addresses"))
            },
        )?;
        // Filed just now: its row goes in.
        if filed {
            self.entries.push(offset | ((kind as u64) << KIND_SHIFT));
            self.arena.extend_from_slice(data);
            self.first_out.push(out);
        }
        Ok(id)
    }
    /// Forgets every address from id `n` on (those interned ahead for blocks that were
    /// then not appended).
    pub fn truncate(&mut self, n: usize) {
        for id in (n..self.len()).rev() {
            if let Some((kind, data)) = self.get(id as u32) {
                self.map.remove(addr_key_hash(&self.key_state, kind, data), id as u32);
            }
        }
        if let Some(start) = self.entries.get(n).map(|e| (e & OFFSET_MASK) as usize) {
            self.arena.truncate(start);
        }
        self.entries.truncate(n);
        self.first_out.truncate(n);
    }
    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.entries.len() * 8 + self.arena.len() + self.first_out.len() * 4 + self.map.heap_bytes()
    }
}

/// The addresses a block interned first, in id order (what the streaming build writes to
/// the `addresses` table; the in-memory build keeps them in its [`AddrTable`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AddrRows {
    /// Kind of each address.
    pub kinds: Vec<AddrKind>,
    /// End of each address's bytes in `bytes`.
    pub ends: Vec<u32>,
    /// The addresses' bytes, one after another.
    pub bytes: Vec<u8>,
    /// The first output that paid each address.
    pub first_out: Vec<u32>,
}

impl AddrRows {
    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }
    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }
    /// Appends an address.
    pub fn push(&mut self, kind: AddrKind, data: &[u8], first_out: u32) {
        self.kinds.push(kind);
        self.bytes.extend_from_slice(data);
        self.ends.push(self.bytes.len() as u32);
        self.first_out.push(first_out);
    }
    /// Appends every address of `other`.
    pub fn append(&mut self, other: &AddrRows) {
        for (i, (k, d)) in other.iter().enumerate() {
            self.push(k, d, other.first_out[i]);
        }
    }
    /// The addresses in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (AddrKind, &[u8])> + Clone + '_ {
        self.kinds.iter().enumerate().map(|(i, k)| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            (*k, &self.bytes[start..self.ends[i] as usize])
        })
    }
}

/// A block as the reader thread hands it over: parsed, its output addresses interned, its
/// merkle root checked or not yet ([`ReadBlock::checked`]).
pub(crate) struct ReadBlock {
    /// Its position in the source's chain.
    pub(crate) position: usize,
    /// Whether the reader checked the merkle root already.
    merkle_checked: bool,
    pub(crate) parsed: ParsedBlock,
    /// One address id per output ([`NONE`] without an address).
    pub(crate) addr_ids: Vec<u32>,
    /// Addresses in the table once this block's were interned.
    pub(crate) addrs_after: usize,
    /// The addresses this block interned first, when asked for.
    pub(crate) new_addrs: AddrRows,
}

impl ReadBlock {
    /// The block once its merkle root is checked: by the reader when it was ahead (it would
    /// have waited for room otherwise), else here, on the receiving thread.
    pub(crate) fn checked(mut self, src: &crate::BlockSource) -> Result<ReadBlock, ChainError> {
        if !self.merkle_checked {
            src.check_merkle(self.position, &self.parsed)?;
            self.merkle_checked = true;
        }
        Ok(self)
    }
}

/// Starts the reader thread of an index build: it reads, checks (magic, hash; the merkle
/// root when it is ahead, else the receiver does: [`ReadBlock::checked`]) and parses the blocks of
/// `src`'s chain from position `from` on and interns their output addresses (output ids
/// from `first_out`) into `addrs`, up to 16 blocks ahead of the receiver, and stops after
/// the first error or when the receiver is dropped; joining it gives the table back (with
/// addresses interned for blocks the receiver may not have appended: truncate it).
/// With `copy_new`, each block also carries the addresses it interned first.
///
/// Blocks sent back on the third value returned are parsed into again (their room reused:
/// no allocation per block, so no fresh pages for the kernel to zero).
pub(crate) fn read_ahead<'scope, I: InternBlock + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    src: &'scope crate::BlockSource,
    from: usize,
    mut addrs: I,
    first_out: u64,
    copy_new: bool,
) -> (std::sync::mpsc::Receiver<Result<ReadBlock, ChainError>>, std::thread::ScopedJoinHandle<'scope, I>, std::sync::mpsc::Sender<ParsedBlock>) {
    const AHEAD: usize = 16;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<ReadBlock, ChainError>>(AHEAD);
    let (recycle, recycled) = std::sync::mpsc::channel::<ParsedBlock>();
    let reader = scope.spawn(move || {
        let mut next_out = first_out;
        for i in from..src.len() {
            let mut parsed = recycled.try_recv().unwrap_or_default();
            let item = src.read_parsed_into_but_merkle(i, &mut parsed).and_then(|()| {
                // A block the numbering refuses may be one whose transactions were damaged
                // (the streaming build's plan stopped before it): say that first.
                let (addr_ids, new_addrs, addrs_after) = addrs.intern_block(&parsed, next_out, copy_new).map_err(|e| src.check_merkle(i, &parsed).err().unwrap_or(e))?;
                next_out += parsed.outputs.len() as u64;
                Ok(ReadBlock { position: i, merkle_checked: false, parsed, addr_ids, addrs_after, new_addrs })
            });
            let failed = item.is_err();
            // The merkle root check (a third of the hashing) goes to whichever thread has
            // time: when the receiver is behind (no room to send), this thread makes it
            // before it waits; otherwise the receiver does. The two stay balanced whichever
            // is slower on the chain at hand.
            let (sent, failed) = match tx.try_send(item) {
                Ok(()) => (true, failed),
                Err(std::sync::mpsc::TrySendError::Full(item)) => {
                    let item = item.and_then(|b| b.checked(src));
                    let failed = item.is_err();
                    (tx.send(item).is_ok(), failed)
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => (false, failed),
            };
            // A closed channel means the receiving side failed: stop reading.
            if !sent || failed {
                break;
            }
        }
        addrs
    });
    (rx, reader, recycle)
}

/// How the reader thread gives a block's outputs their address ids.
pub(crate) trait InternBlock: Send {
    /// The address id of each output of `p` (whose first output has id `first_out`;
    /// [`NONE`] without an address), the addresses seen first in it (when `copy_new`) and
    /// the number of addresses after it.
    fn intern_block(&mut self, p: &ParsedBlock, first_out: u64, copy_new: bool) -> Result<(Vec<u32>, AddrRows, usize), ChainError>;
}

impl InternBlock for AddrTable {
    fn intern_block(&mut self, p: &ParsedBlock, first_out: u64, copy_new: bool) -> Result<(Vec<u32>, AddrRows, usize), ChainError> {
        let before = self.len();
        let ids = intern_addresses(self, p, first_out)?;
        let mut new_addrs = AddrRows::default();
        if copy_new {
            for id in before..self.len() {
                if let Some((kind, data)) = self.get(id as u32) {
                    new_addrs.push(kind, data, self.first_out[id]);
                }
            }
        }
        Ok((ids, new_addrs, self.len()))
    }
}

/// The error when the reader thread ended before handing over the block at `height`.
pub(crate) fn reader_stopped(height: u32) -> ChainError {
    ChainError::Index { path: std::path::PathBuf::new(), message: format!("block reader stopped before height {height}") }
}

/// The height of each of the `n` transactions from id `first` on, from the block rows
/// holding them (which must cover them: rows beyond the blocks get the last block's
/// height).
pub(crate) fn heights_of_txs(blocks: &[BlockRow], first: u32, n: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(n);
    let mut b = blocks.partition_point(|b| b.first_tx <= first).saturating_sub(1);
    for tx in (first..).take(n) {
        while b + 1 < blocks.len() && blocks[b + 1].first_tx <= tx {
            b += 1;
        }
        out.push(blocks.get(b).map_or(0, |b| b.height));
    }
    out
}

/// The whole index.
#[derive(Debug)]
pub struct ChainIndex {
    /// Network of the chain (for address display).
    pub network: Network,
    /// Blocks by height order.
    pub blocks: Vec<BlockRow>,
    /// Transactions in chain order.
    pub txs: Vec<TxRow>,
    /// Outputs in chain order, with the transaction spending each.
    pub outputs: Vec<OutRow>,
    /// For each input, the id of the output it spends.
    pub inputs: Vec<u32>,
    /// Addresses.
    pub addrs: AddrTable,
    txid_map: IdTable,
    /// Buffers reused from block to block by [`ChainIndex::append_parsed`].
    scratch_spent: Vec<u32>,
    scratch_candidates: Vec<u32>,
    scratch_in_block: HashMap<[u8; 32], (u64, u32), FpState>,
}

impl ChainIndex {
    /// An empty index.
    pub fn new(network: Network) -> Self {
        ChainIndex {
            network,
            blocks: Vec::new(),
            txs: Vec::new(),
            outputs: Vec::new(),
            inputs: Vec::new(),
            addrs: AddrTable::default(),
            txid_map: IdTable::default(),
            scratch_spent: Vec::new(),
            scratch_candidates: Vec::new(),
            scratch_in_block: HashMap::default(),
        }
    }

    /// Makes room for about `bytes` of block data ahead of an index build, so the row
    /// vectors do not grow by copying into fresh, zeroed pages (a quarter of the build
    /// time under mimalloc). Room that is never written costs no resident memory; where
    /// the system refuses the reservation the vectors grow as usual.
    fn reserve_for_block_bytes(&mut self, bytes: u64) {
        // Per transaction: ~360 bytes on the sim chain, ~550 on mainnet; 2-2.5 outputs and
        // inputs; 1.4-1.8 new addresses. Underestimates only mean ordinary growth later.
        // The hash tables are touched wherever keys land, so they get no more than expected.
        let txs = usize::try_from(bytes / 300).unwrap_or(usize::MAX / 4);
        let outs = txs.saturating_mul(5) / 2;
        let _ = self.txs.try_reserve(txs);
        let _ = self.outputs.try_reserve(outs);
        let _ = self.inputs.try_reserve(outs);
        self.txid_map.reserve(txs);
        self.addrs.reserve(txs.saturating_mul(3) / 2);
    }

    /// Id of a transaction by txid (internal byte order).
    pub fn tx_id(&self, txid: &[u8; 32]) -> Option<u32> {
        self.txid_map.get(fingerprint(txid), |id| self.txs.get(id as usize).map(|t| &t.txid) == Some(txid))
    }

    /// The transaction spending output `out`, or [`NONE`] (unspent, or no such output).
    pub fn spent_by(&self, out: u32) -> u32 {
        self.outputs.get(out as usize).map_or(NONE, |o| o.spent_by)
    }

    /// The block (its index in `blocks`) holding transaction `tx`.
    pub fn block_of_tx(&self, tx: u32) -> Option<usize> {
        let i = self.blocks.partition_point(|b| b.first_tx <= tx).checked_sub(1)?;
        self.blocks.get(i).filter(|b| tx - b.first_tx < b.n_tx).map(|_| i)
    }

    /// The transaction that holds an output id.
    pub fn tx_of_output(&self, out: u32) -> Option<u32> {
        let i = self.txs.partition_point(|t| t.first_out <= out);
        let id = i.checked_sub(1)?;
        let t = self.txs.get(id)?;
        (out < t.first_out + t.n_out).then_some(id as u32)
    }

    /// The transaction that holds an input id.
    pub fn tx_of_input(&self, inp: u32) -> Option<u32> {
        // Coinbases have no inputs, so search among the txs with inputs by first_in.
        let i = self.txs.partition_point(|t| t.first_in + t.n_in <= inp);
        let t = self.txs.get(i)?;
        (t.inputs().contains(&inp)).then_some(i as u32)
    }

    /// Address ids of a transaction's inputs (with repeats).
    pub fn input_addrs(&self, tx: &TxRow) -> impl Iterator<Item = u32> + '_ {
        tx.inputs().filter_map(|i| {
            let o = *self.inputs.get(i as usize)?;
            let a = self.outputs.get(o as usize)?.addr;
            (a != NONE).then_some(a)
        })
    }

    /// Display string of an address id.
    pub fn address_string(&self, id: u32) -> Option<String> {
        self.addrs.get(id).map(|(k, d)| display_address(k, d, self.network))
    }

    /// Appends a block at the next height. The block must extend the stored chain.
    pub fn append_block(&mut self, height: u32, block: &Block) -> Result<(), ChainError> {
        let parsed = crate::parsed::parse_decoded(block).map_err(|message| ChainError::Index { path: std::path::PathBuf::new(), message })?;
        let before = self.addrs.len();
        let ids = intern_addresses(&mut self.addrs, &parsed, self.outputs.len() as u64)?;
        self.append_parsed(height, &parsed, &ids).inspect_err(|_| self.addrs.truncate(before))
    }

    /// Appends every block of `src`'s chain from position `from` on, stopping at the first
    /// error (blocks before it stay appended, the failing one leaves no trace).
    ///
    /// Two threads, so a 2-core machine keeps both cores busy: a reader thread reads,
    /// checks and parses blocks and interns their output addresses (it owns the address
    /// table meanwhile, a few blocks ahead); this thread resolves inputs and writes the
    /// rows. Addresses interned for blocks that were then not appended are taken back.
    /// Rows and tables are first sized for the blocks to come.
    pub fn append_from(&mut self, src: &crate::BlockSource, from: usize) -> Result<(), ChainError> {
        self.reserve_for_block_bytes(src.estimated_bytes_from(from));
        let addrs = std::mem::take(&mut self.addrs);
        let mut appended_addrs = addrs.len();
        let first_out = self.outputs.len() as u64;
        let (addrs_back, result) = std::thread::scope(|scope| {
            let (rx, reader, recycle) = read_ahead(scope, src, from, addrs, first_out, false);
            let mut result = Ok(());
            for loc in src.chain().iter().skip(from) {
                let step = match rx.recv().map(|r| r.and_then(|b| b.checked(src))) {
                    Ok(Ok(b)) => {
                        let appended = self.append_parsed(loc.height, &b.parsed, &b.addr_ids).map(|()| b.addrs_after);
                        // The reader may be gone after an error of its own: then the block is dropped.
                        let _ = recycle.send(b.parsed);
                        appended
                    }
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(reader_stopped(loc.height)),
                };
                match step {
                    Ok(n) => appended_addrs = n,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            drop(rx);
            (reader.join().ok(), result)
        });
        let Some(mut addrs) = addrs_back else {
            return Err(ChainError::Index { path: std::path::PathBuf::new(), message: "block reader thread panicked; the address table is lost".into() });
        };
        addrs.truncate(appended_addrs);
        self.addrs = addrs;
        result
    }

    /// Appends a parsed block whose output addresses were interned as `addr_ids` (one per
    /// output, [`NONE`] without an address) by [`intern_addresses`].
    fn append_parsed(&mut self, height: u32, block: &ParsedBlock, addr_ids: &[u32]) -> Result<(), ChainError> {
        if addr_ids.len() != block.outputs.len() {
            return Err(ChainError::Index { path: std::path::PathBuf::new(), message: format!("{} address ids for {} outputs", addr_ids.len(), block.outputs.len()) });
        }
        // Every input is resolved to the output it spends before anything is written, so
        // a block with a missing prevout leaves the index as it was.
        let spent = self.resolve_prevouts(block)?;
        let first_tx = u32::try_from(self.txs.len()).map_err(|_| ChainError::IdOverflow("transactions"))?;
        let (mut next_in, mut next_out) = (0usize, 0usize);
        for o in spent.iter().take(PREFETCH_AHEAD).filter_map(|o| self.outputs.get(*o as usize)) {
            prefetch(o);
        }
        for ptx in &block.txs {
            let tx_id = u32::try_from(self.txs.len()).ok().filter(|i| *i != NONE).ok_or(ChainError::IdOverflow("transactions"))?;
            let first_in = u32::try_from(self.inputs.len()).map_err(|_| ChainError::IdOverflow("inputs"))?;
            let mut in_value: u64 = 0;
            for (k, out) in spent.get(next_in..next_in + ptx.n_in as usize).unwrap_or(&[]).iter().enumerate() {
                if let Some(o) = spent.get(next_in + k + PREFETCH_AHEAD).and_then(|o| self.outputs.get(*o as usize)) {
                    prefetch(o);
                }
                let row = &mut self.outputs[*out as usize];
                in_value = in_value.saturating_add(row.value);
                row.spent_by = tx_id;
                self.inputs.push(*out);
            }
            next_in += ptx.n_in as usize;
            let first_out = u32::try_from(self.outputs.len()).ok().filter(|i| i.checked_add(ptx.n_out).is_some_and(|e| e < NONE)).ok_or(ChainError::IdOverflow("outputs"))?;
            let mut out_value: u64 = 0;
            let outs = block.outputs.get(next_out..next_out + ptx.n_out as usize).unwrap_or(&[]);
            for (o, addr) in outs.iter().zip(addr_ids.get(next_out..).unwrap_or(&[])) {
                out_value = out_value.saturating_add(o.value);
                self.outputs.push(OutRow::unspent(o.value, *addr));
            }
            next_out += ptx.n_out as usize;
            self.txs.push(TxRow::of_parsed(ptx, first_out, first_in, in_value, out_value));
            let txs = &self.txs;
            self.txid_map.insert(fingerprint(&ptx.txid), tx_id, |old| txs.get(old as usize).is_some_and(|t| t.txid == ptx.txid));
        }
        self.blocks.push(BlockRow { hash: block.hash, height, time: block.time, first_tx, n_tx: block.txs.len() as u32 });
        self.scratch_spent = spent;
        Ok(())
    }

    /// The output id each input of `block` spends, in order: an output earlier in the
    /// index or earlier in the block (whose ids follow the index's, as they will be
    /// assigned). Errors on the first input that spends nothing known.
    fn resolve_prevouts(&mut self, block: &ParsedBlock) -> Result<Vec<u32>, ChainError> {
        let mut spent = std::mem::take(&mut self.scratch_spent);
        spent.clear();
        let mut in_block = std::mem::take(&mut self.scratch_in_block);
        in_block.clear();
        let mut next_out = self.outputs.len() as u64;
        // First every input's transaction in the index: the lookups do not depend on each
        // other, so the CPU overlaps their cache misses; then the block's own come first.
        let mut candidates = std::mem::take(&mut self.scratch_candidates);
        candidates.clear();
        each_prefetched(&block.prevouts, |(txid, _)| self.txid_map.prefetch(fingerprint(txid)), |_, (txid, _)| {
            candidates.push(self.tx_id(txid).unwrap_or(NONE));
        });
        let mut prevouts = block.prevouts.iter().zip(&candidates);
        let mut result = Ok(());
        'txs: for ptx in &block.txs {
            for vin in 0..ptx.n_in {
                let Some(((txid, vout), candidate)) = prevouts.next() else { break 'txs };
                // (first output id, number of outputs) of the spent transaction.
                let found = match in_block.get(txid) {
                    Some(f) => Some(*f),
                    None => self.txs.get(*candidate as usize).map(|t| (u64::from(t.first_out), t.n_out)),
                };
                match found.filter(|(_, n)| vout < n).and_then(|(first, _)| u32::try_from(first + u64::from(*vout)).ok()) {
                    Some(out) => spent.push(out),
                    None => {
                        result = Err(ChainError::MissingPrevout {
                            block: bitcoin::BlockHash::from_byte_array(block.hash).to_string(),
                            txid: bitcoin::Txid::from_byte_array(ptx.txid).to_string(),
                            vin,
                            prevout: format!("{}:{vout}", bitcoin::Txid::from_byte_array(*txid)),
                        });
                        break 'txs;
                    }
                }
            }
            in_block.insert(ptx.txid, (next_out, ptx.n_out));
            next_out += u64::from(ptx.n_out);
        }
        self.scratch_in_block = in_block;
        self.scratch_candidates = candidates;
        result.map(|()| spent)
    }

    /// Re-adds a stored transaction row (used when loading from Parquet).
    pub(crate) fn push_loaded_tx(&mut self, row: TxRow) -> Result<(), ChainError> {
        let id = u32::try_from(self.txs.len()).ok().filter(|i| *i != NONE).ok_or(ChainError::IdOverflow("transactions"))?;
        let fp = fingerprint(&row.txid);
        self.txs.push(row);
        let txs = &self.txs;
        let txid = &txs[id as usize].txid;
        self.txid_map.insert(fp, id, |old| txs.get(old as usize).is_some_and(|t| t.txid == *txid));
        Ok(())
    }

    /// Re-adds a stored address (used when loading from Parquet).
    pub(crate) fn push_loaded_addr(&mut self, kind: AddrKind, data: &[u8], first_out: u32) -> Result<(), ChainError> {
        self.addrs.intern(kind, data, first_out).map(|_| ())
    }

    /// Hash of the best block, display form.
    pub fn best_hash(&self) -> Option<String> {
        self.blocks.last().map(|b| bitcoin::BlockHash::from_byte_array(b.hash).to_string())
    }

    /// Heap bytes of the in-memory index: rows written (reserved room that was never
    /// written is not resident) and the hash tables' whole capacity.
    pub fn heap_bytes(&self) -> usize {
        self.blocks.len() * std::mem::size_of::<BlockRow>()
            + self.txs.len() * std::mem::size_of::<TxRow>()
            + self.outputs.len() * std::mem::size_of::<OutRow>()
            + self.inputs.len() * 4
            + self.addrs.heap_bytes()
            + self.txid_map.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(script_hex: &str, kind: Option<AddrKind>) {
        let s = ScriptBuf::from_bytes(hex::decode(script_hex).unwrap_or_default());
        let c = classify(&s);
        assert_eq!(c.map(|c| c.0), kind, "{script_hex}");
        if let Some((k, d)) = c {
            assert_eq!(script_of(k, d), s, "round trip {script_hex}");
        }
    }

    #[test]
    fn classifies_every_standard_type() {
        let h20 = "11".repeat(20);
        let h32 = "22".repeat(32);
        let pk = format!("02{}", "33".repeat(32));
        check(&format!("76a914{h20}88ac"), Some(AddrKind::P2pkh));
        check(&format!("a914{h20}87"), Some(AddrKind::P2sh));
        check(&format!("0014{h20}"), Some(AddrKind::P2wpkh));
        check(&format!("0020{h32}"), Some(AddrKind::P2wsh));
        check(&format!("5120{h32}"), Some(AddrKind::P2tr));
        check(&format!("21{pk}ac"), Some(AddrKind::P2pk));
        check(&format!("5121{pk}21{pk}52ae"), Some(AddrKind::Multisig));
        check("51", None);
        check("6a04deadbeef", None);
    }

    #[test]
    fn every_kind_sits_at_its_own_value_and_round_trips_through_the_table() {
        let mut t = AddrTable::default();
        for (i, k) in AddrKind::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i);
            let data = vec![i as u8; 20 + i];
            let id = t.intern(k, &data, i as u32).unwrap_or(NONE);
            assert_eq!(t.get(id), Some((k, data.as_slice())));
        }
    }

    #[test]
    fn address_table_interns_and_separates_kinds() {
        let mut t = AddrTable::default();
        let a = t.intern(AddrKind::P2pkh, &[1; 20], 0).unwrap_or(NONE);
        let b = t.intern(AddrKind::P2sh, &[1; 20], 1).unwrap_or(NONE);
        let c = t.intern(AddrKind::P2pkh, &[1; 20], 2).unwrap_or(NONE);
        assert_eq!((a, b, c), (0, 1, 0));
        assert_eq!(t.first_out, vec![0, 1]);
        assert_eq!(t.lookup(AddrKind::P2sh, &[1; 20]), Some(1));
        assert_eq!(t.lookup(AddrKind::P2wpkh, &[1; 20]), None);
    }

    #[test]
    fn a_duplicated_key_maps_to_its_latest_id() {
        let mut m = IdTable::default();
        let keys: [&[u8]; 3] = [b"aaaa", b"bbbb", b"aaaa"];
        // "aaaa" and "bbbb" share a fingerprint; "aaaa" comes again as id 2.
        for (id, k) in keys.iter().enumerate() {
            m.insert(7, id as u32, |old| keys[old as usize] == *k);
        }
        assert_eq!(m.get(7, |id| keys[id as usize] == b"aaaa"), Some(2), "the latest copy");
        assert_eq!(m.get(7, |id| keys[id as usize] == b"bbbb"), Some(1));
        m.remove(7, 2);
        assert_eq!(m.get(7, |id| keys[id as usize] == b"aaaa"), None, "removed");
        assert_eq!(m.get(7, |id| keys[id as usize] == b"bbbb"), Some(1), "the other key stays");
    }

    #[test]
    fn the_table_grows_by_rehashing_the_rows_keys() {
        // No room reserved: a thousand inserts grow the table many times over, each growth
        // hashing the stored ids' keys from the rows.
        let keys: Vec<u64> = (0..1000u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
        let mut m = IdTable::default();
        for (id, k) in keys.iter().enumerate() {
            m.insert(*k, id as u32, |old| keys[old as usize] == *k);
        }
        for (id, k) in keys.iter().enumerate() {
            assert_eq!(m.get(*k, |i| keys[i as usize] == *k), Some(id as u32));
        }
    }

    #[test]
    fn ids_stay_found_through_removals_wraparound_and_growth() {
        // Tags chosen to crowd a few home slots, some at the table's end so probe sequences
        // wrap to its start; ids are removed and added at random against a model. Every
        // stored id must stay findable (a deletion that cut a probe sequence would lose the
        // ids after it), every removed one gone.
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let tags = [0u32, 1, 0x8000_0000, u32::MAX, u32::MAX - 1, 0xffff_0000, 0x7fff_ffff];
        let tag_of = |id: u32| tags[id as usize % tags.len()];
        let mut m = IdTable::default();
        let mut model = std::collections::BTreeSet::new();
        for step in 0..20_000u32 {
            let id = (next() % 600) as u32;
            if next() % 3 == 0 {
                m.remove_tagged(tag_of(id), id);
                model.remove(&id);
            } else {
                m.insert_tagged(tag_of(id), id, |old| old == id);
                model.insert(id);
            }
            assert_eq!(m.len, model.len(), "step {step}");
            if step % 997 == 0 || step == 19_999 {
                for id in 0..600u32 {
                    assert_eq!(m.get_tagged(tag_of(id), |i| i == id), model.contains(&id).then_some(id), "step {step}, id {id}");
                }
            }
        }
        assert!(m.slots.len() <= 4096, "{} slots for at most 600 ids", m.slots.len());
    }

    #[test]
    fn find_or_insert_says_whether_it_filed_and_an_error_files_nothing() {
        let keys = [b"one", b"two"];
        let mut m = IdTable::default();
        assert_eq!(m.find_or_insert(5, |i| keys[i as usize] == b"one", || Ok::<u32, ()>(0)), Ok((0, true)));
        // Same digest, other key: filed apart.
        assert_eq!(m.find_or_insert(5, |i| keys[i as usize] == b"two", || Ok::<u32, ()>(1)), Ok((1, true)));
        assert_eq!(m.find_or_insert(5, |i| keys[i as usize] == b"one", || Ok::<u32, ()>(9)), Ok((0, false)), "found, not made");
        assert_eq!(m.find_or_insert(6, |_| false, || Err::<u32, &str>("refused")), Err("refused"));
        assert_eq!((m.len, m.get(6, |_| true)), (2, None), "the refused key left no slot");
    }

    #[test]
    fn tables_are_sized_at_most_three_quarters_full_and_capped() {
        assert_eq!(IdTable::slots_for(0), 16);
        assert_eq!(IdTable::slots_for(12), 16);
        assert_eq!(IdTable::slots_for(13), 32, "13 of 16 is past three quarters");
        assert_eq!(IdTable::slots_for(3 << 20), 4 << 20);
        // Beyond what u32 ids can fill, and without overflowing (tag times length fits u64).
        assert_eq!(IdTable::slots_for(usize::MAX), MAX_SLOTS);
        assert_eq!(IdTable::slots_for(1 << 40), MAX_SLOTS);
        assert_eq!(IdTable::home(u32::MAX, MAX_SLOTS), MAX_SLOTS - 1);
    }

    #[test]
    fn heights_come_from_the_block_rows() {
        let block = |height: u32, first_tx: u32, n_tx: u32| BlockRow { hash: [height as u8; 32], height, time: 0, first_tx, n_tx };
        // Heights 0..=3 holding 2, 0, 3 and 1 transactions.
        let blocks = vec![block(0, 0, 2), block(1, 2, 0), block(2, 2, 3), block(3, 5, 1)];
        assert_eq!(heights_of_txs(&blocks, 0, 6), vec![0, 0, 2, 2, 2, 3]);
        assert_eq!(heights_of_txs(&blocks, 3, 2), vec![2, 2], "a range starting mid-block");
        assert_eq!(heights_of_txs(&blocks, 5, 1), vec![3]);
        assert_eq!(heights_of_txs(&[], 0, 2), vec![0, 0], "no blocks: nothing to say, no panic");
        let mut idx = ChainIndex::new(Network::Regtest);
        idx.blocks = blocks;
        assert_eq!((0..6).map(|t| idx.block_of_tx(t)).collect::<Vec<_>>(), vec![Some(0), Some(0), Some(2), Some(2), Some(2), Some(3)]);
        assert_eq!(idx.block_of_tx(6), None, "past the last block");
    }

    #[test]
    fn addresses_are_filed_under_a_hash_of_all_their_bytes() {
        // Whoever pays to a script chooses its bytes: a thousand addresses sharing their
        // first 8 bytes must not share a digest (they would share one probe chain).
        let t = AddrTable::default();
        let digests: std::collections::HashSet<u64> = (0..1000u32)
            .map(|i| {
                let mut d = [0u8; 20];
                d[16..].copy_from_slice(&i.to_le_bytes());
                addr_key_hash(&t.key_state, AddrKind::P2wpkh, &d)
            })
            .collect();
        assert_eq!(digests.len(), 1000);
        assert_ne!(addr_key_hash(&t.key_state, AddrKind::P2wpkh, &[1; 20]), addr_key_hash(&t.key_state, AddrKind::P2pkh, &[1; 20]), "the kind counts");
    }

    #[test]
    fn fingerprint_collisions_are_told_apart() {
        let mut t = AddrTable::default();
        // Same first 8 bytes, different rest: one fingerprint, two addresses.
        let mut d1 = [7u8; 20];
        let mut d2 = [7u8; 20];
        d1[19] = 1;
        d2[19] = 2;
        let a = t.intern(AddrKind::P2wpkh, &d1, 0).unwrap_or(NONE);
        let b = t.intern(AddrKind::P2wpkh, &d2, 1).unwrap_or(NONE);
        assert_ne!(a, b);
        assert_eq!(t.lookup(AddrKind::P2wpkh, &d2), Some(b));
        assert_eq!(t.lookup(AddrKind::P2wpkh, &d1), Some(a));
    }
}
