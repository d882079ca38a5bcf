//! What may be fetched. A crawl that leaks one request to the clear web can
//! expose the investigation, so every rule here refuses by default.

use url::{Host, Url};

/// How requests leave the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxySetting {
    /// A SOCKS5 proxy that resolves names itself (`socks5h://HOST:PORT`,
    /// Tor's SocksPort): no DNS query ever leaves this machine.
    Socks5h {
        /// `HOST:PORT` of the proxy.
        addr: String,
    },
    /// Direct connections: loopback test sites only.
    None,
    /// The embedded Tor client (`--proxy arti`): Tor runs inside dragnet,
    /// names are resolved by the exit or the onion service, never locally.
    /// Only a build with the cargo feature `arti` parses it; without the
    /// feature [`Fetcher::new`](crate::Fetcher::new) refuses it.
    Arti,
}

/// Why a URL or setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The proxy setting is not one we accept.
    #[error("--proxy {0:?}: {1}")]
    Proxy(String, String),
    /// The seed cannot be crawled with these settings.
    #[error("{0}: {1}")]
    Seed(String, String),
}

impl ProxySetting {
    /// Parses `socks5h://HOST:PORT`, `none` or `arti` (the embedded Tor
    /// client; refused unless built with the feature `arti`). `socks5://`
    /// and `socks4://` are refused: they resolve names locally, which leaks
    /// the host name to the local resolver and cannot reach an onion service.
    pub fn parse(s: &str) -> Result<ProxySetting, Refused> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("none") {
            return Ok(ProxySetting::None);
        }
        let refuse = |why: &str| Refused::Proxy(s.to_owned(), why.to_owned());
        if t.eq_ignore_ascii_case("arti") {
            return if cfg!(feature = "arti") {
                Ok(ProxySetting::Arti)
            } else {
                Err(refuse(
                    "this dragnet was built without the embedded Tor client; rebuild with \
                     `cargo build --release --features arti`, or use the tor daemon: socks5h://127.0.0.1:9050",
                ))
            };
        }
        let lower = t.to_ascii_lowercase();
        let Some(addr) = lower.strip_prefix("socks5h://") else {
            return Err(refuse(if lower.starts_with("socks") {
                "resolves names locally (a DNS leak); use socks5h://HOST:PORT"
            } else {
                "expected socks5h://HOST:PORT (Tor: socks5h://127.0.0.1:9050), arti or none"
            }));
        };
        let addr = addr.trim_end_matches('/');
        if addr.is_empty() || addr.contains('@') || addr.contains('/') || !addr.contains(':') {
            return Err(refuse("expected socks5h://HOST:PORT"));
        }
        Ok(ProxySetting::Socks5h { addr: addr.to_owned() })
    }
}

/// Whether a host is this machine.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(a) => a.is_loopback(),
        Host::Ipv6(a) => a.is_loopback(),
    }
}

/// Links whose path names a session action: following them would log the
/// crawler out, or fetch a login or captcha form instead of content.
const SESSION_PATHS: &str = r"(?i)(log-?in|log-?out|sign-?in|sign-?out|register|captcha)";

/// The URLs one crawl may fetch: the seed's scheme, host and port, nothing
/// else; never a session action (see [`SESSION_PATHS`]).
#[derive(Debug, Clone)]
pub struct Scope {
    seed: Url,
    /// More seeds on the seed's host (the market profile's).
    more_seeds: Vec<Url>,
    session: regex::Regex,
    include: Option<regex::Regex>,
    /// The market profile's `follow` patterns (path and query), used when
    /// no `include` is given.
    follow: Vec<regex::Regex>,
}

