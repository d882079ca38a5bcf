//! The scoring model: L2-regularized logistic regression over the signal
//! values, fitted by Newton's method (IRLS) on labelled pairs. Its output is
//! a probability (Platt-style: the logistic output itself, checked for
//! calibration by [`crate::evaluate`]) with each signal's additive share of
//! the log-odds. Stored as data (serde JSON): version, training-set hash,
//! coefficients, priors, the accounts it was trained on.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::signals::{SignalEvidence, CLAIMED, PGP, PGP_UID, SIGNALS};

/// Version of the model format and training procedure.
pub const MODEL_VERSION: &str = "linking-logreg-1";

/// Review threshold a model gets by default: links at or above it await an
/// analyst's decision.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// One labelled pair for training: the accounts, same operator or not, and
/// the signal values in [`SIGNALS`] order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledPair {
    /// First account id (`market/name`), the smaller of the two.
    pub a: String,
    /// Second account id.
    pub b: String,
    /// Same operator.
    pub label: bool,
    /// Signal values, [`SIGNALS`] order.
    pub features: Vec<f64>,
}

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// L2 penalty strength on weights (not the bias), pulling each weight
    /// toward its prior.
    pub l2: f64,
    /// Signals left out (weight fixed at 0).
    pub hidden: Vec<String>,
    /// Prior mean of a weight (default 0). A signal that never fires in the
    /// training data keeps its prior, and the model lists it as untrained.
    pub priors: BTreeMap<String, f64>,
    /// Also train the companion model with `pgp` hidden.
    pub companion_without_pgp: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            l2: 1.0,
            hidden: Vec::new(),
            // The simulator shows no claims and no key user ids, so these
            // two weights come from these priors, not from data (the model
            // says so in `untrained`). A claim alone or a user id alone
            // stays below the review threshold; with other evidence it helps.
            // A shared key is strong evidence on its own; in the simulator it
            // always comes with a shared contact, so the data alone cannot
            // tell how to split the weight between the two. The prior keeps
            // the key's share large.
            priors: [(PGP.to_owned(), 6.0), (CLAIMED.to_owned(), 4.0), (PGP_UID.to_owned(), 3.0)]
                .into_iter()
                .collect(),
            companion_without_pgp: true,
        }
    }
}

/// Why training failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainError {
    /// No positive or no negative pairs.
    OneClass {
        /// Positive pairs given.
        positives: usize,
        /// Negative pairs given.
        negatives: usize,
    },
    /// A pair's features do not have one value per signal.
    BadFeatures(String),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::OneClass { positives, negatives } => {
                write!(f, "training needs both classes: {positives} positive and {negatives} negative pairs")
            }
            TrainError::BadFeatures(p) => write!(f, "pair {p}: wrong number of features"),
        }
    }
}

impl std::error::Error for TrainError {}

/// A trained model, stored as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// [`MODEL_VERSION`] at training time.
    pub version: String,
    /// SHA-256 (hex) of the sorted training pairs with their labels and
    /// features (see [`training_hash`]).
    pub training_hash: String,
    /// Training pairs.
    pub training_pairs: usize,
    /// Of which positive.
    pub training_positives: usize,
    /// Signal names, in weight order.
    pub signals: Vec<String>,
    /// One weight per signal (log-odds per unit of signal value).
    pub weights: Vec<f64>,
    /// Intercept: the log-odds of a pair with no evidence at all.
    pub bias: f64,
    /// Prior means of the weights.
    pub priors: Vec<f64>,
    /// L2 strength used.
    pub l2: f64,
    /// Signals left out (weight 0).
    pub hidden: Vec<String>,
    /// Signals that never fired in training: their weight is the prior.
    pub untrained: Vec<String>,
    /// Signals whose fitted weight came out negative and was fixed at 0.
    pub clamped: Vec<String>,
    /// Per signal alone: the value threshold that maximized F1 on the
    /// training pairs (used to evaluate each signal by itself).
    pub signal_thresholds: BTreeMap<String, f64>,
    /// Review threshold on the probability.
    pub threshold: f64,
    /// Accounts in the training pairs; evaluation leaves them out.
    pub training_accounts: Vec<String>,
    /// The same model trained with `pgp` hidden, to measure the other
    /// signals without the hard identifier.
    pub without_pgp: Option<Box<Model>>,
}

/// One signal's share of a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Signal name.
    pub signal: String,
    /// Signal value on the pair.
    pub value: f64,
    /// The model's weight.
    pub weight: f64,
    /// `weight * value`: added to the log-odds.
    pub contribution: f64,
}

/// A scored pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Calibrated probability that one operator runs both accounts.
    pub probability: f64,
    /// Log-odds (`bias + sum of contributions`).
    pub logit: f64,
    /// The model's bias.
    pub bias: f64,
    /// Per-signal contributions, [`SIGNALS`] order.
    pub contributions: Vec<Contribution>,
    /// Some evidence is a hard identifier (shown as such, whatever the score).
    pub hard: bool,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// SHA-256 (hex) of the training set: one line per pair,
