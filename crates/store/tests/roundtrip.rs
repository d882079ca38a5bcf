//! Store round trips: what goes in comes out, re-extraction replaces rows,
//! ids are stable, migrations are versioned.

use model::{Identifier, IdentifierKind, Listing, Money, PageType, Provenance, Sha256, Vendor};
use store::{AnyRecord, CaseStore, Filter, PageRecords, PageRow, RowId, RowKind, SqliteStore, Stored};

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

/// A dataset page's feedback is kept in chunks, a page's as table rows: the
/// same records read back the same either way, through every read (whole,
/// filtered, limited, dates only, by id, counts, accounts), and storing the
/// page again replaces its chunks.
#[test]
fn chunked_dataset_feedback_reads_like_table_rows() {
    fn records(page_type: PageType, pages: &[&[u8]]) -> Vec<PageRecords> {
        pages
            .iter()
            .enumerate()
            .map(|(n, bytes)| {
                let mut p = page(bytes, 2);
                p.page.page_type = page_type;
                let ev = p.page.evidence;
                p.feedback = (0..40)
                    .map(|i| model::Feedback {
                        market: ["m-b", "m-a"][(n + i) % 2].into(),
                        vendor: [Some("zed"), None, Some("amy"), Some("Bob"), Some("")][(n + i) % 5].map(str::to_owned),
                        listing: (i % 3 > 0).then(|| format!("listing {}", i % 7)),
                        date: Some(format!("{} days ago", i)),
                        rating: (i % 2 == 0).then(|| "5/5".to_owned()),
                        text: Some(format!("text {n}/{i} ünïcode")),
                        buyer: Some("b***r".into()),
                        price: (i % 4 == 0).then(|| Money { amount: format!("0.{i}"), currency: "BTC".into() }),
                        observed_at: (i % 5 != 1).then(|| "2014-03-01".to_owned()),
                        provenance: if i == 13 { None } else { Some(Provenance { evidence: ev, profile: "dataset:test".into(), rule: format!("row {i}, line {}", i + 2) }) },
                    })
                    .collect();
                p
            })
            .collect()
    }
    let pages: [&[u8]; 2] = [b"d1", b"d2"];
    let mut chunked = SqliteStore::in_memory().unwrap();
    let mut table = SqliteStore::in_memory().unwrap();
    // Stored twice: the second time replaces the first.
    for _ in 0..2 {
        for p in records(PageType::Dataset, &pages) {
            chunked.put_page(&p).unwrap();
        }
    }
    for p in records(PageType::Search, &pages) {
        table.put_page(&p).unwrap();
    }
    assert_eq!(chunked.counts().unwrap().feedback, 80);
    assert_eq!(chunked.counts().unwrap(), table.counts().unwrap());
    assert_eq!(chunked.feedback_accounts().unwrap(), table.feedback_accounts().unwrap());
    for f in [
        Filter::default(),
        Filter { limit: Some(7), ..Filter::default() },
        Filter { market: Some("m-a".into()), ..Filter::default() },
        Filter { market: Some("m-b".into()), vendor: Some("amy".into()), ..Filter::default() },
        Filter { vendor: Some("".into()), ..Filter::default() },
        Filter { market: Some("m-a".into()), vendor: Some("nobody".into()), ..Filter::default() },
    ] {
        let rows = chunked.feedback(&f).unwrap();
        assert_eq!(rows, table.feedback(&f).unwrap(), "{f:?}");
        assert_eq!(chunked.feedback_dates(&f).unwrap(), table.feedback_dates(&f).unwrap(), "{f:?}");
        // Rows kept by a caller's test: in both forms, the dates read with
        // the others left out before the limit.
        let keep = |m: &str, v: Option<&str>, d: Option<&str>| m == "m-a" || v == Some("Bob") || d.is_some_and(|d| d.starts_with('3'));
        let all = chunked.feedback_dates(&Filter { limit: None, ..f.clone() }).unwrap();
        let mut want: Vec<_> = all.into_iter().filter(|s| keep(&s.record.market, s.record.vendor.as_deref(), s.record.date.as_deref())).collect();
        want.truncate(f.limit.unwrap_or(usize::MAX));
        assert!(!want.is_empty() || f.vendor.is_some(), "{f:?}");
        for store in [&chunked, &table] {
            let mut asked = 0;
            let kept = store.feedback_dates_where(&f, &mut |m, v, d| {
                asked += 1;
                keep(m, v, d)
            });
            assert_eq!(kept.unwrap(), want, "{f:?}");
            assert!(asked >= want.len(), "{f:?}");
        }
        // Read in place, borrowed: the same rows, ids and order (ordinals 10
        // and up sort before 2..9, as the ids' text does).
        for store in [&chunked, &table] {
            let deferred = store.feedback_deferred(&f).unwrap();
            let borrowed: Vec<Stored<model::Feedback>> = deferred.borrowed().unwrap().iter().map(owned).collect();
            assert_eq!(borrowed, store.feedback(&f).unwrap(), "{f:?}");
        }
    }
    let all = table.feedback(&Filter::default()).unwrap();
    assert_eq!(all.len(), 80);
    for f in &all {
        assert_eq!(chunked.row(&f.id).unwrap(), Some(AnyRecord::Feedback(f.record.clone())), "{}", f.id);
    }
    let missing = RowId::new(RowKind::Feedback, &Sha256::of(b"d1"), 40);
    assert_eq!(chunked.row(&missing).unwrap(), None);
    // A page of another type stored under the same evidence replaces the chunks.
    let mut again = records(PageType::Search, &pages[..1]);
    again[0].feedback.truncate(3);
    chunked.put_page(&again[0]).unwrap();
    assert_eq!(chunked.counts().unwrap().feedback, 43);
}

