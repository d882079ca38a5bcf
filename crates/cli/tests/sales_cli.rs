//! End-to-end: real listing datasets imported into a case, `dragnet sales`,
//! `dragnet vendor`, `dragnet export`; the shared data is read in place.
//!
//! Expected figures were computed from the raw files with Python's csv module
//! (Mac OS Roman decoding, `N sold since DATE` and `USD X` read by regex),
//! independently of dragnet's importers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dragnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dragnet")).args(args).env("USER", "sales-cli-test").output().expect("run dragnet")
}

fn ok(args: &[&str]) -> (String, String) {
    let out = dragnet(args);
    assert!(out.status.success(), "dragnet {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).expect("utf-8"), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn case_with(files: &[PathBuf]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let mut args = vec!["import", "--case", s(&case)];
    args.extend(files.iter().map(|f| s(f)));
    ok(&args);
    (tmp, case)
}

fn alphabay() -> Option<Vec<PathBuf>> {
    Some(vec![
        testdata::shared("listings/alphabay-2017/D_C_-_stims_-_cocaine_-_20170420.csv")?,
        testdata::shared("listings/alphabay-2017/D_C_-_dissoc_-_mxe_-_20170417.csv")?,
    ])
}

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"))).collect()
}

fn find<'a>(rows: &'a [serde_json::Value], vendor: &str, method: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["vendor"] == vendor && r["method"] == method)
        .unwrap_or_else(|| panic!("no {vendor}/{method} row"))
}

#[test]
fn sales_by_vendor_json_on_alphabay_sold_counters() {
    let Some(files) = alphabay() else { return };
    let (_tmp, case) = case_with(&files);
    let (out, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let rows = lines(&out);
    // 232 vendors in the cocaine file and 15 in the MXE file, one line each
    // (AlphaBay shows "sold since" counters, no feedback).
    let vendors: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r["vendor"].as_str()).collect();
    assert!(vendors.len() >= 232, "{} vendors", vendors.len());
    for r in &rows {
        for key in ["market", "vendor", "method"] {
            assert!(r[key].is_string(), "{key} missing in {r}");
        }
        // A number, or null when no sale of the row is priced.
        let priced = r["unpriced_sales"].as_f64() < r["sales_lower"].as_f64();
        assert!(r["sales"].is_number() && (r["revenue_usd"].is_number() == priced) && (r["revenue_usd"].is_null() != priced), "{r}");
        assert_eq!(r["market"], "alphabay");
    }
    // ukwhite: 16 cocaine listings, 6,329 sold, sum(sold x USD price) = 913,495.00.
    let u = find(&rows, "ukwhite", "sold_counter");
    assert_eq!(u["sales"].as_f64(), Some(6329.0));
    assert!((u["revenue_usd"].as_f64().unwrap() - 913_495.0).abs() < 0.01, "{u}");
    assert_eq!(u["unpriced_sales"].as_f64(), Some(0.0));
    // RcQueen (MXE file): 24 sold, $17,280.00.
    let q = find(&rows, "RcQueen", "sold_counter");
    assert_eq!(q["sales"].as_f64(), Some(24.0));
    assert!((q["revenue_usd"].as_f64().unwrap() - 17_280.0).abs() < 0.01, "{q}");
    // AlphaBay shows USD beside BTC: its own rate is used, no series needed.
    let (csv, _) = ok(&["sales", "--case", s(&case), "--by", "market", "--csv"]);
    assert!(csv.starts_with("market,vendor,category"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("alphabay,,") && l.contains("sold_counter")), "{csv}");
}

