//! The input of linking: one [`Account`] per (market, vendor name), holding
//! every fact signals compare, each fact with the row ids it came from.
//! [`accounts_from_records`] builds them from store rows.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use model::{IdentifierKind, Records, Row};

use crate::normalize;

/// A value with the rows that show it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fact {
    /// The value (normalized where the field says so).
    pub value: String,
    /// Row ids that show it, sorted, deduplicated.
    pub sources: Vec<String>,
}

/// A PGP key an account shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PgpFact {
    /// Uppercase hex fingerprint (40 hex for v4, 64 for v5/v6), validated.
    pub fingerprint: String,
    /// Uppercase subkey fingerprints, validated.
    pub subkeys: Vec<String>,
    /// User ids as written in the key.
    pub user_ids: Vec<String>,
    /// Row ids that show the key.
    pub sources: Vec<String>,
}

/// A contact handle (`jabber`, `email`, `wickr`, ...), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    /// Kind (`jabber`, `email`, `wickr`, `telegram`, `session`, or `contact`
    /// when the record gave none).
    pub kind: String,
    /// Handle, trimmed and lower-cased.
    pub value: String,
    /// Row ids that show it.
    pub sources: Vec<String>,
}

/// An account the vendor claims on another market (imported ratings, e.g.
/// Cryptonia's "verified on other markets" block).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExternalClaim {
    /// The other market, as shown.
    pub market: String,
    /// The account name there, when shown.
    pub account: Option<String>,
    /// Sales claimed there.
    pub sales: Option<u64>,
    /// Rating claimed there, as shown.
    pub rating: Option<String>,
    /// Row ids that show the claim.
    pub sources: Vec<String>,
}

/// One vendor account: everything seen for one name on one market.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Account {
    /// `market/vendor_name`: the key links and ground truth use.
    pub id: String,
    /// Market name.
    pub market: String,
    /// Vendor name as shown.
    pub name: String,
    /// PGP keys shown (normally one).
    pub pgp: Vec<PgpFact>,
    /// BTC addresses shown on the account's own pages.
    pub btc: Vec<Fact>,
    /// Contact handles.
    pub contacts: Vec<Contact>,
    /// Accounts claimed on other markets.
    pub claimed: Vec<ExternalClaim>,
    /// Texts the vendor wrote: listing titles (and descriptions or profile
    /// text where the integrator has them). Deduplicated by text.
    pub texts: Vec<Fact>,
    /// Countries or regions shipped from, lower-cased.
    pub ships_from: Vec<Fact>,
    /// Destinations, lower-cased.
    pub ships_to: Vec<Fact>,
    /// Category paths (`cannabis > flower`), lower-cased, one fact per path;
    /// `sources` has one row per listing, so its length is the count.
    pub categories: Vec<Fact>,
    /// Perceptual hashes (dHash, 16 lower-case hex digits) of the product
    /// photos on the account's listings, one fact per distinct hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<Fact>,
    /// First day the account was seen (registration, observations, feedback).
    pub first_seen: Option<NaiveDate>,
    /// Last day the account was seen.
    pub last_seen: Option<NaiveDate>,
    /// Every row that contributed to the account.
    pub sources: Vec<String>,
}

fn add_fact(facts: &mut Vec<Fact>, value: &str, source: &str, push: Push) {
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    match facts.iter_mut().find(|f| f.value == value) {
        Some(f) => push_source(&mut f.sources, source, push),
        None => facts.push(Fact {
            value: value.to_owned(),
            sources: vec![source.to_owned()],
        }),
    }
}

/// How a row id joins a list of sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Push {
    /// In order, once: the list stays sorted and deduplicated (the public
    /// `add_*` methods).
    Sorted,
    /// At the end (unless it is the last one already), sorted and
    /// deduplicated once by [`Account::settle`]: [`accounts_from_records`]
    /// adds a million listings, and an account of thousands of listings
    /// sorted each into a list of thousands (the larger part of `dragnet
    /// links` on the 10M bench case).
    Append,
}

fn push_source(sources: &mut Vec<String>, source: &str, push: Push) {
    match push {
        Push::Sorted => {
            if let Err(at) = sources.binary_search_by(|s| s.as_str().cmp(source)) {
                sources.insert(at, source.to_owned());
            }
        }
        Push::Append => {
            if sources.last().is_none_or(|s| s != source) {
                sources.push(source.to_owned());
            }
        }
    }
}

fn settle(sources: &mut Vec<String>) {
    sources.sort_unstable();
    sources.dedup();
}

impl Account {
    /// An empty account `market/name`.
    pub fn new(market: &str, name: &str) -> Account {
        Account {
            id: account_id(market, name),
            market: market.to_owned(),
            name: name.to_owned(),
            ..Account::default()
        }
    }

    /// Records that `source` contributed to the account.
    pub fn add_source(&mut self, source: &str) {
        self.add_source_with(source, Push::Sorted);
    }

