//! The HTML report escapes captured strings and cites evidence.

use model::{Listing, Money, PageType, Provenance, Sha256, Vendor};
use report::{case_report_html, EvidenceEntry, ReportOptions};
use store::{CaseStore, PageRecords, PageRow, SqliteStore};

fn store_with(title: &str, vendor: &str, bytes: &[u8], fpr: &str) -> (SqliteStore, Sha256) {
    let mut s = SqliteStore::in_memory().unwrap();
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
    (s, ev)
}

#[test]
fn hostile_strings_are_escaped_and_evidence_is_indexed() {
    let (s, ev) = store_with("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", b"page", "ABCD");
    let entries = vec![EvidenceEntry {
        sha256: ev.to_hex(),
        url: Some("http://example.onion/\"><script>".into()),
        source: None,
        captured_at: Some("2020-01-01T00:00:00Z".into()),
    }];
    let html = case_report_html(&s, &entries, &ReportOptions { title: "T".into(), ..Default::default() }).unwrap();
    assert!(!html.contains("<script>"), "raw script tag in report");
    assert!(!html.contains("<img src=x"), "raw img tag in report");
    assert!(html.contains("&lt;script&gt;alert(1)"), "title missing or not escaped");
    assert!(html.contains(&format!("id=\"ev-{}\"", ev.to_hex())), "evidence index lacks the cited record");
}

#[test]
fn report_is_reproducible() {
    let (s, ev) = store_with("t", "v", b"p", "F");
    let entries = vec![EvidenceEntry { sha256: ev.to_hex(), url: None, source: Some("a".into()), captured_at: None }];
    let o = ReportOptions { title: "T".into(), ..Default::default() };
    assert_eq!(case_report_html(&s, &entries, &o).unwrap(), case_report_html(&s, &entries, &o).unwrap());
}