/// A store file holding one dataset page (evidence `d`) with `feedback`.
fn stored_dataset(feedback: Vec<model::Feedback>) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.sqlite");
    let mut p = page(b"d", 0);
    p.page.page_type = PageType::Dataset;
    p.feedback = feedback;
    SqliteStore::open(&path).unwrap().put_page(&p).unwrap();
    (dir, path)
}

/// Chunks are stored compressed; a chunk stored plain (before compression)
/// still reads the same, and a chunk of an unknown compression or with a
/// length it cannot hold is an error naming the page.
#[test]
fn compressed_and_plain_chunks_read_the_same() {
    let (_dir, path) = stored_dataset(
        (0..300)
            .map(|i| model::Feedback {
                market: "m".into(),
                vendor: Some("v".into()),
                text: Some(format!("fast and discreet #{}", i % 7)),
                listing: Some("10g of something".into()),
                ..Default::default()
            })
            .collect(),
    );
    let want = SqliteStore::open(&path).unwrap().feedback(&Filter::default()).unwrap();
    assert_eq!(want.len(), 300);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (stored, compression): (Vec<u8>, Option<String>) =
        conn.query_row("SELECT data, compression FROM feedback_chunks", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(compression.as_deref(), Some("lz4"));
    let plain = lz4_flex::block::decompress_size_prepended(&stored).unwrap();
    assert!(stored.len() * 4 < plain.len(), "{} stored for {} plain", stored.len(), plain.len());
    conn.execute("UPDATE feedback_chunks SET data = ?1, compression = NULL", [&plain]).unwrap();
    assert_eq!(SqliteStore::open(&path).unwrap().feedback(&Filter::default()).unwrap(), want);
    let damaged = |data: &[u8], compression: &str, says: &str| {
        conn.execute("UPDATE feedback_chunks SET data = ?1, compression = ?2", rusqlite::params![data, compression]).unwrap();
        let s = SqliteStore::open(&path).unwrap();
        for err in [s.feedback(&Filter::default()).unwrap_err(), s.feedback_deferred(&Filter::default()).unwrap().borrowed().unwrap_err()] {
            let text = err.to_string();
            assert!(text.contains(&Sha256::of(b"d").to_hex()) && text.contains(says), "{text}");
        }
    };
    damaged(&stored, "zstd", "unknown compression");
    // 4 GiB claimed from 1 byte: refused before allocating.
    damaged(&[0xff, 0xff, 0xff, 0xff, 0x00], "lz4", "claims");
    damaged(&stored[..stored.len() - 3], "lz4", "feedback chunk");
}

/// A dataset page stored with its listings and feedback encoded apart (on
/// an extracting thread) reads back exactly as one stored whole; an
/// encoding of another page, of a page that is not a dataset, or beside
/// listing or feedback rows still in the records is refused.
#[test]
fn rows_encoded_apart_store_as_put_page_does() {
    let mut p = page(b"d", 30);
    p.page.page_type = PageType::Dataset;
    p.feedback = (0..25)
        .map(|i| model::Feedback {
            market: "m".into(),
            vendor: [Some("v"), None, Some("w")][i % 3].map(str::to_owned),
            text: Some(format!("text {i}")),
            provenance: Some(Provenance { evidence: p.page.evidence, profile: "dataset:test".into(), rule: format!("row {i}") }),
            ..Default::default()
        })
        .collect();
    let mut whole = SqliteStore::in_memory().unwrap();
    whole.put_page(&p).unwrap();
    let mut apart = SqliteStore::in_memory().unwrap();
    let encode = |rec: &PageRecords, ev: &Sha256| store::EncodedRows::encode(ev, &rec.listings, &rec.feedback).unwrap();
    let encoded = encode(&p, &p.page.evidence);
    assert_eq!((encoded.listing_rows(), encoded.feedback_rows()), (30, 25));
    let mut without = p.clone();
    without.feedback.clear();
    without.listings.clear();
    apart.put_page_encoded(&without, encoded).unwrap();
    assert_eq!(apart.feedback(&Filter::default()).unwrap(), whole.feedback(&Filter::default()).unwrap());
    assert_eq!(apart.counts().unwrap(), whole.counts().unwrap());
    assert_eq!(apart.listings(&Filter::default()).unwrap(), whole.listings(&Filter::default()).unwrap());
    assert!(apart.put_page_encoded(&without, encode(&p, &Sha256::of(b"other"))).is_err());
    let mut with_feedback = without.clone();
    with_feedback.feedback = p.feedback.clone();
    assert!(apart.put_page_encoded(&with_feedback, encode(&p, &p.page.evidence)).is_err(), "records still holding feedback");
    let mut with_listings = without.clone();
    with_listings.listings = p.listings.clone();
    assert!(apart.put_page_encoded(&with_listings, encode(&p, &p.page.evidence)).is_err(), "records still holding listings");
    let mut not_dataset = without.clone();
    not_dataset.page.page_type = PageType::Search;
    assert!(apart.put_page_encoded(&not_dataset, encode(&p, &p.page.evidence)).is_err());
    assert_eq!(apart.feedback(&Filter::default()).unwrap(), whole.feedback(&Filter::default()).unwrap(), "a refusal changes nothing");
    assert_eq!(apart.listings(&Filter::default()).unwrap(), whole.listings(&Filter::default()).unwrap(), "a refusal changes nothing");
}

/// Rows in the order of `listings`: market, title, id.
fn sorted(mut rows: Vec<Stored<Listing>>) -> Vec<Stored<Listing>> {
    rows.sort_by(|a, b| (&a.record.market, &a.record.title, a.id.as_str()).cmp(&(&b.record.market, &b.record.title, b.id.as_str())));
    rows
}

/// Listings of several markets and vendors (and none), for the chunk tests.
fn varied_listings(ev: Sha256, n: usize) -> Vec<Listing> {
    (0..n)
        .map(|i| Listing {
            market: ["a", "b"][i % 2].into(),
            title: format!("item {} of {}", (i * 7919) % n, i % 13),
            vendor: [Some("alice"), Some("bob"), None][i % 3].map(str::to_owned),
            category: vec!["Drugs".into()],
            price: (i % 4 != 0).then(|| Money { amount: format!("{}.5", i % 90), currency: "USD".into() }),
            sold: (i % 5 == 0).then_some(i as u64),
            photos: if i % 11 == 0 { vec![format!("{i:016x}")] } else { vec![] },
            provenance: prov(ev, &format!("row {i}")),
            ..Default::default()
        })
        .collect()
}

/// The listings of a dataset page, kept in chunks, read as the same
/// listings of another page kept as table rows: whole, by market, by
/// vendor, limited, by id, counted, merged with table rows in order, and
/// gone when the page is stored again without them.
#[test]
fn chunked_listings_read_as_table_listings() {
    let (ev, other) = (Sha256::of(b"d"), Sha256::of(b"other"));
    let mut as_table = page(b"d", 0);
    as_table.listings = varied_listings(ev, 400);
    let mut as_chunks = as_table.clone();
    as_chunks.page.page_type = PageType::Dataset;
    let mut table = SqliteStore::in_memory().unwrap();
    table.put_page(&as_table).unwrap();
    let mut chunked = SqliteStore::in_memory().unwrap();
    chunked.put_page(&as_chunks).unwrap();
    for store in [&mut table, &mut chunked] {
        // Table rows of another page, to be merged with the chunk rows.
        let mut p = page(b"other", 0);
        p.listings = varied_listings(other, 50);
        store.put_page(&p).unwrap();
    }
    let filters = [
        Filter::default(),
        Filter { market: Some("a".into()), ..Filter::default() },
        Filter { vendor: Some("bob".into()), ..Filter::default() },
        Filter { market: Some("b".into()), vendor: Some("alice".into()), ..Filter::default() },
        Filter { limit: Some(17), ..Filter::default() },
        Filter { market: Some("a".into()), limit: Some(40), ..Filter::default() },
    ];
    for f in &filters {
        let want = table.listings(f).unwrap();
        assert!(!want.is_empty(), "{f:?}");
        assert_eq!(chunked.listings(f).unwrap(), want, "{f:?}");
        // Unordered: the same rows (all of them, a limit aside).
        let all = table.listings(&Filter { limit: None, ..f.clone() }).unwrap();
        for store in [&table, &chunked] {
            let unordered = store.listings_unordered(f).unwrap();
            // Made into a reader's rows as read: the same rows, in the same order.
            let made = store.listings_unordered_as(f, |s| (s.id.as_str().to_owned(), s.record.title)).unwrap();
            assert_eq!(made, unordered.iter().map(|s| (s.id.as_str().to_owned(), s.record.title.clone())).collect::<Vec<_>>(), "{f:?}");
            assert_eq!(sorted(unordered), all, "{f:?}");
        }
    }
    assert_eq!(chunked.counts().unwrap(), table.counts().unwrap());
    assert_eq!(chunked.counts().unwrap().listings, 450);
    for s in table.listings(&Filter::default()).unwrap().iter().step_by(7) {
        assert_eq!(chunked.row(&s.id).unwrap(), Some(store::AnyRecord::Listing(s.record.clone())), "{}", s.id);
    }
    let missing = store::RowId::in_page(&store::RowId::page_prefix(store::RowKind::Listing, &ev), 400);
    assert_eq!(chunked.row(&missing).unwrap(), None);
    // Stored again as a page of 3 table listings: the chunks are gone.
    let mut again = page(b"d", 3);
    again.page.page_type = PageType::Search;
    chunked.put_page(&again).unwrap();
    assert_eq!(chunked.counts().unwrap().listings, 53);
}

/// A dataset page of many listings is decoded on two threads: the same
/// rows in the same order as one thread reads them one filter at a time.
#[test]
fn chunked_listings_split_between_threads_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.sqlite");
    let ev = Sha256::of(b"big");
    let mut p = page(b"big", 0);
    p.page.page_type = PageType::Dataset;
    p.listings = varied_listings(ev, 60_000);
    let mut s = SqliteStore::open(&path).unwrap();
    s.put_page(&p).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let stored: i64 = conn.query_row("SELECT SUM(length(data)) FROM listing_chunks", [], |r| r.get(0)).unwrap();
    assert!(stored > 1 << 20, "{stored} bytes stored: below the split threshold");
    let all = s.listings(&Filter::default()).unwrap();
    assert_eq!(all.len(), 60_000);
    let unordered = s.listings_unordered(&Filter::default()).unwrap();
    assert_eq!(unordered, s.listings_unordered(&Filter::default()).unwrap(), "the same store gives the same order");
    // Made into a reader's rows on both decoding threads: the same order.
    let ids: Vec<String> = s.listings_unordered_as(&Filter::default(), |l| l.id.as_str().to_owned()).unwrap();
    assert_eq!(ids, unordered.iter().map(|l| l.id.as_str().to_owned()).collect::<Vec<_>>());
    assert_eq!(sorted(unordered), all);
    let mut one_by_one = Vec::new();
    for market in ["a", "b"] {
        one_by_one.extend(s.listings(&Filter { market: Some(market.into()), ..Filter::default() }).unwrap());
    }
    assert_eq!(all, one_by_one);
}

