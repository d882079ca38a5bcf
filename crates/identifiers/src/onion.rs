//! v3 onion-service address validation (rend-spec-v3 §6 "Encoding onion
//! addresses"): `base32(PUBKEY || CHECKSUM || VERSION)`, where CHECKSUM is the
//! first two bytes of `SHA3-256(".onion checksum" || PUBKEY || VERSION)` and
//! VERSION is 3.
//!
//! v2 (16-character) addresses carry no checksum, so they cannot be validated
//! and are never reported.

use sha3::{Digest, Sha3_256};

/// True if `s` (56 base32 characters, optionally followed by `.onion`, any
/// case) is a v3 onion address with a correct checksum and version byte.
pub fn validate_v3(s: &str) -> bool {
    let label = strip_suffix_ignore_case(s, ".onion").unwrap_or(s);
    if label.len() != 56 {
        return false;
    }
    let upper = label.to_ascii_uppercase();
    let Ok(bytes) = data_encoding::BASE32_NOPAD.decode(upper.as_bytes()) else {
        return false;
    };
    let (Some(pubkey), Some(checksum), Some(&version)) =
        (bytes.get(..32), bytes.get(32..34), bytes.get(34))
    else {
        return false;
    };
    if version != 3 || bytes.len() != 35 {
        return false;
    }
    let mut hasher = Sha3_256::new();
    hasher.update(b".onion checksum");
    hasher.update(pubkey);
    hasher.update([version]);
    let digest = hasher.finalize();
    digest.get(..2) == Some(checksum)
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| s.get(..cut)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Tor Project's website onion service.
    const TORPROJECT: &str = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion";

    #[test]
    fn real_addresses_validate() {
        assert!(validate_v3(TORPROJECT));
        assert!(validate_v3(&TORPROJECT.to_uppercase()));
        assert!(validate_v3(TORPROJECT.trim_end_matches(".onion")));
        // DuckDuckGo's onion service.
        assert!(validate_v3(
            "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"
        ));
    }

    #[test]
    fn mutations_and_v2_rejected() {
        let mutated = TORPROJECT.replacen("2gzy", "2gzz", 1);
        assert!(!validate_v3(&mutated));
        assert!(!validate_v3("expyuzz4wqqyqhjn.onion"));
        assert!(!validate_v3(""));
        assert!(!validate_v3(".onion"));
        // 56 characters outside the base32 alphabet.
        assert!(!validate_v3(&"1".repeat(56)));
    }
}
