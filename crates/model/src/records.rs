//! Records extracted from evidence, each with its [`Provenance`].

use serde::{Deserialize, Serialize};

use crate::Sha256;

/// Where a record came from: the evidence record's digest, and the profile and
/// rule that produced it. Every extracted row carries one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// SHA-256 of the evidence record's payload (the captured page bytes).
    pub evidence: Sha256,
    /// Profile that matched the page (`"generic"` for the identifier extractors).
    pub profile: String,
    /// The rule inside the profile, e.g. `listing/title` or `identifier/pgp`.
    pub rule: String,
}

/// What kind of page a capture is. Decided by profile rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageType {
    /// A single listing (product) page.
    Listing,
    /// A vendor (seller/user) profile page.
    Vendor,
    /// A page of feedback entries.
    Feedback,
    /// A search-result or listing-grid page.
    Search,
    /// A category index page.
    Category,
    /// The market's front page.
    Main,
    /// A login form: the crawl session is logged out.
    Login,
    /// A captcha challenge.
    Captcha,
    /// An anti-DDoS filter page.
    Ddos,
    /// The account or address is banned or suspended.
    Banned,
    /// The market is down for maintenance.
    Maintenance,
    /// An error page (404, 5xx, item not found).
    Error,
    /// A page that only redirects by `<meta http-equiv=refresh>`.
    MetaRefresh,
    /// A page showing a PGP key.
    Pgp,
    /// A mirror list (link directory).
    Mirrors,
    /// A forum thread.
    Forum,
    /// A structured dataset file (CSV/JSON export of listings), not a page.
    Dataset,
    /// Nothing claimed the page.
    Unknown,
}

impl PageType {
    /// Every page type, in a stable order.
    pub const ALL: [PageType; 18] = [
        PageType::Listing,
        PageType::Vendor,
        PageType::Feedback,
        PageType::Search,
        PageType::Category,
        PageType::Main,
        PageType::Login,
        PageType::Captcha,
        PageType::Ddos,
        PageType::Banned,
        PageType::Maintenance,
        PageType::Error,
        PageType::MetaRefresh,
        PageType::Pgp,
        PageType::Mirrors,
        PageType::Forum,
        PageType::Dataset,
        PageType::Unknown,
    ];

    /// The snake_case name used in profiles, the store and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PageType::Listing => "listing",
            PageType::Vendor => "vendor",
            PageType::Feedback => "feedback",
            PageType::Search => "search",
            PageType::Category => "category",
            PageType::Main => "main",
            PageType::Login => "login",
            PageType::Captcha => "captcha",
            PageType::Ddos => "ddos",
            PageType::Banned => "banned",
            PageType::Maintenance => "maintenance",
            PageType::Error => "error",
            PageType::MetaRefresh => "meta_refresh",
            PageType::Pgp => "pgp",
            PageType::Mirrors => "mirrors",
            PageType::Forum => "forum",
            PageType::Dataset => "dataset",
            PageType::Unknown => "unknown",
        }
    }

    /// Parses [`PageType::as_str`] output.
    pub fn parse(s: &str) -> Option<PageType> {
        PageType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// An amount of money exactly as the page shows it, plus conversions the page
/// itself states. The amount is kept as decimal text so nothing is lost to
/// floating point; `value()` parses it for arithmetic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Money {
    /// Decimal amount as shown, without thousands separators, e.g. `"0.0123"`.
    pub amount: String,
    /// Currency code as shown, upper case (`USD`, `BTC`, `EUR`, `AUD`, `XMR`...).
    pub currency: String,
}

impl Money {
    /// The amount as a float, for sorting and sums.
    pub fn value(&self) -> Option<f64> {
        self.amount.parse().ok()
    }
}

/// The most units one listing's "N sold" counter can plausibly show: a
/// larger one is a typing or scraping error, left out where it is read (with
/// a warning naming its line). (A counter of 18446744073709551615 was kept,
/// then dropped in silence by the store, and the vendor's sales with it.)
pub const MOST_SOLD: u64 = 1_000_000_000;

