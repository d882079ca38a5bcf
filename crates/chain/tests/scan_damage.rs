//! Scanning blk files without an index, on the real regtest-small blocks rearranged and
//! damaged in the ways a review found (forged headers, missing parents, garbage, bad
//! magics, lying size fields, cut blocks): the best chain is the genesis-rooted one with
//! valid proof of work, every block left out is named, and one bad spot costs only the
//! blocks it covers.

mod common;

use bitcoin::block::Header;
use bitcoin::Network;
use chain::BlockSource;

const MAGIC: [u8; 4] = [0xfa, 0xbf, 0xb5, 0xda];
const TIP: &str = "585f161dea0c23c04245d0d73157addc7137cd4f83f96671f7f341a528d10668";

/// The 273 block records (magic, size, block) of regtest-small, in file order (its xor.dat
/// key is all zeros, so the bytes are plain).
fn records() -> Option<Vec<Vec<u8>>> {
    let dir = common::data("regtest-small/blocks")?;
    let bytes = std::fs::read(dir.join("blk00000.dat")).expect("read");
    let mut recs = Vec::new();
    let mut pos = 0;
    while pos + 8 <= bytes.len() && bytes[pos..pos + 4] == MAGIC {
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
        recs.push(bytes[pos..pos + 8 + size].to_vec());
        pos += 8 + size;
    }
    assert_eq!(recs.len(), 273);
    Some(recs)
}

/// Opens a blocks dir holding one blk file of `bytes`, by scanning (the dir lives as long
/// as the first value).
fn open(bytes: &[u8]) -> (tempfile::TempDir, BlockSource) {
    let t = tempfile::tempdir().expect("tmp");
    std::fs::write(t.path().join("blk00000.dat"), bytes).expect("write");
    let src = BlockSource::open(t.path(), Network::Regtest).expect("opens");
    assert!(!src.used_index);
    (t, src)
}

fn notes(src: &BlockSource) -> Vec<String> {
    src.diagnostics.iter().map(|d| format!("{} {}", d.offset, d.message)).collect()
}

fn hash_of(rec: &[u8]) -> bitcoin::BlockHash {
    bitcoin::consensus::deserialize::<Header>(&rec[8..88]).expect("header").block_hash()
}

/// `rec` with its header changed by `edit`, then its nonce ground until the header meets
/// its target (two tries on average at regtest's).
fn reheadered(rec: &[u8], edit: impl FnOnce(&mut Header)) -> Vec<u8> {
    let mut h: Header = bitcoin::consensus::deserialize(&rec[8..88]).expect("header");
    edit(&mut h);
    while !h.target().is_met_by(h.block_hash()) {
        h.nonce = h.nonce.wrapping_add(1);
    }
    let mut out = rec.to_vec();
    out[8..88].copy_from_slice(&bitcoin::consensus::serialize(&h));
    out
}

/// F2: a copy of block 1 with another nBits claims more work than the whole real chain; it
/// has no valid proof of work, so it is rejected by name and the real chain stays.
#[test]
fn a_forged_header_without_proof_of_work_is_rejected() {
    let Some(recs) = records() else { return };
    let all: Vec<u8> = recs.concat();
    let end = all.len() as u64;
    for bits in [0x1d00_ffffu32, 0x1b04_04cb, 0x0400_0001] {
        let mut forged = recs[1].clone();
        forged[8 + 72..8 + 76].copy_from_slice(&bits.to_le_bytes());
        let (_dir, src) = open(&[all.clone(), forged.clone()].concat());
        assert_eq!(src.len(), 273, "nBits {bits:#x}: {:?}", notes(&src));
        assert_eq!(src.chain()[272].hash.to_string(), TIP);
        let want = format!("{} block {}: its hash does not meet the target of its own nBits {bits:#010x} (no proof of work); rejected", end + 8, hash_of(&forged));
        assert_eq!(notes(&src), [want], "nBits {bits:#x}");
    }
    // A target easier than regtest allows is refused even when the hash meets it.
    let easy = reheadered(&recs[1], |h| h.bits = bitcoin::pow::CompactTarget::from_consensus(0x2100_ffff));
    let (_dir, src) = open(&[all.clone(), easy.clone()].concat());
    assert_eq!(src.len(), 273);
    assert_eq!(notes(&src), [format!("{} block {}: nBits 0x2100ffff sets a target easier than regtest allows; rejected", end + 8, hash_of(&easy))]);
}

