//! Grams 2014 (`grams-2014`): exports of the Grams darknet search engine
//! (`1krutarth/darkweb`), one file per market (`grams_1776.csv`,
//! `grams_BB.csv`).
//!
//! Header `"hash","market","itemlink","vendor","price","product",
//! "description","image_link","timestamp","ship_from"`: 10 names, while every
//! data row ends with a comma and so has 11 fields, the last empty. That is
//! the format and is accepted silently (as is a row of exactly 10); any other
//! field count, or a non-empty 11th field, rejects the row. Descriptions span
//! lines inside quotes. The `market` column names the market; each listing's
//! `market` is that name lower-cased with spaces and punctuation removed
//! (`Black Bank` → `blackbank`, `1776` → `1776`), and `out.market` is set
//! when the file has one market. `timestamp` is Unix seconds →
//! `observed_at` in RFC 3339 UTC. `itemlink` is the `url`, its trailing item
//! number (`Viewitem?itemid=2787`, `/item/573`) the `market_listing_id`.
//! Vendor names are trimmed (Black Bank's start with a line break).
//!
//! **Price unit (not stated by the source): it depends on the market.**
//! * 1776: **USD.** Every price is whole cents (`225.00000000`); the median
//!   is 67, and the amounts are street prices in dollars (1 oz of BC bud 200
//!   to 225, 1 g ketamine 50, 1 g speed 12); in BTC they would be
//!   $100,000+ an ounce at the spring-2014 rate of 440-630 USD/BTC.
//! * Black Bank: **BTC.** Prices have 8 free decimals (`0.34263264`), median
//!   0.107. The vendor `bcdirect`/`BCDirect` sells the same products on both
//!   markets: "1oz Grade A Hash" is 225.00 on 1776 and 0.34263264 on Black
//!   Bank (2014-05-30, when BTC closed at 620.85 USD: $212.72), and every
//!   pair of its listings has the same ratio, 656.7 USD per unit, i.e. Black
//!   Bank converted USD list prices to BTC at its own rate.
//!
//! So `price` is `Money { amount, currency: "USD" }` plus `price_usd` for
//! 1776, and `currency: "BTC"` plus `price_btc` for Black Bank. For a market
//! not in that table the unit is inferred from the file, per market, with a
//! warning on line 0: USD when every amount has at most two decimals and
//! their median is at least 1, else BTC. Amounts are kept as written; a
//! negative amount, or one above 1,000 BTC / 1,000,000 USD, rejects the row.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use model::{Listing, Money};
use regex::Regex;

use crate::agora::{cell, col, decimal_text, header_names, header_of, present, price_problem};
use crate::common::{self, CsvOptions, CsvRow};
use crate::{DatasetExtraction, DatasetInput};

const FORMAT: &str = "grams-2014";

const HEADER: [&str; 10] =
    ["hash", "market", "itemlink", "vendor", "price", "product", "description", "image_link", "timestamp", "ship_from"];

pub(crate) fn detect(_source: &str, head: &[u8]) -> bool {
    let names = header_names(head);
    // The real header, or the source README's variant of it.
    let readme = ["hash", "market_name", "item_link", "vendor_name", "price", "name"];
    let starts = |h: &[&str]| names.len() >= h.len() && names.iter().zip(h).all(|(a, b)| a == b);
    starts(&HEADER[..6]) || (starts(&readme) && names.iter().any(|n| n == "add_time"))
}

/// `Black Bank` → `blackbank`.
fn market_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The documented unit of a market's prices.
fn known_unit(market: &str) -> Option<&'static str> {
    match market {
        "1776" => Some("USD"),
        "blackbank" => Some("BTC"),
        _ => None,
    }
}

struct Columns {
    width: usize,
    market: usize,
    link: Option<usize>,
    vendor: usize,
    price: usize,
    title: usize,
    time: Option<usize>,
    ship_from: Option<usize>,
}

impl Columns {
    fn new(h: &[String]) -> Result<Columns, String> {
        let find = |names: &[&str]| names.iter().find_map(|n| col(h, n));
        let need = |names: &[&str]| find(names).ok_or_else(|| format!("the header has no `{}` column", names[0]));
        Ok(Columns {
            width: h.len(),
            market: need(&["market", "market_name"])?,
            link: find(&["itemlink", "item_link"]),
            vendor: need(&["vendor", "vendor_name"])?,
            price: need(&["price"])?,
            title: need(&["product", "name"])?,
            time: find(&["timestamp", "add_time"]),
            ship_from: find(&["ship_from"]),
        })
    }
}

pub(crate) fn parse(input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut out = DatasetExtraction::default();
    let cols = header_of(input.bytes, encoding_rs::UTF_8)
        .ok_or_else(|| "no header".to_owned())
        .and_then(|h| Columns::new(&h));
    // Two passes: the unit of an unknown market is decided from all its rows.
    let mut rows = Vec::new();
    common::read_csv(input.bytes, CsvOptions::default(), &mut out, |out, row| match &cols {
        Ok(cols) => {
            let fields = row.fields.len();
            let trailing_empty = fields == cols.width + 1 && row.fields.last().is_some_and(|l| l.is_empty());
            if fields == cols.width || trailing_empty {
                rows.push(row.clone());
            } else {
                out.reject(row.line, Some(row.row), format!("{fields} fields, expected {} and a trailing comma", cols.width));
            }
        }
        Err(e) => out.reject(row.line, Some(row.row), format!("not a Grams export: {e}")),
    });
    let Ok(cols) = cols else { return out };
    let units = units(&cols, &rows, &mut out);
    let mut markets = BTreeMap::new();
    for row in &rows {
        if let Some(m) = import_row(input, &cols, &units, &mut out, row) {
            *markets.entry(m).or_insert(0u64) += 1;
        }
    }
    if markets.len() == 1 {
        out.market = markets.into_keys().next();
    }
    // The two passes reported out of order: back into file order.
    out.problems.sort_by_key(|p| p.line);
    out
}

