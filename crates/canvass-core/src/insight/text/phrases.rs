//! Recurring phrases: 2-4 word n-grams that several respondents wrote, in their own words (messaging material).
//!
//! Counting is apriori-style: a 3-gram can only be frequent if both its 2-grams are, so only
//! those are counted, which keeps memory linear even for 100k answers. Support is the number of
//! distinct respondents, not answers, so one person repeating themselves does not make a phrase.

use super::tokenize::{Corpus, IdMap, Tok};

/// A phrase and how many distinct respondents used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub text: String,
    pub respondents: usize,
}

const MAX_LEN: usize = 4;
const ABSENT: u32 = u32::MAX;

/// Packs up to four surface ids into one key; unused slots hold `ABSENT`.
fn key(ids: &[u32]) -> u128 {
    let mut k: u128 = 0;
    for i in 0..MAX_LEN {
        let id = ids.get(i).copied().unwrap_or(ABSENT);
        k = (k << 32) | u128::from(id);
    }
    k
}

fn unpack(k: u128) -> Vec<u32> {
    (0..MAX_LEN)
        .map(|i| ((k >> (32 * (MAX_LEN - 1 - i))) & 0xFFFF_FFFF) as u32)
        .filter(|&id| id != ABSENT)
        .collect()
}

/// Windows of `len` tokens inside one clause, without Chinese/Japanese pairs.
fn windows<'a>(
    corpus: &'a Corpus,
    doc: &'a [Tok],
    len: usize,
) -> impl Iterator<Item = &'a [Tok]> + 'a {
    doc.windows(len)
        .filter(move |w| w[1..].iter().all(|t| !t.brk) && w.iter().all(|t| !corpus.is_cjk(t)))
}

/// Phrases used by at least `min_support` distinct respondents, longest-and-most-used first.
/// `respondents[i]` is the respondent of answer `i`.
pub(crate) fn recurring(
    corpus: &Corpus,
    respondents: &[u64],
    min_support: usize,
    max: usize,
) -> Vec<Phrase> {
    let n = corpus.docs.len().min(respondents.len());
    if n == 0 || max == 0 {
        return Vec::new();
    }
    let min_support = min_support.max(1) as u32;
    // Group answers by respondent so each person counts once per phrase.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (respondents[i], i));
    // key -> (respondents, whether some occurrence starts and ends on content words)
    let mut frequent: IdMap<u128, (u32, bool)> = IdMap::default();
    let mut prev: IdMap<u128, (u32, bool)> = IdMap::default();
    let mut keys: Vec<(u128, bool)> = Vec::new();
    let mut ids: Vec<u32> = Vec::with_capacity(MAX_LEN);
    for len in 2..=MAX_LEN {
        let mut counts: IdMap<u128, (u32, bool)> = IdMap::default();
        let mut start = 0;
        while start < n {
            let who = respondents[order[start]];
            let mut end = start;
            keys.clear();
            while end < n && respondents[order[end]] == who {
                let doc = &corpus.docs[order[end]];
                for w in windows(corpus, doc, len) {
                    ids.clear();
                    ids.extend(w.iter().map(|t| t.surface));
                    // Apriori: both (len-1)-grams must already be frequent.
                    if len == 2
                        || (prev.contains_key(&key(&ids[..len - 1]))
                            && prev.contains_key(&key(&ids[1..])))
                    {
                        let edges =
                            corpus.is_phrase_edge(&w[0]) && corpus.is_phrase_edge(&w[len - 1]);
                        keys.push((key(&ids), edges));
                    }
                }
                end += 1;
            }
            keys.sort_unstable();
            let mut last: Option<u128> = None;
            for &(k, edges) in &keys {
                let entry = counts.entry(k).or_insert((0, false));
                if last != Some(k) {
                    entry.0 += 1;
                }
                entry.1 |= edges;
                last = Some(k);
            }
            start = end;
        }
        counts.retain(|_, (c, _)| *c >= min_support);
        if counts.is_empty() {
            break;
        }
        frequent.extend(counts.iter().map(|(k, v)| (*k, *v)));
        prev = counts;
    }
    // Valid phrases start and end on content words; sort keys so the result is order-independent.
    let mut valid: Vec<(u128, u32)> = frequent
        .iter()
        .filter(|(_, (_, edges))| *edges)
        .map(|(k, (c, _))| (*k, *c))
        .collect();
    valid.sort_unstable();
    // Drop sub-phrases that never occur without the longer phrase around them.
    let valid_set: IdMap<u128, u32> = valid.iter().copied().collect();
    let mut dropped: Vec<u128> = Vec::new();
    for &(k, c) in &valid {
        let ids = unpack(k);
        for sub_len in 2..ids.len() {
            for s in 0..=ids.len() - sub_len {
                let sk = key(&ids[s..s + sub_len]);
                if valid_set.get(&sk) == Some(&c) {
                    dropped.push(sk);
                }
            }
        }
    }
    dropped.sort_unstable();
    dropped.dedup();
    let mut out: Vec<(usize, usize, String)> = valid
        .iter()
        .filter(|(k, _)| dropped.binary_search(k).is_err())
        .map(|&(k, c)| {
            let ids = unpack(k);
            let words: Vec<&str> = ids.iter().map(|&id| corpus.display_surface(id)).collect();
            (c as usize, ids.len(), words.join(" "))
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    out.truncate(max);
    out.into_iter()
        .map(|(respondents, _, text)| Phrase { text, respondents })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(texts: &[&str], who: &[u64], min: usize) -> Vec<Phrase> {
        let c = Corpus::build(texts.iter().copied());
        recurring(&c, who, min, 20)
    }

    #[test]
    fn finds_longest_shared_phrase_and_drops_covered_parts() {
        let texts = [
            "I want to export to CSV every week",
            "please let me export to CSV",
            "Export to CSV is missing",
        ];
        let p = run(&texts, &[1, 2, 3], 2);
        assert_eq!(
            p[0],
            Phrase {
                text: "export to CSV".into(),
                respondents: 3
            }
        );
        assert!(
            !p.iter()
                .any(|x| x.text == "to CSV" || x.text == "export to")
        );
    }

    #[test]
    fn counts_respondents_not_answers() {
        let texts = ["dark mode now", "dark mode now", "dark mode"];
        let p = run(&texts, &[7, 7, 8], 2);
        assert_eq!(
            p,
            vec![Phrase {
                text: "dark mode".into(),
                respondents: 2
            }]
        );
        let p = run(&texts, &[7, 7, 7], 2);
        assert!(p.is_empty());
    }

    #[test]
    fn edges_must_be_content_and_clauses_are_respected() {
        let texts = ["the sync is slow. mode", "the sync is slow. mode", "of the"];
        let p = run(&texts, &[1, 2, 3], 2);
        assert_eq!(
            p,
            vec![Phrase {
                text: "sync is slow".into(),
                respondents: 2
            }]
        );
    }

    #[test]
    fn key_roundtrip() {
        assert_eq!(unpack(key(&[1, 2, 3])), vec![1, 2, 3]);
        assert_eq!(unpack(key(&[0, 0])), vec![0, 0]);
    }
}
