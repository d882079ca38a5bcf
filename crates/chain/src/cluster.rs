//! Address clustering: the multi-input (co-spend) heuristic with CoinJoins excluded, change
//! heuristics kept as separate behavioural links, and a union-find where every effective
//! union records its transaction and heuristic.
//!
//! Why a forest of recorded unions: only unions that joined two different clusters are
//! kept, so the recorded edges form a spanning forest of each cluster. The path between two
//! addresses in that forest is the shortest complete explanation of why they are together,
//! and its length is bounded by the cluster size.

use std::collections::{HashMap, VecDeque};

use crate::index::{display_btc, AddrKind, ChainIndex, TxRow, NONE};

/// A change heuristic. Each names at most one output of a transaction as the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeHeuristic {
    /// Meiklejohn et al.: the only output whose address appears for the first time.
    FreshAddress,
    /// The only output smaller than every input (else an input would be unnecessary).
    OptimalChange,
    /// The only output of the same script type as all inputs.
    AddressType,
    /// With two outputs, the payment is round (a multiple of 10^4 sat), the other is change.
    RoundPayment,
    /// The only output later spent by a tx with the same version and locktime style.
    LocktimeVersion,
    /// The only output paying back to an input address.
    AddressReuse,
}

impl ChangeHeuristic {
    /// All heuristics, in a fixed order.
    pub const ALL: [ChangeHeuristic; 6] = [
        ChangeHeuristic::FreshAddress,
        ChangeHeuristic::OptimalChange,
        ChangeHeuristic::AddressType,
        ChangeHeuristic::RoundPayment,
        ChangeHeuristic::LocktimeVersion,
        ChangeHeuristic::AddressReuse,
    ];
    /// Stable name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ChangeHeuristic::FreshAddress => "fresh_address",
            ChangeHeuristic::OptimalChange => "optimal_change",
            ChangeHeuristic::AddressType => "address_type",
            ChangeHeuristic::RoundPayment => "round_payment",
            ChangeHeuristic::LocktimeVersion => "locktime_version",
            ChangeHeuristic::AddressReuse => "address_reuse",
        }
    }
    /// Inverse of [`ChangeHeuristic::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.name() == s)
    }
}

/// Why two addresses were linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkKind {
    /// Both were spent as inputs of one transaction.
    MultiInput,
    /// The second address received the change of a transaction spending the first.
    Change(ChangeHeuristic),
}

impl LinkKind {
    /// Stable name.
    pub fn name(self) -> String {
        match self {
            LinkKind::MultiInput => "multi_input".to_string(),
            LinkKind::Change(h) => format!("change:{}", h.name()),
        }
    }
    /// Inverse of [`LinkKind::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        if s == "multi_input" {
            return Some(LinkKind::MultiInput);
        }
        s.strip_prefix("change:").and_then(ChangeHeuristic::from_name).map(LinkKind::Change)
    }
}

/// The CoinJoin shape names [`coinjoin_shape`] can return, so stored shapes map back to
/// the same `&'static str`.
pub const COINJOIN_SHAPES: [&str; 4] = ["whirlpool", "wasabi", "joinmarket", "equal_output"];

/// One link between two addresses, with the transaction that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Transaction id (index id).
    pub tx: u32,
    /// Heuristic.
    pub kind: LinkKind,
    /// First address id.
    pub a: u32,
    /// Second address id.
    pub b: u32,
}

/// Clustering options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Skip co-spend unions of transactions that look like CoinJoins.
    pub coinjoin_filter: bool,
    /// Change heuristics computed as behavioural links.
    pub change: Vec<ChangeHeuristic>,
    /// Change heuristics whose links are also merged into clusters (off by default).
    pub merge_change: Vec<ChangeHeuristic>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig { coinjoin_filter: true, change: ChangeHeuristic::ALL.to_vec(), merge_change: Vec::new() }
    }
}

