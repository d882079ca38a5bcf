//! AlphaBay 2017 (`alphabay-2017`): the 69 category CSVs of
//! `davidldenton/dnm`, scraped with the Web Scraper browser extension
//! (`SOURCE_DNM_sitemap.json` holds the CSS selector behind each column).
//!
//! **Encoding: Mac OS Roman.** The files are the output of a classic-Mac
//! "CSV (Macintosh)" save: records end with a bare CR and the text is in a
//! single-byte Mac encoding. Mac OS Roman maps every byte to a printable
//! character, while 19,515 bytes of the files (0x81, 0x8D, 0x8F, 0x90, 0x9D)
//! are undefined in windows-1252 and 173,612 bytes (0x80-0x9F) would be C1
//! control characters in latin-1. The text was already mojibake before that
//! last save (UTF-8 read as a legacy code page, characters the Mac encoding
//! lacks written as `_`), e.g. the separators inside the "sold since" cell are
//! `ŒæŒæ` or `åÊåÊ` and `Qualität` appears as `Qualití_t`; no decoding
//! restores those, and none is attempted: the importer decodes with Mac OS
//! Roman, which gives the characters the file's own encoding says.
//!
//! **Columns.** The header's names do not all describe their column's
//! content (the export dropped the `-href` columns, so each name after
//! `listing_link` sits on the text of the next selector). What the cells
//! hold: `listing_title` the title, `listing_price`
//! `Buy price USD 700.00 (0.5277 BTC)` (auctions: `Current price ...`, maybe
//! followed by a `Buy price`), `listing_vendor` the vendor, `listing_item`
//! `Views: 135 / Bids: Fixed price Quantity left: 5` or `Item # 1234 - ...`,
//! `listing_link` the link **text** (the title again, no URL), and
//! `detail_qty_sold` (not `detail_name`, which holds the title cut at 50
//! characters) `Sold by X - 34 sold since Dec 17, 2015 … Vendor Level 8 …
//! Trust Level 7`, read from the listing's own page; `detail_price`
//! `Purchase price: USD 50.17`. The importer looks for the "Sold by" text in
//! `detail_qty_sold` and falls back to any cell that starts with it.
//!
//! **Records.** One `Listing` per row: category from the file name
//! (`D_C_-_stims_-_cocaine_-_20170420.csv` → `Drugs & Chemicals / stims /
//! cocaine`; the top level spelt as the market spells it in `category_link`,
//! lower levels as in the file name with `___` read as ` & ` and `_` as a
//! space, spelling errors kept), `observed_at` the file name's date, price in
//! USD with `price_usd` and `price_btc` both from the market's own price text
//! (`listing_price`, else `detail_price` with a warning), `stock` from
//! "Quantity left", `market_listing_id` from `Item # N`, `sold` and
//! `sold_since` (ISO) from the "sold since" text. When that text names a
//! different vendor than the row (the scraper followed the wrong link; 13 rows
//! in the dataset), its facts belong to another listing: they are left out
//! with a warning. One `Vendor` per distinct vendor per file: name, vendor
//! level, trust level, `observed_at`, provenance of its first row.
//! Web Scraper's `null` is an absent value. A price above 1,000,000 USD is
//! rejected as absurd (the largest in the dataset is 99,999.99).

use std::collections::HashMap;
use std::sync::OnceLock;

use model::{Listing, Money, Vendor};
use regex::Regex;

use crate::agora::{
    base_name, cell, col, decimal_text, header_names, header_of, present, price_problem, squash,
};
use crate::common::{self, CsvOptions, CsvRow};
use crate::{DatasetExtraction, DatasetInput};

const FORMAT: &str = "alphabay-2017";
const MARKET: &str = "alphabay";

/// The header's first names (the rest follow in the real files).
const HEADER: [&str; 5] = ["category_link", "subcategory_link", "listing_title", "listing_price", "listing_vendor"];

pub(crate) fn detect(_source: &str, head: &[u8]) -> bool {
    let names = header_names(head);
    names.len() >= HEADER.len() && names.iter().zip(HEADER).all(|(a, b)| a == b)
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex"))
}

