//! TF-IDF vectors over stemmed unigrams and bigrams, plus corpus keyphrases, for open-text answers.
//!
//! Feature ids: a unigram's id is its term id; bigram ids follow after all terms, in first-seen
//! order. Every answer becomes an L2-normalised sparse vector sorted by feature id, so cosine is a
//! merge of two sorted lists and results never depend on hash-map order.

use std::collections::BTreeMap;

use super::tokenize::{Corpus, IdMap, NONE, content_pairs};

/// Sparse vector: (feature id, weight), sorted by feature id.
pub(crate) type SparseVec = Vec<(u32, f32)>;

#[derive(Debug, Default)]
pub(crate) struct Features {
    n_terms: u32,
    /// Term pairs of bigram features, indexed by `feature - n_terms`.
    bigrams: Vec<(u32, u32)>,
    /// Number of answers containing each feature.
    pub df: Vec<u32>,
    /// One normalised TF-IDF vector per answer (empty when it has no content words).
    pub docs: Vec<SparseVec>,
}

/// A corpus-level key term or key bigram with its summed TF-IDF weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyphrase {
    pub text: String,
    pub score: f64,
    /// Number of answers containing it.
    pub answers: usize,
}

impl Features {
    pub(crate) fn build(corpus: &Corpus) -> Features {
        let n_terms = corpus.terms.len() as u32;
        let mut bigram_ids: IdMap<(u32, u32), u32> = IdMap::default();
        let mut bigrams = Vec::new();
        let mut df: Vec<u32> = vec![0; n_terms as usize];
        let mut counts: Vec<Vec<(u32, u32)>> = Vec::with_capacity(corpus.docs.len());
        let mut ids: Vec<u32> = Vec::new();
        for doc in &corpus.docs {
            ids.clear();
            ids.extend(doc.iter().filter(|t| t.term != NONE).map(|t| t.term));
            for (i, j) in content_pairs(corpus, doc) {
                let key = pair_key(doc[i].term, doc[j].term);
                let id = *bigram_ids.entry(key).or_insert_with(|| {
                    bigrams.push(key);
                    df.push(0);
                    n_terms + bigrams.len() as u32 - 1
                });
                ids.push(id);
            }
            ids.sort_unstable();
            let mut tf: Vec<(u32, u32)> = Vec::new();
            for &id in &ids {
                match tf.last_mut() {
                    Some((last, c)) if *last == id => *c += 1,
                    _ => tf.push((id, 1)),
                }
            }
            for &(id, _) in &tf {
                df[id as usize] += 1;
            }
            counts.push(tf);
        }
        let n = corpus.docs.len() as f32;
        // Smoothed idf (as in scikit-learn): never zero, so a word every answer uses still counts a little.
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let docs = counts
            .into_iter()
            .map(|tf| {
                let mut v: SparseVec = tf
                    .into_iter()
                    .map(|(id, c)| (id, (1.0 + (c as f32).ln()) * idf[id as usize]))
                    .collect();
                normalise(&mut v);
                v
            })
            .collect();
        Features {
            n_terms,
            bigrams,
            df,
            docs,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.df.len()
    }

    /// The term pair of a bigram feature, or `None` for a unigram.
    pub(crate) fn bigram(&self, f: u32) -> Option<(u32, u32)> {
        f.checked_sub(self.n_terms)
            .and_then(|i| self.bigrams.get(i as usize).copied())
    }

    /// True when feature `f` is the unigram `t` or a bigram containing it.
    pub(crate) fn shares_term(&self, f: u32, g: u32) -> bool {
        let parts = |x: u32| match self.bigram(x) {
            Some((a, b)) => [a, b],
            None => [x, x],
        };
        let (pf, pg) = (parts(f), parts(g));
        pf.iter().any(|a| pg.contains(a))
    }

    /// Surface forms of features as people wrote them, counted over `docs`: a bigram shows its
    /// most common span ("export to CSV"), a unigram its most common word.
    pub(crate) fn display(
        &self,
        corpus: &Corpus,
        docs: impl IntoIterator<Item = usize>,
        wanted: &[u32],
    ) -> BTreeMap<u32, String> {
        let mut out: BTreeMap<u32, String> = BTreeMap::new();
        let mut spans: BTreeMap<(u32, u32), BTreeMap<String, u32>> = BTreeMap::new();
        for &f in wanted {
            match self.bigram(f) {
                Some(pair) => {
                    spans.entry(pair).or_default();
                }
                None => {
                    out.insert(f, corpus.display_term(f).to_string());
                }
            }
        }
        if !spans.is_empty() {
            for d in docs {
                let Some(doc) = corpus.docs.get(d) else {
                    continue;
                };
                for (i, j) in content_pairs(corpus, doc) {
                    if let Some(counter) = spans.get_mut(&pair_key(doc[i].term, doc[j].term)) {
                        let text: Vec<&str> = doc[i..=j]
                            .iter()
                            .map(|t| corpus.display_surface(t.surface))
                            .collect();
                        *counter.entry(text.join(" ")).or_insert(0) += 1;
                    }
                }
            }
        }
        for &f in wanted {
            if let Some(pair) = self.bigram(f) {
                let best = spans
                    .get(&pair)
                    .and_then(|c| c.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))))
                    .map(|(text, _)| text.clone());
                // Fallback only if the docs given never contain the pair.
                let text = best.unwrap_or_else(|| {
                    format!(
                        "{} {}",
                        corpus.display_term(pair.0),
                        corpus.display_term(pair.1)
                    )
                });
                out.insert(f, text);
            }
        }
        out
    }
}

