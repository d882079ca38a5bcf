//! Tracing value through the transaction graph, from an address, a transaction or a
//! cluster, forward (where did the coins go) or backward (where did they come from), up to
//! a number of hops, stopping at tagged clusters.
//!
//! The unit of tracing is the output. A forward step takes one transaction that spends
//! traced outputs and assigns a traced amount to each of its outputs by the policy:
//! * **poison**: every output of a transaction that spends any traced coin is wholly traced;
//! * **haircut**: each output carries the traced share of the inputs,
//!   `value_out * traced_in / value_in` (rounded down; the fee takes its share);
//! * **fifo**: inputs and outputs are laid end to end in transaction order, the traced part
//!   of each input at the start of that input's span, and an output carries the traced
//!   satoshis its span overlaps.
//!
//! A backward step is the mirror image: the traced outputs of one transaction assign a
//! traced amount to the outputs its inputs spend (poison: the whole input; haircut:
//! `value_in * traced_out / value_in_total`; fifo: the overlap of spans).
//!
//! Transactions are visited in chain order (forward) or reverse chain order (backward). Ids
//! are assigned in chain order, so when a transaction is visited every traced input it has
//! is already known: the amounts are exact, not the result of a visit order.
//!
//! Hops: the start's outputs are hop 0; a transaction is hop `1 + min(hop of its traced
//! inputs)`; its outputs carry that hop. An output is followed further only when its hop is
//! below `hops`, its traced amount is at least `min_value`, and its address is not in a
//! tagged cluster (other than the start's): a tagged cluster is where the trace stops.
//!
//! Every edge of the flow graph is one traced output, from the cluster that held the
//! traced coins (forward: the traced input of most value; backward and at the start: the
//! transaction's first input's cluster) to the cluster of its address, with the reason the
//! hop is drawn the way it is: `spend` (value moved to another cluster), `co-spend
//! cluster` (the receiving address is in the sender's multi-input cluster),
//! `change:<heuristic>` (a change heuristic says the output is the sender's change),
//! `coinjoin:<shape>` (the transaction looks like a CoinJoin: which coins went where is
//! not known, only the policy's split), or `coinbase`.

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::hashes::Hash;
use serde::Serialize;

use crate::cluster::{change_output, ChangeHeuristic, Clustering};
use crate::error::ChainError;
use crate::index::{parse_address, ChainIndex, NONE};
use crate::tags::Tag;

/// Which way to follow value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// To the outputs that spend the start's coins.
    Forward,
    /// To the outputs that funded the start.
    Backward,
}

impl Direction {
    /// Parses `forward` / `backward`.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "forward" => Some(Direction::Forward),
            "backward" => Some(Direction::Backward),
            _ => None,
        }
    }
}

/// How traced value is shared among a transaction's outputs (or inputs, backward).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Any traced input taints every output wholly.
    Poison,
    /// Proportional to value.
    Haircut,
    /// First in, first out by position in the transaction.
    Fifo,
}

impl Policy {
    /// Parses `poison` / `haircut` / `fifo`.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "poison" => Some(Policy::Poison),
            "haircut" => Some(Policy::Haircut),
            "fifo" => Some(Policy::Fifo),
            _ => None,
        }
    }
}

/// Trace options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceConfig {
    /// Forward or backward.
    pub direction: Direction,
    /// Maximum number of transactions from the start.
    pub hops: u32,
    /// Traced amounts below this (satoshis) are neither drawn nor followed.
    pub min_value: u64,
    /// Sharing policy.
    pub policy: Policy,
    /// Stop (and mark the graph truncated) after this many edges.
    pub max_edges: usize,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig { direction: Direction::Forward, hops: 3, min_value: 0, policy: Policy::Poison, max_edges: 100_000 }
    }
}

/// What a trace starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Every output paying this address id.
    Address(u32),
    /// Every output of this transaction id.
    Tx(u32),
    /// Every output paying a member of this cluster.
    Cluster(u32),
}

