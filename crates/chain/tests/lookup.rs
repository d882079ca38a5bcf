//! Targeted lookups against mock Esplora and Core RPC endpoints (127.0.0.1 only) that serve
//! the real transactions of shared/data/chain/regtest-small, read in place. The graph a walk
//! builds is compared with a reference walk over the local index of the same blocks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::{Network, Txid};
use chain::index::NONE;
use chain::lookup::{walk, Client, ClientConfig, Endpoint, LookupConfig, LookupGraph, RpcAuth, Start};
use chain::{BlockSource, ChainIndex};

/// One HTTP request as the mock saw it.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    auth: Option<String>,
    body: Vec<u8>,
}

enum Reply {
    Ok(u16, String),
    /// Accept and never answer.
    Hang,
}

type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

/// A minimal HTTP/1.1 server: one request per connection, `Connection: close`.
struct Mock {
    url: String,
    seen: Arc<Mutex<Vec<Req>>>,
}

impl Mock {
    fn start(handler: Handler) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let handler = handler.clone();
                let seen = seen2.clone();
                std::thread::spawn(move || serve(conn, &handler, &seen));
            }
        });
        Mock { url, seen }
    }
    fn paths(&self) -> Vec<String> {
        self.seen.lock().expect("lock").iter().map(|r| r.path.clone()).collect()
    }
}

fn serve(conn: TcpStream, handler: &Handler, seen: &Mutex<Vec<Req>>) {
    let mut r = BufReader::new(conn.try_clone().expect("clone"));
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut len = 0usize;
    let mut auth = None;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().unwrap_or(0),
                "authorization" => auth = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; len];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let req = Req { method, path, auth, body };
    seen.lock().expect("lock").push(req.clone());
    let mut conn = conn;
    match handler(&req) {
        Reply::Hang => std::thread::sleep(Duration::from_secs(30)),
        Reply::Ok(status, body) => {
            let head = format!("HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(body.as_bytes());
        }
    }
}

/// The regtest chain: raw hex per txid, the index, and chain order.
struct Chain {
    hex: HashMap<Txid, String>,
    order: Vec<Txid>,
    idx: ChainIndex,
}

fn chain() -> Option<Arc<Chain>> {
    let blocks = testdata::shared("chain/regtest-small/blocks")?;
    let src = BlockSource::open(&blocks, Network::Regtest).expect("open");
    let mut idx = ChainIndex::new(Network::Regtest);
    let mut hex = HashMap::new();
    let mut order = Vec::new();
    for i in 0..src.len() {
        let b = src.read_block(i).expect("block");
        for tx in &b.txdata {
            let t = tx.compute_txid();
            hex.insert(t, bitcoin::consensus::encode::serialize_hex(tx));
            order.push(t);
        }
        idx.append_block(i as u32, &b).expect("append");
    }
    Some(Arc::new(Chain { hex, order, idx }))
}

fn txid_of(c: &Chain, id: u32) -> Txid {
    use bitcoin::hashes::Hash;
    Txid::from_byte_array(c.idx.txs[id as usize].txid)
}

fn id_of(c: &Chain, t: &Txid) -> u32 {
    use bitcoin::hashes::Hash;
    c.idx.tx_id(t.as_byte_array()).expect("known tx")
}

fn parents(c: &Chain, t: &Txid) -> Vec<Txid> {
    let row = &c.idx.txs[id_of(c, t) as usize];
    row.inputs().map(|i| txid_of(c, c.idx.tx_of_output(c.idx.inputs[i as usize]).expect("out"))).collect()
}

fn children(c: &Chain, t: &Txid) -> Vec<Txid> {
    let row = &c.idx.txs[id_of(c, t) as usize];
    row.outputs().filter(|o| c.idx.spent_by(*o) != NONE).map(|o| txid_of(c, c.idx.spent_by(o))).collect()
}

