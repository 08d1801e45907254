//! Segments against their complements: which segments are large enough to show, per-question
//! cells that stay large enough (and cannot be subtracted to a small group), the tests, and one
//! Benjamini-Hochberg correction across every test in the report.

use super::{CLAIM_MIN, FDR_Q, Input, Response, share};
use crate::core::answer::AnswerValue;
use crate::core::survey::{Question, QuestionKind};
use crate::insight::report::*;
use crate::insight::stats;
use std::collections::BTreeMap;

/// Tests every large enough segment on every question, corrects all p-values as one family,
/// and attaches the findings to `questions`. Returns the number of tests in the family.
pub(super) fn attach(
    input: &Input<'_>,
    rs: &[&Response],
    questions: &mut [QuestionReport],
) -> usize {
    let survey = input.survey;
    let n = rs.len();
    // Segments: only those large enough to show, inside and outside. Names are shared
    // `Arc<str>`s, so each distinct allocation is looked up by name once, not once per
    // respondent (equal names in different allocations still meet in `names`).
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen: std::collections::HashMap<*const u8, usize> = Default::default();
    let mut member_of: Vec<(usize, usize)> = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        for s in &r.segments {
            let next = names.len();
            let k = *seen
                .entry(s.as_ptr())
                .or_insert_with(|| *names.entry(s).or_insert(next));
            member_of.push((k, i));
        }
    }
    // Who is in each candidate segment, as bits over `rs`, in name order: set operations
    // on respondents cost a word per 64 of them instead of a tree node each.
    let mut sets = vec![Bits::new(n); names.len()];
    for (k, i) in member_of {
        sets[k].set(i);
    }
    let mut bits = Vec::with_capacity(names.len());
    let mut seg_sizes = Vec::with_capacity(names.len());
    for (name, k) in names {
        let members = std::mem::replace(&mut sets[k], Bits::new(0));
        seg_sizes.push((name, members.count()));
        bits.push(members);
    }
    let mut segs: Vec<Segment> = Vec::new();
    for ((name, c), members) in seg_sizes.into_iter().zip(bits) {
        if c < input.min_segment || n - c < input.min_segment {
            continue;
        }
        // A segment that is exactly the complement of one already tested adds no test.
        let complement = members.complement();
        if segs.iter().any(|s| s.members == complement) {
            continue;
        }
        segs.push(Segment {
            name: name.to_string(),
            members,
        });
    }
    let mut pending = Vec::new();
    if input.segment.is_none() {
        for (qi, q) in survey.questions.iter().enumerate() {
            question_segments(qi, q, rs, &segs, input.min_segment, &mut pending);
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
    ps.len()
}

/// A segment large enough to test, and who of the report's respondents is in it.
pub(super) struct Segment {
    name: String,
    members: Bits,
}

/// A set of positions `0..len` as bits.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    pub(super) fn new(len: usize) -> Bits {
        Bits {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub(super) fn set(&mut self, i: usize) {
        if let Some(w) = self.words.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    pub(super) fn has(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub(super) fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The positions not in the set.
    fn complement(&self) -> Bits {
        let mut c = Bits {
            words: self.words.iter().map(|w| !w).collect(),
            len: self.len,
        };
        if let (Some(last), r @ 1..) = (c.words.last_mut(), self.len % 64) {
            *last &= (1u64 << r) - 1;
        }
        c
    }

    /// How many positions are in exactly one of the two sets.
    fn differing(&self, other: &Bits) -> usize {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a ^ b).count_ones() as usize)
            .sum()
    }
}

/// A pending segment test: which question, which segment, raw p, and what it found.
pub(super) struct Pending {
    question: usize,
    finding: SegmentFinding,
}

/// Tests one segment against its complement on a table of categories.
pub(super) fn segment_test(
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
pub(super) fn categories(q: &Question, r: &Response) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    categories_into(q, r, &mut out).then_some(out)
}

/// Appends a respondent's categories on `q` to `out`; false when the question is not tested
/// or not answered (then nothing is appended). No allocation per respondent.
pub(super) fn categories_into(q: &Question, r: &Response, out: &mut Vec<usize>) -> bool {
    let Some(v) = r.answers.get(q.id.as_str()) else {
        return false;
    };
    let one = match (&q.kind, v) {
        (
            QuestionKind::Single { .. } | QuestionKind::MessageTest { .. },
            AnswerValue::Choice(id),
        ) => q.option_index(id),
        (QuestionKind::Multi { .. }, AnswerValue::Choices(ids)) => {
            out.extend(ids.iter().filter_map(|id| q.option_index(id)));
            return true;
        }
        (QuestionKind::Ranking { .. }, AnswerValue::Ranking(ids)) => {
            ids.first().and_then(|id| q.option_index(id))
        }
        (QuestionKind::Nps { .. }, AnswerValue::Scale(s)) => Some(match s {
            0..=6 => 0,
            7..=8 => 1,
            _ => 2,
        }),
        (QuestionKind::Rating { scale, .. }, AnswerValue::Scale(s)) => {
            // Low / middle / top-2 box, so sparse scale points do not break the test.
            let top = scale.saturating_sub(1);
            Some(if *s >= top {
                2
            } else if *s <= 2 {
                0
            } else {
                1
            })
        }
        _ => None,
    };
    match one {
        Some(i) => {
            out.push(i);
            true
        }
        None => false,
    }
}

pub(super) fn category_labels(q: &Question) -> Vec<String> {
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
pub(super) fn question_segments(
    qi: usize,
    q: &Question,
    rs: &[&Response],
    segs: &[Segment],
    min: usize,
    out: &mut Vec<Pending>,
) {
    let labels = category_labels(q);
    if labels.len() < 2 {
        return;
    }
    // Which respondents answered (positions in `rs`), with their categories flattened
    // (`ends[j]` closes the j-th answerer's run), and who of them is in each big enough
    // segment, as bits over the answerers. Categories are found once per respondent, not
    // once per segment: with many segments and a large survey that lookup was most of the
    // report's time.
    let (mut who, mut cats, mut ends) = (Vec::new(), Vec::new(), Vec::new());
    for (i, r) in rs.iter().enumerate() {
        if categories_into(q, r, &mut cats) {
            who.push(i);
            ends.push(cats.len());
        }
    }
    let answered = who.len();
    let mut shown: Vec<(&str, Bits)> = segs
        .iter()
        .map(|s| {
            let mut m = Bits::new(answered);
            for (j, &i) in who.iter().enumerate() {
                if s.members.has(i) {
                    m.set(j);
                }
            }
            (s.name.as_str(), m)
        })
        .filter(|(_, m)| {
            let c = m.count();
            c >= min.max(1) && answered - c >= min.max(1)
        })
        .collect();
    prune_differencing(&mut shown, answered, min);
    for (name, members) in &shown {
        let mut seg = vec![0u64; labels.len()];
        let mut rest = vec![0u64; labels.len()];
        let (mut n_seg, mut n_rest) = (0, 0);
        let mut start = 0;
        for (j, &end) in ends.iter().enumerate() {
            let (t, n) = if members.has(j) {
                (&mut seg, &mut n_seg)
            } else {
                (&mut rest, &mut n_rest)
            };
            *n += 1;
            for &c in &cats[start..end] {
                if let Some(x) = t.get_mut(c) {
                    *x += 1;
                }
            }
            start = end;
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
pub(super) fn prune_differencing(shown: &mut Vec<(&str, Bits)>, answered: usize, min: usize) {
    loop {
        let mut drop: Option<usize> = None;
        'pairs: for i in 0..shown.len() {
            for j in (i + 1)..shown.len() {
                let diff = shown[i].1.differing(&shown[j].1);
                if diff > 0 && diff < min {
                    drop = Some(if shown[i].1.count() <= shown[j].1.count() {
                        i
                    } else {
                        j
                    });
                    break 'pairs;
                }
            }
        }
        if drop.is_none() && !shown.is_empty() {
            let mut union = Bits::new(answered);
            for (_, m) in shown.iter() {
                for (u, w) in union.words.iter_mut().zip(&m.words) {
                    *u |= w;
                }
            }
            let outside = answered - union.count();
            if outside > 0 && outside < min {
                drop = shown
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, (_, m))| m.count())
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

/// The straightforward version (sets of respondent ids) this module's bit sets replaced: the
/// randomised test below holds the two to the same findings, to the last digit.
#[cfg(test)]
mod reference {
    use super::*;
    use crate::insight::Response;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    pub(super) fn attach(
        input: &Input<'_>,
        rs: &[&Response],
        questions: &mut [QuestionReport],
    ) -> usize {
        let survey = input.survey;
        let n = rs.len();
        // Segments: only those large enough to show, inside and outside.
        let mut seg_sizes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in rs {
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
                question_segments(qi, q, rs, &segs, input.min_segment, &mut pending);
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
        ps.len()
    }

    pub(super) fn question_segments(
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
        // Which respondents answered, with their categories, and who of them is in each big
        // enough segment. Categories are found once per respondent, not once per segment: with
        // many segments and a large survey that lookup was most of the report's time.
        let answered: Vec<(&Response, Vec<usize>)> = rs
            .iter()
            .filter_map(|r| categories(q, r).map(|c| (*r, c)))
            .collect();
        let mut shown: Vec<(&str, BTreeSet<i64>)> = segs
            .iter()
            .map(|(name, _)| {
                let members = answered
                    .iter()
                    .map(|(r, _)| r)
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
            for (r, cats) in &answered {
                let (t, n) = if r.segments.contains(name) {
                    (&mut seg, &mut n_seg)
                } else {
                    (&mut rest, &mut n_rest)
                };
                *n += 1;
                for &c in cats {
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

    pub(super) fn prune_differencing(
        shown: &mut Vec<(&str, BTreeSet<i64>)>,
        answered: usize,
        min: usize,
    ) {
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
                let union: BTreeSet<i64> =
                    shown.iter().flat_map(|(_, m)| m.iter().copied()).collect();
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

    /// Random answers to five question types with random segments: overlapping ones, exact
    /// complements, near-duplicates (that pruning must drop) and small ones, at several
    /// minimum sizes.
    #[test]
    fn bit_sets_find_exactly_what_sets_of_ids_found() {
        use crate::core::answer::AnswerValue;
        use crate::core::ids::{OptionId, QuestionId, SurveyId};
        use crate::core::survey::{ResultsVisibility, Survey, make_choices};
        let opts = |labels: &[&str]| {
            make_choices(labels.iter().map(|l| (None, l.to_string())).collect()).expect("options")
        };
        let kinds = [
            (
                "pick",
                QuestionKind::Single {
                    options: opts(&["A", "B", "C", "D"]),
                },
            ),
            (
                "tools",
                QuestionKind::Multi {
                    options: opts(&["X", "Y", "Z"]),
                    max_choices: 2,
                },
            ),
            (
                "ease",
                QuestionKind::Rating {
                    scale: 5,
                    low_label: "Hard".into(),
                    high_label: "Easy".into(),
                },
            ),
            (
                "nps",
                QuestionKind::Nps {
                    low_label: "No".into(),
                    high_label: "Yes".into(),
                },
            ),
            (
                "rank",
                QuestionKind::Ranking {
                    options: opts(&["P", "Q", "R"]),
                    top_k: None,
                },
            ),
        ];
        let survey = Survey {
            id: SurveyId::parse("s").expect("id"),
            title: "S".into(),
            intro: None,
            questions: kinds
                .into_iter()
                .map(|(id, k)| {
                    Question::new(QuestionId::parse(id).expect("id"), "Q?", k, false)
                        .expect("question")
                })
                .collect(),
            anonymous: false,
            opens_at: None,
            closes_at: None,
            results: ResultsVisibility::AfterClose,
            follows: None,
            headline: None,
        };
        let t0 = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let mut state = 0x2545_f491_u64;
        let mut below = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let id = |s: &str| OptionId::parse(s).expect("option");
        for round in 0..12 {
            let n = 60 + below(400) as usize;
            let names: Vec<Arc<str>> = ["a", "b", "c", "not c", "c twin", "tiny", "half", "e"]
                .iter()
                .map(|s| Arc::from(*s))
                .collect();
            let mut rs = Vec::new();
            for i in 0..n {
                let mut answers = crate::insight::Answers::default();
                let skew = usize::from(i % 3 == 0);
                if below(10) != 0 {
                    let o = ["a", "b", "c", "d"][(below(4) as usize + skew) % 4];
                    answers.insert(Arc::from("pick"), AnswerValue::Choice(id(o)));
                }
                if below(10) != 0 {
                    let picked: Vec<OptionId> = ["x", "y", "z"]
                        .iter()
                        .filter(|_| below(2) == 0)
                        .map(|o| id(o))
                        .collect();
                    answers.insert(Arc::from("tools"), AnswerValue::Choices(picked));
                }
                answers.insert(Arc::from("ease"), AnswerValue::Scale(1 + below(5) as u8));
                answers.insert(Arc::from("nps"), AnswerValue::Scale(below(11) as u8));
                let mut order = vec![id("p"), id("q"), id("r")];
                order.rotate_left(below(3) as usize);
                answers.insert(Arc::from("rank"), AnswerValue::Ranking(order));
                let mut segments = crate::insight::Segments::default();
                let in_c = below(3) == 0;
                for (k, name) in names.iter().enumerate() {
                    let on = match k {
                        2 => in_c,
                        3 => !in_c,
                        // c minus a few people: pruning must catch the difference.
                        4 => in_c && below(40) != 0,
                        5 => below(30) == 0,
                        6 => i % 2 == 0,
                        _ => below(4) == 0,
                    };
                    if on {
                        segments.insert(name.clone());
                    }
                }
                rs.push(Response {
                    respondent: i as i64 + 1,
                    answers,
                    segments,
                    new_member: false,
                    first_at: t0,
                    seconds: None,
                    locale: None,
                });
            }
            for min in [1, 5, 10, 30] {
                let input = Input {
                    survey: &survey,
                    status: crate::core::survey::Status::Open,
                    responses: &rs,
                    min_segment: min,
                    segment: None,
                    previous: None,
                    members_reached: None,
                };
                let refs: Vec<&Response> = rs.iter().collect();
                let base: Vec<QuestionReport> = survey
                    .questions
                    .iter()
                    .map(|q| super::super::analyse_question(q, &refs))
                    .collect();
                let (mut new, mut old) = (base.clone(), base);
                let tests_new = super::attach(&input, &refs, &mut new);
                let tests_old = attach(&input, &refs, &mut old);
                assert_eq!(tests_new, tests_old, "round {round}, min {min}");
                assert_eq!(
                    serde_json::to_string(&new).expect("json"),
                    serde_json::to_string(&old).expect("json"),
                    "round {round}, min {min}"
                );
                assert!(
                    tests_new > 0,
                    "round {round}, min {min}: something was tested"
                );
            }
        }
    }
}
