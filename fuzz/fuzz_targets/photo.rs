//! Arbitrary bytes as an embedded product photo: decoded (bounded) and
//! hashed by `extract::photo`, directly and as a base64 data: URI. Must never
//! panic; a hash is always 16 hex digits.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = extract::photo::image_hash(data) {
        assert_eq!(h.len(), 16);
    }
    let uri = format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(data));
    let _ = extract::photo::data_uri_hash(&uri);
    let _ = extract::photo::data_uri_hash(&String::from_utf8_lossy(data));
});
