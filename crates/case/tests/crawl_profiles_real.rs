//! The crawl rules of the real market profiles, against the links on the
//! captured pages of those markets: every link to a page the profile
//! extracts (listings, categories, vendors) is followed, and no link to an
//! account action (messages, orders, settings, cart) is.

use std::collections::BTreeSet;

use crawl::{ProxySetting, Scope};
use url::Url;

/// (followed, not followed) links of every page of `market` in `dir`,
/// resolved against `base` (the captures keep no URL of their own).
fn classify(market: &str, dir: &str, base: &str) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let dir = testdata::shared(dir)?;
    let profiles = extract::ProfileSet::builtin().unwrap();
    let rules = profiles.get(market).and_then(|p| p.crawl_rules()).expect("crawl rules");
    let tor = ProxySetting::parse("socks5h://127.0.0.1:9050").unwrap();
    let base = Url::parse(base).unwrap();
    let scope = Scope::new(base.as_str(), &tor, false, None).unwrap().with_profile_rules(&rules.seeds, rules.follow.clone()).unwrap();
    let (mut yes, mut no) = (BTreeSet::new(), BTreeSet::new());
    for f in std::fs::read_dir(dir).unwrap() {
        let page = std::fs::read(f.unwrap().path()).unwrap();
        for h in crawl::links::hrefs(&page) {
            let Ok(u) = base.join(&h) else { continue };
            if u.host_str() != base.host_str() {
                continue;
            }
            match scope.admit(&base, &h) {
                Some(u) => yes.insert(u.to_string()),
                None => no.insert(u.to_string()),
            };
        }
    }
    Some((yes, no))
}

fn all_followed(yes: &BTreeSet<String>, no: &BTreeSet<String>, pattern: &str) -> usize {
    // Sorted copies of a result page list the same listings again.
    let missed: Vec<&String> = no.iter().filter(|u| u.contains(pattern) && !u.contains("sortby=")).collect();
    assert!(missed.is_empty(), "{pattern} links not followed: {missed:?}");
    let n = yes.iter().filter(|u| u.contains(pattern)).count();
    assert!(n > 0, "no {pattern} link on the pages");
    n
}

fn none_followed(yes: &BTreeSet<String>, pattern: &str) {
    let wrong: Vec<&String> = yes.iter().filter(|u| u.contains(pattern)).collect();
    assert!(wrong.is_empty(), "{pattern} links followed: {wrong:?}");
}

#[test]
fn whitehouse_follows_listings_categories_and_vendors_only() {
    let onion = "http://whitehousemarketabcdefghijklmnopqrstuvwxyz234567abcdefghi.onion/welcome";
    let Some((yes, no)) = classify("whitehouse", "markets/pages/whitehouse/2020-09-17", onion) else { return };
    assert!(all_followed(&yes, &no, "action=show&listing=") >= 100);
    all_followed(&yes, &no, "welcome?sc=");
    all_followed(&yes, &no, "welcome?c=");
    all_followed(&yes, &no, "display=all&page=");
    all_followed(&yes, &no, "userinfo?user=");
    for out in ["sendmessage", "/info", "sortby="] {
        none_followed(&yes, out);
    }
    assert!(no.iter().any(|u| u.contains("sendmessage")), "the pages do link to messages");
}

#[test]
fn yellowbrick_follows_listings_categories_and_vendors_only() {
    let onion = "http://yellowbrickabcdefghijklmnopqrstuvwxyz234567abcdefghijklmno.onion/";
    let Some((yes, no)) = classify("yellowbrick", "markets/pages/yellowbrick/2020-09-17", onion) else { return };
    assert!(all_followed(&yes, &no, "?listing=") >= 100);
    all_followed(&yes, &no, "?profile=");
    all_followed(&yes, &no, "&cat=");
    for out in ["?inbox", "?settings", "?orderlist", "?ybdeposit", "?rewards", "?ybfavorites"] {
        none_followed(&yes, out);
        assert!(no.iter().any(|u| u.contains(out)), "the pages do link to {out}");
    }
}

#[test]
fn cypher_follows_listings_categories_and_vendors_only() {
    let Some((yes, no)) = classify("cypher", "markets/pages/cypher/2020-09-17", "http://jcnhui6sgumsawtd.onion/") else { return };
    assert!(all_followed(&yes, &no, "/product/") >= 10);
    all_followed(&yes, &no, "/vendor/");
    all_followed(&yes, &no, "/category/");
    for out in ["/profile/", "/setview/"] {
        none_followed(&yes, out);
        assert!(no.iter().any(|u| u.contains(out)), "the pages do link to {out}");
    }
}
