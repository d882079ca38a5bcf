//! Vendor-linking ground truth from the real listing datasets: name matches
//! across markets confirmed by a shared origin country (`linking::name_truth`).
//! The figures are read from the data (see docs/methods.md, "Real data:
//! name matches confirmed by origin").

use case::{Case, ExtractOptions, ImportOptions, NoProgress};

#[test]
fn name_truth_on_four_real_datasets() {
    let mut dirs = Vec::new();
    for d in ["listings/hansa-2016-12", "listings/grams-2014", "listings/dream-2017", "listings/whitehouse-2021"] {
        let Some(p) = testdata::shared(d) else { return };
        dirs.push(p);
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut case = Case::init(&tmp.path().join("case"), "tester").unwrap();
    case.import(&dirs, &ImportOptions::default(), &NoProgress).unwrap();
    case.extract(&ExtractOptions::default(), &NoProgress).unwrap();
    let accounts = case.link_accounts().unwrap();
    let t = linking::name_truth(&linking::Corpus::new(&accounts));
    let c = |k: &str| t.counts.get(k).copied().unwrap_or(0);
    eprintln!("{} accounts; {:?}", accounts.len(), t.counts);
    assert_eq!(accounts.len(), 867);
    // 25 name keys on two or more markets; 16 confirmed by a shared origin
    // country (16 pairs), 9 accounts with a different origin and 9 with
    // none left out; 849 accounts labelled.
    assert_eq!(
        (c("shared_keys"), c("confirmed_keys"), c("confirmed_pairs"), c("confirmed_accounts")),
        (25, 16, 16, 32)
    );
    assert_eq!((c("left_out_unconfirmed"), c("left_out_without_origin"), c("accounts")), (9, 9, 849));
    // Read from the files: DutchBulk ships from DE on Dream and "Germany" on
    // Hansa (name "DUTCHBULK"); MeltDown is on Black Bank (Grams) and Dream.
    for (a, b) in [("dream/DutchBulk", "hansa/DUTCHBULK"), ("blackbank/MeltDown", "dream/MeltDown"), ("1776/bcdirect", "blackbank/BCDirect"), ("dream/Mr.Erection", "hansa/MrErection")] {
        assert!(t.truth.get(a).is_some() && t.truth.get(a) == t.truth.get(b), "{a} / {b}");
    }
    // Every labelled pair is a candidate (name blocking), so an evaluation
    // against this truth grades the other signals on all 16.
    let corpus = linking::Corpus::new(&accounts);
    let candidates: std::collections::BTreeSet<(usize, usize)> = linking::candidates(&corpus).into_iter().collect();
    let mut positives = 0;
    for (i, j) in linking::all_pairs(accounts.len()) {
        let (a, b) = (t.truth.get(&accounts[i].id), t.truth.get(&accounts[j].id));
        if a.is_some() && a == b {
            positives += 1;
            assert!(candidates.contains(&(i, j)), "{} / {}", accounts[i].id, accounts[j].id);
        }
    }
    assert_eq!(positives, 16);
}
