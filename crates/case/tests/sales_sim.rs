//! Sales estimates against the simulator's ground truth: every account's
//! feedback count, listing "sold" counters and profile sales count are known.

use case::{Case, ExtractOptions, ImportOptions, NoProgress, SalesOptions};
use sales::{GroupBy, Method, Rates};

#[test]
fn estimates_recover_the_simulated_truth() {
    let generated = sim::generate_markets(&sim::MarketSimConfig { seed: 11, ..Default::default() });
    let tmp = tempfile::tempdir().unwrap();
    generated.write_to(tmp.path()).unwrap();
    let mut case = Case::init(&tmp.path().join("case"), "tester").unwrap();
    let opts = ImportOptions { captured_at: Some("2021-06-01T00:00:00Z".parse().unwrap()), ..ImportOptions::default() };
    case.import(&[tmp.path().join("pages")], &opts, &NoProgress).unwrap();
    case.extract(&ExtractOptions::default(), &NoProgress).unwrap();
    let result = case.sales(&Rates::default(), &SalesOptions { by: GroupBy::Vendor, from: None, to: None }).unwrap();
    let get = |market: &str, vendor: &str, m: Method| {
        result
            .estimates
            .iter()
            .find(|e| e.market.as_deref() == Some(market) && e.vendor.as_deref() == Some(vendor) && e.method == m)
            .map_or(0.0, |e| e.sales_lower)
    };
    let mut checked = 0;
    for a in &generated.truth.accounts {
        // Feedback appears on listing pages and vendor pages alike: counted once.
        assert_eq!(get(&a.market, &a.vendor_name, Method::FeedbackCount), a.feedback as f64, "feedback of {}", a.account);
        // Profiles show the account's total sales; listings show their own counters, which sum to it.
        assert_eq!(get(&a.market, &a.vendor_name, Method::VendorCounter), a.sales as f64, "profile sales of {}", a.account);
        assert_eq!(get(&a.market, &a.vendor_name, Method::SoldCounter), a.sales as f64, "sold counters of {}", a.account);
        checked += 1;
    }
    assert!(checked >= 10, "{checked} accounts");
    let total: usize = generated.truth.accounts.iter().map(|a| a.feedback).sum();
    assert!(total > 100, "only {total} feedback entries in the simulation");
    // Every sale is priced (the simulated markets show USD).
    assert!(result.estimates.iter().filter(|e| e.method != Method::VendorCounter).all(|e| e.unpriced_sales == 0.0));
}

/// The sales units a case keeps beside its store (`derived/`: a summary with
/// the rollup over all days, and the day-level table) are read back while the
/// records and rates are unchanged, and recomputed when either changes: a kept
/// file never hides new evidence.
#[test]
fn kept_sales_units_are_read_back_until_the_records_or_rates_change() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = sim::sales::SalesSimConfig { seed: 5, listings: 300, feedback: 3_000, vendors: 20, files: 2 };
    sim::sales::write_sales_dataset(&data, &cfg).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2);
    let mut case = Case::init(&tmp.path().join("case"), "tester").unwrap();
    let import = |case: &mut Case, file: &std::path::Path| {
        let opts = ImportOptions { dataset_format: Some("agora-2014".into()), ..ImportOptions::default() };
        let r = case.import(&[file.to_path_buf()], &opts, &NoProgress).unwrap();
        let only = r.datasets.iter().map(|(_, _, d)| *d).collect();
        case.extract(&ExtractOptions { only: Some(only), ..ExtractOptions::default() }, &NoProgress).unwrap();
        case.keep_sales_units(&Rates::default()).unwrap();
    };
    let whole = SalesOptions { by: GroupBy::Vendor, from: None, to: None };
    let window = SalesOptions { by: GroupBy::Vendor, from: Some("1990-01-01".parse().unwrap()), to: Some("2030-01-01".parse().unwrap()) };
    let feedback_total = |r: &case::SalesResult| -> f64 {
        r.estimates.iter().filter(|e| e.method == Method::FeedbackCount).map(|e| e.sales_lower).sum()
    };
    import(&mut case, &files[0]);
    let first = case.sales(&Rates::default(), &whole).unwrap();
    assert!(feedback_total(&first) > 1_000.0, "{}", feedback_total(&first));
    // The window covers every day: the table gives what the rollup gives.
    assert!((feedback_total(&case.sales(&Rates::default(), &window).unwrap()) - feedback_total(&first)).abs() < 1e-6);

    // Read back: kept files with the right key are what queries return (swap
    // their units for none, keeping the key): the summary for all days, the
    // table for a window.
    let dir = tmp.path().join("case/derived");
    let (summary_p, table_p) = (dir.join("sales-summary.bin"), dir.join("sales-units.bin"));
    // The key is the file's first field: a length-prefixed string.
    let bytes = std::fs::read(&summary_p).unwrap();
    let key = String::from_utf8(bytes[1..1 + bytes[0] as usize].to_vec()).unwrap();
    assert!(sales::decode_kept::<sales::LedgerSummary>(&bytes, &key).is_some());
    let empty = sales::Ledger::of(sales::Units::default());
    let doctor = || {
        std::fs::write(&summary_p, sales::encode_kept(&key, &empty.summary).unwrap()).unwrap();
        std::fs::write(&table_p, sales::encode_kept(&key, &empty.table).unwrap()).unwrap();
    };
    doctor();
    assert!(case.sales(&Rates::default(), &whole).unwrap().estimates.is_empty(), "the kept rollup is read");
    assert!(case.sales(&Rates::default(), &window).unwrap().estimates.is_empty(), "the kept table is read");

    // Other rates: recomputed, not read.
    let mut rates = Rates::default();
    rates.add(sales::RateSeries::parse_csv("date,close\n2014-01-01,800\n", "BTC", "one-day.csv").unwrap());
    assert_eq!(feedback_total(&case.sales(&rates, &whole).unwrap()), feedback_total(&first));

    // New records: recomputed, with the second file's feedback.
    doctor();
    import(&mut case, &files[1]);
    let both = case.sales(&Rates::default(), &whole).unwrap();
    assert!(feedback_total(&both) > feedback_total(&first), "{} vs {}", feedback_total(&both), feedback_total(&first));
    assert!((feedback_total(&case.sales(&Rates::default(), &window).unwrap()) - feedback_total(&both)).abs() < 1e-6);
    // Damaged files are recomputed, not an error.
    std::fs::write(&summary_p, b"not a ledger").unwrap();
    std::fs::write(&table_p, b"").unwrap();
    assert_eq!(feedback_total(&case.sales(&Rates::default(), &whole).unwrap()), feedback_total(&both));
    assert!((feedback_total(&case.sales(&Rates::default(), &window).unwrap()) - feedback_total(&both)).abs() < 1e-6);
}
