//! `dragnet link train|eval|confirm|reject`, `dragnet links`,
//! `dragnet operator ID`, and `dragnet explain K-…`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use case::{Case, ExtractOptions, ImportOptions, NoProgress};
use linking::{Account, Decision, Link, Linker, Model, OperatorMap, TrainOptions};

/// Linking commands under `dragnet link`.
#[derive(clap::Subcommand, Debug)]
pub enum LinkCommand {
    /// Train the case's scoring model: on this case's accounts with a truth
    /// file (a share of operators is held out for `link eval`), or, without
    /// --truth, on a fresh simulated multi-market case.
    Train {
        /// Truth: `truth.json` of `dragnet sim market`, or a JSON object
        /// `{"market/vendor": "operator", ...}`.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// Share of operators held out from training (with --truth).
        #[arg(long, default_value_t = 0.4)]
        holdout: f64,
        /// Seed of the simulated training case (without --truth).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Precision, recall and F1 of each signal and of the model, on the
    /// accounts of the truth file the model was not trained on.
    Eval {
        /// Truth file (as for `link train`); or `pgp`: accounts that show the
        /// same PGP key are one operator (evaluated with the model trained
        /// without `pgp`); or `names`: same name key on two markets, not
        /// generic, confirmed by the same shipping origin (evaluated with a
        /// model trained without `name` and `shipping`); or `claims`: an
        /// account and the account it imports ratings from (evaluated
        /// without `claimed` and `name`).
        #[arg(long)]
        truth: PathBuf,
        /// Thresholds to report.
        #[arg(long, value_delimiter = ',', default_value = "0.3,0.5,0.7,0.9")]
        thresholds: Vec<f64>,
    },
    /// Confirm a link: the two accounts are one operator.
    Confirm {
        /// Link id (K-…).
        link: String,
        /// Why (kept in the custody log).
        #[arg(long)]
        why: String,
    },
    /// Reject a link.
    Reject {
        /// Link id (K-…).
        link: String,
        /// Why (kept in the custody log).
        #[arg(long)]
        why: String,
    },
}

/// Reads a truth file: sim `truth.json` (`accounts[].account/operator`) or a
/// plain `{account: operator}` object.
pub fn read_truth(path: &Path) -> Result<OperatorMap> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let mut truth = OperatorMap::new();
    if let Some(accounts) = v.get("accounts").and_then(|a| a.as_array()) {
        for (i, a) in accounts.iter().enumerate() {
            let (Some(account), Some(op)) = (a["account"].as_str(), a.get("operator")) else {
                anyhow::bail!("{}: accounts[{i}] lacks account or operator", path.display());
            };
            truth.insert(account.to_owned(), op.to_string().trim_matches('"').to_owned());
        }
    } else if let Some(map) = v.as_object() {
        for (account, op) in map {
            truth.insert(account.clone(), op.to_string().trim_matches('"').to_owned());
        }
    }
    anyhow::ensure!(!truth.is_empty(), "{}: no account -> operator pairs", path.display());
    Ok(truth)
}

/// The case's model; trains and stores the default (simulation) model first
/// when the case has none.
fn model(case: &mut Case, json: bool) -> Result<Model> {
    if let Some(m) = case.link_model()? {
        return Ok(m);
    }
    if !json {
        eprintln!("note: the case has no linking model; training the default one on a simulated case (`dragnet link train`)");
    }
    train_on_sim(case, 1)
}

pub(crate) fn train_on_sim(case: &mut Case, seed: u64) -> Result<Model> {
    let (model, what) = sim_model(seed, &TrainOptions::default())?;
    case.save_link_model(&model, &what)?;
    Ok(model)
}

