//! Evaluation on the simulator's truth: the model is trained on some
//! operators and measured on the others (never on training pairs); F1 and
//! calibration floors are assertions. Per-signal figures are printed
//! (`cargo test -p linking --test sim_eval -- --nocapture`).

mod common;

use std::collections::BTreeSet;

use linking::*;

const SEEDS: [u64; 3] = [11, 23, 37];
const OPERATORS: usize = 300;
const MARKETS: usize = 4;
const THRESHOLDS: [f64; 5] = [0.1, 0.3, 0.5, 0.7, 0.9];

fn print_eval(label: &str, e: &Evaluation) {
    eprintln!(
        "== {label}: {} accounts, {} truth pairs, {} candidate pairs, {} missed by candidates",
        e.accounts, e.truth_pairs, e.candidate_pairs, e.missed_by_candidates
    );
    let row = |name: &str, p: &Prf| {
        eprintln!(
            "  {name:<22} P {:.3}  R {:.3}  F1 {:.3}  (tp {} fp {} fn {})",
            p.precision, p.recall, p.f1, p.tp, p.fp, p.fn_
        )
    };
    row("combined @0.5", &e.combined);
    if let Some(p) = &e.combined_without_pgp {
        row("combined without pgp", p);
    }
    for t in &e.by_threshold {
        row(&format!("combined @{}", t.threshold), &t.prf);
    }
    for (s, p) in &e.signals {
        row(&format!("signal {s}"), p);
    }
}

/// Pools reliability bins of several evaluations.
fn pooled(evals: &[&Evaluation]) -> Vec<(f64, f64, usize, f64, f64)> {
    (0..10)
        .map(|b| {
            let bins: Vec<&CalibrationBin> = evals.iter().map(|e| &e.calibration[b]).collect();
            let n: usize = bins.iter().map(|x| x.pairs).sum();
            let pred: f64 = bins.iter().map(|x| x.mean_predicted * x.pairs as f64).sum();
            let obs: f64 = bins.iter().map(|x| x.observed_rate * x.pairs as f64).sum();
            let (lo, hi) = (bins[0].lower, bins[0].upper);
            if n == 0 {
                (lo, hi, 0, 0.0, 0.0)
            } else {
                (lo, hi, n, pred / n as f64, obs / n as f64)
            }
        })
        .collect()
}

fn check_calibration(label: &str, bins: &[(f64, f64, usize, f64, f64)]) {
    eprintln!("== reliability ({label}), pooled over seeds {SEEDS:?}");
    let mut total = 0;
    let mut ece = 0.0;
    for &(lo, hi, n, pred, obs) in bins {
        eprintln!("  [{lo:.1}, {hi:.1})  pairs {n:>6}  predicted {pred:.3}  observed {obs:.3}");
        total += n;
        ece += n as f64 * (pred - obs).abs();
        if n >= 30 {
            assert!((pred - obs).abs() <= 0.1, "{label}: bin [{lo}, {hi}) predicted {pred:.3} observed {obs:.3} over {n} pairs");
        }
    }
    let ece = ece / total as f64;
    eprintln!("  expected calibration error {ece:.4}");
    assert!(ece <= 0.02, "{label}: ECE {ece}");
}

