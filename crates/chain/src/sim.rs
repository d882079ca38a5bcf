//! A deterministic regtest chain generator with ground truth: entities with wallet
//! behaviours make real, signed P2WPKH transactions, mined into real blocks and written as
//! Bitcoin Core `blk*.dat` files (with an `xor.dat` key) plus a `truth.json` in the schema
//! of `shared/data/chain/regtest-small`.
//!
//! Blocks are valid for Bitcoin Core's regtest rules: the coinbase carries its height
//! (BIP34) and the witness commitment (BIP141) with a zero reserved value, claims exactly
//! subsidy (halving every 150 blocks on regtest) plus fees, the merkle root is computed,
//! the header meets the regtest target (the nonce is ground), timestamps rise 10 minutes a
//! block from the regtest genesis, and coinbase outputs are spent only after 100 blocks.
//! The check is external: `bench/chain/validate_with_kernel.py` feeds every block to
//! libbitcoinkernel.
//!
//! Everything comes from the seed: the choices from a ChaCha20 stream, and each key from
//! `SHA-256(seed || key number)`, so keys need no storage and a run is reproducible byte
//! for byte. With `sign: false` the transactions carry placeholder signatures and public
//! keys (blocks NOT valid, but byte-for-byte shaped like real ones): that mode exists to
//! make the 10M-transaction benchmark chains quickly.
//!
//! Behaviours: `fresh` (fresh change, mostly round payments), `reuse` (one address for
//! receiving and change), `peel` (a peel chain: small payments off one big coin, change to
//! a fresh address), `exchange` (a fresh deposit address per incoming payment, periodic
//! sweeps of deposits into one hot-wallet address, withdrawals with change back to it),
//! plus equal-output CoinJoins among `fresh` and `peel` entities.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bitcoin::absolute::LockTime;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::pow::{CompactTarget, Target};
use bitcoin::script::Builder;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey, SignOnly};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{Amount, Block, BlockHash, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

use crate::error::ChainError;

/// Generator options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Seed of everything.
    pub seed: u64,
    /// Activity blocks after the setup (setup: 99 + entities empty blocks for coinbase
    /// maturity, then the funding block opens the activity).
    pub blocks: u32,
    /// Number of entities (entity 0 is the exchange).
    pub entities: u32,
    /// Transactions attempted per activity block.
    pub txs_per_block: u32,
    /// The `xor.dat` key (all zeros: plain files).
    pub xor_key: [u8; 8],
    /// Real keys and signatures (false: placeholders, for throughput benchmarks only).
    pub sign: bool,
    /// Write truth.json (large chains may skip it).
    pub truth: bool,
    /// Start a new blk file when one would pass this size (Core: 128 MiB).
    pub max_file_bytes: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            blocks: 60,
            entities: 12,
            txs_per_block: 12,
            xor_key: [0x5e, 0x1a, 0x7c, 0x03, 0xd2, 0x88, 0x41, 0xf6],
            sign: true,
            truth: true,
            max_file_bytes: 128 << 20,
        }
    }
}

/// What a generation wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SimReport {
    /// Blocks written, genesis included.
    pub blocks: u32,
    /// Transactions, coinbases included.
    pub transactions: u64,
    /// Bytes of blk files (records only).
    pub bytes: u64,
    /// blk files written.
    pub files: u32,
    /// Tip hash.
    pub best_hash: String,
    /// Truth transactions by kind.
    pub kinds: BTreeMap<String, u64>,
    /// Distinct addresses created.
    pub addresses: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Fresh,
    Reuse,
    Peel,
    Exchange,
}

