//! Vendor linking inside a case: accounts from the stored rows, the scoring
//! model kept in the case, and analyst decisions kept in the custody log.
//!
//! The model lives in `CASE/linking/model.json` (its version, training hash
//! and file SHA-256 are logged when it is stored). Decisions are not derived
//! data, so they do not live in the rebuildable SQLite file: each confirm or
//! reject is a `link-decision` custody log entry (who, when, why), and the
//! current decision on a link is its latest entry. They survive re-extraction
//! and re-scoring because link ids depend only on the two account ids.

use std::collections::BTreeMap;

use linking::{accounts_from_records, Account, Decision, Link, Linker, Model};
use model::Sha256;
use store::{CaseStore, Filter};

use crate::sales::{FeedbackRead, ListingOrder};
use crate::{io, Case, CaseError, Result};

pub(crate) const MODEL_FILE: &str = "linking/model.json";

/// An analyst's latest decision on a link, from the custody log.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinkDecision {
    /// Link id (`K-…`).
    pub link: String,
    /// The two accounts.
    pub a: String,
    /// Second account.
    pub b: String,
    /// Confirmed or rejected.
    pub decision: Decision,
    /// Who decided.
    pub operator: String,
    /// When (RFC 3339).
    pub at: String,
    /// Why, in the analyst's words.
    pub why: String,
    /// Custody log entry number.
    pub seq: u64,
}

impl Case {
    /// Vendor accounts (market + name) built from every stored vendor,
    /// listing, feedback and identifier row.
    pub fn link_accounts(&self) -> Result<Vec<Account>> {
        // Linking reads only feedback dates, and not every row's.
        self.link_accounts_from(&self.observations_with(&Filter::default(), FeedbackRead::Dates, ListingOrder::Sorted)?)
    }

    /// [`Case::link_accounts`] from observations already read (a report
    /// reads them once for its estimates and its links).
    pub(crate) fn link_accounts_from(&self, obs: &crate::sales::Observations) -> Result<Vec<Account>> {
        let identifiers = self.store.identifiers(&Filter::default())?;
        Ok(accounts_from_records(&obs.records(&identifiers)))
    }

