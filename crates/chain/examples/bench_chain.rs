//! bench/chain: the chain crate's throughput and memory. Two subcommands:
//!
//! * `bench_chain sim OUT_DIR TXS [SEED]`: writes a sim chain of about TXS transactions
//!   (placeholder signatures: same bytes per tx as real P2WPKH, generated fast; no truth;
//!   zero XOR key so blocks_iterator can read it too).
//! * `bench_chain measure BLOCKS_DIR NETWORK [CASE]`: parse + index, then multi-input
//!   clustering (CoinJoin filter on, no change heuristics); prints one JSON line with times,
//!   MB/s, tx/s, peak RSS (VmHWM), bytes per transaction and per address, and a
//!   full-mainnet memory projection. With CASE, then stores the index there as Parquet
//!   (timed apart) for `cluster-stored`.
//! * `bench_chain measure-stream BLOCKS_DIR NETWORK CASE`: the streaming build
//!   (`index_stream::build_streaming`: rows written to CASE as Parquet while blocks are read)
//!   then the streaming cluster engine over it, in one process: times, peak RSS, the
//!   unspent-output and address tables' bytes per entry, and a full-mainnet projection.
//! * `bench_chain core-index BLOCKS_DIR NETWORK`: writes Bitcoin Core's LevelDB block index
//!   into BLOCKS_DIR/index for its chain, so peers that find blocks only through that index
//!   (rusty-blockparser) can read a sim chain.
//! * `bench_chain cluster-stored CASE`: the streaming cluster engine over CASE's Parquet
//!   index, in a process of its own so its peak RSS is the engine's alone; prints one JSON
//!   line with the time, peak RSS, bytes per address and the full-mainnet projection.

use std::path::Path;
use std::time::Instant;

use chain::cluster::{cluster, ClusterConfig};
use chain::{BlockSource, ChainIndex};
use support::vm_hwm_bytes;

mod support;

// The allocator of the dragnet binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MAINNET_TXS: f64 = 1.1e9;
const MAINNET_ADDRS: f64 = 1.5e9;
/// Unspent outputs at the mainnet tip (~1.8e8 through 2024-2025): what the streaming build
/// holds at the end of the full chain, rounded up.
const MAINNET_UNSPENT: f64 = 1.9e8;
/// Outputs in the whole chain (~3e9 by 2025), rounded up.
const MAINNET_OUTPUTS: f64 = 3.2e9;

fn die(msg: String) -> ! {
    eprintln!("{msg}");
    std::process::exit(1)
}

fn sim(out: &Path, txs: u64, seed: u64) {
    let per_block = 4_000u32;
    let cfg = chain::sim::SimConfig {
        seed,
        blocks: (txs / u64::from(per_block)).max(1) as u32,
        entities: 2_000,
        txs_per_block: per_block,
        xor_key: [0; 8],
        sign: false,
        truth: false,
        ..Default::default()
    };
    let t = Instant::now();
    let r = chain::sim::generate(out, &cfg).unwrap_or_else(|e| die(e.to_string()));
    println!("{}", serde_json::json!({"sim": r, "seconds": t.elapsed().as_secs_f64()}));
}

