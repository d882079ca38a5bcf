//! Extraction: page bytes + market profile -> records. Pure functions, no I/O.
//!
//! ```text
//! bytes ──decode──> text ──html5ever──> DOM ──profiles──> market, page type
//!                     │                          └──records──> Listing, Vendor, Feedback, CategoryEntry
//!                     └──identifiers::find_all──> Identifier (PGP, BTC, XMR, onion, e-mail, Jabber…)
//! ```
//!
//! Markets are described by **profiles**, TOML data (see `docs/profiles.md`),
//! not code: a new market or a changed layout is a new file in `profiles/`,
//! embedded at build time, or a file an analyst loads at run time. Every
//! record carries a [`model::Provenance`] naming the evidence digest, the
//! profile and the rule that produced it.
//!
//! Extraction never fails: a page nobody recognises, a binary file, a broken
//! charset or an oversized page yields a [`PageExtraction`] with diagnostics,
//! and the generic identifier extractors still run on whatever text there is.
//!
//! ```
//! use extract::{extract_page, PageInput, ProfileSet};
//! let profiles = ProfileSet::builtin().expect("built-in profiles load");
//! let page = b"<html><body>Contact: someone@example.org</body></html>";
//! let input = PageInput::new(page, model::Sha256::of(page));
//! let out = extract_page(&input, &profiles, None);
//! assert_eq!(out.identifiers[0].value, "someone@example.org");
//! ```
#![warn(missing_docs)]

mod decode;
mod engine;
pub mod photo;
mod profile;
pub mod text;

use scraper::{Html, Selector};

use model::{Identifier, PageType, Provenance, Sha256};

pub use decode::{decode, Decoded};
pub use profile::{CrawlRules, Profile, ProfileError};

include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));

/// Pages larger than this are not parsed as HTML (identifiers still run).
pub const MAX_HTML_BYTES: usize = 64 << 20;

/// Pages nesting elements deeper than this are not parsed as HTML
/// (identifiers still run). html5ever walks the stack of open elements for
/// scope checks, so parse time grows with nesting depth times tag count: a
/// hostile page of 100,000 nested `<div>`s takes over a minute. Real market
/// pages nest well under 100 deep; browsers cap the DOM at a few hundred.
pub const MAX_NESTING: usize = 2048;

/// The profiles extraction may choose from.
#[derive(Debug, Default)]
pub struct ProfileSet {
    profiles: Vec<Profile>,
}

impl ProfileSet {
    /// The profiles shipped in `profiles/`.
    pub fn builtin() -> Result<ProfileSet, ProfileError> {
        let mut set = ProfileSet::default();
        for (name, text) in BUILTIN {
            set.add(Profile::from_toml(name, text)?);
        }
        Ok(set)
    }

    /// Adds (or replaces, by market name) a profile.
    pub fn add(&mut self, p: Profile) {
        self.profiles.retain(|q| q.name() != p.name());
        self.profiles.push(p);
        self.profiles.sort_by(|a, b| a.name().cmp(b.name()));
    }

    /// Looks a profile up by market name.
    pub fn get(&self, market: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name() == market)
    }

    /// All profiles, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.iter()
    }
}

/// One captured page to extract.
#[derive(Debug, Clone, Copy)]
pub struct PageInput<'a> {
    /// The payload bytes.
    pub bytes: &'a [u8],
    /// Digest of the evidence record the bytes came from.
    pub evidence: Sha256,
    /// URL, when known.
    pub url: Option<&'a str>,
    /// Source name (relative path of an imported file), when known.
    pub source: Option<&'a str>,
    /// Content-Type of the capture, when known.
    pub content_type: Option<&'a str>,
}

impl<'a> PageInput<'a> {
    /// A page with only bytes and digest.
    pub fn new(bytes: &'a [u8], evidence: Sha256) -> Self {
        PageInput { bytes, evidence, url: None, source: None, content_type: None }
    }
}

