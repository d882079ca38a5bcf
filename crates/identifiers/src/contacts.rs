//! E-mail, Jabber/XMPP, Telegram, Wickr and Session handles.
//!
//! E-mail-shaped strings are everywhere, so they are found unlabelled; a
//! Jabber id looks exactly like an e-mail address, so it is called Jabber
//! only when labelled (`Jabber:`, `XMPP`, `JID` just before it) or when its
//! server is a known XMPP-only service. Telegram, Wickr and Session handles
//! are plain words or hex, so they are reported only where labelled, and
//! (except for Session ids, which are specific enough) only when the label is
//! followed by `:`/`=` or the handle is written with `@`.
//!
//! Labels and values may be separated by markup (`<b>Jabber:</b> x@y.im`):
//! the gap between them allows whitespace, `&nbsp;`, separators and tags.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use model::IdentifierKind;
use regex::Regex;

use crate::Found;

/// Label-to-value gap: whitespace, separators, entities and whole tags.
/// Unbounded repetition is fine with the regex crate (linear time); the
/// match length is checked afterwards.
const GAP: &str = r"(?:[\s:=\-–—]|&nbsp;|&#160;|&#58;|<[^<>]{0,300}>)*";

/// Longest accepted label+gap span, in bytes.
const MAX_GAP: usize = 400;

const EMAIL: &str = r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,6}[A-Za-z]{2,24}";

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("static regex {p}: {e}"))
}

static EMAIL_RE: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?-u:\b){EMAIL}(?-u:\b)")));

/// A label one of the labelled patterns below starts with (the same
/// case-insensitive matching): a text without any has none of their
/// matches. One scan for all of them, where each took about as long (a
/// 100 MB dataset file has none).
static LABEL_RE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)jabber|xmpp|jid|telegram|wickr|session|\.me/"));

static JABBER_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)(?:jabber|xmpp|jid)(?:(?:[\s_\-]|&nbsp;)*(?:id|address|account|contact|only))?(?-u:\b)({GAP})({EMAIL})(?-u:\b)"
    ))
});

static TELEGRAM_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)telegram(?:(?:[\s_\-]|&nbsp;)*(?:id|username|user|handle|contact|account))?(?-u:\b)({GAP})(@?)([A-Za-z][A-Za-z0-9_]{{4,31}})(?-u:\b)"
    ))
});

static TME_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?-u:\b)(?:t|telegram)\.me/(@?)([A-Za-z][A-Za-z0-9_]{4,31})(?-u:\b)")
});

static WICKR_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)wickr(?:(?:[\s_\-]|&nbsp;)*(?:me|id|username|user|handle|contact|account))?(?-u:\b)({GAP})(@?)([A-Za-z0-9][A-Za-z0-9_.\-]{{2,31}})"
    ))
});

static SESSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)session(?:(?:[\s_\-]|&nbsp;)*id)?(?-u:\b)({GAP})(05[0-9a-f]{{64}})(?-u:\b)"
    ))
});

/// XMPP-only services seen on markets and in privacy guides. A server that
/// also offers mail (e.g. cock.li) is deliberately absent: unlabelled
/// addresses there stay e-mail.
const XMPP_SERVERS: &[&str] = &[
    "exploit.im",
    "dukgo.com",
    "xmpp.jp",
    "jabbim.com",
    "jabb.im",
    "404.city",
    "thesecure.biz",
    "creep.im",
    "securejabber.me",
    "blah.im",
    "trashserver.net",
    "conversations.im",
    "yax.im",
    "jabjab.de",
    "xabber.org",
    "5222.de",
    "jabster.pl",
    "rows.io",
    "sure.im",
    "chatme.im",
    "otr.im",
    "jwchat.org",
    "pimux.de",
    "wiuwiu.de",
    "draugr.de",
    "lightwitch.org",
    "xmpp.is",
    "darkness.su",
    "jabber.calyxinstitute.org",
];

/// True if `domain` (lowercase) is a known XMPP service: a listed server, a
/// subdomain of one, or any `jabber.*` / `xmpp.*` / `im.*`-free `jabber`
/// host such as `jabber.ccc.de`.
fn is_xmpp_server(domain: &str) -> bool {
    domain.starts_with("jabber.")
        || domain.starts_with("xmpp.")
        || domain.contains(".jabber.")
        || XMPP_SERVERS
            .iter()
            .any(|s| domain == *s || domain.strip_suffix(s).is_some_and(|p| p.ends_with('.')))
}

/// File extensions that make `name@2x.png`-style strings look like e-mail.
const FILE_TLDS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "json", "html", "htm",
    "php", "woff", "woff2", "ttf", "map", "xml", "txt", "zip",
];

