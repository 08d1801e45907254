//! Builds the report model from answers: per-question statistics, segments with one
//! Benjamini-Hochberg correction, quality checks, change since a previous run, and the
//! headline, confidence badge and recommendation from written rules.

use super::report::*;
use super::text::themes::{self, TextAnswer, ThemeOptions};
use super::{bradley_terry, stats, voting};
use crate::core::answer::AnswerValue;
use crate::core::survey::{Question, QuestionKind, Status, Survey};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// False discovery rate for segment findings.
pub const FDR_Q: f64 = 0.10;
/// Segment claims need this many respondents in the segment (and outside it).
pub const CLAIM_MIN: usize = 30;

/// One respondent's current answers and context.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub respondent: i64,
    /// By question id. Ids and segment names are shared `Arc<str>`s: a million answers
    /// repeat the same few strings, and one allocation each would be most of the memory.
    pub answers: BTreeMap<Arc<str>, AnswerValue>,
    pub segments: BTreeSet<Arc<str>>,
    pub new_member: bool,
    pub first_at: DateTime<Utc>,
    /// Total seconds between questions being shown and answered, where known.
    pub seconds: Option<f64>,
    /// The locale the respondent answered in; open text is grouped by it. `None`: default.
    pub locale: Option<String>,
}

/// Hands out one shared copy of each string (question ids, segment names) while responses
/// are built.
#[derive(Debug, Default)]
pub struct Interner(std::collections::HashSet<Arc<str>>);

impl Interner {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }
}

/// A previous report to compare against (an earlier run of a recurring survey, or the last digest).
#[derive(Debug, Clone)]
pub struct Previous<'a> {
    pub label: String,
    pub report: &'a Report,
}

pub struct Input<'a> {
    pub survey: &'a Survey,
    pub status: Status,
    pub responses: &'a [Response],
    /// Segments smaller than this are never shown.
    pub min_segment: usize,
    /// Restrict the report to one segment.
    pub segment: Option<&'a str>,
    pub previous: Option<Previous<'a>>,
    /// Members the survey reached, where the platform tells.
    pub members_reached: Option<usize>,
}

fn ci(i: Option<stats::Interval>) -> [f64; 2] {
    i.map(|i| [i.low, i.high]).unwrap_or([0.0, 1.0])
}

fn share(x: u64, n: usize) -> f64 {
    if n == 0 { 0.0 } else { x as f64 / n as f64 }
}

fn pct(x: f64) -> f64 {
    crate::locale::round_places(x * 100.0, 1)
}

/// Counts per option among respondents who answered a choice question.
fn choice_counts(q: &Question, rs: &[&Response]) -> (Vec<u64>, usize) {
    let opts = q.kind.options();
    let mut counts = vec![0u64; opts.len()];
    let mut n = 0;
    for r in rs {
        match r.answers.get(q.id.as_str()) {
            Some(AnswerValue::Choice(id)) => {
                if let Some(i) = q.option_index(id) {
                    counts[i] += 1;
                    n += 1;
                }
            }
            Some(AnswerValue::Choices(ids)) => {
                let mut any = false;
                for id in ids {
                    if let Some(i) = q.option_index(id) {
                        counts[i] += 1;
                        any = true;
                    }
                }
                n += usize::from(any);
            }
            _ => {}
        }
    }
    (counts, n)
}

fn option_stats(q: &Question, counts: &[u64], n: usize, multi: bool) -> Vec<OptionStat> {
    let best = if multi {
        stats::prob_best_independent(counts, n as u64).unwrap_or_default()
    } else {
        stats::prob_best(counts)
    };
    q.kind
        .options()
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, (o, c))| OptionStat {
            id: o.id.to_string(),
            label: o.label.clone(),
            count: *c,
            share: share(*c, n),
            ci95: ci(stats::wilson(*c, n as u64)),
            prob_best: best.get(i).copied().unwrap_or(0.0),
        })
        .collect()
}

fn leader(q: &Question, counts: &[u64], n: usize, multi: bool) -> Option<Leader> {
    let opts = q.kind.options();
    if n == 0 {
        return None;
    }
    if multi {
        // Options are not exclusive: call the leader clear only when intervals do not overlap.
        let mut idx: Vec<usize> = (0..counts.len()).collect();
        idx.sort_by_key(|i| std::cmp::Reverse(counts[*i]));
        let (a, b) = (idx.first().copied()?, idx.get(1).copied()?);
        if counts[a] == counts[b] {
            return None;
        }
        let (ia, ib) = (
            stats::wilson(counts[a], n as u64)?,
            stats::wilson(counts[b], n as u64)?,
        );
        let z = stats::two_proportion_z(counts[a], n as u64, counts[b], n as u64);
        return Some(Leader {
            id: opts[a].id.to_string(),
            label: opts[a].label.clone(),
            runner_up: Some(opts[b].label.clone()),
            margin: share(counts[a] - counts[b], n),
            margin_ci95: [ia.low - ib.high, ia.high - ib.low],
            p_value: z.map(|z| z.p_value).unwrap_or(1.0),
            clearly_ahead: ia.low > ib.high,
        });
    }
    let t = stats::leader_test(counts, n as u64)?;
    let l = t.leader?;
    Some(Leader {
        id: opts.get(l)?.id.to_string(),
        label: opts.get(l)?.label.clone(),
        runner_up: opts.get(t.runner_up).map(|o| o.label.clone()),
        margin: t.diff,
        margin_ci95: [t.low, t.high],
        p_value: t.p_value,
        clearly_ahead: t.clearly_ahead,
    })
}

/// A pending segment test: which question, which segment, raw p, and what it found.
struct Pending {
    question: usize,
    finding: SegmentFinding,
}

/// Tests one segment against its complement on a table of categories.
fn segment_test(
    name: &str,
    seg: &[u64],
    rest: &[u64],
    labels: &[String],
    n_seg: usize,
    n_rest: usize,
) -> Option<SegmentFinding> {
    let table = vec![seg.to_vec(), rest.to_vec()];
    let chi = stats::chi_square_independence(&table)?;
    // Every option gets a two-proportion test; all of them join the report's BH family.
    let options: Vec<Gap> = (0..labels.len())
        .map(|i| {
            let p = stats::two_proportion_z(seg[i], n_seg as u64, rest[i], n_rest as u64)
                .map(|z| z.p_value)
                .unwrap_or(1.0);
            Gap {
                option: labels[i].clone(),
                segment_share: share(seg[i], n_seg),
                others_share: share(rest[i], n_rest),
                p_value: p,
                p_adjusted: p,
            }
        })
        .collect();
    Some(SegmentFinding {
        segment: name.to_string(),
        n: n_seg,
        test: match chi.method {
            stats::ChiSquareMethod::FisherExact => "fisher_exact",
            stats::ChiSquareMethod::PearsonMerged => "chi_square_merged",
            _ => "chi_square",
        },
        p_value: chi.p_value,
        p_adjusted: chi.p_value,
        differs: false,
        cramers_v: Some(chi.cramers_v),
        largest_gap: None,
        options,
    })
}

/// Category counts used for segment tests, or None when a question is not tested.
fn categories(q: &Question, r: &Response) -> Option<Vec<usize>> {
    let v = r.answers.get(q.id.as_str())?;
    match (&q.kind, v) {
        (
            QuestionKind::Single { .. } | QuestionKind::MessageTest { .. },
            AnswerValue::Choice(id),
        ) => q.option_index(id).map(|i| vec![i]),
        (QuestionKind::Multi { .. }, AnswerValue::Choices(ids)) => {
            Some(ids.iter().filter_map(|id| q.option_index(id)).collect())
        }
        (QuestionKind::Ranking { .. }, AnswerValue::Ranking(ids)) => ids
            .first()
            .and_then(|id| q.option_index(id))
            .map(|i| vec![i]),
        (QuestionKind::Nps { .. }, AnswerValue::Scale(s)) => Some(vec![match s {
            0..=6 => 0,
            7..=8 => 1,
            _ => 2,
        }]),
        (QuestionKind::Rating { scale, .. }, AnswerValue::Scale(s)) => {
            // Low / middle / top-2 box, so sparse scale points do not break the test.
            let top = scale.saturating_sub(1);
            Some(vec![if *s >= top {
                2
            } else if *s <= 2 {
                0
            } else {
                1
            }])
        }
        _ => None,
    }
}

