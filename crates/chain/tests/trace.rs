//! Tags and tracing on regtest-small, checked against an independent re-implementation of
//! the three policies written here over the raw blocks and the truth file (not over the
//! index or the clustering).

mod common;

use std::collections::{BTreeMap, HashMap};

use bitcoin::Network;
use chain::eval::Truth;
use chain::tags::{add_tags, cluster_tags, read_tags, Tag};
use chain::trace::{trace, Direction, FlowGraph, Policy, TraceConfig};
use chain::BlockSource;

/// One transaction as the reference sees it: inputs as outpoints, outputs as (value, address).
struct RTx {
    txid: String,
    inputs: Vec<(String, u32)>,
    outputs: Vec<(u64, Option<String>)>,
}

struct Fixture {
    case: tempfile::TempDir,
    txs: Vec<RTx>,
    truth: Truth,
    raw_truth: serde_json::Value,
}

fn fixture() -> Option<Fixture> {
    let blocks = common::data("regtest-small/blocks")?;
    let truth_path = common::data("regtest-small/truth.json")?;
    let src = BlockSource::open(&blocks, Network::Regtest).expect("open");
    let mut txs = Vec::new();
    for i in 0..src.len() {
        for tx in src.read_block(i).expect("block").txdata {
            let outputs = tx
                .output
                .iter()
                .map(|o| (o.value.to_sat(), bitcoin::Address::from_script(&o.script_pubkey, Network::Regtest).ok().map(|a| a.to_string())))
                .collect();
            let inputs = if tx.is_coinbase() { Vec::new() } else { tx.input.iter().map(|i| (i.previous_output.txid.to_string(), i.previous_output.vout)).collect() };
            txs.push(RTx { txid: tx.compute_txid().to_string(), inputs, outputs });
        }
    }
    let case = tempfile::tempdir().expect("tmp");
    chain::store::import(case.path(), &blocks, Network::Regtest).expect("import");
    let raw_truth = serde_json::from_str(&std::fs::read_to_string(&truth_path).expect("truth")).expect("json");
    Some(Fixture { case, txs, truth: Truth::read(&truth_path).expect("truth"), raw_truth })
}

/// Reference share computation, written as a two-pointer walk over satoshi ranges.
fn shares(policy: Policy, src: &[(u64, u64)], dst: &[u64], in_total: u64) -> Vec<u64> {
    let traced_total: u64 = src.iter().map(|s| s.1).sum();
    if traced_total == 0 {
        return vec![0; dst.len()];
    }
    match policy {
        Policy::Poison => dst.to_vec(),
        Policy::Haircut => dst.iter().map(|v| ((*v as u128 * traced_total as u128) / in_total as u128) as u64).collect(),
        Policy::Fifo => {
            // Expand the source into (length, traced?) pieces and consume them output by output.
            let mut pieces: Vec<(u64, bool)> = Vec::new();
            for (v, t) in src {
                pieces.push((*t, true));
                pieces.push((v - t, false));
            }
            let mut out = Vec::new();
            let mut k = 0;
            for v in dst {
                let mut need = *v;
                let mut got = 0;
                while need > 0 && k < pieces.len() {
                    let take = need.min(pieces[k].0);
                    if pieces[k].1 {
                        got += take;
                    }
                    pieces[k].0 -= take;
                    need -= take;
                    if pieces[k].0 == 0 {
                        k += 1;
                    }
                }
                out.push(got);
            }
            out
        }
    }
}

/// Forward reference trace from all outputs of `start_txid`, stopping at addresses owned by
/// `sink_entity`. Returns (txid, vout) -> traced for every traced output.
fn reference_forward(f: &Fixture, start_txid: &str, sink_entity: u32, hops: u32, policy: Policy) -> BTreeMap<(String, u32), u64> {
    let sink = |a: &Option<String>| a.as_ref().and_then(|a| f.truth.addresses.get(a)) == Some(&sink_entity);
    let value: HashMap<(String, u32), u64> = f.txs.iter().flat_map(|t| t.outputs.iter().enumerate().map(|(v, o)| ((t.txid.clone(), v as u32), o.0))).collect();
    // (txid, vout) -> (traced, hop, followed)
    let mut state: HashMap<(String, u32), (u64, u32, bool)> = HashMap::new();
    let start = f.txs.iter().position(|t| t.txid == start_txid).expect("start tx");
    for (v, o) in f.txs[start].outputs.iter().enumerate() {
        if o.0 > 0 {
            state.insert((start_txid.to_string(), v as u32), (o.0, 0, 0 < hops && !sink(&o.1)));
        }
    }
    for t in &f.txs[start + 1..] {
        let src: Vec<(u64, u64, Option<u32>)> = t
            .inputs
            .iter()
            .map(|op| {
                let v = value[op];
                match state.get(op) {
                    Some((tr, h, true)) => (v, *tr, Some(*h)),
                    _ => (v, 0, None),
                }
            })
            .collect();
        let Some(min_hop) = src.iter().filter_map(|s| s.2).min() else { continue };
        let hop = min_hop + 1;
        let in_total = src.iter().map(|s| s.0).sum();
        let pairs: Vec<(u64, u64)> = src.iter().map(|s| (s.0, s.1)).collect();
        let dst: Vec<u64> = t.outputs.iter().map(|o| o.0).collect();
        for (v, share) in shares(policy, &pairs, &dst, in_total).into_iter().enumerate() {
            if share > 0 {
                state.insert((t.txid.clone(), v as u32), (share, hop, hop < hops && !sink(&t.outputs[v].1)));
            }
        }
    }
    state.into_iter().map(|(k, v)| (k, v.0)).collect()
}

