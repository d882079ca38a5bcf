//! The sales benchmark generator: row counts, exact totals, determinism, and
//! that the files read back as the Agora layout they claim to be.

use sim::sales::{write_sales_dataset, SalesSimConfig, HEADER};

fn read_all(files: &[std::path::PathBuf]) -> Vec<u8> {
    files.iter().flat_map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn counts_totals_and_determinism() {
    let cfg = SalesSimConfig { seed: 11, listings: 250, feedback: 2_600, vendors: 0, files: 3 };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let sa = write_sales_dataset(a.path(), &cfg).unwrap();
    let sb = write_sales_dataset(b.path(), &cfg).unwrap();
    assert_eq!((sa.listings, sa.feedback, sa.files.len()), (250, 2_600, 3));
    assert!(sa.vendors >= 1 && sa.vendors <= 2, "vendors {}", sa.vendors);
    // Same seed, byte-identical files.
    assert_eq!(read_all(&sa.files), read_all(&sb.files));
    assert_eq!((sa.bytes, sa.revenue_cents), (sb.bytes, sb.revenue_cents));
    // Another seed, other bytes, same counts.
    let c = tempfile::tempdir().unwrap();
    let sc = write_sales_dataset(c.path(), &SalesSimConfig { seed: 12, ..cfg.clone() }).unwrap();
    assert_ne!(read_all(&sa.files), read_all(&sc.files));
    assert_eq!((sc.listings, sc.feedback), (250, 2_600));

    // The files read back with the agora-2014 importer (the layout they
    // claim): one listing per row, every entry a feedback, nothing rejected,
    // and the feedback-weighted `usd` prices add up to the stated revenue.
    let (mut listings, mut feedback, mut revenue) = (0u64, 0u64, 0u64);
    for f in &sa.files {
        let bytes = std::fs::read(f).unwrap();
        assert!(bytes.starts_with(HEADER.as_bytes()));
        let source = f.file_name().unwrap().to_string_lossy().into_owned();
        let input = datasets::DatasetInput { bytes: &bytes, evidence: model::Sha256::of(&bytes), source: &source };
        assert_eq!(datasets::detect(&source, &bytes), Some(datasets::DatasetFormat::Agora2014));
        let out = datasets::parse(&datasets::DatasetFormat::Agora2014, &input);
        assert_eq!(out.rejected, 0, "{:?}", out.problems);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        listings += out.listings.len() as u64;
        feedback += out.feedback.len() as u64;
        let cents: std::collections::HashMap<(&str, &str), u64> = out
            .listings
            .iter()
            .map(|l| {
                let (d, c) = l.price_usd.as_deref().unwrap().split_once('.').unwrap();
                ((l.vendor.as_deref().unwrap(), l.title.as_str()), d.parse::<u64>().unwrap() * 100 + c.parse::<u64>().unwrap())
            })
            .collect();
        assert_eq!(cents.len(), out.listings.len(), "titles are unique per vendor");
        for fb in &out.feedback {
            assert!(fb.buyer.as_deref().is_some_and(|b| b.starts_with("anon")));
            assert!(fb.rating.is_some() && fb.text.is_some() && fb.date.is_some());
            revenue += cents[&(fb.vendor.as_deref().unwrap(), fb.listing.as_deref().unwrap())];
        }
    }
    assert_eq!((listings, feedback, revenue), (250, 2_600, sa.revenue_cents));
}

#[test]
fn tiny_sizes() {
    let d = tempfile::tempdir().unwrap();
    let s = write_sales_dataset(d.path(), &SalesSimConfig { seed: 1, listings: 1, feedback: 5, vendors: 0, files: 4 }).unwrap();
    assert_eq!((s.listings, s.feedback, s.files.len(), s.vendors), (1, 5, 1, 1));
    let s = write_sales_dataset(d.path(), &SalesSimConfig { seed: 1, listings: 10, feedback: 0, vendors: 3, files: 2 }).unwrap();
    assert_eq!((s.listings, s.feedback, s.revenue_cents), (10, 0, 0));
}
