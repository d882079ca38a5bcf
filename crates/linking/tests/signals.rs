//! Each signal on hand-made cases, with exact values; hard negatives; bad
//! input; analyst decisions.

mod common;

use std::collections::BTreeMap;

use chrono::NaiveDate;

use linking::*;
use model::{ExternalRating, Identifier, IdentifierKind, Listing, PgpKeyInfo, Provenance, Sha256, Vendor};

const FP1: &str = "0123456789ABCDEF0123456789ABCDEF01234567";
const FP2: &str = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";
const SUB: &str = "FEDCBA9876543210FEDCBA9876543210FEDCBA98";

fn acc(market: &str, name: &str) -> Account {
    let mut a = Account::new(market, name);
    a.add_source(&format!("V-{market}-{name}"));
    a
}

fn ev<'a>(e: &'a [SignalEvidence], signal: &str) -> &'a SignalEvidence {
    e.iter().find(|x| x.signal == signal).unwrap()
}

fn pair(a: Account, b: Account) -> Vec<SignalEvidence> {
    let accounts = vec![a, b];
    Corpus::new(&accounts).features(0, 1)
}

#[test]
fn pgp_same_fingerprint_is_hard() {
    let (mut a, mut b) = (acc("dream", "VelvetFox"), acc("empire", "Totally_Other"));
    assert!(a.add_pgp(FP1, &[], &[], "V-1"));
    assert!(b.add_pgp(&FP1.to_lowercase(), &[], &[], "V-2"));
    let e = pair(a, b);
    let p = ev(&e, PGP);
    assert_eq!((p.value, p.hard, p.missing), (1.0, true, false));
    assert_eq!(p.sources, vec!["V-1".to_owned(), "V-2".to_owned()]);
    assert!(p.detail.contains(FP1), "{}", p.detail);
    // Only pgp is hard.
    assert_eq!(e.iter().filter(|x| x.hard).count(), 1);
}

#[test]
fn pgp_subkey_matches_primary() {
    let (mut a, mut b) = (acc("dream", "a"), acc("empire", "b"));
    a.add_pgp(FP1, &[SUB.to_owned()], &[], "I-1");
    b.add_pgp(SUB, &[], &[], "I-2");
    let e = pair(a, b);
    let p = ev(&e, PGP);
    assert_eq!((p.value, p.hard), (1.0, true));
    assert!(p.detail.contains("subkey of dream/a"), "{}", p.detail);
}

#[test]
fn pgp_different_missing_and_malformed() {
    let (mut a, mut b) = (acc("dream", "a"), acc("empire", "b"));
    a.add_pgp(FP1, &[], &[], "V-1");
    b.add_pgp(FP2, &[], &[], "V-2");
    let p = pair(a.clone(), b).remove(0);
    assert_eq!((p.value, p.hard, p.missing), (0.0, false, false));
    // Malformed keys are not facts: key ids, truncated, non-hex.
    let mut c = acc("empire", "c");
    assert!(!c.add_pgp("0123456789ABCDEF", &[], &[], "V-3"));
    assert!(!c.add_pgp(&FP1[..39], &[], &[], "V-3"));
    assert!(!c.add_pgp("not a key at all, but forty characters!!", &[], &[], "V-3"));
    assert!(c.pgp.is_empty());
    let p = pair(a, c).remove(0);
    assert_eq!((p.value, p.hard, p.missing), (0.0, false, true));
}

#[test]
fn pgp_user_id_email_is_soft() {
    let (mut a, mut b) = (acc("dream", "a"), acc("empire", "b"));
    a.add_pgp(FP1, &[], &["Fox <Fox@Mail.example.org>".to_owned()], "I-1");
    b.add_contact("email:fox@mail.example.org", "V-2");
    let e = pair(a, b);
    let u = ev(&e, PGP_UID);
    assert_eq!((u.value, u.hard), (1.0, false));
    assert_eq!(u.sources, vec!["I-1".to_owned(), "V-2".to_owned()]);
    assert_eq!(ev(&e, PGP).value, 0.0);
}

