//! Candidate pairs without comparing all pairs: exact blocking on shared
//! identifiers (PGP keys and subkeys, BTC addresses, contacts, user-id
//! e-mails), on the normalized name key and on claimed account names, and
//! MinHash/LSH over character shingles of the texts.

use std::collections::{BTreeSet, HashMap};

use crate::normalize;
use crate::signals::{identifier_keys, Corpus};
use crate::text;

/// Blocks (accounts sharing one key) larger than this are skipped: a key on
/// that many accounts (a market's deposit address, a name like "pharma",
/// a boilerplate text) says nothing about any one pair, and comparing all
/// its pairs is what blocking avoids. Counted in [`CandidateStats`].
pub const MAX_BLOCK: usize = 200;

/// How candidates were found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CandidateStats {
    /// Pairs from shared identifiers.
    pub identifier_pairs: usize,
    /// Pairs from equal name keys and claims.
    pub name_pairs: usize,
    /// Pairs from LSH buckets.
    pub text_pairs: usize,
    /// Blocks skipped as larger than [`MAX_BLOCK`].
    pub skipped_blocks: usize,
    /// Distinct candidate pairs.
    pub total: usize,
}

/// Candidate pairs `(i, j)`, `i < j`, sorted and deduplicated.
pub fn candidates(corpus: &Corpus) -> Vec<(usize, usize)> {
    candidates_with_stats(corpus).0
}

/// [`candidates`] with counts of where they came from.
pub fn candidates_with_stats(corpus: &Corpus) -> (Vec<(usize, usize)>, CandidateStats) {
    let accounts = corpus.accounts;
    let mut stats = CandidateStats::default();
    let mut out: BTreeSet<(usize, usize)> = BTreeSet::new();

    fn emit(blocks: HashMap<String, Vec<usize>>, counter: &mut usize, skipped: &mut usize, out: &mut BTreeSet<(usize, usize)>) {
        let mut keys: Vec<_> = blocks.into_iter().collect();
        keys.sort();
        for (_, mut members) in keys {
            members.sort_unstable();
            members.dedup();
            if members.len() < 2 {
                continue;
            }
            if members.len() > MAX_BLOCK {
                *skipped += 1;
                continue;
            }
            for (x, &i) in members.iter().enumerate() {
                for &j in &members[x + 1..] {
                    if out.insert((i, j)) {
                        *counter += 1;
                    }
                }
            }
        }
    }

    // Identifiers.
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, a) in accounts.iter().enumerate() {
        for k in identifier_keys(a) {
            blocks.entry(k).or_default().push(i);
        }
        for k in &a.pgp {
            for u in &k.user_ids {
                for e in normalize::uid_emails(u) {
                    blocks.entry(format!("mail:{e}")).or_default().push(i);
                }
            }
        }
        for c in a.contacts.iter().filter(|c| c.value.contains('@')) {
            blocks.entry(format!("mail:{}", c.value)).or_default().push(i);
        }
    }
    emit(blocks, &mut stats.identifier_pairs, &mut stats.skipped_blocks, &mut out);

    // Names and claims.
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, a) in accounts.iter().enumerate() {
        let key = corpus.name_key(i);
        if !key.is_empty() {
            blocks.entry(format!("name:{key}")).or_default().push(i);
            blocks.entry(format!("claim:{}:{key}", normalize::market_key(&a.market))).or_default().push(i);
        }
        for c in &a.claimed {
            let target = match &c.account {
                Some(acc) => normalize::name_key(acc),
                None => key.to_owned(),
            };
            if !target.is_empty() {
                blocks.entry(format!("claim:{}:{target}", normalize::market_key(&c.market))).or_default().push(i);
            }
        }
    }
    emit(blocks, &mut stats.name_pairs, &mut stats.skipped_blocks, &mut out);

    // Text LSH.
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, a) in accounts.iter().enumerate() {
        if let Some(sig) = text::minhash(a.texts.iter().map(|t| t.value.as_str())) {
            for (b, k) in text::band_keys(&sig).into_iter().enumerate() {
                blocks.entry(format!("lsh:{b}:{k:016x}")).or_default().push(i);
            }
        }
    }
    emit(blocks, &mut stats.text_pairs, &mut stats.skipped_blocks, &mut out);

    stats.total = out.len();
    (out.into_iter().collect(), stats)
}

/// Every pair `(i, j)`, `i < j`: for tests and small sets only.
pub fn all_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect()
}
