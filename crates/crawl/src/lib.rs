//! Capturing live markets as evidence, without leaking a request.
//!
//! * [`policy`]: which URLs may be fetched at all (the seed's host only;
//!   `.onion` unless `--allow-clearnet`; a Tor proxy with remote name
//!   resolution for every non-loopback host; no login, logout or captcha
//!   links) and the SOCKS5h proxy setting.
//! * [`fetch`]: one HTTP GET through the proxy: no redirects followed (the
//!   crawler decides), no scripts, no embedded resources, a size cap
//!   (truncation recorded), per-market circuit isolation through SOCKS
//!   credentials, the session's cookies.
//! * [`frontier`]: the queue, persisted in SQLite under the case, so a crawl
//!   killed at any moment resumes with no page lost and none stored twice.
//! * [`links`]: in-page links (`a[href]`, nothing that loads by itself).
//! * [`crawl`]: the loop: politeness (delay with jitter), retries with
//!   backoff on 429/5xx/transport errors, a pause when the market answers
//!   with a login or captcha page (the session expired), every response
//!   handed to a [`Sink`] that stores it as evidence.
//!
//! The crate stores nothing itself: the case (crate `case`) implements
//! [`Sink`] with its evidence store and extraction.
#![warn(missing_docs)]

pub mod fetch;
pub mod frontier;
pub mod links;
pub mod policy;
mod run;

pub use fetch::{parse_cookies_txt, FetchConfig, FetchError, Fetched, Fetcher};
pub use frontier::{Entry, Frontier, FrontierCounts, Next, State};
pub use policy::{ProxySetting, Refused, Scope};
pub use run::{crawl, CrawlConfig, CrawlReport, PageKind, Sink, Stop};
