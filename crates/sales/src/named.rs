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
//! a word boundary (the older vendorall file gives the title and then the
//! description as one text); every title the text begins with is a
//! candidate, so a longer title that fits blocks a shorter one. Two or more
//! titles that fit, or none: the row keeps a key of its own, as before;
//! nothing is matched by a guess between two titles. Several named listings
//! of the one title that fits are a vendor's relists under new ids: the row
//! is one of them, which is what a count needs, and takes the one seen
//! nearest its day (Heisenbergmontana's 40 ids were 61 listings).
//!
//! Three rules keep apart what is two listings:
//! * A named listing seen in the same capture as the row (the same file or
//!   page, on the same observation day) is never a candidate: one capture
//!   showing both is two listings. (AlphaBay's cocaine file has a named "3.5g Fish-scale
//!   Cocaine" and, without an id, "3.5g Fish-scale Cocaine (Escrow)": two
//!   listings, $205 and $230.)
//! * Nor do two texts of one vendor and capture take one named listing: only
//!   the one showing its whole title keeps the match; and a text seen twice
//!   in one capture is two listings, of which the first takes the match
//!   (`estimate::occurrence_keys` numbers the others). (Agora's older vendorall file
//!   lists "1 Ounce Purple Kush - AAA+" and "1 Ounce Purple Kush - AAA+ (for
//!   USA or International buyers only)", each with its description.)
//! * A row that shows a sold counter is never matched: the counter is its
//!   own listing's, and its readings would join another listing's series.
//!   (AlphaBay's files, where most rows have no id, show one vendor's two
//!   listings with one title in two files of a day: $20 and 94 sold, $25
//!   and 385 sold.) Agora's vendorall rows show none.
//!
//! An id with no digit that is another listing's id of the same account with
//! its digits removed names that listing (Agora's arules files give
//! "JgdUTga" for the product files' "Jgd5U2Tg1a": 190 listings of 76
//! vendors were counted twice). When two ids lose their digits to the same
//! text, it names neither.
//!
//! Only the rows of the vendor's own accounts (its name in any case) are
//! read to match its rows, so a vendor's dossier finds what the whole case
//! finds.
//!
//! A listing seen only in sources without ids (no named listing fits) is
//! found the same way among the unnamed titles: a text takes the one unnamed
//! title of its account it begins with ([`titles_of_unnamed`]; lsdaisy!'s 15
//! listings, each in both vendorall files, were 30). And an unnamed title
//! that fits a text better than any named title (it is longer) keeps the text
//! from the named listing: ManInTheMiddle's "… (for USA or International
//! buyers only)" text goes with that title, not with the named "1 Ounce
//! Purple Kush - AAA+" it also begins with.
//!
//! What this can get wrong: a listing with no named row of its own whose
//! title is another named listing's, or begins with it, is counted as that
//! listing when the two are never seen in one capture and no other title
//! fits. docs/methods.md gives the measured effect.

use std::collections::{HashMap, HashSet};

use model::{Listing, Sha256};

use crate::FastState;

/// Unnamed rows' keys mapped to the key of the named listing they show.
#[derive(Debug, Default)]
pub(crate) struct Aliases {
    of: HashMap<String, String, FastState>,
    /// Ids with no digit that are another listing's id of the same account
    /// with its digits removed, mapped to that listing's key: Agora's arules
    /// files give "JgdUTga" for the product files' "Jgd5U2Tg1a" (190 listings
    /// of 76 vendors were counted twice; found by a review). By
    /// (market, vendor as shown, id).
    digitless: HashMap<(String, String, String), String, FastState>,
}

/// `id` without its ASCII digits, when it has some.
fn without_digits(id: &str) -> Option<String> {
    id.bytes().any(|b| b.is_ascii_digit()).then(|| id.chars().filter(|c| !c.is_ascii_digit()).collect())
}

