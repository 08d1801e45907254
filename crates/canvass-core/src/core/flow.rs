//! The step-by-step flow of a survey answered in a private conversation: a pure state machine
//! whose state is saved after every step, so a restart resumes where the member was.

use super::answer::AnswerValue;
use super::interact::{self, Context, Draft, Input, Mode, Outcome};
use super::survey::{Question, QuestionKind, Survey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Saved progress of one member through one survey.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlowState {
    /// Index of the question being asked.
    pub index: usize,
    pub draft: Draft,
    pub finished: bool,
    /// When the current question was shown, for answer timing.
    pub shown_at: Option<DateTime<Utc>>,
}

/// What the member is shown next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Ask question `i` (fresh, or again after a restart).
    Ask(usize),
    /// Stay on question `i`, showing its updated draft.
    Stay(usize),
    /// The survey is complete.
    Finished,
}

/// Why an input does not fit the flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("that question is not the current one")]
    NotCurrent,
    #[error("the survey is already complete")]
    AlreadyFinished,
    #[error(transparent)]
    Answer(#[from] super::answer::AnswerError),
}

/// The result of one step: what to store and what to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub state: FlowState,
    /// The question answered in this step and how, if any.
    pub answered: Option<(usize, Outcome)>,
    pub next: Next,
}

/// Starts or resumes the flow. A finished survey starts over so answers can be changed.
pub fn start(state: Option<FlowState>, now: DateTime<Utc>) -> Step {
    let mut state = match state {
        Some(s) if !s.finished => s,
        _ => FlowState::default(),
    };
    state.shown_at = Some(now);
    Step {
        next: Next::Ask(state.index),
        answered: None,
        state,
    }
}

/// Applies one input to question `question` of the survey.
pub fn advance(
    survey: &Survey,
    mut state: FlowState,
    question: usize,
    input: Input,
    current: Option<&AnswerValue>,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<Step, FlowError> {
    if state.finished {
        return Err(FlowError::AlreadyFinished);
    }
    if question != state.index {
        return Err(FlowError::NotCurrent);
    }
    let q = survey.question(question).ok_or(FlowError::NotCurrent)?;
    let outcome = interact::apply(
        q,
        Context {
            current,
            draft: std::mem::take(&mut state.draft),
            mode: Mode::Private,
            seed,
        },
        input,
    )?;
    state.draft = outcome.draft.clone();
    let next = if outcome.complete {
        state.index += 1;
        state.draft = Draft::Empty;
        state.shown_at = Some(now);
        if state.index >= survey.questions.len() {
            state.finished = true;
            Next::Finished
        } else {
            Next::Ask(state.index)
        }
    } else {
        Next::Stay(question)
    };
    Ok(Step {
        state,
        answered: Some((question, outcome)),
        next,
    })
}

/// Interprets typed text for the current question: free text for open questions, and a typed
/// number for scales or numbered options, so members on any client can answer by typing.
pub fn text_input(q: &Question, text: &str) -> Option<Input> {
    match &q.kind {
        QuestionKind::OpenText { .. } => Some(Input::Text(text.to_string())),
        QuestionKind::Rating { .. } | QuestionKind::Nps { .. } => {
            text.trim().parse::<u8>().ok().map(Input::Choose)
        }
        QuestionKind::Single { options } | QuestionKind::Ranking { options, .. } => {
            let n: usize = text.trim().parse().ok()?;
            (1..=options.len())
                .contains(&n)
                .then(|| Input::Choose((n - 1) as u8))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::{QuestionId, SurveyId};
    use crate::core::survey::{ResultsVisibility, make_choices};

    fn survey() -> Survey {
        let q1 = Question::new(
            QuestionId::parse("pick").unwrap(),
            "Pick one",
            QuestionKind::Single {
                options: make_choices(vec![(None, "A".into()), (None, "B".into())]).unwrap(),
            },
            false,
        )
        .unwrap();
        let q2 = Question::new(
            QuestionId::parse("why").unwrap(),
            "Why?",
            QuestionKind::OpenText { max_chars: 100 },
            true,
        )
        .unwrap();
        Survey {
            id: SurveyId::parse("s").unwrap(),
            title: "S".into(),
            intro: None,
            questions: vec![q1, q2],
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

    #[test]
    fn walks_through_and_resumes() {
        let s = survey();
        let now = Utc::now();
        let step = start(None, now);
        assert_eq!(step.next, Next::Ask(0));
        let step = advance(&s, step.state, 0, Input::Choose(1), None, 1, now).unwrap();
        assert_eq!(step.next, Next::Ask(1));
        // A restart mid-survey resumes at the saved question.
        let saved = serde_json::to_string(&step.state).unwrap();
        let resumed = start(Some(serde_json::from_str(&saved).unwrap()), now);
        assert_eq!(resumed.next, Next::Ask(1));
        assert_eq!(
            advance(&s, resumed.state.clone(), 0, Input::Choose(0), None, 1, now),
            Err(FlowError::NotCurrent)
        );
        let step = advance(&s, resumed.state, 1, Input::Skip, None, 1, now).unwrap();
        assert_eq!(step.next, Next::Finished);
        assert!(step.state.finished);
        // Starting a finished survey again begins at the first question.
        assert_eq!(start(Some(step.state), now).next, Next::Ask(0));
    }

    #[test]
    fn typed_numbers_answer_scales_and_options() {
        let s = survey();
        assert_eq!(text_input(&s.questions[0], " 2 "), Some(Input::Choose(1)));
        assert_eq!(text_input(&s.questions[0], "3"), None);
        assert_eq!(
            text_input(&s.questions[1], "because"),
            Some(Input::Text("because".into()))
        );
    }
}
