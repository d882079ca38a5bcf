//! Block reading on real bytes: testnet3 0-400 (raw and Core datadir), regtest-small,
//! mainnet block 702861, and damaged inputs.

mod common;

use bitcoin::Network;
use chain::{BlockSource, ChainError};

const TESTNET_GENESIS: &str = "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943";
const TESTNET_400: &str = "00000000763effc6fcd7f757043a4d7a9262582582d05f1fd9dc6c6c70bfaf0b";

fn hashes_and_txs(src: &BlockSource) -> (Vec<String>, usize) {
    let mut txs = 0;
    let mut hashes = Vec::new();
    for i in 0..src.len() {
        let b = src.read_block(i).expect("block reads");
        txs += b.txdata.len();
        hashes.push(b.block_hash().to_string());
    }
    (hashes, txs)
}

#[test]
fn testnet_raw_and_core_datadir_agree() {
    let (Some(raw), Some(core)) = (common::data("testnet3-0-400/raw"), common::data("testnet3-0-400/core-datadir")) else { return };
    // The raw dir has a helper-written index; read it both with the index and by scanning.
    let by_index = BlockSource::open(&raw, Network::Testnet).expect("raw opens");
    assert!(by_index.used_index);
    let core_src = BlockSource::open(&core, Network::Testnet).expect("core opens");
    assert!(core_src.used_index);
    let scan_dir = tempfile::tempdir().expect("tmp");
    std::fs::copy(raw.join("blk00000.dat"), scan_dir.path().join("blk00000.dat")).expect("copy");
    let scanned = BlockSource::open(scan_dir.path(), Network::Testnet).expect("scan opens");
    assert!(!scanned.used_index);
    // The scan meets the truncated record of block 401 and says so.
    assert!(scanned.diagnostics.iter().any(|d| d.offset == 95_027 && d.message.contains("truncated")), "{:?}", scanned.diagnostics);
    // So does the read by the index, which does not list it (it said nothing).
    let after: Vec<String> = by_index.diagnostics.iter().map(|d| format!("{} {}", d.offset, d.message)).collect();
    assert_eq!(after, ["95027 after the last block the index lists: a truncated record (claims 6033 bytes, 4965 present); not read"]);
    // Core's own datadir: preallocated space after the last block, no note.
    assert!(core_src.diagnostics.is_empty(), "{:?}", core_src.diagnostics);

    let a = hashes_and_txs(&by_index);
    let b = hashes_and_txs(&core_src);
    let c = hashes_and_txs(&scanned);
    assert_eq!(a.0.len(), 401);
    assert_eq!(a.0[0], TESTNET_GENESIS);
    assert_eq!(a.0[400], TESTNET_400);
    assert_eq!(a.1, 444);
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn core_datadir_without_index_scans_xor_and_stops_at_padding() {
    let Some(core) = common::data("testnet3-0-400/core-datadir") else { return };
    let t = tempfile::tempdir().expect("tmp");
    for f in ["blk00000.dat", "xor.dat"] {
        std::fs::copy(core.join(f), t.path().join(f)).expect("copy");
    }
    let src = BlockSource::open(t.path(), Network::Testnet).expect("opens");
    assert_eq!(src.len(), 401);
    // Preallocated zeros decode to the key and are recognised as padding, not junk.
    assert!(src.diagnostics.is_empty(), "{:?}", src.diagnostics);
    assert_eq!(src.chain()[400].hash.to_string(), TESTNET_400);
}

#[test]
fn regtest_small_counts_and_tip() {
    let Some(dir) = common::data("regtest-small/blocks") else { return };
    let src = BlockSource::open(&dir, Network::Regtest).expect("opens");
    let (hashes, txs) = hashes_and_txs(&src);
    assert_eq!(hashes.len(), 273);
    assert_eq!(txs, 1193);
    assert_eq!(hashes.last().map(String::as_str), Some("585f161dea0c23c04245d0d73157addc7137cd4f83f96671f7f341a528d10668"));
}

#[test]
fn out_of_order_and_stale_blocks_follow_most_work() {
    let Some(raw) = common::data("testnet3-0-400/raw") else { return };
    // Rewrite the file with records in reverse order plus a stale sibling of block 5;
    // the scan must still give heights 0..=400 in order and drop the stale block.
    let bytes = std::fs::read(raw.join("blk00000.dat")).expect("read");
    let mut recs: Vec<&[u8]> = Vec::new();
    let mut pos = 0;
    while pos + 8 <= 95_027 {
        let size = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
        recs.push(&bytes[pos..pos + 8 + size]);
        pos += 8 + size;
    }
    assert_eq!(recs.len(), 401);
    let mut stale = recs[5].to_vec();
    stale[8 + 68] ^= 1; // change the header time: a different (stale) block on the same parent
    let mut out = Vec::new();
    out.extend_from_slice(&stale);
    for r in recs.iter().rev() {
        out.extend_from_slice(r);
    }
    let t = tempfile::tempdir().expect("tmp");
    std::fs::write(t.path().join("blk00000.dat"), &out).expect("write");
    let src = BlockSource::open(t.path(), Network::Testnet).expect("opens");
    assert_eq!(src.candidates, 402);
    let (hashes, txs) = hashes_and_txs(&src);
    assert_eq!(hashes.len(), 401);
    assert_eq!(hashes[0], TESTNET_GENESIS);
    assert_eq!(hashes[400], TESTNET_400);
    assert_eq!(txs, 444);
}

#[test]
fn wrong_magic_is_an_error_naming_file_and_offset() {
    let Some(raw) = common::data("testnet3-0-400/raw") else { return };
    let t = tempfile::tempdir().expect("tmp");
    std::fs::copy(raw.join("blk00000.dat"), t.path().join("blk00000.dat")).expect("copy");
    let err = BlockSource::open(t.path(), Network::Regtest).expect_err("regtest magic must not match testnet");
    let msg = err.to_string();
    assert!(matches!(err, ChainError::BadMagic { offset: 0, .. }), "{msg}");
    assert!(msg.contains("blk00000.dat") && msg.contains("offset 0"), "{msg}");
}

#[test]
fn wrong_or_missing_xor_key_is_detected() {
    let Some(core) = common::data("testnet3-0-400/core-datadir") else { return };
    // With the index: blocks are located by the index, but the bytes there decode to
    // the wrong magic, so reading fails instead of giving a wrong chain.
    let t = common::copy_dir(&core);
    std::fs::write(t.path().join("xor.dat"), [1u8, 2, 3, 4, 5, 6, 7, 8]).expect("write key");
    let src = BlockSource::open(t.path(), Network::Testnet).expect("index still opens");
    let err = src.read_block(0).expect_err("wrong key");
    assert!(matches!(err, ChainError::BadMagic { .. }), "{err}");
    // Without index and without xor.dat: the first record's magic is wrong.
    std::fs::remove_file(t.path().join("xor.dat")).expect("rm");
    std::fs::remove_dir_all(t.path().join("index")).expect("rm index");
    std::fs::remove_file(t.path().join("rev00000.dat")).expect("rm rev");
    let err = BlockSource::open(t.path(), Network::Testnet).expect_err("missing key");
    assert!(err.to_string().contains("XOR key"), "{err}");
}

#[test]
fn truncated_file_stops_cleanly_with_diagnostic() {
    let Some(raw) = common::data("testnet3-0-400/raw") else { return };
    let bytes = std::fs::read(raw.join("blk00000.dat")).expect("read");
    let t = tempfile::tempdir().expect("tmp");
    // Cut in the middle of some block: everything before it is kept.
    std::fs::write(t.path().join("blk00000.dat"), &bytes[..50_000]).expect("write");
    let src = BlockSource::open(t.path(), Network::Testnet).expect("opens");
    assert!(src.len() > 100 && src.len() < 401, "{}", src.len());
    assert!(src.diagnostics.iter().any(|d| d.message.contains("truncated")), "{:?}", src.diagnostics);
    assert!(src.read_block(src.len() - 1).is_ok());
}

#[test]
fn corrupted_transaction_bytes_are_an_error_at_the_block() {
    let Some(raw) = common::data("testnet3-0-400/raw") else { return };
    let mut bytes = std::fs::read(raw.join("blk00000.dat")).expect("read");
    // Block 0 record: 8 bytes record header + 80 header + 1 tx count, then the coinbase tx.
    // Flip a byte inside the coinbase's output script: still decodes, merkle root breaks.
    let off = 8 + 80 + 1 + 150;
    bytes[off] ^= 0xff;
    let t = tempfile::tempdir().expect("tmp");
    std::fs::write(t.path().join("blk00000.dat"), &bytes).expect("write");
    let src = BlockSource::open(t.path(), Network::Testnet).expect("opens");
    let err = src.read_block(0).expect_err("corrupted");
    assert!(matches!(err, ChainError::MerkleMismatch { offset: 8, .. } | ChainError::Decode { offset: 8, .. }), "{err}");
    assert!(err.to_string().contains("blk00000.dat"), "{err}");
    assert!(src.read_block(1).is_ok(), "later blocks still read");
}

#[test]
fn mainnet_702861_parses_to_known_hash() {
    let raw = bitcoin_test_data::blocks::mainnet_702861();
    let block: bitcoin::Block = bitcoin::consensus::deserialize(raw).expect("decodes");
    assert_eq!(block.block_hash().to_string(), "000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae");
    assert!(block.check_merkle_root());
    // Written as a one-record blk file it reads back through BlockSource too.
    let t = tempfile::tempdir().expect("tmp");
    let mut rec = Network::Bitcoin.magic().to_bytes().to_vec();
    rec.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    rec.extend_from_slice(raw);
    std::fs::write(t.path().join("blk00000.dat"), &rec).expect("write");
    let src = BlockSource::open(t.path(), Network::Bitcoin).expect("opens");
    assert_eq!(src.len(), 1);
    let b = src.read_block(0).expect("reads");
    assert_eq!(b.txdata.len(), block.txdata.len());
    // It is not genesis, and the source says so rather than pretending.
    assert!(src.diagnostics.iter().any(|d| d.message.contains("genesis")));
}

/// Every `b` record of a LevelDB block index, decoded, by block hash.
fn index_records(index: &std::path::Path) -> std::collections::BTreeMap<Vec<u8>, chain::blocks::DiskBlockIndex> {
    use rusty_leveldb::LdbIterator;
    // Opening LevelDB writes to its dir: open a copy (the shared data is read-only).
    let t = tempfile::tempdir().expect("tmp");
    for e in std::fs::read_dir(index).expect("index dir").flatten() {
        if e.file_name() != "LOCK" {
            let to = t.path().join(e.file_name());
            std::fs::copy(e.path(), &to).expect("copy");
            let mut perm = std::fs::metadata(&to).expect("meta").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&to, perm).expect("writable");
        }
    }
    let mut db = rusty_leveldb::DB::open(t.path(), rusty_leveldb::Options { create_if_missing: false, ..Default::default() }).expect("opens");
    let mut it = db.new_iter().expect("iter");
    let mut out = std::collections::BTreeMap::new();
    it.seek(b"b");
    while let Some((k, v)) = it.current() {
        if k.first() != Some(&b'b') {
            break;
        }
        out.insert(k.to_vec(), chain::blocks::decode_disk_block_index(&v).expect("record decodes"));
        if !it.advance() {
            break;
        }
    }
    out
}