/// Everything extracted from one page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageExtraction {
    /// Market of the profile that claimed the page.
    pub market: Option<String>,
    /// Profile used (`generic` when none claimed the page).
    pub profile: String,
    /// Page type.
    pub page_type: PageType,
    /// Encoding used to decode the bytes.
    pub encoding: &'static str,
    /// Listings.
    pub listings: Vec<model::Listing>,
    /// Vendors.
    pub vendors: Vec<model::Vendor>,
    /// Feedback entries.
    pub feedback: Vec<model::Feedback>,
    /// Category index entries.
    pub categories: Vec<model::CategoryEntry>,
    /// Validated identifiers found anywhere on the page, but for those only
    /// inside the market's own page template (the profile's `template`
    /// rules; each left out is named in `diagnostics`).
    pub identifiers: Vec<Identifier>,
    /// What went wrong or looked odd, for the analyst.
    pub diagnostics: Vec<String>,
}

impl PageExtraction {
    fn empty(evidence_profile: &str) -> Self {
        PageExtraction {
            market: None,
            profile: evidence_profile.to_owned(),
            page_type: PageType::Unknown,
            encoding: "none",
            listings: Vec::new(),
            vendors: Vec::new(),
            feedback: Vec::new(),
            categories: Vec::new(),
            identifiers: Vec::new(),
            diagnostics: Vec::new(),
        }
    }
}

/// The profile name used when no market profile claims a page.
pub const GENERIC: &str = "generic";

/// Extracts one page. `force_market` skips market detection.
pub fn extract_page(input: &PageInput<'_>, profiles: &ProfileSet, force_market: Option<&str>) -> PageExtraction {
    let mut out = PageExtraction::empty(GENERIC);
    // UTF-16 text has NULs in it: a page all the same.
    if decode::utf16(input.bytes, input.content_type).is_none() && looks_binary(input.bytes) {
        out.diagnostics.push(format!(
            "binary content ({} bytes, starts {:02x?}); not a page, skipped",
            input.bytes.len(),
            &input.bytes[..input.bytes.len().min(4)]
        ));
        return out;
    }
    if input.bytes.is_empty() {
        out.diagnostics.push("empty page".into());
        return out;
    }
    let decoded = decode(input.bytes, input.content_type);
    out.encoding = decoded.encoding;
    out.diagnostics.extend(decoded.note);
    let (identifiers, notes) = identifiers_with_notes(&decoded.text, input.evidence);
    out.identifiers = identifiers;
    out.diagnostics.extend(notes);
    if input.bytes.len() > MAX_HTML_BYTES {
        out.diagnostics.push(format!(
            "page is {} bytes, over the {} byte HTML limit; only identifiers were extracted",
            input.bytes.len(),
            MAX_HTML_BYTES
        ));
        return out;
    }
    let depth = nesting_estimate(decoded.text.as_bytes());
    if depth > MAX_NESTING {
        out.diagnostics.push(format!(
            "page nests elements about {depth} deep, over the limit of {MAX_NESTING}; only identifiers were extracted"
        ));
        return out;
    }
    let html = Html::parse_document(&decoded.text);
    let doc = engine::Doc {
        html: &html,
        raw: &decoded.text,
        title: title_of(&html),
        url: input.url.or(input.source),
    };
    let chosen = match force_market {
        Some(m) => {
            let p = profiles.get(m);
            if p.is_none() {
                out.diagnostics.push(format!("no profile named {m:?}; using generic rules"));
            }
            p
        }
        None => profiles
            .iter()
            .filter(|p| p.name() != GENERIC)
            .map(|p| (doc.market_score(p), p))
            .filter(|(score, _)| *score > 0)
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.name().cmp(a.1.name())))
            .map(|(_, p)| p),
    };
    let generic = profiles.get(GENERIC);
    let page_type = chosen
        .and_then(|p| doc.page_type(p))
        .or_else(|| generic.and_then(|g| doc.page_type(g)))
        .unwrap_or(PageType::Unknown);
    out.page_type = page_type;
    if let Some(p) = chosen {
        out.market = Some(p.name().to_owned());
        out.profile = p.name().to_owned();
        leave_out_template_identifiers(&html, p, page_type, &mut out);
        let found = engine::apply_records(&doc, p, page_type, input.evidence);
        finish(&mut out, found);
    }
    out
}

