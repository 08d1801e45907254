//! Open-text analysis entry point: groups answers into labelled themes with counts, quotes and sentiment, plus recurring phrases.
//!
//! Deterministic, offline, auditable (see README): answers become TF-IDF vectors over stemmed
//! unigrams and bigrams; seeds are picked greedily (the key term that covers the most still
//! uncovered answers, weighted by how alike those answers are); answers join the nearest seed
//! centroid by cosine, centroids are refined k-means style, near-duplicate themes merge, and
//! answers below a similarity floor stay "unclassified". Ties always break on input order.

use super::phrases::recurring;
use super::tokenize::{Corpus, LANGS, Language, NONE};
use super::vectors::{Features, SparseVec, dot, keyphrases, normalise};

pub use super::phrases::Phrase;
pub use super::sentiment::{Sentiment, SentimentLabel, aggregate_sentiment, sentiment};
pub use super::vectors::Keyphrase;

/// One free-text answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextAnswer<'a> {
    pub respondent: u64,
    pub text: &'a str,
}

/// Knobs for [`analyse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeOptions {
    pub max_themes: usize,
    /// Floor for a theme's size; the effective floor is at least 2 and at least 2% of answers.
    pub min_theme_size: usize,
    pub max_quotes: usize,
    /// In characters (not bytes), including the trailing "…" of a trimmed quote.
    pub quote_max_chars: usize,
}

impl Default for ThemeOptions {
    fn default() -> Self {
        ThemeOptions {
            max_themes: 8,
            min_theme_size: 2,
            max_quotes: 2,
            quote_max_chars: 200,
        }
    }
}

/// A group of answers about the same thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// 1-3 distinctive terms as people write them, e.g. "dark mode / theme".
    pub label: String,
    /// Up to five distinctive terms, most distinctive first.
    pub terms: Vec<String>,
    pub count: usize,
    /// `count / n`.
    pub share: f64,
    /// Original answers nearest the theme's centre and unlike each other, trimmed.
    pub quotes: Vec<String>,
    pub sentiment: Sentiment,
    /// Indices into the input slice, ascending.
    pub members: Vec<usize>,
}

/// Result of [`analyse`].
#[derive(Debug, Clone, PartialEq)]
pub struct TextAnalysis {
    /// Number of answers given (blank ones included).
    pub n: usize,
    /// Largest first.
    pub themes: Vec<Theme>,
    /// Answers in no theme: blank, no content words, or not similar enough to any theme.
    pub unclassified: usize,
    pub unclassified_share: f64,
    /// Respondents' own recurring wording, most used first.
    pub phrases: Vec<Phrase>,
    /// Corpus key terms and bigrams by TF-IDF weight.
    pub keyphrases: Vec<Keyphrase>,
    /// Over non-blank answers.
    pub overall_sentiment: Sentiment,
    /// Set when the answers are not mainly English or mix languages/scripts.
    pub language_note: Option<String>,
}

/// An answer joins a theme only if its cosine to the theme centre reaches this.
const ASSIGN_MIN_SIM: f32 = 0.15;
/// Themes whose centres are at least this similar are one theme.
const MERGE_MIN_SIM: f32 = 0.35;
/// Centroids keep their strongest terms only: cheaper, and it keeps themes readable.
const CENTROID_TERMS: usize = 100;
/// Candidate key terms considered as seeds, and answers sampled per candidate to judge cohesion.
const MAX_SEED_CANDIDATES: usize = 500;
const SEED_SAMPLE: usize = 400;
/// k-means refinement passes after seeding.
const REFINE_PASSES: usize = 2;
const QUOTE_POOL: usize = 30;
const MMR_LAMBDA: f32 = 0.6;
const MAX_TERMS: usize = 5;
const MAX_LABEL_TERMS: usize = 3;
/// A term makes the label only if it is at least this distinctive relative to the best one.
const LABEL_MIN_RELATIVE: f64 = 0.25;
/// A bigram stands in for its words in a label when it scores at least this share of them.
const BIGRAM_REPLACES: f64 = 0.6;
/// Quotes with fewer content words than this are slightly less preferred: they only repeat the label.
const QUOTE_FULL_WORDS: f32 = 5.0;
const MAX_PHRASES: usize = 20;
const MAX_KEYPHRASES: usize = 15;
/// A second language or script gets a note once it covers this share of answers.
const LANGUAGE_NOTE_SHARE: f64 = 0.15;

/// Analyses free-text answers. Never panics; same input gives the same output.
pub fn analyse(answers: &[TextAnswer], opts: &ThemeOptions) -> TextAnalysis {
    let n = answers.len();
    let corpus = Corpus::build(answers.iter().map(|a| a.text));
    let feats = Features::build(&corpus);
    let scores: Vec<Sentiment> = answers.iter().map(|a| sentiment(a.text)).collect();
    let min_size = effective_min_size(n, opts.min_theme_size);
    let clusters = cluster(&feats, min_size, opts.max_themes);

    let mut themes: Vec<Theme> = clusters
        .iter()
        .map(|c| build_theme(c, &corpus, &feats, answers, &scores, n, opts))
        .collect();
    themes.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.label.cmp(&b.label))
            .then(a.members.cmp(&b.members))
    });

    let classified: usize = themes.iter().map(|t| t.count).sum();
    let unclassified = n - classified.min(n);
    let respondents: Vec<u64> = answers.iter().map(|a| a.respondent).collect();
    let min_support = if n < 30 { 2 } else { 3 };
    let non_blank = answers
        .iter()
        .zip(&scores)
        .filter(|(a, _)| !a.text.trim().is_empty())
        .map(|(_, s)| s);
    TextAnalysis {
        n,
        themes,
        unclassified,
        unclassified_share: share(unclassified, n),
        phrases: recurring(&corpus, &respondents, min_support, MAX_PHRASES),
        keyphrases: keyphrases(&corpus, &feats, MAX_KEYPHRASES),
        overall_sentiment: aggregate_sentiment(non_blank),
        language_note: language_note(&corpus),
    }
}

