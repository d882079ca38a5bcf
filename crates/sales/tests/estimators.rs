//! Hand-made inputs with exact expected numbers for the estimators:
//! feedback deduplication across crawls, feedback pricing, sold counters,
//! month spreading and from/to clipping, USD conversion, coverage.

use chrono::NaiveDate;
use model::{CategoryEntry, Feedback, Listing, Money, Provenance, Sha256};
use sales::{
    aggregate, listing_summary, listing_usd, to_usd, units, ConvertError, Estimate, GroupBy, Input, Method, Obs,
    RateSeries, RateUsed, Rates, Unit, Units,
};

const MARKET: &str = "testmarket";
const VENDOR: &str = "acme";
const TITLE: &str = "10g test product";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn prov(page: &str) -> Provenance {
    Provenance { evidence: Sha256::of(page.as_bytes()), profile: "testmarket".into(), rule: "feedback/entry".into() }
}

/// A feedback entry on page `page`, captured on `day`.
fn fb(id: &str, page: &str, day: &str, text: &str, date: &str) -> Obs<Feedback> {
    Obs {
        id: id.into(),
        record: Feedback {
            market: MARKET.into(),
            vendor: Some(VENDOR.into()),
            listing: Some(TITLE.into()),
            date: Some(date.into()),
            rating: Some("5/5".into()),
            text: Some(text.into()),
            buyer: Some("b***r".into()),
            price: None,
            observed_at: None,
            provenance: Some(prov(page)),
        },
        captured_at: Some(format!("{day}T12:00:00Z")),
    }
}

/// A listing observation captured on `day`.
fn listing(id: &str, day: &str, f: impl FnOnce(&mut Listing)) -> Obs<Listing> {
    let mut l = Listing {
        market: MARKET.into(),
        title: TITLE.into(),
        vendor: Some(VENDOR.into()),
        category: vec!["Drugs".into(), "Cannabis".into()],
        ships_from: Some("NL".into()),
        ships_to: vec!["EU".into(), "US".into()],
        provenance: Some(Provenance { evidence: Sha256::of(id.as_bytes()), profile: "testmarket".into(), rule: "listing".into() }),
        ..Listing::default()
    };
    f(&mut l);
    Obs { id: id.into(), record: l, captured_at: Some(format!("{day}T08:00:00Z")) }
}

fn usd(l: &mut Listing, amount: &str) {
    l.price = Some(Money { amount: amount.into(), currency: "USD".into() });
    l.price_usd = Some(amount.into());
}

fn run(listings: &[Obs<Listing>], feedback: &[Obs<Feedback>], rates: &Rates) -> Units {
    units(&Input { listings, feedback, categories: &[], vendors: &[] }, rates)
}

fn btc_rates() -> Rates {
    let s = RateSeries::parse_csv(
        "date,close\n2020-01-14,8000\n2020-01-15,9000\n2020-01-16,10000\n",
        "BTC",
        "btc-test.csv sha256:00",
    )
    .unwrap();
    let mut r = Rates::default();
    r.add(s);
    r
}

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn only(est: &[Estimate], method: Method) -> &Estimate {
    let v: Vec<&Estimate> = est.iter().filter(|e| e.method == method).collect();
    assert_eq!(v.len(), 1, "one {method:?} estimate expected: {est:#?}");
    v[0]
}

fn method_units(u: &Units, method: Method) -> Vec<&Unit> {
    u.units.iter().filter(|x| x.method == method).collect()
}

// ---------------------------------------------------------------- feedback

#[test]
fn two_crawls_with_overlapping_feedback_give_six_unique() {
    // Crawl 1 (Mar 10): three entries. Crawl 2 (Mar 20): five entries, two of
    // them ("fast" and "stealth") the same as crawl 1's, now aged two weeks.
    let feedback = vec![
        fb("p1-1", "page1", "2020-03-10", "great", "1 day ago"),
        fb("p1-2", "page1", "2020-03-10", "fast", "3 days ago"),
        fb("p1-3", "page1", "2020-03-10", "Stealth   top", "5 days ago"),
        fb("p2-1", "page2", "2020-03-20", "good", "1 day ago"),
        fb("p2-2", "page2", "2020-03-20", "ok", "2 days ago"),
        fb("p2-3", "page2", "2020-03-20", "thanks", "4 days ago"),
        fb("p2-4", "page2", "2020-03-20", "fast", "2 weeks ago"),
        fb("p2-5", "page2", "2020-03-20", "stealth top", "2 weeks ago"),
    ];
    let listings = vec![listing("l1", "2020-03-01", |l| usd(l, "20"))];
    let u = run(&listings, &feedback, &Rates::default());
    assert_eq!(u.feedback_sightings, 8);
    assert_eq!(u.feedback_unique, 6);
    let fc = method_units(&u, Method::FeedbackCount);
    assert_eq!(fc.len(), 6);
    // The shared ones keep the days both sightings allow: "3 days ago" on
    // Mar 10 is Mar 6..8, "2 weeks ago" on Mar 20 is Feb 28..Mar 7.
    let fast = fc.iter().find(|x| x.sources.contains(&"p1-2".to_owned())).unwrap();
    assert!(fast.sources.contains(&"p2-4".to_owned()), "{fast:?}");
    assert_eq!((fast.days.earliest, fast.days.latest), (d("2020-03-06"), d("2020-03-07")));
    let stealth = fc.iter().find(|x| x.sources.contains(&"p1-3".to_owned())).unwrap();
    assert!(stealth.sources.contains(&"p2-5".to_owned()), "{stealth:?}");
    assert_eq!((stealth.days.earliest, stealth.days.latest), (d("2020-03-04"), d("2020-03-06")));
    let est = aggregate(&u.units, GroupBy::Vendor, None, None);
    let e = only(&est, Method::FeedbackCount);
    assert_eq!(e.sales_lower, 6.0);
    assert_eq!(e.sales, 6.0);
    assert!(approx(e.revenue_usd_lower, 120.0));
    assert_eq!(e.unpriced_sales, 0.0);
    assert_eq!(e.units, 6);
    // 8 feedback rows plus the listing row behind each of the 6 units.
    assert_eq!(e.inputs, 8 + 6);
}

