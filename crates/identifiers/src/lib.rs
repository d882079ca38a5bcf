//! Generic identifier extractors with validation, run on every captured page.
//!
//! The crate owns finding and validating identifiers in a page's decoded
//! HTML source: PGP public keys (reported by v4 fingerprint), Bitcoin and
//! Monero addresses, v3 onion addresses, e-mail addresses, Jabber ids, and
//! Telegram/Wickr/Session handles where the page labels them.
//!
//! Main entry points: [`find_all`] (and [`find_all_with_diagnostics`]),
//! returning [`Found`] items ordered by byte offset; [`parse_pgp_key`]; the
//! validators [`btc::validate`], [`xmr::validate`] and [`onion::validate_v3`].
//!
//! ```
//! let page = "<p>Donate: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa</p>";
//! let found = identifiers::find_all(page);
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].detail.as_deref(), Some("mainnet p2pkh"));
//! ```
//!
//! Key choices:
//! * **No unvalidated address is reported as an address.** Regexes only
//!   propose candidates; a checksum decides (base58check/bech32 via the
//!   `bitcoin` crate, Monero's Keccak checksum via the `monero` crate, the
//!   v3 onion SHA3 checksum). v2 onions cannot be checked and are skipped.
//! * **Raw HTML, not rendered text.** Addresses and onions often live in
//!   attributes (`href`), so the scan runs over the raw source, and label
//!   patterns allow markup between a label and its value.
//! * **Armour is repaired, not trusted.** PGP blocks are rebuilt from their
//!   base64 body so `<br>` line breaks, entities, stripped newlines and
//!   indentation do not hide keys; keys that still do not parse are returned
//!   as [`Diagnostic`]s, never as identifiers. Text inside armour blocks is
//!   not scanned for other identifiers (base64 is noise for them).
//! * Regexes are compiled once (`LazyLock`) and are linear-time (`regex`).

#![warn(missing_docs)]

mod armor;
pub mod btc;
mod contacts;
mod html;
pub mod onion;
pub mod xmr;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use model::{Identifier, IdentifierKind, PgpKeyInfo, Provenance};
use regex::Regex;

pub use armor::{parse_pgp_key, PgpError};

/// An identifier found in a text, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it is.
    pub kind: IdentifierKind,
    /// Canonical value: uppercase fingerprint for PGP; base58 coin addresses
    /// as written; bech32 addresses, onions (with `.onion`), e-mail, Jabber,
    /// Telegram, Wickr and Session ids in lowercase.
    pub value: String,
    /// Network and type for coin addresses (`mainnet p2wpkh`), `v3` for
    /// onions, how a contact was recognised (`labelled`, `t.me link`,
    /// `known xmpp server`); `None` for PGP keys and plain e-mail.
    pub detail: Option<String>,
    /// Key facts, for PGP keys.
    pub pgp: Option<PgpKeyInfo>,
    /// Byte offset in the input of the first occurrence (for PGP keys, of
    /// the BEGIN marker).
    pub offset: usize,
}

impl Found {
    /// Converts into the model's [`Identifier`] row.
    pub fn into_identifier(self, provenance: Option<Provenance>) -> Identifier {
        Identifier {
            kind: self.kind,
            value: self.value,
            detail: self.detail,
            pgp: self.pgp,
            provenance,
        }
    }
}

/// Something that looked like an identifier but was not reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte offset in the input.
    pub offset: usize,
    /// The kind it would have been.
    pub kind: IdentifierKind,
    /// Why it was not reported.
    pub message: String,
}

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("static regex {p}: {e}"))
}

/// Base58 legacy addresses: 26–35 characters starting with a version
/// character (mainnet `1`/`3`, testnet `m`/`n`/`2`). The definition; the
/// search is [`base58_candidates`].
#[cfg(test)]
static BTC_BASE58_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)[123mn][1-9A-HJ-NP-Za-km-z]{25,34}(?-u:\b)"));

/// Bech32/bech32m segwit addresses (either case; mixed case is rejected by
/// validation).
static BTC_BECH32_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i-u:\b)(?:bc|tb|bcrt)1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{6,87}(?-u:\b)")
});

/// Monero: 95 (standard, subaddress) or 106 (integrated) base58 characters.
/// The definition; the search is [`base58_candidates`].
#[cfg(test)]
static XMR_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?-u:\b)[4-9AB][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?(?-u:\b)")
});

/// Which base58 address pattern a word has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base58Kind {
    Btc,
    Xmr,
}