/// `..._-_20170420.csv` → `2017-04-20`.
fn file_date(name: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let c = re(&RE, r"(\d{4})(\d{2})(\d{2})(?:\.[A-Za-z]+)?$").captures(name)?;
    let d = chrono::NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?)?;
    Some(d.format("%Y-%m-%d").to_string())
}

/// The category path a file name stands for.
fn file_category(name: &str) -> Vec<String> {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let mut parts: Vec<&str> = stem.split("_-_").collect();
    if parts.last().is_some_and(|p| p.len() == 8 && p.bytes().all(|b| b.is_ascii_digit())) {
        parts.pop();
    }
    let words = |p: &str| squash(&p.replace("___", " & ").replace('_', " "));
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i > 0 {
                return words(p);
            }
            // The market's own spelling of the top level (its category_link).
            match p.to_ascii_lowercase().as_str() {
                "d_c" => "Drugs & Chemicals".to_owned(),
                "carded_items" => "Carded Items".to_owned(),
                "counterfeit_items" => "Counterfeit Items".to_owned(),
                "digital_products" | "ditigal_products" => "Digital Products".to_owned(),
                "guides___tutorials" => "Guides & Tutorials".to_owned(),
                "jewels___gold" => "Jewels & Gold".to_owned(),
                "secutiry___hosting" | "security___hosting" => "Security & Hosting".to_owned(),
                "software___malware" => "Software & Malware".to_owned(),
                "other" => "Other Listings".to_owned(),
                _ => words(p),
            }
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// A cell's value, `null` and blanks absent.
fn value(s: &str) -> Option<&str> {
    present(s).filter(|v| *v != "null")
}

struct Price {
    currency: String,
    amount: String,
    btc: Option<String>,
    /// An auction's current bid, not a price anyone paid.
    bid: bool,
}

/// `Buy price USD 700.00 (0.5277 BTC)`; the buy price wins over an
/// auction's current price, unless it is zero (an auction with no price to
/// buy at: "Current price USD 40 / Buy price USD 0.00").
fn listing_price(s: &str) -> Option<Price> {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Group 4 is what follows the amount: a number that goes on ("1e400")
    // is no amount (its leading digits, "1", were read as the price; found
    // by a review).
    let r = re(&RE, r"(Buy|Current) price\s+([A-Z]{3})\s+([0-9][0-9,]*(?:\.[0-9]+)?)([0-9A-Za-z.]?)\s*(?:\(\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*BTC\s*\))?");
    let mut best: Option<Price> = None;
    for c in r.captures_iter(s) {
        if !c[4].is_empty() {
            return None;
        }
        let buy = &c[1] == "Buy";
        let p = Price {
            currency: c[2].to_owned(),
            amount: decimal_text(&c[3])?,
            btc: c.get(5).and_then(|m| decimal_text(m.as_str())),
            bid: !buy,
        };
        let zero = p.amount.bytes().all(|b| matches!(b, b'0' | b'.'));
        if buy && zero && best.is_some() {
            break;
        }
        if buy || best.is_none() {
            best = Some(p);
        }
        if buy {
            break;
        }
    }
    best
}

/// `Purchase price: USD 50.17`.
fn detail_price(s: &str) -> Option<Price> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let c = re(&RE, r"Purchase price:\s*([A-Z]{3})\s+([0-9][0-9,]*(?:\.[0-9]+)?)([0-9A-Za-z.]?)").captures(s)?;
    if !c[3].is_empty() {
        return None;
    }
    Some(Price { currency: c[1].to_owned(), amount: decimal_text(&c[2])?, btc: None, bid: false })
}

struct Sold {
    vendor: String,
    /// The count shown: `Some(None)` when one is shown but is past
    /// [`model::MOST_SOLD`] (or past any number).
    sold: Option<Option<u64>>,
    since: Option<String>,
    level: Option<String>,
    trust: Option<String>,
}