#[test]
fn a_written_core_index_holds_what_core_wrote() {
    let Some(core) = common::data("testnet3-0-400/core-datadir") else { return };
    // Core's blocks and XOR key without its index: scanned, then given an index of ours.
    let t = tempfile::tempdir().expect("tmp");
    for f in ["blk00000.dat", "xor.dat"] {
        std::fs::copy(core.join(f), t.path().join(f)).expect("copy");
    }
    let scanned = BlockSource::open(t.path(), Network::Testnet).expect("scan opens");
    assert!(!scanned.used_index);
    assert_eq!(scanned.write_core_index(&t.path().join("index")).expect("writes"), 401);
    assert!(scanned.write_core_index(&t.path().join("index")).is_err(), "an existing index is not overwritten");
    let reopened = BlockSource::open(t.path(), Network::Testnet).expect("opens by the index");
    assert!(reopened.used_index);
    assert_eq!(hashes_and_txs(&reopened), hashes_and_txs(&BlockSource::open(&core, Network::Testnet).expect("core opens")));
    // Record by record, the fields a reader uses equal Core's own (Core also keeps undo
    // data, so its status and record differ there).
    let (ours, theirs) = (index_records(&t.path().join("index")), index_records(&core.join("index")));
    assert_eq!(ours.len(), 401);
    for (key, mine) in &ours {
        let core_rec = theirs.get(key).unwrap_or_else(|| panic!("Core's index lacks {}", hex::encode(key)));
        assert_eq!((mine.height, mine.n_tx, mine.file, mine.data_pos, mine.header), (core_rec.height, core_rec.n_tx, core_rec.file, core_rec.data_pos, core_rec.header));
    }
}

