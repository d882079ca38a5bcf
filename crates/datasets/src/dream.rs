//! Dream Market cocaine listings, July 2017 (Kaggle "cocaine-listings",
//! `dream_market_cocaine_listings.csv`, format `dream-2017`).
//!
//! A cleaned CSV (CRLF, 64 columns, first header cell empty). Columns are
//! found by header name, so their order does not matter.
//!
//! * `product_title` → `title`; `vendor_name` → `vendor`;
//!   `btc_price` → `price` (BTC) and `price_btc`; `product_link` → `url`,
//!   and its `offer=` value → `market_listing_id` (as written, e.g.
//!   `406959.769875`); `ships_from` → `ships_from`; `ships_to` (`WW, EU`) →
//!   `ships_to`, split at commas. Every listing gets the category
//!   `["Drugs", "Cocaine"]` (the dataset is that one category).
//! * `successful_transactions` and `rating` describe the vendor (they are the
//!   same on every row of a vendor): one [`model::Vendor`] per distinct vendor,
//!   from its first row, with `sales` and `rating`; a later row that
//!   disagrees gets a warning.
//! * Not imported (derived by the dataset's authors, or not in the record
//!   model): the unnamed index column, `ships_from_to` (= ships_from → ships_to),
//!   `grams`, `quality`, `cost_per_gram`, `cost_per_gram_pure`, `escrow`,
//!   `vendor_link`, and the 48 `ships_to_XX` / `ships_from_XX` dummies.
//! * `observed_at` is `2017-07`: the source says only "collected in July
//!   2017" and the rows carry no date, so the day is not claimed (ISO 8601
//!   calendar month, which sorts before any day of July 2017).

use std::collections::HashMap;

use crate::common::{provenance, read_csv, CsvOptions};
use crate::mapping::{money, nonblank};
use crate::{DatasetExtraction, DatasetInput};

const FORMAT: &str = "dream-2017";
/// The crawl month (see the module docs).
pub(crate) const OBSERVED_AT: &str = "2017-07";

/// The Kaggle file's header.
pub(crate) fn detect(_source: &str, head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.starts_with(b",product_title,ships_from_to,grams,quality,btc_price,")
}

pub(crate) fn parse(input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut out = DatasetExtraction { market: Some("dream".into()), ..Default::default() };
    let mut cols: Option<HashMap<String, usize>> = None;
    // Vendor name → index in out.vendors.
    let mut vendors: HashMap<String, usize> = HashMap::new();
    let header = first_record(input.bytes);
    read_csv(input.bytes, CsvOptions::default(), &mut out, |out, r| {
        let cols = cols.get_or_insert_with(|| {
            let mut m = HashMap::new();
            for (i, h) in header.iter().flatten().enumerate() {
                m.entry(h.trim().to_owned()).or_insert(i);
            }
            m
        });
        let get = |name: &str| cols.get(name).and_then(|&i| r.fields.get(i)).and_then(|s| nonblank(s));
        let (row, line) = (r.row, r.line);
        for required in ["product_title", "vendor_name", "btc_price"] {
            if !cols.contains_key(required) {
                out.reject(line, Some(row), format!("the header has no {required} column"));
                return;
            }
        }
        // A row with more or fewer fields than the header has its values
        // under the wrong columns (a comma in a title shifts the price onto
        // `quality`'s value): no field of it can be trusted.
        let width = header.as_ref().map_or(0, Vec::len);
        if r.fields.len() != width {
            out.reject(line, Some(row), format!("{} fields, the header has {width}", r.fields.len()));
            return;
        }
        let Some(title) = get("product_title") else {
            out.reject(line, Some(row), "no product_title");
            return;
        };
        let Some(vendor) = get("vendor_name") else {
            out.reject(line, Some(row), "no vendor_name");
            return;
        };
        let Some(shown) = get("btc_price") else {
            out.reject(line, Some(row), "no btc_price");
            return;
        };
        let amount = match money::parse_price(&shown) {
            Ok((_, Some(c))) if c != "BTC" => Err(format!("{shown:?} is in {c}, not BTC")),
            Ok((a, _)) => money::check_amount(&a, "BTC").map(|_| a),
            Err(e) => Err(e),
        };
        let amount = match amount {
            Ok(a) => a,
            Err(e) => {
                out.reject(line, Some(row), format!("btc_price: {e}"));
                return;
            }
        };
        let url = get("product_link");
        let id = url.as_deref().and_then(offer_id);
        let ships_to = get("ships_to")
            .map(|s| s.split(',').filter_map(nonblank).collect())
            .unwrap_or_default();
        let prov = provenance(input, FORMAT, row, line);
        // The vendor observation.
        let sales_text = get("successful_transactions");
        let sales = sales_text.as_deref().and_then(|s| s.parse::<u64>().ok());
        if sales_text.is_some() && sales.is_none() {
            out.warn(line, Some(row), crate::common::not_a_count("successful_transactions", sales_text.as_deref().unwrap_or_default()));
        }
        let rating = get("rating");
        match vendors.get(&vendor) {
            Some(&i) => {
                let v = &out.vendors[i];
                if v.sales != sales || v.rating != rating {
                    let msg = format!(
                        "vendor {vendor:?}: successful_transactions/rating {:?}/{:?} differ from its first row ({:?}/{:?}); kept the first",
                        sales, rating, v.sales, v.rating
                    );
                    out.warn(line, Some(row), msg);
                }
            }
            None => {
                vendors.insert(vendor.clone(), out.vendors.len());
                out.vendors.push(model::Vendor {
                    market: "dream".into(),
                    name: vendor.clone(),
                    sales,
                    rating,
                    observed_at: Some(OBSERVED_AT.into()),
                    provenance: Some(prov.clone()),
                    ..Default::default()
                });
            }
        }
        out.listings.push(model::Listing {
            market: "dream".into(),
            market_listing_id: id,
            title,
            vendor: Some(vendor),
            category: vec!["Drugs".into(), "Cocaine".into()],
            price: Some(model::Money { amount: amount.clone(), currency: "BTC".into() }),
            price_btc: Some(amount),
            ships_from: get("ships_from"),
            ships_to,
            url,
            observed_at: Some(OBSERVED_AT.into()),
            provenance: Some(prov),
            ..Default::default()
        });
        out.imported += 1;
    });
    out
}

/// `...viewProduct?offer=406959.769875` → `406959.769875`.
fn offer_id(url: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| kv.strip_prefix("offer=")).and_then(nonblank)
}

/// The header record (first CSV record), decoded as UTF-8.
fn first_record(bytes: &[u8]) -> Option<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    match r.read_byte_record(&mut rec) {
        Ok(true) => Some(
            rec.iter()
                .map(|f| String::from_utf8_lossy(f).trim_start_matches('\u{feff}').to_owned())
                .collect(),
        ),
        _ => None,
    }
}
