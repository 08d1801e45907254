//! Answer values and their validation against a question.

use super::ids::OptionId;
use super::survey::{Question, QuestionKind};
use serde::{Deserialize, Serialize};

/// One member's answer to one question. Options are stored by id, never by label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum AnswerValue {
    /// single and message_test
    Choice(OptionId),
    /// multi
    Choices(Vec<OptionId>),
    /// rating and nps
    Scale(u8),
    /// ranking: best first, possibly only the top k
    Ranking(Vec<OptionId>),
    /// pairwise: (winner, loser) judgements
    Pairwise(Vec<(OptionId, OptionId)>),
    /// open_text
    Text(String),
}

/// What is wrong with an answer, phrased for the member by the templates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("value {got} is outside {min}..{max}")]
    OutOfRange { min: i64, max: i64, got: i64 },
    #[error("text is {got} characters long; the limit is {max}")]
    TooLong { max: usize, got: usize },
    #[error("answer is empty")]
    Empty,
    #[error("option is not part of this question")]
    UnknownOption,
    #[error("at most {max} options may be chosen")]
    TooMany { max: usize },
    #[error("option chosen twice")]
    Repeated,
    #[error("this kind of answer does not fit a {0} question")]
    WrongType(&'static str),
    #[error("nothing to undo")]
    NothingToUndo,
    #[error("that card was already answered or does not exist")]
    StaleCard,
    #[error("this question needs an answer")]
    Required,
}

impl AnswerError {
    /// Template-friendly key for the member-facing message.
    pub fn key(&self) -> &'static str {
        match self {
            AnswerError::OutOfRange { .. } => "out_of_range",
            AnswerError::TooLong { .. } => "too_long",
            AnswerError::Empty => "empty",
            AnswerError::UnknownOption => "unknown_option",
            AnswerError::TooMany { .. } => "too_many",
            AnswerError::Repeated => "repeated",
            AnswerError::WrongType(_) => "wrong_type",
            AnswerError::NothingToUndo => "nothing_to_undo",
            AnswerError::StaleCard => "stale_card",
            AnswerError::Required => "required",
        }
    }
}

/// Counts characters as members see them (Unicode scalar values), not bytes.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Whether text shows nothing: only whitespace and invisible characters (zero-width spaces and
/// joiners, word joiners, byte-order marks, bidi controls), which members cannot see either.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{2069}'
                    | '\u{061C}'
                    | '\u{180E}'
                    | '\u{FEFF}'
            )
    })
}

