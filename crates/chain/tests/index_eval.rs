//! Import into a case (Parquet), reload, incremental append, and evaluation on
//! regtest-small ground truth.

mod common;

use bitcoin::Network;
use chain::cluster::{cluster, ClusterConfig};
use chain::eval::{evaluate, Truth};
use chain::index::AddrKind;
use chain::store::{import, load};

#[test]
fn testnet_import_counts_outputs_and_scripts() {
    let Some(core) = common::data("testnet3-0-400/core-datadir") else { return };
    let case = tempfile::tempdir().expect("tmp");
    let r = import(case.path(), &core, Network::Testnet).expect("import");
    assert_eq!((r.blocks, r.transactions, r.error.clone()), (401, 444, None));
    let idx = load(case.path()).expect("load").expect("some");
    assert_eq!(idx.outputs.len(), 485);
    let kinds = |k: AddrKind| (0..idx.addrs.len() as u32).filter(|a| idx.addrs.get(*a).map(|g| g.0) == Some(k)).count();
    // 466 distinct scriptPubKeys, all P2PK, P2PKH or P2SH.
    assert_eq!(kinds(AddrKind::P2pk) + kinds(AddrKind::P2pkh) + kinds(AddrKind::P2sh), 466);
    assert_eq!(idx.addrs.len(), 466);
    assert!(idx.address_string(0).is_some_and(|s| s.starts_with("p2pk:")));
    // Fees: inputs minus outputs for every tx; coinbase pays 50 BTC at these heights.
    let total_fee: u64 = idx.txs.iter().map(|t| t.fee).sum();
    let cb_value: u64 = idx.txs.iter().filter(|t| t.n_in == 0).map(|t| t.outputs().map(|o| idx.outputs[o as usize].value).sum::<u64>()).sum();
    assert_eq!(cb_value, 401 * 50 * 100_000_000 + total_fee);
}

#[test]
fn regtest_import_is_incremental_and_reloads_identically() {
    let Some(blocks) = common::data("regtest-small/blocks") else { return };
    // First import only blocks 0-100 (truncate a copy of the blk file, no index),
    // then the whole directory: the second import appends only the new blocks.
    let bytes = std::fs::read(blocks.join("blk00000.dat")).expect("read");
    let mut pos = 0usize;
    for _ in 0..101 {
        let size = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
        pos += 8 + size;
    }
    let part = tempfile::tempdir().expect("tmp");
    std::fs::write(part.path().join("blk00000.dat"), &bytes[..pos]).expect("write");
    let case = tempfile::tempdir().expect("tmp");
    let r1 = import(case.path(), part.path(), Network::Regtest).expect("import 1");
    assert_eq!(r1.blocks, 101);
    let r2 = import(case.path(), &blocks, Network::Regtest).expect("import 2");
    assert_eq!((r2.new_blocks, r2.blocks, r2.transactions), (172, 273, 1193));
    assert_eq!(r2.best_hash.as_deref(), Some("585f161dea0c23c04245d0d73157addc7137cd4f83f96671f7f341a528d10668"));
    assert!(case.path().join("chain/txs/part-00001.parquet").exists());
    let r3 = import(case.path(), &blocks, Network::Regtest).expect("import 3");
    assert_eq!(r3.new_blocks, 0);
    assert!(!case.path().join("chain/txs/part-00002.parquet").exists());

    // A fresh one-shot import gives the same index as the two-step one.
    let case2 = tempfile::tempdir().expect("tmp");
    import(case2.path(), &blocks, Network::Regtest).expect("one shot");
    let a = load(case.path()).expect("load").expect("some");
    let b = load(case2.path()).expect("load").expect("some");
    assert_eq!(a.txs, b.txs);
    assert_eq!(a.outputs, b.outputs);
    assert_eq!(a.inputs, b.inputs);
    assert_eq!(a.addrs.len(), b.addrs.len());
    // 2,466 truth addresses (all P2WPKH) plus the regtest genesis coinbase's P2PK;
    // the other coinbases pay OP_TRUE, which has no address.
    assert_eq!(a.addrs.len(), 2467);
    assert_eq!(a.addrs.get(0).map(|g| g.0), Some(AddrKind::P2pk));

    // The clustering stored by the second import is that of the whole chain, not of the
    // first 101 blocks: it was recomputed after the append.
    let stored = chain::store::load_clustering(case.path(), &a).expect("load clusters").expect("stored");
    assert_eq!(stored, cluster(&a, &ClusterConfig::default()));
    assert_eq!(stored.num_clusters(), 1892);
}