/// A product listing seen on a page (its own page, or a row of a grid).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Listing {
    /// Market name (the profile's market).
    pub market: String,
    /// The market's own id for the listing, when the page shows one.
    pub market_listing_id: Option<String>,
    /// Listing title.
    pub title: String,
    /// Vendor name as shown.
    pub vendor: Option<String>,
    /// Category path, outermost first.
    pub category: Vec<String>,
    /// The price in the currency the page shows first.
    pub price: Option<Money>,
    /// USD price where the page shows one.
    pub price_usd: Option<String>,
    /// BTC price where the page shows one.
    pub price_btc: Option<String>,
    /// Ships from (country or region as shown).
    pub ships_from: Option<String>,
    /// Ships to (as shown, one entry per destination).
    pub ships_to: Vec<String>,
    /// Shipping options as shown.
    pub shipping_methods: Vec<String>,
    /// Quantity in stock, where shown.
    pub stock: Option<String>,
    /// Units sold, where shown ("N sold"); at most [`MOST_SOLD`].
    pub sold: Option<u64>,
    /// The date the `sold` counter counts from ("34 sold since Dec 17, 2015"),
    /// ISO `YYYY-MM-DD` when the shown date parses, else as shown.
    pub sold_since: Option<String>,
    /// The listing's rating, as shown.
    pub rating: Option<String>,
    /// Link to the listing page, as written on the page.
    pub url: Option<String>,
    /// When this observation was made: RFC 3339, or an ISO date when only the
    /// day is known (a dataset's crawl date). `None`: the page's capture time.
    pub observed_at: Option<String>,
    /// Perceptual hashes (64-bit dHash, 16 hex digits) of the product photos
    /// the page embeds for this listing; the photos stay in the page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<String>,
    /// Where this row came from.
    pub provenance: Option<Provenance>,
}

/// A rating a vendor imports from, or claims on, another market.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExternalRating {
    /// The other market, as named on the page.
    pub market: String,
    /// Sales or transactions claimed there.
    pub sales: Option<u64>,
    /// Rating claimed there, as shown (e.g. `4.95/5`, `98%`).
    pub rating: Option<String>,
    /// Account name there, when shown.
    pub account: Option<String>,
}

/// A vendor profile as seen on one page.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Vendor {
    /// Market name.
    pub market: String,
    /// Vendor name as shown.
    pub name: String,
    /// Registration ("member since") as shown.
    pub registered: Option<String>,
    /// Last seen / last online as shown.
    pub last_seen: Option<String>,
    /// Sales or order count.
    pub sales: Option<u64>,
    /// Positive feedback count.
    pub feedback_positive: Option<u64>,
    /// Neutral feedback count.
    pub feedback_neutral: Option<u64>,
    /// Negative feedback count.
    pub feedback_negative: Option<u64>,
    /// Positive percentage as shown (e.g. `"99.5"`).
    pub positive_percent: Option<String>,
    /// Overall rating as shown (e.g. `"4.96"`).
    pub rating: Option<String>,
    /// Vendor level as shown.
    pub level: Option<String>,
    /// Trust level as shown.
    pub trust: Option<String>,
    /// Uppercase 40-hex v4 fingerprint of the PGP key on the profile.
    pub pgp_fingerprint: Option<String>,
    /// Contacts (Jabber, e-mail, ...) found on the profile, as `kind:value`.
    pub contacts: Vec<String>,
    /// Ratings the vendor imported from other markets.
    pub external_ratings: Vec<ExternalRating>,
    /// When this observation was made (see [`Listing::observed_at`]).
    pub observed_at: Option<String>,
    /// Where this row came from.
    pub provenance: Option<Provenance>,
}

/// One feedback entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Feedback {
    /// Market name.
    pub market: String,
    /// Vendor the feedback is about, when known.
    pub vendor: Option<String>,
    /// Listing title the feedback is about, when shown.
    pub listing: Option<String>,
    /// Date or age as shown (`2020-02-17`, `3 days ago`).
    pub date: Option<String>,
    /// Rating as shown (`5/5`, `positive`, ...).
    pub rating: Option<String>,
    /// Feedback text.
    pub text: Option<String>,
    /// Buyer (usually masked) as shown.
    pub buyer: Option<String>,
    /// Price paid, where shown.
    pub price: Option<Money>,
    /// When the feedback was seen (see [`Listing::observed_at`]); relative
    /// dates ("3 days ago") count back from it.
    pub observed_at: Option<String>,
    /// Where this row came from.
    pub provenance: Option<Provenance>,
}

/// A [`Feedback`]'s fields borrowed: how millions of stored rows are read in
/// place (the store decodes them from its chunks, the sales estimator reads
/// them) without an owned string per field.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FeedbackRef<'a> {
    /// Market name.
    pub market: &'a str,
    /// Vendor, when known.
    pub vendor: Option<&'a str>,
    /// Listing title, when shown.
    pub listing: Option<&'a str>,
    /// Date or age as shown.
    pub date: Option<&'a str>,
    /// Rating as shown.
    pub rating: Option<&'a str>,
    /// Feedback text.
    pub text: Option<&'a str>,
    /// Buyer as shown.
    pub buyer: Option<&'a str>,
    /// Price paid, where shown: amount and currency.
    pub price: Option<(&'a str, &'a str)>,
    /// When the feedback was seen.
    pub observed_at: Option<&'a str>,
    /// Evidence digest, profile and rule.
    pub provenance: Option<(Sha256, &'a str, &'a str)>,
}

