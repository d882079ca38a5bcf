//! Holding prices: a price a vendor puts on a listing so that nobody buys it
//! (out of stock, away), not a price anything sold at. Priced at face value
//! they made one AlphaBay vendor the largest of the case ($99,999.00 on
//! "LSD - 1x 155ug Tab *Restock Soon*" times 923 sold) and were 43 % of
//! AlphaBay's revenue; on Agora one listing's 190 BTC row (its 0.23 BTC
//! otherwise) priced a feedback at $155,931 (found by a review).
//!
//! An observation's price is taken for a holding price when
//! it is at least [`HOLDING_FROM_USD`] and
//! 1. its title says the listing is not for sale now ([`UNAVAILABLE`], in
//!    its first [`TITLE_WORDS_WITHIN`] characters) and
//!    it is over [`TITLE_FACTOR`] times the median of the vendor's other
//!    listings' prices (or the vendor has under [`VENDOR_OTHERS`] others),
//!    or
//! 2. its amount as shown is a run of 9s or of one digit ($9,999,
//!    $99,999.00, $9,999.01, $8,888.88), or
//! 3. its USD price is more than [`OUTLIER_FACTOR`] times the median of the
//!    same listing's other priced observations, or
//! 4. at least [`VENDOR_RULE_FROM_USD`] and more than
//!    [`VENDOR_OUTLIER_FACTOR`] times the median of the vendor's other
//!    listings' prices (each listing's median; at least [`VENDOR_OTHERS`]
//!    others): 257 BTC for "3.5 grams of COCAINE HCL."
//!    for six weeks on Agora, where the vendor's other listings sold at
//!    0.14 to 0.45 BTC.
//!
//! A custom listing (its title says "custom") is priced per buyer: rules 3
//! and 4 leave it alone.
//!
//! A holding price is never used to price a sale: a feedback is priced at
//! another observation of its listing, or counted without revenue, with a
//! note; a "sold" counter's sales are counted without revenue. How often the
//! rules flag, and what, is in docs/methods.md.

use chrono::NaiveDate;
use model::Listing;

use crate::rates::Rates;
use crate::usd::{listing_usd, listing_usd_value};
use crate::Obs;

/// Title words (lowercased) of a listing not for sale now.
pub const UNAVAILABLE: &[&str] =
    &["restock", "out of stock", "sold out", "soon", "do not buy", "don't buy", "dont buy", "not for sale", "unavailable", "holding price", "placeholder", "on vacation"];

/// The lowest USD price any rule takes for a holding price: under it, a
/// title that says "sold out" or a price ten times the listing's others is
/// a listing's ordinary price ("BLUE APPLE XTC (RESTOCKED!)" at $249.99;
/// $51.14 for a gram where the listing's other row showed $1.02).
pub const HOLDING_FROM_USD: f64 = 1_000.0;

/// How many times the median of the listing's other prices a price must
/// exceed to be taken for a holding price (rule 3).
pub const OUTLIER_FACTOR: f64 = 10.0;

/// How many times the median of the vendor's other listings' prices a price
/// must exceed to be taken for a holding price (rule 4): far more than a
/// bulk listing's over a single one's (a kilo at 300 times a gram's price).
pub const VENDOR_OUTLIER_FACTOR: f64 = 1_000.0;

/// The lowest USD price rule 4 applies to: a vendor whose other listings
/// sell at a dollar sells exploits and cards at thousands.
pub const VENDOR_RULE_FROM_USD: f64 = 10_000.0;

/// How many times the median of the vendor's other listings' prices the
/// price of a listing whose title says it is not for sale must exceed (rule
/// 1): "1 Pound … pictures coming soon" at $2,135 is a price.
pub const TITLE_FACTOR: f64 = 20.0;

/// The fewest other listings of the vendor rules 1 and 4 measure a price
/// against.
pub const VENDOR_OTHERS: usize = 3;

/// Why `amount` (as shown, in its own currency) worth `usd` reads as a
/// holding price by itself (rule 2).
fn vanity_price(amount: &str, usd: f64) -> Option<String> {
    (usd >= HOLDING_FROM_USD && vanity(amount)).then(|| format!("{} is a run of one digit", amount.trim()))
}