    fn add_source_with(&mut self, source: &str, push: Push) {
        push_source(&mut self.sources, source, push);
    }

    /// Sorts and deduplicates every list of sources (after [`Push::Append`]).
    fn settle(&mut self) {
        settle(&mut self.sources);
        self.pgp.iter_mut().for_each(|k| settle(&mut k.sources));
        self.contacts.iter_mut().for_each(|c| settle(&mut c.sources));
        self.claimed.iter_mut().for_each(|c| settle(&mut c.sources));
        for facts in [&mut self.btc, &mut self.texts, &mut self.ships_from, &mut self.ships_to, &mut self.categories, &mut self.photos] {
            facts.iter_mut().for_each(|f| settle(&mut f.sources));
        }
    }

    /// Adds a PGP key. A fingerprint that is not 40 or 64 hex digits (after
    /// removing spaces) is ignored and `false` returned: a malformed key is
    /// never evidence. Invalid subkeys are dropped.
    pub fn add_pgp(&mut self, fingerprint: &str, subkeys: &[String], user_ids: &[String], source: &str) -> bool {
        self.add_pgp_with(fingerprint, subkeys, user_ids, source, Push::Sorted)
    }

    fn add_pgp_with(&mut self, fingerprint: &str, subkeys: &[String], user_ids: &[String], source: &str, push: Push) -> bool {
        let Some(fp) = normalize::fingerprint(fingerprint) else {
            return false;
        };
        self.add_source_with(source, push);
        let idx = match self.pgp.iter().position(|k| k.fingerprint == fp) {
            Some(i) => i,
            None => {
                self.pgp.push(PgpFact {
                    fingerprint: fp,
                    ..PgpFact::default()
                });
                self.pgp.len() - 1
            }
        };
        let key = &mut self.pgp[idx];
        for s in subkeys.iter().filter_map(|s| normalize::fingerprint(s)) {
            if !key.subkeys.contains(&s) {
                key.subkeys.push(s);
            }
        }
        for u in user_ids.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
            if !key.user_ids.iter().any(|x| x == u) {
                key.user_ids.push(u.to_owned());
            }
        }
        push_source(&mut key.sources, source, push);
        true
    }

    /// Adds a BTC address (trimmed; empty ignored).
    pub fn add_btc(&mut self, address: &str, source: &str) {
        self.add_btc_with(address, source, Push::Sorted);
    }

    fn add_btc_with(&mut self, address: &str, source: &str, push: Push) {
        if !address.trim().is_empty() {
            self.add_source_with(source, push);
            add_fact(&mut self.btc, address, source, push);
        }
    }

    /// Adds a contact as `kind:value` (or a bare value, kind `contact`).
    /// Returns `false` (and adds nothing) when the value is empty.
    pub fn add_contact(&mut self, contact: &str, source: &str) -> bool {
        self.add_contact_with(contact, source, Push::Sorted)
    }

    fn add_contact_with(&mut self, contact: &str, source: &str, push: Push) -> bool {
        let Some((kind, value)) = normalize::contact(contact) else {
            return false;
        };
        self.add_source_with(source, push);
        match self.contacts.iter_mut().find(|c| c.kind == kind && c.value == value) {
            Some(c) => push_source(&mut c.sources, source, push),
            None => self.contacts.push(Contact {
                kind,
                value,
                sources: vec![source.to_owned()],
            }),
        }
        true
    }

    /// Adds a claim of an account on another market.
    pub fn add_claim(&mut self, market: &str, account: Option<&str>, sales: Option<u64>, rating: Option<&str>, source: &str) {
        self.add_claim_with(market, account, sales, rating, source, Push::Sorted);
    }

    fn add_claim_with(&mut self, market: &str, account: Option<&str>, sales: Option<u64>, rating: Option<&str>, source: &str, push: Push) {
        if market.trim().is_empty() {
            return;
        }
        self.add_source_with(source, push);
        let account = account.map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned);
        match self
            .claimed
            .iter_mut()
            .find(|c| c.market == market.trim() && c.account == account)
        {
            Some(c) => push_source(&mut c.sources, source, push),
            None => self.claimed.push(ExternalClaim {
                market: market.trim().to_owned(),
                account,
                sales,
                rating: rating.map(str::to_owned),
                sources: vec![source.to_owned()],
            }),
        }
    }

    /// Adds a text the vendor wrote (listing title, description, profile).
    pub fn add_text(&mut self, text: &str, source: &str) {
        self.add_text_with(text, source, Push::Sorted);
    }

    fn add_text_with(&mut self, text: &str, source: &str, push: Push) {
        if !text.trim().is_empty() {
            self.add_source_with(source, push);
            add_fact(&mut self.texts, text, source, push);
        }
    }

    /// Adds one listing's shipping origin, destinations and category path.
    pub fn add_listing_facts(&mut self, ships_from: Option<&str>, ships_to: &[String], category: &[String], source: &str) {
        self.add_listing_facts_with(ships_from, ships_to, category, source, Push::Sorted);
    }

    fn add_listing_facts_with(&mut self, ships_from: Option<&str>, ships_to: &[String], category: &[String], source: &str, push: Push) {
        self.add_source_with(source, push);
        // Places normalized (`USA`, `United States` -> `US`); "worldwide" is
        // no origin, but is a destination.
        if let Some(f) = ships_from.and_then(normalize::place_key).filter(|f| f != "worldwide") {
            add_fact(&mut self.ships_from, &f, source, push);
        }
        for t in ships_to.iter().filter_map(|t| normalize::place_key(t)) {
            add_fact(&mut self.ships_to, &t, source, push);
        }
        let path: Vec<String> = category
            .iter()
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        if !path.is_empty() {
            add_fact(&mut self.categories, &path.join(" > "), source, push);
        }
    }

    /// Adds a product photo's perceptual hash (16 hex digits, as
    /// `Listing::photos` holds them). Returns `false` (and adds nothing) for
    /// anything else: a malformed hash is never evidence.
    pub fn add_photo(&mut self, hash: &str, source: &str) -> bool {
        self.add_photo_with(hash, source, Push::Sorted)
    }

    fn add_photo_with(&mut self, hash: &str, source: &str, push: Push) -> bool {
        let Some(h) = normalize::photo_hash(hash) else {
            return false;
        };
        self.add_source_with(source, push);
        add_fact(&mut self.photos, &format!("{h:016x}"), source, push);
        true
    }

    /// Widens `first_seen`/`last_seen` to include `day`.
    pub fn saw_on(&mut self, day: NaiveDate) {
        self.first_seen = Some(self.first_seen.map_or(day, |d| d.min(day)));
        self.last_seen = Some(self.last_seen.map_or(day, |d| d.max(day)));
    }
}