impl Behaviour {
    fn name(self) -> &'static str {
        match self {
            Behaviour::Fresh => "fresh",
            Behaviour::Reuse => "reuse",
            Behaviour::Peel => "peel",
            Behaviour::Exchange => "exchange",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Utxo {
    txid: Txid,
    vout: u32,
    value: u64,
    key: u32,
}

struct Entity {
    behaviour: Behaviour,
    version: i32,
    anti_snipe: bool,
    round_share: f64,
    utxos: Vec<Utxo>,
    deposits: Vec<Utxo>,
    /// The one address of a `reuse` entity, the hot wallet of the exchange.
    home: Option<u32>,
}

const MAGIC_REGTEST: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];
const MAX_WEIGHT: u64 = 3_900_000;
const DUST: u64 = 1_000;

/// Writes records into `blkNNNNN.dat` files, XORed by file offset.
struct BlkWriter {
    dir: PathBuf,
    key: [u8; 8],
    max: u64,
    file_no: u32,
    pos: u64,
    out: Option<BufWriter<File>>,
    bytes: u64,
}

impl BlkWriter {
    fn write(&mut self, block: &[u8]) -> Result<(), ChainError> {
        let len = block.len() as u64 + 8;
        if self.out.is_some() && self.pos + len > self.max {
            self.finish()?;
            self.file_no += 1;
            self.pos = 0;
        }
        if self.out.is_none() {
            let p = self.dir.join(format!("blk{:05}.dat", self.file_no));
            self.out = Some(BufWriter::with_capacity(1 << 20, File::create(&p).map_err(|e| ChainError::io(&p, e))?));
        }
        let mut rec = Vec::with_capacity(len as usize);
        rec.extend_from_slice(&MAGIC_REGTEST);
        rec.extend_from_slice(&(block.len() as u32).to_le_bytes());
        rec.extend_from_slice(block);
        if self.key != [0; 8] {
            for (i, b) in rec.iter_mut().enumerate() {
                *b ^= self.key[((self.pos + i as u64) % 8) as usize];
            }
        }
        let p = self.dir.join(format!("blk{:05}.dat", self.file_no));
        if let Some(o) = self.out.as_mut() {
            o.write_all(&rec).map_err(|e| ChainError::io(&p, e))?;
        }
        self.pos += len;
        self.bytes += len;
        Ok(())
    }
    fn finish(&mut self) -> Result<(), ChainError> {
        if let Some(mut o) = self.out.take() {
            let p = self.dir.join(format!("blk{:05}.dat", self.file_no));
            o.flush().map_err(|e| ChainError::io(&p, e))?;
        }
        Ok(())
    }
}

struct Sim {
    cfg: SimConfig,
    rng: ChaCha20Rng,
    secp: Secp256k1<SignOnly>,
    verify_secp: Secp256k1<bitcoin::secp256k1::All>,
    owners: Vec<u32>,
    entities: Vec<Entity>,
    truth_addrs: BTreeMap<String, u32>,
    truth_txs: BTreeMap<String, Value>,
    kinds: BTreeMap<String, u64>,
    // Block being built.
    height: u32,
    prev: BlockHash,
    txs: Vec<Transaction>,
    weight: u64,
    fees: u64,
    writer: BlkWriter,
    n_blocks: u32,
    n_txs: u64,
    /// (txid, value) of the coinbases of heights 1..=entities, which fund the entities.
    funding_coinbases: Vec<(Txid, u64)>,
}

fn subsidy(height: u32) -> u64 {
    let halvings = height / 150;
    if halvings >= 64 {
        0
    } else {
        (50 * 100_000_000u64) >> halvings
    }
}

impl Sim {
    fn secret(&self, key: u32) -> SecretKey {
        let mut ctr = 0u32;
        loop {
            let mut pre = Vec::with_capacity(16);
            pre.extend_from_slice(&self.cfg.seed.to_le_bytes());
            pre.extend_from_slice(&key.to_le_bytes());
            pre.extend_from_slice(&ctr.to_le_bytes());
            // A hash is a valid secret key except with probability ~2^-128; retry then.
            if let Ok(sk) = SecretKey::from_slice(sha256::Hash::hash(&pre).as_byte_array()) {
                return sk;
            }
            ctr += 1;
        }
    }
    fn pubkey(&self, key: u32) -> [u8; 33] {
        if self.cfg.sign {
            PublicKey::from_secret_key(&self.verify_secp, &self.secret(key)).serialize()
        } else {
            let mut pre = b"placeholder".to_vec();
            pre.extend_from_slice(&self.cfg.seed.to_le_bytes());
            pre.extend_from_slice(&key.to_le_bytes());
            let mut pk = [2u8; 33];
            pk[1..].copy_from_slice(sha256::Hash::hash(&pre).as_byte_array());
            pk
        }
    }
    fn script(&self, key: u32) -> ScriptBuf {
        let pk = self.pubkey(key);
        let h = bitcoin::hashes::hash160::Hash::hash(&pk);
        ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_raw_hash(h))
    }
    fn new_key(&mut self, owner: u32) -> u32 {
        let k = self.owners.len() as u32;
        self.owners.push(owner);
        if self.cfg.truth {
            if let Ok(a) = bitcoin::Address::from_script(&self.script(k), Network::Regtest) {
                self.truth_addrs.insert(a.to_string(), owner);
            }
        }
        k
    }
    fn receive_key(&mut self, e: u32) -> u32 {
        match (self.entities[e as usize].behaviour, self.entities[e as usize].home) {
            (Behaviour::Reuse, Some(h)) => h,
            _ => self.new_key(e),
        }
    }

