//! Links: scored candidate pairs with their evidence, for an analyst to
//! confirm or reject, and operators as groups of accounts joined only by
//! hard identifiers or confirmed links (never by soft evidence alone).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::account::Account;
use crate::candidates::candidates;
use crate::model::{Model, Scored};
use crate::signals::{Corpus, SignalEvidence, SIGNALS};

/// What a link is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// A hard identifier (same PGP key) joins the accounts. Still shown with
    /// its score and open to rejection (a shared key can be a market's key
    /// or a stolen one).
    Hard,
    /// Soft evidence only, at or above the review threshold: awaits an
    /// analyst's confirm or reject. Never merged automatically.
    Review,
    /// Soft evidence only, below the model's threshold: a lead listed on
    /// request (`--min-score`) or for a decision or a market-verified claim.
    /// (Such links were called `review` too; found by a review.)
    BelowThreshold,
}

/// A proposed link between two accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Stable id, `K-` + 16 hex of SHA-256 of `a \n b` ([`link_id`]).
    pub id: String,
    /// First account (`market/name`, the smaller id).
    pub a: String,
    /// Second account.
    pub b: String,
    /// Calibrated probability of one operator.
    pub probability: f64,
    /// A hard identifier is among the evidence.
    pub hard: bool,
    /// Hard or awaiting review.
    pub status: LinkStatus,
    /// Every signal's evidence, [`crate::SIGNALS`] order.
    pub evidence: Vec<SignalEvidence>,
    /// The score with per-signal contributions.
    pub score: Scored,
    /// Model version and training hash that scored it.
    pub model: String,
}

/// The id of the link between accounts `a` and `b` (order does not matter).
pub fn link_id(a: &str, b: &str) -> String {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    let h = Sha256::digest(format!("{x}\n{y}").as_bytes());
    format!("K-{}", &hex::encode(h)[..16])
}

/// A model over a set of accounts: candidates, scores, links.
#[derive(Debug, Clone)]
pub struct Linker<'a> {
    /// Per-account data and statistics.
    pub corpus: Corpus<'a>,
    /// The model.
    pub model: &'a Model,
}

