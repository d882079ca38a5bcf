//! `dragnet chain ...`: thin glue over the `chain` crate (import, stats, eval, tag, trace,
//! lookup, explain).

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
        /// Write the index to the case as blocks are read, holding only the unspent outputs
        /// and a plan of address ids (made on disk first) in memory: for a chain whose index
        /// would not fit (the whole mainnet). Into a case without a chain only; clusters by
        /// co-spend (no change heuristics' links).
        #[arg(long)]
        streaming: bool,
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
    /// Generate a seeded regtest chain (valid signed blocks, blk*.dat + xor.dat) with truth.json.
    Sim {
        /// Output directory (a blocks dir `chain import` reads).
        #[arg(long)]
        out: PathBuf,
        /// Activity blocks after the setup blocks.
        #[arg(long, default_value_t = 60)]
        blocks: u32,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Entities (entity 0 is an exchange).
        #[arg(long, default_value_t = 12)]
        entities: u32,
        /// Transactions attempted per activity block.
        #[arg(long, default_value_t = 12)]
        txs_per_block: u32,
        /// xor.dat key, 16 hex digits (0000000000000000: plain files).
        #[arg(long, default_value = "5e1a7c03d28841f6")]
        xor_key: String,
        /// Placeholder signatures and keys (fast; blocks are NOT valid; for benchmarks).
        #[arg(long)]
        unsigned: bool,
        /// Do not write truth.json.
        #[arg(long)]
        no_truth: bool,
    },
    /// Tags on addresses (applied to their whole clusters).
    #[command(subcommand)]
    Tag(TagCommand),
    /// Follow value from an address, transaction or cluster; stops at tagged clusters.
    Trace {
        /// ADDRESS, TXID or cluster:N.
        #[arg(long)]
        from: String,
        /// forward or backward.
        #[arg(long, default_value = "forward")]
        direction: String,
        /// Maximum number of transactions from the start.
        #[arg(long, default_value_t = 3)]
        hops: u32,
        /// Neither draw nor follow traced amounts below this many satoshis.
        #[arg(long, default_value_t = 0)]
        min_value: u64,
        /// poison, haircut or fifo.
        #[arg(long, default_value = "poison")]
        policy: String,
        /// json, graphml or dot.
        #[arg(long, default_value = "json")]
        format: String,
        /// Stop after this many edges (the graph says it was truncated).
        #[arg(long, default_value_t = 100_000)]
        max_edges: usize,
    },
    /// Fetch one transaction or address and its neighbourhood from an Esplora or Bitcoin Core
    /// RPC endpoint (no full node needed); every transaction is checked against its txid and
    /// stored in the case under chain/lookups/, logged in the custody log.
    Lookup {
        /// Esplora REST base URL (as https://blockstream.info/api).
        #[arg(long, required_unless_present = "rpc", conflicts_with = "rpc")]
        esplora: Option<String>,
        /// Bitcoin Core JSON-RPC URL (as http://127.0.0.1:8332/); follows parents only.
        #[arg(long)]
        rpc: Option<String>,
        /// Core's .cookie file for RPC authentication.
        #[arg(long, requires = "rpc", conflicts_with_all = ["rpc_user", "rpc_password"])]
        rpc_cookie: Option<PathBuf>,
        /// RPC user.
        #[arg(long, requires_all = ["rpc", "rpc_password"])]
        rpc_user: Option<String>,
        /// RPC password (better from the environment than on the command line).
        #[arg(long, env = "DRAGNET_RPC_PASSWORD", hide_env_values = true, requires = "rpc_user")]
        rpc_password: Option<String>,
        /// Start from this transaction.
        #[arg(long, required_unless_present = "address", conflicts_with = "address")]
        tx: Option<String>,
        /// Start from every transaction of this address (Esplora only).
        #[arg(long)]
        address: Option<String>,
        /// Steps from the start along parents (and children, on Esplora).
        #[arg(long, default_value_t = 1)]
        hops: u32,
        /// Fetch at most this many transactions (the output says when the cap was hit).
        #[arg(long, default_value_t = 200)]
        max_txs: usize,
        /// Proxy URL; socks5h://127.0.0.1:9050 for Tor (needed for .onion endpoints).
        #[arg(long)]
        proxy: Option<String>,
        /// Seconds before a connection or request is given up.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
        /// mainnet, testnet, regtest or signet (for addresses).
        #[arg(long, default_value = "mainnet")]
        network: String,
    },
    /// Re-check every transaction `chain lookup` stored: each file still holds the bytes its
    /// custody log entry names (txid and SHA-256).
    LookupVerify,
}

