//! Builds what members and the team see (template name, data and buttons) from core state.
//! Pure: the wording lives in `prompts/`, the layout of buttons here.

use crate::core::answer::AnswerValue;
use crate::core::event::{Button, ButtonAction, Expect, Keyboard, Label, Msg};
use crate::core::ids::SurveyKey;
use crate::core::interact::{self, Draft};
use crate::core::pairs::{shuffled, stable_seed};
use crate::core::payload::{Action, Payload};
use crate::core::survey::{Question, QuestionKind, ResultsVisibility, Status, Survey};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

fn button(survey: SurveyKey, label: Label, action: Action) -> Button {
    Button {
        label,
        action: ButtonAction::Payload(Payload::new(survey, action).encode()),
    }
}

fn text_button(survey: SurveyKey, text: &str, action: Action) -> Button {
    button(survey, Label::Text(text.to_string()), action)
}

fn tpl_button(survey: SurveyKey, template: &'static str, action: Action) -> Button {
    button(
        survey,
        Label::Template(Msg::new(template, json!({}))),
        action,
    )
}

/// Lays buttons out in rows of at most `width` (never more than five, for Discord).
fn rows(buttons: Vec<Button>, width: usize) -> Vec<Vec<Button>> {
    let width = width.clamp(1, 5);
    let mut out = Vec::new();
    let mut row = Vec::new();
    for b in buttons {
        row.push(b);
        if row.len() == width {
            out.push(std::mem::take(&mut row));
        }
    }
    if !row.is_empty() {
        out.push(row);
    }
    out
}

/// Display order of a question's options for this member: shuffled for message tests
/// (position bias), as defined otherwise.
pub(super) fn display_order(q: &Question, seed: u64) -> Vec<usize> {
    let n = q.kind.options().len();
    match q.kind {
        QuestionKind::MessageTest { .. } => shuffled(n, seed),
        _ => (0..n).collect(),
    }
}

/// The seed that fixes a member's card schedule and shuffle for one question.
pub(super) fn member_seed(survey: &Survey, q: &Question, who: &str) -> u64 {
    stable_seed(&[survey.id.as_str(), q.id.as_str(), who])
}

/// Scale buttons: 1..5 / 1..7 on one or two rows, NPS 0..10 on three rows of at most four.
fn scale_buttons(key: SurveyKey, qi: u8, lo: u8, hi: u8) -> Vec<Vec<Button>> {
    let buttons: Vec<Button> = (lo..=hi)
        .map(|v| {
            text_button(
                key,
                &v.to_string(),
                Action::Choose {
                    question: qi,
                    value: v,
                },
            )
        })
        .collect();
    let width = if hi - lo + 1 > 7 { 4 } else { 5 };
    rows(buttons, width)
}

/// Short description of how to answer, as data for the templates.
fn hint(q: &Question, inline: bool) -> &'static str {
    match (&q.kind, inline) {
        (QuestionKind::Single { .. }, true) => "single_inline",
        (QuestionKind::Single { .. }, false) => "single",
        (QuestionKind::Multi { .. }, true) => "multi_inline",
        (QuestionKind::Multi { .. }, false) => "multi",
        (QuestionKind::Rating { .. }, _) => "rating",
        (QuestionKind::Nps { .. }, _) => "nps",
        (QuestionKind::Ranking { .. }, _) => "ranking",
        (QuestionKind::Pairwise { .. }, _) => "pairwise",
        (QuestionKind::MessageTest { .. }, _) => "message_test",
        (QuestionKind::OpenText { .. }, _) => "open_text",
    }
}

