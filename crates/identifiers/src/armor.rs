//! PGP public-key blocks in HTML: locating armour, undoing HTML mangling,
//! re-wrapping, and parsing with rpgp.
//!
//! Market and forum pages rarely carry clean armour: line breaks become
//! `<br />`, `+` and `/` become entities, whole keys are squeezed onto one
//! line (White House Market exports), lines are indented inside `<pre>`.
//! Rather than patching rpgp's reader we rebuild canonical armour from the
//! base64 body: armour headers (`Version:`, `Comment:`) are dropped because
//! they carry no key material, and the fingerprint depends only on the key
//! packets.

use std::sync::LazyLock;

use model::PgpKeyInfo;
use pgp::composed::{Deserializable, SignedPublicKey};
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::types::{KeyDetails, KeyVersion};
use regex::Regex;

use crate::html;

/// Why a PGP public-key block was not reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgpError {
    /// No `BEGIN PGP PUBLIC KEY BLOCK` marker in the input.
    #[error("no PGP public key block found")]
    NoBlock,
    /// A begin marker without a matching end marker.
    #[error("PGP public key block at byte {offset} has no END marker")]
    Truncated {
        /// Byte offset of the BEGIN marker in the input.
        offset: usize,
    },
    /// The block has no base64 body that rpgp accepts as a public key.
    #[error("PGP public key block at byte {offset} does not parse: {message}")]
    Parse {
        /// Byte offset of the BEGIN marker in the input.
        offset: usize,
        /// rpgp's last error, or what was missing.
        message: String,
    },
    /// The key parsed, but is not a v4 key, so it has no 40-hex fingerprint.
    #[error("PGP public key at byte {offset} is version {version}, only v4 is reported")]
    NotV4 {
        /// Byte offset of the BEGIN marker in the input.
        offset: usize,
        /// The key packet version.
        version: u8,
    },
}

impl PgpError {
    /// Byte offset of the block the error is about, if any.
    pub fn offset(&self) -> Option<usize> {
        match self {
            PgpError::NoBlock => None,
            PgpError::Truncated { offset }
            | PgpError::Parse { offset, .. }
            | PgpError::NotV4 { offset, .. } => Some(*offset),
        }
    }
}

/// Any armour marker. The type is captured so BEGIN/END can be paired.
/// Dashes are matched loosely (`-{3,}`) because forum software sometimes
/// turns runs of dashes into dash entities or eats one of them.
static MARKER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-{3,}[ \t]?(BEGIN|END) PGP ([A-Z][A-Z0-9 ,/]{0,40}?)[ \t]?-{3,}")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// A located armour block.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// Byte offset of the BEGIN marker.
    pub start: usize,
    /// Byte offset just past the END marker.
    pub end: usize,
    /// Armour type, e.g. `PUBLIC KEY BLOCK`, `MESSAGE`.
    pub typ: String,
    /// The text between the markers (still HTML-mangled).
    pub inner_start: usize,
    pub inner_end: usize,
}

/// Result of scanning a text for armour.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Complete BEGIN..END blocks of any type, in order.
    pub blocks: Vec<Block>,
    /// Offsets of BEGIN PGP PUBLIC KEY BLOCK markers with no END.
    pub truncated_public: Vec<usize>,
}

/// Pairs BEGIN and END markers. A BEGIN is closed by the next marker if that
/// is the END of the same type; otherwise the block is truncated. `SIGNED
/// MESSAGE` has no END of its own (its signature block closes it), so it is
/// skipped and its cleartext stays visible to the other extractors.
pub(crate) fn scan(text: &str) -> Scan {
    let mut scan = Scan::default();
    let markers: Vec<_> = MARKER_RE.captures_iter(text).collect();
    let mut i = 0;
    while let Some(m) = markers.get(i) {
        let (Some(whole), Some(dir), Some(typ)) = (m.get(0), m.get(1), m.get(2)) else {
            i += 1;
            continue;
        };
        let typ_s = typ.as_str().trim().to_string();
        if dir.as_str() != "BEGIN" || typ_s == "SIGNED MESSAGE" {
            i += 1;
            continue;
        }
        let next = markers.get(i + 1).and_then(|n| Some((n.get(0)?, n.get(1)?, n.get(2)?)));
        match next {
            Some((nwhole, ndir, ntyp)) if ndir.as_str() == "END" && ntyp.as_str().trim() == typ_s => {
                scan.blocks.push(Block {
                    start: whole.start(),
                    end: nwhole.end(),
                    typ: typ_s,
                    inner_start: whole.end(),
                    inner_end: nwhole.start(),
                });
                i += 2;
            }
            _ => {
                if typ_s == "PUBLIC KEY BLOCK" {
                    scan.truncated_public.push(whole.start());
                }
                i += 1;
            }
        }
    }
    scan
}

