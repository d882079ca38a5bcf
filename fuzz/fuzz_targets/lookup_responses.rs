//! Feeds arbitrary bytes as endpoint answers to the parsers of `chain::lookup`: a tx hex
//! body (Esplora `/tx/:txid/hex`), outspends JSON, an address-transactions page and a
//! JSON-RPC response. Must never panic; a parsed tx must re-serialize to the bytes given.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok((tx, raw)) = chain::lookup::parse_tx_hex(&text) {
        // The txid check relies on decode and encode agreeing on the bytes.
        assert_eq!(chain::lookup::serialize_tx(&tx), raw);
    }
    let _ = chain::lookup::parse_outspends(&text);
    let _ = chain::lookup::parse_address_txs(&text);
    let _ = chain::lookup::parse_rpc_response(data);
});
