//! Turning page bytes into text.
//!
//! Markets lie about their charset: twelve saved Dream pages declare
//! ISO-8859-1 but are UTF-8. So valid UTF-8 wins over any declaration (a real
//! Latin-1 page with non-ASCII bytes is almost never valid UTF-8); only
//! invalid UTF-8 falls back to the declared charset, then to windows-1252.
//! Mojibake already in the bytes stays as it is: we show what the page said.

use encoding_rs::Encoding;

/// Decoded page text and what the decoder noticed.
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding actually used.
    pub encoding: &'static str,
    /// A note when the declared charset was overruled or missing.
    pub note: Option<String>,
}

/// Decodes `bytes`, preferring valid UTF-8 over the declared charset.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    // UTF-16 first: its ASCII text, NULs and all, is also valid UTF-8.
    if let Some(enc) = utf16(bytes, content_type) {
        let (text, used, _) = enc.decode(bytes);
        return Decoded { text: text.into_owned(), encoding: used.name(), note: Some(format!("page is {}", used.name())) };
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let label = content_type.and_then(charset_param).or_else(|| declared_in_meta(bytes));
    let declared = label.as_deref().and_then(|l| Encoding::for_label(l.as_bytes()));
    if let Ok(text) = std::str::from_utf8(bytes) {
        let note = match declared {
            Some(enc) if enc != encoding_rs::UTF_8 && !bytes.is_ascii() => Some(format!(
                "page declares charset {} ({}) but its bytes are valid UTF-8; decoded as UTF-8",
                label.as_deref().unwrap_or_default(),
                enc.name()
            )),
            _ => None,
        };
        return Decoded { text: text.to_owned(), encoding: "UTF-8", note };
    }
    let enc = declared.unwrap_or(encoding_rs::WINDOWS_1252);
    let (text, used, _) = enc.decode(bytes);
    let note = Some(match declared {
        Some(_) => format!("page is not UTF-8; decoded with its declared charset {}", used.name()),
        None => format!("page is not UTF-8 and declares no charset; decoded as {}", used.name()),
    });
    Decoded { text: text.into_owned(), encoding: used.name(), note }
}

/// The UTF-16 a page is in, by its byte order mark or its Content-Type's
/// charset (a `<meta>` in UTF-16 cannot be read before decoding).
pub fn utf16(bytes: &[u8], content_type: Option<&str>) -> Option<&'static Encoding> {
    let by_bom = Encoding::for_bom(bytes).map(|(enc, _)| enc);
    let declared = || content_type.and_then(charset_param).and_then(|l| Encoding::for_label(l.as_bytes()));
    by_bom.or_else(declared).filter(|enc| *enc == encoding_rs::UTF_16LE || *enc == encoding_rs::UTF_16BE)
}

fn charset_param(content_type: &str) -> Option<String> {
    let lower = content_type.to_ascii_lowercase();
    let idx = lower.find("charset=")?;
    let rest = &lower[idx + 8..];
    let value: String = rest
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

/// Finds `<meta charset=...>` or `<meta http-equiv=content-type content="...charset=...">`
/// in the first 4 KiB, as browsers do (a prescan, not a parse).
fn declared_in_meta(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(4096)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = head[from..].find("<meta") {
        let start = from + pos;
        let end = head[start..].find('>').map(|e| start + e).unwrap_or(head.len());
        let tag = &head[start..end];
        if let Some(cs) = charset_param(tag) {
            return Some(cs);
        }
        from = end.max(start + 5);
        if from >= head.len() {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UTF-16 page (by its byte order mark, or the charset its
    /// Content-Type declares) is decoded, not read as UTF-8 with NULs.
    #[test]
    fn utf16_pages_are_decoded() {
        let text = "<html><body>pay 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2</body></html>";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let with_bom = |bom: &[u8], body: &[u8]| [bom, body].concat();
        assert_eq!(decode(&with_bom(b"\xFF\xFE", &le), None).text, text);
        assert_eq!(decode(&with_bom(b"\xFE\xFF", &be), None).text, text);
        let declared = decode(&le, Some("text/html; charset=utf-16le"));
        assert_eq!((declared.text.as_str(), declared.encoding), (text, "UTF-16LE"));
    }

    #[test]
    fn utf8_wins_over_a_wrong_declaration() {
        let page = "<meta charset=\"ISO-8859-1\"><p>Qualität</p>".as_bytes();
        let d = decode(page, None);
        assert!(d.text.contains("Qualität"));
        assert!(d.note.unwrap().to_lowercase().contains("iso-8859-1"));
    }

    #[test]
    fn latin1_page_decodes_with_its_declaration() {
        let mut page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"><p>Qualit".to_vec();
        page.push(0xE4);
        page.extend_from_slice(b"t</p>");
        let d = decode(&page, None);
        assert!(d.text.contains("Qualität"), "{}", d.text);
        assert_eq!(d.encoding, "windows-1252");
    }

    #[test]
    fn header_charset_is_read() {
        assert_eq!(charset_param("text/html; charset=\"UTF-8\"").as_deref(), Some("utf-8"));
        assert_eq!(charset_param("text/html"), None);
    }
}
