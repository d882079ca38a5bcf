//! `dragnet chain ...`: thin glue over the `chain` crate (import, stats, eval, explain).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chain::cluster::{ChangeHeuristic, ClusterConfig};

/// Bitcoin chain subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ChainCommand {
    /// Import a Bitcoin Core blocks directory (or a folder of raw blk files) into the case.
    Import {
        /// The blocks directory (with index/ and xor.dat when present).
        #[arg(long)]
        blocks_dir: PathBuf,
        /// mainnet, testnet or regtest.
        #[arg(long, default_value = "mainnet")]
        network: String,
    },
    /// Measure clustering and change heuristics against a ground-truth file.
    Eval {
        /// The truth file (format of shared/data/chain/regtest-small/truth.json).
        #[arg(long)]
        truth: PathBuf,
        /// Turn the CoinJoin filter off (to measure what it buys).
        #[arg(long)]
        no_coinjoin_filter: bool,
        /// Also merge these change heuristics' links into clusters (comma-separated names).
        #[arg(long, value_delimiter = ',')]
        merge_change: Vec<String>,
    },
    /// Counts and best block of the imported chain.
    Stats,
}

fn config(no_coinjoin_filter: bool, merge_change: &[String]) -> Result<ClusterConfig> {
    let mut cfg = ClusterConfig { coinjoin_filter: !no_coinjoin_filter, ..ClusterConfig::default() };
    for m in merge_change {
        cfg.merge_change.push(ChangeHeuristic::from_name(m).with_context(|| {
            let names: Vec<&str> = ChangeHeuristic::ALL.iter().map(|h| h.name()).collect();
            format!("unknown change heuristic {m:?} (known: {})", names.join(", "))
        })?);
    }
    Ok(cfg)
}

fn load(case_dir: &Path) -> Result<chain::ChainIndex> {
    chain::store::load(case_dir)
        .with_context(|| format!("loading the chain of case {}", case_dir.display()))?
        .with_context(|| format!("case {} has no chain; run `dragnet chain import` first", case_dir.display()))
}

/// Runs a chain subcommand on the case.
pub fn run(case_dir: &Path, cmd: ChainCommand, json: bool) -> Result<()> {
    match cmd {
        ChainCommand::Import { blocks_dir, network } => {
            let net = chain::parse_network(&network)?;
            let r = chain::store::import(case_dir, &blocks_dir, net)
                .with_context(|| format!("importing {} into {}", blocks_dir.display(), case_dir.display()))?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                for d in &r.diagnostics {
                    eprintln!("note: {d}");
                }
                println!(
                    "imported {} new blocks ({} transactions); case has {} blocks, {} transactions, best {}",
                    r.new_blocks,
                    r.new_transactions,
                    r.blocks,
                    r.transactions,
                    r.best_hash.as_deref().unwrap_or("-")
                );
            }
            if let Some(e) = r.error {
                anyhow::bail!("import stopped early (blocks before it were kept): {e}");
            }
        }
        ChainCommand::Stats => {
            let idx = load(case_dir)?;
            let v = serde_json::json!({
                "blocks": idx.blocks.len(),
                "transactions": idx.txs.len(),
                "outputs": idx.outputs.len(),
                "inputs": idx.inputs.len(),
                "addresses": idx.addrs.len(),
                "best_hash": idx.best_hash(),
                "network": idx.network.to_string(),
            });
            if json {
                println!("{v}");
            } else {
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
        }
        ChainCommand::Eval { truth, no_coinjoin_filter, merge_change } => {
            let idx = load(case_dir)?;
            let t = chain::eval::Truth::read(&truth)?;
            let r = chain::eval::evaluate(&idx, &t, &config(no_coinjoin_filter, &merge_change)?);
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "clustering: pair precision {:.4}, pair recall {:.4}, {} clusters over {} truth addresses (CoinJoin filter {})",
                    r.pair_precision,
                    r.pair_recall,
                    r.clusters,
                    r.addresses,
                    if r.coinjoin_filter { "on" } else { "off" }
                );
                println!("coinjoins: {} flagged, {} of {} true ones", r.coinjoin_detected, r.coinjoin_true_positive, r.coinjoin_truth);
                for (h, s) in &r.change {
                    println!("change {h}: precision {:.4} coverage {:.4} ({} of {} named correct, {} payments)", s.precision, s.coverage, s.correct, s.named, s.payments);
                }
            }
        }
    }
    Ok(())
}

/// Explains a chain id (an address or `cluster:N`); None if the case has no chain or the
/// id is not a chain id.
pub fn explain(case_dir: &Path, id: &str) -> Result<Option<String>> {
    let Some(idx) = chain::store::load(case_dir).with_context(|| format!("loading the chain of case {}", case_dir.display()))? else {
        return Ok(None);
    };
    // The clustering stored at import time (recomputed only if missing or stale).
    let cl = chain::store::clustering(case_dir, &idx).with_context(|| format!("reading the clusters of case {}", case_dir.display()))?;
    Ok(chain::cluster::explain(&idx, &cl, id))
}