/// Names the CoinJoin shape of a transaction, or None.
///
/// The common core of Wasabi, Whirlpool and JoinMarket transactions is an equal-value output
/// set: at least two outputs share the most common value, and there are at least two inputs
/// to fund them. A payment with two outputs of equal value and two inputs is also caught;
/// that costs recall, not precision, which is the side a court cares about.
pub fn coinjoin_shape(idx: &ChainIndex, tx: &TxRow) -> Option<&'static str> {
    let in_addrs: Vec<u32> = idx.input_addrs(tx).collect();
    coinjoin_shape_with(idx, tx, &in_addrs, &mut Vec::new(), &mut Vec::new())
}

/// [`coinjoin_shape`] given the input addresses, with buffers the caller reuses from one
/// transaction to the next (clustering asks this of every transaction).
fn coinjoin_shape_with(idx: &ChainIndex, tx: &TxRow, in_addrs: &[u32], values: &mut Vec<u64>, distinct: &mut Vec<u32>) -> Option<&'static str> {
    if tx.n_in < 2 || tx.n_out < 2 {
        return None;
    }
    values.clear();
    for o in tx.outputs() {
        values.push(idx.outputs.get(o as usize)?.value);
    }
    shape_of(tx.n_in, in_addrs, values, distinct)
}

/// The CoinJoin shape of a transaction with `n_in` inputs, the addresses of those inputs
/// and the values of all its outputs (`values`, sorted here). The one rule behind
/// [`coinjoin_shape`] and the clustering of stored parts (`cluster_stream`).
pub(crate) fn shape_of(n_in: u32, in_addrs: &[u32], values: &mut [u64], distinct: &mut Vec<u32>) -> Option<&'static str> {
    let n_out = values.len() as u32;
    if n_in < 2 || n_out < 2 {
        return None;
    }
    values.sort_unstable();
    // The size of the longest run of one value.
    let max = values.chunk_by(|a, b| a == b).map(|run| run.len() as u32).max()?;
    if max < 2 {
        return None;
    }
    distinct.clear();
    distinct.extend_from_slice(in_addrs);
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return None;
    }
    Some(if n_in == 5 && n_out == 5 && max == 5 {
        "whirlpool"
    } else if max >= 10 {
        "wasabi"
    } else if n_out >= 2 * max - 1 && n_out <= 2 * max {
        "joinmarket"
    } else {
        "equal_output"
    })
}

fn is_round(v: u64) -> bool {
    v > 0 && v.is_multiple_of(10_000)
}

/// The vout a change heuristic names as change, or None.
pub fn change_output(idx: &ChainIndex, tx_id: u32, h: ChangeHeuristic) -> Option<u32> {
    let tx = idx.txs.get(tx_id as usize)?;
    if tx.n_in == 0 || tx.n_out < 2 {
        return None;
    }
    let outs: Vec<(u32, u64, u32)> = tx.outputs().filter_map(|o| idx.outputs.get(o as usize).map(|r| (o - tx.first_out, r.value, r.addr))).collect();
    let in_addrs: Vec<u32> = idx.input_addrs(tx).collect();
    let unique = |c: Vec<u32>| if c.len() == 1 { c.first().copied() } else { None };
    match h {
        ChangeHeuristic::FreshAddress => {
            let fresh: Vec<u32> = outs
                .iter()
                .filter(|(v, _, a)| *a != NONE && idx.addrs.first_out.get(*a as usize) == Some(&(tx.first_out + v)) && !in_addrs.contains(a))
                .map(|(v, _, _)| *v)
                .collect();
            // Meiklejohn: every other output must go to an address seen before.
            if fresh.len() == 1 && outs.iter().all(|(v, _, a)| fresh.contains(v) || (*a != NONE && idx.addrs.first_out.get(*a as usize).is_some_and(|f| *f < tx.first_out))) {
                fresh.first().copied()
            } else {
                None
            }
        }
        ChangeHeuristic::OptimalChange => {
            let min_in = tx.inputs().filter_map(|i| idx.inputs.get(i as usize).and_then(|o| idx.outputs.get(*o as usize))).map(|o| o.value).min()?;
            unique(outs.iter().filter(|(_, val, _)| *val < min_in).map(|(v, _, _)| *v).collect())
        }
        ChangeHeuristic::AddressType => {
            let kind = |a: u32| idx.addrs.get(a).map(|(k, _)| k);
            let kinds: Vec<Option<AddrKind>> = in_addrs.iter().map(|a| kind(*a)).collect();
            let k = (*kinds.first()?)?;
            if kinds.iter().any(|x| *x != Some(k)) {
                return None;
            }
            unique(outs.iter().filter(|(_, _, a)| *a != NONE && kind(*a) == Some(k)).map(|(v, _, _)| *v).collect())
        }
        ChangeHeuristic::RoundPayment => {
            if outs.len() != 2 {
                return None;
            }
            let round: Vec<u32> = outs.iter().filter(|(_, val, _)| is_round(*val)).map(|(v, _, _)| *v).collect();
            if round.len() == 1 {
                outs.iter().map(|(v, _, _)| *v).find(|v| !round.contains(v))
            } else {
                None
            }
        }
        ChangeHeuristic::LocktimeVersion => {
            let style = |t: &TxRow| (t.version, t.locktime == 0);
            unique(
                outs.iter()
                    .filter(|(v, _, _)| {
                        let s = idx.spent_by(tx.first_out + v);
                        s != NONE && idx.txs.get(s as usize).map(style) == Some(style(tx))
                    })
                    .map(|(v, _, _)| *v)
                    .collect(),
            )
        }
        ChangeHeuristic::AddressReuse => unique(outs.iter().filter(|(_, _, a)| *a != NONE && in_addrs.contains(a)).map(|(v, _, _)| *v).collect()),
    }
}

