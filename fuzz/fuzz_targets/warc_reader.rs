//! Feeds arbitrary bytes to the WARC reader (plain, gzip per record, whole
//! file gzip are all detected from the bytes) and to the HTTP parser of every
//! record it yields. Must never panic, hang or allocate without bound.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `take` bounds the work if a bug made the reader yield forever.
    for item in evidence::WarcReader::new("fuzz", Cursor::new(data)).take(100_000) {
        if let Ok(rec) = item {
            if let Some(Ok(resp)) = rec.http_response() {
                let _ = evidence::decode_content(&resp.body, resp.header("Content-Encoding"));
            }
        }
    }
});