#[test]
fn identical_entries_on_one_page_are_two_sales() {
    let one_page =
        vec![fb("a", "page1", "2020-03-10", "great", "2 days ago"), fb("b", "page1", "2020-03-10", "great", "2 days ago")];
    let u = run(&[], &one_page, &Rates::default());
    assert_eq!(u.feedback_unique, 2);
    // Seen again, both, in a later crawl: still two.
    let mut two_crawls = one_page.clone();
    two_crawls.push(fb("c", "page2", "2020-03-11", "great", "3 days ago"));
    two_crawls.push(fb("d", "page2", "2020-03-11", "great", "3 days ago"));
    let u = run(&[], &two_crawls, &Rates::default());
    assert_eq!(u.feedback_sightings, 4);
    assert_eq!(u.feedback_unique, 2);
    // Unpriced: no listing observation.
    let est = aggregate(&u.units, GroupBy::Market, None, None);
    let e = only(&est, Method::FeedbackCount);
    assert_eq!((e.sales_lower, e.unpriced_sales, e.revenue_usd_lower), (2.0, 2.0, 0.0));
    assert_eq!(u.problems.len(), 2, "{:?}", u.problems);
    assert!(u.problems.iter().all(|p| p.message.contains("no listing observation")));
}

#[test]
fn feedback_is_priced_by_the_listing_observation_before_its_date() {
    let listings = vec![listing("jan", "2020-01-01", |l| usd(l, "10")), listing("feb", "2020-02-01", |l| usd(l, "20"))];
    let feedback = vec![
        // Between the two observations: January's price, not February's.
        fb("f-mid", "page1", "2020-03-01", "a", "2020-01-15"),
        // After both: February's.
        fb("f-late", "page1", "2020-03-01", "b", "2020-02-10"),
        // On the day of the second observation: that one.
        fb("f-same", "page1", "2020-03-01", "c", "2020-02-01"),
        // Before any observation: the first one after.
        fb("f-early", "page1", "2020-03-01", "d", "2019-12-01"),
    ];
    let u = run(&listings, &feedback, &Rates::default());
    assert!(u.problems.is_empty(), "{:?}", u.problems);
    let price_of = |id: &str| {
        let unit = u.units.iter().find(|x| x.sources[0] == id).unwrap();
        (unit.price.as_ref().unwrap().usd, unit.sources.last().unwrap().clone())
    };
    assert_eq!(price_of("f-mid"), (10.0, "jan".to_owned()));
    assert_eq!(price_of("f-late"), (20.0, "feb".to_owned()));
    assert_eq!(price_of("f-same"), (20.0, "feb".to_owned()));
    assert_eq!(price_of("f-early"), (10.0, "jan".to_owned()));
    let m = only(&aggregate(&u.units, GroupBy::Market, None, None), Method::FeedbackCount).clone();
    assert!(approx(m.revenue_usd_lower, 60.0));
    // Category/origin/destination come from the matched listing.
    let by_dest = aggregate(&u.units, GroupBy::Destination, None, None);
    assert_eq!(by_dest.len(), 2);
    assert!(by_dest.iter().all(|e| e.sales_lower == 4.0));
    let by_cat = aggregate(&u.units, GroupBy::Category, None, None);
    assert_eq!(by_cat[0].category.as_deref(), Some("Drugs"));
    let by_origin = aggregate(&u.units, GroupBy::Origin, None, None);
    assert_eq!(by_origin[0].origin.as_deref(), Some("Netherlands (NL)"));
}

/// A sale priced from a row that shows no category or places (an Agora
/// vendorall row) takes them from the listing's other observations: 302
/// Agora sales were filed under category "?" (found by a review).
#[test]
fn what_the_pricing_row_does_not_show_comes_from_the_listings_other_rows() {
    let bare = |l: &mut Listing| {
        usd(l, "30");
        l.category.clear();
        l.ships_from = None;
        l.ships_to.clear();
    };
    let listings = vec![listing("products", "2020-01-01", |l| usd(l, "10")), listing("vendorall", "2020-02-01", bare)];
    let feedback = vec![fb("f", "page1", "2020-03-01", "a", "2020-02-10")];
    let u = run(&listings, &feedback, &Rates::default());
    let unit = u.units.iter().find(|x| x.method == Method::FeedbackCount).unwrap();
    assert_eq!((unit.price.as_ref().unwrap().usd, unit.sources.last().unwrap().as_str()), (30.0, "vendorall"));
    assert_eq!(unit.category.as_deref(), Some("Drugs"));
    assert_eq!(unit.origin.as_deref(), Some("NL"));
    assert_eq!(unit.destinations, vec!["EU".to_owned(), "US".to_owned()]);
}

/// One vendor's two listings that share a title (Agora's humboldtsfinest
/// sold "QP of strain listed" as two listings, at 0.73 and 1.09 BTC): a
/// feedback is priced and filed by the listing whose row it came from, not
/// by whichever of the title's observations is latest (a review found 456
/// Agora sales priced from another listing id). A listing of the title that
/// shows no price leaves its feedback priced by the title's others, as any
/// title is; a feedback from no listing's row (a page of its own) too.
#[test]
fn feedback_of_a_title_two_listings_share_is_priced_by_its_own_listing() {
    let dataset_row = |evidence: &str, row: &str| Provenance { evidence: Sha256::of(evidence.as_bytes()), profile: "dataset:agora-2014".into(), rule: row.into() };
    let row_listing = |id: &str, day: &str, market_id: &str, row: &str, price: Option<&str>| {
        listing(id, day, |l| {
            l.market_listing_id = Some(market_id.into());
            l.provenance = Some(dataset_row("file.csv", row));
            l.category = vec![format!("cat of {market_id}")];
            if let Some(p) = price {
                usd(l, p);
            }
        })
    };
    let from_row = |id: &str, row: &str, text: &str| {
        let mut f = fb(id, "file.csv", "2020-03-01", text, "2020-02-20");
        f.record.provenance = Some(dataset_row("file.csv", row));
        f
    };
    let listings = vec![
        row_listing("a-jan", "2020-01-01", "A", "row 2", Some("10")),
        row_listing("b-feb", "2020-02-01", "B", "row 3", Some("30")),
        // A's second row, after B's: latest on the sale day of B's feedback.
        row_listing("a-feb", "2020-02-10", "A", "row 4", Some("12")),
        // C shows no price (Agora's arules rows show a price bin).
        row_listing("c-feb", "2020-02-10", "C", "row 5", None),
        // D shows a price no sale is made at (under half a dollar).
        row_listing("d-feb", "2020-02-10", "D", "row 6", Some("0.30")),
    ];
    let feedback = vec![
        from_row("f-b", "row 3", "b"),
        from_row("f-a", "row 4", "a"),
        from_row("f-c", "row 5", "c"),
        from_row("f-d", "row 6", "d"),
        fb("f-page", "other page", "2020-03-01", "p", "2020-02-20"),
    ];
    let u = run(&listings, &feedback, &Rates::default());
    let sold = |id: &str| {
        let unit = u.units.iter().find(|x| x.sources[0] == id).unwrap_or_else(|| panic!("no unit of {id}"));
        (unit.price.as_ref().unwrap().usd, unit.sources.last().unwrap().clone(), unit.category.clone().unwrap())
    };
    // Before: B's feedback priced at A's $12 of 2020-02-10, filed under A's category.
    assert_eq!(sold("f-b"), (30.0, "b-feb".to_owned(), "cat of B".to_owned()));
    assert_eq!(sold("f-a"), (12.0, "a-feb".to_owned(), "cat of A".to_owned()));
    // C's own row shows no price: the title's latest priced row, C's category.
    assert_eq!(sold("f-c"), (12.0, "a-feb".to_owned(), "cat of C".to_owned()));
    assert_eq!(sold("f-page"), (12.0, "a-feb".to_owned(), "cat of A".to_owned()));
    // D's own price prices no sale: unpriced, with its note, as a title of
    // one listing would be; not priced at a sibling's $12 (found by a review).
    let d = u.units.iter().find(|x| x.sources[0] == "f-d").unwrap();
    assert_eq!((d.price.as_ref(), d.sources.last().map(String::as_str)), (None, Some("d-feb")));
    assert!(u.problems.iter().any(|p| p.id == "f-d"), "{:?}", u.problems);
}

