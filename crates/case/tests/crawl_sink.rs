//! The case as the crawler's sink: pages are classified with the market
//! profiles (a login form, a captcha or an anti-DDoS filter pauses a crawl),
//! and responses are stored as crawl evidence that a resumed crawl can find
//! by its source.

use std::time::Duration;

use case::Case;
use crawl::{Fetched, PageKind, Sink};

fn response(url: &str, body: &[u8]) -> Fetched {
    Fetched {
        url: url.into(),
        status: 200,
        head: b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n".to_vec(),
        body: body.to_vec(),
        truncated: false,
        location: None,
        retry_after: None,
        elapsed: Duration::from_millis(5),
        circuit: "direct".into(),
        request_head: format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", url.split_once(".onion").map_or("/", |(_, p)| p)).into_bytes(),
        started_at: chrono::Utc::now(),
    }
}

#[test]
fn pages_that_pause_a_crawl_and_pages_that_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let case = Case::init(&tmp.path().join("case"), "tester").unwrap();
    let sim = sim::generate_markets(&sim::MarketSimConfig::default());
    let page = |suffix: &str| &sim.files.iter().find(|f| f.rel_path.ends_with(suffix)).expect(suffix).bytes;
    assert_eq!(case.kind(page("placebo/login.html")), PageKind::Login);
    assert_eq!(case.kind(page("placebo/captcha.html")), PageKind::Captcha);
    assert_eq!(case.kind(page("placebo/index.html")), PageKind::Content);
    let ddos = b"<html><head><title>Checking your browser</title></head><body><p>DDoS protection: please wait 5 seconds</p></body></html>";
    assert_eq!(case.kind(ddos), PageKind::Ddos);
}

#[test]
fn stored_responses_are_found_by_source_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    let mut case = Case::init(&dir, "tester").unwrap();
    let r = response("http://x.onion/a.html", b"<html>a</html>");
    let sha = Sink::store(&mut case, &r, "crawl/m/1", chrono::Utc::now()).unwrap();
    assert_eq!(Sink::store(&mut case, &r, "crawl/m/1", chrono::Utc::now()).unwrap(), sha, "same bytes, same source: nothing new");
    assert_eq!(case.stored("crawl/m/1", "http://x.onion/a.html"), Some((sha.clone(), b"<html>a</html>".to_vec())));
    assert_eq!(case.stored("crawl/m/2", "http://x.onion/a.html"), None);
    // A record under the row's source from another URL is not the page.
    assert_eq!(case.stored("crawl/m/1", "http://x.onion/b.html"), None);
    let rec = case.evidence().records().into_iter().find(|x| x.sha256.to_hex() == sha).unwrap();
    assert_eq!((rec.warc_type.as_str(), rec.url.as_deref()), ("response", Some("http://x.onion/a.html")));
    assert!(case.verify().is_intact());
}

/// Records at the end of an evidence file can be cut off together with
/// their index lines, leaving both self-consistent: the custody log's
/// acquire entries still name them. A later capture of stored bytes (an
/// alias record naming its source) and a crawled page's request record are
/// each checked for, not only the payload (both went unnoticed).
#[test]
fn an_alias_or_request_record_cut_off_the_end_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    let mut case = Case::init(&dir, "tester").unwrap();
    let r = response("http://x.onion/a.html", b"<html>a</html>");
    Sink::store(&mut case, &r, "crawl/m/1", chrono::Utc::now()).unwrap();
    let index = std::fs::read_to_string(dir.join("evidence/index.jsonl")).unwrap();
    // The same bytes from a second frontier row: an alias, then its request.
    Sink::store(&mut case, &r, "crawl/m/2", chrono::Utc::now()).unwrap();
    assert!(case.verify().is_intact(), "{:?}", case.verify().problems);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("evidence/index.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(&kinds[kinds.len() - 2..], ["alias", "request"]);
    let warc = dir.join("evidence").join(lines[0]["file"].as_str().unwrap());
    let cut_at = |kind: &str, keep_index: &str| {
        let at = lines.iter().rev().find(|l| l["kind"] == kind).unwrap()["offset"].as_u64().unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&warc).unwrap();
        f.set_len(at).unwrap();
        std::fs::write(dir.join("evidence/index.jsonl"), keep_index).unwrap();
        Case::open(&dir, "tester").unwrap().verify().problems.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    // The request record alone.
    let without_request: String = lines[..lines.len() - 1].iter().map(|l| format!("{l}\n")).collect();
    let problems = cut_at("request", &without_request);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("the request record that fetched it is missing") && problems[0].contains("crawl/m/2"), "{problems:?}");
    // The alias and its request: the first capture's lines only.
    let problems = cut_at("alias", &index);
    assert!(problems.iter().any(|p| p.contains("no stored record names that source") && p.contains("crawl/m/2")), "{problems:?}");
}

