//! Tags: labels on addresses, from GraphSense TagPack YAML files, the command line, or the
//! market side (an address found on a vendor page, with the page's SHA-256 as evidence).
//!
//! Tags are stored per address in `<case>/chain/tags.jsonl` (one JSON object a line,
//! append-only, so every tag keeps its own source and evidence) and applied to whole
//! clusters when read ([`cluster_tags`]): a tag on one address labels every address the
//! co-spend clustering put with it. A tag on an address the chain has not seen is kept; it
//! applies once a later import brings the address in.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use bitcoin::address::NetworkUnchecked;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::{Address, Network};
use serde::{Deserialize, Serialize};

use crate::cluster::Clustering;
use crate::error::ChainError;
use crate::index::{parse_address, ChainIndex};
use crate::store::chain_dir;

/// One label on one address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    /// The address (display form, as `parse_address` reads it).
    pub address: String,
    /// What the address is (`"Vendor foo on Market X"`, `"Exchange Y deposit"`).
    pub label: String,
    /// Where the tag comes from (a TagPack title or URI, `market:<page>`, `cli`).
    pub source: String,
    /// GraphSense category (`exchange`, `market`, `vendor`, ...), when known.
    #[serde(default)]
    pub category: Option<String>,
    /// What backs the tag: the SHA-256 of the page the address was seen on, or of the
    /// TagPack file.
    #[serde(default)]
    pub evidence: Option<String>,
}

fn tags_path(case: &Path) -> PathBuf {
    chain_dir(case).join("tags.jsonl")
}

/// Why `s` is not an address a tag can name, if it is not: a Bitcoin address (on
/// `network` when given, else on any network; the checksum is checked) or the
/// `p2pk:`/`multisig:` hex forms the index uses for outputs without an address. Nothing
/// unchecked may be reported as an address later.
pub fn check_address(s: &str, network: Option<Network>) -> Result<(), String> {
    if let Some(h) = s.strip_prefix("p2pk:").or_else(|| s.strip_prefix("multisig:")) {
        return match hex::decode(h) {
            Ok(b) if !b.is_empty() => Ok(()),
            Ok(_) => Err("no script bytes after the prefix".into()),
            Err(e) => Err(format!("not hex after the prefix: {e}")),
        };
    }
    let a: Address<NetworkUnchecked> = s.parse().map_err(|e: bitcoin::address::ParseError| format!("not a Bitcoin address: {e}"))?;
    match network {
        Some(n) if !a.is_valid_for_network(n) => Err(format!("not a {n} address")),
        _ => Ok(()),
    }
}

/// Appends tags to the case; a tag already stored (all fields equal) is not added twice.
/// Returns how many were added. Tags with an empty address or label, or whose address is
/// no Bitcoin address ([`check_address`]), are refused.
pub fn add_tags(case: &Path, tags: &[Tag]) -> Result<usize, ChainError> {
    let path = tags_path(case);
    let mut have: std::collections::BTreeSet<Tag> = read_tags(case)?.into_iter().collect();
    let mut lines = String::new();
    let mut added = 0;
    for (i, t) in tags.iter().enumerate() {
        if t.address.trim().is_empty() || t.label.trim().is_empty() {
            return Err(ChainError::Tag { path: path.clone(), message: format!("tag {i}: address and label must not be empty") });
        }
        if let Err(why) = check_address(&t.address, None) {
            return Err(ChainError::Tag { path: path.clone(), message: format!("tag {i}: invalid address {:?}: {why}", t.address) });
        }
        if have.insert(t.clone()) {
            let line = serde_json::to_string(t).map_err(|e| ChainError::Tag { path: path.clone(), message: e.to_string() })?;
            lines.push_str(&line);
            lines.push('\n');
            added += 1;
        }
    }
    if added > 0 {
        let dir = chain_dir(case);
        std::fs::create_dir_all(&dir).map_err(|e| ChainError::io(&dir, e))?;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| ChainError::io(&path, e))?;
        f.write_all(lines.as_bytes()).map_err(|e| ChainError::io(&path, e))?;
    }
    Ok(added)
}

/// The case's tags in the order they were added (empty when there are none).
pub fn read_tags(case: &Path) -> Result<Vec<Tag>, ChainError> {
    let path = tags_path(case);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let s = std::fs::read_to_string(&path).map_err(|e| ChainError::io(&path, e))?;
    s.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| serde_json::from_str(l).map_err(|e| ChainError::Tag { path: path.clone(), message: format!("line {}: {e}", n + 1) }))
        .collect()
}