/// The default model trained on a fresh simulated case with `opts`, and a
/// line saying what it was trained on.
fn sim_model(seed: u64, opts: &TrainOptions) -> Result<(Model, String)> {
    let (operators, markets) = (120, 3);
    let tmp = tempfile::tempdir().context("temporary directory for the training case")?;
    let generated = sim::generate_markets(&sim::MarketSimConfig { seed, operators, markets, ..Default::default() });
    generated.write_to(tmp.path())?;
    let mut sim_case = Case::init(&tmp.path().join("case"), "dragnet-link-train")?;
    // A fixed capture time (the demo's), so that a seed trains the same
    // model on any day: the pages' "3 days ago" dates are read against it.
    let captured = chrono::DateTime::from_timestamp(crate::demo::SIMULATED_CAPTURE as i64, 0).context("the simulated capture time")?;
    let import = ImportOptions { captured_at: Some(captured), ..ImportOptions::default() };
    sim_case.import(&[tmp.path().join("pages")], &import, &NoProgress)?;
    sim_case.extract(&ExtractOptions::default(), &NoProgress)?;
    let accounts = sim_case.link_accounts()?;
    let truth: OperatorMap =
        generated.truth.accounts.iter().map(|a| (a.account.clone(), a.operator.to_string())).collect();
    let model = linking::train_on(&accounts, &truth, opts).context("training the linking model")?;
    let what = format!("simulated case seed={seed} operators={operators} markets={markets}, extracted by {}", case::TOOL_VERSION);
    Ok((model, what))
}

/// `dragnet link ...`.
pub fn run(case: &mut Case, cmd: &LinkCommand, json: bool) -> Result<()> {
    match cmd {
        LinkCommand::Train { truth: None, seed, .. } => {
            let m = train_on_sim(case, *seed)?;
            print_model(&m, json);
        }
        LinkCommand::Train { truth: Some(path), holdout, .. } => {
            let truth = read_truth(path)?;
            let accounts = case.link_accounts()?;
            let (train, _held_out) = linking::split_by_operator(&truth, *holdout, "dragnet-link-train");
            let m = linking::train_on(&accounts, &train, &TrainOptions::default()).context("training the linking model")?;
            case.save_link_model(&m, &format!("this case's accounts, truth {} ({} held out)", path.display(), holdout))?;
            print_model(&m, json);
        }
        LinkCommand::Eval { truth, thresholds } => {
            let mut m = model(case, json)?;
            let accounts = case.link_accounts()?;
            // Truth from the data itself defines its labels with some signals,
            // which then cannot also be evidence: the model is one trained
            // without them.
            let real = match truth.to_str() {
                Some("pgp") => Some(linking::pgp_truth(&accounts)),
                Some("names") => Some(linking::name_truth(&linking::Corpus::new(&accounts))),
                Some("claims") => Some(linking::claims_truth(&linking::Corpus::new(&accounts))),
                _ => None,
            };
            let is_pgp = real.as_ref().is_some_and(|r| r.source == "pgp");
            let truth = match &real {
                Some(r) if is_pgp => {
                    m = m.without_pgp.as_deref().cloned().context("the model has no companion trained without pgp")?;
                    r.truth.clone()
                }
                Some(r) => {
                    let opts = TrainOptions { hidden: r.hides.clone(), companion_without_pgp: false, ..TrainOptions::default() };
                    let (without, what) = sim_model(1, &opts)?;
                    if !json {
                        eprintln!("note: truth from {} hides {}; evaluating the default model retrained without them on {what}", r.source, r.hides.join(", "));
                    }
                    m = without;
                    r.truth.clone()
                }
                None => read_truth(truth)?,
            };
            if let (Some(r), false) = (&real, json) {
                let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
                println!("truth from {}: {}", r.source, counts.join(", "));
            }
            let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
            for op in truth.values() {
                *sizes.entry(op).or_default() += 1;
            }
            anyhow::ensure!(
                sizes.values().any(|n| *n > 1),
                "no same-operator pairs to evaluate on ({} accounts in the truth, none sharing an operator{})",
                truth.len(),
                if is_pgp { "; no two accounts show the same PGP key" } else { "" }
            );
            let e = linking::evaluate(&m, &accounts, &truth, thresholds);
            if json {
                let mut v = serde_json::to_value(&e)?;
                if let (Some(r), Some(obj)) = (&real, v.as_object_mut()) {
                    obj.insert("truth".into(), serde_json::json!({ "source": r.source, "hides": r.hides, "counts": r.counts }));
                }
                println!("{v}");
            } else {
                println!(
                    "{} accounts evaluated ({} left out: the model trained on them), {} same-operator pairs, {} missed by candidate generation",
                    e.accounts, e.excluded_training_accounts, e.truth_pairs, e.missed_by_candidates
                );
                let prf = |p: &linking::Prf| format!("P {:.3} R {:.3} F1 {:.3}", p.precision, p.recall, p.f1);
                println!("combined @ {:.2}: {}", e.threshold, prf(&e.combined));
                if let Some(w) = &e.combined_without_pgp {
                    println!("combined without pgp: {}", prf(w));
                }
                for (name, p) in &e.signals {
                    println!("  {name:<12} {}", prf(p));
                }
                for t in &e.by_threshold {
                    println!("  @ {:.2}: {}", t.threshold, prf(&t.prf));
                }
            }
        }
        LinkCommand::Confirm { link, why } | LinkCommand::Reject { link, why } => {
            let decision = if matches!(cmd, LinkCommand::Confirm { .. }) { Decision::Confirmed } else { Decision::Rejected };
            anyhow::ensure!(!why.trim().is_empty(), "--why must say why (it is kept in the custody log)");
            let m = model(case, json)?;
            let accounts = case.link_accounts()?;
            let found = find_link(&m, &accounts, link)?;
            case.decide_link(&found, decision, why)?;
            let word = if decision == Decision::Confirmed { "confirmed" } else { "rejected" };
            if json {
                crate::output::print_json(&serde_json::json!({ "link": found.id, "a": found.a, "b": found.b, "decision": word }));
            } else {
                println!("{word} {} ({} <-> {}), recorded in the custody log", found.id, found.a, found.b);
            }
        }
    }
    Ok(())
}

