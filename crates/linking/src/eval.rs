//! Training-set construction, the operator split, and evaluation on
//! held-out ground truth: precision, recall and F1 per signal alone and
//! combined, at several thresholds, and a reliability curve.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::account::Account;
use crate::candidates::candidates_with_stats;
use crate::model::{LabeledPair, Model, TrainError, TrainOptions};
use crate::signals::{Corpus, PGP, SIGNALS};

/// Ground truth: account id (`market/name`) -> operator id. Accounts not in
/// the map are not evaluated.
pub type OperatorMap = BTreeMap<String, String>;

/// Splits operators by a hash of `salt` and the operator id: an operator
/// goes to the test side when the hash, as a fraction, is below
/// `test_share`. Returns (train, test). No operator is on both sides, so no
/// pair of one operator's accounts is in both.
pub fn split_by_operator(truth: &OperatorMap, test_share: f64, salt: &str) -> (OperatorMap, OperatorMap) {
    let is_test = |op: &str| {
        let h = Sha256::digest(format!("{salt}\n{op}").as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[..8]);
        (u64::from_be_bytes(b) as f64 / u64::MAX as f64) < test_share
    };
    truth.iter().map(|(a, o)| (a.clone(), o.clone())).partition(|(_, o)| !is_test(o))
}

/// Labelled pairs among `pairs` whose accounts are both in `truth`.
pub fn labeled_pairs(corpus: &Corpus, pairs: &[(usize, usize)], truth: &OperatorMap) -> Vec<LabeledPair> {
    let accounts = corpus.accounts;
    crate::link::parallel_map(pairs, |chunk| {
        chunk
        .iter()
        .filter_map(|&(i, j)| {
            let (a, b) = (&accounts[i], &accounts[j]);
            let (oa, ob) = (truth.get(&a.id)?, truth.get(&b.id)?);
            let (x, y) = if a.id <= b.id { (a, b) } else { (b, a) };
            Some(LabeledPair {
                a: x.id.clone(),
                b: y.id.clone(),
                label: oa == ob,
                features: corpus.values(i, j).0.to_vec(),
            })
        })
        .collect()
    })
}

/// Trains on the candidate pairs among the accounts in `truth` (positives:
/// same operator; negatives: different operators that blocking or LSH put
/// together, which include lookalike names, so the model learns on the
/// pairs it will score). Statistics (name ambiguity, IDF) come from all
/// `accounts`.
pub fn train_on(accounts: &[Account], truth: &OperatorMap, opts: &TrainOptions) -> Result<Model, TrainError> {
    let corpus = Corpus::new(accounts);
    let (pairs, _) = candidates_with_stats(&corpus);
    Model::train(&labeled_pairs(&corpus, &pairs, truth), opts)
}

/// Precision, recall, F1 with the counts behind them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Prf {
    /// tp / (tp + fp); 0 when nothing was predicted.
    pub precision: f64,
    /// tp / (tp + fn); 0 when there are no positives.
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives (including true pairs candidate generation missed).
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl Prf {
    /// From counts.
    pub fn from_counts(tp: usize, fp: usize, fn_: usize) -> Prf {
        let p = if tp + fp == 0 { 0.0 } else { tp as f64 / (tp + fp) as f64 };
        let r = if tp + fn_ == 0 { 0.0 } else { tp as f64 / (tp + fn_) as f64 };
        let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        Prf { precision: p, recall: r, f1, tp, fp, fn_ }
    }
}

/// Combined-model figures at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdPrf {
    /// Probability threshold.
    pub threshold: f64,
    /// Figures at it.
    #[serde(flatten)]
    pub prf: Prf,
}

/// One bin of the reliability curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower edge of predicted probability (inclusive).
    pub lower: f64,
    /// Upper edge (exclusive; the last bin includes 1).
    pub upper: f64,
    /// Pairs in the bin.
    pub pairs: usize,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Share of the bin's pairs that are same-operator.
    pub observed_rate: f64,
}

/// Evaluation on held-out truth. Serializes to one JSON object whose
/// `combined` and `signals` keys are the `link eval --json` interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The combined model at its review threshold.
    pub combined: Prf,
    /// Each signal alone (value at or above the model's per-signal threshold
    /// learned on training pairs). `pgp` is the hard identifier alone; the
    /// others are measured without it.
    pub signals: BTreeMap<String, Prf>,
    /// The companion model trained with `pgp` hidden, at the review
    /// threshold: what the other signals do together without the key.
    pub combined_without_pgp: Option<Prf>,
    /// The combined model at each requested threshold.
    pub by_threshold: Vec<ThresholdPrf>,
    /// Reliability curve over the evaluated candidate pairs (10 bins).
    pub calibration: Vec<CalibrationBin>,
    /// Review threshold used for `combined`.
    pub threshold: f64,
    /// Accounts evaluated.
    pub accounts: usize,
    /// Accounts with truth left out because the model was trained on them.
    pub excluded_training_accounts: usize,
    /// Candidate pairs among evaluated accounts.
    pub candidate_pairs: usize,
    /// Same-operator pairs among evaluated accounts (the recall base).
    pub truth_pairs: usize,
    /// Same-operator pairs candidate generation did not propose.
    pub missed_by_candidates: usize,
    /// Model version.
    pub model_version: String,
    /// Model training hash.
    pub training_hash: String,
    /// Signals the model was trained without and left out of `signals`
    /// (those that define the truth).
    pub hidden: Vec<String>,
}