/// `dragnet chain tag ...`.
#[derive(clap::Subcommand, Debug)]
pub enum TagCommand {
    /// Import the BTC tags of a GraphSense TagPack (YAML).
    Import {
        /// The TagPack file.
        file: PathBuf,
    },
    /// Tag one address.
    Add {
        /// The address.
        address: String,
        /// What it is.
        #[arg(long)]
        label: String,
        /// Where the knowledge comes from.
        #[arg(long, default_value = "cli")]
        source: String,
        /// GraphSense category (exchange, market, vendor, ...).
        #[arg(long)]
        category: Option<String>,
        /// What backs it (a page SHA-256, a document).
        #[arg(long)]
        evidence: Option<String>,
    },
    /// Tag every BTC address extracted from the case's market pages, with
    /// the vendor (or page) that showed it and the page's SHA-256 as evidence.
    FromPages,
    /// List the case's tags.
    List,
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
        .with_context(|| format!("case {} has no chain; run `dragnet --case {} chain import --blocks-dir DIR [--network testnet|regtest]` first (DIR: a Bitcoin Core blocks directory, or a folder of raw blk files)", case_dir.display(), case_dir.display()))
}

/// Runs a chain subcommand on the case; `operator` is recorded in custody log entries.
pub fn run(case_dir: &Path, cmd: ChainCommand, json: bool, operator: &str) -> Result<()> {
    match cmd {
        ChainCommand::Import { blocks_dir, network, streaming } => {
            let net = chain::parse_network(&network)?;
            let context = || format!("importing {} into {}", blocks_dir.display(), case_dir.display());
            let (r, stream) = if streaming {
                let (r, s) = chain::index_stream::import_streaming(case_dir, &blocks_dir, net).with_context(context)?;
                (r, Some(s))
            } else {
                (chain::store::import(case_dir, &blocks_dir, net).with_context(context)?, None)
            };
            if json {
                let mut v = serde_json::to_value(&r)?;
                if let (Some(s), Some(obj)) = (&stream, v.as_object_mut()) {
                    obj.insert("streaming".into(), serde_json::to_value(s)?);
                }
                println!("{v}");
            } else {
                if let Some(s) = &stream {
                    eprintln!(
                        "streamed: {} outputs, {} inputs, {} addresses ({} planned in {} partition(s)); {} outputs unspent at the end (at most {} at once)",
                        s.outputs, s.inputs, s.addresses, s.plan.addresses, s.plan.partitions, s.unspent, s.unspent_peak
                    );
                }
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
            // What was read, by digest: a trace or a report citing a block
            // can be tied to the files it came from.
            let mut case = case::Case::open(case_dir, operator)?;
            case.log(
                "chain-import",
                serde_json::json!({
                    "blocks_dir": blocks_dir.display().to_string(),
                    "network": network,
                    "files": block_files_read(&blocks_dir)?,
                    "new_blocks": r.new_blocks,
                    "blocks": r.blocks,
                    "transactions": r.transactions,
                    "best_hash": r.best_hash,
                    "error": r.error.as_ref().map(ToString::to_string),
                }),
            )?;
            if let Some(e) = r.error {
                anyhow::bail!("import stopped early (blocks before it were kept): {e}");
            }
            // A case left with no block is a failed import, not a quiet one:
            // regtest blocks read as mainnet (the default) were all refused
            // and the import exited 0 (found by a review).
            if r.blocks == 0 {
                if r.diagnostics.is_empty() {
                    anyhow::bail!("no block found in {}", blocks_dir.display());
                }
                anyhow::bail!(
                    "no block of {} was imported: every one was refused (the notes above say why); blocks of another network need --network (given: {network}; regtest blocks need --network regtest)",
                    blocks_dir.display()
                );
            }
        }
        ChainCommand::Stats => {
            let v = chain::store::stats(case_dir)
                .with_context(|| format!("reading the chain of case {}", case_dir.display()))?
                .with_context(|| format!("case {} has no chain; run `dragnet --case {} chain import --blocks-dir DIR [--network testnet|regtest]` first (DIR: a Bitcoin Core blocks directory, or a folder of raw blk files)", case_dir.display(), case_dir.display()))?;
            if json {
                println!("{}", serde_json::to_value(&v)?);
            } else {
                print!("{}", stats_text(&v));
            }
        }
        ChainCommand::Tag(t) => tag(case_dir, t, json, operator)?,
        ChainCommand::Sim { out, blocks, seed, entities, txs_per_block, xor_key, unsigned, no_truth } => {
            let key: [u8; 8] = chain::sim::parse_xor_key(&xor_key).with_context(|| format!("--xor-key {xor_key:?}: 16 hex digits expected"))?;
            let cfg = chain::sim::SimConfig { seed, blocks, entities, txs_per_block, xor_key: key, sign: !unsigned, truth: !no_truth, ..Default::default() };
            let r = chain::sim::generate(&out, &cfg).with_context(|| format!("generating a chain into {}", out.display()))?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!("{} blocks, {} transactions, {} bytes in {} files, tip {} -> {}", r.blocks, r.transactions, r.bytes, r.files, r.best_hash, out.display());
            }
        }
        ChainCommand::Trace { from, direction, hops, min_value, policy, format, max_edges } => {
            let cfg = chain::trace::TraceConfig {
                direction: chain::trace::Direction::from_name(&direction).with_context(|| format!("unknown direction {direction:?} (forward or backward)"))?,
                policy: chain::trace::Policy::from_name(&policy).with_context(|| format!("unknown policy {policy:?} (poison, haircut or fifo)"))?,
                hops,
                min_value,
                max_edges,
            };
            if !matches!(format.as_str(), "json" | "graphml" | "dot") {
                anyhow::bail!("unknown format {format:?} (json, graphml or dot)");
            }
            let idx = load(case_dir)?;
            let cl = chain::store::clustering(case_dir, &idx).with_context(|| format!("reading the clusters of case {}", case_dir.display()))?;
            let tags = chain::tags::cluster_tags(&idx, &cl, &chain::tags::read_tags(case_dir)?);
            let g = chain::trace::trace(&idx, &cl, &tags, &from, &cfg)?;
            match format.as_str() {
                "graphml" => print!("{}", g.to_graphml()),
                "dot" => print!("{}", g.to_dot()),
                _ if json => println!("{}", serde_json::to_string(&g)?),
                _ => println!("{}", serde_json::to_string_pretty(&g)?),
            }
            if g.truncated {
                eprintln!("note: trace stopped after {max_edges} edges (--max-edges)");
            }
        }
        ChainCommand::Lookup { esplora, rpc, rpc_cookie, rpc_user, rpc_password, tx, address, hops, max_txs, proxy, timeout, network } => {
            lookup(case_dir, LookupArgs { esplora, rpc, rpc_cookie, rpc_user, rpc_password, tx, address, hops, max_txs, proxy, timeout, network }, json, operator)?
        }
        ChainCommand::LookupVerify => lookup_verify(case_dir, json, operator)?,
        ChainCommand::Eval { truth, no_coinjoin_filter, merge_change } => {
            let idx = load(case_dir)?;
            let t = chain::eval::Truth::read(&truth)?;
            let r = chain::eval::evaluate(&idx, &t, &config(no_coinjoin_filter, &merge_change)?);
            // Scores over none of the truth are scores of nothing: most likely
            // the truth of another chain (regtest's truth on testnet blocks).
            anyhow::ensure!(
                r.addresses > 0 || r.truth_addresses == 0,
                "none of the {} addresses of {} is on this case's chain ({} addresses, network {}): is it the truth of another chain?",
                r.truth_addresses,
                truth.display(),
                r.all_addresses,
                idx.network
            );
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "clustering: pair precision {}, pair recall {}, {} clusters over {} truth addresses (CoinJoin filter {})",
                    r.pair_precision.map_or_else(|| "n/a (no two truth addresses clustered together)".to_owned(), |p| format!("{p:.4}")),
                    r.pair_recall.map_or_else(|| "n/a (no two truth addresses of one entity)".to_owned(), |p| format!("{p:.4}")),
                    r.clusters,
                    r.addresses,
                    if r.coinjoin_filter { "on" } else { "off" }
                );
                if r.addresses < r.truth_addresses || r.truth_txs_missing > 0 {
                    println!(
                        "not graded: {} of the truth's {} addresses and {} of its transactions are not on this chain",
                        r.truth_addresses - r.addresses,
                        r.truth_addresses,
                        r.truth_txs_missing
                    );
                }
                println!("coinjoins: {} flagged, {} of {} true ones", r.coinjoin_detected, r.coinjoin_true_positive, r.coinjoin_truth);
                for (h, s) in &r.change {
                    let precision = s.precision.map_or_else(|| "n/a (nothing named)".to_owned(), |p| format!("{p:.4}"));
                    println!("change {h}: precision {precision} coverage {:.4} ({} of {} named correct, {} payments)", s.coverage, s.correct, s.named, s.payments);
                }
            }
        }
    }
    Ok(())
}