/// Esplora paths over the chain; `listing` overrides `/address/..` pages (address -> txids,
/// newest first), `overrides` replace any path's answer.
fn esplora(c: Arc<Chain>, listing: BTreeMap<String, Vec<Txid>>, overrides: HashMap<String, Reply>) -> Handler {
    let overrides = Arc::new(Mutex::new(overrides));
    Arc::new(move |r: &Req| {
        if let Some(o) = overrides.lock().expect("lock").get(&r.path) {
            return match o {
                Reply::Ok(s, b) => Reply::Ok(*s, b.clone()),
                Reply::Hang => Reply::Hang,
            };
        }
        // Base URLs with a path (`http://host/api`) work the same.
        let path = r.path.strip_prefix("/api").unwrap_or(&r.path);
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match seg.as_slice() {
            ["tx", t, "hex"] => match t.parse::<Txid>().ok().and_then(|t| c.hex.get(&t)) {
                Some(h) => Reply::Ok(200, h.clone()),
                None => Reply::Ok(404, "Transaction not found".into()),
            },
            ["tx", t, "outspends"] => {
                let Some(id) = t.parse::<Txid>().ok().and_then(|t| { use bitcoin::hashes::Hash; c.idx.tx_id(t.as_byte_array()) }) else {
                    return Reply::Ok(404, "Transaction not found".into());
                };
                let row = &c.idx.txs[id as usize];
                let v: Vec<serde_json::Value> = row
                    .outputs()
                    .map(|o| match c.idx.spent_by(o) {
                        NONE => serde_json::json!({"spent": false}),
                        s => {
                            let srow = &c.idx.txs[s as usize];
                            let vin = srow.inputs().position(|i| c.idx.inputs[i as usize] == o).expect("vin");
                            serde_json::json!({"spent": true, "txid": txid_of(&c, s).to_string(), "vin": vin, "status": {"confirmed": true}})
                        }
                    })
                    .collect();
                Reply::Ok(200, serde_json::Value::from(v).to_string())
            }
            ["address", a, "txs", rest @ ..] => {
                let Some(all) = listing.get(*a) else { return Reply::Ok(200, "[]".into()) };
                let from = match rest {
                    [] => 0,
                    ["chain", last] => all.iter().position(|t| t.to_string() == *last).map(|p| p + 1).unwrap_or(all.len()),
                    _ => return Reply::Ok(400, "bad path".into()),
                };
                let page: Vec<serde_json::Value> =
                    all.iter().skip(from).take(25).map(|t| serde_json::json!({"txid": t.to_string(), "status": {"confirmed": true}})).collect();
                Reply::Ok(200, serde_json::Value::from(page).to_string())
            }
            _ => Reply::Ok(404, "not found".into()),
        }
    })
}

/// The reference walk over the index: hops back (and forward when `children`) from `start`,
/// never fetching nor expanding the `blocked` txids (as a failing endpoint would).
fn reference(c: &Chain, start: &[Txid], hops: u32, children_too: bool, blocked: &BTreeSet<Txid>) -> (BTreeMap<Txid, u32>, BTreeMap<Txid, u32>) {
    let mut anc: BTreeMap<Txid, u32> = start.iter().map(|t| (*t, 0)).collect();
    let mut desc: BTreeMap<Txid, u32> = if children_too { anc.clone() } else { BTreeMap::new() };
    for level in 0..hops {
        let a: Vec<Txid> = anc.iter().filter(|(t, h)| **h == level && !blocked.contains(*t)).map(|(t, _)| *t).collect();
        for t in a {
            for p in parents(c, &t) {
                anc.entry(p).or_insert(level + 1);
            }
        }
        let d: Vec<Txid> = desc.iter().filter(|(t, h)| **h == level && !blocked.contains(*t)).map(|(t, _)| *t).collect();
        for t in d {
            for ch in children(c, &t) {
                desc.entry(ch).or_insert(level + 1);
            }
        }
    }
    (anc, desc)
}

