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
        assert!(t.truth.contains_key(a) && t.truth.get(a) == t.truth.get(b), "{a} / {b}");
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

#[test]
fn claims_truth_on_real_pages_and_datasets() {
    let mut dirs = Vec::new();
    for d in ["markets/pages", "listings/hansa-2016-12", "listings/dream-2017"] {
        let Some(p) = testdata::shared(d) else { return };
        dirs.push(p);
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut case = Case::init(&tmp.path().join("case"), "tester").unwrap();
    let opts = ImportOptions { captured_at: Some("2020-01-15T00:00:00Z".parse().unwrap()), ..ImportOptions::default() };
    case.import(&dirs, &opts, &NoProgress).unwrap();
    case.extract(&ExtractOptions::default(), &NoProgress).unwrap();
    let accounts = case.link_accounts().unwrap();
    let corpus = linking::Corpus::new(&accounts);
    let t = linking::claims_truth(&corpus);
    let c = |k: &str| t.counts.get(k).copied().unwrap_or(0);
    eprintln!("{} accounts; {:?}", accounts.len(), t.counts);
    assert_eq!(accounts.len(), 1568);
    // 86 claims on Cryptonia, Apollon and Empire profiles; 6 name an account
    // these files hold (the rest: markets not in the data, such as Wall
    // Street or AlphaBay, or vendors not captured there).
    assert_eq!((c("claims"), c("claims_matched"), c("claims_target_not_in_data")), (86, 6, 80));
    assert_eq!((c("claim_groups"), c("claim_pairs"), c("left_out_same_key"), c("accounts")), (5, 7, 4, 1564));
    assert_eq!(t.hides, vec!["claimed".to_owned(), "name".to_owned()]);
    // Read from the pages: empire/Chernobyl's profile imports its ratings
    // from Dream; cryptonia/TheShop's from Dream and Hansa.
    for group in [
        &["dream/Chernobyl", "empire/Chernobyl"][..],
        &["apollon/HumboldtGrower", "empire/HumboldtGrower"],
        &["cryptonia/TheShop", "dream/TheShop", "hansa/TheShop"],
        &["cryptonia/pornseller", "hansa/pornseller"],
        &["cryptonia/vessel", "hansa/vessel"],
    ] {
        let op = t.truth.get(group[0]).expect(group[0]);
        assert!(op.starts_with("claim-group-"), "{op}");
        for m in group {
            assert_eq!(t.truth.get(*m), Some(op), "{m}");
        }
    }
    // The third Chernobyl (White House) is on neither side of a claim: left out.
    assert_eq!(t.truth.get("whitehouse/Chernobyl"), None);
    // Where both truths label a pair they agree: vessel ships from one
    // country on both markets.
    let names = linking::name_truth(&corpus);
    assert_eq!(names.truth.get("cryptonia/vessel"), names.truth.get("hansa/vessel"));
    assert!(names.truth.contains_key("cryptonia/vessel"));

    // `dragnet links`, the report and /api/links list every pair a claim
    // joins, whatever its score: with a threshold no score reaches, what is
    // listed is listed for a claim (the data holds no hard identifier
    // shared by two accounts).
    let mut model = linking::train_on(&accounts, &t.truth, &linking::TrainOptions::default()).unwrap();
    model.threshold = 1.0;
    let links = case::scored_links(&model, &accounts, &Default::default());
    let listed: Vec<(&str, &str)> = links.iter().map(|l| (l.a.as_str(), l.b.as_str())).collect();
    eprintln!("{listed:?}");
    for pair in [
        ("cryptonia/vessel", "hansa/vessel"),
        ("dream/Chernobyl", "empire/Chernobyl"),
        ("apollon/HumboldtGrower", "empire/HumboldtGrower"),
        ("cryptonia/TheShop", "dream/TheShop"),
        ("cryptonia/TheShop", "hansa/TheShop"),
        ("cryptonia/pornseller", "hansa/pornseller"),
    ] {
        assert!(listed.contains(&pair), "{pair:?}");
    }
    assert_eq!(listed.len(), 6);
    assert!(links.iter().all(|l| !l.hard && l.probability < 1.0 && l.evidence.iter().any(|e| e.signal == "claimed" && e.value > 0.0)));
}

/// The photo signal on the White House pages (each listing row embeds its
/// thumbnail). Expected pairs computed independently with a Python script
/// over `dragnet listings --json` (Hamming distance of the hashes, a photo
/// common when 3 or more vendors show it within 4 bits): 479 accounts, one
/// picture shown by 9 vendors (a stock photo: not evidence), and 7 vendor
/// pairs with near photos, 4 of them byte-identical pictures.
#[test]
fn photo_signal_on_white_house_pages() {
    let Some(pages) = testdata::shared("markets/pages/whitehouse") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut case = Case::init(&tmp.path().join("case"), "tester").unwrap();
    case.import(&[pages], &ImportOptions::default(), &NoProgress).unwrap();
    case.extract(&ExtractOptions::default(), &NoProgress).unwrap();
    let accounts = case.link_accounts().unwrap();
    assert_eq!(accounts.len(), 479);
    let corpus = linking::Corpus::new(&accounts);
    let photo = |i: usize, j: usize| corpus.features(i, j).into_iter().find(|e| e.signal == linking::PHOTO).unwrap();
    let index = |name: &str| accounts.iter().position(|a| a.id == format!("whitehouse/{name}")).expect(name);
    let candidates: std::collections::BTreeSet<(usize, usize)> = linking::candidates(&corpus).into_iter().collect();
    let mut found = Vec::new();
    for (i, j) in candidates.iter().copied() {
        let e = photo(i, j);
        if e.value > 0.0 {
            assert!(e.sources.iter().all(|s| s.starts_with("L-")), "{:?}", e.sources);
            found.push((accounts[i].name.clone(), accounts[j].name.clone(), e.value));
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let want = [
        ("abatito", "goldapple", 3),
        ("bigone1", "eucarder", 2),
        ("calgreen", "fastmeds", 4),
        ("expresspharma", "medsguru", 0),
        ("goldenslash", "jackeenturbo", 0),
        ("mb420", "swissclock1", 0),
        ("thecheshirecat", "xxmarlboroxx", 0),
    ];
    let want: Vec<(String, String, f64)> = want
        .iter()
        .map(|&(a, b, bits)| (a.to_owned(), b.to_owned(), 1.0 - f64::from(bits) / f64::from(linking::PHOTO_MAX_BITS + 1)))
        .collect();
    assert_eq!(found, want, "every near-photo pair is a candidate, with its value");
    // The stock picture links none of its nine vendors.
    let e = photo(index("killdozer"), index("proshop"));
    assert_eq!(e.value, 0.0);
    assert!(e.detail.contains("stock photo"), "{}", e.detail);
}