#[test]
fn a_record_claiming_more_than_a_block_can_hold_is_refused_unread() {
    let Some(raw) = common::data("testnet3-0-400/raw") else { return };
    // The blocks are found through the index; then block 5's record head is made to claim
    // 4 GB: reading it must be an error naming the file and offset, not a read to the end.
    let t = tempfile::tempdir().expect("tmp");
    let mut bytes = std::fs::read(raw.join("blk00000.dat")).expect("read");
    let src = BlockSource::open(&raw, Network::Testnet).expect("opens");
    assert!(src.used_index);
    std::fs::create_dir(t.path().join("index")).expect("mkdir");
    for e in std::fs::read_dir(raw.join("index")).expect("index").flatten() {
        std::fs::copy(e.path(), t.path().join("index").join(e.file_name())).expect("copy");
    }
    let mut pos = 0;
    for _ in 0..5 {
        pos += 8 + u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
    }
    bytes[pos + 4..pos + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(t.path().join("blk00000.dat"), &bytes).expect("write");
    let damaged = BlockSource::open(t.path(), Network::Testnet).expect("opens by the index");
    let err = damaged.read_block(5).expect_err("refused");
    assert!(matches!(err, ChainError::Decode { offset, .. } if offset == pos as u64), "{err}");
    assert!(err.to_string().contains("more than a block can hold"), "{err}");
    assert!(damaged.read_block(6).is_ok(), "the next block still reads");
}

/// Blocks after those an index lists are named, not passed over: an index
/// written for the first 200 blocks, beside the file of all 401.
#[test]
fn blocks_the_index_does_not_list_are_noted() {
    let Some(raw) = common::data("testnet3-0-400/raw") else { return };
    let bytes = std::fs::read(raw.join("blk00000.dat")).expect("read");
    // The end of the 200th record (magic, size, block; plain bytes).
    let mut end = 0usize;
    for _ in 0..200 {
        end += 8 + u32::from_le_bytes(bytes[end + 4..end + 8].try_into().unwrap()) as usize;
    }
    let first = tempfile::tempdir().expect("tmp");
    std::fs::write(first.path().join("blk00000.dat"), &bytes[..end]).expect("write");
    let src = BlockSource::open(first.path(), Network::Testnet).expect("opens");
    assert_eq!(src.len(), 200);
    src.write_core_index(&first.path().join("index")).expect("index");
    // The whole file (401 blocks, then the truncated record) under that index.
    std::fs::write(first.path().join("blk00000.dat"), &bytes).expect("write");
    let src = BlockSource::open(first.path(), Network::Testnet).expect("opens");
    assert_eq!(src.len(), 200);
    let notes: Vec<String> = src.diagnostics.iter().map(|d| format!("{} {}", d.offset, d.message)).collect();
    assert_eq!(notes, [format!("{end} after the last block the index lists: block records the index does not list; not read (move index/ away to scan the files)")]);
}