#[test]
fn held_out_sim_figures() {
    let mut evals = Vec::new();
    let mut soft_evals = Vec::new();
    for seed in SEEDS {
        let d = common::sim_data(seed, OPERATORS, MARKETS);
        let (train, test) = split_by_operator(&d.truth, 0.4, &format!("seed{seed}"));
        // No operator on both sides.
        let train_ops: BTreeSet<&String> = train.values().collect();
        assert!(test.values().all(|o| !train_ops.contains(o)));
        assert!(!train.is_empty() && !test.is_empty());

        let model = train_on(&d.accounts, &train, &TrainOptions::default()).unwrap();
        eprintln!(
            "seed {seed}: model {} trained on {} pairs ({} positive), hash {}; weights {:?}, bias {:.2}; untrained {:?}; clamped {:?}",
            model.version,
            model.training_pairs,
            model.training_positives,
            &model.training_hash[..16],
            model.signals.iter().zip(&model.weights).map(|(s, w)| format!("{s}={w:.2}")).collect::<Vec<_>>(),
            model.bias,
            model.untrained,
            model.clamped,
        );
        // Evaluating with the whole truth leaves the training accounts out.
        let e = evaluate(&model, &d.accounts, &d.truth, &THRESHOLDS);
        assert_eq!(e.excluded_training_accounts, train.len());
        let only_test = evaluate(&model, &d.accounts, &test, &THRESHOLDS);
        assert_eq!(only_test.excluded_training_accounts, 0);
        assert_eq!(e, Evaluation { excluded_training_accounts: e.excluded_training_accounts, ..only_test });
        print_eval(&format!("seed {seed}, all signals"), &e);
        assert!(e.truth_pairs > 100, "{}", e.truth_pairs);
        assert!(e.combined.f1 >= 0.9, "seed {seed}: combined F1 {}", e.combined.f1);
        assert!(e.combined_without_pgp.unwrap().f1 >= 0.9);
        // The key alone is precise (the simulator never reuses a key across
        // operators) but misses every new key.
        let pgp = e.signals[PGP];
        assert!(pgp.precision >= 0.99 && pgp.recall < 0.95, "{pgp:?}");
        // The name alone falls for lookalikes: less precise than the model.
        assert!(e.signals[NAME].precision < e.combined.precision);
        // Signals the simulator cannot exercise are reported, at zero.
        for s in [CLAIMED, PGP_UID, TIMELINE] {
            assert_eq!(e.signals[s].tp + e.signals[s].fp, 0, "{s}");
        }

        // Without any identifier (pgp, btc, contacts hidden): what names,
        // text, shipping and categories do alone.
        let soft = TrainOptions {
            hidden: vec![PGP.into(), BTC.into(), CONTACT.into()],
            ..TrainOptions::default()
        };
        let model = train_on(&d.accounts, &train, &soft).unwrap();
        let e2 = evaluate(&model, &d.accounts, &test, &THRESHOLDS);
        print_eval(&format!("seed {seed}, identifiers hidden"), &e2);
        assert!(e2.combined.f1 >= 0.85, "seed {seed}: soft-only F1 {}", e2.combined.f1);

        // The interface JSON.
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        for k in ["precision", "recall", "f1"] {
            assert!(v["combined"][k].is_f64(), "{k}");
            for s in SIGNALS {
                assert!(v["signals"][s][k].is_f64(), "{s} {k}");
            }
        }
        evals.push(e);
        soft_evals.push(e2);
    }
    check_calibration("all signals", &pooled(&evals.iter().collect::<Vec<_>>()));
    check_calibration("identifiers hidden", &pooled(&soft_evals.iter().collect::<Vec<_>>()));
}

#[test]
fn candidates_find_every_true_pair_without_all_pairs() {
    let d = common::sim_data(11, OPERATORS, MARKETS);
    let corpus = Corpus::new(&d.accounts);
    let (pairs, stats) = candidates_with_stats(&corpus);
    let n = d.accounts.len();
    eprintln!("{n} accounts, {} of {} pairs are candidates: {stats:?}", pairs.len(), n * (n - 1) / 2);
    assert!(pairs.len() < n * (n - 1) / 2 / 5);
    let index: std::collections::BTreeMap<&str, usize> = d.accounts.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    let set: BTreeSet<(usize, usize)> = pairs.into_iter().collect();
    let truth = d.sim.same_operator_pairs();
    let missed: Vec<&(String, String)> = truth
        .iter()
        .filter(|(a, b)| {
            let (i, j) = (index[a.as_str()], index[b.as_str()]);
            !set.contains(&(i.min(j), i.max(j)))
        })
        .collect();
    assert!(missed.is_empty(), "{missed:?}");
}