/// Asserts that the graph is exactly what the index says for that reference walk.
fn check_graph(c: &Chain, g: &LookupGraph, anc: &BTreeMap<Txid, u32>, desc: &BTreeMap<Txid, u32>, blocked: &BTreeSet<Txid>) {
    let expected: BTreeSet<Txid> = anc.keys().chain(desc.keys()).filter(|t| !blocked.contains(*t)).copied().collect();
    let got: Vec<&str> = g.txs.iter().map(|t| t.txid.as_str()).collect();
    let want: BTreeSet<String> = expected.iter().map(|t| t.to_string()).collect();
    assert_eq!(got, want.iter().map(String::as_str).collect::<Vec<_>>(), "fetched set (sorted by display txid)");
    for t in &g.txs {
        let txid: Txid = t.txid.parse().expect("txid");
        assert_eq!(t.ancestor_hop, anc.get(&txid).copied(), "{txid} ancestor hop");
        assert_eq!(t.descendant_hop, desc.get(&txid).copied(), "{txid} descendant hop");
        assert_eq!(t.sha256, bitcoin::hashes::sha256::Hash::hash_str(c.hex[&txid].as_str()), "{txid} sha256 of the raw bytes");
        let row = &c.idx.txs[id_of(c, &txid) as usize];
        assert_eq!(t.outputs.len() as u32, row.n_out);
        for (o, lo) in row.outputs().zip(&t.outputs) {
            let out = c.idx.outputs[o as usize];
            assert_eq!(lo.value, out.value, "{txid} output value");
            assert_eq!(lo.address, (out.addr != NONE).then(|| c.idx.address_string(out.addr).expect("addr")), "{txid} output address");
            let spender = c.idx.spent_by(o);
            let want = (spender != NONE && expected.contains(&txid_of(c, spender))).then(|| {
                let vin = c.idx.txs[spender as usize].inputs().position(|i| c.idx.inputs[i as usize] == o).expect("vin");
                format!("{}:{vin}", txid_of(c, spender))
            });
            assert_eq!(lo.spent_by, want, "{txid} output spent_by");
        }
        if row.n_in == 0 {
            assert_eq!(t.inputs.len(), 1);
            assert_eq!(t.inputs[0].prevout, None, "coinbase input");
        } else {
            assert_eq!(t.inputs.len() as u32, row.n_in);
            for (i, li) in row.inputs().zip(&t.inputs) {
                let o = c.idx.inputs[i as usize];
                let ptx = c.idx.tx_of_output(o).expect("parent");
                let prow = &c.idx.txs[ptx as usize];
                assert_eq!(li.prevout.as_deref(), Some(format!("{}:{}", prow.txid_hex(), o - prow.first_out).as_str()));
                let known = expected.contains(&txid_of(c, ptx));
                let out = c.idx.outputs[o as usize];
                assert_eq!(li.value, known.then_some(out.value), "{txid} input value");
                assert_eq!(li.address, if known && out.addr != NONE { c.idx.address_string(out.addr) } else { None }, "{txid} input address");
            }
        }
    }
}

trait HashStr {
    fn hash_str(hex: &str) -> String;
}
impl HashStr for bitcoin::hashes::sha256::Hash {
    fn hash_str(h: &str) -> String {
        use bitcoin::hashes::Hash;
        bitcoin::hashes::sha256::Hash::hash(&hex::decode(h).expect("hex")).to_string()
    }
}

/// A payment deep in the chain whose 2-hop neighbourhood has parents, grandparents,
/// children and grandchildren (the first such tx with the most inputs, for determinism).
fn pick_start(c: &Chain) -> Txid {
    let mut best: Option<(usize, Txid)> = None;
    for t in &c.order {
        let ps = parents(c, t);
        let cs = children(c, t);
        if ps.is_empty() || cs.len() < 2 {
            continue;
        }
        let gp = ps.iter().all(|p| !parents(c, p).is_empty());
        let gc = cs.iter().any(|ch| !children(c, ch).is_empty());
        if gp && gc && best.is_none_or(|(n, _)| ps.len() > n) {
            best = Some((ps.len(), *t));
        }
    }
    best.expect("a start tx").1
}

fn client(url: &str, timeout: u64) -> Client {
    Client::new(Endpoint::Esplora(url.to_owned()), &ClientConfig { proxy: None, timeout: Duration::from_secs(timeout) }).expect("client")
}

fn cfg(hops: u32, max_txs: usize) -> LookupConfig {
    LookupConfig { hops, max_txs, network: Network::Regtest }
}