/// Post-processing that ties records on one page together: feedback on a
/// vendor page is about that vendor; external ratings belong to the vendor;
/// a PGP key field becomes a fingerprint.
fn finish(out: &mut PageExtraction, mut found: engine::Found) {
    for (idx, sources) in std::mem::take(&mut found.listing_photos) {
        let mut hashes = Vec::new();
        for src in &sources {
            match photo::data_uri_hash(src) {
                Ok(h) => hashes.push(h),
                // An external photo link is not in the page: nothing to hash.
                Err(photo::PhotoError::NotInline) => {}
                Err(e) => out.diagnostics.push(format!("listing {} photo does not decode: {e}", idx + 1)),
            }
        }
        if let Some(l) = found.listings.get_mut(idx) {
            l.photos = hashes;
        }
    }
    for (idx, key) in std::mem::take(&mut found.vendor_keys) {
        match identifiers::parse_pgp_key(&key) {
            Ok((fpr, _)) => {
                if let Some(v) = found.vendors.get_mut(idx) {
                    v.pgp_fingerprint = Some(fpr);
                }
            }
            Err(e) => out.diagnostics.push(format!("vendor PGP key does not parse: {e}")),
        }
    }
    // A page-level PGP identifier fills in a vendor whose key field was absent.
    if found.vendors.len() == 1 {
        let pgp: Vec<&Identifier> =
            out.identifiers.iter().filter(|i| i.kind == model::IdentifierKind::Pgp).collect();
        if let (Some(v), [only]) = (found.vendors.first_mut(), pgp.as_slice()) {
            if v.pgp_fingerprint.is_none() {
                v.pgp_fingerprint = Some(only.value.clone());
            }
        }
    }
    let single_vendor = (found.vendors.len() == 1).then(|| found.vendors[0].name.clone());
    let single_listing = (found.listings.len() == 1).then(|| found.listings[0].clone());
    for f in &mut found.feedback {
        if f.vendor.is_none() {
            f.vendor = single_vendor
                .clone()
                .or_else(|| single_listing.as_ref().and_then(|l| l.vendor.clone()));
        }
        if f.listing.is_none() {
            f.listing = single_listing.as_ref().map(|l| l.title.clone());
        }
    }
    if let Some(v) = found.vendors.first_mut() {
        v.external_ratings = std::mem::take(&mut found.external);
    }
    out.listings = found.listings;
    out.vendors = found.vendors;
    out.feedback = found.feedback;
    out.categories = found.categories;
}