#[test]
fn origins_and_destinations_group_by_the_place_they_name() {
    // One vendor's two listings: ships from "DE" and from "Germany"; to
    // "USA" and "United States and Canada" (the US written twice) and to
    // "Worldwide". A third from "Agora Beta", which is no place.
    let listings = vec![
        listing("de", "2020-01-01", |l| {
            usd(l, "10");
            l.ships_from = Some("DE".into());
            l.ships_to = vec!["USA".into(), "United States and Canada".into()];
        }),
        listing("germany", "2020-01-01", |l| {
            usd(l, "10");
            l.title = "Second".into();
            l.ships_from = Some("Germany".into());
            l.ships_to = vec!["Worldwide".into()];
        }),
        listing("beta", "2020-01-01", |l| {
            usd(l, "10");
            l.title = "Third".into();
            l.ships_from = Some("Agora Beta".into());
        }),
    ];
    let on = |title: &str, mut f: Obs<Feedback>| {
        f.record.listing = Some(title.into());
        f
    };
    let feedback = vec![
        fb("f1", "p", "2020-02-01", "a", "2020-01-15"),
        on("Second", fb("f2", "p", "2020-02-01", "b", "2020-01-15")),
        on("Third", fb("f3", "p", "2020-02-01", "c", "2020-01-15")),
    ];
    let u = run(&listings, &feedback, &Rates::default());
    let groups = |by: GroupBy, key: fn(&sales::Estimate) -> Option<&str>| -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = aggregate(&u.units, by, None, None)
            .iter()
            .filter(|e| e.method == Method::FeedbackCount)
            .map(|e| (key(e).unwrap().to_owned(), e.sales_lower))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(
        groups(GroupBy::Origin, |e| e.origin.as_deref()),
        vec![("Agora Beta (not a country)".to_owned(), 1.0), ("Germany (DE)".to_owned(), 2.0)]
    );
    // The listing shipping to "USA" and "United States and Canada" counts
    // once in the US and once in Canada (the value naming two countries was
    // a group of its own).
    assert_eq!(
        groups(GroupBy::Destination, |e| e.destination.as_deref()),
        vec![
            ("Canada (CA)".to_owned(), 1.0),
            ("Europe".to_owned(), 1.0),
            ("United States Of America (US)".to_owned(), 2.0),
            ("Worldwide".to_owned(), 1.0)
        ]
    );
}

#[test]
fn market_shown_usd_and_btc_use_the_market_rate() {
    let l = listing("l", "2020-01-15", |l| {
        l.price = Some(Money { amount: "0.01".into(), currency: "BTC".into() });
        l.price_usd = Some("50".into());
        l.price_btc = Some("0.01".into());
    });
    // Even with a series that has the day, the market's own USD price wins.
    let p = listing_usd(&l.record, d("2020-01-15"), &btc_rates()).unwrap();
    assert_eq!(p.usd, 50.0);
    assert_eq!((p.amount.as_str(), p.currency.as_str()), ("0.01", "BTC"));
    match p.rate {
        RateUsed::Market { usd_per_btc: Some(r) } => assert!(approx(r, 5000.0), "{r}"),
        other => panic!("expected the market rate, got {other:?}"),
    }
    let u = run(std::slice::from_ref(&l), &[fb("f", "page", "2020-01-20", "x", "2020-01-15")], &btc_rates());
    let unit = &u.units[0];
    assert_eq!(unit.price.as_ref().unwrap().rate.label(), "market");
    assert_eq!(unit.price.as_ref().unwrap().usd, 50.0);
    // USD only: RateUsed::Usd.
    let plain = listing("p", "2020-01-15", |l| usd(l, "12.50"));
    assert_eq!(listing_usd(&plain.record, d("2020-01-15"), &Rates::default()).unwrap().rate, RateUsed::Usd);
    // A shown USD price reads the same on any day (days in and out of the
    // series): the estimator prices a run of feedback on such a listing once.
    for day in ["2020-01-01", "2020-01-20", "1999-01-01"] {
        assert_eq!(listing_usd(&l.record, d(day), &btc_rates()), listing_usd(&l.record, d("2020-01-15"), &btc_rates()), "{day}");
    }
}

#[test]
fn btc_only_listing_is_converted_on_the_feedback_day() {
    // Listing seen on Jan 1 (not in the series); feedback dated Jan 15.
    let l = listing("l", "2020-01-01", |l| {
        l.price = Some(Money { amount: "0.002".into(), currency: "BTC".into() });
    });
    let u = run(&[l], &[fb("f", "page", "2020-01-20", "x", "2020-01-15")], &btc_rates());
    assert!(u.problems.is_empty(), "{:?}", u.problems);
    let p = u.units[0].price.as_ref().unwrap();
    assert!(approx(p.usd, 18.0), "{}", p.usd);
    assert_eq!(
        p.rate,
        RateUsed::Series {
            currency: "BTC".into(),
            date: d("2020-01-15"),
            usd_per_unit: 9000.0,
            source: "btc-test.csv sha256:00".into()
        }
    );
    // A listing with only price_btc is converted the same way.
    let l = listing("l2", "2020-01-01", |l| l.price_btc = Some("0.001".into()));
    let u = run(&[l], &[fb("f", "page", "2020-01-20", "x", "2020-01-16")], &btc_rates());
    let p = u.units[0].price.as_ref().unwrap();
    assert!(approx(p.usd, 10.0));
    assert_eq!(p.rate.label(), "series:BTC@2020-01-16");
}

