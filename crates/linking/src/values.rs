//! The signal values of a pair without their evidence: the same numbers as
//! [`Corpus::features`], computed from interned ids instead of strings, so
//! that scoring millions of candidate pairs allocates nothing per pair.
//! Evidence (detail, source rows) is built only for the pairs that become
//! links; `values_match_features` tests hold the two paths equal.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::account::Account;
use crate::normalize;
use crate::signals::{identifier_keys, Corpus, SIGNALS, SUCCESSION_DAYS};

/// Number of signals.
pub const N: usize = SIGNALS.len();

/// Per-account interned facts.
#[derive(Debug, Clone, Default)]
struct Packed {
    /// PGP fingerprints and subkeys (ids into the identifier table).
    pgp: Vec<u32>,
    btc: Vec<u32>,
    contacts: Vec<u32>,
    /// E-mails in PGP user ids / among contacts (ids into the mail table).
    uid_mails: Vec<u32>,
    contact_mails: Vec<u32>,
    ships_from: Vec<u32>,
    ships_to: Vec<u32>,
    name_key: Vec<char>,
    generic: bool,
    has_claims: bool,
    has_texts: bool,
    has_categories: bool,
    first_seen: Option<NaiveDate>,
    last_seen: Option<NaiveDate>,
}

/// Interned per-account facts of a corpus, built by [`Corpus::new`].
#[derive(Debug, Clone, Default)]
pub(crate) struct PackedCorpus {
    accounts: Vec<Packed>,
    /// Identifier id -> shown by at least `COMMON_IDENTIFIER` accounts of one
    /// market (not evidence).
    common: Vec<bool>,
}

struct Interner(HashMap<String, u32>);

impl Interner {
    fn id(&mut self, key: String) -> u32 {
        let next = self.0.len() as u32;
        *self.0.entry(key).or_insert(next)
    }

    fn ids(&mut self, keys: impl Iterator<Item = String>) -> Vec<u32> {
        let mut v: Vec<u32> = keys.map(|k| self.id(k)).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

impl PackedCorpus {
    /// `is_common(key)` says whether an identifier key (`pgp:…`, `btc:…`,
    /// `contact:…`) is too common on some market to count.
    pub(crate) fn new(accounts: &[Account], name_keys: &[String], is_common: impl Fn(&str) -> bool) -> PackedCorpus {
        let mut ids = Interner(HashMap::new());
        let mut mails = Interner(HashMap::new());
        let mut places = Interner(HashMap::new());
        let packed = accounts
            .iter()
            .zip(name_keys)
            .map(|(a, key)| {
                let keys = identifier_keys(a);
                let of = |prefix: &'static str| keys.iter().filter(move |k| k.starts_with(prefix)).cloned();
                Packed {
                    pgp: ids.ids(of("pgp:")),
                    btc: ids.ids(of("btc:")),
                    contacts: ids.ids(of("contact:")),
                    uid_mails: mails
                        .ids(a.pgp.iter().flat_map(|k| k.user_ids.iter()).flat_map(|u| normalize::uid_emails(u))),
                    contact_mails: mails
                        .ids(a.contacts.iter().filter(|c| c.value.contains('@')).map(|c| c.value.clone())),
                    ships_from: places.ids(a.ships_from.iter().map(|f| f.value.clone())),
                    ships_to: places.ids(a.ships_to.iter().map(|f| f.value.clone())),
                    name_key: key.chars().collect(),
                    generic: normalize::is_generic(key),
                    has_claims: !a.claimed.is_empty(),
                    has_texts: !a.texts.is_empty(),
                    has_categories: !a.categories.is_empty(),
                    first_seen: a.first_seen,
                    last_seen: a.last_seen,
                }
            })
            .collect();
        let mut common = vec![false; ids.0.len()];
        for (key, id) in &ids.0 {
            common[*id as usize] = is_common(key);
        }
        PackedCorpus { accounts: packed, common }
    }
}

/// Whether two sorted id lists share an element satisfying `keep`.
fn shares(a: &[u32], b: &[u32], keep: impl Fn(u32) -> bool) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if keep(a[i]) {
                    return true;
                }
                i += 1;
                j += 1;
            }
        }
    }
    false
}

/// Jaccard of two sorted, deduplicated id lists (as `signals::jaccard`).
fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

