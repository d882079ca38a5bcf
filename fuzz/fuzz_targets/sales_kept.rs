//! Arbitrary bytes as a case's kept sales units (`CASE/derived/*.bin`, which a
//! case received from someone else may hold): decoding must never panic or
//! allocate without bound, and what decodes must aggregate without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sales::{GroupBy, LedgerSummary};

fuzz_target!(|data: &[u8]| {
    let key = std::str::from_utf8(data.get(1..1 + *data.first().unwrap_or(&0) as usize).unwrap_or(&[])).unwrap_or("");
    // As a case reads it: a table that is not plausible is recomputed.
    if let Some(t) = sales::decode_kept_table(data, key).filter(sales::UnitTable::is_plausible) {
        for by in [GroupBy::Vendor, GroupBy::Month, GroupBy::Destination] {
            let _ = t.aggregate(by, None, None);
        }
    }
    if let Some(s) = sales::decode_kept::<LedgerSummary>(data, key) {
        let _ = s.rollup.aggregate(GroupBy::Vendor);
    }
});
