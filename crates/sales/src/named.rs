//! Rows with no listing id or URL, matched to the listing they show.
//!
//! A market's listing id (or link) names a listing. A row without either
//! (Agora's `vendorall` files list each vendor's listings by title alone)
//! was its own listing, keyed by vendor and title: the same 19 listings of
//! one Agora vendor, seen in the product files by id and in both vendorall
//! files by title, counted as 57. Such a row now takes the identity of the
//! named listing of its account (market and vendor as shown) that shows the
//! same title, word for word (case and punctuation aside: one vendorall file
//! drops the commas of titles), when exactly one named listing does. Failing
//! that, of the one named listing whose whole title begins the row's text at
//! a word boundary and is followed by at least [`DESCRIPTION_WORDS`] more
//! words (the older vendorall file gives the title and then the description
//! as one text). Two or more candidates, or none: the row keeps a key of its
//! own, as before; nothing is matched by a guess between two.
//!
//! Two rules keep apart what is two listings:
//! * A named listing seen in the same evidence record as the row (the same
//!   file or page) is never a candidate: one capture showing both is two
//!   listings. (AlphaBay's cocaine file has a named "3.5g Fish-scale
//!   Cocaine" and, without an id, "3.5g Fish-scale Cocaine (Escrow)": two
//!   listings, $205 and $230.)
//! * A row that shows a sold counter is never matched: the counter is its
//!   own listing's, and its readings would join another listing's series.
//!   (AlphaBay's files, where most rows have no id, show one vendor's two
//!   listings with one title in two files of a day: $20 and 94 sold, $25
//!   and 385 sold.) Agora's vendorall rows show none.
//!
//! What this can get wrong: a listing with no named row of its own whose
//! title is another named listing's, or begins with it and goes on for
//! [`DESCRIPTION_WORDS`] words or more, is counted as that listing, when they
//! are never seen in one capture. docs/methods.md gives the measured effect.

use std::collections::{HashMap, HashSet};

use model::{Listing, Sha256};

use crate::FastState;

/// Unnamed rows' keys mapped to the key of the named listing they show.
#[derive(Debug, Default)]
pub(crate) struct Aliases {
    of: HashMap<String, String, FastState>,
}

