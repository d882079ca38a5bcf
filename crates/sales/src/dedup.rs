//! Feedback seen in several crawls is one feedback.
//!
//! Two feedback observations are the same feedback when they are about the
//! same market, vendor and listing, have the same rating, buyer and
//! normalized text, come from different observations (two identical entries
//! on one page are two sales), and their possible dates overlap ("3 days
//! ago" on Feb 2 and "1 week ago" on Feb 6 can be the same day). Matching is
//! greedy in observation order; each unique feedback keeps the days all its
//! sightings allow.

use std::collections::BTreeMap;

use crate::dates::DayRange;

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
    s.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

/// The identity string of a feedback (market, vendor, listing, rating,
/// buyer, text; each normalized).
pub fn identity(market: &str, vendor: &str, listing: &str, rating: &str, buyer: &str, text: &str) -> String {
    [market, vendor, listing, rating, buyer, text].iter().map(|p| normalize(p)).collect::<Vec<_>>().join("\u{1f}")
}

/// Groups sightings into unique feedback (deterministic for a given input).
pub fn dedup(sightings: &[Sighting]) -> Vec<Unique> {
    let mut by_identity: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in sightings.iter().enumerate() {
        by_identity.entry(&s.identity).or_default().push(i);
    }
    let mut out = Vec::new();
    for (_, mut idx) in by_identity {
        idx.sort_by(|&a, &b| {
            let (x, y) = (&sightings[a], &sightings[b]);
            (x.observed, &x.observation, x.days, a).cmp(&(y.observed, &y.observation, y.days, b))
        });
        // (unique, last observation that matched it)
        let mut open: Vec<(Unique, &str)> = Vec::new();
        for i in idx {
            let s = &sightings[i];
            let found = open
                .iter_mut()
                .enumerate()
                .filter(|(_, (u, last))| *last != s.observation && u.days.overlaps(&s.days))
                // Prefer the unique whose days fit best: the narrowest overlap;
                // on a tie the one opened first (not the lowest input index,
                // which would make the result depend on the input order).
                .min_by_key(|(j, (u, _))| (u.days.intersect(&s.days).days(), *j))
                .map(|(_, x)| x);
            match found {
                Some((u, last)) => {
                    u.days = u.days.intersect(&s.days);
                    u.sightings.push(i);
                    *last = &s.observation;
                }
                None => open.push((Unique { sightings: vec![i], days: s.days }, &s.observation)),
            }
        }
        out.extend(open.into_iter().map(|(u, _)| u));
    }
    out.sort_by_key(|u| u.sightings[0]);
    out
}
