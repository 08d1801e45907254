//! Surveys and questions: the validated definition every other layer relies on.

use super::ids::{OptionId, QuestionId, SurveyId, slugify};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Platform-independent limits, checked when a survey is defined rather than when posting fails.
pub const MAX_OPTIONS: usize = 25;
pub const MAX_LABEL_CHARS: usize = 80;
pub const MAX_QUESTION_CHARS: usize = 300;
pub const MAX_TITLE_CHARS: usize = 120;
pub const MAX_QUESTIONS: usize = 50;
/// Hard ceiling for open-text answers; a question may set a lower one.
pub const MAX_OPEN_TEXT_CHARS: usize = 2000;
pub const DEFAULT_OPEN_TEXT_CHARS: usize = 500;
/// Default number of "A or B?" cards a member sees for a pairwise question.
pub const DEFAULT_PAIRS_PER_MEMBER: usize = 5;
/// Default sample per variant before a message test may name a winner.
pub const DEFAULT_MIN_PER_VARIANT: usize = 100;

/// A definition problem, naming the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct DefinitionError {
    pub field: String,
    pub problem: String,
}

impl DefinitionError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
    /// Prefixes the field path, so nested errors read `surveys[0].questions[1].options`.
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_string()
        } else if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

/// One option of a choice-like question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: OptionId,
    pub label: String,
}

/// Lifecycle of a survey. Effective status also depends on open and close times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "draft" => Some(Status::Draft),
            "open" => Some(Status::Open),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }
}

/// When members may see results. Hidden by default: running tallies make people herd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultsVisibility {
    #[default]
    AfterClose,
    /// Tallies in the poll message while it runs.
    Live,
    /// A member who voted sees the tally privately; the message shows it once closed.
    AfterVote,
    /// Members never see results: they go only to the product team.
    TeamOnly,
}

impl ResultsVisibility {
    pub const NAMES: &'static str = "after_close, live, after_vote, team_only";

    pub fn as_str(self) -> &'static str {
        match self {
            ResultsVisibility::AfterClose => "after_close",
            ResultsVisibility::Live => "live",
            ResultsVisibility::AfterVote => "after_vote",
            ResultsVisibility::TeamOnly => "team_only",
        }
    }

    /// The setting's name as `bot.toml` and `/poll` write it (`after-vote` is accepted too).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "after_close" => Some(ResultsVisibility::AfterClose),
            "live" => Some(ResultsVisibility::Live),
            "after_vote" => Some(ResultsVisibility::AfterVote),
            "team_only" => Some(ResultsVisibility::TeamOnly),
            _ => None,
        }
    }
}

/// The question types and their type-specific settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    Single {
        options: Vec<Choice>,
    },
    Multi {
        options: Vec<Choice>,
        max_choices: usize,
    },
    Rating {
        scale: u8,
        low_label: String,
        high_label: String,
    },
    Nps {
        low_label: String,
        high_label: String,
    },
    Ranking {
        options: Vec<Choice>,
        /// Rank only the top k; `None` ranks every option.
        top_k: Option<usize>,
    },
    Pairwise {
        options: Vec<Choice>,
        pairs_per_member: usize,
    },
    MessageTest {
        options: Vec<Choice>,
        min_per_variant: usize,
    },
    OpenText {
        max_chars: usize,
    },
}

