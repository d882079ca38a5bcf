//! The signals: each compares two accounts and returns [`SignalEvidence`]:
//! a value in `[0, 1]` (0 = nothing in common, or nothing to compare), what
//! matched, and the rows that show it.
//!
//! A value of 0 never argues *against* a link by itself; the model's bias
//! does that. So a pair with missing data (no key, no text) scores as a pair
//! with no evidence, and no link is made on missing evidence.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::normalize;
use crate::text::{self, Sparse};

/// Every signal, in the order of the model's weights.
pub const SIGNALS: [&str; 11] = [
    PGP, PGP_UID, BTC, CONTACT, CLAIMED, NAME, STYLE, SHIPPING, CATEGORIES, TIMELINE, PHOTO,
];

/// Same PGP fingerprint, or a fingerprint that is a subkey of the other's key. Hard.
pub const PGP: &str = "pgp";
/// PGP user ids naming the same e-mail (or a user-id e-mail equal to a contact).
pub const PGP_UID: &str = "pgp_uid";
/// A shared BTC address.
pub const BTC: &str = "btc";
/// A shared contact handle (Jabber, e-mail, Wickr, ...).
pub const CONTACT: &str = "contact";
/// One account claims (imports ratings from) the other.
pub const CLAIMED: &str = "claimed";
/// Vendor name similarity after normalization.
pub const NAME: &str = "name";
/// Character n-gram TF-IDF cosine of the texts.
pub const STYLE: &str = "style";
/// Shipping origin and destination overlap.
pub const SHIPPING: &str = "shipping";
/// Category profile cosine.
pub const CATEGORIES: &str = "categories";
/// One account appears as the other disappears.
pub const TIMELINE: &str = "timeline";

/// Product photos with perceptual hashes at most [`PHOTO_MAX_BITS`] apart.
pub const PHOTO: &str = "photo";

/// An identifier on at least this many accounts of one market is taken to be
/// the market's own (a deposit address, the market's key) and not evidence.
pub const COMMON_IDENTIFIER: usize = 3;

/// Two photo hashes (64-bit dHash) at most this many bits apart show the
/// same picture (re-encoded, resized, recoloured). Measured on the White
/// House pages (docs/methods.md, "Product photos"): byte-different files of
/// one picture lie 0-2 bits apart, while unrelated vendors' thumbnails come
/// as close as 2-7 bits, so the value falls with each bit and the model
/// weighs it.
pub const PHOTO_MAX_BITS: u32 = 4;

/// Jaro-Winkler similarity below which two different name keys count as
/// unrelated (value 0).
pub const NAME_FUZZY_FLOOR: f64 = 0.85;

/// Days after one account's last sighting within which the other's first
/// sighting counts as a successor (and up to 30 days before it).
pub const SUCCESSION_DAYS: i64 = 120;

/// One signal's evidence on one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalEvidence {
    /// Signal name (one of [`SIGNALS`]).
    pub signal: String,
    /// Strength in `[0, 1]`.
    pub value: f64,
    /// A hard identifier (same PGP key): shown as such, not only as a score.
    pub hard: bool,
    /// One side has nothing to compare (no key, no text, ...): the value is
    /// 0 because the evidence is missing, not because it differs.
    pub missing: bool,
    /// What matched, for people.
    pub detail: String,
    /// Row ids that show the matched facts, both accounts.
    pub sources: Vec<String>,
}

impl SignalEvidence {
    fn new(signal: &str) -> Self {
        SignalEvidence {
            signal: signal.to_owned(),
            value: 0.0,
            hard: false,
            missing: false,
            detail: String::new(),
            sources: Vec::new(),
        }
    }

    fn missing(signal: &str, detail: String) -> Self {
        SignalEvidence {
            missing: true,
            detail,
            ..SignalEvidence::new(signal)
        }
    }
}

