//! Text style: character n-gram TF-IDF vectors compared by cosine, and
//! MinHash signatures with banded LSH to find similar texts without
//! comparing all pairs. Hashes are our own (FNV-1a and SplitMix64), so
//! results do not depend on the standard library's hasher or the platform.

use std::collections::HashMap;

/// n-gram lengths of the TF-IDF vectors.
pub const NGRAMS: [usize; 2] = [3, 4];
/// Shingle length of MinHash.
pub const SHINGLE: usize = 5;
/// MinHash bands.
pub const BANDS: usize = 20;
/// Rows per band (a pair becomes a candidate when one band agrees; with
/// 20 x 3 that is likely from a shingle Jaccard of about 0.37 up).
pub const ROWS: usize = 3;

/// FNV-1a over bytes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 finalizer: a good 64-bit mix.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Lower-case, collapse whitespace, pad with one space each side.
pub fn clean(text: &str) -> Vec<char> {
    Cleaned::of(text).text.chars().collect()
}

/// [`clean`]'s text as UTF-8, with where each character starts: n-grams are
/// then hashed as the byte slices they are (each character was encoded
/// again for every window holding it, five times for a shingle).
struct Cleaned {
    text: String,
    /// The byte offset of each character, then the text's length.
    starts: Vec<u32>,
}

impl Cleaned {
    fn of(text: &str) -> Cleaned {
        let mut out = String::with_capacity(text.len() + 2);
        out.push(' ');
        for w in text.split_whitespace() {
            if w.is_ascii() {
                // `char::to_lowercase` of an ASCII character is its ASCII
                // lower case: one copy, not a character at a time.
                let at = out.len();
                out.push_str(w);
                out[at..].make_ascii_lowercase();
            } else {
                out.extend(w.chars().flat_map(char::to_lowercase));
            }
            out.push(' ');
        }
        let mut starts: Vec<u32> = out.char_indices().map(|(i, _)| i as u32).collect();
        starts.push(out.len() as u32);
        Cleaned { text: out, starts }
    }

    /// FNV-1a of each window of `n` characters (over their UTF-8 bytes, as
    /// `fnv1a(window.to_string().as_bytes())`), xor `n`.
    fn grams(&self, n: usize) -> impl Iterator<Item = u64> + '_ {
        let bytes = self.text.as_bytes();
        self.starts.windows(n + 1).map(move |w| fnv1a(&bytes[w[0] as usize..w[n] as usize]) ^ (n as u64))
    }
}

/// A sparse vector: sorted (term hash, weight), L2-normalized.
pub type Sparse = Vec<(u64, f64)>;

/// Term hash -> count. The hasher is foldhash's: std's SipHash of every
/// n-gram was a visible part of `dragnet links`. Nothing depends on the map's
/// order (its counts are sums of ones, and [`tfidf`] sorts by term).
pub type TermCounts = HashMap<u64, f64, foldhash::fast::RandomState>;

/// Term counts of an account's texts (each distinct text once).
pub fn term_counts<'a>(texts: impl Iterator<Item = &'a str>) -> TermCounts {
    let mut tf = TermCounts::default();
    for t in texts {
        let c = Cleaned::of(t);
        for n in NGRAMS {
            for g in c.grams(n) {
                *tf.entry(g).or_default() += 1.0;
            }
        }
    }
    tf
}

/// TF-IDF vectors (sublinear tf, smoothed idf) of a collection of term-count
/// maps; an empty map gives an empty vector.
pub fn tfidf(counts: &[TermCounts]) -> Vec<Sparse> {
    let mut df = TermCounts::default();
    for c in counts {
        for t in c.keys() {
            *df.entry(*t).or_default() += 1.0;
        }
    }
    let n = counts.len() as f64;
    counts
        .iter()
        .map(|c| {
            let mut v: Sparse = c
                .iter()
                .map(|(t, tf)| {
                    let idf = ((n + 1.0) / (df.get(t).copied().unwrap_or(0.0) + 1.0)).ln() + 1.0;
                    (*t, (1.0 + tf.ln()) * idf)
                })
                .collect();
            v.sort_by_key(|x| x.0);
            let norm = v.iter().map(|x| x.1 * x.1).sum::<f64>().sqrt();
            if norm > 0.0 {
                for x in &mut v {
                    x.1 /= norm;
                }
            }
            v
        })
        .collect()
}