fn tag_entity(f: &Fixture, entity: u32) {
    let tags: Vec<Tag> = f
        .truth
        .addresses
        .iter()
        .filter(|(_, e)| **e == entity)
        .map(|(a, _)| Tag { address: a.clone(), label: format!("entity {entity}"), source: "truth.json".into(), category: Some("exchange".into()), evidence: None })
        .collect();
    add_tags(f.case.path(), &tags).expect("tags");
}

fn run(f: &Fixture, start: &str, cfg: &TraceConfig) -> FlowGraph {
    let idx = chain::store::load(f.case.path()).expect("load").expect("chain");
    let cl = chain::store::clustering(f.case.path(), &idx).expect("clusters");
    let tags = cluster_tags(&idx, &cl, &read_tags(f.case.path()).expect("tags"));
    trace(&idx, &cl, &tags, start, cfg).expect("trace")
}

#[test]
fn forward_trace_matches_reference_for_every_policy_and_stops_at_tags() {
    let Some(f) = fixture() else { return };
    let hops = 4;
    // Find a funding transaction whose coins reach another entity within `hops` (poison),
    // scanning funding txs in truth order and sink entities in order.
    let mut chosen = None;
    'outer: for (txid, t) in f.raw_truth["txs"].as_object().expect("txs") {
        if t["kind"] != "funding" {
            continue;
        }
        let owner = t["owner"].as_u64().expect("owner") as u32;
        for x in (0..8).filter(|x| *x != owner) {
            let r = reference_forward(&f, txid, x, hops, Policy::Poison);
            let reached = r.keys().any(|(tx, v)| {
                let rt = f.txs.iter().find(|t| &t.txid == tx).expect("tx");
                rt.outputs[*v as usize].1.as_ref().and_then(|a| f.truth.addresses.get(a)) == Some(&x)
            });
            if reached {
                chosen = Some((txid.clone(), x));
                break 'outer;
            }
        }
    }
    let (start, x) = chosen.expect("some funding tx reaches another entity in 4 hops");
    tag_entity(&f, x);
    let owner_of = |a: &str| f.truth.addresses.get(a).copied();
    for policy in [Policy::Poison, Policy::Haircut, Policy::Fifo] {
        let g = run(&f, &start, &TraceConfig { direction: Direction::Forward, hops, min_value: 0, policy, max_edges: 1_000_000 });
        let expected = reference_forward(&f, &start, x, hops, policy);
        let got: BTreeMap<(String, u32), u64> = g.edges.iter().map(|e| ((e.txid.clone(), e.vout), e.traced)).collect();
        assert_eq!(got.len(), g.edges.len(), "{policy:?}: one edge per output");
        assert_eq!(got, expected, "{policy:?}");
        // Reached tagged clusters hold exactly the sink entity's addresses, with the sum of
        // what reached them.
        let sink_total: u64 = g.edges.iter().filter(|e| owner_of(&e.address) == Some(x)).map(|e| e.traced).sum();
        let reached_total: u64 = g.reached_tags.iter().map(|r| r.traced).sum();
        eprintln!("{policy:?}: {} edges, {} nodes, {sink_total} sat reached entity {x}", g.edges.len(), g.nodes.len());
        assert!(sink_total > 0, "{policy:?}: nothing reached entity {x}");
        assert_eq!(reached_total, sink_total, "{policy:?}");
        assert!(g.reached_tags.iter().all(|r| r.labels == vec![format!("entity {x}")]));
        for n in g.nodes.iter().filter(|n| n.role == "tagged") {
            assert!(n.addresses.iter().all(|a| owner_of(a) == Some(x)), "{n:?}");
        }
        assert!(g.edges.iter().all(|e| e.hop <= hops && e.height > 0 && e.time > 0));
        check_formats(&g);
    }
}