/// [`Aliases::digitless`] of `listings`: only accounts that have an id with
/// no digit are looked at; a digitless form two ids share names neither.
fn digitless_ids<'l>(listings: impl Iterator<Item = &'l Listing> + Clone) -> HashMap<(String, String, String), String, FastState> {
    let account = |l: &'l Listing| (l.market.as_str(), l.vendor.as_deref().unwrap_or(""));
    let wanted: HashSet<(&str, &str), FastState> = listings
        .clone()
        .filter(|l| l.market_listing_id.as_deref().is_some_and(|id| !id.is_empty() && !id.bytes().any(|b| b.is_ascii_digit())))
        .map(account)
        .collect();
    let mut found: HashMap<(String, String, String), Option<String>, FastState> = HashMap::default();
    if wanted.is_empty() {
        return HashMap::default();
    }
    let mut key = String::new();
    for l in listings.filter(|l| wanted.contains(&account(l))) {
        let Some(short) = l.market_listing_id.as_deref().and_then(without_digits) else { continue };
        key.clear();
        crate::estimate::push_listing_key(&mut key, l);
        let (market, vendor) = account(l);
        let slot = found.entry((market.to_owned(), vendor.to_owned(), short)).or_insert_with(|| Some(key.clone()));
        if slot.as_deref().is_some_and(|k| k != key) {
            *slot = None;
        }
    }
    found.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
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

fn named(l: &Listing) -> bool {
    l.market_listing_id.is_some() || l.url.is_some()
}

/// The capture a row comes from: its evidence record and the day it was
/// observed (a dataset file may hold several crawl days: Agora's older
/// vendorall file shows one listing on four, its text edited between them).
fn capture(l: &Listing) -> (Option<Sha256>, Option<&str>) {
    (l.provenance.as_ref().map(|p| p.evidence), l.observed_at.as_deref())
}

/// The texts made of the first 1, 2, … words of `words` (all but the whole).
fn word_prefixes(words: &str) -> impl Iterator<Item = &str> {
    words.match_indices(' ').map(move |(i, _)| &words[..i])
}

type Captures<'l> = HashSet<(Option<Sha256>, Option<&'l str>), FastState>;

/// An unnamed key: the accounts its rows name (a key holds the vendor
/// lower-cased, so "Vend" and "vend" rows share it: all are asked, whatever
/// row comes first), its text's words, its captures, and whether a row of it
/// shows a sold counter.
#[derive(Default)]
struct Unnamed<'l> {
    accounts: HashSet<(&'l str, &'l str), FastState>,
    words: String,
    captures: Captures<'l>,
    counted: bool,
}

/// Per account (market, vendor as shown): each named title's words and the
/// named keys showing it.
type NamedTitles<'l> = HashMap<(&'l str, &'l str), HashMap<String, HashSet<String, FastState>, FastState>, FastState>;

/// Per account: the captures each named key is seen in.
type NamedIn<'l> = HashMap<(&'l str, &'l str), HashMap<String, Captures<'l>, FastState>, FastState>;

/// Unnamed keys by account and title words.
type UnnamedTitles<'k, 'l> = HashMap<((&'l str, &'l str), &'k str), Vec<&'k String>, FastState>;

/// The named matches of one round: each unnamed key matched (after
/// [`one_text_per_capture`]) with its named key, and the keys two or more
/// named listings fit.
struct Matches<'k> {
    of: Vec<(&'k String, &'k String)>,
    ambiguous: HashSet<&'k String, FastState>,
}

impl Matches<'_> {
    /// Whether an unnamed key is left to the second pass: neither matched
    /// nor fitted by two named listings (nor counted, nor without words).
    fn left_open(&self) -> impl Fn(&String, &Unnamed<'_>) -> bool + '_ {
        let matched: HashSet<&String, FastState> = self.of.iter().map(|(k, _)| *k).collect();
        move |k, u| !u.counted && !u.words.is_empty() && !self.ambiguous.contains(k) && !matched.contains(k)
    }
}

