//! A deterministic synthetic survey with answers of every type, used by `canvass check` to
//! render the report templates, and by tests and benchmarks.

use super::{Answers, Response, Segments};
use crate::core::answer::AnswerValue;
use crate::core::ids::{OptionId, QuestionId, SurveyId};
use crate::core::survey::{Question, QuestionKind, ResultsVisibility, Survey, make_choices};
use chrono::{DateTime, Duration, TimeZone, Utc};

fn choices(labels: &[&str]) -> Vec<crate::core::survey::Choice> {
    make_choices(labels.iter().map(|l| (None, (*l).to_string())).collect()).unwrap_or_default()
}

fn q(id: &str, text: &str, kind: QuestionKind) -> Option<Question> {
    Question::new(QuestionId::parse(id).ok()?, text, kind, false).ok()
}

/// A survey with one question of each type.
pub fn survey() -> Option<Survey> {
    let features = ["Dark mode", "Offline sync", "CSV export", "Single sign-on"];
    Survey {
        id: SurveyId::parse("demo").ok()?,
        title: "Demo: what should we build next?".into(),
        intro: None,
        questions: vec![
            q(
                "feature",
                "Which should we build next?",
                QuestionKind::Single {
                    options: choices(&features),
                },
            )?,
            q(
                "tools",
                "Which tools do you use?",
                QuestionKind::Multi {
                    options: choices(&["Slack", "Discord", "Telegram"]),
                    max_choices: 2,
                },
            )?,
            q(
                "ease",
                "How easy is setup?",
                QuestionKind::Rating {
                    scale: 5,
                    low_label: "Hard".into(),
                    high_label: "Easy".into(),
                },
            )?,
            q(
                "nps",
                "How likely are you to recommend us?",
                QuestionKind::Nps {
                    low_label: "Not at all".into(),
                    high_label: "Extremely".into(),
                },
            )?,
            q(
                "rank",
                "Rank these",
                QuestionKind::Ranking {
                    options: choices(&features),
                    top_k: Some(3),
                },
            )?,
            q(
                "pairs",
                "Which matters more?",
                QuestionKind::Pairwise {
                    options: choices(&["Speed", "Price", "Support"]),
                    pairs_per_member: 2,
                },
            )?,
            q(
                "tagline",
                "Which line speaks to you?",
                QuestionKind::MessageTest {
                    options: choices(&[
                        "Ship surveys in seconds",
                        "Know what your community wants",
                    ]),
                    min_per_variant: 50,
                },
            )?,
            q(
                "wish",
                "What would you change?",
                QuestionKind::OpenText { max_chars: 500 },
            )?,
        ],
        anonymous: false,
        opens_at: None,
        closes_at: None,
        results: ResultsVisibility::AfterClose,
        follows: None,
        headline: None,
    }
    .validated()
    .ok()
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

const WISHES: [&str; 8] = [
    "Please add dark mode, my eyes hurt at night",
    "Dark mode would be great for late sessions",
    "Offline sync keeps failing on the train",
    "I need offline sync when travelling",
    "Export to CSV so I can use spreadsheets",
    "CSV export for our monthly report",
    "The price is too high for a small team",
    "Honestly it is great already, thanks!",
];

/// `n` synthetic responses with a clear leader, a segment that differs, and text themes.
pub fn responses(survey: &Survey, n: usize, t0: DateTime<Utc>) -> Vec<Response> {
    let mut rng = Lcg(42);
    let opt = |qi: usize, i: usize| {
        survey
            .questions
            .get(qi)
            .and_then(|q| q.kind.options().get(i))
            .map(|o| o.id.clone())
    };
    let mut ids = super::Interner::default();
    (0..n)
        .map(|i| {
            let customer = i % 3 == 0;
            let mut answers = Answers::default();
            // Customers lean to SSO; everyone else to dark mode.
            let pick = if customer {
                [3, 3, 1, 0][rng.next(4) as usize]
            } else {
                [0, 0, 0, 1, 2][rng.next(5) as usize]
            };
            if let Some(o) = opt(0, pick) {
                answers.insert(ids.get("feature"), AnswerValue::Choice(o));
            }
            let tools: Vec<OptionId> = (0..3)
                .filter(|_| rng.next(2) == 0)
                .take(2)
                .filter_map(|k| opt(1, k))
                .collect();
            if !tools.is_empty() {
                answers.insert(ids.get("tools"), AnswerValue::Choices(tools));
            }
            answers.insert(ids.get("ease"), AnswerValue::Scale(2 + rng.next(4) as u8));
            answers.insert(
                ids.get("nps"),
                AnswerValue::Scale([10, 9, 9, 8, 7, 6, 3, 10][rng.next(8) as usize]),
            );
            let mut order = vec![0usize, 1, 2, 3];
            for k in (1..4).rev() {
                order.swap(k, rng.next(k as u64 + 1) as usize);
            }
            if customer {
                order.retain(|x| *x != 3);
                order.insert(0, 3);
            }
            answers.insert(
                ids.get("rank"),
                AnswerValue::Ranking(order.iter().take(3).filter_map(|k| opt(4, *k)).collect()),
            );
            let (a, b) = (rng.next(3) as usize, rng.next(3) as usize);
            if a != b {
                if let (Some(w), Some(l)) = (opt(5, a.min(b)), opt(5, a.max(b))) {
                    answers.insert(ids.get("pairs"), AnswerValue::Pairwise(vec![(w, l)]));
                }
            }
            if let Some(o) = opt(6, usize::from(rng.next(3) == 0)) {
                answers.insert(ids.get("tagline"), AnswerValue::Choice(o));
            }
            if i % 2 == 0 {
                answers.insert(
                    ids.get("wish"),
                    AnswerValue::Text(WISHES[rng.next(8) as usize].to_string()),
                );
            }
            let mut segments = Segments::default();
            segments.insert(ids.get(if customer {
                "persona: customer"
            } else {
                "persona: trying it"
            }));
            Response {
                respondent: i as i64 + 1,
                answers,
                segments,
                new_member: false,
                first_at: t0 + Duration::minutes(i as i64),
                seconds: Some(20.0 + rng.next(60) as f64),
                locale: None,
            }
        })
        .collect()
}

/// A full demo report over `n` respondents.
pub fn report(n: usize) -> Option<super::Report> {
    let s = survey()?;
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).single()?;
    let rs = responses(&s, n, t0);
    Some(super::analyse(&super::Input {
        survey: &s,
        status: crate::core::survey::Status::Closed,
        responses: &rs,
        min_segment: 10,
        segment: None,
        previous: None,
        members_reached: Some(n * 3),
    }))
}

