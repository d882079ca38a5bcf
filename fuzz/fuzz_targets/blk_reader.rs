//! Feeds arbitrary bytes to the chain crate's block reading: as a blocks directory (the
//! first byte chooses whether an `xor.dat` key taken from the next 8 bytes is written, the
//! rest is `blk00000.dat`), opened for the network the next two bits choose, every block of the chosen chain read back
//! and appended to an index (one block at a time, and by the pipelined build); as one
//! serialized block to the index's parser; and as a LevelDB `CDiskBlockIndex` value. Must
//! never panic: bad bytes are errors or diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = chain::blocks::decode_disk_block_index(data);
    let _ = chain::parsed::parse_block(data);
    let Ok(dir) = tempfile::tempdir() else { return };
    let (blk, key) = match data.split_first() {
        Some((flag, rest)) if flag & 1 == 1 && rest.len() >= 8 => (&rest[8..], Some(&rest[..8])),
        Some((_, rest)) => (rest, None),
        None => (data, None),
    };
    if let Some(k) = key {
        if std::fs::write(dir.path().join("xor.dat"), k).is_err() {
            return;
        }
    }
    if std::fs::write(dir.path().join("blk00000.dat"), blk).is_err() {
        return;
    }
    // Bits 1-2 of the first byte choose the network, so each one's nBits rule runs.
    let name = ["regtest", "testnet", "mainnet", "signet"][usize::from(data.first().copied().unwrap_or(0) >> 1 & 3)];
    let Ok(net) = chain::parse_network(name) else { return };
    let Ok(src) = chain::BlockSource::open(dir.path(), net) else { return };
    let mut idx = chain::ChainIndex::new(net);
    for (i, loc) in src.chain().iter().enumerate() {
        match src.read_block(i) {
            Ok(b) => {
                if idx.append_block(loc.height, &b).is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = chain::ChainIndex::new(net).append_from(&src, 0);
});