impl Scope {
    /// Checks the seed against the proxy setting and builds the scope:
    /// - only `http` and `https`;
    /// - a `.onion` host needs a `socks5h` proxy or the embedded Tor client
    ///   (`arti`); `none` is refused for it;
    /// - any other host needs `allow_clearnet`, and a proxy unless it is a
    ///   loopback address (`none` is for loopback test sites only).
    ///
    /// `include`, when given, is a regular expression every URL after the
    /// seed must match (e.g. `/(listing|vendor|category)/`).
    pub fn new(seed: &str, proxy: &ProxySetting, allow_clearnet: bool, include: Option<&str>) -> Result<Scope, Refused> {
        let refuse = |why: String| Refused::Seed(seed.to_owned(), why);
        let url = Url::parse(seed.trim()).map_err(|e| refuse(format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse(format!("scheme {:?}: only http and https are crawled", url.scheme())));
        }
        let host = url.host().ok_or_else(|| refuse("no host".into()))?;
        let onion = matches!(host, Host::Domain(d) if d.to_ascii_lowercase().ends_with(".onion"));
        match (onion, proxy) {
            (true, ProxySetting::None) => {
                return Err(refuse("an onion service needs --proxy socks5h://HOST:PORT (Tor); none is for loopback test sites".into()))
            }
            (true, ProxySetting::Socks5h { .. } | ProxySetting::Arti) => {}
            (false, _) if !allow_clearnet => {
                return Err(refuse("not an onion service; crawling the clear web needs --allow-clearnet".into()))
            }
            (false, ProxySetting::None) if !is_loopback(&host) => {
                return Err(refuse("--proxy none is for loopback test sites only; use a Tor proxy".into()))
            }
            (false, _) => {}
        }
        let include = include
            .map(|r| regex::Regex::new(r).map_err(|e| refuse(format!("--include {r:?}: {e}"))))
            .transpose()?;
        let session = regex::Regex::new(SESSION_PATHS).map_err(|e| refuse(e.to_string()))?;
        Ok(Scope { seed: url, more_seeds: Vec::new(), session, include, follow: Vec::new() })
    }

    /// Adds a market profile's crawl rules: `seeds` (paths resolved against
    /// the seed; each must stay on its host) and `follow` patterns, which
    /// decide what is followed unless `include` was given.
    pub fn with_profile_rules(mut self, seeds: &[String], follow: Vec<regex::Regex>) -> Result<Scope, Refused> {
        for s in seeds {
            let u = self
                .admit_resource(&self.seed.clone(), s)
                .ok_or_else(|| Refused::Seed(s.clone(), format!("profile seed is not on {}", self.seed.host_str().unwrap_or(""))))?;
            if u != self.seed && !self.more_seeds.contains(&u) {
                self.more_seeds.push(u);
            }
        }
        self.follow = follow;
        Ok(self)
    }

    /// The seed URL, normalized.
    pub fn seed(&self) -> &Url {
        &self.seed
    }

    /// Every seed: the given one, then the profile's.
    pub fn seeds(&self) -> impl Iterator<Item = &Url> {
        std::iter::once(&self.seed).chain(&self.more_seeds)
    }

    /// An embedded resource (an image) `src` resolved against `base`: the
    /// seed's scheme, host and port only, no credentials in the URL. Session
    /// and `include` rules do not apply (a captcha image is fetched
    /// precisely because it names a captcha).
    pub fn admit_resource(&self, base: &Url, src: &str) -> Option<Url> {
        let mut u = base.join(src.trim()).ok()?;
        u.set_fragment(None);
        (self.same_origin(&u) && u.username().is_empty() && u.password().is_none()).then_some(u)
    }

    fn same_origin(&self, u: &Url) -> bool {
        u.scheme() == self.seed.scheme()
            && u.host_str().map(str::to_ascii_lowercase) == self.seed.host_str().map(str::to_ascii_lowercase)
            && u.port_or_known_default() == self.seed.port_or_known_default()
    }