#[test]
fn backward_one_hop_reaches_the_payers_inputs() {
    let Some(f) = fixture() else { return };
    let (txid, p) = f.raw_truth["txs"].as_object().expect("txs").iter().find(|(_, t)| t["kind"] == "payment").expect("a payment");
    let sender = p["sender"].as_u64().expect("sender") as u32;
    let change = p["change_vout"].as_u64().expect("change") as usize;
    let rt = f.txs.iter().find(|t| &t.txid == txid).expect("tx");
    let (paid, addr) = rt.outputs[1 - change].clone();
    let addr = addr.expect("address");
    let inputs: BTreeMap<String, u64> = rt
        .inputs
        .iter()
        .map(|op| {
            let prev = f.txs.iter().find(|t| t.txid == op.0).expect("prev");
            (prev.outputs[op.1 as usize].1.clone().expect("p2wpkh"), prev.outputs[op.1 as usize].0)
        })
        .collect();
    for policy in [Policy::Poison, Policy::Haircut] {
        let g = run(&f, &addr, &TraceConfig { direction: Direction::Backward, hops: 1, min_value: 0, policy, max_edges: 1000 });
        let hop0: Vec<_> = g.edges.iter().filter(|e| e.hop == 0).collect();
        assert_eq!(hop0.len(), 1, "the address receives once");
        assert_eq!((hop0[0].txid.as_str(), hop0[0].traced), (txid.as_str(), paid));
        let hop1: BTreeMap<String, u64> = g.edges.iter().filter(|e| e.hop == 1).map(|e| (e.address.clone(), e.traced)).collect();
        assert_eq!(hop1.keys().collect::<Vec<_>>(), inputs.keys().collect::<Vec<_>>(), "{policy:?}");
        assert!(hop1.keys().all(|a| f.truth.addresses.get(a) == Some(&sender)));
        let total: u64 = hop1.values().sum();
        match policy {
            Policy::Poison => assert_eq!(total, inputs.values().sum::<u64>()),
            // Each input's share is rounded down: at most one sat lost per input.
            _ => assert!(total <= paid && total + inputs.len() as u64 >= paid, "{total} vs {paid}"),
        }
    }
}

#[test]
fn a_tag_on_one_address_labels_its_whole_cluster() {
    let Some(f) = fixture() else { return };
    let idx = chain::store::load(f.case.path()).expect("load").expect("chain");
    let cl = chain::store::clustering(f.case.path(), &idx).expect("clusters");
    let u = *cl.unions.last().expect("a union");
    let a = idx.address_string(u.a).expect("addr");
    let evidence = "0".repeat(64);
    add_tags(f.case.path(), &[Tag { address: a, label: "vendor X".into(), source: "market:page".into(), category: Some("vendor".into()), evidence: Some(evidence.clone()) }]).expect("add");
    let ct = cluster_tags(&idx, &cl, &read_tags(f.case.path()).expect("read"));
    let c = cl.cluster_of(u.b).expect("cluster");
    assert_eq!(ct.keys().copied().collect::<Vec<_>>(), vec![c]);
    assert_eq!(ct[&c][0].evidence.as_deref(), Some(evidence.as_str()));
}

/// GraphML parses as XML with one element per node and edge, edges pointing at nodes; DOT
/// has balanced braces, one `->` line per edge, and even unescaped quotes on every line.
fn check_formats(g: &FlowGraph) {
    let xml = g.to_graphml();
    let doc = roxmltree::Document::parse(&xml).expect("GraphML is well-formed XML");
    let nodes: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("node")).filter_map(|n| n.attribute("id")).collect();
    let edges: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("edge")).collect();
    assert_eq!(nodes.len(), g.nodes.len());
    assert_eq!(edges.len(), g.edges.len());
    for e in &edges {
        assert!(nodes.contains(&e.attribute("source").unwrap_or("")) && nodes.contains(&e.attribute("target").unwrap_or("")));
        let traced = e.children().find(|c| c.attribute("key") == Some("traced")).and_then(|c| c.text()).expect("traced");
        assert!(traced.parse::<u64>().is_ok());
    }
    let dot = g.to_dot();
    assert!(dot.starts_with("digraph trace {\n") && dot.ends_with("}\n"));
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    assert_eq!(dot.lines().filter(|l| l.contains("\" -> \"")).count(), g.edges.len());
    for l in dot.lines() {
        let unescaped = l.as_bytes().iter().enumerate().filter(|(i, b)| **b == b'"' && (*i == 0 || l.as_bytes()[i - 1] != b'\\')).count();
        assert_eq!(unescaped % 2, 0, "{l}");
    }
}

