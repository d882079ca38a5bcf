//! The streaming cluster engine (`cluster_stream::cluster_stored`, reading the stored
//! Parquet parts without loading the index) against the in-memory `cluster` with no change
//! heuristics: the same clusters, unions (transaction, addresses, order) and CoinJoins,
//! with the filter on and off, across parts of two imports; and damaged parts give an
//! error naming the file.

mod common;

use bitcoin::Network;
use chain::cluster::{cluster, ClusterConfig};
use chain::cluster_stream::cluster_stored;
use chain::sim::{generate, SimConfig};
use chain::store::{import, load, load_clustering};

fn multi_input(coinjoin_filter: bool) -> ClusterConfig {
    ClusterConfig { coinjoin_filter, change: Vec::new(), merge_change: Vec::new() }
}

/// Streams the case's clustering and checks it against the in-memory engine.
fn assert_streams_like_memory(case: &std::path::Path, coinjoin_filter: bool) -> chain::cluster_stream::StreamSummary {
    let idx = load(case).expect("load").expect("some");
    let sum = cluster_stored(case, coinjoin_filter).expect("stream");
    let streamed = load_clustering(case, &idx).expect("read back").expect("stored for this chain");
    let memory = cluster(&idx, &multi_input(coinjoin_filter));
    assert_eq!(streamed, memory, "coinjoin_filter {coinjoin_filter}");
    assert_eq!(sum.clusters, memory.num_clusters());
    assert_eq!(sum.unions, memory.unions.len() as u64);
    assert_eq!(sum.coinjoins, memory.coinjoins.len() as u64);
    assert_eq!(sum.addresses, idx.addrs.len());
    assert_eq!(sum.inputs, idx.inputs.len() as u64);
    sum
}

#[test]
fn streamed_clusters_equal_in_memory_across_two_parts() {
    let blocks = tempfile::tempdir().expect("tmp");
    // Small blk files, so the first import can take only the first of them.
    let cfg = SimConfig { seed: 11, blocks: 60, entities: 16, txs_per_block: 16, max_file_bytes: 64 << 10, ..SimConfig::default() };
    generate(blocks.path(), &cfg).expect("generate");
    let first = tempfile::tempdir().expect("tmp");
    for f in ["blk00000.dat", "xor.dat"] {
        std::fs::copy(blocks.path().join(f), first.path().join(f)).expect("copy");
    }
    let case = tempfile::tempdir().expect("tmp");
    let r1 = import(case.path(), first.path(), Network::Regtest).expect("import 1");
    let r2 = import(case.path(), blocks.path(), Network::Regtest).expect("import 2");
    assert!(r1.blocks > 1 && r2.new_blocks > 1, "two parts: {} then {} blocks", r1.blocks, r2.new_blocks);
    assert!(case.path().join("chain/inputs/part-00001.parquet").exists());

    let filtered = assert_streams_like_memory(case.path(), true);
    assert!(filtered.coinjoins > 0, "the sim chain has CoinJoins");
    assert!(filtered.unions > 100, "co-spends join addresses: {}", filtered.unions);
    assert!(filtered.clusters < filtered.addresses);
    let unfiltered = assert_streams_like_memory(case.path(), false);
    // CoinJoins skipped with the filter are joined without it.
    assert!(unfiltered.unions > filtered.unions);
    assert!(unfiltered.clusters < filtered.clusters);
}

#[test]
fn streamed_clusters_equal_in_memory_on_regtest_small() {
    let Some(blocks) = common::data("regtest-small/blocks") else { return };
    let case = tempfile::tempdir().expect("tmp");
    import(case.path(), &blocks, Network::Regtest).expect("import");
    let sum = assert_streams_like_memory(case.path(), true);
    assert_eq!(sum.addresses, 2467);
}

#[test]
fn damaged_parts_are_named() {
    let blocks = tempfile::tempdir().expect("tmp");
    generate(blocks.path(), &SimConfig { seed: 3, blocks: 20, entities: 8, txs_per_block: 8, ..SimConfig::default() }).expect("generate");
    let case = tempfile::tempdir().expect("tmp");
    import(case.path(), blocks.path(), Network::Regtest).expect("import");
    let outputs = case.path().join("chain/outputs/part-00000.parquet");
    std::fs::write(&outputs, b"PAR1 not parquet").expect("damage");
    let err = cluster_stored(case.path(), true).expect_err("damaged outputs");
    assert!(err.to_string().contains("outputs/part-00000.parquet"), "{err}");
    std::fs::remove_file(&outputs).expect("remove");
    let err = cluster_stored(case.path(), true).expect_err("missing outputs");
    assert!(err.to_string().contains("outputs/part-00000.parquet"), "{err}");
    // An empty case has nothing to cluster.
    let empty = tempfile::tempdir().expect("tmp");
    let err = cluster_stored(empty.path(), true).expect_err("no chain");
    assert!(err.to_string().contains("no chain imported"), "{err}");
}
