//! The pipelined index build (`ChainIndex::append_from`: a reader thread parses blocks and
//! interns their addresses ahead of the index) against the one-block-at-a-time path
//! (`append_block` over rust-bitcoin's decoding): same rows, same address ids; and when a
//! block fails, the blocks before it stay and nothing interned ahead for later blocks
//! remains.

use bitcoin::Network;
use chain::sim::{generate, SimConfig};
use chain::{BlockSource, ChainError, ChainIndex};

fn sim_chain() -> (tempfile::TempDir, BlockSource) {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = SimConfig { seed: 7, blocks: 30, entities: 10, txs_per_block: 12, ..SimConfig::default() };
    generate(dir.path(), &cfg).expect("generate");
    let src = BlockSource::open(dir.path(), Network::Regtest).expect("open");
    (dir, src)
}

fn one_by_one(src: &BlockSource, heights: impl Iterator<Item = usize>) -> ChainIndex {
    let mut idx = ChainIndex::new(Network::Regtest);
    for i in heights {
        idx.append_block(i as u32, &src.read_block(i).expect("block")).expect("append");
    }
    idx
}

fn assert_same(a: &ChainIndex, b: &ChainIndex) {
    assert_eq!(a.blocks, b.blocks);
    assert_eq!(a.txs, b.txs);
    assert_eq!(a.outputs, b.outputs);
    assert_eq!(a.inputs, b.inputs);
    assert_eq!(a.addrs.len(), b.addrs.len());
    assert_eq!(a.addrs.first_out, b.addrs.first_out);
    for id in 0..a.addrs.len() as u32 {
        assert_eq!(a.addrs.get(id), b.addrs.get(id), "address {id}");
        let (k, d) = a.addrs.get(id).expect("address");
        assert_eq!(a.addrs.lookup(k, d), Some(id), "lookup of address {id}");
    }
}

#[test]
fn pipelined_build_equals_block_by_block() {
    let (_dir, src) = sim_chain();
    let mut piped = ChainIndex::new(Network::Regtest);
    piped.append_from(&src, 0).expect("build");
    let reference = one_by_one(&src, 0..src.len());
    assert!(reference.inputs.len() > 100, "the chain spends: {}", reference.inputs.len());
    assert_same(&piped, &reference);
    // Fees are exact: every non-coinbase fee equals inputs minus outputs.
    for t in &piped.txs {
        if t.n_in > 0 {
            let ins: u64 = t.inputs().map(|i| piped.outputs[piped.inputs[i as usize] as usize].value).sum();
            let outs: u64 = t.outputs().map(|o| piped.outputs[o as usize].value).sum();
            assert_eq!(t.fee, ins - outs);
        }
    }
}

#[test]
fn a_failing_block_keeps_the_blocks_before_it_and_takes_back_addresses_interned_ahead() {
    let (_dir, src) = sim_chain();
    let skipped = src.len() - 20;
    // Append up to `skipped`, then continue after it: some later block spends an output
    // of the skipped block and fails.
    let mut idx = one_by_one(&src, 0..skipped);
    let err = idx.append_from(&src, skipped + 1).expect_err("a block spends the skipped block");
    assert!(matches!(err, ChainError::MissingPrevout { .. }), "{err}");
    let appended = idx.blocks.len() - skipped;
    assert!(appended < 19, "the failing block is not appended");
    let reference = one_by_one(&src, (0..skipped).chain(skipped + 1..skipped + 1 + appended));
    assert_same(&idx, &reference);
}