/// Precomputed per-account data and collection statistics the signals need
/// (name ambiguity, identifier frequency, text IDF). Build once per set of
/// accounts.
#[derive(Debug, Clone)]
pub struct Corpus<'a> {
    /// The accounts, as given.
    pub accounts: &'a [Account],
    pub(crate) name_keys: Vec<String>,
    /// name key -> the most accounts one market has with that key.
    name_ambiguity: HashMap<String, usize>,
    /// identifier key -> market -> accounts.
    id_count: HashMap<String, BTreeMap<String, usize>>,
    pub(crate) style: Vec<Sparse>,
    pub(crate) categories: Vec<Sparse>,
    /// Per account, its photo hashes in `Account::photos` order, each with
    /// whether it is common (see [`photo_hashes`]).
    pub(crate) photos: Vec<Vec<PhotoHash>>,
    /// Interned facts for [`Corpus::values`].
    pub(crate) packed: crate::values::PackedCorpus,
}

fn pgp_keys(a: &Account) -> BTreeSet<String> {
    a.pgp
        .iter()
        .flat_map(|k| std::iter::once(k.fingerprint.clone()).chain(k.subkeys.iter().cloned()))
        .collect()
}

/// The identifier keys of an account (`pgp:FP`, `btc:ADDR`, `contact:KIND:V`).
pub(crate) fn identifier_keys(a: &Account) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for k in pgp_keys(a) {
        out.insert(format!("pgp:{k}"));
    }
    for b in &a.btc {
        out.insert(format!("btc:{}", b.value));
    }
    for c in &a.contacts {
        out.insert(format!("contact:{}:{}", c.kind, c.value));
    }
    out
}

fn uid_emails(a: &Account) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in &a.pgp {
        for u in &k.user_ids {
            for e in normalize::uid_emails(u) {
                out.entry(e).or_default().extend(k.sources.iter().cloned());
            }
        }
    }
    out
}

fn sources_of<'x>(it: impl Iterator<Item = &'x Vec<String>>) -> Vec<String> {
    let set: BTreeSet<String> = it.flatten().cloned().collect();
    set.into_iter().collect()
}

