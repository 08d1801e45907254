//! Why a command's arguments could not be read, as data: `prompts/error.hbs` (kind `usage`)
//! words each problem in every shipped locale; `Display` is the English text, for logs.

use super::ids::{IdError, MAX_SLUG_LEN};
use super::survey::ResultsVisibility;
use serde_json::{Value, json};

/// The flags `/poll` takes, for the "unknown flag" problem.
const FLAGS_HELP: &str = "flags are --max N, --anonymous, --results MODE (after_close, live, \
     after_vote, team_only), --closes in 2d (m, h, d or w) or --closes until 2026-12-24 18:00 (UTC)";
const RESULTS: &str = ResultsVisibility::NAMES;

/// One mistake in a command's arguments, with what its wording needs. Text a member wrote is
/// already cut to a bounded echo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("which survey? Give its id, e.g. next-feature")]
    WhichSurvey,
    #[error("\"{shown}\" is not a survey id: {reason}")]
    BadSurveyId { shown: String, reason: IdError },
    #[error(
        "\"--closes {shown}\" is not a deadline: write --closes in 2d (m, h, d or w) or --closes until 2026-12-24 18:00"
    )]
    BadDeadline { shown: String },
    #[error("a poll runs at least a minute and at most {max_days} days")]
    PollDuration { max_days: i64 },
    #[error("\"{shown}\" is not a date and time: write --closes until 2026-12-24 18:00 (UTC)")]
    BadDate { shown: String },
    #[error("the poll is longer than {max} characters")]
    PollTooLong { max: usize },
    #[error("write the question, then options separated by |")]
    NoQuestion,
    #[error("the question is longer than {max} characters")]
    QuestionTooLong { max: usize },
    #[error("give at least two options separated by |")]
    TooFewOptions,
    #[error("at most {max} options (found {found})")]
    TooManyOptions { max: usize, found: usize },
    #[error("option \"{start}…\" is longer than {max} characters")]
    OptionTooLong { start: String, max: usize },
    #[error("option \"{shown}\" is given twice")]
    OptionTwice { shown: String },
    #[error("--{flag} is given twice")]
    FlagTwice { flag: String },
    #[error("--max takes one value: how many options a member may pick")]
    MaxOneValue,
    #[error("--results takes one value: {RESULTS}")]
    ResultsOneValue,
    #[error("--max must be a number from 1 to {max} (the number of options)")]
    MaxRange { max: usize },
    #[error("--anonymous takes no value")]
    AnonymousNoValue,
    #[error("--results \"{shown}\" is not one of {RESULTS}")]
    BadResults { shown: String },
    #[error("unknown flag --{shown}; {FLAGS_HELP}")]
    UnknownFlag { shown: String },
    #[error("that deadline has already passed (times are UTC)")]
    DeadlinePassed,
    #[error("a poll runs at most {max_days} days")]
    PollTooFar { max_days: i64 },
    #[error("the segment \"{shown}…\" is longer than {max} characters")]
    SegmentTooLong { shown: String, max: usize },
    /// A poll the survey rules refuse; `detail` is their (English) reason.
    #[error("{detail}")]
    BadPoll { detail: String },
}

impl Problem {
    /// The template's data: `problem` names the variant, the rest are its parameters.
    pub fn data(&self) -> Value {
        use Problem::*;
        let kind = self.kind();
        let mut data = match self {
            BadSurveyId { shown, reason } => {
                let mut d = json!({ "shown": shown, "limit": MAX_SLUG_LEN });
                let (id_problem, extra) = match reason {
                    IdError::Empty => ("empty", json!({})),
                    IdError::TooLong(n) => ("too_long", json!({ "length": n })),
                    IdError::BadChar(c) => ("bad_char", json!({ "found": format!("{c:?}") })),
                };
                d["id_problem"] = json!(id_problem);
                if let (Some(d), Value::Object(e)) = (d.as_object_mut(), extra) {
                    d.extend(e);
                }
                d
            }
            BadDeadline { shown }
            | BadDate { shown }
            | OptionTwice { shown }
            | BadResults { shown }
            | UnknownFlag { shown } => json!({ "shown": shown }),
            PollDuration { max_days } | PollTooFar { max_days } => json!({ "max": max_days }),
            BadPoll { detail } => json!({ "shown": detail }),
            PollTooLong { max } | QuestionTooLong { max } | MaxRange { max } => {
                json!({ "max": max })
            }
            TooManyOptions { max, found } => json!({ "max": max, "found": found }),
            OptionTooLong { start, max } => json!({ "shown": start, "max": max }),
            SegmentTooLong { shown, max } => json!({ "shown": shown, "max": max }),
            FlagTwice { flag } => json!({ "shown": flag }),
            WhichSurvey | NoQuestion | TooFewOptions | MaxOneValue | ResultsOneValue
            | AnonymousNoValue | DeadlinePassed => json!({}),
        };
        data["problem"] = json!(kind);
        data
    }

    /// The variant's name in templates.
    pub fn kind(&self) -> &'static str {
        use Problem::*;
        match self {
            WhichSurvey => "which_survey",
            BadSurveyId { .. } => "bad_survey_id",
            BadDeadline { .. } => "bad_deadline",
            PollDuration { .. } => "poll_duration",
            BadDate { .. } => "bad_date",
            PollTooLong { .. } => "poll_too_long",
            NoQuestion => "no_question",
            QuestionTooLong { .. } => "question_too_long",
            TooFewOptions => "too_few_options",
            TooManyOptions { .. } => "too_many_options",
            OptionTooLong { .. } => "option_too_long",
            OptionTwice { .. } => "option_twice",
            FlagTwice { .. } => "flag_twice",
            MaxOneValue => "max_one_value",
            ResultsOneValue => "results_one_value",
            MaxRange { .. } => "max_range",
            AnonymousNoValue => "anonymous_no_value",
            BadResults { .. } => "bad_results",
            UnknownFlag { .. } => "unknown_flag",
            DeadlinePassed => "deadline_passed",
            PollTooFar { .. } => "poll_too_far",
            BadPoll { .. } => "bad_poll",
            SegmentTooLong { .. } => "segment_too_long",
        }
    }

    /// One example of every variant (and of every id problem), for the checks that each is
    /// worded in every locale.
    pub fn examples() -> Vec<Problem> {
        use Problem::*;
        let s = |t: &str| t.to_string();
        vec![
            WhichSurvey,
            BadSurveyId {
                shown: s("aaaa"),
                reason: IdError::Empty,
            },
            BadSurveyId {
                shown: s("aaaa…"),
                reason: IdError::TooLong(41),
            },
            BadSurveyId {
                shown: s("Ab"),
                reason: IdError::BadChar('A'),
            },
            BadDeadline { shown: s("soon") },
            PollDuration { max_days: 365 },
            BadDate {
                shown: s("tomorrow"),
            },
            PollTooLong { max: 4000 },
            NoQuestion,
            QuestionTooLong { max: 300 },
            TooFewOptions,
            TooManyOptions { max: 25, found: 30 },
            OptionTooLong {
                start: s("xxxx"),
                max: 80,
            },
            OptionTwice { shown: s("A") },
            FlagTwice { flag: s("max") },
            MaxOneValue,
            ResultsOneValue,
            MaxRange { max: 3 },
            AnonymousNoValue,
            BadResults { shown: s("never") },
            UnknownFlag { shown: s("colour") },
            DeadlinePassed,
            PollTooFar { max_days: 365 },
            BadPoll {
                detail: s("question: too long"),
            },
            SegmentTooLong {
                shown: s("persona: cust"),
                max: 200,
            },
        ]
    }
}
