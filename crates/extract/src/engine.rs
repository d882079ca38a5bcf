//! Applying profiles to a page: market detection, page type, records.

use std::collections::BTreeMap;

use scraper::{ElementRef, Html, Selector};

use model::{
    CategoryEntry, ExternalRating, Feedback, Listing, Money, PageType, Provenance, Sha256, Vendor,
};

use crate::profile::{Condition, Field, Profile, RecordKind, RecordRule};
use crate::text::{first_count, normalize_ws, parse_money, parse_number_text};

/// A parsed page and the facts every rule looks at.
pub(crate) struct Doc<'a> {
    pub html: &'a Html,
    pub raw: &'a str,
    pub title: String,
    pub url: Option<&'a str>,
}

impl Doc<'_> {
    fn holds(&self, c: &Condition) -> bool {
        if let Some(re) = &c.title {
            if !re.is_match(&self.title) {
                return false;
            }
        }
        if let Some(re) = &c.url {
            match self.url {
                Some(u) if re.is_match(u) => {}
                _ => return false,
            }
        }
        match (&c.selector, &c.regex) {
            (Some(sel), Some(re)) => self.html.select(sel).any(|e| re.is_match(&element_text(e))),
            (Some(sel), None) => self.html.select(sel).next().is_some(),
            (None, Some(re)) => re.is_match(self.raw),
            (None, None) => true,
        }
    }

    /// Sum of the weights of the profile's detect conditions that hold.
    pub fn market_score(&self, p: &Profile) -> u32 {
        p.detect.iter().filter(|c| self.holds(c)).map(|c| c.weight).sum()
    }

    /// The first page-type rule of the profile that holds.
    pub fn page_type(&self, p: &Profile) -> Option<PageType> {
        p.page_types.iter().find_map(|rule| {
            let any_ok = rule.any.is_empty() || rule.any.iter().any(|c| self.holds(c));
            let all_ok = rule.all.iter().all(|c| self.holds(c));
            let none_ok = !rule.none.iter().any(|c| self.holds(c));
            (any_ok && all_ok && none_ok).then_some(rule.page_type)
        })
    }
}

/// Text of an element with ASCII whitespace and NBSP collapsed. Other
/// Unicode line breaks (U+0085 on Cryptonia pages) are page content and kept.
pub(crate) fn element_text(e: ElementRef<'_>) -> String {
    let mut s = String::new();
    for t in e.text() {
        s.push_str(t);
        s.push(' ');
    }
    normalize_ws(&s)
}

/// Records found on one page by one profile, before post-processing.
#[derive(Default)]
pub(crate) struct Found {
    pub listings: Vec<Listing>,
    pub vendors: Vec<Vendor>,
    pub feedback: Vec<Feedback>,
    pub categories: Vec<CategoryEntry>,
    pub external: Vec<ExternalRating>,
    /// Raw key text from vendor `pgp_key` fields, by vendor index.
    pub vendor_keys: Vec<(usize, String)>,
    /// Photo sources (`src` of inline images) from listing `photos` fields,
    /// by listing index: hashed in post-processing.
    pub listing_photos: Vec<(usize, Vec<String>)>,
}

pub(crate) fn apply_records(
    doc: &Doc<'_>,
    profile: &Profile,
    page_type: PageType,
    evidence: Sha256,
) -> Found {
    let mut found = Found::default();
    let root = doc.html.root_element();
    for rule in profile.records.iter().filter(|r| r.page_types.contains(&page_type)) {
        let scopes: Vec<ElementRef<'_>> = match &rule.scope {
            Some(sel) => doc.html.select(sel).collect(),
            None => vec![root],
        };
        for scope in scopes {
            let values: BTreeMap<&str, Vec<String>> = rule
                .fields
                .iter()
                .map(|(name, f)| (name.as_str(), field_values(f, scope, root)))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            if rule.require.iter().any(|r| !values.contains_key(r.as_str())) {
                continue;
            }
            let prov = Some(Provenance {
                evidence,
                profile: profile.name().to_owned(),
                rule: format!("records[{}]:{}", rule.index, rule.kind.as_str()),
            });
            build_record(&mut found, rule, profile.name(), &values, prov);
        }
    }
    found
}