/// `Sold by X - 34 sold since Dec 17, 2015 ... Vendor Level 8 ... Trust Level 7`.
fn sold_text(s: &str) -> Option<Sold> {
    static BY: OnceLock<Regex> = OnceLock::new();
    static SINCE: OnceLock<Regex> = OnceLock::new();
    static LEVEL: OnceLock<Regex> = OnceLock::new();
    static TRUST: OnceLock<Regex> = OnceLock::new();
    let by = re(&BY, r"^\s*Sold by\s+(.+?)\s+-(?:\s|$)").captures(s)?;
    let since = re(&SINCE, r"(\d+)\s+sold since\s+([A-Z][a-z]{2,8}\s+\d{1,2},\s+\d{4})").captures(s);
    let level = re(&LEVEL, r"Vendor Level\s+(\d+)").captures(s);
    let trust = re(&TRUST, r"Trust Level\s+(\d+)").captures(s);
    Some(Sold {
        vendor: by[1].trim().to_owned(),
        sold: since.as_ref().map(|c| c[1].parse().ok().filter(|&n| n <= model::MOST_SOLD)),
        since: since.as_ref().map(|c| {
            let shown = squash(&c[2]);
            chrono::NaiveDate::parse_from_str(&shown, "%b %d, %Y")
                .or_else(|_| chrono::NaiveDate::parse_from_str(&shown, "%B %d, %Y"))
                .map_or(shown, |d| d.format("%Y-%m-%d").to_string())
        }),
        level: level.map(|c| c[1].to_owned()),
        trust: trust.map(|c| c[1].to_owned()),
    })
}

struct Columns {
    width: usize,
    title: usize,
    price: usize,
    vendor: usize,
    item: Option<usize>,
    link: Option<usize>,
    sold: Option<usize>,
    detail_price: Option<usize>,
}

impl Columns {
    fn new(h: &[String]) -> Result<Columns, String> {
        let need = |n: &str| col(h, n).ok_or_else(|| format!("the header has no `{n}` column"));
        Ok(Columns {
            width: h.len(),
            title: need("listing_title")?,
            price: need("listing_price")?,
            vendor: need("listing_vendor")?,
            item: col(h, "listing_item"),
            link: col(h, "listing_link"),
            sold: col(h, "detail_qty_sold"),
            detail_price: col(h, "detail_price"),
        })
    }
}

struct Ctx<'a> {
    input: &'a DatasetInput<'a>,
    cols: Columns,
    category: Vec<String>,
    observed_at: Option<String>,
    vendors: HashMap<String, usize>,
}

pub(crate) fn parse(input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut out = DatasetExtraction { market: Some(MARKET.to_owned()), ..Default::default() };
    let name = base_name(input.source);
    let observed_at = file_date(name).filter(|d| common::possible_time(d));
    if observed_at.is_none() {
        out.warn(0, None, format!("no possible YYYYMMDD crawl date in the file name {name:?}: every {}", common::DATED_AS_CAPTURED));
    }
    let cols = header_of(input.bytes, encoding_rs::MACINTOSH)
        .ok_or_else(|| "no header".to_owned())
        .and_then(|h| Columns::new(&h));
    let mut ctx = match cols {
        Ok(cols) => Ctx {
            input,
            cols,
            category: file_category(name),
            observed_at,
            vendors: HashMap::new(),
        },
        Err(e) => {
            let opts = CsvOptions { encoding: encoding_rs::MACINTOSH, ..Default::default() };
            common::read_csv(input.bytes, opts, &mut out, |out, row| {
                out.reject(row.line, Some(row.row), format!("not an AlphaBay category table: {e}"))
            });
            return out;
        }
    };
    let opts = CsvOptions { encoding: encoding_rs::MACINTOSH, ..Default::default() };
    common::read_csv(input.bytes, opts, &mut out, |out, row| import_row(&mut ctx, out, row));
    out
}