/// Reads `ADDRESS`, a 64-hex txid, or `cluster:N`.
pub fn parse_start(idx: &ChainIndex, cl: &Clustering, s: &str) -> Result<Start, ChainError> {
    if let Some(n) = s.strip_prefix("cluster:") {
        let c: u32 = n.parse().map_err(|_| ChainError::Trace(format!("{s:?}: cluster number expected")))?;
        if cl.cluster_of(c) != Some(c) {
            return Err(ChainError::Trace(format!("{s}: no such cluster")));
        }
        return Ok(Start::Cluster(c));
    }
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        let txid: bitcoin::Txid = s.parse().map_err(|_| ChainError::Trace(format!("{s}: bad txid")))?;
        return idx.tx_id(&txid.to_byte_array()).map(Start::Tx).ok_or_else(|| ChainError::Trace(format!("transaction {s} is not in the case's chain")));
    }
    let (k, d) = parse_address(s, idx.network).ok_or_else(|| ChainError::Trace(format!("{s:?} is neither an address of {}, a txid, nor cluster:N", idx.network)))?;
    idx.addrs.lookup(k, &d).map(Start::Address).ok_or_else(|| ChainError::Trace(format!("address {s} never appears in the case's chain")))
}

/// A node: a cluster (or `coinbase` / `nonstandard` for value without an address).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// `cluster:N`, `coinbase` or `nonstandard`.
    pub id: String,
    /// `start`, `tagged`, `cluster`, `coinbase` or `nonstandard`.
    pub role: String,
    /// Number of addresses in the cluster.
    pub size: usize,
    /// The cluster's addresses that appear on edges (sorted).
    pub addresses: Vec<String>,
    /// Tags of the whole cluster.
    pub tags: Vec<Tag>,
    /// Traced satoshis on edges into the node.
    pub traced_in: u64,
}

/// An edge: one traced output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Node that spent the inputs of the transaction.
    pub from: String,
    /// Node of the output's address.
    pub to: String,
    /// The transaction that created the output.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Output address (empty when it has none).
    pub address: String,
    /// Output value, satoshis.
    pub value: u64,
    /// Traced satoshis (by the policy).
    pub traced: u64,
    /// Block height.
    pub height: u32,
    /// Block time (unix seconds).
    pub time: u32,
    /// Hops from the start (0: an output of the start transaction / received by the start).
    pub hop: u32,
    /// `spend`, `co-spend cluster`, `change:<heuristic>`, `coinjoin:<shape>` or `coinbase`.
    pub heuristic: String,
}

/// A tagged cluster the trace reached (where it stopped).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reached {
    /// `cluster:N`.
    pub node: String,
    /// Labels of its tags.
    pub labels: Vec<String>,
    /// Traced satoshis that reached it.
    pub traced: u64,
}

/// The result of a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowGraph {
    /// The start as given.
    pub start: String,
    /// Direction.
    pub direction: Direction,
    /// Policy.
    pub policy: Policy,
    /// Hop limit.
    pub hops: u32,
    /// Minimum traced value.
    pub min_value: u64,
    /// Nodes, sorted by id.
    pub nodes: Vec<Node>,
    /// Edges in visit order.
    pub edges: Vec<Edge>,
    /// Tagged clusters reached, sorted by node.
    pub reached_tags: Vec<Reached>,
    /// True when `max_edges` stopped the trace early.
    pub truncated: bool,
}