#[test]
fn btc_and_contacts_shared() {
    let (mut a, mut b) = (acc("dream", "a"), acc("empire", "b"));
    a.add_btc("bc1qexampleaddress", "I-1");
    b.add_btc("bc1qexampleaddress", "I-2");
    a.add_contact("Jabber: Fox@Jabber.example.net", "V-1");
    b.add_contact("jabber:fox@jabber.example.net", "V-2");
    b.add_contact("wickr:foxw", "V-2");
    let e = pair(a, b);
    let (x, c) = (ev(&e, BTC), ev(&e, CONTACT));
    assert_eq!((x.value, x.hard), (1.0, false));
    assert_eq!(x.sources, vec!["I-1".to_owned(), "I-2".to_owned()]);
    assert_eq!((c.value, c.hard), (1.0, false));
    assert_eq!(c.detail, "shared contact: jabber:fox@jabber.example.net");
}

#[test]
fn identifier_on_many_accounts_of_one_market_is_not_evidence() {
    // A market deposit address shown on every vendor page.
    let mut accounts: Vec<Account> = ["a", "b", "c"].iter().map(|n| acc("dream", n)).collect();
    accounts.push(acc("empire", "d"));
    for a in &mut accounts {
        let src = format!("I-{}", a.name);
        a.add_btc("bc1qmarketdeposit", &src);
    }
    let corpus = Corpus::new(&accounts);
    let e = corpus.features(0, 3);
    let b = ev(&e, BTC);
    assert_eq!(b.value, 0.0);
    assert!(b.detail.contains("too common"), "{}", b.detail);
}

#[test]
fn name_normalization_links_renames() {
    for (x, y) in [
        ("VelvetFox", "V3lvetF0x"),
        ("VelvetFox", "VelvetFox_official"),
        ("VelvetFox", "velvetfox"),
        ("VelvetFox", "Velvet-Fox UK"),
        ("VelvetFox", "VelvetFox2"),
    ] {
        let e = pair(acc("dream", x), acc("empire", y));
        let n = ev(&e, NAME);
        assert_eq!(n.value, 1.0, "{x} / {y}: {}", n.detail);
    }
    let e = pair(acc("dream", "VelvetFox"), acc("empire", "GoldenOwl"));
    assert_eq!(ev(&e, NAME).value, 0.0);
    // Close but not equal keys get a partial value.
    let e = pair(acc("dream", "VelvetFox"), acc("empire", "VelvetFoxx"));
    let v = ev(&e, NAME).value;
    assert!(v > 0.0 && v < 0.8, "{v}");
}

#[test]
fn common_names_are_hard_negatives() {
    // "pharma" on two markets: generic, discounted to a quarter.
    let e = pair(acc("dream", "Pharma"), acc("empire", "pharma"));
    let n = ev(&e, NAME);
    assert_eq!(n.value, 0.25);
    assert!(n.detail.contains("generic name"), "{}", n.detail);
    // Two accounts of one market share the key (duplicated name within one
    // market): the name cannot tell them apart, so it counts half.
    let accounts = vec![acc("dream", "GoldenOwl"), acc("dream", "goldenowl"), acc("empire", "Golden_Owl")];
    let corpus = Corpus::new(&accounts);
    let n = corpus.features(0, 2).into_iter().find(|e| e.signal == NAME).unwrap();
    assert_eq!(n.value, 0.5);
    assert!(n.detail.contains("2 accounts of one market"), "{}", n.detail);
}