/// `market/name`, the account key.
pub fn account_id(market: &str, name: &str) -> String {
    format!("{market}/{name}")
}

/// Parses a shown or observed date to a day: RFC 3339, ISO `YYYY-MM-DD`
/// (with anything after it), `17 Feb 2020`, `Feb 17, 2020`, `17.02.2020`,
/// and a month alone, `YYYY-MM` (Dream 2017's crawl date), as its first day
/// ([`days_of`] gives its last too). Relative dates ("3 days ago") give
/// `None`.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc().date());
    }
    if let Some(d) = s.get(..10).and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok()) {
        return Some(d);
    }
    if let Some(d) = month_start(s) {
        return Some(d);
    }
    // Slashes day first, as sales reads them (Dream: `16/11/2018`), month
    // first only when the second number cannot be a month.
    ["%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

/// The first day of a month written `YYYY-MM` (and nothing else).
fn month_start(s: &str) -> Option<NaiveDate> {
    let (year, month) = s.split_once('-').filter(|(y, m)| y.len() == 4 && m.len() == 2)?;
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// The first and last day a date may stand for: [`parse_day`]'s day, or a
/// `YYYY-MM` month's first and last. (Dream's accounts were undated, so the
/// report showed no first/last seen and linking's timeline signal could not
/// compare them, found by a review.)
pub fn days_of(s: &str) -> Option<(NaiveDate, NaiveDate)> {
    let s = s.trim();
    match month_start(s) {
        Some(first) => Some((first, first.checked_add_months(chrono::Months::new(1))?.pred_opt()?)),
        None => parse_day(s).map(|d| (d, d)),
    }
}

/// Accounts by market and name (trimmed), as they are met; the account
/// asked for last is remembered, since a store's rows come an account at a
/// time (a map keyed by owned names allocated two strings per row: a
/// million listings and every dated feedback row at 10M).
#[derive(Default)]
struct AccountsBuilder {
    accounts: Vec<Account>,
    index: HashMap<String, HashMap<String, usize>>,
    last: Option<usize>,
}

impl AccountsBuilder {
    /// The account `market/name`, made when new; None for an empty name.
    fn entry(&mut self, market: &str, name: &str) -> Option<(usize, &mut Account)> {
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let last = self.last.filter(|&i| self.accounts.get(i).is_some_and(|a| a.market == market && a.name == name));
        let i = match last.or_else(|| self.index.get(market).and_then(|m| m.get(name)).copied()) {
            Some(i) => i,
            None => {
                self.accounts.push(Account::new(market, name));
                let i = self.accounts.len() - 1;
                self.index.entry(market.to_owned()).or_default().insert(name.to_owned(), i);
                i
            }
        };
        self.last = Some(i);
        Some((i, &mut self.accounts[i]))
    }

    /// The accounts in (market, name) order.
    fn finish(mut self) -> Vec<Account> {
        self.accounts.sort_unstable_by(|a, b| (&a.market, &a.name).cmp(&(&b.market, &b.name)));
        self.accounts
    }
}

/// Groups rows into accounts by (market, vendor name as shown), in
/// (market, name) order. Names are not case-folded: two names that differ in
/// case on one market are two accounts (the `name` signal reports the
/// ambiguity). Rows without a vendor name, malformed keys and empty values
/// are skipped; nothing here fails. Feedback gives only dates (buyers wrote
/// its text). An identifier is attached to an account when its page
/// (provenance evidence digest) shows vendor or listing rows of exactly that
/// one account, or, on a page of several accounts, to each of them whose
/// listing titles on that page show it (cited by the identifier and that
/// listing; [`identifier_holders`]); other identifiers on pages of several
/// vendors, or of none, are not attributed to anyone.
pub fn accounts_from_records(records: &Records) -> Vec<Account> {
    let mut accounts = accounts_with(records, Push::Append);
    accounts.iter_mut().for_each(Account::settle);
    accounts
}

/// [`accounts_from_records`], each row id added with `push`.
fn accounts_with(records: &Records, push: Push) -> Vec<Account> {
    let mut accounts = AccountsBuilder::default();
    for v in &records.vendors {
        let r = v.record;
        let Some((_, acc)) = accounts.entry(&r.market, &r.name) else { continue };
        acc.add_source_with(v.id, push);
        if let Some(fp) = &r.pgp_fingerprint {
            acc.add_pgp_with(fp, &[], &[], v.id, push);
        }
        for c in &r.contacts {
            acc.add_contact_with(c, v.id, push);
        }
        for e in &r.external_ratings {
            acc.add_claim_with(&e.market, e.account.as_deref(), e.sales, e.rating.as_deref(), v.id, push);
        }
        // A profile page's row has no date of its own: it was seen when captured.
        let seen = r.observed_at.as_deref().or(v.captured_at);
        for d in [r.registered.as_deref(), r.last_seen.as_deref(), seen].into_iter().flatten() {
            if let Some((first, last)) = days_of(d) {
                acc.saw_on(first);
                acc.saw_on(last);
            }
        }
    }
    for l in &records.listings {
        let r = l.record;
        let Some(vendor) = r.vendor.as_deref() else { continue };
        let Some((_, acc)) = accounts.entry(&r.market, vendor) else { continue };
        acc.add_text_with(&r.title, l.id, push);
        acc.add_listing_facts_with(r.ships_from.as_deref(), &r.ships_to, &r.category, l.id, push);
        for p in &r.photos {
            acc.add_photo_with(p, l.id, push);
        }
        if let Some((first, last)) = r.observed_at.as_deref().or(l.captured_at).and_then(days_of) {
            acc.saw_on(first);
            acc.saw_on(last);
        }
    }
    for f in &records.feedback {
        let r = f.record;
        let Some(vendor) = r.vendor.as_deref() else { continue };
        let Some((_, acc)) = accounts.entry(&r.market, vendor) else { continue };
        if let Some(day) = r.date.as_deref().and_then(parse_day) {
            acc.add_source_with(f.id, push);
            acc.saw_on(day);
        }
    }
    for (i, holders) in records.identifiers.iter().zip(identifier_holders(records)) {
        for h in holders {
            if let Some((_, acc)) = accounts.entry(h.market, h.vendor) {
                add_identifier(acc, i.record, i.id, h.listing, push);
            }
        }
    }
    accounts.finish()
}

/// An account holding an identifier ([`identifier_holders`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder<'r> {
    /// Market.
    pub market: &'r str,
    /// Vendor name as shown, trimmed.
    pub vendor: &'r str,
    /// The listing whose title shows the identifier, when the account holds
    /// it for that (on a page of several accounts).
    pub listing: Option<&'r str>,
}

/// The accounts holding each identifier of `records` (in their order): on a
/// page (evidence digest) of one account's vendor or listing rows, that
/// account; on a page of several (a dataset file, a search page), each whose
/// own listing titles there show it ([`TitlesOnPages`]); on a page of none,
/// nobody. Onions and Monero addresses are nobody's (a vendor page links the
/// market's own onions). [`accounts_from_records`] and the vendor dossier
/// both follow this, so they agree.
pub fn identifier_holders<'r>(records: &Records<'r>) -> Vec<Vec<Holder<'r>>> {
    let held = |i: &Row<'r, model::Identifier>| !matches!(i.record.kind, IdentifierKind::Onion | IdentifierKind::Xmr);
    let page_of = |i: &Row<'r, model::Identifier>| i.record.provenance.as_ref().map(|p| p.evidence);
    if !records.identifiers.iter().any(|i| held(i) && page_of(i).is_some()) {
        return vec![Vec::new(); records.identifiers.len()];
    }
    // The accounts (market, vendor trimmed) each page shows.
    let mut owners: HashMap<model::Sha256, BTreeSet<(&'r str, &'r str)>> = HashMap::new();
    let vendors = records.vendors.iter().filter_map(|v| Some((v.record.provenance.as_ref()?.evidence, v.record.market.as_str(), v.record.name.as_str())));
    let listings = records.listings.iter().filter_map(|l| Some((l.record.provenance.as_ref()?.evidence, l.record.market.as_str(), l.record.vendor.as_deref()?)));
    for (page, market, name) in vendors.chain(listings) {
        let name = name.trim();
        if !name.is_empty() {
            owners.entry(page).or_default().insert((market, name));
        }
    }
    let shared = |page: &model::Sha256| owners.get(page).is_some_and(|o| o.len() > 1);
    let titles = TitlesOnPages::of(
        records
            .identifiers
            .iter()
            .filter(|i| held(i))
            .filter_map(|i| page_of(i).filter(|p| shared(p)).map(|p| (p, i.record.kind, i.record.value.as_str()))),
        records.listings.iter().map(|l| (l.id, l.record)),
    );
    records
        .identifiers
        .iter()
        .map(|i| {
            let Some(on_page) = page_of(i).filter(|_| held(i)).and_then(|p| owners.get(&p).map(|o| (p, o))) else { return Vec::new() };
            match on_page {
                (_, o) if o.len() == 1 => o.iter().map(|&(market, vendor)| Holder { market, vendor, listing: None }).collect(),
                (page, _) => titles
                    .accounts_showing(&page, i.record.kind, &i.record.value)
                    .iter()
                    .map(|&(market, vendor, listing)| Holder { market, vendor, listing: Some(listing) })
                    .collect(),
            }
        })
        .collect()
}