/// The result of clustering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clustering {
    /// Cluster representative (smallest address id of the cluster) per address.
    rep: Vec<u32>,
    /// Effective unions (joined two different clusters), in chain order.
    pub unions: Vec<Link>,
    /// Change links that were not merged (behavioural links).
    pub behavioural: Vec<Link>,
    /// Transactions skipped as CoinJoins, with their shape.
    pub coinjoins: Vec<(u32, &'static str)>,
}

/// Compact union-find over address ids, 4 bytes per address: path halving, and a union
/// hangs the larger root under the smaller, so every root is its cluster's smallest member
/// (the cluster's number, whatever the order of unions) and a parent's id is never above
/// its child's. No size array (union by size would need 4 more bytes an address, which
/// the kernel zeroes: more time at full-chain scale than the longer paths cost); path
/// halving alone keeps any sequence of unions within O(log n) amortized per operation
/// (Tarjan & van Leeuwen 1984), so a chain crafted to make long paths cannot make it
/// quadratic.
pub(crate) struct Dsu {
    parent: Vec<u32>,
}

impl Dsu {
    pub(crate) fn new(n: usize) -> Dsu {
        Dsu { parent: (0..n as u32).collect() }
    }
    /// Hands `emit(address, cluster)` every address in id order with its cluster number,
    /// the smallest address id of its cluster.
    pub(crate) fn into_reps(mut self, mut emit: impl FnMut(u32, u32)) {
        self.settle();
        for (a, r) in self.parent.iter().enumerate() {
            emit(a as u32, *r);
        }
    }
    /// The cluster numbers [`Dsu::into_reps`] gives, as a vector by address id: the
    /// union-find's own parent array (no further memory).
    pub(crate) fn into_rep_vec(mut self) -> Vec<u32> {
        self.settle();
        self.parent
    }
    /// Points every address straight at its root, in one pass in id order: a parent's id is
    /// below its child's, so the parent already points at the root when the child is met.
    fn settle(&mut self) {
        for a in 0..self.parent.len() {
            let p = self.parent[a] as usize;
            self.parent[a] = self.parent[p];
        }
    }
    pub(crate) fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let gp = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
        x
    }
    pub(crate) fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[high as usize] = low;
        true
    }
}

/// Transactions per message from the reading thread of [`cluster`].
const CLUSTER_CHUNK: usize = 1 << 13;

/// What [`cluster`] needs of a chunk of transactions: their input addresses and CoinJoin
/// shapes, flat (one allocation per chunk, not one per transaction, freed on the other
/// thread).
#[derive(Default)]
struct TxInputs {
    /// The transactions, in chain order.
    txs: Vec<u32>,
    /// Where each one's input addresses end in `addrs`.
    ends: Vec<u32>,
    addrs: Vec<u32>,
    shapes: Vec<Option<&'static str>>,
}

