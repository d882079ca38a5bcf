//! Links a page offers to follow: `a[href]` and `area[href]` only. Nothing
//! that a browser loads by itself (images, scripts, styles, frames) is ever
//! followed, so the crawl requests what a reader would click and no more.

/// The `href`s of `a` and `area` elements, in page order, deduplicated.
pub fn hrefs(html: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(html);
    let doc = scraper::Html::parse_document(&text);
    let mut out: Vec<String> = Vec::new();
    if let Ok(sel) = scraper::Selector::parse("a[href], area[href]") {
        for el in doc.select(&sel) {
            if let Some(h) = el.value().attr("href") {
                let h = h.trim();
                if !h.is_empty() && !out.iter().any(|x| x == h) {
                    out.push(h.to_owned());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn anchors_only() {
        let html = br#"<html><head><link href="s.css" rel="stylesheet"><script src="x.js"></script></head>
<body><a href="a.html">a</a><img src="i.png"><iframe src="f.html"></iframe><a href="a.html">again</a>
<map><area href="b.html"></map><a name="x">no href</a></body></html>"#;
        assert_eq!(super::hrefs(html), ["a.html", "b.html"]);
    }
}
