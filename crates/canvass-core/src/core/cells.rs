//! Spreadsheet cells for answers: each question type's `AnswerValue` as one CSV cell, and back.
//!
//! Formats, chosen so a product manager can type them by hand:
//!
//! | type | cell | example |
//! |---|---|---|
//! | single, message_test | option id | `pizza` |
//! | multi | option ids joined by `\|` | `slack\|email` |
//! | ranking | option ids best first, joined by `>` | `sso>dark-mode>csv-export` |
//! | pairwise | `winner>loser` judgements joined by `;` | `speed>price;support>price` |
//! | rating, nps | whole number | `9` |
//! | open_text | the text | `Works offline, finally` |
//!
//! An empty (or blank) cell means "no answer". Spaces around ids and separators are ignored.
//!
//! Spreadsheet safety (OWASP "CSV injection"): a spreadsheet runs a cell that starts with `=`,
//! `+`, `-`, `@`, a tab or a carriage return as a formula. `neutralise` makes the export write
//! such a cell with a `'` in front (`=1+1` becomes `'=1+1`), in every column, and `restore`
//! removes exactly that `'` on import, so an export imports back unchanged. A cell that
//! already starts with `'`s followed by one of those characters (an answer typed as `'=x`)
//! gets one more `'` too, so it also comes back as typed; any other cell starting with `'`
//! (`'cause`) is written and read as it is. A hand-made import file that writes `'-1` means `-1`.

use super::answer::{AnswerError, AnswerValue, clean_text};
use super::ids::OptionId;
use super::survey::{Question, QuestionKind};

/// Separates the chosen options of a multi question.
pub const MULTI_SEP: char = '|';
/// Separates ranked options (best first), and the winner from the loser of a judgement.
pub const ORDER_SEP: char = '>';
/// Separates pairwise judgements.
pub const JUDGEMENT_SEP: char = ';';

/// First characters that make a spreadsheet read a cell as a formula.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
/// What `neutralise` puts in front of such a cell.
pub const FORMULA_GUARD: char = '\'';

/// A cell a spreadsheet would run, once any guards in front are set aside.
fn needs_guard(cell: &str) -> bool {
    cell.trim_start_matches(FORMULA_GUARD)
        .starts_with(FORMULA_STARTS)
}

/// A cell as the export writes it: `'` in front of anything a spreadsheet would run as a
/// formula (and of a cell already guarded that way), everything else as it is.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_guard(cell) {
        format!("{FORMULA_GUARD}{cell}").into()
    } else {
        cell.into()
    }
}

/// Undoes `neutralise`: `restore(&neutralise(x)) == x` for every `x`.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix(FORMULA_GUARD) {
        Some(rest) if needs_guard(rest) => rest,
        _ => cell,
    }
}

/// Why a cell does not hold a valid answer to its question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    #[error("unknown option id {given:?} (this question's options: {known})")]
    UnknownOption { given: String, known: String },
    #[error("{0:?} is not a whole number")]
    NotANumber(String),
    #[error("{0:?} is not a judgement written winner>loser")]
    BadJudgement(String),
    #[error("{0}")]
    Invalid(#[from] AnswerError),
}

/// Parses one cell for question `q`. `Ok(None)` is an empty cell; any value returned has
/// passed `AnswerValue::validate`.
pub fn parse_cell(q: &Question, raw: &str) -> Result<Option<AnswerValue>, CellError> {
    let cell = raw.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    let value = match &q.kind {
        QuestionKind::Single { .. } | QuestionKind::MessageTest { .. } => {
            AnswerValue::Choice(option(q, cell)?)
        }
        QuestionKind::Multi { .. } => AnswerValue::Choices(options(q, cell, MULTI_SEP)?),
        QuestionKind::Ranking { .. } => AnswerValue::Ranking(options(q, cell, ORDER_SEP)?),
        QuestionKind::Pairwise { .. } => {
            let mut judgements = Vec::new();
            for j in cell.split(JUDGEMENT_SEP) {
                let (w, l) = j
                    .split_once(ORDER_SEP)
                    .filter(|(_, l)| !l.contains(ORDER_SEP))
                    .ok_or_else(|| CellError::BadJudgement(j.trim().to_string()))?;
                judgements.push((option(q, w)?, option(q, l)?));
            }
            AnswerValue::Pairwise(judgements)
        }
        QuestionKind::Rating { .. } | QuestionKind::Nps { .. } => {
            AnswerValue::Scale(scale(q, cell)?)
        }
        QuestionKind::OpenText { .. } => AnswerValue::Text(clean_text(cell)),
    };
    value.validate(q)?;
    Ok(Some(value))
}