fn jaccard(a: &BTreeSet<&str>, b: &BTreeSet<&str>) -> f64 {
    let inter = a.intersection(b).count() as f64;
    let union = a.union(b).count() as f64;
    if union == 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// At most this many source rows per evidence; the detail says how many more.
const MAX_SOURCES: usize = 40;

fn cap_sources(mut e: SignalEvidence) -> SignalEvidence {
    if e.sources.len() > MAX_SOURCES {
        let more = e.sources.len() - MAX_SOURCES;
        e.sources.truncate(MAX_SOURCES);
        e.detail.push_str(&format!(" (+{more} more rows)"));
    }
    e
}

impl<'a> Corpus<'a> {
    /// Precomputes everything the signals need.
    pub fn new(accounts: &'a [Account]) -> Corpus<'a> {
        let name_keys: Vec<String> = accounts.iter().map(|a| normalize::name_key(&a.name)).collect();
        let mut name_count: HashMap<(String, String), usize> = HashMap::new();
        for (a, k) in accounts.iter().zip(&name_keys) {
            if !k.is_empty() {
                *name_count.entry((a.market.clone(), k.clone())).or_default() += 1;
            }
        }
        let mut id_count: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
        for a in accounts {
            for k in identifier_keys(a) {
                *id_count.entry(k).or_default().entry(a.market.clone()).or_default() += 1;
            }
        }
        let counts: Vec<_> = crate::link::parallel_map(accounts, |chunk| {
            chunk.iter().map(|a| text::term_counts(a.texts.iter().map(|t| t.value.as_str()))).collect()
        });
        let style = text::tfidf(&counts);
        let categories = accounts
            .iter()
            .map(|a| {
                let mut v: Sparse = a
                    .categories
                    .iter()
                    .map(|c| (text::fnv1a(c.value.as_bytes()), c.sources.len() as f64))
                    .collect();
                v.sort_by_key(|x| x.0);
                let norm = v.iter().map(|x| x.1 * x.1).sum::<f64>().sqrt();
                if norm > 0.0 {
                    v.iter_mut().for_each(|x| x.1 /= norm);
                }
                v
            })
            .collect();
        // Per key, the largest count on any one market: looked up per pair,
        // so it must not scan the whole table.
        let mut name_ambiguity: HashMap<String, usize> = HashMap::new();
        for ((_, k), n) in name_count {
            let m = name_ambiguity.entry(k).or_default();
            *m = (*m).max(n);
        }
        let photos = photo_hashes(accounts);
        let mut corpus = Corpus {
            accounts,
            name_keys,
            name_ambiguity,
            id_count,
            style,
            categories,
            photos,
            packed: Default::default(),
        };
        corpus.packed = crate::values::PackedCorpus::new(accounts, &corpus.name_keys, |k| corpus.common(k).is_some());
        corpus
    }

    /// The most accounts one market has with account `i`'s name key.
    pub(crate) fn name_ambiguity_of(&self, i: usize) -> usize {
        self.name_ambiguity.get(self.name_keys[i].as_str()).copied().unwrap_or(1)
    }

    /// The `claimed` signal's value (see [`Corpus::values`]).
    pub(crate) fn claimed_value(&self, i: usize, j: usize) -> f64 {
        self.claimed(i, j).value
    }

    /// The normalized name key of account `i`.
    pub fn name_key(&self, i: usize) -> &str {
        &self.name_keys[i]
    }

    /// Whether an identifier key is common on some market (shown on at least
    /// [`COMMON_IDENTIFIER`] accounts there), and where.
    fn common(&self, key: &str) -> Option<(String, usize)> {
        self.id_count
            .get(key)?
            .iter()
            .find(|(_, &n)| n >= COMMON_IDENTIFIER)
            .map(|(m, &n)| (m.clone(), n))
    }

    /// Every signal on accounts `i` and `j`, in [`SIGNALS`] order.
    pub fn features(&self, i: usize, j: usize) -> Vec<SignalEvidence> {
        let (a, b) = (&self.accounts[i], &self.accounts[j]);
        vec![
            self.pgp(a, b),
            self.pgp_uid(a, b),
            self.shared(BTC, a, b, |x| x.btc.iter().map(|f| (f.value.clone(), f.value.clone(), &f.sources)).collect()),
            self.shared(CONTACT, a, b, |x| {
                x.contacts
                    .iter()
                    .map(|c| (format!("{}:{}", c.kind, c.value), format!("{}:{}", c.kind, c.value), &c.sources))
                    .collect()
            }),
            self.claimed(i, j),
            self.name(i, j),
            self.style(i, j),
            shipping(a, b),
            self.categories(i, j),
            timeline(a, b),
            self.photo(i, j),
        ]
        .into_iter()
        .map(cap_sources)
        .collect()
    }

    fn pgp(&self, a: &Account, b: &Account) -> SignalEvidence {
        if a.pgp.is_empty() || b.pgp.is_empty() {
            return SignalEvidence::missing(PGP, format!("no PGP key on {}", if a.pgp.is_empty() { &a.id } else { &b.id }));
        }
        let mut e = SignalEvidence::new(PGP);
        let (ka, kb) = (pgp_keys(a), pgp_keys(b));
        let shared: Vec<&String> = ka.intersection(&kb).collect();
        let mut common = Vec::new();
        let mut hits = Vec::new();
        for fp in shared {
            if let Some((m, n)) = self.common(&format!("pgp:{fp}")) {
                common.push(format!("{fp} is on {n} accounts of {m}"));
                continue;
            }
            let role = |x: &Account| {
                if x.pgp.iter().any(|k| &k.fingerprint == fp) {
                    "key"
                } else {
                    "subkey"
                }
            };
            hits.push(format!("{fp} ({} of {}, {} of {})", role(a), a.id, role(b), b.id));
            e.sources.extend(sources_of(
                a.pgp.iter().chain(&b.pgp).filter(|k| &k.fingerprint == fp || k.subkeys.contains(fp)).map(|k| &k.sources),
            ));
        }
        if hits.is_empty() {
            e.detail = if common.is_empty() {
                format!("different keys: {} vs {}", list(a.pgp.iter().map(|k| &k.fingerprint)), list(b.pgp.iter().map(|k| &k.fingerprint)))
            } else {
                format!("shared key too common to count: {}", common.join("; "))
            };
        } else {
            e.value = 1.0;
            e.hard = true;
            e.detail = format!("same PGP key: {}", hits.join("; "));
        }
        e.sources.sort();
        e.sources.dedup();
        e
    }

    fn pgp_uid(&self, a: &Account, b: &Account) -> SignalEvidence {
        let (ua, ub) = (uid_emails(a), uid_emails(b));
        if ua.is_empty() && ub.is_empty() {
            return SignalEvidence::missing(PGP_UID, "no PGP user ids on either account".into());
        }
        let mut e = SignalEvidence::new(PGP_UID);
        let mut hits = Vec::new();
        let contacts = |x: &Account| -> BTreeMap<String, Vec<String>> {
            x.contacts.iter().filter(|c| c.value.contains('@')).map(|c| (c.value.clone(), c.sources.clone())).collect()
        };
        let (ca, cb) = (contacts(a), contacts(b));
        for (mail, src) in &ua {
            if let Some(s2) = ub.get(mail).or_else(|| cb.get(mail)) {
                hits.push(mail.clone());
                e.sources.extend(src.iter().chain(s2).cloned());
            }
        }
        for (mail, src) in &ub {
            if let Some(s2) = ca.get(mail) {
                if !hits.contains(mail) {
                    hits.push(mail.clone());
                }
                e.sources.extend(src.iter().chain(s2).cloned());
            }
        }
        if !hits.is_empty() {
            e.value = 1.0;
            e.detail = format!("PGP user id names {} (anyone can write any user id: soft)", hits.join(", "));
        } else {
            e.detail = "no user-id e-mail in common".into();
        }
        e.sources.sort();
        e.sources.dedup();
        e
    }

    fn shared<'x, F>(&self, signal: &str, a: &'x Account, b: &'x Account, facts: F) -> SignalEvidence
    where
        F: Fn(&'x Account) -> Vec<(String, String, &'x Vec<String>)>,
    {
        let (fa, fb) = (facts(a), facts(b));
        if fa.is_empty() || fb.is_empty() {
            return SignalEvidence::missing(signal, format!("no {signal} on {}", if fa.is_empty() { &a.id } else { &b.id }));
        }
        let prefix = if signal == BTC { "btc:" } else { "contact:" };
        let mut e = SignalEvidence::new(signal);
        let mut hits = Vec::new();
        let mut common = Vec::new();
        for (key, shown, src) in &fa {
            let Some((_, _, src2)) = fb.iter().find(|(k, _, _)| k == key) else { continue };
            if let Some((m, n)) = self.common(&format!("{prefix}{key}")) {
                common.push(format!("{shown} is on {n} accounts of {m}"));
                continue;
            }
            hits.push(shown.clone());
            e.sources.extend(src.iter().chain(src2.iter()).cloned());
        }
        if !hits.is_empty() {
            e.value = 1.0;
            e.detail = format!("shared {signal}: {}", hits.join(", "));
        } else if !common.is_empty() {
            e.detail = format!("shared {signal} too common to count: {}", common.join("; "));
        } else {
            e.detail = format!("no {signal} in common");
        }
        e.sources.sort();
        e.sources.dedup();
        e
    }

    fn claimed(&self, i: usize, j: usize) -> SignalEvidence {
        let (a, b) = (&self.accounts[i], &self.accounts[j]);
        if a.claimed.is_empty() && b.claimed.is_empty() {
            return SignalEvidence::missing(CLAIMED, "neither account claims accounts on other markets".into());
        }
        let mut e = SignalEvidence::new(CLAIMED);
        let mut hits = Vec::new();
        for (x, kx, y, ky) in [(a, &self.name_keys[i], b, &self.name_keys[j]), (b, &self.name_keys[j], a, &self.name_keys[i])] {
            for c in &x.claimed {
                if normalize::market_key(&c.market) != normalize::market_key(&y.market) || ky.is_empty() {
                    continue;
                }
                let (v, how) = match &c.account {
                    Some(acc) if normalize::name_key(acc) == *ky => (1.0, format!("{} claims account {acc:?} on {}", x.id, c.market)),
                    None if kx == ky => (0.5, format!("{} claims ratings on {} (no account named; same name key {ky:?})", x.id, c.market)),
                    _ => continue,
                };
                if v > e.value {
                    e.value = v;
                }
                hits.push(how);
                e.sources.extend(c.sources.iter().cloned());
                e.sources.extend(y.sources.iter().take(1).cloned());
            }
        }
        e.detail = if hits.is_empty() { "no claim names the other account".into() } else { hits.join("; ") };
        e.sources.sort();
        e.sources.dedup();
        e
    }

    fn name(&self, i: usize, j: usize) -> SignalEvidence {
        let (a, b) = (&self.accounts[i], &self.accounts[j]);
        let (ka, kb) = (&self.name_keys[i], &self.name_keys[j]);
        if ka.is_empty() || kb.is_empty() {
            return SignalEvidence::missing(NAME, "a name normalizes to nothing".into());
        }
        let mut e = SignalEvidence::new(NAME);
        e.sources = vec![a.sources.first(), b.sources.first()].into_iter().flatten().cloned().collect();
        if ka == kb {
            // Ambiguity: how many accounts of one market share the key. Two
            // accounts of one market are two vendors (or one vendor's two
            // accounts): either way the name alone does not tell them apart.
            let amb = self.name_ambiguity_of(i).max(1);
            let mut v = 1.0 / amb as f64;
            let mut notes = Vec::new();
            if amb > 1 {
                notes.push(format!("{amb} accounts of one market share it"));
            }
            if normalize::is_generic(ka) {
                v *= 0.25;
                notes.push("generic name".into());
            }
            e.value = v;
            e.detail = format!(
                "{:?} and {:?} normalize to {ka:?}{}",
                a.name,
                b.name,
                if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) }
            );
        } else {
            let jw = normalize::jaro_winkler(ka, kb);
            if jw >= NAME_FUZZY_FLOOR && !normalize::is_generic(ka) && !normalize::is_generic(kb) {
                e.value = 0.8 * (jw - NAME_FUZZY_FLOOR) / (1.0 - NAME_FUZZY_FLOOR);
            }
            e.detail = format!("{ka:?} vs {kb:?}: Jaro-Winkler {jw:.3}");
        }
        e
    }

    fn style(&self, i: usize, j: usize) -> SignalEvidence {
        let (a, b) = (&self.accounts[i], &self.accounts[j]);
        if a.texts.is_empty() || b.texts.is_empty() {
            return SignalEvidence::missing(STYLE, format!("no text on {}", if a.texts.is_empty() { &a.id } else { &b.id }));
        }
        let cos = text::cosine(&self.style[i], &self.style[j]);
        let same: Vec<&str> = a
            .texts
            .iter()
            .filter(|t| b.texts.iter().any(|u| u.value.eq_ignore_ascii_case(&t.value)))
            .map(|t| t.value.as_str())
            .collect();
        let mut e = SignalEvidence::new(STYLE);
        e.value = cos;
        e.detail = format!(
            "character 3/4-gram TF-IDF cosine {cos:.3} over {} and {} texts; {} identical",
            a.texts.len(),
            b.texts.len(),
            same.len()
        );
        e.sources = sources_of(a.texts.iter().chain(&b.texts).map(|t| &t.sources));
        e
    }

    /// The `photo` value and the closest pair of photos that are not common,
    /// `(value, index in a, index in b, bits)`; value 0 when none is within
    /// [`PHOTO_MAX_BITS`]. Both paths ([`Corpus::features`] and
    /// [`Corpus::values`]) use it.
    pub(crate) fn photo_match(&self, i: usize, j: usize) -> (f64, Option<(usize, usize, u32)>) {
        let mut best: Option<(usize, usize, u32)> = None;
        for (x, pa) in self.photos[i].iter().enumerate().filter(|(_, p)| !p.common) {
            for (y, pb) in self.photos[j].iter().enumerate().filter(|(_, p)| !p.common) {
                let d = (pa.hash ^ pb.hash).count_ones();
                if d <= PHOTO_MAX_BITS && best.is_none_or(|b| d < b.2) {
                    best = Some((x, y, d));
                }
            }
        }
        (best.map_or(0.0, |b| photo_value(b.2)), best)
    }

    fn photo(&self, i: usize, j: usize) -> SignalEvidence {
        let (a, b) = (&self.accounts[i], &self.accounts[j]);
        if a.photos.is_empty() || b.photos.is_empty() {
            return SignalEvidence::missing(PHOTO, format!("no product photo on {}", if a.photos.is_empty() { &a.id } else { &b.id }));
        }
        let mut e = SignalEvidence::new(PHOTO);
        let (value, best) = self.photo_match(i, j);
        // Every near pair, for people: how many of the photos match.
        let near = |common: bool| {
            self.photos[i]
                .iter()
                .enumerate()
                .flat_map(|(x, pa)| self.photos[j].iter().enumerate().map(move |(y, pb)| (x, pa, y, pb)))
                .filter(|(_, pa, _, pb)| (pa.common || pb.common) == common && (pa.hash ^ pb.hash).count_ones() <= PHOTO_MAX_BITS)
                .map(|(x, _, y, _)| (x, y))
                .collect::<Vec<_>>()
        };
        if let Some((x, y, d)) = best {
            let pairs = near(false);
            e.value = value;
            e.detail = format!(
                "photo {} of {} and {} of {} are {d} of 64 bits apart (dHash); {} near photo pair(s) in all (photos can be copied: soft)",
                a.photos[x].value,
                a.id,
                b.photos[y].value,
                b.id,
                pairs.len()
            );
            e.sources = sources_of(pairs.iter().flat_map(|&(x, y)| [&a.photos[x].sources, &b.photos[y].sources]));
        } else {
            let common = near(true);
            e.detail = if common.is_empty() {
                format!("no photos within {PHOTO_MAX_BITS} bits ({} and {} photos)", a.photos.len(), b.photos.len())
            } else {
                format!(
                    "{} near photo pair(s), each a picture shown by at least {COMMON_IDENTIFIER} accounts of one market (stock photo): not counted",
                    common.len()
                )
            };
        }
        e
    }

    fn categories(&self, i: usize, j: usize) -> SignalEvidence {
        let (a, b) = (&self.accounts[i], &self.accounts[j]);
        if a.categories.is_empty() || b.categories.is_empty() {
            return SignalEvidence::missing(CATEGORIES, "no categories on one account".into());
        }
        let cos = text::cosine(&self.categories[i], &self.categories[j]);
        let shared: Vec<&str> = a
            .categories
            .iter()
            .filter(|c| b.categories.iter().any(|d| d.value == c.value))
            .map(|c| c.value.as_str())
            .collect();
        let mut e = SignalEvidence::new(CATEGORIES);
        e.value = cos;
        e.detail = format!("category profile cosine {cos:.3}; shared: {}", if shared.is_empty() { "none".into() } else { shared.join(", ") });
        e.sources = sources_of(
            a.categories
                .iter()
                .chain(&b.categories)
                .filter(|c| shared.contains(&c.value.as_str()))
                .map(|c| &c.sources),
        );
        e
    }
}