    /// The case's linking model, if one was stored.
    pub fn link_model(&self) -> Result<Option<Model>> {
        let path = self.dir.join(MODEL_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let model = Model::from_json(&text)
            .map_err(|e| CaseError::Config { path: path.clone(), message: format!("not a linking model: {e}") })?;
        Ok(Some(model))
    }

    /// Stores `model` as the case's linking model and logs it (version,
    /// training hash, file digest, and what it was trained on).
    pub fn save_link_model(&mut self, model: &Model, trained_on: &str) -> Result<()> {
        let path = self.dir.join(MODEL_FILE);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let text = model.to_json();
        crate::write_atomic(&path, text.as_bytes())?;
        self.log(
            "link-model",
            serde_json::json!({
                "version": model.version,
                "training_hash": model.training_hash,
                "training_pairs": model.training_pairs,
                "sha256": Sha256::of(text.as_bytes()).to_hex(),
                "trained_on": trained_on,
            }),
        )
    }

    /// What the case's linking model was trained on, as logged when it was
    /// stored ([`Case::save_link_model`]): the latest `link-model` entry whose
    /// training hash is `model`'s. `None` when no entry names it (a model file
    /// put in place by hand).
    pub fn link_model_trained_on(&self, model: &Model) -> Result<Option<String>> {
        let entries = self.evidence.custody().entries()?;
        Ok(entries
            .iter()
            .rev()
            .filter(|e| e.action == "link-model" && e.detail["training_hash"].as_str() == Some(model.training_hash.as_str()))
            .find_map(|e| e.detail["trained_on"].as_str().map(str::to_owned)))
    }

    /// Every link's latest analyst decision, by link id.
    pub fn link_decisions(&self) -> Result<BTreeMap<String, LinkDecision>> {
        let mut out = BTreeMap::new();
        for e in self.evidence.custody().entries()? {
            if e.action != "link-decision" {
                continue;
            }
            let d = &e.detail;
            let decision = match d["decision"].as_str() {
                Some("confirmed") => Decision::Confirmed,
                Some("rejected") => Decision::Rejected,
                _ => continue,
            };
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            out.insert(
                s("link"),
                LinkDecision {
                    link: s("link"),
                    a: s("a"),
                    b: s("b"),
                    decision,
                    // A decision made in `dragnet serve` names its web user.
                    operator: d["user"].as_str().map_or_else(|| e.operator.clone(), str::to_owned),
                    at: e.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    why: s("why"),
                    seq: e.seq,
                },
            );
        }
        Ok(out)
    }

    /// Records an analyst's decision on `link` in the custody log, with the
    /// score and model it was made against.
    pub fn decide_link(&mut self, link: &Link, decision: Decision, why: &str) -> Result<()> {
        self.decide_link_as(link, decision, why, None)
    }

    /// [`decide_link`](Self::decide_link) by a named user of `dragnet serve`
    /// (recorded in the entry beside the server's operator).
    pub fn decide_link_as(&mut self, link: &Link, decision: Decision, why: &str, user: Option<&str>) -> Result<()> {
        let name = match decision {
            Decision::Confirmed => "confirmed",
            Decision::Rejected => "rejected",
        };
        let mut detail = serde_json::json!({
            "link": link.id,
            "a": link.a,
            "b": link.b,
            "decision": name,
            "why": why,
            "probability": link.probability,
            "hard": link.hard,
            "model": link.model,
        });
        if let Some(u) = user {
            detail["user"] = serde_json::Value::from(u);
            detail["via"] = serde_json::Value::from("dragnet serve");
        }
        self.log("link-decision", detail)
    }
}

/// The links `dragnet links` lists at the model's threshold
/// ([`listed_pairs`]), built.
pub fn scored_links(model: &Model, accounts: &[Account], decisions: &BTreeMap<String, LinkDecision>) -> Vec<Link> {
    let linker = Linker::new(model, accounts);
    linker.links_of(&listed_pairs(&linker, model.threshold, decisions))
}

/// The pairs `dragnet links --min-score MIN` lists, as account indices in
/// its order (most probable first): every candidate with a hard identifier
/// or a probability of at least `min_score`, and whatever their score, every
/// pair a market-verified claim joins ([`Linker::claimed_pairs`]) and every
/// link an analyst decided.
pub fn listed_pairs(linker: &Linker<'_>, min_score: f64, decisions: &BTreeMap<String, LinkDecision>) -> Vec<(usize, usize)> {
    let candidates = linking::candidates(&linker.corpus);
    let mut always = linker.claimed_pairs(&candidates);
    always.extend(decided_pairs(linker.corpus.accounts, decisions));
    linker.ranked_keeping(&candidates, min_score, &always)
}

/// The decided links' accounts, as indices into `accounts` (a decision
/// on an account the case no longer has is left out).
pub fn decided_pairs(accounts: &[Account], decisions: &BTreeMap<String, LinkDecision>) -> Vec<(usize, usize)> {
    let index: std::collections::HashMap<&str, usize> = accounts.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    decisions.values().filter_map(|d| Some((*index.get(d.a.as_str())?, *index.get(d.b.as_str())?))).collect()
}

/// One account of an operator, with its sales lower bounds per method.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OperatorAccount {
    /// `market/vendor`.
    pub account: String,
    /// Market.
    pub market: String,
    /// First day the account was observed.
    pub first_seen: Option<String>,
    /// Last day the account was observed.
    pub last_seen: Option<String>,
    /// Lower-bound sales and revenue per method.
    pub sales: Vec<OperatorSales>,
}

/// A method's lower bounds for one account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OperatorSales {
    /// Method name.
    pub method: String,
    /// Lower-bound sales.
    pub sales_lower: f64,
    /// Lower-bound revenue, USD; `None` when no sale has a price (unknown,
    /// not 0: it was 0.00 on the page and in the JSON; found by a review).
    pub revenue_usd_lower: Option<f64>,
    /// Of `sales_lower`, the sales with no USD price (not in the revenue).
    pub unpriced_sales: f64,
}

/// A link inside an operator's group.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OperatorLink {
    /// Link id.
    pub id: String,
    /// First account.
    pub a: String,
    /// Second account.
    pub b: String,
    /// Calibrated probability.
    pub probability: f64,
    /// A shared hard identifier.
    pub hard: bool,
    /// `confirmed`, `rejected` or `undecided`.
    pub decision: &'static str,
}

/// The operator holding an account: accounts joined by hard links not
/// rejected and by confirmed links (never by a score alone).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Operator {
    /// Its accounts.
    pub accounts: Vec<OperatorAccount>,
    /// The links that join them.
    pub links: Vec<OperatorLink>,
    /// Per method: summed lower-bound sales and revenue (USD; `None` when no
    /// sale of the method has a price).
    pub combined_sales_lower: BTreeMap<String, (f64, Option<f64>)>,
    /// By method, the combined sales with no USD price (so that a revenue of
    /// 0 is told from no revenue known).
    pub combined_unpriced_sales: BTreeMap<String, f64>,
}

