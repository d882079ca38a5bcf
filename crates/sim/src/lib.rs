//! Deterministic synthetic darknet markets with ground truth, for `dragnet
//! demo`, tests and benchmarks. Never used by production code paths.
//!
//! [`generate_markets`] builds a small world of **operators** (the people
//! behind vendor accounts), each running one or more vendor **accounts** on
//! fictional markets, and renders every market as a static site: a front page
//! with category counts, search pages, listing pages, vendor profiles with
//! feedback, a login page and a captcha page. The markets use two clearly
//! different layouts (a table layout with label cells, and a card layout with
//! `data-*` attributes), each described by a profile in
//! `crates/extract/profiles/sim-<market>.toml`, so the whole extraction
//! pipeline runs on them exactly as on captured pages.
//!
//! The [`Truth`] says which operator runs which account (`market/vendor`),
//! with the key, addresses and contacts each account shows, the noise applied
//! (renamed accounts, new keys, rewritten descriptions, lookalike names), and
//! for every page the records extraction should recover. Linking heuristics
//! and extraction are measured against it.
//!
//! ```
//! let case = sim::generate_markets(&sim::MarketSimConfig { operators: 3, ..Default::default() });
//! assert!(case.files.iter().any(|f| f.rel_path == "pages/placebo/index.html"));
//! assert!(case.truth.accounts.iter().all(|a| a.account == format!("{}/{}", a.market, a.vendor_name)));
//! ```
//!
//! Key choices:
//! - **Real cryptography.** PGP keys are real Ed25519 keys made with rpgp and
//!   Bitcoin addresses come from real secp256k1 keys, so identifier
//!   validation (checksums, key parsing, fingerprints) runs for real.
//! - **Byte-identical output.** Everything random is drawn from one ChaCha20
//!   stream seeded by [`MarketSimConfig::seed`]; dates lie on a fixed
//!   2019–2021 timeline and key timestamps derive from it. There is no
//!   wall-clock and no hash-map order anywhere.
//! - **One source for HTML and truth.** Each page's expected records are built
//!   from the same values the HTML is written from.
#![warn(missing_docs)]

mod crypto;
mod photo;
mod render;
pub mod sales;
pub mod serve;
mod words;
mod world;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;

use serde::{Deserialize, Serialize};

use model::{CategoryEntry, Feedback, Listing, PageType, Vendor};

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketSimConfig {
    /// Seed of the ChaCha20 stream everything is drawn from.
    pub seed: u64,
    /// Number of operators (people); each runs one account per market it sells on.
    pub operators: usize,
    /// Number of markets, 2 to [`MAX_MARKETS`] (values outside are clamped).
    /// Layouts alternate table, cards, table, cards.
    pub markets: usize,
    /// Listings per vendor account.
    pub listings_per_vendor: RangeInclusive<usize>,
    /// Feedback entries per listing.
    pub feedback_per_listing: RangeInclusive<usize>,
    /// Share of operators (after the first two, which always are) selling on
    /// more than one market.
    pub multi_market_share: f64,
    /// Share of additional accounts registered under a changed name.
    pub renamed_share: f64,
    /// Share of additional accounts that show a new PGP key.
    pub new_key_share: f64,
    /// Share of operators whose name imitates an earlier operator's.
    pub lookalike_share: f64,
    /// The markets as they stand after this many rounds of change (0: as
    /// generated). Each round removes some listings, reprices some, adds new
    /// ones and takes some vendors off the market (they may come back in a
    /// later round): what `dragnet watch` must report. Drawn from its own
    /// stream, so revision 0 is unchanged by this knob.
    pub revision: u32,
}

impl Default for MarketSimConfig {
    fn default() -> Self {
        MarketSimConfig {
            seed: 7,
            operators: 12,
            markets: 2,
            listings_per_vendor: 1..=5,
            feedback_per_listing: 0..=8,
            multi_market_share: 0.6,
            renamed_share: 0.3,
            new_key_share: 0.25,
            lookalike_share: 0.1,
            revision: 0,
        }
    }
}

/// The most markets a simulation can have (one profile each).
pub const MAX_MARKETS: usize = words::MARKETS.len();

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFile {
    /// Path relative to the output directory, `/`-separated
    /// (`pages/<market>/vendor/<name>.html`).
    pub rel_path: String,
    /// File content.
    pub bytes: Vec<u8>,
}

