//! The case's full-text index (crate `search`) under `CASE/search/`:
//! brought up to date from the store and the evidence before it is read.

use std::collections::BTreeMap;

use model::PageType;
use search::{Doc, SearchIndex};
use store::{CaseStore as _, Filter};

use crate::{Case, CaseError, Result};

/// The index directory, relative to the case directory.
pub const SEARCH_DIR: &str = "search";

fn search_err(e: search::SearchError) -> CaseError {
    CaseError::Config { path: std::path::PathBuf::from(SEARCH_DIR), message: e.to_string() }
}

impl Case {
    /// Opens the full-text index and adds every extracted page not in it
    /// yet (its visible text, and its listings' titles and vendors). A
    /// dataset file adds its listings only (its bytes are rows, not a page
    /// to read as text).
    pub fn search_index(&self) -> Result<SearchIndex> {
        let mut index = SearchIndex::open(&self.dir.join(SEARCH_DIR)).map_err(search_err)?;
        self.update_search(&mut index)?;
        Ok(index)
    }

    /// Adds the pages `index` lacks; returns how many.
    pub fn update_search(&self, index: &mut SearchIndex) -> Result<usize> {
        let pages: Vec<_> = self
            .store
            .pages()?
            .into_iter()
            .filter(|p| !index.has(&p.evidence.to_hex()))
            .collect();
        if pages.is_empty() {
            return Ok(0);
        }
        let mut listings: BTreeMap<String, Vec<Doc>> = BTreeMap::new();
        for l in self.store.listings(&Filter::default())? {
            let Some(p) = &l.record.provenance else { continue };
            let ev = p.evidence.to_hex();
            listings.entry(ev.clone()).or_default().push(Doc {
                kind: "listing",
                evidence: ev,
                market: l.record.market.clone(),
                detail: l.id.to_string(),
                title: l.record.title.clone(),
                body: l.record.vendor.clone().unwrap_or_default(),
            });
        }
        let mut docs = Vec::new();
        for p in &pages {
            let ev = p.evidence.to_hex();
            if p.page_type == PageType::Dataset {
                docs.extend(listings.remove(&ev).unwrap_or_default());
                continue;
            }
            let Ok(bytes) = self.evidence.get(&p.evidence) else { continue };
            let (title, body) = search::page_text(&bytes);
            docs.push(Doc { kind: "page", evidence: ev.clone(), market: p.market.clone().unwrap_or_default(), detail: p.page_type.as_str().to_owned(), title, body });
            docs.extend(listings.remove(&ev).unwrap_or_default());
        }
        index.add(&docs).map_err(search_err)?;
        Ok(pages.len())
    }
}
