//! Same config, same bytes; another seed, other bytes; files land on disk as
//! generated.

use sim::{generate_markets, MarketSimConfig, SimMarketCase, Truth};

fn small(seed: u64) -> MarketSimConfig {
    MarketSimConfig {
        seed,
        operators: 6,
        ..Default::default()
    }
}

fn fingerprint(case: &SimMarketCase) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = case
        .files
        .iter()
        .map(|f| (f.rel_path.clone(), f.bytes.clone()))
        .collect();
    all.push(("truth.json".into(), case.truth.to_json()));
    all
}

#[test]
fn same_config_gives_identical_bytes() {
    let cfg = MarketSimConfig::default();
    let a = generate_markets(&cfg);
    let b = generate_markets(&cfg);
    assert!(!a.files.is_empty());
    assert_eq!(fingerprint(&a), fingerprint(&b));
}

#[test]
fn different_seeds_differ() {
    let a = generate_markets(&small(1));
    let b = generate_markets(&small(2));
    assert_ne!(a.truth.to_json(), b.truth.to_json());
    let fprs = |c: &SimMarketCase| {
        c.truth
            .accounts
            .iter()
            .map(|a| a.pgp_fingerprint.clone())
            .collect::<Vec<_>>()
    };
    let (fa, fb) = (fprs(&a), fprs(&b));
    assert!(
        fa.iter().all(|f| !fb.contains(f)),
        "keys derive from the seed, so no key repeats across seeds"
    );
}

#[test]
fn write_to_writes_every_file_and_truth() {
    let case = generate_markets(&small(3));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    case.write_to(dir.path())
        .unwrap_or_else(|e| panic!("write_to: {e}"));
    for f in &case.files {
        assert!(f.rel_path.starts_with("pages/"), "{}", f.rel_path);
        let on_disk = std::fs::read(dir.path().join(&f.rel_path))
            .unwrap_or_else(|e| panic!("{}: {e}", f.rel_path));
        assert_eq!(on_disk, f.bytes, "{}", f.rel_path);
    }
    let json =
        std::fs::read(dir.path().join("truth.json")).unwrap_or_else(|e| panic!("truth.json: {e}"));
    let back: Truth =
        serde_json::from_slice(&json).unwrap_or_else(|e| panic!("truth.json parses: {e}"));
    assert_eq!(back, case.truth);
}

#[test]
fn market_count_is_clamped_and_layouts_alternate() {
    let one = generate_markets(&MarketSimConfig {
        markets: 1,
        ..small(4)
    });
    assert_eq!(one.truth.markets.len(), 2);
    let many = generate_markets(&MarketSimConfig {
        markets: 99,
        ..small(4)
    });
    assert_eq!(many.truth.markets.len(), sim::MAX_MARKETS);
    let layouts: Vec<&str> = many
        .truth
        .markets
        .iter()
        .map(|m| m.layout.as_str())
        .collect();
    assert_eq!(layouts, ["table", "cards", "table", "cards"]);
}

#[test]
// A reversed range is exactly what this test feeds the generator.
#[allow(clippy::reversed_empty_ranges)]
fn degenerate_ranges_do_not_panic() {
    let cfg = MarketSimConfig {
        listings_per_vendor: 3..=1,
        feedback_per_listing: 0..=0,
        multi_market_share: f64::NAN,
        renamed_share: 7.0,
        ..small(5)
    };
    let case = generate_markets(&cfg);
    assert!(case
        .truth
        .accounts
        .iter()
        .all(|a| (1..=3).contains(&a.listings) && a.feedback == 0));
}
