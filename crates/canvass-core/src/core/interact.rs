//! The per-question answering state machine: taps and text in, a committed answer or progress out.
//!
//! Pure: the caller loads the member's current answer and draft, applies one input, and
//! stores what comes back, all in one transaction.

use super::answer::{AnswerError, AnswerValue, char_len, clean_text};
use super::pairs::cards_for;
use super::survey::{Question, QuestionKind};
use serde::{Deserialize, Serialize};

/// Where the question is being answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Buttons under a shared group message: every tap is committed at once.
    Inline,
    /// A private step-by-step flow: multi-choice collects toggles until "done".
    Private,
}

/// One input from a member for one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Option index, or scale value for rating/NPS.
    Choose(u8),
    Undo,
    Done,
    Skip,
    Pair {
        card: u8,
        pick: u8,
    },
    Text(String),
}

/// Unfinished work on one question (ranking so far, toggled options, pairwise judgements).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", content = "items", rename_all = "snake_case")]
pub enum Draft {
    #[default]
    Empty,
    Multi(Vec<u8>),
    Ranking(Vec<u8>),
    Pairwise(Vec<u8>),
}

/// What happened, for the confirmation shown to the member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// A new answer was stored.
    Recorded,
    /// An earlier answer was replaced.
    Changed,
    /// The same answer again: nothing to store.
    Unchanged,
    /// The member withdrew a multi-choice answer by untoggling everything.
    Retracted,
    /// A step of a ranking: `position` (1-based) is now `option`.
    Ranked {
        position: usize,
        option: u8,
        remaining: usize,
    },
    /// A multi-choice toggle in a private flow.
    Toggled { selected: usize, max: usize },
    /// A pairwise card was answered; `left` cards remain.
    Compared { left: usize },
    /// The last step was undone.
    Undone,
    /// An optional question was skipped.
    Skipped,
}

/// The result of applying one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The answer to commit (superseding any current one), if the input completed one.
    pub commit: Option<AnswerValue>,
    /// Remove the current answer without a replacement.
    pub retract: bool,
    /// The draft to store afterwards.
    pub draft: Draft,
    pub ack: Ack,
    /// The question is finished for this member (a private flow moves on).
    pub complete: bool,
}

impl Outcome {
    fn progress(draft: Draft, ack: Ack) -> Self {
        Self {
            commit: None,
            retract: false,
            draft,
            ack,
            complete: false,
        }
    }
    fn answer(value: AnswerValue, current: Option<&AnswerValue>) -> Self {
        let ack = match current {
            None => Ack::Recorded,
            Some(c) if *c == value => Ack::Unchanged,
            Some(_) => Ack::Changed,
        };
        let commit = (ack != Ack::Unchanged).then_some(value);
        Self {
            commit,
            retract: false,
            draft: Draft::Empty,
            ack,
            complete: true,
        }
    }
}

/// Context a question needs beyond the input: the current answer and the member's seed.
pub struct Context<'a> {
    pub current: Option<&'a AnswerValue>,
    pub draft: Draft,
    pub mode: Mode,
    /// Stable per member and question; drives the pairwise card schedule.
    pub seed: u64,
}

/// The pairwise cards this member sees for the question.
pub fn cards(q: &Question, seed: u64) -> Vec<(usize, usize)> {
    match &q.kind {
        QuestionKind::Pairwise {
            options,
            pairs_per_member,
        } => cards_for(options.len(), *pairs_per_member, seed),
        _ => Vec::new(),
    }
}

fn option_at(q: &Question, i: u8) -> Result<super::ids::OptionId, AnswerError> {
    q.kind
        .options()
        .get(usize::from(i))
        .map(|o| o.id.clone())
        .ok_or(AnswerError::UnknownOption)
}

