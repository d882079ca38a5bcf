//! Vocabulary the simulation draws from: fictional markets, vendor name parts,
//! the product catalogue, countries, shipping options and feedback phrases.
//! All invented for test fixtures; none of it is copied from a real market.

/// The two page layouts the simulation renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Old-style tables with label cells (`<td class="label">Ships from</td>`).
    Table,
    /// Div/card layout with `data-*` attributes and definition-list facts.
    Cards,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Table => "table",
            Layout::Cards => "cards",
        }
    }
}

/// A fictional market: its id (the `market` of records and profile), its
/// display name, layout, and the BTC rate its pages convert prices at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MarketDef {
    pub id: &'static str,
    pub display: &'static str,
    pub layout: Layout,
    /// USD per BTC the market quotes; fixed so pages are reproducible.
    pub usd_per_btc: u64,
}

/// Markets in the order `MarketSimConfig::markets` takes them. Each has a
/// profile `crates/extract/profiles/sim-<id>.toml`; layouts alternate.
pub(crate) const MARKETS: [MarketDef; 4] = [
    MarketDef {
        id: "placebo",
        display: "Placebo Bazaar",
        layout: Layout::Table,
        usd_per_btc: 38_450,
    },
    MarketDef {
        id: "mockingbird",
        display: "Mockingbird Market",
        layout: Layout::Cards,
        usd_per_btc: 38_450,
    },
    MarketDef {
        id: "strawman",
        display: "Strawman Exchange",
        layout: Layout::Table,
        usd_per_btc: 41_200,
    },
    MarketDef {
        id: "decoy",
        display: "Decoy Depot",
        layout: Layout::Cards,
        usd_per_btc: 41_200,
    },
];

pub(crate) const NAME_FIRST: &[&str] = &[
    "Velvet", "Silent", "Frosty", "Golden", "Lucky", "Crimson", "Royal", "Hidden", "Rapid",
    "Cosmic", "Dutch", "Alpine", "Green", "Happy", "Midnight", "Polar", "Stealth", "Urban", "Wild",
    "Zen", "Electric", "Lunar", "Misty", "Noble",
];

pub(crate) const NAME_SECOND: &[&str] = &[
    "Fox", "Owl", "Pharma", "Labs", "Garden", "Express", "Candy", "Dragon", "Tiger", "Panda",
    "Wizard", "Monk", "Bear", "Falcon", "Farmer", "Chemist", "Rabbit", "Shop", "Depot", "Crew",
];

/// Suffixes an operator adds when re-registering a name on another market.
pub(crate) const RENAME_SUFFIXES: &[&str] = &["_official", "Official", "UK", "_EU", "_x", "2"];

/// Sub-category: name, product names, unit, unit price range in cents.
pub(crate) struct SubCat {
    pub name: &'static str,
    pub products: &'static [&'static str],
    pub unit: &'static str,
    pub quantities: &'static [u32],
    pub unit_cents: (u64, u64),
}

pub(crate) struct TopCat {
    pub name: &'static str,
    pub slug: &'static str,
    pub subs: &'static [SubCat],
}