fn measure(dir: &Path, net: &str, case: Option<&Path>) {
    let network = chain::parse_network(net).unwrap_or_else(|e| die(e.to_string()));
    let bytes: u64 = std::fs::read_dir(dir)
        .unwrap_or_else(|e| die(format!("{}: {e}", dir.display())))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("blk") && n.ends_with(".dat")))
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .sum();
    let t0 = Instant::now();
    let src = BlockSource::open(dir, network).unwrap_or_else(|e| die(e.to_string()));
    let mut idx = ChainIndex::new(network);
    idx.append_from(&src, 0).unwrap_or_else(|e| die(e.to_string()));
    let t_index = t0.elapsed().as_secs_f64();
    let hwm_index = vm_hwm_bytes();
    let t1 = Instant::now();
    let cl = cluster(&idx, &ClusterConfig { coinjoin_filter: true, change: Vec::new(), merge_change: Vec::new() });
    let t_cluster = t1.elapsed().as_secs_f64();
    let hwm = vm_hwm_bytes();
    let process = support::process_json();
    let (txs, addrs) = (idx.txs.len() as f64, idx.addrs.len() as f64);
    // Split the index's own heap into what grows with transactions (rows, inputs, outputs,
    // txid map) and with addresses (address table, union-find, cluster ids), for the
    // projection; the process peak (allocator slack, block buffers) is reported beside it.
    // The union-find's parent array becomes the cluster ids: 4 bytes an address.
    let addr_heap = idx.addrs.heap_bytes() as f64 + addrs * 4.0;
    let tx_heap = idx.heap_bytes() as f64 - idx.addrs.heap_bytes() as f64;
    let per_tx = tx_heap / txs;
    let per_addr = addr_heap / addrs;
    let projected = per_tx * MAINNET_TXS + per_addr * MAINNET_ADDRS;
    let scale = hwm as f64 / (tx_heap + addr_heap);
    let total = t_index + t_cluster;
    let t_write = case.map(|c| {
        let t = Instant::now();
        chain::store::write_index(c, &idx).unwrap_or_else(|e| die(e.to_string()));
        t.elapsed().as_secs_f64()
    });
    println!(
        "{}",
        serde_json::json!({
            "tool": "dragnet-chain",
            "blocks": idx.blocks.len(), "transactions": idx.txs.len(), "inputs": idx.inputs.len(),
            "outputs": idx.outputs.len(), "addresses": idx.addrs.len(), "clusters": cl.num_clusters(),
            "coinjoins_skipped": cl.coinjoins.len(), "bytes": bytes,
            "seconds_parse_index": t_index, "seconds_cluster": t_cluster, "seconds": total,
            "unions": cl.unions.len(), "seconds_write_parquet": t_write,
            "mb_per_s": bytes as f64 / 1e6 / total, "tx_per_s": txs / total,
            "vm_hwm_bytes": hwm, "vm_hwm_after_index_bytes": hwm_index,
            "heap_bytes_per_tx": per_tx, "heap_bytes_per_address": per_addr,
            "rss_bytes_per_tx": hwm as f64 / txs, "rss_bytes_per_address": hwm as f64 / addrs,
            "mainnet_projection_heap_gib": projected / (1u64 << 30) as f64,
            "mainnet_projection_rss_gib": projected * scale / (1u64 << 30) as f64,
            "process_after_cluster": process,
        })
    );
}

fn measure_stream(dir: &Path, net: &str, case: &Path) {
    let network = chain::parse_network(net).unwrap_or_else(|e| die(e.to_string()));
    let t0 = Instant::now();
    let src = BlockSource::open(dir, network).unwrap_or_else(|e| die(e.to_string()));
    let (r, s) = chain::index_stream::build_streaming(case, &src, network).unwrap_or_else(|e| die(e.to_string()));
    if let Some(e) = &r.error {
        die(format!("the build stopped: {e}"));
    }
    let t_build = t0.elapsed().as_secs_f64();
    let hwm_build = vm_hwm_bytes();
    let t1 = Instant::now();
    let sum = chain::cluster_stream::cluster_stored(case, true).unwrap_or_else(|e| die(e.to_string()));
    let t_cluster = t1.elapsed().as_secs_f64();
    let hwm = vm_hwm_bytes();
    let process = support::process_json();
    // Two phases, one after the other. Planning the address ids: its map, bounded by
    // `addr_plan::PLAN_MEMORY` (more scans of the spill file past it). The build: the
    // unspent-output table (it grows with the unspent outputs at the tip, not with the
    // transactions), the plan's bitset and rank index (per output) and the rest of the
    // peak (row batches waiting for the writer, block buffers, the program: constant).
    let unspent_b = s.unspent_table_bytes as f64;
    let per_unspent = unspent_b / (s.unspent_peak.max(1) as f64);
    let per_output_plan = s.address_plan_bytes as f64 / (s.outputs.max(1) as f64);
    let rest = (hwm_build as f64 - unspent_b - s.address_plan_bytes as f64).max(0.0);
    // The planning map at mainnet: sized by the plan itself for the paying outputs (this
    // chain's share of outputs paying an address, times mainnet's outputs).
    let paying_share = s.plan.paying as f64 / (s.plan.outputs.max(1) as f64);
    let (partitions, map_bytes) = chain::addr_plan::plan_shape((MAINNET_OUTPUTS * paying_share) as u64, chain::addr_plan::PLAN_MEMORY)
        .unwrap_or_else(|| die("the plan does not fit its memory at mainnet scale".into()));
    let planning = map_bytes as f64 + rest;
    let building = per_unspent * MAINNET_UNSPENT + per_output_plan * MAINNET_OUTPUTS + rest;
    let projected = planning.max(building);
    let later_share = (s.plan.paying - s.plan.addresses) as f64 / (s.plan.outputs.max(1) as f64);
    let spill_disk = MAINNET_OUTPUTS * 16.0 + later_share * MAINNET_OUTPUTS * 8.0;
    let total = t_build + t_cluster;
    println!(
        "{}",
        serde_json::json!({
            "tool": "dragnet-chain-streaming",
            "blocks": r.blocks, "transactions": r.transactions, "inputs": s.inputs, "outputs": s.outputs,
            "addresses": s.addresses, "clusters": sum.clusters, "unions": sum.unions, "coinjoins_skipped": sum.coinjoins,
            "seconds_build_and_write": t_build, "seconds_cluster": t_cluster, "seconds": total,
            "tx_per_s": r.transactions as f64 / total,
            "vm_hwm_bytes": hwm, "vm_hwm_after_build_bytes": hwm_build,
            "unspent_at_end": s.unspent, "unspent_peak": s.unspent_peak, "replaced_unspent": s.replaced_unspent,
            "unspent_table_bytes": s.unspent_table_bytes, "address_plan_bytes": s.address_plan_bytes, "plan": s.plan,
            "bytes_per_unspent": per_unspent, "plan_bytes_per_output": per_output_plan,
            "rest_of_peak_bytes": rest,
            "mainnet_projection_gib": projected / (1u64 << 30) as f64,
            "mainnet_projection_planning_gib": planning / (1u64 << 30) as f64,
            "mainnet_projection_building_gib": building / (1u64 << 30) as f64,
            "process_after_cluster": process,
            "mainnet_plan_partitions": partitions, "mainnet_plan_map_gib": map_bytes as f64 / (1u64 << 30) as f64, "mainnet_plan_disk_gb": spill_disk / 1e9,
        })
    );
}

