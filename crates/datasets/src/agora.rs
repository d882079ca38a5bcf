//! Agora 2014 (`agora-2014`): the CSV files of `mozzarellaV8/agora-marketplace`
//! built from gwern's Agora crawls.
//!
//! Every file is UTF-8 CSV with a quoted header; columns are mapped **by
//! header name**, never by position, because the families differ:
//!
//! * `product__products-*.csv`: `list,date,vendor,product,price,cat,subcat,
//!   subsubcat,feedback,from,to` (the 2014-03-01 file has no `subsubcat`).
//! * `arules__Ag2014-ssc*.csv`: the same plus `goodFB..worstFB` flags; `list`
//!   is the bare listing id and `price` is an **association-rules bin**
//!   (`[1.00e-07,1.49e+00)`), not a price: those listings get no price, and
//!   the file gets one warning (line 0) saying so.
//! * `derived__p14c-ukFranchise.csv`, `random-sample100_*.csv`: add `usd` and
//!   `rate`, the dataset's own conversion on the crawl day. Agora showed BTC
//!   only, so `usd` is not taken for a price the market showed (`price_usd`
//!   stays empty, and the file gets one warning saying so): `price` is the BTC
//!   price, converted at the rate of each sale day like every Agora price.
//!   A `usd_shown` column (files `dragnet sim sales` writes in this layout,
//!   for a simulated market that shows USD) is a price shown: `price_usd`.
//! * `vendor__vendorall_0114*.csv`: `date,vendor,name|product,price,from,to`
//!   (no listing id, no category, no feedback). Every row has its own date;
//!   should a row lack one, the crawl month the dataset README gives
//!   (`vendorall_0114` → January 2014) is used, written `2014-01-01`.
//!
//! Values: `NA`, empty and whitespace-only cells are absent; in the derived
//! files `none` and `no info` are their spelling of the same and are absent
//! too. Prices are BTC, `price` = `Money { amount, currency: "BTC" }` and
//! `price_btc`; amounts written in R's scientific notation (`6.674e-05`) are
//! expanded to plain decimal text (`0.00006674`) by moving the decimal point,
//! never through floating point. A price above 1,000 BTC (a "not for sale"
//! placeholder such as 17777.77777777 BTC) is rejected as absurd, with the
//! feedback entries the row shows (its warning counts them).
//!
//! `from` / `to` hold page text such as ` From: USA To: USA `, ` USA `,
//! `\r\n  EU\r\n  `: whitespace is collapsed, `From:`/`To:` labels split, and a
//! `to` value is split at commas into one destination each unless it states
//! an exception (`Worldwide except Australia, New Zealand` stays whole). The
//! vendorall files hold a word in each (`"Hong","Kong"`): see `split_place`.
//!
//! `feedback` holds the raw text of the listing's feedback box: `Feedbacks:`
//! then either `No feedbacks found.` or entries of the shape
//! `5/5 <text> <N days ago> <buyer>` (multi-line in the product files,
//! flattened to one line in the derived and arules files). Each entry is
//! found by its relative date followed by the buyer mark (`anon [0 deals]`,
//! `anon ~5/5, 1~2 deals`, `anon 4.96/5, 25~40 deals`, `anon 6~10 deals`);
//! the rating is the `N/5` that opens the text before it. A last entry cut
//! off by the crawl (no buyer) is still emitted, with a warning.
//!
//! Also home of small helpers shared by the alphabay and grams importers
//! (absent cells, decimal text, price sanity, header reading).

use std::borrow::Cow;
use std::sync::OnceLock;

use model::{FeedbackRef, Listing, Money};
use regex::Regex;

use crate::common::{self, CsvOptions, CsvRow};
use crate::{DatasetExtraction, DatasetInput};

const FORMAT: &str = "agora-2014";
const MARKET: &str = "agora";

// ---------------------------------------------------------------------------
// Shared helpers (also used by alphabay.rs and grams.rs).

/// The trimmed cell, or `None` when it is empty, whitespace-only or `NA`.
pub(crate) fn present(s: &str) -> Option<&str> {
    let t = s.trim_matches(|c: char| c.is_whitespace());
    if t.is_empty() || t == "NA" {
        None
    } else {
        Some(t)
    }
}

/// Whitespace runs (including NBSP, CR, LF) collapsed to one space, trimmed.
pub(crate) fn squash(s: &str) -> String {
    squashed(s).into_owned()
}

/// [`squash`], borrowing `s` when it is so already.
fn squashed(s: &str) -> Cow<'_, str> {
    // Most values (a feedback's date and buyer, millions per file) are
    // single-spaced ASCII already: taken as they are.
    // One pass (four were 0.4 CPU-seconds of the 10M bench): no byte past
    // ASCII, no whitespace but single spaces between words.
    let b = s.as_bytes();
    let mut after_space = true; // a leading space is one too many
    let mut spaced_once = true;
    for &c in b {
        match c {
            b' ' if after_space => spaced_once = false,
            b' ' => after_space = true,
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x80.. => spaced_once = false,
            _ => after_space = false,
        }
    }
    if spaced_once && (b.is_empty() || !after_space) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Plain decimal text for a number as written: an optional sign, digits with