impl QuestionKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            QuestionKind::Single { .. } => "single",
            QuestionKind::Multi { .. } => "multi",
            QuestionKind::Rating { .. } => "rating",
            QuestionKind::Nps { .. } => "nps",
            QuestionKind::Ranking { .. } => "ranking",
            QuestionKind::Pairwise { .. } => "pairwise",
            QuestionKind::MessageTest { .. } => "message_test",
            QuestionKind::OpenText { .. } => "open_text",
        }
    }

    /// The options of choice-like questions; empty for scales and text.
    pub fn options(&self) -> &[Choice] {
        match self {
            QuestionKind::Single { options }
            | QuestionKind::Multi { options, .. }
            | QuestionKind::Ranking { options, .. }
            | QuestionKind::Pairwise { options, .. }
            | QuestionKind::MessageTest { options, .. } => options,
            QuestionKind::Rating { .. }
            | QuestionKind::Nps { .. }
            | QuestionKind::OpenText { .. } => &[],
        }
    }

    /// Inclusive scale range for rating and NPS questions.
    pub fn scale(&self) -> Option<(u8, u8)> {
        match self {
            QuestionKind::Rating { scale, .. } => Some((1, *scale)),
            QuestionKind::Nps { .. } => Some((0, 10)),
            _ => None,
        }
    }

    /// Whether the question can be answered by tapping buttons under one shared group message.
    /// Pairwise cards, shuffled message tests and free text need a private conversation.
    pub fn answerable_inline(&self) -> bool {
        !matches!(
            self,
            QuestionKind::Pairwise { .. }
                | QuestionKind::MessageTest { .. }
                | QuestionKind::OpenText { .. }
        )
    }
}

/// A validated question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: QuestionId,
    pub text: String,
    #[serde(flatten)]
    pub kind: QuestionKind,
    #[serde(default)]
    pub optional: bool,
}

impl Question {
    /// Validates text and type-specific limits.
    pub fn new(
        id: QuestionId,
        text: &str,
        kind: QuestionKind,
        optional: bool,
    ) -> Result<Self, DefinitionError> {
        let text = text.trim();
        check_text("text", text, MAX_QUESTION_CHARS)?;
        check_kind(&kind)?;
        Ok(Self {
            id,
            text: text.to_string(),
            kind,
            optional,
        })
    }

    /// Where option `id` sits in the question's list. Asked once per answer by the engine:
    /// lengths and first bytes are compared before the bytes.
    pub fn option_index(&self, id: &OptionId) -> Option<usize> {
        let b = id.as_str().as_bytes();
        self.kind.options().iter().position(|o| {
            let o = o.id.as_str().as_bytes();
            o.len() == b.len() && o.first() == b.first() && o == b
        })
    }
}

/// A survey's wording in one more locale (from `bot.toml`): option ids are shared, so answers
/// in every language count together. Anything left out falls back to the default text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyText {
    pub title: Option<String>,
    pub intro: Option<String>,
    /// By question id.
    #[serde(default)]
    pub questions: BTreeMap<String, QuestionText>,
}

/// One question's wording in a locale.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionText {
    pub text: Option<String>,
    /// Option label by option id.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub low_label: Option<String>,
    pub high_label: Option<String>,
}

impl SurveyText {
    /// Checks that every translated question and option exists, and the usual length limits.
    pub fn validate(&self, survey: &Survey) -> Result<(), DefinitionError> {
        if let Some(t) = &self.title {
            check_text("title", t, MAX_TITLE_CHARS)?;
        }
        if let Some(t) = &self.intro {
            check_text("intro", t, MAX_QUESTION_CHARS)?;
        }
        for (qid, qt) in &self.questions {
            let field = format!("questions.{qid}");
            let Some(q) = survey.questions.iter().find(|q| q.id.as_str() == qid) else {
                return Err(DefinitionError::new(field, "no question with this id"));
            };
            qt.validate(q, &field)?;
        }
        Ok(())
    }

    /// What this translation leaves untranslated, as readable paths (`questions.q1.options.a`).
    pub fn missing(&self, survey: &Survey) -> Vec<String> {
        let mut out = Vec::new();
        if self.title.is_none() {
            out.push("title".to_string());
        }
        if survey.intro.is_some() && self.intro.is_none() {
            out.push("intro".to_string());
        }
        for q in &survey.questions {
            let field = format!("questions.{}", q.id);
            out.extend(QuestionText::missing(
                self.questions.get(q.id.as_str()),
                q,
                &field,
            ));
        }
        out
    }
}