/// Clusters every address of the index.
pub fn cluster(idx: &ChainIndex, cfg: &ClusterConfig) -> Clustering {
    let n = idx.addrs.len();
    let mut dsu = Dsu::new(n);
    // Each union joins two clusters, so there are fewer than addresses: room reserved at
    // once costs only the pages written, where growing by doubling would copy into fresh
    // pages (zeroed by the kernel) and write twice the memory.
    // (Asked, not demanded: where the system refuses that much room, it grows as usual.)
    let mut unions = Vec::new();
    let _ = unions.try_reserve_exact(n.saturating_sub(1));
    let mut behavioural = Vec::new();
    let mut coinjoins = Vec::new();
    // A second thread reads what each transaction needs (its input addresses, one random
    // read of the outputs each, and its CoinJoin shape) a chunk ahead, while this one
    // joins clusters in chain order.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<TxInputs>(4);
        scope.spawn(move || {
            let (mut values, mut distinct) = (Vec::new(), Vec::new());
            for (c, chunk) in idx.txs.chunks(CLUSTER_CHUNK).enumerate() {
                let mut out = TxInputs::default();
                for (i, t) in chunk.iter().enumerate() {
                    // One input joins nothing and is no CoinJoin; it only matters to change links.
                    if t.n_in == 0 || (t.n_in == 1 && cfg.change.is_empty()) {
                        continue;
                    }
                    let from = out.addrs.len();
                    out.addrs.extend(idx.input_addrs(t));
                    out.shapes.push(coinjoin_shape_with(idx, t, &out.addrs[from..], &mut values, &mut distinct));
                    out.txs.push((c * CLUSTER_CHUNK + i) as u32);
                    out.ends.push(out.addrs.len() as u32);
                }
                if tx.send(out).is_err() {
                    break;
                }
            }
        });
        for chunk in rx {
            let mut from = 0usize;
            for (k, &t) in chunk.txs.iter().enumerate() {
                let (in_addrs, coinjoin) = (&chunk.addrs[from..chunk.ends[k] as usize], chunk.shapes[k]);
                from = chunk.ends[k] as usize;
                let Some(tx) = idx.txs.get(t as usize) else { continue };
                if let Some(shape) = coinjoin {
                    coinjoins.push((t, shape));
                    if cfg.coinjoin_filter {
                        continue;
                    }
                }
                let Some((&first, rest)) = in_addrs.split_first() else { continue };
                for &a in rest {
                    if dsu.union(first, a) {
                        unions.push(Link { tx: t, kind: LinkKind::MultiInput, a: first, b: a });
                    }
                }
                if tx.n_out >= 2 && !(cfg.coinjoin_filter && coinjoin.is_some()) {
                    for h in &cfg.change {
                        let Some(v) = change_output(idx, t, *h) else { continue };
                        let a = idx.outputs.get((tx.first_out + v) as usize).map(|o| o.addr).unwrap_or(NONE);
                        if a == NONE || a == first {
                            continue;
                        }
                        let link = Link { tx: t, kind: LinkKind::Change(*h), a: first, b: a };
                        if cfg.merge_change.contains(h) {
                            if dsu.union(first, a) {
                                unions.push(link);
                            }
                        } else {
                            behavioural.push(link);
                        }
                    }
                }
            }
        }
    });
    Clustering { rep: dsu.into_rep_vec(), unions, behavioural, coinjoins }
}

