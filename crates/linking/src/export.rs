//! Links as files other tools read: GraphML (networkx, Gephi, yEd) and a
//! STIX 2.1 bundle (threat intelligence platforms). Both carry, per link,
//! its id, probability, whether a hard identifier is among its evidence,
//! the analyst's decision and the value of every signal, so a reader can
//! go back to `dragnet explain` for any of them. Output is a function of
//! the accounts, links, decisions and the given timestamp: the same case
//! gives the same bytes.
//!
//! Each format has a writer that takes the links a batch at a time (after
//! the accounts they touch): at a low `--min-score` a large case has
//! millions of links, too many to hold with their evidence at once.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde_json::{json, Value};

use crate::account::Account;
use crate::link::Link;

/// What an analyst decided about a link, as exported.
pub type Decisions = BTreeMap<String, &'static str>;

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn signals(l: &Link) -> String {
    l.evidence.iter().filter(|e| e.value > 0.0).map(|e| format!("{}={:.3}", e.signal, e.value)).collect::<Vec<_>>().join(" ")
}

/// The accounts a set of links touches, in id order.
fn touched<'a>(accounts: &'a [Account], links: &[Link]) -> Vec<&'a Account> {
    with_ids(accounts, links.iter().flat_map(|l| [l.a.as_str(), l.b.as_str()]).collect())
}

/// The accounts the pairs of account indices touch (the pairs
/// [`crate::Linker::ranked`] gives for the links to come), in id order: what
/// the writers want first.
pub fn touched_by_pairs<'a>(accounts: &'a [Account], pairs: &[(usize, usize)]) -> Vec<&'a Account> {
    with_ids(accounts, pairs.iter().flat_map(|&(i, j)| [accounts[i].id.as_str(), accounts[j].id.as_str()]).collect())
}

fn with_ids<'a>(accounts: &'a [Account], ids: BTreeSet<&str>) -> Vec<&'a Account> {
    let mut out: Vec<&Account> = accounts.iter().filter(|a| ids.contains(a.id.as_str())).collect();
    out.sort_by(|x, y| x.id.cmp(&y.id));
    out
}

/// GraphML: one node per account a link touches (market, name), one
/// undirected edge per link (id, probability, hard, decision, signals).
pub fn to_graphml(accounts: &[Account], links: &[Link], decisions: &Decisions) -> String {
    let mut w = GraphmlWriter::new(Vec::new(), &touched(accounts, links)).expect("writing to memory");
    w.links(links, decisions).expect("writing to memory");
    String::from_utf8(w.finish().expect("writing to memory")).expect("GraphML written from text is text")
}

/// [`to_graphml`] written to `out` a batch of links at a time: the nodes
/// first, then [`GraphmlWriter::links`] for each batch in order, then
/// [`GraphmlWriter::finish`].
pub struct GraphmlWriter<W: Write> {
    out: W,
}

impl<W: Write> GraphmlWriter<W> {
    /// Writes the keys and a node for each of `touched` (the accounts the
    /// links to come touch, in id order).
    pub fn new(mut out: W, touched: &[&Account]) -> io::Result<GraphmlWriter<W>> {
        out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n")?;
        for (id, on, name, ty) in [
            ("market", "node", "market", "string"),
            ("name", "node", "name", "string"),
            ("link", "edge", "link", "string"),
            ("probability", "edge", "probability", "double"),
            ("hard", "edge", "hard", "boolean"),
            ("decision", "edge", "decision", "string"),
            ("signals", "edge", "signals", "string"),
        ] {
            writeln!(out, "  <key id=\"{id}\" for=\"{on}\" attr.name=\"{name}\" attr.type=\"{ty}\"/>")?;
        }
        out.write_all(b"  <graph id=\"links\" edgedefault=\"undirected\">\n")?;
        for a in touched {
            writeln!(
                out,
                "    <node id=\"{}\"><data key=\"market\">{}</data><data key=\"name\">{}</data></node>",
                xml(&a.id),
                xml(&a.market),
                xml(&a.name)
            )?;
        }
        Ok(GraphmlWriter { out })
    }

