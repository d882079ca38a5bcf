//! The fast path ([`Corpus::values`], used to score millions of candidates)
//! gives exactly the values and hard flag of the evidence path
//! ([`Corpus::features`], shown to people), and `link_all` keeps exactly the
//! links scoring every pair through its evidence would keep.

mod common;

use linking::*;
use proptest::prelude::*;

const FPS: [&str; 3] = [
    "0123456789ABCDEF0123456789ABCDEF01234567",
    "89ABCDEF0123456789ABCDEF0123456789ABCDEF",
    "FEDCBA9876543210FEDCBA9876543210FEDCBA98",
];

fn assert_same(corpus: &Corpus, i: usize, j: usize) {
    let evidence = corpus.features(i, j);
    let (values, hard) = corpus.values(i, j);
    let slow: Vec<f64> = evidence.iter().map(|e| e.value).collect();
    // Bit-equal, not close: a threshold must cut both paths the same way.
    assert_eq!(
        slow.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "{} / {}: evidence {slow:?} vs values {values:?}",
        corpus.accounts[i].id,
        corpus.accounts[j].id
    );
    assert_eq!(evidence.iter().any(|e| e.hard), hard, "{} / {}", corpus.accounts[i].id, corpus.accounts[j].id);
}

/// A small random account: facts from tiny vocabularies, so that pairs share
/// keys, names, contacts, places and dates often.
fn account() -> impl Strategy<Value = Account> {
    (
        0..3usize,
        prop::sample::select(vec![
            "VelvetFox",
            "v3lvetf0x",
            "VelvetFoxx",
            "pharma",
            "Pharma_UK",
            "GoldenOwl",
            "owl",
            "",
            "___",
        ]),
        prop::collection::vec((0..3usize, prop::option::of(0..3usize), 0..3usize), 0..3),
        prop::collection::vec(0..4usize, 0..3),
        prop::collection::vec(0..5usize, 0..3),
        prop::collection::vec((0..3usize, prop::option::of(0..2usize)), 0..2),
        prop::collection::vec((0..4usize, prop::option::of(0..3usize), 0..3usize, 0..3usize), 0..4),
        prop::option::of((0..400i64, 0..200i64)),
        prop::collection::vec(0..5usize, 0..3),
    )
        .prop_map(|(market, name, keys, btc, contacts, claims, listings, seen, photos)| {
            let markets = ["dream", "empire", "cryptonia"];
            let mut a = Account::new(markets[market], name);
            a.add_source(&format!("V-{market}-{name}"));
            for (k, sub, uid) in keys {
                let subkeys: Vec<String> = sub.map(|s| FPS[s].to_owned()).into_iter().collect();
                let uids =
                    [vec![], vec!["fox <fox@mail.example>".to_owned()], vec!["owl <OWL@mail.example>".to_owned()]];
                a.add_pgp(FPS[k], &subkeys, &uids[uid], "I-pgp");
            }
            for b in btc {
                a.add_btc(["1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "bc1qmarket", "bc1qa", "bc1qb"][b], "I-btc");
            }
            for c in contacts {
                a.add_contact(
                    ["jabber:fox@jabber.example", "fox@mail.example", "wickr:owl", "OWL@mail.example", "telegram:x"][c],
                    "I-c",
                );
            }
            for (m, acc) in claims {
                a.add_claim(
                    ["Dream Market", "empire", "cryptonia"][m],
                    acc.map(|x| ["VelvetFox", "Golden-Owl"][x]),
                    None,
                    None,
                    "V-claim",
                );
            }
            for (t, from, to, cat) in listings {
                let title = ["10g Amnesia Haze - Top Shelf", "10g amnesia haze top shelf!", "Tesla pills x10", ""][t];
                a.add_text(title, "L-t");
                let from = from.map(|f| ["germany", "Germany", "uk"][f]);
                let to =
                    [vec!["europe".to_owned()], vec!["worldwide".to_owned(), "europe".to_owned()], vec![]][to].clone();
                let cats = [vec!["Cannabis".to_owned(), "Flower".to_owned()], vec!["Stimulants".to_owned()], vec![]]
                    [cat]
                    .clone();
                a.add_listing_facts(from, &to, &cats, "L-t");
            }
            for p in photos {
                // Two pictures, one re-encoded 1 and 6 bits away, and a malformed hash.
                a.add_photo(["9f3a5c71e2d40b86", "9f3a5c71e2d40b87", "9f3a5c71e2d40bf9", "0f0f3c3ca5a57e7e", "xyz"][p], "L-p");
            }
            if let Some((first, len)) = seen {
                let d0 = parse_day("2019-01-01").unwrap();
                a.saw_on(d0 + chrono::Duration::days(first));
                a.saw_on(d0 + chrono::Duration::days(first + len));
            }
            a
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn values_match_features_on_random_accounts(accounts in prop::collection::vec(account(), 2..12)) {
        let corpus = Corpus::new(&accounts);
        for i in 0..accounts.len() {
            for j in 0..accounts.len() {
                if i != j {
                    assert_same(&corpus, i, j);
                }
            }
        }
    }
}

#[test]
fn values_match_features_on_sim_pairs() {
    let d = common::sim_data(11, 40, 3);
    let corpus = Corpus::new(&d.accounts);
    for (i, j) in all_pairs(d.accounts.len()) {
        assert_same(&corpus, i, j);
    }
}

#[test]
fn link_all_keeps_what_scoring_every_candidate_keeps() {
    let train = common::sim_data(1, 60, 3);
    let model = train_on(&train.accounts, &train.truth, &TrainOptions::default()).unwrap();
    // The trained model, one where the costly values (fuzzy name, text
    // cosine) decide many pairs, and one with a negative weight (no bounds).
    let mut costly = model.clone();
    costly.weights[5] = 6.0;
    costly.weights[6] = 6.0;
    let mut negative = model.clone();
    negative.weights[7] = -1.0;
    let d = common::sim_data(23, 120, 4);
    for model in [&model, &costly, &negative] {
        let linker = Linker::new(model, &d.accounts);
        for min_score in [0.0, 0.05, 0.5, 0.9] {
            let fast: Vec<(String, u64)> =
                linker.link_all(min_score).into_iter().map(|l| (l.id, l.probability.to_bits())).collect();
            let mut slow: Vec<linking::Link> = candidates(&linker.corpus)
                .into_iter()
                .map(|(i, j)| linker.link(i, j))
                .filter(|l| l.hard || l.probability >= min_score)
                .collect();
            slow.sort_by(|x, y| y.probability.total_cmp(&x.probability).then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b))));
            let slow: Vec<(String, u64)> = slow.into_iter().map(|l| (l.id, l.probability.to_bits())).collect();
            assert!(!slow.is_empty());
            assert_eq!(fast, slow, "min_score {min_score}");
            // The same links, ranked from their values and built a batch at
            // a time (as `dragnet links` prints them).
            let ranked = linker.ranked(&candidates(&linker.corpus), min_score);
            let batched: Vec<(String, u64)> =
                ranked.chunks(7).flat_map(|batch| linker.links_of(batch)).map(|l| (l.id, l.probability.to_bits())).collect();
            assert_eq!(batched, slow, "min_score {min_score}, a batch at a time");
            // Pairs kept whatever their score (decided links): every third
            // candidate, some twice and reversed, join the kept ones in order.
            let cands = candidates(&linker.corpus);
            let mut always: Vec<(usize, usize)> = cands.iter().step_by(3).copied().collect();
            always.extend(cands.iter().step_by(6).map(|&(i, j)| (j, i)));
            let kept: Vec<(String, u64)> =
                linker.links_of(&linker.ranked_keeping(&cands, min_score, &always)).into_iter().map(|l| (l.id, l.probability.to_bits())).collect();
            let forced: std::collections::BTreeSet<String> = always.iter().map(|&(i, j)| link_id(&d.accounts[i].id, &d.accounts[j].id)).collect();
            let mut want: Vec<linking::Link> = cands
                .iter()
                .map(|&(i, j)| linker.link(i, j))
                .filter(|l| l.hard || l.probability >= min_score || forced.contains(&l.id))
                .collect();
            want.sort_by(|x, y| y.probability.total_cmp(&x.probability).then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b))));
            let want: Vec<(String, u64)> = want.into_iter().map(|l| (l.id, l.probability.to_bits())).collect();
            assert!(want.len() > slow.len() || min_score == 0.0, "min_score {min_score}: nothing forced in");
            assert_eq!(kept, want, "min_score {min_score}, with pairs kept whatever their score");
        }
    }
}
