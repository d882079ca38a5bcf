//! Market profiles: data (TOML) that says how to recognise a market's pages and
//! where each field lives. See `docs/profiles.md` for the format.
//!
//! A profile is parsed once into a [`Profile`] with compiled selectors and
//! regexes; a mistake in a profile is an error naming the profile and rule,
//! found when profiles load, not when a page happens to hit the rule.

use std::collections::BTreeMap;

use regex::Regex;
use scraper::Selector;
use serde::Deserialize;

use model::PageType;

/// A profile that failed to load.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The TOML does not parse or does not fit the schema.
    #[error("profile {profile}: {message}")]
    Toml {
        /// Profile file or name.
        profile: String,
        /// What the TOML parser said.
        message: String,
    },
    /// A selector or regex inside a rule is invalid.
    #[error("profile {profile}, rule {rule}: {message}")]
    Rule {
        /// Profile name.
        profile: String,
        /// Rule path, e.g. `records[0].fields.title`.
        rule: String,
        /// What is wrong.
        message: String,
    },
}

// ---- the TOML schema -------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    market: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// Conditions that claim a page for this market; each adds its weight.
    #[serde(default)]
    detect: Vec<RawCondition>,
    /// Page types, first match wins.
    #[serde(default)]
    page_types: Vec<RawPageType>,
    #[serde(default)]
    records: Vec<RawRecord>,
    /// Elements of the market's own page template (anti-phishing decoys,
    /// the market's own links): identifiers only inside them are left out.
    #[serde(default)]
    template: Vec<RawTemplate>,
    /// How to crawl the market (`dragnet crawl`): seeds and the URLs worth
    /// following.
    #[serde(default)]
    crawl: Option<RawCrawl>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct RawCrawl {
    #[serde(default)]
    seeds: Vec<String>,
    #[serde(default)]
    follow: Vec<String>,
}

/// A profile's crawl rules: where to start and which links lead to pages
/// the profile extracts (categories, search pages, listings, vendors,
/// feedback), so a crawl does not wander into forums, FAQs or wallets.
#[derive(Debug, Clone)]
pub struct CrawlRules {
    /// Paths (with query) to queue besides the given seed, resolved against
    /// it (`/index.php?page=market`).
    pub seeds: Vec<String>,
    /// Regular expressions over a URL's path and query; a link is followed
    /// when one matches.
    pub follow: Vec<Regex>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    /// CSS selector of the template elements.
    selector: String,
    /// Regex the element's text must match (optional).
    #[serde(default)]
    regex: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    /// CSS selector that must match at least one element.
    #[serde(default)]
    selector: Option<String>,
    /// Regex over the element's text (with `selector`), else over the raw HTML.
    #[serde(default)]
    regex: Option<String>,
    /// Regex over the document `<title>`.
    #[serde(default)]
    title: Option<String>,
    /// Regex over the page URL or source name.
    #[serde(default)]
    url: Option<String>,
    /// Weight added to the market score when the condition holds.
    #[serde(default = "one")]
    weight: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPageType {
    #[serde(rename = "type")]
    page_type: String,
    /// At least one must hold (if given).
    #[serde(default)]
    any: Vec<RawCondition>,
    /// All must hold.
    #[serde(default)]
    all: Vec<RawCondition>,
    /// None may hold.
    #[serde(default)]
    none: Vec<RawCondition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    /// listing | vendor | feedback | category | external_rating
    kind: String,
    /// Page types the record is extracted on.
    page_types: Vec<String>,
    /// Each element matching this selector yields one record (default: the whole page).
    #[serde(default)]
    scope: Option<String>,
    /// Skip scopes whose text is empty for all fields (defaults to true).
    #[serde(default)]
    fields: BTreeMap<String, RawField>,
    /// Records lacking any of these fields are dropped (default: the kind's key field).
    #[serde(default)]
    require: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(default)]
    selector: Option<String>,
    /// Apply `selector` to the whole page instead of the record scope.
    #[serde(default)]
    from_root: bool,
    /// Take this attribute instead of the text.
    #[serde(default)]
    attr: Option<String>,
    /// Take the element's inner HTML (for key blocks with `<br>`).
    #[serde(default)]
    html: bool,
    /// Take the text that follows this label (case-insensitive) inside the
    /// matched elements, or the next sibling element's text.
    #[serde(default)]
    label: Option<String>,
    /// Regex on the value; the `v` named group or else group 1 is kept.
    #[serde(default)]
    regex: Option<String>,
    /// Every match is a value (lists: ships_to, category, contacts...).
    #[serde(default)]
    all: bool,
    /// Split a value on this separator (trimmed, empties dropped).
    #[serde(default)]
    split: Option<String>,
    /// Use the n-th match (0-based, negative from the end).
    #[serde(default)]
    nth: Option<i64>,
    /// A fixed value (e.g. the currency a grid shows without a code).
    #[serde(default)]
    constant: Option<String>,
    /// Regex replacements applied in order: [[pattern, replacement], ...].
    #[serde(default)]
    replace: Vec<(String, String)>,
}