/// Each unnamed key's named listing: the one that shows its words as its
/// title, else the one whose title begins them, when exactly one does and
/// (given `blockers`) no unnamed title longer than it does.
fn named_matches<'k, 'l>(
    unnamed: &'k HashMap<String, Unnamed<'l>, FastState>,
    titles: &'k NamedTitles<'l>,
    named_in: &NamedIn<'l>,
    blockers: Option<&UnnamedTitles<'k, 'l>>,
) -> Matches<'k> {
    let mut found: Vec<(&String, Found<'_>)> = Vec::new();
    let mut ambiguous: HashSet<&String, FastState> = HashSet::default();
    for (key, u) in unnamed {
        if u.counted || u.words.is_empty() {
            continue;
        }
        // The named keys showing `text` as their title in any of the key's
        // accounts, never seen there in a capture of the key.
        let showing = |text: &str| -> Vec<&String> {
            let mut out = Vec::new();
            for a in &u.accounts {
                for named in titles.get(a).and_then(|t| t.get(text)).into_iter().flatten() {
                    if named_in.get(a).and_then(|keys| keys.get(named)).is_none_or(|in_| in_.is_disjoint(&u.captures)) {
                        out.push(named);
                    }
                }
            }
            out
        };
        let mut candidates: HashSet<&String, FastState> = showing(&u.words).into_iter().collect();
        let exact = !candidates.is_empty();
        // The titles the candidates show: one, when they are a vendor's
        // relists of one title under new ids.
        let mut titles_fitting = usize::from(exact);
        if !exact {
            // Every title the text begins with counts: a longer one followed
            // by a word or two makes a shorter one no match.
            let mut longest_named = 0;
            for prefix in word_prefixes(&u.words) {
                let shown = showing(prefix);
                if !shown.is_empty() {
                    longest_named = prefix.len();
                    titles_fitting += 1;
                }
                candidates.extend(shown);
            }
            let blocked = blockers.is_some_and(|b| {
                word_prefixes(&u.words).filter(|p| p.len() > longest_named).any(|p| {
                    u.accounts.iter().any(|a| b.get(&(*a, p)).into_iter().flatten().any(|t| *t != key && unnamed[*t].captures.is_disjoint(&u.captures)))
                })
            });
            if blocked {
                candidates.clear();
            }
        }
        if candidates.len() > 1 && titles_fitting == 1 {
            // Relists of one title: the text is one of them, which is what
            // the count needs; it takes the one seen nearest its days.
            let nearest = nearest_in_time(&candidates, u, named_in);
            candidates.retain(|c| Some(*c) == nearest);
        }
        if candidates.len() > 1 {
            ambiguous.insert(key);
        }
        if let (1, Some(named)) = (candidates.len(), candidates.into_iter().next()) {
            found.push((key, Found { named, exact }));
        }
    }
    Matches { of: one_text_per_capture(found, unnamed), ambiguous }
}

/// Of named keys showing one title, the one seen on the day nearest to a
/// day of `u` (days apart; ties and undated captures: the least key).
fn nearest_in_time<'k>(candidates: &HashSet<&'k String, FastState>, u: &Unnamed<'_>, named_in: &NamedIn<'_>) -> Option<&'k String> {
    let days = |captures: &Captures<'_>| -> Vec<chrono::NaiveDate> { captures.iter().filter_map(|(_, day)| day.and_then(crate::dates::observed_day)).collect() };
    let mine = days(&u.captures);
    candidates
        .iter()
        .map(|&c| {
            let theirs: Vec<chrono::NaiveDate> = u.accounts.iter().filter_map(|a| named_in.get(a).and_then(|keys| keys.get(c))).flat_map(days).collect();
            let apart = mine.iter().flat_map(|m| theirs.iter().map(move |t| (*m - *t).num_days().unsigned_abs())).min().unwrap_or(u64::MAX);
            (apart, c)
        })
        .min()
        .map(|(_, c)| c)
}

