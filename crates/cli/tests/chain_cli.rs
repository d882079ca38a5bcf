//! End-to-end tests of `dragnet chain ...` and `dragnet explain <address>` on the real
//! regtest chain in shared/data (read in place).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dragnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dragnet")).args(args).env("USER", "chain-cli-test").output().expect("run dragnet")
}

fn ok(args: &[&str]) -> String {
    let out = dragnet(args);
    assert!(out.status.success(), "dragnet {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// `shared/data/chain/<rel>`, or None after a notice; under CI=true a missing path fails.
fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/chain").join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("shared data missing at {} (required when CI=true)", p.display());
    }
    eprintln!("NOTICE: skipping: shared data not found at {}", p.display());
    None
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A case with regtest-small imported, and the truth file.
fn regtest_case() -> Option<(tempfile::TempDir, PathBuf, PathBuf)> {
    let blocks = shared("regtest-small/blocks")?;
    let truth = shared("regtest-small/truth.json")?;
    let tmp = tempfile::tempdir().expect("tmp");
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    ok(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "regtest"]);
    Some((tmp, case, truth))
}

#[test]
fn import_stats_eval_explain_on_regtest_small() {
    let Some((_tmp, case, truth)) = regtest_case() else { return };
    let case = s(&case);
    // Clusters are stored by the import itself.
    assert!(Path::new(case).join("chain/clusters.parquet").exists());

    let stats: serde_json::Value = serde_json::from_str(&ok(&["chain", "stats", "--case", case, "--json"])).expect("json");
    assert_eq!(stats["blocks"], 273);
    assert_eq!(stats["transactions"], 1193);
    assert_eq!(stats["best_hash"], "585f161dea0c23c04245d0d73157addc7137cd4f83f96671f7f341a528d10668");

    let eval: serde_json::Value = serde_json::from_str(&ok(&["chain", "eval", "--case", case, "--truth", s(&truth), "--json"])).expect("json");
    assert_eq!(eval["pair_precision"], 1.0);
    assert_eq!(eval["addresses"], 2466);
    assert_eq!(eval["clusters"], 1891);
    assert!(eval["pair_recall"].as_f64().is_some_and(|r| r > 0.0 && r < 0.01), "{eval}");
    assert_eq!(eval["change"]["round_payment"]["precision"], 1.0);

    // Pick a co-spent address from the stored union log, then explain it: the text names
    // the union's transaction and heuristic.
    let (addr, txids) = explained_member(Path::new(case));
    let text = ok(&["explain", "--case", case, &addr]);
    assert!(text.contains("multi_input"), "{text}");
    assert!(text.contains("cluster:"), "{text}");
    for txid in &txids {
        assert!(text.contains(txid), "{txid} missing from {text}");
    }

    // A second import of the same blocks adds nothing and keeps the clusters.
    let again: serde_json::Value =
        serde_json::from_str(&ok(&["chain", "import", "--case", case, "--blocks-dir", s(&shared("regtest-small/blocks").expect("blocks")), "--network", "regtest", "--json"])).expect("json");
    assert_eq!(again["new_blocks"], 0);
    assert!(Path::new(case).join("chain/clusters.parquet").exists());

    // Unknown ids are an error, not an empty success.
    let out = dragnet(&["explain", "--case", case, "bcrt1qnotanaddress"]);
    assert!(!out.status.success());
}

/// An address that is not its cluster's first member, and the txids of the stored unions
/// joining it to that first member (read through the library).
fn explained_member(case: &Path) -> (String, Vec<String>) {
    let idx = chain::store::load(case).expect("load").expect("chain");
    let cl = chain::store::load_clustering(case, &idx).expect("clusters").expect("stored");
    let l = cl.unions.iter().rev().find(|l| cl.cluster_of(l.b) != Some(l.b)).expect("a union");
    let c = cl.cluster_of(l.b).expect("cluster");
    let path = cl.explain_pair(c, l.b).expect("same cluster");
    assert!(!path.is_empty());
    (idx.address_string(l.b).expect("address"), path.iter().map(|p| idx.txs[p.tx as usize].txid_hex()).collect())
}

