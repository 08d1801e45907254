//! Open-text questions: themes, phrases and sentiment, found per language.

use super::Response;
use crate::core::answer::AnswerValue;
use crate::core::survey::Question;
use crate::insight::report::*;
use crate::insight::text::themes::{self, TextAnswer, ThemeOptions};
use serde_json::json;
use std::collections::BTreeMap;

/// Fills the report of an open-text question.
pub(super) fn analyse(q: &Question, rs: &[&Response], rep: &mut QuestionReport) {
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
        };
        rep.finding = match stats.first() {
            Some(t) => Statement::new(
                Code::TopTheme,
                json!({ "label": t.label, "count": t.count, "n": total,
                        "themes": stats.len(), "unclassified": unclassified,
                        "language": t.language }),
            ),
            None => Statement::new(Code::NoThemes, json!({ "n": total })),
        };
        rep.detail = QuestionDetail::OpenText {
            themes: stats,
            summary,
        };
    }
}