/// Shares traced value between `to` slots. `from_values`/`from_traced` are the source slots
/// (inputs forward, outputs backward); `denominator` is the transaction's input total.
pub fn distribute(policy: Policy, from_values: &[u64], from_traced: &[u64], to_values: &[u64], denominator: u64) -> Vec<u64> {
    let total: u64 = from_traced.iter().sum();
    match policy {
        _ if total == 0 => vec![0; to_values.len()],
        Policy::Poison => to_values.to_vec(),
        Policy::Haircut => to_values
            .iter()
            .map(|v| if denominator == 0 { 0 } else { (u128::from(*v) * u128::from(total) / u128::from(denominator)).min(u128::from(*v)) as u64 })
            .collect(),
        Policy::Fifo => {
            // Traced spans [start, start + traced) of the source slots, laid end to end.
            let mut spans = Vec::new();
            let mut pos: u64 = 0;
            for (v, t) in from_values.iter().zip(from_traced) {
                if *t > 0 {
                    spans.push((pos, pos.saturating_add((*t).min(*v))));
                }
                pos = pos.saturating_add(*v);
            }
            let mut out = Vec::with_capacity(to_values.len());
            let mut p: u64 = 0;
            for v in to_values {
                let (a, b) = (p, p.saturating_add(*v));
                out.push(spans.iter().map(|(s, e)| (*e).min(b).saturating_sub((*s).max(a))).sum());
                p = b;
            }
            out
        }
    }
}

struct Ctx<'a> {
    idx: &'a ChainIndex,
    cl: &'a Clustering,
    tags: &'a BTreeMap<u32, Vec<Tag>>,
    start_clusters: BTreeSet<u32>,
}

impl Ctx<'_> {
    fn cluster_of_output(&self, o: u32) -> Option<u32> {
        let a = self.idx.outputs.get(o as usize)?.addr;
        if a == NONE {
            return None;
        }
        self.cl.cluster_of(a)
    }
    fn is_sink(&self, o: u32) -> bool {
        self.cluster_of_output(o).is_some_and(|c| self.tags.contains_key(&c) && !self.start_clusters.contains(&c))
    }
    fn node_of_output(&self, o: u32) -> String {
        self.cluster_of_output(o).map(|c| format!("cluster:{c}")).unwrap_or_else(|| "nonstandard".into())
    }
    fn sender_node(&self, t: u32) -> String {
        let Some(tx) = self.idx.txs.get(t as usize) else { return "nonstandard".into() };
        if tx.n_in == 0 {
            return "coinbase".into();
        }
        self.idx.input_addrs(tx).next().and_then(|a| self.cl.cluster_of(a)).map(|c| format!("cluster:{c}")).unwrap_or_else(|| "nonstandard".into())
    }
    /// The edge to output `o` of `traced` value; `from` is the node the
    /// traced coins came from when known (a forward trace's traced input),
    /// else the transaction's first input's cluster.
    fn edge(&self, o: u32, traced: u64, hop: u32, from: Option<String>) -> Option<Edge> {
        let t = self.idx.tx_of_output(o)?;
        let tx = self.idx.txs.get(t as usize)?;
        let out = self.idx.outputs.get(o as usize)?;
        let vout = o - tx.first_out;
        let from = from.unwrap_or_else(|| self.sender_node(t));
        let to = self.node_of_output(o);
        let heuristic = if tx.n_in == 0 {
            "coinbase".to_string()
        } else if let Some(shape) = crate::cluster::coinjoin_shape(self.idx, tx) {
            // Whose coins went where is not known through a CoinJoin: the
            // policy's split is all the edge says.
            format!("coinjoin:{shape}")
        } else if from == to && to != "nonstandard" {
            "co-spend cluster".to_string()
        } else if let Some(h) = change_label(self.idx, t).filter(|&(_, v)| v == vout).map(|(h, _)| h) {
            format!("change:{}", h.name())
        } else {
            "spend".to_string()
        };
        let block = self.idx.block_of_tx(t).and_then(|b| self.idx.blocks.get(b));
        Some(Edge {
            from,
            to,
            txid: tx.txid_hex(),
            vout,
            address: if out.addr == NONE { String::new() } else { self.idx.address_string(out.addr).unwrap_or_default() },
            value: out.value,
            traced,
            height: block.map_or(0, |b| b.height),
            time: block.map_or(0, |b| b.time),
            hop,
            heuristic,
        })
    }
}