impl Corpus<'_> {
    /// Every signal's value on accounts `i` and `j` in [`SIGNALS`] order, and
    /// whether a hard identifier matched: exactly the `value`s and `hard` of
    /// [`Corpus::features`], without building their evidence.
    pub fn values(&self, i: usize, j: usize) -> ([f64; N], bool) {
        let (mut v, hard) = self.cheap_values(i, j);
        self.fill_costly_values(i, j, &mut v);
        (v, hard)
    }

    /// Indices (in [`SIGNALS`]) of the values [`Corpus::cheap_values`]
    /// leaves at 0 and [`Corpus::fill_costly_values`] computes: the fuzzy
    /// name similarity and the text cosine. Each is at most 1.
    pub(crate) const COSTLY: [usize; 2] = [5, 6];

    /// [`Corpus::values`] without the costly ones ([`Corpus::COSTLY`], left
    /// at 0 except an exact name-key match, which is cheap).
    pub(crate) fn cheap_values(&self, i: usize, j: usize) -> ([f64; N], bool) {
        let (pa, pb) = (&self.packed.accounts[i], &self.packed.accounts[j]);
        let common = &self.packed.common;
        let mut v = [0.0; N];
        let mut hard = false;
        // pgp
        if !pa.pgp.is_empty() && !pb.pgp.is_empty() && shares(&pa.pgp, &pb.pgp, |k| !common[k as usize]) {
            v[0] = 1.0;
            hard = true;
        }
        // pgp_uid: a user-id e-mail of one side among the other's user ids or contacts.
        if (!pa.uid_mails.is_empty() || !pb.uid_mails.is_empty())
            && (shares(&pa.uid_mails, &pb.uid_mails, |_| true)
                || shares(&pa.uid_mails, &pb.contact_mails, |_| true)
                || shares(&pb.uid_mails, &pa.contact_mails, |_| true))
        {
            v[1] = 1.0;
        }
        // btc, contact
        if shares(&pa.btc, &pb.btc, |k| !common[k as usize]) {
            v[2] = 1.0;
        }
        if shares(&pa.contacts, &pb.contacts, |k| !common[k as usize]) {
            v[3] = 1.0;
        }
        // claimed: rare, so the evidence path is cheap enough.
        if pa.has_claims || pb.has_claims {
            v[4] = self.claimed_value(i, j);
        }
        // name (an exact key match; the fuzzy match is costly)
        let (ka, kb) = (&pa.name_key, &pb.name_key);
        if !ka.is_empty() && ka == kb {
            let amb = self.name_ambiguity_of(i).max(1);
            v[5] = 1.0 / amb as f64 * if pa.generic { 0.25 } else { 1.0 };
        }
        // shipping, categories
        let mut parts = (0.0, 0usize);
        for (x, y) in [(&pa.ships_from, &pb.ships_from), (&pa.ships_to, &pb.ships_to)] {
            if !x.is_empty() && !y.is_empty() {
                parts.0 += jaccard(x, y);
                parts.1 += 1;
            }
        }
        if parts.1 > 0 {
            v[7] = parts.0 / parts.1 as f64;
        }
        if pa.has_categories && pb.has_categories {
            v[8] = crate::text::cosine(&self.categories[i], &self.categories[j]);
        }
        // timeline
        if let (Some(af), Some(al), Some(bf), Some(bl)) = (pa.first_seen, pa.last_seen, pb.first_seen, pb.last_seen) {
            let (old_last, new_first) = if al <= bl { (al, bf) } else { (bl, af) };
            let gap = (new_first - old_last).num_days();
            if (-30..=SUCCESSION_DAYS).contains(&gap) {
                v[9] = 1.0 - gap.max(0) as f64 / SUCCESSION_DAYS as f64;
            }
        }
        // photo: a few hashes per account, compared directly.
        if !self.photos[i].is_empty() && !self.photos[j].is_empty() {
            v[10] = self.photo_match(i, j).0;
        }
        (v, hard)
    }

    /// Computes the values [`Corpus::cheap_values`] left out.
    pub(crate) fn fill_costly_values(&self, i: usize, j: usize, v: &mut [f64; N]) {
        let (pa, pb) = (&self.packed.accounts[i], &self.packed.accounts[j]);
        let (ka, kb) = (&pa.name_key, &pb.name_key);
        if !ka.is_empty() && !kb.is_empty() && ka != kb {
            let jw = normalize::jaro_winkler_chars(ka, kb);
            if jw >= crate::signals::NAME_FUZZY_FLOOR && !pa.generic && !pb.generic {
                v[5] = 0.8 * (jw - crate::signals::NAME_FUZZY_FLOOR) / (1.0 - crate::signals::NAME_FUZZY_FLOOR);
            }
        }
        if pa.has_texts && pb.has_texts {
            v[6] = crate::text::cosine(&self.style[i], &self.style[j]);
        }
    }
}