impl QuestionText {
    /// Checks that every translated option exists, end labels only on scales, and the usual
    /// length limits; `field` prefixes the names in errors.
    pub fn validate(&self, q: &Question, field: &str) -> Result<(), DefinitionError> {
        if let Some(t) = &self.text {
            check_text(&format!("{field}.text"), t, MAX_QUESTION_CHARS)?;
        }
        for (oid, label) in &self.options {
            if !q.kind.options().iter().any(|o| o.id.as_str() == oid) {
                return Err(DefinitionError::new(
                    format!("{field}.options.{oid}"),
                    "no option with this id",
                ));
            }
            check_text(&format!("{field}.options.{oid}"), label, MAX_LABEL_CHARS)?;
        }
        let scale = matches!(
            q.kind,
            QuestionKind::Rating { .. } | QuestionKind::Nps { .. }
        );
        for (name, l) in [
            ("low_label", &self.low_label),
            ("high_label", &self.high_label),
        ] {
            if let Some(l) = l {
                if !scale {
                    return Err(DefinitionError::new(
                        format!("{field}.{name}"),
                        "only rating and nps questions have end labels",
                    ));
                }
                check_text(&format!("{field}.{name}"), l, MAX_LABEL_CHARS)?;
            }
        }
        Ok(())
    }

    /// What `t` (if any) leaves untranslated of `q`, as paths under `field`.
    pub fn missing(t: Option<&QuestionText>, q: &Question, field: &str) -> Vec<String> {
        let mut out = Vec::new();
        if t.and_then(|t| t.text.as_ref()).is_none() {
            out.push(format!("{field}.text"));
        }
        for o in q.kind.options() {
            if t.is_none_or(|t| !t.options.contains_key(o.id.as_str())) {
                out.push(format!("{field}.options.{}", o.id));
            }
        }
        if matches!(
            q.kind,
            QuestionKind::Rating { .. } | QuestionKind::Nps { .. }
        ) {
            if t.and_then(|t| t.low_label.as_ref()).is_none() {
                out.push(format!("{field}.low_label"));
            }
            if t.and_then(|t| t.high_label.as_ref()).is_none() {
                out.push(format!("{field}.high_label"));
            }
        }
        out
    }
}

impl Question {
    /// This question worded by `t`; untranslated parts keep the default text.
    pub fn localised(&self, t: Option<&QuestionText>) -> Question {
        let mut q = self.clone();
        let Some(t) = t else { return q };
        if let Some(text) = &t.text {
            q.text = text.clone();
        }
        match &mut q.kind {
            QuestionKind::Single { options }
            | QuestionKind::Multi { options, .. }
            | QuestionKind::Ranking { options, .. }
            | QuestionKind::Pairwise { options, .. }
            | QuestionKind::MessageTest { options, .. } => {
                for o in options {
                    if let Some(l) = t.options.get(o.id.as_str()) {
                        o.label = l.clone();
                    }
                }
            }
            QuestionKind::Rating {
                low_label,
                high_label,
                ..
            }
            | QuestionKind::Nps {
                low_label,
                high_label,
            } => {
                if let Some(l) = &t.low_label {
                    *low_label = l.clone();
                }
                if let Some(h) = &t.high_label {
                    *high_label = h.clone();
                }
            }
            QuestionKind::OpenText { .. } => {}
        }
        q
    }
}

/// A validated survey. A one-question survey is a poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    pub id: SurveyId,
    pub title: String,
    #[serde(default)]
    pub intro: Option<String>,
    pub questions: Vec<Question>,
    #[serde(default)]
    pub anonymous: bool,
    #[serde(default)]
    pub opens_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub closes_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub results: ResultsVisibility,
    /// The previous run of a recurring survey, for "what changed".
    #[serde(default)]
    pub follows: Option<SurveyId>,
    /// The question the report's headline is about; default: the first that is not open text.
    #[serde(default)]
    pub headline: Option<QuestionId>,
}