/// Cosine of two L2-normalized sparse vectors (0 when either is empty).
pub fn cosine(a: &Sparse, b: &Sparse) -> f64 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot.clamp(0.0, 1.0)
}

/// MinHash signature (`BANDS * ROWS` values) of the texts' character
/// shingles; `None` when there are no shingles.
pub fn minhash<'a>(texts: impl Iterator<Item = &'a str>) -> Option<Vec<u64>> {
    let mut shingles: Vec<u64> = Vec::new();
    for t in texts {
        shingles.extend(Cleaned::of(t).grams(SHINGLE));
    }
    if shingles.is_empty() {
        return None;
    }
    shingles.sort_unstable();
    shingles.dedup();
    let sig = (0..BANDS * ROWS)
        .map(|k| {
            let seed = mix(k as u64 + 1);
            shingles.iter().map(|&s| mix(s ^ seed)).min().unwrap_or(u64::MAX)
        })
        .collect();
    Some(sig)
}

/// The LSH bucket key of each band of a signature.
pub fn band_keys(sig: &[u64]) -> Vec<u64> {
    sig.chunks(ROWS)
        .enumerate()
        .map(|(b, rows)| rows.iter().fold(mix(b as u64 ^ 0x5eed), |h, &r| mix(h ^ r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_same_and_disjoint_text() {
        let counts = vec![
            term_counts(["5g OG Kush - Premium"].into_iter()),
            term_counts(["5g OG Kush - Premium"].into_iter()),
            term_counts(["Tesla Pills x10"].into_iter()),
            term_counts(std::iter::empty()),
        ];
        let v = tfidf(&counts);
        assert!((cosine(&v[0], &v[1]) - 1.0).abs() < 1e-9);
        assert!(cosine(&v[0], &v[2]) < 0.2);
        assert_eq!(cosine(&v[0], &v[3]), 0.0);
    }

    /// What [`clean`] was first written as: a character at a time.
    fn clean_by_chars(text: &str) -> Vec<char> {
        let mut out = vec![' '];
        for w in text.split_whitespace() {
            out.extend(w.chars().flat_map(char::to_lowercase));
            out.push(' ');
        }
        out
    }

    #[test]
    fn gram_hashes_are_fnv1a_of_the_window_text() {
        let text = "Größe 5g  OG ΣΑΣ İstanbul";
        let c = clean_by_chars(text);
        assert_eq!(clean(text), c);
        for n in [3, 4, 5] {
            let expected: Vec<u64> =
                c.windows(n).map(|w| fnv1a(w.iter().collect::<String>().as_bytes()) ^ n as u64).collect();
            assert_eq!(Cleaned::of(text).grams(n).collect::<Vec<_>>(), expected);
        }
    }

    proptest::proptest! {
        /// The cleaned text and its n-gram hashes are those of cleaning a
        /// character at a time and hashing each window's text, whatever the
        /// text (ASCII words, others, and whitespace of every kind).
        #[test]
        fn cleaning_and_grams_are_those_of_a_character_at_a_time(
            pieces in proptest::collection::vec(
                proptest::prop_oneof!["[a-zA-Z0-9]{1,6}", "[ \\t\\n\\u{a0}\\u{2003}]{1,3}", "[ÄÖÜßΣİẞ\\u{130}\\u{1e9e}]{1,3}", "\\PC{0,4}"],
                0..10,
            )
        ) {
            let text = pieces.concat();
            let c = clean_by_chars(&text);
            proptest::prop_assert_eq!(&clean(&text), &c);
            for n in [1, 3, 4, 5] {
                let expected: Vec<u64> = c.windows(n).map(|w| fnv1a(w.iter().collect::<String>().as_bytes()) ^ n as u64).collect();
                proptest::prop_assert_eq!(Cleaned::of(&text).grams(n).collect::<Vec<_>>(), expected);
            }
        }
    }

    #[test]
    fn minhash_agrees_on_equal_text() {
        let a = minhash(["Ships from Germany in discreet packaging"].into_iter()).unwrap();
        let b = minhash(["ships  from germany in DISCREET packaging"].into_iter()).unwrap();
        assert_eq!(band_keys(&a), band_keys(&b));
        assert_eq!(minhash(["ab"].into_iter()), None);
    }
}