// ---- compiled form ---------------------------------------------------------

/// A compiled condition.
#[derive(Debug)]
pub(crate) struct Condition {
    pub selector: Option<Selector>,
    pub regex: Option<Regex>,
    pub title: Option<Regex>,
    pub url: Option<Regex>,
    pub weight: u32,
}

/// A compiled page-type rule.
#[derive(Debug)]
pub(crate) struct PageTypeRule {
    pub page_type: PageType,
    pub any: Vec<Condition>,
    pub all: Vec<Condition>,
    pub none: Vec<Condition>,
}

/// What kind of record a rule yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordKind {
    Listing,
    Vendor,
    Feedback,
    Category,
    /// A rating the page's vendor imports from another market.
    ExternalRating,
}

impl RecordKind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "listing" => RecordKind::Listing,
            "vendor" => RecordKind::Vendor,
            "feedback" => RecordKind::Feedback,
            "category" => RecordKind::Category,
            "external_rating" => RecordKind::ExternalRating,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Listing => "listing",
            RecordKind::Vendor => "vendor",
            RecordKind::Feedback => "feedback",
            RecordKind::Category => "category",
            RecordKind::ExternalRating => "external_rating",
        }
    }

    /// Fields each kind understands; anything else in a profile is an error.
    fn fields(self) -> &'static [&'static str] {
        match self {
            RecordKind::Listing => &[
                "id", "title", "vendor", "category", "price", "price_currency", "price_usd",
                "price_btc", "ships_from", "ships_to", "shipping_methods", "stock", "sold", "sold_since", "rating", "url",
                "photos",
            ],
            RecordKind::Vendor => &[
                "name", "registered", "last_seen", "sales", "feedback_positive",
                "feedback_neutral", "feedback_negative", "positive_percent", "rating", "level",
                "trust", "pgp_key", "contacts",
            ],
            RecordKind::Feedback => {
                &["vendor", "listing", "date", "rating", "text", "buyer", "price", "price_currency"]
            }
            RecordKind::Category => &["name", "count", "link"],
            RecordKind::ExternalRating => &["market", "sales", "rating", "account"],
        }
    }

    fn key_field(self) -> &'static str {
        match self {
            RecordKind::Listing => "title",
            RecordKind::Vendor => "name",
            RecordKind::Feedback => "text",
            RecordKind::Category => "name",
            RecordKind::ExternalRating => "market",
        }
    }
}

/// A compiled record rule.
#[derive(Debug)]
pub(crate) struct RecordRule {
    pub kind: RecordKind,
    pub page_types: Vec<PageType>,
    pub scope: Option<Selector>,
    pub fields: Vec<(String, Field)>,
    pub require: Vec<String>,
    /// `records[N]`, for provenance.
    pub index: usize,
}

/// A compiled field rule.
#[derive(Debug)]
pub(crate) struct Field {
    pub selector: Option<Selector>,
    pub from_root: bool,
    pub attr: Option<String>,
    pub html: bool,
    pub label: Option<String>,
    pub regex: Option<Regex>,
    pub all: bool,
    pub split: Option<String>,
    pub nth: Option<i64>,
    pub constant: Option<String>,
    pub replace: Vec<(Regex, String)>,
}

/// A compiled template rule: elements that are the market's own page
/// template, not the content of the page's vendor or listing.
#[derive(Debug)]
pub(crate) struct TemplateRule {
    pub selector: Selector,
    /// When given, only elements whose text matches.
    pub regex: Option<Regex>,
    /// `template[N]`, for the diagnostic that names the rule.
    pub index: usize,
}

/// A loaded market profile.
#[derive(Debug)]
pub struct Profile {
    name: String,
    display_name: String,
    description: Option<String>,
    pub(crate) detect: Vec<Condition>,
    pub(crate) page_types: Vec<PageTypeRule>,
    pub(crate) records: Vec<RecordRule>,
    pub(crate) template: Vec<TemplateRule>,
    crawl: Option<CrawlRules>,
}