/// How far into a title its words are read for rule 1: a dataset that joins
/// the description onto the title (Agora's vendorall files) put "normally
/// sold out like drama", 97 characters in, beside bank logins priced at a
/// fifth of their balance (found by a review). Titles that say so say it
/// early ("*Restock Soon*", "[SOON!]", "(SOLD OUT)").
pub const TITLE_WORDS_WITHIN: usize = 80;

/// The title word saying a listing is not for sale now, if any, in its
/// first [`TITLE_WORDS_WITHIN`] characters.
fn unavailable(title: &str) -> Option<&'static str> {
    let head: String = title.chars().take(TITLE_WORDS_WITHIN).collect();
    let lower = head.to_lowercase();
    UNAVAILABLE.iter().find(|w| lower.contains(*w)).copied()
}

/// A custom listing is priced per buyer: its prices vary by design, and
/// are not measured against its others or the vendor's (rules 3, 4).
fn custom(title: &str) -> bool {
    title.to_lowercase().contains("custom")
}

/// An amount of 9s (9999, 99999.00, 9999.01), or of one digit throughout,
/// cents too (8888.88, 1111): at least four whole digits, thousands
/// separators aside.
fn vanity(amount: &str) -> bool {
    let digits: String = amount.trim().chars().filter(|c| *c != ',').collect();
    let (whole, cents) = digits.split_once('.').unwrap_or((&digits, ""));
    let cents = cents.trim_end_matches('0');
    let Some(first) = whole.chars().next() else { return false };
    if whole.len() < 4 || !whole.chars().all(|c| c == first) || !first.is_ascii_digit() || first == '0' {
        return false;
    }
    first == '9' || cents.chars().all(|c| c == first)
}

/// Why an observation's price is not one to price a sale at.
#[derive(Debug, Clone, PartialEq)]
pub enum Unusable {
    /// A holding price, and why it is taken for one.
    Holding(String),
    /// A price that is no sale price by its value on its own day (zero,
    /// under a dollar, absurd, not a number): its conversion says why.
    Value,
}

