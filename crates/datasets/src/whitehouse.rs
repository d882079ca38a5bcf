//! White House Market, one crawl on 2021-05-23 exported from MongoDB
//! (`whm_23-05-2021.json`, format `whitehouse-2021`).
//!
//! A JSON array of documents `{_id: {$oid}, name, values}`; `values` is an
//! object keyed `"0"…"n"` whose members are the records, every value a string.
//!
//! * `products` → [`model::Listing`]: `id` → `market_listing_id`, `title`,
//!   `vendor`, `price` (`USD 50`, `EUR 25`) → `price` in that currency
//!   (`price_usd` only when it is USD: the dataset states no conversion),
//!   `category` (`Opioids - Heroin`) → `["Opioids", "Heroin"]` (cut at
//!   ` - `), `shipsFrom` → `ships_from`, `shipsTo` → `ships_to`.
//! * `vendors` → [`model::Vendor`]: `username` → `name`, `joined`
//!   (`December 2019`) → `registered` as shown, `sales` → `sales`; the market
//!   shows sales as a range (`520 - 530`), and `sales` keeps the **lower
//!   bound** (a warning on the row says so); `fingerprint` → `pgp_fingerprint`
//!   (upper case, spaces removed; anything but 40 hex digits is dropped with a
//!   warning). `feedback` (a count) and `publicKey` (armour with its line
//!   breaks stripped) have no place in the vendor record and are not imported.
//! * `categories` → [`model::CategoryEntry`]: `name`, `amountOfListings` →
//!   `count`.
//! * `pages` is the crawler's log (page name, local time `HH-MM-SS` with no
//!   zone): no records, and not counted in `rows`.
//!
//! `rows` counts the members of `products`, `vendors` and `categories`. A
//! record's `row` is its 1-based position within its document, and its line
//! is the line its value (the `{`) starts on.
//!
//! `observed_at` is the date in the file name (`whm_23-05-2021.json`, day
//! first); when the name holds no such date, the crawl date of the known
//! export, 2021-05-23, is used with a warning. The crawl log's times have no
//! time zone, so no time of day is claimed.

use crate::common::provenance;
use crate::mapping::json::{self, J};
use crate::mapping::{money, nonblank};
use crate::{DatasetExtraction, DatasetInput};

const FORMAT: &str = "whitehouse-2021";
const MARKET: &str = "whitehouse";
/// The crawl date of the known export.
const DEFAULT_DATE: &str = "2021-05-23";

/// A MongoDB export (`$oid`, `name`, `values`) whose file name says White House.
pub(crate) fn detect(source: &str, head: &[u8]) -> bool {
    let name = source.rsplit(['/', '\\']).next().unwrap_or(source).to_ascii_lowercase();
    if !(name.contains("whm") || name.contains("whitehouse") || name.contains("white_house") || name.contains("white-house")) {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('[') && t.contains("\"$oid\"") && t.contains("\"values\"") && t.contains("\"name\"")
}

/// `whm_23-05-2021.json` → `2021-05-23`.
fn date_from_name(source: &str) -> Option<String> {
    let name = source.rsplit(['/', '\\']).next().unwrap_or(source);
    let b = name.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let w = name.get(i..i + 10)?;
        let d = chrono::NaiveDate::parse_from_str(w, "%d-%m-%Y").ok()?;
        let before_ok = i == 0 || !b[i - 1].is_ascii_digit();
        let after_ok = b.get(i + 10).is_none_or(|c| !c.is_ascii_digit());
        (before_ok && after_ok).then(|| d.format("%Y-%m-%d").to_string())
    })
}

pub(crate) fn parse(input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut out = DatasetExtraction { market: Some(MARKET.into()), ..Default::default() };
    let text = crate::mapping::decode(input.bytes, encoding_rs::UTF_8, &mut out);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let observed = match date_from_name(input.source) {
        Some(d) => d,
        None => {
            out.warn(0, None, format!("no DD-MM-YYYY date in the file name: observed_at is {DEFAULT_DATE}"));
            DEFAULT_DATE.to_owned()
        }
    };
    // A file cut short keeps the whole records before the cut.
    let doc = match json::parse(text) {
        Ok(d) => d,
        Err(json::Broken { line, message, read: Some(read) }) => {
            out.warn(line, None, format!("not JSON from here on: {message}; the whole records before are read"));
            read
        }
        Err(json::Broken { line, message, read: None }) => {
            out.reject(line, None, format!("not JSON: {message}"));
            return out;
        }
    };
    let J::Arr(docs) = doc.uncut() else {
        out.reject(1, None, "not a JSON array of MongoDB documents");
        return out;
    };
    for (doc_line, d) in docs {
        let d = d.uncut();
        let name = d.get("name").and_then(J::scalar_text).unwrap_or_default();
        let members: Vec<(u64, &J)> = match d.get("values").map(J::uncut) {
            Some(J::Obj(m)) => m.iter().map(|(_, l, v)| (*l, v)).collect(),
            Some(J::Arr(a)) => a.iter().map(|(l, v)| (*l, v)).collect(),
            _ => {
                out.warn(*doc_line, None, format!("document {name:?} has no `values` object: skipped"));
                continue;
            }
        };
        let kind = match name.as_str() {
            "products" | "vendors" | "categories" => name.as_str(),
            "pages" => continue,
            _ => {
                out.warn(*doc_line, None, format!("unknown document {name:?}: skipped"));
                continue;
            }
        };
        for (i, (line, v)) in members.into_iter().enumerate() {
            let row = i as u64 + 1;
            out.rows += 1;
            if let J::Cut(_) = v {
                out.reject(line, Some(row), format!("{kind} record cut off where the JSON breaks off"));
                continue;
            }
            if !matches!(v, J::Obj(_)) {
                out.reject(line, Some(row), format!("{kind} record is not an object"));
                continue;
            }
            let ok = match kind {
                "products" => product(input, &mut out, v, row, line, &observed),
                "vendors" => vendor(input, &mut out, v, row, line, &observed),
                _ => category(input, &mut out, v, row, line),
            };
            if ok {
                out.imported += 1;
            }
        }
    }
    out
}