fn category_labels(q: &Question) -> Vec<String> {
    match &q.kind {
        QuestionKind::Nps { .. } => {
            vec!["detractors".into(), "passives".into(), "promoters".into()]
        }
        QuestionKind::Rating { .. } => vec!["low (1-2)".into(), "middle".into(), "top 2".into()],
        k => k.options().iter().map(|o| o.label.clone()).collect(),
    }
}

/// Tests each segment against its complement on one question. A segment large enough as a
/// whole may have few members (or few outsiders) who answered this question: such a cell is
/// neither tested nor shown, so `min` holds per question, not only per segment.
fn question_segments(
    qi: usize,
    q: &Question,
    rs: &[&Response],
    segs: &[(String, usize)],
    min: usize,
    out: &mut Vec<Pending>,
) {
    let labels = category_labels(q);
    if labels.len() < 2 {
        return;
    }
    // Which respondents answered, and who of them is in each big enough segment.
    let answered: Vec<&Response> = rs
        .iter()
        .copied()
        .filter(|r| categories(q, r).is_some())
        .collect();
    let mut shown: Vec<(&str, BTreeSet<i64>)> = segs
        .iter()
        .map(|(name, _)| {
            let members = answered
                .iter()
                .filter(|r| r.segments.contains(name.as_str()))
                .map(|r| r.respondent)
                .collect::<BTreeSet<i64>>();
            (name.as_str(), members)
        })
        .filter(|(_, m)| m.len() >= min.max(1) && answered.len() - m.len() >= min.max(1))
        .collect();
    prune_differencing(&mut shown, answered.len(), min);
    for (name, _) in &shown {
        let mut seg = vec![0u64; labels.len()];
        let mut rest = vec![0u64; labels.len()];
        let (mut n_seg, mut n_rest) = (0, 0);
        for r in rs {
            let Some(cats) = categories(q, r) else {
                continue;
            };
            let (t, n) = if r.segments.contains(*name) {
                (&mut seg, &mut n_seg)
            } else {
                (&mut rest, &mut n_rest)
            };
            *n += 1;
            for c in cats {
                if let Some(x) = t.get_mut(c) {
                    *x += 1;
                }
            }
        }
        if let Some(f) = segment_test(name, &seg, &rest, &labels, n_seg, n_rest) {
            out.push(Pending {
                question: qi,
                finding: f,
            });
        }
    }
}

/// Drops shown segment cells until no small group can be computed from them: two shown
/// segments whose answerers differ by fewer than `min` people (one minus the other reads
/// those few), and the answerers outside every shown segment when they are fewer than `min`
/// (the total minus the shown segments reads them). The smaller segment goes first.
fn prune_differencing(shown: &mut Vec<(&str, BTreeSet<i64>)>, answered: usize, min: usize) {
    loop {
        let mut drop: Option<usize> = None;
        'pairs: for i in 0..shown.len() {
            for j in (i + 1)..shown.len() {
                let diff = shown[i].1.symmetric_difference(&shown[j].1).count();
                if diff > 0 && diff < min {
                    drop = Some(if shown[i].1.len() <= shown[j].1.len() {
                        i
                    } else {
                        j
                    });
                    break 'pairs;
                }
            }
        }
        if drop.is_none() && !shown.is_empty() {
            let union: BTreeSet<i64> = shown.iter().flat_map(|(_, m)| m.iter().copied()).collect();
            let outside = answered - union.len();
            if outside > 0 && outside < min {
                drop = shown
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, (_, m))| m.len())
                    .map(|(i, _)| i);
            }
        }
        match drop {
            Some(i) => {
                shown.remove(i);
            }
            None => return,
        }
    }
}