fn refs(s: &BTreeSet<String>) -> BTreeSet<&str> {
    s.iter().map(String::as_str).collect()
}

fn list<'x>(it: impl Iterator<Item = &'x String>) -> String {
    it.map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn shipping(a: &Account, b: &Account) -> SignalEvidence {
    let set = |f: &'_ [crate::account::Fact]| -> BTreeSet<String> { f.iter().map(|x| x.value.clone()).collect() };
    let (fa, fb, ta, tb) = (set(&a.ships_from), set(&b.ships_from), set(&a.ships_to), set(&b.ships_to));
    let mut parts = Vec::new();
    let mut details = Vec::new();
    if !fa.is_empty() && !fb.is_empty() {
        let j = jaccard(&refs(&fa), &refs(&fb));
        parts.push(j);
        details.push(format!("from {:?} vs {:?} (Jaccard {j:.2})", fa, fb));
    }
    if !ta.is_empty() && !tb.is_empty() {
        let j = jaccard(&refs(&ta), &refs(&tb));
        parts.push(j);
        details.push(format!("to {:?} vs {:?} (Jaccard {j:.2})", ta, tb));
    }
    if parts.is_empty() {
        return SignalEvidence::missing(SHIPPING, "no shipping facts to compare".into());
    }
    let mut e = SignalEvidence::new(SHIPPING);
    e.value = parts.iter().sum::<f64>() / parts.len() as f64;
    e.detail = details.join("; ");
    // The rows of the places both show, origins and destinations (the
    // destinations' were not cited: a match on "worldwide" alone cited no
    // row; found by a review).
    let (shared_from, shared_to): (BTreeSet<&String>, BTreeSet<&String>) = (fa.intersection(&fb).collect(), ta.intersection(&tb).collect());
    let from = a.ships_from.iter().chain(&b.ships_from).filter(|f| shared_from.contains(&f.value));
    let to = a.ships_to.iter().chain(&b.ships_to).filter(|f| shared_to.contains(&f.value));
    e.sources = sources_of(from.chain(to).map(|f| &f.sources));
    e
}

fn timeline(a: &Account, b: &Account) -> SignalEvidence {
    let (Some(af), Some(al), Some(bf), Some(bl)) = (a.first_seen, a.last_seen, b.first_seen, b.last_seen) else {
        return SignalEvidence::missing(TIMELINE, "no dates on one account".into());
    };
    // The earlier account is the one that stopped first.
    let (old, old_last, new, new_first) = if al <= bl { (a, al, b, bf) } else { (b, bl, a, af) };
    let _ = (af, bf);
    let gap = (new_first - old_last).num_days();
    let mut e = SignalEvidence::new(TIMELINE);
    if (-30..=SUCCESSION_DAYS).contains(&gap) {
        e.value = 1.0 - gap.max(0) as f64 / SUCCESSION_DAYS as f64;
        e.detail = format!("{} first seen {new_first}, {gap} days after {} was last seen {old_last}", new.id, old.id);
        e.sources = old.sources.iter().take(1).chain(new.sources.iter().take(1)).cloned().collect();
    } else {
        e.detail = format!("{} last seen {old_last}; {} first seen {new_first}: no succession", old.id, new.id);
    }
    e
}

/// The `photo` value of two hashes `bits` apart (at most [`PHOTO_MAX_BITS`]):
/// 1 for the same hash, falling by an equal step per bit.
pub(crate) fn photo_value(bits: u32) -> f64 {
    1.0 - f64::from(bits) / f64::from(PHOTO_MAX_BITS + 1)
}

/// One account's photo hash, and whether it is common.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhotoHash {
    pub hash: u64,
    /// At least [`COMMON_IDENTIFIER`] accounts of this account's market show
    /// a photo within [`PHOTO_MAX_BITS`] of it (counting this one): a stock
    /// picture or the market's placeholder, not evidence about anyone.
    pub common: bool,
}