/// A generated case: the market pages and the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct SimMarketCase {
    /// Every page, markets in order, each market's pages in a stable order.
    pub files: Vec<SimFile>,
    /// Who runs what, and what each page should yield.
    pub truth: Truth,
}

/// Ground truth of a simulation. Serialized as `truth.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// The seed the case was generated from.
    pub seed: u64,
    /// The markets.
    pub markets: Vec<TruthMarket>,
    /// Operators and their accounts.
    pub operators: Vec<TruthOperator>,
    /// Every vendor account, by market then name.
    pub accounts: Vec<TruthAccount>,
    /// What extraction should recover from each page.
    pub pages: Vec<TruthPage>,
}

/// A simulated market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthMarket {
    /// Market name records carry (`placebo`).
    pub market: String,
    /// Display name (`Placebo Bazaar`).
    pub display_name: String,
    /// `table` or `cards`.
    pub layout: String,
    /// Built-in profile file that reads it (`sim-placebo.toml`).
    pub profile: String,
}

/// One operator: the person behind one or more accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthOperator {
    /// Operator number, from 1.
    pub operator: u32,
    /// Their accounts, as `market/vendor_name`.
    pub accounts: Vec<String>,
}

/// Noise applied to an account, so a missed or false link can be explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Noise {
    /// Registered under a changed name (case, leetspeak or a suffix).
    Renamed,
    /// The name was taken on the market, so digits were appended.
    NameTaken,
    /// Shows a PGP key different from the operator's first account.
    NewKey,
    /// Shows a BTC address not used on the operator's first account.
    NewBtcAddress,
    /// The profile description was written anew.
    RewrittenDescription,
    /// A contact shown on the first account is missing.
    DroppedContact,
    /// The name imitates another operator's name (a different person).
    LookalikeName,
    /// Product photos taken anew: none of the operator's first account's
    /// pictures is shown.
    NewPhotos,
    /// One listing shows a picture copied from another operator's listing.
    CopiedPhoto,
}

/// One vendor account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthAccount {
    /// `market/vendor_name`, the key linking results are scored by.
    pub account: String,
    /// Market name.
    pub market: String,
    /// Vendor name as shown.
    pub vendor_name: String,
    /// The operator running it.
    pub operator: u32,
    /// Fingerprint of the key on the profile (uppercase 40 hex).
    pub pgp_fingerprint: String,
    /// BTC addresses on the profile.
    pub btc_addresses: Vec<String>,
    /// Contacts on the profile, `kind:value`.
    pub contacts: Vec<String>,
    /// Number of listings.
    pub listings: usize,
    /// Number of feedback entries.
    pub feedback: usize,
    /// Sales count shown on the profile.
    pub sales: u64,
    /// Noise applied to this account.
    pub noise: Vec<Noise>,
}

/// The records extraction should recover from one page (provenance unset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthPage {
    /// Path as in [`SimFile::rel_path`].
    pub rel_path: String,
    /// Market the page belongs to.
    pub market: String,
    /// Page type.
    pub page_type: PageType,
    /// Listings on the page.
    pub listings: Vec<Listing>,
    /// Vendors on the page.
    pub vendors: Vec<Vendor>,
    /// Feedback on the page, in page order.
    pub feedback: Vec<Feedback>,
    /// Category index entries.
    pub categories: Vec<CategoryEntry>,
    /// BTC addresses shown.
    pub btc_addresses: Vec<String>,
    /// Fingerprints of PGP keys shown.
    pub pgp_fingerprints: Vec<String>,
}

impl Truth {
    /// The operator of `account` (`market/vendor_name`).
    pub fn operator_of(&self, account: &str) -> Option<u32> {
        self.accounts
            .iter()
            .find(|a| a.account == account)
            .map(|a| a.operator)
    }

    /// Every pair of accounts run by the same operator, each pair sorted and
    /// the list sorted: the positives a linking method should find.
    pub fn same_operator_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for op in &self.operators {
            for (i, a) in op.accounts.iter().enumerate() {
                for b in op.accounts.iter().skip(i + 1) {
                    let (x, y) = if a <= b { (a, b) } else { (b, a) };
                    pairs.push((x.clone(), y.clone()));
                }
            }
        }
        pairs.sort();
        pairs
    }

    /// `truth.json` bytes: pretty JSON, stable field and list order.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain structs, strings and numbers cannot fail.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// Generates the markets. Pure and deterministic: the same config gives