impl Feedback {
    /// The record's fields borrowed.
    pub fn borrowed(&self) -> FeedbackRef<'_> {
        FeedbackRef {
            market: &self.market,
            vendor: self.vendor.as_deref(),
            listing: self.listing.as_deref(),
            date: self.date.as_deref(),
            rating: self.rating.as_deref(),
            text: self.text.as_deref(),
            buyer: self.buyer.as_deref(),
            price: self.price.as_ref().map(|m| (m.amount.as_str(), m.currency.as_str())),
            observed_at: self.observed_at.as_deref(),
            provenance: self.provenance.as_ref().map(|p| (p.evidence, p.profile.as_str(), p.rule.as_str())),
        }
    }
}

impl FeedbackRef<'_> {
    /// The record, owned.
    pub fn to_owned_record(&self) -> Feedback {
        let text = |s: Option<&str>| s.map(str::to_owned);
        Feedback {
            market: self.market.to_owned(),
            vendor: text(self.vendor),
            listing: text(self.listing),
            date: text(self.date),
            rating: text(self.rating),
            text: text(self.text),
            buyer: text(self.buyer),
            price: self.price.map(|(amount, currency)| Money { amount: amount.to_owned(), currency: currency.to_owned() }),
            observed_at: text(self.observed_at),
            provenance: self.provenance.map(|(evidence, profile, rule)| Provenance { evidence, profile: profile.to_owned(), rule: rule.to_owned() }),
        }
    }
}

/// One entry of a category index page.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CategoryEntry {
    /// Market name.
    pub market: String,
    /// Category name as shown.
    pub name: String,
    /// Number of listings shown beside it.
    pub count: Option<u64>,
    /// Link target as written.
    pub link: Option<String>,
    /// Where this row came from.
    pub provenance: Option<Provenance>,
}

/// Kinds of identifiers the generic extractors find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// A PGP public key; value is the uppercase 40-hex v4 fingerprint.
    Pgp,
    /// A Bitcoin address (checksum-validated).
    Btc,
    /// A Monero address (checksum-validated).
    Xmr,
    /// A v3 onion address (checksum-validated), without scheme.
    Onion,
    /// An e-mail address.
    Email,
    /// A Jabber/XMPP id.
    Jabber,
    /// A Telegram handle (only where labelled).
    Telegram,
    /// A Wickr handle (only where labelled).
    Wickr,
    /// A Session id (only where labelled).
    Session,
}

impl IdentifierKind {
    /// Every kind, in a stable order.
    pub const ALL: [IdentifierKind; 9] = [
        IdentifierKind::Pgp,
        IdentifierKind::Btc,
        IdentifierKind::Xmr,
        IdentifierKind::Onion,
        IdentifierKind::Email,
        IdentifierKind::Jabber,
        IdentifierKind::Telegram,
        IdentifierKind::Wickr,
        IdentifierKind::Session,
    ];

    /// The name used in JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::Pgp => "pgp",
            IdentifierKind::Btc => "btc",
            IdentifierKind::Xmr => "xmr",
            IdentifierKind::Onion => "onion",
            IdentifierKind::Email => "email",
            IdentifierKind::Jabber => "jabber",
            IdentifierKind::Telegram => "telegram",
            IdentifierKind::Wickr => "wickr",
            IdentifierKind::Session => "session",
        }
    }

    /// Parses [`IdentifierKind::as_str`] output.
    pub fn parse(s: &str) -> Option<IdentifierKind> {
        IdentifierKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Reads a kind as a user writes it (`--kind PGP`, `?kind=Btc`): any
    /// case, surrounding spaces ignored.
    pub fn from_name(s: &str) -> Option<IdentifierKind> {
        let s = s.trim();
        IdentifierKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// Facts about a PGP key beyond its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PgpKeyInfo {
    /// Uppercase 16-hex key id (low 64 bits of the v4 fingerprint).
    pub key_id: String,
    /// Creation time of the primary key, RFC 3339 UTC.
    pub created: String,
    /// Public-key algorithm name.
    pub algorithm: String,
    /// User ids as written in the key.
    pub user_ids: Vec<String>,
    /// Uppercase fingerprints of the subkeys.
    pub subkeys: Vec<String>,
}

/// An identifier found on a page, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identifier {
    /// What it is.
    pub kind: IdentifierKind,
    /// Canonical value: uppercase fingerprint for PGP, the address as written
    /// for coins, lowercase for onion/email/jabber.
    pub value: String,
    /// Network for coin addresses (`mainnet`, `testnet`, `regtest`, `stagenet`),
    /// address type (`p2pkh`, `p2wpkh`, `integrated`, ...) and similar detail.
    pub detail: Option<String>,
    /// Key facts, for PGP identifiers.
    pub pgp: Option<PgpKeyInfo>,
    /// Where this row came from.
    pub provenance: Option<Provenance>,
}