/// A whole-table listing read of a large file-backed store is split between
/// two connections: the same rows in the same order as on one connection
/// (inside a transaction, where it is not split, and where rows stored in
/// that transaction must be seen).
#[test]
fn split_listing_reads_equal_single_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("case.sqlite")).unwrap();
    s.put_page(&page(b"big", 60_000)).unwrap();
    s.put_page(&page(b"small", 7)).unwrap();
    let split = s.listings(&Filter::default()).unwrap();
    assert_eq!(split.len(), 60_007);
    let single = s.in_transaction(|s| s.listings(&Filter::default())).unwrap();
    assert_eq!(split, single);
    let seen_inside = s
        .in_transaction(|s| {
            s.put_page(&page(b"third", 3))?;
            s.listings(&Filter::default())
        })
        .unwrap();
    assert_eq!(seen_inside.len(), 60_010);
    assert_eq!(s.listings(&Filter::default()).unwrap(), seen_inside);
}

/// A borrowed feedback row as the owned row it stands for.
fn owned(r: &store::FeedbackRef<'_>) -> Stored<model::Feedback> {
    Stored { id: r.id().parse().expect("a row id"), record: r.record.to_owned_record() }
}

/// A damaged chunk is an error naming the page, not a panic or a wrong row.
#[test]
fn a_damaged_feedback_chunk_is_an_error() {
    let (_dir, path) =
        stored_dataset(vec![model::Feedback { market: "m".into(), vendor: Some("v".into()), text: Some("fine".into()), ..Default::default() }]);
    let conn = rusqlite::Connection::open(&path).unwrap();
    // A length prefix claiming 2^60 rows, then nothing.
    conn.execute("UPDATE feedback_chunks SET data = x'ff0000000000000010'", []).unwrap();
    drop(conn);
    let s = SqliteStore::open(&path).unwrap();
    let err = s.feedback(&Filter::default()).expect_err("damaged chunk must not decode");
    assert!(err.to_string().contains(&Sha256::of(b"d").to_hex()), "{err}");
    let deferred = s.feedback_deferred(&Filter::default()).unwrap();
    let err = deferred.borrowed().expect_err("damaged chunk must not decode in place either");
    assert!(err.to_string().contains(&Sha256::of(b"d").to_hex()), "{err}");
    assert!(s.row(&RowId::new(RowKind::Feedback, &Sha256::of(b"d"), 0)).is_err());
}