impl<'a> Linker<'a> {
    /// Prepares linking over `accounts`.
    pub fn new(model: &'a Model, accounts: &'a [Account]) -> Linker<'a> {
        Linker { corpus: Corpus::new(accounts), model }
    }

    /// Scores accounts `i` and `j` (indices into the accounts).
    pub fn link(&self, i: usize, j: usize) -> Link {
        let accounts = self.corpus.accounts;
        let (i, j) = self.ordered(i, j);
        let (a, b) = (&accounts[i], &accounts[j]);
        let evidence = self.corpus.features(i, j);
        let score = self.model.score(&evidence);
        let hard = evidence.iter().any(|e| e.hard);
        Link {
            id: link_id(&a.id, &b.id),
            a: a.id.clone(),
            b: b.id.clone(),
            probability: score.probability,
            hard,
            status: match (hard, score.probability >= self.model.threshold) {
                (true, _) => LinkStatus::Hard,
                (false, true) => LinkStatus::Review,
                (false, false) => LinkStatus::BelowThreshold,
            },
            evidence,
            score,
            model: format!("{} {}", self.model.version, self.model.training_hash),
        }
    }

    /// The link between two accounts by id (for `explain LINK`), scored
    /// whether or not it is a candidate. `None` if an id is unknown.
    pub fn link_by_id(&self, a: &str, b: &str) -> Option<Link> {
        let accounts = self.corpus.accounts;
        let i = accounts.iter().position(|x| x.id == a)?;
        let j = accounts.iter().position(|x| x.id == b)?;
        (i != j).then(|| self.link(i, j))
    }

    /// Every candidate link with a hard identifier or a probability of at
    /// least `min_score`, most probable first (ties by ids).
    ///
    /// Candidates are scored from their values alone ([`Corpus::values`],
    /// on every core); evidence is built only for the pairs kept.
    pub fn link_all(&self, min_score: f64) -> Vec<Link> {
        self.links_among(&candidates(&self.corpus), min_score)
    }

    /// [`Linker::link_all`] over the given pairs instead of the candidates.
    pub fn links_among(&self, pairs: &[(usize, usize)], min_score: f64) -> Vec<Link> {
        self.links_of(&self.ranked(pairs, min_score))
    }

    /// The pairs [`Linker::links_among`] keeps, in its order (most probable
    /// first, ties by ids), as account indices `(a, b)` for
    /// [`Linker::links_of`]: a caller builds and drops the links a batch at
    /// a time. At a low `min_score` a large case keeps millions of links,
    /// each with its evidence and the rows it rests on: `dragnet links
    /// --min-score 0` on 10,000 accounts (1.6M candidates) ran out of memory
    /// holding them.
    pub fn ranked(&self, pairs: &[(usize, usize)], min_score: f64) -> Vec<(usize, usize)> {
        self.rank(self.keep(pairs, min_score))
    }

    /// [`Linker::ranked`], with the pairs of `always` kept whatever their
    /// score (the links an analyst decided: a confirmed or rejected link
    /// stays in view), each pair once.
    pub fn ranked_keeping(&self, pairs: &[(usize, usize)], min_score: f64, always: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let mut kept = self.keep(pairs, min_score);
        let mut have: std::collections::HashSet<(usize, usize)> = kept.iter().map(|&(i, j)| self.ordered(i, j)).collect();
        kept.extend(always.iter().map(|&(i, j)| self.ordered(i, j)).filter(|&(i, j)| i != j && have.insert((i, j))));
        self.rank(kept)
    }

    /// The pairs among `pairs` that a market-verified claim joins (the
    /// `claimed` signal fires: one account's market says it proved control
    /// of the other). Listed for review whatever their score: the default
    /// model's weight for a claim is a prior (the simulator shows none), and
    /// on real captures a claim with the same name and origin scores about
    /// 0.12, below any useful threshold, though the market's verification is
    /// the best evidence those captures hold (docs/methods.md, "market-verified
    /// claimed accounts"). A claim never joins an operator by itself.
    pub fn claimed_pairs(&self, pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let accounts = self.corpus.accounts;
        pairs
            .iter()
            .copied()
            .filter(|&(i, j)| !(accounts[i].claimed.is_empty() && accounts[j].claimed.is_empty()))
            .filter(|&(i, j)| self.corpus.claimed_value(i, j) > 0.0)
            .collect()
    }

    /// `kept` in [`Linker::ranked`]'s order.
    fn rank(&self, kept: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
        let mut scored: Vec<(f64, usize, usize)> = parallel_map(&kept, |chunk| {
            chunk
                .iter()
                .map(|&(i, j)| {
                    let (i, j) = self.ordered(i, j);
                    (self.probability(i, j), i, j)
                })
                .collect()
        });
        let id = |i: usize| self.corpus.accounts[i].id.as_str();
        scored.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| (id(x.1), id(x.2)).cmp(&(id(y.1), id(y.2)))));
        scored.into_iter().map(|(_, i, j)| (i, j)).collect()
    }

    /// The links of `pairs`, in their order (built on every core).
    pub fn links_of(&self, pairs: &[(usize, usize)]) -> Vec<Link> {
        parallel_map(pairs, |chunk| chunk.iter().map(|&(i, j)| self.link(i, j)).collect())
    }

    /// Whether the model's signals are this build's, so that a pair's
    /// probability can come from its values ([`Corpus::values`]) rather
    /// than its evidence.
    fn scores_values(&self) -> bool {
        self.model.signals.iter().map(String::as_str).eq(SIGNALS.iter().copied())
    }

    /// `(i, j)` in the order [`Linker::link`] puts them (by account id).
    fn ordered(&self, i: usize, j: usize) -> (usize, usize) {
        let accounts = self.corpus.accounts;
        if accounts[i].id <= accounts[j].id { (i, j) } else { (j, i) }
    }

    /// [`Linker::link`]'s probability, from the signal values alone where the
    /// model has this build's signals (no evidence built).
    fn probability(&self, i: usize, j: usize) -> f64 {
        if !self.scores_values() {
            return self.link(i, j).probability;
        }
        let (mut values, _) = self.corpus.cheap_values(i, j);
        self.corpus.fill_costly_values(i, j, &mut values);
        self.model.score_values(&values)
    }

    /// The pairs among `pairs` that [`Linker::link`] would give a hard
    /// identifier or a probability of at least `min_score`.
    pub fn keep(&self, pairs: &[(usize, usize)], min_score: f64) -> Vec<(usize, usize)> {
        if !self.scores_values() {
            // A model with other signals: score through the evidence.
            return pairs
                .iter()
                .copied()
                .filter(|&(i, j)| {
                    let l = self.link(i, j);
                    l.hard || l.probability >= min_score
                })
                .collect();
        }
        // With no negative weight the probability only grows with each value
        // (and so does its floating-point sum), so the cheap values bound it:
        // scored with the costly ones at 0 it is a lower bound, at 1 an
        // upper one. The costly values are computed only when the bounds
        // straddle `min_score`; the decision is the same either way.
        let monotone = self.model.weights.iter().all(|w| *w >= 0.0);
        parallel_map(pairs, |chunk| {
            chunk
                .iter()
                .copied()
                .filter(|&(i, j)| {
                    let (mut values, hard) = self.corpus.cheap_values(i, j);
                    if hard {
                        return true;
                    }
                    if monotone {
                        if self.model.score_values(&values) >= min_score {
                            return true;
                        }
                        let mut upper = values;
                        for k in Corpus::COSTLY {
                            upper[k] = 1.0;
                        }
                        if self.model.score_values(&upper) < min_score {
                            return false;
                        }
                    }
                    self.corpus.fill_costly_values(i, j, &mut values);
                    self.model.score_values(&values) >= min_score
                })
                .collect()
        })
    }
}