#[test]
fn streaming_import_gives_the_same_stats_and_explains_co_spends() {
    let Some((_tmp, memory, _)) = regtest_case() else { return };
    let Some(blocks) = shared("regtest-small/blocks") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let r: serde_json::Value =
        serde_json::from_str(&ok(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "regtest", "--streaming", "--json"])).expect("json");
    assert_eq!(r["blocks"], 273);
    assert_eq!(r["streaming"]["addresses"], r["streaming"]["plan"]["addresses"]);
    assert_eq!(r["streaming"]["replaced_unspent"], 0);
    let stats = |c: &Path| -> serde_json::Value { serde_json::from_str(&ok(&["chain", "stats", "--case", s(c), "--json"])).expect("json") };
    let streamed = stats(&case);
    assert_eq!(streamed, stats(&memory));
    assert_eq!(streamed["transactions"], 1193);
    // The stored clustering is the streaming engine's, and explain reads it.
    let (addr, txids) = explained_member(&case);
    let text = ok(&["explain", "--case", s(&case), &addr]);
    assert!(text.contains("multi_input") && txids.iter().all(|t| text.contains(t.as_str())), "{text}");
    // A second streaming import into the same case is refused with the reason.
    let out = dragnet(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "regtest", "--streaming"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds a chain already"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn import_of_a_missing_dir_names_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let missing = tmp.path().join("no-such-blocks");
    let out = dragnet(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&missing), "--network", "regtest"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-blocks"), "{err}");
}