/// The header of a TagPack: fields every tag inherits unless it sets its own.
#[derive(Debug, Deserialize)]
struct TagPackFile {
    title: Option<String>,
    creator: Option<String>,
    label: Option<String>,
    source: Option<String>,
    category: Option<String>,
    currency: Option<String>,
    #[serde(default)]
    tags: Vec<TagPackTag>,
}

#[derive(Debug, Deserialize)]
struct TagPackTag {
    address: Option<serde_yaml::Value>,
    label: Option<String>,
    source: Option<String>,
    category: Option<String>,
    currency: Option<String>,
}

/// Tags read from a TagPack, and the entries that were skipped (with why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPack {
    /// The usable BTC tags.
    pub tags: Vec<Tag>,
    /// `"tags[N]: reason"` for every entry left out.
    pub skipped: Vec<String>,
}

/// Parses a GraphSense TagPack (YAML: header fields `title`, `creator`, `label`, `source`,
/// `category`, `currency`, ..., then a `tags:` list whose entries carry `address` and may
/// override any header field). Only BTC tags are kept; every tag's evidence is the
/// SHA-256 of the file, so the exact TagPack version stays checkable.
/// An entry whose address is no Bitcoin address on any network is skipped
/// ([`parse_tagpack_for`] checks the case's network too).
pub fn parse_tagpack(path: &Path) -> Result<TagPack, ChainError> {
    parse_tagpack_for(path, None)
}

/// [`parse_tagpack`], skipping also the addresses that are not on `network` (the case's).
pub fn parse_tagpack_for(path: &Path, network: Option<Network>) -> Result<TagPack, ChainError> {
    let bytes = std::fs::read(path).map_err(|e| ChainError::io(path, e))?;
    parse_tagpack_bytes_for(&bytes, path, network)
}

/// [`parse_tagpack`] of a file's bytes already read; `path` names it in
/// errors and is the tags' source when the TagPack names none.
pub fn parse_tagpack_bytes(bytes: &[u8], path: &Path) -> Result<TagPack, ChainError> {
    parse_tagpack_bytes_for(bytes, path, None)
}

/// [`parse_tagpack_bytes`] with the network check of [`parse_tagpack_for`].
pub fn parse_tagpack_bytes_for(bytes: &[u8], path: &Path, network: Option<Network>) -> Result<TagPack, ChainError> {
    let file: TagPackFile = serde_yaml::from_slice(bytes).map_err(|e| ChainError::Tag { path: path.to_path_buf(), message: format!("not a TagPack: {e}") })?;
    let digest = sha256::Hash::hash(bytes).to_string();
    let default_source = file.source.clone().or(file.title.clone()).or(file.creator.clone()).unwrap_or_else(|| path.display().to_string());
    let mut out = TagPack { tags: Vec::new(), skipped: Vec::new() };
    for (i, t) in file.tags.into_iter().enumerate() {
        let currency = t.currency.or(file.currency.clone()).unwrap_or_else(|| "BTC".into());
        if !currency.eq_ignore_ascii_case("btc") {
            out.skipped.push(format!("tags[{i}]: currency {currency} is not BTC"));
            continue;
        }
        let address = match t.address {
            Some(serde_yaml::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                out.skipped.push(format!("tags[{i}]: no address"));
                continue;
            }
        };
        if let Err(why) = check_address(&address, network) {
            out.skipped.push(format!("tags[{i}]: invalid address {address:?}: {why}"));
            continue;
        }
        let Some(label) = t.label.or(file.label.clone()).filter(|l| !l.trim().is_empty()) else {
            out.skipped.push(format!("tags[{i}]: no label"));
            continue;
        };
        out.tags.push(Tag {
            address,
            label,
            source: t.source.unwrap_or_else(|| default_source.clone()),
            category: t.category.or(file.category.clone()),
            evidence: Some(format!("sha256:{digest}")),
        });
    }
    Ok(out)
}

