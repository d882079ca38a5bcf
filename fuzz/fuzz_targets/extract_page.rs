//! Fuzz the whole extraction of one page: charset decoding, HTML parsing,
//! market detection with every built-in profile, record rules and the
//! generic identifier extractors. Extraction must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static PROFILES: OnceLock<extract::ProfileSet> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let profiles = PROFILES.get_or_init(|| extract::ProfileSet::builtin().expect("built-in profiles load"));
    let input = extract::PageInput::new(data, model::Sha256::of(data));
    let out = extract::extract_page(&input, profiles, None);
    // Every record cites the page it came from.
    for l in &out.listings {
        assert_eq!(l.provenance.as_ref().map(|p| p.evidence), Some(input.evidence));
    }
});
