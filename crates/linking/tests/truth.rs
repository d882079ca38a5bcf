//! Ground truth from real data: which accounts `name_truth` and `pgp_truth`
//! label, which they leave out, and what they hide.

use linking::*;

fn acc(market: &str, name: &str, origins: &[&str]) -> Account {
    let mut a = Account::new(market, name);
    a.add_source(&format!("V-{market}-{name}"));
    for o in origins {
        a.add_listing_facts(Some(o), &[], &[], &format!("L-{market}-{name}-{o}"));
    }
    a
}

#[test]
fn name_matches_need_a_shared_origin_country() {
    let accounts = vec![
        // Confirmed: same key on two markets, USA = United States.
        acc("agora", "Velvet_Fox", &["USA"]),
        acc("hansa", "velvetfox", &["United States", "Worldwide"]),
        // Different origins: left out (label unknown), not called different.
        acc("agora", "GoldenOwl", &["Germany"]),
        acc("hansa", "Golden-Owl", &["Canada"]),
        // One side states no country (a region, "Torland"): left out.
        acc("agora", "BlueHeron", &["EU"]),
        acc("dream", "BlueHeron", &["Torland"]),
        // Generic key: left out however the origins agree.
        acc("agora", "Pharma", &["UK"]),
        acc("hansa", "pharma", &["United Kingdom"]),
        // Ambiguous: two accounts of one market share the key.
        acc("agora", "RedKite", &["NL"]),
        acc("agora", "red_kite", &["NL"]),
        acc("hansa", "RedKite", &["Netherlands"]),
        // Chained through a third account: A-B share DE, B-C share AT.
        acc("agora", "Silver Moth", &["Germany"]),
        acc("hansa", "SilverMoth", &["Germany", "Austria"]),
        acc("dream", "silvermoth", &["AT"]),
        // Two groups of one name in two countries: left out.
        acc("agora", "GreyWolf", &["France"]),
        acc("hansa", "GreyWolf", &["FR"]),
        acc("dream", "GreyWolf", &["Spain"]),
        acc("whitehouse", "GreyWolf", &["ES"]),
        // One market only: its own operator.
        acc("agora", "Lonely", &["Peru"]),
        // Confirmed pair plus a third account without any origin: the third is left out.
        acc("agora", "TealDuck", &["Italy"]),
        acc("hansa", "TealDuck", &["IT"]),
        acc("dream", "TealDuck", &[]),
    ];
    let corpus = Corpus::new(&accounts);
    let t = name_truth(&corpus);
    assert_eq!(t.source, "names");
    assert_eq!(t.hides, vec![NAME.to_owned(), SHIPPING.to_owned()]);
    let op = |id: &str| t.truth.get(id).cloned();
    assert_eq!(op("agora/Velvet_Fox"), Some("name:velvetfox".into()));
    assert_eq!(op("hansa/velvetfox"), op("agora/Velvet_Fox"));
    assert_eq!(op("agora/Silver Moth"), op("dream/silvermoth"));
    assert!(op("agora/Silver Moth").is_some());
    assert_eq!(op("agora/TealDuck"), op("hansa/TealDuck"));
    assert_eq!(op("agora/Lonely"), Some("account:agora/Lonely".into()));
    for left_out in [
        "agora/GoldenOwl", "hansa/Golden-Owl", "agora/BlueHeron", "dream/BlueHeron", "agora/Pharma", "hansa/pharma",
        "agora/RedKite", "agora/red_kite", "hansa/RedKite", "agora/GreyWolf", "hansa/GreyWolf", "dream/GreyWolf",
        "whitehouse/GreyWolf", "dream/TealDuck",
    ] {
        assert_eq!(op(left_out), None, "{left_out}");
    }
    assert_eq!(t.truth.len(), 8);
    let c = |k: &str| t.counts.get(k).copied().unwrap_or(0);
    assert_eq!((c("confirmed_keys"), c("confirmed_accounts"), c("confirmed_pairs")), (3, 7, 1 + 3 + 1));
    assert_eq!(c("left_out_generic_or_ambiguous_key"), 5);
    assert_eq!(c("left_out_unconfirmed"), 2); // GoldenOwl
    assert_eq!(c("left_out_two_origins"), 4);
    assert_eq!(c("left_out_without_origin"), 3); // BlueHeron twice, dream/TealDuck
}