#[test]
fn outside_series_and_unknown_currency_are_unpriced_problems() {
    let btc = listing("btc", "2020-01-01", |l| l.price = Some(Money { amount: "0.002".into(), currency: "BTC".into() }));
    let xmr = listing("xmr", "2020-01-01", |l| {
        l.title = "xmr product".into();
        l.price = Some(Money { amount: "0.5".into(), currency: "XMR".into() });
    });
    let mut xmr_fb = fb("f-xmr", "page", "2020-01-20", "y", "2020-01-15");
    xmr_fb.record.listing = Some("xmr product".into());
    let feedback = vec![
        fb("f-in", "page", "2020-01-20", "x", "2020-01-15"),
        fb("f-out", "page", "2020-01-20", "z", "2020-01-10"),
        xmr_fb,
    ];
    let u = run(&[btc, xmr], &feedback, &btc_rates());
    assert_eq!(u.feedback_unique, 3);
    let problem = |id: &str| u.problems.iter().find(|p| p.id == id).map(|p| p.message.clone());
    let out = problem("f-out").expect("problem for the date outside the series");
    assert!(out.contains("2020-01-10") && out.contains("2020-01-14..2020-01-16") && out.contains("without revenue"), "{out}");
    let xmr = problem("f-xmr").expect("problem for the unknown currency");
    assert!(xmr.contains("XMR") && xmr.contains("without revenue"), "{xmr}");
    assert_eq!(problem("f-in"), None);
    let e = only(&aggregate(&u.units, GroupBy::Market, None, None), Method::FeedbackCount).clone();
    assert_eq!(e.sales_lower, 3.0);
    assert_eq!(e.unpriced_sales, 2.0);
    assert!(approx(e.revenue_usd_lower, 18.0), "{}", e.revenue_usd_lower);
    // The same errors from the converter itself.
    assert!(matches!(
        to_usd("1", "BTC", d("2020-01-10"), &btc_rates()),
        Err(ConvertError::OutsideSeries { first, last, .. }) if first == d("2020-01-14") && last == d("2020-01-16")
    ));
    assert_eq!(to_usd("1", "xmr", d("2020-01-15"), &btc_rates()), Err(ConvertError::UnknownCurrency("XMR".into())));
    assert!(matches!(to_usd("abc", "USD", d("2020-01-15"), &btc_rates()), Err(ConvertError::BadAmount(_))));
}

#[test]
fn absurd_prices_stay_out_of_revenue() {
    let l = listing("l", "2020-01-01", |l| usd(l, "2000000"));
    let sold = listing("s", "2020-01-01", |l| {
        l.title = "do not buy".into();
        usd(l, "9999999");
        l.sold = Some(3);
    });
    let u = run(&[l, sold], &[fb("f", "page", "2020-01-20", "x", "2020-01-15")], &Rates::default());
    let msg = &u.problems.iter().find(|p| p.id == "f").expect("problem for the absurd price").message;
    assert!(msg.contains("absurd"), "{msg}");
    assert!(u.problems.iter().any(|p| p.id == "s" && p.message.contains("absurd")), "{:?}", u.problems);
    let est = aggregate(&u.units, GroupBy::Market, None, None);
    let f = only(&est, Method::FeedbackCount);
    assert_eq!((f.sales_lower, f.unpriced_sales, f.revenue_usd_lower, f.revenue_usd), (1.0, 1.0, 0.0, 0.0));
    let s = only(&est, Method::SoldCounter);
    assert_eq!((s.sales_lower, s.unpriced_sales, s.revenue_usd_lower), (3.0, 3.0, 0.0));
    // The limit itself is still a price; a cent more is not.
    assert!(to_usd("1000000", "USD", d("2020-01-01"), &Rates::default()).is_ok());
    assert!(matches!(to_usd("1000000.01", "USD", d("2020-01-01"), &Rates::default()), Err(ConvertError::Absurd { .. })));
    assert!(matches!(to_usd("-5", "USD", d("2020-01-01"), &Rates::default()), Err(ConvertError::Absurd { .. })));
    // Zero is no price: a sale at 0 USD would read as measured revenue.
    assert!(matches!(to_usd("0.00", "USD", d("2020-01-01"), &Rates::default()), Err(ConvertError::Zero { .. })));
    assert!(matches!(to_usd("0", "BTC", d("2020-01-15"), &btc_rates()), Err(ConvertError::Zero { .. })));
    // Under half a dollar: a stand-in ("USD 0.01 (0.000001 BTC)"), not a price.
    assert!(matches!(to_usd("0.01", "USD", d("2020-01-01"), &Rates::default()), Err(ConvertError::Placeholder { .. })));
    assert!(matches!(to_usd("0.000001", "BTC", d("2020-01-15"), &btc_rates()), Err(ConvertError::Placeholder { .. })));
    assert!(to_usd("0.50", "USD", d("2020-01-01"), &Rates::default()).is_ok());
    assert!(matches!(to_usd("0.49", "USD", d("2020-01-01"), &Rates::default()), Err(ConvertError::Placeholder { .. })));
}