/// The words of `text` that [`BTC_BASE58_RE`] or [`XMR_RE`] match, in
/// order, found in one pass over the bytes. Both patterns are bounded by
/// ASCII word boundaries and hold only word characters, so a match is a
/// whole ASCII word (a maximal run of `[0-9A-Za-z_]`): a Bitcoin candidate
/// is such a word of 26–35 base58 characters starting with `1`, `2`, `3`,
/// `m` or `n`, a Monero one of exactly 95 or 106 starting with `4`–`9`, `A`
/// or `B`. (The two regexes had no literal to skip ahead by: their lazy DFAs
/// read every byte, most of the identifier scan of a dataset file.)
fn base58_candidates(text: &str) -> impl Iterator<Item = (Base58Kind, usize, &str)> + '_ {
    /// Byte classes: ASCII word bytes, and of those the base58 alphabet
    /// (alphanumerics but `0`, `O`, `I`, `l`).
    const fn table(base58_only: bool) -> [bool; 256] {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = if base58_only {
                c.is_ascii_alphanumeric() && !matches!(c, b'0' | b'O' | b'I' | b'l')
            } else {
                c.is_ascii_alphanumeric() || c == b'_'
            };
            b += 1;
        }
        t
    }
    static WORD: [bool; 256] = table(false);
    static BASE58: [bool; 256] = table(true);
    /// The shortest candidate.
    const SHORTEST: usize = 26;
    let bytes = text.as_bytes();
    let word_at = |i: usize| WORD[bytes[i] as usize];
    // `at` is never strictly inside a word (the byte before it or the byte
    // at it is no word byte), so a word found from it is whole.
    let mut at = 0;
    std::iter::from_fn(move || {
        while at + SHORTEST <= bytes.len() {
            // A candidate starting in `at..=last` would hold byte `last`:
            // when that is no word byte, none does, and the scan skips past
            // it, reading one byte in 26 of text in short words.
            let last = at + SHORTEST - 1;
            if !word_at(last) {
                at = last + 1;
                continue;
            }
            // The word holding `last`: back to its start (not before `at`),
            // on to its end.
            let mut start = last;
            while start > at && word_at(start - 1) {
                start -= 1;
            }
            at = last + 1;
            while at < bytes.len() && word_at(at) {
                at += 1;
            }
            let word = &bytes[start..at];
            let kind = match (word.len(), word.first()) {
                (26..=35, Some(b'1' | b'2' | b'3' | b'm' | b'n')) => Base58Kind::Btc,
                (95 | 106, Some(b'4'..=b'9' | b'A' | b'B')) => Base58Kind::Xmr,
                _ => continue,
            };
            if word.iter().all(|&b| BASE58[b as usize]) {
                // Word bytes are ASCII: `start..at` lies on char boundaries.
                return Some((kind, start, &text[start..at]));
            }
        }
        None
    })
}

/// v3 onion addresses (56 base32 characters).
static ONION_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i-u:\b)[a-z2-7]{56}\.onion(?-u:\b)"));

static GAP_TAG_RE: LazyLock<Regex> = LazyLock::new(|| re(r"<[^<>]*>"));

/// The gap between a label and its value with tags removed (used to look
/// for an explicit `:` separator outside markup).
pub(crate) fn strip_tags_for_gap(gap: &str) -> String {
    GAP_TAG_RE.replace_all(gap, " ").into_owned()
}

/// Finds every validated identifier in `text`, ordered by byte offset, each
/// `(kind, value)` once (at its first occurrence).
pub fn find_all(text: &str) -> Vec<Found> {
    find_all_with_diagnostics(text).0
}

