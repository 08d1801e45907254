//! Surveys, questions and the persona question as bot.toml writes them, and how they are
//! built into validated domain types, each problem named by survey, question and option.

use crate::core::ids::{QuestionId, SurveyId, slugify};
use crate::core::survey::{
    DEFAULT_MIN_PER_VARIANT, DEFAULT_OPEN_TEXT_CHARS, DEFAULT_PAIRS_PER_MEMBER, DefinitionError,
    Question, QuestionKind, QuestionText, ResultsVisibility, Status, Survey, SurveyText,
    make_choices,
};
use crate::locale_tag::{NOT_A_TAG, config_tag};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// An option: a bare label, or an explicit id and label.
#[derive(Debug, Clone)]
pub enum OptionCfg {
    Label(String),
    Full { id: String, label: String },
}

// By hand rather than `untagged`: an unknown key (`colour`) is named in a plain sentence
// at its line instead of "did not match any variant".
impl<'de> Deserialize<'de> for OptionCfg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = OptionCfg;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an option: a label in quotes, or { id = \"...\", label = \"...\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OptionCfg, E> {
                Ok(OptionCfg::Label(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OptionCfg, A::Error> {
                use serde::de::Error as _;
                let (mut id, mut label) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "id" => id = Some(map.next_value::<String>()?),
                        "label" => label = Some(map.next_value::<String>()?),
                        other => {
                            return Err(A::Error::custom(format!(
                                "unknown key `{other}` in an option: an option has only `id` and `label`"
                            )));
                        }
                    }
                }
                match (id, label) {
                    (Some(id), Some(label)) => Ok(OptionCfg::Full { id, label }),
                    (None, _) => Err(A::Error::custom(
                        "an option written as a table needs an `id` (and a `label`)",
                    )),
                    (_, None) => Err(A::Error::custom(
                        "an option written as a table needs a `label` (and an `id`)",
                    )),
                }
            }
        }
        d.deserialize_any(Visit)
    }
}

