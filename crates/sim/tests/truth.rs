//! Invariants of the ground truth: what the demo and the linking evaluation
//! rely on.

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::{address::NetworkUnchecked, Address, Network};
use model::PageType;
use sim::{generate_markets, MarketSimConfig, Noise, SimMarketCase, TruthAccount};

fn cases() -> Vec<SimMarketCase> {
    [
        MarketSimConfig::default(),
        MarketSimConfig {
            seed: 11,
            operators: 30,
            markets: 4,
            ..Default::default()
        },
        MarketSimConfig {
            seed: 12,
            operators: 2,
            ..Default::default()
        },
    ]
    .iter()
    .map(generate_markets)
    .collect()
}

fn by_operator(case: &SimMarketCase) -> BTreeMap<u32, Vec<&TruthAccount>> {
    let mut map: BTreeMap<u32, Vec<&TruthAccount>> = BTreeMap::new();
    for a in &case.truth.accounts {
        map.entry(a.operator).or_default().push(a);
    }
    map
}

#[test]
fn multi_market_operators_exist_some_sharing_keys_some_not() {
    for case in cases() {
        let ops = by_operator(&case);
        let multi: Vec<_> = ops
            .values()
            .filter(|accts| {
                accts
                    .iter()
                    .map(|a| &a.market)
                    .collect::<BTreeSet<_>>()
                    .len()
                    > 1
            })
            .collect();
        assert!(
            !multi.is_empty(),
            "seed {}: some operator is on two markets",
            case.truth.seed
        );
        let shares = |accts: &&Vec<&TruthAccount>| {
            accts
                .windows(2)
                .any(|w| w[0].pgp_fingerprint == w[1].pgp_fingerprint)
        };
        let differs = |accts: &&Vec<&TruthAccount>| {
            accts
                .iter()
                .map(|a| &a.pgp_fingerprint)
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        };
        assert!(
            multi.iter().any(shares),
            "seed {}: same vendor under the same key on two markets",
            case.truth.seed
        );
        assert!(
            multi.iter().any(differs),
            "seed {}: an operator shows a new key",
            case.truth.seed
        );
        // Accounts with different keys and no NewKey noise would be unexplained.
        for accts in &multi {
            let first = &accts
                .iter()
                .min_by_key(|a| a.noise.contains(&Noise::NewKey))
                .map(|a| a.pgp_fingerprint.clone());
            for a in accts.iter() {
                if Some(&a.pgp_fingerprint) != first.as_ref() {
                    assert!(
                        a.noise.contains(&Noise::NewKey),
                        "{}: key differs without NewKey noise",
                        a.account
                    );
                }
            }
        }
    }
}

