//! Hansa Market, December 2016: an OnionScan dump of listings
//! (`hansa-marketplace-listings-december-2016.csv`, format `hansa-2016-12`).
//!
//! No header. Every line is `"time", "item_id", "title", "vendor", "price",
//! "type", "nation"`: quoted fields separated by `", "` (comma, space). A CSV
//! reader cannot read this (after the space the quote is not at the start of
//! the field, so quotes stay in the text and commas inside titles split
//! fields), so lines are cut here by [`read_quoted_lines`]: a field ends at a
//! quote followed by the separator and a quote, or by the end of the line.
//! There are no quotes inside fields in the real file.
//!
//! * `time` (`2016-12-11 20:13:54.654635085 -0500 EST`) → `observed_at`,
//!   RFC 3339 UTC (`2016-12-12T01:13:54.654635085Z`); the zone abbreviation
//!   is ignored, the numeric offset is used.
//! * `item_id` → `market_listing_id`; `title`, `vendor` trimmed (titles keep
//!   the HTML entities the scraper left in them, such as `&#039;`);
//!   `price` (`USD 1,320.31`) → `price` and `price_usd` (`1320.31`);
//!   `type` → `category` (one level); `nation` → `ships_from`.
//! * Rows with 6 fields lack `nation` (5,501 in the real file): imported
//!   without `ships_from`, with one summary warning (line 0).
//! * Rows with fewer than 6 fields, or more than 7, are rejected. In the real
//!   file all such rows (17 with 3–4 fields, and one 6-field row whose vendor
//!   and price sit one column early) are missing the title.

use chrono::DateTime;

use crate::common::provenance;
use crate::mapping::{money, nonblank, when};
use crate::{DatasetExtraction, DatasetInput};

const FORMAT: &str = "hansa-2016-12";

/// A Hansa dump: the name says so and one of the first lines is an
/// OnionScan row (the first may be one of the file's short rows, and a
/// byte-order mark may come before it: both had left a Hansa file stored
/// as a page, with no row read; found by a review).
pub(crate) fn detect(source: &str, head: &[u8]) -> bool {
    let name = source.rsplit(['/', '\\']).next().unwrap_or(source).to_ascii_lowercase();
    if !name.contains("hansa") {
        return false;
    }
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.split(|&b| b == b'\n' || b == b'\r').filter(|l| !l.is_empty()).take(5).any(|line| {
        let Ok(line) = std::str::from_utf8(line) else { return false };
        let fields = split_line(line, ", ");
        fields.len() >= 5 && line.starts_with('"') && parse_time(&fields[0]).is_some() && money::parse_price(&fields[4]).is_ok()
    })
}

/// `2016-12-11 20:13:54.654635085 -0500 EST` → RFC 3339 UTC.
fn parse_time(t: &str) -> Option<String> {
    let t = t.trim();
    // Drop a trailing zone abbreviation (letters only); the offset decides.
    let t = match t.rsplit_once(' ') {
        Some((rest, abbr)) if !abbr.is_empty() && abbr.bytes().all(|b| b.is_ascii_alphabetic()) => rest,
        _ => t,
    };
    DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f %z").ok().map(when::utc)
}

/// Cuts one line of quoted fields separated by `sep`. A quoted field ends at
/// a quote followed by `sep` or the end of the line; `""` inside it is a
/// quote. An unquoted field ends at `sep`.
pub(crate) fn split_line(line: &str, sep: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        if let Some(body) = rest.strip_prefix('"') {
            let mut field = String::new();
            let mut i = 0;
            let bytes = body.as_bytes();
            let next = loop {
                match body[i..].find('"') {
                    None => {
                        // No closing quote: the rest is the field.
                        field.push_str(&body[i..]);
                        break None;
                    }
                    Some(q) => {
                        let q = i + q;
                        field.push_str(&body[i..q]);
                        let after = &body[q + 1..];
                        if after.is_empty() {
                            break None;
                        }
                        if let Some(r) = after.strip_prefix(sep) {
                            break Some(r);
                        }
                        if bytes.get(q + 1) == Some(&b'"') {
                            field.push('"');
                            i = q + 2;
                        } else {
                            field.push('"');
                            i = q + 1;
                        }
                    }
                }
            };
            fields.push(field);
            match next {
                Some(r) => rest = r,
                None => return fields,
            }
        } else {
            match rest.find(sep) {
                Some(p) => {
                    fields.push(rest[..p].to_owned());
                    rest = &rest[p + sep.len()..];
                }
                None => {
                    fields.push(rest.to_owned());
                    return fields;
                }
            }
        }
    }
}

