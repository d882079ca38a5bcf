//! The streaming index build (`index_stream::import_streaming`: rows written to Parquet as
//! blocks are read, only the unspent outputs and a plan of address ids in memory) against the in-memory
//! import followed by the streaming cluster engine: the same rows in every table and the
//! same clustering files, on a sim chain and on real bytes (testnet3, a Core regtest
//! node); a damaged block stops both at the same height with the blocks before it kept.

mod common;

use std::path::Path;

use arrow_array::RecordBatch;
use bitcoin::Network;
use chain::cluster_stream::cluster_stored;
use chain::index_stream::import_streaming;
use chain::sim::{generate, SimConfig};
use chain::store::{import, load};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Every file a case's chain holds after one import and a streamed clustering.
const FILES: [&str; 8] = [
    "blocks/part-00000.parquet",
    "txs/part-00000.parquet",
    "outputs/part-00000.parquet",
    "inputs/part-00000.parquet",
    "addresses/part-00000.parquet",
    "clusters.parquet",
    "cluster_links.parquet",
    "coinjoins.parquet",
];

/// A Parquet file's rows as one batch.
fn read(path: &Path) -> RecordBatch {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let b = ParquetRecordBatchReaderBuilder::try_new(f).expect("parquet");
    let rows = b.metadata().file_metadata().num_rows().max(1) as usize;
    let schema = b.schema().clone();
    let mut batches = b.with_batch_size(rows).build().expect("reader").map(|b| b.expect("batch"));
    let one = batches.next().unwrap_or_else(|| RecordBatch::new_empty(schema));
    assert!(batches.next().is_none(), "{}: one batch", path.display());
    one
}

/// Imports `blocks` both ways; returns the two cases (streamed, in memory) and the
/// streamed import's report.
fn both_ways(blocks: &Path, network: Network) -> (tempfile::TempDir, tempfile::TempDir, chain::store::ImportReport, chain::index_stream::StreamReport) {
    let streamed = tempfile::tempdir().expect("tmp");
    let (report, stream) = import_streaming(streamed.path(), blocks, network).expect("streaming import");
    let memory = tempfile::tempdir().expect("tmp");
    let r = import(memory.path(), blocks, network).expect("in-memory import");
    assert_eq!((r.blocks, r.transactions, &r.best_hash, &r.error), (report.blocks, report.transactions, &report.best_hash, &report.error));
    // The in-memory import clusters with the change heuristics' behavioural links too;
    // the streaming engine makes the co-spend clusters only. Compare like with like.
    cluster_stored(memory.path(), true).expect("stream-cluster the in-memory case");
    (streamed, memory, report, stream)
}

fn assert_same_files(a: &Path, b: &Path) {
    for f in FILES {
        let (x, y) = (read(&a.join("chain").join(f)), read(&b.join("chain").join(f)));
        assert_eq!(x.num_rows(), y.num_rows(), "{f}: rows");
        assert_eq!(x, y, "{f}");
    }
    assert_eq!(std::fs::read_to_string(a.join("chain/meta.json")).ok(), std::fs::read_to_string(b.join("chain/meta.json")).ok());
    assert_eq!(std::fs::read_to_string(a.join("chain/clusters.json")).ok(), std::fs::read_to_string(b.join("chain/clusters.json")).ok());
}

#[test]
fn streamed_index_equals_in_memory_on_a_sim_chain() {
    let blocks = tempfile::tempdir().expect("tmp");
    let cfg = SimConfig { seed: 5, blocks: 60, entities: 16, txs_per_block: 16, ..SimConfig::default() };
    generate(blocks.path(), &cfg).expect("generate");
    let (streamed, memory, report, stream) = both_ways(blocks.path(), Network::Regtest);
    assert_same_files(streamed.path(), memory.path());
    let idx = load(streamed.path()).expect("load").expect("a chain");
    assert_eq!(idx.txs.len(), report.transactions);
    assert_eq!((stream.inputs, stream.outputs, stream.addresses), (idx.inputs.len() as u64, idx.outputs.len() as u64, idx.addrs.len()));
    assert!(stream.inputs > 500, "the chain spends: {}", stream.inputs);
    // What stays unspent is every output no input spends, less the unspendable ones.
    let never_spent = idx.outputs.iter().filter(|o| o.spent_by == chain::index::NONE).count();
    let src = chain::BlockSource::open(blocks.path(), Network::Regtest).expect("open");
    let unspendable: usize = (0..src.len()).map(|i| src.read_parsed(i).expect("block").outputs.iter().filter(|o| o.unspendable).count()).sum();
    assert!(unspendable > 0, "coinbases carry a witness commitment");
    assert_eq!(stream.unspent, never_spent - unspendable);
    assert!(stream.unspent_peak >= stream.unspent);
    assert_eq!(stream.replaced_unspent, 0);
}