/// `chain stats` for a reader: one labelled figure a line.
fn stats_text(s: &chain::store::ChainStats) -> String {
    let mut text = format!("network       {}\n", s.network);
    for (label, n) in [("blocks", s.blocks), ("transactions", s.transactions), ("outputs", s.outputs), ("inputs", s.inputs), ("addresses", s.addresses)] {
        text.push_str(&format!("{label:<13} {n}\n"));
    }
    text.push_str(&format!("best block    {}\n", s.best_hash.as_deref().unwrap_or("- (no block)")));
    text
}

struct LookupArgs {
    esplora: Option<String>,
    rpc: Option<String>,
    rpc_cookie: Option<PathBuf>,
    rpc_user: Option<String>,
    rpc_password: Option<String>,
    tx: Option<String>,
    address: Option<String>,
    hops: u32,
    max_txs: usize,
    proxy: Option<String>,
    timeout: u64,
    network: String,
}

fn lookup(case_dir: &Path, a: LookupArgs, json: bool, operator: &str) -> Result<()> {
    use chain::lookup::{Endpoint, RpcAuth, Start};
    let endpoint = match (a.esplora, a.rpc) {
        (Some(url), None) => Endpoint::Esplora(url),
        (None, Some(url)) => {
            let auth = match (a.rpc_cookie, a.rpc_user, a.rpc_password) {
                (Some(c), _, _) => RpcAuth::Cookie(c),
                (None, Some(user), Some(password)) => RpcAuth::UserPass { user, password },
                _ => RpcAuth::None,
            };
            Endpoint::CoreRpc { url, auth }
        }
        _ => anyhow::bail!("give one of --esplora URL or --rpc URL"),
    };
    let start = match (a.tx, a.address) {
        (Some(t), None) => Start::Tx(t.trim().parse().with_context(|| format!("--tx {t:?} is not a txid (64 hex digits)"))?),
        (None, Some(addr)) => Start::Address(addr),
        _ => anyhow::bail!("give one of --tx TXID or --address ADDRESS"),
    };
    let network = chain::parse_network(&a.network)?;
    // Privacy: the endpoint learns what is asked. An onion endpoint without a proxy would
    // fail anyway, or worse, leak the name to the local resolver.
    let shown = endpoint.display();
    if a.proxy.is_none() {
        if endpoint.is_onion() {
            anyhow::bail!("{shown} is an onion service: refusing to connect without --proxy (use --proxy socks5h://127.0.0.1:9050 for Tor)");
        }
        eprintln!("note: {shown} sees which transaction or address you ask about, and from which IP address (use --proxy to hide it)");
    } else if a.proxy.as_deref().is_some_and(|p| p.to_ascii_lowercase().starts_with("socks5://")) {
        eprintln!("note: socks5:// resolves the endpoint's name locally (your DNS resolver sees it); socks5h:// resolves it through the proxy");
    }
    // Open the case first: a bad case must not cost a round of queries.
    let mut case = case::Case::open(case_dir, operator)?;
    let client = chain::lookup::Client::new(endpoint, &chain::lookup::ClientConfig { proxy: a.proxy, timeout: std::time::Duration::from_secs(a.timeout) })?;
    let g = chain::lookup::walk(&client, &start, &chain::lookup::LookupConfig { hops: a.hops, max_txs: a.max_txs, network })?;
    let stored = chain::lookup::store_in_case(case_dir, &g).with_context(|| format!("storing fetched transactions in case {}", case_dir.display()))?;
    if !g.txs.is_empty() {
        case.log(
            "chain-lookup",
            serde_json::json!({
                "endpoint": g.endpoint,
                "endpoint_kind": g.endpoint_kind,
                "start": g.start,
                "hops": g.hops,
                "max_txs": g.max_txs,
                "cap_hit": g.cap_hit,
                "txs": stored,
                "errors": g.errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            }),
        )?;
    }
    for e in &g.errors {
        eprintln!("error: {}", e.message);
    }
    if json {
        let mut v = serde_json::to_value(&g)?;
        v["stored"] = serde_json::to_value(&stored)?;
        println!("{v}");
    } else {
        let back = g.txs.iter().filter(|t| t.ancestor_hop.is_some_and(|h| h > 0)).count();
        let fwd = g.txs.iter().filter(|t| t.descendant_hop.is_some_and(|h| h > 0)).count();
        let starts = g.txs.iter().filter(|t| t.ancestor_hop == Some(0)).count();
        println!(
            "{} transactions from {} ({} start, {back} ancestors, {fwd} descendants within {} hops), {} errors; stored under {}",
            g.txs.len(),
            g.endpoint,
            starts,
            g.hops,
            g.errors.len(),
            chain::lookup::lookups_dir(case_dir).display()
        );
        if let Some(n) = &g.note {
            println!("note: {n}");
        }
        if g.cap_hit {
            println!("note: stopped at --max-txs {} ({} reached but not fetched)", g.max_txs, g.unfetched.len());
        }
    }
    if g.txs.is_empty() {
        anyhow::bail!("nothing could be fetched from {} ({} errors)", g.endpoint, g.errors.len());
    }
    Ok(())
}

