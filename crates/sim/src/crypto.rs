//! Real, deterministic key material: OpenPGP keys (rpgp) and Bitcoin
//! addresses (rust-bitcoin), both derived from 32-byte seeds drawn from the
//! simulation's ChaCha20 stream.
//!
//! rpgp's high-level builder stamps `Timestamp::now()` into every
//! self-signature, which would make two runs differ. So the key is assembled
//! from packets here, with the key and signature creation times fixed to the
//! simulated timeline. Ed25519 (legacy EdDSA, as v4 keys of the 2019–2021 era
//! use) signs deterministically, so the armour is byte-identical across runs.

use bitcoin::secp256k1::{Secp256k1, SecretKey, SignOnly};
use bitcoin::{Address, CompressedPublicKey, Network};
use pgp::composed::{ArmorOptions, KeyType, SignedKeyDetails, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::packet::{
    KeyFlags, PacketTrait as _, PubKeyInner, PublicKey, PublicSubkey, SecretKey as PgpSecretKey,
    SignatureConfig, SignatureType, Subpacket, SubpacketData, UserId,
};
use pgp::types::{KeyDetails as _, KeyVersion, PacketHeaderVersion, Password, Timestamp};
use rand_chacha_03::rand_core::SeedableRng as _;

/// A generated OpenPGP public key: its armour and its v4 fingerprint.
#[derive(Debug, Clone)]
pub(crate) struct PgpKey {
    /// ASCII armour of the transferable public key (primary, user id, subkey).
    pub armored: String,
    /// Uppercase 40-hex v4 fingerprint of the primary key.
    pub fingerprint: String,
}

/// Why key generation failed. rpgp only fails here on an internal error:
/// the algorithm and parameters are fixed.
#[derive(Debug, thiserror::Error)]
#[error("generating the OpenPGP key for {user_id:?}: {source}")]
pub(crate) struct KeyGenError {
    user_id: String,
    #[source]
    source: pgp::errors::Error,
}

/// Generates an Ed25519 signing key with a Curve25519 encryption subkey, the
/// shape GnuPG produced by default for ECC keys, for `user_id`, created at
/// `created` (Unix seconds). Everything random comes from `seed`.
pub(crate) fn pgp_key(seed: [u8; 32], user_id: &str, created: u32) -> Result<PgpKey, KeyGenError> {
    build_key(seed, user_id, created).map_err(|source| KeyGenError {
        user_id: user_id.to_owned(),
        source,
    })
}

fn build_key(seed: [u8; 32], user_id: &str, created: u32) -> pgp::errors::Result<PgpKey> {
    let mut rng = rand_chacha_03::ChaCha20Rng::from_seed(seed);
    let at = Timestamp::from_secs(created);
    let pw = Password::empty();

    let primary_type = KeyType::Ed25519Legacy;
    let (pub_params, sec_params) = primary_type.generate(&mut rng)?;
    let primary_pub = PublicKey::from_inner(PubKeyInner::new(
        KeyVersion::V4,
        primary_type.to_alg(),
        at,
        None,
        pub_params,
    )?)?;
    let primary = PgpSecretKey::new(primary_pub.clone(), sec_params)?;

    // Self-certification of the user id, with a fixed creation time.
    let uid = UserId::from_str(PacketHeaderVersion::New, user_id)?;
    let mut flags = KeyFlags::default();
    flags.set_certify(true);
    flags.set_sign(true);
    let mut config = SignatureConfig::from_key(&mut rng, &primary, SignatureType::CertPositive)?;
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(at))?,
        Subpacket::regular(SubpacketData::IssuerFingerprint(primary.fingerprint()))?,
        Subpacket::regular(SubpacketData::KeyFlags(flags))?,
        Subpacket::regular(SubpacketData::IsPrimary(true))?,
    ];
    config.unhashed_subpackets = vec![Subpacket::regular(SubpacketData::IssuerKeyId(
        primary.legacy_key_id(),
    ))?];
    let uid_sig = config.sign_certification(&primary, &primary_pub, &pw, uid.tag(), &uid)?;
    let users = vec![uid.into_signed(uid_sig)];

    // Encryption subkey, bound by the primary with a fixed creation time.
    let sub_type = KeyType::ECDH(ECCCurve::Curve25519Legacy);
    let (sub_pub_params, _sub_secret) = sub_type.generate(&mut rng)?;
    let sub_pub = PublicSubkey::from_inner(PubKeyInner::new(
        KeyVersion::V4,
        sub_type.to_alg(),
        at,
        None,
        sub_pub_params,
    )?)?;
    let mut sub_flags = KeyFlags::default();
    sub_flags.set_encrypt_comms(true);
    sub_flags.set_encrypt_storage(true);
    let mut config = SignatureConfig::from_key(&mut rng, &primary, SignatureType::SubkeyBinding)?;
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(at))?,
        Subpacket::regular(SubpacketData::KeyFlags(sub_flags))?,
        Subpacket::regular(SubpacketData::IssuerFingerprint(primary.fingerprint()))?,
    ];
    config.unhashed_subpackets = vec![Subpacket::regular(SubpacketData::IssuerKeyId(
        primary.legacy_key_id(),
    ))?];
    let binding = config.sign_subkey_binding(&primary, &primary_pub, &pw, &sub_pub)?;

    let key = SignedPublicKey::new(
        primary_pub,
        SignedKeyDetails::new(vec![], vec![], users, vec![]),
        vec![SignedPublicSubKey::new(sub_pub, vec![binding])],
    );
    let armored = key.to_armored_string(ArmorOptions::default())?;
    let fingerprint = hex_upper(key.fingerprint().as_bytes());
    Ok(PgpKey {
        armored,
        fingerprint,
    })
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

