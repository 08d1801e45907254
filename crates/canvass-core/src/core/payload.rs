//! Button payloads: a compact, versioned encoding that fits Telegram's 64-byte callback_data
//! and is strictly validated when it comes back, since a client can send anything.

use super::ids::SurveyKey;
use std::fmt;

/// What a button does when tapped. Indices refer to the survey definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Choose option or scale value `value` for question `question`.
    Choose { question: u8, value: u8 },
    /// Undo the last step of a ranking or pairwise question.
    Undo { question: u8 },
    /// Finish a multi-choice selection in a private flow.
    Done { question: u8 },
    /// Skip an optional question.
    Skip { question: u8 },
    /// Pick side `pick` (0 left, 1 right) on pairwise card `card`.
    Pair { question: u8, card: u8, pick: u8 },
    /// Start (or resume) the survey privately.
    Take,
    /// Answer the persona question with option `value`.
    Persona { value: u8 },
}

/// A button payload: the survey's store id plus the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    pub survey: SurveyKey,
    pub action: Action,
}

const VERSION: &str = "c1";
pub const MAX_PAYLOAD_BYTES: usize = 64;

/// Why a payload was refused. Always shown to the member as "this button is no longer valid".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid button payload: {0}")]
pub struct PayloadError(pub &'static str);

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.survey;
        match self.action {
            Action::Choose { question, value } => write!(f, "{VERSION}.{s}.c.{question}.{value}"),
            Action::Undo { question } => write!(f, "{VERSION}.{s}.u.{question}"),
            Action::Done { question } => write!(f, "{VERSION}.{s}.d.{question}"),
            Action::Skip { question } => write!(f, "{VERSION}.{s}.s.{question}"),
            Action::Pair {
                question,
                card,
                pick,
            } => write!(f, "{VERSION}.{s}.p.{question}.{card}.{pick}"),
            Action::Take => write!(f, "{VERSION}.{s}.t"),
            Action::Persona { value } => write!(f, "{VERSION}.{s}.r.{value}"),
        }
    }
}

/// Parses a small decimal number with no sign, no leading zeros and no padding.
fn num<T: std::str::FromStr>(s: Option<&str>) -> Result<T, PayloadError> {
    let s = s.ok_or(PayloadError("missing field"))?;
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PayloadError("not a number"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(PayloadError("leading zero"));
    }
    s.parse().map_err(|_| PayloadError("number out of range"))
}

impl Payload {
    pub fn new(survey: SurveyKey, action: Action) -> Self {
        Self { survey, action }
    }

    /// Strict decoding: exact field count, canonical numbers, known version.
    pub fn decode(raw: &str) -> Result<Self, PayloadError> {
        if raw.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError("too long"));
        }
        let mut it = raw.split('.');
        if it.next() != Some(VERSION) {
            return Err(PayloadError("unknown version"));
        }
        let survey = SurveyKey(num(it.next())?);
        let verb = it.next().ok_or(PayloadError("missing action"))?;
        let action = match verb {
            "c" => Action::Choose {
                question: num(it.next())?,
                value: num(it.next())?,
            },
            "u" => Action::Undo {
                question: num(it.next())?,
            },
            "d" => Action::Done {
                question: num(it.next())?,
            },
            "s" => Action::Skip {
                question: num(it.next())?,
            },
            "p" => {
                let question = num(it.next())?;
                let card = num(it.next())?;
                let pick: u8 = num(it.next())?;
                if pick > 1 {
                    return Err(PayloadError("pick must be 0 or 1"));
                }
                Action::Pair {
                    question,
                    card,
                    pick,
                }
            }
            "t" => Action::Take,
            "r" => Action::Persona {
                value: num(it.next())?,
            },
            _ => return Err(PayloadError("unknown action")),
        };
        if it.next().is_some() {
            return Err(PayloadError("trailing fields"));
        }
        let p = Payload { survey, action };
        // Canonical form only: rejects anything we would not have produced ourselves.
        if p.to_string() != raw {
            return Err(PayloadError("not canonical"));
        }
        Ok(p)
    }

    pub fn encode(&self) -> String {
        self.to_string()
    }
}

/// What a Discord component's `custom_id` asks for. Clients can send any string, so this never fails:
/// whatever is not ours is passed on as a button payload, which the core refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomId {
    /// "Write your answer": open a form allowing `max` characters (clamped to 1..=4000),
    /// headed by the question (its start: a custom id holds 100 characters). Display only:
    /// the submitted text answers the member's current question, whatever this says.
    Compose { max: u16, question: String },
    /// "Take the survey" in private: becomes `/start SURVEY`, parsed like any command.
    Take(String),
    /// A core button payload (`core::payload`), decoded strictly by the core.
    Payload(String),
}

/// Decodes a Discord component's `custom_id`.
pub fn decode_custom_id(raw: &str) -> CustomId {
    if let Some(rest) = raw.strip_prefix("compose.") {
        let (max, question) = rest.split_once('.').unwrap_or((rest, ""));
        return CustomId::Compose {
            max: max.parse::<u16>().unwrap_or(500).clamp(1, 4000),
            question: question.to_string(),
        };
    }
    match raw.strip_prefix("take.") {
        Some(survey) => CustomId::Take(survey.to_string()),
        None => CustomId::Payload(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_fits() {
        let all = [
            Action::Choose {
                question: 49,
                value: 24,
            },
            Action::Undo { question: 3 },
            Action::Done { question: 0 },
            Action::Skip { question: 1 },
            Action::Pair {
                question: 2,
                card: 9,
                pick: 1,
            },
            Action::Take,
            Action::Persona { value: 2 },
        ];
        for a in all {
            let p = Payload::new(SurveyKey(i64::MAX), a);
            let s = p.encode();
            assert!(s.len() <= MAX_PAYLOAD_BYTES, "{s}");
            assert_eq!(Payload::decode(&s), Ok(p));
        }
    }

    #[test]
    fn rejects_forgeries() {
        for bad in [
            "",
            "c1",
            "c2.1.c.0.0",
            "c1.1.c.0",
            "c1.1.c.0.0.0",
            "c1.-1.c.0.0",
            "c1.1.c.0.300",
            "c1.01.c.0.0",
            "c1.1.x.0",
            "c1.1.p.0.0.2",
            "c1.1.c.0.+1",
            "c1.99999999999999999999.t",
            "c1.1.c.0.0; DROP TABLE answers",
            &"c1.1.t".repeat(20),
        ] {
            assert!(Payload::decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
