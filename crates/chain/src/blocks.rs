//! Reading a Bitcoin Core `blocks/` directory (or a directory of raw `blk*.dat` files).
//!
//! Core writes blocks in arrival order, so files hold stale blocks and children before
//! parents. We never trust file order: the best chain is chosen by accumulated work, over
//! the LevelDB block index when `index/` exists, otherwise over the headers found by a scan
//! (which, like Core's LoadExternalBlockFile, resyncs at the next magic after bad bytes).
//! Only headers whose hash meets their target count, a block whose nBits consensus does
//! not ask after its parent is rejected, and a chain from the network's genesis beats a
//! fragment whose parent is missing; what is left out is noted.
//! Every block read back is checked against the hash it was chosen by and against its
//! merkle root, so a wrong XOR key or corrupted bytes give an error, never a wrong chain.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bitcoin::block::Header;
use bitcoin::hashes::Hash;
use bitcoin::pow::Work;
use bitcoin::{Block, BlockHash, Network};

use crate::error::ChainError;
use crate::parsed::ParsedBlock;

/// A problem that did not stop reading (padding, a truncated last record, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file concerned.
    pub file: PathBuf,
    /// Byte offset in it.
    pub offset: u64,
    /// What was seen.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} offset {}: {}", self.file.display(), self.offset, self.message)
    }
}

/// Parses a network name as used on the command line.
pub fn parse_network(s: &str) -> Result<Network, ChainError> {
    match s.to_ascii_lowercase().as_str() {
        "mainnet" | "main" | "bitcoin" => Ok(Network::Bitcoin),
        "testnet" | "testnet3" | "test" => Ok(Network::Testnet),
        "regtest" => Ok(Network::Regtest),
        "signet" => Ok(Network::Signet),
        _ => Err(ChainError::UnknownNetwork(s.to_string())),
    }
}

/// Where one block of the chosen chain lives.
#[derive(Debug, Clone)]
pub struct BlockLoc {
    /// Block hash.
    pub hash: BlockHash,
    /// The 80-byte header.
    pub header: Header,
    /// Height in the chosen chain.
    pub height: u32,
    /// Index into [`BlockSource::files`].
    file: u32,
    /// Offset of the block data (after magic and size).
    data_pos: u64,
}

/// A candidate block before chain selection.
#[derive(Debug, Clone)]
struct Candidate {
    hash: BlockHash,
    header: Header,
    file: u32,
    data_pos: u64,
    /// Height recorded by the index, if any.
    height: Option<u32>,
}

/// An opened blocks directory with its best chain selected.
#[derive(Debug)]
pub struct BlockSource {
    files: BTreeMap<u32, PathBuf>,
    xor: [u8; 8],
    magic: [u8; 4],
    network: Network,
    chain: Vec<BlockLoc>,
    /// Non-fatal findings of the scan.
    pub diagnostics: Vec<Diagnostic>,
    /// True when the LevelDB index chose the chain.
    pub used_index: bool,
    /// Number of candidate blocks seen (including stale ones).
    pub candidates: usize,
}

fn xor_in_place(buf: &mut [u8], key: &[u8; 8], offset: u64) {
    if key == &[0u8; 8] {
        return;
    }
    // The key turned so that its first byte falls on buf[0], then eight bytes at a time.
    let mut turned = *key;
    turned.rotate_left((offset % 8) as usize);
    let word = u64::from_ne_bytes(turned);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let x = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ word;
        c.copy_from_slice(&x.to_ne_bytes());
    }
    for (b, k) in chunks.into_remainder().iter_mut().zip(turned) {
        *b ^= k;
    }
}

/// Core's "VARINT" (MSB base-128, each continuation adds one).
pub(crate) fn read_core_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut n: u64 = 0;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        n = n.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 != 0 {
            n = n.checked_add(1)?;
        } else {
            return Some(n);
        }
    }
}

/// Core's `WriteVarInt`: the inverse of [`read_core_varint`].
pub(crate) fn write_core_varint(out: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 10];
    let mut len = 0;
    loop {
        tmp[len] = (n & 0x7f) as u8 | if len > 0 { 0x80 } else { 0 };
        if n <= 0x7f {
            break;
        }
        n = (n >> 7) - 1;
        len += 1;
    }
    out.extend(tmp[..=len].iter().rev());
}

const BLOCK_VALID_SCRIPTS: u64 = 5;
const BLOCK_HAVE_DATA: u64 = 8;
const BLOCK_HAVE_UNDO: u64 = 16;
const BLOCK_FAILED_MASK: u64 = 32 | 64;

/// One decoded `b` record of Core's block index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskBlockIndex {
    /// Height.
    pub height: u32,
    /// Status flags.
    pub status: u64,
    /// Transaction count.
    pub n_tx: u64,
    /// blk file number, when data is present.
    pub file: Option<u32>,
    /// Offset of block data, when present.
    pub data_pos: Option<u64>,
    /// The header.
    pub header: Header,
}

/// Encodes a `CDiskBlockIndex` value, as Bitcoin Core writes it for a block whose scripts
/// were checked and whose data is at `data_pos` of blk file `file` (no undo data kept).
pub fn encode_disk_block_index(height: u32, n_tx: u64, file: u32, data_pos: u64, header: &Header) -> Vec<u8> {
    let mut v = Vec::with_capacity(100);
    // The client version field: Core 28.0's.
    for n in [280_000, u64::from(height), BLOCK_VALID_SCRIPTS | BLOCK_HAVE_DATA, n_tx, u64::from(file), data_pos] {
        write_core_varint(&mut v, n);
    }
    v.extend_from_slice(&bitcoin::consensus::serialize(header));
    v
}