/// A holding price ([`sales::holding`]) prices no sale: a feedback takes the
/// listing's other observation, a counter's sales are unpriced, and each
/// holding price has a note naming its row. (On Agora one listing's 190 BTC
/// row priced a feedback at $155,931; on AlphaBay "*Restock Soon*" at
/// $99,999.00 times 923 sold made one vendor the largest; found by a review.)
#[test]
fn holding_prices_price_no_sale() {
    // The listing at $20 on Jan 1 and Feb 1; at $99,999 (a run of 9s) on Jan 10.
    let listings = vec![
        listing("jan", "2020-01-01", |l| usd(l, "20")),
        listing("hold", "2020-01-10", |l| usd(l, "99999.00")),
        listing("feb", "2020-02-01", |l| usd(l, "20")),
        // Another listing, its only price a holding one, with a counter.
        listing("restock", "2020-01-10", |l| {
            l.title = "LSD 1x *Restock Soon*".into();
            usd(l, "70000");
            l.sold = Some(923);
        }),
    ];
    // Left on Jan 15: the Jan 10 holding price would be in force.
    let feedback = vec![fb("f", "page", "2020-01-20", "x", "2020-01-15")];
    let u = run(&listings, &feedback, &Rates::default());
    let unit = u.units.iter().find(|x| x.sources[0] == "f").unwrap();
    assert_eq!((unit.price.as_ref().map(|p| p.usd), unit.sources.last().map(String::as_str)), (Some(20.0), Some("jan")));
    let counted = method_units(&u, Method::SoldCounter);
    assert_eq!(counted.len(), 1);
    assert_eq!((counted[0].sales, counted[0].price.is_none()), (923.0, true));
    let notes: Vec<(&str, &str)> = u.problems.iter().map(|p| (p.id.as_str(), p.message.as_str())).collect();
    assert!(notes.iter().any(|(id, m)| *id == "hold" && m.contains("holding price") && m.contains("run of one digit")), "{notes:?}");
    assert!(notes.iter().any(|(id, m)| *id == "restock" && m.contains("holding price") && m.contains("\"restock\"")), "{notes:?}");
    assert!(notes.iter().any(|(id, m)| *id == "restock" && m.contains("counted without revenue")), "{notes:?}");
    let est = aggregate(&u.units, GroupBy::Market, None, None);
    assert!(approx(only(&est, Method::FeedbackCount).revenue_usd_lower, 20.0));
    assert_eq!(only(&est, Method::SoldCounter).revenue_usd_lower, 0.0);
}

/// A row showing a price of zero (or cents) does not stop a listing's
/// other price from pricing its sales: adding it took the revenue away
/// (estimates fell when evidence was added; found by a review).
#[test]
fn a_zero_price_row_does_not_hide_the_listings_price() {
    let listings = vec![listing("priced", "2020-03-01", |l| usd(l, "10")), listing("zero", "2020-03-04", |l| usd(l, "0"))];
    let feedback = vec![fb("f", "page", "2020-03-10", "x", "2020-03-05")];
    let u = run(&listings, &feedback, &Rates::default());
    let unit = u.units.iter().find(|x| x.sources[0] == "f").unwrap();
    assert_eq!((unit.price.as_ref().map(|p| p.usd), unit.sources.last().map(String::as_str)), (Some(10.0), Some("priced")));
}

/// A listing whose only price is no sale price: the feedback's note says
/// why (the price and its judgement), though a later row of the listing
/// shows no price at all (it said "no price"; found by a review).
#[test]
fn a_feedback_whose_listing_shows_only_a_stand_in_price_says_so() {
    let listings = vec![listing("cents", "2020-03-01", |l| usd(l, "0.10")), listing("bare", "2020-03-04", |_| {})];
    let feedback = vec![fb("f", "page", "2020-03-10", "x", "2020-03-05")];
    let u = run(&listings, &feedback, &Rates::default());
    let note = &u.problems.iter().find(|p| p.id == "f").expect("a note on the feedback").message;
    assert!(note.contains("is under 0.50 USD: taken for a stand-in"), "{note}");
}

// ---------------------------------------------------------------- sold counters

/// Two records of one day that show one listing are taken from the lowest
/// reading up, whatever order they come in: growth, not a reset, and noted.
#[test]
fn sold_counters_of_one_day_go_from_the_lowest_up() {
    let a = listing("a", "2016-01-10", |l| {
        usd(l, "10");
        l.sold = Some(10);
    });
    let b = listing("b", "2016-01-10", |l| {
        usd(l, "10");
        l.sold = Some(15);
    });
    for listings in [vec![a.clone(), b.clone()], vec![b, a]] {
        let u = run(&listings, &[], &Rates::default());
        let sc = method_units(&u, Method::SoldCounter);
        assert_eq!(sc.iter().map(|x| (x.sources[0].as_str(), x.sales)).collect::<Vec<_>>(), vec![("a", 10.0), ("b", 5.0)]);
        assert_eq!(u.problems.len(), 1, "{:?}", u.problems);
        assert!(u.problems[0].message.contains("reads 10 to 15 on 2 observations"), "{:?}", u.problems);
    }
}

#[test]
fn sold_counter_growth_and_reset() {
    let listings = vec![
        listing("a", "2016-01-10", |l| {
            usd(l, "10");
            l.sold = Some(10);
        }),
        listing("b", "2016-01-20", |l| {
            usd(l, "10");
            l.sold = Some(15);
        }),
        listing("c", "2016-01-30", |l| {
            usd(l, "12");
            l.sold = Some(12);
        }),
    ];
    let u = run(&listings, &[], &Rates::default());
    let sc = method_units(&u, Method::SoldCounter);
    assert_eq!(sc.iter().map(|x| x.sales).collect::<Vec<_>>(), vec![10.0, 5.0, 12.0]);
    assert_eq!(sc.iter().map(|x| x.sources[0].as_str()).collect::<Vec<_>>(), vec!["a", "b", "c"]);
    // Growth covers the days after the previous observation.
    assert_eq!((sc[1].days.earliest, sc[1].days.latest), (d("2016-01-11"), d("2016-01-20")));
    assert!(u.problems.iter().any(|p| p.id == "c" && p.message.contains("fell from 15 to 12")), "{:?}", u.problems);
    let e = only(&aggregate(&u.units, GroupBy::Vendor, None, None), Method::SoldCounter).clone();
    assert_eq!(e.sales_lower, 27.0);
    // Each piece at the price of the observation that shows it.
    assert!(approx(e.revenue_usd_lower, 10.0 * 10.0 + 5.0 * 10.0 + 12.0 * 12.0));
    // Seen unchanged again: nothing more.
    let mut more = listings.clone();
    more.push(listing("d", "2016-02-05", |l| {
        usd(l, "12");
        l.sold = Some(12);
    }));
    let e2 = only(&aggregate(&run(&more, &[], &Rates::default()).units, GroupBy::Vendor, None, None), Method::SoldCounter)
        .clone();
    assert_eq!(e2.sales_lower, 27.0);
}

fn since_listing() -> Obs<Listing> {
    // 30 sold over Jan 17..Mar 16 2016: 15 + 29 + 16 = 60 days, half a sale a day.
    listing("s", "2016-03-16", |l| {
        usd(l, "10");
        l.sold = Some(30);
        l.sold_since = Some("2016-01-17".into());
    })
}