#[test]
fn stored_clustering_round_trips_and_is_refused_when_stale() {
    let Some(blocks) = common::data("regtest-small/blocks") else { return };
    let case = tempfile::tempdir().expect("tmp");
    import(case.path(), &blocks, Network::Regtest).expect("import");
    for f in ["clusters.parquet", "cluster_links.parquet", "coinjoins.parquet", "clusters.json"] {
        assert!(case.path().join("chain").join(f).exists(), "{f}");
    }
    let idx = load(case.path()).expect("load").expect("some");
    let fresh = cluster(&idx, &ClusterConfig::default());
    let stored = chain::store::load_clustering(case.path(), &idx).expect("load clusters").expect("stored");
    assert_eq!(stored, fresh);
    assert_eq!(stored.coinjoins.len(), 101);
    assert_eq!(stored.unions.len(), idx.addrs.len() - stored.num_clusters());
    // Every union row carries its txid and heuristic (what explain prints).
    assert!(stored.unions.iter().all(|l| l.kind == chain::cluster::LinkKind::MultiInput));
    assert!(!stored.behavioural.is_empty());

    // A clustering stored for another chain tip is not used; `clustering` recomputes it
    // and stores it again.
    let meta = case.path().join("chain/clusters.json");
    let text = std::fs::read_to_string(&meta).expect("meta");
    let tip = idx.best_hash().expect("tip");
    std::fs::write(&meta, text.replace(&tip, &"00".repeat(32))).expect("write");
    assert!(chain::store::load_clustering(case.path(), &idx).expect("load").is_none());
    assert_eq!(chain::store::clustering(case.path(), &idx).expect("recluster"), fresh);
    assert!(chain::store::load_clustering(case.path(), &idx).expect("load").is_some());

    // A damaged clusters file is an error naming it, not a silent wrong clustering.
    std::fs::write(case.path().join("chain/clusters.parquet"), b"not parquet").expect("write");
    let err = chain::store::load_clustering(case.path(), &idx).expect_err("damaged");
    assert!(err.to_string().contains("clusters.parquet"), "{err}");
}

fn regtest_index() -> Option<(chain::ChainIndex, Truth)> {
    let blocks = common::data("regtest-small/blocks")?;
    let truth = Truth::read(&common::data("regtest-small/truth.json")?).expect("truth");
    let case = tempfile::tempdir().expect("tmp");
    import(case.path(), &blocks, Network::Regtest).expect("import");
    Some((load(case.path()).expect("load").expect("some"), truth))
}

#[test]
fn regtest_clustering_precision_is_exact_with_coinjoin_filter() {
    let Some((idx, truth)) = regtest_index() else { return };
    let on = evaluate(&idx, &truth, &ClusterConfig::default());
    eprintln!("{}", serde_json::to_string_pretty(&on).unwrap_or_default());
    assert_eq!(on.pair_precision, Some(1.0));
    assert_eq!(on.addresses, 2466);
    assert_eq!(on.coinjoin_truth, 101);
    assert_eq!(on.coinjoin_true_positive, 101);
    assert_eq!(on.coinjoin_detected, 101);
    let off = evaluate(&idx, &truth, &ClusterConfig { coinjoin_filter: false, ..ClusterConfig::default() });
    eprintln!("{}", serde_json::to_string_pretty(&off).unwrap_or_default());
    assert!(off.pair_precision < on.pair_precision, "{:?} vs {:?}", off.pair_precision, on.pair_precision);
    // Measured values (the data is fixed, so exact): multi-input alone links few pairs,
    // because every address receives exactly once and payments spend 1-3 UTXOs.
    assert_eq!((on.clusters, on.all_clusters), (1891, 1892));
    assert_eq!(on.pair_recall, Some(0.0019945354471369065));
    assert_eq!(off.pair_precision, Some(0.5545787545787546));
    // Change heuristics on the 799 payments.
    let score = |r: &chain::eval::EvalReport, h: &str| r.change.get(h).map(|s| (s.named, s.correct, s.payments));
    assert_eq!(score(&on, "round_payment"), Some((529, 529, 799)));
    assert_eq!(score(&on, "locktime_version"), Some((283, 277, 799)));
    assert_eq!(score(&on, "optimal_change"), Some((220, 16, 799)));
    // All addresses are fresh and of one type, and never reused: these name nothing here.
    for h in ["fresh_address", "address_type", "address_reuse"] {
        assert_eq!(score(&on, h), Some((0, 0, 799)), "{h}");
    }
}