fn analyse_question(q: &Question, rs: &[&Response]) -> QuestionReport {
    let mut rep = empty_question(q);
    match &q.kind {
        QuestionKind::Single { .. }
        | QuestionKind::Multi { .. }
        | QuestionKind::MessageTest { .. } => {
            let multi = matches!(q.kind, QuestionKind::Multi { .. });
            let (counts, n) = choice_counts(q, rs);
            rep.n = n;
            rep.options = Some(option_stats(q, &counts, n, multi));
            rep.leader = leader(q, &counts, n, multi);
            if let QuestionKind::MessageTest {
                min_per_variant, ..
            } = &q.kind
            {
                let two = counts.len() == 2;
                rep.message_test = Some(MessageTestStat {
                    min_per_variant: *min_per_variant,
                    keep_collecting: n < *min_per_variant,
                    prob_a_better: two.then(|| stats::prob_a_preferred(counts[0], counts[1])),
                    p_value: rep.leader.as_ref().map(|l| l.p_value),
                });
            }
            rep.finding = choice_finding(&rep, n);
        }
        QuestionKind::Rating { scale, .. } => {
            let vals: Vec<f64> = rs
                .iter()
                .filter_map(|r| match r.answers.get(q.id.as_str()) {
                    Some(AnswerValue::Scale(v)) if (1..=*scale).contains(v) => Some(f64::from(*v)),
                    _ => None,
                })
                .collect();
            let n = vals.len();
            rep.n = n;
            if let Some(m) = stats::mean_t_interval(&vals) {
                let mut dist = vec![0u64; usize::from(*scale)];
                for v in &vals {
                    if let Some(x) = dist.get_mut(*v as usize - 1) {
                        *x += 1;
                    }
                }
                let top = vals
                    .iter()
                    .filter(|v| **v >= f64::from(*scale) - 1.0)
                    .count() as u64;
                rep.rating = Some(RatingStat {
                    scale: *scale,
                    mean: m.mean,
                    ci95: m.interval().map(|i| [i.low, i.high]),
                    top2_share: share(top, n),
                    top2_ci95: ci(stats::wilson(top, n as u64)),
                    distribution: dist,
                });
                rep.finding = Statement::new(
                    if n < 10 { "rating_counts" } else { "rating" },
                    json!({ "mean": (m.mean * 10.0).round() / 10.0, "scale": scale, "n": n,
                            "low": m.interval().map(|i| (i.low * 10.0).round() / 10.0),
                            "high": m.interval().map(|i| (i.high * 10.0).round() / 10.0),
                            "top2": pct(share(top, n)), "top2_count": top }),
                );
            }
        }
        QuestionKind::Nps { .. } => {
            let mut by = [0u64; 11];
            for r in rs {
                if let Some(AnswerValue::Scale(v)) = r.answers.get(q.id.as_str()) {
                    if let Some(x) = by.get_mut(usize::from(*v)) {
                        *x += 1;
                    }
                }
            }
            if let Some(s) = stats::nps(&by) {
                rep.n = s.n as usize;
                rep.nps = Some(NpsStat {
                    score: s.score,
                    ci95: [s.low, s.high],
                    promoters: s.promoters,
                    passives: s.passives,
                    detractors: s.detractors,
                });
                rep.finding = Statement::new(
                    if s.n < 10 { "nps_counts" } else { "nps" },
                    json!({ "score": s.score.round() as i64, "low": s.low.round() as i64, "high": s.high.round() as i64,
                            "n": s.n, "promoters": s.promoters, "passives": s.passives, "detractors": s.detractors }),
                );
            }
        }
        QuestionKind::Ranking { options, .. } => {
            let m = options.len();
            let ballots: Vec<Vec<usize>> = rs
                .iter()
                .filter_map(|r| match r.answers.get(q.id.as_str()) {
                    Some(AnswerValue::Ranking(ids)) => {
                        Some(ids.iter().filter_map(|id| q.option_index(id)).collect())
                    }
                    _ => None,
                })
                .filter(|b: &Vec<usize>| !b.is_empty())
                .collect();
            rep.n = ballots.len();
            if !ballots.is_empty() {
                let id = |i: usize| options[i].id.to_string();
                let borda = voting::borda(&ballots, m);
                let matrix = voting::pairwise_matrix(&ballots, m);
                let order = voting::schulze_order(&matrix);
                let irv = voting::instant_runoff(&ballots, m);
                let plur = voting::plurality(&ballots, m);
                let cond = voting::condorcet_winner(&matrix);
                let mut b_idx: Vec<usize> = (0..m).collect();
                b_idx.sort_by(|a, b| borda[*b].total_cmp(&borda[*a]).then(a.cmp(b)));
                let borda_top =
                    (b_idx.len() < 2 || borda[b_idx[0]] > borda[b_idx[1]]).then(|| b_idx[0]);
                let candidates = [borda_top, order.first().copied(), irv, plur.winner, cond];
                let robust = match candidates[0] {
                    Some(w) if candidates.iter().all(|c| *c == Some(w)) => Some(w),
                    _ => None,
                };
                let top3: Vec<usize> = order.iter().take(3).copied().collect();
                let mut h2h = Vec::new();
                for (i, a) in top3.iter().enumerate() {
                    for b in &top3[i + 1..] {
                        h2h.push(HeadToHead {
                            a: options[*a].label.clone(),
                            b: options[*b].label.clone(),
                            a_over_b: matrix[*a][*b],
                            b_over_a: matrix[*b][*a],
                        });
                    }
                }
                let partial = ballots.iter().filter(|b| b.len() < m).count();
                rep.ranking = Some(RankingStat {
                    borda: b_idx
                        .iter()
                        .map(|i| Points {
                            option: id(*i),
                            label: options[*i].label.clone(),
                            points: borda[*i],
                        })
                        .collect(),
                    schulze_order: order.iter().map(|i| id(*i)).collect(),
                    irv_winner: irv.map(id),
                    plurality_winner: plur.winner.map(id),
                    condorcet_winner: cond.map(id),
                    robust_winner: robust.map(id),
                    head_to_head: h2h,
                    partial_ballots: partial,
                });
                rep.finding = match robust {
                    Some(w) => Statement::new(
                        "robust_winner",
                        json!({ "label": options[w].label, "n": ballots.len() }),
                    ),
                    None => Statement::new(
                        "no_robust_winner",
                        json!({
                            "n": ballots.len(),
                            "borda": borda_top.map(|i| options[i].label.clone()),
                            "schulze": order.first().map(|i| options[*i].label.clone()),
                            "irv": irv.map(|i| options[i].label.clone()),
                            "plurality": plur.winner.map(|i| options[i].label.clone()),
                        }),
                    ),
                };
            }
        }
        QuestionKind::Pairwise { options, .. } => {
            let mut judgements = Vec::new();
            let mut people = 0;
            for r in rs {
                if let Some(AnswerValue::Pairwise(js)) = r.answers.get(q.id.as_str()) {
                    people += 1;
                    for (w, l) in js {
                        if let (Some(w), Some(l)) = (q.option_index(w), q.option_index(l)) {
                            judgements.push((w, l));
                        }
                    }
                }
            }
            rep.n = people;
            if !judgements.is_empty() {
                let bt = bradley_terry::bradley_terry(&judgements, options.len());
                let mut idx: Vec<usize> = (0..options.len()).collect();
                idx.sort_by(|a, b| bt.strengths[*b].total_cmp(&bt.strengths[*a]));
                let top = idx.first().copied();
                let second = idx.get(1).copied();
                let p = match (top, second) {
                    (Some(a), Some(b)) => bt.prob_beats(a, b),
                    _ => None,
                };
                rep.pairwise = Some(PairwiseStat {
                    bradley_terry: idx
                        .iter()
                        .map(|i| Strength {
                            option: options[*i].id.to_string(),
                            label: options[*i].label.clone(),
                            strength: bt.strengths[*i],
                            comparisons: bt.comparisons.get(*i).copied().unwrap_or(0),
                        })
                        .collect(),
                    wins: bt.wins.clone(),
                    judgements: judgements.len(),
                    top_beats_second: p,
                });
                if let Some(t) = top {
                    rep.finding = Statement::new(
                        "pairwise_top",
                        json!({ "label": options[t].label, "strength": pct(bt.strengths[t]),
                                "prob": p.map(pct), "n": people, "judgements": judgements.len(),
                                "second": second.map(|s| options[s].label.clone()) }),
                    );
                }
            }
        }
        QuestionKind::OpenText { .. } => {
            // Themes are found per language: words only cluster with words of their language.
            let mut by_lang: BTreeMap<&str, Vec<TextAnswer>> = BTreeMap::new();
            for r in rs {
                if let Some(AnswerValue::Text(t)) = r.answers.get(q.id.as_str()) {
                    by_lang
                        .entry(r.locale.as_deref().unwrap_or(crate::locale::DEFAULT))
                        .or_default()
                        .push(TextAnswer {
                            respondent: r.respondent as u64,
                            text: t.as_str(),
                        });
                }
            }
            let total: usize = by_lang.values().map(Vec::len).sum();
            rep.n = total;
            if total > 0 {
                let mut all: Vec<(&str, themes::TextAnalysis)> = by_lang
                    .iter()
                    .map(|(l, answers)| (*l, themes::analyse(answers, &ThemeOptions::default())))
                    .collect();
                // The largest language first, so the overall sentiment and phrases lead with it.
                all.sort_by_key(|(_, a)| std::cmp::Reverse(a.n));
                let mut stats: Vec<ThemeStat> = all
                    .iter()
                    .flat_map(|(l, a)| {
                        a.themes.iter().map(move |t| ThemeStat {
                            label: t.label.clone(),
                            count: t.count,
                            share: t.count as f64 / total as f64,
                            quotes: t.quotes.clone(),
                            sentiment: format!("{:?}", t.sentiment.label).to_lowercase(),
                            sentiment_score: t.sentiment.compound,
                            language: (*l).to_string(),
                        })
                    })
                    .collect();
                stats.sort_by_key(|t| std::cmp::Reverse(t.count));
                let unclassified: usize = all.iter().map(|(_, a)| a.unclassified).sum();
                let overall = all
                    .first()
                    .map(|(_, a)| format!("{:?}", a.overall_sentiment.label).to_lowercase())
                    .unwrap_or_default();
                rep.text_summary = Some(TextStat {
                    unclassified,
                    unclassified_share: unclassified as f64 / total as f64,
                    phrases: all
                        .iter()
                        .flat_map(|(_, a)| a.phrases.iter())
                        .map(|p| PhraseStat {
                            text: p.text.clone(),
                            respondents: p.respondents,
                        })
                        .collect(),
                    overall_sentiment: overall,
                });
                rep.finding = match stats.first() {
                    Some(t) => Statement::new(
                        "top_theme",
                        json!({ "label": t.label, "count": t.count, "n": total,
                                "themes": stats.len(), "unclassified": unclassified,
                                "language": t.language }),
                    ),
                    None => Statement::new("no_themes", json!({ "n": total })),
                };
                rep.themes = Some(stats);
            }
        }
    }
    rep
}

fn choice_finding(rep: &QuestionReport, n: usize) -> Statement {
    let opts = rep.options.as_deref().unwrap_or(&[]);
    if n == 0 {
        return Statement::new("no_answers", json!({}));
    }
    if let Some(mt) = &rep.message_test {
        if mt.keep_collecting {
            return Statement::new(
                "keep_collecting",
                json!({ "n": n, "min": mt.min_per_variant,
                        "leader": rep.leader.as_ref().map(|l| l.label.clone()) }),
            );
        }
    }
    if n < 10 {
        let counts: Vec<_> = opts
            .iter()
            .map(|o| json!({ "label": o.label, "count": o.count }))
            .collect();
        return Statement::new("counts_only", json!({ "n": n, "counts": counts }));
    }
    match &rep.leader {
        Some(l) if l.clearly_ahead => {
            let o = opts.iter().find(|o| o.id == l.id);
            Statement::new(
                "leader_clear",
                json!({ "label": l.label, "n": n, "runner_up": l.runner_up,
                        "share": o.map(|o| pct(o.share)), "low": o.map(|o| pct(o.ci95[0])),
                        "high": o.map(|o| pct(o.ci95[1])), "margin": pct(l.margin) }),
            )
        }
        Some(l) => {
            let a = opts.iter().find(|o| o.id == l.id);
            let b = opts.iter().filter(|o| o.id != l.id).max_by_key(|o| o.count);
            // Members needed for the current margin to become clear: n' = n * (z*se/margin)^2 / se^2.
            let needed = if l.margin > 0.0 {
                let half = (l.margin_ci95[1] - l.margin_ci95[0]) / 2.0;
                let factor = (half / l.margin).powi(2);
                Some(((n as f64) * factor).ceil() as usize)
            } else {
                None
            };
            Statement::new(
                "leader_unclear",
                json!({ "a": l.label, "b": b.map(|o| o.label.clone()), "n": n,
                        "share_a": a.map(|o| pct(o.share)), "share_b": b.map(|o| pct(o.share)),
                        "needed": needed }),
            )
        }
        None => {
            let top = opts.iter().map(|o| o.count).max().unwrap_or(0);
            let tied: Vec<_> = opts
                .iter()
                .filter(|o| o.count == top)
                .map(|o| o.label.clone())
                .collect();
            Statement::new(
                "tie",
                json!({ "labels": tied, "n": n, "share": pct(share(top, n)) }),
            )
        }
    }
}