#[test]
fn accounts_operators_and_pages_agree() {
    for case in cases() {
        let t = &case.truth;
        let listed: BTreeSet<&String> =
            t.operators.iter().flat_map(|o| o.accounts.iter()).collect();
        let accounts: BTreeSet<&String> = t.accounts.iter().map(|a| &a.account).collect();
        assert_eq!(listed, accounts);
        assert_eq!(accounts.len(), t.accounts.len(), "account ids are unique");
        let mut lower = BTreeSet::new();
        for a in &t.accounts {
            assert_eq!(a.account, format!("{}/{}", a.market, a.vendor_name));
            assert_eq!(t.operator_of(&a.account), Some(a.operator));
            assert!(
                lower.insert((a.market.clone(), a.vendor_name.to_lowercase())),
                "{}: name unique per market",
                a.account
            );
            assert_eq!(a.pgp_fingerprint.len(), 40);
            assert!(a
                .pgp_fingerprint
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
            assert!(
                a.contacts
                    .iter()
                    .all(|c| c.starts_with("jabber:") || c.starts_with("email:")),
                "{:?}",
                a.contacts
            );
            for addr in &a.btc_addresses {
                let parsed: Address<NetworkUnchecked> =
                    addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
                assert!(
                    parsed.is_valid_for_network(Network::Bitcoin),
                    "{addr} is mainnet"
                );
            }
            // The vendor page shows exactly the truth's numbers.
            let vendor_page = t.pages.iter().find(|p| {
                p.page_type == PageType::Vendor
                    && p.market == a.market
                    && p.vendors.first().is_some_and(|v| v.name == a.vendor_name)
            });
            let Some(page) = vendor_page else {
                panic!("{}: no vendor page", a.account)
            };
            assert_eq!(page.feedback.len(), a.feedback, "{}", a.account);
            assert_eq!(page.vendors[0].sales, Some(a.sales), "{}", a.account);
            assert_eq!(
                page.vendors[0].pgp_fingerprint.as_deref(),
                Some(a.pgp_fingerprint.as_str())
            );
            let listing_pages = t.pages.iter().filter(|p| {
                p.page_type == PageType::Listing
                    && p.market == a.market
                    && p.listings[0].vendor.as_deref() == Some(&a.vendor_name)
            });
            assert_eq!(listing_pages.count(), a.listings, "{}", a.account);
        }
        for op in &t.operators {
            assert!(!op.accounts.is_empty());
        }
        // Every pair is of one operator.
        for (x, y) in t.same_operator_pairs() {
            assert_eq!(t.operator_of(&x), t.operator_of(&y));
            assert!(x < y);
        }
    }
}

#[test]
fn every_market_has_every_page_type() {
    for case in cases() {
        for m in &case.truth.markets {
            let types: BTreeSet<PageType> = case
                .truth
                .pages
                .iter()
                .filter(|p| p.market == m.market)
                .map(|p| p.page_type)
                .collect();
            for want in [
                PageType::Main,
                PageType::Login,
                PageType::Captcha,
                PageType::Search,
                PageType::Listing,
                PageType::Vendor,
            ] {
                assert!(types.contains(&want), "{}: no {want:?} page", m.market);
            }
        }
        assert_eq!(case.files.len(), case.truth.pages.len());
        for (f, p) in case.files.iter().zip(&case.truth.pages) {
            assert_eq!(f.rel_path, p.rel_path);
            assert!(f.rel_path.starts_with(&format!("pages/{}/", p.market)));
        }
    }
}

#[test]
fn dates_stay_on_the_simulated_timeline() {
    for case in cases() {
        for p in &case.truth.pages {
            for d in p
                .feedback
                .iter()
                .filter_map(|f| f.date.as_deref())
                .chain(p.vendors.iter().filter_map(|v| v.registered.as_deref()))
            {
                let year = d
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|s| s.len() == 4)
                    .unwrap_or("");
                assert!(
                    ["2019", "2020", "2021"].contains(&year),
                    "{}: date {d}",
                    p.rel_path
                );
            }
        }
    }
}

#[test]
fn a_larger_world_shows_every_kind_of_noise() {
    let case = generate_markets(&MarketSimConfig {
        seed: 11,
        operators: 40,
        markets: 4,
        ..Default::default()
    });
    let seen: BTreeSet<Noise> = case.truth.accounts.iter().flat_map(|a| a.noise.iter().copied()).collect();
    for want in [
        Noise::Renamed,
        Noise::NewKey,
        Noise::NewBtcAddress,
        Noise::RewrittenDescription,
        Noise::DroppedContact,
        Noise::LookalikeName,
    ] {
        assert!(seen.contains(&want), "no account with {want:?} noise");
    }
    // A renamed account's name differs from the name the operator started
    // with (two renamed accounts may share the new name).
    for a in case.truth.accounts.iter().filter(|a| a.noise.contains(&Noise::Renamed)) {
        let others = case.truth.accounts.iter().filter(|b| b.operator == a.operator && b.account != a.account);
        assert!(others.clone().count() > 0, "{}", a.account);
        assert!(others.clone().any(|b| b.vendor_name != a.vendor_name), "{}", a.account);
    }
}