#[test]
fn esplora_two_hops_equal_the_local_index() {
    let Some(c) = chain() else { return };
    let start = pick_start(&c);
    let mock = Mock::start(esplora(c.clone(), BTreeMap::new(), HashMap::new()));
    let g = walk(&client(&mock.url, 10), &Start::Tx(start), &cfg(2, 200)).expect("walk");
    assert!(g.errors.is_empty(), "{:?}", g.errors);
    let (anc, desc) = reference(&c, &[start], 2, true, &BTreeSet::new());
    assert!(anc.len() >= 4 && desc.len() >= 4, "a neighbourhood worth testing: {} back, {} forward", anc.len(), desc.len());
    check_graph(&c, &g, &anc, &desc, &BTreeSet::new());
    assert!(!g.cap_hit && g.unfetched.is_empty() && g.children_followed);
    assert!(g.txs.iter().all(|t| t.endpoint == mock.url && t.path == format!("/tx/{}/hex", t.txid)));
    // Reproducible: the same answers give the same JSON.
    let again = walk(&client(&mock.url, 10), &Start::Tx(start), &cfg(2, 200)).expect("walk");
    assert_eq!(serde_json::to_string(&g).expect("json"), serde_json::to_string(&again).expect("json"));

    // The cap stops the walk and says so.
    let capped = walk(&client(&mock.url, 10), &Start::Tx(start), &cfg(2, 3)).expect("walk");
    assert_eq!(capped.txs.len(), 3);
    assert!(capped.cap_hit);
    // What it had reached but not fetched is listed (all of it in the full neighbourhood).
    let full: BTreeSet<&str> = g.txs.iter().map(|t| t.txid.as_str()).collect();
    assert!(!capped.unfetched.is_empty() && capped.unfetched.iter().all(|t| full.contains(t.as_str())), "{:?}", capped.unfetched);
    assert!(capped.txs.iter().all(|t| full.contains(t.txid.as_str())));
}

