//! Normalization of names, keys and handles before comparison.

/// Uppercase fingerprint with spaces (and a `0x` prefix) removed, when it is
/// 40 (v4) or 64 (v5/v6) hex digits; `None` for anything else (a key id, a
/// truncated or garbled fingerprint).
pub fn fingerprint(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let fp: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    ((fp.len() == 40 || fp.len() == 64) && fp.chars().all(|c| c.is_ascii_hexdigit())).then_some(fp)
}

/// A 64-bit perceptual hash from its 16 hex digits (either case, trimmed);
/// `None` for anything else.
pub fn photo_hash(s: &str) -> Option<u64> {
    let s = s.trim();
    (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| u64::from_str_radix(s, 16).ok()).flatten()
}

/// `(kind, value)` of a `kind:value` contact, both lower-cased and trimmed.
/// A bare value (no known kind before a colon) gets kind `contact`; an
/// e-mail-looking bare value gets kind `email`. `None` when the value is empty.
pub fn contact(s: &str) -> Option<(String, String)> {
    const KINDS: [&str; 8] = ["jabber", "xmpp", "email", "e-mail", "wickr", "telegram", "session", "icq"];
    let s = s.trim();
    let (kind, value) = match s.split_once(':') {
        Some((k, v)) if KINDS.contains(&k.trim().to_lowercase().as_str()) => {
            let k = k.trim().to_lowercase();
            let k = match k.as_str() {
                "xmpp" => "jabber".to_owned(),
                "e-mail" => "email".to_owned(),
                _ => k,
            };
            (k, v)
        }
        _ if s.contains('@') && !s.contains(' ') => ("email".to_owned(), s),
        _ => ("contact".to_owned(), s),
    };
    let value = value.trim().trim_start_matches('@').to_lowercase();
    (!value.is_empty()).then_some((kind, value))
}

/// E-mail addresses inside PGP user ids (`Name <a@b>` or a bare address),
/// lower-cased.
pub fn uid_emails(user_id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = user_id;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let inner = after[..close].trim().to_lowercase();
        if inner.contains('@') {
            out.push(inner);
        }
        rest = &after[close + 1..];
    }
    if out.is_empty() {
        let t = user_id.trim();
        if t.contains('@') && !t.contains(' ') {
            out.push(t.to_lowercase());
        }
    }
    out
}

/// Suffix tokens vendors add when re-registering (`_official`, `UK`, `Team`).
const SUFFIX_TOKENS: [&str; 14] = [
    "official", "uk", "eu", "us", "usa", "au", "de", "nl", "x", "team", "shop", "store", "real", "original",
];

/// Suffixes long enough to strip even without a separator (`pharmaofficial`).
const SUFFIX_STRINGS: [&str; 3] = ["official", "original", "store"];

/// Normalized names that are too generic to link on by name alone.
pub const GENERIC_NAMES: [&str; 24] = [
    "pharma", "pharmacy", "shop", "store", "vendor", "labs", "lab", "plug", "dealer", "drugs", "weed",
    "cocaine", "coke", "mdma", "lsd", "cannabis", "candy", "express", "direct", "market", "supply",
    "chemist", "garden", "depot",
];

fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        '@' => 'a',
        '$' => 's',
        _ => return None,
    })
}

/// Tokens of a vendor name: leetspeak between letters decoded (`F0x` ->
/// `Fox`), split at separators, case changes (`VelvetFox`) and letter/digit
/// boundaries, lower-cased.
pub fn name_tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.trim().chars().collect();
    let is_letter = |i: usize| chars.get(i).is_some_and(|c| c.is_alphabetic());
    let decoded: Vec<char> = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match leet(c) {
            Some(l) if i > 0 && is_letter(i - 1) && is_letter(i + 1) => {
                // Keep the case of the left neighbour so `F0x` stays one word.
                if chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_uppercase()) {
                    l.to_ascii_uppercase()
                } else {
                    l
                }
            }
            _ => c,
        })
        .collect();
    let mut tokens: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for &c in &decoded {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                tokens.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        let boundary = match prev {
            Some(p) => (p.is_lowercase() && c.is_uppercase()) || (p.is_alphabetic() != c.is_alphabetic()),
            None => false,
        };
        if boundary && !cur.is_empty() {
            tokens.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
        prev = Some(c);
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
}

/// The comparison key of a vendor name: tokens ([`name_tokens`]) without
/// trailing suffix tokens (`official`, `uk`, `team`, ...) and trailing
/// numbers, joined; then long suffixes written without a separator
/// (`official`) removed. Never strips the name to nothing: when everything
/// would go, the joined tokens are kept.
pub fn name_key(name: &str) -> String {
    let tokens = name_tokens(name);
    let mut keep = tokens.len();
    while keep > 1 {
        let t = tokens[keep - 1].as_str();
        // Only while a real name remains: "TheShop" is not "the".
        let rest: usize = tokens[..keep - 1].iter().map(String::len).sum();
        if (SUFFIX_TOKENS.contains(&t) || t.chars().all(|c| c.is_ascii_digit())) && rest >= 4 {
            keep -= 1;
        } else {
            break;
        }
    }
    let mut key: String = tokens[..keep].concat();
    if key.is_empty() {
        key = tokens.concat();
    }
    for s in SUFFIX_STRINGS {
        if key.len() >= s.len() + 4 && key.ends_with(s) {
            key.truncate(key.len() - s.len());
        }
    }
    key
}

/// Whether a name key is a generic word ([`GENERIC_NAMES`]) or shorter than
/// four characters.
pub fn is_generic(key: &str) -> bool {
    key.chars().count() < 4 || GENERIC_NAMES.contains(&key)
}

/// Jaro-Winkler similarity (prefix scale 0.1, up to four characters).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    jaro_winkler_chars(&a, &b)
}

