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
    assert_eq!(case.stored("crawl/m/1"), Some((sha.clone(), b"<html>a</html>".to_vec())));
    assert_eq!(case.stored("crawl/m/2"), None);
    let rec = case.evidence().records().into_iter().find(|x| x.sha256.to_hex() == sha).unwrap();
    assert_eq!((rec.warc_type.as_str(), rec.url.as_deref()), ("response", Some("http://x.onion/a.html")));
    assert!(case.verify().is_intact());
}