fn cluster_stored(case: &Path) {
    let t = Instant::now();
    let sum = chain::cluster_stream::cluster_stored(case, true).unwrap_or_else(|e| die(e.to_string()));
    let seconds = t.elapsed().as_secs_f64();
    let hwm = vm_hwm_bytes() as f64;
    let addrs = sum.addresses as f64;
    // What grows with the chain is the union-find (one u32 per address); the rest of the
    // peak (one row group of each table being read, writer buffers, the program) does not.
    // Two projections: that growth added to the measured peak, and, bounding it from
    // above, the whole peak charged per address.
    let grown = hwm + (MAINNET_ADDRS - addrs).max(0.0) * 4.0;
    let per_addr = hwm / addrs;
    println!(
        "{}",
        serde_json::json!({
            "tool": "dragnet-cluster-stored", "summary": sum, "seconds": seconds, "vm_hwm_bytes": hwm,
            "rss_bytes_per_address": per_addr,
            "mainnet_projection_gib": grown / (1u64 << 30) as f64,
            "mainnet_projection_whole_peak_per_address_gib": per_addr * MAINNET_ADDRS / (1u64 << 30) as f64,
        })
    );
}

fn main() {
    // As the dragnet binary does (crates/cli/src/main.rs).
    chain::pages::prefer_small_pages();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("sim") => {
            let out = args.get(2).unwrap_or_else(|| die("sim OUT_DIR TXS [SEED]".into()));
            let txs = args.get(3).and_then(|s| s.parse().ok()).unwrap_or_else(|| die("TXS: a number".into()));
            let seed = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
            sim(Path::new(out), txs, seed);
        }
        Some("measure") => {
            let dir = args.get(2).unwrap_or_else(|| die("measure BLOCKS_DIR NETWORK [CASE]".into()));
            measure(Path::new(dir), args.get(3).map(String::as_str).unwrap_or("regtest"), args.get(4).map(Path::new));
        }
        Some("measure-stream") => {
            let (Some(dir), Some(net), Some(case)) = (args.get(2), args.get(3), args.get(4)) else { die("measure-stream BLOCKS_DIR NETWORK CASE".into()) };
            measure_stream(Path::new(dir), net, Path::new(case));
        }
        Some("core-index") => {
            let (Some(dir), Some(net)) = (args.get(2), args.get(3)) else { die("core-index BLOCKS_DIR NETWORK".into()) };
            let network = chain::parse_network(net).unwrap_or_else(|e| die(e.to_string()));
            let src = BlockSource::open(Path::new(dir), network).unwrap_or_else(|e| die(e.to_string()));
            let n = src.write_core_index(&Path::new(dir).join("index")).unwrap_or_else(|e| die(e.to_string()));
            println!("{}", serde_json::json!({"core_index_records": n}));
        }
        Some("cluster-stored") => cluster_stored(Path::new(args.get(2).unwrap_or_else(|| die("cluster-stored CASE".into())))),
        _ => die("usage: bench_chain sim OUT_DIR TXS [SEED] | bench_chain measure BLOCKS_DIR NETWORK [CASE] | bench_chain measure-stream BLOCKS_DIR NETWORK CASE | bench_chain core-index BLOCKS_DIR NETWORK | bench_chain cluster-stored CASE".into()),
    }
}