/// optional thousands separators (`4,899.00`), an optional fraction and an
/// optional exponent (`6.674e-05`). Separators are removed and an exponent is
/// applied by moving the decimal point, so the digits are exactly the file's.
/// `None` when the text is not such a number.
pub(crate) fn decimal_text(s: &str) -> Option<String> {
    let s = s.trim();
    let (neg, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => {
            let e = &s[i + 1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (&s[..i], e.parse::<i32>().ok()?)
        }
        None => (s, 0),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let int = if int.contains(',') {
        let mut groups = int.split(',');
        let first = groups.next().unwrap_or("");
        if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        int.replace(',', "")
    } else {
        if !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // With room for the point and fraction (below): a price of every
        // listing row went through `format!`.
        let mut owned = String::with_capacity(int.len() + 1 + frac.len());
        owned.push_str(int);
        owned
    };
    let mut text = if exp == 0 {
        match (int.is_empty(), frac.is_empty()) {
            (true, _) => format!("0.{frac}"),
            (false, true) => int,
            (false, false) => {
                let mut text = int;
                text.push('.');
                text.push_str(frac);
                text
            }
        }
    } else {
        // Move the point: all digits, and where the point sits among them.
        let digits = format!("{int}{frac}");
        let point = int.len() as i64 + i64::from(exp);
        let len = digits.len() as i64;
        let t = if point <= 0 {
            format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
        } else if point >= len {
            format!("{digits}{}", "0".repeat((point - len) as usize))
        } else {
            let p = point as usize;
            format!("{}.{}", &digits[..p], &digits[p..])
        };
        // Leading zeros of the integer part ("00.5" from "0.05e1").
        let (i, f) = t.split_once('.').map_or((t.as_str(), None), |(i, f)| (i, Some(f)));
        let i = i.trim_start_matches('0');
        let i = if i.is_empty() { "0" } else { i };
        match f {
            Some(f) => format!("{i}.{f}"),
            None => i.to_owned(),
        }
    };
    if neg {
        text.insert(0, '-');
    }
    Some(text)
}

/// Why an amount cannot be a price: negative, or beyond any plausible price
/// (more than 1,000 BTC, or more than 1,000,000 in any other currency).
pub(crate) fn price_problem(amount: &str, currency: &str) -> Option<String> {
    if amount.starts_with('-') && amount.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return Some(format!("negative price {amount} {currency}"));
    }
    let v: f64 = amount.parse().ok()?;
    let ceiling = if currency == "BTC" { 1_000.0 } else { 1_000_000.0 };
    (v > ceiling).then(|| format!("absurd price {amount} {currency} (above {ceiling} {currency})"))
}

/// The first record of a CSV file, decoded: the header (BOM removed).
pub(crate) fn header_of(bytes: &[u8], encoding: &'static encoding_rs::Encoding) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        _ => return None,
    }
    let mut h: Vec<String> =
        record.iter().map(|f| encoding.decode_without_bom_handling(f).0.trim().to_owned()).collect();
    if let Some(first) = h.first_mut() {
        *first = first.trim_start_matches('\u{feff}').to_owned();
    }
    Some(h)
}

/// The first line of `head` split at commas with quotes and a BOM removed:
/// enough to recognise a header without a full CSV read.
pub(crate) fn header_names(head: &[u8]) -> Vec<String> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let end = head.iter().position(|&b| b == b'\n' || b == b'\r').unwrap_or(head.len());
    String::from_utf8_lossy(&head[..end]).split(',').map(|s| s.trim().trim_matches('"').to_owned()).collect()
}

/// The file name part of a source path.
pub(crate) fn base_name(source: &str) -> &str {
    source.rsplit(['/', '\\']).next().unwrap_or(source)
}

/// A column index by header name.
pub(crate) fn col(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name)
}

/// The cell at `i` of `fields`, when there is one.
pub(crate) fn cell(fields: &[String], i: Option<usize>) -> Option<&str> {
    i.and_then(|i| fields.get(i)).map(String::as_str)
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex"))
}

// ---------------------------------------------------------------------------
// Detection.

/// The header families of the Agora files (their leading names).
const HEADERS: [&[&str]; 3] = [
    &["list", "date", "vendor", "product", "price"],
    &["date", "vendor", "name", "price", "from", "to"],
    &["date", "vendor", "product", "description", "price", "from", "to"],
];

pub(crate) fn detect(_source: &str, head: &[u8]) -> bool {
    let names = header_names(head);
    let starts = |h: &[&str]| names.len() >= h.len() && names.iter().zip(h).all(|(a, b)| a == b);
    if starts(HEADERS[0]) {
        return true;
    }
    // The two vendor-file headers are generic: only the exact header counts.
    let exact = |h: &[&str]| names.len() == h.len() && starts(h);
    exact(HEADERS[1]) || exact(HEADERS[2])
}

// ---------------------------------------------------------------------------
// Parsing.

struct Columns {
    width: usize,
    list: Option<usize>,
    date: Option<usize>,
    vendor: usize,
    title: usize,
    price: usize,
    /// The dataset's own conversion (`usd`, beside its `rate`): noted, not used.
    usd: Option<usize>,
    /// A USD price the market showed (`usd_shown`: files in this layout from
    /// `dragnet sim sales`, whose simulated market shows USD).
    usd_shown: Option<usize>,
    cats: Vec<usize>,
    feedback: Option<usize>,
    from: Option<usize>,
    to: Option<usize>,
}

impl Columns {
    fn new(h: &[String]) -> Result<Columns, String> {
        let need = |n: &str| col(h, n).ok_or_else(|| format!("the header has no `{n}` column"));
        Ok(Columns {
            width: h.len(),
            list: col(h, "list"),
            date: col(h, "date"),
            vendor: need("vendor")?,
            title: col(h, "product").or_else(|| col(h, "name")).ok_or("the header has no `product` or `name` column")?,
            price: need("price")?,
            usd: col(h, "usd"),
            usd_shown: col(h, "usd_shown"),
            cats: ["cat", "subcat", "subsubcat"].iter().filter_map(|n| col(h, n)).collect(),
            feedback: col(h, "feedback"),
            from: col(h, "from"),
            to: col(h, "to"),
        })
    }
}

/// Absent in every Agora file (`NA`, blank), and in the derived files'
/// spelling (`none`, `no info`).
fn value(s: &str) -> Option<String> {
    value_of(s).map(Cow::into_owned)
}

