//! Property tests: validators and `find_all` never panic on arbitrary input,
//! and one-character mutations of valid addresses are rejected.

use identifiers::{btc, find_all, onion, xmr};
use proptest::prelude::*;

const BTC: &[&str] = &[
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
];
const XMR: &str = "4ADT1BtbxqEWeMKp9GgPr2NeyJXXtNxvoDawpyA4WpzFcGcoHUvXeijE66DNfohE9r1bQYaBiQjEtKE7CtkTdLwiDznFzra";
const ONION: &str = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid";

/// Replaces the character at `pos` (mod length) with a different one from
/// `alphabet`.
fn mutate(s: &str, pos: usize, pick: usize, alphabet: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let i = pos % chars.len();
    let alpha: Vec<char> = alphabet.chars().filter(|c| Some(c) != chars.get(i)).collect();
    chars[i] = alpha[pick % alpha.len()];
    chars.into_iter().collect()
}

const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BASE32: &str = "abcdefghijklmnopqrstuvwxyz234567";

proptest! {
    #[test]
    fn validators_never_panic(s in any::<String>()) {
        let _ = btc::validate(&s);
        let _ = xmr::validate(&s);
        let _ = onion::validate_v3(&s);
        let _ = identifiers::parse_pgp_key(&s);
    }

    #[test]
    fn find_all_never_panics(s in any::<String>()) {
        let _ = find_all(&s);
    }

    #[test]
    fn find_all_never_panics_on_armour_like_text(
        body in "[A-Za-z0-9+/=<>&#;: \n]{0,400}",
        dashes in 3usize..7,
    ) {
        let d = "-".repeat(dashes);
        let page = format!("{d}BEGIN PGP PUBLIC KEY BLOCK{d}{body}{d}END PGP PUBLIC KEY BLOCK{d}");
        prop_assert!(find_all(&page).iter().all(|f| f.kind != model::IdentifierKind::Pgp));
    }

    #[test]
    fn btc_mutations_rejected(which in 0usize..6, pos in 0usize..100, pick in 0usize..100) {
        let addr = BTC[which];
        let lower = addr.to_ascii_lowercase();
        // Mutate the data part only; changing the human-readable prefix
        // changes the network, not (necessarily) the checksum outcome.
        let is_bech32 = lower.starts_with("bc1") || lower.starts_with("tb1");
        let (keep, alphabet) = if is_bech32 { (4, BECH32) } else { (1, BASE58) };
        let tail = mutate(&addr[keep..], pos, pick, alphabet);
        let mutated = format!("{}{}", &addr[..keep], tail);
        prop_assert!(btc::validate(&mutated).is_none(), "{mutated}");
    }

    #[test]
    fn xmr_mutations_rejected(pos in 0usize..95, pick in 0usize..100) {
        let mutated = mutate(XMR, pos, pick, BASE58);
        prop_assert!(xmr::validate(&mutated).is_none(), "{mutated}");
    }
}

/// Every single-character change of a valid v3 onion, tried exhaustively
/// (56 positions x 31 letters): the 16-bit checksum lets about 1 in 65,536
/// through, and for this address exactly one change passes. A sampled
/// property test hit that one at random and failed; the full enumeration
/// states the validator's real error rate instead.
#[test]
fn onion_single_character_changes_are_rejected_but_one() {
    let mut accepted = Vec::new();
    let mut tried = 0;
    for pos in 0..56 {
        for pick in 0..31 {
            let mutated = mutate(ONION, pos, pick, BASE32);
            tried += 1;
            if onion::validate_v3(&mutated) {
                accepted.push(mutated);
            }
        }
    }
    assert_eq!(tried, 1736);
    assert_eq!(accepted, ["23zyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid"]);
}