/// The observations of one account's listings (each a listing's `(day,
/// row)`s, any order) whose price is not to price a sale at: `(listing,
/// observation, why)` for each, in that order, each observation priced on its
/// own day. A price the rates cannot convert (no series, a day outside it)
/// is not judged.
pub fn unusable_prices(listings: &[&[(NaiveDate, &Obs<Listing>)]], rates: &Rates) -> Vec<(usize, usize, Unusable)> {
    use crate::ConvertError as E;
    // Every rule needs a price of HOLDING_FROM_USD or more, and a value
    // judged no sale price is rare: most accounts have neither, and are
    // passed with one look at each price (the whole pass below was 13 % of
    // the estimate at the bench's million listings).
    let worth_a_look = listings.iter().flat_map(|obs| obs.iter()).any(|(day, o)| match listing_usd_value(&o.record, *day, rates) {
        Some(Ok(usd)) => usd >= HOLDING_FROM_USD,
        Some(Err(())) => true,
        None => false,
    });
    if !worth_a_look {
        return Vec::new();
    }
    let mut bad: Vec<(usize, usize, Unusable)> = Vec::new();
    // Each listing's USD prices, None where there is none to judge or the
    // price is already taken for no sale price.
    let mut usd: Vec<Vec<Option<f64>>> = Vec::with_capacity(listings.len());
    for (li, observations) in listings.iter().enumerate() {
        let mut prices = Vec::with_capacity(observations.len());
        for (oi, (day, o)) in observations.iter().enumerate() {
            prices.push(match listing_usd(&o.record, *day, rates) {
                Ok(p) => match vanity_price(&p.amount, p.usd) {
                    Some(why) => {
                        bad.push((li, oi, Unusable::Holding(why)));
                        None
                    }
                    None => Some(p.usd),
                },
                Err(E::Zero { .. } | E::Placeholder { .. } | E::Absurd { .. } | E::BadAmount(_)) => {
                    bad.push((li, oi, Unusable::Value));
                    None
                }
                Err(_) => None,
            });
        }
        usd.push(prices);
    }
    // Rule 3: a price far above the listing's others.
    for (li, prices) in usd.iter_mut().enumerate() {
        let mut sorted: Vec<f64> = prices.iter().flatten().copied().collect();
        if sorted.len() < 2 {
            continue;
        }
        sorted.sort_by(f64::total_cmp);
        for (oi, price) in prices.iter_mut().enumerate() {
            let Some(u) = *price else { continue };
            let median = median_without(&sorted, u);
            if u >= HOLDING_FROM_USD && u > OUTLIER_FACTOR * median && !custom(&listings[li][oi].1.record.title) {
                let why = format!("${u:.2} on its own day is over {OUTLIER_FACTOR:.0} times the median (${median:.2}) of the listing's other {} prices", sorted.len() - 1);
                bad.push((li, oi, Unusable::Holding(why)));
                *price = None;
            }
        }
    }
    // Rules 1 and 4, against the vendor's other listings: each listing's
    // median price, and the median of the others'.
    let medians: Vec<Option<f64>> = usd
        .iter()
        .map(|prices| {
            let mut sorted: Vec<f64> = prices.iter().flatten().copied().collect();
            sorted.sort_by(f64::total_cmp);
            (!sorted.is_empty()).then(|| sorted[(sorted.len() - 1) / 2])
        })
        .collect();
    let mut all: Vec<f64> = medians.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    for (li, prices) in usd.iter().enumerate() {
        let n = all.len() - usize::from(medians[li].is_some());
        // The median of the other listings' medians, where there are enough.
        let others = (n >= VENDOR_OTHERS).then(|| match medians[li] {
            Some(own) => median_without(&all, own),
            None => all[(all.len() - 1) / 2],
        });
        for (oi, u) in prices.iter().enumerate() {
            let Some(u) = *u else { continue };
            let title = &listings[li][oi].1.record.title;
            let times = |factor: f64| others.is_some_and(|m| u > factor * m);
            let why = match unavailable(title) {
                // Rule 1: a listing that says it is not for sale, priced far
                // above the vendor's others (or with too few to tell).
                Some(word) if u >= HOLDING_FROM_USD && (others.is_none() || times(TITLE_FACTOR)) => Some(format!("its title says {word:?}, at ${u:.2} on its own day")),
                // Rule 4.
                _ if u >= VENDOR_RULE_FROM_USD && times(VENDOR_OUTLIER_FACTOR) && !custom(title) => Some(format!(
                    "${u:.2} on its own day is over {VENDOR_OUTLIER_FACTOR:.0} times the median (${:.2}) of the vendor's other {n} listings' prices",
                    others.unwrap_or_default()
                )),
                _ => None,
            };
            if let Some(why) = why {
                bad.push((li, oi, Unusable::Holding(why)));
            }
        }
    }
    bad.sort_by_key(|(li, oi, _)| (*li, *oi));
    bad
}