/// Like [`find_all`], also returning diagnostics for PGP public-key blocks
/// that could not be parsed (truncated, corrupt, non-v4). Diagnostics are
/// ordered by offset.
pub fn find_all_with_diagnostics(text: &str) -> (Vec<Found>, Vec<Diagnostic>) {
    let mut out: Vec<Found> = Vec::new();
    let mut diags: Vec<Diagnostic> = Vec::new();

    let scan = armor::scan(text);
    for block in &scan.blocks {
        if block.typ != "PUBLIC KEY BLOCK" {
            continue;
        }
        match armor::parse_block(text, block) {
            Ok((fingerprint, info)) => out.push(Found {
                kind: IdentifierKind::Pgp,
                value: fingerprint,
                detail: None,
                pgp: Some(info),
                offset: block.start,
            }),
            Err(e) => diags.push(Diagnostic {
                offset: block.start,
                kind: IdentifierKind::Pgp,
                message: e.to_string(),
            }),
        }
    }
    for &offset in &scan.truncated_public {
        diags.push(Diagnostic {
            offset,
            kind: IdentifierKind::Pgp,
            message: PgpError::Truncated { offset }.to_string(),
        });
    }

    // Armour blocks are sorted and disjoint; a binary search tells whether a
    // candidate lies inside one.
    let ranges: Vec<(usize, usize)> = scan.blocks.iter().map(|b| (b.start, b.end)).collect();
    let masked = |pos: usize| -> bool {
        let i = ranges.partition_point(|&(start, _)| start <= pos);
        i > 0 && ranges.get(i - 1).is_some_and(|&(_, end)| pos < end)
    };

    // (Pushed in any order: `out` is sorted below.) One word scan finds the
    // base58 candidates of both currencies; bech32 has its own pattern.
    let btc = |start: usize, candidate: &str, out: &mut Vec<Found>| {
        if let Some(info) = btc::validate(candidate) {
            out.push(Found {
                kind: IdentifierKind::Btc,
                value: btc::canonical(candidate),
                detail: Some(info.detail()),
                pgp: None,
                offset: start,
            });
        }
    };
    for (kind, start, candidate) in base58_candidates(text) {
        if masked(start) {
            continue;
        }
        match kind {
            Base58Kind::Btc => btc(start, candidate, &mut out),
            Base58Kind::Xmr => {
                if let Some(info) = xmr::validate(candidate) {
                    out.push(Found {
                        kind: IdentifierKind::Xmr,
                        value: candidate.to_string(),
                        detail: Some(info.detail()),
                        pgp: None,
                        offset: start,
                    });
                }
            }
        }
    }
    for m in BTC_BECH32_RE.find_iter(text) {
        if !masked(m.start()) {
            btc(m.start(), m.as_str(), &mut out);
        }
    }
    for m in ONION_RE.find_iter(text) {
        if !masked(m.start()) && onion::validate_v3(m.as_str()) {
            out.push(Found {
                kind: IdentifierKind::Onion,
                value: m.as_str().to_ascii_lowercase(),
                detail: Some("v3".to_string()),
                pgp: None,
                offset: m.start(),
            });
        }
    }
    contacts::find(text, &masked, &mut out);

    out.sort_by(|a, b| (a.offset, a.kind, &a.value).cmp(&(b.offset, b.kind, &b.value)));
    let mut seen: BTreeSet<(IdentifierKind, String)> = BTreeSet::new();
    out.retain(|f| seen.insert((f.kind, f.value.clone())));
    diags.sort_by(|a, b| (a.offset, &a.message).cmp(&(b.offset, &b.message)));
    (out, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass word scan finds exactly what the two regexes match,
        /// on texts of base58 runs of address lengths, other word bytes,
        /// separators and non-ASCII text.
        #[test]
        fn base58_candidates_are_the_regex_matches(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    "[1-9A-HJ-NP-Za-km-z]{20,40}",
                    "[4-9AB][1-9A-HJ-NP-Za-km-z]{93,106}",
                    "[123mn][1-9A-HJ-NP-Za-km-z]{24,35}",
                    "[0OIl_]{1,2}",
                    "[ \\-.:/,\\n]{1,3}",
                    "[éΣ\u{a0}]",
                ],
                0..12,
            )
        ) {
            let text = pieces.concat();
            let found: Vec<(usize, &str)> =
                base58_candidates(&text).filter(|c| c.0 == Base58Kind::Btc).map(|c| (c.1, c.2)).collect();
            let want: Vec<(usize, &str)> = BTC_BASE58_RE.find_iter(&text).map(|m| (m.start(), m.as_str())).collect();
            proptest::prop_assert_eq!(found, want);
            let found: Vec<(usize, &str)> =
                base58_candidates(&text).filter(|c| c.0 == Base58Kind::Xmr).map(|c| (c.1, c.2)).collect();
            let want: Vec<(usize, &str)> = XMR_RE.find_iter(&text).map(|m| (m.start(), m.as_str())).collect();
            proptest::prop_assert_eq!(found, want);
        }
    }

    /// A candidate found wherever it starts relative to the scan's skips
    /// of 26 bytes: after a word or a run of separators of every length.
    #[test]
    fn base58_candidates_are_found_at_every_alignment() {
        let btc = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
        let xmr = format!("4{}", "A".repeat(94));
        for lead in 0..60 {
            for filler in ["x", " ", "ab "] {
                let text = format!("{} {btc} {xmr}.{btc}", filler.repeat(lead));
                let found: Vec<(usize, &str)> = base58_candidates(&text).map(|c| (c.1, c.2)).collect();
                let mut want: Vec<(usize, &str)> = BTC_BASE58_RE.find_iter(&text).map(|m| (m.start(), m.as_str())).collect();
                want.extend(XMR_RE.find_iter(&text).map(|m| (m.start(), m.as_str())));
                want.sort_unstable();
                assert_eq!(found, want, "{text:?}");
            }
        }
    }

    #[test]
    fn find_all_orders_and_dedups() {
        let onion = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";
        let text = format!(
            "<a href=\"http://{onion}/x\">tor</a> pay bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 \
             or 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa; again {onion}"
        );
        let found = find_all(&text);
        let kinds: Vec<_> = found.iter().map(|f| (f.kind, f.detail.clone().unwrap_or_default())).collect();
        assert_eq!(
            kinds,
            vec![
                (IdentifierKind::Onion, "v3".to_string()),
                (IdentifierKind::Btc, "mainnet p2wpkh".to_string()),
                (IdentifierKind::Btc, "mainnet p2pkh".to_string()),
            ]
        );
        assert_eq!(found.first().map(|f| f.offset), text.find("2gzy"));
    }

    #[test]
    fn invalid_candidates_are_not_reported() {
        // Checksum-invalid lookalikes of each address type.
        let text = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb \
                    bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5 \
                    2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wia.onion \
                    expyuzz4wqqyqhjn.onion";
        assert_eq!(find_all(text), Vec::new());
    }
}
