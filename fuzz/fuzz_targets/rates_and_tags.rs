//! Arbitrary bytes as the two reference files a user points dragnet to: a
//! daily rate series (`--rates FILE`, a `date,close` CSV, read as text the way
//! the CLI reads it) and a GraphSense TagPack (`chain tag import`, YAML).
//! Neither may panic: a bad file is an error naming it (and, for rates, the
//! line), and what parses is used (converted on its days; tags kept or skipped).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match sales::RateSeries::parse_csv(&text, "btc", "rates.csv") {
        Ok(series) => {
            assert!(!series.is_empty());
            let (first, last) = series.span();
            assert!(first <= last);
            assert!(series.on(first).is_some_and(|v| v.is_finite() && v > 0.0));
            let mut rates = sales::Rates::default();
            rates.add(series);
            let _ = rates.fingerprint();
            let _ = sales::to_usd("0.5", "BTC", last, &rates);
        }
        Err(e) => assert!(e.to_string().starts_with("rates.csv:")),
    }
    match chain::tags::parse_tagpack_bytes(data, std::path::Path::new("pack.yaml")) {
        Ok(pack) => {
            for t in &pack.tags {
                assert!(!t.address.trim().is_empty() && !t.label.trim().is_empty());
                assert!(t.evidence.as_deref().is_some_and(|e| e.starts_with("sha256:")));
            }
        }
        Err(e) => assert!(e.to_string().contains("pack.yaml"), "{e}"),
    }
});