/// [`value`], borrowing `s` when it is squashed already. The words meaning
/// none are compared ignoring ASCII case, not by writing the value lowered.
fn value_of(s: &str) -> Option<Cow<'_, str>> {
    let t = squashed(s);
    (!["", "na", "none", "no info"].iter().any(|none| t.eq_ignore_ascii_case(none))).then_some(t)
}

/// `2014-02-02__a1BkWEipyk.html` → `a1BkWEipyk`; a bare id stays.
fn listing_id(list: &str) -> Option<String> {
    let base = base_name(list.trim());
    let base = base.strip_suffix(".html").unwrap_or(base);
    let id = base.rsplit("__").next().unwrap_or(base);
    present(id).map(str::to_owned)
}

/// The crawl month a vendorall file documents: `vendorall_0114` → `2014-01-01`.
fn month_of(source: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let c = re(&RE, r"vendorall_(\d{2})(\d{2})").captures(source)?;
    let (m, y) = (&c[1], &c[2]);
    let month: u32 = m.parse().ok()?;
    (1..=12).contains(&month).then(|| format!("20{y}-{m}-01"))
}

fn iso_date(s: &str) -> Option<String> {
    let t = s.trim();
    // A date already written as its own canonical form (every row of the
    // files) is checked, not parsed and formatted again.
    let b = t.as_bytes();
    let canonical = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9].iter().all(|&i| b[i].is_ascii_digit());
    if canonical {
        let n = |r: std::ops::Range<usize>| t[r].parse::<u32>().ok();
        let valid = matches!((n(0..4), n(5..7), n(8..10)), (Some(y), Some(m), Some(d)) if chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some());
        return valid.then(|| t.to_owned());
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().map(|d| d.format("%Y-%m-%d").to_string())
}

/// `from` and `to` cells → (ships_from, ships_to). The cells' parts are
/// borrowed until kept: this ran a dozen allocations per listing row.
fn shipping(from: Option<&str>, to: Option<&str>) -> (Option<String>, Vec<String>) {
    let mut ships_from = None;
    let mut to_text = to.and_then(value_of);
    if let Some(f) = from.and_then(value_of) {
        // " From: USA To: USA ", " From: USA ".
        let (f, t) = match f.find("To:") {
            Some(i) => (&f[..i], Some(&f[i + 3..])),
            None => (&f[..], None),
        };
        ships_from = value(f.trim().strip_prefix("From:").unwrap_or(f.trim()));
        if to_text.is_none() {
            to_text = t.and_then(value).map(Cow::Owned);
        }
    }
    let to = match to_text {
        None => Vec::new(),
        Some(t) => split_destinations(t.strip_prefix("To:").map(str::trim).unwrap_or(&t)),
    };
    (ships_from, to)
}

/// A vendorall row's place name split at its space across `from` and `to`
/// (`"Hong","Kong"`, `"United","States"`: 185 rows in each January 2014
/// file, whose columns hold a word each, "USA","NA"): the name joined, when
/// `from` alone names no place and the two words name a country. The
/// destination is then not stated (the file lost it).
fn split_place(from: Option<&str>, to: &[String]) -> Option<String> {
    use places::Place;
    let (Some(from), [to]) = (from, to) else { return None };
    if !matches!(places::place(from), Place::Other(_)) {
        return None;
    }
    let joined = format!("{from} {to}");
    matches!(places::place(&joined), Place::Country(_)).then_some(joined)
}

/// One entry per destination: split at commas, unless the text states an
/// exception or condition that the commas belong to.
pub(crate) fn split_destinations(t: &str) -> Vec<String> {
    // Without a comma there is nothing to split: the words that keep a text
    // whole are not looked for (six scans of every listing's cell).
    if !t.contains(',') {
        return value(t).into_iter().collect();
    }
    // The words are lower-case ASCII: found ignoring ASCII case, as in the
    // text lowered.
    let holds = |w: &str| t.as_bytes().windows(w.len()).any(|x| x.eq_ignore_ascii_case(w.as_bytes()));
    if ["except", "exclud", "not ", "but ", "no ", "only "].iter().any(|w| holds(w)) {
        return value(t).into_iter().collect();
    }
    t.split(',').filter_map(value).collect()
}

/// One entry of a `feedback` cell, borrowed from the cell where its text
/// needs no change (nearly always).
struct Entry<'a> {
    rating: Option<&'a str>,
    text: Option<&'a str>,
    date: Option<Cow<'a, str>>,
    buyer: Option<Cow<'a, str>>,
}

/// Where an entry ends: its date ("39 days ago"), buyer and deal count.
const ANCHOR_PATTERN: &str =
    r"(\d+\s+(?:second|minute|hour|day|week|month|year)s?\s+ago)\s+(\S+\s+(?:\[\d+\s+deals?\]|~?\d+(?:\.\d+)?/5,\s*[\d~+]+\s+deals?|[\d~+]+\s+deals?))";
static ANCHOR: OnceLock<Regex> = OnceLock::new();
/// An entry's leading rating.
const RATING_PATTERN: &str = r"^(\d+(?:\.\d+)?/5)(?:\s+|$)";
static RATING: OnceLock<Regex> = OnceLock::new();