/// Adds identifier `r` (row `id`) to `acc`, cited by `id` and, when the
/// account holds it for showing it in a listing title, by that listing.
fn add_identifier(acc: &mut Account, r: &model::Identifier, id: &str, listing: Option<&str>, push: Push) {
    for source in std::iter::once(id).chain(listing) {
        match r.kind {
            IdentifierKind::Pgp => {
                let (subkeys, uids) = r
                    .pgp
                    .as_ref()
                    .map(|k| (k.subkeys.clone(), k.user_ids.clone()))
                    .unwrap_or_default();
                acc.add_pgp_with(&r.value, &subkeys, &uids, source, push);
            }
            IdentifierKind::Btc => acc.add_btc_with(&r.value, source, push),
            IdentifierKind::Email
            | IdentifierKind::Jabber
            | IdentifierKind::Telegram
            | IdentifierKind::Wickr
            | IdentifierKind::Session => {
                acc.add_contact_with(&format!("{}:{}", r.kind.as_str(), r.value), source, push);
            }
            IdentifierKind::Xmr | IdentifierKind::Onion => {}
        };
    }
}

/// Which accounts' listing titles show each of some identifiers on their
/// pages, to find the vendors who wrote an identifier found on a page of
/// several: a dataset file holds thousands, and an identifier in it is a
/// vendor's when the vendor wrote it in a title of its own (Agora's
/// `tomorrowman@safe-mail.net`, AlphaBay's Jabber handles). A buyer's words
/// in a feedback cell are not a title, so they stay nobody's. A title shows
/// an identifier when the identifier search finds it there, as it found it
/// in the page: `wickr: lsd` shows the Wickr handle `lsd`, "LSD blotters"
/// does not, nor does `the.bob@exploit.im` show `bob@exploit.im`. Each
/// page's titles are searched once for all its values at a time
/// (Aho-Corasick), and only titles holding one are searched for
/// identifiers; the rest of a million listings is not.
struct TitlesOnPages<'r> {
    showing: Showing<'r>,
}

