//! Store round trips: what goes in comes out, re-extraction replaces rows,
//! ids are stable, migrations are versioned.

use model::{Identifier, IdentifierKind, Listing, Money, PageType, Provenance, Sha256, Vendor};
use store::{AnyRecord, CaseStore, Filter, PageRecords, PageRow, RowId, RowKind, SqliteStore};

fn prov(ev: Sha256, rule: &str) -> Option<Provenance> {
    Some(Provenance { evidence: ev, profile: "test".into(), rule: rule.into() })
}

fn page(bytes: &[u8], n_listings: usize) -> PageRecords {
    let ev = Sha256::of(bytes);
    PageRecords {
        page: PageRow {
            evidence: ev,
            source: Some("dir/page.html".into()),
            url: None,
            captured_at: Some("2020-01-01T00:00:00Z".into()),
            market: Some("test".into()),
            profile: "test".into(),
            page_type: PageType::Search,
            encoding: "UTF-8".into(),
            diagnostics: vec!["note".into()],
            extracted_by: "dragnet 0.0.0".into(),
        },
        listings: (0..n_listings)
            .map(|i| Listing {
                market: "test".into(),
                title: format!("item {i}"),
                vendor: Some("alice".into()),
                category: vec!["Drugs".into(), "Cannabis".into()],
                price: Some(Money { amount: "12.50".into(), currency: "USD".into() }),
                ships_to: vec!["DE".into(), "FR".into()],
                sold: Some(7),
                // Photo hashes on the first listing only: a list and none.
                photos: if i == 0 { vec!["f0e1d2c3b4a59687".into(), "0011223344556677".into()] } else { vec![] },
                provenance: prov(ev, "records[0]:listing"),
                ..Default::default()
            })
            .collect(),
        vendors: vec![Vendor {
            market: "test".into(),
            name: "alice".into(),
            pgp_fingerprint: Some("A".repeat(40)),
            contacts: vec!["jabber:alice@example.org".into()],
            provenance: prov(ev, "records[1]:vendor"),
            ..Default::default()
        }],
        feedback: vec![],
        categories: vec![],
        identifiers: vec![Identifier {
            kind: IdentifierKind::Email,
            value: "alice@example.org".into(),
            detail: None,
            pgp: None,
            provenance: prov(ev, "identifier/email"),
        }],
    }
}

#[test]
fn records_round_trip_with_provenance() {
    let mut s = SqliteStore::in_memory().unwrap();
    let p = page(b"one", 2);
    s.put_page(&p).unwrap();
    let listings = s.listings(&Filter::default()).unwrap();
    assert_eq!(listings.len(), 2);
    assert_eq!(listings[0].record, p.listings[0]);
    assert_eq!(listings[1].record, p.listings[1]);
    assert_eq!(listings[0].record.photos.len(), 2);
    assert_eq!(listings[0].id, RowId::new(RowKind::Listing, &p.page.evidence, 0));
    let vendors = s.vendors(&Filter { vendor: Some("alice".into()), ..Default::default() }).unwrap();
    assert_eq!(vendors[0].record, p.vendors[0]);
    assert_eq!(s.page(&p.page.evidence).unwrap().unwrap(), p.page);
    match s.row(&vendors[0].id).unwrap() {
        Some(AnyRecord::Vendor(v)) => assert_eq!(v.provenance, p.vendors[0].provenance),
        other => panic!("wrong row: {other:?}"),
    }
}

#[test]
fn re_extracting_a_page_replaces_its_rows() {
    let mut s = SqliteStore::in_memory().unwrap();
    assert_eq!(s.generation().unwrap(), 0);
    s.put_page(&page(b"one", 3)).unwrap();
    s.put_page(&page(b"one", 1)).unwrap();
    s.put_page(&page(b"two", 2)).unwrap();
    // Every stored page is a change derived data must see, a replacement too.
    assert_eq!(s.generation().unwrap(), 3);
    let c = s.counts().unwrap();
    assert_eq!((c.pages, c.listings, c.vendors, c.identifiers), (2, 3, 2, 2));
}

#[test]
fn schema_is_versioned_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.sqlite");
    {
        let mut s = SqliteStore::open(&path).unwrap();
        s.put_page(&page(b"x", 1)).unwrap();
        assert!(s.schema_version().unwrap() >= 1);
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.counts().unwrap().listings, 1);
    // A file from a newer dragnet is refused, not silently misread.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).err().expect("newer schema must be refused");
    assert!(err.to_string().contains("999"), "{err}");
}

/// Whole-table reads sort in memory, limited reads in SQLite: both give the
/// documented order (listings by market, title, id; feedback by market,
/// vendor, id, a missing vendor first), and `feedback_dates` gives the same
/// rows as `feedback` with only market, vendor and date.
#[test]
fn whole_and_limited_reads_agree_on_order() {
    let mut s = SqliteStore::in_memory().unwrap();
    for (n, bytes) in [b"p1".as_slice(), b"p2", b"p3"].into_iter().enumerate() {
        let mut p = page(bytes, 3);
        let ev = p.page.evidence;
        for (i, l) in p.listings.iter_mut().enumerate() {
            l.market = ["m-b", "m-a"][(n + i) % 2].into();
            l.title = format!("t{}", (7 * n + 3 * i) % 5);
        }
        p.feedback = (0..4)
            .map(|i| model::Feedback {
                market: ["m-b", "m-a"][(n + i) % 2].into(),
                vendor: [Some("zed"), None, Some("amy"), Some("Bob")][(n + i) % 4].map(str::to_owned),
                date: Some(format!("2020-01-0{}", 1 + i)),
                text: Some(format!("text {n}/{i}")),
                buyer: Some("b***r".into()),
                provenance: prov(ev, "feedback"),
                ..Default::default()
            })
            .collect();
        s.put_page(&p).unwrap();
    }
    let all = Filter::default();
    let limited = Filter { limit: Some(1000), ..Filter::default() };
    let listings = s.listings(&all).unwrap();
    let keys: Vec<_> = listings.iter().map(|l| (l.record.market.clone(), l.record.title.clone(), l.id.to_string())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "listings out of order");
    assert_eq!(listings, s.listings(&limited).unwrap());
    let feedback = s.feedback(&all).unwrap();
    assert_eq!(feedback.len(), 12);
    let keys: Vec<_> = feedback.iter().map(|f| (f.record.market.clone(), f.record.vendor.clone(), f.id.to_string())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "feedback out of order");
    assert_eq!(feedback[0].record.vendor, None, "a missing vendor sorts first");
    assert_eq!(feedback, s.feedback(&limited).unwrap());
    let dates = s.feedback_dates(&all).unwrap();
    assert_eq!(dates, s.feedback_dates(&limited).unwrap());
    let projected: Vec<_> = feedback
        .iter()
        .map(|f| (f.id.clone(), model::Feedback { market: f.record.market.clone(), vendor: f.record.vendor.clone(), date: f.record.date.clone(), ..Default::default() }))
        .collect();
    let got: Vec<_> = dates.into_iter().map(|f| (f.id, f.record)).collect();
    assert_eq!(got, projected);
    // The distinct accounts of the feedback, a missing vendor included.
    let mut expected: Vec<(String, Option<String>)> = feedback.iter().map(|f| (f.record.market.clone(), f.record.vendor.clone())).collect();
    expected.dedup();
    assert_eq!(expected.len(), 4);
    assert_eq!(s.feedback_accounts().unwrap(), expected);
}
