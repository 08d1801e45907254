//! The facts a narrative may rely on, taken from one report: every number shown, with what it
//! is about, the names of options, themes and segments, and where a majority may be claimed.

use super::claims::{self, Kind, Num};
use crate::insight::report::{Code, Confidence, QuestionReport, Report};

/// What a number in the report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum What {
    /// A share in percent (option, theme, top-2 box, strength, a segment's share).
    Share,
    /// A count of people or answers for one subject.
    Count,
    /// Respondents of the survey or of a question: may go with any subject.
    Total,
    /// An interval bound: never a share on its own.
    Bound,
    /// The NPS itself.
    Nps,
    /// A bound of the NPS interval: never the NPS on its own.
    NpsBound,
    /// A promoter/passive/detractor count: never a percentage.
    NpsCount,
    /// Anything else the model is given (Borda points, means, margins, changes).
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Fact {
    pub(super) value: f64,
    pub(super) what: What,
    /// Keys (lowercase labels) of what the number is about; empty: the whole survey.
    pub(super) about: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Interval {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) about: Vec<String>,
}

/// A way a subject can be named in the text, and the subject's key.
#[derive(Debug, Clone)]
pub(super) struct Name {
    pub(super) form: String,
    pub(super) key: String,
    /// The label as the report writes it, for the reason.
    pub(super) label: String,
}

/// An option's support for majority words.
#[derive(Debug, Clone)]
pub(super) struct Support {
    pub(super) key: String,
    /// Above 50% with the whole interval above 50%.
    pub(super) majority: bool,
    /// The robust clear leader of its question.
    pub(super) leader: bool,
}

/// Everything the narrative may rely on, taken from one report.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    /// Every number the shown report and the prompt contain, as written there.
    pub(super) shown: Vec<Num>,
    pub(super) decimal: char,
    pub(super) answers: Vec<String>,
    pub(super) labels: Vec<String>,
    pub(super) directional: bool,
    /// Per question: its option labels (lowercase) and whether it has a robust winner.
    pub(super) questions: Vec<(Vec<String>, bool)>,
    /// Whether the report's headline names a winner.
    pub(super) headline_winner: bool,
    pub(super) facts: Vec<Fact>,
    pub(super) intervals: Vec<Interval>,
    pub(super) names: Vec<Name>,
    pub(super) support: Vec<Support>,
    /// Segment keys the report says differ, each with the option it departs most on.
    pub(super) differing: Vec<(String, Option<String>)>,
    /// Segment keys the report names at all.
    pub(super) segments: Vec<String>,
    /// Per theme: the words of its label, its count and its share in percent.
    pub(super) themes: Vec<(Vec<String>, f64, f64)>,
    /// Per segment gap: segment key, the segment's share and everyone else's, in percent.
    pub(super) gaps: Vec<(String, f64, f64)>,
}

pub(super) fn key(s: &str) -> String {
    lower(&normalise(s))
}

/// Lowercase char by char, so char positions stay the same.
pub(super) fn lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