/// The (lower) median of `sorted` with one occurrence of `x` (in it) left out.
fn median_without(sorted: &[f64], x: f64) -> f64 {
    let at = sorted.partition_point(|v| *v < x);
    let others = sorted.len() - 1;
    let j = (others - 1) / 2;
    if j < at {
        sorted[j]
    } else {
        sorted[j + 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(title: &str, usd: &str) -> Obs<Listing> {
        Obs { id: title.into(), record: Listing { title: title.into(), price_usd: Some(usd.into()), ..Listing::default() }, captured_at: None }
    }

    #[test]
    fn runs_of_one_digit() {
        assert!(vanity_price("99999.00", 99_999.0).is_some());
        assert!(vanity_price("9999.01", 9_999.01).is_some());
        assert!(vanity_price("8,888.88", 8_888.88).is_some());
        // Under the floor, a run of digits is a price.
        assert_eq!(vanity_price("999", 999.0), None);
        // Prices, not runs: cents of other digits, a BTC amount worth a run.
        assert_eq!(vanity_price("4444.37", 4_444.37), None);
        assert_eq!(vanity_price("1.3648828", 1_111.69), None);
        assert_eq!(vanity_price("9990", 9_990.0), None);
    }

    #[test]
    fn a_title_that_says_not_for_sale_far_above_the_vendors_others() {
        let day = NaiveDate::from_ymd_opt(2016, 5, 1).unwrap();
        let titles = [("LSD - 1x 155ug Tab *Restock Soon*", "70000"), ("1 Pound - pictures coming soon", "2135"), ("1 oz", "210"), ("1/2 oz", "120"), ("1/4 oz", "65"), ("BLUE APPLE (RESTOCKED!)", "249.99")];
        let rows: Vec<Obs<Listing>> = titles.iter().map(|(t, p)| listing(t, p)).collect();
        let listings: Vec<[(NaiveDate, &Obs<Listing>); 1]> = rows.iter().map(|r| [(day, r)]).collect();
        let slices: Vec<&[(NaiveDate, &Obs<Listing>)]> = listings.iter().map(|l| &l[..]).collect();
        let found = unusable_prices(&slices, &Rates::default());
        // $70,000 is 437 times the others' median; a pound at $2,135 (13
        // times) and $249.99 (under the floor) are prices.
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(matches!(&found[0], (0, 0, Unusable::Holding(why)) if why.contains("\"restock\"")), "{found:?}");
        // Words past the first 80 characters are a description's, not the
        // title's ("normally sold out like drama").
        let long = format!("{} normally sold out like drama", "$9 000 BOA logins + Fulls ".repeat(4));
        assert_eq!(unavailable(&long), None);
        assert_eq!(unavailable("Speed Paste - 1 gram (SOLD OUT) will relist soon"), Some("sold out"));
    }

    #[test]
    fn a_price_far_above_the_listings_others_is_holding() {
        let day = NaiveDate::from_ymd_opt(2014, 1, 8).unwrap();
        let one = |obs: &[(NaiveDate, &Obs<Listing>)]| unusable_prices(&[obs], &Rates::default());
        let (a, b, c) = (listing("x", "155931.10"), listing("x", "188.00"), listing("x", "190.00"));
        let obs = [(day, &a), (day, &b), (day, &c)];
        let found = one(&obs);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (0, 0));
        assert!(matches!(&found[0].2, Unusable::Holding(why) if why.contains("median ($188.00)")), "{found:?}");
        // Two prices: the far higher one is the holding one, not the other.
        assert_eq!(one(&obs[..2]).iter().map(|(_, i, _)| *i).collect::<Vec<_>>(), [0]);
        // Within the factor: both prices.
        let (d, e) = (listing("x", "100"), listing("x", "900"));
        assert!(one(&[(day, &d), (day, &e)]).is_empty());
        // Over the factor, under the floor: a price ($51.14 where the other row
        // showed $1.02).
        let (f, g) = (listing("x", "51.14"), listing("x", "1.02"));
        assert!(one(&[(day, &f), (day, &g)]).is_empty());
        // A custom listing's prices vary by buyer.
        let (h, k) = (listing("Custom Order", "4960.29"), listing("Custom Order", "24.45"));
        assert!(one(&[(day, &h), (day, &k)]).is_empty());
        // One observation alone has no others to be measured against.
        assert!(one(&obs[..1]).is_empty());
        // A zero price is no sale price either, and not counted among the
        // others a price is measured against.
        let z = listing("x", "0");
        assert_eq!(one(&[(day, &z), (day, &b)]), [(0, 0, Unusable::Value)]);
    }

    #[test]
    fn a_price_far_above_the_vendors_other_listings_is_holding() {
        let day = NaiveDate::from_ymd_opt(2014, 2, 5).unwrap();
        let rows: Vec<Obs<Listing>> = ["90", "95", "120", "280", "156031.03", "28000"].iter().map(|p| listing("x", p)).collect();
        let listings: Vec<[(NaiveDate, &Obs<Listing>); 1]> = rows.iter().map(|r| [(day, r)]).collect();
        let slices: Vec<&[(NaiveDate, &Obs<Listing>)]> = listings.iter().map(|l| &l[..]).collect();
        // 156,031 is 1,300 times the others' median (120); a kilo at 28,000
        // (233 times) is a price.
        let found = unusable_prices(&slices, &Rates::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].0, found[0].1), (4, 0));
        assert!(matches!(&found[0].2, Unusable::Holding(why) if why.contains("vendor's other 5 listings")), "{found:?}");
        // Two others are too few to measure against.
        assert!(unusable_prices(&slices[3..6], &Rates::default()).is_empty());
    }

    #[test]
    fn median_without_one() {
        let v = [1.0, 2.0, 3.0, 10.0];
        assert_eq!(median_without(&v, 10.0), 2.0);
        assert_eq!(median_without(&v, 1.0), 3.0);
        assert_eq!(median_without(&[5.0, 7.0], 5.0), 7.0);
    }
}