/// Tags applied to clusters: cluster number -> the tags of all its addresses (sorted).
/// Tags on addresses the index does not hold are left out.
pub fn cluster_tags(idx: &ChainIndex, cl: &Clustering, tags: &[Tag]) -> BTreeMap<u32, Vec<Tag>> {
    let mut out: BTreeMap<u32, Vec<Tag>> = BTreeMap::new();
    for t in tags {
        let Some((k, d)) = parse_address(&t.address, idx.network) else { continue };
        let Some(c) = idx.addrs.lookup(k, &d).and_then(|a| cl.cluster_of(a)) else { continue };
        out.entry(c).or_default().push(t.clone());
    }
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(a: &str, l: &str) -> Tag {
        Tag { address: a.into(), label: l.into(), source: "test".into(), category: None, evidence: None }
    }

    /// Valid addresses: a mainnet P2PKH and P2SH, and a regtest P2WSH.
    const A1: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
    const A2: &str = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
    fn regtest_address() -> String {
        Address::p2wsh(&bitcoin::ScriptBuf::new(), Network::Regtest).to_string()
    }

    #[test]
    fn add_tags_appends_once_and_refuses_empty() {
        let case = tempfile::tempdir().expect("tmp");
        assert_eq!(add_tags(case.path(), &[tag(A1, "x"), tag(A2, "y")]).ok(), Some(2));
        assert_eq!(add_tags(case.path(), &[tag(A1, "x"), tag(A1, "z")]).ok(), Some(1));
        assert_eq!(read_tags(case.path()).ok().map(|t| t.len()), Some(3));
        assert!(add_tags(case.path(), &[tag("", "x")]).is_err());
        assert!(add_tags(case.path(), &[tag(A2, " ")]).is_err());
    }

    #[test]
    fn add_tags_refuses_what_is_no_address() {
        let case = tempfile::tempdir().expect("tmp");
        for bad in ["hello world", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "bcrt1qnotvalid", "p2pk:zz"] {
            let e = add_tags(case.path(), &[tag(bad, "x")]).expect_err(bad).to_string();
            assert!(e.contains(&format!("tag 0: invalid address {bad:?}: ")), "{e}");
        }
        assert!(read_tags(case.path()).expect("read").is_empty());
        assert_eq!(add_tags(case.path(), &[tag(&regtest_address(), "x"), tag("p2pk:02ab", "y")]).ok(), Some(2));
    }

    #[test]
    fn tagpack_entries_with_invalid_addresses_are_skipped_with_the_reason() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("pack.yaml");
        let rt = regtest_address();
        std::fs::write(
            &p,
            format!(
                "title: x\nlabel: L\ntags:\n  - address: hello world\n  - address: 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3\n  - address: bcrt1qnotvalid\n  - address: {A1}\n  - address: {rt}\n"
            ),
        )
        .expect("write");
        let pack = parse_tagpack(&p).expect("parse");
        assert_eq!(pack.tags.iter().map(|t| t.address.as_str()).collect::<Vec<_>>(), [A1, rt.as_str()]);
        assert_eq!(pack.skipped.len(), 3, "{:?}", pack.skipped);
        for (i, (s, a)) in pack.skipped.iter().zip(["hello world", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "bcrt1qnotvalid"]).enumerate() {
            assert!(s.starts_with(&format!("tags[{i}]: invalid address {a:?}: not a Bitcoin address: ")), "{s}");
        }
        // Against the case's network, the other network's address is skipped too.
        let on_regtest = parse_tagpack_for(&p, Some(Network::Regtest)).expect("parse");
        assert_eq!(on_regtest.tags.iter().map(|t| t.address.as_str()).collect::<Vec<_>>(), [rt.as_str()]);
        assert_eq!(on_regtest.skipped.last().map(String::as_str), Some(format!("tags[3]: invalid address \"{A1}\": not a regtest address").as_str()));
    }

    #[test]
    fn tagpack_header_fields_are_inherited_and_overridden() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("pack.yaml");
        std::fs::write(
            &p,
            "title: Test pack\ncreator: someone\nlabel: Exchange A\ncategory: exchange\ncurrency: BTC\nlastmod: 2021-04-21\nis_public: true\n\
             tags:\n  - address: 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2\n  - address: 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy\n    label: Market B\n    category: market\n    source: https://example.org/b\n\
             \x20 - address: 0xabc\n    currency: ETH\n  - label: no address\n",
        )
        .expect("write");
        let pack = parse_tagpack(&p).expect("parse");
        assert_eq!(pack.tags.len(), 2, "{pack:?}");
        assert_eq!(pack.tags[0].label, "Exchange A");
        assert_eq!(pack.tags[0].category.as_deref(), Some("exchange"));
        assert_eq!(pack.tags[0].source, "Test pack");
        assert_eq!(pack.tags[1].label, "Market B");
        assert_eq!(pack.tags[1].category.as_deref(), Some("market"));
        assert_eq!(pack.tags[1].source, "https://example.org/b");
        assert!(pack.tags[0].evidence.as_deref().is_some_and(|e| e.starts_with("sha256:") && e.len() == 71));
        assert_eq!(pack.skipped, vec!["tags[2]: currency ETH is not BTC".to_string(), "tags[3]: no address".to_string()]);
    }

    #[test]
    fn bad_tagpack_names_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("bad.yaml");
        std::fs::write(&p, "tags: [unclosed").expect("write");
        let e = parse_tagpack(&p).expect_err("bad yaml");
        assert!(e.to_string().contains("bad.yaml"), "{e}");
    }
}