    /// `href` resolved against `base`, without its fragment, when the scope
    /// admits it; `None` otherwise (another host, another scheme, a session
    /// action, outside `include`).
    pub fn admit(&self, base: &Url, href: &str) -> Option<Url> {
        let mut u = base.join(href.trim()).ok()?;
        u.set_fragment(None);
        if !self.same_origin(&u) || !u.username().is_empty() || u.password().is_some() {
            return None;
        }
        if self.session.is_match(u.path()) || u.query().is_some_and(|q| self.session.is_match(q)) {
            return None;
        }
        if u == self.seed || self.more_seeds.contains(&u) {
            return Some(u);
        }
        if let Some(inc) = &self.include {
            if !inc.is_match(u.as_str()) {
                return None;
            }
        } else if !self.follow.is_empty() {
            let path_query = match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            };
            if !self.follow.iter().any(|f| f.is_match(&path_query)) {
                return None;
            }
        }
        Some(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONION: &str = "http://marketxyzabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopq.onion/index.html";

    #[test]
    fn proxies() {
        assert_eq!(ProxySetting::parse("none").unwrap(), ProxySetting::None);
        assert_eq!(
            ProxySetting::parse("socks5h://127.0.0.1:9050").unwrap(),
            ProxySetting::Socks5h { addr: "127.0.0.1:9050".into() }
        );
        for bad in ["socks5://127.0.0.1:9050", "socks4://127.0.0.1:9050", "http://127.0.0.1:8080", "socks5h://", "socks5h://u:p@h:1"] {
            assert!(ProxySetting::parse(bad).is_err(), "{bad}");
        }
        assert!(ProxySetting::parse("socks5://x:1").unwrap_err().to_string().contains("DNS leak"));
    }

    #[test]
    fn arti_needs_the_feature_and_follows_the_tor_rules() {
        let parsed = ProxySetting::parse(" ARTI ");
        if cfg!(feature = "arti") {
            assert_eq!(parsed.unwrap(), ProxySetting::Arti);
        } else {
            let e = parsed.unwrap_err().to_string();
            assert!(e.contains("--features arti") && e.contains("socks5h://127.0.0.1:9050"), "{e}");
        }
        // The scope rules are those of a SOCKS5h proxy to Tor.
        let arti = ProxySetting::Arti;
        assert!(Scope::new(ONION, &arti, false, None).is_ok());
        assert!(Scope::new("https://example.com/", &arti, false, None).unwrap_err().to_string().contains("--allow-clearnet"));
        assert!(Scope::new("https://example.com/", &arti, true, None).is_ok());
    }

    #[test]
    fn seeds() {
        let tor = ProxySetting::parse("socks5h://127.0.0.1:9050").unwrap();
        let none = ProxySetting::None;
        assert!(Scope::new(ONION, &tor, false, None).is_ok());
        assert!(Scope::new(ONION, &none, false, None).unwrap_err().to_string().contains("socks5h"));
        assert!(Scope::new("https://example.com/", &tor, false, None).unwrap_err().to_string().contains("--allow-clearnet"));
        assert!(Scope::new("https://example.com/", &tor, true, None).is_ok());
        assert!(Scope::new("https://example.com/", &none, true, None).unwrap_err().to_string().contains("loopback"));
        assert!(Scope::new("http://127.0.0.1:8080/", &none, true, None).is_ok());
        assert!(Scope::new("http://127.0.0.1:8080/", &none, false, None).is_err(), "loopback is still clear web");
        assert!(Scope::new("ftp://127.0.0.1/", &none, true, None).is_err());
        assert!(Scope::new("not a url", &tor, true, None).is_err());
    }

    #[test]
    fn scope_keeps_the_seed_host_and_skips_session_links() {
        let tor = ProxySetting::parse("socks5h://127.0.0.1:9050").unwrap();
        let s = Scope::new(ONION, &tor, false, None).unwrap();
        let base = Url::parse(ONION).unwrap();
        assert_eq!(s.admit(&base, "listing/12.html#top").unwrap().path(), "/listing/12.html");
        assert_eq!(s.admit(&base, "../vendor/a.html").unwrap().path(), "/vendor/a.html");
        for out in [
            "http://other.onion/x",
            "https://marketxyzabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopq.onion/x",
            "http://example.com/",
            "login.html",
            "/account/LogOut",
            "captcha-image.png",
            "/?action=signin",
            "mailto:a@b.c",
            "javascript:alert(1)",
            "http://u:p@marketxyzabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopq.onion/",
        ] {
            assert!(s.admit(&base, out).is_none(), "{out}");
        }
        let profiled = Scope::new(ONION, &tor, false, None)
            .unwrap()
            .with_profile_rules(&["/search/1.html".into()], vec![regex::Regex::new("^/(listing|search)/").unwrap()])
            .unwrap();
        assert_eq!(profiled.seeds().map(|u| u.path().to_owned()).collect::<Vec<_>>(), ["/index.html", "/search/1.html"]);
        assert!(profiled.admit(&base, "listing/9.html").is_some());
        assert!(profiled.admit(&base, "/forum/thread.html").is_none(), "not a page the profile extracts");
        assert!(profiled.admit(&base, "index.html").is_some(), "a seed stays admitted");
        assert!(Scope::new(ONION, &tor, false, None).unwrap().with_profile_rules(&["http://other.onion/".into()], Vec::new()).is_err());
        let only = Scope::new(ONION, &tor, false, Some("/listing/")).unwrap();
        assert!(only.admit(&base, "listing/1.html").is_some());
        assert!(only.admit(&base, "vendor/1.html").is_none());
    }
}