#[test]
fn evaluation_leaves_out_the_signals_that_made_the_truth() {
    let mut accounts = vec![acc("agora", "VelvetFox", &["USA"]), acc("hansa", "VelvetFox", &["US"])];
    for a in &mut accounts {
        a.add_text("10g Amnesia Haze - Top Shelf", "L-t");
    }
    accounts.push(acc("dream", "Other", &["US"]));
    accounts[2].add_text("10g Amnesia Haze - Top Shelf", "L-o");
    let t = name_truth(&Corpus::new(&accounts));
    let pairs = labeled_pairs(&Corpus::new(&accounts), &all_pairs(3), &t.truth);
    let opts = TrainOptions { hidden: t.hides.clone(), companion_without_pgp: false, ..TrainOptions::default() };
    let model = Model::train(&pairs, &opts).unwrap();
    let e = evaluate(&Model { training_accounts: vec![], ..model }, &accounts, &t.truth, &[0.5]);
    assert_eq!(e.hidden, t.hides);
    assert!(!e.signals.contains_key(NAME) && !e.signals.contains_key(SHIPPING));
    assert!(e.signals.contains_key(STYLE));
    assert_eq!(e.truth_pairs, 1);
}

#[test]
fn shared_keys_are_one_operator_and_keyless_accounts_are_left_out() {
    const FP: &str = "0123456789ABCDEF0123456789ABCDEF01234567";
    let mut accounts = vec![Account::new("agora", "a"), Account::new("hansa", "b"), Account::new("dream", "c")];
    accounts[0].add_pgp(FP, &[], &[], "I-1");
    accounts[1].add_pgp(FP, &[], &[], "I-2");
    let t = pgp_truth(&accounts);
    assert_eq!(t.hides, vec![PGP.to_owned()]);
    assert_eq!(t.truth.len(), 2);
    assert_eq!(t.truth["agora/a"], t.truth["hansa/b"]);
}

#[test]
fn claims_join_the_claimed_account_when_the_data_has_exactly_one() {
    let mut accounts = vec![
        acc("cryptonia", "VelvetFox", &[]),
        acc("Dream Market", "Velvet_Fox", &[]),
        acc("hansa", "FoxOld", &[]),
        // Same key as the claim group on a third market: left out.
        acc("whitehouse", "velvetfox", &[]),
        // Claims an account on a market with two of that key: ambiguous.
        acc("cryptonia", "GoldenOwl", &[]),
        acc("dream", "GoldenOwl", &[]),
        acc("dream", "golden_owl", &[]),
        // Claims a market the data does not have.
        acc("cryptonia", "BlueHeron", &[]),
        // Claims its own market: unusable.
        acc("empire", "RedKite", &[]),
    ];
    accounts[0].add_claim("Dream", None, Some(4600), Some("4.95/5"), "V-c1");
    accounts[0].add_claim("Hansa", Some("FoxOld"), None, None, "V-c2");
    accounts[4].add_claim("dream", None, None, None, "V-c3");
    accounts[7].add_claim("Wall Street", None, None, None, "V-c4");
    accounts[8].add_claim("Empire Market", None, None, None, "V-c5");
    let t = claims_truth(&Corpus::new(&accounts));
    assert_eq!(t.hides, vec![CLAIMED.to_owned(), NAME.to_owned()]);
    let op = |id: &str| t.truth.get(id).cloned();
    let fox = op("cryptonia/VelvetFox").unwrap();
    assert!(fox.starts_with("claim-group-"));
    assert_eq!(op("Dream Market/Velvet_Fox"), Some(fox.clone()));
    assert_eq!(op("hansa/FoxOld"), Some(fox));
    assert_eq!(op("whitehouse/velvetfox"), None);
    // Unmatched claimants stay, as their own operator.
    for own in ["cryptonia/GoldenOwl", "dream/GoldenOwl", "dream/golden_owl", "cryptonia/BlueHeron", "empire/RedKite"] {
        assert_eq!(op(own), Some(format!("account:{own}")), "{own}");
    }
    let c = |k: &str| t.counts.get(k).copied().unwrap_or(0);
    assert_eq!((c("claims"), c("claims_matched"), c("claims_ambiguous"), c("claims_target_not_in_data"), c("claims_unusable")), (5, 2, 1, 1, 1));
    assert_eq!((c("claim_groups"), c("claim_pairs"), c("left_out_same_key")), (1, 3, 1));
}
