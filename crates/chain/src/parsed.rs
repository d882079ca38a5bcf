//! A block as the index needs it, parsed straight from its bytes: txids, versions,
//! locktimes, the outpoints inputs spend, output values and their classified addresses.
//!
//! Why not `bitcoin::Block`: decoding one allocates every input, output, script and witness
//! and hashing a txid re-serializes the transaction, which made reading a third of an index
//! build. `bitcoin_slices` visits the bytes in place and hashes the txid from slices of them;
//! what is kept here is a handful of flat vectors per block. The block hash and merkle root
//! are checked against the bytes by [`crate::BlockSource`], as before.

use std::ops::ControlFlow;

use bitcoin::hashes::{sha256d, Hash};
use bitcoin_slices::{bsl, Visit, Visitor};

use crate::index::{classify, AddrKind};

/// One transaction of a [`ParsedBlock`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTx {
    /// Txid, internal byte order.
    pub txid: [u8; 32],
    /// nVersion.
    pub version: i32,
    /// nLockTime.
    pub locktime: u32,
    /// Inputs that spend an output (0 for a coinbase).
    pub n_in: u32,
    /// Outputs.
    pub n_out: u32,
}

/// One output of a [`ParsedBlock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedOut {
    /// Value in satoshis.
    pub value: u64,
    /// Address kind, if the script has one.
    pub kind: Option<AddrKind>,
    /// The address bytes: `bytes[start..start + len]` of the block's address arena.
    pub start: u32,
    /// Length of the address bytes.
    pub len: u32,
    /// Provably unspendable (OP_RETURN first, or a script over 10,000 bytes, as Bitcoin
    /// Core's `IsUnspendable`): never enters a set of unspent outputs.
    pub unspendable: bool,
}

/// A block parsed for the index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedBlock {
    /// Block hash, internal byte order.
    pub hash: [u8; 32],
    /// Merkle root from the header.
    pub merkle_root: [u8; 32],
    /// Header time.
    pub time: u32,
    /// Transactions in block order.
    pub txs: Vec<ParsedTx>,
    /// The outpoint (txid, vout) each non-coinbase input spends, in order.
    pub prevouts: Vec<([u8; 32], u32)>,
    /// Outputs in order.
    pub outputs: Vec<ParsedOut>,
    /// Address bytes of the outputs.
    pub addr_bytes: Vec<u8>,
}

impl ParsedBlock {
    /// The address (kind and bytes) of an output, if it has one.
    pub fn address(&self, out: &ParsedOut) -> Option<(AddrKind, &[u8])> {
        let start = out.start as usize;
        Some((out.kind?, self.addr_bytes.get(start..start + out.len as usize)?))
    }

    /// The merkle root computed from the txids (None for a block without transactions).
    pub fn computed_merkle_root(&self) -> Option<[u8; 32]> {
        bitcoin::merkle_tree::calculate_root(self.txs.iter().map(|t| sha256d::Hash::from_byte_array(t.txid))).map(|h| h.to_byte_array())
    }
}

/// Parses a serialized block. Errors name what was wrong; trailing bytes are an error.
pub fn parse_block(bytes: &[u8]) -> Result<ParsedBlock, String> {
    let mut block = ParsedBlock::default();
    parse_block_into(bytes, &mut block)?;
    Ok(block)
}

/// [`parse_block`] into `block`, whose contents it replaces: its vectors' room is reused,
/// so a build that hands parsed blocks back to its reader allocates none per block (freed
/// room goes back to the system and comes back as fresh pages, each zeroed by the kernel).
/// After an error `block` holds part of the block.
pub fn parse_block_into(bytes: &[u8], block: &mut ParsedBlock) -> Result<(), String> {
    let mut reused = std::mem::take(block);
    reused.txs.clear();
    reused.prevouts.clear();
    reused.outputs.clear();
    reused.addr_bytes.clear();
    let mut v = BlockVisitor { block: reused, tx_prevouts_from: 0, tx_outputs_from: 0, n_in: 0, claimed: None };
    let visited = bsl::Block::visit(bytes, &mut v);
    let claimed = v.claimed;
    *block = v.block;
    let parsed = visited.map_err(|e| describe(&e, bytes.len(), claimed, block.txs.len()))?;
    if !parsed.remaining().is_empty() {
        return Err(format!(
            "{} bytes after the block's transactions (its {} transactions end before the record's {} bytes do)",
            parsed.remaining().len(),
            block.txs.len(),
            bytes.len()
        ));
    }
    let header = parsed.parsed().header();
    block.hash = header.block_hash().to_byte_array();
    block.merkle_root = header.merkle_root().try_into().map_err(|_| "merkle root is not 32 bytes".to_string())?;
    block.time = header.time();
    Ok(())
}

