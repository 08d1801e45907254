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
#[path = "themes_tests.rs"]
mod tests;