/// Decodes a `CDiskBlockIndex` value. Returns a message on malformed input.
pub fn decode_disk_block_index(v: &[u8]) -> Result<DiskBlockIndex, String> {
    let mut p = 0usize;
    let mut next = |what: &str| read_core_varint(v, &mut p).ok_or_else(|| format!("bad varint for {what}"));
    let _client_version = next("version")?;
    let height = next("height")?;
    let status = next("status")?;
    let n_tx = next("nTx")?;
    let mut file = None;
    let mut data_pos = None;
    if status & (BLOCK_HAVE_DATA | BLOCK_HAVE_UNDO) != 0 {
        file = Some(u32::try_from(next("nFile")?).map_err(|_| "nFile too large".to_string())?);
    }
    if status & BLOCK_HAVE_DATA != 0 {
        data_pos = Some(next("nDataPos")?);
    }
    if status & BLOCK_HAVE_UNDO != 0 {
        next("nUndoPos")?;
    }
    let hdr = v.get(p..p + 80).ok_or_else(|| format!("value has {} bytes, header missing", v.len()))?;
    let header: Header = bitcoin::consensus::deserialize(hdr).map_err(|e| e.to_string())?;
    Ok(DiskBlockIndex {
        height: u32::try_from(height).map_err(|_| "height too large".to_string())?,
        status,
        n_tx,
        file,
        data_pos,
        header,
    })
}

/// Reads `len` bytes at `offset` of an open blk file and removes the XOR obfuscation.
fn read_at(f: &mut File, path: &Path, offset: u64, len: usize, xor: &[u8; 8]) -> Result<Vec<u8>, ChainError> {
    let mut buf = Vec::new();
    read_at_into(f, path, offset, len, xor, &mut buf)?;
    Ok(buf)
}

/// [`read_at`] into `buf`, whose contents it replaces (its room is reused).
fn read_at_into(f: &mut File, path: &Path, offset: u64, len: usize, xor: &[u8; 8], buf: &mut Vec<u8>) -> Result<(), ChainError> {
    f.seek(SeekFrom::Start(offset)).map_err(|e| ChainError::io(path, e))?;
    buf.clear();
    // `len` comes from the file: reserve no more than a block can hold; a longer record
    // grows the buffer only as far as the file really goes.
    let _ = buf.try_reserve(len.min(MAX_BLOCK_BYTES));
    let got = (&mut *f).take(len as u64).read_to_end(buf).map_err(|e| ChainError::io(path, e))?;
    if got < len {
        return Err(ChainError::Truncated { file: path.to_path_buf(), offset, size: len as u64 });
    }
    xor_in_place(buf, xor, offset);
    Ok(())
}

/// Bitcoin's largest serialized block (4,000,000 weight units, all of it base data).
const MAX_BLOCK_BYTES: usize = 4_000_000;

