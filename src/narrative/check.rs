//! The checker: a model-written narrative is compared with the report before anyone sees it.
//! Pure code. The narrative is read as claims: every number (digits in any script, the
//! locale's decimal comma, signs, number words and fractions in en/de/es) with what it is
//! about (the option, theme or segment named in its clause, an interval, the NPS) and matched
//! against the report model; quotes must be members' own words, in order, without an ellipsis
//! that drops a negation; and the wording may not claim certainty, a winner, a majority, a
//! segment difference or "engagement" success the report does not support.

use super::claims::{self, Found, Kind, Num, Word};
use crate::insight::report::{Confidence, QuestionReport, Report};
use serde_json::{Value, json};

/// Why a narrative was dropped. The detail is the offending passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Empty,
    TooLong {
        chars: usize,
        max: usize,
    },
    /// A number that the report does not show (after the report's own rounding), including
    /// a flipped sign, a number in words, a fraction or a multiple.
    Number(String),
    /// A number the report shows, but not for what the narrative attaches it to (another
    /// option, an interval bound used as the share, another metric).
    Misattributed {
        number: String,
        subject: String,
    },
    /// A quoted passage that is not verbatim in any answer.
    Quote(String),
    /// A certainty word while the report's badge is "directional".
    Certainty(String),
    /// A winner claim where the report says there is no robust winner.
    Winner(String),
    /// A majority or "clear choice" the report's shares and intervals do not support.
    Majority(String),
    /// A difference between groups the report does not state.
    Segment(String),
    /// Engagement (responses, likes, reactions) presented as success.
    Engagement(String),
}

impl Failure {
    /// A stable code for logs, counters and the reason template.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Empty => "empty",
            Failure::TooLong { .. } => "too_long",
            Failure::Number(_) => "invented_number",
            Failure::Misattributed { .. } => "misattributed_number",
            Failure::Quote(_) => "altered_quote",
            Failure::Certainty(_) => "certainty",
            Failure::Winner(_) => "winner",
            Failure::Majority(_) => "majority",
            Failure::Segment(_) => "segment_claim",
            Failure::Engagement(_) => "engagement",
        }
    }

    /// The passage at fault, if any.
    pub fn detail(&self) -> String {
        match self {
            Failure::Empty => String::new(),
            Failure::TooLong { chars, max } => format!("{chars} > {max}"),
            Failure::Misattributed { number, .. } => number.clone(),
            Failure::Number(s)
            | Failure::Quote(s)
            | Failure::Certainty(s)
            | Failure::Winner(s)
            | Failure::Majority(s)
            | Failure::Segment(s)
            | Failure::Engagement(s) => s.clone(),
        }
    }

    /// The data `prompts/narrative/reason.hbs` words the failure from.
    pub fn data(&self) -> Value {
        match self {
            Failure::Misattributed { number, subject } => {
                json!({ "detail": number, "subject": subject })
            }
            f => json!({ "detail": f.detail() }),
        }
    }
}

/// What passed: how many numbers and quotes were checked.
pub use crate::insight::report::NarrativePassed as Passed;

/// What a number in the report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
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
struct Fact {
    value: f64,
    what: What,
    /// Keys (lowercase labels) of what the number is about; empty: the whole survey.
    about: Vec<String>,
}

#[derive(Debug, Clone)]
struct Interval {
    lo: f64,
    hi: f64,
    about: Vec<String>,
}

/// A way a subject can be named in the text, and the subject's key.
#[derive(Debug, Clone)]
struct Name {
    form: String,
    key: String,
    /// The label as the report writes it, for the reason.
    label: String,
}

/// An option's support for majority words.
#[derive(Debug, Clone)]
struct Support {
    key: String,
    /// Above 50% with the whole interval above 50%.
    majority: bool,
    /// The robust clear leader of its question.
    leader: bool,
}

/// Everything the narrative may rely on, taken from one report.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Every number the shown report and the prompt contain, as written there.
    shown: Vec<Num>,
    decimal: char,
    answers: Vec<String>,
    labels: Vec<String>,
    directional: bool,
    /// Per question: its option labels (lowercase) and whether it has a robust winner.
    questions: Vec<(Vec<String>, bool)>,
    /// Whether the report's headline names a winner.
    headline_winner: bool,
    facts: Vec<Fact>,
    intervals: Vec<Interval>,
    names: Vec<Name>,
    support: Vec<Support>,
    /// Segment keys the report says differ, each with the option it departs most on.
    differing: Vec<(String, Option<String>)>,
    /// Segment keys the report names at all.
    segments: Vec<String>,
    /// Per theme: the words of its label, its count and its share in percent.
    themes: Vec<(Vec<String>, f64, f64)>,
    /// Per segment gap: segment key, the segment's share and everyone else's, in percent.
    gaps: Vec<(String, f64, f64)>,
}

fn key(s: &str) -> String {
    lower(&normalise(s))
}

/// Lowercase char by char, so char positions stay the same.
fn lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