/// By page, kind ([`kind_family`]) and value: the accounts showing it (market, vendor, first listing id).
type Showing<'r> = HashMap<(model::Sha256, IdentifierKind, String), Vec<(&'r str, &'r str, &'r str)>>;

/// A value asked of a page (lower-cased, for the search) and each
/// identifier (kind family, value as stored) it stands for.
type Asked = (String, Vec<(IdentifierKind, String)>);

/// E-mail and Jabber addresses look alike: a title's own context may call
/// one what the page's called the other.
fn kind_family(kind: IdentifierKind) -> IdentifierKind {
    match kind {
        IdentifierKind::Jabber => IdentifierKind::Email,
        k => k,
    }
}

impl<'r> TitlesOnPages<'r> {
    /// The accounts of `listings` (row id and record) whose titles on each
    /// page show each identifier asked of it (`identifiers`: page, kind and
    /// value as stored).
    fn of<'v>(
        identifiers: impl IntoIterator<Item = (model::Sha256, IdentifierKind, &'v str)>,
        listings: impl IntoIterator<Item = (&'r str, &'r model::Listing)>,
    ) -> Self {
        // By page: the values asked (lower-cased, for the search) and each
        // one's (kind family, value) as stored.
        let mut asked: HashMap<model::Sha256, Vec<Asked>> = HashMap::new();
        for (page, kind, value) in identifiers {
            let lower = value.trim().to_lowercase();
            if lower.is_empty() {
                continue;
            }
            let on_page = asked.entry(page).or_default();
            let wanted = (kind_family(kind), value.trim().to_owned());
            match on_page.iter_mut().find(|(v, _)| *v == lower) {
                Some((_, ids)) if !ids.contains(&wanted) => ids.push(wanted),
                Some(_) => {}
                None => on_page.push((lower, vec![wanted])),
            }
        }
        let mut showing: Showing<'r> = HashMap::new();
        let finders: HashMap<model::Sha256, aho_corasick::AhoCorasick> = asked
            .iter()
            .filter_map(|(page, values)| aho_corasick::AhoCorasick::new(values.iter().map(|(v, _)| v)).ok().map(|f| (*page, f)))
            .collect();
        if finders.is_empty() {
            return TitlesOnPages { showing };
        }
        for (id, l) in listings {
            let Some(page) = l.provenance.as_ref().map(|p| p.evidence) else { continue };
            let Some(finder) = finders.get(&page) else { continue };
            let Some(vendor) = l.vendor.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { continue };
            let title = l.title.to_lowercase();
            let hits: Vec<usize> = finder.find_overlapping_iter(title.as_str()).map(|m| m.pattern().as_usize()).collect();
            if hits.is_empty() {
                continue;
            }
            let found: Vec<(IdentifierKind, String)> = identifiers::find_all(&l.title).into_iter().map(|f| (kind_family(f.kind), f.value)).collect();
            for hit in hits {
                for (family, value) in &asked[&page][hit].1 {
                    if !found.iter().any(|(k, v)| k == family && v == value) {
                        continue;
                    }
                    let accounts = showing.entry((page, *family, value.clone())).or_default();
                    if !accounts.iter().any(|&(m, v, _)| (m, v) == (l.market.as_str(), vendor)) {
                        accounts.push((&l.market, vendor, id));
                    }
                }
            }
        }
        TitlesOnPages { showing }
    }