/// A block after the tip with valid proof of work for an nBits harder than consensus asks
/// there (regtest never retargets) adds work, so it became the tip with whatever it
/// holds. It is rejected for its nBits, with the value consensus asks, and the real chain
/// stays; so is its child, which hangs on a rejected block.
#[test]
fn a_block_whose_nbits_consensus_does_not_ask_is_rejected() {
    let Some(recs) = records() else { return };
    let all: Vec<u8> = recs.concat();
    let tip: bitcoin::BlockHash = TIP.parse().expect("hash");
    let forged = reheadered(&recs[272], |h| {
        h.prev_blockhash = tip;
        h.time += 60;
        h.bits = bitcoin::pow::CompactTarget::from_consensus(0x2000_ffff);
    });
    let child = reheadered(&recs[272], |h| {
        h.prev_blockhash = hash_of(&forged);
        h.time += 120;
    });
    let (_dir, src) = open(&[all.clone(), forged.clone(), child.clone()].concat());
    assert_eq!(src.len(), 273, "{:?}", notes(&src));
    assert_eq!(src.chain()[272].hash.to_string(), TIP);
    let at = all.len() as u64 + 8;
    assert_eq!(
        notes(&src),
        [
            format!("{at} block {} at height 273: nBits 0x2000ffff where consensus asks 0x207fffff after its parent; rejected", hash_of(&forged)),
            format!("{} block {}: its parent {} is not among the blocks read (missing, damaged or rejected); it and the 0 blocks built on it are left out", at + forged.len() as u64, hash_of(&child), hash_of(&forged)),
            format!("{} 1 blocks are left out of the chosen chain (0 on competing branches, 1 after a missing parent), the first here", at + forged.len() as u64),
        ]
    );
}

/// A competing block with valid proof of work (a sibling of the tip) is not chosen on a
/// tie, and is named as left out.
#[test]
fn a_competing_branch_is_noted() {
    let Some(recs) = records() else { return };
    let all: Vec<u8> = recs.concat();
    let sibling = reheadered(&recs[272], |h| h.time += 1);
    let (_dir, src) = open(&[all.clone(), sibling].concat());
    assert_eq!(src.len(), 273);
    assert_eq!(src.chain()[272].hash.to_string(), TIP);
    assert_eq!(notes(&src), [format!("{} 1 blocks are left out of the chosen chain (1 on competing branches, 0 after a missing parent), the first here", all.len() + 8)]);
}

/// F9: with block 50 gone, blocks 51-272 claim more work than 0-49 but hang on nothing:
/// the chain from genesis is kept and block 51 is named as the one whose parent is missing.
#[test]
fn the_chain_from_genesis_beats_a_longer_fragment() {
    let Some(recs) = records() else { return };
    let mut kept = recs.clone();
    kept.remove(50);
    let at_51: u64 = kept[..50].iter().map(|r| r.len() as u64).sum::<u64>() + 8;
    let (_dir, src) = open(&kept.concat());
    assert_eq!(src.len(), 50, "{:?}", notes(&src));
    assert_eq!(src.chain()[0].hash, bitcoin::constants::genesis_block(Network::Regtest).block_hash());
    assert_eq!(src.chain()[49].hash, hash_of(&recs[49]));
    let parent = hash_of(&recs[50]);
    assert_eq!(
        notes(&src),
        [
            format!("{at_51} block {}: its parent {parent} is not among the blocks read (missing, damaged or rejected); it and the 221 blocks built on it are left out", hash_of(&recs[51])),
            format!("{at_51} 222 blocks are left out of the chosen chain (0 on competing branches, 222 after a missing parent), the first here"),
        ]
    );
}

/// Blocks whose parent is missing are named up to a limit, the rest counted.
#[test]
fn many_missing_parents_are_named_then_counted() {
    let Some(recs) = records() else { return };
    // Blocks 100, 102, ..., 130 gone: 16 fragments, starting at 101, 103, ..., 131.
    let kept: Vec<Vec<u8>> = recs.iter().enumerate().filter(|(i, _)| !(100..=130).contains(i) || i % 2 == 1).map(|(_, r)| r.clone()).collect();
    let (_dir, src) = open(&kept.concat());
    assert_eq!(src.len(), 100);
    let n = notes(&src);
    assert_eq!(n.iter().filter(|m| m.contains("is not among the blocks read")).count(), 10, "{n:?}");
    assert!(n.iter().any(|m| m.ends_with("6 more blocks whose parent is missing (147 blocks with those built on them), the first here; left out")), "{n:?}");
}