#[test]
fn claimed_accounts() {
    let (mut a, b) = (acc("cryptonia", "FoxNew"), acc("Dream Market", "Velvet_Fox"));
    a.add_claim("Dream", Some("VelvetFox"), Some(1200), Some("4.9/5"), "V-claim");
    let e = pair(a, b);
    let c = ev(&e, CLAIMED);
    assert_eq!(c.value, 1.0);
    assert_eq!(c.sources, vec!["V-Dream Market-Velvet_Fox".to_owned(), "V-claim".to_owned()]);
    // A claim without an account name counts half when the names agree.
    let (mut a, b) = (acc("cryptonia", "VelvetFox"), acc("dream", "VelvetFox"));
    a.add_claim("dream", None, None, None, "V-claim");
    assert_eq!(ev(&pair(a, b), CLAIMED).value, 0.5);
    // A claim naming another account is not evidence for this one.
    let (mut a, b) = (acc("cryptonia", "VelvetFox"), acc("dream", "GoldenOwl"));
    a.add_claim("dream", Some("VelvetFox"), None, None, "V-claim");
    assert_eq!(ev(&pair(a, b), CLAIMED).value, 0.0);
}

#[test]
fn claimed_pairs_are_the_pairs_a_claim_joins() {
    let model = small_model();
    let mut accounts = vec![acc("cryptonia", "VelvetFox"), acc("dream", "VelvetFox"), acc("dream", "GoldenOwl"), acc("empire", "VelvetFox")];
    // Cryptonia's profile: ratings imported from Dream, no account named.
    accounts[0].add_claim("dream", None, None, None, "V-claim");
    let linker = Linker::new(&model, &accounts);
    let candidates = linking::candidates(&linker.corpus);
    let names = |pairs: &[(usize, usize)]| -> Vec<(String, String)> {
        let mut v: Vec<_> = pairs.iter().map(|&(i, j)| (accounts[i].id.clone(), accounts[j].id.clone())).collect();
        v.sort();
        v
    };
    // Only the claimed market's account of the claimant's name: not the
    // same name on Empire, not another vendor of Dream.
    assert_eq!(names(&linker.claimed_pairs(&candidates)), vec![("cryptonia/VelvetFox".to_owned(), "dream/VelvetFox".to_owned())]);
    // A claim with a name match alone stays below the review threshold, so
    // `ranked` does not list it; kept as `always`, it is.
    let p = linker.link_by_id("cryptonia/VelvetFox", "dream/VelvetFox").unwrap().probability;
    assert!(p < model.threshold, "{p}");
    assert!(linker.ranked(&candidates, model.threshold).is_empty());
    let kept = linker.ranked_keeping(&candidates, model.threshold, &linker.claimed_pairs(&candidates));
    assert_eq!(names(&kept), vec![("cryptonia/VelvetFox".to_owned(), "dream/VelvetFox".to_owned())]);
}

#[test]
fn style_shipping_categories_timeline() {
    let (mut a, mut b) = (acc("dream", "a"), acc("empire", "b"));
    for (x, s) in [(&mut a, "L-a"), (&mut b, "L-b")] {
        x.add_text("10g Amnesia Haze - Top Shelf", s);
        x.add_listing_facts(Some("Germany"), &["Europe".to_owned()], &["Cannabis".to_owned(), "Flower".to_owned()], s);
    }
    b.add_listing_facts(Some("germany"), &["Worldwide".to_owned()], &["Cannabis".to_owned(), "Flower".to_owned()], "L-b2");
    a.saw_on(parse_day("2019-01-10").unwrap());
    a.saw_on(parse_day("2019-05-01").unwrap());
    b.saw_on(parse_day("31 May 2019").unwrap());
    b.saw_on(parse_day("2019-09-01T10:00:00Z").unwrap());
    let e = pair(a, b);
    assert!((ev(&e, STYLE).value - 1.0).abs() < 1e-9);
    // from {germany} vs {germany}: 1; to {europe} vs {europe, worldwide}: 0.5.
    assert!((ev(&e, SHIPPING).value - 0.75).abs() < 1e-12);
    assert!((ev(&e, CATEGORIES).value - 1.0).abs() < 1e-9);
    // 30 days after the old account was last seen: 1 - 30/120.
    let t = ev(&e, TIMELINE);
    assert!((t.value - 0.75).abs() < 1e-12, "{}", t.detail);
}