/// A counter's first value with no "since" date counts sales made on or
/// before the day it was seen, from a day not known: all days count it, by
/// month it is "undated", and a window counts it only where it surely holds
/// every day it may cover (before the old code, all of it fell in the month
/// it was seen: the 2017-07 spike of AlphaBay's lifetime counters).
#[test]
fn a_first_counter_value_without_since_is_undated() {
    let listings = vec![
        listing("a", "2016-03-16", |l| {
            usd(l, "10");
            l.sold = Some(10);
        }),
        listing("b", "2016-04-10", |l| {
            usd(l, "10");
            l.sold = Some(15);
        }),
    ];
    let u = run(&listings, &[], &Rates::default());
    let sc = method_units(&u, Method::SoldCounter);
    assert_eq!(sc.iter().map(|x| (x.sales, x.start_unknown)).collect::<Vec<_>>(), vec![(10.0, true), (5.0, false)]);
    let table = sales::UnitTable::of(&u.units);
    // All days: both whole.
    let all = only(&aggregate(&u.units, GroupBy::Vendor, None, None), Method::SoldCounter).clone();
    assert_eq!((all.sales_lower, all.undated_sales, all.first_day, all.last_day), (15.0, 10.0, None, d("2016-04-10")));
    // By month: the first value apart, the growth over Mar 17..Apr 10.
    let months = aggregate(&u.units, GroupBy::Month, None, None);
    let got: Vec<(String, f64)> = months.iter().map(|e| (e.month.clone().unwrap(), e.sales_lower)).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[1].0.as_str(), got[2].0.as_str()), ("2016-03", "2016-04", sales::UNDATED_MONTH));
    assert!(approx(got[0].1, 5.0 * 15.0 / 25.0) && approx(got[1].1, 5.0 * 10.0 / 25.0), "{got:?}");
    assert_eq!(got[2].1, 10.0);
    // No first day: they may be older than any day shown.
    assert_eq!((months[2].first_day, months[2].last_day, months[2].undated_sales), (None, d("2016-03-16"), 10.0));
    assert!(months[..2].iter().all(|m| m.undated_sales == 0.0 && m.first_day.is_some()));
    // A window from a day on or before the sighting may or may not hold
    // those 10: left out, and counted as unplaced.
    let april = aggregate(&u.units, GroupBy::Vendor, Some(d("2016-03-01")), Some(d("2016-04-30")));
    assert_eq!(only(&april, Method::SoldCounter).sales_lower, 5.0);
    assert_eq!(table.unplaced(Some(d("2016-03-01")), Some(d("2016-04-30"))), sales::Unplaced { sales: 10.0, units: 1 });
    // Through a day on or after the sighting, open at its start: surely held.
    let to_march = aggregate(&u.units, GroupBy::Vendor, None, Some(d("2016-03-31")));
    assert!(approx(only(&to_march, Method::SoldCounter).sales_lower, 10.0 + 3.0), "{to_march:?}");
    assert_eq!(table.unplaced(None, Some(d("2016-03-31"))), sales::Unplaced::default());
    // Ending before the sighting: may hold some of them, not surely all.
    assert!(aggregate(&u.units, GroupBy::Vendor, None, Some(d("2016-03-10"))).is_empty());
    assert_eq!(table.unplaced(None, Some(d("2016-03-10"))).units, 1);
    // Opening after the sighting: they were all sold before it.
    assert_eq!(table.unplaced(Some(d("2016-03-17")), None), sales::Unplaced::default());
    // A "since" date (part of the listing's key: both show it) makes the
    // first value dated.
    let mut dated = listings.clone();
    for l in &mut dated {
        l.record.sold_since = Some("2016-03-07".into());
    }
    let u = run(&dated, &[], &Rates::default());
    assert!(u.units.iter().all(|x| !x.start_unknown));
    assert!(aggregate(&u.units, GroupBy::Month, None, None).iter().all(|e| e.month.as_deref() != Some(sales::UNDATED_MONTH)));
}

/// A vendor's sales count: its first value is undated without a
/// registration date, dated from it with one.
#[test]
fn a_first_vendor_count_without_registration_is_undated() {
    let vendor = |id: &str, day: &str, sales: u64, registered: Option<&str>| Obs {
        id: id.into(),
        record: model::Vendor {
            market: MARKET.into(),
            name: VENDOR.into(),
            sales: Some(sales),
            registered: registered.map(str::to_owned),
            ..model::Vendor::default()
        },
        captured_at: Some(format!("{day}T08:00:00Z")),
    };
    for (registered, undated) in [(None, true), (Some("2016-01-01"), false)] {
        let vendors = [vendor("v1", "2016-03-16", 40, registered), vendor("v2", "2016-04-16", 50, registered)];
        let u = units(&Input { listings: &[], feedback: &[], categories: &[], vendors: &vendors }, &Rates::default());
        let vc = method_units(&u, Method::VendorCounter);
        assert_eq!(vc.iter().map(|x| (x.sales, x.start_unknown)).collect::<Vec<_>>(), vec![(40.0, undated), (10.0, false)]);
        let months = aggregate(&u.units, GroupBy::Month, None, None);
        let undated_sales: f64 = months.iter().filter(|e| e.month.as_deref() == Some(sales::UNDATED_MONTH)).map(|e| e.sales_lower).sum();
        assert_eq!(undated_sales, if undated { 40.0 } else { 0.0 }, "{months:?}");
        let total: f64 = months.iter().map(|e| e.sales_lower).sum();
        assert!(approx(total, 50.0), "{months:?}");
    }
    // A registration only a later profile shows (a dataset row has none, the
    // page has one) dates the first value too; a month alone ("August
    // 2015", White House Market) counts from its first day.
    let vendors = [vendor("v1", "2016-03-16", 40, None), vendor("v2", "2016-04-16", 50, Some("August 2015"))];
    let u = units(&Input { listings: &[], feedback: &[], categories: &[], vendors: &vendors }, &Rates::default());
    let vc = method_units(&u, Method::VendorCounter);
    assert_eq!(vc.iter().map(|x| (x.sales, x.start_unknown, x.days.earliest)).collect::<Vec<_>>(), vec![(40.0, false, d("2015-08-01")), (10.0, false, d("2016-03-17"))]);
}