/// F4: 100 bytes of garbage between two blocks are skipped, by offset and length, and every
/// block after them is still read.
#[test]
fn garbage_between_blocks_is_skipped_to_the_next_record() {
    let Some(recs) = records() else { return };
    let at: usize = recs[..51].iter().map(Vec::len).sum();
    let garbage: Vec<u8> = (1..=100u8).collect();
    let (_dir, src) = open(&[recs[..51].concat(), garbage, recs[51..].concat()].concat());
    assert_eq!(src.len(), 273);
    assert_eq!(src.chain()[272].hash.to_string(), TIP);
    assert_eq!(notes(&src), [format!("{at} 100 bytes that are not a block record (offsets {at} to {}); skipped to the next record at offset {}", at + 99, at + 100)]);

    // A run of garbage whose end puts the next magic across the edge of two reads.
    let garbage = vec![1u8; (1 << 20) - 1];
    let (_dir, src) = open(&[recs[..51].concat(), garbage, recs[51..].concat()].concat());
    assert_eq!(src.len(), 273, "{:?}", notes(&src));

    // Garbage at the end of the file, where no record follows.
    let all = recs.concat();
    let (_dir, src) = open(&[all.clone(), vec![7u8; 100]].concat());
    assert_eq!(src.len(), 273);
    assert_eq!(notes(&src), [format!("{} 100 bytes to the end of the file that are neither block records nor padding; skipped", all.len())]);
}

/// F4: a record whose magic is damaged costs that block only: the scan finds the next
/// record, and the blocks after it (whose parent is now missing) are named.
#[test]
fn a_damaged_magic_costs_one_block() {
    let Some(recs) = records() else { return };
    let mut damaged = recs.clone();
    damaged[50][..4].copy_from_slice(&[0x0b, 0x11, 0x09, 0x07]);
    let at: usize = recs[..50].iter().map(Vec::len).sum();
    let next = at + recs[50].len();
    let (_dir, src) = open(&damaged.concat());
    let n = notes(&src);
    assert_eq!(n[0], format!("{at} {} bytes that are not a block record (offsets {at} to {}); skipped to the next record at offset {next}", recs[50].len(), next - 1));
    assert!(n[1].starts_with(&format!("{} block {}: its parent", next + 8, hash_of(&recs[51]))), "{n:?}");
    // The genesis-rooted part is the chain; 51-272 are read and named, not lost unseen.
    assert_eq!(src.len(), 50);
    assert_eq!(src.candidates, 272);
}

/// F4: a size field that runs past the end of the file, or claims more than a block can
/// hold, is noted, and the scan goes on at the next record after it.
#[test]
fn a_lying_size_field_is_skipped_to_the_next_record() {
    let Some(recs) = records() else { return };
    let at: usize = recs[..50].iter().map(Vec::len).sum();
    let next = at + recs[50].len();
    let mut damaged = recs.clone();
    damaged[50][4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let bytes = damaged.concat();
    let (_dir, src) = open(&bytes);
    let n = notes(&src);
    assert_eq!(n[0], format!("{at} truncated record: claims 4294967295 bytes, {} present; skipped to the next record at offset {next}", bytes.len() - at - 8));
    assert_eq!(src.candidates, 272);
    assert_eq!(src.len(), 50);

    // 5,000,000 bytes fit in the file (preallocated zeros follow) but not in a block.
    damaged[50][4..8].copy_from_slice(&5_000_000u32.to_le_bytes());
    let (_dir, src) = open(&[damaged.concat(), vec![0u8; 6_000_000]].concat());
    let n = notes(&src);
    assert_eq!(n[0], format!("{at} record claims 5000000 bytes, more than a block can hold (4000000); skipped to the next record at offset {next}"));
    assert_eq!(src.candidates, 272);
}

/// F13: a block cut in half with good blocks after it: the decode error names the file and
/// offset and says what is wrong in words, not the decoder's enum names.
#[test]
fn a_cut_block_is_described_in_words() {
    let Some(recs) = records() else { return };
    let cut = &recs[100][..recs[100].len() / 2];
    let at: usize = recs[..100].iter().map(Vec::len).sum();
    let (_dir, src) = open(&[recs[..100].concat(), cut.to_vec(), recs[101..].concat()].concat());
    assert_eq!(src.len(), 101, "{:?}", notes(&src));
    for i in 0..100 {
        src.read_parsed(i).expect("block before the cut");
    }
    let e = src.read_parsed(100).expect_err("cut block").to_string();
    assert!(e.contains(&format!("blk00000.dat offset {}: cannot decode block: ", at + 8)), "{e}");
    for name in ["MoreBytesNeeded", "SegwitFlagWithoutWitnesses", "UnknownSegwitFlag", "NonMinimalVarInt"] {
        assert!(!e.contains(name), "{e}");
    }
    let e = src.read_block(100).expect_err("cut block").to_string();
    assert!(e.contains(&format!("offset {}", at + 8)), "{e}");
}
