//! Rendering the world into market pages, two layouts, and the records each
//! page is expected to yield (the extraction ground truth of the page).
//!
//! Every value is written once into a [`View`] and both the HTML and the
//! expected records are produced from it, so the two cannot drift apart.

use std::fmt::Write as _;

use chrono::NaiveDate;
use model::{CategoryEntry, Feedback, Listing, Money, PageType, Vendor};

use crate::words::{Layout, MarketDef, CARD_LEVELS, CATALOGUE};
use crate::world::{self, Account, World};
use crate::TruthPage;

/// One rendered page: its path under `pages/<market>/`, its HTML, and truth.
pub(crate) struct Page {
    pub html: String,
    pub truth: TruthPage,
}

/// Listings on one search page.
const PAGE_SIZE: usize = 10;

/// Renders every page of market `m`, in a stable order.
pub(crate) fn market_pages(world: &World, m: usize) -> Vec<Page> {
    let Some(def) = world.markets.get(m) else {
        return Vec::new();
    };
    let r = Renderer {
        def,
        layout: def.layout,
    };
    let accounts: Vec<&Account> = world.accounts.iter().filter(|a| a.market == m && !a.hidden).collect();
    // (account, listing index) of every listing on the market, by category then id.
    let mut listings: Vec<(&Account, &world::Listing)> = accounts
        .iter()
        .flat_map(|a| a.listings.iter().map(move |l| (*a, l)))
        .collect();
    listings.sort_by(|a, b| (a.1.top.name, id_key(&a.1.id)).cmp(&(b.1.top.name, id_key(&b.1.id))));

    let mut pages = vec![r.main(&listings, accounts.len()), r.login(), r.captcha()];
    for top in CATALOGUE {
        let in_top: Vec<_> = listings
            .iter()
            .filter(|(_, l)| l.top.name == top.name)
            .copied()
            .collect();
        let n_pages = in_top.len().div_ceil(PAGE_SIZE);
        for (i, chunk) in in_top.chunks(PAGE_SIZE).enumerate() {
            pages.push(r.search(top.name, top.slug, i + 1, n_pages, in_top.len(), chunk));
        }
    }
    for (a, l) in &listings {
        pages.push(r.listing(a, l));
    }
    for a in &accounts {
        pages.push(r.vendor(
            a,
            &world.keys[a.key].armored,
            &world.keys[a.key].fingerprint,
        ));
    }
    pages
}

/// Numeric ids sort as numbers, hex ids as text.
fn id_key(id: &str) -> (u64, &str) {
    (id.parse().unwrap_or(0), id)
}

/// HTML-escapes text for element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn usd(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn btc(cents: u64, usd_per_btc: u64) -> String {
    // cents / 100 / rate BTC = cents * 1e6 / rate satoshi.
    let sats = cents * 1_000_000 / usd_per_btc.max(1);
    format!("{}.{:08}", sats / 100_000_000, sats % 100_000_000)
}

struct Renderer<'a> {
    def: &'a MarketDef,
    layout: Layout,
}

/// Counts shown on a vendor profile, computed once for HTML and truth.
struct Stats {
    positive: u64,
    neutral: u64,
    negative: u64,
    /// Average stars, two decimals; `None` without feedback.
    rating: Option<String>,
    /// Positive share, one decimal; `None` without feedback.
    percent: Option<String>,
}

fn stats(a: &Account) -> Stats {
    let (mut positive, mut neutral, mut negative, mut stars) = (0u64, 0u64, 0u64, 0u64);
    for (_, f) in a.feedback() {
        stars += u64::from(f.stars);
        match f.stars {
            4..=5 => positive += 1,
            3 => neutral += 1,
            _ => negative += 1,
        }
    }
    let total = positive + neutral + negative;
    let rating = (total > 0).then(|| {
        let hundredths = (stars * 100 + total / 2) / total;
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    });
    let percent = (total > 0).then(|| {
        let tenths = (positive * 1000 + total / 2) / total;
        format!("{}.{}", tenths / 10, tenths % 10)
    });
    Stats {
        positive,
        neutral,
        negative,
        rating,
        percent,
    }
}