/// Leaves out the page's identifiers that are not its vendor's or
/// listing's: those found only inside elements that a profile `template`
/// rule matches (the market's own page template) or that scope the page's
/// feedback records (a buyer's words), and nowhere else on the page.
/// Dream's template carries an off-screen anti-phishing decoy link to a
/// bitcoin address on every page; kept, it would be every Dream vendor's
/// address. A key or address a buyer pastes into feedback had become the
/// vendor's, and one pasted on two vendors' pages hard-linked them (found by
/// a review). Each one left out is named in a diagnostic with the rule, so
/// the omission is on record.
fn leave_out_template_identifiers(html: &Html, p: &Profile, page_type: PageType, out: &mut PageExtraction) {
    if out.identifiers.is_empty() {
        return;
    }
    let mut nodes = Vec::new();
    for rule in &p.template {
        for el in html.select(&rule.selector) {
            if rule.regex.as_ref().is_none_or(|re| re.is_match(&engine::element_text(el))) {
                nodes.push((format!("the market's page template (profile {}, template[{}])", p.name(), rule.index), el));
            }
        }
    }
    let feedback = p.records.iter().filter(|r| r.kind == profile::RecordKind::Feedback && r.page_types.contains(&page_type));
    for rule in feedback {
        let Some(scope) = &rule.scope else { continue };
        let label = format!("feedback entries, a buyer's words (profile {}, records[{}])", p.name(), rule.index);
        nodes.extend(html.select(scope).map(|el| (label.clone(), el)));
    }
    if nodes.is_empty() {
        return;
    }
    let key = |kind: model::IdentifierKind, value: &str| format!("{}:{value}", kind.as_str());
    // Identifier -> the first rule whose element shows it.
    let mut inside: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
    for (rule, el) in &nodes {
        for f in identifiers::find_all(&el.html()) {
            inside.entry(key(f.kind, &f.value)).or_insert(rule);
        }
    }
    if inside.is_empty() {
        return;
    }
    // The page without its template elements: what is found there stays.
    let mut rest = html.clone();
    for (_, el) in &nodes {
        if let Some(mut node) = rest.tree.get_mut(el.id()) {
            node.detach();
        }
    }
    let outside: std::collections::BTreeSet<String> =
        identifiers::find_all(&rest.html()).into_iter().map(|f| key(f.kind, &f.value)).collect();
    let mut notes = Vec::new();
    out.identifiers.retain(|i| {
        let k = key(i.kind, &i.value);
        match inside.get(&k) {
            Some(rule) if !outside.contains(&k) => {
                notes.push(format!("identifier {} {} is only in {rule}; left out", i.kind.as_str(), i.value));
                false
            }
            _ => true,
        }
    });
    out.diagnostics.extend(notes);
}

/// Runs the generic identifier extractors over decoded page text.
pub fn find_identifiers(text: &str, evidence: Sha256) -> Vec<Identifier> {
    identifiers_with_notes(text, evidence).0
}

/// At most this many notes of unreadable PGP blocks per page, then a count.
const MOST_IDENTIFIER_NOTES: usize = 20;

/// [`find_identifiers`], and a note for each PGP public key block that could
/// not be read (truncated, corrupt): a page that shows a vendor's key says
/// so even when the key cannot be taken from it.
fn identifiers_with_notes(text: &str, evidence: Sha256) -> (Vec<Identifier>, Vec<String>) {
    let (found, diagnostics) = identifiers::find_all_with_diagnostics(text);
    let mut notes: Vec<String> = diagnostics
        .iter()
        .take(MOST_IDENTIFIER_NOTES)
        .map(|d| format!("{} block at byte {} of the decoded page not read: {}", d.kind.as_str(), d.offset, d.message))
        .collect();
    if diagnostics.len() > MOST_IDENTIFIER_NOTES {
        notes.push(format!("{} more unreadable key blocks not listed", diagnostics.len() - MOST_IDENTIFIER_NOTES));
    }
    let identifiers = found
        .into_iter()
        .map(|f| Identifier {
            kind: f.kind,
            provenance: Some(Provenance {
                evidence,
                profile: GENERIC.to_owned(),
                rule: format!("identifier/{}", f.kind.as_str()),
            }),
            value: f.value,
            detail: f.detail,
            pgp: f.pgp,
        })
        .collect();
    (identifiers, notes)
}

fn title_of(html: &Html) -> String {
    static TITLE: std::sync::LazyLock<Selector> =
        std::sync::LazyLock::new(|| Selector::parse("title").expect("static selector"));
    html.select(&TITLE).next().map(engine::element_text).unwrap_or_default()
}