#[test]
fn wrong_tx_and_garbage_are_errors_and_the_walk_goes_on() {
    let Some(c) = chain() else { return };
    let start = pick_start(&c);
    let ps: Vec<Txid> = parents(&c, &start).into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    let cs: Vec<Txid> = children(&c, &start).into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    let (liar, nonhex, truncated, err500) = (ps[0], ps[1 % ps.len()], cs[0], cs[1]);
    assert!(liar != nonhex, "start needs two parents");
    let mut ov = HashMap::new();
    // Another real transaction's bytes: valid, but not what was asked for.
    ov.insert(format!("/tx/{liar}/hex"), Reply::Ok(200, c.hex[&start].clone()));
    ov.insert(format!("/tx/{nonhex}/hex"), Reply::Ok(200, "<html>rate limited</html>".into()));
    let h = &c.hex[&truncated];
    ov.insert(format!("/tx/{truncated}/hex"), Reply::Ok(200, h[..(h.len() / 2) & !1].to_owned()));
    ov.insert(format!("/tx/{err500}/hex"), Reply::Ok(500, "Internal Server Error".into()));
    let mock = Mock::start(esplora(c.clone(), BTreeMap::new(), ov));
    let g = walk(&client(&mock.url, 10), &Start::Tx(start), &cfg(2, 200)).expect("walk");

    let by_path: BTreeMap<&str, &chain::lookup::LookupErrorRecord> = g.errors.iter().map(|e| (e.path.as_str(), e)).collect();
    assert_eq!(g.errors.len(), 4, "{:#?}", g.errors);
    let e = by_path[format!("/tx/{liar}/hex").as_str()];
    assert_eq!(e.kind, "txid-mismatch");
    assert!(e.message.contains(&mock.url) && e.message.contains(&start.to_string()) && e.message.contains(&liar.to_string()), "{}", e.message);
    let e = by_path[format!("/tx/{nonhex}/hex").as_str()];
    assert_eq!(e.kind, "garbage");
    assert!(e.message.contains("not hex") && e.message.contains(&mock.url), "{}", e.message);
    let e = by_path[format!("/tx/{truncated}/hex").as_str()];
    assert_eq!(e.kind, "garbage");
    assert!(e.message.contains("not a transaction"), "{}", e.message);
    let e = by_path[format!("/tx/{err500}/hex").as_str()];
    assert_eq!(e.kind, "http-status");
    assert!(e.message.contains("HTTP 500"), "{}", e.message);

    // Everything else is there, exactly as the index says.
    let blocked: BTreeSet<Txid> = [liar, nonhex, truncated, err500].into();
    let (anc, desc) = reference(&c, &[start], 2, true, &blocked);
    check_graph(&c, &g, &anc, &desc, &blocked);
    assert!(g.txs.len() > 4);
    assert!(g.txs.iter().all(|t| !blocked.contains(&t.txid.parse::<Txid>().expect("txid"))));

    // Unknown txid: 404 with its status.
    let unknown: Txid = "00".repeat(32).parse().expect("txid");
    let e = client(&mock.url, 10).fetch_tx(&unknown).expect_err("404");
    assert!(e.to_string().contains("HTTP 404") && e.to_string().contains("/tx/0000"), "{e}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let Some(c) = chain() else { return };
    let start = pick_start(&c);
    let mock = Mock::start(Arc::new(|_: &Req| Reply::Hang));
    let t0 = Instant::now();
    let g = walk(&client(&mock.url, 1), &Start::Tx(start), &cfg(1, 200)).expect("walk");
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(g.txs.is_empty());
    assert_eq!(g.errors.len(), 1);
    assert_eq!(g.errors[0].kind, "timeout");
    assert!(g.errors[0].message.contains(&mock.url) && g.errors[0].message.contains("timed out"), "{}", g.errors[0].message);

    // Nothing listening at all: a transport error naming the endpoint.
    let dead = { let l = TcpListener::bind("127.0.0.1:0").expect("bind"); l.local_addr().expect("addr") };
    let url = format!("http://{dead}");
    let e = client(&url, 2).fetch_tx(&start).expect_err("refused");
    assert!(e.to_string().contains(&url), "{e}");
}

#[test]
fn address_start_pages_like_esplora() {
    let Some(c) = chain() else { return };
    let start = pick_start(&c);
    // An address paid by the start tx; it is spent by one of the start's children.
    let row = &c.idx.txs[id_of(&c, &start) as usize];
    let out = row.outputs().find(|o| c.idx.outputs[*o as usize].addr != NONE && c.idx.spent_by(*o) != NONE).expect("output");
    let addr = c.idx.address_string(c.idx.outputs[out as usize].addr).expect("addr");
    let spender = txid_of(&c, c.idx.spent_by(out));

    // Honest listing (newest first): the spender and the start.
    let mut listing = BTreeMap::new();
    listing.insert(addr.clone(), vec![spender, start]);
    let mock = Mock::start(esplora(c.clone(), listing, HashMap::new()));
    let g = walk(&client(&mock.url, 10), &Start::Address(addr.clone()), &cfg(1, 500)).expect("walk");
    assert!(g.errors.is_empty(), "{:?}", g.errors);
    let (anc, desc) = reference(&c, &[spender, start], 1, true, &BTreeSet::new());
    check_graph(&c, &g, &anc, &desc, &BTreeSet::new());

    // 60 txids listed: three pages of 25, 25 and 10, each after the last txid of the one
    // before. The 58 that do not touch the address are fetched but reported.
    let mut padded = vec![spender, start];
    padded.extend(c.order.iter().rev().filter(|t| **t != spender && **t != start && !c.idx.txs[id_of(&c, t) as usize].inputs().is_empty()).take(58));
    let mut listing = BTreeMap::new();
    listing.insert(addr.clone(), padded.clone());
    let mock = Mock::start(esplora(c.clone(), listing, HashMap::new()));
    let g = walk(&client(&mock.url, 10), &Start::Address(addr.clone()), &cfg(1, 1000)).expect("walk");
    let pages: Vec<String> = mock.paths().into_iter().filter(|p| p.starts_with("/address/")).collect();
    assert_eq!(pages, vec![format!("/address/{addr}/txs"), format!("/address/{addr}/txs/chain/{}", padded[24]), format!("/address/{addr}/txs/chain/{}", padded[49])]);
    let starts: BTreeSet<String> = g.txs.iter().filter(|t| t.ancestor_hop == Some(0)).map(|t| t.txid.clone()).collect();
    assert_eq!(starts, padded.iter().map(|t| t.to_string()).collect());
    let flagged: BTreeSet<String> = g.errors.iter().filter(|e| e.kind == "not-for-address").map(|e| e.message.split_whitespace().nth(3).unwrap_or_default().to_owned()).collect();
    assert_eq!(flagged.len(), 58, "{:#?}", g.errors);
    assert!(!flagged.contains(&start.to_string()) && !flagged.contains(&spender.to_string()));
    assert_eq!(g.errors.len(), 58);

    // The listing is capped too.
    let g = walk(&client(&mock.url, 10), &Start::Address(addr.clone()), &cfg(0, 30)).expect("walk");
    assert!(g.cap_hit);
    assert_eq!(g.txs.len(), 30);
}

/// A Core JSON-RPC mock: POST, basic auth `expect_auth`, getrawtransaction only.
fn rpc(c: Arc<Chain>, expect_auth: &'static str) -> Handler {
    Arc::new(move |r: &Req| {
        if r.method != "POST" {
            return Reply::Ok(405, String::new());
        }
        if r.auth.as_deref() != Some(expect_auth) {
            return Reply::Ok(401, String::new());
        }
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        let t = v["params"][0].as_str().and_then(|t| t.parse::<Txid>().ok());
        match (v["method"].as_str(), t.and_then(|t| c.hex.get(&t)), v["params"][1].as_bool()) {
            (Some("getrawtransaction"), Some(h), Some(false)) => Reply::Ok(200, serde_json::json!({"result": h, "error": null, "id": v["id"]}).to_string()),
            (Some("getrawtransaction"), None, _) => Reply::Ok(
                500,
                serde_json::json!({"result": null, "error": {"code": -5, "message": "No such mempool or blockchain transaction"}, "id": v["id"]}).to_string(),
            ),
            _ => Reply::Ok(500, serde_json::json!({"result": null, "error": {"code": -32601, "message": "Method not found"}, "id": v["id"]}).to_string()),
        }
    })
}

#[test]
fn core_rpc_fetches_parents_with_auth() {
    let Some(c) = chain() else { return };
    let start = pick_start(&c);
    let mock = Mock::start(rpc(c.clone(), "Basic dXNlcjpwYXNz"));
    let tc = ClientConfig { proxy: None, timeout: Duration::from_secs(10) };
    let ep = |auth| Endpoint::CoreRpc { url: mock.url.clone(), auth };
    let good = Client::new(ep(RpcAuth::UserPass { user: "user".into(), password: "pass".into() }), &tc).expect("client");
    let g = walk(&good, &Start::Tx(start), &cfg(2, 200)).expect("walk");
    assert!(g.errors.is_empty(), "{:?}", g.errors);
    assert!(!g.children_followed && g.note.as_deref().is_some_and(|n| n.contains("parents only")));
    let (anc, desc) = reference(&c, &[start], 2, false, &BTreeSet::new());
    assert!(anc.len() >= 4);
    check_graph(&c, &g, &anc, &desc, &BTreeSet::new());
    assert!(g.txs.iter().all(|t| t.path == format!("getrawtransaction {} false", t.txid)));

    // Unknown tx: the RPC error object, with its code.
    let unknown: Txid = "11".repeat(32).parse().expect("txid");
    let e = good.fetch_tx(&unknown).expect_err("unknown");
    assert!(e.to_string().contains("RPC error -5") && e.to_string().contains(&mock.url), "{e}");

    // Wrong credentials: a clear error, and nothing fetched.
    let bad = Client::new(ep(RpcAuth::UserPass { user: "user".into(), password: "wrong".into() }), &tc).expect("client");
    let g = walk(&bad, &Start::Tx(start), &cfg(2, 200)).expect("walk");
    assert!(g.txs.is_empty());
    assert_eq!(g.errors.len(), 1);
    assert_eq!(g.errors[0].kind, "auth");
    assert!(g.errors[0].message.contains("credentials refused (HTTP 401)"), "{}", g.errors[0].message);

    // Cookie file auth.
    let mock = Mock::start(rpc(c.clone(), "Basic X19jb29raWVfXzpzM2NyZXQ="));
    let dir = tempfile::tempdir().expect("tmp");
    let cookie = dir.path().join(".cookie");
    std::fs::write(&cookie, "__cookie__:s3cret").expect("write");
    let ck = Client::new(Endpoint::CoreRpc { url: mock.url.clone(), auth: RpcAuth::Cookie(cookie) }, &tc).expect("client");
    assert_eq!(ck.fetch_tx(&start).expect("fetch").tx.compute_txid(), start);
    // An address start needs Esplora.
    assert!(walk(&ck, &Start::Address("bcrt1qxxxx".into()), &cfg(1, 10)).is_err());
}

#[test]
fn stored_lookups_are_verified_by_txid() {
    let Some(c) = chain() else { return };
    let start = pick_start(&c);
    let mock = Mock::start(esplora(c.clone(), BTreeMap::new(), HashMap::new()));
    let g = walk(&client(&mock.url, 10), &Start::Tx(start), &cfg(1, 200)).expect("walk");
    let case = tempfile::tempdir().expect("tmp");
    let stored = chain::lookup::store_in_case(case.path(), &g).expect("store");
    assert_eq!(stored.len(), g.txs.len());
    assert!(stored.iter().all(|s| s.new));
    let other = stored.iter().find(|s| s.txid != start.to_string()).expect("a non-start tx");
    let f = case.path().join(&other.file);
    assert_eq!(std::fs::read_to_string(&f).expect("read").trim(), c.hex[&other.txid.parse::<Txid>().expect("txid")]);
    // Storing again adds nothing.
    assert!(chain::lookup::store_in_case(case.path(), &g).expect("store").iter().all(|s| !s.new));
    assert!(chain::lookup::verify_stored(case.path()).expect("verify").is_empty());
    // The custody check: the same tx with its witness stripped keeps the txid, not the digest.
    assert_eq!(chain::lookup::check_stored(case.path(), &other.file, &other.txid, &other.sha256), Ok(()));
    let mut tx = chain::lookup::parse_tx_hex(&c.hex[&other.txid.parse::<Txid>().expect("txid")]).expect("tx").0;
    assert!(tx.input.iter().any(|i| !i.witness.is_empty()), "regtest-small spends P2WPKH");
    for i in &mut tx.input {
        i.witness.clear();
    }
    assert_eq!(tx.compute_txid().to_string(), other.txid);
    std::fs::write(&f, hex::encode(chain::lookup::serialize_tx(&tx))).expect("write");
    let e = chain::lookup::check_stored(case.path(), &other.file, &other.txid, &other.sha256).expect_err("witness changed");
    assert!(e.contains("same txid, other bytes"), "{e}");
    assert!(chain::lookup::check_stored(case.path(), "chain/lookups/../../etc/passwd", &other.txid, &other.sha256).is_err());
    // A file holding another tx is caught.
    std::fs::write(&f, &c.hex[&start]).expect("write");
    let p = chain::lookup::verify_stored(case.path()).expect("verify");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("holds transaction") && p[0].contains(&other.txid), "{p:?}");
}