/// The change heuristics that name a transaction's change in a trace, most
/// precise first, as measured on the regtest chain with ground truth
/// (docs/methods.md: `round_payment` 529 of 529 correct, `locktime_version`
/// 277 of 283; the three address heuristics name nothing there).
/// `optimal_change` is not among them: 16 of the 220 outputs it names are
/// change, so its label would call payments the sender's own coins. Taken
/// in the fixed order of [`ChangeHeuristic::ALL`], it came second and
/// labelled 204 real payments "change", and both outputs of 165 payments
/// were "change" (found by a review).
const CHANGE_LABEL_ORDER: [ChangeHeuristic; 5] = [
    ChangeHeuristic::RoundPayment,
    ChangeHeuristic::LocktimeVersion,
    ChangeHeuristic::AddressReuse,
    ChangeHeuristic::AddressType,
    ChangeHeuristic::FreshAddress,
];

/// The one output of transaction `t` a trace labels change, and the
/// heuristic that names it: the first in [`CHANGE_LABEL_ORDER`] that names
/// any. A transaction has at most one change output.
fn change_label(idx: &ChainIndex, t: u32) -> Option<(ChangeHeuristic, u32)> {
    CHANGE_LABEL_ORDER.into_iter().find_map(|h| change_output(idx, t, h).map(|v| (h, v)))
}

