//! Embeds every `profiles/*.toml` into the binary, so shipping a market
//! profile is adding a file, and the profiles travel with the version that
//! produced the records (provenance names the profile).

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=profiles");
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("profiles");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from("/// Built-in profiles: (file name, TOML text).\npub const BUILTIN: &[(&str, &str)] = &[\n");
    for n in &names {
        println!("cargo:rerun-if-changed=profiles/{n}");
        code.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/profiles/{n}\"))),\n"
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_profiles.rs");
    fs::write(out, code).expect("write generated profile list");
}