fn print_model(m: &Model, json: bool) {
    if json {
        crate::output::print_json(&serde_json::json!({
            "version": m.version, "training_hash": m.training_hash, "training_pairs": m.training_pairs,
            "training_positives": m.training_positives, "threshold": m.threshold,
            "weights": m.signals.iter().zip(&m.weights).collect::<BTreeMap<_, _>>(), "untrained": m.untrained,
        }));
    } else {
        println!("model {} trained on {} pairs ({} same operator), training hash {}", m.version, m.training_pairs, m.training_positives, m.training_hash);
        for (s, w) in m.signals.iter().zip(&m.weights) {
            let note = if m.untrained.contains(s) { " (prior: never seen in training)" } else { "" };
            println!("  {s:<12} weight {w:.3}{note}");
        }
    }
}

fn find_link(m: &Model, accounts: &[Account], id: &str) -> Result<Link> {
    // Ids depend only on the two accounts: find the pair, then score that one.
    let linker = Linker::new(m, accounts);
    linking::candidates(&linker.corpus)
        .into_iter()
        .find(|&(i, j)| linking::link_id(&accounts[i].id, &accounts[j].id) == id)
        .map(|(i, j)| linker.link(i, j))
        .with_context(|| format!("no candidate link {id} between the case's accounts"))
}

use case::decision_word;