/// Applies one input to one question.
pub fn apply(q: &Question, ctx: Context<'_>, input: Input) -> Result<Outcome, AnswerError> {
    let n_opts = q.kind.options().len();
    if let Input::Skip = input {
        if !q.optional {
            return Err(AnswerError::Required);
        }
        return Ok(Outcome {
            commit: None,
            retract: false,
            draft: Draft::Empty,
            ack: Ack::Skipped,
            complete: true,
        });
    }
    match &q.kind {
        QuestionKind::Single { .. } | QuestionKind::MessageTest { .. } => match input {
            Input::Choose(i) => Ok(Outcome::answer(
                AnswerValue::Choice(option_at(q, i)?),
                ctx.current,
            )),
            _ => Err(AnswerError::WrongType(q.kind.type_name())),
        },
        QuestionKind::Rating { .. } | QuestionKind::Nps { .. } => match input {
            Input::Choose(v) => {
                let value = AnswerValue::Scale(v);
                value.validate(q)?;
                Ok(Outcome::answer(value, ctx.current))
            }
            _ => Err(AnswerError::WrongType(q.kind.type_name())),
        },
        QuestionKind::Multi { max_choices, .. } => {
            let max = *max_choices;
            match (ctx.mode, input) {
                (Mode::Inline, Input::Choose(i)) => {
                    let id = option_at(q, i)?;
                    let mut ids = match ctx.current {
                        Some(AnswerValue::Choices(ids)) => ids.clone(),
                        _ => Vec::new(),
                    };
                    if let Some(pos) = ids.iter().position(|x| *x == id) {
                        ids.remove(pos);
                    } else {
                        if ids.len() >= max {
                            return Err(AnswerError::TooMany { max });
                        }
                        ids.push(id);
                    }
                    if ids.is_empty() {
                        return Ok(Outcome {
                            commit: None,
                            retract: true,
                            draft: Draft::Empty,
                            ack: Ack::Retracted,
                            complete: false,
                        });
                    }
                    let mut out = Outcome::answer(AnswerValue::Choices(ids), ctx.current);
                    out.complete = false;
                    Ok(out)
                }
                (Mode::Private, Input::Choose(i)) => {
                    option_at(q, i)?;
                    let mut sel = match ctx.draft {
                        Draft::Multi(v) => v,
                        _ => Vec::new(),
                    };
                    if let Some(pos) = sel.iter().position(|x| *x == i) {
                        sel.remove(pos);
                    } else {
                        if sel.len() >= max {
                            return Err(AnswerError::TooMany { max });
                        }
                        sel.push(i);
                    }
                    let selected = sel.len();
                    Ok(Outcome::progress(
                        Draft::Multi(sel),
                        Ack::Toggled { selected, max },
                    ))
                }
                (_, Input::Done) => {
                    let sel = match ctx.draft {
                        Draft::Multi(v) if !v.is_empty() => v,
                        _ => return Err(AnswerError::Empty),
                    };
                    let ids = sel
                        .iter()
                        .map(|i| option_at(q, *i))
                        .collect::<Result<Vec<_>, _>>()?;
                    let value = AnswerValue::Choices(ids);
                    value.validate(q)?;
                    Ok(Outcome::answer(value, ctx.current))
                }
                _ => Err(AnswerError::WrongType(q.kind.type_name())),
            }
        }
        QuestionKind::Ranking { top_k, .. } => {
            let target = top_k.unwrap_or(n_opts);
            let mut ranked = match ctx.draft {
                Draft::Ranking(v) => v,
                _ => Vec::new(),
            };
            match input {
                Input::Choose(i) => {
                    option_at(q, i)?;
                    if ranked.contains(&i) {
                        return Err(AnswerError::Repeated);
                    }
                    ranked.push(i);
                    // With one option left in a full ranking, its place is known.
                    if target == n_opts && ranked.len() == n_opts - 1 {
                        if let Some(last) = (0..n_opts as u8).find(|x| !ranked.contains(x)) {
                            ranked.push(last);
                        }
                    }
                    if ranked.len() >= target {
                        let ids = ranked
                            .iter()
                            .map(|i| option_at(q, *i))
                            .collect::<Result<Vec<_>, _>>()?;
                        return Ok(Outcome::answer(AnswerValue::Ranking(ids), ctx.current));
                    }
                    let position = ranked.len();
                    Ok(Outcome::progress(
                        Draft::Ranking(ranked),
                        Ack::Ranked {
                            position,
                            option: i,
                            remaining: target - position,
                        },
                    ))
                }
                Input::Undo => {
                    if ranked.pop().is_none() {
                        return Err(AnswerError::NothingToUndo);
                    }
                    Ok(Outcome::progress(Draft::Ranking(ranked), Ack::Undone))
                }
                _ => Err(AnswerError::WrongType(q.kind.type_name())),
            }
        }
        QuestionKind::Pairwise { .. } => {
            let cards = cards(q, ctx.seed);
            let mut picks = match ctx.draft {
                Draft::Pairwise(v) => v,
                _ => Vec::new(),
            };
            match input {
                Input::Pair { card, pick } => {
                    if usize::from(card) != picks.len() || usize::from(card) >= cards.len() {
                        return Err(AnswerError::StaleCard);
                    }
                    if pick > 1 {
                        return Err(AnswerError::UnknownOption);
                    }
                    picks.push(pick);
                    if picks.len() == cards.len() {
                        let mut js = Vec::with_capacity(cards.len());
                        for ((a, b), p) in cards.iter().zip(&picks) {
                            let (w, l) = if *p == 0 { (*a, *b) } else { (*b, *a) };
                            js.push((option_at(q, w as u8)?, option_at(q, l as u8)?));
                        }
                        return Ok(Outcome::answer(AnswerValue::Pairwise(js), ctx.current));
                    }
                    Ok(Outcome::progress(
                        Draft::Pairwise(picks.clone()),
                        Ack::Compared {
                            left: cards.len() - picks.len(),
                        },
                    ))
                }
                Input::Undo => {
                    if picks.pop().is_none() {
                        return Err(AnswerError::NothingToUndo);
                    }
                    Ok(Outcome::progress(Draft::Pairwise(picks), Ack::Undone))
                }
                _ => Err(AnswerError::WrongType(q.kind.type_name())),
            }
        }
        QuestionKind::OpenText { max_chars } => match input {
            Input::Text(t) => {
                let t = clean_text(&t);
                if crate::core::answer::is_blank(&t) {
                    return Err(AnswerError::Empty);
                }
                let n = char_len(&t);
                if n > *max_chars {
                    return Err(AnswerError::TooLong {
                        max: *max_chars,
                        got: n,
                    });
                }
                Ok(Outcome::answer(AnswerValue::Text(t), ctx.current))
            }
            _ => Err(AnswerError::WrongType(q.kind.type_name())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::QuestionId;
    use crate::core::survey::make_choices;

    fn opts(n: usize) -> Vec<crate::core::survey::Choice> {
        make_choices((0..n).map(|i| (None, format!("Opt {i}"))).collect()).unwrap()
    }
    fn q(kind: QuestionKind) -> Question {
        Question::new(QuestionId::parse("q").unwrap(), "Q?", kind, false).unwrap()
    }
    fn ctx(current: Option<&AnswerValue>, draft: Draft, mode: Mode) -> Context<'_> {
        Context {
            current,
            draft,
            mode,
            seed: 7,
        }
    }

    #[test]
    fn single_records_changes_and_ignores_repeats() {
        let q = q(QuestionKind::Single { options: opts(3) });
        let o = apply(&q, ctx(None, Draft::Empty, Mode::Inline), Input::Choose(1)).unwrap();
        assert_eq!(o.ack, Ack::Recorded);
        let v = o.commit.unwrap();
        let o = apply(
            &q,
            ctx(Some(&v), Draft::Empty, Mode::Inline),
            Input::Choose(1),
        )
        .unwrap();
        assert_eq!((o.ack, o.commit), (Ack::Unchanged, None));
        let o = apply(
            &q,
            ctx(Some(&v), Draft::Empty, Mode::Inline),
            Input::Choose(2),
        )
        .unwrap();
        assert_eq!(o.ack, Ack::Changed);
        assert_eq!(
            apply(&q, ctx(None, Draft::Empty, Mode::Inline), Input::Choose(3)),
            Err(AnswerError::UnknownOption)
        );
    }

    #[test]
    fn inline_multi_toggles_and_respects_max() {
        let q = q(QuestionKind::Multi {
            options: opts(4),
            max_choices: 2,
        });
        let a = apply(&q, ctx(None, Draft::Empty, Mode::Inline), Input::Choose(0))
            .unwrap()
            .commit
            .unwrap();
        let b = apply(
            &q,
            ctx(Some(&a), Draft::Empty, Mode::Inline),
            Input::Choose(1),
        )
        .unwrap()
        .commit
        .unwrap();
        assert_eq!(
            apply(
                &q,
                ctx(Some(&b), Draft::Empty, Mode::Inline),
                Input::Choose(2)
            ),
            Err(AnswerError::TooMany { max: 2 })
        );
        let o = apply(
            &q,
            ctx(Some(&a), Draft::Empty, Mode::Inline),
            Input::Choose(0),
        )
        .unwrap();
        assert!(o.retract);
    }

    #[test]
    fn ranking_by_successive_taps_with_undo() {
        let q = q(QuestionKind::Ranking {
            options: opts(4),
            top_k: None,
        });
        let o = apply(&q, ctx(None, Draft::Empty, Mode::Inline), Input::Choose(2)).unwrap();
        assert_eq!(
            o.ack,
            Ack::Ranked {
                position: 1,
                option: 2,
                remaining: 3
            }
        );
        let o = apply(&q, ctx(None, o.draft, Mode::Inline), Input::Choose(0)).unwrap();
        let o = apply(&q, ctx(None, o.draft, Mode::Inline), Input::Undo).unwrap();
        assert_eq!(o.draft, Draft::Ranking(vec![2]));
        assert_eq!(
            apply(
                &q,
                ctx(None, o.draft.clone(), Mode::Inline),
                Input::Choose(2)
            ),
            Err(AnswerError::Repeated)
        );
        let o = apply(&q, ctx(None, o.draft, Mode::Inline), Input::Choose(3)).unwrap();
        // Third pick of four completes the ranking: the last place is implied.
        let o = apply(&q, ctx(None, o.draft, Mode::Inline), Input::Choose(1)).unwrap();
        match o.commit {
            Some(AnswerValue::Ranking(ids)) => {
                let s: Vec<_> = ids.iter().map(|i| i.as_str()).collect();
                assert_eq!(s, ["opt-2", "opt-3", "opt-1", "opt-0"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            apply(&q, ctx(None, Draft::Empty, Mode::Inline), Input::Undo),
            Err(AnswerError::NothingToUndo)
        );
    }

    #[test]
    fn pairwise_cards_in_order() {
        let q = q(QuestionKind::Pairwise {
            options: opts(4),
            pairs_per_member: 3,
        });
        let cards = cards(&q, 7);
        assert_eq!(cards.len(), 3);
        assert_eq!(
            apply(
                &q,
                ctx(None, Draft::Empty, Mode::Private),
                Input::Pair { card: 1, pick: 0 }
            ),
            Err(AnswerError::StaleCard)
        );
        let mut draft = Draft::Empty;
        let mut last = None;
        for c in 0..3u8 {
            let o = apply(
                &q,
                ctx(None, draft.clone(), Mode::Private),
                Input::Pair { card: c, pick: 1 },
            )
            .unwrap();
            draft = o.draft.clone();
            last = Some(o);
        }
        let Some(AnswerValue::Pairwise(js)) = last.and_then(|o| o.commit) else {
            panic!("no pairwise answer")
        };
        assert_eq!(js.len(), 3);
        // pick 1 means the right-hand option of each card won.
        assert_eq!(js[0].0, q.kind.options()[cards[0].1].id);
    }

    #[test]
    fn text_is_cleaned_and_limited() {
        let q = q(QuestionKind::OpenText { max_chars: 10 });
        let o = apply(
            &q,
            ctx(None, Draft::Empty, Mode::Private),
            Input::Text("  <b>hi</b> ".into()),
        )
        .unwrap();
        assert_eq!(o.commit, Some(AnswerValue::Text("<b>hi</b>".into())));
        assert!(matches!(
            apply(
                &q,
                ctx(None, Draft::Empty, Mode::Private),
                Input::Text("x".repeat(11))
            ),
            Err(AnswerError::TooLong { max: 10, got: 11 })
        ));
        assert_eq!(
            apply(&q, ctx(None, Draft::Empty, Mode::Private), Input::Skip),
            Err(AnswerError::Required)
        );
    }
}