fn lookup_verify(case_dir: &Path, json: bool, operator: &str) -> Result<()> {
    let case = case::Case::open(case_dir, operator)?;
    let (checked, problems) = case::verify_chain_lookups(&case.evidence().custody().entries()?, case_dir);
    if json {
        println!("{}", serde_json::json!({"checked": checked, "problems": problems}));
    } else {
        println!("checked {checked} stored transactions: {}", if problems.is_empty() { "intact".to_owned() } else { format!("{} problems", problems.len()) });
    }
    for p in &problems {
        eprintln!("problem: {p}");
    }
    if !problems.is_empty() {
        anyhow::bail!("{} stored lookup files do not match the custody log", problems.len());
    }
    Ok(())
}


/// The block files of a `chain import`'s directory (`blk*.dat`, and the
/// `xor.dat` key), each with its size and SHA-256, in name order.
fn block_files_read(dir: &Path) -> Result<Vec<serde_json::Value>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(std::result::Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| (n.starts_with("blk") && n.ends_with(".dat")) || n == "xor.dat")
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(serde_json::json!({ "name": name, "bytes": bytes.len(), "sha256": model::Sha256::of(&bytes).to_hex() }))
        })
        .collect()
}

/// The network of the case's chain, once one is imported (tags added
/// before are checked against every network).
fn case_network(case_dir: &Path) -> Result<Option<chain::Network>> {
    match chain::store::read_meta(case_dir)? {
        Some(meta) => Ok(Some(chain::parse_network(&meta.network)?)),
        None => Ok(None),
    }
}

