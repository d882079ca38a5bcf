//! The little HTML undoing the armour parser needs.
//!
//! A full HTML parser is deliberately not used: armour is found in the raw
//! page (it may sit inside `<textarea>`, `<pre>`, attribute-free `<div>`s or
//! forum markup) and only its inner text is cleaned. The entity table covers
//! what appears in armour and its surroundings; numeric references cover the
//! rest.

use std::sync::LazyLock;

use regex::Regex;

static TAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<\s*/?\s*([A-Za-z][A-Za-z0-9]*)[^<>]{0,1000}>|<!--[^>]{0,1000}-->")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

static ENTITY_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"&(?:#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]{2,8}));")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// Tags that end a line when rendered; everything else is dropped.
fn is_line_breaking(tag: &str) -> bool {
    matches!(
        tag.to_ascii_lowercase().as_str(),
        "br" | "p" | "div" | "pre" | "li" | "tr" | "td" | "textarea" | "blockquote" | "hr"
    )
}

/// Decodes numeric character references and the common named entities.
/// Unknown entities are left as written.
pub(crate) fn decode_entities(s: &str) -> String {
    ENTITY_RE
        .replace_all(s, |c: &regex::Captures<'_>| {
            let decoded = if let Some(d) = c.get(1) {
                d.as_str().parse::<u32>().ok().and_then(char::from_u32)
            } else if let Some(h) = c.get(2) {
                u32::from_str_radix(h.as_str(), 16).ok().and_then(char::from_u32)
            } else {
                c.get(3).and_then(|n| match n.as_str() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    "plus" => Some('+'),
                    "sol" => Some('/'),
                    "equals" => Some('='),
                    "colon" => Some(':'),
                    "hyphen" | "dash" => Some('-'),
                    _ => None,
                })
            };
            match decoded {
                Some(ch) => ch.to_string(),
                None => c.get(0).map_or(String::new(), |m| m.as_str().to_string()),
            }
        })
        .into_owned()
}

/// Turns the inside of an armour block as found in HTML into plain lines:
/// line-breaking tags become newlines, other tags vanish, entities are
/// decoded (after tag removal, so `&lt;` cannot create a tag), CR/CRLF become
/// LF, and each line is trimmed of whitespace and of `>` quote markers.
/// Empty lines are dropped.
pub(crate) fn armour_text(inner: &str) -> String {
    let untagged = TAG_RE.replace_all(inner, |c: &regex::Captures<'_>| {
        match c.get(1) {
            Some(name) if is_line_breaking(name.as_str()) => "\n",
            _ => "",
        }
    });
    let decoded = decode_entities(&untagged);
    // Decode twice at most: some pages double-escape (`&amp;#43;`).
    let decoded = if decoded.contains('&') { decode_entities(&decoded) } else { decoded };
    let mut out = String::with_capacity(decoded.len());
    for line in decoded.split(['\n', '\r']) {
        let line = line.trim_start_matches(|c: char| c.is_whitespace() || c == '>').trim();
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode() {
        assert_eq!(decode_entities("a&#43;b&#x2F;c&amp;d&lt;&unknown;"), "a+b/c&d<&unknown;");
    }

    #[test]
    fn armour_text_breaks_lines_on_br_and_trims() {
        assert_eq!(armour_text("<br />  abc&#43;<br>\r\n  <b>de</b>f<br/>"), "abc+\ndef\n");
        assert_eq!(armour_text("&gt; abc\n&gt; def"), "abc\ndef\n");
    }
}