/// Bands a 64-bit hash is cut into for near-neighbour search: two hashes at
/// most [`PHOTO_MAX_BITS`] apart agree exactly on at least one of
/// `PHOTO_MAX_BITS + 1` bands (pigeonhole), so comparing within band buckets
/// finds every near pair.
fn photo_bands(h: u64) -> impl Iterator<Item = (u8, u64)> {
    let n = PHOTO_MAX_BITS as u64 + 1;
    let width = 64_u64.div_ceil(n);
    (0..n).map(move |b| {
        let shift = b * width;
        let w = width.min(64 - shift);
        (b as u8, (h >> shift) & ((1_u64 << w) - 1))
    })
}

/// Calls `f` on every pair of `photos` (`(group, hash, (account, photo))`)
/// of one group and two different accounts whose hashes are at most
/// [`PHOTO_MAX_BITS`] apart, found within exact band buckets
/// ([`photo_bands`]) and verified, never over all pairs. A pair agreeing on
/// several bands is reported once per such band.
pub(crate) fn near_photo_pairs(photos: impl Iterator<Item = (u32, u64, (u32, u32))>, mut f: impl FnMut((u32, u32), (u32, u32))) {
    // (band, band key, group) -> (photo hash, where it is)
    type Buckets = HashMap<(u8, u64, u32), Vec<(u64, (u32, u32))>>;
    let mut buckets: Buckets = HashMap::new();
    for (group, hash, at) in photos {
        for (band, key) in photo_bands(hash) {
            buckets.entry((band, key, group)).or_default().push((hash, at));
        }
    }
    for members in buckets.values() {
        for (n, &(h, a)) in members.iter().enumerate() {
            for &(g, b) in &members[n + 1..] {
                if a.0 != b.0 && (h ^ g).count_ones() <= PHOTO_MAX_BITS {
                    f(a, b);
                }
            }
        }
    }
}