/// The question the headline is about: the first one that is not open text.
fn primary(report: &[QuestionReport]) -> Option<usize> {
    report
        .iter()
        .position(|q| q.kind != "open_text" && q.n > 0)
        .or_else(|| report.iter().position(|q| q.n > 0))
}

/// The configured headline question if it has answers, else the first answered one.
fn headline_question(survey: &Survey, report: &[QuestionReport]) -> Option<usize> {
    survey
        .headline
        .as_ref()
        .and_then(|h| report.iter().position(|q| q.id == h.as_str() && q.n > 0))
        .or_else(|| primary(report))
}

fn change(before: &QuestionReport, after: &QuestionReport, since: &str) -> Option<Change> {
    let z_p = |d: f64, se: f64| {
        if se > 0.0 {
            Some(super::special::normal_two_sided_p(d / se))
        } else {
            None
        }
    };
    // Half-width of a 95% interval back to a standard error.
    let se = |ci: [f64; 2]| (ci[1] - ci[0]) / (2.0 * stats::Z95);
    if let (Some(b), Some(a)) = (&before.nps, &after.nps) {
        let d = a.score - b.score;
        let p = z_p(d, (se(a.ci95).powi(2) + se(b.ci95).powi(2)).sqrt());
        return Some(Change {
            since: since.into(),
            metric: "nps",
            before: b.score,
            after: a.score,
            difference: d,
            p_value: p,
            within_noise: p.is_none_or(|p| p >= 0.05),
        });
    }
    if let (Some(b), Some(a)) = (&before.rating, &after.rating) {
        let (sb, sa) = (b.ci95.map(se)?, a.ci95.map(se)?);
        let d = a.mean - b.mean;
        let p = z_p(d, (sa * sa + sb * sb).sqrt());
        return Some(Change {
            since: since.into(),
            metric: "mean_rating",
            before: b.mean,
            after: a.mean,
            difference: d,
            p_value: p,
            within_noise: p.is_none_or(|p| p >= 0.05),
        });
    }
    // Choice questions: the current leader's share, then and now.
    let (ob, oa) = (before.options.as_ref()?, after.options.as_ref()?);
    let lead = after.leader.as_ref()?;
    let a = oa.iter().find(|o| o.id == lead.id)?;
    let b = ob.iter().find(|o| o.id == lead.id)?;
    let t = stats::two_proportion_z(a.count, after.n as u64, b.count, before.n as u64);
    let p = t.map(|t| t.p_value);
    Some(Change {
        since: since.into(),
        metric: "leader_share",
        before: b.share,
        after: a.share,
        difference: a.share - b.share,
        p_value: p,
        within_noise: p.is_none_or(|p| p >= 0.05),
    })
}

/// Builds the report.
pub fn analyse(input: &Input<'_>) -> Report {
    let survey = input.survey;
    let all: Vec<&Response> = input
        .responses
        .iter()
        .filter(|r| !r.answers.is_empty())
        .collect();
    let rs: Vec<&Response> = match input.segment {
        Some(s) => all
            .iter()
            .copied()
            .filter(|r| r.segments.contains(s))
            .collect(),
        None => all.clone(),
    };
    let n = rs.len();
    let info = SurveyInfo {
        id: survey.id.to_string(),
        title: survey.title.clone(),
        status: input.status.as_str().to_string(),
        respondents: n,
    };
    let mut caveats = vec![Statement::new("self_selected", json!({}))];

    if let Some(seg) = input.segment {
        // A segment report is refused when the segment is small, and also when what is left
        // outside it is small: the full report minus this one would show those few answers.
        let refusal = if n < input.min_segment {
            Some((
                Statement::new(
                    "segment_too_small",
                    json!({ "segment": seg, "min": input.min_segment }),
                ),
                Statement::new("reason_segment_too_small", json!({})),
            ))
        } else if all.len() - n < input.min_segment {
            Some((
                Statement::new(
                    "segment_complement_too_small",
                    json!({ "segment": seg, "min": input.min_segment }),
                ),
                Statement::new("reason_segment_complement_too_small", json!({})),
            ))
        } else {
            None
        };
        if let Some((headline, reason)) = refusal {
            // Never reveal how small the segment is: report the survey's total instead.
            return Report {
                survey: SurveyInfo {
                    respondents: all.len(),
                    ..info
                },
                segment_filter: Some(seg.to_string()),
                questions: Vec::new(),
                quality: quality_empty(all.len()),
                confidence: Confidence::Directional,
                confidence_reasons: vec![reason],
                headline,
                recommendation: Recommendation {
                    next_step: Statement::new(
                        "collect_more",
                        json!({ "target": input.min_segment }),
                    ),
                    would_change: Statement::new(
                        "n_reaches",
                        json!({ "target": input.min_segment }),
                    ),
                },
                caveats,
                fdr_q: FDR_Q,
                tests: 0,
                min_segment: input.min_segment,
                narrative: Default::default(),
            };
        }
    }

    let mut questions: Vec<QuestionReport> = survey
        .questions
        .iter()
        .map(|q| match input.segment {
            Some(_) if small_cell(q, &rs, &all, input.min_segment) => {
                withheld(q, input.min_segment)
            }
            _ => analyse_question(q, &rs),
        })
        .collect();

    // Segments: only those large enough to show, inside and outside.
    let mut seg_sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rs {
        for s in &r.segments {
            *seg_sizes.entry(s).or_default() += 1;
        }
    }
    let mut segs: Vec<(String, usize)> = Vec::new();
    let mut seen_sets: Vec<BTreeSet<i64>> = Vec::new();
    for (name, c) in seg_sizes {
        if c < input.min_segment || n - c < input.min_segment {
            continue;
        }
        // A segment that is exactly the complement of one already tested adds no test.
        let members: BTreeSet<i64> = rs
            .iter()
            .filter(|r| r.segments.contains(name))
            .map(|r| r.respondent)
            .collect();
        let complement: BTreeSet<i64> = rs
            .iter()
            .map(|r| r.respondent)
            .filter(|id| !members.contains(id))
            .collect();
        if seen_sets.contains(&complement) {
            continue;
        }
        seen_sets.push(members);
        segs.push((name.to_string(), c));
    }
    let mut pending = Vec::new();
    if input.segment.is_none() {
        for (qi, q) in survey.questions.iter().enumerate() {
            question_segments(qi, q, &rs, &segs, input.min_segment, &mut pending);
        }
    }
    // One Benjamini-Hochberg family: every chi-square and every per-option test in the report.
    let mut ps: Vec<f64> = Vec::new();
    for p in &pending {
        ps.push(p.finding.p_value);
        ps.extend(p.finding.options.iter().map(|g| g.p_value));
    }
    let adjusted = stats::benjamini_hochberg(&ps);
    let mut k = 0;
    for p in pending {
        let mut f = p.finding;
        f.p_adjusted = adjusted.get(k).copied().unwrap_or(1.0);
        k += 1;
        for g in &mut f.options {
            g.p_adjusted = adjusted.get(k).copied().unwrap_or(1.0);
            k += 1;
        }
        f.largest_gap = f
            .options
            .iter()
            .max_by(|a, b| {
                (a.segment_share - a.others_share)
                    .abs()
                    .total_cmp(&(b.segment_share - b.others_share).abs())
            })
            .cloned();
        let claimable = f.n >= CLAIM_MIN && n - f.n >= CLAIM_MIN;
        f.differs = f.p_adjusted <= FDR_Q && claimable;
        if let Some(q) = questions.get_mut(p.question) {
            q.segments.push(f);
        }
    }
    let tests = ps.len();

    // Change since the previous run.
    if let Some(prev) = &input.previous {
        for q in &mut questions {
            if let Some(b) = prev
                .report
                .questions
                .iter()
                .find(|b| b.id == q.id && b.kind == q.kind)
            {
                q.change = change(b, q, &prev.label);
            }
        }
    }

    let quality = quality(input, &rs, &questions, survey);
    let prim = headline_question(survey, &questions);
    let tier = Tier::of(n);

    // Confidence from written rules (documented in the method footer).
    let mut reasons = Vec::new();
    let mut conf = match tier {
        Tier::CountsOnly | Tier::Directional => {
            reasons.push(Statement::new("small_sample", json!({ "n": n })));
            Confidence::Directional
        }
        Tier::NoSegmentClaims => {
            reasons.push(Statement::new("moderate_sample", json!({ "n": n })));
            Confidence::Medium
        }
        Tier::Full => Confidence::High,
    };
    let cap = |c: &mut Confidence, to: Confidence| {
        let rank = |c: Confidence| match c {
            Confidence::High => 2,
            Confidence::Medium => 1,
            Confidence::Directional => 0,
        };
        if rank(to) < rank(*c) {
            *c = to;
        }
    };
    if let Some(p) = prim.and_then(|i| questions.get(i)) {
        if !finding_is_clear(p) {
            reasons.push(Statement::new("not_clear", json!({})));
            cap(&mut conf, Confidence::Medium);
        }
    }
    if quality.burst_flagged * 10 > n.max(1) {
        reasons.push(Statement::new(
            "reason_burst",
            json!({ "count": quality.burst_flagged }),
        ));
        cap(&mut conf, Confidence::Directional);
    }
    if quality.drift {
        reasons.push(Statement::new("reason_drift", json!({})));
        cap(&mut conf, Confidence::Medium);
    }
    if quality.speeders * 5 > n.max(1) {
        reasons.push(Statement::new(
            "reason_speeders",
            json!({ "count": quality.speeders }),
        ));
        cap(&mut conf, Confidence::Medium);
    }

    // Caveats.
    match tier {
        Tier::CountsOnly => caveats.push(Statement::new("counts_only_caveat", json!({ "n": n }))),
        Tier::Directional => caveats.push(Statement::new("directional", json!({ "n": n }))),
        Tier::NoSegmentClaims => {
            caveats.push(Statement::new("no_segment_claims", json!({ "n": n })))
        }
        Tier::Full => {}
    }
    if input.status == Status::Open {
        caveats.push(Statement::new("still_open", json!({})));
    }
    if quality.speeders > 0 {
        caveats.push(Statement::new(
            "speeders",
            json!({ "count": quality.speeders }),
        ));
    }
    if quality.burst_flagged > 0 {
        caveats.push(Statement::new(
            "burst",
            json!({ "count": quality.burst_flagged,
                    "without": quality.headline_without_flagged.map(pct), "leader": quality.leader_without_flagged }),
        ));
    }
    if quality.drift {
        caveats.push(Statement::new(
            "drift",
            json!({ "p": quality.drift_p_value }),
        ));
    }
    match quality.coverage {
        Some(c) => caveats.push(Statement::new("coverage", json!({ "share": pct(c) }))),
        None => caveats.push(Statement::new("coverage_unknown", json!({}))),
    }
    if input.segment.is_none() {
        caveats.push(Statement::new(
            "small_segments_hidden",
            json!({ "min": input.min_segment }),
        ));
    }

    let headline = match prim.and_then(|i| questions.get(i)) {
        None => Statement::new("no_answers", json!({ "title": survey.title })),
        Some(_) if n < 10 => Statement::new("too_few", json!({ "n": n })),
        Some(q) => q.finding.clone(),
    };
    let recommendation = recommend(prim.and_then(|i| questions.get(i)), n, &quality, &questions);

    Report {
        survey: info,
        segment_filter: input.segment.map(str::to_string),
        questions,
        quality,
        confidence: conf,
        confidence_reasons: reasons,
        headline,
        recommendation,
        caveats,
        fdr_q: FDR_Q,
        tests,
        min_segment: input.min_segment,
        narrative: Default::default(),
    }
}