#[test]
fn missing_evidence_is_marked_and_zero() {
    let e = pair(acc("dream", "a"), acc("empire", "b"));
    for s in [PGP, PGP_UID, BTC, CONTACT, CLAIMED, STYLE, SHIPPING, CATEGORIES, TIMELINE] {
        let x = ev(&e, s);
        assert_eq!((x.value, x.missing), (0.0, true), "{s}");
    }
    assert_eq!(e.len(), SIGNALS.len());
}

/// A small model trained on the simulator, for the hand-made cases below.
fn small_model() -> Model {
    let d = common::sim_data(5, 80, 3);
    train_on(&d.accounts, &d.truth, &TrainOptions::default()).unwrap()
}

#[test]
fn model_on_hand_made_cases() {
    let model = small_model();
    let mut accounts = vec![
        acc("dream", "Pharma"),
        acc("empire", "pharma"),
        acc("dream", "VelvetFox"),
        acc("empire", "V3lvetF0x_official"),
        acc("dream", "KeyOnly1"),
        acc("empire", "KeyOnly2"),
        acc("dream", "NoTextNoKey"),
        acc("empire", "AlsoNothing"),
    ];
    accounts[2].add_contact("jabber:fox@jabber.example.net", "V-x");
    accounts[3].add_contact("jabber:fox@jabber.example.net", "V-y");
    accounts[4].add_pgp(FP1, &[], &[], "V-k1");
    accounts[5].add_pgp(FP1, &[], &[], "V-k2");
    let linker = Linker::new(&model, &accounts);
    let links = linker.link_all(model.threshold);
    let ids: Vec<(&str, &str, LinkStatus)> = links.iter().map(|l| (l.a.as_str(), l.b.as_str(), l.status)).collect();
    // Key alone: hard (and scored). Name + contact: review. The generic
    // name "pharma" alone and the empty accounts: no link.
    assert_eq!(
        ids,
        vec![
            ("dream/KeyOnly1", "empire/KeyOnly2", LinkStatus::Hard),
            ("dream/VelvetFox", "empire/V3lvetF0x_official", LinkStatus::Review),
        ]
    );
    eprintln!("key alone {:.3}, name+contact {:.3}", links[0].probability, links[1].probability);
    assert!(links.iter().all(|l| l.probability >= model.threshold));
    let pharma = linker.link_by_id("dream/Pharma", "empire/pharma").unwrap();
    assert!(pharma.probability < 0.05, "{}", pharma.probability);
    // Below the threshold a link says so: it was "review" like the others.
    assert_eq!(pharma.status, LinkStatus::BelowThreshold);
    let nothing = linker.link_by_id("dream/NoTextNoKey", "empire/AlsoNothing").unwrap();
    assert!(nothing.probability < 0.01);
    assert!(!nothing.hard);
    // Contributions add up to the log-odds and name the signals.
    let l = &links[1];
    let sum: f64 = l.score.bias + l.score.contributions.iter().map(|c| c.contribution).sum::<f64>();
    assert!((sum - l.score.logit).abs() < 1e-9);
    assert_eq!(l.id, link_id("empire/V3lvetF0x_official", "dream/VelvetFox"));
    assert!(l.id.starts_with("K-") && l.id.len() == 18);
    // The model is stored as data and reads back the same.
    // (serde_json may differ in the last bit of a float on reading.)
    let back = Model::from_json(&model.to_json()).unwrap();
    assert_eq!((&back.signals, &back.training_hash, &back.training_accounts), (&model.signals, &model.training_hash, &model.training_accounts));
    assert!(back.weights.iter().zip(&model.weights).all(|(x, y)| (x - y).abs() < 1e-12));
    assert!((back.bias - model.bias).abs() < 1e-12);
    assert!(back.without_pgp.is_some());
    assert_eq!(back.version, MODEL_VERSION);
    assert_eq!(back.training_hash.len(), 64);
}