/// The keys of `unnamed` that `keep` accepts, by account and title words.
fn titles_by_account<'k, 'l>(unnamed: &'k HashMap<String, Unnamed<'l>, FastState>, keep: impl Fn(&String, &Unnamed<'l>) -> bool) -> UnnamedTitles<'k, 'l> {
    let mut titles: HashMap<_, Vec<&String>, FastState> = HashMap::default();
    for (key, u) in unnamed.iter().filter(|(k, u)| !u.counted && !u.words.is_empty() && keep(k, u)) {
        for a in &u.accounts {
            titles.entry((*a, u.words.as_str())).or_default().push(key);
        }
    }
    titles
}

/// Unnamed texts that begin with another unnamed key's whole title, where no
/// named listing fits: a listing seen only in sources without ids, as a title
/// in one and as its title and description in another (Agora's two vendorall
/// files; lsdaisy! was 30 listings for 15). `open` keys only (`titles` holds
/// them), under the rules of the named match: the title's key never seen in a
/// capture of the text's, exactly one title fits (a longer one that fits
/// blocks a shorter), and two texts of one capture never take one title
/// (applied by the caller). A title of the same words is no match (two
/// unnamed rows with one title are as likely two listings as one). A key
/// matched here is never also a target, so no listing is reached through
/// another.
fn titles_of_unnamed<'k>(
    unnamed: &'k HashMap<String, Unnamed<'_>, FastState>,
    titles: &UnnamedTitles<'k, '_>,
    open: impl Fn(&String, &Unnamed<'_>) -> bool,
) -> Vec<(&'k String, Found<'k>)> {
    let mut found = Vec::new();
    for (key, u) in unnamed.iter().filter(|(k, u)| open(k, u)) {
        let mut candidates: HashSet<&String, FastState> = HashSet::default();
        for prefix in word_prefixes(&u.words) {
            for a in &u.accounts {
                candidates.extend(titles.get(&(*a, prefix)).into_iter().flatten().filter(|t| unnamed[**t].captures.is_disjoint(&u.captures)));
            }
        }
        if let (1, Some(title)) = (candidates.len(), candidates.into_iter().next()) {
            found.push((key, Found { named: title, exact: false }));
        }
    }
    let targets: HashSet<&String, FastState> = found.iter().map(|(_, f)| f.named).collect();
    found.retain(|(key, _)| !targets.contains(key));
    found
}

/// Two texts of one capture are two listings: where several unnamed keys of
/// one vendor seen in one capture match one key, only the one that shows its
/// whole title keeps the match (none, if not exactly one does). (Keys of other
/// vendors are not weighed: a vendor's dossier reads only its own rows.)
fn one_text_per_capture<'k>(found: Vec<(&'k String, Found<'k>)>, unnamed: &'k HashMap<String, Unnamed<'_>, FastState>) -> Vec<(&'k String, &'k String)> {
    type Target<'k, 'l> = (&'k String, &'k str, (Option<Sha256>, Option<&'l str>));
    let mut by_target: HashMap<Target<'_, '_>, Vec<usize>, FastState> = HashMap::default();
    for (i, (key, f)) in found.iter().enumerate() {
        // An unnamed key is market, vendor (normalized), title, ….
        let vendor = key.split('\u{1f}').nth(1).unwrap_or("");
        for c in &unnamed[*key].captures {
            by_target.entry((f.named, vendor, *c)).or_default().push(i);
        }
    }
    let mut dropped: HashSet<usize, FastState> = HashSet::default();
    for matched in by_target.values().filter(|m| m.len() > 1) {
        let exact: Vec<usize> = matched.iter().copied().filter(|&i| found[i].1.exact).collect();
        dropped.extend(matched.iter().copied().filter(|i| exact.len() != 1 || !exact.contains(i)));
    }
    found.into_iter().enumerate().filter(|(i, _)| !dropped.contains(i)).map(|(_, (key, f))| (key, f.named)).collect()
}

/// A match found for an unnamed key.
struct Found<'k> {
    /// The key matched: a named listing's, or an unnamed title's
    /// ([`titles_of_unnamed`]).
    named: &'k String,
    /// By the whole title (not a title and more words).
    exact: bool,
}

impl Aliases {
    /// The aliases among `listings` (read twice; nothing is done unless some
    /// row is unnamed).
    pub(crate) fn of<'l>(listings: impl Iterator<Item = &'l Listing> + Clone) -> Aliases {
        let digitless = digitless_ids(listings.clone());
        let accounts: HashSet<(&str, &str), FastState> =
            listings.clone().filter(|l| !named(l)).map(|l| (l.market.as_str(), l.vendor.as_deref().unwrap_or(""))).collect();
        if accounts.is_empty() {
            return Aliases { digitless, ..Aliases::default() };
        }
        // Per account: each title's words and the named keys showing it; the
        // captures each named key is seen in under that account. Nothing
        // here reads another account's rows (but those of the vendor's other
        // spellings), so a vendor's dossier, which reads only its rows,
        // finds what the whole case finds.
        let mut titles: NamedTitles<'_> = HashMap::default();
        let mut named_in: NamedIn<'_> = HashMap::default();
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
            named_in.entry(account).or_default().entry(key.clone()).or_default().insert(capture(l));
            titles.entry(account).or_default().entry(words).or_default().insert(key.clone());
        }
        let mut unnamed: HashMap<String, Unnamed<'_>, FastState> = HashMap::default();
        for l in listings.filter(|l| !named(l)) {
            key.clear();
            crate::estimate::push_listing_key(&mut key, l);
            let entry = unnamed.entry(key.clone()).or_insert_with(|| Unnamed { words: title_words(&l.title), ..Unnamed::default() });
            entry.accounts.insert((l.market.as_str(), l.vendor.as_deref().unwrap_or("")));
            entry.captures.insert(capture(l));
            entry.counted |= l.sold.is_some();
        }
        // The named match, in two rounds: the second with the titles of the
        // unnamed keys the first left unmatched (and no two named listings
        // fit), so that such a title longer than any named one that fits a
        // text blocks the match (a listing of its own, seen only without an
        // id: ManInTheMiddle's "1 Ounce Purple Kush - AAA+ (for USA or
        // International buyers only)" beside the named "1 Ounce Purple Kush
        // - AAA+"); the text is left to the second pass. (A text that fits a
        // named listing in the first round is no title: an edited
        // description, "<title> <text>" beside "<title> <text> <more>" on
        // a later day, blocks nothing.)
        let first = named_matches(&unnamed, &titles, &named_in, None);
        let blockers = titles_by_account(&unnamed, first.left_open());
        let matches = named_matches(&unnamed, &titles, &named_in, Some(&blockers));
        // The second pass: texts that begin with an unnamed title, among the
        // keys matched to nothing (nor fitted by two named listings).
        let open = matches.left_open();
        let second = one_text_per_capture(titles_of_unnamed(&unnamed, &titles_by_account(&unnamed, &open), &open), &unnamed);
        let of = matches.of.iter().copied().chain(second).map(|(k, t)| (k.clone(), t.clone())).collect();
        Aliases { of, digitless }
    }

    /// Writes `l`'s listing key into `out` (cleared): its own, or the named
    /// listing's it shows. True when the key names a listing (an id, a URL
    /// or a match), whose rows are that one listing seen again.
    pub(crate) fn write_key(&self, out: &mut String, l: &Listing) -> bool {
        out.clear();
        crate::estimate::push_listing_key(out, l);
        if named(l) {
            let digitless = |id: &&str| !self.digitless.is_empty() && !id.bytes().any(|b| b.is_ascii_digit());
            if let Some(id) = l.market_listing_id.as_deref().filter(digitless) {
                let at = (l.market.clone(), l.vendor.clone().unwrap_or_default(), id.to_owned());
                if let Some(key) = self.digitless.get(&at) {
                    out.clear();
                    out.push_str(key);
                }
            }
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

    /// Agora's arules files give ids with their digits removed: such an id
    /// names the account's listing it comes from, not another listing; a
    /// digitless form two ids share names neither, and another vendor's
    /// ids are never read.
    #[test]
    fn an_id_without_its_digits_names_the_listing() {
        let rows = [
            listing("coasttocoast", "10-ct THCookies", Some("Jgd5U2Tg1a")),
            listing("coasttocoast", "10-ct THCookies - OVERSTOCK SALE!!!", Some("JgdUTga")),
            listing("coasttocoast", "x", Some("a1b")),
            listing("coasttocoast", "y", Some("a2b")),
            listing("coasttocoast", "z", Some("ab")),
            listing("other", "10-ct THCookies", Some("JgdUTga")),
        ];
        let aliases = Aliases::of(rows.iter());
        let keys: Vec<(String, bool)> = rows.iter().map(|l| key_of(&aliases, l)).collect();
        assert_eq!(keys[1], keys[0]);
        assert!(keys[1].1, "named");
        assert_ne!(keys[4].0, keys[2].0);
        assert_ne!(keys[4].0, keys[3].0);
        assert_ne!(keys[5].0, keys[0].0);
        assert_eq!(listing_identities(&rows.iter().collect::<Vec<_>>()).iter().collect::<std::collections::BTreeSet<_>>().len(), 5);
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
        let rows = rows.map(|l| {
            let file: &[u8] = if l.market_listing_id.is_some() { b"products" } else { b"vendorall" };
            in_file(l, file)
        });
        let aliases = Aliases::of(rows.iter());
        assert_eq!(key_of(&aliases, &rows[3]), key_of(&aliases, &rows[0]));
        assert_eq!(key_of(&aliases, &rows[4]), key_of(&aliases, &rows[1]));
        assert_ne!(key_of(&aliases, &rows[4]), key_of(&aliases, &rows[2]));
        assert!(key_of(&aliases, &rows[3]).1);
    }

    #[test]
    fn two_titles_that_fit_or_none_leave_the_row_its_own_key() {
        let rows = [
            in_file(listing("v", "LSD", Some("c")), b"products"),
            in_file(listing("v", "LSD 100ug", Some("d")), b"products"),
            in_file(listing("w", "Custom listing", Some("e")), b"products"),
            in_file(listing("v", "custom listing", None), b"v1"),
            in_file(listing("v", "LSD 100ug blotter tabs of the finest kind ...", None), b"v1"),
            in_file(listing("v", "Ketamine", None), b"v1"),
            // a word cut in two is no word boundary
            in_file(listing("v", "LSDX", None), b"v1"),
        ];
        let aliases = Aliases::of(rows.iter());
        for row in &rows[3..] {
            let (key, named) = key_of(&aliases, row);
            assert!(!named, "{key}");
            assert!(key.contains(&row.title.to_lowercase()), "{key}");
        }
    }

    #[test]
    fn a_named_listing_in_the_rows_own_capture_is_another_listing() {
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

    fn in_file(mut l: Listing, file: &[u8]) -> Listing {
        l.provenance = Some(model::Provenance { evidence: Sha256::of(file), profile: String::new(), rule: String::new() });
        l
    }

    /// Two texts of one capture that would take one named listing: only the
    /// one showing its whole title does (ManInTheMiddle's two Purple Kush
    /// listings, found by a review). Where an unnamed row's title explains
    /// the other text (a longer title than the named one that fits it), that
    /// text goes with the title and the first keeps the named listing.
    #[test]
    fn two_texts_of_one_capture_do_not_take_one_listing() {
        let rows = [
            in_file(listing("m", "1 Ounce Purple Kush - AAA+", Some("oWou")), b"products"),
            in_file(listing("m", "1 Ounce Purple Kush - AAA+", None), b"v2"),
            in_file(listing("m", "1 Ounce Purple Kush - AAA+ (for USA or International buyers only)", None), b"v2"),
            in_file(listing("m", "1 Ounce Purple Kush - AAA+ Top shelf, grown indoors ...", None), b"v1"),
            in_file(listing("m", "1 Ounce Purple Kush - AAA+ (for USA or International buyers only) Top shelf ...", None), b"v1"),
        ];
        let aliases = Aliases::of(rows.iter());
        let key = |row: &Listing| key_of(&aliases, row).0;
        assert_eq!(key(&rows[1]), key(&rows[0]));
        assert_eq!(key(&rows[3]), key(&rows[0]));
        assert_eq!(key(&rows[4]), key(&rows[2]));
        assert!(!key_of(&aliases, &rows[2]).1);
        assert_ne!(key(&rows[2]), key(&rows[0]));
        // Without the second title, neither text of the v1 capture takes the
        // named listing: which of the two it is would be a guess.
        let without = [rows[0].clone(), rows[1].clone(), rows[3].clone(), rows[4].clone()];
        let aliases = Aliases::of(without.iter());
        assert_eq!(key_of(&aliases, &without[1]), key_of(&aliases, &without[0]));
        for row in &without[2..] {
            assert!(!key_of(&aliases, row).1, "{}", row.title);
        }
    }

    /// A vendor's relists of one title under new ids are one title: a text
    /// showing it (or beginning with it) is one of them, and takes the one
    /// seen nearest its day; it was a listing of its own (Heisenbergmontana
    /// showed 61 listings for 40 ids, found by a review).
    #[test]
    fn relists_of_one_title_take_the_text_seen_nearest() {
        let on = |l: Listing, file: &[u8], day: &str| {
            let mut l = in_file(l, file);
            l.observed_at = Some(day.into());
            l
        };
        let rows = [
            on(listing("h", "(1)Gram Shatter Wax THC- *H* $50*", Some("A")), b"products-01", "2014-01-02"),
            on(listing("h", "(1)Gram Shatter Wax THC- *H* $50*", Some("B")), b"products-03", "2014-03-01"),
            on(listing("h", "(1)Gram Shatter Wax THC- *H* $50*", None), b"v2", "2014-01-09"),
            on(listing("h", "(1)Gram Shatter Wax THC- *H* $50* This Listing is for (1 Gram) of HQ Shatter Wax", None), b"v1", "2014-02-26"),
        ];
        let aliases = Aliases::of(rows.iter());
        assert_eq!(key_of(&aliases, &rows[2]), key_of(&aliases, &rows[0]));
        assert_eq!(key_of(&aliases, &rows[3]), key_of(&aliases, &rows[1]));
        let refs: Vec<&Listing> = rows.iter().collect();
        let distinct: HashSet<String> = listing_identities(&refs).into_iter().collect();
        assert_eq!(distinct.len(), 2);
    }

    /// A text whose description was extended on a later day is no title:
    /// the longer text still takes the named listing (FattusCatteratus's
    /// "1oz High Midgrade Commercial" went from 27 listings to 31 when the
    /// earlier text blocked the later).
    #[test]
    fn an_edited_description_blocks_nothing() {
        let on = |mut l: Listing, day: &str| {
            l.observed_at = Some(day.into());
            l
        };
        let rows = [
            in_file(listing("f", "1oz High Midgrade Commercial", Some("MJmS")), b"products"),
            in_file(listing("f", "1oz High Midgrade Commercial", None), b"v2"),
            on(in_file(listing("f", "1oz High Midgrade Commercial 1oz sent discreetly.", None), b"v1"), "2014-01-01"),
            on(in_file(listing("f", "1oz High Midgrade Commercial 1oz sent discreetly. This batch has more seeds", None), b"v1"), "2014-01-26"),
        ];
        let aliases = Aliases::of(rows.iter());
        for row in &rows[1..] {
            assert_eq!(key_of(&aliases, row).0, key_of(&aliases, &rows[0]).0, "{}", row.title);
        }
    }

    /// Every title a text begins with is a candidate: a longer one that fits
    /// blocks a shorter (CB2013's "4oz. GDP (PURp)AKA Grandaddy Purple
    /// RE/US only." took "4oz. GDP (PURP)", found by a review).
    #[test]
    fn a_longer_title_that_fits_blocks_a_shorter() {
        let rows = [
            in_file(listing("c", "4oz. GDP (PURP)", Some("rbpC")), b"products"),
            in_file(listing("c", "4oz. GDP (PURp)AKA Grandaddy Purple", Some("l9GR")), b"products"),
            in_file(listing("c", "4oz. GDP (PURp)AKA Grandaddy Purple RE/US only.", None), b"v1"),
            in_file(listing("c", "4oz. GDP (PURp)AKA Grandaddy Purple", None), b"v2"),
            in_file(listing("c", "4oz. GDP (PURP) more of the same", None), b"v3"),
        ];
        let aliases = Aliases::of(rows.iter());
        assert!(!key_of(&aliases, &rows[2]).1);
        assert_eq!(key_of(&aliases, &rows[3]), key_of(&aliases, &rows[1]));
        assert_eq!(key_of(&aliases, &rows[4]), key_of(&aliases, &rows[0]));
    }

    /// Rows whose vendor differs only in case share a key: which comes first
    /// does not change the match (found by a review).
    #[test]
    fn row_order_does_not_change_a_match() {
        let named = in_file(listing("Vend", "Haze 10g", Some("AAA1")), b"products");
        let (lower, upper) = (in_file(listing("vend", "Haze 10g", None), b"v2"), in_file(listing("Vend", "Haze 10g", None), b"v2"));
        for rows in [[named.clone(), lower.clone(), upper.clone()], [named.clone(), upper.clone(), lower.clone()]] {
            let aliases = Aliases::of(rows.iter());
            assert_eq!(key_of(&aliases, &rows[1]), key_of(&aliases, &named), "{}", rows[1].vendor.as_deref().unwrap());
        }
    }

    /// Whether one vendor's rows match does not depend on another vendor's
    /// rows (found by a review: Agora's fake and realfake both show listing
    /// LdT7qDcVeW; the report, reading both, and `vendor fake`, reading one,
    /// counted 405 and 378 listings).
    #[test]
    fn another_vendors_rows_do_not_change_a_match() {
        let rows = [
            in_file(listing("realfake", "Securing Iphone , Ipad -TUTORIAL", Some("LdT7")), b"products-1"),
            in_file(listing("fake", "Securing Iphone , Ipad -TUTORIAL", Some("LdT7")), b"products-2"),
            in_file(listing("fake", "Securing Iphone, Ipad -TUTORIAL", None), b"v2"),
            in_file(listing("realfake", "Securing Iphone, Ipad -TUTORIAL", None), b"v2"),
        ];
        let all = Aliases::of(rows.iter());
        let fake = [rows[1].clone(), rows[2].clone()];
        let alone = Aliases::of(fake.iter());
        assert_eq!(key_of(&all, &rows[2]), key_of(&alone, &rows[2]));
        assert_eq!(key_of(&all, &rows[2]), key_of(&all, &rows[1]));
        assert_eq!(key_of(&all, &rows[3]), key_of(&all, &rows[0]));
    }

    /// A listing seen only in files without ids, as a title in one and as
    /// its title and description in the other, is one listing (lsdaisy!'s 15
    /// listings were 30); what would be a guess stays apart.
    #[test]
    fn a_text_takes_the_one_unnamed_title_it_begins_with() {
        let rows = [
            in_file(listing("d", "5x Fat Freddy's 200ug", None), b"v2"),
            in_file(listing("d", "100x Twins 150ug", None), b"v2"),
            in_file(listing("d", "5x Fat Freddy's 200ug Fat Freddy's 200ug LSD Blotter Good old-fashioned clean LSD", None), b"v1"),
            in_file(listing("d", "100x Twins 150ug Twins 150ug LSD Blotter", None), b"v1"),
            // Two titles fit (the longer blocks the shorter): no match.
            in_file(listing("d", "Ketamine", None), b"v2"),
            in_file(listing("d", "Ketamine 5g", None), b"v2"),
            in_file(listing("d", "Ketamine 5g of the best", None), b"v1"),
            // A title seen in the text's own capture is another listing.
            in_file(listing("d", "MDMA", None), b"v1"),
            in_file(listing("d", "MDMA crystal 84%", None), b"v1"),
            // Another vendor's title is never a candidate.
            in_file(listing("e", "Speed", None), b"v2"),
            in_file(listing("d", "Speed paste 1g", None), b"v1"),
        ];
        let aliases = Aliases::of(rows.iter());
        assert_eq!(key_of(&aliases, &rows[2]).0, key_of(&aliases, &rows[0]).0);
        assert_eq!(key_of(&aliases, &rows[3]).0, key_of(&aliases, &rows[1]).0);
        assert!(key_of(&aliases, &rows[2]).1);
        for row in [&rows[6], &rows[8], &rows[10]] {
            assert!(!key_of(&aliases, row).1, "{}", row.title);
        }
        // Two texts of one capture beginning with one title: neither takes it.
        let two = [rows[0].clone(), rows[2].clone(), in_file(listing("d", "5x Fat Freddy's 200ug (escrow)", None), b"v1")];
        let aliases = Aliases::of(two.iter());
        assert!(!key_of(&aliases, &two[1]).1);
        assert!(!key_of(&aliases, &two[2]).1);
        // No listing is reached through another: a title that itself begins
        // with another title keeps its own key when a text takes it (here
        // the text's capture shows the shortest title, so only one fits).
        let chain = [
            in_file(listing("d", "LSD", None), b"c1"),
            in_file(listing("d", "LSD 100ug", None), b"c2"),
            in_file(listing("d", "LSD 100ug blotter", None), b"c1"),
        ];
        let aliases = Aliases::of(chain.iter());
        assert_eq!(key_of(&aliases, &chain[2]).0, key_of(&aliases, &chain[1]).0);
        assert!(!key_of(&aliases, &chain[1]).1);
        assert_ne!(key_of(&aliases, &chain[1]).0, key_of(&aliases, &chain[0]).0);
    }

    #[test]
    fn with_no_unnamed_row_nothing_is_built() {
        let rows = [listing("v", "a", Some("1")), listing("v", "a", Some("2"))];
        assert!(Aliases::of(rows.iter()).of.is_empty());
    }
}
