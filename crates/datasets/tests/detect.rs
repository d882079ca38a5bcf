//! `detect()` on every real dataset file under `shared/data/listings` names
//! its dataset, and the source notes and a market page are not datasets.
//! (agora, alphabay and grams detection is written in their own modules.)

use datasets::detect;

fn name_of(path: &std::path::Path) -> Option<String> {
    let bytes = std::fs::read(path).unwrap();
    // Detection sees the path relative to the listings directory, as imported.
    let source = path.strip_prefix(testdata::shared_root().join("listings")).unwrap_or(path);
    detect(&source.to_string_lossy(), &bytes).map(|f| f.name().to_owned())
}

#[test]
fn every_dataset_file_is_recognised() {
    let Some(root) = testdata::shared("listings") else { return };
    let mut seen = 0;
    let mut wrong = Vec::new();
    for dir in ["agora-2014", "alphabay-2017", "hansa-2016-12", "dream-2017", "whitehouse-2021", "grams-2014"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let want = if file.starts_with("SOURCE_") { None } else { Some(dir.to_owned()) };
            let got = name_of(&path);
            if got != want {
                wrong.push(format!("{dir}/{file}: got {got:?}, want {want:?}"));
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 94, "files seen");
    assert!(wrong.is_empty(), "{} of {seen} wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn my_three_datasets_are_recognised() {
    // The part of the test above that hansa, dream and whitehouse answer for.
    for (rel, want) in [
        ("listings/hansa-2016-12/hansa-marketplace-listings-december-2016.csv", "hansa-2016-12"),
        ("listings/dream-2017/dream_market_cocaine_listings.csv", "dream-2017"),
        ("listings/whitehouse-2021/whm_23-05-2021.json", "whitehouse-2021"),
    ] {
        let Some(path) = testdata::shared(rel) else { return };
        assert_eq!(name_of(&path).as_deref(), Some(want), "{rel}");
    }
}

#[test]
fn notes_and_pages_are_not_datasets() {
    for rel in [
        "listings/alphabay-2017/SOURCE_README.md",
        "listings/alphabay-2017/SOURCE_DNM_sitemap.json",
        "listings/dream-2017/SOURCE_README.md",
        "listings/grams-2014/SOURCE_README.md",
        "markets/pages/whitehouse/2020-09-17/page12.html",
    ] {
        let Some(path) = testdata::shared(rel) else { return };
        assert_eq!(name_of(&path), None, "{rel}");
    }
}
