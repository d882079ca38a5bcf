//! Arbitrary bytes as what a crawled market sends back or an analyst hands
//! the crawler: a page whose links are read and checked against the scope,
//! a cookies.txt export, a proxy setting and a seed. Must never panic, and
//! never admit a URL (a link, an image, a captcha image) on another host.
#![no_main]

use libfuzzer_sys::fuzz_target;

const SEED: &str = "http://placebomarketabcdefghijklmnopqrstuvwxyz234567abcdefghijklmn.onion/index.html";

fuzz_target!(|data: &[u8]| {
    let proxy = crawl::ProxySetting::Socks5h { addr: "127.0.0.1:9050".into() };
    if let Ok(scope) = crawl::Scope::new(SEED, &proxy, false, None) {
        let base = scope.seed().clone();
        for href in crawl::links::hrefs(data) {
            if let Some(u) = scope.admit(&base, &href) {
                assert_eq!(u.host_str(), base.host_str(), "{href}");
            }
        }
        for src in crawl::links::image_srcs(data).into_iter().chain(crawl::links::captcha_image_src(data)) {
            if let Some(u) = scope.admit_resource(&base, &src) {
                assert_eq!(u.host_str(), base.host_str(), "{src}");
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = crawl::parse_cookies_txt(&text, "placebomarket.onion");
    let _ = crawl::ProxySetting::parse(&text);
    let _ = crawl::Scope::new(&text, &proxy, false, Some(&text));
});