fn share(count: usize, n: usize) -> f64 {
    if n == 0 { 0.0 } else { count as f64 / n as f64 }
}

fn effective_min_size(n: usize, requested: usize) -> usize {
    // A theme of one is an anecdote; tiny themes in big samples are noise a PM cannot act on.
    let two_percent = (n as f64 * 0.02).ceil() as usize;
    requested.max(2).max(two_percent)
}

#[derive(Debug)]
struct Cluster {
    /// (answer index, cosine to its theme centre), ascending by index.
    members: Vec<(usize, f32)>,
}

/// Dense scratch buffer for summing sparse vectors without hashing.
struct Accumulator {
    sums: Vec<f32>,
    touched: Vec<u32>,
}

impl Accumulator {
    fn new(len: usize) -> Self {
        Accumulator {
            sums: vec![0.0; len],
            touched: Vec::new(),
        }
    }

    fn add(&mut self, v: &[(u32, f32)]) {
        for &(f, w) in v {
            let slot = &mut self.sums[f as usize];
            if *slot == 0.0 {
                self.touched.push(f);
            }
            *slot += w;
        }
    }

    /// Returns the sum as a sparse vector sorted by feature and clears the buffer.
    fn take(&mut self) -> SparseVec {
        self.touched.sort_unstable();
        let out = self
            .touched
            .iter()
            .map(|&f| (f, std::mem::take(&mut self.sums[f as usize])))
            .collect();
        self.touched.clear();
        out
    }
}

fn centroid_of(
    acc: &mut Accumulator,
    feats: &Features,
    members: impl IntoIterator<Item = usize>,
) -> SparseVec {
    for d in members {
        acc.add(&feats.docs[d]);
    }
    let mut v = acc.take();
    if v.len() > CENTROID_TERMS {
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(CENTROID_TERMS);
        v.sort_unstable_by_key(|e| e.0);
    }
    normalise(&mut v);
    v
}

/// Greedy seeding: repeatedly take the key term whose not-yet-covered answers are most numerous
/// times most alike (mean pairwise cosine), so generic words ("easy", "time") lose to real topics.
fn seeds(feats: &Features, min_size: usize, k_max: usize) -> Vec<Vec<usize>> {
    let n = feats.docs.len();
    let mut cands: Vec<u32> = (0..feats.len() as u32)
        .filter(|&f| feats.df[f as usize] as usize >= min_size)
        .collect();
    cands.sort_by(|&a, &b| {
        feats.df[b as usize]
            .cmp(&feats.df[a as usize])
            .then(a.cmp(&b))
    });
    cands.truncate(MAX_SEED_CANDIDATES);
    if cands.is_empty() {
        return Vec::new();
    }
    let mut slot = vec![u32::MAX; feats.len()];
    for (i, &f) in cands.iter().enumerate() {
        slot[f as usize] = i as u32;
    }
    let mut postings: Vec<Vec<usize>> = vec![Vec::new(); cands.len()];
    for (d, v) in feats.docs.iter().enumerate() {
        for &(f, _) in v {
            let s = slot[f as usize];
            if s != u32::MAX {
                postings[s as usize].push(d);
            }
        }
    }
    let mut acc = Accumulator::new(feats.len());
    let cohesion: Vec<f32> = postings
        .iter()
        .map(|docs| {
            let m = docs.len().min(SEED_SAMPLE);
            if m < 2 {
                return 0.0;
            }
            // Evenly spaced sample: deterministic and spread over the whole input.
            for i in 0..m {
                acc.add(&feats.docs[docs[i * docs.len() / m]]);
            }
            let sum = acc.take();
            let sq: f32 = sum.iter().map(|(_, w)| w * w).sum();
            let m = m as f32;
            ((sq - m) / (m * (m - 1.0))).max(0.0)
        })
        .collect();
    let mut uncovered: Vec<usize> = postings.iter().map(Vec::len).collect();
    let mut covered = vec![false; n];
    let mut out = Vec::new();
    while out.len() < k_max {
        let mut best: Option<(usize, f32)> = None;
        for (c, &u) in uncovered.iter().enumerate() {
            if u < min_size {
                continue;
            }
            let score = u as f32 * cohesion[c];
            if score > 0.0 && best.is_none_or(|(_, s)| score > s) {
                best = Some((c, score));
            }
        }
        let Some((c, _)) = best else { break };
        let newly: Vec<usize> = postings[c]
            .iter()
            .copied()
            .filter(|&d| !covered[d])
            .collect();
        for &d in &newly {
            covered[d] = true;
            for &(f, _) in &feats.docs[d] {
                let s = slot[f as usize];
                if s != u32::MAX {
                    uncovered[s as usize] -= 1;
                }
            }
        }
        out.push(newly);
    }
    out
}