fn field(v: &J, key: &str) -> Option<String> {
    v.get(key).and_then(J::scalar_text).and_then(|s| nonblank(&s))
}

fn product(input: &DatasetInput<'_>, out: &mut DatasetExtraction, v: &J, row: u64, line: u64, observed: &str) -> bool {
    let Some(title) = field(v, "title") else {
        out.reject(line, Some(row), "product without title");
        return false;
    };
    let Some(vendor) = field(v, "vendor") else {
        out.reject(line, Some(row), "product without vendor");
        return false;
    };
    let price = match field(v, "price") {
        None => None,
        Some(p) => {
            let checked = money::parse_price(&p).and_then(|(a, c)| {
                let c = c.ok_or_else(|| format!("{p:?} names no currency"))?;
                let c = money::check_currency(&c)?;
                money::check_amount(&a, &c)?;
                Ok(model::Money { amount: a, currency: c })
            });
            match checked {
                Ok(m) => Some(m),
                Err(e) => {
                    out.reject(line, Some(row), format!("price: {e}"));
                    return false;
                }
            }
        }
    };
    let category = field(v, "category")
        .map(|c| c.split(" - ").filter_map(nonblank).collect())
        .unwrap_or_default();
    out.listings.push(model::Listing {
        market: MARKET.into(),
        market_listing_id: field(v, "id"),
        title,
        vendor: Some(vendor),
        category,
        price_usd: price.as_ref().filter(|m| m.currency == "USD").map(|m| m.amount.clone()),
        price_btc: price.as_ref().filter(|m| m.currency == "BTC").map(|m| m.amount.clone()),
        price,
        ships_from: field(v, "shipsFrom"),
        ships_to: field(v, "shipsTo").map(|s| s.split(',').filter_map(nonblank).collect()).unwrap_or_default(),
        observed_at: Some(observed.to_owned()),
        provenance: Some(provenance(input, FORMAT, row, line)),
        ..Default::default()
    });
    true
}

fn vendor(input: &DatasetInput<'_>, out: &mut DatasetExtraction, v: &J, row: u64, line: u64, observed: &str) -> bool {
    let Some(name) = field(v, "username") else {
        out.reject(line, Some(row), "vendor without username");
        return false;
    };
    let sales = field(v, "sales").and_then(|s| {
        let (low, high) = match s.split_once('-') {
            Some((l, h)) => (l.trim(), Some(h.trim())),
            None => (s.as_str(), None),
        };
        match (low.replace(',', "").parse::<u64>(), high) {
            (Ok(n), Some(h)) => {
                out.warn(line, Some(row), format!("sales shown as the range {s:?}: kept the lower bound {n} (upper {h})"));
                Some(n)
            }
            (Ok(n), None) => Some(n),
            (Err(_), _) => {
                out.warn(line, Some(row), format!("sales {s:?} is not a number or range: left out"));
                None
            }
        }
    });
    let pgp_fingerprint = field(v, "fingerprint").and_then(|f| {
        let fp: String = f.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if fp.len() == 40 && fp.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(fp)
        } else {
            out.warn(line, Some(row), format!("fingerprint {f:?} is not 40 hex digits: left out"));
            None
        }
    });
    out.vendors.push(model::Vendor {
        market: MARKET.into(),
        name,
        registered: field(v, "joined"),
        sales,
        pgp_fingerprint,
        observed_at: Some(observed.to_owned()),
        provenance: Some(provenance(input, FORMAT, row, line)),
        ..Default::default()
    });
    true
}

fn category(input: &DatasetInput<'_>, out: &mut DatasetExtraction, v: &J, row: u64, line: u64) -> bool {
    let Some(name) = field(v, "name") else {
        out.reject(line, Some(row), "category without name");
        return false;
    };
    let count = field(v, "amountOfListings").and_then(|c| match crate::mapping::money::strip_thousands(&c).parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => {
            out.warn(line, Some(row), format!("{}: left out", crate::common::not_a_count("amountOfListings", &c)));
            None
        }
    });
    out.categories.push(model::CategoryEntry {
        market: MARKET.into(),
        name,
        count,
        link: None,
        provenance: Some(provenance(input, FORMAT, row, line)),
    });
    true
}
