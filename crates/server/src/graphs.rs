//! The vendor-link graph and the money-flow graph. Each page has the graph
//! drawn by cytoscape.js (bundled into the binary at build time, see
//! `build.rs`; served from `/static/`, so the page works offline) and the
//! same nodes and edges as a table, which is what a page without the
//! library, a screen reader or a printout shows. The graph's data come from
//! the API as JSON; labels are drawn on a canvas, never parsed as HTML.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{self, MAX_QUERY};
use crate::auth::{ApiUser, PageUser};
use crate::pages::{me, render};
use crate::views::{case_key, chain_key, load_chain, ChainView};
use crate::{AppError, AppState};

/// cytoscape.js, as `build.rs` bundled it (a comment when it could not).
const CYTOSCAPE_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/cytoscape.min.js"));
/// Our drawing code: reads the graph JSON, draws it, follows a tapped node.
const GRAPH_JS: &str = include_str!("../web/graph.js");

/// Most hops a web trace may follow; most edges it may draw.
pub const MAX_HOPS: u32 = 10;
/// Most edges a web trace draws (the table says when it stopped).
pub const MAX_EDGES: usize = 2_000;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/static/cytoscape.min.js", get(|| async { script(CYTOSCAPE_JS) }))
        .route("/static/graph.js", get(|| async { script(GRAPH_JS) }))
        .route("/graph/links", get(link_graph_page))
        .route("/api/graph/links", get(link_graph_api))
        .route("/flows", get(flows_page))
        .route("/api/flows", get(flows_api))
        .route("/api/graph/flows", get(flow_graph_api))
}

fn script(body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    r
}

/// A graph as the drawing code reads it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    /// Nodes.
    pub nodes: Vec<GraphNode>,
    /// Edges.
    pub edges: Vec<GraphEdge>,
}

/// A node.
#[derive(Debug, Clone, Serialize)]
pub struct GraphNode {
    /// Id, unique in the graph.
    pub id: String,
    /// Text drawn beside it.
    pub label: String,
    /// Colour class (a market, or a flow node's role).
    pub group: String,
    /// Where a tap on it leads (a path on this server).
    pub href: String,
}

/// An edge.
#[derive(Debug, Clone, Serialize)]
pub struct GraphEdge {
    /// Id, unique in the graph.
    pub id: String,
    /// Source node id.
    pub source: String,
    /// Target node id.
    pub target: String,
    /// Text drawn on it.
    pub label: String,
    /// Style class (`hard`, `confirmed`, `rejected`, `undecided`, or a
    /// flow heuristic).
    pub kind: String,
    /// Line weight, 1 to 8.
    pub weight: f64,
}

/// `/operator?account=…` for an account id.
fn operator_href(account: &str) -> String {
    format!("/operator?account={}", urlencode(account))
}

/// Percent-encodes everything but unreserved characters.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The proposed links as a graph: accounts joined by links, coloured by
/// market; a tap on an account opens its operator.
pub fn link_graph(rows: &[Value]) -> Graph {
    let mut nodes: BTreeMap<String, GraphNode> = BTreeMap::new();
    let mut edges = Vec::new();
    for l in rows {
        let (Some(a), Some(b), Some(id)) = (l["a"].as_str(), l["b"].as_str(), l["id"].as_str()) else { continue };
        for acc in [a, b] {
            nodes.entry(acc.to_owned()).or_insert_with(|| GraphNode {
                id: acc.to_owned(),
                label: acc.to_owned(),
                group: acc.split_once('/').map_or("", |(m, _)| m).to_owned(),
                href: operator_href(acc),
            });
        }
        let p = l["probability"].as_f64().unwrap_or(0.0);
        let decision = l["decision"].as_str().unwrap_or("undecided");
        let kind = if decision != "undecided" { decision } else if l["hard"].as_bool() == Some(true) { "hard" } else { "undecided" };
        edges.push(GraphEdge { id: id.to_owned(), source: a.to_owned(), target: b.to_owned(), label: format!("{p:.2}"), kind: kind.to_owned(), weight: 1.0 + 7.0 * p.clamp(0.0, 1.0) });
    }
    Graph { nodes: nodes.into_values().collect(), edges }
}