/// Cosine of every answer to every centroid through an inverted index over centroid terms.
fn assign(feats: &Features, centroids: &[SparseVec]) -> Vec<Option<(usize, f32)>> {
    let k = centroids.len();
    let mut slot = vec![u32::MAX; feats.len()];
    let mut rows: Vec<f32> = Vec::new();
    for (j, c) in centroids.iter().enumerate() {
        for &(f, w) in c {
            let s = &mut slot[f as usize];
            if *s == u32::MAX {
                *s = (rows.len() / k) as u32;
                rows.resize(rows.len() + k, 0.0);
            }
            rows[*s as usize * k + j] = w;
        }
    }
    let mut sims = vec![0.0f32; k];
    feats
        .docs
        .iter()
        .map(|v| {
            sims.iter_mut().for_each(|s| *s = 0.0);
            for &(f, w) in v {
                let s = slot[f as usize];
                if s != u32::MAX {
                    let row = &rows[s as usize * k..(s as usize + 1) * k];
                    for (acc, cw) in sims.iter_mut().zip(row) {
                        *acc += w * cw;
                    }
                }
            }
            let mut best: Option<(usize, f32)> = None;
            for (j, &s) in sims.iter().enumerate() {
                if s >= ASSIGN_MIN_SIM && best.is_none_or(|(_, b)| s > b) {
                    best = Some((j, s));
                }
            }
            best
        })
        .collect()
}

fn group(assignment: &[Option<(usize, f32)>], k: usize) -> Vec<Vec<(usize, f32)>> {
    let mut groups = vec![Vec::new(); k];
    for (d, a) in assignment.iter().enumerate() {
        if let Some((j, s)) = a {
            groups[*j].push((d, *s));
        }
    }
    groups
}

/// Single words used by most of a group's members: what the group is about.
fn core_terms(feats: &Features, members: &[(usize, f32)]) -> Vec<u32> {
    let mut ids: Vec<u32> = members
        .iter()
        .flat_map(|&(d, _)| feats.docs[d].iter().map(|e| e.0))
        .filter(|&f| feats.bigram(f).is_none())
        .collect();
    ids.sort_unstable();
    let mut core = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let j = ids[i..]
            .iter()
            .position(|&x| x != ids[i])
            .map_or(ids.len(), |p| i + p);
        if (j - i) * 2 > members.len() {
            core.push(ids[i]);
        }
        i = j;
    }
    core
}