/// [`jaro_winkler`] on decoded characters (to decode each name once).
pub fn jaro_winkler_chars(a: &[char], b: &[char]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_match = vec![false; a.len()];
    let mut b_match = vec![false; b.len()];
    let mut matches = 0usize;
    for i in 0..a.len() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_match[j] && a[i] == b[j] {
                a_match[i] = true;
                b_match[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let (mut k, mut transpositions) = (0usize, 0usize);
    for i in 0..a.len() {
        if a_match[i] {
            while !b_match[k] {
                k += 1;
            }
            if a[i] != b[k] {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64 / 2.0) / m) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

pub use places::{place, place_key, Place};

/// Lower-cased market name without spaces, separators or a `market` suffix,
/// so `Dream Market`, `dream` and `DreamMarket` compare equal.
pub fn market_key(market: &str) -> String {
    let k: String = market
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match k.strip_suffix("market") {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_keys() {
        assert_eq!(name_key("VelvetFox"), "velvetfox");
        assert_eq!(name_key("velvetfox"), "velvetfox");
        assert_eq!(name_key("V3lvetF0x"), "velvetfox");
        assert_eq!(name_key("VelvetFox_official"), "velvetfox");
        assert_eq!(name_key("VelvetFoxOfficial"), "velvetfox");
        assert_eq!(name_key("velvetfoxofficial"), "velvetfox");
        assert_eq!(name_key("VelvetFoxUK"), "velvetfox");
        assert_eq!(name_key("VelvetFox_EU"), "velvetfox");
        assert_eq!(name_key("VelvetFox_x"), "velvetfox");
        assert_eq!(name_key("VelvetFox2"), "velvetfox");
        assert_eq!(name_key("VelvetFox_"), "velvetfox");
        assert_eq!(name_key("VelvetFox420"), "velvetfox");
        assert_eq!(name_key("VelvetFoxTeam"), "velvetfox");
        assert_eq!(name_key("Velvet-Fox 77"), "velvetfox");
        // `x` only goes as its own token: `Foxx` is another name.
        assert_eq!(name_key("VelvetFoxx"), "velvetfoxx");
        assert_eq!(name_key("UK"), "uk");
        assert_eq!(name_key("420"), "420");
        assert_eq!(name_key(""), "");
        assert_eq!(name_key("___"), "");
        assert_eq!(name_key("Ph4rma"), "pharma");
        // A suffix goes only when a real name remains.
        assert_eq!(name_key("TheShop"), "theshop");
        assert_eq!(name_key("Bob_official"), "bobofficial");
    }

    #[test]
    fn fingerprints_and_contacts() {
        let fp = "0123 4567 89ab cdef 0123 4567 89AB CDEF 0123 4567";
        assert_eq!(fingerprint(fp).as_deref(), Some("0123456789ABCDEF0123456789ABCDEF01234567"));
        assert_eq!(fingerprint("89ABCDEF01234567"), None);
        assert_eq!(fingerprint("Z123456789ABCDEF0123456789ABCDEF01234567"), None);
        assert_eq!(fingerprint(""), None);
        assert_eq!(contact("Jabber: Fox@Jabber.Example.NET").unwrap(), ("jabber".into(), "fox@jabber.example.net".into()));
        assert_eq!(contact("fox@mail.org").unwrap(), ("email".into(), "fox@mail.org".into()));
        assert_eq!(contact("wickr:@FoxW").unwrap(), ("wickr".into(), "foxw".into()));
        assert_eq!(contact("jabber:  "), None);
        assert_eq!(uid_emails("Fox <Fox@Mail.org>"), vec!["fox@mail.org".to_owned()]);
        assert_eq!(uid_emails("no mail here"), Vec::<String>::new());
        assert_eq!(market_key("Dream Market"), "dream");
        assert_eq!(market_key("dream"), "dream");
    }

    #[test]
    fn jaro_winkler_values() {
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro_winkler("dixon", "dicksonx") - 0.8133).abs() < 1e-3);
        assert_eq!(jaro_winkler("abc", "abc"), 1.0);
        assert_eq!(jaro_winkler("", "abc"), 0.0);
    }
}