/// A chunk's `rows` column only says how much room to reserve before
/// decoding: a case file whose counts lie (none, or far more than any
/// memory) reads the same rows, neither failing nor allocating what the
/// count claims.
#[test]
fn chunk_row_counts_that_lie_read_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.sqlite");
    let ev = Sha256::of(b"d");
    let mut p = page(b"d", 0);
    p.page.page_type = PageType::Dataset;
    p.listings = varied_listings(ev, 300);
    p.feedback = (0..300)
        .map(|i| model::Feedback {
            market: ["a", "b"][i % 2].into(),
            vendor: Some(["alice", "bob", "carol"][i % 3].into()),
            text: Some(format!("fast #{i}")),
            provenance: prov(ev, &format!("row {i}")),
            ..Default::default()
        })
        .collect();
    SqliteStore::open(&path).unwrap().put_page(&p).unwrap();
    let read = |path: &std::path::Path| {
        let s = SqliteStore::open(path).unwrap();
        let deferred = s.feedback_deferred(&Filter::default()).unwrap();
        let feedback: Vec<String> = deferred.borrowed().unwrap().iter().map(|r| format!("{} {:?}", r.id(), r.record)).collect();
        (s.listings(&Filter::default()).unwrap(), sorted(s.listings_unordered(&Filter::default()).unwrap()), feedback)
    };
    let honest = read(&path);
    assert_eq!((honest.0.len(), honest.2.len()), (300, 300));
    for claim in [0, i64::MAX, 1 << 40] {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for table in ["listing_chunks", "feedback_chunks"] {
            conn.execute(&format!("UPDATE {table} SET rows = ?1"), [claim]).unwrap();
        }
        drop(conn);
        assert_eq!(read(&path), honest, "rows = {claim}");
    }
}