/// Blocks of another network, every one refused, fail the import with the
/// network to give (it exited 0 having imported nothing; found by a
/// review); an empty directory fails too.
#[test]
fn an_import_that_keeps_no_block_fails() {
    let Some(blocks) = shared("regtest-small/blocks") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let out = dragnet(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "mainnet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("every one was refused") && err.contains("--network regtest"), "{err}");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("blk00000.dat"), b"").unwrap();
    let out = dragnet(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&empty), "--network", "regtest"]);
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn tag_and_trace_from_the_command_line() {
    let Some((tmp, case, truth)) = regtest_case() else { return };
    let case = s(&case);
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(truth).expect("truth")).expect("json");
    // A funding tx and its owner; tag every address of another entity via a TagPack.
    let (fund, owner) = truth["txs"].as_object().expect("txs").iter().find(|(_, t)| t["kind"] == "funding").map(|(k, t)| (k.clone(), t["owner"].as_u64().expect("owner"))).expect("funding");
    let other: Vec<&str> = truth["addresses"].as_object().expect("addresses").iter().filter(|(_, e)| e.as_u64() != Some(owner)).map(|(a, _)| a.as_str()).collect();
    let mut pack = String::from("title: test pack\ncreator: chain_cli\nlabel: Other entities\ncategory: exchange\ncurrency: BTC\ntags:\n");
    for a in &other {
        pack.push_str(&format!("  - address: {a}\n"));
    }
    // A mainnet address cannot be on this regtest chain: skipped, and
    // refused by `tag add` (both took any network's addresses).
    let mainnet = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
    pack.push_str(&format!("  - address: {mainnet}\n"));
    let pack_path = tmp.path().join("pack.yaml");
    std::fs::write(&pack_path, pack).expect("write pack");
    let r: serde_json::Value = serde_json::from_str(&ok(&["chain", "tag", "import", s(&pack_path), "--case", case, "--json"])).expect("json");
    assert_eq!((r["added"].as_u64(), r["skipped"].as_u64()), (Some(other.len() as u64), Some(1)), "{r}");
    let refused = dragnet(&["chain", "tag", "add", mainnet, "--label", "x", "--source", "test", "--case", case]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && err.contains("this case's chain is regtest"), "{err}");
    ok(&["chain", "tag", "add", other[0], "--label", "Vendor page address", "--source", "market:test", "--case", case]);
    assert_eq!(ok(&["chain", "tag", "list", "--case", case, "--json"]).lines().count(), other.len() + 1);
    // The import and the tags are in the custody log: every block file read
    // by its digest, the TagPack by its own.
    let custody: Vec<serde_json::Value> = std::fs::read_to_string(Path::new(case).join("evidence/custody.jsonl"))
        .expect("custody")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let import = custody.iter().find(|e| e["action"] == "chain-import").expect("a chain-import entry");
    let blocks = shared("regtest-small/blocks").expect("blocks");
    let files = import["detail"]["files"].as_array().expect("files");
    assert!(files.iter().any(|f| f["name"].as_str().is_some_and(|n| n.starts_with("blk"))), "{import}");
    for f in files {
        let bytes = std::fs::read(blocks.join(f["name"].as_str().expect("name"))).expect("block file");
        assert_eq!(f["sha256"].as_str(), Some(model::Sha256::of(&bytes).to_hex().as_str()));
    }
    assert_eq!(import["detail"]["best_hash"], "585f161dea0c23c04245d0d73157addc7137cd4f83f96671f7f341a528d10668");
    let pack_entry = custody.iter().find(|e| e["action"] == "chain-tag-import").expect("a chain-tag-import entry");
    assert_eq!(pack_entry["detail"]["sha256"].as_str(), Some(model::Sha256::of(&std::fs::read(&pack_path).expect("pack")).to_hex().as_str()));
    assert!(custody.iter().any(|e| e["action"] == "chain-tag-add"));
    ok(&["verify", "--case", case]);
    // A tag added by hand (tags stop traces and label clusters) is found.
    let tags = Path::new(case).join("chain/tags.jsonl");
    let kept = std::fs::read(&tags).expect("tags");
    let mut forged = kept.clone();
    forged.extend_from_slice(format!("{{\"address\":\"{}\",\"label\":\"FORGED\",\"source\":\"x\"}}\n", other[1]).as_bytes());
    std::fs::write(&tags, forged).expect("forge");
    let out = dragnet(&["verify", "--case", case]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code() == Some(3) && said.contains("chain/tags.jsonl") && said.contains("changed since"), "{said}");
    std::fs::write(&tags, kept).expect("restore");
    ok(&["verify", "--case", case]);

    let g: serde_json::Value = serde_json::from_str(&ok(&["chain", "trace", "--from", &fund, "--hops", "2", "--policy", "haircut", "--case", case, "--json"])).expect("json");
    // Every output of a funding tx pays its owner; the first hop out of the owner's
    // wallet pays some other entity, which is tagged: the trace reaches a tag.
    assert!(!g["reached_tags"].as_array().expect("reached").is_empty(), "{g}");
    assert_eq!(g["policy"], "haircut");
    for e in g["edges"].as_array().expect("edges") {
        for k in ["txid", "vout", "value", "traced", "height", "time", "hop", "heuristic"] {
            assert!(e.get(k).is_some(), "edge lacks {k}: {e}");
        }
    }
    // The trace cites txids: `explain` shows one, its block and its coins.
    let explained = ok(&["explain", &fund, "--case", case]);
    assert!(explained.starts_with(&format!("tx {fund}")) && explained.contains("at height") && explained.contains("outputs ("), "{explained}");
    let xml = ok(&["chain", "trace", "--from", &fund, "--hops", "2", "--format", "graphml", "--case", case]);
    assert!(xml.starts_with("<?xml") && xml.trim_end().ends_with("</graphml>"));
    let dot = ok(&["chain", "trace", "--from", &fund, "--hops", "2", "--format", "dot", "--case", case]);
    assert!(dot.starts_with("digraph"));
    // Bad starts and options are errors naming what was wrong.
    let out = dragnet(&["chain", "trace", "--from", "cluster:99999999", "--case", case]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("cluster:99999999"));
    let out = dragnet(&["chain", "trace", "--from", &fund, "--policy", "taint", "--case", case]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("taint"));
}