#[test]
fn importing_the_same_files_twice_changes_nothing() {
    let Some(files) = alphabay() else { return };
    let (_tmp, case) = case_with(&files);
    let (before, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let (info_before, _) = ok(&["case", "info", "--case", s(&case), "--json"]);
    let mut args = vec!["import", "--case", s(&case)];
    args.extend(files.iter().map(|f| s(f)));
    ok(&args);
    let (after, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let (info_after, _) = ok(&["case", "info", "--case", s(&case), "--json"]);
    assert_eq!(before, after);
    assert_eq!(info_before, info_after);
}

#[test]
fn vendor_dossier_names_accounts_sales_and_timeline() {
    let Some(files) = alphabay() else { return };
    let (_tmp, case) = case_with(&files);
    let (out, _) = ok(&["vendor", "--case", s(&case), "UKWHITE", "--json"]);
    let d: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(d["accounts"][0]["market"], "alphabay");
    assert_eq!(d["accounts"][0]["listings"], 16);
    assert_eq!(d["first_seen"], "2017-04-20");
    assert_eq!(d["estimates"][0]["method"], "sold_counter");
    assert_eq!(d["estimates"][0]["sales"].as_f64(), Some(6329.0));
    // A dataset row is dated by its own crawl date, which explain shows
    // beside the capture (the file's acquisition).
    let (out, _) = ok(&["listings", "--case", s(&case), "--json", "--limit", "1"]);
    let id = lines(&out)[0]["id"].as_str().unwrap().to_owned();
    let (text, _) = ok(&["explain", "--case", s(&case), &id]);
    assert!(text.contains("  observed on  2017-04-") && text.contains("(the row's own date"), "{text}");
    let missing = dragnet(&["vendor", "--case", s(&case), "no-such-vendor"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no vendor named"));
}

/// Agora shows BTC prices only: with `--rates` each listing is priced at the
/// series' rate of its crawl day, and the export says which rate it used.
#[test]
fn btc_prices_convert_at_the_crawl_day_rate() {
    let Some(agora) = testdata::shared("listings/agora-2014/product__products-2014-03-01.csv") else { return };
    let Some(rates) = testdata::shared("rates/btc_daily.csv") else { return };
    let (tmp, case) = case_with(&[agora]);
    let out = tmp.path().join("csv");
    ok(&["export", "--case", s(&case), "--format", "csv", "--out", s(&out), "--rates", s(&rates)]);
    // The rate of 2014-03-01, read from the series by hand.
    let series = std::fs::read_to_string(&rates).unwrap();
    let rate: f64 = series.lines().find_map(|l| l.strip_prefix("2014-03-01,")).unwrap().parse().unwrap();
    let mut r = csv::Reader::from_path(out.join("listings.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (mut checked, mut labelled) = (0, 0);
    for rec in r.records() {
        let rec = rec.unwrap();
        if rec[col("observed_at")].starts_with("2014-03-01") && rec[col("price_currency")] == *"BTC" {
            let btc: f64 = rec[col("price_amount")].parse().unwrap();
            if rec[col("price_usd")].is_empty() {
                // Under half a dollar: a stand-in price, said so.
                assert!(btc * rate < sales::PLACEHOLDER_USD && rec[col("usd_rate")].contains("taken for a stand-in"), "{:?}", rec);
                continue;
            }
            let usd: f64 = rec[col("price_usd")].parse().unwrap();
            assert!((usd - btc * rate).abs() < 1e-6 * usd.max(1.0), "{btc} BTC -> {usd} USD at {rate}");
            checked += 1;
            labelled += usize::from(&rec[col("usd_rate")] == "series:BTC@2014-03-01");
        }
    }
    assert!(checked > 5000, "{checked} rows checked");
    assert_eq!(labelled, checked);
    // The series named by `series:BTC@DAY` is the file given, by digest.
    let mut r = csv::Reader::from_path(out.join("rates.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    let digest = model::Sha256::of(series.as_bytes()).to_hex();
    assert_eq!(&rows[0][0], "BTC");
    assert_eq!(rows[0][1].to_owned(), format!("btc_daily.csv (sha256 {})", &digest[..16]));
    let first = series.lines().nth(1).unwrap().split(',').next().unwrap();
    assert_eq!(&rows[0][2], first);
    // Feedback carries the days its shown date allows, as the estimates
    // read them: "N days ago" seen on D is D-N-1..D-N+1, never after D.
    let mut r = csv::Reader::from_path(out.join("feedback.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let day = |t: &str| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap();
    let mut dated = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let Some(n) = rec[col("date")].trim().strip_suffix(" days ago").and_then(|n| n.parse::<i64>().ok()) else { continue };
        let seen = day(&rec[col("observed_day")]);
        assert!(rec[col("observed_at")].starts_with(&seen.to_string()), "{rec:?}");
        let ago = |k: i64| (seen - chrono::Duration::days(k)).to_string();
        assert_eq!((&rec[col("day_earliest")], &rec[col("day_latest")]), (ago(n + 1).as_str(), ago((n - 1).max(0)).as_str()), "{rec:?}");
        dated += 1;
    }
    assert!(dated > 1000, "{dated} feedback rows dated");
}

/// Parquet export is the interface for DuckDB and pandas: pyarrow must read
/// every table with the case's row counts. Skips without pyarrow unless CI=true.
#[test]
fn parquet_export_reads_in_pyarrow() {
    let Some(files) = alphabay() else { return };
    if !testdata::python_module("pyarrow") {
        return;
    }
    let (tmp, case) = case_with(&files);
    let out = tmp.path().join("pq");
    let (text, _) = ok(&["export", "--case", s(&case), "--format", "parquet", "--out", s(&out), "--json"]);
    let tables = lines(&text);
    assert_eq!(tables.len(), 7);
    let script = r#"
import sys, pyarrow.parquet as pq
root = sys.argv[1]
for t in ["listings", "feedback", "vendors", "estimates", "coverage", "notes", "rates"]:
    tb = pq.read_table(f"{root}/{t}.parquet")
    print(t, tb.num_rows)
est = pq.read_table(f"{root}/estimates.parquet").to_pylist()
print("ukwhite", [r["sales"] for r in est if r["vendor"] == "ukwhite"])
cov = pq.read_table(f"{root}/coverage.parquet").to_pylist()
print("crawls", sorted((str(r["day"]), r["listings_seen"]) for r in cov if r["day"]))
print("markets", sorted((r["market"], r["listings_seen"]) for r in cov if r["day"] is None))
print("coverage day", pq.read_table(f"{root}/coverage.parquet").schema.field("day").type)
lst = pq.read_table(f"{root}/listings.parquet")
print("observed_day", lst.schema.field("observed_day").type, sorted({str(d) for d in lst.column("observed_day").to_pylist()}))
for t in ["feedback", "vendors"]:
    sc = pq.read_table(f"{root}/{t}.parquet").schema
    print(t, "days", [(f.name, str(f.type)) for f in sc if f.name.endswith("_day") or f.name.startswith("day_")])
"#;
    let py = Command::new("python3").args(["-c", script, s(&out)]).output().expect("python3");
    assert!(py.status.success(), "pyarrow: {}", String::from_utf8_lossy(&py.stderr));
    let py = String::from_utf8_lossy(&py.stdout);
    // 696 + 48 listing rows.
    assert!(py.contains("listings 744"), "{py}");
    assert!(py.contains("feedback 0"), "{py}");
    assert!(py.contains("ukwhite [6329.0]"), "{py}");
    // One crawl day per file: 48 MXE listings on 2017-04-17, 696 cocaine listings on 2017-04-20.
    assert!(py.contains("crawls [('2017-04-17', 48), ('2017-04-20', 696)]"), "{py}");
    // The market's row over the whole capture has no day (docs/methods.md).
    assert!(py.contains("markets [('alphabay', 744)]"), "{py}");
    assert!(py.contains("coverage day date32[day]"), "{py}");
    // Days are dates (Parquet DATE), not text.
    assert!(py.contains("observed_day date32[day] ['2017-04-17', '2017-04-20']"), "{py}");
    assert!(py.contains("feedback days [('observed_day', 'date32[day]'), ('day_earliest', 'date32[day]'), ('day_latest', 'date32[day]')]"), "{py}");
    assert!(py.contains("vendors days [('observed_day', 'date32[day]'), ('registered_day', 'date32[day]')]"), "{py}");
    for t in &tables {
        assert!(py.contains(&format!("{} {}", t["table"].as_str().unwrap(), t["rows"])), "{py} vs {t}");
    }
    // The notes `sales` counts (and prints the first of) are all there.
    let (sales, _) = ok(&["sales", "--case", s(&case), "--by", "vendor"]);
    let noted = sales.split(" rows with notes").next().and_then(|h| h.rsplit(' ').next()).unwrap();
    assert!(py.contains(&format!("notes {noted}\n")), "{py} vs {noted} notes");
}

/// An exported listing row carries the estimates' notes on it: the
/// AlphaBay shake listing at USD 99999.00 (line 244) is a holding price
/// that prices no sale, and a sum of `price_usd` should know it.
#[test]
fn exported_listings_carry_the_estimates_notes_on_them() {
    let Some(shake) = testdata::shared("listings/alphabay-2017/D_C_-_cannabis_-_shake_-_20170424.csv") else { return };
    let (tmp, case) = case_with(&[shake]);
    let out = tmp.path().join("csv");
    ok(&["export", "--case", s(&case), "--format", "csv", "--out", s(&out)]);
    let mut r = csv::Reader::from_path(out.join("listings.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let held = rows.iter().find(|r| r[col("rule")].ends_with(", line 244")).expect("the line 244 row");
    assert_eq!(&held[col("price_usd_shown")], "99999.00", "{held:?}");
    assert!(held[col("estimate_notes")].contains("looks like a holding price"), "{held:?}");
    // Each note of the estimates on a listing row is on that row, no other.
    let mut n = csv::Reader::from_path(out.join("notes.csv")).unwrap();
    let noted: std::collections::BTreeSet<String> = n.records().map(Result::unwrap).map(|r| r[0].to_owned()).filter(|id| id.starts_with("L-")).collect();
    let with_notes: std::collections::BTreeSet<String> = rows.iter().filter(|r| !r[col("estimate_notes")].is_empty()).map(|r| r[col("id")].to_owned()).collect();
    assert_eq!(with_notes, noted);
}

/// A registration shown as a month ("August 2020") is exported as the day
/// the estimates read it as, the month's first (it was null; found by a
/// review).
#[test]
fn registration_months_are_exported_as_the_estimates_read_them() {
    let Some(wh) = testdata::shared("listings/whitehouse-2021/whm_23-05-2021.json") else { return };
    if !testdata::python_module("pyarrow") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    ok(&["import", "--case", s(&case), "--defer-estimate", s(&wh)]);
    let out = tmp.path().join("x");
    ok(&["export", "--case", s(&case), "--format", "parquet", "--out", s(&out)]);
    let script = "import sys, pyarrow.parquet as pq\nfor r in pq.read_table(sys.argv[1] + '/vendors.parquet').to_pylist():\n    print(r['registered'], r['registered_day'])\n";
    let py = Command::new("python3").args(["-c", script, s(&out)]).output().expect("python3");
    assert!(py.status.success(), "pyarrow: {}", String::from_utf8_lossy(&py.stderr));
    let py = String::from_utf8_lossy(&py.stdout);
    assert_eq!(py.matches("August 2020 2020-08-01").count(), 2, "{py}");
    assert_eq!(py.matches("December 2019 2019-12-01").count(), 1, "{py}");
}

/// A new case, and a mapping of a shop's listings (item, seller, price,
/// then the `extra` lines of its columns).
fn shop_case(extra: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let mapping = tmp.path().join("shop.toml");
    let text = "name = \"shop-2020\"\nmarket = \"shop\"\nobserved_at = \"2020-05-01\"\n\n[columns]\ntitle = \"item\"\nvendor = \"seller\"\nprice = \"price\"\n";
    std::fs::write(&mapping, format!("{text}{extra}")).unwrap();
    (tmp, case, mapping)
}

/// A data file (`.csv`, `.json`) no format recognises is named on import:
/// it is stored, but none of its rows is read (it went in unnoticed; found
/// by a review). A page is not named.
#[test]
fn a_data_file_matching_no_format_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let dir = tmp.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("odd.csv"), "a,b,c\n1,2,3\n").unwrap();
    std::fs::write(dir.join("page.html"), "<html><body>hello</body></html>").unwrap();
    let (_, err) = ok(&["import", "--case", s(&case), s(&dir)]);
    let named: Vec<&str> = err.lines().filter(|l| l.contains("matches no dataset format")).collect();
    assert!(named.len() == 1 && named[0].contains("odd.csv") && named[0].contains("give --format"), "{err}");
    let (out, _) = ok(&["import", "--json", "--case", s(&case), s(&dir.join("odd.csv"))]);
    let summary = lines(&out).pop().unwrap();
    assert_eq!(summary["not_datasets"].as_array().map(Vec::len), Some(1), "{summary}");
}

/// A vendor name a spreadsheet would run as a formula is written to every
/// CSV output with a leading quote (it went in verbatim; found by a review);
/// JSON keeps it as it is.
#[test]
fn csv_outputs_do_not_carry_formulas() {
    let (tmp, case, mapping) = shop_case("sold = \"sold\"\n");
    let data = tmp.path().join("shop.csv");
    std::fs::write(&data, "item,seller,price,sold\nTea,\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"click\"\")\",10 USD,3\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    let (json, _) = ok(&["listings", "--case", s(&case), "--json"]);
    assert!(json.contains("\"vendor\":\"=HYPERLINK("), "{json}");
    let (csv, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--csv"]);
    let quoted = |text: &str| text.contains("'=HYPERLINK(") && !text.contains(",=HYPERLINK(") && !text.contains(",\"=HYPERLINK(");
    assert!(quoted(&csv), "{csv}");
    let out = tmp.path().join("x");
    ok(&["export", "--case", s(&case), "--format", "csv", "--out", s(&out)]);
    let listings = std::fs::read_to_string(out.join("listings.csv")).unwrap();
    assert!(quoted(&listings), "{listings}");
    let report = tmp.path().join("r");
    ok(&["report", "--case", s(&case), "--csv", s(&report)]);
    let vendors = std::fs::read_to_string(report.join("vendors.csv")).unwrap();
    assert!(quoted(&vendors), "{vendors}");
}

/// A file already in the case as one dataset format is not read as another
/// unless `--reformat` says so: a second import with another `--format` had
/// silently replaced its rows (found by a review).
#[test]
fn another_format_for_a_file_in_the_case_needs_reformat() {
    let (tmp, case, mapping) = shop_case("");
    let data = tmp.path().join("shop.csv");
    std::fs::write(&data, "item,seller,price\nTea,anna,10 USD\nCake,bob,5 USD\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    let titles = || lines(&ok(&["listings", "--case", s(&case), "--json"]).0).len();
    assert_eq!(titles(), 2);
    let (out, err) = ok(&["import", "--case", s(&case), "--format", "grams-2014", s(&data)]);
    assert!(err.contains("in the case already as a dataset of format shop-2020: not read again as grams-2014 (give --reformat"), "{err}");
    assert!(!out.contains("dataset shop.csv (grams-2014)"), "{out}");
    assert_eq!(titles(), 2, "the rows read with the mapping are kept");
    // Detection does not override the recorded format either, and a file
    // read with a mapping is no "data file that matches no format".
    let (_, err) = ok(&["import", "--case", s(&case), s(&data)]);
    assert_eq!(titles(), 2);
    assert!(!err.contains("matches no dataset format"), "{err}");
    let (out, _) = ok(&["import", "--case", s(&case), "--format", "grams-2014", "--reformat", s(&data)]);
    assert!(out.contains("(grams-2014): 2 rows, 0 imported, 2 rejected"), "{out}");
    assert_eq!(titles(), 0, "--reformat reads the file as the format given");
}

/// A second mapping under a name the case holds, with other columns, is
/// refused while files read with the first are in the case: it replaced the
/// first, and the next extraction rejected every row of the first file
/// (found by a review). The same mapping again is that mapping.
#[test]
fn a_mapping_name_in_use_is_not_given_to_another_mapping() {
    let (tmp, case, mapping) = shop_case("");
    let first = tmp.path().join("first.csv");
    std::fs::write(&first, "item,seller,price\nTea,anna,10 USD\nCake,bob,5 USD\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&first)]);
    let other = tmp.path().join("other.toml");
    std::fs::write(&other, std::fs::read_to_string(&mapping).unwrap().replace("\"item\"", "\"title\"").replace("\"seller\"", "\"vendor\"")).unwrap();
    let second = tmp.path().join("second.csv");
    std::fs::write(&second, "title,vendor,price\nMilk,carl,2 USD\n").unwrap();
    let refused = dragnet(&["import", "--case", s(&case), "--format", s(&other), s(&second)]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && err.contains("another mapping named \"shop-2020\"") && err.contains("1 dataset files were read with"), "{err}");
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&second)]);
    ok(&["extract", "--case", s(&case)]);
    let (out, _) = ok(&["listings", "--case", s(&case), "--json"]);
    let titles: std::collections::BTreeSet<String> = lines(&out).iter().map(|l| l["title"].as_str().unwrap().to_owned()).collect();
    assert_eq!(titles, ["Cake", "Tea"].map(String::from).into_iter().collect(), "the first file still reads with its mapping");
}

/// `import --json` gives each dataset file's row problems by line, so a
/// script need not parse the notes on stderr (it gave counts only).
#[test]
fn import_json_lists_row_problems_by_line() {
    let (tmp, case, mapping) = shop_case("");
    let data = tmp.path().join("shop.csv");
    std::fs::write(&data, "item,seller,price\nok one,anna,USD 10\nbroken\nunknown,bob,ZZZ 5\nok two,bob,USD 20\n").unwrap();
    let (out, _) = ok(&["import", "--json", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    let file = lines(&out).into_iter().find_map(|l| l.get("dataset").cloned()).unwrap_or_else(|| panic!("no dataset line: {out}"));
    assert_eq!((file["rows"].as_u64(), file["imported"].as_u64(), file["rejected"].as_u64()), (Some(4), Some(2), Some(2)), "{file}");
    let problems: Vec<(u64, u64, &str)> = file["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems: {file}"))
        .iter()
        .map(|p| (p["line"].as_u64().unwrap(), p["row"].as_u64().unwrap(), p["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(problems, [(3, 2, "rejected"), (4, 3, "rejected")], "{file}");
    assert!(file["problems"][1]["message"].as_str().unwrap().contains("ZZZ"), "{file}");
    assert_eq!(file["problems_not_listed"].as_u64(), Some(0), "{file}");
}

/// A user dataset through a mapping file: bad rows are named by file and
/// line, the rest is imported, nothing else is lost.
#[test]
fn bad_rows_in_a_mapped_dataset_are_reported_by_line() {
    let (tmp, case, mapping) = shop_case("");
    let data = tmp.path().join("shop.csv");
    std::fs::write(
        &data,
        "item,seller,price\nok one,anna,USD 10\nbroken\nunknown,bob,ZZZ 5\n\"open,carl,USD 3\nnegative,bob,USD -4\nok two,bob,USD 20\n",
    )
    .unwrap();
    let (out, err) = ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    // Each problem once, as `note: FILE (DIGEST): line N (row R): ...`.
    let note = |line: &str| err.lines().find(|l| l.contains(&format!("): {line} ("))).unwrap_or_else(|| panic!("no note for {line}: {err}"));
    for line in ["line 3", "line 4", "line 5", "line 6"] {
        let n = note(line);
        assert!(n.starts_with("note: ") && n.matches("shop.csv").count() == 1 && n.contains("row rejected"), "{n}");
    }
    assert!(note("line 6").contains("USD -4"), "negative price: {err}");
    assert!(note("line 4").contains("ZZZ"), "unknown currency: {err}");
    // A quote left open does not take the rows after it.
    assert!(note("line 5").contains("quote"), "{err}");
    assert!(out.contains("6 rows, 2 imported, 4 rejected"), "{out}");
    let (out, _) = ok(&["listings", "--case", s(&case), "--json"]);
    let titles: Vec<String> = lines(&out).iter().map(|l| l["title"].as_str().unwrap().to_owned()).collect();
    assert!(titles.contains(&"ok one".to_owned()) && titles.contains(&"ok two".to_owned()), "{titles:?}");
    assert!(!titles.iter().any(|t| t == "negative" || t == "unknown"), "{titles:?}");
    // The mapping is kept in the case and logged; re-extraction reads the file the same way.
    assert!(case.join("mappings/shop-2020.toml").is_file());
    ok(&["extract", "--case", s(&case)]);
    let (again, _) = ok(&["listings", "--case", s(&case), "--json"]);
    assert_eq!(out, again);
    // The kept mapping is the one its custody entry logged: deleted, verify
    // says so (extraction would silently find nothing).
    ok(&["verify", "--case", s(&case)]);
    let kept = std::fs::read(case.join("mappings/shop-2020.toml")).unwrap();
    std::fs::remove_file(case.join("mappings/shop-2020.toml")).unwrap();
    let out = dragnet(&["verify", "--case", s(&case)]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code() == Some(3) && said.contains("shop-2020.toml") && said.contains("missing, though custody.jsonl line"), "{said}");
    std::fs::write(case.join("mappings/shop-2020.toml"), kept).unwrap();
    // A mapping's name is a file name in the case: no path in it.
    let text = std::fs::read_to_string(&mapping).unwrap();
    for bad in ["sub/deep", "../case", ".hidden"] {
        std::fs::write(&mapping, text.replacen("name = \"shop-2020\"", &format!("name = \"{bad}\""), 1)).unwrap();
        let out = dragnet(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("it names the file mappings/NAME.toml"), "{bad}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(!case.join("mappings/sub").exists() && !tmp.path().join("case.toml").exists());
}

/// `sales` refuses a day range that holds no day and --csv with --json, and
/// names the missing --rates when sales are left unpriced for want of them.
#[test]
fn sales_says_what_its_arguments_leave_out() {
    let Some(rates) = testdata::shared("rates/btc_daily.csv") else { return };
    let (tmp, case, mapping) = shop_case("sold = \"sold\"\n");
    let data = tmp.path().join("shop.csv");
    std::fs::write(&data, "item,seller,price,sold\nin btc,anna,0.01 BTC,12\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    let bad = dragnet(&["sales", "--case", s(&case), "--from", "2020-05-02", "--to", "2020-05-01"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--from 2020-05-02 is after --to 2020-05-01"));
    assert_eq!(dragnet(&["--json", "sales", "--case", s(&case), "--csv"]).status.code(), Some(2));
    let (out, err) = ok(&["sales", "--case", s(&case), "--json"]);
    assert_eq!(lines(&out)[0]["unpriced_sales"].as_f64(), Some(12.0), "{out}");
    assert!(err.contains("no --rates given"), "{err}");
    let (out, err) = ok(&["sales", "--case", s(&case), "--json", "--rates", s(&rates)]);
    assert_eq!(lines(&out)[0]["unpriced_sales"].as_f64(), Some(0.0), "{out}");
    assert!(!err.contains("--rates"), "{err}");
    // The series the revenue was converted with is named (file and digest).
    assert!(err.contains("note: BTC prices converted to USD with btc_daily.csv (sha256 "), "{err}");
    // A year of two digits is refused, not read as the year 14.
    let bad = dragnet(&["sales", "--case", s(&case), "--to", "14-05-01"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("\"14-05-01\" is not a YYYY-MM-DD date (four digits of year)"));
    // The vendor's dossier says so too.
    let (_, err) = ok(&["vendor", "--case", s(&case), "anna"]);
    assert!(err.contains("no --rates given"), "{err}");
    let (_, err) = ok(&["vendor", "--case", s(&case), "anna", "--rates", s(&rates)]);
    assert!(!err.contains("--rates"), "{err}");
}

/// Feedback on captured pages: absolute dates ("Jan 31, 2020 09:45") are
/// used as shown, and the capture time given at import dates the pages.
/// Expected counts and dates were read from the raw HTML with a regex.
#[test]
fn page_feedback_counts_and_dates_on_apollon() {
    let Some(pages) = testdata::shared("markets/pages/apollon/feedbacks") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    ok(&["import", "--case", s(&case), "--captured-at", "2020-02-20", s(&pages)]);
    ok(&["extract", "--case", s(&case)]);
    let (out, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let rows = lines(&out);
    // positive_feedback_4: 15 entries for Combi, Jan 31 .. Feb 17, 2020.
    let c = find(&rows, "Combi", "feedback_count");
    assert_eq!(c["sales"].as_f64(), Some(15.0));
    assert_eq!((c["first_day"].as_str(), c["last_day"].as_str()), (Some("2020-01-31"), Some("2020-02-17")));
    // positive_feedback_0 (15) and negative_feedback_0 (11) for UKNEXTDAY: no entry on both pages.
    let u = find(&rows, "UKNEXTDAY", "feedback_count");
    assert_eq!(u["sales"].as_f64(), Some(26.0));
    assert_eq!(u["first_day"].as_str(), Some("2019-12-18"));
    // Apollon states no coverage that would scale a 4-page capture: central = lower.
    assert_eq!(u["sales_lower"], u["sales"]);
    let (month, _) = ok(&["sales", "--case", s(&case), "--by", "month", "--json"]);
    let months = lines(&month);
    let fb: f64 = months.iter().filter(|r| r["method"] == "feedback_count").map(|r| r["sales_lower"].as_f64().unwrap()).sum();
    assert!((fb - 41.0).abs() < 1e-9, "months sum to {fb}");
    // Feedback says when it was seen, which its "N days ago" counts back from.
    let (out, _) = ok(&["feedback", "--case", s(&case), "--json"]);
    let rows = lines(&out);
    assert!(!rows.is_empty() && rows.iter().all(|r| r["observed_at"].as_str().is_some_and(|t| t.starts_with("2020-02-20"))), "{out}");
    let (text, _) = ok(&["feedback", "--case", s(&case), "--limit", "3"]);
    assert!(text.lines().count() == 3 && text.lines().all(|l| l.contains(" seen 2020-02-20 ")), "{text}");
    let bad = dragnet(&["import", "--case", s(&case), "--captured-at", "last tuesday", s(&pages)]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--captured-at"));
}

/// A dataset that keeps feedback apart from listings, imported without code:
/// a listings mapping and a `kind = "feedback"` mapping. Feedback counts as
/// sales (a repeated entry once) and is priced at the listing of the same
/// market, vendor and title.
#[test]
fn feedback_file_through_a_mapping_counts_as_sales() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let listings_map = write(
        "shop.toml",
        "name = \"shop-2020\"\nmarket = \"shop\"\nobserved_at = \"2020-05-01\"\n\n[columns]\ntitle = \"item\"\nvendor = \"seller\"\nprice = \"price\"\n",
    );
    let feedback_map = write(
        "shop-feedback.toml",
        "name = \"shop-feedback\"\nkind = \"feedback\"\nmarket = \"shop\"\nobserved_at = \"2020-05-01\"\n\n[columns]\nvendor = \"seller\"\ntitle = \"item\"\ndate = \"left\"\nrating = \"stars\"\ntext = \"comment\"\n",
    );
    let listings = write("shop.csv", "item,seller,price\n10g Haze,anna,USD 100\nPills,bob,USD 5\n");
    let feedback = write(
        "shop-feedback.csv",
        "seller,item,left,stars,comment\n\
         anna,10g Haze,2020-04-02,5/5,fast\n\
         anna,10g Haze,2020-04-20,5/5,again\n\
         anna,10g Haze,2020-04-20,5/5,again\n\
         bob,Pills,2020-04-04,1/5,slow\n\
         ,Pills,2020-04-05,1/5,no vendor\n",
    );
    ok(&["import", "--case", s(&case), "--format", s(&listings_map), s(&listings)]);
    let (out, err) = ok(&["import", "--case", s(&case), "--format", s(&feedback_map), s(&feedback)]);
    assert!(out.contains("5 rows, 4 imported, 1 rejected"), "{out}");
    assert!(err.lines().any(|l| l.contains("shop-feedback.csv (") && l.contains("): line 6 (row 5): row rejected")), "{err}");
    let (out, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let rows = lines(&out);
    let anna = find(&rows, "anna", "feedback_count");
    assert_eq!(anna["sales"].as_f64(), Some(2.0), "{anna}");
    assert_eq!(anna["revenue_usd"].as_f64(), Some(200.0), "{anna}");
    let bob = find(&rows, "bob", "feedback_count");
    assert_eq!(bob["sales"].as_f64(), Some(1.0), "{bob}");
    assert_eq!(bob["revenue_usd"].as_f64(), Some(5.0), "{bob}");
    // A later crawl's feedback: a vendor's dossier counts its days (anna's
    // last day is a feedback row's), and a vendor seen only in feedback
    // has one.
    let later_map = write("later.toml", &std::fs::read_to_string(&feedback_map).unwrap().replace("2020-05-01", "2020-06-15").replace("shop-feedback", "shop-later"));
    let later = write("shop-later.csv", "seller,item,left,stars,comment\nanna,10g Haze,2020-06-01,4/5,third\ncarol,Seeds,2020-06-10,5/5,ok\n");
    ok(&["import", "--case", s(&case), "--format", s(&later_map), s(&later)]);
    let dossier = |name: &str| -> serde_json::Value { serde_json::from_str(&ok(&["vendor", "--case", s(&case), name, "--json"]).0).unwrap() };
    let anna = dossier("Anna");
    assert_eq!((anna["first_seen"].as_str(), anna["last_seen"].as_str()), (Some("2020-05-01"), Some("2020-06-15")), "{anna}");
    assert_eq!(find(anna["estimates"].as_array().unwrap(), "anna", "feedback_count")["sales"].as_f64(), Some(3.0), "{anna}");
    let carol = dossier("carol");
    assert_eq!((carol["first_seen"].as_str(), carol["last_seen"].as_str()), (Some("2020-06-15"), Some("2020-06-15")), "{carol}");
    // Her account is listed, with no listings.
    let accounts: Vec<(&str, &str, u64)> = carol["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["market"].as_str().unwrap(), a["vendor"].as_str().unwrap(), a["listings"].as_u64().unwrap()))
        .collect();
    assert_eq!(accounts, [("shop", "carol", 0)], "{carol}");
    let text = ok(&["vendor", "--case", s(&case), "carol"]).0;
    assert!(text.contains("shop / carol: no listings seen"), "{text}");
    assert_eq!(find(carol["estimates"].as_array().unwrap(), "carol", "feedback_count")["sales"].as_f64(), Some(1.0), "{carol}");
}

/// A case of a simulated market (agora-2014 layout): 6,000 listings and
/// 40,000 feedback rows across some 60 vendors, in two files.
fn sim_case() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("sim");
    ok(&["sim", "sales", "--out", s(&data), "--listings", "6000", "--feedback", "40000", "--files", "2", "--seed", "3"]);
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut args = vec!["import", "--case", s(&case), "--format", "agora-2014"];
    args.extend(files.iter().map(|f| s(f)));
    ok(&args);
    (tmp, case)
}

/// `import --defer-estimate` (and `extract --defer-estimate`) store the same
/// records and keep no sales units; the first `dragnet sales` computes and
/// keeps them, with the figures of an import that estimated.
#[test]
fn a_deferred_estimate_is_made_by_the_first_query() {
    let (tmp, estimated) = sim_case();
    let deferred = tmp.path().join("deferred");
    ok(&["case", "init", s(&deferred)]);
    // In sim_case's order (the same directory, sorted there too).
    let mut files: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("sim")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut args = vec!["import", "--case", s(&deferred), "--format", "agora-2014", "--defer-estimate"];
    args.extend(files.iter().map(|f| s(f)));
    ok(&args);
    let kept = |case: &Path| ["derived/sales-summary.bin", "derived/sales-units.bin"].map(|f| case.join(f).exists());
    assert_eq!(kept(&estimated), [true, true]);
    assert_eq!(kept(&deferred), [false, false]);
    // Extracting again with the flag leaves them to the query as well.
    ok(&["extract", "--case", s(&deferred), "--defer-estimate"]);
    assert_eq!(kept(&deferred), [false, false]);
    for rows in ["feedback", "listings"] {
        let list = |case: &Path| ok(&[rows, "--case", s(case), "--json"]).0;
        let want = list(&estimated);
        assert!(want.lines().count() >= 6_000, "{rows}: {}", want.lines().count());
        assert_eq!(list(&deferred), want, "{rows}");
    }
    for by in ["vendor", "month"] {
        let sales = |case: &Path| ok(&["sales", "--case", s(case), "--by", by, "--json"]).0;
        let want = sales(&estimated);
        assert!(want.lines().count() > 10, "{want}");
        assert_eq!(sales(&deferred), want, "--by {by}");
        assert_eq!(kept(&deferred), [true, true]);
    }
}

/// A vendor's dossier: its estimates are its rows of `dragnet sales --by
/// vendor`, its first and last days those of its listings and feedback,
/// and the name is matched whatever its case.
#[test]
fn a_dossier_agrees_with_the_vendors_rows() {
    let (_tmp, case) = sim_case();
    let (by_vendor, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let by_vendor = lines(&by_vendor);
    let vendor = by_vendor[by_vendor.len() / 2]["vendor"].as_str().unwrap().to_owned();
    let (d, _) = ok(&["vendor", "--case", s(&case), &vendor.to_uppercase(), "--json"]);
    let d: serde_json::Value = serde_json::from_str(&d).unwrap();
    let theirs: Vec<&serde_json::Value> = by_vendor.iter().filter(|r| r["vendor"] == vendor.as_str()).collect();
    let estimates = d["estimates"].as_array().unwrap();
    assert_eq!(estimates.len(), theirs.len());
    for (e, r) in estimates.iter().zip(theirs) {
        for field in ["market", "method", "sales", "revenue_usd", "units"] {
            assert_eq!(e[field], r[field], "{field}");
        }
    }
    // The observation days of its listings and feedback, from the export.
    let out = case.with_file_name("csv");
    ok(&["export", "--case", s(&case), "--format", "csv", "--out", s(&out)]);
    let mut days = std::collections::BTreeSet::new();
    for table in ["listings.csv", "feedback.csv"] {
        let mut r = csv::Reader::from_path(out.join(table)).unwrap();
        let h = r.headers().unwrap().clone();
        let (v, at) = (h.iter().position(|x| x == "vendor").unwrap(), h.iter().position(|x| x == "observed_at").unwrap());
        for rec in r.records() {
            let rec = rec.unwrap();
            if rec[v].eq_ignore_ascii_case(&vendor) {
                days.insert(rec[at][..10].to_owned());
            }
        }
    }
    assert!(days.len() > 1, "{days:?}");
    assert_eq!(d["first_seen"].as_str(), days.first().map(String::as_str));
    assert_eq!(d["last_seen"].as_str(), days.last().map(String::as_str));
}

/// Export writes feedback an account at a time and listings a batch at a
/// time: the files hold every row of the store, in its order, with the
/// fields `dragnet feedback` shows; its estimates are `dragnet sales --by
/// vendor`'s. (A simulated market of 40,000 feedback rows across some 60
/// vendors: several accounts and batches.)
#[test]
fn export_streams_every_row_in_the_stores_order() {
    let (tmp, case) = sim_case();
    let out = tmp.path().join("csv");
    let (text, _) = ok(&["export", "--case", s(&case), "--format", "csv", "--out", s(&out), "--json"]);
    let written = lines(&text);
    let rows_of = |t: &str| written.iter().find(|w| w["table"] == t).unwrap()["rows"].as_u64().unwrap();
    assert_eq!(rows_of("feedback"), 40_000);
    assert_eq!(rows_of("listings"), 6_000);
    let (shown, _) = ok(&["feedback", "--case", s(&case), "--json"]);
    let shown = lines(&shown);
    let mut r = csv::Reader::from_path(out.join("feedback.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let exported: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(exported.len(), shown.len());
    let vendors: std::collections::BTreeSet<&str> = exported.iter().map(|e| e.get(4).unwrap()).collect();
    assert!(vendors.len() > 20, "{} accounts", vendors.len());
    for (e, f) in exported.iter().zip(&shown) {
        for field in ["id", "market", "vendor", "listing", "date", "rating", "text", "buyer", "evidence"] {
            let i = h.iter().position(|x| x == field).unwrap();
            assert_eq!(e.get(i).unwrap(), f[field].as_str().unwrap_or(""), "{field} of {}", f["id"]);
        }
        let rule = h.iter().position(|x| x == "rule").unwrap();
        assert_eq!(e.get(rule).unwrap(), format!("{}#{}", f["profile"].as_str().unwrap(), f["rule"].as_str().unwrap()));
    }
    let listings = csv::Reader::from_path(out.join("listings.csv")).unwrap().records().count();
    assert_eq!(listings, 6_000);
    let (by_vendor, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let by_vendor = lines(&by_vendor);
    let mut r = csv::Reader::from_path(out.join("estimates.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let estimates: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(estimates.len(), by_vendor.len());
    for (e, v) in estimates.iter().zip(&by_vendor) {
        assert_eq!((e.get(col("vendor")).unwrap(), e.get(col("method")).unwrap()), (v["vendor"].as_str().unwrap(), v["method"].as_str().unwrap()));
        assert_eq!(e.get(col("sales")).unwrap().parse::<f64>().unwrap(), v["sales"].as_f64().unwrap());
    }
}

/// `sales --from/--to` lists the notes on rows whose days meet the window
/// and counts the others (it listed every note of the case, whatever the
/// window); without a window every note is listed, as before.
#[test]
fn sales_notes_follow_the_from_to_window() {
    let (tmp, case, mapping) = shop_case("sold = \"sold\"\n");
    // Two crawls, May and June, each with a listing priced in BTC: with no
    // --rates, each is counted without revenue, with a note.
    let june = tmp.path().join("june.toml");
    std::fs::write(&june, std::fs::read_to_string(&mapping).unwrap().replace("2020-05-01", "2020-06-15").replace("shop-2020", "shop-june")).unwrap();
    let may_data = tmp.path().join("may.csv");
    std::fs::write(&may_data, "item,seller,price,sold\nin may,anna,0.01 BTC,12\n").unwrap();
    let june_data = tmp.path().join("june.csv");
    std::fs::write(&june_data, "item,seller,price,sold\nin june,bob,0.02 BTC,3\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&may_data)]);
    ok(&["import", "--case", s(&case), "--format", s(&june), s(&june_data)]);
    let (out, _) = ok(&["listings", "--case", s(&case), "--json"]);
    let id_of = |title: &str| lines(&out).iter().find(|l| l["title"] == title).unwrap()["id"].as_str().unwrap().to_owned();
    let (may, june) = (id_of("in may"), id_of("in june"));
    // A note names the row's file and line, then its id: "FILE line N (ID)".
    let note_ids = |err: &str| -> Vec<String> {
        err.lines()
            .filter_map(|l| l.strip_prefix("note: ")?.split_once(": ").and_then(|(at, _)| at.strip_suffix(')')?.rsplit_once(" (")).map(|(_, id)| id.to_owned()))
            .filter(|id| id.starts_with("L-"))
            .collect()
    };
    // The whole case: both notes, each naming its file and line.
    let (out, err) = ok(&["sales", "--case", s(&case)]);
    assert_eq!(note_ids(&err), [may.as_str(), june.as_str()], "{err}");
    assert!(err.contains(&format!("note: {} line 2 ({may}): ", may_data.display())), "{err}");
    assert!(err.contains(&format!("note: {} line 2 ({june}): ", june_data.display())), "{err}");
    // No sale is priced (BTC without --rates): the revenue is unknown, not $0.00.
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("\tsold_counter\t")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().all(|l| l.contains("\trevenue n/a (no sale priced)\t") && !l.contains('$')), "{out}");
    assert!(out.contains("; 2 rows with notes\n"), "{out}");
    assert!(!err.contains("outside"), "{err}");
    // June on: the June row's note; the May row's is counted, not listed.
    let (out, err) = ok(&["sales", "--case", s(&case), "--from", "2020-06-01"]);
    assert_eq!(note_ids(&err), [june], "{err}");
    assert!(err.contains("note: 1 rows with notes on days outside --from 2020-06-01 not listed"), "{err}");
    assert!(out.contains("; 1 rows with notes in --from 2020-06-01 (0 of them undated), 1 outside it\n"), "{out}");
    let (_, err) = ok(&["sales", "--case", s(&case), "--from", "2020-05-01", "--to", "2020-05-31"]);
    assert_eq!(note_ids(&err), [may], "{err}");
    assert!(err.contains("outside --from 2020-05-01 --to 2020-05-31 not listed"), "{err}");
    // A window that meets neither: no note listed, both counted.
    let (out, err) = ok(&["sales", "--case", s(&case), "--to", "2020-04-30"]);
    assert!(note_ids(&err).is_empty(), "{err}");
    assert!(out.contains("; 0 rows with notes in --to 2020-04-30 (0 of them undated), 2 outside it\n"), "{out}");
}

/// A sold counter seen once, with no "since" date, counts sales made on or
/// before that day from a day not known: by month they are "undated" (they
/// were the month they were seen), and a window that may not hold them all
/// leaves them out and says how many.
#[test]
fn first_counter_values_without_since_are_undated() {
    let (tmp, case, mapping) = shop_case("sold = \"sold\"\n");
    let may_data = tmp.path().join("may.csv");
    std::fs::write(&may_data, "item,seller,price,sold\nin may,anna,10 USD,12\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&may_data)]);
    let (out, err) = ok(&["sales", "--case", s(&case), "--by", "month"]);
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("\tsold_counter\t")).collect();
    assert_eq!(rows.len(), 1, "{out}");
    // No first day is given: they may be older than any day shown.
    assert!(rows[0].starts_with("undated\tsold_counter\tsales 12.0 ") && rows[0].ends_with("\tundated 12.0\tunknown..2020-05-01"), "{out}");
    assert!(err.contains("note: month \"undated\": counters' first values with no \"since\""), "{err}");
    let (out, _) = ok(&["sales", "--case", s(&case), "--by", "month", "--json"]);
    let row = &lines(&out)[0];
    assert_eq!((row["month"].as_str(), row["undated_sales"].as_f64(), row["first_day"].is_null()), (Some("undated"), Some(12.0), true), "{out}");
    // By vendor over all days too: the sales are counted, and said undated.
    let (out, _) = ok(&["sales", "--case", s(&case), "--by", "vendor"]);
    assert!(out.lines().any(|l| l.starts_with("shop / anna\tsold_counter\tsales 12.0 ") && l.ends_with("\tundated 12.0\tunknown..2020-05-01")), "{out}");
    // A window from May 1: the 12 may have been sold before it.
    let (out, err) = ok(&["sales", "--case", s(&case), "--from", "2020-05-01"]);
    assert!(!out.contains("\tsold_counter\t"), "{out}");
    assert!(err.contains("note: 12 sales (1 units) left out of --from 2020-05-01: counters' first values"), "{err}");
    // Through May 31: surely all in it.
    let (out, err) = ok(&["sales", "--case", s(&case), "--to", "2020-05-31"]);
    assert!(out.contains("\tsold_counter\tsales 12.0 "), "{out}");
    assert!(!err.contains("left out"), "{err}");
}

/// `dragnet listings` says when each listing was observed: a dataset row's
/// own time, else the capture time of its page (it printed no date at all).
#[test]
fn listings_say_when_they_were_observed() {
    let (tmp, case, mapping) = shop_case("");
    let data = tmp.path().join("shop.csv");
    std::fs::write(&data, "item,seller,price\nthing,anna,10 USD\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    let pages = testdata::shared("markets/pages/dream");
    if let Some(pages) = &pages {
        ok(&["import", "--case", s(&case), "--captured-at", "2019-03-01", s(pages)]);
        ok(&["extract", "--case", s(&case)]);
    }
    let (out, _) = ok(&["listings", "--case", s(&case), "--json"]);
    let rows = lines(&out);
    let dated = |market: &str, day: &str| {
        let of_market: Vec<_> = rows.iter().filter(|r| r["market"] == market).collect();
        assert!(!of_market.is_empty(), "no {market} listing: {out}");
        assert!(of_market.iter().all(|r| r["observed_at"].as_str().is_some_and(|t| t.starts_with(day))), "{out}");
    };
    dated("shop", "2020-05-01");
    if pages.is_some() {
        dated("dream", "2019-03-01");
    }
    let (text, _) = ok(&["listings", "--case", s(&case), "--market", "shop"]);
    assert!(text.lines().any(|l| l.contains("  2020-05-01 shop ") && l.ends_with(" thing")), "{text}");
}

/// By destination a sale counts under each place its listing ships to (so
/// the rows add up to more than the total), and `sales` says so.
#[test]
fn by_destination_says_that_rows_overlap() {
    let (tmp, case, mapping) = shop_case("sold = \"sold\"\nships_to = { column = \"to\", split = \"|\" }\n");
    let data = tmp.path().join("shop.csv");
    std::fs::write(&data, "item,seller,price,sold,to\nthing,anna,10 USD,4,DE|FR\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    let (out, err) = ok(&["sales", "--case", s(&case), "--by", "destination", "--json"]);
    let rows = lines(&out);
    let places: Vec<(&str, f64)> = rows.iter().map(|r| (r["destination"].as_str().unwrap(), r["sales"].as_f64().unwrap())).collect();
    assert_eq!(places, [("France (FR)", 4.0), ("Germany (DE)", 4.0)], "{out}");
    assert!(err.contains("note: by destination, a sale counts under every place its listing ships to"), "{err}");
    let (_, err) = ok(&["sales", "--case", s(&case), "--by", "market"]);
    assert!(!err.contains("by destination"), "{err}");
}

/// `vendor NAME` gathers the accounts of that name on every market, and
/// says that a name groups them without linking them.
#[test]
fn a_dossier_across_markets_says_it_groups_by_name_only() {
    let (tmp, case, mapping) = shop_case("");
    let other = tmp.path().join("other.toml");
    std::fs::write(&other, std::fs::read_to_string(&mapping).unwrap().replace("market = \"shop\"", "market = \"bazaar\"").replace("shop-2020", "bazaar-2020")).unwrap();
    let data = tmp.path().join("shop.csv");
    std::fs::write(&data, "item,seller,price\nthing,anna,10 USD\n").unwrap();
    let data2 = tmp.path().join("bazaar.csv");
    std::fs::write(&data2, "item,seller,price\nother thing,Anna,12 USD\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    let (one, _) = ok(&["vendor", "--case", s(&case), "anna"]);
    assert!(one.contains("\naccounts:\n"), "{one}");
    ok(&["import", "--case", s(&case), "--format", s(&other), s(&data2)]);
    let (two, _) = ok(&["vendor", "--case", s(&case), "anna"]);
    assert!(two.contains("\naccounts: named \"anna\" on 2 markets; grouped by name only, not linked"), "{two}");
    assert!(two.contains("  bazaar / Anna: 1 listings") && two.contains("  shop / anna: 1 listings"), "{two}");
}

/// An identifier found in a dataset file is cited by its line, as rows are,
/// and a chain tag names the file and line, not a "page" of a vendor.
#[test]
fn dataset_identifiers_cite_their_line() {
    let (tmp, case, mapping) = shop_case("");
    let data = tmp.path().join("shop.csv");
    // Line 3, after a bare CR (AlphaBay ends its lines so).
    std::fs::write(&data, "item,seller,price\nthing,anna,10 USD\rpay 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2,bob,5 USD\n").unwrap();
    ok(&["import", "--case", s(&case), "--format", s(&mapping), s(&data)]);
    let (out, _) = ok(&["identifiers", "--case", s(&case), "--kind", "btc", "--json"]);
    let rows = lines(&out);
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0]["rule"], "identifier/btc, line 3", "{out}");
    ok(&["chain", "--case", s(&case), "tag", "from-pages"]);
    let (tags, _) = ok(&["chain", "--case", s(&case), "tag", "list"]);
    assert!(tags.contains(&format!("\tseen in shop dataset file {}, line 3\t", s(&data))), "{tags}");
}

/// A contact a vendor wrote in its own listing title in a dataset file of
/// many vendors is that vendor's, in its dossier and in the report (both
/// once took identifiers from profile pages only); one a buyer wrote in a
/// feedback cell is nobody's, and a handle inside a longer word does not count.
#[test]
fn contacts_in_a_vendors_own_dataset_titles_are_its_identifiers() {
    let files = ["alphabay-2017/Fraud_-_other_-_20170507.csv", "agora-2014/vendor__vendorall_0114.csv", "agora-2014/product__products-2014-03-01.csv"];
    let Some(files) = files.iter().map(|f| testdata::shared(&format!("listings/{f}"))).collect::<Option<Vec<_>>>() else { return };
    let (_tmp, case) = case_with(&files);
    let identifiers = |name: &str| -> Vec<String> {
        let (out, _) = ok(&["vendor", "--case", s(&case), "--json", name]);
        let d: serde_json::Value = serde_json::from_str(&out).unwrap();
        d["identifiers"].as_array().unwrap().iter().map(|i| format!("{} {} {}", i["market"].as_str().unwrap(), i["kind"].as_str().unwrap(), i["value"].as_str().unwrap())).collect()
    };
    // "- Flights - Hotels - Car rentals - 30% - WICKR: resefix , uanon@dukgo.com"
    assert_eq!(identifiers("uanon"), ["alphabay jabber uanon@dukgo.com", "alphabay wickr resefix"]);
    assert_eq!(identifiers("getlost"), ["alphabay jabber getlost@exploit.im"]);
    assert_eq!(identifiers("tomorrowman"), ["agora email tomorrowman@safe-mail.net"]);
    // 172XeYs4... is in a buyer's feedback (line 27893 of the product file):
    // found and stored, and no vendor's.
    let (out, _) = ok(&["identifiers", "--case", s(&case), "--kind", "btc", "--json"]);
    assert_eq!(lines(&out).len(), 1, "{out}");
    let report = case.join("report-csv");
    ok(&["report", "--case", s(&case), "--csv", s(&report)]);
    let vendors = std::fs::read_to_string(report.join("vendors.csv")).unwrap();
    assert!(!vendors.contains("172XeYs4aeuifeVWryhEEt1PVsaLW78ULv"), "{vendors}");
    let row = |name: &str| vendors.lines().find(|l| l.split(',').nth(2) == Some(name)).unwrap_or_else(|| panic!("{name}: {vendors}")).to_owned();
    assert!(row("tomorrowman").contains("email:tomorrowman@safe-mail.net"), "{}", row("tomorrowman"));
    assert!(row("uanon").contains("wickr:resefix"), "{}", row("uanon"));
    // The dossier and the report give every account the same identifiers
    // (they followed two rules: a review found a search page's and a Monero
    // address given by one and not the other).
    let mut report = csv::Reader::from_path(report.join("vendors.csv")).unwrap();
    let header = report.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (market, name, ids) = (col("market"), col("name"), col("identifiers"));
    let mut compared = 0;
    for r in report.records().map(Result::unwrap).filter(|r| !r[ids].is_empty()) {
        let (out, _) = ok(&["vendor", "--case", s(&case), "--json", &r[name]]);
        let d: serde_json::Value = serde_json::from_str(&out).unwrap();
        let all = d["identifiers"].as_array().unwrap().iter().chain(d["market_identifiers"].as_array().unwrap());
        let mut dossier: Vec<String> = all.filter(|i| i["market"] == r[market]).map(|i| format!("{}:{}", i["kind"].as_str().unwrap(), i["value"].as_str().unwrap())).collect();
        dossier.sort();
        let mut reported: Vec<&str> = r[ids].split(' ').collect();
        reported.sort();
        assert_eq!(dossier, reported, "{}", &r[name]);
        compared += 1;
    }
    assert_eq!(compared, 3);
}

/// A group with sales and no priced sale has an unknown revenue: `null` in
/// JSON, empty in CSV and in the exported estimates (the text says n/a);
/// before, all three said 0.0, which a script summing revenue took for a
/// measured zero.
#[test]
fn revenue_of_no_priced_sale_is_null_not_zero() {
    let Some(agora) = testdata::shared("listings/agora-2014/product__products-2014-03-01.csv") else { return };
    let (tmp, case) = case_with(&[agora]);
    // No --rates: Agora's BTC prices are all unpriced.
    let (out, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let rows = lines(&out);
    let sold: Vec<&serde_json::Value> = rows.iter().filter(|r| r["sales_lower"].as_f64().unwrap() > 0.0).collect();
    assert!(sold.len() > 100);
    for r in &sold {
        assert!(r["revenue_usd"].is_null() && r["revenue_usd_lower"].is_null(), "{r}");
        assert_eq!(r["unpriced_sales"], r["sales_lower"]);
    }
    let (csv_out, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--csv"]);
    let mut rd = csv::Reader::from_reader(csv_out.as_bytes());
    let h = rd.headers().unwrap().clone();
    let rev = h.iter().position(|x| x == "revenue_usd").unwrap();
    assert!(rd.records().map(|r| r.unwrap()).all(|r| r[rev].is_empty()));
    let dir = tmp.path().join("exp");
    ok(&["export", "--case", s(&case), "--format", "csv", "--out", s(&dir)]);
    let mut rd = csv::Reader::from_path(dir.join("estimates.csv")).unwrap();
    let h = rd.headers().unwrap().clone();
    let (rev, lower) = (h.iter().position(|x| x == "revenue_usd").unwrap(), h.iter().position(|x| x == "sales_lower").unwrap());
    for r in rd.records().map(|r| r.unwrap()) {
        assert!(r[lower].parse::<f64>().unwrap() == 0.0 || r[rev].is_empty(), "{r:?}");
    }
}

/// Agora showed BTC only: the derived files' `usd` column is the dataset's
/// own conversion on the crawl day, not a price the market showed. A sale is
/// priced at the BTC price converted on its own day. HighTimes' one feedback,
/// "157 days ago" on a page of 2014-09-29, is of 2014-04-24..26: 0.14510341
/// BTC at the series' rate of the middle day, 2014-04-25 (by hand: $67.68),
/// where the crawl day's conversion gave $54.37. Premiumgear's three, 120 to
/// 192 days old, come to $788.86 (the crawl day's: $441.20).
#[test]
fn agora_sales_are_priced_at_the_sale_day_not_the_datasets_conversion() {
    let Some(sample) = testdata::shared("listings/agora-2014/random-sample100_0e304b108eec01f26adc7c47458c926215ab993a.csv") else { return };
    let Some(franchise) = testdata::shared("listings/agora-2014/derived__p14c-ukFranchise.csv") else { return };
    let Some(rates) = testdata::shared("rates/btc_daily.csv") else { return };
    let (_tmp, case) = case_with(&[sample, franchise]);
    let (out, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json", "--rates", s(&rates)]);
    let rows = lines(&out);
    let series = std::fs::read_to_string(&rates).unwrap();
    let rate = |day: &str| -> f64 { series.lines().find_map(|l| l.strip_prefix(&format!("{day},"))).unwrap().parse().unwrap() };
    let high = find(&rows, "HighTimes", "feedback_count");
    let want = 0.14510341 * rate("2014-04-25");
    assert!((want - 67.68).abs() < 0.005, "the hand figure: {want}");
    assert!((high["revenue_usd_lower"].as_f64().unwrap() - want).abs() < 0.005, "{high}");
    let premium = find(&rows, "Premiumgear", "feedback_count");
    assert!((premium["revenue_usd_lower"].as_f64().unwrap() - 788.86).abs() < 0.005, "{premium}");
}

/// I_dont_know sold "Hydromorphone S.R" as two Agora listings (by hand, in
/// the product files: `FvjLj8sflU` at 0.43769039 BTC and `SFEsp6ttLL` at
/// 0.08753807 BTC on 2014-02-23; on 2014-03-01 the first row holds 2
/// feedback, 3 and 5 days old, the second 5). Each sale is priced by the
/// listing whose row holds its feedback: the first two were priced at the
/// other listing's 0.08753807 BTC, the latest row of the title on their day.
#[test]
fn agora_feedback_is_priced_by_its_own_listing_when_two_share_a_title() {
    let files = ["product__products-2014-02-02.csv", "product__products-2014-03-01.csv"];
    let Some(files) = files.iter().map(|f| testdata::shared(&format!("listings/agora-2014/{f}"))).collect::<Option<Vec<_>>>() else { return };
    let Some(rates) = testdata::shared("rates/btc_daily.csv") else { return };
    let (_tmp, case) = case_with(&files);
    let (out, _) = ok(&["vendor", "--case", s(&case), "--json", "--units", "--rates", s(&rates), "I_dont_know"]);
    let units = lines(&out);
    let amounts: Vec<&str> = units
        .iter()
        .filter(|u| u["listing"] == "Hydromorphone S.R" && u["method"] == "feedback_count")
        .map(|u| u["price"]["amount"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(amounts.len(), 7, "{amounts:?}");
    assert_eq!(amounts.iter().filter(|&&a| a == "0.43769039").count(), 2, "{amounts:?}");
    assert_eq!(amounts.iter().filter(|&&a| a == "0.08753807").count(), 5, "{amounts:?}");
    // The two are priced from FvjLj8sflU's own row, line 29771 of the February file.
    for u in units.iter().filter(|u| u["price"]["amount"] == "0.43769039") {
        let pricing_row = u["sources"].as_array().unwrap().last().unwrap().as_str().unwrap();
        let (text, _) = ok(&["explain", "--case", s(&case), pricing_row]);
        assert!(text.contains("line 29771") && text.contains("product__products-2014-02-02.csv"), "{text}");
    }
}

/// 3dames has 19 listings in January 2014 (by hand: 19 listing ids in the
/// product file, 19 titles in each vendorall file, each title one of the
/// product file's). The vendorall files list them by title alone (the older
/// one as title and description in one text, the newer with commas
/// dropped); each such row is the listing of the product file that shows
/// its title, not a listing of its own (57 before).
#[test]
fn agora_vendorall_rows_are_the_listings_the_product_file_names() {
    let files = ["product__products-2014-01.csv", "vendor__vendorall_0114.csv", "vendor__vendorall_0114_v2_with_description.csv"];
    let Some(files) = files.iter().map(|f| testdata::shared(&format!("listings/agora-2014/{f}"))).collect::<Option<Vec<_>>>() else { return };
    let (_tmp, case) = case_with(&files);
    let (out, _) = ok(&["vendor", "--case", s(&case), "--json", "3dames"]);
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["accounts"][0]["listings"], 19, "{}", d["accounts"]);
    assert_eq!(d["listings"].as_array().unwrap().len(), 19);
    let day = d["timeline"].as_array().unwrap().iter().find(|t| t["day"] == "2014-01-01").unwrap();
    assert_eq!((&day["distinct_listings"], &day["listings"]), (&19.into(), &57.into()), "{day}");
    // Each listing line is seen in all three files of the first day.
    for line in d["listings"].as_array().unwrap() {
        assert!(line["observations"].as_u64().unwrap() >= 3, "{line}");
    }
    let (text, _) = ok(&["vendor", "--case", s(&case), "3dames"]);
    assert!(text.contains("2014-01-01 agora: 19 listings (57 observations)"), "{text}");
    // Listings seen only in the vendorall files, by hand: lsdaisy!'s 15
    // titles, each in both files on three days (30 before: each file's row
    // its own listing); ManInTheMiddle's 9 product-file ids and 4 titles no
    // product row shows ("custom order - secret buyer", "Half Pound Purple
    // Kush - AAA+", "1 Pound Purple Kush - AAA+" and "1 Ounce Purple Kush -
    // AAA+ (for USA or International buyers only)"; 18 before). KryptykOG
    // and MrSunshine relist titles under new ids (39 and 10 ids in the
    // product file, the titles of each vendorall row among them): each row is
    // one of the relists (59 and 20 before, each row its own listing).
    for (vendor, listings) in [("lsdaisy!", 15), ("ManInTheMiddle", 13), ("KryptykOG", 39), ("MrSunshine", 10)] {
        let (out, _) = ok(&["vendor", "--case", s(&case), "--json", vendor]);
        let d: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(d["accounts"][0]["listings"], listings, "{vendor}: {}", d["accounts"]);
    }
}

/// `vendor NAME --units` drills an estimate down to its units and their
/// rows: per account and method the units add up to the `sales` line
/// (lower bound and central), each unit names rows `explain` traces to the
/// evidence, and a sold-counter unit's row shows the counter it counts.
#[test]
fn vendor_units_add_up_to_the_estimates_and_name_their_rows() {
    let Some(files) = alphabay() else { return };
    let Some(sample) = testdata::shared("listings/agora-2014/random-sample100_0e304b108eec01f26adc7c47458c926215ab993a.csv") else { return };
    let mut files = files;
    files.push(sample);
    let (_tmp, case) = case_with(&files);
    let (out, _) = ok(&["sales", "--case", s(&case), "--by", "vendor", "--json"]);
    let estimates = lines(&out);
    for vendor in ["ukwhite", "HighTimes"] {
        let (out, _) = ok(&["vendor", "--case", s(&case), "--json", "--units", vendor]);
        let units = lines(&out);
        assert!(!units.is_empty(), "{vendor}");
        let mut sums: std::collections::BTreeMap<(String, String, String), (f64, f64)> = Default::default();
        for u in &units {
            assert!(u["vendor"].as_str().unwrap().eq_ignore_ascii_case(vendor), "{u}");
            let key = (u["market"].as_str().unwrap().to_owned(), u["vendor"].as_str().unwrap().to_owned(), u["method"].as_str().unwrap().to_owned());
            let (sales, scale) = (u["sales"].as_f64().unwrap(), u["scale"].as_f64().unwrap());
            let sum = sums.entry(key).or_default();
            sum.0 += sales;
            sum.1 += sales * scale;
            assert!(!u["sources"].as_array().unwrap().is_empty(), "{u}");
        }
        for ((market, name, method), (lower, central)) in &sums {
            let e = estimates.iter().find(|e| e["market"] == market.as_str() && e["vendor"] == name.as_str() && e["method"] == method.as_str()).unwrap();
            assert!((e["sales_lower"].as_f64().unwrap() - lower).abs() < 1e-6, "{e} vs {lower}");
            assert!((e["sales"].as_f64().unwrap() - central).abs() < 1e-6, "{e} vs {central}");
        }
        // The first unit's rows lead to the evidence.
        for id in units[0]["sources"].as_array().unwrap() {
            let (text, _) = ok(&["explain", "--case", s(&case), id.as_str().unwrap()]);
            assert!(text.contains("intact"), "{text}");
        }
    }
    // ukwhite's biggest counter: 1,431 sold, one listing row that shows it.
    let (out, _) = ok(&["vendor", "--case", s(&case), "--json", "--units", "ukwhite"]);
    let big = lines(&out).into_iter().find(|u| u["sales"].as_f64() == Some(1431.0)).expect("the 1,431 unit");
    let row = big["sources"][0].as_str().unwrap();
    let (listings, _) = ok(&["listings", "--case", s(&case), "--json", "--vendor", "ukwhite"]);
    let listing = lines(&listings).into_iter().find(|l| l["id"] == row).expect("the unit's row");
    assert_eq!(listing["sold"], 1431, "{listing}");
    let (text, _) = ok(&["vendor", "--case", s(&case), "--units", "ukwhite"]);
    assert!(text.contains("alphabay / ukwhite sold_counter: 16 units, 6329.0 sales (lower)"), "{text}");
    assert!(!dragnet(&["vendor", "--case", s(&case), "--units", "nobody-at-all"]).status.success());
    // A name beginning with `-` (Agora's `-Inanna-`) is a name, not an option.
    let out = dragnet(&["vendor", "--case", s(&case), "-nobody-"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no vendor named \"-nobody-\""), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Dream 2017 names only its crawl month ("2017-07"): a counter read some
/// day in July counts sales on or before a day as late as July 31, so a
/// window ending July 1 does not hold them (it did: 49,438 sales, found by a
/// review), one ending July 31 does; a price is read at the month's middle
/// day. By hand: thebestchemist's median listing price is 0.02348 BTC, at
/// the 2017-07-16 close (1,910.75) $44.86 (at July 1's, $56.64).
#[test]
fn a_month_only_crawl_date_is_the_whole_month() {
    let Some(dream) = testdata::shared("listings/dream-2017") else { return };
    let Some(rates) = testdata::shared("rates/btc_daily.csv") else { return };
    let (tmp, case) = case_with(&[dream]);
    let by_market = |to: &str| {
        let out = dragnet(&["sales", "--case", s(&case), "--by", "market", "--json", "--to", to]);
        assert!(out.status.success());
        (lines(&String::from_utf8(out.stdout).unwrap()), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (rows, notes) = by_market("2017-07-01");
    assert!(rows.iter().all(|r| r["method"] != "vendor_counter"), "{rows:?}");
    assert!(notes.contains("49438 sales (180 units) left out of --to 2017-07-01"), "{notes}");
    let (rows, _) = by_market("2017-07-31");
    let counted = rows.iter().find(|r| r["method"] == "vendor_counter").expect("the counters");
    assert_eq!((counted["sales"].as_f64(), counted["last_day"].as_str()), (Some(49438.0), Some("2017-07-31")));
    let (out, _) = ok(&["vendor", "--case", s(&case), "--json", "--rates", s(&rates), "thebestchemist"]);
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    let median = d["accounts"][0]["median_price_usd"].as_f64().unwrap();
    assert!((median - 0.02348 * 1910.74954161309).abs() < 0.005 && (median - 44.86).abs() < 0.005, "{median}");
    // Seen some day of July: first and last seen are the month's ends, in
    // the account and the dossier, as in the report (both said July 1).
    assert_eq!((d["accounts"][0]["first_seen"].as_str(), d["accounts"][0]["last_seen"].as_str()), (Some("2017-07-01"), Some("2017-07-31")), "{out}");
    assert_eq!((d["first_seen"].as_str(), d["last_seen"].as_str()), (Some("2017-07-01"), Some("2017-07-31")), "{out}");
    // The exported listings are converted on the same day (they were at
    // July 1's rate, found by a review): each row's price_usd is its BTC
    // price at the July 16 close, and its rate says so.
    let out = tmp.path().join("export");
    ok(&["export", "--case", s(&case), "--rates", s(&rates), "--format", "csv", "--out", s(&out)]);
    let mut rows = csv::Reader::from_path(out.join("listings.csv")).unwrap();
    let header = rows.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (mut checked, vendor, amount, currency, usd, rate) = (0, col("vendor"), col("price_amount"), col("price_currency"), col("price_usd"), col("usd_rate"));
    for row in rows.records().map(Result::unwrap).filter(|r| &r[vendor] == "thebestchemist" && &r[currency] == "BTC") {
        let btc: f64 = row[amount].parse().unwrap();
        let exported: f64 = row[usd].parse().unwrap();
        assert!((exported - btc * 1910.74954161309).abs() < 0.01, "{row:?}");
        assert!(row[rate].contains("2017-07-16"), "{row:?}");
        checked += 1;
    }
    assert_eq!(checked, 25);
}