#[test]
fn operators_merge_only_hard_or_confirmed() {
    let model = small_model();
    let mut accounts = vec![acc("dream", "VelvetFox"), acc("empire", "VelvetFox"), acc("dream", "KeyA"), acc("empire", "KeyB")];
    accounts[0].add_contact("jabber:fox@jabber.example.net", "V-1");
    accounts[1].add_contact("jabber:fox@jabber.example.net", "V-2");
    accounts[2].add_pgp(FP2, &[], &[], "V-3");
    accounts[3].add_pgp(FP2, &[], &[], "V-4");
    let links = link_all(&model, &accounts, 0.5);
    assert_eq!(links.len(), 2);
    let soft = links.iter().find(|l| !l.hard).unwrap().id.clone();
    let hard = links.iter().find(|l| l.hard).unwrap().id.clone();
    let none = BTreeMap::new();
    assert_eq!(
        operators(&links, &none),
        vec![
            vec!["dream/KeyA".to_owned(), "empire/KeyB".to_owned()],
            vec!["dream/VelvetFox".to_owned()],
            vec!["empire/VelvetFox".to_owned()],
        ]
    );
    let decided: BTreeMap<String, Decision> = [(soft, Decision::Confirmed), (hard, Decision::Rejected)].into_iter().collect();
    assert_eq!(
        operators(&links, &decided),
        vec![
            vec!["dream/KeyA".to_owned()],
            vec!["dream/VelvetFox".to_owned(), "empire/VelvetFox".to_owned()],
            vec!["empire/KeyB".to_owned()],
        ]
    );
}

#[test]
fn training_hash_is_stable_and_sensitive() {
    let p = |a: &str, label: bool, v: f64| LabeledPair {
        a: a.into(),
        b: "z".into(),
        label,
        features: vec![v; SIGNALS.len()],
    };
    let pairs = vec![p("a", true, 1.0), p("b", false, 0.0)];
    let rev: Vec<LabeledPair> = pairs.iter().rev().cloned().collect();
    assert_eq!(training_hash(&pairs), training_hash(&rev));
    let flipped = vec![p("a", false, 1.0), p("b", false, 0.0)];
    assert_ne!(training_hash(&pairs), training_hash(&flipped));
    assert!(matches!(
        Model::train(&flipped, &TrainOptions::default()),
        Err(TrainError::OneClass { positives: 0, negatives: 2 })
    ));
    assert!(matches!(Model::train(&[], &TrainOptions::default()), Err(TrainError::OneClass { .. })));
}

fn prov(page: &str) -> Option<Provenance> {
    Some(Provenance {
        evidence: Sha256::of(page.as_bytes()),
        profile: "test".into(),
        rule: "r".into(),
    })
}

