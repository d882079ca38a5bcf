//! Bitcoin address validation (base58check and bech32/bech32m) via the
//! `bitcoin` crate, which checks the checksum, the version byte and, for
//! segwit, the witness version and program length.

use std::str::FromStr;

use bitcoin::address::{Address, AddressType, NetworkUnchecked};
use bitcoin::Network;

/// The chain an address belongs to, as far as the address itself tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BtcNetwork {
    /// Bitcoin mainnet (`1…`, `3…`, `bc1…`).
    Mainnet,
    /// testnet3/testnet4/signet (`m…`, `n…`, `2…`, `tb1…`); base58 testnet
    /// prefixes are shared with regtest, so they are reported as testnet.
    Testnet,
    /// Regtest bech32 (`bcrt1…`).
    Regtest,
}

impl BtcNetwork {
    /// Lowercase name used in `Found::detail`.
    pub fn as_str(self) -> &'static str {
        match self {
            BtcNetwork::Mainnet => "mainnet",
            BtcNetwork::Testnet => "testnet",
            BtcNetwork::Regtest => "regtest",
        }
    }
}

/// The output-script type the address encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BtcKind {
    /// Pay to public-key hash (base58, `1…`/`m…`/`n…`).
    P2pkh,
    /// Pay to script hash (base58, `3…`/`2…`).
    P2sh,
    /// Segwit v0 key hash (20-byte program).
    P2wpkh,
    /// Segwit v0 script hash (32-byte program).
    P2wsh,
    /// Segwit v1 taproot (32-byte program).
    P2tr,
    /// Pay to anchor (segwit v1, 2-byte program `4e73`).
    P2a,
    /// A checksum-valid segwit address of a version or program length no
    /// standard type uses yet (BIP-350 allows versions 1..=16).
    WitnessUnknown(u8),
}

impl BtcKind {
    /// Lowercase name used in `Found::detail` (`p2wpkh`, `segwit_v16`, ...).
    pub fn name(self) -> String {
        match self {
            BtcKind::P2pkh => "p2pkh".into(),
            BtcKind::P2sh => "p2sh".into(),
            BtcKind::P2wpkh => "p2wpkh".into(),
            BtcKind::P2wsh => "p2wsh".into(),
            BtcKind::P2tr => "p2tr".into(),
            BtcKind::P2a => "p2a".into(),
            BtcKind::WitnessUnknown(v) => format!("segwit_v{v}"),
        }
    }
}

/// What a valid address says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BtcAddressInfo {
    /// Chain.
    pub network: BtcNetwork,
    /// Script type.
    pub kind: BtcKind,
}

impl BtcAddressInfo {
    /// `"<network> <kind>"`, e.g. `mainnet p2wpkh`.
    pub fn detail(&self) -> String {
        format!("{} {}", self.network.as_str(), self.kind.name())
    }
}

/// Validates a Bitcoin address; `None` unless the checksum and structure are
/// valid. Surrounding whitespace is not accepted.
pub fn validate(s: &str) -> Option<BtcAddressInfo> {
    // The bitcoin crate parses any length; refuse obviously oversized input
    // first so a hostile page cannot make us decode megabytes.
    if s.len() < 14 || s.len() > 90 {
        return None;
    }
    let unchecked: Address<NetworkUnchecked> = Address::from_str(s).ok()?;
    let network = if unchecked.is_valid_for_network(Network::Bitcoin) {
        BtcNetwork::Mainnet
    } else if unchecked.is_valid_for_network(Network::Testnet) {
        BtcNetwork::Testnet
    } else if unchecked.is_valid_for_network(Network::Regtest) {
        BtcNetwork::Regtest
    } else {
        return None;
    };
    let checked = unchecked.assume_checked();
    let kind = match checked.address_type() {
        Some(AddressType::P2pkh) => BtcKind::P2pkh,
        Some(AddressType::P2sh) => BtcKind::P2sh,
        Some(AddressType::P2wpkh) => BtcKind::P2wpkh,
        Some(AddressType::P2wsh) => BtcKind::P2wsh,
        Some(AddressType::P2tr) => BtcKind::P2tr,
        Some(AddressType::P2a) => BtcKind::P2a,
        // `AddressType` is non-exhaustive; anything new or unknown that still
        // parsed is a witness program of a version without a named type.
        _ => BtcKind::WitnessUnknown(checked.witness_program()?.version().to_num()),
    };
    Some(BtcAddressInfo { network, kind })
}

/// Canonical form used as `Found::value`: bech32 is case-insensitive and its
/// canonical display form is lowercase, base58 is case-sensitive and kept.
pub(crate) fn canonical(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("bc1") || lower.starts_with("tb1") || lower.starts_with("bcrt1") {
        lower
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(addr: &str, expected: Option<&str>) {
        assert_eq!(validate(addr).map(|i| i.detail()).as_deref(), expected, "{addr}");
    }

    #[test]
    fn genesis_and_base58_vectors() {
        check("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", Some("mainnet p2pkh"));
        // Bitcoin Core key_io_valid.json vectors.
        check("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", Some("mainnet p2sh"));
        check("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", Some("testnet p2pkh"));
        check("2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", Some("testnet p2sh"));
        // One character changed: checksum fails.
        check("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", None);
        check("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN", None);
    }

    #[test]
    fn bip173_and_bip350_vectors() {
        check("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", Some("mainnet p2wpkh"));
        check(
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
            Some("testnet p2wsh"),
        );
        check(
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            Some("mainnet p2wsh"),
        );
        check(
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            Some("mainnet p2tr"),
        );
        check(
            "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
            Some("testnet p2tr"),
        );
        check("bcrt1qs758ursh4q9z627kt3pp5yysm78ddny6txaqgw", Some("regtest p2wpkh"));
        check("BC1SW50QGDZ25J", Some("mainnet segwit_v16"));
        check("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", Some("mainnet segwit_v2"));
        // BIP-350 invalid: v0 with bech32m checksum, v1 with bech32 checksum.
        check("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", None);
        check(
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
            None,
        );
        // Mixed case is invalid bech32.
        check("bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", None);
        // One character changed.
        check("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", None);
    }

    #[test]
    fn canonical_lowercases_only_bech32() {
        assert_eq!(
            canonical("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        );
        assert_eq!(
            canonical("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
        );
    }
}
