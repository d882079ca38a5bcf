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
