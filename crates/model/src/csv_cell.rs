//! CSV cells a spreadsheet opens safely.

use std::borrow::Cow;

/// `text` as a CSV cell a spreadsheet will not run as a formula: a cell
/// beginning with `=`, `+`, `-`, `@`, a tab or a CR that is not a number
/// gets a leading `'` (OWASP's advice for CSV injection). Vendor names and
/// titles are written by market users: one named
/// `=HYPERLINK("http://evil.example/","click")` went verbatim into the
/// report's and the export's CSV files (found by a review). Parquet keeps
/// the text as it is.
pub fn formula_safe(text: &str) -> Cow<'_, str> {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && text.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::formula_safe;

    #[test]
    fn formulas_are_quoted_and_numbers_left_alone() {
        assert_eq!(formula_safe("=HYPERLINK(\"http://evil.example/\",\"click\")"), "'=HYPERLINK(\"http://evil.example/\",\"click\")");
        for risky in ["+1+1", "-1+1", "@SUM(A1)", "\tx", "\rx", "-"] {
            assert_eq!(formula_safe(risky), format!("'{risky}"), "{risky:?}");
        }
        for plain in ["-5", "-0.25", "+3", "Alice", "a=b", "", "1e5"] {
            assert_eq!(formula_safe(plain), plain, "{plain:?}");
        }
    }
}
