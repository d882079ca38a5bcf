//! Shipping places as markets write them ("USA", "United States", "us";
//! "UK", "England"; "Europe (EU)"; "Torland"), normalized so that two
//! spellings of one country compare equal: linking compares accounts'
//! origins with [`place_key`], sales groups by origin and destination with
//! [`group_label`]. Country names, aliases and codes come from the `celes`
//! ISO 3166 tables; the few market words that are not countries are listed
//! in [`place`].

/// What a shipping field names, normalized across markets' spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// An ISO 3166-1 country (alpha-2: `US`, `GB`, ...), from a name, alias
    /// or code (`United States of America`, `USA`, `US`, `UK`, `England`).
    Country(String),
    /// The European Union or Europe (`EU`, `Europe (EU)`, `European Union`).
    Europe,
    /// Worldwide (`Worldwide`, `World Wide`, `WW`).
    Worldwide,
    /// No place: `None`, `Undeclared`, `Not Specified`, `Unknown`,
    /// `Internet`, `Torland`, `Digital / Service`, empty.
    Unstated,
    /// Anything else, lower-cased and trimmed (kept, compared as text).
    Other(String),
}

/// Normalizes a ships-from or ships-to value. Country names and codes are
/// resolved by the `celes` ISO 3166 tables; the few market words that are
/// not countries are listed here.
pub fn place(value: &str) -> Place {
    // Trailing punctuation, and a place named again in brackets
    // ("USA only!", "USA ONLY.", "Netherlands (Nederland)"), say no more. A
    // bracket that says something else ("Worldwide (Except USA)") stays.
    let v = value.trim().trim_end_matches(['!', '.', ',', ';', ':']).trim();
    let named_twice = |name: &str, rest: &str| {
        let inner = rest.strip_suffix(')').unwrap_or(rest);
        !name.trim().is_empty() && !inner.contains('(') && !matches!(place(name), Place::Other(_)) && !matches!(place(inner), Place::Other(_))
    };
    let v = match v.split_once(" (") {
        Some((name, rest)) if rest.ends_with(')') && named_twice(name, rest) => name.trim(),
        _ => v,
    };
    let v = v.strip_suffix("-only").or_else(|| v.strip_suffix("-ONLY")).map_or(v, str::trim);
    // "USA Only", "UK ONLY", "Only Germany": the place itself.
    let lower = v.to_lowercase();
    let v = match (lower.strip_suffix(" only"), lower.strip_prefix("only ")) {
        (Some(_), _) => v.len().checked_sub(" only".len()).and_then(|n| v.get(..n)).unwrap_or(v).trim(),
        (None, Some(_)) => v.get("only ".len()..).unwrap_or(v).trim(),
        (None, None) => v,
    };
    let key: String = v.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    match key.as_str() {
        "" | "none" | "null" | "na" | "undeclared" | "notspecified" | "unspecified" | "unknown" | "internet"
        | "torland" | "digitalservice" | "digital" => return Place::Unstated,
        "worldwide" | "ww" | "world" | "global" => return Place::Worldwide,
        "eu" | "europe" | "europeeu" | "europeanunion" => return Place::Europe,
        "uk" | "greatbritain" | "britain" => return Place::Country("GB".into()),
        // Countries as they call themselves, and misspellings met in the
        // real datasets (celes knows English names).
        "deutschland" => return Place::Country("DE".into()),
        "schweiz" | "suisse" | "svizzera" => return Place::Country("CH".into()),
        "osterreich" | "österreich" => return Place::Country("AT".into()),
        "nederland" => return Place::Country("NL".into()),
        "espana" | "españa" => return Place::Country("ES".into()),
        "sverige" => return Place::Country("SE".into()),
        "phillipines" | "phillippines" | "philipines" => return Place::Country("PH".into()),
        _ => {}
    }
    let country = if v.chars().count() <= 3 && v.chars().all(|c| c.is_ascii_alphabetic()) {
        // A code is written in capitals or all in lower case: a word such
        // as "Me" (Agora's "from: Me, to: You") is no code (it was read as
        // Montenegro; found by a review).
        let up = v.to_ascii_uppercase();
        let code = v == up || v == v.to_ascii_lowercase();
        code.then(|| celes::Country::from_alpha2(&up).or_else(|_| celes::Country::from_alpha3(&up)).ok()).flatten()
    } else {
        std::str::FromStr::from_str(&key).ok()
    };
    match country {
        Some(c) => Place::Country(c.alpha2.to_owned()),
        None => Place::Other(v.to_lowercase()),
    }
}

