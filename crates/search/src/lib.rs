//! Full-text search over what a case captured: the visible text of every
//! extracted page and every listing's title and vendor, in a tantivy index
//! under `CASE/search/`. The index is derived (rebuildable from the
//! evidence and the store) and incremental: [`SearchIndex::add`] takes the
//! documents of pages not indexed yet, and `indexed.json` lists the
//! evidence digests already in it. Every hit names the evidence it came
//! from.
#![warn(missing_docs)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, Schema, Value as _, STORED, STRING, TEXT};
use tantivy::snippet::SnippetGenerator;
use tantivy::{doc, Index, IndexReader, ReloadPolicy, TantivyDocument};

/// Longest query accepted.
pub const MAX_QUERY: usize = 256;
/// Most hits returned.
pub const MAX_HITS: usize = 100;
/// Longest page text indexed (the rest of a huge page is not searchable).
pub const MAX_TEXT: usize = 2 << 20;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index could not be opened, written or read.
    #[error("search index {path}: {message}")]
    Index {
        /// The index directory.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The query is empty or too long.
    #[error("query: {0}")]
    Query(String),
}

/// One document to index: a page, or a listing on a page.
#[derive(Debug, Clone)]
pub struct Doc {
    /// `page` or `listing`.
    pub kind: &'static str,
    /// Evidence digest of the page.
    pub evidence: String,
    /// Market, when known.
    pub market: String,
    /// Page type (pages) or row id (listings).
    pub detail: String,
    /// `<title>` of a page, title of a listing.
    pub title: String,
    /// Visible text of a page; vendor of a listing.
    pub body: String,
}

/// One hit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    /// `page` or `listing`.
    pub kind: String,
    /// Evidence digest of the page.
    pub evidence: String,
    /// Market.
    pub market: String,
    /// Page type, or listing row id.
    pub detail: String,
    /// Title.
    pub title: String,
    /// A fragment of the matched text (plain text: escape it to show it).
    pub snippet: String,
    /// Relevance (BM25).
    pub score: f32,
}

struct Fields {
    kind: Field,
    evidence: Field,
    market: Field,
    detail: Field,
    title: Field,
    body: Field,
}

/// The index of one case.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    f: Fields,
    indexed: BTreeSet<String>,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        kind: b.add_text_field("kind", STRING | STORED),
        evidence: b.add_text_field("evidence", STRING | STORED),
        market: b.add_text_field("market", STRING | STORED),
        detail: b.add_text_field("detail", STRING | STORED),
        title: b.add_text_field("title", TEXT | STORED),
        body: b.add_text_field("body", TEXT | STORED),
    };
    (b.build(), f)
}