    /// Builds, signs, adds to the block and registers the outputs with their owners.
    fn make_tx(&mut self, version: i32, anti_snipe: bool, inputs: &[Utxo], outputs: &[(u64, u32)]) -> Result<Txid, ChainError> {
        let locktime = if anti_snipe { self.height.saturating_sub(1) } else { 0 };
        let seq = if anti_snipe { Sequence::ENABLE_RBF_NO_LOCKTIME } else { Sequence::MAX };
        let mut tx = Transaction {
            version: Version(version),
            lock_time: LockTime::from_consensus(locktime),
            input: inputs.iter().map(|u| TxIn { previous_output: OutPoint { txid: u.txid, vout: u.vout }, script_sig: ScriptBuf::new(), sequence: seq, witness: Witness::new() }).collect(),
            output: outputs.iter().map(|(v, k)| TxOut { value: Amount::from_sat(*v), script_pubkey: self.script(*k) }).collect(),
        };
        let witnesses: Vec<Witness> = if self.cfg.sign {
            let mut cache = SighashCache::new(&tx);
            let mut w = Vec::with_capacity(inputs.len());
            for (i, u) in inputs.iter().enumerate() {
                let spk = self.script(u.key);
                let h = cache
                    .p2wpkh_signature_hash(i, &spk, Amount::from_sat(u.value), EcdsaSighashType::All)
                    .map_err(|e| ChainError::Sim(format!("sighash of input {i}: {e}")))?;
                let sk = self.secret(u.key);
                let sig = self.secp.sign_ecdsa(&Message::from_digest(h.to_byte_array()), &sk);
                let pk = PublicKey::from_secret_key(&self.verify_secp, &sk);
                w.push(Witness::p2wpkh(&bitcoin::ecdsa::Signature { signature: sig, sighash_type: EcdsaSighashType::All }, &pk));
            }
            w
        } else {
            inputs.iter().map(|u| Witness::from_slice(&[vec![0x30u8; 72], self.pubkey(u.key).to_vec()])).collect()
        };
        for (i, w) in witnesses.into_iter().enumerate() {
            if let Some(inp) = tx.input.get_mut(i) {
                inp.witness = w;
            }
        }
        let fee = inputs.iter().map(|u| u.value).sum::<u64>() - outputs.iter().map(|o| o.0).sum::<u64>();
        let txid = tx.compute_txid();
        self.add_tx(tx, fee)?;
        for (vout, (v, k)) in outputs.iter().enumerate() {
            let owner = self.owners[*k as usize];
            let u = Utxo { txid, vout: vout as u32, value: *v, key: *k };
            let e = &mut self.entities[owner as usize];
            if e.behaviour == Behaviour::Exchange && Some(*k) != e.home {
                e.deposits.push(u);
            } else {
                e.utxos.push(u);
            }
        }
        Ok(txid)
    }

    fn add_tx(&mut self, tx: Transaction, fee: u64) -> Result<(), ChainError> {
        let w = tx.weight().to_wu();
        if self.weight + w > MAX_WEIGHT {
            self.close_block()?;
        }
        self.weight += w;
        self.fees += fee;
        self.n_txs += 1;
        self.txs.push(tx);
        Ok(())
    }