/// Union-find root of `x` with path halving (operators, real-data truths).
pub(crate) fn find(p: &mut [usize], mut x: usize) -> usize {
    while p[x] != x {
        p[x] = p[p[x]];
        x = p[x];
    }
    x
}

/// `f` over contiguous chunks of `items` on every available core, results
/// concatenated in order (so the output does not depend on the core count).
pub(crate) fn parallel_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&[T]) -> Vec<U> + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 4096 {
        return f(items);
    }
    let size = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(size).map(|c| s.spawn(|| f(c))).collect();
        handles.into_iter().flat_map(|h| h.join().expect("linking worker panicked")).collect()
    })
}

/// [`Linker::link_all`] in one call.
pub fn link_all(model: &Model, accounts: &[Account], min_score: f64) -> Vec<Link> {
    Linker::new(model, accounts).link_all(min_score)
}

/// An analyst's decision on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Same operator.
    Confirmed,
    /// Not the same operator (or not enough to say so).
    Rejected,
}

/// Operators: groups of accounts joined by hard links the analyst has not
/// rejected and by confirmed links. Soft links without a decision join
/// nothing. Every account in `links` appears in exactly one group; groups
/// and their members are sorted.
pub fn operators(links: &[Link], decisions: &BTreeMap<String, Decision>) -> Vec<Vec<String>> {
    let mut ids: Vec<&str> = links.iter().flat_map(|l| [l.a.as_str(), l.b.as_str()]).collect();
    ids.sort_unstable();
    ids.dedup();
    let index = |s: &str| ids.binary_search(&s).unwrap_or(0);
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    for l in links {
        let joins = match decisions.get(&l.id) {
            Some(Decision::Confirmed) => true,
            Some(Decision::Rejected) => false,
            None => l.hard,
        };
        if joins {
            let (x, y) = (find(&mut parent, index(&l.a)), find(&mut parent, index(&l.b)));
            parent[x.max(y)] = x.min(y);
        }
    }
    let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push((*id).to_owned());
    }
    let mut out: Vec<Vec<String>> = groups.into_values().collect();
    out.sort();
    out
}