/// `dragnet links`.
pub fn links(case: &mut Case, min_score: Option<f64>, json: bool, graphml: Option<&std::path::Path>, stix: Option<&std::path::Path>) -> Result<()> {
    let m = model(case, json)?;
    let accounts = case.link_accounts()?;
    let decisions = case.link_decisions()?;
    let min = min_score.unwrap_or(m.threshold);
    let linker = Linker::new(&m, &accounts);
    // The links in `link_all`'s order, built, exported and printed a batch
    // at a time: at a low --min-score a large case has millions, each with
    // its evidence (all of them held at once ran out of memory at 10,000
    // accounts).
    // Claimed and decided links are listed whatever their score, as in the report.
    let ranked = case::listed_pairs(&linker, min, &decisions);
    let touched = (graphml.is_some() || stix.is_some()).then(|| linking::export::touched_by_pairs(&accounts, &ranked));
    let touched = touched.as_deref().unwrap_or_default();
    let mut graphml = graphml.map(|path| Export::create(path, |out| linking::export::GraphmlWriter::new(out, touched))).transpose()?;
    let mut stix = match stix {
        Some(path) => {
            // Every object is stamped with the time of the case's newest
            // custody entry: the same case state gives the same bundle.
            let last = case.evidence().custody().entries()?.last().map(|e| e.time).unwrap_or_default();
            let stamp = last.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            Some(Export::create(path, |out| linking::export::StixWriter::new(out, touched, ranked.len(), &stamp))?)
        }
        None => None,
    };
    const BATCH: usize = 1 << 14;
    let mut below = 0;
    for batch in ranked.chunks(BATCH) {
        let batch = linker.links_of(batch);
        below += batch.iter().filter(|l| !l.hard && l.probability < min).count();
        if graphml.is_some() || stix.is_some() {
            let words: linking::export::Decisions = batch.iter().map(|l| (l.id.clone(), decision_word(decisions.get(&l.id)))).collect();
            if let Some(e) = &mut graphml {
                e.write(|w| w.links(&batch, &words))?;
            }
            if let Some(e) = &mut stix {
                e.write(|w| w.links(&batch, &words))?;
            }
        }
        print_links(&batch, &decisions, json);
    }
    if let Some(e) = graphml {
        e.finish(linking::export::GraphmlWriter::finish)?;
    }
    if let Some(e) = stix {
        e.finish(linking::export::StixWriter::finish)?;
    }
    if !json {
        println!(
            "{} links listed: {} with a hard identifier or at or above {min:.2}, {below} below it (market-verified claims and decided links are always listed); \
             confirm or reject with `dragnet link confirm|reject ID --why ...`",
            ranked.len(),
            ranked.len() - below
        );
        // Which model scored them, and where its error rates come from: a
        // model trained on the simulator is not measured on this case.
        let trained_on = case.link_model_trained_on(&m)?.unwrap_or_else(|| "(not in the custody log)".into());
        let hash = m.training_hash.get(..12).unwrap_or(&m.training_hash);
        let measured = if trained_on.starts_with("simulated case") {
            "its error rates are the simulator's; `dragnet link eval --truth names|claims|pgp` measures it on this case, \
             `dragnet link train --truth FILE` trains it on this case's labelled accounts"
        } else {
            "`dragnet link eval --truth FILE` measures it on the accounts held out"
        };
        println!("scored by model {} {hash}, trained on {trained_on}: {measured}", m.version);
    }
    Ok(())
}

/// An export file being written: under `PATH.partial` until it is whole,
/// then renamed to `PATH`, so a file at `PATH` is never a cut-off export
/// (`dragnet links --graphml G | head` ends the process mid-way).
struct Export<'p, W> {
    path: &'p std::path::Path,
    partial: std::path::PathBuf,
    writer: W,
}

impl<'p, W> Export<'p, W> {
    fn create(path: &'p std::path::Path, start: impl FnOnce(std::io::BufWriter<std::fs::File>) -> std::io::Result<W>) -> Result<Self> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = std::path::PathBuf::from(partial);
        let file = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let writer = start(std::io::BufWriter::new(file)).with_context(|| format!("writing {}", partial.display()))?;
        Ok(Export { path, partial, writer })
    }

    fn write(&mut self, f: impl FnOnce(&mut W) -> std::io::Result<()>) -> Result<()> {
        f(&mut self.writer).with_context(|| format!("writing {}", self.partial.display()))
    }

    fn finish(self, finish: impl FnOnce(W) -> std::io::Result<std::io::BufWriter<std::fs::File>>) -> Result<()> {
        let out = finish(self.writer).with_context(|| format!("writing {}", self.partial.display()))?;
        out.into_inner().map_err(|e| e.into_error()).and_then(|f| f.sync_all()).with_context(|| format!("writing {}", self.partial.display()))?;
        std::fs::rename(&self.partial, self.path).with_context(|| format!("renaming {} to {}", self.partial.display(), self.path.display()))
    }
}

