//! Monero address validation via the `monero` crate: base58 (Monero's
//! 8-byte-block variant), network byte, both public keys decompress to curve
//! points, and the Keccak-256 checksum.

use std::str::FromStr;

/// Monero network, from the address's network byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum XmrNetwork {
    /// Mainnet (`4…`, `8…`).
    Mainnet,
    /// Stagenet (`5…`, `7…`).
    Stagenet,
    /// Testnet (`9…`, `A…`, `B…`).
    Testnet,
}

impl XmrNetwork {
    /// Lowercase name used in `Found::detail`.
    pub fn as_str(self) -> &'static str {
        match self {
            XmrNetwork::Mainnet => "mainnet",
            XmrNetwork::Stagenet => "stagenet",
            XmrNetwork::Testnet => "testnet",
        }
    }
}

/// Monero address type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum XmrKind {
    /// Standard (primary) address, 95 characters.
    Standard,
    /// Integrated address with an 8-byte payment id, 106 characters.
    Integrated,
    /// Subaddress, 95 characters.
    Subaddress,
}

impl XmrKind {
    /// Lowercase name used in `Found::detail`.
    pub fn as_str(self) -> &'static str {
        match self {
            XmrKind::Standard => "standard",
            XmrKind::Integrated => "integrated",
            XmrKind::Subaddress => "subaddress",
        }
    }
}

/// What a valid Monero address says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XmrInfo {
    /// Network.
    pub network: XmrNetwork,
    /// Address type.
    pub kind: XmrKind,
}

impl XmrInfo {
    /// `"<network> <kind>"`, e.g. `mainnet standard`.
    pub fn detail(&self) -> String {
        format!("{} {}", self.network.as_str(), self.kind.as_str())
    }
}

/// Validates a Monero address; `None` unless it decodes, its keys are valid
/// curve points and its checksum matches.
pub fn validate(s: &str) -> Option<XmrInfo> {
    // Only the two real lengths; also keeps hostile input from being decoded.
    if s.len() != 95 && s.len() != 106 {
        return None;
    }
    let addr = monero::Address::from_str(s).ok()?;
    let network = match addr.network {
        monero::Network::Mainnet => XmrNetwork::Mainnet,
        monero::Network::Stagenet => XmrNetwork::Stagenet,
        monero::Network::Testnet => XmrNetwork::Testnet,
    };
    let kind = match addr.addr_type {
        monero::AddressType::Standard => XmrKind::Standard,
        monero::AddressType::Integrated(_) => XmrKind::Integrated,
        monero::AddressType::SubAddress => XmrKind::Subaddress,
    };
    // The decoder accepts a trailing-garbage-free encoding only if lengths
    // agree; make sure the type matches the length we were given.
    let expected_len = if kind == XmrKind::Integrated { 106 } else { 95 };
    (s.len() == expected_len).then_some(XmrInfo { network, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standard mainnet address from the monero crate's tests.
    const STANDARD: &str = "4ADT1BtbxqEWeMKp9GgPr2NeyJXXtNxvoDawpyA4WpzFcGcoHUvXeijE66DNfohE9r1bQYaBiQjEtKE7CtkTdLwiDznFzra";

    fn check(addr: &str, expected: Option<&str>) {
        assert_eq!(validate(addr).map(|i| i.detail()).as_deref(), expected, "{addr}");
    }

    #[test]
    fn real_vectors() {
        // The "General Fund donation address" as quoted in our brief is only
        // 91 characters long (four characters lost in copying), so it must be
        // rejected rather than accepted.
        check(
            "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SRNZHnVHLrdzh9jKG3jXK8EZGj5VEG8bo",
            None,
        );
        // Vectors from the monero crate's own documentation and tests
        // (monero-rs, src/util/address.rs).
        check(
            "4ADT1BtbxqEWeMKp9GgPr2NeyJXXtNxvoDawpyA4WpzFcGcoHUvXeijE66DNfohE9r1bQYaBiQjEtKE7CtkTdLwiDznFzra",
            Some("mainnet standard"),
        );
        check(
            "4Byr22j9M2878Mtyb3fEPcBNwBZf5EXqn1Yi6VzR46618SFBrYysab2Cs1474CVDbsh94AJq7vuV3Z2DRq4zLcY3LHzo1Nbv3d8J6VhvCV",
            Some("mainnet integrated"),
        );
        check(
            "8AW7SotwFrqfAKnibspuuhfowW4g3asvpQvdrTmPcpNr2GmXPtBBSxUPZQATAt8Vw2hiX9GDyxB4tMNgHjwt8qYsCeFDVvn",
            Some("mainnet subaddress"),
        );
        check(
            "5B8s3obCY2ETeQB3GNAGPK2zRGen5UeW1WzegSizVsmf6z5NvM2GLoN6zzk1vHyzGAAfA8pGhuYAeCFZjHAp59jRVQkunGS",
            Some("stagenet standard"),
        );
        check(
            "9ujeXrjzf7bfeK3KZdCqnYaMwZVFuXemPU8Ubw335rj2FN1CdMiWNyFV3ksEfMFvRp9L9qum5UxkP5rN9aLcPxbH1au4WAB",
            Some("testnet standard"),
        );
    }

    #[test]
    fn mutations_rejected() {
        let mut chars: Vec<char> = STANDARD.chars().collect();
        chars[50] = if chars[50] == 'a' { 'b' } else { 'a' };
        let mutated: String = chars.into_iter().collect();
        check(&mutated, None);
        check(&STANDARD[..94], None);
    }
}