/// The entries of one `feedback` cell, and whether the last one was cut off.
fn feedback_entries<'a>(raw: &'a str) -> (Vec<Entry<'a>>, bool) {
    static DATE: OnceLock<Regex> = OnceLock::new();
    let anchor = re(&ANCHOR, ANCHOR_PATTERN);
    let rating = re(&RATING, RATING_PATTERN);
    let date_re = re(&DATE, r"\d+\s+(?:second|minute|hour|day|week|month|year)s?\s+ago");
    let body = raw.split_once("Feedbacks:").map_or(raw, |(_, b)| b);
    // Room for an entry per 64 bytes (a short entry is about 70): grown from
    // empty, a cell's dozen entries were three allocations and two copies.
    let mut out = Vec::with_capacity(body.len() / 64 + 1);
    if present(body).is_none() || body.trim().starts_with("No feedbacks found") {
        return (out, false);
    }
    // Matches are found without their groups (the groups' positions follow
    // from the text, below): asking the regex for groups ran a backtracking
    // search per entry, millions per file.
    // An ASCII cell (nearly all) is scanned by hand, as the regexes would
    // match it; others go to the regexes.
    let ascii = body.is_ascii();
    let split = |seg: &'a str| -> (Option<&'a str>, Option<&'a str>) {
        let seg = seg.trim();
        let rating_end = if ascii { ascii_rating_end(seg.as_bytes()) } else { rating.find(seg).map(|m| m.as_str().trim_end().len()) };
        match rating_end {
            Some(end) => {
                let rest = seg[end..].trim();
                (Some(&seg[..end]), (!rest.is_empty()).then_some(rest))
            }
            None => (None, (!seg.is_empty()).then_some(seg)),
        }
    };
    let matches = if ascii { Anchors::Ascii(AsciiAnchors { body: body.as_bytes(), from: 0 }) } else { Anchors::Regex(anchor.find_iter(body)) };
    let mut pos = 0;
    for (start, end, ago_at) in matches {
        // Group 1 (the date) ends at the match's first "ago" (no count or
        // unit holds one; the hand scan found it); group 2 (the buyer) is
        // the rest past the whitespace after it.
        let m = &body[start..end];
        let Some(ago) = ago_at.map(|at| at - start).or_else(|| m.find("ago")).map(|i| i + 3) else { continue };
        let (date, buyer) = (&m[..ago], m[ago..].trim_start());
        let (r, text) = split(body.get(pos..start).unwrap_or(""));
        out.push(Entry { rating: r, text, date: Some(squashed(date)), buyer: Some(squashed(buyer)) });
        pos = end;
    }
    let rest = body.get(pos..).unwrap_or("").trim();
    if rest.is_empty() || !rating.is_match(rest) {
        // Nothing left, or text that is not an entry (e.g. a stray value).
        return (out, false);
    }
    // A last entry cut off by the crawl: "5/5 text 173 days ago" or "... ago anon".
    let (mut seg, mut date, mut buyer) = (rest, None, None);
    if let Some(m) = date_re.find_iter(rest).last() {
        seg = &rest[..m.start()];
        date = Some(squashed(m.as_str()));
        buyer = present(&rest[m.end()..]).map(squashed);
    }
    let (r, text) = split(seg);
    out.push(Entry { rating: r, text, date, buyer });
    (out, true)
}

/// The entry anchors of a cell: the regex's matches, or the hand scan's.
enum Anchors<'r, 'h> {
    Ascii(AsciiAnchors<'h>),
    Regex(regex::Matches<'r, 'h>),
}

impl Iterator for Anchors<'_, '_> {
    /// Start, end, and where its "ago" is when the hand scan knows.
    type Item = (usize, usize, Option<usize>);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Anchors::Ascii(a) => a.next().map(|(start, end, ago)| (start, end, Some(ago))),
            Anchors::Regex(m) => m.next().map(|m| (m.start(), m.end(), None)),
        }
    }
}

/// `\s` of an ASCII text (Unicode White_Space below 0x80).
fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// The end of `seg`'s leading rating, as `^(\d+(?:\.\d+)?/5)(?:\s+|$)`
/// finds it (group 1) in an ASCII `seg`.
fn ascii_rating_end(seg: &[u8]) -> Option<usize> {
    let i = ascii_rating(seg, 0)?;
    (i == seg.len() || ascii_space(seg[i])).then_some(i)
}

/// Where a rating `\d+(?:\.\d+)?/5` read from `i` in ASCII `b` ends (the
/// digits are taken greedily and cannot give back: "/" is no digit).
fn ascii_rating(b: &[u8], i: usize) -> Option<usize> {
    let digits = |i: usize| Some(i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count()).filter(|&j| j > i);
    let mut j = digits(i)?;
    if let Some(fraction) = b[j..].starts_with(b".").then(|| digits(j + 1)).flatten() {
        j = fraction;
    }
    b[j..].starts_with(b"/5").then_some(j + 2)
}

/// The matches of the entry anchor (`feedback_entries`' first regex) in an
/// ASCII text, leftmost first and not overlapping, as `find_iter` gives
/// them: each "ago" is tried as the end of a date (`\d+ unit(s) ago`,
/// read backwards), then the buyer and deal count after it are read
/// forwards. The regex has no literal prefix, so it ran its automaton over
/// every byte of millions of cells; "ago" is rare. The property tests hold
/// this to the regex.
struct AsciiAnchors<'h> {
    body: &'h [u8],
    from: usize,
}

impl Iterator for AsciiAnchors<'_> {
    /// The match's start and end, and where its "ago" starts.
    type Item = (usize, usize, usize);
    fn next(&mut self) -> Option<(usize, usize, usize)> {
        // One searcher for every cell: `memmem::find` builds one per call,
        // and a call finds the next of millions of entries a few dozen
        // bytes on.
        static AGO: std::sync::LazyLock<memchr::memmem::Finder<'static>> = std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"ago"));
        let b = self.body;
        // A match starts at or after the end of the last one.
        let floor = self.from;
        let mut search = self.from;
        while let Some(at) = AGO.find(&b[search..]).map(|i| search + i) {
            search = at + 3;
            let Some(start) = date_start(b, floor, at) else { continue };
            if let Some(end) = buyer_end(b, at + 3) {
                self.from = end;
                return Some((start, end, at));
            }
        }
        self.from = b.len();
        None
    }
}