/// Parses the first PGP public key block in `armored_or_html` (clean armour,
/// or armour mangled by HTML as described in the module docs). Returns the
/// uppercase 40-hex v4 fingerprint and the key facts.
pub fn parse_pgp_key(armored_or_html: &str) -> Result<(String, PgpKeyInfo), PgpError> {
    let scanned = scan(armored_or_html);
    let first_block = scanned.blocks.iter().find(|b| b.typ == "PUBLIC KEY BLOCK");
    match (first_block, scanned.truncated_public.first()) {
        (Some(b), Some(&t)) if t < b.start => Err(PgpError::Truncated { offset: t }),
        (Some(b), _) => parse_block(armored_or_html, b),
        (None, Some(&t)) => Err(PgpError::Truncated { offset: t }),
        (None, None) => Err(PgpError::NoBlock),
    }
}

pub(crate) fn parse_block(text: &str, block: &Block) -> Result<(String, PgpKeyInfo), PgpError> {
    let offset = block.start;
    let inner = text.get(block.inner_start..block.inner_end).unwrap_or("");
    let flat = html::armour_text(inner);
    let mut last_err = String::from("no base64 body found");
    for body in body_candidates(&flat) {
        let (b64, crc) = split_crc(&body);
        // The CRC is optional (RFC 9580 discourages it) and rpgp does not
        // check it by default, so a wrong CRC never decides; try with it
        // first (closest to the original), then without.
        let attempts = [crc, None];
        for crc in attempts.iter().take(if crc.is_some() { 2 } else { 1 }) {
            let armour = rewrap(&b64, *crc);
            match SignedPublicKey::from_string(&armour) {
                Ok((key, _headers)) => return key_facts(&key, offset),
                Err(e) => last_err = e.to_string(),
            }
        }
    }
    Err(PgpError::Parse { offset, message: last_err })
}

/// Candidate base64 bodies of a flattened block, best first.
///
/// Armour headers always contain `:`, base64 never does, so the body starts
/// after the last `:`. If the headers were squeezed onto the same line as the
/// body, the header value (`GnuPG v2`) runs into it; a transferable public
/// key starts with a public-key packet (tag 6: old format 0x98..0x9a, base64
/// `m`; new format 0xc6, base64 `x`), so candidate starts are tokens, then
/// any character, beginning with `m` or `x` shortly after the colon.
fn body_candidates(flat: &str) -> Vec<String> {
    let after_headers = match flat.rfind(':') {
        Some(i) => flat.get(i + 1..).unwrap_or(""),
        None => flat,
    };
    let has_headers = after_headers.len() != flat.len();
    let mut starts: Vec<usize> = Vec::new();
    if !has_headers {
        starts.push(0);
    }
    let bytes = after_headers.as_bytes();
    // Token starts first: "Version: GnuPG v2 mQENB..." or separate lines.
    for (i, &c) in bytes.iter().enumerate().take(200) {
        let token_start = i == 0 || bytes.get(i - 1).is_some_and(|p| p.is_ascii_whitespace());
        if token_start && (c == b'm' || c == b'x') && !starts.contains(&i) {
            starts.push(i);
        }
    }
    // Then glued starts: "Version: BCPG v1.0mQENB...".
    for (i, &c) in bytes.iter().enumerate().take(120) {
        if (c == b'm' || c == b'x') && !starts.contains(&i) {
            starts.push(i);
        }
    }
    starts.truncate(16);
    starts
        .into_iter()
        .filter_map(|s| after_headers.get(s..))
        .map(|rest| rest.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .filter(|b| b.len() >= 16 && b.bytes().all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c)))
        .collect()
}