/// In a segment report, whether question `q` is a small cell: fewer than `min` of the
/// segment answered it, or fewer than `min` of everyone else did (the full report minus
/// this one would show their answers).
fn small_cell(q: &Question, seg: &[&Response], all: &[&Response], min: usize) -> bool {
    let answered = |rs: &[&Response]| {
        rs.iter()
            .filter(|r| r.answers.contains_key(q.id.as_str()))
            .count()
    };
    let (in_seg, total) = (answered(seg), answered(all));
    in_seg < min || total - in_seg < min
}

/// A question whose cell is too small to show: no count, no statistic, only why.
fn withheld(q: &Question, min: usize) -> QuestionReport {
    QuestionReport {
        withheld: true,
        finding: Statement::new("cell_withheld", json!({ "min": min })),
        ..empty_question(q)
    }
}

fn empty_question(q: &Question) -> QuestionReport {
    QuestionReport {
        id: q.id.to_string(),
        kind: q.kind.type_name(),
        text: q.text.clone(),
        n: 0,
        withheld: false,
        options: None,
        leader: None,
        rating: None,
        nps: None,
        ranking: None,
        pairwise: None,
        message_test: None,
        themes: None,
        text_summary: None,
        segments: Vec::new(),
        change: None,
        finding: Statement::new("no_answers", json!({})),
    }
}

fn finding_is_clear(q: &QuestionReport) -> bool {
    if let Some(r) = &q.ranking {
        return r.robust_winner.is_some();
    }
    if let Some(mt) = &q.message_test {
        if mt.keep_collecting {
            return false;
        }
    }
    if let Some(l) = &q.leader {
        return l.clearly_ahead;
    }
    if let Some(p) = &q.pairwise {
        return p.top_beats_second.is_some_and(|p| p >= 0.8);
    }
    if let Some(n) = &q.nps {
        return n.ci95[1] - n.ci95[0] <= 30.0;
    }
    if let Some(r) = &q.rating {
        return r.ci95.is_some_and(|c| c[1] - c[0] <= 0.6);
    }
    q.themes.is_some()
}