/// Readings of one day have no order: a vendor's count read 1540, 1490 and
/// 1509 on three pages of one capture day (cryptonia/terrysukstock in the
/// real pages) is at most 1,540 sales, not a reset (3,049 in the ids'
/// order), whatever the ids; the same for a listing's sold counter. The day
/// whose readings disagree is noted.
#[test]
fn readings_of_one_day_are_taken_from_the_lowest_up() {
    let vendor = |id: &str, day: &str, sales: u64| Obs {
        id: id.into(),
        record: model::Vendor { market: MARKET.into(), name: VENDOR.into(), sales: Some(sales), ..model::Vendor::default() },
        captured_at: Some(format!("{day}T08:00:00Z")),
    };
    for ids in [["a", "b", "c"], ["c", "b", "a"], ["b", "c", "a"]] {
        let vendors = [vendor(ids[0], "2020-01-15", 1540), vendor(ids[1], "2020-01-15", 1490), vendor(ids[2], "2020-01-15", 1509)];
        let u = units(&Input { listings: &[], feedback: &[], categories: &[], vendors: &vendors }, &Rates::default());
        let total: f64 = method_units(&u, Method::VendorCounter).iter().map(|x| x.sales).sum();
        assert_eq!(total, 1540.0, "{ids:?}");
        assert!(u.problems.iter().all(|p| !p.message.contains("counted as a reset")), "{:?}", u.problems);
        let noted: Vec<&str> = u.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(noted.len(), 1, "{noted:?}");
        assert!(noted[0].contains("reads 1490 to 1540 on 3 observations of 2020-01-15"), "{noted:?}");
        // A later, lower reading is still a reset.
        let later = [vendors[0].clone(), vendors[1].clone(), vendors[2].clone(), vendor("d", "2020-02-01", 100)];
        let u = units(&Input { listings: &[], feedback: &[], categories: &[], vendors: &later }, &Rates::default());
        let total: f64 = method_units(&u, Method::VendorCounter).iter().map(|x| x.sales).sum();
        assert_eq!(total, 1640.0, "{ids:?}");
    }
    for ids in [["x", "y"], ["y", "x"]] {
        let listings = [
            listing(ids[0], "2016-01-10", |l| l.sold = Some(30)),
            listing(ids[1], "2016-01-10", |l| l.sold = Some(25)),
        ];
        let u = run(&listings, &[], &Rates::default());
        let total: f64 = method_units(&u, Method::SoldCounter).iter().map(|x| x.sales).sum();
        assert_eq!(total, 30.0, "{ids:?}");
    }
}

#[test]
fn sold_since_spreads_over_months() {
    let u = run(&[since_listing()], &[], &Rates::default());
    let unit = &u.units[0];
    assert_eq!((unit.days.earliest, unit.days.latest), (d("2016-01-17"), d("2016-03-16")));
    let months = aggregate(&u.units, GroupBy::Month, None, None);
    let got: Vec<(String, f64, f64)> =
        months.iter().map(|e| (e.month.clone().unwrap(), e.sales_lower, e.revenue_usd_lower)).collect();
    assert_eq!(got.len(), 3, "{months:#?}");
    for ((m, s, r), (wm, ws)) in got.iter().zip([("2016-01", 7.5), ("2016-02", 14.5), ("2016-03", 8.0)]) {
        assert_eq!(m, wm);
        assert!(approx(*s, ws), "{m}: {s} != {ws}");
        assert!(approx(*r, ws * 10.0), "{m}: revenue {r}");
    }
    assert!(months.iter().all(|e| e.market.is_none() && e.method == Method::SoldCounter));
}

#[test]
fn month_rows_name_sale_days_inside_their_month() {
    // A month's first and last sale day are days of that month.
    let u = run(&[since_listing()], &[], &Rates::default());
    let months = aggregate(&u.units, GroupBy::Month, None, None);
    assert_eq!((months[0].first_day, months[0].last_day), (Some(d("2016-01-17")), d("2016-01-31")));
    assert_eq!((months[1].first_day, months[1].last_day), (Some(d("2016-02-01")), d("2016-02-29")));
    assert_eq!((months[2].first_day, months[2].last_day), (Some(d("2016-03-01")), d("2016-03-16")));
}

#[test]
fn from_and_to_clip_pro_rata() {
    let u = run(&[since_listing()], &[], &Rates::default());
    let feb = aggregate(&u.units, GroupBy::Market, Some(d("2016-02-01")), Some(d("2016-02-29")));
    assert_eq!(feb.len(), 1);
    assert!(approx(feb[0].sales_lower, 14.5), "{}", feb[0].sales_lower);
    assert!(approx(feb[0].revenue_usd_lower, 145.0));
    assert_eq!((feb[0].first_day, feb[0].last_day), (Some(d("2016-02-01")), d("2016-02-29")));
    // From only: Mar 10..16 is 7 of 60 days.
    let tail = aggregate(&u.units, GroupBy::Vendor, Some(d("2016-03-10")), None);
    assert!(approx(tail[0].sales_lower, 3.5), "{}", tail[0].sales_lower);
    // To only: Jan 17..20 is 4 days.
    let head = aggregate(&u.units, GroupBy::Month, None, Some(d("2016-01-20")));
    assert_eq!(head.len(), 1);
    assert!(approx(head[0].sales_lower, 2.0), "{}", head[0].sales_lower);
    // Clipped by month and by market agree.
    let m = aggregate(&u.units, GroupBy::Month, Some(d("2016-01-25")), Some(d("2016-03-05")));
    let total: f64 = m.iter().map(|e| e.sales_lower).sum();
    let k = aggregate(&u.units, GroupBy::Market, Some(d("2016-01-25")), Some(d("2016-03-05")));
    assert!(approx(total, k[0].sales_lower) && approx(total, 41.0 * 0.5), "{total}");
    // Outside the window: nothing.
    assert!(aggregate(&u.units, GroupBy::Market, Some(d("2016-04-01")), None).is_empty());
    assert!(aggregate(&u.units, GroupBy::Market, None, Some(d("2016-01-16"))).is_empty());
}

// ---------------------------------------------------------------- coverage