/// Each acquire entry names the gzip members it wrote (`members`: the
/// response and its request record), as digests of the bytes the evidence
/// file holds for them: the hash chain then covers the members' framing,
/// which the payload digest does not (F12).
#[test]
fn acquire_entries_name_the_members_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    let mut case = Case::init(&dir, "tester").unwrap();
    let r = response("http://x.onion/a.html", b"<html>a</html>");
    Sink::store(&mut case, &r, "crawl/m/1", chrono::Utc::now()).unwrap();
    let entries = case.evidence().custody().entries().unwrap();
    let named: Vec<String> = entries
        .iter()
        .filter(|e| e.action == "acquire")
        .flat_map(|e| e.detail["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()))
        .collect();
    let file = std::fs::read(dir.join("evidence/evidence-00001.warc.gz")).unwrap();
    let index = std::fs::read_to_string(dir.join("evidence/index.jsonl")).unwrap();
    let written: Vec<String> = index
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["kind"] != "warcinfo")
        .map(|l| {
            let (at, len) = (l["offset"].as_u64().unwrap() as usize, l["length"].as_u64().unwrap() as usize);
            model::Sha256::of(&file[at..at + len]).to_hex()
        })
        .collect();
    assert_eq!(written.len(), 2, "a response and its request: {index}");
    assert_eq!(named, written);
    assert!(case.verify().is_intact());
}

/// A crawl killed between storing a page and logging it logs it when it
/// resumes: `new` says whether this source stored the bytes first (not
/// always true: a second source of stored bytes is an alias), and
/// `truncated` whether the capture was cut short.
#[test]
fn a_page_logged_on_resume_says_whether_it_was_new() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    let mut case = Case::init(&dir, "tester").unwrap();
    let r = response("http://x.onion/a.html", b"<html>a</html>");
    Sink::store(&mut case, &r, "crawl/m/1", chrono::Utc::now()).unwrap();
    Sink::store(&mut case, &r, "crawl/m/2", chrono::Utc::now()).unwrap();
    drop(case);
    // Both acquire entries lost, as if each crawl was killed before logging.
    let log = dir.join("evidence/custody.jsonl");
    let kept: String = std::fs::read_to_string(&log).unwrap().lines().filter(|l| !l.contains("\"acquire\"")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, kept).unwrap();
    let mut case = Case::open(&dir, "tester").unwrap();
    assert!(case.stored("crawl/m/1", "http://x.onion/a.html").is_some() && case.stored("crawl/m/2", "http://x.onion/a.html").is_some());
    let entries = case.evidence().custody().entries().unwrap();
    let logged: Vec<(&str, bool, bool)> = entries
        .iter()
        .filter(|e| e.action == "acquire")
        .map(|e| (e.detail["source"].as_str().unwrap(), e.detail["new"].as_bool().unwrap(), e.detail["truncated"].as_bool().unwrap()))
        .collect();
    assert_eq!(logged, [("crawl/m/1", true, false), ("crawl/m/2", false, false)]);
}
