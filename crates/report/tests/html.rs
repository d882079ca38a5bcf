//! The HTML report escapes captured strings and cites evidence; a scoped
//! report holds only its accounts' rows; the evidence index lists exactly
//! the cited records; the CSV tables read back with their headers.

use model::{Listing, Money, PageType, Provenance, Sha256, Vendor};
use report::{
    build_from_store, case_report_html, render_html, write_csv, EvidenceEntry, FlowAddress, FlowReached, FlowTx, FlowsSection, LinkRow, LinksSection,
    Measurement, MethodEntry, ReportOptions, SalesRow, SalesTables, Scope, ScopeAccount, SignalRow,
};
use store::{CaseStore, PageRecords, PageRow, SqliteStore};

fn put(s: &mut SqliteStore, title: &str, vendor: &str, bytes: &[u8], fpr: &str) -> Sha256 {
    let ev = Sha256::of(bytes);
    let prov = Some(Provenance { evidence: ev, profile: "p".into(), rule: "records[0]:listing".into() });
    s.put_page(&PageRecords {
        page: PageRow {
            evidence: ev,
            source: Some("x".into()),
            url: None,
            captured_at: None,
            market: Some("m".into()),
            profile: "p".into(),
            page_type: PageType::Vendor,
            encoding: "UTF-8".into(),
            diagnostics: vec![],
            extracted_by: "t".into(),
        },
        listings: vec![Listing {
            market: "m".into(),
            title: title.into(),
            vendor: Some(vendor.into()),
            price: Some(Money { amount: "1.5".into(), currency: "USD".into() }),
            provenance: prov.clone(),
            ..Default::default()
        }],
        vendors: vec![Vendor {
            market: "m".into(),
            name: vendor.into(),
            pgp_fingerprint: Some(fpr.into()),
            provenance: prov,
            ..Default::default()
        }],
        feedback: vec![],
        categories: vec![],
        identifiers: vec![],
    })
    .unwrap();
    ev
}

fn store_with(title: &str, vendor: &str, bytes: &[u8], fpr: &str) -> (SqliteStore, Sha256) {
    let mut s = SqliteStore::in_memory().unwrap();
    let ev = put(&mut s, title, vendor, bytes, fpr);
    (s, ev)
}

fn entry(ev: &Sha256) -> EvidenceEntry {
    EvidenceEntry { sha256: ev.to_hex(), url: Some(format!("http://m.onion/{}", &ev.to_hex()[..8])), source: None, captured_at: None, captured_at_is_file_time: false, market: None, problem: None }
}