/// Where `\d+\s+(?:second|minute|hour|day|week|month|year)s?\s+` ends at
/// `ago` and starts at or after `floor`: the first digit of the count.
fn date_start(b: &[u8], floor: usize, ago: usize) -> Option<usize> {
    const UNITS: [&[u8]; 7] = [b"second", b"minute", b"hour", b"day", b"week", b"month", b"year"];
    let space_before = |end: usize| b[floor..end].iter().rev().take_while(|&&c| ascii_space(c)).count();
    let spaces = space_before(ago);
    if spaces == 0 {
        return None;
    }
    let mut word_end = ago - spaces;
    // No unit ends in "s", so a final "s" is the plural's.
    if word_end > floor && b[word_end - 1] == b's' {
        word_end -= 1;
    }
    let unit = UNITS.iter().find(|u| b[floor..word_end].ends_with(u))?;
    let unit_start = word_end - unit.len();
    let spaces = space_before(unit_start);
    if spaces == 0 {
        return None;
    }
    let count_end = unit_start - spaces;
    let digits = b[floor..count_end].iter().rev().take_while(|c| c.is_ascii_digit()).count();
    (digits > 0).then_some(count_end - digits)
}

/// Where `\s+\S+\s+(?:\[\d+\s+deals?\]|~?\d+(?:\.\d+)?/5,\s*[\d~+]+\s+deals?|[\d~+]+\s+deals?)`
/// ends, read from `at`. Each part is matched greedily and none can give
/// back (what follows it cannot start with what it took), so the first
/// alternative that matches decides.
fn buyer_end(b: &[u8], at: usize) -> Option<usize> {
    let run = |i: usize, f: &dyn Fn(u8) -> bool| b[i..].iter().take_while(|&&c| f(c)).count();
    // Past one or more bytes `f` takes at i, or None.
    let more = |i: usize, f: &dyn Fn(u8) -> bool| Some(i + run(i, f)).filter(|&j| j > i);
    let digit = |c: u8| c.is_ascii_digit();
    let literal = |i: usize, s: &[u8]| b[i..].starts_with(s).then_some(i + s.len());
    let i = more(at, &ascii_space)?;
    let i = more(i, &|c| !ascii_space(c))?;
    let i = more(i, &ascii_space)?;
    // N deal(s), from j.
    let counted = |j: usize| {
        let j = more(j, &|c| c.is_ascii_digit() || c == b'~' || c == b'+')?;
        let j = literal(more(j, &ascii_space)?, b"deal")?;
        Some(literal(j, b"s").unwrap_or(j))
    };
    // [N deal(s)]
    let bracketed = || {
        let j = literal(i, b"[")?;
        let j = literal(more(more(j, &digit)?, &ascii_space)?, b"deal")?;
        literal(j, b"s]").or_else(|| literal(j, b"]"))
    };
    // ~R/5, N deal(s)
    let rated = || {
        let j = ascii_rating(b, literal(i, b"~").unwrap_or(i))?;
        let j = literal(j, b",")?;
        counted(j + run(j, &ascii_space))
    };
    bracketed().or_else(rated).or_else(|| counted(i))
}

/// An association-rules price bin (`(0.1,0.5]`, `[0,0.1)`), not a price.
/// Only a bracketed pair is one: a cell such as `(0.5)` had lost its price
/// in silence, and made the file say it held no prices (found by a review).
fn price_bin(p: &str) -> bool {
    let p = p.trim();
    p.starts_with(['[', '(']) && p.ends_with([']', ')']) && p.contains(',')
}

/// Reads the file; each feedback entry goes to `feedback` and each listing
/// to `listing` as it is read (see [`crate::parse_streaming`]).
pub(crate) fn parse(input: &DatasetInput<'_>, feedback: &mut dyn FnMut(FeedbackRef<'_>), listing: &mut dyn FnMut(Listing)) -> DatasetExtraction {
    let mut out = DatasetExtraction { market: Some(MARKET.to_owned()), ..Default::default() };
    let cols = header_of(input.bytes, encoding_rs::UTF_8)
        .ok_or_else(|| "no header".to_owned())
        .and_then(|h| Columns::new(&h));
    let fallback_date = month_of(input.source);
    let mut bins_noted = false;
    if cols.as_ref().is_ok_and(|c| c.usd.is_some()) {
        out.warn(
            0,
            None,
            "the usd column is the dataset's own conversion at its rate column, made on the crawl day, not a price the market showed: not used (BTC prices are converted at the rate of each sale day, with --rates)",
        );
    }
    common::read_csv(input.bytes, CsvOptions::default(), &mut out, |out, row| {
        let line = row.line;
        let cols = match &cols {
            Ok(c) => c,
            Err(e) => return out.reject(line, Some(row.row), format!("not an Agora table: {e}")),
        };
        if !bins_noted && cell(&row.fields, Some(cols.price)).is_some_and(price_bin) {
            bins_noted = true;
            out.warn(0, None, "the price column holds association-rules price bins, not prices: no prices imported");
        }
        import_row(input, cols, fallback_date.as_deref(), out, (feedback, listing), row, line);
    });
    out
}