/// Reads `text` line by line (LF, CRLF or CR end a line; blank lines are
/// skipped), cutting each with [`split_line`]. With `header`, the first line
/// is the header and is passed to every call. Counts `out.rows`.
pub(crate) fn read_quoted_lines(
    text: &str,
    sep: &str,
    header: bool,
    out: &mut DatasetExtraction,
    mut each: impl FnMut(&mut DatasetExtraction, Option<&[String]>, u64, u64, Vec<String>),
) {
    let mut head: Option<Vec<String>> = None;
    let mut row = 0u64;
    let mut line_no = 0u64;
    let mut rest = text;
    while !rest.is_empty() {
        line_no += 1;
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        rest = &rest[end..];
        if rest.starts_with("\r\n") {
            rest = &rest[2..];
        } else if !rest.is_empty() {
            rest = &rest[1..];
        }
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_line(line, sep);
        if header && head.is_none() {
            head = Some(fields);
            continue;
        }
        row += 1;
        out.rows += 1;
        each(out, head.as_deref(), row, line_no, fields);
    }
}

pub(crate) fn parse(input: &DatasetInput<'_>) -> DatasetExtraction {
    let mut out = DatasetExtraction { market: Some("hansa".into()), ..Default::default() };
    let text = crate::mapping::decode(input.bytes, encoding_rs::UTF_8, &mut out);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut no_nation = 0u64;
    read_quoted_lines(text, ", ", false, &mut out, |out, _, row, line, f| {
        // A known currency, with its space ("USD 5.00"): a vendor such as
        // "Zloy3" read as the price "ZLOY 3" and made a bad price look like
        // a row one column early (found by a review).
        let looks_like_price = |s: &str| {
            s.trim().contains(' ') && money::parse_price(s).is_ok_and(|(_, c)| c.is_some_and(|c| money::check_currency(&c).is_ok()))
        };
        if !(6..=7).contains(&f.len()) {
            out.reject(
                line,
                Some(row),
                format!("{} fields, expected 7 (time, item_id, title, vendor, price, type, nation)", f.len()),
            );
            return;
        }
        if looks_like_price(&f[3]) && !looks_like_price(&f[4]) {
            out.reject(line, Some(row), format!("no title: vendor and price are one column early ({:?}, {:?})", f[2], f[3]));
            return;
        }
        let Some(title) = nonblank(&f[2]) else {
            out.reject(line, Some(row), "no title");
            return;
        };
        let Some(vendor) = nonblank(&f[3]) else {
            out.reject(line, Some(row), "no vendor");
            return;
        };
        let (amount, currency) = match money::parse_price(&f[4]) {
            Ok((a, Some(c))) => (a, c),
            Ok((_, None)) => {
                out.reject(line, Some(row), format!("price {:?} names no currency", f[4]));
                return;
            }
            Err(e) => {
                out.reject(line, Some(row), format!("price: {e}"));
                return;
            }
        };
        if let Err(e) = money::check_currency(&currency).and_then(|c| money::check_amount(&amount, &c)) {
            out.reject(line, Some(row), format!("price {:?}: {e}", f[4]));
            return;
        }
        let observed_at = parse_time(&f[0]).filter(|t| crate::common::possible_time(t));
        if observed_at.is_none() {
            out.warn(line, Some(row), format!("time {:?} does not parse or is no possible time (before 2009-01-03 or after 2100): {}", f[0], crate::common::DATED_AS_CAPTURED));
        }
        let ships_from = f.get(6).and_then(|s| nonblank(s));
        if f.len() == 6 {
            no_nation += 1;
        }
        out.listings.push(model::Listing {
            market: "hansa".into(),
            market_listing_id: nonblank(&f[1]),
            title,
            vendor: Some(vendor),
            category: nonblank(&f[5]).into_iter().collect(),
            price_usd: (currency == "USD").then(|| amount.clone()),
            price_btc: (currency == "BTC").then(|| amount.clone()),
            price: Some(model::Money { amount, currency }),
            ships_from,
            observed_at,
            provenance: Some(provenance(input, FORMAT, row, line)),
            ..Default::default()
        });
        out.imported += 1;
    });
    if no_nation > 0 {
        out.warn(0, None, format!("{no_nation} rows have no nation field: imported without ships_from"));
    }
    out
}
