//! Links a page offers to follow: `a[href]` and `area[href]` only. Nothing
//! that a browser loads by itself (images, scripts, styles, frames) is ever
//! followed, so the crawl requests what a reader would click and no more.
//! Images are fetched only when asked (`--images`, and a paused crawl's
//! captcha): [`image_srcs`], [`captcha_image_src`].

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

/// The `src`s of `img` elements, in page order, deduplicated; inline
/// `data:` images are skipped (they are in the page already).
pub fn image_srcs(html: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(html);
    let doc = scraper::Html::parse_document(&text);
    let mut out: Vec<String> = Vec::new();
    if let Ok(sel) = scraper::Selector::parse("img[src]") {
        for el in doc.select(&sel) {
            if let Some(s) = el.value().attr("src") {
                let s = s.trim();
                if !s.is_empty() && !s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:")) && !out.iter().any(|x| x == s) {
                    out.push(s.to_owned());
                }
            }
        }
    }
    out
}

/// The captcha image of a captcha page: the first `img` whose `src`, `alt`,
/// `class` or `id` names a captcha (or a puzzle), else the page's only image.
pub fn captcha_image_src(html: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(html);
    let doc = scraper::Html::parse_document(&text);
    let sel = scraper::Selector::parse("img[src]").ok()?;
    let imgs: Vec<_> = doc.select(&sel).collect();
    let named = imgs.iter().find(|el| {
        ["src", "alt", "class", "id"].iter().any(|a| {
            el.value().attr(a).is_some_and(|v| {
                let v = v.to_ascii_lowercase();
                v.contains("captcha") || v.contains("puzzle")
            })
        })
    });
    let img = named.or(if imgs.len() == 1 { imgs.first() } else { None })?;
    img.value().attr("src").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn images_and_the_captcha_image() {
        let page = br#"<img src="logo.png"><img src="data:image/png;base64,AAAA"><form><img class="puzzle" src="/c/x.png"></form><img src="logo.png">"#;
        assert_eq!(super::image_srcs(page), ["logo.png", "/c/x.png"]);
        assert_eq!(super::captcha_image_src(page).as_deref(), Some("/c/x.png"));
        assert_eq!(super::captcha_image_src(br#"<img src="only.png">"#).as_deref(), Some("only.png"));
        assert_eq!(super::captcha_image_src(br#"<img src="a.png"><img src="b.png">"#), None);
        assert_eq!(super::captcha_image_src(b"<p>no image</p>"), None);
    }

    #[test]
    fn anchors_only() {
        let html = br#"<html><head><link href="s.css" rel="stylesheet"><script src="x.js"></script></head>
<body><a href="a.html">a</a><img src="i.png"><iframe src="f.html"></iframe><a href="a.html">again</a>
<map><area href="b.html"></map><a name="x">no href</a></body></html>"#;
        assert_eq!(super::hrefs(html), ["a.html", "b.html"]);
    }
}