fn one(values: &BTreeMap<&str, Vec<String>>, name: &str) -> Option<String> {
    values.get(name).and_then(|v| v.first()).cloned()
}

fn many(values: &BTreeMap<&str, Vec<String>>, name: &str) -> Vec<String> {
    values.get(name).cloned().unwrap_or_default()
}

fn count(values: &BTreeMap<&str, Vec<String>>, name: &str) -> Option<u64> {
    one(values, name).as_deref().and_then(first_count)
}

fn money(values: &BTreeMap<&str, Vec<String>>, amount: &str, currency: &str) -> Option<Money> {
    let text = one(values, amount)?;
    let fixed = one(values, currency);
    parse_money(&text, fixed.as_deref())
}

fn build_record(
    found: &mut Found,
    rule: &RecordRule,
    market: &str,
    v: &BTreeMap<&str, Vec<String>>,
    provenance: Option<Provenance>,
) {
    let market = market.to_owned();
    match rule.kind {
        RecordKind::Listing => {
            let price = money(v, "price", "price_currency");
            let mut price_usd = one(v, "price_usd").as_deref().and_then(parse_number_text);
            let mut price_btc = one(v, "price_btc").as_deref().and_then(parse_number_text);
            if let Some(p) = &price {
                if price_usd.is_none() && p.currency == "USD" {
                    price_usd = Some(p.amount.clone());
                }
                if price_btc.is_none() && p.currency == "BTC" {
                    price_btc = Some(p.amount.clone());
                }
            }
            let photos = many(v, "photos");
            if !photos.is_empty() {
                found.listing_photos.push((found.listings.len(), photos));
            }
            found.listings.push(Listing {
                market,
                market_listing_id: one(v, "id"),
                title: one(v, "title").unwrap_or_default(),
                vendor: one(v, "vendor"),
                category: many(v, "category"),
                price,
                price_usd,
                price_btc,
                ships_from: one(v, "ships_from"),
                ships_to: many(v, "ships_to"),
                shipping_methods: many(v, "shipping_methods"),
                stock: one(v, "stock"),
                sold: count(v, "sold"),
                sold_since: one(v, "sold_since"),
                rating: one(v, "rating").as_deref().and_then(parse_number_text),
                url: one(v, "url"),
                observed_at: None,
                photos: Vec::new(),
                provenance,
            });
        }
        RecordKind::Vendor => {
            if let Some(key) = one(v, "pgp_key") {
                found.vendor_keys.push((found.vendors.len(), key));
            }
            found.vendors.push(Vendor {
                market,
                name: one(v, "name").unwrap_or_default(),
                registered: one(v, "registered"),
                last_seen: one(v, "last_seen"),
                sales: count(v, "sales"),
                feedback_positive: count(v, "feedback_positive"),
                feedback_neutral: count(v, "feedback_neutral"),
                feedback_negative: count(v, "feedback_negative"),
                positive_percent: one(v, "positive_percent").as_deref().and_then(parse_number_text),
                rating: one(v, "rating").as_deref().and_then(parse_number_text),
                level: one(v, "level"),
                trust: one(v, "trust"),
                pgp_fingerprint: None,
                contacts: many(v, "contacts"),
                external_ratings: Vec::new(),
                observed_at: None,
                provenance,
            });
        }
        RecordKind::Feedback => found.feedback.push(Feedback {
            market,
            vendor: one(v, "vendor"),
            listing: one(v, "listing"),
            date: one(v, "date"),
            rating: one(v, "rating"),
            text: one(v, "text"),
            buyer: one(v, "buyer"),
            price: money(v, "price", "price_currency"),
            observed_at: None,
            provenance,
        }),
        RecordKind::Category => found.categories.push(CategoryEntry {
            market,
            name: one(v, "name").unwrap_or_default(),
            count: count(v, "count"),
            link: one(v, "link"),
            provenance,
        }),
        RecordKind::ExternalRating => found.external.push(ExternalRating {
            market: one(v, "market").unwrap_or_default(),
            sales: count(v, "sales"),
            rating: one(v, "rating"),
            account: one(v, "account"),
        }),
    }
}