/// The link rows, cached until the case changes (scoring every candidate
/// pair is the costly part of the links page).
pub(crate) fn cached_links(state: &AppState) -> Result<Arc<Vec<Value>>, AppError> {
    let case = state.case()?;
    let key = case_key(&case)?;
    state.links.get(key, || api::link_rows(&case))
}

async fn link_graph_api(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser) -> Result<impl IntoResponse, AppError> {
    Ok(Json(link_graph(&cached_links(&state)?)))
}

async fn link_graph_page(State(state): State<Arc<AppState>>, PageUser(s): PageUser) -> Result<Response, AppError> {
    let rows = cached_links(&state).map_err(AppError::page)?;
    let g = link_graph(&rows);
    render(&state, "graph_links.html", context! { me => me(&s), g => minijinja::Value::from_serialize(&g) }).map_err(AppError::page)
}

/// `?from=` of a trace, with its options.
#[derive(Debug, Clone, Deserialize)]
pub struct FlowQuery {
    /// ADDRESS, TXID or cluster:N.
    pub from: String,
    /// forward (default) or backward.
    pub direction: Option<String>,
    /// Hops (default 3, at most [`MAX_HOPS`]).
    pub hops: Option<u32>,
    /// poison (default), haircut or fifo.
    pub policy: Option<String>,
}

impl FlowQuery {
    fn config(&self) -> Result<chain::trace::TraceConfig, AppError> {
        let d = chain::trace::TraceConfig::default();
        let direction = match self.direction.as_deref().filter(|s| !s.is_empty()) {
            None => d.direction,
            Some(s) => chain::trace::Direction::from_name(s).ok_or_else(|| AppError::bad_request("direction: forward or backward"))?,
        };
        let policy = match self.policy.as_deref().filter(|s| !s.is_empty()) {
            None => d.policy,
            Some(s) => chain::trace::Policy::from_name(s).ok_or_else(|| AppError::bad_request("policy: poison, haircut or fifo"))?,
        };
        let hops = self.hops.unwrap_or(d.hops);
        if hops == 0 || hops > MAX_HOPS {
            return Err(AppError::bad_request(format!("hops: 1 to {MAX_HOPS}")));
        }
        Ok(chain::trace::TraceConfig { direction, policy, hops, min_value: 0, max_edges: MAX_EDGES })
    }
}

/// The case's chain view (cached until `CASE/chain/` changes); 409 when
/// nothing was imported.
fn chain_view(state: &AppState) -> Result<Arc<Option<ChainView>>, AppError> {
    let no_chain = || AppError::new(axum::http::StatusCode::CONFLICT, "the case has no chain: run `dragnet --case CASE chain import --blocks-dir DIR` first (DIR: a Bitcoin Core blocks directory or a folder of blk*.dat files)");
    let key = chain_key(&state.case_dir).ok_or_else(no_chain)?;
    let view = state.chain.get(key, || load_chain(&state.case_dir))?;
    if view.is_none() {
        return Err(no_chain());
    }
    Ok(view)
}

/// Follows value from `q.from` through the case's chain.
pub fn flows(state: &AppState, q: &FlowQuery) -> Result<chain::trace::FlowGraph, AppError> {
    let from = q.from.trim();
    if from.is_empty() || from.len() > MAX_QUERY {
        return Err(AppError::bad_request(format!("from: an address, a txid or cluster:N (1 to {MAX_QUERY} bytes)")));
    }
    let cfg = q.config()?;
    let view = chain_view(state)?;
    let Some(v) = view.as_ref() else { return Err(AppError::internal("the chain view vanished")) };
    chain::trace::trace(&v.index, &v.clusters, &v.tags, from, &cfg).map_err(|e| match e {
        chain::ChainError::Trace(m) => AppError::not_found(m),
        e => AppError::internal(format!("tracing: {e}")),
    })
}

/// `/flows?from=NODE` with the same options: following a node continues
/// the trace from it.
fn flow_href(node: &str, q: &FlowQuery) -> String {
    let mut h = format!("/flows?from={}", urlencode(node));
    for (k, v) in [("direction", q.direction.as_deref()), ("policy", q.policy.as_deref())] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            h.push_str(&format!("&{k}={}", urlencode(v)));
        }
    }
    if let Some(n) = q.hops {
        h.push_str(&format!("&hops={n}"));
    }
    h
}

/// Satoshis as BTC text.
pub fn btc(sat: u64) -> String {
    format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000)
}