/// Parses a `bitcoin::Block` (from an endpoint or a test) the same way.
pub fn parse_decoded(block: &bitcoin::Block) -> Result<ParsedBlock, String> {
    parse_block(&bitcoin::consensus::serialize(block))
}

/// What a decoding error of `bitcoin_slices` means, in words: its names
/// (`MoreBytesNeeded`, ...) tell an analyst nothing. `claimed` is the block's transaction
/// count when it was read, `whole` how many transactions were read whole.
fn describe(e: &bitcoin_slices::Error, len: usize, claimed: Option<usize>, whole: usize) -> String {
    use bitcoin_slices::Error as E;
    let tx = whole + 1;
    match e {
        E::MoreBytesNeeded => match claimed {
            None if len < 80 => format!("the record's {len} bytes are too few for an 80-byte block header"),
            None => format!("the record's {len} bytes end before the block's transaction count"),
            Some(n) => format!("the block's transactions run past the record's {len} bytes (it claims {n} transactions; {whole} read whole, transaction {tx} is cut off)"),
        },
        E::UnknownSegwitFlag(f) => format!("transaction {tx} has segwit flag {f}, where only 1 is allowed"),
        E::SegwitFlagWithoutWitnesses => format!("transaction {tx}'s witness flag is set but no witness follows"),
        E::TransactionTooLarge => format!("transaction {tx}'s inputs and outputs claim more than 4 GB"),
        E::NonMinimalVarInt => format!("a length or count in transaction {tx} is not written in its shortest form, as Bitcoin always writes it"),
        other => format!("transaction {tx} cannot be read ({other:?})"),
    }
}

struct BlockVisitor {
    /// The transaction count the block claims, once read.
    claimed: Option<usize>,
    block: ParsedBlock,
    /// Where the current transaction's inputs and outputs start in the block's vectors.
    tx_prevouts_from: usize,
    tx_outputs_from: usize,
    n_in: usize,
}

const NULL_TXID: [u8; 32] = [0; 32];

impl Visitor for BlockVisitor {
    fn visit_block_begin(&mut self, total_transactions: usize) {
        self.claimed = Some(total_transactions);
        // A claimed count is untrusted: cap what is reserved on its word.
        self.block.txs.reserve(total_transactions.min(1 << 16));
    }
    fn visit_tx_ins(&mut self, total_inputs: usize) {
        self.n_in = total_inputs;
    }
    fn visit_tx_in(&mut self, _vin: usize, tx_in: &bsl::TxIn) -> ControlFlow<()> {
        let prev = tx_in.prevout();
        let mut txid = [0u8; 32];
        txid.copy_from_slice(prev.txid());
        self.block.prevouts.push((txid, prev.vout()));
        ControlFlow::Continue(())
    }
    fn visit_tx_out(&mut self, _vout: usize, tx_out: &bsl::TxOut) -> ControlFlow<()> {
        let script = bitcoin::Script::from_bytes(tx_out.script_pubkey());
        let bytes = tx_out.script_pubkey();
        let unspendable = bytes.first() == Some(&0x6a) || bytes.len() > 10_000;
        let mut out = ParsedOut { value: tx_out.value(), kind: None, start: 0, len: 0, unspendable };
        if let Some((kind, data)) = classify(script) {
            out.kind = Some(kind);
            out.start = self.block.addr_bytes.len() as u32;
            out.len = data.len() as u32;
            self.block.addr_bytes.extend_from_slice(data);
        }
        self.block.outputs.push(out);
        ControlFlow::Continue(())
    }
    fn visit_transaction(&mut self, tx: &bsl::Transaction) -> ControlFlow<()> {
        // As rust-bitcoin's `is_coinbase`: one input spending the null outpoint.
        let ins = &self.block.prevouts[self.tx_prevouts_from..];
        let coinbase = self.n_in == 1 && ins.first().is_some_and(|(t, v)| *t == NULL_TXID && *v == u32::MAX);
        if coinbase {
            self.block.prevouts.truncate(self.tx_prevouts_from);
        }
        let n_in = (self.block.prevouts.len() - self.tx_prevouts_from) as u32;
        let n_out = (self.block.outputs.len() - self.tx_outputs_from) as u32;
        self.block.txs.push(ParsedTx { txid: tx.txid_sha2().into(), version: tx.version(), locktime: tx.locktime(), n_in, n_out });
        self.tx_prevouts_from = self.block.prevouts.len();
        self.tx_outputs_from = self.block.outputs.len();
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mainnet_block_parses_to_what_rust_bitcoin_decodes() {
        let raw = bitcoin_test_data::blocks::mainnet_702861();
        let block: bitcoin::Block = bitcoin::consensus::deserialize(raw).expect("block");
        let p = parse_block(raw).expect("parses");
        assert_eq!(p.hash, block.block_hash().to_byte_array());
        assert_eq!(p.computed_merkle_root(), Some(p.merkle_root));
        assert_eq!(p.txs.len(), block.txdata.len());
        let mut ins = p.prevouts.iter();
        let mut outs = p.outputs.iter();
        let mut unspendable = 0;
        for (pt, t) in p.txs.iter().zip(&block.txdata) {
            assert_eq!(pt.txid, t.compute_txid().to_byte_array());
            assert_eq!((pt.version, pt.locktime), (t.version.0, t.lock_time.to_consensus_u32()));
            assert_eq!(pt.n_out as usize, t.output.len());
            if t.is_coinbase() {
                assert_eq!(pt.n_in, 0);
            } else {
                assert_eq!(pt.n_in as usize, t.input.len());
                for i in &t.input {
                    assert_eq!(ins.next(), Some(&(i.previous_output.txid.to_byte_array(), i.previous_output.vout)));
                }
            }
            for o in &t.output {
                let po = outs.next().expect("output");
                assert_eq!(po.value, o.value.to_sat());
                assert_eq!(p.address(po), classify(&o.script_pubkey));
                assert_eq!(po.unspendable, o.script_pubkey.is_op_return() || o.script_pubkey.len() > 10_000);
                unspendable += usize::from(po.unspendable);
            }
        }
        assert_eq!((ins.next(), outs.next()), (None, None));
        // The coinbase's witness commitment at least.
        assert!(unspendable >= 1, "an OP_RETURN output in the block");
    }

    #[test]
    fn parsing_into_a_used_block_leaves_nothing_of_the_old_one() {
        let big = bitcoin_test_data::blocks::mainnet_702861();
        let genesis = bitcoin::consensus::serialize(&bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin));
        let mut reused = ParsedBlock::default();
        for bytes in [big, &genesis[..], big] {
            parse_block_into(bytes, &mut reused).expect("parses");
            assert_eq!(reused, parse_block(bytes).expect("parses"));
        }
        // After a failure the next parse still starts clean.
        assert!(parse_block_into(&big[..big.len() / 2], &mut reused).is_err());
        parse_block_into(&genesis, &mut reused).expect("parses");
        assert_eq!(reused, parse_block(&genesis).expect("parses"));
    }

