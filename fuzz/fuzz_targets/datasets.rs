//! Feeds arbitrary bytes to the dataset importers: detection, every built-in
//! format, and two mappings (CSV with a multi-character delimiter, JSON); and,
//! when the bytes are UTF-8, as a mapping file that is then used on a small
//! fixed CSV and JSON sample. Must never panic: bad bytes are problems.
#![no_main]

use datasets::{DatasetFormat, DatasetInput, Mapping};
use libfuzzer_sys::fuzz_target;
use model::Sha256;

const MAPPINGS: [&str; 2] = [
    "name = \"f-csv\"\nmarket = \"m\"\nheader = false\ndelimiter = \", \"\nmin_fields = 2\n[columns]\ntitle = 1\nvendor = 2\nprice = 3\ncategory = { column = 4, split = \"/\" }\nobserved_at = { column = 5, format = \"unix\" }\n",
    "name = \"f-json\"\nformat = \"json\"\nrecords = \"/items\"\ncurrency = \"USD\"\n[columns]\nmarket = \"m\"\ntitle = \"t\"\nvendor = \"/v/n\"\nprice = \"p\"\nships_to = { column = \"s\", split = \",\" }\nobserved_at = \"at\"\n",
];

const SAMPLES: [&[u8]; 2] = [b"title,vendor,price\nt,v,USD 5\n", br#"{"items": [{"m": "x", "t": "t", "v": {"n": "v"}, "p": "5"}]}"#];

fuzz_target!(|data: &[u8]| {
    let evidence = Sha256::of(data);
    for source in ["hansa.csv", "whm_23-05-2021.json"] {
        let _ = datasets::detect(source, data);
    }
    let mut formats: Vec<DatasetFormat> =
        DatasetFormat::BUILT_IN.iter().filter_map(|n| DatasetFormat::built_in(n)).collect();
    formats.extend(MAPPINGS.iter().filter_map(|m| Mapping::from_toml(m).ok()).map(|m| DatasetFormat::Mapped(Box::new(m))));
    for f in &formats {
        let _ = datasets::parse(f, &DatasetInput { bytes: data, evidence, source: "whm_23-05-2021.json" });
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(m) = Mapping::from_toml(text) {
            let f = DatasetFormat::Mapped(Box::new(m));
            for s in SAMPLES {
                let _ = datasets::parse(&f, &DatasetInput { bytes: s, evidence: Sha256::of(s), source: "s" });
            }
        }
    }
});