    /// Each account (market, vendor) whose listing titles on `page` show the
    /// identifier (`kind`, `value` as stored), with the first such listing's
    /// id, in the order met. Several accounts showing one contact is a fact
    /// the linking signals weigh (and discount when
    /// [`crate::COMMON_IDENTIFIER`] accounts of a market share it).
    fn accounts_showing(&self, page: &model::Sha256, kind: IdentifierKind, value: &str) -> &[(&'r str, &'r str, &'r str)] {
        self.showing.get(&(*page, kind_family(kind), value.trim().to_owned())).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Feedback, Identifier, Listing, Provenance, Row, Sha256, Vendor};
    use proptest::prelude::*;

    /// Row ids from a small set, so that rows repeat ids and sort in
    /// neither insertion nor numeric order (`-10` before `-9`).
    fn any_id(kind: &'static str) -> impl Strategy<Value = String> {
        (0..3u8, 0..12u32).prop_map(move |(page, n)| format!("{kind}-{page:016x}-{n}"))
    }

    fn on_page(page: u8) -> Option<Provenance> {
        Some(Provenance { evidence: Sha256::of(&[page]), profile: "p".into(), rule: "r".into() })
    }

    prop_compose! {
        fn any_listing()(id in any_id("L"), market in 0..2usize, vendor in 0..4usize, title in 0..4usize,
                         from in prop::option::of(0..3usize), to in prop::collection::vec(0..3usize, 0..3),
                         cat in 0..3usize, photo in prop::option::of(0..2usize), page in 0..4u8) -> (String, Listing) {
            let listing = Listing {
                market: ["dream", "empire"][market].into(),
                vendor: Some(["Fox", "Owl", " Fox ", "  "][vendor].into()),
                title: ["10g haze", "pills x10", " 10g haze ", " "][title].into(),
                ships_from: from.map(|f| ["Germany", "USA", "worldwide"][f].into()),
                ships_to: to.into_iter().map(|t| ["Europe", "worldwide", "US"][t].into()).collect(),
                category: [vec!["Cannabis".to_owned(), "Flower".to_owned()], vec!["Stimulants".to_owned()], vec![]][cat].clone(),
                photos: photo.map(|p| ["9f3a5c71e2d40b86", "0f0f3c3ca5a57e7e"][p].to_owned()).into_iter().collect(),
                observed_at: Some("2020-01-02".into()),
                provenance: on_page(page),
                ..Listing::default()
            };
            (id, listing)
        }
    }

    /// A dataset file (one page) of several vendors: an identifier is the
    /// accounts' whose own titles show it (the identifier search finds it
    /// there), never one only a buyer wrote, nor a word or a longer address
    /// that holds its value (found by a review: `lsd` and `the.bob@…`).
    #[test]
    fn an_identifier_on_a_page_of_several_vendors_is_theirs_whose_titles_show_it() {
        let listing = |vendor: &str, title: &str| Listing {
            market: "alphabay".into(),
            vendor: Some(vendor.into()),
            title: title.into(),
            provenance: on_page(1),
            ..Listing::default()
        };
        let listings = [
            ("L-1".to_owned(), listing("uanon", "- Flights - Hotels - WICKR: Resefix , uanon@dukgo.com")),
            ("L-2".to_owned(), listing("uanon", "Car rentals 30%")),
            ("L-3".to_owned(), listing("resefix", "RESEFIX Flights Hotels")),
            ("L-4".to_owned(), listing("dave", "Blotters, wickr: lsd only")),
            ("L-5".to_owned(), listing("erin", "LSD blotters 100ug")),
            ("L-6".to_owned(), listing("alice", "jabber: bob@exploit.im")),
            ("L-7".to_owned(), listing("carol", "contact the.bob@exploit.im")),
            ("L-8".to_owned(), listing("other", "Hotels 20%, ask xuanon@dukgo.com or resefixer")),
        ];
        let identifier = |kind: IdentifierKind, value: &str| Identifier { kind, value: value.into(), detail: None, pgp: None, provenance: on_page(1) };
        let identifiers = [
            ("I-1".to_owned(), identifier(IdentifierKind::Wickr, "resefix")),
            // Found as e-mail in the page, as Jabber in the title: one address.
            ("I-2".to_owned(), identifier(IdentifierKind::Email, "uanon@dukgo.com")),
            ("I-3".to_owned(), identifier(IdentifierKind::Wickr, "lsd")),
            ("I-4".to_owned(), identifier(IdentifierKind::Jabber, "bob@exploit.im")),
            // In the file (a feedback cell), in no title: nobody's.
            ("I-5".to_owned(), identifier(IdentifierKind::Btc, "172XeYs4aeuifeVWryhEEt1PVsaLW78ULv")),
        ];
        fn rows<T>(v: &[(String, T)]) -> Vec<Row<'_, T>> {
            v.iter().map(|(id, r)| Row::new(id, r)).collect()
        }
        let records = Records { vendors: vec![], listings: rows(&listings), feedback: vec![], identifiers: rows(&identifiers) };
        let accounts = accounts_from_records(&records);
        let contacts = |name: &str| {
            let a = accounts.iter().find(|a| a.name == name).expect(name);
            a.contacts.iter().map(|c| (format!("{}:{}", c.kind, c.value), c.sources.join(" "))).collect::<Vec<_>>()
        };
        let owned = |pairs: &[(&str, &str)]| pairs.iter().map(|(c, s)| (c.to_string(), s.to_string())).collect::<Vec<_>>();
        assert_eq!(contacts("uanon"), owned(&[("wickr:resefix", "I-1 L-1"), ("email:uanon@dukgo.com", "I-2 L-1")]));
        assert_eq!(contacts("dave"), owned(&[("wickr:lsd", "I-3 L-4")]));
        assert_eq!(contacts("alice"), owned(&[("jabber:bob@exploit.im", "I-4 L-6")]));
        for nobody in ["resefix", "erin", "carol", "other"] {
            assert!(contacts(nobody).is_empty(), "{nobody}: {:?}", contacts(nobody));
        }
        assert!(accounts.iter().all(|a| a.btc.is_empty()));
        // A page of one account keeps every identifier on it.
        let records = Records { listings: rows(&listings[..2]), ..records };
        let accounts = accounts_from_records(&records);
        assert_eq!(accounts.len(), 1);
        assert_eq!((accounts[0].contacts.len(), accounts[0].btc.len()), (4, 1));
    }

