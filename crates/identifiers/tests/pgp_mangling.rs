//! A key generated here with rpgp, armoured, then mangled the ways market
//! and forum pages mangle armour; every variant must give back the same
//! fingerprint through `parse_pgp_key` and `find_all`.

use identifiers::{find_all, find_all_with_diagnostics, parse_pgp_key, PgpError};
use model::IdentifierKind;
use pgp::composed::{ArmorOptions, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SubkeyParamsBuilder};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::types::KeyDetails;
use rand_chacha::rand_core::SeedableRng;

/// Returns (armoured public key with a Version header, fingerprint, subkey fingerprint).
fn generated_key() -> (String, String, String) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let sub = SubkeyParamsBuilder::default()
        .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
        .can_encrypt(pgp::composed::EncryptionCaps::All)
        .build()
        .expect("subkey params");
    let params = SecretKeyParamsBuilder::default()
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .primary_user_id("Test Vendor <vendor@example.org>".into())
        .subkeys(vec![sub])
        .build()
        .expect("key params");
    let secret = params.generate(&mut rng).expect("generate");
    let public = SignedPublicKey::from(secret);
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("Version".to_string(), vec!["GnuPG v2".to_string()]);
    headers.insert("Comment".to_string(), vec!["https://example.org/key".to_string()]);
    let armoured = public
        .to_armored_string(ArmorOptions { headers: Some(&headers), include_checksum: true })
        .expect("armour");
    let fp = format!("{:X}", public.fingerprint());
    let sub_fp = public.public_subkeys.first().map(|s| format!("{:X}", s.key.fingerprint())).expect("subkey");
    (armoured, fp, sub_fp)
}

fn check(label: &str, page: &str, fp: &str) {
    let parsed = parse_pgp_key(page).map(|(f, _)| f);
    assert_eq!(parsed.as_deref(), Ok(fp), "parse_pgp_key: {label}");
    let pgp: Vec<String> =
        find_all(page).into_iter().filter(|f| f.kind == IdentifierKind::Pgp).map(|f| f.value).collect();
    assert_eq!(pgp, vec![fp.to_string()], "find_all: {label}");
}

#[test]
fn key_facts_round_trip() {
    let (armoured, fp, sub_fp) = generated_key();
    let (got, info) = parse_pgp_key(&armoured).expect("clean armour parses");
    assert_eq!(got, fp);
    assert_eq!(got.len(), 40);
    assert!(got.chars().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
    assert_eq!(info.key_id, fp[24..]);
    assert_eq!(info.algorithm, "EdDSA");
    assert_eq!(info.user_ids, vec!["Test Vendor <vendor@example.org>".to_string()]);
    assert_eq!(info.subkeys, vec![sub_fp]);
    assert!(info.created.ends_with('Z') && info.created.len() == 20, "{}", info.created);
}

#[test]
fn every_html_mangling_gives_the_same_fingerprint() {
    let (armoured, fp, _) = generated_key();
    let lines: Vec<&str> = armoured.lines().collect();

    check("clean", &armoured, &fp);
    check("inside pre with text around", &format!("<h3>PGP</h3><pre>{armoured}</pre><p>bye</p>"), &fp);
    check("textarea, indented", &format!("<textarea>\n{}\n</textarea>", lines.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")), &fp);
    check("CRLF", &armoured.replace('\n', "\r\n"), &fp);
    for br in ["<br>", "<br/>", "<br />", "<BR>\n"] {
        check(br, &format!("<div class=post>{}</div>", lines.join(br)), &fp);
    }
    let entities = armoured.replace('+', "&#43;").replace('/', "&#x2F;").replace('=', "&#61;");
    check("entities", &format!("<div>{}</div>", entities.replace('\n', "<br />")), &fp);
    check("double-escaped entities", &armoured.replace('+', "&amp;#43;"), &fp);
    check("quoted with >", &lines.iter().map(|l| format!("&gt; {l}")).collect::<Vec<_>>().join("\n"), &fp);

    // White House style: all newlines stripped, nothing between marker and body.
    let body_start = lines.iter().position(|l| l.is_empty()).expect("blank line after headers") + 1;
    let header_lines = &lines[1..body_start - 1];
    let body_lines = &lines[body_start..lines.len() - 1];
    let begin = lines[0];
    let end = lines[lines.len() - 1];
    check("one line, no headers", &format!("{begin}{}{end}", body_lines.concat()), &fp);
    check("one line with spaces and headers", &format!("{begin} {} {} {end}", header_lines.join(" "), body_lines.join(" ")), &fp);
    check("one line, headers glued", &format!("{begin}{}{}{end}", header_lines.concat(), body_lines.concat()), &fp);
    // No blank line between headers and body (lost by forum software).
    check("no blank line", &[&[begin][..], header_lines, body_lines, &[end][..]].concat().join("\n"), &fp);

    // CRC wrong or missing: rpgp does not need it.
    let crc_line = body_lines.iter().position(|l| l.starts_with('=')).expect("crc line");
    let mut no_crc: Vec<&str> = lines.clone();
    no_crc.remove(body_start + crc_line);
    check("no CRC", &no_crc.join("\n"), &fp);
    let mut bad_crc: Vec<&str> = lines.clone();
    bad_crc[body_start + crc_line] = "=AAAA";
    check("wrong CRC", &bad_crc.join("\n"), &fp);
}

#[test]
fn non_public_blocks_and_broken_keys_are_not_reported() {
    let (armoured, _fp, _) = generated_key();
    let private = armoured.replace("PUBLIC KEY", "PRIVATE KEY");
    assert_eq!(parse_pgp_key(&private), Err(PgpError::NoBlock));
    let message = armoured.replace("PUBLIC KEY BLOCK", "MESSAGE");
    assert!(find_all(&message).is_empty());

    // Corrupt the first packet header: not reported, but diagnosed with its
    // offset. (Corruption deeper inside, e.g. in a signature, can leave the
    // key material and so the fingerprint intact; rpgp skips bad packets.)
    let body = armoured.find("\n\n").expect("blank line") + 2;
    let page = format!("xx {}Q{}", &armoured[..body], &armoured[body + 1..]);
    let (found, diags) = find_all_with_diagnostics(&page);
    assert!(found.iter().all(|f| f.kind != IdentifierKind::Pgp));
    assert_eq!(diags.len(), 1, "{diags:?} {found:?}");
    assert_eq!(diags.first().map(|d| d.offset), Some(3));

    // Truncated block (no END marker).
    let cut = &armoured[..armoured.len() / 2];
    assert!(matches!(parse_pgp_key(cut), Err(PgpError::Truncated { offset: 0 })));
}