/// `confirmed`, `rejected` or `undecided`.
pub fn decision_word(d: Option<&LinkDecision>) -> &'static str {
    match d.map(|d| d.decision) {
        Some(Decision::Confirmed) => "confirmed",
        Some(Decision::Rejected) => "rejected",
        None => "undecided",
    }
}

impl Case {
    /// The operator (see [`Operator`]) holding account `id` (`market/vendor`,
    /// any case), scored with `model`; `None` when no account has that id.
    pub fn operator(&self, model: &Model, id: &str, rates: &sales::Rates) -> Result<Option<Operator>> {
        // Read once: the accounts and the estimates come from the same rows
        // (the estimates read the group's feedback whole, an account at a time).
        let obs = self.observations_with(&Filter::default(), FeedbackRead::Dates, ListingOrder::Sorted)?;
        let accounts = self.link_accounts_from(&obs)?;
        let decisions = self.link_decisions()?;
        // A link an analyst decided joins (or not) whatever its score.
        let links = scored_links(model, &accounts, &decisions);
        let decided: BTreeMap<String, Decision> = decisions.iter().map(|(k, d)| (k.clone(), d.decision)).collect();
        // The account as written, else one differing only in letter case.
        // Names that differ only in case are two accounts (linking keeps
        // them apart), so past the lookup names match exactly: matching them
        // in any case added agora/diegomaradona's sales to DiegoMaradona's,
        // twice once the two were linked (found by a review).
        let Some(id) = accounts.iter().find(|a| a.id == id).or_else(|| accounts.iter().find(|a| a.id.eq_ignore_ascii_case(id))).map(|a| a.id.as_str()) else {
            return Ok(None);
        };
        let group: Vec<String> = match linking::operators(&links, &decided).into_iter().find(|g| g.iter().any(|a| a == id)) {
            Some(g) => g,
            None => vec![id.to_owned()],
        };
        // Only the group's estimates are shown: skip other vendors' feedback.
        let in_group = |market: &str, vendor: &str| group.iter().any(|g| g.split_once('/').is_some_and(|(m, n)| m == market && vendor == n));
        let units = self.units_of_accounts(&obs, rates, &in_group)?;
        let estimates = sales::aggregate(&units, sales::GroupBy::Vendor, None, None);
        let mut combined: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        let mut combined_unpriced: BTreeMap<String, f64> = BTreeMap::new();
        let mut rows = Vec::new();
        for member in &group {
            let acc = accounts.iter().find(|a| a.id == *member);
            let (market, name) = member.split_once('/').unwrap_or(("", member));
            let mut sales = Vec::new();
            for e in estimates
                .iter()
                .filter(|e| e.market.as_deref() == Some(market) && e.vendor.as_deref() == Some(name))
            {
                let t = combined.entry(e.method.as_str().to_owned()).or_default();
                t.0 += e.sales_lower;
                t.1 += e.revenue_usd_lower;
                *combined_unpriced.entry(e.method.as_str().to_owned()).or_default() += e.unpriced_sales;
                sales.push(OperatorSales {
                    method: e.method.as_str().to_owned(),
                    sales_lower: e.sales_lower,
                    revenue_usd_lower: e.revenue_known().then_some(e.revenue_usd_lower),
                    unpriced_sales: e.unpriced_sales,
                });
            }
            rows.push(OperatorAccount {
                account: member.clone(),
                market: market.to_owned(),
                first_seen: acc.and_then(|a| a.first_seen).map(|d| d.to_string()),
                last_seen: acc.and_then(|a| a.last_seen).map(|d| d.to_string()),
                sales,
            });
        }
        let joining = links
            .iter()
            .filter(|l| group.contains(&l.a) && group.contains(&l.b))
            .map(|l| OperatorLink {
                id: l.id.clone(),
                a: l.a.clone(),
                b: l.b.clone(),
                probability: l.probability,
                hard: l.hard,
                decision: decision_word(decisions.get(&l.id)),
            })
            .collect();
        let combined = combined
            .into_iter()
            .map(|(m, (s, r))| {
                let unpriced = combined_unpriced.get(&m).copied().unwrap_or(0.0);
                (m, (s, sales::revenue_known(s, unpriced).then_some(r)))
            })
            .collect();
        Ok(Some(Operator { accounts: rows, links: joining, combined_sales_lower: combined, combined_unpriced_sales: combined_unpriced }))
    }
}