impl Facts {
    /// `shown` is the report as people read it (the deterministic text and the prompt): its
    /// numbers are the allowed ones, rounded as the report rounds them, read with `locale`'s
    /// decimal mark. `answers` are the members' texts.
    pub(crate) fn new(report: &Report, shown: &str, answers: Vec<String>, locale: &str) -> Self {
        let decimal = crate::locale::Numbers::for_locale(locale).decimal_mark();
        let mut labels = vec![report.survey.title.clone()];
        let mut questions = Vec::new();
        let mut facts = Vec::new();
        let mut intervals = Vec::new();
        let mut names: Vec<Name> = Vec::new();
        let mut support = Vec::new();
        let mut differing = Vec::new();
        let mut segments = Vec::new();
        let mut themes = Vec::new();
        let mut gaps = Vec::new();
        let mut fact = |value: f64, what: What, about: &[&str]| {
            facts.push(Fact {
                value,
                what,
                about: about.iter().map(|a| key(a)).collect(),
            });
        };
        let mut interval = |ci: [f64; 2], scale: f64, about: &[&str]| {
            intervals.push(Interval {
                lo: ci[0] * scale,
                hi: ci[1] * scale,
                about: about.iter().map(|a| key(a)).collect(),
            });
        };
        let mut name = |label: &str, form: &str| {
            names.push(Name {
                form: key(form),
                key: key(label),
                label: label.to_string(),
            });
        };
        fact(report.survey.respondents as f64, What::Total, &[]);
        if let Some(c) = report.quality.coverage {
            fact(c * 100.0, What::Other, &[]);
        }
        for q in &report.questions {
            labels.push(q.text.clone());
            fact(q.n as f64, What::Total, &[]);
            let mut opts: Vec<String> = Vec::new();
            if let Some(o) = q.detail.options() {
                for o in o {
                    let l = o.label.as_str();
                    opts.push(o.label.clone());
                    fact(o.share * 100.0, What::Share, &[l]);
                    fact(o.count as f64, What::Count, &[l]);
                    fact(o.prob_best * 100.0, What::Other, &[l]);
                    fact(o.ci95[0] * 100.0, What::Bound, &[l]);
                    fact(o.ci95[1] * 100.0, What::Bound, &[l]);
                    interval(o.ci95, 100.0, &[l]);
                    let leader = q.detail.leader().is_some_and(|x| x.label == o.label);
                    support.push(Support {
                        key: key(l),
                        majority: o.share > 0.5 && o.ci95[0] > 0.5,
                        leader: leader && has_winner(q),
                    });
                }
            }
            if let Some(l) = q.detail.leader() {
                let mut about = vec![l.label.as_str()];
                about.extend(l.runner_up.as_deref());
                fact(l.margin * 100.0, What::Other, &about);
                fact(l.margin_ci95[0] * 100.0, What::Bound, &about);
                fact(l.margin_ci95[1] * 100.0, What::Bound, &about);
                interval(l.margin_ci95, 100.0, &about);
            }
            if let Some(r) = q.detail.rating() {
                fact(r.mean, What::Other, &[]);
                fact(f64::from(r.scale), What::Other, &[]);
                fact(r.top2_share * 100.0, What::Share, &[]);
                if let Some(ci) = r.ci95 {
                    interval(ci, 1.0, &[]);
                    fact(ci[0], What::Bound, &[]);
                    fact(ci[1], What::Bound, &[]);
                }
                interval(r.top2_ci95, 100.0, &[]);
                fact(r.top2_ci95[0] * 100.0, What::Bound, &[]);
                fact(r.top2_ci95[1] * 100.0, What::Bound, &[]);
                for c in &r.distribution {
                    fact(*c as f64, What::Count, &[]);
                }
            }
            if let Some(n) = q.detail.nps() {
                fact(n.score, What::Nps, &[]);
                fact(n.ci95[0], What::NpsBound, &[]);
                fact(n.ci95[1], What::NpsBound, &[]);
                interval(n.ci95, 1.0, &[]);
                for c in [n.promoters, n.passives, n.detractors] {
                    fact(c as f64, What::NpsCount, &[]);
                }
            }
            if let Some(r) = q.detail.ranking() {
                for p in &r.borda {
                    opts.push(p.label.clone());
                    fact(p.points, What::Other, &[p.label.as_str()]);
                    let robust = r.robust_winner.as_deref() == Some(p.option.as_str());
                    support.push(Support {
                        key: key(&p.label),
                        majority: false,
                        leader: robust && has_winner(q),
                    });
                }
                for h in &r.head_to_head {
                    fact(h.a_over_b as f64, What::Count, &[]);
                    fact(h.b_over_a as f64, What::Count, &[]);
                }
            }
            if let Some(p) = q.detail.pairwise() {
                for s in &p.bradley_terry {
                    opts.push(s.label.clone());
                    fact(s.strength * 100.0, What::Share, &[s.label.as_str()]);
                    fact(s.comparisons as f64, What::Count, &[s.label.as_str()]);
                }
                fact(p.judgements as f64, What::Total, &[]);
                if let Some(t) = p.top_beats_second {
                    let about: Vec<&str> = p
                        .bradley_terry
                        .iter()
                        .take(2)
                        .map(|s| s.label.as_str())
                        .collect();
                    fact(t * 100.0, What::Other, &about);
                    if let Some(top) = about.first() {
                        support.push(Support {
                            key: key(top),
                            majority: false,
                            leader: has_winner(q),
                        });
                    }
                }
            }
            if let Some(t) = q.detail.themes() {
                for t in t {
                    labels.push(t.label.clone());
                    name(&t.label, &t.label);
                    fact(t.count as f64, What::Count, &[t.label.as_str()]);
                    fact(t.share * 100.0, What::Share, &[t.label.as_str()]);
                    let cs: Vec<char> = lower(&t.label).chars().collect();
                    let words = claims::words_of(&cs).into_iter().map(|w| w.text).collect();
                    themes.push((words, t.count as f64, t.share * 100.0));
                }
            }
            if let Some(t) = q.detail.text_summary() {
                fact(t.unclassified as f64, What::Count, &[]);
                fact(t.unclassified_share * 100.0, What::Share, &[]);
                for p in &t.phrases {
                    labels.push(p.text.clone());
                    name(&p.text, &p.text);
                    fact(p.respondents as f64, What::Count, &[p.text.as_str()]);
                }
            }
            for sg in &q.segments {
                labels.push(sg.segment.clone());
                segments.push(key(&sg.segment));
                if sg.differs {
                    differing.push((
                        key(&sg.segment),
                        sg.largest_gap.as_ref().map(|g| key(&g.option)),
                    ));
                }
                for form in segment_forms(&sg.segment) {
                    name(&sg.segment, &form);
                }
                let seg = sg.segment.as_str();
                fact(sg.n as f64, What::Count, &[seg]);
                for g in sg.options.iter().chain(sg.largest_gap.as_ref()) {
                    let about = [seg, g.option.as_str()];
                    fact(g.segment_share * 100.0, What::Share, &about);
                    fact(g.others_share * 100.0, What::Share, &about);
                    gaps.push((key(seg), g.segment_share * 100.0, g.others_share * 100.0));
                }
            }
            if let Some(c) = &q.change {
                for v in [c.before, c.after, c.difference] {
                    fact(v, What::Other, &[]);
                    fact(v * 100.0, What::Other, &[]);
                }
            }
            for o in &opts {
                name(o, o);
            }
            labels.extend(opts.iter().cloned());
            questions.push((opts.iter().map(|l| key(l)).collect(), has_winner(q)));
        }
        Self {
            shown: claims::numbers(shown, decimal)
                .into_iter()
                .filter(|f| f.kind == Kind::Plain)
                .map(|f| f.num)
                .collect(),
            decimal,
            answers: answers.iter().map(|a| normalise(a)).collect(),
            labels: labels.iter().map(|l| key(l)).collect(),
            directional: report.confidence == Confidence::Directional,
            questions,
            headline_winner: matches!(
                report.headline.code,
                Code::LeaderClear | Code::RobustWinner | Code::PairwiseTop
            ),
            facts,
            intervals,
            names,
            support,
            differing,
            segments,
            themes,
            gaps,
        }
    }
}