fn import_row(ctx: &mut Ctx<'_>, out: &mut DatasetExtraction, row: &CsvRow) {
    let (line, n) = (row.line, Some(row.row));
    let f = &row.fields;
    let cols = &ctx.cols;
    if f.len() != cols.width {
        return out.reject(line, n, format!("{} fields, the header has {}", f.len(), cols.width));
    }
    let Some(title) = cell(f, Some(cols.title)).and_then(value) else {
        return out.reject(line, n, "no title");
    };
    let Some(vendor) = cell(f, Some(cols.vendor)).and_then(value) else {
        return out.reject(line, n, "no vendor");
    };
    let price = match cell(f, Some(cols.price)).and_then(value) {
        Some(p) => match listing_price(p) {
            // A bid is what someone offered so far, not what a sale cost.
            Some(p) if p.bid => {
                out.warn(line, n, format!("an auction's current bid ({} {}), not a sale price: its sales are unpriced", p.currency, p.amount));
                None
            }
            Some(p) => Some(p),
            None => return out.reject(line, n, format!("unparsable price {:?}", squash(p))),
        },
        None => {
            let d = cell(f, cols.detail_price).and_then(value);
            match d.map(|d| (d, detail_price(d))) {
                Some((_, Some(p))) => {
                    out.warn(line, n, "listing_price is empty: the price is the listing page's purchase price");
                    Some(p)
                }
                Some((d, None)) => return out.reject(line, n, format!("unparsable price {:?}", squash(d))),
                None => {
                    out.warn(line, n, "no price");
                    None
                }
            }
        }
    };
    if let Some(p) = &price {
        // An unknown code rejects the row, as in every importer (XYZ and QQQ
        // had been imported as currencies; found by a review).
        if let Err(why) = crate::mapping::money::check_currency(&p.currency) {
            return out.reject(line, n, why);
        }
        let why = price_problem(&p.amount, &p.currency)
            .or_else(|| p.btc.as_deref().and_then(|b| price_problem(b, "BTC")));
        if let Some(why) = why {
            return out.reject(line, n, why);
        }
    }
    let item = cell(f, cols.item).and_then(value).unwrap_or("");
    static STOCK: OnceLock<Regex> = OnceLock::new();
    static ITEM: OnceLock<Regex> = OnceLock::new();
    let stock = re(&STOCK, r"Quantity left:\s*(\S+)").captures(item).map(|c| c[1].to_owned());
    let mut id = re(&ITEM, r"Item #\s*(\d+)").captures(item).map(|c| c[1].to_owned());
    // The link column holds the link text; use it only if it is a URL.
    let mut url = None;
    if let Some(link) = cell(f, cols.link).and_then(value) {
        if link != title && (link.starts_with("http://") || link.starts_with("https://")) && !link.contains(char::is_whitespace) {
            url = Some(link.to_owned());
            static LID: OnceLock<Regex> = OnceLock::new();
            if id.is_none() {
                id = re(&LID, r"[?&/](?:id|listing|item)[=/](\d+)").captures(link).map(|c| c[1].to_owned());
            }
        }
    }
    let sold_cell = cell(f, cols.sold)
        .filter(|s| s.trim_start().starts_with("Sold by"))
        .or_else(|| f.iter().map(String::as_str).find(|s| s.trim_start().starts_with("Sold by")));
    let mut sold = sold_cell.and_then(sold_text);
    if let Some(s) = sold.as_mut().filter(|s| s.sold == Some(None)) {
        out.warn(line, n, format!("its \"N sold since\" shows more than any listing sells (over {}): the count is left out", model::MOST_SOLD));
        s.sold = None;
    }
    if let Some(s) = &sold {
        if s.vendor != vendor {
            out.warn(
                line,
                n,
                format!("the listing page names vendor {:?}, the row {vendor:?}: its sold count and levels are left out", s.vendor),
            );
            sold = None;
        }
    }
    let provenance = common::provenance(ctx.input, FORMAT, row.row, line);
    match ctx.vendors.get(vendor) {
        Some(&i) => {
            if let (Some(v), Some(s)) = (out.vendors.get_mut(i), &sold) {
                if v.level.is_none() && v.trust.is_none() {
                    v.level.clone_from(&s.level);
                    v.trust.clone_from(&s.trust);
                }
            }
        }
        None => {
            ctx.vendors.insert(vendor.to_owned(), out.vendors.len());
            out.vendors.push(Vendor {
                market: MARKET.to_owned(),
                name: vendor.to_owned(),
                level: sold.as_ref().and_then(|s| s.level.clone()),
                trust: sold.as_ref().and_then(|s| s.trust.clone()),
                observed_at: ctx.observed_at.clone(),
                provenance: Some(provenance.clone()),
                ..Default::default()
            });
        }
    }
    let usd = price.as_ref().filter(|p| p.currency == "USD").map(|p| p.amount.clone());
    out.listings.push(Listing {
        market: MARKET.to_owned(),
        market_listing_id: id,
        title: title.to_owned(),
        vendor: Some(vendor.to_owned()),
        category: ctx.category.clone(),
        price_usd: usd,
        price_btc: price.as_ref().and_then(|p| p.btc.clone()),
        price: price.map(|p| Money { amount: p.amount, currency: p.currency }),
        stock,
        sold: sold.as_ref().and_then(|s| s.sold.flatten()),
        sold_since: sold.and_then(|s| s.since),
        url,
        observed_at: ctx.observed_at.clone(),
        provenance: Some(provenance),
        ..Default::default()
    });
    out.imported += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(file_date("D_C_-_stims_-_cocaine_-_20170420.csv").as_deref(), Some("2017-04-20"));
        assert_eq!(file_category("D_C_-_stims_-_cocaine_-_20170420.csv"), ["Drugs & Chemicals", "stims", "cocaine"]);
        assert_eq!(file_category("Fraud_-_accounts___bank_drops_-_20170507.csv"), ["Fraud", "accounts & bank drops"]);
        assert_eq!(file_category("Guides___tutorials_-_20170508.csv"), ["Guides & Tutorials"]);
        assert_eq!(file_category("Ditigal_products_-_game_keys_-_20170507.csv"), ["Digital Products", "game keys"]);
    }

    #[test]
    fn texts() {
        let p = listing_price("Buy price\nUSD 4,899.00\n\n(2.7837 BTC)").unwrap();
        assert_eq!((p.currency.as_str(), p.amount.as_str(), p.btc.as_deref()), ("USD", "4899.00", Some("2.7837")));
        // An auction with no price to buy at gives its bid, marked.
        let p = listing_price("Current price\nUSD 40.00\n\n(0.0300 BTC)\n\n\nBuy price\nUSD 0.00\n\n(0.0000 BTC)").unwrap();
        assert!(p.bid && p.amount == "40.00", "{}", p.amount);
        assert!(listing_price("Current price\nUSD 900.00").unwrap().bid);
        assert!(!listing_price("Buy price\nUSD 0.00").unwrap().bid);
        let p = listing_price("Current price\nUSD 5.00\n\n(0.0030 BTC)\n\n\nBuy price\nUSD 9.00\n\n(0.0060 BTC)").unwrap();
        assert_eq!(p.amount, "9.00");
        let s = sold_text("Sold by life care -\n34 sold since Dec 17, 2015ŒæŒæVendor Level 8ŒæTrust Level 7").unwrap();
        assert_eq!(s.vendor, "life care");
        assert_eq!((s.sold, s.since.as_deref(), s.level.as_deref(), s.trust.as_deref()), (Some(Some(34)), Some("2015-12-17"), Some("8"), Some("7")));
        // A count past any listing's is shown, and left out.
        let s = sold_text("Sold by life care -\n99999999999999999999 sold since Dec 17, 2015").unwrap();
        assert_eq!(s.sold, Some(None));
        let s = sold_text("Sold by life care -\n1000000001 sold since Dec 17, 2015").unwrap();
        assert_eq!(s.sold, Some(None));
        assert_eq!(sold_text("Sold by life care - Vendor Level 8").unwrap().sold, None);
    }
}