impl Clustering {
    /// Rebuilds a clustering from stored parts (see `store::load_clustering`). `rep[a]` must
    /// be the smallest address id of `a`'s cluster.
    pub fn from_parts(rep: Vec<u32>, unions: Vec<Link>, behavioural: Vec<Link>, coinjoins: Vec<(u32, &'static str)>) -> Self {
        Clustering { rep, unions, behavioural, coinjoins }
    }
    /// The cluster number of every address, by address id.
    pub fn reps(&self) -> &[u32] {
        &self.rep
    }
    /// Cluster number of an address (the smallest address id in its cluster).
    pub fn cluster_of(&self, addr: u32) -> Option<u32> {
        self.rep.get(addr as usize).copied()
    }
    /// Number of clusters.
    pub fn num_clusters(&self) -> usize {
        self.rep.iter().enumerate().filter(|(i, r)| *i as u32 == **r).count()
    }
    /// Members of a cluster, ascending.
    pub fn members(&self, cluster: u32) -> Vec<u32> {
        self.rep.iter().enumerate().filter(|(_, r)| **r == cluster).map(|(i, _)| i as u32).collect()
    }
    /// The unions that connect `a` to `b` (empty if `a == b`, None if not in one cluster).
    pub fn explain_pair(&self, a: u32, b: u32) -> Option<Vec<Link>> {
        if self.cluster_of(a)? != self.cluster_of(b)? {
            return None;
        }
        let c = self.cluster_of(a)?;
        let mut adj: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, l) in self.unions.iter().enumerate() {
            if self.cluster_of(l.a) == Some(c) {
                adj.entry(l.a).or_default().push(i);
                adj.entry(l.b).or_default().push(i);
            }
        }
        let mut prev: HashMap<u32, usize> = HashMap::new();
        let mut q = VecDeque::from([a]);
        let mut seen = std::collections::HashSet::from([a]);
        while let Some(x) = q.pop_front() {
            if x == b {
                break;
            }
            for &li in adj.get(&x).map(Vec::as_slice).unwrap_or(&[]) {
                let l = self.unions[li];
                let y = if l.a == x { l.b } else { l.a };
                if seen.insert(y) {
                    prev.insert(y, li);
                    q.push_back(y);
                }
            }
        }
        let mut path = Vec::new();
        let mut cur = b;
        while cur != a {
            let li = *prev.get(&cur)?;
            let l = self.unions[li];
            path.push(l);
            cur = if l.a == cur { l.b } else { l.a };
        }
        path.reverse();
        Some(path)
    }
}

/// Text explanation of an address (display form) or `cluster:N`, or None if `id` is not
/// a chain id known to the index. Lists the recorded unions (txid and heuristic) that put
/// the address in its cluster, and its behavioural (change) links.
pub fn explain(idx: &ChainIndex, cl: &Clustering, id: &str) -> Option<String> {
    explain_with_tags(idx, cl, &[], id)
}

/// [`explain`], also of a txid (display hex: [`explain_tx`]), with the case's `tags` of
/// each address it names.
pub fn explain_with_tags(idx: &ChainIndex, cl: &Clustering, tags: &[crate::tags::Tag], id: &str) -> Option<String> {
    if let Some(text) = explain_tx(idx, cl, tags, id) {
        return Some(text);
    }
    let mut s = explain_id(idx, cl, id)?;
    if !id.starts_with("cluster:") {
        for t in tags.iter().filter(|t| t.address == id) {
            s.push_str(&format!("tag: {}\n", tag_text(t)));
        }
    }
    Some(s)
}

fn tag_text(t: &crate::tags::Tag) -> String {
    let category = t.category.as_deref().map(|c| format!(", {c}")).unwrap_or_default();
    let evidence = t.evidence.as_deref().map(|e| format!(", evidence {e}")).unwrap_or_default();
    format!("{:?} (source {}{category}{evidence})", t.label, t.source)
}