/// Trims and normalises member text: drops control characters except newline and tab.
pub fn clean_text(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

impl AnswerValue {
    /// Checks the answer against the question's type and limits.
    pub fn validate(&self, q: &Question) -> Result<(), AnswerError> {
        let known = |id: &OptionId| q.option_index(id).is_some();
        let type_name = q.kind.type_name();
        match (&q.kind, self) {
            (QuestionKind::Single { .. } | QuestionKind::MessageTest { .. }, Self::Choice(id)) => {
                known(id).then_some(()).ok_or(AnswerError::UnknownOption)
            }
            (QuestionKind::Multi { max_choices, .. }, Self::Choices(ids)) => {
                if ids.is_empty() {
                    return Err(AnswerError::Empty);
                }
                if ids.len() > *max_choices {
                    return Err(AnswerError::TooMany { max: *max_choices });
                }
                check_distinct_known(ids, &known)
            }
            (QuestionKind::Rating { .. } | QuestionKind::Nps { .. }, Self::Scale(v)) => {
                let (lo, hi) = q.kind.scale().ok_or(AnswerError::WrongType(type_name))?;
                if *v < lo || *v > hi {
                    return Err(AnswerError::OutOfRange {
                        min: lo.into(),
                        max: hi.into(),
                        got: (*v).into(),
                    });
                }
                Ok(())
            }
            (QuestionKind::Ranking { options, top_k }, Self::Ranking(ids)) => {
                if ids.is_empty() {
                    return Err(AnswerError::Empty);
                }
                let max = top_k.unwrap_or(options.len());
                if ids.len() > max {
                    return Err(AnswerError::TooMany { max });
                }
                check_distinct_known(ids, &known)
            }
            (QuestionKind::Pairwise { .. }, Self::Pairwise(js)) => {
                if js.is_empty() {
                    return Err(AnswerError::Empty);
                }
                for (w, l) in js {
                    if !known(w) || !known(l) {
                        return Err(AnswerError::UnknownOption);
                    }
                    if w == l {
                        return Err(AnswerError::Repeated);
                    }
                }
                Ok(())
            }
            (QuestionKind::OpenText { max_chars }, Self::Text(t)) => {
                let n = char_len(t);
                if is_blank(t) {
                    return Err(AnswerError::Empty);
                }
                if n > *max_chars {
                    return Err(AnswerError::TooLong {
                        max: *max_chars,
                        got: n,
                    });
                }
                Ok(())
            }
            _ => Err(AnswerError::WrongType(type_name)),
        }
    }

    /// A short summary of the answer in labels and symbols only (`A > B`), so it reads the
    /// same in every locale.
    pub fn describe(&self, q: &Question) -> String {
        let label = |id: &OptionId| {
            q.option_index(id)
                .and_then(|i| q.kind.options().get(i))
                .map(|o| o.label.clone())
                .unwrap_or_else(|| id.to_string())
        };
        match self {
            Self::Choice(id) => label(id),
            Self::Choices(ids) => ids.iter().map(label).collect::<Vec<_>>().join(", "),
            Self::Scale(v) => v.to_string(),
            Self::Ranking(ids) => ids.iter().map(label).collect::<Vec<_>>().join(" > "),
            Self::Pairwise(js) => js
                .iter()
                .map(|(w, l)| format!("{} > {}", label(w), label(l)))
                .collect::<Vec<_>>()
                .join("; "),
            Self::Text(t) => t.clone(),
        }
    }
}

fn check_distinct_known(
    ids: &[OptionId],
    known: &dyn Fn(&OptionId) -> bool,
) -> Result<(), AnswerError> {
    for (i, id) in ids.iter().enumerate() {
        if !known(id) {
            return Err(AnswerError::UnknownOption);
        }
        if ids[..i].contains(id) {
            return Err(AnswerError::Repeated);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::QuestionId;
    use crate::core::survey::make_choices;

    fn q(kind: QuestionKind) -> Question {
        Question::new(QuestionId::parse("q").unwrap(), "Q?", kind, false).unwrap()
    }
    fn opts() -> Vec<crate::core::survey::Choice> {
        make_choices(
            ["A", "B", "C"]
                .iter()
                .map(|l| (None, l.to_string()))
                .collect(),
        )
        .unwrap()
    }
    fn id(s: &str) -> OptionId {
        OptionId::parse(s).unwrap()
    }

    #[test]
    fn validates_each_type() {
        let single = q(QuestionKind::Single { options: opts() });
        assert!(AnswerValue::Choice(id("a")).validate(&single).is_ok());
        assert_eq!(
            AnswerValue::Choice(id("z")).validate(&single),
            Err(AnswerError::UnknownOption)
        );
        assert!(matches!(
            AnswerValue::Scale(3).validate(&single),
            Err(AnswerError::WrongType("single"))
        ));

        let multi = q(QuestionKind::Multi {
            options: opts(),
            max_choices: 2,
        });
        assert_eq!(
            AnswerValue::Choices(vec![id("a"), id("b"), id("c")]).validate(&multi),
            Err(AnswerError::TooMany { max: 2 })
        );
        assert_eq!(
            AnswerValue::Choices(vec![id("a"), id("a")]).validate(&multi),
            Err(AnswerError::Repeated)
        );

        let nps = q(QuestionKind::Nps {
            low_label: "no".into(),
            high_label: "yes".into(),
        });
        assert!(AnswerValue::Scale(0).validate(&nps).is_ok());
        assert_eq!(
            AnswerValue::Scale(11).validate(&nps),
            Err(AnswerError::OutOfRange {
                min: 0,
                max: 10,
                got: 11
            })
        );
        let rating = q(QuestionKind::Rating {
            scale: 5,
            low_label: "bad".into(),
            high_label: "good".into(),
        });
        assert!(AnswerValue::Scale(0).validate(&rating).is_err());

        let text = q(QuestionKind::OpenText { max_chars: 5 });
        assert!(AnswerValue::Text("héllo".into()).validate(&text).is_ok());
        assert_eq!(
            AnswerValue::Text("héllo!".into()).validate(&text),
            Err(AnswerError::TooLong { max: 5, got: 6 })
        );
        assert_eq!(
            AnswerValue::Text("  ".into()).validate(&text),
            Err(AnswerError::Empty)
        );
    }

    #[test]
    fn invisible_text_is_blank() {
        assert!(is_blank(" \u{200B}\u{FEFF}\u{202E} \n"));
        assert!(!is_blank("\u{200B}a"));
        assert!(!is_blank("👨\u{200D}👩"));
    }

    #[test]
    fn clean_text_strips_control_characters() {
        assert_eq!(clean_text(" a\u{1b}[31mb\n "), "a[31mb");
        assert_eq!(clean_text("x\ny"), "x\ny");
    }
}