/// The SHA-256 of the case's tag file as it now is: logged with every tag
/// command, so that `verify` finds a tag added or changed by hand.
fn tags_digest(case_dir: &Path) -> Result<String> {
    let path = case_dir.join(case::TAGS_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(model::Sha256::of(&bytes).to_hex())
}

fn tag(case_dir: &Path, cmd: TagCommand, json: bool, operator: &str) -> Result<()> {
    match cmd {
        TagCommand::Import { file } => {
            // The case first: a folder that is no case gets no tag file.
            let mut case = case::Case::open(case_dir, operator)?;
            let pack = chain::tags::parse_tagpack_for(&file, case_network(case_dir)?)?;
            for sk in &pack.skipped {
                eprintln!("note: {}: {sk}", file.display());
            }
            let added = chain::tags::add_tags(case_dir, &pack.tags)?;
            // The tags cite the file by digest: the custody log says which
            // file that was, when, and by whom.
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            case.log(
                "chain-tag-import",
                serde_json::json!({
                    "file": file.display().to_string(),
                    "sha256": model::Sha256::of(&bytes).to_hex(),
                    "bytes": bytes.len(),
                    "read": pack.tags.len(),
                    "added": added,
                    "skipped": pack.skipped.len(),
                    "tags_sha256": tags_digest(case_dir)?,
                }),
            )?;
            if json {
                println!("{}", serde_json::json!({"read": pack.tags.len(), "added": added, "skipped": pack.skipped.len()}));
            } else {
                println!("{added} new tags from {} ({} read, {} skipped)", file.display(), pack.tags.len(), pack.skipped.len());
            }
        }
        TagCommand::Add { address, label, source, category, evidence } => {
            let mut case = case::Case::open(case_dir, operator)?;
            // An address of another network than the case's chain would
            // never match a transaction of it: refused, not kept unseen.
            if let Some(network) = case_network(case_dir)? {
                chain::tags::check_address(&address, Some(network))
                    .map_err(|why| anyhow::anyhow!("{address}: {why}: this case's chain is {network} (`chain stats`); not tagged"))?;
            }
            let tag = chain::tags::Tag { address, label, source, category, evidence };
            let added = chain::tags::add_tags(case_dir, std::slice::from_ref(&tag))?;
            case.log("chain-tag-add", serde_json::json!({ "tag": tag, "added": added, "tags_sha256": tags_digest(case_dir)? }))?;
            if json {
                println!("{}", serde_json::json!({"added": added}));
            } else {
                println!("{added} new tag");
            }
        }
        TagCommand::FromPages => {
            let mut case = case::Case::open(case_dir, operator)?;
            let tags: Vec<chain::tags::Tag> = case
                .btc_sightings()?
                .into_iter()
                .map(|s| chain::tags::Tag {
                    address: s.address,
                    label: s.label,
                    source: "dragnet extract".into(),
                    category: Some(s.category),
                    evidence: Some(s.evidence),
                })
                .collect();
            let added = chain::tags::add_tags(case_dir, &tags)?;
            case.log("chain-tag-from-pages", serde_json::json!({ "sightings": tags.len(), "added": added, "tags_sha256": tags_digest(case_dir)? }))?;
            if json {
                println!("{}", serde_json::json!({"sightings": tags.len(), "added": added}));
            } else {
                println!("{added} new tags from {} address sightings on captured pages", tags.len());
            }
        }
        TagCommand::List => {
            for t in chain::tags::read_tags(case_dir)? {
                if json {
                    println!("{}", serde_json::to_string(&t)?);
                } else {
                    println!("{}\t{}\t{}\t{}", t.address, t.label, t.source, t.category.as_deref().unwrap_or("-"));
                }
            }
        }
    }
    Ok(())
}

/// Explains a chain id (a txid, an address or `cluster:N`, with the case's tags); None if
/// the case has no chain or the id is not a chain id.
pub fn explain(case_dir: &Path, id: &str) -> Result<Option<String>> {
    let Some(idx) = chain::store::load(case_dir).with_context(|| format!("loading the chain of case {}", case_dir.display()))? else {
        return Ok(None);
    };
    // The clustering stored at import time (recomputed only if missing or stale).
    let cl = chain::store::clustering(case_dir, &idx).with_context(|| format!("reading the clusters of case {}", case_dir.display()))?;
    let tags = chain::tags::read_tags(case_dir)?;
    Ok(chain::cluster::explain_with_tags(&idx, &cl, &tags, id))
}