/// Address types vendors show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BtcKind {
    /// Native segwit, `bc1q…`.
    P2wpkh,
    /// Legacy, `1…`.
    P2pkh,
}

/// A mainnet address for the secp256k1 key derived from `seed`. A seed that is
/// not a valid scalar (probability ~2^-128) is re-hashed by bumping a byte.
pub(crate) fn btc_address(secp: &Secp256k1<SignOnly>, mut seed: [u8; 32], kind: BtcKind) -> String {
    let sk = loop {
        match SecretKey::from_slice(&seed) {
            Ok(sk) => break sk,
            Err(_) => seed[0] = seed[0].wrapping_add(1),
        }
    };
    let pk = CompressedPublicKey(sk.public_key(secp));
    match kind {
        BtcKind::P2wpkh => Address::p2wpkh(&pk, Network::Bitcoin).to_string(),
        BtcKind::P2pkh => Address::p2pkh(pk, Network::Bitcoin).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgp::composed::Deserializable as _;

    #[test]
    fn pgp_key_is_deterministic_and_parses_back() {
        let a = pgp_key([7; 32], "Test Vendor <test@example.org>", 1_560_000_000);
        let b = pgp_key([7; 32], "Test Vendor <test@example.org>", 1_560_000_000);
        let (a, b) = (a.map_err(|e| e.to_string()), b.map_err(|e| e.to_string()));
        assert_eq!(
            a.as_ref().map(|k| &k.armored),
            b.as_ref().map(|k| &k.armored)
        );
        let Ok(a) = a else {
            panic!("key generation failed: {a:?}")
        };
        assert!(a
            .armored
            .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        assert_eq!(a.fingerprint.len(), 40);
        let (parsed, _) = SignedPublicKey::from_string(&a.armored)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hex_upper(parsed.fingerprint().as_bytes()), a.fingerprint);
        assert!(parsed.verify_bindings().is_ok(), "self-signatures verify");
    }

    #[test]
    fn btc_addresses_are_mainnet_and_valid() {
        let secp = Secp256k1::signing_only();
        for (kind, prefix) in [(BtcKind::P2wpkh, "bc1q"), (BtcKind::P2pkh, "1")] {
            let a = btc_address(&secp, [42; 32], kind);
            assert!(a.starts_with(prefix), "{a}");
            let parsed: Result<Address<bitcoin::address::NetworkUnchecked>, _> = a.parse();
            assert!(
                parsed
                    .map(|p| p.is_valid_for_network(Network::Bitcoin))
                    .unwrap_or(false),
                "{a}"
            );
        }
    }
}