#[test]
fn onion_endpoint_through_a_socks5h_proxy() {
    let Some(c) = chain() else { return };
    let start = pick_start(&c);
    let mock = Mock::start(esplora(c.clone(), BTreeMap::new(), HashMap::new()));
    let upstream = mock.url.trim_start_matches("http://").parse().expect("addr");
    let (proxy, names) = testdata::socks5_stub(upstream);
    let onion = "esploraexampleabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopq.onion";
    let ep = Endpoint::Esplora(format!("http://{onion}/api"));
    let client = Client::new(ep, &ClientConfig { proxy: Some(proxy), timeout: Duration::from_secs(10) }).expect("client");
    let g = walk(&client, &Start::Tx(start), &cfg(1, 200)).expect("walk");
    assert!(g.errors.is_empty(), "{:?}", g.errors);
    let (anc, desc) = reference(&c, &[start], 1, true, &BTreeSet::new());
    check_graph(&c, &g, &anc, &desc, &BTreeSet::new());
    assert!(g.txs.iter().all(|t| t.endpoint == format!("http://{onion}/api")));
    // Every request went through the proxy with the name unresolved (socks5h).
    let names = names.lock().expect("lock").clone();
    assert!(!names.is_empty() && names.iter().all(|n| n == onion), "{names:?}");
    assert!(mock.paths().iter().all(|p| p.starts_with("/api/tx/")), "{:?}", mock.paths());
}