/// Every account's photo hashes with their commonness. Near pairs are found
/// within band buckets ([`photo_bands`]), never over all pairs.
fn photo_hashes(accounts: &[Account]) -> Vec<Vec<PhotoHash>> {
    let mut out: Vec<Vec<PhotoHash>> = accounts
        .iter()
        .map(|a| {
            a.photos
                .iter()
                .filter_map(|f| normalize::photo_hash(&f.value))
                .map(|hash| PhotoHash { hash, common: false })
                .collect()
        })
        .collect();
    // Per photo, the other accounts of its market with a near photo (counted
    // up to what the threshold needs).
    let market_ids: HashMap<&str, u32> = {
        let mut m = HashMap::new();
        for a in accounts {
            let next = m.len() as u32;
            m.entry(a.market.as_str()).or_insert(next);
        }
        m
    };
    let photos = accounts.iter().zip(&out).enumerate().flat_map(|(i, (a, photos))| {
        let m = market_ids[a.market.as_str()];
        photos.iter().enumerate().map(move |(x, p)| (m, p.hash, (i as u32, x as u32)))
    });
    let need = COMMON_IDENTIFIER - 1;
    let mut near: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    near_photo_pairs(photos, |(i, x), (j, y)| {
        for (p, other) in [((i, x), j), ((j, y), i)] {
            let list = near.entry(p).or_default();
            if list.len() < need && !list.contains(&other) {
                list.push(other);
            }
        }
    });
    for ((i, x), others) in near {
        if others.len() >= need {
            out[i as usize][x as usize].common = true;
        }
    }
    out
}