impl Renderer<'_> {
    fn market(&self) -> String {
        self.def.id.to_owned()
    }

    fn rel(&self, path: &str) -> String {
        format!("pages/{}/{path}", self.def.id)
    }

    fn date(&self, d: NaiveDate) -> String {
        match self.layout {
            Layout::Table => d.format("%Y-%m-%d").to_string(),
            Layout::Cards => d.format("%d %b %Y").to_string(),
        }
    }

    fn level(&self, level: usize) -> String {
        match self.layout {
            Layout::Table => format!("Level {}", level + 1),
            Layout::Cards => CARD_LEVELS
                .get(level)
                .copied()
                .unwrap_or("Seller")
                .to_owned(),
        }
    }

    fn price_text(&self, cents: u64) -> String {
        match self.layout {
            Layout::Table => format!("USD {}", usd(cents)),
            Layout::Cards => format!("${}", usd(cents)),
        }
    }

    fn listing_path(&self, id: &str) -> String {
        match self.layout {
            Layout::Table => format!("listing/{id}.html"),
            Layout::Cards => format!("item/{id}.html"),
        }
    }

    fn search_path(&self, slug: &str, n: usize) -> String {
        match self.layout {
            Layout::Table => format!("search/{slug}-{n}.html"),
            Layout::Cards => format!("browse/{slug}/{n}.html"),
        }
    }

    fn vendor_path(name: &str) -> String {
        format!("vendor/{name}.html")
    }

    fn page(
        &self,
        path: &str,
        page_type: PageType,
        title: &str,
        root: &str,
        body: &str,
    ) -> (String, TruthPage) {
        let css = match self.layout {
            Layout::Table => "table",
            Layout::Cards => "cards",
        };
        let nav = match self.layout {
            Layout::Table => format!(
                "<div id=\"header\"><span class=\"logo\">{name}</span> | <a href=\"{root}index.html\">Home</a> | <a href=\"{root}login.html\">Account</a></div>\n",
                name = esc(self.def.display)
            ),
            Layout::Cards => format!(
                "<header class=\"topbar\"><a class=\"brand\" href=\"{root}index.html\">{name}</a><nav><a href=\"{root}login.html\">Sign in</a></nav></header>\n",
                name = esc(self.def.display)
            ),
        };
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"generator\" content=\"dragnet-sim {id}\">\n<title>{display} :: {title}</title>\n<link rel=\"stylesheet\" href=\"{root}static/{css}.css\">\n</head>\n<body class=\"{css}-layout\">\n{nav}{body}<footer>{display} &middot; simulated market generated by dragnet-sim for tests; not a real market</footer>\n</body>\n</html>\n",
            id = self.def.id,
            display = esc(self.def.display),
            title = esc(title),
        );
        let truth = TruthPage {
            rel_path: self.rel(path),
            market: self.market(),
            page_type,
            listings: Vec::new(),
            vendors: Vec::new(),
            feedback: Vec::new(),
            categories: Vec::new(),
            btc_addresses: Vec::new(),
            pgp_fingerprints: Vec::new(),
        };
        (html, truth)
    }

    fn main(&self, listings: &[(&Account, &world::Listing)], vendors: usize) -> Page {
        let mut body = String::new();
        let mut categories = Vec::new();
        let mut rows = String::new();
        for top in CATALOGUE {
            let count = listings
                .iter()
                .filter(|(_, l)| l.top.name == top.name)
                .count();
            if count == 0 {
                continue;
            }
            let link = self.search_path(top.slug, 1);
            categories.push(CategoryEntry {
                market: self.market(),
                name: top.name.to_owned(),
                count: Some(count as u64),
                link: Some(link.clone()),
                provenance: None,
            });
            match self.layout {
                Layout::Table => {
                    let _ = writeln!(
                        rows,
                        "<tr><td class=\"cname\"><a href=\"{link}\">{}</a></td><td class=\"n\">({count})</td></tr>",
                        esc(top.name)
                    );
                }
                Layout::Cards => {
                    let _ = writeln!(
                        rows,
                        "<div class=\"cat-tile\" data-slug=\"{}\"><a class=\"cat-name\" href=\"{link}\">{}</a> <span class=\"cat-count\">{count} {items}</span></div>",
                        top.slug,
                        esc(top.name),
                        items = if count == 1 { "item" } else { "items" }
                    );
                }
            }
        }
        match self.layout {
            Layout::Table => {
                let _ = write!(
                    body,
                    "<h2>Welcome to {}</h2>\n<p class=\"stats\">Vendors: {vendors} &middot; Listings: {}</p>\n<table class=\"cats\">\n<tr><th>Category</th><th>Listings</th></tr>\n{rows}</table>\n",
                    esc(self.def.display),
                    listings.len()
                );
            }
            Layout::Cards => {
                let _ = write!(
                    body,
                    "<main>\n<h1 class=\"hero\">Browse {}</h1>\n<div class=\"market-stats\" data-vendors=\"{vendors}\" data-listings=\"{}\">{vendors} sellers, {} offers</div>\n<div class=\"cat-grid\">\n{rows}</div>\n</main>\n",
                    esc(self.def.display),
                    listings.len(),
                    listings.len()
                );
            }
        }
        let (html, mut truth) = self.page("index.html", PageType::Main, "Home", "", &body);
        truth.categories = categories;
        Page { html, truth }
    }

    fn login(&self) -> Page {
        let body = match self.layout {
            Layout::Table => "<h2>Login</h2>\n<form id=\"login\" method=\"post\" action=\"login.html\">\n<table class=\"form\"><tr><td class=\"label\">Username</td><td><input type=\"text\" name=\"username\"></td></tr>\n<tr><td class=\"label\">Password</td><td><input type=\"password\" name=\"password\"></td></tr></table>\n<input type=\"submit\" value=\"Login\">\n</form>\n",
            Layout::Cards => "<main class=\"auth\">\n<form class=\"signin\" method=\"post\" action=\"login.html\">\n<label>Account name <input name=\"user\"></label>\n<label>Passphrase <input type=\"password\" name=\"pass\"></label>\n<button type=\"submit\">Sign in</button>\n</form>\n</main>\n",
        };
        let (html, truth) = self.page("login.html", PageType::Login, "Sign in", "", body);
        Page { html, truth }
    }

    fn captcha(&self) -> Page {
        let body = match self.layout {
            Layout::Table => "<h2>Security check</h2>\n<form id=\"captcha\" method=\"post\" action=\"captcha.html\">\n<img src=\"captcha.png\" alt=\"captcha\" width=\"200\" height=\"60\">\n<input type=\"text\" name=\"captcha_code\">\n<input type=\"submit\" value=\"Continue\">\n</form>\n",
            Layout::Cards => "<main class=\"auth\">\n<form class=\"challenge\" method=\"post\" action=\"captcha.html\">\n<p>Prove you are human: type the characters below.</p>\n<img class=\"puzzle\" src=\"captcha-image.png\" alt=\"\">\n<input name=\"captcha\">\n<button type=\"submit\">Verify</button>\n</form>\n</main>\n",
        };
        let (html, truth) = self.page(
            "captcha.html",
            PageType::Captcha,
            "Security check",
            "",
            body,
        );
        Page { html, truth }
    }

    fn search(
        &self,
        name: &str,
        slug: &str,
        n: usize,
        of: usize,
        total: usize,
        chunk: &[(&Account, &world::Listing)],
    ) -> Page {
        let path = self.search_path(slug, n);
        let root = match self.layout {
            Layout::Table => "../",
            Layout::Cards => "../../",
        };
        let mut rows = String::new();
        let mut expected = Vec::new();
        for (a, l) in chunk {
            let url = format!("{root}{}", self.listing_path(&l.id));
            let vurl = format!("{root}{}", Self::vendor_path(&a.name));
            let price = self.price_text(l.price_cents);
            match self.layout {
                Layout::Table => {
                    let _ = writeln!(
                        rows,
                        "<tr class=\"item\"><td class=\"t\"><a href=\"{url}\">{}</a></td><td class=\"v\"><a href=\"{vurl}\">{}</a></td><td class=\"p\">{price}</td><td class=\"s\">{}</td></tr>",
                        esc(&l.title),
                        esc(&a.name),
                        esc(l.ships_from)
                    );
                }
                Layout::Cards => {
                    let _ = writeln!(
                        rows,
                        "<div class=\"card product\" data-listing-id=\"{id}\">\n<a class=\"card-title\" href=\"{url}\">{}</a>\n<div class=\"card-vendor\">by <a href=\"{vurl}\">{}</a></div>\n<div class=\"card-price\">{price}</div>\n<div class=\"card-origin\">{}</div>\n</div>",
                        esc(&l.title),
                        esc(&a.name),
                        esc(l.ships_from),
                        id = l.id
                    );
                }
            }
            expected.push(Listing {
                market: self.market(),
                market_listing_id: Some(l.id.clone()),
                title: l.title.clone(),
                vendor: Some(a.name.clone()),
                price: Some(Money {
                    amount: usd(l.price_cents),
                    currency: "USD".into(),
                }),
                price_usd: Some(usd(l.price_cents)),
                ships_from: Some(l.ships_from.to_owned()),
                url: Some(url),
                ..Listing::default()
            });
        }
        let mut pager = String::new();
        for p in 1..=of {
            let target = match self.layout {
                Layout::Table => format!("{slug}-{p}.html"),
                Layout::Cards => format!("{p}.html"),
            };
            if p == n {
                let _ = write!(pager, "<b>{p}</b> ");
            } else {
                let _ = write!(pager, "<a href=\"{target}\">{p}</a> ");
            }
        }
        let body = match self.layout {
            Layout::Table => format!(
                "<h2>{}</h2>\n<p class=\"hits\">{total} listings found, page {n} of {of}</p>\n<table class=\"results\">\n<tr><th>Item</th><th>Vendor</th><th>Price</th><th>Ships from</th></tr>\n{rows}</table>\n<div class=\"pages\">{pager}</div>\n",
                esc(name)
            ),
            Layout::Cards => format!(
                "<main>\n<h1 class=\"section\">{}</h1>\n<div class=\"result-count\" data-total=\"{total}\">{total} offers</div>\n<div class=\"grid\">\n{rows}</div>\n<nav class=\"pager\">{pager}</nav>\n</main>\n",
                esc(name)
            ),
        };
        let title = format!("{name} (page {n} of {of})");
        let (html, mut truth) = self.page(&path, PageType::Search, &title, root, &body);
        truth.listings = expected;
        Page { html, truth }
    }

    fn listing(&self, a: &Account, l: &world::Listing) -> Page {
        let path = self.listing_path(&l.id);
        let root = "../";
        let vurl = format!("{root}{}", Self::vendor_path(&a.name));
        let top_url = format!("{root}{}", self.search_path(l.top.slug, 1));
        let stock = l
            .stock
            .map_or_else(|| "Unlimited".to_owned(), |s| s.to_string());
        let shipping: Vec<String> = l
            .shipping
            .iter()
            .map(|(name, cents)| match self.layout {
                Layout::Table => format!("{name} (USD {})", usd(*cents)),
                Layout::Cards => format!("{name} +${}", usd(*cents)),
            })
            .collect();
        let body = match self.layout {
            Layout::Table => {
                let options: String = shipping
                    .iter()
                    .map(|s| format!("<option>{}</option>", esc(s)))
                    .collect();
                format!(
                    "<table class=\"listing-detail\">\n<tr><td colspan=\"2\"><h1 class=\"ltitle\">{title}</h1></td></tr>\n{photo}<tr><td class=\"label\">Listing #</td><td>{id}</td></tr>\n<tr><td class=\"label\">Vendor</td><td><a href=\"{vurl}\">{vendor}</a> ({level})</td></tr>\n<tr><td class=\"label\">Category</td><td class=\"crumbs\"><a href=\"{top_url}\">{top}</a> &rsaquo; <a href=\"{top_url}\">{sub}</a></td></tr>\n<tr><td class=\"label\">Price</td><td><span class=\"usd\">USD {usd}</span> / <span class=\"btc\">{btc} BTC</span></td></tr>\n<tr><td class=\"label\">Ships from</td><td>{from}</td></tr>\n<tr><td class=\"label\">Ships to</td><td>{to}</td></tr>\n<tr><td class=\"label\">Shipping</td><td><select name=\"shipping\">{options}</select></td></tr>\n<tr><td class=\"label\">Stock</td><td>{stock}</td></tr>\n<tr><td class=\"label\">Sold</td><td>{sold} sold</td></tr>\n</table>\n<h3>Description</h3>\n<div class=\"descr\">{descr}</div>\n",
                    title = esc(&l.title),
                    id = l.id,
                    vendor = esc(&a.name),
                    level = esc(&self.level(a.level)),
                    top = esc(l.top.name),
                    sub = esc(l.sub.name),
                    usd = usd(l.price_cents),
                    btc = btc(l.price_cents, self.def.usd_per_btc),
                    from = esc(l.ships_from),
                    to = esc(&l.ships_to.join(", ")),
                    sold = l.sold,
                    descr = esc(&l.description),
                    photo = l.photo.as_ref().map_or(String::new(), |p| format!(
                        "<tr><td colspan=\"2\"><img class=\"lphoto\" src=\"{}\" alt=\"\"></td></tr>\n",
                        p.data_uri
                    )),
                )
            }
            Layout::Cards => {
                let dest: String = l
                    .ships_to
                    .iter()
                    .map(|d| format!("<li>{}</li>", esc(d)))
                    .collect();
                let opts: String = shipping
                    .iter()
                    .map(|s| format!("<li>{}</li>", esc(s)))
                    .collect();
                let stock_text = if l.stock.is_some() {
                    format!("{stock} left")
                } else {
                    stock.clone()
                };
                format!(
                    "<main>\n<article class=\"product-page\" data-listing-id=\"{id}\">\n<nav class=\"crumbs\"><a href=\"{root}index.html\">Home</a> / <a class=\"crumb\" href=\"{top_url}\">{top}</a> / <a class=\"crumb\" href=\"{top_url}\">{sub}</a></nav>\n<h2 class=\"product-title\">{title}</h2>\n{photo}<div class=\"pid\">Item #{id}</div>\n<div class=\"seller\">Sold by <a class=\"seller-link\" href=\"{vurl}\">{vendor}</a> <span class=\"badge\">{level}</span></div>\n<div class=\"price-box\"><span class=\"price\" data-currency=\"USD\">${usd}</span></div>\n<div class=\"facts\">\n<div class=\"fact\" data-k=\"origin\"><span class=\"k\">Origin</span> <span class=\"v\">{from}</span></div>\n<div class=\"fact\" data-k=\"dest\"><span class=\"k\">Destinations</span> <ul class=\"v\">{dest}</ul></div>\n<div class=\"fact\" data-k=\"stock\"><span class=\"k\">Availability</span> <span class=\"v\">{stock_text}</span></div>\n<div class=\"fact\" data-k=\"sold\"><span class=\"v\">{sold} sold</span></div>\n</div>\n<h3>Delivery</h3>\n<ul class=\"ship-opts\">{opts}</ul>\n<div class=\"desc\">{descr}</div>\n</article>\n</main>\n",
                    id = l.id,
                    title = esc(&l.title),
                    vendor = esc(&a.name),
                    level = esc(&self.level(a.level)),
                    top = esc(l.top.name),
                    sub = esc(l.sub.name),
                    usd = usd(l.price_cents),
                    from = esc(l.ships_from),
                    sold = l.sold,
                    descr = esc(&l.description),
                    photo = l.photo.as_ref().map_or(String::new(), |p| format!(
                        "<img class=\"product-photo\" src=\"{}\" alt=\"\">\n",
                        p.data_uri
                    )),
                )
            }
        };
        let (html, mut truth) = self.page(&path, PageType::Listing, &l.title, root, &body);
        truth.listings.push(Listing {
            market: self.market(),
            market_listing_id: Some(l.id.clone()),
            title: l.title.clone(),
            vendor: Some(a.name.clone()),
            category: vec![l.top.name.to_owned(), l.sub.name.to_owned()],
            price: Some(Money {
                amount: usd(l.price_cents),
                currency: "USD".into(),
            }),
            price_usd: Some(usd(l.price_cents)),
            price_btc: (self.layout == Layout::Table)
                .then(|| btc(l.price_cents, self.def.usd_per_btc)),
            ships_from: Some(l.ships_from.to_owned()),
            ships_to: l.ships_to.iter().map(|s| (*s).to_owned()).collect(),
            shipping_methods: shipping,
            stock: Some(stock),
            sold: Some(l.sold),
            sold_since: None,
            rating: None,
            url: None,
            observed_at: None,
            photos: l.photo.iter().map(|p| p.hash.clone()).collect(),
            provenance: None,
        });
        Page { html, truth }
    }

    fn vendor(&self, a: &Account, armored: &str, fingerprint: &str) -> Page {
        let path = Self::vendor_path(&a.name);
        let root = "../";
        let s = stats(a);
        let na = "n/a".to_owned();
        let contacts_html: String = a
            .contacts
            .iter()
            .filter_map(|c| c.split_once(':'))
            .map(|(kind, value)| match (self.layout, kind) {
                (Layout::Table, "jabber") => format!("<li>Jabber: {}</li>", esc(value)),
                (Layout::Table, _) => format!("<li>E-mail: {}</li>", esc(value)),
                (Layout::Cards, "jabber") => {
                    format!("<div class=\"contact\"><span class=\"ck\">XMPP</span> <span class=\"cv\">{}</span></div>", esc(value))
                }
                (Layout::Cards, _) => {
                    format!("<div class=\"contact\"><span class=\"ck\">Email</span> <span class=\"cv\">{}</span></div>", esc(value))
                }
            })
            .collect();
        let listing_links: String = a
            .listings
            .iter()
            .map(|l| {
                format!(
                    "<li><a href=\"{root}{}\">{}</a></li>",
                    self.listing_path(&l.id),
                    esc(&l.title)
                )
            })
            .collect();
        // (date, html, record) per entry; listed newest first across the
        // vendor's listings, as markets show them.
        let mut entries: Vec<(NaiveDate, String, Feedback)> = Vec::new();
        for (l, f) in a.feedback() {
            let rating = match self.layout {
                Layout::Table => format!("{}/5", f.stars),
                Layout::Cards => match f.stars {
                    4..=5 => "Positive",
                    3 => "Neutral",
                    _ => "Negative",
                }
                .to_owned(),
            };
            let date = self.date(f.date);
            let html = match self.layout {
                Layout::Table => format!(
                    "<tr class=\"fb\"><td class=\"fdate\">{date}</td><td class=\"frating\">{rating}</td><td class=\"fitem\">{}</td><td class=\"ftext\">{}</td><td class=\"fbuyer\">{}</td></tr>\n",
                    esc(&l.title),
                    esc(f.text),
                    esc(&f.buyer)
                ),
                Layout::Cards => format!(
                    "<div class=\"review\" data-verdict=\"{v}\">\n<div class=\"review-head\"><span class=\"verdict\">{rating}</span> <span class=\"who\">{buyer}</span> <time datetime=\"{iso}\">{date}</time></div>\n<p class=\"review-body\">{text}</p>\n<div class=\"review-item\">Item: {item}</div>\n</div>\n",
                    v = rating.to_lowercase(),
                    buyer = esc(&f.buyer),
                    iso = f.date.format("%Y-%m-%d"),
                    text = esc(f.text),
                    item = esc(&l.title),
                ),
            };
            let record = Feedback {
                market: self.market(),
                vendor: Some(a.name.clone()),
                listing: Some(l.title.clone()),
                date: Some(date),
                rating: Some(rating),
                text: Some(f.text.to_owned()),
                buyer: Some(f.buyer.clone()),
                price: None,
                observed_at: None,
                provenance: None,
            };
            entries.push((f.date, html, record));
        }
        // Stable: entries of the same day keep listing order.
        entries.sort_by_key(|e| std::cmp::Reverse(e.0));
        let feedback_html: String = entries.iter().map(|e| e.1.as_str()).collect();
        let feedback: Vec<Feedback> = entries.into_iter().map(|e| e.2).collect();
        let btc_html: String = a
            .btc
            .iter()
            .map(|b| format!("<code class=\"addr\">{b}</code> "))
            .collect();
        let rating_text = s.rating.clone().unwrap_or_else(|| na.clone());
        let percent_text = s
            .percent
            .as_ref()
            .map_or_else(|| na.clone(), |p| format!("{p}%"));
        let body = match self.layout {
            Layout::Table => format!(
                "<table class=\"vendor-info\">\n<tr><td class=\"label\">Vendor</td><td class=\"vname\">{name}</td></tr>\n<tr><td class=\"label\">Level</td><td>{level}</td></tr>\n<tr><td class=\"label\">Member since</td><td>{reg}</td></tr>\n<tr><td class=\"label\">Last seen</td><td>{seen}</td></tr>\n<tr><td class=\"label\">Sales</td><td>{sales}</td></tr>\n<tr><td class=\"label\">Rating</td><td>{rating} / 5</td></tr>\n<tr><td class=\"label\">Positive feedback</td><td>{pos}</td></tr>\n<tr><td class=\"label\">Neutral feedback</td><td>{neu}</td></tr>\n<tr><td class=\"label\">Negative feedback</td><td>{neg}</td></tr>\n<tr><td class=\"label\">Positive %</td><td>{pct}</td></tr>\n<tr><td class=\"label\">Contact</td><td><ul class=\"contacts\">{contacts}</ul></td></tr>\n<tr><td class=\"label\">BTC address</td><td>{btc}</td></tr>\n<tr><td class=\"label\">PGP key</td><td><pre class=\"pgp\">{armored}</pre></td></tr>\n</table>\n<h3>About</h3>\n<div class=\"about\">{about}</div>\n<h3>Listings</h3>\n<ul class=\"vlist\">{listing_links}</ul>\n<h3>Feedback</h3>\n<table class=\"feedback\">\n<tr><th>Date</th><th>Rating</th><th>Item</th><th>Comment</th><th>Buyer</th></tr>\n{feedback_html}</table>\n",
                name = esc(&a.name),
                level = esc(&self.level(a.level)),
                reg = self.date(a.registered),
                seen = self.date(a.last_seen),
                sales = a.sales(),
                rating = rating_text,
                pos = s.positive,
                neu = s.neutral,
                neg = s.negative,
                pct = percent_text,
                contacts = contacts_html,
                btc = btc_html.trim_end(),
                armored = esc(armored.trim_end()),
                about = esc(&a.description),
            ),
            Layout::Cards => {
                let key_html = esc(armored.trim_end()).replace('\n', "<br>");
                format!(
                    "<main>\n<section class=\"vendor-profile\" data-vendor=\"{name}\">\n<header class=\"vhead\"><h2 class=\"vname\">{name}</h2> <span class=\"badge\" data-level=\"{lvl}\">{level}</span></header>\n<ul class=\"stats\">\n<li data-stat=\"joined\">Joined <span class=\"val\">{reg}</span></li>\n<li data-stat=\"seen\">Last online <span class=\"val\">{seen}</span></li>\n<li data-stat=\"orders\"><span class=\"val\">{sales}</span> orders</li>\n<li data-stat=\"score\"><span class=\"val\">{rating}</span> average</li>\n<li data-stat=\"fb\">Feedback <span class=\"pos\">+{pos}</span> <span class=\"neu\">{neu}</span> <span class=\"neg\">-{neg}</span></li>\n<li data-stat=\"pct\"><span class=\"val\">{pct}</span> positive</li>\n</ul>\n<div class=\"about\">{about}</div>\n<div class=\"contacts\">{contacts}</div>\n<div class=\"wallet\">Direct pay {btc}</div>\n<div class=\"pgp-block\">{key_html}</div>\n</section>\n<section class=\"offers\"><h3>Offers</h3><ul>{listing_links}</ul></section>\n<section class=\"reviews\">\n<h3>Reviews</h3>\n{feedback_html}</section>\n</main>\n",
                    name = esc(&a.name),
                    lvl = a.level,
                    level = esc(&self.level(a.level)),
                    reg = self.date(a.registered),
                    seen = self.date(a.last_seen),
                    sales = a.sales(),
                    rating = rating_text,
                    pos = s.positive,
                    neu = s.neutral,
                    neg = s.negative,
                    pct = percent_text,
                    contacts = contacts_html,
                    btc = btc_html.trim_end(),
                    about = esc(&a.description),
                )
            }
        };
        let title = match self.layout {
            Layout::Table => format!("Vendor {}", a.name),
            Layout::Cards => format!("{}'s shop", a.name),
        };
        let (html, mut truth) = self.page(&path, PageType::Vendor, &title, root, &body);
        truth.vendors.push(Vendor {
            market: self.market(),
            name: a.name.clone(),
            registered: Some(self.date(a.registered)),
            last_seen: Some(self.date(a.last_seen)),
            sales: Some(a.sales()),
            feedback_positive: Some(s.positive),
            feedback_neutral: Some(s.neutral),
            feedback_negative: Some(s.negative),
            positive_percent: s.percent,
            rating: s.rating,
            level: Some(self.level(a.level)),
            trust: None,
            pgp_fingerprint: Some(fingerprint.to_owned()),
            contacts: a.contacts.clone(),
            external_ratings: Vec::new(),
            observed_at: None,
            provenance: None,
        });
        truth.feedback = feedback;
        truth.btc_addresses = a.btc.clone();
        truth.pgp_fingerprints = vec![fingerprint.to_owned()];
        Page { html, truth }
    }
}