    /// Mines the block being built (coinbase, commitment, merkle root, proof of work) and
    /// writes it.
    fn close_block(&mut self) -> Result<(), ChainError> {
        let height = self.height;
        let reserved = [0u8; 32];
        let coinbase = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                // BIP34: the height first; OP_0 keeps the script at least 2 bytes long.
                script_sig: Builder::new().push_int(i64::from(height)).push_opcode(bitcoin::opcodes::OP_0).into_script(),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(&[reserved]),
            }],
            output: vec![
                TxOut { value: Amount::from_sat(subsidy(height) + self.fees), script_pubkey: ScriptBuf::from_bytes(vec![0x51]) },
                TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new() },
            ],
        };
        let mut txdata = Vec::with_capacity(self.txs.len() + 1);
        txdata.push(coinbase);
        txdata.append(&mut self.txs);
        let header = bitcoin::block::Header {
            version: bitcoin::block::Version::from_consensus(0x2000_0000),
            prev_blockhash: self.prev,
            merkle_root: TxMerkleNode::all_zeros(),
            time: bitcoin::constants::genesis_block(Network::Regtest).header.time + 600 * height,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        };
        let mut block = Block { header, txdata };
        let root = block.witness_root().ok_or_else(|| ChainError::Sim("empty block".into()))?;
        let commitment = Block::compute_witness_commitment(&root, &reserved);
        let mut spk = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
        spk.extend_from_slice(commitment.as_byte_array());
        if let Some(o) = block.txdata.first_mut().and_then(|cb| cb.output.get_mut(1)) {
            o.script_pubkey = ScriptBuf::from_bytes(spk);
        }
        block.header.merkle_root = block.compute_merkle_root().ok_or_else(|| ChainError::Sim("empty block".into()))?;
        let target = Target::from_compact(block.header.bits);
        while !target.is_met_by(block.header.block_hash()) {
            block.header.nonce = block.header.nonce.wrapping_add(1);
        }
        self.prev = block.block_hash();
        if height <= self.cfg.entities {
            if let Some(cb) = block.txdata.first() {
                self.funding_coinbases.push((cb.compute_txid(), subsidy(height) + self.fees));
            }
        }
        self.writer.write(&bitcoin::consensus::serialize(&block))?;
        self.n_blocks += 1;
        self.n_txs += 1;
        self.height += 1;
        self.weight = 0;
        self.fees = 0;
        Ok(())
    }

    fn record(&mut self, txid: Txid, v: Value) {
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        *self.kinds.entry(kind).or_default() += 1;
        if self.cfg.truth {
            self.truth_txs.insert(txid.to_string(), v);
        }
    }

    fn take_random(&mut self, e: u32, n: usize) -> Vec<Utxo> {
        let mut out = Vec::new();
        for _ in 0..n {
            let len = self.entities[e as usize].utxos.len();
            if len == 0 {
                break;
            }
            let i = self.rng.random_range(0..len);
            out.push(self.entities[e as usize].utxos.swap_remove(i));
        }
        out
    }

    fn give_back(&mut self, e: u32, us: Vec<Utxo>) {
        self.entities[e as usize].utxos.extend(us);
    }

    fn payment(&mut self) -> Result<bool, ChainError> {
        let n = self.entities.len() as u32;
        let s = self.rng.random_range(0..n);
        if self.entities[s as usize].utxos.is_empty() {
            return Ok(false);
        }
        let mut r = self.rng.random_range(0..n - 1);
        if r >= s {
            r += 1;
        }
        let b = self.entities[s as usize].behaviour;
        let k = if b == Behaviour::Peel { 1 } else { self.rng.random_range(1..=3) };
        let ins = self.take_random(s, k);
        let total: u64 = ins.iter().map(|u| u.value).sum();
        let pct = if b == Behaviour::Peel { self.rng.random_range(1..=10) } else { self.rng.random_range(5..=60) };
        let mut amount = total / 100 * pct;
        if self.rng.random_bool(self.entities[s as usize].round_share) {
            for unit in [1_000_000u64, 100_000] {
                if amount >= unit {
                    amount = amount / unit * unit;
                    break;
                }
            }
        }
        let fee = 1_000 + 300 * ins.len() as u64;
        let change = total.saturating_sub(amount + fee);
        if amount <= DUST || change <= DUST {
            self.give_back(s, ins);
            return Ok(false);
        }
        let pay_key = self.receive_key(r);
        let change_key = match self.entities[s as usize].home {
            Some(h) => h,
            None => self.new_key(s),
        };
        let change_first = self.rng.random_bool(0.5);
        let outs = if change_first { vec![(change, change_key), (amount, pay_key)] } else { vec![(amount, pay_key), (change, change_key)] };
        let e = &self.entities[s as usize];
        let (v, a) = (e.version, e.anti_snipe);
        let txid = self.make_tx(v, a, &ins, &outs)?;
        self.record(txid, json!({"kind": "payment", "sender": s, "receiver": r, "change_vout": if change_first { 0 } else { 1 }, "behaviour": b.name()}));
        Ok(true)
    }

    fn coinjoin(&mut self) -> Result<bool, ChainError> {
        let mut cands: Vec<u32> = (0..self.entities.len() as u32)
            .filter(|e| matches!(self.entities[*e as usize].behaviour, Behaviour::Fresh | Behaviour::Peel) && !self.entities[*e as usize].utxos.is_empty())
            .collect();
        let want = self.rng.random_range(3..=5);
        if cands.len() < want {
            return Ok(false);
        }
        cands.shuffle(&mut self.rng);
        cands.truncate(want);
        let ins: Vec<(u32, Utxo)> = cands.iter().flat_map(|e| self.take_random(*e, 1).into_iter().map(move |u| (*e, u))).collect();
        let min = ins.iter().map(|(_, u)| u.value).min().unwrap_or(0);
        let denom = min / 2;
        if denom <= DUST || min - denom <= 2_000 + DUST {
            for (e, u) in ins {
                self.give_back(e, vec![u]);
            }
            return Ok(false);
        }
        let mut outs: Vec<(u64, u32)> = Vec::new();
        for (e, u) in &ins {
            let k1 = self.new_key(*e);
            let k2 = self.new_key(*e);
            outs.push((denom, k1));
            outs.push((u.value - denom - 2_000, k2));
        }
        outs.shuffle(&mut self.rng);
        let owners: Vec<u32> = outs.iter().map(|(_, k)| self.owners[*k as usize]).collect();
        let inputs: Vec<Utxo> = ins.iter().map(|(_, u)| *u).collect();
        let txid = self.make_tx(1, false, &inputs, &outs)?;
        self.record(txid, json!({"kind": "coinjoin", "input_owners": cands, "output_owners": owners}));
        Ok(true)
    }

    fn sweep(&mut self) -> Result<bool, ChainError> {
        let Some(ex) = self.entities.iter().position(|e| e.behaviour == Behaviour::Exchange) else { return Ok(false) };
        let e = &mut self.entities[ex];
        if e.deposits.len() < 5 {
            return Ok(false);
        }
        let n = e.deposits.len().min(20);
        let ins: Vec<Utxo> = e.deposits.drain(..n).collect();
        let Some(hot) = e.home else { return Ok(false) };
        let (v, a) = (e.version, e.anti_snipe);
        let total: u64 = ins.iter().map(|u| u.value).sum();
        let fee = 500 + 300 * ins.len() as u64;
        let txid = self.make_tx(v, a, &ins, &[(total - fee, hot)])?;
        self.record(txid, json!({"kind": "sweep", "owner": ex}));
        Ok(true)
    }
}