#[test]
fn sim_then_import_and_eval_is_exact() {
    let tmp = tempfile::tempdir().expect("tmp");
    let blocks = tmp.path().join("sim");
    let case = tmp.path().join("case");
    let r: serde_json::Value = serde_json::from_str(&ok(&["chain", "sim", "--out", s(&blocks), "--blocks", "20", "--seed", "9", "--json"])).expect("json");
    ok(&["case", "init", s(&case)]);
    ok(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "regtest"]);
    let stats: serde_json::Value = serde_json::from_str(&ok(&["chain", "stats", "--case", s(&case), "--json"])).expect("json");
    assert_eq!(stats["blocks"], r["blocks"]);
    assert_eq!(stats["transactions"], r["transactions"]);
    assert_eq!(stats["best_hash"], r["best_hash"]);
    let eval: serde_json::Value = serde_json::from_str(&ok(&["chain", "eval", "--case", s(&case), "--truth", s(&blocks.join("truth.json")), "--json"])).expect("json");
    assert_eq!(eval["pair_precision"], 1.0);
    let out = dragnet(&["chain", "sim", "--out", s(&blocks), "--xor-key", "abc"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("xor-key"));
}

/// The Parquet index is the interface for other engines: pyarrow (the reader
/// pandas and DuckDB share the format with) must read it, with row counts
/// that match the chain. Skips without pyarrow unless CI=true.
#[test]
fn parquet_index_reads_in_pyarrow() {
    let Some((_tmp, case, _truth)) = regtest_case() else { return };
    if !testdata::python_module("pyarrow") {
        return;
    }
    let script = r#"
import sys, pyarrow.dataset as ds
root = sys.argv[1]
for t in ["blocks", "txs", "addresses"]:
    print(t, ds.dataset(f"{root}/chain/{t}", format="parquet").count_rows())
"#;
    let out = Command::new("python3").args(["-c", script, s(&case)]).output().expect("run python3");
    assert!(out.status.success(), "pyarrow failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("blocks 273"), "{text}");
    assert!(text.contains("txs 1193"), "{text}");
    // 2,466 truth addresses plus the genesis block's P2PK output.
    assert!(text.contains("addresses 2467"), "{text}");
}

/// A minimal Esplora on 127.0.0.1 over the regtest-small blocks: `/tx/:txid/hex` and
/// `/tx/:txid/outspends`, one request per connection. Returns its URL.
fn esplora_mock(blocks: &Path) -> String {
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Write};
    let src = chain::BlockSource::open(blocks, bitcoin::Network::Regtest).expect("open");
    let mut hex: HashMap<String, String> = HashMap::new();
    let mut n_out: HashMap<String, usize> = HashMap::new();
    let mut spender: HashMap<(String, u32), (String, usize)> = HashMap::new();
    for i in 0..src.len() {
        for tx in src.read_block(i).expect("block").txdata {
            let t = tx.compute_txid().to_string();
            if !tx.is_coinbase() {
                for (vin, inp) in tx.input.iter().enumerate() {
                    spender.insert((inp.previous_output.txid.to_string(), inp.previous_output.vout), (t.clone(), vin));
                }
            }
            n_out.insert(t.clone(), tx.output.len());
            hex.insert(t, bitcoin::consensus::encode::serialize_hex(&tx));
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut r = BufReader::new(conn.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let (status, body) = match seg.as_slice() {
                ["tx", t, "hex"] => hex.get(*t).map(|h| (200, h.clone())).unwrap_or((404, "Transaction not found".into())),
                ["tx", t, "outspends"] => match n_out.get(*t) {
                    Some(n) => {
                        let v: Vec<serde_json::Value> = (0..*n as u32)
                            .map(|o| match spender.get(&(t.to_string(), o)) {
                                Some((s, vin)) => serde_json::json!({"spent": true, "txid": s, "vin": vin}),
                                None => serde_json::json!({"spent": false}),
                            })
                            .collect();
                        (200, serde_json::Value::from(v).to_string())
                    }
                    None => (404, "Transaction not found".into()),
                },
                _ => (404, "not found".into()),
            };
            let _ = write!(conn, "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    url
}

#[test]
fn lookup_against_a_mock_esplora_stores_verified_txs() {
    let Some((_tmp, case_dir, _truth)) = regtest_case() else { return };
    let case = s(&case_dir);
    let url = esplora_mock(&shared("regtest-small/blocks").expect("blocks"));
    // A payment with two parents and two children, from the imported index.
    let idx = chain::store::load(&case_dir).expect("load").expect("chain");
    let start = idx.txs.iter().find(|t| t.n_in >= 2 && t.outputs().all(|o| idx.spent_by(o) != chain::index::NONE)).expect("a start");
    let txid = start.txid_hex();
    let mut want: std::collections::BTreeSet<String> = [txid.clone()].into();
    for i in start.inputs() {
        want.insert(idx.txs[idx.tx_of_output(idx.inputs[i as usize]).expect("parent") as usize].txid_hex());
    }
    for o in start.outputs() {
        want.insert(idx.txs[idx.spent_by(o) as usize].txid_hex());
    }

    let out = dragnet(&["chain", "lookup", "--case", case, "--esplora", &url, "--tx", &txid, "--network", "regtest", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("sees which transaction"), "privacy note missing: {err}");
    let g: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let got: Vec<String> = g["txs"].as_array().expect("txs").iter().map(|t| t["txid"].as_str().expect("txid").to_owned()).collect();
    assert_eq!(got, want.iter().cloned().collect::<Vec<_>>(), "sorted by txid, start + parents + children");
    assert!(g["errors"].as_array().expect("errors").is_empty());
    assert_eq!(g["endpoint"], url.as_str());
    // Every tx is stored as hex under chain/lookups and logged in the custody log.
    for t in &want {
        let f = case_dir.join(format!("chain/lookups/{t}.hex"));
        assert!(f.is_file(), "{} missing", f.display());
    }
    let custody = std::fs::read_to_string(case_dir.join("evidence/custody.jsonl")).expect("custody");
    let entry: serde_json::Value = custody.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|e| e["action"] == "chain-lookup").expect("custody entry");
    assert_eq!(entry["detail"]["txs"].as_array().expect("txs").len(), want.len(), "{entry}");
    assert_eq!(entry["detail"]["start"], txid.as_str());

    // The human summary; the same bytes again are not stored twice.
    let text = ok(&["chain", "lookup", "--case", case, "--esplora", &url, "--tx", &txid, "--network", "regtest", "--operator", "analyst-7"]);
    assert!(text.contains(&format!("{} transactions from {url} (1 start,", want.len())) && text.contains("0 errors; stored under"), "{text}");
    let custody = std::fs::read_to_string(case_dir.join("evidence/custody.jsonl")).expect("custody");
    let last: serde_json::Value = serde_json::from_str(custody.lines().last().expect("entry")).expect("json");
    assert!(last["detail"]["txs"].as_array().expect("txs").iter().all(|t| t["new"] == false), "{last}");
    assert_eq!(last["operator"], "analyst-7", "{last}");

    // The stored files are checked against the custody log; a changed file is named.
    let v: serde_json::Value = serde_json::from_str(&ok(&["chain", "lookup-verify", "--case", case, "--json"])).expect("json");
    assert_eq!(v["checked"].as_u64(), Some(2 * want.len() as u64), "{v}");
    let victim = want.iter().find(|t| **t != txid).expect("another tx");
    let f = case_dir.join(format!("chain/lookups/{victim}.hex"));
    let start_hex = std::fs::read_to_string(case_dir.join(format!("chain/lookups/{txid}.hex"))).expect("read");
    std::fs::write(&f, start_hex).expect("tamper");
    let out = dragnet(&["chain", "lookup-verify", "--case", case]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{victim}.hex")) && err.contains("custody log says"), "{err}");
    // `dragnet verify` checks them too: exit 3, the file named.
    let out = dragnet(&["verify", "--case", case, "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["lookups_checked"].as_u64(), Some(2 * want.len() as u64), "{v}");
    let out = dragnet(&["verify", "--case", case]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ALTERED") && text.contains(&format!("{victim}.hex")), "{text}");
    assert!(text.contains(&format!("{} looked-up transactions", 2 * want.len())), "{text}");

    // Nothing fetchable: the error is printed and the exit is non-zero.
    let out = dragnet(&["chain", "lookup", "--case", case, "--esplora", &url, "--tx", &"00".repeat(32), "--network", "regtest"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTTP 404") && err.contains(&url) && err.contains("nothing could be fetched"), "{err}");

    // An onion endpoint without a proxy is refused before any connection.
    let onion = "http://bitcoinexplorerabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqr.onion/api";
    let out = dragnet(&["chain", "lookup", "--case", case, "--esplora", onion, "--tx", &txid]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("onion") && err.contains("--proxy"), "{err}");
}

/// A case with a small simulated chain imported; the sim's output directory
/// (blocks and truth.json) and the case.
fn sim_case(tmp: &Path) -> (PathBuf, PathBuf) {
    let blocks = tmp.join("sim");
    let case = tmp.join("case");
    ok(&["chain", "sim", "--out", s(&blocks), "--blocks", "10", "--seed", "4"]);
    ok(&["case", "init", s(&case)]);
    ok(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "regtest"]);
    (blocks, case)
}

/// `chain stats` prints labelled lines for a reader (it printed JSON
/// without --json too); with --json the object keeps its fields.
#[test]
fn stats_is_text_without_json_and_the_same_object_with_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, case) = sim_case(tmp.path());
    let v: serde_json::Value = serde_json::from_str(&ok(&["chain", "stats", "--case", s(&case), "--json"])).expect("json");
    let keys: std::collections::BTreeSet<&str> = v.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["addresses", "best_hash", "blocks", "inputs", "network", "outputs", "transactions"].into());
    let text = ok(&["chain", "stats", "--case", s(&case)]);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "JSON without --json: {text}");
    assert!(!text.contains('{') && !text.contains('"'), "{text}");
    for (label, key) in [("blocks", "blocks"), ("transactions", "transactions"), ("outputs", "outputs"), ("inputs", "inputs"), ("addresses", "addresses")] {
        let line = text.lines().find(|l| l.split_whitespace().next() == Some(label)).unwrap_or_else(|| panic!("no {label} line: {text}"));
        assert_eq!(line.split_whitespace().nth(1), Some(v[key].to_string().as_str()), "{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("network") && l.ends_with("regtest")), "{text}");
    assert!(text.contains(&format!("best block    {}", v["best_hash"].as_str().expect("hash"))), "{text}");
}

/// A change heuristic that names no output has no precision (`chain eval`
/// said 1.0): JSON null, text "n/a (nothing named)". So has a clustering
/// that puts no two truth addresses together.
#[test]
fn eval_precision_over_nothing_named_is_not_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (blocks, case) = sim_case(tmp.path());
    let real: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(blocks.join("truth.json")).expect("truth")).expect("json");
    // One truth address, and a payment the chain does not hold.
    let (addr, owner) = real["addresses"].as_object().expect("addresses").iter().next().expect("an address");
    let truth = serde_json::json!({
        "addresses": {addr: owner},
        "txs": {"11".repeat(32): {"kind": "payment", "change_vout": 0}},
    });
    let path = tmp.path().join("truth-nothing.json");
    std::fs::write(&path, truth.to_string()).expect("write truth");
    let v: serde_json::Value = serde_json::from_str(&ok(&["chain", "eval", "--case", s(&case), "--truth", s(&path), "--json"])).expect("json");
    assert!(v["pair_precision"].is_null(), "{v}");
    let change = v["change"].as_object().expect("change");
    assert!(!change.is_empty());
    // The payment is not on the chain: not graded (it counted among the
    // payments, as a chain imported in part counted its missing ones).
    for (h, sc) in change {
        assert_eq!((sc["named"].as_u64(), sc["payments"].as_u64()), (Some(0), Some(0)), "{h}: {sc}");
        assert!(sc["precision"].is_null(), "{h}: {sc}");
    }
    assert_eq!(v["truth_txs_missing"].as_u64(), Some(1), "{v}");
    let text = ok(&["chain", "eval", "--case", s(&case), "--truth", s(&path)]);
    assert!(text.contains("not graded: 0 of the truth's 1 addresses and 1 of its transactions are not on this chain"), "{text}");
    assert!(text.contains("pair precision n/a"), "{text}");
    // One truth address: no true pair to find, so no recall (it was 1.0000).
    assert!(text.contains("pair recall n/a (no two truth addresses of one entity)"), "{text}");
    assert!(v["pair_recall"].is_null(), "{v}");
    // A truth none of whose addresses is on the chain (another chain's) is
    // refused, not scored.
    let other = serde_json::json!({"addresses": {format!("{addr}x"): owner}, "txs": {}});
    let other_path = tmp.path().join("truth-other-chain.json");
    std::fs::write(&other_path, other.to_string()).expect("write truth");
    let out = dragnet(&["chain", "eval", "--case", s(&case), "--truth", s(&other_path)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none of the 1 addresses of") && err.contains("the truth of another chain?"), "{err}");
    for h in change.keys() {
        assert!(text.contains(&format!("change {h}: precision n/a (nothing named) coverage 0.0000")), "{h}: {text}");
    }
    // On the sim's own truth a heuristic that names outputs has its figure,
    // and one that names none (address_type: the sim's wallets use one
    // address type) has none.
    let truth = blocks.join("truth.json");
    let v: serde_json::Value = serde_json::from_str(&ok(&["chain", "eval", "--case", s(&case), "--truth", s(&truth), "--json"])).expect("json");
    let text = ok(&["chain", "eval", "--case", s(&case), "--truth", s(&truth)]);
    assert!(text.contains("pair precision 1.0000"), "{text}");
    let mut undefined = 0;
    for (h, sc) in v["change"].as_object().expect("change") {
        let line = text.lines().find(|l| l.starts_with(&format!("change {h}: "))).unwrap_or_else(|| panic!("no line for {h}: {text}"));
        if sc["named"] == 0 {
            undefined += 1;
            assert!(sc["precision"].is_null() && line.contains("precision n/a (nothing named)"), "{h}: {sc} / {line}");
        } else {
            let p = sc["precision"].as_f64().unwrap_or_else(|| panic!("{h}: {sc}"));
            assert!(line.contains(&format!("precision {p:.4} ")), "{h}: {sc} / {line}");
        }
    }
    assert!(undefined > 0 && undefined < v["change"].as_object().expect("change").len(), "{v}");
}

/// A chain command on a case without a chain says how to import one, with
/// the flags `chain import` needs (it said `dragnet chain import`, which
/// clap refuses without --blocks-dir).
#[test]
fn a_case_without_a_chain_says_how_to_import_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let out = dragnet(&["chain", "stats", "--case", s(&case)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("run `dragnet --case {} chain import --blocks-dir DIR [--network testnet|regtest]` first", case.display())), "{err}");
}
