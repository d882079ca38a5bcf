//! Accounts and truth from the simulator, built from `truth.pages` records
//! (what extraction should recover), without running extraction.
#![allow(dead_code)]

use linking::{accounts_from_records, Account, OperatorMap, Records, Row};
use model::{Identifier, IdentifierKind, Provenance, Sha256};

pub struct SimData {
    pub accounts: Vec<Account>,
    pub truth: OperatorMap,
    pub sim: sim::Truth,
}

pub fn sim_data(seed: u64, operators: usize, markets: usize) -> SimData {
    let case = sim::generate_markets(&sim::MarketSimConfig {
        seed,
        operators,
        markets,
        ..Default::default()
    });
    let mut pages = case.truth.pages.clone();
    let mut identifiers: Vec<Identifier> = Vec::new();
    for page in &mut pages {
        let prov = Provenance {
            evidence: Sha256::of(page.rel_path.as_bytes()),
            profile: "sim".into(),
            rule: "truth".into(),
        };
        for v in &mut page.vendors {
            v.provenance = Some(prov.clone());
        }
        for l in &mut page.listings {
            l.provenance = Some(prov.clone());
        }
        for b in &page.btc_addresses {
            identifiers.push(Identifier {
                kind: IdentifierKind::Btc,
                value: b.clone(),
                detail: None,
                pgp: None,
                provenance: Some(prov.clone()),
            });
        }
    }
    let vendor_ids: Vec<Vec<String>> = pages
        .iter()
        .map(|p| (0..p.vendors.len()).map(|n| format!("{}#v{n}", p.rel_path)).collect())
        .collect();
    let listing_ids: Vec<Vec<String>> = pages
        .iter()
        .map(|p| (0..p.listings.len()).map(|n| format!("{}#l{n}", p.rel_path)).collect())
        .collect();
    let feedback_ids: Vec<Vec<String>> = pages
        .iter()
        .map(|p| (0..p.feedback.len()).map(|n| format!("{}#f{n}", p.rel_path)).collect())
        .collect();
    let ident_ids: Vec<String> = identifiers
        .iter()
        .enumerate()
        .map(|(n, i)| format!("I-{}-{n}", i.provenance.as_ref().map(|p| p.evidence.to_hex()).unwrap_or_default()))
        .collect();
    let mut records = Records::default();
    for (p, page) in pages.iter().enumerate() {
        for (v, id) in page.vendors.iter().zip(&vendor_ids[p]) {
            records.vendors.push(Row::new(id, v));
        }
        for (l, id) in page.listings.iter().zip(&listing_ids[p]) {
            records.listings.push(Row::new(id, l));
        }
        for (f, id) in page.feedback.iter().zip(&feedback_ids[p]) {
            records.feedback.push(Row::new(id, f));
        }
    }
    for (i, id) in identifiers.iter().zip(&ident_ids) {
        records.identifiers.push(Row::new(id, i));
    }
    let accounts = accounts_from_records(&records);
    let truth = case
        .truth
        .accounts
        .iter()
        .map(|a| (a.account.clone(), format!("op{}", a.operator)))
        .collect();
    SimData {
        accounts,
        truth,
        sim: case.truth,
    }
}
