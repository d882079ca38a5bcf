//! The simulated world, before any HTML: operators, their vendor accounts on
//! each market, keys, addresses, listings and feedback. Everything is drawn
//! from one ChaCha20 stream seeded by the config, in a fixed order, so the
//! same config gives the same world.

use std::collections::{BTreeMap, BTreeSet};

use bitcoin::secp256k1::Secp256k1;
use chrono::{Days, NaiveDate};
use rand::seq::{IndexedRandom as _, SliceRandom as _};
use rand::{Rng, SeedableRng as _};
use rand_chacha::ChaCha20Rng;

use crate::crypto::{self, BtcKind, PgpKey};
use crate::photo::{render, Encoding, Photo, Picture};
use crate::words::{self, MarketDef, SubCat, TopCat, MARKETS};
use crate::{MarketSimConfig, Noise};

/// First and last day of the simulated timeline.
pub(crate) fn timeline() -> (NaiveDate, NaiveDate) {
    // Both dates are valid constants; `from_ymd_opt` only fails on invalid ones.
    let start = NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or_default();
    let end = NaiveDate::from_ymd_opt(2021, 12, 31).unwrap_or_default();
    (start, end)
}

pub(crate) struct World {
    pub markets: Vec<MarketDef>,
    pub keys: Vec<PgpKey>,
    pub operators: Vec<Operator>,
    pub accounts: Vec<Account>,
}

pub(crate) struct Operator {
    pub id: u32,
    /// Indices into `World::accounts`.
    pub accounts: Vec<usize>,
}

pub(crate) struct Account {
    pub market: usize,
    pub name: String,
    pub operator: u32,
    /// Index into `World::keys`.
    pub key: usize,
    pub btc: Vec<String>,
    /// `kind:value`, as vendor records carry them.
    pub contacts: Vec<String>,
    pub registered: NaiveDate,
    pub last_seen: NaiveDate,
    /// 0-based level; each layout names it its own way.
    pub level: usize,
    pub description: String,
    pub listings: Vec<Listing>,
    pub noise: Vec<Noise>,
    /// Off the market in this revision ([`evolve`]): no pages.
    pub hidden: bool,
}

impl Account {
    pub fn feedback(&self) -> impl Iterator<Item = (&Listing, &Feedback)> {
        self.listings
            .iter()
            .flat_map(|l| l.feedback.iter().map(move |f| (l, f)))
    }

    pub fn feedback_count(&self) -> usize {
        self.listings.iter().map(|l| l.feedback.len()).sum()
    }

    pub fn sales(&self) -> u64 {
        self.listings.iter().map(|l| l.sold).sum()
    }
}

pub(crate) struct Listing {
    /// The market's id for it (numeric on table markets, hex on card markets).
    pub id: String,
    pub title: String,
    pub top: &'static TopCat,
    pub sub: &'static SubCat,
    pub price_cents: u64,
    pub ships_from: &'static str,
    pub ships_to: &'static [&'static str],
    pub shipping: Vec<(&'static str, u64)>,
    pub stock: Option<u32>,
    pub sold: u64,
    pub description: String,
    /// Newest first, as markets show them.
    pub feedback: Vec<Feedback>,
    /// The product photo its page embeds ([`assign_photos`]).
    pub photo: Option<Photo>,
}

pub(crate) struct Feedback {
    pub date: NaiveDate,
    /// 1..=5 stars.
    pub stars: u8,
    pub text: &'static str,
    pub buyer: String,
}

/// What an operator sells everywhere: a home country and a few products.
struct Catalogue {
    country: &'static str,
    items: Vec<(
        &'static TopCat,
        &'static SubCat,
        &'static str,
        u32,
        &'static str,
    )>,
}