#[test]
fn accounts_from_records_groups_and_attributes() {
    let vendors = [
        Vendor {
            market: "dream".into(),
            name: "VelvetFox".into(),
            pgp_fingerprint: Some(FP1.into()),
            contacts: vec!["jabber:Fox@jabber.example.net".into(), "jabber:".into()],
            registered: Some("2019-01-02".into()),
            provenance: prov("p1"),
            ..Vendor::default()
        },
        // The same account seen again; a malformed key is ignored.
        Vendor {
            market: "dream".into(),
            name: "VelvetFox".into(),
            pgp_fingerprint: Some("garbage".into()),
            external_ratings: vec![ExternalRating {
                market: "Empire".into(),
                sales: Some(10),
                rating: None,
                account: Some("VelvetFox".into()),
            }],
            provenance: prov("p2"),
            ..Vendor::default()
        },
        // Same name, other case, same market: another account.
        Vendor {
            market: "dream".into(),
            name: "velvetfox".into(),
            provenance: prov("p3"),
            ..Vendor::default()
        },
        // No name: skipped.
        Vendor {
            market: "dream".into(),
            name: "  ".into(),
            ..Vendor::default()
        },
    ];
    let listings = [
        Listing {
            market: "dream".into(),
            title: "5g OG Kush".into(),
            vendor: Some("VelvetFox".into()),
            ships_from: Some("Germany".into()),
            category: vec!["Cannabis".into()],
            provenance: prov("p4"),
            ..Listing::default()
        },
        Listing {
            market: "dream".into(),
            title: "".into(),
            vendor: None,
            provenance: prov("p5"),
            ..Listing::default()
        },
        // A dataset page with two vendors.
        Listing {
            market: "dream".into(),
            title: "x".into(),
            vendor: Some("Other".into()),
            provenance: prov("p6"),
            ..Listing::default()
        },
        Listing {
            market: "dream".into(),
            title: "y".into(),
            vendor: Some("VelvetFox".into()),
            provenance: prov("p6"),
            ..Listing::default()
        },
    ];
    let identifiers = [
        Identifier {
            kind: IdentifierKind::Btc,
            value: "bc1qfox".into(),
            detail: None,
            pgp: None,
            provenance: prov("p1"),
        },
        Identifier {
            kind: IdentifierKind::Pgp,
            value: FP1.into(),
            detail: None,
            pgp: Some(PgpKeyInfo {
                subkeys: vec![SUB.into(), "bad".into()],
                user_ids: vec!["Fox <fox@mail.example.org>".into()],
                ..PgpKeyInfo::default()
            }),
            provenance: prov("p1"),
        },
        // On a page of two vendors: nobody's.
        Identifier {
            kind: IdentifierKind::Btc,
            value: "bc1qshared".into(),
            detail: None,
            pgp: None,
            provenance: prov("p6"),
        },
        // On a page of no vendor: nobody's.
        Identifier {
            kind: IdentifierKind::Btc,
            value: "bc1qorphan".into(),
            detail: None,
            pgp: None,
            provenance: prov("p9"),
        },
    ];
    let vid = ["V-1", "V-2", "V-3", "V-4"];
    let lid = ["L-1", "L-2", "L-3", "L-4"];
    let iid = ["I-1", "I-2", "I-3", "I-4"];
    let records = Records {
        vendors: vendors.iter().zip(vid).map(|(r, id)| Row::new(id, r)).collect(),
        listings: listings.iter().zip(lid).map(|(r, id)| Row::new(id, r)).collect(),
        feedback: Vec::new(),
        identifiers: identifiers.iter().zip(iid).map(|(r, id)| Row::new(id, r)).collect(),
    };
    let accounts = accounts_from_records(&records);
    let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec!["dream/Other", "dream/VelvetFox", "dream/velvetfox"]);
    let fox = &accounts[1];
    assert_eq!(fox.pgp.len(), 1);
    assert_eq!(fox.pgp[0].subkeys, vec![SUB.to_owned()]);
    assert_eq!(fox.pgp[0].user_ids, vec!["Fox <fox@mail.example.org>".to_owned()]);
    assert_eq!(fox.pgp[0].sources, vec!["I-2".to_owned(), "V-1".to_owned()]);
    assert_eq!(fox.btc.iter().map(|b| b.value.as_str()).collect::<Vec<_>>(), vec!["bc1qfox"]);
    assert_eq!(fox.contacts.len(), 1);
    assert_eq!(fox.contacts[0].value, "fox@jabber.example.net");
    assert_eq!(fox.claimed.len(), 1);
    assert_eq!(fox.texts.iter().map(|t| t.value.as_str()).collect::<Vec<_>>(), vec!["5g OG Kush", "y"]);
    assert_eq!(fox.ships_from[0].value, "DE", "Germany is kept as its ISO code");
    assert_eq!(fox.first_seen, parse_day("2019-01-02"));
    assert!(accounts[2].pgp.is_empty() && accounts[2].btc.is_empty());
    // Nothing in common between the two same-market accounts but the name:
    // no link with a model.
    let model = small_model();
    let links = link_all(&model, &accounts, model.threshold);
    assert!(links.is_empty(), "{links:?}");
}

/// A hash `bits` bits away from `h` (the lowest bits flipped).
fn flip(h: u64, bits: u32) -> String {
    format!("{:016x}", h ^ ((1u64 << bits) - 1))
}

