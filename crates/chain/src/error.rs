//! Typed errors of the chain crate. Every variant that comes from input bytes names the
//! file and the byte offset (or the case path) so an analyst can find the bad record.

use std::path::PathBuf;

/// Errors of block reading, indexing, persistence and evaluation.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The blocks directory holds no `blk*.dat` file.
    #[error("{0}: no blk*.dat files")]
    NoBlockFiles(PathBuf),
    /// `xor.dat` exists but is not 8 bytes long.
    #[error("{path}: xor key must be 8 bytes, found {len}")]
    BadXorKey {
        /// Path of xor.dat.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// A record does not start with the network magic where one must be.
    #[error("{file} offset {offset}: magic {found} is not the {network} magic {expected} ({})", magic_hint(found))]
    BadMagic {
        /// The blk file.
        file: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// The decoded magic, hex.
        found: String,
        /// The expected magic, hex.
        expected: String,
        /// The network asked for.
        network: String,
    },
    /// A record claims more bytes than the file holds.
    #[error("{file} offset {offset}: record of {size} bytes runs past the end of the file")]
    Truncated {
        /// The blk file.
        file: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// Claimed block size.
        size: u64,
    },
    /// The block bytes do not decode.
    #[error("{file} offset {offset}: cannot decode block: {message}")]
    Decode {
        /// The blk file.
        file: PathBuf,
        /// Byte offset of the block data.
        offset: u64,
        /// Decoder message.
        message: String,
    },
    /// The block at a location is not the block the index or header scan says is there.
    #[error("{file} offset {offset}: expected block {expected}, found {found} (wrong XOR key or corrupted file)")]
    HashMismatch {
        /// The blk file.
        file: PathBuf,
        /// Byte offset of the block data.
        offset: u64,
        /// Hash the index promised.
        expected: String,
        /// Hash of the bytes found.
        found: String,
    },
    /// The transactions do not hash to the header's merkle root (corrupted tx bytes).
    #[error("{file} offset {offset}: block {hash}: transactions do not match the merkle root (corrupted transaction bytes)")]
    MerkleMismatch {
        /// The blk file.
        file: PathBuf,
        /// Byte offset of the block data.
        offset: u64,
        /// Block hash.
        hash: String,
    },
    /// A LevelDB block index could not be read.
    #[error("{path}: block index: {message}")]
    Index {
        /// The index directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A `b` record of the block index is malformed.
    #[error("{path}: block index record {key}: {message}")]
    IndexRecord {
        /// The index directory.
        path: PathBuf,
        /// Key, hex.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// Unknown network name.
    #[error("unknown network {0:?} (expected mainnet, testnet, regtest or signet)")]
    UnknownNetwork(String),
    /// The case's stored chain disagrees with the blocks being imported.
    #[error("{path}: stored block at height {height} is {stored}, blocks dir has {found} (reorganisation across imports is not supported)")]
    Reorg {
        /// The case chain dir.
        path: PathBuf,
        /// Height.
        height: u32,
        /// Stored hash.
        stored: String,
        /// New hash.
        found: String,
    },
    /// An input spends an output that the index does not know.
    #[error("block {block} tx {txid} input {vin}: spends unknown output {prevout}")]
    MissingPrevout {
        /// Block hash.
        block: String,
        /// Spending txid.
        txid: String,
        /// Input index.
        vin: u32,
        /// The outpoint.
        prevout: String,
    },
    /// Parquet or Arrow failure on a named file.
    #[error("{path}: {message}")]
    Parquet {
        /// The parquet file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A stored column has an unexpected shape.
    #[error("{path}: {message}")]
    Store {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A ground-truth file is malformed.
    #[error("{path}: {message}")]
    Truth {
        /// The truth file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A tag file or TagPack is malformed, or a tag is unusable.
    #[error("{path}: {message}")]
    Tag {
        /// The tag store or TagPack file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The chain generator could not build a block.
    #[error("sim: {0}")]
    Sim(String),
    /// A trace start or option is not usable.
    #[error("trace: {0}")]
    Trace(String),
    /// Too many items for the compact u32 ids.
    #[error("more than 2^32-1 {0}: compact ids overflow")]
    IdOverflow(&'static str),
}

impl ChainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ChainError::Io { path: path.into(), source }
    }
}

/// What a magic that is not the expected one says: another network's, or
/// bytes still XOR-ed (or not block files at all).
fn magic_hint(found: &str) -> String {
    let network = <[u8; 4]>::try_from(hex::decode(found).unwrap_or_default())
        .ok()
        .and_then(|m| bitcoin::Network::from_magic(bitcoin::p2p::Magic::from_bytes(m)));
    match network {
        Some(n) => format!("these are {n} blocks: give --network {n}"),
        None => "wrong network, or XOR key missing or wrong".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_networks_magic_names_the_network() {
        let bad = |found: &str| {
            ChainError::BadMagic {
                file: PathBuf::from("blk00000.dat"),
                offset: 0,
                found: found.into(),
                expected: "f9beb4d9".into(),
                network: "bitcoin".into(),
            }
            .to_string()
        };
        assert!(bad("fabfb5da").ends_with("(these are regtest blocks: give --network regtest)"), "{}", bad("fabfb5da"));
        assert!(bad("0b110907").contains("give --network testnet"), "{}", bad("0b110907"));
        assert!(bad("12345678").ends_with("(wrong network, or XOR key missing or wrong)"));
        assert!(bad("").ends_with("(wrong network, or XOR key missing or wrong)"));
    }
}