impl OptionCfg {
    pub(crate) fn into_pair(self) -> (Option<String>, String) {
        match self {
            OptionCfg::Label(l) => (None, l),
            OptionCfg::Full { id, label } => (Some(id), label),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    Single,
    Multi,
    Rating,
    Nps,
    Ranking,
    Pairwise,
    MessageTest,
    OpenText,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionCfg {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    pub text: String,
    #[serde(default)]
    pub optional: bool,
    pub options: Option<Vec<OptionCfg>>,
    pub max_choices: Option<usize>,
    pub scale: Option<u8>,
    pub low_label: Option<String>,
    pub high_label: Option<String>,
    pub top_k: Option<usize>,
    pub pairs_per_member: Option<usize>,
    pub min_per_variant: Option<usize>,
    pub max_chars: Option<usize>,
}

/// The persona question, asked once per member and reused across surveys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaConfig {
    pub question: String,
    pub options: Vec<OptionCfg>,
    /// The question and option labels in other locales: `[persona.locales.de]`, with
    /// `text` and `options.<id>` as in a survey question's translation.
    #[serde(default)]
    pub locales: BTreeMap<String, QuestionText>,
}

/// A timestamp written either as a TOML datetime or an RFC 3339 string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TimeCfg {
    Toml(toml::value::Datetime),
    Text(String),
}

impl TimeCfg {
    fn parse(&self) -> Result<DateTime<Utc>, String> {
        let s = match self {
            TimeCfg::Toml(d) => d.to_string(),
            TimeCfg::Text(s) => s.clone(),
        };
        DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| format!("{s:?} is not an RFC 3339 time with offset ({e})"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyCfg {
    pub id: String,
    pub title: String,
    pub intro: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// Initial status; afterwards /post and /close decide.
    #[serde(default = "default_status")]
    pub status: String,
    pub opens_at: Option<TimeCfg>,
    pub closes_at: Option<TimeCfg>,
    #[serde(default)]
    pub results: Option<String>,
    /// Id of the previous run of a recurring survey, for "what changed".
    pub follows: Option<String>,
    /// Id of the question the report's headline is about.
    pub headline: Option<String>,
    pub questions: Vec<Spanned<QuestionCfg>>,
    /// The survey's wording in other locales: `[surveys.locales.de]`.
    #[serde(default)]
    pub locales: BTreeMap<String, SurveyText>,
}

fn default_status() -> String {
    "open".into()
}

/// A survey from config with its initial status.
#[derive(Debug, Clone)]
pub struct ConfiguredSurvey {
    pub survey: Survey,
    pub status: Status,
    /// Translations by normalised locale tag.
    pub locales: BTreeMap<String, SurveyText>,
}

/// The validated persona question.
#[derive(Debug, Clone)]
pub struct Persona {
    pub question: Question,
    /// Translations by normalised locale tag.
    pub locales: BTreeMap<String, QuestionText>,
}

impl Persona {
    /// The question worded for `locale`, falling back to the default text.
    pub fn worded(&self, locale: &str) -> Question {
        self.question
            .localised(crate::locale::pick(locale, &self.locales))
    }
}

/// The ids of a survey's questions as they will be, for naming them in errors.
pub(crate) fn question_ids(s: &SurveyCfg) -> Vec<String> {
    s.questions
        .iter()
        .enumerate()
        .map(|(j, q)| {
            let q = q.get_ref();
            q.id.clone()
                .unwrap_or_else(|| slugify(&q.text, &format!("q{}", j + 1)))
        })
        .collect()
}

/// A field inside a survey as a person names it: `questions[1].options[0].label` of survey
/// `pulse` is `survey "pulse", question "mood", option 1 label`.
pub(crate) fn survey_field(survey: &str, qids: &[String], field: &str) -> String {
    let mut parts = vec![format!("survey {survey:?}")];
    let mut rest = field;
    if let Some((j, tail)) = field
        .strip_prefix("questions[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail)))
    {
        parts.push(match qids.get(j) {
            Some(q) => format!("question {q:?}"),
            None => format!("question {}", j + 1),
        });
        rest = tail.trim_start_matches('.');
    }
    let option = rest
        .strip_prefix("options[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail)));
    match option {
        Some((k, tail)) => parts.push(
            format!("option {} {}", k + 1, tail.trim_start_matches('.'))
                .trim_end()
                .to_string(),
        ),
        None if !rest.is_empty() => parts.push(rest.to_string()),
        None => {}
    }
    parts.join(", ")
}

/// The option id stored for a member who declines the persona question (the bot's
/// `PERSONA_DECLINED_ID`); no configured persona option may use it.
pub const PERSONA_DECLINED_ID: &str = "prefer_not_to_say";

/// A persona field as a person names it: `persona.options[1].label` is
/// `persona, option 2 ("Designer"), label`, the option by its number and id or label.
pub(crate) fn persona_field(field: &str, options: &[(Option<String>, String)]) -> String {
    let Some((k, tail)) = field
        .strip_prefix("persona.options[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail)))
    else {
        return field.to_string();
    };
    let name = options.get(k).map(|(id, label)| {
        let name = id.as_deref().unwrap_or(label.trim());
        let short: String = name.chars().take(40).collect();
        if short.len() < name.len() {
            format!("{short}…")
        } else {
            short
        }
    });
    let mut out = format!("persona, option {}", k + 1);
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        out.push_str(&format!(" ({name:?})"));
    }
    let tail = tail.trim_start_matches('.');
    if !tail.is_empty() {
        out.push_str(&format!(", {tail}"));
    }
    out
}

/// A problem in a survey, its field named from the survey down (`questions[1].options`).
type BuildError = DefinitionError;

type Built = (Survey, Status, BTreeMap<String, SurveyText>);

pub(crate) fn build_survey(s: SurveyCfg) -> Result<Built, BuildError> {
    let id = SurveyId::parse(&s.id)
        .map_err(|e| DefinitionError::new("id", format!("{:?} {e}", s.id)))?;
    let status = Status::parse(&s.status).ok_or_else(|| {
        DefinitionError::new(
            "status",
            format!("{:?} is not one of draft, open, closed", s.status),
        )
    })?;
    let results = match s.results.as_deref() {
        None => ResultsVisibility::AfterClose,
        Some(r) => match ResultsVisibility::parse(r) {
            Some(v) => v,
            None => {
                return Err(DefinitionError::new(
                    "results",
                    format!("{r:?} is not one of {}", ResultsVisibility::NAMES),
                ));
            }
        },
    };
    let time = |field: &str, t: &Option<TimeCfg>| -> Result<Option<DateTime<Utc>>, BuildError> {
        t.as_ref()
            .map(|t| t.parse().map_err(|p| DefinitionError::new(field, p)))
            .transpose()
    };
    let follows = s
        .follows
        .as_deref()
        .map(|f| {
            SurveyId::parse(f).map_err(|e| DefinitionError::new("follows", format!("{f:?} {e}")))
        })
        .transpose()?;
    let headline = s
        .headline
        .as_deref()
        .map(|h| {
            QuestionId::parse(h).map_err(|e| DefinitionError::new("headline", format!("{h:?} {e}")))
        })
        .transpose()?;
    let opens_at = time("opens_at", &s.opens_at)?;
    let closes_at = time("closes_at", &s.closes_at)?;
    let mut questions = Vec::with_capacity(s.questions.len());
    for (i, q) in s.questions.into_iter().enumerate() {
        let q =
            build_question(q.into_inner(), i).map_err(|e| e.within(&format!("questions[{i}]")))?;
        questions.push(q);
    }
    let survey = Survey {
        id,
        title: s.title,
        intro: s.intro,
        questions,
        anonymous: s.anonymous,
        opens_at,
        closes_at,
        results,
        follows,
        headline,
    }
    .validated()?;
    let mut locales = BTreeMap::new();
    for (tag, text) in s.locales {
        let field = format!("locales.{tag}");
        let Some(code) = config_tag(&tag) else {
            return Err(DefinitionError::new(field, NOT_A_TAG));
        };
        text.validate(&survey).map_err(|e| e.within(&field))?;
        locales.insert(code, text);
    }
    Ok((survey, status, locales))
}

/// Turns one `[[surveys.questions]]` table into a validated question, rejecting settings that
/// do not apply to its type so a typo is not silently ignored.
pub fn build_question(q: QuestionCfg, index: usize) -> Result<Question, DefinitionError> {
    let id_raw =
        q.id.clone()
            .unwrap_or_else(|| slugify(&q.text, &format!("q{}", index + 1)));
    let id = QuestionId::parse(&id_raw)
        .map_err(|e| DefinitionError::new("id", format!("{id_raw:?} {e}")))?;
    let t = q.kind;
    let allowed: &[&str] = match t {
        QuestionType::Single => &["options"],
        QuestionType::Multi => &["options", "max_choices"],
        QuestionType::Rating => &["scale", "low_label", "high_label"],
        QuestionType::Nps => &["low_label", "high_label"],
        QuestionType::Ranking => &["options", "top_k"],
        QuestionType::Pairwise => &["options", "pairs_per_member"],
        QuestionType::MessageTest => &["options", "min_per_variant"],
        QuestionType::OpenText => &["max_chars"],
    };
    let present = [
        ("options", q.options.is_some()),
        ("max_choices", q.max_choices.is_some()),
        ("scale", q.scale.is_some()),
        ("low_label", q.low_label.is_some()),
        ("high_label", q.high_label.is_some()),
        ("top_k", q.top_k.is_some()),
        ("pairs_per_member", q.pairs_per_member.is_some()),
        ("min_per_variant", q.min_per_variant.is_some()),
        ("max_chars", q.max_chars.is_some()),
    ];
    for (name, is) in present {
        if is && !allowed.contains(&name) {
            return Err(DefinitionError::new(
                name,
                format!("does not apply to a {} question", type_name(t)),
            ));
        }
    }
    let options = || -> Result<_, DefinitionError> {
        let raw = q
            .options
            .clone()
            .ok_or_else(|| DefinitionError::new("options", "is required for this type"))?;
        make_choices(raw.into_iter().map(OptionCfg::into_pair).collect())
    };
    let label = |v: &Option<String>, default: &str| v.clone().unwrap_or_else(|| default.into());
    let kind = match t {
        QuestionType::Single => QuestionKind::Single {
            options: options()?,
        },
        QuestionType::Multi => {
            let options = options()?;
            QuestionKind::Multi {
                max_choices: q.max_choices.unwrap_or(options.len()),
                options,
            }
        }
        QuestionType::Rating => QuestionKind::Rating {
            scale: q.scale.unwrap_or(5),
            low_label: label(&q.low_label, "Not at all"),
            high_label: label(&q.high_label, "Very much"),
        },
        QuestionType::Nps => QuestionKind::Nps {
            low_label: label(&q.low_label, "Not at all likely"),
            high_label: label(&q.high_label, "Extremely likely"),
        },
        QuestionType::Ranking => QuestionKind::Ranking {
            options: options()?,
            top_k: q.top_k,
        },
        QuestionType::Pairwise => {
            let options = options()?;
            let all = options.len() * options.len().saturating_sub(1) / 2;
            QuestionKind::Pairwise {
                pairs_per_member: q
                    .pairs_per_member
                    .unwrap_or(DEFAULT_PAIRS_PER_MEMBER.min(all.max(1))),
                options,
            }
        }
        QuestionType::MessageTest => QuestionKind::MessageTest {
            options: options()?,
            min_per_variant: q.min_per_variant.unwrap_or(DEFAULT_MIN_PER_VARIANT),
        },
        QuestionType::OpenText => QuestionKind::OpenText {
            max_chars: q.max_chars.unwrap_or(DEFAULT_OPEN_TEXT_CHARS),
        },
    };
    Question::new(id, &q.text, kind, q.optional)
}

fn type_name(t: QuestionType) -> &'static str {
    match t {
        QuestionType::Single => "single",
        QuestionType::Multi => "multi",
        QuestionType::Rating => "rating",
        QuestionType::Nps => "nps",
        QuestionType::Ranking => "ranking",
        QuestionType::Pairwise => "pairwise",
        QuestionType::MessageTest => "message_test",
        QuestionType::OpenText => "open_text",
    }
}
