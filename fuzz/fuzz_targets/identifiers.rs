//! Feeds arbitrary bytes (lossily decoded to UTF-8, as pages are) to the
//! identifier extractors and the PGP armour repair. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (found, _diagnostics) = identifiers::find_all_with_diagnostics(&text);
    // Offsets must point into the input.
    for f in &found {
        assert!(f.offset < text.len());
    }
    let _ = identifiers::parse_pgp_key(&text);
});