fn question_data(q: &Question, inline: bool) -> Value {
    let mut v = json!({
        "id": q.id.as_str(),
        "text": q.text,
        "type": q.kind.type_name(),
        "hint": hint(q, inline),
        "optional": q.optional,
    });
    match &q.kind {
        QuestionKind::Rating {
            scale,
            low_label,
            high_label,
        } => {
            v["low"] = json!(1);
            v["high"] = json!(scale);
            v["low_label"] = json!(low_label);
            v["high_label"] = json!(high_label);
        }
        QuestionKind::Nps {
            low_label,
            high_label,
        } => {
            v["low"] = json!(0);
            v["high"] = json!(10);
            v["low_label"] = json!(low_label);
            v["high_label"] = json!(high_label);
        }
        QuestionKind::Multi { max_choices, .. } => v["max_choices"] = json!(max_choices),
        QuestionKind::Ranking { options, top_k } => {
            v["rank_count"] = json!(top_k.unwrap_or(options.len()))
        }
        QuestionKind::OpenText { max_chars } => v["max_chars"] = json!(max_chars),
        _ => {}
    }
    v
}

/// A date as members of `locale` write it (`02.12.2026, 18:00 UTC`), or null.
pub(super) fn when(t: Option<DateTime<Utc>>, locale: &str) -> Value {
    t.map(|t| json!(crate::locale::Numbers::for_locale(locale).datetime(&t)))
        .unwrap_or(Value::Null)
}

/// Whether everyone may see a survey's tallies now (in the posted message, in `/survey`):
/// while open with `results = "live"`, once closed unless `team_only`. With `after_vote` a
/// member who answered also sees them privately in the acknowledgement of the tap.
pub(super) fn results_visible(survey: &Survey, status: Status) -> bool {
    match survey.results {
        ResultsVisibility::TeamOnly => false,
        ResultsVisibility::Live => true,
        ResultsVisibility::AfterClose | ResultsVisibility::AfterVote => status == Status::Closed,
    }
}

/// A text bar of ten cells for a share in percent: the tally readable at a glance in any chat.
fn bar(share: f64) -> String {
    let filled = ((share / 10.0).round() as usize).min(10);
    format!("{}{}", "█".repeat(filled), "░".repeat(10 - filled))
}

