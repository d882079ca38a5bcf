//! Candidate pairs without comparing all pairs: exact blocking on shared
//! identifiers (PGP keys and subkeys, BTC addresses, contacts, user-id
//! e-mails), on the normalized name key and on claimed account names, on
//! near product-photo hashes, and MinHash/LSH over character shingles of the
//! texts.

use std::collections::HashMap;

use crate::normalize;
use crate::signals::{identifier_keys, near_photo_pairs, Corpus};
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
    /// Pairs from near photo hashes.
    pub photo_pairs: usize,
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
    // Pairs as packed `i << 32 | j`: sorting and merging millions of them
    // is what this function spends its time on.
    let mut out: Vec<u64> = Vec::new();

    // Identifiers.
    let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, a) in accounts.iter().enumerate() {
        let i = i as u32;
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
    stats.identifier_pairs = add_stage(blocks.into_values(), &mut stats.skipped_blocks, &mut out);

    // Names and claims.
    let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, a) in accounts.iter().enumerate() {
        let key = corpus.name_key(i);
        let i = i as u32;
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
    stats.name_pairs = add_stage(blocks.into_values(), &mut stats.skipped_blocks, &mut out);

    // Photos: pairs of accounts with near photos, neither common (chance
    // band collisions are verified away, so they add no pairs).
    let photos = corpus.photos.iter().enumerate().flat_map(|(i, photos)| {
        photos.iter().enumerate().filter(|(_, p)| !p.common).map(move |(x, p)| (0, p.hash, (i as u32, x as u32)))
    });
    let mut stage = Vec::new();
    near_photo_pairs(photos, |(i, _), (j, _)| stage.push(u64::from(i.min(j)) << 32 | u64::from(i.max(j))));
    stats.photo_pairs = merge_stage(stage, &mut out);

    // Text LSH: (band, bucket) blocks.
    let signatures = crate::link::parallel_map(accounts, |chunk| {
        chunk.iter().map(|a| text::minhash(a.texts.iter().map(|t| t.value.as_str())).map(|s| text::band_keys(&s))).collect()
    });
    let mut blocks: HashMap<(usize, u64), Vec<u32>> = HashMap::new();
    for (i, keys) in signatures.into_iter().enumerate() {
        for (b, k) in keys.into_iter().flatten().enumerate() {
            blocks.entry((b, k)).or_default().push(i as u32);
        }
    }
    stats.text_pairs = add_stage(blocks.into_values(), &mut stats.skipped_blocks, &mut out);

    stats.total = out.len();
    (out.into_iter().map(|p| ((p >> 32) as usize, (p & 0xffff_ffff) as usize)).collect(), stats)
}

/// Adds every pair within each block (blocks larger than [`MAX_BLOCK`] are
/// skipped and counted) to the sorted set `out`; returns how many pairs
/// were new.
fn add_stage(blocks: impl Iterator<Item = Vec<u32>>, skipped: &mut usize, out: &mut Vec<u64>) -> usize {
    let mut stage: Vec<u64> = Vec::new();
    for mut members in blocks {
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
            stage.extend(members[x + 1..].iter().map(|&j| u64::from(i) << 32 | u64::from(j)));
        }
    }
    merge_stage(stage, out)
}

/// Adds the packed pairs `stage` to the sorted set `out`; returns how many
/// were new.
fn merge_stage(mut stage: Vec<u64>, out: &mut Vec<u64>) -> usize {
    stage.sort_unstable();
    stage.dedup();
    // Merge two sorted sets, counting what only the stage has.
    let mut merged = Vec::with_capacity(out.len() + stage.len());
    let (mut a, mut b, mut new) = (0, 0, 0);
    while a < out.len() || b < stage.len() {
        if b == stage.len() || (a < out.len() && out[a] < stage[b]) {
            merged.push(out[a]);
            a += 1;
        } else {
            if a < out.len() && out[a] == stage[b] {
                a += 1;
            } else {
                new += 1;
            }
            merged.push(stage[b]);
            b += 1;
        }
    }
    *out = merged;
    new
}

/// Every pair `(i, j)`, `i < j`: for tests and small sets only.
pub fn all_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect()
}