#[test]
fn stated_listing_counts_scale_the_central_estimate() {
    // Five distinct listings seen; the category page states 6 + 4 = 10.
    let mut listings: Vec<Obs<Listing>> = (0..5)
        .map(|i| {
            listing(&format!("l{i}"), "2020-01-01", |l| {
                l.title = format!("product {i}");
                usd(l, "10");
            })
        })
        .collect();
    listings[0].record.sold = Some(4);
    let cat = |id: &str, name: &str, n: u64| Obs {
        id: id.into(),
        record: CategoryEntry {
            market: MARKET.into(),
            name: name.into(),
            count: Some(n),
            link: None,
            provenance: Some(prov("category-index")),
        },
        captured_at: Some("2020-01-01T09:00:00Z".into()),
    };
    let categories = vec![cat("c1", "Drugs", 6), cat("c2", "Digital", 4)];
    let mut f = fb("f", "page", "2020-01-05", "x", "2 days ago");
    f.record.listing = Some("product 1".into());
    let u = units(&Input { listings: &listings, feedback: &[f], categories: &categories, vendors: &[] }, &Rates::default());
    let whole = u.coverage.iter().find(|c| c.market == MARKET && c.day.is_none()).unwrap();
    assert_eq!((whole.listings_seen, whole.listings_stated, whole.coverage), (5, Some(10), Some(0.5)));
    let day = u.coverage.iter().find(|c| c.day == Some(d("2020-01-01"))).unwrap();
    assert_eq!((day.listings_seen, day.listings_stated, day.coverage), (5, Some(10), Some(0.5)));
    assert!(u.units.iter().all(|x| x.scale == 2.0), "{:?}", u.units);
    for e in aggregate(&u.units, GroupBy::Vendor, None, None) {
        assert_eq!(e.sales, 2.0 * e.sales_lower, "{e:?}");
        assert!(approx(e.revenue_usd, 2.0 * e.revenue_usd_lower));
        assert!(e.coverage_note.contains("coverage"));
    }
    let est = aggregate(&u.units, GroupBy::Vendor, None, None);
    assert_eq!(only(&est, Method::SoldCounter).sales, 8.0);
    assert_eq!(only(&est, Method::FeedbackCount).sales, 2.0);
    // Without the statement: central = lower.
    let u = run(&listings, &[], &Rates::default());
    let whole = u.coverage.iter().find(|c| c.day.is_none()).unwrap();
    assert_eq!((whole.listings_stated, whole.coverage), (None, None));
    let e = &aggregate(&u.units, GroupBy::Vendor, None, None)[0];
    assert_eq!(e.sales, e.sales_lower);
    assert!(e.coverage_note.contains("central = lower bound"));
}

// ---------------------------------------------------------------- listing summary

#[test]
fn listing_summary_counts_and_median() {
    let listings = vec![
        listing("a", "2020-01-01", |l| usd(l, "10")),
        listing("b", "2020-01-05", |l| usd(l, "30")),
        listing("c", "2020-01-03", |l| {
            l.title = "other".into();
            usd(l, "20");
        }),
        listing("d", "2020-01-04", |l| {
            l.title = "unpriced".into();
            l.price = Some(Money { amount: "1".into(), currency: "XMR".into() });
        }),
    ];
    let s = listing_summary(&listings, &Rates::default());
    assert_eq!(s.len(), 1);
    let s = &s[0];
    assert_eq!((s.market.as_str(), s.vendor.as_str()), (MARKET, VENDOR));
    assert_eq!((s.listings, s.observations, s.priced), (3, 4, 3));
    assert_eq!(s.median_price_usd, Some(20.0));
    assert_eq!((s.first_seen, s.last_seen), (Some(d("2020-01-01")), Some(d("2020-01-05"))));
}

/// A page served stale: the same feedback shows "3 days ago" on two crawls a
/// week apart. Date-aware matching (central) cannot join them; the lower
/// bound ignores shown dates and counts the feedback once. Two identical
/// entries on one page stay two in both.
#[test]
fn lower_bound_ignores_shown_dates() {
    let feedback = vec![
        fb("f1", "crawl-1", "2020-03-01", "great", "3 days ago"),
        fb("f2", "crawl-2", "2020-03-08", "great", "3 days ago"),
        fb("g1", "crawl-1", "2020-03-01", "again", "1 day ago"),
        fb("g2", "crawl-1", "2020-03-01", "again", "1 day ago"),
    ];
    let u = run(&[], &feedback, &Rates::default());
    let e = aggregate(&u.units, GroupBy::Vendor, None, None);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].sales_lower, 3.0, "{e:?}");
    assert_eq!(e[0].sales, 4.0, "{e:?}");
    assert_eq!(u.feedback_unique, 4);
}

/// A thread that estimates part after part (as a case's workers do) finds in
/// each what a thread estimating it first finds: nothing of a part before
/// (the identities of one are written where the last one's were) is left
/// in the next. Two parts of different lengths and texts, each with a
/// feedback seen twice that must be one and one seen twice on one page that
/// must be two.
#[test]
fn parts_estimated_one_after_another_are_each_as_estimated_alone() {
    let part = |vendor: &str, text: &str| -> Vec<Obs<Feedback>> {
        let mut rows = vec![
            fb(&format!("{vendor}-a"), "page1", "2020-03-10", text, "2 days ago"),
            fb(&format!("{vendor}-b"), "page1", "2020-03-10", text, "2 days ago"),
            fb(&format!("{vendor}-c"), "page2", "2020-03-11", text, "3 days ago"),
            fb(&format!("{vendor}-d"), "page2", "2020-03-11", &format!("{text} too"), "1 day ago"),
        ];
        for r in &mut rows {
            r.record.vendor = Some(vendor.into());
        }
        rows
    };
    let (first, second) = (part("acme", "a long text that leaves much behind"), part("zed", "ok"));
    let input = Input { listings: &[], feedback: &[], categories: &[], vendors: &[] };
    let rates = Rates::default();
    let estimator = sales::Estimator::new(&input, &rates);
    fn refs(rows: &[Obs<Feedback>]) -> Vec<&Obs<Feedback>> {
        rows.iter().collect()
    }
    let alone = |rows: &[Obs<Feedback>]| std::thread::scope(|s| s.spawn(|| estimator.feedback_part(&refs(rows))).join().unwrap());
    let (first_alone, second_alone) = (alone(&first), alone(&second));
    assert_eq!((second_alone.feedback_sightings, second_alone.feedback_unique), (4, 3));
    std::thread::scope(|s| {
        s.spawn(|| {
            assert_eq!(estimator.feedback_part(&refs(&first)), first_alone);
            assert_eq!(estimator.feedback_part(&refs(&second)), second_alone);
            assert_eq!(estimator.feedback_part(&refs(&first)), first_alone);
        });
    });
}

/// Feedback dated after the page that shows it was captured is impossible:
/// the capture time given or the date shown is wrong. It is counted on its
/// shown date, with a note (it was counted silently).
#[test]
fn feedback_dated_after_its_capture_is_noted() {
    let listings = [listing("l", "2016-01-10", |l| usd(l, "10"))];
    let feedback = [fb("f1", "p1", "2016-01-10", "great", "2016-02-01"), fb("f2", "p1", "2016-01-10", "fine", "3 days ago")];
    let u = run(&listings, &feedback, &Rates::default());
    let notes: Vec<(&str, &str)> = u.problems.iter().map(|p| (p.id.as_str(), p.message.as_str())).collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].0, "f1");
    assert!(notes[0].1.contains("after the day it was seen (2016-01-10)"), "{notes:?}");
    assert_eq!(only(&aggregate(&u.units, GroupBy::Vendor, None, None), Method::FeedbackCount).sales_lower, 2.0);
}