impl Survey {
    /// Checks a survey assembled from its parts: title, questions, ids and schedule.
    pub fn validated(mut self) -> Result<Self, DefinitionError> {
        self.title = self.title.trim().to_string();
        let (title, intro, questions) = (&self.title, &self.intro, &self.questions);
        let (opens_at, closes_at) = (self.opens_at, self.closes_at);
        check_text("title", title, MAX_TITLE_CHARS)?;
        if let Some(intro) = &intro {
            check_text("intro", intro, MAX_QUESTION_CHARS)?;
        }
        if questions.is_empty() {
            return Err(DefinitionError::new(
                "questions",
                "a survey needs at least one question",
            ));
        }
        if questions.len() > MAX_QUESTIONS {
            return Err(DefinitionError::new(
                "questions",
                format!(
                    "has {} questions; the limit is {MAX_QUESTIONS}",
                    questions.len()
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, q) in questions.iter().enumerate() {
            if !seen.insert(q.id.as_str()) {
                return Err(DefinitionError::new(
                    format!("questions[{i}].id"),
                    format!(
                        "question id {:?} is used twice in this survey",
                        q.id.as_str()
                    ),
                ));
            }
        }
        if let Some(h) = &self.headline {
            if !questions.iter().any(|q| &q.id == h) {
                return Err(DefinitionError::new(
                    "headline",
                    format!("{:?} is not a question id of this survey", h.as_str()),
                ));
            }
        }
        if let (Some(o), Some(c)) = (opens_at, closes_at) {
            if c <= o {
                return Err(DefinitionError::new(
                    "closes_at",
                    "must be later than opens_at",
                ));
            }
        }
        Ok(self)
    }

    /// This survey worded by `t`; ids, types and settings are unchanged.
    pub fn localised(&self, t: Option<&SurveyText>) -> Survey {
        let mut s = self.clone();
        let Some(t) = t else { return s };
        if let Some(title) = &t.title {
            s.title = title.clone();
        }
        if t.intro.is_some() {
            s.intro = t.intro.clone();
        }
        for q in &mut s.questions {
            *q = q.localised(t.questions.get(q.id.as_str()));
        }
        s
    }

    pub fn is_poll(&self) -> bool {
        self.questions.len() == 1
    }

    /// A poll whose single question can be answered by taps in the group itself.
    pub fn is_inline_poll(&self) -> bool {
        self.is_poll() && self.questions.iter().all(|q| q.kind.answerable_inline())
    }

    pub fn question(&self, idx: usize) -> Option<&Question> {
        self.questions.get(idx)
    }

    /// Status after applying the schedule to the stored lifecycle status.
    pub fn effective_status(&self, stored: Status, now: DateTime<Utc>) -> Status {
        if stored == Status::Closed {
            return Status::Closed;
        }
        if self.closes_at.is_some_and(|c| now >= c) {
            return Status::Closed;
        }
        if stored == Status::Open && self.opens_at.is_some_and(|o| now < o) {
            return Status::Draft;
        }
        stored
    }

    /// The parts answers depend on: question ids, types and option ids. Labels may change
    /// after answers exist; this shape may not, or old answers would change meaning.
    pub fn shape(&self) -> Vec<(String, &'static str, Vec<String>)> {
        self.questions
            .iter()
            .map(|q| {
                (
                    q.id.to_string(),
                    q.kind.type_name(),
                    q.kind.options().iter().map(|o| o.id.to_string()).collect(),
                )
            })
            .collect()
    }
}

fn check_text(field: &str, text: &str, max: usize) -> Result<(), DefinitionError> {
    if text.trim().is_empty() {
        return Err(DefinitionError::new(field, "must not be empty"));
    }
    let n = text.chars().count();
    if n > max {
        return Err(DefinitionError::new(
            field,
            format!("is {n} characters long; the limit is {max}"),
        ));
    }
    Ok(())
}

/// Builds options from `(explicit id, label)` pairs, deriving missing ids from labels.
pub fn make_choices(raw: Vec<(Option<String>, String)>) -> Result<Vec<Choice>, DefinitionError> {
    let mut out: Vec<Choice> = Vec::with_capacity(raw.len());
    for (i, (id, label)) in raw.into_iter().enumerate() {
        let label = label.trim().to_string();
        check_text(&format!("options[{i}].label"), &label, MAX_LABEL_CHARS)?;
        let id = match id {
            Some(id) => OptionId::parse(&id).map_err(|e| {
                DefinitionError::new(format!("options[{i}].id"), format!("{id:?} {e}"))
            })?,
            None => {
                let base = slugify(&label, &format!("option-{}", i + 1));
                let mut candidate = base.clone();
                let mut n = 2;
                while out.iter().any(|c| c.id.as_str() == candidate) {
                    candidate = format!("{base}-{n}");
                    n += 1;
                }
                OptionId::parse(&candidate)
                    .map_err(|e| DefinitionError::new(format!("options[{i}].id"), e.to_string()))?
            }
        };
        if out.iter().any(|c| c.id == id) {
            return Err(DefinitionError::new(
                format!("options[{i}].id"),
                format!("option id {:?} is used twice in this question", id.as_str()),
            ));
        }
        out.push(Choice { id, label });
    }
    Ok(out)
}

fn check_options(options: &[Choice], min: usize) -> Result<(), DefinitionError> {
    if options.len() < min {
        return Err(DefinitionError::new(
            "options",
            format!("needs at least {min} options (found {})", options.len()),
        ));
    }
    if options.len() > MAX_OPTIONS {
        return Err(DefinitionError::new(
            "options",
            format!("has {} options; the limit is {MAX_OPTIONS}", options.len()),
        ));
    }
    Ok(())
}

fn check_kind(kind: &QuestionKind) -> Result<(), DefinitionError> {
    match kind {
        QuestionKind::Single { options } => check_options(options, 2),
        QuestionKind::Multi {
            options,
            max_choices,
        } => {
            check_options(options, 2)?;
            if *max_choices == 0 || *max_choices > options.len() {
                return Err(DefinitionError::new(
                    "max_choices",
                    format!(
                        "must be between 1 and the number of options ({})",
                        options.len()
                    ),
                ));
            }
            Ok(())
        }
        QuestionKind::Rating {
            scale,
            low_label,
            high_label,
        } => {
            if *scale != 5 && *scale != 7 {
                return Err(DefinitionError::new(
                    "scale",
                    format!("must be 5 or 7 (found {scale})"),
                ));
            }
            check_text("low_label", low_label, MAX_LABEL_CHARS)?;
            check_text("high_label", high_label, MAX_LABEL_CHARS)
        }
        QuestionKind::Nps {
            low_label,
            high_label,
        } => {
            check_text("low_label", low_label, MAX_LABEL_CHARS)?;
            check_text("high_label", high_label, MAX_LABEL_CHARS)
        }
        QuestionKind::Ranking { options, top_k } => {
            check_options(options, 2)?;
            if let Some(k) = top_k {
                if *k == 0 || *k > options.len() {
                    return Err(DefinitionError::new(
                        "top_k",
                        format!(
                            "must be between 1 and the number of options ({})",
                            options.len()
                        ),
                    ));
                }
            }
            Ok(())
        }
        QuestionKind::Pairwise {
            options,
            pairs_per_member,
        } => {
            check_options(options, 2)?;
            let all = options.len() * (options.len() - 1) / 2;
            if *pairs_per_member == 0 || *pairs_per_member > all {
                return Err(DefinitionError::new(
                    "pairs_per_member",
                    format!("must be between 1 and the number of distinct pairs ({all})"),
                ));
            }
            Ok(())
        }
        QuestionKind::MessageTest {
            options,
            min_per_variant,
        } => {
            check_options(options, 2)?;
            if *min_per_variant == 0 {
                return Err(DefinitionError::new(
                    "min_per_variant",
                    "must be at least 1",
                ));
            }
            Ok(())
        }
        QuestionKind::OpenText { max_chars } => {
            if *max_chars == 0 || *max_chars > MAX_OPEN_TEXT_CHARS {
                return Err(DefinitionError::new(
                    "max_chars",
                    format!("must be between 1 and {MAX_OPEN_TEXT_CHARS}"),
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(xs: &[&str]) -> Vec<(Option<String>, String)> {
        xs.iter().map(|l| (None, l.to_string())).collect()
    }

    #[test]
    fn choices_derive_unique_ids() {
        let c = make_choices(labels(&["Dark mode", "Dark mode!", "🚀"])).unwrap();
        let ids: Vec<_> = c.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["dark-mode", "dark-mode-2", "option-3"]);
    }

    #[test]
    fn limits_are_checked_at_definition() {
        let long = "x".repeat(81);
        let err = make_choices(labels(&["a", &long])).unwrap_err();
        assert_eq!(err.field, "options[1].label");
        assert!(err.problem.contains("limit is 80"));

        let many: Vec<String> = (0..26).map(|i| format!("o{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let options = make_choices(labels(&refs)).unwrap();
        let err = Question::new(
            QuestionId::parse("q").unwrap(),
            "Pick",
            QuestionKind::Single { options },
            false,
        )
        .unwrap_err();
        assert_eq!(err.field, "options");

        let err = Question::new(
            QuestionId::parse("q").unwrap(),
            &"?".repeat(301),
            QuestionKind::Nps {
                low_label: "no".into(),
                high_label: "yes".into(),
            },
            false,
        )
        .unwrap_err();
        assert_eq!(err.field, "text");
    }

    #[test]
    fn type_specific_rules() {
        let options = make_choices(labels(&["a", "b", "c"])).unwrap();
        let q = |kind| Question::new(QuestionId::parse("q").unwrap(), "Q?", kind, false);
        assert!(
            q(QuestionKind::Multi {
                options: options.clone(),
                max_choices: 4
            })
            .is_err()
        );
        assert!(
            q(QuestionKind::Rating {
                scale: 6,
                low_label: "a".into(),
                high_label: "b".into()
            })
            .is_err()
        );
        assert!(
            q(QuestionKind::Pairwise {
                options: options.clone(),
                pairs_per_member: 4
            })
            .is_err()
        );
        assert!(
            q(QuestionKind::Pairwise {
                options,
                pairs_per_member: 3
            })
            .is_ok()
        );
        assert!(q(QuestionKind::OpenText { max_chars: 0 }).is_err());
    }

    #[test]
    fn effective_status_follows_schedule() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let q = Question::new(
            QuestionId::parse("q").unwrap(),
            "Q?",
            QuestionKind::OpenText { max_chars: 10 },
            false,
        )
        .unwrap();
        let s = Survey {
            id: SurveyId::parse("s").unwrap(),
            title: "S".into(),
            intro: None,
            questions: vec![q],
            anonymous: false,
            opens_at: Some(t0),
            closes_at: Some(t0 + chrono::Duration::days(1)),
            results: ResultsVisibility::AfterClose,
            follows: None,
            headline: None,
        }
        .validated()
        .unwrap();
        assert_eq!(
            s.effective_status(Status::Open, t0 - chrono::Duration::hours(1)),
            Status::Draft
        );
        assert_eq!(s.effective_status(Status::Open, t0), Status::Open);
        assert_eq!(
            s.effective_status(Status::Open, t0 + chrono::Duration::days(2)),
            Status::Closed
        );
    }
}
