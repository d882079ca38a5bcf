//! Ground truth that real data offers without hand labels. Each source
//! defines its labels with some signals, so an evaluation against it must
//! hide those signals ([`RealTruth::hides`]): a signal cannot be graded on
//! the truth it made.
//!
//! * [`pgp_truth`]: accounts showing the same PGP key are one operator.
//! * [`name_truth`]: accounts on different markets whose names normalize to
//!   the same key, confirmed by a second, independent fact (the same
//!   shipping origin).
//! * [`claims_truth`]: an account that imports its ratings from another
//!   market (Cryptonia's and Apollon's "verified" blocks) and the account of
//!   that name on that market.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::account::Account;
use crate::eval::OperatorMap;
use crate::link::find;
use crate::normalize;
use crate::signals::{Corpus, CLAIMED, NAME, PGP, SHIPPING};

/// A truth built from real data, with what it hides and how it was built.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealTruth {
    /// `pgp` or `names`.
    pub source: String,
    /// Account -> operator label.
    pub truth: OperatorMap,
    /// Signals that define the labels: evaluate with them hidden.
    pub hides: Vec<String>,
    /// Counts that describe the construction (source-specific).
    pub counts: BTreeMap<String, usize>,
}

/// Accounts that show the same PGP fingerprint (primary or subkey) are one
/// operator; accounts without a key are left out. Hides `pgp`.
pub fn pgp_truth(accounts: &[Account]) -> RealTruth {
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    let mut parent: Vec<usize> = (0..accounts.len()).collect();
    for (i, a) in accounts.iter().enumerate() {
        for k in &a.pgp {
            for fp in std::iter::once(&k.fingerprint).chain(&k.subkeys) {
                match owner.get(fp.as_str()) {
                    Some(&j) => {
                        let (x, y) = (find(&mut parent, i), find(&mut parent, j));
                        parent[x] = y;
                    }
                    None => {
                        owner.insert(fp, i);
                    }
                }
            }
        }
    }
    let mut truth = OperatorMap::new();
    for (i, a) in accounts.iter().enumerate() {
        if !a.pgp.is_empty() {
            let root = find(&mut parent, i);
            truth.insert(a.id.clone(), format!("key-group-{root}"));
        }
    }
    let counts = [("accounts_with_key".to_owned(), truth.len())].into_iter().collect();
    RealTruth { source: "pgp".into(), truth, hides: vec![PGP.into()], counts }
}