/// Writes an answer as a cell; `parse_cell` reads it back to the same value.
pub fn format_cell(value: &AnswerValue) -> String {
    let join = |ids: &[OptionId], sep: char| {
        ids.iter()
            .map(OptionId::as_str)
            .collect::<Vec<_>>()
            .join(&sep.to_string())
    };
    match value {
        AnswerValue::Choice(id) => id.to_string(),
        AnswerValue::Choices(ids) => join(ids, MULTI_SEP),
        AnswerValue::Ranking(ids) => join(ids, ORDER_SEP),
        AnswerValue::Pairwise(js) => js
            .iter()
            .map(|(w, l)| format!("{w}{ORDER_SEP}{l}"))
            .collect::<Vec<_>>()
            .join(&JUDGEMENT_SEP.to_string()),
        AnswerValue::Scale(v) => v.to_string(),
        AnswerValue::Text(t) => t.clone(),
    }
}

fn option(q: &Question, raw: &str) -> Result<OptionId, CellError> {
    let given = raw.trim();
    OptionId::parse(given)
        .ok()
        .filter(|id| q.option_index(id).is_some())
        .ok_or_else(|| CellError::UnknownOption {
            given: given.to_string(),
            known: q
                .kind
                .options()
                .iter()
                .map(|o| o.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn options(q: &Question, cell: &str, sep: char) -> Result<Vec<OptionId>, CellError> {
    cell.split(sep).map(|part| option(q, part)).collect()
}

fn scale(q: &Question, cell: &str) -> Result<u8, CellError> {
    let n: i64 = cell
        .parse()
        .map_err(|_| CellError::NotANumber(cell.to_string()))?;
    // Values that do not even fit a u8 get the same out-of-range message as 11 on an NPS.
    u8::try_from(n).map_err(|_| {
        let (min, max) = q.kind.scale().unwrap_or((0, u8::MAX));
        CellError::Invalid(AnswerError::OutOfRange {
            min: min.into(),
            max: max.into(),
            got: n,
        })
    })
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
            ["Speed", "Price", "Support"]
                .iter()
                .map(|l| (None, l.to_string()))
                .collect(),
        )
        .unwrap()
    }
    fn id(s: &str) -> OptionId {
        OptionId::parse(s).unwrap()
    }
    fn all_kinds() -> Vec<(Question, &'static str, AnswerValue)> {
        vec![
            (
                q(QuestionKind::Single { options: opts() }),
                "price",
                AnswerValue::Choice(id("price")),
            ),
            (
                q(QuestionKind::MessageTest {
                    options: opts(),
                    min_per_variant: 1,
                }),
                "support",
                AnswerValue::Choice(id("support")),
            ),
            (
                q(QuestionKind::Multi {
                    options: opts(),
                    max_choices: 2,
                }),
                "support|speed",
                AnswerValue::Choices(vec![id("support"), id("speed")]),
            ),
            (
                q(QuestionKind::Ranking {
                    options: opts(),
                    top_k: None,
                }),
                "price>speed>support",
                AnswerValue::Ranking(vec![id("price"), id("speed"), id("support")]),
            ),
            (
                q(QuestionKind::Pairwise {
                    options: opts(),
                    pairs_per_member: 3,
                }),
                "speed>price;support>price",
                AnswerValue::Pairwise(vec![
                    (id("speed"), id("price")),
                    (id("support"), id("price")),
                ]),
            ),
            (
                q(QuestionKind::Rating {
                    scale: 7,
                    low_label: "no".into(),
                    high_label: "yes".into(),
                }),
                "7",
                AnswerValue::Scale(7),
            ),
            (
                q(QuestionKind::Nps {
                    low_label: "no".into(),
                    high_label: "yes".into(),
                }),
                "0",
                AnswerValue::Scale(0),
            ),
            (
                q(QuestionKind::OpenText { max_chars: 100 }),
                "Faster search, please;\nand \"dark mode\" > light | both",
                AnswerValue::Text(
                    "Faster search, please;\nand \"dark mode\" > light | both".into(),
                ),
            ),
        ]
    }

    #[test]
    fn every_type_parses_and_formats_back() {
        for (question, cell, value) in all_kinds() {
            let t = question.kind.type_name();
            assert_eq!(parse_cell(&question, cell), Ok(Some(value.clone())), "{t}");
            assert_eq!(format_cell(&value), cell, "{t}");
            assert_eq!(parse_cell(&question, ""), Ok(None), "{t}");
            assert_eq!(parse_cell(&question, "  \t "), Ok(None), "{t}");
        }
    }

    #[test]
    fn formula_cells_are_guarded_and_restored_exactly() {
        for (cell, written) in [
            ("=1+1", "'=1+1"),
            ("+49 151 0000", "'+49 151 0000"),
            ("-5, honestly", "'-5, honestly"),
            ("@channel", "'@channel"),
            ("\tindented", "'\tindented"),
            ("\rcarriage", "'\rcarriage"),
            ("'=typed with a quote", "''=typed with a quote"),
            ("''@two quotes", "'''@two quotes"),
            ("'cause", "'cause"),
            ("'", "'"),
            ("plain = fine", "plain = fine"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), written, "{cell:?}");
            assert_eq!(restore(written), cell, "{written:?}");
            let shown = neutralise(cell);
            assert!(
                !shown.starts_with(FORMULA_STARTS),
                "a spreadsheet would run {shown:?}"
            );
        }
    }

    #[test]
    fn spaces_around_ids_are_ignored() {
        let multi = q(QuestionKind::Multi {
            options: opts(),
            max_choices: 3,
        });
        assert_eq!(
            parse_cell(&multi, " speed | price "),
            Ok(Some(AnswerValue::Choices(vec![id("speed"), id("price")])))
        );
        let pw = q(QuestionKind::Pairwise {
            options: opts(),
            pairs_per_member: 3,
        });
        assert_eq!(
            parse_cell(&pw, "speed > price ; price>support"),
            Ok(Some(AnswerValue::Pairwise(vec![
                (id("speed"), id("price")),
                (id("price"), id("support"))
            ])))
        );
        let text = q(QuestionKind::OpenText { max_chars: 10 });
        assert_eq!(
            parse_cell(&text, "  ok\u{7}  "),
            Ok(Some(AnswerValue::Text("ok".into())))
        );
    }

    #[test]
    fn bad_cells_say_what_is_wrong() {
        let single = q(QuestionKind::Single { options: opts() });
        let err = parse_cell(&single, "Price").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown option id \"Price\" (this question's options: speed, price, support)"
        );
        assert!(matches!(
            parse_cell(&single, "price|speed"),
            Err(CellError::UnknownOption { .. })
        ));

        let multi = q(QuestionKind::Multi {
            options: opts(),
            max_choices: 2,
        });
        assert_eq!(
            parse_cell(&multi, "speed|price|support"),
            Err(CellError::Invalid(AnswerError::TooMany { max: 2 }))
        );
        assert_eq!(
            parse_cell(&multi, "speed|speed"),
            Err(CellError::Invalid(AnswerError::Repeated))
        );
        assert!(matches!(
            parse_cell(&multi, "speed|"),
            Err(CellError::UnknownOption { given, .. }) if given.is_empty()
        ));

        let pw = q(QuestionKind::Pairwise {
            options: opts(),
            pairs_per_member: 3,
        });
        assert_eq!(
            parse_cell(&pw, "speed"),
            Err(CellError::BadJudgement("speed".into()))
        );
        assert_eq!(
            parse_cell(&pw, "speed>price>support"),
            Err(CellError::BadJudgement("speed>price>support".into()))
        );
        assert_eq!(
            parse_cell(&pw, "speed>speed"),
            Err(CellError::Invalid(AnswerError::Repeated))
        );

        let nps = q(QuestionKind::Nps {
            low_label: "no".into(),
            high_label: "yes".into(),
        });
        assert_eq!(
            parse_cell(&nps, "11").unwrap_err().to_string(),
            "value 11 is outside 0..10"
        );
        assert_eq!(
            parse_cell(&nps, "-1"),
            Err(CellError::Invalid(AnswerError::OutOfRange {
                min: 0,
                max: 10,
                got: -1
            }))
        );
        assert_eq!(
            parse_cell(&nps, "7.5"),
            Err(CellError::NotANumber("7.5".into()))
        );

        let text = q(QuestionKind::OpenText { max_chars: 3 });
        assert_eq!(
            parse_cell(&text, "four"),
            Err(CellError::Invalid(AnswerError::TooLong { max: 3, got: 4 }))
        );
    }
}
