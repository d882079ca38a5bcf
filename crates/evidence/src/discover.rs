//! Finding the inputs of `dragnet import`: walk the given paths, classify
//! each file as a WARC file or a page, and guess a page's URL from its name.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Location, Problem};

/// What kind of input a discovered file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceKind {
    /// A WARC file (`.warc`, `.warc.gz`, or content starting with `WARC/`,
    /// plain or gzipped); its records are imported one by one.
    Warc,
    /// Any other file: one page (saved HTML, wget mirror file, ...).
    Page,
}

/// One input file found by [`discover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Path to read it from.
    pub path: PathBuf,
    /// Name to record as its source: the path relative to the directory
    /// argument it was found under (with `/` separators), or the path as
    /// given for a file argument.
    pub name: String,
    /// WARC or page.
    pub kind: SourceKind,
}

/// Walks `paths` (files, and directories recursively, in sorted order) and
/// classifies every regular file. Nothing is skipped silently: symbolic
/// links (not followed, so a walk cannot loop or leave the tree), special
/// files and unreadable entries are returned as problems.
pub fn discover(paths: &[PathBuf]) -> (Vec<Source>, Vec<Problem>) {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for root in paths {
        let meta = match std::fs::symlink_metadata(root) {
            Ok(m) => m,
            Err(e) => {
                problems.push(Problem::new(Location::Path(root.clone()), format!("cannot read: {e}")));
                continue;
            }
        };
        // A file argument (or a link given explicitly, which the user chose).
        let is_dir_arg = meta.is_dir() || (meta.file_type().is_symlink() && root.is_dir());
        if !is_dir_arg {
            if !root.is_file() {
                problems.push(Problem::new(Location::Path(root.clone()), "not a regular file; skipped"));
                continue;
            }
            let name = root.to_string_lossy().replace('\\', "/");
            classify_into(root, name, &mut sources, &mut problems);
            continue;
        }
        let walk = walkdir::WalkDir::new(root).follow_links(false).follow_root_links(true).sort_by_file_name();
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let at = e.path().map(Path::to_owned).unwrap_or_else(|| root.clone());
                    problems.push(Problem::new(Location::Path(at), format!("cannot read: {e}")));
                    continue;
                }
            };
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            let path = entry.path().to_owned();
            if ft.is_symlink() {
                problems.push(Problem::new(Location::Path(path), "symbolic link not followed; skipped"));
                continue;
            }
            if !ft.is_file() {
                problems.push(Problem::new(Location::Path(path), "not a regular file; skipped"));
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            classify_into(&path, name, &mut sources, &mut problems);
        }
    }
    (sources, problems)
}

fn classify_into(path: &Path, name: String, sources: &mut Vec<Source>, problems: &mut Vec<Problem>) {
    match classify(path) {
        Ok(kind) => sources.push(Source { path: path.to_owned(), name, kind }),
        Err(e) => problems.push(Problem::new(Location::Path(path.to_owned()), format!("cannot read: {e}"))),
    }
}

/// Classifies one file by its name and first bytes. A file named `.warc` or
/// `.warc.gz` is a WARC even if damaged, so that its damage gets reported by
/// the WARC reader instead of the file being stored as a page.
pub fn classify(path: &Path) -> std::io::Result<SourceKind> {
    let lower = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if lower.ends_with(".warc") || lower.ends_with(".warc.gz") {
        return Ok(SourceKind::Warc);
    }
    let mut head = Vec::new();
    File::open(path)?.take(4096).read_to_end(&mut head)?;
    if head.starts_with(b"WARC/") {
        return Ok(SourceKind::Warc);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut inner = Vec::new();
        // A damaged gzip header just means "not a WARC"; it is then a page.
        let _ = flate2::read::GzDecoder::new(head.as_slice()).take(5).read_to_end(&mut inner);
        if inner.starts_with(b"WARC/") {
            return Ok(SourceKind::Warc);
        }
    }
    Ok(SourceKind::Page)
}

