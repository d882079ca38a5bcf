//! Arbitrary bytes as a stored chunk of rows (`feedback_chunks.data` or
//! `listing_chunks.data` of a case's SQLite file, which a case received from
//! someone else may hold), plain or LZ4-compressed, read as each kind:
//! decoding must never panic or allocate without bound. Both, in format 1:
//! the hand reader must read what bincode reads (or fail where it fails).
//! Feedback, in either format: rows read in place must equal the rows
//! decoded. Listings: every row has
//! an id of the page.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let evidence = model::Sha256::of(b"fuzz");
    // The first byte picks the compression (low bits) and the feedback
    // row format (high bits: 1, 2, or one not known).
    let (compression, format, bytes) = match data.split_first() {
        Some((&b, rest)) => {
            let compression = match b & 3 {
                0 => None,
                1 => Some("lz4"),
                _ => Some("zstd"),
            };
            (compression, i64::from(1 + (b >> 2) % 3), rest)
        }
        None => (None, 1, data),
    };
    if let Err(e) = store::decode_stored_chunk(&evidence, bytes, compression, format) {
        assert!(!e.to_string().contains("differ"), "{e}");
    }
    match store::decode_stored_listing_chunk(&evidence, bytes, compression) {
        Ok(rows) => {
            let prefix = store::RowId::page_prefix(store::RowKind::Listing, &evidence);
            for r in rows {
                assert!(r.id.as_str().starts_with(&prefix), "{}", r.id);
            }
        }
        Err(e) => assert!(!e.to_string().contains("differ"), "{e}"),
    }
});
