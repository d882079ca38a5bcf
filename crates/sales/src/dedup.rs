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

use std::collections::HashMap;

use crate::dates::DayRange;
use crate::FastState;

/// One feedback sighting to deduplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    /// What must be equal (see [`identity`]).
    pub identity: String,
    /// The observation (page, or dataset row) it was seen in.
    pub observation: String,
    /// When it was seen (orders sightings).
    pub observed: chrono::NaiveDate,
    /// The days its shown date allows.
    pub days: DayRange,
}

/// A unique feedback: the sightings (indexes into the input) that are it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unique {
    /// Indexes of its sightings, first sighting first.
    pub sightings: Vec<usize>,
    /// Days every sighting allows.
    pub days: DayRange,
}

/// Lower-case, whitespace collapsed: how texts are compared.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_normalized(&mut out, s);
    out
}

/// Appends `normalize(s)` to `out`. Words are lower-cased one at a time, as
/// `str::to_lowercase` does them (a final sigma depends on its word), with
/// no allocation for ASCII words: this runs once per feedback sighting.
fn push_normalized(out: &mut String, s: &str) {
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

/// The identity string of a feedback (market, vendor, listing, rating,
/// buyer, text; each normalized).
pub fn identity(market: &str, vendor: &str, listing: &str, rating: &str, buyer: &str, text: &str) -> String {
    let parts = [market, vendor, listing, rating, buyer, text];
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push('\u{1f}');
        }
        push_normalized(&mut out, p);
    }
    out
}

/// Groups sightings into unique feedback (deterministic for a given input).
pub fn dedup(sightings: &[Sighting]) -> Vec<Unique> {
    // Hashed, not ordered: groups come out in any order, and the result is
    // put in first-sighting order at the end.
    let mut by_identity: HashMap<&str, Vec<usize>, FastState> = HashMap::default();
    for (i, s) in sightings.iter().enumerate() {
        by_identity.entry(&s.identity).or_default().push(i);
    }
    let mut out = Vec::new();
    for (_, mut idx) in by_identity {
        // Interval stabbing: sightings by the last day they allow; each joins
        // the earliest existing feedback day inside its range that no other
        // sighting of its observation took, else opens a new feedback on its
        // own last day (the choice that leaves most room for later ranges).
        // More sightings can only add constraints, so the count never drops
        // when evidence is added, and it does not depend on input order.
        idx.sort_by(|&a, &b| {
            let (x, y) = (&sightings[a], &sightings[b]);
            (x.days.latest, x.days.earliest, &x.observation, x.observed, a)
                .cmp(&(y.days.latest, y.days.earliest, &y.observation, y.observed, b))
        });
        // (feedback day, unique, observations that used it)
        let mut open: Vec<(chrono::NaiveDate, Unique, Vec<&str>)> = Vec::new();
        for i in idx {
            let s = &sightings[i];
            // Ties go to the feedback opened first (content order), never
            // to an input index, so row order cannot change the result.
            let found = open
                .iter_mut()
                .enumerate()
                .filter(|(_, (day, _, used))| {
                    s.days.earliest <= *day && *day <= s.days.latest && !used.contains(&s.observation.as_str())
                })
                .min_by_key(|(j, (day, _, _))| (*day, *j))
                .map(|(_, x)| x);
            match found {
                Some((_, u, used)) => {
                    u.days = u.days.intersect(&s.days);
                    u.sightings.push(i);
                    used.push(&s.observation);
                }
                None => open.push((s.days.latest, Unique { sightings: vec![i], days: s.days }, vec![&s.observation])),
            }
        }
        out.extend(open.into_iter().map(|(_, u, _)| u));
    }
    out.sort_by_key(|u| u.sightings[0]);
    out
}