/// byte-identical files and truth.
///
/// # Panics
/// Only if rpgp fails to build an Ed25519 key from fixed, valid parameters,
/// which would be a bug in rpgp; nothing here depends on outside input.
pub fn generate_markets(cfg: &MarketSimConfig) -> SimMarketCase {
    match try_generate(cfg) {
        Ok(case) => case,
        Err(e) => panic!("sim: {e}"),
    }
}

fn try_generate(cfg: &MarketSimConfig) -> Result<SimMarketCase, crypto::KeyGenError> {
    let mut world = world::build(cfg)?;
    world::assign_photos(&mut world, cfg.seed);
    world::evolve(&mut world, cfg.seed, cfg.revision);
    let mut files = Vec::new();
    let mut pages = Vec::new();
    for m in 0..world.markets.len() {
        for page in render::market_pages(&world, m) {
            files.push(SimFile {
                rel_path: page.truth.rel_path.clone(),
                bytes: page.html.into_bytes(),
            });
            pages.push(page.truth);
        }
    }
    let account_id = |a: &world::Account| {
        format!(
            "{}/{}",
            world.markets.get(a.market).map_or("", |m| m.id),
            a.name
        )
    };
    // Accounts off the market in this revision have no pages: not in truth.
    let mut accounts: Vec<TruthAccount> = world
        .accounts
        .iter()
        .filter(|a| !a.hidden)
        .map(|a| TruthAccount {
            account: account_id(a),
            market: world.markets.get(a.market).map_or("", |m| m.id).to_owned(),
            vendor_name: a.name.clone(),
            operator: a.operator,
            pgp_fingerprint: world
                .keys
                .get(a.key)
                .map(|k| k.fingerprint.clone())
                .unwrap_or_default(),
            btc_addresses: a.btc.clone(),
            contacts: a.contacts.clone(),
            listings: a.listings.len(),
            feedback: a.feedback_count(),
            sales: a.sales(),
            noise: {
                let mut n = a.noise.clone();
                n.sort();
                n.dedup();
                n
            },
        })
        .collect();
    let market_rank: BTreeMap<&str, usize> = world
        .markets
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    accounts.sort_by(|a, b| {
        (market_rank.get(a.market.as_str()), &a.vendor_name)
            .cmp(&(market_rank.get(b.market.as_str()), &b.vendor_name))
    });
    let operators = world
        .operators
        .iter()
        .map(|o| TruthOperator {
            operator: o.id,
            accounts: o
                .accounts
                .iter()
                .filter_map(|&i| world.accounts.get(i))
                .filter(|a| !a.hidden)
                .map(account_id)
                .collect(),
        })
        .collect();
    let markets = world
        .markets
        .iter()
        .map(|m| TruthMarket {
            market: m.id.to_owned(),
            display_name: m.display.to_owned(),
            layout: m.layout.as_str().to_owned(),
            profile: format!("sim-{}.toml", m.id),
        })
        .collect();
    Ok(SimMarketCase {
        files,
        truth: Truth {
            seed: cfg.seed,
            markets,
            operators,
            accounts,
            pages,
        },
    })
}

impl SimMarketCase {
    /// Writes every file under `dir` (pages under `dir/pages/<market>/…`)
    /// and the truth as `dir/truth.json`, creating directories as needed.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        // io::Error does not carry the path; add it so a failure says where.
        let at = |path: &Path| {
            let path = path.display().to_string();
            move |e: std::io::Error| std::io::Error::new(e.kind(), format!("writing {path}: {e}"))
        };
        for f in &self.files {
            let path = f
                .rel_path
                .split('/')
                .fold(dir.to_path_buf(), |p, part| p.join(part));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(at(parent))?;
            }
            std::fs::write(&path, &f.bytes).map_err(at(&path))?;
        }
        std::fs::create_dir_all(dir).map_err(at(dir))?;
        let truth = dir.join("truth.json");
        std::fs::write(&truth, self.truth.to_json()).map_err(at(&truth))
    }
}