/// `a \t b \t 0|1 \t v1,v2,...` with values to six decimals, lines sorted.
pub fn training_hash(pairs: &[LabeledPair]) -> String {
    let mut lines: Vec<String> = pairs
        .iter()
        .map(|p| {
            let f: Vec<String> = p.features.iter().map(|v| format!("{v:.6}")).collect();
            format!("{}\t{}\t{}\t{}\n", p.a, p.b, u8::from(p.label), f.join(","))
        })
        .collect();
    lines.sort();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Solves `m x = v` (m symmetric positive definite here) by Gaussian
/// elimination with partial pivoting. `None` if singular.
fn solve(mut m: Vec<Vec<f64>>, mut v: Vec<f64>) -> Option<Vec<f64>> {
    let n = v.len();
    for c in 0..n {
        let p = (c..n).max_by(|&x, &y| m[x][c].abs().total_cmp(&m[y][c].abs()))?;
        if m[p][c].abs() < 1e-12 {
            return None;
        }
        m.swap(c, p);
        v.swap(c, p);
        for r in c + 1..n {
            let f = m[r][c] / m[c][c];
            if f != 0.0 {
                let pivot = m[c].clone();
                for (x, p) in m[r].iter_mut().zip(&pivot).skip(c) {
                    *x -= f * p;
                }
                v[r] -= f * v[c];
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| m[r][k] * x[k]).sum();
        x[r] = (v[r] - s) / m[r][r];
    }
    Some(x)
}

fn feature(p: &LabeledPair, j: usize, fixed: &[bool]) -> f64 {
    if j == fixed.len() {
        1.0
    } else if fixed[j] {
        0.0
    } else {
        let v = p.features[j];
        if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Penalized maximum likelihood by damped Newton. Returns weights then bias;
/// fixed weights are 0.
fn fit(pairs: &[LabeledPair], fixed: &[bool], priors: &[f64], l2: f64, positives: usize) -> Vec<f64> {
    let k = fixed.len();
    let x = |p: &LabeledPair, j: usize| feature(p, j, fixed);
    let prior = |j: usize| if fixed[j] { 0.0 } else { priors[j] };
    // Start at the priors and the base rate.
    let rate = positives as f64 / pairs.len() as f64;
    let mut beta: Vec<f64> = (0..k).map(prior).collect();
    beta.push((rate / (1.0 - rate)).ln());
    let loss = |beta: &[f64]| -> f64 {
        let mut l = 0.0;
        for p in pairs {
            let z: f64 = (0..=k).map(|j| beta[j] * x(p, j)).sum();
            // -log sigmoid(z) for positives, -log(1 - sigmoid(z)) for negatives.
            let m = if p.label { -z } else { z };
            l += if m > 0.0 { m + (-m).exp().ln_1p() } else { m.exp().ln_1p() };
        }
        l + (0..k).map(|j| 0.5 * l2 * (beta[j] - prior(j)).powi(2)).sum::<f64>()
    };
    for _ in 0..100 {
        let mut grad = vec![0.0; k + 1];
        let mut hess = vec![vec![0.0; k + 1]; k + 1];
        for p in pairs {
            let z: f64 = (0..=k).map(|j| beta[j] * x(p, j)).sum();
            let mu = sigmoid(z);
            let y = if p.label { 1.0 } else { 0.0 };
            let w = (mu * (1.0 - mu)).max(1e-12);
            for a in 0..=k {
                let xa = x(p, a);
                if xa == 0.0 {
                    continue;
                }
                grad[a] += (mu - y) * xa;
                for (b, h) in hess[a].iter_mut().enumerate() {
                    *h += w * xa * x(p, b);
                }
            }
        }
        for j in 0..k {
            grad[j] += l2 * (beta[j] - prior(j));
            hess[j][j] += l2;
        }
        hess[k][k] += 1e-9;
        let Some(step) = solve(hess, grad) else { break };
        // Damped Newton: halve the step until the penalized loss drops.
        let before = loss(&beta);
        let mut t = 1.0;
        let mut next = beta.clone();
        for _ in 0..40 {
            for j in 0..=k {
                next[j] = beta[j] - t * step[j];
            }
            if loss(&next) <= before + 1e-12 {
                break;
            }
            t *= 0.5;
        }
        let change = (0..=k).map(|j| (next[j] - beta[j]).abs()).fold(0.0, f64::max);
        beta = next;
        if change < 1e-10 {
            break;
        }
    }
    beta
}

/// Best threshold for one signal alone on labelled pairs (max F1; ties to
/// the lower threshold).
fn best_threshold(pairs: &[LabeledPair], k: usize) -> f64 {
    let mut best = (0.0, 0.5);
    for step in 1..=20 {
        let t = step as f64 * 0.05;
        let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
        for p in pairs {
            let pred = p.features[k] > 0.0 && p.features[k] >= t - 1e-9;
            match (pred, p.label) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fneg += 1.0,
                _ => {}
            }
        }
        let f1 = if tp == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fneg) };
        if f1 > best.0 + 1e-12 {
            best = (f1, t);
        }
    }
    best.1
}

impl Model {
    /// Fits the model on labelled pairs.
    pub fn train(pairs: &[LabeledPair], opts: &TrainOptions) -> Result<Model, TrainError> {
        let k = SIGNALS.len();
        if let Some(p) = pairs.iter().find(|p| p.features.len() != k) {
            return Err(TrainError::BadFeatures(format!("{} / {}", p.a, p.b)));
        }
        let positives = pairs.iter().filter(|p| p.label).count();
        if positives == 0 || positives == pairs.len() {
            return Err(TrainError::OneClass {
                positives,
                negatives: pairs.len() - positives,
            });
        }
        let hidden: Vec<bool> = SIGNALS.iter().map(|s| opts.hidden.iter().any(|h| h == s)).collect();
        let priors: Vec<f64> = SIGNALS
            .iter()
            .zip(&hidden)
            .map(|(s, &h)| if h { 0.0 } else { opts.priors.get(*s).copied().unwrap_or(0.0) })
            .collect();
        // Weights are kept non-negative: a signal's agreement never argues
        // against a link. A weight the fit drives below zero (text style is
        // the usual one: candidate generation picks the different-operator
        // pairs with similar text) is fixed at 0 and the rest refitted.
        let mut fixed = hidden.clone();
        let mut clamped = Vec::new();
        let beta = loop {
            let beta = fit(pairs, &fixed, &priors, opts.l2, positives);
            let neg: Vec<usize> = (0..k).filter(|&j| !fixed[j] && beta[j] < 0.0).collect();
            if neg.is_empty() {
                break beta;
            }
            for j in neg {
                fixed[j] = true;
                clamped.push(SIGNALS[j].to_owned());
            }
        };
        let x = |p: &LabeledPair, j: usize| feature(p, j, &hidden);
        let fired: Vec<bool> = (0..k).map(|j| pairs.iter().any(|p| x(p, j) > 0.0)).collect();
        let untrained = SIGNALS
            .iter()
            .enumerate()
            .filter(|&(j, _)| !hidden[j] && !fired[j])
            .map(|(_, s)| (*s).to_owned())
            .collect();
        let signal_thresholds = SIGNALS
            .iter()
            .enumerate()
            .map(|(j, s)| ((*s).to_owned(), best_threshold(pairs, j)))
            .collect();
        let accounts: BTreeSet<&str> = pairs.iter().flat_map(|p| [p.a.as_str(), p.b.as_str()]).collect();
        let without_pgp = if opts.companion_without_pgp && !opts.hidden.iter().any(|h| h == PGP) {
            let mut o = opts.clone();
            o.hidden.push(PGP.to_owned());
            o.companion_without_pgp = false;
            Some(Box::new(Model::train(pairs, &o)?))
        } else {
            None
        };
        Ok(Model {
            version: MODEL_VERSION.to_owned(),
            training_hash: training_hash(pairs),
            training_pairs: pairs.len(),
            training_positives: positives,
            signals: SIGNALS.iter().map(|s| (*s).to_owned()).collect(),
            weights: beta[..k].to_vec(),
            bias: beta[k],
            priors,
            l2: opts.l2,
            hidden: opts.hidden.clone(),
            untrained,
            clamped,
            signal_thresholds,
            threshold: DEFAULT_THRESHOLD,
            training_accounts: accounts.into_iter().map(str::to_owned).collect(),
            without_pgp,
        })
    }

    /// Scores a pair from its evidence (matched to weights by signal name;
    /// unknown signals are ignored, absent ones count as 0).
    pub fn score(&self, evidence: &[SignalEvidence]) -> Scored {
        let mut contributions = Vec::with_capacity(self.signals.len());
        let mut logit = self.bias;
        for (s, &w) in self.signals.iter().zip(&self.weights) {
            let value = evidence
                .iter()
                .find(|e| &e.signal == s)
                .map(|e| if e.value.is_finite() { e.value.clamp(0.0, 1.0) } else { 0.0 })
                .unwrap_or(0.0);
            let w = if self.hidden.contains(s) { 0.0 } else { w };
            let c = w * value;
            logit += c;
            contributions.push(Contribution {
                signal: s.clone(),
                value,
                weight: w,
                contribution: c,
            });
        }
        Scored {
            probability: sigmoid(logit),
            logit,
            bias: self.bias,
            contributions,
            hard: evidence.iter().any(|e| e.hard && !self.hidden.contains(&e.signal)),
        }
    }

    /// Scores a feature vector in [`SIGNALS`] order: the probability
    /// [`Model::score`] gives for evidence with these values, with the same
    /// arithmetic (so both agree to the last bit at a threshold).
    pub fn score_values(&self, values: &[f64]) -> f64 {
        let mut logit = self.bias;
        for ((s, &w), &v) in self.signals.iter().zip(&self.weights).zip(values) {
            let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
            let w = if self.hidden.contains(s) { 0.0 } else { w };
            logit += w * v;
        }
        sigmoid(logit)
    }

    /// The model as pretty JSON, for the case to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads [`Model::to_json`] output.
    pub fn from_json(s: &str) -> Result<Model, serde_json::Error> {
        serde_json::from_str(s)
    }
}