/// Text explanation of a transaction of the index, by txid (display hex), or None when
/// `id` is no txid of it: its block (hash, height, time: what anyone can check against
/// another copy of the chain), its inputs (the outputs they spend) and outputs with their
/// addresses, clusters and tags, its fee, and what clustering made of it (the unions and
/// change links it gave, or the CoinJoin shape that kept its inputs apart).
pub fn explain_tx(idx: &ChainIndex, cl: &Clustering, tags: &[crate::tags::Tag], id: &str) -> Option<String> {
    use std::fmt::Write;
    use bitcoin::hashes::Hash;
    let txid: bitcoin::Txid = id.trim().parse().ok()?;
    let t = idx.tx_id(&txid.to_byte_array())?;
    let tx = idx.txs.get(t as usize)?;
    let mut s = String::new();
    let _ = writeln!(s, "tx {txid} (version {}, locktime {})", tx.version, tx.locktime);
    if let Some(b) = idx.block_of_tx(t).and_then(|b| idx.blocks.get(b)) {
        let time = chrono::DateTime::from_timestamp(i64::from(b.time), 0).map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default();
        let _ = writeln!(
            s,
            "in block {} at height {} ({time}), its transaction {} of {}",
            bitcoin::BlockHash::from_byte_array(b.hash),
            b.height,
            t - b.first_tx + 1,
            b.n_tx
        );
    }
    let addr = |a: u32| -> String {
        if a == NONE {
            return "no address (script without one)".into();
        }
        let text = idx.address_string(a).unwrap_or_default();
        let cluster = cl.cluster_of(a).map(|c| format!(" (cluster:{c})")).unwrap_or_default();
        let tagged: Vec<String> = tags.iter().filter(|g| g.address == text).map(tag_text).collect();
        let tagged = if tagged.is_empty() { String::new() } else { format!(" [tag {}]", tagged.join("; ")) };
        format!("{text}{cluster}{tagged}")
    };
    let (mut in_value, mut in_known) = (0u64, true);
    if tx.n_in == 0 {
        let _ = writeln!(s, "coinbase: no inputs (new coins and the block's fees)");
    } else {
        let _ = writeln!(s, "inputs ({}):", tx.n_in);
        for i in tx.inputs() {
            let spent = idx.inputs.get(i as usize).copied().unwrap_or(NONE);
            match (idx.outputs.get(spent as usize), idx.tx_of_output(spent)) {
                (Some(o), Some(from)) => {
                    in_value += o.value;
                    let from_tx = &idx.txs[from as usize];
                    let _ = writeln!(s, "  {}:{} {} from {}", from_tx.txid_hex(), spent - from_tx.first_out, display_btc(o.value), addr(o.addr));
                }
                _ => {
                    in_known = false;
                    let _ = writeln!(s, "  an output not in this case's chain (spent before its first block)");
                }
            }
        }
    }
    let _ = writeln!(s, "outputs ({}):", tx.n_out);
    let mut out_value = 0u64;
    for (n, o) in tx.outputs().filter_map(|o| idx.outputs.get(o as usize)).enumerate() {
        out_value += o.value;
        let spent = match o.spent_by {
            NONE => "unspent in this chain".to_owned(),
            by => format!("spent in {}", idx.txs.get(by as usize).map(|t| t.txid_hex()).unwrap_or_default()),
        };
        let _ = writeln!(s, "  {n}: {} to {}, {spent}", display_btc(o.value), addr(o.addr));
    }
    if tx.n_in > 0 && in_known {
        let _ = writeln!(s, "fee {}", display_btc(in_value.saturating_sub(out_value)));
    }
    let unions: Vec<&Link> = cl.unions.iter().filter(|l| l.tx == t).collect();
    let behavioural: Vec<&Link> = cl.behavioural.iter().filter(|l| l.tx == t).collect();
    if let Some((_, shape)) = cl.coinjoins.iter().find(|(c, _)| *c == t) {
        let _ = writeln!(s, "clustering: inputs not joined: a CoinJoin shape ({shape})");
    }
    for (what, links) in [("joined (merged into one cluster)", &unions), ("change link (not merged)", &behavioural)] {
        for l in links {
            let _ = writeln!(s, "clustering: {} and {} {what} by {}", idx.address_string(l.a).unwrap_or_default(), idx.address_string(l.b).unwrap_or_default(), l.kind.name());
        }
    }
    Some(s)
}