thread_local! {
    /// The bytes of the block record read last on this thread: one buffer reused from block
    /// to block (a fresh ~1 MB allocation per block was fresh pages, each zeroed by the
    /// kernel before the read overwrote it).
    static RECORD: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether bytes `from..len` of a blk file are preallocated space, which
/// decodes to the XOR key repeated (zeros on disk); read a MiB at a time, as
/// Core preallocates up to 16 MiB at the end of its current file.
fn is_padding(f: &mut File, path: &Path, from: u64, len: u64, xor: &[u8; 8]) -> Result<bool, ChainError> {
    const STEP: u64 = 1 << 20;
    let mut buf = Vec::new();
    let mut at = from;
    while at < len {
        let n = (len - at).min(STEP);
        read_at_into(f, path, at, n as usize, xor, &mut buf)?;
        if !buf.iter().enumerate().all(|(i, b)| *b == xor[(at as usize + i) % 8]) {
            return Ok(false);
        }
        at += n;
    }
    Ok(true)
}

fn blk_number(name: &str) -> Option<u32> {
    name.strip_prefix("blk")?.strip_suffix(".dat")?.parse().ok()
}

impl BlockSource {
    /// Opens `dir` (a Core `blocks/` directory or a folder of raw blk files) for `network`
    /// and selects the most-work chain.
    pub fn open(dir: &Path, network: Network) -> Result<Self, ChainError> {
        let mut files = BTreeMap::new();
        let rd = std::fs::read_dir(dir).map_err(|e| ChainError::io(dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| ChainError::io(dir, e))?;
            if let Some(n) = entry.file_name().to_str().and_then(blk_number) {
                files.insert(n, entry.path());
            }
        }
        if files.is_empty() {
            return Err(ChainError::NoBlockFiles(dir.to_path_buf()));
        }
        let xor_path = dir.join("xor.dat");
        let xor = if xor_path.exists() {
            let k = std::fs::read(&xor_path).map_err(|e| ChainError::io(&xor_path, e))?;
            <[u8; 8]>::try_from(k.as_slice()).map_err(|_| ChainError::BadXorKey { path: xor_path.clone(), len: k.len() })?
        } else {
            [0u8; 8]
        };
        let mut src = BlockSource {
            files,
            xor,
            magic: network.magic().to_bytes(),
            network,
            chain: Vec::new(),
            diagnostics: Vec::new(),
            used_index: false,
            candidates: 0,
        };
        let index_dir = dir.join("index");
        let candidates = if index_dir.is_dir() {
            src.used_index = true;
            let candidates = read_index(&index_dir)?;
            src.check_after_indexed(&candidates)?;
            candidates
        } else {
            src.scan()?
        };
        src.candidates = candidates.len();
        src.chain = select_best_chain(candidates, network, &src.files, &mut src.diagnostics);
        // A chain whose first block is not this network's genesis means the wrong network
        // was asked for or the files are not from the start of the chain; say so.
        if let Some(first) = src.chain.first() {
            let genesis = bitcoin::constants::genesis_block(network).block_hash();
            if first.hash != genesis {
                src.diagnostics.push(Diagnostic {
                    file: src.file_path(first.file),
                    offset: first.data_pos,
                    message: format!("chain starts at {} which is not the {network} genesis {genesis}", first.hash),
                });
            }
        }
        Ok(src)
    }

    fn file_path(&self, file: u32) -> PathBuf {
        self.files.get(&file).cloned().unwrap_or_else(|| PathBuf::from(format!("blk{file:05}.dat")))
    }

    /// Finds every block record by walking the record heads of each file: only the 8-byte
    /// head and the 80-byte header of a record are read, the block itself is skipped.
    fn scan(&mut self) -> Result<Vec<Candidate>, ChainError> {
        let mut out = Vec::new();
        let files: Vec<(u32, PathBuf)> = self.files.iter().map(|(k, v)| (*k, v.clone())).collect();
        for (n, path) in files {
            let mut f = File::open(&path).map_err(|e| ChainError::io(&path, e))?;
            let len = f.metadata().map_err(|e| ChainError::io(&path, e))?.len();
            let mut pos = 0u64;
            while pos < len {
                if len - pos < 8 {
                    self.note(&path, pos, format!("{} trailing bytes, no full record header", len - pos));
                    break;
                }
                let rec = read_at(&mut f, &path, pos, 8, &self.xor)?;
                if rec[..4] != self.magic {
                    if pos == 0 {
                        return Err(ChainError::BadMagic {
                            file: path.clone(),
                            offset: 0,
                            found: hex::encode(&rec[..4]),
                            expected: hex::encode(self.magic),
                            network: self.network.to_string(),
                        });
                    }
                    if is_padding(&mut f, &path, pos, len, &self.xor)? {
                        break;
                    }
                    // Damaged or foreign bytes, not preallocated space: look for the next
                    // record as Core's LoadExternalBlockFile does, so one bad spot does not
                    // cost every block after it.
                    match self.find_magic(&mut f, &path, pos + 1, len)? {
                        Some(next) => {
                            self.note(&path, pos, format!("{} bytes that are not a block record (offsets {pos} to {}); skipped to the next record at offset {next}", next - pos, next - 1));
                            pos = next;
                            continue;
                        }
                        None => {
                            self.note(&path, pos, format!("{} bytes to the end of the file that are neither block records nor padding; skipped", len - pos));
                            break;
                        }
                    }
                }
                let size = u64::from(u32::from_le_bytes([rec[4], rec[5], rec[6], rec[7]]));
                let start = pos + 8;
                if start + size > len || size > MAX_BLOCK_BYTES as u64 {
                    let claim = if start + size > len {
                        format!("truncated record: claims {size} bytes, {} present", len - start)
                    } else {
                        format!("record claims {size} bytes, more than a block can hold ({MAX_BLOCK_BYTES})")
                    };
                    // The size is wrong, or the file was cut: any record after the size field
                    // still counts.
                    match self.find_magic(&mut f, &path, start, len)? {
                        Some(next) => {
                            self.note(&path, pos, format!("{claim}; skipped to the next record at offset {next}"));
                            pos = next;
                            continue;
                        }
                        None => {
                            self.note(&path, pos, format!("{claim}; stopped"));
                            break;
                        }
                    }
                }
                let header = if size >= 80 { bitcoin::consensus::deserialize::<Header>(&read_at(&mut f, &path, start, 80, &self.xor)?).ok() } else { None };
                match header {
                    Some(header) => out.push(Candidate { hash: header.block_hash(), header, file: n, data_pos: start, height: None }),
                    None => self.note(&path, pos, "record without a valid 80-byte header; skipped".into()),
                }
                pos = start + size;
            }
        }
        Ok(out)
    }

    /// The offset of the first network magic in bytes `from..len` of a blk file (XOR
    /// removed), read a MiB at a time.
    fn find_magic(&self, f: &mut File, path: &Path, from: u64, len: u64) -> Result<Option<u64>, ChainError> {
        const STEP: u64 = 1 << 20;
        let mut buf = Vec::new();
        let mut at = from;
        while at + 4 <= len {
            let n = (len - at).min(STEP);
            read_at_into(f, path, at, n as usize, &self.xor, &mut buf)?;
            if let Some(i) = buf.windows(4).position(|w| w == self.magic) {
                return Ok(Some(at + i as u64));
            }
            if at + n >= len {
                break;
            }
            // Three bytes of overlap: a magic across the edge of two reads is still found.
            at += n - 3;
        }
        Ok(None)
    }

    /// Says what lies after the last block the index lists in each file: a
    /// scan stops at a truncated record with a note, and an index-driven
    /// read would pass over it (or over blocks the index lacks) in silence.
    /// Padding (preallocated space) says nothing.
    fn check_after_indexed(&mut self, candidates: &[Candidate]) -> Result<(), ChainError> {
        let mut last: BTreeMap<u32, u64> = BTreeMap::new();
        for c in candidates {
            let e = last.entry(c.file).or_default();
            *e = (*e).max(c.data_pos);
        }
        for (file, data_pos) in last {
            let Some(path) = self.files.get(&file).cloned() else { continue };
            let mut f = File::open(&path).map_err(|e| ChainError::io(&path, e))?;
            let len = f.metadata().map_err(|e| ChainError::io(&path, e))?.len();
            let Some(head) = data_pos.checked_sub(8).filter(|&h| h + 8 <= len) else { continue };
            let rec = read_at(&mut f, &path, head, 8, &self.xor)?;
            let end = data_pos + u64::from(u32::from_le_bytes([rec[4], rec[5], rec[6], rec[7]]));
            if end >= len {
                continue;
            }
            let after = read_at(&mut f, &path, end, (len - end).min(8) as usize, &self.xor)?;
            if after.len() < 8 || after[..4] != self.magic {
                if !is_padding(&mut f, &path, end, len, &self.xor)? {
                    self.note(&path, end, "after the last block the index lists: bytes that are neither a block record nor padding; not read".into());
                }
                continue;
            }
            let size = u64::from(u32::from_le_bytes([after[4], after[5], after[6], after[7]]));
            let message = if end + 8 + size > len {
                format!("after the last block the index lists: a truncated record (claims {size} bytes, {} present); not read", len - end - 8)
            } else {
                "after the last block the index lists: block records the index does not list; not read (move index/ away to scan the files)".into()
            };
            self.note(&path, end, message);
        }
        Ok(())
    }

    fn note(&mut self, file: &Path, offset: u64, message: String) {
        self.diagnostics.push(Diagnostic { file: file.to_path_buf(), offset, message });
    }

    /// Number of blocks in the chosen chain.
    pub fn len(&self) -> usize {
        self.chain.len()
    }

    /// True if no block was found.
    pub fn is_empty(&self) -> bool {
        self.chain.is_empty()
    }

    /// The chosen chain, genesis first.
    pub fn chain(&self) -> &[BlockLoc] {
        &self.chain
    }

    /// Writes Bitcoin Core's block index (a LevelDB of `b` records, [`encode_disk_block_index`])
    /// for the chosen chain into `index_dir`, which must not exist yet: a blocks directory
    /// made by `sim` then reads like a node's, for tools that find blocks only through
    /// that index (rusty-blockparser, a peer in bench/chain) and for tests of that path.
    /// Returns the number of records written.
    pub fn write_core_index(&self, index_dir: &Path) -> Result<usize, ChainError> {
        if index_dir.exists() {
            return Err(ChainError::Index { path: index_dir.to_path_buf(), message: "already exists".into() });
        }
        let written = self.write_core_records(index_dir);
        if written.is_err() {
            // A partial index would be read as the chain: leave none.
            let _ = std::fs::remove_dir_all(index_dir);
        }
        written
    }

    fn write_core_records(&self, index_dir: &Path) -> Result<usize, ChainError> {
        let ierr = |m: String| ChainError::Index { path: index_dir.to_path_buf(), message: m };
        let opts = rusty_leveldb::Options { create_if_missing: true, ..Default::default() };
        let mut db = rusty_leveldb::DB::open(index_dir, opts).map_err(|e| ierr(e.to_string()))?;
        for (i, loc) in self.chain.iter().enumerate() {
            // The transaction count follows the 80-byte header.
            let (_, path, n_tx) = self.with_record(i, |loc, path, bytes| {
                bytes
                    .get(80..)
                    .and_then(|rest| bitcoin::consensus::deserialize_partial::<bitcoin::VarInt>(rest).ok())
                    .map(|(n, _)| n.0)
                    .ok_or_else(|| ChainError::Decode { file: path.to_path_buf(), offset: loc.data_pos, message: "no transaction count after the header".into() })
            })?;
            let mut key = Vec::with_capacity(33);
            key.push(b'b');
            key.extend_from_slice(loc.hash.as_byte_array());
            let value = encode_disk_block_index(loc.height, n_tx, loc.file, loc.data_pos, &loc.header);
            db.put(&key, &value).map_err(|e| ierr(format!("{}: {e}", path.display())))?;
        }
        db.close().map_err(|e| ierr(e.to_string()))?;
        Ok(self.chain.len())
    }

    /// An estimate of the block bytes from chain position `from` on: the blk files' size
    /// times the share of the chain's blocks that lie there (for sizing the index ahead).
    pub fn estimated_bytes_from(&self, from: usize) -> u64 {
        let total: u64 = self.files.values().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
        let n = self.chain.len().max(1) as u64;
        total / n * n.saturating_sub(from as u64)
    }

    /// Reads, decodes and checks the block at position `i` of the chosen chain: magic,
    /// hash and merkle root.
    pub fn read_block(&self, i: usize) -> Result<Block, ChainError> {
        let (loc, path, block) = self.with_record(i, |loc, path, bytes| {
            bitcoin::consensus::deserialize::<Block>(bytes).map_err(|e| ChainError::Decode { file: path.to_path_buf(), offset: loc.data_pos, message: e.to_string() })
        })?;
        let found = block.block_hash();
        if found != loc.hash {
            return Err(ChainError::HashMismatch {
                file: path,
                offset: loc.data_pos,
                expected: loc.hash.to_string(),
                found: found.to_string(),
            });
        }
        if !block.check_merkle_root() {
            return Err(ChainError::MerkleMismatch { file: path, offset: loc.data_pos, hash: found.to_string() });
        }
        Ok(block)
    }

    /// The block at position `i` parsed for the index ([`crate::parsed`]), with the same
    /// checks as [`BlockSource::read_block`]: magic, hash and merkle root.
    pub fn read_parsed(&self, i: usize) -> Result<ParsedBlock, ChainError> {
        let mut block = ParsedBlock::default();
        self.read_parsed_into(i, &mut block)?;
        Ok(block)
    }

    /// [`BlockSource::read_parsed`] into `block`, reusing its room
    /// ([`crate::parsed::parse_block_into`]).
    pub fn read_parsed_into(&self, i: usize, block: &mut ParsedBlock) -> Result<(), ChainError> {
        self.read_parsed_into_but_merkle(i, block)?;
        self.check_merkle(i, block)
    }

    /// [`BlockSource::read_parsed_into`] without the merkle root check, which the caller
    /// must make ([`BlockSource::check_merkle`]) before it keeps anything of the block: the
    /// index builds make it on whichever of their two threads has time.
    pub(crate) fn read_parsed_into_but_merkle(&self, i: usize, block: &mut ParsedBlock) -> Result<(), ChainError> {
        let (loc, path, ()) = self.with_record(i, |loc, path, bytes| {
            crate::parsed::parse_block_into(bytes, block).map_err(|message| ChainError::Decode { file: path.to_path_buf(), offset: loc.data_pos, message })
        })?;
        if block.hash != loc.hash.to_byte_array() {
            return Err(ChainError::HashMismatch {
                file: path,
                offset: loc.data_pos,
                expected: loc.hash.to_string(),
                found: BlockHash::from_byte_array(block.hash).to_string(),
            });
        }
        Ok(())
    }

    /// Checks that the transactions of `block`, read from chain position `i`, hash to its
    /// merkle root (a corrupted transaction otherwise goes unseen: the block hash covers
    /// only the header).
    pub fn check_merkle(&self, i: usize, block: &ParsedBlock) -> Result<(), ChainError> {
        if block.computed_merkle_root() == Some(block.merkle_root) {
            return Ok(());
        }
        let (file, offset, hash) = match self.chain.get(i) {
            Some(loc) => (self.file_path(loc.file), loc.data_pos, loc.hash.to_string()),
            None => (PathBuf::new(), 0, BlockHash::from_byte_array(block.hash).to_string()),
        };
        Err(ChainError::MerkleMismatch { file, offset, hash })
    }

    /// What `f` makes of the block at position `i`'s bytes (XOR removed, magic checked),
    /// with the block's place and its blk file. The bytes are in this thread's [`RECORD`].
    fn with_record<T>(&self, i: usize, f: impl FnOnce(&BlockLoc, &Path, &[u8]) -> Result<T, ChainError>) -> Result<(&BlockLoc, PathBuf, T), ChainError> {
        let loc = self.chain.get(i).ok_or_else(|| ChainError::Index {
            path: PathBuf::new(),
            message: format!("no block at chain position {i}"),
        })?;
        let path = self.file_path(loc.file);
        let rec_pos = loc.data_pos.checked_sub(8).ok_or_else(|| ChainError::Decode {
            file: path.clone(),
            offset: loc.data_pos,
            message: "data position below 8".into(),
        })?;
        let mut file = File::open(&path).map_err(|e| ChainError::io(&path, e))?;
        let head = read_at(&mut file, &path, rec_pos, 8, &self.xor)?;
        if head.get(..4) != Some(&self.magic[..]) {
            return Err(ChainError::BadMagic {
                file: path,
                offset: rec_pos,
                found: hex::encode(head.get(..4).unwrap_or(&[])),
                expected: hex::encode(self.magic),
                network: self.network.to_string(),
            });
        }
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if size > MAX_BLOCK_BYTES {
            // Read anyway, it would fill (and keep) this thread's buffer with the file's rest.
            return Err(ChainError::Decode { file: path, offset: rec_pos, message: format!("a record of {size} bytes: more than a block can hold ({MAX_BLOCK_BYTES})") });
        }
        let made = RECORD.with_borrow_mut(|buf| {
            read_at_into(&mut file, &path, loc.data_pos, size, &self.xor, buf)?;
            f(loc, &path, buf)
        })?;
        Ok((loc, path, made))
    }
}

/// Reads `b` records from a COPY of the LevelDB index (opening LevelDB writes to its dir).
fn read_index(index_dir: &Path) -> Result<Vec<Candidate>, ChainError> {
    let tmp = tempfile::tempdir().map_err(|e| ChainError::io(std::env::temp_dir(), e))?;
    let copy = tmp.path().join("index");
    std::fs::create_dir(&copy).map_err(|e| ChainError::io(&copy, e))?;
    let rd = std::fs::read_dir(index_dir).map_err(|e| ChainError::io(index_dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| ChainError::io(index_dir, e))?;
        let name = entry.file_name();
        // Skip a LOCK file a running node may hold; it carries no data.
        if name == "LOCK" || !entry.path().is_file() {
            continue;
        }
        let to = copy.join(&name);
        std::fs::copy(entry.path(), &to).map_err(|e| ChainError::io(entry.path(), e))?;
        // Shared data is read-only; the copy must be writable because LevelDB recovers
        // its log into new files when it opens.
        let mut perm = std::fs::metadata(&to).map_err(|e| ChainError::io(&to, e))?.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(&to, perm).map_err(|e| ChainError::io(&to, e))?;
    }
    let opts = rusty_leveldb::Options { create_if_missing: false, ..Default::default() };
    let ierr = |m: String| ChainError::Index { path: index_dir.to_path_buf(), message: m };
    let mut db = rusty_leveldb::DB::open(&copy, opts).map_err(|e| ierr(e.to_string()))?;
    let mut it = db.new_iter().map_err(|e| ierr(e.to_string()))?;
    use rusty_leveldb::LdbIterator;
    it.seek(b"b");
    let mut out = Vec::new();
    while it.valid() {
        let Some((k, v)) = it.current() else { break };
        if k.first() != Some(&b'b') {
            break;
        }
        let rec_err = |m: String| ChainError::IndexRecord { path: index_dir.to_path_buf(), key: hex::encode(&k), message: m };
        let hash_bytes: [u8; 32] = k.get(1..).and_then(|h| h.try_into().ok()).ok_or_else(|| rec_err("key is not b + 32 bytes".into()))?;
        let rec = decode_disk_block_index(&v).map_err(rec_err)?;
        let hash = BlockHash::from_byte_array(hash_bytes);
        if rec.header.block_hash() != hash {
            return Err(rec_err(format!("header hashes to {}", rec.header.block_hash())));
        }
        if rec.status & BLOCK_HAVE_DATA != 0 && rec.status & BLOCK_FAILED_MASK == 0 {
            if let (Some(file), Some(pos)) = (rec.file, rec.data_pos) {
                out.push(Candidate { hash, header: rec.header, file, data_pos: pos, height: Some(rec.height) });
            }
        }
        if !it.advance() {
            break;
        }
    }
    Ok(out)
}

/// How many blocks a note names one by one (rejected headers, missing parents) before it
/// only counts the rest: a damaged file can hold thousands.
const NAMED_AT_MOST: usize = 10;

/// Why a header is refused before any chain is built, if it is: nBits is only a claim, so a
/// header whose hash does not meet its own target, or whose target is easier than the
/// network allows, proves no work and must not count any.
fn pow_problem(c: &Candidate, network: Network) -> Option<String> {
    let max = <Network as AsRef<bitcoin::params::Params>>::as_ref(&network).max_attainable_target;
    let target = c.header.target();
    let bits = c.header.bits.to_consensus();
    if target > max {
        Some(format!("block {}: nBits {bits:#010x} sets a target easier than {network} allows; rejected", c.hash))
    } else if !target.is_met_by(c.hash) {
        Some(format!("block {}: its hash does not meet the target of its own nBits {bits:#010x} (no proof of work); rejected", c.hash))
    } else {
        None
    }
}

/// How many times [`select_best_chain`] chooses again after rejecting a block for its nBits.
const BITS_ROUNDS: usize = 64;

/// The most-work chain of the usable candidates (indices, parent first; a chain from
/// genesis beats a fragment), and the first block of each candidate's branch.
fn choose(cands: &[Candidate], usable: &[bool], by_hash: &HashMap<BlockHash, usize>, network: Network) -> (Vec<usize>, Vec<usize>) {
    let n = cands.len();
    let genesis = bitcoin::constants::genesis_block(network).block_hash();
    let parent_of = |i: usize| by_hash.get(&cands[i].header.prev_blockhash).copied();
    let mut work: Vec<Option<Work>> = vec![None; n];
    // The first block of the branch each block is on (whose parent is missing).
    let mut root: Vec<usize> = (0..n).collect();
    // Marks the walk in progress: a membership test on the walk itself was quadratic when
    // blocks are stored tip first.
    let mut on_walk = vec![false; n];
    for start in 0..n {
        if !usable[start] || work[start].is_some() {
            continue;
        }
        // Walk up to a block with known work (or a root), then fill downward.
        let mut walk = vec![start];
        on_walk[start] = true;
        let mut cur = start;
        while let Some(p) = parent_of(cur) {
            if work[p].is_some() || on_walk[p] {
                break;
            }
            on_walk[p] = true;
            walk.push(p);
            cur = p;
        }
        for &i in walk.iter().rev() {
            on_walk[i] = false;
            let c = &cands[i];
            let (w, r) = match parent_of(i).and_then(|p| work[p].map(|w| (w, root[p]))) {
                Some((w, r)) => (w + c.header.work(), r),
                None => (c.header.work(), i),
            };
            work[i] = Some(w);
            root[i] = r;
        }
    }
    let rooted = |i: usize| cands[root[i]].hash == genesis;
    let mut best: Option<usize> = None;
    for i in (0..n).filter(|&i| usable[i]) {
        let better = match best {
            None => true,
            Some(b) => {
                let (ki, kb) = ((rooted(i), work[i]), (rooted(b), work[b]));
                ki > kb || (ki == kb && (cands[i].file, cands[i].data_pos) < (cands[b].file, cands[b].data_pos))
            }
        };
        if better {
            best = Some(i);
        }
    }
    let mut chain = Vec::new();
    let mut cur = best;
    while let Some(i) = cur {
        chain.push(i);
        if chain.len() > n {
            break; // defensive: a cycle cannot happen with real hashes
        }
        cur = parent_of(i);
    }
    chain.reverse();
    (chain, root)
}

/// The first block of `chain` (candidate indices, parent first) whose nBits is not the
/// one consensus requires after its parent (Core's `GetNextWorkRequired`: the parent's
/// outside a retarget height, the retarget of the last 2016 blocks' timespan at one;
/// testnet's and regtest's minimum-difficulty blocks after 20 minutes; regtest never
/// retargets), with the reason. Heights are known from genesis or Core's index; a
/// fragment without them is not checked, nor a block whose rule needs blocks before the
/// chain's first.
fn first_bad_bits(chain: &[usize], cands: &[Candidate], network: Network) -> Option<(usize, String)> {
    let genesis = bitcoin::constants::genesis_block(network).block_hash();
    let first = *chain.first()?;
    let base = if cands[first].hash == genesis { 0 } else { cands[first].height? };
    let params: &bitcoin::params::Params = network.as_ref();
    let interval = params.difficulty_adjustment_interval().max(1);
    let limit = params.max_attainable_target.to_compact_lossy();
    let header = |k: usize| &cands[chain[k]].header;
    for k in 1..chain.len() {
        let height = u64::from(base) + k as u64;
        let (this, last) = (header(k), header(k - 1));
        let expected = if !height.is_multiple_of(interval) {
            if !params.allow_min_difficulty_blocks {
                Some(last.bits)
            } else if u64::from(this.time) > u64::from(last.time) + 2 * params.pow_target_spacing {
                Some(limit)
            } else {
                // The last block that is a retarget or not at the minimum difficulty.
                (0..k).rev().find(|&j| (u64::from(base) + j as u64).is_multiple_of(interval) || header(j).bits != limit).map(|j| header(j).bits)
            }
        } else if params.no_pow_retargeting {
            Some(last.bits)
        } else {
            // The period's first block is `interval` before this one.
            k.checked_sub(interval as usize).map(|first| {
                let span = (i64::from(last.time) - i64::from(header(first).time)).max(0) as u64;
                bitcoin::CompactTarget::from_next_work_required(last.bits, span, params)
            })
        };
        if let Some(want) = expected.filter(|want| *want != this.bits) {
            return Some((
                k,
                format!(
                    "block {} at height {height}: nBits {:#010x} where consensus asks {:#010x} after its parent; rejected",
                    cands[chain[k]].hash,
                    this.bits.to_consensus(),
                    want.to_consensus()
                ),
            ));
        }
    }
    None
}

/// Chooses the chain among candidates. Headers without valid proof of work are rejected.
/// Of the rest, a chain rooted at the network's genesis beats any fragment whose first
/// parent is missing (such a fragment cannot be checked against anything, and on regtest
/// work costs nothing), then the most accumulated work wins. Ties go to the block stored
/// first (lowest file, then offset), as Core keeps the first seen. Rejected blocks, blocks
/// whose parent is missing and blocks left off the chosen chain are noted, never dropped
/// in silence.
fn select_best_chain(cands: Vec<Candidate>, network: Network, files: &BTreeMap<u32, PathBuf>, diags: &mut Vec<Diagnostic>) -> Vec<BlockLoc> {
    let path_of = |file: u32| files.get(&file).cloned().unwrap_or_else(|| PathBuf::from(format!("blk{file:05}.dat")));
    let note = |diags: &mut Vec<Diagnostic>, c: &Candidate, message: String| diags.push(Diagnostic { file: path_of(c.file), offset: c.data_pos, message });
    let n = cands.len();
    // usable[i]: proof of work holds and no later copy of the same block replaces it.
    let mut usable = vec![true; n];
    let mut rejected = 0usize;
    for (i, c) in cands.iter().enumerate() {
        if let Some(why) = pow_problem(c, network) {
            usable[i] = false;
            if rejected < NAMED_AT_MOST {
                note(diags, c, why);
            } else if rejected == NAMED_AT_MOST {
                let more = cands[i..].iter().filter(|c| pow_problem(c, network).is_some()).count();
                note(diags, c, format!("{more} more blocks without valid proof of work, the first here; rejected"));
            }
            rejected += 1;
        }
    }
    let mut by_hash: HashMap<BlockHash, usize> = HashMap::with_capacity(n);
    for (i, c) in cands.iter().enumerate() {
        if !usable[i] {
            continue;
        }
        if let Some(earlier) = by_hash.insert(c.hash, i) {
            usable[earlier] = false;
            note(diags, c, format!("duplicate block {}", c.hash));
        }
    }
    // A block whose nBits is not what consensus asks after its parent is rejected, and the
    // choice made again without it (a difficulty-1 block forged after the tip adds work,
    // so it won); after a few such rounds the chain is cut at the next one instead.
    let mut rounds = 0usize;
    let (chain, root) = loop {
        let (mut chain, root) = choose(&cands, &usable, &by_hash, network);
        let Some((k, why)) = first_bad_bits(&chain, &cands, network) else { break (chain, root) };
        if rounds == BITS_ROUNDS {
            note(diags, &cands[chain[k]], format!("{why}; the chain is cut here (too many such blocks to choose again)"));
            for &i in &chain[k..] {
                usable[i] = false;
            }
            chain.truncate(k);
            break (chain, root);
        }
        note(diags, &cands[chain[k]], why);
        usable[chain[k]] = false;
        by_hash.remove(&cands[chain[k]].hash);
        rounds += 1;
    };
    let genesis = bitcoin::constants::genesis_block(network).block_hash();

    // Blocks whose parent is missing: each such branch is named (its first block), with
    // how many blocks hang on it. The chosen chain's own first block is noted by the caller.
    let mut in_chain = vec![false; n];
    for &i in &chain {
        in_chain[i] = true;
    }
    let mut branch_len: HashMap<usize, usize> = HashMap::new();
    for i in (0..n).filter(|&i| usable[i]) {
        *branch_len.entry(root[i]).or_default() += 1;
    }
    let chain_root = chain.first().copied();
    let mut orphans: Vec<usize> = branch_len.keys().copied().filter(|&r| Some(r) != chain_root && cands[r].hash != genesis).collect();
    orphans.sort_by_key(|&r| (cands[r].file, cands[r].data_pos));
    for (k, &r) in orphans.iter().enumerate() {
        let c = &cands[r];
        if k == NAMED_AT_MOST {
            let blocks: usize = orphans[k..].iter().map(|r| branch_len[r]).sum();
            note(diags, c, format!("{} more blocks whose parent is missing ({blocks} blocks with those built on them), the first here; left out", orphans.len() - k));
            break;
        }
        let on_it = branch_len[&r] - 1;
        note(diags, c, format!("block {}: its parent {} is not among the blocks read (missing, damaged or rejected); it and the {on_it} blocks built on it are left out", c.hash, c.header.prev_blockhash));
    }
    // Everything usable that is not on the chosen chain, in one line: competing branches
    // (sharing the chain's first block) and fragments after a missing parent.
    let left_out: Vec<usize> = (0..n).filter(|&i| usable[i] && !in_chain[i]).collect();
    if let Some(&first) = left_out.iter().min_by_key(|&&i| (cands[i].file, cands[i].data_pos)) {
        let competing = left_out.iter().filter(|&&i| Some(root[i]) == chain_root).count();
        note(
            diags,
            &cands[first],
            format!(
                "{} blocks are left out of the chosen chain ({competing} on competing branches, {} after a missing parent), the first here",
                left_out.len(),
                left_out.len() - competing
            ),
        );
    }
    let base = chain.first().and_then(|&i| cands[i].height).unwrap_or(0);
    chain
        .into_iter()
        .enumerate()
        .map(|(h, i)| {
            let c = &cands[i];
            BlockLoc { hash: c.hash, header: c.header, height: c.height.unwrap_or(base + h as u32), file: c.file, data_pos: c.data_pos }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signet's first retarget (public chain facts): genesis nBits 503543726 at
    /// 1598918400, block 2015 at 1599332177, block 2016 nBits 503394215. Headers are
    /// synthetic (the rule reads only nBits and times), so proof of work is not at issue.
    #[test]
    fn nbits_follow_the_retarget_and_stay_between() {
        let genesis = bitcoin::constants::genesis_block(Network::Signet);
        let (start, end) = (1_598_918_400u32, 1_599_332_177u32);
        let chain_of = |bits_at: &dyn Fn(u32) -> u32| -> Vec<Candidate> {
            (0..=2016u32)
                .map(|h| {
                    let mut header = genesis.header;
                    header.time = if h >= 2015 { end + (h - 2015) * 600 } else { start + (u64::from(end - start) * u64::from(h) / 2015) as u32 };
                    header.bits = bitcoin::CompactTarget::from_consensus(bits_at(h));
                    let hash = if h == 0 { genesis.block_hash() } else { BlockHash::from_byte_array([h as u8; 32]) };
                    Candidate { hash, header, file: 0, data_pos: u64::from(h), height: None }
                })
                .collect()
        };
        let all: Vec<usize> = (0..=2016).collect();
        let real = chain_of(&|h| if h < 2016 { 503_543_726 } else { 503_394_215 });
        assert_eq!(first_bad_bits(&all, &real, Network::Signet), None);
        // Block 2016 keeping the old nBits, and block 7 changing them, are named.
        let kept = chain_of(&|_| 503_543_726);
        let (k, why) = first_bad_bits(&all, &kept, Network::Signet).expect("a bad block");
        assert_eq!(k, 2016);
        assert!(why.contains(&format!("at height 2016: nBits {:#010x} where consensus asks {:#010x}", 503_543_726, 503_394_215)), "{why}");
        let early = chain_of(&|h| if h == 7 { 503_394_215 } else if h < 2016 { 503_543_726 } else { 503_394_215 });
        assert_eq!(first_bad_bits(&all, &early, Network::Signet).map(|(k, _)| k), Some(7));
        // A fragment (no genesis, no index heights) is not checked: its heights are unknown.
        assert_eq!(first_bad_bits(&all[1..], &kept, Network::Signet), None);
    }

    #[test]
    fn core_varint_matches_core_examples() {
        // Examples from Core's serialize.h comment.
        for (bytes, v) in [
            (&[0x00u8][..], 0u64),
            (&[0x7f], 127),
            (&[0x80, 0x00], 128),
            (&[0x80, 0x7f], 255),
            (&[0x81, 0x00], 256),
            (&[0xfe, 0x7f], 16383),
            (&[0xff, 0x00], 16384),
            (&[0x82, 0xfe, 0x7f], 65535),
            (&[0x8e, 0xfe, 0xfe, 0xff, 0x00], 4294967296),
        ] {
            let mut p = 0;
            assert_eq!(read_core_varint(bytes, &mut p), Some(v), "{bytes:?}");
            assert_eq!(p, bytes.len());
            let mut written = Vec::new();
            write_core_varint(&mut written, v);
            assert_eq!(written, bytes, "{v}");
        }
        let mut p = 0;
        assert_eq!(read_core_varint(&[0x80], &mut p), None);
    }

    #[test]
    fn core_varints_and_block_index_records_round_trip() {
        for n in [0u64, 1, 127, 128, 255, 256, 16_511, 16_512, 1 << 32, 1 << 56] {
            let mut v = Vec::new();
            write_core_varint(&mut v, n);
            let mut p = 0;
            assert_eq!((read_core_varint(&v, &mut p), p), (Some(n), v.len()), "{n}");
        }
        let header = bitcoin::constants::genesis_block(Network::Regtest).header;
        let rec = decode_disk_block_index(&encode_disk_block_index(7, 3, 2, 1_000_000, &header)).expect("decodes");
        assert_eq!((rec.height, rec.n_tx, rec.file, rec.data_pos, rec.header), (7, 3, Some(2), Some(1_000_000), header));
        assert_eq!(rec.status & (BLOCK_HAVE_DATA | BLOCK_HAVE_UNDO | BLOCK_FAILED_MASK), BLOCK_HAVE_DATA);
    }

    #[test]
    fn xor_by_words_equals_xor_by_bytes() {
        let key = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
        let data: Vec<u8> = (0..40u8).collect();
        for offset in 0..16u64 {
            for len in 0..=data.len() {
                let mut got = data[..len].to_vec();
                xor_in_place(&mut got, &key, offset);
                let want: Vec<u8> = data[..len].iter().enumerate().map(|(i, b)| b ^ key[((offset + i as u64) % 8) as usize]).collect();
                assert_eq!(got, want, "offset {offset}, len {len}");
            }
        }
    }

    /// `n` regtest headers in a chain on genesis, each meeting its target (nonce ground).
    fn regtest_headers(n: usize) -> Vec<Header> {
        let mut prev = bitcoin::constants::genesis_block(Network::Regtest).block_hash();
        let mut out = Vec::with_capacity(n);
        for k in 0..n {
            let mut h = Header {
                version: bitcoin::block::Version::from_consensus(0x2000_0000),
                prev_blockhash: prev,
                merkle_root: bitcoin::TxMerkleNode::all_zeros(),
                time: 1_600_000_000 + k as u32,
                bits: bitcoin::pow::CompactTarget::from_consensus(0x207f_ffff),
                nonce: 0,
            };
            while !h.target().is_met_by(h.block_hash()) {
                h.nonce += 1;
            }
            prev = h.block_hash();
            out.push(h);
        }
        out
    }

    fn candidate(header: Header, data_pos: u64) -> Candidate {
        Candidate { hash: header.block_hash(), header, file: 0, data_pos, height: None }
    }

    /// F14: a chain stored tip first was sorted in quadratic time (a walk looked each
    /// block up in a Vec of the walk so far): 200,000 headers took minutes.
    #[test]
    fn a_chain_stored_tip_first_is_sorted_in_linear_time() {
        const N: usize = 200_000;
        let headers = regtest_headers(N);
        let mut cands = vec![candidate(bitcoin::constants::genesis_block(Network::Regtest).header, 8)];
        cands.extend(headers.iter().rev().enumerate().map(|(i, h)| candidate(*h, 1_000 + 100 * i as u64)));
        let mut diags = Vec::new();
        let started = std::time::Instant::now();
        let chain = select_best_chain(cands, Network::Regtest, &BTreeMap::new(), &mut diags);
        let took = started.elapsed();
        assert_eq!(chain.len(), N + 1);
        assert_eq!(chain[N].hash, headers[N - 1].block_hash());
        assert_eq!(chain[N].height, N as u32);
        assert!(diags.is_empty(), "{diags:?}");
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    }

    /// A header whose nBits is zero (a target no hash meets, claiming the most work there
    /// is, which overflowed the sum of work) is rejected, not counted.
    #[test]
    fn a_zero_target_is_rejected_without_a_panic() {
        let mut h = regtest_headers(1)[0];
        h.bits = bitcoin::pow::CompactTarget::from_consensus(0);
        let genesis = bitcoin::constants::genesis_block(Network::Regtest).header;
        let mut diags = Vec::new();
        let chain = select_best_chain(vec![candidate(genesis, 8), candidate(h, 300)], Network::Regtest, &BTreeMap::new(), &mut diags);
        assert_eq!(chain.len(), 1);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].message.ends_with("(no proof of work); rejected"), "{diags:?}");
    }

    #[test]
    fn network_names_parse() {
        assert_eq!(parse_network("regtest").ok(), Some(Network::Regtest));
        assert_eq!(parse_network("testnet").ok(), Some(Network::Testnet));
        assert_eq!(parse_network("mainnet").ok(), Some(Network::Bitcoin));
        assert!(parse_network("dogecoin").is_err());
    }
}