pub(crate) fn build(cfg: &MarketSimConfig) -> Result<World, crypto::KeyGenError> {
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let secp = Secp256k1::signing_only();
    let n_markets = cfg.markets.clamp(2, MARKETS.len());
    let markets: Vec<MarketDef> = MARKETS.iter().take(n_markets).copied().collect();
    let (start, end) = timeline();
    let share = |p: f64| {
        if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let range =
        |r: &std::ops::RangeInclusive<usize>| (*r.start().min(r.end()), *r.start().max(r.end()));
    let (lmin, lmax) = range(&cfg.listings_per_vendor);
    let (fmin, fmax) = range(&cfg.feedback_per_listing);

    let mut world = World {
        markets,
        keys: Vec::new(),
        operators: Vec::new(),
        accounts: Vec::new(),
    };
    // Lower-cased names taken per market, and every base name used so far.
    let mut taken: Vec<BTreeSet<String>> = vec![BTreeSet::new(); n_markets];
    let mut bases: Vec<String> = Vec::new();
    let mut next_numeric_id: Vec<u64> = (0..n_markets).map(|m| 4100 + 1000 * m as u64).collect();
    let mut hex_ids: BTreeSet<String> = BTreeSet::new();

    for op in 0..cfg.operators {
        let op_id = op as u32 + 1;
        // A few operators pick a name that looks like another operator's:
        // the trap that name-only linking falls into.
        let lookalike = op >= 2 && rng.random_bool(share(cfg.lookalike_share));
        let base = if lookalike {
            let other = bases.choose(&mut rng).cloned().unwrap_or_default();
            format!(
                "{other}{}",
                ["_", "x", "420", "Team"]
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or("_")
            )
        } else {
            fresh_base(&mut rng, &bases)
        };
        bases.push(base.clone());

        // How many markets this operator sells on. The first two operators
        // are always on two markets (one keeps the key, one does not), so
        // every world shows both cases.
        let n_accounts = if op < 2 || rng.random_bool(share(cfg.multi_market_share)) {
            if op < 2 {
                2
            } else {
                rng.random_range(2..=n_markets)
            }
        } else {
            1
        };
        let mut market_order: Vec<usize> = (0..n_markets).collect();
        market_order.shuffle(&mut rng);
        market_order.truncate(n_accounts);
        market_order.sort_unstable();

        let catalogue = catalogue(&mut rng);
        let lower = base.to_lowercase();
        let mut contacts = vec![format!("jabber:{lower}@jabber.example.net")];
        if rng.random_bool(0.5) {
            contacts.push(format!("email:{lower}@mail.example.org"));
        }
        let registered0 = day_between(
            &mut rng,
            start,
            NaiveDate::from_ymd_opt(2020, 6, 30).unwrap_or(end),
        );
        let key_created = registered0 - Days::new(rng.random_range(1..=120));
        let main_key = new_key(&mut rng, &mut world.keys, &base, key_created)?;
        let main_btc = crypto::btc_address(&secp, rng.random(), BtcKind::P2wpkh);
        let description = describe(&mut rng);

        let mut op_accounts = Vec::new();
        for (k, &market) in market_order.iter().enumerate() {
            let mut noise = Vec::new();
            if lookalike {
                noise.push(Noise::LookalikeName);
            }
            let mut name = base.clone();
            if k > 0 && rng.random_bool(share(cfg.renamed_share)) {
                name = rename(&mut rng, &base);
                noise.push(Noise::Renamed);
            }
            while taken[market].contains(&name.to_lowercase()) {
                name.push_str(&rng.random_range(1..=99u32).to_string());
                noise.push(Noise::NameTaken);
            }
            taken[market].insert(name.to_lowercase());

            let registered = if k == 0 {
                registered0
            } else {
                day_between(
                    &mut rng,
                    registered0,
                    NaiveDate::from_ymd_opt(2021, 3, 31).unwrap_or(end),
                )
            };
            let new_key_here =
                k > 0 && (op == 1 || (op != 0 && rng.random_bool(share(cfg.new_key_share))));
            let key = if new_key_here {
                noise.push(Noise::NewKey);
                let created = registered - Days::new(rng.random_range(0..=10));
                new_key(&mut rng, &mut world.keys, &name, created)?
            } else {
                main_key
            };
            let mut btc = Vec::new();
            if k == 0 || rng.random_bool(0.5) {
                btc.push(main_btc.clone());
            } else {
                btc.push(crypto::btc_address(&secp, rng.random(), BtcKind::P2wpkh));
                noise.push(Noise::NewBtcAddress);
            }
            if rng.random_bool(0.3) {
                btc.push(crypto::btc_address(&secp, rng.random(), BtcKind::P2pkh));
            }
            let mut acct_contacts = contacts.clone();
            if k > 0 && acct_contacts.len() > 1 && rng.random_bool(0.3) {
                acct_contacts.pop();
                noise.push(Noise::DroppedContact);
            }
            let description = if k > 0 && rng.random_bool(0.5) {
                noise.push(Noise::RewrittenDescription);
                describe(&mut rng)
            } else {
                description.clone()
            };
            let last_seen = day_between(
                &mut rng,
                NaiveDate::from_ymd_opt(2021, 11, 1).unwrap_or(end),
                end,
            );

            let n_listings = rng.random_range(lmin..=lmax);
            let mut listings = Vec::with_capacity(n_listings);
            for _ in 0..n_listings {
                let id = match world.markets[market].layout {
                    words::Layout::Table => {
                        next_numeric_id[market] += rng.random_range(1..=9);
                        next_numeric_id[market].to_string()
                    }
                    words::Layout::Cards => loop {
                        let id = format!("{:06x}", rng.random_range(0..0x0100_0000u32));
                        if hex_ids.insert(id.clone()) {
                            break id;
                        }
                    },
                };
                let n_feedback = rng.random_range(fmin..=fmax);
                listings.push(listing(
                    &mut rng, &catalogue, id, n_feedback, registered, last_seen,
                ));
            }
            let level = (listings.iter().map(|l| l.sold).sum::<u64>() / 15).min(3) as usize;

            op_accounts.push(world.accounts.len());
            world.accounts.push(Account {
                market,
                name,
                operator: op_id,
                key,
                btc,
                contacts: acct_contacts,
                registered,
                last_seen,
                level,
                description,
                listings,
                noise,
                hidden: false,
            });
        }
        world.operators.push(Operator {
            id: op_id,
            accounts: op_accounts,
        });
    }
    Ok(world)
}

fn fresh_base(rng: &mut ChaCha20Rng, bases: &[String]) -> String {
    let free = |name: &str| !bases.iter().any(|x| x.eq_ignore_ascii_case(name));
    // Draw until the pair is unused; only when the name space is nearly full
    // (hundreds of operators) fall back to a digit suffix.
    for _ in 0..64 {
        let a = words::NAME_FIRST.choose(rng).copied().unwrap_or("Nameless");
        let b = words::NAME_SECOND.choose(rng).copied().unwrap_or("Vendor");
        let name = format!("{a}{b}");
        if free(&name) {
            return name;
        }
    }
    loop {
        let name = format!("Vendor{}", rng.random_range(1000..=999_999u32));
        if free(&name) {
            return name;
        }
    }
}

/// The name an operator re-registers under: case change, leetspeak or a suffix.
fn rename(rng: &mut ChaCha20Rng, base: &str) -> String {
    match rng.random_range(0..3) {
        0 => base.to_lowercase(),
        1 => {
            let leet = base.replacen('o', "0", 1).replacen('e', "3", 1);
            if leet == base {
                format!("{base}_")
            } else {
                leet
            }
        }
        _ => format!(
            "{base}{}",
            words::RENAME_SUFFIXES.choose(rng).copied().unwrap_or("_")
        ),
    }
}

fn new_key(
    rng: &mut ChaCha20Rng,
    keys: &mut Vec<PgpKey>,
    name: &str,
    created: NaiveDate,
) -> Result<usize, crypto::KeyGenError> {
    let secs = created
        .and_hms_opt(12, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or_default();
    let secs = u32::try_from(secs).unwrap_or_default() + rng.random_range(0..3600);
    let key = crypto::pgp_key(
        rng.random(),
        &format!("{name} <{}@mail.example.org>", name.to_lowercase()),
        secs,
    )?;
    keys.push(key);
    Ok(keys.len() - 1)
}

fn day_between(rng: &mut ChaCha20Rng, a: NaiveDate, b: NaiveDate) -> NaiveDate {
    let span = (b - a).num_days().max(0) as u64;
    a + Days::new(rng.random_range(0..=span))
}

fn describe(rng: &mut ChaCha20Rng) -> String {
    let opener = words::DESCRIPTION_OPENERS
        .choose(rng)
        .copied()
        .unwrap_or_default();
    let mut body: Vec<&str> = words::DESCRIPTION_BODIES
        .choose_multiple(rng, 3)
        .copied()
        .collect();
    body.shuffle(rng);
    format!("{opener} {}", body.join(" "))
}

fn catalogue(rng: &mut ChaCha20Rng) -> Catalogue {
    let country = words::COUNTRIES.choose(rng).copied().unwrap_or("Germany");
    // Operators specialise: one or two top categories.
    let n_tops = rng.random_range(1..=2);
    let tops: Vec<&'static TopCat> = words::CATALOGUE.choose_multiple(rng, n_tops).collect();
    let mut items = Vec::new();
    for top in tops {
        for sub in top.subs {
            for &product in sub.products {
                let qty = sub.quantities.choose(rng).copied().unwrap_or(1);
                let tag = words::TITLE_TAGS.choose(rng).copied().unwrap_or("Premium");
                items.push((top, sub, product, qty, tag));
            }
        }
    }
    items.shuffle(rng);
    Catalogue { country, items }
}

fn listing(
    rng: &mut ChaCha20Rng,
    cat: &Catalogue,
    id: String,
    n_feedback: usize,
    registered: NaiveDate,
    last_seen: NaiveDate,
) -> Listing {
    let fallback = (
        &words::CATALOGUE[0],
        &words::CATALOGUE[0].subs[0],
        "OG Kush",
        5,
        "Premium",
    );
    let &(top, sub, product, qty, tag) = cat.items.choose(rng).unwrap_or(&fallback);
    let title = if sub.unit == "g" {
        format!("{qty}g {product} - {tag}")
    } else {
        format!("{qty}x {product} - {tag}")
    };
    let unit = rng.random_range(sub.unit_cents.0..=sub.unit_cents.1);
    // Markets price to the dollar or the half dollar.
    let price_cents = (unit * qty as u64).div_ceil(50) * 50;
    let n_shipping = rng.random_range(1..=3);
    let mut shipping: Vec<(&'static str, u64)> = words::SHIPPING
        .choose_multiple(rng, n_shipping)
        .copied()
        .collect();
    shipping.sort_by_key(|s| s.1);
    let stock = rng.random_bool(0.75).then(|| rng.random_range(1..=200));
    let first_feedback = (registered + Days::new(14)).min(last_seen);
    let mut feedback: Vec<Feedback> = (0..n_feedback)
        .map(|_| {
            let roll = rng.random_range(0..100);
            let (stars, pool) = match roll {
                0..=84 => (5, words::FEEDBACK_POSITIVE),
                85..=91 => (4, words::FEEDBACK_POSITIVE),
                92..=95 => (3, words::FEEDBACK_NEUTRAL),
                _ => (rng.random_range(1..=2), words::FEEDBACK_NEGATIVE),
            };
            Feedback {
                date: day_between(rng, first_feedback, last_seen),
                stars,
                text: pool.choose(rng).copied().unwrap_or_default(),
                buyer: masked_buyer(rng),
            }
        })
        .collect();
    feedback.sort_by_key(|f| std::cmp::Reverse(f.date));
    let sold = n_feedback as u64 + rng.random_range(0..=n_feedback as u64 * 2);
    let description = format!(
        "{product}, {qty}{} per order. Ships from {} in discreet packaging.",
        if sub.unit == "g" { "g" } else { " units" },
        cat.country
    );
    Listing {
        id,
        title,
        top,
        sub,
        price_cents,
        ships_from: cat.country,
        ships_to: words::DESTINATIONS
            .choose(rng)
            .copied()
            .unwrap_or(&["Worldwide"]),
        shipping,
        stock,
        sold,
        description,
        feedback,
        photo: None,
    }
}

fn masked_buyer(rng: &mut ChaCha20Rng) -> String {
    let mut pick = || char::from(words::BUYER_LETTERS.choose(rng).copied().unwrap_or(b'x'));
    let (a, b) = (pick(), pick());
    format!("{a}***{b}")
}

/// Share of operators who photograph their own products; the others show
/// stock pictures (two per sub-category, shared by every such vendor). On
/// the White House pages 5 of 1,109 distinct photo hashes appear under more
/// than one vendor name (docs/methods.md), so stock use is rare.
const PHOTOGRAPHER_SHARE: f64 = 0.95;
/// Share of a photographer's further accounts with new photos (none reused).
const NEW_PHOTOS_SHARE: f64 = 0.25;
/// Share of operators (after the first two) whose first listing shows a
/// photo copied from an earlier operator: a false photo match.
const COPIED_PHOTO_SHARE: f64 = 0.05;
/// Share of listings without a photo.
const NO_PHOTO_SHARE: f64 = 0.15;

/// Gives listings their photos, from a stream of their own (seeded from
/// `seed`), after the world is built: every other draw, and so every page
/// and figure of a world without photos, is unchanged. Each account is one
/// upload encoding (its market re-encodes what the vendor uploads); a
/// photographer shows one picture per product on every account unless an
/// account took new photos ([`Noise::NewPhotos`]).
pub(crate) fn assign_photos(world: &mut World, seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5048_4f54_4f53);
    let mut stock: BTreeMap<&'static str, [Picture; 2]> = BTreeMap::new();
    // Each operator's pictures (of its first account), for copying.
    let mut shown: Vec<Vec<Picture>> = Vec::with_capacity(world.operators.len());
    // A sub-category's pictures share a family (their broad shapes).
    let family = |sub: &str| sub.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    for op in 0..world.operators.len() {
        let photographer = rng.random_bool(PHOTOGRAPHER_SHARE);
        let copy_from = (op >= 2 && rng.random_bool(COPIED_PHOTO_SHARE))
            .then(|| shown[rng.random_range(0..op)].first().copied())
            .flatten();
        let mut pictures: BTreeMap<String, Picture> = BTreeMap::new();
        let mut first: Vec<Picture> = Vec::new();
        for (k, &ai) in world.operators[op].accounts.clone().iter().enumerate() {
            let enc = Encoding::draw(&mut rng);
            if k > 0 && photographer && rng.random_bool(NEW_PHOTOS_SHARE) {
                pictures.clear();
                world.accounts[ai].noise.push(Noise::NewPhotos);
            }
            for li in 0..world.accounts[ai].listings.len() {
                if rng.random_bool(NO_PHOTO_SHARE) {
                    continue;
                }
                let l = &world.accounts[ai].listings[li];
                let picture = match copy_from {
                    Some(p) if k == 0 && li == 0 => {
                        world.accounts[ai].noise.push(Noise::CopiedPhoto);
                        p
                    }
                    _ if photographer => *pictures
                        .entry(l.title.clone())
                        .or_insert_with(|| Picture { family: family(l.sub.name), own: rng.random() }),
                    _ => {
                        let f = family(l.sub.name);
                        let pool = stock
                            .entry(l.sub.name)
                            .or_insert_with(|| [Picture { family: f, own: rng.random() }, Picture { family: f, own: rng.random() }]);
                        pool[rng.random_range(0..2)]
                    }
                };
                if k == 0 {
                    first.push(picture);
                }
                world.accounts[ai].listings[li].photo = Some(render(picture, &enc));
            }
        }
        shown.push(first);
    }
}

/// Share of listings removed, repriced and added per account per round, and
/// of accounts off the market in a round ([`evolve`]).
const REMOVED_SHARE: f64 = 0.1;
const REPRICED_SHARE: f64 = 0.15;
const ADDED_SHARE: f64 = 0.3;
const HIDDEN_SHARE: f64 = 0.1;

/// Applies `revision` rounds of change to the world, each from its own
/// stream: listings removed (an account keeps at least one), repriced
/// (5-30 % up or down), added (a new id, no feedback yet), and accounts
/// taken off the market for that round only (so a vendor can disappear and
/// come back). Revision 0 changes nothing.
pub(crate) fn evolve(world: &mut World, seed: u64, revision: u32) {
    for round in 1..=revision {
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x4556_4f4c_5645 ^ u64::from(round).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for a in &mut world.accounts {
            a.hidden = false;
            let mut removed: Vec<bool> = a.listings.iter().map(|_| rng.random_bool(REMOVED_SHARE)).collect();
            if removed.iter().all(|&r| r) {
                // An account on the market keeps at least one listing.
                removed[0] = false;
            }
            let mut kept = Vec::with_capacity(a.listings.len());
            for (mut l, gone) in std::mem::take(&mut a.listings).into_iter().zip(removed) {
                if gone {
                    continue;
                }
                if rng.random_bool(REPRICED_SHARE) {
                    let pct = rng.random_range(5..=30);
                    l.price_cents = if rng.random_bool(0.5) {
                        l.price_cents + l.price_cents * pct / 100
                    } else {
                        (l.price_cents - l.price_cents * pct / 100).max(100)
                    };
                }
                kept.push(l);
            }
            if !kept.is_empty() && rng.random_bool(ADDED_SHARE) {
                let template = &kept[rng.random_range(0..kept.len())];
                let added = Listing {
                    // Ids stay unique: a round's new ids end in the round.
                    id: format!("{}{}{round}", template.id, if template.id.chars().all(|c| c.is_ascii_digit()) { "0" } else { "a" }),
                    title: format!("{} (new batch)", template.title),
                    top: template.top,
                    sub: template.sub,
                    price_cents: template.price_cents,
                    ships_from: template.ships_from,
                    ships_to: template.ships_to,
                    shipping: template.shipping.clone(),
                    stock: template.stock,
                    sold: 0,
                    description: template.description.clone(),
                    feedback: Vec::new(),
                    photo: template.photo.clone(),
                };
                kept.push(added);
            }
            a.listings = kept;
            a.hidden = rng.random_bool(HIDDEN_SHARE);
        }
    }
}