    prop_compose! {
        fn any_vendor()(id in any_id("V"), market in 0..2usize, vendor in 0..4usize, key in prop::option::of(0..2usize),
                        contact in prop::option::of(0..2usize), page in 0..4u8) -> (String, Vendor) {
            let vendor = Vendor {
                market: ["dream", "empire"][market].into(),
                name: ["Fox", "Owl", " Fox ", "  "][vendor].into(),
                pgp_fingerprint: key.map(|k| ["0123456789ABCDEF0123456789ABCDEF01234567", "89ABCDEF0123456789ABCDEF0123456789ABCDEF"][k].into()),
                contacts: contact.map(|c| ["jabber:fox@jabber.example", "wickr:owl"][c].to_owned()).into_iter().collect(),
                provenance: on_page(page),
                ..Vendor::default()
            };
            (id, vendor)
        }
    }

    proptest! {
        /// Sources added at the end and settled once are the sources added
        /// in order: the same accounts, whatever the rows' order and repeats.
        #[test]
        fn appending_then_settling_gives_the_sources_of_sorted_inserts(
            listings in prop::collection::vec(any_listing(), 0..40),
            vendors in prop::collection::vec(any_vendor(), 0..8),
            feedback in prop::collection::vec((any_id("F"), 0..2usize, 0..4usize, 0..3usize), 0..12),
            btc in prop::collection::vec((any_id("I"), 0..4u8, 0..2usize), 0..8),
        ) {
            let feedback: Vec<(String, Feedback)> = feedback
                .into_iter()
                .map(|(id, m, v, d)| (id, Feedback {
                    market: ["dream", "empire"][m].into(),
                    vendor: Some(["Fox", "Owl", " Fox ", "  "][v].into()),
                    date: Some(["2020-03-01", "3 days ago", "2019-12-31"][d].into()),
                    ..Feedback::default()
                }))
                .collect();
            let identifiers: Vec<(String, Identifier)> = btc
                .into_iter()
                .map(|(id, page, a)| (id, Identifier {
                    kind: IdentifierKind::Btc,
                    value: ["bc1qa", "bc1qb"][a].into(),
                    detail: None,
                    pgp: None,
                    provenance: on_page(page),
                }))
                .collect();
            fn rows<T>(v: &[(String, T)]) -> Vec<Row<'_, T>> {
                v.iter().map(|(id, record)| Row::new(id, record)).collect()
            }
            let records = Records { vendors: rows(&vendors), listings: rows(&listings), feedback: rows(&feedback), identifiers: rows(&identifiers) };
            let settled = accounts_from_records(&records);
            prop_assert_eq!(&settled, &accounts_with(&records, Push::Sorted));
            for a in &settled {
                prop_assert!(a.sources.windows(2).all(|w| w[0] < w[1]), "{:?}", a.sources);
            }

            // The accounts, counted from the rows by brute force: one per
            // market and trimmed name shown (none for a blank name), in that
            // order; an account's listing sources are the ids of its
            // listings; its BTC addresses those on pages it alone shows
            // vendor or listing rows on.
            let named = |market: &str, name: Option<&str>| name.map(str::trim).filter(|n| !n.is_empty()).map(|n| (market.to_owned(), n.to_owned()));
            let mut want: BTreeSet<(String, String)> = BTreeSet::new();
            want.extend(vendors.iter().filter_map(|(_, v)| named(&v.market, Some(&v.name))));
            want.extend(listings.iter().filter_map(|(_, l)| named(&l.market, l.vendor.as_deref())));
            want.extend(feedback.iter().filter_map(|(_, f)| named(&f.market, f.vendor.as_deref())));
            let got: Vec<(String, String)> = settled.iter().map(|a| (a.market.clone(), a.name.clone())).collect();
            prop_assert_eq!(got, want.into_iter().collect::<Vec<_>>());
            let owners = |page: Option<Sha256>| -> BTreeSet<(String, String)> {
                let on = |p: &Option<Provenance>| p.as_ref().map(|p| p.evidence) == page;
                vendors
                    .iter()
                    .filter(|(_, v)| on(&v.provenance))
                    .filter_map(|(_, v)| named(&v.market, Some(&v.name)))
                    .chain(listings.iter().filter(|(_, l)| on(&l.provenance)).filter_map(|(_, l)| named(&l.market, l.vendor.as_deref())))
                    .collect()
            };
            for a in &settled {
                let me = Some((a.market.clone(), a.name.clone()));
                let listed: BTreeSet<&str> = a.sources.iter().map(String::as_str).filter(|s| s.starts_with("L-")).collect();
                let want: BTreeSet<&str> =
                    listings.iter().filter(|(_, l)| named(&l.market, l.vendor.as_deref()) == me).map(|(id, _)| id.as_str()).collect();
                prop_assert_eq!(listed, want, "{}", a.id);
                let btc: BTreeSet<&str> = a.btc.iter().map(|f| f.value.as_str()).collect();
                let want: BTreeSet<&str> = identifiers
                    .iter()
                    .filter(|(_, i)| {
                        let o = owners(i.provenance.as_ref().map(|p| p.evidence));
                        o.len() == 1 && o.iter().next().cloned() == me
                    })
                    .map(|(_, i)| i.value.as_str())
                    .collect();
                prop_assert_eq!(btc, want, "{}", a.id);
                // Each list of facts holds a value once; the texts are the
                // account's listing titles (trimmed, blank ones left out) in
                // the order first met, each with the ids of the listings that
                // show it.
                for facts in [&a.btc, &a.texts, &a.ships_from, &a.ships_to, &a.categories, &a.photos] {
                    let values: BTreeSet<&str> = facts.iter().map(|f| f.value.as_str()).collect();
                    prop_assert_eq!(values.len(), facts.len(), "{}: {:?}", a.id, facts);
                }
                let mut texts: Vec<Fact> = Vec::new();
                for (id, l) in listings.iter().filter(|(_, l)| named(&l.market, l.vendor.as_deref()) == me) {
                    let title = l.title.trim();
                    match texts.iter_mut().find(|f| f.value == title) {
                        Some(f) => f.sources.push(id.clone()),
                        None if !title.is_empty() => texts.push(Fact { value: title.to_owned(), sources: vec![id.clone()] }),
                        None => {}
                    }
                }
                texts.iter_mut().for_each(|f| settle(&mut f.sources));
                prop_assert_eq!(&a.texts, &texts, "{}", a.id);
            }
        }
    }
}
