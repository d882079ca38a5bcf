//! Bundles the graph library (cytoscape.js, from npm, pinned by
//! `web/package-lock.json`) into the binary, so graph pages work offline.
//!
//! Where the file comes from, first found wins:
//! 1. `DRAGNET_CYTOSCAPE_JS`: a path to `cytoscape.min.js` (offline builds);
//! 2. `web/node_modules/` after `npm ci --prefix crates/server/web`;
//! 3. `npm ci` run here into `OUT_DIR` (never into the source tree).
//!
//! Without npm and without the file the build still succeeds, with a
//! warning: graph pages then show their tables only (they always have one).

use std::path::{Path, PathBuf};
use std::process::Command;

const LIB: &str = "node_modules/cytoscape/dist/cytoscape.min.js";

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let web = manifest.join("web");
    println!("cargo:rerun-if-env-changed=DRAGNET_CYTOSCAPE_JS");
    println!("cargo:rerun-if-changed=web/package.json");
    println!("cargo:rerun-if-changed=web/package-lock.json");

    let found = std::env::var_os("DRAGNET_CYTOSCAPE_JS")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| Some(web.join(LIB)).filter(|p| p.is_file()))
        .or_else(|| npm_ci(&web, &out.join("web")));
    let target = out.join("cytoscape.min.js");
    match found {
        Some(lib) => {
            println!("cargo:rerun-if-changed={}", lib.display());
            std::fs::copy(&lib, &target).unwrap_or_else(|e| panic!("copying {} to {}: {e}", lib.display(), target.display()));
        }
        None => {
            println!(
                "cargo:warning=cytoscape.js not bundled (no npm, no crates/server/web/{LIB}, DRAGNET_CYTOSCAPE_JS unset): graph pages will show tables only"
            );
            std::fs::write(&target, "/* cytoscape.js was not bundled at build time */\n").expect("writing OUT_DIR");
        }
    }
}

/// `npm ci` of the pinned package set into `dest`; `None` when npm is
/// missing or fails (offline), with its message as a build warning.
fn npm_ci(web: &Path, dest: &Path) -> Option<PathBuf> {
    let lib = dest.join(LIB);
    if lib.is_file() {
        return Some(lib);
    }
    std::fs::create_dir_all(dest).ok()?;
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(web.join(f), dest.join(f)).ok()?;
    }
    let run = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
        .arg(dest)
        .output();
    match run {
        Ok(o) if o.status.success() && lib.is_file() => Some(lib),
        Ok(o) => {
            let msg = String::from_utf8_lossy(&o.stderr);
            println!("cargo:warning=npm ci for the graph library failed: {}", msg.lines().next().unwrap_or("(no message)"));
            None
        }
        Err(e) => {
            println!("cargo:warning=npm not run ({e})");
            None
        }
    }
}