/// Evaluates one field rule inside `scope`; returns its values in page order.
fn field_values(f: &Field, scope: ElementRef<'_>, root: ElementRef<'_>) -> Vec<String> {
    if let Some(c) = &f.constant {
        return vec![c.clone()];
    }
    let base = if f.from_root { root } else { scope };
    let mut raw: Vec<String> = match (&f.label, &f.selector) {
        (Some(label), sel) => label_value(base, sel.as_ref(), label).into_iter().collect(),
        (None, Some(sel)) => base.select(sel).map(|e| take(e, f)).collect(),
        (None, None) => vec![take(base, f)],
    };
    if let Some(re) = &f.regex {
        let mut out = Vec::new();
        for value in &raw {
            for caps in re.captures_iter(value) {
                let m = caps.name("v").or_else(|| caps.get(1)).or_else(|| caps.get(0));
                if let Some(m) = m {
                    out.push(m.as_str().to_owned());
                }
                if !f.all {
                    break;
                }
            }
        }
        raw = out;
    }
    for (re, rep) in &f.replace {
        for value in raw.iter_mut() {
            *value = re.replace_all(value, rep.as_str()).into_owned();
        }
    }
    if let Some(sep) = &f.split {
        raw = raw.iter().flat_map(|v| v.split(sep.as_str()).map(str::to_owned)).collect();
    }
    let mut values: Vec<String> = raw
        .into_iter()
        .map(|v| if f.html { v.trim().to_owned() } else { normalize_ws(&v) })
        .filter(|v| !v.is_empty())
        .collect();
    if let Some(n) = f.nth {
        let idx = if n < 0 { values.len() as i64 + n } else { n };
        values = usize::try_from(idx).ok().and_then(|i| values.get(i).cloned()).into_iter().collect();
    } else if !f.all {
        values.truncate(1);
    }
    values
}

fn take(e: ElementRef<'_>, f: &Field) -> String {
    if let Some(a) = &f.attr {
        e.value().attr(a).unwrap_or_default().to_owned()
    } else if f.html {
        e.inner_html()
    } else {
        element_text(e)
    }
}

/// Finds the smallest element (matching `sel`, or any) whose text starts with
/// `label`, and returns what follows the label in it, or else the text of the
/// next element sibling. This is how markets lay out "Ships from: X".
fn label_value<'a>(base: ElementRef<'a>, sel: Option<&Selector>, label: &str) -> Option<String> {
    let label_chars = label.chars().count();
    let starts = |text: &str| -> Option<usize> {
        let head: String = text.chars().take(label_chars).collect::<String>().to_lowercase();
        (head == label).then(|| text.char_indices().nth(label_chars).map(|(i, _)| i).unwrap_or(text.len()))
    };
    let mut best: Option<(String, ElementRef<'a>, usize)> = None;
    let mut consider = |e: ElementRef<'a>| {
        let text = element_text(e);
        if let Some(cut) = starts(&text) {
            if best.as_ref().is_none_or(|(t, _, _)| text.len() < t.len()) {
                best = Some((text, e, cut));
            }
        }
    };
    match sel {
        Some(sel) => base.select(sel).for_each(&mut consider),
        None => base.descendent_elements().skip(1).for_each(&mut consider),
    }
    let (text, e, cut) = best?;
    let rest = text.get(cut..).unwrap_or_default().trim_start_matches([':', ' ', '-', '|']).trim();
    if !rest.is_empty() {
        return Some(rest.to_owned());
    }
    let next = e.next_siblings().find_map(ElementRef::wrap).map(element_text);
    if let Some(n) = next.filter(|n| !n.is_empty()) {
        return Some(n);
    }
    // `<b>Label:</b> value` : the value is a text node after the element.
    let parent = e.parent().and_then(ElementRef::wrap)?;
    let ptext = element_text(parent);
    let cut = starts(&ptext)?;
    let rest = ptext.get(cut..)?.trim_start_matches([':', ' ', '-', '|']).trim();
    (!rest.is_empty()).then(|| rest.to_owned())
}