fn import_row(
    input: &DatasetInput<'_>,
    cols: &Columns,
    fallback_date: Option<&str>,
    out: &mut DatasetExtraction,
    (feedback, listing): crate::RowSinks<'_>,
    row: &CsvRow,
    line: u64,
) {
    let n = Some(row.row);
    let f = &row.fields;
    if f.len() != cols.width {
        return out.reject(line, n, format!("{} fields, the header has {}", f.len(), cols.width));
    }
    let Some(title) = cell(f, Some(cols.title)).and_then(present) else {
        return out.reject(line, n, "no title");
    };
    let Some(vendor) = cell(f, Some(cols.vendor)).and_then(present) else {
        return out.reject(line, n, "no vendor");
    };
    let observed_at = match cell(f, cols.date).and_then(present) {
        Some(d) => match iso_date(d) {
            Some(d) if common::possible_time(&d) => d,
            Some(_) => return out.reject(line, n, format!("date {d:?} is no possible day (before the first bitcoin block, 2009-01-03, or after 2100)")),
            None => return out.reject(line, n, format!("unparsable date {d:?}")),
        },
        None => match fallback_date {
            Some(d) => d.to_owned(),
            None => return out.reject(line, n, "no date"),
        },
    };
    let raw_price = cell(f, Some(cols.price)).and_then(present);
    let mut price = None;
    if let Some(p) = raw_price.filter(|p| !price_bin(p)) {
        let Some(amount) = decimal_text(p) else {
            return out.reject(line, n, format!("unparsable price {p:?}"));
        };
        // A row whose price is a number no sale was made at (17777.77777777
        // BTC, "not for sale") is rejected with the feedback it shows, and
        // its warning says how many entries went with it. Kept, they counted
        // again (TrapHouse's showcase listing showed the same 7 entries on
        // two crawls, buyer tags changed, texts of its other listings: +14
        // sales; found by a review).
        if let Some(why) = price_problem(&amount, "BTC") {
            let with = match cell(f, cols.feedback).map_or(0, |raw| feedback_entries(raw).0.len()) {
                0 => String::new(),
                1 => "; its feedback entry is left out with it".to_owned(),
                k => format!("; its {k} feedback entries are left out with it"),
            };
            return out.reject(line, n, format!("{why}{with}"));
        }
        price = Some(amount);
    }
    // Not the `usd` column (see `parse`): Agora showed BTC only, and the
    // dataset converted it on the crawl day. As the market's own USD price
    // it priced every sale at the crawl day's rate (HighTimes: $54.37 where
    // the sale day's rate gives $67.68).
    let mut price_usd = None;
    if let Some(u) = cell(f, cols.usd_shown).and_then(present) {
        match decimal_text(u) {
            Some(u) if !u.starts_with('-') => price_usd = Some(u),
            _ => out.warn(line, n, format!("unparsable usd_shown {u:?} left out")),
        }
    }
    let (mut ships_from, mut ships_to) = shipping(cell(f, cols.from), cell(f, cols.to));
    if cols.list.is_none() {
        if let Some(joined) = split_place(ships_from.as_deref(), &ships_to) {
            out.warn(
                line,
                n,
                format!("from {:?} and to {:?} are one place split in two: read as ships-from {joined:?}, ships-to not stated", ships_from.unwrap_or_default(), ships_to[0]),
            );
            (ships_from, ships_to) = (Some(joined), Vec::new());
        }
    }
    let provenance = common::provenance(input, FORMAT, row.row, line);
    let title = title.to_owned();
    // A few rows hold the vendor's profile path instead of the name.
    let vendor = match vendor.strip_prefix("/user/").map(|v| v.trim_end_matches('/')) {
        Some(name) if !name.is_empty() => {
            out.warn(line, n, format!("vendor given as its profile path {vendor:?}; read as {name:?}"));
            name.to_owned()
        }
        _ => vendor.to_owned(),
    };
    if let Some(raw) = cell(f, cols.feedback) {
        let (entries, cut) = feedback_entries(raw);
        if cut {
            out.warn(line, n, "the last feedback entry is cut off");
        }
        // Borrowed from this row: handed over, not built as records.
        for e in &entries {
            feedback(FeedbackRef {
                market: MARKET,
                vendor: Some(&vendor),
                listing: Some(&title),
                date: e.date.as_deref(),
                rating: e.rating,
                text: e.text,
                buyer: e.buyer.as_deref(),
                price: None,
                observed_at: Some(&observed_at),
                provenance: Some((provenance.evidence, &provenance.profile, &provenance.rule)),
            });
        }
    }
    listing(Listing {
        market: MARKET.to_owned(),
        market_listing_id: cell(f, cols.list).and_then(listing_id),
        title,
        vendor: Some(vendor),
        category: cols.cats.iter().filter_map(|&i| cell(f, Some(i)).and_then(present)).map(str::to_owned).collect(),
        price: price.clone().map(|amount| Money { amount, currency: "BTC".to_owned() }),
        price_usd,
        price_btc: price,
        ships_from,
        ships_to,
        observed_at: Some(observed_at),
        provenance: Some(provenance),
        ..Default::default()
    });
    out.imported += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn decimal_text_is_exact() {
        assert_eq!(decimal_text("6.674e-05").as_deref(), Some("0.00006674"));
        assert_eq!(decimal_text("1e-07").as_deref(), Some("0.0000001"));
        assert_eq!(decimal_text("1e-04").as_deref(), Some("0.0001"));
        assert_eq!(decimal_text("1.5e+02").as_deref(), Some("150"));
        assert_eq!(decimal_text("1.25e1").as_deref(), Some("12.5"));
        assert_eq!(decimal_text("0.05e1").as_deref(), Some("0.5"));
        assert_eq!(decimal_text("4,899.00").as_deref(), Some("4899.00"));
        assert_eq!(decimal_text("0.00266844").as_deref(), Some("0.00266844"));
        assert_eq!(decimal_text(".5").as_deref(), Some("0.5"));
        assert_eq!(decimal_text("-3").as_deref(), Some("-3"));
        for bad in ["", "-", "1,23", "abc", "1.2.3", "1e", "1e99999", "[1.00e-07,1.49e+00)", "12,34,567"] {
            assert_eq!(decimal_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn physical_lines() {
    }

    #[test]
    fn shipping_cells() {
        assert_eq!(shipping(Some(" From: USA To: USA "), Some("NA")), (Some("USA".into()), vec!["USA".into()]));
        assert_eq!(shipping(Some("\r\n    \r\n  "), Some("EU, CH, Scandinavia \n ")).1, vec!["EU", "CH", "Scandinavia"]);
        assert_eq!(shipping(Some(" EU "), Some("Worldwide except Australia, NZ")).1, vec!["Worldwide except Australia, NZ"]);
        assert_eq!(shipping(Some("none"), Some("no info")), (None, vec![]));
    }

    #[test]
    fn a_place_split_across_from_and_to_is_joined() {
        let to = |t: &str| vec![t.to_owned()];
        assert_eq!(split_place(Some("Hong"), &to("Kong")).as_deref(), Some("Hong Kong"));
        assert_eq!(split_place(Some("United"), &to("States")).as_deref(), Some("United States"));
        assert_eq!(split_place(Some("Czech"), &to("Republic")).as_deref(), Some("Czech Republic"));
        // "WORLD" alone is a place (worldwide): "WIDE" stays a destination.
        assert_eq!(split_place(Some("WORLD"), &to("WIDE")), None);
        assert_eq!(split_place(Some("Pacific"), &to("Palisades")), None);
        // A place and a destination, or words that name no country, stay.
        assert_eq!(split_place(Some("USA"), &to("USA")), None);
        assert_eq!(split_place(Some("Canada"), &to("everywhere")), None);
        assert_eq!(split_place(Some("West"), &to("of")), None);
        assert_eq!(split_place(Some("my"), &to("pm")), None);
        assert_eq!(split_place(None, &to("Kong")), None);
    }

    fn anchor_regex() -> &'static Regex {
        re(&ANCHOR, ANCHOR_PATTERN)
    }

    fn rating_regex() -> &'static Regex {
        re(&RATING, RATING_PATTERN)
    }

    /// A cell's entries as `feedback_entries` reads them and as the regexes'
    /// groups give them (as many of the first as of the second: a cut-off
    /// last entry has no groups).
    #[allow(clippy::type_complexity)]
    fn entries_and_groups(raw: &str) -> (Vec<(Option<String>, Option<String>, String, String)>, Vec<(Option<String>, Option<String>, String, String)>) {
        let (entries, _) = feedback_entries(raw);
        let reference = entries_by_groups(raw);
        let found = entries
            .iter()
            .take(reference.len())
            .map(|e| {
                let text = |s: Option<&str>| s.map(str::to_owned);
                (text(e.rating), text(e.text), text(e.date.as_deref()).unwrap_or_default(), text(e.buyer.as_deref()).unwrap_or_default())
            })
            .collect();
        (found, reference)
    }

    /// The entries as the regexes' groups give them: what
    /// `feedback_entries` found before it stopped asking for groups.
    fn entries_by_groups(raw: &str) -> Vec<(Option<String>, Option<String>, String, String)> {
        let (anchor, rating) = (anchor_regex(), rating_regex());
        let body = raw.split_once("Feedbacks:").map_or(raw, |(_, b)| b);
        let mut pos = 0;
        let mut out = Vec::new();
        for c in anchor.captures_iter(body) {
            let seg = body[pos..c.get(0).unwrap().start()].trim();
            let (r, text) = match rating.captures(seg) {
                Some(rc) => {
                    let rest = seg[rc[0].len()..].trim();
                    (Some(rc[1].to_owned()), (!rest.is_empty()).then(|| rest.to_owned()))
                }
                None => (None, (!seg.is_empty()).then(|| seg.to_owned())),
            };
            out.push((r, text, squash_reference(&c[1]), squash_reference(&c[2])));
            pos = c.get(0).unwrap().end();
        }
        out
    }

    fn squash_reference(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `shipping` as it was first written, a value at a time in new strings.
    fn shipping_reference(from: Option<&str>, to: Option<&str>) -> (Option<String>, Vec<String>) {
        let value = |s: &str| {
            let t = squash_reference(s);
            match t.to_ascii_lowercase().as_str() {
                "" | "na" | "none" | "no info" => None,
                _ => Some(t),
            }
        };
        let split = |t: &str| -> Vec<String> {
            let lower = t.to_ascii_lowercase();
            let keep_whole = ["except", "exclud", "not ", "but ", "no ", "only "].iter().any(|w| lower.contains(w));
            if keep_whole || !t.contains(',') {
                return value(t).into_iter().collect();
            }
            t.split(',').filter_map(value).collect()
        };
        let mut ships_from = from.and_then(value);
        let mut to_text = to.and_then(value);
        if let Some(f) = ships_from.take() {
            let (f, t) = match f.find("To:") {
                Some(i) => (f[..i].to_owned(), Some(f[i + 3..].to_owned())),
                None => (f, None),
            };
            let f = f.trim().strip_prefix("From:").unwrap_or(f.trim()).to_owned();
            ships_from = value(&f);
            if to_text.is_none() {
                to_text = t.as_deref().and_then(value);
            }
        }
        let to = match to_text {
            None => Vec::new(),
            Some(t) => split(t.strip_prefix("To:").map(str::trim).unwrap_or(&t)),
        };
        (ships_from, to)
    }

    proptest::proptest! {
        /// The shipping cells read as the first, plainer code read them, on
        /// cells of their words in every case and spacing.
        #[test]
        fn shipping_reads_as_its_reference(
            cells in proptest::collection::vec(
                proptest::option::of(proptest::collection::vec(
                    proptest::sample::select(vec![
                        "From:", "To:", "to:", "FROM:", "USA", "EU", "Worldwide", ",", ", ", " ", "  ", "\t", "\r\n", "\u{a0}",
                        "NA", "na", "None", "no info", "NO INFO", "except", "EXCEPT", "Exclud", "not ", "NOT ", "but ", "no ", "only ",
                        "No", "é", "İ", "K", "\u{212a}", "x",
                    ]),
                    0..10,
                ).prop_map(|p| p.concat())),
                2,
            )
        ) {
            let (from, to) = (cells[0].as_deref(), cells[1].as_deref());
            proptest::prop_assert_eq!(shipping(from, to), shipping_reference(from, to));
        }
    }

    proptest::proptest! {
        /// Entries read from match positions equal the regexes' groups, and
        /// `squash`'s shortcut equals its definition, on cells built of
        /// entry-like pieces with every kind of whitespace and digit.
        #[test]
        fn entries_equal_the_regex_groups(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "5/5", "4.5/5", "10/5", "12", "٣", "3", " ", "  ", "\t", "\n", "\r\n", "\u{a0}", "\u{2003}", "\u{b}",
                    "days", "day", "weeks", "month", "years", "ago", "agony", "anon", "b***r", "[0 deals]", "[12 deal]",
                    "~5/5,", "4.61/5,", "1~2", "25~40", "100+", "deals", "deal", "good", "Feedbacks:", "x", "é",
                    // Whole entries and their parts, so that most cells hold matches.
                    "5/5 fast 3 days ago anon [0 deals] ", "4/5 ok\t12 weeks  ago b***r ~5/5, 1~2 deals", " 1 day\u{a0}ago x\u{2003}25~40 deals",
                    "2 months ago ", "anon 6~10 deals ", "anon ~5/5,\n1~2 deals", " 5/5\r\n", "٣ years ago a 1 deal",
                ]),
                0..40,
            )
        ) {
            let raw = pieces.concat();
            let (found, reference) = entries_and_groups(&raw);
            proptest::prop_assert_eq!(found, reference);
            proptest::prop_assert_eq!(squash(&raw), squash_reference(&raw));
        }
    }

    proptest::proptest! {
        /// `squash`'s shortcut equals its definition on ASCII cells with each
        /// kind of whitespace on its own (the cells above mostly hold a
        /// non-ASCII piece, and those take the long way).
        #[test]
        fn squash_equals_its_definition_on_ascii_cells(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["a", "5/5", "anon", "x y", " ", "  ", "\t", "\n", "\r", "\u{b}", "\u{c}", "\u{7f}"]),
                0..12,
            )
        ) {
            let raw = pieces.concat();
            proptest::prop_assert_eq!(squash(&raw), squash_reference(&raw));
        }
    }

    /// Pieces of ASCII cells: the scan by hand runs only on ASCII cells, so
    /// the test above (most of whose cells hold a non-ASCII piece) is not
    /// enough for it.
    fn ascii_cell() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                "0", "7", "12", "3.5", ".", "/5", "/5,", "~", "+", "[", "]", "s", " ", "  ", "\t", "\u{b}", "\u{c}", "\r\n",
                "second", "minutes", "hour", "days", "weeks", "month", "years", "xday", "dayss", "ago", "agoago", "agony", "Chicago",
                "deal", "deals", "dealss", "deals]", "anon", "b***r", "x", "5/5", "4.5/5", "10/55", "5/5x", "4./5",
                "5/5 fast 3 days ago anon [0 deals] ", "4/5 ok\t12 weeks  ago b***r ~5/5, 1~2 deals", " 1 day ago x 25~40 deals",
                "2 months ago ", "anon 6~10 deals ", "anon ~5/5,\n1~2 deals", "anon ~5/5,1~2 deals", " [3\tdeal]", " ~4.61/5, 100+ deal",
            ]),
            0..40,
        )
        .prop_map(|p| p.concat())
    }

    proptest::proptest! {
        /// On ASCII text the hand scan finds the anchor regex's matches (and
        /// where each one's first "ago" is) and the rating regex's group,
        /// and the entries equal the groups.
        #[test]
        fn ascii_scan_equals_the_regexes(raw in ascii_cell()) {
            let (anchor, rating) = (anchor_regex(), rating_regex());
            // With each match's first "ago", which the hand scan hands over.
            let by_regex: Vec<_> = anchor.find_iter(&raw).map(|m| (m.start(), m.end(), m.start() + m.as_str().find("ago").unwrap_or(usize::MAX))).collect();
            let by_hand: Vec<_> = AsciiAnchors { body: raw.as_bytes(), from: 0 }.collect();
            proptest::prop_assert_eq!(by_hand, by_regex);
            let trimmed = raw.trim();
            proptest::prop_assert_eq!(ascii_rating_end(trimmed.as_bytes()), rating.captures(trimmed).map(|c| c[1].len()));
            let (found, reference) = entries_and_groups(&raw);
            proptest::prop_assert_eq!(found, reference);
        }
    }

    proptest::proptest! {
        /// The canonical-date shortcut reads dates as chrono's parse and
        /// format do.
        #[test]
        fn iso_dates_as_chrono_reads_them(t in proptest::prop_oneof![
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}",
            " ?[0-9-]{8,11} ?",
            "20[0-2][0-9]-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])",
        ]) {
            let by_chrono = chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok().map(|d| d.format("%Y-%m-%d").to_string());
            proptest::prop_assert_eq!(iso_date(&t), by_chrono);
        }
    }

    #[test]
    fn feedback_shapes() {
        let (e, cut) = feedback_entries(" Feedbacks: 5/5 good 10/5 3 days ago anon ~5/5, 1~2 deals 4/5 0 days ago anon [0 deals] ");
        assert!(!cut);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].text, Some("good 10/5"));
        assert_eq!(e[0].buyer.as_deref(), Some("anon ~5/5, 1~2 deals"));
        assert_eq!(e[1].rating, Some("4/5"));
        assert_eq!(e[1].text, None);
        let (e, cut) = feedback_entries(" Feedbacks: 5/5 a 2 days ago anon 6~10 deals 5/5 b 9 days ago ");
        assert!(cut);
        assert_eq!(e.len(), 2);
        assert_eq!((e[1].text, e[1].date.as_deref(), e[1].buyer.as_deref()), (Some("b"), Some("9 days ago"), None));
        assert!(feedback_entries("\n Feedbacks:\n No feedbacks found.\n").0.is_empty());
    }
}
