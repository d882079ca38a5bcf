//! The exports written a batch of links at a time are the exports of all
//! the links at once, byte for byte.

mod common;

use linking::export::{to_graphml, to_stix, touched_by_pairs, Decisions, GraphmlWriter, StixWriter};
use linking::*;

const STAMP: &str = "2026-01-02T03:04:05.678Z";

/// A trained model's links on a sim case at `min_score`, the pairs they were
/// built from, and decisions on some of them.
fn sim_links(d: &common::SimData, model: &Model, min_score: f64) -> (Vec<(usize, usize)>, Vec<Link>, Decisions) {
    let linker = Linker::new(model, &d.accounts);
    let ranked = linker.ranked(&candidates(&linker.corpus), min_score);
    let links = linker.links_of(&ranked);
    let words = ["confirmed", "rejected"];
    let decisions = links.iter().step_by(5).enumerate().map(|(n, l)| (l.id.clone(), words[n % 2])).collect();
    (ranked, links, decisions)
}

fn graphml_in_batches(accounts: &[Account], ranked: &[(usize, usize)], links: &[Link], decisions: &Decisions, batch: usize) -> String {
    let mut w = GraphmlWriter::new(Vec::new(), &touched_by_pairs(accounts, ranked)).unwrap();
    for part in links.chunks(batch) {
        w.links(part, decisions).unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

fn stix_in_batches(accounts: &[Account], ranked: &[(usize, usize)], links: &[Link], decisions: &Decisions, batch: usize) -> Vec<u8> {
    let mut w = StixWriter::new(Vec::new(), &touched_by_pairs(accounts, ranked), links.len(), STAMP).unwrap();
    for part in links.chunks(batch) {
        w.links(part, decisions).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn exports_written_in_batches_are_the_whole_exports() {
    let train = common::sim_data(1, 60, 3);
    let model = train_on(&train.accounts, &train.truth, &TrainOptions::default()).unwrap();
    let d = common::sim_data(23, 80, 4);
    for min_score in [0.0, 0.5] {
        let (ranked, links, decisions) = sim_links(&d, &model, min_score);
        assert!(links.len() > 20, "{} links", links.len());
        let graphml = to_graphml(&d.accounts, &links, &decisions);
        let stix = serde_json::to_vec_pretty(&to_stix(&d.accounts, &links, &decisions, STAMP)).unwrap();
        for batch in [1, 3, 7, links.len()] {
            assert_eq!(graphml_in_batches(&d.accounts, &ranked, &links, &decisions, batch), graphml, "GraphML, batches of {batch}");
            let streamed = stix_in_batches(&d.accounts, &ranked, &links, &decisions, batch);
            assert!(streamed == stix, "STIX at {min_score}, batches of {batch}:\n{}", String::from_utf8_lossy(&streamed));
        }
        // Every link is an edge and a relationship, every account it
        // touches a node and a threat actor.
        let ends: std::collections::BTreeSet<&str> = links.iter().flat_map(|l| [l.a.as_str(), l.b.as_str()]).collect();
        assert_eq!(graphml.matches("<edge ").count(), links.len());
        assert_eq!(graphml.matches("<node ").count(), ends.len());
        let bundle: serde_json::Value = serde_json::from_slice(&stix).unwrap();
        let count = |ty: &str| bundle["objects"].as_array().unwrap().iter().filter(|o| o["type"] == ty).count();
        assert_eq!(count("threat-actor"), ends.len());
        assert_eq!(count("relationship"), links.len() + ends.len());
    }
}

#[test]
fn exports_of_no_links_are_the_whole_exports() {
    let d = common::sim_data(5, 20, 2);
    let (ranked, links, decisions) = (Vec::new(), Vec::new(), Decisions::new());
    assert_eq!(graphml_in_batches(&d.accounts, &ranked, &links, &decisions, 1), to_graphml(&d.accounts, &links, &decisions));
    let stix = serde_json::to_vec_pretty(&to_stix(&d.accounts, &links, &decisions, STAMP)).unwrap();
    assert_eq!(stix_in_batches(&d.accounts, &ranked, &links, &decisions, 1), stix);
    assert!(String::from_utf8(stix).unwrap().contains("\"objects\": []"));
}

/// The bundle's id names how many links it holds: a writer given other
/// than it was told fails instead of writing a bundle whose id lies.
#[test]
fn a_stix_writer_given_other_links_than_announced_fails() {
    let train = common::sim_data(1, 60, 3);
    let model = train_on(&train.accounts, &train.truth, &TrainOptions::default()).unwrap();
    let d = common::sim_data(23, 40, 3);
    let (ranked, links, decisions) = sim_links(&d, &model, 0.0);
    let touched = touched_by_pairs(&d.accounts, &ranked);
    let mut fewer = StixWriter::new(Vec::new(), &touched, links.len(), STAMP).unwrap();
    fewer.links(&links[1..], &decisions).unwrap();
    assert!(fewer.finish().is_err());
    let mut more = StixWriter::new(Vec::new(), &touched, links.len() - 1, STAMP).unwrap();
    assert!(more.links(&links, &decisions).is_err());
}
