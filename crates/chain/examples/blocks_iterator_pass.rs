//! bench/chain peer: one `blocks_iterator` pass (ordered blocks with previous outputs, the
//! work closest to our index build) over a blocks directory. Prints one JSON line.
//! blocks_iterator does not read XOR-obfuscated files: give it a dir with a zero key.
//!
//! Usage: blocks_iterator_pass BLOCKS_DIR NETWORK

use std::time::Instant;

mod support;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(net)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: blocks_iterator_pass BLOCKS_DIR NETWORK");
        std::process::exit(2);
    };
    let network = chain::parse_network(net).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let mut conf = blocks_iterator::Config::new(dir, network);
    // Our index reads the whole chain; blocks_iterator holds back the last max_reorg
    // blocks (default 6). 1 is its smallest working value (0 panics in 2.1.2's reorder
    // stage), so it yields all but the tip block.
    conf.max_reorg = 1;
    let t = Instant::now();
    let (mut blocks, mut txs, mut inputs) = (0u64, 0u64, 0u64);
    for b in blocks_iterator::iter(conf) {
        blocks += 1;
        let block = b.block();
        txs += block.txdata.len() as u64;
        inputs += block.txdata.iter().map(|t| t.input.len() as u64).sum::<u64>();
    }
    let secs = t.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({"tool": "blocks_iterator", "blocks": blocks, "transactions": txs, "inputs": inputs, "seconds": secs, "vm_hwm_bytes": support::vm_hwm_bytes(), "process": support::process_json()}));
}
