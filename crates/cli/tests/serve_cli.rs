//! `dragnet serve` over HTTP: the API answers what the CLI answers, captured
//! pages are served only inside a sandbox policy and escaped everywhere
//! else, bad requests get plain HTTP errors and write nothing, and
//! accounts, roles and CSRF guard every write.

mod common;

use common::{bin, ok, s};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

/// A captured page doing everything a page should not be able to do in
/// the viewer, in a file whose very name is markup.
const HOSTILE: &str = r#"<!DOCTYPE html><html><head><title>x</title>
<meta http-equiv="refresh" content="0;url=http://evil.example/refresh">
<link rel="stylesheet" href="http://evil.example/style.css">
<style>body { background: url(http://evil.example/css-exfil) }</style>
<script>fetch('http://evil.example/script')</script></head>
<body onload="location='http://evil.example/onload'">
<img src="http://evil.example/img.png" onerror="alert(1)">
<a href="javascript:alert(2)">click</a>
<svg><script>alert(3)</script></svg>
<iframe src="http://evil.example/frame"></iframe>
<form action="http://evil.example/form"><input name="x"></form>
</body></html>"#;
const HOSTILE_NAME: &str = "x<img src=x onerror=alert(4)>.html";

/// A case with the synthetic markets and the hostile page, extracted.
fn case(tmp: &Path) -> PathBuf {
    let sim = tmp.join("sim");
    let case = tmp.join("case");
    ok(&["sim", "market", "--out", s(&sim)]);
    std::fs::create_dir_all(sim.join("pages/hostile")).unwrap();
    std::fs::write(sim.join("pages/hostile").join(HOSTILE_NAME), HOSTILE).unwrap();
    ok(&["case", "init", s(&case)]);
    ok(&["import", "--case", s(&case), s(&sim.join("pages"))]);
    ok(&["extract", "--case", s(&case)]);
    case
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(case: &Path, extra: &[&str]) -> Server {
    let mut child = bin()
        .args(["--case", s(case), "serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().last().unwrap_or_default().trim_end_matches('/').to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "no URL printed: {line:?}");
    Server { child, url }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().new_agent()
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
    let headers = r.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    Answer { status: r.status().as_u16(), headers, body: r.body_mut().read_to_string().unwrap_or_default() }
}

fn get(url: &str, cookie: Option<&str>) -> Answer {
    let mut req = agent().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    answer(req.call().expect("request"))
}

fn post_json(url: &str, cookie: Option<&str>, csrf: Option<&str>, body: &[u8]) -> Answer {
    let mut req = agent().post(url).header("Content-Type", "application/json");
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    if let Some(t) = csrf {
        req = req.header("X-CSRF-Token", t);
    }
    answer(req.send(body).expect("request"))
}

fn hostile_sha(case: &Path) -> String {
    std::fs::read_to_string(case.join("evidence/index.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["source"].as_str().is_some_and(|s| s.contains("alert(4)")))
        .and_then(|v| v["sha256"].as_str().map(str::to_owned))
        .expect("the hostile page is in the evidence")
}

#[test]
fn no_auth_api_viewer_and_bad_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let case = case(tmp.path());
    // Never without accounts on an address others can reach.
    let refused = bin().args(["--case", s(&case), "serve", "--bind", "0.0.0.0:0", "--no-auth"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"), "{}", String::from_utf8_lossy(&refused.stderr));

    let srv = serve(&case, &["--no-auth"]);
    // Vendors: every vendor record of the CLI, and the same dossier.
    let api: Vec<serde_json::Value> = serde_json::from_value(get(&format!("{}/api/vendors", srv.url), None).json()).unwrap();
    // The demo's pages carry no dates of their own: each vendor was seen
    // when its pages were captured.
    assert!(api.iter().all(|v| v["first_seen"].is_string() && v["last_seen"].is_string()), "{api:?}");
    let cli: std::collections::BTreeSet<(String, String)> = ok(&["--case", s(&case), "--json", "vendors"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["market"].as_str().unwrap().to_owned(), v["name"].as_str().unwrap().to_owned()))
        .collect();
    let profiled: std::collections::BTreeSet<(String, String)> = api
        .iter()
        .filter(|v| v["profiles"].as_u64().unwrap() > 0)
        .map(|v| (v["market"].as_str().unwrap().to_owned(), v["name"].as_str().unwrap().to_owned()))
        .collect();
    assert!(!cli.is_empty());
    assert_eq!(profiled, cli);
    let name = &cli.iter().next().unwrap().1;
    let dossier = get(&format!("{}/api/vendors/{name}", srv.url), None);
    assert_eq!(dossier.status, 200);
    let from_cli: serde_json::Value = serde_json::from_str(&ok(&["--case", s(&case), "--json", "vendor", name])).unwrap();
    assert_eq!(dossier.json(), from_cli);
    assert_eq!(get(&format!("{}/api/vendors/NoSuchVendor", srv.url), None).status, 404);
    // Identifier search finds a vendor's address, and only matching rows.
    let btc = ok(&["--case", s(&case), "--json", "identifiers", "--kind", "btc"]);
    let addr = serde_json::from_str::<serde_json::Value>(btc.lines().next().unwrap()).unwrap()["value"].as_str().unwrap().to_owned();
    let found = get(&format!("{}/api/identifiers?q={}&kind=btc", srv.url, &addr[..12]), None).json();
    let found = found.as_array().unwrap();
    assert!(found.iter().any(|r| r["value"] == addr.as_str() && r["evidence"].is_string()));
    assert!(found.iter().all(|r| r["value"].as_str().unwrap().contains(&addr[..12]) && r["kind"] == "btc"));

    // The hostile page: as bytes only under the sandbox policy ...
    let sha = hostile_sha(&case);
    let raw = get(&format!("{}/raw/{sha}", srv.url), None);
    assert_eq!(raw.status, 200);
    assert_eq!(raw.body, HOSTILE);
    let csp = raw.header("content-security-policy").unwrap();
    assert!(csp.starts_with("sandbox;") && csp.contains("default-src 'none'") && !csp.contains("script-src"), "{csp}");
    assert_eq!(raw.header("x-content-type-options"), Some("nosniff"));
    // ... and everywhere else escaped, inside dragnet's script-free pages.
    let viewer = get(&format!("{}/evidence/{sha}", srv.url), None);
    assert_eq!(viewer.status, 200, "{}", viewer.body);
    assert!(!viewer.body.contains("<script>") && !viewer.body.contains("<img src=x") && viewer.body.contains("x&lt;img src=x onerror=alert(4)&gt;.html"), "{}", viewer.body);
    assert!(viewer.body.contains(&format!("<iframe class=\"capture\" sandbox=\"\" referrerpolicy=\"no-referrer\" src=\"/raw/{sha}\"")));
    let ui_csp = viewer.header("content-security-policy").unwrap();
    // dragnet's own pages may load dragnet's own script files, never inline ones.
    assert!(ui_csp.contains("default-src 'none'") && ui_csp.contains("script-src 'self';") && !ui_csp.contains("unsafe-eval"), "{ui_csp}");
    // Reports cite evidence by 16 hex digits: the API and the viewer take
    // a prefix only one stored digest starts with, as `dragnet explain` does.
    let short = get(&format!("{}/api/evidence/{}", srv.url, &sha[..16]), None);
    assert_eq!(short.status, 200, "{}", short.body);
    assert_eq!(short.json()["sha256"], sha.as_str());
    assert_eq!(get(&format!("{}/evidence/{}", srv.url, &sha[..16]), None).status, 200);
    let text = get(&format!("{}/evidence/{sha}/text", srv.url), None);
    assert!(!text.body.contains("<script>") && text.body.contains("&lt;script&gt;fetch("));
    // Full text: a word of a listing title finds the listing and its page.
    let title = ok(&["--case", s(&case), "--json", "listings"]).lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).next().unwrap();
    let word = title["title"].as_str().unwrap().split_whitespace().max_by_key(|w| w.len()).unwrap().to_owned();
    let found = get(&format!("{}/api/search?q={word}&limit=100", srv.url), None).json();
    assert!(found["pages_indexed"].as_u64().unwrap() > 50, "{found}");
    assert!(found["hits"].as_array().unwrap().iter().any(|h| h["kind"] == "listing" && h["evidence"] == title["evidence"]), "{word}: {found}");
    assert!(found["hits"].as_array().unwrap().iter().any(|h| h["kind"] == "page" && h["evidence"] == title["evidence"]), "{word}: {found}");
    // A page of hits costs what it shows: ?limit= (default 20, 1 to 100).
    assert_eq!(get(&format!("{}/api/search?q={word}&limit=1", srv.url), None).json()["hits"].as_array().unwrap().len(), 1);
    assert!(get(&format!("{}/api/search?q={word}", srv.url), None).json()["hits"].as_array().unwrap().len() <= 20);
    for bad in ["0", "101", "x"] {
        assert_eq!(get(&format!("{}/api/search?q={word}&limit={bad}", srv.url), None).status, 400, "limit={bad}");
    }
    let cli_hits = ok(&["--case", s(&case), "--json", "search", &word]);
    assert!(cli_hits.contains(title["evidence"].as_str().unwrap()));
    for page in ["/", "/vendors", "/custody", &format!("/vendors/{name}"), "/identifiers?q=1", &format!("/search?q={word}"), "/search"] {
        let a = get(&format!("{}{page}", srv.url), None);
        assert_eq!(a.status, 200, "{page}: {}", a.body);
        assert!(!a.body.contains("<script"), "{page} has a script");
    }

    // Without accounts, only requests naming the loopback address are
    // answered (a DNS-rebinding page would name its own host).
    let rebound = answer(agent().get(&format!("{}/api/vendors", srv.url)).header("Host", "attacker.example").call().unwrap());
    assert_eq!(rebound.status, 421, "{}", rebound.body);
    let port = srv.url.rsplit(':').next().unwrap();
    assert_eq!(answer(agent().get(&format!("{}/api/vendors", srv.url)).header("Host", format!("localhost:{port}")).call().unwrap()).status, 200);
    // Bad input: plain errors, nothing written.
    let custody_before = get(&format!("{}/api/custody", srv.url), None).json().as_array().unwrap().len();
    let csrf = get(&format!("{}/api/session", srv.url), None).json()["csrf"].as_str().unwrap().to_owned();
    let bad = [
        get(&format!("{}/api/evidence/not-a-digest", srv.url), None),
        get(&format!("{}/api/evidence/{}", srv.url, "0".repeat(64)), None),
        get(&format!("{}/api/evidence/{}", srv.url, &sha[..7]), None),
        get(&format!("{}/api/evidence/{}", srv.url, "0".repeat(16)), None),
        get(&format!("{}/api/identifiers?q={}", srv.url, "a".repeat(300)), None),
        get(&format!("{}/api/identifiers", srv.url), None),
        get(&format!("{}/api/search?q={}", srv.url, "a".repeat(300)), None),
        get(&format!("{}/api/no-such-endpoint", srv.url), None),
        post_json(&format!("{}/api/evidence/{sha}/notes", srv.url), None, Some(&csrf), b"{not json"),
        post_json(&format!("{}/api/evidence/{sha}/notes", srv.url), None, Some(&csrf), format!("{{\"text\": \"{}\"}}", "x".repeat(100_000)).as_bytes()),
        post_json(&format!("{}/api/evidence/{sha}/notes", srv.url), None, None, br#"{"text": "no token"}"#),
        post_json(&format!("{}/api/evidence/{sha}/notes", srv.url), None, Some("0000"), br#"{"text": "wrong token"}"#),
        post_json(&format!("{}/api/evidence/{}/notes", srv.url, "0".repeat(64)), None, Some(&csrf), br#"{"text": "no such record"}"#),
    ];
    let statuses: Vec<u16> = bad.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [400, 404, 400, 404, 400, 400, 400, 404, 400, 413, 403, 403, 404]);
    for a in &bad {
        assert!(!a.body.contains("panicked") && !a.body.contains("RUST_BACKTRACE") && a.body.len() < 2000, "{}", a.body);
    }
    assert_eq!(get(&format!("{}/api/custody", srv.url), None).json().as_array().unwrap().len(), custody_before, "a bad request wrote something");
    // A good note is a custody entry.
    let noted = post_json(&format!("{}/api/evidence/{sha}/notes", srv.url), None, Some(&csrf), br#"{"text": "hostile test page <b>"}"#);
    assert_eq!(noted.status, 201, "{}", noted.body);
    let custody = get(&format!("{}/api/custody", srv.url), None).json();
    let last = custody.as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["detail"]["text"].as_str(), last["detail"]["sha256"].as_str()), (Some("note"), Some("hostile test page <b>"), Some(sha.as_str())));
    assert!(get(&format!("{}/evidence/{sha}", srv.url), None).body.contains("hostile test page &lt;b&gt;"));
    // The API describes itself.
    let spec = get(&format!("{}/api/openapi.json", srv.url), None).json();
    for p in ["/api/vendors", "/api/vendors/{name}", "/api/identifiers", "/api/search", "/api/links", "/api/links/{id}/decision", "/api/evidence/{sha}", "/api/evidence/{sha}/notes", "/api/custody", "/api/session", "/api/operator", "/api/listings/{id}", "/api/graph/links", "/api/flows", "/api/graph/flows"] {
        assert!(spec["paths"][p].is_object(), "{p} not described");
    }
    drop(srv);
    ok(&["--case", s(&case), "verify"]);
}

fn add_user(case: &Path, name: &str, role: &str, password: &str) -> std::process::Output {
    let mut child = bin()
        .args(["--case", s(case), "user", "add", name, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn login(srv: &Server, user: &str, password: &str) -> Answer {
    answer(agent().post(&format!("{}/login", srv.url)).send_form([("user", user), ("password", password)]).unwrap())
}

fn session_cookie(a: &Answer) -> String {
    let c = a.header("set-cookie").expect("a session cookie");
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
    c.split(';').next().unwrap().to_owned()
}

#[test]
fn accounts_roles_and_csrf_guard_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let case = case(tmp.path());
    // No users, no --no-auth: refused, with what to do.
    let refused = bin().args(["--case", s(&case), "serve", "--bind", "127.0.0.1:0"]).output().unwrap();
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("user add"));
    assert!(!add_user(&case, "alice", "analyst", "short").status.success(), "short passwords are refused");
    assert!(add_user(&case, "alice", "analyst", "correct horse battery").status.success());
    assert!(add_user(&case, "bob", "reviewer", "staple paper clip 42").status.success());
    let users = std::fs::read_to_string(case.join("users.json")).unwrap();
    assert!(!users.contains("correct horse") && users.matches("$argon2id$").count() == 2, "{users}");

    let srv = serve(&case, &[]);
    assert_eq!(get(&format!("{}/api/vendors", srv.url), None).status, 401);
    let page = get(&format!("{}/", srv.url), None);
    assert_eq!((page.status, page.header("location")), (303, Some("/login")));
    assert_eq!(login(&srv, "alice", "wrong password here").status, 401);
    assert_eq!(login(&srv, "nobody", "correct horse battery").status, 401);
    // Guessing is slowed per name: after five failures in a row the name
    // is locked (even the right password waits), then opens again; other
    // names are not affected.
    for _ in 0..5 {
        assert_eq!(login(&srv, "bob", "a wrong guess").status, 401);
    }
    let locked = login(&srv, "bob", "staple paper clip 42");
    assert_eq!((locked.status, locked.header("retry-after")), (429, Some("1")), "{}", locked.body);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let alice = session_cookie(&login(&srv, "alice", "correct horse battery"));
    let bob = session_cookie(&login(&srv, "bob", "staple paper clip 42"));
    assert_eq!(get(&format!("{}/api/vendors", srv.url), Some(&alice)).status, 200);
    assert_eq!(get(&format!("{}/api/vendors", srv.url), Some(&bob)).status, 200, "reviewers read");
    let sess = get(&format!("{}/api/session", srv.url), Some(&alice)).json();
    assert_eq!(sess["role"], "analyst");
    let alice_csrf = sess["csrf"].as_str().unwrap().to_owned();
    let bob_csrf = get(&format!("{}/api/session", srv.url), Some(&bob)).json()["csrf"].as_str().unwrap().to_owned();
    let sha = hostile_sha(&case);
    let note = format!("{}/api/evidence/{sha}/notes", srv.url);
    assert_eq!(post_json(&note, Some(&bob), Some(&bob_csrf), br#"{"text": "a reviewer"}"#).status, 403, "reviewers do not write");
    assert_eq!(post_json(&note, Some(&alice), None, br#"{"text": "no token"}"#).status, 403);
    assert_eq!(post_json(&note, Some(&alice), Some(&bob_csrf), br#"{"text": "another session's token"}"#).status, 403);
    assert_eq!(post_json(&note, Some(&alice), Some(&alice_csrf), br#"{"text": "seen by alice"}"#).status, 201);
    let custody = get(&format!("{}/api/custody", srv.url), Some(&bob)).json();
    let notes: Vec<&serde_json::Value> = custody.as_array().unwrap().iter().filter(|e| e["action"] == "note").collect();
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0]["detail"]["user"].as_str(), notes[0]["detail"]["text"].as_str()), (Some("alice"), Some("seen by alice")));
    // Link decisions: none without a model; reviewers read them; an
    // analyst's is a custody entry naming her, and the CLI sees it.
    assert_eq!(get(&format!("{}/api/links", srv.url), Some(&alice)).status, 409);
    ok(&["--case", s(&case), "link", "train"]);
    let links = get(&format!("{}/api/links", srv.url), Some(&bob)).json();
    let id = links.as_array().unwrap().iter().find(|l| l["decision"] == "undecided").expect("a link to decide")["id"].as_str().unwrap().to_owned();
    let decide = format!("{}/api/links/{id}/decision", srv.url);
    let body = br#"{"decision": "confirmed", "why": "same key on both pages"}"#;
    assert_eq!(post_json(&decide, Some(&bob), Some(&bob_csrf), body).status, 403, "reviewers do not decide");
    assert_eq!(post_json(&decide, Some(&alice), None, body).status, 403);
    assert_eq!(post_json(&decide, Some(&alice), Some(&alice_csrf), br#"{"decision": "maybe", "why": "x"}"#).status, 400);
    assert_eq!(post_json(&format!("{}/api/links/K-0000000000000000/decision", srv.url), Some(&alice), Some(&alice_csrf), body).status, 404);
    assert_eq!(post_json(&decide, Some(&alice), Some(&alice_csrf), body).status, 201);
    let after = get(&format!("{}/api/links", srv.url), Some(&bob)).json();
    let l = after.as_array().unwrap().iter().find(|l| l["id"] == id.as_str()).unwrap();
    assert_eq!((l["decision"].as_str(), l["decided_by"].as_str(), l["why"].as_str()), (Some("confirmed"), Some("alice"), Some("same key on both pages")));
    let cli_links = ok(&["--case", s(&case), "--json", "links"]);
    assert!(cli_links.lines().any(|line| line.contains(&id) && line.contains("\"decision\":\"confirmed\"")), "{cli_links}");
    assert_eq!(get(&format!("{}/links", srv.url), Some(&alice)).status, 200);
    // Signing out ends the session.
    let out = answer(agent().post(&format!("{}/logout", srv.url)).header("Cookie", &alice).send_form([("csrf", alice_csrf.as_str())]).unwrap());
    assert_eq!(out.status, 303);
    assert_eq!(get(&format!("{}/api/vendors", srv.url), Some(&alice)).status, 401);
    assert_eq!(get(&format!("{}/api/vendors", srv.url), Some(&bob)).status, 200);
}

/// The JSON lines a `--json` CLI command prints.
fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn dossiers_histories_charts_and_the_link_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let case = case(tmp.path());
    // A second capture of the same markets a round later (listings
    // repriced, removed, added): each listing now has a history.
    let later = tmp.path().join("sim-later");
    ok(&["sim", "market", "--out", s(&later), "--revision", "1"]);
    ok(&["import", "--case", s(&case), "--captured-at", "2030-01-01T00:00:00Z", s(&later.join("pages"))]);
    ok(&["extract", "--case", s(&case)]);
    // The CLI's links (trains the default model once) and operator.
    let links = json_lines(&ok(&["--case", s(&case), "--json", "links"]));
    assert!(!links.is_empty());
    let srv = serve(&case, &["--no-auth"]);

    // The link graph holds exactly the links of the links API, and a node
    // per account in them, each opening that account's operator.
    let api_links = get(&format!("{}/api/links", srv.url), None).json();
    let graph = get(&format!("{}/api/graph/links", srv.url), None).json();
    let edge_ids: std::collections::BTreeSet<&str> = graph["edges"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    let link_ids: std::collections::BTreeSet<&str> = api_links.as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(edge_ids, link_ids);
    let accounts: std::collections::BTreeSet<&str> = api_links.as_array().unwrap().iter().flat_map(|l| [l["a"].as_str().unwrap(), l["b"].as_str().unwrap()]).collect();
    let nodes: std::collections::BTreeSet<&str> = graph["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(nodes, accounts);
    for n in graph["nodes"].as_array().unwrap() {
        assert!(n["href"].as_str().unwrap().starts_with("/operator?account="), "{n}");
    }
    let page = get(&format!("{}/graph/links", srv.url), None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"<div id="graph" data-src="/api/graph/links">"#));
    for id in &link_ids {
        assert!(page.body.contains(id), "the table lacks {id}");
    }
    // Scripts only from dragnet's own files, and the library is bundled.
    assert!(page.body.contains(r#"<script src="/static/cytoscape.min.js"></script>"#) && page.body.matches("<script").count() == 2, "{}", page.body);
    let lib = get(&format!("{}/static/cytoscape.min.js", srv.url), None);
    assert_eq!((lib.status, lib.header("content-type")), (200, Some("text/javascript; charset=utf-8")));
    assert!(lib.body.len() > 100_000 && lib.body.contains("cytoscape"), "cytoscape.js was not bundled at build time ({} bytes)", lib.body.len());

    // The operator of a hard-linked account: as the CLI says it.
    let hard = api_links.as_array().unwrap().iter().find(|l| l["hard"] == true).expect("a hard link in the simulated markets");
    let account = hard["a"].as_str().unwrap();
    let from_cli: serde_json::Value = serde_json::from_str(&ok(&["--case", s(&case), "--json", "operator", account])).unwrap();
    let op = get(&format!("{}/api/operator?account={}", srv.url, account.replace('/', "%2F")), None);
    assert_eq!(op.status, 200, "{}", op.body);
    assert_eq!(op.json(), from_cli);
    assert!(from_cli["accounts"].as_array().unwrap().len() >= 2, "{from_cli}");
    let op_page = get(&format!("{}/operator?account={}", srv.url, account.replace('/', "%2F")), None);
    for a in from_cli["accounts"].as_array().unwrap() {
        // (minijinja's HTML escaping writes '/' as &#x2f;)
        assert!(op_page.body.contains(&a["account"].as_str().unwrap().replace('/', "&#x2f;")), "{a}");
    }
    assert_eq!(get(&format!("{}/api/operator?account=nowhere%2Fnobody", srv.url), None).status, 404);
    assert_eq!(get(&format!("{}/api/operator", srv.url), None).status, 400);

    // A listing's history: every row of the same market listing id, oldest
    // first, with the prices the rows hold.
    let listings = json_lines(&ok(&["--case", s(&case), "--json", "listings"]));
    let mut by_key: std::collections::BTreeMap<(String, String), Vec<&serde_json::Value>> = Default::default();
    for l in &listings {
        if let Some(mid) = l["market_listing_id"].as_str() {
            by_key.entry((l["market"].as_str().unwrap().to_owned(), mid.to_owned())).or_default().push(l);
        }
    }
    let price = |l: &serde_json::Value| format!("{} {}", l["price_text"].as_str().unwrap(), l["currency"].as_str().unwrap());
    // (The same listing shows on its item page and on index pages: several
    // rows per capture.)
    let (_, rows) = by_key
        .iter()
        .find(|(_, rows)| rows.iter().map(|l| price(l)).collect::<std::collections::BTreeSet<_>>().len() == 2)
        .expect("a listing repriced between the two captures");
    let h = get(&format!("{}/api/listings/{}", srv.url, rows[1]["id"].as_str().unwrap()), None);
    assert_eq!(h.status, 200, "{}", h.body);
    let h = h.json();
    let obs = h["observations"].as_array().unwrap();
    let want: std::collections::BTreeSet<(String, String)> = rows.iter().map(|l| (l["id"].as_str().unwrap().to_owned(), price(l))).collect();
    let got: std::collections::BTreeSet<(String, String)> = obs.iter().map(|o| (o["id"].as_str().unwrap().to_owned(), o["price"].as_str().unwrap().to_owned())).collect();
    assert_eq!(got, want);
    let times: Vec<&str> = obs.iter().map(|o| o["captured_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]) && !times[0].starts_with("2030") && times.last().unwrap().starts_with("2030-01-01"), "{times:?}");
    let hp = get(&format!("{}/listings/{}", srv.url, rows[0]["id"].as_str().unwrap()), None);
    assert_eq!(hp.status, 200);
    assert!(hp.body.contains(r#"aria-label="Price shown, per observation""#) && hp.body.matches("<rect ").count() >= 2, "{}", hp.body);
    assert_eq!(get(&format!("{}/api/listings/not-a-row", srv.url), None).status, 400);
    assert_eq!(get(&format!("{}/api/listings/L-0000000000000000-0", srv.url), None).status, 404);

    // The vendor page opens each listing's history and the operator.
    let vendor = rows[0]["vendor"].as_str().unwrap();
    let vp = get(&format!("{}/vendors/{vendor}", srv.url), None);
    assert!(vp.body.contains("/listings/") && vp.body.contains("/operator?account="), "{}", vp.body);
    // The overview charts captures per day: both capture days are bars.
    let overview = get(&format!("{}/", srv.url), None).body;
    assert!(overview.contains(r#"aria-label="Stored payloads per capture day""#), "{overview}");
    assert!(overview.contains("<title>2030-01-01: "), "{overview}");
    // A vendor's report downloads as the CLI writes it.
    let rep = get(&format!("{}/report.html?vendor={vendor}", srv.url), None);
    assert_eq!(rep.status, 200, "{}", rep.body);
    assert_eq!(rep.header("content-disposition"), Some(format!("attachment; filename=\"dragnet-report-{vendor}.html\"").as_str()));
    let cli_report = tmp.path().join("vendor-report.html");
    ok(&["--case", s(&case), "report", "--vendor", vendor, "--out", s(&cli_report)]);
    assert_eq!(rep.body, std::fs::read_to_string(&cli_report).unwrap());
    assert_eq!(get(&format!("{}/report.html?vendor=NoSuchVendor", srv.url), None).status, 404);
    // Without a chain, money flows say so.
    assert_eq!(get(&format!("{}/api/flows?from=x", srv.url), None).status, 409);
}

#[test]
fn money_flows_follow_the_chain_as_the_cli_does() {
    let (Some(blocks), Some(truth)) = (testdata::shared("chain/regtest-small/blocks"), testdata::shared("chain/regtest-small/truth.json")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    ok(&["case", "init", s(&case)]);
    ok(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "regtest"]);
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap();
    let (fund, owner) = truth["txs"].as_object().unwrap().iter().find(|(_, t)| t["kind"] == "funding").map(|(k, t)| (k.clone(), t["owner"].as_u64().unwrap())).unwrap();
    let other: Vec<&str> = truth["addresses"].as_object().unwrap().iter().filter(|(_, e)| e.as_u64() != Some(owner)).map(|(a, _)| a.as_str()).collect();
    for a in other.iter().take(40) {
        ok(&["chain", "tag", "add", a, "--label", "Exchange <b>X</b>", "--source", "test", "--case", s(&case)]);
    }
    let srv = serve(&case, &["--no-auth"]);
    let cli: serde_json::Value = serde_json::from_str(&ok(&["chain", "trace", "--from", &fund, "--hops", "2", "--policy", "haircut", "--case", s(&case), "--json"])).unwrap();
    let web = get(&format!("{}/api/flows?from={fund}&hops=2&policy=haircut", srv.url), None);
    assert_eq!(web.status, 200, "{}", web.body);
    assert_eq!(web.json(), cli);
    assert!(!cli["reached_tags"].as_array().unwrap().is_empty(), "{cli}");
    // The graph: a node per trace node, an edge per traced output; a
    // cluster node continues the trace from itself with the same options.
    let g = get(&format!("{}/api/graph/flows?from={fund}&hops=2&policy=haircut", srv.url), None).json();
    assert_eq!(g["nodes"].as_array().unwrap().len(), cli["nodes"].as_array().unwrap().len());
    assert_eq!(g["edges"].as_array().unwrap().len(), cli["edges"].as_array().unwrap().len());
    let cluster = g["nodes"].as_array().unwrap().iter().find(|n| n["id"].as_str().unwrap().starts_with("cluster:")).unwrap();
    assert_eq!(cluster["href"].as_str().unwrap(), format!("/flows?from={}&policy=haircut&hops=2", cluster["id"].as_str().unwrap().replace(':', "%3A")));
    // The page: every traced output's transaction, tags escaped.
    let page = get(&format!("{}/flows?from={fund}&hops=2&policy=haircut", srv.url), None);
    assert_eq!(page.status, 200, "{}", page.body);
    for e in cli["edges"].as_array().unwrap() {
        assert!(page.body.contains(&format!("{}:{}", e["txid"].as_str().unwrap(), e["vout"])), "{e}");
    }
    assert!(page.body.contains("Exchange &lt;b&gt;X&lt;") && !page.body.contains("<b>X"), "{}", page.body);
    // Bad starts and options: plain errors.
    let statuses: Vec<u16> = [
        format!("/api/flows?from={fund}&hops=0"),
        format!("/api/flows?from={fund}&hops=11"),
        format!("/api/flows?from={fund}&policy=taint"),
        "/api/flows?from=cluster:99999999".to_owned(),
        "/api/flows".to_owned(),
        format!("/flows?from={}", "a".repeat(300)),
    ]
    .iter()
    .map(|p| get(&format!("{}{p}", srv.url), None).status)
    .collect();
    assert_eq!(statuses, [400, 400, 400, 404, 400, 400]);
}

#[test]
fn full_text_search_covers_dataset_listings() {
    let tmp = tempfile::tempdir().unwrap();
    let case = common::small_sim_sales_case(tmp.path());
    let listings = json_lines(&ok(&["--case", s(&case), "--json", "listings"]));
    let l = &listings[listings.len() / 2];
    let word = l["title"].as_str().unwrap().split_whitespace().filter(|w| w.chars().all(char::is_alphabetic)).max_by_key(|w| w.len()).unwrap().to_owned();
    // The CLI and the API find the row, citing the dataset file it is in.
    let hits = json_lines(&ok(&["--case", s(&case), "--json", "search", &word]));
    assert!(hits.iter().any(|h| h["kind"] == "listing" && h["detail"] == l["id"] && h["evidence"] == l["evidence"]), "{word}: {hits:?}");
    assert!(hits.iter().all(|h| h["kind"] == "listing"), "a dataset file is not a page: {hits:?}");
    let srv = serve(&case, &["--no-auth"]);
    let found = get(&format!("{}/api/search?q={word}&limit=100", srv.url), None).json();
    assert!(found["hits"].as_array().unwrap().iter().any(|h| h["detail"] == l["id"]), "{found}");
}

/// The demo's case (simulated markets, extracted, with a trained linking
/// model), under `tmp`.
fn demo_case(tmp: &Path) -> PathBuf {
    let out = tmp.join("demo");
    ok(&["demo", "--out", s(&out)]);
    out.join("case")
}

#[test]
fn unknown_api_paths_answer_the_api_json_error() {
    let tmp = tempfile::tempdir().unwrap();
    let case = demo_case(tmp.path());
    let srv = serve(&case, &["--no-auth"]);
    for path in ["/api/no-such-endpoint", "/api/vendors/x/y", "/api", &format!("/api/{}", "a".repeat(5000))] {
        let a = get(&format!("{}{path}", srv.url), None);
        assert_eq!(a.status, 404, "{path}");
        assert!(a.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{path}: {:?}", a.header("content-type"));
        let v = a.json();
        let error = v["error"].as_str().unwrap_or_else(|| panic!("{path}: {v}"));
        assert!(error.contains("no API endpoint") && error.len() < 400, "{path}: {error}");
        assert_eq!(v.as_object().unwrap().len(), 1, "{path}: the Error schema is {{error}}: {v}");
    }
    // Pages that do not exist are still the HTML error page.
    let page = get(&format!("{}/no-such-page", srv.url), None);
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")) && page.body.contains("<h1>404</h1>"), "{}", page.body);
}

/// The `dragnet ...` commands quoted in backquotes in `text`, as argument
/// lists (`dragnet` left out).
fn quoted_commands(text: &str) -> Vec<Vec<String>> {
    text.split('`').skip(1).step_by(2).filter_map(|q| q.strip_prefix("dragnet ")).map(|c| c.split_whitespace().map(str::to_owned).collect()).collect()
}

#[test]
fn the_no_chain_errors_quote_a_chain_import_clap_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let case = demo_case(tmp.path());
    let srv = serve(&case, &["--no-auth"]);
    let a = get(&format!("{}/api/flows?from=x", srv.url), None);
    assert_eq!(a.status, 409, "{}", a.body);
    let error = a.json()["error"].as_str().unwrap().to_owned();
    // The report's money-flows section says the same.
    let report = std::fs::read_to_string(tmp.path().join("demo/report.html")).unwrap();
    let note = report.lines().find(|l| l.contains("No Bitcoin chain is imported")).expect("the report's no-chain note").to_owned();
    let spec = get(&format!("{}/api/openapi.json", srv.url), None).body;
    for (what, text) in [("/api/flows", error.as_str()), ("the report", note.as_str()), ("openapi.json", spec.as_str())] {
        let commands: Vec<Vec<String>> = quoted_commands(text).into_iter().filter(|c| c.contains(&"import".to_owned())).collect();
        assert!(!commands.is_empty(), "{what} quotes no `dragnet ... chain import ...`: {text}");
        for c in commands {
            // Placeholders become real paths; clap must take the rest.
            let args: Vec<String> = c.iter().map(|a| if a == "CASE" { s(&case).to_owned() } else { a.clone() }).collect();
            let help = common::bin().args(&args).arg("--help").output().unwrap();
            assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("--blocks-dir"), "{what} quotes {c:?}, which clap refuses: {}", String::from_utf8_lossy(&help.stderr));
        }
    }
    // Run as quoted (the regtest sample chain needs its network named), the
    // import gives the flows a chain: the error is gone.
    let Some(blocks) = testdata::shared("chain/regtest-small/blocks") else { return };
    let c = &quoted_commands(&error)[0];
    let args: Vec<String> = c.iter().map(|a| match a.as_str() { "CASE" => s(&case).to_owned(), "DIR" => s(&blocks).to_owned(), a => a.to_owned() }).collect();
    ok(&args.iter().map(String::as_str).chain(["--network", "regtest"]).collect::<Vec<_>>());
    let after = get(&format!("{}/api/flows?from=x", srv.url), None);
    assert_ne!(after.status, 409, "{}", after.body);
}

/// Checks `v` against `schema`, in the part of JSON Schema openapi.json
/// uses (`$ref`, `oneOf`, `type`, `enum`, `required`, `properties`,
/// `additionalProperties`, `items`, `minItems`/`maxItems`,
/// `minimum`/`maximum`); what does not hold goes to `errs`, each with its
/// place in `v`.
fn check_schema(spec: &serde_json::Value, schema: &serde_json::Value, v: &serde_json::Value, at: &str, errs: &mut Vec<String>) {
    use serde_json::Value;
    if let Some(r) = schema["$ref"].as_str() {
        let target = spec.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("{at}: dangling $ref {r}"));
        return check_schema(spec, target, v, at, errs);
    }
    if let Some(alts) = schema["oneOf"].as_array() {
        let fits = alts.iter().filter(|s| {
            let mut e = Vec::new();
            check_schema(spec, s, v, at, &mut e);
            e.is_empty()
        });
        if fits.count() != 1 {
            errs.push(format!("{at}: not exactly one of oneOf: {v}"));
        }
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "null" => v.is_null(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        t => panic!("{at}: type {t} unknown to the check"),
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        errs.push(format!("{at}: expected {types:?}, got {v}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(v) {
            errs.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    if let Some(n) = v.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|m| n < m) || schema["maximum"].as_f64().is_some_and(|m| n > m) {
            errs.push(format!("{at}: {n} out of [{}, {}]", schema["minimum"], schema["maximum"]));
        }
    }
    if let Some(o) = v.as_object() {
        for r in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !o.contains_key(r) {
                errs.push(format!("{at}: required property {r} missing"));
            }
        }
        for (k, x) in o {
            match schema["properties"].get(k) {
                Some(s) => check_schema(spec, s, x, &format!("{at}.{k}"), errs),
                None if schema["additionalProperties"].is_object() => check_schema(spec, &schema["additionalProperties"], x, &format!("{at}.{k}"), errs),
                None => {}
            }
        }
    }
    if let Some(a) = v.as_array() {
        if schema["minItems"].as_u64().is_some_and(|m| (a.len() as u64) < m) || schema["maxItems"].as_u64().is_some_and(|m| a.len() as u64 > m) {
            errs.push(format!("{at}: {} items out of [{}, {}]", a.len(), schema["minItems"], schema["maxItems"]));
        }
        if schema["items"].is_object() {
            for (i, x) in a.iter().enumerate() {
                check_schema(spec, &schema["items"], x, &format!("{at}[{i}]"), errs);
            }
        }
        // A tuple: each item its own schema (JSON Schema 2020-12).
        for (i, (s, x)) in schema["prefixItems"].as_array().into_iter().flatten().zip(a).enumerate() {
            check_schema(spec, s, x, &format!("{at}[{i}]"), errs);
        }
    }
}

#[test]
fn api_answers_match_their_openapi_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let case = demo_case(tmp.path());
    let srv = serve(&case, &["--no-auth"]);
    let spec = get(&format!("{}/api/openapi.json", srv.url), None).json();
    // The check finds what does not match.
    let mut errs = Vec::new();
    let row = serde_json::json!([{"market": 1, "name": "x", "profiles": 1.5, "first_seen": null}]);
    check_schema(&spec, &spec["paths"]["/api/vendors"]["get"]["responses"]["200"]["content"]["application/json"]["schema"], &row, "vendors", &mut errs);
    assert_eq!(errs.len(), 3, "{errs:?}"); // market's type, profiles' type, listings missing
    // Known parameters, from the CLI and the case's files.
    let vendor = json_lines(&ok(&["--case", s(&case), "--json", "vendors"]))[0]["name"].as_str().unwrap().to_owned();
    let ident = json_lines(&ok(&["--case", s(&case), "--json", "identifiers"]))[0]["value"].as_str().unwrap().to_owned();
    let listing = json_lines(&ok(&["--case", s(&case), "--json", "listings"]))[0]["id"].as_str().unwrap().to_owned();
    let sha = std::fs::read_to_string(case.join("evidence/index.jsonl"))
        .unwrap()
        .lines()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["sha256"].as_str().map(str::to_owned))
        .unwrap();
    let links = get(&format!("{}/api/links", srv.url), None).json();
    let link = links.as_array().unwrap().iter().find(|l| l["hard"] == true).expect("the demo has hard links").clone();
    let account = link["a"].as_str().unwrap().replace('/', "%2F");
    let csrf = get(&format!("{}/api/session", srv.url), None).json()["csrf"].as_str().unwrap().to_owned();

    let mut seen: std::collections::BTreeSet<(String, String)> = Default::default();
    errs.clear();
    let mut check = |template: &str, method: &str, a: Answer| {
        let status = a.status.to_string();
        let schema = &spec["paths"][template][method]["responses"][&status]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {template} answered {status}, for which openapi.json gives no schema: {}", a.body);
        check_schema(&spec, schema, &a.json(), &format!("{method} {template} {status}"), &mut errs);
        if status.starts_with('2') {
            seen.insert((template.to_owned(), method.to_owned()));
        }
    };
    let u = &srv.url;
    for (template, path) in [
        ("/api/session", "/api/session".to_owned()),
        ("/api/vendors", "/api/vendors".to_owned()),
        ("/api/vendors/{name}", format!("/api/vendors/{vendor}")),
        ("/api/vendors/{name}", "/api/vendors/NoSuchVendor".to_owned()),
        ("/api/identifiers", format!("/api/identifiers?q={}", &ident[..6])),
        ("/api/identifiers", "/api/identifiers".to_owned()),
        ("/api/evidence/{sha}", format!("/api/evidence/{sha}")),
        ("/api/evidence/{sha}", "/api/evidence/not-a-digest".to_owned()),
        ("/api/custody", "/api/custody".to_owned()),
        ("/api/openapi.json", "/api/openapi.json".to_owned()),
        ("/api/links", "/api/links".to_owned()),
        ("/api/search", "/api/search?q=vendor&limit=5".to_owned()),
        ("/api/operator", format!("/api/operator?account={account}")),
        ("/api/operator", "/api/operator".to_owned()),
        ("/api/listings/{id}", format!("/api/listings/{listing}")),
        ("/api/listings/{id}", "/api/listings/L-0000000000000000-0".to_owned()),
        ("/api/graph/links", "/api/graph/links".to_owned()),
        ("/api/flows", "/api/flows?from=x".to_owned()),
        ("/api/graph/flows", "/api/graph/flows?from=x".to_owned()),
    ] {
        check(template, "get", get(&format!("{u}{path}"), None));
    }
    check("/api/evidence/{sha}/notes", "post", post_json(&format!("{u}/api/evidence/{sha}/notes"), None, Some(&csrf), br#"{"text": "checked"}"#));
    check("/api/evidence/{sha}/notes", "post", post_json(&format!("{u}/api/evidence/{sha}/notes"), None, None, br#"{"text": "no token"}"#));
    let decision = br#"{"decision": "confirmed", "why": "same PGP key"}"#;
    check("/api/links/{id}/decision", "post", post_json(&format!("{u}/api/links/{}/decision", link["id"].as_str().unwrap()), None, Some(&csrf), decision));
    // With a chain (the shared regtest sample), the traces.
    if let (Some(blocks), Some(truth)) = (testdata::shared("chain/regtest-small/blocks"), testdata::shared("chain/regtest-small/truth.json")) {
        ok(&["chain", "import", "--case", s(&case), "--blocks-dir", s(&blocks), "--network", "regtest"]);
        let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap();
        let fund = truth["txs"].as_object().unwrap().iter().find(|(_, t)| t["kind"] == "funding").map(|(k, _)| k.clone()).unwrap();
        check("/api/flows", "get", get(&format!("{u}/api/flows?from={fund}&hops=2"), None));
        check("/api/graph/flows", "get", get(&format!("{u}/api/graph/flows?from={fund}&hops=2"), None));
    }
    assert!(errs.is_empty(), "answers that do not match openapi.json:\n{}", errs.join("\n"));
    // Every operation the description lists was answered with success here
    // (the flows only with the shared chain).
    let listed: std::collections::BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(|m| (p.clone(), m.clone())))
        .filter(|(p, _)| !p.contains("flows") || testdata::shared("chain/regtest-small/blocks").is_some())
        .collect();
    assert_eq!(listed, seen);
}

#[test]
fn identifier_kinds_are_read_in_any_case() {
    let tmp = tempfile::tempdir().unwrap();
    let case = demo_case(tmp.path());
    // The CLI: --kind PGP is --kind pgp, as --market AGORA is agora.
    let lower = ok(&["--case", s(&case), "--json", "identifiers", "--kind", "pgp"]);
    assert!(!lower.is_empty() && json_lines(&lower).iter().all(|r| r["kind"] == "pgp"), "{lower}");
    for k in ["PGP", "Pgp", " pgp "] {
        assert_eq!(ok(&["--case", s(&case), "--json", "identifiers", "--kind", k]), lower, "--kind {k:?}");
    }
    let bad = common::bin().args(["--case", s(&case), "identifiers", "--kind", "nope"]).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown identifier kind \"nope\""), "{}", String::from_utf8_lossy(&bad.stderr));
    // The API's filter likewise.
    let srv = serve(&case, &["--no-auth"]);
    let btc = json_lines(&ok(&["--case", s(&case), "--json", "identifiers", "--kind", "btc"]));
    let q = &btc[0]["value"].as_str().unwrap()[..1];
    let want = get(&format!("{}/api/identifiers?q={q}&kind=btc", srv.url), None);
    assert_eq!(want.status, 200, "{}", want.body);
    assert!(!want.json().as_array().unwrap().is_empty() && want.json().as_array().unwrap().iter().all(|r| r["kind"] == "btc"), "{}", want.body);
    for k in ["BTC", "Btc"] {
        let a = get(&format!("{}/api/identifiers?q={q}&kind={k}", srv.url), None);
        assert_eq!((a.status, a.json()), (200, want.json()), "kind={k}");
    }
    // An unknown kind is a plain error, not an empty answer.
    let a = get(&format!("{}/api/identifiers?q={q}&kind=nope", srv.url), None);
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.json()["error"].as_str().unwrap().contains("any case"), "{}", a.body);
    // The search page too.
    let page = get(&format!("{}/identifiers?q={q}&kind=BTC", srv.url), None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(btc[0]["value"].as_str().unwrap()), "{}", page.body);
}
