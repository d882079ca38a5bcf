//! # chain: Bitcoin blocks, index, clustering and evaluation
//!
//! See also `README.md` beside this crate for the code map and measured figures.
//!
//! Owns reading a Bitcoin Core `blocks/` directory ([`blocks::BlockSource`]: `blk*.dat`,
//! `xor.dat`, LevelDB `index/`), the compact in-memory index ([`index::ChainIndex`]),
//! its Parquet persistence in a case (`<case>/chain/`, see [`store`]), or for a chain too
//! large for memory the same tables written as blocks are read ([`index_stream`]), address clustering
//! ([`cluster`], stored in the case after each import), measurement of every heuristic
//! against ground truth ([`eval`]), tags on addresses applied to clusters ([`tags`]:
//! TagPack YAML, the CLI, and [`tags::add_tags`] for the market side) and value tracing
//! with poison / haircut / FIFO policies into a flow graph ([`trace`]), and a seeded
//! generator of valid regtest block files with ground truth ([`sim`]). [`lookup`] fetches one
//! transaction or address and its neighbourhood from an Esplora or Core RPC endpoint when
//! there is no local node.
//!
//! **Invariant:** this crate knows nothing about markets. It meets them only through tags.
//!
//! **Invariant:** every union of two addresses carries the transaction and the heuristic
//! that caused it, so `explain` can show why two addresses share a cluster. Change
//! heuristics make separate behavioural links; they never merge co-spend clusters unless
//! asked.
//!
//! **Invariant:** a wrong XOR key, wrong network or corrupted bytes give an error naming the
//! file and offset; a wrong chain is never produced silently (every block read back is
//! checked against the hash it was chosen by and against its merkle root).
//!
//! **Invariant:** a transaction fetched from an endpoint is accepted only if its txid matches
//! the one asked for; graph edges come only from the inputs of accepted transactions.
#![warn(missing_docs)]

pub mod addr_plan;
pub mod blocks;
pub mod cluster;
pub mod cluster_stream;
pub mod error;
pub mod eval;
pub mod index;
pub mod index_stream;
pub mod lookup;
pub mod pages;
pub mod parsed;
pub mod sim;
pub mod store;
pub mod tags;
pub mod trace;

pub use bitcoin::Network;
pub use blocks::{parse_network, BlockSource, Diagnostic};
pub use error::ChainError;
pub use index::ChainIndex;