#[cfg(test)]
mod tests {
    use crate::core::survey::{Status, Survey};
    use crate::insight::{Input, Previous, Report, Response, analyse, baseline};
    use chrono::TimeZone;
    #[test]
    fn demo_report_has_every_part() {
        let r = super::report(240).expect("demo report");
        assert_eq!(r.survey.respondents, 240);
        assert_eq!(r.questions.len(), 8);
        let feature = &r.questions[0];
        assert_eq!(
            feature.detail.leader().map(|l| l.label.as_str()),
            Some("Dark mode")
        );
        assert!(
            feature.segments.iter().any(|s| s.differs),
            "{:?}",
            feature.segments
        );
        assert!(
            r.questions[7]
                .detail
                .themes()
                .is_some_and(|t| !t.is_empty())
        );
    }

    /// A baseline (the previous view, built without themes or segment tests) gives every change
    /// line exactly what a full report as the previous gives, on the demo survey's eight types
    /// at many sizes, with and without a segment filter.
    #[test]
    fn a_baseline_as_previous_changes_nothing_in_the_report() {
        let s = super::survey().unwrap();
        let t0 = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for (before_n, after_n) in [(5, 9), (12, 40), (60, 61), (300, 180), (40, 400)] {
            let before = super::responses(&s, before_n, t0);
            let after = super::responses(&s, after_n, t0);
            for segment in [None, Some("persona: customer")] {
                fn input<'a>(
                    s: &'a Survey,
                    rs: &'a [Response],
                    segment: Option<&'a str>,
                ) -> Input<'a> {
                    Input {
                        survey: s,
                        status: Status::Open,
                        responses: rs,
                        min_segment: 10,
                        segment,
                        previous: None,
                        members_reached: None,
                    }
                }
                let (full, base) = (
                    analyse(&input(&s, &before, segment)),
                    baseline(&input(&s, &before, segment)),
                );
                let with = |prev: &Report| {
                    analyse(&Input {
                        previous: Some(Previous {
                            label: "the last digest".into(),
                            report: prev,
                        }),
                        ..input(&s, &after, segment)
                    })
                };
                let (a, b) = (with(&full), with(&base));
                assert!(
                    a.questions.iter().any(|q| q.change.is_some())
                        || before_n < 10
                        || segment.is_some(),
                    "{before_n} → {after_n}: some change is compared"
                );
                assert_eq!(
                    serde_json::to_string(&a).unwrap(),
                    serde_json::to_string(&b).unwrap(),
                    "{before_n} → {after_n}, segment {segment:?}"
                );
            }
        }
    }
}