#[test]
fn address_ids_planned_in_many_partitions_are_the_same() {
    let blocks = tempfile::tempdir().expect("tmp");
    let cfg = SimConfig { seed: 6, blocks: 40, entities: 12, txs_per_block: 12, ..SimConfig::default() };
    generate(blocks.path(), &cfg).expect("generate");
    let src = chain::BlockSource::open(blocks.path(), Network::Regtest).expect("open");
    let small = tempfile::tempdir().expect("tmp");
    // 4 KiB for the map: about a hundred addresses per partition.
    let (r, s) = chain::index_stream::build_streaming_within(small.path(), &src, Network::Regtest, 4096).expect("build");
    assert!(s.plan.partitions > 10, "{} partitions", s.plan.partitions);
    assert_eq!(s.plan.addresses, s.addresses as u64);
    assert!(s.plan.paying > s.plan.addresses, "addresses are paid more than once: {:?}", s.plan);
    assert_eq!(r.error, None);
    cluster_stored(small.path(), true).expect("cluster");
    let (_streamed, memory, _, _) = both_ways(blocks.path(), Network::Regtest);
    assert_same_files(small.path(), memory.path());
    // Nothing of the plan is left in the case.
    let left: Vec<_> = std::fs::read_dir(small.path().join("chain")).expect("dir").filter_map(|e| e.ok()).map(|e| e.file_name()).filter(|n| n.to_string_lossy().starts_with(".address-plan")).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn streamed_index_equals_in_memory_on_real_bytes() {
    for (rel, network) in [("testnet3-0-400/raw", Network::Testnet), ("regtest-small/blocks", Network::Regtest)] {
        let Some(blocks) = common::data(rel) else { continue };
        let (streamed, memory, report, _) = both_ways(&blocks, network);
        assert!(report.blocks > 100, "{rel}: {}", report.blocks);
        assert_same_files(streamed.path(), memory.path());
    }
}

/// The offset of the data of the `k`-th record of a plain (unobfuscated) blk file.
fn record_data(bytes: &[u8], k: usize) -> usize {
    let mut pos = 0;
    for _ in 0..k {
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
        pos += 8 + size;
    }
    pos + 8
}

#[test]
fn a_damaged_block_stops_both_builds_at_the_same_height() {
    // Two damages to a block that pays addresses (past the sim's coinbase-only setup): its
    // transaction count made one that cannot be decoded, and the last byte of its last transaction
    // (a locktime): it decodes, but the txid changes and the merkle root no longer matches.
    // The streaming build's plan stops before that block, so its numbering of the block's
    // addresses fails too: the merkle error must still be the one told.
    for (what, damage) in [("cannot decode block", 0), ("merkle root", 1)] {
        let blocks = tempfile::tempdir().expect("tmp");
        let cfg = SimConfig { seed: 9, blocks: 40, entities: 12, txs_per_block: 12, xor_key: [0; 8], ..SimConfig::default() };
        generate(blocks.path(), &cfg).expect("generate");
        let src = chain::BlockSource::open(blocks.path(), Network::Regtest).expect("open");
        let k = src.len() - 5;
        assert!(src.read_parsed(k).expect("block").outputs.iter().filter(|o| o.kind.is_some()).count() > 1, "block {k} pays addresses");
        let blk = blocks.path().join("blk00000.dat");
        assert_eq!(std::fs::read_dir(blocks.path()).expect("dir").flatten().filter(|e| e.file_name().to_string_lossy().starts_with("blk")).count(), 1, "one blk file");
        let mut bytes = std::fs::read(&blk).expect("read");
        let data = record_data(&bytes, k);
        let size = u32::from_le_bytes([bytes[data - 4], bytes[data - 3], bytes[data - 2], bytes[data - 1]]) as usize;
        if damage == 0 {
            // The transaction count made an 8-byte CompactSize: far more than the bytes hold.
            bytes[data + 80] = 0xff;
        } else {
            bytes[data + size - 1] ^= 0xff;
        }
        std::fs::write(&blk, &bytes).expect("write");
        let (streamed, memory, report, _) = both_ways(blocks.path(), Network::Regtest);
        assert_eq!(report.blocks, k, "{what}: the blocks before the damaged one are kept");
        let err = report.error.expect("the import says where it stopped");
        assert!(err.contains("blk00000.dat") && err.contains(what), "{what}: {err}");
        // What the stop cost is said, and the decoder's names are not (F13).
        assert!(err.ends_with("; it and the 4 later blocks of the chain were not imported (each builds on the blocks before it)"), "{what}: {err}");
        assert!(!err.contains("MoreBytesNeeded"), "{what}: {err}");
        assert_same_files(streamed.path(), memory.path());
    }
}

#[test]
fn a_case_with_a_chain_is_refused_and_an_empty_source_leaves_no_chain() {
    let blocks = tempfile::tempdir().expect("tmp");
    generate(blocks.path(), &SimConfig { seed: 2, blocks: 5, entities: 4, txs_per_block: 4, ..SimConfig::default() }).expect("generate");
    let case = tempfile::tempdir().expect("tmp");
    import(case.path(), blocks.path(), Network::Regtest).expect("import");
    let err = import_streaming(case.path(), blocks.path(), Network::Regtest).expect_err("a chain is there");
    assert!(err.to_string().contains("holds a chain already"), "{err}");

    // The first block damaged: nothing to keep, and the case stays without a chain.
    let blk = blocks.path().join("blk00000.dat");
    let mut bytes = std::fs::read(&blk).expect("read");
    let key = std::fs::read(blocks.path().join("xor.dat")).expect("xor key");
    let at = record_data(&bytes.iter().enumerate().map(|(i, b)| b ^ key[i % 8]).collect::<Vec<u8>>(), 0) + 80 + 1 + 60;
    bytes[at] ^= 0xff;
    std::fs::write(&blk, &bytes).expect("write");
    let empty = tempfile::tempdir().expect("tmp");
    let (report, _) = import_streaming(empty.path(), blocks.path(), Network::Regtest).expect("runs");
    assert_eq!(report.blocks, 0);
    assert!(report.error.is_some());
    assert!(load(empty.path()).expect("load").is_none(), "no chain in the case");
    assert!(!empty.path().join("chain/txs/part-00000.parquet").exists());
}

#[test]
fn a_streamed_case_takes_new_blocks_through_the_in_memory_import() {
    // The same sim chain twice, the second 12 blocks longer (the generator is
    // deterministic from its seed, block after block).
    let (short, long) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    let cfg = SimConfig { seed: 4, blocks: 24, entities: 10, txs_per_block: 10, ..SimConfig::default() };
    generate(short.path(), &cfg).expect("generate");
    generate(long.path(), &SimConfig { blocks: 36, ..cfg.clone() }).expect("generate");
    let (a, b) = (chain::BlockSource::open(short.path(), Network::Regtest).expect("open"), chain::BlockSource::open(long.path(), Network::Regtest).expect("open"));
    assert!(b.len() > a.len());
    assert!(a.chain().iter().zip(b.chain()).all(|(x, y)| x.hash == y.hash), "the longer chain extends the shorter");

    // Streamed first, then the new blocks appended by the in-memory import (which loads
    // the streamed parts): the index equals one imported in memory at once.
    let appended = tempfile::tempdir().expect("tmp");
    import_streaming(appended.path(), short.path(), Network::Regtest).expect("streaming import");
    let r = import(appended.path(), long.path(), Network::Regtest).expect("append");
    assert_eq!((r.new_blocks, r.blocks, r.error), (b.len() - a.len(), b.len(), None));
    let at_once = tempfile::tempdir().expect("tmp");
    import(at_once.path(), long.path(), Network::Regtest).expect("import");
    let (x, y) = (load(appended.path()).expect("load").expect("a chain"), load(at_once.path()).expect("load").expect("a chain"));
    assert_eq!((x.blocks, x.txs, x.outputs, x.inputs), (y.blocks, y.txs, y.outputs, y.inputs));
    assert_eq!(x.addrs.len(), y.addrs.len());
    assert!((0..x.addrs.len() as u32).all(|i| x.addrs.get(i) == y.addrs.get(i)), "the same addresses under the same ids");
    assert_eq!(x.addrs.first_out, y.addrs.first_out);
}