#[test]
fn hostile_strings_are_escaped_and_evidence_is_indexed() {
    let (s, ev) = store_with("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", b"page", "ABCD");
    let entries = vec![EvidenceEntry {
        sha256: ev.to_hex(),
        url: Some("http://example.onion/\"><script>".into()),
        source: None,
        captured_at: Some("2020-01-01T00:00:00Z".into()),
        captured_at_is_file_time: false,
        market: Some("<b>m</b>".into()),
        problem: None,
    }];
    let hostile = "<script>x()</script>";
    let opts = ReportOptions {
        title: "T".into(),
        links: LinksSection {
            model: Some("linking-logreg-1 abc".into()),
            threshold: 0.5,
            note: "n".into(),
            rows: vec![LinkRow {
                id: "K-1".into(),
                a: hostile.into(),
                b: "m/b".into(),
                signals: vec![SignalRow { name: "name".into(), value: 1.0, detail: hostile.into(), ..Default::default() }],
                decision: "rejected".into(),
                decided_by: Some("a".into()),
                decided_at: Some("t".into()),
                why: Some(hostile.into()),
                ..Default::default()
            }],
        },
        flows: FlowsSection {
            available: true,
            rows: vec![FlowAddress {
                address: "a".into(),
                reached: vec![FlowReached { labels: vec![hostile.into()], tag_sources: vec![hostile.into()], ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        },
        methods: vec![MethodEntry { name: "m".into(), parameters: hostile.into(), ..Default::default() }],
        ..Default::default()
    };
    let html = case_report_html(&s, &entries, &opts).unwrap();
    assert!(!html.contains("<script"), "raw script tag in report");
    assert!(!html.contains("<img src=x"), "raw img tag in report");
    assert!(html.contains("&lt;script&gt;alert(1)"), "title missing or not escaped");
    assert!(html.contains("&lt;script&gt;x()"), "link, flow or method strings missing or not escaped");
    assert!(html.contains(&format!("id=\"ev-{}\"", ev.to_hex())), "evidence index lacks the cited record");
    assert!(!html.contains("<b>m</b>") && html.contains("<td>&lt;b&gt;m&lt;&#x2f;b&gt;</td>"), "the index's market missing or not escaped");
}

/// A capture time that is a file's modification time is marked in the
/// evidence index, with a note saying what that time is; others are not.
#[test]
fn a_capture_time_taken_from_the_file_is_marked() {
    let (s, ev) = store_with("t", "v", b"p", "F");
    let entry = |file_time: bool| EvidenceEntry {
        sha256: ev.to_hex(),
        url: None,
        source: Some("a".into()),
        captured_at: Some("2026-12-08T00:49:43Z".into()),
        captured_at_is_file_time: file_time,
        market: None,
        problem: None,
    };
    let o = ReportOptions { title: "T".into(), ..Default::default() };
    let html = case_report_html(&s, &[entry(true)], &o).unwrap();
    assert!(html.contains("<td>2026-12-08T00:49:43Z (file modified)</td>"), "{html}");
    assert!(html.contains("is the imported file's modification time"));
    let html = case_report_html(&s, &[entry(false)], &o).unwrap();
    assert!(html.contains("<td>2026-12-08T00:49:43Z</td>") && !html.contains("file modified"));
}

#[test]
fn report_is_reproducible() {
    let (s, ev) = store_with("t", "v", b"p", "F");
    let entries = vec![EvidenceEntry { sha256: ev.to_hex(), url: None, source: Some("a".into()), captured_at: None, captured_at_is_file_time: false, market: None, problem: None }];
    let o = ReportOptions { title: "T".into(), ..Default::default() };
    assert_eq!(case_report_html(&s, &entries, &o).unwrap(), case_report_html(&s, &entries, &o).unwrap());
}

#[test]
fn a_scoped_report_holds_only_its_accounts_and_indexes_exactly_what_it_cites() {
    let mut s = SqliteStore::in_memory().unwrap();
    let mine = put(&mut s, "title of mine", "Alice", b"alice page", "AAAA");
    let theirs = put(&mut s, "title of theirs", "Mallory", b"mallory page", "BBBB");
    let unrelated = Sha256::of(b"never cited");
    let sales_page = Sha256::of(b"sales page");
    let entries = vec![entry(&mine), entry(&theirs), entry(&unrelated), entry(&sales_page)];
    let opts = ReportOptions {
        title: "Alice".into(),
        scope: Some(Scope {
            vendor: "Alice".into(),
            accounts: vec![ScopeAccount { account: "m/Alice".into(), market: "m".into(), name: "Alice".into(), joined_by: "name matches".into() }],
            rule: "r".into(),
        }),
        sales: Some(SalesTables {
            by_vendor: vec![SalesRow { group: "m / Alice".into(), method: "feedback_count".into(), evidence: vec![sales_page.to_hex()], ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let data = build_from_store(&s, &entries, &opts).unwrap();
    assert_eq!(data.dossiers.len(), 1);
    assert_eq!(data.dossiers[0].account, "m/Alice");
    assert_eq!(data.listings.len(), 1);
    let index: Vec<&str> = data.evidence_index.iter().map(|e| e.sha256.as_str()).collect();
    assert_eq!(index, vec![mine.to_hex(), sales_page.to_hex()], "exactly the cited records, in store order");
    let html = render_html(&data).unwrap();
    assert!(html.contains("title of mine") && html.contains("Alice"));
    assert!(!html.contains("Mallory") && !html.contains("title of theirs"), "another vendor's rows in a scoped report");
    assert!(!html.contains(&theirs.to_hex()) && !html.contains(&unrelated.to_hex()), "an uncited record in the index");

    // The whole case: both vendors, and both pages cited.
    let all = build_from_store(&s, &entries, &ReportOptions::default()).unwrap();
    assert_eq!(all.dossiers.len(), 2);
    assert_eq!(all.evidence_index.len(), 2);
}

#[test]
fn csv_tables_read_back_with_headers_and_one_row_per_item() {
    let mut s = SqliteStore::in_memory().unwrap();
    let a = put(&mut s, "t, with \"quotes\"\nand a line", "Alice", b"a", "AAAA");
    let b = put(&mut s, "u", "Bob", b"b", "BBBB");
    let entries = vec![entry(&a), entry(&b)];
    let opts = ReportOptions {
        sales: Some(SalesTables {
            by_vendor: vec![SalesRow { group: "m / Alice".into(), method: "feedback_count".into(), evidence: vec![a.to_hex()], ..Default::default() }],
            by_month: vec![SalesRow { group: "2020-01".into(), method: "feedback_count".into(), evidence: vec![a.to_hex()], ..Default::default() }],
            ..Default::default()
        }),
        links: LinksSection {
            rows: vec![LinkRow {
                id: "K-1".into(),
                a: "m/Alice".into(),
                b: "m/Bob".into(),
                decision: "undecided".into(),
                signals: vec![SignalRow { name: "pgp".into(), value: 1.0, evidence: vec![a.to_hex(), b.to_hex()], ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        },
        flows: FlowsSection {
            available: true,
            policy: "forward, poison".into(),
            rows: vec![
                FlowAddress {
                    address: "addr1".into(),
                    evidence: vec![a.to_hex()],
                    reached: vec![
                        FlowReached { cluster: "cluster:1".into(), labels: vec!["Exchange, \"X\"".into()], txs: vec![FlowTx { txid: "ab".into(), ..Default::default() }], ..Default::default() },
                        FlowReached { cluster: "cluster:2".into(), ..Default::default() },
                    ],
                    ..Default::default()
                },
                FlowAddress { address: "addr2".into(), evidence: vec![b.to_hex()], ..Default::default() },
            ],
            ..Default::default()
        },
        methods: vec![MethodEntry {
            name: "x".into(),
            measurements: vec![Measurement { figure: "f".into(), value: "1".into(), ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let data = build_from_store(&s, &entries, &opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = write_csv(&data, dir.path()).unwrap();
    assert_eq!(files.len(), report::CSV_FILES.len());
    let read = |name: &str| -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = csv::Reader::from_path(dir.path().join(name)).unwrap();
        let h = r.headers().unwrap().iter().map(str::to_owned).collect();
        let rows = r.records().map(|x| x.unwrap().iter().map(str::to_owned).collect()).collect();
        (h, rows)
    };
    let (h, rows) = read("vendors.csv");
    assert_eq!(h.first().map(String::as_str), Some("account"));
    assert_eq!(h.last().map(String::as_str), Some("evidence_sha256"));
    assert_eq!(rows.len(), 2);
    let (_, rows) = read("sales.csv");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], "by_vendor");
    let (h, rows) = read("links.csv");
    assert_eq!(rows.len(), 1);
    let ev_col = h.iter().position(|c| c == "evidence_sha256").unwrap();
    assert_eq!(rows[0][ev_col], format!("{} {}", a.to_hex(), b.to_hex()).split(' ').collect::<std::collections::BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(" "));
    let (h, rows) = read("flows.csv");
    assert_eq!(rows.len(), 3, "two clusters reached from addr1, none from addr2");
    let labels = h.iter().position(|c| c == "labels").unwrap();
    assert_eq!(rows[0][labels], "Exchange, \"X\"", "quoting round-trips");
    let (h, rows) = read("evidence_index.csv");
    assert_eq!(h, vec!["sha256", "market", "url", "source", "captured_at", "captured_at_is_file_time", "check"]);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| &r[5] == "false" && &r[6] == "not checked"), "no evidence check was given");
    // The listing title with a comma, quotes and a newline is in the HTML
    // only; the CSV files are RFC 4180 (CRLF line ends).
    let raw = std::fs::read_to_string(dir.path().join("evidence_index.csv")).unwrap();
    assert!(raw.starts_with("sha256,market,url,source,captured_at,captured_at_is_file_time,check\r\n"), "{raw:?}");
}

/// Feedback counted by the caller (`ReportOptions::feedback_counts`, as a
/// case of millions of rows passes them) gives the report the counts it
/// makes of the rows themselves: per market (rows naming no vendor too),
/// per account (names trimmed: ` Alice ` is `Alice`), in all, and in a
/// vendor report only its accounts'.
#[test]
fn feedback_counted_by_the_caller_is_counted_as_the_rows() {
    use model::{Feedback, Records, Row};
    let spellings: [(&str, Option<&str>, usize); 5] = [("m", Some("Alice"), 3), ("m", Some(" Alice "), 2), ("m", None, 4), ("n", Some("Bob"), 1), ("n", Some("Alice"), 5)];
    let feedback: Vec<(String, Feedback)> = spellings
        .iter()
        .flat_map(|&(market, vendor, n)| {
            (0..n).map(move |i| (format!("F-{market}-{}-{i}", vendor.unwrap_or("none").trim()), Feedback { market: market.into(), vendor: vendor.map(Into::into), ..Default::default() }))
        })
        .collect();
    let counts: std::collections::BTreeMap<(String, Option<String>), u64> =
        spellings.iter().map(|&(m, v, n)| ((m.to_owned(), v.map(str::to_owned)), n as u64)).collect();
    let rows = || Records { feedback: feedback.iter().map(|(id, record)| Row::new(id, record)).collect(), ..Records::default() };
    let alice = Scope {
        vendor: "Alice".into(),
        accounts: vec![ScopeAccount { account: "m/Alice".into(), market: "m".into(), name: "Alice".into(), joined_by: "name matches".into() }],
        rule: "accounts of that name".into(),
    };
    for scope in [None, Some(alice)] {
        let opts = ReportOptions { title: "T".into(), scope: scope.clone(), ..Default::default() };
        let from_rows = report::build(&rows(), &[], &[], &opts).unwrap();
        // The caller's counts with no rows at all (a whole case), or with
        // the scope's rows (which name its pages).
        let given = ReportOptions { feedback_counts: Some(counts.clone()), ..opts };
        let records = if scope.is_some() { rows() } else { Records::default() };
        let from_counts = report::build(&records, &[], &[], &given).unwrap();
        let markets = |d: &report::ReportData| d.markets.iter().map(|m| (m.market.clone(), m.feedback)).collect::<Vec<_>>();
        let accounts = |d: &report::ReportData| d.dossiers.iter().map(|a| (a.account.clone(), a.feedback)).collect::<Vec<_>>();
        assert_eq!(markets(&from_counts), markets(&from_rows));
        assert_eq!(accounts(&from_counts), accounts(&from_rows));
        assert_eq!(from_counts.counts.feedback, from_rows.counts.feedback);
        match scope {
            None => {
                assert_eq!(markets(&from_rows), vec![("m".to_owned(), 9), ("n".to_owned(), 6)]);
                assert_eq!(from_rows.counts.feedback, 15);
            }
            Some(_) => {
                assert_eq!(accounts(&from_rows), vec![("m/Alice".to_owned(), 5)]);
                assert_eq!(from_rows.counts.feedback, 5);
            }
        }
    }
}

#[test]
fn a_row_with_no_sale_priced_shows_no_revenue_figure() {
    let (s, a) = store_with("t", "Alice", b"a", "AAAA");
    let row = |group: &str, method: &str, unpriced: f64, revenue: f64| SalesRow {
        group: group.into(),
        method: method.into(),
        sales: 9.0,
        sales_lower: 9.0,
        revenue_usd: revenue,
        revenue_usd_lower: revenue,
        unpriced,
        evidence: vec![a.to_hex()],
        ..Default::default()
    };
    let opts = ReportOptions {
        sales: Some(SalesTables {
            // A counter without prices, and a row with some sales priced.
            by_vendor: vec![row("m / Alice", "vendor_counter", 9.0, 0.0), row("m / Alice", "feedback_count", 4.0, 123.45)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let html = render_html(&build_from_store(&s, &[entry(&a)], &opts).unwrap()).unwrap();
    // The unpriced row says so instead of $0.00; the partly priced one keeps its figures.
    assert_eq!(html.matches("n/a (no sale priced)").count(), 1, "{html}");
    assert!(!html.contains(">0.00<"), "an unpriced row shows revenue 0.00");
    assert!(html.contains(">123.45<"));
}

/// How many of a row's sales are undated is shown beside its days (the
/// report had left the count out; found by a review).
#[test]
fn undated_sales_are_counted_beside_the_days() {
    let (s, a) = store_with("t", "Alice", b"a", "AAAA");
    let row = |undated: f64| SalesRow {
        group: "m / Alice".into(),
        method: "feedback_count".into(),
        sales: 25.0,
        sales_lower: 25.0,
        undated,
        days: "unknown..2020-04-20".into(),
        evidence: vec![a.to_hex()],
        ..Default::default()
    };
    let opts = ReportOptions { sales: Some(SalesTables { by_vendor: vec![row(10.0)], ..Default::default() }), ..Default::default() };
    let html = render_html(&build_from_store(&s, &[entry(&a)], &opts).unwrap()).unwrap();
    assert!(html.contains("unknown..2020-04-20 (10.0 undated)"), "{html}");
    let opts = ReportOptions { sales: Some(SalesTables { by_vendor: vec![row(0.0)], ..Default::default() }), ..Default::default() };
    let html = render_html(&build_from_store(&s, &[entry(&a)], &opts).unwrap()).unwrap();
    assert!(!html.contains(" undated)"), "no count when none is undated");
}

/// A stored page no market was recognised in (a README beside the pages)
/// has a Markets row of its own: the rows add up to the pages stored (it
/// was left out of every row).
#[test]
fn pages_of_no_market_are_counted_in_the_markets_table() {
    let (mut s, ev) = store_with("t", "v", b"p", "F");
    let readme = Sha256::of(b"readme");
    s.put_page(&PageRecords {
        page: PageRow {
            evidence: readme,
            source: Some("SOURCE_README.md".into()),
            url: None,
            captured_at: None,
            market: None,
            profile: "generic".into(),
            page_type: PageType::Unknown,
            encoding: "UTF-8".into(),
            diagnostics: vec![],
            extracted_by: "t".into(),
        },
        listings: vec![],
        vendors: vec![],
        feedback: vec![],
        categories: vec![],
        identifiers: vec![],
    })
    .unwrap();
    let html = case_report_html(&s, &[entry(&ev), entry(&readme)], &ReportOptions { title: "T".into(), ..Default::default() }).unwrap();
    let row = |m: &str| format!("<tr><td>{m}</td><td class=\"n\">1</td>");
    assert!(html.contains(&row("m")), "{html}");
    assert!(html.contains(&row(report::NO_MARKET)), "the README's page is in no row");
}