#[test]
fn photo_value_falls_with_each_bit_and_stops_past_the_limit() {
    let h = 0x9f3a_5c71_e2d4_0b86_u64;
    for bits in 0..=PHOTO_MAX_BITS + 2 {
        let mut a = acc("dream", "fox");
        let mut b = acc("empire", "owl");
        assert!(a.add_photo(&format!("{h:016X}"), "L-a1"));
        assert!(b.add_photo(&flip(h, bits), "L-b1"));
        b.add_photo("0000ffff0000ffff", "L-b2");
        let e = pair(a, b);
        let p = ev(&e, PHOTO);
        let want = if bits <= PHOTO_MAX_BITS { 1.0 - f64::from(bits) / f64::from(PHOTO_MAX_BITS + 1) } else { 0.0 };
        assert_eq!(p.value, want, "{bits} bits: {}", p.detail);
        assert!(!p.hard && !p.missing, "photos are soft evidence");
        if bits <= PHOTO_MAX_BITS {
            assert_eq!(p.sources, ["L-a1", "L-b1"], "only the matching photos are cited");
            assert!(p.detail.contains(&format!("{bits} of 64 bits")), "{}", p.detail);
        } else {
            assert!(p.sources.is_empty());
        }
    }
}

#[test]
fn photo_missing_and_malformed_hashes() {
    let mut a = acc("dream", "fox");
    assert!(!a.add_photo("not-a-hash", "L-x"));
    assert!(!a.add_photo("0123456789abcde", "L-x"), "15 digits");
    assert!(a.photos.is_empty() && a.sources.len() == 1, "a malformed hash adds nothing");
    let mut b = acc("empire", "owl");
    b.add_photo("0123456789abcdef", "L-b");
    let e = pair(a, b);
    let p = ev(&e, PHOTO);
    assert!(p.missing && p.value == 0.0, "{p:?}");
}

/// A picture shown (re-encoded) by three vendors of one market is a stock
/// photo: it links none of them to anyone. The same picture on two accounts
/// of a market is still evidence.
#[test]
fn stock_photo_on_many_accounts_of_one_market_is_not_evidence() {
    let stock = 0x0f0f_3c3c_a5a5_7e7e_u64;
    let mut accounts: Vec<Account> = ["a", "b", "c"].iter().map(|n| acc("dream", n)).collect();
    for (k, a) in accounts.iter_mut().enumerate() {
        a.add_photo(&flip(stock, k as u32), &format!("L-{k}"));
    }
    let mut other = acc("empire", "d");
    other.add_photo(&flip(stock, 1), "L-d");
    accounts.push(other);
    let corpus = Corpus::new(&accounts);
    let p = corpus.features(0, 3).into_iter().find(|e| e.signal == PHOTO).unwrap();
    assert_eq!(p.value, 0.0);
    assert!(p.detail.contains("stock photo"), "{}", p.detail);
    assert!(!candidates(&corpus).contains(&(0, 3)), "a stock photo proposes no candidate");
    // Two accounts of one market with the picture: not common.
    let two: Vec<Account> = accounts.iter().skip(1).cloned().collect();
    let corpus = Corpus::new(&two);
    let p = corpus.features(0, 2).into_iter().find(|e| e.signal == PHOTO).unwrap();
    assert!(p.value > 0.0, "{}", p.detail);
    assert!(candidates(&corpus).contains(&(0, 2)), "a near photo proposes the pair");
}

/// Candidate generation finds every pair with photos within the limit, for
/// any placement of the differing bits (the band pigeonhole), and no pair
/// farther apart (chance band collisions are verified away).
#[test]
fn photo_candidates_find_every_near_pair() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut accounts = Vec::new();
    let mut want = Vec::new();
    for k in 0..300 {
        let h = next();
        // Flip 0..=6 random bits.
        let bits = (k % 7) as u32;
        let mut g = h;
        while (g ^ h).count_ones() < bits {
            g ^= 1 << (next() % 64);
        }
        let mut a = acc("dream", &format!("a{k}"));
        a.add_photo(&format!("{h:016x}"), "L-a");
        let mut b = acc("empire", &format!("b{k}"));
        b.add_photo(&format!("{g:016x}"), "L-b");
        if bits <= PHOTO_MAX_BITS {
            want.push((accounts.len(), accounts.len() + 1));
        }
        accounts.push(a);
        accounts.push(b);
    }
    let corpus = Corpus::new(&accounts);
    let (got, stats) = candidates_with_stats(&corpus);
    let got: Vec<(usize, usize)> =
        got.into_iter().filter(|&(i, j)| corpus.features(i, j).iter().any(|e| e.signal == PHOTO && e.value > 0.0)).collect();
    assert_eq!(got, want);
    assert_eq!(stats.photo_pairs, want.len(), "random 64-bit hashes are never within {PHOTO_MAX_BITS} bits by chance here");
}

