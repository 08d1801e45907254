//! Open-text questions: themes, phrases and sentiment, found per language.

use super::Response;
use crate::core::answer::AnswerValue;
use crate::core::survey::Question;
use crate::insight::report::*;
use crate::insight::text::themes::{self, TextAnswer, ThemeOptions};
use serde_json::json;
use std::collections::BTreeMap;

/// At most this many answers of one question are read for themes: a random sample of this
/// size states a theme's share within about ±0.7 points, and themes over every one of
/// 100,000 answers were most of the time of a report on a million answers. The sample is
/// stated wherever themes are shown.
const THEME_SAMPLE: usize = 20_000;

/// A fixed pseudo-random rank per respondent (splitmix64 of the id): the same respondents are
/// sampled on every run, and a new answer joins the sample or not without reshuffling it.
fn rank(respondent: i64) -> u64 {
    let mut z = (respondent as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The answers themes are found in: all of them up to `cap`, else the `cap` answers of the
/// respondents ranked first by `rank`, in their original order.
fn sample<'a>(mut all: Vec<(&'a Response, &'a str)>, cap: usize) -> Vec<(&'a Response, &'a str)> {
    if all.len() <= cap {
        return all;
    }
    let mut keyed: Vec<(u64, usize)> = all
        .iter()
        .enumerate()
        .map(|(i, (r, _))| (rank(r.respondent), i))
        .collect();
    keyed.select_nth_unstable(cap - 1);
    let mut keep: Vec<usize> = keyed[..cap].iter().map(|(_, i)| *i).collect();
    keep.sort_unstable();
    let mut k = keep.into_iter().peekable();
    let mut i = 0;
    all.retain(|_| {
        let kept = k.peek() == Some(&i);
        if kept {
            k.next();
        }
        i += 1;
        kept
    });
    all
}

/// Fills the report of an open-text question.
pub(super) fn analyse(q: &Question, rs: &[&Response], rep: &mut QuestionReport) {
    analyse_capped(q, rs, rep, THEME_SAMPLE)
}

pub(super) fn analyse_capped(q: &Question, rs: &[&Response], rep: &mut QuestionReport, cap: usize) {
    let texts: Vec<(&Response, &str)> = rs
        .iter()
        .filter_map(|r| match r.answers.get(q.id.as_str()) {
            Some(AnswerValue::Text(t)) => Some((*r, t.as_str())),
            _ => None,
        })
        .collect();
    let answers = texts.len();
    rep.n = answers;
    // Themes are found per language: words only cluster with words of their language.
    let mut by_lang: BTreeMap<&str, Vec<TextAnswer>> = BTreeMap::new();
    for (r, text) in sample(texts, cap) {
        by_lang
            .entry(r.locale.as_deref().unwrap_or(crate::locale::DEFAULT))
            .or_default()
            .push(TextAnswer {
                respondent: r.respondent as u64,
                text,
            });
    }
    // Shares and the finding are of the answers read: the sample when there is one.
    let total: usize = by_lang.values().map(Vec::len).sum();
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
        let summary = TextStat {
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
            sample: (total < answers).then_some(TextSample {
                analysed: total,
                answers,
            }),
        };
        rep.finding = match stats.first() {
            Some(t) => Statement::new(
                Code::TopTheme,
                json!({ "label": t.label, "count": t.count, "n": total,
                        "themes": stats.len(), "unclassified": unclassified,
                        "language": t.language,
                        "sample_of": (total < answers).then_some(answers) }),
            ),
            None => Statement::new(
                Code::NoThemes,
                json!({ "n": total, "sample_of": (total < answers).then_some(answers) }),
            ),
        };
        rep.detail = QuestionDetail::OpenText {
            themes: stats,
            summary,
        };
    }
}
