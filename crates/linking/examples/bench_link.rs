//! `bench/link`: candidate generation + scoring on ~100,000 simulated vendor
//! accounts over 10 market labels, against brute-force all pairs on a
//! 5,000-account subset. Run by `bench/link/run.sh`.
//!
//! ```text
//! bench_link gen DATA.json [ACCOUNTS] [OPERATORS_PER_RUN]   accounts + truth + model -> DATA.json
//! bench_link link DATA.json                                 all accounts: candidates + scoring
//! bench_link allpairs DATA.json [SUBSET]                    subset: candidates vs every pair
//! ```
//!
//! Data: many small `sim::generate_markets` runs (4 markets each, seeds
//! 1000, 1001, ...), accounts built from each run's `truth.pages` records as
//! `tests/common` does (no page extraction). Run `r` maps its 4 sim markets to
//! the labels `m{(3r + k) % 10}`, and prefixes every vendor name and contact
//! handle of the run with a run-specific syllable pair so that operators of
//! different runs are different people with different names (the sim draws
//! names from 480 word pairs). Within a run the sim's noise (renames,
//! leetspeak, new keys, new addresses, dropped contacts, lookalike names) is
//! kept as generated. The scoring model is trained (default options) on a
//! separate sim (seed 1, 120 operators, 3 markets). Each mode prints one JSON
//! object; `gen` is kept out of the timed modes so its memory does not count.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use linking::{candidates_with_stats, Account, Linker, Model, OperatorMap, TrainOptions};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Data {
    runs: usize,
    operators_per_run: usize,
    markets: usize,
    model: String,
    accounts: Vec<Account>,
    truth: OperatorMap,
}

fn status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb * 1024)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

const SYL: [&str; 16] = [
    "ka", "zo", "mi", "ru", "te", "vo", "la", "ne", "qu", "si", "bo", "da", "fe", "gu", "hy", "jo",
];

fn prefix(run: usize) -> String {
    // Two syllables, capitalised: 256 distinct run prefixes.
    let s = format!("{}{}", SYL[run % 16], SYL[(run / 16) % 16]);
    let mut c = s.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

fn gen(out: &str, target: usize, ops_per_run: usize) {
    let t = Instant::now();
    let train = common::sim_data(1, 120, 3);
    let model = linking::train_on(&train.accounts, &train.truth, &TrainOptions::default()).expect("training");
    let mut accounts: Vec<Account> = Vec::with_capacity(target);
    let mut truth = OperatorMap::new();
    let mut run = 0;
    while accounts.len() < target {
        assert!(run < 256, "too many runs");
        let d = common::sim_data(1000 + run as u64, ops_per_run, 4);
        let label: BTreeMap<String, String> = d
            .sim
            .markets
            .iter()
            .enumerate()
            .map(|(k, m)| (m.market.clone(), format!("m{}", (3 * run + k) % 10)))
            .collect();
        let p = prefix(run);
        let by_id: HashMap<String, Account> = d.accounts.into_iter().map(|a| (a.id.clone(), a)).collect();
        'ops: for op in &d.sim.operators {
            for id in &op.accounts {
                if accounts.len() >= target {
                    break 'ops;
                }
                let Some(mut a) = by_id.get(id).cloned() else { continue };
                a.market = label[&a.market].clone();
                // Keep the sim's lower-case renames lower-case.
                a.name = if a.name.chars().any(|c| c.is_uppercase()) {
                    format!("{p}{}", a.name)
                } else {
                    format!("{}{}", p.to_lowercase(), a.name)
                };
                a.id = linking::account_id(&a.market, &a.name);
                for c in &mut a.contacts {
                    c.value = format!("{}{}", p.to_lowercase(), c.value);
                }
                truth.insert(a.id.clone(), format!("r{run}op{}", op.operator));
                accounts.push(a);
            }
        }
        run += 1;
    }
    let ids: BTreeSet<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), accounts.len(), "account ids collide");
    let data = Data {
        runs: run,
        operators_per_run: ops_per_run,
        markets: accounts.iter().map(|a| a.market.as_str()).collect::<BTreeSet<_>>().len(),
        model: model.to_json(),
        accounts,
        truth,
    };
    let f = std::io::BufWriter::new(std::fs::File::create(out).expect("create output"));
    serde_json::to_writer(f, &data).expect("write");
    let operators: BTreeSet<&String> = data.truth.values().collect();
    println!(
        "{}",
        serde_json::json!({
            "accounts": data.accounts.len(), "operators": operators.len(), "runs": data.runs,
            "operators_per_run": ops_per_run, "market_labels": data.markets,
            "true_pairs": true_pairs(&data.accounts, &data.truth).len(),
            "seconds": t.elapsed().as_secs_f64(),
        })
    );
}

fn load(path: &str) -> (Data, Model) {
    let f = std::io::BufReader::new(std::fs::File::open(path).expect("open data"));
    let data: Data = serde_json::from_reader(f).expect("read data");
    let model = Model::from_json(&data.model).expect("model");
    (data, model)
}