/// A title's words: lower-cased runs of letters and digits, one space
/// between them.
pub(crate) fn title_words(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for word in title.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// How many words past a named listing's title make the rest of a text its
/// description, not a longer title ("… Cocaine (Escrow)" is another
/// listing's title; Agora's descriptions run to dozens of words). With 5,
/// 7,740 of the 8,533 rows of Agora's older vendorall file find their
/// listing; with 0, 7,957 would, a few of them by a longer title.
pub(crate) const DESCRIPTION_WORDS: usize = 5;

fn named(l: &Listing) -> bool {
    l.market_listing_id.is_some() || l.url.is_some()
}

/// Whether `words` is `title`'s words and then a description: at least
/// [`DESCRIPTION_WORDS`] more.
fn title_then_description(words: &str, title: &str) -> bool {
    words.len() > title.len()
        && words.starts_with(title)
        && words.as_bytes()[title.len()] == b' '
        && words[title.len()..].split(' ').filter(|w| !w.is_empty()).count() >= DESCRIPTION_WORDS
}

fn record(l: &Listing) -> Option<Sha256> {
    l.provenance.as_ref().map(|p| p.evidence)
}

impl Aliases {
    /// The aliases among `listings` (read twice; nothing is done unless some
    /// row is unnamed).
    pub(crate) fn of<'l>(listings: impl Iterator<Item = &'l Listing> + Clone) -> Aliases {
        let accounts: HashSet<(&str, &str), FastState> =
            listings.clone().filter(|l| !named(l)).map(|l| (l.market.as_str(), l.vendor.as_deref().unwrap_or(""))).collect();
        if accounts.is_empty() {
            return Aliases::default();
        }
        type Records = HashSet<Option<Sha256>, FastState>;
        // Per account: each title's words and the named keys showing it; the
        // records each named key is seen in.
        type Titles = HashMap<String, HashSet<String, FastState>, FastState>;
        let mut titles: HashMap<(&str, &str), Titles, FastState> = HashMap::default();
        let mut named_in: HashMap<String, Records, FastState> = HashMap::default();
        let mut key = String::new();
        for l in listings.clone().filter(|l| named(l)) {
            let account = (l.market.as_str(), l.vendor.as_deref().unwrap_or(""));
            if !accounts.contains(&account) {
                continue;
            }
            let words = title_words(&l.title);
            if words.is_empty() {
                continue;
            }
            key.clear();
            crate::estimate::push_listing_key(&mut key, l);
            named_in.entry(key.clone()).or_default().insert(record(l));
            titles.entry(account).or_default().entry(words).or_default().insert(key.clone());
        }
        // Each unnamed key: its account, its text's words, its records, and
        // whether a row of it shows a sold counter.
        type Unnamed<'l> = ((&'l str, &'l str), String, Records, bool);
        let mut unnamed: HashMap<String, Unnamed<'_>, FastState> = HashMap::default();
        for l in listings.filter(|l| !named(l)) {
            key.clear();
            crate::estimate::push_listing_key(&mut key, l);
            let entry = unnamed.entry(key.clone()).or_insert_with(|| {
                ((l.market.as_str(), l.vendor.as_deref().unwrap_or("")), title_words(&l.title), Records::default(), false)
            });
            entry.2.insert(record(l));
            entry.3 |= l.sold.is_some();
        }
        let mut of: HashMap<String, String, FastState> = HashMap::default();
        for (key, (account, words, records, counted)) in unnamed {
            let Some(account) = titles.get(&account).filter(|_| !words.is_empty() && !counted) else { continue };
            let seen_apart = |named: &&String| named_in.get(*named).is_none_or(|in_| in_.is_disjoint(&records));
            let candidates: HashSet<&String, FastState> = match account.get(&words) {
                Some(keys) => keys.iter().filter(seen_apart).collect(),
                None => account.iter().filter(|(t, _)| title_then_description(&words, t)).flat_map(|(_, keys)| keys).filter(seen_apart).collect(),
            };
            if let (1, Some(named)) = (candidates.len(), candidates.iter().next()) {
                of.insert(key, (*named).clone());
            }
        }
        Aliases { of }
    }

    /// Writes `l`'s listing key into `out` (cleared): its own, or the named
    /// listing's it shows. True when the key names a listing (an id, a URL
    /// or a match), whose rows are that one listing seen again.
    pub(crate) fn write_key(&self, out: &mut String, l: &Listing) -> bool {
        out.clear();
        crate::estimate::push_listing_key(out, l);
        if named(l) {
            return true;
        }
        match self.of.get(out.as_str()) {
            Some(key) => {
                out.clear();
                out.push_str(key);
                true
            }
            None => false,
        }
    }
}

