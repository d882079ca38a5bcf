//! `--proxy arti`, the embedded Tor client (cargo feature `arti`).
//!
//! This machine has no network, so Tor cannot bootstrap: what is checked is
//! that the setting parses only with the feature, a fetcher builds, and a
//! fetch of an onion service ends in a transport error within the fetch
//! timeout (no panic, no hang).

use std::time::Duration;

use crawl::{FetchConfig, FetchError, Fetcher, ProxySetting};

/// The Tor Project's onion service (a well-formed v3 address).
#[cfg(feature = "arti")]
const ONION: &str = "http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion/";

#[cfg(feature = "arti")]
#[test]
fn offline_onion_fetch_fails_within_the_timeout() {
    use std::time::Instant;

    let proxy = ProxySetting::parse("arti").unwrap();
    assert_eq!(proxy, ProxySetting::Arti);
    crawl::Scope::new(ONION, &proxy, false, None).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(3);
    let cfg = |market: &str| FetchConfig {
        proxy: ProxySetting::Arti,
        isolation: format!("dragnet-{market}"),
        timeout,
        arti_dir: Some(dir.path().to_path_buf()),
        ..FetchConfig::default()
    };
    // Two markets: two isolated handles on one client.
    for market in ["dream", "hansa"] {
        let fetcher = Fetcher::new(cfg(market)).unwrap();
        let start = Instant::now();
        let err = fetcher.get(ONION).unwrap_err();
        let took = start.elapsed();
        eprintln!("{market}: {took:?}: {err}");
        assert!(matches!(err, FetchError::Transport(_)), "{err:?}");
        assert!(err.to_string().contains("embedded Tor"), "{err}");
        assert!(took < timeout + Duration::from_secs(2), "took {took:?}");
    }
    // arti keeps its state and cache where it was told.
    assert!(dir.path().join("state").is_dir() || dir.path().join("cache").is_dir());
}

#[cfg(not(feature = "arti"))]
#[test]
fn without_the_feature_arti_is_refused() {
    let e = ProxySetting::parse("arti").unwrap_err().to_string();
    assert!(e.contains("--features arti"), "{e}");
    let Err(FetchError::Config(e)) = Fetcher::new(FetchConfig { proxy: ProxySetting::Arti, timeout: Duration::from_secs(1), ..FetchConfig::default() })
    else {
        panic!("a fetcher for arti without the feature");
    };
    assert!(e.contains("--features arti"), "{e}");
}