/// How a segment may be named: "persona: customer" also as "customer" and "customers".
pub(super) fn segment_forms(segment: &str) -> Vec<String> {
    let mut out = vec![segment.to_string()];
    let value = segment
        .rsplit([':', '='])
        .next()
        .unwrap_or(segment)
        .trim()
        .to_string();
    if !value.is_empty() && value != segment {
        out.push(format!("{value}s"));
        out.push(value);
    }
    out
}

/// Whether the report lets anyone call a winner for this question.
fn has_winner(q: &QuestionReport) -> bool {
    if q.n < 10 {
        return false;
    }
    if let Some(r) = q.detail.ranking() {
        return r.robust_winner.is_some();
    }
    if q.detail.message_test().is_some_and(|m| m.keep_collecting) {
        return false;
    }
    if let Some(l) = q.detail.leader() {
        return l.clearly_ahead;
    }
    if let Some(p) = q.detail.pairwise() {
        return p.top_beats_second.is_some_and(|p| p >= 0.8);
    }
    false
}

/// Whitespace collapsed, typographic apostrophes made plain.
pub(super) fn normalise(s: &str) -> String {
    s.replace(['’', '‘'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A subject named in the text.
#[derive(Debug, Clone)]
pub(super) struct Mention {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) key: String,
    pub(super) label: String,
}

/// Every subject named as whole words; a name inside a longer named one ("Speed" in "Speed
/// on large documents") names only the longer one.
pub(super) fn mentions_in(low: &[char], facts: &Facts) -> Vec<Mention> {
    let text: String = low.iter().collect();
    let mut byte_to_char = vec![0usize; text.len() + 1];
    for (ci, (bi, c)) in text.char_indices().enumerate() {
        byte_to_char[bi..bi + c.len_utf8()].fill(ci);
    }
    byte_to_char[text.len()] = low.len();
    let mut out: Vec<Mention> = Vec::new();
    for n in &facts.names {
        if n.form.is_empty() {
            continue;
        }
        for (bi, _) in text.match_indices(n.form.as_str()) {
            let start = byte_to_char[bi];
            let end = byte_to_char[bi + n.form.len()];
            let before = start.checked_sub(1).and_then(|i| low.get(i));
            let after = low.get(end);
            if before.is_some_and(|c| c.is_alphanumeric())
                || after.is_some_and(|c| c.is_alphanumeric())
            {
                continue;
            }
            out.push(Mention {
                start,
                end,
                key: n.key.clone(),
                label: n.label.clone(),
            });
        }
    }
    let all = out.clone();
    out.retain(|m| {
        !all.iter()
            .any(|o| o.start <= m.start && o.end >= m.end && (o.end - o.start) > (m.end - m.start))
    });
    out.sort_by_key(|m| (m.start, m.end));
    out.dedup_by(|a, b| a.start == b.start && a.end == b.end && a.key == b.key);
    out
}