    /// An edge for each link.
    pub fn links(&mut self, links: &[Link], decisions: &Decisions) -> io::Result<()> {
        for l in links {
            writeln!(
                self.out,
                "    <edge id=\"{}\" source=\"{}\" target=\"{}\"><data key=\"link\">{}</data><data key=\"probability\">{}</data><data key=\"hard\">{}</data><data key=\"decision\">{}</data><data key=\"signals\">{}</data></edge>",
                xml(&l.id),
                xml(&l.a),
                xml(&l.b),
                xml(&l.id),
                l.probability,
                l.hard,
                decision_of(decisions, l),
                xml(&signals(l))
            )?;
        }
        Ok(())
    }

    /// Closes the graph; the output, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"  </graph>\n</graphml>\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn decision_of(decisions: &Decisions, l: &Link) -> &'static str {
    decisions.get(&l.id).copied().unwrap_or("undecided")
}

/// A STIX identifier: `type--` and a version 4 UUID (what STIX asks of
/// domain objects) whose 122 free bits come from SHA-256 of the type and
/// name instead of a random source, so the same account or link gets the
/// same id in every export.
fn stix_id(ty: &str, name: &str) -> String {
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(format!("dragnet/{ty}/{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&h[..16]);
    format!("{ty}--{}", uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// A STIX 2.1 bundle: a `threat-actor` per account a link touches, an
/// `infrastructure` per market with the accounts' `uses` relationships, and
/// a `related-to` relationship per link whose `confidence` is the link's
/// probability (0-100) and whose description names its id, signals and
/// decision. `timestamp` (RFC 3339) is every object's created/modified time.
pub fn to_stix(accounts: &[Account], links: &[Link], decisions: &Decisions, timestamp: &str) -> Value {
    let mut objects = stix_account_objects(&touched(accounts, links), timestamp);
    objects.extend(links.iter().map(|l| stix_link_object(l, decisions, timestamp)));
    stix_bundle(objects, links.len(), timestamp)
}

fn stix_bundle(objects: Vec<Value>, links: usize, timestamp: &str) -> Value {
    json!({ "type": "bundle", "id": stix_id("bundle", &format!("{timestamp}|{links}")), "objects": objects })
}

fn stix_common(ty: &str, name: &str, timestamp: &str) -> Value {
    json!({ "type": ty, "spec_version": "2.1", "id": stix_id(ty, name), "created": timestamp, "modified": timestamp })
}

/// The markets of `accounts` (in id order), then each account and its
/// `uses` relationship.
fn stix_account_objects(accounts: &[&Account], timestamp: &str) -> Vec<Value> {
    let common = |ty: &str, name: &str| stix_common(ty, name, timestamp);
    let mut objects = Vec::new();
    let markets: BTreeSet<&str> = accounts.iter().map(|a| a.market.as_str()).collect();
    for m in &markets {
        let mut o = common("infrastructure", m);
        o["name"] = json!(format!("market {m}"));
        o["infrastructure_types"] = json!(["unknown"]);
        o["description"] = json!(format!("The darknet market {m}, as captured in this case."));
        objects.push(o);
    }
    for a in accounts {
        let mut o = common("threat-actor", &a.id);
        o["name"] = json!(a.id);
        o["threat_actor_types"] = json!(["criminal"]);
        o["description"] = json!(format!("Vendor account {:?} on market {:?}, as captured in this case.", a.name, a.market));
        o["external_references"] = json!([{ "source_name": "dragnet", "external_id": a.id }]);
        objects.push(o);
        let mut r = common("relationship", &format!("{}|uses|{}", a.id, a.market));
        r["relationship_type"] = json!("uses");
        r["source_ref"] = json!(stix_id("threat-actor", &a.id));
        r["target_ref"] = json!(stix_id("infrastructure", &a.market));
        objects.push(r);
    }
    objects
}

fn stix_link_object(l: &Link, decisions: &Decisions, timestamp: &str) -> Value {
    let decision = decision_of(decisions, l);
    let mut r = stix_common("relationship", &l.id, timestamp);
    r["relationship_type"] = json!("related-to");
    r["source_ref"] = json!(stix_id("threat-actor", &l.a));
    r["target_ref"] = json!(stix_id("threat-actor", &l.b));
    r["confidence"] = json!((l.probability * 100.0).round().clamp(0.0, 100.0) as u32);
    r["description"] = json!(format!(
        "dragnet link {}: probability {:.3} that one operator runs both accounts{}; signals {}; analyst decision: {decision}.",
        l.id,
        l.probability,
        if l.hard { " (a hard identifier is shared)" } else { "" },
        signals(l)
    ));
    r["external_references"] = json!([{ "source_name": "dragnet", "external_id": l.id }]);
    r
}

/// [`to_stix`], pretty-printed as `serde_json::to_vec_pretty` prints it,
/// written to `out` a batch of links at a time: [`StixWriter::new`] with
/// the accounts and how many links will follow (the bundle's id names it),
/// [`StixWriter::links`] for each batch in order, [`StixWriter::finish`].
pub struct StixWriter<W: Write> {
    out: W,
    timestamp: String,
    /// What closes the objects and the bundle.
    tail: String,
    /// Whether an object has been written (the next one needs a comma).
    written: bool,
    /// The links the bundle was announced with, and those written.
    links: (usize, usize),
}

impl<W: Write> StixWriter<W> {
    /// Writes the bundle's head and the objects of `touched` (the accounts
    /// the `links` links to come touch, in id order).
    pub fn new(mut out: W, touched: &[&Account], links: usize, timestamp: &str) -> io::Result<StixWriter<W>> {
        let objects = stix_account_objects(touched, timestamp);
        if objects.is_empty() {
            // No links: `[]`, which has no line for an object to go in.
            serde_json::to_writer_pretty(&mut out, &stix_bundle(objects, links, timestamp))?;
            return Ok(StixWriter { out, timestamp: timestamp.to_owned(), tail: String::new(), written: true, links: (links, 0) });
        }
        // The bundle printed with one string in place of its objects: where
        // that string's line is, objects go, each indented as deep.
        const SLOT: &str = "\u{1}objects";
        let bundle = serde_json::to_string_pretty(&stix_bundle(vec![json!(SLOT)], links, timestamp))?;
        let slot = serde_json::to_string(SLOT)?;
        let at = bundle.find(&slot).expect("the bundle holds its objects");
        let line_start = bundle[..at].rfind('\n').map_or(0, |n| n + 1);
        debug_assert_eq!(&bundle[line_start..at], "    ");
        out.write_all(&bundle.as_bytes()[..line_start])?;
        let mut w = StixWriter { out, timestamp: timestamp.to_owned(), tail: bundle[at + slot.len()..].to_owned(), written: false, links: (links, 0) };
        for o in &objects {
            w.object(o)?;
        }
        Ok(w)
    }

    fn miscount(&self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, format!("a STIX bundle announced with {} links was given {}", self.links.0, self.links.1))
    }

    /// One object, in the objects' array (indented four spaces deeper than
    /// printed alone: no string printed holds a line break).
    fn object(&mut self, o: &Value) -> io::Result<()> {
        if self.written {
            self.out.write_all(b",\n")?;
        }
        self.written = true;
        let text = serde_json::to_string_pretty(o)?;
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.out.write_all(b"\n")?;
            }
            self.out.write_all(b"    ")?;
            self.out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// A `related-to` relationship for each link.
    pub fn links(&mut self, links: &[Link], decisions: &Decisions) -> io::Result<()> {
        for l in links {
            self.links.1 += 1;
            if self.links.1 > self.links.0 {
                return Err(self.miscount());
            }
            let o = stix_link_object(l, decisions, &self.timestamp);
            self.object(&o)?;
        }
        Ok(())
    }

    /// Closes the objects and the bundle; the output, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        if self.links.1 != self.links.0 {
            return Err(self.miscount());
        }
        self.out.write_all(self.tail.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}