/// Evaluates `model` on the accounts in `truth` that it was not trained on.
/// Candidates and statistics come from all `accounts` (as in a case); only
/// pairs of two evaluated accounts count. Recall counts every same-operator
/// pair, proposed by candidate generation or not.
pub fn evaluate(model: &Model, accounts: &[Account], truth: &OperatorMap, thresholds: &[f64]) -> Evaluation {
    let trained: BTreeSet<&str> = model.training_accounts.iter().map(String::as_str).collect();
    let mut excluded = 0;
    let eval: OperatorMap = truth
        .iter()
        .filter(|(a, _)| {
            let t = trained.contains(a.as_str());
            excluded += usize::from(t);
            !t
        })
        .map(|(a, o)| (a.clone(), o.clone()))
        .collect();
    let present: BTreeSet<&str> = accounts.iter().map(|a| a.id.as_str()).filter(|a| eval.contains_key(*a)).collect();
    // Positives: same-operator pairs among evaluated accounts present.
    let mut by_op: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in &present {
        by_op.entry(eval[*a].as_str()).or_default().push(a);
    }
    let truth_pairs: usize = by_op.values().map(|v| v.len() * v.len().saturating_sub(1) / 2).sum();

    let corpus = Corpus::new(accounts);
    let (pairs, _) = candidates_with_stats(&corpus);
    let labeled = labeled_pairs(&corpus, &pairs, &eval);
    let found = labeled.iter().filter(|p| p.label).count();

    let counts = |pred: &dyn Fn(&LabeledPair) -> bool| {
        let (mut tp, mut fp) = (0, 0);
        for p in &labeled {
            if pred(p) {
                if p.label {
                    tp += 1;
                } else {
                    fp += 1;
                }
            }
        }
        Prf::from_counts(tp, fp, truth_pairs - tp)
    };
    let probs: Vec<f64> = labeled.iter().map(|p| model.score_values(&p.features)).collect();
    let at = |t: f64| {
        let (mut tp, mut fp) = (0, 0);
        for (p, &q) in labeled.iter().zip(&probs) {
            if q >= t {
                if p.label {
                    tp += 1;
                } else {
                    fp += 1;
                }
            }
        }
        Prf::from_counts(tp, fp, truth_pairs - tp)
    };
    // A hidden signal defined the truth (or is not in the model): grading
    // it here would be circular, so it is left out and listed.
    let signals = SIGNALS
        .iter()
        .enumerate()
        .filter(|(_, s)| !model.hidden.iter().any(|h| h == *s))
        .map(|(k, s)| {
            let t = model.signal_thresholds.get(*s).copied().unwrap_or(0.5);
            ((*s).to_owned(), counts(&|p: &LabeledPair| p.features[k] > 0.0 && p.features[k] >= t - 1e-9))
        })
        .collect();
    let combined_without_pgp = model.without_pgp.as_ref().map(|m| {
        debug_assert!(m.hidden.iter().any(|h| h == PGP));
        counts(&|p: &LabeledPair| m.score_values(&p.features) >= m.threshold)
    });
    let mut calibration = Vec::new();
    for b in 0..10 {
        let (lo, hi) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
        let inside: Vec<(f64, bool)> = labeled
            .iter()
            .zip(&probs)
            .filter(|(_, &q)| q >= lo && (q < hi || (b == 9 && q <= 1.0)))
            .map(|(p, &q)| (q, p.label))
            .collect();
        let n = inside.len();
        calibration.push(CalibrationBin {
            lower: lo,
            upper: hi,
            pairs: n,
            mean_predicted: if n == 0 { 0.0 } else { inside.iter().map(|x| x.0).sum::<f64>() / n as f64 },
            observed_rate: if n == 0 { 0.0 } else { inside.iter().filter(|x| x.1).count() as f64 / n as f64 },
        });
    }
    Evaluation {
        combined: at(model.threshold),
        signals,
        combined_without_pgp,
        by_threshold: thresholds.iter().map(|&t| ThresholdPrf { threshold: t, prf: at(t) }).collect(),
        calibration,
        threshold: model.threshold,
        accounts: present.len(),
        excluded_training_accounts: excluded,
        candidate_pairs: labeled.len(),
        truth_pairs,
        missed_by_candidates: truth_pairs - found,
        model_version: model.version.clone(),
        training_hash: model.training_hash.clone(),
        hidden: model.hidden.clone(),
    }
}

impl Evaluation {
    /// The evaluation as one JSON object (`combined`, `signals`, ...).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