/// Same-operator pairs (indices, i < j).
fn true_pairs(accounts: &[Account], truth: &OperatorMap) -> Vec<(usize, usize)> {
    let mut by_op: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, a) in accounts.iter().enumerate() {
        if let Some(op) = truth.get(&a.id) {
            by_op.entry(op).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for v in by_op.values() {
        for (x, &i) in v.iter().enumerate() {
            for &j in &v[x + 1..] {
                out.push((i.min(j), i.max(j)));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Candidates + scoring exactly as `Linker::link_all` does, timed in parts.
struct Run {
    corpus_s: f64,
    candidates_s: f64,
    scoring_s: f64,
    candidates: Vec<(usize, usize)>,
    linked: BTreeSet<(usize, usize)>,
    links: usize,
    hard: usize,
    stats: serde_json::Value,
}

fn run_candidates<'a>(model: &'a Model, accounts: &'a [Account]) -> (Linker<'a>, Run) {
    let t = Instant::now();
    let linker = Linker::new(model, accounts);
    let corpus_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (candidates, stats) = candidates_with_stats(&linker.corpus);
    let candidates_s = t.elapsed().as_secs_f64();
    eprintln!(
        "{} accounts: corpus {corpus_s:.2} s, {} candidates in {candidates_s:.2} s ({stats:?})",
        accounts.len(),
        candidates.len()
    );
    let t = Instant::now();
    // As `Linker::link_all`: values on every core, evidence for kept pairs.
    let links = linker.links_among(&candidates, model.threshold);
    let scoring_s = t.elapsed().as_secs_f64();
    let run = Run {
        corpus_s,
        candidates_s,
        scoring_s,
        linked: {
            let index: HashMap<&str, usize> = accounts.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
            links.iter().map(|l| (index[l.a.as_str()], index[l.b.as_str()])).map(|(i, j)| (i.min(j), i.max(j))).collect()
        },
        links: links.len(),
        hard: links.iter().filter(|l| l.hard).count(),
        candidates,
        stats: serde_json::to_value(&stats).unwrap_or_default(),
    };
    (linker, run)
}

fn run_json(r: &Run) -> serde_json::Value {
    serde_json::json!({
        "corpus_s": r.corpus_s, "candidates_s": r.candidates_s, "scoring_s": r.scoring_s,
        "total_s": r.corpus_s + r.candidates_s + r.scoring_s,
        "candidate_pairs": r.candidates.len(), "candidate_stats": r.stats,
        "links": r.links, "hard_links": r.hard,
    })
}

fn link(path: &str) {
    let (data, model) = load(path);
    let loaded_rss = status("VmRSS:");
    let loaded_hwm = status("VmHWM:");
    let accounts = &data.accounts;
    let (linker, r) = run_candidates(&model, accounts);
    let after_hwm = status("VmHWM:");
    // Recall: every same-operator pair, and what scoring it directly (as
    // all-pairs would) says, so the loss of candidate generation is exact
    // without comparing all pairs.
    let truth = true_pairs(accounts, &data.truth);
    let cand: BTreeSet<(usize, usize)> = r.candidates.iter().copied().collect();
    let proposed = truth.iter().filter(|p| cand.contains(p)).count();
    let mut linkable = 0;
    let mut linkable_missed = 0;
    let mut linked = 0;
    // True pairs only text LSH can propose: no shared key, address, contact
    // or name key (a replica of the exact blocks, without claims).
    let keys = |a: &Account| -> BTreeSet<String> {
        let mut k: BTreeSet<String> = BTreeSet::new();
        for p in &a.pgp {
            k.insert(p.fingerprint.clone());
            k.extend(p.subkeys.iter().cloned());
        }
        k.extend(a.btc.iter().map(|b| b.value.clone()));
        k.extend(a.contacts.iter().map(|c| format!("{}:{}", c.kind, c.value)));
        k.insert(format!("name:{}", linking::normalize::name_key(&a.name)));
        k
    };
    let (mut text_only, mut text_only_linked) = (0, 0);
    for &(i, j) in &truth {
        if keys(&accounts[i]).is_disjoint(&keys(&accounts[j])) {
            text_only += 1;
            if r.linked.contains(&(i, j)) {
                text_only_linked += 1;
            }
        }
        let l = linker.link(i, j);
        if l.hard || l.probability >= model.threshold {
            linkable += 1;
            if !cand.contains(&(i, j)) {
                linkable_missed += 1;
            }
        }
        if r.linked.contains(&(i, j)) {
            linked += 1;
        }
    }
    let tp_links = r.linked.iter().filter(|&&(i, j)| data.truth.get(&accounts[i].id) == data.truth.get(&accounts[j].id)).count();
    let n = accounts.len() as f64;
    println!(
        "{}",
        serde_json::json!({
            "accounts": accounts.len(),
            "market_labels": data.markets,
            "operators": data.truth.values().collect::<BTreeSet<_>>().len(),
            "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "run": run_json(&r),
            "pairs_all": n * (n - 1.0) / 2.0,
            "candidate_share_of_all_pairs": r.candidates.len() as f64 / (n * (n - 1.0) / 2.0),
            "true_pairs": truth.len(),
            "true_pairs_proposed": proposed,
            "candidate_recall": proposed as f64 / truth.len() as f64,
            "true_pairs_linked": linked,
            "true_pairs_without_shared_key_or_name": text_only,
            "of_which_linked": text_only_linked,
            "link_recall": linked as f64 / truth.len() as f64,
            "link_precision": if r.links == 0 { 0.0 } else { tp_links as f64 / r.links as f64 },
            "true_pairs_linkable_by_all_pairs": linkable,
            "linkable_missed_by_candidates": linkable_missed,
            "recall_lost_vs_all_pairs": linkable_missed as f64 / linkable.max(1) as f64,
            "rss_after_load_mib": mib(loaded_rss),
            "hwm_after_load_mib": mib(loaded_hwm),
            "hwm_after_linking_mib": mib(after_hwm),
        })
    );
}

fn allpairs(path: &str, subset: usize) {
    let (data, model) = load(path);
    // Whole operators in data order (runs are independent, so the first
    // operators are as good a sample as any), cut at `subset` accounts.
    let accounts: Vec<Account> = data.accounts.into_iter().take(subset).collect();
    let truth_map = data.truth;
    let (linker, r) = run_candidates(&model, &accounts);
    let cand_hwm = status("VmHWM:");
    let n = accounts.len();
    let t = Instant::now();
    // Every pair, scored as the candidates are (`Linker::keep`), a block of
    // rows at a time so the pairs are never all in memory.
    let mut linked_all: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut scored = 0u64;
    let mut i = 0;
    while i < n {
        let mut block = Vec::new();
        while i < n && block.len() < 1 << 20 {
            block.extend((i + 1..n).map(|j| (i, j)));
            i += 1;
        }
        scored += block.len() as u64;
        linked_all.extend(linker.keep(&block, model.threshold));
    }
    let all_s = t.elapsed().as_secs_f64();
    let truth = true_pairs(&accounts, &truth_map);
    let same = |&(i, j): &(usize, usize)| truth_map.get(&accounts[i].id) == truth_map.get(&accounts[j].id);
    let cand: BTreeSet<(usize, usize)> = r.candidates.iter().copied().collect();
    let proposed = truth.iter().filter(|p| cand.contains(p)).count();
    let rec_all = truth.iter().filter(|p| linked_all.contains(p)).count();
    let rec_cand = truth.iter().filter(|p| r.linked.contains(p)).count();
    let tp_all = linked_all.iter().filter(|p| same(p)).count();
    let tp_cand = r.linked.iter().filter(|p| same(p)).count();
    let cand_total = r.corpus_s + r.candidates_s + r.scoring_s;
    let scale = |s: f64| s * (100_000.0f64 * 99_999.0) / (n as f64 * (n as f64 - 1.0));
    println!(
        "{}",
        serde_json::json!({
            "accounts": n,
            "true_pairs": truth.len(),
            "candidates": run_json(&r),
            "candidates_hwm_mib": mib(cand_hwm),
            "all_pairs": {
                "pairs_scored": scored, "seconds": all_s, "total_s": r.corpus_s + all_s,
                "links": linked_all.len(), "true_links": tp_all,
                // Pair scoring grows as n^2, corpus statistics as n.
                "seconds_scaled_to_100k_n2": scale(all_s) + r.corpus_s * 100_000.0 / n as f64,
            },
            "all_pairs_hwm_mib": mib(status("VmHWM:")),
            "speedup_candidates_vs_all_pairs": (r.corpus_s + all_s) / cand_total,
            "candidate_recall": proposed as f64 / truth.len().max(1) as f64,
            "link_recall_candidates": rec_cand as f64 / truth.len().max(1) as f64,
            "link_recall_all_pairs": rec_all as f64 / truth.len().max(1) as f64,
            "recall_lost_vs_all_pairs": (rec_all - rec_cand) as f64 / rec_all.max(1) as f64,
            "link_precision_candidates": tp_cand as f64 / r.linked.len().max(1) as f64,
            "link_precision_all_pairs": tp_all as f64 / linked_all.len().max(1) as f64,
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |k: usize| args.get(k).map(String::as_str);
    let num = |k: usize, d: usize| arg(k).and_then(|s| s.parse().ok()).unwrap_or(d);
    match (arg(0), arg(1)) {
        (Some("gen"), Some(out)) => gen(out, num(2, 100_000), num(3, 400)),
        (Some("link"), Some(data)) => link(data),
        (Some("allpairs"), Some(data)) => allpairs(data, num(2, 5_000)),
        _ => {
            eprintln!("usage: bench_link gen DATA.json [ACCOUNTS] [OPS_PER_RUN] | link DATA.json | allpairs DATA.json [SUBSET]");
            std::process::exit(2);
        }
    }
}