#[test]
fn explain_pair_follows_recorded_unions() {
    let Some((idx, _)) = regtest_index() else { return };
    let cl = cluster(&idx, &ClusterConfig::default());
    let u = *cl.unions.last().expect("some unions");
    let path = cl.explain_pair(u.a, u.b).expect("same cluster");
    assert!(!path.is_empty());
    assert!(path.iter().all(|l| cl.unions.contains(l)));
    assert!(cl.unions.len() == idx.addrs.len() - cl.num_clusters(), "spanning forest");
}

/// `explain TXID` (the report cites txids, and `explain` did not know them): the
/// block, each input's spent output, each output, the fee, tags, and what
/// clustering made of it, checked against the index and the regtest truth.
#[test]
fn explain_of_a_txid_shows_its_block_coins_fee_tags_and_clustering() {
    let Some((idx, truth)) = regtest_index() else { return };
    let cl = cluster(&idx, &ClusterConfig::default());
    let tx_of = |txid: &str| {
        let t: bitcoin::Txid = txid.parse().expect("txid");
        idx.tx_id(&bitcoin::hashes::Hash::to_byte_array(t)).expect("in the index")
    };
    // A payment whose change the truth names, with a tag on its first input's address.
    let (txid, facts) = truth.txs.iter().find(|(_, t)| t.kind == "payment" && t.change_vout.is_some()).expect("a payment");
    let t = tx_of(txid);
    let row = &idx.txs[t as usize];
    let spent = idx.inputs[row.first_in as usize];
    let payer = idx.address_string(idx.outputs[spent as usize].addr).expect("address");
    let tags = [chain::tags::Tag { address: payer.clone(), label: "Vendor X".into(), source: "test".into(), category: Some("vendor".into()), evidence: None }];
    let text = chain::cluster::explain_with_tags(&idx, &cl, &tags, txid).expect("a txid of the chain");
    let block = &idx.blocks[idx.block_of_tx(t).expect("block")];
    assert!(text.contains(&format!("at height {}", block.height)), "{text}");
    assert!(text.contains(&format!("{payer} (cluster:{}) [tag \"Vendor X\" (source test, vendor)]", cl.cluster_of(idx.outputs[spent as usize].addr).unwrap())), "{text}");
    let sats = |v: u64| format!("{}.{:08} BTC", v / 100_000_000, v % 100_000_000);
    for (n, o) in row.outputs().enumerate() {
        let out = &idx.outputs[o as usize];
        assert!(text.contains(&format!("  {n}: {} to {}", sats(out.value), idx.address_string(out.addr).unwrap())), "{text}");
    }
    assert!(text.contains(&format!("fee {}", sats(row.fee))), "{text}");
    let change = idx.address_string(idx.outputs[(row.first_out + facts.change_vout.unwrap()) as usize].addr).unwrap();
    assert!(cl.behavioural.iter().filter(|l| l.tx == t).all(|l| text.contains(&idx.address_string(l.b).unwrap())), "{text}");
    assert!(text.contains(&change), "{text}");
    // A CoinJoin says why its inputs stayed apart; a txid of no transaction here is None.
    let (cj, _) = truth.txs.iter().find(|(id, f)| f.kind == "coinjoin" && cl.coinjoins.iter().any(|(c, _)| *c == tx_of(id))).expect("a filtered CoinJoin");
    let text = chain::cluster::explain(&idx, &cl, cj).expect("a txid of the chain");
    assert!(text.contains("clustering: inputs not joined: a CoinJoin shape"), "{text}");
    assert_eq!(chain::cluster::explain(&idx, &cl, &"ab".repeat(32)), None);
}

#[test]
fn explain_names_tx_and_heuristic_and_rejects_foreign_ids() {
    let Some((idx, _)) = regtest_index() else { return };
    let cl = cluster(&idx, &ClusterConfig::default());
    let u = *cl.unions.last().expect("some unions");
    let c = cl.cluster_of(u.b).expect("cluster");
    // A member that is not the cluster's first address, so there is a path to explain.
    let m = if u.b != c { u.b } else { u.a };
    let addr = idx.address_string(m).expect("address");
    let text = chain::cluster::explain(&idx, &cl, &addr).expect("known address");
    let path = cl.explain_pair(c, m).expect("same cluster");
    assert!(!path.is_empty());
    for l in &path {
        let txid = idx.txs[l.tx as usize].txid_hex();
        assert!(text.contains("multi_input") && text.contains(&txid), "{text}");
    }
    let ctext = chain::cluster::explain(&idx, &cl, &format!("cluster:{c}")).expect("cluster id");
    assert!(ctext.contains(&addr), "{ctext}");
    assert_eq!(chain::cluster::explain(&idx, &cl, "vendor:42"), None);
    assert_eq!(chain::cluster::explain(&idx, &cl, "cluster:999999"), None);
}