    #[test]
    fn truncated_and_padded_blocks_are_errors() {
        let raw = bitcoin_test_data::blocks::mainnet_702861();
        assert!(parse_block(&raw[..raw.len() - 1]).is_err());
        let mut padded = raw.to_vec();
        padded.push(0);
        assert!(parse_block(&padded).unwrap_err().contains("1 bytes after"));
        assert!(parse_block(&[]).is_err());
    }

    /// Decoding errors say what is wrong in words, not the decoder's enum names.
    #[test]
    fn decoding_errors_say_what_is_wrong() {
        let raw = bitcoin_test_data::blocks::mainnet_702861();
        let cut = parse_block(&raw[..raw.len() / 2]).unwrap_err();
        assert!(cut.contains("run past the record's") && cut.contains("is cut off"), "{cut}");
        // A transaction count of 2^64-1 in an otherwise intact block.
        let mut absurd = raw[..80].to_vec();
        absurd.extend_from_slice(&[0xff; 9]);
        let n_len = match raw[80] { 0xfd => 3, 0xfe => 5, 0xff => 9, _ => 1 };
        absurd.extend_from_slice(&raw[80 + n_len..]);
        let e = parse_block(&absurd).unwrap_err();
        assert!(!e.contains("MoreBytesNeeded"), "{e}");
        assert!(e.contains("18446744073709551615") || e.contains("run past"), "{e}");
        assert_eq!(parse_block(&raw[..40]).unwrap_err(), "the record's 40 bytes are too few for an 80-byte block header");
        // A segwit transaction whose witnesses are all empty: marker and flag say they follow.
        let genesis = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
        let tx = bitcoin::consensus::serialize(&genesis.txdata[0]);
        let mut block = bitcoin::consensus::serialize(&genesis.header);
        block.push(1);
        block.extend_from_slice(&tx[..4]); // version
        block.extend_from_slice(&[0, 1]); // segwit marker and flag
        block.extend_from_slice(&tx[4..tx.len() - 4]);
        block.push(0); // the one input's witness: no items
        block.extend_from_slice(&tx[tx.len() - 4..]);
        assert_eq!(parse_block(&block).unwrap_err(), "transaction 1's witness flag is set but no witness follows");
    }
}