/// Union of themes that are about the same thing: near-duplicate centres, or a word that at
/// most members of both use ("dark mode" and "dark theme" share "dark").
fn merge(
    acc: &mut Accumulator,
    feats: &Features,
    groups: Vec<Vec<(usize, f32)>>,
) -> Vec<Vec<(usize, f32)>> {
    let centroids: Vec<SparseVec> = groups
        .iter()
        .map(|g| centroid_of(acc, feats, g.iter().map(|m| m.0)))
        .collect();
    let k = groups.len();
    let core: Vec<Vec<u32>> = groups.iter().map(|g| core_terms(feats, g)).collect();
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for i in 0..k {
        for j in i + 1..k {
            let s = dot(&centroids[i], &centroids[j]);
            let shared_core = core[i].iter().any(|t| core[j].contains(t));
            if s >= MERGE_MIN_SIM || shared_core {
                pairs.push((s, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut parent: Vec<usize> = (0..k).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (_, i, j) in pairs {
        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut merged: Vec<Vec<(usize, f32)>> = vec![Vec::new(); k];
    for (i, g) in groups.into_iter().enumerate() {
        let r = root(&mut parent, i);
        merged[r].extend(g);
    }
    merged.retain(|g| !g.is_empty());
    for g in &mut merged {
        g.sort_unstable_by_key(|m| m.0);
    }
    merged
}

fn cluster(feats: &Features, min_size: usize, max_themes: usize) -> Vec<Cluster> {
    if max_themes == 0 || feats.docs.is_empty() {
        return Vec::new();
    }
    // Over-seed, then merge and prune: cheaper and steadier than guessing k.
    let k_max = max_themes.saturating_mul(2).clamp(1, 64);
    let initial = seeds(feats, min_size, k_max);
    if initial.is_empty() {
        return Vec::new();
    }
    let mut acc = Accumulator::new(feats.len());
    let mut centroids: Vec<SparseVec> = initial
        .iter()
        .map(|g| centroid_of(&mut acc, feats, g.iter().copied()))
        .collect();
    let mut groups = Vec::new();
    for _ in 0..=REFINE_PASSES {
        groups = group(&assign(feats, &centroids), centroids.len());
        groups.retain(|g| !g.is_empty());
        centroids = groups
            .iter()
            .map(|g| centroid_of(&mut acc, feats, g.iter().map(|m| m.0)))
            .collect();
    }
    groups = merge(&mut acc, feats, groups);
    centroids = groups
        .iter()
        .map(|g| centroid_of(&mut acc, feats, g.iter().map(|m| m.0)))
        .collect();
    // Keep the largest themes that reach the size floor; answers of dropped themes get one more
    // chance with the remaining ones. Bounded: each round removes at least one theme.
    for _ in 0..=k_max {
        groups = group(&assign(feats, &centroids), centroids.len());
        // Largest first; among equal sizes the tighter theme (higher mean cosine) wins.
        let tightness: Vec<f32> = groups
            .iter()
            .map(|g| g.iter().map(|m| m.1).sum::<f32>() / g.len().max(1) as f32)
            .collect();
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by(|&a, &b| {
            groups[b]
                .len()
                .cmp(&groups[a].len())
                .then(tightness[b].total_cmp(&tightness[a]))
                .then(
                    groups[a]
                        .first()
                        .map(|m| m.0)
                        .cmp(&groups[b].first().map(|m| m.0)),
                )
        });
        let keep: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&j| groups[j].len() >= min_size)
            .take(max_themes)
            .collect();
        if keep.len() == groups.len() {
            break;
        }
        centroids = keep
            .iter()
            .map(|&j| centroid_of(&mut acc, feats, groups[j].iter().map(|m| m.0)))
            .collect();
        if centroids.is_empty() {
            return Vec::new();
        }
    }
    groups
        .into_iter()
        .filter(|g| g.len() >= min_size)
        .map(|members| Cluster { members })
        .collect()
}

/// Terms that set a theme apart: share of members using it times the share of its uses that fall
/// inside the theme. A bigram replaces its own words ("dark mode", not "dark / mode / dark mode").
fn distinctive_terms(cluster: &Cluster, corpus: &Corpus, feats: &Features) -> (Vec<String>, usize) {
    let size = cluster.members.len() as f64;
    let mut counts: Vec<(u32, u32)> = Vec::new();
    {
        let mut ids: Vec<u32> = cluster
            .members
            .iter()
            .flat_map(|&(d, _)| feats.docs[d].iter().map(|e| e.0))
            .collect();
        ids.sort_unstable();
        for f in ids {
            match counts.last_mut() {
                Some((g, c)) if *g == f => *c += 1,
                _ => counts.push((f, 1)),
            }
        }
    }
    // Terms a single member uses say nothing about the theme, unless nothing else is shared.
    let wanted = 2.max((size * 0.1).ceil() as u32);
    let min_count = if counts.iter().any(|&(_, a)| a >= wanted) {
        wanted
    } else {
        1
    };
    let mut scored: Vec<(f64, u32, u32)> = counts
        .into_iter()
        .filter(|&(_, a)| a >= min_count)
        .map(|(f, a)| {
            let a64 = f64::from(a);
            let score = (a64 / size) * (a64 / f64::from(feats.df[f as usize].max(1)));
            (score, f, a)
        })
        .collect();
    scored.sort_by(|x, y| {
        y.0.total_cmp(&x.0)
            .then(
                feats
                    .bigram(y.1)
                    .is_some()
                    .cmp(&feats.bigram(x.1).is_some()),
            )
            .then(y.2.cmp(&x.2))
            .then(x.1.cmp(&y.1))
    });
    let top = scored.first().map_or(0.0, |s| s.0);
    let mut chosen: Vec<(u32, f64)> = Vec::new();
    for &(score, f, _) in &scored {
        if chosen.len() >= MAX_TERMS {
            break;
        }
        if feats.bigram(f).is_some() {
            // A second bigram on the same word would repeat it; its other word may still come.
            if chosen
                .iter()
                .any(|&(g, _)| feats.bigram(g).is_some() && feats.shares_term(f, g))
            {
                continue;
            }
            // The bigram replaces its words only if it carries most of their weight
            // ("dark mode" for "dark"), not when it is a side use ("lower the price" for "price").
            let words: Vec<usize> = (0..chosen.len())
                .filter(|&i| feats.shares_term(f, chosen[i].0))
                .collect();
            if words.iter().any(|&i| score < chosen[i].1 * BIGRAM_REPLACES) {
                continue;
            }
            if let Some(&first) = words.first() {
                chosen[first] = (f, chosen[first].1);
                let mut i = 0;
                chosen.retain(|_| {
                    i += 1;
                    !words[1..].contains(&(i - 1))
                });
                continue;
            }
        } else if chosen.iter().any(|&(g, _)| feats.shares_term(f, g)) {
            continue;
        }
        chosen.push((f, score));
    }
    let label_terms = chosen
        .iter()
        .take(MAX_LABEL_TERMS)
        .take_while(|&&(_, s)| s >= top * LABEL_MIN_RELATIVE)
        .count()
        .max(1);
    let ids: Vec<u32> = chosen.iter().map(|c| c.0).collect();
    let texts = feats.display(corpus, cluster.members.iter().map(|m| m.0), &ids);
    let mut terms: Vec<String> = Vec::new();
    for f in ids {
        if let Some(t) = texts.get(&f)
            && !terms.iter().any(|x| x.eq_ignore_ascii_case(t))
        {
            terms.push(t.clone());
        }
    }
    (terms, label_terms)
}

/// Collapses whitespace and trims to `max` characters on a grapheme boundary, ending with "…".
pub(crate) fn trim_quote(text: &str, max: usize) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    if max == 0 {
        return String::new();
    }
    let budget = max - 1;
    let mut out = String::new();
    let mut used = 0;
    for g in collapsed.graphemes(true) {
        let c = g.chars().count();
        if used + c > budget {
            break;
        }
        out.push_str(g);
        used += c;
    }
    // Prefer ending on a word boundary when one is near the end.
    if let Some(pos) = out.rfind(' ')
        && out[..pos].chars().count() * 10 >= budget * 7
    {
        out.truncate(pos);
    }
    let trimmed_len = out
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':'))
        .len();
    out.truncate(trimmed_len);
    out.push('…');
    out
}

/// Maximal-marginal-relevance pick: near the centre, unlike quotes already chosen.
fn pick_quotes(
    cluster: &Cluster,
    corpus: &Corpus,
    feats: &Features,
    answers: &[TextAnswer],
    opts: &ThemeOptions,
) -> Vec<String> {
    if opts.max_quotes == 0 {
        return Vec::new();
    }
    let mut pool: Vec<(usize, f32)> = cluster.members.clone();
    pool.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    pool.truncate(QUOTE_POOL);
    let mut chosen: Vec<usize> = Vec::new();
    let mut seen_texts: Vec<String> = Vec::new();
    let mut quotes = Vec::new();
    while quotes.len() < opts.max_quotes {
        let mut best: Option<(usize, f32)> = None;
        for (i, &(d, sim)) in pool.iter().enumerate() {
            let redundancy = chosen
                .iter()
                .map(|&c| dot(&feats.docs[d], &feats.docs[c]))
                .fold(0.0f32, f32::max);
            let words = corpus.docs[d].iter().filter(|t| t.term != NONE).count() as f32;
            let relevance = sim * (0.6 + 0.4 * (words / QUOTE_FULL_WORDS).min(1.0));
            let score = MMR_LAMBDA * relevance - (1.0 - MMR_LAMBDA) * redundancy;
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((i, score));
            }
        }
        let Some((i, _)) = best else { break };
        let (d, _) = pool.remove(i);
        let quote = trim_quote(answers[d].text, opts.quote_max_chars);
        let key = quote.to_lowercase();
        if quote.is_empty() || seen_texts.contains(&key) {
            continue;
        }
        chosen.push(d);
        seen_texts.push(key);
        quotes.push(quote);
    }
    quotes
}

fn build_theme(
    cluster: &Cluster,
    corpus: &Corpus,
    feats: &Features,
    answers: &[TextAnswer],
    scores: &[Sentiment],
    n: usize,
    opts: &ThemeOptions,
) -> Theme {
    let (terms, label_terms) = distinctive_terms(cluster, corpus, feats);
    let label = if terms.is_empty() {
        "(no distinctive terms)".to_string()
    } else {
        terms[..label_terms.min(terms.len())].join(" / ")
    };
    let members: Vec<usize> = cluster.members.iter().map(|m| m.0).collect();
    Theme {
        label,
        terms,
        count: members.len(),
        share: share(members.len(), n),
        quotes: pick_quotes(cluster, corpus, feats, answers, opts),
        sentiment: aggregate_sentiment(members.iter().map(|&d| &scores[d])),
        members,
    }
}

fn language_note(corpus: &Corpus) -> Option<String> {
    let total: usize = corpus.detected.iter().sum();
    if total == 0 {
        return None;
    }
    let pct = |c: usize| (100.0 * c as f64 / total as f64).round();
    let mut notes: Vec<String> = Vec::new();
    let dominant = corpus.dominant;
    if dominant != Language::English {
        let how = match dominant {
            Language::Cjk => {
                "split into character pairs (no spaces to split on), so themes are approximate"
                    .to_string()
            }
            Language::Other => "used as written, without stop-words or stemming".to_string(),
            lang => format!("stemmed with the {} Snowball stemmer", lang.name()),
        };
        notes.push(format!(
            "Answers look mostly {} ({}% of answers with a recognisable language); words were {how}.",
            dominant.name(),
            pct(corpus.detected[dominant.index()])
        ));
    }
    let others: Vec<String> = LANGS
        .iter()
        .filter(|&&l| l != dominant)
        .filter(|&&l| corpus.detected[l.index()] as f64 >= LANGUAGE_NOTE_SHARE * total as f64)
        .map(|&l| format!("{}% {}", pct(corpus.detected[l.index()]), l.name()))
        .collect();
    if !others.is_empty() {
        notes.push(format!(
            "Mixed languages: {} besides {}% {}. Each answer was processed in its own language, so the same idea in two languages can form separate themes.",
            others.join(", "),
            pct(corpus.detected[dominant.index()]),
            dominant.name()
        ));
    }
    (!notes.is_empty()).then(|| notes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers<'a>(texts: &[&'a str]) -> Vec<TextAnswer<'a>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| TextAnswer {
                respondent: i as u64 + 1,
                text: t,
            })
            .collect()
    }

    fn run(texts: &[&str]) -> TextAnalysis {
        analyse(&answers(texts), &ThemeOptions::default())
    }

    fn dump(a: &TextAnalysis) -> String {
        let mut s = format!("n={} unclassified={}\n", a.n, a.unclassified);
        for t in &a.themes {
            s += &format!(
                "  [{}] {} terms={:?} members={:?} quotes={:?} {:?}\n",
                t.count, t.label, t.terms, t.members, t.quotes, t.sentiment
            );
        }
        s += &format!(
            "  phrases={:?}\n  keyphrases={:?}\n  note={:?}\n",
            a.phrases,
            a.keyphrases.iter().map(|k| &k.text).collect::<Vec<_>>(),
            a.language_note
        );
        s
    }

    const PRODUCT: &[&str] = &[
        // dark mode: 0..8
        "Please add a dark mode, my eyes hurt at night",
        "Dark mode!!",
        "I'd love a dark theme for late work sessions",
        "Dark mode would be great",
        "The white background is blinding, we need dark mode",
        "Give us a dark mode option please",
        "dark mode for the desktop app",
        "A proper dark theme, the current one is too bright",
        // offline sync: 8..15
        "Offline sync doesn't work reliably",
        "I need offline mode that syncs when I'm back online",
        "Sync keeps failing when I go offline",
        "Make offline sync work on the train",
        "Notes don't sync after being offline",
        "offline support and faster sync",
        "Syncing between phone and laptop is slow and breaks offline",
        // pricing: 15..22
        "The price is too high for a small team",
        "Pricing is too expensive compared to competitors",
        "Lower the price please",
        "Too expensive for students, the price should be lower",
        "The subscription price went up again, not happy",
        "Price per seat is too high",
        "Pricing should be cheaper for nonprofits",
        // export: 22..28
        "Export to CSV please",
        "I want to export my data to CSV",
        "CSV export for reports",
        "Let me export tables as CSV or Excel",
        "Exporting to CSV is broken",
        "Need CSV export for our accountant",
        // everything else: 28..40
        "Love the app, keep it up!",
        "Nothing, it's perfect",
        "The onboarding was confusing",
        "More keyboard shortcuts",
        "Integrate with Google Calendar",
        "no idea",
        "🙂",
        "",
        "Customer support answered quickly, thanks",
        "Bigger font on mobile",
        "asdf",
        "Templates for meeting notes",
    ];

    #[test]
    fn realistic_product_feedback() {
        let a = run(PRODUCT);
        let d = dump(&a);
        eprintln!("{d}");
        assert_eq!(a.n, 40);
        let find = |word: &str| {
            a.themes
                .iter()
                .find(|t| t.label.to_lowercase().contains(word))
                .unwrap_or_else(|| panic!("no theme for {word}\n{d}"))
        };
        let dark = find("dark");
        assert_eq!(dark.members, (0..8).collect::<Vec<_>>(), "{d}");
        let sync = find("sync");
        assert_eq!(sync.members, (8..15).collect::<Vec<_>>(), "{d}");
        let price = find("pric");
        assert_eq!(price.members, (15..22).collect::<Vec<_>>(), "{d}");
        let export = find("csv");
        assert_eq!(export.members, (22..28).collect::<Vec<_>>(), "{d}");
        assert_eq!(a.themes.len(), 4, "{d}");
        assert_eq!(a.unclassified, 12, "{d}");
        assert!((a.unclassified_share - 0.3).abs() < 1e-9);
        assert!((dark.share - 0.2).abs() < 1e-9);
        assert_eq!(dark.label, "dark mode / theme", "{d}");
        assert!(export.label.contains("CSV"), "{d}");
        // Quotes are real answers, distinct, within limits.
        for t in &a.themes {
            assert!(!t.quotes.is_empty() && t.quotes.len() <= 2, "{d}");
            for q in &t.quotes {
                assert!(PRODUCT.contains(&q.as_str()), "{q}");
            }
        }
        assert!(
            a.phrases
                .iter()
                .any(|p| p.text == "dark mode" && p.respondents >= 6),
            "{d}"
        );
        assert_eq!(price.sentiment.label, SentimentLabel::Negative, "{d}");
        assert_eq!(a.language_note, None);
    }

    /// Deterministic pseudo-random numbers for synthetic data (no rand dependency).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    const FILLER: &[&str] = &[
        "morning",
        "team",
        "week",
        "project",
        "client",
        "meeting",
        "report",
        "laptop",
        "phone",
        "screen",
        "office",
        "weekend",
        "coffee",
        "train",
        "home",
        "manager",
        "colleague",
        "folder",
        "page",
        "button",
        "menu",
        "window",
        "tab",
        "list",
        "board",
        "card",
        "task",
        "chat",
        "message",
        "email",
        "account",
        "profile",
        "setting",
        "user",
        "cloud",
        "server",
        "update",
        "version",
        "tablet",
        "desktop",
        "browser",
        "widget",
        "link",
        "image",
        "photo",
        "video",
        "document",
        "school",
        "family",
        "travel",
        "budget",
        "invoice",
        "garden",
        "music",
        "recipe",
        "student",
        "teacher",
        "doctor",
        "kitchen",
        "holiday",
    ];

    const TEMPLATES: &[&[&str]] = &[
        &[
            "please add a dark mode",
            "dark mode at night",
            "I want a dark mode option",
            "Dark mode!",
        ],
        &[
            "offline sync fails",
            "sync when I am offline",
            "offline sync is unreliable",
            "make offline sync work",
        ],
        &[
            "the price is too high",
            "lower the price",
            "price too high for me",
            "the price went up",
        ],
        &[
            "export to CSV",
            "CSV export please",
            "I need to export data to CSV",
            "export CSV files",
        ],
        &[
            "calendar integration",
            "integrate with my calendar",
            "google calendar integration",
            "calendar integration please",
        ],
    ];

    fn synthetic(n: usize, seed: u64) -> (Vec<String>, Vec<Option<usize>>) {
        let mut rng = Lcg(seed);
        let mut texts = Vec::with_capacity(n);
        let mut truth = Vec::with_capacity(n);
        for _ in 0..n {
            let mut words: Vec<String> = Vec::new();
            let fillers = 6 + rng.next(7);
            let topic = if rng.next(10) == 0 {
                None
            } else {
                Some(rng.next(TEMPLATES.len()))
            };
            for _ in 0..fillers {
                words.push(FILLER[rng.next(FILLER.len())].to_string());
                if rng.next(3) == 0 {
                    words.push(["the", "and", "for", "with", "my", "on"][rng.next(6)].to_string());
                }
            }
            if let Some(t) = topic {
                let phrase = TEMPLATES[t][rng.next(TEMPLATES[t].len())];
                let at = rng.next(words.len() + 1);
                words.insert(at, format!("{phrase},"));
            }
            texts.push(words.join(" "));
            truth.push(topic);
        }
        (texts, truth)
    }

    #[test]
    fn ten_thousand_synthetic_answers() {
        let (texts, truth) = synthetic(10_000, 42);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let a = run(&refs);
        let d = a
            .themes
            .iter()
            .map(|t| format!("[{}] {}", t.count, t.label))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(a.themes.len(), TEMPLATES.len(), "{d}");
        let mut seen_topics = Vec::new();
        for t in &a.themes {
            // Majority topic of the theme; purity and recall both at least 98%.
            let mut votes = vec![0usize; TEMPLATES.len()];
            for &m in &t.members {
                if let Some(topic) = truth[m] {
                    votes[topic] += 1;
                }
            }
            let (topic, hits) = votes
                .iter()
                .copied()
                .enumerate()
                .max_by_key(|&(_, v)| v)
                .unwrap_or_default();
            let total = truth.iter().filter(|&&x| x == Some(topic)).count();
            assert!(
                hits as f64 >= 0.98 * t.count as f64,
                "impure theme {}: {hits}/{}\n{d}",
                t.label,
                t.count
            );
            assert!(
                hits as f64 >= 0.98 * total as f64,
                "theme {} misses answers: {hits}/{total}\n{d}",
                t.label
            );
            seen_topics.push(topic);
            assert_eq!(t.quotes.len(), 2);
        }
        seen_topics.sort_unstable();
        assert_eq!(seen_topics, (0..TEMPLATES.len()).collect::<Vec<_>>());
        let noise = truth.iter().filter(|t| t.is_none()).count();
        assert!(
            a.unclassified >= noise * 95 / 100 && a.unclassified <= noise * 105 / 100,
            "{} vs {noise}\n{d}",
            a.unclassified
        );
        let labels = a
            .themes
            .iter()
            .map(|t| t.label.to_lowercase())
            .collect::<Vec<_>>()
            .join(" | ");
        for key in ["dark mode", "sync", "price", "csv", "calendar"] {
            assert!(labels.contains(key), "{labels}");
        }
        assert!(
            a.phrases.iter().any(|p| p.text == "dark mode"),
            "{:?}",
            a.phrases
        );
    }

    #[test]
    fn same_input_same_output() {
        let (texts, _) = synthetic(2_000, 7);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        assert_eq!(run(&refs), run(&refs));
        assert_eq!(run(PRODUCT), run(PRODUCT));
    }

    #[test]
    fn zero_answers() {
        let a = run(&[]);
        assert_eq!(a.n, 0);
        assert!(a.themes.is_empty() && a.phrases.is_empty() && a.keyphrases.is_empty());
        assert_eq!(a.unclassified, 0);
        assert_eq!(a.unclassified_share, 0.0);
        assert_eq!(a.overall_sentiment, Sentiment::NEUTRAL);
        assert_eq!(a.language_note, None);
    }

    #[test]
    fn one_answer_is_unclassified() {
        let a = run(&["Dark mode please, it is great"]);
        assert!(a.themes.is_empty());
        assert_eq!((a.unclassified, a.unclassified_share), (1, 1.0));
        assert_eq!(a.overall_sentiment.label, SentimentLabel::Positive);
    }

    #[test]
    fn identical_answers_form_one_theme() {
        let texts = vec!["Dark mode please"; 50];
        let a = run(&texts);
        assert_eq!(a.themes.len(), 1);
        let t = &a.themes[0];
        assert_eq!((t.count, t.share, t.label.as_str()), (50, 1.0, "dark mode"));
        assert_eq!(t.quotes, vec!["Dark mode please".to_string()]);
        assert_eq!(a.unclassified, 0);
        assert_eq!(
            a.phrases,
            vec![Phrase {
                text: "dark mode".into(),
                respondents: 50
            }]
        );
    }

    #[test]
    fn only_emoji_or_stop_words_are_unclassified() {
        let a = run(&["😍🎉"; 10]);
        assert!(a.themes.is_empty());
        assert_eq!(a.unclassified, 10);
        assert_eq!(a.overall_sentiment.label, SentimentLabel::Positive);
        let a = run(&["the and of it is", "I would really like it", "no"]);
        assert!(a.themes.is_empty() && a.phrases.is_empty());
        assert_eq!(a.unclassified, 3);
    }

    #[test]
    fn blank_answers_count_in_n_but_not_in_sentiment() {
        let a = run(&["", "   ", "great", "\n"]);
        assert_eq!(a.n, 4);
        assert_eq!(a.unclassified, 4);
        assert_eq!(a.overall_sentiment.label, SentimentLabel::Positive);
    }

    #[test]
    fn very_long_text_is_handled_and_quotes_trimmed() {
        let long = format!(
            "dark mode {}",
            "blah ünïcödé 😀 words and more words ".repeat(20_000)
        );
        let mut texts = vec![long.as_str()];
        texts.extend(["dark mode please"; 5]);
        let opts = ThemeOptions {
            quote_max_chars: 40,
            max_quotes: 6,
            ..ThemeOptions::default()
        };
        let a = analyse(&answers(&texts), &opts);
        assert_eq!(a.themes.len(), 1);
        for q in &a.themes[0].quotes {
            assert!(q.chars().count() <= 40, "{q}");
        }
        assert!(
            a.themes[0].quotes.iter().any(|q| q.ends_with('…'))
                || !a.themes[0].members.contains(&0)
        );
    }

    #[test]
    fn german_answers() {
        let a = run(&[
            "Bitte einen dunklen Modus für die App",
            "Ein dunkler Modus wäre toll",
            "Ich will einen dunklen Modus",
            "Der Preis ist zu hoch",
            "Der Preis ist leider viel zu hoch für uns",
            "Zu teuer, der Preis muss runter",
            "Alles gut",
        ]);
        let d = dump(&a);
        assert_eq!(a.themes.len(), 2, "{d}");
        assert!(
            a.themes
                .iter()
                .any(|t| t.label.contains("Modus") && t.count == 3),
            "{d}"
        );
        assert!(
            a.themes
                .iter()
                .any(|t| t.label.contains("Preis") && t.count == 3),
            "{d}"
        );
        assert!(
            a.language_note
                .as_deref()
                .is_some_and(|n| n.contains("German")),
            "{d}"
        );
    }

    #[test]
    fn spanish_and_portuguese_answers() {
        let a = run(&[
            "Quiero un modo oscuro en la aplicación",
            "Por favor, modo oscuro",
            "El modo oscuro sería genial",
            "El precio es muy caro",
            "Precio demasiado alto para nosotros",
            "Gostaria de um modo escuro no aplicativo",
        ]);
        let d = dump(&a);
        // The Portuguese "modo escuro" shares "modo" and joins: same idea, acceptable.
        assert!(
            a.themes
                .iter()
                .any(|t| t.label.contains("modo oscuro") && t.members == [0, 1, 2, 5]),
            "{d}"
        );
        assert!(
            a.themes
                .iter()
                .any(|t| t.label == "precio" && t.members == [3, 4]),
            "{d}"
        );
        assert!(
            a.language_note
                .as_deref()
                .is_some_and(|n| n.contains("Spanish")),
            "{d}"
        );
    }

    #[test]
    fn japanese_without_spaces() {
        let a = run(&[
            "ダークモードが欲しいです",
            "ダークモードを追加してください",
            "夜はダークモードがいい",
            "価格が高すぎます",
            "価格をもっと安くしてほしい",
            "同期が遅い",
        ]);
        let d = dump(&a);
        assert!(
            a.themes
                .iter()
                .any(|t| t.label.contains("ダークモード") && t.count == 3),
            "{d}"
        );
        assert!(
            a.themes
                .iter()
                .any(|t| t.label.contains("価格") && t.count == 2),
            "{d}"
        );
        assert!(
            a.language_note
                .as_deref()
                .is_some_and(|n| n.contains("Chinese/Japanese")),
            "{d}"
        );
        assert!(a.phrases.is_empty());
    }

    #[test]
    fn arabic_right_to_left() {
        let a = run(&[
            "أريد الوضع الداكن في التطبيق",
            "الوضع الداكن من فضلك",
            "الوضع الداكن ضروري",
            "السعر مرتفع جدا",
        ]);
        let d = dump(&a);
        assert_eq!(a.themes.len(), 1, "{d}");
        assert_eq!(a.themes[0].members, vec![0, 1, 2], "{d}");
        assert!(
            a.language_note
                .as_deref()
                .is_some_and(|n| n.contains("Arabic")),
            "{d}"
        );
    }

    #[test]
    fn zero_width_and_combining_characters_do_not_split_themes() {
        let a = run(&[
            "caf\u{e9} dark\u{200B} mode",
            "cafe\u{301} dark mode",
            "\u{FEFF}dark m\u{200D}ode caf\u{e9}",
            "\u{202E}dark mode\u{202C}",
            "\u{301}\u{200B}\u{200D}",
        ]);
        let d = dump(&a);
        assert_eq!(a.themes.len(), 1, "{d}");
        assert_eq!(a.themes[0].members, vec![0, 1, 2, 3], "{d}");
        assert!(a.themes[0].terms.iter().any(|t| t == "café"), "{d}");
    }

    #[test]
    fn option_edges() {
        let zero = ThemeOptions {
            max_themes: 0,
            ..ThemeOptions::default()
        };
        let a = analyse(&answers(PRODUCT), &zero);
        assert!(a.themes.is_empty());
        assert_eq!(a.unclassified, 40);
        let one = ThemeOptions {
            max_themes: 1,
            max_quotes: 0,
            ..ThemeOptions::default()
        };
        let a = analyse(&answers(PRODUCT), &one);
        assert_eq!(a.themes.len(), 1);
        assert!(a.themes[0].quotes.is_empty());
        let big = ThemeOptions {
            min_theme_size: 100,
            ..ThemeOptions::default()
        };
        assert!(analyse(&answers(PRODUCT), &big).themes.is_empty());
    }

    #[test]
    fn quotes_trim_on_grapheme_boundaries() {
        assert_eq!(trim_quote("  short \n text ", 200), "short text");
        assert_eq!(trim_quote("abc", 0), "");
        assert_eq!(trim_quote("abcdef", 1), "…");
        let t = trim_quote("ééééé ééééé", 4);
        assert_eq!(t, "ééé…");
        let t = trim_quote("one two three four five six seven", 20);
        assert!(t.chars().count() <= 20 && t.ends_with('…'), "{t}");
        assert_eq!(t, "one two three four…");
        // A family emoji (ZWJ sequence) is never cut in half.
        let fam = "👨\u{200D}👩\u{200D}👧 abc";
        let t = trim_quote(fam, 4);
        assert_eq!(t, "…");
    }

    #[test]
    fn random_unicode_never_panics() {
        // Code points from scripts, marks, invisibles, emoji and punctuation, mixed at random.
        const RANGES: &[(u32, u32)] = &[
            (0x20, 0x7E),
            (0xC0, 0x24F),
            (0x300, 0x36F),
            (0x600, 0x6FF),
            (0x64B, 0x65F),
            (0x900, 0x97F),
            (0xE00, 0xE7F),
            (0x200B, 0x200F),
            (0x202A, 0x202E),
            (0x3040, 0x30FF),
            (0x4E00, 0x4E80),
            (0xAC00, 0xAC80),
            (0xFE00, 0xFE0F),
            (0x1F300, 0x1F64F),
            (0x1F3FB, 0x1F3FF),
            (0xFEFF, 0xFEFF),
            (0x0, 0x1F),
        ];
        let mut rng = Lcg(3);
        let texts: Vec<String> = (0..400)
            .map(|_| {
                let len = rng.next(60);
                (0..len)
                    .filter_map(|_| {
                        let (lo, hi) = RANGES[rng.next(RANGES.len())];
                        char::from_u32(lo + rng.next((hi - lo + 1) as usize) as u32)
                    })
                    .collect()
            })
            .collect();
        let mut refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        // Repeat some so themes and phrases have something to find.
        refs.extend(texts.iter().take(50).map(String::as_str));
        let long_word = "a".repeat(100_000);
        refs.push(&long_word);
        let a = run(&refs);
        assert_eq!(a.n, refs.len());
        let total: usize = a.themes.iter().map(|t| t.count).sum::<usize>() + a.unclassified;
        assert_eq!(total, a.n);
        for t in &a.themes {
            assert!(t.share.is_finite() && t.sentiment.compound.is_finite());
            assert!(t.quotes.iter().all(|q| q.chars().count() <= 200));
        }
        for text in &refs {
            let s = sentiment(text);
            assert!((-1.0..=1.0).contains(&s.compound));
        }
    }
}
