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
