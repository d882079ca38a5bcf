//! Links as files other tools read: GraphML (networkx, Gephi, yEd) and a
//! STIX 2.1 bundle (threat intelligence platforms). Both carry, per link,
//! its id, probability, whether a hard identifier is among its evidence,
//! the analyst's decision and the value of every signal, so a reader can
//! go back to `dragnet explain` for any of them. Output is a function of
//! the accounts, links, decisions and the given timestamp: the same case
//! gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

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
    let ids: BTreeSet<&str> = links.iter().flat_map(|l| [l.a.as_str(), l.b.as_str()]).collect();
    let mut out: Vec<&Account> = accounts.iter().filter(|a| ids.contains(a.id.as_str())).collect();
    out.sort_by(|x, y| x.id.cmp(&y.id));
    out
}

/// GraphML: one node per account a link touches (market, name), one
/// undirected edge per link (id, probability, hard, decision, signals).
pub fn to_graphml(accounts: &[Account], links: &[Link], decisions: &Decisions) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n");
    for (id, on, name, ty) in [
        ("market", "node", "market", "string"),
        ("name", "node", "name", "string"),
        ("link", "edge", "link", "string"),
        ("probability", "edge", "probability", "double"),
        ("hard", "edge", "hard", "boolean"),
        ("decision", "edge", "decision", "string"),
        ("signals", "edge", "signals", "string"),
    ] {
        let _ = writeln!(s, "  <key id=\"{id}\" for=\"{on}\" attr.name=\"{name}\" attr.type=\"{ty}\"/>");
    }
    s.push_str("  <graph id=\"links\" edgedefault=\"undirected\">\n");
    for a in touched(accounts, links) {
        let _ = writeln!(
            s,
            "    <node id=\"{}\"><data key=\"market\">{}</data><data key=\"name\">{}</data></node>",
            xml(&a.id),
            xml(&a.market),
            xml(&a.name)
        );
    }
    for l in links {
        let _ = writeln!(
            s,
            "    <edge id=\"{}\" source=\"{}\" target=\"{}\"><data key=\"link\">{}</data><data key=\"probability\">{}</data><data key=\"hard\">{}</data><data key=\"decision\">{}</data><data key=\"signals\">{}</data></edge>",
            xml(&l.id),
            xml(&l.a),
            xml(&l.b),
            xml(&l.id),
            l.probability,
            l.hard,
            decisions.get(&l.id).copied().unwrap_or("undecided"),
            xml(&signals(l))
        );
    }
    s.push_str("  </graph>\n</graphml>\n");
    s
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
    let common = |ty: &str, name: &str| json!({ "type": ty, "spec_version": "2.1", "id": stix_id(ty, name), "created": timestamp, "modified": timestamp });
    let mut objects = Vec::new();
    let accs = touched(accounts, links);
    let markets: BTreeSet<&str> = accs.iter().map(|a| a.market.as_str()).collect();
    for m in &markets {
        let mut o = common("infrastructure", m);
        o["name"] = json!(format!("market {m}"));
        o["infrastructure_types"] = json!(["unknown"]);
        o["description"] = json!(format!("The darknet market {m}, as captured in this case."));
        objects.push(o);
    }
    for a in &accs {
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
    for l in links {
        let decision = decisions.get(&l.id).copied().unwrap_or("undecided");
        let mut r = common("relationship", &l.id);
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
        objects.push(r);
    }
    json!({ "type": "bundle", "id": stix_id("bundle", &format!("{timestamp}|{}", links.len())), "objects": objects })
}