/// The price unit of each market in the file, from the rows that can be
/// imported (a title and a vendor): rows rejected for lacking them had
/// decided the unit of the kept rows (two such rows at "100.00" made a kept
/// 0.5 read as USD 0.50; found by a review).
fn units(cols: &Columns, rows: &[CsvRow], out: &mut DatasetExtraction) -> BTreeMap<String, &'static str> {
    let mut amounts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let f = &row.fields;
        let kept = [cols.title, cols.vendor].iter().all(|&c| cell(f, Some(c)).and_then(present).is_some());
        if let (Some(m), Some(p), true) = (cell(f, Some(cols.market)).and_then(present), cell(f, Some(cols.price)), kept) {
            amounts.entry(market_key(m)).or_default().extend(decimal_text(p));
        }
    }
    let mut units = BTreeMap::new();
    for (market, list) in amounts {
        let unit = match known_unit(&market) {
            Some(u) => u,
            None => {
                let cents = list.iter().all(|a| a.split_once('.').is_none_or(|(_, f)| f.trim_end_matches('0').len() <= 2));
                let mut v: Vec<f64> = list.iter().filter_map(|a| a.parse().ok()).collect();
                v.sort_by(f64::total_cmp);
                let median = v.get(v.len() / 2).copied().unwrap_or(0.0);
                let unit = if cents && median >= 1.0 { "USD" } else { "BTC" };
                out.warn(0, None, format!("price unit of market {market:?} is not documented: read as {unit} from the amounts"));
                unit
            }
        };
        units.insert(market, unit);
    }
    units
}

fn import_row(
    input: &DatasetInput<'_>,
    cols: &Columns,
    units: &BTreeMap<String, &'static str>,
    out: &mut DatasetExtraction,
    row: &CsvRow,
) -> Option<String> {
    let (line, n) = (row.line, Some(row.row));
    let f = &row.fields;
    let Some(market) = cell(f, Some(cols.market)).and_then(present).map(market_key).filter(|m| !m.is_empty()) else {
        out.reject(line, n, "no market");
        return None;
    };
    let Some(title) = cell(f, Some(cols.title)).and_then(present) else {
        out.reject(line, n, "no title");
        return None;
    };
    let Some(vendor) = cell(f, Some(cols.vendor)).and_then(present) else {
        out.reject(line, n, "no vendor");
        return None;
    };
    let raw = cell(f, Some(cols.price)).and_then(present);
    let Some(amount) = raw.and_then(decimal_text) else {
        out.reject(line, n, format!("unparsable price {:?}", raw.unwrap_or("")));
        return None;
    };
    let unit = units.get(&market).copied().unwrap_or("BTC");
    if let Some(why) = price_problem(&amount, unit) {
        out.reject(line, n, why);
        return None;
    }
    let observed_at = match cell(f, cols.time).and_then(present) {
        Some(t) => match t.parse::<i64>().ok().and_then(|s| chrono::DateTime::from_timestamp(s, 0)).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            Some(t) if common::possible_time(&t) => Some(t),
            Some(at) => {
                out.warn(line, n, format!("timestamp {t:?} is {at}, no possible time (before 2009-01-03 or after 2100): {}", common::DATED_AS_CAPTURED));
                None
            }
            None => {
                out.warn(line, n, format!("unparsable timestamp {t:?}: {}", common::DATED_AS_CAPTURED));
                None
            }
        },
        None => {
            out.warn(line, n, format!("no timestamp: {}", common::DATED_AS_CAPTURED));
            None
        }
    };
    let url = cell(f, cols.link).and_then(present).map(str::to_owned);
    static ID: OnceLock<Regex> = OnceLock::new();
    let id_re = ID.get_or_init(|| Regex::new(r"[=/](\d+)/?$").expect("static regex"));
    let id = url.as_deref().and_then(|u| id_re.captures(u)).map(|c| c[1].to_owned());
    out.listings.push(Listing {
        market: market.clone(),
        market_listing_id: id,
        title: title.to_owned(),
        vendor: Some(vendor.to_owned()),
        price_usd: (unit == "USD").then(|| amount.clone()),
        price_btc: (unit == "BTC").then(|| amount.clone()),
        price: Some(Money { amount, currency: unit.to_owned() }),
        ships_from: cell(f, cols.ship_from).and_then(present).map(str::to_owned),
        url,
        observed_at,
        provenance: Some(common::provenance(input, FORMAT, row.row, line)),
        ..Default::default()
    });
    out.imported += 1;
    Some(market)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_names() {
        assert_eq!(market_key("Black Bank"), "blackbank");
        assert_eq!(market_key(" 1776 "), "1776");
    }
}