/// Forward, every edge leaves the start or a node the trace reached before:
/// the cluster holding the traced coins, not the transaction's first input's
/// (in a CoinJoin, someone else's). Edges through a CoinJoin say so. From
/// `bcrt1qwq3m…` (owner 1) the hop-1 edges left owner 0's cluster, which no
/// traced coin had reached, and the start had no edge out.
#[test]
fn forward_edges_leave_the_clusters_holding_the_traced_coins() {
    let Some(f) = fixture() else { return };
    let starts: Vec<&String> = f.truth.addresses.keys().step_by(7).take(8).collect();
    let mut through_coinjoins = 0;
    for start in starts {
        let g = run(&f, start, &TraceConfig { direction: Direction::Forward, hops: 3, min_value: 0, policy: Policy::Poison, max_edges: 1_000_000 });
        let start_nodes: Vec<&str> = g.nodes.iter().filter(|n| n.role == "start").map(|n| n.id.as_str()).collect();
        let mut reached: std::collections::BTreeSet<&str> = start_nodes.iter().copied().collect();
        let mut edges: Vec<_> = g.edges.iter().collect();
        edges.sort_by_key(|e| e.hop);
        for e in &edges {
            assert!(reached.contains(e.from.as_str()), "{start}: edge {}:{} at hop {} leaves {}, which no traced coin reached", e.txid, e.vout, e.hop, e.from);
            reached.insert(e.to.as_str());
        }
        if !g.edges.is_empty() {
            assert!(g.edges.iter().any(|e| start_nodes.contains(&e.from.as_str())), "{start}: the start has no edge out");
        }
        through_coinjoins += g.edges.iter().filter(|e| e.heuristic.starts_with("coinjoin:")).count();
    }
    assert!(through_coinjoins > 0, "no trace went through a CoinJoin: the test checks less than it says");
}

/// A trace labels at most one output of a transaction change, and the
/// labels agree with the truth: `optimal_change` (16 of 220 right here)
/// labelled 204 payments' receiving outputs "change", and both outputs of
/// 165 payments (found by a review).
#[test]
fn change_labels_name_one_output_and_agree_with_the_truth() {
    let Some(f) = fixture() else { return };
    let (mut labelled, mut right) = (0usize, 0usize);
    for (txid, t) in f.raw_truth["txs"].as_object().expect("txs").iter().filter(|(_, t)| t["kind"] == "payment") {
        let g = run(&f, txid, &TraceConfig { direction: Direction::Forward, hops: 0, min_value: 0, policy: Policy::Poison, max_edges: 1_000_000 });
        let change: Vec<u32> = g.edges.iter().filter(|e| &e.txid == txid && e.heuristic.starts_with("change:")).map(|e| e.vout).collect();
        assert!(change.len() <= 1, "{txid}: {change:?} all labelled change");
        assert!(!g.edges.iter().any(|e| e.heuristic == "change:optimal_change"), "{txid}");
        if let Some(&v) = change.first() {
            labelled += 1;
            right += usize::from(t["change_vout"].as_u64() == Some(u64::from(v)));
        }
    }
    eprintln!("{right} of {labelled} change labels right");
    assert!(labelled >= 500, "{labelled} payments labelled");
    assert!(right as f64 / labelled as f64 >= 0.98, "{right} of {labelled} change labels right");
}

/// `max_edges` is a limit: a trace holds at most that many edges, and says
/// it stopped (a trace limited to 1 edge drew 6; found by a review).
#[test]
fn max_edges_bounds_the_graph() {
    let Some(f) = fixture() else { return };
    let (txid, _) = f.raw_truth["txs"].as_object().expect("txs").iter().find(|(_, t)| t["kind"] == "payment").expect("a payment");
    let open = run(&f, txid, &TraceConfig { direction: Direction::Forward, hops: 3, min_value: 0, policy: Policy::Poison, max_edges: 1_000_000 });
    assert!(open.edges.len() > 3, "{} edges", open.edges.len());
    for limit in [1, 3, open.edges.len() - 1] {
        let g = run(&f, txid, &TraceConfig { direction: Direction::Forward, hops: 3, min_value: 0, policy: Policy::Poison, max_edges: limit });
        assert!(g.edges.len() <= limit && g.truncated, "limit {limit}: {} edges, truncated {}", g.edges.len(), g.truncated);
    }
}