/// Guesses the URL a mirrored file was fetched from, from its name.
///
/// The rule, for names made by wget mirrors and by the `_`-sanitising of
/// archives (where every character outside `A-Za-z0-9._-/` became `_`):
///
/// 1. Find a host: an onion address (a label of 16 or 56 base32 characters
///    `a-z2-7`, possibly after subdomains, followed by `.onion`) anywhere in
///    the name, at the start of a path component or after `_`; or, for a
///    name (or path component) starting with `http___`, `https___`,
///    `http://` or `https://`, whatever host follows.
/// 2. The scheme is `https` when the host is preceded by `https___` or
///    `https://`, else `http`.
/// 3. What follows the host becomes the path: `/` is kept, and the single
///    separator directly after the host (`/` or `_`) becomes `/`. Further
///    `_` are kept as they are, because a sanitised `_` may have been `/`,
///    `?`, `=` or a real `_`, and guessing would invent URLs.
///
/// Returns `None` when no host is found. The result is a hint for
/// `WARC-Target-URI`, not a fact: the mapping is lossy.
pub fn url_from_file_name(name: &str) -> Option<String> {
    let name = name.replace('\\', "/");
    let lower = name.to_ascii_lowercase();
    // Onion hosts anywhere.
    let mut from = 0;
    while let Some(i) = lower.get(from..).and_then(|s| s.find(".onion")).map(|i| i + from) {
        from = i + 1;
        let end = i + ".onion".len();
        if !matches!(lower.as_bytes().get(end), None | Some(b'/' | b'_' | b':')) {
            continue;
        }
        let start = lower
            .get(..i)
            .and_then(|s| s.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')))
            .map(|j| j + 1)
            .unwrap_or(0);
        let host = lower.get(start..end).unwrap_or("");
        let label = host.trim_end_matches(".onion").rsplit('.').next().unwrap_or("");
        let base32 = label.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
        if !(base32 && (label.len() == 16 || label.len() == 56)) {
            continue;
        }
        let before = lower.get(..start).unwrap_or("");
        let scheme = if before.ends_with("https___") || before.ends_with("https://") { "https" } else { "http" };
        return Some(join(scheme, host, name.get(end..).unwrap_or("")));
    }
    // Clear-web hosts only with an explicit scheme prefix.
    for (cstart, comp) in component_starts(&lower) {
        for (prefix, scheme) in [("https___", "https"), ("http___", "http"), ("https://", "https"), ("http://", "http")] {
            if let Some(rest) = comp.strip_prefix(prefix) {
                let hlen = rest.find(['/', '_']).unwrap_or(rest.len());
                let host = rest.get(..hlen).unwrap_or("");
                let valid = host.contains('.')
                    && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':');
                if valid {
                    let end = cstart + prefix.len() + hlen;
                    return Some(join(scheme, host, name.get(end..).unwrap_or("")));
                }
            }
        }
    }
    None
}

/// Start offsets of `/`-separated components, with the rest of the name.
fn component_starts(s: &str) -> Vec<(usize, &str)> {
    let mut out = vec![(0, s)];
    for (i, c) in s.char_indices() {
        if c == '/' {
            if let Some(rest) = s.get(i + 1..) {
                out.push((i + 1, rest));
            }
        }
    }
    out
}

fn join(scheme: &str, host: &str, rest: &str) -> String {
    let path = match rest.as_bytes().first() {
        None => "/".to_owned(),
        Some(b'/' | b'_') => format!("/{}", rest.get(1..).unwrap_or("")),
        Some(_) => rest.to_owned(), // `:port/...`
    };
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = "abcdefghij234567";
    fn v3() -> String {
        "a".repeat(50) + "bcd234"
    }

    fn check(name: &str, want: Option<&str>) {
        assert_eq!(url_from_file_name(name).as_deref(), want, "name {name:?}");
    }

    #[test]
    fn url_rules() {
        let v3 = v3();
        check(&format!("{V2}.onion_listing_123"), Some(&format!("http://{V2}.onion/listing_123")));
        check(&format!("http___{v3}.onion_path"), Some(&format!("http://{v3}.onion/path")));
        check(&format!("https___{V2}.onion"), Some(&format!("https://{V2}.onion/")));
        check(&format!("mirror/{V2}.onion/item/7.html"), Some(&format!("http://{V2}.onion/item/7.html")));
        check(&format!("www.{V2}.onion_x"), Some(&format!("http://www.{V2}.onion/x")));
        check(&format!("{}.onion_x", V2.to_uppercase()), Some(&format!("http://{V2}.onion/x")));
        check("http___example.com_a_b", Some("http://example.com/a_b"));
        check("https://example.org/q?x=1", Some("https://example.org/q?x=1"));
        // Not onion addresses: wrong length, non-base32 characters, suffix.
        check("short.onion_x", None);
        check(&format!("{}.onion_x", "a".repeat(15) + "1"), None);
        check(&format!("{V2}.onionx"), None);
        check("listing_0", None);
        check("page12-3.html", None);
    }

    #[test]
    fn discover_walks_sorted_and_classifies() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("b/c")).unwrap();
        std::fs::write(d.path().join("b/c/z.html"), b"<p>").unwrap();
        std::fs::write(d.path().join("a.html"), b"<p>").unwrap();
        std::fs::write(d.path().join("noext"), b"WARC/1.0\r\n").unwrap();
        std::fs::write(d.path().join("x.warc.gz"), b"garbage").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(d.path().join("a.html"), d.path().join("link")).unwrap();
        let missing = d.path().join("missing");
        let (s, p) = discover(&[d.path().to_owned(), missing.clone()]);
        let got: Vec<(&str, SourceKind)> = s.iter().map(|s| (s.name.as_str(), s.kind)).collect();
        assert_eq!(
            got,
            vec![
                ("a.html", SourceKind::Page),
                ("b/c/z.html", SourceKind::Page),
                ("noext", SourceKind::Warc),
                ("x.warc.gz", SourceKind::Warc),
            ]
        );
        assert!(p.iter().any(|p| p.location == Location::Path(missing.clone())));
        #[cfg(unix)]
        assert!(p.iter().any(|p| p.location == Location::Path(d.path().join("link"))));
    }
}