fn plausible_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    let tld = domain.rsplit('.').next().unwrap_or("");
    !local.ends_with('.')
        && !local.contains("..")
        && !FILE_TLDS.contains(&tld)
        // `image@2x` retina names and similar: a digit-only first label.
        && !domain.split('.').next().is_some_and(|l| l.chars().all(|c| c.is_ascii_digit() || c == 'x'))
}

/// Telegram paths that are not user names.
const TME_RESERVED: &[&str] = &["joinchat", "addstickers", "share", "proxy", "socks", "addtheme", "setlanguage", "login"];

/// Words that follow a handle label in prose ("Wickr: just ask me",
/// "Telegram: message us") and are never reported as handles.
const NOT_HANDLES: &[&str] = &[
    "just", "message", "ask", "contact", "available", "upon", "request", "soon", "coming", "only",
    "none", "same", "see", "below", "above", "please", "email", "send", "private", "pm", "dm",
    "inbox", "write", "here", "there", "the", "and", "for", "not", "yes", "use", "via", "with",
    "username", "user", "handle", "account", "link",
];

/// Does the label–value gap carry an explicit separator?
fn has_separator(gap: &str) -> bool {
    let without_tags = crate::strip_tags_for_gap(gap);
    without_tags.contains(':') || without_tags.contains('=') || gap.contains("&#58;")
}

pub(crate) fn find(text: &str, masked: &dyn Fn(usize) -> bool, out: &mut Vec<Found>) {
    find_labelled_if(text, masked, out, LABEL_RE.is_match(text));
}

/// [`find`], the labelled patterns looked for only when `labels` (whether
/// the text holds a label: tests pass `true` to check that the guard loses
/// nothing).
fn find_labelled_if(text: &str, masked: &dyn Fn(usize) -> bool, out: &mut Vec<Found>, labels: bool) {
    // Labelled Jabber ids first: they decide how e-mail-shaped strings with
    // the same value are classified elsewhere on the page.
    let mut jids: BTreeSet<String> = BTreeSet::new();
    let jabber = if labels { Some(JABBER_RE.captures_iter(text)) } else { None };
    for c in jabber.into_iter().flatten() {
        let (Some(whole), Some(v)) = (c.get(0), c.get(2)) else { continue };
        if masked(v.start()) || v.start() - whole.start() > MAX_GAP || !plausible_email(v.as_str()) {
            continue;
        }
        let value = v.as_str().to_ascii_lowercase();
        jids.insert(value.clone());
        out.push(found(IdentifierKind::Jabber, value, Some("labelled"), v.start()));
    }
    for m in EMAIL_RE.find_iter(text) {
        if masked(m.start()) || !plausible_email(m.as_str()) {
            continue;
        }
        let value = m.as_str().to_ascii_lowercase();
        let domain = value.rsplit_once('@').map_or("", |(_, d)| d);
        if jids.contains(&value) {
            // Same id labelled as Jabber elsewhere on the page.
            out.push(found(IdentifierKind::Jabber, value, Some("labelled"), m.start()));
        } else if is_xmpp_server(domain) {
            out.push(found(IdentifierKind::Jabber, value, Some("known xmpp server"), m.start()));
        } else {
            out.push(found(IdentifierKind::Email, value, None, m.start()));
        }
    }
    if !labels {
        return;
    }
    for c in TELEGRAM_RE.captures_iter(text) {
        let (Some(whole), Some(gap), Some(at), Some(v)) = (c.get(0), c.get(1), c.get(2), c.get(3)) else { continue };
        if masked(v.start()) || v.start() - whole.start() > MAX_GAP {
            continue;
        }
        if at.as_str().is_empty() && !has_separator(gap.as_str()) {
            continue;
        }
        let value = v.as_str().to_ascii_lowercase();
        if NOT_HANDLES.contains(&value.as_str()) {
            continue;
        }
        out.push(found(IdentifierKind::Telegram, value, Some("labelled"), v.start()));
    }
    for c in TME_RE.captures_iter(text) {
        let Some(v) = c.get(2) else { continue };
        let value = v.as_str().to_ascii_lowercase();
        if masked(v.start()) || TME_RESERVED.contains(&value.as_str()) {
            continue;
        }
        out.push(found(IdentifierKind::Telegram, value, Some("t.me link"), v.start()));
    }
    for c in WICKR_RE.captures_iter(text) {
        let (Some(whole), Some(gap), Some(at), Some(v)) = (c.get(0), c.get(1), c.get(2), c.get(3)) else { continue };
        if masked(v.start()) || v.start() - whole.start() > MAX_GAP {
            continue;
        }
        if at.as_str().is_empty() && !has_separator(gap.as_str()) {
            continue;
        }
        // A sentence may end right after the handle.
        let value = v.as_str().trim_end_matches(['.', '-']).to_ascii_lowercase();
        if value.len() < 3 || NOT_HANDLES.contains(&value.as_str()) {
            continue;
        }
        out.push(found(IdentifierKind::Wickr, value, Some("labelled"), v.start()));
    }
    for c in SESSION_RE.captures_iter(text) {
        let (Some(whole), Some(v)) = (c.get(0), c.get(2)) else { continue };
        if masked(v.start()) || v.start() - whole.start() > MAX_GAP {
            continue;
        }
        out.push(found(IdentifierKind::Session, v.as_str().to_ascii_lowercase(), Some("labelled"), v.start()));
    }
}

