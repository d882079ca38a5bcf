//! Feedback seen in several crawls is one feedback.
//!
//! Two feedback observations are the same feedback when they are about the
//! same market, vendor and listing, have the same rating, buyer and
//! normalized text, come from different observations (two identical entries
//! on one page are two sales), and their possible dates overlap ("3 days
//! ago" on Feb 2 and "1 week ago" on Feb 6 can be the same day). Matching is
//! interval stabbing (see [`dedup`]): the count never drops when evidence is
//! added and does not depend on input order; each unique feedback keeps the
//! days all its sightings allow.

use std::borrow::Cow;

use crate::dates::DayRange;
use crate::numbers::Numbers;

/// One feedback sighting to deduplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting<'a> {
    /// What must be equal (see [`identity`]).
    pub identity: &'a str,
    /// The observation (page, or dataset row) it was seen in.
    pub observation: Observation<'a>,
    /// When it was seen (orders sightings).
    pub observed: chrono::NaiveDate,
    /// The days its shown date allows.
    pub days: DayRange,
}

/// Names the observation a sighting comes from: a page (its evidence digest
/// in hex), a dataset row (the digest and the row's rule, named
/// `<hex>/<rule>`), or a row without provenance (its row id). Compared and
/// ordered as that name's text, without writing it: a head is a 64-digit hex
/// digest or a row id, never holds a `/`, and two heads of which one is a
/// proper prefix of the other are both row ids (no rule), so (head, rule)
/// orders as the joined text does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Observation<'a> {
    /// The digest in hex, or the row id.
    pub head: Cow<'a, str>,
    /// A dataset row's rule.
    pub rule: Option<&'a str>,
}

/// A unique feedback: the sightings (indexes into the input) that are it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unique {
    /// Indexes of its sightings, first sighting first (most have one, kept
    /// in place of a heap allocation).
    pub sightings: smallvec::SmallVec<[usize; 1]>,
    /// Days every sighting allows.
    pub days: DayRange,
}

/// Lower-case, whitespace collapsed: how texts are compared.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_normalized(&mut out, s);
    out
}

/// Appends `normalize(s)` to `out`. This runs on every field of every
/// feedback sighting: ASCII text (nearly all of it) is done in one pass over
/// its bytes; other text a word at a time, lower-cased as
/// `str::to_lowercase` does it (a final sigma depends on its word).
pub(crate) fn push_normalized(out: &mut String, s: &str) {
    if s.is_ascii() {
        let (bytes, start) = (s.as_bytes(), out.len());
        if spaced_once(bytes) {
            out.push_str(s);
            out[start..].make_ascii_lowercase();
            return;
        }
        // Words copied whole, one space between, then lower-cased in place.
        // Whitespace: the ASCII characters `char::is_whitespace` accepts (not
        // `u8::is_ascii_whitespace`'s, which leaves out \x0b).
        let space = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
        let mut i = 0;
        while i < bytes.len() {
            if space(&bytes[i]) {
                i += 1;
                continue;
            }
            let end = bytes[i..].iter().position(space).map_or(bytes.len(), |n| i + n);
            if out.len() > start {
                out.push(' ');
            }
            out.push_str(&s[i..end]);
            i = end;
        }
        out[start..].make_ascii_lowercase();
        return;
    }
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.is_ascii() {
            out.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            out.push_str(&word.to_lowercase());
        }
    }
}

/// Whether ASCII `bytes` are already words with one space between them (no
/// other whitespace, none at either end): then normalizing only lower-cases
/// them, as it does nearly every feedback field. Checked without an early
/// exit, so the compiler can test many bytes at once.
fn spaced_once(bytes: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else { return true };
    // \t \n \x0b \x0c \r: the ASCII whitespace other than the space.
    let other_space = bytes.iter().fold(false, |seen, &b| seen | (b.wrapping_sub(b'\t') < 5));
    let two_spaces = bytes.iter().zip(&bytes[1..]).fold(false, |seen, (&a, &b)| seen | ((a == b' ') & (b == b' ')));
    first != b' ' && last != b' ' && !other_space && !two_spaces
}