/// Traces from `start` (see [`parse_start`]) with the cluster tags `tags`
/// (from [`crate::tags::cluster_tags`]).
pub fn trace(idx: &ChainIndex, cl: &Clustering, tags: &BTreeMap<u32, Vec<Tag>>, start: &str, cfg: &TraceConfig) -> Result<FlowGraph, ChainError> {
    let st = parse_start(idx, cl, start)?;
    let mut start_clusters = BTreeSet::new();
    let start_outs: Vec<u32> = match st {
        Start::Tx(t) => idx.txs.get(t as usize).map(|tx| tx.outputs().collect()).unwrap_or_default(),
        Start::Address(a) => {
            start_clusters.extend(cl.cluster_of(a));
            (0..idx.outputs.len() as u32).filter(|o| idx.outputs[*o as usize].addr == a).collect()
        }
        Start::Cluster(c) => {
            start_clusters.insert(c);
            (0..idx.outputs.len() as u32).filter(|o| idx.outputs[*o as usize].addr != NONE && cl.cluster_of(idx.outputs[*o as usize].addr) == Some(c)).collect()
        }
    };
    let ctx = Ctx { idx, cl, tags, start_clusters };
    let min = cfg.min_value.max(1);
    // Output id -> (traced, hop, followed further).
    let mut traced: BTreeMap<u32, (u64, u32, bool)> = BTreeMap::new();
    let mut queue: BTreeSet<u32> = BTreeSet::new();
    let mut edges = Vec::new();
    let mut truncated = false;
    let follows = |o: u32, v: u64, hop: u32| hop < cfg.hops && v >= cfg.min_value && !ctx.is_sink(o);
    let enqueue = |queue: &mut BTreeSet<u32>, o: u32| {
        let t = match cfg.direction {
            Direction::Forward => idx.spent_by(o),
            Direction::Backward => idx.tx_of_output(o).unwrap_or(NONE),
        };
        if t != NONE {
            queue.insert(t);
        }
    };
    for &o in &start_outs {
        let v = idx.outputs.get(o as usize).map(|r| r.value).unwrap_or(0);
        if v < min {
            continue;
        }
        let f = follows(o, v, 0);
        traced.insert(o, (v, 0, f));
        // Forward from an address or cluster, the coins it received are the start, not a
        // hop; a start transaction's outputs and (backward) received coins are drawn.
        if matches!(st, Start::Tx(_)) || cfg.direction == Direction::Backward {
            // `max_edges` holds at the start too (a start's outputs were
            // drawn whatever the limit; found by a review).
            if edges.len() >= cfg.max_edges {
                truncated = true;
                break;
            }
            edges.extend(ctx.edge(o, v, 0, None));
        }
        if f {
            enqueue(&mut queue, o);
        }
    }
    loop {
        let next = match cfg.direction {
            Direction::Forward => queue.pop_first(),
            Direction::Backward => queue.pop_last(),
        };
        let Some(t) = next else { break };
        if edges.len() >= cfg.max_edges {
            truncated = true;
            break;
        }
        let Some(tx) = idx.txs.get(t as usize) else { continue };
        if tx.n_in == 0 {
            continue; // backward: a coinbase has no inputs to go to
        }
        // A transaction is drawn whole or not at all: one whose edges
        // would pass `max_edges` stops the trace before it (the limit was
        // checked only between transactions, and a trace limited to 1 edge
        // drew 6).
        let width = match cfg.direction {
            Direction::Forward => tx.outputs().count(),
            Direction::Backward => tx.inputs().count(),
        };
        if edges.len() + width > cfg.max_edges {
            truncated = true;
            break;
        }
        let prevouts: Vec<u32> = tx.inputs().filter_map(|i| idx.inputs.get(i as usize).copied()).collect();
        let in_values: Vec<u64> = prevouts.iter().map(|o| idx.outputs.get(*o as usize).map(|r| r.value).unwrap_or(0)).collect();
        let outs: Vec<u32> = tx.outputs().collect();
        let out_values: Vec<u64> = outs.iter().map(|o| idx.outputs.get(*o as usize).map(|r| r.value).unwrap_or(0)).collect();
        let in_total: u64 = in_values.iter().sum();
        let (src, src_values, dst, dst_values) = match cfg.direction {
            Direction::Forward => (&prevouts, &in_values, &outs, &out_values),
            Direction::Backward => (&outs, &out_values, &prevouts, &in_values),
        };
        let mut hop = u32::MAX;
        let src_traced: Vec<u64> = src
            .iter()
            .map(|o| match traced.get(o) {
                Some((v, h, true)) => {
                    hop = hop.min(*h);
                    *v
                }
                _ => 0,
            })
            .collect();
        if hop == u32::MAX {
            continue;
        }
        let hop = hop + 1;
        // Forward, the coins came from the traced inputs: the edge leaves the
        // cluster holding most of them (the first input's cluster may be
        // someone else's, in a CoinJoin above all).
        let from = match cfg.direction {
            Direction::Forward => src_traced
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > 0)
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
                .map(|(i, _)| ctx.node_of_output(src[i])),
            Direction::Backward => None,
        };
        let shares = distribute(cfg.policy, src_values, &src_traced, dst_values, in_total);
        for (o, share) in dst.iter().zip(shares) {
            if share < min || traced.contains_key(o) {
                continue;
            }
            let f = follows(*o, share, hop);
            traced.insert(*o, (share, hop, f));
            edges.extend(ctx.edge(*o, share, hop, from.clone()));
            if f {
                enqueue(&mut queue, *o);
            }
        }
    }
    Ok(build_graph(&ctx, start, cfg, edges, truncated))
}