/// A feedback row as builds before migration 9 wrote it: bincode's
/// (`config::standard()`), fields in the order of the store's own.
#[derive(serde::Serialize)]
struct FormatOneRow<'a> {
    ordinal: u32,
    listing: Option<&'a str>,
    date: Option<&'a str>,
    rating: Option<&'a str>,
    text: Option<&'a str>,
    buyer: Option<&'a str>,
    price: Option<(&'a str, &'a str)>,
    observed_at: Option<&'a str>,
    profile: &'a str,
    rule: &'a str,
}

/// A case file from before migration 9 (no `format` column; its feedback
/// chunks bincode's rows) is migrated when opened, and its chunks read as
/// the rows the chunks written now give.
#[test]
fn feedback_chunks_of_a_case_from_before_row_formats_read_the_same() {
    let ev = Sha256::of(b"d");
    let (_dir, path) = stored_dataset(
        (0..50)
            .map(|i| model::Feedback {
                market: "m".into(),
                vendor: Some("v".into()),
                listing: Some(format!("10g of something #{}", i / 6)),
                text: Some(format!("fast #{i}")),
                price: (i % 4 == 0).then(|| Money { amount: "0.1".into(), currency: "BTC".into() }),
                observed_at: Some("2014-02-03".into()),
                provenance: Some(Provenance { evidence: ev, profile: "dataset:x".into(), rule: format!("row {}", i / 6) }),
                ..Default::default()
            })
            .collect(),
    );
    let want = SqliteStore::open(&path).unwrap().feedback(&Filter::default()).unwrap();
    assert_eq!(want.len(), 50);
    let older: Vec<FormatOneRow<'_>> = want
        .iter()
        .map(|s| {
            let f = &s.record;
            let p = f.provenance.as_ref().unwrap();
            FormatOneRow {
                ordinal: s.id.as_str().rsplit('-').next().unwrap().parse().unwrap(),
                listing: f.listing.as_deref(),
                date: f.date.as_deref(),
                rating: f.rating.as_deref(),
                text: f.text.as_deref(),
                buyer: f.buyer.as_deref(),
                price: f.price.as_ref().map(|m| (m.amount.as_str(), m.currency.as_str())),
                observed_at: f.observed_at.as_deref(),
                profile: &p.profile,
                rule: &p.rule,
            }
        })
        .collect();
    let plain = bincode::serde::encode_to_vec(&older, bincode::config::standard()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let format: i64 = conn.query_row("SELECT format FROM feedback_chunks", [], |r| r.get(0)).unwrap();
    assert_eq!(format, 2, "chunks are written in format 2");
    conn.execute("UPDATE feedback_chunks SET data = ?1", [lz4_flex::block::compress_prepend_size(&plain)]).unwrap();
    conn.execute_batch("ALTER TABLE feedback_chunks DROP COLUMN format; ALTER TABLE listing_chunks DROP COLUMN format; PRAGMA user_version = 8;")
        .unwrap();
    drop(conn);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.feedback(&Filter::default()).unwrap(), want);
    let borrowed = s.feedback_deferred(&Filter::default()).unwrap();
    assert_eq!(borrowed.borrowed().unwrap().iter().map(owned).collect::<Vec<_>>(), want);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let format: i64 = conn.query_row("SELECT format FROM feedback_chunks", [], |r| r.get(0)).unwrap();
    assert_eq!(format, 1, "migrated chunks are format 1");
    // A format this build does not know is an error naming the page.
    conn.execute("UPDATE feedback_chunks SET format = 3", []).unwrap();
    let text = SqliteStore::open(&path).unwrap().feedback(&Filter::default()).unwrap_err().to_string();
    assert!(text.contains(&ev.to_hex()) && text.contains("unknown row format 3"), "{text}");
}