/// Each listing's identity as the estimators count listings: its market's
/// listing id, else its URL, else the named listing it shows (see the
/// module), else its vendor, title and "sold since" date. Two listings are
/// one when their texts are equal.
pub fn listing_identities(listings: &[&Listing]) -> Vec<String> {
    let aliases = Aliases::of(listings.iter().copied());
    let mut key = String::new();
    listings
        .iter()
        .map(|l| {
            aliases.write_key(&mut key, l);
            key.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(vendor: &str, title: &str, id: Option<&str>) -> Listing {
        Listing {
            market: "agora".into(),
            vendor: Some(vendor.into()),
            title: title.into(),
            market_listing_id: id.map(Into::into),
            ..Listing::default()
        }
    }

    fn key_of(aliases: &Aliases, l: &Listing) -> (String, bool) {
        let mut out = String::new();
        let named = aliases.write_key(&mut out, l);
        (out, named)
    }

    #[test]
    fn words_drop_case_and_punctuation() {
        assert_eq!(title_words("Tramadol 50 mg x 100 (USA ONLY SPECIAL, FREE SHIP)"), "tramadol 50 mg x 100 usa only special free ship");
        assert_eq!(title_words("Tramadol 50 mg x 100 (USA ONLY SPECIAL  FREE SHIP)"), "tramadol 50 mg x 100 usa only special free ship");
        assert_eq!(title_words(" -- "), "");
        assert_eq!(title_words("ÄRGER Über"), "ärger über");
    }

    #[test]
    fn a_title_or_a_text_beginning_with_it_takes_the_one_named_listing() {
        let rows = [
            listing("3dames", "Tramadol 50 mg x 100 (USA ONLY SPECIAL, FREE SHIP)", Some("BiRab0NTPL")),
            listing("3dames", "Fluoxetine (Prozac) 20 mg x 30 (free shipping)", Some("aijlcjiFSy")),
            listing("3dames", "Fluoxetine (Prozac) 20 mg x 60 (free shipping)", Some("MA0w8b8CBT")),
            // vendorall v2: the title, commas dropped
            listing("3dames", "Tramadol 50 mg x 100 (USA ONLY SPECIAL  FREE SHIP)", None),
            // vendorall v1: title and description in one text
            listing("3dames", "Fluoxetine (Prozac) 20 mg x 30 (free shipping) Branded generic of fluoxetine (Prozac), the original ...", None),
        ];
        let rows = rows.map(|mut l| {
            let file: &[u8] = if l.market_listing_id.is_some() { b"products" } else { b"vendorall" };
            l.provenance = Some(model::Provenance { evidence: Sha256::of(file), profile: String::new(), rule: String::new() });
            l
        });
        let aliases = Aliases::of(rows.iter());
        assert_eq!(key_of(&aliases, &rows[3]), key_of(&aliases, &rows[0]));
        assert_eq!(key_of(&aliases, &rows[4]), key_of(&aliases, &rows[1]));
        assert_ne!(key_of(&aliases, &rows[4]), key_of(&aliases, &rows[2]));
        assert!(key_of(&aliases, &rows[3]).1);
    }

    #[test]
    fn two_candidates_or_none_leave_the_row_its_own_key() {
        let rows = [
            listing("v", "Custom listing", Some("a")),
            listing("v", "Custom listing", Some("b")),
            listing("v", "LSD", Some("c")),
            listing("v", "LSD 100ug", Some("d")),
            listing("w", "Custom listing", Some("e")),
            listing("v", "custom listing", None),
            listing("v", "LSD 100ug blotter tabs of the finest kind ...", None),
            listing("v", "Ketamine", None),
            // a word cut in two is no word boundary
            listing("v", "LSDX", None),
            // a longer title, not a description
            listing("w", "Custom listing (Escrow)", None),
        ];
        let aliases = Aliases::of(rows.iter());
        for row in &rows[5..] {
            let (key, named) = key_of(&aliases, row);
            assert!(!named, "{key}");
            assert!(key.contains(&row.title.to_lowercase()), "{key}");
        }
    }

    #[test]
    fn a_named_listing_in_the_rows_own_capture_is_another_listing() {
        let in_file = |mut l: Listing, file: &[u8]| {
            l.provenance = Some(model::Provenance { evidence: Sha256::of(file), profile: String::new(), rule: String::new() });
            l
        };
        let rows = [
            in_file(listing("v", "3.5g Fish-scale Cocaine", Some("182654")), b"cocaine"),
            in_file(listing("v", "3.5g fish-scale cocaine", None), b"cocaine"),
            in_file(listing("v", "3.5g Fish-scale Cocaine", None), b"cocaine"),
            in_file(listing("v", "3.5g Fish-scale Cocaine", None), b"later"),
        ];
        let aliases = Aliases::of(rows.iter());
        assert!(!key_of(&aliases, &rows[1]).1);
        // Its key is seen in the named listing's file too (rows 2 and 3).
        assert!(!key_of(&aliases, &rows[3]).1);
        let apart = [rows[0].clone(), rows[3].clone()];
        let aliases = Aliases::of(apart.iter());
        assert_eq!(key_of(&aliases, &apart[1]), key_of(&aliases, &apart[0]));
        // A row with a sold counter of its own is its own listing.
        let mut counted = apart.clone();
        counted[1].sold = Some(385);
        let aliases = Aliases::of(counted.iter());
        assert!(!key_of(&aliases, &counted[1]).1);
    }

    #[test]
    fn with_no_unnamed_row_nothing_is_built() {
        let rows = [listing("v", "a", Some("1")), listing("v", "a", Some("2"))];
        assert!(Aliases::of(rows.iter()).of.is_empty());
    }
}