/// A trace as a graph: clusters as nodes (tagged ones named by their
/// tags), one edge per traced output with its amount; a tap on a cluster
/// continues the trace from it.
pub fn flow_graph(g: &chain::trace::FlowGraph, q: &FlowQuery) -> Graph {
    let nodes = g
        .nodes
        .iter()
        .map(|n| {
            let tags: Vec<&str> = n.tags.iter().map(|t| t.label.as_str()).collect();
            let label = if tags.is_empty() { format!("{} ({} addr.)", n.id, n.size) } else { format!("{} [{}]", n.id, tags.join(", ")) };
            let href = if n.id.starts_with("cluster:") { flow_href(&n.id, q) } else { String::new() };
            GraphNode { id: n.id.clone(), label, group: n.role.clone(), href }
        })
        .collect();
    let max = g.edges.iter().map(|e| e.traced).max().unwrap_or(1).max(1) as f64;
    let edges = g
        .edges
        .iter()
        .map(|e| GraphEdge {
            id: format!("{}:{}", e.txid, e.vout),
            source: e.from.clone(),
            target: e.to.clone(),
            label: format!("{} BTC", btc(e.traced)),
            kind: e.heuristic.split(':').next().unwrap_or("").to_owned(),
            weight: 1.0 + 7.0 * (e.traced as f64 / max),
        })
        .collect();
    Graph { nodes, edges }
}

fn flow_query(q: Result<Query<FlowQuery>, axum::extract::rejection::QueryRejection>) -> Result<FlowQuery, AppError> {
    q.map(|Query(q)| q).map_err(|_| AppError::bad_request("expected ?from=ADDRESS|TXID|cluster:N (&direction=forward|backward&hops=N&policy=poison|haircut|fifo)"))
}

async fn flows_api(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser, q: Result<Query<FlowQuery>, axum::extract::rejection::QueryRejection>) -> Result<impl IntoResponse, AppError> {
    let q = flow_query(q)?;
    Ok(Json(flows(&state, &q)?))
}

async fn flow_graph_api(State(state): State<Arc<AppState>>, ApiUser(_): ApiUser, q: Result<Query<FlowQuery>, axum::extract::rejection::QueryRejection>) -> Result<impl IntoResponse, AppError> {
    let q = flow_query(q)?;
    Ok(Json(flow_graph(&flows(&state, &q)?, &q)))
}

/// `?from=` may be absent on the flows page (the form alone).
#[derive(Debug, Deserialize)]
struct FlowForm {
    from: Option<String>,
    direction: Option<String>,
    hops: Option<u32>,
    policy: Option<String>,
}

async fn flows_page(State(state): State<Arc<AppState>>, PageUser(s): PageUser, q: Result<Query<FlowForm>, axum::extract::rejection::QueryRejection>) -> Result<Response, AppError> {
    let Query(f) = q.map_err(|_| AppError::bad_request("expected ?from=ADDRESS|TXID|cluster:N (&direction&hops&policy)").page())?;
    let from = f.from.clone().unwrap_or_default();
    let (trace, graph_src) = if from.trim().is_empty() {
        (None, None)
    } else {
        let q = FlowQuery { from: from.clone(), direction: f.direction.clone(), hops: f.hops, policy: f.policy.clone() };
        let g = flows(&state, &q).map_err(AppError::page)?;
        let src = format!("/api/graph/flows?{}", flow_href(&q.from, &q).trim_start_matches("/flows?"));
        let edges: Vec<Value> = g
            .edges
            .iter()
            .map(|e| serde_json::json!({ "from": e.from, "to": e.to, "txid": e.txid, "vout": e.vout, "address": e.address, "value": btc(e.value), "traced": btc(e.traced), "height": e.height, "hop": e.hop, "heuristic": e.heuristic }))
            .collect();
        let reached: Vec<Value> = g.reached_tags.iter().map(|r| serde_json::json!({ "node": r.node, "labels": r.labels, "traced": btc(r.traced), "href": flow_href(&r.node, &q) })).collect();
        (Some(serde_json::json!({ "g": g, "edges": edges, "reached": reached })), Some(src))
    };
    render(
        &state,
        "flows.html",
        context! {
            me => me(&s), from => from, direction => f.direction, hops => f.hops, policy => f.policy,
            trace => trace, graph_src => graph_src, max_hops => MAX_HOPS,
        },
    )
    .map_err(AppError::page)
}