fn recommend(
    prim: Option<&QuestionReport>,
    n: usize,
    quality: &Quality,
    questions: &[QuestionReport],
) -> Recommendation {
    let target = if n < 30 { 30 } else { 100 };
    let differs: Vec<String> = questions
        .iter()
        .flat_map(|q| {
            q.segments
                .iter()
                .filter(|s| s.differs)
                .map(|s| s.segment.clone())
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let Some(q) = prim else {
        return Recommendation {
            next_step: Statement::new("collect_more", json!({ "target": 30 })),
            would_change: Statement::new("n_reaches", json!({ "target": 30 })),
        };
    };
    if quality.burst_flagged * 10 > n.max(1) {
        return Recommendation {
            next_step: Statement::new("check_burst", json!({ "count": quality.burst_flagged })),
            would_change: Statement::new("burst_explained", json!({})),
        };
    }
    if n < 30 {
        return Recommendation {
            next_step: Statement::new("collect_more", json!({ "target": target, "n": n })),
            would_change: Statement::new("n_reaches", json!({ "target": target })),
        };
    }
    if let Some(mt) = &q.message_test {
        if mt.keep_collecting {
            return Recommendation {
                next_step: Statement::new(
                    "keep_test_running",
                    json!({ "min": mt.min_per_variant, "n": q.n }),
                ),
                would_change: Statement::new("variant_pulls_ahead", json!({})),
            };
        }
    }
    if let Some(r) = &q.ranking {
        return match &r.robust_winner {
            Some(w) => Recommendation {
                next_step: Statement::new(
                    "act_on",
                    json!({ "label": label_for(q, w), "segments": differs }),
                ),
                would_change: Statement::new("methods_disagree", json!({})),
            },
            None => Recommendation {
                next_step: Statement::new(
                    "follow_up_pairwise",
                    json!({ "options": r.schulze_order.iter().take(2).map(|id| label_for(q, id)).collect::<Vec<_>>() }),
                ),
                would_change: Statement::new("methods_agree", json!({})),
            },
        };
    }
    match &q.leader {
        Some(l) if l.clearly_ahead => {
            let low = q
                .options
                .as_ref()
                .and_then(|o| o.iter().find(|o| o.id == l.id))
                .map(|o| pct(o.ci95[0]));
            Recommendation {
                next_step: Statement::new(
                    "act_on",
                    json!({ "label": l.label, "segments": differs }),
                ),
                would_change: Statement::new(
                    "leader_falls",
                    json!({ "label": l.label, "low": low, "runner_up": l.runner_up }),
                ),
            }
        }
        Some(l) => Recommendation {
            next_step: Statement::new(
                "follow_up_between",
                json!({ "a": l.label, "b": l.runner_up }),
            ),
            would_change: Statement::new("gap_opens", json!({ "a": l.label, "b": l.runner_up })),
        },
        None if q.nps.is_some() || q.rating.is_some() => Recommendation {
            next_step: Statement::new("read_detractors", json!({})),
            would_change: Statement::new("score_moves", json!({})),
        },
        None => Recommendation {
            next_step: Statement::new("collect_more", json!({ "target": target, "n": n })),
            would_change: Statement::new("n_reaches", json!({ "target": target })),
        },
    }
}

fn label_for(q: &QuestionReport, id: &str) -> String {
    q.options
        .as_ref()
        .and_then(|o| o.iter().find(|o| o.id == id).map(|o| o.label.clone()))
        .or_else(|| {
            q.pairwise.as_ref().and_then(|p| {
                p.bradley_terry
                    .iter()
                    .find(|s| s.option == id)
                    .map(|s| s.label.clone())
            })
        })
        .unwrap_or_else(|| id.to_string())
}

fn quality_empty(n: usize) -> Quality {
    Quality {
        tier: Tier::of(n),
        respondents: n,
        speeders: 0,
        new_members: 0,
        burst_flagged: 0,
        headline_without_flagged: None,
        leader_without_flagged: None,
        drift_p_value: None,
        drift: false,
        coverage: None,
    }
}

fn quality(
    input: &Input<'_>,
    rs: &[&Response],
    questions: &[QuestionReport],
    survey: &Survey,
) -> Quality {
    let n = rs.len();
    let mut q = quality_empty(n);
    q.coverage = input
        .members_reached
        .filter(|m| *m > 0)
        .map(|m| share(n as u64, m).min(1.0));
    // Speeders: under a third of the median answering time, once n >= 30.
    let mut secs: Vec<f64> = rs.iter().filter_map(|r| r.seconds).collect();
    if secs.len() >= 30 {
        secs.sort_by(f64::total_cmp);
        let median = secs[secs.len() / 2];
        q.speeders = secs.iter().filter(|s| **s < median / 3.0).count();
    }
    // Bursts: five or more accounts new to the community answering within an hour.
    let mut new: Vec<(DateTime<Utc>, i64)> = rs
        .iter()
        .filter(|r| r.new_member)
        .map(|r| (r.first_at, r.respondent))
        .collect();
    q.new_members = new.len();
    new.sort();
    let mut flagged = BTreeSet::new();
    let mut start = 0;
    for end in 0..new.len() {
        while new[end].0 - new[start].0 > chrono::Duration::hours(1) {
            start += 1;
        }
        if end + 1 - start >= 5 {
            for x in &new[start..=end] {
                flagged.insert(x.1);
            }
        }
    }
    q.burst_flagged = flagged.len();
    let prim = headline_question(survey, questions);
    // With and without the flagged answers, two numbers differ by the flagged group's own
    // answers: give the second only when that group is large enough to show.
    let showable = |k: usize| k >= input.min_segment.max(1);
    if showable(flagged.len()) && showable(n - flagged.len()) {
        if let Some(pq) = prim.and_then(|i| survey.questions.get(i)) {
            let kept: Vec<&Response> = rs
                .iter()
                .copied()
                .filter(|r| !flagged.contains(&r.respondent))
                .collect();
            if pq.kind.options().len() >= 2 {
                let (counts, m) = choice_counts(pq, &kept);
                let top = counts
                    .iter()
                    .enumerate()
                    .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)));
                if let (Some((i, c)), true) = (top, m > 0) {
                    q.headline_without_flagged = Some(share(*c, m));
                    q.leader_without_flagged = pq.kind.options().get(i).map(|o| o.label.clone());
                }
            }
        }
    }
    // Drift: first third against last third of respondents by time, on the primary question.
    if n >= 30 {
        if let Some(pq) = prim.and_then(|i| survey.questions.get(i)) {
            let mut ordered: Vec<&Response> = rs.to_vec();
            ordered.sort_by_key(|r| r.first_at);
            let third = n / 3;
            let labels = category_labels(pq);
            let tally = |part: &[&Response]| {
                let mut t = vec![0u64; labels.len()];
                for r in part {
                    for c in categories(pq, r).unwrap_or_default() {
                        if let Some(x) = t.get_mut(c) {
                            *x += 1;
                        }
                    }
                }
                t
            };
            let (early, late) = (tally(&ordered[..third]), tally(&ordered[n - third..]));
            if let Some(chi) = stats::chi_square_independence(&[early, late]) {
                q.drift_p_value = Some(chi.p_value);
                q.drift = chi.p_value < 0.01;
            }
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::{OptionId, QuestionId, SurveyId};
    use crate::core::survey::{ResultsVisibility, make_choices};
    use chrono::TimeZone;

    #[test]
    fn the_interner_shares_one_copy_per_string() {
        let mut ids = Interner::default();
        let a = ids.get("feature");
        let b = ids.get("feature");
        let c = ids.get("tools");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!((&*a, &*c), ("feature", "tools"));
    }

    fn survey(kinds: Vec<(&str, QuestionKind)>) -> Survey {
        Survey {
            id: SurveyId::parse("s").unwrap(),
            title: "S".into(),
            intro: None,
            questions: kinds
                .into_iter()
                .map(|(id, k)| {
                    Question::new(QuestionId::parse(id).unwrap(), "Q?", k, false).unwrap()
                })
                .collect(),
            anonymous: false,
            opens_at: None,
            closes_at: None,
            results: ResultsVisibility::AfterClose,
            follows: None,
            headline: None,
        }
        .validated()
        .unwrap()
    }

    fn single(labels: &[&str]) -> QuestionKind {
        QuestionKind::Single {
            options: make_choices(labels.iter().map(|l| (None, l.to_string())).collect()).unwrap(),
        }
    }

    fn resp(i: i64, q: &str, v: AnswerValue, segs: &[&str]) -> Response {
        Response {
            respondent: i,
            answers: [(Arc::from(q), v)].into_iter().collect(),
            segments: segs.iter().map(|s| Arc::from(*s)).collect(),
            new_member: false,
            first_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                + chrono::Duration::minutes(i),
            seconds: None,
            locale: None,
        }
    }

    fn choice(s: &str) -> AnswerValue {
        AnswerValue::Choice(OptionId::parse(s).unwrap())
    }

    fn run(s: &Survey, rs: &[Response], segment: Option<&str>) -> Report {
        analyse(&Input {
            survey: s,
            status: Status::Closed,
            responses: rs,
            min_segment: 10,
            segment,
            previous: None,
            members_reached: None,
        })
    }

    /// README §Configuration: `headline` defaults to the first question that is not open
    /// text; a configured `headline` picks another.
    #[test]
    fn the_headline_is_about_the_first_question_that_is_not_open_text_by_default() {
        let mut s = survey(vec![
            ("why", QuestionKind::OpenText { max_chars: 200 }),
            ("first", single(&["A", "B"])),
            ("second", single(&["C", "D"])),
        ]);
        let rs: Vec<Response> = (0..40)
            .map(|i| {
                let mut r = resp(i, "why", AnswerValue::Text(format!("reason {i}")), &[]);
                let first = if i < 36 { "a" } else { "b" };
                let second = if i % 2 == 0 { "c" } else { "d" };
                r.answers.insert(Arc::from("first"), choice(first));
                r.answers.insert(Arc::from("second"), choice(second));
                r
            })
            .collect();
        let r = run(&s, &rs, None);
        assert_ne!(r.questions[1].finding, r.questions[2].finding);
        assert_eq!(r.headline, r.questions[1].finding, "{:?}", r.headline);
        s.headline = Some(QuestionId::parse("second").unwrap());
        let r = run(&s, &rs, None);
        assert_eq!(r.headline, r.questions[2].finding, "{:?}", r.headline);
    }

    #[test]
    fn zero_and_one_answer() {
        let s = survey(vec![("q", single(&["A", "B"]))]);
        let r = run(&s, &[], None);
        assert_eq!(r.headline.code, "no_answers");
        assert_eq!(r.confidence, Confidence::Directional);
        let r = run(&s, &[resp(1, "q", choice("a"), &[])], None);
        assert_eq!(r.headline.code, "too_few");
        assert_eq!(r.questions[0].finding.code, "counts_only");
        assert_eq!(r.quality.tier, Tier::CountsOnly);
    }

    #[test]
    fn clear_leader_and_known_interval() {
        // 71 of 214 choose A: 33.2% [27.2, 39.7] (insight-methods check value).
        let s = survey(vec![("q", single(&["A", "B", "C"]))]);
        let mut rs = Vec::new();
        for i in 0..214 {
            let o = if i < 71 {
                "a"
            } else if i < 71 + 80 {
                "b"
            } else {
                "c"
            };
            rs.push(resp(i, "q", choice(o), &[]));
        }
        let r = run(&s, &rs, None);
        let a = &r.questions[0].options.as_ref().unwrap()[0];
        assert_eq!((a.count, r.questions[0].n), (71, 214));
        assert!(
            (a.ci95[0] - 0.272).abs() < 0.001 && (a.ci95[1] - 0.397).abs() < 0.001,
            "{:?}",
            a.ci95
        );
        // B (80) vs A (71) is not a clear lead.
        assert_eq!(r.headline.code, "leader_unclear");
        assert_ne!(r.confidence, Confidence::High);
        assert_eq!(r.recommendation.next_step.code, "follow_up_between");
    }

    #[test]
    fn everyone_picks_the_same_option() {
        let s = survey(vec![("q", single(&["A", "B"]))]);
        let rs: Vec<_> = (0..150).map(|i| resp(i, "q", choice("b"), &[])).collect();
        let r = run(&s, &rs, None);
        assert_eq!(r.headline.code, "leader_clear");
        assert_eq!(r.confidence, Confidence::High);
        let o = &r.questions[0].options.as_ref().unwrap()[1];
        assert_eq!(o.share, 1.0);
        assert!(o.ci95[0] <= 1.0 && o.ci95[1] <= 1.0 && o.ci95[0] > 0.9);
        assert!(o.prob_best > 0.99);
    }

    #[test]
    fn ties_are_named_as_ties() {
        let s = survey(vec![("q", single(&["A", "B"]))]);
        let rs: Vec<_> = (0..40)
            .map(|i| resp(i, "q", choice(if i % 2 == 0 { "a" } else { "b" }), &[]))
            .collect();
        let r = run(&s, &rs, None);
        assert_eq!(r.headline.code, "tie");
        assert!(r.questions[0].leader.is_none());
    }

    #[test]
    fn small_segments_are_never_shown_and_differences_are_corrected() {
        let s = survey(vec![("q", single(&["A", "B"]))]);
        let mut rs = Vec::new();
        // 3 members of "tiny"; 60 of "big" who prefer B; 90 others who prefer A.
        for i in 0..3 {
            rs.push(resp(i, "q", choice("a"), &["tiny"]));
        }
        for i in 3..63 {
            rs.push(resp(
                i,
                "q",
                choice(if i % 5 == 0 { "a" } else { "b" }),
                &["big"],
            ));
        }
        for i in 63..153 {
            rs.push(resp(
                i,
                "q",
                choice(if i % 5 == 0 { "b" } else { "a" }),
                &[],
            ));
        }
        let r = run(&s, &rs, None);
        let segs = &r.questions[0].segments;
        assert!(segs.iter().all(|f| f.segment != "tiny"), "{segs:?}");
        let big = segs.iter().find(|f| f.segment == "big").unwrap();
        assert!(big.differs && big.p_adjusted <= FDR_Q && big.p_adjusted >= big.p_value);
        let r = run(&s, &rs, Some("tiny"));
        assert_eq!(r.headline.code, "segment_too_small");
        assert!(r.questions.is_empty());
        assert_eq!(
            r.survey.respondents,
            rs.len(),
            "the segment's size is not revealed"
        );
    }

    /// 60 "big" members answer q; only 2 of them answer the NPS question n, which 60 others
    /// answer too; 3 "outsiders" complete the survey.
    fn big_segment_with_a_small_cell() -> (Survey, Vec<Response>) {
        let nps = QuestionKind::Nps {
            low_label: "no".into(),
            high_label: "yes".into(),
        };
        let s = survey(vec![("q", single(&["A", "B"])), ("n", nps)]);
        let mut rs = Vec::new();
        for i in 0..60 {
            let mut r = resp(i, "q", choice(if i % 4 == 0 { "a" } else { "b" }), &["big"]);
            if i < 2 {
                r.answers.insert(Arc::from("n"), AnswerValue::Scale(0));
            }
            rs.push(r);
        }
        for i in 60..120 {
            let mut r = resp(i, "q", choice(if i % 4 == 0 { "b" } else { "a" }), &[]);
            r.answers.insert(Arc::from("n"), AnswerValue::Scale(10));
            rs.push(r);
        }
        (s, rs)
    }

    #[test]
    fn a_segment_cell_under_min_size_is_neither_shown_nor_tested() {
        let (s, rs) = big_segment_with_a_small_cell();
        let r = run(&s, &rs, None);
        let big = &r.questions[0].segments;
        assert_eq!(big.len(), 1, "q: 60 in, 60 out");
        assert_eq!((big[0].segment.as_str(), big[0].n), ("big", 60));
        assert!(
            r.questions[1].segments.is_empty(),
            "2 of big answered n: no cell, no test: {:?}",
            r.questions[1].segments
        );
        // One chi-square and two per-option tests, all for q.
        assert_eq!(r.tests, 3);
        assert_eq!(r.min_segment, 10);
    }

    /// A tester's attack: segments A (40), B (12) and C (5, so never shown); the total minus
    /// A minus B would read C. And two shown segments differing by 3 people read those 3.
    #[test]
    fn shown_segments_never_subtract_to_a_small_group() {
        let s = survey(vec![("q", single(&["A", "B", "C"]))]);
        let mut rs = Vec::new();
        for i in 0..40 {
            rs.push(resp(
                i,
                "q",
                choice(if i % 2 == 0 { "a" } else { "b" }),
                &["A"],
            ));
        }
        for i in 40..52 {
            rs.push(resp(
                i,
                "q",
                choice(if i % 2 == 0 { "a" } else { "b" }),
                &["B"],
            ));
        }
        for i in 52..57 {
            rs.push(resp(i, "q", choice("c"), &["C"]));
        }
        let r = run(&s, &rs, None);
        let shown: Vec<&str> = r.questions[0]
            .segments
            .iter()
            .map(|g| g.segment.as_str())
            .collect();
        // Without the rule both A and B are shown, and 57 - 40 - 12 = the 5 of C.
        assert_eq!(shown, vec!["A"], "{shown:?}");

        // Nested: 12 in "X" and "Y", 3 more only in "Y", 40 in neither.
        let mut rs = Vec::new();
        for i in 0..12 {
            rs.push(resp(i, "q", choice("a"), &["X", "Y"]));
        }
        for i in 12..15 {
            rs.push(resp(i, "q", choice("c"), &["Y"]));
        }
        for i in 15..55 {
            rs.push(resp(
                i,
                "q",
                choice(if i % 2 == 0 { "a" } else { "b" }),
                &[],
            ));
        }
        let r = run(&s, &rs, None);
        assert!(
            r.questions[0].segments.len() <= 1,
            "X and Y differ by 3: {:?}",
            r.questions[0].segments
        );
    }

    #[test]
    fn a_segment_report_withholds_small_cells_and_refuses_a_small_complement() {
        let (s, mut rs) = big_segment_with_a_small_cell();
        let r = run(&s, &rs, Some("big"));
        assert_eq!(r.survey.respondents, 60);
        assert_eq!(r.questions[0].n, 60);
        assert!(!r.questions[0].withheld);
        let n = &r.questions[1];
        assert!(n.withheld && n.n == 0 && n.nps.is_none(), "{n:?}");
        assert_eq!(n.finding.code, "cell_withheld");
        // Everyone but 3: the full report minus this one would show those 3 answers.
        for r in rs.iter_mut().skip(60).take(57) {
            r.segments.insert(Arc::from("most"));
        }
        for r in rs.iter_mut().take(60) {
            r.segments.insert(Arc::from("most"));
        }
        let r = run(&s, &rs, Some("most"));
        assert_eq!(r.headline.code, "segment_complement_too_small");
        assert!(r.questions.is_empty());
        assert_eq!(r.survey.respondents, rs.len());
        // Per question too: 12 outside the segment, but only 2 of them answered n.
        let mut rs: Vec<Response> = rs.into_iter().take(60).collect();
        for r in rs.iter_mut().take(10) {
            r.segments.clear();
        }
        rs.iter_mut().take(2).for_each(|r| {
            r.answers.insert(Arc::from("n"), AnswerValue::Scale(3));
        });
        for i in 200..230 {
            let mut r = resp(i, "q", choice("a"), &["big"]);
            r.answers.insert(Arc::from("n"), AnswerValue::Scale(9));
            rs.push(r);
        }
        let r = run(&s, &rs, Some("big"));
        assert_ne!(r.headline.code, "segment_complement_too_small");
        assert!(!r.questions[0].withheld);
        assert!(r.questions[1].withheld, "{:?}", r.questions[1]);
    }

    #[test]
    fn ranking_methods_and_robust_winner() {
        let opts = make_choices(
            ["A", "B", "C", "D"]
                .iter()
                .map(|l| (None, l.to_string()))
                .collect(),
        )
        .unwrap();
        let s = survey(vec![(
            "r",
            QuestionKind::Ranking {
                options: opts,
                top_k: None,
            },
        )]);
        let id = |c: char| OptionId::parse(&c.to_ascii_lowercase().to_string()).unwrap();
        let mut rs = Vec::new();
        // The notes' 40-ballot check: methods disagree, so no robust winner.
        for (count, order) in [
            (12, "ABCD"),
            (10, "BCAD"),
            (8, "CBAD"),
            (6, "DCBA"),
            (4, "ABDC"),
        ] {
            for _ in 0..count {
                let i = rs.len() as i64;
                rs.push(resp(
                    i,
                    "r",
                    AnswerValue::Ranking(order.chars().map(id).collect()),
                    &[],
                ));
            }
        }
        let r = run(&s, &rs, None);
        let k = r.questions[0].ranking.as_ref().unwrap();
        assert_eq!(k.plurality_winner.as_deref(), Some("a"));
        assert_eq!(k.irv_winner.as_deref(), Some("c"));
        assert_eq!(k.schulze_order.first().map(String::as_str), Some("b"));
        assert_eq!(k.borda[0].option, "b");
        assert_eq!(k.borda[0].points, 84.0);
        assert_eq!(k.robust_winner, None);
        assert_eq!(r.headline.code, "no_robust_winner");
        assert!(!k.head_to_head.is_empty());
    }

    #[test]
    fn ten_thousand_open_text_answers_in_many_scripts() {
        let s = survey(vec![("t", QuestionKind::OpenText { max_chars: 500 })]);
        let texts = [
            "Dark mode please, my eyes 😵",
            "Offline sync keeps failing",
            "Bitte einen dunklen Modus",
            "El precio es demasiado alto",
            "ダークモードが欲しい",
            "الوضع الليلي من فضلك",
            "🔥🔥🔥",
        ];
        let rs: Vec<_> = (0..10_000)
            .map(|i| {
                resp(
                    i,
                    "t",
                    AnswerValue::Text(texts[i as usize % texts.len()].into()),
                    &[],
                )
            })
            .collect();
        let r = run(&s, &rs, None);
        let q = &r.questions[0];
        assert_eq!(q.n, 10_000);
        let themes = q.themes.as_ref().unwrap();
        let classified: usize = themes.iter().map(|t| t.count).sum();
        assert_eq!(
            classified + q.text_summary.as_ref().unwrap().unclassified,
            10_000
        );
    }

    #[test]
    fn change_since_previous_run_is_judged_against_noise() {
        let s = survey(vec![("q", single(&["A", "B"]))]);
        let before: Vec<_> = (0..100)
            .map(|i| resp(i, "q", choice(if i < 60 { "a" } else { "b" }), &[]))
            .collect();
        let prev = run(&s, &before, None);
        let same: Vec<_> = (0..100)
            .map(|i| resp(i, "q", choice(if i < 62 { "a" } else { "b" }), &[]))
            .collect();
        let r = analyse(&Input {
            survey: &s,
            status: Status::Closed,
            responses: &same,
            min_segment: 10,
            segment: None,
            previous: Some(Previous {
                label: "Q3".into(),
                report: &prev,
            }),
            members_reached: None,
        });
        let c = r.questions[0].change.as_ref().unwrap();
        assert!(c.within_noise, "{c:?}");
        let moved: Vec<_> = (0..100)
            .map(|i| resp(i, "q", choice(if i < 85 { "a" } else { "b" }), &[]))
            .collect();
        let r = analyse(&Input {
            survey: &s,
            status: Status::Closed,
            responses: &moved,
            min_segment: 10,
            segment: None,
            previous: Some(Previous {
                label: "Q3".into(),
                report: &prev,
            }),
            members_reached: None,
        });
        assert!(!r.questions[0].change.as_ref().unwrap().within_noise);
    }

    #[test]
    fn intervals_contain_their_estimates() {
        for n in 1..=120u64 {
            for x in 0..=n {
                let i = stats::wilson(x, n).unwrap();
                let p = x as f64 / n as f64;
                assert!(i.low <= p + 1e-12 && p <= i.high + 1e-12, "{x}/{n}");
            }
        }
        let mut by = [0u64; 11];
        for (i, c) in [3, 0, 1, 4, 2, 5, 7, 9, 11, 13, 6].iter().enumerate() {
            by[i] = *c;
            let s = stats::nps(&by).unwrap();
            assert!(s.low <= s.score && s.score <= s.high);
        }
    }

    #[test]
    fn a_burst_of_new_accounts_lowers_confidence() {
        let s = survey(vec![("q", single(&["A", "B"]))]);
        let mut rs: Vec<_> = (0..120)
            .map(|i| resp(i * 60, "q", choice(if i % 3 == 0 { "b" } else { "a" }), &[]))
            .collect();
        for i in 0..40 {
            let mut r = resp(10_000 + i, "q", choice("b"), &[]);
            r.new_member = true;
            rs.push(r);
        }
        let r = run(&s, &rs, None);
        assert_eq!(r.quality.burst_flagged, 40);
        assert_eq!(r.confidence, Confidence::Directional);
        assert!(r.quality.headline_without_flagged.is_some());
        assert_eq!(r.recommendation.next_step.code, "check_burst");
    }

    #[test]
    fn a_burst_smaller_than_min_size_is_not_subtracted() {
        let s = survey(vec![("q", single(&["A", "B"]))]);
        let mut rs: Vec<_> = (0..120)
            .map(|i| resp(i * 60, "q", choice(if i % 3 == 0 { "b" } else { "a" }), &[]))
            .collect();
        for i in 0..6 {
            let mut r = resp(10_000 + i, "q", choice("b"), &[]);
            r.new_member = true;
            rs.push(r);
        }
        let r = run(&s, &rs, None);
        assert_eq!(r.quality.burst_flagged, 6);
        assert_eq!(r.quality.headline_without_flagged, None);
        assert_eq!(r.quality.leader_without_flagged, None);
    }
}