/// Name matches confirmed by a second fact. Accounts on different markets
/// whose names normalize to the same key are one operator when
///
/// * the key is not generic (`pharma`, `the`, under four characters) and no
///   market has two accounts with it (else the name cannot say which), and
/// * both accounts name a country they ship from, and they share one
///   (directly or through a third account of the same key; a vendor moving
///   country is missed, two vendors of one name in one country are merged:
///   see docs/methods.md).
///
/// Accounts whose key is shared with another market but not confirmed
/// (no origin, a different origin, a generic or ambiguous key, or a key whose
/// confirmed accounts split into two origins) are left out: their label is
/// unknown, and calling them different operators would count true links as
/// errors. Every other account is its own operator. Hides `name` and
/// `shipping`, the signals the labels come from.
pub fn name_truth(corpus: &Corpus) -> RealTruth {
    let accounts = corpus.accounts;
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in 0..accounts.len() {
        let key = corpus.name_key(i);
        if !key.is_empty() {
            by_key.entry(key).or_default().push(i);
        }
    }
    // Origin countries only (ISO codes after `normalize::place_key`): a
    // region ("europe") or free text confirms nothing.
    let origins = |i: usize| -> BTreeSet<&str> {
        accounts[i]
            .ships_from
            .iter()
            .map(|f| f.value.as_str())
            .filter(|v| v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()))
            .collect()
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |what: &str, n: usize| *counts.entry(what.to_owned()).or_default() += n;
    let mut truth = OperatorMap::new();
    for (key, members) in &by_key {
        let markets: BTreeSet<String> = members.iter().map(|&i| normalize::market_key(&accounts[i].market)).collect();
        if markets.len() < 2 {
            // Seen on one market only: nothing to confirm.
            for &i in members {
                truth.insert(accounts[i].id.clone(), format!("account:{}", accounts[i].id));
            }
            continue;
        }
        count("shared_keys", 1);
        if normalize::is_generic(key) || corpus.name_ambiguity_of(members[0]) > 1 {
            count("left_out_generic_or_ambiguous_key", members.len());
            continue;
        }
        // Accounts that share an origin country join; the groups are the
        // connected components.
        let mut parent: Vec<usize> = (0..members.len()).collect();
        let mut first_with: BTreeMap<&str, usize> = BTreeMap::new();
        let mut no_origin = 0;
        for (x, &i) in members.iter().enumerate() {
            let o = origins(i);
            no_origin += usize::from(o.is_empty());
            for c in o {
                match first_with.get(c) {
                    Some(&y) => {
                        let (rx, ry) = (find(&mut parent, x), find(&mut parent, y));
                        parent[rx] = ry;
                    }
                    None => {
                        first_with.insert(c, x);
                    }
                }
            }
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (x, &i) in members.iter().enumerate() {
            let root = find(&mut parent, x);
            groups.entry(root).or_default().push(i);
        }
        let confirmed: Vec<&Vec<usize>> = groups.values().filter(|c| c.len() > 1).collect();
        if confirmed.len() != 1 {
            count(if confirmed.is_empty() { "left_out_unconfirmed" } else { "left_out_two_origins" }, members.len() - no_origin);
            count("left_out_without_origin", no_origin);
            continue;
        }
        let group = confirmed[0];
        count("confirmed_keys", 1);
        count("confirmed_accounts", group.len());
        count("confirmed_pairs", group.len() * (group.len() - 1) / 2);
        count("left_out_unconfirmed", members.len() - group.len() - no_origin);
        count("left_out_without_origin", no_origin);
        for &i in group {
            truth.insert(accounts[i].id.clone(), format!("name:{key}"));
        }
    }
    for (i, a) in accounts.iter().enumerate() {
        if corpus.name_key(i).is_empty() {
            truth.insert(a.id.clone(), format!("account:{}", a.id));
        }
    }
    count("accounts", truth.len());
    RealTruth { source: "names".into(), truth, hides: vec![NAME.into(), SHIPPING.into()], counts }
}

/// Claimed accounts: an account that claims (imports ratings from) an
/// account on another market is one operator with the account of that name
/// on that market, when the data has exactly one such account there. A
/// claim that names no account (Cryptonia's and Apollon's blocks name only
/// the market) means the claimant's own name.
///
/// The market verified the claim, not us: it is the market's word that the
/// vendor proved control of the other account (usually by a PGP-signed
/// message), which is why it is truth and not just a signal. Accounts on a
/// third market with the same key as a claim group are left out (their
/// label is unknown); every other account is its own operator. Hides
/// `claimed` and `name` (the target is found by its name key).
pub fn claims_truth(corpus: &Corpus) -> RealTruth {
    let accounts = corpus.accounts;
    let mut by_market_key: BTreeMap<(String, &str), Vec<usize>> = BTreeMap::new();
    for (i, a) in accounts.iter().enumerate() {
        let key = corpus.name_key(i);
        if !key.is_empty() {
            by_market_key.entry((normalize::market_key(&a.market), key)).or_default().push(i);
        }
    }
    let mut parent: Vec<usize> = (0..accounts.len()).collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |what: &str| *counts.entry(what.to_owned()).or_default() += 1;
    let mut in_claim = vec![false; accounts.len()];
    for (i, a) in accounts.iter().enumerate() {
        for c in &a.claimed {
            count("claims");
            let target = match &c.account {
                Some(name) => normalize::name_key(name),
                None => corpus.name_key(i).to_owned(),
            };
            let market = normalize::market_key(&c.market);
            if target.is_empty() || market == normalize::market_key(&a.market) {
                count("claims_unusable");
                continue;
            }
            match by_market_key.get(&(market, target.as_str())).map(Vec::as_slice) {
                Some([j]) => {
                    count("claims_matched");
                    let (x, y) = (find(&mut parent, i), find(&mut parent, *j));
                    parent[x] = y;
                    in_claim[i] = true;
                    in_claim[*j] = true;
                }
                Some(_) => count("claims_ambiguous"),
                None => count("claims_target_not_in_data"),
            }
        }
    }
    // Keys of claim groups: other accounts with them are left out.
    let claimed_keys: BTreeSet<&str> =
        (0..accounts.len()).filter(|&i| in_claim[i]).map(|i| corpus.name_key(i)).collect();
    let mut truth = OperatorMap::new();
    for (i, a) in accounts.iter().enumerate() {
        if in_claim[i] {
            let root = find(&mut parent, i);
            truth.insert(a.id.clone(), format!("claim-group-{}", accounts[root].id));
        } else if claimed_keys.contains(corpus.name_key(i)) && !corpus.name_key(i).is_empty() {
            count("left_out_same_key");
        } else {
            truth.insert(a.id.clone(), format!("account:{}", a.id));
        }
    }
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for op in truth.values().filter(|o| o.starts_with("claim-group-")) {
        *sizes.entry(op).or_default() += 1;
    }
    counts.insert("claim_groups".into(), sizes.len());
    counts.insert("claim_pairs".into(), sizes.values().map(|n| n * (n - 1) / 2).sum());
    counts.insert("accounts".into(), truth.len());
    RealTruth { source: "claims".into(), truth, hides: vec![CLAIMED.into(), NAME.into()], counts }
}