fn explain_id(idx: &ChainIndex, cl: &Clustering, id: &str) -> Option<String> {
    use std::fmt::Write;
    let link_line = |l: &Link| {
        format!(
            "  {} --[{} in tx {}]--> {}",
            idx.address_string(l.a).unwrap_or_default(),
            l.kind.name(),
            idx.txs.get(l.tx as usize).map(|t| t.txid_hex()).unwrap_or_default(),
            idx.address_string(l.b).unwrap_or_default()
        )
    };
    let mut s = String::new();
    if let Some(n) = id.strip_prefix("cluster:") {
        let c: u32 = n.parse().ok()?;
        if cl.cluster_of(c)? != c {
            return None;
        }
        let members = cl.members(c);
        let _ = writeln!(s, "cluster:{c}: {} addresses (method: multi-input co-spend, CoinJoins excluded)", members.len());
        for m in members.iter().take(50) {
            let _ = writeln!(s, "  member {}", idx.address_string(*m).unwrap_or_default());
        }
        let _ = writeln!(s, "unions:");
        for l in cl.unions.iter().filter(|l| cl.cluster_of(l.a) == Some(c)).take(200) {
            let _ = writeln!(s, "{}", link_line(l));
        }
        return Some(s);
    }
    let (k, d) = crate::index::parse_address(id, idx.network)?;
    let a = idx.addrs.lookup(k, &d)?;
    let c = cl.cluster_of(a)?;
    let _ = writeln!(s, "address {id} ({}) is in cluster:{c} with {} addresses", k.name(), cl.members(c).len());
    if c != a {
        let _ = writeln!(s, "why it is with cluster:{c}'s first address {}:", idx.address_string(c).unwrap_or_default());
        for l in cl.explain_pair(c, a).unwrap_or_default() {
            let _ = writeln!(s, "{}", link_line(&l));
        }
    }
    let beh: Vec<&Link> = cl.behavioural.iter().filter(|l| l.a == a || l.b == a).collect();
    if !beh.is_empty() {
        let _ = writeln!(s, "behavioural links (not merged):");
        for l in beh.iter().take(50) {
            let _ = writeln!(s, "{}", link_line(l));
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_heuristic_names_round_trip() {
        for h in ChangeHeuristic::ALL {
            assert_eq!(ChangeHeuristic::from_name(h.name()), Some(h));
        }
        assert_eq!(ChangeHeuristic::from_name("nope"), None);
    }

    #[test]
    fn round_values() {
        assert!(is_round(100_000));
        assert!(is_round(1_000_000));
        assert!(!is_round(123_456));
        assert!(!is_round(0));
    }

    #[test]
    fn dsu_unions_once() {
        let mut d = Dsu::new(4);
        assert!(d.union(0, 1));
        assert!(d.union(2, 1));
        assert!(!d.union(0, 2));
        assert_eq!(d.find(2), d.find(0));
        assert_ne!(d.find(3), d.find(0));
    }

    #[test]
    fn cluster_numbers_are_the_smallest_member_of_each_component() {
        // Unions in a scrambled order over 1,000 addresses, some chains long; the numbers
        // must equal those of a plain component search, whichever way the unions ran.
        let n = 1000u32;
        let unions: Vec<(u32, u32)> = (0..700u32).map(|i| ((i * 7919) % n, (i * 104_729 + 13) % n)).collect();
        let made = || {
            let mut d = Dsu::new(n as usize);
            for (a, b) in &unions {
                d.union(*a, *b);
            }
            d
        };
        let mut adj = vec![Vec::new(); n as usize];
        for (a, b) in &unions {
            adj[*a as usize].push(*b);
            adj[*b as usize].push(*a);
        }
        let mut expected = vec![NONE; n as usize];
        for start in 0..n {
            if expected[start as usize] != NONE {
                continue;
            }
            // Met in id order, so `start` is the smallest member of its component.
            let mut stack = vec![start];
            expected[start as usize] = start;
            while let Some(x) = stack.pop() {
                for &y in &adj[x as usize] {
                    if expected[y as usize] == NONE {
                        expected[y as usize] = start;
                        stack.push(y);
                    }
                }
            }
        }
        let mut d = made();
        // Finds halve paths; a parent's id must stay at or below its child's, which the
        // one-pass numbering relies on.
        for a in (0..n).rev() {
            d.find(a);
        }
        assert!(d.parent.iter().enumerate().all(|(x, p)| *p <= x as u32), "a parent above its child");
        let mut emitted = vec![NONE; n as usize];
        made().into_reps(|a, r| emitted[a as usize] = r);
        assert_eq!(emitted, expected);
        assert_eq!(made().into_rep_vec(), expected);
        assert!(expected.iter().enumerate().any(|(a, r)| *r != a as u32), "some unions joined");
        assert!(Dsu::new(0).into_rep_vec().is_empty());
    }
}