/// `markets` names each market of the listing, vendor and feedback rows
/// once, in order, whether the rows are in tables or in a dataset's chunks.
#[test]
fn markets_are_those_the_rows_name() {
    let mut s = SqliteStore::in_memory().unwrap();
    assert!(s.markets().unwrap().is_empty());
    // Table rows: listings and a vendor of "test", feedback of "fb-only".
    let mut p = page(b"one", 2);
    p.feedback = vec![model::Feedback { market: "fb-only".into(), observed_at: Some("2020-01-01".into()), ..Default::default() }];
    s.put_page(&p).unwrap();
    // A dataset page: its listings and feedback are kept in chunks.
    let mut d = page(b"dataset", 0);
    d.page.page_type = PageType::Dataset;
    d.vendors.clear();
    d.identifiers.clear();
    d.listings = varied_listings(Sha256::of(b"dataset"), 30);
    d.feedback = ["chunk-b", "chunk-a", "chunk-b"]
        .iter()
        .map(|m| model::Feedback { market: (*m).into(), observed_at: Some("2020-01-01".into()), ..Default::default() })
        .collect();
    s.put_page(&d).unwrap();
    let listed: std::collections::BTreeSet<String> = varied_listings(Sha256::of(b"dataset"), 30).into_iter().map(|l| l.market).collect();
    let mut want: Vec<String> = listed.into_iter().chain(["test", "fb-only", "chunk-a", "chunk-b"].map(String::from)).collect();
    want.sort();
    want.dedup();
    assert_eq!(s.markets().unwrap(), want);
}