pub(crate) const CATALOGUE: &[TopCat] = &[
    TopCat {
        name: "Cannabis",
        slug: "cannabis",
        subs: &[
            SubCat {
                name: "Flower",
                products: &[
                    "Amnesia Haze",
                    "OG Kush",
                    "Lemon Haze",
                    "White Widow",
                    "Blue Dream",
                ],
                unit: "g",
                quantities: &[5, 10, 28, 56],
                unit_cents: (600, 1100),
            },
            SubCat {
                name: "Hash",
                products: &["Moroccan Hash", "Afghan Black", "Charas"],
                unit: "g",
                quantities: &[5, 10, 25],
                unit_cents: (700, 1200),
            },
            SubCat {
                name: "Edibles",
                products: &["THC Gummies", "Space Brownies"],
                unit: "x",
                quantities: &[5, 10, 20],
                unit_cents: (300, 600),
            },
        ],
    },
    TopCat {
        name: "Stimulants",
        slug: "stimulants",
        subs: &[
            SubCat {
                name: "Cocaine",
                products: &["Peruvian Flake", "Colombian Rock", "Bolivian Pure"],
                unit: "g",
                quantities: &[1, 2, 5, 10],
                unit_cents: (6000, 9500),
            },
            SubCat {
                name: "Speed",
                products: &["Amphetamine Paste", "Speed Powder"],
                unit: "g",
                quantities: &[5, 10, 50],
                unit_cents: (400, 900),
            },
            SubCat {
                name: "Meth",
                products: &["Crystal Shards", "Ice"],
                unit: "g",
                quantities: &[1, 3, 7],
                unit_cents: (3000, 6000),
            },
        ],
    },
    TopCat {
        name: "Psychedelics",
        slug: "psychedelics",
        subs: &[
            SubCat {
                name: "LSD",
                products: &["LSD Blotters 150ug", "Needlepoint Tabs 100ug"],
                unit: "x",
                quantities: &[5, 10, 25, 100],
                unit_cents: (400, 900),
            },
            SubCat {
                name: "Mushrooms",
                products: &["Golden Teacher", "Cambodian Cubensis"],
                unit: "g",
                quantities: &[7, 14, 28],
                unit_cents: (500, 900),
            },
        ],
    },
    TopCat {
        name: "Ecstasy",
        slug: "ecstasy",
        subs: &[
            SubCat {
                name: "Pills",
                products: &["Blue Punisher Pills", "Tesla Pills", "Red Bull Pills"],
                unit: "x",
                quantities: &[10, 25, 50, 100],
                unit_cents: (250, 600),
            },
            SubCat {
                name: "MDMA",
                products: &["MDMA Crystal", "Champagne MDMA"],
                unit: "g",
                quantities: &[1, 5, 10],
                unit_cents: (1800, 3500),
            },
        ],
    },
    TopCat {
        name: "Dissociatives",
        slug: "dissociatives",
        subs: &[SubCat {
            name: "Ketamine",
            products: &["Ketamine Needles", "Ketamine Shards"],
            unit: "g",
            quantities: &[1, 5, 10],
            unit_cents: (1800, 3200),
        }],
    },
    TopCat {
        name: "Benzos",
        slug: "benzos",
        subs: &[SubCat {
            name: "Pills",
            products: &["Alprazolam 2mg Bars", "Diazepam 10mg"],
            unit: "x",
            quantities: &[10, 30, 100],
            unit_cents: (90, 250),
        }],
    },
];

pub(crate) const TITLE_TAGS: &[&str] = &[
    "Top Shelf",
    "Premium",
    "Free Shipping",
    "Lab Tested",
    "Best Price",
    "Stealth Pack",
    "Wholesale",
];

pub(crate) const COUNTRIES: &[&str] = &[
    "United Kingdom",
    "Germany",
    "Netherlands",
    "United States",
    "Canada",
    "Australia",
    "Spain",
    "France",
    "Poland",
    "Belgium",
];

pub(crate) const DESTINATIONS: &[&[&str]] = &[
    &["Worldwide"],
    &["Europe"],
    &["Europe", "United Kingdom"],
    &["United States"],
    &["Worldwide", "except Australia"],
    &["Germany", "Austria", "Switzerland"],
];

/// Shipping options: name and price in cents.
pub(crate) const SHIPPING: &[(&str, u64)] = &[
    ("Standard Letter", 500),
    ("Tracked 24", 1200),
    ("Next Day", 2000),
    ("Registered Mail", 900),
    ("Express Courier", 3500),
];

pub(crate) const DESCRIPTION_OPENERS: &[&str] = &[
    "Welcome to our shop.",
    "Established vendor with years of experience.",
    "Small team, big standards.",
    "Quality first, always.",
];

pub(crate) const DESCRIPTION_BODIES: &[&str] = &[
    "We ship Monday to Friday and every order is vacuum sealed.",
    "Orders placed before noon leave the same day.",
    "Reships are offered once per customer if tracking shows a loss.",
    "Bulk discounts are available on request.",
    "Please finalize only after your order has arrived.",
    "We do not answer messages on weekends.",
];

pub(crate) const FEEDBACK_POSITIVE: &[&str] = &[
    "Fast delivery, well packed, will order again.",
    "Great quality, exactly as described.",
    "Arrived in three days, top stealth.",
    "Second order, consistent as always.",
    "Very good communication and quick shipping.",
    "Weight was spot on, thanks.",
];

pub(crate) const FEEDBACK_NEUTRAL: &[&str] = &[
    "Took almost two weeks but arrived.",
    "Quality is okay, not the best.",
    "Average product, slow replies.",
];

pub(crate) const FEEDBACK_NEGATIVE: &[&str] = &[
    "Never arrived and no reply from vendor.",
    "Weight was short, disappointed.",
    "Package was seized, vendor refused a reship.",
];

pub(crate) const BUYER_LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Level names of the card layout, lowest first.
pub(crate) const CARD_LEVELS: &[&str] = &["New Seller", "Seller", "Trusted Seller", "Top Seller"];
