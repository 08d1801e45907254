//! Why a narrative is dropped (`Failure`, with its stable code) and what passed.

use serde_json::{Value, json};

/// Why a narrative was dropped. The detail is the offending passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
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
    pub(crate) fn code(&self) -> &'static str {
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
    pub(crate) fn detail(&self) -> String {
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
    pub(crate) fn data(&self) -> Value {
        match self {
            Failure::Misattributed { number, subject } => {
                json!({ "detail": number, "subject": subject })
            }
            f => json!({ "detail": f.detail() }),
        }
    }
}
