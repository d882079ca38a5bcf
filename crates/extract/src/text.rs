//! Small text helpers: whitespace, counts, numbers and money as markets print them.

use std::sync::LazyLock;

use regex::Regex;

use model::Money;

/// Collapses runs of ASCII whitespace and NBSP into one space and trims.
/// Deliberately not Unicode-aware: U+0085 (NEL) inside Cryptonia pages is text.
pub fn normalize_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    for c in s.chars() {
        if c.is_ascii_whitespace() || c == '\u{a0}' {
            pending = !out.is_empty();
        } else {
            if pending {
                out.push(' ');
                pending = false;
            }
            out.push(c);
        }
    }
    out
}

static COUNT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d[\d,]*").expect("static regex"));
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d[\d,]*(?:\.\d+)?|\.\d+").expect("static regex"));

/// The first whole number in `s`, thousands separators removed ("1,234 sales" -> 1234).
pub fn first_count(s: &str) -> Option<u64> {
    let m = COUNT.find(s)?;
    m.as_str().replace(',', "").parse().ok()
}

/// The first decimal number in `s` as canonical text ("$1,234.50" -> "1234.50").
pub fn parse_number_text(s: &str) -> Option<String> {
    let m = NUMBER.find(s)?;
    let mut t = m.as_str().replace(',', "");
    if t.starts_with('.') {
        t.insert(0, '0');
    }
    Some(t)
}

/// Currency codes and symbols markets print, longest first where they overlap.
const CURRENCIES: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("AU$", "AUD"),
    ("A$", "AUD"),
    ("C$", "CAD"),
    ("$", "USD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("฿", "BTC"),
    ("Ƀ", "BTC"),
    ("ɱ", "XMR"),
];

const CODES: &[&str] = &[
    "USD", "EUR", "GBP", "AUD", "CAD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "NZD", "JPY",
    "RUB", "BTC", "XMR", "LTC", "BCH", "ETH", "ZEC", "DASH", "MBTC",
];

static CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)\b({})\b", CODES.join("|"))).expect("static regex")
});

/// Parses a price as shown ("USD 50.00", "$12.50", "0.0123 BTC", "€ 20").
/// `fixed_currency` is used when the text names none (a profile constant).
pub fn parse_money(text: &str, fixed_currency: Option<&str>) -> Option<Money> {
    let amount = parse_number_text(text)?;
    let code = CODE
        .find(text)
        .map(|m| m.as_str().to_ascii_uppercase())
        .or_else(|| {
            CURRENCIES.iter().find(|(sym, _)| text.contains(sym)).map(|(_, code)| (*code).to_owned())
        })
        .or_else(|| fixed_currency.map(|c| c.trim().to_ascii_uppercase()))?;
    Some(Money { amount, currency: code })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_money(text: &str, want: Option<(&str, &str)>) {
        let got = parse_money(text, None);
        assert_eq!(
            got.as_ref().map(|m| (m.amount.as_str(), m.currency.as_str())),
            want,
            "parsing {text:?}"
        );
    }

    #[test]
    fn money_as_markets_print_it() {
        check_money("USD 50.00", Some(("50.00", "USD")));
        check_money("$1,234.50", Some(("1234.50", "USD")));
        check_money("0.0123 BTC", Some(("0.0123", "BTC")));
        check_money("€ 20", Some(("20", "EUR")));
        check_money("AUD 70.5", Some(("70.5", "AUD")));
        check_money("AU$ 70.5", Some(("70.5", "AUD")));
        check_money("฿.5", Some(("0.5", "BTC")));
        check_money("12.5", None);
        check_money("free", None);
        assert_eq!(parse_money("12.5", Some("usd")).map(|m| m.currency), Some("USD".into()));
    }

    #[test]
    fn counts_and_whitespace() {
        assert_eq!(first_count("1,234 sales"), Some(1234));
        assert_eq!(first_count("none"), None);
        assert_eq!(normalize_ws("  a \n\t b\u{a0}c  "), "a b c");
        assert_eq!(normalize_ws("a\u{85}b"), "a\u{85}b");
    }

    proptest! {
        #[test]
        fn helpers_never_panic(s in ".{0,200}") {
            let _ = parse_money(&s, Some("USD"));
            let _ = first_count(&s);
            let _ = parse_number_text(&s);
            let n = normalize_ws(&s);
            prop_assert!(!n.starts_with(' ') && !n.ends_with(' '));
        }
    }
}