/// The identity string of a feedback (market, vendor, listing, rating,
/// buyer, text; each normalized).
pub fn identity(market: &str, vendor: &str, listing: &str, rating: &str, buyer: &str, text: &str) -> String {
    let mut out = String::new();
    push_identity(&mut out, [market, vendor, listing, rating, buyer, text]);
    out
}

/// Appends [`identity`] of the parts to `out` (a buffer that holds a whole
/// account's identities: one allocation, not one per sighting). Fewer parts
/// than six write the identity's first or last ones: an identity is the
/// parts of its first three (market, vendor, listing) with a separator after
/// them, then the parts of its last three.
pub fn push_identity<const N: usize>(out: &mut String, parts: [&str; N]) {
    out.reserve(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push('\u{1f}');
        }
        push_normalized(out, p);
    }
}

/// Groups sightings into unique feedback (deterministic for a given input).
pub fn dedup(sightings: &[Sighting<'_>]) -> Vec<Unique> {
    dedup_groups(sightings, &group_by_identity(sightings))
}

/// Sightings grouped by identity: each group's sightings in input order,
/// groups in the order their identities first appear. Kept as one list of
/// members and where each group starts in it (a vector per group was an
/// allocation per identity: millions in an import's estimate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// Each sighting's group.
    pub of: Vec<usize>,
    members: Vec<usize>,
    /// Where each group starts in `members`, and where the last ends.
    starts: Vec<usize>,
}

impl Groups {
    /// How many groups.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sightings of group `g`.
    pub fn get(&self, g: usize) -> &[usize] {
        &self.members[self.starts[g]..self.starts[g + 1]]
    }

    /// The groups' sightings, group by group.
    pub fn iter(&self) -> impl Iterator<Item = &[usize]> {
        self.starts.windows(2).map(|w| &self.members[w[0]..w[1]])
    }
}