/// Bigrams ignore word order: "CSV export" and "export to CSV" are one feature.
fn pair_key(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

pub(crate) fn normalise(v: &mut [(u32, f32)]) {
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        for (_, w) in v.iter_mut() {
            *w /= norm;
        }
    }
}

/// Dot product of two sparse vectors sorted by feature id.
pub(crate) fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// Top key terms and bigrams of the whole corpus by summed TF-IDF weight (answers use a feature
/// often and it is not everywhere). A unigram is dropped when a listed bigram covers most of it.
pub(crate) fn keyphrases(corpus: &Corpus, feats: &Features, max: usize) -> Vec<Keyphrase> {
    if max == 0 {
        return Vec::new();
    }
    let mut score = vec![0.0f64; feats.len()];
    for doc in &feats.docs {
        for &(f, w) in doc {
            score[f as usize] += f64::from(w);
        }
    }
    let mut order: Vec<u32> = (0..feats.len() as u32)
        .filter(|&f| feats.df[f as usize] >= 2)
        .collect();
    order.sort_by(|&a, &b| {
        score[b as usize]
            .total_cmp(&score[a as usize])
            .then(a.cmp(&b))
    });
    order.truncate(max * 3);
    let kept: Vec<u32> = order
        .iter()
        .copied()
        .filter(|&f| {
            feats.bigram(f).is_some()
                || !order.iter().any(|&g| {
                    feats.bigram(g).is_some_and(|(a, b)| a == f || b == f)
                        && feats.df[g as usize] * 2 >= feats.df[f as usize]
                })
        })
        .take(max)
        .collect();
    let texts = feats.display(corpus, 0..corpus.docs.len(), &kept);
    kept.iter()
        .map(|&f| Keyphrase {
            text: texts.get(&f).cloned().unwrap_or_default(),
            score: score[f as usize],
            answers: feats.df[f as usize] as usize,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_normalised_and_sorted() {
        let c = Corpus::build(["dark mode please", "dark mode at night", "", "the and of"]);
        let f = Features::build(&c);
        for v in &f.docs[..2] {
            let norm: f32 = v.iter().map(|(_, w)| w * w).sum();
            assert!((norm - 1.0).abs() < 1e-5);
            assert!(v.windows(2).all(|p| p[0].0 < p[1].0));
        }
        assert!(f.docs[2].is_empty() && f.docs[3].is_empty());
        assert!(dot(&f.docs[0], &f.docs[1]) > 0.5);
    }

    #[test]
    fn bigram_display_keeps_inner_stop_words() {
        let c = Corpus::build(["Export to CSV please", "export to CSV", "export to csv now"]);
        let f = Features::build(&c);
        let k = keyphrases(&c, &f, 5);
        assert_eq!(k[0].text, "export to CSV");
        assert_eq!(k[0].answers, 3);
        assert!(!k.iter().any(|p| p.text == "export"), "{k:?}");
    }
}
