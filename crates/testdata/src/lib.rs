//! Where tests find the real data in `../shared/data` (beside the repository).
//!
//! The data is read in place and never copied into the repository (it holds
//! real pseudonyms and keys; see `shared/data/README.md`). One rule for every
//! test that needs it: under `CI=true` missing data is a failure, elsewhere
//! the test prints a notice and skips. Keeping that rule in one place is the
//! point of this crate; it is a dev-dependency only. It also holds
//! [`socks5_stub`], the stand-in for Tor's SOCKS port that network tests
//! share (Tor cannot bootstrap offline).
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

/// The `shared/data` directory beside the repository (it may not exist).
pub fn shared_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// `shared/data/<rel>` when it exists. When it does not: panics under
/// `CI=true`, otherwise prints a notice and returns `None` (skip the test).
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = shared_root().join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("shared data missing at {} (required when CI=true)", path.display());
    }
    eprintln!("NOTICE: skipping: shared data not found at {}", path.display());
    None
}

/// Whether `python3` can import `module` (an independent checker such as
/// pyarrow or warcio). When it cannot: panics under `CI=true` (CI installs
/// it from `.ci/requirements.txt`), otherwise prints a notice and returns
/// `false` (skip the test).
pub fn python_module(module: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("python module {module} missing (required when CI=true; see .ci/requirements.txt)");
        }
        eprintln!("NOTICE: skipping: python module {module} not installed");
    }
    found
}

/// A minimal SOCKS5 proxy on loopback (no authentication required, any
/// offered; CONNECT only) for tests: it records the host each request named
/// (names arrive unresolved under `socks5h`; an IPv4 address is recorded as
/// `ip:A.B.C.D`) and connects every request to `upstream`, whatever the
/// name. Returns `socks5h://127.0.0.1:PORT` and the recorded names.
pub fn socks5_stub(upstream: std::net::SocketAddr) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let (url, names, _) = socks5_stub_with_users(upstream);
    (url, names)
}

/// Recorded SOCKS usernames (what Tor isolates circuits by), one per
/// connection, empty when none was offered.
pub type Users = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// [`socks5_stub`], also recording the username of each connection.
pub fn socks5_stub_with_users(upstream: std::net::SocketAddr) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>, Users) {
    use std::io::{Read as _, Write as _};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("socks5h://{}", listener.local_addr().expect("addr"));
    let names = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let names2 = names.clone();
    let users: Users = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let users2 = users.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            let names = names2.clone();
            let users = users2.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut b = [0u8; 2];
                c.read_exact(&mut b)?;
                let mut methods = vec![0u8; b[1] as usize];
                c.read_exact(&mut methods)?;
                // Username/password offered (per-market isolation): accept it.
                if methods.contains(&2) {
                    c.write_all(&[5, 2])?;
                    let mut v = [0u8; 2];
                    c.read_exact(&mut v)?;
                    let mut user = vec![0u8; v[1] as usize];
                    c.read_exact(&mut user)?;
                    let mut pl = [0u8; 1];
                    c.read_exact(&mut pl)?;
                    let mut pass = vec![0u8; pl[0] as usize];
                    c.read_exact(&mut pass)?;
                    c.write_all(&[1, 0])?;
                    users.lock().expect("lock").push(String::from_utf8_lossy(&user).into_owned());
                } else {
                    c.write_all(&[5, 0])?;
                    users.lock().expect("lock").push(String::new());
                }
                let mut h = [0u8; 4];
                c.read_exact(&mut h)?;
                let name = match h[3] {
                    3 => {
                        let mut l = [0u8; 1];
                        c.read_exact(&mut l)?;
                        let mut n = vec![0u8; l[0] as usize];
                        c.read_exact(&mut n)?;
                        String::from_utf8_lossy(&n).into_owned()
                    }
                    1 => {
                        let mut a = [0u8; 4];
                        c.read_exact(&mut a)?;
                        format!("ip:{}", std::net::Ipv4Addr::from(a))
                    }
                    _ => return Ok(()),
                };
                let mut port = [0u8; 2];
                c.read_exact(&mut port)?;
                names.lock().expect("lock").push(name);
                let up = TcpStream::connect(upstream)?;
                c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
                let (mut c2, mut up2) = (c.try_clone()?, up.try_clone()?);
                std::thread::spawn(move || std::io::copy(&mut c2, &mut up2));
                let mut up = up;
                std::io::copy(&mut up, &mut c)?;
                c.shutdown(std::net::Shutdown::Both)
            });
        }
    });
    (url, names, users)
}