fn found(kind: IdentifierKind, value: String, detail: Option<&str>, offset: usize) -> Found {
    Found { kind, value, detail: detail.map(str::to_string), pgp: None, offset }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<(IdentifierKind, String)> {
        let mut out = Vec::new();
        find(text, &|_| false, &mut out);
        out.sort_by_key(|f| f.offset);
        out.into_iter().map(|f| (f.kind, f.value)).collect()
    }

    fn check(text: &str, expected: &[(IdentifierKind, &str)]) {
        let got = run(text);
        let want: Vec<(IdentifierKind, String)> =
            expected.iter().map(|(k, v)| (*k, v.to_string())).collect();
        assert_eq!(got, want, "{text}");
    }

    use IdentifierKind::*;

    proptest::proptest! {
        /// Skipping the labelled patterns in a text without a label loses
        /// nothing: the guarded search finds what the full one finds, for
        /// texts of labelled values (some labels in Unicode case variants:
        /// the long s and the Kelvin sign fold to s and k).
        #[test]
        fn the_label_guard_loses_nothing(
            entries in proptest::collection::vec((0usize..11, 0usize..4, 0usize..5), 1..4)
        ) {
            const LABELS: [&str; 11] =
                ["jabber", "XMPP", "jid", "ſession", "Session", "Telegram", "t.me/", "telegram.me/", "WICKR", "wic\u{212a}r", "x"];
            const GAPS: [&str; 4] = ["", ": ", " ", "&nbsp;"];
            const VALUES: [&str; 5] =
                ["foo@bar.im", "@handle_1", "05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "handle_2", "x"];
            let text = entries.iter().map(|&(l, g, v)| format!("{}{}{}", LABELS[l], GAPS[g], VALUES[v])).collect::<Vec<_>>().join(" | ");
            let mut guarded = Vec::new();
            find(&text, &|_| false, &mut guarded);
            let mut full = Vec::new();
            find_labelled_if(&text, &|_| false, &mut full, true);
            let key = |f: &Found| (f.offset, f.kind, f.value.clone(), f.detail.clone());
            proptest::prop_assert_eq!(guarded.iter().map(key).collect::<Vec<_>>(), full.iter().map(key).collect::<Vec<_>>(), "{:?}", text);
        }
    }

    #[test]
    fn emails() {
        check("mail Foo.Bar@Example.COM now", &[(Email, "foo.bar@example.com")]);
        check("<img src=\"logo@2x.png\">", &[]);
        check("icon@home.svg", &[]);
        check("not an address: a@b", &[]);
    }

    #[test]
    fn jabber_by_label_or_server() {
        check("<b>Jabber:</b> foo@bar.im", &[(Jabber, "foo@bar.im"), (Jabber, "foo@bar.im")]);
        check("XMPP&nbsp;ID = x@y.org", &[(Jabber, "x@y.org"), (Jabber, "x@y.org")]);
        check("contact me at seller@exploit.im", &[(Jabber, "seller@exploit.im")]);
        check("seller@jabber.ccc.de", &[(Jabber, "seller@jabber.ccc.de")]);
        check("email seller@protonmail.com", &[(Email, "seller@protonmail.com")]);
        // Labelled once, so every occurrence on the page is Jabber.
        check(
            "jid: a@b.de ... write a@b.de",
            &[(Jabber, "a@b.de"), (Jabber, "a@b.de"), (Jabber, "a@b.de")],
        );
    }

    #[test]
    fn telegram() {
        check("Telegram: @Some_Vendor", &[(Telegram, "some_vendor")]);
        check("<td>Telegram</td><td>: vendorname</td>", &[(Telegram, "vendorname")]);
        check("https://t.me/vendor_chan", &[(Telegram, "vendor_chan")]);
        check("t.me/joinchat/AAAAAE", &[]);
        // No separator, no @: prose, not a handle.
        check("contact me on Telegram group chats", &[]);
    }

    #[test]
    fn wickr_and_session() {
        check("Wickr me: dr.feelgood.", &[(Wickr, "dr.feelgood")]);
        check("wickr: <i>shop24</i>", &[(Wickr, "shop24")]);
        check("we use wickr sometimes", &[]);
        check("WiCKR : just ask me", &[]);
        check("Telegram: </strong>Message or email us", &[]);
        let id = format!("05{}", "ab".repeat(32));
        check(&format!("Session ID: {id}"), &[(Session, id.as_str())]);
        check(&format!("random {id}"), &[]);
    }
}