/// Parses an `xor.dat` key given as 16 hex digits.
pub fn parse_xor_key(s: &str) -> Option<[u8; 8]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// Generates a chain into `out` (created if missing): `blk*.dat`, `xor.dat`, `truth.json`.
pub fn generate(out: &Path, cfg: &SimConfig) -> Result<SimReport, ChainError> {
    if cfg.entities < 4 {
        return Err(ChainError::Sim("at least 4 entities are needed (an exchange and three wallets)".into()));
    }
    std::fs::create_dir_all(out).map_err(|e| ChainError::io(out, e))?;
    let xp = out.join("xor.dat");
    std::fs::write(&xp, cfg.xor_key).map_err(|e| ChainError::io(&xp, e))?;
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let cycle = [Behaviour::Fresh, Behaviour::Fresh, Behaviour::Reuse, Behaviour::Peel];
    let entities: Vec<Entity> = (0..cfg.entities)
        .map(|i| {
            let behaviour = if i == 0 { Behaviour::Exchange } else { cycle[(i as usize - 1) % cycle.len()] };
            Entity {
                behaviour,
                // Wallet fingerprints differ between entities, as between wallet programs.
                version: if rng.random_bool(0.5) { 2 } else { 1 },
                anti_snipe: rng.random_bool(0.5),
                round_share: match behaviour {
                    Behaviour::Fresh => 0.67,
                    Behaviour::Reuse => 0.5,
                    _ => 0.1,
                },
                utxos: Vec::new(),
                deposits: Vec::new(),
                home: None,
            }
        })
        .collect();
    let genesis = bitcoin::constants::genesis_block(Network::Regtest);
    let mut sim = Sim {
        cfg: cfg.clone(),
        rng,
        secp: Secp256k1::signing_only(),
        verify_secp: Secp256k1::new(),
        owners: Vec::new(),
        entities,
        truth_addrs: BTreeMap::new(),
        truth_txs: BTreeMap::new(),
        kinds: BTreeMap::new(),
        height: 1,
        prev: genesis.block_hash(),
        txs: Vec::new(),
        weight: 0,
        fees: 0,
        writer: BlkWriter { dir: out.to_path_buf(), key: cfg.xor_key, max: cfg.max_file_bytes, file_no: 0, pos: 0, out: None, bytes: 0 },
        n_blocks: 1,
        n_txs: 1,
        funding_coinbases: Vec::new(),
    };
    sim.writer.write(&bitcoin::consensus::serialize(&genesis))?;
    for e in 0..cfg.entities {
        if matches!(sim.entities[e as usize].behaviour, Behaviour::Reuse | Behaviour::Exchange) {
            let k = sim.new_key(e);
            sim.entities[e as usize].home = Some(k);
        }
    }
    // Setup: one coinbase per entity to fund it, mature after 100 blocks.
    while sim.height < cfg.entities + 100 {
        sim.close_block()?;
    }
    let coinbases = std::mem::take(&mut sim.funding_coinbases);
    for (e, (txid, value)) in coinbases.into_iter().enumerate() {
        let e = e as u32;
        let fee = 10_000;
        let each = (value - fee) / 4;
        let keys: Vec<u32> = (0..4).map(|_| sim.receive_key(e)).collect();
        let outs: Vec<(u64, u32)> = keys.iter().map(|k| (each, *k)).collect();
        // The coinbase pays OP_TRUE: spent with an empty scriptSig and no witness.
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn { previous_output: OutPoint { txid, vout: 0 }, script_sig: ScriptBuf::new(), sequence: Sequence::MAX, witness: Witness::new() }],
            output: outs.iter().map(|(v, k)| TxOut { value: Amount::from_sat(*v), script_pubkey: sim.script(*k) }).collect(),
        };
        let ftxid = tx.compute_txid();
        sim.add_tx(tx, value - each * 4)?;
        for (vout, (v, k)) in outs.iter().enumerate() {
            sim.entities[e as usize].utxos.push(Utxo { txid: ftxid, vout: vout as u32, value: *v, key: *k });
        }
        sim.record(ftxid, json!({"kind": "funding", "owner": e}));
    }
    for _ in 0..cfg.blocks {
        for _ in 0..cfg.txs_per_block {
            let roll: f64 = sim.rng.random();
            let done = if roll < 0.06 {
                sim.coinjoin()?
            } else if roll < 0.12 {
                sim.sweep()?
            } else {
                false
            };
            if !done {
                // A few tries, so a sender without coins does not leave the block empty.
                for _ in 0..4 {
                    if sim.payment()? {
                        break;
                    }
                }
            }
        }
        sim.close_block()?;
    }
    sim.writer.finish()?;
    if cfg.truth {
        let entities: Vec<Value> = sim.entities.iter().enumerate().map(|(i, e)| json!({"id": i, "behaviour": e.behaviour.name(), "version": e.version, "anti_fee_sniping": e.anti_snipe})).collect();
        let t = json!({"addresses": sim.truth_addrs, "txs": sim.truth_txs, "entities": entities, "generator": {"seed": cfg.seed, "xor_key": hex::encode(cfg.xor_key), "signed": cfg.sign}});
        let p = out.join("truth.json");
        let s = serde_json::to_string(&t).map_err(|e| ChainError::Sim(e.to_string()))?;
        std::fs::write(&p, s).map_err(|e| ChainError::io(&p, e))?;
    }
    Ok(SimReport {
        blocks: sim.n_blocks,
        transactions: sim.n_txs,
        bytes: sim.writer.bytes,
        files: sim.writer.file_no + 1,
        best_hash: sim.prev.to_string(),
        kinds: sim.kinds,
        addresses: sim.owners.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regtest_subsidy_halves_every_150_blocks() {
        assert_eq!(subsidy(0), 5_000_000_000);
        assert_eq!(subsidy(149), 5_000_000_000);
        assert_eq!(subsidy(150), 2_500_000_000);
        assert_eq!(subsidy(150 * 64), 0);
    }

    #[test]
    fn too_few_entities_is_an_error() {
        let d = tempfile::tempdir().expect("tmp");
        assert!(generate(d.path(), &SimConfig { entities: 2, ..SimConfig::default() }).is_err());
    }
}