/// Upper estimate of element nesting depth, by a byte scan that follows the
/// tree builder where a page could fool a simpler count: start tags of
/// elements that must be closed push; an end tag pops down to the innermost
/// open element of its name, and one that matches no open element is
/// ignored (as the parser ignores a stray `</x>`); a self-closing slash
/// counts only inside `svg` or `math` (HTML ignores it on `<div/>`, which
/// opens an element). Void elements and those whose end tag is optional
/// (`p`, `li`, `td`...) are not counted, since the parser closes them
/// implicitly. (A review's page of 100,000 `<div/>` or `<div></x>` was
/// estimated 1 deep and took html5ever minutes to parse.)
fn nesting_estimate(html: &[u8]) -> usize {
    const UNCOUNTED: &[&[u8]] = &[
        b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta",
        b"param", b"source", b"track", b"wbr", b"p", b"li", b"dt", b"dd", b"tr", b"td", b"th",
        b"option", b"optgroup", b"thead", b"tbody", b"tfoot", b"colgroup", b"rt", b"rp",
        b"caption", b"html", b"head", b"body", b"!doctype",
    ];
    // The open elements, and how many of each name are open: an end tag
    // with none open is skipped at once, so stray end tags cost nothing
    // however deep the stack; each pop undoes one push.
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut count: std::collections::HashMap<Vec<u8>, usize> = std::collections::HashMap::new();
    let mut max = 0usize;
    let mut i = 0;
    while let Some(pos) = html[i..].iter().position(|&b| b == b'<') {
        let start = i + pos + 1;
        let closing = html.get(start) == Some(&b'/');
        let name_start = if closing { start + 1 } else { start };
        let name_len = html[name_start.min(html.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'!')
            .count();
        i = name_start + name_len;
        if name_len == 0 || !html[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        if UNCOUNTED.contains(&name.as_slice()) {
            continue;
        }
        if closing {
            if count.get(&name).is_some_and(|&n| n > 0) {
                while let Some(top) = open.pop() {
                    let matched = top == name;
                    if let Some(n) = count.get_mut(&top) {
                        *n -= 1;
                    }
                    if matched {
                        break;
                    }
                }
            }
        } else {
            let foreign = count.get(b"svg".as_slice()).is_some_and(|&n| n > 0) || count.get(b"math".as_slice()).is_some_and(|&n| n > 0);
            let end = html[i..].iter().position(|&b| b == b'>').map(|e| i + e);
            let self_closing = foreign && end.is_some_and(|e| e > 0 && html[e - 1] == b'/');
            if !self_closing {
                *count.entry(name.clone()).or_default() += 1;
                open.push(name);
                max = max.max(open.len());
            }
        }
    }
    max
}

/// NUL bytes in the first 8 KiB mean an image or other binary, not a page.
fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

/// The URL a saved page names for itself: `<base href>` or
/// `<link rel=canonical>`, found by a prescan of the first 64 KiB. Used by
/// import to give saved pages their URL; pure, so it lives here.
pub fn url_hint(bytes: &[u8]) -> Option<String> {
    static BASE: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(
            r#"(?is)<base\s[^>]*?href\s*=\s*["']?([^"'\s>]+)|<link\s[^>]*?rel\s*=\s*["']?canonical["']?[^>]*?href\s*=\s*["']?([^"'\s>]+)|<link\s[^>]*?href\s*=\s*["']?([^"'\s>]+)["']?[^>]*?rel\s*=\s*["']?canonical"#,
        )
        .expect("static regex")
    });
    let head = &bytes[..bytes.len().min(64 << 10)];
    let caps = BASE.captures(head)?;
    let m = caps.get(1).or_else(|| caps.get(2)).or_else(|| caps.get(3))?;
    let url = String::from_utf8_lossy(m.as_bytes()).into_owned();
    (url.starts_with("http://") || url.starts_with("https://")).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_estimated_without_counting_implied_end_tags() {
        assert_eq!(nesting_estimate(b"<div><span>a</span><b>b</b></div>"), 2);
        assert_eq!(nesting_estimate(b"<p>one<p>two<li>x<br><img src=a>"), 0);
        assert_eq!(nesting_estimate(&b"<div>".repeat(5000)), 5000);
        assert_eq!(nesting_estimate(b"a < b and </div> stray close"), 0);
        // An end tag closes the elements left open inside its element.
        assert_eq!(nesting_estimate(b"<div><span><i>a</div><div><b>b</b></div>"), 3);
        // Inside svg a self-closing slash closes; a thousand paths are flat.
        assert_eq!(nesting_estimate(format!("<svg>{}</svg>", "<path d=x/>".repeat(1000)).as_bytes()), 1);
    }

    /// A title about DDoS and little else is an anti-DDoS wall; a forum
    /// thread that mentions DDoS in its title is not (found by a review in
    /// the shared Silk Road forum pages).
    #[test]
    fn only_a_short_ddos_title_makes_a_ddos_page() {
        let page_type = |title: &str| {
            let page = format!("<html><head><title>{title}</title></head><body><p>text</p></body></html>");
            extract_page(&PageInput::new(page.as_bytes(), Sha256::of(page.as_bytes())), &ProfileSet::builtin().unwrap(), None).page_type
        };
        for wall in ["DDoS Protection", "Anti-DDoS check", "ddos", "Checking your browser"] {
            assert_eq!(page_type(wall), PageType::Ddos, "{wall}");
        }
        assert_ne!(page_type("With this DDos going on, how does the vendor get paid?"), PageType::Ddos);
    }

    /// A profile's bad rule names its file (two files may declare one
    /// market), and a selector that does not parse reads as the user's
    /// mistake, not the parser's bug (found by a review).
    #[test]
    fn a_bad_rule_names_its_file() {
        let text = "market = \"m\"\n[[page_types]]\ntype = \"listing\"\nany = [{ selector = \"div.item[[[\" }]\n";
        let e = Profile::from_toml("profiles/m.toml", text).unwrap_err().to_string();
        assert!(e.contains("profiles/m.toml") && e.contains("bad CSS selector \"div.item[[[\""), "{e}");
        assert!(!e.contains("report this"), "{e}");
    }

    /// A key block that cannot be read leaves a note on its page (the
    /// identifiers crate's diagnostics were dropped, found by a review).
    #[test]
    fn an_unreadable_key_block_is_noted() {
        let page = "<html><body><pre>-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBGZzZzZ6Z6Z6Z6Z6Z6Z6\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----</pre></body></html>";
        let out = extract_page(&PageInput::new(page.as_bytes(), Sha256::of(page.as_bytes())), &ProfileSet::builtin().unwrap(), None);
        assert!(out.identifiers.is_empty(), "{:?}", out.identifiers);
        assert!(out.diagnostics.iter().any(|d| d.starts_with("pgp block at byte ") && d.contains("not read")), "{:?}", out.diagnostics);
    }

    /// A UTF-16 page with a byte order mark is a page, not binary: its
    /// identifiers are found (a review's pages were skipped as binary).
    #[test]
    fn a_utf16_page_is_read() {
        let text = "<html><head><meta charset=utf-16></head><body>pay 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2</body></html>";
        let page: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let out = extract_page(&PageInput::new(&page, Sha256::of(&page)), &ProfileSet::builtin().unwrap(), None);
        assert_eq!(out.encoding, "UTF-16LE", "{:?}", out.diagnostics);
        assert!(out.identifiers.iter().any(|i| i.value == "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"), "{:?}", out.identifiers);
    }

    /// What the parser does, not what the tags seem to say: HTML ignores the
    /// slash of `<div/>` and a stray `</x>`, so each of these pages nests
    /// 100,000 deep (a review's pages, estimated 1 deep, took html5ever over
    /// a minute).
    #[test]
    fn slashes_and_stray_end_tags_do_not_hide_nesting() {
        for unit in ["<div/>", "<div></x>", "<div></span>"] {
            assert_eq!(nesting_estimate(unit.repeat(100_000).as_bytes()), 100_000, "{unit}");
        }
        let page = format!("<html><body>{}x@example.org</body></html>", "<div/>".repeat(100_000));
        let out = extract_page(&PageInput::new(page.as_bytes(), Sha256::of(page.as_bytes())), &ProfileSet::builtin().unwrap(), None);
        assert!(out.diagnostics.iter().any(|d| d.contains("nests elements")), "{:?}", out.diagnostics);
    }

    #[test]
    fn deeply_nested_pages_are_refused_quickly_with_a_note() {
        let page = format!("<html><body>{}x@example.org{}</body></html>", "<div>".repeat(100_000), "</div>".repeat(100_000));
        let out = extract_page(&PageInput::new(page.as_bytes(), Sha256::of(page.as_bytes())), &ProfileSet::builtin().unwrap(), None);
        assert!(out.diagnostics.iter().any(|d| d.contains("nests elements")), "{:?}", out.diagnostics);
        assert_eq!(out.identifiers.len(), 1, "identifiers still run");
    }

    #[test]
    fn url_hint_reads_base_and_canonical() {
        let cases: &[(&str, Option<&str>)] = &[
            (r#"<head><base href="http://abc.onion/shop/"></head>"#, Some("http://abc.onion/shop/")),
            (r#"<link rel="canonical" href="https://dark.fail/empire">"#, Some("https://dark.fail/empire")),
            (r#"<link href='http://x.onion/a' rel='canonical'>"#, Some("http://x.onion/a")),
            (r#"<link rel="stylesheet" href="http://x.onion/s.css">"#, None),
            (r#"<base href="javascript:alert(1)">"#, None),
            ("", None),
        ];
        for (page, want) in cases {
            assert_eq!(url_hint(page.as_bytes()).as_deref(), *want, "{page}");
        }
    }

    #[test]
    fn profile_errors_name_the_profile_and_rule() {
        let bad_selector = "market = \"m\"\n[[records]]\nkind = \"listing\"\npage_types = [\"listing\"]\n[records.fields]\ntitle = { selector = \"h1[\" }\n";
        let e = Profile::from_toml("m.toml", bad_selector).unwrap_err().to_string();
        assert!(e.contains("records[0].fields.title") && e.contains("selector"), "{e}");
        let bad_field = "market = \"m\"\n[[records]]\nkind = \"vendor\"\npage_types = [\"vendor\"]\n[records.fields]\nprice = { selector = \"b\" }\n";
        let e = Profile::from_toml("m.toml", bad_field).unwrap_err().to_string();
        assert!(e.contains("no field \"price\""), "{e}");
        let bad_type = "market = \"m\"\n[[page_types]]\ntype = \"shop\"\nany = [{ selector = \"b\" }]\n";
        assert!(Profile::from_toml("m.toml", bad_type).unwrap_err().to_string().contains("unknown page type"));
        let not_toml = "market = ";
        assert!(Profile::from_toml("m.toml", not_toml).unwrap_err().to_string().starts_with("profile m.toml"));
    }

    /// An identifier only inside a `template` element is left out, with a
    /// note; the same identifier in the page's own content is kept, and an
    /// element the rule's regex does not match is no template.
    #[test]
    fn template_identifiers_are_left_out_with_a_note() {
        let toml = r#"
market = "toy"
[[detect]]
selector = "meta[name='generator'][content='toy']"
[[template]]
selector = "div.banner a"
regex = "^Decoy$"
"#;
        let mut set = ProfileSet::default();
        set.add(Profile::from_toml("toy.toml", toml).unwrap());
        let (decoy, vendor, other) =
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2");
        let page = |body: &str| {
            format!(r#"<html><head><meta name="generator" content="toy"></head><body><div class="banner"><a href="http://{decoy}">Decoy</a><a href="http://{other}">Mirror</a></div>{body}</body></html>"#)
        };
        let values = |page: &str| {
            let out = extract_page(&PageInput::new(page.as_bytes(), Sha256::of(page.as_bytes())), &set, None);
            (out.identifiers.iter().map(|i| i.value.clone()).collect::<Vec<_>>(), out.diagnostics)
        };
        let (ids, notes) = values(&page(&format!("<p>pay to {vendor}</p>")));
        assert_eq!(ids, [other, vendor], "the decoy is left out");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains(decoy) && notes[0].contains("profile toy, template[0]"), "{notes:?}");
        // The vendor's own text naming the same address keeps it.
        let (ids, notes) = values(&page(&format!("<p>pay to {decoy}</p>")));
        assert_eq!(ids, [decoy, other]);
        assert!(notes.is_empty(), "{notes:?}");
        // Without the market's profile (generic rules), nothing is left out.
        let generic = extract_page(&PageInput::new(page("").as_bytes(), Sha256::of(b"x")), &ProfileSet::default(), None);
        assert_eq!(generic.identifiers.len(), 2);
        let bad = "market = \"m\"\n[[template]]\nselector = \"a[\"\n";
        assert!(Profile::from_toml("m.toml", bad).unwrap_err().to_string().contains("template[0]"));
    }

    #[test]
    fn builtin_profiles_load_and_cover_the_shipped_markets() {
        let set = ProfileSet::builtin().expect("built-in profiles load");
        for m in ["apollon", "cryptonia", "dream", "empire", "cypher", "whitehouse", "yellowbrick", GENERIC] {
            assert!(set.get(m).is_some(), "no built-in profile {m}");
        }
    }

    /// A tiny profile exercising the rule kinds end to end, so engine
    /// behaviour is pinned independently of the real-market profiles.
    #[test]
    fn rules_extract_fields_labels_lists_and_provenance() {
        let toml = r#"
market = "toy"
[[detect]]
selector = "meta[name='generator'][content='toy']"
[[page_types]]
type = "listing"
any = [{ selector = "div.item" }]
[[records]]
kind = "listing"
page_types = ["listing"]
scope = "div.item"
[records.fields]
title = { selector = "h2" }
vendor = { label = "Vendor" }
price = { selector = ".price" }
ships_to = { label = "Ships to", split = "," , all = true }
category = { selector = "ol.crumbs li", all = true }
sold = { regex = "(\\d+) sold" }
id = { selector = "a.more", attr = "href", regex = "id=(\\d+)" }
"#;
        let mut set = ProfileSet::default();
        set.add(Profile::from_toml("toy.toml", toml).unwrap());
        let page = r#"<html><head><meta name="generator" content="toy"></head><body>
<div class="item"><h2>First  thing</h2><table><tr><td>Vendor:</td><td>alice</td></tr></table>
<span class="price">USD 1,250.50</span><p><b>Ships to:</b> DE, FR ,NL</p>
<ol class="crumbs"><li>Drugs</li><li>Stimulants</li></ol><p>37 sold</p><a class="more" href="/p?id=42">more</a></div>
<div class="item"><h2>Second</h2><span class="price">0.01 BTC</span></div>
</body></html>"#;
        let sha = Sha256::of(page.as_bytes());
        let out = extract_page(&PageInput::new(page.as_bytes(), sha), &set, None);
        assert_eq!(out.market.as_deref(), Some("toy"));
        assert_eq!(out.page_type, PageType::Listing);
        assert_eq!(out.listings.len(), 2);
        let a = &out.listings[0];
        assert_eq!(a.title, "First thing");
        assert_eq!(a.vendor.as_deref(), Some("alice"));
        assert_eq!(a.price.as_ref().map(|p| (p.amount.as_str(), p.currency.as_str())), Some(("1250.50", "USD")));
        assert_eq!(a.price_usd.as_deref(), Some("1250.50"));
        assert_eq!(a.ships_to, ["DE", "FR", "NL"]);
        assert_eq!(a.category, ["Drugs", "Stimulants"]);
        assert_eq!(a.sold, Some(37));
        assert_eq!(a.market_listing_id.as_deref(), Some("42"));
        assert_eq!(a.provenance.as_ref().map(|p| (p.evidence, p.rule.as_str())), Some((sha, "records[0]:listing")));
        let b = &out.listings[1];
        assert_eq!(b.price_btc.as_deref(), Some("0.01"));
        assert_eq!(b.vendor, None);
        // Forcing another market falls back to generic rules, with a note.
        let forced = extract_page(&PageInput::new(page.as_bytes(), sha), &set, Some("nope"));
        assert!(forced.listings.is_empty() && forced.diagnostics.iter().any(|d| d.contains("nope")));
    }
}