/// Splits `BODY=XXXX` (CRC24 glued or on its own line, now flattened) into
/// the body and the CRC. Only a trailing `=` followed by exactly four base64
/// characters is a CRC; body padding is `=` or `==` at the end of the body.
fn split_crc(body: &str) -> (String, Option<&str>) {
    let n = body.len();
    if n > 5 {
        if let (Some(head), Some(tail)) = (body.get(..n - 5), body.get(n - 5..)) {
            let mut t = tail.bytes();
            if t.next() == Some(b'=') && t.all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/') {
                return (head.to_string(), tail.get(1..));
            }
        }
    }
    (body.to_string(), None)
}

fn rewrap(b64: &str, crc: Option<&str>) -> String {
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 96);
    out.push_str("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n");
    let bytes = b64.as_bytes();
    for chunk in bytes.chunks(64) {
        // b64 is ASCII (checked in body_candidates), so chunks are valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    if let Some(crc) = crc {
        out.push('=');
        out.push_str(crc);
        out.push('\n');
    }
    out.push_str("-----END PGP PUBLIC KEY BLOCK-----\n");
    out
}

fn key_facts(key: &SignedPublicKey, offset: usize) -> Result<(String, PgpKeyInfo), PgpError> {
    let version = key.version();
    if version != KeyVersion::V4 {
        return Err(PgpError::NotV4 { offset, version: u8::from(version) });
    }
    let fingerprint = format!("{:X}", key.fingerprint());
    let key_id = hex::encode_upper(key.legacy_key_id());
    let created = chrono::DateTime::from_timestamp(i64::from(key.created_at().as_secs()), 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let user_ids = key
        .details
        .users
        .iter()
        .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
        .collect();
    let subkeys = key
        .public_subkeys
        .iter()
        .map(|s| format!("{:X}", s.key.fingerprint()))
        .collect();
    let info = PgpKeyInfo {
        key_id,
        created,
        algorithm: algorithm_name(key.algorithm()),
        user_ids,
        subkeys,
    };
    Ok((fingerprint, info))
}

fn algorithm_name(a: PublicKeyAlgorithm) -> String {
    match a {
        PublicKeyAlgorithm::RSA | PublicKeyAlgorithm::RSAEncrypt | PublicKeyAlgorithm::RSASign => "RSA".into(),
        PublicKeyAlgorithm::DSA => "DSA".into(),
        PublicKeyAlgorithm::ECDSA => "ECDSA".into(),
        PublicKeyAlgorithm::ECDH => "ECDH".into(),
        PublicKeyAlgorithm::EdDSALegacy => "EdDSA".into(),
        PublicKeyAlgorithm::Ed25519 => "Ed25519".into(),
        PublicKeyAlgorithm::Ed448 => "Ed448".into(),
        PublicKeyAlgorithm::X25519 => "X25519".into(),
        PublicKeyAlgorithm::X448 => "X448".into(),
        PublicKeyAlgorithm::Elgamal | PublicKeyAlgorithm::ElgamalEncrypt => "Elgamal".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_crc_keeps_padding() {
        assert_eq!(split_crc("QUJD==H56h"), ("QUJD=".to_string(), Some("H56h")));
        assert_eq!(split_crc("QUJDRA=="), ("QUJDRA==".to_string(), None));
        assert_eq!(split_crc("QUJD=kQeB"), ("QUJD".to_string(), Some("kQeB")));
    }

    #[test]
    fn scan_pairs_markers_and_flags_truncation() {
        let t = "-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\n\
                 -----BEGIN PGP PUBLIC KEY BLOCK-----\nxyz\n";
        let s = scan(t);
        assert_eq!(s.blocks.len(), 1);
        assert_eq!(s.blocks.first().map(|b| b.typ.as_str()), Some("MESSAGE"));
        assert_eq!(s.truncated_public.len(), 1);
    }

    #[test]
    fn parse_errors_name_the_offset() {
        assert_eq!(parse_pgp_key("nothing here"), Err(PgpError::NoBlock));
        let t = "xx -----BEGIN PGP PUBLIC KEY BLOCK-----\nmQENBAAA\n-----END PGP PUBLIC KEY BLOCK-----";
        let err = parse_pgp_key(t).err();
        assert_eq!(err.as_ref().and_then(PgpError::offset), Some(3));
    }
}