/// The places a ships-to value names when it names several ("USA and
/// Canada", "UK/ EU", "aus and nz"): its parts, split at "and", "&", "/",
/// "+", ",", ";" or "|" (or at spaces, when every word is a country: "USA
/// Canada"), when every part is a place. `None` for a value that is one
/// place ("Bosnia and Herzegovina") or whose parts are not all places.
/// (Sales by destination counted such values as one "(not a country)"
/// group, about 600 sales missing from the US, CA, GB, AU and CN rows;
/// found by a review.)
pub fn several_places(value: &str) -> Option<Vec<String>> {
    if !matches!(place(value), Place::Other(_)) {
        return None;
    }
    // "and" only as a word.
    let marked = format!(" {} ", value.trim()).replace(" and ", "|").replace(" AND ", "|").replace(" And ", "|");
    let parts: Vec<&str> = marked.split(['&', '/', '+', ',', ';', '|']).map(str::trim).filter(|p| !p.is_empty()).collect();
    let all_places = |parts: &[&str], countries_only: bool| {
        parts.len() > 1
            && parts.iter().all(|p| match place(p) {
                Place::Country(_) => true,
                Place::Europe | Place::Worldwide => !countries_only,
                _ => false,
            })
    };
    if all_places(&parts, false) {
        return Some(parts.into_iter().map(str::to_owned).collect());
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    all_places(&words, true).then(|| words.into_iter().map(str::to_owned).collect())
}

/// [`place`] as the text an account keeps: a country code, `europe`,
/// `worldwide`, or the lower-cased value; `None` when no place is stated.
pub fn place_key(value: &str) -> Option<String> {
    match place(value) {
        Place::Country(c) => Some(c),
        Place::Europe => Some("europe".into()),
        Place::Worldwide => Some("worldwide".into()),
        Place::Unstated => None,
        Place::Other(s) => Some(s),
    }
}

/// The group a ships-from or ships-to value falls in when sales are grouped
/// by place, as shown: a country as `Name (CC)` (its ISO 3166 name without a
/// leading "The", and its alpha-2 code: "DE", "Germany" and "germany" are
/// all `Germany (DE)`), `Europe`, `Worldwide`, `?` when no place is stated
/// ("Torland", "Internet", "Not Specified", empty: as a missing value shows),
/// and any other value as
/// written, marked `(not a country)` ("Agora Beta", "Scandinavia"). Values
/// that differ only in case or punctuation share the [`group_key`].
pub fn group_label(value: &str) -> String {
    match place(value) {
        Place::Country(code) => match celes::Country::from_alpha2(&code) {
            Ok(c) => format!("{} ({code})", c.long_name.strip_prefix("The ").unwrap_or(c.long_name)),
            Err(_) => code,
        },
        Place::Europe => "Europe".into(),
        Place::Worldwide => "Worldwide".into(),
        Place::Unstated => "?".into(),
        Place::Other(_) => format!("{} (not a country)", value.trim()),
    }
}

/// What [`group_label`]'s groups are keyed by: equal for every value that
/// names one place ([`place_key`], `none` when none is stated).
pub fn group_key(value: &str) -> String {
    place_key(value).unwrap_or_else(|| "none".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_from_every_market_spelling() {
        for (v, want) in [
            ("United States of America", Some("US")),
            ("United States", Some("US")),
            ("USA", Some("US")),
            ("us", Some("US")),
            ("United Kingdom", Some("GB")),
            ("UK", Some("GB")),
            ("GB", Some("GB")),
            ("England", Some("GB")),
            ("Netherlands", Some("NL")),
            ("Holland", Some("NL")),
            ("Hong Kong", Some("HK")),
            ("Czech Republic", Some("CZ")),
            ("Europe (EU)", Some("europe")),
            ("European Union", Some("europe")),
            ("World Wide", Some("worldwide")),
            ("WW", Some("worldwide")),
            ("Torland", None),
            ("Digital / Service", None),
            ("Not Specified", None),
            ("None", None),
            ("", None),
            ("Atlantis", Some("atlantis")),
            ("USA Only", Some("US")),
            ("UK ONLY", Some("GB")),
            ("U.S. Only", Some("US")),
            ("Germany only", Some("DE")),
            ("Deutschland", Some("DE")),
            ("Schweiz", Some("CH")),
            ("Phillipines", Some("PH")),
            ("Only", Some("only")),
            ("USA only!", Some("US")),
            ("USA ONLY.", Some("US")),
            ("usa-only", Some("US")),
            ("Netherlands (Nederland)", Some("NL")),
            ("Europe (EU)", Some("europe")),
            ("Agora (Beta)", Some("agora (beta)")),
            ("Worldwide (Except USA)", Some("worldwide (except usa)")),
            ("ME", Some("ME")),
            ("Me", Some("me")),
        ] {
            assert_eq!(place_key(v).as_deref(), want, "{v:?}");
        }
    }

    #[test]
    fn several_places_in_one_value() {
        let keys = |v: &str| several_places(v).map(|parts| parts.iter().filter_map(|p| place_key(p)).collect::<Vec<_>>());
        for (v, want) in [
            ("USA and Canada", Some(vec!["US", "CA"])),
            ("United States & Canada", Some(vec!["US", "CA"])),
            ("canada & usa", Some(vec!["CA", "US"])),
            ("UK/ EU", Some(vec!["GB", "europe"])),
            ("USA & CN", Some(vec!["US", "CN"])),
            ("aus and nz", Some(vec!["AU", "NZ"])),
            ("USA Canada", Some(vec!["US", "CA"])),
            ("Bosnia and Herzegovina", None),
            ("United States", None),
            ("USA and Cannada", None),
            ("Me", None),
            ("Agora Beta", None),
            ("Worldwide Europe", None),
        ] {
            assert_eq!(keys(v), want.map(|w| w.into_iter().map(String::from).collect()), "{v:?}");
        }
    }

    #[test]
    fn group_labels_merge_spellings_and_mark_what_is_no_country() {
        for (v, want) in [
            ("DE", "Germany (DE)"),
            ("germany", "Germany (DE)"),
            ("USA", "United States Of America (US)"),
            ("United States", "United States Of America (US)"),
            ("UK", "United Kingdom Of Great Britain And Northern Ireland (GB)"),
            ("Netherlands", "Netherlands (NL)"),
            ("Europe (EU)", "Europe"),
            ("World Wide", "Worldwide"),
            ("Torland", "?"),
            ("", "?"),
            ("?", "?"),
            (" Agora Beta ", "Agora Beta (not a country)"),
        ] {
            assert_eq!(group_label(v), want, "{v:?}");
        }
        assert_eq!(group_key("DE"), group_key("Germany"));
        assert_eq!(group_key("Torland"), group_key(""));
        assert_eq!(group_key("Agora Beta"), group_key("agora beta"));
        assert_ne!(group_key("Agora Beta"), group_key("DE"));
    }

    proptest::proptest! {
        /// Shipping fields are untrusted text: any of it, "only" words and
        /// letters whose lower case is longer included, gives a place.
        #[test]
        fn any_text_gives_a_place(v in "(\\PC{0,12})( (?i:only))?|(?i:only )\\PC{0,12}|İ{1,3} only") {
            let _ = group_label(&v);
            let _ = group_key(&v);
        }
    }
}
