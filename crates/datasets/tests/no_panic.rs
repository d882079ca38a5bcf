//! `datasets::parse` never panics: every built-in format and two sample
//! mappings (CSV and JSON), on arbitrary bytes and on random mutations of a
//! small valid sample of each format.

use datasets::{parse, DatasetFormat, DatasetInput, Mapping};
use model::Sha256;
use proptest::prelude::*;

const CSV_MAPPING: &str = r#"
name = "sample-csv"
market = "sample"
delimiter = ";"
currency = "USD"
[columns]
title = "title"
vendor = 2
price = "price"
category = { column = "cat", split = "/" }
ships_to = { column = "to", split = "," }
sold = "sold"
observed_at = { column = "seen", format = "%Y-%m-%d %H:%M", utc_offset = "-05:00" }
"#;

const QUOTED_MAPPING: &str = r#"
name = "sample-quoted"
market = "sample"
header = false
delimiter = ", "
min_fields = 3
[columns]
title = 1
vendor = 2
price = 3
observed_at = { column = 4, format = "unix" }
"#;

const JSON_MAPPING: &str = r#"
name = "sample-json"
format = "json"
records = "/items"
[columns]
market = "m"
title = "t"
vendor = "/v/name"
price = "p"
category = "c"
ships_to = "to"
observed_at = "at"
"#;

fn formats() -> Vec<DatasetFormat> {
    let mut f: Vec<DatasetFormat> = DatasetFormat::BUILT_IN.iter().map(|n| DatasetFormat::built_in(n).unwrap()).collect();
    for m in [CSV_MAPPING, QUOTED_MAPPING, JSON_MAPPING] {
        f.push(DatasetFormat::Mapped(Box::new(Mapping::from_toml(m).unwrap())));
    }
    f
}

/// One small valid sample per format (same order as `formats()`).
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("agora.csv", b"vendor_name,price,name,description,image,review,ship_from\nv,0.1 BTC,t,d,i,r,US\n".to_vec()),
        ("Weapons_-_20170509.csv", b"title,vendor,price\rt,v,USD 5\r".to_vec()),
        (
            "hansa.csv",
            b"\"2016-12-11 20:13:54.654635085 -0500 EST\", \"18365\", \"t, x\", \"v\", \"USD 1,340.00\", \"Drugs\", \"China\"\n\"2016-12-11 20:13:54 -0500 EST\", \"1\", \"t\", \"v\", \"USD 1\", \"Drugs\"\n".to_vec(),
        ),
        (
            "dream.csv",
            b",product_title,ships_from_to,grams,quality,btc_price,cost_per_gram,cost_per_gram_pure,escrow,product_link,vendor_link,vendor_name,successful_transactions,rating,ships_from,ships_to\r\n1,t,NL,1,90,0.02,0.02,0.02,1,http://x/viewProduct?offer=1.2,,v,10,4.5,NL,\"WW, EU\"\r\n".to_vec(),
        ),
        (
            "whm_23-05-2021.json",
            br#"[{"_id": {"$oid": "1"}, "name": "products", "values": {"0": {"id": "1", "title": "t", "category": "A - B", "price": "USD 50", "shipsFrom": "X", "shipsTo": "Y", "vendor": "v"}}},
{"name": "vendors", "values": {"0": {"username": "v", "joined": "May 2020", "sales": "1 - 2", "fingerprint": "7F08B21E1E676912C8E706B748C267C1D9B21F36"}}},
{"name": "categories", "values": {"0": {"id": "1", "name": "A - B", "amountOfListings": "3"}}}]"#
                .to_vec(),
        ),
        ("grams.csv", b"hash,market,itemlink,vendor,price,name,description,image,timestamp,ship_from\nh,m,l,v,1,n,\"d\nd\",i,1400000000,US,\n".to_vec()),
        ("s.csv", b"title;vendor;price;cat;to;sold;seen\nt;v;EUR 5;a/b;X,Y;1,234;2020-01-01 10:00\n".to_vec()),
        ("q.csv", b"\"t\", \"v\", \"USD 5\", \"1400000000.5\"\n".to_vec()),
        ("j.json", br#"{"items": [{"m": "M", "t": "t", "v": {"name": "v"}, "p": "XMR 0.5", "c": ["A", "B"], "to": ["X"], "at": "2020-01-01"}]}"#.to_vec()),
    ]
}

fn run_all(source: &str, bytes: &[u8]) {
    let input = DatasetInput { bytes, evidence: Sha256::of(bytes), source };
    for f in formats() {
        let out = parse(&f, &input);
        assert_eq!(out.format, f.name());
        let _ = datasets::detect(source, bytes);
    }
}

#[test]
fn samples_import() {
    // The samples are valid for their own format (for the formats written here).
    let f = formats();
    for (i, (src, bytes)) in samples().iter().enumerate() {
        let name = f[i].name().to_owned();
        if ["agora-2014", "alphabay-2017", "grams-2014"].contains(&name.as_str()) {
            continue; // another importer's; only must not panic
        }
        let out = parse(&f[i], &DatasetInput { bytes, evidence: Sha256::of(bytes), source: src });
        assert!(out.imported >= 1 && out.rejected == 0, "{name}: {:?}", out.problems);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        run_all("x.csv", &bytes);
        run_all("whm_01-01-2021.json", &bytes);
    }

    #[test]
    fn mutated_samples(
        which in 0usize..9,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..12),
    ) {
        let (src, mut bytes) = samples().swap_remove(which);
        for (at, byte, op) in edits {
            let i = if bytes.is_empty() { 0 } else { at.index(bytes.len()) };
            match op {
                0 if !bytes.is_empty() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                2 if !bytes.is_empty() => { bytes.remove(i); }
                _ => {
                    // Structural bytes are the interesting ones.
                    let s = b"\",;\n\r{}[]:\\ -";
                    bytes.insert(i, s[byte as usize % s.len()]);
                }
            }
        }
        run_all(src, &bytes);
    }
}