/// The visible text and title of an HTML page (scripts and styles left out).
pub fn page_text(html: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(&html[..html.len().min(MAX_TEXT * 2)]);
    let doc = scraper::Html::parse_document(&text);
    let title = scraper::Selector::parse("title")
        .ok()
        .and_then(|s| doc.select(&s).next().map(|t| t.text().collect::<String>()))
        .unwrap_or_default();
    let mut body = String::new();
    for node in doc.root_element().descendants() {
        if let Some(t) = node.value().as_text() {
            let hidden = node.parent().and_then(|p| p.value().as_element()).is_some_and(|e| matches!(e.name(), "script" | "style" | "title"));
            if !hidden {
                let t = t.trim();
                if !t.is_empty() {
                    body.push_str(t);
                    body.push(' ');
                }
            }
        }
        if body.len() >= MAX_TEXT {
            break;
        }
    }
    (title.trim().to_owned(), body)
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when missing.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        let err = |m: String| SearchError::Index { path: dir.to_owned(), message: m };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let (schema, f) = schema();
        let index = if dir.join("meta.json").exists() {
            Index::open_in_dir(dir).map_err(|e| err(e.to_string()))?
        } else {
            Index::create_in_dir(dir, schema).map_err(|e| err(e.to_string()))?
        };
        // Hits read their stored documents: keep more decompressed blocks
        // than the default so that repeated searches do not decompress again.
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).doc_store_cache_num_blocks(512).try_into().map_err(|e: tantivy::TantivyError| err(e.to_string()))?;
        let indexed = match std::fs::read(dir.join("indexed.json")) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| err(format!("indexed.json: {e}")))?,
            Err(_) => BTreeSet::new(),
        };
        Ok(SearchIndex { dir: dir.to_owned(), index, reader, f, indexed })
    }

    /// Whether the page with this evidence digest is indexed.
    pub fn has(&self, evidence: &str) -> bool {
        self.indexed.contains(evidence)
    }

    /// Adds documents (of pages not indexed yet) and records their pages
    /// as indexed; one commit.
    pub fn add(&mut self, docs: &[Doc]) -> Result<usize, SearchError> {
        let err = |m: String| SearchError::Index { path: self.dir.clone(), message: m };
        if docs.is_empty() {
            return Ok(0);
        }
        let mut w: tantivy::IndexWriter = self.index.writer(50_000_000).map_err(|e| err(e.to_string()))?;
        let f = &self.f;
        for d in docs {
            w.add_document(doc!(
                f.kind => d.kind, f.evidence => d.evidence.as_str(), f.market => d.market.as_str(),
                f.detail => d.detail.as_str(), f.title => d.title.as_str(), f.body => d.body.as_str(),
            ))
            .map_err(|e| err(e.to_string()))?;
        }
        w.commit().map_err(|e| err(e.to_string()))?;
        self.reader.reload().map_err(|e| err(e.to_string()))?;
        self.indexed.extend(docs.iter().map(|d| d.evidence.clone()));
        let list = serde_json::to_vec(&self.indexed).map_err(|e| err(e.to_string()))?;
        let tmp = self.dir.join("indexed.json.tmp");
        std::fs::write(&tmp, list).map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, self.dir.join("indexed.json")).map_err(|e| err(e.to_string()))?;
        Ok(docs.len())
    }

    /// Pages indexed.
    pub fn pages(&self) -> usize {
        self.indexed.len()
    }

    /// The best [`MAX_HITS`] hits for `query` (tantivy's query syntax,
    /// read leniently: a malformed part is searched as words, never an
    /// error). Every word and `"phrase"` must be in a hit (unless joined by
    /// `OR`), as in a web search.
    pub fn search(&self, query: &str) -> Result<Vec<Hit>, SearchError> {
        self.search_top(query, MAX_HITS)
    }

    /// The best `limit` hits (at most [`MAX_HITS`]) for `query`: each hit
    /// reads its stored document and makes a snippet, so a page of results
    /// costs what it shows.
    pub fn search_top(&self, query: &str, limit: usize) -> Result<Vec<Hit>, SearchError> {
        Ok(self.search_counted(query, limit)?.0)
    }

    /// [`SearchIndex::search_top`], and how many documents match in all.
    pub fn search_counted(&self, query: &str, limit: usize) -> Result<(Vec<Hit>, usize), SearchError> {
        let q = query.trim();
        if q.is_empty() || q.len() > MAX_QUERY {
            return Err(SearchError::Query(format!("1 to {MAX_QUERY} bytes")));
        }
        let err = |m: String| SearchError::Index { path: self.dir.clone(), message: m };
        let searcher = self.reader.searcher();
        let mut parser = QueryParser::for_index(&self.index, vec![self.f.title, self.f.body]);
        // Words are all required: `"stealth shipping" netherlands` found
        // pages with either (tantivy's default is any).
        parser.set_conjunction_by_default();
        let (parsed, _ignored) = parser.parse_query_lenient(q);
        let (top, total) = searcher
            .search(&parsed, &(TopDocs::with_limit(limit.clamp(1, MAX_HITS)).order_by_score(), tantivy::collector::Count))
            .map_err(|e| err(e.to_string()))?;
        let mut snippets = SnippetGenerator::create(&searcher, &*parsed, self.f.body).map_err(|e| err(e.to_string()))?;
        snippets.set_max_num_chars(200);
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(|e| err(e.to_string()))?;
            let s = |f: Field| d.get_first(f).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let snippet = snippets.snippet_from_doc(&d);
            out.push(Hit {
                kind: s(self.f.kind),
                evidence: s(self.f.evidence),
                market: s(self.f.market),
                detail: s(self.f.detail),
                title: s(self.f.title),
                snippet: snippet.fragment().to_owned(),
                score,
            });
        }
        Ok((out, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_leaves_out_scripts_and_styles() {
        let (title, body) = page_text(b"<html><head><title> Shop </title><style>.x{}</style></head><body><p>Blue pills</p><script>var secret=1</script><p>from NL</p></body></html>");
        assert_eq!(title, "Shop");
        assert_eq!(body.trim(), "Blue pills from NL");
    }

    #[test]
    fn every_word_and_phrase_is_required_and_all_matches_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = SearchIndex::open(dir.path()).unwrap();
        let doc = |ev: String, body: &str| Doc { kind: "page", evidence: ev, market: "m".into(), detail: "listing".into(), title: "t".into(), body: body.into() };
        let mut docs = vec![
            doc("phrase".into(), "stealth shipping from the netherlands"),
            doc("apart".into(), "shipping in stealth to the netherlands"),
            doc("words".into(), "netherlands id cards"),
        ];
        docs.extend((0..150).map(|n| doc(format!("many{n}"), "cocaine")));
        ix.add(&docs).unwrap();
        let found = |q: &str| {
            let mut e: Vec<String> = ix.search(q).unwrap().into_iter().map(|h| h.evidence).collect();
            e.sort();
            e
        };
        assert_eq!(found("\"stealth shipping\" netherlands"), ["phrase"]);
        assert_eq!(found("stealth netherlands"), ["apart", "phrase"]);
        assert_eq!(found("cards OR stealth"), ["apart", "phrase", "words"]);
        let (hits, total) = ix.search_counted("cocaine", 10).unwrap();
        assert_eq!((hits.len(), total), (10, 150));
    }

    #[test]
    fn add_search_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = SearchIndex::open(dir.path()).unwrap();
        let doc = |ev: &str, title: &str, body: &str| Doc { kind: "page", evidence: ev.into(), market: "m".into(), detail: "listing".into(), title: title.into(), body: body.into() };
        ix.add(&[doc("aa", "Blue dream 10g", "stealth shipping from the netherlands"), doc("bb", "Pressed pills", "ships worldwide")]).unwrap();
        let hits = ix.search("netherlands").unwrap();
        assert_eq!(hits.iter().map(|h| h.evidence.as_str()).collect::<Vec<_>>(), ["aa"]);
        assert!(hits[0].snippet.contains("netherlands"));
        assert_eq!(ix.search("pills").unwrap()[0].evidence, "bb");
        // Malformed syntax is searched leniently, not an error.
        assert!(ix.search("title:(unclosed").is_ok());
        assert!(ix.search("").is_err() && ix.search(&"x".repeat(300)).is_err());
        drop(ix);
        let ix = SearchIndex::open(dir.path()).unwrap();
        assert!(ix.has("aa") && ix.has("bb") && !ix.has("cc"));
        assert_eq!(ix.search("stealth").unwrap().len(), 1);
    }
}