impl Facts {
    /// `shown` is the report as people read it (the deterministic text and the prompt): its
    /// numbers are the allowed ones, rounded as the report rounds them, read with `locale`'s
    /// decimal mark. `answers` are the members' texts.
    pub fn new(report: &Report, shown: &str, answers: Vec<String>, locale: &str) -> Self {
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
            if let Some(o) = &q.options {
                for o in o {
                    let l = o.label.as_str();
                    opts.push(o.label.clone());
                    fact(o.share * 100.0, What::Share, &[l]);
                    fact(o.count as f64, What::Count, &[l]);
                    fact(o.prob_best * 100.0, What::Other, &[l]);
                    fact(o.ci95[0] * 100.0, What::Bound, &[l]);
                    fact(o.ci95[1] * 100.0, What::Bound, &[l]);
                    interval(o.ci95, 100.0, &[l]);
                    let leader = q.leader.as_ref().is_some_and(|x| x.label == o.label);
                    support.push(Support {
                        key: key(l),
                        majority: o.share > 0.5 && o.ci95[0] > 0.5,
                        leader: leader && has_winner(q),
                    });
                }
            }
            if let Some(l) = &q.leader {
                let mut about = vec![l.label.as_str()];
                about.extend(l.runner_up.as_deref());
                fact(l.margin * 100.0, What::Other, &about);
                fact(l.margin_ci95[0] * 100.0, What::Bound, &about);
                fact(l.margin_ci95[1] * 100.0, What::Bound, &about);
                interval(l.margin_ci95, 100.0, &about);
            }
            if let Some(r) = &q.rating {
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
            if let Some(n) = &q.nps {
                fact(n.score, What::Nps, &[]);
                fact(n.ci95[0], What::NpsBound, &[]);
                fact(n.ci95[1], What::NpsBound, &[]);
                interval(n.ci95, 1.0, &[]);
                for c in [n.promoters, n.passives, n.detractors] {
                    fact(c as f64, What::NpsCount, &[]);
                }
            }
            if let Some(r) = &q.ranking {
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
            if let Some(p) = &q.pairwise {
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
            if let Some(t) = &q.themes {
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
            if let Some(t) = &q.text_summary {
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
                "leader_clear" | "robust_winner" | "pairwise_top"
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
fn segment_forms(segment: &str) -> Vec<String> {
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
    if let Some(r) = &q.ranking {
        return r.robust_winner.is_some();
    }
    if q.message_test.as_ref().is_some_and(|m| m.keep_collecting) {
        return false;
    }
    if let Some(l) = &q.leader {
        return l.clearly_ahead;
    }
    if let Some(p) = &q.pairwise {
        return p.top_beats_second.is_some_and(|p| p >= 0.8);
    }
    false
}

/// A quote found in the text: its content and the char span of that content.
struct Quote {
    text: String,
    start: usize,
    end: usize,
}

/// Checks a narrative against the facts; the first failure wins.
pub fn check(text: &str, facts: &Facts, max_chars: usize) -> Result<Passed, Failure> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::Empty);
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(Failure::TooLong {
            chars,
            max: max_chars,
        });
    }
    let quotes = quoted(text);
    for q in &quotes {
        if !quote_ok(&q.text, facts) {
            return Err(Failure::Quote(q.text.clone()));
        }
    }
    // A verified quote of a few words or more is a member's voice, not a claim about the
    // data: it is blanked out (positions kept). A shorter quote is read like the rest, so a
    // fragment such as "71" cannot launder a number.
    let mut cs: Vec<char> = text.chars().collect();
    for q in &quotes {
        if letter_words(&q.text) >= LONG_QUOTE {
            cs[q.start..q.end].iter_mut().for_each(|c| *c = ' ');
        }
    }
    let outside: String = cs.iter().collect();
    let low: Vec<char> = lower(&outside).chars().collect();
    let found = claims::numbers(&outside, facts.decimal);
    let mentions = mentions_in(&low, facts);
    let bounds = clause_bounds(&low);
    let ws = claims::words_of(&low);
    for (i, f) in found.iter().enumerate() {
        check_number(i, f, &found, facts, &low, &ws, &mentions, &bounds)?;
    }
    for (s, e) in sentence_spans(&low) {
        let sentence: String = low[s..e].iter().collect();
        let words: Vec<String> = claims::words_of(&low[s..e])
            .into_iter()
            .map(|w| w.text)
            .collect();
        let named: Vec<&Mention> = mentions
            .iter()
            .filter(|m| m.start >= s && m.end <= e)
            .collect();
        if let Some(p) = find_claim(&words, WINNER) {
            let options: Vec<&&Mention> = named
                .iter()
                .filter(|m| facts.questions.iter().any(|(l, _)| l.contains(&m.key)))
                .collect();
            // A named option must be the robust winner of a question it is in.
            let allowed = if options.is_empty() {
                facts.headline_winner
            } else {
                options
                    .iter()
                    .any(|m| facts.support.iter().any(|s| s.key == m.key && s.leader))
            };
            if !allowed {
                return Err(Failure::Winner(p));
            }
        }
        let in_sentence: Vec<&Found> = found
            .iter()
            .filter(|f| f.start >= s && f.end <= e)
            .collect();
        segment_gap(&sentence, &in_sentence, &named, facts)?;
        majority(&words, &named, facts)?;
        segment_claim(&sentence, &words, &named, facts)?;
        if facts.directional {
            if let Some(p) = find_claim(&words, CERTAIN) {
                return Err(Failure::Certainty(p));
            }
        }
        if let Some(p) = engagement(&words) {
            return Err(Failure::Engagement(p));
        }
    }
    Ok(Passed {
        numbers: found.len(),
        quotes: quotes.len(),
    })
}

/// A quote with at least this many words of letters is a member's sentence, not a fragment.
const LONG_QUOTE: usize = 4;

fn letter_words(s: &str) -> usize {
    s.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count()
}

/// Whether `n` (as written in the narrative) is `shown` rounded to `n`'s decimals: "67" may
/// stand for the report's "66.7", but "66.70" or "66.8" may not. Signs count: "+43" is not
/// "-43".
fn rounds_to(shown: Num, n: Num) -> bool {
    n.decimals <= shown.decimals && same(shown.value, n)
}

/// Whether a value of the model, rounded to `n`'s decimals, reads as `n`.
fn same(value: f64, n: Num) -> bool {
    let a = format!("{:.*}", n.decimals, value);
    let b = format!("{:.*}", n.decimals, n.value);
    // "-0" and "0" are the same number.
    a.trim_start_matches('-') == b.trim_start_matches('-')
        && (a.starts_with('-') == b.starts_with('-') || a.trim_matches(['-', '0', '.']).is_empty())
}

/// A subject named in the text.
#[derive(Debug, Clone)]
struct Mention {
    start: usize,
    end: usize,
    key: String,
    label: String,
}

/// Every subject named as whole words; a name inside a longer named one ("Speed" in "Speed
/// on large documents") names only the longer one.
fn mentions_in(low: &[char], facts: &Facts) -> Vec<Mention> {
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

/// Words that open a new clause: a number after them is about what they introduce.
const CLAUSE_WORDS: &[&str] = &[
    "and",
    "but",
    "while",
    "whereas",
    "although",
    "though",
    "ahead",
    "behind",
    "than",
    "und",
    "aber",
    "während",
    "sowie",
    "doch",
    "vor",
    "als",
    "y",
    "pero",
    "mientras",
    "aunque",
    "frente",
    "que",
    "versus",
    "vs",
    "gegenüber",
    "contra",
];

/// Char positions where a clause ends: sentence ends, `,` `;` `:` before a blank, dashes,
/// and joining words; never inside parentheses, so "Pizza (66.7%, 55–78%)" is one clause.
fn clause_bounds(low: &[char]) -> Vec<usize> {
    let mut out = vec![0];
    let mut depth = 0i32;
    let ws = claims::words_of(low);
    let mut wi = 0;
    for (i, c) in low.iter().enumerate() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = (depth - 1).max(0),
            _ => {}
        }
        if depth > 0 {
            continue;
        }
        let blank_next = low.get(i + 1).is_none_or(|n| n.is_whitespace());
        if matches!(c, ';' | '\n' | '—')
            || (matches!(c, ',' | ':' | '.' | '!' | '?') && blank_next)
            || (*c == '–' && low.get(i + 1).is_some_and(|n| n.is_whitespace()))
        {
            out.push(i);
        }
        while wi < ws.len() && ws[wi].start < i {
            wi += 1;
        }
        if ws
            .get(wi)
            .is_some_and(|w| w.start == i && CLAUSE_WORDS.contains(&w.text.as_str()))
        {
            out.push(i);
        }
    }
    out.push(low.len());
    out
}

fn sentence_spans(low: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in low.iter().enumerate() {
        let next_blank = low.get(i + 1).is_none_or(|n| n.is_whitespace());
        if matches!(c, '\n' | ';') || (matches!(c, '.' | '!' | '?') && next_blank) {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, low.len()));
    out.retain(|(s, e)| low[*s..*e].iter().any(|c| !c.is_whitespace()));
    out
}

const INTERVAL_WORDS: &[&str] = &[
    "interval",
    "intervals",
    "range",
    "between",
    "margin",
    "could",
    "might",
    "plausibly",
    "intervall",
    "zwischen",
    "spanne",
    "könnte",
    "intervalo",
    "entre",
    "margen",
    "podría",
];
const LEVEL_WORDS: &[&str] = &[
    "interval",
    "confidence",
    "intervall",
    "konfidenz",
    "konfidenzintervall",
    "intervalo",
    "confianza",
];
const NPS_WORDS: &[&str] = &[
    "nps",
    "promoter",
    "promoters",
    "passives",
    "detractors",
    "promotoren",
    "passive",
    "kritiker",
    "promotores",
    "pasivos",
    "detractores",
];

/// Checks one number: the report must show it, and show it for what its clause is about.
#[allow(clippy::too_many_arguments)]
fn check_number(
    i: usize,
    f: &Found,
    all: &[Found],
    facts: &Facts,
    low: &[char],
    ws: &[Word],
    mentions: &[Mention],
    bounds: &[usize],
) -> Result<(), Failure> {
    let invented = || Err(Failure::Number(f.raw.clone()));
    match f.kind {
        Kind::Unreadable | Kind::Multiplier => return invented(),
        Kind::Ratio => {
            if !facts
                .facts
                .iter()
                .any(|x| x.what == What::Share && same(x.value, f.num))
            {
                return invented();
            }
        }
        Kind::Plain => {
            if !facts.shown.iter().any(|s| rounds_to(*s, f.num)) {
                return invented();
            }
        }
    }
    // The second end of a range was checked with the first.
    if f.range_with.is_some_and(|j| j < i) {
        return Ok(());
    }
    let clause_start = bounds
        .iter()
        .copied()
        .filter(|b| *b <= f.start)
        .max()
        .unwrap_or(0);
    let clause_end = bounds
        .iter()
        .copied()
        .filter(|b| *b >= f.end)
        .min()
        .unwrap_or(low.len());
    let near: Vec<&str> = ws
        .iter()
        .filter(|w| {
            w.end <= f.start && w.start + 24 >= f.start || w.start >= f.end && w.start <= f.end + 16
        })
        .map(|w| w.text.as_str())
        .collect();
    // "95% interval", "95-%-Intervall": the interval's level, not a claim.
    if near.iter().any(|w| LEVEL_WORDS.contains(w)) && [90.0, 95.0, 99.0].contains(&f.num.value) {
        return Ok(());
    }
    let clause_words: Vec<&str> = ws
        .iter()
        .filter(|w| w.start >= clause_start && w.end <= clause_end)
        .map(|w| w.text.as_str())
        .collect();
    let subject = mentions
        .iter()
        .filter(|m| m.start >= clause_start && m.end <= f.start)
        .max_by_key(|m| m.end)
        .or_else(|| {
            mentions
                .iter()
                .filter(|m| m.start >= f.end && m.end <= clause_end)
                .min_by_key(|m| m.start)
        });
    let about = |x: &[String]| subject.is_none_or(|m| x.is_empty() || x.contains(&m.key));
    let wrong = |raw: String| {
        Err(Failure::Misattributed {
            number: raw,
            subject: subject
                .map(|m| m.label.clone())
                .unwrap_or_else(|| "NPS".into()),
        })
    };
    if let Some(j) = f.range_with {
        let g = &all[j];
        let fits = facts
            .intervals
            .iter()
            .any(|iv| same(iv.lo, f.num) && same(iv.hi, g.num) && about(&iv.about));
        if !fits && (subject.is_some() || clause_words.iter().any(|w| NPS_WORDS.contains(w))) {
            let raw: String = low[f.start..g.end].iter().collect();
            return wrong(raw);
        }
        return Ok(());
    }
    let interval_cue = clause_words.iter().any(|w| INTERVAL_WORDS.contains(w))
        || near.iter().any(|w| {
            matches!(
                *w,
                "up" | "least" | "most" | "low" | "high" | "bis" | "hasta"
            )
        });
    let nps = clause_words.iter().any(|w| NPS_WORDS.contains(w));
    theme_number(f, facts, &clause_words, subject.is_some())?;
    if subject.is_none() && !nps {
        return Ok(());
    }
    // "240 respondents chose Dark mode": everyone counted as the option's voters.
    let chosen_by_all = {
        let after: Vec<&str> = ws
            .iter()
            .filter(|w| w.start >= f.end)
            .take(3)
            .map(|w| w.text.as_str())
            .collect();
        let before = ws
            .iter()
            .rfind(|w| w.end <= f.start)
            .map(|w| w.text.as_str());
        after.iter().any(|w| CHOSE.contains(w))
            && !before
                .is_some_and(|b| matches!(b, "of" | "von" | "de" | "among" | "unter" | "entre"))
    };
    let fits = facts.facts.iter().any(|x| {
        let kind_ok = match x.what {
            What::Total => !f.num.percent && !chosen_by_all,
            What::Bound | What::NpsBound => interval_cue,
            What::Count => !f.num.percent || nps,
            What::NpsCount => !f.num.percent,
            What::Nps | What::Share | What::Other => true,
        };
        let topic_ok = if subject.is_some() {
            !x.about.is_empty() && about(&x.about) || x.what == What::Total
        } else {
            // Only the NPS cue is left: the number must be one of the NPS figures.
            matches!(
                x.what,
                What::Nps | What::NpsBound | What::NpsCount | What::Total
            )
        };
        kind_ok && topic_ok && same(x.value, f.num)
    });
    if fits { Ok(()) } else { wrong(f.raw.clone()) }
}

/// Verbs that say respondents picked an option.
const CHOSE: &[&str] = &[
    "chose",
    "picked",
    "voted",
    "selected",
    "want",
    "wanted",
    "prefer",
    "preferred",
    "wählten",
    "wählte",
    "stimmten",
    "wollen",
    "eligieron",
    "eligió",
    "votaron",
    "prefieren",
    "quieren",
];

/// Words that say a number is about a theme of the open answers.
const THEME_CUES: &[&str] = &[
    "theme",
    "themes",
    "came",
    "comes",
    "mentioned",
    "mentions",
    "raised",
    "thema",
    "themen",
    "genannt",
    "erwähnt",
    "tema",
    "temas",
    "mencionado",
    "mencionaron",
    "surgió",
];

/// A number in a clause about a theme ("Pricing came up 28 times") must be that theme's
/// count or share when the clause names a theme by a word of its label.
fn theme_number(
    f: &Found,
    facts: &Facts,
    clause_words: &[&str],
    has_subject: bool,
) -> Result<(), Failure> {
    if has_subject || !clause_words.iter().any(|w| THEME_CUES.contains(w)) {
        return Ok(());
    }
    // Words match on their first four letters: "pricing" names "price is too high".
    let stem = |w: &str| w.chars().take(4).collect::<String>();
    let named: Vec<&(Vec<String>, f64, f64)> = facts
        .themes
        .iter()
        .filter(|(words, _, _)| {
            clause_words.iter().any(|c| {
                c.chars().count() >= 4
                    && !THEME_CUES.contains(c)
                    && words
                        .iter()
                        .any(|t| t.chars().count() >= 4 && stem(t) == stem(c))
            })
        })
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let fits = named
        .iter()
        .any(|(_, count, share)| (!f.num.percent && same(*count, f.num)) || same(*share, f.num));
    if fits {
        Ok(())
    } else {
        Err(Failure::Misattributed {
            number: f.raw.clone(),
            subject: named
                .iter()
                .map(|(w, _, _)| w.join(" "))
                .next()
                .unwrap_or_default(),
        })
    }
}

/// Words for "everyone outside the segment".
const OTHERS: &[&str] = &[
    "everyone else",
    "everybody else",
    "the rest",
    "others",
    "other members",
    "alle anderen",
    "allen anderen",
    "übrigen",
    "restlichen",
    "los demás",
    "las demás",
    "el resto",
    "resto",
];

/// "Customers 0% versus 45% for everyone else": the segment's share comes first, as the report
/// states it; the two shares swapped reverse the finding.
fn segment_gap(
    sentence: &str,
    found: &[&Found],
    named: &[&Mention],
    facts: &Facts,
) -> Result<(), Failure> {
    if !named.iter().any(|m| facts.segments.contains(&m.key)) {
        return Ok(());
    }
    if !OTHERS.iter().any(|o| claims_mentions(sentence, o)) {
        return Ok(());
    }
    let [a, b] = match found {
        [a, b, ..] => [*a, *b],
        _ => return Ok(()),
    };
    let segs: Vec<&(String, f64, f64)> = facts
        .gaps
        .iter()
        .filter(|(s, _, _)| named.iter().any(|m| &m.key == s))
        .collect();
    let right = segs
        .iter()
        .any(|(_, seg, others)| same(*seg, a.num) && same(*others, b.num));
    let swapped = segs
        .iter()
        .any(|(_, seg, others)| same(*others, a.num) && same(*seg, b.num));
    if swapped && !right {
        return Err(Failure::Misattributed {
            number: format!("{} / {}", a.raw, b.raw),
            subject: named
                .iter()
                .find(|m| facts.segments.contains(&m.key))
                .map(|m| m.label.clone())
                .unwrap_or_default(),
        });
    }
    Ok(())
}

/// Passages in double quotes: “…”, "…", «…», „…“, and in single quotes '…', ‘…’ (an
/// apostrophe inside or at the end of a word, as in "don't" or "members'", opens nothing),
/// with the char span of their content.
fn quoted(text: &str) -> Vec<Quote> {
    let mut out = double_quoted(text);
    let cs: Vec<char> = text.chars().collect();
    let mut open: Option<usize> = None;
    for (i, c) in cs.iter().enumerate() {
        if !matches!(c, '\'' | '‘' | '’') {
            continue;
        }
        let before = i.checked_sub(1).and_then(|p| cs.get(p));
        let after = cs.get(i + 1);
        let word_before = before.is_some_and(|b| b.is_alphanumeric());
        let word_after = after.is_some_and(|a| a.is_alphanumeric());
        match open {
            None if !word_before && word_after => open = Some(i + 1),
            Some(start) if !before.is_some_and(|b| b.is_whitespace()) && !word_after => {
                let text: String = cs[start..i].iter().collect();
                if !text.trim().is_empty() && !out.iter().any(|q| q.start <= start && q.end >= i) {
                    out.push(Quote {
                        text,
                        start,
                        end: i,
                    });
                }
                open = None;
            }
            _ => {}
        }
    }
    out.sort_by_key(|q| q.start);
    out
}

fn double_quoted(text: &str) -> Vec<Quote> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize, String)> = None;
    for (i, c) in text.chars().enumerate() {
        match &mut open {
            None => {
                let close = match c {
                    '“' | '„' => '”',
                    '"' => '"',
                    '«' => '»',
                    _ => continue,
                };
                open = Some((close, i + 1, String::new()));
            }
            Some((close, start, buf)) => {
                // „…“ closes with “ in German typography.
                if c == *close || (c == '“' && *close == '”' && !buf.is_empty()) {
                    out.push(Quote {
                        text: std::mem::take(buf),
                        start: *start,
                        end: i,
                    });
                    open = None;
                } else {
                    buf.push(c);
                }
            }
        }
    }
    out.retain(|q| !q.text.trim().is_empty());
    out
}

/// Whitespace collapsed, typographic apostrophes made plain.
fn normalise(s: &str) -> String {
    s.replace(['’', '‘'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A quote is fine if its fragments between ellipses are verbatim in one answer, in order,
/// and what an ellipsis leaves out holds no negation ("I would … pay" from "I would never
/// pay"); or if the whole quote is a label the report shows (an option, theme, phrase or
/// question).
fn quote_ok(q: &str, facts: &Facts) -> bool {
    let trim = |s: &str| {
        s.trim_matches(|c: char| c.is_whitespace() || ",.;:!?".contains(c))
            .to_string()
    };
    let whole = trim(&normalise(q));
    if whole.is_empty() {
        return true;
    }
    if facts.labels.contains(&key(&whole)) {
        return true;
    }
    let joined = normalise(q)
        .replace("[...]", "…")
        .replace("[…]", "…")
        .replace("...", "…");
    let fragments: Vec<String> = joined
        .split('…')
        .map(trim)
        .filter(|f| !f.is_empty())
        .collect();
    if fragments.is_empty() {
        return false;
    }
    facts.answers.iter().any(|a| in_order(a, &fragments))
}

/// Whether the fragments occur in `answer` in order, with no negation left out between two
/// of them or just before the first.
fn in_order(answer: &str, fragments: &[String]) -> bool {
    let mut from = 0;
    for (k, f) in fragments.iter().enumerate() {
        let hit = [f.clone(), flip_first(f)]
            .iter()
            .filter_map(|form| {
                answer[from..]
                    .find(form.as_str())
                    .map(|i| (from + i, form.len()))
            })
            .min();
        let Some((at, len)) = hit else { return false };
        let skipped = if k == 0 {
            // Only the word right before the first fragment: "never" in "I would never pay".
            let before = &answer[..at];
            // ... unless punctuation parts them: "No, sync is broken".
            let last = before.split_whitespace().last().unwrap_or("");
            if before.ends_with(char::is_whitespace)
                && last
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '\'' || c == '’')
            {
                last
            } else {
                ""
            }
        } else {
            &answer[from..at]
        };
        let cs: Vec<char> = lower(skipped).chars().collect();
        if claims::words_of(&cs).iter().any(|w| is_negation(&w.text)) {
            return false;
        }
        from = at + len;
    }
    true
}

/// The fragment with its first letter's case changed: a quote may start a sentence.
fn flip_first(s: &str) -> String {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) if c.is_uppercase() => c.to_lowercase().chain(cs).collect(),
        Some(c) => c.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "neither", "nor", "nothing", "none", "nobody", "without", "cannot",
    "hardly", "nicht", "kein", "keine", "keinen", "keiner", "keinem", "keines", "nie", "niemals",
    "weder", "ohne", "nichts", "niemand", "nunca", "ni", "sin", "ningún", "ninguna", "ninguno",
    "nada", "nadie", "tampoco", "jamás",
];

fn is_negation(w: &str) -> bool {
    NEGATIONS.contains(&w) || w.ends_with("n't")
}

/// Words that may stand between a negation and what it negates: "not yet certain", "no
/// clear winner", "ist noch nicht sicher", "no hay un ganador claro".
const FILLERS: &[&str] = &[
    "yet",
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "really",
    "so",
    "very",
    "entirely",
    "quite",
    "fully",
    "any",
    "necessarily",
    "statistically",
    "still",
    "as",
    "too",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "go",
    "goes",
    "went",
    "there",
    "it",
    "this",
    "that",
    "one",
    "option",
    "single",
    "clear",
    "clearly",
    "much",
    "ist",
    "sind",
    "war",
    "waren",
    "sein",
    "noch",
    "sehr",
    "wirklich",
    "ein",
    "eine",
    "einen",
    "der",
    "die",
    "das",
    "es",
    "gibt",
    "hat",
    "haben",
    "ganz",
    "klar",
    "klaren",
    "klarer",
    "eindeutig",
    "eindeutigen",
    "son",
    "fue",
    "era",
    "está",
    "están",
    "hay",
    "un",
    "una",
    "el",
    "la",
    "lo",
    "los",
    "las",
    "todavía",
    "aún",
    "muy",
    "tan",
    "del",
    "tiene",
    "tienen",
    "claro",
    "clara",
];

/// Whether the phrase at `at` is negated: a negation before it with only fillers between.
fn negated(words: &[String], at: usize) -> bool {
    for w in words[..at].iter().rev().take(5) {
        if is_negation(w) {
            return true;
        }
        if !FILLERS.contains(&w.as_str()) {
            return false;
        }
    }
    false
}

const WINNER: &[&str] = &[
    "win",
    "wins",
    "won",
    "winner",
    "winners",
    "winning",
    "beats",
    "victory",
    "landslide",
    "dominates",
    "clearly ahead",
    "clearly leads",
    "leads clearly",
    "clear favourite",
    "clear favorite",
    "clearly preferred",
    "came out on top",
    "comes out on top",
    "topped",
    "tops",
    "came first",
    "comes first",
    "come first",
    "first place",
    // Only the verb: "a lead over Sushi" names the runner-up, not the winner.
    "leads",
    "decisively",
    "decisive",
    "top choice",
    "most popular",
    "liegt vorn",
    "liegt vorne",
    "führt",
    "an der spitze",
    "auf platz eins",
    "erster platz",
    "entschieden",
    "encabeza",
    "lidera",
    "primer lugar",
    "quedó primero",
    "decididamente",
    "gewinnt",
    "gewinner",
    "gewonnen",
    "sieger",
    "siegt",
    "klar vorn",
    "klarer favorit",
    "gana",
    "ganó",
    "ganador",
    "ganadora",
    "vence",
    "victoria",
    "claro favorito",
];

const CERTAIN: &[&str] = &[
    "certain",
    "certainly",
    "definitely",
    "definitive",
    "clearly",
    "clear-cut",
    "undoubtedly",
    "undeniably",
    "conclusive",
    "conclusively",
    "proves",
    "proven",
    "guaranteed",
    "unambiguous",
    "unambiguously",
    "decisive",
    "decisively",
    "overwhelming",
    "overwhelmingly",
    "beyond doubt",
    "for sure",
    "no doubt",
    "without a doubt",
    "be sure",
    "are sure",
    "confident",
    "confidently",
    "no question",
    "ohne zweifel",
    "zuversichtlich",
    "gewissheit",
    "seguros",
    "seguras",
    "certeza",
    "sin lugar a dudas",
    "confiados",
    "significant",
    "significantly",
    "sicher",
    "sicherlich",
    "eindeutig",
    "definitiv",
    "zweifellos",
    "zweifelsfrei",
    "unbestreitbar",
    "bewiesen",
    "beweist",
    "garantiert",
    "signifikant",
    "überwältigend",
    "mit sicherheit",
    "seguro",
    "seguramente",
    "ciertamente",
    "claramente",
    "definitivamente",
    "indudablemente",
    "innegable",
    "concluyente",
    "demuestra",
    "garantizado",
    "significativo",
    "significativamente",
    "abrumador",
    "abrumadora",
    "contundente",
    "sin duda",
];

/// The first phrase of `list` in `words` that is not negated just before.
fn find_claim(words: &[String], list: &[&str]) -> Option<String> {
    for i in 0..words.len() {
        for p in list {
            let parts: Vec<&str> = p.split(' ').collect();
            let hit = parts
                .iter()
                .enumerate()
                .all(|(k, part)| words.get(i + k).is_some_and(|w| w == part));
            // "no doubt" is itself a certainty phrase, not a negated one.
            if hit && (!negated(words, i) || is_negation(parts[0])) {
                return Some(words[i.saturating_sub(1)..i + parts.len()].join(" "));
            }
        }
    }
    None
}

/// Majority words: only for an option above 50% with its whole interval above 50%.
const MAJORITY: &[&str] = &[
    "majority",
    "most respondents",
    "most members",
    "most people",
    "most of the respondents",
    "most of the members",
    "most of them",
    "more than half",
    "nearly everyone",
    "almost everyone",
    "nearly all",
    "almost all",
    "virtually all",
    "the bulk",
    "bulk of",
    "fast alle",
    "nahezu alle",
    "großteil",
    "casi todos",
    "casi todas",
    "la gran parte",
    "over half",
    "mehrheit",
    "mehrheitlich",
    "die meisten",
    "mehr als die hälfte",
    "über die hälfte",
    "mayoría",
    "mayoritariamente",
    "más de la mitad",
];
/// "Clear choice" words: a majority as above, or the question's robust clear leader.
const CLEAR_CHOICE: &[&str] = &[
    "clear choice",
    "obvious choice",
    "overwhelmingly",
    "overwhelming",
    "by far",
    "klare wahl",
    "eindeutige wahl",
    "überwältigend",
    "überwältigende",
    "mit großem abstand",
    "elección clara",
    "clara elección",
    "abrumadoramente",
    "abrumadora",
    "por mucho",
];

fn majority(words: &[String], named: &[&Mention], facts: &Facts) -> Result<(), Failure> {
    for (list, loose) in [(MAJORITY, false), (CLEAR_CHOICE, true)] {
        let Some(p) = find_claim(words, list) else {
            continue;
        };
        let ok = |s: &Support| s.majority || (loose && s.leader);
        let options: Vec<&Support> = facts
            .support
            .iter()
            .filter(|s| named.iter().any(|m| m.key == s.key))
            .collect();
        let allowed = if options.is_empty() {
            // Unnamed ("no option has a majority"): a negation anywhere before excuses it.
            let at = words
                .iter()
                .position(|w| p.ends_with(w.as_str()))
                .unwrap_or(0);
            facts.support.iter().any(ok) || words[..at].iter().any(|w| is_negation(w))
        } else {
            options.iter().any(|s| ok(s))
        };
        if !allowed {
            return Err(Failure::Majority(p));
        }
    }
    Ok(())
}

/// Groups a narrative might invent when the report names no such segment.
const GROUPS: &[&str] = &[
    "new members",
    "newer members",
    "newcomers",
    "veterans",
    "long-time members",
    "longtime members",
    "older members",
    "younger members",
    "moderators",
    "admins",
    "power users",
    "customers",
    "neue mitglieder",
    "neuen mitglieder",
    "neulinge",
    "langjährige mitglieder",
    "moderatoren",
    "kunden",
    "nuevos miembros",
    "recién llegados",
    "veteranos",
    "moderadores",
    "clientes",
];
/// Words that make a sentence about a group a comparison.
const DIFFER: &[&str] = &[
    "more",
    "less",
    "fewer",
    "than",
    "differ",
    "differs",
    "different",
    "unlike",
    "compared",
    "versus",
    "vs",
    "prefer",
    "prefers",
    "favour",
    "favours",
    "favor",
    "favors",
    "likelier",
    "split",
    "mehr",
    "weniger",
    "anders",
    "unterscheiden",
    "unterscheidet",
    "bevorzugen",
    "bevorzugt",
    "gegenüber",
    "häufiger",
    "seltener",
    "stärker",
    "vergleich",
    "más",
    "menos",
    "difieren",
    "difiere",
    "diferente",
    "distinto",
    "prefieren",
    "prefiere",
    "frente",
    "comparación",
    "diferencia",
];

/// A sentence that compares a group must be about a segment the report says differs.
fn segment_claim(
    sentence: &str,
    words: &[String],
    named: &[&Mention],
    facts: &Facts,
) -> Result<(), Failure> {
    let Some(cue) = words.iter().position(|w| DIFFER.contains(&w.as_str())) else {
        return Ok(());
    };
    if negated(words, cue) {
        return Ok(());
    }
    let segs: Vec<&&Mention> = named
        .iter()
        .filter(|m| facts.segments.contains(&m.key))
        .collect();
    let generic: Vec<&str> = GROUPS
        .iter()
        .copied()
        .filter(|g| claims_mentions(sentence, g))
        .collect();
    let quote = || words.join(" ");
    // Options named beside the group: the report must state the difference on one of them.
    let options: Vec<&str> = named
        .iter()
        .filter(|m| !facts.segments.contains(&m.key))
        .map(|m| m.key.as_str())
        .collect();
    let stated = |seg: &str| {
        facts.differing.iter().any(|(s, gap)| {
            s == seg && (options.is_empty() || gap.as_deref().is_some_and(|g| options.contains(&g)))
        })
    };
    if segs.iter().any(|m| !stated(&m.key)) {
        return Err(Failure::Segment(quote()));
    }
    // A group word the report has no differing segment for.
    for g in generic {
        let backed = segs.iter().any(|m| {
            segment_forms(&m.key)
                .iter()
                .any(|f| g.contains(f.as_str()) || f.contains(g))
        });
        if !backed {
            return Err(Failure::Segment(quote()));
        }
    }
    Ok(())
}

/// Whether `label` occurs in `text` as whole words.
fn claims_mentions(text: &str, label: &str) -> bool {
    text.match_indices(label).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + label.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Counts of activity: never evidence of success.
const ACTIVITY: &[&str] = &[
    "engagement",
    "engaged",
    "likes",
    "reactions",
    "views",
    "impressions",
    "clicks",
    "turnout",
    "participation",
    "buzz",
    "viral",
    "hype",
    "traction",
    "beteiligung",
    "reaktionen",
    "aufrufe",
    "klicks",
    "resonanz",
    "participación",
    "interacción",
    "reacciones",
    "visualizaciones",
    "clics",
];
/// Plain answer counts, which only become a problem with strong praise.
const RESPONSES: &[&str] = &[
    "responses",
    "responded",
    "respondents",
    "answers",
    "answered",
    "replies",
    "antworten",
    "befragte",
    "befragten",
    "teilnehmende",
    "teilnehmenden",
    "respuestas",
    "encuestados",
    "participantes",
];
const PRAISE: &[&str] = &[
    "success",
    "successful",
    "impressive",
    "record",
    "great",
    "healthy",
    "excellent",
    "outstanding",
    "remarkable",
    "testament",
    "enthusiasm",
    "enthusiastic",
    "momentum",
    "thriving",
    "soared",
    "surge",
    "boost",
    "amazing",
    "erfolg",
    "erfolgreich",
    "beeindruckend",
    "beeindruckende",
    "rekord",
    "großartig",
    "großartige",
    "hervorragend",
    "begeisterung",
    "éxito",
    "exitoso",
    "exitosa",
    "impresionante",
    "récord",
    "excelente",
    "entusiasmo",
];
/// Words that make activity counts sound like success ("strong engagement"), though they
/// are fine about preferences and plain answer counts ("a strong preference").
const UP: &[&str] = &[
    "strong",
    "high",
    "higher",
    "good",
    "up",
    "rose",
    "grew",
    "growth",
    "increase",
    "increased",
    "jumped",
    "popular",
    "win",
    "stark",
    "starke",
    "starkes",
    "hoch",
    "hohe",
    "hohes",
    "gestiegen",
    "wachstum",
    "alta",
    "alto",
    "fuerte",
    "creció",
    "aumentó",
    "subió",
];

/// Activity with praise, unless that very praise (or activity) word is negated: an
/// unrelated "not" elsewhere in the sentence excuses nothing.
fn engagement(words: &[String]) -> Option<String> {
    let first = |list: &[&str]| {
        words
            .iter()
            .enumerate()
            .position(|(i, w)| list.contains(&w.as_str()) && !negated(words, i))
    };
    let praise = first(PRAISE);
    let up = first(UP);
    if first(ACTIVITY).is_some() && (praise.is_some() || up.is_some()) {
        return Some(words.join(" "));
    }
    if first(RESPONSES).is_some() && praise.is_some() {
        return Some(words.join(" "));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::demo;

    fn facts(report: &Report, shown: &str, answers: &[&str]) -> Facts {
        Facts::new(
            report,
            shown,
            answers.iter().map(|s| s.to_string()).collect(),
            "en",
        )
    }

    fn report(n: usize) -> Report {
        demo::report(n).expect("demo report")
    }

    fn n(value: f64, decimals: usize) -> Num {
        Num {
            value,
            decimals,
            percent: false,
        }
    }

    #[test]
    fn rounding_may_drop_decimals_but_never_add_or_change_them_or_the_sign() {
        let shown = n(66.7, 1);
        assert!(rounds_to(shown, n(66.7, 1)));
        assert!(rounds_to(shown, n(67.0, 0)));
        assert!(!rounds_to(shown, n(66.7, 2)));
        assert!(!rounds_to(shown, n(66.8, 1)));
        assert!(!rounds_to(shown, n(66.0, 0)));
        assert!(!rounds_to(n(-43.0, 0), n(43.0, 0)));
        assert!(rounds_to(n(-43.0, 0), n(-43.0, 0)));
    }

    #[test]
    fn faithful_text_passes_and_counts_what_it_checked() {
        let r = report(240);
        let f = facts(
            &r,
            "Dark mode 46.7% (40–53%) of 240",
            &["Sync keeps failing when I go offline, please fix it"],
        );
        let ok = check(
            "About 47% of 240 respondents chose Dark mode (40–53%). One wrote “sync keeps failing … please fix it”.",
            &f,
            1000,
        )
        .expect("passes");
        assert_eq!(
            ok,
            Passed {
                numbers: 4,
                quotes: 1
            }
        );
    }

    #[test]
    fn an_invented_number_is_named() {
        let r = report(240);
        let f = facts(&r, "Dark mode 46.7% of 240", &[]);
        assert_eq!(
            check("Dark mode has 47.1% support.", &f, 1000),
            Err(Failure::Number("47.1%".into()))
        );
        // More precision than the report shows is invented too.
        assert_eq!(
            check("Dark mode has 46.70%.", &f, 1000),
            Err(Failure::Number("46.70%".into()))
        );
    }

    #[test]
    fn quotes_must_be_verbatim_answers_or_labels() {
        let r = report(240);
        let f = facts(&r, "", &["The export is   too slow for big teams"]);
        assert!(check("“The export is too slow for big teams.”", &f, 1000).is_ok());
        assert!(check("\"the export is too slow\"", &f, 1000).is_ok());
        assert_eq!(
            check("“The export is far too slow”", &f, 1000),
            Err(Failure::Quote("The export is far too slow".into()))
        );
        // Fragments must come from one answer, in full and in order.
        assert!(check("“export is … big teams”", &f, 1000).is_ok());
        assert!(check("“export is … small teams”", &f, 1000).is_err());
        assert!(check("“big teams … export is”", &f, 1000).is_err());
        // The report's own labels may be quoted.
        let label = r.questions[0].options.as_ref().unwrap()[0].label.clone();
        assert!(check(&format!("“{label}”"), &f, 1000).is_ok());
    }

    #[test]
    fn an_ellipsis_may_not_drop_a_negation() {
        let r = report(240);
        let f = facts(
            &r,
            "",
            &["I would never pay for this", "No, sync is broken"],
        );
        assert!(check("“I would … pay for this”", &f, 1000).is_err());
        assert!(check("“pay for this”", &f, 1000).is_err());
        assert!(check("“I would never pay … this”", &f, 1000).is_ok());
        assert!(check("“sync is broken”", &f, 1000).is_ok());
    }

    #[test]
    fn certainty_is_refused_only_when_directional() {
        let mut r = report(240);
        r.confidence = Confidence::Directional;
        let f = facts(&r, "", &[]);
        assert!(matches!(
            check("Members definitely want sync.", &f, 1000),
            Err(Failure::Certainty(_))
        ));
        assert!(check("Nothing is certain yet; treat this as a hint.", &f, 1000).is_ok());
        // A "no" that negates something else excuses nothing.
        assert!(matches!(
            check(
                "No member asked for more, and sync is definitely wanted.",
                &f,
                1000
            ),
            Err(Failure::Certainty(_))
        ));
        r.confidence = Confidence::High;
        let f = facts(&r, "", &[]);
        assert!(check("Members definitely want sync.", &f, 1000).is_ok());
    }

    #[test]
    fn winner_claims_need_a_robust_winner_for_that_question() {
        let mut r = report(240);
        r.questions.truncate(1);
        let q = &mut r.questions[0];
        let label = q.options.as_ref().unwrap()[0].label.clone();
        if let Some(l) = &mut q.leader {
            l.clearly_ahead = false;
        }
        q.ranking = None;
        q.message_test = None;
        r.headline.code = "leader_unclear";
        let f = facts(&r, "", &[]);
        let text = format!("{label} clearly wins.");
        assert!(matches!(check(&text, &f, 1000), Err(Failure::Winner(p)) if p.contains("wins")));
        assert!(matches!(
            check("There is a winner.", &f, 1000),
            Err(Failure::Winner(_))
        ));
        assert!(check("There is no clear winner yet.", &f, 1000).is_ok());
        assert!(check("On top of that, opinions are split.", &f, 1000).is_ok());
        // A label inside a longer one (another question's option) names the longer one only.
        let mut two = r.clone();
        let mut other = two.questions[0].clone();
        if let Some(o) = other.options.as_mut().and_then(|o| o.first_mut()) {
            o.label = format!("{label} everywhere");
        }
        if let Some(l) = &mut other.leader {
            // The winner must be the option the leader names, so the fixture renames both.
            l.label = format!("{label} everywhere");
            l.clearly_ahead = true;
        }
        two.questions.push(other);
        let f = facts(&two, "", &[]);
        assert!(check(&format!("{label} everywhere wins."), &f, 1000).is_ok());
        assert!(check(&format!("{label} wins."), &f, 1000).is_err());
        if let Some(l) = &mut r.questions[0].leader {
            l.clearly_ahead = true;
        }
        let f = facts(&r, "", &[]);
        assert!(check(&text, &f, 1000).is_ok());
    }

    #[test]
    fn engagement_is_not_success() {
        let r = report(240);
        let f = facts(&r, "240", &[]);
        for bad in [
            "Engagement was strong this week.",
            "An impressive 240 responses show the community cares.",
            "Reactions went up.",
            "Not everyone voted, but engagement was strong.",
        ] {
            assert!(
                matches!(check(bad, &f, 1000), Err(Failure::Engagement(_))),
                "{bad}"
            );
        }
        for fine in [
            "240 people answered.",
            "Likes and reactions are not counted.",
            "Engagement was not strong.",
            "There is a strong preference for sync.",
            "240 responses show a strong preference for sync.",
        ] {
            assert!(check(fine, &f, 1000).is_ok(), "{fine}");
        }
    }

    #[test]
    fn empty_and_long_texts_are_dropped() {
        let r = report(240);
        let f = facts(&r, "", &[]);
        assert_eq!(check("  ", &f, 1000), Err(Failure::Empty));
        assert!(matches!(
            check(&"word ".repeat(300), &f, 1000),
            Err(Failure::TooLong { max: 1000, .. })
        ));
    }

    #[test]
    fn any_text_is_checked_without_panicking() {
        let r = catalogue_report();
        let f = Facts::new(
            &r,
            "Dark mode 46,7 % (40–53 %) of 240; NPS -43 (-55 bis -30)",
            vec!["I would never pay … for this".into(), "İİ ß 71".into()],
            "de",
        );
        // Pieces a model might produce, glued at random (a fixed xorshift, so runs repeat).
        let pieces = [
            "Dark mode",
            "46,7",
            "46.7",
            "%",
            " ",
            "-",
            "−",
            "–",
            "+",
            "“",
            "”",
            "„",
            "\"",
            "«",
            "»",
            "…",
            "...",
            "not",
            "no",
            "majority",
            "seventy-three",
            "three in four",
            "drei",
            "und",
            "von",
            "٧",
            "７",
            "½",
            "İ",
            "ß",
            "(",
            ")",
            ",",
            ".",
            ";",
            ":",
            "NPS",
            "interval",
            "bis",
            "between",
            "and",
            "customers",
            "more",
            "71",
            "0",
            "00,",
            ",000",
            "y",
            "de cada",
            "Prozent",
            "twice",
            "a third",
            "\n",
            "vs",
            "1,200.5",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text.push_str(pieces[(x % pieces.len() as u64) as usize]);
                if x % 3 == 0 {
                    text.push(' ');
                }
            }
            let _ = check(&text, &f, 2000);
        }
    }

    /// One locale's file of the catalogue in `src/narrative/catalogue/`.
    #[derive(serde::Deserialize)]
    struct Catalogue {
        locale: String,
        answers: Vec<String>,
        reject: Vec<Case>,
        pass: Vec<Case>,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        text: String,
        #[serde(default)]
        code: String,
        why: String,
    }

    /// The demo report with a negative NPS (−43, interval −55 to −30) and a directional
    /// badge, so sign flips and certainty can be tried.
    fn catalogue_report() -> Report {
        let mut r = report(240);
        r.confidence = Confidence::Directional;
        for q in &mut r.questions {
            if let Some(nps) = &mut q.nps {
                nps.score = -43.0;
                nps.ci95 = [-55.0, -30.0];
            }
        }
        r
    }

    #[test]
    fn the_adversarial_catalogue_is_rejected_and_honest_narratives_pass_in_every_locale() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let r = catalogue_report();
        let mut failures = Vec::new();
        let mut count = 0;
        for raw in [
            include_str!("catalogue/en.toml"),
            include_str!("catalogue/de.toml"),
            include_str!("catalogue/es.toml"),
        ] {
            let cat: Catalogue = toml::from_str(raw).expect("catalogue parses");
            let renderer = crate::render::Renderer::load(&dir)
                .expect("prompts")
                .with_team_locale(&cat.locale);
            let shown = renderer
                .report(
                    crate::render::report::Format::Chat(crate::render::Target::Plain),
                    &r,
                )
                .expect("report");
            let (_, user) = renderer.narrative_prompt(&r, 1200).expect("prompt");
            let f = Facts::new(
                &r,
                &format!("{shown}\n{user}"),
                cat.answers.clone(),
                &cat.locale,
            );
            assert!(
                cat.reject.len() >= 10 && cat.pass.len() >= 4,
                "{}",
                cat.locale
            );
            for c in &cat.reject {
                count += 1;
                match check(&c.text, &f, 2000) {
                    Err(e) if e.code() == c.code => {}
                    other => failures.push(format!(
                        "[{}] must be rejected as {} ({}): {:?}\n    {}",
                        cat.locale, c.code, c.why, other, c.text
                    )),
                }
            }
            for c in &cat.pass {
                count += 1;
                if let Err(e) = check(&c.text, &f, 2000) {
                    failures.push(format!(
                        "[{}] must pass ({}): {e:?}\n    {}",
                        cat.locale, c.why, c.text
                    ));
                }
            }
        }
        assert!(count >= 45, "{count}");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