/// The tallies a poll message shows: per option (per scale value for ratings; first places for
/// rankings) how many respondents chose it and their share of those who answered, written the
/// way `locale` writes percentages. `answers` are the current answers to the poll's question.
/// How many people the current answer rows are from (respondents with at least one).
pub(super) fn people(rows: &[crate::store::AnswerRow]) -> i64 {
    let n = rows
        .iter()
        .map(|r| r.respondent)
        .collect::<std::collections::HashSet<_>>()
        .len();
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn tallies(q: &Question, answers: &[&AnswerValue], locale: &str) -> Value {
    let mut counts: Vec<(String, usize)> = match q.kind.scale() {
        Some((lo, hi)) => (lo..=hi).map(|v| (v.to_string(), 0)).collect(),
        None => q
            .kind
            .options()
            .iter()
            .map(|o| (o.label.clone(), 0))
            .collect(),
    };
    let option =
        |id: &crate::core::ids::OptionId| q.kind.options().iter().position(|o| &o.id == id);
    for a in answers {
        let hits: Vec<usize> = match a {
            AnswerValue::Choice(id) => option(id).into_iter().collect(),
            AnswerValue::Choices(ids) => ids.iter().filter_map(option).collect(),
            AnswerValue::Ranking(ids) => ids.first().and_then(option).into_iter().collect(),
            AnswerValue::Scale(v) => q
                .kind
                .scale()
                .and_then(|(lo, _)| v.checked_sub(lo))
                .map(usize::from)
                .into_iter()
                .collect(),
            AnswerValue::Pairwise(_) | AnswerValue::Text(_) => Vec::new(),
        };
        for i in hits {
            if let Some(c) = counts.get_mut(i) {
                c.1 += 1;
            }
        }
    }
    let n = answers.len();
    let numbers = crate::locale::Numbers::for_locale(locale);
    let scale = q.kind.scale().is_some();
    let rows: Vec<Value> = counts
        .into_iter()
        // A scale's empty values would only add lines; options always show.
        .filter(|(_, c)| !scale || *c > 0)
        .map(|(label, count)| {
            let share = if n == 0 {
                0.0
            } else {
                100.0 * count as f64 / n as f64
            };
            json!({ "label": label, "count": count, "share": numbers.pct(share, 0), "bar": bar(share) })
        })
        .collect();
    let first_places = matches!(q.kind, QuestionKind::Ranking { .. });
    json!({ "answered": n, "first_places": first_places, "rows": rows })
}

/// The message a poll or survey is posted as in a group.
pub fn posted(
    key: SurveyKey,
    survey: &Survey,
    status: Status,
    respondents: i64,
    results: Option<Value>,
    locale: &str,
) -> (Msg, Keyboard) {
    let open = status == Status::Open;
    let show_results = results.is_some() && results_visible(survey, status);
    let mut data = json!({
        "title": survey.title,
        "intro": survey.intro,
        "respondents": respondents,
        "closes_at": when(survey.closes_at, locale),
        "status": status.as_str(),
        "open": open,
        "questions": survey.questions.len(),
        "results_hidden": !show_results,
        "results_mode": survey.results.as_str(),
        "anonymous": survey.anonymous,
        "id": survey.id.as_str(),
        "results": if show_results { results.unwrap_or(Value::Null) } else { Value::Null },
    });
    if survey.is_inline_poll() {
        let q = &survey.questions[0];
        data["question"] = question_data(q, true);
        let mut kb = Keyboard::default();
        if open {
            kb.rows = match &q.kind {
                QuestionKind::Rating { .. } | QuestionKind::Nps { .. } => {
                    let (lo, hi) = q.kind.scale().unwrap_or((1, 5));
                    scale_buttons(key, 0, lo, hi)
                }
                _ => {
                    let mut r: Vec<Vec<Button>> = q
                        .kind
                        .options()
                        .iter()
                        .enumerate()
                        .map(|(i, o)| {
                            vec![text_button(
                                key,
                                &o.label,
                                Action::Choose {
                                    question: 0,
                                    value: i as u8,
                                },
                            )]
                        })
                        .collect();
                    if matches!(q.kind, QuestionKind::Ranking { .. }) {
                        r.push(vec![tpl_button(
                            key,
                            "button_undo",
                            Action::Undo { question: 0 },
                        )]);
                    }
                    r
                }
            };
        }
        (Msg::new("poll", data), kb)
    } else {
        let mut kb = Keyboard::default();
        if open {
            kb.rows.push(vec![Button {
                label: Label::Template(Msg::new("button_take", json!({}))),
                action: ButtonAction::DeepLink {
                    survey: survey.id.to_string(),
                },
            }]);
        }
        (Msg::new("survey_invite", data), kb)
    }
}

/// One step of a private flow: the question, with the member's draft so far and buttons.
pub fn ask(
    key: SurveyKey,
    survey: &Survey,
    index: usize,
    draft: &Draft,
    current: Option<String>,
    seed: u64,
) -> (Msg, Keyboard) {
    let Some(q) = survey.question(index) else {
        return (
            Msg::new("flow_done", json!({ "title": survey.title })),
            Keyboard::default(),
        );
    };
    let qi = index as u8;
    let mut data = json!({
        "title": survey.title,
        "number": index + 1,
        "total": survey.questions.len(),
        "question": question_data(q, false),
        "current": current,
    });
    let opts = q.kind.options();
    let mut kb = Keyboard::default();
    match &q.kind {
        QuestionKind::Single { .. } | QuestionKind::MessageTest { .. } => {
            for i in display_order(q, seed) {
                if let Some(o) = opts.get(i) {
                    kb.rows.push(vec![text_button(
                        key,
                        &o.label,
                        Action::Choose {
                            question: qi,
                            value: i as u8,
                        },
                    )]);
                }
            }
        }
        QuestionKind::Multi { .. } => {
            let selected: Vec<u8> = match draft {
                Draft::Multi(v) => v.clone(),
                _ => Vec::new(),
            };
            for (i, o) in opts.iter().enumerate() {
                let mark = if selected.contains(&(i as u8)) {
                    "✓ "
                } else {
                    ""
                };
                kb.rows.push(vec![text_button(
                    key,
                    &format!("{mark}{}", o.label),
                    Action::Choose {
                        question: qi,
                        value: i as u8,
                    },
                )]);
            }
            data["selected"] = json!(
                selected
                    .iter()
                    .filter_map(|i| opts.get(usize::from(*i)).map(|o| o.label.clone()))
                    .collect::<Vec<_>>()
            );
            kb.rows.push(vec![tpl_button(
                key,
                "button_done",
                Action::Done { question: qi },
            )]);
        }
        QuestionKind::Rating { .. } | QuestionKind::Nps { .. } => {
            let (lo, hi) = q.kind.scale().unwrap_or((1, 5));
            kb.rows = scale_buttons(key, qi, lo, hi);
        }
        QuestionKind::Ranking { .. } => {
            let ranked: Vec<u8> = match draft {
                Draft::Ranking(v) => v.clone(),
                _ => Vec::new(),
            };
            data["ranked"] = json!(
                ranked
                    .iter()
                    .filter_map(|i| opts.get(usize::from(*i)).map(|o| o.label.clone()))
                    .collect::<Vec<_>>()
            );
            for (i, o) in opts.iter().enumerate() {
                if !ranked.contains(&(i as u8)) {
                    kb.rows.push(vec![text_button(
                        key,
                        &o.label,
                        Action::Choose {
                            question: qi,
                            value: i as u8,
                        },
                    )]);
                }
            }
            if !ranked.is_empty() {
                kb.rows.push(vec![tpl_button(
                    key,
                    "button_undo",
                    Action::Undo { question: qi },
                )]);
            }
        }
        QuestionKind::Pairwise { .. } => {
            let cards = interact::cards(q, seed);
            let done = match draft {
                Draft::Pairwise(v) => v.len(),
                _ => 0,
            };
            if let Some((a, b)) = cards.get(done) {
                let (la, lb) = (
                    opts.get(*a).map(|o| o.label.as_str()).unwrap_or("?"),
                    opts.get(*b).map(|o| o.label.as_str()).unwrap_or("?"),
                );
                data["card"] =
                    json!({ "number": done + 1, "total": cards.len(), "a": la, "b": lb });
                let card = done as u8;
                kb.rows.push(vec![
                    text_button(
                        key,
                        la,
                        Action::Pair {
                            question: qi,
                            card,
                            pick: 0,
                        },
                    ),
                    text_button(
                        key,
                        lb,
                        Action::Pair {
                            question: qi,
                            card,
                            pick: 1,
                        },
                    ),
                ]);
                if done > 0 {
                    kb.rows.push(vec![tpl_button(
                        key,
                        "button_undo",
                        Action::Undo { question: qi },
                    )]);
                }
            }
        }
        QuestionKind::OpenText { .. } => {}
    }
    if q.optional {
        kb.rows.push(vec![tpl_button(
            key,
            "button_skip",
            Action::Skip { question: qi },
        )]);
    }
    let msg = Msg::new("question", data);
    let msg = match &q.kind {
        // The member types the answer: adapters without typing in the flow offer a form.
        QuestionKind::OpenText { max_chars } => msg.expecting(Expect::FreeText {
            question: q.text.clone(),
            max_chars: *max_chars,
        }),
        _ => msg,
    };
    (msg, kb)
}

/// The persona button value for "prefer not to say" (options are at most 25).
pub(super) const PERSONA_DECLINED: u8 = u8::MAX;
/// Stored as the member's persona when they prefer not to say: never a segment.
pub(super) const PERSONA_DECLINED_ID: &str = "prefer_not_to_say";

/// The persona question, asked once before a member's first private survey.
pub(super) fn persona(key: SurveyKey, q: &Question) -> (Msg, Keyboard) {
    let kb = Keyboard {
        rows: q
            .kind
            .options()
            .iter()
            .enumerate()
            .map(|(i, o)| {
                vec![text_button(
                    key,
                    &o.label,
                    Action::Persona { value: i as u8 },
                )]
            })
            .chain(std::iter::once(vec![tpl_button(
                key,
                "button_prefer_not",
                Action::Persona {
                    value: PERSONA_DECLINED,
                },
            )]))
            .collect(),
    };
    (Msg::new("persona", json!({ "text": q.text })), kb)
}