/// Prints links as `dragnet links` does, one a line.
fn print_links(links: &[linking::Link], decisions: &BTreeMap<String, case::LinkDecision>, json: bool) {
    for l in links {
        let firing: Vec<&str> = l.evidence.iter().filter(|e| e.value > 0.0).map(|e| e.signal.as_str()).collect();
        let decision = decision_word(decisions.get(&l.id));
        if json {
            let signals: BTreeMap<&str, f64> = l.evidence.iter().map(|e| (e.signal.as_str(), e.value)).collect();
            crate::output::print_json(&serde_json::json!({
                "id": l.id, "a": l.a, "b": l.b, "probability": l.probability, "hard": l.hard,
                "status": l.status, "decision": decision, "signals": signals, "model": l.model,
            }));
        } else {
            println!(
                "{}  {} <-> {}  p={:.3}{}  [{}]  {}",
                l.id,
                l.a,
                l.b,
                l.probability,
                if l.hard { " HARD" } else { "" },
                firing.join(", "),
                decision
            );
        }
    }
}

/// `dragnet operator ID`: the operator (group of accounts joined by hard
/// links not rejected and by confirmed links) that holds account ID.
pub fn operator(case: &mut Case, id: &str, rates: &sales::Rates, json: bool) -> Result<()> {
    let m = model(case, json)?;
    let op = case.operator(&m, id, rates)?.with_context(|| format!("no account {id:?} (give market/vendor, as `dragnet links` prints)"))?;
    if json {
        crate::output::print_json(&op);
    } else {
        println!("operator of {id}: {} accounts", op.accounts.len());
        for r in &op.accounts {
            println!("  {}  seen {}..{}", r.account, r.first_seen.as_deref().unwrap_or("-"), r.last_seen.as_deref().unwrap_or("-"));
        }
        for l in &op.links {
            println!("  link {} p={:.3} hard={} {}", l.id, l.probability, l.hard, l.decision);
        }
        for (method, (s, r)) in &op.combined_sales_lower {
            // As `sales` says it: no revenue is known when no sale has a price.
            let unpriced = op.combined_unpriced_sales.get(method).copied().unwrap_or(0.0);
            let revenue = match r {
                None => "revenue n/a (no sale priced)".to_owned(),
                Some(r) if unpriced > 0.0 => format!("${r:.2} ({unpriced:.1} sales unpriced)"),
                Some(r) => format!("${r:.2}"),
            };
            println!("  combined {method}: {s:.1} sales, {revenue} (lower bounds)");
        }
        if op.accounts.len() == 1 {
            println!("  (no hard or confirmed link joins this account to another; see `dragnet links`)");
        }
    }
    Ok(())
}

/// `dragnet explain K-…`: every signal's evidence with its source rows, the
/// contributions, the model, and the analyst's decision.
pub fn explain(case: &mut Case, id: &str, json: bool) -> Result<()> {
    let m = model(case, json)?;
    let accounts = case.link_accounts()?;
    let l = find_link(&m, &accounts, id)?;
    let decision = case.link_decisions()?.remove(&l.id);
    if json {
        crate::output::print_json(&serde_json::json!({ "link": l, "decision": decision }));
        return Ok(());
    }
    println!("link {}: {} <-> {}", l.id, l.a, l.b);
    println!("probability {:.4} (logit {:.3}, bias {:.3}){}", l.probability, l.score.logit, l.score.bias, if l.hard { "; HARD identifier shared" } else { "" });
    println!("model {}", l.model);
    for (e, c) in l.evidence.iter().zip(&l.score.contributions) {
        let state = if e.missing { "missing" } else if e.value > 0.0 { "matches" } else { "no match" };
        println!("  {:<11} value {:.3} x weight {:.3} = {:+.3}  {state}{}", e.signal, e.value, c.weight, c.contribution, if e.hard { " (hard)" } else { "" });
        if !e.detail.is_empty() {
            println!("      {}", e.detail);
        }
        for s in e.sources.iter().take(6) {
            println!("      source {s}");
        }
    }
    match decision {
        Some(d) => println!("decision: {:?} by {} at {}: {}", d.decision, d.operator, d.at, d.why),
        None => println!("decision: none yet (soft links are never merged without one)"),
    }
    Ok(())
}