#[test]
fn a_captured_row_without_a_date_of_its_own_is_seen_on_its_capture_day() {
    // A captured listing page and a profile page: neither row carries a
    // date; each was seen when its page was captured.
    let listing = Listing { market: "dream".into(), title: "10g".into(), vendor: Some("Fox".into()), ..Listing::default() };
    let profile = Vendor { market: "dream".into(), name: "Fox".into(), registered: Some("10/04/2016".into()), ..Vendor::default() };
    let dated = Listing { observed_at: Some("2018-02-01".into()), ..listing.clone() };
    let records = model::Records {
        listings: vec![
            model::Row { id: "L-1", record: &listing, captured_at: Some("2018-03-01T10:00:00Z") },
            // A row's own date wins over its capture time.
            model::Row { id: "L-2", record: &dated, captured_at: Some("2018-03-05T10:00:00Z") },
        ],
        vendors: vec![model::Row { id: "V-1", record: &profile, captured_at: Some("2018-03-02T10:00:00Z") }],
        ..model::Records::default()
    };
    let accounts = accounts_from_records(&records);
    assert_eq!(accounts.len(), 1);
    let day = |s: &str| parse_day(s).unwrap();
    // Registered 10 April 2016 (day first, as Dream writes it); last seen on the profile's capture.
    assert_eq!((accounts[0].first_seen, accounts[0].last_seen), (Some(day("2016-04-10")), Some(day("2018-03-02"))));
    // Without the capture times, only the registration and the dated row.
    let bare = model::Records {
        listings: records.listings.iter().map(|r| model::Row::new(r.id, r.record)).collect(),
        vendors: records.vendors.iter().map(|r| model::Row::new(r.id, r.record)).collect(),
        ..model::Records::default()
    };
    let accounts = accounts_from_records(&bare);
    assert_eq!((accounts[0].first_seen, accounts[0].last_seen), (Some(day("2016-04-10")), Some(day("2018-02-01"))));
}

/// A month-only date (Dream 2017's "2017-07") dates its account from the
/// month's first day to its last: Dream's accounts had no first or last seen
/// in the report, and the timeline signal could not compare them with their
/// AlphaBay namesakes (found by a review).
#[test]
fn a_month_only_date_dates_the_account_over_the_month() {
    assert_eq!(parse_day("2017-07"), NaiveDate::from_ymd_opt(2017, 7, 1));
    assert_eq!(linking::days_of("2017-02"), Some((NaiveDate::from_ymd_opt(2017, 2, 1).unwrap(), NaiveDate::from_ymd_opt(2017, 2, 28).unwrap())));
    for not_a_month in ["2017-13", "17-07", "2017-7", "July"] {
        assert_eq!(linking::days_of(not_a_month), None, "{not_a_month}");
    }
    let listing = Listing { market: "dream".into(), vendor: Some("DutchBulk".into()), title: "x".into(), observed_at: Some("2017-07".into()), ..Listing::default() };
    let records = Records { vendors: Vec::new(), listings: vec![Row::new("L-1", &listing)], feedback: Vec::new(), identifiers: Vec::new() };
    let accounts = accounts_from_records(&records);
    assert_eq!((accounts[0].first_seen, accounts[0].last_seen), (NaiveDate::from_ymd_opt(2017, 7, 1), NaiveDate::from_ymd_opt(2017, 7, 31)));
}