impl Profile {
    /// Parses and compiles a profile from TOML text. `origin` names it in errors.
    pub fn from_toml(origin: &str, text: &str) -> Result<Profile, ProfileError> {
        let raw: RawProfile = toml::from_str(text)
            .map_err(|e| ProfileError::Toml { profile: origin.to_owned(), message: e.to_string() })?;
        // A rule's error names the file too: two files may declare one market.
        let name = if raw.market == origin { raw.market.clone() } else { format!("{} ({origin})", raw.market) };
        let rule_err = |rule: String, message: String| ProfileError::Rule {
            profile: name.clone(),
            rule,
            message,
        };
        let detect = raw
            .detect
            .iter()
            .enumerate()
            .map(|(i, c)| compile_condition(c).map_err(|m| rule_err(format!("detect[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut page_types = Vec::new();
        for (i, pt) in raw.page_types.iter().enumerate() {
            let page_type = PageType::parse(&pt.page_type).ok_or_else(|| {
                rule_err(format!("page_types[{i}]"), format!("unknown page type {:?}", pt.page_type))
            })?;
            let compile_all = |list: &[RawCondition], what: &str| {
                list.iter()
                    .enumerate()
                    .map(|(j, c)| {
                        compile_condition(c)
                            .map_err(|m| rule_err(format!("page_types[{i}].{what}[{j}]"), m))
                    })
                    .collect::<Result<Vec<_>, _>>()
            };
            page_types.push(PageTypeRule {
                page_type,
                any: compile_all(&pt.any, "any")?,
                all: compile_all(&pt.all, "all")?,
                none: compile_all(&pt.none, "none")?,
            });
        }
        let mut records = Vec::new();
        for (i, r) in raw.records.iter().enumerate() {
            let here = format!("records[{i}]");
            let kind = RecordKind::parse(&r.kind)
                .ok_or_else(|| rule_err(here.clone(), format!("unknown record kind {:?}", r.kind)))?;
            let page_types = r
                .page_types
                .iter()
                .map(|p| {
                    PageType::parse(p)
                        .ok_or_else(|| rule_err(here.clone(), format!("unknown page type {p:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let scope = r
                .scope
                .as_deref()
                .map(|s| compile_selector(s).map_err(|m| rule_err(format!("{here}.scope"), m)))
                .transpose()?;
            let mut fields = Vec::new();
            for (fname, f) in &r.fields {
                let at = format!("{here}.fields.{fname}");
                if !kind.fields().contains(&fname.as_str()) {
                    return Err(rule_err(
                        at,
                        format!("{} records have no field {fname:?}; known: {}", kind.as_str(), kind.fields().join(", ")),
                    ));
                }
                fields.push((fname.clone(), compile_field(f).map_err(|m| rule_err(at, m))?));
            }
            let require = r.require.clone().unwrap_or_else(|| vec![kind.key_field().to_owned()]);
            records.push(RecordRule { kind, page_types, scope, fields, require, index: i });
        }
        let template = raw
            .template
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let err = |m| rule_err(format!("template[{i}]"), m);
                Ok(TemplateRule {
                    selector: compile_selector(&t.selector).map_err(err)?,
                    regex: t.regex.as_deref().map(compile_regex).transpose().map_err(err)?,
                    index: i,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let crawl = match &raw.crawl {
            None => None,
            Some(c) => Some(CrawlRules {
                seeds: c.seeds.clone(),
                follow: c
                    .follow
                    .iter()
                    .enumerate()
                    .map(|(i, r)| compile_regex(r).map_err(|m| rule_err(format!("crawl.follow[{i}]"), m)))
                    .collect::<Result<Vec<_>, _>>()?,
            }),
        };
        Ok(Profile {
            crawl,
            display_name: raw.display_name.unwrap_or_else(|| raw.market.clone()),
            name: raw.market,
            description: raw.description,
            detect,
            page_types,
            records,
            template,
        })
    }

    /// The market name records carry (`dream`, `cryptonia`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Human name of the market.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Free-text description from the profile.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// How to crawl the market, when the profile says.
    pub fn crawl_rules(&self) -> Option<&CrawlRules> {
        self.crawl.as_ref()
    }
}

fn compile_selector(s: &str) -> Result<Selector, String> {
    Selector::parse(s).map_err(|e| {
        // Some of the parser's messages ask the user to report a bug in it;
        // for a selector that does not parse, its error kind says more.
        let text = e.to_string();
        let why = if text.contains("report this to the developer") { format!("{e:?}") } else { text };
        format!("bad CSS selector {s:?}: {why}")
    })
}

fn compile_regex(s: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(s)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| format!("bad regex {s:?}: {e}"))
}

fn compile_condition(c: &RawCondition) -> Result<Condition, String> {
    if c.selector.is_none() && c.regex.is_none() && c.title.is_none() && c.url.is_none() {
        return Err("condition needs one of selector, regex, title, url".into());
    }
    Ok(Condition {
        selector: c.selector.as_deref().map(compile_selector).transpose()?,
        regex: c.regex.as_deref().map(compile_regex).transpose()?,
        title: c.title.as_deref().map(compile_regex).transpose()?,
        url: c.url.as_deref().map(compile_regex).transpose()?,
        weight: c.weight,
    })
}

fn compile_field(f: &RawField) -> Result<Field, String> {
    if f.selector.is_none() && f.constant.is_none() && f.regex.is_none() && f.label.is_none() {
        return Err("field needs a selector, label, regex or constant".into());
    }
    Ok(Field {
        selector: f.selector.as_deref().map(compile_selector).transpose()?,
        from_root: f.from_root,
        attr: f.attr.clone(),
        html: f.html,
        label: f.label.as_ref().map(|l| l.to_lowercase()),
        regex: f.regex.as_deref().map(compile_regex).transpose()?,
        all: f.all,
        split: f.split.clone(),
        nth: f.nth,
        constant: f.constant.clone(),
        replace: f
            .replace
            .iter()
            .map(|(p, r)| compile_regex(p).map(|re| (re, r.clone())))
            .collect::<Result<_, _>>()?,
    })
}