fn build_graph(ctx: &Ctx<'_>, start: &str, cfg: &TraceConfig, edges: Vec<Edge>, truncated: bool) -> FlowGraph {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    fn node<'m>(nodes: &'m mut BTreeMap<String, Node>, id: &str) -> &'m mut Node {
        nodes.entry(id.to_string()).or_insert_with(|| Node { id: id.to_string(), role: String::new(), size: 0, addresses: Vec::new(), tags: Vec::new(), traced_in: 0 })
    }
    for c in &ctx.start_clusters {
        node(&mut nodes, &format!("cluster:{c}"));
    }
    for e in &edges {
        node(&mut nodes, &e.from);
        let n = node(&mut nodes, &e.to);
        n.traced_in = n.traced_in.saturating_add(e.traced);
        if !e.address.is_empty() {
            n.addresses.push(e.address.clone());
        }
    }
    let wanted: BTreeSet<u32> = nodes.keys().filter_map(|k| k.strip_prefix("cluster:")?.parse().ok()).collect();
    let mut sizes: BTreeMap<u32, usize> = BTreeMap::new();
    for r in ctx.cl.reps() {
        if wanted.contains(r) {
            *sizes.entry(*r).or_default() += 1;
        }
    }
    let mut reached = Vec::new();
    for n in nodes.values_mut() {
        n.addresses.sort();
        n.addresses.dedup();
        let Some(c) = n.id.strip_prefix("cluster:").and_then(|c| c.parse::<u32>().ok()) else {
            n.role = n.id.clone();
            continue;
        };
        n.size = sizes.get(&c).copied().unwrap_or(0);
        n.tags = ctx.tags.get(&c).cloned().unwrap_or_default();
        n.role = if ctx.start_clusters.contains(&c) {
            "start"
        } else if !n.tags.is_empty() {
            reached.push(Reached { node: n.id.clone(), labels: n.tags.iter().map(|t| t.label.clone()).collect::<BTreeSet<_>>().into_iter().collect(), traced: n.traced_in });
            "tagged"
        } else {
            "cluster"
        }
        .to_string();
    }
    FlowGraph {
        start: start.to_string(),
        direction: cfg.direction,
        policy: cfg.policy,
        hops: cfg.hops,
        min_value: cfg.min_value,
        nodes: nodes.into_values().collect(),
        edges,
        reached_tags: reached,
        truncated,
    }
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped rather than break the file.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn tag_text(tags: &[Tag]) -> String {
    tags.iter().map(|t| format!("{} ({})", t.label, t.source)).collect::<Vec<_>>().join("; ")
}

impl FlowGraph {
    /// GraphML (yEd, Gephi, Cytoscape, networkx all read it).
    pub fn to_graphml(&self) -> String {
        use std::fmt::Write;
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n");
        for (id, for_, ty) in [
            ("role", "node", "string"),
            ("size", "node", "int"),
            ("addresses", "node", "string"),
            ("tags", "node", "string"),
            ("traced_in", "node", "long"),
            ("txid", "edge", "string"),
            ("vout", "edge", "int"),
            ("address", "edge", "string"),
            ("value", "edge", "long"),
            ("traced", "edge", "long"),
            ("height", "edge", "int"),
            ("time", "edge", "long"),
            ("hop", "edge", "int"),
            ("heuristic", "edge", "string"),
        ] {
            let _ = writeln!(s, "  <key id=\"{id}\" for=\"{for_}\" attr.name=\"{id}\" attr.type=\"{ty}\"/>");
        }
        let _ = writeln!(
            s,
            "  <graph id=\"trace\" edgedefault=\"directed\">\n    <desc>{}</desc>",
            xml_escape(&format!("{:?} trace from {} ({:?}, {} hops)", self.direction, self.start, self.policy, self.hops))
        );
        for n in &self.nodes {
            let _ = writeln!(s, "    <node id=\"{}\">", xml_escape(&n.id));
            for (k, v) in [
                ("role", n.role.clone()),
                ("size", n.size.to_string()),
                ("addresses", n.addresses.join(" ")),
                ("tags", tag_text(&n.tags)),
                ("traced_in", n.traced_in.to_string()),
            ] {
                let _ = writeln!(s, "      <data key=\"{k}\">{}</data>", xml_escape(&v));
            }
            s.push_str("    </node>\n");
        }
        for (i, e) in self.edges.iter().enumerate() {
            let _ = writeln!(s, "    <edge id=\"e{i}\" source=\"{}\" target=\"{}\">", xml_escape(&e.from), xml_escape(&e.to));
            for (k, v) in [
                ("txid", e.txid.clone()),
                ("vout", e.vout.to_string()),
                ("address", e.address.clone()),
                ("value", e.value.to_string()),
                ("traced", e.traced.to_string()),
                ("height", e.height.to_string()),
                ("time", e.time.to_string()),
                ("hop", e.hop.to_string()),
                ("heuristic", e.heuristic.clone()),
            ] {
                let _ = writeln!(s, "      <data key=\"{k}\">{}</data>", xml_escape(&v));
            }
            s.push_str("    </edge>\n");
        }
        s.push_str("  </graph>\n</graphml>\n");
        s
    }

    /// Graphviz DOT.
    pub fn to_dot(&self) -> String {
        use std::fmt::Write;
        let mut s = String::from("digraph trace {\n  rankdir=LR;\n  node [shape=box];\n");
        for n in &self.nodes {
            let mut label = format!("{} ({} addr)", n.id, n.size);
            if !n.tags.is_empty() {
                label.push_str(&format!("\n{}", tag_text(&n.tags)));
            }
            let style = match n.role.as_str() {
                "start" => ", style=filled, fillcolor=lightblue",
                "tagged" => ", style=filled, fillcolor=orange",
                _ => "",
            };
            let _ = writeln!(s, "  \"{}\" [label=\"{}\"{style}];", dot_escape(&n.id), dot_escape(&label));
        }
        for e in &self.edges {
            let label = format!("{} sat ({} traced)\nhop {} {}\n{}:{} h{}", e.value, e.traced, e.hop, e.heuristic, e.txid, e.vout, e.height);
            let _ = writeln!(
                s,
                "  \"{}\" -> \"{}\" [label=\"{}\", txid=\"{}\", vout={}, traced={}, heuristic=\"{}\"];",
                dot_escape(&e.from),
                dot_escape(&e.to),
                dot_escape(&label),
                e.txid,
                e.vout,
                e.traced,
                dot_escape(&e.heuristic)
            );
        }
        s.push_str("}\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_taints_every_output_wholly() {
        assert_eq!(distribute(Policy::Poison, &[10, 20], &[1, 0], &[5, 24], 30), vec![5, 24]);
        assert_eq!(distribute(Policy::Poison, &[10, 20], &[0, 0], &[5, 24], 30), vec![0, 0]);
    }

    #[test]
    fn haircut_is_proportional_and_rounds_down() {
        // 10 of 30 input sats traced: each output carries a third.
        assert_eq!(distribute(Policy::Haircut, &[10, 20], &[10, 0], &[15, 14], 30), vec![5, 4]);
    }

    #[test]
    fn fifo_follows_positions() {
        // Input 0 (10 sat, all traced) fills output 0 (6) and 4 sat of output 1.
        assert_eq!(distribute(Policy::Fifo, &[10, 20], &[10, 0], &[6, 23], 30), vec![6, 4]);
        // Input 1 traced: starts at 10.
        assert_eq!(distribute(Policy::Fifo, &[10, 20], &[0, 20], &[6, 23], 30), vec![0, 19]);
        // Partly traced input: the traced part sits at the start of its span.
        assert_eq!(distribute(Policy::Fifo, &[10, 20], &[0, 5], &[12, 17], 30), vec![2, 3]);
    }

    #[test]
    fn names_parse() {
        assert_eq!(Policy::from_name("fifo"), Some(Policy::Fifo));
        assert_eq!(Direction::from_name("backward"), Some(Direction::Backward));
        assert_eq!(Policy::from_name("taint"), None);
    }

    #[test]
    fn escapes_keep_markup_valid() {
        assert_eq!(xml_escape("a<b>&\"'\u{1}"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(dot_escape("say \"hi\"\\"), "say \\\"hi\\\"\\\\");
    }
}