/// The sightings of each identity ([`Groups`]).
pub fn group_by_identity(sightings: &[Sighting<'_>]) -> Groups {
    // Groups filed by number, each compared through its first sighting's
    // identity. Room for every sighting a new identity: the table is not
    // grown (and rehashed) a dozen times on the way to an account's thousands.
    let mut group_of = Numbers::with_capacity(sightings.len());
    let mut of = Vec::with_capacity(sightings.len());
    // Each group's size and first sighting.
    let mut sizes: Vec<usize> = Vec::new();
    let mut firsts: Vec<usize> = Vec::new();
    for (i, s) in sightings.iter().enumerate() {
        let (g, new) = group_of.find_or_file(s.identity, sizes.len(), |g| sightings[firsts[g]].identity);
        if new {
            sizes.push(0);
            firsts.push(i);
        }
        sizes[g] += 1;
        of.push(g);
    }
    let mut starts = Vec::with_capacity(sizes.len() + 1);
    let mut at = 0;
    for n in sizes {
        starts.push(at);
        at += n;
    }
    starts.push(at);
    // Each sighting placed in its group's next slot, in input order.
    let mut next = starts[..starts.len() - 1].to_vec();
    let mut members = vec![0; sightings.len()];
    for (i, &g) in of.iter().enumerate() {
        members[next[g]] = i;
        next[g] += 1;
    }
    Groups { of, members, starts }
}

/// [`dedup`] of sightings already grouped by identity
/// ([`group_by_identity`]), in first-sighting order.
pub fn dedup_groups(sightings: &[Sighting<'_>], groups: &Groups) -> Vec<Unique> {
    let mut out = Vec::with_capacity(groups.len());
    let mut idx = Vec::new();
    for group in groups.iter() {
        // Interval stabbing: sightings by the last day they allow; each joins
        // the earliest existing feedback day inside its range that no other
        // sighting of its observation took, else opens a new feedback on its
        // own last day (the choice that leaves most room for later ranges).
        // More sightings can only add constraints, so the count never drops
        // when evidence is added, and it does not depend on input order.
        if let [i] = group[..] {
            // One sighting: one feedback, on its own days.
            out.push(Unique { sightings: smallvec::smallvec![i], days: sightings[i].days });
            continue;
        }
        idx.clear();
        idx.extend_from_slice(group);
        idx.sort_by(|&a, &b| {
            let (x, y) = (&sightings[a], &sightings[b]);
            (x.days.latest, x.days.earliest, &x.observation, x.observed, a)
                .cmp(&(y.days.latest, y.days.earliest, &y.observation, y.observed, b))
        });
        // (feedback day, unique, observations that used it)
        let mut open: Vec<(chrono::NaiveDate, Unique, Vec<&Observation<'_>>)> = Vec::new();
        for &i in &idx {
            let s = &sightings[i];
            // Ties go to the feedback opened first (content order), never
            // to an input index, so row order cannot change the result.
            let found = open
                .iter_mut()
                .enumerate()
                .filter(|(_, (day, _, used))| s.days.earliest <= *day && *day <= s.days.latest && !used.contains(&&s.observation))
                .min_by_key(|(j, (day, _, _))| (*day, *j))
                .map(|(_, x)| x);
            match found {
                Some((_, u, used)) => {
                    u.days = u.days.intersect(&s.days);
                    u.sightings.push(i);
                    used.push(&s.observation);
                }
                None => open.push((s.days.latest, Unique { sightings: smallvec::smallvec![i], days: s.days }, vec![&s.observation])),
            }
        }
        out.extend(open.into_iter().map(|(_, u, _)| u));
    }
    // Stable, and most uniques come in order already (one sighting each).
    out.sort_by_key(|u| u.sightings[0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The groups are the sightings of each identity in input order,
        /// identities in first-appearance order, and `of` names each
        /// sighting's group.
        #[test]
        fn groups_are_each_identitys_sightings(names in proptest::collection::vec(0u8..5, 0..40)) {
            let texts: Vec<String> = names.iter().map(|n| format!("id{n}")).collect();
            let observation = Observation { head: std::borrow::Cow::Borrowed("page"), rule: None };
            let day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
            let sightings: Vec<Sighting<'_>> = texts
                .iter()
                .map(|t| Sighting { identity: t, observation: observation.clone(), observed: day, days: DayRange::day(day) })
                .collect();
            let mut expected: Vec<(&str, Vec<usize>)> = Vec::new();
            for (i, t) in texts.iter().enumerate() {
                match expected.iter_mut().find(|(x, _)| x == t) {
                    Some((_, members)) => members.push(i),
                    None => expected.push((t, vec![i])),
                }
            }
            let groups = group_by_identity(&sightings);
            proptest::prop_assert_eq!(groups.len(), expected.len());
            proptest::prop_assert_eq!(groups.iter().map(<[usize]>::to_vec).collect::<Vec<_>>(), expected.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>());
            for (i, &g) in groups.of.iter().enumerate() {
                proptest::prop_assert!(groups.get(g).contains(&i));
            }
        }

        /// An identity written as its first three parts, a separator and its
        /// last three (how an account's rows write theirs) is the identity.
        #[test]
        fn identity_in_two_halves_is_the_identity(parts in proptest::array::uniform6("[ a-zA-Z\\tΣσς\u{1f}é]{0,8}")) {
            let [a, b, c, d, e, f] = parts.each_ref().map(String::as_str);
            let mut halves = String::new();
            push_identity(&mut halves, [a, b, c]);
            halves.push('\u{1f}');
            push_identity(&mut halves, [d, e, f]);
            proptest::prop_assert_eq!(halves, identity(a, b, c, d, e, f));
        }
    }
}
